"""benchmarks/bench_memory.py's ``--no-auto``: the streaming threshold's comparisons
without the automatic stopping time's rows (most of their time).  The runs are not
made: the child processes and files are stand-ins."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_memory  # noqa: E402


@pytest.mark.parametrize("auto", [True, False])
def test_no_auto_leaves_the_automatic_rows_out(tmp_path, monkeypatch, capsys, auto):
    runs = []
    monkeypatch.setattr(bench_memory, "write_wav", lambda path, mib: None)
    monkeypatch.setattr(bench_memory, "usage_of", lambda args: runs.append(args) or (1, 1, 1, 0))
    bench_memory.threshold_step(str(tmp_path), 2, auto=auto)
    timed = [args for args in runs if "--time" in args and "auto" in args]
    assert len(timed) == (4 if auto else 0)  # two sizes, two rounds
    assert len(runs) - len(timed) == 2 * 9  # -q: 4 sizes, --report: 5
    assert (" auto |" in capsys.readouterr().out) == auto


def test_the_switch_is_on_the_command_line():
    assert bench_memory.parser().parse_args(["--no-auto"]).no_auto
    assert not bench_memory.parser().parse_args([]).no_auto
