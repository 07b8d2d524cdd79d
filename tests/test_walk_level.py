"""The noise level's interval on short rough series (resdenoise.noise._low_by_lag_one) and
the lag-one covariance read as a plain mean (resdenoise.nugget.lag_one_mean)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import noise, nugget
from resdenoise.automatic import choose_denoiser
from resdenoise.noise import search_noise
from resdenoise.nugget import lag_one_mean

#: A random walk of unit increments in white noise of this sigma (the 300-sample walks
#: of issue 15: quiet-windows reads them 1.5x).
SIGMA = 0.5


def walk(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """``(clean, noisy)``: as /work/notes' walk studies draw them (rng 1000 + seed)."""
    rng = np.random.default_rng(1000 + seed)
    clean = np.cumsum(rng.normal(0.0, 1.0, n))
    return clean, clean + rng.normal(0.0, SIGMA, n)


def snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2) / np.sum((u - clean) ** 2)))


def test_lag_one_mean_equals_the_written_out_mean_and_bartlett_error():
    rng = np.random.default_rng(4)
    u = np.column_stack([np.cumsum(rng.standard_normal(120)), rng.standard_normal(120)])
    got = lag_one_mean(u)
    for c in range(2):
        d = np.diff(u[:, c])
        products = [-d[t] * d[t + 1] for t in range(d.size - 1)]
        c1 = float(np.mean(products))
        c0 = float(np.mean(d * d))
        se = math.sqrt((c0 * c0 + 3.0 * c1 * c1) / len(products))
        assert got.variance[c] == pytest.approx(c1, rel=1e-12)
        assert got.standard_error[c] == pytest.approx(se, rel=1e-12)
        assert got.robust_error[c] == pytest.approx(se, rel=1e-12)


def test_lag_one_mean_of_too_short_a_signal_is_not_read():
    one = lag_one_mean(np.arange(nugget.LAG_ONE_MEAN_SAMPLES - 1, dtype=float))
    assert np.isnan(one.variance[0]) and np.isnan(one.standard_error[0])


@pytest.mark.parametrize("n", [60, 300, 1000])
def test_lag_one_mean_is_within_its_stated_error_on_walks(n):
    """Walks in white noise 0.5 (200 seeds each): the estimate is unbiased (its mean within
    3 standard errors of the mean of sigma^2), its stated error is its spread (within
    15 %), and sigma^2 lies within 2 stated errors in at least 90 % of the seeds (about
    95 % expected; the median of batch means reads 0.86 sigma^2 at 300 samples)."""
    est, err = [], []
    for seed in range(200):
        _, f = walk(seed, n)
        one = lag_one_mean(f)
        est.append(one.variance[0] / SIGMA**2)
        err.append(one.standard_error[0] / SIGMA**2)
    est, err = np.array(est), np.array(err)
    assert abs(est.mean() - 1.0) < 3.0 * est.std() / math.sqrt(est.size)
    assert np.mean(err) == pytest.approx(est.std(), rel=0.15)
    assert np.mean(np.abs(est - 1.0) <= 2.0 * err) >= 0.9


def test_the_low_end_of_a_300_sample_walks_level_reaches_its_noise():
    """The 16 walks of 300 samples: quiet-windows reads 1.3-1.8x the true level, and the
    checks before left the low end of the interval at 1.30-1.37x the truth on 4 of the 12
    whose level is identified (seeds 8, 12, 15, 16), where a choice had to gain only at
    an over-read level.  The lag-one reading (unbiased on a walk, 18 % standard error in
    sigma here) now sets the low end where the level exceeds it by a standard error:
    above 1.2x the truth on at most 1 (seed 8, whose variogram the rough model misfits,
    1.13)."""
    above = 0
    for seed in range(1, 17):
        _, f = walk(seed)
        level = search_noise(f)
        if level.per_channel()[0] == noise.UNIDENTIFIED:
            continue
        low = level.sigma[0] if level.low is None else level.low[0]
        above += low > 1.2 * SIGMA
    assert above <= 1


def test_a_short_series_level_has_an_interval_where_the_lag_one_reads_less():
    """Walks of 64-150 samples at 5 % noise (too short for the variogram's nugget): the
    level is read 1.3-8.5x the truth, and its low end was at most 2x the truth on 3 of
    these 20 (a point, or third over eighth differences); the lag-one reading (the plain
    mean: too few batches for a median) brings it there on 13."""
    reached = 0
    for seed in range(20):
        n = (64, 100, 150)[seed % 3]
        clean = np.cumsum(np.random.default_rng(seed).standard_normal(n))
        sigma = 0.05 * float(np.std(clean))
        f = clean + np.random.default_rng(500 + seed).normal(0.0, sigma, n)
        level = search_noise(f)
        assert level.low is not None and level.low[0] <= level.sigma[0]
        reached += level.low[0] <= 2.0 * sigma
    assert reached >= 12


def test_white_noise_keeps_its_low_end_near_the_level():
    """Pure white noise (40 seeds each at 100, 300 and 1000 samples): the lag-one reading
    is below the level by a standard error only by chance, and as the reading itself, not
    its lower bound, it takes few low ends below 0.8x the true level (10, 8, 2 of 40 at
    100, 300, 1000 samples, against 8, 7, 2 by the order extrapolation alone)."""
    for n, most in ((100, 11), (300, 9), (1000, 3)):
        under = 0
        for seed in range(40):
            x = np.random.default_rng(seed).normal(0.0, 2.0, n)
            level = search_noise(x)
            under += level.low is not None and level.low[0] < 0.8 * 2.0
        assert under <= most, n


@pytest.mark.parametrize("seed", [12, 16])
def test_the_walks_that_came_out_below_the_input_keep_it(seed):
    """Seeds 12 and 16 of the 300-sample walks: Perona-Malik over scales, chosen on the
    white SURE's confirmation at a point interval (level 1.37x and 1.30x the truth), came
    out 0.76 and 0.05 dB below the input; at the lag-one reading's low end (0.54x and
    0.91x) nothing gains enough, and the input is kept."""
    clean, f = walk(seed)
    plan, extra = choose_denoiser(f)
    assert snr(plan.run(f), clean) >= snr(f, clean) - 1e-9, extra["automatic_choice"]
