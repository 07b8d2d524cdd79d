"""The noise level as the nugget of the variogram, for rough signals.  NumPy only.

For ``x = s + n`` with ``n`` white of variance ``sigma^2``, the variogram

.. math::

    V(h) = \\tfrac12 E[(x_{t+h} - x_t)^2] = \\sigma^2 + g(h),
    \\qquad g(h) = \\gamma_s(0) - \\gamma_s(h),\\ g(0) = 0,

jumps at ``h = 0`` by ``sigma^2`` (the "nugget").  Differences of any order
see the signal's part ``g`` too: for a rough signal (a random walk, an AR(1)
process, a series with a rough component) ``g(h)`` grows linearly from
``h = 0``, and the third differences of ``quiet-windows``
(:mod:`resdenoise.noise`) read ``0.6 g(1)`` of it as noise (AR(1) with
``phi = 0.9`` and white noise of 5 % of its std: 5x the true level).  The
nugget is read here by fitting

.. math::

    V(h) = \\sigma^2 + c\\,\\frac{1 - \\rho^h}{1 - \\rho},\\quad h = 1 \\dots
    \\text{LAGS},\\ c \\ge 0,\\ 0 < \\rho \\le 1

(``rho = 1``: ``c h``, a random walk or a jump; AR(1) plus white noise
exactly) by least squares over a grid of ``rho``; its intercept is the
nugget.  The fit's standard error comes from the spread of the same
intercept over :data:`BLOCKS` consecutive blocks, and its misfit is the
root mean square of the residuals in units of the blocks' standard error of
each ``V(h)``.  The model does not hold for a smooth or oscillating signal
(``g`` convex near 0, a sum of tones): there the fit is poor or its nugget
is negative, and :func:`resdenoise.noise.search_noise` does not use it.

Measured (the fit alone, white noise of 2-30 % of the signal's std, seeds
100 and 101): within 20 % of the true level on AR(1) ``phi = 0.9`` at 10-30 %
and ``phi = 0.99`` at 5-30 %, a seasonal series with a rough part at 5-30 %,
random walks of 1024 samples at 5-30 % and of 4096 at 2-30 %,
piecewise-constant traces; at 2-5 % on AR(1) and on short walks its
standard error is as large as the level (the signal's own increments have
10-100x the noise's variance) and it is not used alone (see
:func:`resdenoise.noise.search_noise`).  ``benchmarks/bench_nugget.py``
measures the search's level and its output.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BLOCKS",
    "LAGS",
    "MIN_SAMPLES",
    "LagOne",
    "ShortLag",
    "Nugget",
    "lag_one_noise",
    "nugget_noise",
    "quadratic_noise",
    "short_lag_one",
    "variograms",
]

#: Lags of the variogram fitted (1 ... LAGS).
LAGS = 6
#: Consecutive blocks whose spread gives the standard errors.
BLOCKS = 8
#: Shortest signal read (blocks of at least 4 * LAGS samples).
MIN_SAMPLES = 4 * LAGS * BLOCKS
#: The grid of rho: 1 - geomspace(0.9, 1e-3) and the random walk's rho = 1.
RHOS = np.concatenate([1.0 - np.geomspace(0.9, 1e-3, 48), [1.0]])
#: Standard errors above the nugget of :attr:`Nugget.upper`.
Z = 2.0


@dataclass(frozen=True)
class _Estimate:
    """A noise variance per channel and its standard error."""

    variance: np.ndarray
    standard_error: np.ndarray

    @property
    def upper(self) -> np.ndarray:
        """``max(variance, 0) + Z * standard_error``: an upper bound of ``sigma^2``."""
        return np.maximum(self.variance, 0.0) + Z * self.standard_error


@dataclass(frozen=True)
class Nugget(_Estimate):
    """The variogram's nugget per channel (see the module docstring).

    ``variance``: the fitted intercept (an estimate of ``sigma^2``; it may
    be negative where the model does not hold); ``standard_error``: its
    standard error over :data:`BLOCKS` blocks; ``misfit``: the residuals'
    root mean square in standard errors of ``V(h)`` (about 1 or less where
    the model holds).  All shaped ``(channels,)``; NaN for a channel too
    short (under :data:`MIN_SAMPLES` samples).
    """

    misfit: np.ndarray


def variograms(u2: np.ndarray, lags: int = LAGS, blocks: int = BLOCKS) -> np.ndarray:
    """``V(h)``, ``h = 1 ... lags``, of each of ``blocks`` consecutive blocks of each column
    of ``u2`` (shape ``(n, channels)``): shape ``(blocks, lags, channels)``, each the mean
    of ``(x_{t+h} - x_t)^2 / 2`` over the pairs inside the block."""
    bounds = np.linspace(0, u2.shape[0], blocks + 1).astype(int)
    out = np.empty((blocks, lags, u2.shape[1]))
    for b in range(blocks):
        x = u2[bounds[b] : bounds[b + 1]]
        for h in range(1, lags + 1):
            d = x[h:] - x[:-h]
            out[b, h - 1] = np.einsum("ij,ij->j", d, d) / (2.0 * d.shape[0])
    return out


def _basis(rho: float, lags: int) -> np.ndarray:
    h = np.arange(1, lags + 1, dtype=float)
    return h if rho == 1.0 else (1.0 - rho**h) / (1.0 - rho)


@functools.cache
def _fits() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per rho of :data:`RHOS`: the design ``a`` (intercept, basis) and its pseudo-inverse
    (the least-squares coefficients' weights), the same for every signal: made once."""
    designs = [np.column_stack([np.ones(LAGS), _basis(rho, LAGS)]) for rho in RHOS]
    return tuple((a, np.linalg.pinv(a)) for a in designs)


