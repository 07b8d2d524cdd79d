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

import sys

import click

from .. import __version__
from .denoise import denoise, diffuse, regularise, resnet, shrink
from .dictionary import dictionary, translate
from .options import CONTEXT_SETTINGS, error_message

__all__ = ["cli", "error_message"]


#: other spellings of the commands (US English), accepted but not listed
COMMAND_SPELLINGS = {"regularize": "regularise"}


#: the exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it
EXIT_INTERRUPTED = 130


class Group(click.Group):
    """The commands, also by their US spellings; a misspelt one gets the closest.
    Ctrl-C stops a command with one line and exit code 130 (outputs are written
    all or nothing, so nothing half-written is left)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted; nothing more written", err=True)
            sys.exit(EXIT_INTERRUPTED)

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, COMMAND_SPELLINGS.get(cmd_name, cmd_name))

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            from ..errors import did_you_mean

            close = did_you_mean(args[0], self.list_commands(ctx))
            if close is not None:
                ctx.fail(f"No such command {args[0]!r}. Did you mean {close!r}?")
        return super().resolve_command(ctx, args)


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="resdenoise")
def cli():
    """Stable, explainable 1D signal denoising with diffusion blocks.

    Four descriptions of one filter (Alt, Weickert and Peter 2020), one
    engine: u <- u + tau * D- Phi(D+ u). Each command reads a CSV or audio
    file (or - for stdin), writes the filtered signal (CSV on stdout unless
    -o is given) and prints on stderr the verdict (did the stability
    guarantees hold), one line of what ran and any warning; -v adds the
    tables, -q prints errors only, --json the report on stdout.

    \b
    Exit codes: 0 success, 1 input/output problem, 2 usage,
                3 refused as unstable, 4 a guarantee failed under --strict;
                several INPUTs: the largest code among the files that failed;
                130 interrupted (Ctrl-C).
    """


for _command in (denoise, diffuse, shrink, regularise, resnet, dictionary, translate):
    cli.add_command(_command)
