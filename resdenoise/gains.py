"""What a search's choice is expected to gain, said once for every number of the report,
and the rules of :func:`resdenoise.automatic.do_no_harm` that read it.

* :func:`expected_gain_db`: the gain in dB of the test that decided (SURE of doing
  nothing over SURE of the output, both of the decision's noise model), so that
  ``expected_gain_db`` and ``sure_change_per_sample`` never disagree in sign.  Before, the
  report's ``expected_gain_db`` was the candidate's own search's number (white SURE, or
  its levels' own), the decision another one (SURE split over scales with the noise per
  scale): a year of daily temperatures chose a plan whose own expected gain was -2.15 dB
  beside a SURE change of -7.28 per sample (16 standard errors of "gain").
* An output whose SURE is below zero bounds the true noise variance (the level's less
  that SURE); where the bound is under half of the level's (the level over-read sqrt2 or
  more, :func:`over_read`), the gain is not told: the input is kept where the level, an
  estimate, has no low end to ask, or where the bound at the low end says so too (a level
  given is the user's: the gain test alone).  An output whose SURE is not positive has no
  expected gain (None: SURE cannot tell).
* :func:`coloured_not_identified`: the analogue per scale of
  :data:`resdenoise.noise.MAX_NOISE_SHARE`.  Noise of a spectrum ``f^-a`` has its level
  per scale rise as one power law, and so does any 1/f-like series (weather as an AR
  process, a random walk, a measured series): the levels per scale are then the
  series' own content, and shrinking them removes it.  A signal under coloured noise keeps
  most of its detail energy above the noise at the coarse scales; where the noise per
  scale takes more than :data:`COLOURED_SHARE` of the series' detail energy over all the
  scales (each scale weighted as the Parseval Haar frame weighs it), the noise per scale
  is not identified and the input is kept (give ``--sigma``).  Read only over
  :data:`SHARE_LEVELS` levels or more (the levels of the power-law test,
  :func:`resdenoise.noise_colour.colour_evidence`): over fewer, a smooth short series in
  heavy white noise has most of its few levels' detail energy in the noise too
  (a trend and season of 50-100 samples in white noise of half its std: 0.5-0.9), and
  nothing there tells it from a 1/f-like one.
"""

from __future__ import annotations

import math

import numpy as np

from .haar_frame import frame_identity_sure
from .noise_colour import level_details
from .scaling import times_power_of_two

#: The best candidate must lower SURE by this many standard errors to be used.
SIGNIFICANCE = 2.0

#: The most of a series' detail energy (levels 1..k, weights 2^-j) the noise per scale
#: may take: more, and the series is at least as much "noise" as signal at every scale.
#: Measured (coloured noise levels as :func:`resdenoise.automatic.noise_per_level` reads
#: them): pink noise at 10 % on every class of ``benchmarks/bench_classes.py`` 0.00-0.11,
#: white noise on measured series read as coloured 0.02-0.44; a year of daily
#: temperatures (AR(1) weather, 0.3 degC noise) 0.53-0.67.
COLOURED_SHARE = 0.5
#: ... read over at least this many levels (:func:`coloured_not_identified`).
SHARE_LEVELS = 5
#: :func:`over_read`: the true noise variance SURE bounds, at most this share of the
#: level's, says the level is over-read (sqrt2 or more in sigma).
OVER_READ_SHARE = 0.5


def detail_share(f2: np.ndarray, per_level) -> np.ndarray:
    """Per channel of ``f2`` (samples x channels): ``sum_j 2^-j sigma_j^2 / sum_j 2^-j
    mean(d_j^2)``, j = 1..k, with ``sigma_j`` the noise of level j (``per_level``) and
    ``d_j`` the series' undecimated Haar details of level j (the units of the levels)."""
    num = np.zeros(f2.shape[1])
    den = np.zeros(f2.shape[1])
    for j, sj in enumerate(per_level, start=1):
        num += 2.0**-j * np.square(np.broadcast_to(np.asarray(sj, dtype=float), num.shape))
        den += 2.0**-j * np.mean(np.square(level_details(f2, j)), axis=0)
    return num / np.maximum(den, 1e-300)


