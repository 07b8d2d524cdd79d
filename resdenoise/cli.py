"""The ``resdenoise`` command line: a thin layer over the library.

Options become the arguments of :mod:`resdenoise.pipeline` (which reads,
plans, checks, runs, measures and writes); this module adds what belongs to
a terminal: the click options, library errors as one ``Error: ...`` line
with their exit code (parameters named as flags), the report as a rich
table (:mod:`resdenoise.report`) and progress bars.

Exit codes: 0 success, 1 input or output problem, 2 usage, 3 refused as
unstable, 4 a measured guarantee failed under ``--strict``; with several
inputs, the largest code among the files that failed.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys

import click

from . import __version__
from .errors import GuaranteeError, ParameterError, ResdenoiseError
from .nonlinearities import names_for_form

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EXIT_STRICT = GuaranteeError.exit_code
#: click context meta key of a parsed --FORM-expr: (form, resdenoise.expr.Expression)
EXPR_META = "resdenoise.expr"
#: library parameter names whose flag is not --NAME-WITH-DASHES
FLAGS = {"lam": "--lambda", "theta": "--threshold", "output": "-o", "report_path": "--report"}
#: an in-memory run of fewer blocks gets no progress bar
BAR_MIN_BLOCKS = 50


class CliError(click.ClickException):
    """One ``Error: ...`` line on stderr with the library error's exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def flag(name: str, value=...) -> str:
    """The command line's spelling of a library parameter: ``--name``, ``--name VALUE``."""
    text = FLAGS.get(name, "--" + name.replace("_", "-"))
    return text if value is ... or value is True else f"{text} {value}"


def error_message(exc: ResdenoiseError) -> str:
    """A library error's message with its parameters named as flags."""
    if isinstance(exc, GuaranteeError) and exc.report is not None:
        return "--strict: " + "; ".join(exc.report["failed_checks"])
    return exc.restate(flag)


@contextlib.contextmanager
def library_errors(usage: bool = False):
    """Library errors as one ``Error:`` line and their exit code.

    With ``usage``, a :class:`ParameterError` (raised before any input is
    read) is a click usage error instead: the usage line, then the error.
    """
    try:
        yield
    except ParameterError as exc:
        if usage:
            raise click.UsageError(error_message(exc)) from None
        raise CliError(error_message(exc), exc.exit_code) from None
    except ResdenoiseError as exc:
        raise CliError(error_message(exc), exc.exit_code) from None


class PositiveOrAuto(click.ParamType):
    """A finite number > 0 (an integer >= 1 with ``integer``), or the word ``auto``.

    ``auto`` becomes :data:`resdenoise.pipeline.AUTO`, which the library
    reads as "choose from the data".
    """

    def __init__(self, integer: bool = False):
        self.integer = integer
        self.name = "INTEGER|auto" if integer else "NUMBER|auto"

    def convert(self, value, param, ctx):
        from .pipeline import AUTO  # not at start-up: --help needs no pipeline

        if isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        if value == AUTO or value is None:
            return value
        try:
            x = int(value) if self.integer else float(value)
        except (TypeError, ValueError):
            what = "an integer" if self.integer else "a number"
            self.fail(f"{value!r} is neither {what} nor 'auto'", param, ctx)
        if self.integer and x < 1:
            self.fail(f"{value!r} must be an integer >= 1, or 'auto'", param, ctx)
        if not self.integer and not (math.isfinite(x) and x > 0):
            self.fail(f"{value!r} must be a finite number > 0, or 'auto'", param, ctx)
        return x


POSITIVE = click.FloatRange(min=0.0, min_open=True, max=1e300)
COUNT = click.IntRange(min=1)
NUMBER_OR_AUTO = PositiveOrAuto()
COUNT_OR_AUTO = PositiveOrAuto(integer=True)


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="resdenoise")
def cli():
    """Stable, explainable 1D signal denoising with diffusion blocks.

    Four descriptions of one filter (Alt, Weickert and Peter 2020), one
    engine: u <- u + tau * D- Phi(D+ u). Each command reads a CSV or audio
    file (or - for stdin), writes the filtered signal (CSV on stdout unless
    -o is given) and prints stability diagnostics on stderr.

    \b
    Exit codes: 0 success, 1 input/output problem, 2 usage,
                3 refused as unstable, 4 a guarantee failed under --strict;
                several INPUTs: the largest code among the files that failed.
    """


