"""Pink noise under a signal whose coarse content comes in short bursts (ECG-like beats,
70-100 quiet samples between them): the roughness checks of the noise level (the
variogram's nugget, the lag-one covariance, the spectral floor) read its white-like part,
and the box estimates bend at the beats' levels; the quiet windows of 64 samples between
the beats show one power law (:func:`resdenoise.noise_colour.paused_power_law`), and the
level without the check is kept.  White noise on the same beats, on random walks and on
AR(1) processes is not called so."""

from __future__ import annotations

import numpy as np
import pytest
from test_noise_colour import pink

from resdenoise.multilevel import white_nugget
from resdenoise.noise import search_noise
from resdenoise.noise_colour import paused_power_law, quiet_window_levels

NOT = (False, np.zeros((0, 1)), "")


def beats(n: int, seed: int) -> np.ndarray:
    """ECG-like beats at 360 Hz (made here): P, QRS and T waves as Gaussians, 60-80 a
    minute."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 360.0
    x = np.zeros(n)
    waves = ((-0.2, 0.12, 0.025), (-0.03, -0.12, 0.008), (0.0, 1.2, 0.01), (0.03, -0.25, 0.008))
    waves += ((0.25, 0.3, 0.04),)
    beat = 0.2
    while beat < t[-1] + 1:
        for off, amp, wid in waves:
            x += amp * np.exp(-0.5 * ((t - beat - off) / wid) ** 2)
        beat += 60 / rng.uniform(60, 80)
    return x


def ar1(n: int, phi: float, rng) -> np.ndarray:
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pink_noise_between_beats_keeps_the_level_without_the_roughness_check(seed):
    """Fails without paused_power_law: the roughness check's level was kept, white at
    every scale."""
    clean = beats(4096, seed)
    f = clean + 0.1 * np.std(clean) * pink(4096, 100 + seed)
    level = search_noise(f)
    assert level.white_by_nugget()
    plain = search_noise(f, nugget=False)
    kept = white_nugget(f, level)
    assert kept.per_channel() == plain.per_channel()
    assert kept.sigma[0] == plain.sigma[0] > level.sigma[0]
    confident, rises, by = paused_power_law(f[:, None], NOT)
    assert confident and "64 samples" in by
    assert rises.shape == (3, 1) and np.all((rises > 1.25) & (rises < 1.85))


def test_the_automatic_choice_ranks_pink_noise_between_beats_over_scales():
    """Before: the level of a roughness check, white at every scale, and the input kept
    (its error 1.0; seeds 0-3: 0.94-1.0); now garrote over scales by the coloured ranking,
    0.71 (seeds 0-3: 0.66-0.80)."""
    from resdenoise.automatic import choose_denoiser

    clean = beats(4096, 1)
    f = clean + 0.1 * np.std(clean) * pink(4096, 101)
    plan, extra = choose_denoiser(f)
    assert "64 samples" in extra["noise_rule_per_scale"]
    error = np.mean((plan.run(f) - clean) ** 2) / np.mean((f - clean) ** 2)
    assert error < 0.8


@pytest.mark.parametrize("level", [0.02, 0.05, 0.1, 0.3])
def test_white_noise_on_beats_walks_and_ar1_is_not_called_coloured(level):
    rng = np.random.default_rng(int(level * 100))
    for n in (1024, 4096):
        for clean in (
            beats(n, 3),
            np.cumsum(rng.standard_normal(n)),
            ar1(n, 0.9, rng),
            ar1(n, 0.97, rng),
        ):
            f = clean + level * np.std(clean) * rng.standard_normal(n)
            assert not paused_power_law(f[:, None], NOT)[0]


def test_confident_evidence_is_passed_on_and_short_signals_are_not_read():
    clean = beats(4096, 0)
    f2 = (clean + 0.1 * np.std(clean) * pink(4096, 100))[:, None]
    given = (True, np.ones((4, 1)), "box estimates")
    assert paused_power_law(f2, given) is given
    assert quiet_window_levels(f2[:1038], 64, 4) is None  # 15 windows of 64
    assert quiet_window_levels(f2[:1039], 64, 4) is not None
    assert not paused_power_law(f2[:1038], NOT)[0]
