"""Everything the command line draws with rich: the dictionary and translation
tables, and progress bars on a terminal.

Takes plain data (the dicts of :mod:`resdenoise.dictionary`) and knows
nothing about how the numbers were made.  rich is imported on first use, so
that ``resdenoise --help`` stays cheap.
"""

from __future__ import annotations

import contextlib
import math
import sys

from ..nonlinearities import FORMS

#: an in-memory run of fewer blocks gets no progress bar
BAR_MIN_BLOCKS = 50


def stderr_console():
    """The console of diagnostics, warnings and progress bars."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console():
    """The console of the dictionary and translate tables (their output is the table)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def warning(console, message: str) -> None:
    """``warning: MESSAGE`` on ``console`` (the message is printed as it is, no markup)."""
    from rich.markup import escape

    console.print("[yellow]warning:[/] " + escape(message))


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


# --------------------------------------------------------------------------
# resdenoise dictionary, resdenoise translate
# --------------------------------------------------------------------------


def render_dictionary(rows) -> None:
    """The entries of :func:`resdenoise.dictionary.dictionary_rows` as one table on stdout."""
    from rich.table import Table

    table = Table(title="the dictionary (Alt, Weickert, Peter 2020)", title_justify="left")
    table.add_column("family", style="bold")
    table.add_column("form")
    table.add_column("formula")
    table.add_column("also known as")
    stable_seen = False
    for row in rows:
        if not row["stable"] and not stable_seen:
            stable_seen = True
            table.add_section()
        kind = "convex, monotone" if row["class"] == "convex" else "nonconvex, nonmonotone"
        summary = f"{kind}\ng_max = {_fmt(row['g_max'])}"
        if not row["stable"]:
            summary += "\n[red]fails:[/]\n" + "\n".join(c["condition"] for c in row["fails"])
        for i, form in enumerate(FORMS):
            formula = row["formulas"].get(form, "")
            aliases = ", ".join(row["aliases"].get(form, ()))
            first = (f"{row['family']}\n{summary}") if i == 0 else ""
            table.add_row(first, form, formula, aliases)
        table.add_section()
    console = stdout_console()
    console.print(table)
    for row in rows:
        for c in row.get("fails", ()):
            console.print(f"{row['family']}: '{c['condition']}' fails: {c['detail']}")


def render_translation(t: dict) -> None:
    """A translation of :func:`resdenoise.dictionary.translate` as tables on stdout."""
    from rich.table import Table

    console = stdout_console()
    head = Table(show_header=False, title=f"translate {t['name']}", title_justify="left")
    head.add_column("quantity", style="bold")
    head.add_column("value")
    family = t["family"] if t["family"] != "custom" else "your own (numerical translations)"
    head.add_row("nonlinearity", f"{t['label']} - {family}, given as {t['given']}")
    head.add_row("lambda / threshold", f"{_fmt(t['lambda'])} / {_fmt(t['threshold'])}")
    head.add_row("class", t["class"])
    exact = "" if t["exact"] else " (sampled)"
    head.add_row("g = Phi(r)/r range" + exact, f"[{_fmt(t['g_min'])}, {_fmt(t['g_max'])}]")
    head.add_row("Lipschitz constant of Phi", _fmt(t["lipschitz"]))
    head.add_row("Phi odd / monotone", f"{_fmt(t['odd'])} / {_fmt(t['monotone'])}")
    head.add_row("tau bound L-inf h^2/(2 g_max)", _fmt(t["tau_linf_bound"]))
    head.add_row("tau bound sign h^2/(4 g_max)", _fmt(t["tau_sign_bound"]))
    head.add_row("h", _fmt(t["h"]))
    console.print(head)

    formulas = Table(title="the four forms", title_justify="left")
    formulas.add_column("form", style="bold")
    formulas.add_column("formula")
    for form, f in t["forms"].items():
        formulas.add_row(f"{form} {f['symbol']}", f["formula"] or "(translated numerically)")
    console.print(formulas)
    values = Table(title="sampled (S: one Haar step, tau = 1/4, h = 1)", title_justify="left")
    values.add_column("r, s", justify="right", style="bold")
    for f in t["forms"].values():
        values.add_column(f["symbol"], justify="right")
    columns = [f["values"] for f in t["forms"].values()]
    for i, x in enumerate(next(iter(t["forms"].values()))["x"]):
        values.add_row(_fmt(x), *(_fmt(col[i]) for col in columns))
    console.print(values)

    console.print("[bold]stability theorem[/] (paper, Theorem 2; README, 'Stability'):")
    for c in t["conditions"]:
        mark = "[green]holds[/]" if c["holds"] else "[red]fails[/]"
        console.print(f"  {mark}  {c['condition']}: {c['detail']}")
    if not t["theorem_applies"]:
        console.print(
            "[red]not covered by the stability theorem[/]: a run with it is refused "
            "(exit code 3) unless --allow-unstable is given"
        )
    elif t["tau"] is not None:
        verdict = (
            "sign stable"
            if t["sign_stable"]
            else "L-infinity stable, not sign stable"
            if t["linf_stable"]
            else "not stable"
        )
        console.print(f"tau = {_fmt(t['tau'])}: {verdict}")
    else:
        console.print(f"stable for tau <= {_fmt(t['tau_linf_bound'])}")


# --------------------------------------------------------------------------
# Progress bars
# --------------------------------------------------------------------------


class Bars:
    """Rich progress bars on stderr: files done (batch) and one bar per running file.

    Refreshed by hand (no refresh thread, so that batch workers can fork).
    """

    PHASES = {
        "check": "checking",
        "noise": "noise level",
        "filter": "filtering",
        "blocks": "blocks",
    }

    def __init__(self, files: int | None = None):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr_console(),
            transient=True,
            auto_refresh=False,
        )
        self.files = self.progress.add_task("files", total=files) if files else None
        self.tasks: dict = {}
        self._last = 0.0

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def print(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def update(self, key, label: str, phase: str, done: int, total) -> None:
        description = f"{label} {self.PHASES.get(phase, phase)}"
        if key not in self.tasks:
            self.tasks[key] = (self.progress.add_task(description, total=total), phase)
        task, shown = self.tasks[key]
        if phase != shown:  # a new phase: a fresh bar and clock
            self.progress.reset(task, total=total, description=description)
            self.tasks[key] = (task, phase)
        self.progress.update(task, description=description, completed=done, total=total)
        self.refresh()

    def file_done(self, key) -> None:
        if key in self.tasks:
            self.progress.remove_task(self.tasks.pop(key)[0])
        if self.files is not None:
            self.progress.advance(self.files)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        import time

        now = time.monotonic()
        if force or now - self._last > 0.1:
            self._last = now
            self.progress.refresh()


def show_progress(quiet: bool) -> bool:
    """Whether to draw progress bars: not quiet, and stderr is a terminal."""
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress_sink(quiet: bool, label: str):
    """``progress(phase, done, total)`` for one file: a bar on a terminal, else None.

    The bar starts with the first update worth showing (an in-memory run of
    fewer than BAR_MIN_BLOCKS blocks shows none) and is gone afterwards.
    """
    if not show_progress(quiet):
        yield None
        return
    bars = None

    def sink(phase: str, done: int, total) -> None:
        nonlocal bars
        if phase == "blocks" and total is not None and total < BAR_MIN_BLOCKS:
            return
        if bars is None:
            bars = Bars().__enter__()
        bars.update(0, label, phase, done, total)

    try:
        yield sink
    finally:
        if bars is not None:
            bars.__exit__(None, None, None)
