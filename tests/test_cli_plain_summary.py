"""A run's verdict, summary and warnings on a stderr that is no terminal: written
without rich (its import was about 50 ms of a small run's 290 ms of CPU), the same
bytes as rich's console wrote there; text from files never markup nor an emoji code
(leftovers of session 37, item 1)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resdenoise.cli import cli, render

#: tau 0.4 with g_max 1: L-infinity stable, above the sign-stable bound 0.25: a warning
WARNS = ["resnet", "--activation", "tanh", "--lambda", "0.5", "--blocks", "3", "--tau", "0.4"]
#: markup, an emoji code, tabs after a wide character, a backslash: data, every one
NAME = "[bold]:smile: \u6f22\tx\\[b].csv"


@pytest.fixture
def no_forced_colour(monkeypatch):
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


def test_the_summary_on_a_pipe_is_the_bytes_rich_wrote(
    runner, noisy_csv, tmp_path, monkeypatch, no_forced_colour
):
    src = tmp_path / NAME
    src.write_bytes(noisy_csv.read_bytes())
    args = [WARNS[0], str(src), *WARNS[1:], "-o", str(tmp_path / "o.csv")]
    plain = runner.invoke(cli, args)
    assert plain.exit_code == 0, plain.output
    monkeypatch.setattr(render, "summary_console", lambda verbose=False: render.stderr_console())
    rich = runner.invoke(cli, args)
    assert rich.exit_code == 0, rich.output
    assert plain.stderr == rich.stderr
    lines = plain.stderr.splitlines()
    # the name as it is, its tabs at columns of 8 (as rich expanded them)
    shown = str(src).expandtabs(8)
    assert lines[0] == f"{shown} -> {tmp_path / 'o.csv'}: guarantees held"
    assert lines[2].startswith("warning: tau = 0.4 is L-infinity stable")
    assert "\U0001f604" not in plain.stderr  # :smile: stays the seven characters


@given(st.text(), st.sampled_from([None, "green"]))
def test_a_line_is_written_as_rich_writes_it_where_it_draws_no_style(text, style):
    from rich.console import Console

    drawn = io.StringIO()
    render._line(Console(file=drawn, highlight=False, emoji=False), text, style)
    render.warning(Console(file=drawn, highlight=False, emoji=False), text)
    written, old = io.StringIO(), sys.stderr
    sys.stderr = written
    try:
        render._line(render.PlainStderr(), text, style)
        render.warning(render.PlainStderr(), text)
    finally:
        sys.stderr = old
    assert written.getvalue() == drawn.getvalue()


def test_rich_where_it_draws_styles_or_tables(monkeypatch, no_forced_colour):
    assert isinstance(render.summary_console(), render.PlainStderr)  # CliRunner: no tty
    assert not isinstance(render.summary_console(verbose=True), render.PlainStderr)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich colours a pipe: rich's bytes then
    assert not isinstance(render.summary_console(), render.PlainStderr)
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert isinstance(render.summary_console(), render.PlainStderr)


def _imported(args, tmp_path) -> tuple[set, list]:
    """The top-level modules a run imported (``-X importtime``) and its other stderr lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "resdenoise", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=True,
    )
    lines = done.stderr.splitlines()
    timed = [line for line in lines if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in timed[1:]}
    return modules, [line for line in lines if not line.startswith("import time:")]


def test_a_run_on_a_pipe_imports_no_rich(noisy_csv, tmp_path):
    run = ["diffuse", "--diffusivity", "perona-malik", "--steps", "4", str(noisy_csv)]
    run += ["-o", str(tmp_path / "o.csv")]
    modules, said = _imported(run, tmp_path)
    assert "rich" not in modules and "resdenoise" in modules
    assert said[0].endswith(": guarantees held") and "4 blocks" in said[1]
    modules, said = _imported([*run, "-q"], tmp_path)
    assert "rich" not in modules and said == []
    modules, said = _imported([*run, "-v"], tmp_path)  # the tables: rich
    assert "rich" in modules and "measured per channel" in "\n".join(said)
