"""The registry's regularisers Psi across the float64 range (audit D14), and the Psi of
the activations that are not odd (GELU, sigmoid, ReLU, leaky ReLU).

Psi = 2 lam^2 F(|r|/lam) overflowed in its squares (lam^2, (r/lam)^2) for
finite arguments: nan, -inf or inf where the value is an ordinary number, so
regularise's energy E_h read nan.  Here every family's Psi is compared, over
lambda and r from 1e-300 to 1e300, with a reference written here in Python's
``decimal`` (60 digits, an exponent range far beyond float64's): inf only where
the true value exceeds float64, never nan, else to 1e-12 relative.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise.nonlinearities import NONLINEARITIES, get_nonlinearity

CTX = decimal.Context(prec=60, Emax=10**6, Emin=-(10**6))
TOP = Decimal(np.finfo(np.float64).max)
KEYS = sorted(k for k, e in NONLINEARITIES.items() if e.psi is not None)
#: The activations that are not odd, whose Psi is checked by :func:`check_signed`.
SIGNED = ("gelu", "sigmoid", "relu", "leaky-relu")


def _atan(x: Decimal) -> Decimal:
    """arctan x for x >= 0: pi/2 - arctan(1/x) beyond 1; two halvings of the
    angle, then the Taylor series."""
    if x > 1:
        return _atan(Decimal(1)) * 2 - _atan(1 / x)
    for _ in range(2):
        x = x / (1 + (1 + x * x).sqrt())
    term, total, k = x, Decimal(0), 0
    while abs(term) > Decimal(10) ** -70:
        total += term / (2 * k + 1)
        term *= -x * x
        k += 1
    return 4 * total


def _unit(key: str, x: Decimal) -> Decimal:
    """F(x) with Psi = 2 lam^2 F(x), x = |r|/lam >= 0; series where it cancels."""
    small = x < Decimal("1e-6")
    if key == "linear":
        return x * x / 2
    if key == "charbonnier":
        return x * x / ((1 + x * x).sqrt() + 1)  # sqrt(1 + x^2) - 1
    if key == "soft":
        return x * x / 2 if x <= 1 else x - Decimal("0.5")
    if key == "perona-malik":
        if small:
            return x * x / 2 - x**4 / 8 + x**6 / 48
        return 1 - (-(x * x) / 2).exp()
    if key == "garrote":
        return x * x / 2 if x <= 1 else (1 + 2 * x.ln()) / 2
    if key == "hard":
        return min(x * x, Decimal(1)) / 2
    if key == "tanh":  # log cosh x
        if small:
            return x * x / 2 - x**4 / 12
        return x + (1 + (-2 * x).exp()).ln() - Decimal(2).ln()
    if key == "softsign":
        if small:
            return x * x / 2 - x**3 / 3 + x**4 / 4
        return x - (1 + x).ln()
    if key == "arctan":
        if small:
            return x * x / 2 - x**4 / 12
        return x * _atan(x) - (1 + x * x).ln() / 2
    raise KeyError(key)


def reference_psi(key: str, r: float, lam: float) -> Decimal:
    with decimal.localcontext(CTX):
        a, lam_d = abs(Decimal(r)), Decimal(lam)
        if a == 0:
            return Decimal(0)
        return 2 * lam_d * lam_d * _unit(key, a / lam_d)


def check(key: str, r: float, lam: float) -> None:
    got = float(get_nonlinearity(key, "regulariser", lam=lam).psi(np.array([r]))[0])
    ref = reference_psi(key, r, lam)
    assert not math.isnan(got), (key, r, lam)
    if ref > TOP:
        assert got == math.inf, (key, r, lam, got, ref)
        return
    want = float(ref)
    assert abs(got - want) <= 1e-12 * want + 1e-300, (key, r, lam, got, want)


magnitudes = st.floats(-300.0, 300.0).map(lambda e: 10.0**e)


def check_any(key: str, r: float, lam: float) -> None:
    (check_signed if key in SIGNED else check)(key, r, lam)


@pytest.mark.parametrize("key", KEYS + list(SIGNED))
def test_psi_across_the_float64_range(key):
    @settings(max_examples=max(60, settings.default.max_examples // 2), deadline=None)
    @given(magnitudes, magnitudes, st.booleans())
    def run(a, lam, negative):
        check_any(key, -a if negative else a, lam)

    run()


@pytest.mark.parametrize("key", KEYS + list(SIGNED))
@pytest.mark.parametrize(
    ("r", "lam"),
    [
        (1e200, 1.0),
        (1.0, 1e-200),
        (1e100, 1e200),
        (1e150, 1e160),
        (2e200, 5.4e199),
        (1e-160, 1e160),
        (1e300, 1e-300),
        (1e-300, 1e300),
        (3.0, 1.0),
        (0.2, 7.5),
        (1e-5, 1.0),  # near 0, where a closed form cancels; about 1, where forms change
        (0.9, 1.0),
        (1.1, 1.0),
        (45.0, 1.0),
    ],
)
def test_the_audit_cases(key, r, lam):
    check_any(key, r, lam)
    check_any(key, -r, lam)


BUMPS = (0.5, 0.3, 0.2)


def reference_bumps_psi(r: float, lam: float) -> Decimal:
    """Gaussians 2 lam^2 s^2 (1 - exp(-x^2/(2 s^2))) at s = 2^(j - (K-2)/2), and
    the tail 2 lam^2 (sqrt(1 + x^2) - 1)."""
    with decimal.localcontext(CTX):
        x = abs(Decimal(r)) / Decimal(lam)
        k = len(BUMPS)
        total = Decimal(BUMPS[-1]) * _unit("charbonnier", x)
        for j, c in enumerate(BUMPS[:-1]):
            s2 = Decimal(2) ** (2 * j - (k - 2))
            z = x * x / (2 * s2)
            part = z - z * z / 2 if z < Decimal("1e-20") else 1 - (-z).exp()
            total += Decimal(c) * s2 * part
        return 2 * Decimal(lam) ** 2 * total


@settings(max_examples=max(60, settings.default.max_examples // 2), deadline=None)
@given(magnitudes, magnitudes)
def test_bumps_psi_across_the_float64_range(a, lam):
    from resdenoise.nonlinearities import get_parametrised

    got = float(get_parametrised("bumps", BUMPS, lam=lam).psi(np.array([a]))[0])
    ref = reference_bumps_psi(a, lam)
    assert not math.isnan(got)
    if ref > TOP:
        assert got == math.inf
    else:
        assert abs(got - float(ref)) <= 1e-12 * float(ref) + 1e-300, (a, lam, got, ref)


def test_regularise_energy_is_finite_for_a_large_lambda():
    """The audit's E_h: for lam >> |d| every Psi is d^2, so E_h in = sum d^2."""
    from resdenoise.stability import energy

    f = np.array([0.0, 1.0, 1.0, 3.0, -2.0, 0.5])
    d = np.diff(f)
    for key in ("perona-malik", "tanh", "charbonnier", "arctan", "softsign"):
        nl = get_nonlinearity(key, "regulariser", lam=1e160)
        e = float(energy(nl, f, f, 1.0, 1.0).sum())
        assert e == pytest.approx(float(np.sum(d * d)), rel=1e-12), key


