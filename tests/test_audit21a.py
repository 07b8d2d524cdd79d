"""audit21a's findings (the maintainer of a Make-driven CI batch pipeline, paged when data
is corrupted).

A21a-1: a missing input whose output would have its name (``-o DIR/`` beside it, or its own
name) was told "output is the input file; pass --in-place to replace it": a call for
--in-place on a file that is nowhere.  It is "no such file", as any other missing input.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _csv(path, n=64, seed=0):
    x = np.random.default_rng(seed).standard_normal(n)
    path.write_text("x\n" + "".join(f"{float(v)!r}\n" for v in x))
    return path


@pytest.mark.parametrize("out", ["dir", "same"])
def test_missing_input_named_as_its_output_is_no_such_file(tmp_path, out):
    od = tmp_path / "od"
    od.mkdir()
    missing = od / "missing.csv"
    r = _invoke(
        "diffuse", missing, "--steps", "3", "-q", "-o", f"{od}/" if out == "dir" else missing
    )
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == f"Error: {missing}: no such file"
    assert "--in-place" not in r.output
    assert list(od.iterdir()) == []


def test_missing_input_in_a_batch_is_no_such_file(tmp_path):
    od = tmp_path / "od"
    od.mkdir()
    good = _csv(tmp_path / "y.csv")
    missing = od / "missing.csv"
    r = _invoke("diffuse", good, missing, "--steps", "3", "-q", "-o", f"{od}/")
    assert r.exit_code == 1
    assert f"{missing}: no such file" in r.output
    assert "pass --in-place" not in r.output
    assert (od / "y.csv").exists()  # the other file of the batch is written


# A21a-10: a file read whole that another program writes over during the read (``cp`` over
# it: truncated, then written) gave an output mixing the old rows and the new ones, exit 0,
# "guarantees held".  It is refused, as a streamed file that changed between passes is.


def _rewritten_during_read(monkeypatch, module, name, path, new_bytes):
    """Have ``module.name`` (the whole read) write ``new_bytes`` over ``path`` once it has
    read it: the file at the end of the read is another one than at its start."""
    import time

    original = getattr(module, name)

    def reading(*args, **kwargs):
        sig = original(*args, **kwargs)
        time.sleep(0.05)  # past the file system's clock tick: the times differ too
        with open(path, "r+b") as fh:  # as cp: the same inode, written over
            fh.truncate(0)
            fh.write(new_bytes)
        return sig

    monkeypatch.setattr(module, name, reading)


@pytest.mark.parametrize("kind", ["csv", "wav"])
def test_file_written_over_during_a_whole_read_is_refused(tmp_path, monkeypatch, kind):
    import soundfile

    import resdenoise.io.csv as csv_module
    import resdenoise.io.read as read_module

    x = np.random.default_rng(1).standard_normal(256) * 0.1
    src = tmp_path / f"in.{kind}"
    if kind == "csv":
        _csv(src, seed=1)
        other = _csv(tmp_path / "other.csv", seed=2).read_bytes()
        _rewritten_during_read(monkeypatch, csv_module, "read_csv_file", src, other)
    else:
        soundfile.write(src, x, 8000, subtype="PCM_16")
        soundfile.write(tmp_path / "other.wav", -x, 8000, subtype="PCM_16")
        other = (tmp_path / "other.wav").read_bytes()
        _rewritten_during_read(monkeypatch, read_module, "read_audio_file", src, other)
    out = tmp_path / f"out.{kind}"
    r = _invoke("diffuse", src, "--steps", "3", "-q", "-o", out, "--report", tmp_path / "r.json")
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {src}: the file changed while it was read (replaced or written to); "
        "nothing was written; run again once it is no longer being written"
    )
    assert not out.exists() and not (tmp_path / "r.json").exists()


def test_file_read_whole_unchanged_is_read(tmp_path):
    src = _csv(tmp_path / "in.csv")
    r = _invoke("diffuse", src, "--steps", "3", "-q", "-o", tmp_path / "o.csv")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.csv").exists()


# A21a-4: a signal while the finished output was copied to stdout (a pipe whose reader is
# slower than the copy) said "no output written": the reader had a cut WAV (its header
# claiming all the frames).  The line says how much was sent.


def test_signal_during_the_copy_to_a_stdout_pipe_says_it_was_cut(tmp_path):
    import re
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import soundfile

    x = np.random.default_rng(0).standard_normal((300_000, 2)) * 0.1
    src = tmp_path / "mid.wav"
    soundfile.write(src, x, 48000, subtype="FLOAT")
    exe = str(Path(sys.executable).parent / "resdenoise")
    whole = tmp_path / "whole.wav"
    subprocess.run([exe, "diffuse", src, "--steps", "3", "-q", "-o", whole], check=True)
    total = whole.stat().st_size  # the bytes of the output sent whole
    with subprocess.Popen(
        [exe, "diffuse", str(src), "--steps", "3", "-q", "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    ) as proc:
        got = proc.stdout.read(1 << 18)  # the copy has begun: the run is done
        assert len(got) == 1 << 18
        time.sleep(1)  # the writer is blocked on the full pipe again
        proc.send_signal(signal.SIGTERM)
        got += proc.stdout.read()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert len(got) < total  # the reader has a part
    line = err.strip().splitlines()[-1]
    said = re.fullmatch(
        r"Error: interrupted by SIGTERM; stdout cut short: at least (\d+) of its (\d+) bytes "
        r"were sent \(its reader has a partial output\); no other output written",
        line,
    )
    assert said is not None, line
    assert int(said[2]) == total
    assert 0 < int(said[1]) <= len(got)


def test_interrupted_words_for_a_cut_output():
    from resdenoise.cli import _written

    assert _written((), ("-", 0, 900)) == (
        "stdout cut short: the signal came as its first bytes were sent (its reader may "
        "have a part of its 900 bytes); no other output written"
    )
    assert _written(("r.json",), ("/dev/fd/3", 300, 900)) == (
        "/dev/fd/3 cut short: at least 300 of its 900 bytes were sent (its reader has a "
        "partial output); r.json written, nothing else"
    )
    assert _written(()) == "no output written"


# A21a-9: --in-place wrote a file as its name says, not as it is: a PCM WAV named .mp3 or
# .ogg became a lossy MP3 or Vorbis, a float WAV named .flac 24-bit FLAC (exit 0, "guarantees
# held"); a comma-separated file named .tsv became tab-separated.  The audio is refused
# (exit 2, the file untouched); the CSV keeps its commas.


@pytest.mark.parametrize(
    ("name", "subtype", "named"),
    [("rec.mp3", "PCM_16", "MP3"), ("rec.ogg", "PCM_16", "OGG"), ("m.flac", "FLOAT", "FLAC")],
)
def test_in_place_refuses_audio_whose_name_says_another_format(tmp_path, name, subtype, named):
    import soundfile

    x = np.random.default_rng(3).standard_normal((4000, 2)) * 0.1
    path = tmp_path / name
    soundfile.write(path, x, 8000, subtype=subtype, format="WAV")
    before = path.read_bytes()
    r = _invoke("diffuse", path, "--steps", "3", "-q", "--in-place")
    assert r.exit_code == 2, r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {path}: --in-place keeps the file's format, but it is WAV ({subtype}) named "
        f"{path.suffix}, and would be written as {named}; rename it to .wav, or write {named} "
        "to another file (-o)"
    )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("name", ["a.wav", "a.rf64"])
def test_in_place_keeps_audio_named_as_it_is(tmp_path, name):
    import soundfile

    x = np.random.default_rng(3).standard_normal(4000) * 0.1
    path = tmp_path / name
    soundfile.write(path, x, 8000, subtype="PCM_16", format="WAV")  # RF64 holds a WAV's header
    r = _invoke("diffuse", path, "--steps", "3", "-q", "--in-place")
    assert r.exit_code == 0, r.output
    assert soundfile.info(path).format in ("WAV", "RF64")


def test_in_place_keeps_a_comma_file_named_tsv_comma_separated(tmp_path):
    path = tmp_path / "c.tsv"
    x = np.random.default_rng(4).standard_normal((64, 2))
    path.write_text("a,b\n" + "".join(f"{float(u)!r},{float(v)!r}\n" for u, v in x))
    r = _invoke("diffuse", path, "--steps", "3", "-q", "--in-place")
    assert r.exit_code == 0, r.output
    lines = path.read_text().splitlines()
    assert lines[0] == "a,b"
    assert all(line.count(",") == 1 and "\t" not in line for line in lines[1:])
    assert len(lines) == 65
    # written to another .tsv, it is tab-separated, as the README says
    out = tmp_path / "o.tsv"
    r = _invoke("diffuse", path, "--steps", "3", "-q", "-o", out)
    assert r.exit_code == 0, r.output
    assert out.read_text().splitlines()[0] == "a\tb"


# A21a-5: --in-place on a log that a logger keeps open: the logger's writes after the rename
# went to the old file, unlinked: lost, exit 0.  While another process has the file open for
# writing (a read lease is refused: Linux), the file is not replaced.

_HOLDER = """
import sys
f = open(sys.argv[1], "a")
print("open", flush=True)
sys.stdin.read()
f.write("7,7\\n")
"""


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_SETLEASE"), reason="Linux leases")
def test_in_place_refuses_a_file_another_process_holds_open_for_writing(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "log.csv"
    log.write_text("t,v\n" + "".join(f"{i},{i % 5}\n" for i in range(7)))
    before = log.read_bytes()
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as logger:
        assert logger.stdout.readline() == "open\n"
        r = _invoke("diffuse", log, "--steps", "3", "-q", "--in-place")
        logger.communicate("")  # it writes its row and closes the file
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {log}: another program has the file open for writing (a logger?), and what "
        "it writes after the replacement would be lost; it was not replaced: stop it first, "
        "or filter a copy with -o"
    )
    assert log.read_bytes() == before + b"7,7\n"  # the logger's row is in the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]
    r = _invoke("diffuse", log, "--steps", "3", "-q", "--in-place")  # closed: replaced
    assert r.exit_code == 0, r.output
    assert log.read_bytes() != before + b"7,7\n"


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_SETLEASE"), reason="Linux leases")
@pytest.mark.parametrize("chunk", [0, 3], ids=["whole", "streamed"])
def test_in_place_refuses_a_file_opened_for_writing_during_the_run(tmp_path, chunk):
    """A logger that opens the file while the run filters it, and has written nothing yet
    when the replacement is due: the file's size and times are as they were."""
    from resdenoise.errors import SignalError
    from resdenoise.pipeline import RunOptions, run_file
    from resdenoise.plans import planner

    log = tmp_path / "log.csv"
    log.write_text("t,v\n" + "".join(f"{i},{i % 5}\n" for i in range(9)))
    before = log.read_bytes()
    base = planner("diffuse", "perona-malik", lam=2.0, steps=3)
    held = []

    def opening(x, **named):  # a logger opens the file meanwhile, and keeps it open
        held.append(open(log, "a"))  # noqa: SIM115 - closed below
        return base(x, **named)

    try:
        with pytest.raises(SignalError, match="open for writing"):
            run_file(opening, str(log), in_place=True, run=RunOptions(chunk_size=chunk))
    finally:
        for fh in held:
            fh.close()
    assert log.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


