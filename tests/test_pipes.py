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
