"""A clean recording with digital silence between its calls is kept bit for bit (issue
15, do no harm): its sounding part, checked across difference orders, is clean
(:func:`resdenoise.noise._clean_beside_silence`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from resdenoise.automatic import NOTHING, choose_denoiser
from resdenoise.noise import CLEAN_SILENCE, SILENT_CLEAN_RATIO, quiet_window_noise, search_noise

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import heldout_signals  # noqa: E402


def _calls(n: int = 4096, seed: int = 9) -> np.ndarray:
    """Frequency-modulated tones (2.5-5 kHz) under a Hann window, exact zeros between: the
    held-out benchmark's bird song (:func:`heldout_signals.birdsong`), 4096 samples."""
    return heldout_signals.birdsong(n, seed)


@pytest.mark.parametrize("seed", [9, 10])
def test_clean_calls_between_digital_silence_are_kept_bit_for_bit(seed):
    """Fails before: Perona-Malik at the extrapolated level's low end changed the samples
    (by about 1e-8 of their std)."""
    x = _calls(seed=seed)
    assert np.count_nonzero(x == 0) > 0.2 * x.size
    level = search_noise(x)
    assert level.sigma[0] > 0 and level.estimator == CLEAN_SILENCE
    plan, extra = choose_denoiser(x)
    assert extra["automatic_choice"] == NOTHING
    assert extra["automatic_reason"].startswith("clean: its sounds read 8 or more times")
    assert extra["blocks_searched"] <= 1  # no search (nothing to filter)
    assert np.array_equal(plan.run(x), x)


@pytest.mark.parametrize("share", [0.01, 0.05])
def test_noisy_calls_beside_digital_silence_keep_their_low_end(share):
    """The same calls with white noise inside them only (a noise gate): the orders agree
    within the ratio, and the low end is the extrapolation's, above 0."""
    x = _calls()
    noisy = np.where(x != 0, x + share * np.random.default_rng(1).standard_normal(x.size), 0.0)
    sounding = noisy[noisy != 0].reshape(-1, 1)
    assert quiet_window_noise(sounding)[0] < SILENT_CLEAN_RATIO * quiet_window_noise(sounding, 8)[0]
    assert search_noise(noisy).low[0] > 0
