"""The four descriptions of one filter, as plans for the one engine.

A :class:`Plan` fixes the activation, tau, h and the number of blocks for
one of the paper's four readings (diffusion, wavelet shrinkage,
regularisation, residual network); a network's plan
(:class:`resdenoise.network.NetworkPlan`) is a Plan of several block groups.
Everything about making and judging plans lives here, once: binding lambda
(:func:`bind_nonlinearity`, :func:`auto_lambda`), the default step
(:func:`resdenoise.stability.default_tau`), the refusal of an unstable plan
(:func:`check_verdict`).  :func:`run_plan` executes a plan with
:func:`resdenoise.engine.run_blocks`; :func:`analyse_run` measures what the
stability theorem promises and hands the numbers to
:func:`resdenoise.report.build_report`.  The one-call functions
(:func:`resdenoise.api.diffuse`, ...) do all of it and return the filtered
signal.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import stability
from .engine import run_blocks_unchecked
from .errors import (
    MAX_BLOCKS,
    ParameterError,
    ResdenoiseWarning,
    SignalValuesError,
    UnstableError,
    check_blocks,
    check_count,
    check_positive,
    count_said,
    quiet_underflow,
    spell,
    too_many_blocks,
)
from .function_properties import shrinkage_words
from .noise import resolve_sigma
from .nonlinearities import SQRT2, Nonlinearity, get_nonlinearity, resolve_name
from .scaling import times_power_of_two
from .wavelet import cycle_spin_shrink, universal_threshold

__all__ = [
    "Plan",
    "Summary",
    "auto_lambda",
    "bind_nonlinearity",
    "check_setting",
    "check_verdict",
    "analyse_run",
    "plan_diffuse",
    "plan_regularise",
    "plan_resnet",
    "plan_shrink",
    "run_plan",
]


@dataclass(frozen=True)
class Plan:
    """Everything the engine needs, plus what the report should say."""

    command: str
    form: str
    nl: Nonlinearity
    tau: float
    h: float
    steps: int
    parameters: dict = field(default_factory=dict)
    alpha: float | None = None
    #: Applied to the signal before the blocks (the impulse pre-stage of
    #: :mod:`resdenoise.impulses`, chosen by the automatic modes), or None.
    prestage: object = None
    #: ``(input, output, key)`` where these blocks already ran on that float64 input
    #: (pre-stage included: the automatic search while it measured SURE, an output's
    #: range checked, :meth:`with_output`): :meth:`run` and :func:`run_plan` on an equal
    #: input return a copy of the output instead of running them again (the same
    #: numbers: channels run apart, see :mod:`resdenoise.engine`).
    computed: tuple | None = field(default=None, repr=False, compare=False)
    #: The blocks run on the samples divided by ``2**run_shift``, the output multiplied
    #: back (:meth:`scaled`: a plan made by a search of samples divided by it): exact,
    #: where the engine's squares of the samples themselves would over- or underflow.
    run_shift: int = 0

    #: ``scale_checks(f)``: the guarantees per scale of a plan of several scales
    #: (:mod:`resdenoise.multiscale`, :mod:`resdenoise.multilevel`); None for one scale.
    scale_checks = None
    #: Whether the plan's lambdas come from a search of the samples whatever was given
    #: (a plan of several scales: each scale's own); :func:`resdenoise.flux_checks.check_lams` then blames them.
    lambdas_searched = False
    #: The channels passed through unchanged (:mod:`resdenoise.passing`): none.
    passed = ()

    @property
    def filtering(self) -> Plan:
        """The plan that filters: this one (of a plan passing channels through, the plan
        of the others, :mod:`resdenoise.passing`)."""
        return self

    def map_filter(self, fn) -> Plan:
        """This plan with :attr:`filtering` made ``fn(filtering)`` (a plan passing channels
        through passes the same ones)."""
        return fn(self)

    @property
    def halo(self) -> int:
        """How far (in samples) the blocks move information each way: a chunk
        extended by this much gives its core as the whole run does."""
        return int(self.steps)

    @property
    def stopping_time(self) -> float:
        return self.steps * self.tau

    def verdict(self) -> stability.StabilityVerdict:
        return stability.check_tau(self.nl, self.tau, self.h, form=self.form)

    def nonlinearities(self) -> tuple[Nonlinearity, ...]:
        """The nonlinearities the blocks run with (one for a plain plan)."""
        return (self.nl,)

    def flux_groups(self) -> tuple[tuple[Nonlinearity, float], ...]:
        """``(nonlinearity, tau)`` of each group of blocks whose flux
        :func:`resdenoise.flux_checks.probe_flux` tries before a run: a plain plan's one; a
        subclass says its own (none: its levels check their own)."""
        return ((self.nl, self.tau),) if type(self) is Plan else ()

    def scaled(self, shift: int):
        """The plan for the samples times ``2**shift`` (an automatic search's of the samples
        divided by it, :func:`resdenoise.scaling.scaled_search`): lambda, and the
        parameters in the samples' units, times ``2**shift``; its blocks still run at the
        scale the plan was made for (:attr:`run_shift`), so that the output is the
        search's times ``2**shift``, bit for bit."""
        nl = scaled_nonlinearity(self.nl, shift)
        params = dict(self.parameters)
        for key, value in (("lambda", nl.lam), ("threshold", nl.theta)):
            if key in params:
                params[key] = value
        return dataclasses.replace(
            self, nl=nl, parameters=params, computed=None, run_shift=self.run_shift + shift
        )

    def wavelet_reference(self, f: np.ndarray) -> np.ndarray:
        """What the blocks equal by the paper (``--check-wavelet``): the cycle-spun Haar
        shrinkage of ``f``, as many iterations as blocks (a plan of several scales or
        channels passed through: its own)."""
        return cycle_spin_shrink(f, self.nl.shrinkage, self.steps)

    def run(self, u: np.ndarray, callback=None, threads: int | None = None, out=None) -> np.ndarray:
        """The plan's blocks on ``u`` with :func:`~resdenoise.engine.run_blocks`.

        The callback (a progress bar) is called after each of the engine's
        sweeps, not necessarily after every block.  ``out`` as run_blocks takes
        it (``u`` itself: in place); without a pre-stage or a computed output only.
        """
        done, u = self._started(u, callback, threads, cast=False)
        if done is not None:
            return done
        if self.prestage is not None:
            out = None  # (the pre-staged signal is the run's own)
        return run_blocks_unchecked(
            u,
            self.nl,
            self.tau,
            self.steps,
            self.h,
            callback=callback,
            threads=threads,
            callback_every=None,
            out=out,
        )

    def _started(self, u, callback=None, threads=None, cast: bool = True) -> tuple:
        """The start every plan's :meth:`run` shares: ``(output, None)`` where the run is
        done already (:meth:`computed_run`'s output; with :attr:`run_shift`, the run at
        the scale the plan was made for, :meth:`_run_shifted`), else ``(None, u)``: ``u``
        after the pre-stage, in float64 where ``cast`` (the plans of several scales)."""
        done = self.computed_run(u, callback)
        if done is None and self.run_shift:
            done = self._run_shifted(u, callback, threads)
        if done is not None:
            return done, None
        if self.prestage is not None:
            u = self.prestage.apply(u)
        return None, np.asarray(u, dtype=float) if cast else u

    @quiet_underflow
    def _run_shifted(self, u, callback, threads) -> np.ndarray:
        """:meth:`run` of a plan with :attr:`run_shift`: its blocks at the scale it was made
        for (without blocks: ``u`` itself, after the pre-stage).  The callback gets the
        current signal in ``u``'s units (multiplied back: a copy per call)."""
        if not self.steps:
            return dataclasses.replace(self, run_shift=0).run(u, callback, threads=threads)
        shift = self.run_shift
        at = self.scaled(-shift)
        told = None if callback is None else (lambda k, v: callback(k, np.ldexp(v, shift)))
        v = at.run(np.ldexp(np.asarray(u), -shift), told, threads=threads)
        return np.ldexp(v, shift)

    def with_output(self, u, output) -> Plan:
        """This plan, knowing that its run on ``u`` gave ``output`` (:attr:`computed`; ``u``
        kept as a float64 copy, so that a change to it afterwards is seen)."""
        key = self._output_key()  # (the fields of the plan returned: the same objects)
        source = np.array(u, dtype=float)
        return dataclasses.replace(self, computed=(source, output.reshape(source.shape), key))

    def _output_key(self) -> tuple:
        """What the output depends on: every field but :attr:`computed` and the report's
        :attr:`parameters`, compared by identity (numbers by value: a plan derived with
        ``dataclasses.replace`` that changes any of them is not given the output)."""
        skip = ("computed", "parameters")
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip)

    def computed_run(self, u, callback=None) -> np.ndarray | None:
        """A copy of :attr:`computed`'s output where it is this plan's on ``u`` (the
        callback told once, of every block), else None."""
        if self.computed is None:
            return None
        source, output, key = self.computed
        u = np.asarray(u)
        if (
            not _same_fields(key, self._output_key())
            or u.dtype != np.float64
            or u.size != source.size
            or u.shape[:1] != source.shape[:1]  # (a channel as (n,) or (n, 1) alike)
            or not np.array_equal(u.reshape(source.shape), source)
        ):
            return None
        done = output.reshape(u.shape).copy()
        if callback is not None:
            callback(self.steps, done)
        return done


def _same_fields(a: tuple, b: tuple) -> bool:
    """:meth:`Plan._output_key` ``a`` and ``b`` alike: each field the same object, or the
    same number or text."""
    plain = (bool, int, float, str, type(None))
    return len(a) == len(b) and all(
        x is y or (type(x) in plain and type(x) is type(y) and x == y)
        for x, y in zip(a, b, strict=True)
    )


def scaled_nonlinearity(nl: Nonlinearity | None, shift: int) -> Nonlinearity | None:
    """``nl`` with lambda times ``2**shift`` (:meth:`Plan.scaled`; None, or a shift of 0:
    as it is)."""
    if nl is None or not shift:
        return nl
    return dataclasses.replace(nl, lam=times_power_of_two(nl.lam, shift))


class Summary(abc.ABC):
    """What a plan maker sees of a signal it cannot hold: a file filtered in chunks.

    :func:`auto_lambda` takes one in place of the samples.  Subclassed by
    :class:`resdenoise.stream.SignalSummary`.
    """

    source: str
    frames: int
    span: float

    #: The estimator behind :attr:`noise_sigma` (see :mod:`resdenoise.noise`).
    noise_estimator: str

    @property
    def smallest_step(self) -> float:
        """:func:`smallest_step` of the samples (inf: not known)."""
        return math.inf

    @property
    @abc.abstractmethod
    def noise_sigma(self) -> np.ndarray:
        """Noise estimate per channel, as :func:`~resdenoise.noise.estimate_noise`."""


