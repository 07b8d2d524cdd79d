"""What the commands share: click settings, option bundles (their parameter types
in :mod:`resdenoise.cli.param_types`), and library errors as one ``Error: ...`` line
with their exit code.

Imported by ``resdenoise --help``: the library modules that the options need
(pipeline, expr, ...) are imported when an option is converted, not here.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import sys

import click

from ..errors import KEPT_RULE, GuaranteeError, ParameterError, PipeClosed, ResdenoiseError
from .help_format import Context
from .param_types import (
    COUNT,
    LEVELS,
    NUMBER_OR_AUTO,
    POSITIVE,
    Count,
    NameChoice,
    PlotSize,
    flag_spellings,
    name_help,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EXIT_STRICT = GuaranteeError.exit_code
#: library parameter names whose flag is not --NAME-WITH-DASHES
FLAGS = {
    "lam": "--lambda",
    "theta": "--threshold",
    "output": "-o",
    "output_dir": "-o",
    "report_dir": "--report",
    "report_path": "--report",
    "samplerate": "--rate",
}


# --------------------------------------------------------------------------
# Library errors on the command line
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Help in sections
# --------------------------------------------------------------------------

#: The sections of a filtering command's --help, in order; an option not
#: named in SECTION_OF is about the signal (nonlinearity, lambda, blocks).
SECTIONS = ("Signal", "Stability", "Files", "Output")
SECTION_OF = {
    **dict.fromkeys(("allow_unstable", "strict", "check_wavelet", "reference"), "Stability"),
    **dict.fromkeys(
        (
            "input_paths output input_format output_format delimiter decimal header "
            "time_column columns subtype input_decimals in_place chunk_size jobs scheduler"
        ).split(),
        "Files",
    ),
    **dict.fromkeys(("quiet", "verbose", "as_json", "report_path", "help"), "Output"),
}


class Command(click.Command):
    """A command of the program: its run starts with the settings from the environment
    (``$RESDENOISE_THREADS``, ``$RESDENOISE_ENGINE``, ``$RESDENOISE_NO_WORKER_TIMEOUT``)
    checked, before any work (:func:`resdenoise.stepper.check_environment`,
    :func:`resdenoise.dask.no_worker_timeout`: exit code 2).  Not its ``--help``,
    which click answers while it parses the options, before the run: help works
    whatever the environment says (as ``--version`` and the group's ``--help`` do)."""

    context_class = Context

    def invoke(self, ctx):
        if os.environ.get("RESDENOISE_THREADS") or os.environ.get("RESDENOISE_ENGINE"):
            from ..stepper import check_environment  # (only where there is a value to check)

            check_environment()
        if os.environ.get("RESDENOISE_NO_WORKER_TIMEOUT"):
            from ..dask import no_worker_timeout  # (imports no dask itself)

            no_worker_timeout()
        return super().invoke(ctx)


class SectionedCommand(Command):
    """A command whose --help lists its options in :data:`SECTIONS`.

    Hand-written on click's own formatter (a dozen lines) rather than a
    help library: --help imports nothing more and looks as before.
    """

    #: the section of an option not in SECTION_OF (learn's: "Learning"), and a command's
    #: own sections of its options, before SECTION_OF
    first_section = "Signal"
    sections_of: dict = {}

    def format_options(self, ctx, formatter):
        first = self.first_section
        groups: dict = {title: [] for title in (first, *SECTIONS[1:])}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                section = self.sections_of.get(param.name) or SECTION_OF.get(param.name)
                groups[section or first].append(record)
        for title, records in groups.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def pipe_closed() -> click.exceptions.Exit:
    """The end of a run whose output's reader closed the pipe (``| head``): no message
    (it is not the user's error, as with GNU tools), exit code 141 as a program killed
    by SIGPIPE.  Stdout and stderr are pointed at /dev/null first, as Python's note on
    SIGPIPE advises, so that nothing flushed on the way out fails again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, OSError, ValueError):  # no descriptor
                os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
    return click.exceptions.Exit(PipeClosed.exit_code)


class CliError(click.ClickException):
    """One ``Error: ...`` line on stderr with the library error's exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def format_message(self) -> str:
        return printable(self.message)


def flag(name: str, value=...) -> str:
    """The command line's spelling of a library parameter: ``--name``, ``--name VALUE``
    (the value quoted for a shell where it needs it: ``--columns 'speed x,load y'``),
    ``--no-name`` for False (a switch's off)."""
    text = FLAGS.get(name, "--" + name.replace("_", "-"))
    if value is ... or value is True:
        return text
    if value is False:  # a --NAME/--no-NAME switch's off
        return "--no-" + text[2:]
    import shlex  # not at start-up: only messages spell values

    return f"{text} {shlex.quote(str(value))}"


#: control characters (ESC, BEL, newline, ...; C0 but tab, DEL, C1), Unicode's line and
#: paragraph separators (U+2028/9) and its bidirectional embeddings, overrides and
#: isolates (U+202A-E, U+2066-9), which reorder the rest of a line as it is shown; and
#: the lone surrogates U+DC80-DCFF, Python's stand-ins for the bytes of a file name that
#: are not UTF-8 (os.fsdecode's surrogateescape)
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\udc80-\udcff]")


