"""Filtering signals too long for memory: chunks with halos, measurements on the fly.

m diffusion blocks move information m samples each way: sample i after m
blocks depends only on samples i-m .. i+m of the input.  So a signal can be
cut into *chunks* (cores) of C samples, each extended by a *halo* of m
samples on both sides (clipped at the true ends, where the reflecting
boundary applies as in the whole signal).  Running the plan's m blocks on an
extended chunk with :func:`resdenoise.filters.run_plan` gives its core
**bit for bit** as the whole run does: every core sample sees the same
operations on the same values; the halo absorbs the wrong (reflecting)
boundary of the cut, whose influence travels one sample per block.  The
engine stays one: every chunk goes through ``run_blocks``.

Memory is bounded by the chunk and the halo, not by the file: about
``(C + 2m) * channels`` values times a small number of working copies.

Measurements
------------
What :func:`resdenoise.filters.analyse_run` measures on the whole signal
is accumulated chunk by chunk by :class:`resdenoise.measure.StreamMeasure`.

The noise level (:func:`resdenoise.noise.estimate_noise`: the 20 % quantile
of the window energies of third differences, ``quiet-windows``; the MAD of
the finest Haar details for signals too short for it; needed by the
automatic lambda and by every report) is the *exact* quantile, found
without holding the values (:mod:`resdenoise.selection` feeding
:class:`resdenoise.median.MedianSelect`, a radix selection on the values' bit
patterns whose first pass keeps a band of values around the wanted rank):
the checking pass settles it for any signal whose quiet windows do not move
far in level along the file; else further passes over the file, at most four
(five for a signal so short that its window length differs from the one fed
in the first pass); when the plan's lambda is given, the second pass is the
filtering pass itself.

A streamed run reads the input twice: once to check the whole file (and to
learn what :func:`resdenoise.io.read_signal` learns from it: length, CSV
time column and dialect) and to select the noise quantile, and once to
filter; plus the selection passes it needs when the first did not settle it.
Where a second core is idle (:func:`sink_depth`), threads of their own
(:class:`resdenoise.sink.Behind`, in order) take the blocks' extremes in the
checking pass, and in the filtering pass join the next chunk and write and
measure the last while the engine runs: the same numbers.  A float WAV's
32-bit values are read as stored (one noise selection serves a float32 run,
whose values they are); a float32 run joins them into its chunks as they are
and runs in place (a measured run, whose report needs no input after the run,
measures each chunk's input first).  Where the source reads rows by position
(a plain WAV of 32-bit floats, every channel filtered: ``row_reader``), the
filtering pass reads each chunk's rows straight into its array, without blocks
to hold and join (the same values).  :class:`StreamedRun`
drives the passes over any :class:`BlockSource`; this module knows blocks,
not files (:func:`resdenoise.pipeline.run_file` opens them).
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Protocol

import numpy as np

from .engine import running_now, usable_cores
from .errors import ParameterError, SignalError, WholeSignalNeeded
from .filters import Summary, run_plan, smallest_step
from .measure import GRID_ROWS, QualitySums, StreamMeasure
from .median import LEVELS
from .selection import Scan as _Scan
from .selection import Scratch as _Scratch
from .sink import Behind as _Behind
from .stability import check_float32

__all__ = [
    "DEFAULT_CHUNK",
    "SignalSummary",
    "chunk_for",
    "BlockSource",
    "StreamedRun",
    "filter_chunks",
    "filter_in_chunks",
]

#: Samples per chunk (the core, without the halos) by default (a multiple of the
#: measurements' :data:`resdenoise.measure.GRID_ROWS`: no rows held over for them).
DEFAULT_CHUNK = 1 << 18


#: A signal of fewer than MIN_CHUNKS x :data:`DEFAULT_CHUNK` frames gets smaller
#: chunks by default, halved down to :data:`resdenoise.measure.GRID_ROWS`, so that it is
#: cut into MIN_CHUNKS or more: the buffers of a streamed run then grow with the file
#: from about the memory of a file read whole at the streaming threshold, instead of
#: starting a step above it (a 9 MiB float WAV, 10 blocks, -q: peak 52 -> 46 MiB, the
#: 7 MiB file read whole 44; the same CPU per MiB).
MIN_CHUNKS = 16


def chunk_for(steps: int, chunk: int | None = None, frames: int | None = None) -> int:
    """The chunk (core) size to use: ``chunk``, or by default the larger of
    :data:`DEFAULT_CHUNK` (smaller for a signal of ``frames`` under
    :data:`MIN_CHUNKS` chunks of it) and 4 halos (so that halos cost at most half the
    work)."""
    if chunk is not None:
        return int(chunk)
    size = DEFAULT_CHUNK
    while frames is not None and size > GRID_ROWS and frames < MIN_CHUNKS * size:
        size //= 2
    return max(size, 4 * int(steps))


# --------------------------------------------------------------------------
# Chunks with halos
# --------------------------------------------------------------------------


class _Rows:
    """Consecutive rows from an iterator of ``(data, carried)`` blocks, by index range."""

    def __init__(self, blocks: Iterable, source: str = "<stream>"):
        self._it = iter(blocks)
        self._pieces: deque = deque()  # (start, data, carried)
        self.hi = 0
        self.source = source

    def fill(self, end: int) -> None:
        while self.hi < end:
            try:
                data, carried = next(self._it)
            except StopIteration:
                raise SignalError(
                    f"{self.source}: ended after {self.hi} samples, expected {end}"
                ) from None
            if len(data):
                self._pieces.append((self.hi, data, carried))
                self.hi += len(data)

    def drop(self, start: int) -> None:
        """Forget the rows before ``start``."""
        while self._pieces and self._pieces[0][0] + len(self._pieces[0][1]) <= start:
            self._pieces.popleft()

    def _parts(self, a: int, b: int):
        for s, data, carried in self._pieces:
            lo, hi = max(a, s), min(b, s + len(data))
            if lo < hi:
                yield lo - s, hi - s, data, carried

    def data(self, a: int, b: int, scratch=None, copy=False, stored=None) -> np.ndarray:
        """Rows ``a .. b`` as float64 (joined, or widened from the float32 blocks of
        ``SignalStream.blocks(stored=True)`` in the same copy, in ``scratch``'s kept
        array when given: valid until the next call); ``copy``: always a copy, never
        a view of the blocks; ``stored`` (a dtype): in that dtype, not widened, where
        every block holds it."""
        parts = [data[i:j] for i, j, data, _ in self._parts(a, b)]
        first = parts[0]
        dtype = np.dtype(np.float64)
        if stored is not None and all(p.dtype == stored for p in parts):
            dtype = first.dtype
        if len(parts) == 1 and first.dtype == dtype and not copy:
            return first
        shape = (b - a, *first.shape[1:])
        out = np.empty(shape, dtype) if scratch is None else scratch.get("rows", shape, dtype)
        if len(parts) == 1:
            np.copyto(out, first)
            return out
        return np.concatenate(parts, out=out)

    def carried(self, a: int, b: int) -> dict:
        out: dict = {}
        for i, j, _, carried in self._parts(a, b):
            for p, cells in carried.items():
                out.setdefault(p, []).append(cells[i:j])
        return {
            p: (np.concatenate(v) if isinstance(v[0], np.ndarray) else list(chain(*v)))
            for p, v in out.items()
        }

    def close(self) -> None:
        """Nothing held open (the iterator's owner closes it)."""

    def exhausted(self) -> bool:
        """True when the iterator has no rows left (reads ahead by one block)."""
        for data, carried in self._it:
            if len(data):
                self._pieces.append((self.hi, data, carried))
                self.hi += len(data)
                return False
        return True


class _Read:
    """Rows by position, read straight into each chunk's array by a source's row
    reader (:meth:`resdenoise.io.SignalStream.row_reader`): :class:`_Rows`' calls, without
    blocks to hold or to join (the same values: a copy of the rows as stored, widened
    where another dtype is asked for)."""

    def __init__(self, reader, shape: tuple):
        self.reader, self.shape = reader, shape

    def fill(self, end: int) -> None:
        pass

    def drop(self, start: int) -> None:
        pass

    def data(self, a: int, b: int, scratch=None, copy=False, stored=None) -> np.ndarray:
        """Rows ``a .. b`` as :meth:`_Rows.data` gives them (always in ``scratch``'s kept
        array: valid until its next call)."""
        scratch = _Scratch() if scratch is None else scratch
        shape, dtype = (b - a, *self.shape), self.reader.dtype
        if stored == dtype:
            out = scratch.get("rows", shape, dtype)
            self.reader.read(a, out)
            return out
        read = scratch.get("read", shape, dtype)
        self.reader.read(a, read)
        out = scratch.get("rows", shape, np.float64)
        np.copyto(out, read)  # widened, exactly
        return out

    def carried(self, a: int, b: int) -> dict:
        return {}

    def exhausted(self) -> bool:
        self.reader.finish()
        return True

    def close(self) -> None:
        self.reader.close()


@dataclass
class Chunk:
    """One chunk of a streamed run.

    ``x`` and ``y`` are the extended chunk (rows ``lo .. hi`` of the signal)
    before and after the blocks, in the working dtype; the core is rows
    ``start .. stop``, ``x[start - lo : stop - lo]``.  ``raw`` is the
    extended input as read (float64; or the float32 values as stored, where the
    run is float32 and in place), ``carried`` the carried cells of the core.
    """

    start: int
    stop: int
    lo: int
    hi: int
    raw: np.ndarray
    x: np.ndarray
    y: np.ndarray
    carried: dict

    @property
    def core(self) -> slice:
        return slice(self.start - self.lo, self.stop - self.lo)

    @property
    def f(self) -> np.ndarray:
        """The core of the input (working dtype)."""
        return self.x[self.core]

    @property
    def u(self) -> np.ndarray:
        """The core of the output: bit for bit the whole run's samples start..stop."""
        return self.y[self.core]


def filter_chunks(
    plan,
    blocks: Iterable,
    frames: int,
    chunk: int | None = None,
    dtype=None,
    source: str = "<stream>",
    threads: int | None = None,
    buffers: int = 1,
    in_place: bool = False,
    ahead: Callable[[Iterator], Iterator] | None = None,
    before: Callable[[np.ndarray], object] | None = None,
) -> Iterator[Chunk]:
    """Run ``plan`` on a signal given as consecutive blocks, one chunk at a time.

    Parameters
    ----------
    plan : resdenoise.filters.Plan
        Any plan :func:`~resdenoise.filters.run_plan` runs; its ``halo``
        (the total number of blocks; a multiscale cascade's sum of stride x
        blocks) is the halo.
    blocks : iterable of (data, carried)
        The signal's rows in order, in blocks of any size: ``data`` shaped
        ``(k,)`` or ``(k, channels)``, ``carried`` a dict of cells per column
        (may be empty), as :meth:`resdenoise.io.SignalStream.blocks` yields.
    frames : int
        The number of samples.
    chunk : int, optional
        Core samples per chunk (any size >= 1, smaller than the halo too);
        default :func:`chunk_for`.
    dtype : {None, 'float64', 'float32'}
        Working precision, as ``run_plan`` (the input is cast first).
    source : str
        The signal's name in messages.
    threads : int, optional
        Engine threads, as ``run_plan``.
    buffers : int
        Arrays the extended chunks are joined in, in turn: a chunk's ``raw``
        (and ``x``) stays valid while the next ``buffers - 1`` chunks are made.
    in_place : bool
        Where the working dtype is float64 (or float32 and the blocks hold
        float32: joined as they are), run the blocks in the joined array itself
        (``y`` is then ``x`` and ``raw``: the input is not kept); the same
        numbers, without the engine's copy of the input.
    ahead : callable, optional
        ``ahead(items)`` gives the same items, made ahead of the caller (by a
        thread: :func:`resdenoise.io.prefetch.prefetched`): the chunks are then
        joined while the engine runs the one before.  Each item made ahead
        holds one of the ``buffers``: count them in.
    before : callable, optional
        ``before(core)``: each chunk's core of the input as joined, before its
        blocks run (in the caller's thread; e.g. measured before a run in place).

    Yields
    ------
    Chunk
        Consecutive chunks; their cores together are exactly
        ``run_plan(plan, whole_signal)``.  A chunk's ``raw`` (and ``x``, where
        no cast was needed) may be an array the ``buffers``-th next chunk
        reuses: copy what must outlive that.
    """
    if plan.prestage is not None:
        raise ParameterError(
            "an impulse pre-stage needs the whole signal (its scale is a median over all "
            "samples); filter it whole, not in chunks"
        )
    m = plan.halo
    chunk = chunk_for(m, chunk, frames)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if frames < 2:
        raise ValueError(f"a signal needs at least 2 samples, got {frames}")
    rows = blocks if isinstance(blocks, _Read) else _Rows(blocks, source)
    stored = np.dtype(dtype) if in_place and dtype is not None else None
    joined = _joined(rows, frames, m, chunk, max(1, buffers), in_place, stored)
    for start, stop, lo, hi, raw, carried in joined if ahead is None else ahead(joined):
        if before is not None:
            before(raw[start - lo : stop - lo])
        x = raw if dtype is None else raw.astype(dtype, copy=False)
        y = run_plan(plan, x, threads=threads, out=x if in_place and x is raw else None)
        yield Chunk(start, stop, lo, hi, raw, x, y, carried)


def _joined(rows: _Rows, frames: int, m: int, chunk: int, buffers: int, in_place: bool, stored):
    """``(start, stop, lo, hi, raw, carried)`` of each extended chunk in turn, ``raw``
    joined in one of ``buffers`` arrays reused in turn (always, where ``in_place``;
    ``stored``: as :meth:`_Rows.data`)."""
    kept = [_Scratch() for _ in range(buffers)]
    start = turn = 0
    try:
        while start < frames:
            stop = min(start + chunk, frames)
            lo, hi = max(start - m, 0), min(stop + m, frames)
            rows.fill(hi)
            raw = rows.data(lo, hi, kept[turn % buffers], copy=in_place, stored=stored)
            turn += 1
            yield start, stop, lo, hi, raw, rows.carried(start, stop)
            rows.drop(stop - m)
            start = stop
        if not rows.exhausted():
            raise SignalError(f"{rows.source}: more than the {frames} samples expected")
    finally:  # (in the thread that read, where the chunks are made ahead)
        rows.close()


def filter_in_chunks(plan, u: np.ndarray, chunk: int | None = None, dtype=None) -> np.ndarray:
    """``run_plan(plan, u)`` computed chunk by chunk (for checking; u is in memory)."""
    u = np.asarray(u)
    out = [c.u for c in filter_chunks(plan, [(u, {})], u.shape[0], chunk, dtype)]
    return np.concatenate(out)


# --------------------------------------------------------------------------
# What the plan needs to know about the whole signal
# --------------------------------------------------------------------------


class SignalSummary(Summary):
    """A streamed signal as :func:`resdenoise.filters.auto_lambda` needs it.

    Passed to a plan maker instead of the samples.  ``noise_sigma`` is
    computed on demand, by further passes over the file when the median is
    not settled yet.  Anything that needs the samples themselves (turning
    the summary into an array, e.g. an automatic stopping rule) raises a
    :class:`~resdenoise.errors.WholeSignalNeeded` (a ParameterError) saying so.

    Its noise estimate is :func:`resdenoise.noise.estimate_noise` of the
    whole signal, bit for bit (:class:`resdenoise.selection.NoiseSelect`).

    Attributes
    ----------
    frames, channels : int
    span : float
        ``max - min`` over all samples and channels (``np.ptp``).
    amplitude : float
        ``max |sample|`` over all channels (float64).
    amplitudes : list of float
        ``max |sample|`` of each channel (float64).
    """

    def __init__(self, stream, scan: _Scan, passes: Callable[[], None]):
        pos = list(stream.positions)
        self.source = stream.source
        self.frames = stream.frames
        self.channels = len(pos)
        self.shape = stream.shape
        lo, hi = scan.lo[pos], scan.hi[pos]
        self.minimum, self.maximum = lo, hi
        self.span = float(hi.max() - lo.min())
        self.amplitude = float(max(np.abs(lo).max(), np.abs(hi).max()))
        self.amplitudes = [float(a) for a in np.maximum(np.abs(lo), np.abs(hi))]
        self._noise = scan.noise64
        self._noise.keep(pos)
        if not self._noise.settle(self.frames, self.amplitudes):  # each channel's own
            self._noise.end_pass()
        self._passes = passes
        self._stream = stream
        self._steps: float | None = None
        #: Passes over the file this summary made itself (:attr:`smallest_step`'s).
        self.own_passes = 0

    @property
    def smallest_step(self) -> float:
        """:func:`resdenoise.filters.smallest_step` of the whole signal, by one more
        pass over the file, the first time it is asked for (only a formula's sampling
        grid asks: :func:`resdenoise.filters.with_reach`)."""
        if self._steps is None:
            least, last = math.inf, None
            for data, _ in self._stream.blocks():
                x = data.reshape(data.shape[0], -1)
                if last is not None:
                    x = np.concatenate([last, x])
                least = min(least, smallest_step(x))
                last = x[-1:]
            self._steps = least
            self.own_passes += 1
        return self._steps

    @property
    def noise_estimator(self) -> str:
        return self._noise.estimator

    @property
    def noise_sigma(self) -> np.ndarray:
        """The noise estimate per channel, exactly ``estimate_noise`` of the whole signal."""
        for _ in range(LEVELS + 2):
            if self._noise.done:
                return self._noise.sigma()
            self._passes()
        raise RuntimeError("the noise estimate did not settle: the passes fed no values")

    def __array__(self, dtype=None, copy=None):
        raise WholeSignalNeeded.of(self.source, ("this", ()))

    def __len__(self) -> int:
        return self.frames


# --------------------------------------------------------------------------
# A whole signal in passes over its blocks
# --------------------------------------------------------------------------


class BlockSource(Protocol):
    """A signal that can be read again from the start, block by block.

    :class:`resdenoise.io.SignalStream` is one; this module knows nothing
    of files.  It may also have ``row_reader()``: a reader of rows by position, or None
    (:meth:`resdenoise.io.SignalStream.row_reader`), which the filtering pass then reads
    straight into its chunks.
    """

    source: str
    frames: int

    @property
    def positions(self) -> tuple[int, ...]: ...

    @property
    def shape(self) -> tuple[int, ...]: ...

    def blocks(self, stored: bool = False) -> Iterator[tuple[np.ndarray, dict]]: ...


class StreamedRun:
    """One streamed run: what the plan may know, then the filtering pass.

    Built after the checking pass, whose blocks went to :meth:`visit` (give
    ``run.visit`` to the reader as its visitor, then :meth:`start` with the
    opened source).  :attr:`summary` is what the plan maker gets in place of
    the samples; :meth:`filter` runs the plan chunk by chunk, gives each
    output core to ``write`` and returns :func:`analyse_run`'s report; the
    exact noise median takes the passes it still needs.

    ``progress(phase, done, total)``: phase ``"check"``, ``"noise"`` or
    ``"filter"`` (samples); ``total`` is None while unknown (an audio file's header
    gives it, :meth:`expect`).  A CSV file's checking pass, whose rows are not known
    until its end, is ``"check-bytes"``: the bytes read of the file's size
    (:meth:`read_bytes`), in place of ``"check"``.
    """

    def __init__(self, dtype: str = "float64", progress: Callable | None = None, report=True):
        self.dtype = dtype
        self.progress = progress or (lambda phase, done, total: None)
        self.scan = _Scan(report)  # report False: filter(measure=False) only
        self.passes = 1
        self._checked = 0
        self._frames: int | None = None  # what the file's header promises, where it does
        self._by_bytes = False  # the checking pass's progress told in bytes read
        self._ranges: _Behind | None = None

    def expect(self, frames: int) -> None:
        """The checking pass's length where the file says it first (an audio header):
        its progress has a total (percentage and ETA), not only a count."""
        self._frames = frames

    def read_bytes(self, done: int, total: int | None) -> None:
        """The checking pass of a CSV file (give it to the reader as ``read_bytes``):
        ``done`` of its ``total`` bytes read, its progress with a total (percentage,
        rate, ETA) where its count of rows has none."""
        self._by_bytes = True
        self.progress("check-bytes", done, total)

    def visit(self, block: np.ndarray) -> None:
        """The checking pass: every block of every column, as read (a new array each);
        where a core is idle (:func:`sink_depth`), their extremes and the noise level
        of the columns after the first taken by a thread (in order) while the caller
        selects the first's, until :meth:`start`."""
        if self._ranges is None:
            self._ranges = _Behind(self.scan.finish, sink_depth())
        self.scan.visit(block, self._ranges)
        self._checked += block.shape[0]
        if not self._by_bytes:
            self.progress("check", self._checked, self._frames)

    def stop_checking(self) -> None:
        """End the checking pass's thread where the pass failed (idempotent)."""
        if self._ranges is not None:
            self._ranges.stop()

    def start(self, stream: BlockSource) -> SignalSummary:
        """The summary of the checked signal, for the plan maker."""
        if self._ranges is not None:
            self._ranges.join()  # its thread ends, also where it raises
        self.stream = stream
        self.summary = SignalSummary(stream, self.scan, self._noise_pass)
        self._noise = [self.summary._noise]  # of the file's values, in every dtype
        return self.summary

    def _feed(self, data: np.ndarray) -> None:
        for s in self._noise:
            if not s.done:
                s.feed(data)

    def _end_noise_pass(self) -> None:
        for s in self._noise:
            if not s.done:
                s.end_pass()

    def _noise_pass(self) -> None:
        """One more pass over the signal for the median selections still open."""
        self.passes += 1
        done = 0
        for data, _ in self.stream.blocks():
            self._feed(data)
            done += data.shape[0]
            self.progress("noise", done, self.stream.frames)
        self._end_noise_pass()

    def _blocks_feeding_noise(self):
        for data, carried in self.stream.blocks():
            self._feed(data)
            yield data, carried

    def filter(
        self,
        plan,
        verdict,
        write: Callable[[np.ndarray, dict], object],
        *,
        chunk: int | None = None,
        threads: int | None = None,
        check_wavelet: bool = False,
        reference: BlockSource | None = None,
        measure: bool = True,
        ahead: Callable[[Iterator], Iterator] | None = None,
        labels: Sequence[str] | None = None,
    ) -> tuple[dict | None, dict | None, dict]:
        """Run ``plan``; ``(report, quality, streaming)`` of the run.

        ``quality`` compares with ``reference`` (None without one);
        ``streaming`` says how the run was cut (chunk size, halo, chunks,
        passes over the input).  ``measure`` False (nobody reads the report):
        the chunks are only written, and ``report`` and ``quality`` are None.
        ``ahead``: as :func:`filter_chunks` takes it, holding one item (used
        where a second core is idle, as the sink's thread).  ``labels``: how the
        report's messages name each channel (default ``channel 1``, ...).
        """
        stream, dtype, name = self.stream, self.dtype, self.stream.source
        if measure and not self.scan.report:
            raise ValueError("a run made with report=False is filtered with measure=False")
        channels = len(stream.positions)
        chunk = chunk_for(plan.halo, chunk, stream.frames)
        amplitude = self.summary.amplitude  # of the file's values, as measured
        amps = self.summary.amplitudes  # each channel's, its checks' tolerances
        measurer = StreamMeasure(
            plan, channels, amplitude, dtype, check_wavelet, stream.frames, amplitudes=amps
        )
        quality = ref_rows = None
        if reference is not None and measure:
            quality = QualitySums(channels)
            ref_rows = _Rows(reference.blocks(), reference.source)
        # Measured, a plain run keeps no input after its run: each core's input is
        # measured before (:meth:`StreamMeasure.add_input`), then run in place where its
        # working dtype allows (float64; float32 of a file storing float32: joined as
        # stored), with no chunk-sized output array beside it (the memory of a run
        # measuring nothing).
        early = measure and quality is None and measurer.sides_apart
        merged = measure and not all(s.done for s in self._noise)  # the report's level
        # float32 samples widened where they are joined into chunks (one copy, not two)
        reader = None if merged else getattr(stream, "row_reader", lambda: None)()
        if merged:
            blocks = self._blocks_feeding_noise()
        elif reader is not None:  # read straight into the chunks: no blocks to join
            blocks = _Read(reader, stream.shape[1:])
        else:
            blocks = stream.blocks(stored=True)

        def finish(c: Chunk) -> None:
            """Write a chunk's output and measure it (in the sink's thread, in order)."""
            held = write(c.u, c.carried)  # the samples as the file holds them
            if not measure:
                return
            u = c.u if held is None else held
            if early:  # its input was measured before the run in place
                measurer.add_output(u)
            else:
                measurer.add(c.raw[c.core], u, c)  # against the file's values
            if quality is not None:
                ref_rows.fill(c.stop)
                quality.add(c.raw[c.core], u, ref_rows.data(c.start, c.stop))
                ref_rows.drop(c.stop)

        chunks = 0
        depth = sink_depth()
        sink = _Behind(finish, depth)
        try:
            # a chunk's arrays live while it waits in the sink or is finished there (in
            # the caller, within put, without a sink's thread: one array then), and
            # while it is joined ahead or waits to be run (one waits)
            ahead = ahead if depth else None  # where the sink's thread is
            buffers = depth + 2 + (0 if ahead is None else 2) if depth else 1
            # nothing reads a chunk's input after its run where nothing is measured, or
            # where it was measured before
            cut = (plan, blocks, stream.frames, chunk, dtype, name, threads, buffers)
            in_place = not measure or early
            before = measurer.add_input if early else None
            for c in filter_chunks(*cut, in_place=in_place, ahead=ahead, before=before):
                if c.f.dtype == np.float32 and c.raw.dtype == np.float64:  # (float32 values:
                    # none lost) a nonzero sample float32 makes 0: refused
                    lost = c.raw[c.core][(c.f == 0) & (c.raw[c.core] != 0)]
                    check_float32(name, 0.0, float(np.abs(lost).min()) if lost.size else None)
                sink.put(c)
                chunks += 1
                self.progress("filter", c.stop, stream.frames)
            sink.join()
        finally:
            sink.stop()
        self.passes += 1  # the filtering pass, whether or not it fed the noise selection
        if merged:
            self._end_noise_pass()
        while measure and not all(s.done for s in self._noise):  # (for the report only)
            self._noise_pass()
        streaming = {"chunk_size": chunk, "halo": plan.halo, "chunks": chunks}
        streaming["passes"] = self.passes + self.summary.own_passes
        if not measure:
            return None, None, streaming
        select = self.summary._noise  # the file's values' level, as a run read whole
        report = measurer.report(verdict, select.sigma(), select.estimator, labels)
        if quality is not None:
            quality = {"reference": reference.source, **quality.result()}
        return report, quality, streaming


#: Chunks that wait for the sink's thread (written and measured) while the next
#: are filtered: each holds a chunk's arrays (4 MiB for 2^18 stereo samples).
SINK_DEPTH = 2


def sink_depth() -> int:
    """:data:`SINK_DEPTH` where a second core is idle (the tasks running now, this
    thread included, :func:`resdenoise.engine.running_now`, or else the 1-minute
    load, below the usable cores less a half), else 0: the chunks written and
    measured in the caller.  With every core busy the sink's thread only takes
    turns with the engine on one core and evicts its caches: measured on 2 cores at
    a load of 2, a 128 MiB WAV with 10 blocks took 1.10x the wall and 1.08x the CPU
    with the thread.  The load now, not the 1-minute average: a run started after
    another (a benchmark's rounds, a script's files) would see the other's load."""
    try:
        cores = usable_cores()
        load = running_now()
        load = os.getloadavg()[0] if load is None else load
        idle = cores > 1 and load < cores - 0.5
    except (AttributeError, OSError):  # pragma: no cover - no load average
        idle = False
    return SINK_DEPTH if idle else 0
