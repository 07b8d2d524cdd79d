"""Everything the command line draws with rich: a run's report as tables on
stderr and progress bars on a terminal (the dictionary and translation tables:
:mod:`resdenoise.cli.render_forms`, with this module's helpers).

Takes plain data (the report of :func:`resdenoise.filters.analyse_run`, the
dicts of :mod:`resdenoise.dictionary`) and knows
nothing about how the numbers were made.  rich is imported on first use, so
that ``resdenoise --help`` stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys

from ..errors import GuaranteeError, counted
from ..report import RENAMED, taus_said
from .options import pipe_closed, printable
from .table_fit import _show, _text, brief, num, plain, switched_on, yes

#: an in-memory run of fewer blocks gets no progress bar
BAR_MIN_BLOCKS = 50


@functools.cache
def _console_class():
    """rich's Console, but a closed pipe (``| head``) ends the run as an output's does
    (:func:`~resdenoise.cli.options.pipe_closed`), where rich's own exits 1."""
    from rich.console import Console

    class PipedConsole(Console):
        def __init__(self, *args, **kwargs):
            if kwargs.get("width") is None:
                kwargs["width"] = _usable_width()
            super().__init__(*args, **kwargs)

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise pipe_closed()

    return PipedConsole


#: A ``COLUMNS`` below this is no width to draw in (``COLUMNS=0``, "no limit" to some
#: wrappers, drew every line rich draws empty: the verdict, warnings, a batch's errors).
MIN_COLUMNS = 20


def _usable_width() -> int | None:
    """None (rich's own choice: ``COLUMNS``, else the terminal's, else 80), but where
    ``COLUMNS`` is digits below :data:`MIN_COLUMNS`: the terminal's width, else 80."""
    from .help_format import terminal_width

    columns = os.environ.get("COLUMNS", "")
    if not columns.isdigit() or int(columns) >= MIN_COLUMNS:
        return None
    return terminal_width()


def stderr_console():
    """The console of diagnostics, warnings and progress bars (no emoji codes: a file
    named ``:smile:.csv`` is shown as those characters)."""
    return _console_class()(stderr=True, highlight=False, emoji=False)


def stdout_console():
    """The console of the dictionary and translate tables (their output is the table)."""
    return _console_class()(highlight=False, soft_wrap=False, emoji=False)


class PlainStderr:
    """stderr where rich draws no style on it (a pipe, a file, a log): each line written
    as rich's console writes it there, the same bytes, without importing rich (about
    50 ms of CPU of a small run's 290; benchmarks/bench_e2e.py part 3)."""

    @staticmethod
    def line(text: str) -> None:
        stream = sys.stderr
        if stream is not None:  # (closed: the line goes nowhere, as rich's would)
            stream.write(text + "\n")
            stream.flush()


def _styled_stderr() -> bool:
    """Whether rich's console would draw styles on stderr (its ``Console.is_terminal``):
    ``TTY_COMPATIBLE=1`` or a non-empty ``FORCE_COLOR`` say yes, ``TTY_COMPATIBLE=0`` or
    an empty ``FORCE_COLOR`` no, else whether stderr is a terminal."""
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def summary_console(verbose: bool = False):
    """The console of a run's verdict, summary and warnings (:func:`render_summary`,
    :func:`warning`): rich's where it draws styles or (``verbose``) tables, else
    :class:`PlainStderr`."""
    return stderr_console() if verbose or _styled_stderr() else PlainStderr()


def _line(console, text: str, style: str | None = None) -> None:
    """One line of text (never markup, never an emoji code) on ``console``, in ``style``
    where it draws styles.  A tab is expanded to the next multiple of 8 columns before
    rich sees it (rich expanded it so; in its cells, where a wide character counts two),
    so that :class:`PlainStderr` writes what rich writes."""
    text = printable(text).expandtabs(8)
    if isinstance(console, PlainStderr):
        console.line(text)
    else:
        console.print(text, style=style, markup=False, emoji=False, soft_wrap=True)


def warning(console, message: str) -> None:
    """``warning: MESSAGE`` on ``console`` (the message is printed as it is, no markup)."""
    text = printable(message).expandtabs(8)
    if isinstance(console, PlainStderr):
        console.line("warning: " + text)
        return
    from rich.text import Text

    console.print(Text.assemble(("warning:", "yellow"), " " + text), soft_wrap=True)


