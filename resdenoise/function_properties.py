"""What the stability theorem asks of an activation: the range of ``g(r) = Phi(r)/r``,
the Lipschitz constant of Phi, oddness and monotonicity (:func:`analyse_function`).

Exact for the registry's families (their closed forms' numbers); sampled for a custom
function on a symmetric logarithmic grid around lambda (:func:`_sample_grid`), stretched
to the signal's reach and floor, deeper towards 0 where g still grows there.  The tau
bounds and verdicts built on these numbers are :mod:`resdenoise.stability`'s; a
condition that fails is said here in words, with a witness (:func:`not_odd_reason`,
:func:`non_finite_activation`, :func:`diffusivity_negative`, :func:`shrinkage_words`).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ._sampling import lipschitz, still_growing, translation_rounding
from .nonlinearities import Nonlinearity

__all__ = ["FunctionProperties", "analyse_function"]

#: Sample grid for functions without registered bounds: 0, and +-r for r
#: from 1e-6 to 1e6 times lambda, logarithmically (40,001 points a side),
#: which resolves features down to 0.07 % of their position.
_GRID_DECADES = (-6.0, 6.0)
_GRID_POINTS = 40_001
#: Grid points per decade, to compare a value at the grid's edge with the one
#: a decade further in.
_GRID_DECADE = round((_GRID_POINTS - 1) / (_GRID_DECADES[1] - _GRID_DECADES[0]))


#: At most this many points a side when the grid is stretched to a signal's reach.
_GRID_MAX_POINTS = 200_001

_EPS = float(np.finfo(float).eps)


def _sample_grid(lam: float, reach: float | None = None, floor: float | None = None) -> np.ndarray:
    """The symmetric grid (see ``_GRID_DECADES``), stretched up to ``reach`` when
    that is beyond 1e6 lam and down to ``floor`` when that is below 1e-6 lam, at
    the same density while it has at most ``_GRID_MAX_POINTS`` points a side
    (fewer points per decade beyond)."""
    return _stretched_grid(*_grid_key(lam, reach, floor))[0]


def _grid_key(lam: float, reach: float | None, floor: float | None) -> tuple:
    """``(lam, reach, floor)`` with the reach and floor that do not change the grid (a reach
    within 1e6 lam, a floor above 1e-6 lam) None: one grid, one key (the sampled numbers
    of a signal's nonlinearity and of the same one before it was bound to the signal)."""
    low, top = _GRID_DECADES
    if not (reach is not None and math.isfinite(reach) and reach > lam * 10.0**top):
        reach = None
    if not (floor is not None and 0.0 < floor < lam * 10.0**low):
        floor = None
    return lam, reach, floor


@functools.lru_cache(maxsize=16)
def _stretched_grid(
    lam: float, reach: float | None, floor: float | None = None
) -> tuple[np.ndarray, int]:
    """The grid (read-only: shared by calls of one lam, reach, floor), its points per decade."""
    low, top = _GRID_DECADES
    if reach is not None and math.isfinite(reach) and reach > lam * 10.0**top:
        r = reach / lam  # the reach itself on the grid (r inf near float64's max: the logs)
        top = (math.log10(r) if r < math.inf else math.log10(reach) - math.log10(lam)) + 1e-9
    if floor is not None and 0.0 < floor < lam * 10.0**low:
        low = math.log10(floor / lam) - 1e-9  # the floor itself is on the grid
    decades = top - low
    points = min(_GRID_MAX_POINTS, round(decades * _GRID_DECADE) + 1)
    with np.errstate(over="ignore"):  # a reach at float64's maximum: its points overflowed
        pos = lam * np.logspace(low, top, points)  # (Phi(inf) NaN: "not odd", "g_max = inf")
        if (bad := ~np.isfinite(pos)).any():  # at most the reach
            x = np.linspace(low, top, points)[bad] + math.log10(lam)
            pos[bad] = np.minimum(10.0**x, reach)
    grid = np.concatenate([-pos[::-1], [0.0], pos])
    grid.flags.writeable = False
    return grid, max(1, round((points - 1) / decades))


@dataclass(frozen=True)
class FunctionProperties:
    """What the stability theorem asks of an activation.

    ``lipschitz`` is ``math.inf`` where Phi jumps.  ``exact`` says whether the
    numbers come from the registry's closed forms or from sampling.  ``non_finite``:
    where the sampled Phi is NaN or infinite, ``(r, Phi(r))`` at the grid's such r
    nearest 0 (None where it is finite there, and for the registry's families): what
    :func:`non_finite_activation` says, from the same sampling.
    """

    g_min: float
    g_max: float
    lipschitz: float
    odd: bool
    monotone: bool
    exact: bool
    non_finite: tuple[float, float] | None = field(default=None, kw_only=True, repr=False)


def analyse_function(nl: Nonlinearity) -> FunctionProperties:
    """g range, Lipschitz constant, oddness and class of an activation.

    Exact for registry entries.  For custom functions, sampled on a
    symmetric logarithmic grid from 1e-6 lam to 1e6 lam (documented in
    ``_sample_grid``), stretched to ``nl.reach`` when a signal's differences
    can go further (:func:`resdenoise.filters.bind_nonlinearity` sets it to
    the signal's range over h: a stable run's differences never exceed it),
    and down to ``nl.floor`` (the signal's smallest nonzero difference over h)
    when its differences lie below: g_min and g_max are the extremes of ``Phi(r)/r``
    (a g_min below 0 by at most ``G_ROUNDING`` g_max is rounding: 0);
    the Lipschitz constant is the largest difference quotient, reported
    infinite when it grows in proportion to the refinement of the grid
    (a jump); Phi is odd when ``Phi(-r) = -Phi(r)`` to 1e-12 relative.
    A supremum (of g, of -g, or of the difference quotients) is reported
    infinite when it is attained at an edge of the grid (largest |r|, or
    r -> 0) and still grows there by more than 0.1 % over the last decade:
    ``r (1 + r^2)`` gives ``g_max = inf``, ``sign(r)`` gives ``g_max = inf``.

    A Python function is sampled on every call: it may behave differently from
    one call to the next (a parameter of its own, a global), and a verdict kept
    from before would let a run take a step that is no longer stable; inside
    :func:`one_sampling` (one call of a one-call function: its refusal of a NaN, its
    default tau, its verdict) once.  A formula's functions cannot change
    (``nl.formula``): its properties are kept, per formula, lam and the grid's reach
    and floor.
    """
    if nl.entry is not None:
        e = nl.entry
        return FunctionProperties(
            g_min=e.g_min,
            g_max=e.g_max,
            lipschitz=e.lipschitz,
            odd=e.odd,
            monotone=e.convex,
            exact=True,
        )
    grid = _grid_key(nl.lam, nl.reach, nl.floor)  # with the functions, all they depend on
    if nl.formula is None:  # a Python function may change between calls: sampled each time
        call = _ONE_CALL.get()
        if call is None:
            return _sampled_properties(nl)
        functions = (nl._phi, nl._g, nl._psi, nl._shrinkage)  # kept with their numbers:
        key = (*map(id, functions), *grid)  # no id reused while the call lasts
        if key not in call:
            call[key] = (functions, _sampled_properties(nl))
        return call[key][1]
    key = (nl.formula, *grid)
    known = _FORMULA_PROPERTIES.get(key)
    if known is None:  # once per formula, lam and signal (a network's groups share one)
        known = _sampled_properties(nl)
        if len(_FORMULA_PROPERTIES) >= FORMULA_PROPERTIES_KEPT:
            _FORMULA_PROPERTIES.clear()
        _FORMULA_PROPERTIES[key] = known
    return known


#: How many formulas' sampled properties are kept (:func:`analyse_function`); all
#: are dropped when there would be more.
FORMULA_PROPERTIES_KEPT = 4096
_FORMULA_PROPERTIES: dict[tuple, FunctionProperties] = {}

#: The sampled properties of Python functions inside :func:`one_sampling` (else None).
_ONE_CALL: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "resdenoise_one_call", default=None
)


