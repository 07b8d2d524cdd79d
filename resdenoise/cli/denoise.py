"""The four filtering commands (diffuse, shrink, regularise, resnet, with
``resnet --network``) and the glue from their options to
:mod:`resdenoise.pipeline`: one file or many, errors as exit codes, the
report table and progress bars (drawn by :mod:`resdenoise.cli.render`).

Exit codes: see ``resdenoise --help`` (:func:`resdenoise.cli.cli`).
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from ..errors import GuaranteeError, OutOfMemory, PipeClosed, ResdenoiseError
from .options import (
    CONTEXT_SETTINGS,
    EXIT_STRICT,
    SectionedCommand,
    about_file,
    cli_error,
    error_message,
    file_error,
    files_options,
    grid_option,
    lambda_option,
    library_errors,
    name_option,
    names_directory,
    on_command_line,
    printable,
    read_settings,
    sigma_option,
    stopping_rule_option,
    tau_option,
)
from .param_types import COUNT, COUNT_OR_AUTO, NUMBER_OR_AUTO

__all__ = ["denoise", "diffuse", "regularise", "resnet", "shrink"]

#: The end of --time's and --steps' help: one of them, not both.
TIME_OR_STEPS = "  [required: --time or --steps, not both]"


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS)
@name_option("diffusivity", "perona-malik", auto=True)
@lambda_option()
@click.option(
    "--time",
    "time_",
    type=NUMBER_OR_AUTO,
    help="Stopping time T = m tau, in tau's units (h = 1, g_max = 1: T = 1 is 4 steps of the "
    "default tau): m = ceil(T/TAU) steps of tau = T/m, TAU being --tau or the sign-stable "
    "bound (T/TAU in decimal: --time 1.05 --tau 0.15 is 7 steps); or 'auto': chosen by "
    "--stopping-rule." + TIME_OR_STEPS,
)
@click.option(
    "--steps",
    type=COUNT,
    metavar="M",
    help="Number of explicit steps m." + TIME_OR_STEPS,
)
@tau_option("diffuse")
@grid_option
@click.option(
    "--scales",
    type=COUNT_OR_AUTO,
    metavar="K|AUTO",
    default=None,
    help="Diffuse at K scales (differences of stride 1, 2, ..., 2^(K-1)), one block group "
    "per scale, lambda and blocks per scale by SURE; 'auto': K, or one scale, by SURE.  "
    "[default: 1]",
)
@stopping_rule_option()
@sigma_option()
@files_options
def diffuse(name, formula, lam, time_, steps, tau, h, scales, stopping_rule, sigma, **io):
    """Nonlinear diffusion with diffusivity g up to time T (or for m steps).

    \b
    Example:
        resdenoise diffuse sample_signals/steps.csv --diffusivity perona-malik --time 20 -o out.csv
        resdenoise diffuse sample_signals/steps.csv --diffusivity auto -o out.csv
    """
    settings = dict(lam=lam, rule=stopping_rule, sigma=sigma, time=time_, steps=steps, tau=tau)
    settings.update(h=h, scales=scales)  # None settings: dropped by the planner
    _run(_planner("diffuse", name, formula, settings), **io)


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS)
@name_option("shrinkage", "soft", auto=True)
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
    metavar="M|AUTO",
    default=1,
    show_default=True,
    help="Iterations m, or 'auto': chosen by --stopping-rule.",
)
@click.option(
    "--check-wavelet",
    is_flag=True,
    help="Also compute an actual cycle-spun Haar shrinkage and report the largest difference.",
)
@click.option(
    "--scales",
    type=COUNT_OR_AUTO,
    metavar="K|AUTO",
    default=None,
    help="K-level shift-invariant Haar shrinkage (strides 1, 2, ..., 2^(K-1)) as one "
    "diffusion block per iteration, a noise level and a SURE threshold per level; 'auto': "
    "K, or one scale, whichever SURE expects better.  [default: 1]",
)
@stopping_rule_option()
@sigma_option()
@files_options
def shrink(name, formula, theta, iterations, check_wavelet, scales, stopping_rule, sigma, **io):
    """Iterated shift-invariant Haar wavelet shrinkage (as m diffusion blocks).

    \b
    Example:
        resdenoise shrink sample_signals/steps.csv --shrinkage garrote --iterations 5 -o out.csv
        resdenoise shrink sample_signals/steps.csv --shrinkage auto -o out.csv
    """
    if name == "auto" and not on_command_line(click.get_current_context(), "iterations"):
        iterations = "auto"  # the family's search chooses them (the default 1 is not given)
    settings = dict(
        theta=theta, iterations=iterations, rule=stopping_rule, sigma=sigma, scales=scales
    )
    _run(_planner("shrink", name, formula, settings), check_wavelet=check_wavelet, **io)


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS)
@name_option("regulariser", "charbonnier")
@lambda_option()
@click.option(
    "--alpha",
    type=NUMBER_OR_AUTO,
    required=True,
    help="Regularisation weight alpha (= stopping time), or 'auto': chosen by --stopping-rule.",
)
@click.option(
    "--steps",
    type=COUNT,
    metavar="M",
    help="Explicit steps m (default: fewest with tau = alpha/m sign-stable).",
)
@grid_option
@stopping_rule_option()
@sigma_option()
@files_options
def regularise(name, formula, lam, alpha, steps, h, stopping_rule, sigma, **io):
    """Variational regularisation with regulariser Psi, by m explicit blocks.

    \b
    Example:
        resdenoise regularise sample_signals/two_channels.csv --regulariser huber --alpha 5 -o out.csv
    """
    settings = dict(lam=lam, rule=stopping_rule, sigma=sigma, alpha=alpha, steps=steps, h=h)
    _run(_planner("regularise", name, formula, settings), **io)


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS)
@name_option("activation", "tanh")
@lambda_option()
@click.option(
    "--blocks",
    type=COUNT_OR_AUTO,
    metavar="M|AUTO",
    help="Number of diffusion blocks m, or 'auto': chosen by --stopping-rule.  "
    "[required without --network]",
)
@click.option(
    "--network",
    "network_path",
    default=None,
    metavar="TOML",
    help="A network file whose blocks each have their own activation, lambda, tau and "
    "repeat count (see the README), instead of --activation and --blocks; --lambda and "
    '--tau are defaults for blocks that set none (lambda = "auto" in the file is the '
    "automatic lambda, whatever --lambda says).",
)
@tau_option("resnet")
@grid_option
@stopping_rule_option()
@sigma_option()
@files_options
def resnet(name, formula, lam, blocks, network_path, tau, h, stopping_rule, sigma, **io):
    """A residual network of m diffusion blocks with activation Phi.

    \b
    Example:
        resdenoise resnet sample_signals/noisy_stereo.wav --activation isru --blocks 50 -o out.wav
        resdenoise resnet sample_signals/steps.csv --network examples/network.toml -o out.csv
    """
    if network_path is not None:
        planner = _network_planner(network_path, formula, lam, tau, h, blocks, sigma)
        _run(planner, **io)
        return
    if blocks is None:
        raise click.UsageError(
            "give --blocks M, or --blocks auto to choose it from the data (or --network FILE)"
        )
    settings = dict(lam=lam, rule=stopping_rule, sigma=sigma, blocks=blocks, tau=tau, h=h)
    _run(_planner("resnet", name, formula, settings), **io)


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS)
@sigma_option()
@files_options
def denoise(sigma, **io):
    """Everything automatic: family, scales, lambda and stopping time chosen by SURE.

    Tries Perona-Malik diffusion, Charbonnier regularisation, soft and garrote
    shrinkage at one scale, soft and garrote shrinkage and Perona-Malik
    diffusion over several scales, and garrote shrinkage over the scales of a
    linear diffusion's residual (after an impulse pre-stage when impulses are
    found), keeps the one with the smallest SURE (Stein's unbiased risk
    estimate: the mean squared error against the unknown clean signal,
    estimated from the noisy one and its noise level) and reports the choice
    and why.  The verdict comes first: 'guarantees held' (the output stayed
    within the input's range, kept its mean, gained no sign changes and no
    total variation) or the checks that failed; a choice over scales adds
    what it does not guarantee and did not keep ('not guaranteed over
    scales: ...'; the input's range left fails --strict).

    Needs the whole signal in memory, about 400 bytes a sample (a minute
    of 44.1 kHz stereo: ~2 GB), and ~1-2 minutes of CPU per million
    samples; a file over 8 MiB is refused, saying what it would need
    (--chunk-size 0 reads it whole anyway).

    \b
    Example:
        resdenoise denoise sample_signals/noisy_mono.wav -o out.wav --report out.json
    """
    from ..plans import automatic_planner

    _run(automatic_planner(sigma=sigma), **io)


# --------------------------------------------------------------------------
# From options to plan makers (resdenoise.pipeline)
# --------------------------------------------------------------------------


def _planner(command: str, name: str, formula, settings: dict):
    """The command's plan maker: the --FORM name, or the parsed --FORM-expr formula."""
    from ..plans import planner

    if formula is not None and on_command_line(click.get_current_context(), "name"):
        form = formula.form
        raise click.UsageError(f"give --{form} NAME or --{form}-expr EXPR, not both")
    with library_errors(usage=True):
        return planner(command, name if formula is None else formula, **settings)


