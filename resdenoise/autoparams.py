"""Data-driven stopping times: how many diffusion blocks to run, without a clean signal.

Every command of resdenoise is ``m`` blocks of the one engine, so ``--time
auto``, ``--alpha auto``, ``--iterations auto`` and ``--blocks auto`` are one
question: which ``m``?  :func:`choose_steps` runs
:func:`resdenoise.engine.run_blocks` once, watches a criterion after each
block through the engine's callback, and stops the search once the best block
lies far behind.  NumPy only.

Rules
-----
``sure`` (the default)
    Stein's unbiased risk estimate of the mean squared error for Gaussian
    white noise of level sigma (per channel, given or estimated by
    :func:`resdenoise.noise.estimate_noise`),
    ``SURE(u) = |f - u|^2/N - sigma^2 + 2 sigma^2 div(u)/N``.  The divergence
    of the filter is the Monte-Carlo estimate of Ramani, Blu and Unser (2008):
    ``div ~ b . (u(f + eps b) - u(f)) / eps`` with one seeded Gaussian probe
    ``b``, computed by running the probe as extra channels in the same engine
    call.  The step is ``eps = sigma/2``, not infinitesimal: for the
    nonconvex families (Perona-Malik, garrote, hard) at small lambda the
    filter is nearly discontinuous and an infinitesimal step misses the jumps
    (measured on the Donoho-Johnstone signals: eps = sigma/1000 picked
    Perona-Malik runs up to 3x worse than the oracle, sigma/2 within 10 %);
    for linear filters the estimate does not depend on eps.
``decorrelation``
    Mrazek and Navara (2003): stop where ``|corr(u, f - u)|`` is smallest.
``noise2self``
    A J-invariant self-supervised loss (Batson and Royer 2019): for each of
    ``S`` interleaved sample sets J, replace f on J by the mean of its two
    neighbours, filter, and compare the output on J with f on J; the sum over
    the sets estimates the MSE plus a constant.

When lambda is automatic as well, :func:`choose_parameters` repeats the search
for lambda = universal threshold x 2^(-k/2), k = 0, 1, ..., 16, and keeps the
pair with the smallest criterion.  With ``sure`` every search includes
doing nothing (zero blocks, risk sigma^2); when that wins, or the expected
gain is below :data:`MIN_GAIN_DB`, the choice says so (:meth:`AutoChoice.warnings`).

When it fails
-------------
SURE assumes additive Gaussian white noise of one level per channel.  It
under-smooths coloured noise (the finest-scale MAD sees only part of it) and
is unreliable for impulsive or signal-dependent noise; a signal with strong
content at the finest scale inflates the MAD estimate and is over-smoothed.
One stopping time serves all channels (the criterion is summed).  Signals of
fewer than a few hundred samples give noisy estimates.

What the search costs
---------------------
A search runs twice the channels (signal and probe).  It stops at the first of:
``4 m + 20`` blocks (``m`` the best so far); a plateau, where SURE over blocks
``[k/4, k]`` changes by less than one standard error of the change (batch
means over :data:`resdenoise.sure.SE_CHUNKS` contiguous chunks: only flatness within SURE's
noise stops it, never a rise, so a local minimum followed by a deeper one is
searched through); ``max_blocks`` (``search_reached_cap``).  All lambda
candidates together run at most :data:`SEARCH_BUDGET` ``x max_blocks`` blocks
(no limit where every search is exhaustive).  A search of at most :data:`EXHAUSTIVE_BUDGET` sample-blocks runs to its cap.

A long signal's lambda search (:func:`choose_parameters` with ``sure``) runs on
windows of it (:func:`sample_windows`: seeded, stratified by activity, weighted,
halos run but not scored, for :data:`WINDOW_REACH` blocks or the cap) side by side as
channels of one engine call (the first two candidates at once, on two threads), with a horizon of
:data:`WINDOW_HORIZON` ``m + 20`` and a lower SURE within one paired standard
error counted as a tie; the chosen lambda's block count is then settled on the
whole signal by SURE (:data:`REFINE_RATIO`, :data:`REFINE_HORIZON`): its
residual term from the run of the whole signal, whose run at that count is also
the plan's output (``StoppingChoice.output``), its divergence term from a probe
run on about half of the samples (:class:`resdenoise.sure.ProbeWindows`,
:data:`REFINE_REACH`); its gain over doing nothing is the do-no-harm test's
(``AutoChoice.tested``).  The windows' search, and the refine's probe where it runs
on the whole signal, run about zero in float32 where the signal's spread fits
(:func:`resdenoise.sure.float32_shift`: rounding far below SURE's own noise, at 0.35-0.45
of float64's cost per block); the plan's output is float64.
"""

