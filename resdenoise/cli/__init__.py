"""The ``resdenoise`` command line: a thin layer over the library.

The group and its commands, in one place.  Options become the arguments of
:mod:`resdenoise.pipeline` (which reads, plans, checks, runs, measures and
writes); the package adds what belongs to a terminal, and it alone imports
click and rich:

- :mod:`~resdenoise.cli.options`: shared options and parameter types, and
  library errors as one ``Error: ...`` line with their exit code;
- :mod:`~resdenoise.cli.denoise`: diffuse, shrink, regularise, resnet
  (with ``--network``), one file or many;
- :mod:`~resdenoise.cli.dictionary`: dictionary and translate;
- :mod:`~resdenoise.cli.learn`: learn (a stable network from data);
- :mod:`~resdenoise.cli.render`: every table and progress bar (rich).

A command's module is imported when the command is run (or when ``--help``
lists it): a ``diffuse`` run loads neither ``learn`` nor ``dictionary``.

Exit codes: see ``resdenoise --help`` (:func:`resdenoise.cli.cli`).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys

import click

from ..errors import one_line
from .help_format import Context
from .options import CONTEXT_SETTINGS, CliError, error_message, library_errors

__all__ = ["cli", "error_message", "main"]


#: other spellings of the commands (US English), accepted but not listed
COMMAND_SPELLINGS = {"regularize": "regularise"}

#: every command and the module (of this package) that defines it, imported on
#: first use: a run pays for its own command's module only
COMMAND_MODULES = {
    "denoise": "denoise",
    "diffuse": "denoise",
    "shrink": "denoise",
    "regularise": "denoise",
    "resnet": "denoise",
    "dictionary": "dictionary",
    "translate": "dictionary",
    "learn": "learn",
}


#: the exit codes, as the group's --help lists them (one a line, wrapped at any width)
EXIT_CODES = (
    ("0", "success"),
    ("1", "input/output problem"),
    ("2", "usage, or a missing extra"),
    ("3", "refused as unstable"),
    ("4", "a guarantee failed under --strict"),
    ("5", "out of memory (give the run more)"),
    (
        "6",
        "stderr is a file the run reads or writes (2>> INPUT, 2> OUTPUT, &> FILE), or "
        "the pipe of the signal on stdout (2>&1 | cmd): nothing run, no message in a "
        "file (on stdout where it is a terminal)",
    ),
    ("128+N", "stopped by signal N (130 Ctrl-C, 143 SIGTERM)"),
    ("141", "quietly, when the reader of stdout or stderr closed it (| head)"),
)
#: the environment variables the program reads, as the group's --help lists them
ENVIRONMENT = (
    ("COLUMNS", "the width of tables, help and progress bars (20 or more; else the terminal's)"),
    ("NO_COLOR", "no colours (the words say the same)"),
    ("FORCE_COLOR", "colours in a pipe too (TTY_COMPATIBLE=1 as a terminal, 0 as a pipe)"),
    ("TERM=dumb", "progress as plain lines, tables in ASCII"),
    ("CI", "no progress bars (set to anything but empty, 0, false or no)"),
    (
        "RESDENOISE_PLAIN",
        "plain output for screen readers (set as CI): every table as 'header: value' "
        "lines, progress as a line every 3 s, never a bar",
    ),
    ("RESDENOISE_THREADS", "N: at most N threads of the step loop (1 to 256)"),
    ("RESDENOISE_ENGINE", "numpy: the reference NumPy step loop, not the compiled one"),
    ("RESDENOISE_SCHEDULER", "a Dask scheduler's address for a batch (as --scheduler)"),
    ("RESDENOISE_NO_WORKER_TIMEOUT", "seconds a --scheduler batch waits for a worker (60)"),
    ("RESDENOISE_TRACEBACK", "1: an internal error's traceback, not its one line"),
)


class _Group(click.Group):
    """The group, run so that a catchable signal cleans up and exits 128+N; the
    commands also by their US spellings, and a misspelt one gets the closest."""

    #: set by :func:`main`: the process ends with the command
    process = False
    context_class = Context

    def format_commands(self, ctx, formatter):
        """Each command with its first sentence whole, wrapped (click cut it to the
        width with '...': 'family, scales, lambda and stopping...')."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx, formatter):
        with formatter.section("Exit codes"):
            formatter.write_dl(EXIT_CODES)
            formatter.write_text("Several INPUTs: the largest code among the files that failed.")
        with formatter.section("Environment"):
            formatter.write_dl(ENVIRONMENT)
        super().format_epilog(ctx, formatter)

    def invoke(self, ctx):
        """Run the command; a usage error, and an unexpected one, as one ``Error:`` line."""
        try:
            # outside a command's own: a table or JSON to a closed pipe (exit 141), to a
            # closed stdout (ClosedStdout, exit 1)
            with library_errors():
                return super().invoke(ctx)
        except click.UsageError as exc:
            raise CliError(f"{exc.format_message()} (see '{_help_of(exc, ctx)}')", 2) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except MemoryError as exc:  # the environment's limit, not a bug: its own code
            if os.environ.get("RESDENOISE_TRACEBACK") == "1":
                raise
            from ..errors import OutOfMemory

            raise CliError(str(OutOfMemory.of(exc)), OutOfMemory.exit_code) from None
        except Exception as exc:
            if os.environ.get("RESDENOISE_TRACEBACK") == "1":
                raise
            raise CliError(
                f"internal error: {type(exc).__name__}: {one_line(exc)} (a bug; "
                "RESDENOISE_TRACEBACK=1 shows where)",
                1,
            ) from None

    def make_context(self, info_name, args, parent=None, **extra):
        """As click's, but ``--help`` or ``--version`` to a closed pipe (or a closed stdout)
        ends as a run does."""
        with library_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx, cmd_name):
        cmd_name = COMMAND_SPELLINGS.get(cmd_name, cmd_name)
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            # __import__, not importlib.import_module: -X importtime lists it
            module = __import__(f"{__name__}.{COMMAND_MODULES[cmd_name]}", fromlist=["_"])
            self.add_command(getattr(module, cmd_name))
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            from ..errors import did_you_mean

            close = did_you_mean(args[0], self.list_commands(ctx))
            if close is not None:
                ctx.fail(f"No such command {args[0]!r}. Did you mean {close!r}?")
        name, cmd, rest = super().resolve_command(ctx, args)
        ctx.meta[_COMMAND_NAME] = name  # the command's help, for its usage errors
        return name, cmd, rest

    def main(self, *args, **kwargs):
        from ..errors import Interrupted
        from ..io.signals import handle_signals

        try:
            with handle_signals(ignore_after=self.process):
                return super().main(*args, **kwargs)
        except Interrupted as exc:
            name = signal.Signals(exc.signum).name
            said = _written(exc.written, exc.partly)
            click.echo(f"Error: interrupted by {name}; {said}", err=True)
            if not self.process:  # a caller's process (click's runner, cli.main()): its own
                signal.raise_signal(exc.signum)  # handler now; SIG_DFL ends it, as it would
            sys.exit(exc.exit_code)


