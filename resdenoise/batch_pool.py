"""A batch's files run at once in this process and forked workers (for :mod:`resdenoise.batch`).

:class:`FileResult` (what became of one file) and :func:`_run_forked`: the worker pool over
one shared queue of the files' indices, the workers' pipes and their messages, their
deaths, signals and replacements.  :func:`resdenoise.batch.run_batch` plans the batch and
runs it here when ``jobs`` > 1; :mod:`resdenoise.batch` re-exports these names.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import GuaranteeError, Interrupted, ResdenoiseError
from .io.signals import STOP, deferred, deferred_from, held, remove, stopping


@dataclass
class FileResult:
    """What became of one input of :func:`~resdenoise.batch.run_batch`.

    ``report`` is the run's report (None when it failed before writing, or
    when :func:`~resdenoise.batch.run_batch` was told that nobody reads it, ``measure=False``);
    ``error`` the exception that failed it (None on success), with the
    exit code it maps to; ``warnings`` what :func:`~resdenoise.pipeline.run_file` warned about.
    """

    input: str
    output: str
    report_path: str | None = None
    report: dict | None = None
    error: ResdenoiseError | None = None
    warnings: list = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 on success, else the error's exit code (4: a guarantee failed under strict)."""
        return 0 if self.error is None else (self.error.exit_code or 1)

    @property
    def written(self) -> bool:
        """Whether its outputs were put in place (a success, or written under strict; not
        an input kept in place, :attr:`resdenoise.errors.GuaranteeError.kept`)."""
        return self.error is None or (
            isinstance(self.error, GuaranteeError) and not self.error.kept
        )


def _death(code) -> str:
    """A worker's end in words: its exit code, or the signal that killed it (``code`` -N,
    as ``wait`` gives it), named, not Python's negative return code."""
    if not isinstance(code, int) or code >= 0:
        return f"died (exit code {code})"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"was killed by signal {-code}"
    why = ": the system's out-of-memory killer, or a kill -9?" if name == "SIGKILL" else ""
    return f"was killed by {name} (signal {-code}{why})"


def _run_forked(jobs_list, jobs: int, finished, progress, placeholders) -> None:
    """Run ``job(progress)`` callables in this process and ``jobs - 1`` forked workers.

    The workers start once and take file after file (an index into
    ``jobs_list``, which they inherit) from one queue they share with this
    process, each as it comes free, so a file costs its run, not a process:
    its imports, caches and page faults are paid once per worker, and no
    worker holds files that another could run.  This process is one of the
    ``jobs``: it takes files from the same queue and runs them itself, reading
    what the workers sent back between two of its files and, during one, every
    :attr:`_Pool.LOOK` seconds of its progress (:class:`_Pool`); a worker
    whose pipe is full waits for that, so where a run of this process calls
    its progress seldom (a long read or measurement), its workers may wait.  Each worker tells which file it starts and
    sends its progress and its :class:`FileResult` through a pipe of its
    own (pickled, or as one word where it equals the file's placeholder: a quiet
    batch's success); a worker that dies without one (killed, out of memory) fails its
    file (``placeholders[i]``) with exit code 1 and is replaced while files
    remain (a worker says when it starts renaming a file's outputs into place:
    dying after that, the failure says they may have been written, and names
    them); a result that does not pickle fails only its file.  Workers end
    with the parent: when this returns by an exception (a signal, also in
    the middle of one of this process's files), they are stopped and waited
    for; after a signal each file put in place is still reported (:meth:`_Pool.close`);
    a worker whose parent died gets the same signal (Linux,
    :data:`resdenoise.io.signals.STOP`, which a worker handles even where it was
    ignored on entry).  A signal ends a worker at once, its temporaries removed
    (:func:`resdenoise.io.signals.exit_on_signal`), whether or not the
    parent handles signals.

    A ``progress`` with an attribute ``file_done`` gets ``file_done(i)`` as each file's
    result is read, a worker's too while this process runs a file of its own (every
    :attr:`_Pool.LOOK` seconds of its progress): a count of files done follows the
    workers, where ``finished`` (its lines) waits until this process is between files.

    The workers are plain ``os.fork`` children talking over pipes
    (:class:`_Queue`, :class:`_Worker`), not :mod:`multiprocessing` processes:
    importing and starting those was serial time before the first file (its
    CPU 0.113 -> 0.096 s in a batch of 200 one-second files), and their
    per-file messages cost the parent more (its CPU while the workers run
    0.049 -> 0.020 s, also for the reports a quiet batch no longer makes).
    """
    pool = _Pool(jobs_list, finished, progress, placeholders, pipe_bytes(jobs))
    try:
        pool.run(jobs)
    finally:
        pool.close()


