"""Pipes: stdin and named FIFOs are read once, streamed above the threshold
through a bounded spool (issue 14, item 4; issue 18, items 2 and 9).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import resdenoise.io.atomic as atomic
import resdenoise.stream_choice as stream_choice
from resdenoise.errors import SignalError
from resdenoise.pipeline import RunOptions, planner, run_file

EXE = str(Path(sys.executable).parent / "resdenoise")
MAKE_PLAN = planner("diffuse", "linear", lam=1.0, steps=3)


def _csv(n: int = 2000) -> bytes:
    x = np.sin(np.arange(n) / 30.0)
    return ("v\n" + "".join(f"{v!r}\n" for v in x.tolist())).encode()


class _Stdin:
    def __init__(self, raw):
        self.buffer = raw


def test_stdin_above_the_threshold_is_streamed(tmp_path, monkeypatch):
    data = _csv()
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 1000)
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(data)))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()
    out = tmp_path / "out.csv"
    report = run_file(MAKE_PLAN, "-", str(out))
    assert report.get("streaming"), "stdin above the threshold was read whole"
    whole = tmp_path / "whole.csv"
    (tmp_path / "in.csv").write_bytes(data)
    run_file(MAKE_PLAN, str(tmp_path / "in.csv"), str(whole), run=RunOptions(chunk_size=0))
    assert out.read_bytes() == whole.read_bytes()
    assert list((tmp_path / "spool").iterdir()) == []  # the spool is gone


def test_stdin_below_the_threshold_is_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(_csv(50))))
    report = run_file(MAKE_PLAN, "-", str(tmp_path / "out.csv"))
    assert not report.get("streaming")


class _Endless(io.RawIOBase):
    """A stdin that never ends (gives up after ``limit`` bytes, so a test cannot hang)."""

    def __init__(self, limit: int):
        self.left = limit

    def readable(self):
        return True

    def readinto(self, b):
        if self.left <= 0:
            raise OSError("the test's endless stdin gave up")
        n = min(len(b), self.left)
        b[:n] = (b"0.5\n" * (n // 4 + 1))[:n]
        self.left -= n
        return n


def test_endless_stdin_spool_is_bounded_by_free_space(tmp_path, monkeypatch):
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BufferedReader(_Endless(256 << 20))))
    # a disk with 40 MiB free: the spool stops before it fills it
    free = lambda directory, written: (40 << 20) - written  # noqa: E731
    monkeypatch.setattr(atomic, "_free_bytes", free, raising=False)
    with pytest.raises(SignalError, match=r"<stdin>: .*free space"):
        run_file(MAKE_PLAN, "-", str(tmp_path / "out.csv"), run=RunOptions(chunk_size=1000))
    assert list(spool.iterdir()) == []
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_named_fifo_with_chunk_size_is_read_once(tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    data = _csv()
    (tmp_path / "plain.csv").write_bytes(data)
    out, expected = tmp_path / "out.csv", tmp_path / "expected.csv"
    args = ["diffuse", "--steps", "3", "--lambda", "1", "-q", "--chunk-size", "500"]
    subprocess.run([EXE, *args, str(tmp_path / "plain.csv"), "-o", str(expected)], check=True)

    def feed():
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    proc = subprocess.run([EXE, *args, str(fifo), "-o", str(out)], capture_output=True, timeout=60)
    writer.join(5)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == expected.read_bytes()


def test_stdin_under_another_name_cannot_be_the_input_and_the_reference(tmp_path):
    """``- --reference /dev/stdin`` read the pipe twice: the reference was empty
    ('file is empty'); only the literal ``-`` twice was refused."""
    out = tmp_path / "o.csv"
    args = [EXE, "diffuse", "-", "--reference", "/dev/stdin", "--steps", "1", "-o", str(out)]
    done = subprocess.run(args, input=_csv(50), capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[-1] == (
        "Error: the input and the reference are both stdin ('-'), which is read once; give "
        "the reference a file name"
    )
    assert not out.exists()


def test_a_batch_refuses_stdin_as_the_reference_of_every_file(tmp_path):
    """``a.csv b.csv -o out/ --reference -`` read stdin once per file: every file after
    the first failed with '<stdin>: file is empty'."""
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_bytes(_csv(50))
    out = tmp_path / "out"
    args = [EXE, "diffuse", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "-o", f"{out}/"]
    done = subprocess.run(
        [*args, "--reference", "-", "--steps", "1"], input=_csv(50), capture_output=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[-1] == (
        "Error: stdin ('-') is read once, and each file of a batch reads its reference; "
        "give the reference a file name (see 'resdenoise diffuse --help')"
    )
    assert not out.exists() or list(out.iterdir()) == []


def test_a_batch_refuses_a_fifo_as_the_reference_of_every_file(tmp_path):
    """A named FIFO as the reference of a batch: the second file waited forever for a
    writer (the first had read it)."""
    fifo = tmp_path / "ref"
    os.mkfifo(fifo)
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_bytes(_csv(50))
    args = [EXE, "diffuse", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    args += ["-o", f"{tmp_path}/out/", "--reference", str(fifo), "--steps", "1"]
    done = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[-1] == (
        f"Error: the pipe {fifo} is read once, and each file of a batch reads its reference; "
        "give the reference a file name (see 'resdenoise diffuse --help')"
    )


def _closed_pipe_run(args, cwd, read: int | None):
    """Run the program with stdout into a pipe whose reader takes ``read`` bytes and
    closes it (None: closed before the program writes anything); stderr kept apart."""
    env = {**os.environ, "TMPDIR": str(cwd / "spool")}
    r, w = os.pipe()
    if read is None:
        os.close(r)
    try:
        proc = subprocess.Popen([EXE, *args], cwd=cwd, stdout=w, stderr=subprocess.PIPE, env=env)
    finally:
        os.close(w)
    if read is not None:
        got = b""
        while len(got) < read:
            block = os.read(r, read - len(got))
            assert block, "the program ended before writing what was read"
            got += block
        os.close(r)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize(
    "args, read",
    [
        (["diffuse", "big.csv", "--steps", "1"], 100),  # as | head -c 100
        (["diffuse", "big.wav", "--steps", "1", "-o", "-"], 100),
        (["diffuse", "big.csv", "--steps", "1", "--chunk-size", "5000", "-o", "-"], 100),
        (["diffuse", "big.csv", "--steps", "1", "-o", "out.csv", "--report", "-"], None),
        (["diffuse", "big.csv", "--steps", "1", "-o", "out.csv", "--json"], None),
        (["dictionary"], None),
    ],
)
def test_a_reader_that_closes_the_pipe_ends_the_run_quietly_with_141(tmp_path, args, read):
    """``resdenoise ... | head``: was 'Error: <stdout>: cannot write: Broken pipe', exit 1;
    now no word at all and 141 (128 + SIGPIPE, as the shell shows for ``yes | head``),
    no temporary left and, all or nothing, no other output either."""
    import soundfile

    (tmp_path / "spool").mkdir()
    x = np.sin(np.arange(40000) / 30.0)
    (tmp_path / "big.csv").write_text("v\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    soundfile.write(tmp_path / "big.wav", 0.5 * np.column_stack([x, x]), 8000, subtype="PCM_16")
    code, err = _closed_pipe_run(args, tmp_path, read)
    assert (code, err.decode()) == (141, "")
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "big.wav", "spool"]
    assert os.listdir(tmp_path / "spool") == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["diffuse", "--help"],
        ["shrink", "s.csv"],
        ["regularise", "s.csv", "--alpha", "1"],
        ["resnet", "s.csv", "--lambda", "1", "--blocks", "2"],
        ["denoise", "s.csv"],
        ["diffuse", "s.csv", "--steps", "2", "-v", "-o", "-"],
        ["translate", "--diffusivity", "charbonnier"],
        ["translate", "--diffusivity", "charbonnier", "--json"],
        ["learn", "s.csv", "--clean", "s.csv", "-o", "n.toml", "--json", "--blocks", "2"],
    ],
)
def test_every_command_ends_quietly_with_141_on_a_closed_stdout_pipe(tmp_path, args):
    """The README's exit codes: 141, no message (no traceback), nothing written, for
    every command that writes on stdout (``resdenoise ... | head -c 10`` where the
    reader has gone before the first byte)."""
    (tmp_path / "spool").mkdir()
    (tmp_path / "s.csv").write_bytes(_csv(300))
    code, err = _closed_pipe_run(args, tmp_path, None)
    assert (code, err.decode()) == (141, "")
    assert sorted(os.listdir(tmp_path)) == ["s.csv", "spool"]


def _group_run(runner, monkeypatch, body):
    """The program with a command ``probe`` that runs ``body`` outside any command's own
    handling of library errors (as a table or JSON written after it would)."""
    import click

    from resdenoise.cli import cli

    monkeypatch.setitem(cli.commands, "probe", click.Command("probe", callback=body))
    return runner.invoke(cli, ["probe"])


def test_a_closed_pipe_outside_a_commands_own_handling_ends_quietly_with_141(runner, monkeypatch):
    """leftovers12: the group mapped library errors to exit codes apart from
    library_errors, without its closed-pipe case: a PipeClosed that reached it printed
    'Error: <stdout>: cannot write: the reader closed the pipe' (exit 141); now the one
    mapping, quiet; BrokenPipeError within library_errors as well (it passed through)."""
    from resdenoise.cli.options import library_errors
    from resdenoise.errors import PipeClosed

    def closed():
        raise PipeClosed("<stdout>: cannot write: the reader closed the pipe")

    def broken():
        with library_errors():
            raise BrokenPipeError(32, "Broken pipe")

    for body in (closed, broken):
        result = _group_run(runner, monkeypatch, body)
        assert (result.exit_code, result.stderr, result.stdout) == (141, "", "")
        assert not isinstance(result.exception, BrokenPipeError)


def test_the_group_maps_other_library_errors_as_library_errors_does(runner, monkeypatch):
    from resdenoise.errors import ParameterError, SignalError

    def refused():
        raise ParameterError("lam must be a finite number > 0", parameters=["lam"])

    def unreadable():
        raise SignalError("x.csv: cannot read")

    result = _group_run(runner, monkeypatch, refused)
    assert (result.exit_code, result.stderr) == (2, "Error: --lambda must be a finite number > 0\n")
    result = _group_run(runner, monkeypatch, unreadable)
    assert (result.exit_code, result.stderr) == (1, "Error: x.csv: cannot read\n")


def test_a_closed_stderr_ends_the_run_with_141(tmp_path):
    """The verdict and tables to a stderr whose reader is gone: 141, not rich's exit 1."""
    (tmp_path / "in.csv").write_bytes(_csv(200))
    r, w = os.pipe()
    os.close(r)
    try:
        args = [EXE, "diffuse", "in.csv", "--steps", "1", "-o", "out.csv", "-v"]
        proc = subprocess.run(args, cwd=tmp_path, stderr=w, timeout=120)
    finally:
        os.close(w)
    assert proc.returncode == 141
    assert (tmp_path / "out.csv").exists()  # written before the verdict was shown


