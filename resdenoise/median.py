"""The exact median of many non-negative floats, in passes, in bounded memory.

:class:`MedianSelect` is a radix selection on the IEEE bit patterns: the
noise estimate of a signal too long for memory (:mod:`resdenoise.stream`)
or spread over a cluster (:mod:`resdenoise.dask`, where each worker counts
its share of a pass with :meth:`MedianSelect.part` and the shares are
added with :meth:`MedianSelect.merge`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEVELS", "QUANTILE", "SELECT_LIMIT", "MedianSelect", "quantile_from", "quantile_ranks"]

#: The quantile that ``quiet-windows`` (:mod:`resdenoise.noise`) reads.
QUANTILE = 0.2


def quantile_ranks(count: int) -> tuple[int, int, float]:
    """The two ranks (0-based, of ``count`` sorted values) and the weight that
    give the ``QUANTILE`` by linear interpolation (numpy's default method)."""
    position = QUANTILE * (count - 1)
    lo = int(position // 1)
    return lo, min(lo + 1, count - 1), position - lo


def quantile_from(lo_value: float, hi_value: float, weight: float) -> float:
    """The interpolated quantile from the values at the two ranks."""
    return lo_value + (hi_value - lo_value) * weight


#: Values the selection collects per middle rank, at most.
SELECT_LIMIT = 1 << 20

_DIGIT_BITS = 16
_BINS = 1 << _DIGIT_BITS
#: Digits of a float64's bit pattern: a median takes at most this many passes.
LEVELS = 64 // _DIGIT_BITS


def _count(hist: np.ndarray, digits: np.ndarray) -> None:
    """``hist[d] += 1`` for each of ``digits`` (intp, in ``[0, len(hist))``).

    ``np.bincount`` over the digits' own range: a block of values spans a few bins
    of the 65,536, and a bincount with ``minlength`` would make, zero and add a
    whole histogram per block (0.08 ms, more than the counting of a few thousand)."""
    if not digits.size:
        return
    lo = int(digits.min())
    counts = np.bincount(digits - lo)
    hist[lo : lo + counts.size] += counts


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
            _count(self.hist, digit)


class MedianSelect:
    """The exact median of a stream of non-negative floats, in passes, in bounded memory.

    Feed every value once per pass (:meth:`feed`), then call
    :meth:`end_pass`; repeat until :attr:`done`.  :attr:`median` is then
    what ``np.median`` of all the values gives, bit for bit.  With
    ``quantile=True`` it selects the two ranks of :func:`quantile_ranks`
    instead, and :attr:`quantile` is their interpolation.

    Notes
    -----
    A radix selection on the IEEE bit patterns (which order non-negative
    floats like the floats): the first pass counts the top 16 bits of each
    value; each middle rank's bin is then collected (when it holds at most
    ``limit`` values) or counted by its next 16 bits in another pass.  After
    four digits a bin holds one distinct value, so at most four passes.

    With ``keep`` (a number of values), the first pass also keeps the values
    of a band of top digits around where the wanted ranks lie so far (all
    values while there are at most ``keep``; the band narrows to stay within
    ``keep``): when the ranks' bins turn out to be inside the band, the first
    pass settles them, exactly (the band holds every value of its bins).  A
    signal whose quiet part moves far from its start gets the passes above.
    """

    def __init__(self, limit: int = SELECT_LIMIT, quantile: bool = False, keep: int = 0):
        self.limit = int(limit)
        # the first pass's kept values: [keys arrays, kept count, band (lo, hi) or None]
        self._kept: list | None = [[], 0, None] if keep > 0 else None
        self.keep = int(keep)
        self.is_quantile = bool(quantile)
        self._ranks: tuple = ()
        self.count = 0
        #: With ``quantile=True``: how many of the smallest values to leave out of the
        #: quantile (set before the first :meth:`end_pass`; windows of digital silence,
        #: :func:`resdenoise.quiet_windows.silent_windows`, whose energies are 0).
        self.skip = 0
        self.passes = 0
        self._hist: np.ndarray | None = np.zeros(_BINS, np.int64)
        self._targets: list[list] | None = None  # [rank, level, prefix, collect, value]
        self._buckets: dict = {}
        self._values: dict[int, float] = {}
        self._shifted = np.empty(0, np.uint64)

    @property
    def done(self) -> bool:
        return self._targets is not None and all(t[4] is not None for t in self._targets)

    def feed(self, values: np.ndarray) -> None:
        """Values of this pass (any order; float64, >= 0, NaN-free for a meaningful result)."""
        keys = np.ascontiguousarray(values, dtype=np.float64).reshape(-1).view(np.uint64)
        if self._shifted.shape != keys.shape:  # kept from one feed to the next
            self._shifted = np.empty(keys.shape, np.uint64)
        shifted = self._shifted
        if self._targets is None:
            self.count += keys.size
            np.right_shift(keys, np.uint64(64 - _DIGIT_BITS), out=shifted)
            # the top digits (< 2**16) as bincount's intp: a view on 64-bit platforms
            top = shifted.view(np.int64).astype(np.intp, copy=False)
            _count(self._hist, top)
            if self._kept is not None:
                self._keep(keys, top)
            return
        for bucket in self._buckets.values():
            bucket.feed(keys, shifted)

    def _wanted(self, count: int) -> list[int]:
        if self.is_quantile:
            return sorted({r + self.skip for r in quantile_ranks(count - self.skip)[:2]})
        return sorted({(count - 1) // 2, count // 2})

    def _keep(self, keys: np.ndarray, top: np.ndarray) -> None:
        """The first pass: keep the values of the band (see the class notes)."""
        kept = self._kept
        band = kept[2]
        if band is None:
            kept[0].append(keys.copy())
        else:
            inside = (top >= band[0]) & (top <= band[1])
            kept[0].append(keys[inside])
        kept[1] += kept[0][-1].size
        if kept[1] <= self.keep:
            return
        # too many: the band of bins around the ranks so far, holding at most keep / 2
        cum = np.cumsum(self._hist)
        bins = np.searchsorted(cum, self._wanted(self.count), side="right")
        a, b = int(bins[0]), int(bins[-1])
        lo, hi = (0, _BINS - 1) if band is None else band
        if a < lo or b > hi:  # the ranks left the band: its values are not all there
            self._kept = None
            return
        held = int(cum[b] - (cum[a - 1] if a else 0))
        while True:  # widen by one bin on each side while the band holds at most keep / 2
            grow_a = a > lo and held + int(self._hist[a - 1]) <= self.keep // 2
            if grow_a:
                a -= 1
                held += int(self._hist[a])
            grow_b = b < hi and held + int(self._hist[b + 1]) <= self.keep // 2
            if grow_b:
                b += 1
                held += int(self._hist[b])
            if not (grow_a or grow_b):
                break
        if held > self.keep:  # the ranks' own bins are too full to keep
            self._kept = None
            return
        # the band's values of each piece in turn (those of the pieces joined, in their
        # order), without a joined copy of all the kept values and its digits beside it
        shift, lo_bin, hi_bin = np.uint64(64 - _DIGIT_BITS), np.uint64(a), np.uint64(b)
        pieces = []
        for piece in kept[0]:
            digits = piece >> shift
            pieces.append(piece[(digits >= lo_bin) & (digits <= hi_bin)])
        values = np.concatenate(pieces)
        self._kept = [[values], values.size, (a, b)]

    def _settle_kept(self) -> bool:
        """After the first pass: settle every target from the kept band, if it holds them."""
        kept, self._kept = self._kept, None
        if kept is None:
            return False
        a, b = (0, _BINS - 1) if kept[2] is None else kept[2]
        cum = np.cumsum(self._hist)
        bins = np.searchsorted(cum, [t[0] for t in self._targets], side="right")
        if bins.min() < a or bins.max() > b:
            return False
        below = int(cum[a - 1]) if a else 0
        values = np.concatenate(kept[0]) if kept[0] else np.zeros(0, np.uint64)
        ranks = [t[0] - below for t in self._targets]
        part = np.partition(values, ranks)
        for t, r in zip(self._targets, ranks, strict=True):
            t[4] = _key_value(int(part[r]))
        return True

    def end_pass(self) -> None:
        """Close a pass: narrow every middle rank down, or settle it."""
        self.passes += 1
        if self._targets is None:
            if self.count == 0:
                raise ValueError("no values: the median of nothing")
            if self.is_quantile:
                self._ranks = quantile_ranks(self.count - self.skip)
            self._targets = [[r, 0, 0, False, None] for r in self._wanted(self.count)]
            if self._settle_kept():
                self._hist = None
                return
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

    # ---- a pass split over workers: plan, parts, merge ---------------------

    def plan(self) -> tuple:
        """What a pass counts, for :meth:`part` (picklable): the buckets, or () at first."""
        return tuple(self._buckets) if self._targets is not None else ()

    @classmethod
    def part(cls, plan: tuple) -> MedianSelect:
        """A selection that counts one share of the pass ``plan`` (see :meth:`merge`)."""
        part = cls()  # counts only: ranks are the whole selection's business
        if plan:
            part._hist, part._targets = None, []
            part._buckets = {k: _Bucket(*k) for k in plan}
        return part

    def merge(self, part: MedianSelect) -> None:
        """Add a share of this pass, counted by :meth:`part` of :meth:`plan`."""
        if self._targets is None:
            self.count += part.count
            self._hist += part._hist
            self._kept = None  # values this selection did not see: no band to settle from
            return
        for key, bucket in part._buckets.items():
            mine = self._buckets[key]
            if mine.collect:
                mine.values.extend(bucket.values)
            else:
                mine.hist += bucket.hist

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_shifted"] = np.empty(0, np.uint64)  # the working array does not travel
        return state

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
        """With ``quantile=True``: the ``QUANTILE`` of all values, as ``quiet-windows``
        computes it on the whole signal, bit for bit."""
        if not self.done:
            raise ValueError("the quantile needs more passes")
        lo, hi, weight = self._ranks
        first = self._targets[0][4]
        second = self._targets[-1][4]  # the same target when lo == hi
        return quantile_from(first, second if hi > lo else first, weight)


def _key_value(key: int) -> float:
    return float(np.array([key], dtype=np.uint64).view(np.float64)[0])
