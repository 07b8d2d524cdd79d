"""``resdenoise learn``: a provably stable network learned from files (:mod:`resdenoise.learn`).

Reads the training files with :func:`resdenoise.io.read_signal` (the read
options of the filtering commands; ``-`` is stdin), learns, decides whether
the network is better stopped per signal by SURE (``stop = "sure"`` in its
file), re-checks the network it wrote by parsing its text as ``resnet
--network`` does, and writes the network file atomically.  ``--per-file``
learns on one input alone inside the plan maker of
:func:`resdenoise.pipeline.run_file`, so the input is read once (stdin too)
and filtered by the same plan as ``resnet --network``.
"""

from __future__ import annotations

import os

import click

from ..errors import (
    ParameterError,
    ResdenoiseError,
    SignalError,
    counted,
    samples_and_channels,
)
from .options import (
    CONTEXT_SETTINGS,
    READ_KEYS,
    SectionedCommand,
    json_clash,
    library_errors,
    on_command_line,
    quiet_option,
    read_options,
    read_settings,
    refuse_quiet_and_verbose,
    write_json,
)
from .param_types import COUNT, POSITIVE, Count

__all__ = ["learn"]


class LearnCommand(SectionedCommand):
    """learn's --help in sections: what is learned, the files, the output."""

    first_section = "Learning"
    sections_of = {
        **dict.fromkeys(
            ("noisy_paths", "clean_paths", "output", "per_file", "network_out", "samplerate"),
            "Files",
        ),
    }


