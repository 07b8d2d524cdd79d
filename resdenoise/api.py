"""The one-call Python API: :func:`diffuse`, :func:`shrink`, :func:`regularise`,
:func:`resnet`, each returning the filtered signal.

They take what the command line takes, in Python's terms: a signal as an
array or a list (shape ``(n,)`` or ``(n, channels)``), a nonlinearity by
name (any form's spelling), as a formula
(:func:`resdenoise.expr.parse_expression`: lam, or theta, bound as given, as the
command line's formulas), as a :class:`~resdenoise.nonlinearities.Nonlinearity`
or as a function of ``r`` in the command's form, and ``"auto"`` where the
command line takes ``auto``.  They plan with the command line's plan maker
(:func:`resdenoise.plans.planner`), so that the same settings give the
same numbers, and refuse what it refuses with the same exceptions
(:mod:`resdenoise.errors`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from .errors import (
    ParameterError,
    ResdenoiseError,
    ResdenoiseWarning,
    SignalError,
    check_kind,
    check_signal,
    is_positive,
    refuse_complex,
    refuse_diverged,
    spell,
)
from .filters import check_verdict, run_plan
from .flux_checks import check_lams, probe_flux
from .function_properties import one_sampling
from .nonlinearities import SQRT2, Nonlinearity, from_function
from .orientation import samples_in_rows
from .plan_notes import in_library_words
from .plans import planner

__all__ = ["diffuse", "regularise", "resnet", "shrink"]

#: A nonlinearity as the functions take it: a registry name, a bound
#: nonlinearity, or a function of r (of s for a shrinkage) in the command's form.
NonlinearityLike = str | Nonlinearity | Callable[[np.ndarray], np.ndarray]
Auto = Literal["auto"]
StoppingRule = Literal["sure", "noise2self", "decorrelation"]


def as_signal(u: npt.ArrayLike) -> np.ndarray:
    """``u`` as a float array of shape ``(n,)`` or ``(n, channels)``, n >= 2, all finite.

    float32 stays float32 (big-endian too, in native order); everything else becomes
    float64.  An input that is already native float32 or float64 is not copied (a
    memmap is read where it is):
    the result may be ``u`` itself, which the engine only reads.

    Raises
    ------
    SignalError
        Not numbers (dates, durations, text or records are not), the wrong number
        of dimensions, fewer than 2 samples, no channels, a masked sample, or a
        sample that is NaN or infinite (the command line's errors).
    """
    _refuse_masked(u)
    try:
        a = np.asarray(u)
        if a.dtype.kind in "mMSUV":  # dates, durations, text, records: not samples
            raise TypeError(a.dtype)
        if a.dtype == object:  # a None would be cast to nan: named as it is
            _refuse_none(a)
        complex_ = np.iscomplexobj(a)
        # float32 in either byte order ('>f4': FITS, np.fromfile): float32, native order
        if a.dtype.kind == "f" and a.dtype.itemsize == 4:
            a = a.astype(np.float32, copy=False)
        elif not complex_:
            a = a.astype(np.float64, copy=False)  # float64 already: read, not copied
    except SignalError:  # a None, named
        raise
    except (TypeError, ValueError):
        raise SignalError(_not_numbers(u)) from None
    except OverflowError:  # a Python int beyond float64 (10**400): a sample not finite
        raise SignalError(_beyond_float64(a)) from None
    refuse_complex(a)  # not cast: that drops the imaginary part with a mere warning
    check_signal(a)  # the command line's rule, choose_denoiser's check
    return a


def _not_numbers(u) -> str:
    """Why ``u`` is no signal: a table's (a pandas DataFrame's ``dtypes``) first column
    that is not numbers (dates, text), with the columns that are; else in general."""
    dtypes = getattr(u, "dtypes", None)
    if hasattr(dtypes, "items"):
        kinds = [(name, dtype, getattr(dtype, "kind", "O")) for name, dtype in dtypes.items()]
        numbers = [name for name, _, kind in kinds if kind in "biuf"]
        for name, dtype, kind in kinds:
            if kind not in "biuf":
                pick = f"; pass the columns of numbers, [{', '.join(map(repr, numbers))}]"
                return f"the signal: column {name!r} is {dtype}, not numbers" + (
                    pick if numbers else ""
                )
    return _NOT_NUMBERS


_NOT_NUMBERS = "the signal must be numbers: an array or a list of shape (n,) or (n, channels)"


def _refuse_none(a: np.ndarray) -> None:
    """Refuse an object array with a None in it, naming the first (its sample and, for
    several channels, channel, counted from 1)."""
    rows = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    for i, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                where = f", channel {c + 1}" if rows.shape[1] > 1 else ""
                raise SignalError(f"the signal: sample {i + 1}{where} is None, not a number")


def _inexact_integers(given, u: np.ndarray) -> list[str]:
    """The warning of the first integer sample of ``given`` (int64, uint64, Python ints)
    that float64 does not hold exactly (beyond 2**53), as :func:`as_signal` made it ``u``;
    none where every sample is held (one pass over ``u`` for an integer input)."""
    kind = getattr(getattr(given, "dtype", None), "kind", "O")
    if kind not in "iuO" or u.dtype != np.float64 or not np.max(np.abs(u)) >= 2.0**53:
        return []
    a = np.asarray(given)
    if a.dtype.kind == "O":
        differs = np.frompyfunc(lambda x, y: x != y, 2, 1)(a, u).astype(bool)
    elif a.dtype.kind in "iu":
        with np.errstate(invalid="ignore"):  # 2**63 as float64: not an int64
            differs = u.astype(a.dtype) != a
    else:
        return []
    if not differs.any():
        return []
    at = np.unravel_index(np.argmax(differs), differs.shape)
    where = f", channel {at[1] + 1}" if u.ndim == 2 else ""
    return [
        f"the signal: sample {at[0] + 1}{where}: {int(a[at])} is not exactly a float64 number "
        f"(an integer beyond 2**53); it is filtered as {float(u[at])!r}"
    ]


def _beyond_float64(a: np.ndarray) -> str:
    """Which sample of the object array ``a`` float64 cannot hold (an int of hundreds of
    digits), as :func:`check_signal` names a sample that is not finite."""
    rows = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    for i, row in enumerate(rows):
        for c, value in enumerate(row):
            try:
                float(value)
            except OverflowError:
                return (
                    f"the signal: sample {i + 1}, channel {c + 1} is beyond float64's range "
                    f"(+-{np.finfo(np.float64).max:.6g}), not a finite number"
                )
            except (TypeError, ValueError):
                continue
    return "the signal: a sample is beyond float64's range, not a finite number"


def _refuse_masked(u) -> None:
    """Refuse a masked array with a masked sample (np.asarray drops the mask: the
    samples under it would be filtered into their neighbours)."""
    if type(u).__module__.startswith("numpy.ma") and np.ma.getmaskarray(u).any():
        raise SignalError(
            "the signal has masked samples: fill them (u.filled(value)), or pass u.data "
            "to filter the samples as they are"
        )


def _tell(messages) -> None:
    """Warn of each message at the caller's line (stacklevel: _tell, _plan_and_run, _run,
    diffuse, the caller),
    the options it names spelt as this module's keyword arguments."""
    for message in messages:
        warnings.warn(in_library_words(message), ResdenoiseWarning, stacklevel=5)


