"""The refine of a windowed search with SURE's divergence from a probe on windows only
(:class:`resdenoise.sure.ProbeWindows`): exact on the cores, unbiased for the
Jacobian's trace, the same numbers after its windows grow, and the refine's rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import autoparams, search_windows, stability, stopping_search, sure
from resdenoise.autoparams import choose_parameters
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.sure import (
    BatchResiduals,
    ProbeWindows,
    batch_residuals,
    batches,
    gain_from_sums,
)

N = 3000
SIGMA = 0.2


@pytest.fixture(autouse=True)
def float64(monkeypatch):
    """The windows' numbers in float64, exact on the cores (their float32 runs, within
    rounding of these: tests/test_float32_search.py)."""
    monkeypatch.setattr(sure, "FLOAT32_RANGE", 0.0)


def _signal(n: int = N, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(n)[:, None] + 300 * np.arange(channels)
    clean = np.sign(np.sin(2 * np.pi * t / 700.0)) + 0.5 * np.sin(2 * np.pi * t / 190.0)
    return clean + SIGMA * rng.standard_normal((n, channels))


def _plan(lam: float = 0.6):
    nl = get_nonlinearity("perona-malik", "diffusivity", lam)
    return nl.phi, stability.default_tau(nl, 1.0)


def _expected(f2, w: ProbeWindows, phi, tau, blocks: int) -> np.ndarray:
    """Each batch's divergence written out: a probe run of the WHOLE signal that has
    window j's probe on window j's rows (zero elsewhere), ``b (up - uf) / eps`` summed
    over the rows of core j inside batch j, times ``(size + core - 1) / core``."""
    n, c = f2.shape
    starts, sizes = batches(n)
    uf = run_blocks(f2, phi, tau, blocks)
    out = np.empty((len(starts), c))
    length = w.shape[0]
    for j in range(len(starts)):
        b = np.zeros((n, c))
        b[w.window[j] : w.window[j] + length] = w.b[:, j]
        up = run_blocks(f2 + w.eps * b, phi, tau, blocks)
        lo = max(int(w.first[j]), int(starts[j]))
        hi = min(int(w.first[j]) + w.core, int(starts[j] + sizes[j]))
        terms = b[lo:hi] * (up[lo:hi] - uf[lo:hi]) / w.eps
        out[j] = terms.sum(axis=0) * (sizes[j] + w.core - 1) / w.core
    return out


@pytest.mark.parametrize("blocks", [30, 200])
@pytest.mark.parametrize("channels", [1, 2])
def test_the_windows_divergence_is_the_whole_probe_runs_on_the_cores(blocks, channels):
    """30 blocks: halos of 30 rows, the stencil's reach (exact by construction); 200
    blocks: halos of 8 sqrt(200) = 114 rows, where the ends' influence is below
    rounding.  Both to 1e-10 of the batch's sum of |terms|."""
    f2 = _signal(channels=channels)
    phi, tau = _plan()
    sigma = np.full(channels, SIGMA)
    w = ProbeWindows(f2, sigma, phi, tau, 1.0, blocks)
    assert w.shape[0] == w.core + 2 * min(blocks, math.ceil(sure.PROBE_HALO * math.sqrt(blocks)))
    w.advance(blocks)
    got = w.divergence(run_blocks(f2, phi, tau, blocks))
    want = _expected(f2, w, phi, tau, blocks)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_the_windows_divergence_is_unbiased_for_the_jacobians_trace(monkeypatch):
    """Linear diffusion (b (up - uf) / eps = b' J b exactly): the windowed estimate's
    mean over 400 seeds is within 4 of its standard errors of trace(J), the trace of
    the run's Jacobian computed by brute force (the run of every unit vector); its
    spread is what the batch-means standard error of the estimate sees."""
    n, blocks = 256, 6
    phi, tau = _plan()
    phi = get_nonlinearity("linear", "diffusivity", 1.0).phi
    tau = 0.2
    jacobian = run_blocks(np.eye(n), phi, tau, blocks)  # column i: the run of e_i
    trace = float(np.trace(jacobian))
    f2 = _signal(n)
    uf = run_blocks(f2, phi, tau, blocks)
    estimates = []
    for seed in range(400):
        monkeypatch.setattr(sure, "PROBE_SEED", seed)
        w = ProbeWindows(f2, np.array([SIGMA]), phi, tau, 1.0, blocks)
        w.advance(blocks)
        estimates.append(float(w.divergence(uf).sum()))
    se = np.std(estimates, ddof=1) / math.sqrt(len(estimates))
    assert abs(np.mean(estimates) - trace) < 4 * se
    assert se < 0.02 * trace  # a real test: the estimates are not all over the place