# A21a-3: one CRLF line in an LF file made every line of the output CRLF.  The output ends
# its lines as most of the input's lines end (CRLF where as many end either way).


@pytest.mark.parametrize("chunk", [None, "2"], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("a,b\n1,2\n3,4\r\n5,6\n7,8\n", "\n"),  # one CRLF among LF
        ("a,b\r\n1,2\r\n3,4\n5,6\r\n7,8\r\n", "\r\n"),  # one LF among CRLF
        ("a,b\r1,2\r3,4\r5,6\r", "\r"),  # old Mac
        ("a,b\r\n1,2\n3,4\r\n5,6\n", "\r\n"),  # as many: CRLF, as before
    ],
)
def test_output_line_ends_follow_most_of_the_input(tmp_path, text, end, chunk):
    src = tmp_path / "cr.csv"
    src.write_bytes(text.encode())
    out = tmp_path / "o.csv"
    extra = [] if chunk is None else ["--chunk-size", chunk]
    r = _invoke("diffuse", src, "--steps", "3", "--time-column", "none", "-q", "-o", out, *extra)
    assert r.exit_code == 0, r.output
    body = out.read_bytes().decode()
    lines = body.split(end)
    assert lines[-1] == "" and len(lines) == text.count(",") + 1
    assert all("\r" not in line and "\n" not in line for line in lines)