_fmt = functools.partial(num, none="-")


def _stability_rows(table, s: dict, fmt, g_label: str, lipschitz_label: str) -> None:
    """The rows of the stability theorem's numbers (a run's report, a translation)."""
    exact = "" if s["exact"] else " (sampled)"
    table.add_row(g_label + exact, f"[{fmt(s['g_min'])}, {fmt(s['g_max'])}]")
    table.add_row(lipschitz_label, fmt(s["lipschitz"]))
    table.add_row("Phi odd / monotone", f"{fmt(s['odd'])} / {fmt(s['monotone'])}")
    # a bounded g whose bound is 0: h^2 underflowed (no float64 tau is stable), said here too
    under = " (underflows)" if 0.0 < float(s["g_max"]) < float("inf") else ""
    for name, key in (
        ("L-inf h^2/(2 g_max)", "tau_linf_bound"),
        ("sign h^2/(4 g_max)", "tau_sign_bound"),
    ):
        table.add_row(f"tau bound {name}", fmt(s[key]) + (under if s[key] == 0 else ""))


# --------------------------------------------------------------------------
# A run's report (resdenoise.filters.analyse_run)
# --------------------------------------------------------------------------


def _scope(st: dict) -> str:
    """`` per subsequence`` (or what else the sign guarantee is about) where it is not
    the whole signal's (:attr:`resdenoise.stability.StabilityVerdict.sign_scope`)."""
    scope = st.get("sign_stable_for", "whole signal")
    return "" if scope == "whole signal" else f" {scope}"


def _sampled(st: dict) -> str:
    """`` (g_max sampled, not proved)`` where the stability verdict rests on a g_max
    sampled from a formula (``exact`` false): a peak of g between the samples would
    escape it, so the verdict is no theorem's; nothing for the registry's closed forms."""
    return "" if st.get("exact", True) else " (g_max sampled, not proved)"


def _linf_scope(st: dict) -> str:
    """`` per level (on box averages)`` where each block's L-infinity stability does not
    bound the output's range (``max_min_guaranteed`` false: the report's ``linf_stable``,
    the whole output's, is false beside ``blocks_linf_stable``)."""
    return "" if st.get("max_min_guaranteed", True) else " per level (on box averages)"


def verdict_line(report: dict) -> str:
    """``INPUT -> OUTPUT: guarantees held`` (or failed, with the checks that failed), and
    the channels an automatic mode passed through unchanged (``passed_through``).  Held
    with a sampled g_max: ``guarantees held on the output (g_max sampled, not proved)``,
    the checks being of the output only, not of every block."""
    sampled = _sampled(report.get("stability", {}))
    if report.get("scales_measured") is False:  # in chunks: of the whole output only
        sampled += " (per subsequence not measured: in chunks)"
    kept = report.get("kept_input")  # --in-place under --strict: nothing replaced
    off = report.get("not_guaranteed") or []
    if kept:  # why, first: what failed --strict (failed checks, the range left)
        verdict = "; ".join(GuaranteeError.strict_failures(report))
        if report["failed_checks"]:
            verdict = "guarantees failed: " + verdict
        off = [m for m in off if m not in GuaranteeError.range_left(report)]
    elif report["guarantees_held"]:
        verdict = "guarantees held" + (" on the output" + sampled if sampled else "")
    else:
        verdict = "guarantees failed: " + "; ".join(report["failed_checks"])
    if off:  # measured, not a failed check: no guarantee of the plan, never "held"
        verdict += "; not guaranteed over scales: " + "; ".join(off)
    passed = report.get("passed_through")
    if passed:
        verdict += "; passed through unchanged: " + ", ".join(passed)
    if kept:
        return f"{report['input']} kept, not replaced: {verdict}"
    return f"{report['input']} -> {report['output']}: {verdict}"


