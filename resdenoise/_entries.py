"""The registry's rows: every family of the dictionary as an :class:`Entry` in its four forms.

:data:`NONLINEARITIES` (the paper's Table 3 and the stable activations beside it) and
:data:`NON_ODD_ACTIVATIONS` (deep-learning activations, not odd): the closed
forms of :mod:`resdenoise._families` with their flux kernels, bounds and formulas.  Their
public home is :mod:`resdenoise.nonlinearities`, which looks names up in them, binds lambda
and re-exports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import numpy as np

from ._families import (
    GELU_LIPSCHITZ,
    LEAKY_SLOPE,
    SILU_LIPSCHITZ,
    arctan_g,
    arctan_phi,
    arctan_psi,
    arctan_s,
    cha_g,
    cha_phi,
    cha_psi,
    cha_s,
    gar_g,
    gar_phi,
    gar_psi,
    gar_s,
    gelu_g,
    gelu_phi,
    gelu_psi,
    hard_g,
    hard_phi,
    hard_psi,
    hard_s,
    leaky_g,
    leaky_phi,
    leaky_psi,
    lin_g,
    lin_phi,
    lin_psi,
    lin_s,
    pm_g,
    pm_phi,
    pm_psi,
    pm_s,
    relu_g,
    relu_phi,
    relu_psi,
    sigmoid_g,
    sigmoid_phi,
    sigmoid_psi,
    silu_g,
    silu_phi,
    soft_g,
    soft_phi,
    soft_psi,
    soft_s,
    softsign_g,
    softsign_phi,
    softsign_psi,
    softsign_s,
    tanh_g,
    tanh_phi,
    tanh_psi,
    tanh_s,
)
from ._flux_kernels import (
    FluxKernel,
    arctan_phi_into,
    cha_phi_into,
    gar_phi_into,
    hard_phi_into,
    lin_phi_into,
    pm_phi_into,
    soft_phi_into,
    softsign_phi_into,
    tanh_phi_into,
)

#: The four forms, keyed by the name used in the CLI flags.
FORMS: Final = ("diffusivity", "regulariser", "shrinkage", "activation")

Func = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Entry:
    """One row of the dictionary: a filter described in all four forms.

    ``g``, ``psi`` and ``shrinkage`` may be None where no closed form is
    registered; :class:`~resdenoise.nonlinearities.Nonlinearity` then derives them from ``phi``.
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

    def __hash__(self) -> int:
        """By key (the generated hash would hash the dicts ``formulas`` and ``aliases``
        and fail): equal entries have one key, so a bound Nonlinearity hashes too."""
        return hash(self.key)

    @property
    def klass(self) -> str:
        """'convex' (monotone Phi, convex Psi) or 'nonconvex' (nonmonotone Phi)."""
        return "convex" if self.convex else "nonconvex"


