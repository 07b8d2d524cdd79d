"""Series for the closed forms of :mod:`resdenoise._families` near 0, where they cancel
as written: ``s - theta tanh(s/theta)`` and ``s - theta arctan(s/theta)`` (the shrinkages
of tanh and arctan).  Plain NumPy: it imports nothing of resdenoise.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np

#: Where ``|s/theta|`` is below this, ``s - theta f(s/theta)`` (tanh, arctan) is summed
#: as a series: as written it cancels, to a relative error of about 3 eps / x^2 (3e-15
#: at x = 0.5, all digits lost at 1e-8); the series' terms fall by x^2 (arctan) or
#: (2x/pi)^2 (tanh): each at most 1/4 of the one before, so 30 terms reach below eps.
_SERIES_BELOW = 0.5


def _odd_series(coefficients) -> np.ndarray:
    """The float64 coefficients c_1, c_2, ... of ``x - f(x) = sum_k c_k x^(2k+1)`` (k >= 1)."""
    return np.array([float(c) for c in coefficients], dtype=np.float64)


def _tanh_coefficients(terms: int = 30) -> list:
    """c_k of ``x - tanh x``: tanh's Taylor coefficients a_n from tanh' = 1 - tanh^2,
    ``(n + 1) a_(n+1) = [n = 0] - sum_(i+j=n) a_i a_j``, exactly (fractions)."""
    from fractions import Fraction

    a = [Fraction(0)] * (2 * terms + 2)
    a[1] = Fraction(1)
    for n in range(1, 2 * terms + 1):
        a[n + 1] = -sum(a[i] * a[n - i] for i in range(n + 1)) / (n + 1)
    return [-a[2 * k + 1] for k in range(1, terms + 1)]


@functools.cache
def tanh_rest() -> np.ndarray:
    """The coefficients of ``x - tanh x``, made on first use: exact fractions take 10 ms,
    which every run's start-up paid when they were made at import."""
    return _odd_series(_tanh_coefficients())


ARCTAN_REST: Final = _odd_series((-1) ** (k + 1) / (2 * k + 1) for k in range(1, 31))


def rest_near_zero(s, theta, as_written, coefficients):
    """``as_written`` (``s - theta f(s/theta)``), where ``|s/theta| < _SERIES_BELOW``
    replaced by the series ``s x^2 sum_k c_k x^(2k - 2)`` of ``coefficients``: accurate
    to a few eps relative for every s (0 at s = 0, as written)."""
    x = np.asarray(s / theta, dtype=np.float64)
    small = np.abs(x) < _SERIES_BELOW
    if not small.any():
        return as_written
    out = np.array(as_written, dtype=np.float64)
    xs, ss = x[small], np.broadcast_to(np.asarray(s, dtype=np.float64), x.shape)[small]
    x2 = xs * xs
    total = np.zeros_like(xs)
    for c in coefficients[::-1]:  # Horner in x^2
        total = total * x2 + c
    out[small] = ss * x2 * total
    return out if out.ndim else out[()]