def summary_line(report: dict) -> str:
    """What ran, in one line: nonlinearity, lambda, blocks, tau, stability, noise."""
    if report.get("channel_plans"):  # each channel its own plan: each in brief
        return "  " + _apart_line(report)
    st = report["stability"]
    params = report["parameters"]
    what = f"{report['name']} {report['form']}"
    if report["family"] == "network" and "network" in params:  # resnet --network FILE
        source, said = params["network"], report["name"].removeprefix("network ")
        named = f'"{brief(said)}", ' if said != source else ""
        what = f"network {source} ({named}{params.get('groups', '?')} groups)"
    elif report["name"] != report["family"]:
        what += f" ({report['family']})"
    parts = [what]
    if "automatic_choice" in params:  # resdenoise denoise, --diffusivity/--shrinkage auto
        parts = [f"chose {params['automatic_choice']}: {what}"]
    unused = report["family"] == "linear"  # g = 1, S = 0: lambda plays no part
    if "lambda" in params and unused:
        form_unused = "threshold not used (S = 0)" if params.get("threshold") is not None else ""
        parts.append(form_unused or "lambda not used (g = 1)")
    elif "lambda" in params:
        automatic = params.get("lambda_rule", "given") != "given"
        if params.get("threshold") is not None:  # shrink: the threshold given, its lambda
            auto = "auto; " if automatic else ""
            lam = f"({auto}lambda = {num(params['lambda'])})"
            parts.append(f"threshold = {num(params['threshold'])} {lam}")
        else:
            parts.append(f"lambda = {num(params['lambda'])}{' (auto)' if automatic else ''}")
    if "alpha" in params:
        parts.append(f"alpha = {num(params['alpha'])}")
    replaced = [
        c["impulses_replaced"] for c in report.get("channels") or () if "impulses_replaced" in c
    ]
    if replaced:  # the impulse pre-stage ran (resdenoise.filters.analyse_run)
        largest = max(c["impulse_max_change"] for c in report["channels"])
        parts.append(
            f"{counted(sum(replaced), 'impulse')} replaced (largest change {num(largest)})"
        )
    count = counted(report["steps"], "block")
    tau, groups = taus_said(report, num)
    blocks = f"{count} of tau = {tau}" + (f" in {groups} groups" if groups > 1 else "")
    if "stopping_rule" in params:
        blocks = f"{count} chosen by {params['stopping_rule']}, tau = {tau}"
    given_tau = params.get("tau_given")  # --time with --tau: the largest step, not the step
    largest = f"; --tau {num(given_tau)} is the largest step" if given_tau is not None else ""
    if params.get("linear_blocks"):  # denoise's shrinkage of a linear diffusion's residual
        parts.append(f"{counted(params['linear_blocks'], 'linear diffusion block')} (tau 1/4)")
        blocks = f"then on their residual {blocks}"
    parts.append(f"{blocks} (T = {num(report['stopping_time'])}{largest})")
    parts.append(
        (
            "sign stable" + _scope(st)
            if st["sign_stable"]
            else "L-infinity stable" + _linf_scope(st)
            if st.get("blocks_linf_stable", st["linf_stable"])
            else "not stable"
        )
        + _sampled(st)
    )
    noise, (given, name) = report.get("noise_sigma"), _used_sigma(report)
    if unused and "stopping_rule" not in params:  # the level served lambda only: unused
        noise = given = None
    coloured = "its finest scale's: coloured noise" if "noise_sigma_of" in params else ""
    if given:  # the level the run used; the estimate beside it
        estimate = f"; estimate {_nums(noise)}" if noise and _nums(noise) != _nums(given) else ""
        coloured = f"; {coloured}" if coloured else ""
        parts.append(f"noise sigma {_nums(given)} ({name}{estimate}{coloured})")
    elif noise:
        parts.append("noise sigma " + _nums(noise) + (f" ({coloured})" if coloured else ""))
    if "wavelet_check" in report:  # --check-wavelet: asked for, so said
        difference = num(report["wavelet_check"]["max_abs_difference"])
        parts.append(f"cycle-spun Haar transform: largest difference {difference}")
    rounding = report.get("output_rounding")
    if rounding:  # an integer PCM output: the channels' numbers are the run's before it
        parts.append(
            f"output measured before rounding to {rounding['subtype']} "
            f"(the file's mean moved at most {num(rounding['mean_change_at_most'])} more)"
        )
    scales = report.get("scales")
    if scales:  # the scales whose blocks ran, of those planned (the parameters' scales)
        strides = [s["stride"] for s in scales if s.get("shrinks", True) and s.get("blocks", 1)]
        groups = ""  # a network's entries are its groups: its scales are their strides
        if report["family"] == "network" and len(set(strides)) < len(strides):
            groups, strides = f" in {len(strides)} groups", list(dict.fromkeys(strides))
        stride = "stride" if len(strides) == 1 else "strides"
        planned = params.get("scales")
        count = counted(len(strides), "scale")
        if isinstance(planned, int) and planned != len(strides):
            count = f"{len(strides)} of {planned} scales"
        parts.append(f"{count} filtered ({stride} {', '.join(map(str, strides))}){groups}")
    return "  " + ", ".join(parts)


