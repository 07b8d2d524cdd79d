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
    automatic searches' level is an interval whose low end is the MAD of the normalised
    third differences (:func:`third_difference_noise`): on so few samples the finest
    Haar details of a smooth signal's own content fill most of them (three periods of a
    sine and a step in 50 samples at 5-10 % white noise: mad-haar 3-8x the true level,
    third differences 1.1-1.3x), and a choice must gain at the low end too
    (:func:`resdenoise.automatic.do_no_harm`).
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
(:func:`_checked_by_floor`).  Under :data:`NUGGET_SAMPLES` samples the level's interval
reaches down to the variogram's quadratic extrapolation to lag 0 plus 2 standard errors
(:func:`_low_by_quadratic`): a short series whose content changes within a few samples (lynx,
air passengers) reads as noise in differences of every order, and far below it there; one
read as a random walk whose lag-one reading is within its error of 0 is not identified
(:func:`_short_rough`).  Beside digital silence see :func:`_clean_beside_silence`.
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
from dataclasses import dataclass, replace

import numpy as np

from .errors import ParameterError
from .nugget import MIN_SAMPLES, Z, lag_one_noise, nugget_noise, quadratic_noise, short_lag_one
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
from .scaling import level_shift
from .spectral_floor import spectral_floor
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
    67 samples (``mad-haar``, no window to check orders in) the low end is
    :func:`third_difference_noise` where that is lower.  Under
    :data:`NUGGET_SAMPLES` samples (no
    nugget to bound it) the order extrapolation sets no low end: the ratio's own noise
    (``RATIO_SPREAD / sqrt(n)``, 0.13 at 160 samples) put the low end of a
    piecewise-constant trace at 0.73x the true level, and the search kept
    the input where smoothing cut the MSE 10x; there the low end is at most the
    variogram's quadratic extrapolation's upper bound (:func:`_low_by_quadratic`).  The searches choose with the level and
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
    if name != "quiet-windows":  # too short for windows: mad-haar, with its interval's
        # low end by third differences where there are any (a point below 4 samples)
        low = np.minimum(third_difference_noise(u2), plain) if n >= 4 else None
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


#: The estimator's name of a clean channel beside digital silence (:func:`_clean_beside_silence`).
CLEAN_SILENCE = "clean (digital silence; third differences 8x the eighth: content, not noise)"


def _merged(parts: dict, count: int) -> NoiseLevel:
    """One level of ``count`` channels from the levels ``parts`` of some of them
    (``{channels: level}``, each channel in one)."""
    sigma, low, white = np.empty(count), np.empty(count), np.zeros(count)
    names = [""] * count
    has_low = has_white = False
    for channels, level in parts.items():
        idx = list(channels)
        sigma[idx] = level.sigma
        low[idx] = level.sigma if level.low is None else level.low
        has_low |= level.low is not None
        if level.white is not None:
            white[idx], has_white = level.white, True
        for c, e in zip(idx, level.per_channel(), strict=True):
            names[c] = e
    return _named_level(sigma, names, low if has_low else None, white if has_white else None)


def third_difference_noise(u2: np.ndarray) -> np.ndarray:
    """``median |d| / 0.6745`` per channel of ``u2`` (rows x channels, 4 rows or more)
    over the normalised third differences ``d`` (``quiet-windows``' own: unit variance
    for unit white noise; polynomials of degree 2 do not enter): the low end of a
    ``mad-haar`` level's interval (:func:`search_noise`)."""
    d = np.diff(u2, 3, axis=0) / math.sqrt(20.0)
    return np.median(np.abs(d), axis=0) / MAD_FACTOR


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


