"""The read and write options: two small frozen objects, checked where they apply.

:class:`ReadOptions` holds what a caller may say about an input file
(delimiter, decimal mark, header, time column, columns); :class:`WriteOptions`
what it may say about an output (format, subtype).  Their types are checked
when they are made; their values against the file when it is read or
written (a delimiter only for a CSV file, a column name against the header),
so that an option never hides a problem of the file found before it: a
missing or empty file is reported first.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, spell

#: The delimiters and their spellings accepted from the command line.
_SPELLINGS = {
    ",": (",", "comma"),
    ";": (";", "semicolon"),
    "\t": ("\t", "\\t", "tab"),
    "|": ("|", "pipe"),
    " ": (" ", "space", "whitespace"),
}
#: Spelling -> delimiter.
DELIMITERS = {spelling: d for d, spellings in _SPELLINGS.items() for spelling in spellings}

#: A comma both between the cells and as the decimal mark: what the messages say of it.
COMMA_BOTH = (
    "not supported: write the file with ';' or tab between the columns, or with decimal points"
)


def _check_type(name: str, value, types: tuple) -> None:
    """TypeError unless ``value`` is None or of ``types`` (a bool only where bool is)."""
    if value is None:
        return
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        kinds = " or ".join(t.__name__ for t in types)
        raise TypeError(f"{name} must be {kinds} or None, not {value!r}")


@dataclass(frozen=True)
class ReadOptions:
    """How to read an input file; every field ``None`` means "find out".

    Attributes
    ----------
    delimiter : {",", ";", "\\t", "|", " ", "tab", "space", ...}, optional
        CSV delimiter (``" "``: runs of whitespace); sniffed by default.
    decimal : {".", ","}, optional
        CSV decimal mark; ``","`` is recognised when the delimiter is not.
    header : bool, optional
        The first row holds column names; detected by default.
    time_column : str or int, optional
        Name or 1-based number of a column carried through unfiltered, or
        ``"none"`` to switch off the detection of a time/index column.
    columns : str or sequence of str or int, optional
        Names or 1-based numbers of the columns (audio: channels) to filter,
        comma-separated or as a sequence (kept as a tuple); the others are
        carried through.  Separated by commas, a name with a comma in it is
        quoted as CSV quotes it: ``'"a,b",c'`` (as a ``time_column`` may be).
    samplerate : int, optional
        The sample rate in Hz of a CSV file that does not carry one (see
        :data:`resdenoise.io.RATE_LINE`); needed to write audio from CSV.  It must agree
        with the rate an audio file, or a CSV rate line, already gives.
    """

    delimiter: str | None = None
    decimal: str | None = None
    header: bool | None = None
    time_column: str | int | None = None
    columns: str | Sequence[str | int] | None = None
    samplerate: int | None = None

    def __post_init__(self):
        _check_type("delimiter", self.delimiter, (str,))
        _check_type("decimal", self.decimal, (str,))
        _check_type("header", self.header, (bool,))
        _check_type("time_column", self.time_column, (str, int, np.integer))
        if self.columns is not None and not isinstance(self.columns, str):
            if not isinstance(self.columns, Sequence):
                raise TypeError(f"columns must be a str or a sequence, not {self.columns!r}")
            object.__setattr__(self, "columns", tuple(self.columns))
        _check_type("samplerate", self.samplerate, (int, np.integer))
        if self.samplerate is not None and not 1 <= self.samplerate <= 2**31 - 1:
            raise ParameterError(
                f"samplerate must be a whole number of Hz from 1 to {2**31 - 1}, "
                f"not {self.samplerate!r}",
                parameters=["samplerate"],
            )

    def rate(self, found: int | None, source: str) -> int | None:
        """The input's sample rate: the one the file gives (``found``) or ``samplerate``.

        Raises ParameterError when both are given and differ: which is right
        is not guessed.
        """
        given = None if self.samplerate is None else int(self.samplerate)
        if found is not None and given is not None and found != given:
            raise ParameterError(
                f"{source}: the file gives a sample rate of {found} Hz, samplerate gives "
                f"{given}; drop samplerate (or resample with another tool)",
                parameters=["samplerate", "samplerate"],
            )
        return found if found is not None else given

    # ---- CSV ----------------------------------------------------------------

    def dialect(self) -> tuple[str | None, str | None]:
        """The delimiter (normalised) and decimal mark given, or ParameterError."""
        delim = None
        if self.delimiter is not None:
            d = self.delimiter
            key = d if d in DELIMITERS else d.strip().lower()
            if key not in DELIMITERS:
                raise ParameterError(
                    f"unknown delimiter {d!r}; use one of ',', ';', '|', tab, space"
                )
            delim = DELIMITERS[key]
        if self.decimal not in (None, ".", ","):
            raise ParameterError(f"unknown decimal mark {self.decimal!r}; use '.' or ','")
        if delim is not None and delim == self.decimal:
            raise ParameterError(
                f"the delimiter and the decimal mark are both {delim!r}, which is {COMMA_BOTH}"
            )
        return delim, self.decimal

    def time_column_index(self, header, width: int, source: str) -> int | None:
        """The time column named (index from 0), or None (also for ``"none"``)."""
        if self._no_time_column():
            return None
        t = self.time_column
        if isinstance(t, str) and t.strip().startswith('"') and len(fields := _fields(t)) == 1:
            t = fields[0]  # quoted as CSV quotes it: '"a,b"'
        return _resolve_column(t, header, width, source, "time column")

    def _no_time_column(self) -> bool:
        """No time column named: None, or ``"none"`` (any case, any blanks around)."""
        t = self.time_column
        return t is None or str(t).strip().lower() == "none"

    # ---- CSV and audio ------------------------------------------------------

    def picked(self, header, width: int, source: str, what: str = "columns") -> list[int] | None:
        """The columns (audio: channels) to filter, sorted, or None for all."""
        given = self.given_order(header, width, source, what)
        return None if given is None else sorted(given)

    def given_order(
        self, header, width: int, source: str, what: str = "columns"
    ) -> list[int] | None:
        """The columns of :meth:`picked` in the order ``columns`` names them (each once,
        a range ascending), or None for all: what per-channel values given beside them
        (``sigma``) pair with, as they would with a table's columns picked so in Python."""
        if self.columns is None:
            return None
        tokens = _split_columns(self.columns)
        picked: dict[int, None] = {}  # (ordered)
        for i, t in enumerate(tokens):
            span = _span(t, header, width, source, what)
            if span is not None:
                picked.update(dict.fromkeys(span))
                continue
            try:
                picked[_resolve_column(t, header, width, source, what)] = None
            except ParameterError as err:
                if isinstance(self.columns, str) and header is not None:
                    _joined_name_hint(tokens, i, header, f"{source}: {what}")
                raise err from None
        return list(picked)

    def in_channel_order(self, values: tuple, template) -> tuple:
        """``values`` given one per column picked, in the order ``columns`` names them
        (``b,a``: b's first), in the order of ``template``'s channels, the file's: as a
        table's columns picked so in Python pair with them.  ``values`` itself where
        that is their order, or their count is not the columns' (refused elsewhere)."""
        csv = template.format == "CSV"
        given = self.given_order(
            template.header if csv else None,
            template.width,
            template.source,
            "columns" if csv else "channels",
        )
        if given is None or len(given) != len(values) or given == sorted(given):
            return values
        value = dict(zip(given, values, strict=True))
        return tuple(value[p] for p in template.channel_positions)

    def check_audio(self, source: str, kind: str = "an audio file") -> None:
        """Raise if an option applies to CSV only (a time column)."""
        if not self._no_time_column():
            raise ParameterError(f"{source}: {kind} has no time column to name")