def coloured_not_identified(f, per_level) -> str | None:
    """Why the noise per scale ``per_level`` of ``f`` is not identified (its share of
    the series' detail energy, :func:`detail_share`, over :data:`COLOURED_SHARE` on some
    channel), else None."""
    if per_level is None or len(per_level) < SHARE_LEVELS:
        return None
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    share = float(np.max(detail_share(f2, per_level)))
    if not share > COLOURED_SHARE:
        return None
    return (
        f"the noise level per scale is not identified: its levels take {share:.0%} of the "
        f"series' detail energy over scales 1-{len(per_level)} (more than "
        f"{COLOURED_SHARE:.0%}: a 1/f-like series, such as weather or a random walk, "
        "reads as coloured noise at every scale)"
    )


def expected_gain_db(identity: float, change: float) -> float | None:
    """``10 log10(identity / (identity + change))``: SURE of doing nothing (``identity``)
    over SURE of the output (``change`` per sample added); 0 where ``identity`` is not
    positive, None where SURE of the output is not (SURE cannot tell)."""
    if identity <= 0.0:
        return 0.0
    out = identity + change
    return None if not out > 0.0 else 10.0 * math.log10(identity / out)


#: Relative standard deviations of an estimated level over which
#: :func:`expected_gain_range` reads ``expected_gain_db`` (the significance test's 2).
LEVEL_Z = SIGNIFICANCE


def expected_gain_range(level, n: int, change: float, sums=None) -> list | None:
    """``[low, high]``: :func:`expected_gain_db` with the estimated noise ``level`` (white,
    of ``n`` samples) moved down and up by :data:`LEVEL_Z` of its own relative standard
    deviation on white noise, ``QUIET_SPREAD / sqrt(n)``; None for a level given.  SURE of
    a near-perfect output is a small difference of two numbers near sigma^2: a level read
    0.4 % high moved ``expected_gain_db`` from 19 to 31 dB (strain gauge, 5 % white noise),
    2.6 % high from 12 to 18 dB (tide), and where SURE of the output is not positive it is
    None.  ``high`` None: SURE cannot tell at the upper end (the gain is at least ``low``).
    ``change``: SURE's change per sample at the level; ``sums``
    (:func:`resdenoise.sure.gain_sums` of the plan's run), where made: the change at each
    end is read from them, else bounded as of a plan of divergence 0 (the widest range)."""
    from .noise_level import QUIET_SPREAD
    from .sure import gain_from_sums

    if level.estimator == "given":
        return None
    sigma = np.asarray(level.sigma, dtype=float)
    delta = LEVEL_Z * QUIET_SPREAD / math.sqrt(max(n, 1))
    ends = []
    for k in (max(1.0 - delta, 0.0), 1.0 + delta):
        at = white_identity(sigma * k)
        if sums is not None:
            moved = gain_from_sums(sums, sigma * k, n)[0]
        else:  # SURE of the output moves by (s^2 - s'^2)(1 - 2 div/N): divergence 0
            moved = change + 2.0 * (white_identity(sigma) - at)
        ends.append(expected_gain_db(at, moved))
    return ends


def over_read(identity: float, change: float, se: float = 0.0) -> bool:
    """Whether SURE of the output says the noise level is over-read sqrt2 or more.

    SURE at a level ``s`` of a plan whose true MSE is ``m`` has the expectation
    ``m + (s^2 - sigma^2)(2 div / N - 1)``; ``m >= 0`` and ``div / N >= 0`` bound the
    true variance: ``sigma^2 <= s^2 + SURE`` where SURE is below zero.  With SURE raised by
    :data:`SIGNIFICANCE` standard errors ``se`` of the change, where that bound is below
    :data:`OVER_READ_SHARE` of ``s^2`` (``identity``, SURE of doing nothing), the level
    is over-read sqrt2 or more.  A near-perfect output's SURE falls a little below zero by
    chance and by its search's selection (steps in 20 % noise, the level given: -0.001
    per sample at sigma^2 = 0.04), far from the bound."""
    out = identity + change  # SURE of the output
    bound = identity + out + SIGNIFICANCE * se  # the true variance at most this
    return identity > 0.0 and out < 0.0 and bound < OVER_READ_SHARE * identity


def white_identity(sigma) -> float:
    """SURE per sample of doing nothing under white noise ``sigma`` (per channel)."""
    return float(np.sum(np.square(np.asarray(sigma, dtype=float))))


