"""The cells of a CSV file: splitting a line, telling numbers (and their decimal mark)
from text, the time column's name and values, and the one-line error of a cell that is
not a number.  Used by :mod:`resdenoise.io.csv`'s reader.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from datetime import datetime, timezone
from itertools import repeat

import numpy as np

from ..errors import ParameterError, SignalError, spell
from .csv_codes import MISSING_CODES
from .options import COMMA_BOTH, _fields
from .signal import _show, column_label, foreign_file

_SNIFF_ORDER = (",", "\t", ";", "|")


_TIME_NAMES = {
    "",
    "t",
    "time",
    "times",
    "timestamp",
    "datetime",
    "date",
    "index",
    "idx",
    "i",
    "n",
    "k",
    "sample",
    "samples",
    "frame",
    "seconds",
    "sec",
    "elapsed",
    "unnamed: 0",
}


_UNITS = re.compile(r"\s*[\[(].*?[\])]\s*$")


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*$")


def _split(line: str, delim: str, strip: bool = True) -> list[str]:
    """Split one line into stripped cells (quote-aware when quotes appear); ``strip``
    False: as written (a quoted cell's blanks, a cell's trailing ones, kept), as a line
    without quotes is split for its cells (carried back as they were)."""
    if delim == "":
        cells = [_unquoted(line) if '"' in line else line]
    elif '"' in line and delim != " ":
        cells = _fields(line, delim)
    elif '"' in line:
        cells = next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True))
    elif delim == " ":
        cells = line.split()
    else:
        cells = line.split(delim)
    return [c.strip() for c in cells] if strip else cells


def _unquoted(cell: str) -> str:
    """The one field of a line without delimiters, as the csv module reads a quoted
    field: ``"1.5"`` is 1.5, and ``""`` within the quotes one ``"``."""
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1].replace('""', '"')
    return cell


def _is_number(cell: str, decimal: str = ".") -> bool:
    if not _plain(cell.strip()):
        return False
    if decimal == ",":
        if "." in cell:  # a point among decimal commas: a thousands separator? never guessed
            return False
        cell = cell.replace(",", ".")
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _numeric_row(cells: list[str]) -> str | None:
    """The decimal mark under which every cell is a number, or None."""
    if all(_is_number(c) for c in cells):
        return "."
    if all(_is_number(c, ",") for c in cells):
        return ","
    return None


def _sniff(lines: list[str], decimal: str | None) -> str:
    """Delimiter of ``lines`` (data lines only): see the module docstring."""
    sample = lines[:64]
    body = sample[1:] or sample
    best, best_score = None, -1
    for d in _SNIFF_ORDER:
        if decimal == "," and d == ",":
            continue
        if not any(d in ln for ln in sample):
            continue
        split = [_split(ln, d) for ln in sample]
        widths = {len(cells) for cells in split}
        if len(widths) != 1 or widths.pop() < 2:
            continue
        score = 0
        for cells in split[1:] or split:
            mark = _numeric_row(cells)
            if mark is not None and (mark == "." or d != ","):
                score += 1
        if score > best_score:
            best, best_score = d, score
    if best is not None:
        return best
    ws = [len(_split(ln, " ")) for ln in body]
    if all(w == 1 for w in ws) and not any(d in ln for ln in sample for d in _SNIFF_ORDER):
        return ""
    if min(ws) >= 2 and len(set(ws)) == 1 and len(_split(sample[0], " ")) == ws[0]:
        return " "
    # ragged: choose the most frequent delimiter so that the error names the row
    counts = {d: sum(ln.count(d) for ln in sample) for d in _SNIFF_ORDER if d != decimal}
    d = max(counts, key=counts.get)
    return d if counts[d] else " "


def _time_name_kind(name: str) -> str | None:
    """How ``name`` names a time or index column: ``"strong"`` (``time``, ``t [s]``,
    ``index``, ``sample``, an empty pandas index name, ...), ``"weak"`` (a one-letter name
    that is as often a quantity: ``T`` a temperature, ``N`` a force or a count, ``n``,
    ``k``, ``i``; only lower-case ``t`` is strong) or None."""
    raw = _UNITS.sub("", name.strip().strip('"').strip())
    n = raw.lower().replace("-", "_")
    for suffix in ("_s", "_ms", "_us", "_sec", "_seconds", "_idx", "_index", "_no", "_nr"):
        if n.endswith(suffix) and n != suffix:
            n = n[: -len(suffix)]
            break
    if not (n in _TIME_NAMES or n.startswith("time")):
        return None
    return "weak" if len(n) == 1 and not raw.startswith("t") else "strong"


def _is_time_name(name: str) -> bool:
    return _time_name_kind(name) is not None


