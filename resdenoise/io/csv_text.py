"""The text of a CSV output: its preamble and header, its rows (numbers by ``repr``:
float64 round-trips exactly; the input's decimal mark, delimiter, quoting and trailing
delimiter) and the input's comment lines placed among them where they were.  Used by
:mod:`resdenoise.io.writers`, whole (:func:`csv_bytes`) or block by block.
"""

from __future__ import annotations

import bisect
import codecs
import os
from dataclasses import replace

import numpy as np

from ..errors import SignalError
from .options import join_row
from .signal import RATE_LINE, UTF16_BE, CsvLayout, Signal, csv_rate, excel_sep

__all__ = [
    "TAB_EXTENSIONS",
    "comments_after",
    "csv_bytes",
    "csv_dialect",
    "csv_head_lines",
    "csv_row_lines",
    "delimited_for",
    "placed",
    "repr_column",
    "rounded_column",
    "rounded_for",
]


def repr_column(
    values: np.ndarray, decimal: str, whole: bool = False, places: int | None = None
) -> list[str]:
    """The cells of a column of numbers by ``repr``; ``whole``: a column whose input was
    written in whole numbers, whose whole values (below 2**53, not -0.0) are written so
    (``2048``: a value the run left as it was is written as read); ``places``: a column
    whose input was written with so many decimals (``1.40``), whose values that are
    exactly numbers of so many decimals are written so (``1.40``, not ``1.4``; every
    other value by ``repr``: nothing is rounded)."""
    cells = list(map(repr, values.tolist())) if places is None else _fixed(values, places)
    if whole:
        with np.errstate(invalid="ignore"):
            at = (values == np.trunc(values)) & (np.abs(values) < 2.0**53)
        at &= ~((values == 0) & np.signbit(values))
        if at.all():
            cells = list(map(str, values.astype(np.int64).tolist()))
        else:
            for i in np.flatnonzero(at).tolist():
                cells[i] = str(int(values[i]))
    if decimal == ",":
        cells = [c.replace(".", ",") for c in cells]
    return cells


def _fixed(values: np.ndarray, places: int) -> list[str]:
    """The cells of ``values`` with ``places`` decimals where that reads back as the
    same float64 (the nearest double to ``k / 10**places``, an integer ``k`` below
    2**50, well within a double: IEEE division is correctly rounded, as reading the text
    is), else by ``repr``."""
    scale = 10.0**places
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.rint(values * scale)
        exact = (np.abs(k) < 2.0**50) & (k / scale == values)
    form = f"{{:.{places}f}}".format
    if exact.all():
        return list(map(form, values.tolist()))
    cells = list(map(repr, values.tolist()))
    for i in np.flatnonzero(exact).tolist():
        cells[i] = form(values[i])
    return cells


def rounded_column(values: np.ndarray, decimal: str, places: int) -> list[str]:
    """The cells of a column rounded to ``places`` decimals (``places`` 0: whole
    numbers), as asked for (``input_decimals``)."""
    form = f"{{:.{places}f}}".format
    cells = [form(v) for v in values.tolist()]
    if places:  # -0.000 reads as 0.000 (a value rounded to zero: no sign to keep)
        cells = [c[1:] if c[0] == "-" and not c.strip("-0.") else c for c in cells]
    elif cells:
        cells = ["0" if c == "-0" else c for c in cells]
    if decimal == ",":
        cells = [c.replace(".", ",") for c in cells]
    return cells


def rounded_for(sig: Signal, rounded: bool) -> Signal:
    """``sig`` as a CSV output written with ``input_decimals`` (``rounded``) writes it."""
    if not rounded or sig.format != "CSV" or not sig.layout.decimals:
        return sig
    return replace(sig, layout=replace(sig.layout, rounded=True))


def csv_bytes(sig: Signal, data: np.ndarray) -> bytes:
    layout, _ = csv_dialect(sig)
    lines = csv_head_lines(sig)
    lines.extend(placed(csv_row_lines(sig, data, sig.carried), layout.comments, 0))
    lines.extend(comments_after(layout.comments, data.shape[0]))
    text = layout.newline.join(lines) + layout.newline
    return encoder(layout.encoding).encode(text, True)


def encoder(encoding: str) -> codecs.IncrementalEncoder:
    """An incremental encoder of a CSV output's ``encoding`` (:data:`UTF16_BE` too)."""
    if encoding != UTF16_BE:
        return codecs.getincrementalencoder(encoding)()
    return _MarkedBigEndian()


class _MarkedBigEndian(codecs.IncrementalEncoder):
    """UTF-16 big-endian, its byte-order mark first."""

    def __init__(self, errors: str = "strict"):
        super().__init__(errors)
        self._inner = codecs.getincrementalencoder("utf-16-be")(errors)
        self._mark = codecs.BOM_UTF16_BE

    def encode(self, text: str, final: bool = False) -> bytes:
        out, self._mark = self._mark + self._inner.encode(text, final), b""
        return out


