"""The dictionary: diffusivities, regularisers, shrinkage functions, activations.

Every entry of the registry :data:`NONLINEARITIES` describes one filter in the
four languages of Alt, Weickert and Peter (2020), Table 3:

========== ============================ =========================================
form       symbol                       relation to the activation Phi
========== ============================ =========================================
diffusion  diffusivity ``g(r)``         ``Phi(r) = g(r) r``
regulariser ``Psi(r)``                  ``Psi(r) = 2 int_0^r Phi(s) ds``
shrinkage  ``S(s)``                     ``tau Phi(r) = r/4 - S(r/sqrt2)/(2 sqrt2)``
resnet     activation ``Phi(r)``        (the flux of the diffusion block)
========== ============================ =========================================

Closed forms are written with contrast parameter ``lam`` (lambda) for g, Psi
and Phi and threshold ``theta = lam / sqrt(2)`` for S, at the paper's
``tau = 1/4, h = 1`` where the shrinkage relation is tau-dependent.

A name is looked up with :func:`get_nonlinearity`, which binds the contrast
parameter and returns a :class:`Nonlinearity` offering all four forms.  An
activation known only through Phi (or a diffusivity, regulariser or shrinkage
function known only through its own form) is turned into a
:class:`Nonlinearity` by :func:`from_function`; its other forms come from the
general translations (:func:`g_to_phi`, :func:`phi_to_g`, :func:`phi_to_psi`,
:func:`psi_to_phi`, :func:`phi_to_shrinkage`, :func:`shrinkage_to_phi`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Final, Mapping

import numpy as np

__all__ = [
    "FORMS",
    "NONLINEARITIES",
    "Entry",
    "Nonlinearity",
    "available_nonlinearities",
    "from_function",
    "g_to_phi",
    "get_nonlinearity",
    "names_for_form",
    "phi_to_g",
    "phi_to_psi",
    "phi_to_shrinkage",
    "psi_to_phi",
    "resolve_name",
    "shrinkage_to_phi",
]

SQRT2: Final = math.sqrt(2.0)

#: The four forms, keyed by the name used in the CLI flags.
FORMS: Final = ("diffusivity", "regulariser", "shrinkage", "activation")

Func = Callable[[np.ndarray, float], np.ndarray]


# --------------------------------------------------------------------------
# Closed forms, Table 3.  Each takes (r, lam) (shrinkage: (s, theta)).
# --------------------------------------------------------------------------


def _lin_g(r, lam):
    return np.ones_like(r)


def _lin_psi(r, lam):
    return r * r


def _lin_s(s, theta):
    return np.zeros_like(s)


def _lin_phi(r, lam):
    return r.copy()


def _cha_g(r, lam):
    return 1.0 / np.sqrt(1.0 + (r / lam) ** 2)


def _cha_psi(r, lam):
    x = r / lam
    # 2 lam^2 (sqrt(1 + x^2) - 1), written without cancellation for small x
    return 2.0 * lam * lam * (x * x) / (np.sqrt(1.0 + x * x) + 1.0)


def _cha_s(s, theta):
    # lam = sqrt2 theta, so 2 s^2 / lam^2 = s^2 / theta^2
    return s * (1.0 - 1.0 / np.sqrt(1.0 + (s / theta) ** 2))


def _cha_phi(r, lam):
    return r / np.sqrt(1.0 + (r / lam) ** 2)


def _soft_g(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore"):  # lam/0 = inf, and min(1, inf) = 1
        return np.minimum(1.0, lam / a)


def _soft_psi(r, lam):
    a = np.abs(r)
    return np.where(a <= lam, r * r, 2.0 * lam * a - lam * lam)


def _soft_s(s, theta):
    return np.sign(s) * np.maximum(np.abs(s) - theta, 0.0)


def _soft_phi(r, lam):
    return np.clip(r, -lam, lam)


def _pm_g(r, lam):
    return np.exp(-(r * r) / (2.0 * lam * lam))


def _pm_psi(r, lam):
    return -2.0 * lam * lam * np.expm1(-(r * r) / (2.0 * lam * lam))


def _pm_s(s, theta):
    # lam^2 = 2 theta^2, so s^2 / lam^2 = s^2 / (2 theta^2)
    return -s * np.expm1(-(s * s) / (2.0 * theta * theta))


def _pm_phi(r, lam):
    return r * np.exp(-(r * r) / (2.0 * lam * lam))


def _gar_g(r, lam):
    with np.errstate(divide="ignore"):  # lam^2/0 = inf, and min(1, inf) = 1
        return np.minimum(1.0, (lam * lam) / (r * r))


def _gar_psi(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore"):  # log(0) only in the branch not taken
        far = lam * lam * (1.0 + 2.0 * np.log(a / lam))
    return np.where(a <= lam, r * r, far)


def _gar_s(s, theta):
    a = np.abs(s)
    with np.errstate(divide="ignore", invalid="ignore"):  # only where a <= theta
        far = s - theta * theta / s
    return np.where(a > theta, far, 0.0)


def _gar_phi(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore"):  # only where a <= lam
        far = lam * lam / r
    return np.where(a <= lam, r, far)


def _hard_g(r, lam):
    return np.where(np.abs(r) <= lam, 1.0, 0.0)


def _hard_psi(r, lam):
    return np.minimum(r * r, lam * lam)


def _hard_s(s, theta):
    return np.where(np.abs(s) > theta, s, 0.0)


def _hard_phi(r, lam):
    return np.where(np.abs(r) <= lam, r, 0.0)


def _tanh_g(r, lam):
    x = r / lam
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 is set below
        out = np.tanh(x) / x
    return np.where(x == 0.0, 1.0, out)


def _tanh_psi(r, lam):
    a = np.abs(r / lam)
    # 2 lam^2 log cosh x, overflow-free: log cosh x = a + log1p(e^-2a) - log 2
    return 2.0 * lam * lam * (a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0))


def _tanh_phi(r, lam):
    return lam * np.tanh(r / lam)


def _softsign_g(r, lam):
    return 1.0 / (1.0 + np.abs(r) / lam)


def _softsign_psi(r, lam):
    a = np.abs(r / lam)
    return 2.0 * lam * lam * (a - np.log1p(a))


def _softsign_phi(r, lam):
    return r / (1.0 + np.abs(r) / lam)


def _arctan_g(r, lam):
    x = r / lam
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 is set below
        out = np.arctan(x) / x
    return np.where(x == 0.0, 1.0, out)


def _arctan_psi(r, lam):
    x = r / lam
    return 2.0 * lam * lam * (x * np.arctan(x) - 0.5 * np.log1p(x * x))


def _arctan_phi(r, lam):
    return lam * np.arctan(r / lam)


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One row of the dictionary: a filter described in all four forms.

    ``g``, ``psi`` and ``shrinkage`` may be None where no closed form is
    registered; :class:`Nonlinearity` then derives them from ``phi``.
    ``g_min``, ``g_max`` and ``lipschitz`` are exact for every ``lam > 0``
    (every registered family is scale-invariant in this sense).
    """

    key: str
    label: str
    convex: bool
    phi: Func
    g: Func | None
    psi: Func | None
    shrinkage: Func | None
    g_min: float
    g_max: float
    lipschitz: float
    formulas: Mapping[str, str]
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    odd: bool = True
    paper: bool = True

    @property
    def klass(self) -> str:
        """'convex' (monotone Phi, convex Psi) or 'nonconvex' (nonmonotone Phi)."""
        return "convex" if self.convex else "nonconvex"


