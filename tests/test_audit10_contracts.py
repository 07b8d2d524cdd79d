"""Library/CLI contract defects a new user's audit (audit10b) found: each bad input gives the
project's own error (ParameterError / SignalError, a usage error on the command line) with a
message that names what the caller can change; dtypes as documented."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from test_audit_messages import _csv, _error

import resdenoise
from resdenoise import learn
from resdenoise.automatic import choose_denoiser
from resdenoise.cli import cli
from resdenoise.errors import ParameterError, SignalError, UnstableError
from resdenoise.filters import run_plan
from resdenoise.multiscale import MultiscalePlan

# D7. learn --seed -1 was an internal error (numpy's default_rng refuses a negative seed)


@pytest.mark.parametrize("clean", [False, True])
def test_learn_negative_seed_is_a_usage_error(runner, tmp_path, clean):
    src = _csv(tmp_path / "n.csv", np.sin(np.arange(64) / 5.0))
    out = tmp_path / "net.toml"
    args = ["learn", str(src), "--seed", "-1", "-o", str(out)]
    args += ["--clean", str(src)] if clean else []
    line = _error(runner.invoke(cli, args), 2)
    assert "Invalid value for '--seed'" in line and "is not a whole number >= 0" in line, line
    assert not out.exists()


def test_library_learn_negative_seed_is_a_parameter_error():
    f = np.sin(np.arange(64) / 5.0)
    with pytest.raises(ParameterError, match=r"^seed must be an integer >= 0, got -1$"):
        learn.make_objective([f], seed=-1)
    objective = learn.make_objective([f], [f])
    arch = learn.Architecture(groups=1, blocks=1, bumps=4)
    with pytest.raises(ParameterError, match=r"^seed must be an integer >= 0, got -2$"):
        learn.fit(objective, arch, seed=-2, max_iterations=1)


# D13. choose_denoiser ranked its candidates on NaN SURE; D10. no channels is not "too short"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_choose_denoiser_refuses_a_non_finite_signal_as_diffuse_does(bad):
    x = np.sin(np.arange(200) / 10.0)
    x[50] = bad
    with pytest.raises(SignalError) as diffused:
        resdenoise.diffuse(x, "auto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a SURE of NaN on the way
        with pytest.raises(SignalError) as chosen:
            choose_denoiser(x)
    assert str(chosen.value) == str(diffused.value)
    assert str(chosen.value) == f"the signal: sample 51, channel 1 is {bad!r}, not a finite number"


def test_choose_denoiser_too_short_is_a_signal_error():
    with pytest.raises(SignalError, match=r"at least 2 samples; this one has shape \(1,\)"):
        choose_denoiser(np.array([1.0]))


@pytest.mark.parametrize(
    ("shape", "axis"), [((5, 0), None), ((5, 0), 1), ((0, 5), 0), ((0, 5), -2)]
)
def test_samples_without_channels_are_said_to_have_no_channels(shape, axis):
    with pytest.raises(SignalError, match=r"^the signal has no channels \(shape \(5, 0\)\)$"):
        resdenoise.diffuse(np.ones(shape), "linear", lam=1, steps=2, channel_axis=axis)
    with pytest.raises(SignalError, match="at least 2 samples"):
        resdenoise.diffuse(np.ones((1, 0)), "linear", lam=1, steps=2)


# D3. run_blocks mixed bare ValueError with ParameterError; check_tau died on a plain function


@pytest.mark.parametrize(("tau", "h"), [(0, 1.0), (0.25, 0), (float("nan"), 1.0), (-1.0, 1.0)])
def test_run_blocks_bad_tau_or_h_is_a_parameter_error(tau, h):
    with pytest.raises(ParameterError, match=r"^tau and h must be finite numbers > 0"):
        resdenoise.run_blocks(np.array([0.0, 1, 2]), np.tanh, tau=tau, h=h, n_blocks=1)


@pytest.mark.parametrize("shape", [(1,), (0,), (1, 3), (2, 2, 2)])
def test_run_blocks_short_or_misshapen_signal_is_a_signal_error(shape):
    with pytest.raises(SignalError):
        resdenoise.run_blocks(np.zeros(shape), np.tanh, tau=0.25, n_blocks=1)


def test_check_tau_of_a_plain_function_names_what_to_pass():
    with pytest.raises(ParameterError, match=r"^nl must be a Nonlinearity \(get_nonlinearity"):
        resdenoise.check_tau(np.tanh, 0.25)


# D9. get_nonlinearity / from_function: AttributeError for a name that is no string, a
# non-callable accepted (and failing wherever it was called later)


@pytest.mark.parametrize("name", [None, 3, ["tanh"]])
def test_get_nonlinearity_of_a_name_that_is_no_string(name):
    with pytest.raises(ParameterError, match=r"^name must be a string .*, got "):
        resdenoise.get_nonlinearity(name)


@pytest.mark.parametrize("func", [3, "tanh", None])
def test_from_function_refuses_what_cannot_be_called(func):
    with pytest.raises(ParameterError, match=r"^func must be callable .*, got "):
        resdenoise.from_function(func, "activation")


# D15. diffuse(float32, "auto") returned float64 when it chose the cascade over scales


@pytest.mark.parametrize("name", ["steps.csv", "two_channels.csv"])
def test_auto_cascade_over_scales_keeps_float32(name):
    path = Path(__file__).resolve().parent.parent / "sample_signals" / name
    g = np.loadtxt(path, delimiter=",", skiprows=int(name != "steps.csv"), dtype=np.float32)
    plan, _ = choose_denoiser(g)
    assert isinstance(plan, MultiscalePlan)  # the case of the defect
    out = resdenoise.diffuse(g, "auto")
    assert out.dtype == np.float32
    # computed in float64 as before, rounded once at the end
    np.testing.assert_array_equal(out, run_plan(plan, g).astype(np.float32))


# D2. regularise's refusal named tau, which regularise has no option for (tau = alpha/steps)


def test_regularise_refusal_names_steps_that_are_accepted(runner, tmp_path):
    src = Path(__file__).resolve().parent.parent / "sample_signals" / "steps.csv"
    out = tmp_path / "o.csv"
    args = ["regularise", str(src), "--alpha", "4", "-o", str(out)]
    line = _error(runner.invoke(cli, [*args, "--steps", "3"]), 3)
    assert line.endswith(
        "Give --steps 8 or more (tau = alpha/steps <= 0.5; sign-stable: --steps 16 or more), "
        "leave --steps out (the fewest sign-stable blocks), or pass --allow-unstable"
    ), line
    assert "--tau" not in line and not out.exists()
    assert _error(runner.invoke(cli, [*args, "--steps", "7"]), 3) and not out.exists()
    for steps, warned in (("8", True), ("16", False)):
        result = runner.invoke(cli, [*args, "--steps", steps])
        assert result.exit_code == 0, result.stderr
        assert ("sign changes may increase" in result.stderr) is warned
    f = [0, 1, 0, 1, 0, 1.0, 2, 3]
    with pytest.raises(UnstableError) as refused:
        resdenoise.regularise(f, "linear", lam=1, alpha=4, steps=3)
    assert "Give steps=8 or more" in str(refused.value)
    assert "leave steps out" in str(refused.value)
    assert str(refused.value).endswith("or pass allow_unstable=True")


# D8. bounds printed to 6 digits: "0.5 exceeds 0.5", and a suggested tau that is refused


def test_bounds_are_printed_apart_from_tau_and_suggestions_are_accepted(runner, tmp_path):
    src = Path(__file__).resolve().parent.parent / "sample_signals" / "steps.csv"
    out = tmp_path / "o.csv"
    args = ["resnet", str(src), "--activation-expr", "1.0000001*r", "--blocks", "2"]
    line = _error(runner.invoke(cli, [*args, "--tau", "0.5", "-o", str(out)]), 3)
    assert "tau = 0.5 exceeds the L-infinity bound h^2/(2 g_max) = 0.49999995." in line, line
    assert "A stable tau is <= 0.499999 (sign-stable <= 0.249999)" in line, line
    for tau, stable in (("0.499999", "L-infinity stable"), ("0.249999", "sign stable")):
        result = runner.invoke(cli, [*args, "--tau", tau, "-o", str(out), "--json"])
        assert result.exit_code == 0, result.stderr
        assert f", {stable} (g_max sampled, not proved)," in result.stderr  # a formula's
    result = runner.invoke(cli, [*args, "--tau", "0.25", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    warned = "tau = 0.25 is L-infinity stable but above the sign-stable bound 0.24999998:"
    assert warned in result.stderr, result.stderr


def test_a_bound_that_prints_as_its_tau_gets_the_digits_that_differ():
    from resdenoise.stability import apart, at_most

    lam = 0.5
    charbonnier = lambda x: 2 * lam**2 * (np.sqrt(1 + x**2 / lam**2) - 1)  # noqa: E731
    with pytest.warns(UserWarning, match="above the sign-stable bound 0.2499999:"):
        resdenoise.regularise(np.linspace(-1, 1, 50) ** 3, charbonnier, alpha=1, steps=4)
    # as before where 6 digits tell them apart, or where they are equal
    assert apart(0.3, 0.25) == ("0.3", "0.25") and apart(0.5, 0.5) == ("0.5", "0.5")
    assert at_most(0.5) == "0.5" and float(at_most(2 / 3)) <= 2 / 3


# D6. the refusal of "auto" with a stopping rule named a parameter "rule" that does not exist


@pytest.mark.parametrize("command", ["diffuse", "shrink"])
def test_auto_with_a_stopping_rule_names_stopping_rule(runner, tmp_path, command):
    f = np.sin(np.arange(64) / 5.0)
    with pytest.raises(ParameterError, match=r"; drop stopping_rule or name a ") as refused:
        getattr(resdenoise, command)(f, "auto", stopping_rule="noise2self")
    assert ("stopping_rule", ...) in refused.value.parameters
    src = _csv(tmp_path / "s.csv", f)
    form = {"diffuse": "--diffusivity", "shrink": "--shrinkage"}[command]
    args = [command, str(src), form, "auto", "--stopping-rule", "noise2self"]
    line = _error(runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv")]), 2)
    assert "; drop --stopping-rule or name a " in line, line
