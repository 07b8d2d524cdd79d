"""Plans of the four commands: step counts, tau, defaults, refusal, reports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import api, filters
from resdenoise.engine import run_blocks
from resdenoise.errors import ParameterError, UnstableError
from resdenoise.noise import estimate_noise
from resdenoise.nonlinearities import from_function, get_nonlinearity

SQRT2 = math.sqrt(2.0)


def pm(lam=1.0):
    return get_nonlinearity("perona-malik", "diffusivity", lam=lam)


# --------------------------------------------------------------------------
# diffuse: --time T gives m = ceil(T / tau_max), tau = T / m
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "time, tau, h, steps, expected_tau",
    [
        (10.0, None, 1.0, 40, 0.25),  # tau_max = 1/4 divides T
        (1.0, None, 1.0, 4, 0.25),
        (0.3, None, 1.0, 2, 0.15),
        (0.25, None, 1.0, 1, 0.25),
        (0.26, None, 1.0, 2, 0.13),
        (2.6, None, 2.0, 3, 2.6 / 3),  # tau_max = h^2/4 = 1
        (0.7, 0.1, 1.0, 7, 0.1),  # 0.7/0.1 = 6.999999999999999 in floating point
        (1.0, 0.3, 1.0, 4, 0.25),
    ],
)
def test_diffuse_time(time, tau, h, steps, expected_tau):
    plan = filters.plan_diffuse(pm(), time=time, tau=tau, h=h)
    assert plan.steps == steps
    assert plan.tau == pytest.approx(expected_tau, rel=1e-15)
    assert plan.tau == time / steps
    assert plan.stopping_time == pytest.approx(time, rel=1e-15)
    assert (plan.command, plan.form, plan.h) == ("diffuse", "diffusivity", h)


def test_diffuse_time_is_the_smallest_count(rng):
    for _ in range(500):
        time = 10.0 ** rng.uniform(-2, 3)
        h = float(rng.choice([0.3, 1.0, 2.0]))
        plan = filters.plan_diffuse(pm(), time=time, h=h)
        tau_max = h * h / 4.0
        m = plan.steps
        assert plan.tau <= tau_max
        assert m == 1 or time / (m - 1) > tau_max
        assert m - math.ceil(time / tau_max) in (0, 1)  # ceil, up to one rounding
        assert plan.tau == time / m


def test_diffuse_steps_uses_the_sign_bound_or_the_given_tau():
    plan = filters.plan_diffuse(pm(), steps=12, h=0.5)
    assert (plan.steps, plan.tau, plan.stopping_time) == (12, 0.0625, 0.75)
    plan = filters.plan_diffuse(pm(), steps=3, tau=0.4)
    assert (plan.steps, plan.tau) == (3, 0.4)
    assert plan.parameters == {"lambda": 1.0}
    # a custom diffusivity with g_max = 2 halves the default step
    double = from_function(lambda r: 2.0 * np.ones_like(r), "diffusivity")
    assert filters.plan_diffuse(double, steps=1).tau == pytest.approx(0.125, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "^give exactly one of time or steps$"),
        ({"time": 1.0, "steps": 2}, "^give exactly one of time or steps$"),
        ({"time": 0.0}, "time must be a finite number > 0"),
        ({"time": math.inf}, "time must be a finite number > 0"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"steps": 1, "tau": -0.1}, "tau must be a finite number > 0"),
        ({"steps": 1, "h": math.nan}, "h must be a finite number > 0"),
    ],
)
def test_diffuse_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match) as info:
        filters.plan_diffuse(pm(), **kwargs)
    assert info.value.exit_code == 2


def test_unbounded_g_has_no_stable_tau():
    cubic = from_function(lambda r: r * (1.0 + r * r))
    with pytest.raises(
        UnstableError, match="is unbounded .*no tau is stable; .*give tau with allow_unstable=True$"
    ):
        filters.plan_diffuse(cubic, steps=2)
    with pytest.raises(UnstableError, match="; .*give steps with allow_unstable=True$") as info:
        filters.plan_regularise(cubic, alpha=1.0)  # regularise's step is alpha/steps
    assert info.value.parameters == (("steps", ...), ("allow_unstable", True))
    plan = filters.plan_diffuse(cubic, steps=2, tau=0.1)
    assert not plan.verdict().linf_stable


# --------------------------------------------------------------------------
# regularise, resnet, shrink
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alpha, h, steps",
    [(4.0, 1.0, 16), (1.1, 1.0, 5), (0.25, 1.0, 1), (0.1, 1.0, 1), (4.0, 2.0, 4), (1.0, 0.5, 16)],
)
def test_regularise_default_steps_is_the_smallest_sign_stable_count(alpha, h, steps):
    nl = get_nonlinearity("huber", "regulariser", lam=1.0)
    plan = filters.plan_regularise(nl, alpha, h=h)
    assert plan.steps == steps
    assert plan.tau == alpha / steps <= h * h / 4.0
    assert steps == 1 or alpha / (steps - 1) > h * h / 4.0
    assert plan.alpha == alpha and plan.stopping_time == pytest.approx(alpha)
    assert plan.verdict().sign_stable


def test_regularise_given_steps():
    nl = get_nonlinearity("charbonnier", "regulariser", lam=1.0)
    plan = filters.plan_regularise(nl, 2.0, steps=3)  # tau = 2/3: not L-infinity stable
    assert (plan.steps, plan.tau) == (3, 2.0 / 3.0)
    assert not plan.verdict().linf_stable
    with pytest.raises(ParameterError, match="alpha must be"):
        filters.plan_regularise(nl, 0.0)


def test_resnet_and_shrink_plans():
    nl = get_nonlinearity("tanh", lam=2.0)
    plan = filters.plan_resnet(nl, blocks=5, h=3.0)
    assert (plan.steps, plan.tau, plan.h) == (5, 2.25, 3.0)
    assert filters.plan_resnet(nl, blocks=5, tau=0.1).tau == 0.1
    with pytest.raises(ParameterError, match="blocks must be an integer >= 1"):
        filters.plan_resnet(nl, blocks=0)
    s = get_nonlinearity("garrote", "shrinkage", lam=SQRT2 * 0.3)
    plan = filters.plan_shrink(s, iterations=7)
    assert (plan.steps, plan.tau, plan.h, plan.command, plan.form) == (
        7,
        0.25,
        1.0,
        "shrink",
        "shrinkage",
    )
    assert plan.parameters["threshold"] == pytest.approx(0.3, rel=1e-15)
    assert plan.parameters["iterations"] == 7


# --------------------------------------------------------------------------
# Convenience functions, refusal and the automatic parameter
# --------------------------------------------------------------------------


def test_diffuse_by_hand():
    out = api.diffuse(np.array([0.0, 0.0, 1.0, 1.0]), "linear", lam=1.0, steps=1)
    np.testing.assert_array_equal(out, [0.0, 0.25, 0.75, 1.0])
    # two linear blocks on a spike, tau = 1/4: [0, 1, 0] -> [.25, .5, .25] -> [.3125, .375, .3125]
    out = api.diffuse(np.array([0.0, 1.0, 0.0]), "linear", lam=1.0, time=0.5)
    np.testing.assert_array_equal(out, [0.3125, 0.375, 0.3125])


def test_unstable_tau_is_refused_unless_allowed(step_signal):
    # the one refusal of filters.check_verdict, as the command line words it
    with pytest.raises(
        UnstableError, match=r"refused as unstable: .* A stable tau is <= 0\.5"
    ) as info:
        api.resnet(step_signal, "tanh", lam=1.0, blocks=3, tau=0.6)
    assert info.value.exit_code == 3
    out = api.resnet(step_signal, "tanh", lam=1.0, blocks=3, tau=0.6, allow_unstable=True)
    expected = run_blocks(step_signal, get_nonlinearity("tanh", lam=1.0).phi, 0.6, 3)
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(UnstableError):
        api.diffuse(step_signal, "linear", lam=1.0, steps=1, tau=0.51)


def test_regularise_and_shrink_refuse_unless_allowed(step_signal):
    # alpha = 3 in one block: tau = 3 > 0.5, the L-infinity bound of g = 1
    # (its tau is alpha/steps: the refusal names the steps that are stable)
    with pytest.raises(UnstableError, match=r"Give steps=6 or more .*sign-stable: steps=12"):
        api.regularise(step_signal, "linear", lam=1.0, alpha=3.0, steps=1)
    out = api.regularise(step_signal, "linear", lam=1.0, alpha=3.0, steps=1, allow_unstable=True)
    np.testing.assert_array_equal(out, run_blocks(step_signal, lambda r: r, 3.0, 1))
    # a shrinkage whose flux has g up to 3: tau = 1/4 is above its bound 1/6
    steep = from_function(lambda s: -2.0 * s, form="shrinkage", name="steep")
    with pytest.raises(UnstableError, match="refused"):
        api.shrink(step_signal, steep, iterations=2)
    out = api.shrink(step_signal, steep, iterations=2, allow_unstable=True)
    np.testing.assert_allclose(out, run_blocks(step_signal, lambda r: 3.0 * r, 0.25, 2), 0, 1e-12)


def mad_theta(u):
    """theta = sigma sqrt(2 ln N), sigma from resdenoise.noise (tested in test_noise.py)."""
    n = u.shape[0]
    sigma = float(estimate_noise(u)[0])
    return sigma * math.sqrt(2.0 * math.log(n))


def test_automatic_threshold_is_the_universal_threshold(step_signal):
    theta = mad_theta(step_signal)
    lam, info = filters.auto_lambda(step_signal)
    assert lam == pytest.approx(SQRT2 * theta, rel=1e-12)
    assert info["lambda_rule"] == "universal threshold"
    np.testing.assert_allclose(
        api.shrink(step_signal, "soft"),
        api.shrink(step_signal, "soft", theta=theta),
        rtol=0,
        atol=1e-14,
    )
    # as a gradient, lambda scales with 1/h
    assert filters.auto_lambda(step_signal, h=2.0)[0] == pytest.approx(lam / 2.0, rel=1e-12)


def test_automatic_threshold_takes_the_noisiest_channel(stereo_signal):
    lam, info = filters.auto_lambda(stereo_signal)
    thetas = [mad_theta(stereo_signal[:, c]) for c in range(2)]
    assert lam == pytest.approx(SQRT2 * max(thetas), rel=1e-12)
    assert len(info["noise_sigma"]) == 2


def test_automatic_threshold_fallbacks():
    step = np.repeat([0.0, 4.0], 8)  # no noise at the finest scale
    lam, info = filters.auto_lambda(step)
    assert lam == pytest.approx(0.04)
    assert info["lambda_rule"].startswith("1% of range")
    assert filters.auto_lambda(np.full(6, 3.0))[0] == 1.0


# --------------------------------------------------------------------------
# analyse_run
# --------------------------------------------------------------------------


def test_report_of_a_regularise_run(stereo_signal):
    lam, alpha = 0.7, 3.0
    nl = get_nonlinearity("huber", "regulariser", lam=lam)
    plan = filters.plan_regularise(nl, alpha)
    f = stereo_signal
    u = filters.run_plan(plan, f)
    report = filters.analyse_run(plan, f, u)
    for key in (
        "command",
        "family",
        "form",
        "parameters",
        "tau",
        "h",
        "steps",
        "stopping_time",
        "stability",
        "channels",
        "guarantees_held",
    ):
        assert key in report
    assert (report["command"], report["family"], report["form"]) == (
        "regularise",
        "soft",
        "regulariser",
    )
    assert report["class"] == "convex"
    assert report["steps"] == 12 and report["tau"] == 0.25
    assert report["guarantees_held"] is True and report["failed_checks"] == []
    for c, ch in enumerate(report["channels"]):
        fc, uc = f[:, c], u[:, c]

        def huber(r):
            return np.where(np.abs(r) <= lam, r * r, 2 * lam * np.abs(r) - lam * lam)

        assert ch["energy_in"] == pytest.approx(alpha * huber(np.diff(fc)).sum(), rel=1e-12)
        e_out = ((uc - fc) ** 2).sum() + alpha * huber(np.diff(uc)).sum()
        assert ch["energy_out"] == pytest.approx(e_out, rel=1e-12)
        assert ch["energy_out"] < ch["energy_in"]
        flux = np.concatenate([[0.0], np.clip(np.diff(uc), -lam, lam), [0.0]])
        residual = np.max(np.abs(uc - fc - alpha * np.diff(flux)))
        assert ch["el_residual"] == pytest.approx(residual, rel=1e-9)
        assert ch["input_min"] == fc.min() and ch["output_max"] == uc.max()


def test_report_of_an_unstable_run_says_why(step_signal):
    nl = get_nonlinearity("linear", lam=1.0)
    plan = filters.plan_resnet(nl, blocks=40, tau=0.9)
    u = filters.run_plan(plan, step_signal)
    report = filters.analyse_run(plan, step_signal, u)
    assert report["guarantees_held"] is False
    assert report["failed_checks"][0].startswith("run was not L-infinity stable: tau = 0.9")
    assert any("leaves input range" in s for s in report["failed_checks"])
    assert report["stability"]["linf_stable"] is False
