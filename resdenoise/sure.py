"""Stein's unbiased risk estimate of a diffusion run, from the run and its probed copy.

The primitives the automatic searches share (:mod:`resdenoise.autoparams`,
:mod:`resdenoise.automatic`, :mod:`resdenoise.multilevel`,
:mod:`resdenoise.network_stop`, :mod:`resdenoise.learn`): the seeded
Monte-Carlo probe of the divergence, laid on the channels as on the signal a search
was given (:mod:`resdenoise.orientation`), and the signal stacked with its probed copy
(:func:`sure_probe`, :func:`sure_stack`); SURE summed in contiguous chunks,
whose spread gives its batch-means standard error (:func:`chunk_bounds`,
:func:`sure_parts`, in one compiled pass where the kernels take the arrays);
and a gain test's sums at any noise level from one run (:func:`gain_sums`,
:func:`gain_from_sums`); the divergence term from a probe run on windows of a
long signal only (:class:`ProbeWindows`), with the residual term per batch of
the whole run (:func:`batch_residuals`).  NumPy only.

``SURE(u) = |f - u|^2/N - sigma^2 + 2 sigma^2 div(u)/N`` with
``div ~ b . (u(f + eps b) - u(f)) / eps`` (Ramani, Blu and Unser 2008); see
:mod:`resdenoise.autoparams` for the rule and its step ``eps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .engine import StackRun, _kernels, run_blocks_unchecked
from .orientation import probe_orientation

__all__ = [
    "BatchResiduals",
    "GAIN_BATCHES",
    "PIECE",
    "PROBE_EPS",
    "PROBE_SEED",
    "PROBE_SHARE",
    "SE_CHUNKS",
    "PastReach",
    "ProbeWindows",
    "WholeProbe",
    "float32_shift",
    "ScoredWindows",
    "SureParts",
    "batch_residuals",
    "batches",
    "chunk_bounds",
    "clearly_lower",
    "FRESH_PROBES",
    "fresh_sums",
    "gain_from_sums",
    "gain_sums",
    "sure_parts",
    "probe_eps",
    "sure_probe",
    "sure_stack",
]

#: Seed of the Monte-Carlo probe: the automatic choice is deterministic.
PROBE_SEED = 20200207
#: Finite-difference step of the Monte-Carlo divergence, relative to sigma.
PROBE_EPS = 0.5
#: SURE is summed in this many contiguous chunks: the temporaries stay chunk-sized and
#: the chunks' spread gives SURE's batch-means standard error.
SE_CHUNKS = 64
#: ... computed this many rows at a time.
PIECE = 1 << 16


def sure_probe(f: np.ndarray, sigma: np.ndarray, seed: int = PROBE_SEED, orientation=None):
    """The Monte-Carlo probe ``b`` and step ``eps`` (per channel) of the SURE rule: the
    seeded draw laid on the channels as on the signal the search was given
    (:mod:`resdenoise.orientation`; ``orientation``: that one, where ``f`` is a copy
    with other channels), so that ``-x`` gets ``-b`` and a channel its own column."""
    f = np.asarray(f)
    b = np.random.default_rng(seed).standard_normal(f.shape)
    if not b.ndim:
        return b, probe_eps(sigma)
    if orientation is None:
        orientation = probe_orientation(f.reshape(f.shape[0], -1))
    return orientation.lay(b.reshape(b.shape[0], -1)).reshape(f.shape), probe_eps(sigma)


def probe_eps(sigma: np.ndarray) -> np.ndarray:
    """The SURE probe's step per channel (of :func:`sure_probe`), from the noise level."""
    return PROBE_EPS * np.where(sigma > 0, sigma, 1.0)


def sure_stack(f2: np.ndarray, sigma: np.ndarray, seed: int = PROBE_SEED, orientation=None):
    """``(b, eps, stack)``: the probe of :func:`sure_probe` and the signal with its probed
    copy as more channels, ``[f2, f2 + eps b]``, run together so SURE's divergence
    term compares the two outputs."""
    b, eps = sure_probe(f2, sigma, seed, orientation)
    n, c = f2.shape
    stack = np.empty((n, 2 * c), dtype=np.result_type(f2, b))
    stack[:, :c] = f2
    probed = stack[:, c:]
    np.multiply(eps, b, out=probed)
    probed += f2  # f2 + eps b, without the temporaries
    return b, eps, stack