def auto_lambda(u, h: float = 1.0, sigma=None) -> tuple[float, dict]:
    """Default contrast parameter: the universal threshold, as a gradient.

    ``theta = sigma sqrt(2 ln N)`` with sigma the noise level (largest over
    channels): given, or estimated by :func:`resdenoise.noise.estimate_noise`
    (a streamed file's :class:`Summary` says which estimator it used), and
    ``lambda = sqrt2 theta / h``.  A signal whose estimate is 0 (no noise at
    the finest scale, such as a clean step) falls back to 1 % of its range,
    or to 1 for a constant one.  ``u`` is the samples or a :class:`Summary`.
    """
    summary = isinstance(u, Summary)
    n = u.frames if summary else np.asarray(u).shape[0]
    if summary and sigma is None:
        sigma, estimator = np.asarray(u.noise_sigma), u.noise_estimator
    else:
        level = resolve_sigma(u, sigma, channels=u.channels if summary else None)
        sigma, estimator = level.sigma, level.estimator
    theta = universal_threshold(float(np.max(sigma)), n)
    lam = SQRT2 * theta / h
    rule = "universal threshold"
    if not lam > 0.0:
        span = span_of(u)
        lam = 0.01 * span / h if span > 0 else 1.0
        if lam == 0.0:  # 1 % of a subnormal range
            lam = span / h
        rule = "1% of range (noise estimate 0)"
    if not (math.isfinite(lam) and lam >= np.finfo(np.float64).tiny):
        span = span_of(u)
        of = f"of range {span:g}" if math.isfinite(span) else "whose range overflows float64"
        if estimator == "given" and rule == "universal threshold":  # the sigma's, not theirs
            given = ", ".join(f"{float(s):g}" for s in np.atleast_1d(sigma))
            raise SignalValuesError(
                f"the sigma given ({given}) makes the automatic lambda {lam:g}, outside what "
                f"a float64 step can use, for samples {of}: give a larger sigma (the noise "
                "level, in the samples' units) or lam",
                parameters=["sigma", "sigma", "lam"],
            )
        raise SignalValuesError(
            f"the automatic lambda is {lam:g} for samples {of} (outside what a float64 "
            "step can use); scale the signal or give lam",
            parameters=["lam"],
        )
    return lam, {
        "noise_sigma": [float(s) for s in sigma],
        "noise_estimator": estimator,
        "lambda_rule": rule,
    }


def bind_nonlinearity(nonlinearity, form: str, lam, u, h: float = 1.0, sigma=None) -> tuple:
    """``(Nonlinearity, extra)`` for a name, formula or bound nonlinearity and signal ``u``.

    ``lam`` None becomes :func:`auto_lambda` of ``u`` (with the noise level
    ``sigma`` when given; ``extra`` then says how); a formula that does not
    use lam, and the linear family (g = 1, S = 0: none to choose, none refused for
    the samples), get 1.
    """
    if isinstance(nonlinearity, Nonlinearity):
        return with_reach(nonlinearity, u, h), {}
    if not isinstance(nonlinearity, str):  # a formula (the expression machinery only then)
        from .expr import Expression, expression_nonlinearity
    if not isinstance(nonlinearity, str) and isinstance(nonlinearity, Expression):
        extra = {"expression": nonlinearity.text}
        if lam is None:
            if nonlinearity.uses_lam:
                lam, auto = auto_lambda(u, h, sigma)
                extra.update(auto)
            else:
                lam = 1.0
        return with_reach(expression_nonlinearity(nonlinearity, form, lam), u, h), extra
    extra = {}
    named = lam is None and isinstance(nonlinearity, str)
    if named and resolve_name(nonlinearity, form).key == "linear":
        lam, extra = 1.0, {"lambda_rule": "not used (linear)"}
    elif lam is None:
        lam, extra = auto_lambda(u, h, sigma)
    return get_nonlinearity(nonlinearity, form, lam), extra


#: The parameters of a plan of several scales that describe its blocks: of a plan refused
#: (:func:`as_identity` with ``refused``) they are ``rejected_scales``, ...
PLANNED_SCALES = ("scales", "thresholds", "lambdas", "blocks_per_scale")


def as_identity(plan, refused: bool = False):
    """The plan with zero blocks (a cascade's groups dropped): the output is its input
    (after the plan's pre-stage, if any); ``iterations`` and ``alpha`` say 0.  A plan
    passing channels through (:meth:`Plan.map_filter`) passes the same ones.
    ``refused``: the plan was refused (the input kept), its scales' parameters
    (:data:`PLANNED_SCALES`) are renamed ``rejected_*``: none of them ran."""
    return plan.map_filter(functools.partial(_without_blocks, refused=refused))


def _without_blocks(plan, refused: bool = False):
    """:func:`as_identity` of a plan that filters every channel it is given."""
    params = dict(plan.parameters)
    if refused:
        for key in PLANNED_SCALES:
            if key in params:
                params[f"rejected_{key}"] = params.pop(key)
    for key in ("iterations", "alpha"):
        if key in params:
            params[key] = 0 if key == "iterations" else 0.0
    changes = {"steps": 0, "parameters": params, "alpha": None if plan.alpha is None else 0.0}
    changes["computed"] = None
    if getattr(plan, "groups", None):
        changes["groups"] = ()
    return dataclasses.replace(plan, **changes)


def span_of(u, shift: int = 0) -> float:
    """``max - min`` over all samples and channels of ``u`` (samples or a :class:`Summary`),
    of the samples divided by ``2**shift`` (a plan's :attr:`Plan.run_shift`)."""
    if isinstance(u, Summary):
        lo, hi = getattr(u, "minimum", None), getattr(u, "maximum", None)
        if lo is None or hi is None or not shift:
            return times_power_of_two(float(u.span), -shift)
        x = np.array([np.min(lo), np.max(hi)], dtype=float)  # its span may overflow: halved
    else:
        x = np.asarray(u)
    if x.dtype != np.float32:  # float32 values: their float64 span, without a widened copy
        x = x.astype(float, copy=False)
    return times_power_of_two(float(x.max()), -shift) - times_power_of_two(float(x.min()), -shift)


def emit_warning(message: str, on_warning=None) -> None:
    """Give ``message`` to ``on_warning(message)``, or to :func:`warnings.warn`."""
    if on_warning is None:
        warnings.warn(message, ResdenoiseWarning, stacklevel=3)
    else:
        on_warning(message)


