"""Finishing work behind the caller: items handed to a thread of their own, in order.

A streamed run writes and measures each chunk's output (libsndfile's writes
and the compiled statistics release the GIL) while the engine filters the
next chunk on the other core.  :class:`Behind` keeps that simple and safe:
bounded, in order, errors raised in the caller, and nothing finished after
the caller stops (an error or a signal turned into an exception in the main
thread).  It is :func:`resdenoise.io.prefetch.prefetched` turned around (that
one makes items ahead of the caller; this one finishes them behind it), and
like it the caller's side uses only ``queue.SimpleQueue`` (one C call each,
which a signal's exception cannot split, where ``queue.Queue``'s lock could
stay held and the shutdown wait for ever), bounded by tokens.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["Behind"]


class Behind:
    """``finish(item)`` for each item :meth:`put`, in order, in a thread of its own,
    while the caller makes the next items.

    A streamed run's output is written and measured (libsndfile's writes and the
    compiled statistics release the GIL) while the engine filters the next chunk
    on another core.  At most ``depth`` items wait (:meth:`put` blocks); the
    thread's first error is raised in the caller at its next :meth:`put` or at
    :meth:`join`, and nothing after it is finished; :meth:`stop` (in a
    ``finally``: an error or a signal in the caller) drops what waits, lets the
    item in hand end and joins the thread, so that nothing writes after it.
    ``depth`` 0: no thread, :meth:`put` finishes the item itself.
    """

    _END = object()

    def __init__(self, finish: Callable, depth: int):
        self._finish = finish
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._room: queue.SimpleQueue = queue.SimpleQueue()  # a token per free place
        for _ in range(depth):
            self._room.put(None)
        self._error: BaseException | None = None
        self._thread = None
        if depth > 0:
            self._thread = threading.Thread(target=self._work, name="resdenoise-sink", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._waiting.get()
            self._room.put(None)
            if item is self._END:
                return
            if self._error is None:
                try:
                    self._finish(item)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item) -> None:
        self._raise()
        if self._thread is None:
            self._finish(item)
            return
        self._room.get()  # a place: at most depth items wait
        self._waiting.put(item)

    def join(self) -> None:
        """Wait until every item is finished; raise the thread's error."""
        if self._thread is not None and self._thread.is_alive():
            self._waiting.put(self._END)
            self._thread.join()
        self._raise()

    def stop(self) -> None:
        """Drop the waiting items and join the thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            try:
                while True:
                    self._waiting.get_nowait()
            except queue.Empty:
                pass
            self._waiting.put(self._END)
            self._thread.join()
