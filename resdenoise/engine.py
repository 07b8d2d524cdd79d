"""The one engine: chained diffusion blocks ``u <- u + tau * D- Phi(D+ u)``.

NumPy only; knows nothing about files, names or reports.  Every command of
resdenoise (diffusion, wavelet shrinkage, regularisation, residual network)
is a call of :func:`run_blocks` with its own activation ``phi``.

How it is made fast, without changing a single bit of the result:

* **No allocation in the step loop.**  All buffers are made once; every
  ufunc writes through ``out=``.  A registry activation brings an
  allocation-free flux kernel (``Nonlinearity.flux_kernel``); any other
  callable is simply called.
* **Blocking in time.**  m blocks move information m samples each way, so a
  tile of the signal extended by a halo of K samples on each side can run K
  blocks on its own and its core is exact afterwards.  Long signals are cut
  into tiles of a few tens of thousands of values that stay in the cache for
  K blocks (one *sweep*) instead of streaming the whole signal through memory
  at every block.  A halo exists only at a tile's inner ends; the true ends
  of the signal keep their reflecting (zero-flux) boundary.
* **Threads.**  The tiles of one sweep are independent; NumPy releases the
  GIL inside its ufunc loops, so they run on all cores.

Each sample sees the same operations on the same values in the same order
whichever way the work is cut, so tiled, threaded and plain runs agree bit
for bit (``tests/test_engine_blocking.py``).

Two step loops, one engine (both in :mod:`resdenoise.stepper`, with the tiled
drivers).  The NumPy step loop (:class:`~resdenoise.stepper._Stepper`) is the
reference.  The registry families but tanh and arctan also have a compiled
step loop (``resdenoise/_kernels.c``, built at install when a C compiler is
there), which the engine prefers: it runs a tile's blocks without the GIL,
so threads use every core, in strips that stay in the L1 cache.  It performs
the reference's operations in the reference's order, so its numbers are the
NumPy loop's bit for bit, except for Perona-Malik, whose exponential is the
kernel's own (within a few units in the last place of libm's; see the C
file).  Tiling, threads and chunks never change its numbers either.
``backend="numpy"`` or ``RESDENOISE_ENGINE=numpy`` selects the reference.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from .errors import (
    MAX_BLOCKS,
    ParameterError,
    SignalError,
    check_blocks,
    check_count,
    check_signal_shape,
    is_positive,
    non_finite,
    refuse_complex,
    refuse_non_finite,
)
from .pairs import (
    _threads_from_environment,
    in_parallel,
    pairs_now,
    thread_budget,
    usable_cores,  # noqa: F401 - re-exported (batch, stream)
)
from .stepper import (  # noqa: F401 - re-exported: the engine's names, as before the split
    BACKENDS,
    CALL_WORK,
    COMPILED_MIN_VALUES_PER_THREAD,
    COMPILED_SWEEP_BLOCKS,
    COMPILED_TILE_VALUES,
    MIN_BYTES_PER_THREAD,
    PM_SIGMA_RANGE,
    SWEEP_BLOCKS,
    TILE_VALUES,
    _compiled_family,
    _kernels,
    _resolve_phi,
    _run_tiled,
    _run_whole,
    _Stepper,
    _tiling,
    backend_for,
    call_blocks,
    check_lam,
    compiled_instruction_set,
)

__all__ = [
    "FluxLike",
    "forward_difference",
    "backward_difference",
    "diffusion_block",
    "run_blocks",
    "run_blocks_unchecked",
    "run_strided",
    "run_strided_unchecked",
    "default_threads",
    "takes_threads",
    "InPlaceRun",
    "StackRun",
    "backend_for",
    "compiled_instruction_set",
    "BACKENDS",
]


#: Values x blocks a run needs per thread before a default run (threads=None) takes
#: another thread: about 10 ms of one core's compiled blocks.  Starting and handing
#: over between threads costs milliseconds when the cores are busy with other
#: processes; measured on 2 busy cores, two threads ran 0.16x as fast as one on
#: 48000 x 2 values x 10 blocks and 0.8x on 1e5 x 100, and gained from about 1e7 on.
MIN_WORK_PER_THREAD = 1 << 22


def forward_difference(u: np.ndarray, h: float = 1.0) -> np.ndarray:
    """``(D+ u)_i = (u_{i+1} - u_i)/h`` for i = 0..N-2, along axis 0."""
    return np.diff(np.asarray(u), axis=0) / h


def backward_difference(flux: np.ndarray, h: float = 1.0) -> np.ndarray:
    """``(D- F)_i = (F_i - F_{i-1})/h`` with zero flux ``F_{-1} = F_{N-1} = 0``.

    Takes the N-1 interior fluxes along axis 0 and returns N values.
    """
    flux = np.asarray(flux)
    pad = [(1, 1)] + [(0, 0)] * (flux.ndim - 1)
    return np.diff(np.pad(flux, pad), axis=0) / h


def diffusion_block(u: np.ndarray, phi, tau: float, h: float = 1.0) -> np.ndarray:
    """One block, written as the paper's formula (eq. 6); for reading and tests.

    :func:`run_blocks` computes the same numbers in place.
    """
    return u + tau * backward_difference(phi(forward_difference(u, h)), h)


class HasFlux(Protocol):
    """What :func:`run_blocks` takes of a :class:`~resdenoise.nonlinearities.Nonlinearity`:
    its flux ``phi(r)`` and its allocation-free ``flux_kernel`` (None: ``phi`` is called)."""

    def phi(self, r: np.ndarray, /) -> np.ndarray: ...

    @property
    def flux_kernel(self) -> Callable[..., np.ndarray] | None: ...


#: ``phi`` as :func:`run_blocks` takes it: a function of r, or a Nonlinearity.
FluxLike = Callable[[np.ndarray], np.ndarray] | HasFlux


def run_blocks(
    u: np.ndarray,
    phi: FluxLike,
    tau: float,
    n_blocks: int,
    h: float = 1.0,
    callback: Callable[[int, np.ndarray], object] | None = None,
    *,
    dtype=None,
    threads: int | None = None,
    tile: int | None = None,
    sweep: int | None = None,
    callback_every: int | None = 1,
    backend: str | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply ``n_blocks`` diffusion blocks with activation ``phi``.

    No stability check: any tau runs (the one-call functions, :func:`resdenoise.diffuse`
    and the others, refuse an unstable one).  Ask
    :func:`resdenoise.stability.check_tau` ``(nl, tau, h)`` first: the bounds
    ``h^2/(2 g_max)`` (L-infinity) and ``h^2/(4 g_max)`` (sign), and its verdict.

    Parameters
    ----------
    u : ndarray, shape (n,) or (n, channels)
        The input signal; it is not modified.  Axis 0 is the signal axis;
        channels are filtered independently in the same vectorised pass.
    phi : callable or Nonlinearity
        The activation (flux function), applied elementwise.  A registry
        :class:`~resdenoise.nonlinearities.Nonlinearity` (or its bound
        ``.phi``) runs through its allocation-free flux kernel.
    tau : float
        Time step size, tau > 0.
    n_blocks : int
        Number of blocks m >= 0, at most :data:`~resdenoise.errors.MAX_BLOCKS` (more
        would run for hours to centuries: refused, not started); the stopping time is
        ``m * tau``.
    h : float
        Grid size.
    callback : callable, optional
        Called as ``callback(k, u)`` after block k (1-based) with the whole
        current signal, every ``callback_every`` blocks and after the last;
        returning ``False`` stops early.  ``u`` is a read-only view of the
        engine's working array, valid during the call only: the next blocks
        overwrite it (keep a copy, ``history.append(u.copy())``; a write into it
        raises ValueError).

    Returns
    -------
    ndarray
        The filtered signal, same shape, C-contiguous, of the working dtype:
        ``out`` where it is given.

    Raises
    ------
    SignalError
        ``u`` is not shaped ``(n,)`` or ``(n, channels)`` with n >= 2 and a channel,
        is complex, or has a sample that is NaN or infinite (or beyond the working
        dtype's range): the messages of the one-call functions (:mod:`resdenoise.api`).
        A ValueError.
    ParameterError
        tau or h is not a finite number > 0; n_blocks, threads, tile, sweep or
        callback_every is not a whole number in range (n_blocks: 0 to
        :data:`~resdenoise.errors.MAX_BLOCKS`); ``$RESDENOISE_THREADS`` or
        ``$RESDENOISE_ENGINE`` holds a value the program refuses too; dtype is
        not float64 or float32; backend is unknown, or 'compiled' where no
        compiled loop exists for phi (or Perona-Malik's tau/h**2 is outside
        [2**-60, 2**60]).  A ValueError.
    TypeError
        phi is neither callable nor a Nonlinearity (a name: ``get_nonlinearity(name)``).

    Other Parameters
    ----------------
    dtype : {None, 'float64', 'float32'}
        Working precision.  None: float32 input stays float32, anything else
        is computed in float64 (the reference).
    threads : int, optional
        Threads for the tiles of a sweep; None uses every available core
        when the signal is long enough and the run long enough to be worth
        it (:data:`MIN_WORK_PER_THREAD`).  The result does not depend on it.
    tile : int, optional
        Samples per tile (default: about ``TILE_VALUES / channels``, equal
        tiles; ``COMPILED_TILE_VALUES`` for the compiled loop).  A signal of
        one tile runs untiled.
    sweep : int, optional
        Blocks per sweep, the halo width (default ``SWEEP_BLOCKS``,
        ``COMPILED_SWEEP_BLOCKS`` for the compiled loop); capped by the
        shortest tile.
    callback_every : int or None
        How often the callback wants to see u.  Tiled runs hold a complete u
        only between sweeps, so a sweep never crosses a multiple of it;
        None lets the engine call back after each sweep (every ``sweep``
        blocks), which keeps a progress bar cheap.
    backend : {None, 'compiled', 'numpy'}
        The step loop.  None: the compiled one where it exists for phi
        (see :func:`backend_for`), unless ``$RESDENOISE_ENGINE`` is
        ``numpy`` (a value other than ``auto`` or ``numpy``: ParameterError).
        'compiled' raises ParameterError where it does not exist (also for
        Perona-Malik with tau/h**2 outside [2**-60, 2**60], which the compiled
        loop's exponential does not cover).
    out : ndarray, optional
        Where to write the result: u's shape, the working dtype,
        C-contiguous and writeable; it may be the input itself (in place).
        The numbers do not depend on it.  A reused ``out`` spares the
        allocation and first touch of a new result, which on some virtual
        machines costs more than the blocks themselves (see the README's
        Speed section).

    Notes
    -----
    With ``d_i = (u_{i+1} - u_i)/h`` and ``F_i = Phi(d_i)`` each block adds
    ``(tau/h) F_i`` to ``u_i`` and subtracts it from ``u_{i+1}``: the flux
    form of ``u_i += (tau/h)(F_i - F_{i-1})`` with zero flux at both ends
    (reflecting boundaries), so the sum of u is preserved exactly in exact
    arithmetic.  Per sample and block the operations are, in this order:
    ``d = u_{i+1} - u_i``; ``d *= 1/h`` (only if h != 1); ``F = Phi(d)``;
    ``F *= tau/h``; ``u_i += F``; ``u_{i+1} -= F``.

    Examples
    --------
    The evolution over time, with the tau checked first:

    >>> from resdenoise import check_tau, get_nonlinearity
    >>> nl = get_nonlinearity("perona-malik", "diffusivity", lam=0.5)
    >>> v = check_tau(nl, 0.25)
    >>> v.linf_stable, v.sign_stable, v.tau_linf_bound
    (True, True, 0.5)
    >>> snapshots = []
    >>> u = run_blocks([0.0, 0.1, 1.0, 0.9], nl, 0.25, 4,
    ...                callback=lambda k, u: snapshots.append(u.copy()))
    >>> len(snapshots), bool(abs(u.sum() - 2.0) < 1e-12)
    (4, True)
    """
    f = _checked_signal(u, dtype)
    if callable(callback):  # the working array, as a read-only view (not a copy)
        callback = _read_only(callback)
    return run_blocks_unchecked(
        f, phi, tau, n_blocks, h, callback, dtype=f.dtype, threads=threads, tile=tile,
        sweep=sweep, callback_every=callback_every, backend=backend, out=out,
    )  # fmt: skip


