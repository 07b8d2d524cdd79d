"""Exact order statistics and noise estimates of data fed in passes, in bounded memory.

:class:`resdenoise.median.MedianSelect` finds the exact median (or a
quantile) of a stream of non-negative floats by a radix selection on their
bit patterns; :class:`NoiseSelect` feeds it what :func:`resdenoise.noise.estimate_noise`
takes the median or quantile of, so that a file read in chunks gets the
noise estimate of the whole signal, bit for bit; :class:`Scan` is a
streamed run's checking pass (each column's range and noise selections).
NumPy, and the compiled loops where they are built; used by
:mod:`resdenoise.stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import numpy as np

from . import noise, quiet_windows
from .median import SELECT_LIMIT, MedianSelect
from .wavelet import MAD_FACTOR, haar_details

__all__ = ["NoiseSelect", "Scan", "Scratch"]


class Scratch:
    """Working arrays kept from one block (or chunk) to the next, by name.

    The statistics make several arrays of a block's size per block; a fresh
    array of a few MiB costs its page faults every time, about as much as the
    arithmetic on it.  An array is only reused for the same shape and dtype,
    so what is computed on it is what a fresh array would give.  Its contents
    last until the next :meth:`get` of that name.
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[name] = np.empty(shape, dtype)
        return a

    def rows(self, name: str, a: np.ndarray, dtype=None) -> np.ndarray:
        """``np.ascontiguousarray(a.reshape(k, -1).T, dtype)``: one row per column of the
        ``k`` rows of ``a``, in a kept array unless ``a`` is one row already."""
        t = a.reshape(a.shape[0], -1).T
        dtype = t.dtype if dtype is None else np.dtype(dtype)
        if t.flags.c_contiguous and t.dtype == dtype:
            return t
        out = self.get(name, t.shape, dtype)
        np.copyto(out, t)
        return out


# --------------------------------------------------------------------------
# The exact median of |Haar details|, in passes
# --------------------------------------------------------------------------


