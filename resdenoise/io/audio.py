"""Audio files through soundfile (libsndfile): WAV, FLAC, OGG, AIFF, ...

Integer PCM is read exactly (as int32, scaled by 2**-31).  A truncated
RIFF/FORM data chunk is an error (libsndfile would shorten the file
silently), and so is a header that promises more frames than the file holds,
or fewer (a size field of 0 or too small with samples after it: not finalised).
A streamed run reads a plain WAV file (:mod:`.wav`) by plain reads of its
data chunk, with the values libsndfile gives.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import struct
from dataclasses import replace

import numpy as np

from ..errors import SignalError, counted, non_finite, one_line, refuse_non_finite, too_short
from .metadata import held_metadata, metadata_note, unkept
from .options import ReadOptions
from .signal import PCM_BITS, Signal, SignalStream, foreign_file
from .wav import PlainWav, channel_mask, plain_wav, read_frames

#: WAV format tags whose block align is one frame: PCM, IEEE float, A-law, u-law, extensible.
_FRAME_ALIGNED = (0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE)


def _walk_chunks(read_at, total: int, source: str) -> None:
    """Detect a truncated RIFF/RIFX (WAV) or FORM (AIFF) file of ``total`` bytes.

    ``read_at(pos, k)`` reads the file.  libsndfile silently shortens a file
    whose data chunk is cut off; we want an error.  Sizes meaning "unknown
    length" (streamed output) are accepted.
    """
    head = read_at(0, 12)
    if head[:4] == b"OggS":
        return _ogg_end(read_at, total, source)
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        endian, data_id, pos = ("<" if head[:4] == b"RIFF" else ">"), b"data", 12
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        endian, data_id, pos = ">", b"SSND", 12
    else:
        return
    align = None  # a WAV's bytes a frame (its fmt chunk's block align)
    while pos + 8 <= total:
        chunk = read_at(pos, 8)
        cid = chunk[:4]
        (size,) = struct.unpack(endian + "I", chunk[4:8])
        if cid == b"fmt " and size >= 14 and len(fields := read_at(pos + 8, 14)) == 14:
            tag, align = struct.unpack(endian + "H10xH", fields)
            # a block of frames, not one, in an ADPCM or GSM file: not counted
            align = align if tag in _FRAME_ALIGNED else None
        if cid == data_id:
            if size >= 0x7FFF0000:
                return
            have = total - pos - 8
            if size > have:
                ext = "wav" if data_id == b"data" else "aiff"
                raise SignalError(
                    f"{source}: truncated audio: the {cid.decode()} chunk promises {size} "
                    f"bytes, the file holds {have} (a copy cut short?); copy it again, or "
                    f"keep {_held(have, align)} it holds, e.g. sox in.{ext} out.{ext} (it warns "
                    "of the early end and writes them)"
                )
            _unaccounted(read_at, total, pos + 8 + size + (size & 1), endian, cid, size, source)
            return
        pos += 8 + size + (size & 1)


#: The most bytes of an Ogg page: its header, 255 lacing values, 255 segments of 255.
_OGG_PAGE = 27 + 255 + 255 * 255


def _ogg_end(read_at, total: int, source: str) -> None:
    """Refuse an Ogg file (OGG Vorbis, Opus) of ``total`` bytes cut short: its last page
    ends before the file does, or is not the end of its stream (the header's flag 0x04,
    which every encoder sets on the last page).  libsndfile decodes what is there and
    says nothing: a copy cut short would be filtered as the whole recording."""
    start = max(0, total - _OGG_PAGE)
    tail = read_at(start, total - start)
    at = tail.rfind(b"OggS")
    while at >= 0:  # the last page: the last capture pattern whose page ends the file
        lacing = tail[at + 27 : at + 27 + tail[at + 26]] if at + 27 <= len(tail) else b""
        if len(tail) >= at + 27 and len(lacing) == tail[at + 26]:
            end = at + 27 + len(lacing) + sum(lacing)
            if end == len(tail):
                if tail[at + 5] & 0x04:
                    return  # the end of the stream
                why = "its last page is not the end of the stream"
                break
        at = tail.rfind(b"OggS", 0, at)
    else:
        why = "its last page is cut short"
    raise SignalError(
        f"{source}: truncated audio: an Ogg stream whose end is missing ({why}: a copy "
        "cut short?); copy it again, or keep what it holds, e.g. ffmpeg -i in.ogg out.ogg "
        "(it decodes up to the cut)"
    )


def _held(have: int, align: int | None) -> str:
    """The whole frames of ``have`` bytes of ``align`` bytes each, in words ("the 4992
    whole frames"; "the whole frames" where the frame's size is not known)."""
    if not align:
        return "the whole frames"
    return f"the {counted(have // align, 'whole frame')}"


def _chunk_at(read_at, pos: int, total: int, endian: str) -> int | None:
    """The end of a plausible chunk at ``pos`` (an id of 4 printable ASCII bytes, its
    body within the file), or None."""
    chunk = read_at(pos, 8)
    if len(chunk) < 8 or not all(0x20 <= b < 0x7F for b in chunk[:4]):
        return None
    (size,) = struct.unpack(endian + "I", chunk[4:8])
    end = pos + 8 + size + (size & 1)
    return end if end <= total + (size & 1) else None


def _unaccounted(read_at, total, pos, endian, cid, size, source) -> None:
    """Refuse a data chunk whose size field is 0 or too small, where samples follow it
    (a recording that was not finalised: its header never got the length): libsndfile
    reads the size field's frames only (none for 0) and the rest silently not at all.
    The chunks after the data (LIST, id3, ...) are walked; trailing bytes that are no
    chunk are refused when more than a chunk header's worth, not all zeros (padding)."""
    while pos + 8 <= total:
        end = _chunk_at(read_at, pos, total, endian)
        if end is None:
            break
        pos = end
    rest = total - pos
    if rest < 8 or not any(read_at(pos, min(rest, 4096))):
        return
    raise SignalError(
        f"{source}: the {cid.decode()} chunk's header says {size} bytes, but {rest} bytes "
        f"that are no chunk follow it (of a file of {total} bytes: a recording that was "
        "not finalised?); repair the header, e.g. sox --ignore-length in.wav out.wav"
    )


_AUDIO_ERRORS = (RuntimeError, TypeError, ValueError, OverflowError, MemoryError, EOFError)


def _audio_error(exc: Exception, head: bytes, source: str) -> SignalError:
    """The error for an audio file soundfile cannot read (``head``: its first bytes)."""
    if (what := foreign_file(head)) is not None:
        return SignalError(f"{source}: {what}")
    msg = getattr(exc, "error_string", None) or str(exc)
    msg = re.sub(r"^Error opening (<[^>]*>|'[^']*'): ", "", one_line(msg)).rstrip(".")
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


#: Audio frames read at a time (a streamed run's checking pass visits blocks of this
#: many: 2^17 frames, half the blocks of 2^16 and half their hand-overs between the
#: reader, the noise selection and its thread; 512 MiB float32 stereo WAV: the pass's
#: CPU 0.46 -> 0.35 s, its peak memory within that of 2^16 before the selection's band
#: was cut piece by piece, :meth:`resdenoise.median.MedianSelect._keep`).
READ_FRAMES = 1 << 17


class AudioReader:
    """One audio file: checked in one pass through soundfile, then its samples.

    ``opener()`` gives the file afresh (a path, or a ``BytesIO`` over the
    bytes of a file read whole); :meth:`check` reads every frame once and
    returns the :class:`SignalStream`; then :meth:`gather` (the frames the
    check kept) or :meth:`blocks` (the file read again) give the samples.
    """

    def __init__(self, source: str, opener, options: ReadOptions, raw: bytes | None = None):
        options.check_audio(source)
        self.source, self.opener, self.options = source, opener, options
        self.raw = raw  # the file's bytes, where it is read whole
        self.plain: PlainWav | None = None  # read by plain reads (:mod:`.wav`) where set

    def _head(self) -> bytes:
        try:
            with self._raw() as fh:
                return fh.read(4096)
        except OSError:
            return b""

    def _raw(self):
        f = self.opener()
        return open(f, "rb") if isinstance(f, str) else f

    def _open(self):
        import soundfile

        try:
            return soundfile.SoundFile(self.opener())
        except _AUDIO_ERRORS as exc:
            raise _audio_error(exc, self._head(), self.source) from None

    def _read(self, f, dtype):
        try:
            return f.read(READ_FRAMES, dtype=dtype, always_2d=True)
        except _AUDIO_ERRORS as exc:
            raise _audio_error(exc, self._head(), self.source) from None

    def _floats(self, block: np.ndarray) -> np.ndarray:
        if self.dtype == "int32":
            out = block.astype(np.float64)
            out *= 2.0**-31  # exact: the same floats as / 2**31
            return out
        if self.dtype == "float32":
            return block.astype(np.float64)  # exact
        return block

    def check(self, visit=None, keep=None, expect=None, stored=False) -> SignalStream:
        """Read every frame once: ``visit(block)`` gets them as floats (``stored``: a plain
        WAV's 32-bit floats as stored), ``keep(block)`` as read, after ``expect(frames)``
        with the frames the header promises."""
        source = self.source
        try:
            with self._raw() as fh:
                size = fh.seek(0, os.SEEK_END)

                def read_at(pos: int, k: int) -> bytes:
                    fh.seek(pos)
                    return fh.read(k)

                _walk_chunks(read_at, size, source)
                mask = channel_mask(read_at, size)
                held, tool = held_metadata(read_at, size)  # named once the tags are read
                # a file on disk in a plain WAV layout: read by plain reads, once
                # libsndfile agrees on it (below)
                whole = self.raw is not None or isinstance(self.opener(), str)
                plain = plain_wav(read_at, size) if whole else None
        except OSError as exc:
            raise SignalError(f"{source}: cannot read: {one_line(exc.strerror or exc)}") from None
        with self._open() as f:
            self.subtype, fmt, rate, channels = f.subtype, f.format, f.samplerate, f.channels
            frames, tags = f.frames, f.copy_metadata()
            notes = metadata_note(source, unkept(held, tags), tool)
            # as stored where that is exact and cheaper: integers, and 32-bit floats
            # (converted by NumPy: half libsndfile's time for the same float64 values)
            self.dtype = "int32" if self.subtype in PCM_BITS else "float64"
            if self.subtype == "FLOAT":
                self.dtype = "float32"
            if plain is not None and self._agree(f, plain):
                self.plain = plain
            if expect is not None:
                expect(frames)
            total = 0
            # read ahead by a thread while the visitor works on the block before
            if visit is None and self.raw is not None and self.plain is not None:
                blocks = [(self._plain_whole(), None)]  # the bytes in hand, as read
            elif visit is None and keep is not None and self.plain is not None:
                blocks = self._plain_read()  # a file read whole: kept (copied) block by block
            elif visit is None:
                blocks = self._frames(f, frames)
            else:  # read ahead by a thread (not imported for a file read whole)
                from .prefetch import prefetched

                if self.plain is not None and keep is None and stored:
                    blocks = prefetched(self._plain_stored())
                elif self.plain is not None and keep is None:
                    blocks = prefetched(self._plain_frames())
                else:
                    blocks = prefetched(self._frames(f, frames, floats=True))
            bad: dict = {}  # the first sample that is not finite, per channel
            for block, floats in blocks:
                read = floats if block is None else block
                if keep is None and len(bad) < channels:  # read whole: read_signal looks
                    bad = {**non_finite(read, total), **bad}
                total += read.shape[0]
                if visit is not None:
                    visit(floats)
                if keep is not None:
                    keep(block)  # as read: converted once in gather
        if total < frames:
            raise SignalError(
                f"{source}: truncated audio: the header promises {frames} frames, found "
                f"{total} (a copy cut short?); copy it again, or convert the {total} it holds "
                "to a new file (e.g. with sox or ffmpeg)"
            )
        positions = tuple(range(channels))
        carried_at: list[int] = []
        picked = self.options.picked(None, channels, source, "channels")
        if picked is not None:
            carried_at = [p for p in range(channels) if p not in picked]
            positions = tuple(picked)
        if total < 2:
            raise too_short(source, total, "sample")
        refuse_non_finite(source, bad, positions)  # as read_signal does, once it is read
        self.frames, self.positions, self.carried_at = total, positions, carried_at
        shape = (0,) if len(positions) == 1 else (0, len(positions))
        template = Signal(
            data=np.zeros(shape),
            source=source,
            format=fmt,
            samplerate=self.options.rate(rate, source),
            subtype=self.subtype,
            positions=positions,
            carried={p: np.zeros(0) for p in carried_at},
            tags=tags,
            channel_mask=None if mask is None else mask[1],
            notes=notes,
        )
        return SignalStream(template=template, frames=total, width=channels, _reader=self)

    def _frames(self, f, frames: int, floats: bool = False):
        """``(block as read, block as floats or None)`` until ``frames`` or the end."""
        total = 0
        while total < frames:
            block = self._read(f, self.dtype)
            if block.shape[0] == 0:
                return
            total += block.shape[0]
            yield block, (self._floats(block) if floats else None)

    def _opened_frames(self):
        """``(block as read, block as floats)`` by libsndfile, the file opened again."""
        with self._open() as f:
            yield from self._frames(f, self.frames, floats=True)

    def _agree(self, f, plain: PlainWav) -> bool:
        """Whether libsndfile (``f``, just opened) sees ``plain`` as :mod:`.wav` does:
        format, subtype, channels, rate and frames, and the first frames' values."""
        seen = (f.format, f.subtype, f.channels, f.samplerate, f.frames)
        if seen[0] not in ("WAV", "WAVEX") or seen[1:] != (
            plain.subtype,
            plain.channels,
            plain.samplerate,
            plain.frames,
        ):
            return False
        k = min(plain.frames, 64)
        try:
            theirs = f.read(k, dtype=self.dtype, always_2d=True)
            f.seek(0)
            with self._raw() as fh:
                buffer = np.empty((k, plain.channels), plain.dtype)
                ours = self._as_read(read_frames(fh, plain, 0, buffer), plain)
        except (*_AUDIO_ERRORS, OSError):
            return False
        return ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes()

    @staticmethod
    def _as_read(view: np.ndarray, plain: PlainWav) -> np.ndarray:
        """Frames of a plain WAV as libsndfile reads them: 32-bit floats as stored,
        integers as int32 (16-bit ones shifted up by 16 bits, as libsndfile does)."""
        if plain.subtype == "FLOAT":
            return view.astype(np.float32, copy=False)
        out = view.astype(np.int32)
        if plain.subtype == "PCM_16":
            out <<= 16
        return out

    def _plain_whole(self) -> np.ndarray:
        """All frames of a plain WAV read whole, as libsndfile reads them, from the
        bytes in hand (no reads, no copy of 32-bit floats before their conversion)."""
        plain = self.plain
        count = plain.frames * plain.channels
        view = np.frombuffer(self.raw, plain.dtype, count, plain.offset)
        return self._as_read(view.reshape(plain.frames, plain.channels), plain)

    def _plain_read(self, fresh: bool = False):
        """``(block as read, None)`` of a plain WAV, by plain reads into one reused
        buffer (each block is valid until the next; ``fresh``: a new buffer per
        block, which stays valid), until its frames or the end."""
        plain = self.plain
        buffer = np.empty((READ_FRAMES, plain.channels), plain.dtype)
        start = 0
        with self._raw() as fh:
            while start < plain.frames:
                if fresh and start:
                    buffer = np.empty_like(buffer)
                view = read_frames(fh, plain, start, buffer)
                if not view.shape[0]:
                    return
                start += view.shape[0]
                yield self._as_read(view, plain), None

    def _plain_stored(self):
        """``(None, block)`` of a plain WAV, 32-bit floats as stored (each a new array;
        :meth:`_plain_frames` for other subtypes)."""
        if self.dtype != "float32":
            yield from self._plain_frames()
            return
        for block, _ in self._plain_read(fresh=True):
            yield None, block

    def _plain_frames(self):
        """``(None, block as floats)`` of a plain WAV, by plain reads into one kept
        buffer (the floats are new arrays), until its frames or the end of the file."""
        for block, _ in self._plain_read():
            yield None, self._floats(block)

    def _split(self, block: np.ndarray) -> tuple[np.ndarray, dict]:
        """The filtered channels of ``block`` (contiguous) and the carried ones."""
        picked = list(self.positions)
        carried = {p: block[:, p].copy() for p in self.carried_at}
        if len(picked) == 1:
            data = block[:, picked[0]].copy()
        elif picked == list(range(block.shape[1])):
            data = block  # every channel in order: the block itself, no copies
        else:
            data = block[:, picked]  # fancy indexing gives a Fortran-ordered copy
        return np.ascontiguousarray(data), carried

    def gather(self, stream: SignalStream, kept: list) -> Signal:
        """The :class:`Signal` of the frames :meth:`check` kept."""
        block = kept[0] if len(kept) == 1 else np.concatenate(kept)
        data, carried = self._split(self._floats(block))
        return replace(stream.template, data=data, carried=carried)

    def blocks(self, stream: SignalStream, stored: bool = False):
        """Read the file again: ``(data, carried)`` block by block (read ahead by a
        thread while the caller works on the block before); ``stored``: a plain
        WAV of 32-bit floats as float32, as stored (see :meth:`SignalStream.blocks`)."""
        from .prefetch import prefetched

        return prefetched(self._blocks(stored))

    def row_reader(self, stream: SignalStream) -> PlainRows | None:
        """Rows by position, read straight into the caller's arrays (see
        :meth:`SignalStream.row_reader`): a plain WAV of 32-bit floats whose channels are all
        filtered, in order; else None."""
        if self.plain is None or self.dtype != "float32" or self.carried_at:
            return None
        if self.positions != tuple(range(self.plain.channels)):
            return None
        return PlainRows(self, stream)

    def _blocks(self, stored: bool = False):
        total = 0
        if self.plain is not None and stored:
            read = self._plain_stored()
        elif self.plain is not None:
            read = self._plain_frames()
        else:
            read = self._opened_frames()
        for _, floats in read:
            floats = floats[: self.frames - total]
            total += floats.shape[0]
            yield self._split(floats)
        if total != self.frames:
            raise SignalError(f"{self.source}: the file changed while it was read")


class PlainRows:
    """A plain WAV's 32-bit floats read by position, straight into the caller's array
    (:meth:`AudioReader.row_reader`): no blocks of their own, no copy to join them.

    :meth:`read` opens the file at its first call (in the thread that reads, which
    :meth:`close` it there too); the file is checked to be the one that was checked
    (:meth:`SignalStream.row_reader`) before the first read and by :meth:`finish` after the
    last.  A read cut short (the file cut while it is read) is refused.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, reader: AudioReader, stream: SignalStream):
        self.reader, self.stream = reader, stream
        self.channels = reader.plain.channels
        self._fh = None

    def read(self, start: int, out: np.ndarray) -> None:
        """Fill ``out`` (float32, C-contiguous, ``k`` rows: ``(k,)`` for one channel,
        else ``(k, channels)``) with the rows ``start .. start + k``."""
        if self._fh is None:
            self.stream._check_same()
            self._fh = self.reader._raw()
        frames = out.reshape(out.shape[0], self.channels)
        got = read_frames(self._fh, self.reader.plain, start, frames)
        if got.shape[0] < frames.shape[0]:
            raise SignalError(
                f"{self.reader.source}: ended after {start + got.shape[0]} samples, expected "
                f"{start + frames.shape[0]} (the file changed while it was read)"
            )

    def finish(self) -> None:
        """After the last rows: SignalError where the file is not the one checked any more."""
        self.stream._check_same()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_audio(raw: bytes, source: str, options: ReadOptions) -> Signal:
    """The whole door: an audio file's bytes, checked and gathered in one pass."""
    reader = AudioReader(source, lambda: io.BytesIO(raw), options, raw)
    kept: list = []
    stream = reader.check(keep=kept.append)
    return reader.gather(stream, kept)


class _Filled:
    """The blocks of an audio file read whole, converted into one float64 array as
    they come (``gather``'s floats, without the blocks as read held together);
    ``stored``: a file of 32-bit floats into one float32 array (the same values)."""

    def __init__(self, reader: AudioReader, stored: bool = False):
        self.reader, self.frames, self.data, self.at = reader, 0, None, 0
        self.stored = stored

    def expect(self, frames: int) -> None:
        self.frames = frames

    def add(self, block: np.ndarray) -> None:
        k = block.shape[0]
        dtype = np.float32 if self.stored and self.reader.dtype == "float32" else np.float64
        if self.data is None:
            self.data = np.empty((max(self.frames, k), block.shape[1]), dtype)
        if self.at + k > self.data.shape[0]:  # more frames than the header said
            grown = np.empty((self.at + k, block.shape[1]), dtype)
            grown[: self.at] = self.data[: self.at]
            self.data = grown
        into = self.data[self.at : self.at + k]
        np.copyto(into, block)  # exact: float32, int32 and float64 in float64
        if self.reader.dtype == "int32":
            into *= 2.0**-31  # as gather's floats: the same floats as / 2**31
        self.at += k

    def signal(self, stream: SignalStream) -> Signal:
        data, carried = self.reader._split(self.data[: self.at])
        return replace(stream.template, data=data, carried=carried)


def read_audio_file(path: str, source: str, options: ReadOptions, stored: bool = False) -> Signal:
    """The whole door for an audio file on disk (a regular file): checked and read
    in one pass, block by block into one float64 array, without the file's bytes
    in memory; the Signal :func:`read_audio` gives for its bytes (``stored``: the
    samples of a file of 32-bit floats as float32, as stored: the same values)."""
    reader = AudioReader(source, lambda: path, options)
    filled = _Filled(reader, stored)
    stream = reader.check(keep=filled.add, expect=filled.expect)
    return filled.signal(stream)


def open_audio(
    path: str, source: str, options: ReadOptions, visit=None, expect=None, stored=False
) -> SignalStream:
    """The blocks door: an audio file checked in one pass, then read in blocks on demand
    (``expect(frames)`` first, with the frames its header promises; ``stored``: see
    :meth:`AudioReader.check`)."""
    reader = AudioReader(source, lambda: path, options)
    return reader.check(visit=visit, expect=expect, stored=stored)


def header_samples(path: str) -> int | None:
    """The samples (frames x channels) the header of the audio file ``path`` says, read
    without its samples; None where libsndfile reads no audio there."""
    import soundfile

    if not os.path.isfile(path):  # stdin ("-"), a folder: never opened here
        return None
    try:
        info = soundfile.info(path)
    except Exception:  # not audio (a CSV, a Zarr store, a pipe): unknown
        return None
    return int(info.frames) * int(info.channels)
