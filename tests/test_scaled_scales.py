"""The searches across families and scales at the ends of the float range.

``denoise``, ``--diffusivity auto``, ``--shrinkage auto`` and ``--scales`` searches of
samples beyond 2^+-200 were refused in one line (their plans of several scales and the
SURE numbers of their reports were not scaled back).  They now run on the samples
divided by a power of two, as the single-family searches do: the output for u x 2^k is
the output for u times 2^k, bit for bit, and every number of the report (JSON, the
reasons' text, the verdict line and the -v tables) is the one for u in the signal's
units (times 2^k, SURE times 4^k; counts, ratios and dB as they were).
"""

from __future__ import annotations

import json
import math
import re
import sys

import numpy as np
import pytest

from resdenoise.cli import cli

STEPS = np.loadtxt(__file__.rsplit("/tests/", 1)[0] + "/sample_signals/steps.csv")

MODES = {
    "denoise": ["denoise"],
    "diffuse --diffusivity auto": ["diffuse", "--diffusivity", "auto"],
    "shrink --shrinkage auto": ["shrink", "--shrinkage", "auto"],
    "diffuse --scales auto": ["diffuse", "--scales", "auto"],
    "shrink --scales auto": ["shrink", "--scales", "auto"],
    "shrink --scales 3": ["shrink", "--shrinkage", "garrote", "--scales", "3"],
    # a level given (0.01 x 2^k) under which no gain is significant: the input, and why
    "denoise --sigma": ["denoise", "--sigma", "{sigma}"],
}

#: Report entries in the samples' units (times 2^k) ...
LEVEL = frozenset(
    "noise_sigma noise_low_end noise_sigma_per_scale lambda lambdas threshold thresholds "
    "rejected_lambdas rejected_thresholds impulse_max_change impulse_mean_change "
    "input_min input_max output_min output_max tv_in tv_out mean_drift deviation_in "
    "deviation_out overshoot range_left_by".split()
)
#: ... in their squares' (times 4^k; and every entry of automatic_candidates) ...
SQUARE = frozenset(
    "sure_per_scale coefficient_sure_per_scale stopping_criterion criterion "
    "rejected_stopping_criterion "
    "expected_gain_per_sample gain_standard_error gain_at_low_end "
    "gain_at_low_end_standard_error backed_off_gain backed_off_gain_standard_error "
    "sure_change_per_sample sure_change_at_low_end backed_off_sure_change "
    "fresh_sure_change fresh_gain_standard_error".split()
)
#: ... without units ...
PLAIN = frozenset(
    "blocks blocks_per_scale blocks_searched channels clipped columns expected_gain_db frames "
    "column expected_gain_db_at_low_end expected_gain_db_range rejected_expected_gain_db_range rejected_expected_gain_db rejected_scales rejected_blocks_per_scale impulses_replaced "
    "g_max g_min gate_threshold gate_z h impulses_detected iterations level lipschitz scales "
    "schema_version "
    "search_samples sign_changes_in sign_changes_out steps stopping_time stride tau "
    "tau_linf_bound tau_sign_bound iterations_measured deviation_iteration".split()
)
#: ... and the tolerances, which grow with 1 + |samples| (not a power of two's multiple).
NOT_SCALED = frozenset({"range", "mean", "ulp"})
#: Text entries whose numbers may be of the signal (others: the same text).
SCALED_TEXT = {
    "automatic_reason": (2,),
    "scales_choice": (2,),
    "do_no_harm": (1, 2),
    "low_end": (1, 2),
    "warnings": (1, 2),
}
#: Text entries naming files (the runs' differ).
PATHS = frozenset({"input", "output"})

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")


def _leaves(x, path=()):
    if isinstance(x, dict):
        for key, value in x.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(x, list):
        for value in x:
            yield from _leaves(value, path)
    else:
        yield path, x


def _same_text(base: str, got: str, k: int, powers=(1, 2), rel=2e-5) -> bool:
    """Whether ``got`` is ``base`` with each number the same or ``base``'s times 2^(p k),
    p in ``powers`` (to the digits shown)."""
    if NUMBER.sub("#", base) != NUMBER.sub("#", got):
        return False
    for a, b in zip(NUMBER.findall(base), NUMBER.findall(got), strict=True):
        if a == b:
            continue
        if not any(
            math.isclose(float(b), math.ldexp(float(a), p * k), rel_tol=rel) for p in powers
        ):
            return False
    return True


