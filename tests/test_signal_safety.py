"""Paths that must never damage a signal: pipes keep audio, CSV -> audio needs a
rate and never clips, --in-place replaces the input, ambiguous shapes are refused."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

import resdenoise
from resdenoise.cli import cli
from resdenoise.errors import ParameterError

RESDENOISE = [sys.executable, "-m", "resdenoise"]
DIFFUSE = ["diffuse", "--diffusivity", "charbonnier", "--lambda", "0.5", "--steps", "5", "-q"]
SHRINK = ["shrink", "--threshold", "0.05", "--iterations", "3", "-q"]
CSV = "# kept\ntime,v\n" + "".join(f"{i},{(-1.0) ** i}\n" for i in range(8))


@pytest.fixture
def runner():
    return CliRunner()


def _tone(rng, n=8000):
    t = np.arange(n) / 8000.0
    return 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)


def _pipe(first: list, second: list, cwd) -> tuple[int, int, str]:
    """``resdenoise FIRST | resdenoise SECOND``: both exit codes and the second's stderr."""
    a = subprocess.Popen([*RESDENOISE, *first], stdout=subprocess.PIPE, cwd=cwd)
    b = subprocess.run(
        [*RESDENOISE, *second], stdin=a.stdout, capture_output=True, cwd=cwd, check=False
    )
    a.stdout.close()
    return a.wait(), b.returncode, b.stderr.decode()


def _listing(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ---- 1. audio through a pipe keeps its rate and precision ---------------------


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16", "PCM_24", "DOUBLE"])
def test_a_pipe_of_two_commands_keeps_rate_frames_and_subtype(tmp_path, rng, subtype):
    soundfile.write(tmp_path / "in.wav", _tone(rng), 8000, subtype=subtype)
    codes = _pipe(
        [*DIFFUSE[:1], "in.wav", *DIFFUSE[1:]],
        [*SHRINK[:1], "-", *SHRINK[1:], "-o", "piped.wav"],
        tmp_path,
    )
    assert codes[:2] == (0, 0), codes[2]
    # the same two commands through a file: the same samples, bit for bit
    for args in (
        [*DIFFUSE[:1], "in.wav", *DIFFUSE[1:], "-o", "mid.wav"],
        [*SHRINK[:1], "mid.wav", *SHRINK[1:], "-o", "filed.wav"],
    ):
        subprocess.run([*RESDENOISE, *args], cwd=tmp_path, check=True)
    piped, filed = soundfile.info(tmp_path / "piped.wav"), soundfile.info(tmp_path / "in.wav")
    assert (piped.samplerate, piped.frames, piped.subtype) == (8000, 8000, subtype)
    assert (filed.samplerate, filed.frames) == (8000, 8000)
    dtype = {"FLOAT": "float32", "DOUBLE": "float64"}.get(subtype, "int32")  # as stored
    piped_samples = soundfile.read(tmp_path / "piped.wav", dtype=dtype)[0]
    filed_samples = soundfile.read(tmp_path / "filed.wav", dtype=dtype)[0]
    assert piped_samples.tobytes() == filed_samples.tobytes()  # (a FLOAT PEAK chunk has a time)
    assert np.abs(piped_samples).max() > 0


def test_stdout_keeps_the_input_format_unless_told(runner, tmp_path, rng):
    soundfile.write(tmp_path / "in.flac", _tone(rng), 8000, subtype="PCM_24")
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.flac")])
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(io.BytesIO(result.stdout_bytes))
    assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_24", 8000)
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.flac"), "--output-format", "csv"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "# samplerate: 8000" and len(lines) == 8001


def test_csv_to_audio_without_a_rate_fails_with_exit_2_and_writes_nothing(runner, tmp_path):
    (tmp_path / "in.csv").write_text("\n".join(["0.1", "-0.2", "0.3", "0.0"] * 10) + "\n")
    before = _listing(tmp_path)
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "carries none; give it in Hz with --rate" in result.stderr
    assert _listing(tmp_path) == before
    # through a pipe: no guess either
    raw = (tmp_path / "in.csv").read_bytes()
    result = runner.invoke(cli, [*DIFFUSE, "-", "--output-format", "wav"], input=raw)
    assert result.exit_code == 2 and result.stdout_bytes == b""
    assert "Error: <stdout>: WAV audio needs a sample rate, and <stdin>" in result.stderr


def test_the_rate_goes_with_the_csv_and_comes_back(runner, tmp_path, rng):
    soundfile.write(tmp_path / "in.wav", _tone(rng, 400), 11025, subtype="PCM_16")
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.wav"), "-o", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "a.csv").read_text()
    assert text.startswith("# samplerate: 11025\n")
    assert np.loadtxt(tmp_path / "a.csv").shape == (400,)  # a comment to other readers
    # CSV -> CSV keeps the line; CSV -> audio takes the rate from it
    args = [*SHRINK, str(tmp_path / "a.csv")]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "b.csv")])
    assert (tmp_path / "b.csv").read_text().startswith("# samplerate: 11025\n")
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "b.wav")])
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(tmp_path / "b.wav")
    assert (info.samplerate, info.frames, info.subtype) == (11025, 400, "FLOAT")
    # a rate given twice must agree
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "c.wav"), "--rate", "8000"])
    assert result.exit_code == 2
    assert "gives a sample rate of 11025 Hz, --rate gives 8000; drop --rate" in result.stderr
    assert not (tmp_path / "c.wav").exists()


