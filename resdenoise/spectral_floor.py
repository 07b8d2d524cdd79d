"""The white floor of a signal's spectrum near Nyquist, under a dense rough part.  NumPy only.

For ``x = s + n`` with ``n`` white of variance ``sigma^2`` the spectral
density is ``S_x(w) = S_s(w) + sigma^2``.  A signal whose own content reaches
the finest scales everywhere (an AR(1) or random-walk-like background under
music, a rough measured series) raises ``S_x`` near Nyquist, and every
estimator that reads the finest details (:mod:`resdenoise.noise`) reads it
as noise.  Such a rough part still *falls* toward Nyquist, while white
noise is flat: over the upper half band ``w in [pi/2, pi)`` the model

.. math::

    S_x(\\omega) = \\nu + c\\, g_\\rho(\\omega), \\qquad
    g_\\rho(\\omega) = \\frac{1}{1 + \\rho^2 - 2\\rho\\cos\\omega},
    \\quad c \\ge 0,\\ \\rho \\in [0.5, 1]

(an AR(1) part, ``rho = 1`` a random walk; ``g`` falls by 1.8-4x over the
band) is fitted to a Welch periodogram of the first differences (Hann
window, segments of :data:`SEGMENT` to twice as many samples, the differences' response
divided out) by Whittle's likelihood for the mean of ``K`` periodograms,
``K sum(log S + I / S)``, and profiled over ``nu``: :attr:`Floor.upper` is
the largest ``nu`` whose profile is within ``Z^2 / 2`` of the best (a
likelihood interval of ``Z = 2``).  It is an upper bound of the white floor
that does not need the rough part to be absent at the finest scales: music
over an AR(1) background (8192 samples, white noise of 5 % of the music's
std) where the finest details read 1.5-2.4x the true level gives 0.6-1.3x
(``benchmarks/bench_harm.py``).

The model holds for a *stationary* rough part.  A signal whose fine-scale
content comes and goes (speech, jumps, bumps) breaks it (the floor reads
low where the quiet windows of :func:`resdenoise.quiet_windows.quiet_window_noise`
see the noise alone); :func:`resdenoise.noise.search_noise` uses the floor
only where the fine-scale energy is dense.  A white-like signal (flat near
Nyquist) is not identified by any estimator: there the bound is no lower
than the level.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_SAMPLES", "SEGMENT", "Floor", "spectral_floor"]

#: Welch segment length (shorter signals: one segment of the whole signal).
SEGMENT = 512
#: At most this many segments, spread evenly over a long signal (a bounded cost).
MAX_SEGMENTS = 64
#: Shortest signal fitted (32 ordinates in the upper half band).
MIN_SAMPLES = 129
#: The rough part's AR(1) coefficients: 0.5 ... 1 (a random walk).
RHOS = np.concatenate([np.linspace(0.5, 0.95, 10), 1.0 - np.geomspace(0.04, 1e-3, 6), [1.0]])
#: Points of the profile over ``nu`` in ``[0, top]``.
GRID = 51
#: The band's ordinates are averaged in at most about this many bins (their shapes too):
#: the fit's cost does not grow with the segment.
BINS = 32
#: The likelihood interval's width in standard errors.
Z = 2.0
#: Newton steps for the rough part's scale ``c`` at each ``(nu, rho)``.
NEWTON_STEPS = 20


@dataclass(frozen=True)
class Floor:
    """The spectral floor per channel: ``variance``, the best fit's ``nu`` (an estimate of
    ``sigma^2``, often 0 where the rough part dominates the band); ``lower`` and
    ``upper``, its likelihood interval's ends at :data:`Z` standard errors, and
    ``likely``, the upper end at one (see the module docstring); all at most the ``top``
    they were searched under, NaN for a channel too short (under :data:`MIN_SAMPLES`
    samples) or without a positive ``top``."""

    variance: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    likely: np.ndarray


def segment_length(n: int, segment: int = SEGMENT) -> int:
    """The Welch segments' length for ``n`` samples: the ``n - 1`` differences cut into
    ``max(1, (n - 1) // segment)`` equal segments (``segment`` to ``2 segment - 1`` samples
    each; a shorter signal is one segment), so that no more than a segment is left out."""
    return (n - 1) // max(1, (n - 1) // segment)


def periodogram(x: np.ndarray, segment: int = SEGMENT) -> tuple[np.ndarray, np.ndarray, int]:
    """``(w, I, K)``: the mean Hann-windowed periodogram ``I`` of ``K`` segments of the first
    differences of ``x`` (1D), at the angular frequencies ``w`` of the upper half band
    ``[pi/2, pi)``, divided by the differences' response ``4 sin^2(w/2)``: an estimate of
    ``S_x(w)`` with white noise of variance ``v`` giving ``v``."""
    x = np.asarray(x, dtype=float)
    size = x.size - 1  # of the differences
    length = segment_length(x.size, segment)
    k = size // length
    starts = np.linspace(0, size - length, min(k, MAX_SEGMENTS)).astype(int)
    # the differences of the segments only (at most MAX_SEGMENTS of them), not the signal's
    segs = np.stack([np.subtract(x[s + 1 : s + length + 1], x[s : s + length]) for s in starts])
    segs -= segs.mean(axis=1, keepdims=True)
    w = np.hanning(length + 2)[1:-1]
    spec = np.abs(np.fft.rfft(segs * w, axis=1)) ** 2 / np.sum(w**2)
    band, omega = _band(length)
    return omega, spec.mean(axis=0)[band] / (4.0 * np.sin(omega / 2.0) ** 2), starts.size


@functools.lru_cache(maxsize=8)
def _band(length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mask, w)``: the ordinates of a periodogram of segments of ``length`` in the upper
    half band ``[pi/2, pi)`` (the last below pi left out) and their angular frequencies,
    for :func:`periodogram` and :func:`_shapes` alike (read-only: shared)."""
    omega = 2.0 * np.pi * np.fft.rfftfreq(length)
    band = (omega >= 0.5 * np.pi) & (omega < np.pi * (1.0 - 1.0 / length))
    omega = omega[band]
    band.flags.writeable = omega.flags.writeable = False
    return band, omega