def _plain(text: str) -> bool:
    """Whether ``text`` may hold numbers: ASCII without ``_`` (Python's ``float``
    also takes ``1_000`` and digits of every script, which no CSV means)."""
    return text.isascii() and "_" not in text


def _to_float(cells: list[str], decimal: str) -> np.ndarray | None:
    joined = "".join(cells)  # (a comma made a point is as plain as it was)
    if decimal == ",":
        if "." in joined:  # 1.234: a thousands separator, or a decimal point?
            return None
        cells = [c.replace(",", ".") for c in cells]
    if not _plain(joined) and not all(_plain(c.strip()) for c in cells):
        return None  # (blanks of any script around a number are blanks)
    try:
        return np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
    except ValueError:
        return None


def _first_bad(cells, decimal) -> int | None:
    """Index of the first cell that is not a number, or None."""
    for r, cell in enumerate(cells):
        if not _plain(cell.strip()):
            return r
        if decimal == "," and "." in cell:  # as _to_float refuses it
            return r
        try:  # as _to_float converts it: float() strips fewer blanks than str.strip
            float(cell.replace(",", ".") if decimal == "," else cell)
        except ValueError:
            return r
    return None


def _bad_cell_at(
    cell,
    first_row,
    lineno,
    col,
    header,
    source,
    decimal,
    delim,
    header_hint,
    text_of=None,
    delim_given=False,
    series=False,
) -> SignalError:
    """The error for one cell that is not a number (``first_row``: the first data row;
    ``delim``: the file's delimiter, ``""`` for one column; ``header_hint``: whether a
    first row may be an undeclared header).

    A comma between the cells and in them (``"1,5","2,5"``) is refused as such: the
    delimiter's ``,`` with decimal commas, or a declared decimal comma in one column
    whose cells ``,`` splits.

    ``text_of()``: where the column holds no number at all, the columns to filter
    instead (``columns``' value), else None; asked only of a first row's cell.
    ``series``: the file has a time column, where deleting the line of a missing
    reading leaves a gap that the filter, counting samples, would not see."""
    cell = cell.strip()
    where = f"{source}: line {lineno}, {column_label(header, col)}"
    if not cell and first_row and header_hint:
        return SignalError(
            f"{where}: empty cell; if line {lineno} is a header, declare it with "
            f"{spell('header', True)}; else every sample needs a number: fill it in",
            parameters=[("header", True)],
        )
    if not cell:
        remedy = missing_remedy(lineno) if series else f"fill it in or delete line {lineno}"
        return SignalError(f"{where}: empty cell; every sample needs a number: {remedy}")
    hint, named = "", []
    grouped = _THOUSANDS.match(cell)
    if cell in EXCEL_ERRORS:
        hint = (
            " but a spreadsheet's error value (its formula failed); correct it in the "
            f"spreadsheet and export again, or delete line {lineno}"
        )
    elif grouped and grouped.group(2) and grouped.group(2)[0] != grouped.group(1):  # 1.234,5
        sep, mark = grouped.group(1), grouped.group(2)[0]
        point = "a decimal comma" if mark == "," else "a decimal point"
        hint = f" (a thousands separator {sep!r} beside {point}: remove the thousands separators)"
    elif grouped and _GROUPED.match(cell) and decimal == ".":  # 1,002
        hint = " (a thousands separator? remove the digit grouping"
        if delim == ",":
            hint += f"; a decimal comma in a comma-separated file is {COMMA_BOTH})"
        else:
            hint += "; a decimal comma? declare it with decimal=',')"
            named = [("decimal", ",")]
    elif grouped and not grouped.group(2) and cell.count(grouped.group(1)) > 1:  # 1,234,567
        hint = f" (a thousands separator {grouped.group(1)!r}? remove the digit grouping)"
    elif (decimal == "." and delim == "," and _DECIMAL_COMMA.match(cell)) or (
        decimal == "," and delim == "" and len(_split(cell, ",")) > 1
    ):  # declaring decimal=',' is no way out
        hint = f" (a decimal comma in a comma-separated file, which is {COMMA_BOTH})"
    elif decimal == "." and _DECIMAL_COMMA.match(cell):
        hint, named = " (a decimal comma? declare it with decimal=',')", [("decimal", ",")]
    elif decimal == "," and "." in cell and _is_number(cell):
        hint = " in a file of decimal commas (a thousands separator? remove it; else write ',')"
    elif not (delim_given and delim) and (  # a delimiter given that splits: no other
        other := next((d for d in _SNIFF_ORDER if d in cell and d != decimal), None)
    ):
        hint, named = f" (is the delimiter {other!r}? declare it with delimiter)", ["delimiter"]
    elif first_row and (unit := _UNIT_AFTER.match(cell)):  # 0.86 m in every cell (a logger)
        hint = (
            f" (a unit after the number? remove {unit.group(1)!r} from the column's cells: "
            "the unit belongs in the header)"
        )
    elif first_row and header_hint:
        hint = f" (if line {lineno} is a header, declare it with header=True)"
        named = [("header", True)]
    elif first_row and text_of is not None and (others := text_of()) is not None:
        hint = (
            f"; the column holds no numbers: name the columns to filter with "
            f"{spell('columns', others)}"
        )
        named = [("columns", others)]
    elif series:
        hint = f"; correct it, or, a missing reading: {missing_remedy(lineno)}"
    else:
        hint = f"; correct it or delete line {lineno}"
    return SignalError(f"{where}: {_show(cell)} is not a number{hint}", parameters=named)


