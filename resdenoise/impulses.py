"""Impulsive noise: detect isolated outliers and replace them, keeping the max-min principle.

A robust pre-stage for the automatic modes (Hampel's identifier).  NumPy only.

Detection, per channel: the residual ``r = f - med_7(f)`` of a running
median over 7 samples (reflecting ends) and its robust scale ``s``, the
larger of the whole signal's scale (:func:`whole_scale`) and ``median|r|``
over the 17 samples around (so that loud oscillating content is measured
against itself).  The whole signal's scale is ``median|r|``, but at least
:data:`TIES` times the median of the residuals that are not exactly 0: where
the samples run monotonically through their windows (an hourly series whose
daily cycle outruns the noise) or repeat (quantised data, counts), the
running median returns the sample itself and ``r`` is exactly 0 whatever the
noise; over half such zeros made ``median|r|`` 0 and silenced the detector (in
46 of the 270 noise-only and clean cases of ``benchmarks/bench_classes.py``
and ``bench_heldout_classes.py``, two seeds; and the held-out hourly
temperature's impulsive cases, 0 of 39 and 37 spikes found).  The windows the
noise does disturb carry its scale; on white noise, 1/7 of whose residuals are
0, ``median|r|`` is 0.806 times theirs, so the floor is the white-noise
``median|r|`` read from them (on 2e7 white samples it never binds).  Where the
noise disturbs no window (quantised steps whose noise rounds away), the only
nonzero residuals are lone ones, the spikes' own, and their median would hide
them: where most nonzero residuals are lone and the samples lie on a grid, the
grid's step is the scale instead (a one-step flicker scores 1).

A sample is an *impulse* when ``|r_i| > 10 s`` while its neighbours'
residuals stay below ``5 s``: a one-sample spike (a running median does not
follow it, so the neighbours are not pulled along).  The candidates (above
``10 s``) and their loud neighbours are scored again with the other candidates
set to their running median (:func:`_residual_without`): in a steep monotone
run a spike shifts its neighbours' medians by one step, which is many scales,
but without the spike they are quiet; the second sample of a two-sample
feature stays loud.  For white Gaussian noise ``|r| > 10 s`` has probability
about ``5e-7`` (measured on 2e7 samples: its 1 - 1e-6 quantile is 9.6 s); a
signal's own narrow features (edges, peaks two or more samples wide) pull
their neighbours' residuals along and are left alone.  The channel is
*impulsive* when at least :data:`MIN_IMPULSES` and more than :data:`MIN_RATE`
of its samples are impulses even at ``30 s`` (a signal's own peaks, sharpened
by noise, reach 10 s now and then, rarely 30 s: measured on the 270 noise-only
and clean cases above, the count rule alone fired in 6, all heel strikes of the
gait trace at 5-10 % noise, which the shape tests below turn down; 20 before the
scale's floor, with music, El Nino, chirps), and when enough of its strong
impulses do not follow the signal's shape (:func:`independent_impulses`); all
its impulses at ``10 s`` are then replaced.

Impulsive noise is independent of the signal: an impulse's sign does not
depend on the samples around it.  A signal's own sharp features that recur
(heel strikes in a gait trace, R peaks, drum and note onsets) stick out the
same way from the same surroundings.  So each impulse's surroundings (the
:data:`CONTEXT` samples on either side, impulses replaced, less their straight
line, to unit length) are multiplied by its sign, and two permutation tests
ask whether these signed shapes share a direction more than chance would give:
random signs on the same shapes (with at least :data:`FEW` impulses: below, all
of k random signs agree with probability ``2**(1 - k)`` and the test cannot
reach its level) and random places with random signs (below :data:`PLACES`
impulses).  Where either does (at :data:`SHAPE_LEVEL`), the strong impulses that
do not lean the common way are counted: impulses of random sign lean either way
alike, so twice that count estimates the impulses independent of the signal,
and the channel is impulsive only when that estimate still meets the count
rule.  Measured (the impulsive cases of both benchmarks, two seeds): of the 51
that meet the count rule every one kept its pre-stage (in the 5 where the shapes
shared a direction, speech, plucked notes, gait, EEG, 26-54 of 33-65 strong
impulses were still taken as independent); the 6 noise-only gait cases above
came to 0.  With one impulse there is nothing to compare: the count rule decides.
With two to five the tests have little power: two one-sample clicks of the tests'
synthetic drum loop at 5 % noise (its first sample and one onset) are still
called impulsive.

Replacement, in order of position: the running median, clipped to the
interval between the sample's two current neighbours (its one neighbour at
an end).  Each replacement moves a sample into the range of its neighbours,
so the maximum does not grow, the minimum does not fall, and neither the
total variation nor the number of sign changes grows: the pre-stage keeps
the guarantees the diffusion blocks give (the report measures them on the
whole run, pre-stage included).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .pairs import in_parallel

__all__ = [
    "ImpulseStage",
    "detect_impulses",
    "find_impulses",
    "hampel_stage",
    "impulse_scores",
    "impulses_from",
    "independent_impulses",
    "median_of",
    "median_residual",
    "running_median",
    "whole_scale",
    "with_impulses",
]

#: Half width of the running median (window 2 * HALF + 1).
HALF = 3
#: Half width of the window of the local scale.
LOCAL = 8
#: An impulse's residual exceeds this many robust scales ``s`` (module docstring) ...
THRESHOLD = 10.0
#: ... while its neighbours' stay below this many.
NEIGHBOUR = 5.0
#: A channel is impulsive with at least this many impulses beyond STRONG scales ...
STRONG = 30.0
#: ... (at least this many) ...
MIN_IMPULSES = 2
#: ... making up more than this share of its samples; and, when the noise level is
#: known, their median replacement moves a sample by more than this many noise levels.
MIN_RATE = 2e-4
NOISE_LEVELS = 10.0
#: Samples on either side of an impulse that make up its surroundings (its shape) ...
CONTEXT = 8
#: ... the sign flips of the permutation test on the signed shapes (a fixed seed: the
#: same decision every run) and its level.
FLIPS = 999
SHAPE_LEVEL = 0.05
#: Below this many impulses the flip test cannot reach SHAPE_LEVEL (all of k signs agree
#: with probability 2**(1 - k)): their signed shapes are held against random places'.
FEW = 6
#: Below this many, the signed shapes are held against random places' too (either test
#: rejecting is enough); above, the flip test alone (its power grows with the count).
PLACES = 64


#: The whole signal's scale is at least this share of the median of the residuals that
#: are not exactly 0 (:func:`whole_scale`; white noise: 0.81, its 1/7 exact zeros left out).
TIES = 0.8
#: The grid step of quantised data is looked for among the smallest difference divided by
#: 1 to this many (:func:`_grid_step`).
GRID_DIVISORS = 12


#: Rows a running median takes at a time (its columns stay in the cache).
MEDIAN_ROWS = 1 << 13


@functools.cache
def _median_network(width: int) -> tuple[tuple[int, int], ...]:
    """Compare-exchanges ``(i, j)``, i < j (the smaller value to i), after which
    position ``width // 2`` holds the median of ``width`` values: Batcher's odd-even
    merge sort of the next power of two, without the exchanges beyond ``width``
    (those wires would hold +inf, which never moves) and pruned to the exchanges
    that reach the middle (14 of 16 for 7 values, 70 of 85 for 17)."""
    p = 1 << (width - 1).bit_length()
    net = []
    size = 1
    while size < p:
        k = size
        while k >= 1:
            for j in range(k % size, p - k, 2 * k):
                for i in range(min(k, p - j - k)):
                    if (i + j) // (2 * size) == (i + j + k) // (2 * size) and i + j + k < width:
                        net.append((i + j, i + j + k))
            k //= 2
        size *= 2
    need, kept = {width // 2}, []
    for a, b in reversed(net):
        if a in need or b in need:
            kept.append((a, b))
            need |= {a, b}
    return tuple(reversed(kept))


def running_median(x: np.ndarray, half: int = HALF) -> np.ndarray:
    """Median of ``x[i - half : i + half + 1]`` along axis 0, reflecting ends (1D or 2D).

    By a selection network (:func:`_median_network`) on the window's shifted
    copies, :data:`MEDIAN_ROWS` rows at a time: the same values as
    ``np.median`` over a sliding window view, 5-20x faster (that sorts each
    window on its own).
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    half = min(half, n - 1)
    if half < 1:
        return x.copy()
    pad = [(half, half)] + [(0, 0)] * (x.ndim - 1)
    padded = np.pad(x, pad, mode="reflect")
    width = 2 * half + 1
    net = _median_network(width)
    out = np.empty_like(x)
    for lo in range(0, n, MEDIAN_ROWS):
        hi = min(n, lo + MEDIAN_ROWS)
        cols = [padded[lo + j : hi + j].copy() for j in range(width)]
        low = np.empty_like(cols[0])
        for a, b in net:
            np.minimum(cols[a], cols[b], out=low)
            np.maximum(cols[a], cols[b], out=cols[b])
            cols[a], low = low, cols[a]
        out[lo:hi] = cols[width // 2]
    return out


@functools.cache
def _compiled():
    """The compiled module's ``median_residual``, or None where it was not built."""
    try:
        from . import _kernels
    except ImportError:
        return None
    return getattr(_kernels, "median_residual", None)


def median_residual(x: np.ndarray, half: int = HALF) -> np.ndarray:
    """``|x - running_median(x, half)|`` of a 1D signal, bit for bit: in the compiled loop
    where it is built (the same selection network on 256 rows at a time, in the cache;
    4x faster), with NumPy where ``x`` holds a NaN (NumPy's minimum
    and maximum propagate it) or the loop is not built."""
    x = np.ascontiguousarray(x, dtype=float)
    half = min(half, x.shape[0] - 1)
    loop = _compiled()
    if loop is not None and 1 <= half <= 8:
        out = np.empty_like(x)
        net = np.array(_median_network(2 * half + 1), dtype=np.intc).reshape(-1)
        if loop(x, half, net, out):
            return out
    return np.abs(x - running_median(x, half))


def median_of(r: np.ndarray) -> np.floating:
    """``np.median(r)`` of a 1D array, bit for bit, 10-20x faster: a partition at the middle
    rank alone, and for an even count the largest value below it, their mean as
    ``np.median`` takes it (``np.median`` partitions at both middle ranks and at the last,
    to find a NaN, which is several times slower).  With a NaN: ``np.median`` itself."""
    r = np.asarray(r, dtype=float)
    n = r.shape[0]
    if n == 0:
        return np.median(r)
    k = n // 2
    part = np.partition(r, k)
    if np.isnan(part[k:]).any():  # NaN sorts last: any is at or after the middle rank
        return np.median(r)
    if n % 2:
        return part[k]
    return np.mean(np.array([part[:k].max(), part[k]]))


def impulse_scores(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(score, isolated)`` of a 1D signal: each sample's residual from the running
    median in robust scales (the candidates' above :data:`THRESHOLD` and their loud
    neighbours' taken again without the other candidates: :func:`_residual_without`),
    and whether both its neighbours' stay below :data:`NEIGHBOUR` (see the module
    docstring); the impulses at a threshold ``t`` are ``(score > t) & isolated``
    (:func:`impulses_from`)."""
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    if n < 2 * HALF + 1:
        return np.zeros(n), np.zeros(n, dtype=bool)
    r = median_residual(x)
    whole = whole_scale(r, x)
    if not whole > 0.0:
        return np.zeros(n), np.zeros(n, dtype=bool)
    scale = np.maximum(whole, running_median(r, LOCAL))
    score = r / scale
    candidate = score > THRESHOLD
    again = _again(candidate, ~(score < NEIGHBOUR))
    score[again] = _residual_without(x, candidate, again) / scale[again]
    return score, _isolated(~(score < NEIGHBOUR))


def _impulse_masks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(impulses at THRESHOLD, impulses at STRONG)`` of a 1D signal: those of
    :func:`impulse_scores`, the same masks, with the local scale computed only where a
    score can reach :data:`NEIGHBOUR` (the thresholds are above it).  The scale is at
    least ``M``, the whole signal's (:func:`whole_scale`), so a score is at most ``r / M``
    (rounding is monotone): elsewhere it is quiet, no impulse and no candidate's neighbour
    taken again, and there the local median is not needed."""
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    none = np.zeros(n, dtype=bool)
    if n < 2 * HALF + 1:
        return none, none
    r = median_residual(x)
    whole = whole_scale(r, x)
    if not whole > 0.0:
        return none, none
    maybe = np.flatnonzero(r / whole >= NEIGHBOUR)
    half = min(LOCAL, n - 1)
    idx = _reflected(maybe[:, None] + np.arange(-half, half + 1), n)
    local = np.median(r[idx], axis=1) if maybe.size else np.zeros(0)
    scale = np.maximum(whole, local)
    score = r[maybe] / scale
    loud = np.zeros(n, dtype=bool)  # not quiet (a NaN score is not quiet either)
    loud[maybe[~(score < NEIGHBOUR)]] = True
    candidate = none.copy()
    candidate[maybe[score > THRESHOLD]] = True
    again = _again(candidate, loud)  # all in maybe (loud)
    k = np.searchsorted(maybe, again)
    score[k] = _residual_without(x, candidate, again) / scale[k]
    loud[:] = False
    loud[maybe[~(score < NEIGHBOUR)]] = True
    isolated = _isolated(loud)
    masks = []
    for threshold in (THRESHOLD, STRONG):
        mask = none.copy()
        mask[maybe[score > threshold]] = True
        masks.append(mask & isolated)
    return masks[0], masks[1]


def whole_scale(r: np.ndarray, x: np.ndarray | None = None) -> np.floating:
    """The whole signal's robust scale of the residuals ``r`` (of the samples ``x``):
    ``median|r|``, and at least :data:`TIES` times the median of the residuals that are
    not exactly 0 (see the module docstring: where the samples run monotonically through
    their windows or repeat, most residuals are 0 whatever the noise, and ``median|r|`` is
    0); NaN where ``r`` holds one.  Where most nonzero residuals are lone (both
    neighbours' 0: the running median reproduces every sample but a few isolated ones,
    whose own sizes that median would be) and ``x`` lies on a grid, the grid's step
    (:func:`_grid_step`) instead."""
    whole = median_of(r)
    moved = r > 0.0
    if not moved.any() or np.isnan(whole):
        return whole
    lone = moved & ~np.concatenate([[False], moved[:-1]]) & ~np.concatenate([moved[1:], [False]])
    step = (
        _grid_step(x)
        if x is not None and 2 * np.count_nonzero(lone) > np.count_nonzero(moved)
        else None
    )
    return max(whole, TIES * median_of(r[moved]) if step is None else step)


def _grid_step(x: np.ndarray) -> float | None:
    """The step ``q`` of the grid the samples ``x`` lie on (quantised data): the largest of
    ``d / k``, ``d`` the smallest nonzero difference of consecutive samples and ``k`` 1 to
    :data:`GRID_DIVISORS`, of which every difference is a whole multiple (to 1e-6); or None."""
    d = np.abs(np.diff(x))
    d = d[(d > 0.0) & np.isfinite(d)]
    if not d.size:
        return None
    for k in range(1, GRID_DIVISORS + 1):
        q = float(d.min()) / k
        m = d / q
        if np.all(np.abs(m - np.round(m)) <= 1e-6 * np.maximum(m, 1.0)):
            return q
    return None


def _isolated(loud: np.ndarray) -> np.ndarray:
    """Whether each sample's neighbours (its one neighbour at an end) are not ``loud``."""
    return ~np.concatenate([[False], loud[:-1]]) & ~np.concatenate([loud[1:], [False]])


def _again(candidate: np.ndarray, loud: np.ndarray) -> np.ndarray:
    """The positions of the candidates and of the ``loud`` samples next to one: those
    whose residual is taken again without the (other) candidates (:func:`_residual_without`)."""
    near = candidate.copy()
    near[1:] |= candidate[:-1]
    near[:-1] |= candidate[1:]
    return np.flatnonzero(candidate | (near & loud))


def _residual_without(x: np.ndarray, candidate: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per position ``j`` of ``at``: ``|x_j - m_j|``, ``m_j`` the median of ``j``'s window
    (reflecting ends, as :func:`running_median`) in ``x`` with the other samples of the
    boolean mask ``candidate`` set to their running median (of ``x``).  A sample loud only
    because a spike next to it shifts its median is quiet without the spike; the second
    sample of a two-sample feature stays as loud (its own value is kept)."""
    n = x.shape[0]
    if not at.size:
        return np.zeros(0)
    off = np.arange(-min(HALF, n - 1), min(HALF, n - 1) + 1)
    where = np.flatnonzero(candidate)
    y = x.copy()
    y[where] = np.median(x[_reflected(where[:, None] + off, n)], axis=1)
    idx = _reflected(at[:, None] + off, n)
    window = np.where(idx == at[:, None], x[at][:, None], y[idx])
    return np.abs(x[at] - np.median(window, axis=1))


def impulses_from(scores: tuple[np.ndarray, np.ndarray], threshold: float = THRESHOLD):
    """The impulse mask at ``threshold`` from :func:`impulse_scores`."""
    score, isolated = scores
    return (score > threshold) & isolated


def detect_impulses(x: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Boolean mask of the impulses of a 1D signal (see the module docstring)."""
    return impulses_from(impulse_scores(x), threshold)


def _reflected(idx: np.ndarray, n: int) -> np.ndarray:
    """Sample indices ``idx`` of a signal of ``n`` samples with its ends reflected, as
    :func:`running_median` pads (``-1`` is ``1``, ``n`` is ``n - 2``)."""
    idx = np.abs(idx)
    return np.where(idx > n - 1, 2 * (n - 1) - idx, idx)


def _median_at(x: np.ndarray, i: int) -> float:
    """:func:`running_median` of ``x`` at sample ``i`` alone (reflecting ends)."""
    half = min(HALF, x.shape[0] - 1)
    return float(np.median(x[_reflected(np.arange(i - half, i + half + 1), x.shape[0])]))


def _replace(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``x`` with the samples of ``mask`` (a boolean mask or positions) replaced, in
    order, by the running median clipped to their current neighbours."""
    y = x.copy()
    n = y.shape[0]
    where = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask, int)
    for i in where:
        nb = [y[j] for j in (i - 1, i + 1) if 0 <= j < n]
        y[i] = min(max(_median_at(x, i), min(nb)), max(nb))
    return y


@dataclass(frozen=True)
class ImpulseStage:
    """The pre-stage of a plan: which channels it cleans, and what it found.

    ``positions`` holds, per channel, the impulses found in the signal the
    stage was made for (empty for a channel that is not impulsive): the stage
    applies to that signal (the one its plan runs on), which is detected once.
    """

    channels: tuple[bool, ...]
    impulses: tuple[int, ...]
    positions: tuple[tuple[int, ...], ...] = ()
    frames: int = 0

    @property
    def active(self) -> bool:
        return any(self.channels)

    def apply(self, u: np.ndarray) -> np.ndarray:
        """The signal with the impulses of the impulsive channels replaced (u's shape)."""
        u = np.asarray(u)
        if not self.active:
            return u
        if u.shape[0] != self.frames:
            raise ValueError(
                f"the impulse pre-stage was made for {self.frames} samples, not {u.shape[0]}"
            )
        u2 = np.array(u, dtype=float).reshape(u.shape[0], -1)
        for c, on in enumerate(self.channels):
            if on:
                u2[:, c] = _replace(u2[:, c], np.array(self.positions[c], dtype=int))
        return u2.reshape(u.shape).astype(u.dtype, copy=False)

    def as_dict(self) -> dict:
        return {
            "impulses_detected": list(self.impulses),
            "impulse_prestage": (
                f"hampel (running median of {2 * HALF + 1}, {THRESHOLD:g} robust scales, "
                "clipped to the neighbours)"
                if self.active
                else "none (no impulsive channel)"
            ),
        }


def find_impulses(u: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per channel of ``u`` (shape ``(n,)`` or ``(n, channels)``), the positions of its
    impulses at :data:`THRESHOLD` and of those at :data:`STRONG`: what
    :func:`hampel_stage` decides from (it needs no noise level)."""
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    return [
        tuple(np.flatnonzero(mask) for mask in _impulse_masks(u2[:, c])) for c in range(u2.shape[1])
    ]


#: The impulse check's cost per sample in the engine's blocks (about 20 compiled blocks:
#: the running median's residual, its median and the local scales), for
#: :func:`with_impulses`' hand-over to the helper thread.
CHECK_BLOCKS = 20


def with_impulses(first: Callable, u: np.ndarray):
    """``(first(), find_impulses(u))``: the impulse check on the helper thread of a
    :func:`resdenoise.pairs.helping` scope while ``first`` (the noise level, which
    :func:`hampel_stage` decides with) runs here, where it is worth it
    (:func:`resdenoise.pairs.in_parallel`); the same results either way."""
    return in_parallel(first, functools.partial(find_impulses, u), CHECK_BLOCKS * np.size(u))


def _enough(count: int, n: int) -> bool:
    """Whether ``count`` strong impulses in ``n`` samples make a channel impulsive."""
    return count >= MIN_IMPULSES and count > MIN_RATE * n


def _signed_shapes(x: np.ndarray, found: np.ndarray, cleaned: np.ndarray) -> np.ndarray:
    """Per impulse of ``found`` (rows): its sign times its surroundings in ``cleaned`` (``x``
    with the impulses replaced; :data:`CONTEXT` samples each side, the sample itself left
    out, reflecting ends) less their least-squares straight line, to unit length (zero
    where nothing is left).  The sample and its replacement are left out, so for an
    impulse of random sign the sign is independent of the shape."""
    n = x.shape[0]
    half = min(HALF, n - 1)  # the running median at the impulses alone (as _median_at)
    idx = _reflected(found[:, None] + np.arange(-half, half + 1), n)
    sign = np.sign(x[found] - np.median(x[idx], axis=1))
    return _shapes(cleaned, found) * sign[:, None]


def _shapes(cleaned: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per position of ``at`` (rows): the :data:`CONTEXT` samples of ``cleaned`` on either
    side (the sample itself left out, reflecting ends) less their least-squares straight
    line, to unit length (zero where nothing is left)."""
    n = cleaned.shape[0]
    half = min(CONTEXT, n - 1)
    off = np.concatenate([np.arange(-half, 0), np.arange(1, half + 1)])
    around = cleaned[_reflected(at[:, None] + off, n)]
    line = np.stack([np.ones(off.size), off / half], axis=1)  # orthogonal columns
    around = around - (around @ line) @ (line / np.sum(line**2, axis=0)).T
    norm = np.linalg.norm(around, axis=1)
    return around / np.where(norm > 0.0, norm, 1.0)[:, None]


def _place_p_value(cleaned: np.ndarray, k: int, observed: float) -> float:
    """The share of :data:`FLIPS` draws of ``k`` samples at random places of ``cleaned``
    with random signs (a fixed seed), the observed one counted too, whose signed shapes
    (:func:`_shapes`) sum to at least the length (squared: ``observed``) of the impulses':
    whether a few impulses' surroundings and signs agree more than random samples' do."""
    n = cleaned.shape[0]
    rng = np.random.default_rng(0)
    beyond = 0
    for lo in range(0, FLIPS, 128):  # the draws in chunks
        m = min(128, FLIPS - lo)
        at = rng.integers(0, n, (m, k))
        signs = rng.choice([-1.0, 1.0], (m, k))
        shapes = _shapes(cleaned, at.reshape(-1)).reshape(m, k, -1)
        total = np.einsum("mk,mkc->mc", signs, shapes)
        beyond += int(np.count_nonzero(np.sum(total**2, axis=1) >= observed))
    return (1 + beyond) / (1 + FLIPS)


def _flip_p_value(shapes: np.ndarray, observed: float) -> float:
    """The share of sign flips of the rows of ``shapes`` whose sum is at least as long
    (squared: ``observed``) as the unflipped one's: every flip where there are at most
    ``2 * FLIPS`` (the sum's length does not change when all signs flip: half of them),
    else :data:`FLIPS` random ones of a fixed seed, the unflipped one counted too."""
    k = shapes.shape[0]
    if 1 << (k - 1) <= 2 * FLIPS:  # exact: the first sign kept
        bits = (np.arange(1 << (k - 1))[:, None] >> np.arange(k - 1)) & 1
        flips = np.concatenate([np.ones((bits.shape[0], 1)), 1.0 - 2.0 * bits], axis=1)
        return float(np.mean(np.sum((flips @ shapes) ** 2, axis=1) >= observed * (1 - 1e-12)))
    rng = np.random.default_rng(0)
    beyond = 0
    for lo in range(0, FLIPS, 128):  # the flips in chunks (there may be many impulses)
        flips = rng.choice([-1.0, 1.0], (min(128, FLIPS - lo), k))
        beyond += int(np.count_nonzero(np.sum((flips @ shapes) ** 2, axis=1) >= observed))
    return (1 + beyond) / (1 + FLIPS)


def independent_impulses(x: np.ndarray, found, strong, cleaned=None) -> int:
    """How many of the strong impulses ``strong`` of ``x`` are taken as independent of
    the signal (the module docstring): all of them, unless the signed shapes of all
    impulses ``found`` share a direction (a sign-flip permutation test at
    :data:`SHAPE_LEVEL`, :func:`_flip_p_value`); then twice the number of strong
    impulses whose signed shape does not lean towards the sum of the others'.

    ``cleaned``: ``x`` with the impulses ``found`` replaced, where it is computed already.
    """
    x = np.asarray(x, dtype=float)
    found = np.asarray(found, dtype=int)
    strong = np.asarray(strong, dtype=int)
    if found.size < 2:
        return int(strong.size)
    if cleaned is None:
        cleaned = _replace(x, found)
    shapes = _signed_shapes(x, found, cleaned)
    total = shapes.sum(axis=0)
    observed = float(np.sum(total**2))
    flip = _flip_p_value(shapes, observed) if found.size >= FEW else 1.0
    place = _place_p_value(cleaned, found.size, observed) if found.size < PLACES else 1.0
    if min(flip, place) > SHAPE_LEVEL:
        return int(strong.size)
    mine = shapes[np.searchsorted(found, strong)]
    leaning = np.sum(mine * (total - mine), axis=1) > 0.0
    return 2 * int(np.count_nonzero(~leaning))


def hampel_stage(u: np.ndarray, sigma=None, checked=None) -> ImpulseStage:
    """Detect impulses per channel: the pre-stage to use (inactive when none is impulsive).

    Each channel's scores are computed once (those of :func:`impulse_scores`, the
    local scale only where a score can reach :data:`NEIGHBOUR`); the
    impulses at :data:`THRESHOLD` and the strong ones at :data:`STRONG` both
    come from them.  With ``sigma`` (the white noise level per channel) a
    channel is impulsive only when the median size of the replacements of
    its strong impulses is more than :data:`NOISE_LEVELS` of it: impulses
    are implausible as Gaussian noise.  Measured (the impulsive cases of
    ``benchmarks/bench_classes.py`` and ``bench_heldout_classes.py``, two seeds, the
    level the automatic choice reads): 75-144 levels in the 51 that meet the count rule;
    in the noise-only cases where the count rule alone fires (gait's heel strikes) 17-43,
    which the shape tests turn down (before the scale's floor, the count rule alone also
    fired on music, El Nino and the chirps' own peaks, 2.9-10.2 levels).

    ``checked``: :func:`find_impulses` of ``u``, where it was computed already.
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    n = u2.shape[0]
    counts, channels, positions = [], [], []
    for c, (found, strong) in enumerate(find_impulses(u2) if checked is None else checked):
        on = _enough(strong.size, n)
        if on:
            x = u2[:, c]
            y = _replace(x, found)
            if sigma is not None:
                moved = np.abs(y - x)[strong]
                level = np.broadcast_to(sigma, (u2.shape[1],))[c]
                on = bool(np.median(moved) > NOISE_LEVELS * level)
            on = on and _enough(independent_impulses(x, found, strong, y), n)
        counts.append(int(found.size))
        channels.append(on)
        positions.append(tuple(found.tolist()) if on else ())
    return ImpulseStage(tuple(channels), tuple(counts), tuple(positions), n)


#: The longest run of equal samples :func:`dropout_note` names (a logger's dropout to 0
#: lasts 2, 3, 5 samples; one sample is the pre-stage's, a longer run a flat stretch).
DROPOUT_RUN = 5
#: ... where both its neighbours lie more than this many noise levels from it,
DROPOUT_LEVELS = 30.0
#: ... and the steps beyond them are under this share of the smaller of those jumps.
DROPOUT_CALM = 0.25


def _dropouts(x: np.ndarray, sigma: float) -> list[tuple[int, int, float]]:
    """``(first, last, value)`` of each run of 2 to :data:`DROPOUT_RUN` equal samples of
    ``x`` whose neighbours on both sides lie more than :data:`DROPOUT_LEVELS` noise levels
    ``sigma`` from it, both above or both below (a dip or a bump: not a staircase's step,
    nor a flat stretch), the signal calm beyond them (:data:`DROPOUT_CALM`: not a tone's
    peak)."""
    n = x.shape[0]
    same = np.concatenate([[False], x[1:] == x[:-1], [False]])
    edges = np.flatnonzero(np.diff(same.astype(np.int8)))  # runs of equal neighbours
    first, last = edges[0::2], edges[1::2]  # samples first..last are equal
    length = last - first + 1
    keep = (length >= 2) & (length <= DROPOUT_RUN) & (first > 1) & (last < n - 2)
    first, last = first[keep], last[keep]
    value = x[first]
    before, after = x[first - 1] - value, x[last + 1] - value  # of one sign: a dip or bump
    jump = np.where(before * after > 0.0, np.minimum(np.abs(before), np.abs(after)), 0.0)
    # the signal around it goes on as if the run were not there (a tone's flat peak
    # does not: its slope grows away from the peak)
    around = np.maximum(np.abs(x[first - 1] - x[first - 2]), np.abs(x[last + 2] - x[last + 1]))
    keep = (jump > DROPOUT_LEVELS * sigma) & (around < DROPOUT_CALM * jump)
    return [(int(a), int(b), float(x[a])) for a, b in zip(first[keep], last[keep], strict=True)]


def dropout_note(u, sigma, names) -> str | None:
    """The warning, or None, where a channel of ``u`` holds runs of 2 to
    :data:`DROPOUT_RUN` equal samples far from both neighbours (:func:`_dropouts`, at its
    noise level ``sigma``): a logger's dropouts to 0, which the impulse pre-stage (one-
    sample spikes) does not take and the filter keeps (a river stage read 0.001 m where it
    was 0.82, its report promising 14 dB where the output gained 0.16).  ``names``: one
    per channel, as the messages name them (:func:`resdenoise.stability.channel_labels`)."""
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    levels = np.broadcast_to(np.asarray(sigma, dtype=float), (u2.shape[1],))
    said = []
    for c in range(u2.shape[1]):
        runs = _dropouts(u2[:, c], float(levels[c])) if levels[c] > 0.0 else []
        if runs:
            a, b, v = runs[0]
            more = f" and {len(runs) - 1} more such runs" if len(runs) > 1 else ""
            said.append(f"{names[c]}: samples {a + 1}-{b + 1} (counted from 1) read {v:g}{more}")
    if not said:
        return None
    return (
        "; ".join(said) + f": runs of 2-{DROPOUT_RUN} equal samples more than "
        f"{DROPOUT_LEVELS:g} noise levels from both neighbours (dropouts?); the impulse "
        "pre-stage takes one-sample spikes only, so they pass through the filter: fill them "
        "in (interpolate) or filter the stretches between them apart"
    )