def _columns(u, fields: int) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
    """``(u2, short)``: ``u`` as float64 columns ``(n, channels)``, and for a signal too
    short to read (under :data:`MIN_SAMPLES` samples) ``fields`` arrays of NaN per channel
    (else None)."""
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    if u2.shape[0] >= MIN_SAMPLES:
        return u2, None
    return u2, tuple(np.full(u2.shape[1], np.nan) for _ in range(fields))


def nugget_noise(u) -> Nugget:
    """The variogram's nugget of each channel of ``u`` (shape ``(n,)`` or ``(n, channels)``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> walk = np.cumsum(rng.standard_normal(8192))
    >>> nug = nugget_noise(walk + rng.normal(0.0, 0.5, 8192))
    >>> bool(abs(math.sqrt(nug.variance[0]) - 0.5) < 0.1)
    True
    """
    u2, short = _columns(u, 3)
    if short is not None:
        return Nugget(*short)
    channels = u2.shape[1]
    vb = variograms(u2)  # (blocks, lags, channels)
    v = vb.mean(axis=0)  # blocks of (nearly) equal size: the whole signal's V(h)
    with np.errstate(invalid="ignore"):
        v_se = vb.std(axis=0, ddof=1) / math.sqrt(BLOCKS)
    best = np.full(channels, np.inf)
    weights = np.zeros((channels, LAGS))
    fitted = np.zeros((LAGS, channels))
    for a, p in _fits():  # p (2, lags): the least-squares coefficients' weights
        coef = p @ v
        fit = a @ coef
        resid = np.sum((fit - v) ** 2, axis=0)
        better = (coef[1] >= 0.0) & (resid < best)
        best = np.where(better, resid, best)
        weights[better] = p[0]
        fitted[:, better] = fit[:, better]
    variance = np.einsum("cl,lc->c", weights, v)
    per_block = np.einsum("cl,blc->bc", weights, vb)
    se = per_block.std(axis=0, ddof=1) / math.sqrt(BLOCKS)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant channel: no misfit
        z = np.where(v_se > 0, (fitted - v) / np.where(v_se > 0, v_se, 1.0), 0.0)
    misfit = np.sqrt(np.mean(z**2, axis=0))
    none = ~np.isfinite(best)  # no fit with c >= 0 (V falls with the lag): not this model
    misfit = np.where(none, np.inf, misfit)
    return Nugget(variance, se, misfit)


#: Products per batch of :func:`lag_one_noise` (at most :data:`LAG_ONE_BATCHES` batches).
LAG_ONE_BATCH = 16
#: Most batches of :func:`lag_one_noise`.
LAG_ONE_BATCHES = 32
#: The standard error of a median of many batch means over that of their mean (normal).
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2.0)
#: A normal's standard deviation over its median absolute deviation.
MAD_NORMAL = 1.4826


@dataclass(frozen=True)
class LagOne(_Estimate):
    """The noise variance read from the lag-one covariance of first differences, per
    channel (:func:`lag_one_noise`): ``variance`` (may be negative where the signal is
    smooth or oscillating), its ``standard_error`` and ``robust_error``; NaN for a channel too short
    (under :data:`MIN_SAMPLES` samples)."""

    #: The standard error from the batch means' median absolute deviation (times 1.4826,
    #: a normal's): a few batches of convex content (a chirp's fast start) do not
    #: inflate it, while a random walk's batches spread alike.
    robust_error: np.ndarray