def test_wider_windows_keep_the_probe_and_the_cores_numbers():
    """Growing the windows keeps the probe on the rows they share with the old ones;
    within both reaches (exact cones) the cores' divergence is the same, bit for bit."""
    f2 = _signal(channels=2)
    phi, tau = _plan()
    w = ProbeWindows(f2, np.array([SIGMA, SIGMA]), phi, tau, 1.0, 20)
    old_b, old_window, old_len = w.b.copy(), w.window.copy(), w.shape[0]
    w.advance(15)
    u = run_blocks(f2, phi, tau, 15)
    before = w.divergence(u)
    w.grow(50, 15)  # 50 rows per side (8 sqrt(50) > 50), run again to 15
    assert w.reach == 50 and w.shape[0] == w.core + 100
    for j in range(len(w.window)):
        at = old_window[j] - w.window[j]
        np.testing.assert_array_equal(w.b[at : at + old_len, j], old_b[:, j])
    np.testing.assert_array_equal(w.divergence(u), before)


def test_windows_with_a_signals_end_between_two_of_them_refuse():
    """One after the other in one stack, a window clipped at the signal's start must
    come first (and one clipped at its end last); else their cost is infinite, and
    cost_for tells the cost of a reach before the windows are made."""
    f2 = _signal(20000)
    phi, tau = _plan()
    w = ProbeWindows(f2, np.array([SIGMA]), phi, tau, 1.0, 100)  # halos of 80 rows
    assert w.cost < 1 and w.cost == pytest.approx(w.cost_for(100))
    assert np.all(w.window[1:-1] > 0) and w.cost_for(20000) > w.cost_for(100)
    far = ProbeWindows(f2, np.array([SIGMA]), phi, tau, 1.0, 20000)  # halos of 1132 rows
    assert far.cost_for(20000) < math.inf
    assert np.sum(far.window == 0) > 1 and far.cost == math.inf


@pytest.mark.parametrize(("n", "piece"), [(1000, 100), (1000, 1 << 16), (37, 5), (10, 100)])
def test_batch_residuals_are_the_gain_tests_residual_sums(monkeypatch, n, piece):
    monkeypatch.setattr(sure, "PIECE", piece)
    rng = np.random.default_rng(n)
    f2, u = rng.standard_normal((2, n, 2))
    want = np.array([np.sum(np.square(a - b), axis=0) for a, b in zip(
        np.array_split(f2, len(batches(n)[0])), np.array_split(u, len(batches(n)[0])), strict=True
    )])  # fmt: skip
    np.testing.assert_allclose(batch_residuals(f2, u), want, rtol=1e-13)


def test_batch_residuals_of_one_signal_at_many_runs_share_one_scratch(monkeypatch):
    """A refine's BatchResiduals: the numbers of batch_residuals at each call, its
    pieces' differences in one scratch of the longest piece's rows made at the first
    call (not new memory of the signal's size at every checkpoint); NumPy's loop (the
    compiled sums need none)."""
    monkeypatch.setattr(sure, "PIECE", 300)
    monkeypatch.setattr(sure, "_kernels", lambda: None)
    rng = np.random.default_rng(3)
    f2, u, v = rng.standard_normal((3, 1000, 2))
    sums = BatchResiduals(f2)
    for run in (u, v, u):
        np.testing.assert_array_equal(sums(run), batch_residuals(f2, run))
        assert sums.scratch.shape == (max(hi - lo for *_, lo, hi in sums.pieces), 2)
        kept = sums.scratch
    sums(v)
    assert sums.scratch is kept and len(sums.pieces) > 1


def test_the_windows_index_arrays_share_memory_where_they_can():
    """The cores' rows, clipped in place, are the flat indices of one channel; the
    cores' indices in the windows' stack too are made in place: the same divergence."""
    f2 = _signal()
    phi, tau = _plan()
    w = ProbeWindows(f2, np.array([SIGMA]), phi, tau, 1.0, 30)
    assert np.shares_memory(w.flat, w.rows) and w.rows.min() >= 0
    rows = np.clip(w.first[None, :] + np.arange(w.core)[:, None], 0, N - 1)
    np.testing.assert_array_equal(w.rows, rows)
    at = np.clip(rows - w.window, 0, w.shape[0] - 1)
    np.testing.assert_array_equal(w.flat_at, (at + w.cols * w.shape[0]).ravel())
    two = ProbeWindows(_signal(channels=2), np.array([SIGMA, SIGMA]), phi, tau, 1.0, 30)
    np.testing.assert_array_equal(two.flat, (two.rows[:, :, None] * 2 + [0, 1]).ravel())


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("span", [0.0, 2.0**10])  # the windows in float64, in float32
def test_compiled_refine_sums_are_numpys_bit_for_bit(monkeypatch, channels, span):
    """The refine's sums at a checkpoint in one compiled pass each (the residuals per
    batch, the windows' divergence, of a float32 run about its shift too) give the
    numbers of NumPy's loops exactly (their pairwise sums, the cores' sum over rows)."""
    from resdenoise.engine import _kernels

    monkeypatch.setattr(sure, "FLOAT32_RANGE", span)
    f2 = _signal(20011, channels)
    phi, tau = _plan()
    w = ProbeWindows(f2, np.full(channels, SIGMA), phi, tau, 1.0, 40)
    assert (w.shift is None) == (span == 0.0) and w.cost < 1
    w.advance(25)
    u = run_blocks(f2, phi, tau, 25)
    sums = BatchResiduals(f2)
    got = w.divergence(u), sums(u)
    assert hasattr(_kernels(), "probe_divergence") and sums.kernels is not None
    assert sums.scratch is None  # the compiled sums: no scratch
    monkeypatch.setattr(sure, "_kernels", lambda: None)
    want = w.divergence(u), BatchResiduals(f2)(u)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.all(want[0] != 0) and np.all(want[1] > 0)


