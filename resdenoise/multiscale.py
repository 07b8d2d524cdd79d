"""Several scales as diffusion blocks: dilated (strided) cascades, and ``--scales``.

``shrink --scales K`` is the exact multilevel shift-invariant Haar
shrinkage of :mod:`resdenoise.multilevel` (one additive block per
iteration, a threshold and a noise level per level; :func:`plan_scales`).
``diffuse --scales K`` and the cascade functions below (:func:`choose_cascade`,
:func:`plan_cascade`, :func:`choose_diffusion_scales`) are a *cascade*
of dilated blocks, described here.

The paper's single-scale link: one iteration of cycle-spun Haar shrinkage
with shrinkage function S is one diffusion block with ``tau = 1/4``, ``h = 1``
and flux ``Phi(d) = d - sqrt2 S(d / sqrt2)``.  At scale ``s`` (a dilation)
the differences are ``u_{i+s} - u_i``: the block
``u_i += 1/4 (Phi(u_{i+s} - u_i) - Phi(u_i - u_{i-s}))`` is exactly the
single-scale block on each of the ``s`` interleaved subsequences
``u[r::s]``, so it runs through the one engine with those subsequences as
channels (:func:`run_strided`; two engine calls, for the subsequences one
sample longer and the others).  Each block of scale ``s`` is one iteration
of shift-invariant Haar shrinkage of the s-dilated Haar wavelet (reflecting
ends per subsequence).

A multiscale plan (:class:`MultiscalePlan`) is a cascade of block groups,
one per scale ``s = 1, 2, 4, ..., 2^(K-1)``, each with its own threshold.
It is *not* the multilevel stationary wavelet transform: that shrinks the
details of the low-pass approximation at each level; these blocks shrink
dilated differences of the signal itself, one scale after the other.

Stability per scale: a group of scale ``s`` is the single-scale block on
each subsequence, with ``tau = 1/4 <= 1/(2 g_max)`` (``g_max <= 1`` for
every shrinkage of the registry), so each subsequence keeps the max-min
principle, its mean, its total variation (non-increasing) and (tau below
the sign bound) its sign changes; for the whole signal, the max-min
principle and the mean hold, total variation and sign changes are only
guaranteed per subsequence (:attr:`StabilityVerdict.whole_signal` False),
and are measured per scale in the report (``scales``).

Thresholds (:func:`choose_cascade`): scale by scale, the threshold from the
universal one ``theta_u x 2^(-k/2)``, k = 0..20, or none (the scale is
skipped), with the smallest SURE of the whole cascade so far, its
divergence by the same Monte-Carlo probe as :mod:`resdenoise.autoparams`.
NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from . import stability
from .engine import run_strided, run_strided_unchecked
from .errors import ParameterError, check_blocks, check_count
from .filters import Plan, auto_lambda, check_setting, scaled_nonlinearity
from .multilevel import (
    FACTORS,
    choose_levels,
    max_scales,
    plan_levels,
    scale_count,
    sure_state,
)
from .noise_colour import check_scales, scales_note, warn_scales
from .nonlinearities import SQRT2, get_nonlinearity
from .orientation import orienting
from .report import level_name
from .scaling import measuring_shift, scaled_search, scaled_values, times_power_of_two
from .search_windows import WINDOW_CORE, _halo, sample_windows
from .subsequences import group_entry
from .sure import sure_probe
from .wavelet import universal_threshold

__all__ = [
    "MultiscalePlan",
    "choose_cascade",
    "max_scales",
    "scales_note",
    "plan_cascade",
    "plan_scales",
    "run_strided",
]

#: The word that asks for a data-driven choice (as resdenoise.plans.AUTO).
AUTO = "auto"


@dataclass(frozen=True)
class MultiscalePlan(Plan):
    """A cascade of shrinkage block groups, one per scale: ``groups`` holds
    ``(stride, nonlinearity, blocks)``; ``steps`` counts all blocks."""

    lambdas_searched = True  # each scale's lambda is the search's (Plan.lambdas_searched)

    groups: tuple = ()

    def nonlinearities(self):
        return tuple(nl for _, nl, _ in self.groups) or (self.nl,)

    @property
    def halo(self) -> int:
        """A block of stride s moves information s samples: the sum over the groups."""
        return int(sum(stride * blocks for stride, _, blocks in self.groups))

    def verdict(self) -> stability.StabilityVerdict:
        verdicts = [stability.check_tau(nl, self.tau, self.h) for _, nl, _ in self.groups]
        if not verdicts:
            return replace(stability.check_tau(self.nl, self.tau, self.h), whole_signal=False)
        worst = min(verdicts, key=lambda v: (v.linf_stable, v.sign_stable))
        reasons = [v.reason for v in verdicts if v.reason]
        return replace(
            worst,
            linf_stable=all(v.linf_stable for v in verdicts),
            sign_stable=all(v.sign_stable for v in verdicts),
            reason="; ".join(dict.fromkeys(reasons)),
            whole_signal=all(s == 1 for s, _, _ in self.groups),
        )

    def run(self, u: np.ndarray, callback=None, threads: int | None = None) -> np.ndarray:
        done, u = self._started(u, callback, threads)  # computed, shifted, pre-staged
        if done is not None:
            return done
        done = 0
        for stride, nl, blocks in self.groups:
            u = run_strided_unchecked(u, nl, self.tau, blocks, stride)
            done += blocks
            if callback is not None:
                callback(done, u)
        return u

    def scaled(self, shift: int) -> MultiscalePlan:
        """:meth:`Plan.scaled`: each scale's lambda (threshold) too."""
        groups = tuple((s, scaled_nonlinearity(nl, shift), m) for s, nl, m in self.groups)
        params = dict(self.parameters)
        # the report's lists scaled as they are, not rebuilt from the groups: those hold only
        # the scales that run, the lists a null per scale left out (multilevel's levels all)
        for key in ("lambdas", "thresholds", "rejected_lambdas", "rejected_thresholds"):
            if key in params:  # (rejected_: a plan refused, resdenoise.filters.as_identity)
                params[key] = scaled_values(params[key], shift)
        return replace(super().scaled(shift), groups=groups, parameters=params)

    def scale_checks(self, f: np.ndarray) -> list[dict]:
        """Per scale: the stability verdict and the measured guarantees of its
        subsequences (max-min principle, total variation, sign changes:
        :func:`resdenoise.subsequences.subsequence_checks`), measured on ``f`` divided by
        a power of two (:func:`~resdenoise.scaling.measuring_shift`, exact): differences
        and sums that cannot overflow."""
        u = np.asarray(f, dtype=float)
        u = u.reshape(u.shape[0], -1)
        shift = measuring_shift(u, [nl for _, nl, _ in self.groups])
        u = np.ldexp(u, -shift) if shift else u
        out = []
        for stride, nl, blocks in self.groups:
            v = run_strided_unchecked(u, scaled_nonlinearity(nl, -shift), self.tau, blocks, stride)
            verdict = stability.check_tau(nl, self.tau, self.h)
            head = {"stride": stride, "threshold": nl.theta, "lambda": nl.lam, "blocks": blocks}
            out.append(group_entry(head, u, v, stride, blocks, verdict, f"scale {stride}"))
            u = v
        return out


