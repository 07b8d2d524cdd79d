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
from dataclasses import dataclass, replace

import numpy as np

from .learn import (
    Architecture,
    FitResult,
    Group,
    Objective,
    fit,
    network_groups,
    run_network,
    stopped_run,
)

__all__ = [
    "StopDecision",
    "decide_stop",
    "default_cap",
    "fit_stopped",
    "stop_depths",
]


@dataclass(frozen=True)
class StopDecision:
    """Whether a learned network is better stopped per signal by SURE (``stop = "sure"``
    in its file) than run at its trained depth, judged on the training signals.

    ``loss_trained`` and ``loss_stopped``: the supervised error against the clean
    signals, else SURE (mean per value over all training signals; ``loss_trained``
    None when a search ended before the trained depth, SURE having risen for long).
    """

    stop: bool
    max_blocks: int
    depth: int
    chosen: tuple[int, ...]
    loss_trained: float | None
    loss_stopped: float
    measure: str

    def as_dict(self) -> dict:
        return {
            "stop": "sure" if self.stop else None,
            "stop_max_blocks": self.max_blocks,
            "stop_blocks_chosen": list(self.chosen),
            "stop_measure": self.measure,
            "loss_at_trained_depth": self.loss_trained,
            "loss_stopped_by_sure": self.loss_stopped,
        }


def decide_stop(
    noisy: Sequence[np.ndarray],
    groups: Sequence[Group],
    clean: Sequence[np.ndarray] | None = None,
    h: float = 1.0,
    max_blocks: int | None = None,
) -> StopDecision:
    """Run the learned network on each training signal at its depth and stopped by
    SURE (up to ``max_blocks``, default 4x its depth) and keep the stop when it
    gives the smaller loss (:class:`StopDecision`)."""
    depth = sum(g.repeat for g in groups)
    cap = default_cap(groups) if max_blocks is None else max_blocks
    total, trained, stopped, chosen = 0, 0.0, 0.0, []
    for i, f in enumerate(noisy):
        f = np.asarray(f, dtype=float)
        out, extra = stopped_run(f, groups, h, cap)
        chosen.append(extra["blocks_chosen"])
        total += f.size
        if clean is not None:
            stopped += float(np.sum((out - clean[i]) ** 2))
            trained += float(np.sum((run_network(f, groups, h) - clean[i]) ** 2))
        else:
            stopped += extra["stopping_criterion"] * f.shape[0]
            at_depth = extra["sure_at_network_depth"]
            trained = (
                None if trained is None or at_depth is None else trained + at_depth * f.shape[0]
            )
    trained = None if trained is None else trained / total
    stopped /= total
    better = trained is None or stopped < trained
    measure = "supervised" if clean is not None else "sure"
    return StopDecision(better, cap, depth, tuple(chosen), trained, stopped, measure)


def default_cap(groups: Sequence[Group]) -> int:
    """The stop's ``max-blocks`` when none is given: four times the network's depth."""
    return max(1, 4 * sum(g.repeat for g in groups))


def stop_depths(
    noisy: Sequence[np.ndarray], groups: Sequence[Group], h: float = 1.0, max_blocks=None
) -> list[int]:
    """The depth the SURE stop chooses for each signal (as ``resnet --network`` would)."""
    cap = default_cap(groups) if max_blocks is None else max_blocks
    return [stopped_run(f, groups, h, cap)[1]["blocks_chosen"] for f in noisy]


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
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    params = np.asarray(start, dtype=float)
    cap = default_cap(network_groups(params, arch)) if max_blocks is None else max_blocks
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
