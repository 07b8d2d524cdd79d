"""The program's stderr as a file the run reads or writes (``2>> in.csv``, ``2> out.csv``,
``&> in.csv``): refused before a line is written there, exit :data:`EXIT_STDERR`.

A message on stderr would be appended to the input (its next reading fails on a line that
is no data), or be written into the output that the run then replaces (lost with the
old file) or, written through stdout, mixed into the signal.  The refusal itself is
written nowhere near the file: on stdout where it is a terminal, else nowhere (the exit
code alone says it), and stderr is pointed at ``/dev/null`` so that nothing later lands
there.  Only the program (``resdenoise``, :func:`resdenoise.cli.main`) looks: a caller's
process (click's runner) has its own stderr.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Iterable

#: the exit code of a run whose stderr is a file it reads or writes
EXIT_STDERR = 6

#: set by :func:`refuse_stderr_named`, which the program calls first: the other
#: refusals look only then (a caller's process, click's runner, has its own stderr)
_PROGRAM = [False]

#: names that write through to the program's own stdout or stderr (``-o /dev/stderr``
#: sends the signal to stderr as asked: not a file named)
_OWN_STREAM = re.compile(r"/(dev/(stdout|stderr|fd/[12])|proc/(self|thread-self|\d+)/fd/[12])")


def stderr_key() -> tuple | None:
    """``(device, inode)`` of stderr where it is a regular file, else None (a terminal,
    pipe, ``/dev/null``, closed)."""
    try:
        st = os.fstat(2)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _key(path: str) -> tuple | None:
    try:
        st = os.fstat(0) if path == "-" else os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _named(args: Iterable[str]):
    """Each argument, and the value glued to an option (``--output=F``, ``-oF``)."""
    for arg in args:
        yield arg
        if arg.startswith("--") and "=" in arg:
            yield arg.split("=", 1)[1]
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            yield arg[2:]


def refuse_stderr_named(args: Iterable[str]) -> None:
    """End the program (exit 6) before it writes a line, where stderr is a regular file
    that an argument names (an INPUT, ``-o``, ``--report``, ``--reference``, ``--network``,
    ``--summary``, by any name of it: a link, ``/dev/stdin < FILE``) or that stdin is
    while ``-`` is an argument.  Said before click reads the options: a usage error
    would be written there too."""
    _PROGRAM[0] = True
    key = stderr_key()
    if key is None:
        return
    for arg in _named(args):
        if arg and not _own_stream(arg) and _key(arg) == key:
            refuse("<stdin>" if arg == "-" else arg, "named on the command line")


def _own_stream(arg: str) -> bool:
    """Whether ``arg`` names the program's own stdout or stderr (:data:`_OWN_STREAM`)."""
    try:
        return arg != "-" and _OWN_STREAM.fullmatch(os.path.abspath(arg)) is not None
    except (OSError, ValueError):  # (the working directory removed: a relative name)
        return False


def refuse_stderr_among(paths: Iterable[str | None], what: str) -> None:
    """:func:`refuse_stderr_named`'s refusal where stderr is one of ``paths``, files
    the run writes that the command line names only by their directory (``-o DIR/``,
    ``--report DIR/``); ``what`` says what they are."""
    key = stderr_key() if _PROGRAM[0] else None
    if key is None:
        return
    for path in paths:
        if path is not None and path != "-" and not _own_stream(path) and _key(path) == key:
            refuse(path, what)


def refuse_stderr_is_stdout(quiet: bool) -> None:
    """The refusal where the signal or report goes to stdout and stderr is the same
    regular file (``> out.csv 2>&1``, ``&> out.csv``), pipe (``2>&1 | cmd``, ``|&``) or
    socket: the verdict and warnings would be mixed into it.  Under ``quiet`` only an
    error is written there, and then no output: nothing mixes.  A file's refusal is
    written nowhere near it (:func:`refuse`); a pipe's or socket's goes down it, the one
    line its reader gets (as any error's under ``2>&1``: no signal came before it)."""
    if not _PROGRAM[0] or quiet:
        return
    kind = _shared_with_stdout()
    if kind == "file":
        refuse("<stdout>", "which carries the output (-q writes errors only)")
    elif kind is not None:
        line = (
            f"Error: stderr is the {kind} stdout writes to (2>&1 | ..., |&), which carries the "
            "output: the run's messages would be mixed into the signal; nothing was run and "
            "nothing written. Send stderr elsewhere (2>> run.log), or give -q (errors only)"
        )
        try:
            os.write(2, (line + "\n").encode())
        except OSError:  # (its reader gone: the exit code says it)
            pass
        sys.exit(EXIT_STDERR)


def _shared_with_stdout() -> str | None:
    """``"file"``, ``"pipe"`` or ``"socket"`` where stdout and stderr are one regular file,
    pipe or socket; None otherwise (apart, a terminal, ``/dev/null``, closed)."""
    try:
        out, err = os.fstat(1), os.fstat(2)
    except (OSError, ValueError):
        return None
    if (out.st_dev, out.st_ino) != (err.st_dev, err.st_ino):
        return None
    for kind, test in (("file", stat.S_ISREG), ("pipe", stat.S_ISFIFO), ("socket", stat.S_ISSOCK)):
        if test(out.st_mode):
            return kind
    return None


def refuse(name: str, how: str) -> None:
    """Exit :data:`EXIT_STDERR` with stderr pointed at ``/dev/null``; the line on stdout
    where it is a terminal."""
    line = (
        f"Error: stderr is the file {name} ({how}): the run's messages would be written into "
        "it; nothing was run and nothing written. Send stderr elsewhere (2>> run.log)"
    )
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        if os.isatty(1):
            from .options import printable

            os.write(1, (printable(line) + "\n").encode(errors="backslashreplace"))
    except OSError:
        pass
    sys.exit(EXIT_STDERR)


@contextlib.contextmanager
def own_lines_only(shown: bool):
    """While the block runs, stderr carries the program's own lines only: the log records
    of the libraries it runs (dask.distributed's ``distributed.client - ERROR - Failed to
    reconnect to scheduler ...``, ``Couldn't gather 1 keys``; the program itself logs
    nothing) are dropped, unless ``shown`` (``-v``: as those libraries write them).  Only
    the program's batch on a cluster asks (a library caller's logging is its own)."""
    if shown:
        yield
        return
    import logging

    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(before)
