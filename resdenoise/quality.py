"""Quality of a signal against a clean reference: MSE, SNR and PSNR per channel.

NumPy only.  Used by ``benchmarks/bench_quality.py``; ``--reference CLEAN``'s report sums
the same numbers in the pieces of the report's grid (:class:`resdenoise.measure.QualitySums`).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError

__all__ = ["compare", "mse", "psnr_db", "snr_db"]


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


def compare(noisy: np.ndarray, output: np.ndarray, reference: np.ndarray) -> dict:
    """MSE, SNR and PSNR of the input and of the output, per channel.

    Returns ``{"input": {"mse": [...], "snr_db": [...], "psnr_db": [...]},
    "output": {...}}`` with one number per channel (infinite values stay
    ``inf``; the JSON writer turns them into ``null``).

    Examples
    --------
    >>> q = compare([1.0, 2.0], [1.0, 3.0], [1.0, 3.0])
    >>> q["input"]["mse"], q["output"]["mse"]
    ([0.5], [0.0])
    """
    result = {}
    for key, x in (("input", noisy), ("output", output)):
        result[key] = {
            "mse": [float(v) for v in mse(x, reference)],
            "snr_db": [float(v) for v in snr_db(x, reference)],
            "psnr_db": [float(v) for v in psnr_db(x, reference)],
        }
    return result
