"""The spectral floor (resdenoise.spectral_floor) and how the automatic searches use it
(resdenoise.noise.search_noise, resdenoise.automatic.do_no_harm)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import noise, rough_level, spectral_floor
from resdenoise.automatic import choose_denoiser
from resdenoise.noise import quiet_window_noise, search_noise
from resdenoise.spectral_floor import periodogram


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """AR(1) by its recursion over seeded innovations, scaled to unit std."""
    x = np.random.default_rng(seed).standard_normal(n)
    for i in range(1, n):
        x[i] += phi * x[i - 1]
    return x / np.std(x)


def notes(n: int) -> np.ndarray:
    """Four tones below an eighth of the sampling rate (nothing in the upper half band)."""
    t = np.arange(n)
    x = sum(np.sin(2 * np.pi * f * t + k) / (k + 1) for k, f in enumerate((0.011, 0.023, 0.037)))
    return x / np.std(x)


def test_periodogram_equals_the_written_out_dft():
    x = np.random.default_rng(0).normal(0.0, 1.0, 300) + np.linspace(0.0, 5.0, 300)
    omega, spec, k = periodogram(x)
    y = np.diff(x)
    y = y - y.mean()
    n = y.size
    w = np.array([0.5 - 0.5 * math.cos(2 * math.pi * (j + 1) / (n + 1)) for j in range(n)])
    ref = []
    for om in omega:
        dft = sum(w[j] * y[j] * np.exp(-1j * om * j) for j in range(n))
        ref.append(abs(dft) ** 2 / np.sum(w**2) / (4.0 * math.sin(om / 2.0) ** 2))
    assert k == 1 and omega.min() >= math.pi / 2 and omega.max() < math.pi
    np.testing.assert_allclose(spec, ref, rtol=1e-10)


def test_profile_is_the_fit_minimised_over_the_rough_parts_scale():
    """Newton's steps for ``c`` against a brute-force search over a fine grid of ``c``."""
    x = ar1(700, 0.9, 1) + np.random.default_rng(2).normal(0.0, 0.3, 700)
    _omega, spec, _k = periodogram(x)
    shapes = spectral_floor._shapes(spectral_floor.segment_length(x.size))
    nus = float(np.mean(spec)) * np.linspace(0.0, 1.0, 11)
    got = spectral_floor._profile(spec, shapes, nus)
    cs = float(np.mean(spec)) * np.concatenate([[0.0], np.geomspace(1e-5, 10.0, 4000)])
    want = np.full(nus.size, np.inf)
    for shape in shapes:
        for i, nu in enumerate(nus):
            s = nu + cs[:, None] * shape
            with np.errstate(divide="ignore", invalid="ignore"):
                crit = np.sum(np.log(s) + spec / s, axis=1)
            want[i] = min(want[i], np.nanmin(np.where(np.isfinite(crit), crit, np.nan)))
    assert np.all(got <= want + 1e-9)  # never worse than the grid ...
    np.testing.assert_allclose(got, want, atol=1e-3)  # ... and the grid's own resolution


@pytest.mark.parametrize(
    ("phi", "share", "below"), [(0.9, 0.1, 0.9), (0.9, 0.3, 1.0), (0.99, 0.05, 0.95)]
)
def test_floor_bounds_the_level_under_a_rough_part(phi, share, below):
    """AR(1) plus white noise (the model), 4096 samples: the bound is at least the true
    level and at most the finest details' reading (measured over 20 seeds: minimum 1.0x;
    medians 2.11x, 1.28x, 1.6x where quiet-windows reads 2.74x, 1.30x, 1.93x)."""
    for seed in range(3):
        x = ar1(4096, phi, seed) + np.random.default_rng(100 + seed).normal(0.0, share, 4096)
        s3 = float(quiet_window_noise(x)[0])
        upper = math.sqrt(spectral_floor.spectral_floor(x, s3**2).upper[0])
        assert share <= upper <= below * s3


def test_floor_of_white_noise_under_a_smooth_signal_is_the_level():
    """Nothing rough: the interval reaches the level read from the finest details."""
    t = np.arange(4096)
    for seed in range(3):
        x = np.sin(t / 40.0) + np.random.default_rng(seed).normal(0.0, 0.2, t.size)
        s3 = float(quiet_window_noise(x)[0])
        floor = spectral_floor.spectral_floor(x, s3**2)
        assert math.sqrt(floor.upper[0]) >= 0.95 * s3
        assert floor.lower[0] <= floor.likely[0] <= floor.upper[0]