def plan_diffusion_scales(name: str, lams, blocks, tau: float) -> MultiscalePlan:
    """A cascade of diffusion groups: ``lams[j]``, ``blocks[j]`` at stride ``2^j``
    (lambda None or 0 blocks: scale skipped); at most
    :data:`~resdenoise.noise_colour.MAX_SCALES` scales, and at most
    :data:`~resdenoise.errors.MAX_BLOCKS` blocks in all, else :class:`ParameterError`."""
    check_scales(len(lams), "lams")
    blocks = [check_blocks("blocks", m, minimum=0) for m in blocks]
    check_blocks("blocks", sum(blocks), minimum=0)  # the run's, of every scale
    groups = tuple(
        (2**j, get_nonlinearity(name, "diffusivity", lam), m)
        for j, (lam, m) in enumerate(zip(lams, blocks, strict=True))
        if lam is not None and m > 0
    )
    first = groups[0][1] if groups else get_nonlinearity(name, "diffusivity", 1.0)
    params = {
        "scales": len(lams),
        "lambdas": [None if lam is None else float(lam) for lam in lams],
        "blocks_per_scale": blocks,
    }
    steps = sum(g[2] for g in groups)
    return MultiscalePlan("diffuse", "diffusivity", first, tau, 1.0, steps, params, groups=groups)


