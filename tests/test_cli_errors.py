"""The command line with real-world files and bad input.

Every failure must give one ``Error: ...`` line on stderr naming the file
(and line/column where it applies), a documented exit code (1 input/output,
2 usage, 3 unstable), no traceback, nothing on stdout, no output file (not
even an empty or temporary one) and the input's bytes unchanged.

Unreadable files: the tests run as root in CI, where ``chmod 000`` does not
stop a read.  The permission case therefore chmods the file *and*, when
running as root, makes ``open`` in :mod:`resdenoise.io` raise the
``PermissionError`` the kernel would give anyone else; a second case reads
``/proc/self/mem``, which fails for root too (EIO on read).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

import resdenoise.io.read as rio_read
from resdenoise.cli import cli
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import get_nonlinearity

# a run that changes nothing: one diffusion block with a vanishing step
IDENTITY = ["diffuse", "--steps", "1", "--tau", "1e-300", "--lambda", "1", "-q"]


@pytest.fixture
def runner():
    return CliRunner()


def _wav(data, subtype="PCM_16", rate=8000, fmt="WAV") -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, data, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _snapshot(directory: Path) -> dict:
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and os.access(p, os.R_OK)
    } | {str(p.relative_to(directory)) + "/": None for p in directory.rglob("*") if p.is_dir()}


def assert_fails(result, code: int, pattern: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # nothing escaped
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert result.stdout == ""


# --------------------------------------------------------------------------
# One test per bad input: (file name, bytes or None, extra args, exit code, message)
# --------------------------------------------------------------------------

_RNG = np.random.default_rng(7)
_GARBAGE = bytes(_RNG.integers(0, 256, 3000, dtype=np.uint8))
_FULL_WAV = _wav(np.linspace(-0.5, 0.5, 400))

BAD_INPUTS = {
    "missing path": ("nope.csv", None, [], 1, r"nope\.csv: no such file$"),
    "missing parent": ("nodir/x.csv", None, [], 1, r"nodir/x\.csv: no such file$"),
    "directory": (
        "adir",
        "DIR",
        [],
        1,
        r"adir: is a directory, not a signal file; give its files \(\S*adir/\*\)$",
    ),
    "empty file": ("empty.csv", b"", [], 1, r"empty\.csv: file is empty \(0 bytes\)$"),
    "blank lines only": ("blank.csv", b"\n \n\t\n", [], 1, r"blank\.csv: no data"),
    "header without data": (
        "h.csv",
        b"time,value\r\n",
        [],
        1,
        r"h\.csv: header on line 1 but no data",
    ),
    "one sample": (
        "one.csv",
        b"# c\n1.5\n",
        [],
        1,
        r"one\.csv: 1 data row; .* at least 2 samples: nothing to filter, leave this file out",
    ),
    "one audio frame": ("one.wav", _wav(np.zeros(1)), [], 1, r"one\.wav: 1 sample; .* at least 2"),
    "NaN": (
        "nan.csv",
        b"v\n1\nNaN\n3\n",
        [],
        1,
        r"nan\.csv: line 3, column 1 \('v'\): 'NaN' is not a finite",
    ),
    "Inf": (
        "inf.csv",
        b"1,2\n3,-inf\n",
        [],
        1,
        r"inf\.csv: line 2, column 2: '-inf' is not a finite",
    ),
    "NaN in float WAV": (
        "nan.wav",
        _wav(np.array([0.5, np.nan, 0.25]), "FLOAT"),
        [],
        1,
        r"nan\.wav: sample 2, channel 1 is nan, not a finite number$",
    ),
    "non-numeric cell": (
        "text.csv",
        b"a;b\n1;2\n3;four\n",
        [],
        1,
        r"text\.csv: line 3, column 2 \('b'\): 'four' is not a number; correct it or delete line 3$",
    ),
    "ragged rows": ("r.csv", b"1,2\n3,4\n5\n", [], 1, r"r\.csv: line 3 has 1 field, expected 2"),
    "binary garbage as CSV": (
        "g.csv",
        _GARBAGE,
        [],
        1,
        r"g\.csv: line \d+: (not a text file|binary)",
    ),
    "NUL bytes": ("nul.csv", b"1\n2\x00\x00\n", [], 1, r"nul\.csv: line 2: binary data"),
    "binary garbage as WAV": ("g.wav", _GARBAGE, [], 1, r"g\.wav: not a readable audio file"),
    "truncated WAV": ("t.wav", _FULL_WAV[:500], [], 1, r"t\.wav: truncated audio: the data chunk"),
    "truncated FLAC": (
        "t.flac",
        _wav(np.sin(np.arange(5000) / 7.0) * 0.5, fmt="FLAC")[:700],
        [],
        1,
        r"t\.flac: (not a readable audio file|truncated audio)",
    ),
    "CSV named .wav": (
        "csv.wav",
        b"1,2\n3,4\n",
        [],
        1,
        r"csv\.wav: not a readable audio file .*--input-format csv$",
    ),
    "unknown extension": ("x.xyz", b"1\n2\n", [], 1, r"x\.xyz: cannot tell the format"),
    "unknown column": (
        "c.csv",
        b"a,b\n1,2\n3,4\n",
        ["--columns", "zz"],
        2,
        r"c\.csv: .*no column 'zz'",
    ),
    "column name of two columns": (
        "c.csv",
        b"time,a,a\n0,1,5\n1,2,6\n2,9,7\n",
        ["--columns", "a"],
        2,
        r"/c\.csv: columns: 2 columns are named 'a' \(2 and 3\); name the one meant by its number$",
    ),
    "bad delimiter": ("c.csv", b"1\n2\n", ["--delimiter", "xx"], 2, r"unknown delimiter 'xx'"),
    "bad --subtype for the output": (
        "c.csv",
        b"1\n2\n",
        ["--subtype", "FLOAT", "-o", "OUT.flac"],
        2,
        r"OUT\.flac: FLAC cannot hold subtype 'FLOAT'",
    ),
    "refused as unstable": (
        "u.csv",
        b"1\n2\n",
        ["--tau", "100"],
        3,
        r"refused as unstable",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_cleanly_and_touches_nothing(runner, tmp_path, case):
    name, payload, extra, code, pattern = BAD_INPUTS[case]
    src = tmp_path / name
    if payload == "DIR":
        src.mkdir()
    elif payload is not None:
        src.write_bytes(payload)
    out = tmp_path / "out.csv"
    extra = [str(tmp_path / a) if a.startswith("OUT") else a for a in extra]
    if "-o" not in extra:
        extra += ["-o", str(out)]
    before = _snapshot(tmp_path)
    result = runner.invoke(cli, [*IDENTITY, str(src), *extra])
    assert_fails(result, code, pattern)
    assert _snapshot(tmp_path) == before  # input unchanged, no output, no temporary file


def test_bad_input_on_stdin(runner, tmp_path):
    result = runner.invoke(cli, [*IDENTITY, "-", "-o", str(tmp_path / "o.csv")], input=_GARBAGE)
    assert_fails(result, 1, r"<stdin>: ")
    assert list(tmp_path.iterdir()) == []
    result = runner.invoke(cli, [*IDENTITY, "-"], input=b"")
    assert_fails(result, 1, r"<stdin>: file is empty")


def test_unreadable_file(runner, tmp_path, monkeypatch):
    src = tmp_path / "secret.csv"
    src.write_bytes(b"1\n2\n3\n")
    src.chmod(0)
    if os.geteuid() == 0:  # root reads anything: give the error anyone else would get
        real_open = builtins.open

        def fake_open(path, *args, **kwargs):
            if os.fspath(path) == str(src):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(rio_read, "open", fake_open, raising=False)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [*IDENTITY, str(src), "-o", str(out)])
    assert_fails(result, 1, r"secret\.csv: permission denied; cannot read the file$")
    src.chmod(0o644)
    assert src.read_bytes() == b"1\n2\n3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.csv"]


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_unreadable_file_even_for_root(runner, tmp_path):
    result = runner.invoke(cli, [*IDENTITY, "/proc/self/mem", "-o", str(tmp_path / "o.csv")])
    assert_fails(result, 1, r"/proc/self/mem: cannot read: ")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# Bad outputs
# --------------------------------------------------------------------------

GOOD = b"t,v\n0,0.5\n1,1.5\n2,2.5\n"


def _bad_output(tmp_path, args, code, pattern, runner):
    src = tmp_path / "in.csv"
    src.write_bytes(GOOD)
    (tmp_path / "adir").mkdir()
    before = _snapshot(tmp_path)
    args = [a.replace("TMP", str(tmp_path)) for a in args]
    result = runner.invoke(cli, [*IDENTITY, str(src), *args])
    assert_fails(result, code, pattern)
    assert _snapshot(tmp_path) == before
    return result


@pytest.mark.parametrize(
    "args, code, pattern",
    [
        (
            ["-o", "TMP/missing/out.csv"],
            1,
            r"out\.csv: output directory '.*missing' does not exist",
        ),
        (["-o", "TMP/adir"], 1, r"adir: is a directory; give an output file name$"),
        (["-o", "TMP/in.csv"], 1, r"in\.csv: output is the input file; pass --in-place"),
        (["-o", "TMP/o.csv", "--report", "TMP/missing/r.json"], 1, r"r\.json: output directory"),
        (["-o", "TMP/o.csv", "--report", "TMP/adir"], 1, r"adir: is a directory"),
        # the input's own directory: a directory as any other, no store (audit12c D12)
        (["-o", "TMP"], 1, r": is a directory; give an output file name$"),
        (
            ["-o", "TMP/o.csv", "--report", "TMP"],
            1,
            r": is a directory; give a report file name, or .+/ for .+/in\.csv\.json$",
        ),
        (["-o", "TMP/o.csv", "--report", "TMP/in.csv"], 1, r"would overwrite the input file"),
        (["-o", "TMP/o.csv", "--subtype", "PCM_16"], 2, r"o\.csv: a subtype .* audio output only"),
        (["-o", "TMP/o.unknown"], 2, r"cannot tell the format from the extension '.unknown'"),
        (["-o", "TMP/o.wav", "--output-format", "nope"], 2, r"unknown format 'nope'"),
    ],
)
def test_bad_output_fails_before_writing_anything(runner, tmp_path, args, code, pattern):
    _bad_output(tmp_path, args, code, pattern, runner)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "o.csv", "--report", "."], "Error: .: is a directory; give a report file name, "
         "or ./ for ./in.csv.json"),
        (["-o", "."], "Error: .: is a directory; give an output file name"),
    ],
)  # fmt: skip
def test_the_inputs_own_directory_is_a_directory_not_a_store(
    runner, tmp_path, monkeypatch, args, message
):
    """``--report .`` / ``-o .``: no store lies one inside the other; the advice is the
    ``DIR/`` form the README gives (audit12c D12), which works."""
    (tmp_path / "in.csv").write_bytes(GOOD)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    result = runner.invoke(cli, [*IDENTITY, "in.csv", *args])
    assert_fails(result, 1, "")
    assert result.stderr.strip() == message
    assert _snapshot(tmp_path) == before
    result = runner.invoke(cli, [*IDENTITY, "in.csv", "-o", "o.csv", "--report", "./"])
    assert result.exit_code == 0 and (tmp_path / "in.csv.json").is_file()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_output_device_failing_mid_write(runner, tmp_path):
    _bad_output(tmp_path, ["-o", "/dev/full"], 1, r"/dev/full: cannot write: No space left", runner)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_report_device_failing_leaves_no_output_file(runner, tmp_path):
    args = ["-o", "TMP/o.csv", "--report", "/dev/full"]
    _bad_output(tmp_path, args, 1, r"/dev/full: cannot write: No space left", runner)


def test_report_and_output_the_same_file_is_a_usage_error(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(GOOD)
    same = str(tmp_path / "o.csv")
    result = runner.invoke(cli, [*IDENTITY, str(src), "-o", same, "--report", same])
    assert result.exit_code == 2
    assert "Error: --report and -o name the same file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_in_place_replaces_the_input_atomically(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"# kept\ntime,v\n0,1.0\n1,-1.0\n2,1.0\n3,-1.0\n")
    src.chmod(0o600)
    inode = src.stat().st_ino
    args = [
        "diffuse",
        str(src),
        "-o",
        str(src),
        "--in-place",
        "--steps",
        "1",
        "--lambda",
        "1",
        "-q",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    lines = src.read_text().splitlines()
    assert lines[:2] == ["# kept", "time,v"]
    assert [ln.split(",")[0] for ln in lines[2:]] == ["0", "1", "2", "3"]  # time untouched
    assert [float(ln.split(",")[1]) for ln in lines[2:]] != [1.0, -1.0, 1.0, -1.0]
    assert src.stat().st_mode & 0o777 == 0o600
    assert src.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# --------------------------------------------------------------------------
# Round trips through the command line
# --------------------------------------------------------------------------

CLI_DIALECTS = [
    b"0.5\n-1.25\n3.0\n",
    b"time;p;q\r\n0;1,5;2,0\r\n1;2,25;3,0\r\n2;1,75;2,5\r\n",
    b"\xef\xbb\xbfTime (s)\tleft\n0.0\t0.5\n0.25\t-0.5\n",
    b'# exported\n"sample","v"\n"0","1.5"\n"1","2.5"\n',
    b",a,b\n0,1.0,2.0\n1,3.0,4.0\n",
    b"1.0 2.0\n3.0 4.0\n",
]


@pytest.mark.parametrize("raw", CLI_DIALECTS)
def test_cli_round_trip_keeps_the_dialect(runner, tmp_path, raw):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(raw)
    result = runner.invoke(cli, [*IDENTITY, str(src), "-o", str(dst)])
    assert result.exit_code == 0, result.stderr
    assert dst.read_bytes() == raw
    stdout = runner.invoke(cli, [*IDENTITY, "-"], input=raw)
    assert stdout.exit_code == 0, stdout.stderr
    assert stdout.stdout_bytes == raw


def test_cli_csv_options(runner, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"1,5|2,0|9\n2,5|3,0|8\n3,5|4,0|7\n")
    args = ["--delimiter", "|", "--decimal", ",", "--no-header", "--time-column", "3"]
    result = runner.invoke(cli, [*IDENTITY, str(src), *args, "--columns", "2"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == src.read_bytes()
    with_header = runner.invoke(cli, [*IDENTITY, "-", "--header"], input=b"1\n2\n3\n")
    assert with_header.stdout == "1\n2\n3\n"  # whole counts written whole (audit18a A6)


@pytest.mark.parametrize(
    "fmt, ext, subtype",
    [
        ("WAV", "wav", "PCM_U8"),
        ("WAV", "wav", "PCM_16"),
        ("WAV", "wav", "PCM_24"),
        ("WAV", "wav", "PCM_32"),
        ("WAV", "wav", "FLOAT"),
        ("WAV", "wav", "DOUBLE"),
        ("WAVEX", "wav", "PCM_24"),
        ("FLAC", "flac", "PCM_16"),
    ],
)
def test_cli_audio_round_trip_keeps_the_subtype(runner, tmp_path, fmt, ext, subtype):
    x = np.clip(np.random.default_rng(3).normal(0, 0.3, (300, 2)), -1, 0.99)
    src, dst = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    src.write_bytes(_wav(x, subtype, 22050, fmt))
    result = runner.invoke(cli, [*IDENTITY, str(src), "-o", str(dst)])
    assert result.exit_code == 0, result.stderr
    a, b = soundfile.info(str(src)), soundfile.info(str(dst))
    assert (b.format, b.subtype, b.samplerate, b.channels) == (fmt, subtype, 22050, 2)
    assert (a.frames, a.format) == (b.frames, b.format)
    dtype = "int32" if subtype.startswith("PCM") else "float64"
    np.testing.assert_array_equal(
        soundfile.read(dst, dtype=dtype)[0], soundfile.read(src, dtype=dtype)[0]
    )


def test_cli_audio_subtype_option_and_pipes(runner, tmp_path):
    raw = _wav(np.array([0.5, -0.25, 0.125, 0.0625]))  # no zeros: tau = 1e-300 moves them
    result = runner.invoke(
        cli, [*IDENTITY, "-", "--output-format", "wav", "--subtype", "FLOAT"], input=raw
    )
    assert result.exit_code == 0, result.stderr
    data, rate = soundfile.read(io.BytesIO(result.stdout_bytes))
    assert soundfile.info(io.BytesIO(result.stdout_bytes)).subtype == "FLOAT"
    np.testing.assert_array_equal(data, [0.5, -0.25, 0.125, 0.0625])
    as_csv = runner.invoke(
        cli, [*IDENTITY, "-", "--input-format", "wav", "--output-format", "csv"], input=raw
    )
    assert as_csv.stdout == "# samplerate: 8000\n0.5\n-0.25\n0.125\n0.0625\n"


def test_overshoot_is_clipped_and_counted_not_wrapped(runner, tmp_path):
    x = np.tile([0.9, -0.9], 50)
    src, dst, rep = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "r.json"
    src.write_bytes(_wav(x))
    f = soundfile.read(src, dtype="int32")[0] / 2.0**31
    args = ["diffuse", str(src), "-o", str(dst), "--report", str(rep), "-q"]
    args += ["--diffusivity", "perona-malik", "--lambda", "10", "--tau", "1", "--steps", "3"]
    result = runner.invoke(cli, [*args, "--allow-unstable"])
    assert result.exit_code == 0, result.stderr
    nl = get_nonlinearity("perona-malik", "diffusivity", 10.0)
    v = run_blocks(f, nl.phi, 1.0, 3)
    assert np.abs(v).max() > 1.5  # it did overshoot
    q = np.clip(np.rint(v * 32768), -32768, 32767)
    out = soundfile.read(dst, dtype="int32")[0] >> 16
    np.testing.assert_array_equal(out, q)
    report = json.loads(rep.read_text())
    unclipped = np.rint(v * 32768)
    assert report["clipped"] == int(np.count_nonzero((unclipped > 32767) | (unclipped < -32768)))
    assert report["clipped"] > 0
    assert not report["guarantees_held"]


# --------------------------------------------------------------------------
# Two runs at once (make -j)
# --------------------------------------------------------------------------


def test_two_concurrent_runs_on_the_same_input_agree(tmp_path):
    exe = Path(sys.executable).parent / "resdenoise"
    x = np.sin(np.arange(20000) / 50.0) + np.random.default_rng(5).normal(0, 0.1, 20000)
    src = tmp_path / "in.csv"
    src.write_text("time,v\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(x.tolist())))
    before = src.read_bytes()
    args = ["diffuse", str(src), "--steps", "200", "--lambda", "0.5", "-q"]
    procs = [
        subprocess.Popen(
            [
                str(exe),
                *args,
                "-o",
                str(tmp_path / f"out{k}.csv"),
                "--report",
                str(tmp_path / f"r{k}.json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in (1, 2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert (tmp_path / "out1.csv").read_bytes() == (tmp_path / "out2.csv").read_bytes()
    assert (
        json.loads((tmp_path / "r1.json").read_text())["channels"]
        == json.loads((tmp_path / "r2.json").read_text())["channels"]
    )
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.csv",
        "out1.csv",
        "out2.csv",
        "r1.json",
        "r2.json",
    ]


def test_report_names_the_columns_carried_through(runner, tmp_path):
    src, dst, rep = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "r.json"
    src.write_bytes(b"time,a,b\n0,1.5,2.5\n1,3.5,4.5\n2,5.5,6.5\n")
    args = [*IDENTITY, str(src), "-o", str(dst), "--report", str(rep), "--columns", "b"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(rep.read_text())["carried_columns"] == ["time", "a"]
    assert dst.read_bytes() == src.read_bytes()
