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

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np

__all__ = [
    "FORMS",
    "NONLINEARITIES",
    "NONSTABLE_ACTIVATIONS",
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
    return 1.0 / np.hypot(1.0, r / lam)  # sqrt(1 + x^2), without overflow


def _cha_psi(r, lam):
    x = np.abs(r / lam)
    # 2 lam^2 (sqrt(1 + x^2) - 1), written without cancellation for small x
    # and without overflow for large x (hypot(1, x) = sqrt(1 + x^2)); the
    # factor x / (sqrt(1 + x^2) + 1) lies in [0, 1): 1 at x = inf
    with np.errstate(invalid="ignore"):
        return 2.0 * lam * lam * x * np.fmin(x / (np.hypot(1.0, x) + 1.0), 1.0)


def _cha_s(s, theta):
    # lam = sqrt2 theta, so 2 s^2 / lam^2 = s^2 / theta^2
    return s * (1.0 - 1.0 / np.hypot(1.0, s / theta))


def _cha_phi(r, lam):
    with np.errstate(over="ignore", invalid="ignore"):
        s = 1.0 + (r / lam) ** 2
        return np.where(s == np.inf, np.copysign(lam, r), r / np.sqrt(s))


def _soft_g(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore", over="ignore"):  # lam/0 = inf, and min(1, inf) = 1
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
    with np.errstate(divide="ignore", over="ignore"):  # lam^2/0 = inf, min(1, inf) = 1
        return np.minimum(1.0, (lam * lam) / (r * r))


def _gar_psi(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore"):  # log(0) only in the branch not taken
        far = lam * lam * (1.0 + 2.0 * np.log(a / lam))
    return np.where(a <= lam, r * r, far)


def _gar_s(s, theta):
    a = np.abs(s)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # only where a <= theta
        far = s - theta * theta / s
    return np.where(a > theta, far, 0.0)


def _gar_phi(r, lam):
    a = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # only where a <= lam
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
    # 2 lam^2 log cosh x.  Large a, overflow-free: a + log1p(e^-2a) - log 2;
    # small a, without cancellation: log1p(cosh a - 1) = log1p(2 sinh(a/2)^2).
    small = np.minimum(a, 1.0)
    near = np.log1p(2.0 * np.sinh(0.5 * small) ** 2)
    far = a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)
    return 2.0 * lam * lam * np.where(a < 1.0, near, far)


def _tanh_phi(r, lam):
    return lam * np.tanh(r / lam)


def _softsign_g(r, lam):
    return 1.0 / (1.0 + np.abs(r) / lam)


def _softsign_psi(r, lam):
    a = np.abs(r / lam)
    # a - log1p(a) cancels for small a: there use sum_{k>=2} (-a)^k / k (Horner,
    # 20 terms: relative error below 1e-16 for a < 0.1)
    small = np.minimum(a, 0.1)
    series = np.zeros_like(small)
    for k in range(21, 1, -1):
        series = series * small + (-1.0) ** k / k
    near = series * small * small
    return 2.0 * lam * lam * np.where(a < 0.1, near, a - np.log1p(a))


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


# Shrinkage of the three odd activations: S(s) = s - Phi(sqrt2 s)/sqrt2 at
# tau = 1/4, and with lam = sqrt2 theta the sqrt2 cancel.


def _tanh_s(s, theta):
    return s - theta * np.tanh(s / theta)


def _softsign_s(s, theta):
    a = np.abs(s)
    return s * a / (theta + a)


def _arctan_s(s, theta):
    return s - theta * np.arctan(s / theta)


# --------------------------------------------------------------------------
# Common deep-learning activations that are NOT odd: activation-only entries of
# NONSTABLE_ACTIVATIONS (translated and explained, refused by check_tau).
# Each is lam * f(r / lam) for the usual unit f (relu and leaky relu do not
# depend on lam).
# --------------------------------------------------------------------------

#: Negative slope of the leaky ReLU.
LEAKY_SLOPE: Final = 0.01


def _relu_phi(r, lam):
    return np.maximum(r, 0.0)


def _relu_g(r, lam):
    # Heaviside; at 0 the symmetric difference quotient of Phi, 1/2
    return np.where(r > 0, 1.0, np.where(r < 0, 0.0, 0.5))


def _relu_psi(r, lam):
    return np.maximum(r, 0.0) ** 2


def _leaky_phi(r, lam):
    return np.where(r >= 0, r, LEAKY_SLOPE * r)


def _leaky_g(r, lam):
    return np.where(r > 0, 1.0, np.where(r < 0, LEAKY_SLOPE, 0.5 * (1.0 + LEAKY_SLOPE)))


def _leaky_psi(r, lam):
    return np.where(r >= 0, 1.0, LEAKY_SLOPE) * r * r


_ERFC = np.vectorize(math.erfc, otypes=[float])


def _normal_cdf(x):
    return 0.5 * _ERFC(-np.asarray(x, dtype=float) / SQRT2)


def _gelu_phi(r, lam):
    return r * _normal_cdf(r / lam)


def _gelu_g(r, lam):
    return _normal_cdf(r / lam)


def _gelu_psi(r, lam):
    # 2 int_0^r s Cdf(s/lam) ds = lam^2 ((x^2 - 1) Cdf(x) + x pdf(x) + 1/2), x = r/lam
    x = r / lam
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return lam * lam * ((x * x - 1.0) * _normal_cdf(x) + x * pdf + 0.5)


def _logistic(x):
    return 0.5 + 0.5 * np.tanh(0.5 * x)  # overflow-free 1/(1 + e^-x)


def _silu_phi(r, lam):
    return r * _logistic(r / lam)


def _silu_g(r, lam):
    return _logistic(r / lam)


def _sigmoid_phi(r, lam):
    return lam * _logistic(r / lam)


def _sigmoid_g(r, lam):
    with np.errstate(divide="ignore"):  # Phi(0) = lam/2: g = +-inf at 0
        return lam * _logistic(r / lam) / r


def _sigmoid_psi(r, lam):
    # 2 int_0^r lam sigma(s/lam) ds = 2 lam^2 (softplus(r/lam) - ln 2)
    return 2.0 * lam * lam * (np.logaddexp(0.0, r / lam) - math.log(2.0))


#: Lipschitz constants: max Phi' of GELU at x = sqrt2, Cdf(x) + x pdf(x);
#: of SiLU where x tanh(x/2) = 2 (x = 2.39936...), sigma + x sigma (1 - sigma).
_GELU_LIPSCHITZ: Final = 0.5 * math.erfc(-1.0) + math.sqrt(2.0) * math.exp(-1.0) / math.sqrt(
    2.0 * math.pi
)
_SILU_LIPSCHITZ: Final = 1.0998393201288668


# --------------------------------------------------------------------------
# Allocation-free flux kernels for the engine (owned with resdenoise/engine.py).
#
# ``_xxx_phi_into(r, out, lam, work)`` writes ``Phi(r)`` into ``out`` with
# ufunc ``out=`` arguments only, performing the same operations in the same
# order as the closed form ``_xxx_phi`` above, so in float64 the numbers are
# the same bit for bit.  ``work = (tmp, bits)``: a float array and a signed
# integer array of the same item size, both of r's shape, which the kernel may
# overwrite; ``r`` is left untouched and its dtype (float32 or float64) is kept
# throughout.  Selections (``np.where``) are done on the bit patterns with an
# all-ones or all-zeros integer mask, which needs neither a cast nor a buffer.
# --------------------------------------------------------------------------

FluxKernel = Callable[[np.ndarray, np.ndarray, float, tuple], np.ndarray]


def _int_view(a: np.ndarray) -> np.ndarray:
    return a.view(np.int64 if a.dtype.itemsize == 8 else np.int32)


def _select_mask(r, lam, work):
    """All-ones bits where ``|r| <= lam``, zero bits elsewhere (NaN too), in ``work[1]``.

    Bit patterns of non-negative floats are ordered as their values, so with
    ``a = bits(|r|)`` and ``b = bits(lam)``: ``|r| <= lam`` iff ``a - b - 1 < 0``,
    and an arithmetic right shift by all but one bit turns that sign into the mask.
    """
    bits = work[1]
    top = np.iinfo(bits.dtype).max  # every bit but the sign
    np.bitwise_and(_int_view(r), top, out=bits)
    np.subtract(bits, int(np.array(lam, dtype=r.dtype).view(bits.dtype)) + 1, out=bits)
    return np.right_shift(bits, 8 * bits.itemsize - 1, out=bits)


def _lin_phi_into(r, out, lam, work):
    return np.positive(r, out=out)  # a copy; faster than copyto for mid sizes


def _cha_phi_into(r, out, lam, work):
    tmp = work[0]
    np.divide(r, lam, out=tmp)
    with np.errstate(over="ignore"):  # |r/lam| > 1e154: +-lam below, Phi's limit
        np.square(tmp, out=tmp)
    np.add(tmp, 1.0, out=tmp)
    np.sqrt(tmp, out=tmp)
    np.divide(r, tmp, out=out)
    if not tmp.max(initial=0.0) < np.inf:  # an overflow (or NaN in r)
        np.copysign(lam, r, out=out, where=tmp == np.inf)
    return out


def _soft_phi_into(r, out, lam, work):
    return np.clip(r, -lam, lam, out=out)


def _pm_phi_into(r, out, lam, work):
    tmp = work[0]
    np.multiply(r, r, out=tmp)
    np.divide(tmp, -(2.0 * lam * lam), out=tmp)  # -(a)/b == a/(-b) exactly
    np.exp(tmp, out=tmp)
    return np.multiply(r, tmp, out=out)


def _gar_phi_into(r, out, lam, work):
    mask = _select_mask(r, lam, work)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # only where |r| <= lam
        np.divide(lam * lam, r, out=out)
    # out = where(mask, r, far) as bits: far ^ ((far ^ r) & mask)
    far, flip = _int_view(out), _int_view(work[0])
    np.bitwise_xor(far, _int_view(r), out=flip)
    np.bitwise_and(flip, mask, out=flip)
    np.bitwise_xor(far, flip, out=far)
    return out


def _hard_phi_into(r, out, lam, work):
    mask = _select_mask(r, lam, work)
    np.bitwise_and(_int_view(r), mask, out=_int_view(out))  # r, or the bits of +0.0
    return out


def _tanh_phi_into(r, out, lam, work):
    np.divide(r, lam, out=out)
    np.tanh(out, out=out)
    return np.multiply(out, lam, out=out)


def _softsign_phi_into(r, out, lam, work):
    tmp = work[0]
    np.abs(r, out=tmp)
    np.divide(tmp, lam, out=tmp)
    np.add(tmp, 1.0, out=tmp)
    return np.divide(r, tmp, out=out)


def _arctan_phi_into(r, out, lam, work):
    np.divide(r, lam, out=out)
    np.arctan(out, out=out)
    return np.multiply(out, lam, out=out)


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
    #: Allocation-free ``phi_into(r, out, lam, work)`` for the engine, or None.
    phi_into: FluxKernel | None = None

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
            phi_into=_lin_phi_into,
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
            phi_into=_cha_phi_into,
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
            phi_into=_soft_phi_into,
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
            phi_into=_pm_phi_into,
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
            phi_into=_gar_phi_into,
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
            phi_into=_hard_phi_into,
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
            _tanh_s,
            phi_into=_tanh_phi_into,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "lam tanh(r/lam)/r",
                "regulariser": "2 lam^2 ln cosh(r/lam)",
                "shrinkage": "s - theta tanh(s/theta)",
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
            _softsign_s,
            phi_into=_softsign_phi_into,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "1/(1 + |r|/lam)",
                "regulariser": "2 lam^2 (|r|/lam - ln(1 + |r|/lam))",
                "shrinkage": "s |s|/(theta + |s|)",
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
            _arctan_s,
            phi_into=_arctan_phi_into,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "lam arctan(r/lam)/r",
                "regulariser": "2 lam^2 (x arctan x - ln(1 + x^2)/2), x = r/lam",
                "shrinkage": "s - theta arctan(s/theta)",
                "activation": "lam arctan(r/lam)",
            },
            paper=False,
        ),
    )
}

