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
    ``b`` (laid on the channels as on the signal given, :mod:`resdenoise.orientation`:
    ``-f`` gets ``-b``), computed by running the probe as extra channels in the same engine
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

import functools
import math
import threading
from dataclasses import dataclass

import numpy as np

from . import stability
from .errors import ParameterError, check_blocks
from .noise import resolve_sigma
from .nonlinearities import Nonlinearity, get_nonlinearity
from .orientation import orienting, probe_orientation
from .pairs import helping, in_parallel
from .report import level_name
from .search_windows import (  # noqa: F401 (the windows' names, re-exported)
    REFINE_GROWTH,
    REFINE_HORIZON,
    REFINE_RATIO,
    REFINE_REACH,
    REFINE_WINDOWS_COST,
    WINDOW_CORE,
    WINDOW_HALO,
    WINDOW_HORIZON,
    WINDOW_MAX,
    WINDOW_MAX_SHARE,
    WINDOW_REACH,
    WINDOW_SAMPLES,
    WINDOW_SHARE,
    _halo,
    _refine,
    sample_windows,
)
from .stopping import StoppingChoice, search_phase
from .stopping_rules import DEFAULT_RULE, RULES
from .stopping_search import (  # noqa: F401 (the search's names, re-exported)
    EXHAUSTIVE_BUDGET,
    HORIZON,
    MASK_SETS,
    MAX_BLOCKS,
    MIN_IMPROVEMENT,
    PATIENCE,
    PLATEAU_MIN_BLOCKS,
    PLATEAU_SPAN,
    PLATEAU_Z,
    _checkpoints,
    choose_steps,
    masked_copy,
    on_plateau,
)
from .sure import (
    PastReach,
    ScoredWindows,
    clearly_lower,
    float32_shift,
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


#: Candidate multiples of the universal lambda searched when lambda is automatic too,
#: largest first: down to 1/256, where the nonlinear filters barely act on noise.
LAMBDA_FACTORS = tuple(2.0 ** (-k / 2) for k in range(17))
#: Below this expected gain (dB, by SURE) the search warns that it barely helps.
MIN_GAIN_DB = 0.5
#: The lambda search ends after this many candidates in a row that did not improve.
LAMBDA_PATIENCE = 2
#: All lambda candidates together run at most this many times ``max_blocks`` blocks.
SEARCH_BUDGET = 2


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
        """SURE's estimate of the MSE gain over the input, in dB (None for other rules):
        ``10 log10(sum sigma^2 / SURE of the output)``.

        SURE of the identity is exactly ``sum sigma^2`` (the README's definition, and
        the input's SURE the do-no-harm test's ``sure_change_per_sample`` is taken
        from), not the search's Monte-Carlo estimate at zero blocks, whose probe
        puts it a few per cent off (``sigma^2 (2|b|^2/N - 1)``): measured against
        the true gain on the 16 of 32 noisy signals of 512 samples where SURE of
        the output was positive, the two were as close (rms error 3.62 vs 3.64
        dB), and this one does not move with the probe's
        draw, nor does the :data:`MIN_GAIN_DB` warning judged on it.  0 when the
        identity was chosen; None when SURE of the chosen output is not positive
        (an unbiased estimate can fall below zero, then it says nothing about the
        gain: the noise level is likely too high for this signal).
        """
        if self.stopping.rule != "sure":
            return None
        identity = float(sum(s * s for s in self.stopping.sigma))  # SURE of doing nothing
        best = self.stopping.best
        if self.steps == 0 or identity <= 0.0:
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


@orienting  # every probe of the search lies as on f, the signal given
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
        Upper limit of each search (default :data:`MAX_BLOCKS`; at most
        :data:`resdenoise.errors.MAX_BLOCKS`, a run's limit); all candidates
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
    cap = MAX_BLOCKS if max_blocks is None else check_blocks("max_blocks", max_blocks)
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
        # the probe as on the signal given; on windows, each window's channels as its own
        laid = None if windows is None else probe_orientation(f2).tiled(len(starts))
        if shift is None:
            probe = sure_stack(s2, sigma, orientation=laid)
        else:  # the windows about zero, in float32 (the same probe b)
            searched = s2 - shift
            b, eps, stack = sure_stack(searched, sigma, orientation=laid)
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
