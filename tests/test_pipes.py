"""Pipes: stdin and named FIFOs are read once, streamed above the threshold
through a bounded spool (issue 14, item 4; issue 18, items 2 and 9).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import resdenoise.io.atomic as atomic
import resdenoise.pipeline as pipeline
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
    monkeypatch.setattr(pipeline, "STREAM_THRESHOLD", 1000)
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
