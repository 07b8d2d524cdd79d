"""The bumps family is its documented formula for every K the program takes (2 to 32):
each Gaussian ``exp(-x^2/(2 s_k^2))`` to a few ulp, not the widest one's rounding raised
to the power 4^(K-2); and its "monotone" label (class convex) describes that Phi, down
to the narrowest bump."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from resdenoise._families import bump_basis, bump_scales, bumps_monotone, bumps_slope
from resdenoise._flux_kernels import bump_rows
from resdenoise.learn import WARM_GRID
from resdenoise.nonlinearities import get_nonlinearity, get_parametrised
from resdenoise.stability import analyse_function

ULP = 2.0**-53


def exact_bumps(x, count):
    """The Gaussians in long double (64-bit significand): the formula, rounded once."""
    s = bump_scales(count).astype(np.longdouble)
    xl = np.asarray(x, dtype=np.longdouble)
    return np.exp(-(xl[None] ** 2) / (2 * s[:, None] ** 2)), (xl[None] / s[:, None]) ** 2 / 2


@settings(max_examples=300, deadline=None)
@given(
    count=st.integers(2, 32),
    octaves=st.lists(st.floats(-30.0, 8.0), min_size=1, max_size=40),
    compiled=st.booleans(),
)
@example(count=32, octaves=[0.0, 1.0, 2.5, 3.3], compiled=True)  # the audit's x = s_0 .. 10 s_0
@example(count=8, octaves=[-12.0, -3.0, 0.25], compiled=False)
def test_every_bump_is_its_formula_to_a_few_ulp(count, octaves, compiled):
    """Relative error at most 16 ulp of ``1 + 2 y``, y = x^2/(2 s^2): what rounding x^2
    already costs the formula (measured: 8 at most).  Squaring exp(a) 2(K-2) times
    was 4^(K-2) ulp off: 4e-13 at K = 8, 0.99 at 32."""
    x = bump_scales(count)[0] * np.exp2(np.array(octaves))
    rows = bump_rows() if compiled else None
    ours = bump_basis(x, count, rows=rows)[:-1]
    exact, y = exact_bumps(x, count)
    bound = 16 * ULP * (1 + 2 * y) * exact
    assert np.all(np.abs(ours - exact) <= bound + 1e-310)


def test_the_audits_bump_at_32_is_the_formula():
    """K = 32, c = [1, 0 x 30, 1] at r = 2 s_0 (lambda 1): g = exp(-2) + 1/sqrt(1 + r^2),
    not 2; and Phi rises through the narrowest bump's width (it jumped down by 3e-4)."""
    nl = get_parametrised("bumps", [1.0] + [0.0] * 30 + [1.0], "activation", 1.0)
    r = 2.0**-14
    assert nl.g(np.array([r]))[0] == pytest.approx(math.exp(-2.0) + 1 / math.hypot(1, r), 1e-15)
    s0 = bump_scales(32)[0]
    assert nl.g(np.array([s0]))[0] == pytest.approx(math.exp(-0.5) + 1 / math.hypot(1, s0), 1e-15)
    at = np.linspace(0.0, 20 * s0, 100_001)
    assert np.all(np.diff(nl.phi(at)) > 0)
    assert analyse_function(nl).monotone


def brute_minimum(c, per_octave=2048):
    """The least ``Phi'`` in units of sum c from the formula, on a geometric grid
    finer than bumps_monotone's (8 times) over the same range."""
    c = np.asarray(c, dtype=float)
    s = bump_scales(c.size)
    low, high = math.log2(s[0] / 16), math.log2(10 * max(s[-1], 1.0))
    x = np.exp2(np.linspace(low, high, int((high - low) * per_octave) + 1))
    z2 = (x[:, None] / s[None]) ** 2
    slope = ((1 - z2) * np.exp(-z2 / 2)) @ c[:-1] + c[-1] * (1 + x * x) ** -1.5
    return float(slope.min() / c.sum())


