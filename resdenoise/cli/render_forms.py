"""The dictionary and translation tables of ``resdenoise dictionary`` and
``resdenoise translate``, drawn with rich on stdout (beside :mod:`.render`, whose
helpers they use).
"""

from __future__ import annotations

from ..nonlinearities import FORMS
from .render import _fmt, _sampled, _show, _stability_rows, _text, stdout_console
from .table_fit import print_wrapped


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
        if row.get("notes"):
            summary += "\n[yellow]no (not needed):[/]\n" + "\n".join(
                c["condition"] for c in row["notes"]
            )
        for i, form in enumerate(FORMS):
            formula = row["formulas"].get(form, "")
            aliases = ", ".join(row["aliases"].get(form, ()))
            first = (f"{row['family']}\n{summary}") if i == 0 else ""
            table.add_row(first, form, formula, aliases)
        table.add_section()
    console = stdout_console()
    _show(console, table)
    for row in rows:
        for c in row.get("fails", ()):
            print_wrapped(console, f"{row['family']}: '{c['condition']}' fails: {c['detail']}")
        for c in row.get("notes", ()):
            said = f"{row['family']}: '{c['condition']}' does not hold: {c['detail']}"
            print_wrapped(console, said)


def render_translation(t: dict) -> None:
    """A translation of :func:`resdenoise.dictionary.translate` as tables on stdout."""
    from rich.table import Table

    console = stdout_console()
    head = Table(show_header=False, title=f"translate {_text(t['name'])}", title_justify="left")
    head.add_column("quantity", style="bold")
    head.add_column("value")
    family = t["family"] if t["family"] != "custom" else "your own (numerical translations)"
    head.add_row("nonlinearity", _text(f"{t['label']} - {family}, given as {t['given']}"))
    head.add_row("lambda / threshold", f"{_fmt(t['lambda'])} / {_fmt(t['threshold'])}")
    head.add_row("class", t["class"])
    _stability_rows(head, t, _fmt, "g = Phi(r)/r range", "Lipschitz constant of Phi")
    head.add_row("h", _fmt(t["h"]))
    _show(console, head)

    formulas = Table(title="the four forms", title_justify="left")
    formulas.add_column("form", style="bold")
    formulas.add_column("formula")
    formulas.add_column("known as", overflow="fold")
    for form, f in t["forms"].items():
        formulas.add_row(
            f"{form} {f['symbol']}",
            _text(f["formula"] or "(translated numerically)"),
            ", ".join(f["known_as"]) or "-",
        )
    _show(console, formulas)
    values = Table(title="sampled (S: one Haar step, tau = 1/4, h = 1)", title_justify="left")
    values.add_column("r, s", justify="right", style="bold")
    for f in t["forms"].values():
        values.add_column(f["symbol"], justify="right")
    columns = [f["values"] for f in t["forms"].values()]
    for i, x in enumerate(next(iter(t["forms"].values()))["x"]):
        values.add_row(_fmt(x), *(_fmt(col[i]) for col in columns))
    _show(console, values)

    console.print("[bold]stability theorem[/] (paper, Theorem 2; README, 'Stability'):")
    for c in t["conditions"]:
        mark = (
            "[green]holds[/]"
            if c["holds"]
            else "[red]fails[/]"
            if c["required"]
            else "[yellow]no[/]   "
        )
        print_wrapped(console, f"{mark}  {_text(c['condition'])}: {_text(c['detail'])}", 2, 7)
    for note in t.get("notes", ()):
        print_wrapped(console, f"[yellow]note[/]   {_text(note)}", 2, 7)
    if not t["theorem_applies"]:
        print_wrapped(
            console,
            "[red]not covered by the stability theorem[/]: a run with it is refused "
            "(exit code 3) unless --allow-unstable is given",
        )
    elif t["tau"] is not None:
        verdict = (
            "sign stable"
            if t["sign_stable"]
            else "L-infinity stable, not sign stable"
            if t["linf_stable"]
            else "not stable"
        )
        console.print(f"tau = {_fmt(t['tau'])}: {verdict}{_sampled(t)}")
    else:
        from ..stability import bound_underflows

        underflow = bound_underflows(t["tau_linf_bound"], t["h"], t["g_max"], "--h")
        console.print(underflow or f"stable for tau <= {_fmt(t['tau_linf_bound'])}")
