"""A rich table printed so that no word of a cell is broken: its columns made as wide as
their longest word (a number, ``8.93383e-17``, stays on one line), the spare width shared
by how much each column would take; where even that does not fit the terminal (40 columns,
a narrow log), or always under ``RESDENOISE_PLAIN`` (:func:`plain`), the table as lines
instead, one ``header: cell`` a line under each row's first cell, which a screen reader
reads in order.  Also the cells' helpers every table
of :mod:`.render` and its companions uses (:func:`num`, ``_text``, ``_show``, :func:`yes`).
"""

from __future__ import annotations

import math
import os

from .options import printable

#: Width taken as "unlimited" when a table is measured for its natural widths.
_WIDE = 100_000
#: The heads of a first column that names its rows (said alone as lines: "mean drift",
#: not "quantity: mean drift")
ROW_NAMES = frozenset({"quantity"})


def switched_on(value: str | None) -> bool:
    """Whether an environment variable's ``value`` turns its switch on: set to anything
    but empty, ``0``, ``false`` or ``no`` (``CI``, ``RESDENOISE_PLAIN``)."""
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def plain() -> bool:
    """Whether ``RESDENOISE_PLAIN`` asks for plain output (a screen reader's): every
    table as ``header: value`` lines, progress as a line now and then, never a bar."""
    return switched_on(os.environ.get("RESDENOISE_PLAIN"))


def _renderable(cell):
    """A cell as rich renders it: a string is markup (escaped by its maker)."""
    from rich.text import Text

    return Text.from_markup(cell) if isinstance(cell, str) else cell


def _plain(cell) -> str:
    """A cell's text without its markup, its lines joined with a space."""
    from rich.text import Text

    text = _renderable(cell)
    return " ".join((text.plain if isinstance(text, Text) else str(text)).split())


def fitted_widths(console, table) -> list[int] | None:
    """Each column's width (padding excluded) so that ``table`` fits ``console`` with
    no word cut, or None where it cannot (the widest words alone are too wide).  The
    natural widths where they fit already."""
    from rich.measure import Measurement

    options = console.options.update_width(_WIDE)
    ranges = [
        [Measurement.get(console, options, _renderable(c)) for c in (col.header, *col.cells)]
        for col in table.columns
    ]
    low = [max(m.minimum for m in r) for r in ranges]
    high = [max(m.maximum for m in r) for r in ranges]
    overhead = Measurement.get(console, options, table).maximum - sum(high)
    room = console.width - overhead
    if sum(high) <= room:
        return high
    if sum(low) > room:
        return None
    # the widest columns narrowed first, to one width (not below their longest word), as
    # rich narrows them: a column of short labels keeps its width
    cap = max(
        w
        for w in range(max(high) + 1)
        if sum(max(lo, min(h, w)) for lo, h in zip(low, high, strict=True)) <= room
    )
    widths = [max(lo, min(h, cap)) for lo, h in zip(low, high, strict=True)]
    for i in sorted(range(len(widths)), key=lambda i: widths[i] - high[i])[: room - sum(widths)]:
        widths[i] += 1 if widths[i] < high[i] else 0
    return widths


def print_table(console, table) -> None:
    """Print ``table`` with no word cut (:func:`fitted_widths`), or as lines (where it does
    not fit, or :func:`plain` asks); its title a line of its own (rich pads it with spaces
    to the table's width)."""
    if os.environ.get("TERM") == "dumb":  # a terminal, or reader, of ASCII alone
        from rich import box

        table.box = box.ASCII
    widths = None if plain() else fitted_widths(console, table)
    if widths is None:
        print_as_lines(console, table)
        return
    for column, width in zip(table.columns, widths, strict=True):
        column.width, column.overflow = width, "fold"
    _title(console, table)
    table.title = None
    console.print(table)


def _title(console, table) -> None:
    if table.title:
        _wrapped(console, _renderable(table.title), 0)


def _wrapped(console, text, indent: int, hang: int = 2) -> None:
    """``text`` wrapped at the console's width, ``indent`` spaces before it and ``hang``
    more before its continuation lines, no space after it."""
    from rich.text import Text

    for k, line in enumerate(text.wrap(console, max(console.width - indent - hang, 20))):
        line.rstrip()
        console.print(Text(" " * (indent + hang * (k > 0))).append_text(line), soft_wrap=True)


def print_wrapped(console, markup: str, indent: int = 0, hang: int = 2) -> None:
    """A line of rich markup (its file text escaped by its maker) wrapped with a hanging
    indent: its continuation lines ``hang`` columns in from its first."""
    _wrapped(console, _renderable(markup), indent, hang)


def print_as_lines(console, table) -> None:
    """``table`` as lines: its title, then each row's first cell (``header: cell`` where
    the table shows headers; none where it is empty, the row going on with the one
    above's) and under it one ``header: cell`` line a column; a table of two columns
    without headers (quantity, value) one ``quantity: value`` line a row.  A line too
    long wraps, its continuation indented two more, with no trailing space."""
    from rich.text import Text

    def say(indent: int, head: str, cell) -> None:
        text = _renderable(cell)
        text = text if isinstance(text, Text) else Text(_plain(text))
        _wrapped(console, (Text(f"{head}: ") if head else Text()).append_text(text), indent)

    _title(console, table)
    heads = [_plain(c.header) if table.show_header else "" for c in table.columns]
    columns = [list(c.cells) for c in table.columns]
    for r, lead in enumerate(columns[0]):
        if len(columns) == 2 and not table.show_header:  # quantity: value
            say(2, _plain(lead), columns[1][r])
            continue
        if _plain(lead):  # an empty first cell: the row goes on with the one above's
            say(2, "" if heads[0] in ROW_NAMES else heads[0], lead)
        for head, cells in zip(heads[1:], columns[1:], strict=True):
            say(4, head, cells[r])


def num(x, none: str = "inf") -> str:
    """A number as the tables show it: 6 significant digits, +-inf, yes/no.

    ``None`` shows as ``none``: in a run's report an unbounded quantity
    ("inf"), in the dictionary's data an unknown one ("-").
    """
    if x is None:
        return none
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str):
        return _text(x)
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


#: The most characters of a file's free text (a network's description, a block's label)
#: that a summary or table shows; the JSON report keeps it whole.
SHOWN_TEXT = 120


def brief(text: str, limit: int = SHOWN_TEXT) -> str:
    """``text`` as a summary shows it: whole up to ``limit`` characters, else cut there
    with how long it is (``AAAA… (900000 characters)``)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


def _text(value) -> str:
    """Text from a file or the user (a label, a formula, a reason) as rich shows it:
    never markup (``[blink]`` stays the seven characters it is), never a terminal's
    control sequence (:func:`printable`)."""
    from rich.markup import escape

    return escape(printable(str(value)))


def _show(console, table) -> None:
    """Print ``table`` with no cell cut and no word broken (:mod:`.table_fit`): rich's
    default cut numbers with an ellipsis (a mean drift of -7.1e-15 read "-7.1054…"), and
    folding split them over lines ("8.93383e-" then "17"); where the words do not fit
    the width (40 columns), the table as ``header: cell`` lines."""
    print_table(console, table)


def yes(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"
