"""The ``dictionary`` and ``translate`` commands, and the CLI side of networks
(``resnet --network``).

Registered on the group of :mod:`resdenoise.cli` (imported at its end).  The
numbers come from :mod:`resdenoise.dictionary`, :mod:`resdenoise.expr`,
:mod:`resdenoise.network` and :mod:`resdenoise.plot`; this module parses
options and renders.
"""

from __future__ import annotations

import math

import click

from ..nonlinearities import (
    FORMS,
    NONLINEARITIES,
    NONSTABLE_ACTIVATIONS,
    PAPER_FAMILIES,
    SQRT2,
    get_nonlinearity,
    names_for_form,
)
from . import (
    CONTEXT_SETTINGS,
    EXPR_META,
    POSITIVE,
    cli,
    library_errors,
    on_command_line,
)

__all__ = ["dictionary", "network_plan_maker", "translate"]


# --------------------------------------------------------------------------
# resnet --network
# --------------------------------------------------------------------------


def network_plan_maker(path: str, lam, tau, h, blocks):
    """Check the options, load the network file, and return ``make_plan(u)`` for ``_run``."""
    from ..network import load_network
    from ..pipeline import network_planner

    ctx = click.get_current_context()
    if blocks is not None:
        raise click.UsageError("give --blocks M or --network FILE, not both")
    if on_command_line(ctx, "name") or EXPR_META in ctx.meta:
        raise click.UsageError(
            "--network gives every block its own activation; drop --activation/--activation-expr"
        )
    with library_errors():
        spec = load_network(path)
    if spec.h is not None and on_command_line(ctx, "h") and spec.h != h:
        raise click.UsageError(f"{path} sets h = {spec.h:g}; drop --h {h:g} or the file's h")
    return network_planner(spec, lam=lam, tau=tau, h=h)


# --------------------------------------------------------------------------
# Shared options
# --------------------------------------------------------------------------


class PlotSize(click.ParamType):
    """``WIDTHxHEIGHT`` in pixels."""

    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            w, h = (int(v) for v in str(value).lower().split("x"))
        except ValueError:
            self.fail(f"{value!r} is not WIDTHxHEIGHT in pixels, e.g. 1200x800", param, ctx)
        if not (50 <= w <= 20000 and 50 <= h <= 20000):
            self.fail(f"{value!r}: width and height must be 50 to 20000 pixels", param, ctx)
        return w, h


def _plot_options(func):
    func = click.option(
        "--plot-size",
        type=PlotSize(),
        default=None,
        help="Image size in pixels [default: 260 per column x 800]; SVG/PDF: 0.72 pt per pixel.",
    )(func)
    func = click.option(
        "--plot",
        "plot_path",
        default=None,
        metavar="PATH",
        help="Also draw the function plots (rows g, Psi, S, Phi) to PATH: .png, .svg or .pdf. "
        "Needs matplotlib: pip install 'resdenoise[plot]'.",
    )(func)
    return func


def _plot(columns, path, size):
    from ..plot import plot_dictionary

    with library_errors():
        plot_dictionary(columns, path, size)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


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
# resdenoise dictionary
# --------------------------------------------------------------------------

ALL_FAMILIES = tuple(NONLINEARITIES) + tuple(NONSTABLE_ACTIVATIONS)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the dictionary as JSON on stdout.")
@click.option(
    "--family",
    "families",
    multiple=True,
    type=click.Choice(ALL_FAMILIES, case_sensitive=False),
    help="Only these entries (repeatable) [default: all; the plot: the six of the paper].",
)
@click.option(
    "--lambda",
    "lam",
    type=POSITIVE,
    default=1.0,
    show_default=True,
    help="Contrast parameter of the plots.",
)
@_plot_options
def dictionary(as_json, families, lam, plot_path, plot_size):
    """Every entry of the dictionary in its four forms.

    Family, class (convex and monotone, or nonconvex and nonmonotone), the
    formulas of the diffusivity g, the regulariser Psi, the shrinkage
    function S (threshold theta = lam/sqrt2, one Haar step: tau = 1/4,
    h = 1) and the activation Phi, the paper's and other known names, and
    g_max.  Entries below the line are common deep-learning activations
    that the stability theorem does not cover, with the reason.

    \b
    Example:
        resdenoise dictionary
        resdenoise dictionary --json
        resdenoise dictionary --plot table2.png
    """
    from ..dictionary import dictionary_rows
    from ..report import to_json

    rows = dictionary_rows()
    if families:
        wanted = {f.lower() for f in families}
        rows = [r for r in rows if r["family"] in wanted]
    if plot_path is not None:
        keys = [r["family"] for r in rows] if families else list(PAPER_FAMILIES)
        _plot([(k, get_nonlinearity(k, "activation", lam)) for k in keys], plot_path, plot_size)
    if as_json:
        click.echo(to_json({"entries": rows}), nl=False)
        return
    _render_dictionary(rows)
    if plot_path is not None:
        click.echo(f"plot written to {plot_path}", err=True)


