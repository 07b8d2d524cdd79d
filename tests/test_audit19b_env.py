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


@posix
@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_at_start_up_end_the_run_as_later(tmp_path, name, code):
    """Before: only Ctrl-C had a start-up handler; SIGTERM there took its default action,
    which the kernel drops for a PID namespace's init (a container without an init): the
    run went on to exit 0.  Now the one line and 128+N, whatever the PID."""
    script = tmp_path / "resdenoise"
    script.write_text(_SCRIPT.format(name=name))
    done = subprocess.run(
        [sys.executable, str(script), "--version"],
        capture_output=True,
        text=True,
        preexec_fn=_defaults,
        timeout=120,
    )
    assert (done.returncode, done.stderr, done.stdout) == (
        code,
        f"Error: interrupted by {name}; no output written\n",
        "",
    )


@posix
def test_sighup_ignored_on_entry_stays_ignored_at_start_up(tmp_path):
    """``nohup``: a SIGHUP ignored on entry is not taken up by the start-up handlers."""
    script = tmp_path / "resdenoise"
    script.write_text(_SCRIPT.format(name="SIGHUP"))

    def ignore_hup():
        _defaults()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    done = subprocess.run(
        [sys.executable, str(script), "--version"],
        capture_output=True,
        text=True,
        preexec_fn=ignore_hup,
        timeout=120,
    )
    assert done.returncode == 0 and "resdenoise" in done.stdout and done.stderr == ""