def _expression() -> type:
    """:class:`resdenoise.expr.Expression` (callable too, but the planner binds its lam:
    it is no plain function to be used as given)."""
    from .expr import Expression

    return Expression


def _run(command: str, *args, **settings):
    """:func:`_plan_and_run`, its errors in the one-call functions' terms
    (:func:`_in_our_terms`); a Python function's stability sampled once (its NaN check,
    default tau and verdict: :func:`~resdenoise.function_properties.one_sampling`)."""
    try:
        with one_sampling():
            return _plan_and_run(command, *args, **settings)
    except ResdenoiseError as exc:
        restated = _in_our_terms(exc, command)
        if restated is exc:
            raise
        raise restated from None


def _in_our_terms(exc: ResdenoiseError, command: str) -> ResdenoiseError:
    """``exc`` with the parameters it names as the one-call functions take them: the
    working dtype is the input's (``dtype='float64'``: ``u.astype('float64')``); shrink's
    lambda is its threshold (``lam``: ``theta``).  ``exc`` itself where nothing changes."""

    def ours(name, value):
        if name == "dtype":
            return f"u.astype({value!r})"
        if name == "lam" and command == "shrink" and value is ...:
            return "theta"
        return spell(name, value)

    text = exc.restate(ours)
    if text == str(exc):
        return exc
    try:
        return type(exc)(text)  # its parameters spelt another way: no longer listed
    except TypeError:  # an error made otherwise: as it is
        return exc


