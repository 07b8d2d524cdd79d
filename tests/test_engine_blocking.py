"""Tiled, threaded and float32 runs of the engine against the plain engine.

The engine cuts long signals into tiles with halos and runs them in threads
(``resdenoise/engine.py``).  Every sample sees the same operations in the same
order whichever way the work is cut, so the results must agree *bit for bit*:

* with an independent reference written here (new arrays every block, the
  registry's closed-form ``phi``), in float64, for the NumPy step loop, and
  for the compiled one in every family but Perona-Malik (whose exponential
  is its own: ``tests/test_compiled.py``);
* tiled (tile boundaries anywhere, any sweep length) and threaded against
  untiled, for both step loops, every registry family, mono and
  multichannel, float64 and float32, registry flux kernels and plain
  callables;
* the allocation-free flux kernels against the closed forms, in float64.

Comparisons are on the bit patterns (``assert_same_bits``), so even the sign
of a zero counts.  Nothing here is timed.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise import engine, pairs
from resdenoise.engine import run_blocks
from resdenoise.errors import ParameterError
from resdenoise.nonlinearities import (
    NONLINEARITIES,
    from_function,
    get_nonlinearity,
    get_parametrised,
)

KEYS = sorted(NONLINEARITIES)
DTYPES = [np.float64, np.float32]
#: The step loops built here ("compiled" needs the C extension; make test requires it).
BACKENDS = ["numpy"] + (["compiled"] if engine.compiled_instruction_set() else [])
#: (key, step loop) pairs whose numbers are the reference's bit for bit: every family in
#: NumPy, and in the compiled loop every family it has except Perona-Malik.
EXACT = [(k, "numpy") for k in KEYS] + [
    (k, "compiled")
    for k in KEYS
    if "compiled" in BACKENDS and engine.backend_for(get_nonlinearity(k)) == "compiled"
    if k != "perona-malik"
]


def assert_same_bits(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    width = {4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    same = got.view(width) == expected.view(width)
    assert same.all(), (
        f"{np.count_nonzero(~same)} of {got.size} values differ; first at "
        f"{np.argwhere(~same)[0].tolist()}: {got[~same][0]!r} != {expected[~same][0]!r}"
    )


def reference_blocks(f, phi, tau, m, h):
    """The block as first written: new arrays every step, Phi by the closed form."""
    u = np.array(f, dtype=np.float64)
    scale = np.float64(tau / h)
    for _ in range(m):
        d = u[1:] - u[:-1]
        if h != 1.0:
            d = d * np.float64(1.0 / h)
        flux = np.asarray(phi(d), dtype=np.float64) * scale
        u[:-1] = u[:-1] + flux
        u[1:] = u[1:] - flux
    return u


def signal(rng, n, channels, dtype):
    """Noisy steps with a spread of amplitudes, so every branch of Phi is used."""
    shape = (n,) if channels == 0 else (n, channels)
    steps = np.where(np.arange(n) % 23 < 11, -1.0, 1.5)
    steps = steps if channels == 0 else steps[:, None] * np.arange(1, channels + 1)
    return (steps + 0.6 * rng.standard_normal(shape)).astype(dtype)


def untiled(f, phi, tau, m, h, **kw):
    return run_blocks(f, phi, tau, m, h, threads=1, tile=f.shape[0], **kw)


# --------------------------------------------------------------------------
# The plain engine against the reference written here
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key, backend", EXACT)
@pytest.mark.parametrize("channels", [0, 3])
@pytest.mark.parametrize("h", [1.0, 0.7])
def test_engine_equals_reference_bit_for_bit(key, backend, channels, h, rng):
    nl = get_nonlinearity(key, lam=0.9)
    f = signal(rng, 150, channels, np.float64)
    expected = reference_blocks(f, nl.phi, 0.2, 12, h)
    assert_same_bits(untiled(f, nl.phi, 0.2, 12, h, backend=backend), expected)
    tiled = run_blocks(f, nl, 0.2, 12, h, tile=17, sweep=5, threads=2, backend=backend)
    assert_same_bits(tiled, expected)


# --------------------------------------------------------------------------
# Tiles anywhere, threads, dtypes
# --------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    key=st.sampled_from(KEYS),
    dtype=st.sampled_from(DTYPES),
    channels=st.sampled_from([0, 1, 2]),
    n=st.integers(2, 160),
    m=st.integers(0, 30),
    tile=st.integers(1, 170),
    sweep=st.integers(1, 35),
    threads=st.sampled_from([1, 2, 3]),
    h=st.sampled_from([1.0, 0.8]),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_tiles_anywhere_equal_untiled(
    key, dtype, channels, n, m, tile, sweep, threads, h, backend, seed
):
    nl = get_nonlinearity(key, lam=0.8)
    backend = engine.backend_for(nl, None if backend == "compiled" else backend)
    f = signal(np.random.default_rng(seed), n, channels, dtype)
    expected = untiled(f, nl.phi, 0.23, m, h, backend=backend)
    got = run_blocks(
        f, nl.phi, 0.23, m, h, threads=threads, tile=tile, sweep=sweep, backend=backend
    )
    assert_same_bits(got, expected)


@settings(max_examples=25)
@given(
    dtype=st.sampled_from(DTYPES),
    n=st.integers(2, 120),
    tile=st.integers(1, 60),
    sweep=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_tiles_with_a_plain_callable(dtype, n, tile, sweep, seed):
    phi = from_function(lambda r: r / (1.0 + r * r), name="rational").phi
    f = signal(np.random.default_rng(seed), n, 2, dtype)
    expected = untiled(f, phi, 0.25, 20, 1.0)
    assert_same_bits(run_blocks(f, phi, 0.25, 20, tile=tile, sweep=sweep, threads=2), expected)
    assert_same_bits(
        run_blocks(f, np.tanh, 0.25, 20, tile=tile, sweep=sweep, threads=2),
        untiled(f, np.tanh, 0.25, 20, 1.0),
    )


@pytest.mark.parametrize("count", [5, 8, 32])
@pytest.mark.parametrize("channels", [0, 2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_tiles_and_threads_of_a_learned_activation_equal_untiled(count, channels, dtype, rng):
    """The bumps family (learned networks) sums its K terms sample by sample, so tiles
    of any length and threads give the one-tile run's numbers (a BLAS sum did not)."""
    nl = get_parametrised("bumps", list(rng.uniform(0.0, 1.0, count)), lam=0.8)
    tau = 0.9 / (4.0 * nl.entry.g_max)
    f = signal(rng, 2001, channels, dtype)
    expected = untiled(f, nl, tau, 25, 1.0)
    for tile, sweep, threads in [(17, 5, 2), (333, 7, 1), (999, 25, 2)]:
        got = run_blocks(f, nl, tau, 25, threads=threads, tile=tile, sweep=sweep)
        assert_same_bits(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [0, 2])
