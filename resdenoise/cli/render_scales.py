"""-v's tables of a run's scales (multilevel shrinkage, diffusion at several scales) and
of a network's block groups, each checked on its own (beside :mod:`.render`, whose
helpers they use and whose ``render_table`` prints them).
"""

from __future__ import annotations

from .table_fit import _show, _text, brief, num, yes


def render_scales(scales: list, console, channels: list) -> None:
    """One row per scale: its threshold, noise, verdict and what was measured (lambda
    and the rest in the JSON report), a channel a line named by ``channels`` (the
    channels shrunk, not those passed through)."""
    from rich.table import Table

    levels = "level" in scales[0]
    table = Table(title="scales, each checked on its own", title_justify="left")
    heads = ["level / stride" if levels else "stride", "threshold" if levels else "lambda"]
    heads += ["noise", "stable"]
    heads += ["mean drift", "deviation in -> out", "max-min"] if levels else ["blocks", "held"]
    for name in heads:
        table.add_column(name, justify="right")
    unsure = False  # a level's max-min off where it is not guaranteed
    for s in scales:
        stab = s.get("stability")
        stable = (
            "-"
            if stab is None
            else "[green]sign[/]"
            if stab["sign_stable"]
            else ("[yellow]L-inf[/]" if stab["linf_stable"] else yes(False))
        )
        row = [
            f"{s['level']} / {s['stride']}" if levels else str(s["stride"]),
            num(s.get("threshold" if levels else "lambda"), "none"),
            num(s.get("noise_sigma"), "-"),
            stable,
        ]
        if levels:
            m = s.get("measured")
            if m is None:  # a level left unshrunk
                row += ["-", "-", "-"]
            else:
                pairs = zip(m["deviation_in"], m["deviation_out"], strict=True)
                dev = [f"{num(a)} -> {num(b)}" for a, b in pairs]
                if len(dev) > 1 and len(dev) == len(channels):
                    dev = [f"{c}: {d}" for c, d in zip(channels, dev, strict=True)]
                dev = "\n".join(dev)
                over = "yes" if m["max_min_principle"] else f"off by {num(m['overshoot'])}"
                if not m["max_min_principle"] and not (stab or {}).get("max_min_guaranteed", 1):
                    over, unsure = f"not guaranteed, {over}", True
                row += [num(m["mean_drift"]), dev, over]
        else:
            held = s.get("per_subsequence", {})
            row += [str(s.get("blocks", "-")), yes(all(held.values()))]
        table.add_row(*row)
    _show(console, table)
    if unsure:
        console.print(
            "max-min: a level >= 2 averages with negative weights, so its output may leave "
            "the input's range: measured there, not guaranteed, not a failed check"
        )


def render_blocks(blocks: list, console) -> None:
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
            else yes(False)
            if not s["linf_stable"]
            else "[yellow]L-inf[/]"
        )
        table.add_row(
            str(b["index"]),
            _text(brief(b["label"]) + ("" if b["form"] == "activation" else f" ({b['form']})")),
            num(b["lambda"]),
            f"{num(b['tau'])} x {b['repeat']}"
            + (f", stride {b['scale']}" if b.get("scale", 1) > 1 else ""),
            f"[{num(s['g_min'])}, {num(s['g_max'])}]",
            f"{num(s['tau_linf_bound'])} / {num(s['tau_sign_bound'])}",
            verdict,
        )
    _show(console, table)
    for b in blocks:
        if b["stability"]["reason"]:
            console.print(f"  [red]-[/] block {b['index']}: {_text(b['stability']['reason'])}")