def _network_planner(path: str, formula, lam, tau, h, blocks, sigma=None):
    """``resnet --network``: check the options, load the network file, return its plan maker."""
    from ..network import load_network
    from ..plans import network_planner

    ctx = click.get_current_context()
    if path == "-":  # not a file named "-" ("No such file or directory"), nor stdin
        raise click.UsageError(
            "--network takes the network file's name; '-' (stdin) is not read for it: "
            "give the file's name"
        )
    if blocks is not None:
        raise click.UsageError("give --blocks M or --network FILE, not both")
    if on_command_line(ctx, "name") or formula is not None:
        raise click.UsageError(
            "--network gives every block its own activation; drop --activation/--activation-expr"
        )
    with library_errors():
        spec = load_network(path)
    if spec.h is not None and on_command_line(ctx, "h") and spec.h != h:
        raise click.UsageError(f"{path} sets h = {spec.h:g}; drop --h {h:g} or the file's h")
    rule = ctx.params.get("stopping_rule")
    if on_command_line(ctx, "stopping_rule") and (rule != "sure" or spec.stop is None):
        why = (
            f'{path}\'s depth is chosen by its stop = "sure" (SURE, the one stop a network '
            "file has)"
            if spec.stop
            else f'{path} has no stop: every block runs (stop = "sure" in it chooses the '
            "depth by SURE)"
        )
        raise click.UsageError(
            f"--stopping-rule {rule} is for --blocks auto; {why}: drop --stopping-rule"
        )
    with library_errors():
        return network_planner(spec, lam=lam, tau=tau, h=h, sigma=sigma)


