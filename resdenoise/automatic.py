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

Do no harm
----------
The noise level is resolved once (:func:`resdenoise.noise.resolve_sigma`,
checked across difference orders by :func:`resdenoise.noise.search_noise`)
and given to every candidate.  The input itself (:data:`NOTHING`) is chosen,
with the reason and a warning, when

* the estimate is over :data:`resdenoise.noise.MAX_NOISE_SHARE` of a
  channel's variance: the level is not identified (a series white at its
  sampling rate has the statistics of noise; measured on 100 yearly Nile
  flows: the estimate 7-14x the true level, the search's output 8-22 dB
  below the input);
* the best candidate's SURE gain over doing nothing is within
  :data:`SIGNIFICANCE` standard errors (:func:`gain_test`): the minimum of
  many noisy risk estimates is optimistic (measured with the true sigma:
  sunspots at 5 % noise chose Perona-Malik over scales at SURE 3.97 against
  4.26 for the input, its true MSE 4.36 against 3.99).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .errors import ParameterError

__all__ = ["CANDIDATES", "COMMAND_CANDIDATES", "NOTHING", "choose_denoiser", "gain_test"]

#: The choice's label when the search does nothing.
NOTHING = "none (the input)"
#: The best candidate must lower SURE by this many standard errors to be used.
SIGNIFICANCE = 2.0
#: Batches of consecutive samples whose means give the gain's standard error.
BATCHES = 32

#: (label, command, form, name)
CANDIDATES = (
    ("diffuse perona-malik", "diffuse", "diffusivity", "perona-malik"),
    ("regularise charbonnier", "regularise", "regulariser", "charbonnier"),
    ("shrink soft", "shrink", "shrinkage", "soft"),
    ("shrink garrote", "shrink", "shrinkage", "garrote"),
    ("shrink soft, scales", "shrink", "shrinkage", "soft"),
    ("diffuse perona-malik, scales", "diffuse", "diffusivity", "perona-malik"),
)

#: ``--diffusivity auto`` and ``--shrinkage auto``: the families (and scales) one
#: command chooses among, by the same SURE as :data:`CANDIDATES`.
COMMAND_CANDIDATES = {
    "diffuse": (
        CANDIDATES[0],
        ("diffuse charbonnier", "diffuse", "diffusivity", "charbonnier"),
        CANDIDATES[5],
    ),
    "shrink": (
        CANDIDATES[2],
        CANDIDATES[3],
        ("shrink hard", "shrink", "shrinkage", "hard"),
        CANDIDATES[4],
    ),
}


def _single(choice, command: str):
    from .filters import as_identity, plan_diffuse, plan_regularise, plan_shrink

    m = max(choice.steps, 1)
    if command == "diffuse":
        plan = plan_diffuse(choice.nl, steps=m, tau=choice.tau)
    elif command == "regularise":
        plan = plan_regularise(choice.nl, m * choice.tau, m)
    else:
        plan = plan_shrink(choice.nl, m)
    return as_identity(plan) if choice.steps == 0 else plan


