"""One level's block of the multilevel shift-invariant Haar shrinkage through the engine,
and what is measured of each level after a run (:func:`measure_levels`).  NumPy only.

The plans and the threshold searches are :mod:`resdenoise.multilevel`'s.
"""

from __future__ import annotations

import math

import numpy as np

from . import stability
from .engine import run_strided_unchecked
from .filters import scaled_nonlinearity
from .haar_frame import mirrored
from .noise_colour import box_average
from .nonlinearities import SQRT2
from .scaling import scaled_values, times_power_of_two
from .subsequences import subsequence_checks, subsequence_failures


def deviation_tolerance(x2: np.ndarray, shift: int) -> float:
    """The rounding a level's measured deviation and range are allowed: ``1e-12 max |x2|
    sqrt(n)``, relative to the samples as measured (``x2``: samples x channels; ``shift``:
    the power of two they were divided by), and at least the smallest normal float64
    times ``2**-shift`` (an all-zero signal: exact).  It was ``1e-12 (1 + max |f|)
    sqrt(n)`` in the file's units, which no check could fail below an amplitude of about
    1e-9 (a level that moved the mean by 1 % of a 1e-9 signal held: sensors in SI units)."""
    floor = math.ldexp(np.finfo(float).tiny, min(-shift, 1000))
    return float(max(1e-12 * np.max(np.abs(x2)) * math.sqrt(x2.shape[0]), floor))


def level_lambda(theta: float, level: int) -> float:
    """The flux parameter of level ``level`` for threshold ``theta`` (PyWavelets' units)."""
    return SQRT2 * theta * 2.0 ** (-(level - 1) / 2)


def level_correction(u2: np.ndarray, nl, level: int) -> np.ndarray:
    """``1/4 P^T D-_s Phi(D+_s P u)`` of one level on the mirrored signal, through the engine."""
    return _level_block(u2, nl, level)[2]


def _level_block(u2: np.ndarray, nl, level: int, keep: bool = False) -> tuple:
    """Level ``level``'s block: the box-averaged mirrored signal it runs on, its
    output (one block of stride s; with ``keep`` only, else None: the correction
    is then computed in its place), and the level's correction of ``u2``."""
    n = u2.shape[0]
    s = 2 ** (level - 1)
    pad = 2 * s - 1
    v = box_average(mirrored(u2, -pad, n + pad), s)  # P y at i = -pad .. n+s-1
    w = run_strided_unchecked(v, nl, 0.25, 1, s)  # the engine: one block, stride s
    z = w - v if keep else np.subtract(w, v, out=w)  # (1/4) D-_s Phi(D+_s v), exact for i >= -s+1
    return v, w if keep else None, box_average(z[s : n + 2 * s - 1], s)  # P^T z at 0 .. n-1


def multilevel_block(u, nls) -> np.ndarray:
    """One iteration of K-level shift-invariant Haar shrinkage (see the module docstring).

    ``nls[j]``: the nonlinearity of level j + 1 (flux parameter
    :func:`level_lambda`), or None for no shrinkage at that level.
    """
    u = np.asarray(u, dtype=float)
    u2 = u.reshape(u.shape[0], -1)
    out = u2.copy()
    for j, nl in enumerate(nls):
        if nl is not None:
            out += level_correction(u2, nl, j + 1)
    return out.reshape(u.shape)


