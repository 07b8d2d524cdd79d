"""The one-call Python API: :func:`diffuse`, :func:`shrink`, :func:`regularise`,
:func:`resnet`, each returning the filtered signal.

They take what the command line takes, in Python's terms: a signal as an
array or a list (shape ``(n,)`` or ``(n, channels)``), a nonlinearity by
name (any form's spelling), as a :class:`~resdenoise.nonlinearities.Nonlinearity`
or as a function of ``r`` in the command's form, and ``"auto"`` where the
command line takes ``auto``.  They plan with the command line's plan maker
(:func:`resdenoise.pipeline.planner`), so that the same settings give the
same numbers, and refuse what it refuses with the same exceptions
(:mod:`resdenoise.errors`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from .errors import SignalError
from .filters import check_verdict, run_plan
from .nonlinearities import Nonlinearity, from_function
from .pipeline import AUTO, planner

__all__ = ["diffuse", "regularise", "resnet", "shrink"]

#: A nonlinearity as the functions take it: a registry name, a bound
#: nonlinearity, or a function of r (of s for a shrinkage) in the command's form.
NonlinearityLike = str | Nonlinearity | Callable[[np.ndarray], np.ndarray]
Auto = Literal["auto"]
StoppingRule = Literal["sure", "noise2self", "decorrelation"]


def as_signal(u: npt.ArrayLike) -> np.ndarray:
    """``u`` as a float array of shape ``(n,)`` or ``(n, channels)``, n >= 2, all finite.

    float32 stays float32; everything else becomes float64.

    Raises
    ------
    SignalError
        Not numbers, the wrong number of dimensions, fewer than 2 samples, or
        a sample that is NaN or infinite (the command line's errors).
    """
    try:
        a = np.asarray(u)
        if a.dtype != np.float32:
            a = a.astype(np.float64)
    except (TypeError, ValueError):
        raise SignalError(
            "the signal must be numbers: an array or a list of shape (n,) or (n, channels)"
        ) from None
    if a.ndim not in (1, 2):
        raise SignalError(f"the signal must have shape (n,) or (n, channels), not {a.shape}")
    if a.shape[0] < 2 or a.size == 0:
        raise SignalError(f"a signal needs at least 2 samples; this one has shape {a.shape}")
    bad = ~np.isfinite(a)
    if bad.any():
        index = np.argwhere(bad)[0]
        where = f"sample {index[0]}" + (f" of channel {index[1]}" if a.ndim == 2 else "")
        raise SignalError(f"{where} is {float(a[tuple(index)])}: not a finite number")
    return a


def _run(command: str, u, nonlinearity, form: str, lam, allow_unstable: bool, **settings):
    """Plan as the command line does, refuse an unstable plan, run it."""
    u = as_signal(u)
    if callable(nonlinearity) and not isinstance(nonlinearity, Nonlinearity):
        name = getattr(nonlinearity, "__name__", "custom")
        nonlinearity = from_function(nonlinearity, form, name=name, lam=1.0)
    lam = None if lam is None or lam == AUTO else lam
    plan, extra = planner(command, nonlinearity, lam=lam, **settings)(u)
    for message in extra.get("warnings", ()):  # what the automatic search has to say
        warnings.warn(message, UserWarning, stacklevel=3)
    check_verdict(plan, plan.verdict(), allow_unstable)
    return run_plan(plan, u)


_SIGNAL = """
    u : array_like, shape (n,) or (n, channels)
        The signal (a list works too; float32 stays float32)."""

_LAM = """
    lam : float or "auto", optional
        Contrast parameter; None or ``"auto"``: from the noise estimate (a
        function is used as given)."""

_H = """
    h : float
        Grid size."""

_TAIL = """
    allow_unstable : bool
        Run even when the plan is not L-infinity stable.
    stopping_rule : {"sure", "noise2self", "decorrelation"}
        How ``"auto"`` chooses.

    Returns
    -------
    ndarray
        The filtered signal, of the shape of ``u``.

    Raises
    ------
    SignalError
        The signal is not numbers, has fewer than 2 samples or a NaN/inf.
    ParameterError
        Settings that do not go together, or ``"auto"`` with a function.
    ValueError
        An unknown name (with the closest one) or lambda <= 0.
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
) -> np.ndarray:
    """Nonlinear diffusion of ``u`` with diffusivity g up to ``time`` (or for ``steps``).

    Parameters
    ----------
    {signal}
    diffusivity : str, Nonlinearity or callable
        A diffusivity name (``"perona-malik"``, ``"charbonnier"``, ...), or
        g itself as a function of r.
    {lam}
    time : float or "auto", optional
        Stopping time T (m = ceil(T/tau_max) steps of tau = T/m), or
        ``"auto"``: chosen by ``stopping_rule``.  Give time or steps.
    steps : int, optional
        Number of explicit steps m.
    tau : float, optional
        Time step; default the sign-stable bound h^2/(4 g_max).
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
        rule=stopping_rule,
        time=time,
        steps=steps,
        tau=tau,
        h=h,
    )


def shrink(
    u: npt.ArrayLike,
    shrinkage: NonlinearityLike = "soft",
    theta: float | Auto | None = None,
    iterations: int | Auto = 1,
    allow_unstable: bool = False,
    *,
    stopping_rule: StoppingRule = "sure",
) -> np.ndarray:
    """Iterated cycle-spun Haar shrinkage of ``u`` with threshold theta (m blocks, tau = 1/4).

    Parameters
    ----------
    {signal}
    shrinkage : str, Nonlinearity or callable
        A shrinkage name (``"soft"``, ``"garrote"``, ``"hard"``, ...), or S
        itself as a function of s.
    theta : float or "auto", optional
        Threshold (lambda = sqrt2 theta); None or ``"auto"``: the universal
        threshold.
    iterations : int or "auto"
        Number of iterations m, or ``"auto"``: chosen by ``stopping_rule``.
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
        rule=stopping_rule,
        theta=AUTO if theta is None else theta,
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
) -> np.ndarray:
    """Variational regularisation of ``u`` with weight alpha, by m explicit blocks.

    Parameters
    ----------
    {signal}
    regulariser : str, Nonlinearity or callable
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
        rule=stopping_rule,
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
) -> np.ndarray:
    """A residual network of ``blocks`` diffusion blocks with activation Phi on ``u``.

    Parameters
    ----------
    {signal}
    activation : str, Nonlinearity or callable
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
        rule=stopping_rule,
        blocks=blocks,
        tau=tau,
        h=h,
    )


for _func in (diffuse, shrink, regularise, resnet):  # the sections they share, once
    for _key, _text in (("signal", _SIGNAL), ("lam", _LAM), ("h", _H), ("tail", _TAIL)):
        _func.__doc__ = _func.__doc__.replace("    {" + _key + "}", _text.strip("\n"))
