"""Warnings of a run's noise level: a level given in other units than the samples'
(audit18a A9), a level read that is the rounding of samples on a step (A2: whole numbers,
a decimal place, a sound file's PCM counts).  The run is not changed: these are said, in
the report's warnings too."""

from __future__ import annotations

import math

import numpy as np

from .noise import estimate_noise

__all__ = ["given_level_note", "level_notes", "quantised_note"]


#: A noise level given more than this factor above the level read is warned of
#: (:func:`given_level_note`): another unit is the likelier cause (counts for a sound file's
#: samples in -1..1, 32768x; audit18a: --sigma 6 on a PCM_16 file that reads 0.0029, 2043x).
GIVEN_LEVEL_FACTOR = 20.0
#: ... and more than this factor below it: the estimators read a signal's own fine-scale
#: content as noise (README: 2-14x on series white at their own rate; tests/test_do_no_harm's
#: tones with 1 % noise read 143x the level given), so a level far below the one read is
#: often right; unit slips are larger (mV for V 1000x, volts for 12-bit counts over 3.3 V
#: 1241x; audit18a: --sigma 0.005 on counts that read 6.1, 1220x).
GIVEN_LEVEL_BELOW = 500.0


def given_level_note(name: str, given, read, scale, scale_said: str, bits=None) -> str | None:
    """The warning of a noise level ``given`` (per channel) that is implausible beside the
    samples: above ``scale`` (each channel's standard deviation, or half its range:
    ``scale_said`` says which; the noise cannot be larger), or more than
    :data:`GIVEN_LEVEL_FACTOR` times the level ``read`` (the estimate, None where not
    read), or more than :data:`GIVEN_LEVEL_BELOW` times below it; None where it is plausible.  The level is used as given: a
    warning, never a refusal.  ``bits``: a sound file's PCM bit depth (its samples read
    as -1..1: one count is 2^(1-bits))."""
    scale = np.atleast_1d(np.asarray(scale, dtype=float)).ravel()
    given = np.atleast_1d(np.asarray(given, dtype=float)).ravel()
    if given.size == 1:  # one level for every channel
        given = np.full(scale.size, given[0])
    read = None if read is None else np.atleast_1d(np.asarray(read, dtype=float)).ravel()
    if given.size != scale.size or (read is not None and read.size != scale.size):
        return None  # (not the channels of the samples: nothing to compare)
    said = []
    for c, g in enumerate(given):
        above = scale[c] > 0 and g > scale[c]
        r = None if read is None else float(read[c])
        far = r is not None and r > 0 and (g > GIVEN_LEVEL_FACTOR * r or r > GIVEN_LEVEL_BELOW * g)
        if above or far:
            parts = []
            if r is not None and r > 0:
                times = f"{g / r:.0f}x" if g >= r else f"1/{r / g:.0f}"
                parts.append(f"{times} {'' if g >= r else 'of '}the level read ({r:.3g})")
            if above:
                parts.append(f"above the samples' {scale_said} ({scale[c]:.3g})")
            said.append((c, g, " and ".join(parts)))
    if not said:
        return None
    c, g, what = said[0]
    channel = f" (channel {c + 1})" if given.size > 1 else ""
    hint = (
        f" (a sound file's samples are read as -1..1, full scale: one count of its "
        f"{bits}-bit samples is {2.0 ** (1 - bits):.3g})"
        if bits
        else ""
    )
    return (
        f"{name}: the noise level given, --sigma {g:g} (sigma={g:g}){channel}, is {what}: "
        f"is it in the samples' units?{hint} It is used as given; check its units, or "
        "leave --sigma out to have it read"
    )


