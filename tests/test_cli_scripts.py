"""For scripts: translate --check, --json on the filter commands, and what the
report says about itself and its input (issue 14, item 10)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from resdenoise import __version__
from resdenoise.cli import cli
from resdenoise.report import SCHEMA_VERSION

RUN = ["diffuse", "--lambda", "0.5", "--steps", "4"]


@pytest.fixture
def src(tmp_path, rng):
    path = tmp_path / "in.csv"
    data = np.sign(np.sin(np.linspace(0, 6, 120))) + 0.1 * rng.standard_normal(120)
    path.write_text("t,v\n" + "\n".join(f"{i},{float(x)!r}" for i, x in enumerate(data)) + "\n")
    return path


@pytest.mark.parametrize(
    "args, code",
    [
        (["--activation", "tanh"], 0),
        (["--activation", "relu"], 0),  # not odd, 0 <= g <= 1: stable (odd not checked)
        (["--activation", "sigmoid"], 3),  # g unbounded
        (["--regulariser", "huber", "--tau", "0.2"], 0),  # sign stable
        (["--regulariser", "huber", "--tau", "0.3"], 3),  # L-inf stable, not sign stable
        (["--regulariser", "huber", "--tau", "0.6"], 3),  # above the L-inf bound
    ],
)
def test_translate_check_exits_3_when_a_condition_fails(runner, args, code):
    result = runner.invoke(cli, ["translate", *args, "--check"])
    assert result.exit_code == code, result.output
    assert "stability theorem" in result.stdout  # the table is still printed
    plain = runner.invoke(cli, ["translate", *args])
    assert plain.exit_code == 0


def test_translate_check_with_json(runner):
    result = runner.invoke(cli, ["translate", "--activation", "sigmoid", "--check", "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["theorem_applies"] is False


@pytest.mark.parametrize(
    "args, form, method",
    [
        (["--shrinkage", "garrote"], "diffusivity", "truncated-balanced-forward-backward"),
        (["--shrinkage", "hard"], "regulariser", "weak-string"),
        (["--activation", "clip"], "regulariser", "huber"),
        (["--diffusivity", "linear"], "regulariser", "whittaker-tikhonov"),
    ],
)
def test_translate_names_the_method_behind_each_form(runner, args, form, method):
    data = json.loads(runner.invoke(cli, ["translate", *args, "--json"]).stdout)
    assert method in data["forms"][form]["known_as"]
    table = runner.invoke(cli, ["translate", *args], env={"COLUMNS": "200"}).stdout
    row = next(line for line in table.splitlines() if line.startswith(f"│ {form}"))
    assert method in row


def test_json_puts_the_report_on_stdout(runner, src, tmp_path):
    out = tmp_path / "o.csv"
    result = runner.invoke(cli, [RUN[0], str(src), *RUN[1:], "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(out) and out.exists()
    assert result.stderr.startswith(f"{src} -> {out}: guarantees held")


def test_json_with_the_signal_on_stdout_is_a_usage_error(runner, src):
    result = runner.invoke(cli, [RUN[0], str(src), *RUN[1:], "--json"])
    assert result.exit_code == 2
    assert "--json" in result.stderr and "-o" in result.stderr


def test_json_and_a_report_file_together_is_a_usage_error(runner, src, tmp_path):
    rep = tmp_path / "r.json"
    args = [RUN[0], str(src), *RUN[1:], "-o", str(tmp_path / "o.csv"), "--json", "--report"]
    result = runner.invoke(cli, [*args, str(rep)])
    assert result.exit_code == 2  # one report, one place
    assert "--json" in result.stderr


def test_json_with_several_inputs_is_a_usage_error(runner, src, tmp_path):
    other = tmp_path / "b.csv"
    other.write_text(src.read_text())
    files = [str(src), str(other)]
    result = runner.invoke(cli, [RUN[0], *files, *RUN[1:], "-o", f"{tmp_path}/d/"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [RUN[0], *files, *RUN[1:], "-o", f"{tmp_path}/d/", "--json"])
    assert result.exit_code == 2 and "--report DIR/" in result.stderr


def test_report_names_tool_schema_and_csv_input(runner, src, tmp_path):
    result = runner.invoke(
        cli, [RUN[0], str(src), *RUN[1:], "-o", str(tmp_path / "o.csv"), "--json"]
    )
    report = json.loads(result.stdout)
    assert report["tool"] == {"name": "resdenoise", "version": __version__}
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["input_info"] == {
        "format": "CSV",
        "subtype": None,
        "rate": None,
        "frames": 120,
        "channels": 1,
        "columns": 2,
    }


def test_report_describes_audio_input(runner, tmp_path, rng):
    wav = tmp_path / "in.wav"
    soundfile.write(wav, 0.3 * rng.standard_normal((300, 2)), 8000, subtype="PCM_24")
    args = ["resnet", str(wav), "--blocks", "3", "-o", str(tmp_path / "o.wav"), "--json"]
    report = json.loads(runner.invoke(cli, args).stdout)
    assert report["input_info"] == {
        "format": "WAV",
        "subtype": "PCM_24",
        "rate": 8000,
        "frames": 300,
        "channels": 2,
        "columns": 2,
        "full_scale": [0, 0],  # none at the 24-bit rails
    }


def test_streamed_report_describes_input_the_same(runner, src, tmp_path):
    base = [RUN[0], str(src), *RUN[1:], "-o", str(tmp_path / "o.csv"), "--json"]
    whole = json.loads(runner.invoke(cli, base).stdout)
    streamed = json.loads(runner.invoke(cli, [*base, "--chunk-size", "50"]).stdout)
    assert streamed["input_info"] == whole["input_info"]


@pytest.mark.parametrize("auto", [[], ["--time", "auto"]])
def test_noise_sigma_appears_once(runner, src, tmp_path, auto):
    args = [
        "diffuse",
        str(src),
        *(auto or ["--steps", "3"]),
        "-o",
        str(tmp_path / "o.csv"),
        "--json",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.count('"noise_sigma"') == 1
    assert len(json.loads(result.stdout)["noise_sigma"]) == 1
