"""A network file's depth chosen per signal by SURE (``stop = "sure"``).

A network file with ``stop = "sure"`` (see :mod:`resdenoise.network`) does
not always run all its blocks: its blocks, then its last group repeated on,
up to ``max-blocks`` blocks in all, are candidates, and the depth of least
SURE is the one run, zero blocks (the input) included.  It is the automatic
modes' stopping time (:func:`resdenoise.stopping_search.choose_steps`) for a
network whose blocks differ (with ``lambda-factors``, also one common factor of
every lambda, as the automatic modes search lambda), with the same pieces: the noise level of the
automatic search (:func:`resdenoise.noise.resolve_sigma`), the seeded probe
run as more channels (:func:`resdenoise.sure.sure_probe`), SURE summed
by :func:`resdenoise.sure.sure_parts`, the same end of the search
(``horizon x best + patience`` blocks, or the cap) and the same rule for
doing nothing (SURE must beat the input's by
:data:`resdenoise.autoparams.MIN_IMPROVEMENT`).  One addition, for ``lambda-factors``:
each factor's depth is chosen as above, by the automatic modes' one probe,
but the factors are compared by SURE with its divergence averaged over
:data:`PROBES` seeded probes (that probe and the next seeds), run as more
channels beside it.  Along one network's depths a probe's error changes
slowly and mostly cancels; between factors, at depths hundreds of blocks
apart, it does not: on the Donoho-Johnstone HeaviSine at noise 0.25 x its
std, four probes put the trained network's SURE at factor 1 at 127, 201,
261 and 180 (x 1e-4, true error 152), and the first probe alone chose
factor 2.83 (true error 175; with the four, factor 2 and 147.5).  Averaging
the probes for the depth too measured worse on a piecewise-constant sensor
trace (344 against 336) and no better on held-out signals.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from .autoparams import HORIZON, MIN_IMPROVEMENT, PATIENCE
from .engine import run_blocks_unchecked, run_strided_unchecked
from .errors import check_blocks
from .filters import as_identity
from .network import NetworkPlan, build_network
from .noise import resolve_sigma
from .orientation import orienting
from .scaling import level_shift, scaled_search, scaled_values, times_power_of_two
from .stopping import search_phase
from .sure import PROBE_SEED, SureParts, chunk_bounds, sure_probe

__all__ = [
    "PROBES",
    "DepthChoice",
    "block_schedule",
    "choose_depth",
    "cut_network",
    "default_cap",
    "stopped_network",
    "stopped_plan",
]

#: With ``lambda-factors``, the factors are compared by SURE with its divergence the
#: mean of this many seeded probes' estimates (seeds PROBE_SEED, PROBE_SEED + 1, ...).
PROBES = 4


@dataclass(frozen=True)
class DepthChoice:
    """The depth SURE chose for one signal, and the curve that chose it.

    ``criterion[k]`` is SURE (mean squared error per value, summed over
    channels) after ``k`` blocks, ``k = 0 .. searched``.
    """

    blocks: int
    listed: int
    cap: int
    criterion: tuple[float, ...]
    stopped_by: str
    kept_input: bool = False
    #: SURE with the divergence averaged over ``probes`` probes, per depth (``probes > 1``)
    averaged: tuple[float, ...] | None = None
    #: The samples searched were the signal's divided by ``2**shift``
    #: (:func:`resdenoise.scaling.scaled_search`): SURE is said times ``4**shift``.
    shift: int = 0

    @functools.cached_property  # frozen, no slots: once per choice
    def said(self) -> tuple[float, ...]:
        """:attr:`criterion` in the signal's units (times ``4**shift``)."""
        return tuple(scaled_values(list(self.criterion), 2 * self.shift))

    @property
    def searched(self) -> int:
        return len(self.criterion) - 1

    def reason(self) -> str:
        """Why this depth, in words (the report's ``depth_reason``)."""
        at = self.said
        listed = (
            f"; at the file's {self.listed} blocks {at[self.listed]:.4g}"
            if self.listed <= self.searched and self.listed != self.blocks
            else ""
        )
        if self.kept_input:
            return (
                f"no depth beat the input's SURE {at[0]:.4g} by {MIN_IMPROVEMENT:.0%} "
                f"(least {min(at):.4g}); the input is kept"
            )
        if self.blocks == 0:
            return (
                f"no depth of {self.searched} searched had a smaller SURE than the input's "
                f"{at[0]:.4g}; the input is kept"
            )
        return (
            f"SURE least at {self.blocks} of {self.searched} blocks searched "
            f"({at[self.blocks]:.4g}, the input {at[0]:.4g}{listed}); search ended by "
            f"{self.stopped_by}"
        )

    def as_dict(self) -> dict:
        at = self.said
        return {
            "stopping_rule": "sure",
            "network_depth": self.listed,
            "blocks_chosen": self.blocks,
            "max_blocks": self.cap,
            "blocks_searched": self.searched,
            "stopping_criterion": at[self.blocks],
            "sure_of_input": at[0],
            "sure_at_network_depth": (at[self.listed] if self.listed <= self.searched else None),
            "search_stopped_by": self.stopped_by,
            "depth_reason": self.reason(),
        }


