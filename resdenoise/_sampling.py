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


#: Sixth-order central second difference: ``Psi''(0) ~ sum_k c_k Psi(k H) / H^2``, k = -3..3.
_SECOND_DIFFERENCE = np.array([1 / 90, -3 / 20, 3 / 2, -49 / 18, 3 / 2, -3 / 20, 1 / 90])

#: Below this fraction of lam a Python Psi's numerical ``g = Psi'/(2 r)`` is too much its
#: own rounding: ``Psi'`` has an absolute error of about ``eps M / h`` (``h = 2e-3 lam`` the
#: step of :func:`resdenoise.nonlinearities.psi_to_phi`, M the size of Psi's own rounding:
#: ``2 lam^2`` for Charbonnier's ``2 lam^2 (sqrt(1 + r^2/lam^2) - 1)``), measured on that
#: Psi (lam 0.3): 7e-11 of g at ``r = 1e-2 lam``, 6e-10 at ``1e-3 lam``, 9e-7 at ``1e-6 lam``
#: (:data:`resdenoise.stability.G_MAX_ROUNDING`, 1e-10, is what a sampled g_max may miss).
PSI_TRUSTED = 1e-2


def psi_g_at_zero(psi, lam: float) -> float | None:
    """``g(0) = Psi''(0)/2`` of a Python regulariser ``psi``: the sixth-order central
    second difference at ``H = lam/100`` (rounding about ``6 eps M / H^2``, 1.3e-11 of g
    for Charbonnier), where the one at ``2 H`` agrees to 1e-9 relative (Psi smooth at 0 on
    lam's scale); else None."""
    found = []
    for step in (1e-2 * lam, 2e-2 * lam):
        with np.errstate(all="ignore"):
            v = np.asarray(psi(np.arange(-3, 4) * step), dtype=float)
        found.append(float(np.dot(_SECOND_DIFFERENCE, v)) / (2.0 * step * step))
    near, far = found
    if math.isfinite(near) and near > 0.0 and abs(near - far) <= 1e-9 * near:
        return near
    return None


def psi_g_near_zero(nl, r: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The sampled ``g`` of a Python regulariser ``nl`` with ``g(0)`` (:func:`psi_g_at_zero`)
    where ``|r| < PSI_TRUSTED lam``: there g = g(0) + c r^2 (for a Psi smooth at 0: its
    supremum there g(0) or the edge's, sampled), while its numerical quotient is
    rounding (a sampled g_max of 1.0000008 for Charbonnier's Psi, whose g_max is 1: a
    block more than the family's).
    ``g`` itself where Psi is not smooth at 0, or where the quotient at the edge of that
    range is not within 1e-2 of g(0) (features below it: they are sampled as they are)."""
    if getattr(nl, "_psi", None) is None or nl.formula is not None or nl.entry is not None:
        return g  # a formula's Phi is its exact derivative; a family's, closed forms
    g0 = psi_g_at_zero(nl._psi, nl.lam)
    small = np.abs(r) < PSI_TRUSTED * nl.lam
    edge = ~small & (np.abs(r) < 2.0 * PSI_TRUSTED * nl.lam)
    if g0 is None or not edge.any() or not np.all(np.abs(g[edge] - g0) <= 1e-2 * g0):
        return g
    out = np.array(g, dtype=float)
    out[small] = g0
    return out