def with_reach(nl: Nonlinearity, u, h: float = 1.0) -> Nonlinearity:
    """A custom ``nl`` that knows how far the signal ``u``'s differences reach.

    Under the max-min principle every difference of every block stays within
    ``(max - min) / h`` of the input, so a custom function's stability is
    sampled up to there, and down to the signal's smallest nonzero difference
    over h (``floor``), where it is below the grid: a Phi that is steeper only
    there is found unstable before the run (registry entries are exact and
    stay as they are).
    """
    if nl.entry is not None or u is None:
        return nl
    reach = span_of(u) / h
    if not math.isfinite(reach) or reach <= 0.0:
        return nl
    floor = smallest_step(u) / h
    floor = min(floor, nl.floor or math.inf) if math.isfinite(floor) and floor > 0.0 else nl.floor
    return dataclasses.replace(nl, reach=max(reach, nl.reach or 0.0), floor=floor)


#: Rows of a signal read at a time by :func:`smallest_step` (no difference array of its size).
STEP_ROWS = 1 << 16


def smallest_step(u) -> float:
    """The smallest nonzero ``|u[i+1] - u[i]|`` over all channels (float64; inf where
    there is none); of a :class:`Summary`, its own (a streamed file's: by a pass)."""
    if isinstance(u, Summary):
        return u.smallest_step
    x = np.asarray(u)
    x = x.reshape(x.shape[0], -1)
    least = math.inf
    for a in range(0, max(x.shape[0] - 1, 0), STEP_ROWS):
        d = np.abs(np.diff(x[a : a + STEP_ROWS + 1].astype(float, copy=False), axis=0))
        d = d[d > 0.0]
        if d.size:
            least = min(least, float(d.min()))
    return least


def check_verdict(plan, verdict, allow_unstable: bool = False, on_warning=None) -> None:
    """Refuse a plan that is not L-infinity stable; warn when it is not sign stable.

    ``on_warning(message)`` receives the warning (default :func:`warnings.warn`).

    Raises
    ------
    UnstableError
        Unless ``allow_unstable``; the message gives the stable tau when
        one exists.
    """
    shrinks = plan.command == "shrink" and plan.tau == 0.25 and plan.h == 1.0
    if not verdict.linf_stable and not allow_unstable and "|S(s)| <= |s|" in verdict.reason:
        raise UnstableError(
            f"refused as unstable: {verdict.reason}. Choose a shrinkage with |S(s)| <= |s| "
            "(shrink's step is one Haar step, tau = 1/4: it takes no tau), or pass "
            "allow_unstable=True",
            parameters=[("allow_unstable", True)],
        )
    if not verdict.linf_stable and not allow_unstable:
        tau_helps = verdict.tau_helps
        underflow = stability.bound_underflows(verdict.tau_linf_bound, verdict.h, verdict.g_max)
        remedy, parameters = (
            (f"{underflow[0].upper()}{underflow[1:]}; or", ["h"])
            if tau_helps and underflow
            else _stable_steps(plan, verdict)
            if tau_helps
            else ("No tau makes it stable; choose another nonlinearity or", [])
        )
        raise UnstableError(
            f"refused as unstable: {verdict.reason}. {remedy} pass allow_unstable=True",
            parameters=[*parameters, ("allow_unstable", True)],
        )
    if verdict.linf_stable and not verdict.sign_stable and shrinks and plan.form == "shrinkage":
        message = f"{shrinkage_words(plan.nl, 0.0)}: sign changes may increase"
        emit_warning(message, on_warning)
    elif verdict.linf_stable and not verdict.sign_stable:
        tau, bound = stability.apart(plan.tau, verdict.tau_sign_bound)
        message = (
            f"tau = {tau} is L-infinity stable but above the sign-stable bound "
            f"{bound}: sign changes may increase"
        )
        emit_warning(message, on_warning)


def _stable_steps(plan, verdict) -> tuple[str, list]:
    """What makes ``plan`` stable where a smaller tau does, and the parameters it names:
    a stable tau (printed as one that is accepted), or for regularisation, whose tau is
    alpha/steps and no option of its own, the fewest stable steps."""
    linf, sign = verdict.tau_linf_bound, verdict.tau_sign_bound
    if plan.command == "regularise" and plan.alpha:
        try:
            m_linf = _blocks_for(plan.alpha, linf, exact=verdict.exact)
            m_sign = _blocks_for(plan.alpha, sign, exact=verdict.exact)
        except ParameterError:  # more steps than a run takes
            return (
                f"A stable tau = alpha/steps <= {stability.at_most(linf)} needs more steps "
                "than a run takes; give a smaller alpha, or",
                ["alpha"],
            )
        return (
            f"Give {spell('steps', m_linf)} or more (tau = alpha/steps <= "
            f"{stability.at_most(linf)}; sign-stable: {spell('steps', m_sign)} or more), "
            "leave steps out (the fewest sign-stable blocks), or",
            [("steps", m_linf), ("steps", m_sign), "steps"],
        )
    return (
        f"A stable tau is <= {stability.at_most(linf)} (sign-stable <= "
        f"{stability.at_most(sign)}); or",
        [],
    )