@click.command(cls=LearnCommand, context_settings=CONTEXT_SETTINGS)
@click.argument("noisy_paths", metavar="NOISY...", nargs=-1, required=True)
@click.option(
    "--clean",
    "clean_paths",
    multiple=True,
    metavar="CLEAN",
    help="The clean signal of each NOISY file, in the same order (repeat the option); "
    "or one directory holding a file of the same name for each NOISY file. Supervised.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="The network file to write (TOML, runs with 'resdenoise resnet --network'); "
    "with --per-file the filtered signal.",
)
@click.option(
    "--objective",
    type=click.Choice(["supervised", "sure", "noise2self"]),
    default=None,
    help="What is minimised [default: supervised with --clean, else sure]: sure = Stein's "
    "unbiased risk estimate (noise level estimated, or --sigma); noise2self = masked "
    "self-supervised loss (needs no noise level).",
)
@click.option("--groups", type=COUNT, default=4, show_default=True, help="Block groups.")
@click.option(
    "--blocks-per-group",
    "blocks",
    type=COUNT,
    default=8,
    show_default=True,
    help="Blocks in each group (the network's depth: --groups x this).",
)
@click.option("--blocks", "blocks_old", type=COUNT, default=None, hidden=True)  # the old name
@click.option(
    "--scales",
    type=Count(1, 20),
    metavar="K",
    default=1,
    show_default=True,
    help="Groups at K scales, coarse to fine: differences of stride 2^(K-1), ..., 2, 1 "
    "(the network file's scale); at most --groups.",
)
@click.option(
    "--bumps",
    type=Count(2, 32),
    default=8,
    show_default=True,
    help="Coefficients of each group's activation.",
)
@click.option(
    "--training-iterations",
    "iterations",
    type=Count(0, 100_000),
    default=50,
    show_default=True,
    help="L-BFGS-B iterations at most (the optimiser's steps, not blocks as in shrink "
    "--iterations).",
)
@click.option("--iterations", "iterations_old", type=Count(0, 100_000), hidden=True)
@click.option(
    "--start",
    type=click.Choice(["fixed", "random"]),
    default="fixed",
    show_default=True,
    help="fixed: the best fixed family in automatic mode on the training files, its g "
    "fitted by the bumps and its block count spread over the groups (--blocks-per-group "
    "is then the most per group), so training starts at that family's quality; random: seeded shapes.",
)
@click.option(
    "--stop",
    type=click.Choice(["sure", "auto", "none"]),
    default="sure",
    show_default=True,
    help="The network file's depth: sure = chosen per signal by SURE, with one common "
    'lambda factor of 1/4 to 4 (stop = "sure", lambda-factors: the blocks, then the last '
    "group repeated on, up to --max-blocks); auto = the trained depth, the stop or the stop "
    "with the factor, whichever gave the smallest loss on the training files; none = every "
    "block at its trained lambda.",
)
@click.option(
    "--max-blocks",
    type=Count(1, 10_000_000),
    default=None,
    help="With the SURE stop: the most blocks searched [default: 4 x the network's depth].",
)
@click.option(
    "--seed",
    type=Count(0),
    default=0,
    show_default=True,
    help="Seed of the start (and the SURE probe).",
)
@click.option(
    "--fixed-lambda",
    is_flag=True,
    help="Use the automatic lambda of the signal in every group (else a learned multiple of it).",
)
@click.option(
    "--sigma",
    type=POSITIVE,
    metavar="SIGMA",
    default=None,
    help="--objective sure: the noise level, when known, instead of the estimate (lambda "
    "still follows the estimate, as resnet --network will compute it).",
)
@click.option(
    "--per-file",
    is_flag=True,
    help="Learn on the one NOISY file alone (sure or noise2self), then filter it into -o.",
)
@click.option(
    "--network-out",
    default=None,
    metavar="TOML",
    help="With --per-file: also write the learned network file.",
)
@quiet_option
@click.option("-v", "--verbose", is_flag=True, help="Also the learned groups, one row each.")
@click.option("--json", "as_json", is_flag=True, help="The learning report on stdout (JSON).")
@read_options("a NOISY or CLEAN file", "a CSV NOISY or CLEAN file")
def learn(noisy_paths, clean_paths, output, **settings):
    """Learn a provably stable network of diffusion blocks from data.

    Each block group gets its own activation Phi(r) = r g(r) with
    g(r) = sum_k c_k b_k(|r|/lambda), c_k >= 0 and sum c <= g_max by
    construction, so every network met during training is sign stable at
    tau = h^2/(4 g_max). Gradients are exact (backward through the blocks);
    the optimiser is SciPy's L-BFGS-B: pip install '.[learn]' in the checkout.

    \b
    Example:
        resdenoise learn sample_signals/steps.csv --clean sample_signals/steps_clean.csv -o net.toml
        resdenoise resnet sample_signals/two_channels.csv --network net.toml -o denoised.csv
        resdenoise learn sample_signals/steps.csv --objective noise2self -o net.toml
        resdenoise learn sample_signals/steps.csv --stop none --blocks-per-group 64 -o net.toml
        resdenoise learn --per-file sample_signals/steps.csv -o denoised.csv --network-out net.toml
        cat sample_signals/two_channels.csv | resdenoise learn - --columns 2 -o net.toml
    """
    refuse_quiet_and_verbose(settings["quiet"], settings["verbose"], "table")
    _old_names(settings)
    if settings["per_file"]:
        _check_per_file(noisy_paths, clean_paths, settings)
    elif settings["network_out"] is not None:
        raise click.UsageError("--network-out is for --per-file; without it -o is the network")
    if clean_paths and settings["objective"] not in (None, "supervised"):
        raise click.UsageError(f"--objective {settings['objective']} learns without --clean")
    if not clean_paths and settings["objective"] == "supervised":
        raise click.UsageError("--objective supervised needs --clean files")
    if settings["sigma"] is not None and (clean_paths or settings["objective"] == "noise2self"):
        raise click.UsageError("--sigma is for --objective sure")
    if settings["max_blocks"] is not None and settings["stop"] == "none":
        raise click.UsageError("--max-blocks caps the SURE stop; drop it or --stop none")
    from ..paths import refuse_pipe_twice

    with library_errors(usage=True):  # stdin also as /dev/stdin: the first read empties it
        refuse_pipe_twice([*noisy_paths, *clean_paths], "give the other files by name")
    settings["read"] = read_settings({key: settings.pop(key) for key in READ_KEYS})
    with library_errors():
        noisy, clean = _pairs(noisy_paths, clean_paths)
        _check_outputs(output, settings, [p for p in noisy + clean if p != "-"])
        if settings["per_file"]:
            _per_file(noisy[0], output, settings)
        else:
            _learn(noisy, clean, output, settings)


