"""Audio files through soundfile (libsndfile): WAV, FLAC, OGG, AIFF, ...

Integer PCM is read exactly (as int32, scaled by 2**-31).  A truncated
RIFF/FORM data chunk is an error (libsndfile would shorten the file
silently), and so is a header that promises more frames than the file holds.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import struct

import numpy as np

from ..errors import SignalError
from .signal import PCM_BITS, Signal, SignalStream, _one_line, _resolve_column, _split_columns


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


#: Audio frames read at a time when streaming.
READ_FRAMES = 1 << 16


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
