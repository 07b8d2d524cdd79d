"""A learned network's parameters and its loss with the exact gradient (for :mod:`resdenoise.learn`).

The parametrisation (:class:`Architecture`, :class:`Group`: ``c = g_max sigma(a)
softmax(theta)``, lambda ``e^l`` times the automatic one), the network run group by group with
the one engine, and :func:`loss_and_gradient`: the forward pass from checkpoints and the
backward pass through the blocks (see :mod:`resdenoise.learn`, which builds the objectives,
the warm start and the optimiser on these and re-exports them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._families import bump_basis, bumps_slope, bumps_sum
from ._flux_kernels import bump_rows
from .engine import (
    backward_difference,
    forward_difference,
    run_blocks_unchecked,
    run_strided_unchecked,
)
from .errors import ParameterError, check_count, check_positive
from .filters import auto_lambda
from .nonlinearities import Nonlinearity, get_parametrised

#: |a| beyond this counts as this: sigma(-30) = 9e-14 keeps sum c > 0 for every vector.
AMOUNT_CLIP = 30.0


@dataclass(frozen=True)
class Architecture:
    """The shape of a learned network.

    Attributes
    ----------
    groups, blocks : int
        Block groups, and blocks per group (each group one activation).
    bumps : int
        Coefficients per group (K: K - 1 Gaussians and the tail).
    g_max : float
        The bound of every g; tau is the sign-stable ``h^2/(4 g_max)``.
    h : float
        Grid size.
    learn_lambda : bool
        Whether each group's lambda scale is learned too (else lambda is the
        automatic one).
    scales : int
        Groups at strides 2^(scales - 1) down to 1 (differences ``u_{i+s} - u_i``,
        the network file's ``scale``), coarse first; at most ``groups``.
    """

    groups: int = 4
    blocks: int = 8
    bumps: int = 8
    g_max: float = 1.0
    h: float = 1.0
    learn_lambda: bool = True
    scales: int = 1

    def __post_init__(self):
        limits = (("groups", 1, 1000), ("blocks", 1, 100_000), ("bumps", 2, 32), ("scales", 1, 20))
        for name, low, high in limits:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ParameterError(
                    f"{name} must be an integer from {low} to {high}, got {value!r}",
                    parameters=[name],
                )
        for name in ("g_max", "h"):
            check_positive(name, getattr(self, name))
        if self.scales > self.groups:
            raise ParameterError(
                f"scales ({self.scales}) must not exceed groups ({self.groups}): one group a scale",
                parameters=["scales"],
            )

    @property
    def per_group(self) -> int:
        """Parameters per group: the amount a, the shape theta (K), log lambda-scale."""
        return self.bumps + 2

    @property
    def size(self) -> int:
        return self.groups * self.per_group

    def stride(self, group: int) -> int:
        """The stride of a group's differences: coarse to fine, the groups split
        into ``scales`` runs of strides 2^(scales - 1), ..., 2, 1."""
        return 2 ** (self.scales - 1 - group * self.scales // self.groups)

    @property
    def tau(self) -> float:
        """The sign-stable step of every group, ``h^2/(4 g_max)``."""
        return self.h * self.h / (4.0 * self.g_max)


@dataclass(frozen=True)
class Group:
    """One learned block group: the bumps coefficients, lambda as a multiple of
    the automatic one, step and repeat count."""

    coefficients: tuple[float, ...]
    lam_scale: float
    tau: float
    repeat: int
    scale: int = 1

    def nonlinearity(self, auto: float) -> Nonlinearity:
        """The activation for a signal whose automatic lambda is ``auto``
        (as :func:`resdenoise.network.build_network` binds it)."""
        return get_parametrised("bumps", self.coefficients, "activation", auto * self.lam_scale)

    def as_block(self, index: int) -> dict:
        """The ``[[block]]`` table of a network file (:func:`resdenoise.network.format_network`)."""
        return {
            "activation": "bumps",
            "coefficients": list(self.coefficients),
            "lambda-scale": self.lam_scale,
            "tau": self.tau,
            "repeat": self.repeat,
            **({"scale": self.scale} if self.scale > 1 else {}),
            "label": f"learned group {index}",
        }


def _unpack(params: np.ndarray, arch: Architecture):
    """Per group ``(c, scale, s, m)``: coefficients, lambda scale, sigma(a), softmax(theta)."""
    out = []
    for p in np.asarray(params, dtype=float).reshape(arch.groups, arch.per_group):
        # a and l clipped (only beyond the optimiser's bounds): sum c > 0, 0 < lambda < inf
        a, theta, ell = min(max(p[0], -AMOUNT_CLIP), AMOUNT_CLIP), p[1:-1], p[-1]
        s = 0.5 + 0.5 * math.tanh(0.5 * a)  # the logistic sigma(a), overflow-free
        e = np.exp(theta - theta.max())
        m = e / e.sum()
        out.append((arch.g_max * s * m, math.exp(min(max(ell, -300.0), 300.0)), s, m))
    return out


def network_groups(params: np.ndarray, arch: Architecture) -> tuple[Group, ...]:
    """The groups of the network that ``params`` describe."""
    return tuple(
        Group(tuple(float(x) for x in c), float(lam), arch.tau, arch.blocks, arch.stride(i))
        for i, (c, lam, _, _) in enumerate(_unpack(params, arch))
    )


def run_network(
    u: np.ndarray, groups: Sequence[Group], h: float = 1.0, *, channel_axis: int | None = None
) -> np.ndarray:
    """Run the groups one after another with the one engine, lambda from u
    (as ``resnet --network`` runs the network file).  ``channel_axis``: as
    :func:`resdenoise.learn.make_objective`'s (a 2-D u of no more rows than columns
    refused without it; the output in u's layout)."""
    from .orientation import samples_in_rows

    given, back = samples_in_rows(u, channel_axis)
    return back(run_network_at(given, groups, auto_lambda(given, h)[0], h))


def initial_parameters(arch: Architecture, seed: int = 0, amount: float = 0.0) -> np.ndarray:
    """Start: the amount a (0: half of g_max), a random shape theta ~ N(0, 1/4)
    from ``seed``, and the automatic lambda (scale 1) in every group."""
    rng = np.random.default_rng(check_count("seed", seed, minimum=0))  # fit's seed
    p = np.zeros((arch.groups, arch.per_group))
    p[:, 0] = amount
    p[:, 1:-1] = 0.5 * rng.standard_normal((arch.groups, arch.bumps))
    return p.ravel()


@dataclass(frozen=True)
class Objective:
    """What is minimised: the network runs on each of ``inputs`` (channels
    stacked) with lambda scaled from ``lambdas`` (the automatic lambda of the
    signal each input comes from, at grid size ``h``); ``loss(outputs)``
    returns the value and its gradient in each output."""

    name: str
    inputs: tuple[np.ndarray, ...]
    loss: Callable[[list[np.ndarray]], tuple[float, list[np.ndarray]]]
    lambdas: tuple[float, ...]
    h: float = 1.0
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# Exact gradients: forward with the engine, backward through the blocks
# --------------------------------------------------------------------------


def _segments(repeat: int, every: int) -> list[int]:
    return [min(every, repeat - start) for start in range(0, repeat, every)]


def _forward(x: np.ndarray, groups, auto: float, h: float, every: int):
    """The output and the checkpoints: each segment's first state, per group."""
    checkpoints = []
    u = x
    for group in groups:
        nl, saved = group.nonlinearity(auto), []
        for k in _segments(group.repeat, every):
            saved.append(u)
            u = _run(u, group, nl, k, h)
        checkpoints.append((nl, saved))
    return u, checkpoints


def _block_adjoint(u, v, c, lam, tau, h):
    """Back through one block at state u: ``(v_before, dL/dc, dL/dlam)``."""
    d = forward_difference(u, h)
    x = np.abs(d) / lam
    basis, slope = bump_basis(x, c.size, derivative=True, rows=bump_rows())  # NumPy's, bit for bit
    w = -tau * forward_difference(v, h)  # dL/dPhi(d): -tau D+ v
    dw = d * w
    grad_c = np.tensordot(basis, dw, axes=d.ndim)  # (a sum over the samples)
    # per sample, the K terms in the family's fixed order (bumps_sum), as its flux
    grad_lam = float(np.sum(dw * bumps_sum(c, slope) * (-x / lam)))
    phi_prime = bumps_slope(c, x, basis, slope)
    return v - backward_difference(phi_prime * w, h), grad_c, grad_lam


def _strided_adjoint(u, v, c, lam, group: Group, h: float):
    """:func:`_block_adjoint` of a block of stride s: on each subsequence ``[r::s]``."""
    s = group.scale
    if s == 1:
        return _block_adjoint(u, v, c, lam, group.tau, h)
    out, grad_c, grad_lam = np.empty_like(v), np.zeros(c.size), 0.0
    for r in range(min(s, u.shape[0])):
        out[r::s], gc, gl = _block_adjoint(u[r::s], v[r::s], c, lam, group.tau, h)
        grad_c += gc
        grad_lam += gl
    return out, grad_c, grad_lam


def _backward(v: np.ndarray, groups, checkpoints, h: float, every: int):
    """Back through all groups: per group ``(dL/dc, dL/dlam)``."""
    grads = []
    for group, (nl, saved) in zip(reversed(groups), reversed(checkpoints), strict=True):
        c, lam = np.asarray(group.coefficients), nl.lam
        grad_c, grad_lam = np.zeros(c.size), 0.0
        for start, k in zip(reversed(saved), reversed(_segments(group.repeat, every)), strict=True):
            states = [start]
            for _ in range(k - 1):
                states.append(_run(states[-1], group, nl, 1, h))
            for u in reversed(states):
                v, gc, gl = _strided_adjoint(u, v, c, lam, group, h)
                grad_c += gc
                grad_lam += gl
        grads.append((grad_c, grad_lam * lam))  # d lam / d log(scale) = lam
    return grads[::-1]


def loss_value(params: np.ndarray, arch: Architecture, objective: Objective, depths=None) -> float:
    """The objective at ``params`` (forward passes only); ``depths`` as for
    :func:`loss_and_gradient`."""
    plans = _schedules(network_groups(params, arch), len(objective.inputs), depths)
    outputs = [
        run_network_at(x, [g for _, g in plan], auto, arch.h)
        for x, auto, plan in zip(objective.inputs, objective.lambdas, plans, strict=True)
    ]
    return objective.loss(outputs)[0]


def _schedules(groups, inputs: int, depths) -> list[list[tuple[int, Group]]]:
    """Per input ``(index of the group whose parameters it uses, group)``: all groups,
    or with ``depths`` each input's first ``depths[i]`` blocks (the groups cut, then
    the last one repeated on, as :func:`resdenoise.network_stop.cut_network`)."""
    if depths is None:
        return [list(enumerate(groups))] * inputs
    if len(depths) != inputs:
        raise ParameterError(f"give one depth per training signal ({inputs}), got {len(depths)}")
    out = []
    for depth in depths:
        plan, left = [], int(depth)
        for i, g in enumerate(groups):
            if left > 0:
                plan.append((i, replace(g, repeat=min(g.repeat, left))))
                left -= plan[-1][1].repeat
        if left > 0:
            plan.append((len(groups) - 1, replace(groups[-1], repeat=left)))
        out.append(plan)
    return out


def run_network_at(u: np.ndarray, groups: Sequence[Group], auto: float, h: float = 1.0):
    """Run the groups on u with the automatic lambda ``auto`` (of the signal u comes from)."""
    for group in groups:
        u = _run(u, group, group.nonlinearity(auto), group.repeat, h)
    return u


def _run(u, group: Group, nl, blocks: int, h: float) -> np.ndarray:
    """``blocks`` blocks of the group, as ``resnet --network`` runs them."""
    if group.scale > 1:  # the s subsequences as the engine's channels
        return run_strided_unchecked(u, nl, group.tau, blocks, group.scale, h)
    return run_blocks_unchecked(u, nl, group.tau, blocks, h)


def loss_and_gradient(
    params: np.ndarray, arch: Architecture, objective: Objective, depths=None
) -> tuple[float, np.ndarray]:
    """The objective at ``params`` and its exact gradient; with ``depths`` each
    training input runs its own number of blocks (the groups cut, or the last one
    repeated on: the depth a SURE stop chose for it)."""
    unpacked = _unpack(params, arch)
    groups = network_groups(params, arch)
    every = max(1, math.isqrt(arch.groups * arch.blocks))
    if objective.h != arch.h:
        raise ParameterError(f"the objective's h = {objective.h!r} is not the network's {arch.h!r}")
    plans = _schedules(groups, len(objective.inputs), depths)
    runs = [
        _forward(x, [g for _, g in plan], auto, arch.h, every)
        for x, auto, plan in zip(objective.inputs, objective.lambdas, plans, strict=True)
    ]
    value, seeds = objective.loss([u for u, _ in runs])
    grad = np.zeros((arch.groups, arch.per_group))
    for (_, checkpoints), seed, plan in zip(runs, seeds, plans, strict=True):
        per_group = _backward(seed, [g for _, g in plan], checkpoints, arch.h, every)
        for (i, _), (gc, gl) in zip(plan, per_group, strict=True):
            c, _, s, m = unpacked[i]
            grad[i, 0] += float(gc @ c) * (1.0 - s)  # c = g_max s(a) m(theta)
            grad[i, 1:-1] += c * (gc - float(gc @ m))
            grad[i, -1] += gl if arch.learn_lambda else 0.0
    return value, grad.ravel()
