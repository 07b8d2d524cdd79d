"""Short random walks in white noise (issue 15, do no harm): under the variogram's
sample count the lag-one covariance of the differences says whether the noise can be told
from the walk's own steps (resdenoise.nugget.short_lag_one, resdenoise.noise._short_rough)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise.automatic import NOTHING, choose_denoiser
from resdenoise.noise import (
    LAG_ONE_CONVEX,
    SHORT_BEYOND,
    SHORT_KURTOSIS,
    UNIDENTIFIED,
    search_noise,
)
from resdenoise.nugget import short_lag_one


def _walk(seed: int, n: int, share: float):
    """benchmarks/bench_short.py's walk case: unit steps, white noise of ``share`` of its std."""
    clean = np.cumsum(np.random.default_rng([seed, 0, n]).standard_normal(n))
    noise = np.random.default_rng([seed, 0, n, round(1000 * share)]).standard_normal(n)
    return clean, clean + share * float(np.std(clean)) * noise


def _snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2) / np.sum((u - clean) ** 2)))


@pytest.mark.parametrize("seed", [3, 11])
def test_short_lag_one_is_the_differences_autocovariances_written_out(seed):
    x = np.random.default_rng(seed).standard_normal((120, 2)).cumsum(axis=0)
    one = short_lag_one(x)
    for c in range(2):
        d = np.diff(x[:, c])
        d = d - sum(d) / len(d)
        m = len(d)
        g = [sum(d[i] * d[i + k] for i in range(m - k)) / m for k in range(5)]
        assert one.variance[c] == pytest.approx(-g[1], rel=1e-12, abs=1e-14)
        se = math.sqrt((g[0] ** 2 + 3 * g[1] ** 2) / m)
        assert one.standard_error[c] == pytest.approx(se, rel=1e-12)
        # Bartlett under MA(1): var of each of lags 2-4 g0^2 + 2 g1^2, covariance of
        # neighbouring lags 2 g0 g1, of lags two apart g1^2 (over m)
        var = 3 * (g[0] ** 2 + 2 * g[1] ** 2) + 2 * 2 * (2 * g[0] * g[1]) + 2 * g[1] ** 2
        z = (g[2] + g[3] + g[4]) / math.sqrt(max(var, g[0] ** 2 / 4) / m)
        assert one.beyond[c] == pytest.approx(z, rel=1e-12, abs=1e-14)
        assert one.kurtosis[c] == pytest.approx(sum(v**4 for v in d) / m / g[0] ** 2, rel=1e-12)
    assert np.all(np.isnan(short_lag_one(np.arange(15.0)).variance))


@pytest.mark.parametrize(("seed", "n", "share"), [(1, 75, 0.05), (0, 150, 0.05), (2, 75, 0.1)])
def test_a_short_walk_in_small_noise_is_not_identified_and_kept(seed, n, share):
    """Fails before: the level read 2.4-4.2x the truth and the choice was 7.9-12.3 dB below
    the input (bench_short's tuning seeds)."""
    clean, f = _walk(seed, n, share)
    assert search_noise(f).estimator == UNIDENTIFIED
    plan, extra = choose_denoiser(f)
    assert extra["automatic_choice"] == NOTHING
    assert _snr(plan.run(f) if plan.steps else f, clean) == _snr(f, clean)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_short_smooth_steps_and_cycles_in_noise_keep_their_level(seed):
    """The guards, each for its reason: a smooth series' increments are correlated beyond
    lag one, steps have a few large increments, a cycle of 6.3 samples is convex (its
    lag-one reading far below 0); at 10 % noise none is read as a walk (fails before:
    short_lag_one did not exist)."""
    rng = np.random.default_rng(seed)
    t = np.arange(120.0)
    smooth = np.sin(2 * np.pi * t / 70 + seed) + 0.7 * np.cos(2 * np.pi * t / 200)
    steps = np.repeat(rng.normal(0.0, 1.0, 4), [30, 25, 40, 25])
    cycle = np.sin(2 * np.pi * t / 6.3) + 2 * t / 120
    noisy = [
        c + 0.1 * float(np.std(c)) * rng.standard_normal(t.size) for c in (smooth, steps, cycle)
    ]
    one = short_lag_one(np.column_stack(noisy))
    assert one.beyond[0] > SHORT_BEYOND
    assert one.kurtosis[1] > SHORT_KURTOSIS
    assert one.variance[2] < -LAG_ONE_CONVEX * one.standard_error[2]
    for f in noisy:
        assert search_noise(f).estimator != UNIDENTIFIED
