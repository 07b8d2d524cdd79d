"""A long signal's search in float32: the windowed lambda search's stack and the refine's
probe of the whole signal (:class:`resdenoise.sure.WholeProbe`) run about zero in
float32 where the signal's spread fits (:func:`resdenoise.sure.float32_shift`), their
rounding far below the Monte-Carlo estimate's noise; the plan's output stays float64."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise import autoparams, engine, search_windows, stability, stopping_search, sure
from resdenoise.autoparams import choose_parameters
from resdenoise.engine import InPlaceRun, StackRun, run_blocks
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.sure import (
    ProbeWindows,
    SureParts,
    WholeProbe,
    batches,
    chunk_bounds,
    float32_shift,
    sure_stack,
)

N = 6000
SIGMA = 0.2


def _signal(n: int = N) -> np.ndarray:
    rng = np.random.default_rng(5)
    t = np.arange(n)
    clean = np.sign(np.sin(2 * np.pi * t / 1100.0)) + 0.5 * np.sin(2 * np.pi * t / 170.0)
    return clean + SIGMA * rng.standard_normal(n)


def _plan(lam: float = 0.5):
    nl = get_nonlinearity("perona-malik", "diffusivity", lam)
    return nl.phi, stability.default_tau(nl, 1.0)


@pytest.mark.parametrize("channels", [2, 8])
def test_a_float32_stack_runs_in_float32_with_the_engines_numbers(channels):
    """StackRun keeps a float32 stack float32 (in channel groups too) and gives
    run_blocks' float32 numbers; a float64 stack runs as before."""
    phi, tau = _plan()
    rng = np.random.default_rng(1)
    stack = rng.standard_normal((3000, channels)).cumsum(axis=0).astype(np.float32)
    run = StackRun(stack, phi, tau, 1.0)
    run.advance(20)
    out = run.advance(30)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, run_blocks(stack, phi, tau, 50))
    wide = StackRun(stack.astype(float), phi, tau, 1.0).advance(50)
    assert wide.dtype == np.float64
    np.testing.assert_array_equal(wide, run_blocks(stack.astype(float), phi, tau, 50))
    one = InPlaceRun(phi, tau, 1.0, stack.shape, np.float32)
    mine = stack.copy()
    np.testing.assert_array_equal(one(mine, 50), run_blocks(stack, phi, tau, 50))
    with pytest.raises(ValueError, match="float32"):
        one(stack.astype(float), 1)


def test_sure_parts_of_a_float32_run_are_those_of_its_float64_copy():
    """A float32 run's SURE is summed by the compiled pass on a float64 copy: the numbers
    of the same run handed over in float64."""
    if engine._kernels() is None:
        pytest.skip("no compiled kernels")
    f2 = _signal()[:, None] - _signal().mean()
    b, eps, stack = sure_stack(f2, np.array([SIGMA]))
    phi, tau = _plan()
    u = run_blocks(stack.astype(np.float32), phi, tau, 40)
    parts = SureParts(f2, b, eps, np.array([SIGMA]), chunk_bounds(N))
    np.testing.assert_array_equal(parts(u), parts(u.astype(float)))


def test_float32_shift_is_the_mean_where_the_spread_fits_its_range_of_probe_steps():
    eps = np.array([0.5 * SIGMA])
    f2 = _signal()[:, None] + 1e6
    np.testing.assert_array_equal(float32_shift(f2, eps), f2.mean(axis=0))
    assert float32_shift((f2 - 1e6) * sure.FLOAT32_RANGE, eps) is None
    assert float32_shift(np.zeros((0, 1)), eps) is None
    two = np.concatenate([f2, f2 * sure.FLOAT32_RANGE], axis=1)  # one channel too wide
    assert float32_shift(two, np.array([0.5 * SIGMA] * 2)) is None


