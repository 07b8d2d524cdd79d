"""Zarr stores: a signal kept as a chunked array in a directory (``NAME.zarr``).

The same two doors as the other formats: :func:`read_zarr` gives the whole
:class:`Signal`, :func:`open_zarr` a :class:`SignalStream` checked in one
pass and then read again chunk by chunk; :class:`ZarrRows` writes one
chunk at a time into a store that :mod:`resdenoise.io.atomic` keeps in a
temporary directory until every chunk is written.  The array is
``(samples,)`` or ``(samples, channels)``, any real dtype (read as float64);
a sample rate is read from and written to the attribute ``samplerate``
(``sample_rate`` is read too), never guessed.

``zarr`` is imported here only, when a store is opened: the base install
and ``--help`` never import it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace

import numpy as np

from ..errors import (
    SignalError,
    import_extra,
    non_finite,
    one_line,
    refuse_non_finite,
    too_short,
)
from . import signals
from .checked import write_reason
from .options import ReadOptions
from .signal import ZARR, Signal, SignalStream

#: Attributes that give a store's sample rate in Hz (the first is written).
RATE_ATTRIBUTES = ("samplerate", "sample_rate")
#: Rows per chunk of a store written from another format.
DEFAULT_ROWS = 1 << 18
#: Rows read at a time are whole chunks, at least this many.
READ_ROWS = 1 << 16


def _zarr(name: str):
    return import_extra("zarr", f"{name}: Zarr stores need zarr", "dask")


def is_store(path: str) -> bool:
    """Whether ``path`` holds a Zarr store (v2 or v3 metadata at its top)."""
    return any(
        os.path.isfile(os.path.join(path, name)) for name in ("zarr.json", ".zarray", ".zgroup")
    )


#: The files at the top of a store of one array besides its chunks (v3, v2).
ARRAY_METADATA = ("zarr.json", ".zarray", ".zattrs")
#: Names of an array's chunks at the top of its store: ``c`` (v3), ``0``, ``0.1``, ``0/`` (v2).
_CHUNK_NAME = re.compile(r"c|\d+(\.\d+)*")
#: Names inside a chunk directory (``c/0/1``, v2's ``0/1``): indices only.
_CHUNK_INDEX = re.compile(r"\d+")


def _node_type(path: str) -> str | None:
    """``"array"`` or ``"group"`` as the store's metadata says, else None (unreadable)."""
    if os.path.isfile(os.path.join(path, "zarr.json")):
        try:
            with open(os.path.join(path, "zarr.json"), "rb") as fh:
                meta = json.load(fh)
        except (OSError, ValueError):
            return None
        kind = meta.get("node_type") if isinstance(meta, dict) else None
        return kind if kind in ("array", "group") else None
    if os.path.isfile(os.path.join(path, ".zgroup")):
        return "group"
    return "array" if os.path.isfile(os.path.join(path, ".zarray")) else None


def replace_refusal(path: str) -> str | None:
    """Why the store ``path`` (:func:`is_store`) may not be replaced by a new one, else
    None: only the store of one array (what an output writes) may, with nothing but
    its metadata and chunks at its top; a group (its arrays), or anything else put
    in it, would be lost with it."""
    kind = _node_type(path)
    names = sorted(os.listdir(path))
    others = [
        name + ("/" if os.path.isdir(os.path.join(path, name)) else "")
        for name in names
        if not (name in ARRAY_METADATA or (kind == "array" and _CHUNK_NAME.fullmatch(name)))
        and (kind == "array" or name not in (".zgroup", ".zmetadata"))  # a group's: not shown
    ]
    if kind == "array":  # a chunk's name at the top, a directory: indices all the way down
        others += [
            n for name in names if _CHUNK_NAME.fullmatch(name) for n in _not_chunks(path, name)
        ]
    if kind == "array" and not others:
        return None
    shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    if kind == "array":
        return f"is a Zarr store with files that are not its array's ({shown})"
    what = "a Zarr group" if kind == "group" else "a directory whose Zarr metadata is no array's"
    return f"is {what} ({shown or 'nothing else in it'}), not the store of one array"


def _not_chunks(store: str, top: str) -> list[str]:
    """What in the directory ``top`` of ``store`` is no chunk (its name not an index),
    as paths relative to the store; nothing where ``top`` is a file."""
    found = []
    for here, dirs, files in os.walk(os.path.join(store, top)):
        relative = os.path.relpath(here, store)
        for name in sorted(dirs + files):
            if not _CHUNK_INDEX.fullmatch(name):
                found.append(os.path.join(relative, name) + ("/" if name in dirs else ""))
        dirs[:] = [name for name in dirs if _CHUNK_INDEX.fullmatch(name)]
    return found


