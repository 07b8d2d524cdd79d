"""A long signal's lambda search on windows of it, and the refine on the whole signal.

:func:`sample_windows` draws the windows (seeded, stratified by activity, weighted)
that :func:`resdenoise.autoparams.choose_parameters` searches side by side as channels;
:func:`_refine` then settles the chosen lambda's block count on the whole signal by
SURE, its divergence term from a probe run on windows (or the whole signal), and
measures the gain the do-no-harm test needs.  :mod:`resdenoise.autoparams` describes
the search and re-exports the public names here.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from .engine import StackRun, takes_threads
from .stopping import StoppingChoice
from .stopping_search import MIN_IMPROVEMENT
from .sure import (
    PROBE_SEED,
    BatchResiduals,
    ProbeWindows,
    WholeProbe,
    batches,
    gain_from_sums,
)

__all__ = ["sample_windows"]

#: A longer signal is searched on windows (:func:`sample_windows`): SURE is summed over
#: samples / WINDOW_SHARE of its samples, at least WINDOW_SAMPLES, at most WINDOW_MAX ...
WINDOW_SHARE = 32
WINDOW_SAMPLES = 1 << 13
WINDOW_MAX = 1 << 16
#: ... in windows of this many scored samples (the core) ...
WINDOW_CORE = 2048
#: ... each with a halo of WINDOW_HALO x sqrt(max_blocks) samples per side, which is
#: not scored: a stable block moves at most a diffusivity tau g <= h^2 / 2 across a
#: sample, so after m blocks the ends' influence has a spread of at most sqrt(m)
#: samples (a linear diffusion's; exactly m for the explicit scheme's stencil).
WINDOW_HALO = 4.0
#: ... (halos of WINDOW_HALO x sqrt(WINDOW_REACH) at first: a candidate whose search
#: runs past WINDOW_REACH blocks is searched again on the windows for max_blocks, and
#: so are those after it) ...
WINDOW_REACH = 512
#: ... and only where the windows take at most this share of the signal.
WINDOW_MAX_SHARE = 0.25
#: A windowed search's horizon: it ends at ``WINDOW_HORIZON x best + 20`` blocks (the
#: windows rank lambda; the refine settles the blocks on the whole signal).  1.25
#: instead of 1.5 ran 15 % fewer window blocks and changed no choice on 28 signals
#: not in the benchmarks (sensor traces at two seeds, 1e5-1e6 samples and 5-20 %
#: noise, speech, music, the four Donoho-Johnstone signals, a chirp, steps); the
#: session before measured one change in 27, for the better (Blocks at 10 %).
WINDOW_HORIZON = 1.25


def _halo(blocks: float) -> int:
    """A window's halo (samples per side) for a search of ``blocks`` blocks."""
    return int(math.ceil(WINDOW_HALO * math.sqrt(blocks)))