def _check_report(base: dict, got: dict, k: int) -> None:
    """Every entry of ``got`` (the report of the samples times 2^k) is ``base``'s in the
    signal's units: exactly for numbers, to the digits shown in text."""
    pairs = list(zip(_leaves(base), _leaves(got), strict=True))
    for (path, a), (path_got, b) in pairs:
        assert path == path_got
        key = path[-1]
        if isinstance(a, str):
            powers = SCALED_TEXT.get(key, ())
            assert key in PATHS or _same_text(a, b, k, powers), (path, a, b)
        elif a is None or isinstance(a, bool):
            assert a == b, (path, a, b)
        elif "automatic_candidates" in path or key in SQUARE:
            assert b == math.ldexp(a, 2 * k), (path, a, b)
        elif key in LEVEL:
            assert b == math.ldexp(a, k), (path, a, b)
        else:
            assert key in PLAIN | NOT_SCALED, f"{path}: which units?"
            assert key in NOT_SCALED or a == b, (path, a, b)


def _run(runner, tmp_path, name: str, values, mode: str, k: int = 0):
    src = tmp_path / f"{name}.csv"
    src.write_text(
        "".join(",".join(repr(float(v)) for v in np.atleast_1d(r)) + "\n" for r in values)
    )
    out, rep = tmp_path / f"{name}_out.csv", tmp_path / f"{name}.json"
    given = [a.format(sigma=repr(math.ldexp(0.01, k))) for a in MODES[mode][1:]]
    args = [MODES[mode][0], str(src), *given, "-o", str(out), "--report", str(rep), "-v"]
    result = runner.invoke(cli, args, env={"COLUMNS": "400"})  # no row of a table wrapped
    assert result.exit_code == 0, (result.stderr, result.exception)
    text = (result.stdout + result.stderr).replace(str(out), "OUT").replace(str(src), "IN")
    text = re.sub(r"[\s─-╿]+", " ", text)  # the tables' widths differ
    written = np.loadtxt(out, delimiter=",", ndmin=2)
    report = json.loads(rep.read_text())
    report.pop("job")  # the run's times and the input's identity: not in the signal's units
    return written, report, text


#: 300 samples of steps.csv; with a wave, and noise alone (its level is not trusted: that
#: channel passes through, the search runs on the others alone)
SIGNALS = {"steps": STEPS[:300, None]}
_rng = np.random.default_rng(5)
SIGNALS["channels"] = np.stack(
    [
        STEPS[:300],
        np.sin(np.arange(300) / 30.0) + 0.1 * _rng.standard_normal(300),
        0.3 * _rng.standard_normal(300),
    ],
    axis=1,
)
CASES = [("channels", mode) for mode in sorted(MODES) if mode != "denoise --sigma"] + [
    ("steps", "denoise"),
    ("steps", "denoise --sigma"),
    ("steps", "shrink --scales auto"),
    ("steps", "shrink --scales 3"),
]


@pytest.mark.parametrize(("signal", "mode"), CASES)
def test_the_searches_of_scales_scale_with_the_samples(runner, tmp_path, signal, mode):
    """main: 'the largest sample's magnitude ... is outside 1e-60 .. 1e+60' for u x 2^+-500
    (and below: the output and report of u, every number in the signal's units)."""
    u = SIGNALS[signal]
    base, base_report, base_text = _run(runner, tmp_path, "base", u, mode)
    params = base_report["parameters"]
    if signal == "channels" and "--scales 3" not in mode:
        assert "passed_through_reasons" in params, params
    for k in (500, -500):
        name = f"at{k}".replace("-", "m")
        got, report, text = _run(runner, tmp_path, name, np.ldexp(u, k), mode, k)
        assert got.tobytes() == np.ldexp(base, k).tobytes(), k
        _check_report(base_report, report, k)
        # the verdict line and the -v tables: the same text, numbers of the signal
        assert _same_text(base_text, text, k, rel=1e-3), (base_text, text)
        candidates = report["parameters"].get("automatic_candidates", {})
        if params.get("automatic_choice") in candidates:  # the reason's numbers: the report's
            chosen = candidates[params["automatic_choice"]]
            assert f"({chosen:.6g} per sample)" in report["parameters"]["automatic_reason"]
    if mode == "denoise --sigma":
        assert "SURE by" in params["automatic_reason"], params


@pytest.mark.parametrize("amplitude", [3, -150])
def test_inside_the_range_the_samples_are_searched_as_they_are(monkeypatch, amplitude):
    """Inside 2^-200 .. 2^200 nothing is divided: the search sees the samples themselves
    (the output as before: u's times 2^amplitude)."""
    from resdenoise import scaling
    from resdenoise.automatic import choose_denoiser

    u = np.ldexp(SIGNALS["channels"], amplitude)
    seen = []
    real = scaling.level_shift
    monkeypatch.setattr(scaling, "level_shift", lambda x: seen.append(real(x)) or seen[-1])
    plan, _ = choose_denoiser(u)
    # the signal, its channels searched alone, and each search of several scales
    # (plan_scales, which scales library calls as the planner does): none divided
    assert len(seen) >= 2 and not any(seen)
    base = choose_denoiser(SIGNALS["channels"])[0].run(SIGNALS["channels"])
    assert plan.run(u).tobytes() == np.ldexp(base, amplitude).tobytes()


