"""Operator use (audit11b): outputs of concurrent runs, names at the length limit, a
deleted working directory, stdin and ``-o DIR/``, a full stdout, OGG reruns."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time

from resdenoise.io import atomic, write_files_atomic

# --------------------------------------------------------------------------
# Two runs writing the same output and report at once: the last wins as a whole
# --------------------------------------------------------------------------

_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _probe(directory) -> str:
    """Whether another process can lock ``directory`` now: ``held`` or ``free``."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(directory)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_the_renames_of_a_group_hold_the_directory_lock(tmp_path, monkeypatch):
    """Before: the output and the report were renamed one after the other with nothing
    held, so another run's renames could fall between them; now the target directory
    is locked (flock, no file made) across the group's renames, and free after."""
    real, seen = os.replace, []

    def replace(src, dst):
        seen.append(_probe(tmp_path))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    write_files_atomic([(tmp_path / "o.csv", b"1\n"), (tmp_path / "r.json", b"{}")])
    assert seen == ["held", "held"]
    assert _probe(tmp_path) == "free"
    assert sorted(os.listdir(tmp_path)) == ["o.csv", "r.json"]  # nothing else made
    seen.clear()
    write_files_atomic([(tmp_path / "o.csv", b"2\n")])  # one rename is atomic: no lock
    assert seen == ["free"]


def test_two_directories_are_both_locked(tmp_path, monkeypatch):
    """An output and a report in two directories: both held across the renames."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real, seen = os.replace, []

    def replace(src, dst):
        seen.append((_probe(tmp_path / "a"), _probe(tmp_path / "b")))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    write_files_atomic([(tmp_path / "a" / "o.csv", b"1\n"), (tmp_path / "b" / "r.json", b"{}")])
    assert seen == [("held", "held")] * 2


_PAUSE = {"after_first": 0.0}


def _racer(which: int, directory: str, rounds: int, barrier) -> None:
    """One of two runs writing ``o.csv`` and ``r.json`` each round (run 0 pauses between
    its renames, run 1 starts a little later: its renames fall in run 0's pause)."""
    _PAUSE["after_first"] = 0.05 if which == 0 else 0.0
    for k in range(rounds):
        barrier.wait()
        if which == 1:
            time.sleep(0.01)
        tag = f"{which}:{k}".encode()
        write_files_atomic([(os.path.join(directory, "o.csv"), tag), (directory + "/r.json", tag)])
        barrier.wait()  # the parent compares the two files
        barrier.wait()


def test_two_runs_racing_leave_one_runs_pair(tmp_path, monkeypatch):
    """Before: run 1's signal and report renamed between run 0's two renames left run 1's
    o.csv beside run 0's r.json; now the second waits for the lock: the pair is one run's."""
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if str(dst).endswith("o.csv") and _PAUSE["after_first"]:
            time.sleep(_PAUSE["after_first"])

    monkeypatch.setattr(atomic.os, "replace", replace)
    context = multiprocessing.get_context("fork")
    rounds = 8
    barrier = context.Barrier(3, timeout=60)
    racers = [
        context.Process(target=_racer, args=(i, str(tmp_path), rounds, barrier)) for i in (0, 1)
    ]
    for racer in racers:
        racer.start()
    pairs = []
    try:
        for _ in range(rounds):
            barrier.wait()  # start
            barrier.wait()  # both written
            pairs.append(((tmp_path / "o.csv").read_bytes(), (tmp_path / "r.json").read_bytes()))
            barrier.wait()
    finally:
        for racer in racers:
            racer.join(60)
    assert [r.exitcode for r in racers] == [0, 0]
    assert all(o == r for o, r in pairs), pairs
    assert sorted(os.listdir(tmp_path)) == ["o.csv", "r.json"]