def lag_one_noise(u) -> LagOne:
    """``-cov(d_t, d_{t+1})`` of the first differences ``d`` of each channel of ``u``
    (shape ``(n,)`` or ``(n, channels)``), as the median of batch means, and its standard
    error.

    For ``x = s + n`` with ``n`` white of variance ``sigma^2`` the first differences'
    lag-one covariance is ``-sigma^2 + (g(2) - 2 g(1))`` (``g`` the signal's part of the
    variogram, as above): exactly ``-sigma^2`` for a random walk (its increments are
    white), above it for a concave ``g`` (AR(1)), below it for a convex one (smooth or
    oscillating content).  It is the intercept of the variogram through its first two
    lags, ``2 V(1) - V(2)``, and far less noisy on a short random walk than the fit over
    :data:`LAGS` lags (256 samples at 5-10 % white noise: standard error 0.2-0.9 of
    ``sigma^2`` against 0.3-5.6).  The products ``-d_t d_{t+1}`` are averaged in
    consecutive batches of :data:`LAG_ONE_BATCH` (at most :data:`LAG_ONE_BATCHES`) and the
    median of the batch means is taken: a convex stretch (the fast start of a chirp) moves
    a few batches, not the estimate; the standard error is that of the batch means times
    :data:`MEDIAN_EFFICIENCY`.

    Examples
    --------
    A random walk in white noise of variance 0.25, and white noise alone:

    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.cumsum(rng.standard_normal(4096)), np.zeros(4096)])
    >>> one = lag_one_noise(x + rng.normal(0.0, 0.5, (4096, 2)))
    >>> bool(np.all(abs(one.variance - 0.25) < 3 * one.standard_error))
    True
    """
    u2, short = _columns(u, 3)
    if short is not None:
        return LagOne(*short)
    d = np.diff(u2, axis=0)
    products = -(d[1:] * d[:-1])
    k = max(2, min(LAG_ONE_BATCHES, products.shape[0] // LAG_ONE_BATCH))
    means = np.stack([b.mean(axis=0) for b in np.array_split(products, k)])
    median = np.median(means, axis=0)
    scale = MEDIAN_EFFICIENCY / math.sqrt(k)
    mad = MAD_NORMAL * np.median(np.abs(means - median), axis=0)
    return LagOne(median, scale * means.std(axis=0, ddof=1), scale * mad)


#: Lags of :func:`quadratic_noise`'s variogram (its polynomial's degree + 1).
QUADRATIC_LAGS = 3
#: Fewest samples :func:`quadratic_noise` reads (NaN below).
QUADRATIC_SAMPLES = 16


def quadratic_noise(u) -> _Estimate:
    """The variogram extrapolated to lag 0 by the parabola through its first three lags,
    ``3 V(1) - 3 V(2) + V(3)``, per channel of ``u`` (shape ``(n,)`` or ``(n, channels)``),
    and its standard error; NaN for a channel under :data:`QUADRATIC_SAMPLES` samples.

    Exact (``sigma^2``, as above) wherever the signal's part of the variogram ``g`` is a
    polynomial of degree 2 or less in the lag near 0: a random walk and a jump (linear),
    a trend or a slow oscillation (quadratic); above ``sigma^2`` where ``g`` is concave
    (AR(1)), below it where the signal oscillates within a few samples (a cycle of
    period ``P`` puts ``-4 A^2 sin^3(pi/P) sin(3 pi/P)`` into it: an amplitude ``A``
    cycle of 10 samples about ``-0.1 A^2``).  It is the mean of the terms
    ``(3 d_1^2 - 3 d_2^2 + d_3^2) / 2`` (``d_h = x_{t+h} - x_t``, over the ``n - 3``
    common ``t``), which are 3-dependent for a random walk in white noise: the standard
    error is from their autocovariances up to lag 3 (at least a quarter of the
    variance's, so that it is never read 0), about ``4.5 sigma^2 / sqrt(n)`` on white
    noise alone (0.46 ``sigma^2`` at 100 samples).  Measured over 2000 seeds each (white
    noise alone and a walk of twice its level, 55-300 samples): means 0.93-1.05 (unbiased in
    expectation), the truth above the estimate + 2 standard errors in 3-4 % of seeds on
    the walk and 6-11 % on white noise alone (a low estimate comes with a low standard
    error), below the estimate - 2 standard errors in 0.4-1.6 %.

    Examples
    --------
    A slow sine on a trend in white noise of variance 0.01:

    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(1000.0)
    >>> q = quadratic_noise(np.sin(t / 15.0) + 0.01 * t + rng.normal(0.0, 0.1, 1000))
    >>> bool(abs(q.variance[0] - 0.01) < 2 * q.standard_error[0])
    True
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    n, k = u2.shape[0], QUADRATIC_LAGS
    if n < QUADRATIC_SAMPLES:
        return _Estimate(*(np.full(u2.shape[1], np.nan) for _ in range(2)))
    m = n - k
    terms = np.zeros((m, u2.shape[1]))
    for h, c in zip(range(1, k + 1), (3.0, -3.0, 1.0), strict=True):
        d = u2[h : h + m] - u2[:m]
        terms += 0.5 * c * d * d
    mean = terms.mean(axis=0)
    dev = terms - mean
    acov = [np.einsum("ij,ij->j", dev[: m - j], dev[j:]) / m for j in range(k + 1)]
    var = np.maximum(acov[0] + 2.0 * sum(acov[1:]), acov[0] / 4.0)
    return _Estimate(mean, np.sqrt(var / m))


#: Lags of the differences' autocovariances :func:`short_lag_one` sums beyond lag one (2 ...).
SHORT_LAGS = 4


@dataclass(frozen=True)
class ShortLag(_Estimate):
    """The lag-one covariance of a short series' centred first differences read as the
    noise variance (:func:`short_lag_one`): ``variance`` (``-cov(d_t, d_{t+1})``), its
    Bartlett ``standard_error``; ``beyond``, the sum of their autocovariances at lags 2 to
    :data:`SHORT_LAGS` over its Bartlett standard error (about N(0, 1) where the increments
    are white beyond lag one, as a random walk's in white noise); ``kurtosis``, the
    differences' fourth moment over their squared second (3 for Gaussian increments).  All
    shaped ``(channels,)``, NaN for a channel under :data:`QUADRATIC_SAMPLES` samples."""

    beyond: np.ndarray
    kurtosis: np.ndarray


def short_lag_one(u) -> ShortLag:
    """:class:`ShortLag` of each channel of ``u`` (shape ``(n,)`` or ``(n, channels)``): the
    reading of a series too short for :func:`lag_one_noise`'s batches (under
    :data:`MIN_SAMPLES`), as :func:`resdenoise.noise._short_rough` asks it.

    For a random walk in white noise of variance ``sigma^2`` the first differences are
    MA(1): autocovariances ``g0 = s^2 + 2 sigma^2``, ``g1 = -sigma^2``, 0 beyond, so the
    negated lag-one covariance reads ``sigma^2`` with Bartlett's variance
    ``(g0^2 + 3 g1^2) / m`` (``m`` differences), and the sum of lags 2 to ``K`` is 0 with
    variance ``((K - 1)(g0^2 + 2 g1^2) + 4 (K - 2) g0 g1 + 2 (K - 3) g1^2) / m`` (the
    sample autocovariances plugged in; at least ``g0^2 / 4m``).  A smooth or oscillating
    series has increments correlated over several lags (the sum is large, the lag-one
    reading below the noise: convex), a piecewise-constant one a few large increments (a
    kurtosis of about ``n`` over the number of steps).

    Examples
    --------
    A walk of 150 unit steps with white noise of variance 0.01: the noise is within the
    reading's error of 0 (z = 0.01 / 0.08):

    >>> rng = np.random.default_rng(0)
    >>> one = short_lag_one(np.cumsum(rng.standard_normal(150)) + rng.normal(0.0, 0.1, 150))
    >>> bool(abs(one.variance[0]) < 2 * one.standard_error[0] and abs(one.beyond[0]) < 2)
    True
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    if u2.shape[0] < QUADRATIC_SAMPLES:
        return ShortLag(*(np.full(u2.shape[1], np.nan) for _ in range(4)))
    d = np.diff(u2, axis=0)
    d = d - d.mean(axis=0)
    m, k = d.shape[0], SHORT_LAGS
    g = [np.einsum("ij,ij->j", d[: m - j], d[j:]) / m for j in range(k + 1)]
    g0, g1 = g[0], g[1]
    var = (k - 1) * (g0**2 + 2 * g1**2) + 4 * (k - 2) * g0 * g1 + 2 * (k - 3) * g1**2
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant channel: NaN
        beyond = sum(g[2:]) / np.sqrt(np.maximum(var, g0**2 / 4) / m)
        kurtosis = np.mean(d**4, axis=0) / g0**2
    return ShortLag(-g1, np.sqrt((g0**2 + 3.0 * g1**2) / m), beyond, kurtosis)
