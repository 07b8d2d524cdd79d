"""One data-driven stopping search: :func:`choose_steps` runs the engine once on the
signal (and its probe or masked copies, stacked as channels), evaluates the stopping
rule at checkpoints and stops by the horizon, the plateau rule or the cap.  The rules,
and what the search costs, are described in :mod:`resdenoise.autoparams`, which
re-exports every name here.
"""

from __future__ import annotations

import bisect
import functools
import math

import numpy as np

from .engine import StackRun, backend_for
from .errors import ParameterError, check_blocks, check_signal
from .noise import resolve_sigma
from .stopping import StoppingChoice
from .stopping_rules import DEFAULT_RULE, RULES
from .sure import (
    SE_CHUNKS,
    PastReach,
    ScoredWindows,
    SureParts,
    chunk_bounds,
    gain_sums,
    sure_stack,
)

__all__ = ["choose_steps", "masked_copy", "on_plateau"]


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
#: A windowed search (the windows rank lambda; the refine settles m on the whole signal)
#: evaluates SURE after every block up to 8, then this far apart (a geometric grid): 16 %
#: instead of 8 % evaluated 30 instead of 49 times up to 200 blocks (at 1e5 samples SURE
#: and the checkpoint's engine call cost more than the blocks) and left the true MSE of
#: the choices unchanged (benchmarks/bench_auto_heldout.py against the 8 % grid: geometric
#: mean 0.9996 at 2e5 samples, worst 1.0066; 0.9987 at 1e6 (27 of its 30 cases), worst
#: 1.0045; its classes at 1e5 and other seeds 1.0002, worst 1.018).  What a check costs
#: there is the compiled sums and the plateau test, not Python: the checkpoints that
#: cannot stop the search (18 of 30 at 1e5) run and summed in one batch of compiled calls
#: took the same CPU (2.52 ms a candidate either way; the same numbers).
WINDOW_GRID = 1.16


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
        The criterion, see :mod:`resdenoise.autoparams`.
    max_blocks : int, optional
        Upper limit of the search (default :data:`MAX_BLOCKS`); at most
        :data:`resdenoise.errors.MAX_BLOCKS`, a run's limit.
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
    search is not exhaustive; beyond 8 :data:`WINDOW_GRID` apart on windows).  The probe has a fixed
    seed, so the choice is deterministic.
    """
    if rule not in RULES:
        raise ParameterError(f"unknown stopping rule {rule!r}; choose one of {sorted(RULES)}")
    max_blocks = MAX_BLOCKS if max_blocks is None else check_blocks("max_blocks", max_blocks)
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
    elif windows > 1:  # windows rank lambda (the refine settles m): 16 % apart
        grid = _checkpoints(max_blocks, WINDOW_GRID, 8)
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