#: Output extensions that name tab-separated values, whatever the input's delimiter.
TAB_EXTENSIONS = (".tsv", ".tab")


def delimited_for(path: str, sig: Signal) -> Signal:
    """``sig`` as a CSV output at ``path`` writes it: tab-separated for a ``.tsv`` or
    ``.tab`` name (a TSV reader sees one column in commas), else as it is; and as it is
    where ``path`` is its input, replaced in place (the file keeps its delimiter)."""
    if os.path.splitext(path)[1].lower() not in TAB_EXTENSIONS or sig.delimiter == "\t":
        return sig
    if _is_file(path, sig.source):
        return sig
    return replace(sig, delimiter="\t", layout=replace(sig.layout, header_text=None))


def _is_file(path: str, source: str) -> bool:
    """Whether the output ``path`` is the input file ``source`` (written in place)."""
    try:
        return os.path.samefile(path, source)
    except (OSError, ValueError):
        return False


def csv_dialect(sig: Signal) -> tuple[CsvLayout, str]:
    """Layout and delimiter of the CSV output (the input's, or plain for audio input;
    tabs where :func:`delimited_for` says)."""
    if sig.format == "CSV":
        return sig.layout, sig.delimiter
    return CsvLayout(), "\t" if sig.delimiter == "\t" else ","


def csv_head_lines(sig: Signal) -> list[str]:
    """The preamble and header lines of the CSV output (without line ends)."""
    layout, delim = csv_dialect(sig)
    lines = list(layout.preamble)
    sep = bool(lines) and excel_sep(lines[0]) is not None  # Excel's sep=;: first, always
    if sep and delim == "\t":  # a .tsv output (delimited_for)
        lines[0] = "sep=\t"
    if sig.samplerate and csv_rate(lines) is None:
        lines.insert(int(sep), RATE_LINE.format(rate=int(sig.samplerate)))
    tail = delim if layout.trailing_delimiter else ""
    header = sig.header if sig.format == "CSV" else None
    if header is not None and not layout.header_in_preamble:
        if layout.header_text is not None:  # as written (the input's delimiter)
            lines.append(layout.header_text)
        else:
            lines.append(join_row(header, delim, layout.quote_header) + tail)
    return lines


def comments_after(comments, rows: int) -> list[str]:
    """The input's comment lines after its last row, ``rows`` rows (written at the end)."""
    return [text for row, text in comments if row >= rows]


def placed(rows, comments, start: int):
    """``rows`` (the file's rows from number ``start``) with the input's comment lines
    among them where they were: before the row they preceded (those after the last
    row of the file are written at its end)."""
    if not comments:
        return rows
    rows = list(rows)
    stop = start + len(rows)
    lo = bisect.bisect_left(comments, (start,))
    hi = bisect.bisect_left(comments, (stop,))
    if lo == hi:
        return rows
    out, at = [], 0
    for row, text in comments[lo:hi]:
        out.extend(rows[at : row - start])
        out.append(text)
        at = row - start
    out.extend(rows[at:])
    return out


def csv_row_lines(sig: Signal, data: np.ndarray, carried: dict):
    """The data rows (without line ends) of ``data`` and the ``carried`` cells beside it.

    Quoting is decided per call (any call of a file gives the same rows:
    minimal quoting leaves a cell alone unless it needs quotes).
    """
    layout, delim = csv_dialect(sig)
    n = data.shape[0]
    chans = data.reshape(n, -1)
    positions = sig.channel_positions
    width = len(positions) + len(carried)
    cols: list[list[str] | None] = [None] * width
    for k, p in enumerate(positions):
        if layout.rounded and (d := dict(layout.decimals).get(p)) is not None:
            cols[p] = rounded_column(chans[:, k], layout.decimal, d)
            continue
        places = dict(layout.places).get(p)
        cols[p] = repr_column(chans[:, k], layout.decimal, p in layout.whole_columns, places)
    for p, cells in carried.items():
        if isinstance(cells, np.ndarray):
            cells = repr_column(np.asarray(cells, dtype=np.float64), layout.decimal)
        if len(cells) != n:
            raise SignalError(
                f"{sig.source}: carried column {p + 1} has {len(cells)} rows, not {n}"
            )
        cols[p] = cells
    tail = delim if layout.trailing_delimiter else ""
    texts = (
        "\x00".join(cells) for cells in carried.values() if not isinstance(cells, np.ndarray)
    )  # each carried text column as one string: does a cell hold the delimiter or a quote?
    needs_quotes = layout.quote_data or any(delim in t or '"' in t for t in texts)
    if needs_quotes:
        return [join_row(row, delim, layout.quote_data) + tail for row in zip(*cols, strict=True)]
    rows = cols[0] if len(cols) == 1 else map(delim.join, zip(*cols, strict=True))
    return rows if not tail else (row + tail for row in rows)
