"""The ``quiet-windows`` noise estimator and its calibration (for :mod:`resdenoise.noise`).

Window energies of normalised differences (third by default; in the compiled loop where it
is built), their 20 % quantile, and the divisor that makes it sigma for white noise: read
from the committed table (:data:`CALIBRATION_TABLE`, ``python -m resdenoise.noise
--table``) or simulated with a fixed seed.  :mod:`resdenoise.noise` (the estimators' public
home, which re-exports these names) chooses between estimators and checks the level.
"""

from __future__ import annotations

import functools
import math
from functools import partial
from pathlib import Path

import numpy as np

from .errors import quiet_underflow
from .median import quantile_from, quantile_ranks
from .wavelet import estimate_noise as mad_haar_noise

#: Window length of ``quiet-windows`` for long signals.
WINDOW = 32
#: Fewest windows ``quiet-windows`` uses; shorter signals get shorter windows.
MIN_WINDOWS = 16
#: Windows simulated (in repetitions of the signal's window count) to calibrate.
CALIBRATION_WINDOWS = 40000
#: Shortest window; a signal too short for MIN_WINDOWS of these gets ``mad-haar``.
MIN_WINDOW = 4
#: Seed of the calibration simulation: the estimate is deterministic.
CALIBRATION_SEED = 20201123

_SQRT20 = math.sqrt(20.0)