def _apart_line(report: dict) -> str:
    """:func:`summary_line` of a run whose channels had each their own plan: why, and
    each channel's choice in brief (its nonlinearity, lambda, blocks; -v: all of it)."""
    why = report["parameters"].get("channels_planned_apart", "")
    drop = ("sign stable", "L-inf") + (() if why.startswith("noise levels given") else ("noise",))
    briefs = []
    for entry in report["channel_plans"]:
        line = summary_line(entry).strip().split(", ")
        keep = [p for p in line if not p.startswith(drop)]  # a level given: each one's
        briefs.append(f"{entry['channels'][0]}: {', '.join(keep)}")
    return f"channels got their own parameters ({why.split(',')[0]}): " + "; ".join(briefs)


def _nums(values) -> str:
    return ", ".join(num(v) for v in values)


def _used_sigma(report: dict) -> tuple[list | None, str]:
    """The noise level the run used, and its estimator, where it is not the report's
    ``noise_sigma`` (the estimate of the input): the parameters' ``noise_sigma`` and
    ``noise_estimator``, whatever the estimator (``given`` for a level the caller gave, a
    search's low end of the estimate, a level extrapolated over difference orders, one not
    identified); else ``(None, "")`` (the report's ``noise_sigma`` is then the level the
    run used, or the estimate)."""
    params = report["parameters"]
    return params.get("noise_sigma"), params.get("noise_estimator", "")


def batch_count(results) -> str:
    """A batch's last line: the files, how many outputs were written (those written
    with a guarantee failed under ``--strict`` among them, said so) and how many failed
    without an output (:class:`resdenoise.batch_pool.FileResult`)."""
    written = sum(r.written for r in results)
    strict = sum(r.written and r.error is not None for r in results)
    line = f"{counted(len(results), 'file')}: {written} written"
    if strict:
        line += f" ({strict} of them failed --strict)"
    lost = len(results) - written
    kept = sum(getattr(r.error, "kept", False) for r in results)  # --in-place --strict
    said = f" ({kept} of them kept unchanged: failed --strict)" if kept else ""
    return line + (f", {lost} failed{said}" if lost else "")


def quality_line(report: dict) -> str | None:
    """With ``--reference``: ``  against REF: SNR 15.4 -> 27.2 dB`` (input -> output, a
    channel after another, named where there are several; ``inf`` where one equals the
    reference; ``(26.3 dB as written in VORBIS)`` after it where the file written is
    rounded or encoded: ``output_written``); None without.  MSE and PSNR are in -v's
    table and the report."""
    quality = report.get("quality")
    if not quality:
        return None
    from ..stability import channel_labels

    pairs = list(zip(quality["input"]["snr_db"], quality["output"]["snr_db"], strict=True))
    labels = report.get("channel_labels")
    if labels is None or len(labels) != len(pairs) or tuple(labels) == channel_labels(len(pairs)):
        labels = [f"ch {i}" for i in range(1, len(pairs) + 1)]

    def db(x) -> str:
        return "inf" if x is None else f"{x:.1f}"

    said = [f"{db(a)} -> {db(b)} dB" for a, b in pairs]
    written = quality.get("output_written")  # the file as written: rounded or encoded
    if written is not None and len(written["snr_db"]) == len(said):
        said = [
            f"{s} ({db(w)} dB as written in {written['subtype']})" if db(w) != db(b) else s
            for s, w, (_, b) in zip(said, written["snr_db"], pairs, strict=True)
        ]
    if len(said) > 1:
        said = [f"{label} {s}" for label, s in zip(labels, said, strict=True)]
    return f"  against {quality['reference']}: SNR {', '.join(said)}"


