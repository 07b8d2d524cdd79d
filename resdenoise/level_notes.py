"""Warnings of a run's noise level: a level read that is the rounding of whole-numbered
samples (audit18a A2).  The run is not changed: these are said, in the report's
warnings too."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["level_notes", "quantised_note"]


def quantised_note(name: str, read, steps) -> str | None:
    """The warning of a level ``read`` (per channel) at or below the rounding noise of
    samples that are all whole multiples of a step (``steps``: per channel, the step of
    whole-numbered samples, None where they are not): ``step / sqrt(12)``, what rounding
    to the step alone reads as (a clean 12-bit log of a slow sine read 0.267 counts), so
    the level read may be no noise but the quantisation; None elsewhere (a level of 0 is
    no reading).  The run is not changed: the rounding of a signal that moves over many
    steps between samples is white noise and filtering it gains (measured: +5 to +7 dB
    against the unrounded sine, 50 and 400 counts, 97 samples a period); of a slow one it
    gains nothing (0.0 dB at 4000 samples a period, and the output is not worse)."""
    read = np.atleast_1d(np.asarray(read, dtype=float)).ravel()
    for c, (r, q) in enumerate(zip(read, steps, strict=False)):
        if q is None or not q > 0 or not 0 < r <= q / math.sqrt(12):
            continue
        channel = f" of channel {c + 1}" if read.size > 1 else ""
        unit = "whole numbers" if q == 1 else f"whole multiples of {q:g}"
        return (
            f"{name}: the noise level read{channel} ({r:.3g}) is at or below the rounding "
            f"noise of its samples, all {unit} (step/sqrt(12) = {q / math.sqrt(12):.3g}): "
            "it may be no noise but their quantisation (integer counts), which filtering "
            "removes only where the signal moves over many steps from sample to sample; "
            "give --sigma if you know the noise level"
        )
    return None


def level_notes(name: str, extra: dict, u, whole=None, bits=None) -> list[str]:
    """The warnings of a run's noise level (``extra``: the plan's ``noise_sigma`` and
    ``noise_estimator``) on ``u``, the samples or a streamed file's summary (its
    ``noise_sigma``, ``minimum`` and ``maximum``): a level read at the rounding noise of
    whole-numbered samples (:func:`quantised_note`).  ``whole``: per channel, whether
    the file wrote each of its numbers whole (a CSV's columns: a streamed file's; the
    samples in memory are read); ``bits``: a sound file's PCM bit depth."""
    level, estimator = extra.get("noise_sigma"), extra.get("noise_estimator")
    if level is None:
        return []
    in_memory = isinstance(u, np.ndarray)
    if in_memory:
        x = u.reshape(u.shape[0], -1)
    if estimator == "given":
        return []
    if in_memory:
        steps = [_whole_step(x[:, c]) for c in range(x.shape[1])]
    else:
        steps = [1.0 if w else None for w in (whole or ())]
    if len(steps) != np.size(level):
        return []
    note = quantised_note(name, level, steps)
    return [] if note is None else [note]


def _whole_step(x: np.ndarray) -> float | None:
    """The step of samples that are all whole numbers (the greatest common divisor of
    their differences: 1 for counts, 4 for 12-bit counts shifted left by 2), else None
    (a fraction, a constant channel, numbers beyond float64's exact integers)."""
    if not np.all(np.isfinite(x)) or np.max(np.abs(x), initial=0) >= 2.0**52:
        return None
    if not np.array_equal(x, np.round(x)):
        return None
    step = int(np.gcd.reduce(np.abs(x - x[0]).astype(np.int64))) if x.size else 0
    return float(step) if step > 0 else None