#: The six families of the paper's Table 3, in its order.
PAPER_FAMILIES: Final = tuple(k for k, e in NONLINEARITIES.items() if e.paper)

#: Deep-learning activations outside the stability theorem (not odd, and for
#: the sigmoid also Phi(0) != 0): the same kind of :class:`Entry`, accepted as
#: activation names only, so that they can be translated and their failure
#: explained; :func:`resdenoise.stability.check_tau` refuses to run them.
#: Shrinkage forms are translated (``S(s) = s - Phi(sqrt2 s)/sqrt2``), never
#: closed: a shrinkage function that is not odd has no Haar reading.
NONSTABLE_ACTIVATIONS: Final[dict[str, Entry]] = {
    e.key: e
    for e in (
        Entry(
            "relu",
            "rectified linear unit",
            True,
            _relu_phi,
            _relu_g,
            _relu_psi,
            None,
            g_min=0.0,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": "1 if r > 0 else 0",
                "regulariser": "max(r, 0)^2",
                "shrinkage": "s - Phi(sqrt2 s)/sqrt2 (translated)",
                "activation": "max(r, 0)",
            },
            odd=False,
            paper=False,
        ),
        Entry(
            "leaky-relu",
            f"leaky ReLU (slope {LEAKY_SLOPE:g})",
            True,
            _leaky_phi,
            _leaky_g,
            _leaky_psi,
            None,
            g_min=LEAKY_SLOPE,
            g_max=1.0,
            lipschitz=1.0,
            formulas={
                "diffusivity": f"1 if r > 0 else {LEAKY_SLOPE:g}",
                "regulariser": f"r^2 if r >= 0 else {LEAKY_SLOPE:g} r^2",
                "shrinkage": "s - Phi(sqrt2 s)/sqrt2 (translated)",
                "activation": f"r if r >= 0 else {LEAKY_SLOPE:g} r",
            },
            aliases={"activation": ("leakyrelu",)},
            odd=False,
            paper=False,
        ),
        Entry(
            "gelu",
            "Gaussian error linear unit",
            False,
            _gelu_phi,
            _gelu_g,
            _gelu_psi,
            None,
            g_min=0.0,
            g_max=1.0,
            lipschitz=_GELU_LIPSCHITZ,
            formulas={
                "diffusivity": "Cdf(r/lam), Cdf(x) = (1 + erf(x/sqrt2))/2",
                "regulariser": "lam^2 ((x^2 - 1) Cdf(x) + x exp(-x^2/2)/sqrt(2 pi) + 1/2), x = r/lam",
                "shrinkage": "s - Phi(sqrt2 s)/sqrt2 (translated)",
                "activation": "r Cdf(r/lam)",
            },
            odd=False,
            paper=False,
        ),
        Entry(
            "silu",
            "sigmoid linear unit (swish)",
            False,
            _silu_phi,
            _silu_g,
            None,
            None,
            g_min=0.0,
            g_max=1.0,
            lipschitz=_SILU_LIPSCHITZ,
            formulas={
                "diffusivity": "1/(1 + exp(-r/lam))",
                "regulariser": "2 int_0^r Phi (translated)",
                "shrinkage": "s - Phi(sqrt2 s)/sqrt2 (translated)",
                "activation": "r/(1 + exp(-r/lam))",
            },
            aliases={"activation": ("swish",)},
            odd=False,
            paper=False,
        ),
        Entry(
            "sigmoid",
            "logistic sigmoid",
            True,
            _sigmoid_phi,
            _sigmoid_g,
            _sigmoid_psi,
            None,
            g_min=-math.inf,
            g_max=math.inf,
            lipschitz=0.25,
            formulas={
                "diffusivity": "lam/(r (1 + exp(-r/lam)))",
                "regulariser": "2 lam^2 (ln(1 + exp(r/lam)) - ln 2)",
                "shrinkage": "s - Phi(sqrt2 s)/sqrt2 (translated)",
                "activation": "lam/(1 + exp(-r/lam))",
            },
            aliases={"activation": ("logistic",)},
            odd=False,
            paper=False,
        ),
    )
}


