"""What a signal file is: :class:`Signal`, :class:`CsvLayout`, :class:`SignalStream`,
the formats (:func:`guess_format`, :func:`looks_like_audio`) and their constants.
"""

from __future__ import annotations

import functools
import io
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError, SignalError, did_you_mean, one_line, samples_and_channels

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
    ".bwf": "WAV",  # Broadcast Wave (EBU Tech 3285): a WAV with a bext chunk
    ".rf64": "RF64",
    ".mp3": "MP3",
}


CSV_EXTENSIONS = {".csv", ".tsv", ".txt", ".dat", ".tab"}


#: Input extensions of files often given for CSV, with what to do instead.
_NOT_CSV_EXTENSIONS = {
    **dict.fromkeys(
        (".xlsx", ".xlsm", ".xls", ".ods"),
        "a spreadsheet workbook, not CSV; save it as CSV (in Excel: File > Save As > CSV UTF-8)",
    ),
    **{
        ext: f"a compressed file; decompress it, or pipe it: {cat} FILE | resdenoise ... -"
        for ext, cat in ((".gz", "zcat"), (".bz2", "bzcat"), (".xz", "xzcat"), (".zst", "zstdcat"))
    },
}

#: What converts a recording that is read by neither CSV nor libsndfile.
_CONVERT = "convert it first, e.g. ffmpeg -i FILE out.wav"
_MPEG4 = (
    "MPEG-4 audio (AAC or Apple Lossless: a Voice Memo, a QuickTime or GarageBand export), "
    f"which is not read; {_CONVERT}, or on macOS afconvert -f WAVE -d LEI24 FILE out.wav"
)
_NOT_CSV_EXTENSIONS.update(
    dict.fromkeys((".m4a", ".m4b", ".mp4", ".mov", ".aac"), _MPEG4),
    **{".wma": f"Windows Media audio, which is not read; {_CONVERT}"},
)


def foreign_file(head: bytes) -> str | None:
    """What a file is whose first bytes (``head``) show one that is no signal and that
    neither reader would name: MPEG-4 or Windows Media audio (with how to convert it),
    a macOS AppleDouble (``._NAME``) or ``.DS_Store`` file (left out); else None."""
    if head[4:8] == b"ftyp":
        return _MPEG4
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # the ASF header's GUID
        return f"Windows Media audio, which is not read; {_CONVERT}"
    if head.startswith((b"\x00\x05\x16\x07", b"\x00\x05\x16\x00")):
        return (
            "a macOS AppleDouble file (the Finder data a Mac writes as ._NAME beside NAME on a "
            "FAT, exFAT or network volume), not a signal; leave it out (find ... ! -name '._*')"
        )
    if head[4:8] == b"Bud1":
        return "a macOS Finder .DS_Store file, not a signal; leave it out"
    return None


#: A Zarr store (a directory of chunks; :mod:`resdenoise.io.zarr_store`) by its extension.
ZARR_EXTENSION, ZARR = ".zarr", "ZARR"


#: Integer PCM subtypes and their bit depths: read and written exactly.
PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}


#: Subtypes that hold any float: never clipped.
FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}


#: The codecs of the compressed formats (OGG, MP3, CAF's Apple lossless): an output in
#: another format does not keep the input's, as libsndfile's format check alone would
#: have MP3's in a WAV, which it cannot encode; it gets that format's default subtype.
CODEC_SUBTYPES = frozenset(
    ["VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"]
    + [f"ALAC_{bits}" for bits in (16, 20, 24, 32)]
)


#: Excel's first line declaring the delimiter (its "CSV" exports for a locale whose
#: list separator is not the comma, and many Windows tools writing for Excel).
_EXCEL_SEP = re.compile(r"sep=([,;|\t ])", re.IGNORECASE)


def excel_sep(line: str) -> str | None:
    """The delimiter an Excel ``sep=;`` line declares, or None for any other line."""
    m = _EXCEL_SEP.fullmatch(line)
    return None if m is None else m.group(1)