def plan_cascade(name: str, thetas, blocks: int = 1) -> MultiscalePlan:
    """A cascade with threshold ``thetas[j]`` at stride ``2^j`` (None: scale skipped),
    ``blocks`` iterations at each (a whole number, 1 to
    :data:`resdenoise.filters.MAX_BLOCKS`, else :class:`ParameterError`); at most
    :data:`~resdenoise.noise_colour.MAX_SCALES` scales, else :class:`ParameterError`."""
    check_scales(len(thetas), "thetas")
    # (check_setting passes None on: check_count refuses it)
    blocks = check_setting("blocks", blocks, True, "choose_cascade's thresholds") or check_count(
        "blocks", blocks
    )
    groups = []
    for j, theta in enumerate(thetas):
        if theta is not None:
            groups.append((2**j, get_nonlinearity(name, "shrinkage", SQRT2 * theta), blocks))
    first = groups[0][1] if groups else get_nonlinearity(name, "shrinkage", 1.0)
    params = {
        "scales": len(thetas),
        "thresholds": [None if t is None else float(t) for t in thetas],
        "iterations": blocks,
    }
    return MultiscalePlan(
        "shrink",
        "shrinkage",
        first,
        0.25,
        1.0,
        blocks * len(groups),
        params,
        groups=tuple(groups),
    )


@dataclass(frozen=True)
class ScaleChoice:
    """The thresholds chosen per scale and the SURE after each scale."""

    thetas: tuple
    risks: tuple
    identity_risk: float
    sigma: tuple
    estimator: str
    #: per scale, what its search ran on where some scale's ran on windows
    #: (:func:`choose_diffusion_scales`), else empty: the whole signal at every scale
    searched_on: tuple = ()

    def as_dict(self) -> dict:
        out = {
            "noise_sigma": list(self.sigma),
            "noise_estimator": self.estimator,
            "threshold_rule": "SURE per scale over universal x 2^(-k/2), k = 0..20, or none",
            "sure_per_scale": list(self.risks),
            "expected_gain_db": (  # None where SURE of the output is not positive
                10.0 * math.log10(self.identity_risk / self.risks[-1])
                if self.risks and self.risks[-1] > 0 and self.identity_risk > 0
                else (0.0 if self.risks and self.risks[-1] > 0 else None)
            ),
        }
        if self.searched_on:
            out["searched_on_per_scale"] = list(self.searched_on)
        return out


def choose_cascade(f, name: str, scales: int | None = None, sigma=None, blocks: int = 1):
    """Thresholds per scale by SURE of the cascade (see the module docstring).

    ``scales`` None: as many as :func:`max_scales` allows (a scale that does
    not lower SURE is skipped); more than that (at most
    :data:`~resdenoise.noise_colour.MAX_SCALES`, fewer for a short signal): that many
    are used, with a :class:`.ResdenoiseWarning` saying so (the command line's note).
    Returns ``(plan, ScaleChoice)``.
    """
    from .autoparams import MIN_IMPROVEMENT

    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    n = f2.shape[0]
    warn_scales(n, scales)
    k = scale_count(n, scales)
    state, risk, level = sure_state(f2, sigma)
    sig = level.sigma
    base = universal_threshold(float(np.max(sig)), n)
    identity = current = risk(state)
    thetas, risks = [], []
    for j in range(k):
        # a scale must lower SURE by more than its noise (MIN_IMPROVEMENT) to be kept
        best, best_theta, best_state = current * (1.0 - MIN_IMPROVEMENT), None, state
        for factor in FACTORS if base > 0 else ():
            nl = get_nonlinearity(name, "shrinkage", SQRT2 * base * factor)
            trial = run_strided_unchecked(state, nl, 0.25, blocks, 2**j)
            value = risk(trial)
            if value < best:
                best, best_theta, best_state = value, base * factor, trial
        if best_theta is None:
            best = current
        thetas.append(best_theta)
        risks.append(best)
        state, current = best_state, best
    plan = plan_cascade(name, thetas, blocks)
    choice = ScaleChoice(
        tuple(thetas), tuple(risks), identity, tuple(map(float, sig)), level_name(level)
    )
    return plan, choice


