"""The Python API's parameter checks: what the command line refuses (exit code 2) the
library refuses too, with a ParameterError, before any signal is read where it can."""

from __future__ import annotations

import numpy as np
import pytest

import resdenoise
from resdenoise import filters
from resdenoise.engine import run_blocks
from resdenoise.errors import ParameterError
from resdenoise.multilevel import choose_levels, plan_levels
from resdenoise.multiscale import plan_cascade
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.plans import planner

F = [0.0, 0.0, 1.0, 1.0, 0.0, 1.0]

# --------------------------------------------------------------------------
# a count (steps, blocks, iterations, scales) with a fraction: refused, not truncated
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name, value",
    [
        (lambda: resdenoise.diffuse(F, "linear", lam=1.0, steps=2.5), "steps", 2.5),
        (lambda: resdenoise.diffuse(F, "linear", lam=1.0, steps=1.9999), "steps", 1.9999),
        (lambda: resdenoise.regularise(F, "huber", lam=1.0, alpha=1.0, steps=2.5), "steps", 2.5),
        (lambda: resdenoise.resnet(F, "tanh", lam=1.0, blocks=1.5), "blocks", 1.5),
        (lambda: resdenoise.shrink(F, "soft", theta=0.3, iterations=2.5), "iterations", 2.5),
        (lambda: planner("regularise", "huber", lam=1.0, alpha=1.0, steps=2.5), "steps", 2.5),
        (lambda: planner("shrink", "soft", theta=0.3, scales=2.5), "scales", 2.5),
        (lambda: planner("shrink", "soft", scales=2, iterations=2.5), "iterations", 2.5),
        (lambda: planner("resnet", "tanh", blocks=np.float64(2.5)), "blocks", 2.5),
        (lambda: filters.plan_diffuse(get_nonlinearity("linear"), steps=2.5), "steps", 2.5),
        (lambda: filters.plan_shrink(get_nonlinearity("soft"), 1.5), "iterations", 1.5),
        (lambda: filters.plan_diffuse(get_nonlinearity("linear"), steps=np.inf), "steps", np.inf),
        (lambda: plan_levels("soft", [0.3, 0.3], iterations=1.5), "iterations", 1.5),
        (lambda: plan_cascade("soft", [0.3, 0.3], blocks=1.5), "blocks", 1.5),
        (lambda: plan_cascade("soft", [0.3, 0.3], blocks=-2), "blocks", -2),
        (lambda: plan_cascade("soft", [0.3, 0.3], blocks=0), "blocks", 0),
        (lambda: choose_levels(np.array(F * 8), "soft", scales=2.5), "scales", 2.5),
        (lambda: run_blocks(np.array(F), lambda r: r, 0.25, 2.9), "n_blocks", 2.9),
        (lambda: run_blocks(np.array(F), lambda r: r, 0.25, -1), "n_blocks", -1),
    ],
)
def test_a_count_with_a_fraction_is_refused(call, name, value):
    with pytest.raises(ParameterError, match=rf"^{name} must be an integer >= [01], got ") as info:
        call()
    assert info.value.exit_code == 2
    assert str(value) in str(info.value)


def test_regularise_runs_the_alpha_it_reports(tmp_path):
    """steps=2.5 ran alpha/2.5 per step over 2 steps: alpha 0.8, reported as 1.0."""
    from resdenoise.pipeline import run_file

    (tmp_path / "in.csv").write_text("v\n0\n0\n1\n1\n0\n")
    with pytest.raises(ParameterError, match="steps must be an integer"):
        run_file(
            planner("regularise", "huber", lam=1.0, alpha=1.0, steps=2.5),
            str(tmp_path / "in.csv"),
            str(tmp_path / "out.csv"),
        )
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("whole", [2, 2.0, np.int64(2), np.float32(2.0)])
def test_a_whole_count_of_any_number_type_runs(whole):
    two = resdenoise.diffuse(F, "linear", lam=1.0, steps=2)
    assert resdenoise.diffuse(F, "linear", lam=1.0, steps=whole).tolist() == two.tolist()
    engine = run_blocks(np.array(F), lambda r: r, 0.25, whole)
    assert engine.tolist() == run_blocks(np.array(F), lambda r: r, 0.25, 2).tolist()


