"""Exact order statistics and noise estimates of data fed in passes, in bounded memory.

:class:`MedianSelect` finds the exact median (or a quantile) of a stream of
non-negative floats by a radix selection on their bit patterns;
:class:`NoiseSelect` feeds it what :func:`resdenoise.noise.estimate_noise`
takes the median or quantile of, so that a file read in chunks gets the
noise estimate of the whole signal, bit for bit.  NumPy only; used by
:mod:`resdenoise.stream`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import noise
from .wavelet import MAD_FACTOR, haar_details

__all__ = ["SELECT_LIMIT", "MedianSelect", "NoiseSelect", "Scratch"]

#: Values the median selection collects per middle rank and channel, at most.
SELECT_LIMIT = 1 << 20

_DIGIT_BITS = 16
_BINS = 1 << _DIGIT_BITS
LEVELS = 64 // _DIGIT_BITS


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


class _Bucket:
    """Values whose top ``level`` digits are ``prefix``: counted by next digit, or collected."""

    def __init__(self, level: int, prefix: int, collect: bool):
        self.level, self.prefix, self.collect = level, prefix, collect
        self.hist = None if collect else np.zeros(_BINS, np.int64)
        self.values: list[np.ndarray] = []
        self.shift = np.uint64(64 - _DIGIT_BITS * level)
        self.next_shift = np.uint64(64 - _DIGIT_BITS * (level + 1))

    def feed(self, keys: np.ndarray, shifted: np.ndarray) -> None:
        """Count or collect the keys with the prefix (``shifted``: scratch of keys' shape)."""
        np.right_shift(keys, self.shift, out=shifted)
        sub = keys[shifted == np.uint64(self.prefix)]
        if not sub.size:
            return
        if self.collect:
            self.values.append(sub)
        else:
            digit = ((sub >> self.next_shift) & np.uint64(_BINS - 1)).astype(np.intp)
            self.hist += np.bincount(digit, minlength=_BINS)


class MedianSelect:
    """The exact median of a stream of non-negative floats, in passes, in bounded memory.

    Feed every value once per pass (:meth:`feed`), then call
    :meth:`end_pass`; repeat until :attr:`done`.  :attr:`median` is then
    what ``np.median`` of all the values gives, bit for bit.  With
    ``quantile=True`` it selects the two ranks of
    :func:`resdenoise.noise.quantile_ranks` instead, and :attr:`quantile`
    is ``quiet-windows``' quantile of the values, bit for bit.

    Notes
    -----
    A radix selection on the IEEE bit patterns (which order non-negative
    floats like the floats): the first pass counts the top 16 bits of each
    value; each middle rank's bin is then collected (when it holds at most
    ``limit`` values) or counted by its next 16 bits in another pass.  After
    four digits a bin holds one distinct value, so at most four passes.
    """

    def __init__(self, limit: int = SELECT_LIMIT, quantile: bool = False):
        self.limit = int(limit)
        self.is_quantile = bool(quantile)
        self._ranks: tuple = ()
        self.count = 0
        self.passes = 0
        self._hist: np.ndarray | None = np.zeros(_BINS, np.int64)
        self._targets: list[list] | None = None  # [rank, level, prefix, collect, value]
        self._buckets: dict = {}
        self._values: dict[int, float] = {}
        self._scratch = Scratch()

    @property
    def done(self) -> bool:
        return self._targets is not None and all(t[4] is not None for t in self._targets)

    def feed(self, values: np.ndarray) -> None:
        """Values of this pass (any order; float64, >= 0, NaN-free for a meaningful result)."""
        keys = np.ascontiguousarray(values, dtype=np.float64).reshape(-1).view(np.uint64)
        shifted = self._scratch.get("shifted", keys.shape, np.uint64)
        if self._targets is None:
            self.count += keys.size
            np.right_shift(keys, np.uint64(64 - _DIGIT_BITS), out=shifted)
            # the top digits (< 2**16) as bincount's intp: a view on 64-bit platforms
            top = shifted.view(np.int64).astype(np.intp, copy=False)
            self._hist += np.bincount(top, minlength=_BINS)
            return
        for bucket in self._buckets.values():
            bucket.feed(keys, shifted)

    def end_pass(self) -> None:
        """Close a pass: narrow every middle rank down, or settle it."""
        self.passes += 1
        if self._targets is None:
            if self.count == 0:
                raise ValueError("no values: the median of nothing")
            if self.is_quantile:
                self._ranks = noise.quantile_ranks(self.count)
                ranks = sorted(set(self._ranks[:2]))
            else:
                ranks = sorted({(self.count - 1) // 2, self.count // 2})
            self._targets = [[r, 0, 0, False, None] for r in ranks]
            hist, self._hist = self._hist, None
            for t in self._targets:
                self._narrow(t, hist)
        else:
            for t in self._targets:
                if t[4] is not None:
                    continue
                bucket = self._buckets[(t[1], t[2], t[3])]
                if t[3]:
                    values = np.concatenate(bucket.values) if bucket.values else np.zeros(0)
                    if t[0] >= values.size:
                        raise ValueError("the values changed between passes")
                    key = int(np.partition(values, t[0])[t[0]])
                    t[4] = _key_value(key)
                else:
                    self._narrow(t, bucket.hist)
        self._buckets = {}
        for t in self._targets:
            if t[4] is None:
                k = (t[1], t[2], t[3])
                if k not in self._buckets:
                    self._buckets[k] = _Bucket(*k)

    def _narrow(self, t: list, hist: np.ndarray) -> None:
        """Move target t one digit down using the histogram of its bucket's next digit."""
        cum = np.cumsum(hist)
        b = int(np.searchsorted(cum, t[0], side="right"))
        if b >= _BINS:
            raise ValueError("the values changed between passes")
        t[0] -= int(cum[b - 1]) if b else 0
        t[1] += 1
        t[2] = (t[2] << _DIGIT_BITS) | b
        if t[1] == LEVELS:
            t[4] = _key_value(t[2])
        else:
            t[3] = int(hist[b]) <= self.limit

    @property
    def median(self) -> float:
        if not self.done:
            raise ValueError("the median needs more passes")
        values = np.array([t[4] for t in self._targets])
        return float(values[0]) if values.size == 1 else float(np.median(values))

    @property
    def quantile(self) -> float:
        if not self.done:
            raise ValueError("the quantile needs more passes")
        lo, hi, weight = self._ranks
        first = self._targets[0][4]
        second = self._targets[-1][4]  # the same target when lo == hi
        return noise.quantile_from(first, second if hi > lo else first, weight)


def _key_value(key: int) -> float:
    return float(np.array([key], dtype=np.uint64).view(np.float64)[0])


class NoiseSelect:
    """:func:`resdenoise.noise.estimate_noise` per column, of data fed block by block
    over passes: ``mad-haar`` or ``quiet-windows``, bit for bit as on the whole signal.

    ``mad-haar``: the finest Haar details pair samples 2k and 2k+1 of the
    whole signal, so a block's odd last row waits for the next block.
    ``quiet-windows``: the window energies of :func:`resdenoise.noise.window_energies`
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
        self._start(estimator, noise.WINDOW)
        self._scratch = Scratch()

    def _start(self, estimator: str, length: int | None) -> None:
        self.estimator, self.length = estimator, length
        quiet = estimator == "quiet-windows"
        self.select = [MedianSelect(quantile=quiet) for _ in range(self.columns)]
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

    @property
    def done(self) -> bool:
        return all(s.done for s in self.select)

    def feed(self, block: np.ndarray) -> None:
        if self.done:
            return
        block = block.reshape(block.shape[0], -1)
        if self.dtype is not None:
            cast = self._scratch.get("block", block.shape, self.dtype)
            np.copyto(cast, block)
            block = cast
        if self._carry is not None:
            block = np.concatenate([self._carry, block])
            self._carry = None
        if self.estimator == "quiet-windows":
            self._feed_windows(block)
            return
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

    def _feed_windows(self, block: np.ndarray) -> None:
        k = max(0, (block.shape[0] - 3) // self.length)
        self._carry = np.array(block[k * self.length :], dtype=block.dtype)
        if not k:
            return
        used = block[: k * self.length + 3]
        for c, s in enumerate(self.select):
            if not s.done:
                column = np.ascontiguousarray(used[:, c], dtype=np.float64)
                s.feed(noise.window_energies(column, self.length))

    def end_pass(self) -> None:
        self._carry = None
        for s in self.select:
            if not s.done:
                s.end_pass()

    def sigma(self, columns: Iterable[int] | None = None) -> np.ndarray:
        """``estimate_noise`` of the columns (all by default), shape ``(channels,)``."""
        picked = range(len(self.select)) if columns is None else columns
        if self.estimator == "quiet-windows":
            selects = [self.select[c] for c in picked]
            return np.array(
                [noise.sigma_from_energy(s.quantile, self.length, s.count) for s in selects]
            )
        medians = np.array([self.select[c].median for c in picked])
        return medians / MAD_FACTOR

    def keep(self, columns: Iterable[int]) -> None:
        """Forget every column but these (in this order)."""
        self.select = [self.select[c] for c in columns]
        self.columns = len(self.select)
