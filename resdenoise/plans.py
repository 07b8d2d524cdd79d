"""Plan makers: a command's settings, checked before any signal is read, made
into ``make_plan(u) -> (plan, extra)`` for one signal.

* :func:`planner` for the four filtering commands (automatic lambda, stopping
  time and scales need the samples, so the plan is made per signal);
* :func:`automatic_planner` for ``resdenoise denoise`` (family and scales by SURE);
* :func:`network_planner` for a network file.

The plans themselves, and how they are bound and judged, are
:mod:`resdenoise.filters`; :func:`resdenoise.pipeline.run_file` calls the
plan maker with the samples (or a streamed file's summary).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import ClassVar, Final

from .errors import ParameterError, WholeSignalNeeded, check_count, check_positive, spell
from .pairs import helping
from .plan_notes import _no_harm, _warned, sigma_unused
from .split import channel_levels_note, sigmas

__all__ = [
    "AUTO",
    "AutomaticPlanner",
    "NetworkPlanner",
    "Planner",
    "Progress",
    "automatic_planner",
    "network_planner",
    "planner",
]

#: The value of a setting (or of ``lam``/``theta``) that asks for a data-driven choice.
AUTO: Final = "auto"
#: ``resdenoise denoise``'s memory, bytes per sample (a value of one channel) beyond the
#: interpreter (:attr:`AutomaticPlanner.bytes_per_sample`).
DENOISE_BYTES_PER_SAMPLE: Final = 400
#: ``--time auto``'s (the README's Streaming section: 65 bytes a sample of a 16-bit WAV).
TIME_AUTO_BYTES_PER_SAMPLE: Final = 65

#: ``progress(phase, done, total)``: phase "blocks" (in memory) or "check", "noise",
#: "filter" (streamed; a CSV file's check: "check-bytes", in bytes read of its size);
#: ``total`` is None while unknown.
Progress = Callable[[str, int, "int | None"], object]

#: command: (form of its nonlinearity, the setting that may be AUTO, its settings)
_COMMANDS: Final = {
    "diffuse": ("diffusivity", "time", ("time", "steps", "tau", "h", "scales")),
    "shrink": ("shrinkage", "iterations", ("theta", "iterations", "scales")),
    "regularise": ("regulariser", "alpha", ("alpha", "steps", "h")),
    "resnet": ("activation", "blocks", ("blocks", "tau", "h")),
}

#: The settings that count blocks (steps, iterations) or scales: whole numbers >= 1.
_COUNTS: Final = frozenset({"steps", "iterations", "blocks", "scales"})


@dataclass(frozen=True, eq=False)
class Planner:
    """``make_plan(u) -> (plan, extra)`` of one command; build it with :func:`planner`.

    ``extra`` holds what the data decided (noise estimate, automatic lambda,
    the stopping rule's choice) for the report's parameters.  ``make_plan(u,
    labels=...)``: how its messages name each channel (:attr:`takes_labels`; a
    file's ``column 3 ('rough')``, :attr:`resdenoise.io.Signal.channel_labels`).
    """

    #: ``make_plan(u, labels=...)`` is understood (the do-no-harm reasons name channels)
    takes_labels: ClassVar[bool] = True
    #: ``make_plan(u, progress=...)`` is understood (an automatic search says its blocks)
    takes_progress: ClassVar[bool] = True
    #: ``make_plan(u, bounds=(lo, hi))``: the range the output must stay in (``shrink
    #: --scales auto`` takes one scale where the scales' output leaves it)
    takes_bounds: ClassVar[bool] = True

    command: str
    nonlinearity: object
    lam: float | None
    settings: dict = field(default_factory=dict)
    rule: str | None = None
    sigma: float | tuple | None = None

    @property
    def form(self) -> str:
        return _COMMANDS[self.command][0]

    @property
    def auto(self) -> bool:
        return self.settings.get(_COMMANDS[self.command][1]) == AUTO

    @property
    def level_only(self) -> bool:
        """Whether the plan takes of the samples only their noise level and span (no
        search, no scales): float32 samples give the numbers of their float64 widening."""
        return not self.auto and self.settings.get("scales") is None

    @property
    def _scales_searched(self) -> bool:
        """Whether ``scales`` searches (thresholds, or diffusion's blocks) of a registry
        family (:func:`resdenoise.multiscale.plan_scales`' own condition)."""
        return (self.lam is None or self.command == "diffuse") and isinstance(
            self.nonlinearity, str
        )

    def __call__(self, u, progress: Progress | None = None, labels=None, bounds=None):
        """The plan for ``u`` and what the data decided; ``progress(phase, done,
        total)`` follows an automatic search (phase ``"search"``...); ``labels`` name
        its channels in the do-no-harm reasons (:func:`resdenoise.automatic.do_no_harm`);
        ``bounds``: ``(lo, hi)``, the range the output must stay in (where ``scales`` is
        ``auto``: the scales are not chosen over one scale where their output leaves it)."""
        from .orientation import oriented
        from .split import apart_by_content, levels_apart, plan_apart

        searched = self.auto or (self.settings.get("scales") is not None and self._scales_searched)

        def alone(x, sigma, labels):
            return replace(self, sigma=sigma)(x, progress, labels, bounds)

        with oriented(u):  # every probe of the searches lies as on u, the signal given
            sigma, apart, passed, known = levels_apart(u, self.sigma, searched)
            if apart is not None:  # each channel the plan of a run of its own (split)
                _need_samples(u, *self.samples_needed())  # (a streamed file: refused)
                return plan_apart(alone, u, labels, sigma, apart, passed)
            planner = self if sigma is self.sigma else replace(self, sigma=sigma)
            joint = plan, extra = planner._make(u, progress, labels, bounds, known)
            if searched:  # one level: apart where SURE says so (split)
                plan, extra = apart_by_content(alone, joint, u, labels, sigma, self.rule)
                if plan is not joint[0]:
                    return plan, extra
        return plan, _said(extra, labels, u, searched)

    def _make(self, u, progress, labels, bounds, known=None):
        """:meth:`__call__` of the channels planned together (``known``: the search's
        level of ``u`` that :func:`resdenoise.split.levels_apart` estimated, or None)."""
        s = self.settings
        if bounds is not None and s.get("scales") == AUTO and self.command == "shrink":
            planner = replace(self, settings={**s, "bounds": tuple(bounds)})
            return planner._make(u, progress, labels, None, known)
        h = 1.0 if self.command == "shrink" else s.get("h", 1.0)
        needed = self.samples_needed()
        if needed is not None:
            _need_samples(u, *needed)
        if s.get("scales") is not None:
            from .multiscale import scales_note

            plan, extra = self._scales(u, labels, known=known)
            # said, not done silently (of samples: _need_samples refused a summary above)
            return plan, _warned(extra, scales_note(len(u), s["scales"]))
        if not self.auto:
            from .filters import bind_nonlinearity

            nl, extra = bind_nonlinearity(
                self.nonlinearity, self.form, self.lam, u, h, sigma=self.sigma
            )
            if self.sigma is not None and self.lam is not None:  # said, not ignored silently
                extra = _warned(extra, sigma_unused(self.command))
            return _plan(self.command, nl, s, h), extra
        return self._searched(u, h, progress, labels, known=known)

    def samples_needed(self) -> tuple | None:
        """What of this plan needs the whole signal's samples, and what avoids that
        (``(needs, *fixes)`` as :func:`_need_samples` takes them), None if nothing does:
        known before any file is read (a file too large to be read whole is refused
        before its first pass)."""
        s = self.settings
        if s.get("scales") is not None:
            scales = s["scales"]
            return ((f"filtering at several scales ({spell('scales', scales)})",
                     [("scales", scales)]),)  # fmt: skip
        if not self.auto:
            return None
        setting = _COMMANDS[self.command][1]
        return (
            (f"{spell(setting, AUTO)} (a stopping rule's choice)", [(setting, AUTO)]),
            (f"give {spell(setting)} as a number", [setting]),
        )

    def _scales(self, u, labels=None, shift: int = 0, known=None):
        """The plan of ``scales`` for ``u`` (:meth:`__call__`); a search (thresholds, or
        the blocks of each scale) of a registry family as :meth:`_searched`'s, of the
        samples divided by a power of two where their squares would over- or underflow
        (``shift``: ``u`` is a signal's divided by ``2**shift`` already; ``known``: the
        search's level of ``u``, estimated already, or None)."""
        if self._scales_searched:
            return self._scaled(Planner._scales_of, u, shift, labels, known=known)
        return self._scales_of(u, labels, shift=shift, known=known)

    def _scales_of(self, u, labels=None, shift: int = 0, known=None):
        """:meth:`_scales` of the samples as they are."""
        from .automatic import nothing_to_filter, pass_untrusted
        from .filters import bind_nonlinearity
        from .multiscale import plan_scales
        from .noise import resolve_sigma

        s = self.settings
        level = stage = None
        source = u
        if self._scales_searched and self.rule in (None, "sure"):
            # the search's level once, for every search plan_scales makes (each would
            # estimate it again) and the do-no-harm rule; the conditions are
            # plan_scales' own, so that what it refuses is refused before this estimate
            # (thresholds searched, plan_scales returned: level is set)
            level = resolve_sigma(u, self.sigma, search=True) if known is None else known
            u, level, stage = _prestaged(u, level, self.sigma)  # as _search's
        distrusted = None
        if self.lam is None and level is not None:  # a channel not trusted: passed through
            search = partial(self._scales, shift=shift)
            passed, distrusted = pass_untrusted(u, level, labels, search, source)
            if passed is not None:
                return passed
            if nothing_to_filter(distrusted):  # every channel clean or constant: the input
                # whatever a search would choose (do_no_harm): one scale, none searched
                h = 1.0 if self.command == "shrink" else s.get("h", 1.0)
                nl, extra = bind_nonlinearity(self.nonlinearity, self.form, None, u, h, level)
                plan = _plan(self.command, nl, {"steps": 1, "tau": s.get("tau")}, h)
                kept = {"labels": labels, "distrusted": distrusted, "shift": shift}
                return _with_stage(*_no_harm(plan, extra, u, level, **kept), stage, source, shift)
        args = (u, self.nonlinearity, self.lam, s, self.rule)
        sigma = self.sigma if level is None else level
        # in range: _scales' scaled_search saw to it where plan_scales would search
        plan, extra = plan_scales(*args, sigma, self.command, shift, in_range=True)
        if self.lam is not None:  # thresholds given: nothing was chosen from the data
            return _with_stage(plan, extra, stage, source, shift)

        def at_low(low):  # the same search with the level's low end
            plan, details = plan_scales(*args, low, self.command, shift, in_range=True)
            return plan, "the search at the noise level's low end", details

        plan, extra = _no_harm(
            plan, extra, u, level, at_low=at_low, labels=labels, distrusted=distrusted, shift=shift
        )
        return _with_stage(plan, extra, stage, source, shift)

    def _searched(
        self, u, h: float, progress: Progress | None, labels=None, shift: int = 0, known=None
    ):
        """The automatic search's plan for ``u`` (:meth:`__call__`).  Samples whose
        squares (and the search's sums and variances of them) would over- or underflow,
        of a registry family: the search on the samples divided by a power of two
        (:func:`resdenoise.scaling.level_shift`; exact, lambda and the level with them),
        its plan and numbers multiplied back: the choice at ``u`` is the one at
        ``u / 2**k`` bit for bit.  ``shift``: ``u`` is a signal's divided by
        ``2**shift`` already (channels of it searched alone), as the do-no-harm
        reasons say their numbers.  ``known``: the search's level of ``u``, estimated
        already (:func:`resdenoise.split.levels_apart`), or None."""
        if not isinstance(self.nonlinearity, str):  # a formula: as it is
            return self._search(u, h, progress, labels, shift, known)
        return self._scaled(Planner._search, u, shift, h, progress, labels, known=known)

    def _scaled(self, search, u, shift: int, *args, known=None):
        """``search(planner, u, *args, shift=..., known=...)`` by
        :func:`resdenoise.scaling.scaled_search`: of ``u`` divided by a power of two
        (lambda and the noise level given with it) where its squares would over- or
        underflow, the plan and report multiplied back; ``known`` (the search's level of
        ``u``, estimated already) passed on where ``u`` is searched as it is."""
        from .scaling import scaled_search

        def scaled(u, shift, lam, sigma, known=None):
            return search(replace(self, lam=lam, sigma=sigma), u, *args, shift=shift, known=known)

        squares = self.rule != "decorrelation"
        return scaled_search(scaled, u, shift, squares, known, lam=self.lam, sigma=self.sigma)

    @helping  # one helper thread for the whole search (the impulse check, the searches)
    def _search(
        self, u, h: float, progress: Progress | None, labels=None, shift: int = 0, known=None
    ):
        """:meth:`_searched` of the samples as they are (``shift``: they are the
        signal's divided by ``2**shift``, as the do-no-harm reasons say their numbers;
        ``known``: their search level, estimated already, or None)."""
        from .automatic import nothing_to_filter, pass_untrusted
        from .autoparams import DEFAULT_RULE, choose_parameters
        from .impulses import find_impulses, with_impulses
        from .noise import resolve_sigma

        s = self.settings
        source = u
        if known is None:  # the level here, the impulses meanwhile on the helper thread
            level, checked = with_impulses(partial(resolve_sigma, u, self.sigma, search=True), u)
        else:
            level, checked = known, find_impulses(u)
        u, level, stage = _prestaged(u, level, self.sigma, checked)  # when found
        # a channel whose level is not trusted passed through, the others searched alone
        search_alone = partial(self._searched, h=h, progress=progress, shift=shift)
        passed, distrusted = pass_untrusted(u, level, labels, search_alone, source)
        if passed is not None:
            return passed
        tau = 0.25 if self.command == "shrink" else s.get("tau")
        rule = self.rule or DEFAULT_RULE

        def search(sigma, keep):
            choice = choose_parameters(
                u,
                self.nonlinearity,
                self.form,
                self.lam,
                tau,
                h,
                rule,
                sigma=sigma,
                progress=progress,
                keep=keep,
                max_blocks=1 if nothing_to_filter(distrusted) else None,  # (the input kept)
            )
            m = max(choice.steps, 1)
            chosen = {
                "diffuse": {"steps": m, "tau": choice.tau},
                "shrink": {"iterations": m},
                "regularise": {"alpha": m * choice.tau, "steps": m},
                "resnet": {"blocks": m, "tau": choice.tau},
            }[self.command]
            plan = _plan(self.command, choice.nl, chosen, h)
            if choice.steps == 0:  # the search found nothing better than the input itself
                from .filters import as_identity

                plan = as_identity(plan)
            return plan, choice

        plan, choice = search(level, True)

        def at_low(low):  # the same search with the level's low end
            plan, choice = search(low, False)
            return plan, "the search at the noise level's low end", choice.as_dict()

        sums = choice.stopping.gain_sums if plan.steps == choice.steps else None
        plan, extra = _no_harm(
            plan,
            choice.as_dict(),
            u,
            level,
            choice.tested,
            at_low,
            sums,
            labels=labels,
            shift=shift,
            distrusted=distrusted,
            identity=choice.stopping.at_zero,
        )
        from .automatic import with_prestage

        plan, extra = with_prestage(plan, extra, stage, source, shift)
        output = choice.stopping.output
        backed = "backed_off_to" in extra
        if (
            output is not None
            and not backed
            and plan.steps == choice.steps
            and plan.tau == choice.tau
        ):
            # the search's exact run of these blocks on the whole signal is the output
            plan = plan.with_output(source, output)
        return plan, {**extra, **stage.as_dict()}


def _said(extra: dict, labels, u, searched: bool) -> dict:
    """``extra`` with the warnings of a plan of ``u`` made as one: the channels' levels
    apart (:func:`resdenoise.split.channel_levels_note`), and where a search read them
    (``searched``), runs of equal samples far from their neighbours, which the impulse
    pre-stage does not take (:func:`resdenoise.impulses.dropout_note`)."""
    extra = _warned(extra, channel_levels_note(extra, labels, u))
    sigma = extra.get("noise_sigma")
    if not searched or not sigma:
        return extra
    import numpy as np

    from .impulses import dropout_note

    if len(sigma) * len(u) != np.size(u):  # (a level a channel only)
        return extra
    from .stability import channel_labels

    names = channel_labels(len(sigma), labels)
    return _warned(extra, dropout_note(u, sigma, names))


def _prestaged(u, level, sigma, checked=None):
    """``(u, level, stage)``: the impulse pre-stage of an automatic search
    (:func:`resdenoise.impulses.hampel_stage` at the search's ``level``; ``checked``: its
    :func:`resdenoise.impulses.find_impulses` of ``u``, where made already), ``u`` after
    it and its level read again where it is active (``sigma``: the level given, or None)."""
    from .impulses import hampel_stage
    from .noise import resolve_sigma

    stage = hampel_stage(u, level.sigma, checked)
    if stage.active:
        u = stage.apply(u)
        level = resolve_sigma(u, sigma, search=True)
    return u, level, stage


def _with_stage(plan, extra: dict, stage, source, shift: int):
    """``(plan, extra)`` with the impulse pre-stage ``stage`` (None: none was looked for)
    run first and said in ``extra`` (:func:`resdenoise.automatic.with_prestage`)."""
    if stage is None:
        return plan, extra
    from .automatic import with_prestage

    plan, extra = with_prestage(plan, extra, stage, source, shift)
    return plan, {**extra, **stage.as_dict()}


def _need_samples(u, needs: tuple, *fixes: tuple) -> None:
    """Refuse a streamed file's summary ``u`` (:class:`resdenoise.filters.Summary`)
    before any pass over the file: ``needs`` says what needs the samples, ``fixes``
    what avoids that, as ``(text, parameters)`` (:meth:`WholeSignalNeeded.of`)."""
    from .filters import Summary

    if isinstance(u, Summary):
        raise WholeSignalNeeded.of(u.source, needs, fixes)


def _plan(command: str, nl, s: dict, h: float):
    from .filters import plan_diffuse, plan_regularise, plan_resnet, plan_shrink

    if command == "diffuse":
        return plan_diffuse(nl, time=s.get("time"), steps=s.get("steps"), tau=s.get("tau"), h=h)
    if command == "shrink":
        return plan_shrink(nl, s.get("iterations", 1))
    if command == "regularise":
        return plan_regularise(nl, s["alpha"], s.get("steps"), h)
    return plan_resnet(nl, s["blocks"], s.get("tau"), h)


def planner(
    command: str,
    nonlinearity,
    *,
    lam=None,
    rule: str | None = None,
    sigma: float | Sequence[float] | None = None,
    **settings,
) -> Planner | AutomaticPlanner:
    """The plan maker of one filtering command, checked before any signal is read.

    Parameters
    ----------
    command : {"diffuse", "shrink", "regularise", "resnet"}
    nonlinearity : str, Expression or Nonlinearity
        A registry name of the command's form (diffusivity, shrinkage,
        regulariser, activation); ``"auto"`` for diffuse and shrink: the
        family too, by SURE (:func:`automatic_planner` with the command;
        settings the search chooses must be left out or ``"auto"``), a formula from
        :func:`resdenoise.expr.parse_expression` of that form, or a bound
        :class:`~resdenoise.nonlinearities.Nonlinearity`, from the registry or
        ``from_function`` (its own lam: given with another ``lam`` or ``theta``, or
        ``"auto"``, it is refused; with its own again, taken).
    lam : float or "auto", optional
        Contrast parameter; None or ``"auto"``: the universal threshold of
        each signal (with an automatic stopping time: searched with it; a
        formula that does not use lam gets 1).
    rule : {"sure", "noise2self", "decorrelation"}, optional
        The stopping rule of an automatic stopping time (default ``"sure"``).
    sigma : float or sequence of float, optional
        The noise level, when known: used by the automatic lambda and
        stopping time instead of the estimate (:mod:`resdenoise.noise`); the
        report's parameters then say ``noise_estimator: "given"``.  One per channel
        (that differ): a searched plan is made for each channel with its own
        (:mod:`resdenoise.split`); a count that is not the channels' is refused
        when the signal is seen.
    **settings
        ``diffuse``: ``time`` (or ``"auto"``) or ``steps``, ``tau``, ``h``;
        ``shrink``: ``theta`` (threshold, lam = sqrt2 theta; or ``"auto"``),
        ``iterations`` (default 1, or ``"auto"``), ``scales`` (K >= 1 or
        ``"auto"``: K-level shift-invariant Haar shrinkage, see
        :mod:`resdenoise.multilevel`); ``regularise``: ``alpha``
        (or ``"auto"``), ``steps``, ``h``; ``resnet``: ``blocks`` (or
        ``"auto"``), ``tau``, ``h``.  Defaults as for
        :mod:`resdenoise.filters`.

    Returns
    -------
    Planner
        Call it with the samples (or a streamed file's summary).

    Raises
    ------
    ParameterError
        Unknown command, name or setting, a number out of range (``lam``
        <= 0, ``steps=2.5``), or settings that do not go together: what the
        command line refuses with exit code 2, refused here, before any signal.
    """
    from .filters import check_setting
    from .nonlinearities import SQRT2
    from .stopping_rules import RULES

    if command not in _COMMANDS:
        raise ParameterError(f"unknown command {command!r}; choose one of {sorted(_COMMANDS)}")
    if nonlinearity == AUTO:
        return _auto_family(command, lam, rule, sigma, settings)
    form, auto_key, known = _COMMANDS[command]
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ParameterError(
            f"{command} takes no setting {unknown[0]!r}; its settings are {', '.join(known)}"
        )
    if rule is not None and rule not in RULES:
        raise ParameterError(f"unknown stopping rule {rule!r}; choose one of {sorted(RULES)}")
    sigma = sigmas(sigma)  # one number, or one per channel
    _check_nonlinearity(nonlinearity, form)
    lam_given, theta_given = lam, settings.get("theta")
    lam = None if lam == AUTO else lam
    if lam is not None:
        check_positive("lam", lam)
    settings = {k: v for k, v in settings.items() if v is not None}
    autos = [key for key in (auto_key, "theta", "scales") if key in known]
    auto_for = f"{' or '.join(autos)} ({command})"
    for key, value in settings.items():  # the plan functions' checks, before any signal
        if value == AUTO and key in autos:
            continue
        if key == "scales":  # a count of scales, not of blocks (capped to the signal's)
            settings[key] = check_count(key, value)
        else:  # a fraction refused here, not truncated later
            settings[key] = check_setting(key, value, key in _COUNTS, auto_for)
    if "theta" in settings:
        theta = settings.pop("theta")
        if lam is not None and theta != AUTO:
            raise ParameterError("give lam or theta, not both", parameters=["lam", "theta"])
        lam = None if theta == AUTO else SQRT2 * theta
        if lam is not None and not math.isfinite(lam):
            raise ParameterError(
                f"lambda = sqrt2 x threshold overflows for threshold {theta:g} "
                f"(at most {1.7976931348623157e308 / SQRT2:.4g}); give a smaller theta",
                parameters=["theta"],
            )
    _check_bound(nonlinearity, lam_given, theta_given)
    auto = settings.get(auto_key) == AUTO
    if auto and _registry_key(nonlinearity) is not None:  # get_nonlinearity's: its name
        nonlinearity, lam = _registry_key(nonlinearity), nonlinearity.lam  # at its lambda
    if auto and not isinstance(nonlinearity, str):
        what = _kind(nonlinearity)
        raise ParameterError(
            f"'auto' needs a registry {form} (a name, or get_nonlinearity's), not {what}; "
            f"give {auto_key} a number",
            parameters=[auto_key],
        )
    if command == "diffuse":
        if auto and "steps" in settings:
            raise ParameterError(
                "give time='auto' or steps, not both", parameters=[("time", AUTO), "steps"]
            )
        if "scales" in settings:
            if "steps" in settings or settings.get("time", AUTO) != AUTO:
                raise ParameterError(
                    "scales choose their blocks by SURE: give time='auto' or no time, no steps",
                    parameters=["scales", ("time", AUTO)],
                )
        elif not auto and ("time" in settings) == ("steps" in settings):
            raise ParameterError(
                "give exactly one of time or steps (or time='auto' to choose it from the data)",
                parameters=["time", "steps", ("time", AUTO)],
            )
    if command == "regularise":
        if "alpha" not in settings:
            raise ParameterError("regularise needs alpha", parameters=["alpha"])
        if auto and "steps" in settings:
            raise ParameterError(
                "steps needs a numeric alpha; alpha='auto' chooses the steps",
                parameters=["steps", "alpha", ("alpha", AUTO)],
            )
    if command == "resnet" and "blocks" not in settings:
        raise ParameterError("resnet needs blocks", parameters=["blocks"])
    return Planner(command, nonlinearity, lam, settings, rule, sigma)


def _registry_key(nonlinearity) -> str | None:
    """The registry key of a :class:`~resdenoise.nonlinearities.Nonlinearity` that
    :func:`~resdenoise.nonlinearities.get_nonlinearity` made (a registry family's, of
    lambda alone: the name with its ``lam`` makes the same one), else None (a function's,
    a formula's, a parametrised family's)."""
    from .nonlinearities import NON_ODD_ACTIVATIONS, NONLINEARITIES, Nonlinearity

    if not isinstance(nonlinearity, Nonlinearity) or nonlinearity.entry is None:
        return None
    key = nonlinearity.key
    own = NONLINEARITIES.get(key, NON_ODD_ACTIVATIONS.get(key))
    return key if own is nonlinearity.entry else None


def _kind(nonlinearity) -> str:
    """What a nonlinearity that is not a registry family's is, for a message."""
    from .nonlinearities import Nonlinearity

    if isinstance(nonlinearity, Nonlinearity):
        if nonlinearity.formula is not None:
            return "a formula"
        return "a function" if nonlinearity.entry is None else "a parametrised family"
    return "a function" if type(nonlinearity).__name__ != "Expression" else "a formula"


def _check_nonlinearity(nonlinearity, form: str) -> None:
    """Refuse what :func:`planner` cannot make a ``form`` of: an unknown registry name
    (with the closest name), or an object that is no name, formula or nonlinearity."""
    from .nonlinearities import Nonlinearity, resolve_name

    if isinstance(nonlinearity, str):
        resolve_name(nonlinearity, form)
        return
    if isinstance(nonlinearity, Nonlinearity):
        return
    from .expr import Expression  # a formula has imported it already

    if not isinstance(nonlinearity, Expression):
        raise ParameterError(
            f"the {form} must be a registry name, a formula "
            "(resdenoise.expr.parse_expression) or a resdenoise Nonlinearity, "
            f"not {type(nonlinearity).__name__}"
        )


def _check_bound(nonlinearity, lam, theta) -> None:
    """Refuse a ``lam`` or ``theta`` given with a
    :class:`~resdenoise.nonlinearities.Nonlinearity` (from the registry or
    ``from_function``) whose lam it is not: ``"auto"``, or a number whose lambda (theta:
    sqrt2 theta) is not the bound one within rounding (relative 1e-12); it would be
    dropped, the run made at the Nonlinearity's lam.  The bound value again is taken: it
    asks for the run the Nonlinearity makes.  The one check of a bound lam (the one-call
    functions of :mod:`resdenoise.api` come here too; they refuse ``"auto"`` with a
    plain function themselves)."""
    from .nonlinearities import SQRT2, Nonlinearity

    if not isinstance(nonlinearity, Nonlinearity):
        return
    name, value = ("lam", lam) if theta is None else ("theta", theta)
    if value is None:
        return
    given_lam = None
    if value != AUTO:
        given_lam = value if theta is None else SQRT2 * value
        if math.isclose(given_lam, nonlinearity.lam, rel_tol=1e-12):
            return
    bound = float(nonlinearity.lam if theta is None else nonlinearity.theta)
    if nonlinearity.entry is not None:
        other = f", or the name {nonlinearity.key!r} with {spell(name, value)}"
    elif given_lam is None:  # (from_function's lam: the size of its features)
        other = ": a function has no automatic lam"
    else:
        other = f", or bind the function to it: from_function(..., lam={given_lam!r})"
    raise ParameterError(
        f"{spell(name, value)} given with the Nonlinearity {nonlinearity.name!r}, bound to "
        f"{name} = {bound!r}: give no {name} (or {name}={bound!r}){other}",
        parameters=[name],
    )


def automatic_planner(
    *, sigma: float | Sequence[float] | None = None, command: str | None = None
) -> AutomaticPlanner:
    """``make_plan(u) -> (plan, extra)`` that chooses everything by SURE
    (:func:`resdenoise.automatic.choose_denoiser`); ``sigma`` the noise level
    when known; ``command`` ``"diffuse"`` or ``"shrink"``: only that command's
    families and scales (``--diffusivity auto``, ``--shrinkage auto``;
    :data:`resdenoise.automatic.COMMAND_CANDIDATES`), else every command's.
    Needs the samples: a file in chunks is refused.  ``make_plan(u, labels=...)``: how
    the do-no-harm reasons name each channel."""
    from .automatic import CANDIDATES, COMMAND_CANDIDATES

    sigma = sigmas(sigma)  # one number, or one per channel
    if command is not None and command not in COMMAND_CANDIDATES:
        raise ParameterError(
            f"no automatic family choice for {command!r}; "
            f"choose one of {sorted(COMMAND_CANDIDATES)}"
        )
    candidates = CANDIDATES if command is None else COMMAND_CANDIDATES[command]
    return AutomaticPlanner(sigma, candidates)


@dataclass(frozen=True, eq=False)
class AutomaticPlanner:
    """``make_plan(u, labels=None) -> (plan, extra)`` that chooses everything by SURE;
    build it with :func:`automatic_planner`.  A plain object (not a closure), so that it
    pickles: a spawn or forkserver process pool can take it, as a :class:`Planner`."""

    #: ``make_plan(u, labels=...)`` is understood (the do-no-harm reasons name channels)
    takes_labels: ClassVar[bool] = True
    #: ``make_plan(u, progress=...)`` is understood: ``progress(phase, done, total)``
    #: counts the candidates searched (:func:`resdenoise.automatic.choice_phase`)
    takes_progress: ClassVar[bool] = True
    #: ``make_plan(u, bounds=(lo, hi))`` is understood: the range the output must stay in
    #: (:func:`resdenoise.automatic.choose_denoiser`)
    takes_bounds: ClassVar[bool] = True

    sigma: float | tuple | None
    candidates: tuple

    #: The memory the choice takes, in bytes per sample (a value of one channel), beyond
    #: the interpreter (peak RSS, 16-bit stereo WAVs): ~450 before the searches held one
    #: frame level and one probe's run at a time (3-24 s, linear), ~340 after (3 s,
    #: ``benchmarks/bench_denoise_memory.py``); rounded up until longer ones are measured.
    bytes_per_sample: ClassVar[int] = DENOISE_BYTES_PER_SAMPLE
    #: A file larger than this (bytes) is not read whole for the choice (the command line's
    #: streaming threshold, :data:`resdenoise.pipeline.STREAM_THRESHOLD`): a 16-bit WAV
    #: of 8 MiB holds 4.2 million samples, ~1.7 GB at :attr:`bytes_per_sample`; a larger
    #: file is refused, saying what it would need (``chunk_size=0`` reads it whole).
    whole_limit: ClassVar[int] = 8 << 20

    def samples_needed(self) -> tuple:
        """As :meth:`Planner.samples_needed`: the choice always needs the samples; one
        family's stopping time alone (``time='auto'``) takes a seventh of its memory."""
        return (
            ("choosing the filter by SURE", ()),
            (
                f"filter it with diffuse and {spell('time', AUTO)} (one family's search, "
                f"about {TIME_AUTO_BYTES_PER_SAMPLE} bytes a sample, for a file up to 64 MiB)",
                [("time", AUTO)],
            ),
        )

    def __call__(self, u, labels=None, progress: Progress | None = None, bounds=None):
        import numpy as np

        from .automatic import choose_denoiser
        from .orientation import oriented
        from .split import apart_by_content, levels_apart, plan_apart

        _need_samples(u, *self.samples_needed())
        u = np.asarray(u)

        def alone(x, sigma, labels):
            return choose_denoiser(x, sigma, self.candidates, labels, progress, bounds)

        with oriented(u):  # every probe of the searches lies as on u, the signal given
            sigma, apart, passed, known = levels_apart(u, self.sigma, True)
            if apart is not None:  # each channel the plan of a run of its own (split)
                return plan_apart(alone, u, labels, sigma, apart, passed)
            joint = choose_denoiser(
                u, sigma, self.candidates, labels, progress, bounds, known=known
            )
            plan, extra = apart_by_content(alone, joint, u, labels, sigma)
            if plan is not joint[0]:  # one level: apart where SURE says so (split)
                return plan, extra
        return plan, _said(extra, labels, u, True)


#: command: the settings ``--FORM auto`` leaves to the search, and the values that
#: mean "not given" (None is always one)
_AUTO_FAMILY: Final = {
    "diffuse": {"time": (AUTO,), "scales": (AUTO,), "h": (1.0,)},
    "shrink": {"theta": (AUTO,), "iterations": (AUTO,), "scales": (AUTO,)},
}


def _auto_family(command: str, lam, rule, sigma, settings: dict) -> AutomaticPlanner:
    """``--diffusivity auto`` / ``--shrinkage auto``: the automatic planner of the
    command's families, after refusing settings that would be ignored."""
    from .errors import spell

    form = _COMMANDS[command][0]
    auto = spell(form, AUTO)
    if command not in _AUTO_FAMILY:
        raise ParameterError(
            f"{auto} (a family chosen by SURE) is for diffuse and shrink; name {_a(form)}",
            parameters=[(form, AUTO)],
        )
    allowed = _AUTO_FAMILY[command]
    given = {k: v for k, v in settings.items() if v is not None and v not in allowed.get(k, ())}
    if lam not in (None, AUTO):
        given["lam"] = lam
    if rule not in (None, "sure"):
        given["stopping_rule"] = rule  # the library's name (the CLI's --stopping-rule)
    if given:
        key = next(iter(given))
        raise ParameterError(
            f"{auto} chooses the family, lambda, scales and stopping time by SURE; "
            f"drop {spell(key)} or name {_a(form)}",
            parameters=[(form, AUTO), key],
        )
    return automatic_planner(sigma=sigma, command=command)


def _a(form: str) -> str:
    """``form`` with its article: ``a regulariser``, ``an activation``."""
    return f"{'an' if form[0] in 'aeiou' else 'a'} {form}"


def network_planner(network, *, lam=None, tau=None, h: float = 1.0, sigma=None) -> NetworkPlanner:
    """``make_plan(u) -> (plan, extra)`` of a network file (a path or a loaded spec).

    A file with ``stop = "sure"`` gets the depth of least SURE on ``u``
    (:func:`resdenoise.network_stop.stopped_plan`; ``extra`` says which and
    why; ``make_plan(u, progress=...)`` follows its search as a :class:`Planner`'s),
    else every block runs (``extra`` empty).

    ``lam``, ``tau`` and ``h`` are the defaults of blocks that do not set
    their own (see :func:`resdenoise.network.build_network`); ``sigma``, the noise
    level (one, or one per channel: :func:`resdenoise.split.sigmas`) of the stop's
    search and of the automatic lambda (default: estimated).

    Raises
    ------
    ResdenoiseError
        The file cannot be read (exit code 1) or is malformed (2).
    """
    from .network import NetworkSpec, load_network

    spec = network if isinstance(network, NetworkSpec) else load_network(network)

    from .split import sigmas

    return NetworkPlanner(spec, None if lam == AUTO else lam, tau, h, sigmas(sigma))


@dataclass(frozen=True, eq=False)
class NetworkPlanner:
    """``make_plan(u, progress=None) -> (plan, extra)`` of a network; build it with
    :func:`network_planner`.  A plain object (not a closure), so that it pickles."""

    #: ``make_plan(u, labels=...)`` is understood (the channels' notes name them)
    takes_labels: ClassVar[bool] = True

    spec: object  # a resdenoise.network.NetworkSpec
    lam: float | None
    tau: float | None
    h: float
    #: The noise level given (one, or one per channel): the stop's and automatic lambda's
    sigma: float | tuple | None = None

    @property
    def takes_progress(self) -> bool:
        """Whether ``make_plan(u, progress=...)`` follows a search (``stop = "sure"``)."""
        return self.spec.stop is not None

    @property
    def reads(self) -> dict:
        """The network file (protected from the run's outputs); none for a loaded spec."""
        source = self.spec.source
        return {} if source == "<network>" else {source: "network"}

    def samples_needed(self) -> tuple | None:
        """As :meth:`Planner.samples_needed`: a depth chosen by SURE needs the samples."""
        spec = self.spec
        if spec.stop is None:
            return None
        return (
            (f'{spec.source}\'s stop = "{spec.stop}" (the depth chosen by SURE)', ()),
            (f"drop stop from {spec.source} to run every block", ()),
        )

    def __call__(self, u, progress: Progress | None = None, labels=None):
        from .split import network_run

        if self.spec.stop is not None:  # stop = "sure": this signal's depth
            _need_samples(u, *self.samples_needed())
        return network_run(self.spec, u, self.lam, self.tau, self.h, self.sigma, progress, labels)