#: Seconds a stopped worker has to remove its temporary file before it is killed.
WORKER_GRACE = 30.0

#: A word on a pipe: in the queue a file's index; from a worker, the length of the pickled
#: message that follows it, or one of four words: 0 "the file's outputs are being renamed
#: into place now" (:data:`_COMMIT`; no pickle is empty), -1 "the file started last is done,
#: its result is its placeholder" (:data:`_PLAIN`), -2 - i "file i starts now" (:func:`_started`),
#: -2**31 "a temporary made, its path follows" (:func:`_temporary`).
_HEADER = struct.Struct("!i")

#: The worker's word "its output and report are being renamed into place now".
_COMMIT = _HEADER.pack(0)

#: The worker's word "I made this temporary for my current file", followed by the length
#: of its path and the path's bytes (not pickled: a quiet batch unpickles nothing).
_TEMPORARY_WORD = -(1 << 31)


def _temporary(path: str) -> bytes:
    """The message "temporary ``path`` made" (:data:`_TEMPORARY_WORD`)."""
    name = os.fsencode(path)
    return _HEADER.pack(_TEMPORARY_WORD) + _HEADER.pack(len(name)) + name


#: Bytes a pipe holds where the system lets it grow (Linux: 64 KiB by default, and up to
#: /proc/sys/fs/pipe-max-size, 1 MiB by default, unprivileged): about 700 results with
#: reports, 5000 without, or 260000 files' indices in the queue.
PIPE_BYTES = 1 << 20

#: Bytes all the widened pipes of one batch hold together: a quarter of Linux's per-user
#: soft limit (16384 pages, /proc/sys/fs/pipe-user-pages-soft), past which every new pipe
#: of the user, in any program, gets 2 pages.  Each pipe's share is at least the default.
PIPE_BUDGET = 1 << 24

#: A pipe's default size on Linux: a pipe is never asked to be smaller.
PIPE_DEFAULT = 1 << 16


def pipe_bytes(pipes: int) -> int:
    """The size of each of ``pipes`` widened pipes: :data:`PIPE_BYTES`, or a power of two
    (as the system rounds up to) that keeps them within :data:`PIPE_BUDGET`, and at
    least :data:`PIPE_DEFAULT`."""
    share = PIPE_BUDGET // max(1, pipes)
    return max(PIPE_DEFAULT, min(PIPE_BYTES, 1 << (share.bit_length() - 1)))


def _widen(fd: int, size: int = PIPE_BYTES) -> None:
    """Let the pipe of ``fd`` hold ``size`` bytes where the system allows it."""
    import fcntl

    with contextlib.suppress(OSError, AttributeError):  # not Linux, or over a limit
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


class _Queue:
    """The files' indices in one pipe that every worker and the parent read (``fd``),
    each taking the next index as it comes free; the parent writes them (as the pipe takes them) and then
    closes its end, so that a worker reads end-of-file once none is left.

    Every write is a whole number of indices of at most ``PIPE_BUF`` bytes, which the
    system writes at once or not at all, and every read asks for one index, so no two
    readers ever share one.  The read end does not block (a worker waits in ``select``,
    the parent refills the pipe and reads again)."""

    #: indices per write: at most PIPE_BUF bytes (POSIX: at least 512)
    CHUNK = getattr(select, "PIPE_BUF", 512) // _HEADER.size

    def __init__(self, count: int, size: int = PIPE_BYTES) -> None:
        self.fd, self._w = os.pipe()
        _widen(self._w, size)  # more indices at once: the parent writes them between its files
        os.set_blocking(self.fd, False)  # its readers never block in a read
        os.set_blocking(self._w, False)  # the parent writes what fits and goes on
        self._pending = memoryview(struct.pack(f"!{count}i", *range(count)))

    @property
    def write_fd(self) -> int | None:
        """The parent's end while indices remain to be written (a forked worker closes it)."""
        return self._w

    def fill(self) -> None:
        """Write the indices the pipe takes now; close the write end after the last."""
        step = self.CHUNK * _HEADER.size
        while self._pending:
            try:
                done = os.write(self._w, self._pending[:step])
            except BlockingIOError:  # full: the workers take some first
                return
            self._pending = self._pending[done:]  # all of a chunk (<= PIPE_BUF), no copy
        self._close_write()

    def _close_write(self) -> None:
        if self._w is not None:
            with contextlib.suppress(OSError):
                os.close(self._w)
            self._w = None

    def close(self) -> None:
        self._close_write()
        with contextlib.suppress(OSError):
            os.close(self.fd)


