"""Reading and writing signals: CSV, audio (through soundfile), stdin/stdout.

Knows nothing about diffusion.  :func:`read_signal` returns a :class:`Signal`
(float array shaped ``(n,)`` or ``(n, channels)`` plus everything needed to
write the result back as the same kind of file); :func:`write_signal` and
:func:`write_files_atomic` write to a temporary file beside each target and
rename it into place, so a failure never leaves an empty or partial file.
Every problem with a file is raised as :class:`~resdenoise.errors.SignalError`
naming the file and, where it applies, the line and column; an option that
does not fit the file (an unknown column name, a subtype the format lacks)
is a :class:`~resdenoise.errors.ParameterError`.

CSV dialects
------------
The delimiter is sniffed (comma, tab, semicolon, pipe, runs of whitespace, or
a single column) unless given; UTF-8 with or without a byte-order mark (and
UTF-16 with one), LF, CRLF or CR line ends, quoted fields, ``#`` comment
lines and blank lines are accepted.  A header row is detected (a first row
without a single number in it) or declared.  A decimal comma (``1,5;2,25``)
is recognised when the delimiter is not a comma, or declared.  The comment
and blank lines before the data (the preamble) are written back verbatim; a
last preamble comment with the column names (``np.savetxt(header=...)``)
serves as the header.

A time or index column is carried through unchanged and not filtered: the
first column when its header is time-like (``time``, ``t [s]``, ``index``,
``sample``, an empty pandas index name, ...) and its values are monotone
(or not numbers at all, as timestamps), or, without a header, the first of
several columns when it is exactly equally spaced; or the column named
(or numbered from 1) by ``time_column``.  ``columns`` picks the channels to
filter by name or number; the columns not picked are carried through
unchanged like the time column (they need not be numeric).  The output keeps
the preamble, header, delimiter, decimal mark, line ends, encoding and
column order; numbers are written with ``repr`` so float64 round-trips
exactly.

Audio
-----
Everything libsndfile reads (WAV, WAVE extensible, FLAC, OGG, AIFF, ...).
Integer PCM is read exactly (as int32, scaled by 2**-31) and written from
quantised integers, clipped (and counted) rather than wrapped; the output
keeps samplerate, channels, major format and subtype unless told otherwise.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
import stat
import struct
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ParameterError, SignalError

__all__ = [
    "STDIO",
    "CsvLayout",
    "Signal",
    "SignalStream",
    "SignalWriter",
    "check_output_path",
    "encode_signal",
    "guess_format",
    "looks_like_audio",
    "open_signal_stream",
    "parse_signal",
    "read_signal",
    "spool_stdin",
    "write_bytes_atomic",
    "write_files_atomic",
    "write_signal",
]

#: The path that means stdin (reading) or stdout (writing).
STDIO = "-"

#: Audio formats by extension (soundfile's format names).
AUDIO_EXTENSIONS = {
    ".wav": "WAV",
    ".wave": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".opus": "OGG",
    ".aiff": "AIFF",
    ".aif": "AIFF",
    ".aifc": "AIFF",
    ".au": "AU",
    ".snd": "AU",
    ".caf": "CAF",
    ".w64": "W64",
    ".rf64": "RF64",
    ".mp3": "MP3",
}
CSV_EXTENSIONS = {".csv", ".tsv", ".txt", ".dat", ".tab"}

#: Integer PCM subtypes and their bit depths: read and written exactly.
PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
#: Subtypes that hold any float: never clipped.
FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}

_AUDIO_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"caff", b"ID3")

#: Delimiter spellings accepted from the command line.
DELIMITERS = {
    ",": ",",
    "comma": ",",
    ";": ";",
    "semicolon": ";",
    "\t": "\t",
    "\\t": "\t",
    "tab": "\t",
    "|": "|",
    "pipe": "|",
    " ": " ",
    "space": " ",
    "whitespace": " ",
}
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


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file was written, so that the output looks the same.

    Attributes
    ----------
    decimal : {".", ","}
    newline : {"\\n", "\\r\\n", "\\r"}
    encoding : {"utf-8", "utf-8-sig", "utf-16"}
    preamble : tuple of str
        Comment and blank lines before the first row, written back verbatim.
    header_in_preamble : bool
        The header came from the last preamble comment (not written again).
    quote_header, quote_data : bool
        Every field of the header / first data row was quoted.
    trailing_delimiter : bool
        Every row ended with a delimiter.
    """

    decimal: str = "."
    newline: str = "\n"
    encoding: str = "utf-8"
    preamble: tuple[str, ...] = ()
    header_in_preamble: bool = False
    quote_header: bool = False
    quote_data: bool = False
    trailing_delimiter: bool = False


@dataclass
class Signal:
    """A signal and how it was stored.

    Attributes
    ----------
    data : ndarray, shape (n,) or (n, channels)
        The channels to filter, as float64.  Audio is scaled to [-1, 1) as
        soundfile does.
    source : str
        File name for messages (``"<stdin>"`` for ``-``).
    format : str
        ``"CSV"`` or a soundfile format name such as ``"WAV"``.
    samplerate : int or None
    subtype : str or None
        Audio subtype such as ``"PCM_16"``.
    header : list of str or None
        The names of all the file's columns, in file order.
    delimiter : str
        CSV delimiter (``" "`` for runs of whitespace).
    positions : tuple of int or None
        The column (or audio channel) of the file that each channel of
        ``data`` came from; ``None`` means ``0, 1, ...``.
    carried : dict
        Column index -> the column's cells (list of str for CSV, a float
        array for audio): columns that are written back unchanged.
    time_column : int or None
        Index of the time/index column (also in ``carried``).
    layout : CsvLayout
    """

    data: np.ndarray
    source: str = "<memory>"
    format: str = "CSV"
    samplerate: int | None = None
    subtype: str | None = None
    header: list[str] | None = None
    delimiter: str = ","
    info: dict = field(default_factory=dict)
    positions: tuple[int, ...] | None = None
    carried: dict[int, Any] = field(default_factory=dict)
    time_column: int | None = None
    layout: CsvLayout = field(default_factory=CsvLayout)

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 1 else self.data.shape[1]

    @property
    def channel_positions(self) -> tuple[int, ...]:
        if self.positions is None:
            return tuple(range(self.channels))
        return self.positions

    @property
    def width(self) -> int:
        """Number of columns (channels) of the file, filtered or carried."""
        return self.channels + len(self.carried)

    @property
    def channel_names(self) -> list[str]:
        """Header names of the filtered channels (``"1"``, ``"2"``, ... without one)."""
        return [_column_name(self.header, p) for p in self.channel_positions]

    @property
    def carried_names(self) -> list[str]:
        """Names of the columns written back unchanged (the time column first)."""
        order = sorted(self.carried, key=lambda p: (p != self.time_column, p))
        return [_column_name(self.header, p) for p in order]

    def with_data(self, data: np.ndarray) -> Signal:
        """The same file description with other samples (same shape)."""
        data = np.asarray(data, dtype=np.float64)
        if data.shape != self.data.shape:
            raise ValueError(f"data has shape {data.shape}, the signal {self.data.shape}")
        return replace(self, data=data, info={})


def _column_name(header, p: int) -> str:
    if header is not None and p < len(header):
        return header[p]
    return str(p + 1)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _show(cell: str, limit: int = 40) -> str:
    return repr(cell if len(cell) <= limit else cell[:limit] + "...")


def guess_format(path: str, given: str | None = None) -> str:
    """``"CSV"`` or a soundfile format name, from ``given`` or the extension.

    Raises
    ------
    ParameterError
        ``given`` names no format soundfile knows.
    SignalError
        The extension tells nothing.
    """
    if given:
        g = given.strip().upper().lstrip(".")
        if g in ("CSV", "TSV", "TXT", "DAT", "TAB"):
            return "CSV"
        ext = "." + g.lower()
        if ext in AUDIO_EXTENSIONS:
            return AUDIO_EXTENSIONS[ext]
        if g == "AUDIO" or g in _soundfile_formats():
            return g
        raise ParameterError(
            f"unknown format {given!r}; use csv or one of "
            + ", ".join(sorted(k.lower() for k in _soundfile_formats()))
        )
    if path == STDIO:
        return "CSV"
    ext = Path(path).suffix.lower()
    if ext in AUDIO_EXTENSIONS:
        return AUDIO_EXTENSIONS[ext]
    if ext in CSV_EXTENSIONS or ext == "":
        return "CSV"
    if ext[1:].upper() in _soundfile_formats():
        return ext[1:].upper()
    raise SignalError(
        f"{path}: cannot tell the format from the extension {ext!r}; "
        "use .csv, .wav, .flac, .ogg (or input_format/output_format)",
        parameters=["input_format", "output_format"],
    )


def looks_like_audio(head: bytes) -> bool:
    """Whether the first bytes of a file (at least 4) are an audio file's magic number."""
    return head[:4] in _AUDIO_MAGIC or head[:3] == b"ID3"


