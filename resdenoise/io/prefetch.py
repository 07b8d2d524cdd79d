"""Reading ahead: the items of an iterator made by a thread while the caller works.

A streamed run reads its file in blocks and computes on each block (noise
statistics, the engine, measurements).  libsndfile's reads and NumPy's
arithmetic on large arrays release the GIL, so a reader thread that reads
the next blocks while the caller computes on this one overlaps the two on a
second core.  :func:`prefetched` keeps that simple and safe:

- **bounded**: at most ``depth`` items wait in the queue (the memory of a
  few blocks, whatever the file's size);
- **in order**: one producer, a first-in-first-out queue: the caller gets
  exactly the items of the iterator, in its order;
- **errors where they belong**: an exception of the iterator (a truncated
  file, a changed file) is raised in the caller at the item where it
  happened, after the items before it;
- **clean shutdown**: when the caller stops early (an error of its own, a
  signal turned into an exception in the main thread by
  :mod:`resdenoise.io.signals`, or simply leaving the loop), the thread
  is told to stop, the iterator is closed *in the thread* (its ``finally``
  and ``with`` blocks run there, so a file it opened is closed) and joined
  before the caller goes on: no thread outlives the loop.

The caller's side uses only ``queue.SimpleQueue`` (one C call each, which a
signal's exception cannot split): ``queue.Queue`` is Python code around a
lock, and CPython 3.11 can raise a signal's exception between its ``acquire``
and the ``with`` that releases it; the lock then stays held and the shutdown
waits for ever (measured: 1 hang in about 60 signals timed into a caller
taking items).  Bounded by tokens: the thread takes one before it queues an
item, the caller gives it back as it takes the item (``depth`` waiting at
most, as a ``Queue(maxsize=depth)``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")

#: Items waiting in the queue by default (audio blocks of 2^16 frames: a few MiB).
DEPTH = 4
#: Seconds between the producer's checks of the stop flag while the queue is full.
_POLL = 0.05

_END = object()


class _Failed:
    """The iterator raised: the exception, handed to the caller in order."""

    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetched(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """The items of ``items``, read ahead by a thread by up to ``depth`` items.

    ``items`` is used only by the thread from the first item on (its creation
    and its ``close`` included), so it may open and close its file itself.

    Examples
    --------
    >>> list(prefetched(iter(range(5)), depth=2))
    [0, 1, 2, 3, 4]
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth!r}")
    waiting: queue.SimpleQueue = queue.SimpleQueue()
    room: queue.SimpleQueue = queue.SimpleQueue()  # a token per free place
    for _ in range(depth):
        room.put(None)
    stop = threading.Event()

    def put(item) -> bool:
        """Queue ``item``; False when the caller stopped meanwhile."""
        while not stop.is_set():
            try:
                room.get(timeout=_POLL)
            except queue.Empty:
                continue
            waiting.put(item)
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, in order
            put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="resdenoise-reader", daemon=True)
    return _consume(waiting, room, stop, thread)


def _consume(waiting, room, stop: threading.Event, thread: threading.Thread):
    thread.start()
    try:
        while True:
            item = waiting.get()
            room.put(None)
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        room.put(None)  # a thread waiting for a place sees the stop at once
        _join(thread)


def _join(thread: threading.Thread) -> None:
    """Join ``thread`` also when an exception (a signal's, raised in the main thread
    by its handler) arrives during the wait: the join is finished, then it goes on."""
    interrupted = None
    while True:
        try:
            thread.join()
            break
        except BaseException as exc:  # noqa: BLE001 - raised again once joined
            interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted
