"""Two independent runs at once: the engine's helper thread (:func:`in_parallel` in a
:func:`helping` scope), and the thread counts the engine and the pairs go by.

NumPy-free and knows nothing of the engine: the engine's :class:`StackRun` and the
automatic search (:mod:`resdenoise.autoparams`) hand their pairs to it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import os
import threading
from collections.abc import Callable

#: Values x blocks the second of two independent runs needs before it goes to the
#: engine's helper thread (:func:`in_parallel`): about half a millisecond of compiled
#: blocks, against some 30 microseconds of hand-over on an idle machine.
PAIR_WORK = 1 << 18


class _Helper:
    """The thread of one :func:`helping` scope: runs what it is handed, in turn."""

    def __init__(self):
        import queue

        self.busy = False  # a pair of the scope's thread runs
        self.tasks, self.done = queue.SimpleQueue(), queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="resdenoise-helper", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while (task := self.tasks.get()) is not None:
            try:
                self.done.put((True, task()))
            except BaseException as exc:  # handed back to the caller, raised there
                self.done.put((False, exc))

    def close(self) -> None:
        self.tasks.put(None)
        self.thread.join()


_scope = threading.local()  # a thread's helping() scope: its helper, None before the first


def helping(fn: Callable) -> Callable:
    """``fn`` with a scope for :func:`in_parallel` in the calling thread: a helper thread
    is started at the first pair worth it and ended (joined) when ``fn`` returns or
    raises; calls nested in the scope share it, and pairs outside any scope run one
    after the other."""
    local = _scope

    @functools.wraps(fn)
    def scoped(*args, **kwargs):
        if hasattr(local, "helper"):  # nested: the outer scope's
            return fn(*args, **kwargs)
        local.helper = None
        try:
            return fn(*args, **kwargs)
        finally:
            helper = local.helper
            del local.helper
            if helper is not None:
                helper.close()

    return scoped


_limit = threading.local()  # this thread's limit_threads(), None outside any


def thread_budget() -> int:
    """The engine threads a run in this thread may take: the innermost
    :func:`limit_threads` of the thread (a batch's one engine thread per file, or one
    side of a pair), else :func:`_cpu_count`."""
    return getattr(_limit, "threads", None) or _cpu_count()


@contextlib.contextmanager
def limit_threads(threads: int | None):
    """A scope in the calling thread whose engine runs (``run_blocks`` by default) and
    pairs (:func:`in_parallel`) take at most ``threads`` threads (None: no limit), e.g.
    a run's ``threads`` setting around its automatic search."""
    if threads is None:
        yield
        return
    outer = getattr(_limit, "threads", None)
    _limit.threads = max(1, int(threads))
    try:
        yield
    finally:
        _limit.threads = outer


def _on_one_thread(fn: Callable):
    """``fn()`` with one engine thread: each side of a pair takes one core."""
    with limit_threads(1):
        return fn()


def pairs_now(work: float | None) -> bool:
    """Whether :func:`in_parallel` with this ``work`` would run its second on the helper
    thread now (else both in turn, here): the work at least :data:`PAIR_WORK`, a budget of
    two threads or more, in a :func:`helping` scope whose helper is not running a pair
    already (a pair inside a pair runs in turn).  A caller that would split a run for the
    pair asks first, and runs it whole where the two go in turn (the same numbers)."""
    helper = getattr(_scope, "helper", False)  # False: no scope in this thread
    if work is None or work < PAIR_WORK or thread_budget() < 2 or helper is False:
        return False
    return helper is None or not helper.busy


def in_parallel(first: Callable, second: Callable, work: float | None = math.inf, stop=None):
    """``(first(), second())``, ``second`` on the scope's helper thread (:func:`helping`)
    meanwhile where it is worth it: ``work`` (its values x blocks; None where the caller
    finds a pair not worth it, whatever :data:`PAIR_WORK`) at least
    :data:`PAIR_WORK`, a budget of two threads or more (:func:`thread_budget`), in a
    scope, the helper not running a pair already (else one after the other, here); the
    two sides then run with one engine thread each (:func:`limit_threads`), the second
    in a copy of the caller's context (:mod:`contextvars`: NumPy's errstate).  The two must
    not touch the same arrays: each result is then the same, bit for bit, either way.
    An exception of either is raised here (the first's where both fail), once both
    ended; ``stop`` (an Event the second watches, where it runs long) is set when the
    first fails, so that the second ends soon."""
    if not pairs_now(work):  # in turn, here
        return first(), second()
    helper = _scope.helper
    if helper is None:
        helper = _scope.helper = _Helper()
    helper.busy = True
    # in a copy of this thread's context: its context variables (NumPy's errstate) hold there
    helper.tasks.put(functools.partial(contextvars.copy_context().run, _on_one_thread, second))
    try:
        a = _on_one_thread(first)
    except BaseException:  # the first failed (or a signal came): the second ends soon
        if stop is not None:
            stop.set()
        raise
    finally:
        # exactly once, whatever came (a second wait would hang: one result per pair);
        # where a signal breaks the wait, the helper stays busy: later pairs in turn
        ok, b = helper.done.get()
        helper.busy = False
    if not ok:
        raise b
    return a, b