def _escape(match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # the byte it stands for, as the JSON report writes it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` (a file name, a label from a file) as a terminal should show it, on one
    line: control characters written as escapes (``\\x1b``, ``\\x0a``, ``\\u202e``), and
    each byte of a name that is not UTF-8 as ``\\xNN`` (as the JSON report has it),
    never sent to the terminal, where an ESC starts a colour, a cursor move or a window
    title, and a bidi override shows a name reversed.  Applied once, where a line is
    written."""
    return _CONTROL.sub(_escape, text)


def error_message(exc: ResdenoiseError) -> str:
    """A library error's message with its parameters named as flags (as it is: the
    writer makes it :func:`printable`)."""
    if isinstance(exc, GuaranteeError) and exc.report is not None:
        rule = KEPT_RULE.format(flag="--in-place", strict="--strict")
        kept = f"; the input was kept as it was ({rule})"
        failed = GuaranteeError.strict_failures(exc.report)
        return "--strict: " + "; ".join(failed) + (kept if exc.kept else "")
    return exc.restate(flag)


def file_error(exc: ResdenoiseError, path: str) -> str:
    """The message of ``exc``, a failure of the run of the file ``path``, naming the file
    first (as one line of a batch does, and ``make -j``'s interleaved lines need):
    ``path: message``, unless the message starts with it already (stdin: ``<stdin>``)."""
    return about_file(error_message(exc), path)


def about_file(message: str, path: str) -> str:
    """``path: message`` (an error's, a warning's), unless it starts with the name already."""
    from ..paths import shown  # not at start-up: --help reads no file

    name = shown(path)
    return message if message.startswith(name) else f"{name}: {message}"


def cli_error(
    exc: ResdenoiseError | BrokenPipeError, usage: bool = False
) -> click.ClickException | click.exceptions.Exit:
    """The command line's end for a library error: one ``Error:`` line and its exit code;
    a closed pipe (:class:`PipeClosed`, or Python's ``BrokenPipeError``, EPIPE), the
    quiet exit 141 of :func:`pipe_closed`.  With ``usage``, a :class:`ParameterError`
    (raised before any input is read) is a click usage error instead: the usage line,
    then the error.  The one mapping: :func:`library_errors`, the command group's."""
    if isinstance(exc, (PipeClosed, BrokenPipeError)):
        return pipe_closed()
    if usage and isinstance(exc, ParameterError):
        return click.UsageError(printable(error_message(exc)))
    return CliError(error_message(exc), exc.exit_code)


@contextlib.contextmanager
def library_errors(usage: bool = False):
    """Within, library errors and a closed pipe end the command as :func:`cli_error` says."""
    try:
        yield
    except (ResdenoiseError, BrokenPipeError) as exc:
        raise cli_error(exc, usage) from None


def write_json(report: dict, files=()) -> None:
    """``report`` as JSON on stdout, then ``files`` (``(path, bytes)``), all or nothing:
    the files are renamed into place only once stdout is written (a full disk there:
    ``<stdout>: cannot write: ...``)."""
    from ..io import write_files_atomic
    from ..report import to_json

    write_files_atomic([("-", to_json(report).encode()), *files])


def on_command_line(ctx: click.Context, name: str) -> bool:
    """Whether the parameter ``name`` was given on the command line (not defaulted)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


# --------------------------------------------------------------------------
# Option bundles
# --------------------------------------------------------------------------

#: -q, as every command has it: nothing on stderr but errors
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors."
)


def bundle(*options):
    """One decorator that adds ``options`` in the order given (the first on top in --help)."""

    def decorate(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


#: how INPUT (and --reference) is read: the keywords of pipeline.run_file of these names
READ_KEYS = (
    "input_format",
    "delimiter",
    "decimal",
    "header",
    "time_column",
    "columns",
    "samplerate",
)
#: how OUTPUT is written
WRITE_KEYS = ("output_format", "subtype", "input_decimals")


# How INPUT is read (files_options) and learn's files (NOISY and CLEAN): one definition each.
def input_format_option(files: str):
    return click.option(
        "--input-format",
        default=None,
        metavar="FORMAT",
        help=f"Format of {files} when the name does not tell (csv, wav, flac, ...).",
    )


DELIMITER = click.option(
    "--delimiter",
    default=None,
    metavar="CHAR",
    help="CSV delimiter: ',', ';', tab, space (runs of blanks) or '|' [default: sniffed].",
)
DECIMAL = click.option(
    "--decimal",
    type=click.Choice([".", ","]),
    default=None,
    help="CSV decimal mark [default: '.', or ',' when the file uses it].",
)
HEADER = click.option(
    "--header/--no-header",
    default=None,
    help="The first CSV row is (is not) a header [default: detected].",
)
TIME_COLUMN = click.option(
    "--time-column",
    default=None,
    metavar="NAME|N|none",
    help="CSV column (name or number) carried through unfiltered [default: a "
    "monotone first column named time/t/index/sample...]; 'none': no time column.",
)
COLUMNS = click.option(
    "--columns",
    default=None,
    metavar="A,B",
    help="Columns (names or numbers; audio: channel numbers) to filter; the others "
    "are carried through unchanged [default: all but the time column] (a CSV's "
    "into audio or Zarr: refused, these hold the filtered channels only). A name with "
    """a comma in it in double quotes: '"a,b",c'.""",
)


class WholeHz(click.ParamType):
    """``--rate``: a whole number of Hz (``44100``, ``44100.0``, ``4.41e4``); its range
    is the library's to check (``samplerate must be a whole number of Hz from 1 ...``)."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return int(value)  # (exact, however long)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            return int(number)
        self.fail(f"{value!r} is not a whole number of Hz (from 1 to {2**31 - 1})", param, ctx)


def rate_option(a_csv_file: str):
    return click.option(
        "--rate",
        "samplerate",
        type=WholeHz(),
        default=None,
        metavar="HZ",
        help=f"Sample rate of {a_csv_file} that does not carry one ('# samplerate: HZ', as "
        "resdenoise writes it); needed for audio output from CSV.",
    )


def read_options(files: str, a_csv_file: str):
    """The read options alone (learn's, of ``files``): collected by :func:`read_settings`."""
    return bundle(
        input_format_option(files),
        DELIMITER,
        DECIMAL,
        HEADER,
        TIME_COLUMN,
        COLUMNS,
        rate_option(a_csv_file),
    )


def read_settings(read: dict):
    """``(input format, resdenoise.io.ReadOptions)`` of the read options (a dict of
    :data:`READ_KEYS`); options that do not go together are a usage error."""
    from ..io import ReadOptions  # not at start-up: --help reads no file

    read = dict(read)
    fmt = read.pop("input_format")
    with library_errors(usage=True):
        return fmt, ReadOptions(**read)


def files_options(func):
    """Options shared by the four filtering commands: files, checks, report, speed.

    The command receives the read options collected into one parameter
    ``read`` and the write options into ``write`` (dicts of
    :func:`resdenoise.pipeline.run_file`'s keywords, :data:`READ_KEYS` and
    :data:`WRITE_KEYS`), the others as parameters of their own.
    """

    @click.argument("input_paths", metavar="INPUT...", nargs=-1, required=True)
    @click.option(
        "-o",
        "--output",
        default="-",
        show_default=True,
        metavar="OUTPUT",
        help="Output file; format from its extension. '-': stdout, in the input's format "
        "(audio stays audio in a pipe; --output-format csv for numbers). With "
        "several INPUTs: a directory (existing, or a name ending in /) that receives "
        "one output per input under the input's name (stdin, /dev/stdin, <(...): no "
        "name, refused).",
    )
    @input_format_option("INPUT")
    @click.option(
        "--output-format",
        default=None,
        metavar="FORMAT",
        help="Format of OUTPUT when the name does not tell [default: the extension; "
        "stdout: the input's format].",
    )
    @DELIMITER
    @DECIMAL
    @HEADER
    @TIME_COLUMN
    @COLUMNS
    @rate_option("a CSV INPUT")
    @click.option(
        "--subtype",
        default=None,
        metavar="SUBTYPE",
        help="Audio subtype of OUTPUT (PCM_16, PCM_24, FLOAT, ...) [default: the input's; "
        "from CSV: FLOAT]. A run whose output would clip is refused.",
    )
    @click.option(
        "--input-decimals",
        is_flag=True,
        help="Write each filtered CSV column rounded to the most decimals of its input "
        "cells (the instrument's resolution) [default: exact, by repr].",
    )
    @click.option(
        "--in-place",
        is_flag=True,
        help="Replace each INPUT with its output, atomically, as sed -i does (no -o "
        "needed; an -o that is not INPUT is an error). With --strict, an INPUT whose "
        "guarantee failed is kept as it was.",
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
        "--summary",
        default=None,
        metavar="PATH",
        help="Write one JSON record of the run to PATH ('-': stdout), also where files "
        "failed: each INPUT's status (written, kept, failed), exit code and one-line "
        "reason, and the counts of the last line.",
    )
    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the JSON report on stdout (the signal goes to -o FILE); as --report -.",
    )
    @click.option(
        "--allow-unstable",
        is_flag=True,
        help="Run even outside the stability theorem (else exit code 3): tau above the "
        "L-infinity bound, g < 0 somewhere, or g unbounded.",
    )
    @click.option(
        "--strict",
        is_flag=True,
        help="Exit with code 4 when a measured guarantee fails (the output written all the "
        "same; with --in-place, the INPUT kept instead).",
    )
    @click.option(
        "--reference",
        default=None,
        metavar="CLEAN",
        help="A clean signal of the same shape (read like INPUT): report MSE, SNR and "
        "PSNR of input and output against it (the SNR under the summary line; all three "
        "in -v's table and the JSON report's quality).",
    )
    @quiet_option
    @click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="After the verdict, the tables: parameters, stability bounds, measurements "
        "per channel.",
    )
    @click.option(
        "--dtype",
        type=click.Choice(["auto", "float64", "float32"]),
        default="auto",
        show_default=True,
        help="Working precision. auto: float32 for a sound file stored as 32-bit floats "
        "(its own precision; half the memory traffic), float64 for every other input; "
        "float64 is the reference.",
    )
    @click.option(
        "--chunk-size",
        type=Count(0),
        default=None,
        metavar="N",
        help="Filter in chunks of N samples (plus a halo of m samples each side) in "
        "memory that does not grow with the file, with the same numbers; 0: always "
        "load the file whole [default: chunks for input files over 8 MiB, Zarr stores "
        "by their array's bytes].",
    )
    @click.option(
        "-j",
        "--jobs",
        metavar="N",
        type=COUNT,
        default=1,
        show_default=True,
        help="With several INPUTs: filter this many files at once, in parallel processes.",
    )
    @click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        envvar="RESDENOISE_SCHEDULER",
        show_envvar=True,
        help="With several INPUTs: run the files on the Dask cluster of this scheduler "
        "(tcp://host:8786) instead of local processes; the workers must see the same "
        "paths. Needs the dask extra: pip install '.[dask]' in the checkout. Dask's own "
        "DASK_SCHEDULER_ADDRESS is not read: a batch goes to a cluster only when asked. "
        "An address that does not answer within 10 s, or answers but is no scheduler "
        "within 5 s more (the dashboard's port, 8787), fails the batch at once. "
        "With no worker for 60 s (RESDENOISE_NO_WORKER_TIMEOUT=SECONDS) the files not "
        "run yet fail.",
    )
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        refuse_quiet_and_verbose(kwargs["quiet"], kwargs["verbose"])
        if kwargs.pop("as_json"):
            _json_report(kwargs)
        kwargs["read"] = {key: kwargs.pop(key) for key in READ_KEYS}
        kwargs["write"] = {key: kwargs.pop(key) for key in WRITE_KEYS}
        return func(*args, **kwargs)

    return wrapper


