"""Channels of one noise level but different content planned apart where SURE says so
(issue 15, per channel: :func:`resdenoise.split.apart_by_content`)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resdenoise.split as split
from resdenoise.cli import cli
from resdenoise.passing import SplitPlan
from resdenoise.plans import automatic_planner, planner


def _steps(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    x = np.cumsum(rng.uniform(-1, 1, 12))[np.minimum((t * 12).astype(int), 11)]
    return x / np.std(x)


def _chirp(n):
    t = np.linspace(0, 1, n)
    x = np.sin(2 * np.pi * (5 * t + 40 * t * t))
    return x / np.std(x)


def _noisy(clean, noise=0.1, seed=0):
    return clean + noise * np.random.default_rng(seed).standard_normal(clean.shape)


def _different(n=1500, seed=0, noise=0.1):
    """Steps beside a chirp, white noise of one level (0.1 of each one's std)."""
    return _noisy(np.stack([_steps(n), _chirp(n)], axis=1), noise, seed)


def _alike(n=1500, seed=0):
    """One piecewise-constant signal in both channels, two noise draws of one level."""
    return _noisy(np.stack([_steps(n), _steps(n)], axis=1), 0.1, seed)


_PLANNERS = {
    "shrink": lambda: planner("shrink", "soft", iterations="auto"),
    "diffuse": lambda: planner("diffuse", "perona-malik", time="auto"),
    "denoise": automatic_planner,
}


def _count_searches_apart(monkeypatch) -> list:
    """The arguments of every search of one channel apart the content rule makes."""
    calls = []
    rule = split.apart_by_content

    def counted(plan_one, *args, **kwargs):
        def one(*a):
            calls.append(a)
            return plan_one(*a)

        return rule(one, *args, **kwargs)

    monkeypatch.setattr(split, "apart_by_content", counted)
    return calls


@pytest.fixture
def today(monkeypatch):
    """The planners as before the content rule (one plan for channels of one level)."""

    def plan(make_plan, u):
        with monkeypatch.context() as m:
            m.setattr(split, "apart_by_content", lambda plan_one, joint, *a, **k: joint)
            return make_plan(u)

    return plan


@pytest.mark.parametrize("mode", sorted(_PLANNERS))
def test_one_level_different_content_is_planned_apart_bit_for_bit(mode, today):
    u = _different()
    plan, extra = _PLANNERS[mode]()(u)
    assert isinstance(plan, SplitPlan), extra.get("automatic_reason")  # old: one plan
    assert extra["channels_planned_apart"].startswith("SURE lower apart by ")
    test = extra["channels_apart_sure"]
    assert sorted(test) == ["common", "level", "low_end"]
    for key in ("level", "low_end", "common"):
        t = test[key]
        assert t["change_per_sample"] < -split.CONTENT_SIGNIFICANCE * t["standard_error"], key
    out = plan.run(u)
    for c in range(2):  # each channel: the plan of a run of its own, bit for bit
        x = np.ascontiguousarray(u[:, c])
        alone, _ = _PLANNERS[mode]()(x)
        assert np.array_equal(out[:, c], alone.run(x)), c
    joint, _ = today(_PLANNERS[mode](), u)
    assert not isinstance(joint, SplitPlan)


@pytest.mark.parametrize("mode", ["shrink", "denoise"])
def test_the_decision_is_deterministic(mode):
    for u in (_different(seed=1), _alike(seed=1))[: 2 if mode == "shrink" else 1]:
        first, a = _PLANNERS[mode]()(u)
        second, b = _PLANNERS[mode]()(u.copy())
        assert type(first) is type(second)
        assert a.get("channels_apart_sure") == b.get("channels_apart_sure")
        assert np.array_equal(first.run(u), second.run(u))


@pytest.mark.parametrize("mode", sorted(_PLANNERS))
def test_alike_channels_keep_the_joint_plan_bit_for_bit(mode, today, monkeypatch):
    """The gate closes on channels alike: no search apart, no scoring (the rule's cost),
    the joint plan and its report as before, with the decision said."""
    u = _alike()
    calls = _count_searches_apart(monkeypatch)
    monkeypatch.setattr(split, "content_test", lambda *a: pytest.fail("scored"))
    plan, extra = _PLANNERS[mode]()(u)
    assert not calls  # old (ungated): each channel's own search, every time
    assert not isinstance(plan, SplitPlan) and "channels_planned_apart" not in extra
    entry = extra.pop("channels_by_content")
    assert entry["decision"] == "gate closed"
    assert entry["gate_z"] <= split.CONTENT_GATE == entry["gate_threshold"]
    assert entry["channels"] == {"channel 1": "together", "channel 2": "together"}
    joint, joint_extra = today(_PLANNERS[mode](), u)
    assert np.array_equal(plan.run(u), joint.run(u))
    assert json.dumps(extra, sort_keys=True, default=str) == json.dumps(
        joint_extra, sort_keys=True, default=str
    )


def test_the_gate_open_but_the_test_not_significant_keeps_the_joint_plan(today, monkeypatch):
    monkeypatch.setattr(split, "CONTENT_GATE", -math.inf)  # opens on every case
    u = _alike()
    plan, extra = _PLANNERS["shrink"]()(u)
    entry = extra.pop("channels_by_content")
    assert entry["decision"].startswith("test not significant (")
    assert entry["channels"] == {"channel 1": "together", "channel 2": "together"}
    assert not split.content_splits(extra.pop("channels_apart_sure"))
    joint, joint_extra = today(_PLANNERS["shrink"](), u)
    assert np.array_equal(plan.run(u), joint.run(u))
    assert json.dumps(extra, sort_keys=True, default=str) == json.dumps(
        joint_extra, sort_keys=True, default=str
    )


def _bench_pair(kind, seed=0, noise=0.1, n=2048):
    """Alike (one signal, two noise draws) or different (steps beside a chirp)."""
    a, b = (_steps(n, 3), _steps(n, 3)) if kind == "alike" else (_steps(n, 3), _chirp(n))
    return _noisy(np.stack([a, b], axis=1), noise, seed)


@pytest.mark.parametrize("seed", range(6))
def test_the_gate_reads_alike_channels_low_and_different_ones_high(seed):
    for noise in (0.05, 0.1, 0.3):
        alike = split.content_gate(_bench_pair("alike", seed, noise), [noise, noise])
        assert alike <= split.CONTENT_GATE, (noise, alike)
        different = split.content_gate(_bench_pair("different", seed, noise), [noise, noise])
        assert different > split.CONTENT_GATE * (2 if noise < 0.3 else 1), (noise, different)


def test_the_gate_is_the_same_number_in_any_order_sign_and_power_of_two():
    rng = np.random.default_rng(5)
    u = _noisy(np.stack([_steps(3001, 1), _chirp(3001), _steps(3001, 2)], axis=1))
    sigma = np.array([0.1, 0.12, 0.09])
    z = split.content_gate(u, sigma)
    assert z == split.content_gate(u.copy(), sigma.copy())
    for _ in range(5):
        order, signs = rng.permutation(3), rng.choice([-1.0, 1.0], 3)
        k = int(rng.integers(-8, 9))
        v = np.ldexp(u[:, order] * signs, k)
        assert split.content_gate(v, np.ldexp(sigma[order], k)) == z
    assert split.content_gate(u, [0.0, 0.0, 0.0]) == 0.0
    assert split.content_gate(u[:127], sigma) == 0.0  # no scale of 64 coefficients
    silent = np.zeros((1024, 2))
    assert split.content_gate(silent, [0.1, 0.1]) == 0.0


@pytest.mark.parametrize("mode", ["shrink", "denoise"])
def test_one_channel_is_planned_as_before(mode, today, monkeypatch):
    x = _different()[:, 1].copy()
    calls = _count_searches_apart(monkeypatch)
    plan, extra = _PLANNERS[mode]()(x)
    assert not calls  # no search apart, no scoring
    before, extra_before = today(_PLANNERS[mode](), x)
    assert np.array_equal(plan.run(x), before.run(x)) and extra.keys() == extra_before.keys()


def test_the_rule_needs_every_level_of_the_interval():
    ok = {"change_per_sample": -1.0, "standard_error": 0.1}
    test = {"level": ok, "low_end": ok, "common": ok}
    assert split.content_splits(test, 4.0) and not split.content_splits(test, 10.0)
    weak = {"change_per_sample": -0.3, "standard_error": 0.1}
    for key in test:
        assert not split.content_splits({**test, key: weak}, 4.0), key


def test_the_command_line_says_why_the_channels_were_planned_apart(tmp_path):
    u = _different()
    src, report = tmp_path / "two.csv", tmp_path / "r.json"
    np.savetxt(src, u, delimiter=",", header="steps,chirp", comments="")
    args = ["shrink", "--iterations", "auto", str(src), "-o", str(tmp_path / "o.csv")]
    r = CliRunner().invoke(cli, [*args, "--report", str(report)])
    assert r.exit_code == 0, r.output
    assert "channels got their own parameters (SURE lower apart by " in r.output
    rep = json.loads(report.read_text())
    assert rep["parameters"]["channels_planned_apart"].startswith("SURE lower apart by ")
    assert rep["parameters"]["channels_apart_sure"]["level"]["standard_error"] > 0
    assert [p["channels"] for p in rep["channel_plans"]] == [
        ["column 1 ('steps')"],
        ["column 2 ('chirp')"],
    ]
    assert rep["guarantees_held"]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), noise=st.floats(0.05, 0.3))
def test_each_channel_planned_apart_keeps_its_guarantees(
    split_plan_kept_its_guarantees, seed, noise
):
    u = _different(n=1200, seed=seed, noise=noise)
    plan, _ = planner("diffuse", "perona-malik", time="auto")(u)
    if not isinstance(plan, SplitPlan):
        return  # kept joint: the joint plan's own guarantees (tests elsewhere)
    split_plan_kept_its_guarantees(plan, u, plan.run(u), slack=1e-9)
