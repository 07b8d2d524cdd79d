"""Progress as plain lines, for a terminal that cannot draw bars (``TERM=dumb`` or
``unknown``: Emacs' ``M-x shell``, a console that gives a job a terminal but cannot move
its cursor), where rich draws nothing: every :data:`INTERVAL` seconds at most, one line
on stderr, ``in.wav filtering: 42 % (1.2M samples/s, ETA 0:07)``, with no escape sequence
and no carriage return; for a batch of files one line for the whole batch, ``files: 3 of 10
done (0.5 files/s, ETA 0:14); d.wav filtering: 42 %; e.wav noise level: 7 %`` (the bars'
files bar, then each running file's), not a line per running file (with ``--jobs`` above 1
those interleaved).  A run shorter than the interval prints none.
"""

from __future__ import annotations

import math
import sys
import time

from .options import printable
from .progress_columns import per_second

#: Seconds between two lines of one file's progress (the first: this long after its start).
INTERVAL = 3.0


def clock_time(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03`` (rounded up to the second)."""
    s = int(math.ceil(seconds))
    hours, rest = divmod(s, 3600)
    minutes, s = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{s:02d}" if hours else f"{minutes}:{s:02d}"


def _percent(done: int, total: int) -> str:
    """``42 %``: ``done`` of ``total``, rounded down, at most 100."""
    return f"{min(100, int(100 * done / total))} %"


class PlainLines:
    """A file's progress as a line now and then (:data:`INTERVAL`), or a batch's: the same
    ``update``, ``print`` and ``file_done`` as :class:`resdenoise.cli.render.Bars`.

    ``describe(phase)`` gives a phase's words and unit, ``bar_of(phase)`` the bar it moves
    (a new one restarts its rate); ``files``: the count of a batch's files (its line: the
    files done, those running, their rate and ETA; None: each file's own line); ``stream``
    (default: stderr at each line) and ``get_time`` (a clock) are for tests.
    """

    def __init__(self, describe, bar_of, stream=None, get_time=None, files: int | None = None):
        self.describe, self.bar_of = describe, bar_of
        self._stream, self._clock, self.interval = stream, get_time or time.monotonic, INTERVAL
        self._bars: dict = {}  # key: [bar, start, done at start, time of the next line]
        self.files, self._batch = files, None
        if files:  # a batch: [start, files done, running (key: its state), next line's time]
            now = self._clock()
            self._batch = [now, 0, {}, now + self.interval]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._bars.clear()

    def update(self, key, label: str, phase: str, done: int, total, at=None) -> None:
        """File ``key`` (named ``label``) at ``done`` of ``total`` in ``phase``; ``at``:
        when that was (a batch worker's :func:`time.monotonic`, told in a burst).  In a
        batch: the batch's line where one is due (:meth:`batch_line`)."""
        words, unit = self.describe(phase)
        if self._batch is not None:
            state = f"{label} {words}"
            self._batch[2][key] = state + (f": {_percent(done, total)}" if total else "")
            return self.batch_line()
        self.line(key, f"{label} {words}", unit, self.bar_of(phase), done, total, at)

    def line(self, key, description: str, unit: str, bar, done, total, at=None, tail="") -> None:
        """A line of ``description`` where one is due for ``key``: its percentage of
        ``total`` (or ``done`` where the total is unknown), rate in ``unit`` over the
        current ``bar`` and ETA, then ``tail``."""
        now = self._clock() if at is None else at
        state = self._bars.get(key)
        if state is None:
            state = self._bars[key] = [bar, now, done, now + self.interval]
        elif state[0] != bar:  # a new phase: its own rate (the next line as it was due)
            state[:3] = [bar, now, done]
        if now < state[3] or (total and done >= total):  # not yet due; a phase ended
            return
        state[3] = now + self.interval
        elapsed, moved = now - state[1], done - state[2]
        rate = moved / elapsed if elapsed > 0 and moved > 0 else None
        if total:
            text = f"{description}: {_percent(done, total)}"
        else:
            text = f"{description}: {done} {unit}"
        numbers = [per_second(rate, unit)] if rate else []
        if rate and total and done < total:
            numbers.append(f"ETA {clock_time((total - done) / rate)}")
        if numbers:
            text += f" ({', '.join(numbers)})"
        self.print(text + tail)

    def loss_sink(self, iterations: int, said):
        """``progress(iteration, loss)`` of a training of ``iterations``: ``learning: 42 %
        (3.1 iterations/s, ETA 0:07), loss 0.0123`` (the loss as ``said(loss)`` says it)."""

        def told(iteration: int, loss: float) -> None:
            args = ("learn", "learning", "iterations", "learn", iteration, iterations)
            self.line(*args, tail=f", loss {said(loss)}")

        return told

    def print(self, text: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(printable(text) + "\n")
        stream.flush()

    def batch_line(self) -> None:
        """The batch's line where one is due: ``files: 3 of 10 done (0.5 files/s, ETA
        0:14)`` (the rate of the files done since the batch started; none before the
        first), then each running file's phase and percentage; none once every file is
        done."""
        start, done, running, due = self._batch
        now = self._clock()
        if now < due or done >= self.files:
            return
        self._batch[3] = now + self.interval
        text = f"files: {done} of {self.files} done"
        rate = done / (now - start) if done and now > start else None
        if rate:
            text += f" ({per_second(rate, 'files')}, ETA {clock_time((self.files - done) / rate)})"
        self.print("; ".join([text, *running.values()]))

    def file_done(self, key) -> None:
        self._bars.pop(key, None)
        if self._batch is not None:
            self._batch[1] += 1
            self._batch[2].pop(key, None)
            self.batch_line()