# --------------------------------------------------------------------------
# Running: one file, or many
# --------------------------------------------------------------------------


def _run(
    make_plan,
    input_paths,
    output,
    read,
    write,
    report_path,
    quiet,
    verbose,
    jobs,
    scheduler,
    **options,
):
    """One INPUT: filter it into OUTPUT; several (or -o DIR/): each into the directory.

    ``read`` and ``write`` are the read and write options (:func:`files_options`);
    ``options`` the run's settings and the other files (``reference``,
    ``in_place``), made into :func:`resdenoise.pipeline.run_file`'s keywords here.
    """
    from ..io import WriteOptions  # not at start-up: --help reads no file
    from ..pipeline import RunOptions

    fmt, read_options = read_settings(read)
    files = {
        "input_format": fmt,
        "write": WriteOptions(
            write["output_format"], write["subtype"], input_decimals=write["input_decimals"]
        ),
        "reference": options.pop("reference"),
        "in_place": options.pop("in_place"),
        "read": read_options,
    }
    summary = options.pop("summary")
    with library_errors(usage=True):
        files["run"] = RunOptions(**options)
    _refuse_stdin_under_directory(input_paths, output, report_path, files["write"].format)
    if len(input_paths) == 1 and not names_directory(output):
        if on_command_line(click.get_current_context(), "scheduler"):
            raise click.UsageError(
                "--scheduler sends the files of a batch to a cluster: give several INPUTs "
                "or -o DIR/"
            )
        _run_one(make_plan, input_paths[0], output, report_path, (quiet, verbose), files, summary)
    else:
        files["scheduler"] = scheduler
        out = (output, report_path, summary)
        _run_batch(make_plan, list(input_paths), out, (quiet, verbose), jobs, files)