def render_summary(report: dict, console, verbose: bool = False) -> None:
    """The verdict line, one line of what ran, and with ``--reference`` the SNR
    (:func:`quality_line`); with ``verbose`` the tables too."""
    _line(console, verdict_line(report), "green" if report["guarantees_held"] else "red")
    _line(console, summary_line(report))
    quality = quality_line(report)
    if quality:
        _line(console, quality)
    if verbose:
        render_table(report, console)


def parameter_line(parameters: dict) -> str:
    """The report's scalar parameters as one line, ``name = value, ...``; a parameter
    left None is unknown (an expected gain SURE cannot tell), shown as ``-``."""
    return ", ".join(  # an old name kept beside its new one (RENAMED): once
        f"{_text(k)} = {_fmt(v)}"
        for k, v in parameters.items()
        if not isinstance(v, (list, dict)) and k not in RENAMED
    )


def _channel_heads(report: dict, count: int) -> list[str]:
    """The channel columns' heads of :func:`render_table`: ``ch 1``, ``ch 2``, ... counted
    from 1 as the messages count them, or the channels' labels where they are not
    those (the file's ``column 2 ('b')`` of a pick of columns: text, never markup)."""
    from ..stability import channel_labels

    labels = report.get("channel_labels")
    if labels is None or tuple(labels) == channel_labels(count):
        return [f"ch {i}" for i in range(1, count + 1)]
    return [_text(label) for label in labels]


