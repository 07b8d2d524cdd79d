"""The help of every command as click writes it, less two faults: a name broken at its
hyphen, and a floor of 50 columns (beside :mod:`.options`, whose commands use it).
"""

from __future__ import annotations

import contextlib
import os

import click

#: a non-breaking hyphen: what a help text's hyphens are while click wraps it
_HELD_HYPHEN = "\u2011"


def terminal_width() -> int:
    """The width of the terminal on stdout, stderr or stdin (at least 20), else 80."""
    for fd in (1, 2, 0):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            width = os.get_terminal_size(fd).columns
            if width >= 20:
                return width
    return 80


class HelpFormatter(click.HelpFormatter):
    """click's, with no name broken at its hyphens (``perona-`` / ``malik`` is two words
    read aloud; ``--allow-`` / ``unstable`` a flag that cannot be copied), and as narrow
    as the terminal (``COLUMNS`` of 20 or more, else the terminal's width; click's floor
    is 50 columns, so that a 40-column terminal wrapped every line again), the option
    column narrower where the width is small."""

    def __init__(self, indent_increment: int = 2, width=None, max_width=None):
        if width is None:
            columns = os.environ.get("COLUMNS", "")
            columns = int(columns) if columns.isdigit() and int(columns) >= 20 else None
            width = max(min(columns or terminal_width(), max_width or 80) - 2, 30)
        super().__init__(indent_increment, width, max_width)

    def _held(self, write, *args) -> None:
        start = len(self.buffer)
        write(*args)
        self.buffer[start:] = [s.replace(_HELD_HYPHEN, "-") for s in self.buffer[start:]]

    def write_text(self, text: str) -> None:
        self._held(super().write_text, text.replace("-", _HELD_HYPHEN))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        held = [tuple(t.replace("-", _HELD_HYPHEN) for t in row) for row in rows]
        self._held(super().write_dl, held, min(col_max, max(self.width // 3, 12)), col_spacing)


class Context(click.Context):
    formatter_class = HelpFormatter
