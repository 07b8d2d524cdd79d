"""The reader thread (resdenoise.io.prefetch): order, bound, errors, shutdown."""

import threading
import time

import numpy as np
import pytest
import soundfile

from resdenoise import io as rio
from resdenoise.errors import SignalError
from resdenoise.io.prefetch import prefetched


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "resdenoise-reader"]


class Source:
    """An iterator that records which thread made each item and whether it was closed."""

    def __init__(self, n: int, fail_at: int | None = None):
        self.n, self.fail_at = n, fail_at
        self.made: list[int] = []
        self.threads: set[str] = set()
        self.closed_in: str | None = None

    def __iter__(self):
        return self.items()

    def items(self):
        try:
            for i in range(self.n):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise SignalError(f"bad item {i}")
                self.made.append(i)
                yield i
        finally:
            self.closed_in = threading.current_thread().name


@pytest.mark.parametrize("depth", [1, 3])
def test_every_item_in_order_made_by_the_thread(depth):
    src = Source(50)
    assert list(prefetched(iter(src), depth)) == list(range(50))
    assert src.threads == {"resdenoise-reader"} and src.closed_in == "resdenoise-reader"
    assert reader_threads() == []


def test_an_error_comes_after_the_items_before_it():
    src = Source(10, fail_at=6)
    got = []
    with pytest.raises(SignalError, match="bad item 6"):
        for item in prefetched(iter(src), 2):
            got.append(item)
    assert got == [0, 1, 2, 3, 4, 5]
    assert reader_threads() == []


def test_the_thread_reads_at_most_depth_ahead():
    src = Source(100)
    it = prefetched(iter(src), 3)
    assert next(it) == 0
    time.sleep(0.2)  # time for the thread to fill the queue
    # the caller holds item 0; the queue holds 3; the thread waits to queue the next
    assert len(src.made) <= 1 + 3 + 1
    it.close()


def test_a_caller_stopping_early_closes_the_iterator_in_the_thread_and_joins_it():
    src = Source(10**6)
    for item in prefetched(iter(src), 2):
        if item == 3:
            break  # the generator is closed when the loop is left
    assert src.closed_in == "resdenoise-reader"
    assert len(src.made) < 10 and reader_threads() == []


def test_an_error_of_the_caller_stops_the_thread():
    src = Source(10**6)
    with pytest.raises(KeyboardInterrupt):
        for item in prefetched(iter(src), 2):
            if item == 2:
                raise KeyboardInterrupt  # a signal turned into an exception does the same
    assert src.closed_in == "resdenoise-reader" and reader_threads() == []


def test_a_signal_during_the_join_still_joins_the_thread(monkeypatch):
    """A signal's exception that arrives while the caller waits for the reader thread
    (in the join) goes on to the caller only after the thread has been joined."""
    joins = []

    class Interrupting(threading.Thread):
        def join(self, timeout=None):
            joins.append(self.is_alive())
            if len(joins) == 1:
                raise KeyboardInterrupt  # the handler's exception, raised in the wait
            super().join(timeout)

    monkeypatch.setattr("resdenoise.io.prefetch.threading.Thread", Interrupting)
    src = Source(10**6)
    items = prefetched(iter(src), 2)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(KeyboardInterrupt):
        items.close()  # the caller stops; the signal arrives in the join
    assert len(joins) == 2 and reader_threads() == []
    assert src.closed_in == "resdenoise-reader"


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        prefetched(iter([1]), 0)


def test_audio_blocks_read_ahead_are_the_file(tmp_path, rng):
    """The checking pass and the blocks, both read ahead: the samples of the file, in order."""
    path = tmp_path / "x.wav"
    u = rng.standard_normal((200_000, 2)) * 0.1
    soundfile.write(path, u, 8000, subtype="DOUBLE")
    seen = []
    stream = rio.open_signal_stream(path, visit=lambda b: seen.append(b.copy()))
    assert np.array_equal(np.concatenate(seen), u)
    got = np.concatenate([data for data, _ in stream.blocks()])
    assert np.array_equal(got, u) and reader_threads() == []


def test_a_file_that_changed_while_read_ahead_is_an_error(tmp_path, rng):
    path = tmp_path / "x.wav"
    soundfile.write(path, rng.standard_normal((100_000, 2)) * 0.1, 8000, subtype="DOUBLE")
    stream = rio.open_signal_stream(path)
    blocks = stream.blocks()
    next(blocks)
    soundfile.write(path, rng.standard_normal((1000, 2)) * 0.1, 8000, subtype="DOUBLE")
    with pytest.raises(SignalError, match="changed while it was read"):
        for _ in blocks:
            pass
    assert reader_threads() == []