def refuse_quiet_and_verbose(quiet: bool, verbose: bool, what: str = "tables") -> None:
    """-q and -v together: a usage error (-v shows ``what``)."""
    if quiet and verbose:
        raise click.UsageError(f"give -q (errors only) or -v (the {what}), not both")


def names_directory(path: str | None) -> bool:
    """An output path meant as a directory: ending in a separator."""
    return path not in (None, "-") and path.endswith(("/", os.sep))


def _json_report(kwargs: dict) -> None:
    """``--json``: the report on stdout (``--report -``), when the signal goes to a file."""
    if len(kwargs["input_paths"]) > 1 or names_directory(kwargs["output"]):
        given = "several INPUTs" if len(kwargs["input_paths"]) > 1 else "-o DIR/ (a batch)"
        raise click.UsageError(
            f"--json prints one report; with {given} use --report DIR/ (one JSON per input)"
        )
    if kwargs["report_path"] is not None:
        raise click.UsageError("give --json (report on stdout) or --report PATH, not both")
    clash = json_clash(kwargs["output"])
    if clash is not None:
        raise click.UsageError(clash)
    kwargs["report_path"] = "-"


def json_clash(output: str) -> str | None:
    """Why ``--json`` (the report on stdout) cannot go with the signal's ``-o OUTPUT``
    (stdout, by its name or another: ``/dev/stdout``), or None if it can."""
    if output == "-":
        return "--json puts the report on stdout; give the signal -o FILE"
    from ..paths import is_stdout  # not at start-up: --help checks no paths

    if is_stdout(output):
        return (
            f"--json puts the report on stdout, and -o {output} is stdout too; "
            "give the signal -o FILE"
        )
    return None