class NoiseSelect:
    """:func:`resdenoise.noise.estimate_noise` per column, of data fed block by block
    over passes: ``mad-haar`` or ``quiet-windows``, bit for bit as on the whole signal.

    ``mad-haar``: the finest Haar details pair samples 2k and 2k+1 of the
    whole signal, so a block's odd last row waits for the next block.
    ``quiet-windows``: the window energies of :func:`resdenoise.quiet_windows.window_energies`
    from the start of the signal; a block's rows that do not complete a
    window (plus the three that the next window's differences need) wait
    for the next block.  The window length depends on the signal's length,
    which is known only after the first pass: fed for long signals, and
    :meth:`resize` starts afresh when the length asks for another.  With
    ``dtype`` float32 the estimate is that of the float32 samples (as
    ``estimate_noise`` of a float32 run's input).
    """

    def __init__(self, columns: int, dtype=None, estimator: str = noise.DEFAULT_ESTIMATOR):
        self.dtype = None if dtype is None or np.dtype(dtype) == np.float64 else np.dtype(dtype)
        self.columns = columns
        # quiet-windows: energies of each column's samples / 2**shift[column]
        self.shift = np.zeros(columns, dtype=int)
        self._start(estimator, noise.WINDOW)
        self._scratch = Scratch()

    def _start(self, estimator: str, length: int | None) -> None:
        self.estimator, self.length = estimator, length
        quiet = estimator == "quiet-windows"
        # the first pass keeps the values near the wanted rank: usually it settles them
        self.select = [MedianSelect(quantile=quiet, keep=SELECT_LIMIT) for _ in range(self.columns)]
        # quiet-windows, the first pass: per column the windows of energy 0 and the third
        # differences not 0 (quiet_windows.silent_count: digital silence left out)
        self._exact, self._nonzero = [0] * self.columns, [0] * self.columns
        self._carry: np.ndarray | None = None

    def resize(self, frames: int) -> bool:
        """Settle the estimator for a signal of ``frames`` samples; True when that
        starts it afresh (it then needs a whole pass before :meth:`end_pass`)."""
        estimator = noise.estimator_for(frames, self.estimator)
        length = noise.window_for(frames) if estimator == "quiet-windows" else None
        if (estimator, length) == (self.estimator, self.length):
            return False
        self._start(estimator, length)
        return True

    def rescale(self, amplitude) -> bool:
        """Settle the power of two each column's samples are divided by
        (:func:`resdenoise.quiet_windows.energy_shift` of its largest ``|sample|``: one
        ``amplitude`` per column, or one for all, as the whole signal's estimate takes it
        per channel); True when that starts the selection afresh (it then needs a whole
        pass before :meth:`end_pass`)."""
        amps = np.broadcast_to(np.asarray(amplitude, dtype=float), (self.columns,))
        quiet = self.estimator == "quiet-windows"
        shift = np.array([noise.energy_shift(float(a)) if quiet else 0 for a in amps], int)
        if np.array_equal(shift, self.shift):
            return False
        self.shift = shift
        self._start(self.estimator, self.length)
        return True

    def settle(self, frames: int, amplitude) -> bool:
        """Settle a selection fed in the checking pass for the signal's length (a short
        signal's window, :meth:`resize`) and largest ``|sample|`` (:meth:`rescale`);
        True when it starts afresh and needs a whole pass."""
        fresh = self.resize(frames)
        return self.rescale(amplitude) or fresh

    @property
    def done(self) -> bool:
        return all(s.done for s in self.select)

    def feed(self, block: np.ndarray, elsewhere: Callable | None = None) -> None:
        """The next rows (float64, or float32: the values widened, exactly).

        ``elsewhere(job)``, where given, is called once per feed with the work of
        the columns after the first (a callable, or None where there is none)
        before this thread does the first column's: run each job in turn in one
        other thread (every column is then fed in one thread, in order) and wait
        for the last before :meth:`end_pass`; ``block`` must stay unchanged."""
        elsewhere = _inline if elsewhere is None else elsewhere
        if self.done:
            elsewhere(None)
            return
        block = block.reshape(block.shape[0], -1)
        if self.dtype is not None and block.dtype != self.dtype:
            elsewhere(None)  # (the cast is kept for the next block: nothing shared)
            elsewhere = _inline
            cast = self._scratch.get("block", block.shape, self.dtype)
            np.copyto(cast, block)
            block = cast
        if self.estimator == "quiet-windows":
            self._feed_windows(block, elsewhere)
            return
        elsewhere(None)
        block = block.astype(np.float64, copy=False)
        if self._carry is not None:
            block = np.concatenate([self._carry, block])
            self._carry = None
        if block.shape[0] % 2:
            self._carry = block[-1:].copy()
            block = block[:-1]
        if not block.shape[0]:
            return
        for c, s in enumerate(self.select):
            if not s.done:
                # a column's details at a time: contiguous, in a kept array
                w = self._scratch.get("w", (block.shape[0] // 2,), np.float64)
                haar_details(block[:, c], out=w)
                s.feed(np.abs(w, out=w))

    def _feed_windows(self, block: np.ndarray, elsewhere: Callable) -> None:
        """The energies of the windows completed by ``block`` after the rows carried from
        the block before: the windows that start in the carried rows from a short join
        of those with the block's first rows, the others from the block itself (no copy
        of the block); the rows that do not complete a window (and the three that the
        next window's differences need) are carried to the next block."""
        length, carry, self._carry = self.length, self._carry, None
        r = 0 if carry is None else carry.shape[0]
        k = max(0, (r + block.shape[0] - 3) // length)  # windows of the joined rows
        if k * length < r:  # the carry holds the next window's start: joined rows wait
            self._carry = np.concatenate([carry[k * length :], block]).astype(block.dtype)
        else:
            self._carry = np.array(block[k * length - r :], dtype=block.dtype)
        if not k:
            elsewhere(None)
            return
        head = min(k, -(-r // length))  # windows starting in the carried rows
        parts = []
        if head:  # their rows: the carried ones and the block's first
            parts.append(np.concatenate([carry, block[: head * length + 3 - r]]))
        if k > head:  # the others, rows of the block itself
            parts.append(block[head * length - r : k * length + 3 - r])
        for i, used in enumerate(parts):
            if self.shift.any():  # (float32 rows widened first: the compiled loop widens them)
                used = np.ldexp(used.astype(np.float64, copy=False), -self.shift[None, :])
            parts[i] = used
        columns = [c for c, s in enumerate(self.select) if not s.done]
        elsewhere(partial(self._feed_columns, parts, columns[1:]) if columns[1:] else None)
        self._feed_columns(parts, columns[:1])

    def _feed_columns(self, parts: list, columns: list) -> None:
        """Feed the window energies of ``parts`` (rows, see :meth:`_feed_windows`) of
        these columns to their selections."""
        for c in columns:
            first = not self.select[c].passes  # the first pass counts the digital silence
            if first:
                pairs = [noise.counted_energies(used, c, self.length) for used in parts]
                got = [e for e, _ in pairs]
                self._nonzero[c] += sum(n for _, n in pairs)
            else:
                got = [noise.column_energies(used, c, self.length) for used in parts]
            energies = got[0] if len(got) == 1 else np.concatenate(got)
            if first:
                self._exact[c] += int(np.count_nonzero(energies == 0.0))
            self.select[c].feed(energies)

    def end_pass(self) -> None:
        self._carry = None
        for c, s in enumerate(self.select):
            if self.estimator == "quiet-windows" and not s.passes:  # digital silence
                s.skip = noise.silent_count(self._exact[c], s.count, self._nonzero[c], self.length)
            if not s.done:
                s.end_pass()

    def sigma(self, columns: Iterable[int] | None = None) -> np.ndarray:
        """``estimate_noise`` of the columns (all by default), shape ``(channels,)``."""
        picked = list(range(len(self.select)) if columns is None else columns)
        if self.estimator == "quiet-windows":
            selects = [self.select[c] for c in picked]
            sigma = np.array(
                [
                    noise.sigma_from_energy(s.quantile, self.length, s.count - s.skip)
                    for s in selects
                ]
            )
            shift = self.shift[list(picked)]
            return np.ldexp(sigma, shift) if shift.any() else sigma
        medians = np.array([self.select[c].median for c in picked])
        return medians / MAD_FACTOR

    def keep(self, columns: Iterable[int]) -> None:
        """Forget every column but these (in this order)."""
        columns = list(columns)
        self.select = [self.select[c] for c in columns]
        self._exact = [self._exact[c] for c in columns]
        self._nonzero = [self._nonzero[c] for c in columns]
        self.shift = self.shift[columns]
        self.columns = len(self.select)


# --------------------------------------------------------------------------
# A checking pass
# --------------------------------------------------------------------------


def _inline(job: Callable | None) -> None:
    """:meth:`NoiseSelect.feed`'s ``elsewhere`` by default: the job done at once."""
    if job is not None:
        job()


class Scan:
    """The checking pass's statistics of every column: range and noise histograms.

    ``noise64`` selects the noise level of the values (float64), which plans and
    reports use in every working ``dtype``, as a run read whole does (the report
    measures against the file's values, also in float32).  ``report`` False: a run
    that measures nothing (``StreamedRun.filter(measure=False)`` only).
    """

    def __init__(self, report: bool = True):
        self.report = report
        self.rows = 0
        self.lo = self.hi = None
        self.noise64: NoiseSelect | None = None
        self._scratch = Scratch()

    def visit(self, block: np.ndarray, behind=None) -> None:
        """The next block (unchanged until the pass ends); ``behind`` (a
        :class:`resdenoise.sink.Behind` of :meth:`finish`): its extremes and the
        selection of the columns after the first are taken there, in order, while
        the caller selects the first's."""
        if self.noise64 is None:
            width = block.shape[1]
            self.lo = np.full(width, np.inf)
            self.hi = np.full(width, -np.inf)
            self.noise64 = NoiseSelect(width)
        self.rows += block.shape[0]
        if behind is None:
            self.visit_range(block)
            self.noise64.feed(block)
        else:
            self.noise64.feed(block, lambda job: behind.put((block, job)))

    def finish(self, item: tuple) -> None:
        """``(block, job)`` handed to ``behind`` by :meth:`visit`: the block's extremes,
        then the job (the later columns' selection, or None)."""
        block, job = item
        self.visit_range(block)
        if job is not None:
            job()

    def visit_range(self, block: np.ndarray) -> None:
        """The extremes of the next block (after :meth:`visit` has seen the first)."""
        if block.shape[0] and not self._range_compiled(block):
            # reductions along contiguous rows, of the values as float64
            rows = self._scratch.rows("rows", block, np.float64)
            self.lo = np.fmin(self.lo, rows.min(axis=1))
            self.hi = np.fmax(self.hi, rows.max(axis=1))

    def _range_compiled(self, block: np.ndarray) -> bool:
        """The block's extremes by the compiled walk over its rows (no transposed copy);
        False (nothing done) where it does not apply, or where NumPy's reduction must
        decide: a NaN (the block's extreme is NaN, which fmin skips) or a zero extreme
        (which of 0.0 and -0.0 it gives is NumPy's choice)."""
        module = quiet_windows._compiled()  # the compiled module, where it is built
        fits = block.ndim == 2 and block.dtype in (np.float64, np.float32)
        fits = fits and block.flags.c_contiguous
        if not (fits and 1 <= block.shape[1] <= 16 and hasattr(module, "columns_range")):
            return False
        got = module.columns_range(block)
        if any(nan or lo == 0.0 or hi == 0.0 for lo, hi, nan in got):
            return False
        np.fmin(self.lo, [lo for lo, _, _ in got], out=self.lo)
        np.fmax(self.hi, [hi for _, hi, _ in got], out=self.hi)
        return True