#: Read-only (a mapping proxy): the names tables are built from it at import, so an entry
#: popped or added later would leave them disagreeing (audit19a A19a-7).
NONLINEARITIES: Final[Mapping[str, Entry]] = MappingProxyType(
    {
        e.key: e
        for e in (
            Entry(
                "linear",
                "linear (Iijima)",
                True,
                lin_phi,
                lin_g,
                lin_psi,
                lin_s,
                phi_into=lin_phi_into,
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
                cha_phi,
                cha_g,
                cha_psi,
                cha_s,
                phi_into=cha_phi_into,
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
                soft_phi,
                soft_g,
                soft_psi,
                soft_s,
                phi_into=soft_phi_into,
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
                pm_phi,
                pm_g,
                pm_psi,
                pm_s,
                phi_into=pm_phi_into,
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
                gar_phi,
                gar_g,
                gar_psi,
                gar_s,
                phi_into=gar_phi_into,
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
                hard_phi,
                hard_g,
                hard_psi,
                hard_s,
                phi_into=hard_phi_into,
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
                tanh_phi,
                tanh_g,
                tanh_psi,
                tanh_s,
                phi_into=tanh_phi_into,
                g_min=0.0,
                g_max=1.0,
                lipschitz=1.0,
                formulas={
                    "diffusivity": "lam tanh(r/lam)/r",
                    "regulariser": "2 lam^2 (|x| + ln(1 + exp(-2|x|)) - ln 2), x = r/lam",  # ln cosh x
                    "shrinkage": "s - theta tanh(s/theta)",
                    "activation": "lam tanh(r/lam)",
                },
                paper=False,
            ),
            Entry(
                "softsign",
                "softsign",
                True,
                softsign_phi,
                softsign_g,
                softsign_psi,
                softsign_s,
                phi_into=softsign_phi_into,
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
                arctan_phi,
                arctan_g,
                arctan_psi,
                arctan_s,
                phi_into=arctan_phi_into,
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
)

#: The six families of the paper's Table 3, in its order.
PAPER_FAMILIES: Final = tuple(k for k, e in NONLINEARITIES.items() if e.paper)

#: The shrinkage of an activation that is not odd: translated from its Phi, never closed.
TRANSLATED_SHRINKAGE: Final = "s + Phi(-sqrt2 s)/sqrt2 (translated)"


def _not_odd(key, label, convex, phi, g, psi, formulas, aliases=None, **bounds) -> Entry:
    """A row of :data:`NON_ODD_ACTIVATIONS`: an activation only (``odd=False``, not the
    paper's), no closed shrinkage (its formula :data:`TRANSLATED_SHRINKAGE`);
    ``formulas`` the other three forms', ``bounds`` its ``g_min``, ``g_max`` and
    ``lipschitz``."""
    formulas = {form: formulas.get(form, TRANSLATED_SHRINKAGE) for form in FORMS}
    return Entry(
        key, label, convex, phi, g, psi, None, **bounds, formulas=formulas,
        aliases=aliases or {}, odd=False, paper=False,
    )  # fmt: skip


#: Deep-learning activations that are not odd (outside the paper's Theorem 2 as
#: stated): the same kind of :class:`Entry`, accepted as activation names only.
#: ReLU, leaky ReLU, GELU and SiLU have 0 <= g <= 1 and are stable all the same
#: (the paper, section 3: g's range decides, not oddness); the sigmoid, with
#: Phi(0) != 0 (g unbounded at 0), is refused by
#: :func:`resdenoise.stability.check_tau`, and its failure explained.  Not odd, and
#: not in every form, is what sets them apart (their name says so; they are no less
#: stable).  Shrinkage forms are translated (``S(s) = s + Phi(-sqrt2 s)/sqrt2``: for ReLU
#: ``max(s, 0)``, the Haar step its block is), never closed.
NON_ODD_ACTIVATIONS: Final[Mapping[str, Entry]] = MappingProxyType(
    {
        e.key: e
        for e in (
            _not_odd(
                "relu",
                "rectified linear unit",
                True,
                relu_phi,
                relu_g,
                relu_psi,
                g_min=0.0,
                g_max=1.0,
                lipschitz=1.0,
                formulas={
                    "diffusivity": "1 if r > 0, 1/2 at 0, else 0",
                    "regulariser": "max(r, 0)^2",
                    "activation": "max(r, 0)",
                },
            ),
            _not_odd(
                "leaky-relu",
                f"leaky ReLU (slope {LEAKY_SLOPE:g})",
                True,
                leaky_phi,
                leaky_g,
                leaky_psi,
                g_min=LEAKY_SLOPE,
                g_max=1.0,
                lipschitz=1.0,
                formulas={
                    "diffusivity": f"1 if r > 0, {0.5 + LEAKY_SLOPE / 2:g} at 0, else {LEAKY_SLOPE:g}",
                    "regulariser": f"r^2 if r >= 0 else {LEAKY_SLOPE:g} r^2",
                    "activation": f"r if r >= 0 else {LEAKY_SLOPE:g} r",
                },
                aliases={"activation": ("leakyrelu",)},
            ),
            _not_odd(
                "gelu",
                "Gaussian error linear unit",
                False,
                gelu_phi,
                gelu_g,
                gelu_psi,
                g_min=0.0,
                g_max=1.0,
                lipschitz=GELU_LIPSCHITZ,
                formulas={
                    "diffusivity": "Cdf(r/lam), Cdf(x) = (1 + erf(x/sqrt2))/2",
                    "regulariser": "lam^2 ((x^2 - 1) Cdf(x) + x exp(-x^2/2)/sqrt(2 pi) + 1/2), x = r/lam",
                    "activation": "r Cdf(r/lam)",
                },
            ),
            _not_odd(
                "silu",
                "sigmoid linear unit (swish)",
                False,
                silu_phi,
                silu_g,
                None,
                g_min=0.0,
                g_max=1.0,
                lipschitz=SILU_LIPSCHITZ,
                formulas={
                    "diffusivity": "1/(1 + exp(-r/lam))",
                    "regulariser": "2 int_0^r Phi (translated)",
                    "activation": "r/(1 + exp(-r/lam))",
                },
                aliases={"activation": ("swish",)},
            ),
            _not_odd(
                "sigmoid",
                "logistic sigmoid",
                True,
                sigmoid_phi,
                sigmoid_g,
                sigmoid_psi,
                g_min=-math.inf,
                g_max=math.inf,
                lipschitz=0.25,
                formulas={
                    "diffusivity": "lam/(r (1 + exp(-r/lam)))",
                    "regulariser": "2 lam^2 (max(x, 0) + ln(1 + exp(-|x|)) - ln 2), x = r/lam",
                    "activation": "lam/(1 + exp(-r/lam))",
                },
                aliases={"activation": ("logistic",)},
            ),
        )
    }
)