def _refuse_stdin_under_directory(input_paths, output, report_path, output_format) -> None:
    """One nameless INPUT (stdin, ``/dev/stdin``, ``/dev/fd/N``) with ``-o DIR/`` or
    ``--report DIR/``, or a FIFO without an extension under ``-o DIR/``: a usage error
    (exit 2), as :func:`resdenoise.batch.refuse_nameless` says why (several INPUTs: the
    batch refuses them alike)."""
    from ..batch import refuse_nameless

    if len(input_paths) != 1:
        return
    out_dir = output if names_directory(output) else None
    report_dir = report_path if names_directory(report_path) else None
    with library_errors(usage=True):
        refuse_nameless(list(input_paths), out_dir, report_dir, output_format)


def _run_one(make_plan, input_path, output, report_path, volume, options, summary=None) -> None:
    """Filter one INPUT into OUTPUT; on stderr (``volume``: quiet, verbose) the verdict,
    then the warnings (or, when the run fails, the warnings and the error), the tables
    with verbose; exit 4 under a failed --strict.  ``summary``: ``--summary``'s path."""
    from ..batch_pool import FileResult
    from ..paths import is_stdout
    from ..pipeline import check_paths, run_file
    from .streams import refuse_stderr_among, refuse_stderr_is_stdout

    in_place = options.get("in_place", False)
    if names_directory(report_path):  # --report DIR/: DIR/INPUT-NAME.json, as for several
        from dataclasses import replace

        from ..batch import check_directory, report_target
        from ..io import check_output_path

        with library_errors():
            check_directory(report_path, "report")  # made as the report is written
            if output != "-" and not in_place:  # -o's directory: not made
                check_output_path(output, options["write"])
        report_path = report_target(report_path, input_path)
        options = {**options, "write": replace(options["write"], parents=True)}
    with library_errors(usage=True):
        check_paths(input_path, output, report_path, in_place, input_format=options["input_format"])
    quiet, verbose = volume
    target = input_path if in_place else output
    refuse_stderr_among([report_path], "the report")  # --report DIR/: named by its directory
    if not in_place and (is_stdout(output) or is_stdout(report_path) or is_stdout(summary)):
        refuse_stderr_is_stdout(quiet)
    summary = _summary_for(summary, [input_path], make_plan, options, [target, report_path])
    if output == "-" and not in_place:
        _refuse_audio_on_a_terminal(input_path, options["input_format"], options["write"].format)
    if quiet:  # errors only: nothing drawn, and the report built only when written or judged
        console, bar = None, contextlib.nullcontext()
    else:
        from . import render  # not at start-up: --help (and -q) draws nothing

        console = render.summary_console(verbose)  # rich on a pipe with -v only
        bar = render.progress_sink(_signal_on_a_terminal(output), os.path.basename(input_path))
    warned: list = []

    def warnings_then(report=None) -> None:  # the verdict, summary and warnings; tables last
        if console and report is not None:
            render.render_summary(report, console)
        for message in warned if console else ():
            render.warning(console, message)
        if console and report is not None and verbose:
            render.render_table(report, console)

    try:
        with bar as sink, _summary_if_stopped(summary):
            report = run_file(
                make_plan,
                input_path,
                output,
                report_path=report_path,
                progress=sink,
                on_warning=warned.append,
                measure=not quiet or report_path is not None or options["run"].strict,
                **options,
            )
    except GuaranteeError as exc:  # written; the summary, then the failure
        warnings_then(exc.report)
        click.echo(printable("Error: " + file_error(exc, input_path)), err=True)
        _summarised(summary, FileResult(input_path, target, report_path, error=exc), warned)
        sys.exit(EXIT_STRICT)
    except ResdenoiseError as exc:
        if not isinstance(exc, PipeClosed):  # (stdout's reader gone: nothing more to say)
            warnings_then()
            _summarised(summary, FileResult(input_path, target, report_path, error=exc), warned)
        raise cli_error(exc) from None
    except MemoryError as exc:  # the environment's limit: the file named, as in a batch
        if os.environ.get("RESDENOISE_TRACEBACK") == "1":
            raise
        warnings_then()
        error = OutOfMemory(file_error(OutOfMemory.of(exc), input_path))
        _summarised(summary, FileResult(input_path, target, report_path, error=error), warned)
        raise cli_error(error) from None
    warnings_then(report)
    if _summarised(summary, FileResult(input_path, target, report_path), warned):
        sys.exit(1)  # (its Error: line said)