def common_options(func):
    """Options shared by the four filtering commands."""

    @click.argument("input_paths", metavar="INPUT...", nargs=-1, required=True)
    @click.option(
        "-o",
        "--output",
        default="-",
        show_default=True,
        help="Output file; format from its extension. '-' writes CSV to stdout. With "
        "several INPUTs: a directory (existing, or a name ending in /) that receives "
        "one output per input under the input's name.",
    )
    @click.option(
        "--input-format",
        default=None,
        help="Format of INPUT when the name does not tell (csv, wav, flac, ...).",
    )
    @click.option(
        "--output-format", default=None, help="Format of OUTPUT when the name does not tell."
    )
    @click.option(
        "--delimiter",
        default=None,
        metavar="CHAR",
        help="CSV delimiter: ',', ';', tab, space (runs of blanks) or '|' [default: sniffed].",
    )
    @click.option(
        "--decimal",
        type=click.Choice([".", ","]),
        default=None,
        help="CSV decimal mark [default: '.', or ',' when the file uses it].",
    )
    @click.option(
        "--header/--no-header",
        default=None,
        help="The first CSV row is (is not) a header [default: detected].",
    )
    @click.option(
        "--time-column",
        default=None,
        metavar="NAME|N|none",
        help="CSV column (name or number) carried through unfiltered [default: a "
        "monotone first column named time/t/index/sample...]; 'none': no time column.",
    )
    @click.option(
        "--columns",
        default=None,
        metavar="A,B",
        help="Columns (names or numbers; audio: channel numbers) to filter; the others "
        "are carried through unchanged [default: all but the time column].",
    )
    @click.option(
        "--subtype",
        default=None,
        metavar="SUBTYPE",
        help="Audio subtype of OUTPUT (PCM_16, PCM_24, FLOAT, ...) [default: the input's].",
    )
    @click.option(
        "--in-place", is_flag=True, help="Allow OUTPUT to be INPUT (replaced atomically)."
    )
    @click.option(
        "--report",
        "report_path",
        default=None,
        metavar="PATH",
        help="Write the JSON report to PATH ('-': stdout, when -o is a file). With "
        "several INPUTs: a directory receiving INPUT-NAME.json for each input.",
    )
    @click.option(
        "--allow-unstable", is_flag=True, help="Run even if tau exceeds the L-infinity bound."
    )
    @click.option(
        "--strict", is_flag=True, help="Exit with code 4 when a measured guarantee fails."
    )
    @click.option(
        "--reference",
        default=None,
        metavar="CLEAN",
        help="A clean signal of the same shape (read like INPUT): report MSE, SNR and "
        "PSNR of input and output against it.",
    )
    @click.option("-q", "--quiet", is_flag=True, help="No diagnostics on stderr.")
    @click.option(
        "--dtype",
        type=click.Choice(["float64", "float32"]),
        default="float64",
        show_default=True,
        help="Working precision: float32 halves the memory traffic "
        "(audio); float64 is the reference.",
    )
    @click.option(
        "--chunk-size",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Filter in chunks of N samples (plus a halo of m samples each side) in "
        "memory that does not grow with the file, with the same numbers; 0: always "
        "load the file whole [default: chunks for input files over 64 MiB].",
    )
    @click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="With several INPUTs: filter this many files at once, in parallel processes.",
    )
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def _name_option(form: str, default: str):
    """``--FORM NAME`` and ``--FORM-expr EXPR`` (your own formula, kept in ctx.meta)."""
    names = names_for_form(form)
    name_option = click.option(
        f"--{form}",
        "name",
        default=default,
        show_default=True,
        type=click.Choice(names, case_sensitive=False),
        help=f"The {form}; the six families and their paper names.",
    )
    expr_option = click.option(
        f"--{form}-expr",
        default=None,
        metavar="EXPR",
        expose_value=False,
        callback=functools.partial(_remember_expr, form),
        help=f"Your own {form} as a formula in {'s' if form == 'shrinkage' else 'r'} (and lam), "
        "instead of --" + form + "; see 'resdenoise translate --help'.",
    )
    return lambda func: name_option(expr_option(func))


