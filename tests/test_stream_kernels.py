"""The compiled loops of a streamed run's passes give NumPy's numbers, bit for bit.

``_kernels.window_energies32`` (the noise estimate's window energies) and
``_kernels.column_stats`` (a core's extremes, sign changes, sum and total
variation) against NumPy written out here, and the measures and noise
selections they feed against the same code with the compiled loops switched off.
"""

import math

import numpy as np
import pytest

from resdenoise import measure, noise, quiet_windows, selection, stability
from resdenoise.filters import plan_diffuse
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.selection import NoiseSelect

kernels = pytest.importorskip("resdenoise._kernels")


def same_bits(a, b) -> bool:
    return np.asarray(a, np.float64).tobytes() == np.asarray(b, np.float64).tobytes()


def energies_reference(x: np.ndarray, length: int) -> np.ndarray:
    d = ((x[3:] - x[:-3]) + 3.0 * (x[1:-2] - x[2:-1])) / math.sqrt(20.0)
    k = d.size // length
    return np.mean(d[: k * length].reshape(k, length) ** 2, axis=1)


@pytest.mark.parametrize("scale", [1e-300, 1e-6, 1.0, 1e100, 1e160])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_window_energies_compiled_are_numpys(scale, channels, rng):
    """Every column of a block, in place (no copy of the column), as NumPy computes
    the windows of the contiguous column; overflow to inf included."""
    x = rng.standard_normal((32 * 97 + 5, channels)) * scale + scale * 3.0
    with np.errstate(over="ignore", invalid="ignore"):
        for c in range(channels):
            want = energies_reference(np.ascontiguousarray(x[:, c]), 32)
            got = noise.column_energies(x, c, 32)
            assert same_bits(got, want), (scale, c)
            assert same_bits(noise.window_energies(np.ascontiguousarray(x[:, c]), 32), want)


def test_window_energies_other_lengths_and_short_inputs(rng):
    for n in (0, 1, 3, 34, 35, 36, 100):
        x = rng.standard_normal(n)
        for length in (4, 7, 32):
            assert same_bits(noise.window_energies(x, length), energies_reference(x, length))


def test_window_energies_refuses_what_it_cannot_read():
    out = np.empty(2)
    with pytest.raises(ValueError, match="fewer than len"):
        kernels.window_energies32(np.zeros((60, 1)), 1, 0, out)
    with pytest.raises(ValueError, match="column"):
        kernels.window_energies32(np.zeros((100, 2)), 2, 2, out)
    with pytest.raises(TypeError, match="float64 or float32"):
        kernels.window_energies32(np.zeros((100, 1), np.float16), 1, 0, out)
    with pytest.raises(TypeError, match="out float64"):
        kernels.window_energies32(np.zeros((100, 1)), 1, 0, np.empty(2, np.float32))
    with pytest.raises(ValueError, match="fewer than len"):  # rows counted as float32
        kernels.window_energies32(np.zeros((60, 1), np.float32), 1, 0, out)


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_window_energies_of_float32_are_those_of_the_widened_values(channels, rng):
    """float32 rows (a float WAV's blocks as stored) give the energies of their float64
    copy, bit for bit: widened as they are read, the arithmetic in float64."""
    x = (rng.standard_normal((32 * 97 + 5, channels)) * 1e-3).astype(np.float32)
    x[5, 0], x[40, 0] = 3e38, np.float32(1e-45)  # near the float32 limits: exact in float64
    for c in range(channels):
        got, want = np.empty(97), np.empty(97)
        kernels.window_energies32(x, channels, c, got)
        kernels.window_energies32(x.astype(np.float64), channels, c, want)
        assert same_bits(got, want), c
        assert same_bits(noise.column_energies(x, c, 32), want)
        wide = np.ascontiguousarray(x[:, c], np.float64)
        assert same_bits(noise.column_energies(x, c, 7), energies_reference(wide, 7))


