"""Channels passed through unchanged: a plan run on some channels of a signal, the
others copied as they are.

The automatic modes cannot trust the noise level of a channel whose estimate is over a
quarter of its variance, or not identified (:func:`resdenoise.automatic.do_no_harm`).
Where some channels but not all are such, those are passed through, bit for bit the
input, and the search chooses for the others alone, exactly as for a signal of those
channels only (:func:`resdenoise.automatic.pass_untrusted`).  :func:`pass_through`
makes the plan that does it: a :class:`resdenoise.filters.Plan` whose blocks, halo,
verdict, nonlinearities, pre-stage, scales and wavelet reference are its inner plan's,
on the kept channels.  Every path that runs a plan runs it as it is (a file whole or in
chunks with halos, :func:`resdenoise.filters.run_plan`, :mod:`resdenoise.stream`,
:mod:`resdenoise.dask`), and a report measures every channel (one passed through:
output = input) and lists those passed through (``passed_through``,
:func:`resdenoise.report.build_report`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .filters import Plan

__all__ = ["ChannelsPlan", "ChannelStage", "on_channels", "pass_through", "select_channels"]


def select_channels(u, keep) -> np.ndarray:
    """Channels ``keep`` of ``u`` (shape ``(n, channels)``) as a signal of their own, as
    a file of those columns reads: shape ``(n,)`` for one, ``(n, k)`` for more (a copy,
    C-contiguous)."""
    u = np.asarray(u)
    keep = list(keep)
    if len(keep) == 1:
        return np.ascontiguousarray(u[:, keep[0]])
    return np.ascontiguousarray(u[:, keep])


def on_channels(fn: Callable[[np.ndarray], np.ndarray], u, keep) -> np.ndarray:
    """``u`` with channels ``keep`` replaced by ``fn`` of them (:func:`select_channels`);
    the others as they are, bit for bit (in the wider of the two dtypes: float32 values
    widen exactly)."""
    u = np.asarray(u)
    y = np.asarray(fn(select_channels(u, keep)))
    out = np.array(u, dtype=np.result_type(u.dtype, y.dtype))
    out[:, list(keep)] = y.reshape(u.shape[0], -1)
    return out


@dataclass(frozen=True)
class ChannelStage:
    """A pre-stage (:class:`resdenoise.impulses.ImpulseStage`) of channels ``keep``."""

    stage: object
    keep: tuple[int, ...]

    @property
    def active(self) -> bool:
        return bool(self.stage.active)

    def apply(self, u: np.ndarray) -> np.ndarray:
        return on_channels(self.stage.apply, u, self.keep)

    def as_dict(self) -> dict:
        return self.stage.as_dict()


@dataclass(frozen=True)
class ChannelsPlan(Plan):
    """``inner`` on channels ``keep`` of a signal of ``count`` channels; the others
    (:attr:`passed`) pass through unchanged.  Build it with :func:`pass_through`."""

    inner: Plan | None = None
    keep: tuple[int, ...] = ()
    count: int = 0

    @property
    def lambdas_searched(self) -> bool:
        """The inner plan's (:attr:`Plan.lambdas_searched`)."""
        return bool(getattr(self.inner, "lambdas_searched", False))

    @property
    def passed(self) -> tuple[int, ...]:
        """The channels passed through, in order."""
        return tuple(c for c in range(self.count) if c not in self.keep)

    @property
    def halo(self) -> int:
        return self.inner.halo

    @property
    def stopping_time(self) -> float:
        return self.inner.stopping_time

    def verdict(self):
        return self.inner.verdict()

    def nonlinearities(self):
        return self.inner.nonlinearities()

    def run(self, u: np.ndarray, callback=None, threads: int | None = None) -> np.ndarray:
        """The inner plan's run of the kept channels (its pre-stage, its computed output
        where it has one for them); the others copied (its own computed output, where it
        has one for ``u``: :meth:`~resdenoise.filters.Plan.computed_run`)."""
        done = self.computed_run(u, callback)
        if done is not None:
            return done
        return on_channels(lambda x: self.inner.run(x, callback, threads=threads), u, self.keep)

    @property
    def filtering(self) -> Plan:
        return self.inner

    def map_filter(self, fn) -> ChannelsPlan:
        return pass_through(fn(self.inner), self.keep, self.count)

    @property
    def scale_checks(self) -> Callable[[np.ndarray], list] | None:
        """The inner plan's checks per scale, of the kept channels (None where it has
        none: a plan of one scale)."""
        checks = self.inner.scale_checks
        if checks is None:
            return None
        return lambda f: checks(select_channels(f, self.keep))

    def scaled(self, shift: int) -> ChannelsPlan:
        """:meth:`Plan.scaled`: the inner plan's, its channels passed through as before."""
        return self.map_filter(lambda plan: plan.scaled(shift))

    def wavelet_reference(self, f: np.ndarray) -> np.ndarray:
        """The inner plan's wavelet reference of the kept channels; the others as they are."""
        return on_channels(self.inner.wavelet_reference, f, self.keep)


def pass_through(inner: Plan, keep, count: int) -> ChannelsPlan:
    """The plan that runs ``inner`` on channels ``keep`` (indices, in order) of a signal
    of ``count`` channels and passes the others through; its fields (command,
    nonlinearity, tau, h, blocks, parameters, pre-stage) are the inner plan's."""
    keep = tuple(int(c) for c in keep)
    if not keep or len(set(keep)) != len(keep) or not all(0 <= c < count for c in keep):
        raise ValueError(f"channels {keep} of {count}: each at most once, at least one")
    stage = None if inner.prestage is None else ChannelStage(inner.prestage, keep)
    return ChannelsPlan(
        inner.command,
        inner.form,
        inner.nl,
        inner.tau,
        inner.h,
        inner.steps,
        dict(inner.parameters),
        inner.alpha,
        stage,
        inner=inner,
        keep=keep,
        count=int(count),
    )