#: ``ctx.meta`` key: the name the command was called by, once the group resolved it
_COMMAND_NAME = "resdenoise.command"


def _help_of(exc: click.UsageError, ctx: click.Context) -> str:
    """The ``--help`` that a usage error points to: its command's, also where click's
    parser raised it without the command's context (an option given without its value)."""
    if exc.ctx is not None:
        return f"{exc.ctx.command_path} --help"
    name = ctx.meta.get(_COMMAND_NAME)
    return f"{ctx.command_path}{'' if name is None else ' ' + name} --help"


def _written(paths, partly=None) -> str:
    """What an interrupted run had put in place, in words (the other outputs were not
    written); ``partly``: the output cut short as it was sent to stdout or a pipe, ``(path,
    bytes sent, bytes in all)``: its reader has a part of it, which the words say."""
    cut = ""
    if partly is not None:
        path, sent, total = partly
        name = "stdout" if path == "-" else path
        cut = (
            f"{name} cut short: at least {sent} of its {total} bytes were sent (its reader "
            "has a partial output); "
            if sent
            else f"{name} cut short: the signal came as its first bytes were sent (its reader "
            f"may have a part of its {total} bytes); "
        )
    if not paths:
        return f"{cut}no {'other ' if cut else ''}output written"
    names = ["stdout" if p == "-" else p for p in paths]
    if len(names) > 4:
        names[3:] = [f"{len(names) - 3} more"]
    return f"{cut}{', '.join(names)} written, nothing else"


def step_loop_line() -> str:
    """``--version``'s second line: the step loop this install runs (the compiled one and
    its instruction set, or NumPy, and why), without importing NumPy."""
    try:
        from .. import _kernels
    except ImportError:
        return (
            "step loop: numpy (the compiled loop was not built: no C compiler at install; "
            "slower, and float32 outputs may differ in the last bit from a compiled install)"
        )
    if (os.environ.get("RESDENOISE_ENGINE") or "auto") == "numpy":
        return f"step loop: numpy (RESDENOISE_ENGINE=numpy; compiled {_kernels.simd()} built)"
    return f"step loop: compiled ({_kernels.simd()})"


