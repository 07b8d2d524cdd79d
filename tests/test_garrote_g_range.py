"""The garrote diffusivity g = min(1, lam^2/r^2) without spurious underflow where r^2
overflows (audit12a D5): within a few ulp of the exact value over the whole float range."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from resdenoise.nonlinearities import get_nonlinearity

EXE = str(Path(sys.executable).parent / "resdenoise")
positive = st.floats(1e-300, 1e300, allow_nan=False, allow_infinity=False)


def _exact_g(r: float, lam: float) -> float:
    """min(1, lam^2 / r^2) in exact rationals, then rounded once."""
    if r == 0.0:
        return 1.0
    return float(min(Fraction(1), Fraction(lam) ** 2 / Fraction(r) ** 2))


@settings(max_examples=300, deadline=None)
@given(lam=positive, r=positive, sign=st.sampled_from([1.0, -1.0]))
@example(lam=1e154, r=2e154, sign=1.0)  # before: 0.0, not 0.25
@example(lam=1e100, r=1e200, sign=-1.0)  # before: 0.0, not 1e-200
@example(lam=1e150, r=2.2479952806018334e154, sign=1.0)  # before: 0.0, not 1.98e-9
def test_garrote_g_is_within_a_few_ulp_of_the_exact_value(lam, r, sign):
    got = float(get_nonlinearity("garrote", "diffusivity", lam).g(sign * r))
    want = _exact_g(r, lam)
    tiny = float(np.finfo(float).tiny)
    if want < tiny:  # subnormal or 0: within 2 of the subnormal numbers' spacing
        assert abs(got - want) <= 2 * math.ulp(0.0), (got, want)
    else:
        assert abs(got - want) <= 3 * math.ulp(want), (got, want)


def test_translate_shows_g_where_r_squared_overflows():
    cmd = [EXE, "translate", "--diffusivity", "garrote", "--lambda", "1e154", "--json"]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout)
    assert out["forms"]["diffusivity"]["values"] == [1.0, 1.0, 1.0, 1.0, 0.25, 0.0625]
