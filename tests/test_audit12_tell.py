"""What resdenoise prints must be true of the file it wrote (audit12c).

* D10: where the impulse pre-stage replaced samples and the search ran no blocks, the
  summary said "chose none (the input)" / "0 blocks", the warning "nothing done: ...; the
  output is the input" and the report's ``input_*`` were the cleaned signal's (input = output),
  while the output differed from the file at every impulse.  Now the choice is
  "the impulse pre-stage only (no blocks)", the summary counts the impulses replaced, the
  warning says what the pre-stage did, and ``input_*`` are the file's, each channel with
  ``impulses_replaced``, ``impulse_max_change`` and ``impulse_mean_change``.
* D4: where the input was kept (0 blocks) by a search over scales, -v and the report
  showed each level's "deviation in -> out" and max-min failures of blocks that never ran,
  the parameters ``scales = 8``; now no scales are measured, and the planned scales are the
  parameters' ``rejected_scales``, ``rejected_thresholds``.  The summary counted the scales
  listed (levels without a threshold too) while ``--diffusivity auto`` counted those that
  ran against ``scales = 7`` in the parameters: now one rule, "5 of 7 scales filtered".
* D11: a ``--strict`` batch ended "2 files: 0 written, 2 failed" having written both.
* D1: the summary and -v printed the raw estimate as "noise sigma" where the search used
  another level (``parameters.noise_sigma``, extrapolated): a clean sine's "noise sigma
  4.16e-08" beside "clean: below the float64 rounding".  Now the level used, its estimator,
  and the estimate beside it.
* D5: -v's tables cut cells with "…" at 80 columns (a pipe, a log): a mean drift of
  -7.1e-15 read "-7.1054…".  Now a cell folds onto more lines, never cut.
* D9: a 16-bit output's report measured the run before rounding and said nothing of it:
  output min / max not the file's, mean_preserved true of samples never written.  Now
  ``output_rounding`` gives the file's range, the step and the mean's change bound, the
  summary and -v say the output numbers are before rounding, and the max-min principle
  is checked on the written range too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from resdenoise.cli import cli
from resdenoise.cli.render import summary_line

ONLY = "the impulse pre-stage only (no blocks)"  # resdenoise.automatic.PRESTAGE_ONLY


def _read(path) -> np.ndarray:
    return np.array([float(v) for v in path.read_text().split()[1:]])


@pytest.fixture
def spiky_noise(tmp_path):
    """Pure white noise (no level can be trusted: no blocks) with 30 spikes of +-40."""
    r = np.random.default_rng(3)
    x = r.standard_normal(4000)
    x[r.choice(4000, 30, replace=False)] += r.choice((-40.0, 40.0), 30)
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    return src


@pytest.mark.parametrize(
    "command",
    [["denoise"], ["diffuse", "--time", "auto"], ["shrink", "--iterations", "auto"]],
)
def test_d10_the_impulse_prestage_alone_is_said(runner, spiky_noise, tmp_path, command):
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    args = [*command, str(spiky_noise), "-o", str(out), "--report", str(rep)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    f, u = _read(spiky_noise), _read(out)
    moved = np.abs(u - f)
    assert np.count_nonzero(moved) == 30  # the pre-stage ran: the output is not the input
    report = json.loads(rep.read_text())
    assert report["steps"] == 0
    c = report["channels"][0]
    assert c["impulses_replaced"] == 30
    assert c["impulse_max_change"] == np.max(moved)
    assert c["impulse_mean_change"] == pytest.approx(np.mean(u) - np.mean(f), abs=1e-12)
    # the input's numbers are the file's
    assert (c["input_min"], c["input_max"]) == (np.min(f), np.max(f))
    assert c["tv_in"] == pytest.approx(np.sum(np.abs(np.diff(f))), rel=1e-12)
    assert c["tv_in"] > c["tv_out"]
    assert "nothing done" not in result.stderr and "(the input)" not in result.stderr
    assert f"30 impulses replaced (largest change {np.max(moved):.6g})" in result.stderr
    (warning,) = report["warnings"]
    assert warning.startswith("no blocks: after the impulse pre-stage (30 samples replaced")
    assert "warning: " + warning[:60] in result.stderr
    if command == ["denoise"]:
        assert report["parameters"]["automatic_choice"] == ONLY
        assert f"chose {ONLY}" in result.stderr


@pytest.fixture
def chirp(tmp_path):
    """A full-band chirp at white noise 0.1: the level is not trusted, the input kept."""
    r = np.random.default_rng(11)
    t = np.arange(4096) / 4096
    x = np.sin(2 * np.pi * t**2 * 1024) + 0.1 * r.standard_normal(4096)
    src = tmp_path / "chirp.csv"
    src.write_text("v\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    return src


def test_d4_a_kept_input_measures_no_scales(runner, chirp, tmp_path):
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    args = ["shrink", str(chirp), "--scales", "auto", "-o", str(out), "--report", str(rep)]
    result = runner.invoke(cli, [*args, "-v"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == chirp.read_bytes()  # the input kept
    report = json.loads(rep.read_text())
    assert report["steps"] == 0 and "nothing done" in report["warnings"][0]
    assert "scales" not in report  # no level's block ran: nothing measured of them
    params = report["parameters"]
    assert "scales" not in params and "thresholds" not in params
    assert params["rejected_scales"] >= 2 and len(params["rejected_thresholds"]) >= 2
    summary = result.stderr.splitlines()[1]
    assert "0 blocks" in summary and "scale" not in summary.split("0 blocks")[1]
    assert "scales, each checked on its own" not in result.stderr
    assert re.search(r"(?<!_)scales = ", result.stderr) is None  # rejected_scales = 8


def test_d4_the_summary_counts_the_scales_filtered_of_those_planned():
    report = {
        "stability": {"sign_stable": True, "linf_stable": True},
        "parameters": {"scales": 3},
        "name": "soft",
        "family": "soft",
        "form": "shrinkage",
        "steps": 4,
        "tau": 0.25,
        "stopping_time": 1.0,
        "scales": [
            {"stride": 1, "shrinks": True},
            {"stride": 2, "shrinks": False},
            {"stride": 4, "shrinks": True},
        ],
    }
    assert summary_line(report).endswith(", 2 of 3 scales filtered (strides 1, 4)")
    report["scales"][1]["shrinks"] = True
    assert summary_line(report).endswith(", 3 scales filtered (strides 1, 2, 4)")
    del report["scales"][1]  # a cascade lists the scales that ran (blocks > 0) only
    report["scales"] = [{"stride": 1, "blocks": 5}, {"stride": 16, "blocks": 2}]
    report["parameters"]["scales"] = 7
    assert summary_line(report).endswith(", 2 of 7 scales filtered (strides 1, 16)")


def test_d11_a_strict_batch_counts_the_outputs_it_wrote(runner, tmp_path):
    """Before: '2 files: 0 written, 2 failed' while out/ held both outputs."""
    names = []
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("v\n" + "0\n1\n" * 5)
        names.append(str(tmp_path / name))
    out = tmp_path / "out"
    args = ["diffuse", *names, "--steps", "30", "--tau", "0.9", "--allow-unstable", "--strict"]
    result = runner.invoke(cli, [*args, "-o", f"{out}/"])
    assert result.exit_code == 4
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv"]
    lines = result.stderr.splitlines()
    assert lines[-1] == "2 files: 2 written (2 of them failed --strict)"
    # each written file's verdict line names its output, as one file's run does
    assert sum(line.startswith(f"{names[0]} -> {out}/a.csv: guarantees failed") for line in lines)


def test_d11_the_count_of_a_batch_with_a_file_not_written(runner, tmp_path):
    (tmp_path / "a.csv").write_text("v\n" + "0\n1\n" * 5)
    (tmp_path / "bad.csv").write_text("v\nx\n")
    args = ["diffuse", str(tmp_path / "a.csv"), str(tmp_path / "bad.csv"), "--steps", "30"]
    args += ["--tau", "0.9", "--allow-unstable", "--strict", "-o", f"{tmp_path}/out/"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 4
    assert (
        result.stderr.splitlines()[-1] == "2 files: 1 written (1 of them failed --strict), 1 failed"
    )


def test_d1_the_level_used_is_printed_with_its_estimator(runner, tmp_path):
    src, rep = tmp_path / "clean.csv", tmp_path / "r.json"
    x = np.sin(2 * np.pi * np.arange(4000) / 800)
    src.write_text("v\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    args = ["denoise", str(src), "-o", str(tmp_path / "o.csv"), "--report", str(rep), "-v"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(rep.read_text())
    params = report["parameters"]
    (used,), (estimate,) = params["noise_sigma"], report["noise_sigma"]
    assert used < 2.0**-52 < estimate  # the level judged "clean", and the raw estimate
    assert params["noise_estimator"].startswith("quiet-windows, extrapolated")
    assert report["noise_estimator"] == "quiet-windows"
    summary = result.stderr.splitlines()[1]
    assert summary.endswith(
        f"noise sigma {used:.6g} ({params['noise_estimator']}; estimate {estimate:.6g})"
    )
    rows = [" ".join(line.replace("│", " ").split()) for line in result.stderr.splitlines()]
    assert f"noise sigma estimate (quiet-windows) {estimate:.6g}" in rows
    assert any(
        row.endswith(f" {used:.6g}") and "noise sigma (quiet-windows," in row for row in rows
    )


def test_d5_no_table_cell_is_cut(runner, tmp_path):
    r = np.random.default_rng(3)
    x = 1000.0 * r.standard_normal((500, 6))
    src = tmp_path / "six.csv"
    src.write_text("a,b,c,d,e,f\n" + "".join(",".join(map(repr, row)) + "\n" for row in x.tolist()))
    rep = tmp_path / "r.json"
    args = ["diffuse", str(src), "--steps", "5", "-o", str(tmp_path / "o.csv"), "-v"]
    result = runner.invoke(cli, [*args, "--report", str(rep)])  # not a terminal: 80 columns
    assert result.exit_code == 0, result.output
    assert "measured per channel" in result.stderr
    assert "\u2026" not in result.stderr
    # each channel's mean drift whole, on one line (six channels do not fit 80 columns
    # as a grid without breaking numbers: the table is lines, audit20b's A20b-1)
    lines = result.stderr.splitlines()
    at = lines.index("  mean drift")
    drifts = [c["mean_drift"] for c in json.loads(rep.read_text())["channels"]]
    assert lines[at + 1 : at + 7] == [
        f"    column {k} ('{name}'): {d:.6g}"
        for k, name, d in zip(range(1, 7), "abcdef", drifts, strict=True)
    ]


def test_d9_an_integer_pcm_output_is_said_rounded(runner, tmp_path):
    sf = pytest.importorskip("soundfile")
    src = str(Path(__file__).resolve().parent.parent / "sample_signals" / "noisy_mono.wav")
    out, rep = tmp_path / "o.wav", tmp_path / "r.json"
    args = ["diffuse", src, "--steps", "20", "-o", str(out), "--report", str(rep), "-v"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    written, _ = sf.read(str(out))
    report = json.loads(rep.read_text())
    rounding = report["output_rounding"]
    assert rounding["subtype"] == "PCM_16" and rounding["step"] == 2.0**-15
    assert (rounding["output_min"], rounding["output_max"]) == ([written.min()], [written.max()])
    c = report["channels"][0]
    assert c["output_min"] != written.min()  # the run's, before rounding: said so
    assert "before rounding to PCM_16" in rounding["measured"]
    unrounded_mean = np.mean(sf.read(src)[0]) + c["mean_drift"]
    assert abs(np.mean(written) - unrounded_mean) <= rounding["mean_change_at_most"]
    assert "output measured before rounding to PCM_16" in result.stderr.splitlines()[1]
    assert "output min / max written (PCM_16)" in result.stderr
    assert "mean drift before PCM_16" in result.stderr


def test_d9_a_rounding_that_leaves_the_input_range_fails_the_max_min_principle():
    from resdenoise.report import _rounded

    report = {
        "channels": [{"input_min": 0.1, "input_max": 0.2, "max_min_principle": True}],
        "failed_checks": [],
        "guarantees_held": True,
    }
    rounding = {"subtype": "PCM_8", "step": 2.0**-7, "output_min": [0.09375]}
    _rounded(report, {**rounding, "output_max": [0.1953125], "mean_change_at_most": 2.0**-8})
    assert report["guarantees_held"] is False
    assert report["failed_checks"][0].startswith("channel 1: rounded to PCM_8 the output")


def test_d9_the_blocks_drift_row_keeps_before_pcm_after_the_impulse_prestage(runner, tmp_path):
    """Before: the row read "mean drift of the blocks", its " before PCM_16" lost where
    the impulse pre-stage ran and the output is integer PCM."""
    sf = pytest.importorskip("soundfile")
    r = np.random.default_rng(1)
    n = np.arange(8000)
    x = 0.3 * np.sin(n / 200) + 0.01 * r.standard_normal(8000)
    x[r.choice(8000, 20, replace=False)] += r.choice((-0.6, 0.6), 20)
    src = tmp_path / "imp.wav"
    sf.write(str(src), np.clip(x, -1, 1), 8000, subtype="PCM_16")
    result = runner.invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "o.wav"), "-v"])
    assert result.exit_code == 0, result.output
    assert "impulses replaced" in result.stderr
    assert "mean drift of the blocks before PCM_16" in result.stderr
