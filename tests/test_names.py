"""Names as people type them: did-you-mean, underscores, US spellings, a name
given in the wrong form, subtypes (issue 14, item 9)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from resdenoise import get_nonlinearity
from resdenoise.cli import cli
from resdenoise.errors import did_you_mean


@pytest.fixture
def src(noisy_csv):
    return noisy_csv


def run(runner, src, tmp_path, *args):
    rep = tmp_path / "r.json"
    result = runner.invoke(
        cli, [args[0], str(src), *args[1:], "-o", str(tmp_path / "o.csv"), "--report", str(rep)]
    )
    return result, (json.loads(rep.read_text()) if result.exit_code == 0 else None)


@pytest.mark.parametrize(
    "given, meant",
    [("peronamalik", "perona-malik"), ("charbonier", "charbonnier"), ("linaer", "linear")],
)
def test_a_misspelt_name_gets_the_closest(runner, src, tmp_path, given, meant):
    result, _ = run(runner, src, tmp_path, "diffuse", "--diffusivity", given, "--steps", "2")
    assert result.exit_code == 2
    assert f"did you mean '{meant}'?" in result.stderr.lower()
    assert len(result.stderr.strip().splitlines()[-1]) < 400  # one readable line, not a dump
    assert "Traceback" not in result.output


@pytest.mark.parametrize("given", ["perona_malik", "PERONA-MALIK", "Perona Malik"])
def test_underscores_and_case_are_accepted(runner, src, tmp_path, given):
    result, report = run(runner, src, tmp_path, "diffuse", "--diffusivity", given, "--steps", "2")
    assert result.exit_code == 0, result.output
    assert report["family"] == "perona-malik" and report["name"] == "perona-malik"


def test_a_name_of_another_form_says_where_it_lives(runner, src, tmp_path):
    result, _ = run(runner, src, tmp_path, "diffuse", "--diffusivity", "huber", "--steps", "2")
    assert result.exit_code == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "'huber' is a regulariser" in line
    assert "as a diffusivity: 'soft' (also truncated-tv)" in line


def test_a_name_without_that_form(runner, src, tmp_path):
    result, _ = run(runner, src, tmp_path, "diffuse", "--diffusivity", "relu", "--steps", "2")
    assert result.exit_code == 2
    assert "'relu' is an activation" in result.stderr
    assert "no diffusivity" in result.stderr


def test_us_spellings(runner, src, tmp_path):
    result, report = run(
        runner, src, tmp_path, "regularize", "--regularizer", "huber", "--alpha", "2"
    )
    assert result.exit_code == 0, result.output
    assert report["command"] == "regularise" and report["name"] == "huber"
    result, report = run(
        runner, src, tmp_path, "regularize", "--regularizer-expr", "r^2", "--alpha", "1"
    )
    assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["translate", "--regularizer", "huber", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["given"] == "regulariser"
    assert "regularize" not in runner.invoke(cli, ["--help"]).stdout  # one command listed


def test_a_misspelt_command_gets_the_closest(runner):
    result = runner.invoke(cli, ["difuse", "x.csv"])
    assert result.exit_code == 2 and "did you mean 'diffuse'?" in result.stderr.lower()


def test_library_accepts_the_same_spellings():
    assert get_nonlinearity("perona_malik", "diffusivity").key == "perona-malik"
    assert get_nonlinearity("huber", "regularizer").key == "soft"
    with pytest.raises(ValueError, match="Did you mean 'charbonnier'"):
        get_nonlinearity("charbonier", "diffusivity")


def test_did_you_mean():
    assert did_you_mean("PCM24", ["PCM_16", "PCM_24", "FLOAT"]) == "PCM_24"
    assert did_you_mean("zzzz", ["PCM_16", "FLOAT"]) is None


def test_subtype_gets_the_closest(runner, tmp_path, rng):
    wav = tmp_path / "in.wav"
    soundfile.write(wav, 0.3 * rng.standard_normal(200), 8000, subtype="PCM_16")
    args = ["resnet", str(wav), "--blocks", "2", "-o", str(tmp_path / "o.wav")]
    result = runner.invoke(cli, [*args, "--subtype", "PCM24"])
    assert result.exit_code == 2
    assert "did you mean 'pcm_24'?" in result.stderr.lower()
    result = runner.invoke(cli, [*args, "--subtype", "pcm_24"])
    assert result.exit_code == 0, result.output
    assert soundfile.info(str(tmp_path / "o.wav")).subtype == "PCM_24"
    assert np.isfinite(soundfile.read(str(tmp_path / "o.wav"))[0]).all()


def test_us_spelling_in_a_network_file(runner, src, tmp_path):
    net = tmp_path / "net.toml"
    net.write_text('[[block]]\nregularizer = "huber"\nlambda = 0.5\nrepeat = 2\n')
    result, report = run(runner, src, tmp_path, "resnet", "--network", str(net))
    assert result.exit_code == 0, result.output
    assert report["stability"]["blocks"][0]["form"] == "regulariser"