def _summary_for(path, inputs, make_plan, options, targets):
    """``--summary PATH``'s :class:`~resdenoise.cli.summary.Summary` (None without), its
    path checked first (:func:`resdenoise.paths.check_summary_path`): ``targets`` are the
    run's outputs and reports."""
    if path is None:
        return None
    from ..paths import check_summary_path
    from .summary import Summary

    reads = {} if options.get("reference") is None else {options["reference"]: "reference"}
    reads.update(getattr(make_plan, "reads", {}))
    with library_errors(usage=True):
        check_summary_path(path, inputs, reads, targets)
    return Summary(path, click.get_current_context().info_name, list(inputs))


def _summarised(summary, result, warned, i=0, alone=True) -> int:
    """Record ``result`` (``warned``: its warnings) as INPUT ``i`` in ``summary``, where
    there is one; ``alone`` (the run's one INPUT, not a batch): write it too
    (:func:`_write_summary`).  The run's exit code, 1 where it was 0 and the summary
    could not be written."""
    code = result.exit_code
    if summary is None:
        return code
    error = None if result.error is None else file_error(result.error, result.input)
    summary.add(i, result, error, [about_file(w, result.input) for w in warned])
    return _write_summary(summary, code, None) if alone else code


def _write_summary(summary, code: int, line: str | None) -> int:
    """Put ``summary`` in place (the run's exit ``code``, its last ``line``) and return
    ``code``; where it cannot be written, its ``Error:`` line, and 1 where ``code`` is 0
    (the run's own error, if any, is said after it).  Stdout's reader gone: exit 141."""
    try:
        summary.write(code, line)
    except PipeClosed as exc:
        raise cli_error(exc) from None
    except ResdenoiseError as exc:
        click.echo(printable("Error: " + error_message(exc)), err=True)
        return max(code, 1)
    return code


@contextlib.contextmanager
def _summary_if_stopped(summary):
    """Within, a signal that stops the run writes ``summary`` as it stands (the files not
    recorded ``skipped``), counted among what was written; one that cannot be written:
    its ``Error:`` line, and the signal's exit all the same."""
    from ..errors import Interrupted

    try:
        yield
    except Interrupted as exc:
        if summary is None:
            raise
        import signal

        from ..io.signals import deferred, placed

        try:
            with deferred():
                summary.write(exc.exit_code, None, signal.Signals(exc.signum).name)
            placed(summary.path)
        except ResdenoiseError as failed:
            click.echo(printable("Error: " + error_message(failed)), err=True)
        raise