from __future__ import annotations

import bisect
import functools
import math
import threading
from dataclasses import dataclass, replace

import numpy as np

from . import stability
from .engine import StackRun, backend_for, takes_threads
from .errors import ParameterError, check_count, check_signal
from .noise import resolve_sigma
from .nonlinearities import Nonlinearity, get_nonlinearity
from .pairs import helping, in_parallel
from .report import level_name
from .stopping import StoppingChoice, search_phase
from .stopping_rules import DEFAULT_RULE, RULES
from .sure import (
    PROBE_SEED,
    SE_CHUNKS,
    BatchResiduals,
    PastReach,
    ProbeWindows,
    ScoredWindows,
    SureParts,
    WholeProbe,
    batches,
    chunk_bounds,
    clearly_lower,
    float32_shift,
    gain_from_sums,
    gain_sums,
    probe_eps,
    sure_stack,
)

__all__ = [
    "DEFAULT_RULE",
    "LAMBDA_FACTORS",
    "MAX_BLOCKS",
    "RULES",
    "AutoChoice",
    "StoppingChoice",
    "choose_parameters",
    "choose_steps",
    "masked_copy",
]


#: SURE must fall this much (relative) below doing nothing for a filter to be chosen:
#: the Monte-Carlo estimate has noise of its own.
MIN_IMPROVEMENT = 0.01
#: A search of at most this many sample-blocks (values x blocks) runs to its cap.
EXHAUSTIVE_BUDGET = 1 << 27
#: Interleaved sample sets of the noise2self rule.
MASK_SETS = 4
#: The most blocks one search runs (``search_reached_cap`` when it stops there).
MAX_BLOCKS = 20000
#: A stopping search ends at block k once ``k >= HORIZON x best + PATIENCE``.
HORIZON = 4.0
PATIENCE = 20
#: The plateau rule looks back over blocks ``[k / PLATEAU_SPAN, k]`` (two doublings) ...
PLATEAU_SPAN = 4.0
#: ... once at least this many blocks ran ...
PLATEAU_MIN_BLOCKS = 40
#: ... and stops when every change of SURE over that range is within this many standard errors.
PLATEAU_Z = 1.0


@functools.lru_cache(maxsize=32)
def _checkpoints(max_blocks: int, ratio: float = 1.02, dense: int = 50) -> np.ndarray:
    """Every block up to ``dense``, then a geometric grid (2 % apart) up to max_blocks
    (read-only: made once per arguments, for every search that asks)."""
    ks = set(range(1, min(max_blocks, dense) + 1))
    k = float(dense)
    while k < max_blocks:
        k *= ratio
        ks.add(min(max_blocks, int(round(k))))
    ks.add(max_blocks)
    grid = np.array(sorted(ks))
    grid.flags.writeable = False
    return grid


def on_plateau(blocks, parts, span: float | None = None, z: float | None = None) -> bool:
    """True when SURE is flat within its noise over blocks ``[k / span, k]``, k = blocks[-1].

    ``parts[i]`` are the per-chunk contributions (:func:`resdenoise.sure.sure_parts`) at ``blocks[i]``.
    Flat means: for every checkpoint i in the range, the change ``SURE(k) - SURE(i)``
    is within ``z`` batch-means standard errors of that change (the chunks' spread of
    the paired differences, ``sqrt(B) std_j(d_j)``).  Only flatness stops the search:
    a rise, however clear, is not a plateau, so a local minimum followed by a deeper
    one is searched through.
    """
    span = PLATEAU_SPAN if span is None else span
    z = PLATEAU_Z if z is None else z
    k = blocks[-1]
    if k < PLATEAU_MIN_BLOCKS or blocks[0] > k / span:
        return False
    start = bisect.bisect_right(blocks, k / span) - 1  # the last checkpoint <= k / span
    d = np.asarray(parts[-1])[None, :] - np.asarray(parts[start:-1])
    chunks = d.shape[1]
    if chunks < 2:
        return False
    # d.var(axis=1, ddof=1) as NumPy computes it, its sum the change (without var's layers)
    change = np.add.reduce(d, axis=1, keepdims=True)
    x = np.square(d - change / chunks)
    se = np.sqrt(chunks * (np.add.reduce(x, axis=1) / (chunks - 1)))
    return bool(np.all(np.abs(change[:, 0]) <= z * se))


