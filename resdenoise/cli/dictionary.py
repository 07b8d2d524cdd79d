"""The ``dictionary`` and ``translate`` commands.

The numbers come from :mod:`resdenoise.dictionary`, :mod:`resdenoise.expr`
and :mod:`resdenoise.plot`; this module parses options, and
:mod:`resdenoise.cli.render_forms` draws the tables.
"""

from __future__ import annotations

import contextlib
import sys

import click

from ..errors import UnstableError
from ..nonlinearities import (
    FORMS,
    NON_ODD_ACTIVATIONS,
    NONLINEARITIES,
    PAPER_FAMILIES,
    PARAMETRISED_FAMILIES,
    SQRT2,
    get_nonlinearity,
    get_parametrised,
)
from .options import (
    CONTEXT_SETTINGS,
    Command,
    grid_option,
    library_errors,
    plot_options,
    printable,
    quiet_option,
    write_json,
)
from .param_types import POSITIVE, NameChoice, flag_spellings

__all__ = ["dictionary", "translate"]


def _write_json(body: dict, schema_version: int) -> None:
    """``body``, :func:`~resdenoise.report.stamped` with ``schema_version``, as JSON on
    stdout, as the filtering commands write theirs: a failed write (a full disk) is one
    ``<stdout>: cannot write: ...`` line, exit 1."""
    from ..report import stamped

    with library_errors():
        write_json(stamped(body, schema_version))


@contextlib.contextmanager
def _stdout_errors():
    """A table drawn on stdout whose writing fails: one ``<stdout>: cannot write: ...``
    line, exit 1 (not an internal error)."""
    from ..io import write_errors

    with library_errors(), write_errors("<stdout>"):
        yield


def _plot(columns, path, size):
    from ..plot import plot_dictionary

    with library_errors():
        plot_dictionary(columns, path, size)


def _plot_written(path, quiet: bool) -> None:
    """Say where the plot went (not with -q)."""
    if path is not None and not quiet:
        click.echo(f"plot written to {printable(path)}", err=True)


# --------------------------------------------------------------------------
# resdenoise dictionary
# --------------------------------------------------------------------------

ALL_FAMILIES = tuple(NONLINEARITIES) + tuple(NON_ODD_ACTIVATIONS)


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the dictionary as JSON on stdout.")
@click.option(
    "--family",
    "families",
    multiple=True,
    type=click.Choice(ALL_FAMILIES + tuple(PARAMETRISED_FAMILIES), case_sensitive=False),
    help="Only these entries (repeatable) [default: all; the plot: the six of the paper]. "
    "bumps, learn's parametrised family, is shown by translate with its coefficients.",
)
@click.option(
    "--lambda",
    "lam",
    type=POSITIVE,
    metavar="LAMBDA",
    default=1.0,
    show_default=True,
    help="Contrast parameter of the plots.",
)
@plot_options
@quiet_option
def dictionary(as_json, families, lam, plot_path, plot_size, quiet):
    """Every entry of the dictionary in its four forms.

    Family, class (convex and monotone, or nonconvex and nonmonotone), the
    formulas of the diffusivity g, the regulariser Psi, the shrinkage
    function S (threshold theta = lam/sqrt2, one Haar step: tau = 1/4,
    h = 1) and the activation Phi, the paper's and other known names, and
    g_max.  The last entries are common deep-learning activations outside
    the paper's Theorem 2 as stated (Phi not odd), each with the reason:
    relu, leaky-relu, gelu and silu are stable all the same (g >= 0 and
    bounded); sigmoid is not (g < 0 somewhere, g unbounded at 0).

    \b
    Example:
        resdenoise dictionary
        resdenoise dictionary --json
        resdenoise dictionary --plot table2.png
    """
    from ..dictionary import dictionary_rows
    from ..report import DICTIONARY_SCHEMA_VERSION

    rows = dictionary_rows()
    if families:
        wanted = {f.lower() for f in families}
        for name in sorted(wanted.intersection(PARAMETRISED_FAMILIES)):  # no entry: g needs c
            raise click.UsageError(
                f"--family {name}: {name} is a parametrised family, its forms set by its "
                f"coefficients: resdenoise translate --activation {name} --coefficients "
                "C1,C2,... --lambda L (a learned group's, from the network file or learn --json)"
            )
        rows = [r for r in rows if r["family"] in wanted]
    if plot_path is not None:
        keys = [r["family"] for r in rows] if families else list(PAPER_FAMILIES)
        _plot([(k, get_nonlinearity(k, "activation", lam)) for k in keys], plot_path, plot_size)
    if as_json:
        _write_json({"entries": rows}, DICTIONARY_SCHEMA_VERSION)
        return
    from . import render_forms  # not at start-up: --help draws nothing

    with _stdout_errors():
        render_forms.render_dictionary(rows)
    _plot_written(plot_path, quiet)


# --------------------------------------------------------------------------
# resdenoise translate
# --------------------------------------------------------------------------


def _form_options(func):
    for form in reversed(FORMS):
        func = click.option(
            *flag_spellings(form, "-expr"),
            f"{form}_expr",
            default=None,
            metavar="EXPR",
            help=f"Your own {form} as a formula (see --help above).",
        )(func)
        func = click.option(
            *flag_spellings(form),
            form,
            default=None,
            type=NameChoice(form, parametrised=True),
            help=f"{'An' if form[0] in 'aeiou' else 'A'} {form} of the registry, by key or alias "
            "(or bumps, learn's family, with --coefficients).",
        )(func)
    return func