@pytest.mark.parametrize("backend", BACKENDS)
def test_default_tiling_of_a_long_signal(dtype, channels, backend, rng, monkeypatch):
    """A signal of several default tiles, split over two threads by default."""
    monkeypatch.setattr(pairs, "_cpu_count", lambda: 2)
    monkeypatch.setattr(engine, "MIN_WORK_PER_THREAD", 1)  # every run worth two threads
    nl = get_nonlinearity("perona-malik", lam=1.0)
    step = engine._Stepper(nl, np.dtype(dtype), 0.25, 1.0, backend)
    n = 2 * step.tile_values + 123
    f = signal(rng, n, channels, dtype)
    bounds, threads = engine._tiling(
        n, max(channels, 1), None, 2, step.tile_values, step.min_values
    )
    assert len(bounds) - 1 >= 4 and threads == 2
    expected = run_blocks(f, nl, 0.25, 40, threads=1, tile=n, backend=backend)
    assert_same_bits(run_blocks(f, nl, 0.25, 40, backend=backend), expected)


def spy_threads(monkeypatch) -> list:
    """The threads each run_blocks call hands to its tiling, in order."""
    seen = []
    tiling = engine._tiling

    def spy(n, channels, tile, threads, *rest):
        seen.append(threads)
        return tiling(n, channels, tile, threads, *rest)

    monkeypatch.setattr(engine, "_tiling", spy)
    return seen