def render_table(report: dict, console) -> None:
    """Print the report as two rich tables (run, channels) on ``console``; the
    verdict is :func:`verdict_line`'s, printed before them."""
    from rich.table import Table

    st = report["stability"]
    title = _text(f"resdenoise {report['command']} {report.get('input') or ''}".rstrip())
    run = Table(title=title, show_header=False, title_justify="left")
    run.add_column("quantity", style="bold")
    run.add_column("value")
    run.add_row(
        "nonlinearity",
        _text(f"{brief(report['name'])} ({report['family']}, {report['form']}, {report['class']})"),
    )
    run.add_row("parameters", parameter_line(report["parameters"]))
    noise, (given, name) = report.get("noise_sigma"), _used_sigma(report)
    if given is not None:
        run.add_row(_text(f"noise sigma ({name})"), _nums(given))
    if noise is not None:
        estimator = report.get("noise_estimator", "mad-haar")
        label = "noise sigma" if given is None else "noise sigma estimate"
        run.add_row(f"{label} ({estimator})", _nums(noise))
    run.add_row(
        "tau / h / steps", f"{taus_said(report, num)[0]} / {num(report['h'])} / {report['steps']}"
    )
    run.add_row("stopping time", num(report["stopping_time"]))
    eng = report.get("engine")
    if eng:
        where = f", {eng['instruction_set']}" if eng["instruction_set"] else ""
        run.add_row("engine", f"{eng['step_loop']} step loop{where}, {eng['dtype']}")
    _stability_rows(run, st, num, "g range", "Lipschitz of Phi")
    linf = st.get("blocks_linf_stable", st["linf_stable"])  # each block's, scoped
    run.add_row("L-infinity stable" + _linf_scope(st) + _sampled(st), yes(linf))
    run.add_row("sign stable" + _scope(st) + _sampled(st), yes(st["sign_stable"]))
    if "wavelet_check" in report:
        run.add_row("engine vs Haar transform", num(report["wavelet_check"]["max_abs_difference"]))
    if report.get("clipped"):
        run.add_row("samples clipped on output", f"[red]{report['clipped']}[/]")
    railed = (report.get("input_info") or {}).get("full_scale") or []
    if any(railed):  # an integer PCM input clipped before it got here
        heads = _channel_heads(report, len(railed))
        said = ", ".join(f"{head} {k}" for head, k in zip(heads, railed, strict=True))
        run.add_row("input samples at full scale", f"[yellow]{said}[/]")
    for label, why in report["parameters"].get("passed_through_reasons", {}).items():
        run.add_row("passed through unchanged", _text(f"{label}: {why}"))
    _show(console, run)
    for entry in report.get("channel_plans") or ():  # each channel its own plan
        console.print(_text(f"{entry['channels'][0]}'s plan:{summary_line(entry)[1:]}"))
        console.print(_text(f"  {parameter_line(entry['parameters'])}"))
    from .render_scales import render_blocks, render_scales

    if st.get("blocks"):  # a network file (resdenoise.network): one row per block group
        render_blocks(st["blocks"], console)
    if report.get("scales"):  # several scales (resdenoise.multilevel, .multiscale)
        heads = _channel_heads(report, len(report.get("channels") or [None]))
        passed = set(report.get("passed_through") or ())  # the scales measure the others
        labels = report.get("channel_labels") or heads
        shrunk = [h for h, label in zip(heads, labels, strict=False) if label not in passed]
        render_scales(report["scales"], console, shrunk)

    channels = report.get("channels") or []
    if channels:
        ch = Table(title="measured per channel", title_justify="left")
        ch.add_column("quantity", style="bold")
        for head in _channel_heads(report, len(channels)):
            ch.add_column(head, justify="right")
        rows = [
            ("input min / max", lambda c: f"{num(c['input_min'])} / {num(c['input_max'])}"),
            ("output min / max", lambda c: f"{num(c['output_min'])} / {num(c['output_max'])}"),
            ("max-min principle", lambda c: yes(c["max_min_principle"])),
            (
                "sign changes in -> out",
                lambda c: f"{c['sign_changes_in']} -> {c['sign_changes_out']}",
            ),
            ("total variation in -> out", lambda c: f"{num(c['tv_in'])} -> {num(c['tv_out'])}"),
            ("mean drift", lambda c: num(c["mean_drift"])),
        ]
        rounding = report.get("output_rounding")
        if rounding:  # the run's output before rounding; the file's side after it
            rows = _rounding_rows(rows, rounding, channels)
        if "impulses_replaced" in channels[0]:  # the pre-stage's changes; the blocks' drift
            rows[-1] = (
                rows[-1][0].replace("mean drift", "mean drift of the blocks", 1),
                rows[-1][1],
            )
            rows += [
                ("impulses replaced", lambda c: num(c["impulses_replaced"])),
                ("largest impulse change", lambda c: num(c["impulse_max_change"])),
                ("mean change by impulses", lambda c: num(c["impulse_mean_change"])),
            ]
        if "el_residual" in channels[0]:
            rows += [
                (
                    "energy E_h in -> out",
                    lambda c: f"{num(c['energy_in'])} -> {num(c['energy_out'])}",
                ),
                ("Euler-Lagrange residual", lambda c: num(c["el_residual"])),
            ]
        for label, cell in rows:
            ch.add_row(label, *(cell(c) for c in channels))
        quality = report.get("quality") or {}
        for label, key in (("MSE", "mse"), ("SNR dB", "snr_db"), ("PSNR dB", "psnr_db")):
            if quality:
                pairs = zip(quality["input"][key], quality["output"][key], strict=True)
                ch.add_row(f"{label} in -> out", *(f"{num(a)} -> {num(b)}" for a, b in pairs))
        _show(console, ch)
        for line in _rounding_notes(report):
            console.print(_text(line))
    # the verdict and the failed checks lead, in render_summary's first line


def _rounding_rows(rows: list, rounding: dict, channels: list) -> list:
    """-v's channel rows with an integer PCM output: the run's labelled ``before
    PCM_16``; the written samples' range, sign changes and total variation beside."""
    subtype = rounding["subtype"]
    rows = [
        (label + f" before {subtype}" if label in _OUTPUT_ROWS else label, c) for label, c in rows
    ]
    at = {id(c): i for i, c in enumerate(channels)}

    def written(key: str, show=num):
        return lambda c: show(rounding[key][at[id(c)]])

    rows.insert(2, (f"output min / max written ({subtype})", lambda c: "{} / {}".format(
        num(rounding["output_min"][at[id(c)]]), num(rounding["output_max"][at[id(c)]]))))  # fmt: skip
    if "output_tv" in rounding:  # before the mean drift, the last row
        rows[-1:-1] = [
            (f"sign changes written ({subtype})", written("output_sign_changes", str)),
            (f"total variation written ({subtype})", written("output_tv")),
        ]
    return rows