def _signal_on_a_terminal(output: str) -> bool:
    """Whether the signal goes to stdout and stdout is a terminal: then no progress bar,
    whose last redraw (erase the line, cursor up) came after the rows of a streamed CSV
    on the same screen, erasing the last one and leaving a stale bar above."""
    from ..paths import is_stdout

    try:
        return is_stdout(output) and sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        return False


def _refuse_audio_on_a_terminal(input_path: str, input_format, output_format) -> None:
    """Audio bytes are not for a terminal (as gzip refuses): say how to get numbers."""
    try:
        if sys.stdout is None or not sys.stdout.isatty():
            return  # a file, a pipe, or closed (writing reports that)
    except (OSError, ValueError):
        return
    from ..io import guess_format

    try:
        if output_format is not None:
            fmt = guess_format("-", output_format)
        elif input_path != "-":
            fmt = guess_format(input_path, input_format)
        elif input_format is not None:
            fmt = guess_format("-", input_format)
        else:
            fmt = "AUDIO" if _stdin_looks_like_audio() else "CSV"
    except ResdenoiseError:
        return  # reading or writing reports it
    if fmt != "CSV":
        what = "audio" if fmt == "AUDIO" else f"{fmt} audio"
        raise click.UsageError(
            f"stdout is a terminal and the output is {what}; give -o FILE, pipe it "
            "on, or --output-format csv for the numbers"
        )


def _stdin_looks_like_audio() -> bool:
    """Whether stdin starts like an audio file (peeked: nothing is consumed)."""
    from ..io import looks_like_audio

    try:
        return looks_like_audio(sys.stdin.buffer.peek(8)[:8])
    except (AttributeError, OSError, ValueError):
        return False


def _directory(path: str, what: str) -> str:
    """-o or --report with several INPUTs: an existing directory, or a name ending in /."""
    if os.path.isdir(path) or names_directory(path):
        return path
    raise click.UsageError(
        f"several INPUTs need {'-o' if what == 'output' else '--report'} to name a directory "
        f"(an existing one, or a name ending in /); {path!r} is not one"
    )


def _several_inputs(inputs) -> str:
    """The refusal of several INPUTs without -o DIR/, naming them; where one looks like an
    option (only after ``--`` is it an INPUT: ``-- -dash.csv -o o.csv``), saying so."""
    shown = ", ".join(repr(p) for p in inputs[:4]) + (", ..." if len(inputs) > 4 else "")
    line = (
        f"{len(inputs)} INPUTs ({shown}) need -o DIR/: a directory (existing, or a name "
        "ending in /) for one output per input"
    )
    if any(p.startswith("-") and p != "-" for p in inputs):
        line += "; after '--' every argument is an INPUT: put the options before '--'"
    return line


def _check_in_place_batch(inputs, out_dir: str, fmt) -> None:
    """--in-place with -o DIR: every output must be its input (else drop -o)."""
    from ..batch import batch_target
    from ..pipeline import check_paths

    for path in inputs:
        with library_errors(usage=True):
            check_paths(path, batch_target(out_dir, path, fmt), None, True)


