"""The columns of every progress bar: what it is, the bar, then its numbers.

On a terminal too narrow for all of them (80 columns and a long file name), rich
shrank every column alike, and the numbers were cut to "…" first: ``44% 1310720/30…
5.55M   0:00:00 ETA 0:00:01``, or with a 47-character name no count, rate, elapsed
time nor ETA at all.  Here the numbers never wrap: the description (its middle cut,
``field_rec…nel-3.wav filtering``) and the bar (narrower on a narrower terminal) give
way to them.  Where even the numbers do not fit (below :data:`NARROW` columns) a bar
shows what it is, its percentage and its ETA only.
"""

from __future__ import annotations

#: Below this many columns a bar shows its description, percentage and ETA only.
NARROW = 70


def progress_columns(describe, count, width: int) -> tuple:
    """The columns of a bar on a console ``width`` columns wide: the text column of
    ``describe`` (a format of ``task``: ``"{task.description}"``) cut in the middle to
    fit, the bar, percentage, the ``count`` column, rate, elapsed time and ETA."""
    from rich.progress import (
        BarColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Column

    def fixed() -> Column:
        return Column(no_wrap=True)

    first = _cut_column(describe, table_column=Column(ratio=None))
    if width < NARROW:
        return first, TaskProgressColumn(table_column=fixed()), TimeRemainingColumn()
    count._table_column = fixed()  # (rich keeps it there)
    rate = rate_column()
    rate._table_column = fixed()
    return (
        first,
        BarColumn(bar_width=max(6, min(40, width - 90)), table_column=Column()),  # room first
        TaskProgressColumn(table_column=fixed()),
        count,
        rate,
        TimeElapsedColumn(table_column=fixed()),
        TextColumn("ETA", table_column=fixed()),
        TimeRemainingColumn(table_column=fixed()),
    )


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by "…" where it is longer
    (a file name keeps its start and its extension, the phase after it its end)."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    keep = width - 1
    head, tail = text[: keep - keep // 2], text[len(text) - keep // 2 :] if keep // 2 else ""
    while cell_len(head) + cell_len(tail) > keep and head:  # wide characters
        head = head[:-1]
    return f"{head}…{tail}"


def _cut_column(describe: str, table_column=None):
    """A text column (no markup) whose text is cut in the middle to the width it gets."""
    from rich.measure import Measurement
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Cut:
        def __init__(self, text: str):
            self.text = text

        def __rich_measure__(self, console, options):
            return Measurement(min(len(self.text), 8), len(self.text))

        def __rich_console__(self, console, options):
            yield Text(_cut(self.text, options.max_width), no_wrap=True, overflow="crop")

    class CutColumn(ProgressColumn):
        def render(self, task):
            return Cut(describe.format(task=task))

    return CutColumn(table_column=table_column)


def rate_column():
    """A column of the rate, in the task's unit: ``1.2k blocks/s``, ``3.4M samples/s``."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):
            unit = task.fields.get("unit", "")
            if task.speed is None:
                return Text(f"? {unit}/s", style="progress.data.speed")
            return Text(per_second(float(task.speed), unit), style="progress.data.speed")

    return RateColumn()


def per_second(speed: float, unit: str) -> str:
    """A rate in ``unit`` per second, with k, M or G: ``1.2M samples/s``, ``3.4k blocks/s``
    (a bar's rate column, a plain progress line's)."""
    prefix = ""
    for step in ("k", "M", "G"):
        if speed < 1000:
            break
        speed, prefix = speed / 1000, step
    return f"{speed:.3g}{prefix} {unit}/s"