@contextlib.contextmanager
def one_sampling():
    """Inside: a Python function is sampled once per lam, reach and floor (one call of a
    one-call function: its NaN check, default tau and verdict read one sampling of the
    grid, not three); after it, on every call again (:func:`analyse_function`)."""
    outer = _ONE_CALL.get()  # (inside another: its samplings, shared)
    token = _ONE_CALL.set({} if outer is None else outer)
    try:
        yield
    finally:
        _ONE_CALL.reset(token)


#: A sampled g below 0 by at most this fraction of g_max is rounding and counts as 0: the
#: numerical derivative of a flat Psi (Perona-Malik's far out, the truncated quadratic's
#: plateau) is noise of order eps Psi / step there (measured: -7.8e-16 and -6.0e-15 with
#: g_max = 1); the same relative tolerance as the oddness and monotonicity tests.
G_ROUNDING = 1e-12


#: Where a sampled g still grows at the grid's inner edge (r -> 0), the grid is taken
#: down to ``1e-6 lam`` times 10 to minus these decades, one after the other, before g is
#: called unbounded: a function whose features are far below lam (``1e-4 tanh(r/1e-4)``
#: given with lam 1) is bounded, ``sign(r)`` (g = 1/|r|) grows at every depth.
_DEEPER_DECADES = (12, 24, 48, 96, 192, 288)