class _Worker:
    """The parent's side of one forked worker: its pid and the pipe its messages come
    back on (``fd``, read by :meth:`take`); ``current``: the file it runs (None between
    files), ``started``: how many it has started."""

    def __init__(self, jobs_list, queue: _Queue, parent: int, shown: bool, others,
                 size: int = PIPE_BYTES, plain: Sequence = ()) -> None:  # fmt: skip
        back_r, back_w = os.pipe()
        _widen(back_w, size)  # the results of many files wait there while the parent runs one
        try:
            pid = os.fork()
        except BaseException:  # no process (EAGAIN, ENOMEM): no pipes left open either
            for fd in (back_r, back_w):
                os.close(fd)
            raise
        if pid == 0:  # pragma: no cover - the child: never returns
            code = 1
            try:
                os.close(back_r)
                if queue.write_fd is not None:  # else the queue's end would never come
                    os.close(queue.write_fd)
                for other in others:  # the other workers' pipes are not this one's
                    other.close()
                _worker(jobs_list, queue.fd, back_w, parent, shown, plain)
                code = 0
            except Interrupted as exc:  # the parent's handler, before the worker's was set
                code = 128 + exc.signum
            except BaseException:  # noqa: BLE001 - nothing may return into the parent's code
                with contextlib.suppress(BaseException):
                    import traceback

                    traceback.print_exc()
            finally:
                os._exit(code)
        os.close(back_w)
        self.pid, self.fd = pid, back_r
        self.current: int | None = None
        self.committing = False  # it said it renames the current file's outputs
        self.temporaries: list[str] = []  # the ones it made for the current file
        self.started = 0
        self.exitcode: int | None = None
        self._buffer = bytearray()

    def take(self) -> list | None:
        """The complete messages now readable, as ``(kind, payload)`` (``("start", i)``
        for a file's start, ``("plain", None)`` for a result equal to its placeholder,
        ``("temporary", path)`` for one it made);
        None at EOF (the worker ended)."""
        data = os.read(self.fd, 1 << 16)
        if not data:
            return None
        buffer = self._buffer
        buffer += data
        messages = []
        while len(buffer) >= _HEADER.size:
            size = _HEADER.unpack_from(buffer)[0]
            if size == _TEMPORARY_WORD:  # then the path's length and its bytes
                if len(buffer) < 2 * _HEADER.size:
                    break
                end = 2 * _HEADER.size + _HEADER.unpack_from(buffer, _HEADER.size)[0]
                if len(buffer) < end:
                    break
                messages.append(("temporary", os.fsdecode(bytes(buffer[2 * _HEADER.size : end]))))
                del buffer[:end]
                continue
            if size <= 0:
                kind = ("commit", None) if size == 0 else ("plain", None) if size == -1 else None
                messages.append(kind or ("start", -2 - size))
                del buffer[: _HEADER.size]
                continue
            if len(buffer) < _HEADER.size + size:
                break
            messages.append(pickle.loads(buffer[_HEADER.size : _HEADER.size + size]))
            del buffer[: _HEADER.size + size]
        return messages

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def stop(self) -> None:
        """:data:`~resdenoise.io.signals.STOP` (handled even where ignored on entry),
        unless it has ended."""
        if self.exitcode is None and not self._reap(os.WNOHANG):
            with contextlib.suppress(OSError):
                os.kill(self.pid, STOP)

    def wait(self, grace: float | None = None) -> int:
        """Its exit code (-N: killed by signal N), once ended; after ``grace`` seconds
        it is killed (SIGKILL).  Its pipe is closed."""
        deadline = None if grace is None else time.monotonic() + grace
        while self.exitcode is None and not self._reap(0 if deadline is None else os.WNOHANG):
            if time.monotonic() > deadline:  # pragma: no cover - a worker deaf to STOP
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                deadline = None
            else:
                time.sleep(0.005)
        self.close()
        return self.exitcode

    def _reap(self, flags: int) -> bool:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # pragma: no cover - reaped elsewhere
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return False
        self.exitcode = os.waitstatus_to_exitcode(status)
        return True