#: Where the plan functions' settings take ``"auto"``: the planner's (its own command's,
#: :func:`check_setting`'s ``auto_for``).
AUTO_SETTINGS = "time (diffuse) or alpha (regularise)"


def check_setting(name: str, value, integer: bool = False, auto_for: str = AUTO_SETTINGS):
    """A plan's setting ``value`` (None as it is): a count of blocks (``integer``;
    :func:`resdenoise.errors.check_count`, at most :data:`MAX_BLOCKS`, as an ``int``) or
    a finite number > 0 (:func:`resdenoise.errors.check_positive`), else
    :class:`ParameterError`; ``"auto"`` is said to be for ``auto_for``."""
    if value is None:
        return None
    try:
        value = check_count(name, value) if integer else check_positive(name, value)
    except ParameterError as error:
        if isinstance(value, str) and value == "auto":
            raise ParameterError(f"{error}; 'auto' is for {auto_for}") from None
        raise
    if integer:
        check_blocks(name, value)
    return value


def _exact(value: float) -> str:
    """``value`` as it round-trips (25000001, not 2.5e+07; 0.1, not 0.10000000000000001)."""
    text = repr(float(value))
    return text.removesuffix(".0")


def _largest_total(tau_max: float) -> str:
    """The largest time (or alpha) :func:`_blocks_for` takes at ``tau_max``, as short as
    it can be said in 6 digits or more and never above it: ``2.5e+07`` at 0.25."""
    x = MAX_BLOCKS * tau_max
    while x > 0 and not x / tau_max <= MAX_BLOCKS:
        x = math.nextafter(x, 0.0)
    for digits in range(6, 18):
        text = f"{x:.{digits}g}"
        if float(text) <= x:
            return text
    return repr(x)


def _blocks_for(total: float, tau_max: float, name: str = "time", exact: bool = True) -> int:
    """Smallest m with total/m <= tau_max up to the bound's rounding
    (:func:`resdenoise.stability.within_bound`: a tau within 4 ulp of it is at it, so
    ``1.05`` at ``0.15`` is 7 blocks, though 1.05/0.15 is 7.000000000000001 in binary);
    ``name``: the parameter that gave ``total`` (``time``, regularisation's ``alpha``),
    as a refusal names it.  ``exact`` false: ``tau_max`` is the bound of a sampled
    g_max, known to :data:`~resdenoise.stability.G_MAX_ROUNDING` (a function's g_max
    sampled a few 1e-12 above its family's: the family's count)."""
    if not total / tau_max <= MAX_BLOCKS:
        need = total / tau_max
        raise ParameterError(
            f"{name} {_exact(total)} at tau <= {tau_max:g} needs {count_said(need)} steps, "
            f"{too_many_blocks(need)}; give a smaller {name}, at most {_largest_total(tau_max)}",
            parameters=[name],
        )
    m = max(1, math.ceil(total / tau_max))
    while not stability.within_bound(total / m, tau_max, exact):
        m += 1
    if m > 1 and stability.within_bound(total / (m - 1), tau_max, exact):
        m -= 1  # (at most one: m is at most MAX_BLOCKS, 1/m far above the rounding)
    return m