def _soundfile_formats() -> dict:
    import soundfile

    return soundfile.available_formats()


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_signal(
    path: str | os.PathLike,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
    time_column: str | int | None = None,
    columns: str | Sequence[str | int] | None = None,
) -> Signal:
    """Read a signal from a CSV or audio file, or ``-`` (stdin).

    Parameters
    ----------
    path : str or path-like
        The file, or ``"-"`` for stdin.
    fmt : str, optional
        ``"csv"`` or an audio format; default from the extension (stdin:
        audio if the bytes start like an audio file, else CSV).
    delimiter : {",", ";", "\\t", "|", " ", "tab", "space", ...}, optional
        CSV delimiter (``" "``: runs of whitespace); sniffed by default.
    decimal : {".", ","}, optional
        CSV decimal mark; ``","`` is recognised when the delimiter is not.
    header : bool, optional
        The first row holds column names; detected by default.
    time_column : str or int, optional
        Name or 1-based number of a column carried through unfiltered, or
        ``"none"`` to switch off the detection of a time/index column.
    columns : str or sequence, optional
        Names or 1-based numbers of the columns (audio: channels) to filter,
        as a sequence or comma-separated; the others are carried through.

    Returns
    -------
    Signal

    Raises
    ------
    SignalError
        Missing, unreadable or empty file, no data, fewer than 2 samples,
        non-numeric or non-finite values, ragged rows, undecodable or
        truncated audio.
    ParameterError
        An option does not fit the file (unknown column, bad delimiter).
    """
    path = os.fspath(path)
    source = "<stdin>" if path == STDIO else str(path)
    if path == STDIO:
        try:
            raw = sys.stdin.buffer.read()
        except (OSError, AttributeError, ValueError) as exc:
            raise SignalError(f"<stdin>: cannot read: {_one_line(exc)}") from None
        if fmt is None and looks_like_audio(raw):
            fmt = "AUDIO"
    else:
        raw = _read_bytes(path)
    return parse_signal(
        raw,
        guess_format(path, fmt),
        source,
        delimiter=delimiter,
        decimal=decimal,
        header=header,
        time_column=time_column,
        columns=columns,
    )


def _read_bytes(path: str) -> bytes:
    _stat_input(path)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except PermissionError:
        raise SignalError(f"{path}: permission denied; cannot read the file") from None
    except OSError as exc:
        raise SignalError(f"{path}: cannot read: {_one_line(exc.strerror or exc)}") from None