# --------------------------------------------------------------------------
# The activations that are not odd (GELU, sigmoid; ReLU and leaky ReLU, whose Psi is
# a square): Psi of r and -r differ, sigmoid's is negative for r < 0 (Phi(0) = lam/2)
# --------------------------------------------------------------------------

PI = Decimal(
    "3.14159265358979323846264338327950288419716939937510"
    "58209749445923078164062862089986280348253421170679"
)


def _normal_cdf(x: Decimal) -> Decimal:
    """Cdf(x) for |x| <= 10 by the series of erf (at 120 digits: its terms reach e^50)."""
    with decimal.localcontext(decimal.Context(prec=120, Emax=10**6, Emin=-(10**6))):
        z = x / Decimal(2).sqrt()
        term, total, n = z, Decimal(0), 0
        while abs(term) > Decimal(10) ** -110:
            total += term / (2 * n + 1)
            n += 1
            term *= -z * z / n
        return (1 + 2 * total / PI.sqrt()) / 2


def _signed_unit(key: str, x: Decimal) -> Decimal:
    """Psi / lam^2 at x = r/lam (any sign); series where the closed form cancels."""
    if key == "relu":
        return max(x, Decimal(0)) ** 2
    if key == "leaky-relu":
        return x * x if x >= 0 else Decimal("0.01") * x * x
    if key == "sigmoid":  # 2 (softplus(x) - ln 2)
        if abs(x) < Decimal("1e-6"):
            return x + x * x / 4 - x**4 / 96
        if x > 200:
            return 2 * (x - Decimal(2).ln())  # + 2 log1p(e^-x): below 1e-80 of it
        if x < -200:
            return -2 * Decimal(2).ln()
        return 2 * ((1 + x.exp()) / 2).ln()
    if key == "gelu":  # (x^2 - 1) Cdf(x) + x pdf(x) + 1/2
        if abs(x) < 1:  # x^2 (1/2 + sqrt(2/pi) sum_k (-1)^k x^(2k+1) / (2^k k! (2k+1)(2k+3)))
            term, total, k = x, Decimal(0), 0
            while abs(term) > Decimal(10) ** -70:
                total += term / ((2 * k + 1) * (2 * k + 3))
                k += 1
                term *= -x * x / (2 * k)
            return x * x * (Decimal("0.5") + (2 / PI).sqrt() * total)
        if x > 10:  # Cdf(x) = 1 and pdf(x) = 0 to within e^-50 of the value
            return x * x - Decimal("0.5")
        if x < -10:
            return Decimal("0.5")
        pdf = (-(x * x) / 2).exp() / (2 * PI).sqrt()
        return (x * x - 1) * _normal_cdf(x) + x * pdf + Decimal("0.5")
    raise KeyError(key)


def check_signed(key: str, r: float, lam: float) -> None:
    got = float(get_nonlinearity(key, "activation", lam=lam).psi(np.array([r]))[0])
    with decimal.localcontext(CTX):
        ref = Decimal(lam) ** 2 * _signed_unit(key, Decimal(r) / Decimal(lam))
    assert not math.isnan(got), (key, r, lam)
    if abs(ref) > TOP:
        assert got == math.copysign(math.inf, ref), (key, r, lam, got, ref)
        return
    want = float(ref)
    assert abs(got - want) <= 1e-12 * abs(want) + 1e-300, (key, r, lam, got, want)
