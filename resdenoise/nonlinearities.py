"""The dictionary: diffusivities, regularisers, shrinkage functions, activations.

Every entry of the registry :data:`NONLINEARITIES` describes one filter in the
four languages of Alt, Weickert and Peter (2020), Table 3:

========== ============================ =========================================
form       symbol                       relation to the activation Phi
========== ============================ =========================================
diffusion  diffusivity ``g(r)``         ``Phi(r) = g(r) r``
regulariser ``Psi(r)``                  ``Psi(r) = 2 int_0^r Phi(s) ds``
shrinkage  ``S(s)``                     ``tau Phi(r) = r/4 + S(-r/sqrt2)/(2 sqrt2)``
resnet     activation ``Phi(r)``        (the flux of the diffusion block)
========== ============================ =========================================

Closed forms are written with contrast parameter ``lam`` (lambda) for g, Psi
and Phi and threshold ``theta = lam / sqrt(2)`` for S, at the paper's
``tau = 1/4, h = 1`` where the shrinkage relation is tau-dependent.

A name is looked up with :func:`get_nonlinearity`, which binds the contrast parameter and
returns a :class:`Nonlinearity` offering all four forms.  An activation known only through Phi
(or a diffusivity, regulariser or shrinkage function known only through its own form) is turned
into a :class:`Nonlinearity` by :func:`from_function`; its other forms come from the general
translations (:func:`g_to_phi`, :func:`phi_to_g`, :func:`phi_to_psi`, :func:`psi_to_phi`,
:func:`phi_to_shrinkage`, :func:`shrinkage_to_phi`).

This module is the registry's public API: names, lookup, binding.  The registry's
rows (:data:`NONLINEARITIES`, :data:`NON_ODD_ACTIVATIONS`, :class:`Entry`) are
in :mod:`resdenoise._entries` (re-exported here), the closed forms they
register in :mod:`resdenoise._families`, the engine's allocation-free
flux kernels in :mod:`resdenoise._flux_kernels`, and the general translations
(re-exported here, their public home) in :mod:`resdenoise._translations`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np

from ._entries import (  # noqa: F401 - re-exported: the registry's public home
    FORMS,
    NON_ODD_ACTIVATIONS,
    NONLINEARITIES,
    PAPER_FAMILIES,
    Entry,
    Func,
)
from ._families import bumps_g, bumps_monotone, bumps_phi, bumps_psi
from ._flux_kernels import bump_rows, bump_sum
from ._translations import (
    SQRT2,
    ArrFunc,
    g_of_values,
    g_to_phi,
    phi_of_shrunk,
    phi_to_g,
    phi_to_psi,
    phi_to_shrinkage,
    psi_to_phi,
    shrinkage_to_phi,
)
from .errors import ParameterError, check_kind, check_positive, did_you_mean

__all__ = [
    "FORM_SPELLINGS",
    "FORMS",
    "NONLINEARITIES",
    "NON_ODD_ACTIVATIONS",
    "PARAMETRISED_FAMILIES",
    "Entry",
    "Nonlinearity",
    "available_nonlinearities",
    "canonical_form",
    "from_function",
    "g_to_phi",
    "get_nonlinearity",
    "get_parametrised",
    "names_for_form",
    "normalise_name",
    "phi_to_g",
    "phi_to_psi",
    "phi_to_shrinkage",
    "psi_to_phi",
    "resolve_name",
    "shrinkage_to_phi",
    "unknown_name",
]


# --------------------------------------------------------------------------
# Parametrised families: an entry made for the coefficients it is given
# --------------------------------------------------------------------------

BUMPS_COUNT: Final = (2, 32)


def bump_coefficients(coefficients) -> tuple[float, ...]:
    """The bumps coefficients as floats: 2 to 32 finite numbers >= 0, of finite sum > 0."""
    low, high = BUMPS_COUNT
    if not isinstance(coefficients, (list, tuple, np.ndarray)):
        raise ParameterError(f"coefficients must be a list of numbers, got {coefficients!r}")
    if not low <= len(coefficients) <= high:
        raise ParameterError(
            f"the bumps family takes {low} to {high} coefficients, got {len(coefficients)}"
        )
    out = []
    for k, value in enumerate(coefficients):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise ParameterError(f"coefficient {k + 1} must be a number, got {value!r}")
        x = float(value)
        if not (math.isfinite(x) and x >= 0.0):
            raise ParameterError(
                f"coefficient {k + 1} must be a finite number >= 0 (g >= 0 is what makes "
                f"the network stable), got {value!r}"
            )
        out.append(x)
    if not any(out):
        raise ParameterError("the coefficients are all 0: g = 0 filters nothing")
    if sum(out) == math.inf:  # g(0) = g_max = sum c (math.fsum raises where it overflows)
        raise ParameterError("the coefficients' sum g(0) overflows float64: give smaller ones")
    return tuple(out)


_BUMPS_FORMULAS: Final = (
    "sum_k c_k b_k(|r|/lam)",
    "2 int_0^r Phi",
    "s - Phi(sqrt2 s)/sqrt2",
    "r g(r)",
)


def _bumps_entry(coefficients) -> Entry:
    """The registry entry of the bumps family with these coefficients."""
    return _bumps_entry_of(bump_coefficients(coefficients))


@functools.lru_cache(maxsize=4096)
def _bumps_entry_of(c: tuple[float, ...]) -> Entry:
    """:func:`_bumps_entry` of checked coefficients, made once per vector: its
    monotonicity is sampled (:func:`resdenoise._families.bumps_monotone`, about 15 ms for
    32 coefficients), and a network file's parse and its build bind the same groups."""
    total = math.fsum(c)
    return Entry(
        "bumps",
        f"bumps ({len(c)} coefficients)",
        bumps_monotone(c),
        lambda r, lam: bumps_phi(r, lam, c, bump_rows(), bump_sum()),
        lambda r, lam: bumps_g(r, lam, c, bump_rows(), bump_sum()),
        lambda r, lam: bumps_psi(r, lam, c),
        None,
        g_min=0.0,
        g_max=total,
        lipschitz=total,
        formulas=dict(zip(FORMS, _BUMPS_FORMULAS, strict=True)),
        paper=False,
    )


