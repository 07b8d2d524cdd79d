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
    and number of windows (by a seeded simulation, read from a committed
    table, ``python -m resdenoise.noise --table``: every pair of a signal of
    up to 524,322 samples, and for longer signals the simulation of
    :data:`LIMIT_WINDOWS` windows, the large-count limit).  The signal's fine-scale content
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

The automatic searches (``resolve_sigma(..., search=True)``) read the level
checked across scales (:func:`search_noise`): third and eighth differences
agree on white noise, and where they do not the level is extrapolated down
(measured, ``benchmarks/bench_noise.py``: sunspots at 5 % noise 3.39x ->
2.09x, elnino 2.34x -> 2.12x; speech, sensor, Donoho-Johnstone unchanged;
music 1.03x -> 1.05x, worst 0.87x; pure white noise unchanged at n >= 300).
The searches' level is an interval (:attr:`NoiseLevel.low`, the
extrapolation one order step further down), and a choice must show a gain at
its low end as well (:func:`resdenoise.automatic.do_no_harm`).
A rough signal (random walk, AR process) reads as noise in differences of
every order; there the searches' level is capped by the variogram's nugget
(:mod:`resdenoise.nugget`, :func:`_checked_by_nugget`), or called not
identified when the nugget is itself uncertain (the searches then keep the
input); on a short rough signal, whose nugget is too uncertain to contradict the
level, by the lag-one covariance of its first differences, exact for a random walk
(:func:`resdenoise.nugget.lag_one_noise`, :func:`_checked_by_lag_one`), which also calls
the level not identified where it is within its error of zero.  A rough part under content
the variogram does not fit (music over a red background) is read by the spectral floor
(:mod:`resdenoise.spectral_floor`, Whittle's fit of white plus an AR(1)-shaped part near
Nyquist), whose upper bound caps the level where the fine-scale energy is dense
(:func:`_checked_by_floor`).  The run's report and a streamed file keep the plain estimate.