def missing_remedy(lineno: int) -> str:
    """What to do with a missing reading on line ``lineno`` of a file with a time column:
    deleting the line, as elsewhere, leaves a gap the filter (counting samples) would not
    see, and the next run warns that the time column is not equally spaced."""
    return (
        "fill it in (interpolate it between its neighbours), or filter the rows before and "
        f"after line {lineno} apart, as two files (deleting line {lineno} leaves a gap in "
        "the time column)"
    )


#: A number and a unit after it (``0.86 m``, ``12.5°C``, ``3 m³/s``, ``45 %``).
_UNIT_AFTER = re.compile(
    r"^\s*[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?\s*([^\W\d_]\S*|[°%µ]\S*)\s*$"
)


def _pandas_header(cells: list[str]) -> bool:
    """Whether a first row is the header pandas writes for an unnamed DataFrame or
    Series (``,0,1``: an empty index name over columns named 0, 1, ...), which holds
    numbers but is no data row (whose first sample would be missing)."""
    return len(cells) >= 2 and cells == ["", *map(str, range(len(cells) - 1))]


_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")


#: A number with digit grouping (``1,234``, ``1.234.567``, ``1'234``) and maybe a decimal
#: mark and fraction after the groups (``1.234,5``, ``1,234.5``: group 2).
#: The error values a spreadsheet writes for a formula that failed (Excel's, which
#: LibreOffice shares): a cell of data, not the ``#`` of a comment line.
EXCEL_ERRORS = (
    "#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!",
)  # fmt: skip
_EXCEL_ERROR = re.compile(r"\s*(?:" + "|".join(map(re.escape, EXCEL_ERRORS)) + r")(?:[\s,;|]|$)")


def excel_error(line: str) -> bool:
    """Whether ``line`` (a cell, or a line) starts with a spreadsheet's error value."""
    return _EXCEL_ERROR.match(line) is not None


_THOUSANDS = re.compile(r"^\s*[+-]?[1-9]\d{0,2}(?:([.,'])\d{3})(?:\1\d{3})*([.,]\d+)?\s*$")


#: A number with one comma before exactly three digits and one to three digits before it,
#: not starting with 0: ``1,002`` is a thousand and two with digit grouping, or one
#: and two thousandths with a decimal comma.
_GROUPED = re.compile(r"^\s*[+-]?[1-9]\d{0,2},\d{3}\s*$")


#: A cell of a time column that is a number (either decimal mark): the rest are text.
_NUMBER_FORM = re.compile(r"^\s*[+-]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][+-]?\d+)?\s*$")


def _integer_header(rows: list[list[str]], decimal: str) -> bool | None:
    """Whether a first row of whole numbers (``rows[0]``) over rows of numbers is a
    header: True for pandas' names of an unnamed DataFrame (``0,1,...``, two columns or
    more) over rows whose every cell has a fraction or an exponent (as pandas writes
    floats); False where another row of whole numbers stands so over such rows
    (``400,450,500``, pandas' ``0`` of a Series: names or a sample? the caller asks);
    None where nothing tells the first row from the others."""
    first, rest = rows[0], rows[1:]
    if not rest or not all(_INTEGER.match(c) for c in first):
        return None
    for row in rest:
        if len(row) != len(first):
            return None
        for c in row:
            if _INTEGER.match(c) or not _is_number(c, decimal):
                return None
    return len(first) >= 2 and first == [str(i) for i in range(len(first))]


def _unsure_header(source: str, lineno: int, line: str) -> ParameterError:
    """The refusal of a first row of whole numbers over rows of fractions: column names
    (pandas names an unnamed Series' column ``0``) or the first sample?"""
    return ParameterError(
        f"{source}: line {lineno} ({_show(line.strip())}) holds whole numbers over rows of "
        f"fractions: column names (as pandas writes for unnamed columns) or a first "
        f"sample? declare it with {spell('header', True)} or {spell('header', False)}",
        parameters=[("header", True), ("header", False)],
    )