def _old_names(settings: dict) -> None:
    """``--blocks`` and ``--iterations``, learn's names before ``--blocks-per-group`` and
    ``--training-iterations`` (which say what they count: resnet's --blocks is every
    block, shrink's --iterations its blocks), kept working, hidden from --help."""
    ctx = click.get_current_context()
    for old, new in (("blocks", "blocks-per-group"), ("iterations", "training-iterations")):
        value = settings.pop(f"{old}_old")
        if value is None:
            continue
        if on_command_line(ctx, old):
            raise click.UsageError(f"--{old} is the old name of --{new}: give one of them")
        settings[old] = value


def _check_per_file(noisy_paths, clean_paths, settings) -> None:
    if len(noisy_paths) != 1:
        raise click.UsageError("--per-file learns on one NOISY file and filters it; give one")
    if clean_paths:
        raise click.UsageError("--per-file learns from the noisy file alone; drop --clean")
    if settings["objective"] == "supervised":
        raise click.UsageError("--per-file is self-supervised: --objective sure or noise2self")


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def _listing(directory: str) -> list[str]:
    """The signal files of a directory (by extension), sorted by name."""
    from ..io import AUDIO_EXTENSIONS, CSV_EXTENSIONS

    extensions = tuple(AUDIO_EXTENSIONS) + tuple(CSV_EXTENSIONS)
    names = sorted(
        name
        for name in os.listdir(directory)
        if name.lower().endswith(extensions) and os.path.isfile(os.path.join(directory, name))
    )
    if not names:
        raise SignalError(f"{directory}: no CSV or audio files in the directory")
    return [os.path.join(directory, name) for name in names]


def _pairs(noisy_paths, clean_paths) -> tuple[list[str], list[str]]:
    """The noisy files (directories listed) and their clean partners, in order."""
    noisy = []
    for path in noisy_paths:
        noisy += _listing(path) if os.path.isdir(path) else [path]
    if not clean_paths:
        return noisy, []
    if len(clean_paths) == 1 and os.path.isdir(clean_paths[0]):
        clean = [os.path.join(clean_paths[0], os.path.basename(p)) for p in noisy]
        for n, c in zip(noisy, clean, strict=True):
            if not os.path.isfile(c):
                raise SignalError(f"{c}: no clean file of that name for {n}")
        return noisy, clean
    if len(clean_paths) != len(noisy):
        raise ParameterError(
            f"{counted(len(noisy), 'noisy file')} and "
            f"{counted(len(clean_paths), '--clean file')}: give one clean "
            "file per noisy file, in the same order (or one directory of same-named files)"
        )
    return noisy, list(clean_paths)


def _check_outputs(output: str, settings: dict, inputs: list[str]) -> None:
    """Outputs writable, and none of them a file the run reads."""
    from ..io import check_output_path
    from ..io.atomic import absolute_path
    from ..pipeline import check_paths

    network = settings["network_out"] if settings["per_file"] else output
    clash = json_clash(output) if settings["as_json"] and settings["per_file"] else None
    if clash is not None:
        raise ParameterError(clash)
    if settings["as_json"]:  # the report's stdout can be written (not closed: >&-)
        check_output_path("-", signal=False)
    reads = {path: "input" for path in inputs}
    if network is not None:
        if network == "-":
            raise ParameterError("give the network file a name (-o NET.toml), not stdout")
        check_output_path(network, signal=False)
        check_paths("-", network, reads=reads)
        _check_network_name(network, "--network-out" if settings["per_file"] else "-o")
    if settings["per_file"]:
        check_output_path(output)
        check_paths("-", output, reads=reads)
        if network is not None and absolute_path(network) == absolute_path(output):
            raise ParameterError("-o and --network-out name the same file")


def _check_network_name(network: str, option: str) -> None:
    """A network file is TOML, and its name says so: ``NAME.toml`` (not a signal's name,
    ``n.csv``, which would hold TOML that no CSV reader reads)."""
    stem, ext = os.path.splitext(network)
    if ext.lower() != ".toml":
        raise ParameterError(
            f"{network}: a network file is TOML; name it {stem or network}.toml ({option})"
            + ("; --per-file writes a filtered signal to -o" if option == "-o" else "")
        )


def _read(paths: list[str], settings: dict) -> list:
    from ..io import read_signal

    fmt, options = settings["read"]
    return [read_signal(path, fmt, options) for path in paths]