def quantised_note(name: str, read, steps, bits=None) -> str | None:
    """The warning of a level ``read`` (per channel) at or below the rounding noise of
    samples that are all whole multiples of a step (``steps``: per channel, the step of
    the samples, None where they have none: :func:`_whole_step`): ``step / sqrt(12)``,
    what rounding to the step alone reads as (a clean 12-bit log of a slow sine read
    0.267 counts), so the level read may be no noise but the quantisation; None elsewhere
    (a level of 0 is no reading).  The step says what it is: whole numbers (counts), a
    decimal place (a sensor's log of 0.01 degrees), or with ``bits`` (a sound file's PCM
    bit depth, samples read as -1..1) counts of the file's samples.  The run is not
    changed: the rounding of a signal that moves over many steps between samples is white
    noise and filtering it gains (measured: +5 to +7 dB against the unrounded sine, 50 and
    400 counts, 97 samples a period); of a slow one it gains nothing (0.0 dB at 4000
    samples a period, and the output is not worse)."""
    read = np.atleast_1d(np.asarray(read, dtype=float)).ravel()
    for c, (r, q) in enumerate(zip(read, steps, strict=False)):
        if q is None or not q > 0 or not 0 < r <= q / math.sqrt(12):
            continue
        channel = f" of channel {c + 1}" if read.size > 1 else ""
        what = "integer counts"
        if bits:
            counts = q * 2.0 ** (bits - 1)
            many = "one count" if counts == 1 else f"{counts:g} counts"
            unit = f"whole multiples of {many} of its {bits}-bit samples, {q:.3g}"
        elif q == int(q):
            unit = "whole numbers" if q == 1 else f"whole multiples of {q:g}"
        else:
            unit, what = f"whole multiples of {q:g}", "the decimal places they were written with"
        return (
            f"{name}: the noise level read{channel} ({r:.3g}) is at or below the rounding "
            f"noise of its samples, all {unit} (step/sqrt(12) = {q / math.sqrt(12):.3g}): "
            f"it may be no noise but their quantisation ({what}), which filtering "
            "removes only where the signal moves over many steps from sample to sample; "
            "give --sigma if you know the noise level"
        )
    return None


def level_notes(name: str, extra: dict, u, steps=None, bits=None, read=None) -> list[str]:
    """The warnings of a run's noise level (``extra``: the plan's ``noise_sigma`` and
    ``noise_estimator``) on ``u``, the samples or a streamed file's summary (its
    ``noise_sigma``, ``minimum`` and ``maximum``): a level given that is implausible
    (:func:`given_level_note`), a level read at the rounding noise of samples on a step
    (:func:`quantised_note`; the samples in memory: :func:`_whole_step`).  ``steps``: per
    channel, a streamed file's step (:class:`Steps` of its checking pass: the same rule);
    ``bits``: a sound file's PCM bit depth.  ``read``: for
    samples in memory, ``read()`` is their noise estimate (per channel) where the run
    makes it anyway (its report's), called only for a level given; default
    :func:`resdenoise.noise.estimate_noise` of ``u``."""
    level, estimator = extra.get("noise_sigma"), extra.get("noise_estimator")
    if level is None:
        return []
    in_memory = isinstance(u, np.ndarray)
    if in_memory:
        x = u.reshape(u.shape[0], -1)
    if estimator == "given":
        if in_memory:
            if x.shape[0] < 2:
                read = None
            else:
                read = estimate_noise(x) if read is None else read()
            scale, said = np.std(x, axis=0, dtype=np.float64), "standard deviation"
        else:
            read = u.noise_sigma
            lo, hi = np.asarray(u.minimum, dtype=float), np.asarray(u.maximum, dtype=float)
            scale, said = (hi - lo) / 2, "half range"
        note = given_level_note(name, level, read, scale, said, bits)
        return [] if note is None else [note]
    levels = np.atleast_1d(np.asarray(level, dtype=float)).ravel()
    if in_memory:
        if levels.size != x.shape[1]:
            return []
        steps = [_whole_step(x[:, c], levels[c], bits) for c in range(x.shape[1])]
    steps = list(steps or ())  # a streamed file's: its checking pass's
    if len(steps) != levels.size:
        return []
    note = quantised_note(name, levels, steps, bits)
    return [] if note is None else [note]


#: Samples :func:`_whole_step` looks at first: their step bounds the whole channel's.
PROBE = 4096
#: The most decimal places a step is looked for in (a sensor's log: 0.01 degrees,
#: 0.001 V; 1/16 degree is 0.0625, four).
MAX_DECIMALS = 6