def test_default_threads_follow_the_work(rng, monkeypatch):
    """threads=None: one thread for a run of less than MIN_WORK_PER_THREAD values x
    blocks per thread (its hand-overs would cost more than it gives), the cores for a
    longer one; given threads (or $RESDENOISE_THREADS) are used as given."""
    seen = spy_threads(monkeypatch)
    monkeypatch.setattr(pairs, "usable_cores", lambda: 2)
    monkeypatch.delenv("RESDENOISE_THREADS", raising=False)
    nl = get_nonlinearity("perona-malik", lam=1.0)
    f = rng.standard_normal((48000, 2))
    work = engine.MIN_WORK_PER_THREAD
    short = run_blocks(f, nl, 0.25, 10)
    long_blocks = 2 * work // f.size + 1
    run_blocks(f, nl, 0.25, long_blocks)
    given_two = run_blocks(f, nl, 0.25, 10, threads=2)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    run_blocks(f, nl, 0.25, 10)
    assert seen == [1, 2, 2, 2]
    assert_same_bits(short, given_two)


def test_a_run_short_of_work_for_two_threads_takes_one_without_asking_the_budget(
    monkeypatch, count_calls
):
    """A search's many short runs ask whether they take threads: under two threads'
    work (MIN_WORK_PER_THREAD values x blocks each) the answer is one thread whatever
    the budget, which (the environment, the process's cores) is then not read."""
    monkeypatch.setattr(pairs, "usable_cores", lambda: 2)
    monkeypatch.delenv("RESDENOISE_THREADS", raising=False)
    asked = count_calls(engine, "thread_budget")
    work = engine.MIN_WORK_PER_THREAD
    assert not engine.takes_threads(work, 1) and engine._work_threads(2 * work - 1, 1) == 1
    assert asked == []
    assert engine.takes_threads(work, 2) and engine._work_threads(work, 5) == 2
    assert len(asked) == 2


@settings(max_examples=40)
@given(
    key=st.sampled_from(KEYS),
    dtype=st.sampled_from(DTYPES),
    channels=st.sampled_from([0, 2]),
    n=st.integers(2, 160),
    m=st.integers(0, 30),
    tile=st.sampled_from([None, 1, 7, 40]),
    threads=st.sampled_from([1, 2]),
    in_place=st.booleans(),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_out_takes_the_same_numbers(
    key, dtype, channels, n, m, tile, threads, in_place, backend, seed
):
    """out= (a used array, or the input itself) changes where the result
    goes, not one bit of it; a callback sees the blocks happen in out."""
    nl = get_nonlinearity(key, lam=0.8)
    backend = engine.backend_for(nl, None if backend == "compiled" else backend)
    f = signal(np.random.default_rng(seed), n, channels, dtype)
    kw = dict(tile=tile, sweep=5, threads=threads, backend=backend)
    expected = run_blocks(f, nl, 0.23, m, **kw)
    out = f.copy() if in_place else np.full_like(f, np.nan)
    seen = []

    def callback(k, u):
        seen.append(u is out or np.shares_memory(u, out))

    got = run_blocks(out if in_place else f, nl, 0.23, m, out=out, callback=callback, **kw)
    assert got is out
    assert_same_bits(out, expected)
    assert all(seen) and (len(seen) > 0) == (m > 0)  # called after the last block, in out


@pytest.mark.parametrize(
    "make_out, match",
    [
        (lambda f: np.empty(f.shape[0] - 1), "shape"),
        (lambda f: np.empty(f.shape, np.float32), "float64 array"),
        (lambda f: np.empty(2 * f.shape[0])[::2], "C-contiguous"),
        (lambda f: np.broadcast_to(np.empty(1), f.shape), "writeable"),
        (lambda f: [0.0] * f.shape[0], "got list"),
    ],
)
@pytest.mark.parametrize("tile", [None, 10])
def test_out_refuses_what_cannot_take_the_result(make_out, match, tile):
    f = np.linspace(0.0, 1.0, 40) ** 2
    before = f.copy()
    with pytest.raises(ParameterError, match=match):
        run_blocks(f, get_nonlinearity("linear"), 0.25, 5, tile=tile, out=make_out(f))
    assert_same_bits(f, before)


def test_out_may_not_overlap_the_input_in_part():
    buf = np.linspace(0.0, 1.0, 41) ** 2
    before = buf.copy()
    with pytest.raises(ParameterError, match="overlaps the input"):
        run_blocks(buf[:40], get_nonlinearity("linear"), 0.25, 5, tile=10, out=buf[1:])
    assert_same_bits(buf, before)


def test_dtype_option():
    f64 = np.linspace(-1.0, 1.0, 50) ** 3
    nl = get_nonlinearity("charbonnier", lam=0.1)
    out32 = run_blocks(f64, nl, 0.25, 10, dtype="float32")
    assert out32.dtype == np.float32
    assert_same_bits(out32, run_blocks(f64.astype(np.float32), nl, 0.25, 10))
    out64 = run_blocks(f64.astype(np.float32), nl, 0.25, 10, dtype=np.float64)
    assert out64.dtype == np.float64
    assert_same_bits(out64, run_blocks(f64.astype(np.float32).astype(np.float64), nl, 0.25, 10))
    # float32 works in float32 throughout yet agrees with float64 to its precision
    np.testing.assert_allclose(out32, run_blocks(f64, nl, 0.25, 10), rtol=0, atol=1e-5)


# --------------------------------------------------------------------------
# The flux kernels
# --------------------------------------------------------------------------

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e300, 5e-324]


