"""The ``resdenoise`` command line: a thin layer over the library.

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
from .errors import ResdenoiseError
from .nonlinearities import SQRT2, get_nonlinearity, names_for_form

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EXIT_UNSTABLE = 3
EXIT_STRICT = 4
#: click context meta key of a parsed --FORM-expr: (form, resdenoise.expr.Expression)
EXPR_META = "resdenoise.expr"


class CliError(click.ClickException):
    """One ``Error: ...`` line on stderr with the library error's exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class NumberOrAuto(click.ParamType):
    """A float > 0, or the word ``auto``."""

    name = "NUMBER|auto"

    def convert(self, value, param, ctx):
        if value is None or (isinstance(value, str) and value.lower() == "auto"):
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither a number nor 'auto'", param, ctx)
        if not (math.isfinite(x) and x > 0):
            self.fail(f"{value!r} must be a finite number > 0", param, ctx)
        return x


#: What PositiveOrAuto returns for the word ``auto``: a data-driven stopping time.
AUTO = "auto"


class PositiveOrAuto(click.ParamType):
    """A finite number > 0 (an integer >= 1 with ``integer``), or the word ``auto``."""

    def __init__(self, integer: bool = False):
        self.integer = integer
        self.name = "INTEGER|auto" if integer else "NUMBER|auto"

    def convert(self, value, param, ctx):
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
TIME_OR_AUTO = PositiveOrAuto()
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
    from .autoparams import DEFAULT_RULE, RULES

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
        type=NumberOrAuto(),
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
    type=TIME_OR_AUTO,
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
    from .filters import plan_diffuse

    if time_ == AUTO and steps is not None:
        raise click.UsageError("give --time auto or --steps M, not both")

    def make_plan(u):
        if time_ == AUTO:
            choice, extra = _choose(u, name, "diffusivity", lam, tau, h, stopping_rule)
            return plan_diffuse(choice.nl, steps=choice.steps, tau=choice.tau, h=h), extra
        nl, extra = _bind(name, "diffusivity", lam, u, h)
        return plan_diffuse(nl, time=time_, steps=steps, tau=tau, h=h), extra

    _run(make_plan, **io)