@functools.lru_cache(maxsize=8)
def _taper_inflation(length: int) -> float:
    """``N sum(w^4) / sum(w^2)^2`` of the Hann window: the factor by which tapering
    inflates the variance of a periodogram's average over a band (neighbouring
    ordinates are correlated), 35/18 for long windows; Whittle's criterion of ``K``
    segments counts ``K`` over it."""
    w = np.hanning(length + 2)[1:-1]
    return float(length * np.sum(w**4) / np.sum(w**2) ** 2)


@functools.lru_cache(maxsize=8)
def _shapes(length: int) -> np.ndarray:
    """``g_rho`` of every rho of :data:`RHOS` at the band's frequencies for ``length``,
    each scaled to mean 1: shape ``(rhos, ordinates)``."""
    omega = _band(length)[1]
    g = 1.0 / (1.0 + RHOS[:, None] ** 2 - 2.0 * RHOS[:, None] * np.cos(omega))
    return g / g.mean(axis=1, keepdims=True)


def _profile(spec: np.ndarray, g: np.ndarray, nus: np.ndarray) -> np.ndarray:
    """The Whittle criterion ``sum(log S + I / S)`` minimised over ``c >= 0`` and rho, for
    each ``nu`` of ``nus``: shape ``(nus,)``.  ``c`` by safeguarded Newton steps from the
    moment estimate (the criterion is convex in ``c`` near its minimum), every rho of
    ``g`` (shape ``(rhos, ordinates)``) at once.

    A step is a function of its pair ``(rho, nu)``'s ``c`` alone (elementwise arithmetic and
    a sum along the pair's own row), so once a pair's ``c`` comes back to a value it had
    ``p`` steps before, it repeats those ``p`` values to the end (``p = 1``: it stopped
    moving; rounding makes the last movers cycle through 2-4 values): the pair is not
    stepped again but set to the value of that cycle the last step would leave.  The same
    operations on the same numbers: the criterion of stepping every pair every time, bit
    for bit, for about a third of the work (after 6 of the :data:`NEWTON_STEPS` no pair
    moves on the automatic plans' signals)."""
    rows = g.shape[0] * nus.size
    shape = np.repeat(g, nus.size, axis=0)  # (rhos * nus, ordinates): row rho * nus + nu
    nu = np.tile(nus, g.shape[0])[:, None]
    twice = 2.0 * spec
    c = np.broadcast_to(np.maximum(float(np.mean(spec)) - nus, 0.0), (g.shape[0], nus.size))
    c = (c / np.mean(g, axis=1, keepdims=True)).reshape(rows)
    # the moving pairs' rows, shapes, squared shapes, nu and history of c (each pair's c
    # after each step), gathered again only when some pair stops (not at every step)
    moving, sh, nm = np.arange(rows), shape, nu
    sq = shape**2
    history = np.empty((NEWTON_STEPS + 1, rows))
    history[0] = c
    s, t, q = (np.empty(shape.shape) for _ in range(3))  # scratch for the moving rows
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(NEWTON_STEPS):
            m = moving.size
            if not m:
                break
            was = c[moving]
            # s = nu + c sh; grad = sum(sh (s - spec) / s^2); curv = sum(sh^2 (2 spec - s) / s^3)
            # (the same operations as written so, into scratch: the same numbers)
            s_, t_, q_ = s[:m], t[:m], q[:m]
            np.multiply(was[:, None], sh, out=s_)
            s_ += nm
            np.subtract(s_, spec, out=t_)
            t_ *= sh
            t_ /= np.multiply(s_, s_, out=q_)
            grad = np.add.reduce(t_, axis=1)
            np.subtract(twice, s_, out=t_)
            t_ *= sq
            t_ /= np.power(s_, 3, out=q_)
            curv = np.add.reduce(t_, axis=1)
            step = np.where(curv > 0, grad / np.where(curv > 0, curv, 1.0), 0.0)
            new = np.maximum(was - step, 0.0)
            new = np.where(np.isfinite(new), new, was)
            history[k + 1, :m] = new
            seen = history[: k + 1, :m] == new  # the c of an earlier step again ...
            cycle = seen.any(axis=0)
            if not cycle.any():  # every pair moves on
                c[moving] = new
                continue
            start = k - np.argmax(seen[::-1], axis=0)  # ... the latest: a cycle from there
            last = start + (NEWTON_STEPS - start) % (k + 1 - start)  # where step N leaves it
            c[moving] = np.where(cycle, history[last, np.arange(m)], new)
            go = ~cycle
            moving, sh, sq, nm = moving[go], sh[go], sq[go], nm[go]
            history = history[:, go]
        np.multiply(c[:, None], shape, out=s)
        s += nu
        crit = np.log(s)
        crit += np.divide(spec, s, out=s)
        crit = np.add.reduce(crit, axis=1).reshape(g.shape[0], nus.size)
    return np.min(np.where(np.isfinite(crit), crit, np.inf), axis=0)