def _plan_and_run(
    command: str, u, nonlinearity, form: str, lam, allow_unstable: bool, channel_axis, **settings
):
    """Plan as the command line does, refuse an unstable plan, run it."""
    check_kind(
        "allow_unstable",
        allow_unstable,
        isinstance(allow_unstable, (bool, np.bool_)),
        "True or False",
    )
    _refuse_masked(u)
    given, back = samples_in_rows(u, channel_axis)
    try:
        u = as_signal(given)
    except SignalError as exc:  # a table's columns, named where its array lost them
        if given is u or str(exc) != _NOT_NUMBERS:
            raise
        raise SignalError(_not_numbers(u)) from None
    _tell(_inexact_integers(given, u))  # as the command line warns of such a CSV cell
    if not (isinstance(nonlinearity, (str, Nonlinearity)) or callable(nonlinearity)):
        variable = "s" if form == "shrinkage" else "r"
        raise ParameterError(
            f"the {form} must be a registry name, a formula "
            "(resdenoise.expr.parse_expression), a resdenoise Nonlinearity or a function "
            f"of {variable}, not {type(nonlinearity).__name__}"
        )
    # a Nonlinearity's lam is bound: another lam (or theta) given with it, the planner's
    # refusal (plans._check_bound), the one check
    if callable(nonlinearity) and not isinstance(nonlinearity, (Nonlinearity, _expression())):
        name = getattr(nonlinearity, "__name__", "custom")
        for key, value in (("lam", lam), ("theta", settings.get("theta"))):
            if isinstance(value, str) and value == "auto":  # no family lambda to choose
                raise ParameterError(
                    f"{key}='auto' chooses a registry family's lambda from the noise; "
                    f"{name!r} is a function, whose features are its own: drop {key}, or "
                    f"give {key} the size of its features as a number",
                    parameters=[(key, "auto"), key, key],
                )
        # lam, where given, is the size of the function's features: the scale of its
        # translations' steps (a regulariser's Psi'/2) and of its stability sampling
        theta = settings.get("theta") if command == "shrink" else None
        scale = SQRT2 * theta if is_positive(theta) else lam  # shrink: lambda = sqrt2 theta
        scale = scale if is_positive(scale) else 1.0  # else the planner says what is wrong
        nonlinearity = from_function(nonlinearity, form, name=name, lam=scale)
        # bound to the number given (the planner takes it again)
    _refuse_non_finite(nonlinearity)
    try:
        make_plan = planner(command, nonlinearity, lam=lam, **settings)
    except ParameterError as exc:  # a formula given as a name: said how it is passed
        if isinstance(nonlinearity, str) and str(exc).startswith(f"Unknown {form} "):
            if any(c in nonlinearity for c in "()/^*+"):
                raise ParameterError(
                    f"{exc}; a formula is passed as resdenoise.expr.parse_expression("
                    f"{nonlinearity!r}, {form!r})"
                ) from None
        raise
    plan, extra = make_plan(u)
    _tell(extra.get("warnings", ()))  # what the automatic search has to say
    said: list[str] = []
    check_verdict(plan, plan.verdict(), allow_unstable, on_warning=said.append)
    _tell(said)  # tau above the sign-stable bound
    # the command line's refusals, the same functions (an automatic lambda: the input's fault)
    check_lams(plan, u.dtype, automatic="lambda_rule" in extra)
    # samples whose differences leave the dtype are refused even where allowed unstable
    plan = probe_flux(plan, u, u.dtype, samples_only=bool(allow_unstable))  # (or halved)
    out = run_plan(plan, u)  # the cascade over scales computes float64, rounded back:
    out = out.astype(u.dtype, copy=False)  # float32 stays float32 (as_signal's rule)
    # an unstable run allowed may diverge: refused as the command line's writers refuse it
    refuse_diverged(command, out, "nothing returned")
    if np.may_share_memory(out, given):  # never the caller's array (u is not copied)
        out = out.copy()
    return back(out)