def _sampled_properties(nl: Nonlinearity) -> FunctionProperties:
    """:func:`analyse_function` of a custom ``nl``, by sampling (deeper towards 0 where g
    still grows there: :data:`_DEEPER_DECADES`)."""
    props, growing = _sampled_on(nl, nl.floor)
    non_finite = props.non_finite  # on the signal's grid: the one the NaN check reads
    for decades in _DEEPER_DECADES:
        if not growing:
            break
        floor = nl.lam * 10.0 ** (_GRID_DECADES[0] - decades)
        if not floor > 1e-300:  # the grid's end a normal number, its g too
            break
        if nl.floor is not None and nl.floor <= floor:
            continue  # the signal's own floor is deeper already
        props, growing = _sampled_on(nl, floor)
    return dataclasses.replace(props, non_finite=non_finite)


def _sampled_on(nl: Nonlinearity, floor: float | None) -> tuple[FunctionProperties, bool]:
    """The sampled properties on the grid down to ``floor``, and whether g's supremum
    (or its infimum's) is still growing at the grid's inner edge (r -> 0)."""
    r, d = _stretched_grid(*_grid_key(nl.lam, nl.reach, floor))
    growing = False
    with np.errstate(all="ignore"):
        phi, g, shrunk = nl.sampled_forms(r)  # the one evaluation on the grid (of g where
        # g is given, of S where S is: its values the translation's rounding reads)
    finite = np.isfinite(g)
    if not finite.all():
        g_min, g_max = -math.inf, math.inf
    else:
        g_min, g_max = float(g.min()) + 0.0, float(g.max())  # + 0.0: no -0.0
        if -G_ROUNDING * g_max <= g_min < 0.0:  # rounding, not a negative g: 0
            g_min = 0.0
        p = r.size // 2
        edges = [(0, d), (2 * p, 2 * p - d), (p - 1, p - 1 - d), (p + 1, p + 1 + d)]
        edges += [(p, p - 1 - d), (p, p + 1 + d)]  # g(0) = Phi'(0) itself
        if still_growing(g, edges):
            g_max = math.inf
        if still_growing(-g, edges):
            g_min = -math.inf
        inner = edges[2:]  # towards r = 0
        growing = still_growing(g, inner) or still_growing(-g, inner)
    lip = lipschitz(nl, r, phi, d)
    n = r.size // 2
    scale = max(float(np.max(np.abs(phi))), 1e-300)
    odd = bool(np.all(np.abs(phi[:n][::-1] + phi[n + 1 :]) <= 1e-12 * scale))
    slack = translation_rounding(nl, r, phi, shrunk)
    monotone = bool(np.all(np.diff(phi) >= -(1e-12 * scale + slack[1:] + slack[:-1])))
    bad = ~np.isfinite(phi)
    non_finite = None
    if bad.any():  # the r nearest 0 where Phi is not finite
        i = int(np.flatnonzero(bad)[np.argmin(np.abs(r[bad]))])
        non_finite = (float(r[i]), float(phi[i]))
    props = FunctionProperties(g_min, g_max, lip, odd, monotone, exact=False, non_finite=non_finite)
    return props, growing


def overflow_hint(nl: Nonlinearity, properties: FunctionProperties) -> str:
    """Where a function's activation is non-finite far out (|r| >= 100 lam: an overflow,
    as ``2 ln cosh r`` at |r| = 710), what to write instead; else ``""``."""
    found = properties.non_finite
    if found is None or not abs(found[0]) >= 100.0 * nl.lam:
        return ""
    return (
        " (an overflow? the stability sampling reaches |r| = 1e6 lam: write it with "
        "np.log1p, np.logaddexp, np.expm1, or np.where to split the range; ln cosh x = "
        "|x| + log1p(exp(-2|x|)) - ln 2)"
    )


def shrinkage_words(nl: Nonlinearity, low: float) -> str:
    """Why one Haar shrinkage step (tau = 1/4, h = 1: ``shrink``'s, fixed) with ``nl``'s S
    fails, in S's own terms, with a witness: with ``low`` = -1 the L-infinity condition
    ``-1 <= S(s)/s <= 1`` (the paper: ``-s <= S(s) <= s`` for s > 0; ``g = 1 - S(s)/s`` at
    ``r = -sqrt2 s``), with ``low`` = 0 the sign condition ``0 <= S(s)/s <= 1``."""
    theta = nl.theta
    pos = theta * np.logspace(-6.0, 6.0, 2401)
    s = np.concatenate([theta * np.array([1.0, -1.0, 2.0, -2.0, 0.5, -0.5]), pos, -pos])
    with np.errstate(all="ignore"):
        shrunk = np.asarray(nl.shrinkage(s), dtype=float)
        ratio = shrunk / s
    slack = 1e-12
    bad = np.flatnonzero(~((ratio >= low - slack) & (ratio <= 1.0 + slack)))
    cond = "|S(s)| <= |s|" if low < 0 else "0 <= S(s)/s <= 1 (S(s) has the sign of s)"
    step = "one Haar shrinkage step (tau = 1/4, fixed) is"
    what = "not L-infinity stable" if low < 0 else "L-infinity but not sign stable"
    if bad.size == 0:  # between the samples: the sampled g says so
        return f"{cond} fails somewhere: {step} {what}"
    i = int(bad[0]) if bad[0] < 6 else int(bad[np.argmax(np.abs(ratio[bad] - 0.5))])
    at = f"S({s[i]:.6g}) = {shrunk[i]:.6g}"
    return f"{cond} fails ({at}): {step} {what}"