def _remember_expr(form, ctx, param, value):
    if value is None:
        return None
    from .expr import ExpressionError, parse_expression

    try:
        ctx.meta[EXPR_META] = (form, parse_expression(value, form))
    except ExpressionError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _stopping_rule_option():
    from .stopping_rules import DEFAULT_RULE, RULES

    return click.option(
        "--stopping-rule",
        type=click.Choice(sorted(RULES)),
        default=DEFAULT_RULE,
        show_default=True,
        help="How 'auto' picks the number of blocks (and lambda, when it is auto too): sure = "
        "Stein's unbiased estimate of the MSE; noise2self = masked self-supervised loss; "
        "decorrelation = least correlation of signal and removed noise.",
    )


def _lambda_option():
    return click.option(
        "--lambda",
        "lam",
        type=NUMBER_OR_AUTO,
        default="auto",
        show_default=True,
        help="Contrast parameter lambda > 0, or 'auto': sqrt2 x universal threshold "
        "from the MAD noise estimate (with an 'auto' stopping time: the best of "
        "universal x 2^(-k/2), k = 0..12, by --stopping-rule).",
    )


@cli.command(context_settings=CONTEXT_SETTINGS)
@_name_option("diffusivity", "perona-malik")
@_lambda_option()
@click.option(
    "--time",
    "time_",
    type=NUMBER_OR_AUTO,
    help="Stopping time T (m = ceil(T/tau_max), tau = T/m), or 'auto': chosen by --stopping-rule.",
)
@click.option("--steps", type=COUNT, help="Number of explicit steps m.")
@click.option(
    "--tau", type=POSITIVE, help="Time step (default: the sign-stable bound h^2/(4 g_max))."
)
@click.option("--h", type=POSITIVE, default=1.0, show_default=True, help="Grid size.")
@_stopping_rule_option()
@common_options
def diffuse(name, lam, time_, steps, tau, h, stopping_rule, **io):
    """Nonlinear diffusion with diffusivity g up to time T (or for m steps).

    \b
    Example:
        resdenoise diffuse sample_signals/steps.csv --diffusivity perona-malik --time 20 -o out.csv
    """
    make_plan = _planner(
        "diffuse", name, lam=lam, rule=stopping_rule, time=time_, steps=steps, tau=tau, h=h
    )
    _run(make_plan, **io)


@cli.command(context_settings=CONTEXT_SETTINGS)
@_name_option("shrinkage", "soft")
@click.option(
    "--threshold",
    "theta",
    type=NUMBER_OR_AUTO,
    default="auto",
    show_default=True,
    help="Threshold theta > 0 (lambda = sqrt2 theta), or 'auto': universal threshold "
    "(with --iterations auto: chosen with them by --stopping-rule).",
)
@click.option(
    "--iterations",
    type=COUNT_OR_AUTO,
    default=1,
    show_default=True,
    help="Iterations m, or 'auto': chosen by --stopping-rule.",
)
@click.option(
    "--check-wavelet",
    is_flag=True,
    help="Also compute an actual cycle-spun Haar shrinkage and report the largest difference.",
)
@_stopping_rule_option()
@common_options
def shrink(name, theta, iterations, check_wavelet, stopping_rule, **io):
    """Iterated shift-invariant Haar wavelet shrinkage (as m diffusion blocks).

    \b
    Example:
        resdenoise shrink sample_signals/steps.csv --shrinkage garrote --iterations 5 -o out.csv
    """
    make_plan = _planner("shrink", name, theta=theta, iterations=iterations, rule=stopping_rule)
    _run(make_plan, check_wavelet=check_wavelet, **io)