def _version(ctx: click.Context, _param, value: bool) -> None:
    """``--version``: the program's version, then the step loop it runs
    (:func:`step_loop_line`): an image built without a C compiler says so here."""
    if not value or ctx.resilient_parsing:
        return
    from .. import __version__

    click.echo(f"resdenoise, version {__version__}\n{step_loop_line()}")
    ctx.exit()


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and the step loop (compiled or NumPy), and exit.",
)
def cli():
    """Stable, explainable 1D signal denoising with diffusion blocks.

    Four descriptions of one filter (Alt, Weickert and Peter 2020), one
    engine: u <- u + tau * D- Phi(D+ u). Each command reads a CSV or audio
    file (or - for stdin), writes the filtered signal (to -o FILE, or on
    stdout in the input's format) and prints on stderr the verdict (did the
    stability guarantees hold), one line of what ran and any warning; -v adds
    the tables, -q prints errors only, --json the report on stdout. Several
    INPUTs: a verdict per file (and warnings); -v adds its line and tables.
    """
    # (each command checks RESDENOISE_THREADS, RESDENOISE_ENGINE and
    # RESDENOISE_NO_WORKER_TIMEOUT as its run starts, options.Command: its --help works
    # whatever they say)


def _hold_descriptor(fd: int, always: bool = False) -> None:
    """Descriptor ``fd`` (1, 2), where closed (or ``always``), opened on /dev/null, so
    that no file this run opens takes its place (where a message or table written to it
    would land)."""
    try:
        os.fstat(fd)
    except OSError:  # closed: the lowest free descriptor may be fd itself
        always = True
    if always:
        null = os.open(os.devnull, os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)


class _StderrFile(io.FileIO):
    """Descriptor 2 as the program writes to it: a write that fails for a reason other
    than a closed pipe (EIO from a terminal that went away without SIGHUP, ENOSPC from a
    full log disk) points the descriptor at /dev/null and counts as written, so that the
    run goes on with its messages going nowhere, as with ``2>&-``.  A reader that closed
    the pipe is still EPIPE (the quiet exit 141).  A full non-blocking pipe (EAGAIN) is
    waited for: Python's own stderr dropped those lines, an ``Error:`` line too."""

    def write(self, data):
        while True:
            try:
                done = super().write(data)
            except BrokenPipeError:
                raise
            except OSError:
                _hold_descriptor(2, always=True)
                return len(data)
            if done is not None:
                return done
            # a non-blocking descriptor (as some parents hand over) that is full: wait
            # for its reader, as a blocking one does, rather than drop the line
            from ..io.atomic import wait_writable

            wait_writable(2)


def _stderr_forgiving() -> None:
    """Messages on stderr that cannot be written go nowhere and the run goes on: a
    program started with stderr closed (``2>&-``, where it failed on ``sys.stderr``
    being None), or whose stderr fails later (:class:`_StderrFile`); never an
    'internal error' that stops a batch after its first file or loses a training."""
    old = sys.stderr
    if old is None:
        _hold_descriptor(2)
    else:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            if old.fileno() != 2:  # a harness's stream: left alone
                return
            old.flush()
        if _windows_console(old):
            with contextlib.suppress(AttributeError, OSError, ValueError):
                old.reconfigure(errors="backslashreplace")
            return
    encoding = getattr(old, "encoding", None) or "utf-8"
    raw = _StderrFile(2, "w", closefd=False)
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(raw), encoding, errors="backslashreplace", line_buffering=True
    )


def _windows_console(stream) -> bool:
    """Whether ``stream`` writes to a Windows console through Python's console writer
    (``_WindowsConsoleIO``, PEP 528: UTF-16, whatever the console's code page): kept as
    it is, since UTF-8 bytes written to descriptor 2 are shown in the console's code page
    (437: every accent garbled).  A file or pipe there is a ``FileIO``, wrapped as elsewhere."""
    raw = getattr(getattr(stream, "buffer", None), "raw", None)
    return sys.platform == "win32" and raw is not None and not isinstance(raw, io.FileIO)


def _stdout_refusing_if_closed() -> None:
    """A program started with stdout closed (``>&-``): whatever would be written there
    (a table, ``--version``, JSON, the signal) is an error (exit 1), for every command
    alike (:class:`~resdenoise.io.ClosedStdout`); a run that writes nothing there runs."""
    if sys.stdout is not None:
        return
    from ..io import ClosedStdout

    _hold_descriptor(1)
    sys.stdout = ClosedStdout()


def main() -> None:
    """The ``resdenoise`` program: :data:`cli`, in a process that ends with it.

    It ends without Python's teardown of its modules and objects (about 10 ms of
    the 0.15 s of CPU of a run on a one-second file; serial time of every
    ``--jobs`` batch, too): the command has written and closed its
    outputs, the ``atexit`` handlers run, stdout and stderr are flushed (a
    failed flush exits 120, as Python's own exit does), then :func:`os._exit`.
    Where a thread other than daemons is still running, Python ends as usual.
    """
    cli.process = True
    from .streams import refuse_stderr_named

    refuse_stderr_named(sys.argv[1:])  # 2>> INPUT: before a line is written there
    _stderr_forgiving()
    _stdout_refusing_if_closed()
    try:
        cli(prog_name="resdenoise")
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click's standalone mode always exits
        code = 0
    import threading

    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        sys.exit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            code = code or 120
    os._exit(code)