def _build_names() -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {form: {} for form in FORMS}
    for key, entry in NONLINEARITIES.items():
        for form in FORMS:
            names[form][key] = key
        for form, aliases in entry.aliases.items():
            for alias in aliases:
                names[form][alias] = key
    for key, entry in NONSTABLE_ACTIVATIONS.items():
        names["activation"][key] = key
        for alias in entry.aliases.get("activation", ()):
            names["activation"][alias] = key
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
    return NONLINEARITIES[key] if key in NONLINEARITIES else NONSTABLE_ACTIVATIONS[key]


# --------------------------------------------------------------------------
# General translations (the paper, Table 1).  Pure functions of functions.
# --------------------------------------------------------------------------

ArrFunc = Callable[[np.ndarray], np.ndarray]


def g_to_phi(g: ArrFunc) -> ArrFunc:
    """Diffusivity to activation: ``Phi(r) = g(r) r``."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        with np.errstate(invalid="ignore"):  # g(0) may be 0/0 (tanh(r)/r): Phi(0) = 0
            return np.where(r == 0.0, 0.0, g(r) * r)

    return phi


def phi_to_g(phi: ArrFunc, scale: float = 1.0) -> ArrFunc:
    """Activation to diffusivity: ``g(r) = Phi(r)/r``, and ``g(0) = Phi'(0)``.

    ``Phi'(0)`` is found like Psi' in :func:`psi_to_phi`: the least-error of
    sixth-order central and one-sided differences, with steps ``1e-2 *
    scale`` and ``2e-3 * scale``, so a kink of Phi' at 0 (softsign) costs no
    accuracy (about 1e-10).  Where Phi' jumps at 0 (ReLU) g(0) is the mean
    of the one-sided limits; where ``Phi(0) != 0`` (the sigmoid) g is
    unbounded at 0 and ``g(0) = +-inf`` with the sign of ``Phi(0)``.
    """

    def g(r):
        r = np.asarray(r, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):  # r = 0 is set below
            out = np.asarray(phi(r), dtype=float) / r
        if np.any(r == 0.0):
            out = np.where(r == 0.0, _g_at_zero(phi, scale), out)
        return out

    return g


def _g_at_zero(phi: ArrFunc, scale: float) -> float:
    """``Phi'(0)``, or +-inf where ``Phi(0) != 0``; see :func:`phi_to_g`."""
    zero = np.zeros(1)
    found = []
    for rel_step in (1e-2, 2e-3):
        est, err = _derivative_estimates(phi, zero, np.array([rel_step * scale]))
        with np.errstate(all="ignore"):
            ends = np.asarray(phi(np.array([0.0, -6.0, 6.0]) * rel_step * scale), dtype=float)
        if abs(ends[0]) > 1e-8 * (abs(ends[1]) + abs(ends[2])):
            return math.copysign(math.inf, float(ends[0]))
        if _one_sided_disagree(est, err)[0]:  # a jump of Phi' at 0
            return float(0.5 * (est[0, 1] + est[0, 2]))
        found.append((float(np.min(err[0])), float(est[0, int(np.argmin(err[0]))])))
    err, best = min(found)
    # the plain symmetric quotient at a tiny step is exact for linear Phi and
    # accurate for smooth, noise-free Phi: keep it when it agrees
    eps = 1e-7 * scale
    with np.errstate(all="ignore"):
        ends = np.asarray(phi(np.array([eps, -eps])), dtype=float)
    quotient = float((ends[0] - ends[1]) / (2.0 * eps))
    return quotient if abs(quotient - best) <= max(10.0 * err, 1e-12 * abs(best)) else best