def name_option(form: str, default: str, auto: bool = False):
    """``--FORM NAME`` (parameter ``name``; with ``auto`` also ``auto``: the family
    chosen by SURE) and ``--FORM-expr EXPR`` (parameter ``formula``: the parsed
    :class:`resdenoise.expr.Expression`, or None)."""
    text = name_help(form)
    if auto:
        text += (
            " 'auto': the family (and scales, lambda, stopping time) with the smallest "
            "SURE, reported with the reason."
        )
    return bundle(
        click.option(
            *flag_spellings(form),
            "name",
            default=default,
            show_default=True,
            type=NameChoice(form, auto),
            help=text,
        ),
        click.option(
            *flag_spellings(form, "-expr"),
            "formula",
            default=None,
            metavar="EXPR",
            callback=functools.partial(_parse_formula, form),
            help=f"Your own {form} as a formula in {_FORMULA_NAMES[form == 'shrinkage']}, "
            "instead of --" + form + "; see 'resdenoise translate --help'.",
        ),
    )


#: the names a --FORM-expr formula is written in (shrinkage: s and its threshold theta)
_FORMULA_NAMES = (
    "r (the difference quotient) and lam (lambda, as --lambda)",
    "s and theta (the threshold, as --threshold; lam = sqrt2 theta)",
)


