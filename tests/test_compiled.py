"""The compiled step loop (``resdenoise/_kernels.c``) against the NumPy one.

The NumPy step loop is the reference (``tests/test_engine_blocking.py``
checks it against a reference written there).  Here:

* the compiled loop is built where ``make test`` runs (it sets
  ``RESDENOISE_REQUIRE_COMPILED=1``), and without it everything still runs,
  in NumPy;
* its exponential 2^t (Perona-Malik) is within 2 ulp of libm's ``exp2``,
  lies in (0, 1] for every t <= 0 and is 2^-1021 (float: 2^-125) below that;
* its AVX2 loop and its portable loop give the same bits;
* its runs equal the NumPy loop's bit for bit for every family it has but
  Perona-Malik, which agrees to rounding with a reference written here;
* the stability guarantees hold for it, by hypothesis.

Nothing here is timed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise import engine, stepper
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import NONLINEARITIES, from_function, get_nonlinearity

KERNELS = engine._kernels()
COMPILED = [] if KERNELS is None else [k for k in sorted(NONLINEARITIES) if k in KERNELS.FAMILIES]
EXACT = [k for k in COMPILED if k != "perona-malik"]
needs_kernels = pytest.mark.skipif(KERNELS is None, reason="C extension not built here")


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    width = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
    return (
        a.dtype == b.dtype and a.shape == b.shape and bool((a.view(width) == b.view(width)).all())
    )


def noisy_steps(rng, n, channels, dtype, amplitude=1.0):
    shape = (n,) if channels == 0 else (n, channels)
    steps = np.where(np.arange(n) % 19 < 9, -1.0, 1.5)
    steps = steps if channels == 0 else steps[:, None] * np.arange(1, channels + 1)
    return (amplitude * (steps + 0.6 * rng.standard_normal(shape))).astype(dtype)


def test_compiled_loop_is_built_where_required():
    """``make test`` (and so CI) requires the extension: the C code must build there."""
    if os.environ.get("RESDENOISE_REQUIRE_COMPILED") == "1":
        assert KERNELS is not None, "resdenoise._kernels was not built"
        assert engine.backend_for(get_nonlinearity("perona-malik")) == "compiled"
    else:
        assert engine.backend_for(get_nonlinearity("perona-malik")) in engine.BACKENDS


# --------------------------------------------------------------------------
# The exponential
# --------------------------------------------------------------------------


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(want.astype(got.dtype))


@needs_kernels
def test_exp2_float64_within_two_ulp_of_libm(rng):
    t = np.concatenate(
        [
            -np.logspace(-300, math.log10(1021.0), 200_001),
            -rng.uniform(0.0, 1021.0, 200_000),
            -np.arange(0, 1021.5, 0.5),  # exact powers of two and the rounding ties of k
            [0.0, -0.0, -5e-324, -1e-17, -0.5, -1020.9999999, -1021.0],
        ]
    )
    t = t[t >= -1021.0]  # where the result is 2^t, not its floor
    out = np.empty_like(t)
    KERNELS.exp2_nonpositive(t, out)
    want = np.exp2(t)
    assert ulps(out, want).max() <= 2.0
    assert ((out >= 0.0) & (out <= 1.0)).all()
    powers = -np.arange(0.0, 1022.0)
    KERNELS.exp2_nonpositive(powers, out[: powers.size])
    assert same_bits(out[: powers.size], np.exp2(powers))  # 2^-k exactly


@needs_kernels
def test_exp2_has_a_floor_below_the_normal_range():
    # 2^-1021: the kernel adds k to the exponent bits, which must stay a normal number
    t = np.array([-1021.0001, -1022.0, -1030.0, -1074.0, -1e6, -1e300, -np.inf])
    out = np.full_like(t, 7.0)
    KERNELS.exp2_nonpositive(t, out)
    assert same_bits(out, np.full_like(t, 2.0**-1021))
    t32 = np.array([-125.001, -126.0, -140.0, -1e30, -np.inf], np.float32)
    out32 = np.full_like(t32, 7.0)
    KERNELS.exp2_nonpositive(t32, out32)
    assert same_bits(out32, np.full_like(t32, 2.0**-125))


@needs_kernels
def test_exp2_float32_within_two_ulp(rng):
    t = np.concatenate(
        [-np.logspace(-40, math.log10(125.0), 100_001), -rng.uniform(0, 125, 100_000), [0.0]]
    ).astype(np.float32)
    t = t[t >= -125.0]
    out = np.empty_like(t)
    KERNELS.exp2_nonpositive(t, out)
    want = np.exp2(t.astype(np.float64))  # the exact 2^t of the float32 argument, in float64
    assert ulps(out, want).max() <= 2.0
    assert ((out >= 0.0) & (out <= 1.0)).all()


# --------------------------------------------------------------------------
# Runs against the NumPy loop
# --------------------------------------------------------------------------


@needs_kernels
@settings(max_examples=80)
@given(
    key=st.sampled_from(EXACT or ["linear"]),
    dtype=st.sampled_from([np.float64, np.float32]),
    channels=st.sampled_from([0, 1, 2, 5]),
    n=st.integers(2, 700),
    m=st.integers(1, 25),
    lam=st.sampled_from([0.05, 0.8, 3.0]),
    h=st.sampled_from([1.0, 0.6]),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_equals_numpy_bit_for_bit(key, dtype, channels, n, m, lam, h, seed):
    nl = get_nonlinearity(key, lam=lam)
    f = noisy_steps(np.random.default_rng(seed), n, channels, dtype)
    compiled = run_blocks(f, nl, 0.2, m, h, backend="compiled", threads=1)
    assert same_bits(compiled, run_blocks(f, nl, 0.2, m, h, backend="numpy", threads=1))


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hard_shrinkage_keeps_a_difference_of_exactly_lam(backend, dtype):
    """Table 3: the hard flux is Phi(r) = r for |r| <= lam.  f = [0, 2, 2, 0], lam = 2,
    tau = 1/4, one block: fluxes tau * [2, 0, -2] = [0.5, 0, -0.5], so [0.5, 1.5, 1.5, 0.5]
    (a flux of 0 at the tie would leave f as it is)."""
    if backend == "compiled" and KERNELS is None:
        pytest.skip("C extension not built here")
    f = np.array([0.0, 2.0, 2.0, 0.0], dtype=dtype)
    out = run_blocks(f, get_nonlinearity("hard", lam=2.0), 0.25, 1, backend=backend)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.array([0.5, 1.5, 1.5, 0.5], dtype=dtype))


@needs_kernels
@pytest.mark.parametrize("key", EXACT or ["linear"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lam", [2.0, 0.375, 0.37])
@pytest.mark.parametrize("channels", [0, 2])
def test_compiled_equals_numpy_where_differences_are_lam_exactly(key, dtype, lam, channels):
    """Differences of exactly +-lam and one ulp either side (quantised data, integer
    samples or PCM, with a round lambda meet them often; random data never): where
    hard, garrote and clipping branch, the compiled loop's runs are the NumPy loop's."""
    t = dtype(lam)
    steps = []
    for d in (t, np.nextafter(t, dtype(0)), np.nextafter(t, dtype(9))):
        steps += [d, -d]
    f = np.zeros(2 * len(steps) + 1, dtype=dtype)
    f[1::2] = steps  # differences +-d from 0 and back: exact
    assert set(np.abs(np.diff(f)).tolist()) == {float(abs(d)) for d in steps}
    if channels:
        f = np.stack([f, -f[::-1]], axis=1)
    nl = get_nonlinearity(key, lam=lam)
    for m in (1, 3):
        compiled = run_blocks(f, nl, 0.25, m, backend="compiled", threads=1)
        assert same_bits(compiled, run_blocks(f, nl, 0.25, m, backend="numpy", threads=1))


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_charbonnier_moves_lam_across_a_jump_whose_square_overflows(backend, dtype):
    """|d/lam| > 1e154 (float32 1.8e19): the flux is +-lam there, as its limit,
    in both step loops, bit for bit (it was d / inf = 0: no flux at all)."""
    if backend == "compiled" and KERNELS is None:
        pytest.skip("C extension not built here")
    lam, tau, big = 0.5, 0.25, (1e300 if dtype == np.float64 else 1e30)
    f = np.array([0.0, 0.0, big, big, 0.0, 0.0], dtype=dtype)
    nl = get_nonlinearity("charbonnier", lam=lam)
    one = run_blocks(f, nl, tau, 1, backend=backend)
    moved = dtype(lam * tau)
    np.testing.assert_array_equal(one, np.array([0, moved, f[2] - moved, f[3] - moved, moved, 0]))
    if KERNELS is not None:
        other = "numpy" if backend == "compiled" else "compiled"
        assert same_bits(
            run_blocks(f, nl, tau, 7, backend=backend), run_blocks(f, nl, tau, 7, backend=other)
        )


def perona_malik_reference(f, lam, tau, m, h):
    """Perona-Malik blocks with libm's exp2 and the kernel's order of operations."""
    u = np.array(f, dtype=np.float64)
    c = -math.log2(math.e) / (2.0 * lam * lam)
    for _ in range(m):
        d = (u[1:] - u[:-1]) * (1.0 / h)
        flux = d * np.exp2((d * d) * c) * (tau / h)
        u[:-1] += flux
        u[1:] -= flux
    return u


@needs_kernels
@pytest.mark.parametrize("channels", [0, 2])
@pytest.mark.parametrize("h", [1.0, 0.8])
def test_perona_malik_agrees_to_rounding(channels, h, rng):
    f = noisy_steps(rng, 3000, channels, np.float64, amplitude=3.0)
    nl = get_nonlinearity("perona-malik", lam=1.3)
    m = 200
    compiled = run_blocks(f, nl, 0.2 * h * h, m, h, backend="compiled")
    tol = 16 * m * np.finfo(float).eps * np.abs(f).max()
    np.testing.assert_allclose(compiled, perona_malik_reference(f, 1.3, 0.2 * h * h, m, h), 0, tol)
    numpy = run_blocks(f, nl, 0.2 * h * h, m, h, backend="numpy")
    np.testing.assert_allclose(compiled, numpy, rtol=0, atol=tol)
    assert not same_bits(compiled, numpy)  # it is a different exponential: this test can fail
    f32 = f.astype(np.float32)
    compiled32 = run_blocks(f32, nl, 0.2 * h * h, m, h, backend="compiled")
    numpy32 = run_blocks(f32, nl, 0.2 * h * h, m, h, backend="numpy")
    np.testing.assert_allclose(compiled32, numpy32, rtol=0, atol=8 * m * 6e-8 * np.abs(f).max())


@needs_kernels
@settings(max_examples=120)
@given(
    dtype=st.sampled_from([np.float64, np.float32]),
    channels=st.integers(1, 8),
    n=st.integers(2, 1100),
    m=st.integers(1, 12),
    lam=st.sampled_from([0.05, 0.8, 3.0]),
    h=st.sampled_from([1.0, 0.6]),
    seed=st.integers(0, 2**32 - 1),
)
def test_perona_malik_vector_loop_equals_portable_loop(dtype, channels, n, m, lam, h, seed):
    # Perona-Malik with up to 4 channels (float32: 8) runs in the AVX2 loop
    # where the CPU has it, more channels in the portable strips.  Channels
    # do not interact, so a signal's channels alone and inside a signal of 9
    # channels must come out the same, bit for bit.  (Without AVX2 both
    # take the portable loop and this checks channel independence only.)
    nl = get_nonlinearity("perona-malik", lam=lam)
    f = noisy_steps(np.random.default_rng(seed), n, channels, dtype, amplitude=2.0)
    f = f.reshape(n, channels)
    wide = np.zeros((n, 9), dtype)
    wide[:, :channels] = f
    alone = run_blocks(f, nl, 0.2 * h * h, m, h, backend="compiled", threads=1)
    inside = run_blocks(wide, nl, 0.2 * h * h, m, h, backend="compiled", threads=1)
    assert same_bits(alone, np.ascontiguousarray(inside[:, :channels]))


@needs_kernels
def test_perona_malik_steps_outside_the_exponentials_range_run_in_numpy(rng):
    nl = get_nonlinearity("perona-malik", lam=1.0)
    f = noisy_steps(rng, 50, 0, np.float64)
    tiny = 2.0**-70
    assert same_bits(
        run_blocks(f, nl, tiny, 3, backend=None), run_blocks(f, nl, tiny, 3, backend="numpy")
    )
    with pytest.raises(ValueError, match=r"tau/h\*\*2 in \[2\*\*-60"):
        run_blocks(f, nl, tiny, 3, backend="compiled")
    with pytest.raises(ValueError, match="2\\^-60"):
        KERNELS.run(f.copy(), np.empty_like(f), 1, KERNELS.FAMILIES.index("perona-malik"),
                    1.0, tiny, 1.0, 1)  # fmt: skip


# --------------------------------------------------------------------------
# Stability, by hypothesis
# --------------------------------------------------------------------------


@needs_kernels
@settings(max_examples=150)
@given(
    key=st.sampled_from(COMPILED or ["linear"]),
    dtype=st.sampled_from([np.float64, np.float32]),
    channels=st.sampled_from([0, 2]),
    n=st.integers(2, 400),
    m=st.integers(1, 40),
    amplitude=st.sampled_from([1e-3, 1.0, 1e3]),
    lam=st.sampled_from([1e-3, 0.5, 1.0, 1e3]),
    at_sign_bound=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_loop_keeps_the_guarantees(
    key, dtype, channels, n, m, amplitude, lam, at_sign_bound, seed
):
    """Max-min principle, mean, total variation; sign changes at tau <= 1/4 (h = 1)."""
    nl = get_nonlinearity(key, lam=lam)
    f = noisy_steps(np.random.default_rng(seed), n, channels, dtype, amplitude)
    tau = 0.25 if at_sign_bound else 0.5  # the L-infinity and sign bounds for g in [0, 1]
    u = run_blocks(f, nl, tau, m, backend="compiled").astype(np.float64)
    f = f.astype(np.float64)
    eps = np.finfo(dtype).eps * amplitude * 8 * (m + 1)
    assert (u.min(axis=0) >= f.min(axis=0) - eps).all()
    assert (u.max(axis=0) <= f.max(axis=0) + eps).all()
    np.testing.assert_allclose(u.mean(axis=0), f.mean(axis=0), rtol=0, atol=eps)
    tv = lambda x: np.abs(np.diff(x, axis=0)).sum(axis=0)  # noqa: E731
    assert (tv(u) <= tv(f) + eps * n).all()
    if at_sign_bound:

        def changes(x):
            s = np.sign(np.where(np.abs(x) <= eps, 0.0, x))
            return np.array([np.count_nonzero(np.diff(c[c != 0])) for c in s.reshape(n, -1).T])

        assert (changes(u) <= changes(f)).all()


# --------------------------------------------------------------------------
# Choosing the loop; running without it
# --------------------------------------------------------------------------


def test_backend_choice(monkeypatch):
    pm = get_nonlinearity("perona-malik")
    assert engine.backend_for(get_nonlinearity("tanh")) == "numpy"
    assert engine.backend_for(from_function(np.tanh)) == "numpy"
    assert engine.backend_for(np.tanh) == "numpy"
    assert engine.backend_for(pm, "numpy") == "numpy"
    with pytest.raises(ValueError, match="backend must be one of"):
        engine.backend_for(pm, "fortran")
    monkeypatch.setenv("RESDENOISE_ENGINE", "numpy")
    assert engine.backend_for(pm) == "numpy"
    if KERNELS is not None:
        assert engine.backend_for(pm, "compiled") == "compiled"
        with pytest.raises(ValueError, match="no compiled step loop for arctan"):
            run_blocks(np.zeros(5), get_nonlinearity("arctan"), 0.25, 1, backend="compiled")


def test_everything_runs_without_the_extension(monkeypatch, rng):
    """An install without a C compiler: the NumPy loop, the same numbers."""
    f = noisy_steps(rng, 500, 2, np.float64)
    nl = get_nonlinearity("charbonnier", lam=0.7)
    expected = run_blocks(f, nl, 0.25, 30, backend="numpy")
    monkeypatch.setattr(stepper, "_kernels", lambda: None)
    assert engine.compiled_instruction_set() is None
    assert engine.backend_for(nl) == "numpy"
    assert same_bits(run_blocks(f, nl, 0.25, 30), expected)
    with pytest.raises(ValueError, match="not built"):
        run_blocks(f, nl, 0.25, 30, backend="compiled")


@needs_kernels
@pytest.mark.parametrize(
    "u, work, args, error, match",
    [
        (np.zeros(8, np.int64), np.zeros(8, np.int64), (1, 0), TypeError, "float64 or float32"),
        (np.zeros(8), np.zeros(8, np.float32), (1, 0), ValueError, "same dtype"),
        (np.zeros(8), np.zeros(7), (1, 0), ValueError, "at least rows"),
        (np.zeros(9), np.zeros(9), (2, 0), ValueError, "rows x channels"),
        (np.zeros(1), np.zeros(1), (1, 0), ValueError, "rows >= 2"),
        (np.zeros(8), np.zeros(8), (0, 0), ValueError, "channels must be"),
        (np.zeros(8), np.zeros(8), (1, 99), ValueError, "unknown family"),
        (np.zeros(16)[::2], np.zeros(8), (1, 0), ValueError, "contiguous"),
    ],
)
def test_kernel_refuses_bad_buffers(u, work, args, error, match):
    channels, family = args
    with pytest.raises(error, match=match):
        KERNELS.run(u, work, channels, family, 1.0, 0.25, 1.0, 1)


@needs_kernels
@pytest.mark.parametrize("channels", [0, 2])
def test_long_signal_in_threads_equals_untiled(channels, rng):
    # Over 4 MiB: each thread faults in its share of the fresh output first
    # (MADV_POPULATE_WRITE, which must not write), then the threads take
    # tiles as they come free.
    f = noisy_steps(rng, 700_000, channels, np.float64)
    nl = get_nonlinearity("perona-malik", lam=0.8)
    untiled = run_blocks(f, nl, 0.25, 3, threads=1, tile=f.shape[0])
    assert same_bits(run_blocks(f, nl, 0.25, 3, threads=2), untiled)
    assert same_bits(run_blocks(f, nl, 0.25, 3, threads=3, sweep=2), untiled)


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "key, channels", [("perona-malik", 1), ("perona-malik", 3), ("charbonnier", 2)]
)
@pytest.mark.parametrize("threads", [2, 3])
def test_tiles_that_follow_the_threads_speeds_keep_every_bit(dtype, key, channels, threads, rng):
    """One tile per thread and buffers that hold any tile: the boundaries move
    after the threads' measured speeds from sweep to sweep (and are written
    back to bounds); the numbers stay the untiled run's.  With buffers for
    the given tiles only, the boundaries stay."""
    n, m, sweep = 3000, 200, 4
    f = noisy_steps(rng, n, channels, dtype)
    nl = get_nonlinearity(key, lam=0.8)
    family = engine._compiled_family(nl, "compiled", 0.25)
    want = run_blocks(f, nl, 0.25, m, threads=1, tile=n)
    c = max(channels, 1)
    equal = np.linspace(0, n, threads + 1).round().astype(np.int64)
    strips = np.empty((threads - 1) * 2 * sweep * c, dtype)
    any_tile = n - (threads - 1) * sweep  # the widest a tile can get

    def parts(widest):
        return np.empty(threads * (widest + 2 * sweep) * c, dtype)

    moved = False
    # the boundaries follow measured speeds: on a loaded machine a run can measure the
    # threads alike, so the rounds repeat (at most 5) until one has moved them
    for widest in (any_tile, int(np.diff(equal).max())) * 5:
        if moved and widest == any_tile:
            continue
        bounds, u = equal.copy(), np.empty_like(f)
        KERNELS.run_sweeps(
            f, u, strips, parts(widest), parts(widest), bounds, threads, c, family, 0.8, 0.25,
            1.0, m, sweep,
        )  # fmt: skip
        assert same_bits(u, want)
        assert bounds[0] == 0 and bounds[-1] == n and (np.diff(bounds) >= sweep).all()
        if widest == any_tile:
            moved |= not np.array_equal(bounds, equal)
        else:
            assert np.array_equal(bounds, equal)
    assert moved
    bounds, u, calls = equal.copy(), f.copy(), []  # one sweep per call, as with a progress bar
    for _ in range(12):
        KERNELS.run_sweeps(
            u, u, strips, parts(any_tile), parts(any_tile), bounds, threads, c, family, 0.8,
            0.25, 1.0, 4, 4,
        )  # fmt: skip
        calls.append(bounds.copy())
    assert same_bits(u, run_blocks(f, nl, 0.25, 48, threads=1, tile=n))
    assert any(not np.array_equal(b, equal) for b in calls)
    bounds, u = equal.copy(), f.copy()  # no blocks: nothing moves
    KERNELS.run_sweeps(
        f, u, strips, parts(any_tile), parts(any_tile), bounds, threads, c, family, 0.8, 0.25,
        1.0, 0, sweep,
    )  # fmt: skip
    assert np.array_equal(bounds, equal) and same_bits(u, f)


def sweep_args(**change):
    """Valid run_sweeps arguments (40 rows, 2 tiles, 2 threads, sweeps of 4), then changes."""
    u = np.zeros(40)
    args = {
        "src": u.copy(), "u": u, "strips": np.zeros(8), "bufs": np.zeros(2 * 28),
        "works": np.zeros(2 * 28), "bounds": np.array([0, 20, 40]), "threads": 2,
        "channels": 1, "family": 3, "lam": 1.0, "scale": 0.25, "inv_h": 1.0, "blocks": 9,
        "sweep": 4,
    }  # fmt: skip
    args.update(change)
    return tuple(args.values())


@needs_kernels
def test_sweeps_run_with_valid_arguments():
    args = sweep_args(src=np.arange(40.0))
    KERNELS.run_sweeps(*args)
    want = run_blocks(np.arange(40.0), get_nonlinearity("perona-malik"), 0.25, 9, threads=1)
    assert same_bits(args[1], want)


@needs_kernels
@pytest.mark.parametrize(
    "change, match",
    [
        ({"threads": 0}, "1 to 256 threads"),
        ({"bounds": np.array([0.0, 20.0, 40.0])}, "int64"),
        ({"bounds": np.array([0, 20, 39])}, "bounds must run from 0"),
        ({"bufs": np.zeros(2 * 27)}, "per thread, the longest tile"),
        ({"sweep": 21, "strips": np.zeros(42)}, "at least sweep rows"),
        ({"strips": np.zeros(7)}, "strips too small"),
        ({"src": np.zeros(39)}, "same size"),
        ({"works": np.zeros(56, np.float32)}, "same dtype"),
        ({"blocks": -1}, "blocks must be"),
    ],
)
def test_sweeps_refuse_bad_arguments(change, match):
    with pytest.raises(ValueError, match=match):
        KERNELS.run_sweeps(*sweep_args(**change))


@needs_kernels
def test_kernel_refuses_read_only_buffers():
    u = np.zeros(8)
    u.flags.writeable = False
    with pytest.raises((BufferError, ValueError)):
        KERNELS.run(u, np.zeros(8), 1, 0, 1.0, 0.25, 1.0, 1)


# --------------------------------------------------------------------------
# The report says which loop ran
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_report_names_the_step_loop(dtype, monkeypatch, rng):
    from resdenoise import filters
    from resdenoise.network import build_network, parse_network

    f = noisy_steps(rng, 300, 0, dtype)
    plan = filters.plan_diffuse(get_nonlinearity("perona-malik", lam=0.5), steps=5)
    entry = filters.analyse_run(plan, f, filters.run_plan(plan, f))["engine"]
    assert entry["dtype"] == np.dtype(dtype).name
    assert entry["step_loop"] == ("compiled" if KERNELS is not None else "numpy")
    assert entry["instruction_set"] == (None if KERNELS is None else KERNELS.simd())

    spec = parse_network('[[block]]\nactivation = "tanh"\n[[block]]\nactivation = "hard"\n')
    network = build_network(spec, f, lam=0.5)
    mixed = filters.analyse_run(network, f, filters.run_plan(network, f))["engine"]
    assert mixed["step_loop"] == ("compiled and numpy" if KERNELS is not None else "numpy")

    monkeypatch.setenv("RESDENOISE_ENGINE", "numpy")
    entry = filters.analyse_run(plan, f, filters.run_plan(plan, f))["engine"]
    assert entry == {"dtype": np.dtype(dtype).name, "step_loop": "numpy", "instruction_set": None}


@pytest.mark.parametrize("backend", ["numpy"] + (["compiled"] if KERNELS is not None else []))
def test_tiled_runs_read_a_read_only_input_and_leave_it(backend, rng):
    """The first sweep reads the input directly: it must stay untouched."""
    f = noisy_steps(rng, 5000, 2, np.float64)
    f.flags.writeable = False
    before = f.copy()
    nl = get_nonlinearity("perona-malik", lam=0.8)
    whole = run_blocks(f, nl, 0.25, 30, threads=1, tile=5000, backend=backend)
    tiled = run_blocks(f, nl, 0.25, 30, threads=2, tile=700, sweep=7, backend=backend)
    assert same_bits(tiled, whole)
    assert same_bits(f, before)
    assert tiled.flags.writeable and not np.shares_memory(tiled, f)


@needs_kernels
def test_exp2_refuses_mismatched_buffers():
    with pytest.raises(ValueError, match="same length"):
        KERNELS.exp2_nonpositive(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="same dtype"):
        KERNELS.exp2_nonpositive(np.zeros(3), np.zeros(3, np.float32))


@needs_kernels
@pytest.mark.parametrize("n", [2, 3, 5, 64, 129, 1000])
@pytest.mark.parametrize("lam", [0.05, 0.8, 3.0])
def test_perona_malik_on_eight_channels_equals_four_and_four(n, lam):
    """float64 Perona-Malik on 8 channels (a windowed search's 4 windows and their probes)
    runs in the AVX2 loop, two vectors a row, where the CPU has it: the numbers of each
    half run alone (the AVX2 loop of 4 channels) and of the portable strips (inside 9
    channels), bit for bit, over signals short and long and many blocks."""
    nl = get_nonlinearity("perona-malik", lam=lam)
    rng = np.random.default_rng(n)
    f = rng.standard_normal((n, 8)) + np.cumsum(rng.standard_normal((n, 8)), axis=0) * 0.3
    for m in (1, 7, 40):
        got = run_blocks(f, nl, 0.2, m, backend="compiled", threads=1)
        halves = [
            run_blocks(f[:, i : i + 4], nl, 0.2, m, backend="compiled", threads=1) for i in (0, 4)
        ]
        wide = np.zeros((n, 9))
        wide[:, :8] = f
        inside = run_blocks(wide, nl, 0.2, m, backend="compiled", threads=1)[:, :8]
        assert same_bits(got, np.concatenate(halves, axis=1))
        assert same_bits(got, np.ascontiguousarray(inside))


@needs_kernels
def test_the_perona_malik_loop_each_dtype_and_channel_count_takes():
    """Which loop Perona-Malik takes (``pm_loop``, the predicate the step loop uses):
    where the CPU has AVX2, float64 up to 4 channels and exactly 8 (so the equality
    above compares the AVX2 loop of 8 with that of 4 and the strips of 9), float32 up
    to 8; elsewhere the strips."""
    avx2 = KERNELS.pm_loop(False, 1) == "avx2"
    wants = {(False, c): c <= 4 or c == 8 for c in range(1, 12)}
    wants.update({(True, c): c <= 8 for c in range(1, 12)})
    for (single, c), want in wants.items():
        assert KERNELS.pm_loop(single, c) == ("avx2" if avx2 and want else "strips")
    if KERNELS.simd().startswith("x86-64-v3"):  # AVX2 and FMA: not skipped here
        assert avx2
    with pytest.raises(ValueError, match="channels"):
        KERNELS.pm_loop(False, 0)


@needs_kernels
@pytest.mark.parametrize(
    ("dtype", "unit", "amplitudes"),
    [(np.float64, 2.0**-1020, [1e300, 1e200, 1e40]), (np.float32, 2.0**-124, [1e38, 1e30, 1e20])],
)
def test_the_floor_of_the_exponential_is_relative_to_the_difference(dtype, unit, amplitudes):
    """Beside a step A the exact Perona-Malik flux is A exp(-(A/lam)^2/2), 0 in
    any float (NumPy's loop: 0); the compiled loop's floor leaves less than
    A x 2^-1020 (float32 2^-124) a block, the bound the README states, not an
    absolute 1e-307."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "|r| x 2^-1020 (float32: |r| x 2^-124" in readme
    assert "less than 1e-307" not in readme
    for a in amplitudes:
        assert math.exp(-0.5 * a * a) == 0.0  # the exact flux underflows
        f = np.array([0.0, 0.0, a, a], dtype=dtype)
        for tau in (0.25, 0.5):
            u = run_blocks(
                f, get_nonlinearity("perona-malik", lam=1.0), tau, 1, backend="compiled", threads=1
            )
            ref = run_blocks(
                f, get_nonlinearity("perona-malik", lam=1.0), tau, 1, backend="numpy", threads=1
            )
            assert ref[1] == 0.0
            assert 0.0 <= float(u[1]) <= float(dtype(a)) * unit, (a, tau, u)