def test_a_falling_phi_under_the_narrowest_bump_is_not_monotone():
    """The audit's K = 16 case: Phi(0.0078) = 0.0048 > Phi(0.05) = 0.0005."""
    c = [1.0] + [0.0] * 14 + [0.01]
    nl = get_parametrised("bumps", c, "activation", 1.0)
    phi = nl.phi(np.array([0.0078125, 0.02, 0.05]))
    assert phi[0] > phi[1] > phi[2]  # it falls
    assert not bumps_monotone(c)
    assert not analyse_function(nl).monotone
    assert nl.entry.klass == "nonconvex"


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(2, 32),
    picks=st.lists(st.tuples(st.integers(0, 31), st.floats(1e-6, 1.0)), min_size=1, max_size=6),
    tail=st.floats(0.0, 1.0),
)
@example(count=16, picks=[(0, 1.0)], tail=0.01)
@example(count=24, picks=[(1, 1.0)], tail=0.2)
def test_the_monotone_label_is_the_formulas(count, picks, tail):
    """Wherever the formula's least Phi' is clear of 0 by 1e-6 sum c, the label says
    which side: monotone (convex) iff Phi' >= 0."""
    c = np.zeros(count)
    for k, v in picks:
        c[k % (count - 1)] += v
    c[-1] += tail
    least = brute_minimum(c)
    if abs(least) > 1e-6:
        assert bumps_monotone(c) == (least > 0)


def warm_fit(family, lam, count):
    """The bumps fitted to a family's g as learn's warm start fits them (NNLS on
    learn.WARM_GRID, relative weights)."""
    nnls = pytest.importorskip("scipy.optimize").nnls
    x = np.maximum(WARM_GRID, 1e-9)
    target = get_nonlinearity(family, "activation", lam).phi(x) / x
    weight = 1.0 / np.maximum(target, 1e-6 * target.max())
    return nnls(bump_basis(WARM_GRID, count).T * weight[:, None], target * weight)[0]


#: Monotone bumps: the warm starts of monotone families whose fit stayed monotone
#: (all 17 of 120 fits, K = 4..32, lambda 0.3/1/3, that are; here some), a tail alone,
#: and the narrowest bump under a tail that outweighs its dip.
MONOTONE = [
    ("charbonnier", 1.0, 8),
    ("charbonnier", 1.0, 16),
    ("charbonnier", 1.0, 32),
    ("softsign", 0.3, 8),
    ("arctan", 0.3, 8),
    ("tanh", 3.0, 4),
    [0.0] * 5 + [1.0],
    [1.0] + [0.0] * 30 + [1.0],
]


@pytest.mark.parametrize("c", MONOTONE)
def test_monotone_bumps_are_labelled_monotone(c):
    c = warm_fit(*c) if isinstance(c, tuple) else np.array(c)
    assert brute_minimum(c) >= 0.0
    assert bumps_monotone(c)
    assert get_parametrised("bumps", c, "activation", 1.0).entry.klass == "convex"


def test_warm_starts_of_perona_malik_at_28_and_32_are_not_monotone():
    """Their narrowest bumps' dips (-0.446 sum c) lay between the old grid's points."""
    for count in (28, 32):
        c = warm_fit("perona-malik", 0.3, count)
        assert brute_minimum(c) < -0.4
        assert not bumps_monotone(c)


def test_the_slope_is_the_derivative_of_phi():
    c = np.array([0.3, 0.0, 1e-3, 0.2, 0.5, 0.1])
    x = np.geomspace(1e-3, 30.0, 400)
    h = 1e-6 * x
    nl = get_parametrised("bumps", c, "activation", 1.0)
    numeric = (nl.phi(x + h) - nl.phi(x - h)) / (2 * h)
    assert np.allclose(bumps_slope(c, x), numeric, rtol=1e-6, atol=1e-9)
