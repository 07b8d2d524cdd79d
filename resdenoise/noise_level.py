"""A noise level per channel and how it was read (:class:`NoiseLevel`), the names of the
checks that can change it, and the share of a channel's variance it takes
(:func:`share_bound`).  NumPy only.

The estimators are :mod:`resdenoise.noise`'s; the checks of a rough signal's level
:mod:`resdenoise.rough_level`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .nugget import Z


@dataclass(frozen=True)
class NoiseLevel:
    """A noise level per channel and where it came from: ``"given"`` or the
    estimator that measured it (see :func:`resolve_sigma`)."""

    sigma: np.ndarray
    estimator: str
    #: The estimator of each channel (empty: ``estimator`` for all).
    estimators: tuple[str, ...] = ()
    #: The low end of the level's interval per channel (:func:`resdenoise.noise.search_noise`), or None
    #: where the level is a point (given, or a signal too short to check); where the level
    #: is :data:`UNIDENTIFIED`, at most the reading that disagreed with it
    #: (:func:`resdenoise.rough_level.unread_low`).
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
        """The level of channels ``keep`` (indices, in order) alone, as :func:`resdenoise.noise.search_noise`
        names a level of those channels (one estimator, or the summary and each's)."""
        keep = list(keep)
        names = self.per_channel()
        low, white = (None if a is None else np.asarray(a)[keep] for a in (self.low, self.white))
        return _named_level(np.asarray(self.sigma)[keep], [names[c] for c in keep], low, white)

    def per_channel(self) -> list[str]:
        """The estimator of each channel."""
        return list(self.estimators) or [self.estimator] * int(np.size(self.sigma))

    def white_by_nugget(self) -> bool:
        """Whether the variogram's nugget set a channel's level (:func:`resdenoise.noise.search_noise`):
        the noise is then taken as white at every scale (a rough signal's coarse content
        makes the levels rise like coloured noise's over a level read that low)."""
        return bool({*_ROUGH, FLOOR} & set(self.per_channel()))


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


#: The estimator's name when the check corrected a channel.
EXTRAPOLATED = "quiet-windows, extrapolated over difference orders 3 and 8"


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


def _named_level(sigma, names: list[str], low, white) -> NoiseLevel:
    """The level of channels whose estimators are ``names``: named by their one estimator,
    or, where a check changed some, by the first such check and each channel's."""
    summary = next(
        (e for e in (UNIDENTIFIED, NUGGET, LAG_ONE, FLOOR, EXTRAPOLATED) if e in names), None
    )
    if summary is None:
        return NoiseLevel(sigma, names[0], low=low, white=white)
    return NoiseLevel(sigma, summary, tuple(names), low, white)


#: Relative standard deviation x sqrt(n) of quiet-windows on white noise (module docstring).
QUIET_SPREAD = 1.7


#: The estimator's name when the variogram's nugget lowered a channel's level.
NUGGET = "variogram nugget (quiet-windows read a rough signal as noise)"


#: The estimator's name when the variogram contradicts quiet-windows but its nugget does
#: not identify the level either: the automatic searches do nothing (do no harm).
UNIDENTIFIED = (
    "not identified (a rough signal: quiet-windows above the variogram's nugget or lag-one "
    "bound, itself uncertain, or the lag-one covariance within its error of zero)"
)


#: The estimator's name when the lag-one covariance of differences lowered a channel's level.
LAG_ONE = "lag-one covariance of differences (quiet-windows read a rough signal as noise)"


#: The names a roughness check gives a channel's level (the spectral floor's aside).
_ROUGH = (NUGGET, LAG_ONE, UNIDENTIFIED)


#: The estimator's name when the spectral floor lowered a channel's level.
FLOOR = "spectral floor (quiet-windows read a dense rough part as noise)"