def _refuse_non_finite(nl) -> None:
    """Refuse a Python function (or a Nonlinearity made of one) whose activation is NaN or
    infinite somewhere its stability is sampled, as the command line refuses such a formula
    (:func:`resdenoise.function_properties.non_finite_activation`, the one check): allowed unstable,
    it would make the output NaN; else its NaN would read as "g unbounded"."""
    if isinstance(nl, Nonlinearity) and nl.entry is None and nl.formula is None:
        from .function_properties import non_finite_activation, overflow_hint
        from .stability import analyse_function

        properties = analyse_function(nl)
        bad = non_finite_activation(nl, properties)
        if bad:
            hint = overflow_hint(nl, properties)
            raise ParameterError(f"{nl.name}: {bad}; a function must be finite for every r{hint}")


_SIGNAL = """
    u : array_like, shape (n,) or (n, channels)
        The signal (a list works too; float32 stays float32: computed in
        float32, but for ``"auto"``'s cascade over scales, which computes in
        float64 and returns its result rounded to float32).  Channels in
        rows, shape (channels, n), need ``channel_axis=0``: an array with no
        more rows than columns is refused without ``channel_axis``, never
        guessed.  Automatic parameters (``"auto"``, a lam or theta of None)
        that are searched (an ``"auto"`` time, iterations, alpha or blocks, an
        ``"auto"`` nonlinearity) give each channel the plan of a call of its
        own, bit for bit, where the channels' estimated noise levels differ by
        more than 1.5x or SURE finds their content different; else, and for an
        automatic lam or theta with the blocks given, they are one for all
        channels, set by the loudest channel's noise: where the levels differ
        by more than 4x (a quiet channel beside a loud one) a ResdenoiseWarning
        says so; filter such channels one call each."""

_LAM = """
    lam : float or "auto", optional
        Contrast parameter; None or ``"auto"``: from the noise estimate.  A
        function is used as given: lam is then the size of its features (default
        1), the scale of the step of a regulariser's numerical ``Psi'/2`` and of
        the grid on which its stability is sampled; give it where they are far
        from 1 (a Psi with features at 1e-3 for quiet audio); ``"auto"`` with a
        function is refused (it has no family lambda to choose).  A Nonlinearity
        has its lambda bound: another lam (or ``"auto"``) given with one is
        refused, its own again taken (:func:`resdenoise.plans.planner`); one that
        :func:`~resdenoise.nonlinearities.get_nonlinearity` made runs an
        automatic stopping time (``"auto"``) at that lambda, as its name with
        that lam does."""

_H = """
    h : float
        Grid size."""

_TAIL = """
    allow_unstable : bool
        Run even when the plan is not L-infinity stable (or its flux overflows at
        this lambda); samples whose differences leave the dtype are still refused
        (:class:`~resdenoise.errors.SignalValuesError`: the input's fault), and so
        is a run that diverges (an output value NaN or infinite: a
        :class:`~resdenoise.errors.SignalError`, nothing returned, as the command
        line writes nothing).  A function that is NaN or infinite somewhere is
        refused either way (its NaN would be the output's).
    stopping_rule : {"sure", "noise2self", "decorrelation"}
        How ``"auto"`` chooses.
    sigma : float or sequence of float, optional
        The noise level (standard deviation), when known: used by the automatic
        lambda (or threshold) and the automatic stopping instead of the estimate
        (the command line's ``--sigma``; :func:`resdenoise.plans.planner`'s ``sigma``);
        one per channel where they differ: an automatic stopping time then plans each
        channel with its own (:mod:`resdenoise.split`, as channels whose estimated
        levels differ by more than 1.5x are).
    channel_axis : {0, -2, 1, -1}, optional
        Where the channels of a 2-D ``u`` are: 0 (or -2) in rows, 1 (or -1) in
        columns; the output has the layout of ``u``.

    A formula (:func:`resdenoise.expr.parse_expression`, of the command's form) is
    bound to the lam (or theta) given, as the command line binds ``--diffusivity
    'FORMULA'``; a regulariser formula's ``Psi'/2`` is its exact derivative.

    Returns
    -------
    ndarray
        The filtered signal, of the shape of ``u`` (float32 for float32 ``u``).

    Raises
    ------
    SignalError
        The signal is not numbers, has fewer than 2 samples or a NaN/inf; or
        the run diverged (an unstable run allowed: an output value NaN or inf).
    ParameterError
        A function (or a Nonlinearity made of one) NaN or infinite somewhere on
        the grid its stability is sampled on (``1e-6 lam`` to ``1e6 lam``);
        settings that do not go together; an automatic stopping time
        (``time``, ``iterations``, ``alpha`` or ``blocks`` = ``"auto"``) with a
        function, a formula or a parametrised family (a registry name, or
        get_nonlinearity's Nonlinearity, takes one); ``lam`` (or ``theta``) =
        ``"auto"`` with a function; ``lam`` (or ``theta``) other than the bound
        one with a Nonlinearity; an unknown name (with the closest one), or a
        number out of range (lambda <= 0, a count with a fraction such as
        ``steps=2.5``).
    UnstableError
        The run is not L-infinity stable and ``allow_unstable`` is False."""