# --------------------------------------------------------------------------
# Learning, checking, writing
# --------------------------------------------------------------------------


def _learn(noisy_paths, clean_paths, output, settings) -> None:
    """Learn from the files and write the network file -o."""
    from ..io.signal import rate_mismatch

    signals = _read(noisy_paths, settings)
    cleans = _read(clean_paths, settings) if clean_paths else []
    for i, (f, c) in enumerate(zip(signals, cleans, strict=False)):
        rates = (c.samplerate, noisy_paths[i], f.samplerate)  # another rate: not its signal
        line = rate_mismatch(clean_paths[i], rates[0], *rates[1:], "clean file", "noisy file")
        if line is not None:
            raise SignalError(line)
    noisy = [s.data for s in signals]
    clean = [s.data for s in cleans] if clean_paths else None
    for i, (f, c) in enumerate(zip(noisy, clean or noisy, strict=True)):
        if c.shape != f.shape:
            raise SignalError(
                f"{clean_paths[i]}: {samples_and_channels(c.shape)}, but its noisy file "
                f"{noisy_paths[i]} has {samples_and_channels(f.shape)}; give the clean "
                "signal with the same samples and channels"
            )
    report, text, _ = _train(noisy, clean, noisy_paths, clean_paths, output, settings)
    apart = [line for s in signals if (line := _levels_apart(s)) is not None]
    if apart:  # the automatic lambda, one per file, is its loudest channel's
        report["warnings"] = [*report.get("warnings", []), *apart]
    _write(report, [(output, text.encode("utf-8"))], settings)
    _show(report, None, [], settings)


def _levels_apart(signal) -> str | None:
    """The warning where a training file's channels' noise levels differ by more than
    :data:`resdenoise.split.CHANNEL_NOISE_FACTOR` (its automatic lambda, which the
    network's lambdas scale, is set by the loudest channel's noise), else None."""
    import numpy as np

    from ..noise import resolve_sigma
    from ..split import CHANNEL_NOISE_FACTOR, ratio_said
    from ..stability import channel_labels

    x = np.asarray(signal.data, dtype=float)
    if x.ndim < 2 or x.shape[1] < 2:
        return None
    sigma = np.asarray(resolve_sigma(x).sigma, dtype=float).ravel()
    levels = [(float(v), c) for c, v in enumerate(sigma) if v > 0.0]
    if len(levels) < 2:
        return None
    (low, quiet), (high, loud) = min(levels), max(levels)
    if not high > CHANNEL_NOISE_FACTOR * low:
        return None
    names = channel_labels(len(sigma), signal.channel_labels)
    return (
        f"{signal.source}: {names[quiet]}'s noise ({low:.3g}) is {ratio_said(high, low)} below "
        f"{names[loud]}'s ({high:.3g}): the file's automatic lambda, which the network's "
        f"lambdas scale in training, fits the loudest's noise; learn from {names[quiet]} "
        "in a file of its own (--columns)"
    )


def _per_file(input_path: str, output: str, settings: dict) -> None:
    """--per-file: learn on the input's samples in the plan maker, filter them with the
    learned network as ``resnet --network`` does, then write --network-out."""
    import numpy as np

    from ..pipeline import run_file
    from ..plans import network_planner

    learned: dict = {}
    network = settings["network_out"]

    def make_plan(u):
        noisy = [np.asarray(u, dtype=float)]
        learned["report"], learned["text"], spec = _train(
            noisy, None, [input_path], [], network, settings
        )
        return network_planner(spec)(u)

    def commit(run: dict) -> None:
        """The report on stdout and the network file, when the output is ready: just
        before it is renamed into place (none of them if one fails)."""
        learned["report"]["run"] = run
        more = [] if network is None else [(network, learned["text"].encode("utf-8"))]
        _write(learned["report"], more, settings)
        learned["written"] = True

    commit.takes_report = True  # run_file's on_commit(report)
    warned: list = []  # a failed run leaves no network file
    fmt, options = settings["read"]
    run = run_file(  # its errors: learn's library_errors
        make_plan,
        input_path,
        output,
        read=options,
        input_format=fmt,
        on_warning=warned.append,
        on_commit=commit,
    )
    if not learned.get("written"):  # nothing renamed (the output a device): no commit
        commit(run)
    _show(learned["report"], run, warned, settings)


