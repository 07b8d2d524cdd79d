"""Digital silence (audit14a A4): exact-constant runs beside noise are left out of the
quiet-windows quantile; a clean piecewise-constant signal still reads 0 (clean)."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise.automatic import choose_denoiser
from resdenoise.noise import estimate_noise, search_noise
from resdenoise.selection import NoiseSelect


def _recording(silence: float, seed: int = 6, n: int = 8000) -> tuple[np.ndarray, np.ndarray]:
    """Tone bursts plus 5 % white noise, then ``silence`` of the whole as exact zeros."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000
    clean = 0.4 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > -0.2)
    pad = int(n * silence / (1 - silence))
    return np.r_[clean + 0.05 * rng.standard_normal(n), np.zeros(pad)], np.r_[clean, np.zeros(pad)]


@pytest.mark.parametrize("silence", [0.25, 0.4, 0.6])
def test_zero_padding_reads_the_noise_where_there_is_signal(silence):
    noisy, _ = _recording(silence)
    alone = estimate_noise(noisy[:8000])[0]
    got = estimate_noise(noisy)[0]
    assert 0.045 < got < 0.055  # was 0 (read from the windows of zeros)
    assert abs(got / alone - 1) < 0.05
    assert 0.04 < search_noise(noisy).sigma[0] < 0.06


def test_a_noise_gate_reads_the_noise_and_the_search_filters():
    rng = np.random.default_rng(3)
    n = 16000
    t = np.arange(n) / 8000
    clean = 0.4 * np.sin(2 * np.pi * 220 * t)
    gate = (np.arange(n) // 1000) % 3 == 2  # a third of the samples gated to exact 0
    noisy = np.where(gate, 0.0, clean + 0.05 * rng.standard_normal(n))
    assert 0.045 < estimate_noise(noisy)[0] < 0.055
    plan, extra = choose_denoiser(noisy)
    assert plan.steps  # was: the input kept, "clean: the estimated noise level is below ..."
    assert "clean" not in " ".join(extra.get("warnings", []))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_clean_piecewise_constant_signal_still_reads_clean(seed):
    """Steps without noise: its windows are exact but for the steps', whose third
    differences are mostly 0: every window kept, the level 0 as before."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(-1, 1, 12)
    x = np.repeat(levels, rng.integers(40, 400, 12))
    assert estimate_noise(x)[0] == 0.0
    assert search_noise(x).sigma[0] == 0.0


def test_without_exact_windows_the_estimate_is_unchanged(rng=None):
    """No window of energy 0: the quantile over every window (the old numbers)."""
    from resdenoise.median import quantile_from, quantile_ranks
    from resdenoise.quiet_windows import column_energies, sigma_from_energy, window_for

    x = np.random.default_rng(5).standard_normal(5000) * 0.3
    length = window_for(x.size)
    e = column_energies(x.reshape(-1, 1), 0, length)
    lo, hi, w = quantile_ranks(e.size)
    p = np.partition(e, (lo, hi))
    expected = sigma_from_energy(quantile_from(p[lo], p[hi], w), length, e.size)
    assert estimate_noise(x)[0] == expected


@pytest.mark.parametrize("silence", [0.0, 0.3])
def test_a_streamed_signal_with_silence_gets_the_whole_estimate(silence):
    noisy, _ = _recording(silence, seed=2)
    u = np.c_[noisy, np.repeat(np.linspace(-1, 1, 9), -(-noisy.size // 9))[: noisy.size]]
    expected = estimate_noise(u)
    sel = NoiseSelect(2)
    fed = False
    while not sel.done:
        for part in np.array_split(u, 7):
            sel.feed(part)
        if fed or not sel.resize(u.shape[0]):
            sel.end_pass()
        fed = True
    assert np.array_equal(sel.sigma(), expected)


def test_dask_gets_the_whole_estimate_with_silence():
    da = pytest.importorskip("dask.array")
    from resdenoise.dask import noise_sigma

    noisy, _ = _recording(0.3, seed=4)
    u = np.c_[noisy, noisy[::-1]]
    got = noise_sigma(da.from_array(u, chunks=(3001, 2)))
    assert np.array_equal(got, estimate_noise(u))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("channels", [1, 2, 17])
def test_the_compiled_count_of_nonzero_differences_is_numpys(dtype, channels):
    """A streamed run's first pass counts the third differences that are not 0 with the
    compiled loop (quiet_windows.column_nonzero): the count NumPy's form gives, for
    float64 and float32 (widened) columns, with exact runs, a step and noise."""
    from resdenoise import quiet_windows

    if not hasattr(quiet_windows._compiled(), "nonzero_thirds"):
        pytest.fail("the compiled module has no nonzero_thirds: rebuild it (make install)")
    rng = np.random.default_rng(channels)
    block = rng.standard_normal((5003, channels)).astype(dtype)
    block[100:900] = 0.0
    block[1200:1300] = 1.5
    block[2000:2010, 0] = np.float32(1e-30)
    for column in range(channels):
        for count in (1, 64, block.shape[0] - 3):
            x = block[: count + 3, column].astype(np.float64)
            d = np.subtract(x[3:], x[:-3])
            d += 3.0 * np.subtract(x[1:-2], x[2:-1])
            want = int(np.count_nonzero(d))
            assert quiet_windows.column_nonzero(block, column, count) == want
            one = np.ascontiguousarray(block[:, column])
            assert quiet_windows.nonzero_differences(one, count) == want
        # the first pass's energies counted as they are taken: the same energies, the
        # count of their windows' differences
        energies, counted = quiet_windows.counted_energies(block, column, 32)
        np.testing.assert_array_equal(energies, quiet_windows.column_energies(block, column, 32))
        assert counted == quiet_windows.column_nonzero(block, column, energies.size * 32)