class _Pool:
    """This process and its forked workers over one :class:`_Queue` of every file.

    :meth:`run` forks ``jobs - 1`` workers, then takes files from the queue and runs
    them here until its end, reading what the workers sent (:meth:`serve`, without
    waiting) after each; then it waits for the workers.  The workers' results go to
    ``finished`` between this process's files, never from inside one of its runs
    (where an exception of ``finished`` would fail that file).  Inside one, every
    :attr:`LOOK` seconds of this process's progress (shown or not), the workers'
    pipes are read and the queue refilled: their progress, where it is shown, moves
    their bars, and their results wait in memory, so that a worker goes on while this
    process runs a long file.  Between two such looks a worker goes on as long as its
    pipe holds its results (:func:`pipe_bytes`) and the queue has indices.

    A worker that dies fails the file it had started.  It is replaced (between this
    process's files) while files remain, if it had started one (a worker that dies
    before starting any is not).  A file that no worker reported as started (its
    worker died between taking it and saying so), nor ran, fails as its worker's.

    This process's own file has no such shelter: if it kills this process (out of
    memory, a crash), the batch ends, the workers with it (their parent's death sends
    them :data:`~resdenoise.io.signals.STOP`), and every result not yet handed to
    ``finished`` is lost; the outputs already written stay.  That is the price of
    running files here too (one process fewer to fork and feed)."""

    #: Seconds between two looks at the workers' pipes from inside a run of this process
    LOOK = 0.05

    def __init__(self, jobs_list, finished, progress, placeholders, size=PIPE_BYTES) -> None:
        self.jobs_list, self.finished, self.progress = jobs_list, finished, progress
        self.placeholders, self.size = placeholders, size  # each pipe's (pipe_bytes)
        self.queue = _Queue(len(jobs_list), size)
        self.running: dict = {}  # {read end of a worker's pipe: _Worker}
        self.poller = select.poll()
        self.left = set(range(len(jobs_list)))  # no result yet
        self.done: collections.deque = collections.deque()  # (i, FileResult) not yet handed on
        self.parent = os.getpid()
        self.death = None  # the last unexpected exit code
        self.replace = 0  # workers that died, to be replaced between this process's files
        self.here: int | None = None  # the file this process runs

    def run(self, jobs: int) -> None:
        self.queue.fill()
        for _ in range(jobs - 1):
            self.start()
        while (i := self.take()) is not None:
            self.run_here(i)
            self.serve(0)
        while self.running:
            self.serve(None)
        for i in sorted(self.left):  # taken by a worker that died before it said so
            self.fail(i, self.death)
        self.report()

    def start(self) -> None:
        """Fork a worker; where the system cannot (EAGAIN, ENOMEM, no pipe left), this
        process goes on with the workers it has (with none, it runs every file itself).
        A signal between the fork and the worker's registering waits for it
        (:func:`~resdenoise.io.signals.held`): the pool did not know the worker, which
        ran the batch's files after the parent had stopped, and wrote them."""
        with held():  # a signal meanwhile: once the worker is known (stopped, waited for)
            try:
                worker = _Worker(self.jobs_list, self.queue, self.parent,
                                 self.progress is not None, self.running.values(), self.size,
                                 self.placeholders)  # fmt: skip
            except OSError:
                return
            self.running[worker.fd] = worker
            self.poller.register(worker.fd, select.POLLIN)

    def take(self) -> int | None:
        """The next file's index from the queue, None at its end (the indices not yet
        in the queue's pipe are written first, as far as it takes them)."""
        while True:
            if self.queue.write_fd is not None:
                self.queue.fill()
            with contextlib.suppress(BlockingIOError):  # emptied by the workers: fill it
                return _next(self.queue.fd)

    def run_here(self, i: int) -> None:
        """Run file ``i`` in this process, reading the workers' pipes (and refilling the
        queue) every :attr:`LOOK` seconds of its progress, shown or not: a worker whose
        pipe is full waits until it is read."""
        last = [time.monotonic()]
        shown = self.progress

        def file_progress(phase, done, total):
            if shown is not None:
                shown(i, phase, done, total)
            now = time.monotonic()
            if now - last[0] >= self.LOOK:
                last[0] = now
                self.serve(0)

        self.here = i
        with deferred_from() as on_commit:  # renamed: a signal waits until it is reported
            result = self.jobs_list[i](file_progress, on_commit)
            self.here = None
            self.result(i, result)

    def serve(self, timeout: float | None) -> None:
        """Take in what the workers sent (waiting up to ``timeout`` ms for it, None: until
        something comes); between this process's files, hand the results to ``finished``
        and replace the workers that died."""
        if self.queue.write_fd is not None:  # the indices the workers made room for
            self.queue.fill()
        for fd, _ in self.poller.poll(timeout):
            self.read(self.running[fd])
        if self.here is None:
            self.report()
            busy = {w.current for w in self.running.values()}
            while self.replace:
                self.replace -= 1
                if self.left - busy:
                    self.start()

    def read(self, worker: _Worker, stopped: bool = False) -> None:
        """Take in what ``worker`` sent (a signal meanwhile waits); ``stopped`` by :meth:`close`."""
        with deferred():
            messages = worker.take()
            for kind, payload in messages or ():
                self.message(worker, kind, payload)
            if messages is None:  # the worker ended: at the queue's end, or it died
                self.ended(worker, stopped)

    def message(self, worker: _Worker, kind: str, payload) -> None:
        if kind == "start":
            worker.current, worker.committing = payload, False
            worker.temporaries = []
            worker.started += 1
            return
        if kind == "commit":
            worker.committing = True
            return
        if kind == "temporary":  # made for its current file: removed should it be killed
            worker.temporaries.append(payload)
            return
        i = worker.current
        if kind == "progress":  # with the worker's time of it (one clock: CLOCK_MONOTONIC)
            if self.progress is not None:
                *told, at = payload
                timed = getattr(self.progress, "takes_time", False)
                self.progress(i, *told, **({"at": at} if timed else {}))
            return
        worker.current = None
        if kind == "plain":  # as the worker's result compared: nothing to unpickle
            payload = self.placeholders[i]
        elif not isinstance(payload, FileResult):  # the worker's last words on the file
            result, result.error = self.placeholders[i], ResdenoiseError(payload)
            payload = result
        self.result(i, payload)

    def ended(self, worker: _Worker, stopped: bool = False) -> None:
        """It fails its file, unless stopped by :meth:`close` (then only one put in place)."""
        self.poller.unregister(worker.fd)
        del self.running[worker.fd]
        code = worker.wait()
        if code != 0:
            self.death = code
            for path in worker.temporaries:  # killed outright: its partial files (gone, if
                remove(path)  # renamed into place or removed by the worker: nothing)
        if worker.current is not None and (worker.committing or not stopped):
            self.fail(worker.current, code, worker.committing)
        if code != 0 and worker.started:
            self.replace += 1

    def result(self, i: int, result: FileResult) -> None:
        self.left.discard(i)
        self.done.append((i, result))
        told = getattr(self.progress, "file_done", None)
        if told is not None:  # counted now (a worker's file during one of this process's)
            told(i)

    def fail(self, i: int, code, committing: bool = False) -> None:
        """File ``i`` failed with its worker; one that had said it was renaming its
        outputs into place may have them there: the message names them."""
        result = self.placeholders[i]
        message = f"the worker process {_death(code)}"
        if committing:
            names = result.output + ("" if result.report_path is None else " and its report "
                                     + result.report_path)  # fmt: skip
            message += f" while putting its output in place: {names} may have been written"
        result.error = ResdenoiseError(message)
        self.result(i, result)

    def report(self) -> None:
        """Hand the results read so far to ``finished``, in the order this process read
        them (its own file's at its end, before what is still in the workers' pipes);
        a signal meanwhile waits until all are handed on."""
        with deferred():
            while self.done:
                self.finished(*self.done.popleft())

    def close(self) -> None:
        """Stop the workers still running (they clean up as the parent does, on
        :data:`~resdenoise.io.signals.STOP`) and read what they send until they end
        (a file's result once it is in place; killed after :data:`WORKER_GRACE` s);
        after a signal, hand on every result read (a file put in place is reported)."""
        for worker in self.running.values():
            worker.stop()
        deadline = time.monotonic() + WORKER_GRACE
        while self.running and (left := deadline - time.monotonic()) > 0:
            for fd, _ in self.poller.poll(left * 1000.0):
                self.read(self.running[fd], stopped=True)
        for worker in self.running.values():  # pragma: no cover - a worker deaf to STOP
            worker.wait(0.0)
        self.running.clear()
        self.queue.close()
        if stopping() is not None:
            self.report()


