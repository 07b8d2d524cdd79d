"""Stein's unbiased risk estimate of a diffusion run, from the run and its probed copy.

The primitives the automatic searches share (:mod:`resdenoise.autoparams`,
:mod:`resdenoise.automatic`, :mod:`resdenoise.multilevel`,
:mod:`resdenoise.network_stop`, :mod:`resdenoise.learn`): the seeded
Monte-Carlo probe of the divergence and the signal stacked with its probed copy
(:func:`sure_probe`, :func:`sure_stack`); SURE summed in contiguous chunks,
whose spread gives its batch-means standard error (:func:`chunk_bounds`,
:func:`sure_parts`, in one compiled pass where the kernels take the arrays);
and a gain test's sums at any noise level from one run (:func:`gain_sums`,
:func:`gain_from_sums`).  NumPy only.

``SURE(u) = |f - u|^2/N - sigma^2 + 2 sigma^2 div(u)/N`` with
``div ~ b . (u(f + eps b) - u(f)) / eps`` (Ramani, Blu and Unser 2008); see
:mod:`resdenoise.autoparams` for the rule and its step ``eps``.
"""

from __future__ import annotations

import math

import numpy as np

from .engine import _kernels

__all__ = [
    "GAIN_BATCHES",
    "PIECE",
    "PROBE_EPS",
    "PROBE_SEED",
    "SE_CHUNKS",
    "SureParts",
    "chunk_bounds",
    "gain_from_sums",
    "gain_sums",
    "sure_parts",
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


def sure_probe(f: np.ndarray, sigma: np.ndarray, seed: int = PROBE_SEED):
    """The Monte-Carlo probe ``b`` and step ``eps`` (per channel) of the SURE rule."""
    b = np.random.default_rng(seed).standard_normal(f.shape)
    eps = PROBE_EPS * np.where(sigma > 0, sigma, 1.0)
    return b, eps


def sure_stack(f2: np.ndarray, sigma: np.ndarray, seed: int = PROBE_SEED):
    """``(b, eps, stack)``: the probe of :func:`sure_probe` and the signal with its probed
    copy as more channels, ``[f2, f2 + eps b]``, run together so SURE's divergence
    term compares the two outputs."""
    b, eps = sure_probe(f2, sigma, seed)
    n, c = f2.shape
    stack = np.empty((n, 2 * c), dtype=np.result_type(f2, b))
    stack[:, :c] = f2
    probed = stack[:, c:]
    np.multiply(eps, b, out=probed)
    probed += f2  # f2 + eps b, without the temporaries
    return b, eps, stack


#: Batches of consecutive samples whose means give a gain test's standard error.
GAIN_BATCHES = 32


def gain_sums(f2: np.ndarray, uf: np.ndarray, up: np.ndarray, b, eps) -> np.ndarray:
    """A gain test's sums at any noise level from one run of a plan on ``f2`` (``uf``) and
    its probed copy (``up``; :func:`sure_stack`'s ``b``, ``eps``): per batch of rows and
    channel, of ``(f2 - uf)^2`` and of ``b (up - uf) / eps``; shape ``(2, batches, c)``."""
    k = max(2, min(GAIN_BATCHES, f2.shape[0] // 4))  # batches as np.array_split cuts them:
    sizes = f2.shape[0] // k + (np.arange(k) < f2.shape[0] % k)  # the first n % k longer
    starts = np.cumsum(sizes) - sizes
    residual = np.add.reduceat(np.square(f2 - uf), starts, axis=0)
    divergence = np.add.reduceat(b * (up - uf) / eps, starts, axis=0)
    return np.stack([residual, divergence])


def gain_from_sums(sums: np.ndarray, sigma: np.ndarray, n: int) -> tuple[float, float]:
    """``(gain, se)`` with noise ``sigma`` (per channel) from :func:`gain_sums` over ``n``
    rows: SURE minus doing nothing's, per sample, and its batch means' standard error."""
    k = sums.shape[1]
    counts = (n // k + (np.arange(k) < n % k)).astype(float)  # gain_sums' batches
    s2 = np.square(np.asarray(sigma, dtype=float))
    terms = np.sum(sums[0] - 2 * s2 * counts[:, None] + 2 * s2 * sums[1], axis=1)
    return float(np.sum(terms) / n), float(np.std(terms / counts, ddof=1) / math.sqrt(k))


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
    arrays) made once, then ``parts(u)`` at each checkpoint; the same numbers."""

    def __init__(self, f2, b, eps, sigma, bounds, groups: int = 1):
        self.f2, self.b, self.bounds, self.groups = f2, b, bounds, groups
        self.w = 2.0 * sigma**2 / eps
        self.shape = (len(bounds) - 1, groups) if groups > 1 else len(bounds) - 1
        self.kernels = _compiled_sums(f2, None, b, self.w, groups)
        if self.kernels is not None:
            self.edges = np.ascontiguousarray(bounds, dtype=np.int64)
            self.wc = np.ascontiguousarray(self.w, dtype=float)
        self.span = bounds[-1] - bounds[0]
        if groups > 1:
            self.share = (np.sum(sigma**2) / groups * np.diff(bounds))[:, None]
        else:
            self.share = np.sum(sigma**2) * np.diff(bounds)

    def __call__(self, u) -> np.ndarray:
        f2, b, w, bounds, groups = self.f2, self.b, self.w, self.bounds, self.groups
        c = f2.shape[1]
        parts = np.empty(self.shape)
        first = 0
        compiled = (
            self.kernels is not None
            and u.shape == (f2.shape[0], 2 * c)
            and u.dtype == np.float64
            and u.flags.c_contiguous
        )
        if compiled:  # the same numbers in one pass, without temporaries
            self.kernels.sure_sums(f2, u, b, self.wc, self.edges, groups, parts)
            first = len(parts)
        while first < len(parts):  # whole chunks, about PIECE rows at a time
            last = first + 1
            while last < len(parts) and bounds[last + 1] - bounds[first] <= PIECE:
                last += 1
            lo, hi = bounds[first], bounds[last]
            uf = u[lo:hi, :c]
            r = f2[lo:hi] - uf
            d = u[lo:hi, c:] - uf  # the probe's change
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
        and all(a.dtype == np.float64 and a.flags.c_contiguous for a in (f2, b))
        and (u is None or (u.dtype == np.float64 and u.flags.c_contiguous))
    )
    return kernels if fits else None
