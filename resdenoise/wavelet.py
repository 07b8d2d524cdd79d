"""Single-scale Haar transforms, computed as transforms (not as diffusion).

Used to estimate the noise level (Donoho-Johnstone) and, with
``--check-wavelet``, to compare the engine with an actual cycle-spun Haar
shrinkage.  NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import quiet_underflow

__all__ = [
    "haar_details",
    "estimate_noise",
    "universal_threshold",
    "cycle_spin_shrink",
    "multilevel_shrink",
]

_SQRT2 = math.sqrt(2.0)

#: Median of |N(0, 1)|: MAD / 0.6745 estimates sigma for Gaussian noise.
MAD_FACTOR = 0.6745


@quiet_underflow
def haar_details(u: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Finest Haar detail coefficients ``(f_2k - f_2k+1)/sqrt2`` along axis 0 (float64).

    With ``out`` (float64, the result's shape) they are written into it: the
    same operations (the samples made float64 first) without temporaries.
    """
    if out is None:
        u = np.asarray(u, dtype=float)
        n = (u.shape[0] // 2) * 2
        return (u[0:n:2] - u[1:n:2]) / _SQRT2
    u = np.asarray(u)
    n = (u.shape[0] // 2) * 2
    np.subtract(u[0:n:2], u[1:n:2], out=out, dtype=float)
    return np.divide(out, _SQRT2, out=out)


@quiet_underflow
def estimate_noise(u: np.ndarray) -> np.ndarray:
    """MAD noise estimate ``median(|w|)/0.6745`` per channel (Donoho-Johnstone).

    Returns an array of shape ``(channels,)`` (``(1,)`` for a 1D signal).
    """
    u2 = np.asarray(u).reshape(u.shape[0], -1)
    w = np.empty(u2.shape[0] // 2)  # one channel's |details| at a time, contiguous
    medians = np.empty(u2.shape[1])
    for c in range(u2.shape[1]):
        np.abs(haar_details(u2[:, c], out=w), out=w)
        medians[c] = np.median(w, overwrite_input=True)  # (it reorders w)
    return medians / MAD_FACTOR


def universal_threshold(sigma: float, n: int) -> float:
    """``theta = sigma sqrt(2 ln N)`` (VisuShrink)."""
    return float(sigma) * math.sqrt(2.0 * math.log(max(n, 2)))


def cycle_spin_shrink(u: np.ndarray, shrinkage, iterations: int = 1) -> np.ndarray:
    """Iterated single-scale shift-invariant Haar shrinkage, reflecting ends.

    Each iteration: mirror the signal to ``[u, u reversed]`` (period 2N),
    for both shifts s = 0, 1 take the Haar analysis of the pairs
    ``(x_{2k+s}, x_{2k+1+s})``, shrink the details with ``shrinkage``,
    synthesise, average the two shifts and keep the first N samples.
    """
    u = np.array(u, dtype=float, copy=True)
    n = u.shape[0]
    for _ in range(int(iterations)):
        x = np.concatenate([u, u[::-1]], axis=0)
        acc = np.zeros_like(x)
        for shift in (0, 1):
            y = np.roll(x, -shift, axis=0)
            a = (y[0::2] + y[1::2]) / _SQRT2
            w = shrinkage((y[0::2] - y[1::2]) / _SQRT2)
            rec = np.empty_like(y)
            rec[0::2] = (a + w) / _SQRT2
            rec[1::2] = (a - w) / _SQRT2
            acc += np.roll(rec, shift, axis=0)
        u = acc[:n] / 2.0
    return u


def multilevel_shrink(u: np.ndarray, shrinkages, iterations: int = 1) -> np.ndarray:
    """Iterated K-level stationary (undecimated) Haar shrinkage, reflecting ends.

    Each iteration, on the mirrored signal ``x = [u, u reversed]`` (period 2N,
    indices mod 2N): approximations and details ``a_j = (a + a(. + s))/sqrt2``,
    ``d_j = (a - a(. + s))/sqrt2`` with s = 2^(j-1) (``a_0 = x``, as
    ``pywt.swt``); ``shrinkages[j - 1]`` (None: none) applied to ``d_j``; each
    level reconstructed from the coarsest by averaging its two decimated
    inverses (as ``pywt.iswt``); the first N samples kept.
    """
    u = np.array(u, dtype=float, copy=True)
    n = u.shape[0]
    p = 2 * n
    for _ in range(int(iterations)):
        a = np.concatenate([u, u[::-1]], axis=0)
        details = []
        for j in range(len(shrinkages)):
            ahead = a[(np.arange(p) + 2**j) % p]
            a, d = (a + ahead) / _SQRT2, (a - ahead) / _SQRT2
            details.append(d)
        for j in reversed(range(len(shrinkages))):
            w = details[j] if shrinkages[j] is None else shrinkages[j](details[j])
            back = (np.arange(p) - 2**j) % p
            a = 0.5 * ((a + w) + (a[back] - w[back])) / _SQRT2
        u = a[:n]
    return u
