"""The general translations between the four forms (the paper, Table 1).

Pure functions of functions, for a nonlinearity known only through one form:
``g_to_phi`` / ``phi_to_g`` (``Phi(r) = g(r) r``), ``phi_to_psi`` (adaptive
quadrature of ``2 int_0^r Phi``), ``psi_to_phi`` (``Psi'/2`` by sixth-order
difference stencils that never straddle a kink), and ``phi_to_shrinkage`` /
``shrinkage_to_phi`` (one Haar step, h = 1).  Re-exported by
:mod:`resdenoise.nonlinearities`, their public home; this module imports
nothing of resdenoise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Final

import numpy as np

SQRT2: Final = math.sqrt(2.0)

ArrFunc = Callable[[np.ndarray], np.ndarray]


def g_to_phi(g: ArrFunc) -> ArrFunc:
    """Diffusivity to activation: ``Phi(r) = g(r) r``."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        with np.errstate(invalid="ignore"):  # g(0) may be 0/0 (tanh(r)/r): Phi(0) = 0
            return np.where(r == 0.0, 0.0, g(r) * r)

    return phi


def phi_to_g(phi: ArrFunc, scale: float = 1.0, derivative: ArrFunc | None = None) -> ArrFunc:
    """Activation to diffusivity: ``g(r) = Phi(r)/r``, and ``g(0) = Phi'(0)``.

    ``derivative``: ``Phi'`` itself where it is known (a formula's, by the rules of
    calculus: :func:`_g_at_zero` takes it at 0, not differences, which see no feature
    of Phi below their step).  Without it, ``Phi'(0)`` is found like Psi' in
    :func:`psi_to_phi`: the least-error of
    sixth-order central and one-sided differences, with steps ``1e-2 *
    scale`` and ``2e-3 * scale`` (smaller, where Phi's features lie far below
    ``scale``: :func:`_g_at_zero`), so a kink of Phi' at 0 (softsign) costs no
    accuracy (about 1e-10).  Where Phi' jumps at 0 (ReLU) g(0) is the mean
    of the one-sided limits; where ``Phi(0) != 0`` (the sigmoid) g is
    unbounded at 0 and ``g(0) = +-inf`` with the sign of ``Phi(0)``.
    """

    def g(r):
        r = np.asarray(r, dtype=float)
        return g_of_values(phi, r, np.asarray(phi(r), dtype=float), scale, derivative)

    return g


