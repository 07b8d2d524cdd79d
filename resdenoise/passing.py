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

__all__ = [
    "ChannelsPlan",
    "ChannelStage",
    "SplitPlan",
    "on_channels",
    "pass_through",
    "select_channels",
    "split_plan",
]


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


@dataclass(frozen=True)
class SplitPlan(Plan):
    """Each channel its own plan (:mod:`resdenoise.split`): ``parts[c]`` runs on channel
    ``c`` alone, as on a signal of that channel only (shape ``(n,)``), bit for bit; build
    it with :func:`split_plan`.  Its own fields (command, nonlinearity, tau, h) are the
    first channel's, ``steps`` the channels' blocks added (a progress bar counts them all),
    :attr:`halo` the largest; the report measures each channel against its own plan
    (:func:`resdenoise.filters.analyse_run`, :meth:`split`)."""

    parts: tuple = ()
    #: The channels passed through unchanged (their level not trusted, as
    #: :func:`resdenoise.automatic.pass_untrusted` passes them): their parts run no block.
    passed_channels: tuple = ()

    @property
    def count(self) -> int:
        return len(self.parts)

    def split(self, f) -> list:
        """``(plan, channel)`` of each channel of ``f``, the channel as its own signal."""
        return [(part, select_channels(f, [c])) for c, part in enumerate(self.parts)]

    def analysed(self, analyse, f, u, check_wavelet: bool = False, labels=None) -> dict:
        """The run's report (:func:`resdenoise.report.channels_report`): each channel's
        input ``f`` and output ``u`` measured by ``analyse``
        (:func:`resdenoise.filters.analyse_run`) against that channel's plan, its
        stability and guarantees its own."""
        from .report import channels_report
        from .stability import channel_labels

        names = channel_labels(self.count, labels)
        parts = zip(self.split(f), self.split(u), names, strict=True)
        runs = [analyse(p, x, y, None, check_wavelet, labels=[c]) for (p, x), (_, y), c in parts]
        return channels_report(runs, names, [names[c] for c in self.passed])

    @property
    def lambdas_searched(self) -> bool:
        return any(getattr(p, "lambdas_searched", False) for p in self.parts)

    @property
    def passed(self) -> tuple[int, ...]:
        """The channels passed through unchanged."""
        return self.passed_channels

    @property
    def halo(self) -> int:
        return max(p.halo for p in self.parts)

    @property
    def stopping_time(self) -> float:
        return max(p.stopping_time for p in self.parts)

    def verdict(self):
        """The verdict of the least stable channel's plan
        (:func:`resdenoise.stability.least_stable`): the run is as stable as it."""
        from .stability import least_stable

        verdicts = [p.verdict() for p in self.parts]
        return verdicts[least_stable(verdicts)]

    def nonlinearities(self):
        return tuple(nl for p in self.parts for nl in p.nonlinearities())

    def flux_groups(self):
        return ()  # each channel's plan probed on its channel (resdenoise.flux_checks.probe_flux)

    def run(self, u: np.ndarray, callback=None, threads: int | None = None) -> np.ndarray:
        """Each channel's plan on that channel alone (the callback counts the blocks of
        every channel, in channel order)."""
        done = self.computed_run(u, callback)
        if done is not None:
            return done
        u = np.asarray(u)
        outs, start = [], 0
        for part, x in self.split(u):
            told = None
            if callback is not None:
                told = (lambda s: lambda k, v: callback(s + k, v))(start)
            outs.append(np.asarray(part.run(x, told, threads=threads)))
            start += part.steps
        out = np.empty(u.shape, dtype=np.result_type(u.dtype, *(o.dtype for o in outs)))
        for c, y in enumerate(outs):
            out[:, c] = y.reshape(u.shape[0])
        return out

    def map_filter(self, fn) -> SplitPlan:
        return split_plan([p.map_filter(fn) for p in self.parts], self.passed)

    def scaled(self, shift: int) -> SplitPlan:
        return split_plan([p.scaled(shift) for p in self.parts], self.passed)

    def wavelet_reference(self, f: np.ndarray) -> np.ndarray:
        f = np.asarray(f)
        out = np.array(f, dtype=float)
        for c, (part, x) in enumerate(self.split(f)):
            out[:, c] = np.asarray(part.wavelet_reference(x)).reshape(f.shape[0])
        return out


def split_plan(parts, passed=()) -> SplitPlan:
    """The plan that runs ``parts[c]`` on channel ``c`` of a signal of ``len(parts)``
    channels, each as a signal of its own (at least two); ``passed``: the channels passed
    through unchanged (their ``parts[c]`` None: a plan of no block, as the first other's)."""
    parts, passed = list(parts), tuple(int(c) for c in passed)
    if len(parts) < 2 or len(passed) >= len(parts):
        raise ValueError(f"a plan per channel needs two channels or more, not {len(parts)}")
    first = next(p for c, p in enumerate(parts) if c not in passed)
    unchanged = Plan(first.command, first.form, first.nl, first.tau, first.h, 0)
    parts = tuple(unchanged if c in passed else p for c, p in enumerate(parts))
    return SplitPlan(
        first.command,
        first.form,
        first.nl,
        first.tau,
        first.h,
        sum(int(p.steps) for p in parts),
        {},
        first.alpha,
        None,
        parts=parts,
        passed_channels=passed,
    )