@pytest.mark.parametrize("value", [True, "2", None, np.nan])
def test_a_count_that_is_no_number_is_refused(value):
    with pytest.raises(ParameterError, match="n_blocks must be an integer >= 0"):
        run_blocks(np.array(F), lambda r: r, 0.25, value)


@pytest.mark.parametrize("value", [True, "2", None, np.nan, np.inf, "auto"])
def test_a_cascade_refuses_blocks_that_are_no_count(value):
    with pytest.raises(ParameterError, match="^blocks must be an integer >= 1, got ") as info:
        plan_cascade("soft", [0.3, None, 0.3], value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("value", [10**8 + 1, 10**30, 1e300])
def test_a_cascade_refuses_more_blocks_than_a_run_may_take(value):
    with pytest.raises(ParameterError, match="blocks are more than a run may take"):
        plan_cascade("soft", [0.3, 0.3], value)


def test_a_cascade_counts_whole_blocks_of_any_number_type_as_ints():
    two = plan_cascade("soft", [0.3, None, 0.3], 2)
    for whole in (2.0, np.int64(2), np.float32(2.0)):
        plan = plan_cascade("soft", [0.3, None, 0.3], whole)
        assert plan.steps == two.steps == 4 and type(plan.steps) is int
        assert plan.parameters["iterations"] == 2 and type(plan.parameters["iterations"]) is int


# --------------------------------------------------------------------------
# check_tau: a tau or h that is not a finite number > 0 has no stability verdict
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tau, h, name",
    [
        (-0.1, 1.0, "tau"),  # backward diffusion: it was called L-infinity and sign stable
        (0.0, 1.0, "tau"),
        (np.nan, 1.0, "tau"),
        (np.inf, 1.0, "tau"),
        (0.25, np.nan, "h"),
        (0.25, -1.0, "h"),
        (0.25, 0.0, "h"),
        (True, 1.0, "tau"),
    ],
)
def test_check_tau_refuses_a_tau_or_h_that_is_not_a_positive_number(tau, h, name):
    nl = resdenoise.get_nonlinearity("perona-malik", "diffusivity", lam=1.0)
    with pytest.raises(ParameterError, match=rf"^{name} must be a finite number > 0, got ") as info:
        resdenoise.check_tau(nl, tau, h)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", ["g_max", "h"])
@pytest.mark.parametrize("value", [True, 0, np.inf, "1"])
def test_a_learned_architecture_refuses_a_g_max_or_h_that_is_not_a_positive_number(name, value):
    from resdenoise.learn import Architecture

    with pytest.raises(ParameterError, match=rf"^{name} must be a finite number > 0, got "):
        Architecture(**{name: value})
    assert Architecture(**{name: np.int64(2)}).tau > 0  # a NumPy integer is a number


def test_check_tau_still_judges_a_positive_tau():
    nl = resdenoise.get_nonlinearity("perona-malik", "diffusivity", lam=1.0)
    assert resdenoise.check_tau(nl, np.float64(0.25), 1).sign_stable
    assert not resdenoise.check_tau(nl, 0.6).linf_stable


# --------------------------------------------------------------------------
# the pipeline's plan maker: a bad name or number refused when it is built
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, settings, message",
    [
        (("diffuse", "charbonier"), {"steps": 1}, "Unknown diffusivity 'charbonier'. Did you mean"),
        (("shrink", "huber"), {"theta": 0.3}, "Unknown shrinkage 'huber': 'huber' is a"),
        (("diffuse", "linear"), {"lam": -1.0, "steps": 1}, "lam must be a finite number > 0"),
        (("shrink", "soft"), {"theta": -1.0}, "theta must be a finite number > 0"),
        (("diffuse", "linear"), {"time": np.nan}, "time must be a finite number > 0"),
        (("diffuse", "linear"), {"steps": 1, "tau": "auto"}, "tau must be a finite .*'auto' is"),
        (("regularise", "huber"), {"alpha": 1.0, "h": 0.0}, "h must be a finite number > 0"),
        (("resnet", "tanh"), {"blocks": 0}, "blocks must be an integer >= 1"),
        (("diffuse", np.tanh), {"steps": 1}, "the diffusivity must be a registry name, a formula"),
    ],
)
def test_planner_refuses_when_it_is_built(args, settings, message):
    with pytest.raises(ParameterError, match=message) as info:
        planner(*args, **settings)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "args, settings, hint",
    [
        (("resnet", "tanh"), {"blocks": 3, "tau": "auto"}, "'auto' is for blocks (resnet)"),
        (
            ("regularise", "huber"),
            {"alpha": 1.0, "steps": "auto"},
            "'auto' is for alpha (regularise)",
        ),
        (
            ("diffuse", "linear"),
            {"steps": 1, "tau": "auto"},
            "'auto' is for time or scales (diffuse)",
        ),
    ],
)
def test_the_planners_auto_hint_names_the_commands_own_settings(args, settings, hint):
    """'auto' where a command takes none says which of its own settings take it (was
    "'auto' is for time (diffuse) or alpha (regularise)" for resnet too; shrink takes
    'auto' for each of its settings)."""
    with pytest.raises(ParameterError) as info:
        planner(*args, **settings)
    assert str(info.value).endswith(f", got 'auto'; {hint}"), str(info.value)


