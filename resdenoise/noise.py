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
    Used for signals too short for ``quiet-windows`` (under 67 samples).  There the
    automatic searches' level is the lesser of it and the MAD of the normalised third
    differences (:func:`third_difference_noise`, :data:`SHORT_ESTIMATOR`): on so few
    samples the finest Haar details of a smooth signal's own content fill most of them
    (three periods of a sine and a step in 50 samples at 5-10 % white noise: mad-haar
    3-8x the true level, third differences 1.0-1.5x), while a jump enters three third
    differences and one Haar detail at most.
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
(:mod:`resdenoise.nugget`, :func:`resdenoise.rough_level._checked_by_nugget`), or called not
identified when the nugget is itself uncertain (the searches then keep the
input); on a short rough signal, whose nugget is too uncertain to contradict the
level, by the lag-one covariance of its first differences, exact for a random walk
(:func:`resdenoise.nugget.lag_one_noise`, :func:`_checked_by_lag_one`), which also calls
the level not identified where it is within its error of zero.  A rough part under content
the variogram does not fit (music over a red background) is read by the spectral floor
(:mod:`resdenoise.spectral_floor`, Whittle's fit of white plus an AR(1)-shaped part near
Nyquist), whose upper bound caps the level where the fine-scale energy is dense
(:func:`resdenoise.rough_level._checked_by_floor`).  Under :data:`NUGGET_SAMPLES` samples the level's interval
reaches down to the variogram's quadratic extrapolation to lag 0 plus 2 standard errors
(:func:`resdenoise.rough_level._low_by_quadratic`): a short series whose content changes within a few samples (lynx,
air passengers) reads as noise in differences of every order, and far below it there; one
read as a random walk whose lag-one reading is within its error of 0 is not identified
(:func:`resdenoise.rough_level._short_rough`).  Beside digital silence see :func:`_clean_beside_silence`.
The run's report and a streamed file keep the plain estimate.

The ``quiet-windows`` estimator and its calibration live in :mod:`resdenoise.quiet_windows`
(re-exported here); this module chooses the estimator and checks the level.