@pytest.mark.parametrize("key", [k for k in KEYS if NONLINEARITIES[k].phi_into is not None])
@pytest.mark.parametrize("lam", [1.0, 0.37, 2.5])
def test_flux_kernel_equals_closed_form(key, lam, rng):
    nl = get_nonlinearity(key, lam=lam)
    edges = [lam, -lam, np.nextafter(lam, 0.0), np.nextafter(lam, 9.0), -np.nextafter(lam, 9.0)]
    r = np.concatenate([SPECIAL, edges, 3.0 * lam * rng.standard_normal(501)]).reshape(-1, 2)
    out = np.full_like(r, 7.0)
    work = (np.full_like(r, 7.0), np.full(r.shape, 7, np.int64))
    r_before = r.copy()
    with np.errstate(all="ignore"):
        expected = nl.phi(r)
        returned = nl.flux_kernel(r, out, work)
    assert returned is out
    assert_same_bits(r, r_before)
    same = (out.view(np.uint64) == expected.view(np.uint64)) | (np.isnan(out) & np.isnan(expected))
    assert same.all(), (r[~same], out[~same], expected[~same])


@pytest.mark.parametrize("key", [k for k in KEYS if NONLINEARITIES[k].phi_into is not None])
def test_flux_kernel_keeps_float32(key, rng):
    nl = get_nonlinearity(key, lam=0.8)
    r = (2.0 * rng.standard_normal(300)).astype(np.float32)
    out = np.empty_like(r)
    nl.flux_kernel(r, out, (np.empty_like(r), np.empty(r.shape, np.int32)))
    assert out.dtype == np.float32
    near = np.abs(np.abs(r) - 0.8) < 1e-5  # hard/garrote may branch differently there
    np.testing.assert_allclose(
        out[~near], nl.phi(r.astype(np.float64))[~near], rtol=2e-6, atol=1e-7
    )


def test_custom_functions_have_no_kernel():
    assert from_function(np.tanh).flux_kernel is None