def spectral_floor(u, top) -> Floor:
    """The white floor of each channel of ``u`` (shape ``(n,)`` or ``(n, channels)``),
    searched in ``[0, top]`` (``top`` per channel: the level read from the finest
    details, which bounds it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> red = np.zeros(8192)
    >>> for i in range(1, red.size):
    ...     red[i] = 0.9 * red[i - 1] + rng.standard_normal()
    >>> floor = spectral_floor(red + rng.normal(0.0, 1.0, red.size), 1.5)
    >>> bool(0.9 < np.sqrt(floor.variance[0]) < 1.1 <= np.sqrt(floor.upper[0]))
    True
    """
    u2 = np.asarray(u, dtype=float)
    u2 = u2.reshape(u2.shape[0], -1)
    channels = u2.shape[1]
    top = np.broadcast_to(np.asarray(top, dtype=float), (channels,))
    variance, upper = np.full(channels, np.nan), np.full(channels, np.nan)
    lower, likely = np.full(channels, np.nan), np.full(channels, np.nan)
    if u2.shape[0] < MIN_SAMPLES:
        return Floor(variance, upper, lower, likely)
    for ch in range(channels):
        if not top[ch] > 0 or not np.all(np.isfinite(u2[:, ch])):
            continue
        _omega, spec, k = periodogram(u2[:, ch])
        length = segment_length(u2.shape[0])
        b = max(1, spec.size // BINS)  # neighbouring ordinates averaged: b times the dof
        m = spec.size // b * b
        shapes = _shapes(length)[:, :m].reshape(RHOS.size, -1, b).mean(axis=2)
        spec = spec[:m].reshape(-1, b).mean(axis=1)
        nus = top[ch] * np.linspace(0.0, 1.0, GRID)
        crit = k * b / _taper_inflation(length) * _profile(spec, shapes, nus)
        i = int(np.argmin(crit))
        inside = np.flatnonzero(crit - crit[i] <= 0.5 * Z**2)
        variance[ch], upper[ch], lower[ch] = nus[i], nus[inside[-1]], nus[inside[0]]
        likely[ch] = nus[np.flatnonzero(crit - crit[i] <= 0.5)[-1]]
    return Floor(variance, upper, lower, likely)
