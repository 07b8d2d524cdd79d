"""The format and subtype an audio output is written as, and the line that says it narrowed."""

from __future__ import annotations

import os

from ..errors import ParameterError
from .options import WriteOptions
from .rounding import LOSSY_CODECS, reencoded
from .signal import (
    CODEC_SUBTYPES,
    FLOAT_SUBTYPES,
    PCM_BITS,
    STDIO,
    Signal,
    _check_subtype,
    can_encode,
    unread_rate,
)

#: The extension (and ``format``) that names Ogg Opus: OGG's other codec, not its default Vorbis.
OPUS_EXTENSION = ".opus"


def _opus_asked(path: str, options: WriteOptions) -> bool:
    """Whether the output is to be Ogg Opus: ``options.format`` ``"opus"`` (stdout, or a
    name of any extension), or a ``.opus`` name (with no format, or ``"ogg"``)."""
    if options.format is not None and options.format.strip().lower().lstrip(".") == "opus":
        return True
    return path != STDIO and os.path.splitext(path)[1].lower() == OPUS_EXTENSION


def _audio_choice(
    sig: Signal, fmt: str, given: str | None, target: str, opus: bool = False
) -> tuple[str, str, str | None]:
    """:func:`_audio_target`'s format and subtype, and, where no subtype was ``given``,
    :func:`narrowed`'s line (else None): what both writers write and say."""
    fmt, subtype = _audio_target(sig, fmt, given, target, opus)
    if given is not None:
        return fmt, subtype, None
    note = narrowed(fmt, subtype, sig.subtype, target) or reencoded(subtype, sig.subtype, target)
    return fmt, subtype, note


#: The plain subtype that holds exactly the samples of a lossless codec, or of a signal of
#: numbers without a subtype (``None``: a CSV file's or a Zarr store's float64 values); a
#: lossy codec's (Vorbis, Opus, MP3) decoded samples are floats, not 16-bit integers: FLOAT.
_PLAIN_OF = {
    None: "DOUBLE",
    **dict.fromkeys(LOSSY_CODECS, "FLOAT"),
    "ALAC_16": "PCM_16",
    "ALAC_20": "PCM_24",
    "ALAC_24": "PCM_24",
    "ALAC_32": "PCM_32",
}


def _audio_target(
    sig: Signal, fmt: str, subtype: str | None, target: str, opus: bool = False
) -> tuple[str, str]:
    """The audio format and subtype to write ``sig`` as (``fmt`` from :func:`guess_format`;
    ``opus``: :func:`_opus_asked`, an OGG output to hold Opus)."""
    import soundfile

    if fmt == "AUDIO":
        fmt = sig.format if sig.format != "CSV" else "WAV"
    if fmt == "WAV" and sig.format in ("WAVEX", "RF64"):
        fmt = sig.format  # keep WAVE extensible, and RF64 (a WAV over 4 GiB), in a .wav
    if not sig.samplerate:
        line = unread_rate(sig.layout.preamble) if sig.format == "CSV" else None
        unread = "" if line is None else f" (its line {line.strip()!r} is no whole number of Hz)"
        raise ParameterError(
            f"{target}: {fmt} audio needs a sample rate, and {sig.source} ({sig.format}) carries "
            f"none{unread}; give it in Hz with samplerate",
            parameters=["samplerate"],
        )
    if fmt == "FLAC":
        _check_flac(sig, target)
    if fmt == "OGG" and opus:
        if subtype not in (None, "OPUS"):
            if os.path.splitext(target)[1].lower() == OPUS_EXTENSION:
                raise ParameterError(
                    f"{target}: a .opus file holds Opus, not {subtype}; name it .ogg for "
                    f"{subtype}, or leave subtype out",
                    parameters=["subtype"],
                )
            raise ParameterError(
                f"{target}: output_format='opus' holds Opus, not {subtype}; give "
                f"output_format='ogg' for {subtype}, or leave subtype out",
                parameters=[("output_format", "opus"), ("output_format", "ogg"), "subtype"],
            )
        subtype = "OPUS"  # the name's codec, not OGG's default Vorbis
    if subtype is not None:
        subtype = _check_subtype(target, fmt, subtype)
    elif _keeps_subtype(sig, fmt):
        subtype = sig.subtype
    elif sig.subtype is None and soundfile.check_format(fmt, "FLOAT"):
        subtype = "FLOAT"  # new audio from numbers (CSV, Zarr): never clipped unless asked
    else:
        subtype = _finest_subtype(fmt, sig.subtype)
        if subtype is None:
            raise ParameterError(f"{target}: cannot write {fmt} audio; choose another format")
    return fmt, subtype


