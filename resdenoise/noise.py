"""The noise level of a signal, per channel, without a clean reference.  NumPy only.

Estimators
----------
``quiet-windows`` (the default, :func:`quiet_window_noise`)
    Third differences ``d_i = (f_{i+3} - 3 f_{i+2} + 3 f_{i+1} - f_i)/sqrt20``
    (unit variance for unit white noise; they annihilate polynomials of
    degree 2, so smooth content hardly enters), their mean square in
    windows of ``L`` samples (32, fewer for short signals so that there are
    at least 16 windows), and the 20 % quantile of those window energies,
    divided by its expected value for pure white noise with the same ``L``
    and number of windows (computed once per pair, by a seeded simulation).  The signal's fine-scale content
    (speech formants, music harmonics, jumps) is loud only in some windows;
    the quietest fifth of the windows sees the noise alone.
``mad-haar``
    Donoho and Johnstone's ``median |w| / 0.6745`` over the finest Haar
    details ``w`` (:func:`resdenoise.wavelet.estimate_noise`).  It reads
    fine-scale content in more than about half of the samples as noise.
    Used for signals too short for ``quiet-windows`` (under 67 samples).
    A streamed file gets either estimate exactly (:mod:`resdenoise.selection`).

How they were chosen (``benchmarks/bench_noise.py``): on synthetic speech
and music, real measured series, piecewise-constant sensor traces and the
Donoho-Johnstone signals with white noise at 5, 10 and 30 % of the
signal's standard deviation, MAD on Haar details was 1.6x the true sigma on
speech and music (worst 2.7x); MAD of the finest sym8 / db4 details or of
higher-order differences 1.03-1.3x; ``quiet-windows`` 1.03-1.05x on every
class but the measured series.  A series whose own content is white at the
sampling rate (yearly Nile flow, 100 samples) cannot be told from white
noise by any estimator; there all of them read the series' own roughness
as noise.

Errors on pure white noise (relative standard deviation, measured over 400
seeds): ``quiet-windows`` 0.17, 0.13, 0.10, 0.054 at n = 100, 160, 300,
1000 (about ``1.7 / sqrt(n)``, unbiased: the calibration simulates the
signal's own window count); ``mad-haar`` about the same (0.18 ... 0.051).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .errors import ParameterError
from .median import quantile_from, quantile_ranks
from .wavelet import estimate_noise as mad_haar_noise

__all__ = [
    "DEFAULT_ESTIMATOR",
    "ESTIMATORS",
    "estimate_noise",
    "mad_haar_noise",
    "quiet_window_noise",
]

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


def window_for(n: int) -> int | None:
    """The window length for ``n`` samples, or None when too short."""
    m = n - 3
    length = min(WINDOW, m // MIN_WINDOWS)
    return length if length >= MIN_WINDOW else None


#: Windows per piece of :func:`window_energies` (its two scratch arrays: 1 MiB each).
ENERGY_ROWS = 4096


def window_energies(x: np.ndarray, length: int) -> np.ndarray:
    """Mean squares of the normalised third differences of ``x`` (float64, 1D) in
    consecutive windows of ``length``, from the start; a last partial window is left out.

    Elementwise, so the energies of a window do not depend on what else is
    in ``x`` (a stream fed in blocks gets the same numbers).  Computed in
    pieces of :data:`ENERGY_ROWS` windows in two scratch arrays that stay in
    the cache (not five temporaries of the signal's size), by the same
    operations in the same order: the same numbers.
    """
    k = max(x.size - 3, 0) // length
    out = np.empty(k)
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


def sigma_from_energy(energy: float, length: int, windows: int) -> float:
    """``quiet-windows``' sigma from the quantile of ``windows`` window energies."""
    return math.sqrt(energy / calibration(length, windows))


@functools.lru_cache(maxsize=256)
def calibration(length: int, windows: int) -> float:
    """The expected sample ``QUANTILE`` of ``windows`` window energies of unit white
    noise, by a seeded simulation (so the estimate is unbiased for short signals too)."""
    reps = max(1, CALIBRATION_WINDOWS // windows)
    rng = np.random.default_rng(CALIBRATION_SEED)
    values = np.empty(reps)
    lo, hi, weight = quantile_ranks(windows)
    for r in range(reps):
        energies = window_energies(rng.standard_normal(windows * length + 3), length)
        part = np.partition(energies, (lo, hi))
        values[r] = quantile_from(part[lo], part[hi], weight)
    return float(np.mean(values))


def quiet_window_noise(u: np.ndarray) -> np.ndarray:
    """The ``quiet-windows`` estimate per channel (see the module docstring).

    Returns shape ``(channels,)``; channels too short for it (fewer than
    ``3 + MIN_WINDOWS * MIN_WINDOW`` samples) get the ``mad-haar`` estimate.
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    length = window_for(u2.shape[0])
    if length is None:
        return mad_haar_noise(u2)
    out = np.empty(u2.shape[1])
    for c in range(u2.shape[1]):
        energies = window_energies(np.ascontiguousarray(u2[:, c]), length)
        lo, hi, weight = quantile_ranks(energies.size)
        part = np.partition(energies, (lo, hi))
        energy = quantile_from(part[lo], part[hi], weight)
        out[c] = sigma_from_energy(energy, length, energies.size)
    return out


#: name: estimator(u) -> sigma per channel
ESTIMATORS = {"quiet-windows": quiet_window_noise, "mad-haar": mad_haar_noise}
DEFAULT_ESTIMATOR = "quiet-windows"


def estimator_for(n: int, name: str = DEFAULT_ESTIMATOR) -> str:
    """The estimator that actually runs on ``n`` samples when ``name`` is asked for."""
    if name == "quiet-windows" and window_for(n) is None:
        return "mad-haar"
    return name


def estimate_noise(u: np.ndarray, estimator: str = DEFAULT_ESTIMATOR) -> np.ndarray:
    """The noise level per channel, shape ``(channels,)`` (``(1,)`` for a 1D signal).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(0.0, 0.5, 4096)
    >>> bool(abs(estimate_noise(x)[0] - 0.5) < 0.05)
    True
    """
    if estimator not in ESTIMATORS:
        raise ParameterError(
            f"unknown noise estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}"
        )
    u = np.asarray(u)
    return ESTIMATORS[estimator](u.reshape(u.shape[0], -1))
