"""Stable runs stay finite for every finite input the dtype holds (issue 18, item 6).

Perona-Malik's ``r^2 / (2 lam^2)`` and garrote's ``lam^2 / r`` over- or
underflow for extreme amplitudes or lambdas (float32 Perona-Malik near 1e-20,
garrote near 1e20, lambda 1e-160, float64 Perona-Malik at 1e154): the runs
came back NaN ("diverged") although they were certified stable.  Here:

* every registry flux, in float64 and float32, on differences and lambdas
  from the dtype's smallest subnormal to its largest finite, is finite and
  equals a reference written here (on ``x = r / lam``) to rounding;
* the compiled step loop equals the NumPy one bit for bit there too
  (Perona-Malik: to rounding, as everywhere);
* the issue's property, by hypothesis: for every family, float64 and float32,
  random signals with amplitudes from the smallest normal to the largest
  finite / 4, stable tau: the output is finite and keeps the max-min
  principle and the sign count against the values of the file;
* the command line runs the issue's cases instead of returning "diverged",
  and refuses a lambda float32 cannot hold.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from resdenoise import engine
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import NONLINEARITIES, get_nonlinearity

KEYS = sorted(NONLINEARITIES)
DTYPES = [np.float64, np.float32]
KERNELS = engine._kernels()
COMPILED = [] if KERNELS is None else [k for k in KEYS if k in KERNELS.FAMILIES]


def _unit_phi(key: str, x: float) -> float:
    """Phi(r) / lam as a function of x = r / lam (lam = 1), written here."""
    if math.isinf(x):
        limit = {"linear": x, "perona-malik": 0.0, "hard": 0.0, "garrote": 0.0}
        return limit.get(
            key, math.copysign(1.0, x) if key != "arctan" else math.copysign(math.pi / 2, x)
        )
    return {
        "linear": lambda: x,
        "charbonnier": lambda: x / math.hypot(1.0, x),
        "soft": lambda: max(-1.0, min(1.0, x)),
        "perona-malik": lambda: x * math.exp(-0.5 * x * x) if abs(x) < 1e150 else 0.0,
        "garrote": lambda: x if abs(x) <= 1.0 else 1.0 / x,
        "hard": lambda: x if abs(x) <= 1.0 else 0.0,
        "tanh": lambda: math.tanh(x),
        "softsign": lambda: x / (1.0 + abs(x)),
        "arctan": lambda: math.atan(x),
    }[key]()


def reference_phi(key: str, r: float, lam: float) -> float:
    """Phi(r) for one value, in float64 from x = r / lam: no square of r or lam.

    Exact for r itself where Phi(r) = r (small x), so that subnormal differences
    are compared with what they are.
    """
    if r == 0.0:
        return 0.0
    with np.errstate(over="ignore", under="ignore"):
        x = float(np.float64(r) / np.float64(lam))
    if key == "linear" or abs(x) < 1e-9:  # Phi(r) = r to the last bit
        return r if key != "softsign" else r / (1.0 + abs(x))
    if key == "perona-malik":
        return r * math.exp(-0.5 * x * x) if abs(x) < 1e150 else 0.0
    return lam * _unit_phi(key, x)


def extremes(dtype) -> tuple[np.ndarray, list[float]]:
    """Differences (both signs) and lambdas across the whole range of ``dtype``."""
    info = np.finfo(dtype)
    sub, tiny, big = float(info.smallest_subnormal), float(info.tiny), float(info.max)
    mags = [sub, 7 * sub, tiny / 3, tiny, 1e-20, 3e-13, 0.5, 1.0, 7.0, 1e19, 3e25]
    mags += [math.sqrt(big) / 3, math.sqrt(big) * 3, big / 64, big / 4, big]
    if dtype == np.float64:
        mags += [1e-300, 1e-160, 1e-154, 1e154, 2e155, 1e200]
    r = np.array([0.0] + mags + [-m for m in mags], dtype=dtype)
    lams = [8 * sub, tiny, tiny * 2**12, 1e-20, 1.0, math.sqrt(big) / 8, math.sqrt(big), big / 8]
    if dtype == np.float64:
        lams += [1e-160, 1e-300, 5e152, 1e154, 1e200]
    return r, [float(dtype(v)) for v in lams]


def _close(out: float, ref: float, dtype) -> bool:
    info = np.finfo(dtype)
    rel = 64 * float(info.eps)
    return abs(out - ref) <= rel * abs(ref) + 4 * float(info.smallest_subnormal)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", KEYS)
def test_every_flux_is_finite_and_accurate_across_the_dtype(key, dtype):
    r, lams = extremes(dtype)
    wrong = []
    for lam in lams:
        with np.errstate(all="ignore"):
            out = _kernel_flux(key, lam, r)
        wrong += _off_reference(key, lam, r, out, dtype)
    assert not wrong, wrong[:8]


def _kernel_flux(key: str, lam: float, r: np.ndarray) -> np.ndarray:
    out = np.empty_like(r)
    work = (np.empty_like(r), np.empty(r.shape, np.int64 if r.dtype == np.float64 else np.int32))
    get_nonlinearity(key, lam=lam).flux_kernel(r, out, work)
    return out


def _off_reference(key: str, lam: float, r: np.ndarray, out: np.ndarray, dtype) -> list:
    wrong = []
    for ri, oi in zip(r.tolist(), out.tolist(), strict=True):
        ref = float(dtype(reference_phi(key, ri, float(dtype(lam)))))
        if not (math.isfinite(oi) and _close(oi, ref, dtype)):
            wrong.append((lam, ri, oi, ref))
    return wrong


@pytest.mark.parametrize("key", KEYS)
def test_the_closed_form_is_finite_across_float64(key):
    """The registry's Phi (float64, used by the checks before a run) agrees with
    its flux kernel bit for bit on the same extremes."""
    r, lams = extremes(np.float64)
    for lam in lams:
        nl = get_nonlinearity(key, lam=lam)
        out = np.empty_like(r)
        with np.errstate(all="ignore"):
            nl.flux_kernel(r, out, (np.empty_like(r), np.empty(r.shape, np.int64)))
            closed = nl.phi(r)
        assert np.isfinite(closed).all(), (key, lam, r[~np.isfinite(closed)])
        assert (closed.view(np.uint64) == out.view(np.uint64)).all(), (key, lam)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", KEYS)
def test_no_spurious_overflow_is_reported(key, dtype):
    """r / lam overflowing to +-inf (lam < 1) is Phi's limit, not an error: no
    closed Phi, g or S reports a floating-point exception on the extremes, nor
    a flux kernel but that overflow (the engine calls them with it ignored),
    and the flux is still the reference written here."""
    r, lams = extremes(dtype)
    wrong = []
    for lam in lams:
        with np.errstate(over="ignore", divide="raise", invalid="raise"):
            out = _kernel_flux(key, lam, r)
        if dtype == np.float64:
            nl = get_nonlinearity(key, lam=lam)
            with np.errstate(over="raise", divide="raise", invalid="raise"):
                nl.phi(r), nl.g(r), nl.shrinkage(r)
        wrong += _off_reference(key, lam, r, out, dtype)
    assert not wrong, wrong[:8]


@pytest.mark.parametrize("key", ["tanh", "arctan", "charbonnier", "softsign"])
def test_a_tiny_lambda_runs_without_a_warning(key):
    """The audit's case: amplitude 1000, lam 1e-306 (r / lam overflows); pytest
    turns any RuntimeWarning into an error.  Far from 0 each flux is its limit
    (+-lam, or +-lam pi/2), a step of 1e-306 at most."""
    f = np.array([0.0, 1000.0, -1000.0, 5.0, 1000.0, 0.0])
    for backend in ("numpy", "compiled") if key in COMPILED else ("numpy",):
        for threads in (1, 2):
            nl = get_nonlinearity(key, lam=1e-306)
            u = run_blocks(f, nl, 0.25, 2, backend=backend, threads=threads)
            assert np.all(np.abs(u - f) <= 2 * 1e-306 * math.pi / 2), (backend, u)
    f32 = np.array([0.0, 4e37, -4e37, 0.0], dtype=np.float32)
    u = run_blocks(f32, get_nonlinearity(key, lam=1e-30), 0.25, 2, backend="numpy")
    assert np.all(np.abs(u.astype(float) - f32) <= 2e-30 * math.pi / 2), u


def test_softsign_shrinkage_beyond_the_square():
    """S(s) = s |s| / (theta + |s|): where s |s| overflows, s / (1 + theta/|s|)."""
    nl = get_nonlinearity("softsign", lam=2.0)
    s = np.array([1e300, -3e200, 1e155])
    expected = [v / (1.0 + nl.theta / abs(v)) for v in s.tolist()]
    assert nl.shrinkage(s).tolist() == expected


def _signal(dtype, lam):
    """Steps and spikes across the extremes, held by ``dtype``: zero differences,
    differences near lam, and the largest the dtype allows (|u| <= max / 4)."""
    info = np.finfo(dtype)
    top = float(info.max) / 4
    levels = [0.0, lam, -lam, 3 * lam, lam / 5, top, -top, top / 2, 0.0, float(info.tiny)]
    levels = [min(max(v, -top), top) for v in levels]
    return np.repeat(np.array(levels, dtype=dtype), 3)


@pytest.mark.skipif(not COMPILED, reason="C extension not built here")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", COMPILED)
def test_compiled_equals_numpy_across_the_dtype(key, dtype):
    _, lams = extremes(dtype)
    for lam in lams:
        nl = get_nonlinearity(key, lam=lam)
        f = _signal(dtype, lam)
        for h in (1.0, 0.75):
            tau = 0.25 * h * h
            with np.errstate(all="ignore"):
                c = run_blocks(f, nl, tau, 5, h, backend="compiled", threads=1)
                p = run_blocks(f, nl, tau, 5, h, backend="numpy", threads=1)
            assert np.isfinite(c).all() and np.isfinite(p).all(), (lam, h, c, p)
            if key == "perona-malik":
                ulp = np.spacing(np.abs(f).max())
                np.testing.assert_allclose(c, p, rtol=0, atol=64 * ulp, err_msg=f"lam={lam}")
            else:
                assert (c == p).all() and (np.signbit(c) == np.signbit(p)).all(), (lam, h)


# --------------------------------------------------------------------------
# The issue's property
# --------------------------------------------------------------------------


def sign_changes(col, zero: float) -> int:
    signs = [1 if x > zero else -1 for x in col if abs(x) > zero]
    return sum(1 for a, b in zip(signs[:-1], signs[1:], strict=True) if a != b)


@st.composite
def extreme_runs(draw, key, dtype):
    info = np.finfo(dtype)
    tiny, top = float(info.tiny), float(info.max) / 4
    # the amplitude: log-uniform from the smallest normal to max / 4
    amplitude = math.exp(draw(st.floats(math.log(tiny), math.log(top))))
    n = draw(st.integers(2, 40))
    unit = draw(hnp.arrays(np.float64, n, elements=st.floats(-1.0, 1.0)))
    if draw(st.booleans()):
        unit = np.round(unit * 3.0) / 3.0  # steps: exact repeats, zero differences
    file_values = np.clip(amplitude * unit, -top, top)
    work = file_values.astype(dtype)
    file_values[work == 0] = 0.0  # (a value float32 makes 0 is refused before a run)
    if draw(st.booleans()):
        lam = amplitude * 10.0 ** draw(st.floats(-2.0, 1.0))
    else:  # any lambda the dtype holds
        lam = math.exp(draw(st.floats(math.log(float(info.smallest_subnormal)), math.log(top))))
    lam = float(dtype(min(max(lam, float(info.smallest_subnormal)), float(info.max))))
    sign = draw(st.booleans())
    tau = (0.25 if sign else 0.5) / NONLINEARITIES[key].g_max
    m = draw(st.integers(1, 8))
    backend = draw(st.sampled_from(["numpy", "compiled"] if key in COMPILED else ["numpy"]))
    note(f"amplitude={amplitude!r} lam={lam!r} tau={tau} m={m} {backend}")
    return file_values, work, lam, tau, m, backend, sign


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", KEYS)
def test_stable_runs_stay_finite_and_keep_the_guarantees(key, dtype):
    @settings(max_examples=max(12, settings.default.max_examples // 8))  # thorough: 250
    @given(extreme_runs(key, dtype))
    def check(run):
        file_values, work, lam, tau, m, backend, sign = run
        nl = get_nonlinearity(key, lam=lam)
        with np.errstate(all="ignore"):
            u = run_blocks(work, nl, tau, m, backend=backend, threads=1)
        assert np.isfinite(u).all(), u
        out = u.astype(np.float64)
        amp = float(np.abs(file_values).max())
        eps = 4.0 * float(np.spacing(dtype(amp))) * math.sqrt(m)
        assert out.min() >= file_values.min() - eps
        assert out.max() <= file_values.max() + eps
        if sign:
            assert sign_changes(out, eps) <= sign_changes(file_values, 0.0)

    check()


# --------------------------------------------------------------------------
# The issue's cases on the command line
# --------------------------------------------------------------------------

STEPS = [0.0, 0.0, 1.0, 1.0, 2.5, 2.5, 0.5, -1.0, -1.0, 3.0, 0.0, 0.0]

CLI_CASES = {
    # name: (amplitude, arguments); each was "the run diverged" (or a NaN report)
    "perona-malik float32 near 1e-20": (
        1e-20,
        ["diffuse", "--diffusivity", "pm", "--dtype", "float32"],
    ),
    "perona-malik float32 near 1e-20, lambda 3e-21": (
        1e-20,
        ["diffuse", "--diffusivity", "pm", "--dtype", "float32", "--lambda", "3e-21"],
    ),
    "garrote float32 near 1e20": (1e20, ["shrink", "--shrinkage", "garrote", "--dtype", "float32"]),
    "lambda 1e-160": (1.0, ["diffuse", "--diffusivity", "pm", "--lambda", "1e-160"]),
    "garrote lambda 1e-170": (1.0, ["diffuse", "--diffusivity", "garrote", "--lambda", "1e-170"]),
    "subnormal input": (1e-310, ["diffuse", "--diffusivity", "pm", "--lambda", "3e-311"]),
    "perona-malik float64 at 1e154": (1e154, ["diffuse", "--diffusivity", "pm"]),
    "perona-malik float64 at 3e200": (
        3e200,
        ["diffuse", "--diffusivity", "pm", "--lambda", "1e200"],
    ),
    "softsign float32 lambda 1e-44": (
        1.0,
        ["diffuse", "--diffusivity", "softsign", "--dtype", "float32", "--lambda", "1e-44"],
    ),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_the_issues_cases_run_stably(runner, tmp_path, case):
    from resdenoise.cli import cli

    amplitude, args = CLI_CASES[case]
    values = [amplitude * v for v in STEPS]
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(repr(v) for v in values) + "\n")
    out = tmp_path / "out.csv"
    steps = ["--iterations", "3"] if args[0] == "shrink" else ["--steps", "3"]
    result = runner.invoke(
        cli, [args[0], str(src), *args[1:], *steps, "--strict", "-q", "-o", str(out)]
    )
    assert result.exit_code == 0, (result.stderr, result.exception)
    written = [float(v) for v in out.read_text().split()[1:]]
    assert all(math.isfinite(v) for v in written), written
    assert min(values) <= min(written) and max(written) <= max(values), written


@pytest.mark.parametrize("lam", ["1e-50", "1e40"])
def test_a_lambda_float32_cannot_hold_is_refused(runner, tmp_path, lam):
    from resdenoise.cli import cli

    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(map(str, STEPS)) + "\n")
    out = tmp_path / "out.csv"
    args = ["diffuse", str(src), "--lambda", lam, "--dtype", "float32", "--steps", "2", "-q"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(
        r"^Error: .*lambda .*float32.*--dtype float64", lines[0]
    ), lines
    assert not out.exists()


@pytest.mark.parametrize(
    "value, message",
    [(1e39, r"samples up to 1e\+39 are beyond the range of float32"), (1e-46, r"1e-46 would be 0")],
)
@pytest.mark.parametrize("chunk", ["0", "5"])
def test_samples_float32_cannot_hold_are_refused(
    runner, tmp_path, monkeypatch, value, message, chunk
):
    """A sample float32 makes inf, or a nonzero one it makes 0, is refused with its value,
    whole (the file's extremes taken a few rows at a time) or streamed; nothing written."""
    from resdenoise import pipeline
    from resdenoise.cli import cli

    monkeypatch.setattr(pipeline, "WRITE_ROWS", 4)  # the extreme is in a later piece
    values = [0.0, *STEPS, *STEPS]
    values[13] = value
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(map(repr, values)) + "\n")
    out = tmp_path / "out.csv"
    args = ["diffuse", str(src), "--dtype", "float32", "--steps", "2", "-q", "-o", str(out)]
    result = runner.invoke(cli, [*args, "--chunk-size", chunk])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]) and "float64" in lines[0], lines
    assert not out.exists()


def test_the_engine_refuses_a_lambda_the_dtype_cannot_hold():
    nl = get_nonlinearity("charbonnier", lam=1e-50)
    f = np.array(STEPS, dtype=np.float32)
    with pytest.raises(ValueError, match=r"lambda 1e-50 is 0 in float32"):
        run_blocks(f, nl, 0.25, 1)
    assert np.isfinite(run_blocks(f.astype(np.float64), nl, 0.25, 1)).all()


@pytest.mark.parametrize("unstable", [[], ["--allow-unstable"]])
def test_a_network_group_lambda_float32_cannot_hold_is_refused(runner, tmp_path, unstable):
    from resdenoise.cli import cli

    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(map(str, STEPS)) + "\n")
    net = tmp_path / "net.toml"
    net.write_text('[[block]]\nactivation = "charbonnier"\nlambda = 1e-50\nrepeat = 2\n')
    args = ["resnet", str(src), "--network", str(net), "--dtype", "float32", "-q", *unstable]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr.startswith(f"Error: {src}: lambda 1e-50 is 0 in float32"), result.stderr
    assert not (tmp_path / "out.csv").exists()