def _grouped_commas(rows: list[list[str]], linenos: list[int], names, source: str):
    """Where every number with a comma among ``rows`` (a file's first data rows, line
    numbers ``linenos``; ``names``: its first row's cells if they are names, else None)
    reads as digit grouping as well as a decimal comma (``1,002``: no other comma as in
    ``0,5`` or ``12,25`` tells), the refusal that asks which, naming the first; else None."""
    first = None
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if _DECIMAL_COMMA.match(cell):
                if not _GROUPED.match(cell):
                    return None
                first = first or (linenos[r], c, cell)
    if first is None:
        return None
    lineno, c, cell = first
    return ParameterError(
        f"{source}: line {lineno}, {column_label(names, c)}: {_show(cell.strip())}: a "
        f"thousands separator or a decimal comma (every comma in the file's first rows has "
        f"three digits after it)? remove the digit grouping, or declare a decimal comma "
        f"with {spell('decimal', ',')}",
        parameters=[("decimal", ",")],
    )


#: Rows of text under the header, before the numbers, taken for rows of units (or other
#: names), not for the time column's norm: a logger's ``s,degC`` line (a cell without
#: digits: time stamps have them).
_UNDER_HEADER = 2


def _mixed_time(source: str, header, text_at, number_at) -> SignalError | None:
    """The refusal of a first column named like time that holds numbers and text
    (``text_at``, ``number_at``: ``(line, cell)`` of the first of each, or None): a footer
    or summary row (``Total``), an error cell of a logger (``ERR``); timestamps are text
    in every row, time stamps as numbers are numbers in every row."""
    if text_at is None or number_at is None:
        return None
    units = not any(ch.isdigit() for ch in text_at[1])  # (a time stamp has digits)
    if units and 0 < number_at[0] - text_at[0] <= _UNDER_HEADER:  # then numbers: units
        first, last = text_at[0], number_at[0] - 1
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        return SignalError(
            f"{source}: {lines}, {column_label(header, 0)}: {_show(text_at[1].strip())} is not "
            f"a number, unlike the time column's cells after it (line {number_at[0]}: "
            f"{_show(number_at[1].strip())}): units under the header? delete {lines}, or "
            f"start {'it' if first == last else 'each'} with # to keep "
            f"{'it' if first == last else 'them'} in the output (comment lines are copied "
            "where they were)"
        )
    if number_at[0] < text_at[0]:
        (lineno, cell), (other, like), kind = text_at, number_at, "not a number"
    else:
        (lineno, cell), (other, like), kind = number_at, text_at, "a number"
    return SignalError(
        f"{source}: line {lineno}, {column_label(header, 0)}: {_show(cell.strip())} is {kind}, "
        f"unlike the time column's cells before it (line {other}: {_show(like.strip())}; a "
        f"footer, a summary row, an error code?): correct it or delete line {lineno}"
    )


def _preamble_above(source: str, lines: list[str], linenos, delim: str, decimal: str):
    """The refusal of lines above a header over rows of numbers that are no header (a
    logger's station block without ``#``: ``Station,Kaub`` / ``Lat,50.08`` / ``time,level``
    / rows), or None: ``lines`` the first data lines (numbered ``linenos``).  Such lines
    start with text, and some hold a number beside it (``Lat,50.08``) or have another
    number of fields than the rows: not the header and a units row under it
    (``time,temp`` / ``s,degC``), which :func:`_mixed_time` names."""
    rows = [_split(line, delim) if delim else [line.strip()] for line in lines]
    numeric = [all(_is_number(c, decimal) for c in cells) for cells in rows]
    j = max((i for i, ok in enumerate(numeric) if not ok), default=-1)  # the header
    width = len(rows[j])
    if j < 1 or len(rows) - j < 3 or any(len(cells) != width for cells in rows[j:]):
        return None
    above = rows[:j]
    if any(_is_number(cells[0], decimal) for cells in above):  # a row: its first cell a number
        return None
    if not any(len(c) != width or any(_is_number(x, decimal) for x in c) for c in above):
        return None
    first, last = linenos[0], linenos[j - 1]
    them = f"line {first}" if first == last else f"lines {first}-{last}"
    return SignalError(
        f"{source}: {them} {'looks' if first == last else 'look'} like a preamble (a station's name, its place) above the "
        f"header on line {linenos[j]} ({_show(lines[j].strip())}) and its rows of numbers; "
        f"delete {them}, or start {'it' if first == last else 'each'} with # to keep "
        f"{'it' if first == last else 'them'} in the output"
    )


