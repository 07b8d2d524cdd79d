"""Waiting (issue 14, item 8): progress of the automatic search, the warning of
a capped search, bars with percentage, rate and ETA, silence off a terminal
(Ctrl-C's exit code 130 is tested with the other signals, in test_signals.py)."""

from __future__ import annotations

import io
import itertools
import os
import re
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import resdenoise
from resdenoise import autoparams
from resdenoise.autoparams import choose_parameters
from resdenoise.cli import cli


@pytest.fixture
def noisy(rng):
    t = np.linspace(0, 1, 300)
    return np.sign(np.sin(7 * t)) + 0.3 * rng.standard_normal(t.size)


@pytest.fixture
def src(tmp_path, noisy):
    path = tmp_path / "in.csv"
    path.write_text("\n".join(repr(float(x)) for x in noisy) + "\n")
    return path


def test_the_search_reports_its_progress(noisy):
    seen = []
    choice = choose_parameters(
        noisy, "perona-malik", "diffusivity", progress=lambda *a: seen.append(a)
    )
    phases = [p for p, _, _ in seen]
    n = len(autoparams.LAMBDA_FACTORS)
    assert phases[0] == f"search 1/{n}" and all(p.startswith("search ") for p in phases)
    first = [(k, end) for p, k, end in seen if p == f"search 1/{n}"]
    assert [k for k, _ in first] == sorted(k for k, _ in first)  # blocks only go forward
    assert all(end == autoparams.MAX_BLOCKS for _, end in first[:-1])  # of at most the cap
    assert first[-1][0] == first[-1][1]  # done where it stopped (the cap, or before)
    assert len(set(phases)) == len(choice.candidates)


def test_one_lambda_is_one_phase(noisy):
    seen = []
    choose_parameters(noisy, "tanh", "activation", lam=1.0, progress=lambda *a: seen.append(a))
    assert {p for p, _, _ in seen} == {"search"}


def capped(monkeypatch):
    """A cap so low that the search on ``noisy`` reaches it."""
    monkeypatch.setattr(autoparams, "MAX_BLOCKS", 30)


def test_a_capped_search_warns_on_the_command_line(monkeypatch, src, tmp_path):
    capped(monkeypatch)
    args = ["diffuse", str(src), "--time", "auto", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].endswith(": guarantees held")  # the verdict leads, the warning follows
    warning = lines[2]  # one line, however wide the terminal
    assert warning.startswith("warning: the automatic search stopped at its cap of 30 blocks")
    assert warning.endswith("(give the number of blocks to go further)")
    quiet = CliRunner().invoke(cli, [*args, "-q"])
    assert quiet.stderr == ""


def test_an_uncapped_search_does_not_warn(src, tmp_path):
    args = ["diffuse", str(src), "--time", "auto", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_a_capped_search_warns_in_batches(monkeypatch, src, tmp_path):
    capped(monkeypatch)
    other = tmp_path / "b.csv"
    other.write_text(src.read_text())
    args = ["diffuse", str(src), str(other), "--time", "auto", "-o", f"{tmp_path}/out/"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("stopped at its cap") == 2
    assert f"warning: {other}: the automatic search" in result.stderr


def test_a_capped_search_warns_in_python(monkeypatch, noisy):
    capped(monkeypatch)
    with pytest.warns(UserWarning, match="stopped at its cap of 30 blocks"):
        resdenoise.diffuse(noisy, time="auto")
    autoparams.MAX_BLOCKS = 20000
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resdenoise.diffuse(noisy, time="auto")


def draw(bars) -> str:
    out = bars.progress.console.file
    bars.progress.refresh()
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # no colours, no cursor moves


def test_every_bar_has_percentage_rate_and_eta(monkeypatch):
    from rich.console import Console

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    clock = itertools.count(0.0, 0.5)  # a fake clock: each reading half a second later
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    with render.Bars(files=4, console=console, get_time=lambda: next(clock)) as bars:
        for k in range(0, 500, 50):
            bars.update(0, "in.wav", "search 2/13", k, 1000)
        bars.file_done(1)
        bars.file_done(2)
        text = draw(bars)
    assert "in.wav automatic search, lambda 2/13" in text
    assert "45%" in text and "450/1000" in text
    assert re.search(r"\d[\d.]*k? blocks/s", text) and re.search(r"ETA \d+:\d\d:\d\d", text)
    assert re.search(r"50% +2/4 +\d[\d.]*k? files/s", text)


def test_no_bar_off_a_terminal(src, tmp_path):
    args = ["diffuse", str(src), "--time", "auto", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args)  # CliRunner's stderr is not a terminal
    assert "search" not in result.stderr and "%" not in result.stderr


def test_the_search_has_a_bar_on_a_terminal(monkeypatch, src, tmp_path):
    from rich.console import Console

    from resdenoise.cli import render

    seen = io.StringIO()
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(
        render, "stderr_console", lambda: Console(file=seen, force_terminal=True, width=160)
    )
    monkeypatch.setattr(render, "show_progress", lambda quiet: not quiet)
    args = ["diffuse", str(src), "--time", "auto", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    n = len(autoparams.LAMBDA_FACTORS)
    assert f"in.csv automatic search, lambda 1/{n}" in seen.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "ci, shown", [(None, True), ("true", False), ("1", False), ("false", True), ("", True)]
)
def test_no_bar_in_ci_even_on_a_terminal(monkeypatch, ci, shown):
    """CI runners on a pseudo-terminal (Buildkite, GitLab, Jenkins) log every redraw:
    ``CI`` set means no bars, as pip, npm and cargo do (audit12c D7)."""
    import sys

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys, "stderr", _Terminal())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert render.show_progress(False) is shown
    assert render.show_progress(True) is False


# --------------------------------------------------------------------------
# The family choice (denoise, --diffusivity auto, --shrinkage auto): a bar over the
# candidates, each named while searched (audit12c D3)
# --------------------------------------------------------------------------


def test_the_family_choice_reports_each_candidate(noisy):
    from resdenoise.automatic import COMMAND_CANDIDATES, choose_denoiser

    candidates = COMMAND_CANDIDATES["shrink"]
    seen = []
    plan, extra = choose_denoiser(noisy, candidates=candidates, progress=lambda *a: seen.append(a))
    labels = [c[0] for c in candidates]
    n = len(labels)
    assert seen[0] == (f"choice: {labels[0]}", 0, n) and seen[-1] == (f"choice: {labels[-1]}", n, n)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)  # only forward
    for i, label in enumerate(labels):  # each candidate named while it is searched
        assert {d for p, d, _ in seen if p == f"choice: {label}"} >= {i}
    assert {t for _, _, t in seen} == {n}
    again, same = choose_denoiser(noisy, candidates=candidates)  # told, not changed
    assert same == extra and np.array_equal(again.run(noisy), plan.run(noisy))


