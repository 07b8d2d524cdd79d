"""benchmarks/bench_fresh_nugget.py's verdict and bench_fresh.py's seeded halves, on
synthetic series (nothing read from a package; nothing timed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_fresh  # noqa: E402
import bench_fresh_nugget as why  # noqa: E402

N = 400


def _case(clean: np.ndarray, sigma: float, seed: int = 0) -> dict:
    f = clean + np.random.default_rng(seed).normal(0.0, sigma, clean.size)
    return why.figures(clean, f, sigma)


def test_a_clean_series_with_its_own_white_part_is_not_identifiable():
    """A slow trend plus white roughness of twice the added noise's level: the clean series'
    own intrinsic nugget reads about 4 sigma^2, and the level read is about sqrt(5) sigma,
    what that white part explains."""
    rng = np.random.default_rng(1)
    t = np.arange(N, dtype=float)
    clean = np.sin(2 * np.pi * t / 200) + 2.0 * 0.05 * rng.standard_normal(N)
    fig = _case(clean, 0.05)
    assert 2.5 < fig["q0"] < 6.0
    assert 1.8 < fig["read"] < 2.8  # sqrt(5) = 2.24
    assert why.verdict(fig, N) == "own white part"


def test_a_smooth_series_read_too_high_is_identifiable_and_one_read_right_is_not():
    """A slow sine has no fine-scale content of its own (q0 about 0, known to far better than
    sigma^2): the verdict says whether the level is read above what the series explains."""
    t = np.arange(N, dtype=float)
    fig = _case(np.sin(2 * np.pi * t / 200), 0.05)
    assert abs(fig["q0"]) < 0.1 and fig["q0 se"] < 0.1
    assert why.verdict(fig, N) == "level's error"  # read about 1x
    assert why.verdict({**fig, "read": 2.0}, N) == "identifiable"


def test_a_series_whose_own_reading_is_uncertain_is_unresolved():
    """A random walk whose increments are 20x the noise: its own quadratic reading's standard
    error is many sigma^2, so the noise variance is not resolved at this length."""
    clean = np.cumsum(np.random.default_rng(2).standard_normal(N))
    fig = _case(clean, 0.05)
    assert fig["q0 se"] >= 1.0 and not (fig["q0"] >= 1.0 and fig["q0"] >= fig["q0 se"])
    assert why.verdict(fig, N) == "unresolved"


def test_the_halves_are_seeded_and_split_twelve_to_eleven():
    a, b = bench_fresh.tuning_half(23), bench_fresh.tuning_half(23)
    assert a == b and len(a) == bench_fresh.TUNING == 12 and a <= set(range(23))