@cli.command(context_settings=CONTEXT_SETTINGS)
@_name_option("shrinkage", "soft")
@click.option(
    "--threshold",
    "theta",
    type=NumberOrAuto(),
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
    from .filters import plan_shrink

    def make_plan(u):
        lam = None if theta is None else SQRT2 * theta
        if iterations == AUTO:
            choice, extra = _choose(u, name, "shrinkage", lam, 0.25, 1.0, stopping_rule)
            return plan_shrink(choice.nl, choice.steps), extra
        nl, extra = _bind(name, "shrinkage", lam, u, 1.0)
        return plan_shrink(nl, iterations), extra

    _run(make_plan, check_wavelet=check_wavelet, **io)


@cli.command(context_settings=CONTEXT_SETTINGS)
@_name_option("regulariser", "charbonnier")
@_lambda_option()
@click.option(
    "--alpha",
    type=TIME_OR_AUTO,
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
    from .filters import plan_regularise

    if alpha == AUTO and steps is not None:
        raise click.UsageError("--steps needs a numeric --alpha; --alpha auto chooses the steps")

    def make_plan(u):
        if alpha == AUTO:
            choice, extra = _choose(u, name, "regulariser", lam, None, h, stopping_rule)
            return plan_regularise(choice.nl, choice.steps * choice.tau, choice.steps, h), extra
        nl, extra = _bind(name, "regulariser", lam, u, h)
        return plan_regularise(nl, alpha, steps, h), extra

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
    from .filters import plan_resnet

    if network_path is not None:
        from .cli_dictionary import network_plan_maker

        _run(network_plan_maker(network_path, lam, tau, h, blocks), **io)
        return
    if blocks is None:
        raise click.UsageError("give --blocks M (or --network FILE)")

    def make_plan(u):
        if blocks == AUTO:
            choice, extra = _choose(u, name, "activation", lam, tau, h, stopping_rule)
            return plan_resnet(choice.nl, choice.steps, choice.tau, h), extra
        nl, extra = _bind(name, "activation", lam, u, h)
        return plan_resnet(nl, blocks, tau, h), extra

    _run(make_plan, **io)


# --------------------------------------------------------------------------
# The shared implementation
# --------------------------------------------------------------------------


def _choose(u, name, form, lam, tau, h, rule):
    """An automatic stopping time (and lambda when lam is None) for ``u``."""
    if EXPR_META in click.get_current_context().meta:
        raise click.UsageError(f"'auto' needs a registry {form}; with --{form}-expr give a number")
    from .autoparams import choose_parameters

    choice = choose_parameters(u, name, form, lam=lam, tau=tau, h=h, rule=rule)
    return choice, choice.as_dict()


def _bind(name, form, lam, u, h):
    if EXPR_META in click.get_current_context().meta:
        from .cli_dictionary import bind_expression

        return bind_expression(form, lam, u, h)
    extra = {}
    if lam is None:
        from .filters import auto_lambda

        lam, extra = auto_lambda(u, h)
    return get_nonlinearity(name, form, lam), extra


def _same_file(a: str, b: str) -> bool:
    if a == "-" or b == "-":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


# --------------------------------------------------------------------------
# Several inputs, streamed inputs, progress
# --------------------------------------------------------------------------


def _run(
    make_plan, input_paths, output, report_path=None, quiet=False, jobs=1, strict=False, **options
):
    """One INPUT: filter it into OUTPUT; several (or -o DIR/): each into the directory."""
    import numpy as np

    # An allowed unstable run may overflow: that is reported as a clean error
    # (non-finite output, nothing written), not as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        return _run_inputs(
            make_plan, input_paths, output, report_path, quiet, jobs, strict, **options
        )


def _run_inputs(make_plan, input_paths, output, report_path, quiet, jobs, strict, **options):
    if len(input_paths) == 1 and not _names_directory(output):
        return _run_one(
            make_plan,
            input_paths[0],
            output,
            report_path=report_path,
            quiet=quiet,
            strict=strict,
            **options,
        )
    return _run_batch(
        make_plan, list(input_paths), output, report_path, quiet, jobs, strict, options
    )


def _names_directory(path: str | None) -> bool:
    """An output path meant as a directory: ending in a separator."""
    return path not in (None, "-") and path.endswith(("/", os.sep))


def _streams(input_path: str, chunk_size) -> bool:
    from .stream import should_stream

    return should_stream(input_path, chunk_size)


def _run_streamed(
    make_plan,
    input_path,
    output,
    input_format,
    output_format,
    report_path,
    allow_unstable,
    quiet,
    read_options,
    subtype,
    reference,
    check_wavelet,
    dtype,
    chunk_size,
    on_progress,
):
    """The streamed run of ``_run_one``: resdenoise.stream.filter_file, then the table."""
    from .io import looks_like_audio, spool_stdin
    from .report import render_table
    from .stream import filter_file

    console = None if quiet else _console()
    spooled = None
    source = None
    if input_path == "-":  # several passes: the stream is spooled to a file first
        spooled, source = spool_stdin(), "<stdin>"
        if input_format is None:
            with open(spooled, "rb") as fh:
                input_format = "audio" if looks_like_audio(fh.read(4)) else "csv"
    try:
        with _progress_sink(on_progress, quiet, os.path.basename(input_path)) as sink:
            report = filter_file(
                spooled or input_path,
                output,
                make_plan,
                input_format=input_format,
                read_options=read_options,
                output_format=output_format,
                subtype=subtype,
                dtype=dtype,
                chunk=chunk_size or None,
                reference=reference,
                check_wavelet=check_wavelet,
                report_path=report_path,
                on_plan=lambda plan, verdict: _check_verdict(
                    plan, verdict, allow_unstable, console
                ),
                progress=sink,
                source=source,
            )
    finally:
        if spooled is not None:
            os.unlink(spooled)
    if console:
        render_table(report, console)
    return report


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
def _progress_sink(on_progress, quiet: bool, label: str):
    """``progress(phase, done, total)`` for one file: the caller's, a bar, or None."""
    if on_progress is not None or not _show_progress(quiet):
        yield on_progress
        return
    with _Bars() as bars:
        yield lambda phase, done, total: bars.update(0, label, phase, done, total)


def _batch_target(directory: str, input_path: str, output_format) -> str:
    """OUTDIR/NAME of an input; the extension follows --output-format when given."""
    from .io import AUDIO_EXTENSIONS, guess_format

    name = os.path.basename(input_path.rstrip("/" + os.sep)) or input_path
    if output_format:
        fmt = guess_format(name, output_format)
        if fmt != "AUDIO":
            stem, ext = os.path.splitext(name)
            try:
                same = guess_format(name) == fmt
            except ResdenoiseError:
                same = False
            if not same:
                exts = {v: k for k, v in reversed(list(AUDIO_EXTENSIONS.items()))}
                name = stem + (".csv" if fmt == "CSV" else exts.get(fmt, "." + fmt.lower()))
    return os.path.join(directory, name)


def _prepare_directory(path: str, what: str) -> str:
    """An existing directory, or one made for a name ending in a separator."""
    if os.path.isdir(path):
        return path
    if _names_directory(path):
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise CliError(
                f"{path}: cannot create the {what} directory: {exc.strerror or exc}", 1
            ) from None
        return path
    raise click.UsageError(
        f"several INPUTs need {'-o' if what == 'output' else '--report'} to name a directory "
        f"(an existing one, or a name ending in /); {path!r} is not one"
    )


def _run_batch(make_plan, inputs, output, report_path, quiet, jobs, strict, options):
    """Each INPUT into OUTDIR under its own name; failures reported, the others finished.

    Exit code: 0 when every file succeeded, else the largest exit code among the failed
    files (1 input/output, 2 usage, 3 unstable, 4 guarantee failed under --strict).
    """
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
    out_dir = _prepare_directory(output, "output")
    report_dir = _prepare_directory(report_path, "report") if report_path else None
    tasks, seen = [], {}
    for path in inputs:
        target = _batch_target(out_dir, path, options.get("output_format"))
        if target in seen:
            raise click.UsageError(
                f"{seen[target]} and {path} would both be written to {target}; "
                "rename one or filter them into separate directories"
            )
        seen[target] = path
        report = None
        if report_dir is not None:
            report = os.path.join(report_dir, os.path.basename(path.rstrip("/" + os.sep)) + ".json")
        tasks.append((path, target, report))
    jobs = max(1, min(jobs, len(tasks)))
    bars = _Bars(len(tasks)) if _show_progress(quiet) else None
    results: list = [None] * len(tasks)

    def finished(i: int, result: tuple) -> None:
        results[i] = result
        code, message, summary = result
        path, target, _ = tasks[i]
        if code:
            line = message if message.startswith(path) else f"{path}: {message}"
            text = f"Error: {line}"
        elif quiet:
            text = None
        else:
            text = f"{path} -> {target}: " + (
                "guarantees held"
                if summary["guarantees_held"]
                else "guarantees failed: " + "; ".join(summary["failed_checks"])
            )
        if text is not None:
            if bars is not None:
                bars.print(text)
            else:
                click.echo(text, err=True)
        if bars is not None:
            bars.file_done(i)

    def job(i: int):
        path, target, report = tasks[i]
        return lambda progress: _batch_one(
            make_plan, path, target, report, strict, options, progress
        )

    with bars if bars is not None else contextlib.nullcontext():
        if jobs == 1 or not hasattr(os, "fork"):
            for i in range(len(tasks)):
                sink = None
                if bars is not None:
                    label = os.path.basename(tasks[i][0])

                    def sink(phase, done, total, i=i, label=label):
                        bars.update(i, label, phase, done, total)

                finished(i, job(i)(sink))
        else:
            _run_forked(
                [job(i) for i in range(len(tasks))],
                jobs,
                finished,
                bars,
                [os.path.basename(t[0]) for t in tasks],
            )
    failed = [r[0] for r in results if r[0]]
    if not quiet:
        click.echo(
            f"{len(tasks)} files: {len(tasks) - len(failed)} written"
            + (f", {len(failed)} failed" if failed else ""),
            err=True,
        )
    if failed:
        sys.exit(max(failed))


def _batch_one(make_plan, path, target, report, strict, options, progress) -> tuple:
    """One file of a batch: ``(exit code, error message, report summary)``; never raises."""
    try:
        result = _run_one(
            make_plan,
            path,
            target,
            report_path=report,
            quiet=True,
            strict=False,
            on_progress=progress,
            **options,
        )
    except click.ClickException as exc:
        return exc.exit_code or 1, exc.format_message(), None
    except SystemExit as exc:  # pragma: no cover - _run_one does not exit without --strict
        return (exc.code if isinstance(exc.code, int) else 1) or 1, "stopped", None
    except Exception as exc:  # noqa: BLE001 - one file's bug must not stop the others
        return 1, f"internal error: {type(exc).__name__}: {exc}", None
    summary = {
        "guarantees_held": result["guarantees_held"],
        "failed_checks": list(result["failed_checks"]),
    }
    if strict and not result["guarantees_held"]:
        return EXIT_STRICT, "--strict: " + "; ".join(result["failed_checks"]), summary
    return 0, None, summary


def _run_forked(jobs_list, jobs: int, finished, bars, labels) -> None:
    """Run ``job(progress)`` callables in up to ``jobs`` forked processes at once.

    Each child sends its progress and its result through a pipe; a child that dies
    without a result (killed, out of memory) counts as failed with exit code 1.
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    running: dict = {}
    queue = list(range(len(jobs_list)))
    while queue or running:
        while queue and len(running) < jobs:
            i = queue.pop(0)
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_batch_child, args=(jobs_list[i], send), daemon=True)
            proc.start()
            send.close()
            running[receive] = (proc, i)
        for conn in wait(list(running), timeout=0.2):
            proc, i = running[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                kind, payload = "done", None
            if kind == "progress":
                if bars is not None:
                    bars.update(i, labels[i], *payload)
                continue
            del running[conn]
            conn.close()
            proc.join()
            if payload is None:
                payload = (1, f"the worker process died (exit code {proc.exitcode})", None)
            finished(i, payload)
        if bars is not None:
            bars.refresh()


def _batch_child(job, conn) -> None:  # pragma: no cover - runs in a forked child
    import time

    # the files already run in parallel: one engine thread each, not one per core
    os.environ.setdefault("RESDENOISE_THREADS", "1")

    last = [0.0]

    def progress(phase, done, total):
        now = time.monotonic()
        if now - last[0] > 0.1 or (total is not None and done >= total):
            last[0] = now
            conn.send(("progress", (phase, done, total)))

    try:
        result = job(progress)
    except BaseException as exc:  # noqa: BLE001
        result = (1, f"internal error: {type(exc).__name__}: {exc}", None)
    conn.send(("done", result))
    conn.close()


def _check_verdict(plan, verdict, allow_unstable: bool, console) -> None:
    """Refuse an unstable plan (exit 3) unless allowed; warn when it is not sign stable."""
    if not verdict.linf_stable and not allow_unstable:
        tau_helps = verdict.odd and verdict.g_min >= 0 and math.isfinite(verdict.g_max)
        raise CliError(
            f"refused as unstable: {verdict.reason}. "
            + (
                f"A stable tau is <= {verdict.tau_linf_bound:.6g} (sign-stable <= "
                f"{verdict.tau_sign_bound:.6g}); or pass --allow-unstable"
                if tau_helps
                else "No tau makes it stable; choose another nonlinearity or pass --allow-unstable"
            ),
            EXIT_UNSTABLE,
        )
    if console and verdict.linf_stable and not verdict.sign_stable:
        console.print(
            f"[yellow]warning:[/] tau = {plan.tau:.6g} is L-infinity stable but above the "
            f"sign-stable bound {verdict.tau_sign_bound:.6g}: sign changes may increase"
        )


def _run_one(
    make_plan,
    input_path,
    output,
    input_format,
    output_format,
    in_place,
    report_path,
    allow_unstable,
    strict,
    quiet,
    delimiter=None,
    decimal=None,
    header=None,
    time_column=None,
    columns=None,
    subtype=None,
    reference=None,
    check_wavelet=False,
    dtype="float64",
    chunk_size=None,
    on_progress=None,
):
    """Filter one INPUT into OUTPUT (in memory, or streamed in chunks); return the report."""
    from .filters import analyse_run, run_plan
    from .io import check_output_path, encode_signal, read_signal, write_files_atomic
    from .report import render_table, to_json

    if report_path == "-" and output == "-":
        raise click.UsageError("--report - needs -o FILE: stdout already carries the signal")
    if report_path not in (None, "-") and (
        report_path == output or _same_file(report_path, output)
    ):
        raise click.UsageError("--report and -o name the same file; give the report its own")
    if _same_file(input_path, output) and not in_place:
        raise CliError(f"{output}: output is the input file; pass --in-place to replace it", 1)
    if report_path is not None and _same_file(input_path, report_path):
        raise CliError(f"{report_path}: the report would overwrite the input file", 1)
    read_options = dict(
        delimiter=delimiter,
        decimal=decimal,
        header=header,
        time_column=time_column,
        columns=columns,
    )
    try:
        check_output_path(output, output_format, subtype)
        if report_path is not None:
            check_output_path(report_path, signal=False)
        if _streams(input_path, chunk_size):  # large file: in chunks, the same numbers
            report = _run_streamed(
                make_plan,
                input_path,
                output,
                input_format,
                output_format,
                report_path,
                allow_unstable,
                quiet,
                read_options,
                subtype,
                reference,
                check_wavelet,
                dtype,
                chunk_size,
                on_progress,
            )
            return _strict_exit(report, strict)
        sig = read_signal(input_path, input_format, **read_options)
        clean = None
        if reference is not None:
            clean = read_signal(reference, None, **read_options)
            if clean.data.shape != sig.data.shape:
                raise CliError(
                    f"{reference}: the reference has shape {clean.data.shape} (samples, channels) "
                    f"but {sig.source} has {sig.data.shape}; give the clean signal with the same "
                    "samples and channels",
                    1,
                )
        plan, extra = make_plan(sig.data)
        data = sig.data.astype(dtype, copy=False)  # --dtype: run and measure in this precision
        verdict = plan.verdict()
        console = None if quiet else _console()
        _check_verdict(plan, verdict, allow_unstable, console)
        label = os.path.basename(input_path)
        with _progress_sink(on_progress, quiet or plan.steps < 50, label) as sink:
            callback = None if sink is None else (lambda k, _u: sink("blocks", k, plan.steps))
            out = run_plan(plan, data, callback)
        report = analyse_run(plan, data, out, verdict, check_wavelet=check_wavelet)
        report["parameters"].update(extra)
        if clean is not None:
            from .quality import compare

            report["quality"] = {"reference": clean.source, **compare(sig.data, out, clean.data)}
        report["input"] = sig.source
        report["output"] = "<stdout>" if output == "-" else output
        if sig.carried:  # time column and unpicked columns: written back unfiltered
            report["carried_columns"] = sig.carried_names
        payload, stats = encode_signal(output, sig.with_data(out), output_format, subtype)
        report["clipped"] = stats.get("clipped", 0)
        if report["clipped"]:
            report["failed_checks"].append(f"{report['clipped']} samples clipped on output")
            report["guarantees_held"] = False
        outputs = [(output, payload)]
        if report_path is not None:
            outputs.append((report_path, to_json(report).encode()))
        write_files_atomic(outputs)  # all or nothing: temporary files, then renames
        if console:
            render_table(report, console)
    except ResdenoiseError as exc:
        raise CliError(str(exc), exc.exit_code) from None
    return _strict_exit(report, strict)


def _strict_exit(report: dict, strict: bool) -> dict:
    """Under --strict, a failed guarantee ends the run with exit code 4; else the report."""
    if strict and not report["guarantees_held"]:
        click.echo("Error: --strict: " + "; ".join(report["failed_checks"]), err=True)
        sys.exit(EXIT_STRICT)
    return report


def main():  # pragma: no cover - console-script entry
    cli()


# the dictionary and translate commands register themselves on the group
from . import cli_dictionary  # noqa: E402, F401
