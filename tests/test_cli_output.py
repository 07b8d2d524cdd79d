"""What a filtering command prints on stderr: the verdict first, tables behind -v,
warnings always, nothing but errors with -q (issue 14, item 7)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from resdenoise.cli import cli

RUN = ["diffuse", "--diffusivity", "perona-malik", "--lambda", "0.5", "--steps", "4"]
#: tau 0.4 with g_max 1: L-infinity stable, above the sign-stable bound 0.25: a warning
WARNS = ["resnet", "--activation", "tanh", "--lambda", "0.5", "--blocks", "3", "--tau", "0.4"]


@pytest.fixture
def src(noisy_csv):
    return noisy_csv


def test_default_is_a_short_summary_that_leads_with_the_verdict(runner, src, tmp_path):
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [RUN[0], str(src), *RUN[1:], "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"{src} -> {out}: guarantees held"
    assert 1 < len(lines) <= 3
    assert "perona-malik" in lines[1] and "4 blocks" in lines[1]
    assert "measured per channel" not in result.stderr  # the tables are behind -v


def test_verbose_shows_the_tables_after_the_verdict(runner, src, tmp_path):
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [RUN[0], str(src), *RUN[1:], "-o", str(out), "-v"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"{src} -> {out}: guarantees held"
    assert "measured per channel" in result.stderr
    assert "tau bound sign" in result.stderr


def test_warnings_shown_by_default_and_silenced_by_quiet(runner, src, tmp_path):
    args = [WARNS[0], str(src), *WARNS[1:], "-o", str(tmp_path / "o.csv")]
    loud = runner.invoke(cli, args)
    assert loud.exit_code == 0, loud.output
    assert loud.stderr.splitlines()[0].endswith(": guarantees held")
    assert loud.stderr.splitlines()[2].startswith("warning: tau = 0.4 is L-infinity stable")
    quiet = runner.invoke(cli, [*args, "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_quiet_keeps_errors(runner, tmp_path):
    result = runner.invoke(cli, [RUN[0], str(tmp_path / "missing.csv"), *RUN[1:], "-q"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1


def test_quiet_and_verbose_together_is_a_usage_error(runner, src):
    result = runner.invoke(cli, [RUN[0], str(src), *RUN[1:], "-q", "-v"])
    assert result.exit_code == 2
    assert "-q" in result.stderr and "-v" in result.stderr


def test_failed_guarantees_lead_the_summary(runner, src, tmp_path):
    # tau far above the L-infinity bound, allowed: the verdict says it failed, first
    args = [*RUN, "--tau", "3", "--allow-unstable", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [args[0], str(src), *args[1:]])
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{src} -> {tmp_path / 'o.csv'}: guarantees failed: ")
    assert "not L-infinity stable" in first


def test_batch_verbose_shows_each_table(runner, src, tmp_path):
    other = tmp_path / "b.csv"
    other.write_text(src.read_text())
    result = runner.invoke(
        cli, [RUN[0], str(src), str(other), *RUN[1:], "-o", f"{tmp_path}/o/", "-v"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("measured per channel") == 2
    assert result.stderr.splitlines()[-1] == "2 files: 2 written"


def test_summary_numbers_are_in_the_report(runner, src, tmp_path):
    rep = tmp_path / "r.json"
    result = runner.invoke(
        cli, [RUN[0], str(src), *RUN[1:], "-o", str(tmp_path / "o.csv"), "--report", str(rep)]
    )
    report = json.loads(rep.read_text())
    line = result.stderr.splitlines()[1]
    assert f"{report['steps']} blocks" in line
    assert f"tau = {report['tau']:.6g}" in line


def test_one_block_is_one_block(runner, src, tmp_path):
    args = ["diffuse", str(src), "--steps", "1", "--lambda", "1", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert " 1 block of tau = 0.25 " in result.stderr.splitlines()[1]


def test_an_unknown_parameter_is_not_shown_as_infinite():
    """SURE of the chosen output can fall below zero; the expected gain is then unknown
    (None in the report), not an infinite gain (the table showed ``inf``)."""
    from resdenoise.cli.render import parameter_line

    line = parameter_line({"lambda": 0.5, "expected_gain_db": None, "candidates": [{}]})
    assert line == "lambda = 0.5, expected_gain_db = -"


def test_every_message_counts_channels_from_1(runner, tmp_path):
    """The second channel is 'column 2' of a headerless CSV file everywhere: in a failed
    check (was 'channel 1', counted from 0 as the report's list is, then 'channel 2'), in
    -v's table ('column 2', was 'ch 1', then 'ch 2') and 'channel 2' of a sound file, as
    before, in a read error."""
    import soundfile

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("".join(f"0.5,{(-1) ** i * (1 + i % 3)}\n" for i in range(40)))  # no header
    args = ["resnet", str(src), "--activation", "linear", "--blocks", "5", "--tau", "1.0"]
    result = runner.invoke(cli, [*args, "--allow-unstable", "--strict", "-o", str(out), "-v"])
    assert result.exit_code == 4
    error = result.stderr.splitlines()[-1]
    assert error.endswith("; column 2: output [-486, 486] leaves input range [-3, 3]; "
                          "column 2: total variation increased (156 -> 35911)")  # fmt: skip
    header = next(line for line in result.stderr.splitlines() if "quantity" in line)
    assert re.findall(r"\bcolumn \d+", header) == ["column 1", "column 2"]
    x = np.zeros((40, 2))
    x[5, 1] = np.nan
    soundfile.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    result = runner.invoke(cli, ["diffuse", str(tmp_path / "nan.wav"), "--steps", "1", "-o", "-"])
    assert result.stderr.endswith("nan.wav: sample 6, channel 2 is nan, not a finite number\n")
