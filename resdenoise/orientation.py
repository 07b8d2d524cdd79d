"""How SURE's Monte-Carlo probe lies on a signal's channels: made once, from the signal a
search was given, and used by every probe the search draws.

SURE's divergence term is a Monte-Carlo estimate with one seeded Gaussian probe ``b``
(:mod:`resdenoise.sure`).  Drawn alike for every signal, it made the automatic choice
depend on the signal's polarity and on the order of its channels, though every filter
is odd and treats each channel alike: ``-x`` was scored with the probe of ``x``, not
with ``-b``, so SURE differed by the probe's noise and near-ties flipped (a decaying
tone in 16 bits chose soft shrinkage, and negated, hard).  An :class:`Orientation` lays
the seeded draw on the channels so that a channel's probe follows its values:

* ``signs``: each channel's probe is its draw times the sign of the channel's sample
  of largest magnitude (the first of them; +1 for a channel of zeros), so the probe
  of ``-x`` is ``-b``.  The filters are odd (``u(-x) = -u(x)``, exactly: differences,
  even diffusivities and odd fluxes, sums of negated terms), so the probe run of
  ``-x`` is minus that of ``x``, SURE's terms are the same numbers, and the choice and
  the output (negated) are those of ``x``, bit for bit.
* ``columns``: each channel takes the draw's column of its rank among the channels,
  ranked by their values times their signs (the first sample where two differ
  decides; channels equal there in every sample are alike, and so are their SUREs).
  Swapping two channels swaps their probes, so SURE summed over two channels is the
  same sum and the choices and outputs are swapped, bit for bit.

A signal's own power of two (``2^k x``, exact) keeps both.  The orientation is made
from the signal as given, never from a copy a search makes of it (cleaned of
impulses, windows of it, about its mean in float32, a level's residual): the largest
sample of a copy may have the other sign.  :func:`oriented` sets it for a search (the
outermost one: a search inside another runs on a copy of the same signal), and
:func:`probe_orientation` gives it where a probe is drawn; a search on some of the
channels alone (passed through, planned apart) takes theirs
(:func:`oriented_channels`), which is the orientation of those channels as a signal of
their own.  NumPy only.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import threading
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Orientation",
    "oriented",
    "oriented_channels",
    "orienting",
    "probe_orientation",
    "samples_in_rows",
]


@dataclass(frozen=True, eq=False)
class Orientation:
    """Per channel, the sign its probe is drawn with and the draw's column it takes (see
    the module docstring); :meth:`of` a signal as given."""

    signs: np.ndarray
    columns: np.ndarray

    @classmethod
    def of(cls, f) -> Orientation:
        """The orientation of ``f`` (samples x channels, or one channel as ``(n,)``)."""
        f = np.asarray(f)
        f2 = f.reshape(f.shape[0], -1) if f.ndim else f.reshape(1, 1)
        c = f2.shape[1]
        if not f2.shape[0]:
            return cls(np.ones(c), np.arange(c))
        at = np.argmax(np.abs(f2), axis=0)  # (the first of equal magnitudes)
        signs = np.where(f2[at, np.arange(c)] < 0, -1.0, 1.0)
        order = sorted(range(c), key=functools.cmp_to_key(_comparer(f2, signs)))
        columns = np.empty(c, dtype=np.intp)
        columns[order] = np.arange(c)
        return cls(signs, columns)

    @property
    def channels(self) -> int:
        return int(self.signs.size)

    def of_channels(self, keep) -> Orientation:
        """The orientation of the channels ``keep`` (indices, in order) as a signal of
        their own: their signs, their ranks among themselves (those of :meth:`of`)."""
        keep = list(keep)
        ranks = np.argsort(np.argsort(self.columns[keep], kind="stable"), kind="stable")
        return Orientation(self.signs[keep], ranks.astype(np.intp))

    def tiled(self, k: int) -> Orientation:
        """The orientation of ``k`` windows of the signal side by side as channels
        (window ``j``'s channel ``i`` is channel ``j c + i``): each window's channels
        as the signal's, in that window's columns of the draw."""
        c = self.channels
        columns = np.tile(self.columns, k) + c * np.repeat(np.arange(k), c)
        return Orientation(np.tile(self.signs, k), columns)

    def lay(self, z: np.ndarray) -> np.ndarray:
        """The probe from the draw ``z`` (channels along its last axis): channel ``i``
        takes column ``columns[i]`` times ``signs[i]``.  ``z`` itself where that changes
        nothing (a signal whose peaks are positive, its channels in their ranks' order)."""
        if z.shape[-1] != self.channels:
            raise ValueError(
                f"a probe oriented for {self.channels} channel(s) drawn for {z.shape[-1]}"
            )
        if np.array_equal(self.columns, np.arange(self.channels)):
            if np.all(self.signs > 0):
                return z
            z *= self.signs  # exactly -z where negative
            return z
        out = z[..., self.columns]
        out *= self.signs
        return out


def _comparer(f2: np.ndarray, signs: np.ndarray):
    """``cmp(i, j)`` of channels ``i``, ``j`` of ``f2`` times their ``signs``: by the
    first sample where they differ (0 where they never do)."""

    def cmp(i: int, j: int) -> int:
        a, b = f2[:, i] * signs[i], f2[:, j] * signs[j]
        differ = a != b
        at = int(np.argmax(differ))
        if not differ[at]:
            return 0
        return -1 if a[at] < b[at] else 1

    return cmp


class _Given:
    """The orientation of the signal a search was given: made where a probe first needs
    it (a plan that searches nothing never makes it; a summary of a streamed file is
    never read), once (a helper thread's probe waits for it, then reads the same)."""

    def __init__(self, f=None, orientation: Orientation | None = None):
        self.f, self.orientation = f, orientation
        self.lock = threading.Lock()

    def get(self) -> Orientation:
        with self.lock:
            if self.orientation is None:
                self.orientation, self.f = Orientation.of(self.f), None
            return self.orientation


_GIVEN: contextvars.ContextVar[_Given | None] = contextvars.ContextVar(
    "resdenoise_probe_orientation", default=None
)


@contextlib.contextmanager
def oriented(f):
    """Every probe drawn inside (:func:`probe_orientation`) lies as on ``f``, the signal
    a search was given; inside a search already, that search's (this one runs on a copy
    of its signal).  The helper thread of :mod:`resdenoise.pairs` runs in a copy of the
    caller's context: it draws the same."""
    if _GIVEN.get() is not None:
        yield
        return
    token = _GIVEN.set(_Given(f))
    try:
        yield
    finally:
        _GIVEN.reset(token)


@contextlib.contextmanager
def oriented_channels(keep):
    """A search inside runs on the channels ``keep`` of the signal given, alone (those
    passed through left out, or each channel planned apart): their orientation
    (:meth:`Orientation.of_channels`), the one they have as a signal of their own.
    Outside any search: nothing set (that search's own signal is those channels)."""
    given = _GIVEN.get()
    if given is None:
        yield
        return
    token = _GIVEN.set(_Given(orientation=given.get().of_channels(keep)))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def orienting(fn=None, *, by: str | None = None):
    """``fn(f, ...)``, a search of the signal ``f`` (its first parameter, or the one
    named ``by``: ``@orienting(by="u")``), run :func:`oriented` by ``f``."""
    if fn is None:
        return functools.partial(orienting, by=by)
    names = list(inspect.signature(fn).parameters)
    name = names[0] if by is None else by
    at = names.index(name)

    @functools.wraps(fn)
    def search(*args, **kwargs):
        with oriented(args[at] if at < len(args) else kwargs[name]):
            return fn(*args, **kwargs)

    return search


def probe_orientation(f2: np.ndarray) -> Orientation:
    """The orientation of a probe drawn for ``f2`` (samples x channels): the signal's
    given to the search that runs (:func:`oriented`), else ``f2``'s own (drawn outside any
    search: ``f2`` is the signal given).  A search's copy with other channels than its
    signal's is a mistake, refused (windows side by side lay it :meth:`Orientation.tiled`)."""
    given = _GIVEN.get()
    orientation = Orientation.of(f2) if given is None else given.get()
    if orientation.channels != f2.shape[1]:
        raise ValueError(
            f"the search's probe is oriented for {orientation.channels} channel(s), "
            f"drawn for {f2.shape[1]}"
        )
    return orientation


def samples_in_rows(u, channel_axis=None, name: str = "u", say: str | None = None):
    """``u`` with its samples in rows, and the function that gives an output
    ``u``'s own layout back.

    A 2-D array whose rows are no more than its columns is ambiguous (is
    ``np.stack([left, right])`` 2 samples of N channels?): refused unless
    ``channel_axis`` says where the channels are (0: rows, 1 or -1: columns).
    What is not a 1-D or 2-D array is left to :func:`as_signal` to refuse.  The one rule
    of the library's entry points (:mod:`resdenoise.api`'s one-call functions, the learn
    library's: :func:`resdenoise.learn.make_objective`, ``run_network_stopped`` ...);
    ``name`` names ``u`` in the refusal, ``say`` (default: give ``channel_axis``) what to do.
    """
    from .errors import ParameterError, counted

    same = lambda out: out  # noqa: E731
    if channel_axis is not None and (
        isinstance(channel_axis, bool)
        or not isinstance(channel_axis, (int, np.integer))
        or channel_axis not in (0, 1, -1, -2)
    ):
        raise ParameterError(
            f"channel_axis must be 0 (or -2), 1 (or -1) or None, not {channel_axis!r}"
        )
    try:
        a = np.asarray(u)
    except (TypeError, ValueError):
        return u, same
    if a.ndim == 1 and channel_axis is not None:
        raise ParameterError(
            f"{name} has shape {a.shape}, one channel: drop channel_axis",
            parameters=["channel_axis"],
        )
    if a.ndim != 2 or channel_axis in (1, -1) or (a.size == 0 and channel_axis is None):
        return a, same  # empty: as_signal says so (channels in rows: once they are columns)
    if channel_axis is None:
        n, c = a.shape
        if c > 1 and n <= c:
            question = (  # a square one: the same words either way
                f"which axis holds the channels is ambiguous ({n} samples of {c} channels "
                "either way)."
                if n == c
                else f"{counted(n, 'sample')} of {c} channels, or {c} samples of "
                f"{counted(n, 'channel')}?"
            )
            default = (
                "Say which: channel_axis=0 for channels in rows (as np.stack([left, right]) "
                "makes them), channel_axis=1 for channels in columns"
            )
            raise ParameterError(
                f"{name} has shape {a.shape}: {question} {say or default}",
                parameters=[("channel_axis", 0), ("channel_axis", 1)],
            )
        return a, same
    return np.ascontiguousarray(a.T), lambda out: np.ascontiguousarray(out.T)
