"""Each scale at its own noise level: garrote over scales where the automatic choice keeps
the input (issue 15, pink noise).  NumPy only.

:func:`own_levels` is shrinkage over every scale (:func:`resdenoise.multilevel.max_scales`)
with level 1's noise the level read and each level above its own robust box estimate, at
most sqrt2 times the level below (:func:`resdenoise.multilevel.level_sigmas`' ``boxes``:
pink noise's rise; more is the signal's own coarse content), each threshold by that level's
coefficients' SURE.  Level-dependent thresholds hold under noise of any colour (Johnstone
and Silverman 1997).  :func:`own_levels_choice` asks whether it is expected to gain: the
white SURE at the level and at the low end of its interval, and the SURE over scales with
each scale's own level, each by :data:`resdenoise.gains.SIGNIFICANCE` standard errors.

Not a candidate of the automatic choice (measured, ``benchmarks/bench_pink_heldout.py``).
Its gains came where the level is not identified (:data:`resdenoise.noise.UNIDENTIFIED`,
every candidate refused).  With that level's low end the lag-one reading that disagreed
with it (:func:`resdenoise.rough_level.unread_low`) it passes on none of the 144
not-identified cases of the held-out classes' tuning seeds 200-201, ``bench_short``'s
tuning seeds 0-2 and ``bench_walks``' seeds 0-9 at 100-300 samples; with the low end
raised to the reading plus 1 standard error it passes 7 (two gains, pink and 5 % white
noise on the 256-sample ECG, 0.71 and 0.32 of the input's MSE; five losses, walks 1.02-8.3x),
plus 2 standard errors 26 (6 gains, 20 losses up to 15x), and with the level itself as
its low end (before) 42 (8 gains, 34 losses up to 69x).  No low end tells the two apart:
SURE cannot tell pink noise on a short ECG from a random walk's own steps.
"""

from __future__ import annotations

import numpy as np

from .gains import SIGNIFICANCE, expected_gain_db, white_identity
from .haar_frame import frame_identity_sure
from .harm import gain_test
from .multilevel import _levels, level_sigmas, max_scales
from .noise import NoiseLevel

__all__ = ["OWN_LEVELS", "own_levels", "own_levels_choice"]

#: The automatic choice's name of :func:`own_levels`' plan (garrote).
OWN_LEVELS = "shrink garrote, scales, each scale's own level"


def own_levels(f, name: str, level) -> tuple:
    """``(plan, per_level)``: shrinkage ``name`` over every scale, level j's noise
    ``per_level[j - 1]`` (per channel): level 1 ``level``'s, each above its own box estimate
    (:func:`resdenoise.multilevel.level_sigmas`, ``boxes``) rising at most sqrt2 a level;
    each threshold minimises the SURE of that level's own coefficients (the thresholds of
    :func:`resdenoise.multilevel.choose_levels` with ``thresholds="coefficients"``, each
    level's noise given).  A level of 0 in some channel: ``(None, None)``."""
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    sig = np.broadcast_to(np.asarray(level.sigma, dtype=float), f2.shape[1:])
    if not np.all(sig > 0):
        return None, None
    k = max_scales(f2.shape[0])
    per_level = level_sigmas(f2, k, "boxes", sig)[0]
    ratios = [p / sig for p in per_level]  # each level's noise over level 1's, per channel
    given = NoiseLevel(sig, "given")
    plan = _levels(f2, name, k, given, 1, "one", "coefficients", None, ratios)[0]
    return plan, [sig * r for r in ratios]


def own_levels_choice(g, level) -> tuple:
    """``(plan, why, entries)``: :data:`OWN_LEVELS`'s plan for ``g`` (noise ``level``, read:
    never a given one) where the white SURE at the level and at the low end of its interval
    (:meth:`resdenoise.noise.NoiseLevel.at_low`) and the SURE over scales with each scale's
    own level (:func:`resdenoise.harm.gain_test` with ``per_level``) all expect a gain of
    :data:`resdenoise.gains.SIGNIFICANCE` standard errors or more; else ``(None, why,
    {})``.  ``entries``: the report's (each scale's level, the least of the three expected
    gains in dB).  Deterministic (the run's probe)."""
    plan, per_level = own_levels(g, "garrote", level)
    if plan is None or not plan.steps:
        return None, "not taken: no level shrunk", {}
    low, channels = level.at_low(), int(np.size(level.sigma))
    tests = (  # (what, (gain, se), SURE of doing nothing)
        ("the white SURE at the level", gain_test(plan, g, level), white_identity(level.sigma)),
        ("at its low end", gain_test(plan, g, low), white_identity(low.sigma)),
        (
            "the SURE over scales, each at its own level",
            gain_test(plan, g, level, per_level=per_level),
            frame_identity_sure(per_level, channels),
        ),
    )
    said = "; ".join(
        f"{what}: {gain / se:+.3g} standard errors" if se > 0 else f"{what}: {gain:+.3g}"
        for what, (gain, se), _ in tests
    )
    if not all(gain < -SIGNIFICANCE * se for _, (gain, se), _ in tests):
        why = f"not taken: not every SURE expects a gain of {SIGNIFICANCE:g} standard errors"
        return None, f"{why} ({said})", {}
    gains = [expected_gain_db(identity, gain) for _, (gain, _), identity in tests]
    entries = {
        "noise_sigma_per_scale": [float(np.max(s)) for s in per_level],
        "expected_gain_db": None if None in gains else min(gains),
    }
    return plan, f"taken: every SURE expects a gain ({said})", entries