NONLINEARITIES: Final[dict[str, Entry]] = {
    e.key: e
    for e in (
        Entry(
            "linear",
            "linear (Iijima)",
            True,
            _lin_phi,
            _lin_g,
            _lin_psi,
            _lin_s,
            g_min=1.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "1",
                "regulariser": "r^2",
                "shrinkage": "0",
                "activation": "r",
            },
            aliases={
                "diffusivity": ("iijima", "constant", "homogeneous"),
                "regulariser": ("whittaker-tikhonov", "tikhonov", "quadratic"),
                "activation": ("identity",),
            },
        ),
        Entry(
            "charbonnier",
            "Charbonnier",
            True,
            _cha_phi,
            _cha_g,
            _cha_psi,
            _cha_s,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "1/sqrt(1 + r^2/lam^2)",
                "regulariser": "2 lam^2 (sqrt(1 + r^2/lam^2) - 1)",
                "shrinkage": "s (1 - 1/sqrt(1 + 2 s^2/lam^2))",
                "activation": "r/sqrt(1 + r^2/lam^2)",
            },
            aliases={"activation": ("isru",)},
        ),
        Entry(
            "soft",
            "soft shrinkage",
            True,
            _soft_phi,
            _soft_g,
            _soft_psi,
            _soft_s,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "min(1, lam/|r|)",
                "regulariser": "r^2 if |r| <= lam else 2 lam |r| - lam^2",
                "shrinkage": "sgn(s) max(|s| - theta, 0)",
                "activation": "clip(r, -lam, lam)",
            },
            aliases={
                "diffusivity": ("truncated-tv",),
                "regulariser": ("huber",),
                "shrinkage": ("soft-shrinkage",),
                "activation": ("clip", "hardtanh"),
            },
        ),
        Entry(
            "perona-malik",
            "Perona-Malik",
            False,
            _pm_phi,
            _pm_g,
            _pm_psi,
            _pm_s,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "exp(-r^2/(2 lam^2))",
                "regulariser": "2 lam^2 (1 - exp(-r^2/(2 lam^2)))",
                "shrinkage": "s (1 - exp(-s^2/lam^2))",
                "activation": "r exp(-r^2/(2 lam^2))",
            },
            aliases={"diffusivity": ("pm", "exponential")},
        ),
        Entry(
            "garrote",
            "garrote shrinkage",
            False,
            _gar_phi,
            _gar_g,
            _gar_psi,
            _gar_s,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "min(1, lam^2/r^2)",
                "regulariser": "r^2 if |r| <= lam else lam^2 (1 + 2 ln(|r|/lam))",
                "shrinkage": "s - theta^2/s if |s| > theta else 0",
                "activation": "r if |r| <= lam else lam^2/r",
            },
            aliases={
                "diffusivity": ("truncated-bfb", "truncated-balanced-forward-backward"),
                "shrinkage": ("garotte",),
            },
        ),
        Entry(
            "hard",
            "hard shrinkage",
            False,
            _hard_phi,
            _hard_g,
            _hard_psi,
            _hard_s,
            g_min=0.0,
            g_max=1.0,
            lipschitz=math.inf,
            formulas={
                "diffusivity": "1 if |r| <= lam else 0",
                "regulariser": "min(r^2, lam^2)",
                "shrinkage": "s if |s| > theta else 0",
                "activation": "r if |r| <= lam else 0",
            },
            aliases={
                "regulariser": ("truncated-quadratic", "weak-string"),
                "shrinkage": ("hard-shrinkage",),
            },
        ),
        Entry(
            "tanh",
            "hyperbolic tangent",
            True,
            _tanh_phi,
            _tanh_g,
            _tanh_psi,
            None,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "lam tanh(r/lam)/r",
                "regulariser": "2 lam^2 ln cosh(r/lam)",
                "shrinkage": "s - 2 sqrt2 tau Phi(sqrt2 s) (translated)",
                "activation": "lam tanh(r/lam)",
            },
            paper=False,
        ),
        Entry(
            "softsign",
            "softsign",
            True,
            _softsign_phi,
            _softsign_g,
            _softsign_psi,
            None,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "1/(1 + |r|/lam)",
                "regulariser": "2 lam^2 (|r|/lam - ln(1 + |r|/lam))",
                "shrinkage": "s - 2 sqrt2 tau Phi(sqrt2 s) (translated)",
                "activation": "r/(1 + |r|/lam)",
            },
            paper=False,
        ),
        Entry(
            "arctan",
            "arctangent",
            True,
            _arctan_phi,
            _arctan_g,
            _arctan_psi,
            None,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "lam arctan(r/lam)/r",
                "regulariser": "2 lam^2 (x arctan x - ln(1 + x^2)/2), x = r/lam",
                "shrinkage": "s - 2 sqrt2 tau Phi(sqrt2 s) (translated)",
                "activation": "lam arctan(r/lam)",
            },
            paper=False,
        ),
    )
}