#: The most blocks of one diffusion scale the search tries.
MAX_SCALE_BLOCKS = 2000
#: A cascade of diffusion scales of a signal this long or longer searches each scale
#: on windows of it (:func:`scale_windows`) where they take at most
#: :data:`resdenoise.search_windows.WINDOW_MAX_SHARE` of the signal; shorter: the
#: whole signal at every scale.
CASCADE_WINDOWS_FROM = 1 << 16
#: Where a scale's search ran on the whole signal (the report's ``searched_on_per_scale``).
WHOLE_SIGNAL = "the whole signal"


def choose_diffusion_scales(f, name: str, scales: int | None = None, sigma=None, lam=None):
    """Diffusion over several scales: per scale, lambda (universal x 2^(-k/2), k even,
    0..16, or ``lam`` given) and the number of blocks (on the checkpoint grid of
    :mod:`resdenoise.autoparams`, up to :data:`MAX_SCALE_BLOCKS`, stopping at
    8 best + 20) with the smallest SURE of the cascade; a scale that does not
    lower SURE by MIN_IMPROVEMENT is skipped.  ``scales`` None: as many as
    :func:`max_scales` allows; more than that: that many, with a :class:`.ResdenoiseWarning`
    saying so (as :func:`choose_cascade`).  Returns ``(plan, ScaleChoice)``.

    A signal of :data:`CASCADE_WINDOWS_FROM` samples or more searches each scale on
    windows of the cascade's state where they are small enough (:func:`scale_windows`;
    else on the whole signal); the lambda and blocks chosen there run on the whole
    signal, and are kept where they lower the whole signal's SURE by MIN_IMPROVEMENT
    (else the scale is skipped).  ``sure_per_scale`` is the whole signal's SURE."""
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    warn_scales(f2.shape[0], scales)
    windowed = f2.shape[0] >= CASCADE_WINDOWS_FROM
    return _diffusion_scales(f2, name, scales, sigma, lam, scale_windows if windowed else None)


def _diffusion_scales(f2, name: str, scales, sigma, lam, windows_for):
    """:func:`choose_diffusion_scales`' search; ``windows_for(f2, sigma, stride)``: the
    windows each scale searches on (None: the whole signal), or None: the whole signal
    at every scale."""
    from .autoparams import MIN_IMPROVEMENT

    n = f2.shape[0]
    k = scale_count(n, scales)
    state, risk, level = sure_state(f2, sigma)
    sig = level.sigma
    if lam is None:  # universal; 1 % of the range for a noise level of 0
        lams = [auto_lambda(f2, 1.0, sig)[0] * c for c in FACTORS[::2]]
    else:
        lams = [float(lam)]
    tau = stability.default_tau(get_nonlinearity(name, "diffusivity", lams[0]))
    identity = current = risk(state)
    chosen, blocks, risks, searched = [], [], [], []
    search = partial(_search_scale, name=name, lams=lams, tau=tau)
    probe = None if windows_for is None else sure_probe(f2, sig)  # one draw for every scale
    for j in range(k):
        windows = None if windows_for is None else windows_for(f2, sig, 2**j)
        if windows is None:
            best, pick, _ = search(state, risk, 2**j, current * (1.0 - MIN_IMPROVEMENT))
            searched.append(WHOLE_SIGNAL)
        else:  # ranked on windows; run on the whole signal, and kept where it gains there
            on, risk_on, said = _scale_windows_state(state, f2, sig, 2**j, windows, probe)
            _, pick, tried = search(on, risk_on, 1, risk_on(on) * (1.0 - MIN_IMPROVEMENT))
            searched.append(said)
            best, found = current * (1.0 - MIN_IMPROVEMENT), (None, 0, state)
            # the windows' lambda and its neighbours (windows rank lambda with the noise of a
            # sample; the blocks settled on the whole signal); where the windows found none
            # below doing nothing, the last (smallest) lambda only
            if pick[0] is None:
                near = lams[-1:]
            else:
                i = lams.index(pick[0])
                near = lams[max(i - 1, 0) : i + 2]
            for value_lam in near:
                best, found = _refine_scale(
                    state, risk, 2**j, (best, found), name, (value_lam, tried[value_lam]), tau
                )
            pick = found
        if pick[0] is None:
            best, pick = current, (None, 0, state)
        chosen.append(pick[0])
        blocks.append(pick[1])
        risks.append(best)
        state, current = pick[2], best
    plan = plan_diffusion_scales(name, chosen, blocks, tau)
    choice = ScaleChoice(
        tuple(chosen), tuple(risks), identity, tuple(map(float, sig)), level_name(level),
        tuple(searched) if any(s != WHOLE_SIGNAL for s in searched) else (),
    )  # fmt: skip
    return plan, choice