def measure_levels(plan, x2: np.ndarray, shift: int = 0) -> list[dict]:
    """The level checks of the :class:`~resdenoise.multilevel.MultilevelPlan` ``plan``
    (:meth:`~resdenoise.multilevel.MultilevelPlan.scale_checks`) of ``x2 * 2**shift``
    (samples x channels), measured on ``x2`` with every level's lambda divided by
    ``2**shift`` (the same blocks, exactly scaled); the numbers reported in the samples'
    units.  Every iteration is measured, each level alone on that iteration's input: a
    check holds where it held in every one; the mean drift and overshoot are the
    largest, the deviations those of the iteration where it grew most
    (``deviation_iteration``); a failure names its first iteration where there are
    several (``iterations_measured``)."""
    tol = deviation_tolerance(x2, shift)
    seen: list[list] = [[] for _ in plan.levels]
    iterations = max(1, int(plan.steps))
    for k in range(1, iterations + 1):
        lo, hi, mean = x2.min(axis=0), x2.max(axis=0), x2.mean(axis=0)
        dev_in = np.sqrt(np.sum((x2 - mean) ** 2, axis=0))
        following = x2.copy()  # the next iteration's input, as multilevel_block makes it
        for j, (stride, nl, _, _) in enumerate(plan.levels, start=1):
            if nl is None:
                continue
            boxes, after, correction = _level_block(x2, scaled_nonlinearity(nl, -shift), j, True)
            following += correction
            v = x2 + correction
            dev_out = np.sqrt(np.sum((v - v.mean(axis=0)) ** 2, axis=0))
            drift = float(np.max(np.abs(v.mean(axis=0) - mean)))
            over = float(max(np.max(v.max(axis=0) - hi), np.max(lo - v.min(axis=0)), 0.0))
            sign_stable = stability.check_tau(nl, plan.tau, plan.h).sign_stable
            measured = {
                "mean_preserved": bool(drift <= tol),
                "drift": drift,
                "over": over,
                "deviation_not_increased": bool(np.all(dev_out <= dev_in + tol)),
                "max_min_principle": bool(over <= tol),
                "dev": (dev_in, dev_out),
                # what the level's block guarantees: of its box averages, per subsequence
                "boxed": subsequence_checks(boxes, after, stride, 1, sign_stable),
            }
            seen[j - 1].append((k, measured))
        x2 = following
    return [
        _level_entry(plan, j, lv, seen[j - 1], iterations, shift)
        for j, lv in enumerate(plan.levels, start=1)
    ]


def _level_entry(plan, j: int, level: tuple, seen: list, iterations: int, shift: int):
    """Level ``j``'s report entry from ``seen``: ``(iteration, measured)``, one an
    iteration (:func:`measure_levels`)."""
    stride, nl, theta, sigma = level
    entry = {"level": j, "stride": stride, "threshold": theta, "noise_sigma": sigma}
    if nl is None:
        return {**entry, "lambda": None, "shrinks": False}
    keys = ("mean_preserved", "deviation_not_increased", "max_min_principle")
    held = {key: all(m[key] for _, m in seen) for key in keys}
    boxed = {key: all(m["boxed"][key] for _, m in seen) for key in seen[0][1]["boxed"]}
    worst, (dev_in, dev_out) = max(
        ((k, m["dev"]) for k, m in seen), key=lambda km: float(np.max(km[1][1] - km[1][0]))
    )
    failed = [key for key in keys if not held[key] and (j == 1 or key != keys[2])]
    first = {key: next(k for k, m in seen if not m[key]) for key in failed}
    verdict = stability.check_tau(nl, plan.tau, plan.h)
    return {
        **entry,
        "lambda": nl.lam,
        "shrinks": True,
        "stability": {
            "linf_stable": verdict.linf_stable,
            "sign_stable": verdict.sign_stable,
            "tau_linf_bound": verdict.tau_linf_bound,
            "max_min_guaranteed": stride == 1,
        },
        "measured": {
            **held,
            "mean_drift": times_power_of_two(max(m["drift"] for _, m in seen), shift),
            "deviation_in": scaled_values(dev_in, shift),
            "deviation_out": scaled_values(dev_out, shift),
            "overshoot": times_power_of_two(max(m["over"] for _, m in seen), shift),
            "box_averages_per_subsequence": boxed,
            "iterations_measured": iterations,
            "deviation_iteration": worst,
        },
        "failed": [
            f"level {j}: {key.replace('_', ' ')} failed"
            + (f" (iteration {first[key]} of {iterations})" if iterations > 1 else "")
            for key in failed
        ]
        + subsequence_failures(f"level {j}'s box averages", stride, boxed),
    }