#: The encoding of a UTF-16 text with a big-endian byte-order mark, written back so
#: (Python's ``utf-16`` writes the machine's order, little-endian on x86 and ARM).
UTF16_BE = "utf-16-be+bom"

#: The comment line by which a CSV file carries its sample rate, first in its preamble:
#: written on every CSV output that has a rate (from audio, or ``--rate``), read back
#: by :func:`resdenoise.io.read_signal`; other CSV readers skip it as a comment.
RATE_LINE = "# samplerate: {rate}"

#: (compiled on first use, and kept by re's cache: an audio run reads no rate line)
_RATE_PATTERN = r"\s*#\s*sample\s*-?\s*rate\s*[:=]\s*([0-9]{1,10})(?:\.0*)?\s*(?:hz)?\s*"


def rate_in(line: str) -> int | None:
    """The rate of a :data:`RATE_LINE` (``# samplerate: 8000``, ``# sample rate = 8000 Hz``,
    ``# samplerate: 44100.0`` as a float is printed)."""
    m = re.fullmatch(_RATE_PATTERN, line, re.I)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def unread_rate(preamble) -> str | None:
    """A preamble's line that names a sample rate :func:`rate_in` does not read (``#
    samplerate: 0.5``: not a whole number of Hz), or None: said where a rate is needed."""
    loose = r"\s*#\s*sample\s*-?\s*rate\s*[:=].*"
    return next((ln for ln in preamble if re.fullmatch(loose, ln, re.I) and not rate_in(ln)), None)


def rate_mismatch(path: str, rate, other: str, other_rate, what: str, of: str) -> str | None:
    """The error line where the file ``path`` (a clean ``what``: ``reference``, ``clean
    file``) has another sample rate than ``other``, the ``of`` (``input``, ``noisy file``)
    it belongs to: not the same signal (its samples are of other instants); None where
    the rates agree or either file has none (a CSV without a rate line)."""
    if rate is None or other_rate is None or int(rate) == int(other_rate):
        return None
    return (
        f"{path}: the {what}'s sample rate {int(rate)} Hz differs from that of its {of} "
        f"{other}, {int(other_rate)} Hz: give the {what} recorded at the {of}'s rate"
    )


def check_reference(
    reference: str, shape: tuple, name: str, shape_in: tuple, rates: tuple = (None, None)
) -> None:
    """Refuse a reference that is not the input's signal: another shape, or another
    sample rate where both files have one (``rates``: the reference's, the input's).

    Raises
    ------
    SignalError
        The line naming the reference and what differs.
    """
    line = rate_mismatch(reference, rates[0], name, rates[1], "reference", "input")
    if line is not None:
        raise SignalError(line)
    if shape != shape_in:
        raise SignalError(
            f"{reference}: the reference has {samples_and_channels(shape)} but {name} has "
            f"{samples_and_channels(shape_in)}; give the clean signal with the same "
            "samples and channels"
        )


def csv_rate(preamble) -> int | None:
    """The sample rate a CSV preamble's first rate line gives, or None."""
    return next((r for r in map(rate_in, preamble) if r is not None), None)


