"""The engine against implementations written here, sample by sample.

* ``run_blocks`` equals a plain Python loop over samples of
  ``u_i += (tau/h)(Phi(d_i) - Phi(d_{i-1}))`` with zero flux at both ends.
* ``shrink`` (plan + engine, and the convenience function) equals an
  iterated, cycle-spun single-scale Haar shrinkage written here as a
  transform: analysis, shrinkage of the details, synthesis, both shifts
  averaged, mirrored ends (the paper, Table 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import api, filters
from resdenoise.engine import backward_difference, diffusion_block, forward_difference, run_blocks
from resdenoise.errors import ParameterError, SignalError
from resdenoise.nonlinearities import NONLINEARITIES, get_nonlinearity

SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------
# Reference implementations, written without numpy vector tricks
# --------------------------------------------------------------------------


def loop_diffusion(f, phi_scalar, tau, m, h):
    """m explicit diffusion blocks, one sample at a time, zero flux at both ends."""
    u = [list(map(float, row)) for row in np.atleast_2d(np.asarray(f, dtype=float).T)]
    for channel in u:
        n = len(channel)
        for _ in range(m):
            flux = [phi_scalar((channel[i + 1] - channel[i]) / h) for i in range(n - 1)]
            new = []
            for i in range(n):
                right = flux[i] if i < n - 1 else 0.0
                left = flux[i - 1] if i > 0 else 0.0
                new.append(channel[i] + tau / h * (right - left))
            channel[:] = new
    out = np.array(u).T
    return out[:, 0] if np.asarray(f).ndim == 1 else out


def cycle_spun_haar(f, shrink_scalar, iterations):
    """Iterated single-scale shift-invariant Haar shrinkage with mirrored ends.

    Works on the symmetric extension x_j = f_j (0 <= j < N), f_{2N-1-j}
    (N <= j < 2N), periodic with period 2N.  For shift s, sample j belongs
    to the pair (p, p+1) with p = j if j - s is even, else p = j - 1.  The
    Haar analysis of the pair is a = (x_p + x_{p+1})/sqrt2,
    w = (x_p - x_{p+1})/sqrt2; the synthesis after shrinking w gives
    (a + S(w))/sqrt2 at p and (a - S(w))/sqrt2 at p+1.  The two shifts are
    averaged.
    """
    u = np.asarray(f, dtype=float)
    squeeze = u.ndim == 1
    u = u.reshape(u.shape[0], -1).copy()
    n = u.shape[0]

    def x(col, j):
        j %= 2 * n
        return col[j] if j < n else col[2 * n - 1 - j]

    for _ in range(iterations):
        new = np.empty_like(u)
        for c in range(u.shape[1]):
            col = list(u[:, c])
            for j in range(n):
                total = 0.0
                for s in (0, 1):
                    p = j if (j - s) % 2 == 0 else j - 1
                    a = (x(col, p) + x(col, p + 1)) / SQRT2
                    w = shrink_scalar((x(col, p) - x(col, p + 1)) / SQRT2)
                    total += (a + w) / SQRT2 if p == j else (a - w) / SQRT2
                new[j, c] = total / 2.0
        u = new
    return u[:, 0] if squeeze else u


# Shrinkage functions S(s) with threshold theta, written from Table 3.
def soft(theta):
    return lambda s: math.copysign(max(abs(s) - theta, 0.0), s)


def garrote(theta):
    return lambda s: s - theta * theta / s if abs(s) > theta else 0.0


def hard(theta):
    return lambda s: s if abs(s) > theta else 0.0


def perona_malik(theta):
    lam = SQRT2 * theta
    return lambda s: s * (1.0 - math.exp(-s * s / (lam * lam)))


def charbonnier(theta):
    lam = SQRT2 * theta
    return lambda s: s * (1.0 - 1.0 / math.sqrt(1.0 + 2.0 * s * s / (lam * lam)))


SHRINKAGES = {
    "soft": soft,
    "garrote": garrote,
    "hard": hard,
    "perona-malik": perona_malik,
    "charbonnier": charbonnier,
}


# --------------------------------------------------------------------------
# Differences
# --------------------------------------------------------------------------


def test_forward_difference_by_hand():
    u = np.array([1.0, 4.0, 2.0, 2.0, -3.0])
    np.testing.assert_array_equal(forward_difference(u), [3.0, -2.0, 0.0, -5.0])
    np.testing.assert_array_equal(forward_difference(u, h=0.5), [6.0, -4.0, 0.0, -10.0])


def test_backward_difference_has_zero_flux_at_both_ends():
    flux = np.array([3.0, -2.0, 0.0, -5.0])
    # (F_0 - 0, F_1 - F_0, F_2 - F_1, F_3 - F_2, 0 - F_3) / h
    np.testing.assert_array_equal(backward_difference(flux), [3.0, -5.0, 2.0, -5.0, 5.0])
    np.testing.assert_array_equal(backward_difference(flux, h=2.0), [1.5, -2.5, 1.0, -2.5, 2.5])
    assert backward_difference(flux).sum() == 0.0


def test_differences_work_along_axis_0_for_channels():
    u = np.array([[0.0, 10.0], [1.0, 30.0], [3.0, 60.0]])
    np.testing.assert_array_equal(forward_difference(u), [[1.0, 20.0], [2.0, 30.0]])
    np.testing.assert_array_equal(
        backward_difference(forward_difference(u)), [[1.0, 20.0], [1.0, 10.0], [-2.0, -30.0]]
    )


def test_linear_block_by_hand():
    # u = [0, 0, 1, 1], tau = 1/4: u_1 += 1/4 (1 - 0), u_2 += 1/4 (0 - 1)
    out = run_blocks(np.array([0.0, 0.0, 1.0, 1.0]), lambda r: r, 0.25, 1)
    np.testing.assert_array_equal(out, [0.0, 0.25, 0.75, 1.0])
    # h = 2: d = 1/2, flux 1/2, times tau/h = 1/8
    out = run_blocks(np.array([0.0, 0.0, 1.0, 1.0]), lambda r: r, 0.25, 1, h=2.0)
    np.testing.assert_array_equal(out, [0.0, 0.0625, 0.9375, 1.0])


# --------------------------------------------------------------------------
# run_blocks against the loop
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(NONLINEARITIES))
@pytest.mark.parametrize("h", [1.0, 0.7, 2.5])
def test_run_blocks_equals_loop_over_samples(key, h, stereo_signal):
    nl = get_nonlinearity(key, lam=1.3)
    tau = h * h / 4.0
    expected = loop_diffusion(stereo_signal, lambda r: float(nl.phi(r)), tau, 7, h)
    got = run_blocks(stereo_signal, nl.phi, tau, 7, h)
    assert got.shape == stereo_signal.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(stereo_signal).max())


@pytest.mark.parametrize("n", [2, 3, 8, 17])
def test_run_blocks_mono_short_signals(n, rng):
    f = rng.standard_normal(n)
    phi = get_nonlinearity("perona-malik", lam=0.8).phi
    expected = loop_diffusion(f, lambda r: float(phi(r)), 0.3, 5, 1.4)
    got = run_blocks(f, phi, 0.3, 5, 1.4)
    assert got.shape == (n,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)


def test_run_blocks_equals_the_formula_block(stereo_signal):
    phi = get_nonlinearity("charbonnier", lam=2.0).phi
    u = stereo_signal
    for _ in range(4):
        u = diffusion_block(u, phi, 0.2, 0.9)
    np.testing.assert_allclose(run_blocks(stereo_signal, phi, 0.2, 4, 0.9), u, rtol=0, atol=1e-12)


def test_channels_are_independent(stereo_signal):
    phi = get_nonlinearity("soft", lam=1.0).phi
    both = run_blocks(stereo_signal, phi, 0.25, 9, 1.0)
    for c in range(2):
        alone = run_blocks(stereo_signal[:, c], phi, 0.25, 9, 1.0)
        np.testing.assert_array_equal(both[:, c], alone)


@pytest.mark.parametrize("key", sorted(NONLINEARITIES))
def test_mean_is_preserved(key, stereo_signal):
    nl = get_nonlinearity(key, lam=0.5)
    out = run_blocks(stereo_signal, nl.phi, 0.5, 50, 1.0)
    drift = np.abs(out.mean(axis=0) - stereo_signal.mean(axis=0))
    assert np.all(drift <= 1e-12 * np.abs(stereo_signal).max(axis=0))


def test_input_is_not_modified_and_zero_blocks_copy(step_signal):
    before = step_signal.copy()
    out = run_blocks(step_signal, np.tanh, 0.25, 3)
    np.testing.assert_array_equal(step_signal, before)
    zero = run_blocks(step_signal, np.tanh, 0.25, 0)
    np.testing.assert_array_equal(zero, before)
    assert zero is not step_signal and out is not step_signal


def test_dtypes():
    f32 = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    out = run_blocks(f32, lambda r: r, 0.25, 1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([0.25, 0.5, 0.25], dtype=np.float32))
    ints = run_blocks(np.array([0, 4, 0]), lambda r: r, 0.25, 1)
    assert ints.dtype == np.float64
    np.testing.assert_array_equal(ints, [1.0, 2.0, 1.0])


def test_callback_sees_every_block_and_can_stop():
    seen = []

    def record(k, u):
        seen.append((k, u.copy()))

    f = np.array([0.0, 0.0, 1.0, 1.0])
    out = run_blocks(f, lambda r: r, 0.25, 3, callback=record)
    assert [k for k, _ in seen] == [1, 2, 3]
    np.testing.assert_array_equal(seen[0][1], [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_array_equal(seen[-1][1], out)

    def stop_after_two(k, u):
        return k < 2

    early = run_blocks(f, lambda r: r, 0.25, 10, callback=stop_after_two)
    np.testing.assert_array_equal(early, run_blocks(f, lambda r: r, 0.25, 2))


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((3, 2, 2)), 0.25, 1), "shape"),
        ((np.zeros(1), 0.25, 1), "at least 2"),
        ((np.zeros(4), 0.25, -1), ">= 0"),
        ((np.zeros(4), 0.0, 1), "tau and h"),
        ((np.zeros(4), math.nan, 1), "tau and h"),
        ((np.zeros(4), math.inf, 1), "tau and h"),  # as the API's check_positive: NaN before
        ((np.zeros(4), True, 1), "tau and h"),
    ],
)
def test_run_blocks_rejects_bad_input(args, match):
    u, tau, m = args
    with pytest.raises(ValueError, match=match):
        run_blocks(u, lambda r: r, tau, m)
    for h in (0.0, math.inf):
        with pytest.raises(ValueError, match="tau and h"):
            run_blocks(np.zeros(4), lambda r: r, 0.25, 1, h=h)


# --------------------------------------------------------------------------
# shrink = cycle-spun Haar shrinkage
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHRINKAGES))
@pytest.mark.parametrize("n", [16, 23])
@pytest.mark.parametrize("channels", [1, 3])
def test_shrink_equals_cycle_spun_haar(name, n, channels, rng):
    theta = 0.45
    f = rng.standard_normal((n, channels)) + np.linspace(-2.0, 3.0, n)[:, None]
    if channels == 1:
        f = f[:, 0]
    iterations = 4
    expected = cycle_spun_haar(f, SHRINKAGES[name](theta), iterations)

    nl = get_nonlinearity(name, "shrinkage", lam=SQRT2 * theta)
    plan = filters.plan_shrink(nl, iterations)
    assert (plan.tau, plan.h, plan.steps) == (0.25, 1.0, iterations)
    np.testing.assert_allclose(filters.run_plan(plan, f), expected, rtol=0, atol=1e-12)

    convenience = api.shrink(f, name, theta=theta, iterations=iterations)
    np.testing.assert_allclose(convenience, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["soft", "garrote", "hard"])
def test_library_wavelet_transform_agrees_with_reference(name, rng):
    # resdenoise.wavelet.cycle_spin_shrink backs --check-wavelet; it must be
    # the same transform as the reference here.
    from resdenoise.wavelet import cycle_spin_shrink

    f = rng.standard_normal((19, 2))
    nl = get_nonlinearity(name, "shrinkage", lam=SQRT2 * 0.6)
    expected = cycle_spun_haar(f, SHRINKAGES[name](0.6), 3)
    np.testing.assert_allclose(cycle_spin_shrink(f, nl.shrinkage, 3), expected, atol=1e-12)


def test_shrink_threshold_scales_with_lambda(rng):
    # A threshold above every detail coefficient of soft shrinkage sets all
    # details to zero: one step is the Haar low-pass, i.e. linear diffusion.
    f = rng.uniform(-1.0, 1.0, 12)
    out = api.shrink(f, "soft", theta=10.0, iterations=1)
    np.testing.assert_allclose(out, run_blocks(f, lambda r: r, 0.25, 1), atol=1e-15)
    # theta -> 0: nothing is shrunk, the signal is reproduced
    kept = api.shrink(f, "hard", theta=1e-9, iterations=3)
    np.testing.assert_allclose(kept, f, atol=1e-15)


@pytest.mark.parametrize("name", ["perona-malik", "charbonnier", "tanh"])
@pytest.mark.parametrize("shape", [(300,), (300, 3)])
def test_in_place_run_gives_run_blocks_bits(rng, name, shape):
    """InPlaceRun (one tile, one thread, set up once): run_blocks' numbers bit for bit,
    run after run in place, for the compiled loops and NumPy's."""
    from resdenoise.engine import InPlaceRun

    nl = get_nonlinearity(name, "diffusivity", 0.6)
    u = rng.standard_normal(shape)
    run = InPlaceRun(nl, 0.2, 1.5, shape)
    got, done = u.copy(), 0
    for k in (1, 4, 70, 200):
        assert run(got, k - done) is got
        done = k
        np.testing.assert_array_equal(got, run_blocks(u, nl, 0.2, k, 1.5))
    with pytest.raises(ParameterError, match="^u must be a writeable C-contiguous float64 array"):
        run(got.astype(np.float32), 1)
    for tau in (0.0, math.inf):
        with pytest.raises(ParameterError, match="tau and h must be finite numbers > 0"):
            InPlaceRun(nl, tau, 1.0, shape)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((1,), "at least 2 samples"),
        ((1, 3), "at least 2 samples"),
        ((5, 0), "has no channels"),
        ((4, 2, 2), r"must have shape \(n,\) or \(n, channels\)"),
        ((), r"must have shape \(n,\) or \(n, channels\)"),
    ],
)
def test_in_place_run_refuses_a_shape_as_run_blocks_refuses_the_signal(shape, match):
    """A plain ValueError before (and (5, 0), no channels, was taken); now the
    SignalError run_blocks raises for a signal of that shape, with its words."""
    from resdenoise.engine import InPlaceRun

    nl = get_nonlinearity("perona-malik", "diffusivity", 0.6)
    with pytest.raises(SignalError, match=match) as made:
        InPlaceRun(nl, 0.2, 1.0, shape)
    if shape:
        with pytest.raises(SignalError) as ran:
            run_blocks(np.zeros(shape), nl, 0.2, 1)
        assert str(made.value) == str(ran.value)


