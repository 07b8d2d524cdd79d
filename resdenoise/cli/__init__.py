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
- :mod:`~resdenoise.cli.render`: every table and progress bar (rich).

Exit codes: 0 success, 1 input or output problem, 2 usage, 3 refused as
unstable, 4 a measured guarantee failed under ``--strict``; with several
inputs, the largest code among the files that failed.
"""

from __future__ import annotations

import os
import signal
import sys

import click

from .. import __version__
from .denoise import denoise, diffuse, regularise, resnet, shrink
from .dictionary import dictionary, translate
from .options import CONTEXT_SETTINGS, CliError, error_message

__all__ = ["cli", "error_message", "main"]


class _Group(click.Group):
    """The group, run so that a catchable signal cleans up and exits 128+N."""

    #: set by :func:`main`: the process ends with the command
    process = False

    def invoke(self, ctx):
        """Run the command; a usage error, and an unexpected one, as one ``Error:`` line."""
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            raise CliError(f"{exc.format_message()} (see '{where} --help')", 2) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("RESDENOISE_TRACEBACK") == "1":
                raise
            raise CliError(
                f"internal error: {type(exc).__name__}: {one_line(exc)} (a bug; "
                "RESDENOISE_TRACEBACK=1 shows where)",
                1,
            ) from None

    def main(self, *args, **kwargs):
        from ..errors import Interrupted
        from ..io.signals import handle_signals

        try:
            with handle_signals(ignore_after=self.process):
                return super().main(*args, **kwargs)
        except Interrupted as exc:
            name = signal.Signals(exc.signum).name
            click.echo(f"Error: interrupted by {name}; no output written", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="resdenoise")
def cli():
    """Stable, explainable 1D signal denoising with diffusion blocks.

    Four descriptions of one filter (Alt, Weickert and Peter 2020), one
    engine: u <- u + tau * D- Phi(D+ u). Each command reads a CSV or audio
    file (or - for stdin), writes the filtered signal (CSV on stdout unless
    -o is given) and prints stability diagnostics on stderr.

    \b
    Exit codes: 0 success, 1 input/output problem, 2 usage,
                3 refused as unstable, 4 a guarantee failed under --strict;
                several INPUTs: the largest code among the files that failed;
                128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM).
    """


def one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split())


def main() -> None:
    """The ``resdenoise`` program: :data:`cli`, in a process that ends with it."""
    cli.process = True
    cli(prog_name="resdenoise")


for _command in (denoise, diffuse, shrink, regularise, resnet, dictionary, translate):
    cli.add_command(_command)