#: The six families of the paper's Table 3, in its order.
PAPER_FAMILIES: Final = tuple(k for k, e in NONLINEARITIES.items() if e.paper)


def _build_names() -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {form: {} for form in FORMS}
    for key, entry in NONLINEARITIES.items():
        for form in FORMS:
            names[form][key] = key
        for form, aliases in entry.aliases.items():
            for alias in aliases:
                names[form][alias] = key
    return names


_NAMES: Final = _build_names()


def names_for_form(form: str) -> list[str]:
    """Sorted names (keys and aliases) accepted for one form."""
    _check_form(form)
    return sorted(_NAMES[form])


def available_nonlinearities(paper_only: bool = False) -> list[str]:
    """Sorted registry keys, like ``pywt.wavelist``."""
    return sorted(k for k, e in NONLINEARITIES.items() if e.paper or not paper_only)


def _check_form(form: str) -> None:
    if form not in FORMS:
        raise ValueError(f"Unknown form {form!r}. Valid forms: {', '.join(FORMS)}")


def resolve_name(name: str, form: str = "activation") -> Entry:
    """Return the registry entry for a key or an alias of the given form.

    Raises
    ------
    ValueError
        For an unknown name, listing the sorted valid names of that form.
    """
    _check_form(form)
    key = _NAMES[form].get(name.strip().lower())
    if key is None:
        valid = ", ".join(names_for_form(form))
        raise ValueError(f"Unknown {form} {name!r}. Valid names: {valid}")
    return NONLINEARITIES[key]