def _whole_step(x: np.ndarray, read: float | None = None, bits=None) -> float | None:
    """The step every sample is a whole multiple of (the greatest common divisor of their
    differences): of a sound file's PCM samples (``bits``, read as -1..1: counts of
    2^(1-bits), or a multiple), else of numbers written with the fewest decimal places,
    none to :data:`MAX_DECIMALS` (1 for counts, 4 for 12-bit counts shifted left by 2,
    0.01 for a log of hundredths), each sample the float64 nearest its decimal; None
    where there is none (more decimals, a constant channel, numbers beyond float64's
    exact integers).  :class:`Steps` of the samples at once.

    With ``read`` (the level read), only where the step can make the note
    (:func:`quantised_note`: ``read`` at or below step/sqrt(12)), else None: the step
    divides that of the first :data:`PROBE` samples, so a sample among them off every
    grid, or their step's rounding noise below ``read``, ends the look without a pass over
    the rest (a run's samples seldom have a step, and those that do seldom read its
    rounding)."""
    if read is not None and not read > 0:
        return None
    steps = Steps(bits)
    steps.add(x[:PROBE])
    (head,) = steps.steps() or [None]
    if not steps.channels or steps.channels[0] is None:  # off every grid (or no sample)
        return None
    if read is not None and head is not None and read > head / math.sqrt(12):
        return None
    if x.shape[0] > PROBE:
        steps.add(x[PROBE:])
    return steps.steps()[0]


class Steps:
    """:func:`_whole_step` of each channel, block by block (a streamed file's checking
    pass): the same steps as of the samples at once.  A channel's step is the greatest
    common divisor of its samples' differences from its first on the coarsest grid all of
    them lie on; a block off the grid so far moves it to a finer one, where the divisor
    found is the same number of the finer units (the samples are the float64 nearest
    their decimals on either grid)."""

    def __init__(self, bits=None):
        self.grids = [2.0 ** (bits - 1)] if bits else [10.0**k for k in range(MAX_DECIMALS + 1)]
        #: per channel: [grid index, first sample, divisor, largest |sample|], None: no step
        self.channels: list | None = None

    def add(self, block) -> None:
        """The next rows, ``(k,)`` or ``(k, channels)``."""
        x = np.asarray(block)
        if not x.shape[0]:
            return
        x = x.reshape(x.shape[0], -1)
        if self.channels is None:
            self.channels = [[0, float(x[0, c]), 0, 0.0] for c in range(x.shape[1])]
        last = len(self.grids) - 1
        for c, state in enumerate(self.channels):
            if state is not None and not (state[0] == last and state[2] == 1):  # (final)
                self.channels[c] = self._add(state, x[:, c])

    def _add(self, state: list, x: np.ndarray) -> list | None:
        i, first, divisor, top = state
        while i < len(self.grids):
            scale = self.grids[i]
            step = _step_of(x, scale, first) if top * scale < 2.0**52 else None
            if step is not None:
                return [i, first, math.gcd(divisor, step), max(top, float(np.max(np.abs(x))))]
            if i + 1 < len(self.grids):  # the divisor so far in the finer grid's units
                divisor *= round(self.grids[i + 1] / scale)
            i += 1
        return None

    def steps(self) -> list:
        """Each channel's step, None where it has none (off every grid, or constant)."""
        return [
            None if s is None or not s[2] else s[2] / self.grids[s[0]] for s in self.channels or ()
        ]


def _step_of(x: np.ndarray, scale: float, first: float | None = None) -> int | None:
    """The greatest common divisor of ``|n - n0|``, ``n = x * scale`` whole numbers
    (0 for a constant ``x``), each sample ``n / scale`` (the float64 nearest it), ``n0``
    of ``first`` (default ``x[0]``) so; None where a sample is not, or ``n`` is beyond
    float64's exact integers.  In float64 (a float32 sample: its value; float32's own
    rounding would pass every grid coarser than its spacing)."""
    x = np.asarray(x, dtype=np.float64)
    if first is not None:
        x = np.concatenate(([first], x))
    if not np.all(np.isfinite(x)) or not np.max(np.abs(x), initial=0) * scale < 2.0**52:
        return None
    n = np.round(x * scale)
    if not np.array_equal(n / scale, x):
        return None
    return int(np.gcd.reduce(np.abs(n - n[:1]).astype(np.int64))) if x.size else 0