def _time_axis_unnamed(source: str, name: str | None, equal: bool) -> ParameterError:
    """The refusal of a first column whose name is not time-like (``Year``, ``Zeit``;
    ``name`` None: a file without a header, whose first column is not exactly equally
    spaced: a logger's index with a lost sample, ``millis()`` stamps with jitter) but
    whose values are strictly monotone (``equal``: and equally spaced), as a time
    axis's are: filtering a time axis destroys it, carrying a signal leaves it unfiltered;
    the user says which."""
    how = "monotone and equally spaced" if equal else "strictly monotone"
    if name is None:
        what = (
            "column 1 (no header) is strictly monotone, as a time axis is, but not equally "
            "spaced (a sample index with a lost sample, time stamps with jitter?)"
        )
    else:
        what = f"the first column {_show(name.strip() or '(unnamed)')} is {how}, as a time axis is"
    return ParameterError(
        f"{source}: {what}; carry it unchanged with {spell('time_column', '1')}, or filter it "
        f"with {spell('time_column', 'none')}",
        parameters=[("time_column", "1"), ("time_column", "none")],
    )


def _time_elsewhere(source: str, header, p: int, others: str, every: str) -> ParameterError:
    """The refusal of a column besides the first (``p``) named like time whose values
    never decrease (or never increase): pandas' index before a ``time`` column, an
    instrument's ``Sample,Elapsed [s],...``; ``others``: the columns to filter without it,
    ``every``: with it."""
    return ParameterError(
        f"{source}: {column_label(header, p)} is named like a time column and is monotone, "
        f"but only a first column is taken for one; name the columns to filter: "
        f"{spell('columns', others)} carries it unchanged, {spell('columns', every)} "
        f"filters it",
        parameters=[("columns", others), ("columns", every)],
    )


def _uneven(source: str, header, scan, unit: str = "") -> tuple[str, ...]:
    """The warning of a time column found by its name and values (``scan``: its
    :class:`_TimeScan`; ``unit`` of its steps, " s" for text stamps) whose steps differ by
    more than half the smallest (a gap, uneven stamps), or nothing: the filters take the
    samples as equally spaced."""
    if scan.count < 3 or not (scan.increasing or scan.decreasing):
        return ()  # (repeated stamps: rounded, their spacing not told)
    small, large = sorted((abs(scan.dt_min), abs(scan.dt_max)))
    if not large > 1.5 * small or not math.isfinite(large):
        return ()
    return (
        f"{source}: {column_label(header, 0)} is not equally spaced (steps {small:.6g}{unit} "
        f"to {large:.6g}{unit}): the filter takes the samples as equally spaced (its time and blocks "
        "count samples, not the column's units); resample first, or filter the segments apart",
    )


#: An ISO 8601 stamp's date: 2026-03-01, then a time or nothing.
_ISO_DATE = re.compile(r"\s*\d{4}-\d\d-\d\d(?:[T ]|\s*$)")


def _dated(cells: list[str]) -> bool:
    """Whether every cell of ``cells`` starts with an ISO 8601 date (``2026-03-01``,
    ``2026-03-01T00:15Z``; not a year alone, ``17``, which NumPy also reads as a stamp):
    a first column of such cells is a time column whatever its name."""
    return all(map(_ISO_DATE.match, cells))


def _stamp_seconds(cells: list[str]) -> np.ndarray | None:
    """ISO 8601 time stamps (``2026-12-01 10:01:39``, ``2026-12-01T10:01:39+01:00``, a
    date) as seconds since the epoch, a stamp without a zone taken as UTC (only their
    steps are used); None where a cell is not such a stamp.  NumPy parses stamps without
    a zone (0.2 us a stamp); the others go through :meth:`datetime.fromisoformat`."""
    cells = [c.strip() for c in cells]
    if not all(c[:1].isdigit() for c in cells):  # (NumPy also reads 'NaT', 'now', 'today')
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a zone: NumPy warns, deprecated
            return np.array(cells, dtype="datetime64[us]").astype(np.int64) / 1e6
    except (ValueError, Warning):
        pass
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        try:
            stamp = datetime.fromisoformat(cell)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        out[i] = stamp.timestamp()
    return out


#: A line's last double quote opening a cell it does not close, and a line's first one
#: closing a cell it did not open (any delimiter: the two before the delimiter is known).
_OPENS = re.compile(r'(?:^|[,;\t| ])\s*"(?:[^"]|"")*$')
_CLOSES = re.compile(r'^(?:[^"]|"")*"\s*(?:[,;\t| ]|$)')


def _quoted_break(source: str, lines: list[str], linenos) -> SignalError | None:
    """The refusal of a quoted cell with a line break in it (Excel's wrapped header
    ``"Temp<Alt+Enter>[degC]"``, a note): two lines in a row (``lines``, numbered
    ``linenos``) of an odd number of double quotes each, the first opening a cell at its
    end and the second closing it; else None."""
    odd = [i for i, line in enumerate(lines) if line.count('"') % 2]
    for i in odd:
        if i + 1 >= len(lines):
            break
        a, b = lines[i], lines[i + 1]
        if b.count('"') % 2 and _OPENS.search(a) and _CLOSES.match(b):
            return SignalError(
                f"{source}: line {linenos[i]}: a quoted cell has a line break in it (lines "
                f"{linenos[i]} to {linenos[i + 1]}), which resdenoise does not read; remove the "
                "line break from the cell"
            )
    return None


