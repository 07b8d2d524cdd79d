"""The automatic search's plateau rule, SURE by chunks and the budget over lambda candidates."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise import autoparams, stopping_search, sure
from resdenoise.autoparams import _checkpoints, choose_parameters, choose_steps, on_plateau
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.sure import chunk_bounds, sure_parts

CHUNKS = 32


def _curve(level, noise: float, seed: int = 1):
    """Checkpoints 0..8000 and per-chunk SURE contributions: ``level(k)`` plus paired
    chunk noise whose batch-means standard error is about ``noise``."""
    blocks = [0, *_checkpoints(8000).tolist()]
    rng = np.random.default_rng(seed)
    # one fixed noise pattern per chunk that drifts slowly: changes between checkpoints
    # are noisy as SURE's differences are, not independent draws
    base = rng.standard_normal(CHUNKS)
    parts = []
    for k in blocks:
        jitter = base * np.log1p(k) / np.log1p(8000) + 0.3 * rng.standard_normal(CHUNKS)
        jitter -= jitter.mean()
        parts.append(level(k) / CHUNKS + noise / np.sqrt(CHUNKS) * jitter)
    return blocks, parts


def _first_stop(blocks, parts):
    for i in range(1, len(blocks) + 1):
        if on_plateau(blocks[:i], parts[:i]):
            return blocks[i - 1]
    return None


def test_a_flat_curve_is_a_plateau():
    # falls to 1.0 by 30 blocks, then flat: the rule stops at 4 x 30 = 120 or soon after
    blocks, parts = _curve(lambda k: 1.0 + 5.0 * max(0.0, 1.0 - k / 30.0), noise=0.01)
    stop = _first_stop(blocks, parts)
    assert stop is not None and 120 <= stop <= 200


def test_a_steady_fall_larger_than_the_noise_is_no_plateau():
    # falls like 1/sqrt(k), 30 % per doubling, far above the noise: never flat
    blocks, parts = _curve(lambda k: 1.0 / np.sqrt(1.0 + k), noise=1e-4)
    assert _first_stop(blocks, parts) is None


def test_a_local_minimum_followed_by_a_deeper_one_is_searched_through():
    # a minimum at 100, a rise of 0.5 (50 standard errors) by 300, a deeper minimum
    # at 1000, then flat: the first stop comes after the deeper minimum
    def level(k):
        first = 1.0 + ((k - 100) / 100.0) ** 2 if k < 300 else 0.0
        second = 5.0 - 4.5 * min(1.0, (k - 300) / 700.0) if k >= 300 else 0.0
        return min(first, 5.0) if k < 300 else second

    blocks, parts = _curve(level, noise=0.01)
    values = [float(np.sum(p)) for p in parts]
    early = [v for k, v in zip(blocks, values, strict=True) if k < 300]
    assert min(early) > min(values) + 0.4  # the constructed curve
    stop = _first_stop(blocks, parts)
    assert stop is not None and stop >= 4 * 1000


def test_sure_parts_sum_to_sure(rng):
    """Against SURE written out in full (Ramani, Blu and Unser's Monte-Carlo divergence)."""
    n, c = 1000, 2
    f2 = rng.standard_normal((n, c))
    u = rng.standard_normal((n, 2 * c))
    b = rng.standard_normal((n, c))
    sigma, eps = np.array([0.3, 0.7]), np.array([0.15, 0.35])
    div = np.sum(b * (u[:, c:] - u[:, :c]), axis=0) / eps
    want = np.sum(np.sum((f2 - u[:, :c]) ** 2, axis=0) / n - sigma**2 + 2 * sigma**2 * div / n)
    parts = sure_parts(f2, u, b, eps, sigma, chunk_bounds(n))
    assert len(parts) == min(sure.SE_CHUNKS, n // 16)
    assert np.sum(parts) == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_sure_by_pieces_equals_sure_in_one_piece(monkeypatch, rng):
    f2 = rng.standard_normal((5000, 1))
    u, b = rng.standard_normal((5000, 2)), rng.standard_normal((5000, 1))
    args = (f2, u, b, np.array([0.2]), np.array([0.4]), chunk_bounds(5000))
    monkeypatch.setattr(sure, "_kernels", lambda: None)  # NumPy's loop by pieces
    whole = sure_parts(*args)
    monkeypatch.setattr(sure, "PIECE", 300)
    np.testing.assert_allclose(sure_parts(*args), whole, rtol=1e-12, atol=1e-15)


def _reference_parts(f2, u, b, eps, sigma, bounds, groups):
    """sure_parts written out with NumPy: row values in the documented order, channels
    of a group summed, chunks summed by np.add.reduceat."""
    c = f2.shape[1]
    lo, hi = bounds[0], bounds[-1]
    r = (f2[lo:hi] - u[lo:hi, :c]) ** 2 + (u[lo:hi, c:] - u[lo:hi, :c]) * b[lo:hi] * (
        2.0 * sigma**2 / eps
    )
    rows = r.reshape(len(r), groups, -1).sum(axis=2)
    sums = np.add.reduceat(rows, bounds[:-1] - lo, axis=0)
    share = np.sum(sigma**2) / groups * np.diff(bounds)
    return ((sums - share[:, None]) / (hi - lo)).T.ravel()


@pytest.mark.parametrize("groups, per", [(1, 1), (1, 3), (4, 1), (3, 2)])
def test_compiled_sure_sums_are_numpys_bit_for_bit(monkeypatch, rng, groups, per):
    """The compiled per-chunk sums give NumPy's numbers exactly (its pairwise sums of
    chunks over 128 rows, a core inside the rows), and NumPy's own loop does too."""
    from resdenoise.engine import _kernels

    c, n = groups * per, 7001
    f2, b = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    u = f2[:, list(range(c)) * 2] + 0.1 * rng.standard_normal((n, 2 * c))
    sigma = rng.uniform(0.1, 2.0, c)
    eps = 0.5 * sigma
    bounds = 123 + chunk_bounds(n - 500, 37)
    want = _reference_parts(f2, u, b, eps, sigma, bounds, groups)
    assert _kernels() is not None and sure._compiled_sums(f2, u, b, eps, groups)
    np.testing.assert_array_equal(sure_parts(f2, u, b, eps, sigma, bounds, groups), want)
    monkeypatch.setattr(sure, "_kernels", lambda: None)
    np.testing.assert_array_equal(sure_parts(f2, u, b, eps, sigma, bounds, groups), want)


@pytest.mark.parametrize("groups, per", [(1, 1), (4, 2)])
def test_compiled_sure_sums_of_a_float32_run_are_those_of_its_float64_copy(rng, groups, per):
    """A float32 search's run is summed as the kernel reads it, each value widened (no
    float64 copy of the stack at each checkpoint): the numbers of its float64 copy."""
    from resdenoise.engine import _kernels

    c, n = groups * per, 3001
    f2, b = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    u = (f2[:, list(range(c)) * 2] + 0.1 * rng.standard_normal((n, 2 * c))).astype(np.float32)
    sigma = rng.uniform(0.1, 2.0, c)
    bounds = chunk_bounds(n, 16)
    parts = sure.SureParts(f2, b, 0.5 * sigma, sigma, bounds, groups)
    want = parts(u.astype(float))
    out = np.empty(parts.shape)
    _kernels().sure_sums(f2, u, b, parts.wc, parts.edges, groups, out)  # float32 taken
    np.testing.assert_array_equal(parts(u), want)
    assert parts.wide is None  # no copy made


def test_the_search_stops_on_a_flat_sure_curve_before_its_cap(monkeypatch, rng):
    """A filter that changes nothing: SURE is flat, the search stops at the rule's
    first chance (blocks >= PLATEAU_MIN_BLOCKS), not at its cap nor its horizon."""
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)
    f = np.repeat([0.0, 1.0], 400) + rng.normal(0.0, 0.3, 800)
    choice = choose_steps(f, lambda r: 0.0 * r, 0.25, max_blocks=5000, horizon=float("inf"))
    assert choice.blocks[-2] < autoparams.PLATEAU_MIN_BLOCKS <= choice.blocks[-1]
    assert not choice.reached_cap and choice.steps == 0
    assert choice.as_dict()["search_stopped_by"] == "plateau"


def test_a_falling_sure_curve_is_searched_to_its_cap(monkeypatch, rng):
    """Perona-Malik on a noisy step: SURE falls steadily, beyond its noise, up to the cap."""
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)
    f = np.repeat([0.0, 1.0], 400) + rng.normal(0.0, 0.3, 800)
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.5)
    choice = choose_steps(f, nl.phi, 0.25, max_blocks=2000, horizon=float("inf"))
    assert choice.blocks[-1] == 2000 and choice.reached_cap
    assert choice.stopped_by == "cap"
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 10**9)  # cheap: every block count
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 10**9)
    whole = choose_steps(f[:200], nl.phi, 0.25, max_blocks=60)
    assert whole.stopped_by == "whole curve" and whole.blocks[-1] == 60