def g_of_values(
    phi: ArrFunc,
    r: np.ndarray,
    values: np.ndarray,
    scale: float = 1.0,
    derivative: ArrFunc | None = None,
) -> np.ndarray:
    """:func:`phi_to_g`'s ``g`` at ``r`` from ``values``, Phi's values there already
    computed (``phi`` is called again only for ``g(0)``, near 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # r = 0 is set below
        out = values / r
    if np.any(r == 0.0):
        out = np.where(r == 0.0, _g_at_zero(phi, scale, derivative), out)
    return out


#: :func:`_g_at_zero` trusts a derivative whose error estimate is below this fraction of
#: it; else it tries steps ``G0_LADDER`` times smaller, down to ``G0_SMALLEST`` x scale.
G0_CLEAN = 1e-8
G0_LADDER = 1e-3
G0_SMALLEST = 1e-290


def _g_at_zero(phi: ArrFunc, scale: float, derivative: ArrFunc | None = None) -> float:
    """``Phi'(0)``, or +-inf where ``Phi(0) != 0``; see :func:`phi_to_g`.

    With ``derivative`` (Phi' known) and ``Phi(0) = 0``: :func:`_slope_at_zero`, where
    it is finite (a peak of g at 0 narrower than any step, ``r (1 + 100 exp(-(r/1e-8)^2))``:
    101, where differences at lambda's scale read 1).  Else:

    The steps follow ``scale``; where Phi's features are much smaller (a function of
    ``r / 1e-4`` given with scale 1: its differences over steps of 1e-2 see a step
    function), the estimate is not clean (its error estimate above ``G0_CLEAN`` of
    it, or the one-sided estimates disagree), and the steps are made ``G0_LADDER``
    times smaller until one is: the first clean estimate is taken, else the one
    at ``scale``.  A jump of Phi' at 0 (the one-sided estimates disagree) is taken
    as found, at the first step that sees it."""
    value, clean = _g_at_zero_at(phi, scale)
    if derivative is not None and math.isfinite(value):
        exact = _slope_at_zero(derivative, scale)
        if exact is not None:
            return exact
    step = scale
    while not clean and step * G0_LADDER > G0_SMALLEST * scale:
        step *= G0_LADDER
        smaller, clean = _g_at_zero_at(phi, step)
        if clean:
            return smaller
    return value


def _slope_at_zero(derivative: ArrFunc, scale: float) -> float | None:
    """``Phi'(0)`` from ``derivative`` (Phi'): its value at 0 where it is finite and
    the one-sided values at ``+-d`` (``d = G0_SMALLEST scale``, at least 1e-300) agree
    with it to 1e-9; else, where those two are finite, their mean (a jump of Phi' at 0,
    as ``where(r > 0, r, r/10)``: :func:`phi_to_g`'s rule; or Phi' not defined at 0
    itself, as ``abs`` on its kink); else None (not known: differences decide)."""
    d = max(G0_SMALLEST * scale, 1e-300)
    with np.errstate(all="ignore"):
        at = np.asarray(derivative(np.array([0.0, -d, d])), dtype=float).reshape(-1)
    if at.size != 3 or not np.all(np.isfinite(at[1:])):
        return None
    mean = float(0.5 * (at[1] + at[2]))
    near = 1e-9 * (abs(float(at[1])) + abs(float(at[2])))
    if math.isfinite(at[0]) and abs(at[1] - at[0]) <= near and abs(at[2] - at[0]) <= near:
        return float(at[0])
    return mean


def _g_at_zero_at(phi: ArrFunc, scale: float) -> tuple[float, bool]:
    """``(Phi'(0), clean)`` with steps of ``scale`` (:func:`_g_at_zero`)."""
    zero = np.zeros(1)
    found = []
    for rel_step in (1e-2, 2e-3):
        est, err = _derivative_estimates(phi, zero, np.array([rel_step * scale]))
        with np.errstate(all="ignore"):
            ends = np.asarray(phi(np.array([0.0, -6.0, 6.0]) * rel_step * scale), dtype=float)
        if abs(ends[0]) > 1e-8 * (abs(ends[1]) + abs(ends[2])):
            return math.copysign(math.inf, float(ends[0])), True
        if _one_sided_disagree(est, err)[0]:  # a jump of Phi' at 0
            return float(0.5 * (est[0, 1] + est[0, 2])), True
        found.append((float(np.min(err[0])), float(est[0, int(np.argmin(err[0]))])))
    err, best = min(found)
    clean = bool(err <= G0_CLEAN * abs(best))
    # the plain symmetric quotient at a tiny step is exact for linear Phi and
    # accurate for smooth, noise-free Phi: keep it when it agrees
    eps = 1e-7 * scale
    with np.errstate(all="ignore"):
        ends = np.asarray(phi(np.array([eps, -eps])), dtype=float)
    quotient = float((ends[0] - ends[1]) / (2.0 * eps))
    if abs(quotient - best) <= max(10.0 * err, 1e-12 * abs(best)):
        return quotient, clean
    return best, clean


def _lobatto(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Lobatto nodes (both ends included) and weights on [-1, 1]."""
    leg = np.zeros(n)
    leg[-1] = 1.0  # P_{n-1}
    inner = np.sort(np.polynomial.legendre.legroots(np.polynomial.legendre.legder(leg)))
    x = np.concatenate([[-1.0], inner, [1.0]])
    return x, 2.0 / (n * (n - 1) * np.polynomial.legendre.legval(x, leg) ** 2)


#: phi_to_psi's panel rule: 10 Gauss-Legendre nodes integrate; the degree-9
#: polynomial through them, compared with Phi at 12 Lobatto nodes (ends
#: included), says whether Phi is smooth on the panel.
#: Built on first use (numpy.polynomial costs start-up time): (nodes, weights, interp).
@functools.cache
def _quadrature_rule() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gx, gw = np.polynomial.legendre.leggauss(10)
    lx, _ = _lobatto(12)
    interp = np.polynomial.legendre.legvander(lx, 9) @ np.linalg.inv(
        np.polynomial.legendre.legvander(gx, 9)
    )
    return np.concatenate([gx, lx]) / 2.0 + 0.5, gw / 2.0, interp


_Q_MAX_DEPTH = 200
_Q_MAX_PANELS = 1_000_000


def _integrate_from_zero(f: ArrFunc, t: np.ndarray, rtol: float) -> np.ndarray:
    """``int_0^t f`` for sorted, unique, finite ``t >= 0``: adaptive, cumulative."""
    edges = np.concatenate([[0.0], t])
    a, b, owner = edges[:-1], edges[1:], np.arange(t.size)
    keep = b > a
    a, b, owner = a[keep], b[keep], owner[keep]
    total = np.zeros(t.size)
    scale = None
    q_nodes, q_weights, q_interp = _quadrature_rule()
    for depth in range(_Q_MAX_DEPTH):
        if a.size == 0:
            break
        width = b - a
        x = a[:, None] + width[:, None] * q_nodes[None, :]
        with np.errstate(all="ignore"):
            v = np.asarray(f(x.reshape(-1)), dtype=float).reshape(x.shape)
            gauss = (v[:, :10] @ q_weights) * width
            if scale is None:
                finite = np.isfinite(gauss)
                scale = max(float(np.sum(np.abs(gauss[finite]))), 1e-300)
            # pointwise misfit of the Gauss interpolant: a jump or kink anywhere
            # in [a, b] (also between the ends and the outer Gauss nodes) shows
            misfit = width * np.max(np.abs(v[:, :10] @ q_interp.T - v[:, 10:]), axis=1)
        mid = 0.5 * (a + b)
        done = ~(misfit > rtol * scale) | (mid <= a) | (mid >= b)
        if depth == _Q_MAX_DEPTH - 1 or np.count_nonzero(~done) > _Q_MAX_PANELS:
            done[:] = True
        np.add.at(total, owner[done], gauss[done])
        go = ~done
        a, mid, b, owner = a[go], mid[go], b[go], owner[go]
        a, b, owner = np.concatenate([a, mid]), np.concatenate([mid, b]), np.tile(owner, 2)
    # extended precision where the platform has it: many tiny pieces add up
    return np.cumsum(total.astype(np.longdouble)).astype(float)


def phi_to_psi(phi: ArrFunc, rtol: float = 1e-15) -> ArrFunc:
    """Activation to regulariser: ``Psi(r) = 2 int_0^r Phi(s) ds``.

    Adaptive quadrature over the sorted points r (each side of 0 apart, the
    pieces between neighbours summed cumulatively): a panel is accepted when
    the degree-9 interpolant through its 10 Gauss-Legendre nodes matches Phi
    at 12 Gauss-Lobatto nodes (its two ends included) to ``rtol`` times the
    size of the whole integral divided by the panel width; otherwise it is
    halved.  Kinks and jumps of Phi are thus bisected down to rounding, so the
    result is exact to about 1e-15 relative for smooth Phi and to 1e-13 or
    better for the kinked and jumping activations of the registry (soft,
    garrote, hard).  The cost is about 22 evaluations of Phi per point.
    """

    def psi(r):
        r = np.asarray(r, dtype=float)
        flat = r.reshape(-1)
        out = np.zeros_like(flat)
        for sign in (1.0, -1.0):
            side = sign * flat > 0.0
            if not side.any():
                continue
            t, where = np.unique(sign * flat[side], return_inverse=True)
            finite = np.isfinite(t)
            vals = np.full(t.size, np.nan)
            # on the negative side, Psi(-x) = 2 int_0^x -Phi(-y) dy
            f = phi if sign > 0 else (lambda y: -np.asarray(phi(-y), dtype=float))
            vals[finite] = 2.0 * _integrate_from_zero(f, t[finite], rtol)
            out[side] = vals[where]
        out[np.isnan(flat)] = np.nan
        return out.reshape(r.shape)

    return psi


def _d1_weights(nodes) -> np.ndarray:
    """Exact weights w with ``sum w_j f(j) = f'(0)`` for polynomials through the integer nodes."""
    from fractions import Fraction

    weights = []
    for j, xj in enumerate(nodes):
        total = Fraction(0)
        for m, xm in enumerate(nodes):
            if m != j:
                term = Fraction(1, xj - xm)
                for n, xn in enumerate(nodes):
                    if n not in (j, m):
                        term *= Fraction(-xn, xj - xn)
                total += term
        weights.append(float(total))
    return np.array(weights)


#: psi_to_phi samples Psi at r + k h/2 for these k: every k from -6 to 6 and
#: the even ones out to +-12.  Stencils with step h (rows: central of orders 6
#: and 4, left-sided 6 and 4, right-sided 6 and 4) use the even k; those with
#: step h/2 (central, left, right, order 6) use k = -6..6.
_D_OFFSETS = np.array([-12, -10, -8, *range(-6, 7), 8, 10, 12])


@functools.cache
def _derivative_stencils() -> np.ndarray:
    """The nine stencils on ``_D_OFFSETS``, built on first use (exact fractions are slow)."""
    stencils = np.zeros((9, _D_OFFSETS.size))
    for row, (nodes, unit) in enumerate(
        [
            (range(-3, 4), 2),
            (range(-2, 3), 2),
            (range(-6, 1), 2),
            (range(-4, 1), 2),
            (range(0, 7), 2),
            (range(0, 5), 2),
            (range(-3, 4), 1),
            (range(-6, 1), 1),
            (range(0, 7), 1),
        ]
    ):
        cols = np.searchsorted(_D_OFFSETS, unit * np.asarray(nodes))
        stencils[row, cols] = _d1_weights(list(nodes)) * (2 // unit)
    return stencils


def _derivative_estimates(psi: ArrFunc, r: np.ndarray, h: np.ndarray, samples: bool = False):
    """Central, left and right order-6 estimates of Psi'(r) with step h, each
    with an error estimate: its difference to the order-6 estimate with step
    h/2, plus 1e-3 times its difference to the order-4 estimate on the same
    points (a tie-breaker; at full weight this pessimistic term would hide
    the contamination by a weak kink near r).  With
    ``samples``, also the samples of Psi at ``r + k h/2`` (``_D_OFFSETS``)."""
    x = r[:, None] + (0.5 * h)[:, None] * _D_OFFSETS[None, :]
    with np.errstate(all="ignore"):
        v = np.asarray(psi(x.reshape(-1)), dtype=float).reshape(x.shape)
        # column by column, not v @ W.T: a BLAS product may round equal rows
        # differently, and Phi(-r) = -Phi(r) must hold to the last bit
        stencils = _derivative_stencils()
        d = np.zeros((r.size, stencils.shape[0]))
        for j in range(_D_OFFSETS.size):
            d += v[:, j, None] * stencils[None, :, j]
        d /= h[:, None]
        est = d[:, 0:6:2]
        err = np.abs(est - d[:, 6:9]) + 1e-3 * np.abs(est - d[:, 1:6:2])
    err = np.where(np.isfinite(err), err, np.inf)
    return (est, err, v) if samples else (est, err)


def _one_sided_disagree(est: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Both one-sided estimates clean, and different: Psi' jumps at r."""
    gap = np.abs(est[:, 1] - est[:, 2])
    noise = 100.0 * (err[:, 1] + err[:, 2]) + 1e-10 * (np.abs(est[:, 1]) + np.abs(est[:, 2]))
    return gap > noise


def psi_to_phi(psi: ArrFunc, scale: float = 1.0, rel_step: float = 2e-3) -> ArrFunc:
    """Regulariser to activation: ``Phi(r) = Psi'(r)/2``, numerically.

    Psi is sampled at ``r + k h``, ``k = -6..6`` (and halfway between for
    ``|k| <= 3``), ``h = rel_step * max(|r|, scale)`` (``scale``: the size of
    Psi's features, lambda).  Of the sixth-order central, left- and
    right-sided difference stencils the one that changes least against itself
    at step h/2 is taken, so a kink of Psi' (soft, garrote) or a jump (hard) near r is
    never straddled.  When the two one-sided estimates are both clean but
    disagree, Psi' jumps at r or very near it: the step is shrunk (by 1e3,
    1e6, 1e9) to see on which side r lies; at the jump itself the limit from
    the side of 0 is taken (the registry's convention, ``|r| <= lam``).

    Accuracy: about 1e-12 relative for smooth Psi where ``|r| >= 0.1 scale``
    (truncation ``h^6``); below, the rounding of Psi's samples, ``eps M`` (M the
    size of Psi's own rounding: ``2 lam^2`` for Charbonnier's ``2 lam^2 (sqrt(1 +
    r^2/lam^2) - 1)``, which cancels near 0), gives an absolute error of about
    ``eps M / h``, g's error times ``|r|``; so below ``3e-3 scale``, where Psi is smooth
    at 0, ``Phi = r g(r)`` with g the quadratic through ``Psi''(0)/2`` and g at the
    edge (:func:`_phi_near_zero`): measured (Charbonnier's and Perona-Malik's Psi, lam
    1e-6..1e6) g within 5.5e-12 of its closed form at every ``|r|`` from 1e-14 to 5
    scale, and at 0 (differences alone: 2e-7 at ``1e-7 scale``, 8e-4 at ``1e-12``).
    Within a distance d below ``6 h`` of a kink of Phi the error is of order ``d`` times
    the jump of Phi'.  Where the samples of
    Psi at ``-r`` mirror those at ``r`` (an even Psi), ``Phi(-r) = -Phi(r)``
    exactly.
    """

    def differenced(flat):
        a = np.abs(flat)
        h = rel_step * np.maximum(a, scale)
        plus, v_plus = _psi_to_phi_at(psi, a, h)
        minus, v_minus = _psi_to_phi_at(psi, -a, h)
        # where Psi is even on the stencil, Phi is made exactly odd
        mirror = v_minus[:, ::-1]
        with np.errstate(invalid="ignore"):
            even = np.all(np.abs(mirror - v_plus) <= 4.0 * _EPS * np.abs(v_plus), axis=1)
        return np.where(flat >= 0.0, plus, np.where(even, -plus, minus))

    def phi(r):
        r = np.asarray(r, dtype=float)
        flat = r.reshape(-1)
        near = np.abs(flat) < PSI_NEAR_ZERO * scale
        quadratic = _phi_near_zero(psi, flat[near], differenced, scale) if near.any() else None
        if quadratic is None:
            return differenced(flat).reshape(r.shape)
        out = np.empty_like(flat)
        out[near] = quadratic
        out[~near] = differenced(flat[~near])
        return out.reshape(r.shape)

    return phi


#: Below this fraction of ``scale`` :func:`psi_to_phi` takes ``Phi = r g(r)`` with g the
#: quadratic through ``g(0) = Psi''(0)/2`` (:func:`psi_g_at_zero`) and its differences'
#: ``g(+-PSI_NEAR_ZERO scale)``: there a difference quotient of Psi has an absolute error
#: of about ``eps M / h`` (M the size of Psi's own rounding, ``2 lam^2`` for Charbonnier's
#: ``2 lam^2 (sqrt(1 + r^2/lam^2) - 1)``), which is g's error times ``|r|``: measured (that
#: Psi and Perona-Malik's, lam 1e-6..1e6) 2e-8 of g at ``1e-5 scale``, 2e-7 at ``1e-7``,
#: 8e-4 at ``1e-12``, 40 at ``1e-14``; the quadratic's own error is ``c4 r_0^4 / 4`` (7.6e-12 for
#: Charbonnier's ``c4 = 3/8`` at ``r_0 = 3e-3``), and its ends' 1.4e-12 and 3.6e-12.
PSI_NEAR_ZERO = 3e-3


def _phi_near_zero(psi: ArrFunc, r: np.ndarray, differenced, scale: float) -> np.ndarray | None:
    """:func:`psi_to_phi` at ``|r| < PSI_NEAR_ZERO scale`` (:data:`PSI_NEAR_ZERO`):
    ``r (g0 + a r + b r^2)``, the quadratic through ``g(0) = Psi''(0)/2`` and the
    differences' ``g`` at ``+-r_0`` (``r_0 = PSI_NEAR_ZERO scale``: exactly odd where
    Psi is even there, and 0 at 0), where Psi is smooth at 0 on scale's size
    (:func:`psi_g_at_zero`) and g at ``+-r_0`` is within 1e-2 of g(0); else None: the
    differences themselves (a feature of Psi below that size is theirs to see, as far
    as they can)."""
    g0 = psi_g_at_zero(psi, scale)
    edge = PSI_NEAR_ZERO * scale
    ends = differenced(np.array([edge, -edge])) / np.array([edge, -edge])
    if g0 is None or not np.all(np.abs(ends - g0) <= 1e-2 * g0):
        return None
    a = (ends[0] - ends[1]) / (2.0 * edge)
    b = (ends[0] + ends[1] - 2.0 * g0) / (2.0 * edge * edge)
    return r * (g0 + r * (a + b * r))


#: Sixth-order central second difference: ``Psi''(0) ~ sum_k c_k Psi(k H) / H^2``, k = -3..3.
_SECOND_DIFFERENCE = np.array([1 / 90, -3 / 20, 3 / 2, -49 / 18, 3 / 2, -3 / 20, 1 / 90])


def psi_g_at_zero(psi: ArrFunc, lam: float) -> float | None:
    """``g(0) = Psi''(0)/2`` of a regulariser ``psi`` given as a function: the
    sixth-order central second difference at ``H = lam/100`` (rounding about ``6 eps M /
    H^2``, 1.3e-11 of g for Charbonnier), where the one at ``2 H`` agrees to 1e-9 relative
    (Psi smooth at 0 on lam's scale); else None."""
    found = []
    for step in (1e-2 * lam, 2e-2 * lam):
        with np.errstate(all="ignore"):
            v = np.asarray(psi(np.arange(-3, 4) * step), dtype=float)
        found.append(float(np.dot(_SECOND_DIFFERENCE, v)) / (2.0 * step * step))
    near, far = found
    if math.isfinite(near) and near > 0.0 and abs(near - far) <= 1e-9 * near:
        return near
    return None


_EPS: Final = float(np.finfo(float).eps)


def _psi_to_phi_at(psi: ArrFunc, x: np.ndarray, h: np.ndarray):
    """Psi'(x)/2 by the stencil rules of :func:`psi_to_phi`, and the samples of Psi."""
    est, err, v = _derivative_estimates(psi, x, h, samples=True)
    pick = np.argmin(err, axis=1)
    # between comparable one-sided estimates prefer the side away from 0: a
    # weak kink at 0 (any function of |r|) fools the error estimate of the
    # side that crosses it
    rows = np.arange(x.size)
    inner, outer = np.where(x >= 0.0, 1, 2), np.where(x >= 0.0, 2, 1)
    swap = (pick == inner) & (err[rows, outer] <= 10.0 * err[rows, inner])
    pick = np.where(swap, outer, pick)
    idx = np.flatnonzero(_one_sided_disagree(est, err))
    side = np.where(x[idx] >= 0.0, 1, 2)  # left for x >= 0: the side of 0
    for shrink in (1e-3, 1e-6, 1e-9):
        if idx.size == 0:
            break
        est2, err2 = _derivative_estimates(psi, x[idx], h[idx] * shrink)
        still = _one_sided_disagree(est2, err2)
        # no jump at x after all: the cleaner fine one-sided estimate is right,
        # and of the step-h estimates the one nearest to it is kept
        # (unless the fine step is too noisy to tell: then the side away from 0,
        # since a weak kink at 0 itself, as in any function of |r|, is the
        # likeliest cause: the other side differentiates the mirrored branch)
        done = idx[~still]
        clean = np.where(err2[~still, 1] <= err2[~still, 2], 1, 2)
        target = est2[~still][np.arange(done.size), clean]
        gap = np.abs(est[done, 1] - est[done, 2])
        sharp = np.minimum(err2[~still, 1], err2[~still, 2]) < 0.1 * gap
        nearest = np.argmin(np.abs(est[done] - target[:, None]), axis=1)
        outer = np.where(x[done] >= 0.0, 2, 1)
        pick[done] = np.where(sharp, nearest, outer)
        idx, side = idx[still], side[still]
    pick[idx] = side
    out = 0.5 * est[np.arange(x.size), pick]
    at_zero = idx[x[idx] == 0.0]  # a jump at 0 itself: the mean, odd as sign(0)
    out[at_zero] = 0.25 * (est[at_zero, 1] + est[at_zero, 2])
    return out, v


def phi_to_shrinkage(phi: ArrFunc, tau: float = 0.25) -> ArrFunc:
    """Activation to shrinkage: ``S(s) = s + 2 sqrt2 tau Phi(-sqrt2 s)``.

    One averaged Haar step (h = 1) with the detail ``w = (u_i - u_i+1)/sqrt2 =
    -d/sqrt2`` (``d = u_i+1 - u_i``, the difference Phi reads) moves ``u_i`` by
    ``d/4 + S(-d/sqrt2)/(2 sqrt2)`` per shift: the flux ``tau Phi(d)``.  Hence the
    argument ``-sqrt2 s``: for an odd Phi this is the paper's ``S(s) = s - 2 sqrt2
    tau Phi(sqrt2 s)``, equivalently ``s (1 - 4 tau g(sqrt2 s))`` (Mrazek, Weickert,
    Steidl 2005), bit for bit where Phi is odd; for an activation that is
    not odd (ReLU) only this form is the shrinkage its block applies.  Computed as
    ``(4 tau Phi(x) - x) / sqrt2`` at ``x = -sqrt2 s``: where ``4 tau Phi(x) = x``
    (tau = 1/4, Phi linear) S is exactly 0, not the rounding of ``s -
    Phi(sqrt2 s)/sqrt2`` (-2e-16 s).
    """

    def shrinkage(s):
        x = -SQRT2 * np.asarray(s, dtype=float)
        return (4.0 * tau * phi(x) - x) / SQRT2

    return shrinkage


def shrinkage_to_phi(shrinkage: ArrFunc, tau: float = 0.25) -> ArrFunc:
    """Shrinkage to activation: ``tau Phi(r) = r/4 + S(-r/sqrt2)/(2 sqrt2)``.

    The inverse of :func:`phi_to_shrinkage` (see there for the sign): for an odd S
    the paper's ``r/4 - S(r/sqrt2)/(2 sqrt2)``; for a shrinkage that is not odd
    (one that shrinks positive coefficients only) the activation whose block is the
    Haar step with S itself, not with ``-S(-s)``."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        return phi_of_shrunk(r, shrinkage(-r / SQRT2), tau)

    phi.of_shrinkage = (shrinkage, tau)  # what it calls: phi_of_shrunk of its values
    slope = getattr(shrinkage, "derivative", None)  # S' known (a formula's): Phi' too
    if slope is not None:
        phi.derivative = lambda r: (0.25 - 0.25 * slope(-np.asarray(r, float) / SQRT2)) / tau
    return phi


def phi_of_shrunk(r: np.ndarray, shrunk, tau: float = 0.25):
    """:func:`shrinkage_to_phi`'s ``Phi(r)`` from ``shrunk``, the shrinkage's values at
    ``-r / sqrt2`` (computed already: the stability sampling's one evaluation)."""
    return (r / 4.0 + shrunk / (2.0 * SQRT2)) / tau