def _train(noisy, clean, noisy_paths, clean_paths, network, settings):
    """Learn, decide the stop, write the text and re-read it: ``(report, text, spec)``."""
    import numpy as np

    from .. import learn as lib
    from .. import learn_stop
    from ..network import build_network, parse_network
    from ..report import LEARN_SCHEMA_VERSION, stamped
    from . import render  # not at start-up: --help draws nothing

    sigma = None if settings["sigma"] is None else [settings["sigma"]] * len(noisy)
    names = [None if settings["per_file"] else n for n in noisy_paths + clean_paths]
    objective = lib.make_objective(  # refuses samples it cannot square; run_file names its file
        noisy, clean, settings["objective"], sigma, settings["seed"], names=names
    )
    arch = lib.Architecture(
        groups=settings["groups"],
        blocks=settings["blocks"],
        bumps=settings["bumps"],
        learn_lambda=not settings["fixed_lambda"],
        scales=settings["scales"],
    )
    warm = None
    if settings["start"] == "fixed":
        # the copied choice spreads over the stride-1 groups only and every group gets
        # that count: at most --blocks each, so at most (stride-1 groups) x --blocks blocks
        fine = sum(arch.stride(i) == 1 for i in range(arch.groups))
        with render.progress_sink(settings["quiet"], "learn") as sink:
            warm = lib.warm_start(
                noisy, arch, max_blocks=fine * arch.blocks, objective=objective, progress=sink
            )
        arch = warm.arch
    with render.loss_progress(settings["quiet"], settings["iterations"]) as sink:
        result = lib.fit(
            objective,
            arch,
            seed=settings["seed"],
            max_iterations=settings["iterations"],
            progress=sink,
            start=None if warm is None else warm.params,
        )
    stop = None
    if settings["stop"] != "none":
        stop = learn_stop.decide_stop(noisy, result.groups, clean, arch.h, settings["max_blocks"])
        if settings["stop"] == "sure":  # SURE chooses the depth and factor per signal
            stop = learn_stop.forced(stop)
    use_stop = stop is not None and stop.stop
    comment = (
        f"learned by resdenoise learn ({result.objective}, {counted(len(noisy), 'file')}, "
        f"seed {settings['seed']}): loss "
        f"{result.initial_loss:.6g} -> {result.loss:.6g}"
    )
    text = lib.network_text(
        result.groups,
        arch.h,
        comment,
        "sure" if use_stop else None,
        stop.max_blocks if use_stop else None,
        stop.lambda_factors if use_stop else None,
    )
    spec = parse_network(text, network or "<learned network>")  # as resnet --network reads it
    verdict = build_network(spec, noisy[0]).verdict()  # lambda-scale: a signal for lambda
    if not verdict.linf_stable:  # cannot happen by construction; never write one that is not
        raise ResdenoiseError(f"the learned network is not stable: {verdict.reason}")
    report = {
        "network": network,
        "inputs": list(noisy_paths),
        "clean": list(clean_paths),
        "groups": arch.groups,
        "blocks_per_group": arch.blocks,
        "bumps": arch.bumps,
        "scales": arch.scales,
        "seed": settings["seed"],
        "automatic_lambdas": list(objective.lambdas),
        "samples": sum(int(f.size) for f in noisy),
        "start": settings["start"],
        **(warm.as_dict() if warm is not None else {}),
        **result.as_dict(),
        # SURE with probes the training did not fit (its own overstates the gain)
        **(
            {"sure_fresh_probes": lib.fresh_sure(noisy, arch, result, sigma, settings["seed"])}
            if result.objective == "sure"
            else {}
        ),
        "stop_asked": settings["stop"],
        **(stop.as_dict() if stop is not None else {"stop": None}),
        "stability": verdict.as_dict(),
    }
    shortest = min(np.shape(f)[0] for f in noisy)
    over = sorted({arch.stride(i) for i in range(arch.groups) if arch.stride(i) >= shortest})
    if over:  # every subsequence of such a stride is one sample: the group filters nothing
        report["warnings"] = [
            f"--scales {arch.scales}: the groups of stride {', '.join(map(str, over))} filter "
            f"nothing on the shortest training file's {shortest} samples (every subsequence "
            f"of such a stride is one sample); --scales {max(1, (shortest - 1).bit_length())} "
            "at most uses them all"
        ]
    if clean is not None:  # supervised: doing nothing has a known loss; said beside
        said = _against_identity(noisy, clean, result, stop, use_stop, network)
        said["warnings"] = [*report.get("warnings", []), *said.get("warnings", [])]
        report.update({k: v for k, v in said.items() if v})
        same = [  # nothing to learn from a pair: the same file twice, most likely
            f"{c}: the clean file equals its noisy file {n} sample for sample: there is "
            "nothing to learn from it (the same file given twice?)"
            for n, c, f, x in zip(noisy_paths, clean_paths, noisy, clean, strict=True)
            if np.array_equal(f, x)
        ]
        if same:
            report["warnings"] = [*same, *report.get("warnings", [])]
    elif worse := _stop_worse(stop, use_stop, network):  # by SURE: its own measure
        report["warnings"] = [*report.get("warnings", []), *worse]
    return stamped(report, LEARN_SCHEMA_VERSION), text, spec