#: Batches of consecutive samples whose means give a gain test's standard error.
GAIN_BATCHES = 32


def batches(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, sizes)`` of a gain test's batches of ``n`` rows: :data:`GAIN_BATCHES`
    (fewer for a short signal), cut as ``np.array_split`` cuts them, the first
    ``n % k`` one row longer."""
    k = max(2, min(GAIN_BATCHES, n // 4))
    sizes = n // k + (np.arange(k) < n % k)
    return np.cumsum(sizes) - sizes, sizes


def gain_sums(f2: np.ndarray, uf: np.ndarray, up: np.ndarray, b, eps) -> np.ndarray:
    """A gain test's sums at any noise level from one run of a plan on ``f2`` (``uf``) and
    its probed copy (``up``; :func:`sure_stack`'s ``b``, ``eps``): per batch of rows and
    channel, of ``(f2 - uf)^2`` and of ``b (up - uf) / eps``; shape ``(2, batches, c)``."""
    starts, _ = batches(f2.shape[0])
    residual = np.add.reduceat(np.square(f2 - uf), starts, axis=0)
    divergence = np.add.reduceat(b * (up - uf) / eps, starts, axis=0)
    return np.stack([residual, divergence])


def gain_from_sums(sums: np.ndarray, sigma: np.ndarray, n: int) -> tuple[float, float]:
    """``(gain, se)`` with noise ``sigma`` (per channel) from :func:`gain_sums` over ``n``
    rows: SURE minus doing nothing's, per sample, and its batch means' standard error."""
    counts = batches(n)[1].astype(float)  # gain_sums' batches
    k = len(counts)
    s2 = np.square(np.asarray(sigma, dtype=float))
    terms = np.sum(sums[0] - 2 * s2 * counts[:, None] + 2 * s2 * sums[1], axis=1)
    return float(np.sum(terms) / n), float(np.std(terms / counts, ddof=1) / math.sqrt(k))


#: Probes that score a chosen plan again (:func:`fresh_sums`), none of them its search's.
FRESH_PROBES = 4


def fresh_sums(run, f2: np.ndarray, sigma: np.ndarray, probes: int = FRESH_PROBES) -> np.ndarray:
    """:func:`gain_sums` of ``run`` (a plan's run of an ``(n, m)`` array, its channels apart;
    None: doing nothing, whose divergence is exactly 1 a sample) on ``f2``, the divergence
    by ``probes`` Monte-Carlo probes of seeds ``PROBE_SEED + 1, ...`` (their mean), never
    the search's (:data:`PROBE_SEED`); ``f2`` and each probed copy run apart.

    A search that keeps the smallest SURE over many parameters with one probe also keeps
    that probe's noise in its favour (the minimum picks it); scored with probes it never
    saw, its choice's SURE is unbiased again, and two plans scored with the same probes
    differ by the noise of neither alone."""
    n, c = f2.shape
    if run is None:
        counts = batches(n)[1].astype(float)
        return np.stack([np.zeros((len(counts), c)), np.repeat(counts[:, None], c, axis=1)])
    # the signal's run, then each probed copy's alone: the channels are run apart, so
    # the outputs are the one run's of all side by side, bit for bit, with a fifth of
    # its memory (the run of 5c channels held ~400 bytes a value of a long signal)
    uf = np.asarray(run(f2)).reshape(n, c)
    sums = []
    for k in range(1, probes + 1):
        b, eps = sure_probe(f2, sigma, PROBE_SEED + k)
        up = np.asarray(run(f2 + eps * b)).reshape(n, c)
        sums.append(gain_sums(f2, uf, up, b, eps))
        del b, up
    return np.mean(sums, axis=0)


def chunk_bounds(n: int, chunks: int = SE_CHUNKS) -> np.ndarray:
    """Edges of the contiguous chunks SURE is summed in (16 samples each at least)."""
    return np.linspace(0, n, min(chunks, max(1, n // 16)) + 1).astype(int)


def sure_parts(f2, u, b, eps, sigma, bounds, groups: int = 1) -> np.ndarray:
    """SURE of ``u[:, :c]`` (probe run in ``u[:, c:]``) as per-chunk contributions.

    ``parts.sum()`` is SURE summed over channels, per sample of the rows
    ``bounds[0]:bounds[-1]`` (all of them but for a windowed search); the
    temporaries are one chunk in size.  ``-sigma^2`` is shared among the chunks
    in proportion to their samples.  ``groups``: the channels are that many
    groups side by side (the windows of a windowed search), each summed apart,
    so that there are ``groups x chunks`` parts (the chunks of group 0 first).
    """
    return SureParts(f2, b, eps, sigma, bounds, groups)(u)


class SureParts:
    """:func:`sure_parts` of one search: its constants (the probe's weights, the
    chunks' edges and shares of ``-sigma^2``, whether the compiled sums take the
    arrays) made once, then ``parts(u)`` at each checkpoint; the same numbers.
    ``probe``: ``u`` holds the probe's run in its columns ``probe:probe + c`` (several
    probes' runs side by side, read where they lie); default ``c``, ``u`` of ``2c``."""

    def __init__(self, f2, b, eps, sigma, bounds, groups: int = 1, probe: int | None = None):
        self.f2, self.b, self.bounds, self.groups = f2, b, bounds, groups
        self.probe = probe
        self.w = 2.0 * sigma**2 / eps
        self.shape = (len(bounds) - 1, groups) if groups > 1 else len(bounds) - 1
        self.kernels = _compiled_sums(f2, None, b, self.w, groups)
        if self.kernels is not None:
            self.edges = np.ascontiguousarray(bounds, dtype=np.int64)
            self.wc = np.ascontiguousarray(self.w, dtype=float)
        self.span = bounds[-1] - bounds[0]
        self.wide = None  # a float64 copy of a float32 run, for the compiled sums
        if groups > 1:
            self.share = (np.sum(sigma**2) / groups * np.diff(bounds))[:, None]
        else:
            self.share = np.sum(sigma**2) * np.diff(bounds)

    def __call__(self, u) -> np.ndarray:
        f2, b, w, bounds, groups = self.f2, self.b, self.w, self.bounds, self.groups
        c = f2.shape[1]
        p = c if self.probe is None else self.probe  # the probe's first column
        parts = np.empty(self.shape)
        first = 0
        if self.probe is None:
            shaped = self.kernels is not None and u.shape == (f2.shape[0], 2 * c)
        else:  # any width holding the probe's columns (read as they lie)
            shaped = self.kernels is not None and u.ndim == 2 and u.shape[0] == f2.shape[0]
            shaped = shaped and c <= p and p + c <= u.shape[1]
        if shaped and u.dtype == np.float32 and not u.flags.c_contiguous:
            if self.wide is None:  # summed in float64, from a copy the kernel reads
                self.wide = np.empty(u.shape)
            np.copyto(self.wide, u)
            u = self.wide
        # (a float32 search's run is read as it is, each value widened: the same numbers)
        compiled = shaped and u.dtype in (np.float64, np.float32) and u.flags.c_contiguous
        if compiled:  # the same numbers in one pass, without temporaries
            more = () if self.probe is None else (p,)
            self.kernels.sure_sums(f2, u, b, self.wc, self.edges, groups, parts, *more)
            first = len(parts)
        while first < len(parts):  # whole chunks, about PIECE rows at a time
            last = first + 1
            while last < len(parts) and bounds[last + 1] - bounds[first] <= PIECE:
                last += 1
            lo, hi = bounds[first], bounds[last]
            uf = u[lo:hi, :c]
            r = f2[lo:hi] - uf
            d = u[lo:hi, p : p + c] - uf  # the probe's change
            d *= b[lo:hi]
            d *= w
            r *= r
            r += d
            if groups > 1:
                rows = r.reshape(len(r), groups, -1).sum(axis=2)
            else:
                rows = r[:, 0] if c == 1 else r.sum(axis=1)
            parts[first:last] = np.add.reduceat(rows, bounds[first:last] - lo, axis=0)
            first = last
        if groups > 1:
            return ((parts - self.share) / self.span).T.ravel()
        return (parts - self.share) / self.span


def _f64(a: np.ndarray) -> bool:
    """Whether ``a`` is C-contiguous float64 (what the compiled sums read)."""
    return a.dtype == np.float64 and a.flags.c_contiguous


def _compiled_sums(f2, u, b, w, groups: int):
    """The compiled module when its ``sure_sums`` takes these arrays (C-contiguous
    float64, fewer than 8 channels per group; ``u`` None: checked at each call),
    else None: NumPy's loop of :class:`SureParts`."""
    kernels = _kernels()
    c = f2.shape[1]
    fits = (
        kernels is not None
        and hasattr(kernels, "sure_sums")
        and c % groups == 0
        and c // groups < 8
        and np.shape(w) == (c,)
        and (u is None or u.shape == (f2.shape[0], 2 * c))
        and b.shape == f2.shape
        and all(_f64(a) for a in (f2, b))
        and (u is None or _f64(u))
    )
    return kernels if fits else None


def batch_residuals(f2: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``sum (f2 - u)^2`` per gain batch (:func:`batches`) and channel, shape ``(k, c)``:
    :func:`gain_sums`' first half, with temporaries of about :data:`PIECE` rows (or one
    batch)."""
    return BatchResiduals(f2)(u)


class BatchResiduals:
    """:func:`batch_residuals` of one ``f2`` at many ``u`` (a refine's checkpoints): its
    pieces of batches cut once, and one scratch of a piece's rows for all calls (new
    memory of the whole signal's size at every call cost more than the sums on some
    virtual machines); the same numbers."""

    def __init__(self, f2: np.ndarray):
        self.f2 = f2
        starts, sizes = batches(f2.shape[0])
        ends = starts + sizes
        self.pieces, first = [], 0  # (first batch, last batch + 1, first row, last row + 1)
        while first < len(starts):
            last = first + 1
            while last < len(starts) and ends[last] - starts[first] <= PIECE:
                last += 1
            self.pieces.append((first, last, int(starts[first]), int(ends[last - 1])))
            first = last
        self.starts, self.scratch = starts, None
        # the compiled sums where they take f2 (and u at each call): no scratch, one pass
        kernels = _kernels()
        self.kernels = kernels if hasattr(kernels, "batch_residuals") and _f64(f2) else None
        self.edges = np.ascontiguousarray(starts, dtype=np.int64)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        f2 = self.f2
        out = np.empty((len(self.starts), f2.shape[1]))
        if self.kernels is not None and u.shape == f2.shape and _f64(u):
            self.kernels.batch_residuals(f2, u, self.edges, out)
            return out
        dtype = np.result_type(f2, u)
        if self.scratch is None or self.scratch.dtype != dtype:
            rows = max(hi - lo for _, _, lo, hi in self.pieces)
            self.scratch = np.empty((rows,) + f2.shape[1:], dtype)
        for first, last, lo, hi in self.pieces:
            r = np.subtract(f2[lo:hi], u[lo:hi], out=self.scratch[: hi - lo])
            r *= r
            out[first:last] = np.add.reduceat(r, self.starts[first:last] - lo, axis=0)
        return out


#: A probe on windows (:class:`ProbeWindows`) scores about this share of each batch
#: (measured on 60 held-out signals of 1e5 and 2e5 samples against the whole probe:
#: 0.25 changed 12 choices, true MSE +0.03 % geometric mean, worst +2.4 %; 0.5
#: changed 7, -0.05 %, worst +0.4 %; 0.25 against 0.5 again, for issue 19's sensor
#: trace at 1e5 samples, 3.87x -> 3.61x the CPU of the fixed run it picks:
#: bench_auto_heldout at 2e5 changed 6 of 30 choices, geometric mean +0.01 %, worst
#: +1.0 %; its classes at 1e5 on other seeds 5 of 30, +0.37 %, worst +6.0 %, every one
#: worse) ...
PROBE_SHARE = 0.5
#: ... with halos of at most PROBE_HALO x sqrt(blocks) rows per side (blocks rows where
#: that is fewer: the stencil's reach).  A stable block moves at most a diffusivity
#: ``tau g <= h^2 / 2`` across a sample, so the ends' influence on the cores has a
#: spread of at most sqrt(blocks) samples: 8 of them leave it far below rounding.
PROBE_HALO = 8.0


@dataclass(frozen=True)
class ScoredWindows:
    """A windowed search's windows, side by side as channels
    (:func:`resdenoise.search_windows.sample_windows`): SURE on the rows ``core[0]:core[1]``
    of each, summed with ``weights``; their halos serve up to ``reach`` blocks."""

    core: tuple[int, int]
    weights: np.ndarray
    reach: float = math.inf


class PastReach(Exception):
    """A windowed search would run past its windows' reach (:class:`ScoredWindows`)."""


def _flat(rows: np.ndarray, c: int) -> np.ndarray:
    """Flat indices into an array of ``c`` channels of the values of ``rows`` (any shape),
    each row's ``c`` values in turn: ``rows`` itself, raveled, for one channel."""
    return rows.ravel() if c == 1 else (rows[..., None] * c + np.arange(c)).ravel()


_NO_SHIFT = np.empty(0)  # ProbeWindows.divergence's compiled sums: a float64 run, no shift


class ProbeWindows:
    """SURE's divergence term of a run on a long signal ``f2`` from its probe run on
    windows of it only: per gain batch (:func:`batches`) one core of ``core =
    ceil(share x n / k)`` rows, with halos of ``min(reach, PROBE_HALO sqrt(reach))``
    rows on each side (clipped at the signal's ends), one after the other in one
    stack (where a signal's end would lie between two of them, ``cost`` is infinite).

    A block changes a sample from its two neighbours only, so for at most ``reach``
    blocks a core's rows run exactly as in a probe run of the whole signal with
    the same ``b`` there: ``b (up - uf) / eps`` on them is that run's divergence,
    and ``uf`` comes from the run of the whole signal that is kept anyway.  A
    core starts at a seeded offset drawn uniformly from ``[-core + 1, size)`` of
    its batch and counts only its rows inside the batch: every row of the batch is
    counted with the same probability ``core / (size + core - 1)``, so the
    batch's sum scaled by the inverse is unbiased for the whole probe's, and the
    batches' spread (their means' standard error, :func:`gain_from_sums`)
    includes the sampling's noise.  ``cost``: the rows run, over ``n``; windows
    whose cost exceeds ``limit`` are neither drawn nor run (the caller, seeing
    ``cost``, takes the whole probe).
    """

    def __init__(self, f2, sigma, phi, tau: float, h: float, reach: int, share=None, limit=None):
        share = PROBE_SHARE if share is None else share
        self.orientation = probe_orientation(f2)  # the probe as sure_probe lays it
        self.limit = math.inf if limit is None else limit  # a cost over it: nothing is run
        n, c = f2.shape
        starts, sizes = batches(n)
        k = len(starts)
        self.core = core = max(1, math.ceil(share * int(sizes.min())))
        self.rng = rng = np.random.default_rng(PROBE_SEED)
        self.first = first = starts + rng.integers(-core + 1, sizes)  # each core's first row
        rows = first[None, :] + np.arange(core)[:, None]  # (core, k): the cores' rows
        inside = (rows >= starts) & (rows < starts + sizes)
        # (the arrays of (core, k) in place where they can be: memory touched for the
        # first time costs more than the arithmetic on some virtual machines)
        self.rows = np.clip(rows, 0, n - 1, out=rows)
        self.cols = np.arange(k)[None, :]
        # flat indices of the cores' values in the whole run (n, c)
        self.flat = _flat(self.rows, c)
        self.eps = PROBE_EPS * np.where(sigma > 0, sigma, 1.0)
        # the probe's weights on the counted rows, over eps, times the batch's scale
        weight = np.true_divide(inside * (sizes + core - 1), core)[:, :, None]
        self.weight = np.divide(weight, self.eps, out=weight if c == 1 else None)
        self.f2, self.phi, self.tau, self.h = f2, phi, tau, h
        self.shift = float32_shift(f2, self.eps)  # float32 about it where it fits
        self.b, self.window = None, None
        self._place(int(reach), 0)

    def _place(self, reach: int, blocks: int) -> None:
        """Windows of ``reach`` rows more per side than the cores (the probe on the
        rows they had kept), run from the start for ``blocks`` blocks."""
        f2, core, (n, c) = self.f2, self.core, self.f2.shape
        k = len(self.first)
        length = self._length(reach)
        halo = (length - core) // 2
        window = np.clip(self.first - halo, 0, n - length)  # each window's first row
        self.reach, self.cost = reach, length * k / n
        inner = window[1:-1]
        if (
            window[-1] == 0
            or window[0] + length == n
            or np.any((inner == 0) | (inner + length == n))
        ):
            self.cost = math.inf  # a signal's end between two windows: not these windows
        if self.cost > self.limit:  # too dear: the caller takes the whole probe instead
            return
        # new rows: fresh probe values, laid on the channels as sure_probe lays them
        b = self.orientation.lay(self.rng.standard_normal((length, k, c)))
        if self.b is not None:  # the old windows' rows (inside the new ones) keep theirs
            old = self.window[None, :] - window[None, :] + np.arange(len(self.b))[:, None]
            b[old, self.cols] = self.b
        self.b, self.window = b, window
        at = self.rows - window
        at = np.clip(at, 0, length - 1, out=at)  # the cores' rows in their windows
        w = b[at, self.cols]
        w *= self.weight
        self.w = w.ravel()
        # the windows one after the other in one stack (k length, c): a core is as far
        # from the next window as from its own window's end; flat indices of its values
        at += self.cols * length  # (at is not needed any more)
        self.flat_at = _flat(at, c)
        shift = self.shift
        stack = np.empty((k, length, c), f2.dtype if shift is None else np.float32)
        for j, start in enumerate(window.tolist()):  # f2[window[j] + arange(length)]
            if shift is None:
                stack[j] = f2[start : start + length]
                stack[j] += self.eps * b[:, j]
            else:  # rounded to float32 once, about the shift
                stack[j] = f2[start : start + length] - shift + self.eps * b[:, j]
        self.shape = (length, k, c)
        # the probe's values run by each block (in float64's cost)
        self.values = math.ceil(length * k * c * (1.0 if shift is None else FLOAT32_COST))
        self.run = StackRun(stack.reshape(k * length, c), self.phi, self.tau, self.h, own=True)
        self.up = self.run.u
        self.advance(blocks)

    def _length(self, reach: int) -> int:
        """Rows of a window of reach ``reach``: its core and two halos, at most ``n``."""
        halo = min(reach, math.ceil(PROBE_HALO * math.sqrt(reach)))
        return min(self.f2.shape[0], self.core + 2 * halo)

    def cost_for(self, reach: int) -> float:
        """The rows windows of reach ``reach`` would run, over ``n``."""
        return self._length(reach) * len(self.first) / self.f2.shape[0]

    def grow(self, reach: int, blocks: int) -> None:
        """Reach ``reach`` blocks: wider windows, the same probe on the rows they
        share with the old ones (so the cores' numbers so far are unchanged), run
        again to ``blocks``."""
        self._place(int(reach), blocks)

    def advance(self, blocks: int) -> None:
        """Run the windows ``blocks`` more blocks."""
        if blocks:
            self.up = self.run.advance(blocks)

    def divergence(self, u: np.ndarray) -> np.ndarray:
        """Per batch and channel (``(k, c)``), the scaled sum of ``b (up - uf) / eps``
        over the cores, with ``u`` the whole signal's run at the windows' block count
        (in one compiled pass where the kernels take the arrays: the same numbers)."""
        kernels = _kernels()
        if hasattr(kernels, "probe_divergence") and u.shape == self.f2.shape and _f64(u):
            out = np.empty(self.shape[1:])
            shift = _NO_SHIFT if self.shift is None else self.shift
            kernels.probe_divergence(self.up, self.flat_at, u, self.flat, self.w, shift, out)
            return out
        d = np.take(self.up, self.flat_at)  # the windows' stack, (k length, c)
        if self.shift is not None:  # a float32 run about the shift
            d = d.astype(float)
            d.reshape(-1, len(self.shift))[:] += self.shift
        d -= np.take(u, self.flat)
        d *= self.w
        return d.reshape(self.core, -1).sum(axis=0).reshape(self.shape[1:])


#: A search's probe runs in float32 (:func:`float32_shift`) where the signal's spread
#: about its mean is at most this many probe steps eps: one rounding (2^-24 of it)
#: stays below 1e-4 eps per sample; over many blocks the roundings add up (the tests:
#: the divergence within 1e-3 of float64's per batch), still far below the Monte-Carlo
#: probe's own noise, but enough to reorder two lambda candidates whose SURE is a
#: near-tie (a difference far inside its standard error) ...
FLOAT32_RANGE = 2.0**10
#: ... and a float32 block costs about this share of a float64 one (measured with the
#: compiled Perona-Malik loop on one channel: 0.35 against 0.78 ns per value and block).
FLOAT32_COST = 0.45


def float32_shift(f2: np.ndarray, eps: np.ndarray) -> np.ndarray | None:
    """The shift (per channel, the mean) about which a search's run of ``f2`` and its
    probe (eps per channel) may run in float32 (:data:`FLOAT32_RANGE`), else None.
    Shifting a signal by a constant does not change its diffusion (only differences
    enter), so the run of ``f2 - shift``, where float32 has its finest steps, is the
    same filter."""
    if not f2.size:
        return None
    mean = f2.mean(axis=0)
    spread = np.maximum(f2.max(axis=0) - mean, mean - f2.min(axis=0))
    return mean if bool(np.all(spread <= FLOAT32_RANGE * eps)) else None


class WholeProbe:
    """SURE's divergence term of a run on ``f2`` from a probe run of the whole signal,
    as :class:`ProbeWindows` gives it from windows (the same methods, per gain batch):
    the run of ``f2 - mean + eps b`` in float32 where it fits (:func:`float32_shift`;
    else of ``f2 + eps b`` in float64), the divergence ``b (up - uf) / eps`` with ``uf``
    the whole signal's float64 run.  ``values``: the probe's values per block in
    float64's cost (:data:`FLOAT32_COST`), for the pairing of the two runs."""

    reach = math.inf  # exact for any block count: never grown

    def __init__(self, f2, sigma, phi, tau: float, h: float):
        n, c = f2.shape
        b, eps = sure_probe(f2, sigma)
        self.shift = shift = float32_shift(f2, eps)
        if shift is None:
            self.up = f2 + eps * b
        else:  # about the shift, rounded to float32 once
            up = f2 - shift
            up += eps * b
            self.up = up.astype(np.float32)
        self.w = np.divide(b, eps, out=b)  # the probe's weights over eps
        self.phi, self.tau, self.h = phi, tau, h
        self.values = math.ceil(n * c * (1.0 if shift is None else FLOAT32_COST))
        # its batches cut in pieces, and a scratch (the refine's residuals use them too)
        self.sums = BatchResiduals(f2)

    def advance(self, blocks: int) -> None:
        """Run the probe ``blocks`` more blocks."""
        if blocks:
            run_blocks_unchecked(self.up, self.phi, self.tau, blocks, self.h, out=self.up)

    def divergence(self, u: np.ndarray) -> np.ndarray:
        """Per batch and channel (``(k, c)``), the sum of ``b (up - uf) / eps`` with ``u``
        the whole signal's run at the probe's block count."""
        sums = self.sums
        out = np.empty((len(sums.starts), u.shape[1]))
        if sums.scratch is None:
            rows = max(hi - lo for _, _, lo, hi in sums.pieces)
            sums.scratch = np.empty((rows, u.shape[1]))
        for first, last, lo, hi in sums.pieces:
            d = sums.scratch[: hi - lo]
            np.copyto(d, self.up[lo:hi])  # in float64
            if self.shift is not None:
                d += self.shift
            d -= u[lo:hi]
            d *= self.w[lo:hi]
            out[first:last] = np.add.reduceat(d, sums.starts[first:last] - lo, axis=0)
        return out


def clearly_lower(new, old) -> bool:
    """True when SURE of the search ``new`` lies below that of ``old`` (each with ``best``
    and its per-chunk ``best_parts``) by more than one batch-means standard error of
    their paired per-chunk difference (same probe, same chunks)."""
    if new.best_parts is None or old.best_parts is None or len(new.best_parts) < 2:
        return new.best < old.best
    d = np.asarray(new.best_parts) - np.asarray(old.best_parts)
    se = math.sqrt(len(d) * float(np.var(d, ddof=1)))
    return float(np.sum(d)) < -se