@pytest.mark.parametrize(
    ("mode", "option"),
    [
        (["denoise", "--sigma", "1e300"], "--sigma"),
        (["diffuse", "--scales", "auto", "--sigma", "1e300"], "--sigma"),
        (["diffuse", "--time", "auto", "--lambda", "1e300"], "--lambda"),
    ],
)
def test_a_level_out_of_all_proportion_to_the_samples_is_refused(runner, tmp_path, mode, option):
    """--sigma 1e300 for samples of 1e-300: divided with the samples it overflows, and no
    search can use it.  Before: a refusal naming the range of the samples divided by a
    power of two ('the automatic lambda is inf for samples of range 1.34657')."""
    src = tmp_path / "tiny.csv"
    src.write_text("".join(f"{float(v)!r}\n" for v in STEPS * 1e-300))
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [mode[0], str(src), *mode[1:], "-o", str(out)])
    assert result.exit_code == 1, (result.stderr, result.exception)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {src}: the {option} given (1e+300) and the samples ("), line
    assert "the largest 1.21712e-300" in line and not out.exists()


def test_a_search_at_the_float_maximum_runs_at_its_own_scale(runner, tmp_path):
    """steps.csv x 2^1022 (its range overflows float64): --time auto's blocks run on the
    samples divided by the power of two the search used, the output steps.csv's times
    2^1022, bit for bit.  Before: 'refused: the flux of perona-malik ... is not finite
    in float64 for differences up to the signal's range inf'."""
    outputs = []
    for k in (0, 1022):
        src = tmp_path / f"in{k}.csv"
        src.write_text("".join(f"{float(v)!r}\n" for v in np.ldexp(STEPS, k)))
        out = tmp_path / f"out{k}.csv"
        result = runner.invoke(cli, ["diffuse", str(src), "--time", "auto", "-o", str(out), "-q"])
        assert result.exit_code == 0, (result.stderr, result.exception)
        outputs.append(np.loadtxt(out))
    assert outputs[1].tobytes() == np.ldexp(outputs[0], 1022).tobytes()


@pytest.mark.parametrize("mode", ["diffuse --scales auto", "shrink --scales 3", "time auto"])
def test_a_scaled_plans_callback_gets_the_signal_in_its_own_units(mode):
    """A plan made by a search of the samples divided by 2^500 runs its blocks there;
    ``callback(k, u)`` (the engine's "whole current signal") gets u times 2^500 again,
    the same calls as the plan at 2^0 with each signal times 2^500 (was the divided
    signal)."""
    from resdenoise.filters import run_plan
    from resdenoise.plans import planner

    settings = {"time": "auto"} if mode == "time auto" else {"scales": mode.split()[-1]}
    settings = {k: int(v) if v.isdigit() else v for k, v in settings.items()}
    command, name = (
        ("shrink", "garrote") if mode.startswith("shrink") else ("diffuse", "perona-malik")
    )
    f = SIGNALS["steps"][:, 0]
    calls = {}
    for k in (0, 500):
        plan, _ = planner(command, name, **settings)(np.ldexp(f, k))
        assert plan.run_shift == (k and 501)
        seen = calls[k] = []
        run_plan(
            plan, np.ldexp(f, k), callback=lambda done, u, seen=seen: seen.append((done, u.copy()))
        )
    assert [done for done, _ in calls[500]] == [done for done, _ in calls[0]] != []
    for (_, small), (_, huge) in zip(calls[0], calls[500], strict=True):
        assert huge.tobytes() == np.ldexp(small, 500).tobytes()


@pytest.mark.parametrize(
    ("command", "name", "scales"),
    [("shrink", "garrote", 3), ("shrink", "soft", "auto"), ("diffuse", "perona-malik", 2)],
)
def test_the_planner_looks_for_a_power_of_two_once_per_search_of_scales(
    monkeypatch, command, name, scales
):
    """plan_scales, called by the planner on samples its own scaled_search brought in
    range (in_range=True), does not run level_shift (a max-abs pass) on them again, nor
    does its search at the level's low end; a library call still does."""
    from resdenoise import scaling
    from resdenoise.multiscale import plan_scales
    from resdenoise.plans import planner

    f = SIGNALS["steps"][:, 0]
    shifts = []
    level_shift = scaling.level_shift

    def counted(u):  # of scaled_search (sure_state's refuse_unscaled has its own)
        shift = level_shift(u)
        if sys._getframe(1).f_code.co_name == "scaled_search":
            shifts.append(shift)
        return shift

    monkeypatch.setattr(scaling, "level_shift", counted)
    for k in (0, 500):
        shifts.clear()
        plan, _ = planner(command, name, scales=scales)(np.ldexp(f, k))
        assert shifts == [k and 501]  # before: [k and 501, 0] (and 0 more at the low end)
    shifts.clear()  # a library call of plan_scales looks for itself
    plan_scales(np.ldexp(f, 500), name, None, {"scales": scales}, command=command)
    assert shifts == [501]