@cli.command(context_settings=CONTEXT_SETTINGS)
@_name_option("regulariser", "charbonnier")
@_lambda_option()
@click.option(
    "--alpha",
    type=NUMBER_OR_AUTO,
    required=True,
    help="Regularisation weight alpha (= stopping time), or 'auto': chosen by --stopping-rule.",
)
@click.option(
    "--steps", type=COUNT, help="Explicit steps m (default: fewest with tau = alpha/m sign-stable)."
)
@click.option("--h", type=POSITIVE, default=1.0, show_default=True, help="Grid size.")
@_stopping_rule_option()
@common_options
def regularise(name, lam, alpha, steps, h, stopping_rule, **io):
    """Variational regularisation with regulariser Psi, by m explicit blocks.

    \b
    Example:
        resdenoise regularise sample_signals/two_channels.csv --regulariser huber --alpha 5 -o out.csv
    """
    make_plan = _planner(
        "regularise", name, lam=lam, rule=stopping_rule, alpha=alpha, steps=steps, h=h
    )
    _run(make_plan, **io)


@cli.command(context_settings=CONTEXT_SETTINGS)
@_name_option("activation", "tanh")
@_lambda_option()
@click.option(
    "--blocks",
    type=COUNT_OR_AUTO,
    help="Number of diffusion blocks m, or 'auto': chosen by --stopping-rule.",
)
@click.option(
    "--network",
    "network_path",
    default=None,
    metavar="TOML",
    help="A network file whose blocks each have their own activation, lambda, tau and "
    "repeat count (see the README), instead of --activation and --blocks.",
)
@click.option(
    "--tau", type=POSITIVE, help="Time step (default: the sign-stable bound h^2/(4 g_max))."
)
@click.option("--h", type=POSITIVE, default=1.0, show_default=True, help="Grid size.")
@_stopping_rule_option()
@common_options
def resnet(name, lam, blocks, network_path, tau, h, stopping_rule, **io):
    """A residual network of m diffusion blocks with activation Phi.

    \b
    Example:
        resdenoise resnet sample_signals/noisy_stereo.wav --activation isru --blocks 50 -o out.wav
        resdenoise resnet sample_signals/steps.csv --network examples/network.toml -o out.csv
    """
    if network_path is not None:
        from .cli_dictionary import network_plan_maker

        _run(network_plan_maker(network_path, lam, tau, h, blocks), **io)
        return
    if blocks is None:
        raise click.UsageError("give --blocks M (or --network FILE)")
    make_plan = _planner("resnet", name, lam=lam, rule=stopping_rule, blocks=blocks, tau=tau, h=h)
    _run(make_plan, **io)


# --------------------------------------------------------------------------
# From options to the library (resdenoise.pipeline)
# --------------------------------------------------------------------------


def on_command_line(ctx: click.Context, name: str) -> bool:
    """Whether the parameter ``name`` was given on the command line (not defaulted)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _planner(command: str, name: str, **settings):
    """The command's plan maker: the --FORM name, or the --FORM-expr formula."""
    from .pipeline import planner

    ctx = click.get_current_context()
    nonlinearity = name
    if EXPR_META in ctx.meta:
        form, nonlinearity = ctx.meta[EXPR_META]
        if on_command_line(ctx, "name"):
            raise click.UsageError(f"give --{form} NAME or --{form}-expr EXPR, not both")
    with library_errors(usage=True):
        return planner(command, nonlinearity, **settings)


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _run(make_plan, input_paths, output, report_path=None, quiet=False, jobs=1, **options):
    """One INPUT: filter it into OUTPUT; several (or -o DIR/): each into the directory."""
    if len(input_paths) == 1 and not _names_directory(output):
        _run_one(make_plan, input_paths[0], output, report_path, quiet, **options)
    else:
        _run_batch(make_plan, list(input_paths), output, report_path, quiet, jobs, options)


def _names_directory(path: str | None) -> bool:
    """An output path meant as a directory: ending in a separator."""
    return path not in (None, "-") and path.endswith(("/", os.sep))


def _run_one(make_plan, input_path, output, report_path, quiet, **options) -> None:
    """Filter one INPUT into OUTPUT; the table on stderr; exit 4 under a failed --strict."""
    from .pipeline import check_paths, run_file
    from .report import render_table

    with library_errors(usage=True):
        check_paths(input_path, output, report_path, options.get("in_place", False))
    console = None if quiet else _console()

    def warn(message: str) -> None:
        if console:
            from rich.markup import escape

            console.print("[yellow]warning:[/] " + escape(message))

    try:
        with _progress_sink(quiet, os.path.basename(input_path)) as sink:
            report = run_file(
                make_plan,
                input_path,
                output,
                report_path=report_path,
                progress=sink,
                on_warning=warn,
                **options,
            )
    except GuaranteeError as exc:  # written; the table, then the failure
        if console:
            render_table(exc.report, console)
        click.echo("Error: " + error_message(exc), err=True)
        sys.exit(EXIT_STRICT)
    except ResdenoiseError as exc:
        raise CliError(error_message(exc), exc.exit_code) from None
    if console:
        render_table(report, console)