@dataclass(frozen=True)
class WriteOptions:
    """How to write an output file; ``None`` means "as the input".

    Attributes
    ----------
    format : str, optional
        ``"csv"`` or an audio format (``"wav"``, ``"flac"``, ...); default from
        the extension (stdout: CSV).
    subtype : str, optional
        Audio subtype such as ``"PCM_16"`` or ``"FLOAT"``; default the input's
        when the format can hold it.
    parents : bool
        Make the output's missing directories (as ``mkdir -p``), and only as it
        is put in place: a run that writes nothing makes none (its temporary
        file waits in the nearest directory that exists, on the same file
        system).  Default False: a missing directory is an error.
    input_decimals : bool
        A CSV output from a CSV input: each filtered column whose cells were all in
        fixed point written rounded to the most decimals of its input cells (the
        instrument's resolution: ``0.812``, not ``0.8173959367309871``); the report's
        ``output_info`` names them (``decimals``).  Default False: numbers by ``repr``,
        float64 round-trips exactly.
    """

    format: str | None = None
    subtype: str | None = None
    parents: bool = False
    input_decimals: bool = False

    def __post_init__(self):
        _check_type("format", self.format, (str,))
        _check_type("subtype", self.subtype, (str,))
        _check_type("parents", self.parents, (bool,))
        _check_type("input_decimals", self.input_decimals, (bool,))