def _rounding_notes(report: dict) -> list[str]:
    """-v's lines for the channels whose written samples have more total variation than
    the input: rounding did it (said, not a failed guarantee: none covers them)."""
    rounding = report.get("output_rounding") or {}
    channels = report.get("channels") or []
    names = _channel_heads(report, len(channels))
    out = []
    for name, c, above, tv in zip(
        names, channels, rounding.get("tv_above_input", ()), rounding.get("output_tv", ()),
        strict=False,
    ):  # fmt: skip
        if above:
            out.append(
                f"{name}: rounding to {rounding['subtype']} raised the total variation to "
                f"{num(tv)}, above the input's {num(c['tv_in'])} (the run's, before rounding: "
                f"{num(c['tv_out'])}); rounding adds no sign change, but samples a fraction of "
                "a step apart may be written a whole step apart"
            )
    return out


#: The per-channel rows that measure the run's output (before an integer PCM rounding).
_OUTPUT_ROWS = (
    "output min / max",
    "sign changes in -> out",
    "total variation in -> out",
    "mean drift",
)


# --------------------------------------------------------------------------
# Progress bars
# --------------------------------------------------------------------------


class Bars:
    """Rich progress bars on stderr: files done (batch) and one bar per running file,
    each with its percentage, count, rate, elapsed time and ETA.

    Refreshed by hand (no refresh thread, so that batch workers can fork).
    ``console`` and ``get_time`` (a clock) are for tests.
    """

    PHASES = {
        "check": "checking",
        "check-bytes": "checking",
        "noise": "noise level",
        "filter": "filtering",
        "blocks": "blocks",
        "search": "automatic search",
        "choice": "choosing the filter",
        "choice at the low end": "choosing again at the noise level's low end",
        "warm start": "warm start, searching",
    }
    #: what a phase counts
    UNITS = {
        "check-bytes": "bytes",
        "blocks": "blocks",
        "search": "blocks",
        "choice": "candidates",
        "choice at the low end": "candidates",
        "warm start": "searches",
    }

    def __init__(self, files: int | None = None, console=None, get_time=None):
        import time

        self._clock = get_time or time.monotonic
        self._at: float | None = None  # a worker's time of the update being taken
        from rich.progress import MofNCompleteColumn, Progress

        from .progress_columns import progress_columns

        console = console or stderr_console()
        self.progress = Progress(
            *progress_columns("{task.description}", MofNCompleteColumn(), console.width),
            console=console,
            transient=True,
            auto_refresh=False,
            get_time=self._now,
        )
        self.files = self.progress.add_task("files", total=files, unit="files") if files else None
        self.tasks: dict = {}
        self._told: dict = {}  # per bar: the last update taken
        self._last = 0.0

    def _now(self) -> float:
        """The bars' clock: the time an update happened (a worker's, relayed in a burst),
        else now."""
        return self._clock() if self._at is None else self._at

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    @property
    def console(self):
        """The console the bars are drawn on (a table printed above them)."""
        return self.progress.console

    def print(self, text: str) -> None:
        self.progress.console.print(printable(text), highlight=False, markup=False, soft_wrap=True)

    @staticmethod
    def bar_of(phase: str) -> str:
        """The bar a phase moves: ``"choice: shrink garrote"`` the family choice's (one
        bar over the candidates, each named while searched), any other phase its own."""
        base, colon, _ = phase.partition(": ")
        return base if colon else phase

    @classmethod
    def describe(cls, phase: str) -> tuple[str, str]:
        """What a phase is called on its bar (and its plain line), and what it counts."""
        base, colon, searched = phase.partition(": ")  # the family choice's candidate
        if colon:
            return f"{cls.PHASES.get(base, base)}: {searched}", cls.UNITS.get(base, "samples")
        base, _, candidate = phase.partition(" ")  # "search 2/13": lambda candidate 2 of 13
        words = cls.PHASES.get(base, base)
        if candidate:
            words += f", lambda {candidate}"
        return words, cls.UNITS.get(base, "samples")

    def update(self, key, label: str, phase: str, done: int, total, at=None) -> None:
        """Bar ``key`` at ``done`` of ``total``; ``at``: when that was (a batch worker's
        :func:`time.monotonic`, told later in a burst), so that its rate and ETA are
        the worker's, not the burst's."""
        told = (label, phase, done, total)
        if self._told.get(key) != told:  # the same again (an outer bar's tick): a redraw only
            self._told[key] = told
            self._at = at
            try:
                self._update(key, label, phase, done, total)
            finally:
                self._at = None
        self.refresh()

    def _update(self, key, label: str, phase: str, done: int, total) -> None:
        words, unit = self.describe(phase)
        description = printable(f"{label} {words}")
        bar = self.bar_of(phase)
        if key not in self.tasks:
            task = self.progress.add_task(description, total=total, unit=unit)
            self.tasks[key] = (task, bar)
        task, shown = self.tasks[key]
        if bar != shown:  # a new phase: a fresh bar and clock
            self.progress.reset(task, total=total, description=description, unit=unit)
            self.tasks[key] = (task, bar)
        self.progress.update(task, description=description, completed=done, total=total)

    def file_done(self, key) -> None:
        self._told.pop(key, None)
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


