"""Exact scaling by powers of two, for samples whose squares would over- or underflow.

Multiplying by ``2**k`` is exact in binary floating point (while the values stay normal),
and every step of an automatic search (differences, fluxes with lambda, sums of squares)
scales exactly with it: a search of ``u / 2**k`` with lambda and the level divided too is
the search of ``u``, its numbers times ``2**k`` (levels) or ``4**k`` (squares).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LEVEL_RANGE", "level_shift", "times_power_of_two"]


#: The largest |sample| between which :func:`resdenoise.noise.search_noise` and the
#: automatic searches take their statistics of the samples as they are, else of the
#: samples times a power of two (:func:`level_shift`): 4th powers of 2**200 summed stay
#: finite, of 2**-220 normal.
LEVEL_RANGE = (2.0**-200, 2.0**200)


def times_power_of_two(x, shift: int):
    """``x`` (None, a number or one per channel) times ``2**shift``, exact where it stays
    in range (a report's sum of squares may go to inf or 0: no warning)."""
    if x is None:
        return None
    with np.errstate(over="ignore", under="ignore"):
        return (
            float(np.ldexp(x, shift)) if np.ndim(x) == 0 else np.ldexp(np.asarray(x, float), shift)
        )


def level_shift(u) -> int:
    """The power of two ``k`` to divide the samples ``u`` by (``np.ldexp(u, -k)``, exact)
    before an automatic search's statistics: 0 where the largest ``|sample|`` lies in
    :data:`LEVEL_RANGE` (or is 0, inf or NaN), else the ``k`` that brings it to [1/2, 1).
    Every step of the search scales exactly with the samples, so its choice for ``u``
    is the one for ``u / 2**k``, its level and lambda times ``2**k``."""
    u = np.asarray(u)
    if not u.size:
        return 0
    amplitude = float(max(-u.min(), u.max()))
    if LEVEL_RANGE[0] <= amplitude <= LEVEL_RANGE[1] or not 0.0 < amplitude < math.inf:
        return 0
    return math.frexp(amplitude)[1]
