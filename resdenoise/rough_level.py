"""The checks of :func:`resdenoise.noise.search_noise`'s level where a rough signal's own
content reads as noise: the variogram's nugget, the lag-one covariance of differences, the
spectral floor, the quadratic extrapolation to lag 0 and short random walks.  NumPy only.
"""

from __future__ import annotations

import numpy as np

from .noise_level import (
    _ROUGH,
    FLOOR,
    LAG_ONE,
    NUGGET,
    UNIDENTIFIED,
    NoiseLevel,
    _margin,
    _named_level,
)
from .nugget import MIN_SAMPLES, Z, quadratic_noise, short_lag_one
from .quiet_windows import column_energies, sounding, window_for
from .spectral_floor import spectral_floor

#: Fewest samples with an interval (the variogram's nugget reads them: it can bound it).
NUGGET_SAMPLES = MIN_SAMPLES


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


#: quiet-windows must exceed the nugget's upper bound by this many of its own standard
#: deviations to be lowered (on white noise it fires in 0 of 200 seeds, n = 200-4096; with
#: 2 it lowered co2 at 30 % noise from 0.93x to 0.82x of the level, -2.9 dB).
NUGGET_Z = 4.0


#: A nugget of at least this many standard errors identifies the level.
NUGGET_T = 2.0


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
    noise, and no estimator here tells the noise's level; its low end is the estimate
    (:func:`unread_low`).

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
    low = np.where(unread, np.minimum(low, unread_low(one.variance, sigma)), low)
    return np.where(act, upper, sigma), np.where(act, np.minimum(point, low), low)


def unread_low(reading, sigma) -> np.ndarray:
    """The low end of a level ``sigma`` named :data:`UNIDENTIFIED` because a reading of the
    noise variance (the lag-one covariance of first differences, ``reading``) disagrees with
    it: ``sqrt(max(reading, 0))``, at most ``sigma`` (NaN: ``sigma``, no reading).

    Before, such a level's low end was the level's own (or its order extrapolation's): the
    interval did not reach down to the reading that contradicted it, and a test at the low
    end asked nothing of the rule that disagreed (branch pink22: a 150-sample random walk
    in 5 % white noise, read 4.1x, passed the white SURE at the level and at its "low end",
    the level itself, and lost 10.0 dB).  The reading, not its lower bound: where the
    reading is right (a walk's noise) a choice made at the level smooths the steps away
    and SURE at the reading says so; where the level is right, the reading lies within its
    error of zero, and a choice must gain there as well."""
    with np.errstate(invalid="ignore"):  # a short channel: NaN, no reading
        root = np.sqrt(np.maximum(reading, 0.0))
    return np.where(np.isfinite(root), np.minimum(root, sigma), sigma)


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
    (how: :func:`resdenoise.nugget.short_lag_one`; measured: :mod:`resdenoise.harm`).  Its
    low end reaches down to the lag-one reading (:func:`unread_low`)."""
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
    base = level.sigma if level.low is None else level.low
    low = np.where(unread, np.minimum(base, unread_low(one.variance, level.sigma)), base)
    return _named_level(level.sigma, names, low, level.white)


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
