"""Left-overs of session 35 (leftovers13): an Opus output on stdout, huge block counts,
the library's scale caps, version 2 network files, the CSV check pass's bar, and the
total variation of rounded PCM outputs."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from test_audit_messages import _error

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io import WriteOptions, encode_signal, read_signal

STEPS = ["--steps", "3"]


def _wav(tmp_path, rate: int = 48000, name: str = "in.wav"):
    rng = np.random.default_rng(13)
    x = 0.3 * np.sign(np.sin(np.arange(4800) / 40.0)) + 0.05 * rng.standard_normal(4800)
    path = tmp_path / name
    soundfile.write(str(path), x, rate, subtype="PCM_16")
    return path


# 1. -o - --output-format opus wrote Ogg Vorbis (only a .opus name made Opus)


@pytest.mark.parametrize("chunk", ["0", "1000"])
def test_opus_on_stdout_is_opus(runner, tmp_path, chunk):
    src = _wav(tmp_path)
    args = ["diffuse", str(src), *STEPS, "-q", "--chunk-size", chunk, "-o", "-"]
    result = runner.invoke(cli, [*args, "--output-format", "opus"])
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(io.BytesIO(result.stdout_bytes))
    assert (info.format, info.subtype) == ("OGG", "OPUS")
    result = runner.invoke(cli, [*args, "--output-format", "ogg"])  # ogg: still Vorbis
    assert soundfile.info(io.BytesIO(result.stdout_bytes)).subtype == "VORBIS"


def test_opus_format_wins_over_an_ogg_name_and_names_batch_outputs(runner, tmp_path):
    src = _wav(tmp_path)
    out = tmp_path / "o.ogg"
    result = runner.invoke(
        cli, ["diffuse", str(src), *STEPS, "-q", "--output-format", "opus", "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(str(out)).subtype == "OPUS"
    other = _wav(tmp_path, name="two.wav")
    args = ["diffuse", str(src), str(other), *STEPS, "-q", "--output-format", "opus"]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "dir") + "/"])
    assert result.exit_code == 0, result.stderr
    for name in ("in.opus", "two.opus"):
        assert soundfile.info(str(tmp_path / "dir" / name)).subtype == "OPUS"


def test_opus_format_with_another_codec_is_refused_in_one_line(runner, tmp_path):
    src = _wav(tmp_path)
    args = ["diffuse", str(src), *STEPS, "--subtype", "vorbis", "--output-format", "opus"]
    result = runner.invoke(cli, [*args, "-o", "-"])
    line = _error(result, 2)
    assert "--output-format opus holds Opus, not" in line and "--output-format ogg" in line, line
    assert result.stdout_bytes == b""


def test_library_opus_format_on_stdout(tmp_path):
    sig = read_signal(_wav(tmp_path))
    payload, stats = encode_signal("-", sig, WriteOptions(format="opus"))
    assert (stats["format"], stats["subtype"]) == ("OGG", "OPUS")
    assert soundfile.info(io.BytesIO(payload)).subtype == "OPUS"
    with pytest.raises(ParameterError, match="output_format='opus' holds Opus, not VORBIS"):
        encode_signal("-", sig, WriteOptions(format="opus", subtype="VORBIS"))