Errors on pure white noise (relative standard deviation, measured over 400
seeds): ``quiet-windows`` 0.17, 0.13, 0.10, 0.054 at n = 100, 160, 300,
1000 (about ``1.7 / sqrt(n)``, unbiased: the calibration simulates the
signal's own window count); ``mad-haar`` about the same (0.18 ... 0.051).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import ParameterError
from .median import quantile_from, quantile_ranks
from .nugget import MIN_SAMPLES, Z, lag_one_noise, nugget_noise
from .scaling import level_shift
from .spectral_floor import spectral_floor
from .wavelet import estimate_noise as mad_haar_noise

__all__ = [
    "DEFAULT_ESTIMATOR",
    "ESTIMATORS",
    "MAX_NOISE_SHARE",
    "NoiseLevel",
    "estimate_noise",
    "mad_haar_noise",
    "noise_share",
    "quiet_window_noise",
    "resolve_sigma",
    "search_noise",
    "share_bound",
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


def _quiet_windows(u: np.ndarray, order: int = 3) -> tuple[np.ndarray, np.ndarray | None]:
    """``(sigma, means)``: :func:`quiet_window_noise`, and per channel the mean of the window
    energies it read (what :func:`_checked_by_floor` compares the level with), or None
    where they are not those of the samples themselves (scaled by :func:`energy_shift`,
    or no windows: ``mad-haar``)."""
    u2 = np.asarray(u)
    if not (u2.dtype == np.float32 and order == 3):  # float32: widened per column
        u2 = u2.astype(float, copy=False)  # (column_energies; no shift below 2**128)
    u2 = u2.reshape(u2.shape[0], -1)
    length = window_for(u2.shape[0], order)
    if length is None:
        return mad_haar_noise(u2), None
    # the largest |sample| without an array of them (NaN stays NaN: no shift)
    shift = energy_shift(float(max(-u2.min(), u2.max()))) if u2.size else 0
    if shift:  # samples beyond ENERGY_TOP: energies of the samples / 2**shift
        u2 = np.ldexp(u2, -shift)
    if order == 3:  # each column in place (the compiled loop), not copied out first
        u2 = np.ascontiguousarray(u2)
    out, means = np.empty(u2.shape[1]), np.empty(u2.shape[1])
    for c in range(u2.shape[1]):
        if order == 3:
            energies = column_energies(u2, c, length)
        else:
            energies = window_energies(np.ascontiguousarray(u2[:, c]), length, order)
        means[c] = np.mean(energies)
        lo, hi, weight = quantile_ranks(energies.size)
        part = np.partition(energies, (lo, hi))
        energy = quantile_from(part[lo], part[hi], weight)
        out[c] = sigma_from_energy(energy, length, energies.size, order)
    return (np.ldexp(out, shift), None) if shift else (out, means)


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


@dataclass(frozen=True)
class NoiseLevel:
    """A noise level per channel and where it came from: ``"given"`` or the
    estimator that measured it (see :func:`resolve_sigma`)."""

    sigma: np.ndarray
    estimator: str
    #: The estimator of each channel (empty: ``estimator`` for all).
    estimators: tuple[str, ...] = ()
    #: The low end of the level's interval per channel (:func:`search_noise`), or None
    #: where the level is a point (given, or a signal too short to check).
    low: np.ndarray | None = None
    #: The variance of the series' white part per channel by the variogram's nugget where
    #: the variogram fits and the nugget is identified, 0 elsewhere (:func:`white_part`);
    #: None where not read.
    white: np.ndarray | None = None
    #: At the low end of an estimate's interval (:meth:`at_low`; named by report.level_name).
    at_low_end: bool = False

    def at_low(self) -> NoiseLevel:
        """The level at the low end of its interval (itself where it is a point)."""
        if self.low is None:
            return self
        return replace(self, sigma=np.minimum(self.low, self.sigma), low=None, at_low_end=True)

    def scaled(self, shift: int) -> NoiseLevel:
        """The level of the samples times ``2**shift`` (white-part variances ``4**shift``)."""
        low = None if self.low is None else np.ldexp(self.low, shift)
        white = None if self.white is None else np.ldexp(self.white, 2 * shift)
        return replace(self, sigma=np.ldexp(self.sigma, shift), low=low, white=white)

    def of_channels(self, keep) -> NoiseLevel:
        """The level of channels ``keep`` (indices, in order) alone, as :func:`search_noise`
        names a level of those channels (one estimator, or the summary and each's)."""
        keep = list(keep)
        names = self.per_channel()
        low, white = (None if a is None else np.asarray(a)[keep] for a in (self.low, self.white))
        return _named_level(np.asarray(self.sigma)[keep], [names[c] for c in keep], low, white)

    def per_channel(self) -> list[str]:
        """The estimator of each channel."""
        return list(self.estimators) or [self.estimator] * int(np.size(self.sigma))

    def white_by_nugget(self) -> bool:
        """Whether the variogram's nugget set a channel's level (:func:`search_noise`):
        the noise is then taken as white at every scale (a rough signal's coarse content
        makes the levels rise like coloured noise's over a level read that low)."""
        return bool({*_ROUGH, FLOOR} & set(self.per_channel()))


def resolve_sigma(
    u, sigma=None, channels: int | None = None, *, search: bool = False
) -> NoiseLevel:
    """The noise level of ``u`` per channel: ``sigma`` when given, else estimated.

    ``sigma``: None (estimate it with :func:`estimate_noise`, the estimator
    named by :func:`estimator_for`), a number or one per channel (``"given"``),
    or a :class:`NoiseLevel` already resolved (returned as it is, so a
    caller that tries several filters on one signal estimates once).
    ``channels``: the channel count when ``u`` is not the samples (only
    used with ``sigma`` given).  ``search``: for an automatic search on the
    samples in memory, the estimate with the safeguard of
    :func:`search_noise` (a run's report, and a streamed file, use the
    plain estimate).
    """
    if isinstance(sigma, NoiseLevel):
        return sigma
    if sigma is not None:
        if channels is None:
            u = np.asarray(u)
            channels = u.reshape(u.shape[0], -1).shape[1]
        given = np.broadcast_to(np.asarray(sigma, dtype=float), (channels,)).copy()
        return NoiseLevel(given, "given")
    u = np.asarray(u)
    if search:
        return search_noise(u)
    return NoiseLevel(estimate_noise(u), estimator_for(u.shape[0]))


#: An estimate above this share of a channel's variance is not told from the signal (the
#: automatic searches ask it of :func:`share_bound` and of :attr:`NoiseLevel.white` too).
MAX_NOISE_SHARE = 0.25


def noise_share(u, sigma) -> np.ndarray:
    """``sigma^2 / var(u)`` per channel (0 for a constant channel).

    White noise can be read from a signal only where the signal's own
    content at the finest scales is weaker than the noise.  A signal that is
    white itself at its sampling rate (a yearly series whose values hardly
    depend on the year before) has the same statistics as noise: an
    estimate of most of its variance (above :data:`MAX_NOISE_SHARE`, a
    signal at most 3x the noise's variance) says that the level was not
    identified, and the automatic search does less
    (:func:`resdenoise.automatic.choose_denoiser`).
    """
    return variance_share(channel_variance(u), sigma)


def channel_variance(u) -> np.ndarray:
    """The variance of each channel of ``u`` (samples along axis 0)."""
    u = np.asarray(u, dtype=float)
    return np.var(u.reshape(u.shape[0], -1), axis=0)


def variance_share(var, sigma) -> np.ndarray:
    """:func:`noise_share` of channels whose variances ``var``
    (:func:`channel_variance`) are known: ``sigma^2 / var``, 0 where ``var`` is 0."""
    var = np.asarray(var)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), var.shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant channel: no share
        return np.where(var > 0, sigma**2 / np.where(var > 0, var, 1.0), 0.0)


#: Standard deviations of the level's own error by which :func:`share_bound` raises it.
SHARE_Z = Z


def share_bound(u, sigma) -> np.ndarray:
    """The upper end of :func:`noise_share`'s interval: the share of ``sigma`` raised by
    :data:`SHARE_Z` of an estimated level's relative standard deviation,
    ``QUIET_SPREAD / sqrt(n)`` (``n`` samples; 0.120 at 200 samples, 0.229 at 55:
    ``SHARE_Z`` of it 0.24 and 0.46), i.e.
    ``noise_share * (1 + SHARE_Z * QUIET_SPREAD / sqrt(n))^2`` (the share x1.54 at 200
    samples, x2.13 at 55).

    The automatic searches keep the input where this bound exceeds
    :data:`MAX_NOISE_SHARE` (:func:`resdenoise.automatic.do_no_harm`), not only where
    the share itself does.  The argument: the share rule's premise, that the level
    leaves at least 3x its variance to the signal, is a statement about the level's
    true value, and an estimated level is only known to within its own error, which on
    white noise alone is ``QUIET_SPREAD / sqrt(n)`` (more where the signal leaks into the
    finest scales, never less); do no harm asks for the premise to hold at the end of
    the level's interval that would break it, as the searches ask a choice to gain at the
    level's low end (:attr:`NoiseLevel.low`).  A signal whose own fine-scale content is
    white at its sampling rate has the statistics of noise, so its share, however read,
    is the only evidence that the level may be the signal's.  The cost is where the
    noise itself is near the limit on a short signal (white noise of 30 % of a smooth
    signal's std is 8 % of the variance: at 55 samples, read 1.2x high, its bound is 25 %).
    """
    return noise_share(u, sigma) * share_factor(np.shape(u)[0])


def share_factor(n: int) -> float:
    """What :func:`share_bound` multiplies the share of ``n`` samples by:
    ``(1 + SHARE_Z * QUIET_SPREAD / sqrt(n))^2``."""
    return _margin(SHARE_Z, n) ** 2


def _margin(z: float, n: int) -> float:
    """``1 + z`` relative standard deviations of a level estimated from ``n`` samples
    (``QUIET_SPREAD / sqrt(n)``): the margin of :func:`share_factor` and the checks."""
    return 1.0 + z * QUIET_SPREAD / math.sqrt(max(n, 1))


#: The high order of :func:`search_noise`'s consistency check.
HIGH_ORDER = 8
#: Relative standard deviation x sqrt(n) of quiet-windows(3) / quiet-windows(8) on white
#: noise (measured over 300 seeds: 0.19, 0.093, 0.052, 0.031, 0.016 at n = 100, 309,
#: 732, 2048, 8192).
RATIO_SPREAD = 1.7
#: The ratio must exceed 1 by this many of its standard deviations to correct.
RATIO_Z = 3.0
#: The estimator's name when the check corrected a channel.
EXTRAPOLATED = "quiet-windows, extrapolated over difference orders 3 and 8"
#: Fewest samples with an interval (the variogram's nugget reads them: it can bound it).
NUGGET_SAMPLES = MIN_SAMPLES
#: The low end of the level's interval: ``s3 / r^LOW_ORDER_STEPS`` (``r = s3 / s8``), the
#: extrapolation over difference orders one step beyond the level's ``s3 / r^2``.
LOW_ORDER_STEPS = 3


def search_noise(u, nugget: bool = True) -> NoiseLevel:
    """The noise level for an automatic search: ``quiet-windows``, checked across orders
    and (``nugget``, the default) by the variogram's nugget (:func:`_checked_by_nugget`).

    For white noise the normalised differences of every order see the same
    level.  A signal whose own content reaches the finest scales leaks into
    low orders more than into high ones: the estimate from third
    differences ``s3`` then exceeds the one from eighth differences ``s8``
    and both exceed the true level (measured on short real series: 1.2-3.4x
    at 5-10 % noise).  When ``r = s3 / s8`` exceeds 1 by more than
    :data:`RATIO_Z` of its standard deviations on white noise
    (``RATIO_SPREAD / sqrt(n)``), the level is not identified at these
    scales: it is extrapolated one step further in the same proportion,
    ``s3 / r^2``, never above ``s3`` (it leans toward smoothing less).
    Channels where the orders agree keep ``s3``.

    The level is an interval, not a point: :attr:`NoiseLevel.low` is its low
    end, ``s3 / r^3`` (:data:`LOW_ORDER_STEPS`; the level itself where
    ``r <= 1``), at least the nugget's lower bound where the nugget is
    identified, or, where the variogram's nugget set the level (its upper
    bound), the nugget itself, or where the spectral floor set the level
    (:func:`_checked_by_floor`), at most the floor's bound at one standard error.  Under
    :data:`NUGGET_SAMPLES` samples (no
    nugget to bound it) the level is a point: the ratio's own noise
    (``RATIO_SPREAD / sqrt(n)``, 0.13 at 160 samples) put the low end of a
    piecewise-constant trace at 0.73x the true level, and the search kept
    the input where smoothing cut the MSE 10x.  The searches choose with the level and
    require a gain at the low end too
    (:func:`resdenoise.automatic.do_no_harm`).  Measured on white noise
    (level / true sigma, ``benchmarks/bench_classes.py``): sunspots at 5 %
    noise 1.46x and 3.02x with low ends 0.89x and 2.43x, El Nino 2.55x and
    1.59x with 1.81x and 1.17x; speech, music, sensor and Donoho-Johnstone
    low ends 0.89-1.21x.
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    shift = level_shift(u2)
    if shift:  # its squares would over- or underflow: the level of the samples / 2**shift
        return _search_noise(np.ldexp(u2, -shift), nugget).scaled(shift)
    return _search_noise(u2, nugget)


def _search_noise(u2: np.ndarray, nugget: bool) -> NoiseLevel:
    """:func:`search_noise` of the samples as they are (rows x channels, float64)."""
    n = u2.shape[0]
    name = estimator_for(n)
    plain, means = _quiet_windows(u2) if name == "quiet-windows" else (estimate_noise(u2), None)
    if name != "quiet-windows" or window_for(n, HIGH_ORDER) is None:
        return NoiseLevel(plain, name)
    high = quiet_window_noise(u2, HIGH_ORDER)
    with np.errstate(divide="ignore", invalid="ignore"):  # a channel without noise
        ratio = np.where(high > 0, plain / np.where(high > 0, high, 1.0), 1.0)
    off = ratio > 1.0 + RATIO_Z * RATIO_SPREAD / math.sqrt(n)
    sigma = np.where(off, plain / ratio**2, plain)
    names = [EXTRAPOLATED if o else name for o in off]
    low = sigma
    if nugget:
        if n >= NUGGET_SAMPLES:  # where an identified nugget can bound it (a point else)
            low = np.minimum(sigma, plain / np.maximum(ratio, 1.0) ** LOW_ORDER_STEPS)
        nug = nugget_noise(u2)
        white = white_part(nug)
        sigma, low = _checked_by_nugget(u2, sigma, names, low, nug)
        dense = _dense(u2, plain, means)
        sigma, low = _checked_by_lag_one(u2, sigma, names, low, nug, dense)
        sigma, low = _checked_by_floor(u2, plain, sigma, names, low, means, dense)
    else:
        white = None
    return _named_level(sigma, names, low, white)


def _named_level(sigma, names: list[str], low, white) -> NoiseLevel:
    """The level of channels whose estimators are ``names``: named by their one estimator,
    or, where a check changed some, by the first such check and each channel's."""
    summary = next(
        (e for e in (UNIDENTIFIED, NUGGET, LAG_ONE, FLOOR, EXTRAPOLATED) if e in names), None
    )
    if summary is None:
        return NoiseLevel(sigma, names[0], low=low, white=white)
    return NoiseLevel(sigma, summary, tuple(names), low, white)


def white_part(nug) -> np.ndarray:
    """The variance of the series' white part per channel by the variogram's nugget
    ``nug`` (:func:`resdenoise.nugget.nugget_noise`) where the variogram fits a rough
    signal plus white noise (misfit at most :data:`NUGGET_MISFIT`) and the nugget is
    identified (at least :data:`NUGGET_T` standard errors), else 0 (no white part read;
    NaN never).

    What it is for: the share rule (:data:`MAX_NOISE_SHARE`,
    :func:`resdenoise.automatic.do_no_harm`) asks how much of a series' variance is white
    at its sampling rate.  quiet-windows reads the white level where the series is
    quietest; the nugget reads it over the whole series, the signal's own white content
    (the irregular part of an economic or climate series, an aliased rough part) with
    the noise.  Where the signal's white content is stronger in some stretches than in
    others (quarterly inflation: quiet-windows 7.8x the true level at 5 % noise, 15 % of
    the variance, the nugget 2.2x that again, 31-33 %) the level passes the share rule and
    the searches smoothed the series' own content away (9-17 dB below the input); the
    nugget's share does not pass it.  The nugget itself, not the upper end of its interval
    as for :func:`share_bound`: its standard error on a few hundred samples is of the order
    of the nugget (an identified one is at least :data:`NUGGET_T` of them, so its upper end
    is at least twice it: a rule at half the share limit wherever the nugget reads the
    noise itself); on the benchmarks the two gave the same cases.  An unidentified nugget
    (speech, whose fine-scale content the variogram fits with a nugget of 1 standard
    error) says nothing of a white part and is not used.
    """
    return np.where(_identified(nug), nug.variance, 0.0)


def _identified(nug) -> np.ndarray:
    """Per channel: the variogram fits (misfit at most :data:`NUGGET_MISFIT`) and its
    nugget is identified (at least :data:`NUGGET_T` standard errors)."""
    with np.errstate(invalid="ignore"):  # a short signal: NaN, never identified
        return (nug.misfit <= NUGGET_MISFIT) & (nug.variance >= NUGGET_T * nug.standard_error)


#: A fit of the variogram with a misfit above this (:class:`resdenoise.nugget.Nugget`) is
#: not used: the signal is not rough (smooth, oscillating) and the model does not hold.
NUGGET_MISFIT = 1.0
#: Relative standard deviation x sqrt(n) of quiet-windows on white noise (module docstring).
QUIET_SPREAD = 1.7
#: quiet-windows must exceed the nugget's upper bound by this many of its own standard
#: deviations to be lowered (on white noise it fires in 0 of 200 seeds, n = 200-4096; with
#: 2 it lowered co2 at 30 % noise from 0.93x to 0.82x of the level, -2.9 dB).
NUGGET_Z = 4.0
#: A nugget of at least this many standard errors identifies the level.
NUGGET_T = 2.0
#: The estimator's name when the variogram's nugget lowered a channel's level.
NUGGET = "variogram nugget (quiet-windows read a rough signal as noise)"
#: The estimator's name when the variogram contradicts quiet-windows but its nugget does
#: not identify the level either: the automatic searches do nothing (do no harm).
UNIDENTIFIED = (
    "not identified (a rough signal: quiet-windows above the variogram's nugget or lag-one "
    "bound, itself uncertain, or the lag-one covariance within its error of zero)"
)


def _checked_by_nugget(u2: np.ndarray, sigma: np.ndarray, names: list[str], low: np.ndarray, nug):
    """``(sigma, low)`` with each channel the variogram's nugget (:mod:`resdenoise.nugget`)
    says is over-read lowered to the nugget's upper bound, and its interval's low end
    ``low`` to the nugget itself (never below 0); elsewhere ``low`` raised to the
    nugget's lower bound (``nugget - 2 standard errors``) where the variogram fits and
    the nugget is identified (:data:`NUGGET_T`): the extrapolation over orders is noisy
    on short signals (a piecewise-constant trace of 300 samples in white noise: third
    over eighth differences 1.27 by chance, the low end 0.49x, and the input was kept
    where smoothing cut the MSE 40x); ``names`` updated in place.

    A channel is lowered where the variogram fits a rough signal plus white
    noise (misfit at most :data:`NUGGET_MISFIT`), its nugget is positive and
    ``sigma`` exceeds the square root of the nugget's upper bound (``nugget +
    2 standard errors``) by :data:`NUGGET_Z` of its own standard deviations.
    The lowered level is :data:`NUGGET` when the nugget is at least
    :data:`NUGGET_T` standard errors (the level is identified), else
    :data:`UNIDENTIFIED`: both estimators are then doubtful and the searches
    keep the input (:func:`resdenoise.automatic.do_no_harm`).  Over-reading
    the level costs much (the searches smooth away the signal: AR(1)
    ``phi = 0.9`` at 5 % white noise went from 26.1 to 14.0 dB); reading it
    low costs less, but not nothing (hence the margin :data:`NUGGET_Z`).
    """
    with np.errstate(invalid="ignore"):  # a short signal: NaN, never used
        bound = np.sqrt(nug.upper) * _margin(NUGGET_Z, u2.shape[0])
        act = (nug.misfit <= NUGGET_MISFIT) & (nug.variance > 0) & (sigma > bound)
        resolved = nug.variance >= NUGGET_T * nug.standard_error
    for c in np.flatnonzero(act):
        names[c] = NUGGET if resolved[c] else UNIDENTIFIED
    point = np.sqrt(np.maximum(np.where(act, nug.variance, 0.0), 0.0))
    upper = np.sqrt(np.where(act, nug.upper, 0.0))
    with np.errstate(invalid="ignore"):  # a short signal: NaN, never a bound
        floor = np.sqrt(
            np.where(_identified(nug), np.maximum(nug.variance - Z * nug.standard_error, 0.0), 0.0)
        )
    low = np.maximum(low, np.minimum(floor, sigma))  # an identified nugget bounds it below
    return np.where(act, upper, sigma), np.where(act, point, low)


#: quiet-windows must exceed the lag-one bound by this many of its own standard deviations
#: (:data:`QUIET_SPREAD`) to be lowered (:func:`_checked_by_lag_one`).
LAG_ONE_Z = 1.0
#: The lag-one estimate may lie this many of its standard errors below zero and still be
#: read as a rough signal's (below that the signal is convex: smooth or oscillating, and
#: the lag-one covariance is no bound of the noise).
LAG_ONE_CONVEX = 1.0
#: The estimator's name when the lag-one covariance of differences lowered a channel's level.
LAG_ONE = "lag-one covariance of differences (quiet-windows read a rough signal as noise)"

#: The names a roughness check gives a channel's level (the spectral floor's aside).
_ROUGH = (NUGGET, LAG_ONE, UNIDENTIFIED)


def _checked_by_lag_one(u2, sigma, names, low, nug, dense):
    """``(sigma, low)`` with each channel that the lag-one covariance of its first
    differences (:func:`resdenoise.nugget.lag_one_noise`) says is over-read lowered to
    that estimate's upper bound (estimate + 2 standard errors) and its interval's low
    end to the estimate (never below 0); ``names`` updated in place (:data:`LAG_ONE`
    where the estimate is at least :data:`NUGGET_T` standard errors, else
    :data:`UNIDENTIFIED`: the searches keep the input).  A channel whose fine-scale
    energy is dense (``dense``, :data:`DENSE`), read as a rough signal, with a positive
    lag-one estimate within :data:`NUGGET_T` of its robust standard errors of zero is
    :data:`UNIDENTIFIED` too, whatever its level: the signal's increments there dwarf the
    noise, and no estimator here tells the noise's level.

    A short random walk in small white noise (256 samples, 5-10 %): its increments are
    white, so every difference order reads them as noise alike (quiet-windows 1.5-3.5x
    the true level, third over eighth differences near 1: no extrapolation), and the
    variogram's nugget over :data:`resdenoise.nugget.LAGS` lags has a standard error of
    1.3-5.6x ``sigma^2``: its bound does not contradict the level, and the output was up
    to 8 dB below the input (``benchmarks/bench_harm.py``).  The first two lags alone
    are exact for a random walk and 2-6x less noisy.  A channel is checked where the
    variogram fits a rough signal (misfit at most :data:`NUGGET_MISFIT`: the same model)
    and the nugget did not set its level, and the lag-one estimate is not below zero by
    more than :data:`LAG_ONE_CONVEX` standard errors (convex content: a sum of tones,
    sunspots' cycle, reads far below the noise there); it is lowered where ``sigma``
    exceeds the square root of the bound by :data:`LAG_ONE_Z` of its own standard
    deviations.  The "not identified" rule asks for a positive estimate (sunspots at 30 %
    noise read -0.2 to -0.7 ``sigma^2``: convex, and their level is right to 1.2-1.4x)
    and for dense fine-scale energy (speech's formants are concave too, their estimate
    40-90 ``sigma^2`` and uncertain, but its quiet windows see the noise alone); its
    robust error is not inflated by a few convex batches (Doppler at 10 %: 0.07-0.15
    against 0.4-0.7 ``sigma^2`` by the plain spread, the estimate 0.7-0.9).  The low end
    where it lowers the level is the estimate less 2 standard errors (with the estimate
    itself one fresh 256-sample walk at 5 % was 0.9 dB below the input).  Measured
    (``benchmarks/bench_harm.py``, white noise at 5-30 %, two seeds): it acts on the
    256-sample walks and on quarterly unemployment at 30 % (kept as the input before
    too), on no other fresh signal; ``bench_classes``: on two pink-noise
    cases (co2, HeaviSine: +0.1 and +0.6 dB), no white one; pure white noise (200 seeds
    each at 256, 300, 1000, 4096 samples): once, at 4096 (to 1.03x).  A margin of 2
    standard deviations instead of :data:`LAG_ONE_Z` (before the not-identified rule):
    11 fresh walk cases below the input instead of 3.  ``nug``: the variogram's nugget of ``u2``
    (:func:`resdenoise.nugget.nugget_noise`).
    """
    free = np.array([x not in _ROUGH for x in names])  # none can be LAG_ONE yet
    with np.errstate(invalid="ignore"):  # a short signal: NaN, never used
        fits = free & (nug.misfit <= NUGGET_MISFIT)
    if not fits.any():  # no channel it could act on: not read (a pass over the signal)
        return sigma, low
    one = lag_one_noise(u2)
    n = u2.shape[0]
    with np.errstate(invalid="ignore"):  # a short signal: NaN, never used
        bound = np.sqrt(one.upper) * _margin(LAG_ONE_Z, n)
        rough = fits & (one.variance >= -LAG_ONE_CONVEX * one.standard_error)
        act = rough & (sigma > bound)
        resolved = one.variance >= NUGGET_T * one.standard_error
        unread = fits & ~act & dense & (one.variance > 0)
        unread &= one.variance < NUGGET_T * one.robust_error
    for c in np.flatnonzero(act):
        names[c] = LAG_ONE if resolved[c] else UNIDENTIFIED
    for c in np.flatnonzero(unread):
        names[c] = UNIDENTIFIED
    upper = np.sqrt(np.where(act, one.upper, 0.0))
    point = np.sqrt(np.maximum(np.where(act, one.variance - Z * one.standard_error, 0.0), 0.0))
    return np.where(act, upper, sigma), np.where(act, np.minimum(point, low), low)


#: The quiet windows' level squared over the mean window energy (both 1 for white noise) at
#: which a channel's fine-scale content counts as dense (stationary), so that the spectral
#: floor applies.  Measured at 5-30 % white noise (``bench_classes`` and ``bench_harm``
#: signals, and ``bench_noise``'s): speech 0.01-0.39, Blocks and Bumps 0.16-0.52 at 5 %
#: noise, 0.66-0.88 at 10 % (at 0.8 the floor read Bumps at 10 % as 0.66x of its level),
#: music over AR(1) backgrounds 0.97-1.08, random walks 0.76-1.37, smooth signals in noise
#: 0.84-1.11.
DENSE = 0.9
#: The level must exceed the floor's bound by this many of quiet-windows' standard
#: deviations (:data:`QUIET_SPREAD`) to be lowered.
FLOOR_Z = 3.0
#: The estimator's name when the spectral floor lowered a channel's level.
FLOOR = "spectral floor (quiet-windows read a dense rough part as noise)"


def _checked_by_floor(u2, plain, sigma, names, low, means=None, dense=None):
    """``(sigma, low)`` with each channel whose fine-scale energy is dense (:data:`DENSE`:
    ``plain``, quiet-windows, squared over the mean window energy) and whose level exceeds
    the spectral floor's upper bound (:func:`resdenoise.spectral_floor.spectral_floor`,
    searched below the level) by :data:`FLOOR_Z` of quiet-windows' standard deviations
    lowered to that bound, and its low end to at most the bound at one standard error
    (:attr:`resdenoise.spectral_floor.Floor.likely`); ``names`` updated in place
    (:data:`FLOOR`, unless the nugget named the channel).

    The floor reads a rough part under content the variogram does not fit (music over an
    AR(1) background: quiet-windows 1.5-2.4x the true level at 5 % noise, the nugget's fit
    rejected); on sparse content (speech, jumps) its model does not hold and the quiet
    windows see the noise alone, hence the density gate.  On white noise (200 seeds each
    at n = 200, 300, 1000, 4096) it lowered the level once (n = 1000, to 0.68x).

    ``means``: the mean window energies ``plain`` read (:func:`_quiet_windows`), else
    computed here again; ``dense``: :func:`_dense`'s answer, read already."""
    dense = _dense(u2, plain, means) if dense is None else dense
    if not dense.any():
        return sigma, low
    floor = spectral_floor(u2, np.where(dense, sigma**2, 0.0))
    with np.errstate(invalid="ignore"):  # a short channel: NaN, never a cap
        cap = np.sqrt(floor.upper)
        act = dense & (sigma > cap * _margin(FLOOR_Z, u2.shape[0]))
    for c in np.flatnonzero(act):
        if names[c] not in _ROUGH:
            names[c] = FLOOR
    near = np.sqrt(floor.likely)
    return np.where(act, cap, sigma), np.where(act, np.minimum(low, near), low)


def _dense(u2: np.ndarray, plain: np.ndarray, means=None) -> np.ndarray:
    """Per channel, whether its fine-scale energy is dense (:data:`DENSE`): ``plain``,
    quiet-windows, squared over the mean window energy (``means``, as
    :func:`_quiet_windows` read them, else computed here again)."""
    length = window_for(u2.shape[0])
    dense = np.zeros(u2.shape[1], dtype=bool)
    block = np.ascontiguousarray(u2)
    for c in range(u2.shape[1]):
        if means is None:
            mean = float(np.mean(column_energies(block, c, length)))
        else:
            mean = float(means[c])
        dense[c] = mean > 0 and plain[c] ** 2 >= DENSE * mean
    return dense


if __name__ == "__main__":  # python -m resdenoise.noise --table: rewrite CALIBRATION_TABLE
    import sys

    if sys.argv[1:] != ["--table"]:
        sys.exit("usage: python -m resdenoise.noise --table")
    print(f"{write_table()} calibrations written to {CALIBRATION_TABLE}")