def sample_windows(
    f2: np.ndarray, sigma: np.ndarray, max_blocks: int, core: int | None = None, halo=None
):
    """``(starts, length, halo, weights)`` of the windows a long signal's search runs on,
    or None (the whole signal) where they would not save enough.  ``core`` (a multiple of
    16) and ``halo`` (samples per side; default :func:`_halo` of ``max_blocks``): the
    windows' scored and unscored samples (default WINDOW_CORE), for a search of wider
    reach (the cascade over scales of :mod:`resdenoise.multiscale`, whose blocks of
    stride s reach s times as far); WINDOW_CORE below stands for ``core``.

    The cores, ``[halo, length - halo)`` of windows of ``length = WINDOW_CORE +
    2 halo`` samples, are drawn from the segments of WINDOW_CORE samples that
    tile the signal (but for its first and last ``halo`` samples).  A segment
    is *active* where the variance of its means over 16 samples exceeds 4x
    what the noise alone gives (``sigma^2 / 16``; an edge, a peak, an
    oscillation), else quiet.  The two are sampled apart (stratified), the
    active ones by at least half the windows where there are enough of them
    (a few edges in a long signal decide lambda, and a plain sample misses
    them), each stratum in equal runs of segments with one drawn at random
    (seeded) from each run, so the windows spread over the signal without a
    regular grid (which aliases with a periodic one).  ``weights``: each
    window's share of the estimate, its stratum's segments over those drawn
    from it (summing to 1), so that SURE over the cores is an unbiased
    estimate of SURE over the signal.
    """
    n = f2.shape[0]
    core = WINDOW_CORE if core is None else core  # (read here: a test may set it)
    halo = _halo(max_blocks) if halo is None else halo
    scored = min(max(n // WINDOW_SHARE, WINDOW_SAMPLES), WINDOW_MAX)
    count = -(-scored // core)
    length = core + 2 * halo
    if count * length > WINDOW_MAX_SHARE * n:
        return None
    segs = (n - 2 * halo) // core
    cores = f2[halo : halo + segs * core].reshape(segs, core // 16, 16, -1)
    spread = cores.mean(axis=2).var(axis=1, ddof=1)  # (segments, channels)
    active = np.any(spread > 4.0 * np.asarray(sigma) ** 2 / 16, axis=1)
    strata = [np.flatnonzero(active), np.flatnonzero(~active)]
    take = min(len(strata[0]), max(count // 2, round(count * len(strata[0]) / segs)))
    take = max(take, count - len(strata[1]))
    rng = np.random.default_rng(PROBE_SEED)
    chosen, weights = [], []
    for stratum, k in zip(strata, (take, count - take), strict=True):
        for run in np.array_split(stratum, k) if k else ():
            chosen.append(int(run[rng.integers(len(run))]))
            weights.append(len(stratum) / (k * segs))
    order = np.argsort(chosen)
    starts = np.array(chosen, dtype=np.intp)[order] * core
    return starts, length, halo, np.array(weights)[order]


#: A windowed search's block count m is settled on the whole signal (the windows are
#: a sample of it), by SURE at m x REFINE_RATIO^j from j = -7 (m / 3.6) on, and at
#: halvings below, until the first of them at REFINE_HORIZON x the best so far or
#: beyond, that is the next one past the best (the grid's rounded points are at least
#: 1.2 b - 1.1 after b, and 1.15 b <= 1.2 b - 1.1 from b = 22 on; below, one or two
#: more): the run costs the plan's blocks and a fifth more.  The windows' own curve
#: cannot say which of these to skip: at the refine's best the windowed search's SURE
#: lay up to 18 of its paired standard errors above its minimum (speech at 1e5; 12.9 at
#: 2e5, 4.6 on steps: measured on bench_auto_heldout's classes at other seeds).
REFINE_RATIO = 1.2
REFINE_HORIZON = 1.15
#: The refine's divergence term comes from a probe run on windows only
#: (:class:`resdenoise.sure.ProbeWindows`), exact for REFINE_REACH x m blocks (a best
#: up to 1.2^2 m and the checkpoint past it), and REFINE_GROWTH x as many each time it
#: runs further (wider windows, the same probe where they overlap the old, run again);
#: where the windows would run more than REFINE_WINDOWS_COST of the signal, the
#: refine runs the probe on the whole signal (from the start; :class:`WholeProbe`, in
#: float32 where it fits, beside the whole signal's run: one thread each).
REFINE_REACH = 1.75
REFINE_WINDOWS_COST = 0.75
REFINE_GROWTH = 1.5


def _refine(f, best, h: float, sigma: np.ndarray, cap: int, keep: bool):
    """``(stopping, (gain, se))``: SURE of the whole signal around the windowed search's
    choice ``best`` (a :class:`resdenoise.autoparams.AutoChoice`) (:data:`REFINE_RATIO`),
    its best block count, and the gain test of it."""
    m, ratio = best.steps, REFINE_RATIO
    top = math.ceil(math.log(cap / m) / math.log(ratio))  # up to the cap
    low = m * ratio**-7
    below = {max(1, round(low / 2**i)) for i in range(1, int(math.log2(max(low, 1.0))) + 2)}
    grid = sorted({min(cap, max(1, round(m * ratio**j))) for j in range(-7, top + 1)} | below)
    s = best.stopping
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    exact = _refine_on_windows(f2, best, h, sigma, grid, keep)
    if exact is None:  # the whole signal's probe (float32 where it may)
        exact = _refine_on_windows(f2, best, h, sigma, grid, keep, whole=True)
    exact, tested = exact
    stopping = replace(
        exact, stopped_by=s.stopped_by, reached_cap=s.reached_cap, samples=s.samples,
        searched=max(s.blocks_searched, exact.blocks[-1]),  # the windows may stop short
    )  # fmt: skip
    return stopping, tested


def _refine_on_windows(f2, best, h: float, sigma, grid, keep: bool, whole=False):
    """:func:`_refine`'s search with the divergence from a probe on windows
    (:data:`REFINE_REACH`): ``(StoppingChoice, (gain, se))``, or None where the windows
    would not save enough or the search runs past their reach; ``whole``: from a probe
    of the whole signal instead (:class:`resdenoise.sure.WholeProbe`).  The rule of
    :func:`choose_steps` with these checkpoints: SURE at zero blocks and at each
    checkpoint, until the first at :data:`REFINE_HORIZON` x the best or beyond."""
    n, c = f2.shape
    phi, tau = best.nl.phi, best.tau
    if whole:
        windows = WholeProbe(f2, sigma, phi, tau, h)
    else:
        reach = max(grid[0], math.ceil(REFINE_REACH * best.steps))
        windows = ProbeWindows(f2, sigma, phi, tau, h, reach, limit=REFINE_WINDOWS_COST)
        if windows.cost > REFINE_WINDOWS_COST:
            return None
    s2 = 2.0 * np.square(sigma)
    total = float(np.sum(np.square(sigma)))

    def measure(u, residual):  # the gain test's sums and SURE per sample
        sums = np.stack([residual, windows.divergence(u)])
        return sums, (float(np.sum(sums[0]) + np.sum(s2 * sums[1].sum(axis=0)))) / n - total

    residuals = windows.sums if whole else BatchResiduals(f2)  # (the probe's: the same)
    sums, value = measure(f2, np.zeros((len(residuals.starts), c)))
    blocks, values = [0], [value]
    best_k, best_value, best_sums = 0, value, sums
    running, done, held = StackRun(f2, phi, tau, h), 0, None
    for k in grid:
        if k > windows.reach:  # past the windows' exact reach: wider ones
            wider = max(k, math.ceil(REFINE_GROWTH * windows.reach))
            if windows.cost_for(wider) > REFINE_WINDOWS_COST:
                return None
            windows.grow(wider, done)
            if windows.cost > REFINE_WINDOWS_COST:
                return None
        # the whole signal here and the windows' probe on the helper thread meanwhile,
        # where neither run takes the engine's threads (more threads than cores spin) or
        # the probe is the whole signal's (one thread each: smooth 1e5's refine 0.43 s
        # of CPU, 0.63 s with the two runs in turn on two threads each),
        # with the whole signal's last rows too: the two threads' rows about equal (work:
        # the windows', advance_beside adds those rows' where they go to the helper)
        alone = whole or not takes_threads(max(f2.size, windows.values), k - done)
        u, _ = running.advance_beside(
            k - done,
            functools.partial(windows.advance, k - done),
            n - (n + windows.values // c) // 2,
            keep=held is not None and best_k == done,
            work=windows.values * (k - done) if alone else None,
        )
        done = k
        sums, value = measure(u, residuals(u))
        blocks.append(k)
        values.append(value)
        if value < best_value:
            best_k, best_value, best_sums = k, value, sums
            if keep:
                held = u
        if k >= REFINE_HORIZON * best_k:
            break
    if best_k and best_value > values[0] * (1.0 - MIN_IMPROVEMENT):
        best_k = 0  # within the estimate's noise of doing nothing: do nothing
    sizes = batches(n)[1]
    parts = (np.sum(best_sums[0], axis=1) + s2 @ best_sums[1].T - total * sizes) / n
    choice = StoppingChoice(
        steps=int(best_k), rule="sure", sigma=tuple(float(x) for x in sigma),
        blocks=tuple(blocks), criterion=tuple(values), reached_cap=False,
        samples=n, best_parts=parts,
        output=None if held is None or not best_k else held,  # the run's own buffer
        gain_sums=best_sums if best_k else None,
    )  # fmt: skip
    return choice, gain_from_sums(best_sums, sigma, n)
