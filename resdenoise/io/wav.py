"""The samples of a plain WAV file by plain reads of its data chunk.

A streamed run reads its input twice (a checking pass, then the filtering
pass).  For a little-endian WAV file of 32-bit floats or 16- or 32-bit
integers, the samples lie in the data chunk as they are in memory: reading
them with ``readinto`` into one kept buffer costs less than libsndfile's
reads (a fresh array per block and a call through cffi for every block;
measured on a 128 MiB float32 stereo WAV with 10 blocks: 4 % of the run's
CPU time).  Plain reads, not a memory map: a file cut short while it is read
gives a short read, refused with a message, where a map would kill the
process (SIGBUS) and leave its temporary output behind.  A file read whole
takes its samples from the bytes in hand (a view, converted once), not from
libsndfile's block reads and their concatenation.

:func:`plain_wav` reads the header itself and checks every field (RIFF/WAVE,
chunk sizes within the file, odd sizes padded, the format chunk's rate,
block alignment, bits, the WAVE_FORMAT_EXTENSIBLE sub-format); anything it
does not know, or any doubt, gives None and libsndfile reads the file.
:class:`resdenoise.io.audio.AudioReader` uses it only where libsndfile
reports the same format, subtype, channels and frames, and gives the same
values for the first frames.

:func:`channel_mask` finds a WAVE extensible (or RF64) file's speaker positions;
:func:`sized_format` tells the format a WAV output of so many frames needs: a
plain WAV's sizes are 32-bit, so one beyond 4 GiB is RF64.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .signal import PCM_BITS, Signal, can_encode

__all__ = [
    "PlainWav",
    "channel_mask",
    "frames_held",
    "mask_unkept",
    "plain_wav",
    "sized_format",
]

#: (format tag, bits per sample) -> (libsndfile's subtype, the samples' dtype in the file)
PLAIN = {(3, 32): ("FLOAT", "<f4"), (1, 16): ("PCM_16", "<i2"), (1, 32): ("PCM_32", "<i4")}
#: The tail of the sub-format GUID of WAVE_FORMAT_EXTENSIBLE (the tag is its first two bytes).
GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
EXTENSIBLE = 0xFFFE


@dataclass(frozen=True)
class PlainWav:
    """Where a plain WAV file's samples are: ``frames`` frames of ``channels`` values
    of ``dtype`` (as stored) from byte ``offset`` on; ``subtype`` as libsndfile names it."""

    offset: int
    frames: int
    channels: int
    samplerate: int
    dtype: np.dtype
    subtype: str


def _format(body: bytes, size: int) -> tuple[str, np.dtype, int, int] | None:
    """(subtype, dtype, channels, samplerate) of a format chunk, or None."""
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == EXTENSIBLE:
        if size < 40 or len(body) < 40:
            return None
        extra, valid = struct.unpack("<HH", body[16:20])
        if extra < 22 or valid != bits or body[26:40] != GUID_TAIL:
            return None
        (tag,) = struct.unpack("<H", body[24:26])
    plain = PLAIN.get((tag, bits))
    if plain is None or channels < 1 or rate < 1:
        return None
    if align != channels * (bits // 8) or byte_rate != rate * align:
        return None
    return plain[0], np.dtype(plain[1]), channels, rate


def plain_wav(read_at, total: int) -> PlainWav | None:
    """The data chunk of a plain little-endian WAV file of ``total`` bytes, or None.

    ``read_at(pos, k)`` reads the file.  None for anything but a RIFF/WAVE file
    with one format chunk (PCM 16 or 32 bits, or 32-bit IEEE float, also
    WAVE_FORMAT_EXTENSIBLE) before a data chunk that lies whole within the file
    and holds whole frames; chunks between (fact, PEAK, LIST, ...) are skipped,
    odd sizes with their pad byte.
    """
    head = read_at(0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= total:
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            return None
        cid, (size,) = chunk[:4], struct.unpack("<I", chunk[4:])
        body = pos + 8
        if body + size > total:  # a chunk beyond the end: a lying or cut header
            return None
        if cid == b"fmt ":
            if fmt is not None or size < 16:
                return None
            fmt = _format(read_at(body, min(size, 40)), size)
            if fmt is None:
                return None
        elif cid == b"data":
            if fmt is None:
                return None
            subtype, dtype, channels, rate = fmt
            width = channels * dtype.itemsize
            if size % width:
                return None
            return PlainWav(body, size // width, channels, rate, dtype, subtype)
        pos = body + size + (size & 1)
    return None


def channel_mask(read_at, total: int) -> tuple[int, int] | None:
    """``(position, value)`` of a WAVE_FORMAT_EXTENSIBLE file's dwChannelMask (the
    speakers its channels feed, in order: 0x60F is 5.1 with side surrounds, 0 none, as
    for a microphone array), or None for any other file; ``read_at`` as for
    :func:`plain_wav`.  libsndfile reads no such mask and writes its default for the
    channel count (0x3F for 6): the writers put the input's back.  RF64 (a WAV over
    4 GiB, its format chunk after a ds64 one) alike."""
    head = read_at(0, 12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= total:
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            return None
        cid, (size,) = chunk[:4], struct.unpack("<I", chunk[4:])
        if cid == b"fmt ":
            body = read_at(pos + 8, 24)
            if size < 40 or len(body) < 24 or struct.unpack("<H", body[:2])[0] != EXTENSIBLE:
                return None
            return pos + 28, struct.unpack("<I", body[20:24])[0]
        pos += 8 + size + (size & 1)
    return None


#: The speakers a file of so many channels feeds where it says none: FLAC's default
#: layouts (front left/right; centre; quad; 5.0; 5.1; 6.1; 7.1), as WAVE channel masks.
DEFAULT_MASKS = {1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 5: 0x37, 6: 0x3F, 7: 0x70F, 8: 0x63F}
#: The speakers of a channel mask's bits, in order (WAVEFORMATEXTENSIBLE's).
SPEAKERS = "FL FR FC LFE BL BR FLC FRC BC SL SR TC TFL TFC TFR TBL TBC TBR".split()


def mask_unkept(mask: int | None, channels: int, fmt: str, name: str) -> str | None:
    """The warning of a WAVE extensible input's speaker positions (``mask``) that the
    output ``name`` of format ``fmt`` (an audio format but WAVEX or RF64, which keep
    them) and ``channels`` does not hold: None where its readers take the same positions
    anyway (:data:`DEFAULT_MASKS`) or the input said none (``mask`` None)."""
    if mask is None or fmt in ("WAVEX", "RF64") or DEFAULT_MASKS.get(channels) == mask:
        return None
    said = ", ".join(s for i, s in enumerate(SPEAKERS) if mask >> i & 1) or "none"
    return (
        f"{name}: the input's speaker positions (WAVE channel mask 0x{mask:X}: {said}) are "
        f"not kept: the {fmt} output is written without them (readers take the default "
        f"layout for {channels} channels); write .wav (WAVE extensible) to keep them"
    )


def read_frames(fh, wav: PlainWav, start: int, buffer: np.ndarray) -> np.ndarray:
    """The frames from ``start`` on that fit ``buffer`` (``(k, channels)`` of the stored
    dtype, reused), read from the open file ``fh``: a view of ``buffer``, shorter at the
    end of the data or where the file ends early (cut short while it is read)."""
    k = min(buffer.shape[0], wav.frames - start)
    if k <= 0:
        return buffer[:0]
    view = buffer[:k]
    raw = memoryview(view).cast("B")
    fh.seek(wav.offset + start * wav.channels * wav.dtype.itemsize)
    got = 0
    while got < len(raw):
        n = fh.readinto(raw[got:])
        if not n:
            break
        got += n
    return view[: got // (wav.channels * wav.dtype.itemsize)]


#: The most bytes of samples a WAV or AIFF file describes: its sizes are 32-bit, and
#: the other chunks (format, fact, the tags' LIST) need room too.  Beyond it the sizes
#: wrap, and a reader (libsndfile: soundfile, Octave's audioread) sees only the first 4 GiB.
SIZE32_LIMIT = 0xFFFFFFFF - (1 << 20)

#: Bytes of a sample of each subtype in a data chunk (any other is compressed: at most 1,
#: ADPCM's 4 bits, GSM 6.10's 1.65, counted as 1: a bound, which messages say).
_SAMPLE_BYTES = {**{s: b // 8 for s, b in PCM_BITS.items()}, "FLOAT": 4, "DOUBLE": 8}
_SAMPLE_BYTES.update(ULAW=1, ALAW=1)


#: The formats whose sizes are 32-bit (:data:`SIZE32_LIMIT`).
SIZE32_FORMATS = frozenset({"WAV", "WAVEX", "AIFF"})


def frame_bytes(subtype: str, sig: Signal) -> int:
    """Bytes of a frame of ``sig``'s output channels (an audio input's carried ones too)."""
    channels = sig.channels + (len(sig.carried) if sig.format != "CSV" else 0)
    return channels * _SAMPLE_BYTES.get(subtype, 1)


def frames_held(fmt: str, subtype: str, sig: Signal) -> int | None:
    """The most frames of ``sig`` a ``fmt`` file of ``subtype`` holds; None where its
    sizes are not 32-bit (:data:`SIZE32_FORMATS`)."""
    return SIZE32_LIMIT // frame_bytes(subtype, sig) if fmt in SIZE32_FORMATS else None


def sized_format(
    fmt: str, subtype: str, sig: Signal, frames: int | None, target: str
) -> tuple[str, str | None]:
    """The format to write ``frames`` frames of ``sig`` as ``fmt``/``subtype`` in, and
    the line saying why where it is not ``fmt``: a WAV whose samples would not fit its
    4 GiB (:data:`SIZE32_LIMIT`) is RF64 (the WAV of EBU Tech 3306, with 64-bit sizes,
    also ``.wav``; RF64 is what recorders and libsndfile write for such a file).

    Raises
    ------
    ParameterError
        An AIFF file, or a WAV of a subtype RF64 cannot hold (ADPCM, GSM 6.10), would
        not fit: refused before anything is written.
    """
    most = frames_held(fmt, subtype, sig)
    if frames is None or most is None or frames <= most:
        return fmt, None
    size = frames * frame_bytes(subtype, sig)
    bound = "" if subtype in _SAMPLE_BYTES else "up to "
    gib = f"{bound}{size / 2**30:.2f} GiB of {subtype} samples"
    if fmt != "AIFF" and can_encode("RF64", subtype):
        return "RF64", (
            f"{target}: {gib} is more than {fmt} holds (its sizes are 32-bit: 4 GiB): "
            "written as RF64, the WAV for larger files (EBU Tech 3306; libsndfile, ffmpeg "
            "and sox read it)"
        )
    raise ParameterError(
        f"{target}: {gib} is more than {fmt} holds (its sizes are 32-bit: 4 GiB, and "
        "would wrap); nothing written; write W64 (output_format='w64', or name it .w64)",
        parameters=[("output_format", "w64")],
    )