def _checked_signal(u, dtype) -> np.ndarray:
    """The public entries' check of a signal (:func:`run_blocks`, :func:`run_strided`):
    ``u`` in the working dtype (C-contiguous; ``u`` itself where it is so), or
    :class:`SignalError` where it is complex, not shaped ``(n,)`` or ``(n, channels)``
    with n >= 2 and a channel, or has a sample that is NaN or infinite (or beyond the
    working dtype's range): the messages of the one-call functions."""
    a = np.asarray(u)
    refuse_complex(a)  # (a cast would drop the imaginary part with a mere warning)
    dtype = _working_dtype(a, dtype)
    with np.errstate(over="ignore"):  # a sample beyond the dtype: refused below, by name
        f = np.ascontiguousarray(a, dtype=dtype)  # a itself where it is so
    check_signal_shape(f.shape)  # SignalError, as the library's other entries
    _refuse_non_finite(a, f)  # one sum over f where every sample is finite
    return f


def _read_only(callback: Callable[[int, np.ndarray], object]):
    """``callback`` given a read-only view of the engine's working array: a write into it
    raises ValueError instead of changing the run (a view costs about a microsecond; a
    copy of 1e6 float64 samples, a millisecond a call: measured in the commit)."""

    def sees(k: int, u: np.ndarray):
        view = u.view()
        view.flags.writeable = False
        return callback(k, view)

    return sees