def stats_reference(x, c, has_last, last, tol):
    col = np.ascontiguousarray(x.reshape(x.shape[0], -1)[:, c])
    d = np.diff(np.concatenate([[last], col])) if has_last else np.diff(col)
    signs = stability.SignCount(tol)
    signs.add(col)
    return col.min(), col.max(), col.sum(), np.abs(d).sum(), signs


LENGTHS = [*range(1, 140), 255, 256, 257, 1000, 4097, 70_001]


@pytest.mark.parametrize("n", LENGTHS)
def test_column_stats_are_numpys(n):
    """Sums (NumPy's pairwise summation: blocks of <= 128 in eight running sums, halves
    above), total variation from the last sample before, extremes and sign changes."""
    rng = np.random.default_rng(n)
    channels = 1 + n % 3
    x = rng.standard_normal((n, channels)) * 10.0 ** rng.uniform(-3, 3) + rng.uniform(-1, 1)
    c, has_last, last = n % channels, bool(n % 2), float(rng.standard_normal())
    lo, hi, nan, inside, changes, first, end, total, tv = kernels.column_stats(
        x, channels, c, has_last, last, 0.0
    )
    r_lo, r_hi, r_total, r_tv, signs = stats_reference(x, c, has_last, last, 0.0)
    assert same_bits(total, r_total) and same_bits(tv, r_tv)
    assert (lo, hi, nan, inside) == (r_lo, r_hi, False, False)
    assert changes == signs.count
    assert (1.0 if first else -1.0) == signs.first and (1.0 if end else -1.0) == signs.last


def test_column_stats_flags_what_numpy_must_redo(rng):
    """A value in the band (inside), a NaN (nan: through the sum)."""
    x = rng.standard_normal((500, 2))
    x[17, 1] = 1e-9
    assert kernels.column_stats(x, 2, 1, False, 0.0, 1e-6)[3] is True
    assert kernels.column_stats(x, 2, 0, False, 0.0, 1e-6)[3] is False
    x[3, 0] = np.nan
    assert kernels.column_stats(x, 2, 0, False, 0.0, 1e-6)[2] is True
    with pytest.raises(ValueError, match="tol"):
        kernels.column_stats(x, 2, 0, False, 0.0, -1.0)
    with pytest.raises(ValueError, match="rows"):
        kernels.column_stats(np.zeros((0, 2)), 2, 0, False, 0.0, 0.0)