#: The first bytes of the audio formats read: RIFF (WAV), RF64, W64 (Sony Wave64: ``riff``
#: and the rest of its GUID), FLAC, Ogg, AIFF (FORM), AU, CAF, an MP3's ID3 tag.
_AUDIO_MAGIC = (
    *(b"RIFF", b"RIFX", b"RF64", b"riff\x2e\x91\xcf\x11", b"fLaC", b"OggS", b"FORM"),
    *(b".snd", b"caff", b"ID3"),
)


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file was written, so that the output looks the same.

    Attributes
    ----------
    decimal : {".", ","}
    newline : {"\\n", "\\r\\n", "\\r"}
    encoding : {"utf-8", "utf-8-sig", "utf-16", "utf-16-be+bom"}
    preamble : tuple of str
        Comment and blank lines before the first row, written back verbatim.
    header_in_preamble : bool
        The header came from the last preamble comment (not written again).
    quote_header, quote_data : bool
        Every field of the header / first data row was quoted.
    trailing_delimiter : bool
        Every row ended with a delimiter.
    comments : tuple of (int, str)
        The ``#`` comment lines after the header, among and after the rows, each with
        the number of data rows before it (in order), written back where they were.
    whole_columns : tuple of int
        The filtered columns whose every number was written as a whole number (ADC
        counts): a whole value is written back so (``2048``, not ``2048.0``).
    places : tuple of (int, int)
        The filtered columns whose every number was written in fixed point with one
        number of decimals, and that number (``1.40``: 2): a value that is exactly a
        number of so many decimals is written back so (a value left as it was reads as
        it was written: ``1.40``, not ``1.4``); others by ``repr``.
    decimals : tuple of (int, int)
        The filtered columns whose every number was written in fixed point, and the
        most decimals of any of their cells (the instrument's resolution).
    rounded : bool
        Write each column of :attr:`decimals` rounded to its decimals (asked for:
        ``WriteOptions(input_decimals=True)``); else nothing is rounded.
    header_text : str or None
        The header line as written (its blanks and quotes), written back as it was
        where the output's delimiter is the input's.
    """

    decimal: str = "."
    newline: str = "\n"
    encoding: str = "utf-8"
    preamble: tuple[str, ...] = ()
    header_in_preamble: bool = False
    quote_header: bool = False
    quote_data: bool = False
    trailing_delimiter: bool = False
    comments: tuple[tuple[int, str], ...] = ()
    whole_columns: tuple[int, ...] = ()
    places: tuple[tuple[int, int], ...] = ()
    decimals: tuple[tuple[int, int], ...] = ()
    rounded: bool = False
    header_text: str | None = None


@dataclass
class Signal:
    """A signal and how it was stored.

    Attributes
    ----------
    data : ndarray, shape (n,) or (n, channels)
        The channels to filter, as float64.  Audio is scaled to [-1, 1) as
        soundfile does.  A sound file that stores 32-bit floats, read with
        ``stored=True`` (:func:`resdenoise.io.read_signal`), gives float32:
        the values as stored, which widen exactly to the float64 ones (so do
        its carried channels).
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
    chunks : tuple of int or None
        A Zarr store's chunk shape (its length: the array's dimensions);
        an output store is chunked alike.
    tags : dict
        An audio file's text metadata (title, artist, comment, ...: soundfile's
        ``copy_metadata``), written to an audio output that can hold it.
    channel_mask : int or None
        A WAVE_FORMAT_EXTENSIBLE input's speaker positions (dwChannelMask,
        :func:`resdenoise.io.wav.channel_mask`), kept in such an output; None for
        any other input.
    notes : tuple of str
        What the reader has to say that does not stop a run (a warning each: a CSV
        file's time column not equally spaced).
    """

    data: np.ndarray
    source: str = "<memory>"
    format: str = "CSV"
    samplerate: int | None = None
    subtype: str | None = None
    header: list[str] | None = None
    delimiter: str = ","
    positions: tuple[int, ...] | None = None
    carried: dict[int, Any] = field(default_factory=dict)
    time_column: int | None = None
    layout: CsvLayout = field(default_factory=CsvLayout)
    chunks: tuple[int, ...] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    channel_mask: int | None = None
    notes: tuple[str, ...] = ()

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
    def channel_labels(self) -> tuple[str, ...] | None:
        """How messages name each filtered channel: a CSV file's always by its column,
        ``column 2 ('b')`` (``column 2`` without a header), as its read errors do; a sound
        file's or a Zarr array's ``channel 2`` where the channels are not its own 1, 2, ...
        (channels picked), else None (the messages' ``channel i``): a pick of the first
        channels that leaves others out is labelled too."""
        positions = self.channel_positions
        if self.format == "CSV":
            return tuple(column_label(self.header, p) for p in positions)
        if positions == tuple(range(len(positions))) and not self.carried:
            return None
        return tuple(f"channel {p + 1}" for p in positions)

    @property
    def channel_columns(self) -> list[dict]:
        """Each filtered channel's place in the file, as a script keys on it, in the order
        of the channels: ``column`` (from 1: a CSV file's column, a sound file's or Zarr
        array's channel) and ``name`` (a CSV header's, as written; None without one)."""
        names = self.header if self.format == "CSV" else None
        return [
            {"column": p + 1, "name": None if names is None else names[p]}
            for p in self.channel_positions
        ]

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
        return replace(self, data=data)


def column_label(header, p: int) -> str:
    """How messages name the file's column ``p`` (from 0): ``column 2 ('b')``, or
    ``column 2`` where the header has no name for it."""
    name = f" ({header[p]!r})" if header and p < len(header) else ""
    return f"column {p + 1}{name}"


def _column_name(header, p: int) -> str:
    if header is not None and p < len(header):
        return header[p]
    return str(p + 1)


def _show(cell: str, limit: int = 40) -> str:
    return repr(cell if len(cell) <= limit else cell[:limit] + "...")


def guess_format(path: str, given: str | None = None, output: bool = False) -> str:
    """``"CSV"`` or a soundfile format name, from ``given`` or the extension (a name
    without one is CSV, as stdin and stdout are; an unknown one is refused).

    Raises
    ------
    ParameterError
        ``given`` names no format soundfile knows; or the extension of an ``output``
        tells nothing (the name given is at fault).
    SignalError
        The extension of an input tells nothing.
    """
    if given:
        g = given.strip().upper().lstrip(".")
        if g in ("CSV", "TSV", "TXT", "DAT", "TAB"):
            return "CSV"
        if g == ZARR:
            return ZARR
        ext = "." + g.lower()
        if ext in AUDIO_EXTENSIONS:
            return AUDIO_EXTENSIONS[ext]
        if g == "AUDIO" or g in _soundfile_formats():
            return g
        raise ParameterError(
            f"unknown format {given!r}; use csv, zarr or one of "
            + ", ".join(sorted(k.lower() for k in _soundfile_formats()))
        )
    if path == STDIO:
        return "CSV"
    ext = Path(path).suffix.lower()
    if ext == ZARR_EXTENSION:
        return ZARR
    if ext in AUDIO_EXTENSIONS:
        return AUDIO_EXTENSIONS[ext]
    if ext in CSV_EXTENSIONS or ext == "":
        return "CSV"
    if ext[1:].upper() in _soundfile_formats():
        return ext[1:].upper()
    option = "output_format" if output else "input_format"
    if not output and (what := _NOT_CSV_EXTENSIONS.get(ext)) is not None:
        raise SignalError(f"{path}: {what}")
    raise (ParameterError if output else SignalError)(
        f"{path}: cannot tell the format from the extension {ext!r}; "
        f"use .csv, .wav, .flac, .ogg, .zarr (or {option})",
        parameters=[option],
    )


def looks_like_audio(head: bytes) -> bool:
    """Whether the first bytes of a file (8: W64's) are an audio file's magic number, or
    an MPEG Layer III frame's header (an MP3 without an ID3 tag: libsndfile writes it so)."""
    return head.startswith(_AUDIO_MAGIC) or _mp3_frame(head)


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio frame header of Layer III: 11 bits of sync, a version that is not
    the reserved one, layer bits 01, a bitrate index not 15, a rate index not 3.  (Layer
    III only: ``FF FE``, a UTF-16 text's byte-order mark, reads as a Layer I header.)"""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = head[1] >> 3 & 3, head[1] >> 1 & 3
    return version != 1 and layer == 1 and head[2] >> 4 != 15 and head[2] >> 2 & 3 != 3


def _soundfile_formats() -> dict:
    import soundfile

    return soundfile.available_formats()


def refuse_empty_name(path, what: str) -> None:
    """Refuse ``''`` as the name of the ``what`` file (input, output, report, ...): no file
    has it, and the messages about it would name nothing."""
    if path is not None and os.fspath(path) == "":
        raise ParameterError(
            f"the {what} file name is empty (''); give a path, or - for "
            + ("stdin" if what in ("input", "reference") else "stdout")
        )


#: The names Windows keeps for its devices, in any case and with any extension (``aux.csv``
#: is the AUX device there): a file of that name cannot be made, and a write goes to the
#: device (the console, a serial port, a printer).  ``NUL`` alone is the null device,
#: Windows' ``/dev/null``: an output there is discarded, as ``-o /dev/null`` is.
WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"]
)


def _windows() -> bool:
    """Whether the program runs on Windows (a function: a test on Linux emulates it)."""
    import sys

    return sys.platform == "win32"


def refuse_device_name(path, what: str) -> None:
    """Refuse, on Windows, an output or report named as one of its devices
    (:data:`WINDOWS_DEVICES`: ``aux.csv``, ``con.wav``, ``com1.csv``, ``nul.csv``) in
    whatever directory: one line naming the device, before anything is read.  ``NUL``
    itself (no extension) is the null device and allowed, as ``/dev/null`` is."""
    if path is None or not _windows():
        return
    name = re.split(r"[\\/]", os.fspath(path))[-1]
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in WINDOWS_DEVICES and name.rstrip(" .").upper() != "NUL":
        raise ParameterError(
            f"{os.fspath(path)}: {stem} is a Windows device name (with any extension): no "
            f"file of that name can be made, and a write would go to the device; give the "
            f"{what} another name"
        )


def directory_refusal(path: str) -> SignalError:
    """The refusal of a directory given as an input signal (not a Zarr store): its files
    are the signals (a shell's ``DIR/*`` names them)."""
    files = os.path.join(path, "*")
    return SignalError(f"{path}: is a directory, not a signal file; give its files ({files})")


def stat_input(path: str) -> os.stat_result:
    """``os.stat`` of an input file, or the SignalError saying why it is not one."""
    refuse_empty_name(path, "input")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SignalError(f"{path}: no such file") from None
    except NotADirectoryError:
        raise SignalError(f"{path}: no such file (a part of the path is not a directory)") from None
    except OSError as exc:
        raise SignalError(f"{path}: cannot read: {one_line(exc.strerror or exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise directory_refusal(path)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise SignalError(f"{path}: is a device or socket, not a signal file")
    return st


@functools.cache
def can_encode(fmt: str, subtype: str) -> bool:
    """Whether this libsndfile writes ``subtype`` in ``fmt``: its format check, and for a
    codec (:data:`CODEC_SUBTYPES`) a file opened for writing in memory (the check passes
    MP3's layers I and II, which libsndfile decodes but cannot encode)."""
    import soundfile

    if not soundfile.check_format(fmt, subtype):
        return False
    if subtype not in CODEC_SUBTYPES:
        return True
    try:
        with soundfile.SoundFile(io.BytesIO(), "w", 48000, 1, subtype, format=fmt):
            pass
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        return False
    return True


def _check_subtype(target: str, fmt: str, subtype: str | None) -> str | None:
    if subtype is None:
        return None
    if fmt == "CSV":
        raise ParameterError(f"{target}: a subtype ({subtype!r}) applies to audio output only")
    import soundfile

    subtype = subtype.strip().upper()
    if fmt == "AUDIO":
        return subtype
    if not soundfile.check_format(fmt, subtype):
        held = sorted(soundfile.available_subtypes(fmt))
        close = did_you_mean(subtype, held)
        hint = f" Did you mean {close!r}?" if close else ""
        raise ParameterError(
            f"{target}: {fmt} cannot hold subtype {subtype!r}.{hint} It can hold " + ", ".join(held)
        )
    if not can_encode(fmt, subtype):
        held = ", ".join(s for s in sorted(soundfile.available_subtypes(fmt)) if can_encode(fmt, s))
        raise ParameterError(
            f"{target}: {fmt} subtype {subtype!r} can be read but not written (this libsndfile "
            f"has no encoder for it); it can write {held}"
        )
    return subtype


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
    _watched: tuple | None = field(repr=False, default=None)

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

    def blocks(self, stored: bool = False):
        """Yield ``(data, carried)`` for consecutive blocks of samples, from the start.

        ``data`` is float64 shaped ``(k,)`` or ``(k, channels)`` exactly as
        :func:`read_signal` would give those rows; ``carried`` maps each carried
        column to its ``k`` cells (CSV: list of str; audio: float array).
        ``stored``: where a file stores 32-bit floats that are read by plain
        reads (a plain WAV), ``data`` and the carried cells are those float32
        values as stored, not widened (the same values: widen them where they
        are copied anyway), each block a new array.
        Each call reads the file again from the beginning; SignalError where
        the file is not the one that was checked any more (replaced, or
        written to, even with the same size), before the pass and after it.
        """
        self._check_same()
        yield from self._reader.blocks(self, stored)
        self._check_same()

    def row_reader(self):
        """A reader of rows by position, or None where the file is not read so: a plain
        WAV of 32-bit floats whose channels are all filtered, in order
        (:class:`resdenoise.io.audio.PlainRows`).  Its ``read(start, out)`` fills the
        float32 array ``out`` (shaped as ``blocks(stored=True)``'s ``data``) with the
        rows from ``start`` on, as stored (the values of those blocks, without blocks
        of their own to join: read straight into the caller's array); ``finish()``
        after the last read checks that the file is still the one that was checked,
        as :meth:`blocks` does after its pass; ``close()`` closes the file."""
        rows = getattr(self._reader, "row_reader", None)
        return None if rows is None else rows(self)

    def watch(self, path: str, st: os.stat_result) -> None:
        """Have every pass check that ``path`` is still the file ``st`` describes."""
        self._watched = (path, _identity(st))

    def _check_same(self) -> None:
        if self._watched is None:
            return
        if not _still(*self._watched):
            raise SignalError(
                f"{self.source}: the file changed while it was read (replaced or written to "
                "between passes); nothing was written"
            )


def regular_stat(path: str) -> os.stat_result | None:
    """``os.stat(path)`` of a regular file; None for anything else (a FIFO's times change
    as it is written; a missing file: the reading says so)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def check_unchanged(source: str, path: str, before: os.stat_result | None) -> None:
    """Refuse a file read whole that changed during the read (``before``: its
    :func:`regular_stat` just before it was opened): written to (``cp`` over it) or
    replaced meanwhile, what was read may mix the old file and the new one."""
    if before is not None and not _still(path, _identity(before)):
        raise SignalError(
            f"{source}: the file changed while it was read (replaced or written to); "
            "nothing was written; run again once it is no longer being written"
        )


def _still(path: str, identity: tuple) -> bool:
    """Whether ``path`` is still the file of :func:`_identity` ``identity``."""
    try:
        return _identity(os.stat(path)) == identity
    except OSError:
        return False


def _identity(st: os.stat_result) -> tuple:
    """What changes when a file is replaced or written to: device, inode, size, times."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def dropped_columns(sig: Signal, fmt: str) -> list[str]:
    """The names of ``sig``'s carried columns (time column first) that an output of
    format ``fmt`` does not hold: a CSV file's, as audio or a Zarr store (which hold
    numbers in channels, filtered ones only where the input is a CSV); else none."""
    if sig.format != "CSV" or fmt == "CSV" or not sig.carried:
        return []
    return sig.carried_names


def check_carried(sig: Signal, fmt: str, target: str) -> None:
    """Refuse to write a CSV file's columns not picked (``columns``) as ``fmt`` audio or a
    Zarr store, which cannot hold them: they would be lost.  Its time column alone is
    left out (the rate stands for it; :func:`dropped_columns` names it).

    Raises
    ------
    ParameterError
        ``sig`` carries columns other than its time column and ``fmt`` is not CSV.
    """
    if not dropped_columns(sig, fmt):
        return
    lost = [p for p in sorted(sig.carried) if p != sig.time_column]
    if lost:
        names = ", ".join(repr(_column_name(sig.header, p)) for p in lost)
        what = "a Zarr store" if fmt == ZARR else f"{fmt} audio"
        raise ParameterError(
            f"{target}: {what} holds the filtered channels only, and the columns not "
            f"picked of {sig.source} ({names}) would be lost; write CSV to keep them, "
            "or pick them too with columns",
            parameters=["columns"],
        )