def window_for(n: int, order: int = 3) -> int | None:
    """The window length for ``n`` samples, or None when too short."""
    m = n - order
    length = min(WINDOW, m // MIN_WINDOWS)
    return length if length >= MIN_WINDOW else None


#: Windows per piece of :func:`window_energies` (its two scratch arrays: 1 MiB each).
ENERGY_ROWS = 4096


def window_energies(x: np.ndarray, length: int, order: int = 3) -> np.ndarray:
    """Mean squares of the normalised differences of ``order`` (third by default) of
    ``x`` (float64, 1D) in consecutive windows of ``length``, from the start; a last
    partial window is left out.

    Elementwise, so the energies of a window do not depend on what else is
    in ``x`` (a stream fed in blocks gets the same numbers).  Third differences are computed in
    pieces of :data:`ENERGY_ROWS` windows in two scratch arrays that stay in
    the cache (not five temporaries of the signal's size), by the same
    operations in the same order: the same numbers.  Windows of
    :data:`WINDOW` samples go through the compiled loops where they are built
    (:func:`column_energies`; other orders, of float64 samples: ``diff_energies32``, the
    repeated differences of ``np.diff`` per window, 10x faster; the same bits again).
    """
    if order != 3:  # unit variance for unit white noise: divided by sqrt(binom(2 order, order))
        scale = math.sqrt(math.comb(2 * order, order))
        compiled = _compiled()
        fits = x.dtype == np.float64 and x.flags.c_contiguous and x.ndim == 1
        fits = fits and compiled is not None and hasattr(compiled, "diff_energies32")
        if fits and length == WINDOW and order <= 16:
            out = np.empty(max(x.size - order, 0) // length)  # the same bits, no temporaries
            if out.size:
                compiled.diff_energies32(x, order, scale, out)
            return out
        d = np.diff(x, order) / scale
        k = d.size // length
        return np.mean(d[: k * length].reshape(k, length) ** 2, axis=1)
    return column_energies(x.reshape(-1, 1), 0, length)


def column_energies(block: np.ndarray, column: int, length: int) -> np.ndarray:
    """:func:`window_energies` (third differences) of column ``column`` of ``block``
    (float64, or float32: of the values widened; shape ``(rows, columns)``,
    C-contiguous), without copying the column out where the compiled loop takes
    it (windows of :data:`WINDOW` samples)."""
    k = max(block.shape[0] - 3, 0) // length
    out = np.empty(k)
    compiled = _compiled()
    fits = block.dtype in (np.float64, np.float32) and block.flags.c_contiguous
    if compiled is not None and length == WINDOW and fits:
        if k:
            compiled.window_energies32(block, block.shape[1], column, out)
        return out
    x = np.ascontiguousarray(block[:, column], dtype=np.float64)
    rows = max(1, min(k, ENERGY_ROWS * WINDOW // length))
    d, t = np.empty(rows * length), np.empty(rows * length)
    for a in range(0, k, rows):
        b = min(a + rows, k)
        m, s = (b - a) * length, a * length
        dd, tt = d[:m], t[:m]
        np.subtract(x[s + 3 : s + 3 + m], x[s : s + m], out=dd)
        np.subtract(x[s + 1 : s + 1 + m], x[s + 2 : s + 2 + m], out=tt)
        np.multiply(3.0, tt, out=tt)
        np.add(dd, tt, out=dd)
        np.divide(dd, _SQRT20, out=dd)
        np.multiply(dd, dd, out=dd)
        np.add.reduce(dd.reshape(b - a, length), axis=1, out=out[a:b])
    return np.true_divide(out, length, out=out)


@functools.cache
def _compiled():
    """The compiled module (its ``window_energies32``), or None where it was not built."""
    try:
        from . import _kernels
    except ImportError:
        return None
    return _kernels if hasattr(_kernels, "window_energies32") else None


#: Largest sample magnitude whose window energies cannot overflow (differences of order
#: up to 8 and their squares, summed over a window, stay far below the float64 maximum).
ENERGY_TOP = 2.0**500
#: Smallest largest-sample magnitude whose window energies cannot underflow (the squares
#: of differences far below the samples stay normal numbers, above 2**-1022).
ENERGY_BOTTOM = 2.0**-300


def energy_shift(amplitude: float) -> int:
    """The power of two ``k`` to divide the samples by (``np.ldexp(x, -k)``) before taking
    window energies, for samples up to ``amplitude``: 0 from :data:`ENERGY_BOTTOM` up to
    :data:`ENERGY_TOP`; above, the least ``k`` that brings them under it; below (and
    above 0), the negative ``k`` that brings them to [1/2, 1) (their squares would be
    subnormal or 0).  Multiplying by a power of two is exact, and every step of the
    estimate scales exactly with it, so the estimate times ``2**k`` is the unscaled one
    bit for bit wherever that one does not overflow or underflow (then it was inf, NaN,
    0 or off; with the shift it is the level), unless the signal also holds values so
    small (below ``2**(k - 1074)``) that a division makes them subnormal.  Streamed and
    whole runs take the same ``k`` of the same amplitude."""
    if 0.0 < amplitude < ENERGY_BOTTOM:
        return math.frexp(amplitude)[1]
    if not amplitude > ENERGY_TOP:  # NaN too: nothing to scale
        return 0
    if math.isinf(amplitude):
        return 0
    return math.frexp(amplitude)[1] - math.frexp(ENERGY_TOP)[1] + 1


def nonzero_differences(x: np.ndarray, count: int) -> int:
    """How many of the first ``count`` third differences of ``x`` (1D, float64; the
    unnormalised ``(x[i+3] - x[i]) + 3 (x[i+1] - x[i+2])`` of :func:`column_energies`) are
    not 0."""
    return column_nonzero(np.asarray(x).reshape(-1, 1), 0, count)


def counted_energies(block: np.ndarray, column: int, length: int) -> tuple[np.ndarray, int]:
    """:func:`column_energies` and :func:`column_nonzero` of its windows' third differences
    at once: the compiled loop counts them as it takes the energies (a streamed run's
    first pass; no pass of its own), else the two one after the other: the same numbers."""
    compiled = _compiled()
    fits = block.dtype in (np.float64, np.float32) and block.flags.c_contiguous
    if compiled is not None and length == WINDOW and fits:
        k = max(block.shape[0] - 3, 0) // length
        out = np.empty(k)
        if not k:
            return out, 0
        return out, int(compiled.window_energies32(block, block.shape[1], column, out, True))
    energies = column_energies(block, column, length)
    return energies, column_nonzero(block, column, energies.size * length)


def column_nonzero(block: np.ndarray, column: int, count: int) -> int:
    """:func:`nonzero_differences` of column ``column`` of ``block`` (rows x columns,
    float64 or float32 widened), by the compiled loop without temporaries where it takes
    the block (a streamed run's first pass counts every chunk: the NumPy form cost 5x the
    window energies), else by NumPy: the same count."""
    compiled = _compiled()
    fits = block.dtype in (np.float64, np.float32) and block.flags.c_contiguous
    if compiled is not None and fits and hasattr(compiled, "nonzero_thirds") and count > 0:
        return int(compiled.nonzero_thirds(block, block.shape[1], column, count))
    x = np.asarray(block[: count + 3, column], dtype=np.float64)
    d = np.subtract(x[3 : count + 3], x[:count])
    d += 3.0 * np.subtract(x[1 : count + 1], x[2 : count + 2])
    return int(np.count_nonzero(d))


def silent_windows(energies: np.ndarray, nonzero, length: int) -> int:
    """How many windows of digital silence to leave out of the quantile: the exact ones
    (energy 0: every third difference 0, as in a run of equal samples, zero padding or a
    noise gate) where the other windows are noisy, else 0.

    ``nonzero``: the count of third differences that are not 0 in the windows
    (:func:`nonzero_differences`), or a callable giving it (asked only where some window is
    exact).  The other windows are noisy where most of their differences are not 0
    (more than half of ``length`` per window on average): noise makes every difference
    differ from 0, while a clean piecewise-constant (or polynomial) signal, whose windows
    off its steps are exact too, has only the few differences of each step (3 per step) in
    its other windows; such a signal keeps every window (its level reads 0: clean).
    A signal without an exact window is estimated as before, bit for bit."""
    return silent_count(int(np.count_nonzero(energies == 0.0)), energies.size, nonzero, length)


def silent_count(exact: int, windows: int, nonzero, length: int) -> int:
    """:func:`silent_windows` of ``windows`` windows of which ``exact`` have energy 0 (a
    streamed signal's counts)."""
    other = windows - exact
    if not exact or not other:
        return 0
    count = nonzero() if callable(nonzero) else nonzero
    # (more nonzero differences than the other windows hold: some windows of energy 0 are
    # not exact but of squares that underflowed, subnormal samples: no silence)
    return exact if other * length < 2 * count <= 2 * other * length else 0


def sigma_from_energy(energy: float, length: int, windows: int, order: int = 3) -> float:
    """``quiet-windows``' sigma from the quantile of ``windows`` window energies."""
    return math.sqrt(energy / calibration(length, windows, order))


@functools.lru_cache(maxsize=256)
def calibration(length: int, windows: int, order: int = 3) -> float:
    """The expected sample ``QUANTILE`` of ``windows`` window energies of unit white
    noise: :func:`simulate_calibration`'s number, read from the committed table
    :data:`CALIBRATION_TABLE` when it holds the pair (every signal of fewer than
    ``order + 32 * (TABLE_WINDOWS[order] + 1)`` samples), the table's number for
    :data:`LIMIT_WINDOWS` windows for more windows of ``WINDOW`` samples (a long
    signal), else simulated.

    Notes
    -----
    Beyond the table the expectation hardly depends on the count: the bias
    of a sample quantile falls like ``1 / windows``, below 1e-4 relative
    from 16,384 windows on, while a simulation of the signal's own count
    (what was done before) cost a signal's worth of normals at run time
    (0.3 s of CPU for a 128 MiB stereo file, 1 s for 512 MiB) and was itself
    one draw, off by its standard error (0.03 % at 524,288 windows, 0.13 %
    for the table's two draws of 16,384).  The limit's own standard error
    is under 0.01 %.
    """
    found = _from_table(length, windows, order)
    if found is None and length == WINDOW and windows > TABLE_WINDOWS.get(order, windows):
        found = _from_table(length, LIMIT_WINDOWS, order)
    if found is not None:
        return found
    return simulate_calibration(length, windows, order)


#: Windows of simulated noise drawn at a time (their normals: 1 MiB for WINDOW).
CALIBRATION_PIECE = 4096


def simulate_calibration(length: int, windows: int, order: int = 3) -> float:
    """:func:`calibration` by its seeded simulation (so the estimate is unbiased for
    short signals too): the mean over ``CALIBRATION_WINDOWS // windows``
    repetitions of the sample quantile of white noise's window energies.

    Each repetition's ``windows * length + order`` normals are drawn in pieces of
    :data:`CALIBRATION_PIECE` windows (the generator gives the same numbers
    however the draws are cut, and the energies of a window do not depend on
    the others): the numbers of drawing them at once, in memory of a piece.
    """
    reps = max(1, CALIBRATION_WINDOWS // windows)
    rng = np.random.default_rng(CALIBRATION_SEED)
    values = np.empty(reps)
    energies = np.empty(windows)
    lo, hi, weight = quantile_ranks(windows)
    for r in range(reps):
        noise = rng.standard_normal(min(windows, CALIBRATION_PIECE) * length + order)
        for a in range(0, windows, CALIBRATION_PIECE):
            b = min(a + CALIBRATION_PIECE, windows)
            if a:  # the last samples of the piece before: its last window's differences
                more = rng.standard_normal((b - a) * length)
                noise = np.concatenate([noise[noise.size - order :], more])
            energies[a:b] = window_energies(noise, length, order)
        part = np.partition(energies, (lo, hi))
        values[r] = quantile_from(part[lo], part[hi], weight)
    return float(np.mean(values))


#: The committed calibrations (``python -m resdenoise.noise --table`` writes it):
#: a structured array of sorted keys (:func:`_table_key`) and their numbers.
CALIBRATION_TABLE = Path(__file__).with_name("noise_calibration.npy")
#: The table holds window length ``WINDOW`` with up to this many windows, per order.
TABLE_WINDOWS = {3: 16384, 8: 4096}
#: Windows of the table's large-count limit (per order, window length ``WINDOW``):
#: the calibration of every longer signal (2^24 windows: a signal of 537M samples).
LIMIT_WINDOWS = 1 << 24


def _table_key(length: int, windows: int, order: int) -> int:
    return ((order * 64 + length) << 32) + windows


def table_pairs() -> list[tuple[int, int, int]]:
    """The ``(length, windows, order)`` the table holds: every pair :func:`window_for`
    gives a signal of fewer than ``order + WINDOW * (TABLE_WINDOWS[order] + 1)`` samples,
    and the limit ``(WINDOW, LIMIT_WINDOWS, order)`` for the longer ones."""
    pairs = set()
    for order, most in TABLE_WINDOWS.items():
        for m in range(MIN_WINDOWS * MIN_WINDOW, MIN_WINDOWS * WINDOW):
            length = window_for(m + order, order)
            pairs.add((length, m // length, order))
        pairs.update((WINDOW, w, order) for w in range(MIN_WINDOWS, most + 1))
        pairs.add((WINDOW, LIMIT_WINDOWS, order))
    return sorted(pairs, key=lambda p: _table_key(*p))


def _from_table(length: int, windows: int, order: int) -> float | None:
    keys, values = _table()
    key = _table_key(length, windows, order)
    i = int(np.searchsorted(keys, key))
    return float(values[i]) if i < keys.size and int(keys[i]) == key else None


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.load(CALIBRATION_TABLE)
    except OSError:  # not installed with the package: every pair is simulated
        return np.zeros(0, np.int64), np.zeros(0)
    return table["key"], table["value"]


def write_table(path: Path = CALIBRATION_TABLE) -> int:
    """Simulate every pair of :func:`table_pairs` and save them to ``path``; the count."""
    pairs = table_pairs()
    table = np.empty(len(pairs), dtype=[("key", "<i8"), ("value", "<f8")])
    for i, pair in enumerate(pairs):
        table[i] = _table_key(*pair), simulate_calibration(*pair)
    np.save(path, table)
    return len(pairs)


def quiet_window_noise(u: np.ndarray, order: int = 3) -> np.ndarray:
    """The ``quiet-windows`` estimate per channel (see the module docstring), from
    differences of ``order`` (third by default).

    Returns shape ``(channels,)``; channels too short for it (fewer than
    ``order + MIN_WINDOWS * MIN_WINDOW`` samples) get the ``mad-haar`` estimate.
    """
    return _quiet_windows(u, order)[0]


@quiet_underflow
def _quiet_windows(u: np.ndarray, order: int = 3) -> tuple:
    """``(sigma, means, silent)``: :func:`quiet_window_noise`, per channel the mean of the
    window energies it read (what :func:`resdenoise.noise._checked_by_floor` compares the
    level with), or None where they are not those of the samples themselves (scaled by
    :func:`energy_shift`, or no windows: ``mad-haar``), and per channel whether windows of
    digital silence were left out (:func:`sounding`)."""
    u2 = np.asarray(u)
    if not (u2.dtype == np.float32 and order == 3):  # float32: widened per column
        u2 = u2.astype(float, copy=False)  # (column_energies; no shift below 2**128)
    u2 = u2.reshape(u2.shape[0], -1)
    length = window_for(u2.shape[0], order)
    silent = np.zeros(u2.shape[1], dtype=bool)
    if length is None:
        return mad_haar_noise(u2), None, silent
    # each channel's power of two (a quiet channel beside a loud one is its own signal)
    shifts = channel_shifts(u2)
    if shifts.any():  # samples beyond ENERGY_TOP or ENERGY_BOTTOM: of the samples / 2**shift
        u2 = np.ldexp(u2, -shifts[None, :])
    if order == 3:  # each column in place (the compiled loop), not copied out first
        u2 = np.ascontiguousarray(u2)
    out, means = np.empty(u2.shape[1]), np.empty(u2.shape[1])
    for c in range(u2.shape[1]):
        if order == 3:
            energies = column_energies(u2, c, length)
        else:
            energies = window_energies(np.ascontiguousarray(u2[:, c]), length, order)
        kept = sounding(energies, u2, c, length)  # digital silence left out
        silent[c], energies = kept.size < energies.size, kept
        means[c] = np.mean(energies)
        lo, hi, weight = quantile_ranks(energies.size)
        part = np.partition(energies, (lo, hi))
        energy = quantile_from(part[lo], part[hi], weight)
        out[c] = sigma_from_energy(energy, length, energies.size, order)
    return (np.ldexp(out, shifts), None, silent) if shifts.any() else (out, means, silent)


def channel_shifts(u2: np.ndarray) -> np.ndarray:
    """:func:`energy_shift` of each channel's largest ``|sample|`` (rows x channels; NaN:
    0), as an int array: each channel's estimate is the one it has alone."""
    if not u2.size:
        return np.zeros(u2.shape[1], dtype=int)
    top = np.maximum(-u2.min(axis=0), u2.max(axis=0)).astype(float)
    return np.array([energy_shift(float(a)) for a in top], dtype=int)


def sounding_samples(x: np.ndarray, length: int) -> np.ndarray:
    """The samples of ``x`` (1D) without its windows of digital silence: each window of
    ``length`` (from the start) that :func:`silent_windows` keeps, in order, and the rows
    after the last window where that window is kept; ``x`` itself where none is left out.
    What :func:`resdenoise.noise.search_noise` checks a channel's level on."""
    x = np.asarray(x, dtype=np.float64)
    energies = column_energies(np.ascontiguousarray(x).reshape(-1, 1), 0, length)
    kept = sounding(energies, x.reshape(-1, 1), 0, length)
    if kept.size == energies.size:
        return x
    windows = energies > 0.0
    rows = np.repeat(windows, length)
    tail = x.size - rows.size
    return x[np.r_[rows, np.full(tail, bool(windows[-1]))]]


def sounding(energies: np.ndarray, u2: np.ndarray, column: int, length: int) -> np.ndarray:
    """The window ``energies`` of column ``column`` of ``u2`` (rows x channels, windows of
    ``length`` from the start) without its windows of digital silence
    (:func:`silent_windows`); themselves where there are none."""
    count = energies.size * length
    nonzero = partial(nonzero_differences, u2[: count + 3, column], count)
    return energies[energies > 0.0] if silent_windows(energies, nonzero, length) else energies
