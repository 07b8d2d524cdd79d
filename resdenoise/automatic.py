"""One automatic choice across families and scales, by the same risk estimate.

:func:`choose_denoiser` runs the automatic search of several commands on
one signal (after the impulse pre-stage where a channel is impulsive) and
keeps the one with the smallest SURE, the same estimate of the MSE per
sample for all (same noise level, same Monte-Carlo probe):

* ``diffuse`` Perona-Malik, ``regularise`` Charbonnier (lambda and time);
* ``shrink`` soft and garrote at one scale (threshold and iterations);
* ``shrink`` soft over several scales (a threshold per scale) and
  ``diffuse`` Perona-Malik over several scales (lambda and blocks per
  scale), :mod:`resdenoise.multiscale`.

Every search includes doing nothing, so the choice is never expected to be
worse than the input.  The extra dictionary says what was chosen, every
candidate's SURE, and why.  NumPy only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import ParameterError

__all__ = ["CANDIDATES", "choose_denoiser"]

#: (label, command, form, name)
CANDIDATES = (
    ("diffuse perona-malik", "diffuse", "diffusivity", "perona-malik"),
    ("regularise charbonnier", "regularise", "regulariser", "charbonnier"),
    ("shrink soft", "shrink", "shrinkage", "soft"),
    ("shrink garrote", "shrink", "shrinkage", "garrote"),
    ("shrink soft, scales", "shrink", "shrinkage", "soft"),
    ("diffuse perona-malik, scales", "diffuse", "diffusivity", "perona-malik"),
)


def _single(choice, command: str):
    from .filters import plan_diffuse, plan_regularise, plan_shrink

    m = max(choice.steps, 1)
    if command == "diffuse":
        plan = plan_diffuse(choice.nl, steps=m, tau=choice.tau)
    elif command == "regularise":
        plan = plan_regularise(choice.nl, m * choice.tau, m)
    else:
        plan = plan_shrink(choice.nl, m)
    if choice.steps == 0:
        params = dict(plan.parameters)
        params.update({k: 0 for k in ("iterations", "alpha") if k in params})
        plan = replace(plan, steps=0, parameters=params, alpha=0.0 if plan.alpha else None)
    return plan


def choose_denoiser(f, sigma=None, candidates=CANDIDATES):
    """``(plan, extra)``: the candidate with the smallest SURE (see the module docstring).

    ``sigma``: the noise level when known.  ``extra['automatic_choice']``
    names the choice and the reason, ``extra['automatic_candidates']`` every
    candidate's SURE (a mean squared error estimate per sample).
    """
    from .autoparams import choose_parameters
    from .impulses import hampel_stage
    from .multiscale import choose_diffusion_scales, choose_scales

    f = np.asarray(f, dtype=float)
    if f.ndim not in (1, 2) or f.shape[0] < 2:
        raise ParameterError(f"signal must have shape (n,) or (n, channels), n >= 2; got {f.shape}")
    stage = hampel_stage(f)
    g = stage.apply(f) if stage.active else f
    results = []
    for label, command, form, name in candidates:
        if label.endswith("scales"):
            chooser = choose_scales if command == "shrink" else choose_diffusion_scales
            plan, choice = chooser(g, name, None, sigma)
            risk = choice.risks[-1] if choice.risks else choice.identity_risk
            results.append((risk, label, plan, choice.as_dict()))
            continue
        tau = 0.25 if command == "shrink" else None
        choice = choose_parameters(g, name, form, tau=tau, sigma=sigma)
        results.append((choice.stopping.best, label, _single(choice, command), choice.as_dict()))
    results.sort(key=lambda r: r[0])
    risk, label, plan, extra = results[0]
    runner_up = results[1] if len(results) > 1 else None
    reason = f"smallest SURE ({risk:.6g} per sample)"
    if runner_up is not None:
        reason += f"; next: {runner_up[1]} ({runner_up[0]:.6g})"
    if stage.active:
        plan = replace(plan, prestage=stage)
    extra = {
        **extra,
        **stage.as_dict(),
        "automatic_choice": label,
        "automatic_reason": reason,
        "automatic_candidates": {r[1]: r[0] for r in results},
    }
    return plan, extra