def test_the_family_choice_is_one_bar_over_its_candidates(monkeypatch):
    from rich.console import Console

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    clock = itertools.count(0.0, 0.5)
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with render.Bars(console=console, get_time=lambda: next(clock)) as bars:
        for i, label in enumerate(["shrink soft", "shrink garrote", "shrink hard"]):
            bars.update(0, "in.wav", f"choice: {label}", i, 5)
        assert len(bars.tasks) == 1 and len(bars.progress.tasks) == 1
        text = draw(bars)
    assert "in.wav choosing the filter: shrink hard" in text
    assert "40%" in text and "2/5" in text  # the same bar and clock: not reset per candidate
    assert re.search(r"candidates/s", text) and re.search(r"ETA \d+:\d\d:\d\d", text)


@pytest.mark.parametrize(
    "command, first",
    [
        (["denoise"], "diffuse perona-malik"),
        (["diffuse", "--diffusivity", "auto"], "diffuse perona-malik"),
        (["shrink", "--shrinkage", "auto"], "shrink soft"),
    ],
)
def test_the_family_choice_has_a_bar_on_a_terminal(monkeypatch, src, tmp_path, command, first):
    from rich.console import Console

    from resdenoise.cli import render

    seen = io.StringIO()
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(
        render, "stderr_console", lambda: Console(file=seen, force_terminal=True, width=200)
    )
    monkeypatch.setattr(render, "show_progress", lambda quiet: not quiet)
    result = CliRunner().invoke(cli, [*command, str(src), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert f"in.csv choosing the filter: {first}" in seen.getvalue()


def test_a_tick_of_the_same_count_only_redraws(monkeypatch):
    """An outer bar told again as a candidate's search goes (the same phase and count,
    thousands of times): rich's update only when something changed."""
    from rich.console import Console

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with render.Bars(console=console) as bars:
        updates = []
        real = bars.progress.update
        monkeypatch.setattr(
            bars.progress, "update", lambda *a, **k: (updates.append(k), real(*a, **k))
        )
        for _ in range(100):
            bars.update(0, "in.csv", "choice: shrink soft", 0, 5)
        bars.update(0, "in.csv", "choice: shrink garrote", 1, 5)
        bars.file_done(0)
        bars.update(0, "in.csv", "choice: shrink garrote", 1, 5)  # a new bar: taken
    assert [k["completed"] for k in updates] == [0, 1, 1]


def test_no_bar_while_the_signal_goes_to_the_terminal(tmp_path):
    """A streamed CSV printed on the terminal under a progress bar: the bar's last redraw
    (erase line, cursor up) came after the rows and erased the last one on screen, and a
    stale bar stayed above; with stdout on a terminal (the signal shown there) no bar is
    drawn, so every row stays as written."""
    import pty
    import select
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "resdenoise")
    rows = "".join(f"{i},{float(np.sin(i / 50.0))!r}\n" for i in range(20000))
    (tmp_path / "in.csv").write_text("t,v\n" + rows)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    env.update(TERM="xterm", COLUMNS="120", LINES="40")
    master, slave = pty.openpty()
    args = [exe, "diffuse", "in.csv", "--steps", "300", "--lambda", "0.5", "--chunk-size", "500"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=env)  # fmt: skip
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        try:
            data = os.read(master, 1 << 16) if ready else b""
        except OSError:  # EIO: the program ended, the terminal has no writer left
            data = b""
        if not data:
            break
        seen += data
    os.close(master)
    assert proc.wait(60) == 0, seen[-300:]
    assert b"\x1b[2K" not in seen and b"\x1b[1A" not in seen  # no bar drawn, none erased
    assert seen.replace(b"\r\n", b"\n").count(b"\n") >= 20001
