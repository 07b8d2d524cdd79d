"""The checks of a plan's numbers before it runs, in the working dtype.

:func:`check_lams` refuses a lambda the dtype holds as 0 or inf; :func:`probe_flux`
refuses a plan whose flux overflows or underflows on the differences the signal can
have, before anything runs (instead of a diverged output).  Used by the one-call
functions (:mod:`resdenoise.api`) and the file pipeline (:mod:`resdenoise.pipeline`).
(Moved here from :mod:`resdenoise.filters`.)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .engine import check_lam, run_blocks_unchecked
from .errors import ParameterError, SignalValuesError, UnstableError, quiet_underflow
from .filters import Summary, span_of
from .nonlinearities import Nonlinearity, get_nonlinearity

__all__ = ["check_lams", "probe_flux"]


def check_lams(plan, dtype: str, name: str | None = None, automatic: bool = False) -> None:
    """Refuse a registry lambda the working dtype holds as 0 or inf (its fluxes
    divide by it), of every nonlinearity of the plan (a network's groups too), naming
    the file ``name`` where given: an ``automatic`` lambda (from the samples) is the
    file's fault (a :class:`~resdenoise.errors.SignalValuesError`), a given one the
    option's."""
    automatic = automatic or plan.lambdas_searched  # several scales: each one's searched
    where = f"{name}: " if name else ""
    wide = np.dtype(dtype) == np.float64
    for nl in plan.nonlinearities():
        if nl.entry is None:
            continue
        try:
            check_lam(nl.lam, dtype)
        except ValueError as exc:
            if not automatic:  # a given lambda: the option's fault
                fix, named = "give another lam", ["lam"]
                if not wide:
                    fix, named = fix + " or use dtype='float64'", ["lam", ("dtype", "float64")]
                raise ParameterError(f"{where}{exc}; {fix}", parameters=named) from None
            # an automatic lambda, from the samples: their fault, what can be done about it
            info = np.finfo(dtype)
            with np.errstate(over="ignore", under="ignore"):
                held = float(np.dtype(dtype).type(nl.lam))
            told = f"{nl.lam:g}" if held == nl.lam else f"{nl.lam:g} ({held:g} in {info.dtype})"
            fix = "scale the signal" if wide else "scale the signal, or use dtype='float64'"
            raise SignalValuesError(
                f"{where}the automatic lambda is {told} for these samples, outside what a "
                f"{info.dtype} step can use ({float(info.smallest_subnormal):g} to "
                f"{float(info.max):g}); {fix}",
                parameters=[] if wide else [("dtype", "float64")],
            ) from None


def probe_flux(plan, subject, dtype: str, samples_only: bool = False):
    """:func:`_probe_flux` of the plan to run, and that plan: ``plan`` itself, or where
    the samples' differences leave ``dtype`` (beyond +-max/2) and every flux of the plan
    is a registry family's (``Phi(r, lam)`` scales exactly with ``r`` and ``lam``), the
    plan run on the samples divided by 2 with lambda halved there, the output times 2
    (:attr:`resdenoise.filters.Plan.run_shift` + 1, as the automatic modes run such
    samples: exact, but for samples below ``2**-1021`` of the dtype, which may lose
    their last bit), not on differences that are inf (where Perona-Malik's flux is NaN
    and charbonnier's lambda: off by 7e-6 of a noisy step of 0.92e308)."""
    shift = plan.filtering.run_shift
    if span_of(subject, shift) > float(np.finfo(dtype).max):
        plan = _halved(plan, dtype) or plan
    _probe_flux(plan, subject, dtype, samples_only)
    return plan


def _halved(plan, dtype: str):
    """``plan`` run on the samples divided by 2 (:func:`probe_flux`), or None where it
    cannot be: channels with plans of their own, a flux that is a formula's or a
    function's (bound as it is: it does not scale), a lambda whose half is not a normal
    number of ``dtype``."""
    if hasattr(plan, "split"):
        return None
    groups = plan.filtering.flux_groups()
    tiny = float(np.finfo(dtype).tiny)
    if not groups or any(nl.entry is None or not nl.lam * 0.5 >= tiny for nl, _ in groups):
        return None
    return plan.map_filter(lambda p: dataclasses.replace(p, run_shift=p.run_shift + 1))


@quiet_underflow
def _probe_flux(plan, subject, dtype: str, samples_only: bool = False) -> None:
    """Refuse a plan whose flux is not finite in ``dtype`` for the differences the
    signal can have (up to its range): one block of the engine on a probe
    ``0, v, 0, -v`` for v = range x 2^-k.  A stable plan can still overflow or
    underflow on the way (lambda squared, r^2/lambda^2); this says so before
    anything runs, instead of a diverged output.  A network: each group's flux
    (:meth:`resdenoise.filters.Plan.flux_groups`).  A plan passing channels through
    (:mod:`resdenoise.passing`): its inner plan's flux, up to the whole signal's range.
    A plan whose blocks run on the samples divided by ``2**run_shift``
    (:attr:`resdenoise.filters.Plan.run_shift`): its flux there, up to that range.  Samples whose
    differences leave ``dtype`` (beyond +-max/2), where only those differences fail:
    no lambda can help, a :class:`SignalValuesError` (the input's fault) that says to
    scale them, or charbonnier where its flux stays finite there (where
    :func:`probe_flux` cannot run the plan on them halved).  ``samples_only``
    (a run allowed to be unstable): that refusal alone, the input's fault whatever the
    step; the flux's own overflow at this lambda and tau is allowed."""
    for part, channel in plan.split(subject) if hasattr(plan, "split") else ():  # its own
        _probe_flux(part, channel, dtype, samples_only)  # each channel's plan on its channel
    said = plan = plan.filtering  # channels passed through: the filter's
    if not plan.flux_groups():
        return  # a cascade or levels' plan: each level its own nonlinearity, checked there
    shift = plan.run_shift
    span = span_of(subject, shift)
    if not span > 0.0:
        return
    plan = plan.scaled(-shift) if shift else plan
    top = float(np.finfo(dtype).max)
    v = min(span, top) * np.exp2(-np.arange(0.0, 64.0, 2.0))
    probe = np.zeros(4 * v.size + 3)
    probe[1:-3:4], probe[3:-3:4] = v, -v
    if span > top:  # differences the dtype cannot hold: +-top, -+top
        probe[-3:] = top, -top, top
    for (nl, tau), (named, _) in zip(plan.flux_groups(), said.flux_groups(), strict=True):
        _probe_group(probe, nl, tau, plan.h, named, subject, span > top, dtype, samples_only)


def _probe_group(probe, nl, tau, h, named, subject, beyond, dtype, samples_only) -> None:
    """:func:`probe_flux` for one group of blocks (``nl`` at the samples' scale; ``named``
    as the user gave it): return where its flux stays finite on ``probe``, else refuse."""
    if _finite_flux(probe, nl, tau, h, dtype):
        return
    also = ", or use dtype='float64'" if dtype == "float32" else ""
    range_ = _shown_range(subject)
    if beyond and _finite_flux(probe[:-3], nl, tau, h, dtype):
        # only the differences beyond the dtype fail, whatever lambda: the samples' fault
        top = float(np.finfo(dtype).max)
        bounded = get_nonlinearity("charbonnier", "diffusivity", named.lam)
        other = ""
        if _finite_flux(np.array([0.0, top, -top, top, 0.0]), bounded, tau, h, dtype):
            other = ", or use a family whose flux stays finite there, such as charbonnier"
        bound = " (a function of the differences as given: not run halved)"
        raise SignalValuesError(
            f"the samples' {range_} leaves {dtype} (their differences overflow), and the "
            f"flux of {named.name} is not finite at such a difference"
            f"{bound if nl.entry is None else ''}; scale the signal down{other}{also}",
            parameters=[("dtype", "float64")] if also else [],
        )
    if samples_only:
        return
    raise UnstableError(
        f"refused: the flux of {named.name} (lambda {named.lam:g}) is not finite in "
        f"{dtype} for differences up to the signal's {range_} (an intermediate "
        f"overflows or underflows); scale the signal or give another lambda{also}",
        parameters=[("dtype", "float64")] if also else [],
    )


def _finite_flux(probe: np.ndarray, nl: Nonlinearity, tau: float, h: float, dtype: str) -> bool:
    """Whether one block of step ``tau`` with ``nl`` on ``probe`` stays finite."""
    with np.errstate(all="ignore"):
        out = run_blocks_unchecked(probe.astype(dtype), nl, tau, 1, h, threads=1)
    return bool(np.isfinite(out).all())


def _shown_range(u) -> str:
    """``range R`` of the samples ``u`` (or a :class:`Summary`) for a message; where
    max - min overflows float64, the samples' extremes instead of ``inf``."""
    span = span_of(u)
    if math.isfinite(span):
        return f"range {span:g}"
    if isinstance(u, Summary):
        lo, hi = getattr(u, "minimum", None), getattr(u, "maximum", None)
        if lo is None or hi is None:
            return "range"
    else:
        lo = hi = np.asarray(u)
    return f"range from {float(np.min(lo)):g} to {float(np.max(hi)):g}"