# A21a-8: a Ctrl-C while the package's first line imported ``signal`` (the handlers came
# after it) was Python's KeyboardInterrupt traceback.  The handlers come before the package
# imports any module: every module it loads is loaded with them in place.

_FIRST_IMPORT = """
import _signal
import sys

seen = []


class Watch:
    def find_spec(self, name, path=None, target=None):
        seen.append((name, _signal.getsignal(_signal.SIGINT)))
        return None


sys.argv[0] = "resdenoise"  # the program, as its console script is
sys.meta_path.insert(0, Watch())
import resdenoise

first = [(n, h) for n, h in seen if n != "resdenoise"][0]
print(first[0], first[1] is _signal.default_int_handler)
"""


def test_the_start_up_handler_comes_before_any_import_of_the_package():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-c", _FIRST_IMPORT], capture_output=True, text=True, check=True
    )
    name, default = r.stdout.split()
    assert default == "False", f"{name} imported with Python's Ctrl-C handler"


# A21a-6 (its wording parts): a worker killed by a signal was "the worker process died (exit
# code -9)", Python's return code; --json with one INPUT and -o DIR/ said "several INPUTs".


def test_a_killed_worker_is_said_killed_by_its_signal():
    from resdenoise.batch_pool import _death

    assert _death(-9) == (
        "was killed by SIGKILL (signal 9: the system's out-of-memory killer, or a kill -9?)"
    )
    assert _death(-11) == "was killed by SIGSEGV (signal 11)"
    assert _death(9) == "died (exit code 9)"


def test_json_with_one_input_and_an_output_directory_says_what_was_given(tmp_path):
    src = _csv(tmp_path / "a.csv")
    r = _invoke("diffuse", src, "--steps", "3", "-o", f"{tmp_path}/fo/", "--json")
    assert r.exit_code == 2
    assert "--json prints one report; with -o DIR/ (a batch) use --report DIR/" in r.output
    assert "several INPUTs" not in r.output