def _parse_formula(form, ctx, param, value):
    if value is None:
        return None
    from ..expr import ExpressionError, parse_expression

    try:
        return parse_expression(value, form)
    except ExpressionError as exc:
        raise click.BadParameter(str(exc)) from None


def stopping_rule_option():
    from ..stopping_rules import DEFAULT_RULE, RULES

    return click.option(
        "--stopping-rule",
        type=click.Choice(sorted(RULES)),
        default=DEFAULT_RULE,
        show_default=True,
        help="How 'auto' picks the number of blocks (and lambda, when it is auto too): sure = "
        "Stein's unbiased estimate of the MSE; noise2self = masked self-supervised loss; "
        "decorrelation = least correlation of signal and removed noise.",
    )


def sigma_option():
    return click.option(
        "--sigma",
        type=LEVELS,
        default=None,
        help="The noise level, when known: the noise's standard deviation in the signal's "
        "units (a CSV's numbers, audio's -1..1), used by the automatic lambda and stopping time "
        "instead of the estimate (default: estimated per channel, see the report's "
        "noise_estimator). One value for all channels, or one per channel (0.01,0.05: each "
        "channel its own automatic parameters), in the order --columns names them.",
    )


def lambda_option():
    return click.option(
        "--lambda",
        "lam",
        type=NUMBER_OR_AUTO,
        default="auto",
        show_default=True,
        help="Contrast parameter lambda > 0, compared with the differences (u[i+1]-u[i])/h "
        "in the signal's units, or 'auto': sqrt2 x universal threshold "
        "from the noise level (--sigma or estimated; with an 'auto' stopping time: the best "
        "of universal x 2^(-k/2), k = 0..16, by the stopping rule sure or noise2self; "
        "by decorrelation: the universal one).",
    )


