"""The report of ``resdenoise learn``: its verdict first, one line of what was learned,
how deep it runs (the SURE stop), and with ``-v`` a table of the learned groups (beside
:mod:`.render`, whose helpers it uses)."""

from __future__ import annotations

from ..errors import counted
from .options import printable
from .render import _scope, _show, num


def render_learning(report: dict, console, verbose: bool = False) -> None:
    """The verdict of a training first, then one line of what was learned; with
    ``verbose`` a table of the groups."""
    st = report["stability"]
    stable = (
        "sign stable" + _scope(st)
        if st["sign_stable"]
        else "L-infinity stable"
        if st["linf_stable"]
        else "NOT stable"
    )
    where = printable(report["network"] or "learned network")
    fresh = report.get("sure_fresh_probes")  # SURE: by probes the training did not fit
    said = fresh or report
    ratio = said["loss_ratio"]
    drop = said["initial_loss"] - said["loss"]
    if ratio is not None:
        change = f" ({num(ratio)}x)"
    else:  # no ratio of a negative loss (SURE's can be): the change
        change = f" ({'down' if drop >= 0 else 'up'} by {num(abs(drop))})"
    if report.get("identity_loss") is not None:  # supervised: doing nothing's, beside
        change += f"; the noisy files themselves {num(report['identity_loss'])}"
    loss = f"{report['objective']} loss"
    if fresh:
        loss = f"SURE by {fresh['probes']} probes training did not fit"
        change += (
            f"; by its own probe, which it fitted, {num(report['initial_loss'])} -> "
            f"{num(report['loss'])}"
        )
    console.print(
        f"{where}: {stable} by construction (every g in [0, g_max], tau <= h^2/(4 g_max)); "
        f"{loss} {num(said['initial_loss'])} -> {num(said['loss'])}{change}",
        style="green" if st["linf_stable"] else "red",
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"  {counted(report['groups'], 'group')} x {counted(report['blocks_per_group'], 'block')}"
        f" of tau = {num(st['tau'])}, {counted(report['bumps'], 'bump')} each; "
        f"{counted(report['iterations'], 'iteration')} "
        f"({counted(report['evaluations'], 'evaluation')}) on "
        f"{counted(len(report['inputs']), 'file')} ({counted(report['samples'], 'value')}); "
        f"{report['optimiser_message']}",
        markup=False,
        soft_wrap=True,
    )
    stop = _stop_line(report)
    if stop:
        console.print(stop, markup=False, soft_wrap=True)
    if not verbose:
        return
    from rich.table import Table

    table = Table(title="learned groups", title_justify="left")
    for column in ("#", "scale", "lambda / auto", "tau x m", "g_max = g(0)", "Phi", "coefficients"):
        table.add_column(column, justify="left" if column == "coefficients" else "right")
    for i, (group, block) in enumerate(zip(report["learned_groups"], st["blocks"], strict=True)):
        shape = "monotone" if block["stability"]["monotone"] else "non-monotone"
        table.add_row(
            str(i + 1),
            str(group["scale"]),
            num(group["lambda_scale"]),
            f"{num(group['tau'])} x {group['repeat']}",
            num(group["g_max"]),
            shape,
            " ".join(f"{c:.3g}" for c in group["coefficients"]),
        )
    _show(console, table)


def _per_channel(value, said) -> str:
    """A training file's choice said: one number, or one per channel (``36/20``) where
    its channels were stopped apart (their noise levels apart, one passed through)."""
    if isinstance(value, list | tuple):
        return "/".join(said(v) for v in value)
    return said(value)


def _stop_line(report: dict) -> str:
    """How deep the learned network runs, and why (the SURE stop or its trained depth)."""
    if "stop_blocks_chosen" not in report:
        return ""
    chosen = ", ".join(_per_channel(k, str) for k in report["stop_blocks_chosen"])
    files = "the training files"
    if any(isinstance(k, list | tuple) for k in report["stop_blocks_chosen"]):
        files += " (a/b: one per channel, the channels stopped apart)"
    trained, stopped = report["loss_at_trained_depth"], report["loss_stopped_by_sure"]
    losses = f"{num(trained, 'n/a')} at the trained depth, {num(stopped)} stopped"
    if report["stop_measure"] == "sure":  # not the first line's SURE: another probe
        other = (  # where the training's loss is SURE too: why the two differ
            " (the training's loss above used another, hence another value)"
            if report["objective"] == "sure"
            else ""
        )
        losses = f"SURE by the stop's own Monte-Carlo probe{other}: {losses}"
    else:
        losses = f"{report['stop_measure']} loss {losses}"
    if report["stop"] == "sure":
        why = "--stop sure" if report["stop_asked"] == "sure" else "the smallest training loss"
        factors = report.get("stop_lambda_factors")
        with_factor = (
            f" and one of {len(factors)} lambda factors (chose "
            + ", ".join(_per_channel(a, num) for a in report["stop_lambda_factor_chosen"])
            + ")"
            if factors
            else ""
        )
        return (
            f'  depth per signal by SURE{with_factor} (stop = "sure", up to '
            f"{report['stop_max_blocks']} blocks; {why}): {chosen} blocks on {files}; "
            f"{losses}"
        )
    return (
        f"  every block runs: the SURE stop (chose {chosen} blocks on {files}) gave no "
        f"smaller loss; {losses}"
    )