def masked_copy(f: np.ndarray, offset: int, sets: int) -> np.ndarray:
    """f with samples ``offset, offset + sets, ...`` replaced by their neighbours' mean."""
    g = f.copy()
    idx = np.arange(offset, f.shape[0], sets)
    left = f[np.maximum(idx - 1, 0)]
    right = f[np.minimum(idx + 1, f.shape[0] - 1)]
    left = np.where((idx == 0)[:, None], right, left)
    right = np.where((idx == f.shape[0] - 1)[:, None], left, right)
    g[idx] = 0.5 * (left + right)
    return g


def choose_steps(
    f: np.ndarray,
    phi,
    tau: float,
    h: float = 1.0,
    rule: str = DEFAULT_RULE,
    max_blocks: int | None = None,
    sigma: np.ndarray | None = None,
    patience: int = PATIENCE,
    horizon: float = HORIZON,
    progress=None,
    *,
    windows: ScoredWindows | None = None,
    checkpoints=None,
    keep: bool = False,
    probe: tuple | None = None,
) -> StoppingChoice:
    """Choose the number of blocks ``m >= 0`` by a data-driven stopping rule.

    Parameters
    ----------
    f : ndarray, shape (n,) or (n, channels)
        The noisy signal.
    phi, tau, h
        The activation, time step and grid size of the plan that will run.
    rule : {'sure', 'decorrelation', 'noise2self'}
        The criterion, see the module docstring.
    max_blocks : int, optional
        Upper limit of the search (default :data:`MAX_BLOCKS`).
    sigma : ndarray or NoiseLevel, optional
        Noise level per channel; default estimated (:func:`resdenoise.noise.resolve_sigma`).
    patience, horizon
        The search ends at block k once ``k >= horizon * best + patience``
        (``best`` the best block count so far), on a plateau of SURE
        (:func:`on_plateau`), or at ``max_blocks``.  The
        criterion can have a local minimum followed by a deeper one (SURE of
        Perona-Malik or hard shrinkage at small lambda), so a rise never
        stops the search before the horizon, and a search that costs at most :data:`EXHAUSTIVE_BUDGET`
        sample-blocks (``samples x channels x 2 x max_blocks``; 1/16 of it
        for a nonlinearity without a compiled loop) runs to ``max_blocks``
        whatever the curve does (no plateau rule either).
    progress : callable, optional
        ``progress(k, end)`` at each evaluation: k blocks run of at most
        ``end`` = ``max_blocks``; ``end`` is k when the search stops there.
    windows : ScoredWindows, optional
        ``sure`` only: score the rows ``windows.core[0]:windows.core[1]`` alone; f
        holds ``len(windows.weights)`` windows of the signal side by side as channels
        (:func:`sample_windows`), whose SURE per sample are summed with these
        weights (summing to 1: the criterion stays SURE per sample summed over
        the signal's channels); a search that would run past ``windows.reach``
        blocks raises :class:`resdenoise.sure.PastReach`.
    checkpoints : sequence of int, optional
        Evaluate the criterion at these block counts (increasing, after zero
        for ``sure``) and nowhere else, up to the horizon and with no plateau
        rule: the whole signal's SURE around a windowed search's choice.
    keep : bool
        Keep the filtered signal at the best block count (``output``).
    probe : tuple, optional
        ``sure`` only: ``(b, eps, stack)`` of :func:`resdenoise.sure.sure_stack` for ``f`` and
        ``sigma``, where the caller made it already (the candidates of a lambda
        search share one); it is not modified.

    Returns
    -------
    StoppingChoice
        One stopping time for all channels (the plan runs them together):
        the block count minimising the criterion summed over channels.

    Notes
    -----
    The search runs :func:`resdenoise.engine.run_blocks` from checkpoint to
    checkpoint on the signal and its probe (``sure``) or masked copies
    (``noise2self``) stacked as channels, evaluating the criterion at zero
    blocks (``sure``: the identity, doing nothing, is a candidate), after every block
    up to 50 and on a 2 % geometric grid beyond (beyond 20 on a 4 % grid when the
    search is not exhaustive).  The probe has a fixed
    seed, so the choice is deterministic.
    """
    if rule not in RULES:
        raise ParameterError(f"unknown stopping rule {rule!r}; choose one of {sorted(RULES)}")
    max_blocks = MAX_BLOCKS if max_blocks is None else check_count("max_blocks", max_blocks)
    f = np.asarray(f, dtype=float)
    check_signal(f)  # the library's one rule: shape, a channel, every sample finite
    f2 = f.reshape(f.shape[0], -1)
    n, c = f2.shape
    sigma = resolve_sigma(f2, sigma, search=True).sigma

    own = probe is None  # a stack made here is the search's to run in place
    if rule == "sure":
        b, eps, stack = sure_stack(f2, sigma) if own else probe
    elif rule == "noise2self":
        sets = min(MASK_SETS, n)
        stack = np.concatenate([masked_copy(f2, j, sets) for j in range(sets)], axis=1)
    else:
        stack = f2

    scored_windows, windows = windows, 1 if windows is None else len(windows.weights)
    lo, hi = (0, n) if scored_windows is None or rule != "sure" else scored_windows.core
    reach = math.inf if scored_windows is None else scored_windows.reach
    bounds = lo + chunk_bounds(hi - lo, max(2, SE_CHUNKS // windows))
    parts: list[np.ndarray] = []  # SURE's per-chunk contributions at each checkpoint

    if rule == "sure":
        sums = SureParts(f2, b, eps, sigma, bounds, windows)
        weighted = None if windows == 1 else np.asarray(scored_windows.weights)[:, None]

    def criterion(u: np.ndarray) -> float:
        if rule == "sure":
            part = sums(u)
            if weighted is not None:  # each window's parts by its weight
                part = (part.reshape(windows, -1) * weighted).ravel()
            parts.append(part)
            return float(np.sum(parts[-1]))
        if rule == "noise2self":
            loss = 0.0
            for j in range(sets):
                idx = slice(j, n, sets)
                loss += np.sum((u[idx, j * c : (j + 1) * c] - f2[idx]) ** 2)
            return float(loss / n)
        r = f2 - u
        uc = u - u.mean(axis=0)
        rc = r - r.mean(axis=0)
        den = np.sqrt(np.sum(uc**2, axis=0) * np.sum(rc**2, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):  # constant u: no correlation
            corr = np.where(den > 0, np.sum(uc * rc, axis=0) / den, 0.0)
        return float(np.sum(np.abs(corr)))

    # the identity (zero blocks) is a candidate where the criterion can judge it:
    # SURE estimates its risk (sigma^2); noise2self would judge the masked
    # interpolation instead, decorrelation has no correlation to measure.
    blocks: list[int] = [0] if rule == "sure" else []
    values: list[float] = [criterion(stack)] if rule == "sure" else []
    best_k, best = (0, values[0]) if values else (1, math.inf)
    running, done = StackRun(stack, phi, tau, h, own=own and stack is not f2), 0
    asked, held = horizon, None  # held: the stack at the best block count, where kept
    budget = EXHAUSTIVE_BUDGET if backend_for(phi) == "compiled" else EXHAUSTIVE_BUDGET >> 4
    exhaustive = stack.size * max_blocks <= budget
    if exhaustive:
        horizon = math.inf  # cheap enough: the whole curve, every minimum seen
    flat, table = False, None
    # SURE where the search is cheap on the fine grid, else less often (4 % apart beyond 20)
    if exhaustive:
        grid = _checkpoints(max_blocks)
    elif windows > 1:  # windows rank lambda (the refine settles m): 8 % apart
        grid = _checkpoints(max_blocks, 1.08, 8)
    else:
        grid = _checkpoints(max_blocks, 1.04, 20)
    if checkpoints is not None:  # these, with the horizon asked for and no plateau rule
        grid, horizon, exhaustive = np.asarray(checkpoints, dtype=int), asked, True
    for k in grid.tolist():
        if k > reach:  # the windows' halos are not wide enough for k blocks
            raise PastReach(k)
        # the engine from one checkpoint to the next: the blocks only, no callback (where
        # the stack is the best so far and is kept, the run leaves it as it is)
        u = running.advance(k - done, keep=held is not None and best_k == done)
        done = k
        value = criterion(u)
        blocks.append(k)
        values.append(value)
        if value < best:
            best, best_k = value, k
            if keep:  # the output at the best so far (and the probe's, for the gain test)
                held = u
        if rule == "sure" and not exhaustive:  # the parts as rows of one array, kept
            if table is None:
                table = np.empty((len(grid) + 1, len(parts[0])))
                table[0] = parts[0]
            table[len(parts) - 1] = parts[-1]
            flat = on_plateau(blocks, table[: len(parts)])
        stops = flat or k >= horizon * best_k + patience
        if progress is not None:  # of at most max_blocks; done where it stops
            progress(k, k if stops else max_blocks)
        if stops:
            break
    reached = done >= max_blocks and horizon * best_k + patience > done and not flat
    if flat:
        stopped_by = "plateau"
    elif exhaustive and done >= max_blocks:
        stopped_by = "whole curve"
    else:
        stopped_by = "cap" if reached else "horizon"
    if rule == "sure" and best_k and best > values[0] * (1.0 - MIN_IMPROVEMENT):
        best_k = 0  # within the estimate's noise of doing nothing: do nothing
    scored = sigma if windows == 1 else sigma.reshape(windows, -1)[0]
    kept = None if held is None or not best_k else np.array(held[:, :c])
    probed = held[:, c : 2 * c] if kept is not None and rule == "sure" and windows == 1 else None
    return StoppingChoice(
        steps=int(best_k),
        rule=rule,
        sigma=tuple(float(s) for s in scored),
        blocks=tuple(blocks),
        criterion=tuple(values),
        reached_cap=bool(reached),
        stopped_by=stopped_by,
        samples=int(hi - lo) * windows,
        best_parts=parts[blocks.index(best_k)] if parts else None,
        output=kept,
        gain_sums=None if probed is None else gain_sums(f2, kept, probed, b, eps),
    )


#: Candidate multiples of the universal lambda searched when lambda is automatic too,
#: largest first: down to 1/256, where the nonlinear filters barely act on noise.
LAMBDA_FACTORS = tuple(2.0 ** (-k / 2) for k in range(17))
#: Below this expected gain (dB, by SURE) the search warns that it barely helps.
MIN_GAIN_DB = 0.5
#: The lambda search ends after this many candidates in a row that did not improve.
LAMBDA_PATIENCE = 2
#: All lambda candidates together run at most this many times ``max_blocks`` blocks.
SEARCH_BUDGET = 2
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


def sample_windows(f2: np.ndarray, sigma: np.ndarray, max_blocks: int):
    """``(starts, length, halo, weights)`` of the windows a long signal's search runs on,
    or None (the whole signal) where they would not save enough.

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
    halo = _halo(max_blocks)
    scored = min(max(n // WINDOW_SHARE, WINDOW_SAMPLES), WINDOW_MAX)
    count = -(-scored // WINDOW_CORE)
    length = WINDOW_CORE + 2 * halo
    if count * length > WINDOW_MAX_SHARE * n:
        return None
    segs = (n - 2 * halo) // WINDOW_CORE
    cores = f2[halo : halo + segs * WINDOW_CORE].reshape(segs, WINDOW_CORE // 16, 16, -1)
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
    starts = np.array(chosen, dtype=np.intp)[order] * WINDOW_CORE
    return starts, length, halo, np.array(weights)[order]


@dataclass(frozen=True)
class AutoChoice:
    """Lambda, tau and block count chosen by :func:`choose_parameters`."""

    nl: Nonlinearity
    tau: float
    stopping: StoppingChoice
    lambda_rule: str
    candidates: tuple[dict, ...]
    noise_estimator: str = "quiet-windows"
    #: ``(gain, se)`` of the chosen plan, SURE on the whole signal minus that of doing
    #: nothing and its batch-means standard error, where a windowed search measured it
    #: (:func:`resdenoise.automatic.do_no_harm` then need not run the plan again)
    tested: tuple[float, float] | None = None
    #: the most blocks one search may run (``max_blocks``; None: not known); a search
    #: that stopped short of it at its limit found the budget of all candidates spent
    #: (SEARCH_BUDGET x cap)
    cap: int | None = None

    @property
    def steps(self) -> int:
        return self.stopping.steps

    @property
    def expected_gain_db(self) -> float | None:
        """SURE's estimate of the MSE gain over the input, in dB (None for other rules).

        Against SURE of the identity (zero blocks: ``sum sigma^2`` up to the
        Monte-Carlo probe); 0 when the identity was chosen; None when SURE of
        the chosen output is not positive (an unbiased estimate can fall below
        zero, then it says nothing about the gain: the noise level is likely
        too high for this signal).
        """
        if self.stopping.rule != "sure":
            return None
        identity = self.stopping.criterion[0]  # SURE at zero blocks, ~ sum sigma^2
        best = self.stopping.best
        if identity <= 0.0:
            return 0.0
        return None if best <= 0.0 else 10.0 * math.log10(identity / best)

    def warnings(self) -> list[str]:
        """What a user should hear: the search found nothing better than the input,
        or stopped at its cap with its best in the last half (it may fall further)."""
        s = self.stopping
        if s.reached_cap and 2 * s.steps > s.blocks_searched:
            limit, beyond = (
                (f"at its cap of {s.blocks_searched} blocks", "the cap")
                if self.cap is None or s.blocks_searched >= self.cap
                else (
                    f"at {s.blocks_searched} blocks, where the budget all lambda candidates "
                    f"share ({SEARCH_BUDGET} x the cap of {self.cap} blocks) ran out",
                    "them",
                )
            )
            return [
                f"the automatic search stopped {limit} with its best at {s.steps}, in the "
                f"last half: the criterion may still fall beyond {beyond}, so the output may "
                "be smoothed too little (give the number of blocks to go further)"
            ]
        if self.steps == 0:
            return [
                "the automatic search found nothing better than the input (SURE of every "
                "candidate >= that of doing nothing): the output is the input, 0 blocks"
            ]
        gain = self.expected_gain_db
        if gain is not None and gain < MIN_GAIN_DB:
            return [
                f"the automatic search expects little gain ({gain:.2f} dB by SURE): "
                "the output is close to the input"
            ]
        return []

    def as_dict(self) -> dict:
        """The entries this choice adds to the report's ``parameters`` (and ``warnings``,
        which :func:`resdenoise.pipeline.run_file` takes out and reports)."""
        out = {
            "noise_sigma": list(self.stopping.sigma),
            "noise_estimator": self.noise_estimator,
            "lambda_rule": self.lambda_rule,
            **self.stopping.as_dict(),
            "expected_gain_db": self.expected_gain_db,
            "candidates": [dict(c) for c in self.candidates],
        }
        notes = self.warnings()
        if notes:
            out["warnings"] = notes
        return out


class _Stopped(Exception):
    """A search beside another one that failed: it ends too."""


def _report(progress, phase: str, calls: list | None, stop, k: int, end: int) -> None:
    """A lambda candidate's progress: told, or kept in ``calls`` (a search on the helper
    thread, whose progress is told after the one beside it); it ends once ``stop`` is set."""
    if calls is None:
        progress(phase, k, end)
        return
    if stop.is_set():
        raise _Stopped
    calls.append((phase, k, end))


@helping  # the pairs below on a second thread, ended with the search
def choose_parameters(
    f: np.ndarray,
    name: str,
    form: str,
    lam: float | None = None,
    tau: float | None = None,
    h: float = 1.0,
    rule: str = DEFAULT_RULE,
    max_blocks: int | None = None,
    sigma=None,
    progress=None,
    keep: bool = False,
) -> AutoChoice:
    """Choose the number of blocks, and lambda too when it is not given.

    Parameters
    ----------
    f : ndarray, shape (n,) or (n, channels)
        The noisy signal.
    name, form
        The nonlinearity, as for :func:`resdenoise.nonlinearities.get_nonlinearity`.
    lam : float, optional
        The contrast parameter.  When omitted, the candidates are
        ``c * lambda_u`` for ``c`` in :data:`LAMBDA_FACTORS` (1, 1/sqrt2, ...,
        1/256), ``lambda_u = sqrt2 sigma sqrt(2 ln N) / h`` the universal
        threshold as a gradient, tried from the largest down until
        :data:`LAMBDA_PATIENCE` candidates in a row did not improve the
        criterion; the ``decorrelation`` rule, whose criterion is no error
        estimate, uses ``lambda_u`` alone.
    tau : float, optional
        The time step; default the sign-stable bound ``h^2 / (4 g_max)``.
    h : float
        Grid size.
    rule : {'sure', 'decorrelation', 'noise2self'}
        The stopping rule of :func:`choose_steps`.
    max_blocks : int, optional
        Upper limit of each search (default :data:`MAX_BLOCKS`); all candidates
        together run at most :data:`SEARCH_BUDGET` times as many blocks, and a
        candidate that finds the budget spent is not searched.
    sigma : float, array or NoiseLevel, optional
        The noise level (per channel) when known, or already resolved by
        :func:`resdenoise.noise.resolve_sigma`; default estimated.
    progress : callable, optional
        ``progress(phase, k, end)`` as the search runs: ``phase`` names the
        lambda candidate (``"search"``, or ``"search 2/17"``), ``k`` the
        blocks run and ``end`` the most it may run (k when it stopped).
    keep : bool
        Keep the output at the chosen blocks where a windowed search's exact
        run on the whole signal made it (``stopping.output``), for the plan to
        return instead of running again.

    Returns
    -------
    AutoChoice
        The candidate with the smallest criterion (the largest lambda among
        equal ones) and a summary of every candidate.
    """
    from .filters import auto_lambda

    if rule not in RULES:
        raise ParameterError(f"unknown stopping rule {rule!r}; choose one of {sorted(RULES)}")
    f = np.asarray(f, dtype=float)
    level = resolve_sigma(f, sigma, search=True)
    sigma, estimator = level.sigma, level_name(level)
    if lam is not None:
        lams, lambda_rule = [float(lam)], "given"
    else:
        base, info = auto_lambda(f, h, level)
        if rule == "decorrelation":
            lams, lambda_rule = [base], info["lambda_rule"]
        else:
            lams = [base * c for c in LAMBDA_FACTORS]
            lambda_rule = f"{rule} over universal x 2^(-k/2), k = 0..{len(lams) - 1}"
    best: AutoChoice | None = None
    candidates = []
    worse = 0
    cap = MAX_BLOCKS if max_blocks is None else check_count("max_blocks", max_blocks)
    left = SEARCH_BUDGET * cap  # blocks all candidates may still run together
    if 2 * f.size * cap <= EXHAUSTIVE_BUDGET:
        left = math.inf  # every search cheap and exhaustive: all candidates, as before
    searched, extra = f, {}
    f2 = f.reshape(f.shape[0], -1) if f.ndim in (1, 2) else f
    windows = sample_windows(f2, sigma, cap) if rule == "sure" and f.ndim in (1, 2) else None
    if windows is not None:  # a long signal: the windows side by side as channels
        starts, length, halo, weights = windows
        searched = np.concatenate([f2[s : s + length] for s in starts.tolist()], axis=1)
        extra = {"horizon": WINDOW_HORIZON}
        sigma = np.tile(sigma, len(starts))
    probe = None
    if rule == "sure" and (len(lams) > 1 or windows is not None):  # the same for all: once
        s2 = np.asarray(searched, dtype=float)
        s2 = s2.reshape(s2.shape[0], -1)
        sigma = resolve_sigma(s2, sigma).sigma
        shift = None if windows is None else float32_shift(s2, probe_eps(sigma))
        if shift is None:
            probe = sure_stack(s2, sigma)
        else:  # the windows about zero, in float32 (the same probe b)
            searched = s2 - shift
            b, eps, stack = sure_stack(searched, sigma)
            probe = (b, eps, stack.astype(np.float32))

    def view(reach: float):
        """The search's stack, probe and windows with halos for ``reach`` blocks: the
        windows' rows trimmed at both ends (the same probe values on the rows kept)."""
        if windows is None:
            return searched, probe, None
        trim = max(0, halo - _halo(reach))
        rows, (b, eps, stack) = slice(trim, length - trim), probe
        core = ScoredWindows((halo - trim, length - halo - trim), weights, reach if trim else cap)
        return searched[rows], (b[rows], eps, stack[rows]), core

    def search(i: int, limit: int, reach: float, calls: list | None = None):
        """Candidate i's search from windows for ``reach`` blocks, on wider ones for the
        cap where it runs further; its progress into ``calls`` where given (to replay)."""
        nl = get_nonlinearity(name, form, lams[i])
        step = tau if tau is not None else stability.default_tau(nl, h)
        report = None
        if progress is not None or calls is not None:
            phase = search_phase(i + 1, len(lams))
            report = functools.partial(_report, progress, phase, calls, stop)
        for wide in (reach, cap):
            stack, shared, scored = view(wide)
            try:
                choice = choose_steps(
                    stack, nl.phi, step, h, rule, limit, sigma, progress=report, probe=shared,
                    windows=scored, **extra,
                )  # fmt: skip
                return nl, step, choice, wide
            except PastReach:
                continue
        raise AssertionError("windows for the cap reach it")  # pragma: no cover

    ahead = None  # the next candidate's search, run beside this one's, and its progress
    stop = threading.Event()  # set where this one's search fails: the next one's ends
    reach = WINDOW_REACH  # the windows' halos, until a candidate runs further
    for i in range(len(lams)):
        if left < 1:
            break
        limit = min(cap, left)
        if ahead is not None:
            (nl, step, choice, wide), calls = ahead
            ahead = None
            if wide < reach:  # the one before widened the windows: on those, as in turn
                nl, step, choice, wide = search(i, limit, reach)
            else:
                for call in calls if progress is not None else ():
                    progress(*call)
        elif i + 1 < len(lams) and worse + 1 < LAMBDA_PATIENCE and left - limit >= cap:
            # whatever this candidate finds, the next one is searched, with the cap:
            # the two at once, the next on the helper thread (resdenoise.pairs) (the same numbers)
            calls: list = []
            now, later = in_parallel(
                functools.partial(search, i, limit, reach),
                functools.partial(search, i + 1, cap, reach, calls),
                2 * searched.size * PATIENCE,
                stop,
            )
            (nl, step, choice, wide), ahead = now, (later, calls)
        else:
            nl, step, choice, wide = search(i, limit, reach)
        reach = max(reach, wide)
        left -= choice.blocks[-1]
        candidates.append(
            {
                "lambda": nl.lam,
                "steps": choice.steps,
                "criterion": choice.best,
                "blocks_searched": choice.blocks[-1],
            }
        )
        better = best is None or choice.best < best.stopping.best
        # on a windowed search, a lower SURE within one paired standard error is a tie:
        # it does not reset the patience (a search of the whole signal goes on while
        # SURE falls: on a plateau that then falls steeply, a tie rule stops too early)
        tie_rule = windows is not None and left != math.inf and best is not None
        clear = better and (not tie_rule or clearly_lower(choice, best.stopping))
        if better:
            best = AutoChoice(nl, step, choice, lambda_rule, ())
        worse = 0 if clear else worse + 1
        if worse >= LAMBDA_PATIENCE:
            break
    if windows is None or not best.steps:
        return AutoChoice(
            best.nl, best.tau, best.stopping, lambda_rule, tuple(candidates), estimator, cap=cap
        )
    stopping, tested = _refine(f, best, h, level.sigma, cap, keep)
    return AutoChoice(
        best.nl, best.tau, stopping, lambda_rule, tuple(candidates), estimator, tested, cap
    )


#: A windowed search's block count m is settled on the whole signal (the windows are
#: a sample of it), by SURE at m x REFINE_RATIO^j from j = -7 (m / 3.6) on, and at
#: halvings below, until the first of them at REFINE_HORIZON x the best so far or
#: beyond, that is the next one past the best (the grid's rounded points are at least
#: 1.2 b - 1.1 after b, and 1.15 b <= 1.2 b - 1.1 from b = 22 on; below, one or two
#: more): the run costs the plan's blocks and a fifth more.
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


def _refine(f, best: AutoChoice, h: float, sigma: np.ndarray, cap: int, keep: bool):
    """``(stopping, (gain, se))``: SURE of the whole signal around the windowed search's
    choice (:data:`REFINE_RATIO`), its best block count, and the gain test of it."""
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


def _refine_on_windows(f2, best: AutoChoice, h: float, sigma, grid, keep: bool, whole=False):
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
