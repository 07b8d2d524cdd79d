"""The closed forms behind the registry of :mod:`resdenoise.nonlinearities`.

The four forms g, Psi, S and Phi of every family of Alt, Weickert and Peter
(2020), Table 3 (linear, Charbonnier, soft, Perona-Malik, garrote, hard) and of
the odd activations tanh, softsign and arctan; then the common deep-learning
activations that are not odd (ReLU, leaky ReLU, GELU, SiLU, sigmoid) with their
Lipschitz constants.  Each function takes ``(r, lam)`` (a shrinkage function:
``(s, theta)``, ``theta = lam / sqrt2``).  Plain NumPy functions: the registry
imports them, they import nothing of resdenoise (but the series of :mod:`resdenoise._series`).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from ._series import ARCTAN_REST, rest_near_zero, tanh_rest

# --------------------------------------------------------------------------
# Where a square over- or underflows: the closed forms below and the flux
# kernels (resdenoise/_flux_kernels.py, resdenoise/_kernels.c) take
# Perona-Malik's exponent as -(r/lam)^2 / 2 and garrote's lam^2 / r as
# lam (lam / r) where lam^2 is not a normal number of the working dtype, so
# that no finite input gives inf/inf, 0/0 or a lost flux; elsewhere the
# usual form, whose numbers stay as they were.  (tanh and arctan, lam f(r/lam),
# give r itself where r/lam underflows; softsign +-lam where |r|/lam overflows, at
# r = +-inf too.)
# --------------------------------------------------------------------------

_LIMITS: Final = {
    np.dtype(t): (float(np.finfo(t).tiny), float(np.finfo(t).max)) for t in (np.float64, np.float32)
}


def pm_scaled(lam: float, dtype=np.float64) -> bool:
    """Whether Perona-Malik's exponent is taken as ``-(r/lam)^2 / 2``.

    The usual ``-(r r) / (2 lam^2)`` needs ``2 lam^2`` normal, and at most
    max / 2048: then an overflowing ``r r`` means ``(r/lam)^2 / 2 > 2048``,
    where exp gives 0 either way.
    """
    tiny, top = _LIMITS[np.dtype(dtype)]
    return not tiny <= 2.0 * lam * lam <= top / 2048.0


def gar_scaled(lam: float, dtype=np.float64) -> bool:
    """Whether garrote's far branch is taken as ``lam (lam / r)`` (lam^2 not normal)."""
    tiny, top = _LIMITS[np.dtype(dtype)]
    return not tiny <= lam * lam <= top


def below_normal(dtype=np.float64) -> float:
    """The smallest normal number of ``dtype``: below it ``r / lam`` has lost bits
    (``|r| < lam below_normal()``)."""
    return _LIMITS[np.dtype(dtype)][0]


# --------------------------------------------------------------------------
# Psi without spurious overflow.  Each Psi = 2 lam^2 F(x), x = |r|/lam, is
# computed in its usual form (whose numbers stay as they were) unless 2 lam^2
# is out of the range pm_scaled allows, or the usual form gives inf or nan for
# a finite r; there the scaled form: r^2 H(x) for x < 1 and lam |r| G(x) (or
# lam^2 G(x)) beyond, H and G of moderate size, each product formed from
# mantissas and exponents (frexp/ldexp), so it over- or underflows only where
# Psi itself does.
# --------------------------------------------------------------------------

_BIG: Final = float(np.finfo(np.float64).max)


def _product(a, b, c):
    """``a b c`` for non-negative a, b and moderate c: inf only where the value
    exceeds the float range, subnormal or 0 only where it is below it."""
    ma, ea = np.frexp(a)
    mb, eb = np.frexp(b)
    return np.ldexp(ma * mb * c, ea + eb)


def _psi_guarded(usual, scaled, r, lam, below=1e-140):
    """``usual(r, lam)`` where it is trustworthy, else ``scaled(a, x, lam)``
    (a = |r|, x = a/lam, possibly inf or 0).  ``below``: the x under which the
    usual form is not trusted (x^2 below the normal range; where it cancels, more)."""
    r = np.asarray(r, dtype=float)
    with np.errstate(all="ignore"):
        out = np.asarray(usual(r, lam), dtype=float)
        a = np.abs(r)
        x = a / lam
        if pm_scaled(lam):
            fix = np.isfinite(r)
        else:  # inf or nan; or x^2 below the normal range, where it loses bits
            fix = np.isfinite(r) & (~np.isfinite(out) | ((x < below) & (a > 0.0)))
        if not fix.any():
            return out
        safe = np.asarray(scaled(a, x, lam), dtype=float)
    return np.where(fix, safe, out)


def _guarded(r, lam, usual, near, far, far_lam=False):
    """Psi(r): ``usual`` where it is trustworthy, else :func:`_near_far` with
    ``near`` and ``far`` (see :func:`_psi_guarded`)."""
    return _psi_guarded(usual, lambda a, x, lam: _near_far(a, x, lam, near, far, far_lam), r, lam)


