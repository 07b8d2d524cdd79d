"""The dictionary as data: describe the registry, translate one nonlinearity.

:func:`dictionary_rows` lists every registry entry (the six families of the
paper, the odd activations tanh, softsign and arctan, and the deep-learning
activations outside the stability theorem) with its class, formulas, aliases
and g range.  :func:`translate` describes one bound
:class:`~resdenoise.nonlinearities.Nonlinearity` in all four forms (formulas
where the registry has them, sampled values always), with its g range,
Lipschitz constant, class, both tau bounds and the conditions of the
stability theorem, each marked as holding or failing and why.

Plain data only (dicts of str, float, bool, lists); :mod:`resdenoise.cli.dictionary`
renders it.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from . import stability
from .function_properties import _sample_grid, not_odd_reason
from .nonlinearities import (
    FORMS,
    NON_ODD_ACTIVATIONS,
    NONLINEARITIES,
    Entry,
    Nonlinearity,
)

__all__ = ["SYMBOLS", "dictionary_rows", "sample_points", "theorem_conditions", "translate"]

#: Form -> (symbol, argument) as printed.
SYMBOLS: Final = {
    "diffusivity": ("g", "r"),
    "regulariser": ("Psi", "r"),
    "shrinkage": ("S", "s"),
    "activation": ("Phi", "r"),
}

#: Sample points in units of lambda (shrinkage: in units of lambda too, s = x lam).
_SAMPLES: Final = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def _num(x: float) -> float | None:
    """JSON-friendly float: None for nan (inf stays for the renderer, to_json nulls it)."""
    x = float(x)
    return None if math.isnan(x) else x


def _aliases(entry: Entry) -> dict[str, list[str]]:
    return {form: list(names) for form, names in entry.aliases.items() if names}


def dictionary_rows() -> list[dict]:
    """One dictionary per registry entry, in registry order.

    Keys: ``family``, ``label``, ``class``, ``paper``, ``stable`` (a small enough
    tau is stable: g >= 0 and g bounded), ``forms`` (the forms it is accepted in:
    all four for :data:`NONLINEARITIES`, the activation for the deep-learning ones),
    ``formulas`` (form -> text), ``aliases`` (form -> names), ``g_min``,
    ``g_max``, ``lipschitz``, ``odd``, and for the deep-learning activations
    ``fails`` (the failing conditions of stability: ``{"condition", "detail"}``
    each) and ``notes`` (those outside it: Phi not odd, the paper's Theorem 2 as
    stated).
    """
    rows = []
    for entries, every_form in ((NONLINEARITIES, True), (NON_ODD_ACTIVATIONS, False)):
        for key, e in entries.items():
            row = {
                "family": key,
                "label": e.label,
                "class": e.klass,
                "paper": e.paper,
                "stable": True,
                "forms": list(FORMS) if every_form else ["activation"],
                "formulas": dict(e.formulas),
                "aliases": _aliases(e),
                "g_min": e.g_min,
                "g_max": e.g_max,
                "lipschitz": e.lipschitz,
                "odd": e.odd,
            }
            if not every_form:
                nl = Nonlinearity(name=key, key=key, lam=1.0, entry=e)
                conditions = theorem_conditions(nl, stability.analyse_function(nl))
                failing = [c for c in conditions if not c["holds"]]
                row["fails"] = [
                    {"condition": c["condition"], "detail": c["detail"]}
                    for c in failing
                    if c["required"]
                ]
                row["notes"] = [
                    {"condition": c["condition"], "detail": c["detail"]}
                    for c in failing
                    if not c["required"]
                ]
                row["stable"] = not row["fails"]
            rows.append(row)
    return rows


def sample_points(nl: Nonlinearity, odd: bool) -> np.ndarray:
    """The points a translation is sampled at: ``lam * (0, 1/4, 1/2, 1, 2, 4)``,
    and their negatives too when Phi is not odd."""
    pos = nl.lam * np.array(_SAMPLES)
    return pos if odd else np.concatenate([-pos[:0:-1], pos])


def _values(nl: Nonlinearity, form: str, x: np.ndarray) -> list[float | None]:
    with np.errstate(all="ignore"):
        if form == "diffusivity":
            v = nl.g(x)
        elif form == "regulariser":
            v = nl.psi(x)
        elif form == "shrinkage":
            v = nl.shrinkage(x)
        else:
            v = nl.phi(x)
    return [_num(y) for y in np.asarray(v, dtype=float)]


def _g_witness(nl: Nonlinearity, negative: bool) -> tuple[float, float] | None:
    """(r, g(r)) with g(r) < 0 (or the largest |g|), sampled on the analysis grid."""
    r = _sample_grid(nl.lam)
    with np.errstate(all="ignore"):
        g = np.asarray(nl.g(r), dtype=float)
    g = np.where(np.isnan(g), 0.0, g)
    if negative:
        # prefer a point at a round multiple of lambda, then the most negative
        for x in (-1.0, 1.0, -2.0, 2.0, -0.5, 0.5):
            gx = float(np.asarray(nl.g(np.array([x * nl.lam])), dtype=float)[0])
            if gx < 0.0:
                return x * nl.lam, gx
        i = int(np.argmin(g))
        return (float(r[i]), float(g[i])) if g[i] < 0.0 else None
    i = int(np.argmax(np.abs(g)))
    return float(r[i]), float(g[i])


def theorem_conditions(
    nl: Nonlinearity,
    props: stability.FunctionProperties,
    tau: float | None = None,
    h: float = 1.0,
) -> list[dict]:
    """The conditions of the stability theorem (paper, Theorem 2 and section 3; README,
    "Stability").

    Returns a list of ``{"condition", "holds", "required", "detail"}``: Phi odd (the
    paper's hypothesis for Theorem 2 as stated, not ``required``: the max-min principle,
    total-variation and sign bounds of section 3 do not use it, and a block with an
    activation that is not odd, ReLU or GELU, is stable; without it the filter does not
    commute with negation); g >= 0 (``Phi(r) r >= 0``); g bounded (finite g_max); and,
    when ``tau`` is given, ``tau <= h^2/(2 g_max)`` (L-infinity stability) and ``tau <=
    h^2/(4 g_max)`` (sign stability).  The Lipschitz constant of Phi is not among them:
    g_max decides (hard shrinkage has an infinite one and is stable).
    """
    out = []
    if props.odd:
        out.append(
            {
                "condition": "Phi is odd",
                "holds": True,
                "required": False,
                "detail": "Phi(-r) = -Phi(r) for all r",
            }
        )
    else:
        out.append(
            {
                "condition": "Phi is odd",
                "holds": False,
                "required": False,
                "detail": not_odd_reason(nl).removeprefix("Phi is not odd: "),
            }
        )
    with np.errstate(all="ignore"):
        phi0 = float(np.asarray(nl.phi(np.zeros(1)), dtype=float)[0])
    if props.g_min >= 0.0:
        out.append(
            {
                "condition": "g >= 0",
                "holds": True,
                "required": True,
                "detail": f"g = Phi(r)/r >= {props.g_min:.6g}: Phi(r) has the sign of r",
            }
        )
    else:
        w = _g_witness(nl, negative=True)
        where = (
            f"g({w[0]:.6g}) = {w[1]:.6g} < 0: Phi({w[0]:.6g}) has the opposite sign of r"
            if w
            else f"g_min = {props.g_min:.6g}"
        )
        out.append(
            {
                "condition": "g >= 0",
                "holds": False,
                "required": True,
                "detail": f"{where}; the block would then sharpen like backward diffusion "
                "and can leave the range of the input",
            }
        )
    if math.isfinite(props.g_max):
        out.append(
            {
                "condition": "g bounded",
                "holds": True,
                "required": True,
                "detail": f"g_max = sup Phi(r)/r = {props.g_max:.6g}",
            }
        )
    else:
        if phi0 != 0.0:
            detail = (
                f"Phi(0) = {phi0:.6g} != 0, so g = Phi(r)/r ~ {phi0:.3g}/r is unbounded at "
                "r = 0: no tau > 0 is small enough"
            )
        else:
            w = _g_witness(nl, negative=False)
            detail = (
                f"g = Phi(r)/r has no finite supremum (|g({w[0]:.6g})| = {abs(w[1]):.6g} "
                "and growing): no tau > 0 is small enough"
            )
        out.append({"condition": "g bounded", "holds": False, "required": True, "detail": detail})
    if tau is not None:
        linf, sign = stability.tau_bounds(props.g_max, h) if math.isfinite(props.g_max) else (0, 0)
        out.append(
            {
                "condition": "tau <= h^2/(2 g_max)",
                "holds": stability.within_bound(tau, linf, props.exact),
                "required": True,
                "detail": "tau = {}, L-infinity bound {}".format(*stability.apart(tau, linf)),
            }
        )
        out.append(
            {
                "condition": "tau <= h^2/(4 g_max)",
                "holds": stability.within_bound(tau, sign, props.exact),
                "required": True,
                "detail": "tau = {}, sign-stability bound {}".format(*stability.apart(tau, sign)),
            }
        )
    return out


def translate(
    nl: Nonlinearity,
    given: str = "activation",
    tau: float | None = None,
    h: float = 1.0,
    expression: str | None = None,
) -> dict:
    """Everything the dictionary says about one nonlinearity.

    Parameters
    ----------
    nl : Nonlinearity
        From :func:`~resdenoise.nonlinearities.get_nonlinearity` or
        :func:`~resdenoise.expr.expression_nonlinearity`.
    given : {'diffusivity', 'regulariser', 'shrinkage', 'activation'}
        The form it was given in.
    tau, h : float
        Time step (optional: then only the bounds are given) and grid size.
    expression : str, optional
        The formula it was given as, if any.

    Returns
    -------
    dict
        ``name``, ``family``, ``given``, ``lambda``, ``threshold``, ``class``,
        ``theorem_applies`` (g >= 0, g bounded: a small enough tau is stable; Phi
        odd is reported apart, as ``odd``), ``linf_stable`` and
        ``sign_stable`` (with ``tau``; None without), ``forms`` (form -> {``symbol``,
        ``formula`` or None, ``known_as`` (the methods of that form it is, as
        in the paper's Table 3, e.g. the Huber regulariser), ``x``, ``values``}), ``g_min``, ``g_max``,
        ``lipschitz``, ``odd``, ``monotone``, ``exact``, ``tau_linf_bound``,
        ``tau_sign_bound``, ``tau``, ``h``, ``conditions``, ``notes`` (sentences: where
        the paper's wording asks more than the conditions, e.g. a finite Lipschitz
        constant).  Shrinkage values
        are those of one Haar step, the block with tau = 1/4, h = 1 (the paper,
        Table 1), whatever ``tau`` is.
    """
    props = stability.analyse_function(nl)
    linf, sign = stability.tau_bounds(props.g_max, h) if math.isfinite(props.g_max) else (0.0, 0.0)
    x = sample_points(nl, props.odd)
    entry = nl.entry
    forms = {}
    for form in FORMS:
        symbol, arg = SYMBOLS[form]
        if entry is not None:
            formula = entry.formulas.get(form)
        else:
            formula = expression if form == given else None
        forms[form] = {
            "symbol": f"{symbol}({arg})",
            "formula": formula,
            "known_as": list(entry.aliases.get(form, ())) if entry is not None else [],
            "x": [float(v) for v in x],
            "values": _values(nl, form, x),
        }
    conditions = theorem_conditions(nl, props, tau, h)
    klass = entry.klass if entry is not None else ("convex" if props.monotone else "nonconvex")
    return {
        "name": nl.name,
        "family": nl.key,
        "label": nl.label,
        "given": given,
        "lambda": nl.lam,
        "threshold": nl.theta,
        "class": klass,
        "theorem_applies": all(c["holds"] for c in conditions[1:3]),
        "linf_stable": None if tau is None else all(c["holds"] for c in conditions[1:4]),
        "sign_stable": None if tau is None else all(c["holds"] for c in conditions[1:]),
        "forms": forms,
        "g_min": props.g_min,
        "g_max": props.g_max,
        "lipschitz": props.lipschitz,
        "odd": props.odd,
        "monotone": props.monotone,
        "exact": props.exact,
        "tau": tau,
        "h": h,
        "tau_linf_bound": linf,
        "tau_sign_bound": sign,
        "conditions": conditions,
        "notes": _notes(props),
    }


def _notes(props: stability.FunctionProperties) -> list[str]:
    """What the conditions leave unsaid against the paper's wording: an infinite Lipschitz
    constant (hard shrinkage), where Theorem 2 as stated asks a finite L; a shrinkage form
    S (one Haar step, tau = 1/4, h = 1) taken above g's sign-stable bound (g_max > 1),
    where it is no shrinkage."""
    notes = []
    if math.isinf(props.lipschitz) and math.isfinite(props.g_max) and props.g_min >= 0.0:
        notes.append(
            "the paper states Theorem 2 for a finite Lipschitz constant L of Phi (here "
            "infinite: Phi jumps); the guarantee rests on g_max (the explicit scheme's "
            f"argument, paper section 3), finite here ({props.g_max:.6g})"
        )
    if math.isfinite(props.g_max) and props.g_max > 1.0:
        linf, sign = stability.tau_bounds(props.g_max, 1.0)
        beyond = f" and its L-infinity bound ({linf:.6g})" if linf < 0.25 else ""
        notes.append(
            f"S is one Haar step at tau = 1/4, h = 1, above this g's sign-stable bound "
            f"h^2/(4 g_max) = {sign:.6g}{beyond}: S(s) = s (1 - g(sqrt2 s)) flips the sign "
            "of s wherever g > 1, so it is no shrinkage; a block of this g is stable at the "
            "tau bounds above, not at that step"
        )
    return notes
