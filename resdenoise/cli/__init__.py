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

import click

from .. import __version__
from .denoise import denoise, diffuse, regularise, resnet, shrink
from .dictionary import dictionary, translate
from .options import CONTEXT_SETTINGS, error_message

__all__ = ["cli", "error_message"]


@click.group(context_settings=CONTEXT_SETTINGS)
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
                several INPUTs: the largest code among the files that failed.
    """


for _command in (denoise, diffuse, shrink, regularise, resnet, dictionary, translate):
    cli.add_command(_command)