def _directory(path: str, what: str) -> str:
    """-o or --report with several INPUTs: an existing directory, or a name ending in /."""
    if os.path.isdir(path) or _names_directory(path):
        return path
    raise click.UsageError(
        f"several INPUTs need {'-o' if what == 'output' else '--report'} to name a directory "
        f"(an existing one, or a name ending in /); {path!r} is not one"
    )


def _run_batch(make_plan, inputs, output, report_path, quiet, jobs, options) -> None:
    """Each INPUT into OUTDIR under its own name; failures reported, the others finished.

    Exit code: 0 when every file succeeded, else the largest exit code among the failed
    files (1 input/output, 2 usage, 3 unstable, 4 guarantee failed under --strict).
    """
    from .batch import run_batch

    if output in (None, "-"):
        raise click.UsageError(
            "several INPUTs need -o DIR/: a directory (existing, or a name ending in /) "
            "for one output per input"
        )
    if "-" in inputs:
        raise click.UsageError("stdin ('-') cannot be one of several INPUTs; give file names")
    if report_path == "-":
        raise click.UsageError(
            "with several INPUTs --report names a directory (one JSON per input), not '-'"
        )
    out_dir = _directory(output, "output")
    report_dir = _directory(report_path, "report") if report_path else None
    bars = _Bars(len(inputs)) if _show_progress(quiet) else None
    labels = [os.path.basename(path) for path in inputs]

    def progress(i: int, phase: str, done: int, total) -> None:
        bars.update(i, labels[i], phase, done, total)

    def finished(i: int, result) -> None:
        if result.error is not None:
            message = error_message(result.error)
            path = result.input
            text = "Error: " + (message if message.startswith(path) else f"{path}: {message}")
        elif quiet:
            text = None
        else:
            report = result.report
            text = f"{result.input} -> {result.output}: " + (
                "guarantees held"
                if report["guarantees_held"]
                else "guarantees failed: " + "; ".join(report["failed_checks"])
            )
        if text is not None:
            if bars is not None:
                bars.print(text)
            else:
                click.echo(text, err=True)
        if bars is not None:
            bars.file_done(i)

    with bars if bars is not None else contextlib.nullcontext(), library_errors(usage=True):
        results = run_batch(
            make_plan,
            inputs,
            out_dir,
            report_dir=report_dir,
            jobs=jobs,
            progress=progress if bars is not None else None,
            on_done=finished,
            **options,
        )
    failed = [r.exit_code for r in results if r.exit_code]
    if not quiet:
        click.echo(
            f"{len(results)} files: {len(results) - len(failed)} written"
            + (f", {len(failed)} failed" if failed else ""),
            err=True,
        )
    if failed:
        sys.exit(max(failed))


# --------------------------------------------------------------------------
# Progress bars
# --------------------------------------------------------------------------


class _Bars:
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
            console=_console(),
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


def _show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def _progress_sink(quiet: bool, label: str):
    """``progress(phase, done, total)`` for one file: a bar on a terminal, else None.

    The bar starts with the first update worth showing (an in-memory run of
    fewer than BAR_MIN_BLOCKS blocks shows none) and is gone afterwards.
    """
    if not _show_progress(quiet):
        yield None
        return
    bars = None

    def sink(phase: str, done: int, total) -> None:
        nonlocal bars
        if phase == "blocks" and total is not None and total < BAR_MIN_BLOCKS:
            return
        if bars is None:
            bars = _Bars().__enter__()
        bars.update(0, label, phase, done, total)

    try:
        yield sink
    finally:
        if bars is not None:
            bars.__exit__(None, None, None)


def main():  # pragma: no cover - console-script entry
    cli()


# the dictionary and translate commands register themselves on the group
from . import cli_dictionary  # noqa: E402, F401