def _lobatto(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Lobatto nodes (both ends included) and weights on [-1, 1]."""
    leg = np.zeros(n)
    leg[-1] = 1.0  # P_{n-1}
    inner = np.sort(np.polynomial.legendre.legroots(np.polynomial.legendre.legder(leg)))
    x = np.concatenate([[-1.0], inner, [1.0]])
    return x, 2.0 / (n * (n - 1) * np.polynomial.legendre.legval(x, leg) ** 2)


#: phi_to_psi's panel rule: 10 Gauss-Legendre nodes integrate; the degree-9
#: polynomial through them, compared with Phi at 12 Lobatto nodes (ends
#: included), says whether Phi is smooth on the panel.
#: Built on first use (numpy.polynomial costs start-up time): (nodes, weights, interp).
@functools.cache
def _quadrature_rule() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gx, gw = np.polynomial.legendre.leggauss(10)
    lx, _ = _lobatto(12)
    interp = np.polynomial.legendre.legvander(lx, 9) @ np.linalg.inv(
        np.polynomial.legendre.legvander(gx, 9)
    )
    return np.concatenate([gx, lx]) / 2.0 + 0.5, gw / 2.0, interp


_Q_MAX_DEPTH = 200
_Q_MAX_PANELS = 1_000_000


def _integrate_from_zero(f: ArrFunc, t: np.ndarray, rtol: float) -> np.ndarray:
    """``int_0^t f`` for sorted, unique, finite ``t >= 0``: adaptive, cumulative."""
    edges = np.concatenate([[0.0], t])
    a, b, owner = edges[:-1], edges[1:], np.arange(t.size)
    keep = b > a
    a, b, owner = a[keep], b[keep], owner[keep]
    total = np.zeros(t.size)
    scale = None
    q_nodes, q_weights, q_interp = _quadrature_rule()
    for depth in range(_Q_MAX_DEPTH):
        if a.size == 0:
            break
        width = b - a
        x = a[:, None] + width[:, None] * q_nodes[None, :]
        with np.errstate(all="ignore"):
            v = np.asarray(f(x.reshape(-1)), dtype=float).reshape(x.shape)
            gauss = (v[:, :10] @ q_weights) * width
            if scale is None:
                finite = np.isfinite(gauss)
                scale = max(float(np.sum(np.abs(gauss[finite]))), 1e-300)
            # pointwise misfit of the Gauss interpolant: a jump or kink anywhere
            # in [a, b] (also between the ends and the outer Gauss nodes) shows
            misfit = width * np.max(np.abs(v[:, :10] @ q_interp.T - v[:, 10:]), axis=1)
        mid = 0.5 * (a + b)
        done = ~(misfit > rtol * scale) | (mid <= a) | (mid >= b)
        if depth == _Q_MAX_DEPTH - 1 or np.count_nonzero(~done) > _Q_MAX_PANELS:
            done[:] = True
        np.add.at(total, owner[done], gauss[done])
        go = ~done
        a, mid, b, owner = a[go], mid[go], b[go], owner[go]
        a, b, owner = np.concatenate([a, mid]), np.concatenate([mid, b]), np.tile(owner, 2)
    # extended precision where the platform has it: many tiny pieces add up
    return np.cumsum(total.astype(np.longdouble)).astype(float)


def phi_to_psi(phi: ArrFunc, rtol: float = 1e-15) -> ArrFunc:
    """Activation to regulariser: ``Psi(r) = 2 int_0^r Phi(s) ds``.

    Adaptive quadrature over the sorted points r (each side of 0 apart, the
    pieces between neighbours summed cumulatively): a panel is accepted when
    the degree-9 interpolant through its 10 Gauss-Legendre nodes matches Phi
    at 12 Gauss-Lobatto nodes (its two ends included) to ``rtol`` times the
    size of the whole integral divided by the panel width; otherwise it is
    halved.  Kinks and jumps of Phi are thus bisected down to rounding, so the
    result is exact to about 1e-15 relative for smooth Phi and to 1e-13 or
    better for the kinked and jumping activations of the registry (soft,
    garrote, hard).  The cost is about 22 evaluations of Phi per point.
    """

    def psi(r):
        r = np.asarray(r, dtype=float)
        flat = r.reshape(-1)
        out = np.zeros_like(flat)
        for sign in (1.0, -1.0):
            side = sign * flat > 0.0
            if not side.any():
                continue
            t, where = np.unique(sign * flat[side], return_inverse=True)
            finite = np.isfinite(t)
            vals = np.full(t.size, np.nan)
            # on the negative side, Psi(-x) = 2 int_0^x -Phi(-y) dy
            f = phi if sign > 0 else (lambda y: -np.asarray(phi(-y), dtype=float))
            vals[finite] = 2.0 * _integrate_from_zero(f, t[finite], rtol)
            out[side] = vals[where]
        out[np.isnan(flat)] = np.nan
        return out.reshape(r.shape)

    return psi


def _d1_weights(nodes) -> np.ndarray:
    """Exact weights w with ``sum w_j f(j) = f'(0)`` for polynomials through the integer nodes."""
    from fractions import Fraction

    weights = []
    for j, xj in enumerate(nodes):
        total = Fraction(0)
        for m, xm in enumerate(nodes):
            if m != j:
                term = Fraction(1, xj - xm)
                for n, xn in enumerate(nodes):
                    if n not in (j, m):
                        term *= Fraction(-xn, xj - xn)
                total += term
        weights.append(float(total))
    return np.array(weights)


#: psi_to_phi samples Psi at r + k h/2 for these k: every k from -6 to 6 and
#: the even ones out to +-12.  Stencils with step h (rows: central of orders 6
#: and 4, left-sided 6 and 4, right-sided 6 and 4) use the even k; those with
#: step h/2 (central, left, right, order 6) use k = -6..6.
_D_OFFSETS = np.array([-12, -10, -8, *range(-6, 7), 8, 10, 12])


@functools.cache
def _derivative_stencils() -> np.ndarray:
    """The nine stencils on ``_D_OFFSETS``, built on first use (exact fractions are slow)."""
    stencils = np.zeros((9, _D_OFFSETS.size))
    for row, (nodes, unit) in enumerate(
        [
            (range(-3, 4), 2),
            (range(-2, 3), 2),
            (range(-6, 1), 2),
            (range(-4, 1), 2),
            (range(0, 7), 2),
            (range(0, 5), 2),
            (range(-3, 4), 1),
            (range(-6, 1), 1),
            (range(0, 7), 1),
        ]
    ):
        cols = np.searchsorted(_D_OFFSETS, unit * np.asarray(nodes))
        stencils[row, cols] = _d1_weights(list(nodes)) * (2 // unit)
    return stencils


def _derivative_estimates(psi: ArrFunc, r: np.ndarray, h: np.ndarray, samples: bool = False):
    """Central, left and right order-6 estimates of Psi'(r) with step h, each
    with an error estimate: its difference to the order-6 estimate with step
    h/2, plus 1e-3 times its difference to the order-4 estimate on the same
    points (a tie-breaker; at full weight this pessimistic term would hide
    the contamination by a weak kink near r).  With
    ``samples``, also the samples of Psi at ``r + k h/2`` (``_D_OFFSETS``)."""
    x = r[:, None] + (0.5 * h)[:, None] * _D_OFFSETS[None, :]
    with np.errstate(all="ignore"):
        v = np.asarray(psi(x.reshape(-1)), dtype=float).reshape(x.shape)
        # column by column, not v @ W.T: a BLAS product may round equal rows
        # differently, and Phi(-r) = -Phi(r) must hold to the last bit
        stencils = _derivative_stencils()
        d = np.zeros((r.size, stencils.shape[0]))
        for j in range(_D_OFFSETS.size):
            d += v[:, j, None] * stencils[None, :, j]
        d /= h[:, None]
        est = d[:, 0:6:2]
        err = np.abs(est - d[:, 6:9]) + 1e-3 * np.abs(est - d[:, 1:6:2])
    err = np.where(np.isfinite(err), err, np.inf)
    return (est, err, v) if samples else (est, err)


def _one_sided_disagree(est: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Both one-sided estimates clean, and different: Psi' jumps at r."""
    gap = np.abs(est[:, 1] - est[:, 2])
    noise = 100.0 * (err[:, 1] + err[:, 2]) + 1e-10 * (np.abs(est[:, 1]) + np.abs(est[:, 2]))
    return gap > noise


def psi_to_phi(psi: ArrFunc, scale: float = 1.0, rel_step: float = 2e-3) -> ArrFunc:
    """Regulariser to activation: ``Phi(r) = Psi'(r)/2``, numerically.

    Psi is sampled at ``r + k h``, ``k = -6..6`` (and halfway between for
    ``|k| <= 3``), ``h = rel_step * max(|r|, scale)`` (``scale``: the size of
    Psi's features, lambda).  Of the sixth-order central, left- and
    right-sided difference stencils the one that changes least against itself
    at step h/2 is taken, so a kink of Psi' (soft, garrote) or a jump (hard) near r is
    never straddled.  When the two one-sided estimates are both clean but
    disagree, Psi' jumps at r or very near it: the step is shrunk (by 1e3,
    1e6, 1e9) to see on which side r lies; at the jump itself the limit from
    the side of 0 is taken (the registry's convention, ``|r| <= lam``).

    Accuracy: about 1e-12 relative for smooth Psi (truncation ``h^6``,
    rounding ``eps Psi/h``); within a distance d below ``6 h`` of a kink of Phi
    the error is of order ``d`` times the jump of Phi'.  Where the samples of
    Psi at ``-r`` mirror those at ``r`` (an even Psi), ``Phi(-r) = -Phi(r)``
    exactly.
    """

    def phi(r):
        r = np.asarray(r, dtype=float)
        flat = r.reshape(-1)
        a = np.abs(flat)
        h = rel_step * np.maximum(a, scale)
        plus, v_plus = _psi_to_phi_at(psi, a, h)
        minus, v_minus = _psi_to_phi_at(psi, -a, h)
        # where Psi is even on the stencil, Phi is made exactly odd
        mirror = v_minus[:, ::-1]
        with np.errstate(invalid="ignore"):
            even = np.all(np.abs(mirror - v_plus) <= 4.0 * _EPS * np.abs(v_plus), axis=1)
        out = np.where(flat >= 0.0, plus, np.where(even, -plus, minus))
        return out.reshape(r.shape)

    return phi


_EPS: Final = float(np.finfo(float).eps)


def _psi_to_phi_at(psi: ArrFunc, x: np.ndarray, h: np.ndarray):
    """Psi'(x)/2 by the stencil rules of :func:`psi_to_phi`, and the samples of Psi."""
    est, err, v = _derivative_estimates(psi, x, h, samples=True)
    pick = np.argmin(err, axis=1)
    # between comparable one-sided estimates prefer the side away from 0: a
    # weak kink at 0 (any function of |r|) fools the error estimate of the
    # side that crosses it
    rows = np.arange(x.size)
    inner, outer = np.where(x >= 0.0, 1, 2), np.where(x >= 0.0, 2, 1)
    swap = (pick == inner) & (err[rows, outer] <= 10.0 * err[rows, inner])
    pick = np.where(swap, outer, pick)
    idx = np.flatnonzero(_one_sided_disagree(est, err))
    side = np.where(x[idx] >= 0.0, 1, 2)  # left for x >= 0: the side of 0
    for shrink in (1e-3, 1e-6, 1e-9):
        if idx.size == 0:
            break
        est2, err2 = _derivative_estimates(psi, x[idx], h[idx] * shrink)
        still = _one_sided_disagree(est2, err2)
        # no jump at x after all: the cleaner fine one-sided estimate is right,
        # and of the step-h estimates the one nearest to it is kept
        # (unless the fine step is too noisy to tell: then the side away from 0,
        # since a weak kink at 0 itself, as in any function of |r|, is the
        # likeliest cause: the other side differentiates the mirrored branch)
        done = idx[~still]
        clean = np.where(err2[~still, 1] <= err2[~still, 2], 1, 2)
        target = est2[~still][np.arange(done.size), clean]
        gap = np.abs(est[done, 1] - est[done, 2])
        sharp = np.minimum(err2[~still, 1], err2[~still, 2]) < 0.1 * gap
        nearest = np.argmin(np.abs(est[done] - target[:, None]), axis=1)
        outer = np.where(x[done] >= 0.0, 2, 1)
        pick[done] = np.where(sharp, nearest, outer)
        idx, side = idx[still], side[still]
    pick[idx] = side
    out = 0.5 * est[np.arange(x.size), pick]
    at_zero = idx[x[idx] == 0.0]  # a jump at 0 itself: the mean, odd as sign(0)
    out[at_zero] = 0.25 * (est[at_zero, 1] + est[at_zero, 2])
    return out, v


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

    # -- the four forms ----------------------------------------------------
    def phi(self, r) -> np.ndarray:
        """Activation (flux function) ``Phi(r)``."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None:
            return self.entry.phi(r, self.lam)
        return self._phi(r)

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
        """Diffusivity ``g(r) = Phi(r)/r``."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None and self.entry.g is not None:
            return self.entry.g(r, self.lam)
        if self._g is not None:
            return self._g(r)
        return phi_to_g(self.phi, _scale(self.lam))(r)

    def psi(self, r) -> np.ndarray:
        """Regulariser ``Psi(r)`` with ``Psi(0) = 0``."""
        r = np.asarray(r, dtype=float)
        if self.entry is not None and self.entry.psi is not None:
            return self.entry.psi(r, self.lam)
        if self._psi is not None:
            return self._psi(r)
        return phi_to_psi(self.phi)(r)

    def shrinkage(self, s, tau: float = 0.25) -> np.ndarray:
        """Shrinkage function ``S(s)`` for one Haar step of size tau (h = 1)."""
        s = np.asarray(s, dtype=float)
        if tau == 0.25 and self.entry is not None and self.entry.shrinkage is not None:
            return self.entry.shrinkage(s, self.theta)
        if tau == 0.25 and self._shrinkage is not None:
            return np.asarray(self._shrinkage(s), dtype=float)
        return phi_to_shrinkage(self.phi, tau)(s)

    # -- properties ----------------------------------------------------------
    @property
    def theta(self) -> float:
        """Shrinkage threshold, ``lam / sqrt2``."""
        return self.lam / SQRT2

    @property
    def label(self) -> str:
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
    ``Psi -> Psi'/2`` (numerically, :func:`psi_to_phi` with lam as the scale
    of its step), ``S -> (r/4 - S(r/sqrt2)/(2 sqrt2))/tau`` at tau = 1/4.
    ``lam`` is recorded but not applied: ``func`` is used as given.  The
    function itself stays the nonlinearity's form ``form``: a regulariser is
    shifted to ``Psi(0) = 0``; a diffusivity undefined at 0 (``tanh(r)/r``)
    gets ``g(0) = Phi'(0)`` there.
    """
    _check_form(form)
    lam = float(lam)
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
    at_zero = []

    def psi_shifted(r):
        r = np.asarray(r, dtype=float)
        if not at_zero:
            at_zero.append(float(np.asarray(psi(np.zeros(1)), dtype=float).reshape(-1)[0]))
        return np.asarray(psi(r), dtype=float) - at_zero[0]

    return psi_shifted