def block_schedule(plan: NetworkPlan, cap: int) -> list:
    """The first ``cap`` blocks, one ``(spec, nonlinearity, tau)`` each: the plan's
    blocks in order, then its last group repeated on."""
    schedule = [group for group in plan.groups for _ in range(group[0].repeat)][:cap]
    if plan.groups:
        schedule += [plan.groups[-1]] * (cap - len(schedule))
    return schedule


def cut_network(plan: NetworkPlan, blocks: int) -> NetworkPlan:
    """The plan of the first ``blocks`` blocks of :func:`block_schedule` (groups cut,
    or the last one repeated on); zero blocks: the identity, its groups kept with
    ``repeat`` 0 (the verdict and the report's blocks are those of the network searched)."""
    if blocks == 0:
        kept = tuple(
            (dataclasses.replace(spec, repeat=0), nl, tau) for spec, nl, tau in plan.groups
        )
        return dataclasses.replace(as_identity(plan), groups=kept)
    groups, left = [], blocks
    for spec, nl, tau in plan.groups:
        if left == 0:
            break
        take = min(spec.repeat, left)
        groups.append((dataclasses.replace(spec, repeat=take), nl, tau))
        left -= take
    if left:
        spec, nl, tau = groups[-1]
        groups[-1] = (dataclasses.replace(spec, repeat=spec.repeat + left), nl, tau)
    return dataclasses.replace(plan, groups=tuple(groups), steps=blocks)


@orienting(by="u")  # the probes lie as on u, the signal given
def choose_depth(
    plan: NetworkPlan,
    u,
    cap: int,
    sigma=None,
    probes: int = 1,
    shift: int = 0,
    progress=None,
    phase: str = "search",
) -> DepthChoice:
    """The depth (0 to ``cap`` blocks of :func:`block_schedule`) of least SURE on ``u``.

    Parameters
    ----------
    plan : NetworkPlan
        The network bound to ``u`` (:func:`resdenoise.network.build_network`).
    u : ndarray, shape (n,) or (n, channels)
        The noisy signal (a streamed file's summary is refused: SURE needs the samples).
    cap : int
        The most blocks searched (1 to :data:`resdenoise.errors.MAX_BLOCKS`).
    sigma : optional
        The noise level (default the automatic search's estimate).
    probes : int
        The depth is chosen by the first probe's SURE (the automatic modes'); with
        more, the choice's ``averaged`` is SURE with the divergence averaged over
        them (seeds ``PROBE_SEED``, ``PROBE_SEED + 1``, ...), run as more channels.
    shift : int
        ``u`` is the signal divided by ``2**shift`` (the choice's report says SURE
        in the signal's units).
    progress : callable, optional
        ``progress(phase, k, end)`` after each block, as the automatic modes' search
        says it (:func:`resdenoise.stopping_search.choose_steps`): k blocks of at most
        ``end`` = ``cap``; ``end`` is k where the search stops.
    """
    cap = check_blocks("max_blocks", cap)
    f2 = np.asarray(u, dtype=float)
    f2 = f2.reshape(f2.shape[0], -1)
    sigma = resolve_sigma(f2, sigma, search=True).sigma
    bs = [sure_probe(f2, sigma, PROBE_SEED + i)[0] for i in range(probes)]
    eps = sure_probe(f2, sigma)[1]  # one step for every probe
    stack = np.concatenate([f2] + [f2 + eps * b for b in bs], axis=1)
    bounds = chunk_bounds(f2.shape[0])  # SURE summed as choose_steps sums it
    c = f2.shape[1]
    # each probe's sums, made once, read from the stack where its columns lie (compiled)
    sums = [SureParts(f2, b, eps, sigma, bounds, probe=c * (i + 1)) for i, b in enumerate(bs)]
    averaged = []

    def sure(state) -> float:  # the first probe's SURE; the average of all kept aside
        each = [np.sum(parts(state)) for parts in sums]
        averaged.append(float(np.mean(each)))
        return float(each[0])

    values = [sure(stack)]
    best_k, stopped_by = 0, "cap"
    for k, (spec, nl, tau) in enumerate(block_schedule(plan, cap), start=1):
        if spec.scale > 1:
            stack = run_strided_unchecked(stack, nl, tau, 1, spec.scale, plan.h)
        else:
            stack = run_blocks_unchecked(stack, nl, tau, 1, plan.h, out=None if k == 1 else stack)
        values.append(sure(stack))
        if values[-1] < values[best_k]:
            best_k = k
        horizon = k >= HORIZON * best_k + PATIENCE and k < cap
        if progress is not None:  # of at most cap blocks; done where it stops
            progress(phase, k, k if horizon or k == cap else cap)
        if horizon:
            stopped_by = "horizon"
            break
    kept = best_k > 0 and values[best_k] > values[0] * (1.0 - MIN_IMPROVEMENT)
    return DepthChoice(
        0 if kept else best_k,
        plan.steps,
        cap,
        tuple(values),
        stopped_by,
        kept,
        tuple(averaged) if probes > 1 else None,
        shift,
    )


