"""The Parseval undecimated Haar frame of :mod:`resdenoise.multilevel` on a signal's
2N-periodic mirror (reflecting ends), and SURE split over its levels.

``W_j y = (D+_s P_j y) / 2`` (s = 2^(j-1), j = 1..K; ``P_j`` the box average of s
samples) and the approximation ``W_(K+1) y = P_(K+1) y``: ``sum_j W_j^T W_j = I`` on the
mirror, so that a squared error splits over the levels and each level's SURE takes its
own noise (:func:`frame_sure_terms`; coloured noise, :mod:`resdenoise.automatic`).
NumPy only.
"""

from __future__ import annotations

import numpy as np

from .noise_colour import box_average

__all__ = [
    "frame_coefficients",
    "frame_identity_sure",
    "frame_level",
    "frame_sure_terms",
    "mirrored",
]


def mirrored(u2: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Samples ``first .. stop-1`` of the 2N-periodic mirror ``[u, u reversed, ...]``."""
    n = u2.shape[0]
    k = np.mod(np.arange(first, stop), 2 * n)
    return u2[np.where(k < n, k, 2 * n - 1 - k)]


def frame_coefficients(x, k: int) -> list[np.ndarray]:
    """The Parseval undecimated Haar frame of ``x`` (samples x channels) on its
    2N-periodic mirror: ``W_j y = (D+_s P_j y) / 2`` (s = 2^(j-1), j = 1..k; up to
    sign) and the approximation ``W_(k+1) y = P_(k+1) y`` (box of 2^k), each of
    2N positions.  ``sum_j ||W_j y||^2 = ||y||^2 = 2 ||x||^2``."""
    x2 = np.asarray(x, dtype=float).reshape(np.shape(x)[0], -1)
    out = [frame_level(x2, j) for j in range(1, k + 1)]
    out.append(box_average(mirrored(x2, 0, 2 * x2.shape[0] + 2**k - 1), 2**k))
    return out


def frame_level(x2: np.ndarray, j: int) -> np.ndarray:
    """Level ``j``'s coefficients of :func:`frame_coefficients` (``x2``: samples x
    channels, float), alone: a caller that reads one level at a time holds one."""
    s = 2 ** (j - 1)
    v = box_average(mirrored(x2, 0, 2 * x2.shape[0] + 2 * s - 1), s)  # P_j y at 0 .. 2N+s-1
    return 0.5 * (v[s:] - v[:-s])


def frame_sure_terms(f2, uf, up, b, eps, sigmas) -> np.ndarray:
    r"""Per frame position (2N of them, channels summed), SURE of the output ``uf``
    minus SURE of the input under noise of level ``sigmas[j]`` (per channel, in
    PyWavelets' units, as :func:`level_sigmas`) at level j + 1; the
    approximation band takes the last level's.  ``up``: the output of
    ``f2 + eps b`` (:func:`resdenoise.sure.sure_probe`).  Their sum / (2N)
    is the gain per sample (negative: the output is expected better).

    Why.  The frame is Parseval, so the squared error splits over the levels,
    ``||u - x||^2 = sum_j ||W_j (u - x)||^2``, and each level gets Stein's
    estimate with its own noise: ``||W_j (u - f)||^2 - E||W_j n||^2 +
    2 E<W_j n, W_j u>``.  With the noise white inside each level (variance
    ``sigma_j^2 2^-j`` per coefficient of ``W_j``; ``2^-k`` for the
    approximation), ``E||W_j n||^2 = sigma_j^2 tr(W_j^T W_j)`` and the cross
    term is taken as ``sigma_j^2 E tr(W_j^T W_j J_u)``, estimated by the probe:
    ``sigma_j^2 <W_j b, W_j (up - uf)> / eps``.  For white noise (every
    sigma_j the same) the levels sum to the plain SURE of
    :mod:`resdenoise.autoparams` exactly (``sum W_j^T W_j = I``); for
    coloured noise the cross term neglects the overlap of neighbouring
    levels' bands (Haar's are wide), an approximation.  The doing-nothing
    SURE is ``sum_j sigma_j^2 tr(W_j^T W_j) / N`` per sample, exact.
    """
    k = len(sigmas)
    var = [np.asarray(sj, dtype=float) ** 2 for sj in sigmas]
    var.append(var[-1])
    weights = [2.0**-j for j in range(1, k + 1)] + [2.0**-k]
    wr = frame_coefficients(f2 - uf, k)
    wb = frame_coefficients(b, k)
    wd = frame_coefficients((up - uf) / eps, k)
    terms = np.zeros(wr[0].shape[0])
    for r, bb, d, v, w in zip(wr, wb, wd, var, weights, strict=True):
        terms += np.sum(r**2 - 2.0 * v * w + 2.0 * v * bb * d, axis=1)
    return terms


def frame_identity_sure(sigmas, channels: int) -> float:
    """SURE per sample of doing nothing under the level noise of :func:`frame_sure_terms`."""
    k = len(sigmas)
    var = [np.broadcast_to(np.asarray(sj, dtype=float) ** 2, (channels,)) for sj in sigmas]
    total = sum(float(np.sum(v)) * 2.0**-j for j, v in enumerate(var, start=1))
    return total + float(np.sum(var[-1])) * 2.0**-k
