"""Signals during a run: every catchable one cleans up and ends the run.

:func:`handle_signals` turns SIGTERM, SIGHUP, SIGINT and the other signals
that would end the process into :class:`resdenoise.errors.Interrupted`,
raised in the main thread, so that every ``finally`` on the way out removes
its temporary file; whatever is still registered (:func:`track`) is removed
when the run ends with it.  The steps that must not be split (a temporary
made and registered, temporaries renamed into place) run inside
:func:`deferred`: a signal then takes effect when the step is done.

Python runs a signal handler wherever the main thread is, also inside a
finaliser (``__del__``, a weakref callback such as the import system's
module-lock cleanup) that ran because an object was freed; an exception
raised there is printed as "Exception ignored in ..." and dropped.  Within
:func:`handle_signals` such a dropped :class:`Interrupted` is not lost: it
is taken back (nothing printed) and raised again a millisecond later, in
the code the finaliser interrupted (SIGALRM, one of the handled signals).

A worker process (:func:`exit_on_signal`) does not unwind at all: a signal
removes its registered temporaries and ends it at once (after the deferred
step in progress).  An exception raised by a handler can leave a lock held
(CPython 3.11 raises it between a ``queue.Queue``'s ``acquire`` and its
``with``; then the cleanup that drains the queue or joins its thread waits
for ever) or be replaced by another one (``RuntimeError: release unlocked
lock``, which a batch took for the file's failure and went on): the worker
was killed after its grace period, its temporary left behind.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import sys
import threading

from ..errors import Interrupted

#: The signals that end a run (each cleans up and exits 128+N).  Not SIGXFSZ, which Python
#: ignores: above a file-size limit (``ulimit -f``) a write fails with EFBIG, and the
#: output it was for is one line naming the file (a batch's other files still written),
#: not an interruption of the whole run with exit 153.
SIGNALS = tuple(
    getattr(signal, name)
    for name in (
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGTERM",
        "SIGALRM",
        "SIGUSR1",
        "SIGUSR2",
        "SIGXCPU",
        "SIGVTALRM",
        "SIGPROF",
    )
    if hasattr(signal, name)
)

#: Handled even when ignored on entry: SIGALRM (the retry's timer, :func:`_dropped`).
#: Every other signal ignored on entry stays ignored (``nohup``, ``trap '' TERM``, a
#: background job's SIGINT), as a worker's (:func:`exit_on_signal`).
_ALWAYS = frozenset(getattr(signal, name) for name in ("SIGALRM",) if hasattr(signal, name))

#: The signal a batch's parent stops its workers with, and the one a worker gets when its
#: parent dies: one of :data:`_ALWAYS`, so a worker handles it even where it was ignored
#: on entry.  SIGTERM, which the parent used, a worker kept ignoring under ``trap '' TERM``:
#: it was killed after its grace period, its temporary left behind.
STOP = getattr(signal, "SIGALRM", signal.SIGTERM)

#: the signal mask before :func:`held` (in a process forked within it, restored by
#: :func:`exit_on_signal`), None outside it
_held: list = [None]

_state = {"deferred": 0, "pending": None, "raised": False, "retry": False, "exit": False}
#: temporary files made by this process and not yet renamed or removed
_live: set[str] = set()
#: the outputs put in place within :func:`handle_signals` (None outside it, and in a worker)
_written: list = [None]


#: the output being sent to stdout or a pipe, within :func:`handle_signals`: (path, bytes
#: sent, bytes in all) until it is all sent (:func:`sending`), else None
_sending: list = [None]

#: a batch worker's messenger of the temporaries it makes (:func:`tell_temporaries`)
_told: list = [None]


def track(path: str, fresh: bool = True) -> None:
    """Register a temporary file: removed if a signal ends the run.  A ``fresh`` one (new
    content, not an old output moved aside) is also told to a batch's parent, which
    removes it should the worker be killed outright (SIGKILL, out of memory)."""
    _live.add(path)
    if fresh and _told[0] is not None:
        _told[0](path)


def tell_temporaries(tell) -> None:
    """In a batch worker: ``tell(path)`` each fresh temporary as it is made (:func:`track`)."""
    _told[0] = tell


def untrack(path: str | None) -> None:
    """The temporary file ``path`` was renamed or removed."""
    _live.discard(path)


def placed(*paths: str | None) -> None:
    """Outputs now in place (a rename, a direct write, a batch worker's file): an
    :class:`Interrupted` of this run says they were written (``written``)."""
    if _written[0] is not None:
        _written[0].update(dict.fromkeys(p for p in paths if p is not None))
        _sending[0] = None


def sending(path: str, sent: int, total: int) -> None:
    """``sent`` of the ``total`` bytes of output ``path`` are sent to stdout or a pipe (not
    all yet): an :class:`Interrupted` meanwhile says its reader has a part (``partly``)."""
    if _written[0] is not None:
        _sending[0] = (path, sent, total)


def unplaced(path: str) -> None:
    """An output :func:`placed` that was taken back (its old file restored)."""
    if _written[0] is not None:
        _written[0].pop(path, None)


def remove_temporaries() -> None:
    """Remove every registered temporary file (after a signal)."""
    for path in list(_live):
        remove(path)
        _live.discard(path)


def remove(path: str) -> None:
    """Remove a file, link or (a Zarr store's) directory tree; gone already: nothing."""
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def stopping() -> int | None:
    """The signal ending the run (within :func:`handle_signals`), else None: an
    exception raised on its way out is the signal's, not a failure of its own."""
    return _state["pending"]


def _raise_pending() -> None:
    signum = _state["pending"]
    if signum is not None and not _state["raised"]:
        _state["raised"] = True
        if _state["exit"]:  # a worker process: nothing to unwind
            remove_temporaries()
            os._exit(128 + signum)
        raise Interrupted(signum)


def _dropped(unraisable, previous) -> None:
    """``sys.unraisablehook`` within :func:`handle_signals`: an :class:`Interrupted`
    raised in a finaliser (and so dropped) is raised again soon after it, elsewhere."""
    if not isinstance(unraisable.exc_value, Interrupted) or _state["pending"] is None:
        previous(unraisable)
        return
    _state["raised"] = False
    if hasattr(signal, "setitimer"):  # SIGALRM, when the finaliser has returned
        _state["retry"] = True
        signal.setitimer(signal.ITIMER_REAL, 0.001)


def _handler(signum, _frame) -> None:
    if _state["pending"] is None:
        _state["pending"] = signum
    if _state["deferred"] == 0:
        _raise_pending()


@contextlib.contextmanager
def deferred():
    """Run a step that a signal must not split; a signal meanwhile acts after it."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1
    if _state["deferred"] == 0:
        _raise_pending()


@contextlib.contextmanager
def deferred_from():
    """Within, calling the value starts a :func:`deferred` step lasting to the block's end
    (a batch's file: from the renames of its outputs until its result is reported)."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(deferred())


@contextlib.contextmanager
def held():
    """Hold the signals within (a worker's fork and its parent's registering it): one
    that comes meanwhile takes effect when the block ends, in the parent once the
    worker is known to it (stopped and waited for if the signal ends the run).  The
    block is a :func:`deferred` step with :data:`SIGNALS` blocked in this thread: the
    mask also holds a library caller's handler (``KeyboardInterrupt``), and a process
    forked within inherits it, so a signal sent to it before :func:`exit_on_signal`
    has set its handlers waits for them (blocked, it is kept pending even where the
    parent ignored it, Linux).  The deferred step covers the signals another thread
    of this process takes (a blocked signal goes to a thread that does not block it,
    whose handler still runs here); :func:`_callers_held` covers a library caller's
    handlers there.  POSIX only, as ``os.fork``."""
    with deferred(), _callers_held():
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        _held[0] = previous
        try:
            yield
        finally:
            _held[0] = None
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _callers_held():
    """Within: a library caller's own Python handlers of :data:`SIGNALS` (Python's
    ``KeyboardInterrupt`` for SIGINT) wait; the first signal that came meanwhile runs
    its handler when the block ends.  Another thread of the process that takes a
    signal blocked in this one runs no Python code for it: the main thread runs the
    handler at once, which raised ``KeyboardInterrupt`` between a worker's fork and its
    registering (the worker, unknown to the pool, ran the batch and wrote it).  Only
    the main thread runs Python handlers and may set them: elsewhere nothing to do."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list = []
    callers = {}
    for s in SIGNALS:
        handler = signal.getsignal(s)
        if callable(handler) and handler is not _handler:
            callers[s] = handler
            signal.signal(s, lambda signum, frame: came.append((signum, frame)))
    try:
        yield
    finally:
        for s, handler in callers.items():
            signal.signal(s, handler)
        if came:  # also where the block failed: the signal is not lost
            signum, frame = came[0]
            callers[signum](signum, frame)


def exit_on_signal() -> None:
    """In a worker process (its main thread, first thing): a catchable signal
    (one not ignored, and :data:`STOP` always) removes the registered temporaries
    and ends the process at once with 128+N, when the deferred step in progress
    (:func:`deferred`) is done; nothing is raised, so nothing can stop the cleanup
    on the way out.  A process forked within :func:`held` gets its signal mask
    back here (the signals that came since the fork take effect now).
    """
    _state.update(deferred=0, pending=None, raised=False, retry=False, exit=True)
    _written[0] = None  # the parent says what its workers wrote
    for s in SIGNALS:
        if s == STOP or signal.getsignal(s) is not signal.SIG_IGN:
            signal.signal(s, _handler)
    previous, _held[0] = _held[0], None
    if previous is not None:  # forked within held(): what came since the fork acts now
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def handle_signals(ignore_after: bool = False):
    """Within: a catchable signal raises :class:`Interrupted` (once; later ones
    only wait), and its temporaries are removed on the way out.  A signal ignored
    on entry (``nohup``: SIGHUP) stays ignored, but for :data:`_ALWAYS`.

    Installs the handlers only in the main thread (elsewhere it does nothing)
    and restores the previous ones afterwards, or, with ``ignore_after`` (a
    process about to exit: its work is done or cleaned up), ignores them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    _state.update(deferred=0, pending=None, raised=False, retry=False, exit=False)
    for s in SIGNALS:
        if previous[s] is not signal.SIG_IGN or s in _ALWAYS:
            signal.signal(s, _handler)
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_dropped, previous=hook)
    outer, _written[0] = _written[0], {}
    outer_sending, _sending[0] = _sending[0], None
    try:
        yield
        _raise_pending()  # a signal in the last deferred step
    except Interrupted as exc:
        remove_temporaries()
        exc.written, exc.partly = tuple(_written[0]), _sending[0]
        raise
    except BaseException:
        if _state["pending"] is not None:  # another exception on the way out of a signal
            remove_temporaries()
            interrupted = Interrupted(_state["pending"])
            interrupted.written, interrupted.partly = tuple(_written[0]), _sending[0]
            raise interrupted from None
        raise
    finally:
        _written[0], _sending[0] = outer, outer_sending
        if _state["retry"]:  # a retry not yet needed: no SIGALRM after the handlers
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.unraisablehook = hook
        for s, handler in previous.items():
            if ignore_after:
                handler = signal.SIG_IGN
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        _state.update(deferred=0, pending=None, raised=False, retry=False)