@pytest.mark.parametrize(
    "given",
    [
        lambda u: u.astype(np.float32),
        lambda u: u[:-1],
        lambda u: np.broadcast_to(u[:1], u.shape),
        lambda u: u.tolist(),
    ],
)
def test_in_place_run_refuses_an_array_it_cannot_run_in_with_a_parameter_error(given):
    from resdenoise.engine import InPlaceRun

    u = np.linspace(0.0, 1.0, 30)
    run = InPlaceRun(get_nonlinearity("charbonnier", "diffusivity", 0.6), 0.2, 1.0, u.shape)
    with pytest.raises(ParameterError, match=r"^u must be a writeable C-contiguous float64") as e:
        run(given(u), 3)
    assert e.value.exit_code == 2


@pytest.mark.parametrize("name", ["perona-malik", "tanh"])
@pytest.mark.parametrize("blocks", [-1, -(10**30), 2.5, True, False, math.inf, math.nan, "3", None])
def test_in_place_run_refuses_blocks_as_run_blocks_does(name, blocks):
    """leftovers12: InPlaceRun ran 2.5 blocks as 2 and True as 1, a negative count as
    none, and infinity raised OverflowError; now run_blocks' ParameterError (exit code
    2), its words but the name, and u untouched."""
    from resdenoise.engine import InPlaceRun

    nl = get_nonlinearity(name, "diffusivity", 0.6)
    u = np.linspace(0.0, 1.0, 30) ** 2
    before = u.copy()
    with pytest.raises(ParameterError) as ran:
        InPlaceRun(nl, 0.2, 1.0, u.shape)(u, blocks)
    with pytest.raises(ParameterError) as engine:
        run_blocks(u, nl, 0.2, blocks)
    assert str(ran.value) == str(engine.value).replace("n_blocks", "blocks", 1)
    assert str(ran.value).startswith("blocks must be an integer >= 0, got ")
    assert ran.value.exit_code == 2
    np.testing.assert_array_equal(u, before)