def store_nbytes(path: str) -> int | None:
    """The bytes of the array in the store ``path`` in its own dtype (samples x
    channels x item size), what a file's size is to a file, read from its metadata
    alone; None where zarr is missing or ``path`` holds no readable array (reading it
    then says why)."""
    try:
        import zarr

        array = zarr.open_array(path, mode="r")
        return int(np.prod(array.shape, dtype=np.int64)) * np.dtype(array.dtype).itemsize
    except Exception:  # any failure to open: the reader reports it
        return None


class ZarrReader:
    """One store: checked in one pass, then read again in whole chunks."""

    def __init__(self, path: str, source: str, options: ReadOptions):
        options.check_audio(source, "a Zarr store")  # no time column either
        self.path, self.source, self.options = path, source, options
        if not os.path.isdir(path):
            what = "no such store" if not os.path.exists(path) else "not a Zarr store"
            raise SignalError(f"{source}: {what} (a Zarr store is a directory)")
        self.array = self._open()

    def _open(self):
        zarr = _zarr(self.source)
        try:
            array = zarr.open_array(self.path, mode="r")
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise SignalError(
                f"{self.source}: not a readable Zarr array ({one_line(exc)}); give a store "
                "that holds one array (samples,) or (samples, channels)"
            ) from None
        if array.ndim not in (1, 2):
            raise SignalError(
                f"{self.source}: the array has shape {array.shape}; a signal is (samples,) or "
                "(samples, channels)"
            )
        kind = np.dtype(array.dtype).kind
        if kind not in "fiub":
            raise SignalError(
                f"{self.source}: the array holds {array.dtype} values; a signal holds real numbers"
            )
        if array.ndim == 2 and array.shape[1] > array.shape[0]:
            raise SignalError(
                f"{self.source}: the array has shape {array.shape}, more channels than samples; "
                "store it as (samples, channels) (transpose it)"
            )
        return array

    @property
    def rows(self) -> int:
        """Rows read from the store at a time: whole chunks, at least :data:`READ_ROWS`."""
        chunk = int(self.array.chunks[0]) or 1
        return chunk * max(1, -(-READ_ROWS // chunk))

    def _stored(self, a: int, b: int) -> np.ndarray:
        """Rows ``a .. b`` as the store holds them (its dtype), shaped ``(k, width)``."""
        try:
            native = np.dtype(self.array.dtype).newbyteorder("=")  # "<d" is no "d" to C
            return np.asarray(self.array[a:b], dtype=native).reshape(b - a, -1)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise SignalError(
                f"{self.source}: cannot read samples {a + 1}..{b}: {one_line(exc)}"
            ) from None

    def _pieces(self):
        """Every row in order, float64 blocks of :data:`READ_ROWS` rows at the most (a
        store's chunks of more rows are each read once, as stored, and given in pieces,
        new arrays): what a pass holds follows those pieces and one chunk as stored, not
        several chunks widened (a store of 2^21-sample chunks was read 2^21 rows at a
        time, each block copied again on its way)."""
        n = self.frames
        for start in range(0, n, self.rows):
            held = self._stored(start, min(start + self.rows, n))
            for a in range(0, held.shape[0], READ_ROWS):
                block = np.array(held[a : a + READ_ROWS], dtype=np.float64)
                refuse_non_finite(self.source, non_finite(block, start + a), self.positions)
                yield block  # (as audio: a channel not filtered, carried, may hold NaN)
            held = None  # let go before the next chunk is read

    def check(self, visit=None, keep=None) -> SignalStream:
        """Read every chunk once: ``visit(block)`` and ``keep(block)`` get them as float64."""
        n = int(self.array.shape[0])
        width = 1 if self.array.ndim == 1 else int(self.array.shape[1])
        if n < 2:
            raise too_short(self.source, n, "sample")
        positions = tuple(range(width))
        carried_at: list[int] = []
        picked = self.options.picked(None, width, self.source, "channels")
        if picked is not None:
            carried_at = [p for p in range(width) if p not in picked]
            positions = tuple(picked)
        self.frames, self.positions, self.carried_at = n, positions, carried_at
        for block in self._pieces():
            if visit is not None:
                visit(block)
            if keep is not None:
                keep(block)
        attrs = dict(self.array.attrs)
        found = next((attrs[k] for k in RATE_ATTRIBUTES if k in attrs), None)
        if found is not None and not (isinstance(found, int) and found > 0):
            raise SignalError(
                f"{self.source}: the attribute samplerate is {found!r}, not a positive integer"
            )
        shape = (0,) if len(positions) == 1 else (0, len(positions))
        template = Signal(
            data=np.zeros(shape),
            source=self.source,
            format=ZARR,
            samplerate=self.options.rate(found, self.source),
            positions=positions,
            carried={p: np.zeros(0) for p in carried_at},
            chunks=tuple(int(c) for c in self.array.chunks),
        )
        return SignalStream(template=template, frames=n, width=width, _reader=self)

    def _split(self, block: np.ndarray) -> tuple[np.ndarray, dict]:
        carried = {p: block[:, p].copy() for p in self.carried_at}
        picked = list(self.positions)
        data = block[:, picked[0]] if len(picked) == 1 else block[:, picked]
        return np.ascontiguousarray(data), carried

    def blocks(self, stream: SignalStream, stored: bool = False):
        """Read the store again: ``(data, carried)`` chunk by chunk (float64 whatever
        ``stored``)."""
        if self.array.shape[0] != self.frames:
            raise SignalError(f"{self.source}: the store changed while it was read")
        for block in self._pieces():
            yield self._split(block)


def open_zarr(path: str, source: str, options: ReadOptions, visit=None) -> SignalStream:
    """The blocks door: a store checked in one pass, then read in chunks on demand."""
    return ZarrReader(path, source, options).check(visit=visit)


def read_zarr(path: str, source: str, options: ReadOptions) -> Signal:
    """The whole door: a store's samples in memory."""
    reader = ZarrReader(path, source, options)
    kept: list = []
    stream = reader.check(keep=kept.append)
    data, carried = reader._split(kept[0] if len(kept) == 1 else np.concatenate(kept))
    return replace(stream.template, data=data, carried=carried)


class ZarrRows:
    """A new store in directory ``path``, written one whole chunk at a time.

    Rows are held (copied: the caller may reuse its arrays) until whole
    chunks of the store are full (at least :data:`READ_ROWS` rows; the last,
    partial chunk at :meth:`close`), so no chunk is written twice and the
    array is resized once per write.  The filtered channels go back to their
    columns, carried channels of a store or a sound file beside them (a CSV
    file's carried columns are not written: a store holds numbers; see
    :func:`resdenoise.io.signal.check_carried`).
    """

    def __init__(self, path: str, name: str, template: Signal):
        self.name, self.template = name, template
        zarr = _zarr(name)
        self.carries = template.format != "CSV" and bool(template.carried)
        self.width = template.channels + (len(template.carried) if self.carries else 0)
        # (samples,) as the input store was, or a one-channel signal of another format
        self.one = len(template.chunks) == 1 if template.chunks else template.data.ndim == 1
        self.one = self.one and self.width == 1
        self.rows = template.chunks[0] if template.chunks else DEFAULT_ROWS
        across = template.chunks[1] if template.chunks and len(template.chunks) == 2 else self.width
        shape, chunks = ((0,), (self.rows,)) if self.one else ((0, self.width), (self.rows, across))
        attributes = {}
        if template.samplerate:
            attributes[RATE_ATTRIBUTES[0]] = int(template.samplerate)
        try:
            with signals.deferred():
                self.array = zarr.create_array(
                    store=path, shape=shape, chunks=chunks, dtype="float64", attributes=attributes
                )
        except (OSError, ValueError) as exc:
            raise SignalError(f"{name}: cannot write: {write_reason(exc)}") from None
        self.n = 0
        # whole chunks, a few at a time where they are small: filled in place as rows come
        # (no list of blocks joined at each write: one chunk's copy less)
        held = self.rows * max(1, -(-READ_ROWS // self.rows))
        self._held = np.empty((held,) if self.one else (held, self.width))
        self._count = 0

    def write(self, data: np.ndarray, carried: dict) -> None:
        k = data.shape[0]
        rows = data.reshape(k, -1)
        at = 0
        while at < k:
            take = min(k - at, len(self._held) - self._count)
            into = self._held[self._count : self._count + take].reshape(take, -1)
            if self.carries:
                into[:, list(self.template.channel_positions)] = rows[at : at + take]
                for p, col in carried.items():
                    into[:, p] = col[at : at + take]
            else:
                into[:] = rows[at : at + take]
            self._count += take
            at += take
            if self._count == len(self._held):
                self._flush()

    def _flush(self) -> None:
        if self._count:
            self._put(self._held[: self._count])
            self._count = 0

    def _put(self, rows: np.ndarray) -> None:
        a, b = self.n, self.n + rows.shape[0]
        try:
            # zarr writes on its own I/O thread: a signal acts once the chunks are on
            # disk, or removing the temporary store could race with that thread
            with signals.deferred():
                self.array.resize((b,) + self.array.shape[1:])
                self.array[a:b] = rows
        except (OSError, ValueError) as exc:  # a full disk: what to do, as every writer says
            raise SignalError(f"{self.name}: cannot write: {write_reason(exc)}") from None
        self.n = b

    def close(self) -> None:
        """Write the rows still held (the last, partial chunk)."""
        self._flush()