@pytest.mark.parametrize("share", [1, 2])
def test_lambda_candidates_share_one_block_budget(monkeypatch, rng, share):
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(autoparams, "SEARCH_BUDGET", share)
    f = np.repeat([0.0, 1.0, -0.5], 200) + rng.normal(0.0, 0.2, 600)
    choice = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=300)
    spent = [c["blocks_searched"] for c in choice.candidates]
    assert sum(spent) <= share * 300
    assert all(k <= 300 for k in spent)


@pytest.mark.parametrize("noise", [0.003, 0.01, 0.03])
def test_the_plateau_rule_reads_parts_as_a_list_or_as_rows_alike(noise):
    """choose_steps keeps the parts as rows of one array: every decision along a curve
    (a fall, then flat) is the one the list of parts gives."""
    blocks, parts = _curve(lambda k: 1.0 + 5.0 * max(0.0, 1.0 - k / 30.0), noise)
    rows = np.array(parts)
    seen = [on_plateau(blocks[:i], parts[:i]) for i in range(1, len(blocks) + 1)]
    assert seen == [on_plateau(blocks[:i], rows[:i]) for i in range(1, len(blocks) + 1)]
    assert any(seen) and not all(seen)  # the curve has both answers to compare


def test_the_plateau_rule_decides_as_numpys_variance_does_at_the_edge(rng):
    """on_plateau's standard errors are NumPy's d.var(ddof=1) bit for bit: at z within a
    few roundings of the largest |change| / se (the edge, where one rounding flips the
    rule) it decides as the rule written with np.var does, and both ways occur."""
    blocks = list(range(10, 200, 10))
    seen = set()
    for _ in range(40):
        parts = rng.standard_normal((len(blocks), 64)) * np.exp(rng.standard_normal())
        d = parts[-1][None, :] - parts[3:-1]  # from the last block <= k / 4 = 47.5 (40) on
        change, se = np.abs(d.sum(axis=1)), np.sqrt(64 * d.var(axis=1, ddof=1))
        edge = float((change / se).max())
        for z in edge * (1.0 + np.arange(-4, 5) * 2.0**-52):
            want = bool(np.all(change <= z * se))
            assert on_plateau(blocks, parts, span=4.0, z=z) == want
            seen.add(want)
    assert seen == {True, False}