def _near_far(a, x, lam, near, far, far_lam=False):
    """``a^2 near(x)`` for x < 1, ``lam a far(x)`` (``lam^2 far(x)`` with
    ``far_lam``) beyond; ``near`` and ``far`` see x clipped to [0, 1] and
    [1, max] (no inf)."""
    xn = np.minimum(x, 1.0)
    xf = np.clip(x, 1.0, _BIG)
    return np.where(
        x < 1.0, _product(a, a, near(xn)), _product(lam, lam if far_lam else a, far(xf))
    )


# --------------------------------------------------------------------------
# Closed forms, Table 3.  Each takes (r, lam) (shrinkage: (s, theta)).
# --------------------------------------------------------------------------


def lin_g(r, lam):
    return np.ones_like(r)


def lin_psi(r, lam):
    with np.errstate(over="ignore"):  # inf only where r^2 exceeds the range
        return r * r


def lin_s(s, theta):
    return np.zeros_like(s)


def lin_phi(r, lam):
    return r.copy()


def cha_g(r, lam):
    with np.errstate(over="ignore"):  # r / lam = +-inf: g = 0, the limit
        return 1.0 / np.hypot(1.0, r / lam)  # sqrt(1 + x^2), without overflow


def _cha_psi_usual(r, lam):
    x = np.abs(r / lam)
    # 2 lam^2 (sqrt(1 + x^2) - 1), written without cancellation for small x
    # and without overflow for large x (hypot(1, x) = sqrt(1 + x^2)); the
    # factor x / (sqrt(1 + x^2) + 1) lies in [0, 1): 1 at x = inf
    with np.errstate(invalid="ignore"):
        return 2.0 * lam * lam * x * np.fmin(x / (np.hypot(1.0, x) + 1.0), 1.0)


def cha_psi(r, lam):
    return _guarded(
        r,
        lam,
        _cha_psi_usual,
        lambda t: 2.0 / (np.hypot(1.0, t) + 1.0),
        lambda t: 2.0 / (np.hypot(1.0, 1.0 / t) + 1.0 / t),  # 2 t / (sqrt(1 + t^2) + 1)
    )


def cha_s(s, theta):
    # lam = sqrt2 theta, so 2 s^2 / lam^2 = s^2 / theta^2; 1 - 1/q = y^2 / (q (q + 1))
    # for y = s/theta, q = hypot(1, y): without the cancellation of 1 - 1/q near s = 0
    # (where |y| <= 1: no square overflows; beyond, 1 - 1/q >= 0.29, as written)
    with np.errstate(over="ignore", invalid="ignore"):  # s / theta = +-inf: S = s, the limit
        y = s / theta
        q = np.hypot(1.0, y)
        return np.where(np.abs(y) <= 1.0, s * (y * y / (q * (q + 1.0))), s * (1.0 - 1.0 / q))


def cha_phi(r, lam):
    with np.errstate(over="ignore", invalid="ignore"):
        s = 1.0 + (r / lam) ** 2
        return np.where(s == np.inf, np.copysign(lam, r), r / np.sqrt(s))


