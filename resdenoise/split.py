"""Each channel its own automatic parameters, where the channels' noise levels differ.

An automatic search (``--time auto`` and the other automatic stopping times, ``--scales``
searched, ``resdenoise denoise`` and ``--diffusivity/--shrinkage auto``) chooses from one
signal: run on several channels together it chooses one family, lambda, stopping time and
scales for all, set by the loudest channel's noise.  Where the channels' noise levels
differ by more than :data:`SPLIT_FACTOR` (estimated as the search estimates them,
:func:`resdenoise.noise.search_noise`), or where the caller gives one level per channel
(``--sigma 0.01,0.05``, ``sigma=(0.01, 0.05)``) that are not all the same, each channel
gets the plan of a run of its own, bit for bit (its own search, family, lambda, blocks and
scales; :class:`resdenoise.passing.SplitPlan` runs each on its channel through the one
engine).  Equal levels, and every one-channel signal, are planned together as before.

:data:`SPLIT_FACTOR` was measured (``benchmarks/bench_channels.py``, 4096 samples, white
noise at 10 % of each clean channel's std, two draws; speech-, music- and step-like signals
and two pairs of the Donoho-Johnstone signals; ``shrink --iterations auto``, ``diffuse
--time auto``, ``denoise``): a quiet channel beside one k times louder gains, planned
apart, on average 2.0 dB at k = 2 (the loud one -1.2 dB: a channel alone, its level
under-read, whose do-no-harm check at the level's low end backs off, as in a run of its
own), 5.3 dB at k = 4 (loud +0.6), 9.9 dB at k = 20 (loud -0.1).  The estimates saw k = 2 as
1.6-2.0x apart and k = 1 as 1.00-1.05x.  Apart at k = 1 (always) gained 1.0 dB on average
too, from channels of different content (Blocks beside Bumps: up to 9.6 dB), and lost up to
2.2 dB on channels alike: not taken always, but where SURE says so.

Channels of one level (:func:`apart_by_content`): SURE is additive over channels, so the
joint plan and the channels' own plans are both scored on the signal, with the same
:data:`CONTENT_PROBES` Monte-Carlo probes, none of them a search's, and the channels are
planned apart where the apart plans' SURE (summed) lies below the joint plan's by more than
:data:`CONTENT_SIGNIFICANCE` standard errors (batch means of the paired difference) at three
levels: the level, the low end of its interval, and every channel at the largest channel's
level.  Else the joint plan, bit for bit as before.  The margin is wide because each
channel's own search keeps the smallest SURE of its own candidates: their minimum is
optimistic, and more so for two searches than for one.  The third level guards against a
channel whose level was under-read: planned alone it smooths too little, and SURE at its
own level agrees (music with itself at 30 % noise, one channel's level read by the nugget
at 0.7x: apart 7.8-18.7 standard errors below at the level and its low end, 2.1-3.6 dB
worse in truth).  Measured (``benchmarks/bench_channels.py``, the equal-level block: 4096
samples, white noise at 5, 10 and 30 %, three modes; 63 cases of one signal in both
channels, 27 of two realisations of a class, 72 of two classes), against the joint plan,
per channel: at 4 standard errors the alike cases split 2 of 90 times, never losing
(+0.10 and +0.38 dB at most); the different ones 35 of 72, +1.79 dB on average (up to
+17.8 dB, steps beside music under ``diffuse --time auto``), the worst channel -0.39 dB.
Other noise draws (``--first-seed 1``, the rule not tuned on them): alike 0 of 90 split;
different 33 of 72, +1.61 dB on average (up to +13.4), the worst channel -1.12 dB (music
beside steps under ``diffuse --time auto``, the steps +10.5 dB).  Scored at the level and
its low end only, alike channels lost up to 2.5 dB (seed 0) and 1.7 dB (seed 1).  It costs
the searches apart besides the joint one (and the scoring, 2 x 5 runs of a plan): CPU
2.1x for stereo over the block (shrink 2.5x, diffuse 3.7x: apart plans of many more
blocks where they win, denoise 1.9x).

That cost is paid only where a cheap gate opens (:func:`content_gate`, above
:data:`CONTENT_GATE`): on the finest Haar scales of at least :data:`GATE_COEFFICIENTS`
coefficients, soft thresholding's SURE with one threshold for all channels against each
channel's own, the thresholds chosen on one half of each scale's coefficients and scored
on the other (so the channels' own thresholds gain nothing by chance), in standard errors.
Alike channels read about -1 to 2, channels of different content up to 20 and more; it
costs about a millisecond per 4096 stereo samples.  Where it stays closed the joint plan
is kept, bit for bit, and nothing else is searched.  Measured (the equal-level block,
``benchmarks/bench_channels.py``; the gate's figures in the README): it opens on about 2 %
of alike cases at any length from 1024 to 262144 samples (the rule then costs 1.002x the
joint search on them) and on about 70 % of different ones at 4096 (more, longer), and
keeps 87-95 % of the ungated rule's gain (it misses Blocks beside Bumps under ``diffuse
--time auto``: both sparse in Haar alike).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

import numpy as np

from .errors import ParameterError

__all__ = [
    "CHANNEL_NOISE_FACTOR",
    "CONTENT_GATE",
    "CONTENT_SIGNIFICANCE",
    "SPLIT_FACTOR",
    "apart_by_content",
    "channel_levels_note",
    "content_gate",
    "content_test",
    "levels_apart",
    "network_levels_note",
    "network_run",
    "plan_apart",
    "ratio_said",
    "sigmas",
]

#: Channels whose estimated noise levels differ by more than this factor are planned apart
#: where parameters are searched (see the module's measurements).
SPLIT_FACTOR: Final = 1.5


def ratio_said(high: float, low: float) -> str:
    """``high / low`` as a factor, ``2.5x``; where float64 holds no such ratio (1e300
    over 1e-300), by the difference of their logarithms, ``1e+600x``: the one wording of
    two noise levels' ratio (channels planned apart, :func:`channel_levels_note`, learn's
    training file note)."""
    ratio = high / low
    if math.isfinite(ratio):
        return f"{ratio:.3g}x"
    return f"1e{math.log10(high) - math.log10(low):+.0f}x"


def sigmas(sigma):
    """A noise level given: None, one number (every channel), or one per channel (a tuple
    of two or more; one number in a sequence is that number), each a finite number > 0."""
    from .errors import check_positive

    if sigma is None or np.ndim(sigma) == 0:
        return None if sigma is None else check_positive("sigma", sigma)
    values = tuple(check_positive("sigma", v) for v in np.asarray(sigma, dtype=object).ravel())
    if not values:
        raise ParameterError("sigma must be a number or one number per channel, got none")
    return values[0] if len(values) == 1 else values


def _channels(u) -> int | None:
    """The channel count of samples ``u`` (None: a streamed file's summary)."""
    from .filters import Summary

    if isinstance(u, Summary):
        return int(u.channels)
    u = np.asarray(u)
    return 1 if u.ndim < 2 else int(np.prod(u.shape[1:]))


def levels_apart(u, sigma, searched: bool):
    """``(sigma, why, passed, level)``: the level each channel of ``u`` is planned with
    (None: estimated), why they are planned apart, and the channels whose estimated level
    is not trusted (:func:`resdenoise.automatic.pass_untrusted`'s rules, channel: why;
    passed through unchanged), where they are planned apart; else ``(sigma, None, {},
    level)``, the level the whole signal is planned with (a level given per channel that
    is the same for every one: that number).  ``level``: the search's level of ``u``
    (:func:`resdenoise.noise.search_noise`) where it was estimated here to compare the
    channels and they are planned together, for the search to take as it is (estimated
    once); None elsewhere.  The channels' levels are compared without those not trusted
    (a clean or constant column, a rough one whose level is its own content).  Refuses a
    count of levels given that is not the channels' count, and levels given per channel
    that differ where nothing is searched (one lambda for all channels: one level)."""
    if not isinstance(sigma, tuple):
        if sigma is not None or not searched:
            return sigma, None, {}, None
        count = _channels(u)
        if count is None or count < 2 or not isinstance(u, np.ndarray | list | tuple):
            return sigma, None, {}, None
        from .noise import search_noise
        from .untrusted import _distrusted

        x = np.asarray(u)
        level = search_noise(x)
        levels = np.broadcast_to(np.asarray(level.sigma, dtype=float).ravel(), (count,))
        shown = levels[levels > 0.0]
        if shown.size < 2 or not shown.max() > SPLIT_FACTOR * shown.min():
            return sigma, None, {}, level  # alike: the trust rules are the search's to read
        distrusted = _distrusted(x, level)
        trusted = [float(v) for c, v in enumerate(levels) if c not in distrusted and v > 0.0]
        if len(trusted) < 2 or not max(trusted) > SPLIT_FACTOR * min(trusted):
            return sigma, None, {}, level
        why = f"estimated noise levels {ratio_said(max(trusted), min(trusted))} apart, more than "
        why += f"{SPLIT_FACTOR:g}x"
        return [None] * count, why, distrusted, None
    count = _channels(u)
    if len(sigma) != count:
        raise ParameterError(
            f"sigma gives {len(sigma)} noise levels for {count} channel"
            f"{'' if count == 1 else 's'}: give one level for all, or one per channel",
            parameters=["sigma"],
        )
    if len(set(sigma)) == 1:
        return sigma[0], None, {}, None
    if not searched:
        raise ParameterError(
            "one noise level per channel is for the automatic searches (an 'auto' stopping "
            "time, searched scales, denoise), which choose each channel's parameters from "
            "its own level; here one lambda serves every channel: give sigma one level",
            parameters=["sigma"],
        )
    return list(sigma), "noise levels given per channel", {}, None


def plan_apart(plan_one, u, labels, levels: list, why: str, passed: dict):
    """``(plan, extra)`` of ``u`` where each channel has its own plan: ``plan_one(x, sigma,
    labels)`` is the planner's run on channel ``x`` alone (shape ``(n,)``) with its level
    (None: estimated) and its label; the channels ``passed`` (channel: why) are passed
    through unchanged, said as :func:`resdenoise.automatic.pass_untrusted` says it.
    ``extra``: ``channels_planned_apart`` (why), ``channel_plans`` (label: what the data
    chose for that channel), ``passed_through_reasons`` and ``filtered_channels`` where
    channels are passed through, ``lambda_rule`` where a channel's lambda was automatic,
    each channel's warnings named by it."""
    from .orientation import oriented_channels
    from .passing import select_channels, split_plan
    from .stability import channel_labels
    from .untrusted import _GIVE, _NOTHING_TO_FILTER

    u = np.asarray(u)
    names = channel_labels(len(levels), labels)
    notes = [
        f"{names[c]} passed through unchanged: {reason}"
        + ("" if reason in _NOTHING_TO_FILTER else f"; {_GIVE}")
        for c, reason in passed.items()
    ]
    plans, chosen = [], {}
    for c, (name, sigma) in enumerate(zip(names, levels, strict=True)):
        if c in passed:
            plans.append(None)
            continue
        with oriented_channels([c]):  # its probes as on the channel alone
            plan, extra = plan_one(select_channels(u, [c]), sigma, [name])
        plans.append(plan)
        chosen[name] = {k: v for k, v in extra.items() if k != "warnings"}
        notes += [w if w.startswith(name) else f"{name}: {w}" for w in extra.get("warnings", [])]
    extra = {"channels_planned_apart": why, "channel_plans": chosen}
    if passed:
        extra["passed_through_reasons"] = {names[c]: reason for c, reason in passed.items()}
        extra["filtered_channels"] = [n for c, n in enumerate(names) if c not in passed]
    if any("lambda_rule" in e for e in chosen.values()):
        extra["lambda_rule"] = "per channel"
    if notes:
        extra["warnings"] = notes
    return split_plan(plans, passed), extra


def network_levels_note(plan, u, labels=None) -> str | None:
    """The warning of :func:`channel_levels_note` for a network file run
    without a search (no ``stop``) whose lambda is automatic (``lambda = "auto"``,
    ``lambda-scale``): one lambda for all channels, set by the loudest channel's noise
    (:func:`resdenoise.filters.auto_lambda`); None where no lambda was automatic."""
    from .filters import Summary
    from .noise import resolve_sigma

    if "lambda_auto" not in getattr(plan, "parameters", {}):
        return None
    if isinstance(u, Summary):
        sigma = np.asarray(u.noise_sigma, dtype=float).ravel()
    else:
        x = np.asarray(u, dtype=float)
        sigma = np.asarray(resolve_sigma(x.reshape(x.shape[0], -1), None).sigma).ravel()
    return channel_levels_note({"noise_sigma": list(sigma), "lambda_rule": "auto"}, labels, u)


#: Channels whose estimated noise levels differ by more than this factor are warned of
#: where parameters are automatic and one for all channels (set by the loudest's noise):
#: where they are searched the channels are planned apart instead (resdenoise.split), so
#: this is the automatic lambda of a given stopping time.  Measured when it was added (a
#: quiet channel beside one k times louder, signal and noise, on steps with a sine, music-
#: and speech-like signals): at k = 2 the quiet channel loses at most 1.3 dB (0 for music-
#: and speech-like signals), at 4 up to 2.7 dB, at 20 19 dB (shrink's automatic family)
#: against a run of its own.
CHANNEL_NOISE_FACTOR: Final = 4.0


def channel_levels_note(extra: dict, labels=None, u=None) -> str | None:
    """The warning where automatic parameters (``extra`` says which) were chosen for
    channels whose estimated noise levels (``extra["noise_sigma"]``) differ by more than
    :data:`CHANNEL_NOISE_FACTOR`; None elsewhere (one channel, levels given or alike, no
    automatic parameter).  A channel whose level reads 0 beside a nonzero one is warned
    of too where ``u`` (the samples, or a streamed file's summary) shows it is not
    constant (a wrapping sample counter, any clean column: filtered at the loud
    channel's lambda); a constant one is not (no block changes it)."""
    sigma = extra.get("noise_sigma") or ()
    automatic = extra.get("lambda_rule", "given") != "given" or any(
        key in extra for key in ("stopping_rule", "automatic_choice")
    )
    levels = [(float(v), c) for c, v in enumerate(sigma) if float(v) > 0.0]
    if not automatic or extra.get("noise_estimator") == "given" or not levels:
        return None
    from .stability import channel_labels

    (high, loud) = max(levels)
    moving = _moving(u, len(sigma))
    silent = [c for c, v in enumerate(sigma) if not float(v) > 0.0 and moving[c]]
    if silent:
        names = channel_labels(len(sigma), labels)
        said = ", ".join(names[c] for c in silent)
        return (
            f"{said} read{'s' if len(silent) == 1 else ''} no noise (0) beside "
            f"{names[loud]}'s ({high:.3g}), yet {'it is' if len(silent) == 1 else 'they are'} "
            f"not constant (a counter or index? a clean column?): the automatic "
            f"parameters, one for all channels, fit the loudest's noise and change it; "
            f"name the other columns with --columns (it is then written back unchanged), "
            f"or filter it in a run of its own"
        )
    if len(levels) < 2:
        return None
    (low, quiet) = min(levels)
    if not high > CHANNEL_NOISE_FACTOR * low:
        return None
    names = channel_labels(len(sigma), labels)
    return (
        f"{names[quiet]}'s noise ({low:.3g}) is {ratio_said(high, low)} below {names[loud]}'s "
        f"({high:.3g}): the automatic parameters, one for all channels, fit the loudest's "
        f"noise; filter {names[quiet]} in a run of its own (--columns)"
    )


def _moving(u, count: int) -> list[bool]:
    """Whether each of the ``count`` channels of ``u`` (the samples, or a streamed file's
    summary with its least and greatest samples) is not constant; False where not known
    (``u`` None, a summary without them)."""
    from .filters import Summary

    if u is None:
        return [False] * count
    if isinstance(u, Summary):
        lo, hi = getattr(u, "minimum", None), getattr(u, "maximum", None)
        if lo is None or hi is None:
            return [False] * count
        moving = np.asarray(hi, dtype=float).ravel() > np.asarray(lo, dtype=float).ravel()
    else:
        x = np.asarray(u)
        x = x.reshape(x.shape[0], -1)
        moving = np.any(x != x[:1], axis=0) if x.shape[0] else np.zeros(x.shape[1], bool)
    moving = [bool(m) for m in moving]
    return moving if len(moving) == count else [False] * count


def network_run(
    spec, u, lam=None, tau=None, h: float = 1.0, sigma=None, progress=None, labels=None
):
    """``(plan, extra)`` of a network file on ``u``, as ``resnet --network`` runs it
    (:class:`resdenoise.plans.NetworkPlanner`): every block, or with ``stop`` the depth
    of :func:`stopped_network`, where the channels' noise levels differ by more than
    :data:`resdenoise.split.SPLIT_FACTOR` (or ``sigma`` gives one level per channel that
    differ) each channel's own, as a run of it alone (:func:`resdenoise.split.plan_apart`).
    ``sigma``: the noise level given, of the stop's search and the automatic lambda
    (one for all channels without ``stop``); said unused where the file has neither."""
    from .network import build_network, unused_defaults
    from .network_stop import strides_note

    notes = unused_defaults(spec, lam, tau)  # said, not ignored silently
    if spec.stop is None:
        level = levels_apart(u, sigma, False)[0]  # one lambda for all channels: one level
        plan = build_network(spec, u, lam=lam, tau=tau, h=h, sigma=level)
        extra = {}
        if level is None:
            notes.insert(0, network_levels_note(plan, u, labels))  # lambda = "auto"
        elif "lambda_auto" in plan.parameters:  # the level the automatic lambda took
            extra = {"noise_sigma": [float(level)], "noise_estimator": "given"}
        else:
            notes.append(
                f"the noise level given (--sigma) is not used: every block of {spec.source} "
                'has its lambda and it has no stop = "sure" (--sigma sets a network\'s '
                "automatic lambda and the noise level of its stop)"
            )
    else:

        def alone(x, level=None, labels=None):  # as a run of that channel alone
            return _stopped_together(spec, x, (lam, tau, h, progress), level, None, labels)

        # channels of levels apart: each its own depth (and lambda), as a search's
        levels, apart, passed, known = levels_apart(u, sigma, True)
        if apart is None:  # the level compared is the search's: estimated once
            plan, extra = _stopped_together(spec, u, (lam, tau, h, progress), levels, known, labels)
        else:
            plan, extra = plan_apart(alone, u, labels, levels, apart, passed)
    notes.append(strides_note(spec, u))
    notes = [note for note in notes if note is not None]
    if notes:
        extra = {**extra, "warnings": [*extra.get("warnings", []), *notes]}
    return plan, extra


def _stopped_together(spec, u, bound, sigma, known, labels):
    """:func:`resdenoise.network_stop.stopped_network` of ``u``'s channels together
    (``bound``: its ``lam, tau, h, progress``; ``known``: :func:`levels_apart`'s level),
    with the automatic searches' rules for a level not trusted
    (:func:`resdenoise.untrusted.pass_untrusted`, the same warnings): where some but not
    all channels' level is not trusted, those are passed through unchanged and the others
    searched alone; where every channel's is, the input is kept (``nothing done: ...``,
    0 blocks; the stop searched one block only).  A stop's depth and lambda are a
    search's: a level that cannot be told (the noise most of a channel's variance) would
    set the automatic lambda of every channel, and SURE at it removes the content."""
    from .harm import _INPUT_KEPT, _nothing_done
    from .network_stop import stopped_network
    from .noise import resolve_sigma
    from .untrusted import _GIVE, _NOTHING_TO_FILTER, _level_not_trusted, pass_untrusted

    x = np.asarray(u)
    x2 = x.reshape(x.shape[0], -1) if x.ndim else x
    level = known
    if level is None:  # (a level given: read only for a constant channel)
        level = resolve_sigma(x2, sigma, search=True)

    def search(sub, labels=None, sigma=sigma):
        return _stopped_together(spec, sub, bound, sigma, None, labels)

    passed, why = pass_untrusted(x, level, labels, search, given=sigma)
    if passed is not None:
        return passed
    known = level if sigma is None else None  # estimated once
    if not why:
        got = stopped_network(spec, u, *bound, sigma, known)
        return _no_harm_stopped(spec, u, bound, got, (level, labels))
    # every channel's level not trusted: the input, as the automatic searches keep it
    plan, extra = stopped_network(replace(spec, max_blocks=1), u, *bound, sigma, known)
    reason = _level_not_trusted(x, level, labels, why)
    advice = _INPUT_KEPT if reason.endswith(_NOTHING_TO_FILTER) else _GIVE
    return _input_kept(spec, plan, extra, reason, _nothing_done(reason, advice))


def _input_kept(spec, plan, extra: dict, reason: str, note: str):
    """A stopped network's plan and entries where the input is kept (0 blocks: ``reason``,
    the warning ``note``), its stop's own warning dropped."""
    from .network_stop import cut_network, default_cap

    cap = spec.max_blocks or default_cap(sum(b.repeat for b in spec.blocks))
    extra = {
        **extra,
        "blocks_chosen": 0,
        "max_blocks": cap,
        "stopping_criterion": extra["sure_of_input"],
        "depth_reason": f"the input is kept: {reason}",
        "do_no_harm": reason,
        "warnings": [
            note,
            *(w for w in extra.get("warnings", []) if not w.startswith('stop = "sure"')),
        ],
    }
    return cut_network(plan, 0), extra


def _no_harm_stopped(spec, u, bound, got: tuple, read: tuple):
    """``got``, :func:`resdenoise.network_stop.stopped_network`'s plan and entries for
    ``u``, under the gain tests of the automatic searches' choices at the level
    (:func:`resdenoise.harm.do_no_harm`, ``read``: the search's level and the channels'
    labels): SURE's gain over the input significant (2 standard errors), SURE at the
    level not so far below 0 that the level is over-read, and under 192 samples the same
    gain scored with fresh probes; where one fails, the input is kept (0 blocks,
    ``nothing done: ...``).  Not the searches' test at the level's low end: a learned
    network's SURE, by its probe, reads much less gain than it makes (a 700 x 2 step and
    cosine at noise 0.2: -0.035 per sample against the true -0.077; 12.1 dB), and at the
    low end none that is significant: measured on four signals, the low-end test kept
    three inputs back that the stop improved by 3.3, 4.0 and 12.1 dB.  Samples whose
    squares would over- or underflow are tested divided by a power of two (the reasons
    say the signal's numbers)."""
    from .gains import kept_input
    from .harm import do_no_harm
    from .scaling import _level_times, level_shift

    plan, extra = got
    if not plan.steps:  # the stop chose the input itself
        return got
    level, labels = read
    k = level_shift(u) if plan.scalable else 0  # (a formula's network: as it is)
    f = np.ldexp(np.asarray(u, dtype=float), -k)
    _, refused, note, tested = do_no_harm(
        plan.scaled(-k),
        f,
        replace(_level_times(level, -k), low=None),  # the level itself: no low end's test
        name="the stopped network",
        labels=labels,
        shift=k,
    )
    if refused is not None:
        return _input_kept(spec, plan, kept_input({**extra, **tested}), refused, note)
    return plan, {**extra, **tested}


#: Channels of one level are planned apart where the sum of their own plans' SURE lies below
#: the joint plan's by more than this many standard errors (at the level and at its low
#: end), see :func:`apart_by_content`.
CONTENT_SIGNIFICANCE: Final = 4.0
#: The probes that score the joint and the apart plans (the same for both; their seeds are
#: ``PROBE_SEED + CONTENT_SEED + k``, none of them a search's).
CONTENT_PROBES: Final = 4
CONTENT_SEED: Final = 101


def content_sums(run, u: np.ndarray, sigma, probes: int = CONTENT_PROBES) -> np.ndarray:
    """:func:`resdenoise.sure.gain_sums` of ``run`` (a plan's run) on ``u`` (shape ``(n,
    c)``), the divergence by ``probes`` Monte-Carlo probes no search used (their mean), each
    probed copy run on its own (a joint plan's parameters may be per channel)."""
    from .sure import PROBE_SEED, gain_sums, sure_probe

    uf = np.asarray(run(u), dtype=float).reshape(u.shape)
    sums = []
    for k in range(probes):
        b, eps = sure_probe(u, sigma, PROBE_SEED + CONTENT_SEED + k)
        up = np.asarray(run(u + eps * b), dtype=float).reshape(u.shape)
        sums.append(gain_sums(u, uf, up, b, eps))
    return np.mean(sums, axis=0)


def content_test(together, apart, u: np.ndarray, sigmas) -> list[tuple[float, float]]:
    """``[(change, se), ...]``: SURE of the plan ``apart`` on ``u`` minus that of the plan
    ``together`` (per sample, summed over channels; negative: apart expected better) and
    the standard error of the batch means of their paired difference, at each noise level
    of ``sigmas`` (one per channel each), from one scoring of each plan
    (:func:`content_sums`, the probes of the first level)."""
    from .sure import gain_from_sums

    diff = content_sums(apart.run, u, sigmas[0]) - content_sums(together.run, u, sigmas[0])
    out = []
    for sigma in sigmas:
        change, se = gain_from_sums(diff, sigma, u.shape[0])
        out.append((change + 2.0 * float(np.sum(np.square(sigma))), se))
    return out


def _content_tried(plan, extra: dict, rule) -> bool:
    """Whether a plan and its ``extra`` are of a search the content rule may compare: SURE
    its stopping rule, a noise level read or given, no channel passed through, no impulse
    pre-stage."""
    if rule not in (None, "sure") or extra.get("passed_through_reasons"):
        return False
    if getattr(plan, "prestage", None) is not None or getattr(plan, "passed", ()):
        return False
    return extra.get("noise_estimator") is not None and extra.get("noise_sigma") is not None


def apart_by_content(plan_one, joint, u, labels, sigma, rule=None):
    """``(plan, extra)``: the joint plan ``joint`` (``(plan, extra)`` as the planner gave it)
    unless the channels of ``u``, of one noise level, are better planned apart by SURE:
    each channel the plan of a run of its own (``plan_one(x, sigma, labels)``, as
    :func:`plan_apart` takes it), where the sum of those plans' SURE lies below the joint
    plan's by more than :data:`CONTENT_SIGNIFICANCE` standard errors at the level the joint
    search used, at the low end of its interval and at the largest channel's level (scored
    by :func:`content_test` with probes no search used).  SURE is additive over channels.
    The channels' own searches run only where the gate opens (:func:`content_gate` above
    :data:`CONTENT_GATE`); else the joint plan, bit for bit.  Tried only where the joint
    plan was searched by SURE on white noise, without a channel passed through or an
    impulse pre-stage (``rule``: the planner's stopping rule).  Where tried, ``extra``'s
    ``channels_by_content`` says what was decided and why (:func:`_content_entry`)."""
    from .automatic import _noise_per_level
    from .multilevel import _white_nugget
    from .noise import resolve_sigma
    from .orientation import oriented_channels
    from .passing import select_channels, split_plan
    from .stability import channel_labels

    u = np.asarray(u)
    plan, extra = joint
    if u.ndim != 2 or u.shape[1] < 2 or not _content_tried(plan, extra, rule):
        return joint
    names = channel_labels(u.shape[1], labels)
    gate = content_gate(u, extra["noise_sigma"])
    if not _gate_opens(gate):
        return plan, _content_entry(extra, names, gate, "gate closed")
    level, evidence = _white_nugget(u, resolve_sigma(u, sigma, search=True))
    if _noise_per_level(u, level, evidence)[0] is not None:
        return plan, _content_entry(extra, names, gate, "coloured noise")
    sigmas = _content_levels(level)
    if not all(np.all(np.isfinite(x)) and np.all(x > 0) for x in sigmas.values()):
        return plan, _content_entry(extra, names, gate, "no noise level to score at")
    parts = []
    for c in range(u.shape[1]):
        with oriented_channels([c]):  # its probes as on the channel alone (plan_apart's)
            parts.append(plan_one(select_channels(u, [c]), sigma, [names[c]]))
    if not all(_content_tried(p, e, rule) for p, e in parts):
        return plan, _content_entry(extra, names, gate, "a channel's own search not comparable")
    apart = split_plan([p for p, _ in parts])
    with np.errstate(all="ignore"):
        tests = content_test(plan, apart, u, list(sigmas.values()))
    test = {
        key: {"change_per_sample": change, "standard_error": se}
        for key, (change, se) in zip(sigmas, tests, strict=True)
    }
    z = {key: -t["change_per_sample"] / t["standard_error"] for key, t in test.items()}
    if not _splits(test):
        why = f"test not significant ({min(z.values()):.3g} standard errors at least"
        why += f" over the level's interval, more than {CONTENT_SIGNIFICANCE:g} needed)"
        return plan, {**_content_entry(extra, names, gate, why), "channels_apart_sure": test}
    why = (
        f"SURE lower apart by {z['level']:.3g} standard errors at one noise level, "
        f"{-test['level']['change_per_sample']:.4g} per sample below the joint plan's; "
        f"{min(z.values()):.3g} at least over the level's interval, more than "
        f"{CONTENT_SIGNIFICANCE:g} needed"
    )
    cached = iter(parts)
    out, extra = plan_apart(lambda x, s, n: next(cached), u, labels, [sigma] * len(parts), why, {})
    extra["channels_apart_sure"] = test
    return out, _content_entry(extra, names, gate, "split")


def _content_entry(extra: dict, names, gate: float, decision: str) -> dict:
    """``extra`` with ``channels_by_content``: ``decision`` (``"split"``, ``"gate closed"``,
    ``"test not significant (...)"`` or why the test was not made), ``gate_z`` (the gate's
    statistic, :func:`content_gate`; the test runs above :data:`CONTENT_GATE`) and per
    channel (its label) ``"apart"`` or ``"together"``."""
    where = "apart" if decision == "split" else "together"
    entry = {
        "decision": decision,
        "gate_z": gate,
        "gate_threshold": CONTENT_GATE,
        "channels": {name: where for name in names},
    }
    return {**extra, "channels_by_content": entry}


#: The gate in front of the content test: the channels' own searches (and the scoring)
#: run only where :func:`content_gate` exceeds this (see the module docstring).
CONTENT_GATE: Final = 2.0
#: The gate reads the finest Haar scales, at most this many, each of at least
#: :data:`GATE_COEFFICIENTS` coefficients per channel.
GATE_SCALES: Final = 9
GATE_COEFFICIENTS: Final = 64


def content_gate(u: np.ndarray, sigma) -> float:
    """The gate's statistic of the channels of ``u`` (shape ``(n, c)``), of noise levels
    ``sigma`` (one per channel; the joint search's), in units of the largest level: at each
    of the finest :data:`GATE_SCALES` scales of the orthonormal Haar transform, soft
    thresholding's SURE with one threshold for all channels minus its SURE with each
    channel's own threshold, the thresholds chosen by SURE on one half of the scale's
    coefficients (every other one) and scored on the other half, both ways; summed over
    scales, halves and channels and divided by the standard error of that sum (its terms'
    coefficient by coefficient differences).  Scored where they were not chosen, the
    channels' own thresholds gain nothing by chance: alike channels (one signal, or one
    kind of signal, in both) read about -1 to 2 at any length; channels of different
    content (steps beside speech) read up to 20 and more, growing with the length.  0
    where no scale is read or the level is not positive.  Deterministic, and the same
    number for the channels in any order, negated or scaled by a power of two (a sum
    exactly rounded, of terms each of one channel's coefficients in their order);
    ``O(n log n)``, NumPy only."""
    x = np.asarray(u, dtype=float)
    scale = float(np.max(np.asarray(sigma, dtype=float)))
    if x.ndim != 2 or not (math.isfinite(scale) and scale > 0.0):
        return 0.0
    a = x / scale
    total, variance = [], []
    for _ in range(GATE_SCALES):
        if a.shape[0] < 2 * GATE_COEFFICIENTS:
            break
        m = a.shape[0] // 2 * 2
        even, odd = a[0:m:2], a[1:m:2]
        detail = (even - odd) / math.sqrt(2.0)
        a = (even + odd) / math.sqrt(2.0)
        for fold in (0, 1):  # thresholds chosen on one half, scored on the other
            chosen, scored = detail[fold::2], detail[1 - fold :: 2]
            shared = _sure_threshold(chosen.ravel())
            for c in range(detail.shape[1]):
                d = scored[:, c]
                delta = _soft_risk(d, shared) - _soft_risk(d, _sure_threshold(chosen[:, c]))
                total.append(float(np.sum(delta)))
                variance.append(float(np.sum(delta * delta)))
    v = math.fsum(variance)
    return math.fsum(total) / math.sqrt(v) if v > 0.0 else 0.0


def _sure_threshold(d: np.ndarray) -> float:
    """The soft threshold of least SURE for coefficients ``d`` of unit noise (0: none)."""
    a = np.sort(np.abs(d))
    m = a.size
    if not m:
        return 0.0
    k = np.arange(1, m + 1)
    sure = m - 2.0 * k + np.cumsum(a * a) + (m - k) * (a * a)  # threshold a[k - 1]
    sure[a <= 0.0] = np.inf  # (a threshold 0 keeps every coefficient: SURE m)
    best = int(np.argmin(sure))
    return float(a[best]) if sure[best] < m else 0.0


def _soft_risk(d: np.ndarray, t: float) -> np.ndarray:
    """SURE's terms of soft thresholding at ``t`` of coefficients ``d`` of unit noise."""
    if t <= 0.0:
        return np.ones_like(d)
    return 1.0 - 2.0 * (np.abs(d) <= t) + np.minimum(d * d, t * t)


def _gate_opens(gate: float) -> bool:
    """Whether the gate's statistic opens it (:data:`CONTENT_GATE`, looked up at the call)."""
    return gate > CONTENT_GATE


def _content_levels(level) -> dict:
    """The noise levels (one per channel each) the content test scores the plans at: the
    level, the low end of its interval, and every channel at the largest channel's level
    (channels of one level: their estimates may differ by up to :data:`SPLIT_FACTOR`)."""
    sigma = np.asarray(level.sigma, dtype=float).ravel()
    low = np.asarray(level.at_low().sigma, dtype=float).ravel()
    return {"level": sigma, "low_end": low, "common": np.full_like(sigma, np.max(sigma))}


def content_splits(test: dict, z: float = CONTENT_SIGNIFICANCE) -> bool:
    """Whether the content test ``test`` (the ``channels_apart_sure`` entry of
    :func:`apart_by_content`: per level scored, SURE apart minus together and its standard
    error) plans the channels apart at significance ``z``: SURE apart below together by
    more than ``z`` standard errors at every level scored."""
    return all(t["change_per_sample"] < -z * t["standard_error"] for t in test.values())


def _splits(test: dict) -> bool:
    """:func:`content_splits` at :data:`CONTENT_SIGNIFICANCE` (looked up at the call)."""
    return content_splits(test, CONTENT_SIGNIFICANCE)