def _against_identity(noisy, clean, result, stop, use_stop, network) -> dict:
    """The supervised loss of doing nothing (the noisy files themselves, as a stop that
    keeps the input gives) and of the network as written (stopped by SURE where it is),
    on the training files; a warning where the network written is no better."""
    import numpy as np

    total = sum(np.asarray(f).size for f in noisy)
    pairs = zip(noisy, clean, strict=True)
    identity = sum(float(np.sum((np.asarray(f) - c) ** 2)) for f, c in pairs) / total
    written = stop.loss_stopped if use_stop else result.loss
    out = {"identity_loss": identity, "written_loss": written}
    if written > identity > 0.0:  # (equal: the stop kept the input; 0: nothing to learn)
        how = 'stopped by SURE (stop = "sure")' if use_stop else "at its trained depth"
        trained = None if stop is None else stop.loss_trained
        fix = (
            f"--stop none writes it at its trained depth ({trained:.6g})"
            if use_stop and trained is not None and trained < identity
            else "train on longer or more signals"
        )
        out["warnings"] = [
            f"{network or 'the learned network'}: worse than doing nothing on its own "
            f"training files: supervised loss {written:.6g} {how}, the noisy files "
            f"themselves {identity:.6g} ({written / identity:.3g}x); {fix}"
        ]
    else:
        out["warnings"] = _stop_worse(stop, use_stop, network)
    return out


def _stop_worse(stop, use_stop: bool, network) -> list[str]:
    """The warning of a network written with its SURE stop (``--stop sure``) that does
    worse on its own training files than at its trained depth, by the decision's measure:
    the supervised loss (with --clean), else SURE; none where it does not."""
    trained = None if stop is None else stop.loss_trained
    if not use_stop or trained is None or not stop.loss_stopped > trained:
        return []
    written = stop.loss_stopped
    measure = "supervised loss" if stop.measure == "supervised" else "SURE"
    times = f" ({written / trained:.3g}x)" if trained > 0 else ""
    return [  # the stop chose worse than the trained depth on the user's data
        f'{network or "the learned network"}: stopped by SURE (stop = "sure") it does '
        f"worse on its own training files than at its trained depth: {measure} "
        f"{written:.6g}, at the trained depth {trained:.6g}{times}; --stop auto writes the "
        "better of the two"
    ]


def _write(report: dict, files: list, settings: dict) -> None:
    """The learning report on stdout (``--json``) and ``files`` (``(path, bytes)``), all or
    nothing: the files are renamed into place only once stdout is written (a full disk
    there: ``<stdout>: cannot write: ...``, exit 1, and no file written)."""
    from ..io import write_files_atomic

    write_json(report, files) if settings["as_json"] else write_files_atomic(files)


def _show(report: dict, run: dict | None, warned: list, settings: dict) -> None:
    """The learning (and --per-file, the run's) summary, tables and warnings on stderr."""
    from . import render
    from .render_learning import render_learning

    console = None if settings["quiet"] else render.stderr_console()
    if console is not None:
        render_learning(report, console, settings["verbose"])
        if run is not None:
            render.render_summary(run, console, settings["verbose"])
        for message in [*report.get("warnings", []), *warned]:
            render.warning(console, message)