def test_a_closed_pipe_under_a_runner_without_descriptors(runner, tmp_path, monkeypatch):
    """The same quiet 141 where stdout and stderr have no file descriptor (a harness);
    the library says what happened: PipeClosed, a SignalError with that exit code."""
    from resdenoise.cli import cli
    from resdenoise.errors import PipeClosed

    def closed(stream, block):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(atomic, "_write_all", closed)
    (tmp_path / "in.csv").write_bytes(_csv(50))
    result = runner.invoke(cli, ["diffuse", str(tmp_path / "in.csv"), "--steps", "1"])
    assert (result.exit_code, result.stderr, result.stdout) == (141, "", "")
    with pytest.raises(PipeClosed, match=r"^<stdout>: cannot write: the reader closed the pipe$"):
        run_file(MAKE_PLAN, str(tmp_path / "in.csv"), "-")
    assert issubclass(PipeClosed, SignalError) and PipeClosed.exit_code == 141


def _closing(*fds):
    """A child's set-up that closes ``fds`` before the program starts (``2>&-``, ``<&-``)."""

    def close():
        for fd in fds:
            os.close(fd)

    return close


def test_a_run_started_with_stderr_closed_writes_its_output(tmp_path):
    """``2>&-``: Python's sys.stderr is None, and the run failed on it ('internal error:
    AttributeError ... isatty', exit 1, no output); now its messages go nowhere and the
    output is written, the same bytes as with stderr open.  Also ``2>&- >&-``."""
    (tmp_path / "in.csv").write_bytes(_csv(500))
    args = [EXE, "diffuse", "in.csv", "--steps", "3", "-o"]
    subprocess.run([*args, "open.csv"], cwd=tmp_path, check=True, capture_output=True)
    for name, fds in (("closed.csv", (2,)), ("both.csv", (1, 2))):
        done = subprocess.run([*args, name], cwd=tmp_path, preexec_fn=_closing(*fds), timeout=60)
        assert done.returncode == 0, name
        assert (tmp_path / name).read_bytes() == (tmp_path / "open.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "both.csv",
        "closed.csv",
        "in.csv",
        "open.csv",
    ]


