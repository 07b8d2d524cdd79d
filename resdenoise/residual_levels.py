r"""Multilevel Haar shrinkage of a linear diffusion's residual: a smooth part and its details.

The candidate of :mod:`resdenoise.automatic` for smooth and oscillatory signals.  With
``L_m`` the m blocks of linear diffusion (``Phi(d) = d``, tau = 1/4, zero-flux ends) and
``M`` one iteration of the multilevel shift-invariant Haar shrinkage of
:mod:`resdenoise.multilevel` (one additive block of every level), the output is

.. math::

    u = L_m f + M\bigl((I - L_m) f\bigr)
      = f + \tfrac14 \sum_{j=1}^{K} P_j^\top D^-_{s} \Phi_j\bigl(D^+_{s} P_j (I - L_m) f\bigr),

two networks of diffusion blocks: m linear blocks give the smooth part, and the
multilevel block runs on what they took away (the residual ``r = f - L_m f``); the
output is their sum (``m = 0``: ``L_0 = I``, the residual 0, the output the input).

Why.  A Haar detail has one vanishing moment: a smooth oscillation leaks into every
fine level (a sine of period 24 samples, amplitude 5: level-1 details up to 0.65,
3.4x the noise of 5 % white noise), so each level's threshold either keeps the noise or
cuts the signal; the peers' sym8 has eight.  ``I - L_m`` has the frequency response
``1 - (1 - sin^2(pi f))^m ~ m pi^2 f^2``: the residual's details of a smooth signal fall
as ``f^3`` instead of ``f``, and the smooth part passes by the linear blocks.  Measured
(``benchmarks/bench_heldout_classes.py``, see :data:`LINEAR_BLOCKS`): hourly temperature
at 5 % white noise, MSE 2.2x the best peer's (sym8 SWT) -> 1.1x.

The search (:func:`choose_residual_levels`).  For each m of :data:`LINEAR_BLOCKS` the
residual's noise per level is exact (the level's detail filter after ``I - L_m``, read
from a unit impulse: :func:`residual_noise_ratios`), the thresholds are each level's by
its own SURE (:func:`resdenoise.multilevel.choose_levels` with rule ``coefficients``),
and the whole output is scored by SURE with the Monte-Carlo probe every candidate of the
automatic choice uses (every other m of the list, then the best one's neighbours); for
the m of the smallest, the thresholds again by the output's
SURE (rule ``signal``), kept where that scores lower.

Stability (``tests/test_residual_levels.py``, hypothesis).  ``L_m`` is symmetric with
eigenvalues in [0, 1] (``1 - 4 tau sin^2``, tau = 1/4), keeps the mean, the max-min
principle, total variation and sign changes; ``I - L_m`` maps to mean zero; ``M`` keeps
the residual's mean and does not increase its deviation (each level's block: the
guarantees of :mod:`resdenoise.multilevel`, measured per level on the residual in the
report).  Hence for the output:

* the mean is preserved;
* ``||u - mean|| <= ||L_m g|| + ||(I - L_m) g|| <= sqrt2 ||f - mean||`` (``g = f -
  mean``; ``lambda^2 + (1 - lambda)^2 <= 1``), checked after every run
  (:data:`DEVIATION_BOUND`);
* for soft shrinkage the map is Lipschitz with constant sqrt2 (the same sum);
* the max-min principle, total variation and sign changes are not guaranteed for the
  output (the sum of two filtered signals), only for the linear part and, per level, for
  the residual's box averages.

NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from . import stability
from .engine import run_strided_unchecked
from .multilevel import (
    MultilevelPlan,
    _levels,
    deviation_tolerance,
    plan_levels,
    sure_state,
)
from .noise import NoiseLevel
from .noise_colour import level_details, max_scales
from .nonlinearities import get_nonlinearity
from .orientation import orienting
from .scaling import measuring_shift, scaled_values

__all__ = [
    "DEVIATION_BOUND",
    "LINEAR_BLOCKS",
    "ResidualLevelsPlan",
    "choose_residual_levels",
    "linear_part",
    "residual_noise_ratios",
]

#: The linear diffusion blocks (tau = 1/4) tried for the smooth part.
LINEAR_BLOCKS = (1, 2, 4, 8, 16, 32, 64)
#: The output's deviation from the mean is at most this times the input's.
DEVIATION_BOUND = math.sqrt(2.0)
#: Linear diffusion: ``Phi(d) = d``; with tau = 1/4 the block keeps the max-min principle
#: and sign changes (g = 1).
LINEAR = get_nonlinearity("linear", "diffusivity", 1.0)
TAU = 0.25


def linear_part(u2: np.ndarray, blocks: int) -> np.ndarray:
    """``L_m u``: ``blocks`` linear diffusion blocks (tau 1/4, zero-flux ends) of each
    channel of ``u2`` (samples x channels), through the engine."""
    if blocks == 0:
        return np.array(u2, dtype=float)
    return run_strided_unchecked(np.asarray(u2, dtype=float), LINEAR, TAU, blocks, 1)


def residual_noise_ratios(blocks: int, levels: int) -> list[float]:
    """Per level 1..``levels``: the noise of the residual's details over the input's
    (white noise), ``||h_j (I - L_m)|| / ||h_j||`` of the level's detail filter, read
    from a unit impulse far from the ends."""
    size = 8 * 2**levels + 4 * blocks + 64
    delta = np.zeros((size, 1))
    delta[size // 2] = 1.0
    resid = delta - linear_part(delta, blocks)
    out = []
    for j in range(1, levels + 1):
        a, b = level_details(resid, j), level_details(delta, j)
        out.append(math.sqrt(float(np.sum(a * a)) / float(np.sum(b * b))))
    return out


@dataclass(frozen=True)
class ResidualLevelsPlan(MultilevelPlan):
    """``smoothing`` linear diffusion blocks, and the multilevel shrinkage
    (:class:`resdenoise.multilevel.MultilevelPlan`'s levels) of their residual; the output
    their sum.  Without steps (``steps`` 0) the input itself."""

    smoothing: int = 0

    @property
    def halo(self) -> int:
        return int(self.smoothing) + super().halo if self.steps else 0

    def verdict(self) -> stability.StabilityVerdict:
        # the linear blocks' own check (g = 1, tau = 1/4) beside the levels'
        lin = stability.check_tau(LINEAR, TAU, self.h)
        v = super().verdict()
        return replace(
            v,
            linf_stable=v.linf_stable and lin.linf_stable,
            sign_stable=v.sign_stable and lin.sign_stable,
            max_min_guaranteed=False,
        )

    def run(self, u: np.ndarray, callback=None, threads: int | None = None) -> np.ndarray:
        done, u = self._started(u, callback, threads)  # computed, shifted, pre-staged
        if done is not None:
            return done
        if not self.steps:
            return u
        u2 = u.reshape(u.shape[0], -1)
        low = linear_part(u2, self.smoothing)
        inner = replace(self, smoothing=0, prestage=None, computed=None)
        out = low + MultilevelPlan.run(inner, u2 - low)
        if callback is not None:
            callback(self.steps, out.reshape(u.shape))
        return out.reshape(u.shape)

    def wavelet_reference(self, f: np.ndarray) -> np.ndarray:
        """``L_m f`` plus the transform's shrinkage of the residual."""
        f = np.asarray(f, dtype=float)
        f2 = f.reshape(f.shape[0], -1)
        low = linear_part(f2, self.smoothing)
        rest = MultilevelPlan.wavelet_reference(self, (f2 - low).reshape(f.shape))
        return (low.reshape(f.shape) if f.ndim == 1 else low) + rest

    def scale_checks(self, f: np.ndarray) -> list[dict]:
        """Each level's checks (:meth:`MultilevelPlan.scale_checks`) on the residual
        ``f - L_m f`` the levels run on; the first entry also says the output's
        deviation from the mean against :data:`DEVIATION_BOUND` x the input's.  Measured
        on ``f`` and the output divided by a power of two
        (:func:`~resdenoise.scaling.measuring_shift`, exact): sums and squares that
        cannot overflow."""
        f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
        shift = measuring_shift(f2, self._nls())
        x2 = np.ldexp(f2, -shift) if shift else f2
        out = self.level_checks(x2 - linear_part(x2, self.smoothing), shift)
        u = self.run(f2) if self.steps else f2
        u = np.ldexp(u, -shift) if shift else u
        dev_in = np.sqrt(np.sum((x2 - x2.mean(axis=0)) ** 2, axis=0))
        dev_out = np.sqrt(np.sum((u - u.mean(axis=0)) ** 2, axis=0))
        tol = deviation_tolerance(x2, shift)
        held = bool(np.all(dev_out <= DEVIATION_BOUND * dev_in + tol))
        for entry in out:
            entry["on"] = f"the residual of {self.smoothing} linear diffusion blocks"
        if out:
            out[0]["output_deviation"] = {
                "bound": f"sqrt2 x the input's ({DEVIATION_BOUND:.6g})",
                "deviation_in": scaled_values(dev_in, shift),
                "deviation_out": scaled_values(dev_out, shift),
                "held": held,
            }
            if not held:
                out[0].setdefault("failed", []).append(
                    "output: deviation from the mean over sqrt2 x the input's"
                )
        return out


def as_residual(plan: MultilevelPlan, blocks: int) -> ResidualLevelsPlan:
    """The multilevel ``plan`` run on the residual of ``blocks`` linear diffusion blocks."""
    params = {
        **plan.parameters,
        "transform": (
            f"{blocks} linear diffusion blocks (tau 1/4), and the multilevel "
            "shift-invariant Haar shrinkage of their residual (one additive block per "
            "iteration); the output their sum"
        ),
        "linear_blocks": int(blocks),
    }
    fields = {k: getattr(plan, k) for k in plan.__dataclass_fields__}
    return ResidualLevelsPlan(**{**fields, "parameters": params, "smoothing": int(blocks)})


@orienting  # the probes of f and of its residuals lie as on f, the signal given
def choose_residual_levels(f, name: str, level: NoiseLevel):
    """``(plan, risk, extra)``: the :class:`ResidualLevelsPlan` of the smallest SURE per
    sample over :data:`LINEAR_BLOCKS` (see the module docstring), that SURE (the probe of
    :func:`resdenoise.multilevel.sure_state`, as every candidate's) and the report entries.
    ``level``: the noise level (white, the same at every level of the input)."""
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    n = f2.shape[0]
    k = max_scales(n)
    state, risk, level = sure_state(f2, level)
    c = f2.shape[1]
    given = replace(level, estimator="given")  # one level at every scale, as given

    def scored(m: int, rule: str):
        ratios = residual_noise_ratios(m, k)
        resid = f2 - linear_part(f2, m)
        plan, choice, _ = _levels(resid, name, k, given, 1, "one", rule, None, ratios)
        cand = as_residual(plan, m)
        return (cand, risk(cand.run(state)), choice, m) if plan.steps else None

    # m with each level's own SURE (cheap): every other m, then the best one's neighbours;
    # the best m again with the output's SURE
    tried = {m: scored(m, "coefficients") for m in LINEAR_BLOCKS[1::2]}
    first = min((t for t in tried.values() if t is not None), key=lambda t: t[1], default=None)
    if first is not None:
        at = LINEAR_BLOCKS.index(first[3])
        for m in LINEAR_BLOCKS[max(at - 1, 0) : at + 2]:
            if m not in tried:
                tried[m] = scored(m, "coefficients")
    best = min((t for t in tried.values() if t is not None), key=lambda t: t[1], default=None)
    if best is not None:
        again = scored(best[3], "signal")
        if again is not None and again[1] < best[1]:
            best = again
    if best is None:
        plan = as_residual(plan_levels(name, [None] * k), 0)
        return plan, risk(state), {"noise_sigma": [float(x) for x in level.sigma[:c]]}
    cand, score, choice, m = best
    extra = {
        **choice.as_dict(),
        "noise_sigma": [float(x) for x in level.sigma[:c]],
        "noise_estimator": level.estimator,
        "linear_blocks": m,
        "linear_blocks_tried": list(LINEAR_BLOCKS),
    }
    return cand, score, extra
