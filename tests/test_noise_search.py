"""The noise level the automatic searches use, resolved once, and what they do when it
cannot be identified (resdenoise.noise: resolve_sigma, search_noise, noise_share)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import noise
from resdenoise.noise import NoiseLevel, noise_share, resolve_sigma, search_noise


def quiet_reference(x: np.ndarray, order: int) -> float:
    """quiet-windows of differences of ``order``, written out (np.diff, np.quantile)."""
    n = x.shape[0]
    length = min(32, (n - order) // 16)
    d = np.diff(np.asarray(x, float), order) / math.sqrt(math.comb(2 * order, order))
    k = d.size // length
    energies = np.array([np.mean(d[j * length : (j + 1) * length] ** 2) for j in range(k)])
    return math.sqrt(np.quantile(energies, 0.2) / noise.calibration(length, k, order))


def cycles(n: int = 300) -> np.ndarray:
    """A coarsely sampled cycle with sharp troughs (period 11 samples, like yearly
    sunspot numbers): content up to the sampling rate."""
    t = np.arange(n)
    return 50 * np.abs(np.sin(np.pi * t / 11.0)) ** 1.5 + 5 * np.sin(2 * np.pi * t / 97)


def white_series(n: int = 100) -> np.ndarray:
    """A series white at its sampling rate (like yearly river flow), with a step."""
    r = np.random.default_rng(42)
    return 900 + 120 * r.standard_normal(n) - 250 * (np.arange(n) > 28)


@pytest.mark.parametrize("order", [3, 8])
def test_quiet_windows_of_any_order_equals_the_written_out_estimator(rng, order):
    x = rng.normal(0.0, 1.0, (700, 2)) * [0.5, 3.0] + np.linspace(0, 5, 700)[:, None]
    est = noise.quiet_window_noise(x, order)
    np.testing.assert_allclose(est, [quiet_reference(x[:, c], order) for c in range(2)], 1e-12)


def test_resolve_sigma_names_where_the_level_came_from(rng):
    x = rng.normal(0.0, 0.5, (400, 2))
    given = resolve_sigma(x, 0.25)
    assert given.estimator == "given" and given.sigma.tolist() == [0.25, 0.25]
    assert resolve_sigma(None, [0.1, 0.2], channels=2).sigma.tolist() == [0.1, 0.2]
    plain = resolve_sigma(x)
    assert plain.estimator == "quiet-windows"
    np.testing.assert_array_equal(plain.sigma, noise.estimate_noise(x))
    assert resolve_sigma(x, plain) is plain  # resolved once, passed on as it is
    assert resolve_sigma(x[:40]).estimator == "mad-haar"
    assert plain.per_channel() == ["quiet-windows", "quiet-windows"]


@pytest.mark.parametrize("n", [300, 1000])
def test_search_noise_is_quiet_windows_on_white_noise(n):
    """The check across orders rarely fires on white noise (3 spreads: measured 0 of
    200 seeds at n = 300): the level is the plain estimate, unbiased."""
    changed, ratios = 0, []
    for seed in range(60):
        x = np.random.default_rng(seed).normal(0.0, 2.0, n)
        level = search_noise(x)
        changed += level.estimator != "quiet-windows"
        ratios.append(level.sigma[0] / 2.0)
    assert changed <= 1
    assert abs(np.mean(ratios) - 1.0) < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_noise_within_its_error_on_a_coarsely_sampled_cycle(seed):
    """Plain quiet-windows reads the cycle's sharp troughs as noise (1.8x at 5 %);
    the orders disagree and the extrapolated level is within 0.7-1.2x of the true
    one (the correction leans low, toward smoothing less)."""
    clean = cycles()
    sigma = 0.05 * np.std(clean)
    f = clean + np.random.default_rng(seed).normal(0.0, sigma, clean.size)
    assert noise.estimate_noise(f)[0] > 1.6 * sigma
    level = search_noise(f)
    assert level.estimator == noise.EXTRAPOLATED
    assert level.per_channel() == [noise.EXTRAPOLATED]
    assert 0.7 * sigma < level.sigma[0] < 1.2 * sigma


def test_search_noise_per_channel():
    """Only the channel whose orders disagree is extrapolated, and named so."""
    clean = cycles()
    rng = np.random.default_rng(5)
    f = np.stack([clean + rng.normal(0.0, 0.8, clean.size), rng.normal(0.0, 0.8, clean.size)], 1)
    level = search_noise(f)
    assert level.per_channel() == [noise.EXTRAPOLATED, "quiet-windows"]
    assert level.sigma[1] == noise.estimate_noise(f[:, 1])[0]


def test_noise_share(rng):
    x = np.stack([np.linspace(0.0, 10.0, 500), np.zeros(500)], 1)
    share = noise_share(x, [1.0, 1.0])
    assert share[0] == pytest.approx(1.0 / np.var(x[:, 0])) and share[1] == 0.0
    f = white_series() + rng.normal(0.0, 6.0, 100)
    assert noise_share(f, noise.estimate_noise(f))[0] > noise.MAX_NOISE_SHARE
    assert isinstance(resolve_sigma(f), NoiseLevel)