# --------------------------------------------------------------------------
# General translations (MATH.md section 4).  Pure functions of functions.
# --------------------------------------------------------------------------

ArrFunc = Callable[[np.ndarray], np.ndarray]

#: Gauss-Legendre nodes and weights on [0, 1] used by phi_to_psi.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_X = (_GL_X + 1.0) / 2.0
_GL_W = _GL_W / 2.0


def g_to_phi(g: ArrFunc) -> ArrFunc:
    """Diffusivity to activation: ``Phi(r) = g(r) r``."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        return g(r) * r

    return phi


def phi_to_g(phi: ArrFunc, eps: float = 1e-7) -> ArrFunc:
    """Activation to diffusivity: ``g(r) = Phi(r)/r``, and ``g(0) = Phi'(0)``.

    ``Phi'(0)`` is taken as the central difference at ``eps``.
    """

    def g(r):
        r = np.asarray(r, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):  # r = 0 is set below
            out = phi(r) / r
        g0 = float((phi(np.array([eps])) - phi(np.array([-eps])))[0] / (2.0 * eps))
        return np.where(r == 0.0, g0, out)

    return g


def phi_to_psi(phi: ArrFunc, panels: int = 256) -> ArrFunc:
    """Activation to regulariser: ``Psi(r) = 2 int_0^r Phi(s) ds``.

    Composite 16-point Gauss-Legendre quadrature on ``panels`` equal panels
    of ``[0, r]``; exact to rounding for smooth Phi, and to a few digits
    around a kink or jump of Phi.
    """

    def psi(r):
        r = np.asarray(r, dtype=float)
        flat = r.reshape(-1)
        edges = np.linspace(0.0, 1.0, panels + 1)[:-1]
        # nodes in units of r: (panels*16,)
        t = (edges[:, None] + _GL_X[None, :] / panels).reshape(-1)
        w = np.tile(_GL_W / panels, panels)
        out = np.empty_like(flat)
        for start in range(0, flat.size, 256):
            rr = flat[start : start + 256]
            vals = phi(rr[:, None] * t[None, :])
            out[start : start + 256] = 2.0 * rr * (vals @ w)
        return out.reshape(r.shape)

    return psi


def psi_to_phi(psi: ArrFunc, eps: float = 1e-6) -> ArrFunc:
    """Regulariser to activation: ``Phi(r) = Psi'(r)/2`` (central difference)."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        step = eps * np.maximum(1.0, np.abs(r))
        return (psi(r + step) - psi(r - step)) / (4.0 * step)

    return phi


