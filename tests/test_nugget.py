"""The variogram's nugget (resdenoise.nugget) and how the automatic searches use it
(resdenoise.noise.search_noise, resdenoise.automatic.do_no_harm)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import noise, nugget
from resdenoise.automatic import CANDIDATES, NOTHING, choose_denoiser, noise_per_level
from resdenoise.multilevel import white_nugget
from resdenoise.noise import search_noise
from resdenoise.nugget import nugget_noise


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """AR(1) of unit innovations, by its recursion."""
    e = np.random.default_rng(seed).standard_normal(n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = phi * acc + e[i]
        out[i] = acc
    return out


def reference_nugget(x: np.ndarray, lags: int = 6, blocks: int = 8) -> tuple[float, float]:
    """The nugget and its standard error written out: V(h) per block by a loop over the
    pairs, the model fitted by np.linalg.lstsq for every rho of the grid."""
    edges = [b * x.size // blocks for b in range(blocks + 1)]
    vb = np.array(
        [
            [
                sum((x[t + h] - x[t]) ** 2 for t in range(lo, hi - h)) / (2 * (hi - lo - h))
                for h in range(1, lags + 1)
            ]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
    )
    v = vb.mean(axis=0)
    h = np.arange(1, lags + 1, dtype=float)
    best = None
    for rho in [*(1.0 - np.geomspace(0.9, 1e-3, 48)), 1.0]:
        b = h if rho == 1.0 else (1 - rho**h) / (1 - rho)
        a = np.column_stack([np.ones(lags), b])
        coef = np.linalg.lstsq(a, v, rcond=None)[0]
        resid = float(np.sum((a @ coef - v) ** 2))
        if coef[1] >= 0 and (best is None or resid < best[0]):
            best = (resid, a)
    a = best[1]
    per_block = [np.linalg.lstsq(a, row, rcond=None)[0][0] for row in vb]
    return float(np.mean(per_block)), float(np.std(per_block, ddof=1) / math.sqrt(blocks))


def test_nugget_equals_the_written_out_fit():
    x = ar1(600, 0.95, 3) + np.random.default_rng(4).normal(0.0, 0.4, 600)
    variance, se = reference_nugget(x)
    got = nugget_noise(np.stack([x, 2.0 * x], 1))
    assert got.variance[0] == pytest.approx(variance, rel=1e-10)
    assert got.standard_error[0] == pytest.approx(se, rel=1e-10)
    assert got.variance[1] == pytest.approx(4.0 * variance, rel=1e-10)
    assert got.upper[0] == pytest.approx(max(variance, 0.0) + nugget.Z * se, rel=1e-10)


def test_nugget_of_a_short_signal_is_not_read():
    got = nugget_noise(np.arange(nugget.MIN_SAMPLES - 1, dtype=float))
    assert np.isnan(got.variance[0]) and np.isnan(got.misfit[0])
    level = search_noise(np.random.default_rng(0).normal(0.0, 1.0, nugget.MIN_SAMPLES - 1))
    assert nugget.MIN_SAMPLES > 100 and level.estimator == "quiet-windows"


@pytest.mark.parametrize(
    ("signal", "share"),
    [("walk", 0.05), ("walk", 0.10), ("ar 0.99", 0.10), ("ar 0.99", 0.30), ("ar 0.9", 0.30)],
)
def test_nugget_within_its_stated_error_on_rough_signals(signal, share):
    """Random walks and AR(1) plus white noise (the model exactly): within 20 % of the
    true level in each of 4 seeds, and within its 2 standard errors in most."""
    inside = 0
    for seed in range(4):
        clean = np.cumsum(np.random.default_rng(seed).standard_normal(4096))
        if signal != "walk":
            clean = ar1(4096, float(signal.split()[1]), seed)
        sigma = share * np.std(clean)
        f = clean + np.random.default_rng(100 + seed).normal(0.0, sigma, clean.size)
        got = nugget_noise(f)
        assert got.misfit[0] <= noise.NUGGET_MISFIT
        assert 0.8 < math.sqrt(max(got.variance[0], 0.0)) / sigma < 1.2
        inside += abs(got.variance[0] - sigma**2) <= 2 * got.standard_error[0]
    assert inside >= 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_noise_lowers_an_over_read_rough_signal(seed):
    """quiet-windows reads AR(1) phi = 0.99 at 5-10 % white noise as 1.2-1.8x the level;
    the search's level is the nugget's upper bound, within 20 %, and named so."""
    clean = ar1(4096, 0.99, seed)
    sigma = 0.10 * np.std(clean)
    f = clean + np.random.default_rng(100 + seed).normal(0.0, sigma, clean.size)
    plain = noise.estimate_noise(f)[0]
    level = search_noise(f)
    assert level.per_channel() == [noise.NUGGET]
    assert level.sigma[0] < plain
    assert 0.8 < level.sigma[0] / sigma < 1.2


@pytest.mark.parametrize("seed", [0, 1])
def test_search_noise_keeps_quiet_windows_on_smooth_signals(seed):
    """A smooth signal (third differences see only the noise) and a sum of tones: the
    variogram does not lower the level (misfit, or the level under its bound)."""
    t = np.arange(4096)
    for clean in (np.sin(2 * np.pi * t / 400) + 0.3 * np.cos(2 * np.pi * t / 97), tone_sum()):
        sigma = 0.05 * np.std(clean)
        f = clean + np.random.default_rng(seed).normal(0.0, sigma, clean.size)
        level = search_noise(f)
        assert noise.NUGGET not in level.per_channel()
        assert noise.UNIDENTIFIED not in level.per_channel()
        assert level.sigma[0] == noise.estimate_noise(f)[0] or level.estimator == (
            noise.EXTRAPOLATED
        )


def tone_sum() -> np.ndarray:
    k = np.arange(2048)
    return np.sin(2 * np.pi * k / 37) + 0.5 * np.sin(2 * np.pi * k / 11.3 + 1)


def test_search_noise_on_white_noise_is_unchanged():
    """On white noise the variogram is flat: the nugget never lowers the level below
    its bound (0 of 40 seeds)."""
    for seed in range(40):
        x = np.random.default_rng(seed).normal(0.0, 1.5, 1000)
        level = search_noise(x)
        assert noise.NUGGET not in level.per_channel()
        assert noise.UNIDENTIFIED not in level.per_channel()


def candidate(label: str) -> tuple:
    """One of the automatic search's candidates, by its label (a faster search)."""
    return tuple(c for c in CANDIDATES if c[0] == label)


def snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2) / np.sum((u - clean) ** 2)))


def test_do_no_harm_on_ar1_with_white_noise():
    """AR(1) phi = 0.9 with white noise of 5 % of its std: quiet-windows read 5x the
    level and the automatic output was 12 dB below the input.  The variogram cannot
    identify the level (its nugget within 2 standard errors of 0): the input is kept,
    and said so.  (Soft shrinkage alone, the candidate the search chose before: 26.1 ->
    14.0 dB.)"""
    clean = ar1(4096, 0.9, 7)
    f = clean + np.random.default_rng(100).normal(0.0, 0.05 * np.std(clean), clean.size)
    assert noise.estimate_noise(f)[0] > 3 * 0.05 * np.std(clean)
    plan, extra = choose_denoiser(f, candidates=candidate("shrink soft"))
    assert extra["noise_estimators"] == [noise.UNIDENTIFIED]
    assert extra["automatic_choice"] == NOTHING
    assert "not identified" in extra["warnings"][0]
    assert snr(plan.run(f), clean) >= snr(f, clean) - 1e-9


def test_a_resolved_nugget_denoises_a_rough_signal():
    """AR(1) phi = 0.99 at 10 %: the nugget identifies the level and the output gains."""
    clean = ar1(4096, 0.99, 7)
    f = clean + np.random.default_rng(100).normal(0.0, 0.10 * np.std(clean), clean.size)
    plan, extra = choose_denoiser(f, candidates=candidate("shrink garrote"))
    assert extra["noise_estimators"] == [noise.NUGGET]
    assert snr(plan.run(f), clean) > snr(f, clean)


def pink(n: int, rng) -> np.ndarray:
    """1/f noise of unit std, by shaping white noise's spectrum."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freq = np.fft.rfftfreq(n)
    freq[0] = freq[1]
    x = np.fft.irfft(spec / np.sqrt(freq), n)
    return x / np.std(x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_white_nugget_leaves_coloured_noise_to_the_scales(seed):
    """Pink noise's variogram grows with the lag like a rough signal's: its nugget lowers
    the finest level, but the levels rise as one power law, and the automatic choice
    keeps the level without the nugget (sensor trace at 10 % pink noise: -0.41 dB)."""
    rng = np.random.default_rng(seed)
    clean = np.repeat(np.round(rng.normal(0.0, 1.0, 4), 1), 1024)
    f = clean + 0.1 * np.std(clean) * pink(clean.size, rng)
    level = search_noise(f)
    assert level.per_channel() == [noise.NUGGET]
    kept = white_nugget(f, level)
    assert kept.per_channel() == search_noise(f, nugget=False).per_channel()
    assert kept.sigma[0] == search_noise(f, nugget=False).sigma[0] > level.sigma[0]
    rough = ar1(4096, 0.99, seed)
    g = rough + np.random.default_rng(100 + seed).normal(0.0, 0.1 * np.std(rough), 4096)
    assert white_nugget(g, search_noise(g)).per_channel() == [noise.NUGGET]


def test_a_nugget_level_is_white_at_every_scale():
    """Over a level the nugget set, an AR(1)'s coarse content rose like coloured noise's
    (AR(1) phi = 0.9 at 30 %: -4.6 dB where the plain level gave +1.0); the scales take
    that level as white."""
    clean = ar1(4096, 0.9, 7)
    f = clean + np.random.default_rng(100).normal(0.0, 0.3 * np.std(clean), clean.size)
    level = search_noise(f)
    assert level.per_channel() == [noise.NUGGET] and level.white_by_nugget()
    assert not search_noise(f, nugget=False).white_by_nugget()
    per_level, rule = noise_per_level(f, level)
    assert per_level is None and rule.startswith("white")