def plan_diffuse(nl, time=None, steps=None, tau=None, h=1.0) -> Plan:
    """Nonlinear diffusion up to ``time`` T (m = ceil(T/tau_max), tau = T/m) or for ``steps`` m.

    tau (or tau_max with ``time``) defaults to the sign-stable bound
    ``h^2/(4 g_max)``.
    """
    check_setting("h", h)
    check_setting("tau", tau)
    check_setting("time", time)
    steps = check_setting("steps", steps, integer=True)
    if (time is None) == (steps is None):
        raise ParameterError("give exactly one of time or steps", parameters=["time", "steps"])
    props = stability.analyse_function(nl) if tau is None else None  # (sampled once)
    tau_max = tau if tau is not None else stability.default_tau(nl, h, properties=props)
    params = {"lambda": nl.lam}
    if time is not None:  # a tau given is exact; the default, as exact as g_max
        steps = _blocks_for(time, tau_max, exact=props is None or props.exact)
        if tau is not None and not stability.within_bound(tau, time / steps):
            params["tau_given"] = tau  # the largest step: the run's is smaller
        tau = time / steps
    else:
        tau = tau_max
    return Plan("diffuse", "diffusivity", nl, tau, h, steps, params)


def plan_shrink(nl, iterations=1) -> Plan:
    """m iterations of cycle-spun Haar shrinkage: m blocks, tau = 1/4, h = 1."""
    iterations = int(check_setting("iterations", iterations, integer=True))  # None: TypeError
    params = {"threshold": nl.theta, "lambda": nl.lam, "iterations": iterations}
    return Plan("shrink", "shrinkage", nl, 0.25, 1.0, iterations, params)


def plan_regularise(nl, alpha, steps=None, h=1.0) -> Plan:
    """Regularisation with weight alpha: m explicit blocks with tau = alpha/m.

    m defaults to the smallest count that keeps tau sign-stable.
    """
    check_setting("alpha", alpha)
    steps = check_setting("steps", steps, integer=True)
    check_setting("h", h)
    if steps is None:
        props = stability.analyse_function(nl)  # (a Python function: sampled once)
        tau_max = stability.default_tau(nl, h, remedy="steps", properties=props)
        steps = _blocks_for(alpha, tau_max, "alpha", props.exact)
    params = {"lambda": nl.lam, "alpha": alpha}
    return Plan("regularise", "regulariser", nl, alpha / steps, h, steps, params, alpha)


def plan_resnet(nl, blocks, tau=None, h=1.0) -> Plan:
    """A residual network of ``blocks`` diffusion blocks; tau defaults to the sign bound."""
    check_setting("blocks", blocks, integer=True)
    check_setting("tau", tau)
    check_setting("h", h)
    if tau is None:
        tau = stability.default_tau(nl, h)
    return Plan("resnet", "activation", nl, tau, h, int(blocks), {"lambda": nl.lam})


def run_plan(
    plan: Plan, u: np.ndarray, callback=None, dtype=None, threads=None, out=None
) -> np.ndarray:
    """Run the plan's blocks on ``u`` (shape (n,) or (n, channels)).

    ``dtype`` ('float64' or 'float32'; default: float32 input stays float32)
    and ``threads`` go to :func:`~resdenoise.engine.run_blocks`.  The callback
    (a progress bar) is called after each of the engine's sweeps, not
    necessarily after every block.  ``out``: where a plain :class:`Plan`
    (not a network's or several scales') may write its result, as
    run_blocks takes it (``u`` itself: in place, ``u`` is then overwritten);
    elsewhere ignored.
    """
    if dtype is not None:
        u = np.asarray(u, dtype=dtype)
    done = plan.computed_run(u, callback)  # a plan of several scales too (Plan.run: its own)
    if done is not None:
        return done
    if out is not None and type(plan) is Plan:
        return plan.run(u, callback, threads=threads, out=out)
    return plan.run(u, callback, threads=threads)


def _as_of_file(plan, source, staged, checks) -> list:
    """``checks`` (measured from the pre-staged signal ``staged``) with the input's
    numbers those of the file, ``source`` (range, sign changes, total variation: the
    blocks' guarantees measured from ``staged`` hold against them too; its sign changes
    counted in ``staged``'s band, as the output's are), and what the
    pre-stage did per channel: ``impulses_replaced`` (samples changed),
    ``impulse_max_change`` and ``impulse_mean_change`` (the mean of ``staged`` minus
    the file's; ``mean_drift`` is the blocks', from ``staged``)."""
    from .measure import _whole_measure

    # the file's sign changes counted in the band of what the blocks ran on (``staged``'s
    # ulp), the band their output's are counted in: one band for both sides of the check
    # (the file's own band, of spikes of 1e38, hid every real sample: "0 -> 5")
    plain = dataclasses.replace(plan, prestage=None)
    m = _whole_measure(plain, staged, np.asarray(source).dtype, source)
    m.add_whole(source, source)
    filed = m.checks()
    f2 = np.asarray(source, dtype=float).reshape(np.shape(source)[0], -1)
    g2 = np.asarray(staged, dtype=float).reshape(f2.shape)
    out = []
    for c, (check, file_check) in enumerate(zip(checks, filed, strict=True)):
        moved = g2[:, c] - f2[:, c]
        did = {
            "impulses_replaced": int(np.count_nonzero(moved)),
            "impulse_max_change": float(np.max(np.abs(moved))),
            "impulse_mean_change": float(np.mean(g2[:, c]) - np.mean(f2[:, c])),
        }
        out.append(
            dataclasses.replace(
                check,
                input_min=file_check.input_min,
                input_max=file_check.input_max,
                sign_changes_in=file_check.sign_changes_in,
                tv_in=file_check.tv_in,
                extra={**check.extra, **did},
            )
        )
    return out