def test_floor_of_a_short_or_constant_channel_is_not_read():
    short = spectral_floor.spectral_floor(np.arange(100.0), 1.0)
    assert np.isnan(short.upper).all() and np.isnan(short.variance).all()
    x = np.stack([np.zeros(600), np.random.default_rng(0).normal(0.0, 1.0, 600)], 1)
    two = spectral_floor.spectral_floor(x, [0.0, 1.0])
    assert np.isnan(two.upper[0]) and 0.5 < two.upper[1] <= 1.0


def music_over_a_rough_background(n: int, seed: int, share: float = 0.05):
    clean = notes(n) + 0.5 * ar1(n, 0.9, seed)
    sigma = share * float(np.std(clean))
    return clean, clean + np.random.default_rng(100 + seed).normal(0.0, sigma, n), sigma


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_noise_lowers_a_dense_rough_part_to_the_floor(seed):
    """Tones over an AR(1) background at 5 % noise: quiet-windows reads 2.4-2.6x, the
    search's level is the floor's bound (1.6-1.7x) and its low end at most the level."""
    _clean, f, sigma = music_over_a_rough_background(8192, seed)
    level = search_noise(f)
    assert float(quiet_window_noise(f)[0]) > 2.3 * sigma
    assert level.estimator == noise.FLOOR
    assert sigma <= level.sigma[0] < 1.8 * sigma
    assert level.low[0] <= level.sigma[0]


def test_search_noise_leaves_sparse_fine_scale_content_to_the_quiet_windows():
    """Tones in bursts (quiet between): the fine-scale energy is not dense, the floor
    (which reads the bursts' content, not the noise) is not used."""
    t = np.arange(8192)
    bursts = np.sin(2 * np.pi * 0.41 * t) * (np.sin(2 * np.pi * 3.0 * t / t.size) > 0.3)
    f = bursts + np.random.default_rng(0).normal(0.0, 0.02, t.size)
    level = search_noise(f)
    assert level.estimator == "quiet-windows"
    assert level.sigma[0] == pytest.approx(float(quiet_window_noise(f)[0]))


def test_search_noise_on_white_noise_is_not_lowered():
    """White noise is dense too, but its floor is the level: no seed of 30 is lowered."""
    for seed in range(30):
        x = np.random.default_rng(seed).normal(0.0, 1.5, 1000)
        assert search_noise(x).estimator != noise.FLOOR, seed


def _snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2)) / float(np.sum((u - clean) ** 2)))


def test_do_no_harm_with_the_floor_on_music_over_a_rough_background(monkeypatch):
    """Tones over an AR(1) background at 5 % noise, 8192 samples: without the floor (the
    finest details' 2.4x level) the automatic choice is 5.4 dB below the input, with it
    (1.7x) 1.1 dB: the floor alone does not reach the input here (four steady tones; the
    benchmark's plucked notes, ``bench_harm.py``, do)."""
    clean, f, _sigma = music_over_a_rough_background(8192, 0)
    plan, extra = choose_denoiser(f)
    with_floor = _snr(plan.run(f), clean) - _snr(f, clean)
    assert noise.FLOOR in extra["noise_estimators"]
    monkeypatch.setattr(rough_level, "FLOOR_Z", math.inf)  # the floor never lowers the level
    plan, extra = choose_denoiser(f)
    without = _snr(plan.run(f), clean) - _snr(f, clean)
    assert noise.FLOOR not in extra["noise_estimators"]
    assert without < -4.0 and with_floor > -2.0