@pytest.mark.parametrize(
    "n", [*range(1, 20), 127, 128, 129, 136, 255, 256, 257, 1000, 4097, 70_001]
)
@pytest.mark.parametrize("case", ["noise", "nan", "band", "zero", "signs"])
def test_every_column_at_once_is_column_by_column(n, case):
    """columns_stats: column_stats of each column after its last row, bit for bit
    (the same pairwise halves for the values and the k differences), also where a
    NaN, a value in the band or a zero extreme hands the column to NumPy."""
    rng = np.random.default_rng(n)
    for channels in (1, 2, 3, 5, 16):  # the vectors of 4 hold parts of rows: any width
        x = rng.standard_normal((n, channels)) * 10.0 ** rng.uniform(-3, 3)
        if case == "nan":
            x[n // 2, channels - 1] = np.nan
        elif case == "band":
            x[n // 3, 0] = 1e-9
        elif case == "zero":
            x = np.abs(x)
            x[n // 2, 0] = 0.0
        elif case == "signs":  # runs of one sign: changes at every place in a group of 8
            x = np.where(rng.random((n, channels)) < 0.2, -x, np.abs(x))
        lasts = rng.standard_normal(channels)
        tol = 1e-6
        every = kernels.columns_stats(x, lasts, tol)
        one = tuple(
            kernels.column_stats(x, channels, c, True, float(lasts[c]), tol)
            for c in range(channels)
        )
        assert repr(every) == repr(one)
        for got, want in zip(every, one, strict=True):  # the sums' bits too (-0.0, nan)
            assert same_bits(got[7:], want[7:])
    with pytest.raises(ValueError, match="rows"):
        kernels.columns_stats(np.zeros((4, 17)), np.zeros(17), 0.0)
    with pytest.raises(TypeError, match="float64"):
        kernels.columns_stats(np.zeros((4, 2), np.float32), np.zeros(2), 0.0)


def measures(f, u, pieces, monkeypatch, compiled: bool):
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.3), steps=2)
    channels = f.reshape(f.shape[0], -1).shape[1]
    amplitude = float(np.nanmax(np.abs(f)))
    calls = []
    if compiled:  # count the columns measured by the compiled passes: the path is taken
        one, every = kernels.column_stats, kernels.columns_stats
        monkeypatch.setattr(kernels, "column_stats", lambda *a: calls.append(1) or one(*a))

        def columns(*a):
            got = every(*a)
            calls.extend([1] * len(got))
            return got

        monkeypatch.setattr(kernels, "columns_stats", columns)
    else:
        monkeypatch.setattr(measure, "_compiled_stats", lambda: None)
    m = measure.StreamMeasure(plan, channels, amplitude, None, per_add=True)
    for a, b in zip(np.array_split(f, pieces), np.array_split(u, pieces), strict=True):
        if a.shape[0]:
            m.add(a, b)
    monkeypatch.undo()
    assert len(calls) == (2 * channels * pieces if compiled else 0)
    return m


def state(m) -> dict:
    out = {k: m.__dict__[k] for k in ("n", "tv_in", "tv_out", "sum_in", "sum_out")}
    for k in ("lo_in", "hi_in", "lo_out", "hi_out", "last_in", "last_out"):
        out[k] = np.asarray(m.__dict__[k]).tobytes()
    out["signs"] = [(s.count, s.first, s.last) for s in m.signs_in + m.signs_out]
    return out


@pytest.mark.parametrize("case", ["noise", "zeros", "band", "nan", "mono", "constant"])
def test_a_measure_is_the_same_with_or_without_the_compiled_loop(case, rng, monkeypatch):
    """Every number a StreamMeasure keeps, the compiled loop's against NumPy's,
    including the cases it hands back to NumPy (a NaN, a value in the sign band,
    an extreme of zero, whose sign NumPy's reduction picks)."""
    f = rng.standard_normal((3001, 2))
    if case == "zeros":
        f = np.abs(f)
        f[[5, 900, 2000], 0] = [0.0, -0.0, 0.0]
    elif case == "band":
        f[100:140, 1] = 0.0
    elif case == "nan":
        f[1500, 0] = np.nan
    elif case == "mono":
        f = f[:, 0].copy()
    elif case == "constant":
        f[:] = 0.25
    u = f * 0.5 + 0.1
    with np.errstate(invalid="ignore"):
        a = state(measures(f, u, 7, monkeypatch, compiled=True))
        b = state(measures(f, u, 7, monkeypatch, compiled=False))
    assert repr(a) == repr(b)


def test_noise_selection_fed_in_blocks_is_the_whole_estimate(rng):
    """NoiseSelect over stereo blocks (windows of 32, compiled) settles the estimate
    of the whole signal bit for bit."""
    u = rng.standard_normal((40_000, 2)) * 0.2
    sel = NoiseSelect(2)
    for a in range(0, u.shape[0], 6_007):
        sel.feed(u[a : a + 6_007])
    sel.end_pass()
    assert sel.done
    assert same_bits(sel.sigma(), noise.estimate_noise(u))


@pytest.mark.parametrize("shift", [False, True])
def test_window_energies_fed_across_any_block_cut_are_the_whole_signals(rng, shift):
    """Blocks of 1 to 1000 rows, cut anywhere in a window or its three extra rows: every
    window's energy is fed once, in order, as those of the whole signal (the windows
    that start in the rows carried from the block before joined with the block's first
    rows, the others taken from the block in place)."""
    u = rng.standard_normal((12_000, 2)) * (2.0**600 if shift else 0.2)
    sel = NoiseSelect(2)
    if shift:
        assert sel.rescale(float(np.abs(u).max()))
    fed = [[], []]
    for c, s in enumerate(sel.select):
        s.feed = fed[c].append
    sizes, a = [1, 2, 3, 31, 32, 33, 34, 35, 64, 67, 1000, 5], 0
    for i in range(10_000):
        b = min(a + sizes[i % len(sizes)], u.shape[0])
        sel.feed(u[a:b])
        a = b
        if a == u.shape[0]:
            break
    scaled = np.ldexp(u, -sel.shift)
    for c in range(2):
        want = noise.window_energies(np.ascontiguousarray(scaled[:, c]), noise.WINDOW)
        assert same_bits(np.concatenate(fed[c]), want)
        assert all(len(f) for f in fed[c])  # one feed per block that completes a window


@pytest.mark.parametrize("width", [1, 2, 3, 8, 16, 17])
def test_the_checking_pass_range_is_numpys(width, rng, monkeypatch):
    """The checking pass's extremes per column by the compiled walk over the rows: the
    same bits as NumPy's reductions of the transposed block, also with NaN, inf, zeros of
    both signs and blocks of 1 to 9 rows (NumPy decides where a NaN or a zero extreme is)."""
    blocks = []
    for k in (1, 5, 8, 9, 1000, 4099):
        x = rng.standard_normal((k, width)) * 10.0 ** rng.uniform(-3, 3)
        blocks.append(x)
    odd = rng.standard_normal((300, width))
    odd[7, 0], odd[100, width - 1] = np.nan, -np.inf
    zeros = np.abs(rng.standard_normal((50, width)))
    zeros[3, 0], zeros[9, 0] = -0.0, 0.0
    plain = selection.Scan()  # compiled, against the extremes of the whole
    for b in blocks:
        plain.visit(b)
    want = np.concatenate(blocks)
    assert same_bits(plain.lo, want.min(axis=0)) and same_bits(plain.hi, want.max(axis=0))
    blocks += [odd, zeros, -zeros]
    scans = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.delattr(kernels, "columns_range")  # the NumPy path
        scan = selection.Scan()
        for b in blocks:
            scan.visit(b)
        scans.append(scan)
    assert same_bits(scans[0].lo, scans[1].lo) and same_bits(scans[0].hi, scans[1].hi)


def test_columns_range_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="rows"):
        kernels.columns_range(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="rows"):
        kernels.columns_range(np.zeros((4, 17)))
    with pytest.raises(TypeError, match="float64 or float32"):
        kernels.columns_range(np.zeros((4, 2), np.int32))
    with pytest.raises(ValueError, match="rows"):
        kernels.columns_range(np.zeros((4, 17), np.float32))


