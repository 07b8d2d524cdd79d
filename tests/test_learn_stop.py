"""Training a learned network for the SURE stop (resdenoise.learn_stop, issue 16):
gradients at per-signal depths, the anchor towards the start, the stop decision."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import learn, learn_stop
from resdenoise.errors import ParameterError, SignalValuesError
from resdenoise.network import build_network, parse_network
from resdenoise.network_stop import PROBES, choose_depth


def _signal(rng, n, level):
    t = np.linspace(0.0, 1.0, n)
    clean = np.sign(np.sin(2 * np.pi * 2 * t)) + 0.4 * np.sin(2 * np.pi * 5 * t)
    return clean, clean + level * rng.standard_normal(n)


def _central(fun, p, i, step=1e-3):
    e = np.zeros_like(p)
    e[i] = step
    return (-fun(p + 2 * e) + 8 * fun(p + e) - 8 * fun(p - e) + fun(p - 2 * e)) / (12 * step)


def _written_out(u, groups, auto, depth):
    """The first ``depth`` blocks one at a time: the groups, then the last repeated on."""
    schedule = [g for g in groups for _ in range(g.repeat)]
    schedule += [groups[-1]] * max(0, depth - len(schedule))
    for g in schedule[:depth]:
        u = learn.run_network_at(
            u, [learn.Group(g.coefficients, g.lam_scale, g.tau, 1, g.scale)], auto
        )
    return u


@pytest.mark.parametrize("scales", [1, 2])
def test_gradient_at_per_signal_depths_matches_central_differences(rng, scales):
    arch = learn.Architecture(groups=2, blocks=3, bumps=3, scales=scales)
    pairs = [_signal(rng, 41, level) for level in (0.1, 0.3, 0.5)]
    obj = learn.make_objective([n for _, n in pairs], [c for c, _ in pairs])
    depths = [2, 9, 0]  # cut inside group 1; the last group repeated on; the input itself
    p = rng.normal(0.0, 1.0, arch.size)
    p[arch.per_group - 1 :: arch.per_group] = math.log(0.6)
    value, grad = learn.loss_and_gradient(p, arch, obj, depths)
    groups = learn.network_groups(p, arch)
    outputs = [
        _written_out(x, groups, auto, d)
        for x, auto, d in zip(obj.inputs, obj.lambdas, depths, strict=True)
    ]
    assert value == pytest.approx(obj.loss(outputs)[0], rel=1e-12)
    assert learn.loss_value(p, arch, obj, depths) == pytest.approx(value, rel=1e-12)
    fd = np.array(
        [
            _central(lambda q: learn.loss_and_gradient(q, arch, obj, depths)[0], p, i)
            for i in range(p.size)
        ]
    )
    scale = np.max(np.abs(fd))
    assert np.all(np.abs(grad - fd) <= 1e-6 * np.abs(fd) + 1e-9 * scale), (grad, fd)
    full = learn.loss_and_gradient(p, arch, obj, [6, 6, 6])
    np.testing.assert_array_equal(full[1], learn.loss_and_gradient(p, arch, obj)[1])
    with pytest.raises(ValueError, match="one depth per training signal"):
        learn.loss_and_gradient(p, arch, obj, [1, 2])


def test_anchor_keeps_training_near_its_start(rng):
    clean, noisy = _signal(rng, 160, 0.3)
    arch = learn.Architecture(groups=2, blocks=4, bumps=4)
    obj = learn.make_objective([noisy], [clean])
    start = learn.initial_parameters(arch, seed=2)
    free = learn.fit(obj, arch, start=start, max_iterations=6)
    held = learn.fit(obj, arch, start=start, max_iterations=6, anchor=100.0)
    assert np.linalg.norm(held.params - start) < 0.5 * np.linalg.norm(free.params - start)
    # the reported loss is the objective alone, without the anchor's term
    assert held.loss == pytest.approx(learn.loss_value(held.params, arch, obj), rel=1e-12)
    with pytest.raises(ValueError, match="anchor"):
        learn.fit(obj, arch, start=start, anchor=-1.0)


def test_fit_stopped_trains_at_the_depths_the_stop_chooses(rng):
    pairs = [_signal(rng, 200, level) for level in (0.1, 0.4)]
    noisy, clean = [n for _, n in pairs], [c for c, _ in pairs]
    arch = learn.Architecture(groups=2, blocks=3, bumps=4)
    obj = learn.make_objective(noisy, clean)
    start = learn.initial_parameters(arch, seed=1)
    result = learn_stop.fit_stopped(obj, arch, noisy, rounds=2, start=start, max_iterations=3)
    first, second = result.info["stop_training_depths"]
    assert first == learn_stop.stop_depths(noisy, learn.network_groups(start, arch))
    assert result.info["stop_training_cap"] == 24
    # deterministic; NumPy integers count as ints (errors.check_count)
    again = learn_stop.fit_stopped(
        obj, arch, noisy, rounds=np.int64(2), start=start, max_iterations=np.int64(3)
    )
    np.testing.assert_array_equal(result.params, again.params)
    with pytest.raises(ParameterError, match=r"^rounds must be an integer >= 1, got 1\.5$"):
        learn_stop.fit_stopped(obj, arch, noisy, rounds=1.5, start=start)
    # the loss it reports is the objective at the second round's depths
    value = learn.loss_value(result.params, arch, obj, second)
    assert result.loss == pytest.approx(value, rel=1e-12)
    assert result.initial_loss == pytest.approx(learn.loss_value(start, arch, obj, first))


def test_decide_stop_writes_the_stop_only_when_it_helps(rng):
    pairs = [_signal(rng, 200, level) for level in (0.1, 0.5)]
    noisy, clean = [n for _, n in pairs], [c for c, _ in pairs]
    arch = learn.Architecture(groups=1, blocks=12, bumps=4)
    groups = learn.network_groups(learn.initial_parameters(arch, seed=1), arch)
    decision = learn_stop.decide_stop(noisy, groups, clean, lambda_factors=None)
    outs = [learn.run_network_stopped(f, groups)[0] for f in noisy]
    fulls = [learn.run_network(f, groups) for f in noisy]
    stopped = sum(np.sum((o - c) ** 2) for o, c in zip(outs, clean, strict=True)) / 400
    trained = sum(np.sum((o - c) ** 2) for o, c in zip(fulls, clean, strict=True)) / 400
    assert decision.loss_stopped == pytest.approx(stopped, rel=1e-12)
    assert decision.loss_trained == pytest.approx(trained, rel=1e-12)
    assert decision.stop == (stopped < trained) and decision.max_blocks == 48
    # what run_network_stopped ran is the file with the stop as resnet --network runs it
    text = learn.network_text(groups, stop="sure", max_blocks=48)
    spec = parse_network(text)
    from resdenoise.network_stop import stopped_plan

    # (noisy[0], noise 0.1: noisy[1]'s level, 0.5, is not trusted and resnet keeps it, A22b-10)
    plan, extra = stopped_plan(build_network(spec, noisy[0]), noisy[0], spec.max_blocks)
    np.testing.assert_array_equal(plan.run(noisy[0]), outs[0])
    assert extra["blocks_chosen"] == decision.chosen[0]


def test_lambda_factors_choose_the_least_sure_of_the_scaled_networks(rng):
    clean, noisy = _signal(rng, 240, 0.3)
    arch = learn.Architecture(groups=2, blocks=4, bumps=4)
    groups = learn.network_groups(learn.initial_parameters(arch, seed=4), arch)
    factors = (0.5, 1.0, 2.0)
    out, extra = learn.stopped_run(noisy, groups, 1.0, 32, factors)
    scores = {}
    for a in factors:  # the network with every lambda scale times a, stopped alone
        scaled = [learn.Group(g.coefficients, g.lam_scale * a, g.tau, g.repeat) for g in groups]
        u, e = learn.stopped_run(noisy, scaled, 1.0, 32)
        plan = build_network(parse_network(learn.network_text(scaled)), noisy)
        depth = choose_depth(plan, noisy, 32, probes=PROBES)  # the factors' SURE: averaged
        assert depth.blocks == e["blocks_chosen"]
        scores[a] = (depth.averaged[depth.blocks], u, e["blocks_chosen"])
    best = min(factors, key=lambda a: scores[a][0])
    assert extra["lambda_factor"] == best and extra["lambda_factors"] == list(factors)
    assert extra["blocks_chosen"] == scores[best][2]
    np.testing.assert_allclose(out, scores[best][1], rtol=0, atol=1e-12)
    assert f"every lambda x {best:.4g}, of 3 factors" in extra["depth_reason"]
    decision = learn_stop.decide_stop([noisy], groups, [clean], lambda_factors=factors)
    assert set(decision.losses) == {"trained", "stopped", "stopped_lambda"}
    assert decision.loss_stopped == min(
        decision.losses["stopped"], decision.losses["stopped_lambda"]
    )


@pytest.mark.parametrize("k", [600, -600])
def test_the_stop_refuses_samples_beyond_2_to_the_200(rng, k):
    # before: decide_stop chose on SURE losses of inf/-inf (2^600) or 0 (2^-600), and
    # fit_stopped trained at the depths stop_depths chose of them
    clean, noisy = _signal(rng, 200, 0.2)
    arch = learn.Architecture(groups=2, blocks=2, bumps=4)
    start = learn.initial_parameters(arch, seed=1)
    groups = learn.network_groups(start, arch)
    obj = learn.make_objective([noisy], [clean])
    big = [np.ldexp(noisy, k)]
    message = r"^signal 1: the largest sample's magnitude .* learn cannot square the samples"
    with pytest.raises(SignalValuesError, match=message):
        learn_stop.decide_stop(big, groups)
    with pytest.raises(SignalValuesError, match="^clean signal 1: the largest sample"):
        learn_stop.decide_stop([noisy], groups, [np.ldexp(clean, k)])
    with pytest.raises(SignalValuesError, match=message):
        learn_stop.stop_depths(big, groups)
    with pytest.raises(SignalValuesError, match=message):
        learn_stop.fit_stopped(obj, arch, big, rounds=1, start=start, max_iterations=1)