def analyse_run(
    plan: Plan,
    f: np.ndarray,
    u: np.ndarray,
    verdict: stability.StabilityVerdict | None = None,
    check_wavelet: bool = False,
    *,
    measured=None,
    level=None,
    labels=None,
) -> dict:
    """Everything measured about a run, as the JSON report's dictionary.

    With an impulse pre-stage the blocks' guarantees are measured from the
    pre-staged signal (which is within the input's range, with no more total
    variation or sign changes); the input's range, sign changes and total
    variation are the file's, and each channel says what the pre-stage changed
    (:func:`_as_of_file`).

    The per-channel numbers are measured as a streamed run measures them
    (:func:`resdenoise.measure.measure_run`: sums in the pieces of a fixed
    grid of rows), so that a streamed report is this one, bit for bit.

    ``measured`` (:func:`resdenoise.measure.measure_input`) and ``level``
    (:func:`resdenoise.noise.resolve_sigma`): the input's numbers taken before
    the run, for a plain plan (no pre-stage, not ``regularise``, no scales)
    without ``check_wavelet``; ``f`` is then not read (the run may have
    overwritten it).  ``labels``: how the messages name each channel (a file's
    columns, :func:`resdenoise.report.build_report`; default ``channel 1``, ...).

    Keys: ``command``, ``family``, ``form``, ``name``, ``class``,
    ``parameters``, ``tau``, ``h``, ``steps``, ``stopping_time``,
    ``tool``, ``schema_version``, ``stability``, ``tolerance``,
    ``noise_sigma`` (per channel), ``channel_labels``, ``channels``, ``failed_checks``,
    ``guarantees_held`` (and ``wavelet_check`` with ``check_wavelet``).
    """
    if hasattr(plan, "split"):  # each channel its own plan, measured against it
        return plan.analysed(analyse_run, f, u, check_wavelet, labels)
    verdict = verdict or plan.verdict()
    source = f
    if plan.prestage is not None:
        # the blocks' guarantees hold for what the blocks got: the pre-staged signal
        # (the pre-stage itself keeps the max-min principle, TV and sign changes)
        f = plan.prestage.apply(f)
    if measured is not None:
        if plan.prestage is not None or plan.command == "regularise" or check_wavelet:
            raise ValueError("measured: for a plain plan without check_wavelet only")
        if plan.scale_checks is not None or level is None:
            raise ValueError("measured: for a plan of one scale, with the level")
    from .measure import measure_run  # not at start-up: a run under -q measures nothing

    checks, tol = measure_run(plan, f, u, measured)
    if plan.prestage is not None:
        checks = _as_of_file(plan, source, f, checks)
    from .report import build_report  # not at start-up: a run under -q builds no report

    if level is None:
        level = resolve_sigma(f)  # per channel, for every run (see resdenoise.noise)
    report = build_report(
        plan,
        verdict,
        checks,
        tol,
        level.sigma,
        dtype=u.dtype,
        estimator=level.estimator,
        labels=labels,
    )
    if plan.scale_checks is not None and plan.steps:  # several scales: guarantees per scale
        # (none where no block ran: the input kept, nothing of the scales happened)
        report["scales"] = plan.scale_checks(f)
        failed = [msg for s in report["scales"] for msg in s.get("failed", ())]
        if failed:
            report["failed_checks"] = [*report["failed_checks"], *failed]
            report["guarantees_held"] = False
    if check_wavelet:
        ref = plan.wavelet_reference(f)
        report["wavelet_check"] = {"max_abs_difference": float(np.max(np.abs(ref - u)))}
    return report