def diffusivity_negative(nl: Nonlinearity, g_min: float) -> str:
    """A diffusivity negative somewhere, in g's own terms, with a witness."""
    r = nl.lam * np.array([-1.0, 1.0, -2.0, 2.0, -0.5, 0.5])
    with np.errstate(all="ignore"):
        g = np.asarray(nl.g(r), dtype=float)
    neg = np.flatnonzero(g < 0.0)
    at = f"g({r[neg[0]]:.6g}) = {g[neg[0]]:.6g} < 0; " if neg.size else ""
    return (
        f"the diffusivity is negative somewhere ({at}g_min = {g_min:.6g}): a diffusivity "
        "must be >= 0 (g < 0 diffuses backwards and sharpens without bound)"
    )


def non_finite_activation(
    nl: Nonlinearity, properties: FunctionProperties | None = None
) -> str | None:
    """Where a custom ``nl``'s activation is nan or infinite on the grid its stability is
    sampled on (see ``_sample_grid``, stretched to ``nl.reach`` and ``nl.floor``), nearest
    0, in words (``"the activation is nan at r = -5.00115"``); None where it is finite
    there.  The one check of a formula (:mod:`resdenoise.expr`), a function given to the
    one-call functions (:mod:`resdenoise.api`) and :func:`check_tau`: a NaN of Phi would
    be the output's.  Read from ``properties`` (``nl``'s :func:`analyse_function`, made
    when not given): the sampling that decides its stability, not one of its own."""
    found = (properties or analyse_function(nl)).non_finite
    if found is None:
        return None
    r, phi = found
    given = [f for f, k in _GIVEN if getattr(nl, k) is not None]
    derived = f" (derived from your {given[0]})" if given else ""
    return f"the activation{derived} is {phi} at r = {r:.6g}"


#: The forms a custom nonlinearity keeps as given, by the attribute that keeps them.
_GIVEN = (("diffusivity", "_g"), ("regulariser", "_psi"), ("shrinkage", "_shrinkage"))


def not_odd_reason(nl: Nonlinearity) -> str:
    """Why Phi is not odd, with a witness, and what that means: outside the paper's
    Theorem 2 as stated (its hypothesis), the filter does not commute with negation;
    stability is not at stake (g's range decides it, :func:`check_tau`).

    The witness is r = 0 when Phi(0) != 0, else r = lam when Phi(-lam) !=
    -Phi(lam), else the sample point (see ``_sample_grid``) where
    ``|Phi(-r) + Phi(r)|`` is largest.
    """
    tail = (
        "outside the paper's Theorem 2 as stated (the filter does not commute with "
        "negation); stability rests on g >= 0 and g_max, which hold or fail apart"
    )
    with np.errstate(all="ignore"):
        phi0, at_lam, at_minus_lam = nl.phi(np.array([0.0, nl.lam, -nl.lam]))
        if abs(phi0) > 1e-9 * (abs(at_lam) + abs(at_minus_lam)):
            return f"Phi is not odd: Phi(0) = {phi0:.6g}, not 0; {tail}"
        pos = _sample_grid(nl.lam)[_GRID_POINTS + 1 :]
        pos = np.concatenate([[nl.lam], pos])
        plus, minus = nl.phi(pos), nl.phi(-pos)
        defect = np.abs(plus + minus)
    bad = ~(np.isfinite(plus) & np.isfinite(minus))
    if bad.any():  # the r where it is not finite (the positive one where both are)
        i = int(np.argmax(bad))
        r = float(pos[i]) if not np.isfinite(plus[i]) else -float(pos[i])
        return f"Phi is not finite at r = {r:.6g}; {tail}"
    i = 0 if defect[0] > 1e-9 * max(abs(float(plus[0])), 1e-300) else int(np.nanargmax(defect))
    r, a, b = float(pos[i]), float(minus[i]), float(-plus[i])
    return f"Phi is not odd: Phi(-{r:.6g}) = {a:.6g} but -Phi({r:.6g}) = {b:.6g}; {tail}"