def _die_with(parent: int) -> None:  # pragma: no cover - runs in a forked child
    """:data:`~resdenoise.io.signals.STOP` to this process when its parent dies (Linux
    ``PR_SET_PDEATHSIG``)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(STOP), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before that
        os._exit(128 + STOP)


#: A worker's message "the file I started last is done, with its placeholder's result":
#: a success with no report (nobody reads it) and nothing to warn about, the most common
#: result of a quiet batch, sent without pickling it (nor the parent unpickling it).
_PLAIN = _HEADER.pack(-1)


def _is_plain(result, plain: Sequence, i: int) -> bool:
    """Whether ``result`` is what the parent holds as file ``i``'s placeholder,
    ``plain[i]``: the same paths, no report, no error, no warning."""
    if i >= len(plain) or not isinstance(result, FileResult):
        return False
    other = plain[i]
    return (
        result.report is None
        and result.error is None
        and not result.warnings
        and (result.input, result.output, result.report_path)
        == (other.input, other.output, other.report_path)
        and other.report is None
        and other.error is None
        and not other.warnings
    )


def _message(message) -> bytes:  # pragma: no cover - runs in a forked child
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _started(i: int) -> bytes:  # pragma: no cover - runs in a forked child
    """The message "file ``i`` starts now"."""
    return _HEADER.pack(-2 - i)


def _write(fd: int, data: bytes) -> None:  # pragma: no cover - runs in a forked child
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _next(queue: int) -> int | None:
    """The next file's index from the queue, None at its end; BlockingIOError: none
    there now (the parent has not written more yet)."""
    data = os.read(queue, _HEADER.size)
    if not data:
        return None
    while len(data) < _HEADER.size:  # never split by the writes; read whole all the same
        select.select([queue], [], [])
        data += os.read(queue, _HEADER.size - len(data))
    return _HEADER.unpack(data)[0]


def _worker(jobs_list, queue: int, back: int, parent: int, shown: bool,
            plain: Sequence = ()) -> None:  # pragma: no cover  # fmt: skip
    """Run the files taken from the shared ``queue`` (indices into ``jobs_list``)
    until its end; say on the pipe ``back`` which file starts, then send its result
    (:data:`_PLAIN` where it equals ``plain[i]``, the parent's placeholder of it),
    and the runs' progress only where it is ``shown`` (else, as with one job, the runs
    get no progress callback and send nothing but their results).  The result of a
    file goes in one write with the start of the next, when there is one at once."""
    from .io.signals import exit_on_signal, tell_temporaries

    exit_on_signal()  # a signal: its temporaries removed, it ends at once (no unwinding)
    _die_with(parent)
    tell_temporaries(lambda path: _write(back, _temporary(path)))
    last = [0.0]

    def progress(phase, done, total):
        now = time.monotonic()
        if now - last[0] > 0.1 or (total is not None and done >= total):
            last[0] = now
            _write(back, _message(("progress", (phase, done, total, now))))  # when: a rate

    sending = contextlib.ExitStack()  # from a file's renames until its result is sent

    def committing():  # said before the renames: a death after them is not a plain failure
        sending.enter_context(deferred())  # a signal: once the parent has the result
        _write(back, _COMMIT)

    out = b""  # the last file's result, not yet sent
    while True:
        try:
            i = _next(queue)
        except BlockingIOError:
            if out:
                _write(back, out)
                out = b""
            sending.close()
            select.select([queue], [], [])
            continue
        if i is None:
            if out:
                _write(back, out)
            return  # its exit code 0: every file it took reported
        _write(back, out + _started(i))
        sending.close()
        try:
            result = jobs_list[i](progress if shown else None, committing)
            out = _PLAIN if _is_plain(result, plain, i) else _message(("done", result))
        except Exception as exc:  # noqa: BLE001 - also a result that does not pickle
            out = _message(("done", f"internal error: {type(exc).__name__}: {exc}"))
