"""A logger's missing-value codes (-9999 and the like) in a CSV column: which values they
are, and the error for a column whose cells read one far outside its other values."""

from __future__ import annotations

from ..errors import SignalError
from .signal import _show, column_label

#: The values loggers and archives write for a missing reading (GHCN, Campbell, HOBO,
#: SCADA exports, NOAA ISD, 16-bit ADC rails): a column's cell of one of them, far outside
#: the column's other values, is refused as an empty cell is (:func:`missing_code`).
MISSING_CODES = (-99999.0, -9999.9, -9999.0, -999.9, -999.0, -99.99, -6999.0, -32768.0,
                 32767.0, 9999.0, 9999.9, 99999.0)  # fmt: skip


#: The other readings a column needs before a code far outside their range is refused.
_READINGS = 8


def missing_code(source: str, header, p: int, sc) -> SignalError | None:
    """The error for a column ``p`` whose cells read a missing-value code lying farther
    outside the range of its other numbers than that range is wide (a -9999 among
    temperatures: it would be filtered as a reading, or replaced by an invented one),
    or None (``sc``: the column's :class:`~resdenoise.io.csv_cells._ColumnScan`)."""
    if not sc.codes or sc.span is None or sc.readings < _READINGS:
        return None
    lo, hi = sc.span
    wide = hi - lo
    for value, (count, where) in sorted(sc.codes.items(), key=lambda kv: kv[1][1][0][0]):
        if lo - wide <= value <= hi + wide:
            continue  # inside the readings' own range: may be one
        lines = ", ".join(str(line) for line, _ in where) + (", ..." if count > 3 else "")
        return SignalError(
            f"{source}: line{'s' if count > 1 else ''} {lines}, {column_label(header, p)}: "
            f"{_show(where[0][1].strip())} looks like a logger's missing-value code "
            f"({count} {'cell' if count == 1 else 'cells'}, far outside the column's other "
            f"values, {lo:g} to {hi:g}), which would be filtered as a reading; fill the "
            "missing readings in (interpolate them), or filter the stretches between them "
            "apart"
        )
    return None
