"""Do no harm on very short series (the level's interval under 67 samples) and the choice
of a candidate over several scales (only where it beats one scale's significantly)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import harm, noise
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


def test_a_short_level_is_the_lesser_of_mad_haar_and_third_differences():
    """Under 67 samples: per channel the lesser of mad-haar and the MAD of third
    differences (fails before: mad-haar alone, 6.4x the true level of this sine and step
    at 5 % noise, with an interval down to third differences)."""
    clean = sine_step(50)
    true = 0.05 * clean.std()
    f = noisy(clean, 0.05, 101)
    level = search_noise(f)
    assert level.estimator == noise.SHORT_ESTIMATOR
    assert 0.8 * true < level.sigma[0] < 1.3 * true  # the sine's Haar details not read
    jumps = np.repeat([0.0, 3.0, -1.0, 2.0, 0.5], 12)[:, None]
    steps = jumps + np.random.default_rng(5).normal(0.0, 0.1, (60, 1))
    both = np.column_stack([f, steps[:50, 0]])
    expect = np.minimum(noise.third_difference_noise(both), noise.mad_haar_noise(both))
    np.testing.assert_array_equal(search_noise(both, nugget=False).sigma, expect)
    # a jump enters three third differences and at most one Haar detail: mad-haar there
    assert noise.mad_haar_noise(steps)[0] < noise.third_difference_noise(steps)[0]
    np.testing.assert_array_equal(
        search_noise(steps, nugget=False).sigma, noise.mad_haar_noise(steps)
    )


def test_the_short_level_only_under_67_samples():
    """67 samples and more: quiet-windows, the level as before (a point under the
    variogram's 192 samples); under 4 samples (no third difference) mad-haar alone."""
    clean = sine_step(100)
    level = search_noise(noisy(clean, 0.05, 101))
    assert level.estimator == "quiet-windows"
    np.testing.assert_array_equal(level.low, level.sigma)
    short = np.array([0.0, 1.0, 0.5])
    assert search_noise(short).estimator == "mad-haar"
    np.testing.assert_array_equal(search_noise(short).sigma, noise.mad_haar_noise(short))


def ar1_case(seed: int, n: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """``(clean, noisy)``: ``benchmarks/bench_short.py``'s AR(1) ``phi = 0.9`` case (its
    class code 4), drawn as it draws it."""
    e = np.random.default_rng([seed, 4, n]).standard_normal(n + 100)
    x = np.zeros_like(e)
    for i in range(1, e.size):
        x[i] = 0.9 * x[i - 1] + e[i]
    clean = x[100:]
    sd = share * float(np.std(clean))
    noise_rng = np.random.default_rng([seed, 4, n, round(1000 * share)])
    return clean, clean + sd * noise_rng.standard_normal(n)


#: (seed, samples, noise): AR(1) series the automatic choice left 1.0-12.0 dB below the
#: input (the search's own probe read a gain of 4.8-7.8 standard errors; 8 fresh probes
#: -0.1 to +0.02)
PROBE_FAVOURED = [(8, 50, 0.05), (0, 50, 0.30)]


@pytest.mark.parametrize("seed, n, share", PROBE_FAVOURED)
def test_a_short_choice_must_gain_with_probes_its_search_did_not_use(seed, n, share):
    """Fails before: -12.0 and -1.0 dB, the search's gain test passed."""
    clean, f = ar1_case(seed, n, share)
    plan, extra = choose_denoiser(f)
    u = np.asarray(plan.run(f)).ravel()
    assert snr_change(clean, f, u) >= -1e-9
    assert not plan.steps and "probes its search did not use" in extra["automatic_reason"]
    assert extra["fresh_sure_change"] > -harm.FRESH_Z * extra["fresh_gain_standard_error"]


def test_the_fresh_test_is_deterministic_and_only_asked_of_short_series():
    clean = sine_step(60)
    f = noisy(clean, 0.3, 100)
    plan, extra = choose_denoiser(f)
    assert plan.steps and extra["fresh_sure_change"] < 0  # a gain that holds (+1 dB or more)
    level = search_noise(f)
    first = harm._fresh_test(plan, f, level)
    assert first == harm._fresh_test(plan, f.copy(), level)
    assert first[0] == extra["fresh_sure_change"]
    long = noisy(sine_step(harm.FRESH_SAMPLES), 0.3, 100)
    plan, extra = choose_denoiser(long)
    assert plan.steps and "fresh_sure_change" not in extra
    assert harm._fresh_test(plan, long, search_noise(long)) is None


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