def _search_scale(state, risk, stride: int, best: float, name: str, lams, tau: float):
    """One scale's search: ``(best, (lambda, blocks, output), tried)`` with the smallest
    ``risk`` below ``best`` over ``lams`` and the checkpoints up to
    :data:`MAX_SCALE_BLOCKS` (stopping at 8 best + 20), or ``(best, (None, 0, state),
    tried)``; ``tried``: each lambda's blocks of its smallest risk."""
    from .autoparams import _checkpoints

    pick, tried = (None, 0, state), {}
    for value_lam in lams:
        nl = get_nonlinearity(name, "diffusivity", value_lam)
        u, done, best_k, least = state, 0, 0, math.inf
        for m in _checkpoints(MAX_SCALE_BLOCKS).tolist():
            u = run_strided_unchecked(u, nl, tau, m - done, stride)
            done = m
            value = risk(u)
            if value < least:
                least, tried[value_lam] = value, m
            if value < best:
                best, pick, best_k = value, (value_lam, m, u), m
            if m >= 8 * best_k + 20:
                break
    return best, pick, tried


#: A scale searched on windows settles its blocks on the whole signal, with the lambda
#: chosen there: SURE at every block up to 8, then SCALE_REFINE_RATIO apart, until the first
#: checkpoint at SCALE_REFINE_HORIZON x the larger of the windows' blocks and the best so far.
SCALE_REFINE_RATIO = 1.2
SCALE_REFINE_HORIZON = 1.2


def _refine_scale(state, risk, stride: int, so_far, name: str, pick, tau: float):
    """The blocks at lambda ``pick[0]`` (the windows' best at it: ``pick[1]`` blocks) with
    the smallest whole-signal ``risk`` below ``so_far``'s ``(best, (lambda, blocks,
    output))``: that pair, or ``so_far`` where none is below."""
    from .autoparams import _checkpoints

    best, found = so_far
    nl = get_nonlinearity(name, "diffusivity", pick[0])
    u, done, best_k = state, 0, 0
    for m in _checkpoints(MAX_SCALE_BLOCKS, SCALE_REFINE_RATIO, 8).tolist():
        u = run_strided_unchecked(u, nl, tau, m - done, stride)
        done = m
        value = risk(u)
        if value < best:
            best, found, best_k = value, (pick[0], m, u), m
        if m >= SCALE_REFINE_HORIZON * max(best_k, pick[1]):
            break
    return best, found


