"""Learning a provably stable network from data: the activations of block groups.

A learned network is ``G`` groups of ``m`` diffusion blocks of the one engine,
``u <- u + tau D- Phi_g(D+ u)``, each group with its own activation of the
parametrised family ``bumps`` (:data:`resdenoise.nonlinearities.PARAMETRISED_FAMILIES`),

.. math::

    g(r) = \\sum_k c_k b_k(|r|/\\lambda), \\qquad
    c = g_{max}\\, \\sigma(a)\\, \\mathrm{softmax}(\\theta), \\qquad
    \\lambda = e^{\\ell} \\lambda_{auto}(f),

with ``K`` bumps that are 1 at 0 and non-increasing.  Every parameter vector
``(a, theta, l)`` of a group gives ``c_k >= 0`` and ``sum c <= g_max``, so
``0 <= g <= g_max`` and the step ``tau = h^2/(4 g_max)`` is sign stable (and
L-infinity stable) for every parameter value reached during training: no
parameter vector can make an unstable network.  Gaussians give Perona-Malik
shapes (non-monotone Phi), the heavy tail Charbonnier ones (monotone Phi).
Lambda is learned as a multiple ``e^l`` of each signal's automatic lambda
(the universal threshold of :func:`resdenoise.filters.auto_lambda`), which
the network file keeps as ``lambda-scale``: the network follows the noise
level and the amplitude of the signal it filters, so it carries over from
the training signals to others.

Gradients are exact.  The forward pass is :func:`resdenoise.engine.run_blocks`
(group by group, segment by segment); the Jacobian of one block,
``I + tau D- diag(Phi'(D+ u)) D+``, is symmetric (``D- = -D+^T`` with
reflecting ends), so the backward pass is a linear diffusion with diffusivity
``Phi'(D+ u_k)`` run backwards through the blocks, and the parameters get
``-tau <D+ v, dPhi/dp (D+ u_k)>``.  The states are kept only every ``s``
blocks (``s ~ sqrt(blocks)``) and recomputed a segment at a time, so memory
is about ``2 sqrt(blocks)`` signals.

Objectives (each the mean over all values of the training signals):

``supervised``
    ``|u - clean|^2``.
``sure``
    Stein's unbiased risk estimate with the noise estimate and the seeded
    Monte-Carlo divergence of :mod:`resdenoise.autoparams` (probe ``b``,
    step ``eps = sigma/2``): the probe runs as extra channels, and the
    estimate is differentiated exactly as it stands.
``noise2self``
    The masked J-invariant loss of :mod:`resdenoise.autoparams` (four
    interleaved sample sets, each replaced by its neighbours' mean); needs no sigma.

:func:`warm_start` starts a network where the best fixed family in automatic
mode already is (its g fitted by the bumps, its block count spread over the
groups), and :func:`run_network_stopped` stops a learned network per signal
where SURE is least, as the automatic modes choose their stopping time.

The optimiser, SciPy's L-BFGS-B (extra ``resdenoise[learn]``), is imported by :func:`fit` only.
The parametrisation and the loss with its exact gradient are in :mod:`resdenoise.learn_model`
(re-exported here); this module builds the objectives, the warm start and the fit on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from ._families import bump_basis
from .autoparams import MASK_SETS, choose_parameters, masked_copy
from .errors import (
    ExtraMissing,
    ParameterError,
    check_count,
    check_signal,
    import_extra,
)
from .filters import auto_lambda, run_plan
from .learn_model import (  # noqa: F401 - re-exported: learn's names, as before the split
    AMOUNT_CLIP,
    Architecture,
    Group,
    Objective,
    initial_parameters,
    loss_and_gradient,
    loss_value,
    network_groups,
    run_network,
    run_network_at,
)
from .network import format_network, parse_network
from .network_stop import stopped_network
from .noise import resolve_sigma
from .orientation import Orientation, samples_in_rows
from .scaling import refuse_unscaled_signals
from .stopping import steady
from .sure import sure_stack

__all__ = [
    "COARSE_AMOUNTS",
    "OBJECTIVES",
    "Architecture",
    "FIXED_FAMILIES",
    "FitResult",
    "WarmStart",
    "Group",
    "LearnUnavailable",
    "Objective",
    "fit",
    "fresh_sure",
    "initial_parameters",
    "loss_and_gradient",
    "loss_value",
    "make_objective",
    "network_text",
    "chosen_per_channel",
    "joint_choice",
    "stopped_choice",
    "stopped_run",
    "stopped_sure",
    "warm_start",
    "network_groups",
    "run_network",
    "run_network_stopped",
]

#: The training objectives.
OBJECTIVES = ("supervised", "sure", "noise2self")
#: Bounds of the amount a and the shape theta: sigma(-8) = 3e-4 still has a gradient
#: (a search that reaches "filter nothing" at a bound far out cannot come back).
PARAMETER_BOUND = 8.0
#: The coarse groups' starting amounts a warm start chooses among (``scales > 1``).
COARSE_AMOUNTS = (-PARAMETER_BOUND, -4.0, -2.0, 0.0)
#: Starting amounts a tried (the same in every group); the one of least loss is the start.
START_AMOUNTS = (-6.0, -4.0, -2.0, 0.0, 2.0)
#: How far (in e-folds) a learned lambda may move from the automatic one.
LAMBDA_RANGE = 5.0
#: The fixed families a warm start chooses from, as ``(label, form, name, tau)``
#: (tau None: the sign-stable default), the automatic modes of the commands.
FIXED_FAMILIES = (
    ("diffuse", "diffusivity", "perona-malik", None),
    ("shrink", "shrinkage", "soft", 0.25),
    ("regularise", "regulariser", "charbonnier", None),
    ("resnet", "activation", "tanh", None),
    ("shrink garrote", "shrinkage", "garrote", 0.25),
)
#: Where the warm start fits the bumps to the fixed family's g: x = |r|/lambda.
WARM_GRID = np.concatenate([np.linspace(0.0, 4.0, 161), np.geomspace(4.05, 64.0, 60)])


class LearnUnavailable(ExtraMissing):
    """Learning needs SciPy, which the base install does not have (exit code 2)."""


def _optimize():
    """``scipy.optimize``; SciPy not installed: LearnUnavailable."""
    return import_extra("scipy.optimize", "learning needs SciPy", "learn", LearnUnavailable)


@dataclass(frozen=True)
class WarmStart:
    """A start where the best fixed family in automatic mode already is.

    Attributes
    ----------
    arch : Architecture
        The network's shape with ``blocks`` set so that ``groups x blocks``
        covers the family's chosen block count.
    params : ndarray
        The parameters (every group alike).
    family : str
        The label of the fixed family (:data:`FIXED_FAMILIES`) it copies.
    steps : int
        The copied choice's block count (at most ``max_blocks``).
    fit_error : float
        ``max |g_fit - g_target| / max g_target`` on :data:`WARM_GRID`.
    scores : dict
        Per family: the objective over all training signals of its best copy.
    coarse_amount : float or None
        The coarse groups' starting amount (``scales > 1``), else None.
    """

    arch: Architecture
    params: np.ndarray
    family: str
    steps: int
    fit_error: float
    scores: dict
    #: the coarse groups' starting amount a (None: one scale, no coarse group)
    coarse_amount: float | None = None

    def as_dict(self) -> dict:
        return {
            "warm_start_coarse_amount": self.coarse_amount,
            "warm_start_family": self.family,
            "warm_start_steps": self.steps,
            "warm_start_fit_error": self.fit_error,
            "warm_start_scores": dict(self.scores),
        }


def warm_start(
    noisy: Sequence[np.ndarray],
    arch: Architecture,
    clean: Sequence[np.ndarray] | None = None,
    families: Sequence[tuple] = FIXED_FAMILIES,
    max_blocks: int | None = None,
    objective: Objective | None = None,
    coarse_iterations: int = 5,
    progress: Callable[[str, int, int], object] | None = None,
    *,
    channel_axis: int | None = None,
) -> WarmStart:
    """The network that reproduces the best fixed family's automatic choice.

    Each family of ``families`` chooses lambda and its block count on each
    training signal (:func:`resdenoise.autoparams.choose_parameters`), and
    each such choice is copied into a network: its block count ``S`` spread
    over the stride-1 groups, ``blocks = ceil(S / groups)``, its lambda as the
    lambda scale (over that signal's automatic lambda), and its diffusivity
    ``g_f`` fitted by non-negative least squares in relative error,
    ``tau_L g(x) ~ tau_f g_f(x) S / (groups x blocks)`` on :data:`WARM_GRID`,
    so that each learned block takes the family's step.  The copy of least
    ``objective`` over all training signals is the start (default: the
    supervised error with ``clean``, else SURE).  Sum c <= g_max holds by the
    family's own step bound, and the bumps are what every parameter vector
    gives, so the start is as stable as any.  With ``scales > 1`` the coarse
    groups copy the family's shape and lambda, and their common starting amount
    ``a`` is chosen among :data:`COARSE_AMOUNTS` (the first nearly off: the
    fine groups alone, the family's copy) by the loss after
    ``coarse_iterations`` L-BFGS-B iterations from each (the first of equals):
    a coarse group started nearly off has ``sigma'(a) ~ 3e-4`` and training
    does not turn it on, while its starting loss is the least.  With
    ``max_blocks`` a deeper choice is copied cut to its first ``max_blocks``
    blocks (training time grows with the blocks) and competes as such.
    ``progress(phase, done, total)`` as it goes: ``done`` of ``total`` searches (a
    family on a signal; then each coarse amount), ``phase`` ``"warm start: LABEL"``
    naming the family searched (``"warm start: coarse groups"``).  ``channel_axis``: as
    :func:`make_objective`'s.
    """
    nnls = _optimize().nnls
    if objective is None:
        objective = make_objective(noisy, clean, h=arch.h, channel_axis=channel_axis)
    fs = [_two_d(f, f"signal {i + 1}", channel_axis) for i, f in enumerate(noisy)]
    pairs = [
        (label, form, name, tau, f, auto)
        for label, form, name, tau in families
        for f, auto in zip(fs, objective.lambdas, strict=True)
    ]
    coarse_groups = any(arch.stride(i) > 1 for i in range(arch.groups))
    total = len(pairs) + (len(COARSE_AMOUNTS) if coarse_groups else 0)
    choices = []
    for done, (label, form, name, tau, f, auto) in enumerate(pairs):
        tick = None
        if progress is not None:  # told again as the search goes (a bar's clock moves)
            tick = partial(steady, progress, f"warm start: {label}", done, total)
            tick()
        choice = choose_parameters(f, name, form, tau=tau, h=arch.h, progress=tick)
        choices.append((label, choice, auto))
    scores, best = {}, None
    for label, choice, auto in choices:
        steps = choice.steps if max_blocks is None else min(choice.steps, max_blocks)
        shaped, params, error = _copy_choice(choice, steps, auto, arch, nnls)
        value = loss_value(params, shaped, objective)
        scores[label] = min(scores.get(label, math.inf), value)
        if best is None or value < best[0]:
            best = (value, WarmStart(shaped, params, label, steps, error, scores))
    start = best[1]
    coarse = [start.arch.stride(i) > 1 for i in range(start.arch.groups)]
    if not any(coarse):
        if progress is not None:
            progress(f"warm start: {pairs[-1][0]}", total, total)
        return start
    tried = []  # the first of equals: nearly off, the family's copy as it is
    for done, amount in enumerate(COARSE_AMOUNTS, start=len(pairs)):
        if progress is not None:
            progress("warm start: coarse groups", done, total)
        params = start.params.reshape(start.arch.groups, start.arch.per_group).copy()
        params[coarse, 0] = amount
        params = params.ravel()
        short = fit(objective, start.arch, start=params, max_iterations=coarse_iterations)
        tried.append((short.loss, amount, params))
    if progress is not None:
        progress("warm start: coarse groups", total, total)
    _, amount, params = min(tried, key=lambda t: t[0])
    return replace(start, params=params, coarse_amount=amount)


def _copy_choice(choice, steps: int, auto: float, arch: Architecture, nnls):
    """:func:`warm_start`'s copy of one automatic choice, its first ``steps``
    blocks: ``(arch, params, fit error)``."""
    fine = [arch.stride(i) == 1 for i in range(arch.groups)]  # the family's differences
    blocks = max(1, -(-steps // sum(fine)))
    shaped = Architecture(
        arch.groups, blocks, arch.bumps, arch.g_max, arch.h, arch.learn_lambda, arch.scales
    )
    ratio = min(max(choice.nl.lam / auto, math.exp(-LAMBDA_RANGE)), math.exp(LAMBDA_RANGE))
    ell = math.log(ratio) if arch.learn_lambda else 0.0
    r = np.maximum(WARM_GRID, 1e-9) * auto * math.exp(ell)  # x in the learned lambda's units
    target = choice.nl.phi(r) / r * (choice.tau * steps / (shaped.tau * sum(fine) * blocks))
    basis = bump_basis(WARM_GRID, arch.bumps).T
    # relative error: across an edge (large x) a small g is what keeps it, for many blocks
    weight = 1.0 / np.maximum(target, 1e-6 * max(float(target.max()), 1e-300))
    c = nnls(basis * weight[:, None], target * weight)[0] if steps > 0 else np.zeros(arch.bumps)
    if c.sum() >= arch.g_max:  # only by rounding: the family's step bound gives <= g_max
        c *= arch.g_max * (1.0 - 1e-9) / c.sum()
    error = float(np.max(np.abs(basis @ c - target)) / max(np.max(np.abs(target)), 1e-300))
    p = np.empty(arch.per_group)
    amount = max(c.sum() / arch.g_max, 1e-300)
    p[0] = min(max(math.log(amount) - math.log1p(-amount), -PARAMETER_BOUND), PARAMETER_BOUND)
    with np.errstate(divide="ignore"):
        theta = np.log(c / c.max()) + PARAMETER_BOUND if c.max() > 0 else np.zeros(arch.bumps)
    p[1:-1] = np.clip(theta, -PARAMETER_BOUND, PARAMETER_BOUND)
    p[-1] = ell
    params = np.tile(p, (arch.groups, 1))
    params[np.logical_not(fine), 0] = -PARAMETER_BOUND  # coarse groups start (nearly) off
    return shaped, params.ravel(), error


# --------------------------------------------------------------------------
# Objectives: inputs to run, and the loss of their outputs with its gradient
# --------------------------------------------------------------------------


def _two_d(x, what: str, channel_axis=None) -> np.ndarray:
    x = samples_in_rows(x, channel_axis, what)[0]  # rows no more than columns: refused
    x = np.asarray(x, dtype=float)
    check_signal(x, what)  # the library's one rule (SignalError)
    return x.reshape(x.shape[0], -1)


def make_objective(
    noisy: Sequence[np.ndarray],
    clean: Sequence[np.ndarray] | None = None,
    objective: str | None = None,
    sigma: Sequence | None = None,
    seed: int = 0,
    h: float = 1.0,
    *,
    names: Sequence[str | None] | None = None,
    channel_axis: int | None = None,
) -> Objective:
    """The objective over the training signals.

    Parameters
    ----------
    noisy : sequence of ndarray
        The noisy signals, shaped ``(n,)`` or ``(n, channels)``.
    clean : sequence of ndarray, optional
        One clean signal per noisy one, same shape: supervised.
    objective : {'supervised', 'sure', 'noise2self'}, optional
        Default ``supervised`` with ``clean``, else ``sure``.
    sigma : sequence, optional
        ``sure``: the noise level per signal (a number or one per channel);
        default estimated (:func:`resdenoise.noise.resolve_sigma`).
    seed : int
        Seed of the SURE probe (an integer >= 0).
    h : float
        Grid size (of the automatic lambda).
    names : sequence, optional
        The noisy, then the clean signals' names (:func:`~.scaling.refuse_unscaled_signals`).
    channel_axis : {0, -2, 1, -1}, optional
        Where each signal's channels are, as in the one-call functions
        (:func:`resdenoise.api.diffuse`): 0 for channels in rows (``np.stack([left,
        right])``), 1 for columns; a 2-D signal with no more rows than columns is refused
        without it, never guessed.
    """
    seed = check_count("seed", seed, minimum=0)
    fs = [_two_d(f, f"signal {i + 1}", channel_axis) for i, f in enumerate(noisy)]
    if not fs:
        raise ParameterError("no training signals")
    refuse_unscaled_signals(fs, names and names[: len(fs)])
    objective = objective or ("supervised" if clean is not None else "sure")
    if objective not in OBJECTIVES:
        raise ParameterError(f"unknown objective {objective!r}; choose one of {list(OBJECTIVES)}")
    total = sum(f.size for f in fs)
    levels = [resolve_sigma(f) for f in fs]  # estimated once: lambda's and SURE's
    lambdas = tuple(auto_lambda(f, h, level)[0] for f, level in zip(fs, levels, strict=True))
    if objective == "supervised":
        if clean is None or len(clean) != len(fs):
            raise ParameterError("supervised learning needs one clean signal per noisy signal")
        cs = [_two_d(c, f"clean signal {i + 1}", channel_axis) for i, c in enumerate(clean)]
        for i, (f, c) in enumerate(zip(fs, cs, strict=True)):
            if f.shape != c.shape:
                raise ParameterError(
                    f"signal {i + 1}: noisy shape {f.shape} and clean shape {c.shape} differ"
                )
        refuse_unscaled_signals(cs, names and names[len(fs) :], "clean signal")

        def supervised(outputs):
            diffs = [u - c for u, c in zip(outputs, cs, strict=True)]
            value = sum(float(np.sum(d * d)) for d in diffs) / total
            return value, [2.0 * d / total for d in diffs]

        return Objective("supervised", tuple(fs), supervised, lambdas, h)
    if clean is not None:
        raise ParameterError(f"{objective} learns from noisy signals alone; drop the clean ones")
    if objective == "sure":
        return _sure(fs, levels if sigma is None else sigma, seed, total, (lambdas, h))
    sets = MASK_SETS
    stacks = tuple(np.concatenate([masked_copy(f, j, sets) for j in range(sets)], 1) for f in fs)

    def noise2self(outputs):
        value, grads = 0.0, []
        for u, f in zip(outputs, fs, strict=True):
            n, c = f.shape
            grad = np.zeros_like(u)
            for j in range(sets):
                d = u[j:n:sets, j * c : (j + 1) * c] - f[j:n:sets]
                value += float(np.sum(d * d))
                grad[j:n:sets, j * c : (j + 1) * c] = 2.0 * d / total
            grads.append(grad)
        return value / total, grads

    return Objective("noise2self", stacks, noise2self, lambdas, h, {"mask_sets": sets})


def _sure(fs, sigma, seed: int, total: int, lambdas) -> Objective:
    """SURE over the signals: ``|f - u|^2 - sigma^2 + 2 sigma^2 b.(u_p - u)/eps`` per value."""
    if len(sigma) != len(fs):
        raise ParameterError(f"give one sigma per signal ({len(fs)}), got {len(sigma)}")
    sigmas = [resolve_sigma(f, s).sigma for s, f in zip(sigma, fs, strict=True)]
    made = [  # each signal's probe as on itself (resdenoise.orientation)
        sure_stack(f, s, seed + i, Orientation.of(f))
        for i, (f, s) in enumerate(zip(fs, sigmas, strict=True))
    ]
    probes = [(b, eps) for b, eps, _ in made]
    stacks = tuple(stack for _, _, stack in made)

    def sure(outputs):
        value, grads = 0.0, []
        for u, f, s, (b, eps) in zip(outputs, fs, sigmas, probes, strict=True):
            c = f.shape[1]
            uf, up = u[:, :c], u[:, c:]
            r = f - uf
            weight = 2.0 * s * s / eps  # per channel
            value += float(np.sum(r * r)) - f.shape[0] * float(np.sum(s * s))
            value += float(np.sum(weight * np.sum(b * (up - uf), axis=0)))
            grads.append(np.concatenate([-2.0 * r - weight * b, weight * b], axis=1) / total)
        return value / total, grads

    info = {"noise_sigma": [[float(x) for x in s] for s in sigmas]}
    return Objective("sure", stacks, sure, *lambdas, info)


# --------------------------------------------------------------------------
# A learned network's file, and its run stopped by SURE
# --------------------------------------------------------------------------


def network_text(
    groups: Sequence[Group],
    h: float = 1.0,
    comment: str = "",
    stop: str | None = None,
    max_blocks: int | None = None,
    lambda_factors: Sequence[float] | None = None,
) -> str:
    """The network file of ``groups`` (:func:`resdenoise.network.format_network`),
    with ``stop``, ``max_blocks`` and ``lambda_factors`` when its depth (and a
    common lambda factor) is chosen per signal."""
    blocks = [g.as_block(i + 1) for i, g in enumerate(groups)]
    return format_network(blocks, h, "learned network", comment, stop, max_blocks, lambda_factors)


def run_network_stopped(
    u: np.ndarray,
    groups: Sequence[Group],
    h: float = 1.0,
    extend: float = 4.0,
    max_blocks: int | None = None,
    lambda_factors: Sequence[float] | None = None,
    *,
    channel_axis: int | None = None,
) -> tuple[np.ndarray, int | tuple[int, ...]]:
    """Run the network and stop where SURE is least: ``(output, blocks)``.

    The depth follows the signal as the automatic modes' stopping time does:
    the network's blocks, then its last group repeated on, up to
    ``max_blocks`` (default ``extend`` times its depth), and the output is
    the state of least SURE, zero blocks (the input) included (with
    ``lambda_factors``, every lambda's common factor chosen among them too).  This is the
    network file with ``stop = "sure"`` (:func:`network_text`) as
    ``resnet --network`` runs it (:func:`resdenoise.split.network_run`), bit for bit, in
    its working precision (float32 input stays float32): where the channels' noise
    levels differ by more than :data:`resdenoise.split.SPLIT_FACTOR` each channel is
    stopped as on its own, and a channel whose level is not trusted is passed through;
    ``blocks`` is then one depth per channel (0: passed through), else one number.  Each
    state is one the network's blocks reach, so stability is kept.  ``channel_axis``: as
    :func:`make_objective`'s (the output in ``u``'s layout).
    """
    depth = sum(g.repeat for g in groups)
    cap = max(1, math.ceil(extend * depth)) if max_blocks is None else max_blocks
    given, back = samples_in_rows(u, channel_axis)
    out, extra = stopped_run(given, groups, h, cap, lambda_factors)
    return back(out), chosen_per_channel(extra, out)[0]


def stopped_run(
    u, groups: Sequence[Group], h: float, cap: int, lambda_factors=None
) -> tuple[np.ndarray, dict]:
    """The network file with ``stop = "sure"`` (``max-blocks = cap``, and
    ``lambda-factors`` when given) run on u as ``resnet --network`` runs it:
    ``(output, the depth's report)``; float32 u stays float32, as there."""
    plan, extra = stopped_choice(u, groups, h, cap, lambda_factors)
    return run_plan(plan, u), extra


def stopped_choice(u, groups: Sequence[Group], h: float, cap: int, lambda_factors=None):
    """What :func:`stopped_run` runs, without running it: ``(the plan of the depth chosen
    on u, the depth's report)``, by the planner of ``resnet --network``
    (:func:`resdenoise.split.network_run`: channels of noise levels apart each stopped as
    on its own, ``channel_plans``; a channel whose level is not trusted passed through)."""
    from .split import network_run

    u = samples_in_rows(u, None, "u", _COLUMNS)[0]  # rows no more than columns: refused
    text = network_text(groups, h, stop="sure", max_blocks=cap, lambda_factors=lambda_factors)
    return network_run(parse_network(text), u, h=h)


def joint_choice(u, groups: Sequence[Group], h: float, cap: int, lambda_factors=None):
    """:func:`stopped_choice` of u's channels together, one depth for all
    (:func:`resdenoise.network_stop.stopped_network`): what one depth per training input
    can hold (:func:`resdenoise.learn_stop.stop_depths`), and the SURE at the trained
    depth of the network without its stop, which ``resnet --network`` runs so."""
    u = samples_in_rows(u, None, "u", _COLUMNS)[0]
    text = network_text(groups, h, stop="sure", max_blocks=cap, lambda_factors=lambda_factors)
    return stopped_network(parse_network(text), u, h=h)


#: What a function without ``channel_axis`` says of a signal of no more rows than columns.
_COLUMNS = "Give its channels in columns, shape (samples, channels) (u.T of channels in rows)"


def chosen_per_channel(extra: dict, u) -> tuple:
    """``(blocks, lambda factor)`` that :func:`stopped_choice`'s report ``extra`` chose
    for ``u``: each one number where the channels were stopped together, else a tuple of
    one per channel (``extra``'s ``channel_plans``; the channels searched apart of the
    others passed through), a channel passed through unchanged 0 blocks and factor 1."""
    parts = _channel_parts(extra, u)
    if parts is None:
        return extra["blocks_chosen"], extra.get("lambda_factor", 1.0)
    blocks = tuple(0 if p is None else p["blocks_chosen"] for p in parts)
    return blocks, tuple(1.0 if p is None else p.get("lambda_factor", 1.0) for p in parts)


def _channel_parts(extra: dict, u) -> list | None:
    """Each channel's depth report in :func:`stopped_choice`'s ``extra`` (None: passed
    through), or None where the channels were stopped together."""
    from .stability import channel_labels

    plans = extra.get("channel_plans")
    passed = extra.get("passed_through_reasons")
    if plans is None and passed is None:
        return None
    x = np.asarray(u)
    names = channel_labels(1 if x.ndim < 2 else int(np.prod(x.shape[1:])), None)
    if plans is None:  # the others searched together, as a signal of them only
        plans = {name: extra for name in extra["filtered_channels"]}
    return [plans.get(name) for name in names]


def stopped_sure(extra: dict, u) -> float:
    """SURE (per sample, summed over channels) of what :func:`stopped_choice` chose on
    ``u``, its report ``extra``: the stop's own, summed over channels stopped apart; a
    channel passed through adds its level squared (the SURE of the identity)."""
    parts = _channel_parts(extra, u)
    if parts is None:
        return extra["stopping_criterion"]
    x = np.asarray(u, dtype=float)
    sigma = np.ravel(resolve_sigma(x.reshape(x.shape[0], -1), None, search=True).sigma)
    total, seen = 0.0, set()
    for c, part in enumerate(parts):
        if part is None:
            total += float(sigma[c]) ** 2
        elif id(part) not in seen:  # the channels searched together: their SURE once
            seen.add(id(part))
            total += part["stopping_criterion"]
    return total


# --------------------------------------------------------------------------
# The optimiser
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """A trained network and how the training went."""

    groups: tuple[Group, ...]
    params: np.ndarray
    objective: str
    initial_loss: float
    loss: float
    iterations: int
    evaluations: int
    history: tuple[float, ...]
    message: str
    info: dict = field(default_factory=dict)
    #: The parameters training started from (``initial_loss``'s)
    start: np.ndarray | None = None

    def as_dict(self) -> dict:
        return {
            "objective": self.objective,
            "initial_loss": self.initial_loss,
            "loss": self.loss,
            # no ratio of a negative loss (SURE's can be): it would mean nothing
            "loss_ratio": (
                self.loss / self.initial_loss if self.initial_loss > 0 and self.loss >= 0 else None
            ),
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            "history": list(self.history),
            "optimiser": "L-BFGS-B (SciPy)",
            "optimiser_message": self.message,
            **self.info,
            "learned_groups": [
                {
                    "coefficients": list(g.coefficients),
                    "lambda_scale": g.lam_scale,
                    "tau": g.tau,
                    "repeat": g.repeat,
                    "scale": g.scale,
                    "g_max": math.fsum(g.coefficients),
                }
                for g in self.groups
            ],
        }


def fit(
    objective: Objective,
    arch: Architecture,
    *,
    seed: int = 0,
    max_iterations: int = 50,
    progress: Callable[[int, float], object] | None = None,
    start: np.ndarray | None = None,
    depths: Sequence[int] | None = None,
    anchor: float = 0.0,
) -> FitResult:
    """Minimise ``objective`` over the network's parameters with L-BFGS-B.

    Parameters
    ----------
    objective : Objective
        From :func:`make_objective`.
    arch : Architecture
    seed : int
        Seed of the starting shapes (an integer >= 0): the result is deterministic for it.
    max_iterations : int
        L-BFGS-B iterations at most.
    progress : callable, optional
        ``progress(iteration, loss)`` after each iteration.
    start : ndarray, optional
        The starting parameters (:attr:`WarmStart.params`); default the
        amount of least loss among :data:`START_AMOUNTS` with seeded shapes.
    depths : sequence of int, optional
        Each training input's number of blocks (:func:`loss_and_gradient`).
    anchor : float
        Weight of ``anchor |p - p_0|^2 / size`` added to the loss (in units of
        the starting loss): training stays near the start (the warm start's
        family) unless the data says otherwise.

    Raises
    ------
    LearnUnavailable
        SciPy is not installed.
    """
    minimize = _optimize().minimize
    max_iterations = check_count("max_iterations", max_iterations, minimum=0)
    # the start: the amount of least loss among START_AMOUNTS (a network that
    # smooths far too much has gradients that lead to filtering nothing)
    if start is not None:
        x0 = np.array(start, dtype=float)
        if x0.shape != (arch.size,) or not np.all(np.isfinite(x0)):
            raise ParameterError(f"start needs {arch.size} finite parameters, got shape {x0.shape}")
    else:
        starts = [initial_parameters(arch, seed, a) for a in START_AMOUNTS]
        values = [loss_value(x, arch, objective, depths) for x in starts]
        x0 = starts[int(np.argmin(values))]
    if not (math.isfinite(anchor) and anchor >= 0.0):
        raise ParameterError(f"anchor must be a finite number >= 0, got {anchor!r}")
    first, _ = loss_and_gradient(x0, arch, objective, depths)
    scale = abs(first) if first != 0.0 and math.isfinite(first) else 1.0
    seen: dict = {}

    def fun(x):
        key = x.tobytes()
        if key not in seen:
            seen.clear()
            seen[key] = loss_and_gradient(x, arch, objective, depths)
        value, grad = seen[key]
        d = x - x0
        return value / scale + anchor * (d @ d) / d.size, grad / scale + 2.0 * anchor * d / d.size

    def pure(x) -> float:  # the objective alone, without the anchor
        fun(x)
        return seen[x.tobytes()][0]

    history = [first]

    def callback(xk):
        history.append(pure(xk))
        if progress is not None:
            progress(len(history) - 1, history[-1])

    span = LAMBDA_RANGE if arch.learn_lambda else 0.0
    bounds = (
        [(-PARAMETER_BOUND, PARAMETER_BOUND)] * (arch.bumps + 1) + [(-span, span)]
    ) * arch.groups
    if max_iterations == 0:
        x, message, evaluations = x0, "no iterations asked for", 1
    else:
        result = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=callback,
            options={"maxiter": max_iterations},
        )
        x, evaluations = result.x, int(result.nfev)
        if result.nit >= max_iterations:
            message = f"stopped at the iteration limit ({max_iterations})"
        elif result.success:
            message = "converged"
        else:  # the optimiser's own words (for example an abnormal line search)
            message = "stopped: " + " ".join(str(result.message).lower().split())
    loss = pure(x)
    return FitResult(
        groups=network_groups(x, arch),
        params=np.array(x),
        objective=objective.name,
        initial_loss=first,
        loss=loss,
        iterations=len(history) - 1,
        evaluations=evaluations,
        history=tuple(history),
        message=message,
        info=dict(objective.info),
        start=np.array(x0),
    )


#: SURE of a trained network is said with this many probes that training did not see
#: (:func:`fresh_sure`): the optimiser fits its own probe's divergence.
FRESH_PROBES = 4


def fresh_sure(
    noisy: Sequence[np.ndarray],
    arch: Architecture,
    result: FitResult,
    sigma: Sequence | None = None,
    seed: int = 0,
    probes: int = FRESH_PROBES,
) -> dict:
    """SURE of ``result``'s network at its start and as trained, on the training signals,
    its divergence the mean over ``probes`` Monte-Carlo probes that training with ``seed``
    did not use (signal i's k-th: seed ``seed + m (k + 1) + i``, m signals): the
    ``sure`` objective's value at the trained parameters is that of the probe it was
    fitted to, and overstates the gain (one probe's divergence fitted: 0.77x said where
    the true error rose 1.8 %).  ``{"probes", "initial_loss", "loss", "loss_ratio"}``;
    ``sigma``: as :func:`make_objective`'s."""
    probes = check_count("probes", probes)
    m, initial, final = len(noisy), [], []
    for k in range(probes):
        objective = make_objective(noisy, None, "sure", sigma, seed + m * (k + 1), arch.h)
        start = result.params if result.start is None else result.start
        initial.append(loss_value(start, arch, objective))
        final.append(loss_value(result.params, arch, objective))
    a, b = float(np.mean(initial)), float(np.mean(final))
    return {
        "probes": probes,
        "initial_loss": a,
        "loss": b,
        "loss_ratio": b / a if a > 0 and b >= 0 else None,
    }
