"""Left-overs of session 40: a multichannel signal's search level estimated once (item 1); one
rule for the least stable channel (item 2); a Python diffusivity sampled once (item 3);
searched scales of a clean input search nothing (item 4); a batch's one progress line on a terminal
that cannot draw bars (item 5)."""

from __future__ import annotations

import numpy as np
import pytest

import resdenoise.noise as noise
import resdenoise.split as split
from resdenoise.plans import automatic_planner, planner


def _stereo(n=400, seed=3):
    """Two channels of one noise level (planned together)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / n
    clean = np.stack([np.sign(np.sin(2 * np.pi * 3 * t)), np.sin(2 * np.pi * 2 * t)], axis=1)
    return clean + 0.1 * rng.standard_normal((n, 2))


# --- item 1: the level split.levels_apart compares is the one the search takes -----------

_PLANNERS = {
    "denoise": lambda: automatic_planner(),
    "diffuse --time auto": lambda: planner("diffuse", "perona-malik", time="auto"),
    "shrink --scales auto": lambda: planner("shrink", "soft", scales="auto"),
}


@pytest.mark.parametrize("name", list(_PLANNERS))
def test_a_multichannel_search_estimates_its_level_once(name, monkeypatch):
    u = _stereo()
    levels = []
    real = noise.search_noise

    def recorded(x, *args, **kwargs):
        level = real(x, *args, **kwargs)
        if np.shape(x) == u.shape:  # the whole signal's (not a channel's of it)
            levels.append(level)
        return level

    monkeypatch.setattr(noise, "search_noise", recorded)
    _PLANNERS[name]()(u)
    assert len(levels) == 1, name  # old: 2 (levels_apart's, then the search's own)


@pytest.mark.parametrize("name", list(_PLANNERS))
def test_the_level_passed_on_changes_nothing(name, monkeypatch):
    u = _stereo()
    plan, extra = _PLANNERS[name]()(u)
    apart = split.levels_apart

    def estimated_again(*args):  # the search estimates its level itself, as before
        return (*apart(*args)[:3], None)

    monkeypatch.setattr(split, "levels_apart", estimated_again)
    again, extra_again = _PLANNERS[name]()(u)
    assert np.array_equal(plan.run(u), again.run(u))
    assert repr(extra) == repr(extra_again)


# --- item 2: one rule for the least stable channel, the plan's verdict and its report ----


def _split(taus=(0.2, 0.6, 0.4, 0.3)):
    """Perona-Malik (g_max 1: sign stable up to tau 0.25, L-infinity up to 0.5) per
    channel at ``taus``, and a signal of as many channels."""
    from resdenoise.passing import split_plan

    u = _stereo(200)[:, :1] * np.ones(len(taus))
    make = [planner("diffuse", "perona-malik", lam=1.0, steps=2, tau=t) for t in taus]
    parts = [m(np.ascontiguousarray(u[:, c]))[0] for c, m in enumerate(make)]
    return split_plan(parts), u


def _verdict_and_report(plan, u):
    from resdenoise.filters import analyse_run

    return plan.verdict(), analyse_run(plan, u, plan.run(u))["stability"]


def test_the_least_stable_channel_sets_verdict_and_report():
    from resdenoise.stability import least_stable

    verdict, said = _verdict_and_report(*_split())
    assert verdict.tau == said["tau"] == 0.6 and not said["linf_stable"]
    verdict, said = _verdict_and_report(*_split((0.2, 0.3, 0.4)))  # none L-infinity unstable
    assert verdict.tau == said["tau"] == 0.3 and said["linf_stable"] and not said["sign_stable"]
    verdict, said = _verdict_and_report(*_split((0.2, 0.1)))  # all stable: the first's
    assert verdict.tau == said["tau"] == 0.2
    flags = [{"linf_stable": a, "sign_stable": b} for a, b in [(1, 1), (1, 0), (0, 1), (0, 0)]]
    assert least_stable(flags) == 2 and least_stable(flags[:2]) == 1


def test_verdict_and_report_read_the_one_rule(monkeypatch):
    import resdenoise.stability as stability

    # old: two copies of the rule (passing.SplitPlan.verdict, report.channels_report)
    monkeypatch.setattr(stability, "least_stable", lambda stabilities: len(stabilities) - 1)
    verdict, said = _verdict_and_report(*_split())
    assert verdict.tau == said["tau"] == 0.3


# --- item 3: a Python diffusivity sampled once on the stability grid, Phi = g r of it ----


def test_a_diffusivity_is_sampled_once_and_phi_is_g_r_of_that_sampling():
    import resdenoise as rd
    from resdenoise.function_properties import analyse_function
    from resdenoise.nonlinearities import from_function

    grids = []

    def counted(beyond):  # tanh(r) / r: a hole at 0 (g(0) = Phi'(0) there); NaN beyond
        def g(r):
            if np.size(r) > 50_000:  # the stability grid's (80,003 points unstretched)
                grids.append(np.size(r))
            with np.errstate(all="ignore"):
                return np.where(np.abs(r) > beyond, np.nan, np.tanh(r) / r)

        return from_function(g, "diffusivity", "tanh over r")

    nl = counted(np.inf)
    props = analyse_function(nl)
    assert len(grids) == 1  # old: 2 (Phi = g r, then g itself again)
    assert props.g_max == pytest.approx(1.0) and props.odd and props.monotone
    r = np.array([-2.0, 0.0, 3.0])
    phi, g = nl.phi_and_g(r)  # Phi of the given g as g_to_phi makes it: 0 at r = 0
    assert np.array_equal(phi, nl.phi(r)) and np.array_equal(g, nl.g(r))
    grids.clear()
    assert rd.check_tau(nl, 0.25).sign_stable and len(grids) == 1
    grids.clear()
    props = analyse_function(counted(1e5))  # the NaN nearest 0 read off that one sampling
    assert len(grids) == 1 and props.non_finite[0] == pytest.approx(-1e5, rel=1e-3)


# --- item 4: searched scales of a clean input: the clean verdict first, nothing searched --


def _clean_float32(n=8192):
    t = np.arange(n) / 8000.0
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 331 * t + 1.0)
    return (x * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t))).astype(np.float32)


@pytest.mark.parametrize(
    "settings",
    [
        {"scales": "auto"},
        {"scales": 4, "iterations": 4},
        {"scales": "auto", "iterations": "auto"},
        {"scales": "auto", "command": "diffuse", "name": "perona-malik"},
    ],
)
def test_searched_scales_of_a_clean_input_search_nothing(settings, count_calls):
    import resdenoise.autoparams as autoparams
    import resdenoise.multiscale as multiscale

    settings = dict(settings)
    command, name = settings.pop("command", "shrink"), settings.pop("name", "soft")
    searches = [
        count_calls(autoparams, "choose_parameters"),
        count_calls(multiscale, "choose_levels"),
        count_calls(multiscale, "plan_scales"),
    ]
    x = _clean_float32()
    plan, extra = planner(command, name, **settings)(x)
    assert [len(s) for s in searches] == [0, 0, 0]  # old: a search, then the verdict
    assert plan.steps == 0 and np.array_equal(plan.run(x), x)
    assert extra["do_no_harm"].startswith("clean: ")
    assert any(w.startswith("nothing done: clean: ") for w in extra["warnings"])


# --- item 5: a batch on a terminal that cannot draw bars: one line for the whole batch ----


def test_a_batch_has_one_plain_line_an_interval_for_all_its_files():
    import io

    from resdenoise.cli import render
    from resdenoise.cli.progress_lines import INTERVAL, PlainLines

    assert INTERVAL == 3.0
    now, out = [0.0], io.StringIO()
    with PlainLines(render.Bars.describe, render.Bars.bar_of, out, lambda: now[0], 3) as lines:
        for k in range(1, 41):  # two files at once, told in turn every 0.25 s: 10 s
            now[0] = 0.25 * k
            if k <= 20:  # a.wav done at 5 s
                lines.update(0, "a.wav", "filter", 2000 * k, 40_000)
                if k == 20:
                    lines.file_done(0)
            lines.update(1, "b.wav", "search 2/13", 500 * k, 40_000)
        shown = out.getvalue().splitlines()
        assert len(shown) == 3  # at 3, 6 and 9 s; old: a line per file each time
        assert shown[0] == (  # at 3 s, as a.wav said where it is (b.wav: at 2.75 s)
            "files: 0 of 3 done; a.wav filtering: 60 %; b.wav automatic search, lambda 2/13: 13 %"
        )
        assert shown[-1].startswith("files: 1 of 3 done (0.") and ", ETA 0:" in shown[-1]
        assert "a.wav" not in shown[-1] and "b.wav automatic search" in shown[-1]
        now[0] = 60.0
        lines.file_done(1)  # the line due: said at once
        lines.update(2, "c.wav", "filter", 0, 10)  # (the next one due at 63 s)
        assert out.getvalue().splitlines()[-1] == "files: 2 of 3 done (0.0333 files/s, ETA 0:30)"
        now[0] = 99.0
        lines.file_done(2)  # every file done: no line
    assert len(out.getvalue().splitlines()) == len(shown) + 1
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_a_batch_with_jobs_on_a_dumb_terminal_prints_batch_lines_only(tmp_path, monkeypatch):
    import os
    import pty
    import sys
    import threading

    from resdenoise.cli import cli, progress_lines

    rng = np.random.default_rng(5)
    names = []
    for k in range(3):
        (tmp_path / f"in{k}.csv").write_text(
            "\n".join(map(repr, np.cumsum(rng.standard_normal(5000)).tolist())) + "\n"
        )
        names.append(str(tmp_path / f"in{k}.csv"))
    master, slave = pty.openpty()
    seen = []
    reader = threading.Thread(target=lambda: _read_all(master, seen), daemon=True)
    reader.start()
    terminal = os.fdopen(slave, "w", buffering=1)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress_lines, "INTERVAL", 0.0)  # every update due: a line each
    args = ["diffuse", *names, "-j", "2", "--steps", "400", "--lambda", "0.5"]
    try:
        cli.main([*args, "-o", str(tmp_path / "out") + "/"], standalone_mode=False)
    finally:
        monkeypatch.undo()
        terminal.close()
        reader.join(30)
    lines = b"".join(seen).decode().replace("\r\n", "\n").splitlines()
    progress = [line for line in lines if " %" in line]
    assert progress and all(line.startswith("files: ") for line in progress), lines[:5]
    assert sorted(os.listdir(tmp_path / "out")) == ["in0.csv", "in1.csv", "in2.csv"]


def _read_all(fd: int, into: list) -> None:
    """What a terminal's master end ``fd`` gets until its slave end is closed."""
    import os

    while True:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # EIO: no writer left
            data = b""
        if not data:
            break
        into.append(data)
    os.close(fd)