@pytest.mark.parametrize(
    "line",
    ["# samplerate: 8000", "#samplerate=8000", "# Sample rate: 8000 Hz", "# sample-rate = 8000hz"],
)
def test_the_rate_line_is_read_and_is_not_a_header(line):
    from resdenoise.io import parse_signal

    sig = parse_signal(f"{line}\n0.5\n-0.25\n".encode(), "CSV", "x")
    assert (sig.samplerate, sig.header, sig.data.tolist()) == (8000, None, [0.5, -0.25])
    sig = parse_signal(f"{line}\n# a,b\n1,2\n3,4\n".encode(), "CSV", "x")
    assert (sig.samplerate, sig.header) == (8000, ["a", "b"])
    sig = parse_signal(b"# rate of sampling was high\n1\n2\n", "CSV", "x")
    assert sig.samplerate is None


def test_rate_of_a_plain_csv_given_on_the_command_line(runner, tmp_path):
    (tmp_path / "in.csv").write_text("time,v\n" + "".join(f"{i},{(-1) ** i}\n" for i in range(9)))
    out = tmp_path / "o.wav"
    result = runner.invoke(
        cli, [*DIFFUSE, str(tmp_path / "in.csv"), "-o", str(out), "--rate", "96000"]
    )
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(out)
    assert (info.samplerate, info.frames, info.channels, info.subtype) == (96000, 9, 1, "FLOAT")
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.csv"), "--rate", "96000"])
    assert result.stdout.startswith("# samplerate: 96000\ntime,v\n0,")


@pytest.mark.parametrize("rate", ["0", "3000000000", "8k"])
def test_a_rate_out_of_range_is_a_usage_error(runner, tmp_path, rate):
    (tmp_path / "in.csv").write_text(CSV)
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.csv"), "--rate", rate])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        ("Error: --rate", "Error: Invalid value for '--rate'")
    )


@pytest.mark.parametrize("stdin", [False, True])
def test_audio_is_not_written_to_a_terminal(tmp_path, rng, stdin):
    soundfile.write(tmp_path / "in.wav", _tone(rng, 100), 8000)
    main, other = pty.openpty()
    try:
        with open(tmp_path / "in.wav", "rb") as fh:
            proc = subprocess.run(
                [*RESDENOISE, *DIFFUSE, "-" if stdin else "in.wav"],
                stdin=fh,
                stdout=other,
                stderr=subprocess.PIPE,
                cwd=tmp_path,
                check=False,
            )
    finally:
        os.close(other)
        os.close(main)
    assert proc.returncode == 2
    what = "audio" if stdin else "WAV audio"
    assert f"stdout is a terminal and the output is {what}; give -o FILE" in proc.stderr.decode()


# ---- 2. CSV -> integer PCM never clips silently ---------------------------------


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "7"]])
def test_a_stable_run_that_would_clip_is_refused(runner, tmp_path, chunk):
    (tmp_path / "loud.csv").write_text("\n".join(["3.0", "-3.0", "2.5", "-1.0"] * 250) + "\n")
    args = [*DIFFUSE, str(tmp_path / "loud.csv"), "--rate", "8000", *chunk]
    for out, subtype in (("o.wav", "PCM_16"), ("o.flac", None)):
        extra = ["--subtype", subtype] if subtype else []
        result = runner.invoke(cli, [*args, "-o", str(tmp_path / out), *extra])
        assert result.exit_code == 1, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "would be clipped; nothing written" in lines[0]
        assert "--subtype FLOAT" in lines[0]
        assert _listing(tmp_path) == ["loud.csv"]
    # float by default: the numbers the run made
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.stderr
    written = soundfile.read(tmp_path / "o.wav")[0]
    assert written.max() > 2.0 and soundfile.info(tmp_path / "o.wav").subtype == "FLOAT"


