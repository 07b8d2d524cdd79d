"""A quiet channel beside a loud one is its own signal (audit14a A1): its noise level is
the one it has alone (each channel's own power of two), never 0, and it is not "clean"."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise.noise import estimate_noise, search_noise
from resdenoise.selection import NoiseSelect
from resdenoise.untrusted import _distrusted


def _pair(scale: float, seed: int = 0, n: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    step = np.r_[np.zeros(n // 2), np.ones(n - n // 2)]
    loud = step + 0.1 * rng.standard_normal(n)
    quiet = (step + 0.1 * rng.standard_normal(n)) * scale
    return np.c_[loud, quiet]


@pytest.mark.parametrize("scale", [1e-160, 1e-170, 1e-200])
def test_a_quiet_channels_level_is_the_one_it_has_alone(scale):
    u = _pair(scale)
    alone = estimate_noise(u[:, 1])[0]
    assert 0.05 * scale < alone < 0.2 * scale
    assert estimate_noise(u)[1] == alone  # was 0 (1e-170, 1e-200) or 1.4 % off (1e-160)
    assert estimate_noise(u)[0] == estimate_noise(u[:, 0])[0]
    level = search_noise(u)
    assert level.sigma[1] == search_noise(u[:, 1]).sigma[0]
    assert level.sigma[0] == search_noise(u[:, 0]).sigma[0]
    assert 1 not in _distrusted(u, level)  # was: "clean: ... below the float64 rounding"


def test_a_streamed_quiet_channel_gets_the_whole_estimate():
    u = _pair(1e-170, seed=1)
    expected = estimate_noise(u)
    sel = NoiseSelect(2)
    fed = False
    amplitudes = np.abs(u).max(axis=0)
    while not sel.done:
        for part in np.array_split(u, 5):
            sel.feed(part)
        if fed or not sel.settle(u.shape[0], amplitudes):
            sel.end_pass()
        fed = True
    assert np.array_equal(sel.sigma(), expected)


def test_dask_gets_each_channels_own_estimate():
    da = pytest.importorskip("dask.array")
    from resdenoise.dask import noise_sigma

    u = _pair(1e-170, seed=2)
    assert np.array_equal(noise_sigma(da.from_array(u, chunks=(777, 2))), estimate_noise(u))
