"""An outside oracle: PyWavelets' stationary Haar transform.

``shrink`` (m diffusion blocks, tau = 1/4, h = 1) must equal m rounds of
``pywt.swt`` (level 1, Haar), ``pywt.threshold`` on the details and
``pywt.iswt``.  PyWavelets is periodic and wants even lengths, so each round
is applied to the mirrored, doubled signal ``[u, u reversed]`` and cut back
to N samples: that reproduces reflecting ends exactly (the paper, Table 1).

Conventions at ``|s| == theta``: ``pywt.threshold(..., 'hard')`` keeps such a
coefficient (it zeroes ``|s| < theta``), resdenoise's hard shrinkage zeroes it
(Table 3: ``s if |s| > theta else 0``); soft and garrote give 0 there in both.
The comparisons use generic data, where no coefficient lies on the threshold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt  # the test extra; a missing oracle is a failure, not a skip

from resdenoise import api, filters
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.wavelet import cycle_spin_shrink

SQRT2 = math.sqrt(2.0)


def perona_malik_shrinkage(s, theta):
    """Table 3: s (1 - exp(-s^2/lam^2)), lam = sqrt2 theta."""
    return s * (1.0 - np.exp(-(s * s) / (2.0 * theta * theta)))


def pywt_shrink(f, mode, theta, iterations):
    """Iterated level-1 stationary Haar shrinkage by PyWavelets, reflecting ends."""
    f = np.asarray(f, dtype=float)
    cols = f.reshape(f.shape[0], -1)
    n = cols.shape[0]
    out = np.empty_like(cols)
    for c in range(cols.shape[1]):
        u = cols[:, c]
        for _ in range(iterations):
            x = np.concatenate([u, u[::-1]])
            [(approx, detail)] = pywt.swt(x, "haar", level=1)
            if mode == "perona-malik":
                detail = perona_malik_shrinkage(detail, theta)
            else:
                detail = pywt.threshold(detail, theta, mode=mode)
            u = pywt.iswt([(approx, detail)], "haar")[:n]
        out[:, c] = u
    return out.reshape(f.shape)


MODES = ["soft", "hard", "garrote", "perona-malik"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [2, 3, 50, 51, 257])
@pytest.mark.parametrize("iterations", [1, 5])
def test_shrink_equals_pywavelets(mode, n, iterations, rng):
    clean = np.where(np.arange(n) < n // 3, 1.0, -0.5)
    f = clean + 0.3 * rng.standard_normal(n)
    theta = 0.4
    expected = pywt_shrink(f, mode, theta, iterations)
    got = api.shrink(f, mode, theta=theta, iterations=iterations)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_shrink_equals_pywavelets_per_channel(mode, stereo_signal):
    # amplitude 50 in the second channel: compare relative to it
    theta = 2.0
    expected = pywt_shrink(stereo_signal, mode, theta, 3)
    nl = get_nonlinearity(mode, "shrinkage", lam=SQRT2 * theta)
    got = filters.run_plan(filters.plan_shrink(nl, 3), stereo_signal)
    scale = np.abs(stereo_signal).max(axis=0)
    assert np.all(np.abs(got - expected) <= 1e-12 * scale)


@pytest.mark.parametrize("mode", ["soft", "hard", "garrote"])
def test_library_transform_equals_pywavelets(mode, rng):
    """The transform behind --check-wavelet agrees with PyWavelets too."""
    f = rng.standard_normal(31)
    nl = get_nonlinearity(mode, "shrinkage", lam=SQRT2 * 0.5)
    np.testing.assert_allclose(
        cycle_spin_shrink(f, nl.shrinkage, 4), pywt_shrink(f, mode, 0.5, 4), atol=1e-12
    )


@pytest.mark.parametrize("n", [2, 7, 40])
@pytest.mark.parametrize("channels", [0, 3])
def test_finest_haar_details_equal_pywavelets(n, channels, rng):
    """haar_details (the MAD noise estimate's coefficients), with and without ``out``,
    are PyWavelets' level-1 Haar details of the even part: (f_2k - f_2k+1) / sqrt2."""
    from resdenoise.wavelet import haar_details

    u = rng.standard_normal((n,) if channels == 0 else (n, channels))
    even = u[: n // 2 * 2]
    _, expected = pywt.dwt(even, "haar", axis=0)
    np.testing.assert_allclose(haar_details(u), expected, rtol=1e-14, atol=1e-14)
    out = np.empty(expected.shape)
    np.testing.assert_allclose(haar_details(u, out=out), expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(haar_details([2.0, 0.0, 1.0, 1.0, 0.0, 3.0]), [SQRT2, 0, -3 / SQRT2])


def test_check_wavelet_reports_agreement(step_signal):
    nl = get_nonlinearity("garrote", "shrinkage", lam=0.5)
    plan = filters.plan_shrink(nl, 6)
    u = filters.run_plan(plan, step_signal)
    report = filters.analyse_run(plan, step_signal, u, check_wavelet=True)
    assert report["wavelet_check"]["max_abs_difference"] < 1e-12
    assert report["guarantees_held"]


def test_threshold_conventions_at_theta():
    theta = 0.75
    s = np.array([-theta, theta])
    nl = {
        m: get_nonlinearity(m, "shrinkage", lam=SQRT2 * theta) for m in ("soft", "hard", "garrote")
    }
    assert nl["hard"].theta == theta  # sqrt2 * theta / sqrt2 is exact here
    np.testing.assert_array_equal(pywt.threshold(s, theta, "hard"), s)  # pywt keeps |s| = theta
    np.testing.assert_array_equal(nl["hard"].shrinkage(s), [0.0, 0.0])  # Table 3 zeroes it
    for mode in ("soft", "garrote"):
        np.testing.assert_array_equal(pywt.threshold(s, theta, mode), [0.0, 0.0])
        np.testing.assert_array_equal(nl[mode].shrinkage(s), [0.0, 0.0])
    # away from the threshold the closed forms are pywt's
    t = np.linspace(-3.0, 3.0, 601)
    t = t[np.abs(np.abs(t) - theta) > 1e-9]
    for mode in ("soft", "hard", "garrote"):
        np.testing.assert_allclose(
            nl[mode].shrinkage(t), pywt.threshold(t, theta, mode), rtol=0, atol=1e-15
        )