def test_a_quiet_csv_is_written_as_integer_pcm_when_asked(runner, tmp_path):
    (tmp_path / "q.csv").write_text("\n".join(["0.5", "-0.5", "0.25", "0.0"] * 25) + "\n")
    out = tmp_path / "q.wav"
    args = [*DIFFUSE, str(tmp_path / "q.csv"), "--rate", "8000", "-o", str(out)]
    result = runner.invoke(cli, [*args, "--subtype", "PCM_16", "--report", str(tmp_path / "r")])
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(out).subtype == "PCM_16"
    assert '"clipped": 0' in (tmp_path / "r").read_text()


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "7"]])
def test_the_report_describes_the_samples_written(runner, tmp_path, chunk):
    """An unstable run, allowed, clips: the report gives the clipped range and counts."""
    soundfile.write(tmp_path / "in.wav", np.tile([0.9, -0.9], 50), 8000, subtype="PCM_16")
    args = ["diffuse", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o.wav"), "-q", *chunk]
    args += ["--diffusivity", "perona-malik", "--lambda", "10", "--tau", "1", "--steps", "3"]
    result = runner.invoke(cli, [*args, "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 3  # refused: not L-infinity stable
    result = runner.invoke(cli, [*args, "--report", str(tmp_path / "r.json"), "--allow-unstable"])
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    held = soundfile.read(tmp_path / "o.wav")[0]
    channel = report["channels"][0]
    assert (channel["output_min"], channel["output_max"]) == (held.min(), held.max())
    assert (held.min(), held.max()) == (-1.0, 32767 / 32768)
    assert report["clipped"] > 0 and not report["guarantees_held"]


# ---- 3. --in-place is sed -i ----------------------------------------------------


def test_in_place_without_o_replaces_the_input(runner, tmp_path):
    src, other = tmp_path / "in.csv", tmp_path / "other.csv"
    src.write_text(CSV)
    other.write_text(CSV)
    result = runner.invoke(cli, [*DIFFUSE, str(other), "-o", str(tmp_path / "expected.csv")])
    assert result.exit_code == 0
    result = runner.invoke(cli, [*DIFFUSE, str(src), "--in-place"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b""
    assert src.read_bytes() == (tmp_path / "expected.csv").read_bytes() != CSV.encode()
    assert _listing(tmp_path) == ["expected.csv", "in.csv", "other.csv"]


@pytest.mark.parametrize(
    "where, message",
    [
        (
            "other.csv",
            "other.csv: not the input .*in.csv, and --in-place replaces the input "
            "itself; drop -o, or drop --in-place to write another file",
        ),
        ("-", None),
    ],
)
def test_in_place_with_another_output_or_stdin_is_a_usage_error(runner, tmp_path, where, message):
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    if where == "-":
        result = runner.invoke(cli, [*DIFFUSE, "-", "--in-place"], input=CSV)
        message = "--in-place replaces an input file, and stdin is none"
    else:
        result = runner.invoke(cli, [*DIFFUSE, str(src), "--in-place", "-o", str(tmp_path / where)])
    assert result.exit_code == 2
    import re

    assert re.search(message, result.stderr), result.stderr
    assert src.read_text() == CSV and _listing(tmp_path) == ["in.csv"]


def test_in_place_keeps_the_format(runner, tmp_path, rng):
    soundfile.write(tmp_path / "in.wav", _tone(rng, 100), 8000, subtype="PCM_16")
    before = (tmp_path / "in.wav").read_bytes()
    result = runner.invoke(
        cli, [*DIFFUSE, str(tmp_path / "in.wav"), "--in-place", "--output-format", "csv"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'in.wav'}: --in-place keeps the file's format (WAV); drop "
        "--output-format (or write CSV to another file)\n"
    )
    assert (tmp_path / "in.wav").read_bytes() == before and _listing(tmp_path) == ["in.wav"]
    result = runner.invoke(cli, [*DIFFUSE, str(tmp_path / "in.wav"), "--in-place"])
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(tmp_path / "in.wav").subtype == "PCM_16"
    assert (tmp_path / "in.wav").read_bytes() != before


def test_in_place_with_several_inputs(runner, tmp_path):
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(CSV)
    files = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    result = runner.invoke(cli, [*DIFFUSE, *files, "--in-place", "-o", str(tmp_path / "x") + "/"])
    assert result.exit_code == 2 and "not the input" in result.stderr
    assert _listing(tmp_path) == ["a.csv", "b.csv"]
    result = runner.invoke(cli, [*DIFFUSE, *files, "--in-place"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text() != CSV


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("second", ["./in.csv", "sub/../in.csv", "link.csv", "hard.csv"])
def test_in_place_refuses_one_file_named_twice(runner, tmp_path, monkeypatch, second, jobs):
    """Two names of one file, in place: the first replaced would be read by the other
    under --jobs 1 (filtered twice) but not under --jobs 2; refused before any work."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text(CSV)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to("in.csv")
    os.link(tmp_path / "in.csv", tmp_path / "hard.csv")
    result = runner.invoke(cli, [*DIFFUSE, "in.csv", second, "--in-place", "--jobs", jobs])
    assert result.exit_code == 2, result.stderr
    assert (
        f"Error: in.csv and {second} are one file, and --in-place would filter it twice; "
        "name it once"
    ) in result.stderr
    assert (tmp_path / "in.csv").read_text() == CSV
    assert _listing(tmp_path) == ["hard.csv", "in.csv", "link.csv", "sub"]


def test_in_place_of_a_missing_file_named_twice_says_no_such_file(runner, tmp_path, monkeypatch):
    """A missing file named twice is no such file (was "nope.csv and ./nope.csv are one
    file, and --in-place would filter it twice", exit 2)."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, [*DIFFUSE, "nope.csv", "./nope.csv", "--in-place"])
    assert result.exit_code == 1, result.stderr
    assert result.stderr == "Error: nope.csv: no such file\n"
    assert _listing(tmp_path) == []


def test_in_place_keeps_mode_and_hard_links_keep_the_old_contents(runner, tmp_path):
    src, link = tmp_path / "in.csv", tmp_path / "link.csv"
    src.write_text(CSV)
    src.chmod(0o640)
    os.link(src, link)
    result = runner.invoke(cli, [*DIFFUSE, str(src), "--in-place"])
    assert result.exit_code == 0, result.stderr
    assert src.stat().st_mode & 0o7777 == 0o640
    assert src.read_text() != CSV
    assert link.read_text() == CSV  # a new file was renamed over the name
    assert src.stat().st_nlink == 1 and link.stat().st_nlink == 1


def test_in_place_replaces_a_symlink_not_its_target(runner, tmp_path):
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text(CSV)
    link.symlink_to(real.name)
    result = runner.invoke(cli, [*DIFFUSE, str(link), "--in-place"])
    assert result.exit_code == 0, result.stderr
    assert not link.is_symlink() and link.read_text() != CSV
    assert real.read_text() == CSV


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_in_place_keeps_owner_and_group(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    os.chown(src, 12345, 23456)
    src.chmod(0o604)
    result = runner.invoke(cli, [*DIFFUSE, str(src), "--in-place"])
    assert result.exit_code == 0, result.stderr
    st = src.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (12345, 23456, 0o604)
    assert src.read_text() != CSV


# ---- 5. channels first: refused, or said --------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda u, **kw: resdenoise.diffuse(u, "linear", lam=1.0, steps=2, **kw),
        lambda u, **kw: resdenoise.shrink(u, "soft", theta=0.1, **kw),
        lambda u, **kw: resdenoise.regularise(u, "huber", lam=1.0, alpha=1.0, **kw),
        lambda u, **kw: resdenoise.resnet(u, "tanh", lam=1.0, blocks=2, **kw),
    ],
)
def test_channels_first_arrays_are_refused_or_said(call, rng):
    x = rng.standard_normal(64)
    stacked = np.stack([x, -x])
    with pytest.raises(ParameterError, match=r"u has shape \(2, 64\): 2 samples of 64 channels"):
        call(stacked)
    out = call(stacked, channel_axis=0)
    columns = call(stacked.T)
    assert out.shape == (2, 64)
    np.testing.assert_array_equal(out, columns.T)
    np.testing.assert_array_equal(out[0], call(x))
    np.testing.assert_array_equal(call(stacked.T, channel_axis=-1), columns)
    assert np.abs(out).max() > 0.1  # not the zeros of 64 channels of 2 samples
    with pytest.raises(ParameterError, match="one channel: drop channel_axis"):
        call(x, channel_axis=0)


def test_channel_axis_is_in_every_signature():
    import inspect

    for func in (resdenoise.diffuse, resdenoise.shrink, resdenoise.regularise, resdenoise.resnet):
        axis = inspect.signature(func).parameters["channel_axis"]
        assert (axis.kind, axis.default) == (inspect.Parameter.KEYWORD_ONLY, None)


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "2"]])
def test_a_csv_of_more_columns_than_rows_is_refused(runner, tmp_path, rng, chunk):
    rows = rng.standard_normal((3, 100))
    src = tmp_path / "wide.csv"
    src.write_text("".join(",".join(map(repr, r)) + "\n" for r in rows.tolist()))
    result = runner.invoke(cli, [*DIFFUSE, str(src), "-o", str(tmp_path / "o.csv"), *chunk])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {src}: 3 rows of 100 columns: a signal runs down its columns, so this looks "
        "like one signal per row; transpose the file (one column per signal), or name the "
        "columns to filter with --columns\n"
    )
    assert _listing(tmp_path) == ["wide.csv"]
    every = ",".join(str(k) for k in range(1, 101))
    result = runner.invoke(
        cli, [*DIFFUSE, str(src), "-o", str(tmp_path / "o.csv"), "--columns", every]
    )
    assert result.exit_code == 0, result.stderr