def in_ci() -> bool:
    """Whether the environment says it is a CI job (``CI`` set, not empty, ``0``,
    ``false`` or ``no``: GitHub Actions, GitLab, Buildkite, Jenkins set-ups), whose log keeps
    every redraw of a bar even where the job runs on a pseudo-terminal."""
    return switched_on(os.environ.get("CI"))


def show_progress(quiet: bool) -> bool:
    """Whether to draw progress bars: not quiet, not in CI (:func:`in_ci`), and stderr
    is a terminal that can move its cursor (not ``TERM=dumb`` or ``unknown``, where
    rich draws no bar but its stop left a blank line before the verdict)."""
    if quiet or in_ci() or not sys.stderr.isatty():
        return False
    return not stderr_console().is_dumb_terminal and not plain()


def progress_mode(quiet: bool) -> str | None:
    """How progress is shown: ``"bars"`` (:func:`show_progress`), ``"lines"``
    (:mod:`.progress_lines`) where stderr is a terminal that cannot move its cursor
    (``TERM=dumb`` or ``unknown``), else None (quiet, in CI, off a terminal)."""
    if show_progress(quiet):
        return "bars"
    if quiet or in_ci() or not sys.stderr.isatty():
        return None
    return "lines" if stderr_console().is_dumb_terminal or plain() else None


def progress_display(quiet: bool, files: int | None = None):
    """:class:`Bars` (with a bar of ``files``), :class:`~.progress_lines.PlainLines` (of
    ``files``: one line for the batch) or None, as :func:`progress_mode` says."""
    mode = progress_mode(quiet)
    if mode == "lines":
        from .progress_lines import PlainLines

        return PlainLines(Bars.describe, Bars.bar_of, files=files)  # a batch: one line
    return Bars(files) if mode == "bars" else None


@contextlib.contextmanager
def progress_sink(quiet: bool, label: str):
    """``progress(phase, done, total)`` for one file: a bar on a terminal (a line now and
    then on one that cannot draw bars), else None.

    The bar starts with the first update worth showing (an in-memory run of
    fewer than BAR_MIN_BLOCKS blocks shows none) and is gone afterwards.
    """
    if progress_mode(quiet) is None:
        yield None
        return
    bars = None

    def sink(phase: str, done: int, total) -> None:
        nonlocal bars
        if phase == "blocks" and total is not None and total < BAR_MIN_BLOCKS:
            return
        if bars is None:
            bars = progress_display(False).__enter__()
        bars.update(0, label, phase, done, total)

    try:
        yield sink
    finally:
        if bars is not None:
            bars.__exit__(None, None, None)


# --------------------------------------------------------------------------
# resdenoise learn
# --------------------------------------------------------------------------


@contextlib.contextmanager
def loss_progress(quiet: bool, iterations: int):
    """``progress(iteration, loss)`` of a training: a bar with the loss on a
    terminal (a line now and then on one that cannot draw bars), else None (pipes, CI,
    -q)."""
    mode = progress_mode(quiet)
    if mode is None or iterations < 1:
        yield None
        return
    if mode == "lines":
        yield progress_display(quiet).loss_sink(iterations, num)
        return
    from rich.progress import Progress, TextColumn

    from .progress_columns import progress_columns

    console = stderr_console()
    loss = TextColumn("{task.completed}/{task.total} iterations, loss {task.fields[loss]}")
    columns = progress_columns("learning", loss, console.width)  # as every other bar
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("learn", total=iterations, loss="...", unit="iterations")

        def sink(iteration: int, loss: float) -> None:
            bar.update(task, completed=iteration, loss=num(loss))

        yield sink