#: An integer of 16 digits or more, alone in its cell (cells joined by NUL).
_LONG_INTEGER = re.compile(r"(?:^|\x00)\s*[+-]?(\d{16,})\s*(?=\x00|$)")


def _inexact(cells: list[str], a: np.ndarray, linenos) -> tuple | None:
    """``(line, cell, value)`` of the first cell of ``cells`` (numbers ``a``) that is an
    integer float64 does not hold (beyond 2**53: ``9007199254740993`` is
    ``9007199254740992.0``), or None."""
    with np.errstate(invalid="ignore"):
        if not np.any(np.abs(a) >= 2.0**53):  # every integer below is held (the usual case)
            return None
    joined = "\x00".join(cells)
    for match in _LONG_INTEGER.finditer(joined):
        r = joined.count("\x00", 0, match.start(1))
        value = float(a[r])
        if math.isfinite(value) and int(cells[r].strip()) != int(value):
            return linenos[r], cells[r].strip(), value
    return None


def _inexact_note(source: str, header, found) -> tuple[str, ...]:
    """The warning of the first integer float64 does not hold among the filtered columns'
    ``found`` (``(column, _inexact's answer or None)``), or nothing."""
    found = [(at[0], p, at) for p, at in found if at is not None]
    if not found:
        return ()
    _, p, (lineno, cell, value) = min(found)
    return (
        f"{source}: line {lineno}, {column_label(header, p)}: {cell} is not exactly a float64 "
        f"number (an integer beyond 2**53); it is filtered as {value!r}",
    )


#: A line of two whole numbers split by a comma, or one number with a decimal comma.
_COMMA_PAIR = re.compile(r"^\s*[+-]?\d+,(\d+)\s*$")


def _split_decimal(source: str, lines: list[str], linenos) -> ParameterError | None:
    """The question a file of lines ``20,04`` asks (``lines``: its first data lines, no
    header, the delimiter sniffed as ``,`` and no decimal mark given): two columns of
    whole numbers, or one column with a decimal comma?  Asked where every line is so and
    a number after the comma has a leading zero (``04``: a fraction's digits, not a
    whole number's); else None."""
    matches = [_COMMA_PAIR.match(line) for line in lines]
    if not matches or not all(matches):
        return None
    for m, line, lineno in zip(matches, lines, linenos, strict=False):
        after = m.group(1)
        if len(after) > 1 and after[0] == "0":
            return ParameterError(
                f"{source}: line {lineno} ({_show(line.strip())}): two columns of whole "
                f"numbers, or one column with a decimal comma ({after!r} after the comma has "
                f"a leading zero)? declare {spell('decimal', ',')} for one column, or "
                f"{spell('delimiter', ',')} for two",
                parameters=[("decimal", ","), ("delimiter", ",")],
            )
    return None


#: Save-as advice for a spreadsheet's own format.
_SAVE_AS_CSV = "save it as CSV (in Excel: File > Save As > CSV UTF-8)"