def _render_dictionary(rows):
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
    console = _console()
    console.print(table)
    for row in rows:
        for c in row.get("fails", ()):
            console.print(f"{row['family']}: '{c['condition']}' fails: {c['detail']}")


# --------------------------------------------------------------------------
# resdenoise translate
# --------------------------------------------------------------------------


def _form_options(func):
    for form in reversed(FORMS):
        func = click.option(
            f"--{form}-expr",
            f"{form}_expr",
            default=None,
            metavar="EXPR",
            help=f"Your own {form} as a formula (see --help above).",
        )(func)
        func = click.option(
            f"--{form}",
            form,
            default=None,
            type=click.Choice(names_for_form(form), case_sensitive=False),
            help=f"A {form} of the registry, by key or alias.",
        )(func)
    return func


@cli.command(context_settings=CONTEXT_SETTINGS)
@_form_options
@click.option(
    "--lambda",
    "lam",
    type=POSITIVE,
    default=None,
    help="Contrast parameter lambda [default: 1].",
)
@click.option(
    "--threshold",
    "theta",
    type=POSITIVE,
    default=None,
    help="Shrinkage threshold theta (lambda = sqrt2 theta).",
)
@click.option("--tau", type=POSITIVE, default=None, help="Time step to check [default: none].")
@click.option("--h", type=POSITIVE, default=1.0, show_default=True, help="Grid size.")
@click.option("--json", "as_json", is_flag=True, help="Print the translation as JSON on stdout.")
@_plot_options
def translate(lam, theta, tau, h, as_json, plot_path, plot_size, **given):
    """Translate one nonlinearity into the other three forms, and check it.

    Give exactly one of --activation, --diffusivity, --regulariser,
    --shrinkage (a registry name) or their -expr forms (a formula).  Prints
    the four forms (formulas where the registry has them, sampled values at
    r = lam x (0, 1/4, 1/2, 1, 2, 4) always), the range of g = Phi(r)/r, the
    Lipschitz constant of Phi, the class, both tau bounds and the conditions
    of the stability theorem: Phi odd, g >= 0, g bounded, and with --tau the
    two bounds, each marked as holding or failing, and why.

    A formula is parsed, never run as Python: r (s for a shrinkage), lam,
    theta = lam/sqrt2, pi, e, numbers, + - * / ** (^ also means **),
    comparisons, 'a if c else b', and exp, log, sqrt, abs, sign, tanh,
    arctan, minimum, maximum, where, clip, cosh, sinh, log1p, expm1, erf.
    The other forms are translated numerically: Psi = 2 int_0^r Phi by
    adaptive quadrature, Phi = Psi'/2 by differences, S(s) = s -
    Phi(sqrt2 s)/sqrt2 (one Haar step, tau = 1/4, h = 1).

    \b
    Example:
        resdenoise translate --activation tanh
        resdenoise translate --activation relu
        resdenoise translate --regulariser huber --lambda 0.5 --tau 0.3
        resdenoise translate --activation-expr "r*exp(-r**2/2)" --plot pm.png
    """
    from ..dictionary import translate as translate_nl
    from ..expr import ExpressionError, expression_nonlinearity, parse_expression
    from ..report import to_json

    chosen = [(k, v) for k, v in given.items() if v is not None]
    if len(chosen) != 1:
        flags = ", ".join("--" + k.replace("_", "-") for k, _ in chosen) or "none"
        raise click.UsageError(
            "give exactly one of --activation, --diffusivity, --regulariser, --shrinkage "
            f"or one of their -expr forms; got {flags}"
        )
    key, value = chosen[0]
    form = key.removesuffix("_expr")
    if lam is not None and theta is not None:
        raise click.UsageError("give --lambda or --threshold, not both")
    if theta is not None:
        lam = SQRT2 * theta
    lam = 1.0 if lam is None else lam
    expression = None
    with library_errors():
        if key.endswith("_expr"):
            try:
                expr = parse_expression(value, form)
            except ExpressionError as exc:
                raise click.BadParameter(str(exc), param_hint=f"'--{form}-expr'") from None
            nl = expression_nonlinearity(expr, form, lam)
            expression = expr.text
        else:
            nl = get_nonlinearity(value, form, lam)
        result = translate_nl(nl, form, tau=tau, h=h, expression=expression)
    if plot_path is not None:
        _plot([(nl.name, nl)], plot_path, plot_size)
    if as_json:
        click.echo(to_json(result), nl=False)
    else:
        _render_translation(result)
        if plot_path is not None:
            click.echo(f"plot written to {plot_path}", err=True)


def _render_translation(t: dict) -> None:
    from rich.table import Table

    console = _console()
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