def default_cap(depth: int) -> int:
    """``max-blocks`` when the file gives none: four times the file's depth (its blocks)."""
    return max(1, 4 * depth)


def stopped_plan(
    plan: NetworkPlan,
    u,
    cap: int | None = None,
    sigma=None,
    variants=None,
    shift: int = 0,
    progress=None,
    known=None,
):
    """``(plan cut to the chosen depth, the report's entries)`` for ``u``.

    ``variants``: ``[(lambda factor, plan with every lambda times it), ...]``
    (the file's ``lambda-factors``), each searched as :func:`choose_depth`
    searches ``plan``; the pair of least SURE at its chosen depth wins (the
    first of equals), SURE there with its divergence averaged over
    :data:`PROBES` probes when there are several variants.  Default: ``plan`` alone.
    ``shift``: ``u`` is the signal divided by ``2**shift`` (:func:`stopped_network`);
    the report says SURE in the signal's units.  ``progress(phase, k, end)``: each
    search's blocks (:func:`choose_depth`), phase ``"search i/n"`` for the i-th of n
    variants (``"search"`` for one), as the automatic modes' lambda candidates.
    ``known``: the search's level of ``u`` estimated already
    (:func:`resdenoise.split.levels_apart`'s, where ``sigma`` is None), taken as it is.
    """
    cap = default_cap(plan.steps) if cap is None else cap
    variants = [(1.0, plan)] if variants is None else list(variants)
    f2 = np.asarray(u, dtype=float)
    level = known if known is not None and sigma is None else None
    if level is None:  # once for all
        level = resolve_sigma(f2.reshape(f2.shape[0], -1), sigma, search=True)
    best = None
    probes = PROBES if len(variants) > 1 else 1
    for i, (factor, candidate) in enumerate(variants, start=1):
        phase = search_phase(i, len(variants))
        choice = choose_depth(candidate, u, cap, level, probes, shift, progress, phase)
        score = (choice.averaged or choice.criterion)[choice.blocks]
        if best is None or score < best[0]:
            best = (score, factor, candidate, choice)
    _, factor, chosen, choice = best
    extra = choice.as_dict()
    if sigma is not None:  # the level given: the one searched with (the report's is estimated)
        extra["noise_sigma"] = [float(s) for s in np.atleast_1d(level.sigma)]
        extra["noise_estimator"] = level.estimator
    if len(variants) > 1:
        extra["lambda_factor"] = factor
        extra["lambda_factors"] = [a for a, _ in variants]
        extra["lambda_factor_sure"] = times_power_of_two(best[0], 2 * shift)
        extra["depth_reason"] += (
            f"; every lambda x {factor:.4g}, of {len(variants)} factors by SURE averaged "
            f"over {probes} probes ({extra['lambda_factor_sure']:.4g})"
        )
    if choice.blocks == 0:  # said, as the automatic modes say it
        extra["warnings"] = [
            f'stop = "sure": {extra["depth_reason"]}: the output is the input, 0 blocks'
        ]
    return cut_network(chosen, choice.blocks), extra