# --------------------------------------------------------------------------
# The step loop allocates nothing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", [k for k in KEYS if NONLINEARITIES[k].phi_into is not None])
@pytest.mark.parametrize("tiled", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_step_loop_allocates_nothing(key, tiled, backend, rng):
    """Between two callbacks the peak of traced memory does not rise.

    A block that made even one temporary array of the signal's size would
    lift the peak by tens of kB (a plain ``np.tanh``: 80 kB); the budget is
    16 kB of Python objects (views, futures; 2 to 7 kB measured).  The first
    interval, which makes the buffers and threads, is not counted.
    """
    f = signal(rng, 20_000, 0, np.float64)
    nl = get_nonlinearity(key, lam=0.8)
    rises = []

    def watch(k, u):
        if k > (4 if tiled else 1):
            peak_now = tracemalloc.get_traced_memory()
            rises.append(peak_now[1] - peak_now[0])
        tracemalloc.reset_peak()

    options = {"tile": 5000, "sweep": 4, "threads": 2} if tiled else {"threads": 1}
    options["backend"] = engine.backend_for(nl, None if backend == "compiled" else backend)
    tracemalloc.start()
    try:
        run_blocks(f, nl, 0.25, 12, callback=watch, callback_every=None if tiled else 1, **options)
    finally:
        tracemalloc.stop()
    assert len(rises) == (2 if tiled else 11)
    assert max(rises) < 16384, rises


# --------------------------------------------------------------------------
# Callbacks, errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "every, expected_ks", [(1, list(range(1, 14))), (5, [5, 10, 13]), (None, [4, 8, 12, 13])]
)
def test_callback_in_tiled_runs(every, expected_ks, rng):
    f = signal(rng, 90, 2, np.float64)
    nl = get_nonlinearity("soft", lam=0.5)
    seen = []

    def record(k, u):
        seen.append(k)
        assert_same_bits(u, untiled(f, nl, 0.25, k, 1.0))

    out = run_blocks(
        f, nl, 0.25, 13, callback=record, callback_every=every, tile=20, sweep=4, threads=2
    )
    assert seen == expected_ks
    assert_same_bits(out, untiled(f, nl, 0.25, 13, 1.0))

    untiled_seen = []
    untiled(
        f,
        nl,
        0.25,
        13,
        1.0,
        callback=lambda k, u: untiled_seen.append(k),
        callback_every=every,
        sweep=4,
    )
    assert untiled_seen == expected_ks

    def stop_at_ten(k, u):
        return k < 10

    early = run_blocks(f, nl, 0.25, 50, callback=stop_at_ten, callback_every=5, tile=20, sweep=4)
    assert_same_bits(early, untiled(f, nl, 0.25, 10, 1.0))


def test_worker_errors_reach_the_caller():
    calls = []

    def phi(r):
        calls.append(r.shape)
        if len(calls) > 3:
            raise ArithmeticError("phi failed")
        return r

    with pytest.raises(ArithmeticError, match="phi failed"):
        run_blocks(np.arange(40.0), phi, 0.25, 5, tile=10, sweep=2, threads=2)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"threads": 0}, "threads"),
        ({"tile": -3}, "tile"),
        ({"sweep": 1.5}, "sweep"),
        ({"callback_every": 0}, "callback_every"),
        ({"dtype": "int32"}, "dtype"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        run_blocks(np.zeros(8), np.tanh, 0.25, 2, **kw)


def test_phi_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        run_blocks(np.zeros(8), 3.0, 0.25, 2)


def test_a_search_stack_runs_on_one_kept_thread_exactly_where_the_engine_takes_one(
    rng, monkeypatch
):
    """StackRun keeps a run of at most UNTILED_VALUES on one InPlaceRun where run_blocks
    would take one thread (takes_threads, the one rule), and hands it to run_blocks
    where that takes two: 1.5 and 2.5 x MIN_WORK_PER_THREAD values x blocks."""
    monkeypatch.delenv("RESDENOISE_THREADS", raising=False)
    monkeypatch.setattr(pairs, "_cpu_count", lambda: 2)
    seen = spy_threads(monkeypatch)
    nl = get_nonlinearity("perona-malik", lam=1.0)
    rows = 40000
    assert engine.COMPILED_TILE_VALUES < rows <= engine.UNTILED_VALUES
    stack = rng.standard_normal((rows, 1))
    for share, kept in ((1.5, True), (2.5, False)):
        blocks = int(share * engine.MIN_WORK_PER_THREAD / rows)
        running = engine.StackRun(stack, nl, 0.25, 1.0)
        seen.clear()
        got = running.advance(blocks)
        assert engine.takes_threads(rows, blocks) is not kept
        assert bool(running.runs) is kept and seen == ([] if kept else [2])
        seen.clear()
        expected = run_blocks(stack, nl, 0.25, blocks)
        assert seen == [1 if kept else 2]
        assert_same_bits(got, expected)