def _run_batch(make_plan, inputs, outputs, volume, jobs, options) -> None:
    """Each INPUT into OUTDIR under its own name; failures reported, the others finished.

    ``outputs`` is (-o, --report, --summary), ``volume`` (quiet, verbose).

    Exit code: 0 when every file succeeded, else the largest exit code among the failed
    files (1 input/output, 2 usage, 3 unstable, 4 guarantee failed under --strict).
    """
    from ..batch import batch_target, refuse_nameless, refuse_stdin, report_target, run_batch
    from ..paths import is_stdout
    from . import render
    from .streams import own_lines_only, refuse_stderr_among, refuse_stderr_is_stdout

    output, report_path, summary = outputs
    quiet, verbose = volume
    in_place = options.get("in_place", False)
    if output in (None, "-") and not in_place:
        raise click.UsageError(_several_inputs(inputs))
    with library_errors(usage=True):
        refuse_stdin(inputs)
    if report_path == "-":
        raise click.UsageError(
            "with several INPUTs --report names a directory (one JSON per input), not '-'"
        )
    out_dir = None if output in (None, "-") else _directory(output, "output")
    if in_place and out_dir is not None:
        _check_in_place_batch(inputs, out_dir, options["write"].format)
    report_dir = _directory(report_path, "report") if report_path else None
    with library_errors(usage=True):
        refuse_nameless(inputs, out_dir, report_dir, options["write"].format)

    def targets():  # each file's output and report, as run_batch names them
        fmt = options["write"].format
        for path in inputs:
            yield path if out_dir is None else batch_target(out_dir, path, fmt)
            yield None if report_dir is None else report_target(report_dir, path)

    refuse_stderr_among(targets(), "an output or report of the batch")  # -o DIR/: not named
    if is_stdout(summary):
        refuse_stderr_is_stdout(quiet)
    summary = _summary_for(summary, inputs, make_plan, options, list(targets()) if summary else ())
    if jobs > 1 and not hasattr(os, "fork") and not quiet and options.get("scheduler") is None:
        render.warning(
            render.summary_console(),
            f"--jobs {jobs}: this system cannot fork worker processes (Windows): the files "
            "run one at a time",
        )
    bars = render.progress_display(quiet, len(inputs))  # bars, plain lines or none
    labels = [os.path.basename(path) for path in inputs]

    def progress(i: int, phase: str, done: int, total, at: float | None = None) -> None:
        bars.update(i, labels[i], phase, done, total, at)

    progress.takes_time = True  # a worker's progress at its own time (batch -j N)
    counted: set = set()

    def file_done(i: int) -> None:  # once a file: as its result is read (a worker's
        if i not in counted:  # while this process runs a file), else with its lines
            counted.add(i)
            bars.file_done(i)

    progress.file_done = file_done

    def finished(i: int, result) -> None:
        lines = []
        if not quiet and result.written and result.report is not None:  # --strict too
            report = {**result.report, "input": result.input, "output": result.output}
            lines.append(render.verdict_line(report))
            if verbose:  # what ran, under its verdict (short by default: the verdicts only)
                lines.append(render.summary_line(report))
                lines += filter(None, [render.quality_line(report)])
        if result.error is not None:
            lines.append("Error: " + file_error(result.error, result.input))
        if not quiet:  # warnings always, each naming its file (once)
            lines += [f"warning: {about_file(w, result.input)}" for w in result.warnings]
        for line in lines:
            if bars is not None:
                bars.print(line)  # printable there
            else:
                click.echo(printable(line), err=True)
        if verbose and result.error is None:  # its first table's title names the file
            console = bars.console if isinstance(bars, render.Bars) else render.stderr_console()
            render.render_table({**result.report, "input": result.input}, console)
        if bars is not None:
            file_done(i)
        _summarised(summary, result, result.warnings, i, alone=False)

    finished.consumes = True  # the last to read a file's report: run_batch keeps none
    shown = bars if bars is not None else contextlib.nullcontext()
    cluster = options.get("scheduler") is not None  # distributed's log lines: -v only
    logs = own_lines_only(verbose) if cluster else contextlib.nullcontext()
    with shown, library_errors(usage=True), _summary_if_stopped(summary), logs:
        results = run_batch(
            make_plan,
            inputs,
            out_dir,
            report_dir=report_dir,
            jobs=jobs,
            progress=progress if bars is not None else None,
            on_done=finished,
            measure=not quiet or report_dir is not None or options["run"].strict,
            **options,
        )
    failed = [r.exit_code for r in results if r.exit_code]
    line = render.batch_count(results)
    if not quiet:
        click.echo(line, err=True)
    if summary is not None and _write_summary(summary, max(failed, default=0), line):
        failed.append(1)
    if failed:
        sys.exit(max(failed))
