"""Reading and writing signals: CSV, audio (through soundfile), stdin/stdout.

Knows nothing about diffusion.  :func:`read_signal` returns a :class:`Signal`
(float array shaped ``(n,)`` or ``(n, channels)`` plus what is needed to
write the result back in the same shape of file); :func:`write_signal`
writes atomically (temporary file beside the target, then ``os.replace``).
Every problem is raised as :class:`~resdenoise.errors.SignalError` naming
the file and, where it applies, the line and column.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import SignalError

__all__ = ["Signal", "read_signal", "write_signal", "write_bytes_atomic", "guess_format", "STDIO"]

#: The path that means stdin (reading) or stdout (writing).
STDIO = "-"

#: Audio formats by extension (soundfile's format names).
AUDIO_EXTENSIONS = {
    ".wav": "WAV",
    ".wave": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".aiff": "AIFF",
    ".aif": "AIFF",
    ".au": "AU",
    ".caf": "CAF",
    ".w64": "W64",
    ".rf64": "RF64",
    ".mp3": "MP3",
}
CSV_EXTENSIONS = {".csv", ".tsv", ".txt", ".dat"}

#: Integer PCM subtypes and their bit depths: read and written exactly.
PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}

_AUDIO_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"caff")


@dataclass
class Signal:
    """A signal and how it was stored.

    Attributes
    ----------
    data : ndarray, shape (n,) or (n, channels)
        The samples as float64.  Audio is scaled to [-1, 1) as soundfile does.
    source : str
        File name for messages (``"<stdin>"`` for ``-``).
    format : str
        ``"CSV"`` or a soundfile format name such as ``"WAV"``.
    samplerate : int or None
    subtype : str or None
        Audio subtype such as ``"PCM_16"``.
    header : list of str or None
        CSV column names.
    delimiter : str
        CSV delimiter.
    """

    data: np.ndarray
    source: str = "<memory>"
    format: str = "CSV"
    samplerate: int | None = None
    subtype: str | None = None
    header: list[str] | None = None
    delimiter: str = ","
    info: dict = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 1 else self.data.shape[1]

    def with_data(self, data: np.ndarray) -> "Signal":
        """The same file description with other samples."""
        return replace(self, data=data, info={})


def guess_format(path: str, given: str | None = None) -> str:
    """``"CSV"`` or a soundfile format name, from ``given`` or the extension."""
    if given:
        g = given.upper()
        if g in ("CSV", "TSV", "TXT"):
            return "CSV"
        return g
    if path == STDIO:
        return "CSV"
    ext = Path(path).suffix.lower()
    if ext in AUDIO_EXTENSIONS:
        return AUDIO_EXTENSIONS[ext]
    if ext in CSV_EXTENSIONS or ext == "":
        return "CSV"
    import soundfile

    fmts = soundfile.available_formats()
    if ext[1:].upper() in fmts:
        return ext[1:].upper()
    raise SignalError(
        f"{path}: cannot tell the format from the extension {ext!r}; "
        "use .csv, .wav, .flac, .ogg (or --input-format/--output-format)"
    )


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_signal(path: str, fmt: str | None = None) -> Signal:
    """Read a signal from a CSV or audio file, or ``-`` (stdin).

    Raises
    ------
    SignalError
        Missing or unreadable file, empty data, fewer than 2 samples,
        non-numeric or non-finite values, ragged rows, undecodable audio.
    """
    source = "<stdin>" if path == STDIO else str(path)
    if path == STDIO:
        raw = sys.stdin.buffer.read()
        if fmt is None and raw[:4] in _AUDIO_MAGIC:
            fmt = "AUDIO"
    else:
        p = Path(path)
        if not p.exists():
            raise SignalError(f"{source}: no such file")
        if p.is_dir():
            raise SignalError(f"{source}: is a directory, not a signal file")
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise SignalError(f"{source}: cannot read: {exc.strerror or exc}") from None
    fmt = guess_format(str(path), fmt)
    if not raw:
        raise SignalError(f"{source}: file is empty")
    if fmt == "CSV":
        sig = _read_csv(raw, source)
    else:
        sig = _read_audio(raw, source)
    _check_samples(sig)
    return sig


def _check_samples(sig: Signal) -> None:
    n = sig.data.shape[0]
    if n < 2:
        raise SignalError(f"{sig.source}: {n} sample(s); a signal needs at least 2")
    if not np.all(np.isfinite(sig.data)):
        idx = np.argwhere(~np.isfinite(sig.data.reshape(n, -1)))[0]
        raise SignalError(
            f"{sig.source}: sample {idx[0] + 1}, channel {idx[1] + 1} is not a finite number"
        )


def _sniff_delimiter(lines: list[str]) -> str:
    sample = [ln for ln in lines[:50]]
    for delim in (",", ";", "\t"):
        counts = {ln.count(delim) for ln in sample}
        if len(counts) == 1 and counts.pop() > 0:
            return delim
    for delim in (",", ";", "\t"):
        if any(delim in ln for ln in sample):
            return delim
    return " "


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(raw: bytes, source: str) -> Signal:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SignalError(
            f"{source}: not a text file (byte {exc.start + 1} is not UTF-8); "
            "expected CSV, or give an audio file a .wav/.flac extension"
        ) from None
    if "\x00" in text:
        raise SignalError(f"{source}: contains NUL bytes; not a CSV text file")
    numbered = [
        (i + 1, ln)
        for i, ln in enumerate(text.splitlines())
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not numbered:
        raise SignalError(f"{source}: no data (only blank or comment lines)")
    delim = _sniff_delimiter([ln for _, ln in numbered])
    if delim == " ":
        rows = [(n, ln.split()) for n, ln in numbered]
    else:
        reader = csv.reader([ln for _, ln in numbered], delimiter=delim)
        rows = [(n, [c.strip() for c in cells]) for (n, _), cells in zip(numbered, reader)]
    header = None
    first_line, first = rows[0]
    if not all(_is_number(c) for c in first):
        header = first
        rows = rows[1:]
        if not rows:
            raise SignalError(f"{source}: header on line {first_line} but no data rows")
    width = len(header) if header else len(rows[0][1])
    data = np.empty((len(rows), width))
    for r, (line, cells) in enumerate(rows):
        if len(cells) != width:
            raise SignalError(
                f"{source}: line {line} has {len(cells)} fields, expected {width} "
                "(every row needs the same number of columns)"
            )
        for c, cell in enumerate(cells):
            try:
                v = float(cell)
            except ValueError:
                name = f" ({header[c]!r})" if header else ""
                raise SignalError(
                    f"{source}: line {line}, column {c + 1}{name}: {cell!r} is not a number"
                ) from None
            if not math.isfinite(v):
                raise SignalError(
                    f"{source}: line {line}, column {c + 1}: {cell!r} is not a finite number"
                )
            data[r, c] = v
    if width == 1:
        data = data[:, 0]
    return Signal(data=data, source=source, format="CSV", header=header, delimiter=delim)


def _read_audio(raw: bytes, source: str) -> Signal:
    import soundfile

    try:
        with soundfile.SoundFile(io.BytesIO(raw)) as f:
            subtype, fmt, rate, channels = f.subtype, f.format, f.samplerate, f.channels
            dtype = "int32" if subtype in PCM_BITS else "float64"
            data = f.read(dtype=dtype, always_2d=True)
            frames = f.frames
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise SignalError(f"{source}: not a readable audio file ({exc})") from None
    if data.shape[0] != frames:
        raise SignalError(
            f"{source}: truncated audio: header promises {frames} frames, found {data.shape[0]}"
        )
    if dtype == "int32":
        data = data.astype(np.float64) / 2.0**31
    if channels == 1:
        data = data[:, 0]
    return Signal(data=data, source=source, format=fmt, samplerate=rate, subtype=subtype)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def write_signal(path: str, sig: Signal, fmt: str | None = None) -> dict:
    """Write ``sig`` to ``path`` (``-``: stdout) atomically.

    The format follows ``fmt`` or the extension of ``path``; a CSV keeps the
    header and delimiter, audio keeps samplerate, channels and subtype (a
    CSV written as audio needs ``sig.samplerate``; 44100 Hz, FLOAT otherwise).

    Returns
    -------
    dict
        What happened: ``{"clipped": n}`` for integer PCM output.
    """
    fmt = guess_format(str(path), fmt)
    if fmt == "CSV":
        payload = _csv_bytes(sig)
        stats = {"clipped": 0}
    else:
        payload, stats = _audio_bytes(sig, fmt, str(path))
    if path == STDIO:
        try:
            sys.stdout.buffer.write(payload)
            sys.stdout.buffer.flush()
        except OSError as exc:
            raise SignalError(f"<stdout>: cannot write: {exc.strerror or exc}") from None
        return stats
    write_bytes_atomic(Path(path), payload)
    return stats


def _format_float(x: float) -> str:
    return repr(x)


def _csv_bytes(sig: Signal) -> bytes:
    data = np.asarray(sig.data, dtype=np.float64)
    rows = data.reshape(data.shape[0], -1).tolist()
    delim = sig.delimiter if sig.format == "CSV" else ","
    buf = io.StringIO()
    if sig.header is not None:
        writer = csv.writer(buf, delimiter=delim if delim != " " else " ", lineterminator="\n")
        writer.writerow(sig.header)
    sep = delim
    buf.write("\n".join(sep.join(map(_format_float, row)) for row in rows))
    buf.write("\n")
    return buf.getvalue().encode("utf-8")


def _audio_bytes(sig: Signal, fmt: str, target: str) -> tuple[bytes, dict]:
    import soundfile

    data = np.asarray(sig.data, dtype=np.float64)
    rate = sig.samplerate or 44100
    subtype = sig.subtype if sig.format == fmt or sig.subtype in PCM_BITS else None
    if subtype is None or not soundfile.check_format(fmt, subtype):
        subtype = soundfile.default_subtype(fmt)
    clipped = 0
    if subtype in PCM_BITS:
        bits = PCM_BITS[subtype]
        full = 2.0 ** (bits - 1)
        q = np.rint(data * full)
        over = (q > full - 1) | (q < -full)
        clipped = int(np.count_nonzero(over))
        q = np.clip(q, -full, full - 1)
        out = q.astype(np.int64) << (32 - bits)
        data = out.astype(np.int32)
    buf = io.BytesIO()
    try:
        soundfile.write(buf, data, rate, subtype=subtype, format=fmt)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise SignalError(f"{target}: cannot encode as {fmt}/{subtype}: {exc}") from None
    return buf.getvalue(), {"clipped": clipped, "subtype": subtype}


def write_bytes_atomic(target: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``target``, then rename it.

    Devices and pipes (``/dev/stdout``, a FIFO) are written directly.
    """
    target = Path(target)
    name = str(target)
    if target.exists() and not target.is_file():
        if target.is_dir():
            raise SignalError(f"{name}: is a directory; give an output file name")
        # a device or pipe (/dev/stdout, /dev/full, a FIFO): write through
        try:
            with open(target, "wb") as fh:
                fh.write(payload)
                fh.flush()
        except OSError as exc:
            raise SignalError(f"{name}: cannot write: {exc.strerror or exc}") from None
        return
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SignalError(f"{name}: output directory {str(parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise SignalError(f"{name}: cannot create a file in {str(parent)!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as exc:
        _remove_quietly(tmp)
        raise SignalError(f"{name}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
