"""The noise level's interval on short series whose content changes within a few samples
(resdenoise.nugget.quadratic_noise, resdenoise.noise._low_by_quadratic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import rough_level
from resdenoise.automatic import choose_denoiser
from resdenoise.noise import search_noise
from resdenoise.nugget import quadratic_noise

#: Samples of the quasi-cyclic series (the Canadian lynx trappings' length).
N = 114


def quasi_cycle(seed: int, n: int = N) -> np.ndarray:
    """An AR(2) series of period about 10 samples, ``x_t = 1.4 x_{t-1} - 0.75 x_{t-2} +
    e_t`` (roots of modulus 0.87; the log lynx series' model), 100 samples of burn-in."""
    rng = np.random.default_rng(1000 + seed)
    e = rng.standard_normal(n + 100)
    x = np.zeros(n + 100)
    for i in range(2, n + 100):
        x[i] = 1.4 * x[i - 1] - 0.75 * x[i - 2] + e[i]
    return x[100:]


def noisy(clean: np.ndarray, level: float, seed: int) -> tuple[np.ndarray, float]:
    """``(f, sigma)``: white noise of ``level`` x the clean series' std."""
    sigma = level * float(np.std(clean))
    return clean + np.random.default_rng(seed).normal(0.0, sigma, clean.size), sigma


#: (series seed, noise level, noise seed): the quasi-cycles whose level main (56a8579)
#: read 2.2-4.6x the true one with a point interval, and whose automatic output was
#: 2.7-10 dB below the input.
OVER_READ = [(1, 0.05, 0), (1, 0.05, 1), (1, 0.10, 0), (1, 0.10, 1), (0, 0.05, 0), (3, 0.10, 1)]


def snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2) / np.sum((u - clean) ** 2)))


@pytest.mark.parametrize("series, level, seed", OVER_READ)
def test_the_interval_of_a_short_quasi_cycles_level_holds_its_noise(series, level, seed):
    """quiet-windows reads the cycle's own content as noise (every difference order sees
    it alike, and under 192 samples no nugget bounds it); the quadratic extrapolation
    of the variogram reads such a cycle far below the noise, and the interval's low end
    now reaches down to the true level."""
    f, sigma = noisy(quasi_cycle(series), level, seed)
    found = search_noise(f)
    assert found.sigma[0] > 1.5 * sigma  # the over-read itself is not removed
    assert found.low is not None and found.low[0] <= sigma


@pytest.mark.parametrize("series, level, seed", OVER_READ[::2])
def test_a_short_quasi_cycle_is_never_left_below_the_input(series, level, seed):
    clean = quasi_cycle(series)
    f, _ = noisy(clean, level, seed)
    plan, _ = choose_denoiser(f)
    u = np.asarray(plan.run(f)).reshape(-1)
    assert snr(u, clean) >= snr(f, clean) - 1e-9


@pytest.mark.parametrize("n", [60, 150])
def test_the_quadratic_reading_is_unbiased_on_walks_and_its_bound_holds(n):
    """A random walk of twice the noise's step in white noise of unit variance (300
    seeds): the reading's mean within 4 of its standard errors of 1, and the truth above
    the reading + 2 standard errors in at most 5 % of seeds."""
    reads, above = [], 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        x = 2.0 * np.cumsum(rng.standard_normal(n)) + rng.standard_normal(n)
        q = quadratic_noise(x)
        reads.append(q.variance[0])
        above += 1.0 > q.variance[0] + 2.0 * q.standard_error[0]
    reads = np.array(reads)
    assert abs(reads.mean() - 1.0) < 4.0 * reads.std() / math.sqrt(reads.size)
    assert above <= 15


def test_the_quadratic_reading_is_exact_for_a_trend_and_a_step_and_nan_when_too_short():
    t = np.arange(40.0)
    q = quadratic_noise(np.column_stack([3.0 + 0.5 * t + 2.0 * (t > 17), np.zeros(40)]))
    np.testing.assert_allclose(q.variance, 0.0, atol=1e-12)
    assert np.all(np.isnan(quadratic_noise(np.arange(10.0)).variance))


def test_the_rule_leaves_long_series_and_the_plain_checks_alone(monkeypatch):
    """From 192 samples (a nugget can bound the level) and with ``nugget=False`` the
    level and its interval are as without the rule."""
    clean = quasi_cycle(1, 256)
    f, _ = noisy(clean, 0.05, 0)
    short, _ = noisy(quasi_cycle(1), 0.05, 0)
    with_rule = [search_noise(f), search_noise(short, nugget=False)]
    monkeypatch.setattr(rough_level, "QUAD_Z", math.inf)
    without = [search_noise(f), search_noise(short, nugget=False)]
    for a, b in zip(with_rule, without, strict=True):
        np.testing.assert_array_equal(a.sigma, b.sigma)
        np.testing.assert_array_equal(a.low, b.low)
