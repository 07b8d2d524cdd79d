"""A learned network stopped per signal by SURE: training for it, and whether to write it.

:func:`resdenoise.learn.run_network_stopped` runs a learned network as its
file with ``stop = "sure"`` runs it (:mod:`resdenoise.network_stop`): the
depth of least SURE on each signal.  One depth cannot serve signals of
different noise levels, so :func:`fit_stopped` trains the network for the
depths that stop will choose: each round the SURE stop picks every training
signal's depth with the network as it is, and L-BFGS-B trains the
coefficients with those depths held (:func:`resdenoise.learn.fit` with
``depths``).  :func:`decide_stop` then judges on the training signals whether
the stop or the trained depth gives the smaller loss; ``resdenoise learn``
writes ``stop = "sure"`` when the stop does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import check_count
from .filters import run_plan
from .learn import (
    Architecture,
    FitResult,
    Group,
    Objective,
    chosen_per_channel,
    fit,
    joint_choice,
    network_groups,
    run_network,
    stopped_choice,
    stopped_sure,
)
from .network_stop import default_cap
from .scaling import refuse_unscaled_signals

__all__ = [
    "LAMBDA_FACTORS",
    "StopDecision",
    "decide_stop",
    "forced",
    "fit_stopped",
    "stop_depths",
]


#: The common lambda factors a stop may choose among (``lambda-factors``): 1/4 to 4 in
#: half-octaves, as the automatic modes search lambda in half-octaves.
LAMBDA_FACTORS = tuple(2.0 ** (k / 2) for k in range(-4, 5))


@dataclass(frozen=True)
class StopDecision:
    """How a learned network is best run, judged on the training signals: at its
    trained depth, stopped per signal by SURE (``stop = "sure"``), or stopped with a
    common lambda factor chosen by SURE too (``lambda-factors``).

    ``losses``: per way (``trained``, ``stopped``, ``stopped_lambda``) the
    supervised error against the clean signals, else SURE (mean per value over
    all training signals; ``trained`` None when a search ended before the trained
    depth, SURE having risen for long).  ``chosen``/``factors``: the depth and
    lambda factor the winning stop chose per training signal, as ``resnet --network``
    runs the file (:func:`resdenoise.learn.stopped_choice`): one per channel (a tuple)
    where its channels were stopped apart, or a channel passed through (0 blocks).
    """

    stop: bool
    max_blocks: int
    depth: int
    chosen: tuple[int | tuple[int, ...], ...]
    losses: dict
    measure: str
    lambda_factors: tuple[float, ...] | None = None
    factors: tuple[float | tuple[float, ...], ...] = ()
    #: per way: (depths, lambda factors) chosen on the training signals
    picks: dict = field(default_factory=dict)
    #: the lambda factors tried (None: not tried)
    tried: tuple[float, ...] | None = None

    @property
    def loss_trained(self) -> float | None:
        return self.losses["trained"]

    @property
    def loss_stopped(self) -> float:
        """The loss of the better stop."""
        return self.losses["stopped_lambda" if self.lambda_factors else "stopped"]

    def as_dict(self) -> dict:
        return {
            "stop": "sure" if self.stop else None,
            "stop_max_blocks": self.max_blocks,
            "stop_lambda_factors": None
            if self.lambda_factors is None
            else list(self.lambda_factors),
            "stop_blocks_chosen": list(self.chosen),
            "stop_lambda_factor_chosen": list(self.factors),
            "stop_measure": self.measure,
            "stop_losses": dict(self.losses),
            "loss_at_trained_depth": self.loss_trained,
            "loss_stopped_by_sure": self.loss_stopped,
        }


def decide_stop(
    noisy: Sequence[np.ndarray],
    groups: Sequence[Group],
    clean: Sequence[np.ndarray] | None = None,
    h: float = 1.0,
    max_blocks: int | None = None,
    lambda_factors: Sequence[float] | None = LAMBDA_FACTORS,
) -> StopDecision:
    """Run the learned network on each training signal at its depth, stopped by
    SURE (up to ``max_blocks``, default 4x its depth), and stopped with a common
    lambda factor of ``lambda_factors`` chosen by SURE (None: not tried); the
    stop is kept when one of the stops gives a smaller loss than the trained
    depth, the better of the two stops (:class:`StopDecision`)."""
    depth = sum(g.repeat for g in groups)
    cap = _cap(groups, max_blocks)
    refuse_unscaled_signals(noisy)
    if clean is not None:
        refuse_unscaled_signals(clean, label="clean signal")
    ways = (
        {"stopped": None}
        if lambda_factors is None
        else {
            "stopped": None,
            "stopped_lambda": tuple(float(a) for a in lambda_factors),
        }
    )
    total = sum(np.asarray(f).size for f in noisy)
    losses: dict = {"trained": 0.0}
    picks: dict = {}
    for way, factors in ways.items():
        losses[way], picks[way] = 0.0, []
        for i, f in enumerate(noisy):
            f = np.asarray(f, dtype=float)
            # as resnet --network runs the file (channels of levels apart: each its own)
            plan, extra = stopped_choice(f, groups, h, cap, factors)
            picks[way].append(chosen_per_channel(extra, f))
            if clean is not None:  # the output of stopped_run, run only where it is measured
                losses[way] += float(np.sum((run_plan(plan, f) - clean[i]) ** 2)) / total
            else:
                losses[way] += stopped_sure(extra, f) * f.shape[0] / total
            if way != "stopped":
                continue
            if clean is not None:
                losses["trained"] += float(np.sum((run_network(f, groups, h) - clean[i]) ** 2))
            else:  # every block, one lambda for all channels (resnet --network without stop)
                if any(
                    k in extra for k in ("channel_plans", "passed_through_reasons", "do_no_harm")
                ):
                    extra = joint_choice(f, groups, h, cap)[1]  # (the stop's: another search)
                at_depth = extra["sure_at_network_depth"]
                if losses["trained"] is not None:
                    losses["trained"] = (
                        None if at_depth is None else (losses["trained"] + at_depth * f.shape[0])
                    )
    if losses["trained"] is not None:
        losses["trained"] /= total
    best = min(ways, key=lambda w: losses[w])  # the first of equals: the plain stop
    better = losses["trained"] is None or losses[best] < losses["trained"]
    measure = "supervised" if clean is not None else "sure"
    chosen = tuple(k for k, _ in picks[best])
    factors = tuple(a for _, a in picks[best])
    every = {w: (tuple(k for k, _ in p), tuple(a for _, a in p)) for w, p in picks.items()}
    decision = StopDecision(better, cap, depth, chosen, losses, measure, ways[best], factors)
    return replace(decision, picks=every, tried=ways.get("stopped_lambda"))


def forced(decision: StopDecision) -> StopDecision:
    """The decision with the stop and its lambda factors whatever the training loss
    said (``learn --stop sure``): on a signal it was not trained on, SURE's choice of
    depth and factor per signal measured better than the trained depth and lambda
    (benchmarks/bench_learn.py)."""
    if decision.lambda_factors is not None or "stopped_lambda" not in decision.losses:
        return replace(decision, stop=True)
    return replace(
        decision,
        stop=True,
        lambda_factors=decision.tried,
        chosen=decision.picks["stopped_lambda"][0],
        factors=decision.picks["stopped_lambda"][1],
    )


def _cap(groups: Sequence[Group], max_blocks: int | None) -> int:
    """``max_blocks``, or the stop's default for these groups, as a network file's."""
    return default_cap(sum(g.repeat for g in groups)) if max_blocks is None else max_blocks


def stop_depths(
    noisy: Sequence[np.ndarray], groups: Sequence[Group], h: float = 1.0, max_blocks=None
) -> list[int]:
    """The depth the SURE stop chooses for each signal, its channels together (one depth
    per signal, what :func:`resdenoise.learn.fit`'s ``depths`` hold; ``resnet --network``
    stops channels of noise levels apart each as on its own,
    :func:`resdenoise.learn.stopped_choice`)."""
    cap = _cap(groups, max_blocks)
    refuse_unscaled_signals(noisy)
    return [joint_choice(f, groups, h, cap)[1]["blocks_chosen"] for f in noisy]


def fit_stopped(
    objective: Objective,
    arch: Architecture,
    noisy: Sequence[np.ndarray],
    *,
    rounds: int = 2,
    max_blocks: int | None = None,
    start: np.ndarray,
    **options,
) -> FitResult:
    """Train for the SURE stop: ``rounds`` times, each training signal's depth chosen
    by the stop with the current network (:func:`stop_depths`; the cap fixed by the
    starting network, default four times its depth), then
    :func:`resdenoise.learn.fit` with those depths (``options``: its keywords).
    The result's ``info`` keeps the depths of each round."""
    rounds = check_count("rounds", rounds)
    params = np.asarray(start, dtype=float)
    cap = _cap(network_groups(params, arch), max_blocks)
    iterations, evaluations, history, chosen, first = 0, 0, [], [], None
    result = None
    for _ in range(rounds):
        depths = stop_depths(noisy, network_groups(params, arch), arch.h, cap)
        chosen.append(depths)
        result = fit(objective, arch, start=params, depths=depths, **options)
        params = result.params
        first = result.initial_loss if first is None else first
        iterations += result.iterations
        evaluations += result.evaluations
        history += list(result.history)
    info = {**result.info, "stop_training_depths": chosen, "stop_training_cap": cap}
    return replace(
        result,
        initial_loss=first,
        iterations=iterations,
        evaluations=evaluations,
        history=tuple(history),
        info=info,
    )