def _sure_change(key: str, change: float) -> dict:
    """A SURE change per sample (output's minus input's: negative where the run helps)
    under its name, and under the old name whose "gain" read the other way round, kept
    until the report's next ``schema_version`` (:data:`resdenoise.report.RENAMED`)."""
    from .report import RENAMED

    old = next(o for o, new in RENAMED.items() if new == key)
    return {key: change, old: change}


#: The report entries of a search's choice that describe its output (:func:`kept_input`).
OUTPUT_ENTRIES = ("expected_gain_db", "stopping_criterion", "expected_gain_db_range")


def kept_input(extra: dict, identity: float | None = None) -> dict:
    """The report entries ``extra`` of a search whose choice :func:`do_no_harm` refused:
    those of :data:`OUTPUT_ENTRIES` made the output's, which is the input (the expected
    gain 0 dB, as :attr:`resdenoise.autoparams.AutoChoice.expected_gain_db` says of zero
    blocks; the stopping criterion that of zero blocks, ``identity``, None where not
    known; the gain's range ``[0, 0]``), the refused choice's kept as
    ``rejected_expected_gain_db``, ``rejected_stopping_criterion`` and
    ``rejected_expected_gain_db_range``."""
    out = dict(extra)
    for key, value in zip(OUTPUT_ENTRIES, (0.0, identity, [0.0, 0.0]), strict=True):
        if key in out:
            out[f"rejected_{key}"] = out[key]
            out[key] = value
    return out


def _no_gain(name: str, gain: float, se: float, shift: int = 0) -> str:
    """Why ``name``'s change of SURE per sample, ``gain`` (negative: lower), with standard
    error ``se``, is no gain: too small a fall, or a rise (both of the signal divided by
    ``2**shift``, said of the signal)."""
    said = times_power_of_two(gain, 2 * shift), times_power_of_two(se, 2 * shift)
    units = ""
    held = zip(said, (gain, se), strict=True)
    if any(not math.isfinite(v) or (v == 0.0) != (w == 0.0) for v, w in held):
        units = f" (of the signal times 2**{-shift}: float64 holds no other)"
    else:  # of the signal, where float64 holds them (neither overflowed nor underflowed)
        gain, se = said
    if gain < 0:
        return (
            f"{name} lowers SURE by {-gain:.6g} per sample, not more than "
            f"{SIGNIFICANCE:g} standard errors of {se:.6g} each ({SIGNIFICANCE * se:.6g})" + units
        )
    return f"{name} raises SURE by {gain:.6g} per sample (standard error {se:.6g})" + units


#: How the warning of a chosen plan expecting little gain begins (:func:`little_gain`).
LITTLE_GAIN = "the automatic search expects little gain"


def little_gain(tested: dict) -> list:
    """The warning, as a list (empty: none), where the decision's ``expected_gain_db``
    (``tested``, :func:`resdenoise.automatic.do_no_harm`'s entries) is below
    :data:`resdenoise.autoparams.MIN_GAIN_DB` (the README's "barely helped").  None (SURE
    of the output not positive) is not warned of: a near-perfect output's SURE falls below
    zero by chance (co2 weekly at 30 % noise, +12.6 dB), and the report's null says it."""
    from .autoparams import MIN_GAIN_DB

    gain = tested.get("expected_gain_db")
    if gain is None or not gain < MIN_GAIN_DB:
        return []
    return [f"{LITTLE_GAIN} ({gain:.2f} dB by SURE): the output is close to the input"]


def _frame_identity(per_level, f) -> float:
    """SURE per sample of doing nothing on ``f`` under the noise per scale ``per_level``."""
    return frame_identity_sure(per_level, int(np.prod(np.shape(f)[1:], dtype=int)))


def _over_read(name: str, out: float, se: float, shift: int = 0, where: str = "") -> str:
    """Why a plan whose output's SURE per sample ``out`` is below zero tells no gain."""
    out, se = times_power_of_two(out, 2 * shift), times_power_of_two(se, 2 * shift)
    return (
        f"{name}'s output has a SURE of {out:.6g} per sample{where} (standard error "
        f"{se:.6g}): an impossible mean squared error, which bounds the true noise variance "
        f"below {OVER_READ_SHARE:g} of the level's: the level is over-read, and the gain "
        "cannot be told"
    )