#: Families with coefficients of their own, beyond lambda: name -> entry maker.  ``bumps``
#: (see :mod:`resdenoise._families`): g_max = g(0) = sum c, g_min = 0, exactly.
PARAMETRISED_FAMILIES: Final[Mapping[str, Callable[..., Entry]]] = MappingProxyType(
    {"bumps": _bumps_entry}
)


def get_parametrised(
    name: str, coefficients, form: str = "activation", lam: float = 1.0
) -> Nonlinearity:
    """Bind a parametrised family (:data:`PARAMETRISED_FAMILIES`) to its coefficients.

    Raises
    ------
    ParameterError
        An unknown family, bad coefficients or lambda (a ``ValueError`` too).

    Examples
    --------
    >>> nl = get_parametrised("bumps", [0.5, 0.0, 0.5], lam=2.0)
    >>> float(nl.g(0.0)), nl.entry.g_max
    (1.0, 1.0)
    """
    form = canonical_form(form)
    _check_form(form)
    make = PARAMETRISED_FAMILIES.get(normalise_name(name))
    if make is None:
        raise ParameterError(
            f"Unknown parametrised family {name!r}. Valid names: "
            + ", ".join(sorted(PARAMETRISED_FAMILIES))
        )
    entry = make(coefficients)
    return Nonlinearity(name=entry.key, key=entry.key, lam=check_lambda(lam), entry=entry)


def _build_names() -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {form: {} for form in FORMS}
    for key, entry in NONLINEARITIES.items():
        for form in FORMS:
            names[form][key] = key
        for form, aliases in entry.aliases.items():
            for alias in aliases:
                names[form][alias] = key
    for key, entry in NON_ODD_ACTIVATIONS.items():
        names["activation"][key] = key
        for alias in entry.aliases.get("activation", ()):
            names["activation"][alias] = key
    return names