def _written(f2: np.ndarray, blocks: int) -> np.ndarray:
    """The whole probe's divergence per gain batch written out in float64."""
    phi, tau = _plan()
    b, eps, stack = sure_stack(f2, np.array([SIGMA]))
    u = run_blocks(stack, phi, tau, blocks)
    terms = b * (u[:, 1:] - u[:, :1]) / eps
    return np.add.reduceat(terms, batches(len(f2))[0], axis=0)


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_the_whole_probe_runs_about_zero_in_float32(offset):
    """The probe runs in float32 about the signal's mean, whatever its offset: each
    batch's divergence within 1e-3 of the float64 one (each of them about 190 terms of
    order one; the probe's own noise is of order ten)."""
    f2 = _signal()[:, None]
    phi, tau = _plan()
    probe = WholeProbe(f2 + offset, np.array([SIGMA]), phi, tau, 1.0)
    assert probe.up.dtype == np.float32 and probe.values < f2.size
    probe.advance(30)
    probe.advance(50)
    u = run_blocks(f2 + offset, phi, tau, 80)
    expected = _written(f2, 80)
    np.testing.assert_allclose(probe.divergence(u), expected, rtol=0, atol=1e-3)
    assert np.max(np.abs(expected)) > 1.0


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_the_probe_windows_run_about_zero_in_float32(offset, monkeypatch):
    """The refine's probe windows too: within 1e-3 per batch of their float64 run (the
    same windows and probe), whatever the offset."""
    f2 = _signal()[:, None]
    phi, tau = _plan()
    fast = ProbeWindows(f2 + offset, np.array([SIGMA]), phi, tau, 1.0, 80)
    assert fast.up.dtype == np.float32 and fast.values < fast.up.size
    monkeypatch.setattr(sure, "FLOAT32_RANGE", 0.0)
    slow = ProbeWindows(f2, np.array([SIGMA]), phi, tau, 1.0, 80)
    assert slow.up.dtype == np.float64 and slow.values == slow.up.size
    fast.advance(80)
    slow.advance(80)
    got = fast.divergence(run_blocks(f2 + offset, phi, tau, 80))
    expected = slow.divergence(run_blocks(f2, phi, tau, 80))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)
    assert np.max(np.abs(expected)) > 1.0


def test_the_whole_probe_of_a_wide_spread_runs_in_float64():
    f2 = _signal()[:, None]
    f2[: N // 2] += 1e4 * SIGMA  # far more than float32's range of probe steps
    phi, tau = _plan()
    probe = WholeProbe(f2, np.array([SIGMA]), phi, tau, 1.0)
    assert probe.up.dtype == np.float64 and probe.values == f2.size
    probe.advance(80)
    got = probe.divergence(run_blocks(f2, phi, tau, 80))
    np.testing.assert_allclose(got, _written(f2, 80), rtol=1e-10, atol=1e-10)


#: Windows on a short signal (as tests/test_search_windows.py's fixture).
WINDOWED = {"WINDOW_CORE": 256, "WINDOW_SAMPLES": 1536, "WINDOW_MAX_SHARE": 0.5}


def test_the_windowed_search_runs_in_float32_and_chooses_as_in_float64(monkeypatch):
    """The windows' stack runs in float32 about zero; the candidates' choices are those
    of the float64 search, their SURE within 1e-6 of it; the output is float64."""
    for name, value in WINDOWED.items():
        monkeypatch.setattr(search_windows, name, value)
    for module in (autoparams, stopping_search):
        monkeypatch.setattr(module, "EXHAUSTIVE_BUDGET", 0)
    dtypes = []
    real = StackRun.__init__

    def spy(self, stack, *args, **kwargs):
        real(self, stack, *args, **kwargs)
        dtypes.append((stack.shape[1], self.u.dtype))

    monkeypatch.setattr(StackRun, "__init__", spy)
    f = _signal() + 50.0
    fast = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=800, keep=True)
    windows = [d for c, d in dtypes if c > 2]  # 6 windows and their probes
    assert windows and all(d == np.float32 for d in windows)
    assert fast.stopping.output.dtype == np.float64
    monkeypatch.setattr(sure, "FLOAT32_RANGE", 0.0)  # float64 throughout
    dtypes.clear()
    slow = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=800, keep=True)
    assert all(d == np.float64 for _, d in dtypes)
    assert (fast.nl.lam, fast.steps) == (slow.nl.lam, slow.steps)
    assert [(c["lambda"], c["steps"]) for c in fast.candidates] == [
        (c["lambda"], c["steps"]) for c in slow.candidates
    ]
    for a, b in zip(fast.candidates, slow.candidates, strict=True):
        assert a["criterion"] == pytest.approx(b["criterion"], rel=1e-6)
    np.testing.assert_array_equal(fast.stopping.output, slow.stopping.output)