def gain_test(plan, f, level, z: float = SIGNIFICANCE) -> tuple[float, float]:
    """``(gain, se)``: SURE of ``plan`` on ``f`` minus SURE of doing nothing (per
    sample, negative when the plan is expected to help) and its standard error.

    The per-sample terms ``(f - u)^2 - 2 sigma^2 + 2 sigma^2 div_i`` (the
    divergence by the search's Monte-Carlo probe) are averaged in
    :data:`BATCHES` consecutive batches (neighbouring terms are correlated),
    and the standard error is that of the batch means.
    """
    from .autoparams import sure_probe

    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    n, c = f2.shape
    sigma = level.sigma
    b, eps = sure_probe(f2, sigma)
    blocks = replace(plan, prestage=None) if plan.prestage is not None else plan
    u = np.asarray(blocks.run(np.concatenate([f2, f2 + eps * b], axis=1))).reshape(n, 2 * c)
    uf, up = u[:, :c], u[:, c:]
    terms = np.sum((f2 - uf) ** 2 - 2 * sigma**2 + 2 * sigma**2 * b * (up - uf) / eps, axis=1)
    k = max(2, min(BATCHES, n // 4))
    means = np.array([np.mean(t) for t in np.array_split(terms, k)])
    return float(np.mean(terms)), float(np.std(means, ddof=1) / math.sqrt(k))


def choose_denoiser(f, sigma=None, candidates=CANDIDATES):
    """``(plan, extra)``: the candidate with the smallest SURE (see the module docstring).

    ``sigma``: the noise level when known.  ``extra['automatic_choice']``
    names the choice and the reason, ``extra['automatic_candidates']`` every
    candidate's SURE (a mean squared error estimate per sample).  Doing
    nothing is chosen, and said so, when the noise level cannot be told from
    the signal (:func:`resdenoise.noise.noise_share`) or the best candidate's
    expected gain is not significant (:func:`gain_test`).
    """
    from .autoparams import choose_parameters
    from .filters import as_identity
    from .impulses import hampel_stage
    from .multiscale import choose_diffusion_scales, choose_scales
    from .noise import MAX_NOISE_SHARE, noise_share, resolve_sigma

    f = np.asarray(f, dtype=float)
    if f.ndim not in (1, 2) or f.shape[0] < 2:
        raise ParameterError(f"signal must have shape (n,) or (n, channels), n >= 2; got {f.shape}")
    level = resolve_sigma(f, sigma, search=True)  # once for every candidate ...
    stage = hampel_stage(f, level.sigma)
    g = f
    if stage.active:  # ... of the signal the candidates see
        g = stage.apply(f)
        level = resolve_sigma(g, sigma, search=True)
    results = []
    for label, command, form, name in candidates:
        if label.endswith("scales"):
            chooser = choose_scales if command == "shrink" else choose_diffusion_scales
            plan, choice = chooser(g, name, None, level)
            risk = choice.risks[-1] if choice.risks else choice.identity_risk
            results.append((risk, label, plan, choice.as_dict()))
            continue
        tau = 0.25 if command == "shrink" else None
        choice = choose_parameters(g, name, form, tau=tau, sigma=level)
        results.append((choice.stopping.best, label, _single(choice, command), choice.as_dict()))
    results.sort(key=lambda r: r[0])
    risk, label, plan, extra = results[0]
    runner_up = results[1] if len(results) > 1 else None
    reason = f"smallest SURE ({risk:.6g} per sample)"
    if runner_up is not None:
        reason += f"; next: {runner_up[1]} ({runner_up[0]:.6g})"
    notes = list(extra.get("warnings", []))
    share = noise_share(g, level.sigma)
    if level.estimator != "given" and float(np.max(share)) > MAX_NOISE_SHARE:
        plan, label = as_identity(plan), NOTHING
        reason = (
            f"the estimated noise ({level.estimator}) is {float(np.max(share)):.0%} of the "
            f"signal's variance (more than {MAX_NOISE_SHARE:.0%}): the level cannot be told "
            "from the signal's own fine-scale content"
        )
        notes = [f"nothing done: {reason}; give --sigma if you know the noise level"]
    elif plan.steps:
        gain, se = gain_test(plan, g, level)
        extra = {**extra, "expected_gain_per_sample": gain, "gain_standard_error": se}
        if not gain < -SIGNIFICANCE * se:
            plan, label = as_identity(plan), NOTHING
            reason = (
                f"the best candidate ({results[0][1]}) lowers SURE by {-gain:.6g} per sample, "
                f"not more than {SIGNIFICANCE:g} standard errors ({se:.6g})"
            )
            notes = [f"nothing done: {reason}; the output is the input"]
    if stage.active:
        plan = replace(plan, prestage=stage)
    extra = {
        **{k: v for k, v in extra.items() if k != "warnings"},
        **stage.as_dict(),
        "noise_estimators": level.per_channel(),
        "automatic_choice": label,
        "automatic_reason": reason,
        "automatic_candidates": {r[1]: r[0] for r in results},
    }
    if notes:
        extra["warnings"] = notes
    return plan, extra