def stopped_network(
    spec, u, lam=None, tau=None, h: float = 1.0, progress=None, sigma=None, known=None
):
    """A network file with ``stop`` bound to ``u`` at its chosen depth (and lambda
    factor): ``(plan, the report's entries)``, as ``resnet --network`` runs it
    (``lam``, ``tau``, ``h``: :func:`resdenoise.network.build_network`'s defaults;
    ``progress``: :func:`stopped_plan`'s).
    Samples whose squares would over- or underflow (of a network of registry
    activations): the search of the samples divided by a power of two, every lambda
    with them, by :func:`resdenoise.scaling.scaled_search`; the plan runs there and
    its output is multiplied back, the choice at ``u`` the one at ``u / 2**k``.
    ``sigma``: the noise level given (the search's and the automatic lambda's; default
    the automatic search's estimate); ``known``: that estimate of ``u``, made already
    (:func:`resdenoise.split.levels_apart`'s; the search estimates it where it divides
    ``u``, :func:`resdenoise.scaling.scaled_search`)."""
    if all(b.expr is None for b in spec.blocks) and level_shift(u):
        # registry activations (exact in scale), samples whose automatic lambda may be
        # beyond float64's normal numbers: the network bound to u / 2**k, searched there

        def search(v, shift, sigma=None, known=None):
            return _stopped_at(spec, v, lam, tau, h, progress, sigma, shift, known)

        levels = {} if sigma is None else {"sigma": sigma}
        return scaled_search(search, u, squares=False, known=known, **levels)
    return _stopped_at(spec, u, lam, tau, h, progress, sigma, 0, known)


def _stopped_at(spec, u, lam, tau, h, progress, sigma, shift: int, known=None):
    """:func:`stopped_network` of ``u``, the signal divided by ``2**shift`` (the network
    bound to it: :func:`resdenoise.network.build_network`'s ``shift``; ``known``: the
    search's level of ``u``, estimated already, or None)."""
    kw = {"lam": lam, "tau": tau, "h": h, "sigma": sigma, "shift": shift}
    plan = build_network(spec, u, **kw)
    variants = [
        (a, plan if a == 1.0 else build_network(spec, u, lam_factor=a, **kw))
        for a in spec.lambda_factors
    ]
    variants, note = _stable_variants(spec, variants)
    if shift:  # bound where it is searched
        got = stopped_plan(plan, u, spec.max_blocks, sigma, variants, shift, progress, known)
    else:
        got = _stopped_network(spec, plan, u, sigma, variants, progress, known)
    if note is None:
        return got
    return got[0], {**got[1], "warnings": [*got[1].get("warnings", []), note]}


def _stable_variants(spec, variants):
    """``(variants, note)``: the lambda factors whose network is L-infinity stable (a
    formula's g_max may grow with lambda), the others left out of the search and said,
    so that the verdict does not hang on the factor SURE prefers; all of them where none
    is (the verdict refuses the one chosen, as without factors)."""
    verdicts = [p.verdict() for _, p in variants]
    kept = [v for v, verdict in zip(variants, verdicts, strict=True) if verdict.linf_stable]
    if not kept or len(kept) == len(variants):
        return variants, None
    left = [(a, v) for (a, _), v in zip(variants, verdicts, strict=True) if not v.linf_stable]
    return kept, (
        f"{spec.source}: lambda-factors {', '.join(f'{a:g}' for a, _ in left)} left out of "
        f"the search: the network is not stable there ({left[0][1].reason})"
    )


def _stopped_network(spec, plan, u, sigma, variants, progress, known=None):
    """:func:`stopped_network`'s search of ``variants`` (``known``: :func:`stopped_plan`'s)."""
    if not all(p.scalable for _, p in variants):  # a formula's activation: as it is
        cap = spec.max_blocks
        return stopped_plan(plan, u, cap, sigma, variants, progress=progress, known=known)

    def search(v, shift, lam, sigma=None, known=None):  # lam: every block's, refused out of all
        at = [(a, p.rescaled(-shift)) for a, p in variants]  # proportion to u
        # plan: only its steps (the default cap), which rescaled keeps
        return stopped_plan(plan, v, spec.max_blocks, sigma, at, shift, progress, known)

    lams = np.array([nl.lam for _, p in variants for nl in p.nonlinearities()])
    levels = {} if sigma is None else {"sigma": sigma}
    # SURE said in the signal's units by the choice itself (shift): not scaled again
    return scaled_search(search, u, squares=False, known=known, lam=lams, **levels)


def strides_note(spec, u) -> str | None:
    """The warning where a block's ``scale`` is not below the signal's length: each of
    its subsequences is one sample, and it filters nothing (None where every one is)."""
    from .filters import Summary

    n = int(u.frames) if isinstance(u, Summary) else int(np.shape(u)[0])
    over = [b for b in spec.blocks if b.scale >= n]
    if not over:
        return None
    which = ", ".join(f"{b.where} (scale {b.scale})" for b in over)
    return (
        f"{spec.source}: {which} filters nothing on {n} samples: every subsequence of a "
        "stride that long is one sample (a scale below the signal's length filters)"
    )
