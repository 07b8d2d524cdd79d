"""The automatic choice's reasons say what was found: a clean input is kept as clean,
white noise whose box estimates rise by the signal's own coarse content is not called
coloured, and the significance rule's numbers are what its sentence says."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise.automatic import NOTHING, _no_gain, choose_denoiser
from resdenoise.noise import resolve_sigma


def _clean(name: str, n: int = 1024) -> np.ndarray:
    t = np.arange(n) / n
    if name == "drift":
        return 5 * t**2 + 2 * t + 0.3 * np.sin(2 * np.pi * 12 * t)
    if name == "chirp":
        k = 200.0 ** (1 / n)
        return np.sin(2 * np.pi * 0.001 * (k ** np.arange(n) - 1) / np.log(k))
    return np.sin(2 * np.pi * 5 * t)


@pytest.mark.parametrize("name", ["drift", "chirp", "sine"])
def test_a_clean_input_is_kept_as_clean(name):
    """No noise: the level read is far below the samples' rounding (1e-24 to 1e-20 of the
    largest); before, the coloured ranking chose 1-8 blocks "for coloured noise" (SURE
    -1e-46 to -1e-37 per sample) that changed the samples."""
    x = _clean(name)
    assert np.all(resolve_sigma(x, None, search=True).sigma < 1e-18 * np.max(np.abs(x)))
    plan, extra = choose_denoiser(x)
    assert extra["automatic_choice"] == NOTHING
    assert extra["automatic_reason"].startswith("clean: the estimated noise level is below")
    assert extra["warnings"] == [
        f"nothing done: {extra['automatic_reason']}; the output is the input"
    ]
    np.testing.assert_array_equal(plan.run(x), x)


def test_a_clean_channel_beside_a_noisy_one_is_passed_through():
    clean = _clean("sine")
    noisy = _clean("drift") + np.random.default_rng(0).normal(0.0, 0.05, clean.size)
    x = np.stack([clean, noisy], axis=1)
    plan, extra = choose_denoiser(x)
    assert extra["passed_through_reasons"]["channel 1"].startswith("clean:")
    assert extra["filtered_channels"] == ["channel 2"]
    u = plan.run(x)
    np.testing.assert_array_equal(u[:, 0], clean)
    assert not np.array_equal(u[:, 1], noisy)


@pytest.mark.parametrize("level", [0.05, 0.1, 0.3])
def test_white_noise_on_a_sine_with_a_step_is_not_called_coloured(level):
    """128 samples of a sine and a step in white noise: levels 2 and 3 rise by the
    signal's coarse content, not as one power law; the reason said "coloured noise"."""
    t = np.arange(128)
    clean = np.sin(2 * np.pi * t / (128 / 3)) + (t > 64)
    f = clean + np.random.default_rng(100).normal(0.0, level * np.std(clean), t.size)
    _, extra = choose_denoiser(f)
    rule, reason = extra["noise_rule_per_scale"], extra["automatic_reason"]
    assert rule.startswith("boxes") and "confident" not in rule
    assert "coloured noise or the signal's own coarse content" in rule
    assert "(coloured noise)" not in reason
    if reason.startswith("smallest SURE over scales"):
        assert "coloured noise or the signal's own coarse content" in reason


def test_the_significance_sentence_gives_twice_the_standard_error():
    said = _no_gain("x", -0.000537896, 0.000323749)
    assert said.endswith("not more than 2 standard errors of 0.000323749 each (0.000647498)")
