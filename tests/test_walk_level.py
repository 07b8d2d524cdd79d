"""The noise level's interval on short rough series (resdenoise.noise._low_by_lag_one)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import noise
from resdenoise.automatic import choose_denoiser
from resdenoise.noise import search_noise

#: A random walk of unit increments in white noise of this sigma (the 300-sample walks
#: of issue 15: quiet-windows reads them 1.5x).
SIGMA = 0.5


def walk(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """``(clean, noisy)``: a random walk of unit steps in white noise of sd 0.5, drawn
    from ``default_rng(1000 + seed)`` (the walk studies' draws)."""
    rng = np.random.default_rng(1000 + seed)
    clean = np.cumsum(rng.normal(0.0, 1.0, n))
    return clean, clean + rng.normal(0.0, SIGMA, n)


def snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2) / np.sum((u - clean) ** 2)))


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