def _not_csv(head: bytes) -> str | None:
    """What a file is whose first bytes (``head``, no byte-order mark) show a common
    non-CSV file given as CSV, with the remedy: a workbook (``.xlsx``, ``.xls``), a zip
    or gzip archive, UTF-16 text without a byte-order mark, a recording or a macOS
    metadata file (:func:`~resdenoise.io.signal.foreign_file`); else None."""
    if (what := foreign_file(head)) is not None:
        return what
    if head.startswith(b"PK\x03\x04"):
        if b"xl/" in head[:65536] or b"[Content_Types].xml" in head[:65536]:
            return f"an Excel workbook (.xlsx, a zip archive), not CSV text; {_SAVE_AS_CSV}"
        return "a zip archive, not CSV text; unzip it, or pipe it: unzip -p FILE | resdenoise ... -"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return f"an Excel 97-2003 workbook (.xls), not CSV text; {_SAVE_AS_CSV}"
    if head.startswith(b"\x1f\x8b"):
        return (
            "gzip-compressed, not CSV text; decompress it, or pipe it: zcat FILE | resdenoise ... -"
        )
    sample = head[: min(len(head), 512) // 2 * 2]
    if len(sample) >= 4:
        for name, text, zeros in (
            ("le", sample[0::2], sample[1::2]),
            ("be", sample[1::2], sample[0::2]),
        ):
            if not zeros.strip(b"\x00") and b"\x00" not in text and text.isascii():
                return (
                    f"UTF-16 text without a byte-order mark, not UTF-8; save it as UTF-8 (e.g. "
                    f"iconv -f utf-16{name} -t utf-8 in.csv > out.csv)"
                )
    return None


def _unsure_time(source: str, name: str, weak: bool = False) -> ParameterError:
    """The refusal of a first column named like time (``name``) whose numbers go up and
    down (``weak``: a one-letter name whose numbers are not a strictly monotone, equally
    spaced clock or index): filtering it as a signal may destroy time stamps, carrying it
    may leave a signal unfiltered; the user says which."""
    shown = name.strip() or "(unnamed)"
    if weak:
        what = (
            "is named like a time or index column, but a one-letter name is as often a "
            "quantity (a temperature, a force, a count) and its values are not an equally "
            "spaced clock or index"
        )
    else:
        what = "is named like a time column but its values go up and down"
    return ParameterError(
        f"{source}: the first column {_show(shown)} {what}; carry it unchanged with "
        f"{spell('time_column', '1')}, or filter it with {spell('time_column', 'none')}",
        parameters=[("time_column", "1"), ("time_column", "none")],
    )


def _columns(
    data_lines: list[str], delim: str, width: int, quoted: bool
) -> list[list[str]] | tuple[int, int]:
    """The cells of ``data_lines`` column by column, or (row, fields) of the first ragged row.

    ``quoted``: a double quote occurs somewhere (else a plain split is safe).
    """
    if delim == "" and not quoted:
        return [data_lines]
    if delim not in ("", " ") and not quoted:
        counts = list(map(str.count, data_lines, repeat(delim, len(data_lines))))
        if min(counts) != width - 1 or max(counts) != width - 1:
            r = next(i for i, c in enumerate(counts) if c != width - 1)
            return r, counts[r] + 1
        flat = delim.join(data_lines).split(delim)
        return [flat[p::width] for p in range(width)]
    rows = [_split(ln, delim, strip=False) for ln in data_lines]
    widths = list(map(len, rows))
    if min(widths) != width or max(widths) != width:
        r = next(i for i, w in enumerate(widths) if w != width)
        return r, widths[r]
    return [list(col) for col in zip(*rows, strict=True)]


#: Deletes what a whole number's cell may hold (a cell that reads as a number and keeps
#: nothing after it is written as a whole number).
_NOT_WHOLE = str.maketrans("", "", "0123456789+- \t\x00")
#: The characters of cells in fixed point (:meth:`_ColumnScan.fixed`), by decimal mark.
_NOT_FIXED = {m: str.maketrans("", "", "0123456789+- \t\x00" + m) for m in ".,"}


class _ColumnScan:
    """What the checking pass learns about one CSV column."""

    __slots__ = (
        "nonempty",
        "all_nonempty",
        "bad",
        "nonfinite",
        "numeric",
        "text_at",
        "number_at",
        "inexact",
        "integers",
        "places",
        "most_places",
        "codes",
        "span",
        "readings",
    )

    def __init__(self):
        self.nonempty = False  # some cell is not blank (else: a trailing delimiter)
        self.all_nonempty = True  # no cell is blank (timestamps)
        self.bad = None  # (row, line, cell) of the first cell that is not a number
        self.nonfinite = None  # (line, cell) of the first inf/nan
        self.numeric = True  # every cell so far is a finite number
        self.text_at = self.number_at = None  # (line, cell): the first text, number (time)
        self.inexact = None  # (line, cell, value) of the first integer float64 cannot hold
        self.integers = True  # every number so far written as a whole number (ADC counts)
        self.places = None  # every number so far written with this many decimals (0: none
        # yet; False: not so, or not in fixed-point)
        self.most_places = 0  # the most decimals of a cell (None: a cell not in fixed point)
        self.codes: dict = {}  # missing-value code: [cells reading it, first lines (3)]
        self.span = None  # (lowest, highest) of the other finite numbers
        self.readings = 0  # how many they are

    def coded(self, cells: list[str], a: np.ndarray, linenos) -> None:
        """Note the cells of a batch (``a``: their numbers) that read as a missing-value
        code (:data:`MISSING_CODES`) and the range of the others."""
        code = np.isin(a, MISSING_CODES)
        for r in np.flatnonzero(code):
            seen = self.codes.setdefault(float(a[r]), [0, []])
            seen[0] += 1
            if len(seen[1]) < 3:
                seen[1].append((linenos[r], cells[r]))
        rest = a[~code & np.isfinite(a)]
        self.readings += rest.size
        if rest.size:
            lo, hi = float(rest.min()), float(rest.max())
            self.span = (lo, hi) if self.span is None else (
                min(lo, self.span[0]), max(hi, self.span[1]))  # fmt: skip

    def whole(self, cells: list[str]) -> None:
        """Note whether the cells of a batch that all read as numbers are whole numbers
        as written (digits and a sign only: ``2048``, not ``2048.0`` nor ``2e3``)."""
        if self.integers:
            self.integers = not "\x00".join(cells).translate(_NOT_WHOLE)

    def fixed(self, cells: list[str], mark: str) -> None:
        """Note whether the cells of a batch that all read as numbers are written in
        fixed point with one number of decimals (``1.40``, ``9,00``: a logger's
        resolution), as :attr:`places` (False where not: ``1.4`` beside ``1.40``,
        ``2e3``, a whole number); and the most decimals of any cell, as
        :attr:`most_places` (None where a cell is not in fixed point: ``2e3``)."""
        if self.most_places is None:
            return
        joined = "\x00".join(cells)
        if joined.translate(_NOT_FIXED[mark]):  # 2e3: not in fixed point
            self.places, self.most_places = False, None
            return
        places = {len(c.rstrip()) - c.find(mark) - 1 if mark in c else 0 for c in cells}
        self.most_places = max(self.most_places, *places)
        if self.places is False:
            return
        if len(places) != 1 or self.places not in (None, *places) or 0 in places:
            self.places = False
        else:
            self.places = places.pop()

    def mixed(self, cells: list[str], linenos, a) -> None:
        """Note the first text and number cells of the time column's batch ``cells``
        (``a``: their numbers, None where one is not)."""
        if a is not None:
            if self.number_at is None:
                self.number_at = (linenos[0], cells[0])
            return
        if self.number_at is None:
            r = next((i for i, c in enumerate(cells) if _NUMBER_FORM.match(c)), None)
            if r is not None:
                self.number_at = (linenos[r], cells[r])
        if self.text_at is None:
            r = next(
                (i for i, c in enumerate(cells) if c.strip() and not _NUMBER_FORM.match(c)), None
            )
            if r is not None:
                self.text_at = (linenos[r], cells[r])


class _TimeScan:
    """The monotone / equally spaced test of :meth:`looks_like_time`, one block at a time.

    A column named like time need only be monotone with ties allowed (non-decreasing or
    non-increasing): stamps rounded to their resolution repeat, and integer epoch
    nanoseconds beyond 2**53 round to equal float64 neighbours (a monotone rounding
    keeps them in order).  An unnamed column must be strictly monotone and equally spaced.
    """

    def __init__(self):
        self.count = 0
        self.first = self.last = None
        self.increasing = self.decreasing = True
        self.rising = self.falling = True  # ties allowed
        self.dt0 = None
        self.dt_min = math.inf
        self.dt_max = -math.inf

    def add(self, t: np.ndarray) -> None:
        if t.size == 0:
            return
        if self.last is not None:
            t_ext = np.concatenate([[self.last], t])
        else:
            t_ext = t
            self.first = float(t[0])
        with np.errstate(over="ignore", invalid="ignore"):  # 1e308 - -1e308: inf
            dt = np.diff(t_ext)
        if dt.size:
            if self.dt0 is None:
                self.dt0 = float(dt[0])
            self.increasing = self.increasing and bool(np.all(dt > 0))
            self.decreasing = self.decreasing and bool(np.all(dt < 0))
            self.rising = self.rising and bool(np.all(dt >= 0))
            self.falling = self.falling and bool(np.all(dt <= 0))
            self.dt_min = min(self.dt_min, float(dt.min()))
            self.dt_max = max(self.dt_max, float(dt.max()))
        self.count += t.size
        self.last = float(t[-1])

    @property
    def moved(self) -> bool:
        """Whether the values are not all one."""
        return self.count >= 2 and self.first != self.last

    def axis(self) -> str | None:
        """How an unnamed-like-time column's numbers look like a time axis's: ``"equal"``
        (strictly monotone and equally spaced, 3 values or more), ``"monotone"``
        (strictly monotone, 8 values or more: noise is so in 2 draws of 8! = 40320), or
        None."""
        if self.looks_like_time(False):
            return "equal"
        if (self.increasing or self.decreasing) and self.count >= 8:
            return "monotone"
        return None

    def looks_like_time(self, named: bool) -> bool:
        if self.count < 2:
            return False
        if named:
            return self.rising or self.falling
        if not (self.increasing or self.decreasing) or self.count < 3:
            return False  # before the steps' spread: steps of both signs may overflow it
        scale = max(abs(self.first), abs(self.last))
        extremes = np.array([self.dt_min, self.dt_max])
        return bool(np.all(np.isclose(extremes, self.dt0, rtol=1e-6, atol=1e-9 * scale)))


def most_line_end(crlf: int, cr: int, lf: int) -> str:
    """The line end an output writes: the one most of the file's lines end in (``crlf``,
    ``cr``, ``lf``: how many of each were met, a CRLF counted in all three), CRLF where
    as many end so as another way; LF for a file without one.  A line pasted from
    another system does not make every line of the output end its way."""
    ends = {"\r\n": crlf, "\n": lf - crlf, "\r": cr - crlf}
    most = max(ends, key=ends.__getitem__)
    return most if ends[most] else "\n"
