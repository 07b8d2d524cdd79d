"""Channels whose noise level is not trusted: why, and the search on the others alone.

The first two rules of :func:`resdenoise.automatic.do_no_harm` (see its module's "Do no
harm"): a channel that is constant, clean (its level read below the rounding of its
samples), whose level is not identified, or whose estimated noise takes more than
:data:`resdenoise.noise.MAX_NOISE_SHARE` of its variance is not searched for
(:func:`_distrusted`); where some channels are and some are not, those are passed through
unchanged and the search runs on the others alone (:func:`pass_untrusted`); where every
channel is, :func:`_level_not_trusted` says why the input is kept.  Moved out of
:mod:`resdenoise.automatic` unchanged (its length); :func:`pass_untrusted` is importable
from there as before.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["nothing_to_filter", "pass_untrusted"]


def _named(labels, channels, count: int, then: str = ": ") -> str:
    """``"column 3 ('rough')" + then``, naming the channels a rule stopped on (their
    labels, :func:`resdenoise.stability.channel_labels`); empty for a lone channel that
    has no label of its own (the messages as before)."""
    from .stability import channel_labels

    if labels is None and count == 1:
        return ""
    names = channel_labels(count, labels)
    return ", ".join(names[c] for c in channels) + then


#: Why a channel whose level is not identified is not trusted (:func:`_distrusted`).
_NOT_IDENTIFIED = (
    "the noise level is not identified: quiet-windows reads more than the "
    "variogram's nugget or the lag-one covariance of differences allows, or the "
    "signal is rough and the lag-one covariance is within 2 standard errors of zero "
    "(a rough signal whose own fine-scale content exceeds the noise)"
)


#: Why a constant channel (every sample the same, its estimated level 0, or its level
#: given) is left out of the search (:func:`_distrusted`): no block changes it, and its own
#: terms of SURE are 0, yet it changed the others' choice (the Monte-Carlo probe's draws
#: are of the signal's shape).
_CONSTANT = "constant (every sample the same): nothing to filter"

#: Why a clean channel (its level read below the rounding of its samples: 2^-52 of the
#: largest) is left out of the search (:func:`_distrusted`): its SURE is of that order
#: (-5e-52 per sample on a clean seismic trace), and the coloured ranking ran 8 blocks
#: that changed samples by 1e-308, said to be for coloured noise.
_CLEAN = (
    "clean: the estimated noise level is below the float64 rounding of its samples "
    "(2^-52 of the largest): nothing to filter"
)
#: The same where every sample of the channel is a float32 (a sound file of 32-bit floats)
#: and the level below :data:`GRID_FRACTION` of that rounding, 2^-23 of the largest.  A
#: clean recording read 3.5e-14 (peak 0.3: 1e-6 of its rounding), and the search ran 16000
#: blocks (40 s of CPU per 2 s of audio) whose output, stored, was the input bit for bit.
_CLEAN_FLOAT32 = (
    "clean: the estimated noise level is below 1/16 of the float32 rounding of its "
    "samples (2^-23 of the largest): nothing to filter"
)
#: The same where every sample is a multiple of one step (a power of two: integer PCM's
#: least significant bit, 2^-15 for 16-bit audio, 2^-23 for 24-bit) and the level is below
#: :data:`GRID_FRACTION` of it (:func:`_quantum`).
_CLEAN_GRID = (
    "clean: the estimated noise level is below 1/16 of the step its samples are quantised "
    "to (every sample a multiple of it, as integer PCM's least significant bit): nothing "
    "to filter"
)
#: Of a channel's quantisation step, the level below which it is clean (:data:`_CLEAN_GRID`).
#: The automatic choices (``denoise``) moved samples by at most 4.1 times the level they
#: were chosen at (0.5 s of speech, chord, tone and DC + speech, in 16- and 24-bit, with and
#: without half a step of dither, and in float; 4.1: 24-bit speech with the dither): below
#: 1/16 of the step no choice moves a sample by half a step, and none changes a stored
#: one.  Measured levels: clean 24-bit audio 0.004-0.014 of the step (0.00005 for a pure
#: tone), half a step of dither 0.5 (0.05 on a chord), clean 16-bit audio 0.22-0.28 (its
#: rounding, seen as noise: filtered as before).
GRID_FRACTION = 1 / 16
#: Why a channel with digital silence whose sounding part is clean is left out of the search
#: (:data:`resdenoise.noise.CLEAN_SILENCE`, :func:`resdenoise.noise._clean_beside_silence`).
_CLEAN_SILENCE = (
    "clean: its sounds read 8 or more times higher in third differences than in eighth "
    "(their own content, not noise) and the digital silence between them holds no noise: "
    "nothing to filter"
)
#: Why a channel whose level reads exactly 0 (not given) is left out of the search: its
#: quiet windows are exact repeats (a clean piecewise-constant signal's; or dry hours' zeros
#: beside Poisson rain tips, a stage logged at 1 cm: 93 % zeros, flat stretches), which the
#: quiet-windows rule cannot tell from a clean step's (called "below the float64 rounding"
#: before, which such samples, integers or multiples of 0.01, have nothing to do with).
_READS_ZERO = (
    "the estimated noise level is 0: its quiet windows are exact repeats (flat stretches, "
    "zeros, or values on a coarse grid), which cannot be told from a clean signal's steps; "
    "give --sigma if you know the noise level"
)
#: The reasons of :func:`_distrusted` that leave nothing to filter (the output is the input).
_NOTHING_TO_FILTER = (
    _CONSTANT, _CLEAN, _READS_ZERO, _CLEAN_FLOAT32, _CLEAN_GRID, _CLEAN_SILENCE
)  # fmt: skip


def _quantum(x: np.ndarray) -> float:
    """The largest power of two of which every sample of the channel ``x`` (float64, not
    all 0) is a multiple: 2^-23 for 24-bit PCM read as -1..1 (or a multiple of it)."""
    nonzero = x[x != 0]
    m, e = np.frexp(np.abs(nonzero))  # |x| = m 2^e, the mantissa m 2^53 an integer
    mant = np.ldexp(m, 53).astype(np.int64)
    low = np.frexp((mant & -mant).astype(np.float64))[1] - 1  # its trailing zero bits
    return math.ldexp(1.0, int(np.min(e - 53 + low)))


def _clean(y: np.ndarray, x: np.ndarray, sigma: np.ndarray) -> dict[int, str]:
    """The channels of ``y`` (rows x channels, what the search runs on) whose read level
    ``sigma`` is below the rounding of their samples: float64's (2^-52 of the largest), or
    :data:`GRID_FRACTION` of their resolution where every sample of ``x`` (the input, in
    ``y``'s units) is a float32 (2^-23 of the largest) or a multiple of one step
    (:func:`_quantum`), the coarser of the two."""
    top = np.max(np.abs(y), axis=0)
    why = {c: _CLEAN for c in np.flatnonzero(sigma < top * 2.0**-52).tolist()}
    why.update({c: _READS_ZERO for c in why if sigma[c] == 0.0})  # not a rounding's
    for c in np.flatnonzero(sigma < GRID_FRACTION * top).tolist():  # (no step is above it)
        col = x[:, c]
        if c in why or not np.any(col):
            continue
        with np.errstate(over="ignore"):
            single = col.dtype == np.float32 or np.array_equal(col.astype(np.float32), col)
        rounding = top[c] * 2.0**-23 if single else 0.0
        step = _quantum(np.asarray(col, dtype=np.float64))
        if sigma[c] < GRID_FRACTION * max(rounding, step):
            why[c] = _CLEAN_GRID if step >= rounding else _CLEAN_FLOAT32
    return why


def _distrusted(f, level, source=None) -> dict[int, str]:
    """Why the noise ``level`` of each channel of ``f`` is not trusted, channel by channel
    (unnamed; in channel order; empty where every one is): :data:`_CONSTANT` (a channel of
    ``source``, default ``f``, the signal before any pre-stage, constant, its level read
    or given: no level gives it anything to remove), :data:`_CLEAN` (its level read, not
    given, below 2^-52 of its largest magnitude in ``f``, what the search runs on),
    :data:`_NOT_IDENTIFIED`, or
    the share of the variance over :data:`resdenoise.noise.MAX_NOISE_SHARE` (the share,
    within its error, or the white part by the variogram's nugget)."""
    from .noise import (
        CLEAN_SILENCE,
        MAX_NOISE_SHARE,
        UNIDENTIFIED,
        channel_variance,
        share_factor,
        variance_share,
    )

    estimators = level.per_channel()
    x = np.asarray(f if source is None else source)
    x = x.reshape(x.shape[0], -1)
    flat = np.flatnonzero(np.all(x[:64] == x[:1], axis=0))  # (most channels end here)
    flat = flat[np.all(x[:, flat] == x[:1, flat], axis=0)]
    why = {c: _CONSTANT for c in flat.tolist()}  # whatever the level, given or read
    if level.estimator != "given":  # a level read below the samples' rounding: clean
        # (the largest of ``f``, what the search and the blocks run on: after a pre-stage
        # that took out spikes of 1e38, their rounding is not the samples'; the step of
        # ``x``, the input's)
        y = np.asarray(f).reshape(np.shape(f)[0], -1)
        sigma = np.broadcast_to(np.asarray(level.sigma, dtype=float), y.shape[1:])
        for c, reason in _clean(y, x, sigma).items():
            why.setdefault(c, reason)
        for c, e in enumerate(estimators):  # clean beside digital silence (noise.py)
            if e == CLEAN_SILENCE:
                why.setdefault(c, _CLEAN_SILENCE)
    for c, e in enumerate(estimators):
        if e == UNIDENTIFIED:
            why.setdefault(c, _NOT_IDENTIFIED)
    if len(why) == len(estimators) or level.estimator == "given":  # (given: no variance read)
        return dict(sorted(why.items()))
    var = channel_variance(f)  # the variance once: the share, its bound, the white part
    shares = variance_share(var, level.sigma)
    bounds = shares * share_factor(np.shape(f)[0])
    whites = 0.0 if level.white is None else variance_share(var, np.sqrt(level.white))
    whites = np.broadcast_to(whites, shares.shape)
    for c in np.flatnonzero(np.maximum(bounds, whites) > MAX_NOISE_SHARE).tolist():
        share, bound = float(shares[c]), float(bounds[c])
        if share > MAX_NOISE_SHARE:
            within = ""
        elif bound > MAX_NOISE_SHARE:
            within = f", up to {bound:.0%} within its error"
        else:
            within = f"; its white part by the variogram's nugget {float(whites[c]):.0%}"
        why.setdefault(
            c,
            f"the estimated noise ({estimators[c]}) is {share:.0%} of the "
            f"signal's variance{within} (more than {MAX_NOISE_SHARE:.0%}): the level "
            "cannot be told from the signal's own fine-scale content",
        )
    return dict(sorted(why.items()))


def nothing_to_filter(why) -> bool:
    """Whether :func:`pass_untrusted`'s ``distrusted`` (every channel's reason, or none)
    leaves nothing to filter: every channel clean or constant, so that
    :func:`resdenoise.automatic.do_no_harm` keeps the input whatever a search chooses (the
    searches then go no further than one block: a clean recording's ran 16000 blocks)."""
    return bool(why) and all(reason in _NOTHING_TO_FILTER for reason in why.values())


#: What a warning advises where a channel's noise level was not trusted.
_GIVE = "give --sigma if you know the noise level"


def _level_not_trusted(f, level, labels, why=None) -> str | None:
    """Why :func:`resdenoise.automatic.do_no_harm` cannot trust the noise ``level`` of ``f`` (the first two
    of its rules: a channel's level not identified; a share of the variance over
    :data:`resdenoise.noise.MAX_NOISE_SHARE`, within its error or by the white part),
    naming the channels by ``labels``; None where it can.  ``why``: :func:`_distrusted`'s
    answer, read already."""
    why = _distrusted(f, level) if why is None else why
    if not why:
        return None
    count = int(np.size(level.sigma))
    if all(reason in _NOTHING_TO_FILTER for reason in why.values()):  # every channel: the input
        return "; ".join(
            _named(labels, [c for c, r in why.items() if r is kind], count) + kind
            for kind in _NOTHING_TO_FILTER
            if kind in why.values()
        )
    why = {c: reason for c, reason in why.items() if reason not in _NOTHING_TO_FILTER}
    which = [c for c, reason in why.items() if reason is _NOT_IDENTIFIED]
    if which:  # named: each channel not identified
        return _named(labels, which, count) + _NOT_IDENTIFIED
    over = list(why)  # named: the first channel over the limit, its numbers
    reason = _named(labels, over[:1], count) + why[over[0]]
    if len(over) > 1:
        reason += "; over the limit too: " + _named(labels, over[1:], count, "")
    return reason


def pass_untrusted(f, level, labels, search, source=None, given=None):
    """``(passed, distrusted)``: ``passed`` is ``(plan, extra)`` where the noise ``level`` of
    some but not all channels of ``f`` is not trusted (:func:`resdenoise.automatic.do_no_harm`'s first two
    rules), else None (every channel or none trusted: the rules then apply to the whole
    signal, :func:`resdenoise.automatic.do_no_harm` given ``distrusted``, the channels not trusted and why,
    so that it does not read them again).  Where passed, those channels are passed
    through unchanged (:func:`resdenoise.passing.pass_through`) and ``search(sub,
    labels=sub_labels) -> (plan, extra)``, the automatic search, runs on the others alone
    (``source``'s, default ``f``'s: the signal before any pre-stage; one channel as
    shape ``(n,)``), exactly as on a signal of those channels only.

    ``extra`` is the search's, plus ``passed_through_reasons`` (label: why, as
    :func:`resdenoise.stability.channel_labels` names the channels of ``f`` by
    ``labels``), ``filtered_channels`` (the labels of the others) and a warning per
    channel passed through, before the search's own.

    ``given``: the level the caller was given for ``f``'s channels, where it is a
    :class:`resdenoise.noise.NoiseLevel` (used as it is, not read) or one number per
    channel: the search gets that of the channels it searches as ``sigma`` (else it reads
    or takes its own)."""
    from .noise import NoiseLevel
    from .orientation import oriented_channels
    from .passing import pass_through, select_channels
    from .stability import channel_labels

    f = np.asarray(f)
    why = _distrusted(f, level, source)
    count = int(np.size(level.sigma))
    if not why or len(why) == count:
        return None, why
    names = channel_labels(count, labels)
    keep = [c for c in range(count) if c not in why]
    levels = {}
    if isinstance(given, NoiseLevel):
        levels = {"sigma": given.of_channels(keep)}
    elif np.ndim(given) > 0:  # one number per channel: those of the channels searched
        levels = {"sigma": np.broadcast_to(np.asarray(given, dtype=float), (count,))[keep]}
    sub = select_channels(f if source is None else source, keep)
    with oriented_channels(keep):  # the probes as on those channels alone
        plan, extra = search(sub, labels=[names[c] for c in keep], **levels)
    notes = [
        f"{names[c]} passed through unchanged: {reason}"
        + ("" if reason in _NOTHING_TO_FILTER else f"; {_GIVE}")
        for c, reason in why.items()
    ]
    extra = {
        **extra,
        "passed_through_reasons": {names[c]: reason for c, reason in why.items()},
        "filtered_channels": [names[c] for c in keep],
        "warnings": [*notes, *extra.get("warnings", [])],
    }
    return (pass_through(plan, keep, count), extra), why