def _checked_by_lag_one(u2, sigma, names, low, nug, dense, lag):
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
    (:func:`resdenoise.nugget.nugget_noise`); ``lag()``: the lag-one estimate of ``u2``.
    """
    free = np.array([x not in _ROUGH for x in names])  # none can be LAG_ONE yet
    with np.errstate(invalid="ignore"):  # a short signal: NaN, never used
        fits = free & (nug.misfit <= NUGGET_MISFIT)
    if not fits.any():  # no channel it could act on: not read (a pass over the signal)
        return sigma, low
    one = lag()
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


#: The level's variance must exceed the lag-one covariance of first differences by this many
#: of that estimate's standard errors for the estimate to be the level's low end
#: (:func:`_low_by_lag_one`).
DOUBT_Z = 1.0


def _low_by_lag_one(u2, sigma, names, low, nug, lag):
    """``low`` lowered to ``sqrt(max(L, 0))`` on each
    channel whose level's variance exceeds the lag-one covariance of its first
    differences, ``L``, by more than :data:`DOUBT_Z` of its standard errors, where ``L``
    is not below zero by more than :data:`LAG_ONE_CONVEX` of them (convex content: no
    reading of the noise) and the channel's level is identified (not
    :data:`UNIDENTIFIED`: the input is kept there anyway); ``low`` itself where none is.  ``L``: the median of batch means
    (:func:`resdenoise.nugget.lag_one_noise`, robust to a few convex stretches), where
    the variogram fits a rough signal (misfit at most :data:`NUGGET_MISFIT`, as
    :func:`_checked_by_lag_one` asks); from :data:`resdenoise.nugget.MIN_SAMPLES` samples
    only.  Below that (no variogram to fit, too few batches for a median) the plain
    mean of the products with Bartlett's standard error was tried: on the short fresh
    series it fixed 8 cases 0.1-8.9 dB below the input (danish money and income, the
    German interest rate, wool production at 5-10 % noise) but read a smooth short
    series' curvature as a low noise (a sine and a step of 60 samples in 30 % noise kept
    as the input, where it gained; Australian residents at 5 % +8.7 dB -> the input),
    and is not used.

    The lag-one covariance reads the noise variance exactly where the signal's increments
    are white (a random walk), above it where the signal is concave (AR-like), below it
    where convex (smooth or oscillating).  Where the level reads more by a standard error,
    either may be right (quiet-windows reading a rough signal's increments, or the lag-one
    a smooth signal's curvature), and the level's interval reaches down to the lag-one's
    reading: a choice must gain there too (:func:`resdenoise.automatic.do_no_harm`; the
    coloured ranking's white confirmation, :func:`resdenoise.automatic._confirmed`).  The
    reading itself, not its lower bound at 2 standard errors: a low end 15 % under the
    truth already fails a choice that smooths the noise away (SURE at ``0.85 sigma`` of
    an output that removes noise of ``sigma`` says harm), and the bound cost more than it
    saved (measured on the cases whose level or low end this moved, ``bench_harm``'s,
    ``bench_fresh``'s, ``bench_nugget``'s and 16 walks of 300 and 1000 samples: below the
    input 11 -> 2 with the reading, 9 -> 0 with the reading less one standard error, but
    78 dB of gains lost against 17 dB won).

    A random walk of 300 samples in white noise 0.5 (unit increments): quiet-windows reads
    1.51x the level on average, with difference orders 3 and 8 agreeing and the
    variogram's nugget as uncertain as the level; the lag-one cap
    (:func:`_checked_by_lag_one`) held it on 7 of 16 seeds (its bound, the estimate plus 2
    standard errors, is 1.37x the true level there, times the margin 1.10); on the others
    the low end stayed at 1.0-1.4x the true level and 3 of 16 came out 0.5-2.4 dB below
    the input.  ``L``'s standard error at 300 samples is 0.36 ``sigma^2`` (the mean's;
    the median's 0.40): the level of such a walk is not known to better than 18 % at one
    standard error, and the most any filter can gain there is 1.5 dB (the local-level
    model's Kalman smoother).  ``nug``: the variogram's nugget of ``u2``, read already;
    ``lag()`` its lag-one estimate (read once for this and :func:`_checked_by_lag_one`).
    """
    if u2.shape[0] < MIN_SAMPLES:
        return low
    with np.errstate(invalid="ignore"):
        fits = nug.misfit <= NUGGET_MISFIT
    if not fits.any():  # no channel it could act on: not read (a pass over the signal)
        return low
    one = lag()
    with np.errstate(invalid="ignore"):  # too short a channel: NaN, never read
        doubt = fits & (one.variance >= -LAG_ONE_CONVEX * one.standard_error)
        doubt &= np.square(sigma) - one.variance > DOUBT_Z * one.standard_error
    doubt &= np.array([x != UNIDENTIFIED for x in names])
    if not doubt.any():
        return low
    reading = np.sqrt(np.maximum(np.where(doubt, one.variance, 0.0), 0.0))
    return np.where(doubt, np.minimum(low, reading), low)


#: Most kurtosis of a short series' first differences read as a random walk's
#: (:func:`_short_rough`; Gaussian increments: 3, a few steps: about ``n`` over their count).
SHORT_KURTOSIS = 6.0
#: Most z of the differences' autocovariances beyond lag one of a short series read as a
#: random walk's (:func:`resdenoise.nugget.short_lag_one`'s ``beyond``).
SHORT_BEYOND = 1.5


def _short_rough(u2, level: NoiseLevel, nugget: bool = True) -> NoiseLevel:
    """``level`` with each channel of a series under :data:`NUGGET_SAMPLES` samples that
    reads as a random walk in white noise, whose noise the lag-one covariance of its
    differences does not tell from 0 while the level reads more, named
    :data:`UNIDENTIFIED` (the searches keep the input): the walk's own steps read as noise
    (how: :func:`resdenoise.nugget.short_lag_one`; measured: :mod:`resdenoise.harm`)."""
    n = u2.shape[0]
    if not nugget or n >= NUGGET_SAMPLES:  # (under 16 samples NaN: never unread)
        return level
    one = short_lag_one(u2)
    se = one.standard_error
    with np.errstate(invalid="ignore"):  # a constant channel: NaN, never unread
        walk = (one.variance >= -LAG_ONE_CONVEX * se) & (np.abs(one.beyond) < SHORT_BEYOND)
        unread = walk & (one.kurtosis <= SHORT_KURTOSIS) & (one.variance < NUGGET_T * se)
        unread &= np.square(level.sigma) - one.variance > DOUBT_Z * se
    if not unread.any():
        return level
    names = [UNIDENTIFIED if x else e for x, e in zip(unread, level.per_channel(), strict=True)]
    return _named_level(level.sigma, names, level.low, level.white)


#: Standard errors above the variogram's quadratic extrapolation to lag 0 at which the
#: level's low end is at most (:func:`_low_by_quadratic`).
QUAD_Z = Z


def _low_by_quadratic(u2, sigma, low, nugget: bool = True):
    """``low`` (None: the level ``sigma`` is a point) lowered to at most the square root
    of the variogram's quadratic extrapolation to lag 0 plus :data:`QUAD_Z` of its
    standard errors (:func:`resdenoise.nugget.quadratic_noise`, never below 0), on each
    channel where that bound is below it; ``low`` itself where none is (or ``nugget`` is
    False: the plain checks' level, for the tests that compare with it).

    Why: a short series whose own content changes within a few samples (a cycle of
    10-12 samples, lynx or air passengers; a heart rate) leaks into the differences of
    every order as white noise would, and the level read 1.5-3.4x the true one with no
    interval below it (under :data:`NUGGET_SAMPLES` samples no nugget bounds it): the
    searches smoothed the series' own content away, 1-9 dB below the input.  The
    quadratic extrapolation is exact for a random walk, a jump, a trend and a slow
    oscillation, and reads such fast cycles below the noise (strongly negative): its
    upper bound is where an honest interval of the level reaches down to, and a
    choice must gain there too (:func:`resdenoise.automatic.do_no_harm`, the coloured
    ranking's white confirmation).  Its upper bound rather than the reading: where the
    reading is right, the bound is above the true level in 89-97 % of draws, so that only
    levels read above it move, and a low end under the truth costs the gains of
    correctly read levels (:func:`_low_by_lag_one`).
    """
    if not nugget or u2.shape[0] >= NUGGET_SAMPLES:
        return low
    q = quadratic_noise(u2)
    with np.errstate(invalid="ignore"):  # too short a channel: NaN, no bound
        bound = np.sqrt(np.maximum(q.variance + QUAD_Z * q.standard_error, 0.0))
    bound = np.where(np.isfinite(bound), bound, np.inf)
    base = sigma if low is None else low
    if not np.any(bound < base):
        return low
    return np.minimum(base, bound)


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
        if means is None:  # (digital silence left out, as quiet-windows read them)
            mean = float(np.mean(sounding(column_energies(block, c, length), block, c, length)))
        else:
            mean = float(means[c])
        dense[c] = mean > 0 and plain[c] ** 2 >= DENSE * mean
    return dense


if __name__ == "__main__":  # python -m resdenoise.noise --table: rewrite CALIBRATION_TABLE
    import sys

    if sys.argv[1:] != ["--table"]:
        sys.exit("usage: python -m resdenoise.noise --table")
    print(f"{write_table()} calibrations written to {CALIBRATION_TABLE}")