_NAMES: Final = _build_names()


#: other spellings of the forms (US English)
FORM_SPELLINGS: Final = {"regularizer": "regulariser"}


def canonical_form(form: str) -> str:
    """The form as the registry spells it: ``regularizer`` is ``regulariser``."""
    return FORM_SPELLINGS.get(form, form)


def normalise_name(name: str) -> str:
    """A name as the registry spells it: lower case, ``-`` for ``_`` and spaces."""
    return "-".join(name.strip().lower().replace("_", " ").split())


def names_for_form(form: str) -> list[str]:
    """Sorted names (keys and aliases) accepted for one form."""
    form = canonical_form(form)
    _check_form(form)
    return sorted(_NAMES[form])


def available_nonlinearities(paper_only: bool = False) -> list[str]:
    """Sorted registry keys, like ``pywt.wavelist``.

    Parameters
    ----------
    paper_only : bool
        Only the families of the paper (Alt, Weickert and Peter 2020).

    Returns
    -------
    list of str
        The keys, sorted; each is a name :func:`get_nonlinearity` takes in every
        form.  Raises nothing.
    """
    return sorted(k for k, e in NONLINEARITIES.items() if e.paper or not paper_only)


def _check_form(form: str) -> None:
    if form not in FORMS:
        raise ParameterError(f"Unknown form {form!r}. Valid forms: {', '.join(FORMS)}")


def resolve_name(name: str, form: str = "activation") -> Entry:
    """Return the registry entry for a key or an alias of the given form.

    Raises
    ------
    ParameterError
        An unknown name (a ``ValueError`` too): where it lives, the closest or the valid names.
    """
    form = canonical_form(form)
    _check_form(form)
    check_kind("name", name, isinstance(name, str), "a string (a nonlinearity's name)")
    key = _NAMES[form].get(normalise_name(name))
    if key is None:
        raise ParameterError(unknown_name(name, form))
    return NONLINEARITIES[key] if key in NONLINEARITIES else NON_ODD_ACTIVATIONS[key]


#: Spellings of plain total variation (:func:`unknown_name` points to truncated TV).
_TOTAL_VARIATION: Final = frozenset({"tv", "total-variation", "totalvariation"})


def unknown_name(name: str, form: str) -> str:
    """Why ``name`` is not a ``form``: where it lives instead, or the closest name;
    the valid names when neither is known.

    Examples
    --------
    >>> unknown_name("huber", "diffusivity")
    "Unknown diffusivity 'huber': 'huber' is a regulariser of the soft family; as a diffusivity: 'soft' (also truncated-tv)"
    >>> unknown_name("charbonier", "diffusivity")
    "Unknown diffusivity 'charbonier'. Did you mean 'charbonnier'?"
    """
    text = f"Unknown {form} {name!r}"
    norm = normalise_name(name)
    if norm in _TOTAL_VARIATION:
        others = sorted(a for a, k in _NAMES[form].items() if k == "soft" and a != "soft")
        also = f" (also {', '.join(others)})" if others else ""
        return (
            f"{text}: plain total variation (g = 1/|r|, Psi = 2|r|) is unbounded at r = 0, "
            "so no explicit tau is stable; the paper's truncated TV is the soft family, as "
            f"{'an' if form[0] in 'aeiou' else 'a'} {form}: 'soft'{also}"
        )
    if norm in PARAMETRISED_FAMILIES:  # registered, but g needs its coefficients too
        return (
            f"{text}: {norm!r} is a parametrised family, its g set by its coefficients: "
            f'a network file\'s block gives them (activation = "{norm}", coefficients = '
            f"[...]), translate --{form} {norm} --coefficients C1,C2,... shows its forms, "
            f"and get_parametrised({norm!r}, coefficients, lam=...) binds it in Python"
        )
    elsewhere = [f for f in FORMS if f != form and norm in _NAMES[f]]
    if elsewhere:
        key = _NAMES[elsewhere[0]][norm]
        article = "an" if elsewhere[0][0] in "aeiou" else "a"
        text += f": {name!r} is {article} {' and '.join(elsewhere)} of the {key} family; "
        if key in _NAMES[form]:
            others = sorted(a for a, k in _NAMES[form].items() if k == key and a != key)
            text += f"as a {form}: {key!r}" + (f" (also {', '.join(others)})" if others else "")
        else:
            text += f"it has no {form} name (an activation only: resnet --activation {key})"
    else:
        close = did_you_mean(norm, _NAMES[form])
        if close is not None:
            return text + f". Did you mean {close!r}?"
        return text + ". Valid names: " + ", ".join(names_for_form(form))
    return text