def test_the_compiled_divergence_refuses_an_index_outside_the_runs():
    from resdenoise.engine import _kernels

    f2 = _signal()
    phi, tau = _plan()
    w = ProbeWindows(f2, np.array([SIGMA]), phi, tau, 1.0, 30)
    flat = w.flat.copy()
    flat[-1] = len(f2)
    with pytest.raises(IndexError, match="out of range"):
        _kernels().probe_divergence(w.up, w.flat_at, f2, flat, w.w, np.empty(0), np.empty(32))


@pytest.fixture
def windowed(monkeypatch):
    """A short signal searched on windows, its refine on probe windows at any cost."""
    monkeypatch.setattr(search_windows, "WINDOW_CORE", 256)
    monkeypatch.setattr(search_windows, "WINDOW_SAMPLES", 1536)
    monkeypatch.setattr(search_windows, "WINDOW_MAX_SHARE", 0.5)
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(search_windows, "REFINE_WINDOWS_COST", math.inf)
    used = []
    real = search_windows._refine_on_windows

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(search_windows, "_refine_on_windows", spy)
    return used


def test_the_refine_on_windows_follows_the_whole_probes_curve(windowed, monkeypatch):
    """Its SURE curve from a quarter of the block count chosen on has the shape of the
    whole probe's refine (a different probe, the same target: the change from the
    choice within 2 standard errors of the gain at each checkpoint; the level itself
    moves with the probe's noise, by 4 of them at zero blocks here); the two choose
    within one checkpoint of each other or within one standard error.  It stops at the first checkpoint past its
    best; its gain test is its sums' batch means."""
    f = _signal(6000)[:, 0]
    choice = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=800, sigma=SIGMA)
    assert windowed == [True]
    s = choice.stopping
    assert s.steps > 0 and s.blocks[-1] == s.blocks[s.blocks.index(s.steps) + 1]
    assert s.blocks[-1] >= autoparams.REFINE_HORIZON * s.steps
    gain, se = choice.tested
    assert (gain, se) == gain_from_sums(s.gain_sums, np.array([SIGMA]), len(f))
    assert gain == pytest.approx(s.best - SIGMA**2, rel=1e-12)
    assert s.best_parts.sum() == pytest.approx(s.best, rel=1e-12)
    monkeypatch.setattr(search_windows, "REFINE_WINDOWS_COST", -1.0)  # the whole probe
    whole = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=800, sigma=SIGMA)
    assert windowed[1:] == [False, True] and whole.nl.lam == choice.nl.lam
    theirs = dict(zip(whole.stopping.blocks, whole.stopping.criterion, strict=True))
    shared = [k for k in s.blocks if k in theirs]
    assert len(shared) >= 5
    # the two choose alike: within one checkpoint of each other, or where the curve is flat
    # within the probes' noise (here, since the windows' grid is 16 % apart: 108 and 187
    # blocks, whose SURE by the whole probe is 0.26 standard errors apart), the whole
    # probe's SURE at the windowed choice within one standard error of its best
    near = abs(math.log(whole.steps / s.steps)) <= math.log(autoparams.REFINE_RATIO) + 0.01
    assert near or theirs[s.steps] - whole.stopping.best < se
    for k, value in zip(s.blocks, s.criterion, strict=True):
        if k in theirs and k >= s.steps / 4:
            assert abs((value - s.best) - (theirs[k] - theirs[s.steps])) < 2 * se


def test_a_refine_past_the_windows_reach_grows_them_and_too_costly_falls_back(
    windowed, monkeypatch
):
    """A windows' choice far below the whole signal's best: the refine runs on past
    REFINE_REACH x m and grows its windows; with a cost limit they cannot meet, the
    whole probe refines instead (:class:`resdenoise.sure.WholeProbe`), by the same rule
    with its own gain sums."""
    f = _signal(6000)[:, 0]
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.6)
    tau = stability.default_tau(nl, 1.0)
    short = autoparams.StoppingChoice(4, "sure", (SIGMA,), (0, 4, 6), (1.0, 0.5, 0.51), False)
    best = autoparams.AutoChoice(nl, tau, short, "given", ())
    grown = []
    real = ProbeWindows.grow
    monkeypatch.setattr(ProbeWindows, "grow", lambda w, *a: (grown.append(a), real(w, *a)))
    stopping, tested = autoparams._refine(f, best, 1.0, np.array([SIGMA]), 800, False)
    assert windowed == [True] and grown and stopping.steps > autoparams.REFINE_REACH * 4
    monkeypatch.setattr(search_windows, "REFINE_WINDOWS_COST", 0.0)
    old, old_tested = autoparams._refine(f, best, 1.0, np.array([SIGMA]), 800, False)
    assert windowed[1:] == [False, True] and old.blocks[0] == 0
    assert old_tested == gain_from_sums(old.gain_sums, np.array([SIGMA]), len(f))