def soft_g(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore", over="ignore"):  # lam/0 = inf, and min(1, inf) = 1
        return np.minimum(1.0, lam / a)


def _soft_psi_usual(r, lam):
    a = np.abs(r)
    return np.where(a <= lam, r * r, 2.0 * lam * a - lam * lam)


def soft_psi(r, lam):
    return _psi_guarded(
        _soft_psi_usual,
        lambda a, x, lam: np.where(
            a <= lam, _product(a, a, 1.0), _product(lam, a, 2.0 - 1.0 / np.maximum(x, 1.0))
        ),
        r,
        lam,
    )


def soft_s(s, theta):
    return np.sign(s) * np.maximum(np.abs(s) - theta, 0.0)


def soft_phi(r, lam):
    return np.clip(r, -lam, lam)


def pm_exponent(r, lam):
    """``-(r/lam)^2 / 2`` (see :func:`pm_scaled`)."""
    with np.errstate(over="ignore", under="ignore"):  # exp(-inf) = 0, the limit
        if pm_scaled(lam):
            x = r / lam
            return (x * x) * -0.5
        return -(r * r) / (2.0 * lam * lam)


def pm_g(r, lam):
    return np.exp(pm_exponent(r, lam))


def _pm_psi_usual(r, lam):
    return -2.0 * lam * lam * np.expm1(-(r * r) / (2.0 * lam * lam))


def _pm_near(t):
    t2 = t * t  # H = 2 (1 - e^(-t^2/2)) / t^2, 1 at 0
    return np.where(t < 1e-8, 1.0, -2.0 * np.expm1(-0.5 * t2) / np.where(t2 > 0.0, t2, 1.0))


def pm_psi(r, lam):
    return _guarded(r, lam, _pm_psi_usual, _pm_near, _pm_far, far_lam=True)


def _pm_far(t):
    return -2.0 * np.expm1(-0.5 * t * t)  # Psi / lam^2


def pm_s(s, theta):
    # lam^2 = 2 theta^2, so s^2 / lam^2 = s^2 / (2 theta^2)
    # -s^2 / (2 theta^2), scaled where 2 theta^2 is not normal (pm_scaled)
    return -s * np.expm1(pm_exponent(s, theta))


def pm_phi(r, lam):
    return r * np.exp(pm_exponent(r, lam))


def gar_g(r, lam):
    # lam^2/0 = inf, min(1, inf) = 1; (lam/r)^2 where r^2 overflows (|r| > 1.3e154: the
    # usual lam^2/inf would give 0 for (lam/r)^2, e.g. 0.25 at r = 2 lam = 2e154) or lam^2
    # is not normal; elsewhere the usual form, whose numbers stay as they were
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        if gar_scaled(lam):
            return np.minimum(1.0, (lam / r) ** 2)
        rr = r * r
        g = np.where(np.isinf(rr), (lam / r) ** 2, (lam * lam) / rr)[()]  # [()]: a scalar's
        return np.minimum(1.0, g)


def _gar_psi_usual(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore"):  # log(0) only in the branch not taken
        far = lam * lam * (1.0 + 2.0 * np.log(a / lam))
    return np.where(a <= lam, r * r, far)


def _gar_psi_scaled(a, x, lam):
    # log x = log a - log lam where a / lam overflows
    log_x = np.where(np.isfinite(x), np.log(np.maximum(x, 1.0)), np.log(a) - math.log(lam))
    return np.where(a <= lam, _product(a, a, 1.0), _product(lam, lam, 1.0 + 2.0 * log_x))


def gar_psi(r, lam):
    return _psi_guarded(_gar_psi_usual, _gar_psi_scaled, r, lam)


def gar_s(s, theta):
    a = np.abs(s)
    # theta (theta / s) where theta^2 is not normal (as gar_phi's lam (lam / r)): theta^2
    # overflowed above 1.3e154 (S = -inf) and underflowed below 1e-154 (S = s); theta / s
    # < 1 where the branch is taken (|s| > theta); elsewhere the numbers as they were
    with np.errstate(all="ignore"):  # over, divide, invalid: only where a <= theta
        far = s - (theta * (theta / s) if gar_scaled(theta) else theta * theta / s)
    return np.where(a > theta, far, 0.0)


def gar_phi(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        far = lam * (lam / r) if gar_scaled(lam) else lam * lam / r  # (only where a > lam)
    return np.where(a <= lam, r, far)


def hard_g(r, lam):
    return np.where(np.abs(r) <= lam, 1.0, 0.0)


def hard_psi(r, lam):
    with np.errstate(over="ignore"):  # min(inf, lam^2): inf only where both exceed
        return np.minimum(r * r, lam * lam)


def hard_s(s, theta):
    return np.where(np.abs(s) > theta, s, 0.0)


def hard_phi(r, lam):
    return np.where(np.abs(r) <= lam, r, 0.0)


def tanh_g(r, lam):
    # x = +-inf where r / lam overflows: tanh(x)/x = 0 there, the limit
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # x = 0 is set below
        x = r / lam
        out = np.tanh(x) / x
    return np.where(x == 0.0, 1.0, out)


def _tanh_far(t):
    return 2.0 + 2.0 * (np.log1p(np.exp(-2.0 * t)) - math.log(2.0)) / t


def _tanh_near(t):
    near = np.log1p(2.0 * np.sinh(0.5 * t) ** 2)  # log cosh t, H = 2 log cosh t / t^2
    t2 = t * t
    return np.where(t < 1e-8, 1.0, 2.0 * near / np.where(t2 > 0.0, t2, 1.0))


def _tanh_psi_usual(r, lam):
    a = np.abs(r / lam)
    # 2 lam^2 log cosh x.  Large a, overflow-free: a + log1p(e^-2a) - log 2;
    # small a, without cancellation: log1p(cosh a - 1) = log1p(2 sinh(a/2)^2).
    small = np.minimum(a, 1.0)
    near = np.log1p(2.0 * np.sinh(0.5 * small) ** 2)
    far = a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)
    return 2.0 * lam * lam * np.where(a < 1.0, near, far)


def tanh_psi(r, lam):
    return _guarded(r, lam, _tanh_psi_usual, _tanh_near, _tanh_far)


def tanh_phi(r, lam):
    # r where r / lam underflows: there Phi(r) = r to the last bit
    # and +-lam where it overflows (tanh(+-inf) = +-1, no overflow to report)
    with np.errstate(over="ignore"):
        return np.where(np.abs(r) < lam * below_normal(), r, lam * np.tanh(r / lam))


def softsign_g(r, lam):
    with np.errstate(over="ignore"):  # |r| / lam = inf: g = 0, the limit
        return 1.0 / (1.0 + np.abs(r) / lam)


def _softsign_series(small):
    """``(a - log1p(a)) / a^2 = sum_{k>=2} (-a)^(k-2) / k`` (Horner, 20 terms:
    relative error below 1e-16 for a < 0.1)."""
    series = np.zeros_like(small)
    for k in range(21, 1, -1):
        series = series * small + (-1.0) ** k / k
    return series


def _softsign_psi_usual(r, lam):
    a = np.abs(r / lam)
    # a - log1p(a) cancels for small a: there the series
    small = np.minimum(a, 0.1)
    near = _softsign_series(small) * small * small
    return 2.0 * lam * lam * np.where(a < 0.1, near, a - np.log1p(a))


def _softsign_near(t):
    small = np.minimum(t, 0.1)
    return 2.0 * np.where(
        t < 0.1, _softsign_series(small), (t - np.log1p(t)) / np.maximum(t * t, 0.01)
    )


def softsign_psi(r, lam):
    return _guarded(r, lam, _softsign_psi_usual, _softsign_near, _softsign_far)


def _softsign_far(t):
    return 2.0 - 2.0 * np.log1p(t) / t


def softsign_phi(r, lam):
    with np.errstate(over="ignore", invalid="ignore"):
        s = 1.0 + np.abs(r) / lam
        # where |r|/lam overflows (lam < 1) or r is +-inf (a difference that overflowed
        # the dtype): Phi's limit +-lam, not inf / inf = nan, as the compiled loop gives
        return np.where(s == np.inf, np.copysign(lam, r), r / s)


def arctan_g(r, lam):
    # x = +-inf where r / lam overflows: arctan(x)/x = 0 there, the limit
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # x = 0 is set below
        x = r / lam
        out = np.arctan(x) / x
    return np.where(x == 0.0, 1.0, out)


def _arctan_psi_usual(r, lam):
    x = r / lam
    return 2.0 * lam * lam * (x * np.arctan(x) - 0.5 * np.log1p(x * x))


def _arctan_near(t):
    # H = 2 (t arctan t - log1p(t^2)/2) / t^2 = sum_k 2 (-t^2)^k / ((2k+1)(2k+2))
    small = np.minimum(t, 0.1) ** 2
    series = np.zeros_like(small)
    for k in range(12, -1, -1):
        series = series * -small + 2.0 / ((2 * k + 1) * (2 * k + 2))
    t2 = np.maximum(t * t, 0.01)
    return np.where(t < 0.1, series, (2.0 * t * np.arctan(t) - np.log1p(t2)) / t2)


# far: 2 arctan t - log1p(t^2) / t, with log1p(t^2) = 2 log t + log1p(1/t^2)
def arctan_psi(r, lam):
    return _guarded(r, lam, _arctan_psi_usual, _arctan_near, _arctan_far)


def _arctan_far(t):
    return 2.0 * np.arctan(t) - (2.0 * np.log(t) + np.log1p(1.0 / (t * t))) / t


def arctan_phi(r, lam):
    # r where r / lam underflows: there Phi(r) = r to the last bit
    # and +-lam pi/2 where it overflows (arctan(+-inf), no overflow to report)
    with np.errstate(over="ignore"):
        return np.where(np.abs(r) < lam * below_normal(), r, lam * np.arctan(r / lam))


# Shrinkage of the three odd activations: S(s) = s - Phi(sqrt2 s)/sqrt2 at
# tau = 1/4, and with lam = sqrt2 theta the sqrt2 cancel.


def tanh_s(s, theta):
    with np.errstate(over="ignore"):  # s / theta = +-inf: tanh = +-1, the limit
        return rest_near_zero(s, theta, s - theta * np.tanh(s / theta), tanh_rest())


def softsign_s(s, theta):
    a = np.abs(s)
    with np.errstate(over="ignore", invalid="ignore"):
        out = s * a / (theta + a)
    bad = ~np.isfinite(out)
    if bad.any():  # s a overflowed (|s| > 1e154): s / (1 + theta / a), without the square
        out = np.asarray(out)
        out[bad] = np.asarray(s)[bad] / (1.0 + theta / np.asarray(a)[bad])
    return out


def arctan_s(s, theta):
    with np.errstate(over="ignore"):  # s / theta = +-inf: arctan = +-pi/2, the limit
        return rest_near_zero(s, theta, s - theta * np.arctan(s / theta), ARCTAN_REST)


# --------------------------------------------------------------------------
# Common deep-learning activations that are NOT odd: activation-only entries of
# NON_ODD_ACTIVATIONS (relu, leaky relu, gelu, silu: 0 <= g <= 1, stable though not
# odd; the sigmoid: Phi(0) != 0, refused by check_tau).
# Each is lam * f(r / lam) for the usual unit f (relu and leaky relu do not
# depend on lam).
# --------------------------------------------------------------------------

#: Negative slope of the leaky ReLU.
LEAKY_SLOPE: Final = 0.01


def relu_phi(r, lam):
    return np.maximum(r, 0.0)


def relu_g(r, lam):
    # Heaviside; at 0 the symmetric difference quotient of Phi, 1/2
    return np.where(r > 0, 1.0, np.where(r < 0, 0.0, 0.5))


def relu_psi(r, lam):
    with np.errstate(over="ignore"):  # inf only where r^2 exceeds the range
        return np.maximum(r, 0.0) ** 2


def leaky_phi(r, lam):
    return np.where(r >= 0, r, LEAKY_SLOPE * r)


def leaky_g(r, lam):
    return np.where(r > 0, 1.0, np.where(r < 0, LEAKY_SLOPE, 0.5 * (1.0 + LEAKY_SLOPE)))


def leaky_psi(r, lam):
    with np.errstate(over="ignore"):  # inf only where the value exceeds the range
        return np.where(r >= 0, 1.0, LEAKY_SLOPE) * r * r


_ERFC = np.vectorize(math.erfc, otypes=[float])


def _normal_cdf(x):
    return 0.5 * _ERFC(-np.asarray(x, dtype=float) / math.sqrt(2.0))


def gelu_phi(r, lam):
    return r * _normal_cdf(r / lam)


def gelu_g(r, lam):
    return _normal_cdf(r / lam)


def _gelu_psi_usual(r, lam):
    # 2 int_0^r s Cdf(s/lam) ds = lam^2 ((x^2 - 1) Cdf(x) + x pdf(x) + 1/2), x = r/lam
    x = r / lam
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return lam * lam * ((x * x - 1.0) * _normal_cdf(x) + x * pdf + 0.5)


def gelu_psi(r, lam):
    """Not odd: the scaled form by the sign of r (:func:`_signed`); the usual one
    cancels to x^2/2 below |x| = 0.1 (1e-14 relative there), so the series there."""
    return _psi_guarded(_gelu_psi_usual, _signed(r, _gelu_scaled), r, lam, below=0.1)


#: H(x) = Psi / r^2 of GELU for |x| < 1: 1/2 + sqrt(2/pi) sum_k (-1)^k x^(2k+1) /
#: (2^k k! (2k+1)(2k+3)), whose terms fall below 1e-17 of the first by k = 13.
_GELU_SERIES: Final = tuple(
    (-1) ** k / (2**k * math.factorial(k) * (2 * k + 1) * (2 * k + 3)) for k in range(14)
)


def _gelu_scaled(a, x, lam, negative):
    """GELU's Psi as ``r^2 H(x)`` for |x| < 1 (the series), ``r^2 G(x)`` for x >= 1,
    ``G = (1 - 1/x^2) Cdf(x) + pdf(x)/x + 1/(2 x^2)`` (1/2 to 1), and ``lam^2 G(x)``
    for x <= -1, ``G = 1/2 + (x^2 - 1) Cdf(x) + x pdf(x)`` (0.25 to 1/2)."""
    xs = np.where(negative, -1.0, 1.0) * np.minimum(x, 1.0)
    z = xs * xs
    series = np.zeros_like(z)
    for c in reversed(_GELU_SERIES):
        series = series * z + c
    near = 0.5 + math.sqrt(2.0 / math.pi) * xs * series
    f = np.clip(x, 1.0, 40.0)  # beyond 40: Cdf(-x) = 0 and pdf = 0 in float64
    pdf = np.exp(-0.5 * f * f) / math.sqrt(2.0 * math.pi)
    inv = 1.0 / np.maximum(x, 1.0)  # 0 at inf
    above = (1.0 - inv * inv) * _normal_cdf(f) + pdf * inv + 0.5 * inv * inv
    below = np.where(x > 40.0, 0.5, 0.5 + (f * f - 1.0) * _normal_cdf(-f) - f * pdf)
    far = np.where(negative, _product(lam, lam, below), _product(a, a, above))
    return np.where(x < 1.0, _product(a, a, near), far)


def _signed(r, scaled):
    """``scaled(a, x, lam, negative)`` as :func:`_psi_guarded`'s ``scaled(a, x, lam)``
    for a Psi that is not even: ``negative``, where r is (its sign bit)."""
    negative = np.signbit(np.asarray(r, dtype=float))
    return lambda a, x, lam: scaled(a, x, lam, negative)


def _logistic(x):
    return 0.5 + 0.5 * np.tanh(0.5 * x)  # overflow-free 1/(1 + e^-x)


def silu_phi(r, lam):
    return r * _logistic(r / lam)


def silu_g(r, lam):
    return _logistic(r / lam)


def sigmoid_phi(r, lam):
    return lam * _logistic(r / lam)


def sigmoid_g(r, lam):
    with np.errstate(divide="ignore"):  # Phi(0) = lam/2: g = +-inf at 0
        return lam * _logistic(r / lam) / r


def _sigmoid_psi_usual(r, lam):
    # 2 int_0^r lam sigma(s/lam) ds = 2 lam^2 (softplus(r/lam) - ln 2)
    return 2.0 * lam * lam * (np.logaddexp(0.0, r / lam) - math.log(2.0))


def sigmoid_psi(r, lam):
    """Not odd, and ``lam r`` near 0 (Phi(0) = lam/2): the scaled form by the sign of r
    (:func:`_signed`); the usual one cancels below |x| = 0.1 (1e-15 relative there)."""
    return _psi_guarded(_sigmoid_psi_usual, _signed(r, _sigmoid_scaled), r, lam, below=0.1)


def _sigmoid_scaled(a, x, lam, negative):
    """Sigmoid's Psi = 2 lam^2 D(x), D = softplus - ln 2 = log1p(expm1(x)/2), as
    ``lam r K(x)`` for |x| < 1, ``K = 2 D(x)/x`` (0.76 to 1.25; 1 + x/4 + ...),
    ``lam |r| (2 - 2 (ln 2 - log1p(e^-x))/x)`` for x >= 1 (1.24 to 2), and
    ``lam^2 2 D(x)`` for x <= -1 (-2 ln 2 to -0.76)."""
    xs = np.where(negative, -1.0, 1.0) * np.minimum(x, 1.0)
    tiny = x < 1e-20  # K = 1 to the last bit
    k = np.where(tiny, 1.0, 2.0 * np.log1p(0.5 * np.expm1(xs)) / np.where(tiny, 1.0, xs))
    f = np.clip(x, 1.0, _BIG)
    above = 2.0 - 2.0 * (math.log(2.0) - np.log1p(np.exp(-f))) / f
    below = 2.0 * np.log1p(0.5 * np.expm1(-f))
    near = _product(lam, a, np.where(negative, -k, k))
    far = np.where(negative, _product(lam, lam, below), _product(lam, a, above))
    return np.where(x < 1.0, near, far)


#: Lipschitz constants: max Phi' of GELU at x = sqrt2, Cdf(x) + x pdf(x);
#: of SiLU where x tanh(x/2) = 2 (x = 2.39936...), sigma + x sigma (1 - sigma).
GELU_LIPSCHITZ: Final = 0.5 * math.erfc(-1.0) + math.sqrt(2.0) * math.exp(-1.0) / math.sqrt(
    2.0 * math.pi
)
SILU_LIPSCHITZ: Final = 1.0998393201288668


# --------------------------------------------------------------------------
# The parametrised family "bumps": g(r) = sum_k c_k b_k(|r|/lam), c_k >= 0.
# Every bump is even, smooth, 1 at 0 and non-increasing in |r|, so
# g_max = g(0) = sum c and g_min = inf g = 0; |b_k + x b_k'| <= 1 gives the
# Lipschitz constant of Phi = r g, also sum c.  The first K - 1 bumps are
# Gaussians exp(-x^2/(2 s_j^2)) at the scales s_j = 2^(j - (K - 2)/2)
# (a geometric ladder centred on lambda); the last is the heavy tail
# 1/sqrt(1 + x^2) (Charbonnier), which keeps a monotone Phi reachable.
# --------------------------------------------------------------------------


def bump_scales(count: int) -> np.ndarray:
    """The Gaussian scales ``s_j = 2^(j - (K - 2)/2)``, j < K - 1, of K bumps."""
    return 2.0 ** (np.arange(count - 1) - (count - 2) / 2.0)


def bump_basis(x, count: int, derivative: bool = False, rows=None):
    """The K bumps at ``x = |r|/lam >= 0``, stacked on a new first axis; with
    ``derivative`` also their derivatives in x (same shape).

    One exponential for the widest Gaussian, ``exp(a)`` with ``a = -x^2/(2 s^2)``;
    each scale below it is half the one above, so its bump is the one above to the
    4th power (two squarings), taken as :func:`bump_rows_numpy` says: from
    ``e = expm1(a)`` while the bump is above 1/2, so that the rounding of exp near 1
    is not raised to the power 4^(K-2) (each bump is its formula to a few ulp of
    ``1 + 2 x^2/(2 s^2)``, for K up to 32 and beyond).  ``rows(x, basis)``: the same
    rows of a C-contiguous ``x``, bit for bit as :func:`bump_rows_numpy` gives them
    (the compiled ones, :func:`resdenoise._flux_kernels.bump_rows`); default NumPy's.
    """
    x = np.asarray(x, dtype=float)
    scales = bump_scales(count)
    basis = np.empty((count,) + x.shape)
    top = count - 2
    compiled = rows is not None and x.size > 0 and x.flags.c_contiguous and x.flags.writeable
    with np.errstate(over="ignore", under="ignore"):  # x^2 = inf: exp(-inf) = 0, the limit
        np.multiply(x, x, out=basis[top, ...])
        np.multiply(basis[top, ...], -0.5 / (scales[top] * scales[top]), out=basis[top, ...])
        if top > 0:  # e = b - 1 of the widest Gaussian, in the tail's row until the tail
            np.expm1(basis[top, ...], out=basis[-1, ...])
        np.exp(basis[top, ...], out=basis[top, ...])
    (rows if compiled else bump_rows_numpy)(x, basis)
    if not derivative:
        return basis
    slope = np.empty_like(basis)
    for j in range(count - 1):
        np.multiply(basis[j, ...], x, out=slope[j, ...])
        np.multiply(slope[j, ...], -1.0 / (scales[j] * scales[j]), out=slope[j, ...])
    np.power(basis[-1, ...], 3, out=slope[-1, ...])
    np.multiply(slope[-1, ...], -x, out=slope[-1, ...])
    return basis, slope


#: Where the squarings of :func:`bump_rows_numpy` leave ``e = b - 1`` for ``b`` itself.
BUMP_SWITCH: Final = -0.5


def bump_rows_numpy(x, basis) -> None:
    """The rows of :func:`bump_basis` below its widest Gaussian, and the tail, in place.

    On entry row K - 2 of ``basis`` holds the widest Gaussian ``b = exp(a)`` and row
    K - 1 (if K > 2) ``e = expm1(a)``.  Each squaring is ``e <- e (e + 2)``
    (``(1 + e)^2 - 1``: it adds about 2 ulp to e's relative error, not 4 times it), and the
    bump ``b <- 1 + e`` where the bump being squared is above 1/2 (``e > -1/2``), else
    ``b <- b b`` (there the bump's exponent is below -ln 2: squaring's 4-fold error is
    the formula's own, ``x^2`` rounded, 4 times larger too); row j < K - 2 is row j + 1 squared
    twice.  Once no e is above -1/2 (e only falls), the rows are plain squarings.
    Then row K - 1 becomes the tail ``1/hypot(1, x)``.
    """
    top = basis.shape[0] - 2
    e = basis[-1, ...] if top > 0 else None  # e in place: the tail's row is written last
    near = np.empty(basis.shape[1:], dtype=bool)
    t = np.empty(basis.shape[1:])
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for j in range(top - 1, -1, -1):
            row, above = basis[j, ...], basis[j + 1, ...]
            for _ in range(2):
                np.multiply(above, above, out=row)
                if e is not None:
                    np.greater(e, BUMP_SWITCH, out=near)
                    np.add(e, 2.0, out=t)
                    np.multiply(e, t, out=e)
                    np.add(e, 1.0, out=t)
                    np.copyto(row, t, where=near)
                    e = e if near.any() else None
                above = row
        np.hypot(1.0, x, out=basis[-1, ...])
        np.divide(1.0, basis[-1, ...], out=basis[-1, ...])  # 1/sqrt(1 + x^2), without overflow


def bumps_sum(c, terms, summed=None):
    """``sum_k c_k terms[k]`` in the fixed order ``(c_0 t_0 + c_1 t_1) + ...``, value
    by value, so that each value depends on its own sample only: not on how many there
    are (tiles), nor on BLAS threads, as ``np.tensordot`` (a BLAS call) does in the last
    bits.  Overflow gives inf silently, as that did.  ``summed(c, terms, out)``: the
    same sum of C-contiguous float64 ``terms`` (K x n), bit for bit, in one pass (the
    compiled one, :func:`resdenoise._flux_kernels.bump_sum`); default NumPy's."""
    if summed is not None and _one_pass(terms):
        out = np.empty(terms.shape[1:])
        summed(np.ascontiguousarray(c, dtype=float), terms, out)
        return out
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.multiply(terms[0], c[0], out=np.empty_like(terms[0]))
        part = np.empty_like(out)
        for k in range(1, len(c)):
            np.multiply(terms[k], c[k], out=part)
            np.add(out, part, out=out)
    return out


def _one_pass(terms) -> bool:
    """Whether :func:`bumps_sum` may hand ``terms`` to a compiled ``summed``."""
    return (
        isinstance(terms, np.ndarray)
        and terms.ndim > 1
        and terms.size > 0
        and terms.dtype == np.float64
        and terms.flags.c_contiguous
    )


def bumps_g(r, lam, c, rows=None, summed=None):
    """``g(r) = sum_k c_k b_k(|r|/lam)`` (``rows``: :func:`bump_basis`'; ``summed``:
    :func:`bumps_sum`')."""
    c = np.asarray(c, dtype=float)
    with np.errstate(over="ignore"):  # |r|/lam = inf: every bump is 0 there
        basis = bump_basis(np.abs(r) / lam, c.size, rows=rows)
    return bumps_sum(c, basis, summed)


def bumps_phi(r, lam, c, rows=None, summed=None):
    """``Phi(r) = r g(r)``; where ``|r|/lam`` overflows only the tail is left,
    ``c_K r/sqrt(1 + x^2) -> c_K lam sign(r)`` (not r times a g of 0).
    ``rows``: :func:`bump_basis`'; ``summed``: :func:`bumps_sum`'."""
    c = np.asarray(c, dtype=float)
    with np.errstate(over="ignore"):
        x = np.abs(r) / lam
    out = r * bumps_sum(c, bump_basis(x, c.size, rows=rows), summed)
    far = np.isinf(x)
    if far.any():
        out = np.where(far, np.copysign(c[-1] * lam, r), out)
    return out


def bumps_psi(r, lam, c):
    """``Psi(r) = 2 int_0^r Phi``: Gaussians 2 lam^2 s^2 (1 - exp(-x^2/(2 s^2))),
    the tail 2 lam^2 (sqrt(1 + x^2) - 1).  For x = |r|/lam < 1 written as
    ``r^2 sum c_k q_k(x)`` with ``q_k = Psi_k / r^2`` in [0, 1] (1 at 0), so that
    neither lam^2 nor x^2 underflows there; beyond, where lam^2 or x overflows,
    ``lam |r| sum c_k Psi_k / (lam |r|)``."""
    c = np.asarray(c, dtype=float)
    return _guarded(
        r,
        lam,
        lambda r, lam: _bumps_psi_usual(r, lam, c),
        lambda t: _bumps_terms(t, c),
        lambda t: _bumps_terms(t, c, far=True),
    )


def _bumps_terms(t, c, far=False):
    """``sum c_k Psi_k / r^2`` at t = |r|/lam in [0, 1], or with ``far``
    ``sum c_k Psi_k / (lam |r|)`` at t in [1, max]: only the half asked for."""
    scales = bump_scales(c.size).reshape((-1,) + (1,) * t.ndim)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        z2 = (t / scales) ** 2
        gauss = -np.expm1(-0.5 * z2)
        if far:
            inv = 1.0 / t
            terms = np.concatenate(
                [2.0 * scales * scales * gauss * inv, (2.0 / (np.hypot(1.0, inv) + inv))[None]]
            )
        else:
            terms = np.concatenate(
                [
                    np.where(z2 > 1e-20, 2.0 * gauss / z2, 1.0),
                    (2.0 / (np.hypot(1.0, t) + 1.0))[None],
                ]
            )
    return bumps_sum(c, terms)


def _bumps_psi_usual(r, lam, c):
    r = np.asarray(r, dtype=float)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # the limits at 0, inf
        x = np.abs(r) / lam
        scales = bump_scales(c.size).reshape((-1,) + (1,) * x.ndim)
        z2 = (x / scales) ** 2
        gauss = -np.expm1(-0.5 * z2)  # 1 - exp(-z^2/2)
        hyp = np.hypot(1.0, x)
        far = np.concatenate(
            [2.0 * scales * scales * gauss, (2.0 * x * np.fmin(x / (hyp + 1.0), 1.0))[None]]
        )
        near = np.concatenate(
            [np.where(z2 > 0.0, 2.0 * gauss / z2, 1.0), (2.0 / (hyp + 1.0))[None]]
        )
        return np.where(
            x < 1.0,
            (r * r) * bumps_sum(c, near),
            lam * (lam * bumps_sum(c, far)),
        )


#: bumps_monotone's grid: points per octave of x, and the refinements of its minima.
_MONOTONE_OCTAVE: Final = 256
_MONOTONE_ZOOMS: Final = 4


def bumps_slope(c, x, basis=None, slope=None):
    """``Phi'`` of the bumps in units of x: ``sum c_k (b_k + x b_k')`` as
    :func:`bump_basis` computes the bumps (``basis``, ``slope``: its pair at x, when
    already computed)."""
    if basis is None or slope is None:
        basis, slope = bump_basis(x, c.size, derivative=True)
    return bumps_sum(c, basis + x * slope)


def bumps_monotone(c) -> bool:
    """Whether ``Phi = r g`` of the bumps with coefficients c is non-decreasing,
    ``sum c_k (b_k + x b_k') >= -1e-12 sum c``.  Each Gaussian's term is
    ``(1 - z^2) exp(-z^2/2)``, ``z = x/s_k``: it varies over an octave of x about its
    own scale, so x is sampled geometrically, 256 points an octave from s_0/16 (below
    which every term is above 0.99 c_k) to 10 max(s_max, 1) (beyond which the
    Gaussians are below e^-50 and the tail's slope ``c_K (1 + x^2)^(-3/2) >= 0``
    decides); each sampled local minimum is then refined (4 zooms of 33 points
    between its neighbours, to 2^-8 / 16^4 octave), so that a dip is missed only if
    it is narrower than a grid step (then shallower than about 1e-5 sum c)."""
    c = np.asarray(c, dtype=float)
    scales = bump_scales(c.size)
    low, high = math.log2(scales[0] / 16.0), math.log2(10.0 * max(float(scales[-1]), 1.0))
    t = np.linspace(low, high, int((high - low) * _MONOTONE_OCTAVE) + 1)
    f = bumps_slope(c, np.exp2(t))
    floor = -1e-12 * float(c.sum())
    if not f.min() >= floor:
        return False
    inner = np.flatnonzero((f[1:-1] <= f[:-2]) & (f[1:-1] <= f[2:])) + 1
    centre, half = t[inner], t[1] - t[0]
    step = np.linspace(-1.0, 1.0, 33)
    for _ in range(_MONOTONE_ZOOMS):
        if centre.size == 0:
            break
        at = centre[:, None] + half * step
        near = bumps_slope(c, np.exp2(at))
        if not near.min() >= floor:
            return False
        centre, half = at[np.arange(centre.size), np.argmin(near, axis=1)], half / 16.0
    return True
