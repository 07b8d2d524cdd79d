"""What the summary line, --help and the README say about the values a user gives
(audit14b: B1, B2, B3, B6, B10, B11, B18, B19, B20, B21 and the README's tables)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_signals"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _run(args, env=None):
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200", **(env or {})})
    return result


def _summary(args) -> tuple[str, dict]:
    """``(stderr, report)`` of a run on ``steps.csv``, its report on stdout."""
    args = [args[0], str(SAMPLES / "steps.csv"), *args[1:], "-o", os.devnull, "--report", "-"]
    result = _run(args)
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result.stderr, json.loads(result.stdout)


# -- B2: shrink's summary names the threshold the user gave ------------------


def test_shrink_summary_names_the_threshold_given():
    err, report = _summary(["shrink", "--threshold", "0.3"])
    assert "threshold = 0.3 (lambda = 0.424264)" in err, err
    assert report["parameters"]["threshold"] == 0.3


def test_shrink_summary_with_an_automatic_threshold():
    err, _ = _summary(["shrink"])
    assert re.search(r"threshold = [0-9.]+ \(auto; lambda = 0\.491201\)", err), err


def test_diffuse_summary_still_says_lambda():
    err, _ = _summary(["diffuse", "--lambda", "0.3", "--steps", "2"])
    assert "lambda = 0.3," in err and "threshold" not in err, err


# -- B3: --tau with --time is the largest step --------------------------------


def test_a_tau_larger_than_the_step_run_is_said():
    err, report = _summary(["diffuse", "--time", "1", "--tau", "0.3"])
    assert report["tau"] == 0.25 and report["steps"] == 4
    assert report["parameters"]["tau_given"] == 0.3
    assert "(T = 1; --tau 0.3 is the largest step)" in err, err


def test_a_tau_that_ran_is_not_said_again():
    err, report = _summary(["diffuse", "--time", "1", "--tau", "0.25"])
    assert "tau_given" not in report["parameters"]
    assert "largest step" not in err, err
    err, report = _summary(["diffuse", "--time", "1"])  # the default bound: nothing given
    assert "tau_given" not in report["parameters"] and "largest step" not in err


def test_the_help_and_the_table_say_tau_is_the_largest_step():
    out = _run(["diffuse", "--help"]).output
    assert "with --time T the largest step" in " ".join(out.split())
    assert "TAU (given or the default) is the largest step" in README


# -- B1, B6, B11, B20, B21: --help says what a value means -------------------


def _help(command: str) -> str:
    return " ".join(_run([command, "--help"]).output.split())


def test_shrinkage_expr_help_names_theta():
    text = _help("shrink")
    assert "formula in s and theta (the threshold, as --threshold; lam = sqrt2 theta)" in text


def test_allow_unstable_help_names_every_refusal():
    for command in ("diffuse", "shrink", "regularise", "resnet"):
        text = _help(command)
        assert "g < 0 somewhere, or g unbounded" in text, command
    assert "g < 0 somewhere, or g unbounded; override with `--allow-unstable`" in README


def test_units_of_h_lambda_sigma_time():
    text = _help("diffuse")
    assert "the sample spacing the differences are divided by, 1 = per sample" in text
    assert "compared with the differences (u[i+1]-u[i])/h in the signal's units" in text
    assert "the noise's standard deviation in the signal's units" in text
    assert "Stopping time T = m tau, in tau's units" in text


def test_lambda_help_says_decorrelation_takes_the_universal_lambda():
    text = _help("diffuse")
    assert "the best of universal x 2^(-k/2), k = 0..16, by the stopping rule sure or" in text
    assert "noise2self; by decorrelation: the universal one" in text


def test_plot_size_default_says_at_least_520():
    assert "[default: 260 per column, at least 520, x 800]" in _help("translate")


# -- B10: and/or/not are refused, naming the alternatives ---------------------


@pytest.mark.parametrize(
    "formula, word",
    [("abs(r) and r", "and"), ("r or 1", "or"), ("r if not r > 0 else 0", "not")],
)
def test_python_logic_in_a_formula_is_refused(formula, word):
    from resdenoise.expr import ExpressionError, parse_expression

    with pytest.raises(ExpressionError, match=f"operator '{word}'.*maximum\\(c1, c2\\)"):
        parse_expression(formula, "activation")
    result = _run(["translate", "--activation-expr", formula])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert f"operator '{word}'" in result.stderr


def test_the_alternatives_run():
    from resdenoise.expr import parse_expression

    both = parse_expression("(r > 0) * (r < 1) * r", "activation")
    assert list(both(__import__("numpy").array([-0.5, 0.5, 2.0]))) == [0.0, 0.5, 0.0]


# -- B19: Dask's DASK_SCHEDULER_ADDRESS alone sends nothing to a cluster ------


def _two_inputs(tmp_path) -> list[str]:
    paths = []
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("\n".join(str(0.1 * (i % 7)) for i in range(64)) + "\n")
        paths.append(str(tmp_path / name))
    return paths


def test_dask_scheduler_address_alone_runs_the_batch_locally(tmp_path):
    out = tmp_path / "out"
    args = ["diffuse", *_two_inputs(tmp_path), "--steps", "1", "-q", "-o", f"{out}/"]
    result = _run(args, env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:1"})
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv"]


def test_resdenoise_scheduler_is_named_when_the_extra_is_missing(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # not installed
    out = tmp_path / "out"
    args = ["diffuse", *_two_inputs(tmp_path), "--steps", "1", "-q", "-o", f"{out}/"]
    result = _run(args, env={"RESDENOISE_SCHEDULER": "tcp://127.0.0.1:1"})
    assert result.exit_code == 2
    assert "RESDENOISE_SCHEDULER" in result.stderr and "Traceback" not in result.stderr
    assert "DASK_SCHEDULER_ADDRESS" in _help("diffuse")  # said not to be read


# -- B18: a batch prints the verdicts; -v adds each file's line under its verdict --


def test_a_batch_is_short_and_verbose_adds_what_ran(tmp_path):
    inputs = _two_inputs(tmp_path)
    base = ["diffuse", *inputs, "--steps", "1", "--lambda", "0.5", "-o", f"{tmp_path}/out/"]
    short = _run(base)
    assert short.exit_code == 0, short.stderr
    assert "blocks of tau" not in short.stderr and "block of tau" not in short.stderr
    verbose = _run([*base, "-v"]).stderr.splitlines()
    for name in ("a.csv", "b.csv"):
        i = next(i for i, line in enumerate(verbose) if line.startswith(f"{tmp_path}/{name} ->"))
        assert verbose[i + 1].startswith("  perona-malik diffusivity, lambda = 0.5, 1 block"), (
            verbose
        )
    assert "a verdict per file (and warnings); -v adds its line and tables" in " ".join(
        _run(["--help"]).output.split()
    )


# -- B13: input_info.rate is null only where nothing gives a rate -------------


def test_a_csv_carrying_a_rate_reports_it(tmp_path):
    (tmp_path / "r.csv").write_text("# samplerate: 8000\n" + "0\n1\n" * 32)
    args = ["diffuse", str(tmp_path / "r.csv"), "--steps", "1", "-o", os.devnull, "--json", "-q"]
    info = json.loads(_run(args).stdout)["input_info"]
    assert info["rate"] == 8000 and info["subtype"] is None
    assert "null where none gives one" in README and "null for CSV and Zarr" in README


# -- B4, B9: the README's Layout and make-target table are complete -----------


def test_the_layout_names_every_module():
    layout = README[README.index("## Layout") : README.index("Imports point")]
    package = ROOT / "resdenoise"
    for path in [*package.glob("*.py"), *package.glob("io/*.py"), *package.glob("cli/*.py")]:
        assert path.name in layout, path.relative_to(ROOT)


def test_every_make_target_has_a_row():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    table = README[README.index("| make target |") :]
    for target in targets:
        assert f"`make {target}`" in table, target
