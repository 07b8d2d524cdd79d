"""A constant channel (every sample the same: a silent track, a dead sensor) is passed
through and left out of the automatic search, as ``--columns`` naming the others would.

Before, it sat in the search: its own SURE terms are 0 (level 0, no block changes it), yet
the Monte-Carlo probe is drawn for the signal's shape, so the other channel's divergence
estimate took other draws and its choice changed (audit10c D5: a speech WAV, 195 blocks of
``diffuse --time auto``, 631 with a silent second channel; ``denoise`` changed family).
Here (1000 samples, seed 0): 53 blocks alone, 65 with a zero channel beside it; with
the level given (``--sigma 0.1``) 54 alone, 120 beside it, until the rule took a given
level too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from resdenoise.automatic import choose_denoiser
from resdenoise.cli import cli
from resdenoise.passing import ChannelsPlan
from resdenoise.pipeline import automatic_planner, planner

N = 1000
NOTHING = "constant (every sample the same): nothing to filter"


def _tone() -> np.ndarray:
    t = np.arange(N)
    noise = 0.1 * np.random.default_rng(0).standard_normal(N)
    return np.sin(2 * np.pi * t / 200) * (np.sin(2 * np.pi * t / N) > 0) + noise


AUTOMATIC = {
    "denoise": lambda: automatic_planner(),
    "diffuse time auto": lambda: planner("diffuse", "perona-malik", time="auto"),
    "shrink scales auto": lambda: planner("shrink", "soft", scales="auto"),
}


#: The same with the noise level given (``--sigma``): a constant channel has nothing to
#: remove whatever the level (before, it stayed in the search: 120 blocks, not 53).
GIVEN = {
    "denoise": lambda: automatic_planner(sigma=0.1),
    "diffuse time auto": lambda: planner("diffuse", "perona-malik", time="auto", sigma=0.1),
    "shrink scales auto": lambda: planner("shrink", "soft", scales="auto", sigma=0.1),
}


@pytest.mark.parametrize("level", [0.0, -3.25])
@pytest.mark.parametrize(
    ("mode", "sigma"), [(m, s) for m in sorted(AUTOMATIC) for s in ("estimated", "given")]
)
def test_a_constant_channel_does_not_change_the_others_choice(mode, sigma, level):
    x = _tone()
    two = np.column_stack([x, np.full(N, level)])
    make_plan = (AUTOMATIC if sigma == "estimated" else GIVEN)[mode]()
    plan, extra = make_plan(two)
    alone, alone_extra = make_plan(x, labels=["channel 1"])
    assert isinstance(plan, ChannelsPlan) and plan.keep == (0,) and plan.passed == (1,)
    y = plan.run(two)
    assert np.array_equal(y[:, 0], alone.run(x.copy()).ravel())
    assert np.array_equal(y[:, 1], two[:, 1])
    assert plan.steps == alone.steps and plan.tau == alone.tau
    assert extra["passed_through_reasons"] == {"channel 2": NOTHING}
    assert extra["warnings"][0] == f"channel 2 passed through unchanged: {NOTHING}"
    assert extra.get("automatic_choice") == alone_extra.get("automatic_choice")
    assert extra.get("stopping_criterion") == alone_extra.get("stopping_criterion")


def test_the_diffusion_search_with_a_zero_channel_stops_as_alone():
    """The measured case: 65 blocks (the probe's other draws) before, 53 as alone now."""
    x = _tone()
    plan, _ = planner("diffuse", "perona-malik", time="auto")(np.column_stack([x, 0 * x]))
    assert plan.steps == planner("diffuse", "perona-malik", time="auto")(x)[0].steps == 53


def test_a_level_given_per_channel_searches_the_others_with_theirs():
    x = _tone()
    three = np.column_stack([x, np.zeros(N), x[::-1]])
    plan, extra = choose_denoiser(three, sigma=[0.1, 5.0, 0.2])
    alone, alone_extra = choose_denoiser(three[:, [0, 2]], sigma=[0.1, 0.2])
    assert isinstance(plan, ChannelsPlan) and plan.keep == (0, 2) and plan.passed == (1,)
    assert np.array_equal(plan.run(three)[:, [0, 2]], alone.run(three[:, [0, 2]]))
    assert extra["automatic_choice"] == alone_extra["automatic_choice"]


def test_every_channel_constant_gives_the_input_with_one_reason():
    f = np.column_stack([np.zeros(N), np.full(N, 2.5)])
    plan, extra = choose_denoiser(f)
    assert type(plan) is not ChannelsPlan and plan.steps == 0
    assert np.array_equal(plan.run(f.copy()), f)
    assert extra["automatic_reason"] == f"channel 1, channel 2: {NOTHING}"
    assert extra["warnings"] == [
        f"nothing done: channel 1, channel 2: {NOTHING}; the output is the input"
    ]
    lone, lone_extra = planner("diffuse", "perona-malik", time="auto")(np.full(N, 1.0))
    assert lone.steps == 0 and lone_extra["do_no_harm"] == NOTHING


def test_a_channel_constant_only_after_the_impulse_stage_is_not_passed_through():
    """Constant is asked of the input: a flat channel with impulses is not called
    constant (here its level is not trusted: its white part, as before)."""
    x = _tone()
    spiky = np.zeros(N)
    spiky[[100, 400, 700]] = 50.0
    _, extra = choose_denoiser(np.column_stack([x, spiky]))
    assert extra["passed_through_reasons"]["channel 2"] != NOTHING


def _csv(path, x) -> str:
    rows = "".join(f"{i},{a!r},{b!r}\n" for i, (a, b) in enumerate(x.tolist()))
    path.write_text("time,tone,silent\n" + rows)
    return str(path)


@pytest.mark.parametrize("sigma", [[], ["--sigma", "0.1"]])
@pytest.mark.parametrize("command", [["denoise"], ["diffuse", "--time", "auto"]])
def test_the_command_line_equals_columns_naming_the_other(runner, tmp_path, command, sigma):
    src = _csv(tmp_path / "in.csv", np.column_stack([_tone(), np.zeros(N)]))
    outs = {}
    for name, extra_args in (("all", []), ("picked", ["--columns", "tone"])):
        out, rep = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        args = [*command, src, *sigma, *extra_args, "-o", str(out), "--report", str(rep)]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        outs[name] = (np.loadtxt(out, delimiter=",", skiprows=1), json.loads(rep.read_text()))
        if name == "all":
            assert f"column 3 ('silent') passed through unchanged: {NOTHING}" in result.stderr
    (y, report), (z, other) = outs["all"], outs["picked"]
    assert np.array_equal(y, z)  # the whole file: the filtered column, the others as read
    assert not np.array_equal(y[:, 1], _tone())
    assert report["passed_through"] == ["column 3 ('silent')"]
    assert (report["steps"], report["tau"]) == (other["steps"], other["tau"])
    for key in ("automatic_choice", "stopping_criterion", "expected_gain_per_sample"):
        assert report["parameters"].get(key) == other["parameters"].get(key), key


@pytest.mark.parametrize("sigma", [[], ["--sigma", "0.1"]])
def test_the_command_line_on_a_file_of_constant_channels_writes_the_input(runner, tmp_path, sigma):
    src = _csv(tmp_path / "in.csv", np.column_stack([np.zeros(50), np.full(50, 7.0)]))
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["denoise", src, *sigma, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "nothing to filter; the output is the input" in result.stderr
    read = np.loadtxt(out, delimiter=",", skiprows=1)
    assert np.array_equal(read, np.loadtxt(src, delimiter=",", skiprows=1))