@pytest.mark.parametrize("extra", [[], ["--input-format", "csv"]])
def test_stdin_closed_is_one_line_not_a_bug(tmp_path, extra):
    """``<&-`` with INPUT '-': 'internal error: AttributeError' (the streamed reader) or
    "cannot read: 'NoneType' object has no attribute 'buffer'"; now one line that says
    stdin is closed, exit 1, nothing written."""
    args = [EXE, "diffuse", "-", *extra, "--steps", "3", "-o", "o.csv"]
    done = subprocess.run(
        args, cwd=tmp_path, preexec_fn=_closing(0), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == "Error: <stdin>: cannot read: stdin is closed; give an input file\n"
    assert list(tmp_path.iterdir()) == []


def _batch_inputs(tmp_path, n=3):
    for i in range(n):
        (tmp_path / f"f{i}.csv").write_bytes(_csv(300 + i))
    return [f"f{i}.csv" for i in range(n)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_stderr_on_a_full_disk_does_not_stop_a_batch(tmp_path, jobs):
    """``2>/dev/full`` (a CI log volume that filled up): the first message failed with
    ENOSPC, 'internal error ... (a bug)', exit 1 and the batch stopped after its first
    file; now the messages go nowhere, as with ``2>&-``, and every file is written."""
    names = _batch_inputs(tmp_path)
    args = [EXE, "diffuse", *names, "--steps", "3", "--jobs", jobs, "-v", "-o", "out/"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(args, cwd=tmp_path, stderr=full, timeout=120)
    assert done.returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == names


def test_a_stderr_on_a_full_disk_does_not_lose_a_training(tmp_path):
    t = np.linspace(0.0, 1.0, 160)
    clean = np.sign(np.sin(2 * np.pi * 2 * t))
    noisy = clean + 0.3 * np.cos(37 * t)
    for name, data in (("noisy.csv", noisy), ("clean.csv", clean)):
        (tmp_path / name).write_text("".join(f"{float(x)!r}\n" for x in data))
    args = [EXE, "learn", "noisy.csv", "--clean", "clean.csv", "-o", "n.toml"]
    args += ["--groups", "2", "--blocks", "3", "--bumps", "4", "--iterations", "4"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(args, cwd=tmp_path, stderr=full, timeout=300)
    assert done.returncode == 0
    assert (tmp_path / "n.toml").stat().st_size > 0


def test_a_terminal_gone_without_sighup_does_not_stop_a_batch(tmp_path):
    """stderr (and stdout) a terminal whose master side is closed, SIGHUP not sent or
    ignored (``& disown``, ``setsid``, a CI runner's pty): every write gives EIO.  The
    batch stopped at its first line ('internal error: OSError: [Errno 5]'); now it runs
    to its end, quietly."""
    import pty
    import signal

    names = _batch_inputs(tmp_path)
    master, slave = pty.openpty()
    os.close(master)  # the terminal is gone before the program writes anything
    try:
        done = subprocess.run(
            [EXE, "diffuse", *names, "--steps", "3", "-o", "out/"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
            timeout=120,
        )
    finally:
        os.close(slave)
    assert done.returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == names


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1"])
def test_stdout_by_name_keeps_the_input_format_as_dash_does(tmp_path, name):
    """``-o /dev/stdout`` wrote a WAV input as CSV (no extension: CSV), where ``-o -``
    keeps WAV; a name of stdout without an extension is now stdout in every way."""
    import soundfile

    x = 0.3 * np.sin(np.arange(800) / 9.0)
    soundfile.write(tmp_path / "in.wav", x, 8000, subtype="PCM_16")
    args = [EXE, "diffuse", "in.wav", "--steps", "3", "-q", "-o"]
    dash = subprocess.run([*args, "-"], cwd=tmp_path, capture_output=True, timeout=60)
    named = subprocess.run([*args, name], cwd=tmp_path, capture_output=True, timeout=60)
    assert (dash.returncode, named.returncode, named.stderr) == (0, 0, b"")
    assert named.stdout[:4] == b"RIFF" and named.stdout == dash.stdout


def _wav_bytes(tmp_path, frames=800) -> bytes:
    import soundfile

    x = 0.3 * np.sin(np.arange(frames) / 9.0)
    soundfile.write(tmp_path / "plain.wav", x, 8000, subtype="PCM_16")
    return (tmp_path / "plain.wav").read_bytes()


@pytest.mark.parametrize("extra", [[], ["--chunk-size", "0"], ["--chunk-size", "300"]])
def test_audio_through_a_fifo_without_extension_is_told_by_its_bytes(tmp_path, extra):
    """A FIFO without an extension (as ``<(cat x.wav)``'s ``/dev/fd/63``) was read as CSV
    ('not a text file ... give an audio file a .wav/.flac extension', which such a name
    cannot be given); now its first bytes tell, as stdin's do."""
    data = _wav_bytes(tmp_path)
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)
    args = [EXE, "diffuse", "--steps", "3", "-q", *extra]
    subprocess.run([*args, "plain.wav", "-o", "expected.wav"], cwd=tmp_path, check=True)

    def feed():
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    proc = subprocess.run(
        [*args, "stream", "-o", "out.wav"], cwd=tmp_path, capture_output=True, timeout=60
    )
    writer.join(5)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.wav").read_bytes() == (tmp_path / "expected.wav").read_bytes()


def test_process_substitution_of_audio_is_audio(tmp_path):
    """The same through an inherited pipe named /dev/fd/N (bash's ``<(...)``)."""
    data = _wav_bytes(tmp_path)
    r, w = os.pipe()
    args = [EXE, "diffuse", "--steps", "3", "-q"]
    subprocess.run([*args, "plain.wav", "-o", "expected.wav"], cwd=tmp_path, check=True)
    writer = threading.Thread(target=lambda: (os.write(w, data), os.close(w)), daemon=True)
    writer.start()
    try:
        proc = subprocess.run(
            [*args, f"/dev/fd/{r}", "-o", "out.wav"],
            cwd=tmp_path,
            pass_fds=(r,),
            capture_output=True,
            timeout=60,
        )
    finally:
        os.close(r)
    writer.join(5)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.wav").read_bytes() == (tmp_path / "expected.wav").read_bytes()


def test_audio_from_a_fifo_is_not_written_to_a_terminal(tmp_path):
    """Told to be audio by its bytes, a FIFO's signal would go to a terminal as audio
    bytes: refused as stdin's audio is (exit 2), nothing written."""
    import pty

    data = _wav_bytes(tmp_path)
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)

    def feed():
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [EXE, "diffuse", "--steps", "3", "-q", "stream"],
            cwd=tmp_path,
            stdout=slave,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    writer.join(5)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"Error: {fifo.name}: stdout is a terminal and the output is audio; give an output "
        "file, pipe it on, or --output-format csv for the numbers\n"
    )


def test_a_file_name_that_is_not_utf8_is_spelt_with_byte_escapes_in_json(tmp_path):
    """``lat\\xe9.csv`` (Latin-1 bytes) went into the JSON report as the lone surrogate
    ``"lat\\udce9.csv"``, which strict JSON readers refuse or turn into U+FFFD (``jq``):
    now as ``lat\\\\xe9.csv`` (backslash, x, two hex digits); a UTF-8 name as it is."""
    import json

    (tmp_path / "café.csv").write_bytes(_csv(200))
    os.rename(tmp_path / "café.csv", os.fsencode(tmp_path) + b"/lat\xe9.csv")
    args = [EXE, "diffuse", b"lat\xe9.csv", "--steps", "3", "-q", "-o", "caf\u00e9.csv"]
    done = subprocess.run([*args, "--json"], cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("utf-8")
    assert "\\ud" not in text  # no lone surrogate, escaped or not
    report = json.loads(text)
    assert (report["input"], report["output"]) == ("lat\\xe9.csv", "café.csv")


def test_a_full_non_blocking_stderr_pipe_loses_no_line(tmp_path):
    """stderr a pipe with O_NONBLOCK set (some parents hand one over) whose reader is
    slow: Python's stderr dropped what did not fit (the batch's last line, an ``Error:``
    line); now the program waits for the reader, as with a blocking pipe."""
    import fcntl
    import time

    names = _batch_inputs(tmp_path, 4)
    r, w = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        proc = subprocess.Popen(
            [EXE, "diffuse", *names, "--steps", "3", "-v", "-o", "out/"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=w,
        )
    finally:
        os.close(w)
    time.sleep(3.0)  # the reader is busy meanwhile
    with os.fdopen(r, "rb") as reader:
        text = reader.read().decode()
    assert proc.wait(120) == 0
    assert len(text) > 4096
    assert text.rstrip("\n").endswith("4 files: 4 written")


def test_a_full_non_blocking_stdout_pipe_gets_the_whole_output(tmp_path):
    """stdout a pipe with O_NONBLOCK set whose reader is slow: the run failed with
    ``<stdout>: cannot write: nothing written`` after 64 KiB had gone out; now it waits
    for the reader, as with a blocking pipe, and the reader gets every byte."""
    import fcntl
    import time

    np.savetxt(tmp_path / "long.csv", np.sin(np.arange(20000) / 50.0))
    command = [EXE, "diffuse", "long.csv", "--steps", "3", "-q", "-o", "-"]
    blocking = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert blocking.returncode == 0, blocking.stderr
    assert len(blocking.stdout) > 8 * 4096
    r, w = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=w, stderr=subprocess.PIPE)
    finally:
        os.close(w)
    time.sleep(3.0)  # the reader is busy meanwhile
    with os.fdopen(r, "rb") as reader:
        data = reader.read()
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.wait(120) == 0, stderr
    assert data == blocking.stdout
