"""The engine's step loops and the sweeps that drive them (for :mod:`resdenoise.engine`).

One block at a time on a contiguous array: the NumPy step loop
(:class:`_Stepper`, the reference) or the compiled one (``resdenoise/_kernels.c``,
chosen by :func:`backend_for`), and the two drivers of a run: the whole signal
as one tile, or time-blocked tiles with halos spread over threads
(:func:`_tiling`, :func:`_run_tiled`).  :func:`resdenoise.engine.run_blocks` checks
its arguments and calls them; the numbers do not depend on the tiles or threads.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

from .errors import ParameterError
from .pairs import _threads_from_environment

#: Step loops: "compiled" (resdenoise._kernels) and "numpy" (the reference).
BACKENDS = ("compiled", "numpy")
#: ``$RESDENOISE_ENGINE``'s values: ``numpy`` runs the reference loop; ``auto`` (as
#: unset) the compiled one where it exists.
ENGINE_SETTINGS = ("auto", "numpy")


def check_environment() -> None:
    """Refuse (:class:`ParameterError`, exit code 2) a ``$RESDENOISE_THREADS`` that is
    not a whole number from 1 to :data:`resdenoise.pairs.MAX_THREADS` and a
    ``$RESDENOISE_ENGINE`` not in :data:`ENGINE_SETTINGS` (empty is unset).  The program checks them before any
    work; the library refuses them likewise where a run reads them."""
    _threads_from_environment()
    engine_from_environment()


def engine_from_environment() -> str:
    """``$RESDENOISE_ENGINE``: one of :data:`ENGINE_SETTINGS` (``auto`` where it is
    unset or empty); any other value: :class:`ParameterError`, not ignored."""
    engine = os.environ.get("RESDENOISE_ENGINE", "") or "auto"
    if engine not in ENGINE_SETTINGS:
        raise ParameterError(
            f"RESDENOISE_ENGINE={engine!r}: give {' or '.join(ENGINE_SETTINGS)}, or unset it"
        )
    return engine


#: Values (samples x channels) per tile: the five work arrays of two threads' tiles
#: stay in a last-level cache of 16 MiB or more, and ufunc call overhead stays small.
TILE_VALUES = 131072
#: Blocks per sweep when tiling: the halo is this many samples per side.
SWEEP_BLOCKS = 32
#: Values x blocks of one call of the compiled loop at the most (about 0.1-0.3 s of
#: one core): a longer run is several calls, so that a signal (which Python handles
#: between calls, in the main thread) ends a long run within a fraction of a second
#: instead of after all its blocks; the numbers are those of one call.
CALL_WORK = 1 << 27


def call_blocks(values: int, blocks: int, unit: int = 1) -> int:
    """Blocks of one compiled call on ``values`` values: at most :data:`CALL_WORK`
    of work, a multiple of ``unit`` (the sweep), at least ``unit``, at most ``blocks``."""
    return min(blocks, max(unit, CALL_WORK // max(values, 1) // unit * unit))


#: Less data than this per thread is not worth a thread: every ufunc call
#: takes the GIL to start, and on short arrays the hand-overs cost more than
#: the second core gives (measured: float64 gains from 16k values a thread,
#: float32 from 32k).
MIN_BYTES_PER_THREAD = 131072
#: The compiled loop's tiles: a tile (128 KiB in float64) and the next one,
#: which the loop prefetches while it computes, stay in a core's L2 cache of 512 KiB.
COMPILED_TILE_VALUES = 16384
#: The compiled loop's threads go from one sweep to the next in microseconds,
#: without Python, so sweeps can be short and halos narrow (1% of a 5000-sample tile).
COMPILED_SWEEP_BLOCKS = 64
#: The compiled loop holds no GIL, so a second thread pays off from a few
#: thousand values on.
COMPILED_MIN_VALUES_PER_THREAD = 2048


def backend_for(phi, backend: str | None = None) -> str:
    """The step loop :func:`~resdenoise.engine.run_blocks` uses for ``phi``: 'compiled' or 'numpy'.

    'compiled' where the extension module is built and has the registry
    family of ``phi`` (a :class:`~resdenoise.nonlinearities.Nonlinearity` or
    its bound ``.phi``); custom functions, tanh and arctan run in NumPy.
    """
    return "numpy" if _compiled_family(_resolve_phi(phi)[2], backend) is None else "compiled"


def compiled_instruction_set() -> str | None:
    """The instruction set of the compiled step loop, or None if it is not built."""
    kernels = _kernels()
    return None if kernels is None else kernels.simd()


def _tiling(
    n: int, channels: int, tile: int | None, threads: int, tile_values: int, min_values: int
) -> tuple[np.ndarray, int]:
    """Tile boundaries ``[0, b_1, ..., n]`` and the number of threads to use."""
    if tile is None:
        threads = max(1, min(threads, n * channels // min_values))
        rows = max(1, tile_values // channels)
        count = math.ceil(n / rows)
        if threads > 1:
            count = threads * math.ceil(count / threads)
        count = min(count, n)  # np.linspace's points (a tenth of its call's cost)
        bounds = np.arange(count + 1) * (n / count)
        bounds[-1] = n
        bounds = bounds.round().astype(np.intp)
    else:
        bounds = np.append(np.arange(0, n, tile), n).astype(np.intp)
    return bounds, max(1, min(threads, len(bounds) - 1))


@functools.cache
def _kernels():
    """The compiled module resdenoise._kernels, or None where it was not built."""
    try:
        from . import _kernels as module
    except ImportError:
        return None
    return module


#: tau/h**2 the compiled Perona-Malik loop takes (it folds it into its exponential).
PM_SIGMA_RANGE = (2.0**-60, 2.0**60)


def _compiled_family(owner, backend: str | None, sigma: float = 1.0) -> int | None:
    """The compiled loop's family code for ``owner`` (a Nonlinearity), or None for NumPy.

    ``sigma`` is the run's tau/h**2, where it is known.
    """
    if backend is None:
        backend = engine_from_environment()
    elif backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {sorted(BACKENDS)} or None, got {backend!r}")
    if backend == "numpy":
        return None
    kernels = _kernels()
    key = getattr(owner, "key", None)
    in_range = key != "perona-malik" or PM_SIGMA_RANGE[0] <= sigma <= PM_SIGMA_RANGE[1]
    if (
        kernels is not None
        and getattr(owner, "entry", None) is not None
        and key in kernels.FAMILIES
        and in_range
    ):
        return kernels.FAMILIES.index(key)
    if backend == "compiled" and kernels is not None and not in_range:
        raise ParameterError(
            f"the compiled perona-malik loop needs tau/h**2 in [2**-60, 2**60], got {sigma!r}; "
            "use backend='numpy'"
        )
    if backend == "compiled":
        if kernels is None:
            raise ParameterError(
                "the compiled step loop is not built (resdenoise was installed without a "
                "C compiler); use backend='numpy'"
            )
        raise ParameterError(
            f"there is no compiled step loop for {key or 'this phi'}; use backend='numpy'"
        )
    return None


class _Stepper:
    """One diffusion block at a time on a contiguous array, allocation-free."""

    def __init__(self, phi, dtype: np.dtype, tau: float, h: float, backend: str | None = None):
        self.phi, self.kernel, owner = _resolve_phi(phi)
        self.dtype = dtype
        if getattr(owner, "entry", None) is not None:
            check_lam(owner.lam, dtype)
        self.scale = dtype.type(tau / h)
        self.inv_h = None if h == 1.0 else dtype.type(1.0 / h)
        self.int_dtype = np.int64 if dtype.itemsize == 8 else np.int32
        self.family = _compiled_family(owner, backend, tau / (h * h))
        if self.family is None:
            self.tile_values, self.sweep = TILE_VALUES, SWEEP_BLOCKS
            self.min_values = MIN_BYTES_PER_THREAD // dtype.itemsize
        else:
            self.lam, self.tau_h, self.h_inv = float(owner.lam), tau / h, 1.0 / h
            self.tile_values, self.sweep = COMPILED_TILE_VALUES, COMPILED_SWEEP_BLOCKS
            self.min_values = COMPILED_MIN_VALUES_PER_THREAD

    def workspace(self, rows: int, tail_shape: tuple) -> tuple[np.ndarray, ...]:
        """Scratch for ``rows`` samples: differences, fluxes, float and integer
        scratch for NumPy; one flux buffer for the compiled loop."""
        if self.family is not None:
            return (np.empty(rows * math.prod(tail_shape), self.dtype),)
        shape = (max(rows - 1, 0),) + tail_shape
        return (
            np.empty(shape, self.dtype),
            np.empty(shape, self.dtype),
            np.empty(shape, self.dtype),
            np.empty(shape, self.int_dtype),
        )

    def run(self, u: np.ndarray, blocks: int, ws: tuple[np.ndarray, ...]) -> None:
        """``blocks`` blocks on u in place (u's ends are reflecting)."""
        if self.family is not None:
            channels, kernels = u.size // u.shape[0], _kernels()
            while blocks > 0:  # in calls of bounded work (CALL_WORK): signals between them
                k = call_blocks(u.size, blocks)
                kernels.run(u, ws[0], channels, self.family, self.lam, self.tau_h, self.h_inv, k)
                blocks -= k
            return
        # a registry flux kernel takes r / lam = +-inf (lam < 1) as Phi's limit: no
        # overflow to report (one errstate a call: per block it costs 20 %); None: unchanged
        with np.errstate(over=None if self.kernel is None else "ignore"):
            self._numpy_blocks(u, blocks, ws)

    def _numpy_blocks(self, u: np.ndarray, blocks: int, ws: tuple[np.ndarray, ...]) -> None:
        rows = u.shape[0] - 1
        d, f, tmp, bits = (a[:rows] for a in ws)
        work = (tmp, bits)
        head, tail = u[:-1], u[1:]
        kernel, phi, dtype, scale, inv_h = self.kernel, self.phi, self.dtype, self.scale, self.inv_h
        for _ in range(blocks):
            np.subtract(tail, head, out=d)
            if inv_h is not None:
                np.multiply(d, inv_h, out=d)
            if kernel is not None:
                kernel(d, f, work)
                np.multiply(f, scale, out=f)
            else:
                np.multiply(np.asarray(phi(d), dtype=dtype), scale, out=f)
            np.add(head, f, out=head)
            np.subtract(tail, f, out=tail)


def check_lam(lam: float, dtype) -> None:
    """ValueError where the registry's ``lam`` is 0 or inf in ``dtype`` (its fluxes
    divide by it): its smallest subnormal to its largest finite number are fine."""
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore", under="ignore"):
        held = dtype.type(lam)
    if not 0.0 < held < np.inf:
        info = np.finfo(dtype)
        raise ParameterError(
            f"lambda {lam:g} is {float(held):g} in {dtype.name}, which holds "
            f"{float(info.smallest_subnormal):g} to {float(info.max):g}"
        )


def _resolve_phi(phi):
    """``(callable, kernel or None, Nonlinearity or None)`` for phi.

    Accepts a Nonlinearity-like object (``.phi`` and ``.flux_kernel``), its
    bound ``.phi`` method, or any callable; registry flux kernels are used
    when phi has one.
    """
    owner = getattr(phi, "__self__", None)
    if owner is not None and getattr(owner, "phi", None) == phi:
        phi = owner
    if callable(getattr(phi, "phi", None)) and hasattr(phi, "flux_kernel"):
        return getattr(phi, "scratch_phi", phi.phi), phi.flux_kernel, phi
    if not callable(phi):
        name = f" (a name: get_nonlinearity({phi!r}))" if isinstance(phi, str) else ""
        raise TypeError(f"phi must be callable or a Nonlinearity, got {type(phi).__name__}{name}")
    return phi, None, None


# --------------------------------------------------------------------------
# The two drivers
# --------------------------------------------------------------------------


def _run_whole(u, step: _Stepper, m: int, callback, every: int) -> None:
    ws = step.workspace(u.shape[0], u.shape[1:])
    done = 0
    while done < m:
        k = min(every, m - done)
        step.run(u, k, ws)
        done += k
        if callback is not None and callback(done, u) is False:
            return


def _copy(dst: np.ndarray, src: np.ndarray) -> None:
    # np.positive is an exact copy of floats and, unlike memcpy on some
    # machines, fast for the tile sizes used here.
    np.positive(src, out=dst)


def _run_tiled(u, step: _Stepper, m, bounds, sweep, threads, callback, every, f, fresh) -> None:
    """Sweeps of K blocks over halo-extended tiles, tiles spread over threads.

    Before each sweep the 2K samples around every inner tile boundary are
    saved (``strips``), so every tile can read its halos from them and write
    its core back into u in place, in parallel with the others.  The first
    sweep reads the input ``f`` (u's shape and dtype) instead of u, so u is
    neither copied first nor touched by one thread alone.
    """
    n = u.shape[0]
    tail_shape = u.shape[1:]
    ntiles = len(bounds) - 1
    longest = int(np.diff(bounds).max())
    strips = np.empty((max(ntiles - 1, 0), 2 * sweep) + tail_shape, u.dtype)
    if step.family is not None:  # the threads take the tiles themselves
        threads = min(threads, ntiles)
        _run_tiled_compiled(u, step, m, bounds, sweep, threads, strips, callback, every, f, fresh)
        return
    groups = [list(g) for g in np.array_split(np.arange(ntiles), threads) if len(g)]
    spaces = []
    for _ in groups:
        buf = np.empty((longest + 2 * sweep,) + tail_shape, u.dtype)
        spaces.append((buf, step.workspace(buf.shape[0], tail_shape)))
    err = np.geterr()

    def run_group(g: int, k: int) -> None:
        buf_all, ws = spaces[g]
        with np.errstate(**err):
            for t in groups[g]:
                a, b = int(bounds[t]), int(bounds[t + 1])
                left = k if a > 0 else 0
                right = k if b < n else 0
                buf = buf_all[: left + (b - a) + right]
                if left:
                    _copy(buf[:left], strips[t - 1, sweep - k : sweep])
                _copy(buf[left : left + b - a], src[a:b])
                if right:
                    _copy(buf[left + b - a :], strips[t, sweep : sweep + k])
                step.run(buf, k, ws)
                _copy(u[a:b], buf[left : left + b - a])

    def save_strips(k: int) -> None:
        for t in range(ntiles - 1):
            b = int(bounds[t + 1])
            _copy(strips[t, sweep - k : sweep + k], src[b - k : b + k])

    from concurrent.futures import ThreadPoolExecutor, wait  # lazily: 10 ms of start-up

    pool = ThreadPoolExecutor(max_workers=len(groups) - 1) if len(groups) > 1 else None
    src = f
    try:
        done = 0
        while done < m:
            k = min(sweep, m - done)
            if every is not None:
                k = min(k, every - done % every)
            save_strips(k)
            futures = [pool.submit(run_group, g, k) for g in range(1, len(groups))] if pool else []
            try:
                run_group(0, k)
            finally:
                wait(futures)
            for fut in futures:
                fut.result()  # re-raises a worker's exception
            src = u
            done += k
            due = every is None or done % every == 0 or done == m
            if callback is not None and due and callback(done, u) is False:
                return
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _run_tiled_compiled(
    u, step, m, bounds, sweep, threads, strips, callback, every, f, fresh
) -> None:
    """The same sweeps in the compiled loop: its threads take the tiles as they
    come free, without the GIL (or, one tile per thread, keep their tile and
    move its boundaries after their speeds).

    One call runs every sweep up to the next callback (all m blocks when
    there is none), so Python is not between the sweeps, but at most
    :data:`CALL_WORK` of work (a signal is handled between calls).
    """
    channels = u.size // u.shape[0]
    part = (int(np.diff(bounds).max()) + 2 * sweep) * channels
    if threads > 1 and len(bounds) - 1 == threads and u.size <= threads * COMPILED_TILE_VALUES:
        # one short tile per thread: room for any tile, so that the loop can
        # move the boundaries to follow the threads' speeds
        widest = u.shape[0] - (threads - 1) * sweep  # the others keep >= sweep rows
        part = (widest + 2 * sweep) * channels
    bufs = np.empty(threads * part, u.dtype)
    works = np.empty(threads * part, u.dtype)
    bounds = np.ascontiguousarray(bounds, dtype=np.int64)
    kernels = _kernels()
    src, done = f, 0
    while done < m:
        if callback is None:
            k = m - done
        elif every is None:
            k = min(sweep, m - done)
        else:
            k = min(m - done, every - done % every)
        k = call_blocks(u.size, k, sweep)  # bounded work per call (CALL_WORK)
        kernels.run_sweeps(
            src, u, strips, bufs, works, bounds, threads, channels, step.family, step.lam,
            step.tau_h, step.h_inv, k, sweep, fresh and done == 0,
        )  # fmt: skip
        src, done = u, done + k
        if callback is not None and callback(done, u) is False:
            return
