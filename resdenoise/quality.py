"""Quality of a signal against a clean reference: MSE, SNR and PSNR per channel.

NumPy only.  Used by the benchmarks; ``--reference CLEAN``'s report sums the same
numbers in the pieces of the report's grid (:class:`resdenoise.measure.QualitySums`).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError

__all__ = ["mse", "psnr_db", "snr_db"]


def _pair(x: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if x.shape != ref.shape:
        raise ParameterError(
            f"reference has shape {ref.shape} but the signal has shape {x.shape}; "
            "give a clean signal with the same number of samples and channels"
        )
    if x.size == 0:
        raise ParameterError("cannot measure quality of an empty signal")
    return x.reshape(x.shape[0], -1), ref.reshape(ref.shape[0], -1)


def mse(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mean squared error per channel, ``mean((x - ref)^2)``; shape ``(channels,)``."""
    x, ref = _pair(x, reference)
    return np.mean((x - ref) ** 2, axis=0)


def _db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 error -> +inf dB, on purpose
        out = 10.0 * np.log10(num / den)
    return np.where(den == 0, math.inf, out)


def snr_db(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Signal-to-noise ratio per channel in dB: ``10 log10(sum ref^2 / sum (x - ref)^2)``.

    +inf when ``x`` equals the reference; -inf for an all-zero reference.
    """
    x, ref = _pair(x, reference)
    return _db(np.sum(ref**2, axis=0), np.sum((x - ref) ** 2, axis=0))


def psnr_db(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per channel in dB: ``10 log10(R^2 / MSE)``.

    ``R = max(ref) - min(ref)`` is the data range of the reference channel
    (as scikit-image's ``data_range``); +inf when ``x`` equals the reference.
    """
    x, ref = _pair(x, reference)
    span = np.max(ref, axis=0) - np.min(ref, axis=0)
    return _db(span**2, np.mean((x - ref) ** 2, axis=0))