def scale_windows(f2, sigma, stride: int):
    """The windows (:func:`resdenoise.search_windows.sample_windows`: seeded, stratified
    by activity, weighted) the cascade's scale of stride ``stride`` searches on, or None
    (the whole signal: they would take more than a quarter of it).  A block of stride s
    is the single-scale block on each subsequence of every s-th sample, so the halo is
    that of :data:`MAX_SCALE_BLOCKS` blocks in subsequence samples, s times as many
    samples; the cores (scored) at least twice the halo, multiples of s and 16."""
    halo = _halo(MAX_SCALE_BLOCKS) * stride
    unit = max(16, stride)
    core = -(-max(WINDOW_CORE, 2 * halo) // unit) * unit
    return sample_windows(f2, sigma, MAX_SCALE_BLOCKS, core=core, halo=halo)


def _scale_windows_state(state, f2, sig, stride: int, windows, probe=None):
    """``(stack, risk, said)``: the windows of the cascade's ``state`` (signal and probe,
    :func:`resdenoise.multilevel.sure_state`'s) as channels of one stride-1 run, each
    window's subsequences of every ``stride``-th sample apart; ``risk`` of such a stack,
    SURE per sample over the windows' cores, weighted (an estimate of the whole
    signal's); and what the report says of them.  ``probe``: ``sure_probe(f2, sig)``
    drawn already (None: drawn here)."""
    starts, length, halo, weights = windows
    count, c = len(starts), f2.shape[1]
    rows, h = length // stride, halo // stride
    cut = slice(h, rows - h)
    idx = starts[:, None] + np.arange(length)[None, :]

    def laid(x):  # (samples, k) -> (rows, windows x stride x k): one channel per subsequence
        return x[idx].reshape(count, rows, stride, -1).transpose(1, 0, 2, 3).reshape(rows, -1)

    b, eps = sure_probe(f2, sig) if probe is None else probe  # the probe of sure_state's stack
    shape = (rows - 2 * h, count, stride, c)
    f_core, b_core = laid(f2)[cut].reshape(shape), laid(b)[cut].reshape(shape)
    scored = (rows - 2 * h) * stride
    s2 = np.square(sig)

    def risk(u):
        core = u[cut].reshape(rows - 2 * h, count, stride, 2, c)
        uf, up = core[..., 0, :], core[..., 1, :]
        res = np.sum(np.square(f_core - uf), axis=(0, 2))  # (windows, channels)
        div = np.sum(b_core * (up - uf), axis=(0, 2)) / eps
        return float(np.sum(weights[:, None] * (res / scored - s2 + 2 * s2 * div / scored)))

    said = f"{count} windows of {length} samples ({scored} scored each)"
    return laid(state), risk, said


@orienting  # every probe of the searches lies as on u, the signal given
def plan_scales(
    u,
    name,
    lam,
    settings: dict,
    rule=None,
    sigma=None,
    command="shrink",
    shift=0,
    *,
    in_range=False,
):
    """``shrink`` with ``scales``: the plan maker's ``(plan, extra)``.

    ``shrink``: ``scales`` K: K-level shift-invariant Haar shrinkage
    (:mod:`resdenoise.multilevel`), thresholds given (``lam``: the same at
    every level) or chosen by SURE per level; ``"auto"``: the single-scale
    automatic shrink (:func:`resdenoise.autoparams.choose_parameters`) and
    every level, whichever SURE expects better.  ``diffuse``: the cascade of
    this module.  Needs the samples (a
    streamed file is refused by the summary, which says so).  ``shift``: ``u`` is the
    signal divided by ``2**shift`` (:func:`resdenoise.scaling.scaled_search`), as the
    choice's reason says its SURE numbers.  A search (thresholds or blocks chosen by
    SURE) of samples whose squares would over- or underflow runs as the planner's, by
    :func:`resdenoise.scaling.scaled_search` (``lam`` and ``sigma`` divided with them,
    the plan and report multiplied back); ``in_range``: the samples are in
    :data:`resdenoise.scaling.LEVEL_RANGE` already (the planner's own ``scaled_search``
    brought them there), not looked at again.
    """
    if not isinstance(name, str):
        raise ParameterError(
            "scales needs a registry shrinkage, not a formula", parameters=["scales"]
        )
    if rule not in (None, "sure"):
        raise ParameterError("scales chooses its thresholds by SURE only", parameters=["scales"])
    u = np.asarray(u)  # a library caller's summary refuses here (the planner refused it first)
    search = partial(_scales_plan, name=name, settings=settings, command=command)
    if in_range or (lam is not None and command != "diffuse"):  # in range, or nothing searched
        return search(u, shift=shift, lam=lam, sigma=sigma)
    return scaled_search(search, u, shift, lam=lam, sigma=sigma)


def _scales_plan(u, name, lam, settings: dict, sigma, command: str, shift: int):
    """:func:`plan_scales` of the samples as they are."""
    scales = settings["scales"]
    if command == "diffuse":
        return _diffuse_scales(u, name, lam, scales, sigma, shift)
    iterations = settings.get("iterations", 1)  # counts checked, never truncated (2.5: 2)
    iterations = 1 if iterations == AUTO else check_count("iterations", iterations)
    if lam is not None:
        k = scale_count(len(u), None if scales == AUTO else scales)
        plan = plan_levels(name, [lam / SQRT2] * k, iterations)
        return plan, {"threshold_rule": "given, at every level"}
    if scales != AUTO:  # capped: the planner says so in its own note (scales_note)
        plan, choice = choose_levels(u, name, scale_count(len(u), scales), sigma, iterations)
        return plan, choice.as_dict()
    from .autoparams import choose_parameters
    from .filters import as_identity, plan_shrink

    single = choose_parameters(u, name, "shrinkage", tau=0.25, sigma=sigma)
    plan, choice = choose_levels(u, name, None, sigma)
    better, reason = _scales_choice(choice, single, shift)
    left, out = _leaves(plan, u, settings.get("bounds"), shift) if better else (False, None)
    if better and not left:
        plan = plan if out is None else plan.with_output(u, out)  # run once, not again
        return plan, {**choice.as_dict(), "scales_choice": reason}
    one = plan_shrink(single.nl, max(single.steps, 1))
    if single.steps == 0:  # nothing helps: the input itself
        one = as_identity(one)
    extra = {**single.as_dict(), "scales_choice": reason}
    if left:  # said, never clipped
        lo, hi = settings["bounds"]
        note = (
            f"the scales' output leaves {lo:g} .. {hi:g}, the range the output file holds: "
            "one scale is used"
        )
        extra["scales_choice"] = f"{reason}; {note}"
        extra["warnings"] = [*extra.get("warnings", []), note]
    return one, extra


def _leaves(plan, u, bounds, shift: int) -> tuple[bool, np.ndarray | None]:
    """Whether ``plan``'s output on ``u`` (the samples divided by ``2**shift``) leaves
    ``bounds`` (of the samples; None: any), and that output (None where not run)."""
    if bounds is None:
        return False, None
    lo, hi = (math.ldexp(float(b), -shift) for b in bounds)
    if not (float(np.min(u)) >= lo and float(np.max(u)) <= hi):  # the input does not fit
        return False, None
    out = plan.run(np.asarray(u, dtype=float))
    return not (float(np.min(out)) >= lo and float(np.max(out)) <= hi), out


def _scales_choice(choice, single, shift: int) -> tuple[bool, str]:
    """Whether the search of several scales (``choice``) expects less than that of one
    (``single``, :func:`resdenoise.autoparams.choose_parameters`'), and the reason with
    their SURE numbers (of the signal ``2**shift`` times the samples searched)."""
    multi = choice.risks[-1] if choice.risks else math.inf
    best = single.stopping.best
    said = [f"{times_power_of_two(x, 2 * shift):.6g}" for x in (multi, best)]
    if multi < best:
        return True, f"SURE {said[0]} (scales) < {said[1]} (one scale)"
    return False, f"SURE {said[1]} (one scale) <= {said[0]} (scales)"


def _diffuse_scales(u, name, lam, scales, sigma, shift=0):
    """``diffuse`` with ``scales``: K scales, or ``auto``: the cascade or one scale by SURE."""
    k = None if scales == AUTO else scale_count(len(u), scales)  # capped: the planner's note
    plan, choice = choose_diffusion_scales(u, name, k, sigma, lam)
    extra = {**choice.as_dict(), "threshold_rule": "SURE per scale: lambda and blocks"}
    if scales != AUTO:
        return plan, extra
    from .autoparams import choose_parameters
    from .filters import as_identity, plan_diffuse

    single = choose_parameters(u, name, "diffusivity", lam, sigma=sigma)
    better, reason = _scales_choice(choice, single, shift)
    if better:
        return plan, {**extra, "scales_choice": reason}
    one = plan_diffuse(single.nl, steps=max(single.steps, 1), tau=single.tau)
    if single.steps == 0:
        one = as_identity(one)
    return one, {**single.as_dict(), "scales_choice": reason}
