"""``resdenoise learn``: a provably stable network learned from files (:mod:`resdenoise.learn`).

Reads the training files with :func:`resdenoise.io.read_signal`, learns,
re-checks the network it wrote by parsing its text as ``resnet --network``
does, and writes the network file atomically.  ``--per-file`` learns on one
input alone and filters it through the same pipeline as ``resnet --network``.
"""

from __future__ import annotations

import os

import click

from ..errors import ParameterError, ResdenoiseError, SignalError
from .options import (
    CONTEXT_SETTINGS,
    COUNT,
    CliError,
    error_message,
    library_errors,
)

__all__ = ["learn"]


@click.command(context_settings=CONTEXT_SETTINGS)
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
@click.option("--blocks", type=COUNT, default=8, show_default=True, help="Blocks per group.")
@click.option(
    "--scales",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Groups at K scales, coarse to fine: differences of stride 2^(K-1), ..., 2, 1 "
    "(the network file's scale); at most --groups.",
)
@click.option(
    "--bumps",
    type=click.IntRange(2, 32),
    default=8,
    show_default=True,
    help="Coefficients of each group's activation.",
)
@click.option(
    "--iterations",
    type=click.IntRange(0, 100_000),
    default=50,
    show_default=True,
    help="L-BFGS-B iterations at most.",
)
@click.option(
    "--start",
    type=click.Choice(["random", "fixed"]),
    default="random",
    show_default=True,
    help="random: seeded shapes; fixed: the best fixed family in automatic mode on the "
    "training files, its g fitted by the bumps and its block count spread over the groups "
    "(--blocks is then the most per group), so training starts at that family's quality.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the start (and the SURE probe)."
)
@click.option(
    "--fixed-lambda",
    is_flag=True,
    help="Use the automatic lambda of the signal in every group (else a learned multiple of it).",
)
@click.option(
    "--sigma",
    type=click.FloatRange(min=0.0, min_open=True),
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
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Also the learned groups, one row each.")
@click.option("--json", "as_json", is_flag=True, help="The learning report on stdout (JSON).")
def learn(noisy_paths, clean_paths, output, **settings):
    """Learn a provably stable network of diffusion blocks from data.

    Each block group gets its own activation Phi(r) = r g(r) with
    g(r) = sum_k c_k b_k(|r|/lambda), c_k >= 0 and sum c <= g_max by
    construction, so every network met during training is sign stable at
    tau = h^2/(4 g_max). Gradients are exact (backward through the blocks);
    the optimiser is SciPy's L-BFGS-B: pip install 'resdenoise[learn]'.

    \b
    Example:
        resdenoise learn noisy.csv --clean clean.csv -o net.toml
        resdenoise resnet other_noisy.csv --network net.toml -o denoised.csv
        resdenoise learn noisy.wav --objective noise2self -o net.toml
        resdenoise learn noisy.csv --clean clean.csv --start fixed --blocks 64 -o net.toml
        resdenoise learn --per-file noisy.wav -o denoised.wav --network-out net.toml
    """
    if settings["quiet"] and settings["verbose"]:
        raise click.UsageError("give -q (errors only) or -v (the table), not both")
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
    with library_errors():
        noisy, clean = _pairs(noisy_paths, clean_paths)
        _check_outputs(output, settings, noisy + clean)
        _learn(noisy, clean, output, settings)


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
        if path == "-":
            raise ParameterError("learn reads files, not stdin: give NOISY file names")
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
            f"{len(noisy)} noisy files and {len(clean_paths)} --clean files: give one clean "
            "file per noisy file, in the same order (or one directory of same-named files)"
        )
    return noisy, list(clean_paths)


def _check_outputs(output: str, settings: dict, inputs: list[str]) -> None:
    """Outputs writable, and none of them a file the run reads."""
    from ..io import check_output_path
    from ..pipeline import check_paths

    network = settings["network_out"] if settings["per_file"] else output
    if settings["as_json"] and settings["per_file"] and output == "-":
        raise ParameterError("--json puts the report on stdout; give the signal -o FILE")
    reads = {path: "input" for path in inputs}
    if network is not None:
        if network == "-":
            raise ParameterError("give the network file a name (-o NET.toml), not stdout")
        check_output_path(network, signal=False)
        check_paths("-", network, reads=reads)
    if settings["per_file"]:
        check_output_path(output)
        check_paths("-", output, reads=reads)
        if network is not None and os.path.abspath(network) == os.path.abspath(output):
            raise ParameterError("-o and --network-out name the same file")


def _read(paths: list[str]) -> list:
    from ..io import read_signal

    return [read_signal(path).data for path in paths]


# --------------------------------------------------------------------------
# Learning, checking, writing
# --------------------------------------------------------------------------


def _learn(noisy_paths, clean_paths, output, settings) -> None:
    import sys

    from .. import learn as lib
    from ..io import write_bytes_atomic
    from ..network import build_network, format_network, parse_network
    from ..report import to_json
    from . import render

    noisy = _read(noisy_paths)
    clean = _read(clean_paths) if clean_paths else None
    for i, (f, c) in enumerate(zip(noisy, clean or noisy, strict=True)):
        if c.shape != f.shape:
            raise SignalError(
                f"{clean_paths[i]}: shape {c.shape} differs from that of its noisy file "
                f"{noisy_paths[i]}, {f.shape}"
            )
    arch = lib.Architecture(
        groups=settings["groups"],
        blocks=settings["blocks"],
        bumps=settings["bumps"],
        learn_lambda=not settings["fixed_lambda"],
        scales=settings["scales"],
    )
    sigma = None if settings["sigma"] is None else [settings["sigma"]] * len(noisy)
    objective = lib.make_objective(noisy, clean, settings["objective"], sigma, settings["seed"])
    warm = None
    if settings["start"] == "fixed":
        warm = lib.warm_start(
            noisy, arch, max_blocks=arch.groups * arch.blocks, objective=objective
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
    network = settings["network_out"] if settings["per_file"] else output
    blocks = [g.as_block(i + 1) for i, g in enumerate(result.groups)]
    comment = (
        f"learned by resdenoise learn ({result.objective}, {len(noisy)} file"
        f"{'' if len(noisy) == 1 else 's'}, seed {settings['seed']}): loss "
        f"{result.initial_loss:.6g} -> {result.loss:.6g}"
    )
    text = format_network(blocks, h=arch.h, description="learned network", comment=comment)
    source = network or "<learned network>"
    spec = parse_network(text, source)  # re-read and re-checked as resnet --network does
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
        "stability": verdict.as_dict(),
    }
    warned: list = []  # --per-file: the output first; a failed run leaves no network file
    run = _filter(spec, noisy_paths[0], output, warned.append) if settings["per_file"] else None
    if network is not None:
        write_bytes_atomic(network, text.encode("utf-8"))
    if run is not None:
        report["run"] = run
    console = None if settings["quiet"] else render.stderr_console()
    if console is not None:
        render.render_learning(report, console, settings["verbose"])
        if run is not None:
            render.render_summary(run, console, settings["verbose"])
        for message in warned:
            render.warning(console, message)
    if settings["as_json"]:
        sys.stdout.write(to_json(report))


def _filter(spec, input_path: str, output: str, on_warning) -> dict:
    """--per-file: run the learned network on the input, as ``resnet --network`` does."""
    from ..pipeline import run_file
    from ..plans import network_planner

    try:
        return run_file(network_planner(spec), input_path, output, on_warning=on_warning)
    except ResdenoiseError as exc:
        raise CliError(error_message(exc), exc.exit_code) from None