@pytest.mark.parametrize("width", [1, 2, 3, 16])
def test_the_checking_pass_of_float32_blocks_is_that_of_their_values(width, rng, monkeypatch):
    """Blocks of float32 values (a float WAV's, as stored) give the checking pass the
    extremes and noise selection of the same values as float64, bit for bit, with the
    compiled loops and without; one selection (of the values) serves every run."""
    blocks = [(rng.standard_normal((k, width)) * 0.3).astype(np.float32) for k in (9, 4099, 700)]
    odd = blocks[-1]
    odd[7, 0], odd[100, width - 1] = np.nan, -np.inf
    zeros = np.abs(blocks[0])
    zeros[3, 0], zeros[5, 0] = -0.0, 0.0
    blocks += [zeros, -zeros]
    scans = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.delattr(kernels, "columns_range")
            monkeypatch.setattr(quiet_windows, "_compiled", lambda: None)
        for dtype in (np.float32, np.float64):
            scan = selection.Scan()
            for b in blocks:
                scan.visit(b.astype(dtype))
            scans.append(scan)
    for scan in scans:
        for a, b in ((scan.lo, scans[1].lo), (scan.hi, scans[1].hi)):
            assert same_bits(a, b)
        want, got = scans[1].noise64.select, scan.noise64.select
        assert [s.count for s in got] == [s.count for s in want]
        assert all(np.array_equal(s._hist, t._hist) for s, t in zip(got, want, strict=True))
