"""Writing signals: CSV and audio encoding, whole or block by block.

:func:`encode_signal` and :func:`write_signal` write a whole :class:`Signal`;
:class:`SignalWriter` writes the same bytes block by block.  A CSV keeps the
input's preamble, header, delimiter, decimal mark, line ends, encoding and
column order, with numbers written by ``repr`` (float64 round-trips exactly);
audio keeps samplerate, channels, format, subtype (unless told otherwise) and text metadata,
integer PCM quantised and clipped (and counted) rather than wrapped.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile

import numpy as np

from ..errors import ParameterError, SignalError, diverged, one_line, refuse_diverged
from .atomic import (
    COPY_BYTES,
    _set_mode,
    _temp_beside,
    _TempOutput,
    _write_error,
    _write_through,
    check_output_path,
    chmod_tolerant,
    stdout_in_kind,
    temp_dir_beside,
    temporary_directory,
)
from .audio import _AUDIO_ERRORS
from .audio_choice import _audio_choice, _opus_asked
from .checked import (
    CheckedFile,
    close_unsynced,
    open_failure,
    system_error,
    write_reason,
    written_at_once,
)
from .csv_text import (
    comments_after,
    csv_bytes,
    csv_dialect,
    csv_head_lines,
    csv_row_lines,
    delimited_for,
    encoder,
    placed,
    rounded_for,
)
from .options import WriteOptions
from .renames import write_files_atomic
from .rounding import ENCODED_SUBTYPES, LOSSY_CODECS, PcmRounding
from .signal import (
    FLOAT_SUBTYPES,
    PCM_BITS,
    STDIO,
    ZARR,
    Signal,
    _check_subtype,
    check_carried,
    column_label,
    dropped_columns,
    guess_format,
)
from .signals import deferred
from .wav import channel_mask, frames_held, mask_unkept, sized_format


def write_signal(path: str | os.PathLike, sig: Signal, options: WriteOptions | None = None) -> dict:
    """Write ``sig`` to ``path`` (``-``: stdout) atomically.

    The format follows ``options.format`` or the extension of ``path`` (stdout:
    the input's format); a CSV keeps the preamble, header, delimiter, decimal
    mark, line ends and carried columns, and carries the sample rate in a
    :data:`~resdenoise.io.RATE_LINE` when ``sig`` has one; audio keeps
    samplerate, channels and subtype.  A CSV written as audio needs
    ``sig.samplerate`` (ParameterError without one), is written as FLOAT
    unless ``options.subtype`` or the format says otherwise, and holds only
    the filtered channels: its time column is left out (the rate stands for
    it; :func:`dropped_columns` names it), and columns not picked, which audio
    or a Zarr store cannot hold, are refused (:func:`check_carried`).

    Returns
    -------
    dict
        ``{"clipped": n, "format": ..., "subtype": ..., "narrowing": ...}``: ``n``
        samples were outside the range of the integer (or companded) subtype and
        were clipped rather than wrapped; ``narrowing``: where no subtype was given
        and the format holds the input's samples only in a coarser subtype than the
        input's (a PCM_32 or DOUBLE input written as FLAC: PCM_24), the line the
        command line warns with, saying so; else None.

    Raises
    ------
    SignalError
        Cannot write, non-finite data, or cannot encode.
    ParameterError
        The format or subtype unknown or not possible together; columns not picked
        of a CSV written as audio or Zarr.
    """
    if (
        os.fspath(path) != STDIO
        and output_format(os.fspath(path), options or WriteOptions(), sig) == ZARR
    ):
        with SignalWriter(path, sig, options) as writer:
            writer.write(sig.data, sig.carried)
            write_files_atomic([writer])
        return {"clipped": 0, "format": ZARR, "subtype": None, "narrowing": None}
    payload, stats = encode_signal(path, sig, options)
    write_files_atomic([(path, payload)], None, options is not None and options.parents)
    return stats


def encode_signal(
    path: str | os.PathLike, sig: Signal, options: WriteOptions | None = None
) -> tuple[bytes, dict]:
    """The bytes :func:`write_signal` would write to ``path``, and its stats."""
    options = WriteOptions() if options is None else options
    path = os.fspath(path)
    target = "<stdout>" if path == STDIO else path
    fmt, subtype = output_format(path, options, sig), options.subtype
    if fmt == ZARR:
        raise ParameterError(f"{target}: a Zarr store is a directory, not bytes; use write_signal")
    check_carried(sig, fmt, target)
    data = np.asarray(sig.data, dtype=np.float64)
    refuse_diverged(target, data)
    if fmt == "CSV":
        _check_subtype(target, fmt, subtype)
        stats = {"clipped": 0, "format": "CSV", "subtype": None, "narrowing": None}
        sig = rounded_for(delimited_for(path, sig), options.input_decimals)
        return csv_bytes(sig, data), stats
    return _audio_bytes(sig, data, fmt, subtype, target, _opus_asked(path, options))


def output_format(path: str, options: WriteOptions, sig: Signal) -> str:
    """The format to write ``sig`` as: ``options.format``, the extension of ``path``,
    or, on stdout, the input's own (audio stays audio through a pipe)."""
    if options.format is None and stdout_in_kind(path):  # also -o /dev/stdout
        return "CSV" if sig.format == ZARR else sig.format  # a store cannot go through a pipe
    return guess_format(path, options.format, output=True)


def _audio_bytes(
    sig: Signal, data: np.ndarray, fmt: str, subtype: str | None, target: str, opus: bool
) -> tuple[bytes, dict]:
    import soundfile

    fmt, subtype, narrowing = _audio_choice(sig, fmt, subtype, target, opus)
    fmt, _ = sized_format(fmt, subtype, sig, data.shape[0], target)
    out, clipped = _audio_frames(sig, data, sig.carried, subtype)
    if subtype == "FLOAT":  # finite samples beyond float32's range: inf
        clipped = _overflowed(out, sig, data, sig.carried)
    buf = io.BytesIO()
    try:
        with soundfile.SoundFile(buf, "w", sig.samplerate, out.shape[1], subtype, format=fmt) as f:
            _without_peak(f, fmt, subtype)  # as SignalWriter writes it
            _keep_tags(f, sig)
            f.write(out)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise _encode_error(target, fmt, subtype, exc) from None
    _keep_channel_mask(buf, sig, fmt)
    stats = {"clipped": clipped, "format": fmt, "subtype": subtype, "narrowing": narrowing}
    return buf.getvalue(), stats


def _quantised(x: np.ndarray, top: float) -> tuple[np.ndarray, int]:
    """``x`` as the integers of a PCM subtype of range ``top`` (rounded, clipped to
    ``-top .. top - 1``, as floats) and how many samples the clipping changed: those at
    or above 1 (or that round below -1).  One below 1 that rounds to ``top`` (a 24-bit
    full scale as PCM_16) is the top code: the rounding's excess at the rail, not clipping."""
    q = np.rint(x * top)
    clipped = int(np.count_nonzero((x >= 1.0) | (q < -top)))
    return np.clip(q, -top, top - 1), clipped


def _audio_frames(
    sig: Signal, data: np.ndarray, carried: dict, subtype: str
) -> tuple[np.ndarray, int]:
    """The frames to hand to soundfile for ``data`` (and carried channels), and the clip count."""
    chans = _channels(sig, data, carried)
    clipped = 0
    if subtype in PCM_BITS:
        bits = PCM_BITS[subtype]
        q, clipped = _quantised(chans, 2.0 ** (bits - 1))
        out = (q.astype(np.int64) << (32 - bits)).astype(np.int32)
    elif subtype == "FLOAT":  # cast by NumPy as libsndfile casts (the same bytes, faster)
        with np.errstate(over="ignore"):  # beyond float32: inf, clipped by _overflowed
            out = np.ascontiguousarray(chans, dtype=np.float32)
    elif subtype in FLOAT_SUBTYPES:
        out = chans
    else:
        over = np.abs(chans) > 1.0
        clipped = int(np.count_nonzero(over))
        out = np.clip(chans, -1.0, 1.0)
    return out, clipped


def _largest_sample(subtype: str) -> float:
    """The largest sample an integer or companded ``subtype`` holds: ``1 - 2**(1 - b)``
    for ``b``-bit PCM (32767/32768 for PCM_16), else 1; the smallest is -1."""
    if subtype not in PCM_BITS:
        return 1.0
    top = _pcm_top(subtype)
    return (top - 1) / top


def output_range(path, template: Signal, options: WriteOptions | None = None):
    """``(lo, hi)``: the samples the output ``path`` of ``template``'s signal (as
    :class:`SignalWriter` would write it) holds without clipping: -1 up to the largest
    sample of an integer or companded subtype, float32's range for ``FLOAT``; None where
    it holds any float64 (CSV, ``DOUBLE``, Zarr).  What an automatic choice is told."""
    options = WriteOptions() if options is None else options
    fmt = output_format(os.fspath(path), options, template)
    if fmt in ("CSV", ZARR):
        return None
    path = os.fspath(path)
    _, subtype, _ = _audio_choice(template, fmt, options.subtype, path, _opus_asked(path, options))
    if subtype == "FLOAT":
        return -FLOAT32_MAX, FLOAT32_MAX
    return None if subtype in FLOAT_SUBTYPES else (-1.0, _largest_sample(subtype))


def _pcm_top(subtype: str) -> int:
    """``2**(b - 1)`` for ``b``-bit PCM ``subtype``: one past its largest integer sample."""
    return 2 ** (PCM_BITS[subtype] - 1)


def _shown_top(subtype: str) -> str:
    """:func:`_largest_sample` as a message shows it: with the digits that tell it from 1
    (PCM_16's 0.999969, PCM_U8's 0.9922)."""
    if subtype not in PCM_BITS:
        return "1"
    digits = len(str(_pcm_top(subtype))) + 1
    return f"{_largest_sample(subtype):.{digits}g}"


def _channels(sig: Signal, data: np.ndarray, carried: dict) -> np.ndarray:
    """``data`` as rows of the file's channels: an audio input's carried ones beside."""
    n = data.shape[0]
    chans = data.reshape(n, -1)
    if sig.format != "CSV" and carried:
        full = np.empty((n, len(sig.channel_positions) + len(carried)))
        for k, p in enumerate(sig.channel_positions):
            full[:, p] = chans[:, k]
        for p, col in carried.items():
            full[:, p] = col
        chans = full
    return chans


#: The largest float32: a FLOAT file's samples beyond it are clipped to it.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _overflowed(out: np.ndarray, sig: Signal, data: np.ndarray, carried: dict) -> int:
    """Clip, in ``out``, and count the samples of the float32 frames ``out`` of ``data``
    (and ``carried``) that are not finite where the samples were: beyond float32's
    range, cast to inf, now +-float32's maximum (a channel carried through keeps its
    own NaN or inf)."""
    with np.errstate(over="ignore", invalid="ignore"):  # all finite when their sum is
        if np.isfinite(np.sum(out)):
            return 0
    bad = ~np.isfinite(out)
    if not bad.any():
        return 0
    bad &= np.isfinite(_channels(sig, data, carried))
    out[bad] = np.copysign(np.float32(FLOAT32_MAX), out[bad])
    return int(np.count_nonzero(bad))


def _encode_error(name: str, fmt: str, subtype: str | None, exc: BaseException) -> SignalError:
    msg = one_line(getattr(exc, "error_string", None) or exc)
    return SignalError(f"{name}: cannot encode as {fmt}/{subtype}: {msg}")


#: libsndfile's ``SFC_SET_ADD_PEAK_CHUNK`` command (sndfile.h; soundfile does not name it).
_SET_ADD_PEAK_CHUNK = 0x1050
#: The formats whose float files libsndfile gives a PEAK chunk by default (the command
#: would add one to others: RF64).
_PEAK_FORMATS = frozenset({"WAV", "WAVEX", "AIFF", "CAF"})


def _without_peak(sf, fmt: str, subtype: str) -> None:
    """Have libsndfile write a float file (just opened for writing) without a PEAK chunk.

    The PEAK chunk (each channel's largest ``|sample|`` and where it is, with
    a time stamp) is optional metadata that libsndfile adds to float WAV, AIFF
    and CAF files by default; keeping it up to date makes libsndfile walk every
    written sample, a channel at a time: 0.25-1.1 s of CPU for 512 MiB, against
    0.12 s for the write itself.  The samples are the same.  Through
    soundfile's own handle: where a soundfile version lacks it, the chunk stays.
    """
    if subtype not in FLOAT_SUBTYPES or fmt not in _PEAK_FORMATS:
        return
    import soundfile

    snd, handle = getattr(soundfile, "_snd", None), getattr(sf, "_file", None)
    null = getattr(getattr(soundfile, "_ffi", None), "NULL", None)
    if snd is not None and handle is not None and null is not None:
        snd.sf_command(handle, _SET_ADD_PEAK_CHUNK, null, snd.SF_FALSE)


def _keep_tags(sf, sig: Signal) -> None:
    """Give an audio file just opened for writing the text metadata of the audio input
    (title, artist, comment, ...); a format that holds none (or not that one) goes without."""
    for key, value in sig.tags.items():
        try:
            setattr(sf, key, value)
        except RuntimeError:  # libsndfile: this format cannot hold the string
            continue


def _keep_channel_mask(fh, sig: Signal, fmt: str) -> None:
    """Give a WAVE_FORMAT_EXTENSIBLE output just written (``fh``: its bytes, readable and
    writable) the speaker positions of its WAVEX input (``sig.channel_mask``), where
    libsndfile wrote its default for the channel count: side surrounds stayed side ones,
    a microphone array's 0 stayed 0 (not quad)."""
    if fmt not in ("WAVEX", "RF64") or sig.channel_mask is None:
        return

    def read_at(pos: int, k: int) -> bytes:
        fh.seek(pos)
        return fh.read(k)

    found = channel_mask(read_at, fh.seek(0, os.SEEK_END))
    if found is not None and found[1] != sig.channel_mask:
        fh.seek(found[0])
        fh.write(struct.pack("<I", sig.channel_mask))
    fh.seek(0, os.SEEK_END)


#: Bytes of audio written between two requests to the kernel to start writing them to
#: the disk (:meth:`SignalWriter._start_writeback`).
WRITEBACK_BYTES = 16 << 20

#: Cells (samples and carried) of a CSV output made text at a time: a string each, about
#: 75 bytes (a chunk of 2^18 rows of 32 channels at once: ~630 MB); the same bytes.
CSV_VALUES = 1 << 16


class SignalWriter(_TempOutput):
    """A signal written block by block: first to a temporary file, then renamed.

    Writes exactly what :func:`write_signal` writes for the same samples,
    without holding them: ``template`` (a :class:`SignalStream`'s) describes
    the file; :meth:`write` appends rows; :func:`write_files_atomic` (given
    the writer among its items) renames the temporary file into place, so
    the target appears whole or not at all.  Stdout and devices are written
    from an anonymous temporary file at that moment.  Use it as a context
    manager: leaving the block by an exception removes the temporary file.

    ``frames``: the rows that will be written, where known (a WAV of more than its
    4 GiB is then RF64, :func:`sized_format`, ``resized`` saying so; without it, such
    a WAV is refused as the rows outgrow it).

    Raises
    ------
    SignalError, ParameterError
        As :func:`write_signal` (non-finite samples: when the writer closes).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        template: Signal,
        options: WriteOptions | None = None,
        frames: int | None = None,
    ):
        options = WriteOptions() if options is None else options
        subtype = options.subtype
        self.parents = options.parents
        self.path = os.fspath(path)
        self.name = "<stdout>" if self.path == STDIO else self.path
        self.template = template
        self.fmt = output_format(self.path, options, template)
        self.subtype = None
        self.narrowing: str | None = None  # the chosen subtype holds fewer bits: why
        self.resized: str | None = None  # RF64 for a WAV of ``frames`` beyond 4 GiB: why
        self.unkept: str | None = None  # the input's speaker positions, not held: said
        self._most: int | None = None  # the frames a WAV or AIFF output holds
        self.clipped = 0
        self.nonfinite = 0
        self.frames = 0  # rows handed to write
        self._rounded: PcmRounding | None = None  # integer PCM: the written samples
        self.tmp: str | None = None
        self.target, self.direct = None, False
        self.closed = False
        self._written = 0  # bytes of the temporary file whose writeback was started
        self._fh = None
        self._sf = None
        self._checked: CheckedFile | None = None  # an encoder's writes (.checked)
        self._store = None
        check_carried(template, self.fmt, self.name)
        #: the carried columns the output leaves out (a CSV's time column, as audio)
        self.dropped = dropped_columns(template, self.fmt)
        if self.fmt == ZARR:
            self._start_store(subtype)
            return
        if self.fmt == "CSV":
            _check_subtype(self.name, self.fmt, subtype)
            template = delimited_for(self.path, template)
            self.template = template = rounded_for(template, options.input_decimals)
        else:
            self.fmt, self.subtype, self.narrowing = _audio_choice(
                template, self.fmt, subtype, self.name, _opus_asked(self.path, options)
            )
            self.fmt, self.resized = sized_format(
                self.fmt, self.subtype, template, frames, self.name
            )
            self._most = frames_held(self.fmt, self.subtype, template)
            width = template.channels + len(template.carried)
            self.unkept = mask_unkept(template.channel_mask, width, self.fmt, self.name)
        self.target, self.direct = check_output_path(self.path, options, signal=False)
        try:
            if self.direct:
                where = temporary_directory(self.name, "to hold the output until it is whole")
                with deferred():  # made and unlinked at once: not split by a signal
                    self._fh = tempfile.TemporaryFile(dir=where)
            else:
                fd, self.tmp = _temp_beside(self.path, self.target, self.parents)
                self._fh = os.fdopen(fd, "w+b")
            self._start()
        except BaseException:
            self.discard()
            raise

    def info(self) -> dict:
        """The report's ``output_info``: the output's format and subtype (None for CSV and
        Zarr), rate (None where the output carries none), the frames written, the filtered
        channels and every column written (carried ones too); ``decimals``, the columns
        written rounded (``input_decimals``), only where some were."""
        info = {
            "format": self.fmt,
            "subtype": self.subtype,
            "rate": self.template.samplerate,
            "frames": self.frames,
            "channels": self.template.channels,
            "columns": self.template.width - len(self.dropped),
        }
        sig = self.template  # the filtered columns written rounded (input_decimals), if any
        if self.fmt == "CSV" and sig.format == "CSV" and sig.layout.rounded:
            info["decimals"] = {column_label(sig.header, p): d for p, d in sig.layout.decimals}
        return info

    def _start_store(self, subtype: str | None) -> None:
        """A Zarr store: written chunk by chunk into a temporary directory."""
        from .zarr_store import ZarrRows

        # a subtype is refused
        options = WriteOptions(format=ZARR, subtype=subtype, parents=self.parents)
        self.target, self.direct = check_output_path(self.path, options)
        self.tmp = temp_dir_beside(self.path, self.target, self.parents)
        try:
            self._store = ZarrRows(self.tmp, self.name, self.template)
        except BaseException:
            self.discard()
            raise

    def _start(self) -> None:
        if self.fmt == "CSV":
            layout, _ = csv_dialect(self.template)
            self._nl = layout.newline
            self._encoder = encoder(layout.encoding)
            head = csv_head_lines(self.template)
            self._put("".join(line + self._nl for line in head))
            self._comments, self._row = layout.comments, 0  # (rows written so far)
            return
        import soundfile

        sig = self.template
        channels = sig.channels + (len(sig.carried) if sig.format != "CSV" else 0)
        # plain samples by file descriptor: libsndfile writes to the file itself, where a
        # file object would call back into Python for every 8 KiB (a 256 MiB WAV: 33k
        # calls, 0.8 s); an encoder through a CheckedFile, which keeps a failed write at
        # the close (:mod:`.checked`); nothing else writes to _fh meanwhile
        if not written_at_once(self.fmt, self.subtype):
            self._checked = CheckedFile(self._fh.fileno())
        try:
            self._sf = soundfile.SoundFile(
                self._checked or self._fh.fileno(),
                "w",
                closefd=False,
                samplerate=sig.samplerate,
                channels=channels,
                subtype=self.subtype,
                format=self.fmt,
            )
        except _AUDIO_ERRORS as exc:
            self._check()  # a full disk: said so, not an encoding problem
            reason = open_failure(self._fh.fileno(), exc)
            if reason is not None:
                raise SignalError(f"{self.name}: cannot write: {reason}") from None
            raise _encode_error(self.name, self.fmt, self.subtype, exc) from None
        _without_peak(self._sf, self.fmt, self.subtype)
        _keep_tags(self._sf, sig)

    def _put(self, text: str, final: bool = False) -> None:
        try:
            self._fh.write(self._encoder.encode(text, final))
        except OSError as exc:
            raise _write_error(self.name, exc) from None

    def write(self, data: np.ndarray, carried: dict | None = None) -> np.ndarray:
        """Append rows: ``data`` shaped ``(k,)`` or ``(k, channels)``, ``carried`` cells beside.

        Returns ``data`` as the file holds it up to the subtype's rounding:
        clipped where an integer or companded subtype clipped it (else
        ``data`` itself).
        """
        given = data
        data = np.asarray(data)
        self.frames += data.shape[0]
        if self._most is not None and self.frames > self._most:  # frames not told: wrapped
            raise SignalError(
                f"{self.name}: the samples outgrow a {self.fmt} file (4 GiB at most; its "
                "sizes would wrap); nothing written; write RF64 (output_format='rf64')",
                parameters=[("output_format", "rf64")],
            )
        if not (data.dtype == np.float32 and self.subtype == "FLOAT"):
            data = data.astype(np.float64, copy=False)  # (float32 into float32: as it is)
        carried = {} if carried is None else carried
        out = None  # a float file's frames first: their float32 sum (half float64's bytes)
        if self.subtype == "FLOAT" and self._sf is not None:  # keeps a NaN or inf one
            out, clipped = _audio_frames(self.template, data, carried, self.subtype)
        # all finite when their sum is (one pass, no temporary); else counted
        with np.errstate(over="ignore", invalid="ignore"):  # a sum of huge samples: counted
            finite = bool(np.isfinite(np.sum(data if out is None else out)))
        if self.nonfinite or not finite:
            self.nonfinite += int(data.size - np.count_nonzero(np.isfinite(data)))
            if self.nonfinite:
                return given
            if out is not None:  # finite samples beyond float32's range: inf
                clipped = _overflowed(out, self.template, data, carried)
        if self._store is not None:
            self._store.write(data, carried)
            return given
        if self.fmt == "CSV":  # a text row per cell (~75 bytes): CSV_VALUES cells at a time
            step = max(1, CSV_VALUES // max(1, data[:1].size + len(carried)))
            for a in range(0, data.shape[0], step):
                piece = data[a : a + step]
                rows = csv_row_lines(
                    self.template, piece, {p: c[a : a + step] for p, c in carried.items()}
                )
                rows = placed(rows, self._comments, self._row)
                self._row += piece.shape[0]
                self._put(self._nl.join(rows) + self._nl)
            return given
        if out is None:
            out, clipped = _audio_frames(self.template, data, carried, self.subtype)
        if self.subtype in PCM_BITS and data.shape[0]:
            self._note_rounding(out, data)
        self.clipped += clipped
        try:
            self._sf.write(out)
        except (*_AUDIO_ERRORS, AssertionError) as exc:  # (soundfile asserts all written)
            self._check()
            reason = system_error(self._sf, exc)
            if reason is not None:  # a full disk, a file too large: no encoding problem
                raise SignalError(f"{self.name}: cannot write: {write_reason(reason)}") from None
            raise _encode_error(self.name, self.fmt, self.subtype, exc) from None
        except OSError as exc:
            raise _write_error(self.name, exc) from None
        self._check()
        self._start_writeback()
        if not clipped:
            return given
        if self.subtype == "FLOAT":  # clipped to float32's range (counted)
            return np.clip(given, -FLOAT32_MAX, FLOAT32_MAX)
        return np.clip(given, -1.0, _largest_sample(self.subtype))

    def _note_rounding(self, out: np.ndarray, data: np.ndarray) -> None:
        """The written integer frames ``out`` of ``data``'s channels, measured
        (:class:`~resdenoise.io.rounding.PcmRounding`) over every row written."""
        channels = data.reshape(data.shape[0], -1).shape[1]
        columns = None  # an audio input's carried channels beside them: the filtered ones
        if out.shape[1] != channels:
            columns = list(self.template.channel_positions)
        if self._rounded is None:
            self._rounded = PcmRounding(self.subtype, PCM_BITS[self.subtype], channels)
        self._rounded.note(out, columns)
        top = float(self._rounded.top)  # a sample within half a step of 1: the top code
        self._rounded.railed = self._rounded.railed or bool(np.max(data) * top >= top - 0.5)

    def _check(self) -> None:
        if self._checked is not None:
            self._checked.check(self.name)

    def rounding(self) -> dict | None:
        """What writing to an integer PCM subtype did to the samples (None for any other
        output): :meth:`~resdenoise.io.rounding.PcmRounding.result`, the subtype, its
        ``step``, the written range, total variation and sign changes per channel and
        ``mean_change_at_most`` (half a step: each sample moved by at most that)."""
        return None if self._rounded is None else self._rounded.result()

    def encoded(self) -> dict | None:
        """For a lossy or companding output subtype (Vorbis, Opus, MP3, u-law, ADPCM, ...:
        the samples written are not the run's), the finished file decoded: its
        ``subtype`` and the range of each filtered channel (``output_min``,
        ``output_max``); None for any other output.  Finishes the file (:meth:`close`)."""
        if self.subtype not in LOSSY_CODECS | ENCODED_SUBTYPES:
            return None
        lo = hi = None
        for block in self._decoded_blocks():
            low, high = block.min(axis=0), block.max(axis=0)
            lo = low if lo is None else np.minimum(lo, low)
            hi = high if hi is None else np.maximum(hi, high)
        if lo is None:
            return None
        return {
            "subtype": self.subtype,
            "output_min": [float(v) for v in lo],
            "output_max": [float(v) for v in hi],
        }

    def decoded(self) -> np.ndarray | None:
        """The filtered channels of the finished audio file as it holds them (rounded to
        its PCM subtype, or encoded and decoded), float64 ``(frames, channels)``; None for
        a CSV or Zarr output, or where the file is not read back.  Finishes the file."""
        if self.fmt in ("CSV", ZARR):
            return None
        blocks = list(self._decoded_blocks())
        return np.concatenate(blocks) if blocks else None

    def _decoded_blocks(self):
        """The finished file's filtered channels, decoded in blocks (bounded memory);
        none where it cannot be read back."""
        if self._fh is None:
            return
        import soundfile

        self.close()
        self._fh.seek(0)
        try:
            with soundfile.SoundFile(self._fh) as f:
                # read(k) until empty: GSM 6.10 is not seekable, so blocks() refuses it
                while (block := f.read(1 << 16, dtype="float64", always_2d=True)).shape[0]:
                    if block.shape[1] > self.template.channels:  # carried channels beside
                        block = block[:, list(self.template.channel_positions)]
                    yield block
        except _AUDIO_ERRORS:  # not decoded: the file is as written, its samples not known
            return

    def _start_writeback(self) -> None:
        """Every :data:`WRITEBACK_BYTES`, ask the kernel to start writing the bytes
        written since to the disk, without waiting (``POSIX_FADV_DONTNEED`` on pages
        still dirty starts their writeback): the fsync at :meth:`close` then waits for
        the last part instead of the whole file (128 MiB: 0.08 s of fsync -> 0.01 s).
        Only for a temporary file that is renamed into place (one read back for
        stdout keeps its pages); speed only, never what is written."""
        fadvise = getattr(os, "posix_fadvise", None)
        if fadvise is None or self.tmp is None:
            return
        try:
            fd = self._fh.fileno()
            end = os.lseek(fd, 0, os.SEEK_CUR)  # libsndfile writes through the descriptor
            if end - self._written >= WRITEBACK_BYTES:
                fadvise(fd, self._written, end - self._written, os.POSIX_FADV_DONTNEED)
                self._written = end
        except OSError:  # a hint only
            pass

    def clipping_error(self) -> SignalError:
        """The refusal of an output that the subtype clipped (raise it before the rename)."""
        import soundfile

        wider, span = "FLOAT", f"-1 to {_shown_top(self.subtype)}"
        if self.subtype == "FLOAT":
            wider, span = "DOUBLE", f"float32: +-{FLOAT32_MAX:.6g}"
        fix = f"subtype={wider!r}"
        if not soundfile.check_format(self.fmt, wider):
            fix += " with a format that holds floats (wav, caf, ...)"
        return SignalError(
            f"{self.name}: {self.clipped} output samples lie outside the range of "
            f"{self.subtype} ({span}) and would be clipped; nothing written; give {fix}, or "
            "lower the input's level",
            parameters=[("subtype", wider)],
        )

    def close(self) -> None:
        """Finish the temporary file (idempotent); raise if samples were not finite."""
        if self.closed:
            return
        self.closed = True
        if self.nonfinite:
            raise diverged(self.name, self.nonfinite)
        if self._store is not None:
            self._store.close()
            umask = os.umask(0)
            os.umask(umask)
            chmod_tolerant(self.tmp, 0o777 & ~umask)  # mkdtemp's 0o700 would stay
            return
        try:
            if self._sf is not None:
                try:
                    close_unsynced(self._sf)
                    self._check()  # the last bytes, written at the close
                    _keep_channel_mask(self._fh, self.template, self.fmt)
                except _AUDIO_ERRORS as exc:
                    self._check()
                    raise _encode_error(self.name, self.fmt, self.subtype, exc) from None
            else:
                rest = comments_after(self._comments, self._row)
                self._put("".join(text + self._nl for text in rest), final=True)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            if self.tmp is not None:
                _set_mode(self.tmp, self.target)
        except OSError as exc:
            raise _write_error(self.name, exc) from None

    # ---- the protocol of write_files_atomic -------------------------------

    def write_direct(self) -> None:
        total = self._fh.seek(0, os.SEEK_END)
        self._fh.seek(0)
        blocks = iter(lambda: self._fh.read(COPY_BYTES), b"")
        _write_through(self.path, self.target, self.name, blocks, total, self.parents)

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
