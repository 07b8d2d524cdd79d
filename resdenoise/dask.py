"""Filtering dask arrays: the one engine over chunks with halos (``resdenoise[dask]``).

m diffusion blocks move information m samples each way, so a chunk extended
by m samples on both sides gives its core bit for bit as the whole run does
(see :mod:`resdenoise.stream`).  :func:`filter_array` says exactly that to
:func:`dask.array.map_overlap`: a halo of the plan's number of blocks along
time, no padding at the true ends (the engine's reflecting boundary applies
there, as in the whole signal), every extended chunk through
:func:`resdenoise.filters.run_plan`.  The result equals the in-memory run
bit for bit, whatever the chunking.

:func:`noise_sigma` is the commands' noise estimate
(:func:`resdenoise.noise.estimate_noise`) of a dask array, computed as dask
reductions (per-chunk histograms of the values' bit patterns, summed),
never by gathering the signal: the exact quantile or median of
:class:`resdenoise.median.MedianSelect`, in its passes.  :func:`measure_array`
is the report of a run (:func:`resdenoise.filters.analyse_run`'s
dictionary) the same way: one :class:`resdenoise.measure.StreamMeasure` per
chunk, told the two samples before its chunk, merged in order.

Only this module imports dask; the base install and ``--help`` never do.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os

import numpy as np

from . import noise
from .errors import (
    ParameterError,
    SignalError,
    check_signal_shape,
    import_extra,
    non_finite,
    one_line,
)
from .filters import run_plan
from .measure import StreamMeasure
from .median import MedianSelect
from .noise import DEFAULT_ESTIMATOR
from .wavelet import MAD_FACTOR, haar_details

__all__ = ["filter_array", "measure_array", "noise_sigma", "run_tasks"]

#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT = 10
#: Times Dask runs a task again after an error (a lost worker's tasks are
#: rescheduled by the scheduler itself).
RETRIES = 2


def _dask_array(who: str):
    return import_extra("dask.array", f"resdenoise.dask.{who} needs dask", "dask")


def _as_time_chunked(array, who: str):
    """``array`` as a dask array ``(samples, channels)`` chunked along time only.

    ``who`` (the function's name) is named where ``array`` is no dask array (a
    ParameterError); an array that is no signal is refused as
    :func:`resdenoise.api.as_signal` refuses it in memory: a :class:`SignalError`
    (complex or not numbers, not ``(n,)`` or ``(n, channels)``, fewer than 2 samples,
    no channels), before anything is computed."""
    da = _dask_array(who)
    if not isinstance(array, da.Array):
        raise ParameterError(f"{who} takes a dask array, not {type(array).__name__}")
    if array.dtype.kind == "c":  # not cast: that drops the imaginary part with a mere warning
        raise SignalError(
            f"the signal is complex ({array.dtype}); resdenoise filters real signals: pass "
            "array.real, or filter the real and imaginary parts one after the other"
        )
    if array.dtype.kind not in "biuf":
        raise SignalError(
            f"the signal must be numbers: a dask array of shape (n,) or (n, channels), "
            f"not of dtype {array.dtype}"
        )
    check_signal_shape(array.shape)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if array.ndim == 2 and len(array.chunks[1]) > 1:
        array = array.rechunk({1: -1})  # a block runs on every channel of its samples
    return array


def filter_array(array, plan, *, dtype=None, threads: int | None = 1):
    """The plan's blocks on a dask array, lazily, equal to ``run_plan`` bit for bit.

    Parameters
    ----------
    array : dask.array.Array
        Shape ``(samples,)`` or ``(samples, channels)``, chunked along time
        (chunks across channels are joined).  Chunks shorter than the halo
        are merged by dask; a halo longer than the signal makes one chunk.
    plan : resdenoise.filters.Plan
        Any plan the commands make (a network's too); its ``halo`` (the
        blocks; a multiscale cascade's sum of stride x blocks) is the halo.
    dtype : {None, "float64", "float32"}
        Working precision, as :func:`resdenoise.filters.run_plan`.
    threads : int, optional
        Engine threads per chunk (default 1: dask already runs chunks side by side).

    Returns
    -------
    dask.array.Array
        The filtered signal, same shape and chunks, not computed yet; its dtype
        is the one computed (``dtype``, else float32 for float32, float64 for
        every other float).  A chunk holding a NaN or an infinite sample raises
        :class:`~resdenoise.errors.SignalError` when computed.
    """
    array = _as_time_chunked(array, "filter_array")
    if plan.prestage is not None:
        raise ParameterError(
            "an impulse pre-stage needs the whole signal (its scale is a median over all "
            "samples); run it with resdenoise.filters.run_plan"
        )
    halo = plan.halo
    # what run_plan computes: float32 stays float32, every other float is float64
    kept = np.float32 if array.dtype == np.float32 else np.float64
    out_dtype = np.dtype(dtype) if dtype is not None else np.dtype(kept)

    def blocks(x: np.ndarray) -> np.ndarray:
        found = non_finite(x)
        if found:  # refused as the one-call functions refuse it, not spread by the blocks
            channel, (_, value) = next(iter(found.items()))
            raise SignalError(
                f"a sample is {value} (channel {channel + 1}): the signal must be finite numbers"
            )
        return run_plan(plan, x, dtype=dtype, threads=threads)

    if halo == 0 or len(array.chunks[0]) == 1:
        return array.map_blocks(blocks, dtype=out_dtype)
    if halo >= array.shape[0] - 1:
        whole = array.rechunk({0: -1})
        return whole.map_blocks(blocks, dtype=out_dtype).rechunk(array.chunks)
    depth = {0: halo} if array.ndim == 1 else {0: halo, 1: 0}
    out = array.map_overlap(blocks, depth=depth, boundary="none", trim=True, dtype=out_dtype)
    # chunks shorter than the halo were merged for the run; give the caller's back
    return out if out.chunks == array.chunks else out.rechunk(array.chunks)


def noise_sigma(array, dtype=None, estimator: str = DEFAULT_ESTIMATOR) -> np.ndarray:
    """:func:`resdenoise.noise.estimate_noise` of a dask array, as dask reductions.

    The same estimate, bit for bit, as the commands report for the signal in
    memory, without gathering it: ``quiet-windows`` (the default; ``mad-haar``
    for signals too short for it, as :func:`resdenoise.noise.estimator_for`
    says) takes the exact ``QUANTILE`` of the third differences' window
    energies, ``mad-haar`` the exact median of the finest Haar details.  The
    array is rechunked so that no window (no detail pair) straddles two
    chunks; each pass of the selection sums per-chunk histograms (or collects
    the few values of a middle bin); typically two passes.

    Returns
    -------
    ndarray
        The noise estimate per channel, shape ``(channels,)``.
    """
    array = _as_time_chunked(array, "noise_sigma")
    if dtype is not None and np.dtype(dtype) != np.float64:
        array = array.astype(dtype)  # the estimate of the working-precision samples
    two = array if array.ndim == 2 else array[:, None]
    n = two.shape[0]
    name = noise.estimator_for(n, estimator)
    if name == "quiet-windows":
        length = noise.window_for(n)
        windows = (n - 3) // length
        # chunks of whole windows; each sees the 3 samples after it (none after the last)
        cut = _aligned_chunks(two.chunks[0], n, length)
        if len(cut) > 1 and cut[-1] < length + 3:  # a last chunk of no whole window
            cut = cut[:-2] + (cut[-2] + cut[-1],)
        two = two.rechunk({0: cut, 1: -1})
        # samples beyond quiet_windows.ENERGY_TOP: the energies of the samples / 2**shift, as in
        # memory (one more reduction, the largest |sample| of every channel)
        # (each channel's own: a quiet channel beside a loud one is its own signal)
        tops = abs(two).max(axis=0).compute() if two.size else np.zeros(two.shape[1])
        shift = np.array([noise.energy_shift(float(a)) for a in tops], dtype=int)
        if shift.any():
            two = two.map_blocks(np.ldexp, -shift[None, :], dtype=two.dtype)
        counts = tuple((k if i < len(cut) - 1 else k - 3) // length for i, k in enumerate(cut))
        values = [
            two[:, c].map_overlap(
                functools.partial(_energies, length=length),
                depth={0: (0, 3)},
                boundary="none",
                trim=False,
                dtype=np.float64,
                chunks=(counts,),
            )
            for c in range(two.shape[1])
        ]
    else:
        n2 = (n // 2) * 2
        two = two[:n2].rechunk({0: _aligned_chunks(two.chunks[0], n2, 2), 1: -1})
        halves = (tuple(k // 2 for k in two.chunks[0]),)
        values = [
            two[:, c].map_blocks(_abs_details, dtype=np.float64, chunks=halves)
            for c in range(two.shape[1])
        ]
    sigma = np.empty(len(values))
    for c, v in enumerate(values):
        select = MedianSelect(quantile=name == "quiet-windows")
        if name == "quiet-windows":  # digital silence left out, as in memory
            select.skip = _silent(two[:, c], v, length, windows)
        while not select.done:
            parts = v.map_blocks(
                _pass_part, select.plan(), dtype=object, chunks=((1,) * v.numblocks[0],)
            )
            for part in parts.compute():
                select.merge(part)
            select.end_pass()
        if name == "quiet-windows":
            used = windows - select.skip
            sigma[c] = np.ldexp(noise.sigma_from_energy(select.quantile, length, used), shift[c])
        else:
            sigma[c] = select.median / MAD_FACTOR
    return sigma


def measure_array(f, u, plan, verdict=None) -> dict:
    """The report of a run of ``plan`` from ``f`` to ``u``, as dask reductions.

    :func:`resdenoise.filters.analyse_run`'s dictionary (the per-channel
    ranges, max-min principle, sign changes, total variation, mean drift,
    a regularisation's energies and Euler-Lagrange residual, the noise
    estimate; ``verdict`` default ``plan.verdict()``) without gathering the
    signal: each chunk is measured by its own
    :class:`resdenoise.measure.StreamMeasure`, given the two samples before it
    (the difference, flux and residual across the cut are the chunk's), and
    the measures are merged in order.  Minima, maxima, sign changes, the
    residual and the verdicts equal the in-memory report exactly; sums (total
    variation, means, energies) to rounding (chunk sums added by ``math.fsum``).

    Parameters
    ----------
    f, u : dask.array.Array
        Input as given (the file's values) and output in the working
        precision, shape ``(samples,)`` or ``(samples, channels)`` (``u``
        e.g. from :func:`filter_array`), as ``analyse_run`` takes them.
    plan : resdenoise.filters.Plan

    Returns
    -------
    dict
        Without the per-scale checks of a multiscale plan (those need the
        whole signal).
    """
    dask = import_extra("dask", "resdenoise.dask.measure_array needs dask", "dask")
    f, u = _as_time_chunked(f, "measure_array"), _as_time_chunked(u, "measure_array")
    if f.shape != u.shape:
        raise ParameterError(f"f has shape {f.shape}, u {u.shape}; give a run's input and output")
    # tolerances in the ulp of the coarser precision, as stability.measure_channels
    dtype = np.float32 if np.float32 in (f.dtype, u.dtype) else np.float64
    sigma = noise_sigma(f)
    u = u.rechunk(f.chunks)
    channels = 1 if f.ndim == 1 else f.shape[1]
    lo, hi = dask.compute(f.min(axis=0), f.max(axis=0))
    lo, hi = np.atleast_1d(lo), np.atleast_1d(hi)
    # each channel's own, for its checks' tolerances; the largest as tolerances takes it
    amplitudes = [abs(float(a)) for a in np.maximum(-lo, hi)]
    amplitude = float(np.max(amplitudes))
    frames = f.shape[0]
    starts = np.cumsum((0,) + f.chunks[0])
    parts = []
    part = dask.delayed(_measure_part, pure=False)
    for i, (fb, ub) in enumerate(zip(f.to_delayed().ravel(), u.to_delayed().ravel(), strict=True)):
        a = max(int(starts[i]) - 2, 0)
        before = (f[a : starts[i]], u[a : starts[i]]) if i else (None, None)
        parts.append(part(plan, (channels, amplitude, amplitudes, dtype, frames), fb, ub, *before))
    measures = dask.compute(*parts)
    whole = measures[0]
    for m in measures[1:]:
        whole.merge(m)
    return whole.report(verdict or plan.verdict(), sigma, noise.estimator_for(f.shape[0]))


def _measure_part(plan, signal: tuple, f, u, f_before, u_before) -> StreamMeasure:
    """One chunk's measure (``signal``: channels, amplitude, each channel's amplitude,
    dtype, frames of the whole; ``f_before``, ``u_before``: the rows before the chunk,
    or None)."""
    channels, amplitude, amps, dtype, frames = signal
    m = StreamMeasure(
        plan, channels, amplitude, dtype, frames=frames, per_add=True, amplitudes=amps
    )
    if f_before is not None:
        m.after(f_before, u_before)
    m.add(f, u)
    return m


def _aligned_chunks(chunks: tuple, n: int, step: int) -> tuple:
    """Chunk sizes near ``chunks`` with every boundary a multiple of ``step``, summing to ``n``."""
    out, start = [], 0
    for b in np.cumsum(chunks)[:-1]:
        stop = int(b) - int(b) % step
        if stop > start:
            out.append(stop - start)
            start = stop
    if n > start:
        out.append(n - start)
    return tuple(out)


def _silent(column, energies, length: int, windows: int) -> int:
    """:func:`resdenoise.quiet_windows.silent_count` of a column (dask, its window
    ``energies``): its third differences not 0 counted only where a window is exact."""

    def nonzero() -> int:
        counts = column.map_overlap(
            functools.partial(_nonzero, length=length),
            depth={0: (0, 3)},
            boundary="none",
            trim=False,
            dtype=np.int64,
            chunks=((1,) * column.numblocks[0],),
        )
        return int(counts.sum().compute())

    exact = int((energies == 0.0).sum().compute())
    return noise.silent_count(exact, windows, nonzero, length)


def _nonzero(x: np.ndarray, length: int) -> np.ndarray:
    count = (max(x.size - 3, 0) // length) * length
    return np.array([noise.nonzero_differences(x[: count + 3], count)], dtype=np.int64)


def _energies(x: np.ndarray, length: int) -> np.ndarray:
    return noise.window_energies(np.ascontiguousarray(x, dtype=np.float64), length)


def _abs_details(x: np.ndarray) -> np.ndarray:
    return np.abs(haar_details(x))


def _pass_part(w: np.ndarray, plan) -> np.ndarray:
    """One chunk's share of a median pass, in a 1-element object array (for dask)."""
    part = MedianSelect.part(plan)
    part.feed(w)
    out = np.empty(1, dtype=object)
    out[0] = part
    return out


def run_tasks(
    address: str,
    function,
    shared,
    arguments: list,
    *,
    written=None,
    on_stop=None,
    cleanup=None,
):
    """Run ``function(shared, *args, on_commit=..., progress=...)`` for each ``args`` of ``arguments``
    on the Dask scheduler at ``address``.

    Yields ``(index, result)`` as each task finishes, once; ``result`` is the
    exception when a task failed even after :data:`RETRIES` more tries, or a
    :class:`SignalError` for every task not finished when the cluster has had no
    worker for :func:`no_worker_timeout` seconds (the tasks are cancelled).  A task
    whose workers died while it ran (Dask's ``KilledWorker``: its own memory, or a
    neighbour's) is run again once the others are done, alone, and only where it
    kills its worker then too is it a :class:`SignalError` of one line.  Before
    anything, the address must greet as a Dask scheduler (:func:`_greeted`).

    ``shared`` is sent to the scheduler once (a task of its own that every
    file's task depends on, run again should its worker be lost), not with each
    task: what a task carries is its ``args`` alone.

    A task's ``on_commit()`` (:func:`resdenoise.pipeline.run_file`'s) is called just
    before its outputs are renamed into place: it holds the batch's cluster lock
    until the task ends and refuses (a :class:`SignalError`, nothing renamed) once
    the batch was stopped.  Stopped on the way out of an exception (a signal's
    :class:`Interrupted`) the client takes that lock, marks the batch stopped and
    cancels its tasks before it lets go; a task that put outputs in place before
    then says so (``written(result)``: the paths) and ``on_stop(paths)`` gets them
    all, so that the signal's message names every output the cluster wrote.  A task's
    ``progress(...)`` (run_file's) ends it (a :class:`SignalError`) once the batch is
    stopped, looking at most once a second.  ``cleanup()`` (a module-level function: sent
    by name) is run by each worker as it closes (a scale-down, a drain: SIGTERM to it or
    its nanny), before its nanny kills it: the temporaries of its files still running go
    with it.

    Raises
    ------
    ParameterError
        ``$RESDENOISE_NO_WORKER_TIMEOUT`` is no number of seconds (nothing is run).
    SignalError
        The scheduler cannot be reached, or what answers is no Dask scheduler, or a
        worker runs another resdenoise than this process (:func:`_same_build`); nothing
        is run.
    """
    import uuid

    wait = no_worker_timeout()  # a setting that cannot be one: refused before anything
    distributed = import_extra(
        "distributed", "--scheduler (or RESDENOISE_SCHEDULER) needs dask.distributed", "dask"
    )
    _greeted(distributed, address)
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - a MemoryError too: the peer's bytes, not ours
        raise _unreachable(address, exc) from None
    name = f"resdenoise-batch-{uuid.uuid4().hex}"
    with client:
        _same_build(client, address)
        futures: dict = {}
        claims = distributed.Queue(name, client=client)  # made here, closed at the end
        stopped = False
        try:
            if cleanup is not None:  # every worker, those that join later too
                client.register_plugin(_plugin_class()(cleanup))
            common = client.submit(_shared, shared, pure=False)
            submit = functools.partial(
                client.submit, _task, function, common, pure=False, retries=RETRIES
            )
            for i, args in enumerate(arguments):
                futures[submit(args, name, written)] = i
            killed = []  # files whose worker died while they ran: run again, each alone
            for future, outcome in _watch(client, list(futures), address, wait):
                if isinstance(outcome, distributed.KilledWorker):
                    killed.append(futures[future])
                else:
                    yield futures[future], outcome
            for i in killed:  # its own memory, or a neighbour's that took its worker down
                task = submit(arguments[i], name, written)
                futures[task] = i
                for _, outcome in _watch(client, [task], address, wait):
                    if isinstance(outcome, distributed.KilledWorker):
                        outcome = _died(outcome)
                    yield i, outcome
        except BaseException:  # a signal (Interrupted), or the caller stopped reading
            stopped = True
            _stop(distributed, client, list(futures), name, claims, on_stop)
            raise
        finally:
            _release(distributed, client, name, claims, stopped)


def _watch(client, watched: list, address: str, wait: float):
    """``(future, outcome)`` of each of ``watched`` as it finishes (a finished task's result
    or exception, :func:`_outcome`), each once; all that are left fail
    (:func:`_no_workers`) once the cluster has had no worker for ``wait`` seconds."""
    import time

    from distributed import as_completed

    done = as_completed(watched, loop=client.loop)
    idle_since = None
    told: set = set()  # the futures yielded
    looked = time.monotonic()
    while not done.is_empty():
        if not done.has_ready():
            time.sleep(0.05)
            now = time.monotonic()
            if now - looked >= 1:  # a round trip to the scheduler a second
                looked = now
                try:
                    workers = client.nthreads()
                except OSError:  # the scheduler went away: every file left says so, once
                    for future in watched:
                        if future not in told:
                            yield future, _gone(address)
                    return
                if workers:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since >= wait:
                    yield from _no_workers(client, watched, told, (address, wait))
                    return
            continue
        for future in done.next_batch(block=False):
            told.add(future)
            outcome = _outcome(future)
            if getattr(outcome, "reason", None) == "scheduler-connection-lost":
                outcome = _gone(address)
            yield future, outcome


class SchedulerGone(SignalError):
    """A task's outcome when the scheduler went away before its result came back: its
    worker may have put what it writes in place just before (a batch looks,
    :func:`resdenoise.batch.run_batch`)."""


def _gone(address: str) -> SchedulerGone:
    """A file's failure when the scheduler went away before its result came back."""
    gone = SchedulerGone(
        f"the Dask scheduler at {address} went away before this file's result came back"
    )
    gone.address = address
    return gone


def _died(exc) -> SignalError:
    """A file's ``KilledWorker`` as one line: its workers died while it ran alone."""
    tries = getattr(exc, "allowed_failures", None)
    times = "each time" if tries is None else f"each of {tries + 1} times"
    return SignalError(
        f"the Dask worker running this file died {times}, the last time with no other "
        "file of the batch beside it: out of memory? (the workers' --memory-limit or the "
        "machine's; the worker's log says); give the workers more memory, or run this file "
        "with a shorter --chunk-size"
    )


#: Seconds a peer that accepted the connection has to greet as a Dask scheduler.
GREETING_TIMEOUT = 5


def _build() -> tuple:
    """This process's resdenoise: its version (the commit) and the step loop its runs take
    (``compiled``, or ``numpy``: not built, or ``RESDENOISE_ENGINE=numpy``)."""

    def build():  # defined here: pickled by value, so that a worker of any version runs it
        import os

        import resdenoise

        try:
            from resdenoise import _kernels  # noqa: F401
        except ImportError:
            return resdenoise.__version__, "numpy"
        engine = os.environ.get("RESDENOISE_ENGINE") or "auto"
        return resdenoise.__version__, "numpy" if engine == "numpy" else "compiled"

    return build


def _same_build(client, address: str) -> None:
    """SignalError where a worker of the cluster runs another resdenoise than this process
    (:func:`_build`: another version, or another step loop) or none: a worker started
    before an upgrade keeps the code it loaded, and would fail every file (a task's
    arguments are the new code's) or write other numbers.  Once per batch, before any task
    (workers that join later are not asked)."""
    build = _build()
    here = build()
    try:
        found = client.run(build, on_error="return")
    except (OSError, TimeoutError):  # the scheduler gone already: the run says so, file by file
        return
    other: dict = {}
    for worker, there in sorted(found.items()):
        if there != here:  # (an exception: the worker could not run it)
            key = there if isinstance(there, tuple) else f"{type(there).__name__}: {there}"
            other.setdefault(key, []).append(worker)
    if not other:
        return
    there, workers = next(iter(other.items()))
    who = (
        f"{len(workers)} of the {len(found)} Dask workers at {address} "
        f"({', '.join(workers[:2])}{', ...' if len(workers) > 2 else ''})"
    )
    if isinstance(there, str):
        raise SignalError(
            f"{who} cannot tell which resdenoise they run ({one_line(there)}): install this "
            f"resdenoise ({here[0]}) where they run, then restart them ('dask worker "
            "ADDRESS' again); nothing run"
        )
    raise SignalError(
        f"{who} run resdenoise {there[0]} with the {there[1]} step loop, this machine "
        f"resdenoise {here[0]} with the {here[1]} one: a worker keeps the code it loaded "
        "(started before an upgrade?): restart the workers ('dask worker ADDRESS' again, "
        "or Client.restart()) where they have this version installed; nothing run"
    )


def _unreachable(address: str, exc: BaseException) -> SignalError:
    return SignalError(
        f"cannot reach the Dask scheduler at {address!r} (--scheduler, or "
        f"RESDENOISE_SCHEDULER): {exc}; start one with 'dask scheduler' and workers "
        "with 'dask worker ADDRESS'"
    )


def _greeted(distributed, address: str) -> None:
    """SignalError unless a Dask scheduler answers at ``address`` within
    :data:`CONNECT_TIMEOUT` + :data:`GREETING_TIMEOUT` seconds: the whole handshake
    bounded, not only the TCP connection (``Client`` would wait for ever on a port that
    accepts and stays silent: an HTTP server, the dashboard's 8787), and bytes that are
    no Dask message (an SSH server's greeting, read as a frame of exbibytes) said as
    such, not as this machine's memory.  One connection, closed at once; run in a
    thread of its own (the caller may be in an event loop: a notebook).  Only for
    ``tcp://`` and ``tls://`` addresses (a bare ``host:port`` is tcp)."""
    import asyncio
    import threading

    try:
        scheme = distributed.comm.parse_address(address)[0]
    except Exception:  # noqa: BLE001 - a bad address: Client says what is wrong with it
        return
    if scheme not in ("tcp", "tls"):  # inproc:// lives in the caller's loop, ucx:// ...
        return
    outcome: list = []

    async def probe():
        connect = distributed.comm.connect(
            address,
            timeout=CONNECT_TIMEOUT,
            **distributed.Security().get_connection_args("client"),
        )
        try:
            comm = await asyncio.wait_for(connect, CONNECT_TIMEOUT + GREETING_TIMEOUT)
        except asyncio.TimeoutError:
            return "silent"
        except (OSError, ValueError) as exc:  # refused, no route, a bad address
            return exc
        except Exception:  # noqa: BLE001 - a MemoryError, a decoding error: not Dask's bytes
            return "garbled"
        await comm.close()
        return None

    def run():
        try:
            outcome.append(asyncio.run(probe()))
        except Exception as exc:  # noqa: BLE001 - the probe itself failed: Client will say
            outcome.append(exc)

    thread = threading.Thread(target=run, name="resdenoise-scheduler-probe", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + GREETING_TIMEOUT + 5)
    found = outcome[0] if outcome else "silent"
    if found is None:
        return
    if isinstance(found, BaseException):
        raise _unreachable(address, found) from None
    what = (
        f"said nothing a Dask scheduler says within {GREETING_TIMEOUT} s"
        if found == "silent"
        else "sent bytes that are no Dask message"
    )
    raise SignalError(
        f"{address!r} (--scheduler, or RESDENOISE_SCHEDULER) accepted the connection but "
        f"is no Dask scheduler: it {what}; a scheduler listens on 8786 by default, its "
        "dashboard (a web page) on 8787: give the address 'dask scheduler' prints as "
        "'Scheduler at:'"
    )


#: Seconds a batch waits while the cluster has no worker before it fails the files not
#: yet run (a cluster that lost its workers, or a scheduler none was started for), where
#: ``$RESDENOISE_NO_WORKER_TIMEOUT`` says none (:func:`no_worker_timeout`).
NO_WORKER_TIMEOUT = 60


def no_worker_timeout() -> float:
    """The seconds a batch waits for a worker: ``$RESDENOISE_NO_WORKER_TIMEOUT`` (a number
    above 0, ``600``, ``2.5``: workers that an autoscaler starts in minutes), else
    :data:`NO_WORKER_TIMEOUT` (unset or empty).

    Raises
    ------
    ParameterError
        Any other value (``0``, ``-1``, ``inf``, ``1m``): the program refuses it before any
        work (exit code 2, :class:`resdenoise.cli.options.Command`), the library as a batch
        on a cluster starts; a value that cannot mean seconds is said, not ignored."""
    env = os.environ.get("RESDENOISE_NO_WORKER_TIMEOUT", "")
    if not env:
        return float(NO_WORKER_TIMEOUT)
    try:
        seconds = float(env) if env.strip().isascii() else math.nan
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ParameterError(
            f"RESDENOISE_NO_WORKER_TIMEOUT={env!r}: give the seconds a batch waits while "
            f"its cluster has no worker, a number above 0 (default {NO_WORKER_TIMEOUT}), "
            "or unset it"
        )
    return seconds


#: Seconds a stopped batch waits for its tasks that are renaming outputs into place.
STOP_TIMEOUT = 30


def _plugin_class():
    """The worker plugin of :func:`run_tasks` (a ``distributed.WorkerPlugin``, made when
    first needed: this module imports no dask as it is imported); found by name on the
    workers (:func:`__getattr__`)."""
    found = globals().get("_TemporariesRemoved")
    if found is not None:
        return found
    distributed = import_extra("distributed", "a batch's worker needs dask.distributed", "dask")

    class _TemporariesRemoved(distributed.WorkerPlugin):
        """``cleanup()`` as the worker closes (its files' temporaries removed)."""

        idempotent = True
        name = "resdenoise-temporaries"

        def __init__(self, cleanup):
            self.cleanup = cleanup

        def teardown(self, worker):
            self.cleanup()

    _TemporariesRemoved.__module__ = __name__
    globals()["_TemporariesRemoved"] = _TemporariesRemoved
    return _TemporariesRemoved


def __getattr__(name: str):
    if name == "_TemporariesRemoved":  # a worker unpickling the plugin
        return _plugin_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _shared(shared):
    """What every task of a batch shares: sent to the scheduler once, as this task."""
    return shared


def _no_workers(client, watched: list, told: set, where: tuple):
    """``(future, outcome)`` of each of ``watched`` not yielded yet (not in ``told``), once: a
    finished one's outcome, every other failed with the reason (its task cancelled; not read
    back from ``as_completed``, where the cancellation would yield it a second time).
    ``where``: the scheduler's address and the seconds waited."""
    address, wait = where
    left = [f for f in watched if f not in told and not f.done()]
    ended = [f for f in watched if f not in told and f.done()]
    client.cancel(left, force=True)
    error = SignalError(
        f"not run: no Dask worker at {address} for {wait:g} s (the cluster lost its "
        f"workers, or none was started: 'dask worker {address}'; "
        "RESDENOISE_NO_WORKER_TIMEOUT=SECONDS waits longer)"
    )
    for future in ended:
        yield future, _outcome(future)
    for future in left:
        yield future, error


def _outcome(future):
    """A finished task's result, or the exception it failed with (that file fails, the
    others go on)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - one file's failure, not the batch's
        return exc


def _release(distributed, client, name: str, claims, stopped: bool) -> None:
    """What a batch made on the scheduler, let go: its queue, and, when it ran to its
    end, its lock and its stop event (a stopped batch's event stays set for its tasks)."""
    with contextlib.suppress(Exception):  # the scheduler gone: nothing left there
        claims.close()
    if stopped:
        return
    with contextlib.suppress(Exception):
        distributed.Event(name, client=client).clear()
    with contextlib.suppress(Exception):
        lock = distributed.Lock(f"{name}-lock", scheduler_rpc=client.scheduler, loop=client.loop)
        lock.close()


def _stop(distributed, client, futures: list, name: str, claims, on_stop) -> None:
    """Stop a batch: no task renames anything once this returns (see :func:`run_tasks`)."""
    lock = distributed.Lock(f"{name}-lock", scheduler_rpc=client.scheduler, loop=client.loop)
    try:
        took = lock.acquire(timeout=STOP_TIMEOUT)
        distributed.Event(name, client=client).set()
        if took:
            lock.release()
        client.cancel(futures, force=True)
        paths: list = []
        while claims.qsize():
            paths.extend(claims.get(timeout=STOP_TIMEOUT))
    except Exception:  # noqa: BLE001 - the scheduler gone: its tasks cannot commit either
        return
    if on_stop is not None and paths:
        on_stop(paths)


class _Commit:
    """A task's ``on_commit``: the batch's lock taken (held until the task ends), and a
    refusal once the client stopped the batch (:func:`_stop`)."""

    def __init__(self, name: str):
        self.name = name
        self.lock = None
        self.looked = _monotonic()  # a task of a second or less: not a look

    def going_on(self, *progress) -> None:
        """A task's progress: once a second at most, a batch stopped ends it here (a
        :class:`SignalError`; its temporaries removed), not after its whole run."""
        now = _monotonic()
        if now - self.looked >= 1:
            self.looked = now
            import distributed

            if distributed.Event(self.name).is_set():
                raise SignalError("the batch was stopped (its client interrupted); nothing written")

    def __call__(self) -> None:
        distributed = import_extra("distributed", "a batch's task needs dask.distributed", "dask")
        lock = _LOCKS.get(self.name)
        if lock is None:  # one per batch in a worker process: registered once
            while len(_LOCKS) >= 4:  # the last few batches' only
                _LOCKS.pop(next(iter(_LOCKS)))
            lock = _LOCKS[self.name] = distributed.Lock(f"{self.name}-lock")
        lock.acquire()
        self.lock = lock
        if distributed.Event(self.name).is_set():
            raise SignalError("the batch was stopped (its client interrupted); nothing written")

    def finish(self, paths) -> None:
        """The task ended: the outputs it put in place told (while the lock is held)."""
        if self.lock is None:
            return
        try:
            if paths:  # into the client's queue (made by it: one round trip, not three)
                import distributed
                from distributed.utils import sync

                worker = distributed.get_worker()
                sync(worker.loop, worker.scheduler.queue_put, name=self.name, data=list(paths))
        finally:
            self.lock.release()
            self.lock = None


def _monotonic() -> float:
    import time

    return time.monotonic()


#: a worker process's lock of each of the last few batches it ran a task of (:class:`_Commit`)
_LOCKS: dict = {}


def _task(function, shared, args: tuple, name: str, written):
    """One task of :func:`run_tasks`, on a worker (one not started when its batch is
    stopped is cancelled; one started ends at its first progress, :meth:`_Commit.going_on`)."""
    commit = _Commit(name)
    result = None
    try:
        result = function(shared, *args, on_commit=commit, progress=commit.going_on)
    finally:
        commit.finish(() if result is None or written is None else written(result))
    return result