def test_the_planner_keeps_the_counts_it_checked_as_ints(tmp_path):
    """A whole count given as a float (scales=20.0) is the int it was checked as: the
    note says '20 scales asked', not '20.0'."""
    plan, extra = planner("shrink", "soft", theta=0.5, scales=20.0)(np.array(F * 20))
    assert any(w.startswith("20 scales asked, at most") for w in extra["warnings"]), extra


def test_an_unknown_name_is_a_parameter_error_where_it_is_looked_up(tmp_path):
    """Past the planner (a Planner made directly), run_file and run_batch say the
    registry's ParameterError (exit code 2), not a bare ValueError or an internal error."""
    from resdenoise.batch import run_batch
    from resdenoise.nonlinearities import get_parametrised, resolve_name
    from resdenoise.pipeline import run_file
    from resdenoise.plans import Planner

    for call in (
        lambda: resolve_name("charbonier", "diffusivity"),
        lambda: resolve_name("tanh", "no-such-form"),
        lambda: get_parametrised("bumpz", [1.0]),
    ):
        with pytest.raises(ParameterError):
            call()
    (tmp_path / "in.csv").write_text("v\n0\n0\n1\n1\n0\n")
    make_plan = Planner("diffuse", "charbonier", 1.0, {"steps": 1})
    with pytest.raises(ParameterError, match="Did you mean 'charbonnier'"):
        run_file(make_plan, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"))
    error = run_batch(make_plan, [str(tmp_path / "in.csv")], str(tmp_path / "b") + "/")[0].error
    assert isinstance(error, ParameterError) and error.exit_code == 2
    assert "internal error" not in str(error) and "Did you mean 'charbonnier'" in str(error)


# --------------------------------------------------------------------------
# an unbounded g: no tau is stable, and its bound 0 is no underflow
# --------------------------------------------------------------------------


def _one_error_line(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_an_unbounded_g_says_no_tau_is_stable_and_what_to_do(runner, tmp_path):
    from resdenoise.cli import cli

    (tmp_path / "e.csv").write_text("v\n0\n0\n1\n1\n0\n")
    run = ["resnet", str(tmp_path / "e.csv"), "--activation-expr", "r*abs(r)", "--blocks", "2"]
    out = ["-o", str(tmp_path / "o.csv")]
    first = _one_error_line(runner.invoke(cli, run + out), 3)
    assert "g = Phi(r)/r is unbounded" in first and "no tau is stable" in first, first
    assert first.endswith("choose another nonlinearity, or give --tau with --allow-unstable")
    given = _one_error_line(runner.invoke(cli, run + ["--tau", "0.25"] + out), 3)
    assert "underflow" not in given and "No tau makes it stable" in given, given
    assert not (tmp_path / "o.csv").exists()
    # the remedy the first message gives works
    done = runner.invoke(cli, run + ["--tau", "0.25", "--allow-unstable", "-q"] + out)
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "o.csv").exists()


def test_bound_underflows_only_of_a_bounded_g():
    from resdenoise.stability import bound_underflows

    assert bound_underflows(0.0, 1.0, np.inf) is None  # unbounded: no tau at any h
    assert bound_underflows(0.0, 1e-200, 1.0).startswith("no float64 tau is stable")
    assert bound_underflows(0.5, 1.0, 1.0) is None
    nl = resdenoise.nonlinearities.from_function(lambda r: r * np.abs(r))
    reason = resdenoise.check_tau(nl, 0.25).reason
    assert "unbounded" in reason and "underflow" not in reason, reason
