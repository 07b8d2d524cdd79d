"""audit19b: the program in a container (PID 1, a memory limit, no writable /tmp).

B6: SIGTERM and SIGHUP before the command line handles signals; B7: out of memory;
B1: no writable temporary directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

# the signal comes as the package imports its modules (its __init__'s importlib)
_SCRIPT = """
import builtins, os, signal, sys
real = builtins.__import__
def hooked(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "importlib" and (globals or {{}}).get("__name__") == "resdenoise":
        os.kill(os.getpid(), signal.{name})
    return real(name, globals, locals, fromlist, level)
builtins.__import__ = hooked
from resdenoise.__main__ import main
sys.exit(main())
"""


def _defaults() -> None:
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def _signalled_at_start_up(tmp_path, name: str, preexec) -> subprocess.CompletedProcess:
    """``resdenoise --version`` sent ``name`` during its start-up imports (:data:`_SCRIPT`),
    its signal dispositions set by ``preexec`` first."""
    script = tmp_path / "resdenoise"
    script.write_text(_SCRIPT.format(name=name))
    return subprocess.run(
        [sys.executable, str(script), "--version"],
        capture_output=True,
        text=True,
        preexec_fn=preexec,
        timeout=120,
    )


@posix
@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_at_start_up_end_the_run_as_later(tmp_path, name, code):
    """Before: only Ctrl-C had a start-up handler; SIGTERM there took its default action,
    which the kernel drops for a PID namespace's init (a container without an init): the
    run went on to exit 0.  Now the one line and 128+N, whatever the PID."""
    done = _signalled_at_start_up(tmp_path, name, _defaults)
    assert (done.returncode, done.stderr, done.stdout) == (
        code,
        f"Error: interrupted by {name}; no output written\n",
        "",
    )


@posix
def test_sighup_ignored_on_entry_stays_ignored_at_start_up(tmp_path):
    """``nohup``: a SIGHUP ignored on entry is not taken up by the start-up handlers."""

    def ignore_hup():
        _defaults()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    done = _signalled_at_start_up(tmp_path, "SIGHUP", ignore_hup)
    assert done.returncode == 0 and "resdenoise" in done.stdout and done.stderr == ""


# B7 ---------------------------------------------------------------------------


def _no_memory(*args, **kwargs):
    raise MemoryError(
        "Unable to allocate 5.96 MiB for an array with shape (781249,) and data type float64"
    )


def test_out_of_memory_is_its_own_line_and_exit_code(tmp_path, monkeypatch):
    """Before: 'internal error: MemoryError: ... (a bug; ...)', exit 1 as a bad input."""
    from click.testing import CliRunner

    import resdenoise.pipeline
    from resdenoise.cli import cli

    src = tmp_path / "a.csv"
    src.write_text("1.0\n2.0\n3.0\n4.0\n")
    monkeypatch.setattr(resdenoise.pipeline, "_run", _no_memory)
    out = tmp_path / "o.csv"
    result = CliRunner().invoke(cli, ["diffuse", str(src), "--steps", "2", "-o", str(out)])
    assert result.exit_code == 5, result.stderr
    assert result.stderr.startswith(f"Error: {src}: out of memory (5.96 MiB could not be")
    assert "a bug" not in result.stderr and "ulimit -v" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not out.exists()


def test_a_batch_file_out_of_memory_fails_with_code_5(tmp_path, monkeypatch):
    import resdenoise.pipeline
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("1.0\n2.0\n3.0\n4.0\n")
    monkeypatch.setattr(resdenoise.pipeline, "_run", _no_memory)
    inputs = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    results = run_batch(planner("diffuse", "linear", lam=1.0, steps=1), inputs, str(tmp_path / "o"))
    assert [r.exit_code for r in results] == [5, 5]
    assert all(str(r.error).startswith("out of memory (") for r in results)


# B1 ---------------------------------------------------------------------------


def _no_temporary_directory(monkeypatch) -> None:
    """As in a container with a read-only root file system and nothing on /tmp."""
    import errno
    import tempfile

    def none():
        raise FileNotFoundError(
            errno.ENOENT, "No usable temporary directory found in ['/tmp', '/var/tmp']"
        )

    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(tempfile, "gettempdir", none)


def test_no_writable_temporary_directory_to_spool_stdin_is_one_line(monkeypatch):
    """Before: 'internal error: FileNotFoundError: ... (a bug; ...)'."""
    import io

    from resdenoise.errors import SignalError
    from resdenoise.io.atomic import spool_stdin

    _no_temporary_directory(monkeypatch)
    with pytest.raises(SignalError) as info:
        spool_stdin(source=io.BytesIO(b"1.0\n2.0\n"), name="<stdin>")
    assert str(info.value) == (
        "<stdin>: no writable temporary directory to spool the stream (TMPDIR, /tmp, "
        "/var/tmp, /usr/tmp and the working directory are not writable); set TMPDIR to a "
        "writable directory, or give a file"
    )


def test_no_writable_temporary_directory_for_a_piped_stdin_on_the_command_line(
    tmp_path, monkeypatch
):
    from click.testing import CliRunner

    import resdenoise.stream_choice
    from resdenoise.cli import cli

    _no_temporary_directory(monkeypatch)
    monkeypatch.setattr(resdenoise.stream_choice, "STREAM_THRESHOLD", 16)  # spooled: long
    out = tmp_path / "o.csv"
    rows = "".join(f"{k % 7}.0\n" for k in range(200))
    result = CliRunner().invoke(cli, ["diffuse", "-", "--steps", "1", "-o", str(out)], input=rows)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith("Error: <stdin>: no writable temporary directory")
    assert "TMPDIR" in result.stderr and "a bug" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not out.exists()