Errors on pure white noise (relative standard deviation, measured over 400
seeds): ``quiet-windows`` 0.17, 0.13, 0.10, 0.054 at n = 100, 160, 300,
1000 (about ``1.7 / sqrt(n)``, unbiased: the calibration simulates the
signal's own window count); ``mad-haar`` about the same (0.18 ... 0.051).
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from .errors import ParameterError
from .noise_level import (  # noqa: F401 - re-exported: the level's names, as before the split
    _ROUGH,
    CLEAN_SILENCE,
    EXTRAPOLATED,
    FLOOR,
    LAG_ONE,
    MAX_NOISE_SHARE,
    NUGGET,
    QUIET_SPREAD,
    SHARE_Z,
    UNIDENTIFIED,
    NoiseLevel,
    _margin,
    _merged,
    _named_level,
    channel_variance,
    noise_share,
    share_bound,
    share_factor,
    variance_share,
)
from .nugget import lag_one_noise, nugget_noise
from .quiet_windows import (  # noqa: F401 - re-exported: the estimator's names, as before the split
    CALIBRATION_PIECE,
    CALIBRATION_SEED,
    CALIBRATION_TABLE,
    CALIBRATION_WINDOWS,
    ENERGY_BOTTOM,
    ENERGY_ROWS,
    ENERGY_TOP,
    LIMIT_WINDOWS,
    MIN_WINDOW,
    MIN_WINDOWS,
    TABLE_WINDOWS,
    WINDOW,
    _compiled,
    _from_table,
    _quiet_windows,
    _table,
    _table_key,
    calibration,
    column_energies,
    column_nonzero,
    counted_energies,
    energy_shift,
    nonzero_differences,
    quiet_window_noise,
    sigma_from_energy,
    silent_count,
    silent_windows,
    simulate_calibration,
    sounding,
    sounding_samples,
    table_pairs,
    window_energies,
    window_for,
    write_table,
)
from .rough_level import (  # noqa: F401 - re-exported: the checks' names, as before the split
    DENSE,
    DOUBT_Z,
    FLOOR_Z,
    LAG_ONE_CONVEX,
    LAG_ONE_Z,
    NUGGET_MISFIT,
    NUGGET_SAMPLES,
    NUGGET_T,
    NUGGET_Z,
    QUAD_Z,
    SHORT_BEYOND,
    SHORT_KURTOSIS,
    _checked_by_floor,
    _checked_by_lag_one,
    _checked_by_nugget,
    _dense,
    _identified,
    _low_by_lag_one,
    _low_by_quadratic,
    _short_rough,
    white_part,
)
from .scaling import level_shift
from .wavelet import MAD_FACTOR
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


#: The searches' level's name under 67 samples (too short for quiet-windows): per channel
#: the lesser of ``mad-haar`` and the MAD of third differences
#: (:func:`third_difference_noise`).  Each reads its own kind of content as noise: the
#: finest Haar details a smooth or oscillating series' (most of them, on so few samples),
#: the third differences a jump's (three of them per jump, one Haar detail or none).
#: Measured (``benchmarks/bench_short.py``, tuning seeds 0-9, 50 samples, 180 cases,
#: level / true sigma within 20 %): mad-haar 20 % (smooth 30 %, cycles 7 %, steps 57 %),
#: third differences 32 % (steps 40 %), the lesser 37 % (smooth 63 %, cycles 43 %, steps
#: 63 %); on white noise alone (4000 seeds) the lesser reads 0.93x at 40-66 samples
#: (0.88-0.92x at 8-32), each alone 1.01-1.03x: a little low, which leans toward
#: smoothing less.
SHORT_ESTIMATOR = "mad-haar or third differences, the lesser"


#: The high order of :func:`search_noise`'s consistency check.
HIGH_ORDER = 8
#: Relative standard deviation x sqrt(n) of quiet-windows(3) / quiet-windows(8) on white
#: noise (measured over 300 seeds: 0.19, 0.093, 0.052, 0.031, 0.016 at n = 100, 309,
#: 732, 2048, 8192).
RATIO_SPREAD = 1.7
#: The ratio must exceed 1 by this many of its standard deviations to correct.
RATIO_Z = 3.0
#: The low end of the level's interval: ``s3 / r^LOW_ORDER_STEPS`` (``r = s3 / s8``), the
#: extrapolation over difference orders one step beyond the level's ``s3 / r^2``.
LOW_ORDER_STEPS = 3


def search_noise(u, nugget: bool = True) -> NoiseLevel:
    """The noise level for an automatic search: ``quiet-windows``, checked across orders
    and (``nugget``, the default) by the variogram's nugget (:func:`resdenoise.rough_level._checked_by_nugget`).

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
    (:func:`resdenoise.rough_level._checked_by_floor`), at most the floor's bound at one standard error.  Under
    67 samples (no window to check orders in) the level is :data:`SHORT_ESTIMATOR`'s.  Under
    :data:`NUGGET_SAMPLES` samples (no
    nugget to bound it) the order extrapolation sets no low end: the ratio's own noise
    (``RATIO_SPREAD / sqrt(n)``, 0.13 at 160 samples) put the low end of a
    piecewise-constant trace at 0.73x the true level, and the search kept
    the input where smoothing cut the MSE 10x; there the low end is at most the
    variogram's quadratic extrapolation's upper bound (:func:`resdenoise.rough_level._low_by_quadratic`).  The searches choose with the level and
    require a gain at the low end too
    (:func:`resdenoise.automatic.do_no_harm`).  Measured on white noise
    (level / true sigma, ``benchmarks/bench_classes.py``): sunspots at 5 %
    noise 1.46x and 3.02x with low ends 0.89x and 2.43x, El Nino 2.55x and
    1.59x with 1.81x and 1.17x; speech, music, sensor and Donoho-Johnstone
    low ends 0.89-1.21x.
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    if u2.shape[1] > 1 and len({level_shift(u2[:, c]) for c in range(u2.shape[1])}) > 1:
        # channels whose own powers of two differ (a quiet channel beside a loud one, one
        # of them beyond LEVEL_RANGE): each is its own signal, its level the one it has alone
        parts = {(c,): search_noise(u2[:, c], nugget) for c in range(u2.shape[1])}
        return _merged(parts, u2.shape[1])
    shift = level_shift(u2)
    if shift:  # its squares would over- or underflow: the level of the samples / 2**shift
        return _search_noise(np.ldexp(u2, -shift), nugget).scaled(shift)
    return _search_noise(u2, nugget)


def _search_noise(u2: np.ndarray, nugget: bool) -> NoiseLevel:
    """:func:`search_noise` of the samples as they are (rows x channels, float64)."""
    n = u2.shape[0]
    name = estimator_for(n)
    if name == "quiet-windows":
        plain, means, silent = _quiet_windows(u2)
        if silent.any():  # digital silence: each such channel checked on its sounding part
            return _without_silence(u2, nugget, silent)
    else:
        plain, means = estimate_noise(u2), None
    if name != "quiet-windows":  # too short for windows: the lesser of mad-haar and
        # third differences where there are any (mad-haar alone below 4 samples)
        low = None
        if n >= 4:
            plain, name = np.minimum(third_difference_noise(u2), plain), SHORT_ESTIMATOR
        low = _low_by_quadratic(u2, plain, low, nugget)
        return _short_rough(u2, NoiseLevel(plain, name, low=low), nugget)
    if window_for(n, HIGH_ORDER) is None:
        low = _low_by_quadratic(u2, plain, None, nugget)
        return _short_rough(u2, NoiseLevel(plain, name, low=low), nugget)
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
        lag = functools.cache(lambda: lag_one_noise(u2))  # read once, where needed
        sigma, low = _checked_by_lag_one(u2, sigma, names, low, nug, dense, lag)
        sigma, low = _checked_by_floor(u2, plain, sigma, names, low, means, dense)
        low = _low_by_lag_one(u2, sigma, names, low, nug, lag)
        low = _low_by_quadratic(u2, sigma, low, nugget)
    else:
        white = None
    return _short_rough(u2, _named_level(sigma, names, low, white), nugget)


def _without_silence(u2: np.ndarray, nugget: bool, silent: np.ndarray) -> NoiseLevel:
    """:func:`_search_noise` where the channels ``silent`` hold windows of digital silence
    (:func:`resdenoise.quiet_windows.silent_windows`): each of those searched alone on its
    samples without them (:func:`resdenoise.quiet_windows.sounding_samples`: zero padding
    or a noise gate would halve the variogram's nugget, the lag-one covariance and the
    spectral floor), the others together as before."""
    length = window_for(u2.shape[0])
    parts = {}
    rest = np.flatnonzero(~silent)
    if rest.size:
        parts[tuple(rest.tolist())] = _search_noise(np.ascontiguousarray(u2[:, rest]), nugget)
    for c in np.flatnonzero(silent).tolist():
        x = sounding_samples(u2[:, c], length).reshape(-1, 1)
        parts[(c,)] = _clean_beside_silence(x, _search_noise(x, nugget))
    return _merged(parts, u2.shape[1])


#: Third over eighth differences' quiet-windows level of a channel's sounding part (beside
#: digital silence) from which it is clean (:func:`_clean_beside_silence`).
SILENT_CLEAN_RATIO = 8.0


def _clean_beside_silence(x: np.ndarray, level: NoiseLevel) -> NoiseLevel:
    """``level`` (of the sounding samples ``x``, one column, of a channel with digital
    silence), named :data:`CLEAN_SILENCE` (the channel is clean: the searches keep it,
    :func:`resdenoise.untrusted._distrusted`) where the third differences' quiet-windows
    level exceeds the eighth's by :data:`SILENT_CLEAN_RATIO` or more.

    White noise reads alike in differences of every order, so the eighth differences' level
    bounds the noise, and where it is a small part of the third's the quietest windows hold
    the signal's own content, not noise; the silent windows, exact zeros, hold none at all.
    A low end of 0 was not enough: the coloured ranking asks no low end (clean formant
    speech kept filtering); a level of 0 named it clean by float64's rounding where the
    rounding of float32 or PCM samples says more.  Measured: the clean bird song of
    ``benchmarks/heldout_signals.py`` (2793 exact zeros of 8192) reads a ratio of 41 and
    was filtered by Perona-Malik over 9737 blocks (1.1e-6 % of its std moved; before a84dc61
    the silence read the level 0); its calls with white noise of 0.1, 0.3, 1, 3, 10 % of
    the std inside them only (gated) read 29, 12.3, 4.3, 1.9, 1.3 and gained -0.00, -0.00,
    +0.00, +0.02, +0.01 dB on main; zero padding of a noisy signal reads about 1."""
    if window_for(x.shape[0], HIGH_ORDER) is None:
        return level
    third = quiet_window_noise(x)[0]
    if not quiet_window_noise(x, HIGH_ORDER)[0] * SILENT_CLEAN_RATIO <= third or third == 0:
        return level
    return replace(level, estimators=(), estimator=CLEAN_SILENCE)


def third_difference_noise(u2: np.ndarray) -> np.ndarray:
    """``median |d| / 0.6745`` per channel of ``u2`` (rows x channels, 4 rows or more)
    over the normalised third differences ``d`` (``quiet-windows``' own: unit variance
    for unit white noise; polynomials of degree 2 do not enter): the low end of a
    ``mad-haar`` level's interval (:func:`search_noise`)."""
    d = np.diff(u2, 3, axis=0) / math.sqrt(20.0)
    return np.median(np.abs(d), axis=0) / MAD_FACTOR


if __name__ == "__main__":  # python -m resdenoise.noise --table: rewrite CALIBRATION_TABLE
    import sys

    if sys.argv[1:] != ["--table"]:
        sys.exit("usage: python -m resdenoise.noise --table")
    print(f"{write_table()} calibrations written to {CALIBRATION_TABLE}")
