"""The two doors of reading: whole (:func:`read_signal`, :func:`parse_signal`)
and in blocks (:func:`open_signal_stream`), over one reader per format.
"""

from __future__ import annotations

import os
import stat
import sys

from ..errors import (
    ParameterError,
    SignalError,
    non_finite,
    one_line,
    refuse_non_finite,
    spell,
    too_short,
)
from .atomic import remove_temporary, spool_stdin, stdin_source
from .audio import open_audio, read_audio, read_audio_file
from .options import ReadOptions
from .signal import (
    STDIO,
    ZARR,
    Signal,
    SignalStream,
    check_unchanged,
    guess_format,
    looks_like_audio,
    regular_stat,
    stat_input,
)


def read_signal(
    path: str | os.PathLike,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    *,
    stored: bool = False,
) -> Signal:
    """Read a signal from a CSV or audio file, a Zarr store, or ``-`` (stdin).

    Parameters
    ----------
    path : str or path-like
        The file, or ``"-"`` for stdin.
    fmt : str, optional
        ``"csv"`` or an audio format; default from the extension (stdin:
        audio if the bytes start like an audio file, else CSV).
    options : ReadOptions, optional
        Delimiter, decimal mark, header, time column and columns (audio:
        channels) to filter; by default all are found out.
    stored : bool
        A sound file on disk that stores 32-bit floats (subtype ``FLOAT``)
        gives its samples as float32, as stored (the same values, half the
        memory); every other input, and stdin, float64 as without it.

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
    _check_fmt(fmt)
    source = "<stdin>" if path == STDIO else str(path)
    if path == STDIO:
        try:
            raw = stdin_source().read()
        except (OSError, ValueError) as exc:
            raise SignalError(f"<stdin>: cannot read: {one_line(exc)}") from None
        if fmt is None and looks_like_audio(raw):
            fmt = "AUDIO"
    elif guess_format(path, fmt) == ZARR:
        from .zarr_store import read_zarr

        return read_zarr(path, source, ReadOptions() if options is None else options)
    else:
        before = regular_stat(path)  # a file changed while it is read: refused
        read_file = _read_audio_file if guess_format(path, fmt) != "CSV" else _read_csv_file
        sig = read_file(path, source, options, stored)
        check_unchanged(source, path, before)
        if sig is not None:
            return sig
        raw = _read_bytes(path)
        check_unchanged(source, path, before)
        if fmt is None and looks_like_audio(raw) and unnamed_stream(path):
            fmt = "AUDIO"  # as stdin's
    return parse_signal(raw, guess_format(path, fmt), source, options)


def unnamed_stream(path: str) -> bool:
    """Whether ``path`` is a stream whose name tells no format (a FIFO or a process
    substitution's ``/dev/fd/63``: not a regular file, no extension): its format is
    told by its first bytes, as stdin's is (its name cannot be given an extension)."""
    if os.path.splitext(path)[1]:
        return False
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _regular_nonempty(path: str) -> bool:
    """Whether ``path`` is a regular file with a byte in it (the errors of
    :func:`_read_bytes` where it cannot be read)."""
    stat_input(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:  # the errors of _read_bytes
            return bool(fh.read(1))  # empty: parse_signal says so
    except PermissionError:
        raise SignalError(f"{path}: permission denied; cannot read the file") from None
    except OSError as exc:
        raise SignalError(f"{path}: cannot read: {one_line(exc.strerror or exc)}") from None


def _read_audio_file(
    path: str, source: str, options: ReadOptions | None, stored: bool = False
) -> Signal | None:
    """An audio file that is a regular, non-empty file, read whole without holding its
    bytes (:func:`.audio.read_audio_file`: the same Signal, the same errors); None
    for anything else (read as bytes then, with their messages)."""
    if not _regular_nonempty(path):
        return None
    sig = read_audio_file(path, source, ReadOptions() if options is None else options, stored)
    _check_samples(sig)
    return sig


def _read_csv_file(
    path: str, source: str, options: ReadOptions | None, stored: bool = False
) -> Signal | None:
    """A CSV file that is a regular, non-empty file, read whole a piece at a time without
    holding its bytes (:func:`.csv.read_csv_file`: the same Signal, the same errors);
    None for anything else (read as bytes then, with their messages)."""
    if not _regular_nonempty(path):
        return None
    from .csv import read_csv_file  # not at start-up: an audio run needs no CSV reader

    sig = read_csv_file(path, source, ReadOptions() if options is None else options)
    _check_samples(sig)
    return sig


def is_pipe(path: str | os.PathLike) -> bool:
    """Whether ``path`` is stdin (``"-"``) or a named FIFO: an input that can be read once."""
    path = os.fspath(path)
    if path == STDIO:
        return True
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


#: Byte order marks of UTF-16 and UTF-32 text (NUL bytes are its characters' halves).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")

#: Bytes of a pipe held in memory: a longer one goes to a spool file at once.
PIPE_HEAD_BYTES = 1 << 20


class PipeInput:
    """Stdin or a named FIFO, read once.

    Up to :data:`PIPE_HEAD_BYTES` stay in memory (``head``); a longer
    stream is copied to a spool file (``spooled``, see :func:`spool_stdin`)
    in blocks, so that it takes the memory of a file of its size.  ``more``:
    it is longer than ``limit`` bytes (then stream it from the spool file);
    ``size``: its length in bytes.
    Close it to remove the spool file.
    """

    def __init__(self, path: str | os.PathLike, limit: int, fmt: str | None = None):
        self.path = os.fspath(path)
        self._fmt = fmt
        self.name = "<stdin>" if self.path == STDIO else self.path
        self.fh = self.spooled = None
        if self.path == STDIO:
            self.source = stdin_source()
        else:
            stat_input(self.path)
            try:
                self.source = self.fh = open(self.path, "rb")
            except OSError as exc:
                raise SignalError(f"{self.name}: cannot read: {one_line(exc)}") from None
        try:
            self.head = self._read(PIPE_HEAD_BYTES + 1)
            size = len(self.head)
            if size > PIPE_HEAD_BYTES:
                self._refuse_binary()
                self.spooled = spool_stdin(head=self.head, source=self.source, name=self.name)
                self.head = self.head[:8]  # enough to tell audio from CSV (W64: 8)
                size = os.stat(self.spooled).st_size
        except BaseException:
            self.close()
            raise
        self.size = size  # bytes
        self.more = size > limit

    def _refuse_binary(self) -> None:
        """A long CSV stream with a NUL byte in its first MiB is refused before it is
        spooled (``/dev/zero`` would fill the disk): with the reader's own message."""
        if b"\0" not in self.head or self.head.startswith(_WIDE_BOMS):
            return
        try:
            if self.format(self._fmt) != "CSV":
                return
            parse_signal(self.head, "CSV", self.name, None)
        except SignalError as exc:
            if "NUL" in str(exc):
                raise
        except ParameterError:
            pass

    def _read(self, size: int = -1) -> bytes:
        try:
            data = self.source.read(size)
        except (OSError, ValueError) as exc:
            raise SignalError(f"{self.name}: cannot read: {one_line(exc)}") from None
        return data if isinstance(data, bytes) else data.encode("utf-8")

    def format(self, fmt: str | None) -> str:
        """The format: ``fmt``, else stdin's by its first bytes, a FIFO's by its name
        (by its first bytes too where the name has no extension: ``<(...)``)."""
        if fmt is None and (self.path == STDIO or not os.path.splitext(self.path)[1]):
            return "AUDIO" if looks_like_audio(self.head) else "CSV"
        return guess_format(self.path, fmt)

    def refuse_audio_on_a_terminal(self, fmt: str | None) -> None:
        """An audio stream whose output would go to stdout in its own format, where
        stdout is a terminal: refused, as the command line refuses stdin's (it cannot
        look into a named stream before it is opened)."""
        try:
            if sys.stdout is None or not sys.stdout.isatty() or self.format(fmt) == "CSV":
                return
        except (OSError, ValueError, ParameterError, SignalError):
            return  # reading or writing reports it
        raise ParameterError(
            f"{self.name}: stdout is a terminal and the output is audio; give an output "
            f"file, pipe it on, or {spell('output_format', 'csv')} for the numbers",
            parameters=[("output_format", "csv")],
        )

    def read_whole(self, fmt: str | None, options: ReadOptions | None) -> Signal:
        """The signal, as :func:`read_signal` reads it."""
        raw = self.head if self.spooled is None else _read_bytes(self.spooled)
        return parse_signal(raw, self.format(fmt), self.name, options)

    def spool(self) -> str:
        """The path of a file that holds the whole stream (the spool file)."""
        if self.spooled is None:
            self.spooled = spool_stdin(head=self.head, source=self.source, name=self.name)
        return self.spooled

    def close(self) -> None:
        """Close a FIFO and remove the spool file."""
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        remove_temporary(self.spooled)
        self.spooled = None


def _check_fmt(fmt) -> None:
    if fmt is not None and not isinstance(fmt, str):
        raise TypeError(f"fmt must be a str or None, not {fmt!r} (give options as options=...)")


def _read_bytes(path: str) -> bytes:
    stat_input(path)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except PermissionError:
        raise SignalError(f"{path}: permission denied; cannot read the file") from None
    except OSError as exc:
        raise SignalError(f"{path}: cannot read: {one_line(exc.strerror or exc)}") from None


def parse_signal(
    raw: bytes,
    fmt: str = "CSV",
    source: str = "<memory>",
    options: ReadOptions | None = None,
) -> Signal:
    """Parse the bytes of a CSV (``fmt="CSV"``) or audio file (any other ``fmt``).

    ``options`` as for :func:`read_signal`; ``source`` names the file in
    messages.  The returned data are finite float64 with at
    least 2 samples.

    Raises
    ------
    SignalError, ParameterError
        As :func:`read_signal`.
    """
    if not raw:
        raise SignalError(f"{source}: file is empty (0 bytes)")
    options = ReadOptions() if options is None else options
    if fmt == "CSV":
        from .csv import read_csv  # not at start-up: an audio run needs no CSV reader

        sig = read_csv(raw, source, options)
    else:
        sig = read_audio(raw, source, options)
    _check_samples(sig)
    return sig


def _check_samples(sig: Signal) -> None:
    n = sig.data.shape[0]
    if n < 2:
        what = "data row" if sig.format == "CSV" else "sample"
        raise too_short(sig.source, n, what)
    found = non_finite(sig.data)  # by the data's column: named by the file's channel
    refuse_non_finite(sig.source, {sig.channel_positions[c]: v for c, v in found.items()})


def stores_float32(path: str | os.PathLike, fmt: str | None = None) -> bool:
    """Whether ``path`` is a sound file whose samples are stored as 32-bit floats
    (subtype ``FLOAT``), from its header alone: values float32 holds exactly.
    False for CSV, a Zarr store and any other subtype; also for a file soundfile
    cannot open (reading it says why)."""
    return stored_subtype(path, fmt) == "FLOAT"


def stored_subtype(path: str | os.PathLike, fmt: str | None = None) -> str | None:
    """The subtype of the sound file ``path`` (``PCM_16``, ``FLOAT``, ...), from its header
    alone; None for CSV, a Zarr store, stdin and a file soundfile cannot open (reading it
    says why)."""
    path = os.fspath(path)
    try:
        if path == STDIO or guess_format(path, fmt) in ("CSV", ZARR):
            return None
        import soundfile

        return soundfile.info(path).subtype
    except Exception:  # noqa: BLE001 - the reader reports a bad file, with its name
        return None


def open_signal_stream(
    path: str | os.PathLike,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    *,
    visit=None,
    source: str | None = None,
    expect=None,
    stored: bool = False,
    read_bytes=None,
) -> SignalStream:
    """Check a CSV or audio file (or a Zarr store) in one pass, in bounded memory, for
    reading in blocks.

    Takes the arguments of :func:`read_signal` (but no ``"-"``: spool stdin
    to a file first, see :func:`spool_stdin`) and accepts and rejects exactly
    the files it does, with the same messages: both doors go through the
    same reader.  One difference in order: this door decodes a CSV file as
    it reads it, so a problem of the text (an undecodable byte, a NUL)
    beyond the first ``READ_BYTES`` of the file is met after the problems
    before it (a ragged row, a NUL in an earlier piece), where
    ``read_signal`` decodes the whole text first.  The pass learns what
    ``read_signal`` learns from the whole file: the number of samples, the
    CSV time column and trailing delimiter, the line ends.

    Parameters
    ----------
    visit : callable, optional
        Called as ``visit(block)`` during the pass with every block of rows,
        in order: a float64 array ``(k, width)`` of *all* the file's columns
        (audio: channels), NaN where a cell is not a finite number.  The
        columns that are filtered are ``stream.positions`` once it returns.
        Each block is a new array.
    stored : bool
        Where a file stores 32-bit floats that are read by plain reads (a
        plain WAV), ``visit`` gets them as stored, float32 (the same values),
        as :meth:`SignalStream.blocks` gives them with ``stored``.
    source : str, optional
        The file's name in messages (default: ``path``), e.g. ``"<stdin>"``
        for a spooled stream.
    expect : callable, optional
        Called as ``expect(frames)`` before the pass when the file says how
        many rows it holds (an audio file's header); a file that holds fewer
        is refused after the pass.
    read_bytes : callable, optional
        Called as ``read_bytes(done, total)`` during a CSV file's pass after each
        piece read (``READ_BYTES``): the bytes read so far of the file's size
        (``total``; None where the file has none, a device): the pass's progress,
        whose rows' count has no total.

    Returns
    -------
    SignalStream

    Raises
    ------
    SignalError, ParameterError
        As :func:`read_signal`.
    """
    path = os.fspath(path)
    _check_fmt(fmt)
    if path == STDIO:
        raise ValueError("open_signal_stream reads files; spool stdin first (spool_stdin)")
    source = path if source is None else source
    options = ReadOptions() if options is None else options
    if guess_format(path, fmt) == ZARR:
        from .zarr_store import open_zarr

        return open_zarr(path, source, options, visit)
    st = stat_input(path)
    if st.st_size == 0 and stat.S_ISREG(st.st_mode):
        raise SignalError(f"{source}: file is empty (0 bytes)")
    fmt = guess_format(path, fmt)
    if fmt == "CSV":
        from .csv import open_csv  # not at start-up: an audio run needs no CSV reader

        total = st.st_size if stat.S_ISREG(st.st_mode) and st.st_size else None
        read = None if read_bytes is None else (lambda done: read_bytes(done, total))
        stream = open_csv(path, source, options, visit, read)
    else:
        stream = open_audio(path, source, options, visit, expect, stored)
    stream.watch(path, st)  # each later pass checks that it reads this same file
    return stream
