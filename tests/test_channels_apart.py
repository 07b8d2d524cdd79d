"""Each channel its own automatic parameters where the channels' noise levels differ
(issue 15's noise level per channel; audit15b B14): :mod:`resdenoise.split`."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import resdenoise as rd
import resdenoise.split as split
from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.passing import SplitPlan
from resdenoise.plans import automatic_planner, planner


def _clean(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    steps = np.cumsum(rng.uniform(-1, 1, 8))[np.minimum((t * 8).astype(int), 7)]
    return steps + 0.3 * np.sin(2 * np.pi * 5 * t)


def _pair(k=20.0, n=2000, seed=0):
    """A quiet channel (white noise 0.05) beside one ``k`` times louder, signal and noise."""
    rng = np.random.default_rng(seed)
    clean = np.stack([_clean(n, seed), k * _clean(n, seed + 1)], axis=1)
    return clean + 0.05 * np.array([1.0, k]) * rng.standard_normal(clean.shape)


def _planned(make_plan, u):
    plan, extra = make_plan(u)
    for note in extra.get("warnings", ()):
        warnings.warn(note, UserWarning, stacklevel=2)
    return plan.run(u)


_SEARCHES = [
    lambda u, **kw: rd.shrink(u, "soft", iterations="auto", **kw),
    lambda u, **kw: rd.diffuse(u, "perona-malik", time="auto", **kw),
    lambda u, **kw: rd.shrink(u, "soft", theta=0.1, iterations="auto", **kw),
    lambda u, **kw: _planned(planner("shrink", "soft", scales="auto", **kw), u),
    lambda u, **kw: _planned(planner("diffuse", "perona-malik", scales=3, **kw), u),
    lambda u, **kw: rd.shrink(u, "auto", **kw),
]


@pytest.mark.parametrize("call", _SEARCHES)
def test_channels_20x_apart_get_each_the_parameters_of_its_own_run(call):
    u = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # old: one plan for both, and the B14 warning
        out = call(u)
    for c in range(2):  # bit for bit a run of that channel alone
        assert np.array_equal(out[:, c], call(np.ascontiguousarray(u[:, c]))), c


def test_denoise_plans_each_channel_of_its_own_too():
    u = _pair(n=1000)
    plan, extra = automatic_planner()(u)
    assert isinstance(plan, SplitPlan) and "x apart" in extra["channels_planned_apart"]
    for c in range(2):
        alone, _ = automatic_planner()(np.ascontiguousarray(u[:, c]))
        x = np.ascontiguousarray(u[:, c])
        assert np.array_equal(plan.run(u)[:, c], alone.run(x))
    assert set(extra["channel_plans"]) == {"channel 1", "channel 2"}


@pytest.mark.parametrize("call", _SEARCHES[:2])
def test_equal_channels_are_planned_together_as_before(call, monkeypatch):
    u = _pair(k=1.0)
    out = call(u)
    monkeypatch.setattr(split, "SPLIT_FACTOR", math.inf)  # the rule never splits: today's run
    assert np.array_equal(out, call(u))
    plan, _ = planner("shrink", "soft", iterations="auto")(u)
    assert not isinstance(plan, SplitPlan)


def test_a_level_per_channel_equals_two_runs_with_those_levels():
    u = _pair(k=1.0)  # levels alike (0.05): only the levels given split them
    out = rd.shrink(u, "soft", iterations="auto", sigma=(0.04, 0.08))
    a = rd.shrink(np.ascontiguousarray(u[:, 0]), "soft", iterations="auto", sigma=0.04)
    b = rd.shrink(np.ascontiguousarray(u[:, 1]), "soft", iterations="auto", sigma=0.08)
    assert np.array_equal(out[:, 0], a) and np.array_equal(out[:, 1], b)
    same = rd.shrink(u, "soft", iterations="auto", sigma=(0.05, 0.05))  # one level for all
    assert np.array_equal(same, rd.shrink(u, "soft", iterations="auto", sigma=0.05))


def test_a_wrong_count_of_levels_is_refused():
    with pytest.raises(ParameterError, match=r"^sigma gives 3 noise levels for 2 channels: "):
        rd.shrink(_pair(), "soft", iterations="auto", sigma=(0.01, 0.2, 0.3))
    with pytest.raises(ParameterError, match=r"one noise level per channel is for the autom"):
        rd.diffuse(_pair(), "perona-malik", steps=5, sigma=(0.01, 0.2))  # nothing searched
    with pytest.raises(ParameterError, match=r"sigma must be a finite number > 0, got -1"):
        rd.shrink(_pair(), "soft", iterations="auto", sigma=(0.01, -1))


def _csv(tmp_path, u, name="two.csv", header="quiet,loud"):
    path = tmp_path / name
    np.savetxt(path, u, delimiter=",", header=header, comments="")
    return path


def _read(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_the_command_line_takes_a_level_per_channel(tmp_path):
    u = _pair(k=1.0)
    src, one = _csv(tmp_path, u), _csv(tmp_path, u[:, :1], "one.csv", "quiet")
    two = _csv(tmp_path, u[:, 1:], "two_.csv", "loud")
    run = CliRunner().invoke
    args = ["shrink", "--iterations", "auto", "--sigma"]
    r = run(cli, [*args, "0.04,0.08", str(src), "-o", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.output
    assert "channels got their own parameters (noise levels given per channel)" in r.output
    assert run(cli, [*args, "0.04", str(one), "-o", str(tmp_path / "a.csv")]).exit_code == 0
    assert run(cli, [*args, "0.08", str(two), "-o", str(tmp_path / "b.csv")]).exit_code == 0
    out = _read(tmp_path / "o.csv")
    assert np.array_equal(out[:, :1], _read(tmp_path / "a.csv"))
    assert np.array_equal(out[:, 1:], _read(tmp_path / "b.csv"))


def test_the_command_line_refuses_a_wrong_count_in_one_line(tmp_path):
    src = _csv(tmp_path, _pair())
    out = tmp_path / "o.csv"
    r = CliRunner().invoke(
        cli, ["shrink", "--iterations", "auto", "--sigma", "1,2,3", str(src), "-o", str(out)]
    )
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "--sigma gives 3 noise levels for 2 channels" in lines[0]
    assert "Traceback" not in r.output and not out.exists()
    r = CliRunner().invoke(cli, ["shrink", "--sigma", "1,x", str(src), "-o", str(out)])
    assert r.exit_code == 2 and not out.exists()


def test_the_report_says_what_each_channel_got(tmp_path):
    u = _pair()
    src, report = _csv(tmp_path, u), tmp_path / "r.json"
    args = ["shrink", "--iterations", "auto", str(src), "-o", str(tmp_path / "o.csv")]
    r = CliRunner().invoke(cli, [*args, "--report", str(report)])
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output  # old: the B14 warning, one plan for both
    summary = r.output.strip().splitlines()
    assert len(summary) == 2 and "channels got their own parameters (estimated noise" in summary[1]
    rep = json.loads(report.read_text())
    why = rep["parameters"]["channels_planned_apart"]
    ratio = re.match(r"estimated noise levels (\d+\.?\d*)x apart, more than 1\.5x$", why)
    assert ratio and 15 < float(ratio[1]) < 25, why
    plans = rep["channel_plans"]
    assert [p["channels"] for p in plans] == [["column 1 ('quiet')"], ["column 2 ('loud')"]]
    for c, p in enumerate(plans):
        alone = rd.shrink(np.ascontiguousarray(u[:, c]), "soft", iterations="auto")
        assert p["parameters"]["stopping_rule"] == "sure"
        assert p["parameters"]["iterations"] == p["steps"] > 0
        assert p["guarantees_held"] and p["stability"]["sign_stable"]
        assert p["noise_sigma"] == [rep["noise_sigma"][c]]
        assert np.allclose(_read(tmp_path / "o.csv")[:, c], alone, rtol=0, atol=1e-12)
    lam = [p["parameters"]["lambda"] for p in plans]
    assert lam[1] > 5 * lam[0]  # each its own level's lambda
    assert rep["steps"] == sum(p["steps"] for p in plans) and rep["guarantees_held"]
    r = CliRunner().invoke(cli, [*args, "-v"])
    assert "column 2 ('loud')'s plan:" in r.output and "stopping_rule = sure" in r.output


def test_a_pcm_file_is_planned_per_channel_within_its_range(tmp_path):
    import soundfile

    u = _pair(k=20.0, n=2000) / 40.0  # the loud channel near full scale of PCM_16
    soundfile.write(tmp_path / "st.wav", u, 8000, subtype="PCM_16")
    for c in range(2):
        soundfile.write(
            tmp_path / f"m{c}.wav",
            soundfile.read(tmp_path / "st.wav")[0][:, c],
            8000,
            subtype="PCM_16",
        )
    run = CliRunner().invoke
    for name in ("st", "m0", "m1"):
        args = ["shrink", "--shrinkage", "auto", str(tmp_path / f"{name}.wav")]  # (a family search)
        r = run(cli, [*args, "-o", str(tmp_path / f"o{name}.wav")])
        assert r.exit_code == 0, r.output
    out = soundfile.read(tmp_path / "ost.wav")[0]
    for c in range(2):
        assert np.array_equal(out[:, c], soundfile.read(tmp_path / f"om{c}.wav")[0])


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.floats(3.0, 60.0), seed=st.integers(0, 2**16))
@example(k=3.0, seed=457)  # a channel passed through: left out, not failed
def test_each_channels_plan_keeps_its_guarantees(split_plan_kept_its_guarantees, k, seed):
    u = _pair(k=k, n=1500, seed=seed)
    plan, extra = planner("diffuse", "perona-malik", time="auto")(u)
    # a rare draw (0 of 30 at random; k = 3, seed 457) reads a channel as rough, its level
    # not identified: it is passed through, not planned apart (that case is the next test's)
    assume(not extra.get("passed_through_reasons"))
    assert isinstance(plan, SplitPlan)
    split_plan_kept_its_guarantees(plan, u, plan.run(u), slack=1e-9 * k)


def test_a_channel_whose_level_is_not_trusted_is_passed_through_beside_them(tmp_path):
    u = _pair()
    rough = np.random.default_rng(3).standard_normal(len(u))  # its level: its own content
    ramp = np.arange(len(u)) * 0.01  # clean: its level below its rounding
    three = np.column_stack([ramp, u, rough])
    plan, extra = planner("shrink", "soft", iterations="auto")(three)
    assert isinstance(plan, SplitPlan) and plan.passed == (0, 3)  # levels compared without them
    assert extra["filtered_channels"] == ["channel 2", "channel 3"]
    out = plan.run(three)
    assert np.array_equal(out[:, 0], ramp) and np.array_equal(out[:, 3], rough)
    for c in (1, 2):
        alone, _ = planner("shrink", "soft", iterations="auto")(np.ascontiguousarray(u[:, c - 1]))
        assert np.array_equal(out[:, c], alone.run(np.ascontiguousarray(u[:, c - 1])))
    src, rep = _csv(tmp_path, three, header="t,quiet,loud,rough"), tmp_path / "r.json"
    args = ["shrink", "--iterations", "auto", str(src), "-o", str(tmp_path / "o.csv")]
    r = CliRunner().invoke(cli, [*args, "--report", str(rep)])
    assert r.exit_code == 0, r.output
    report = json.loads(rep.read_text())
    assert report["passed_through"][-1] == "column 4 ('rough')"  # (t: a time column, carried)
    assert "column 4 ('rough') passed through unchanged: the estimated noise" in r.output
    assert report["guarantees_held"] and len(report["channel_plans"]) == len(report["channels"])
