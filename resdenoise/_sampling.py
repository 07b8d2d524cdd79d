"""The sampled stability tests' helpers (:func:`resdenoise.stability.analyse_function` of
a custom function): whether a supremum still grows at an edge of the sampling grid, the
Lipschitz constant of a sampled activation, and the rounding its monotonicity test forgives
(``nl``: a :class:`~resdenoise.nonlinearities.Nonlinearity`).
"""

from __future__ import annotations

import math

import numpy as np

_EPS = float(np.finfo(float).eps)


def translation_rounding(nl, r: np.ndarray, phi: np.ndarray, shrunk=None) -> np.ndarray:
    """A bound on the rounding of the sampled ``Phi(r)`` that a monotonicity test
    must forgive, per sample: 0 for Phi given (or derived from g or Psi: their
    rounding is below the test's ``1e-12 max|Phi|``); from a shrinkage,
    ``Phi = 4 (r/4 + S(-r/sqrt2)/(2 sqrt2))`` cancels, and its rounding is
    ``eps (|r| + sqrt2 |S| + |Phi|)`` times a few (measured: at most 0.53 times
    that on the grid for soft, Charbonnier, tanh, softsign, arctan; 4 is used).
    ``shrunk``: ``S(r / sqrt2)``, the values Phi was made of
    (:meth:`~resdenoise.nonlinearities.Nonlinearity.sampled_forms`), so that the function
    is not called on the grid again; None: called here."""
    if nl._shrinkage is None:
        return np.zeros_like(phi)
    with np.errstate(all="ignore"):
        if shrunk is None:
            shrunk = nl._shrinkage(-r / math.sqrt(2.0))
        s = np.abs(np.asarray(shrunk, dtype=float))
        return 4.0 * _EPS * (np.abs(r) + math.sqrt(2.0) * s + np.abs(phi))


def still_growing(values: np.ndarray, edges: list[tuple[int, int]]) -> bool:
    """True when the largest value is positive, sits at an edge of the
    sampled range and still grows there: ``edges`` pairs an edge index with
    the index one decade further inside the grid."""
    top = float(np.max(values))
    for edge, inner in edges:
        e, q = float(values[edge]), float(values[inner])
        if e > 0.0 and e >= top - 1e-12 * top and e > q + 1e-3 * abs(q):
            return True
    return False


def lipschitz(nl, r: np.ndarray, phi: np.ndarray, d: int) -> float:
    with np.errstate(all="ignore"):
        slopes = np.abs(np.diff(phi) / np.diff(r))
    if not np.all(np.isfinite(slopes)):
        return math.inf
    p = r.size // 2  # slopes[p - 1], slopes[p]: the intervals at 0; d points a decade
    edges = [(0, d), (2 * p - 1, 2 * p - 1 - d), (p - 1, p - 1 - d), (p, p + d)]
    if still_growing(slopes, edges):
        return math.inf
    i = int(np.argmax(slopes))
    coarse = float(slopes[i])
    # refine around the steepest interval: a jump's quotient grows as 1/width
    a, b = r[i], r[i + 1]
    width = b - a
    fine = np.linspace(a, b, 1001)
    with np.errstate(all="ignore"):
        fine_slopes = np.abs(np.diff(nl.phi(fine)) / np.diff(fine))
    sharp = float(np.max(fine_slopes))
    if sharp > 100.0 * coarse and sharp * width / 1000.0 > 0.5 * coarse * width:
        return math.inf
    return max(coarse, sharp)