def _check_flac(sig: Signal, target: str) -> None:
    """Refuse what FLAC cannot hold (1 to 8 channels, rates up to 655350 Hz), in the
    program's words (libsndfile's: ``Format not recognised.``)."""
    channels = sig.channels + (len(sig.carried) if sig.format != "CSV" else 0)
    if channels > 8:
        raise ParameterError(
            f"{target}: FLAC holds 1 to 8 channels, and this output has {channels}: write WAV "
            "(or CAF, W64)"
        )
    if sig.samplerate > 655350:
        raise ParameterError(
            f"{target}: FLAC holds rates up to 655350 Hz, not {sig.samplerate}: write WAV "
            "(or CAF, W64)"
        )


#: Bits of precision of a plain subtype's samples (a float's significand), to rank them.
_PRECISION = {**PCM_BITS, "FLOAT": 24, "DOUBLE": 53}


def _holds(subtype: str, given: str | None) -> bool:
    """Whether every sample of subtype ``given`` is one of ``subtype`` (a codec and no
    subtype as :data:`_PLAIN_OF` says; True for a companding or ADPCM one: nothing to
    compare)."""
    given = _PLAIN_OF.get(given, given)
    if given not in _PRECISION:
        return True
    if given == subtype or subtype == "DOUBLE":
        return True
    if subtype == "FLOAT":
        return given in PCM_BITS and PCM_BITS[given] <= 24
    return subtype in PCM_BITS and given in PCM_BITS and PCM_BITS[given] <= PCM_BITS[subtype]


def _finest_subtype(fmt: str, given: str | None) -> str | None:
    """The subtype of ``fmt`` for samples read as ``given`` that ``fmt`` cannot hold:
    its default when that holds them all (as before), else the plain one it can write
    that keeps the most precision (FLAC's PCM_24 for PCM_32, FLOAT or DOUBLE), a float
    one for float samples at equal precision."""
    import soundfile

    default = soundfile.default_subtype(fmt)
    if default is not None and _holds(default, given):
        return default
    floats = _PLAIN_OF.get(given, given) in FLOAT_SUBTYPES
    plain = [s for s in soundfile.available_subtypes(fmt) if s in _PRECISION and can_encode(fmt, s)]
    if not plain:
        return default
    holding = [s for s in plain if _holds(s, given)]
    if holding:  # the smallest that holds them all (ALAC_24 in a WAV: PCM_24)
        return min(holding, key=lambda s: (_PRECISION[s], (s in FLOAT_SUBTYPES) != floats))
    best = max(plain, key=lambda s: (_PRECISION[s], (s in FLOAT_SUBTYPES) == floats))
    if default in _PRECISION and _PRECISION[default] >= _PRECISION[best]:
        return default
    return best


def narrowed(fmt: str, subtype: str, given: str | None, target: str) -> str | None:
    """One line for a reader of ``target`` when the plain ``subtype`` chosen for it
    (:func:`_finest_subtype`) does not hold every sample of the input's ``given``;
    else None: also for a codec (VORBIS, MP3's layers), lossy by the format chosen."""
    if subtype not in _PRECISION or _holds(subtype, given):
        return None
    if given is None and subtype == "FLOAT":  # audio from numbers: FLOAT as documented
        return None
    what = f"{PCM_BITS[subtype]}-bit integers" if subtype in PCM_BITS else subtype
    if given is None:  # numbers (CSV, Zarr): WAV would make them FLOAT
        return (
            f"{target}: {fmt} holds the input's float64 values at most as {subtype}: they are "
            f"rounded to {what}; write CSV, or WAV with subtype DOUBLE, to keep them all"
        )
    return (
        f"{target}: {fmt} holds the input's {given} samples at most as {subtype}: they are "
        f"rounded to {what}; write WAV to keep them all"
    )


def _keeps_subtype(sig: Signal, fmt: str) -> bool:
    """Whether output format ``fmt`` may take the input's subtype: one it has that this
    libsndfile can write (:func:`resdenoise.io.signal.can_encode`: not MP3's layers I and
    II), and a compressed format's codec (:data:`CODEC_SUBTYPES`) only in that format."""
    if sig.subtype is None or (sig.subtype in CODEC_SUBTYPES and fmt != sig.format):
        return False
    return can_encode(fmt, sig.subtype)