#: --h, as every command that takes a grid size has it
grid_option = click.option(
    "--h",
    type=POSITIVE,
    metavar="H",
    default=1.0,
    show_default=True,
    help="Grid size: the sample spacing the differences are divided by, 1 = per sample "
    "(not 1/rate: it only rescales; --h H with lambda L and tau S is the filter of --h 1 "
    "with lambda L*H and tau S/H^2).",
)


def tau_option(command: str):
    """--tau of diffuse (with --time: the largest step) and resnet (each block's step):
    defaults to the sign-stable bound."""
    more = (
        "with --time T the largest step: the run takes m = ceil(T/tau) steps of T/m (0.25 "
        "for --time 1 --tau 0.3)"
        if command == "diffuse"
        else "each of the --blocks M blocks is one step of tau, the stopping time T = M tau"
    )
    return click.option(
        "--tau",
        type=POSITIVE,
        metavar="TAU",
        help=f"Time step (default: the sign-stable bound h^2/(4 g_max)); {more}.",
    )


plot_options = bundle(
    click.option(
        "--plot",
        "plot_path",
        default=None,
        metavar="PATH",
        help="Also draw the function plots (rows g, Psi, S, Phi) to PATH: .png, .svg or .pdf. "
        "Needs matplotlib: pip install '.[plot]' in the checkout.",
    ),
    click.option(
        "--plot-size",
        type=PlotSize(),
        default=None,
        help="Image size in pixels [default: 260 per column, at least 520, x 800]; SVG/PDF: 0.72 pt per pixel.",
    ),
)
