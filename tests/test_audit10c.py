"""Report and message defects a new user's audit (audit10c, D1 to D4) confirmed: the report
says what the output written is, names a level the search chose itself for what it is, a
passed-through channel keeps its text, and refusals give exact numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_audit_messages import README, _csv, _error

from resdenoise.autoparams import choose_parameters
from resdenoise.cli import cli
from resdenoise.multilevel import NUGGET_RULE, choose_levels
from resdenoise.noise import NUGGET, NoiseLevel
from resdenoise.report import LOW_END

# D4. the block-limit refusal gives the exact step count and time (not 1e+08 against 100,000,000)


def test_block_limit_refusal_gives_exact_integers(runner, tmp_path):
    src = _csv(tmp_path / "s5.csv", [1, 2, 3, 4, 5])
    out = tmp_path / "o.csv"
    args = ["diffuse", str(src), "--time", "25000001", "-o", str(out)]
    line = _error(runner.invoke(cli, args), 2)
    assert line.startswith("Error: time 25000001 at tau <= 0.25 needs 100000004 steps, "), line
    assert "(at most 100,000,000;" in line, line
    assert not out.exists()


# D2. a level the search chose itself is never named "given" (that is --sigma's)


def _walk(path):
    rng = np.random.default_rng(7)
    n = 8000
    walk = np.cumsum(rng.standard_normal(n)) * 0.1 + 3 * np.sin(np.arange(n) * 2 * np.pi / 365)
    np.savetxt(path, walk + 0.01 * rng.standard_normal(n), header="v", comments="")
    return path


def test_the_low_end_chosen_by_denoise_is_named_so_not_given(runner, tmp_path):
    src, out, rep = _walk(tmp_path / "walk.csv"), tmp_path / "o.csv", tmp_path / "r.json"
    result = runner.invoke(cli, ["denoise", str(src), "-o", str(out), "--report", str(rep)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(rep.read_text())
    params = report["parameters"]
    assert "backed_off_to" in params  # the case: the search backed off to the low end
    assert params["noise_estimator"].startswith(f"{LOW_END} ("), params["noise_estimator"]
    assert params["noise_sigma"] == params["noise_low_end"]
    assert "(given" not in result.stderr + result.stdout
    assert f"({LOW_END} (" in result.stderr, result.stderr


def test_a_level_set_by_the_nugget_is_not_named_given():
    f = np.random.default_rng(3).standard_normal(512)[:, None]
    level = NoiseLevel(np.array([0.5]), NUGGET)
    _, choice = choose_levels(f, "soft", sigma=level)
    assert choice.as_dict()["noise_estimator"] == NUGGET
    assert choice.as_dict()["noise_rule_per_scale"] == NUGGET_RULE
    low = NoiseLevel(np.array([0.5]), NUGGET, low=np.array([0.2])).at_low()
    _, choice = choose_levels(f, "soft", sigma=low)
    assert choice.as_dict()["noise_estimator"] == f"{LOW_END} ({NUGGET})"
    assert choice.sigma == (0.2,)
    _, choice = choose_levels(f, "soft", sigma=0.5)  # --sigma: given
    assert choice.as_dict()["noise_estimator"] == "given"


# D1. where do-no-harm keeps the input, the report's gain and criterion are the input's


def _white(path):
    np.savetxt(path, np.random.default_rng(3).standard_normal(5000), header="v", comments="")
    return path


def _parameters(runner, args):
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["steps"] == 0  # the input is kept
    return report["parameters"]


@pytest.mark.parametrize("maker", [_white, _walk])  # the share rule; the low-end rule
def test_a_kept_input_reports_no_gain_and_keeps_the_rejected_numbers(runner, tmp_path, maker):
    src, out = maker(tmp_path / "in.csv"), tmp_path / "o.csv"
    p = _parameters(runner, ["diffuse", str(src), "--time", "auto", "-o", str(out)])
    assert "do_no_harm" in p
    assert p["expected_gain_db"] == 0.0 and p["rejected_expected_gain_db"] > 0.4
    curve = choose_parameters(np.loadtxt(src, skiprows=1), "perona-malik", "diffusivity")
    assert p["stopping_criterion"] == curve.stopping.criterion[0]  # that of zero blocks
    assert p["rejected_stopping_criterion"] == curve.stopping.best
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "auto", "-o", str(out), "-v"])
    assert " expected_gain_db = 0," in result.stderr, result.stderr


def test_denoise_keeping_the_input_reports_no_gain(runner, tmp_path):
    src, out = _white(tmp_path / "in.csv"), tmp_path / "o.csv"
    p = _parameters(runner, ["denoise", str(src), "-o", str(out)])
    assert p["automatic_choice"] == "none (the input)"
    assert p["expected_gain_db"] == 0.0 and p["rejected_expected_gain_db"] > 10
    two = _csv(tmp_path / "two.csv", [1, 3])
    p = _parameters(runner, ["denoise", str(two), "-o", str(out)])
    assert p["expected_gain_db"] == 0.0 and p["stopping_criterion"] is None
    assert p["rejected_stopping_criterion"] > 0


def test_a_kept_inputs_rejected_criterion_is_in_the_samples_units(runner, tmp_path):
    """Samples far out of range are searched divided by 2^k (resdenoise.scaling): the
    refused choice's criterion is multiplied back as the output's is, in squares."""
    src = _white(tmp_path / "in.csv")
    far = tmp_path / "far.csv"
    np.savetxt(far, np.ldexp(np.loadtxt(src, skiprows=1), 300), header="v", comments="")
    base, got = (
        _parameters(runner, ["diffuse", str(s), "--time", "auto", "-o", str(tmp_path / "o.csv")])
        for s in (src, far)
    )
    for key in ("stopping_criterion", "rejected_stopping_criterion"):
        assert got[key] == np.ldexp(base[key], 600), key


# D3. a CSV column passed through has the input's values, bit for bit, written as the
# filtered ones are: the README says so (it promised the same output as --columns, whose
# carried column keeps its text)


def test_a_passed_through_csv_column_is_the_input_in_value_as_the_readme_says(runner, tmp_path):
    rng = np.random.default_rng(5)
    n = 4000
    steps = np.repeat(rng.integers(0, 5, n // 100).astype(float), 100)
    table = np.stack([np.arange(n) * 0.01, steps + 0.05 * rng.standard_normal(n)], 1)
    table = np.column_stack([table, rng.standard_normal(n)])
    src = tmp_path / "mix.csv"
    np.savetxt(src, table, delimiter=",", header="time,sig,rough", comments="")  # %.18e text
    whole, picked = tmp_path / "whole.csv", tmp_path / "picked.csv"
    rep = tmp_path / "r.json"
    for out, extra in ((whole, ["--report", str(rep)]), (picked, ["--columns", "sig"])):
        args = ["diffuse", str(src), "--time", "auto", *extra, "-o", str(out), "-q"]
        assert runner.invoke(cli, args).exit_code == 0
    assert json.loads(rep.read_text())["passed_through"] == ["column 3 ('rough')"]
    a, b = (np.loadtxt(p, delimiter=",", skiprows=1) for p in (whole, picked))
    assert np.array_equal(a, b) and np.array_equal(a[:, 2], table[:, 2])  # the same values
    rough = [line.split(",")[2] for line in whole.read_text().splitlines()[1:3]]
    assert rough == [repr(float(x)) for x in table[:2, 2]]  # written as the filtered ones
    readme = " ".join(README.split())
    assert "(the same output and choice)" not in readme
    assert "A CSV file's passed-through column is written as the filtered ones are" in readme
    assert "not as its text" in readme