def diffuse(
    u: npt.ArrayLike,
    diffusivity: NonlinearityLike = "perona-malik",
    lam: float | Auto | None = None,
    time: float | Auto | None = None,
    steps: int | None = None,
    tau: float | None = None,
    h: float = 1.0,
    allow_unstable: bool = False,
    *,
    stopping_rule: StoppingRule = "sure",
    sigma: float | Sequence[float] | None = None,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Nonlinear diffusion of ``u`` with diffusivity g up to ``time`` (or for ``steps``).

    Explicit blocks ``u_i += (tau/h) (Phi(d_i) - Phi(d_i-1))``, ``Phi(r) = g(r) r``,
    ``d_i = (u_i+1 - u_i)/h``, with reflecting (zero-flux, homogeneous Neumann) ends: no
    flux leaves either end, the mean is kept.

    Parameters
    ----------
    {signal}
    diffusivity : str, Expression, Nonlinearity or callable
        A diffusivity name (``"perona-malik"``, ``"charbonnier"``, ...), or
        g itself as a function of r; ``"auto"``: the family (Perona-Malik,
        Charbonnier, Perona-Malik over scales), lambda and time by SURE
        (:func:`resdenoise.plans.automatic_planner`).
    {lam}
    time : float or "auto", optional
        Stopping time T (m = ceil(T/tau_max) steps of tau = T/m, tau_max
        being ``tau``; a tau within 4 ulp of it counts as at it: ``time=1.05,
        tau=0.15`` is 7 steps), or
        ``"auto"``: chosen by ``stopping_rule``.  Give time or steps.
    steps : int, optional
        Number of explicit steps m.
    tau : float, optional
        Time step; default the sign-stable bound h^2/(4 g_max).  With
        ``time``, the largest step: ``time=1.0, tau=0.3`` runs 4 steps of 0.25.
    {h}
    {tail}

    Examples
    --------
    >>> diffuse([0.0, 0.0, 1.0, 1.0], "linear", lam=1.0, steps=1).tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    return _run(
        "diffuse",
        u,
        diffusivity,
        "diffusivity",
        lam,
        allow_unstable,
        channel_axis,
        rule=stopping_rule,
        sigma=sigma,
        time=time,
        steps=steps,
        tau=tau,
        h=h,
    )


def shrink(
    u: npt.ArrayLike,
    shrinkage: NonlinearityLike = "soft",
    theta: float | Auto | None = None,
    iterations: int | Auto | None = None,
    allow_unstable: bool = False,
    *,
    stopping_rule: StoppingRule = "sure",
    sigma: float | Sequence[float] | None = None,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Iterated cycle-spun Haar shrinkage of ``u`` with threshold theta (m blocks, tau = 1/4).

    One iteration: the orthonormal Haar step (``a = (x + y)/sqrt2``, ``w = (x - y)/sqrt2``,
    w -> S(w)) on both shifts of the mirrored signal ``[u, u reversed]`` (reflecting,
    zero-flux ends), averaged: PyWavelets' level-1 ``swt``/``iswt`` of the mirrored signal,
    cut back to n samples (not of ``u`` itself: its ends are periodic).

    Parameters
    ----------
    {signal}
    shrinkage : str, Expression, Nonlinearity or callable
        A shrinkage name (``"soft"``, ``"garrote"``, ``"hard"``, ...), or S
        itself as a function of s; ``"auto"``: the family (soft, garrote,
        hard, soft over scales), threshold and iterations by SURE
        (:func:`resdenoise.plans.automatic_planner`).
    theta : float or "auto", optional
        Threshold (lambda = sqrt2 theta); None or ``"auto"``: the universal
        threshold.  A function is used as given: theta is then the size of its
        features (default 1/sqrt2), the scale of its stability sampling
        (``"auto"`` with a function is refused).  A Nonlinearity has its lambda
        bound: another theta (or ``"auto"``) given with one is refused, its own
        (lambda / sqrt2) again taken.
    iterations : int or "auto", optional
        Number of iterations m (default 1), or ``"auto"``: chosen by ``stopping_rule``.
    {tail}

    Examples
    --------
    >>> shrink([0.0, 0.0, 4.0, 4.0], "hard", theta=0.5).tolist()
    [0.0, 0.0, 4.0, 4.0]
    """
    return _run(
        "shrink",
        u,
        shrinkage,
        "shrinkage",
        None,
        allow_unstable,
        channel_axis,
        rule=stopping_rule,
        sigma=sigma,
        theta=theta,
        iterations=iterations,
    )


def regularise(
    u: npt.ArrayLike,
    regulariser: NonlinearityLike = "charbonnier",
    lam: float | Auto | None = None,
    alpha: float | Auto = 1.0,
    steps: int | None = None,
    h: float = 1.0,
    allow_unstable: bool = False,
    *,
    stopping_rule: StoppingRule = "sure",
    sigma: float | Sequence[float] | None = None,
    channel_axis: int | None = None,
) -> np.ndarray:
    """Variational regularisation of ``u`` with weight alpha, by m explicit blocks.

    Parameters
    ----------
    {signal}
    regulariser : str, Expression, Nonlinearity or callable
        A regulariser name (``"charbonnier"``, ``"huber"``, ...), or Psi itself
        as a function of r.
    {lam}
    alpha : float or "auto"
        Regularisation weight (= stopping time), or ``"auto"``: chosen by
        ``stopping_rule``.
    steps : int, optional
        Number of blocks m (tau = alpha/m); default the fewest that keep tau
        sign-stable.
    {h}
    {tail}

    Examples
    --------
    >>> regularise([0.0, 0.0, 1.0, 1.0], "linear", lam=1.0, alpha=0.25).tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    return _run(
        "regularise",
        u,
        regulariser,
        "regulariser",
        lam,
        allow_unstable,
        channel_axis,
        rule=stopping_rule,
        sigma=sigma,
        alpha=alpha,
        steps=steps,
        h=h,
    )


def resnet(
    u: npt.ArrayLike,
    activation: NonlinearityLike = "tanh",
    lam: float | Auto | None = None,
    blocks: int | Auto = 1,
    tau: float | None = None,
    h: float = 1.0,
    allow_unstable: bool = False,
    *,
    stopping_rule: StoppingRule = "sure",
    sigma: float | Sequence[float] | None = None,
    channel_axis: int | None = None,
) -> np.ndarray:
    """A residual network of ``blocks`` diffusion blocks with activation Phi on ``u``.

    Parameters
    ----------
    {signal}
    activation : str, Expression, Nonlinearity or callable
        An activation name (``"tanh"``, ``"isru"``, ...), or Phi itself as a
        function of r (``np.tanh``); a function is checked for stability by
        sampling, as the command line's formulas are.
    {lam}
    blocks : int or "auto"
        Number of blocks m, or ``"auto"``: chosen by ``stopping_rule``.
    tau : float, optional
        Time step; default the sign-stable bound h^2/(4 g_max).
    {h}
    {tail}

    Examples
    --------
    >>> import numpy as np
    >>> resnet([0.0, 0.0, 1.0, 1.0], np.tanh, blocks=1, tau=0.25).round(4).tolist()
    [0.0, 0.1904, 0.8096, 1.0]
    """
    return _run(
        "resnet",
        u,
        activation,
        "activation",
        lam,
        allow_unstable,
        channel_axis,
        rule=stopping_rule,
        sigma=sigma,
        blocks=blocks,
        tau=tau,
        h=h,
    )


for _func in (diffuse, shrink, regularise, resnet):  # the sections they share, once
    for _key, _text in (("signal", _SIGNAL), ("lam", _LAM), ("h", _H), ("tail", _TAIL)):
        if _func.__doc__:  # None under python -OO (docstrings stripped)
            _func.__doc__ = _func.__doc__.replace("    {" + _key + "}", _text.strip("\n"))
