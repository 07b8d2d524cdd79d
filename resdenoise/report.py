"""Rendering a run's report: a rich table on stderr, or JSON.

Takes the dictionary built by :func:`resdenoise.filters.analyse_run` (or the
pre-run part of it) and knows nothing about how the numbers were made.
"""

from __future__ import annotations

import json
import math

import numpy as np

from . import stability
from .engine import backend_for, compiled_instruction_set

__all__ = [
    "block_entry",
    "build_report",
    "engine_entry",
    "finish_report",
    "render_table",
    "to_json",
]


def _num(x) -> str:
    if x is None:
        return "inf"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return f"{x:.6g}"
    return str(x)


def _yes(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def render_table(report: dict, console) -> None:
    """Print the report as two rich tables (run, channels) on ``console``."""
    from rich.table import Table

    st = report["stability"]
    run = Table(title=f"resdenoise {report['command']}", show_header=False, title_justify="left")
    run.add_column("quantity", style="bold")
    run.add_column("value")
    run.add_row(
        "nonlinearity",
        f"{report['name']} ({report['family']}, {report['form']}, {report['class']})",
    )
    params = ", ".join(
        f"{k} = {_num(v)}"
        for k, v in report["parameters"].items()
        if not isinstance(v, (list, dict))
    )
    run.add_row("parameters", params)
    noise = report.get("noise_sigma", report["parameters"].get("noise_sigma"))
    if noise is not None:
        run.add_row("noise sigma (MAD)", ", ".join(_num(s) for s in noise))
    run.add_row(
        "tau / h / steps", f"{_num(report['tau'])} / {_num(report['h'])} / {report['steps']}"
    )
    run.add_row("stopping time", _num(report["stopping_time"]))
    eng = report.get("engine")
    if eng:
        where = f", {eng['instruction_set']}" if eng["instruction_set"] else ""
        run.add_row("engine", f"{eng['step_loop']} step loop{where}, {eng['dtype']}")
    exact = "" if st["exact"] else " (sampled)"
    run.add_row("g range" + exact, f"[{_num(st['g_min'])}, {_num(st['g_max'])}]")
    run.add_row("Lipschitz of Phi", _num(st["lipschitz"]))
    run.add_row("Phi odd / monotone", f"{_num(st['odd'])} / {_num(st['monotone'])}")
    run.add_row("tau bound L-inf h^2/(2 g_max)", _num(st["tau_linf_bound"]))
    run.add_row("tau bound sign h^2/(4 g_max)", _num(st["tau_sign_bound"]))
    run.add_row("L-infinity stable", _yes(st["linf_stable"]))
    run.add_row("sign stable", _yes(st["sign_stable"]))
    if "wavelet_check" in report:
        run.add_row("engine vs Haar transform", _num(report["wavelet_check"]["max_abs_difference"]))
    if report.get("clipped"):
        run.add_row("samples clipped on output", f"[red]{report['clipped']}[/]")
    console.print(run)
    if st.get("blocks"):  # a network file (resdenoise.network): one row per block group
        _render_blocks(st["blocks"], console)

    channels = report.get("channels") or []
    if channels:
        ch = Table(title="measured per channel", title_justify="left")
        ch.add_column("quantity", style="bold")
        for i in range(len(channels)):
            ch.add_column(f"ch {i}", justify="right")
        rows = [
            ("input min / max", lambda c: f"{_num(c['input_min'])} / {_num(c['input_max'])}"),
            ("output min / max", lambda c: f"{_num(c['output_min'])} / {_num(c['output_max'])}"),
            ("max-min principle", lambda c: _yes(c["max_min_principle"])),
            (
                "sign changes in -> out",
                lambda c: f"{c['sign_changes_in']} -> {c['sign_changes_out']}",
            ),
            ("total variation in -> out", lambda c: f"{_num(c['tv_in'])} -> {_num(c['tv_out'])}"),
            ("mean drift", lambda c: _num(c["mean_drift"])),
        ]
        if "noise_sigma" in channels[0]:
            rows.append(("noise sigma (MAD)", lambda c: _num(c["noise_sigma"])))
        if "el_residual" in channels[0]:
            rows += [
                (
                    "energy E_h in -> out",
                    lambda c: f"{_num(c['energy_in'])} -> {_num(c['energy_out'])}",
                ),
                ("Euler-Lagrange residual", lambda c: _num(c["el_residual"])),
            ]
        for label, cell in rows:
            ch.add_row(label, *(cell(c) for c in channels))
        quality = report.get("quality") or {}
        for label, key in (("MSE", "mse"), ("SNR dB", "snr_db"), ("PSNR dB", "psnr_db")):
            if quality:
                pairs = zip(quality["input"][key], quality["output"][key], strict=True)
                ch.add_row(f"{label} in -> out", *(f"{_num(a)} -> {_num(b)}" for a, b in pairs))
        console.print(ch)
    verdict = (
        "[green]all guarantees held[/]"
        if report.get("guarantees_held")
        else "[red]guarantees failed[/]"
    )
    console.print(verdict)
    for line in report.get("failed_checks", []):
        console.print(f"  [red]-[/] {line}", highlight=False)


def _render_blocks(blocks: list, console) -> None:
    """The block groups of a network, each with its own bounds and verdict."""
    from rich.table import Table

    table = Table(title="network blocks (stable when every group is)", title_justify="left")
    for name in ("#", "activation", "lambda", "tau x m", "g range", "tau bounds", "stable"):
        table.add_column(name, justify="left" if name == "activation" else "right")
    for b in blocks:
        s = b["stability"]
        verdict = (
            "[green]sign[/]"
            if s["sign_stable"]
            else _yes(False)
            if not s["linf_stable"]
            else "[yellow]L-inf[/]"
        )
        table.add_row(
            str(b["index"]),
            b["label"] if b["form"] == "activation" else f"{b['label']} ({b['form']})",
            _num(b["lambda"]),
            f"{_num(b['tau'])} x {b['repeat']}",
            f"[{_num(s['g_min'])}, {_num(s['g_max'])}]",
            f"{_num(s['tau_linf_bound'])} / {_num(s['tau_sign_bound'])}",
            verdict,
        )
    console.print(table)
    for b in blocks:
        if b["stability"]["reason"]:
            console.print(f"  [red]-[/] block {b['index']}: {b['stability']['reason']}")


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def to_json(report: dict) -> str:
    """The report as JSON text; infinite numbers become ``null``."""
    return json.dumps(_clean(report), indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------
# The report as data: built here, and only here
# --------------------------------------------------------------------------


def build_report(plan, verdict, checks, tol: dict, sigma, dtype=np.float64) -> dict:
    """The report dictionary of a run of ``plan`` (a :class:`resdenoise.filters.Plan`).

    Built from the measurements of :func:`resdenoise.filters.analyse_run`
    (whole signal) or :class:`resdenoise.stream.StreamMeasure` (chunks):
    ``checks`` and ``tol`` as :func:`stability.measure_channels` returns
    them, ``sigma`` the input's noise estimate per channel (also used by
    :mod:`resdenoise.stream`, which measures chunk by chunk), ``dtype`` the
    working precision.
    """
    failed = stability.guarantees_failed(checks, verdict)
    if not verdict.linf_stable:
        failed.insert(0, f"run was not L-infinity stable: {verdict.reason}")
    entry = plan.nl.entry
    report = {
        "command": plan.command,
        "family": plan.nl.key,
        "form": plan.form,
        "name": plan.nl.name,
        "class": entry.klass if entry else ("convex" if verdict.monotone else "nonconvex"),
        "parameters": dict(plan.parameters),
        "tau": plan.tau,
        "h": plan.h,
        "steps": plan.steps,
        "stopping_time": plan.stopping_time,
        "stability": verdict.as_dict(),
        "tolerance": tol,
        "noise_sigma": [float(s) for s in sigma],
        "channels": [
            {**c.as_dict(), "noise_sigma": float(s)} for c, s in zip(checks, sigma, strict=True)
        ],
        "failed_checks": failed,
        "guarantees_held": not failed,
        "engine": engine_entry(plan, dtype),
    }
    return report


def engine_entry(plan, dtype=np.float64) -> dict:
    """How the blocks ran: ``dtype``, ``step_loop`` and ``instruction_set``.

    ``step_loop`` is 'compiled' or 'numpy' (see :func:`resdenoise.engine.backend_for`;
    'compiled and numpy' for a network whose groups differ), ``instruction_set``
    that of the compiled loop (null when it ran in NumPy only).
    """
    loops = sorted({backend_for(nl) for nl in plan.nonlinearities()})
    return {
        "dtype": np.dtype(dtype).name,
        "step_loop": " and ".join(loops),
        "instruction_set": compiled_instruction_set() if "compiled" in loops else None,
    }


def block_entry(spec, nl, tau: float, verdict) -> dict:
    """One block group of a network as the report's ``stability.blocks`` lists it."""
    return {
        "index": spec.index,
        "label": spec.label or spec.text,
        "family": nl.key,
        "form": spec.form,
        "name": nl.name,
        "lambda": nl.lam,
        "tau": tau,
        "repeat": spec.repeat,
        "stopping_time": tau * spec.repeat,
        "stability": verdict.as_dict(),
    }


def finish_report(
    report: dict,
    *,
    extra: dict,
    source: str,
    output: str,
    carried: list,
    clipped: int,
    quality: dict | None = None,
    streaming: dict | None = None,
) -> dict:
    """Complete a run's report with what the files and the data decided, in place.

    ``extra`` goes into ``parameters`` (what the data chose: noise estimate,
    automatic lambda, stopping rule); ``source``/``output`` name the files
    (``"-"`` is written ``<stdout>``); ``carried`` lists the columns written
    back unfiltered; ``clipped`` counts the samples clipped on output (a
    failed guarantee when any); ``quality`` compares with a reference;
    ``streaming`` describes a run in chunks.
    """
    report["parameters"].update(extra)
    if quality is not None:
        report["quality"] = quality
    report["input"] = source
    report["output"] = "<stdout>" if output == "-" else output
    if carried:  # time column and unpicked columns: written back unfiltered
        report["carried_columns"] = carried
    report["clipped"] = clipped
    if clipped:
        report["failed_checks"].append(f"{clipped} samples clipped on output")
        report["guarantees_held"] = False
    if streaming is not None:
        report["streaming"] = streaming
    return report