def _resolve_column(token, header, width: int, source: str, what: str) -> int:
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        k = int(token)
        if 1 <= k <= width:
            return k - 1
        raise ParameterError(f"{source}: {what}: no column {k}; the file has {width}")
    tok = str(token).strip()
    if header is not None:
        folded = [h.strip().casefold() for h in header]
        nfc = [_nfc_folded(h) for h in header]  # an NFD name (macOS) typed in NFC, and back
        for names, name, how in (
            (header, tok, ""),
            (folded, tok.casefold(), " apart from case"),
            (nfc, _nfc_folded(tok), " apart from case and accent encoding (NFC, NFD)"),
        ):
            found = [p for p, h in enumerate(names) if h == name]
            if names is folded and len(found) == 1 and nfc.count(_nfc_folded(tok)) > 1:
                continue  # another column's name looks the same (NFD): asked below
            if len(found) > 1:  # which one is meant is not guessed
                numbers = ", ".join(str(p + 1) for p in found[:-1]) + f" and {found[-1] + 1}"
                raise ParameterError(
                    f"{source}: {what}: {len(found)} columns are named {tok!r}{how} ({numbers}); "
                    "name the one meant by its number"
                )
            if found:
                return found[0]
    if tok.isdigit() and 1 <= int(tok) <= width:
        return int(tok) - 1
    if tok.isdigit():  # a number out of range, not a name: say the range and what is there
        shown = [f"{p + 1} {h!r}" for p, h in enumerate((header or [])[:_NAMES_SAID])]
        more = len(header or []) - len(shown)
        listed = f" ({', '.join(shown)}{f', ... and {more} more' if more else ''})" if shown else ""
        noun = "channel" if what == "channels" else "column"
        raise ParameterError(
            f"{source}: {what}: no {noun} {int(tok)}; the file has {width} {noun}"
            f"{'s' if width != 1 else ''}{listed}, numbered from 1"
        )
    if header and len(header) > _NAMES_SAID:
        names = ", ".join(repr(h) for h in header[: _NAMES_SAID - 2])
        names += f", ... and {len(header) - _NAMES_SAID + 2} more (numbers 1 to {width})"
    else:
        names = ", ".join(repr(h) for h in header) if header else f"numbers 1 to {width}"
    raise ParameterError(f"{source}: {what}: no column {tok!r}; the columns are {names}")


def _nfc_folded(name: str) -> str:
    """``name`` without its blanks around, case-folded, in Unicode NFC (macOS gives an
    accented name, as its file names, decomposed: ``e`` and a combining accent)."""
    return unicodedata.normalize("NFC", name.strip()).casefold()


#: Column names a message lists at most (a wide file's thousand are counted, not listed).
_NAMES_SAID = 12


_SPAN = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def _span(token, header, width: int, source: str, what: str) -> range | None:
    """The columns (from 0) of a range of numbers from 1, ``2-1001`` (both ends in), or
    None for a token that is no range or that a column is named."""
    match = _SPAN.match(token) if isinstance(token, str) else None
    if match is None:
        return None
    if header is not None and token.strip().casefold() in (h.strip().casefold() for h in header):
        return None  # a column's name: resolved as one
    first, last = int(match.group(1)), int(match.group(2))
    if not 1 <= first <= last <= width:
        raise ParameterError(
            f"{source}: {what}: {token.strip()!r} is not a range of columns 1 to {width} "
            "(FIRST-LAST, FIRST not after LAST)"
        )
    return range(first - 1, last)


def _fields(text: str, delim: str = ",") -> list[str]:
    """``text`` split at its ``delim`` as a CSV row is: a field in double quotes may hold
    the delimiter (``'"a,b",c'`` -> ``['a,b', 'c']``), ``""`` in one is a quote."""
    if '"' not in text:  # as ever (and no csv module loaded for a sound file's run)
        return text.split(delim)
    import csv

    return next(csv.reader([text], delimiter=delim, skipinitialspace=True), [])


def join_row(cells, delim: str = ",", quote_all: bool = False) -> str:
    """``cells`` as one CSV row (no line end): a cell holding ``delim`` or a double quote
    quoted as CSV quotes it, every cell when ``quote_all``."""
    import csv  # not at start-up: only quoted CSV cells need it

    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(out, delimiter=delim, lineterminator="", quoting=quoting).writerow(cells)
    return out.getvalue()


def join_columns(names) -> str:
    """``names`` as one ``columns`` value: a name holding a comma or a double quote
    quoted as CSV quotes it (``['a,b', 'c']`` -> ``'"a,b",c'``)."""
    return join_row(names)


_BLANKS_AT_COMMAS = re.compile(r"\s*,\s*")


def _joined_name_hint(tokens: list, i: int, header, where: str) -> None:
    """Raise where token ``i`` was no column's name but it and its neighbours, joined by
    commas (blanks around them aside, any case), are one column's: a name with a comma
    in it, which must be given by number or quoted.  Else return."""

    def norm(name) -> str:
        return _BLANKS_AT_COMMAS.sub(",", str(name).strip().casefold())

    names = [norm(h) for h in header]
    for j in range(i + 1):
        for k in range(max(i + 1, j + 2), len(tokens) + 1):
            found = [p for p, h in enumerate(names) if h == norm(",".join(tokens[j:k]))]
            if len(found) == 1:
                p = found[0]
                value = join_columns([*tokens[:j], header[p], *tokens[k:]])
                raise ParameterError(
                    f"{where}: no column {tokens[i]!r}; {header[p]!r} (column {p + 1}) has a "
                    f"comma in its name: give its number ({p + 1}) or quote it: "
                    f"{spell('columns', value)}",
                    parameters=[("columns", value)],
                )


def _split_columns(columns) -> list:
    if isinstance(columns, str):
        tokens = [t for t in (s.strip() for s in _fields(columns)) if t]
    else:
        tokens = list(columns)
    if not tokens:
        raise ParameterError(f"columns: {columns!r} names no column")
    return tokens
