"""One automatic choice across families and scales, by the same risk estimate.

:func:`choose_denoiser` runs the automatic search of several commands on
one signal (after the impulse pre-stage where a channel is impulsive) and
keeps the one with the smallest SURE, the same estimate of the MSE per
sample for all (same noise level, same Monte-Carlo probe):

* ``diffuse`` Perona-Malik, ``regularise`` Charbonnier (lambda and time);
* ``shrink`` soft and garrote at one scale (threshold and iterations);
* ``shrink`` soft and garrote over several scales: the exact multilevel
  shift-invariant Haar shrinkage, a noise level and a SURE threshold per level
  (:func:`resdenoise.multilevel.choose_levels`), and ``diffuse`` Perona-Malik
  over several scales (lambda and blocks per scale, the cascade of
  :mod:`resdenoise.multiscale`);
* ``shrink`` garrote over several scales of a linear diffusion's residual, the two
  summed (:mod:`resdenoise.residual_levels`: the blocks of linear diffusion and the
  thresholds per level by SURE): smooth and oscillatory signals, whose Haar details
  leak into every fine level; ranked only where its SURE gain at the low end of the
  level's interval is :data:`RESIDUAL_SIGNIFICANCE` standard errors or more
  (:func:`residual_gate`), and not where the noise is confidently coloured (its
  residual's noise per level is white noise's).

Coloured noise
--------------
Every candidate's own search, and the first ranking, use SURE with one white
noise level.  When :func:`noise_per_level` judges the noise coloured (the
multilevel rule ``auto``: the box estimates of levels 2 and 3 rise), the
candidates are ranked again by SURE split over the levels of the Parseval
undecimated Haar frame, each level with its own noise
(:func:`resdenoise.haar_frame.frame_sure_terms`; for white noise it equals
the plain SURE exactly).  A rough signal's own coarse content also makes the
box estimates rise (a chirp in 10 % white noise was taken for coloured, its
multilevel choice 1.2 dB below the input), so the coloured ranking stands

* where the noise is confidently coloured: the uncapped level estimates lie
  on one power law (:func:`resdenoise.noise_colour.colour_evidence`: levels
  2-4 each rise by 1.25-1.8, level 5 does not fall, and white noise plus a Gaussian
  random walk does not fit them better, :func:`resdenoise.noise_colour.walk_like`; a
  rough signal's rise by 2-6 at some level, or fall where its band ends), or, where
  the signal pauses, the level sigmas of its quietest windows do
  (:func:`resdenoise.noise_colour.quiet_power_law`; where a roughness check set the
  level, also those of windows of 64 samples over levels 1-4, the pauses between an
  ECG's beats: :func:`resdenoise.noise_colour.paused_power_law`, and the level
  without the check is kept, unless a level rises beyond red noise's 2, a random walk's
  own content: :func:`resdenoise.noise_colour.rough_checked_evidence`), or, where the
  signal is tonal and never pauses (music),
  the spectral floor between its peaks does
  (:func:`resdenoise.noise_colour.tonal_power_law`); the report names the evidence; else
* only where the white SURE also expects a significant gain of its first
  choice; else the white ranking stands.

Measured (``benchmarks/bench_classes.py``): with the white confirmation
alone the coloured ranking seldom stood under pink noise (the white SURE with
the finest level's sigma rarely confirms a choice that removes coarse
noise); the power-law test is confident on pink speech, sensor traces and
Donoho-Johnstone signals and on none of 288 white cases (every class, two
chirps, 6 seeds), and there the coloured ranking cut the MSE against the
best peer from 1.07-1.37x to 0.95-1.0x (speech, sensor, Blocks, Bumps).  With the
thresholds per level by the output's SURE and garrote over scales
(:func:`resdenoise.multilevel.signal_thresholds`), pink noise against the
best peer: speech 0.977 -> 0.843, sensor 0.915 -> 0.744, Donoho-Johnstone
1.031 -> 0.884 (Doppler 1.300 -> 1.125: the Haar basis), music unchanged
(1.044: its box levels do not rise as one power law), measured 0.360 -> 0.362.
The bend test (white noise on random walks was called coloured) lost pink
speech (0.843 -> 1.073: speech's coarse content bends the box rises); the
quiet windows, read where speech pauses, call it again (1.073 -> 0.837)
without calling white noise on walks, AR(1) processes or any benchmark
class coloured.  Music never pauses: the floor between its harmonics calls
pink music coloured, and the multilevel shrinkage then takes each level's
threshold by the output's SURE: music in pink noise against the best peer
1.044 -> 0.931 (seed 100) and 1.057 -> 0.909 (seed 101), no other case of the
benchmark changed (140 cases, two seeds).

Perona-Malik over scales chooses a lambda and blocks per scale with the probe that also
scores it, so where it is first by white SURE its lead is scored again with probes no
search used (:func:`_fresh_first`).  Measured against the previous ranking (two seeds):
``bench_classes`` white 0.339 -> 0.328 of the best peer (21 choices, 8 gaining > 0.5 dB,
one losing: a sensor trace at 5 %, 75.4 -> 73.0 dB; the sensor traces at 30 % kept),
pink 0.607 -> 0.607; the audit's 16 held-out classes at 5/10/30 % white noise 0.981 ->
0.926 (26 cases moved, 14 gaining > 0.5 dB up to 4.4, one losing 0.67 dB).

Every search includes doing nothing, so the choice is never expected to be
worse than the input.  The extra dictionary says what was chosen, every
candidate's SURE, and why.  NumPy only.

Do no harm
----------
The level is resolved once and given to every candidate, and the input itself
(:data:`NOTHING`) is chosen, with the reason and a warning, where the choice is not
expected to help: :func:`do_no_harm` and its measurements, in :mod:`resdenoise.harm`.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .bounded import within
from .errors import check_signal
from .gains import (  # (moved there; importable from here as before)
    LITTLE_GAIN,
    OUTPUT_ENTRIES,  # noqa: F401
    SIGNIFICANCE,  # noqa: F401
    _no_gain,  # noqa: F401
    coloured_not_identified,
    kept_input,
    little_gain,
)
from .harm import (  # (moved there; importable from here as before)
    NOTHING,
    PRESTAGE_ONLY,
    _blocks,
    _confirmed,
    _levels,  # noqa: F401
    _nothing_done,
    do_no_harm,
    gain_test,
    probed_sums,
    with_prestage,
)
from .orientation import orienting
from .scaling import scaled_search, times_power_of_two
from .stopping import steady
from .untrusted import (  # (moved there; importable from here as before)
    _GIVE,
    _level_not_trusted,
    nothing_to_filter,
    pass_untrusted,
)

__all__ = [
    "CANDIDATES",
    "COMMAND_CANDIDATES",
    "NOTHING",
    "PRESTAGE_ONLY",
    "choice_phase",
    "choose_denoiser",
    "do_no_harm",
    "gain_test",
    "noise_per_level",
    "pass_untrusted",
]

#: (label, command, form, name)
CANDIDATES = (
    ("diffuse perona-malik", "diffuse", "diffusivity", "perona-malik"),
    ("regularise charbonnier", "regularise", "regulariser", "charbonnier"),
    ("shrink soft", "shrink", "shrinkage", "soft"),
    ("shrink garrote", "shrink", "shrinkage", "garrote"),
    ("shrink soft, scales", "shrink", "shrinkage", "soft"),
    ("diffuse perona-malik, scales", "diffuse", "diffusivity", "perona-malik"),
    ("shrink garrote, scales", "shrink", "shrinkage", "garrote"),
    ("shrink garrote, scales of a linear diffusion's residual", "shrink", "shrinkage", "garrote"),
)

#: Perona-Malik over scales (:mod:`resdenoise.multiscale`): a lambda and blocks per scale,
#: all by SURE with one probe, so its lead is scored again (:func:`_fresh_first`).
CASCADE = CANDIDATES[5][0]
#: The multilevel shrinkage of a linear diffusion's residual, the two summed
#: (:mod:`resdenoise.residual_levels`): smooth and oscillatory signals.
RESIDUAL = CANDIDATES[7][0]
#: :data:`RESIDUAL` is ranked only where it lowers SURE at the low end of the level's
#: interval by this many standard errors (:func:`residual_gate`).
RESIDUAL_SIGNIFICANCE = 4.5

#: ``--diffusivity auto`` and ``--shrinkage auto``: the families (and scales) one
#: command chooses among, by the same SURE as :data:`CANDIDATES`.
COMMAND_CANDIDATES = {
    "diffuse": (
        CANDIDATES[0],
        ("diffuse charbonnier", "diffuse", "diffusivity", "charbonnier"),
        CANDIDATES[5],
    ),
    "shrink": (
        CANDIDATES[2],
        CANDIDATES[3],
        ("shrink hard", "shrink", "shrinkage", "hard"),
        CANDIDATES[4],
        CANDIDATES[6],
    ),
}


def _single(choice, command: str):
    from .filters import as_identity, plan_diffuse, plan_regularise, plan_shrink

    m = max(choice.steps, 1)
    if command == "diffuse":
        plan = plan_diffuse(choice.nl, steps=m, tau=choice.tau)
    elif command == "regularise":
        plan = plan_regularise(choice.nl, m * choice.tau, m)
    else:
        plan = plan_shrink(choice.nl, m)
    return as_identity(plan) if choice.steps == 0 else plan


def noise_per_level(f, level):
    """``(sigmas, rule)``: the noise level per scale of ``f`` (a list per level of
    :func:`resdenoise.multilevel.level_sigmas` with rule ``auto``) when the noise is
    judged coloured, else None (white, or a given level, which is used at every
    scale)."""
    return _noise_per_level(f, level)[:2]


def _noise_per_level(f, level, evidence=None):
    """:func:`noise_per_level`, and the colour evidence of ``f`` at ``level`` (as
    :func:`resdenoise.multilevel._white_nugget`'s; ``evidence``: that, read already)."""
    from .multilevel import _level_sigmas, fixed_rule, max_scales

    if level.estimator == "given" or level.white_by_nugget():
        return None, fixed_rule(level), evidence
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    k = max_scales(f2.shape[0])
    sigmas, rule, evidence = _level_sigmas(f2, k, "auto", level.sigma, level.estimator, evidence)
    return (sigmas if rule.startswith("boxes") else None), rule, evidence


def _coloured_numbers(per_level, tested: dict) -> dict:
    """What the report's level and gain are of where the choice was scored by SURE split
    over scales (``per_level``: the noise of each, or None: white): the finest scale's
    level, and the gain of the detail scales alone.  The noise below the coarsest scale
    (coloured noise's strongest) passes untouched and is in neither SURE: pink noise on
    a river stage read 0.41x its std, and 13.2 dB expected where the output gained 5.0."""
    if per_level is None:
        return {}
    k = len(per_level)
    said = {
        "noise_sigma_of": (
            "the finest scale (coloured noise: its level rises with the scale, "
            f"scales 1-{k} in noise_sigma_per_scale where the plan has them); the noise's "
            "whole standard deviation is larger"
        )
    }
    if "expected_gain_db" in tested:
        said["expected_gain_db_of"] = (
            f"scales 1-{k} alone (SURE split over them, each with its noise): the noise "
            f"below scale {k} passes untouched and is in neither SURE, so the whole "
            "output's gain is lower"
        )
    return said


def _rises(rises) -> str:
    """The level rises of :func:`resdenoise.noise_colour.colour_evidence`, the largest channel's."""
    return ", ".join(f"{float(np.max(r)):.2f}" for r in rises)


#: What a rise of the box estimates of levels 2 and 3 that is not one power law says
#: (white noise on a gait trace or a sine with a step rises so by the signal's own coarse
#: content, and was called coloured noise).
_ROUGH_OR_COLOURED = (
    "levels 2 and 3 rise, not as one power law: coloured noise or the signal's own "
    "coarse content; the white SURE confirms the gain"
)


def choice_phase(label: str, low: bool = False) -> str:
    """The progress phase of the family choice while it searches candidate ``label``
    (``"choice: shrink garrote"``; ``"choice at the low end: ..."`` for the search again
    with the noise level's low end): ``progress(phase, done, total)`` counts candidates."""
    return f"choice{' at the low end' if low else ''}: {label}"


def residual_gate(plan, g, level) -> tuple[bool, str]:
    """``(admitted, why)``: whether :data:`RESIDUAL`'s ``plan`` (its search's on ``g``) is
    ranked: only where it has blocks and lowers SURE at the low end of ``level``'s interval
    (:meth:`resdenoise.noise.NoiseLevel.at_low`; the level itself where it is a point) by
    more than :data:`RESIDUAL_SIGNIFICANCE` standard errors (:func:`gain_test`, the run's
    probe of ``level``); ``why`` says so with the numbers.  Deterministic (the probe is).

    Why a gate: the candidate removes more than the others (m linear blocks and the
    residual's levels), so its SURE gain falls fastest as the level is over-read, and it
    passed :func:`do_no_harm`'s 2 standard errors where the level was read 2-3x (measured,
    white noise: tones over a red background at 5 %, 2.9 at the low end, 4.4 dB below the
    input; sunspots at 5 %, 2.8, 3.6 dB below), and on a clean sawtooth's rounding (4.0,
    the output no longer the input bit for bit); where it gained on held-out smooth and
    oscillatory classes it showed 5.0 (128 samples) to 45 standard errors there."""
    if not plan.steps:
        return False, "no blocks: not ranked"
    low = level.at_low()
    gain, se = gain_test(plan, g, low, sums=probed_sums(plan, g, level))
    where = "the level" if low is level else "the level's low end"
    if gain >= 0:
        said = "does not lower SURE"
    else:
        said = "lowers SURE by " + (f"{-gain / se:.3g} standard errors" if se > 0 else "a gain")
    if gain < -RESIDUAL_SIGNIFICANCE * se:
        return True, f"ranked: at {where} it {said}"
    return False, f"not ranked: at {where} it {said}, not {RESIDUAL_SIGNIFICANCE:g} or more"


def _ranked(
    g, level, candidates, evidence=None, progress=None, low: bool = False, gate=None, cap=None
) -> list:
    """Every candidate's ``(SURE, label, plan, extra)`` on ``g`` with noise ``level`` (the
    white SURE of its own search), smallest first; :data:`RESIDUAL` only where
    :func:`residual_gate` admits it (``gate``, a dict: its reason stored under the label).  ``evidence``: the colour evidence of
    ``g`` at ``level`` (:func:`resdenoise.multilevel._white_nugget`'s) when read already;
    else the first multiscale candidate reads it for the others.  ``progress(phase,
    done, total)`` (:func:`choice_phase`) before each candidate's search and at the end;
    ``cap``: the most blocks a one-scale candidate's search may run (``max_blocks``)."""
    from .autoparams import choose_parameters
    from .multilevel import _choose_levels
    from .multiscale import choose_diffusion_scales
    from .residual_levels import choose_residual_levels

    results, tick = [], None
    for i, (label, command, form, name) in enumerate(candidates):
        if progress is not None:  # told again as a search goes (a bar's clock moves)
            tick = partial(steady, progress, choice_phase(label, low), i, len(candidates))
            tick()
        if label == RESIDUAL:
            plan, risk, extra = choose_residual_levels(g, name, level)
            admitted, why = residual_gate(plan, g, level)
            if admitted:
                results.append((risk, label, plan, extra))
            if gate is not None:
                gate[label] = why
            continue
        if label.endswith("scales"):
            if command == "shrink":
                plan, choice, evidence = _choose_levels(g, name, sigma=level, evidence=evidence)
            else:
                plan, choice = choose_diffusion_scales(g, name, None, level)
            risk = choice.risks[-1] if choice.risks else choice.identity_risk
            results.append((risk, label, plan, choice.as_dict()))
            continue
        tau = 0.25 if command == "shrink" else None
        choice = choose_parameters(
            g, name, form, tau=tau, sigma=level, progress=tick, max_blocks=cap
        )
        results.append((choice.stopping.best, label, _single(choice, command), choice.as_dict()))
    if progress is not None and candidates:
        progress(choice_phase(candidates[-1][0], low), len(candidates), len(candidates))
    return sorted(results, key=lambda r: r[0])


def _fresh_first(results, g, level, shift: int = 0):
    """``(results, why)``: the ranking ``results`` (:func:`_ranked`'s, white SURE with
    ``level``) where its first is not :data:`CASCADE`; else scored again: the cascade and
    the runner-up, each run once with :data:`resdenoise.sure.FRESH_PROBES` probes that no
    search used (the same for both, :func:`resdenoise.sure.fresh_sums`), the runner-up
    first where the cascade's SURE is not below its own.  ``why`` says which and by how
    much (per sample, of the signal ``g * 2**shift``; the standard error of their paired
    difference, batch means as :func:`gain_test`'s).

    The cascade chooses a lambda and a count of blocks per scale, up to 8 scales, each by
    the smallest SURE over hundreds of trials with the one probe that also scores it: its
    minimum keeps that probe's noise.  Measured (audit of white-noise classes no benchmark
    holds): a quadratic drift in 30 % noise, the cascade 0.0047 per sample below
    Perona-Malik by its search's probe, 0.0050 above it by four fresh probes (its true MSE
    2.3x).  The other candidates search two parameters (one scale), or their thresholds
    per level by an exact divergence (shrinkage over scales), and keep their SURE."""
    from .sure import FRESH_PROBES, fresh_sums, gain_from_sums

    best = results[0]
    if best[1] != CASCADE or not best[2].steps or len(results) < 2:
        return results, None
    one = results[1]
    f2 = np.asarray(g, dtype=float).reshape(np.shape(g)[0], -1)
    sums = [fresh_sums(_blocks(r[2]) if r[2].steps else None, f2, level.sigma) for r in (best, one)]
    diff, se = gain_from_sums(sums[0] - sums[1], level.sigma, f2.shape[0])
    diff += 2 * float(np.sum(np.square(level.sigma)))  # (each gain's -2 sigma^2 cancels)
    said = f"{abs(times_power_of_two(diff, 2 * shift)):.6g} per sample"
    side = "below" if diff < 0 else "above" if diff > 0 else "equal to"
    why = (
        f"scored again with {FRESH_PROBES} probes its search did not use, the SURE of "
        f"{best[1]} is {said} {side} that of {one[1]} (standard error "
        f"{times_power_of_two(se, 2 * shift):.6g})"
    )
    return (results if diff < 0 else [one, *(r for r in results if r is not one)]), why


@orienting  # every probe of every candidate lies as on f, the signal given
def choose_denoiser(f, sigma=None, candidates=CANDIDATES, labels=None, progress=None,
                    bounds=None, known=None):  # fmt: skip
    """``(plan, extra)``: the candidate with the smallest SURE (see the module docstring).

    ``sigma``: the noise level when known.  ``extra['automatic_choice']``
    names the choice and the reason, ``extra['automatic_candidates']`` every
    candidate's SURE (a mean squared error estimate per sample; under
    coloured noise, :func:`noise_per_level`, SURE split over scales with each
    scale's noise, :func:`gain_test`, for every candidate).  Doing nothing is
    chosen, and said so, by :func:`do_no_harm` (``labels``: how its reason names each
    channel, e.g. a file's ``column 3 ('rough')``).  ``progress(phase, done, total)``
    as the candidates are searched: ``done`` of ``total`` candidates, ``phase``
    naming the one searched (:func:`choice_phase`).  ``bounds``: ``(lo, hi)``, the range
    the output must stay in (a file's sample type: integer PCM holds -1 up to just below
    1): a choice whose output leaves it is left out and the best of the other candidates
    taken (:func:`resdenoise.bounded.within`), said in a warning; never clipped.  ``known``:
    the search's level of ``f`` estimated already (:func:`resdenoise.split.levels_apart`).

    Samples whose squares would over- or underflow are searched divided by a power of
    two, the plan and every number of the report multiplied back
    (:func:`resdenoise.scaling.scaled_search`): the choice for ``f`` is the one for
    ``f / 2**k``, bit for bit.

    Raises
    ------
    SignalError
        ``f`` is not a signal of 2 or more samples, all finite (as
        :func:`resdenoise.diffuse` refuses it).
    """
    f = np.asarray(f, dtype=float)
    check_signal(f)  # diffuse(f, "auto")'s SignalError: never a choice from NaN SURE
    search = partial(_chosen, f, sigma=sigma, labels=labels, progress=progress, known=known)
    plan, extra = search(candidates=candidates)
    if bounds is None:
        return plan, extra
    return within(f, plan, extra, bounds, search, candidates)


def _chosen(f, candidates, labels, shift: int = 0, sigma=None, progress=None, known=None):
    """:func:`choose_denoiser` of ``f``, the signal divided by ``2**shift`` (as the
    reasons say their numbers), divided further where its squares would over- or
    underflow."""
    search = partial(_choose, candidates=candidates, labels=labels, progress=progress)
    return scaled_search(search, f, shift, known=known, sigma=sigma)


def _choose(f, candidates, labels, shift: int, sigma, progress=None, known=None):
    """:func:`choose_denoiser` of the samples as they are (the signal divided by
    ``2**shift``; ``known``: their search level, estimated already, or None)."""
    from .filters import as_identity
    from .haar_frame import frame_identity_sure
    from .impulses import hampel_stage
    from .multilevel import _white_nugget
    from .noise import resolve_sigma

    # the level, and its colour evidence, once for every candidate ...
    level = resolve_sigma(f, sigma, search=True) if known is None else known
    level, evidence = _white_nugget(f, level)
    stage = hampel_stage(f, level.sigma)
    g = f
    if stage.active:  # ... of the signal the candidates see
        g = stage.apply(f)
        level, evidence = _white_nugget(g, resolve_sigma(g, sigma, search=True))
    # a channel whose level is not trusted passed through, the others chosen for alone
    search = partial(_chosen, sigma=sigma, candidates=candidates, shift=shift, progress=progress)
    passed, distrusted = pass_untrusted(g, level, labels, search, f, given=sigma)
    if passed is not None:
        return passed
    cap = None  # every channel clean or constant: the input, whatever is chosen (no search)
    if nothing_to_filter(distrusted):  # the first one-scale candidate, up to 1 block
        single = [c for c in candidates if c[0] != RESIDUAL and not c[0].endswith("scales")]
        cap, candidates = 1, tuple(single[:1]) or candidates
    per_level, rule, evidence = _noise_per_level(g, level, evidence)
    unidentified = coloured_not_identified(g, per_level)  # gains.py: the input, no search
    if unidentified is not None:
        single = [c for c in candidates if c[0] != RESIDUAL and not c[0].endswith("scales")]
        cap, candidates, per_level = 1, tuple(single[:1]) or candidates, None
        rule += "; " + unidentified
    gate: dict = {}
    if per_level is not None and evidence[0] and any(c[0] == RESIDUAL for c in candidates):
        # the residual's noise per level is white noise's through I - L_m: not ranked
        # where the noise is confidently coloured (music in pink noise lost 0.3-0.6 dB)
        candidates = tuple(c for c in candidates if c[0] != RESIDUAL)
        gate[RESIDUAL] = "not ranked: the noise is coloured (its levels rise as one power law)"
    white = _ranked(g, level, candidates, evidence, progress, gate=gate, cap=cap)
    results, tests, scored = white, {}, "smallest SURE"
    if per_level is not None:  # coloured: every candidate by SURE split over scales ...
        nothing = frame_identity_sure(per_level, g.reshape(g.shape[0], -1).shape[1])
        rescored = []
        for row in white:
            plan = row[2]
            tests[row[1]] = gain_test(plan, g, level, per_level=per_level) if plan.steps else None
            rescored.append((nothing + (tests[row[1]][0] if tests[row[1]] else 0.0), *row[1:]))
        rescored.sort(key=lambda r: r[0])
        first = rescored[0]
        # ... kept only where the white model also expects a significant gain (a rough
        # signal's own coarse content reads as coloured noise: a chirp at 10 % white
        # noise, its choice 1.2 dB below the input); else the white ranking
        confident, rises, by = evidence  # read by _noise_per_level (the boxes rise)
        if confident:  # the level sigmas follow one power law: no white confirmation
            rule += f"; levels 2-5 rise as one power law ({_rises(rises)}): confident"
            if by not in rule:  # the level rule names it already where it was confident
                rule += f", by {by}"
        if confident or (first[2].steps and _confirmed(first[2], g, level)):
            results, scored = (
                rescored,
                "smallest SURE over scales ("
                + ("coloured noise)" if confident else _ROUGH_OR_COLOURED + ")"),
            )
        else:
            per_level, tests = None, {}
            rule += "; the white-noise SURE did not confirm it: ranked as white"
    fresh = None
    if per_level is None:  # the cascade's lead scored again with probes it did not see
        top = results[0][1]
        results, fresh = _fresh_first(results, g, level, shift)
    risk, label, plan, extra = results[0]
    runner_up = results[1] if len(results) > 1 else None
    said = partial(times_power_of_two, shift=2 * shift)  # SURE of the signal
    reason = f"{scored} ({said(risk):.6g} per sample)"
    if fresh is not None and label != top:
        reason = f"{scored} ({said(risk):.6g} per sample) but for {top}: {fresh}"
    elif runner_up is not None:
        reason += f"; next: {runner_up[1]} ({said(runner_up[0]):.6g})"
        if fresh is not None:
            reason += f"; {fresh}"
    notes = list(extra.get("warnings", []))

    def at_low(low):  # the search again with the level's low end (white ranking); where
        # the nugget set the level, its evidence is the level's without the nugget: the same
        evidence_low = evidence if low.white_by_nugget() else None
        ranked = _ranked(g, low, candidates, evidence_low, progress, low=True)
        first = _fresh_first(ranked, g, low)[0][0]
        return first[2], first[1], first[3]

    if unidentified is not None and _level_not_trusted(g, level, labels, distrusted) is None:
        plan, refused = as_identity(plan, refused=True), unidentified
        note, tested = _nothing_done(unidentified, _GIVE), {}
    else:
        plan, refused, note, tested = do_no_harm(
            plan,
            g,
            level,
            per_level,
            tests.get(label),
            f"the best candidate ({label})",
            at_low,
            labels=labels,
            distrusted=distrusted,
            shift=shift,
        )
    extra = {**extra, **tested, **_coloured_numbers(per_level, tested)}
    notes = [n for n in notes if not n.startswith(LITTLE_GAIN)] + little_gain(tested)
    if refused is not None:
        label, reason, notes, extra = NOTHING, refused, [note], kept_input(extra)
    elif "backed_off_to" in tested:  # the candidate chosen at the low end, its own details
        extra, label, reason = tested, tested["backed_off_to"], tested["low_end"]
        notes = [f"{reason}; {label}, chosen at the low end, is used"]
    extra = {
        **{k: v for k, v in extra.items() if k != "warnings"},
        **stage.as_dict(),
        "noise_estimators": level.per_channel(),
        "noise_rule_per_scale": rule,
        "automatic_choice": label,
        "automatic_reason": reason,
        "automatic_candidates": {r[1]: r[0] for r in results},
        **({"residual_levels_gate": gate[RESIDUAL]} if RESIDUAL in gate else {}),
    }
    if notes:
        extra["warnings"] = notes
    return with_prestage(plan, extra, stage, f, shift)
