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
2.2 dB on channels alike: not taken, so that channels of one level keep their joint plan,
bit for bit as before.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from .errors import ParameterError

__all__ = [
    "CHANNEL_NOISE_FACTOR",
    "SPLIT_FACTOR",
    "channel_levels_note",
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
    return channel_levels_note({"noise_sigma": list(sigma), "lambda_rule": "auto"}, labels)


#: Channels whose estimated noise levels differ by more than this factor are warned of
#: where parameters are automatic and one for all channels (set by the loudest's noise):
#: where they are searched the channels are planned apart instead (resdenoise.split), so
#: this is the automatic lambda of a given stopping time.  Measured when it was added (a
#: quiet channel beside one k times louder, signal and noise, on steps with a sine, music-
#: and speech-like signals): at k = 2 the quiet channel loses at most 1.3 dB (0 for music-
#: and speech-like signals), at 4 up to 2.7 dB, at 20 19 dB (shrink's automatic family)
#: against a run of its own.
CHANNEL_NOISE_FACTOR: Final = 4.0


def channel_levels_note(extra: dict, labels=None) -> str | None:
    """The warning where automatic parameters (``extra`` says which) were chosen for
    channels whose estimated noise levels (``extra["noise_sigma"]``) differ by more than
    :data:`CHANNEL_NOISE_FACTOR`; None elsewhere (one channel, levels given or alike, no
    automatic parameter)."""
    sigma = extra.get("noise_sigma") or ()
    automatic = extra.get("lambda_rule", "given") != "given" or any(
        key in extra for key in ("stopping_rule", "automatic_choice")
    )
    levels = [(float(v), c) for c, v in enumerate(sigma) if float(v) > 0.0]
    if not automatic or extra.get("noise_estimator") == "given" or len(levels) < 2:
        return None
    (low, quiet), (high, loud) = min(levels), max(levels)
    if not high > CHANNEL_NOISE_FACTOR * low:
        return None
    from .stability import channel_labels

    names = channel_labels(len(sigma), labels)
    return (
        f"{names[quiet]}'s noise ({low:.3g}) is {ratio_said(high, low)} below {names[loud]}'s "
        f"({high:.3g}): the automatic parameters, one for all channels, fit the loudest's "
        f"noise; filter {names[quiet]} in a run of its own (--columns)"
    )


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
    from .network_stop import stopped_network, strides_note

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

        def alone(x, level=None, labels=None):
            return stopped_network(spec, x, lam, tau, h, progress, level)

        # channels of levels apart: each its own depth (and lambda), as a search's
        levels, apart, passed, known = levels_apart(u, sigma, True)
        if apart is None:  # the level compared is the search's: estimated once
            plan, extra = stopped_network(spec, u, lam, tau, h, progress, levels, known)
        else:
            plan, extra = plan_apart(alone, u, labels, levels, apart, passed)
    notes.append(strides_note(spec, u))
    notes = [note for note in notes if note is not None]
    if notes:
        extra = {**extra, "warnings": [*extra.get("warnings", []), *notes]}
    return plan, extra
