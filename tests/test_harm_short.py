"""Do no harm on very short series (the level's interval under 67 samples) and the choice
of a candidate over several scales (only where it beats one scale's significantly)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise.automatic import choose_denoiser
from resdenoise.filters import run_plan
from resdenoise.noise import search_noise
from resdenoise.pipeline import planner


def sine_step(n: int) -> np.ndarray:
    """Three periods of a sine and a step: fine-scale content in most Haar details of a
    series this short (mad-haar read it as 3-8x the noise)."""
    t = np.arange(n)
    return np.sin(2 * np.pi * t / max(n / 3, 8)) + (t > n // 2)


def noisy(clean: np.ndarray, level: float, seed: int) -> np.ndarray:
    return clean + np.random.default_rng(seed).normal(0.0, level * clean.std(), clean.size)


def snr_change(clean, f, u) -> float:
    u = np.asarray(u).ravel()
    return 10 * math.log10(np.sum((f - clean) ** 2) / np.sum((u - clean) ** 2))


def test_a_short_level_has_an_interval_down_to_third_differences():
    clean = sine_step(50)
    true = 0.05 * clean.std()
    level = search_noise(noisy(clean, 0.05, 101))
    assert level.estimator == "mad-haar"
    assert level.sigma[0] > 4 * true  # the sine's finest details read as noise
    assert 0.7 * true < level.low[0] < 1.6 * true  # third differences hardly see them
    assert level.at_low().sigma[0] == level.low[0]


def test_the_interval_only_where_mad_haar_reads_the_level():
    """67 samples and more: quiet-windows, the level as before (a point under the
    variogram's 192 samples); under 4 samples (no third difference) a point too."""
    clean = sine_step(100)
    level = search_noise(noisy(clean, 0.05, 101))
    assert level.estimator == "quiet-windows"
    np.testing.assert_array_equal(level.low, level.sigma)
    assert search_noise(np.array([0.0, 1.0, 0.5])).low is None
    pure = np.random.default_rng(3).normal(0.0, 1.0, (60, 2))  # white: the two agree
    level = search_noise(pure)
    assert np.all(level.low <= level.sigma) and np.all(level.low > 0.6 * level.sigma)


#: (length, noise, seed): cases each automatic command left 2-12 dB below the input
HARMED = [(50, 0.05, 101), (50, 0.10, 100), (50, 0.10, 103), (60, 0.05, 100), (60, 0.10, 101)]


@pytest.mark.parametrize("n, level, seed", HARMED)
def test_short_series_are_never_left_below_the_input(n, level, seed):
    clean = sine_step(n)
    f = noisy(clean, level, seed)
    plan, extra = choose_denoiser(f)
    assert snr_change(clean, f, plan.run(f)) >= -1e-9, extra["automatic_reason"]
    again = choose_denoiser(f.copy())
    assert again[1] == extra
    np.testing.assert_array_equal(again[0].run(f), plan.run(f))
    for command in (
        planner("diffuse", "perona-malik", lam="auto", time="auto"),
        planner("shrink", "soft", scales="auto"),
    ):
        plan, extra = command(f)
        assert snr_change(clean, f, run_plan(plan, f)) >= -1e-9, extra


def test_a_short_series_in_heavy_noise_still_gains():
    """The low end's test leaves a gain that holds there: 60 samples, 30 % noise."""
    clean = sine_step(60)
    gains = []
    for seed in (100, 101, 103):
        f = noisy(clean, 0.3, seed)
        plan, _ = choose_denoiser(f)
        gains.append(snr_change(clean, f, plan.run(f)))
    assert min(gains) >= 0 and max(gains) > 1.0