# --------------------------------------------------------------------------
# Bound nonlinearities
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Nonlinearity:
    """A nonlinearity with its parameter bound, offering all four forms.

    Build it with :func:`get_nonlinearity` (registry) or
    :func:`from_function` (your own function).

    Attributes
    ----------
    name : str
        The name it was asked for (key, alias or custom label).
    key : str
        The registry key, or ``"custom"``.
    lam : float
        The contrast parameter lambda (threshold theta = lam / sqrt2).
    entry : Entry or None
        The registry entry, None for custom functions.
    reach : float or None
        The largest ``|r|`` the signal it is bound to can produce (its range
        over h); a custom function's stability is sampled up to there too.
    floor : float or None
        The smallest nonzero ``|r|`` of that signal (its smallest nonzero
        difference over h); a custom function's stability is sampled down to
        there too.
    formula : tuple or None
        ``(form, text, lam)`` of the formula (:mod:`resdenoise.expr`) its
        functions were compiled from: functions that cannot change, whose
        sampled stability is therefore kept (by this key, the signal's reach
        and floor and ``lam``); None for a Python function, which may change
        between calls (a parameter, a global) and is sampled on every check.

    A custom nonlinearity built from a diffusivity, regulariser or shrinkage
    function keeps that function (``_g``, ``_psi``, ``_shrinkage``) and
    returns it as given instead of translating it back.
    """

    name: str
    key: str
    lam: float
    entry: Entry | None = None
    _phi: ArrFunc | None = None
    _g: ArrFunc | None = None
    _psi: ArrFunc | None = None
    _shrinkage: ArrFunc | None = None
    reach: float | None = None
    floor: float | None = None
    formula: tuple[str, str, float] | None = None

    # -- the four forms ----------------------------------------------------
    # Each form returns an ndarray for every family, a custom one too: of ``r``'s shape,
    # 0-d for a scalar ``r`` (np.asarray: what a family computes as a NumPy scalar).
    def phi(self, r) -> np.ndarray:
        """Activation (flux function) ``Phi(r)``: an ndarray of ``r``'s shape (0-d for
        a scalar ``r``), whatever the family."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None:
            return np.asarray(self.entry.phi(r, self.lam))
        return np.asarray(self._phi(r))

    @property
    def scratch_phi(self) -> Callable[[np.ndarray], np.ndarray]:
        """:meth:`phi` for arrays the caller does not read again (the engine's scratch
        differences): a custom activation function is called on the array itself, not
        on the copy :meth:`phi` hands it (``from_function``), which costs the step loop
        a copy a block (measured: 3x the CPU time of a run with ``np.tanh``)."""
        func = getattr(self._phi, "__wrapped__", None) if self.entry is None else None
        if func is not None:

            def phi(r):
                return np.asarray(func(np.asarray(r, dtype=float)))

            return phi
        return self.phi

    @property
    def flux_kernel(self) -> Callable[[np.ndarray, np.ndarray, tuple], np.ndarray] | None:
        """Allocation-free ``kernel(r, out, work)`` writing ``Phi(r)`` into ``out``.

        None for custom functions (the engine then calls :meth:`phi`).  The
        kernel keeps r's float dtype; ``work`` is ``(tmp, bits)``, a float and
        an integer scratch array of r's shape and item size.  In float64 its
        numbers equal :meth:`phi`'s bit for bit.
        """
        kernel = self.entry.phi_into if self.entry is not None else None
        if kernel is None:
            return None
        lam = self.lam

        def flux_kernel(r, out, work):
            return kernel(r, out, lam, work)

        return flux_kernel

    def g(self, r) -> np.ndarray:
        """Diffusivity ``g(r) = Phi(r)/r``: an ndarray of ``r``'s shape (as :meth:`phi`)."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None and self.entry.g is not None:
            return np.asarray(self.entry.g(r, self.lam))
        if self._g is not None:
            return np.asarray(self._g(r))
        return np.asarray(phi_to_g(self.phi, _scale(self.lam), self._slope)(r))

    def phi_and_g(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(Phi(r), g(r))`` at the float64 array ``r`` (float64 both), a custom function
        called once on all of r (the stability sampling's one evaluation): a g derived
        from Phi is ``Phi / r``; Phi of a diffusivity given is ``g r`` of its one sampling
        (:func:`g_to_phi`'s numbers: 0 at r = 0); a family's are its own."""
        if self.entry is None and self._g is not None:
            g = self.g(r)  # (g(0) where the function has a hole there: its own rule)
            with np.errstate(invalid="ignore", over="ignore"):
                return np.where(r == 0.0, 0.0, g * r), g
        phi = np.asarray(self.phi(r), dtype=float)
        if self.entry is not None:
            return phi, self.g(r)
        return phi, np.asarray(g_of_values(self.phi, r, phi, _scale(self.lam), self._slope))

    def sampled_forms(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(Phi(r), g(r), S(-r / sqrt2))``: :meth:`phi_and_g`, and of a shrinkage function
        given, its values that made Phi (called once on all of ``r``; the stability
        sampling's translation rounding reads them:
        :func:`resdenoise._sampling.translation_rounding`); None for any other."""
        made = getattr(self._phi, "of_shrinkage", None) if self.entry is None else None
        if made is None or made != (self._shrinkage, 0.25) or self._g is not None:
            return (*self.phi_and_g(r), None)
        shrunk = self._shrinkage(-r / SQRT2)  # as self.phi(r) calls it, once
        phi = np.asarray(phi_of_shrunk(r, shrunk), dtype=float)
        g = np.asarray(g_of_values(self.phi, r, phi, _scale(self.lam), self._slope))
        return phi, g, np.asarray(shrunk, dtype=float)

    @property
    def _slope(self) -> ArrFunc | None:
        """``Phi'`` of a custom activation where it is known (a formula's activation or
        shrinkage, by the rules of calculus: its ``derivative``), else None: g(0) then
        comes from differences (:func:`phi_to_g`)."""
        return getattr(self._phi, "derivative", None) if self.entry is None else None

    def psi(self, r) -> np.ndarray:
        """Regulariser ``Psi(r)`` with ``Psi(0) = 0``: an ndarray of ``r``'s shape (as
        :meth:`phi`)."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None and self.entry.psi is not None:
            return np.asarray(self.entry.psi(r, self.lam))
        if self._psi is not None:
            return np.asarray(self._psi(r))
        return np.asarray(phi_to_psi(self.phi)(r))

    def shrinkage(self, s, tau: float = 0.25) -> np.ndarray:
        """Shrinkage function ``S(s)`` for one Haar step of size tau (h = 1): an ndarray
        of ``s``'s shape (as :meth:`phi`)."""
        s = np.asarray(s, dtype=float)
        if tau == 0.25 and self.entry is not None and self.entry.shrinkage is not None:
            return np.asarray(self.entry.shrinkage(s, self.theta))
        if tau == 0.25 and self._shrinkage is not None:
            return np.asarray(self._shrinkage(s), dtype=float)
        return np.asarray(phi_to_shrinkage(self.phi, tau)(s))

    # -- properties ----------------------------------------------------------
    @property
    def theta(self) -> float:
        """Shrinkage threshold, ``lam / sqrt2``."""
        return self.lam / SQRT2

    @property
    def label(self) -> str:
        """The name to show (plots, reports): the registry entry's label (such as
        ``"Perona-Malik"``), or a custom function's ``name``."""
        return self.entry.label if self.entry is not None else self.name


def get_nonlinearity(name: str, form: str = "activation", lam: float = 1.0) -> Nonlinearity:
    """Look a nonlinearity up by key or alias of ``form`` and bind ``lam``.

    Parameters
    ----------
    name : str
        A registry key (valid in every form) or an alias of ``form``.
    form : {'diffusivity', 'regulariser', 'shrinkage', 'activation'}
    lam : float
        Contrast parameter lambda > 0 (for shrinkage, ``sqrt2 * theta``).

    Returns
    -------
    Nonlinearity
        The registry entry bound to ``lam``: its four forms (:meth:`~Nonlinearity.phi`,
        ``g``, ``psi``, ``shrinkage``), its registry ``key`` and ``name`` as given
        (normalised: lower case, hyphens).

    Raises
    ------
    ParameterError
        (a ``ValueError`` too) ``name`` is not a string or is no key or alias of
        ``form`` (the message gives the closest name, or where the name lives),
        ``form`` is not one of the four, or ``lam`` is not a finite number > 0.

    Examples
    --------
    >>> nl = get_nonlinearity("huber", "regulariser", lam=2.0)
    >>> nl.key, float(nl.phi(5.0))
    ('soft', 2.0)
    """
    entry = resolve_name(name, form)
    lam = check_lambda(lam)
    return Nonlinearity(name=normalise_name(name), key=entry.key, lam=lam, entry=entry)


def check_lambda(lam) -> float:
    """``lam`` as a float where it is a finite number > 0 (not ``"2"``, not True), else
    :class:`ParameterError` naming it ``lam``, the keyword of every function that takes it
    (get_nonlinearity, from_function, expression_nonlinearity): one rule for every
    nonlinearity's lambda."""
    return float(check_positive("lam", lam))


def from_function(
    func: ArrFunc,
    form: str = "activation",
    name: str = "custom",
    lam: float = 1.0,
    *,
    copies: bool = True,
) -> Nonlinearity:
    """Build a :class:`Nonlinearity` from one function given in ``form``.

    The activation is derived by the general translations: ``g -> g r``,
    ``Psi -> Psi'/2`` (numerically, :func:`psi_to_phi` with lam as the scale
    of its step), ``S -> (r/4 + S(-r/sqrt2)/(2 sqrt2))/tau`` at tau = 1/4 (the
    paper's ``r/4 - S(r/sqrt2)/(2 sqrt2)`` for an odd S; :func:`shrinkage_to_phi`).
    ``lam`` is recorded but not applied: ``func`` is used as given (lam is the
    size of its features: the scale of the numerical steps and of the stability
    sampling).  With ``copies`` func is called on a copy of r (a function may
    write into its argument, as ``np.tanh(r, out=r)`` does) and must return an
    array of r's shape (else a :class:`ParameterError` naming it); False for a
    function known to do neither (resdenoise's formulas).  The
    function itself stays the nonlinearity's form ``form``: a regulariser is
    shifted to ``Psi(0) = 0``; a diffusivity undefined at 0 (``tanh(r)/r``)
    gets ``g(0) = Phi'(0)`` there.

    Returns
    -------
    Nonlinearity
        Of ``key`` ``"custom"`` and the given ``name``; its four forms as a
        registry entry's (no compiled flux kernel: the engine calls ``func``'s
        activation).  Its stability is sampled, not known in closed form
        (:func:`resdenoise.stability.check_tau`).

    Raises
    ------
    ParameterError
        (a ``ValueError`` too) ``func`` is not callable, ``form`` is not one of
        the four, or ``lam`` is not a finite number > 0.  ``func`` itself is
        not called here.
    """
    form = canonical_form(form)
    _check_form(form)
    check_kind("func", func, callable(func), f"callable (the {form} as a function)")
    lam = check_lambda(lam)  # the registry's rule: a finite number > 0
    if copies:
        func = _on_a_copy(func, name, form)
    given = {}
    if form == "activation":
        phi = func
    elif form == "diffusivity":
        phi = g_to_phi(func)
        given["_g"] = _diffusivity_at_zero(func, phi, _scale(lam))
    elif form == "regulariser":
        phi = psi_to_phi(func, scale=_scale(lam))
        given["_psi"] = _regulariser_from_zero(func)
    else:
        phi = shrinkage_to_phi(func)
        given["_shrinkage"] = func
    return Nonlinearity(name=name, key="custom", lam=lam, _phi=phi, **given)


def _on_a_copy(func: ArrFunc, name: str, form: str) -> ArrFunc:
    """``func`` called on a copy of its argument (which it may write into: the library
    passes it shared, read-only arrays), its answer checked: an array of r's shape."""

    def own(r):
        r = np.array(r, dtype=float)  # a copy, writeable
        shape = r.shape
        try:
            out = func(r)
        except TypeError as exc:  # math.tanh on an array, a function of two arguments
            raise ParameterError(
                f"{name}: the {form} function cannot take an array of r: {exc} (give a "
                "function of NumPy arrays, such as np.tanh)"
            ) from None
        if np.shape(out) != shape or np.asarray(out).dtype.kind not in "fiub":
            # r's shape is the library's sampling grid's or the signal's: not named, the user
            # knows neither (79995 points of the stability grid)
            got = "None" if out is None else type(out).__name__
            if out is not None and np.ndim(out):
                got += f" of shape {np.shape(out)}"
            raise ParameterError(
                f"{name}: the {form} function must return numbers of r's shape (an array, "
                f"elementwise, as np.tanh does), got {got}"
            )
        return out

    own.__wrapped__ = func  # the step loop calls it on its own scratch (Nonlinearity.scratch_phi)
    return own


def _scale(lam: float) -> float:
    """lam as the size of a function's features, for numerical steps."""
    return lam if math.isfinite(lam) and lam > 0.0 else 1.0


def _diffusivity_at_zero(g: ArrFunc, phi: ArrFunc, scale: float) -> ArrFunc:
    def g_fixed(r):
        r = np.asarray(r, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(g(r), dtype=float)
        hole = (r == 0.0) & ~np.isfinite(out)
        if hole.any():
            out = np.where(hole, phi_to_g(phi, scale)(np.zeros(())), out)
        return out

    return g_fixed


def _regulariser_from_zero(psi: ArrFunc) -> ArrFunc:
    """``psi`` shifted to ``Psi(0) = 0``: Psi(0) taken on every call (the function may
    change between calls, as the stability analysis assumes)."""

    def psi_shifted(r):
        r = np.asarray(r, dtype=float)
        at_zero = float(np.asarray(psi(np.zeros(1)), dtype=float).reshape(-1)[0])
        return np.asarray(psi(r), dtype=float) - at_zero

    return psi_shifted


def __getattr__(name: str):
    """``NONSTABLE_ACTIVATIONS``, the old name of :data:`NON_ODD_ACTIVATIONS` (they are
    stable: not odd, and activations only), with a :class:`DeprecationWarning`."""
    if name == "NONSTABLE_ACTIVATIONS":
        import warnings

        warnings.warn(
            "resdenoise.nonlinearities.NONSTABLE_ACTIVATIONS is now NON_ODD_ACTIVATIONS "
            "(relu, gelu, ... are stable: not odd, and activations only); the old name "
            "will go",
            DeprecationWarning,
            stacklevel=2,
        )
        return NON_ODD_ACTIVATIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