def phi_to_shrinkage(phi: ArrFunc, tau: float = 0.25) -> ArrFunc:
    """Activation to shrinkage: ``S(s) = s - 2 sqrt2 tau Phi(sqrt2 s)``.

    Equivalently ``S(s) = s (1 - 4 tau g(sqrt2 s))`` (Mrazek, Weickert,
    Steidl 2005); h = 1.
    """

    def shrinkage(s):
        s = np.asarray(s, dtype=float)
        return s - 2.0 * SQRT2 * tau * phi(SQRT2 * s)

    return shrinkage


def shrinkage_to_phi(shrinkage: ArrFunc, tau: float = 0.25) -> ArrFunc:
    """Shrinkage to activation: ``tau Phi(r) = r/4 - S(r/sqrt2)/(2 sqrt2)``."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        return (r / 4.0 - shrinkage(r / SQRT2) / (2.0 * SQRT2)) / tau

    return phi


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
    """

    name: str
    key: str
    lam: float
    entry: Entry | None = None
    _phi: ArrFunc | None = None

    # -- the four forms ----------------------------------------------------
    def phi(self, r) -> np.ndarray:
        """Activation (flux function) ``Phi(r)``."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None:
            return self.entry.phi(r, self.lam)
        return self._phi(r)

    def g(self, r) -> np.ndarray:
        """Diffusivity ``g(r) = Phi(r)/r``."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None and self.entry.g is not None:
            return self.entry.g(r, self.lam)
        return phi_to_g(self.phi)(r)

    def psi(self, r) -> np.ndarray:
        """Regulariser ``Psi(r)`` with ``Psi(0) = 0``."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None and self.entry.psi is not None:
            return self.entry.psi(r, self.lam)
        return phi_to_psi(self.phi)(r)

    def shrinkage(self, s, tau: float = 0.25) -> np.ndarray:
        """Shrinkage function ``S(s)`` for one Haar step of size tau (h = 1)."""
        s = np.asarray(s, dtype=float)
        if tau == 0.25 and self.entry is not None and self.entry.shrinkage is not None:
            return self.entry.shrinkage(s, self.theta)
        return phi_to_shrinkage(self.phi, tau)(s)

    # -- properties ----------------------------------------------------------
    @property
    def theta(self) -> float:
        """Shrinkage threshold, ``lam / sqrt2``."""
        return self.lam / SQRT2

    @property
    def label(self) -> str:
        return self.entry.label if self.entry is not None else self.name


def get_nonlinearity(
    name: str, form: str = "activation", lam: float = 1.0
) -> Nonlinearity:
    """Look a nonlinearity up by key or alias of ``form`` and bind ``lam``.

    Parameters
    ----------
    name : str
        A registry key (valid in every form) or an alias of ``form``.
    form : {'diffusivity', 'regulariser', 'shrinkage', 'activation'}
    lam : float
        Contrast parameter lambda > 0 (for shrinkage, ``sqrt2 * theta``).

    Examples
    --------
    >>> nl = get_nonlinearity("huber", "regulariser", lam=2.0)
    >>> nl.key, float(nl.phi(5.0))
    ('soft', 2.0)
    """
    entry = resolve_name(name, form)
    lam = _check_lam(lam)
    return Nonlinearity(name=name, key=entry.key, lam=lam, entry=entry)


def _check_lam(lam) -> float:
    lam = float(lam)
    if not (math.isfinite(lam) and lam > 0.0):
        raise ValueError(f"lambda must be a finite number > 0, got {lam!r}")
    return lam


def from_function(
    func: ArrFunc, form: str = "activation", name: str = "custom", lam: float = 1.0
) -> Nonlinearity:
    """Build a :class:`Nonlinearity` from one function given in ``form``.

    The activation is derived by the general translations: ``g -> g r``,
    ``Psi -> Psi'/2`` (numerically), ``S -> (r/4 - S(r/sqrt2)/(2 sqrt2))/tau``
    at tau = 1/4.  ``lam`` is recorded but not applied: ``func`` is used as
    given.
    """
    _check_form(form)
    phi = {
        "activation": lambda f: f,
        "diffusivity": g_to_phi,
        "regulariser": psi_to_phi,
        "shrinkage": shrinkage_to_phi,
    }[form](func)
    return Nonlinearity(name=name, key="custom", lam=float(lam), _phi=phi)