def _stat_input(path: str) -> os.stat_result:
    """``os.stat`` of an input file, or the SignalError saying why it is not one."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SignalError(f"{path}: no such file") from None
    except NotADirectoryError:
        raise SignalError(f"{path}: no such file (a part of the path is not a directory)") from None
    except OSError as exc:
        raise SignalError(f"{path}: cannot read: {_one_line(exc.strerror or exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SignalError(f"{path}: is a directory, not a signal file")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise SignalError(f"{path}: is a device or socket, not a signal file")
    return st


def parse_signal(
    raw: bytes,
    fmt: str = "CSV",
    source: str = "<memory>",
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
    time_column: str | int | None = None,
    columns: str | Sequence[str | int] | None = None,
) -> Signal:
    """Parse the bytes of a CSV (``fmt="CSV"``) or audio file (any other ``fmt``).

    The keyword arguments are those of :func:`read_signal`; ``source`` names
    the file in messages.  The returned data are finite float64 with at
    least 2 samples.

    Raises
    ------
    SignalError, ParameterError
        As :func:`read_signal`.
    """
    if not raw:
        raise SignalError(f"{source}: file is empty (0 bytes)")
    if fmt == "CSV":
        sig = _read_csv(raw, source, delimiter, decimal, header, time_column, columns)
    else:
        if time_column not in (None, "none", "None", "NONE"):
            raise ParameterError(f"{source}: an audio file has no time column to name")
        sig = _read_audio(raw, source, columns)
    _check_samples(sig)
    return sig


def _check_samples(sig: Signal) -> None:
    n = sig.data.shape[0]
    if n < 2:
        what = "data row" if sig.format == "CSV" else "sample"
        raise SignalError(
            f"{sig.source}: {n} {what}{'' if n == 1 else 's'}; a signal needs at least 2 samples"
        )
    if not np.all(np.isfinite(sig.data)):
        idx = np.argwhere(~np.isfinite(sig.data.reshape(n, -1)))[0]
        value = float(sig.data.reshape(n, -1)[idx[0], idx[1]])
        raise SignalError(
            f"{sig.source}: sample {idx[0] + 1}, channel {idx[1] + 1} is {value!r}, "
            "not a finite number"
        )


# ---- CSV ------------------------------------------------------------------


def _normalise_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    key = delimiter if delimiter in DELIMITERS else delimiter.strip().lower()
    if key not in DELIMITERS:
        raise ParameterError(
            f"unknown delimiter {delimiter!r}; use one of ',', ';', '|', tab, space"
        )
    return DELIMITERS[key]


def _decode(raw: bytes, source: str) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8-sig", raw[len(codecs.BOM_UTF8) :]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", raw
    else:
        encoding, body = "utf-8", raw
    try:
        text = body.decode("utf-8" if encoding != "utf-16" else "utf-16")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise SignalError(
            f"{source}: line {line}: not a text file (byte {exc.start + 1} is not {encoding.upper()}"
            "); expected CSV, or give an audio file a .wav/.flac extension"
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise SignalError(
            f"{source}: line {line}: binary data (a NUL byte); expected CSV text, "
            "or give an audio file a .wav/.flac extension"
        )
    return text, encoding


def _split(line: str, delim: str) -> list[str]:
    """Split one line into stripped cells (quote-aware when quotes appear)."""
    if delim == "":
        cells = [line]
    elif '"' in line:
        if delim == " ":
            cells = next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True))
        else:
            cells = next(csv.reader([line], delimiter=delim, skipinitialspace=True))
    elif delim == " ":
        cells = line.split()
    else:
        cells = line.split(delim)
    return [c.strip() for c in cells]


def _is_number(cell: str, decimal: str = ".") -> bool:
    if decimal == ",":
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
    """Delimiter of ``lines`` (data lines only): see the module notes."""
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


def _is_time_name(name: str) -> bool:
    n = _UNITS.sub("", name.strip().strip('"').strip()).lower()
    n = n.replace("-", "_")
    for suffix in ("_s", "_ms", "_us", "_sec", "_seconds", "_idx", "_index", "_no", "_nr"):
        if n.endswith(suffix) and n != suffix:
            n = n[: -len(suffix)]
            break
    return n in _TIME_NAMES or n.startswith("time")


def _resolve_column(token, header, width: int, source: str, what: str) -> int:
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        k = int(token)
        if 1 <= k <= width:
            return k - 1
        raise ParameterError(f"{source}: {what}: no column {k}; the file has {width}")
    tok = str(token).strip()
    if header is not None:
        if tok in header:
            return header.index(tok)
        folded = [h.strip().casefold() for h in header]
        if tok.casefold() in folded:
            return folded.index(tok.casefold())
    if tok.isdigit() and 1 <= int(tok) <= width:
        return int(tok) - 1
    names = ", ".join(repr(h) for h in header) if header else f"numbers 1 to {width}"
    raise ParameterError(f"{source}: {what}: no column {tok!r}; the columns are {names}")


def _split_columns(columns) -> list:
    if isinstance(columns, str):
        tokens = [t for t in (s.strip() for s in columns.split(",")) if t]
    else:
        tokens = list(columns)
    if not tokens:
        raise ParameterError(f"columns: {columns!r} names no column")
    return tokens


def _to_float(cells: list[str], decimal: str) -> np.ndarray | None:
    if decimal == ",":
        cells = [c.replace(",", ".") for c in cells]
    try:
        return np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
    except ValueError:
        return None


def _bad_cell(cells, decimal, linenos, col, header, source, first_row_header_hint) -> SignalError:
    r = _first_bad(cells, decimal)
    if r is None:  # pragma: no cover
        name = f" ({header[col]!r})" if header else ""
        return SignalError(f"{source}: column {col + 1}{name}: not numbers")
    return _bad_cell_at(
        cells[r], r == 0, linenos[r], col, header, source, decimal, first_row_header_hint
    )


def _first_bad(cells, decimal) -> int | None:
    """Index of the first cell that is not a number, or None."""
    for r, cell in enumerate(cells):
        cell = cell.strip()
        try:
            float(cell.replace(",", ".") if decimal == "," else cell)
        except ValueError:
            return r
    return None


def _bad_cell_at(
    cell, first_row, lineno, col, header, source, decimal, first_row_header_hint
) -> SignalError:
    """The error for one cell that is not a number (``first_row``: the first data row)."""
    cell = cell.strip()
    name = f" ({header[col]!r})" if header else ""
    where = f"{source}: line {lineno}, column {col + 1}{name}"
    if not cell:
        return SignalError(f"{where}: empty cell; every sample needs a number")
    hint, named = "", []
    if decimal == "." and _DECIMAL_COMMA.match(cell):
        hint, named = " (a decimal comma? declare it with decimal=',')", [("decimal", ",")]
    elif other := next((d for d in _SNIFF_ORDER if d in cell and d != decimal), None):
        hint, named = f" (is the delimiter {other!r}? declare it with delimiter)", ["delimiter"]
    elif first_row and first_row_header_hint:
        hint = f" (if line {lineno} is a header, declare it with header=True)"
        named = [("header", True)]
    return SignalError(f"{where}: {_show(cell)} is not a number{hint}", parameters=named)


def _data_lines(lines: list[str], comments: bool) -> tuple[Sequence[int], list[str]]:
    """Line numbers (from 1) and text of the lines that are neither blank nor comments.

    ``comments`` says whether a ``#`` occurs at all; without comments or
    inner blank lines the numbers are a ``range`` (no per-line work).
    """
    stripped = list(map(str.strip, lines))
    first = 0
    while first < len(stripped) and not stripped[first]:
        first += 1
    last = len(stripped)
    while last > first and not stripped[last - 1]:
        last -= 1
    if not comments and stripped.count("") == len(stripped) - (last - first):
        return range(first + 1, last + 1), lines[first:last]
    linenos = [i for i, s in enumerate(stripped, 1) if s and s[0] != "#"]
    return linenos, [lines[i - 1] for i in linenos]


def _columns(
    data_lines: list[str], delim: str, width: int, quoted: bool
) -> list[list[str]] | tuple[int, int]:
    """The cells of ``data_lines`` column by column, or (row, fields) of the first ragged row.

    ``quoted``: a double quote occurs somewhere (else a plain split is safe).
    """
    if delim == "":
        return [data_lines]
    if delim != " " and not quoted:
        counts = list(map(str.count, data_lines, repeat(delim, len(data_lines))))
        if min(counts) != width - 1 or max(counts) != width - 1:
            r = next(i for i, c in enumerate(counts) if c != width - 1)
            return r, counts[r] + 1
        flat = delim.join(data_lines).split(delim)
        return [flat[p::width] for p in range(width)]
    rows = [_split(ln, delim) for ln in data_lines]
    widths = list(map(len, rows))
    if min(widths) != width or max(widths) != width:
        r = next(i for i, w in enumerate(widths) if w != width)
        return r, widths[r]
    return [list(col) for col in zip(*rows, strict=True)]


def _read_csv(raw, source, delimiter, decimal, header_opt, time_column, columns) -> Signal:
    delim = _normalise_delimiter(delimiter)
    if decimal not in (None, ".", ","):
        raise ParameterError(f"unknown decimal mark {decimal!r}; use '.' or ','")
    if delim is not None and delim == decimal:
        raise ParameterError(f"the delimiter and the decimal mark are both {delim!r}")
    text, encoding = _decode(raw, source)
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text and "\n" not in text else "\n")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    linenos, data_lines = _data_lines(lines, "#" in text)
    if not linenos:
        raise SignalError(f"{source}: no data (only blank or comment lines)")
    preamble = lines[: linenos[0] - 1]

    if delim is None:
        delim = _sniff(data_lines[:64], decimal)
    if delim == "" or delim not in text:
        delim = ""
    out_delim = delim if delim else ","
    cells0 = _split(data_lines[0], delim)

    if decimal is None:
        sample = [c for ln in data_lines[:64] for c in _split(ln, delim)]
        comma = delim != "," and any(_DECIMAL_COMMA.match(c) for c in sample)
        decimal = "," if comma else "."
    # header: declared, or a first row without a single number in it
    if header_opt is None:
        has_header = not any(_is_number(c, decimal) for c in cells0)
    else:
        has_header = bool(header_opt)
    header = None
    header_in_preamble = False
    quote_header = False
    width = len(cells0)
    ref = f"line {linenos[0]}"
    if has_header:
        header = cells0
        quote_header = data_lines[0].lstrip().startswith('"')
        ref = f"the header on line {linenos[0]}"
        header_line = linenos[0]
        linenos, data_lines = linenos[1:], data_lines[1:]
        if not linenos:
            raise SignalError(f"{source}: header on line {header_line} but no data rows")

    cols_raw = _columns(data_lines, delim, width, '"' in text)
    if isinstance(cols_raw, tuple):  # ragged: (row, number of fields)
        r, got = cols_raw
        raise SignalError(
            f"{source}: line {linenos[r]} has {got} fields, expected {width} as on "
            f"{ref} (delimiter {out_delim!r}; every row needs the same number of columns)"
        )
    trailing = width >= 2 and not any(map(str.strip, cols_raw[-1]))
    if trailing and (header is None or not header[-1]):
        cols_raw.pop()
        width -= 1
        if header is not None:
            header = header[:-1]
    else:
        trailing = False
    quote_data = data_lines[0].lstrip().startswith('"')

    if header is None and header_opt is None and preamble:
        last = next((ln for ln in reversed(preamble) if ln.strip()), "")
        if last.lstrip().startswith("#"):
            names = _split(last.lstrip()[1:].strip(), delim) if delim else [last.lstrip()[1:]]
            names = [n.strip() for n in names]
            if len(names) == width and not any(_is_number(n, decimal) for n in names):
                header, header_in_preamble = names, True

    # which columns are filtered, which are carried through
    tcol = None
    if time_column is not None and str(time_column).strip().lower() != "none":
        tcol = _resolve_column(time_column, header, width, source, "time column")
    picked = None
    if columns is not None:
        picked = sorted(
            {_resolve_column(t, header, width, source, "columns") for t in _split_columns(columns)}
        )
        if tcol is not None and tcol in picked:
            raise ParameterError(
                f"{source}: column {_column_name(header, tcol)!r} is both the time column "
                "and a column to filter"
            )
    if tcol is None and time_column is None and width >= 2 and (picked is None or 0 not in picked):
        if _looks_like_time(cols_raw[0], header, decimal):
            tcol = 0
    positions = [p for p in range(width) if p != tcol and (picked is None or p in picked)]
    if not positions:
        raise ParameterError(f"{source}: no column left to filter besides the time column")

    arrays = []
    for p in positions:
        cells = cols_raw[p]
        a = _to_float(cells, decimal)
        if a is None:
            raise _bad_cell(
                cells, decimal, linenos, p, header, source, header is None and header_opt is None
            )
        if not np.all(np.isfinite(a)):
            r = int(np.flatnonzero(~np.isfinite(a))[0])
            name = f" ({header[p]!r})" if header else ""
            raise SignalError(
                f"{source}: line {linenos[r]}, column {p + 1}{name}: {_show(cells[r].strip())} "
                "is not a finite number"
            )
        arrays.append(a)
    data = arrays[0] if len(arrays) == 1 else np.stack(arrays, axis=1)
    carried = {p: list(map(str.strip, cols_raw[p])) for p in range(width) if p not in positions}
    layout = CsvLayout(
        decimal=decimal,
        newline=newline,
        encoding=encoding,
        preamble=tuple(preamble),
        header_in_preamble=header_in_preamble,
        quote_header=quote_header,
        quote_data=quote_data,
        trailing_delimiter=trailing,
    )
    return Signal(
        data=data,
        source=source,
        format="CSV",
        header=header,
        delimiter=out_delim,
        positions=tuple(positions),
        carried=carried,
        time_column=tcol,
        layout=layout,
    )


def _looks_like_time(cells: list[str], header, decimal: str) -> bool:
    """A time/index first column: see the module notes."""
    named = header is not None and _is_time_name(header[0])
    if header is not None and not named:
        return False
    t = _to_float(cells, decimal)
    if t is None or not np.all(np.isfinite(t)):
        # timestamps such as 2024-01-01T00:00:00 under a time-like name
        return named and all(c.strip() for c in cells)
    if t.size < 2:
        return False
    dt = np.diff(t)
    monotone = bool(np.all(dt > 0) or np.all(dt < 0))
    if named:
        return monotone
    scale = max(abs(float(t[0])), abs(float(t[-1])))
    equal = np.allclose(dt, dt[0], rtol=1e-6, atol=1e-9 * scale)
    return monotone and t.size >= 3 and bool(equal)


# ---- audio ----------------------------------------------------------------


def _check_chunks(raw: bytes, source: str) -> None:
    """Detect a truncated RIFF/RIFX (WAV) or FORM (AIFF) file.

    libsndfile silently shortens a file whose data chunk is cut off; we want
    an error.  Sizes meaning "unknown length" (streamed output) are accepted.
    """
    _walk_chunks(lambda pos, k: raw[pos : pos + k], len(raw), source)


def _walk_chunks(read_at, total: int, source: str) -> None:
    """:func:`_check_chunks` on a file of ``total`` bytes read by ``read_at(pos, k)``."""
    head = read_at(0, 12)
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        endian, data_id, pos = ("<" if head[:4] == b"RIFF" else ">"), b"data", 12
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        endian, data_id, pos = ">", b"SSND", 12
    else:
        return
    while pos + 8 <= total:
        chunk = read_at(pos, 8)
        cid = chunk[:4]
        (size,) = struct.unpack(endian + "I", chunk[4:8])
        if cid == data_id:
            if size == 0 or size >= 0x7FFF0000:
                return
            have = total - pos - 8
            if size > have:
                raise SignalError(
                    f"{source}: truncated audio: the {cid.decode()} chunk promises {size} "
                    f"bytes, the file holds {have}"
                )
            return
        pos += 8 + size + (size & 1)


_AUDIO_ERRORS = (RuntimeError, TypeError, ValueError, OverflowError, MemoryError, EOFError)


def _audio_error(exc: Exception, head: bytes, source: str) -> SignalError:
    """The error for an audio file soundfile cannot read (``head``: its first bytes)."""
    msg = getattr(exc, "error_string", None) or str(exc)
    msg = re.sub(r"^Error opening (<[^>]*>|'[^']*'): ", "", _one_line(msg)).rstrip(".")
    hint, named = "", []
    if b"\x00" not in head[:4096]:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head[:4096], final=False)
            hint, named = (
                "; if it is CSV text, say so with input_format='csv'",
                [("input_format", "csv")],
            )
        except UnicodeDecodeError:
            pass
    return SignalError(f"{source}: not a readable audio file ({msg}){hint}", parameters=named)


def _read_audio(raw: bytes, source: str, columns=None) -> Signal:
    import soundfile

    _check_chunks(raw, source)
    try:
        with soundfile.SoundFile(io.BytesIO(raw)) as f:
            subtype, fmt, rate, channels = f.subtype, f.format, f.samplerate, f.channels
            frames = f.frames
            dtype = "int32" if subtype in PCM_BITS else "float64"
            blocks, total = [], 0
            while True:
                block = f.read(1 << 16, dtype=dtype, always_2d=True)
                if block.shape[0] == 0:
                    break
                blocks.append(block)
                total += block.shape[0]
                if total >= frames:
                    break
    except _AUDIO_ERRORS as exc:
        raise _audio_error(exc, raw[:4096], source) from None
    if total < frames:
        raise SignalError(
            f"{source}: truncated audio: the header promises {frames} frames, found {total}"
        )
    data = np.concatenate(blocks) if blocks else np.zeros((0, max(channels, 1)), dtype=dtype)
    if dtype == "int32":
        data = data.astype(np.float64) / 2.0**31
    positions = tuple(range(channels))
    carried = {}
    if columns is not None:
        picked = sorted(
            {
                _resolve_column(t, None, channels, source, "channels")
                for t in _split_columns(columns)
            }
        )
        carried = {p: data[:, p].copy() for p in range(channels) if p not in picked}
        positions = tuple(picked)
        data = data[:, picked]
    if data.shape[1] == 1:
        data = data[:, 0]
    return Signal(
        data=np.ascontiguousarray(data),
        source=source,
        format=fmt,
        samplerate=rate,
        subtype=subtype,
        positions=positions,
        carried=carried,
    )


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def write_signal(
    path: str | os.PathLike, sig: Signal, fmt: str | None = None, subtype: str | None = None
) -> dict:
    """Write ``sig`` to ``path`` (``-``: stdout) atomically.

    The format follows ``fmt`` or the extension of ``path`` (stdout: CSV); a
    CSV keeps the preamble, header, delimiter, decimal mark, line ends and
    carried columns, audio keeps samplerate, channels and subtype (a CSV
    written as audio has 44100 Hz unless ``sig.samplerate`` says otherwise
    and holds only the filtered channels).

    Returns
    -------
    dict
        ``{"clipped": n, "format": ..., "subtype": ...}``: ``n`` samples
        were outside the range of the integer (or companded) subtype and
        were clipped rather than wrapped.

    Raises
    ------
    SignalError
        Cannot write, non-finite data, or cannot encode.
    ParameterError
        ``fmt`` or ``subtype`` unknown or not possible together.
    """
    payload, stats = encode_signal(path, sig, fmt, subtype)
    write_files_atomic([(path, payload)])
    return stats


def encode_signal(
    path: str | os.PathLike, sig: Signal, fmt: str | None = None, subtype: str | None = None
) -> tuple[bytes, dict]:
    """The bytes :func:`write_signal` would write to ``path``, and its stats."""
    path = os.fspath(path)
    target = "<stdout>" if path == STDIO else path
    fmt = guess_format(path, fmt)
    data = np.asarray(sig.data, dtype=np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        raise SignalError(
            f"{target}: {int(bad.sum())} output values are not finite (the run diverged); "
            "nothing written"
        )
    if fmt == "CSV":
        if subtype is not None:
            raise ParameterError(f"{target}: a subtype ({subtype!r}) applies to audio output only")
        return _csv_bytes(sig, data), {"clipped": 0, "format": "CSV", "subtype": None}
    return _audio_bytes(sig, data, fmt, subtype, target)


def _repr_column(values: np.ndarray, decimal: str) -> list[str]:
    cells = list(map(repr, values.tolist()))
    if decimal == ",":
        cells = [c.replace(".", ",") for c in cells]
    return cells


def _csv_bytes(sig: Signal, data: np.ndarray) -> bytes:
    layout, _ = _csv_dialect(sig)
    lines = _csv_head_lines(sig)
    lines.extend(_csv_row_lines(sig, data, sig.carried))
    text = layout.newline.join(lines) + layout.newline
    return text.encode(layout.encoding)


def _csv_dialect(sig: Signal) -> tuple[CsvLayout, str]:
    """Layout and delimiter of the CSV output (the input's, or plain for audio input)."""
    if sig.format == "CSV":
        return sig.layout, sig.delimiter
    return CsvLayout(), ","


def _csv_head_lines(sig: Signal) -> list[str]:
    """The preamble and header lines of the CSV output (without line ends)."""
    layout, delim = _csv_dialect(sig)
    lines = list(layout.preamble)
    tail = delim if layout.trailing_delimiter else ""
    header = sig.header if sig.format == "CSV" else None
    if header is not None and not layout.header_in_preamble:
        lines.append(_join_quoted(header, delim, layout.quote_header) + tail)
    return lines


def _csv_row_lines(sig: Signal, data: np.ndarray, carried: dict):
    """The data rows (without line ends) of ``data`` and the ``carried`` cells beside it.

    Quoting is decided per call (any call of a file gives the same rows:
    minimal quoting leaves a cell alone unless it needs quotes).
    """
    layout, delim = _csv_dialect(sig)
    n = data.shape[0]
    chans = data.reshape(n, -1)
    positions = sig.channel_positions
    width = len(positions) + len(carried)
    cols: list[list[str] | None] = [None] * width
    for k, p in enumerate(positions):
        cols[p] = _repr_column(chans[:, k], layout.decimal)
    for p, cells in carried.items():
        if isinstance(cells, np.ndarray):
            cells = _repr_column(np.asarray(cells, dtype=np.float64), layout.decimal)
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
        return [
            _join_quoted(row, delim, layout.quote_data) + tail for row in zip(*cols, strict=True)
        ]
    rows = cols[0] if len(cols) == 1 else map(delim.join, zip(*cols, strict=True))
    return rows if not tail else (row + tail for row in rows)


def _join_quoted(cells, delim: str, quote_all: bool) -> str:
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(buf, delimiter=delim, lineterminator="", quoting=quoting).writerow(cells)
    return buf.getvalue()


def _check_subtype(target: str, fmt: str, subtype: str | None) -> str | None:
    if subtype is None:
        return None
    if fmt == "CSV":
        raise ParameterError(f"{target}: a subtype ({subtype!r}) applies to audio output only")
    import soundfile

    subtype = subtype.strip().upper()
    if fmt != "AUDIO" and not soundfile.check_format(fmt, subtype):
        raise ParameterError(
            f"{target}: {fmt} cannot hold subtype {subtype!r}; it can hold "
            + ", ".join(sorted(soundfile.available_subtypes(fmt)))
        )
    return subtype


def _audio_bytes(
    sig: Signal, data: np.ndarray, fmt: str, subtype: str | None, target: str
) -> tuple[bytes, dict]:
    import soundfile

    fmt, subtype = _audio_target(sig, fmt, subtype, target)
    out, clipped = _audio_frames(sig, data, sig.carried, subtype)
    rate = sig.samplerate or 44100
    buf = io.BytesIO()
    try:
        soundfile.write(buf, out, rate, subtype=subtype, format=fmt)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise _encode_error(target, fmt, subtype, exc) from None
    return buf.getvalue(), {"clipped": clipped, "format": fmt, "subtype": subtype}


def _audio_target(sig: Signal, fmt: str, subtype: str | None, target: str) -> tuple[str, str]:
    """The audio format and subtype to write ``sig`` as (``fmt`` from :func:`guess_format`)."""
    import soundfile

    if fmt == "AUDIO":
        fmt = sig.format if sig.format != "CSV" else "WAV"
    if fmt == "WAV" and sig.format in ("WAVEX",):
        fmt = sig.format  # keep WAVE extensible when writing to .wav
    if subtype is not None:
        subtype = _check_subtype(target, fmt, subtype)
    elif sig.subtype is not None and soundfile.check_format(fmt, sig.subtype):
        subtype = sig.subtype
    else:
        subtype = soundfile.default_subtype(fmt)
        if subtype is None:
            raise ParameterError(f"{target}: cannot write {fmt} audio; choose another format")
    return fmt, subtype


def _audio_frames(
    sig: Signal, data: np.ndarray, carried: dict, subtype: str
) -> tuple[np.ndarray, int]:
    """The frames to hand to soundfile for ``data`` (and carried channels), and the clip count."""
    n = data.shape[0]
    chans = data.reshape(n, -1)
    if sig.format != "CSV" and carried:
        full = np.empty((n, len(sig.channel_positions) + len(carried)))
        for k, p in enumerate(sig.channel_positions):
            full[:, p] = chans[:, k]
        for p, col in carried.items():
            full[:, p] = col
        chans = full
    clipped = 0
    if subtype in PCM_BITS:
        bits = PCM_BITS[subtype]
        top = 2.0 ** (bits - 1)
        q = np.rint(chans * top)
        over = (q > top - 1) | (q < -top)
        clipped = int(np.count_nonzero(over))
        q = np.clip(q, -top, top - 1)
        out = (q.astype(np.int64) << (32 - bits)).astype(np.int32)
    elif subtype in FLOAT_SUBTYPES:
        out = chans
    else:
        over = np.abs(chans) > 1.0
        clipped = int(np.count_nonzero(over))
        out = np.clip(chans, -1.0, 1.0)
    return out, clipped


# ---- atomic file output -----------------------------------------------------


def check_output_path(
    path: str | os.PathLike,
    fmt: str | None = None,
    subtype: str | None = None,
    *,
    signal: bool = True,
) -> None:
    """Raise now if ``path`` clearly cannot be written (as ``fmt``/``subtype``).

    Catches a missing directory, a directory given as the file and, for a
    signal (``signal=True``; not for a report), an unknown format and a
    subtype the format cannot hold, before any work is done; write errors
    later are still reported.

    Raises
    ------
    SignalError, ParameterError
    """
    path = os.fspath(path)
    if signal:
        _check_subtype(path, guess_format(path, fmt), subtype)
    if path == STDIO:
        return
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise SignalError(f"{path}: is a directory; give an output file name")
    if target.exists() and not target.is_file():
        return  # a device or pipe: written through
    parent = target.parent
    if not parent.is_dir():
        shown = os.path.dirname(path) or "."
        raise SignalError(f"{path}: output directory {shown!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SignalError(f"{path}: cannot create files in {str(parent)!r} (permission denied)")


def _set_mode(tmp: str, target: Path) -> None:
    """Give a temporary file the mode of the target it replaces (or the umask's)."""
    if target.exists():
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)


def _write_error(name: str, exc: BaseException) -> SignalError:
    """``NAME: cannot write: REASON`` (an OSError, or a ValueError of a closed stream)."""
    return SignalError(f"{name}: cannot write: {_one_line(getattr(exc, 'strerror', None) or exc)}")


def _encode_error(name: str, fmt: str, subtype: str | None, exc: BaseException) -> SignalError:
    msg = _one_line(getattr(exc, "error_string", None) or exc)
    return SignalError(f"{name}: cannot encode as {fmt}/{subtype}: {msg}")


def _temp_beside(path: str, target: Path) -> tuple[int, str]:
    """A new temporary file ``.NAME.*.tmp`` beside ``target``: ``(fd, its path)``."""
    parent = target.parent
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise SignalError(
            f"{path}: cannot create a file in {str(parent)!r}: {_one_line(exc.strerror or exc)}"
        ) from None


def _write_through(path: str, target: Path | None, name: str, blocks) -> None:
    """Write byte ``blocks`` to stdout (``path`` ``"-"``) or straight to a device or pipe."""
    try:
        if path == STDIO:
            sys.stdout.flush()
            out = getattr(sys.stdout, "buffer", None)
            for block in blocks:
                if out is None:  # a text-only stream (some test harnesses)
                    sys.stdout.write(block.decode("utf-8", "replace"))
                else:
                    out.write(block)
            (out or sys.stdout).flush()
        else:
            with open(target, "wb") as dev:
                for block in blocks:
                    dev.write(block)
                dev.flush()
    except (OSError, ValueError) as exc:
        raise _write_error(name, exc) from None


class _TempOutput:
    """What every staged output shares: a temporary file ``tmp`` renamed onto ``target``."""

    path: str
    target: Path
    tmp: str | None = None

    def rename(self) -> None:
        try:
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise _write_error(self.path, exc) from None
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None


class _Staged(_TempOutput):
    """One output: a temporary file waiting to be renamed, or a direct write."""

    def __init__(self, path: str, payload: bytes):
        self.path = path
        self.payload = payload
        self.tmp: str | None = None
        self.direct = False
        if path == STDIO:
            self.direct = True
            return
        check_output_path(path, signal=False)
        self.target = Path(os.path.realpath(path))
        if self.target.exists() and not self.target.is_file():
            self.direct = True  # /dev/stdout, /dev/full, a FIFO
            return
        fd, self.tmp = _temp_beside(path, self.target)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            _set_mode(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise _write_error(path, exc) from None
        except BaseException:
            self.discard()
            raise

    def write_direct(self) -> None:
        name = "<stdout>" if self.path == STDIO else self.path
        _write_through(self.path, getattr(self, "target", None), name, [self.payload])


def write_files_atomic(items: Sequence[tuple[str | os.PathLike, bytes] | SignalWriter]) -> None:
    """Write several outputs all or (as far as the system allows) nothing.

    Each file is first written in full to a temporary file beside it (an
    item is ``(path, payload)``, or a :class:`SignalWriter` that has written
    its temporary file already); then stdout and devices are written; only
    when all that worked are the temporary files renamed into place
    (``os.replace``).  On any failure the temporary files are removed and no
    target is touched.  ``"-"`` means stdout.

    Raises
    ------
    SignalError
    """
    staged: list = []
    try:
        for item in items:
            if isinstance(item, SignalWriter):
                staged.append(item)
                item.close()
            else:
                path, payload = item
                staged.append(_Staged(os.fspath(path), payload))
        for st in staged:
            if st.direct:
                st.write_direct()
        for st in staged:
            if not st.direct:
                st.rename()
    finally:
        for st in staged:
            st.discard()


def write_bytes_atomic(target: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``target`` through a temporary file and a rename.

    Devices and pipes (``/dev/stdout``, a FIFO) are written directly.
    """
    write_files_atomic([(target, payload)])


# --------------------------------------------------------------------------
# Streaming: files read and written in blocks, never whole
# --------------------------------------------------------------------------

#: Bytes of text read at a time when streaming a CSV file.
READ_BYTES = 1 << 20
#: Audio frames read at a time when streaming.
READ_FRAMES = 1 << 16
#: Data lines :func:`read_signal` looks at to sniff the CSV dialect.
_HEAD_LINES = 64


@dataclass
class SignalStream:
    """A signal file, checked whole but read in blocks on demand.

    Made by :func:`open_signal_stream`.  ``template`` is the :class:`Signal`
    that :func:`read_signal` would return, with no samples (``data`` shaped
    ``(0,)`` or ``(0, channels)``, ``carried`` mapping each carried column to
    an empty list); it tells a :class:`SignalWriter` how to write the result.

    Attributes
    ----------
    template : Signal
    frames : int
        Number of samples (CSV data rows, audio frames).
    width : int
        Columns (audio: channels) of the file, filtered or carried.
    """

    template: Signal
    frames: int
    width: int
    _reader: Any = field(repr=False, default=None)

    @property
    def source(self) -> str:
        return self.template.source

    @property
    def channels(self) -> int:
        return self.template.channels

    @property
    def positions(self) -> tuple[int, ...]:
        return self.template.channel_positions

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape ``read_signal(...).data`` would have."""
        return (self.frames,) + self.template.data.shape[1:]

    def blocks(self):
        """Yield ``(data, carried)`` for consecutive blocks of samples, from the start.

        ``data`` is float64 shaped ``(k,)`` or ``(k, channels)`` exactly as
        :func:`read_signal` would give those rows; ``carried`` maps each carried
        column to its ``k`` cells (CSV: list of str; audio: float array).
        Each call reads the file again from the beginning.
        """
        return self._reader.blocks(self)


def open_signal_stream(
    path: str | os.PathLike,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
    time_column: str | int | None = None,
    columns: str | Sequence[str | int] | None = None,
    visit=None,
    source: str | None = None,
) -> SignalStream:
    """Check a CSV or audio file in one pass, in bounded memory, for reading in blocks.

    Takes the arguments of :func:`read_signal` (but no ``"-"``: spool stdin
    to a file first, see :func:`spool_stdin`) and accepts and rejects exactly
    the files it does, with the same messages (when a file has several
    problems the first one met may differ).  The pass learns what
    ``read_signal`` learns from the whole file: the number of samples, the
    CSV time column and trailing delimiter, the line ends.

    Parameters
    ----------
    visit : callable, optional
        Called as ``visit(block)`` during the pass with every block of rows,
        in order: a float64 array ``(k, width)`` of *all* the file's columns
        (audio: channels), NaN where a cell is not a finite number.  The
        columns that are filtered are ``stream.positions`` once it returns.
    source : str, optional
        The file's name in messages (default: ``path``), e.g. ``"<stdin>"``
        for a spooled stream.

    Returns
    -------
    SignalStream

    Raises
    ------
    SignalError, ParameterError
        As :func:`read_signal`.
    """
    path = os.fspath(path)
    if path == STDIO:
        raise ValueError("open_signal_stream reads files; spool stdin first (spool_stdin)")
    source = path if source is None else source
    st = _stat_input(path)
    if st.st_size == 0 and stat.S_ISREG(st.st_mode):
        raise SignalError(f"{source}: file is empty (0 bytes)")
    fmt = guess_format(path, fmt)
    if fmt == "CSV":
        reader = _CsvStreamReader(path, source, delimiter, decimal, header, time_column, columns)
    else:
        if time_column not in (None, "none", "None", "NONE"):
            raise ParameterError(f"{source}: an audio file has no time column to name")
        reader = _AudioStreamReader(path, source, columns)
    return reader.open(visit)


def _data_line(line: str) -> bool:
    s = line.strip()
    return bool(s) and s[0] != "#"


def _batch_data_lines(batch: list[str], before: int, skip: int):
    """Line numbers and text of the data lines of a batch of lines.

    ``before`` lines precede the batch; lines numbered up to ``skip`` (the
    preamble and the header) are not data.  Without comments or blank lines
    (the usual case) the numbers are a ``range``.
    """
    start = max(0, skip - before)
    lines = batch[start:] if start else batch
    if lines and "#" not in "".join(lines) and all(map(str.strip, lines)):
        return range(before + start + 1, before + len(batch) + 1), lines
    linenos = [i for i, line in enumerate(batch, before + 1) if i > skip and _data_line(line)]
    return linenos, [batch[i - before - 1] for i in linenos]


def _line_batches(path: str, source: str, seen: dict):
    """The lines of a text file as :func:`_read_csv` splits them, in batches.

    Decodes and splits block by block; raises the errors ``_decode`` raises.
    ``seen`` receives ``encoding`` and the kinds of line end met (``crlf``,
    ``cr``, ``lf``).
    """
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise SignalError(f"{source}: cannot read: {_one_line(exc.strerror or exc)}") from None
    with fh:
        raw = fh.read(max(READ_BYTES, 4))  # enough for any byte-order mark
        if raw.startswith(codecs.BOM_UTF8):
            encoding, codec, raw = "utf-8-sig", "utf-8", raw[len(codecs.BOM_UTF8) :]
        elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = codec = "utf-16"
        else:
            encoding = codec = "utf-8"
        seen.update(encoding=encoding, crlf=False, cr=False, lf=False)
        decoder = codecs.getincrementaldecoder(codec)()
        fed = fed_nl = text_nl = 0  # body bytes decoded, b"\n" among them, "\n" decoded
        pending = ""
        while True:
            final = not raw
            try:
                text = decoder.decode(raw, final)
            except UnicodeDecodeError as exc:
                buf = exc.object
                held = len(buf) - len(raw)  # bytes of earlier blocks still in the decoder
                start = fed - held + exc.start
                line = fed_nl - buf[:held].count(b"\n") + buf[: exc.start].count(b"\n") + 1
                raise SignalError(
                    f"{source}: line {line}: not a text file (byte {start + 1} is not "
                    f"{encoding.upper()}); expected CSV, or give an audio file a .wav/.flac "
                    "extension"
                ) from None
            nul = text.find("\x00")
            if nul >= 0:
                line = text_nl + text.count("\n", 0, nul) + 1
                raise SignalError(
                    f"{source}: line {line}: binary data (a NUL byte); expected CSV text, "
                    "or give an audio file a .wav/.flac extension"
                )
            text_nl += text.count("\n")
            fed += len(raw)
            fed_nl += raw.count(b"\n")
            s = pending + text
            if final:
                complete, pending = s, ""
            else:
                cut = max(s.rfind("\n"), s.rfind("\r"))
                if cut >= 0 and cut == len(s) - 1 and s[cut] == "\r":  # maybe half a CRLF
                    cut = max(s.rfind("\n", 0, cut), s.rfind("\r", 0, cut))
                complete, pending = s[: cut + 1], s[cut + 1 :]
            if complete or final:
                seen["crlf"] = seen["crlf"] or "\r\n" in complete
                seen["cr"] = seen["cr"] or "\r" in complete
                seen["lf"] = seen["lf"] or "\n" in complete
                lines = complete.replace("\r\n", "\n").replace("\r", "\n").split("\n")
                if not final:
                    lines.pop()  # complete ends with a line end: nothing after it
                yield lines
            if final:
                return
            try:
                raw = fh.read(READ_BYTES)
            except OSError as exc:
                raise SignalError(
                    f"{source}: cannot read: {_one_line(exc.strerror or exc)}"
                ) from None


class _ColumnScan:
    """What the checking pass learns about one CSV column."""

    __slots__ = ("nonempty", "all_nonempty", "bad", "nonfinite", "numeric")

    def __init__(self):
        self.nonempty = False  # some cell is not blank (else: a trailing delimiter)
        self.all_nonempty = True  # no cell is blank (timestamps)
        self.bad = None  # (row, line, cell) of the first cell that is not a number
        self.nonfinite = None  # (line, cell) of the first inf/nan
        self.numeric = True  # every cell so far is a finite number


class _TimeScan:
    """The monotone / equally spaced test of ``_looks_like_time``, one block at a time."""

    def __init__(self):
        self.count = 0
        self.first = self.last = None
        self.increasing = self.decreasing = True
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
        dt = np.diff(t_ext)
        if dt.size:
            if self.dt0 is None:
                self.dt0 = float(dt[0])
            self.increasing = self.increasing and bool(np.all(dt > 0))
            self.decreasing = self.decreasing and bool(np.all(dt < 0))
            self.dt_min = min(self.dt_min, float(dt.min()))
            self.dt_max = max(self.dt_max, float(dt.max()))
        self.count += t.size
        self.last = float(t[-1])

    def looks_like_time(self, named: bool) -> bool:
        if self.count < 2:
            return False
        monotone = self.increasing or self.decreasing
        if named:
            return monotone
        scale = max(abs(self.first), abs(self.last))
        extremes = np.array([self.dt_min, self.dt_max])
        equal = bool(np.all(np.isclose(extremes, self.dt0, rtol=1e-6, atol=1e-9 * scale)))
        return monotone and self.count >= 3 and equal


class _CsvStreamReader:
    """CSV in blocks of lines, with the decisions of :func:`_read_csv`."""

    def __init__(self, path, source, delimiter, decimal, header_opt, time_column, columns):
        self.path, self.source = path, source
        self.delim = _normalise_delimiter(delimiter)
        if decimal not in (None, ".", ","):
            raise ParameterError(f"unknown decimal mark {decimal!r}; use '.' or ','")
        if self.delim is not None and self.delim == decimal:
            raise ParameterError(f"the delimiter and the decimal mark are both {self.delim!r}")
        self.decimal = decimal
        self.header_opt = header_opt
        self.time_column = time_column
        self.columns = columns

    # ---- the checking pass ------------------------------------------------

    def open(self, visit) -> SignalStream:
        source = self.source
        seen: dict = {}
        batches = _line_batches(self.path, source, seen)
        head: list[str] = []
        data_at: list[int] = []  # indexes into head of its data lines
        for batch in batches:
            start = len(head)
            head.extend(batch)
            data_at.extend(i for i in range(start, len(head)) if _data_line(head[i]))
            if len(data_at) >= _HEAD_LINES:
                break
        if not data_at:
            raise SignalError(f"{source}: no data (only blank or comment lines)")
        self._analyse_head(head, data_at)
        width = self.width
        scans = [_ColumnScan() for _ in range(width)]
        time_scan = _TimeScan()
        rows = 0
        skip = data_at[0] + (1 if self.has_header else 0)  # preamble and header lines
        lineno = 0
        for batch in _chain_first(head, batches):
            linenos, lines = _batch_data_lines(batch, lineno, skip)
            lineno += len(batch)
            if not lines:
                continue
            cols = self._cells(lines, linenos)
            block = np.full((len(lines), width), np.nan)
            for p, cells in enumerate(cols):
                sc = scans[p]
                if not sc.nonempty:
                    sc.nonempty = any(map(str.strip, cells))
                if p == 0 and sc.all_nonempty:  # timestamps need every cell
                    sc.all_nonempty = all(map(str.strip, cells))
                if sc.bad is not None:
                    continue
                a = _to_float(cells, self.decimal)
                if a is None:
                    r = _first_bad(cells, self.decimal)
                    sc.bad = (rows + r, linenos[r], cells[r])
                    sc.numeric = False
                    continue
                finite = np.isfinite(a)
                if not finite.all():
                    if sc.nonfinite is None:
                        r = int(np.flatnonzero(~finite)[0])
                        sc.nonfinite = (linenos[r], cells[r])
                    sc.numeric = False
                    a = np.where(finite, a, np.nan)
                block[:, p] = a
                if p == 0 and sc.numeric:
                    time_scan.add(a)
            rows += len(lines)
            if visit is not None:
                visit(block)
        if rows == 0:
            raise SignalError(f"{source}: header on line {data_at[0] + 1} but no data rows")
        return self._decide(scans, time_scan, rows, seen)

    def _analyse_head(self, head: list[str], data_at: list[int]) -> None:
        """Dialect, header and width from the first data lines, as ``_read_csv``."""
        delim, decimal = self.delim, self.decimal
        data_lines = [head[i] for i in data_at[:_HEAD_LINES]]
        self.preamble = tuple(head[: data_at[0]])
        if delim is None:
            delim = _sniff(data_lines, decimal)
        if delim == "" or not any(delim in ln for ln in data_lines):
            delim = ""
        self.delim = delim
        self.out_delim = delim if delim else ","
        cells0 = _split(data_lines[0], delim)
        if decimal is None:
            sample = [c for ln in data_lines for c in _split(ln, delim)]
            comma = delim != "," and any(_DECIMAL_COMMA.match(c) for c in sample)
            decimal = "," if comma else "."
        self.decimal = decimal
        if self.header_opt is None:
            self.has_header = not any(_is_number(c, decimal) for c in cells0)
        else:
            self.has_header = bool(self.header_opt)
        self.width = len(cells0)
        self.header = None
        self.quote_header = False
        self.ref = f"line {data_at[0] + 1}"
        first_data = 0
        if self.has_header:
            self.header = cells0
            self.quote_header = data_lines[0].lstrip().startswith('"')
            self.ref = f"the header on line {data_at[0] + 1}"
            first_data = 1
        rest = data_lines[first_data:]
        self.quote_data = bool(rest) and rest[0].lstrip().startswith('"')

    def _cells(self, lines: list[str], linenos: list[int]) -> list[list[str]]:
        cols = _columns(lines, self.delim, self.width, '"' in "".join(lines))
        if isinstance(cols, tuple):  # ragged: (row, number of fields)
            r, got = cols
            raise SignalError(
                f"{self.source}: line {linenos[r]} has {got} fields, expected {self.width} as "
                f"on {self.ref} (delimiter {self.out_delim!r}; every row needs the same number "
                "of columns)"
            )
        return cols

    def _decide(self, scans, time_scan, rows, seen) -> SignalStream:
        """The decisions ``_read_csv`` takes on the whole file, from the pass's findings."""
        source, decimal = self.source, self.decimal
        header, width = self.header, self.width  # width: a trailing empty column included
        trailing = width >= 2 and not scans[-1].nonempty
        if trailing and (header is None or not header[-1]):
            width -= 1
            if header is not None:
                header = header[:-1]
        else:
            trailing = False
        header_in_preamble = False
        if header is None and self.header_opt is None and self.preamble:
            last = next((ln for ln in reversed(self.preamble) if ln.strip()), "")
            if last.lstrip().startswith("#"):
                names = last.lstrip()[1:].strip()
                names = _split(names, self.delim) if self.delim else [last.lstrip()[1:]]
                names = [n.strip() for n in names]
                if len(names) == width and not any(_is_number(n, decimal) for n in names):
                    header, header_in_preamble = names, True
        time_column, columns = self.time_column, self.columns
        tcol = None
        if time_column is not None and str(time_column).strip().lower() != "none":
            tcol = _resolve_column(time_column, header, width, source, "time column")
        picked = None
        if columns is not None:
            picked = sorted(
                {
                    _resolve_column(t, header, width, source, "columns")
                    for t in _split_columns(columns)
                }
            )
            if tcol is not None and tcol in picked:
                raise ParameterError(
                    f"{source}: column {_column_name(header, tcol)!r} is both the time column "
                    "and a column to filter"
                )
        if (
            tcol is None
            and time_column is None
            and width >= 2
            and (picked is None or 0 not in picked)
        ):
            named = header is not None and _is_time_name(header[0])
            if header is None or named:
                sc = scans[0]
                if not sc.numeric:
                    looks = named and sc.all_nonempty
                else:
                    looks = time_scan.looks_like_time(named)
                if looks:
                    tcol = 0
        positions = [p for p in range(width) if p != tcol and (picked is None or p in picked)]
        if not positions:
            raise ParameterError(f"{source}: no column left to filter besides the time column")
        for p in positions:
            sc = scans[p]
            name = f" ({header[p]!r})" if header else ""
            if sc.bad is not None:
                r, lineno, cell = sc.bad
                hint = header is None and self.header_opt is None
                raise _bad_cell_at(cell, r == 0, lineno, p, header, source, decimal, hint)
            if sc.nonfinite is not None:
                lineno, cell = sc.nonfinite
                raise SignalError(
                    f"{source}: line {lineno}, column {p + 1}{name}: {_show(cell.strip())} "
                    "is not a finite number"
                )
        if rows < 2:
            raise SignalError(
                f"{source}: {rows} data row{'' if rows == 1 else 's'}; "
                "a signal needs at least 2 samples"
            )
        newline = "\r\n" if seen["crlf"] else ("\r" if seen["cr"] and not seen["lf"] else "\n")
        layout = CsvLayout(
            decimal=decimal,
            newline=newline,
            encoding=seen["encoding"],
            preamble=self.preamble,
            header_in_preamble=header_in_preamble,
            quote_header=self.quote_header,
            quote_data=self.quote_data,
            trailing_delimiter=trailing,
        )
        self.positions = positions
        self.carried_at = [p for p in range(width) if p not in positions]
        shape = (0,) if len(positions) == 1 else (0, len(positions))
        template = Signal(
            data=np.zeros(shape),
            source=source,
            format="CSV",
            header=header,
            delimiter=self.out_delim,
            positions=tuple(positions),
            carried={p: [] for p in self.carried_at},
            time_column=tcol,
            layout=layout,
        )
        return SignalStream(template=template, frames=rows, width=width, _reader=self)

    # ---- reading ----------------------------------------------------------

    def blocks(self, stream: SignalStream):
        seen: dict = {}
        skip = len(self.preamble) + (1 if self.has_header else 0)
        lineno = 0
        rows = 0
        for batch in _line_batches(self.path, self.source, seen):
            linenos, lines = _batch_data_lines(batch, lineno, skip)
            lineno += len(batch)
            if not lines:
                continue
            cols = self._cells(lines, linenos)
            arrays = []
            for p in self.positions:
                a = _to_float(cols[p], self.decimal)
                if a is None or not np.all(np.isfinite(a)):
                    raise SignalError(f"{self.source}: the file changed while it was read")
                arrays.append(a)
            data = arrays[0] if len(arrays) == 1 else np.stack(arrays, axis=1)
            carried = {p: list(map(str.strip, cols[p])) for p in self.carried_at}
            rows += len(lines)
            yield data, carried
        if rows != stream.frames:
            raise SignalError(f"{self.source}: the file changed while it was read")


def _chain_first(first: list[str], rest):
    yield first
    yield from rest


class _AudioStreamReader:
    """Audio in blocks of frames through soundfile, as :func:`_read_audio` reads it."""

    def __init__(self, path, source, columns):
        self.path, self.source, self.columns = path, source, columns

    def _open(self):
        import soundfile

        try:
            return soundfile.SoundFile(self.path)
        except _AUDIO_ERRORS as exc:
            raise _audio_error(exc, self._head(), self.source) from None

    def _head(self) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                return fh.read(4096)
        except OSError:
            return b""

    def _read(self, f, dtype):
        try:
            return f.read(READ_FRAMES, dtype=dtype, always_2d=True)
        except _AUDIO_ERRORS as exc:
            raise _audio_error(exc, self._head(), self.source) from None

    def open(self, visit) -> SignalStream:
        source = self.source
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size

                def read_at(pos: int, k: int) -> bytes:
                    fh.seek(pos)
                    return fh.read(k)

                _walk_chunks(read_at, size, source)
        except OSError as exc:
            raise SignalError(f"{source}: cannot read: {_one_line(exc.strerror or exc)}") from None
        with self._open() as f:
            self.subtype, fmt, rate, channels = f.subtype, f.format, f.samplerate, f.channels
            frames = f.frames
            self.dtype = "int32" if self.subtype in PCM_BITS else "float64"
            total = 0
            while total < frames:
                block = self._read(f, self.dtype)
                if block.shape[0] == 0:
                    break
                total += block.shape[0]
                if visit is not None:
                    visit(self._floats(block))
        if total < frames:
            raise SignalError(
                f"{source}: truncated audio: the header promises {frames} frames, found {total}"
            )
        positions = tuple(range(channels))
        carried_at: list[int] = []
        if self.columns is not None:
            picked = sorted(
                {
                    _resolve_column(t, None, channels, source, "channels")
                    for t in _split_columns(self.columns)
                }
            )
            carried_at = [p for p in range(channels) if p not in picked]
            positions = tuple(picked)
        if total < 2:
            raise SignalError(
                f"{source}: {total} sample{'' if total == 1 else 's'}; "
                "a signal needs at least 2 samples"
            )
        self.frames, self.positions, self.carried_at = total, positions, carried_at
        shape = (0,) if len(positions) == 1 else (0, len(positions))
        template = Signal(
            data=np.zeros(shape),
            source=source,
            format=fmt,
            samplerate=rate,
            subtype=self.subtype,
            positions=positions,
            carried={p: np.zeros(0) for p in carried_at},
        )
        return SignalStream(template=template, frames=total, width=channels, _reader=self)

    def _floats(self, block: np.ndarray) -> np.ndarray:
        if self.dtype == "int32":
            return block.astype(np.float64) / 2.0**31
        return block

    def blocks(self, stream: SignalStream):
        total = 0
        picked = list(self.positions)
        with self._open() as f:
            while total < self.frames:
                block = self._read(f, self.dtype)
                if block.shape[0] == 0:
                    break
                block = block[: self.frames - total]
                total += block.shape[0]
                block = self._floats(block)
                carried = {p: block[:, p].copy() for p in self.carried_at}
                if len(picked) == 1:
                    data = block[:, picked[0]].copy()
                elif picked == list(range(block.shape[1])):
                    data = block  # every channel in order: the block itself, no copies
                else:
                    data = block[:, picked]  # fancy indexing gives a Fortran-ordered copy
                yield np.ascontiguousarray(data), carried
        if total != self.frames:
            raise SignalError(f"{self.source}: the file changed while it was read")


def spool_stdin(directory: str | None = None) -> str:
    """Copy stdin into a temporary file (in ``directory``) in blocks; return its path.

    The caller removes the file.  Lets a stream too large for memory be
    filtered in chunks like a file.
    """
    fd, path = tempfile.mkstemp(prefix=".resdenoise-stdin.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            src = getattr(sys.stdin, "buffer", None)
            while True:
                block = src.read(READ_BYTES) if src is not None else sys.stdin.read(READ_BYTES)
                if not block:
                    break
                out.write(block if isinstance(block, bytes) else block.encode("utf-8"))
    except (OSError, ValueError) as exc:
        os.unlink(path)
        raise SignalError(f"<stdin>: cannot read: {_one_line(exc)}") from None
    except BaseException:
        os.unlink(path)
        raise
    return path


class SignalWriter(_TempOutput):
    """A signal written block by block: first to a temporary file, then renamed.

    Writes exactly what :func:`write_signal` writes for the same samples,
    without holding them: ``template`` (a :class:`SignalStream`'s) describes
    the file; :meth:`write` appends rows; :func:`write_files_atomic` (given
    the writer among its items) renames the temporary file into place, so
    the target appears whole or not at all.  Stdout and devices are written
    from an anonymous temporary file at that moment.  Use it as a context
    manager: leaving the block by an exception removes the temporary file.

    Raises
    ------
    SignalError, ParameterError
        As :func:`write_signal` (non-finite samples: when the writer closes).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        template: Signal,
        fmt: str | None = None,
        subtype: str | None = None,
    ):
        self.path = os.fspath(path)
        self.name = "<stdout>" if self.path == STDIO else self.path
        self.template = template
        self.fmt = guess_format(self.path, fmt)
        self.subtype = None
        self.clipped = 0
        self.nonfinite = 0
        self.tmp: str | None = None
        self.direct = False
        self.closed = False
        self._fh = None
        self._sf = None
        if self.fmt == "CSV":
            if subtype is not None:
                raise ParameterError(
                    f"{self.name}: a subtype ({subtype!r}) applies to audio output only"
                )
        else:
            self.fmt, self.subtype = _audio_target(template, self.fmt, subtype, self.name)
        if self.path == STDIO:
            self.direct = True
        else:
            check_output_path(self.path, signal=False)
            self.target = Path(os.path.realpath(self.path))
            self.direct = self.target.exists() and not self.target.is_file()
        try:
            if self.direct:
                self._fh = tempfile.TemporaryFile()
            else:
                fd, self.tmp = _temp_beside(self.path, self.target)
                self._fh = os.fdopen(fd, "w+b")
            self._start()
        except BaseException:
            self.discard()
            raise

    def _start(self) -> None:
        if self.fmt == "CSV":
            layout, _ = _csv_dialect(self.template)
            self._nl = layout.newline
            self._encoder = codecs.getincrementalencoder(layout.encoding)()
            head = _csv_head_lines(self.template)
            self._put("".join(line + self._nl for line in head))
            return
        import soundfile

        sig = self.template
        channels = sig.channels + (len(sig.carried) if sig.format != "CSV" else 0)
        try:
            # by file descriptor: libsndfile writes to the file itself, where a file
            # object would call back into Python for every 8 KiB (a 256 MiB
            # WAV: 33k calls, 0.8 s); nothing else writes to _fh meanwhile
            self._sf = soundfile.SoundFile(
                self._fh.fileno(),
                "w",
                closefd=False,
                samplerate=sig.samplerate or 44100,
                channels=channels,
                subtype=self.subtype,
                format=self.fmt,
            )
        except _AUDIO_ERRORS as exc:
            raise _encode_error(self.name, self.fmt, self.subtype, exc) from None

    def _put(self, text: str, final: bool = False) -> None:
        try:
            self._fh.write(self._encoder.encode(text, final))
        except OSError as exc:
            raise _write_error(self.name, exc) from None

    @property
    def stats(self) -> dict:
        """``{"clipped": n, "format": ..., "subtype": ...}`` as :func:`write_signal` returns."""
        return {"clipped": self.clipped, "format": self.fmt, "subtype": self.subtype}

    def write(self, data: np.ndarray, carried: dict | None = None) -> None:
        """Append rows: ``data`` shaped ``(k,)`` or ``(k, channels)``, ``carried`` cells beside."""
        data = np.asarray(data, dtype=np.float64)
        carried = {} if carried is None else carried
        bad = ~np.isfinite(data)
        if bad.any() or self.nonfinite:
            self.nonfinite += int(bad.sum())
            return
        if self.fmt == "CSV":
            if data.shape[0]:
                rows = _csv_row_lines(self.template, data, carried)
                self._put(self._nl.join(rows) + self._nl)
            return
        out, clipped = _audio_frames(self.template, data, carried, self.subtype)
        self.clipped += clipped
        try:
            self._sf.write(out)
        except _AUDIO_ERRORS as exc:
            raise _encode_error(self.name, self.fmt, self.subtype, exc) from None
        except OSError as exc:
            raise _write_error(self.name, exc) from None

    def close(self) -> None:
        """Finish the temporary file (idempotent); raise if samples were not finite."""
        if self.closed:
            return
        self.closed = True
        if self.nonfinite:
            raise SignalError(
                f"{self.name}: {self.nonfinite} output values are not finite (the run "
                "diverged); nothing written"
            )
        try:
            if self._sf is not None:
                try:
                    self._sf.close()
                except _AUDIO_ERRORS as exc:
                    raise _encode_error(self.name, self.fmt, self.subtype, exc) from None
            else:
                self._put("", final=True)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            if self.tmp is not None:
                _set_mode(self.tmp, self.target)
        except OSError as exc:
            raise _write_error(self.name, exc) from None

    # ---- the protocol of write_files_atomic -------------------------------

    def write_direct(self) -> None:
        self._fh.seek(0)
        blocks = iter(lambda: self._fh.read(READ_BYTES), b"")
        _write_through(self.path, getattr(self, "target", None), self.name, blocks)

    def rename(self) -> None:
        self._close_file()
        super().rename()

    def _close_file(self) -> None:
        if self._sf is not None and not self._sf.closed:
            try:
                self._sf.close()
            except Exception:  # noqa: BLE001 - discarding anyway
                pass
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None

    def discard(self) -> None:
        """Remove the temporary file (nothing is written to the target)."""
        self.closed = True
        self._close_file()
        super().discard()

    def __enter__(self) -> SignalWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self.tmp is not None or self._fh is not None:
            self.discard()