def _refuse_non_finite(a: np.ndarray, f: np.ndarray) -> None:
    """Refuse a working signal ``f`` (``a`` cast) with a sample that is NaN or infinite:
    :class:`SignalError` naming the first, as :func:`resdenoise.errors.check_signal`
    does, or, where ``a``'s samples are finite and the cast to a narrower dtype made them
    infinite, naming that range."""
    found = non_finite(f)
    if not found:
        return
    if a.dtype.kind == "f" and a.dtype.itemsize > f.dtype.itemsize and not non_finite(a):
        largest = float(np.finfo(f.dtype).max)
        raise SignalError(
            f"the signal: samples up to {float(np.max(np.abs(a))):g} are beyond the range "
            f"of {f.dtype} (largest {largest:g}); use dtype='float64'",
            parameters=[("dtype", "float64")],
        )
    refuse_non_finite("the signal", found)


def run_blocks_unchecked(
    u: np.ndarray,
    phi: FluxLike,
    tau: float,
    n_blocks: int,
    h: float = 1.0,
    callback: Callable[[int, np.ndarray], object] | None = None,
    *,
    dtype=None,
    threads: int | None = None,
    tile: int | None = None,
    sweep: int | None = None,
    callback_every: int | None = 1,
    backend: str | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`run_blocks` of a real ``u`` whose samples are not looked at: a NaN or inf
    runs into the output, as a run that overflows on its way does.  For the library's
    own runs of what it checked or made (a plan's run, a search's probe, a network's next
    group, the flux probe of a value that may not fit the dtype)."""
    dtype = _working_dtype(u, dtype)
    f = np.ascontiguousarray(u, dtype=dtype)  # the input itself where it already is so
    check_signal_shape(f.shape)  # SignalError, as the library's other entries
    n = f.shape[0]
    n_blocks = check_blocks("n_blocks", n_blocks, minimum=0)
    _check_step(tau, h)
    step = _Stepper(phi, dtype, tau, h, backend)
    if threads is None:
        threads = default_threads(f.size, n_blocks)
    threads = _positive_int("threads", threads, default=None)
    tile = _positive_int("tile", tile, default=None)
    sweep = _positive_int("sweep", sweep, default=step.sweep)
    every = _positive_int("callback_every", callback_every, default=None)
    bounds, threads = _tiling(
        n, max(1, f.size // n), tile, threads, step.tile_values, step.min_values
    )
    fresh = out is None
    u = np.empty_like(f) if fresh else _checked_out(out, f)
    if (n_blocks == 0 or len(bounds) == 2) and u.ctypes.data != f.ctypes.data:
        np.copyto(u, f)  # the result, never the input (unless out is the input)
    if n_blocks == 0:
        return u
    if callback is None:
        every = None
    if len(bounds) == 2:  # one tile: the whole signal, no halo, no copies
        _run_whole(u, step, n_blocks, callback, every or sweep)
    else:  # the first sweep reads f and writes every tile of u, in parallel
        sweep = min(sweep, int(np.diff(bounds).min()))
        _run_tiled(u, step, n_blocks, bounds, sweep, threads, callback, every, f, fresh)
    return u


def default_threads(values: int, blocks: int) -> int:
    """The threads :func:`run_blocks` takes by default for ``blocks`` blocks of
    ``values`` values (before its tiling, which may take fewer): as many as given by
    ``$RESDENOISE_THREADS``, else one per :data:`MIN_WORK_PER_THREAD` values x blocks
    (a thread only where it has the work to repay its hand-overs), at most the
    thread budget (:func:`resdenoise.pairs.thread_budget`)."""
    if _threads_from_environment():
        return thread_budget()
    return _work_threads(values, blocks)


def _work_threads(values: int, blocks: int) -> int:
    work = values * blocks // MIN_WORK_PER_THREAD
    # one thread without asking for the budget (>= 1; it reads the environment and the
    # process's cores): a search asks at each of its many short runs
    return 1 if work < 2 else min(thread_budget(), work)


def takes_threads(values: int, blocks: int) -> bool:
    """Whether ``blocks`` blocks of ``values`` values have the work for more than one
    of :func:`run_blocks`' threads (:func:`default_threads` but for
    ``$RESDENOISE_THREADS``): the one rule of the callers that keep a run on one thread
    (:class:`StackRun`) or pair two runs (the refine, :mod:`resdenoise.autoparams`)."""
    return _work_threads(values, blocks) > 1


class InPlaceRun:
    """``run(u, blocks)``: diffusion blocks on ``u`` in place, as one tile on one thread.

    The numbers of :func:`run_blocks` (which do not depend on its tiles or
    threads), without its checks and set-up on every call: for a search's many
    short runs of one small array of ``shape`` (float64, or ``dtype``) between its checkpoints
    (:mod:`resdenoise.autoparams`), where that set-up costs as much as a few blocks.
    """

    def __init__(self, phi, tau: float, h: float, shape: tuple, dtype=np.float64):
        _check_step(tau, h)
        self.shape = tuple(shape)
        check_signal_shape(self.shape)  # SignalError, as run_blocks refuses such a signal
        self.dtype = _working_dtype(None, dtype)
        self.step = _Stepper(phi, self.dtype, tau, h)
        self.ws = self.step.workspace(self.shape[0], self.shape[1:])

    def __call__(self, u: np.ndarray, blocks: int) -> np.ndarray:
        """``blocks`` blocks (a whole number from 0 to :data:`MAX_BLOCKS`, as
        :func:`run_blocks`' ``n_blocks``, else :class:`ParameterError`) on ``u`` in
        place; ``u`` returned."""
        _check_writeable("u", u, self.shape, self.dtype)
        if type(blocks) is not int or not 0 <= blocks <= MAX_BLOCKS:  # (no check's cost)
            blocks = check_blocks("blocks", blocks, minimum=0)
        if blocks:
            self.step.run(u, blocks, self.ws)
        return u


#: A search runs its stack in groups of at most this many channels where the engine's
#: loop is compiled: its Perona-Malik loop has its own AVX2 code for up to 4 float64
#: channels and for exactly 8 (not 5 to 7), and the other loops keep a narrower stack in
#: cache (a windowed search's 8 to 64 channels ran 10-40 % slower per block as one array,
#: the same numbers) ...
CHANNEL_GROUP = 4
#: ... from one checkpoint to the next this many blocks apart or more: a shorter run
#: does not repay the groups' copies and the engine's set-up of each group's call.
GROUP_BLOCKS = 16


#: A stack of at most this many values runs as one tile (the engine would cut a
#: compiled run of more than 16384 values into tiles with halos, for the cache and the
#: threads; a search's short runs of a few windows fit the cache and get one thread).
UNTILED_VALUES = 1 << 16


class StackRun:
    """A search's stack (n, channels) advanced from checkpoint to checkpoint, in
    place (:mod:`resdenoise.autoparams`): in groups of :data:`CHANNEL_GROUP` channels where that is
    faster (:data:`GROUP_BLOCKS`), copied out of the stack and back.  The channels
    do not interact, so the numbers are those of one run of the whole stack;
    ``stack`` itself is not modified unless ``own`` (the caller's to give away).
    A float32 stack runs in float32 (a search's estimate, where the caller finds
    float32's rounding far below its noise), anything else in float64.

    An array of at most :data:`COMPILED_TILE_VALUES` (one tile of the engine's
    own), or of at most :data:`UNTILED_VALUES` with a run too short for a second
    thread, runs through one :class:`InPlaceRun` kept for the
    search: one tile, one thread, no set-up per checkpoint (the same numbers)."""

    def __init__(self, stack: np.ndarray, phi, tau: float, h: float, own: bool = False):
        self.phi, self.tau, self.h = phi, tau, h
        dtype = _working_dtype(stack, None)  # float32 stays float32 (a search's estimate)
        own = own and stack.dtype == dtype and stack.flags.c_contiguous
        self.u = stack if own and stack.flags.writeable else np.array(stack, dtype=dtype)
        c = stack.shape[1]
        wide = c > CHANNEL_GROUP and backend_for(phi) == "compiled"
        self.cuts = list(range(0, c, CHANNEL_GROUP)) if wide else []
        self.groups = [np.empty((len(stack), min(CHANNEL_GROUP, c - i)), dtype) for i in self.cuts]
        self.runs: dict = {}  # InPlaceRun by (shape, side), made when first needed
        self.spare: np.ndarray | None = None  # the other buffer of an advance that keeps
        self.tail: np.ndarray | None = None  # advance_beside's copy of the last rows

    @staticmethod
    def _one_tile(values: int, blocks: int) -> bool:
        """Whether a run of ``values`` values goes through one kept InPlaceRun (one thread)."""
        small = values <= COMPILED_TILE_VALUES
        return small or (values <= UNTILED_VALUES and not takes_threads(values, blocks))

    def _run(self, u: np.ndarray, blocks: int, src: np.ndarray | None = None, side=0) -> None:
        """``blocks`` blocks of ``src`` (default u itself) written into u; ``side``: the
        thread (0 the caller's, 1 the helper's), each with its own kept runs."""
        src = u if src is None else src
        if self._one_tile(u.size, blocks):
            if src is not u:
                np.copyto(u, src)
            self._kept_run(u.shape, side)(u, blocks)
        else:  # out of place where src is not u: the first sweep reads src
            run_blocks_unchecked(src, self.phi, self.tau, blocks, self.h, out=u)

    def advance(self, blocks: int, keep: bool = False) -> np.ndarray:
        """Run ``blocks`` more blocks; the whole stack after them.

        ``keep``: the stack before them (the array the last advance returned)
        stays as it is until the next advance that keeps: the blocks are
        written into a second buffer (the two take turns), so that a search
        holds its best checkpoint without copying it (the same numbers).
        """
        src = self._turn(keep)
        if not self.groups or blocks < GROUP_BLOCKS:
            self._run(self.u, blocks, src)
            return self.u
        groups = list(zip(self.cuts, self.groups, strict=True))

        def run(share, side):
            for i, g in share:
                np.copyto(g, src[:, i : i + g.shape[1]])
                self._run(g, blocks, side=side)

        half = len(groups) // 2
        # groups of one thread each (one tile): half of them on the helper thread
        paired = half and all(self._one_tile(g.size, blocks) for _, g in groups)
        work = sum(g.size for _, g in groups[half:]) * blocks if paired else None
        in_parallel(lambda: run(groups[:half], 0), lambda: run(groups[half:], 1), work)
        return np.concatenate(self.groups, axis=1, out=self.u)

    def advance_beside(
        self, blocks: int, other: Callable, rows: int, keep: bool = False, work=math.inf
    ):
        """``(advance(blocks, keep), other())``, ``other`` on the helper thread
        (:func:`resdenoise.pairs.in_parallel`) together with the stack's last ``rows``
        rows, so that two runs of unequal work (the refine's whole signal and its probe
        windows) keep both threads busy.  Each part runs with a halo of ``blocks`` rows
        from the other (a block reaches one row further: the rows kept are exact, as
        the engine's tiles), the helper's on a copy; the same numbers as
        :meth:`advance`.  ``work``: ``other``'s values x blocks (the helper's rows of the
        stack, where they go with it, are added here for
        :func:`resdenoise.pairs.in_parallel`), None where the pair is not worth the
        helper; then, or where the stack has channel groups or is too short for the cut,
        the two run as ``in_parallel(advance, other, work)``; where the pair would go in
        turn anyway (:func:`resdenoise.pairs.pairs_now`), the stack runs whole, one slab,
        without the cut's copies (the same numbers)."""
        n = len(self.u)
        cut = n - rows  # the first row of the helper's part
        whole = self.groups or work is None or blocks < 1
        if whole or rows < 1 or cut - blocks < 0 or cut + blocks > n:
            return in_parallel(functools.partial(self.advance, blocks, keep), other, work)
        size = n - cut + blocks  # the helper's rows, with their halo
        work += size * (self.u.size // n) * blocks
        src = self._turn(keep)
        dst = self.u
        if not pairs_now(work):  # the two in turn: the stack whole, no cut to copy
            return dst, in_parallel(functools.partial(self._whole, src, blocks), other, work)[1]
        # read before the head's run writes over it, into a copy kept for the next call
        if self.tail is None or len(self.tail) < size:
            self.tail = np.empty((size, *src.shape[1:]), src.dtype)
        tail = self.tail[:size]
        np.copyto(tail, src[cut - blocks :])

        def head():
            part = dst[: cut + blocks]
            if src is not dst:
                np.copyto(part, src[: cut + blocks])
            self._slab(part, blocks, 0)

        def rest():
            result = other()
            self._slab(tail, blocks, 1)
            return result

        _, result = in_parallel(head, rest, work)
        dst[cut:] = tail[blocks:]
        return dst, result

    def _whole(self, src: np.ndarray, blocks: int) -> None:
        """:meth:`advance_beside`'s two parts as one: ``blocks`` blocks of ``src`` into the
        stack (one slab, the caller's side's kept run: the numbers of the parts)."""
        if src is not self.u:
            np.copyto(self.u, src)
        self._slab(self.u, blocks, 0)

    def _slab(self, part: np.ndarray, blocks: int, side: int) -> None:
        """``blocks`` blocks on ``part`` (rows of the stack's shape) in place, one thread:
        the side's one kept InPlaceRun's loop, whatever the part's length."""
        run = self._kept_run(self.u.shape, side)
        run.step.run(part, blocks, run.ws)

    def _kept_run(self, shape: tuple, side: int) -> InPlaceRun:
        """The InPlaceRun kept for arrays of ``shape`` on ``side``'s thread (made once)."""
        run = self.runs.get((shape, side))
        if run is None:
            run = self.runs[(shape, side)] = InPlaceRun(
                self.phi, self.tau, self.h, shape, self.u.dtype
            )
        return run

    def _turn(self, keep: bool) -> np.ndarray:
        """The stack before a run (returned); with ``keep``, the run's output goes to the
        spare buffer (the two take turns) and the stack before stays as it is."""
        src = self.u
        if keep:
            if self.spare is None:
                self.spare = np.empty_like(src)
            self.u, self.spare = self.spare, src
        return src


def run_strided(
    u: np.ndarray, nl, tau: float, blocks: int, stride: int, h: float = 1.0
) -> np.ndarray:
    """``blocks`` diffusion blocks of differences with stride ``stride`` (reflecting ends).

    ``u_i += tau (Phi(u_{i+s} - u_i) - Phi(u_i - u_{i-s}))``, zero flux where
    ``i + s`` or ``i - s`` leaves the signal: the single-scale block on each
    interleaved subsequence ``u[r::s]`` (differences divided by ``h``).
    float32 stays float32, anything else is computed in float64.

    The ``stride`` interleaved subsequences ``u[r::stride]`` (for every
    channel) are the channels of :func:`run_blocks`:
    those with one more sample in one call, the others in another.  ``blocks``: as
    :func:`run_blocks`' ``n_blocks`` (0 to :data:`MAX_BLOCKS`).  ``u`` is checked as
    :func:`run_blocks` checks it (:class:`SignalError`: complex, not shaped ``(n,)`` or
    ``(n, channels)``, a sample NaN or infinite).
    """
    return run_strided_unchecked(_checked_signal(u, None), nl, tau, blocks, stride, h)


def run_strided_unchecked(
    u: np.ndarray, nl, tau: float, blocks: int, stride: int, h: float = 1.0
) -> np.ndarray:
    """:func:`run_strided` of a real ``u`` whose samples are not looked at (as
    :func:`run_blocks_unchecked`): for the library's own runs of what it checked or made
    (a level's box averages, a scale of a cascade, a network's strided group)."""
    blocks = check_blocks("blocks", blocks, minimum=0)
    stride = check_count("stride", stride)
    u = np.asarray(u)
    u = u if u.dtype == np.float32 else u.astype(float, copy=False)
    shape = u.shape
    u2 = u.reshape(shape[0], -1)
    if stride == 1:
        return run_blocks_unchecked(u2, nl, tau, blocks, h).reshape(shape)
    n, c = u2.shape
    q, rem = divmod(n, stride)
    out = u2.copy()
    # the first q x stride samples as (q, stride, channels): subsequence r is column r
    # (views and strided copies: fancy indexing took two thirds of the cascade's time)
    grid, tail = out[: q * stride].reshape(q, stride, c), out[q * stride :]
    for first, last, length in ((0, rem, q + 1), (rem, stride, q)):
        if last <= first or length < 2:
            continue  # subsequences of one sample: nothing to diffuse
        sub = grid[:, first:last]
        if length > q:  # the subsequences with one more sample: the tail's
            sub = np.concatenate((sub, tail.reshape(1, rem, c)))
        sub = sub.reshape(length, -1)  # (length, subsequences x channels)
        res = run_blocks_unchecked(sub, nl, tau, blocks, h).reshape(length, last - first, c)
        grid[:, first:last] = res[:q]
        if length > q:
            tail[...] = res[q]
    return out.reshape(shape)


def _writeable_like(a, shape: tuple, dtype) -> bool:
    """True when ``a`` is a writeable C-contiguous array of this shape and dtype."""
    return (
        isinstance(a, np.ndarray)
        and a.shape == shape
        and a.dtype == dtype
        and a.flags.c_contiguous
        and a.flags.writeable
    )


def _check_writeable(name: str, a, shape: tuple, dtype) -> None:
    """:class:`ParameterError` naming ``name`` unless ``a`` is :func:`_writeable_like`."""
    if not _writeable_like(a, shape, dtype):
        raise ParameterError(
            f"{name} must be a writeable C-contiguous {dtype} array of shape {shape}, got "
            + (f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__)
        )


def _checked_out(out, f: np.ndarray) -> np.ndarray:
    """``out`` if it can take the result for f, else :class:`ParameterError`."""
    _check_writeable("out", out, f.shape, f.dtype)
    if np.may_share_memory(out, f) and out.ctypes.data != f.ctypes.data:
        raise ParameterError("out overlaps the input: it may only be the input itself (in place)")
    return out


# --------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------


def _working_dtype(u, dtype) -> np.dtype:
    if dtype is None:
        given = np.asarray(u).dtype  # float32 in either byte order ('>f4': FITS)
        return np.dtype(np.float32 if given.kind == "f" and given.itemsize == 4 else np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ParameterError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return dt


def _check_step(tau, h) -> None:
    """The rule of :func:`resdenoise.errors.is_positive` for tau and h: an infinite tau
    would give NaN, not a refusal."""
    if not (is_positive(tau) and is_positive(h)):
        raise ParameterError(f"tau and h must be finite numbers > 0, got tau={tau!r}, h={h!r}")


def _positive_int(name: str, value, default):
    return default if value is None else check_count(name, value)


#: Where Linux tells how many tasks run or wait for a core now (its fourth field).
LOADAVG = "/proc/loadavg"


def running_now(looks: int = 5) -> float | None:
    """The tasks running or waiting for a core on the machine now, this thread
    included: the median of ``looks`` readings of :data:`LOADAVG` a millisecond apart
    (the 1-minute load average lags by a minute: a run started right after another
    sees the other's load).  None where the system does not tell."""
    counts = []
    for k in range(looks):
        try:
            with open(LOADAVG, "rb") as fh:
                counts.append(int(fh.read().split()[3].split(b"/")[0]))
        except (OSError, ValueError, IndexError):
            return None
        if k + 1 < looks:
            time.sleep(0.001)
    return float(np.median(counts))