@click.command(cls=Command, context_settings=CONTEXT_SETTINGS)
@_form_options
@click.option(
    "--lambda",
    "lam",
    type=POSITIVE,
    metavar="LAMBDA",
    default=None,
    help="Contrast parameter lambda [default: 1].",
)
@click.option(
    "--threshold",
    "theta",
    type=POSITIVE,
    metavar="THETA",
    default=None,
    help="Shrinkage threshold theta (lambda = sqrt2 theta).  [default: lambda/sqrt2]",
)
@click.option(
    "--coefficients",
    default=None,
    metavar="C1,C2,...",
    help="The coefficients of a parametrised family (bumps: a learned group's, as the "
    "network file and learn --json's learned_groups give them).",
)
@click.option(
    "--tau", type=POSITIVE, default=None, metavar="TAU", help="Time step to check [default: none]."
)
@grid_option
@click.option("--json", "as_json", is_flag=True, help="Print the translation as JSON on stdout.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit with code 3 when any condition the table marks fails: g >= 0, g bounded, "
    "and with --tau both bounds (L-infinity and sign stability); Phi odd (the paper's "
    "Theorem 2 as stated, not needed for stability) is shown, not checked.",
)
@plot_options
@quiet_option
def translate(
    lam, theta, coefficients, tau, h, as_json, check, plot_path, plot_size, quiet, **given
):
    """Translate one nonlinearity into the other three forms, and check it.

    Give exactly one of --activation, --diffusivity, --regulariser,
    --shrinkage (a registry name) or their -expr forms (a formula).  Prints
    the four forms (formulas where the registry has them, sampled values at
    r = lam x (0, 1/4, 1/2, 1, 2, 4) always), the range of g = Phi(r)/r, the
    Lipschitz constant of Phi, the class, both tau bounds and the conditions
    of the stability theorem: g >= 0, g bounded, and with --tau the two bounds,
    each marked as holding or failing, and why; and whether Phi is odd (the
    paper's hypothesis for Theorem 2 as stated: without it the filter does not
    commute with negation, and stability holds by g's range all the same).

    A formula is parsed, never run as Python: r (s for a shrinkage), lam,
    theta = lam/sqrt2, pi, e, numbers, + - * / ** (^ also means **),
    comparisons, 'a if c else b', and exp, log, sqrt, abs, sign, tanh,
    arctan, minimum, maximum, where, clip, cosh, sinh, log1p, expm1, erf
    (and, or, not are refused: write (r > 0) * (r < 1), maximum(c1, c2), 1 - (c)).
    The other forms are translated numerically: Psi = 2 int_0^r Phi by
    adaptive quadrature, Phi = Psi'/2 by exact differentiation of the formula,
    S(s) = s + Phi(-sqrt2 s)/sqrt2 (one Haar step, tau = 1/4, h = 1; for an odd
    Phi the paper's s - Phi(sqrt2 s)/sqrt2).

    \b
    Example:
        resdenoise translate --activation tanh
        resdenoise translate --activation sigmoid --check  # exit code 3: g unbounded
        resdenoise translate --regulariser huber --lambda 0.5 --tau 0.3
        resdenoise translate --activation-expr "r*exp(-r**2/2)" --plot pm.png
        resdenoise translate --activation bumps --coefficients 0.5,0,0.5 --lambda 2
    """
    from ..dictionary import translate as translate_nl
    from ..expr import ExpressionError, expression_nonlinearity, parse_expression
    from ..report import TRANSLATION_SCHEMA_VERSION

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
    if coefficients is not None and key.endswith("_expr"):
        raise click.UsageError("--coefficients are for a parametrised family, not a formula")
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
        elif value in PARAMETRISED_FAMILIES or coefficients is not None:
            nl = get_parametrised(value, _coefficients(value, form, coefficients), form, lam)
        else:
            nl = get_nonlinearity(value, form, lam)
        result = translate_nl(nl, form, tau=tau, h=h, expression=expression)
    if plot_path is not None:
        _plot([(nl.name, nl)], plot_path, plot_size)
    # every line marked "fails" (oddness, not needed for stability, is no failure)
    failed = [c["condition"] for c in result["conditions"] if c["required"] and not c["holds"]]
    if check and not quiet:  # the verdict first, on stderr; the tables after it
        checked = ", ".join(c["condition"] for c in result["conditions"] if c["required"])
        said = (
            f"fails the stability theorem: {', '.join(failed)}; exit code 3"
            if failed
            else f"the stability theorem's conditions hold: {checked}"
        )
        click.echo(printable(f"translate {result['name']}: {said}"), err=True)
    if as_json:
        _write_json(result, TRANSLATION_SCHEMA_VERSION)
    else:
        from . import render_forms

        with _stdout_errors():
            render_forms.render_translation(result)
        _plot_written(plot_path, quiet)
    if check and failed:
        sys.exit(UnstableError.exit_code)


def _coefficients(name: str, form: str, text: str | None) -> list[float]:
    """``--coefficients`` of the parametrised family ``name``: numbers, comma-separated."""
    flag = "--" + form.replace("_", "-")
    if name not in PARAMETRISED_FAMILIES:
        raise click.UsageError(
            f"--coefficients are for a parametrised family ({', '.join(PARAMETRISED_FAMILIES)}), "
            f"not {flag} {name}: drop --coefficients"
        )
    if text is None:
        raise click.UsageError(
            f"{flag} {name} is a parametrised family: give its coefficients, --coefficients "
            "C1,C2,... (a learned group's, from the network file or learn --json)"
        )
    try:
        return [float(c) for c in text.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give numbers separated by commas", param_hint="'--coefficients'"
        ) from None