#: The most threads one run takes: the compiled loop's limit (``resdenoise/_kernels.c``).
MAX_THREADS = 256


def _threads_from_environment() -> int | None:
    """``$RESDENOISE_THREADS`` as a count, None where it is unset or empty.

    Raises
    ------
    ParameterError
        It is not a whole number from 1 to :data:`MAX_THREADS`: the program's rule
        (:func:`resdenoise.stepper.check_environment`, exit code 2), the library's too,
        where a run reads it (a value that cannot mean a count is said, not ignored)."""
    env = os.environ.get("RESDENOISE_THREADS", "")
    if not env:
        return None
    count = int(env) if env.isascii() and env.isdigit() else 0
    if not 1 <= count <= MAX_THREADS:
        from .errors import ParameterError

        raise ParameterError(
            f"RESDENOISE_THREADS={env!r}: give a whole number of threads from 1 to "
            f"{MAX_THREADS}, or unset it"
        )
    return count


def _cpu_count() -> int:
    """Default thread count: ``$RESDENOISE_THREADS``, else the cores this process may use;
    at most :data:`MAX_THREADS`."""
    return min(_threads_from_environment() or usable_cores(), MAX_THREADS)


def usable_cores() -> int:
    """The cores this process may use, at least 1: its CPU affinity, at most the CPU
    quota of its control group rounded up (a container's ``--cpus=1``, a pod's CPU
    limit: :func:`cgroup_cpus`), which the affinity does not show."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    quota = _own_cgroup_cpus()
    return cores if quota is None else max(1, min(cores, math.ceil(quota)))


#: Where the control groups are mounted, and this process's list of its own (Linux).
CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"


@functools.cache
def _own_cgroup_cpus() -> float | None:
    """:func:`cgroup_cpus` of this process, read once (a forked worker inherits it)."""
    return cgroup_cpus()


def cgroup_cpus(root: str | None = None, proc: str | None = None) -> float | None:
    """The CPUs the control groups of this process allow (quota over period: 1.5 for
    ``cpu.max`` = ``150000 100000``), the smallest of its group's and of those above
    it; None where none sets a quota (or there are no control groups to read).  Reads
    cgroup v2's ``cpu.max`` and v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` under
    ``root``, in the group ``proc`` names (and, where that path is not under ``root``,
    as in a container's own cgroup namespace, in ``root`` itself); by default
    :data:`CGROUP_ROOT` and :data:`PROC_CGROUP`."""
    root = CGROUP_ROOT if root is None else root
    try:
        with open(
            PROC_CGROUP if proc is None else proc, encoding="utf-8", errors="replace"
        ) as lines:
            groups = [line.rstrip("\n").split(":", 2) for line in lines]
    except OSError:
        return None
    found = []
    for entry in groups:
        if len(entry) != 3:
            continue
        _, controllers, path = entry
        if controllers == "":  # v2: one hierarchy, mounted at root
            found += _quotas(root, path, _v2_quota)
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own mount
            for mount in (controllers, "cpu", "cpu,cpuacct", "cpuacct,cpu"):
                base = os.path.join(root, mount)
                if os.path.isdir(base):
                    found += _quotas(base, path, _v1_quota)
                    break
    return min(found) if found else None


def _quotas(base: str, path: str, read: Callable) -> list[float]:
    """The quotas ``read(directory)`` finds in the group ``path`` under ``base`` and in
    each group above it (a limit of a parent holds for its children); ``base`` alone
    where ``path`` is not there."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    if not os.path.isdir(os.path.join(base, *parts)):
        parts = []
    quotas = []
    for depth in range(len(parts), -1, -1):
        quota = read(os.path.join(base, *parts[:depth]))
        if quota is not None:
            quotas.append(quota)
    return quotas


def _v2_quota(directory: str) -> float | None:
    """CPUs of cgroup v2's ``cpu.max`` in ``directory`` (``QUOTA PERIOD``; ``max``: none)."""
    words = _read_words(os.path.join(directory, "cpu.max"))
    if len(words) != 2 or not words[0].isdigit() or not words[1].isdigit():
        return None
    return int(words[0]) / int(words[1]) if int(words[0]) > 0 and int(words[1]) > 0 else None


def _v1_quota(directory: str) -> float | None:
    """CPUs of cgroup v1's ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (-1: none)."""
    quota = _read_words(os.path.join(directory, "cpu.cfs_quota_us"))
    period = _read_words(os.path.join(directory, "cpu.cfs_period_us"))
    if len(quota) != 1 or len(period) != 1 or not (quota[0].isdigit() and period[0].isdigit()):
        return None  # -1 (no quota) is not digits
    return int(quota[0]) / int(period[0]) if int(quota[0]) > 0 and int(period[0]) > 0 else None


def _read_words(path: str) -> list[str]:
    """The words of a small file, none where it cannot be read."""
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read(256).split()
    except OSError:
        return []