def _profile_every_pair_every_step(spec, g, nus):
    """The criterion with every (rho, nu) pair stepped every time (the loop before it
    stepped only the pairs that moved), written out here."""
    shape, nu = g[:, None, :], nus[None, :, None]
    c = np.broadcast_to(np.maximum(float(np.mean(spec)) - nus, 0.0), (g.shape[0], nus.size))
    c = c / np.mean(g, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(spectral_floor.NEWTON_STEPS):
            s = nu + c[:, :, None] * shape
            grad = np.sum(shape * (s - spec) / s**2, axis=2)
            curv = np.sum(shape**2 * (2.0 * spec - s) / s**3, axis=2)
            step = np.where(curv > 0, grad / np.where(curv > 0, curv, 1.0), 0.0)
            new = np.maximum(c - step, 0.0)
            c = np.where(np.isfinite(new), new, c)
        s = nu + c[:, :, None] * shape
        crit = np.sum(np.log(s) + spec / s, axis=2)
    return np.min(np.where(np.isfinite(crit), crit, np.inf), axis=0)


@pytest.mark.parametrize("length", [128, 300, 512, 1023])
def test_profile_steps_only_moving_pairs_with_the_same_bits(length):
    """Stepping only the pairs whose ``c`` moved gives the criterion of stepping all,
    bit for bit: rough, white, zero-floored and all-zero nu grids."""
    rng = np.random.default_rng(length)
    g = spectral_floor._shapes(length)
    b = max(1, g.shape[1] // spectral_floor.BINS)
    g = g[:, : g.shape[1] // b * b].reshape(g.shape[0], -1, b).mean(axis=2)
    for trial in range(6):
        spec = rng.uniform(0.1, 3.0) * rng.standard_normal(g.shape[1]) ** 2
        spec += rng.uniform(0.0, 5.0) * g[trial % g.shape[0]]
        if trial == 4:
            spec[:3] = 0.0
        top = 0.0 if trial == 5 else rng.uniform(0.1, 3.0)
        nus = top * np.linspace(0.0, 1.0, spectral_floor.GRID)
        want = _profile_every_pair_every_step(spec, g, nus)
        got = spectral_floor._profile(spec, g, nus)
        np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


def test_periodogram_differences_only_its_segments_with_the_same_bits():
    """The segments' differences taken alone are those of ``np.diff`` of the signal."""
    x = np.cumsum(np.random.default_rng(3).standard_normal(70001))
    _omega, spec, k = periodogram(x)
    y = np.diff(x)
    length = spectral_floor.segment_length(x.size)
    starts = np.linspace(0, y.size - length, spectral_floor.MAX_SEGMENTS).astype(int)
    segs = np.stack([y[s : s + length] for s in starts])
    segs -= segs.mean(axis=1, keepdims=True)
    w = np.hanning(length + 2)[1:-1]
    ref = np.abs(np.fft.rfft(segs * w, axis=1)) ** 2 / np.sum(w**2)
    omega = 2.0 * np.pi * np.fft.rfftfreq(length)
    band = (omega >= 0.5 * np.pi) & (omega < np.pi * (1.0 - 1.0 / length))
    ref = ref.mean(axis=0)[band] / (4.0 * np.sin(omega[band] / 2.0) ** 2)
    assert k == spectral_floor.MAX_SEGMENTS
    np.testing.assert_array_equal(spec, ref)


def test_the_density_check_reuses_the_quiet_windows_energies_with_the_same_result():
    """search_noise hands the floor's density check the mean window energies that the
    quiet windows read: the levels, low ends and names of computing them again."""
    rng = np.random.default_rng(11)
    n = 4096
    x = np.column_stack(
        [ar1(n, 0.9, 1) + rng.normal(0.0, 0.3, n), notes(n) + rng.normal(0.0, 0.05, n)]
    )
    for u2 in (x, x[:, :1], np.cumsum(rng.standard_normal((n, 1)), axis=0)):
        plain, means, _ = noise._quiet_windows(u2)  # (and the channels with silence)
        np.testing.assert_array_equal(plain, noise.quiet_window_noise(u2))
        for c in range(u2.shape[1]):
            energies = noise.column_energies(np.ascontiguousarray(u2), c, noise.window_for(n))
            assert means[c] == np.mean(energies)
        got_names, old_names = ["quiet-windows"] * u2.shape[1], ["quiet-windows"] * u2.shape[1]
        low = 0.5 * plain
        got = noise._checked_by_floor(u2, plain, plain, got_names, low, means)
        old = noise._checked_by_floor(u2, plain, plain, old_names, low)
        np.testing.assert_array_equal(got, old)
        assert got_names == old_names
    assert noise._quiet_windows(x * 2.0**600)[1] is None  # scaled energies: not the samples'


def test_the_band_is_found_once_for_the_periodogram_and_the_shapes():
    """The upper half band's ordinates, one definition read by the periodogram and by the
    rough part's shapes (before: the mask written and computed in both), once per segment
    length over every channel and call, and shared read-only."""
    x = np.cumsum(np.random.default_rng(5).standard_normal((3000, 3)), axis=0)
    spectral_floor._band.cache_clear()
    spectral_floor._shapes.cache_clear()
    spectral_floor.spectral_floor(x, 1.0)
    spectral_floor.spectral_floor(x[:, 0], 1.0)
    length = spectral_floor.segment_length(x.shape[0])
    info = spectral_floor._band.cache_info()
    assert (info.misses, info.hits) == (1, 4)  # 4 periodograms and one shapes' table
    band, omega = spectral_floor._band(length)
    assert periodogram(x[:, 0])[0] is omega
    assert spectral_floor._shapes(length).shape == (spectral_floor.RHOS.size, omega.size)
    full = 2.0 * np.pi * np.fft.rfftfreq(length)
    np.testing.assert_array_equal(
        omega, full[(full >= 0.5 * np.pi) & (full < np.pi * (1.0 - 1.0 / length))]
    )
    assert band.sum() == omega.size and not omega.flags.writeable and not band.flags.writeable