@pytest.mark.parametrize("blocks", [0, 3, np.int64(3), np.uint8(3), 3.0, np.float32(3.0)])
def test_in_place_run_takes_any_whole_count_as_run_blocks_does(blocks):
    from resdenoise.engine import InPlaceRun

    nl = get_nonlinearity("charbonnier", "diffusivity", 0.6)
    u = np.linspace(0.0, 1.0, 30) ** 2
    expected = run_blocks(u, nl, 0.2, blocks)
    np.testing.assert_array_equal(InPlaceRun(nl, 0.2, 1.0, u.shape)(u, blocks), expected)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(3000,), (40000, 2)])
def test_a_long_compiled_run_is_calls_of_bounded_work_with_the_same_bits(
    rng, monkeypatch, shape, threads
):
    """Python handles a signal between calls of the compiled loop, not inside one: a
    run is several calls of at most CALL_WORK values x blocks (at least one sweep),
    and its numbers are those of one call (tiled or one tile, one thread or two)."""
    from resdenoise import engine, stepper

    if engine.backend_for(get_nonlinearity("perona-malik", "diffusivity", 0.6)) != "compiled":
        pytest.skip("the compiled loop is not built")
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.6)
    u = rng.standard_normal(shape)
    one = run_blocks(u, nl, 0.2, 300, threads=threads)  # CALL_WORK: one call for all
    calls = []
    real = engine._kernels()

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def run(self, a, ws, channels, family, lam, tau_h, h_inv, blocks):
            calls.append(a.size * blocks)
            return real.run(a, ws, channels, family, lam, tau_h, h_inv, blocks)

        def run_sweeps(self, src, a, *rest):
            calls.append(a.size * rest[-3])  # its blocks
            return real.run_sweeps(src, a, *rest)

    monkeypatch.setattr(stepper, "_kernels", lambda: Counting())
    monkeypatch.setattr(stepper, "CALL_WORK", u.size * 100)
    split = run_blocks(u, nl, 0.2, 300, threads=threads)
    np.testing.assert_array_equal(split, one)
    sweep = engine.COMPILED_SWEEP_BLOCKS
    assert len(calls) >= 3 and max(calls) <= u.size * max(100, sweep)
