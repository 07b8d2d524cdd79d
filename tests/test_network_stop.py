"""A network file's depth chosen per signal by SURE (``stop = "sure"``, issue 16)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from resdenoise.cli import cli
from resdenoise.engine import run_blocks, run_strided
from resdenoise.io import read_signal
from resdenoise.network import build_network, format_network, parse_network
from resdenoise.network_stop import choose_depth, cut_network, stopped_network, stopped_plan
from resdenoise.noise import resolve_sigma
from resdenoise.scaling import times_power_of_two

STOPPED = """
stop = "sure"
max-blocks = 45

[[block]]
diffusivity = "perona-malik"
repeat = 3

[[block]]
activation = "tanh"
scale = 2
repeat = 2
"""

PROBE_SEED = 20200207  # the seed of autoparams' probe, as the automatic modes use it
PROBES = 4  # lambda factors: the divergence averaged over seeds PROBE_SEED, PROBE_SEED + 1, ...


@pytest.fixture
def noisy(rng):
    t = np.linspace(0.0, 1.0, 300)
    return np.where(t < 0.4, 0.0, 1.0) + np.sin(6 * t) + 0.2 * rng.standard_normal(t.size)


@pytest.fixture
def trusted(rng):
    """``noisy`` at noise 0.1: ``noisy``'s 0.2 on 300 samples is, within its error, over a
    quarter of the variance, and resnet --network keeps it (fix22b's A22b-10)."""
    t = np.linspace(0.0, 1.0, 300)
    return np.where(t < 0.4, 0.0, 1.0) + np.sin(6 * t) + 0.1 * rng.standard_normal(t.size)


def _oracle_sure_curve(f, spec, cap, probes=1):
    """SURE after k = 0..cap blocks, written out: the groups one block at a time with
    the engine, the divergence from seeded probes as in Ramani, Blu and Unser, averaged
    over ``probes`` of them (each probed copy run on its own)."""
    sigma = resolve_sigma(f[:, None], None, search=True).sigma[0]
    bs = [
        np.random.default_rng(PROBE_SEED + i).standard_normal((f.size, 1))[:, 0]
        for i in range(probes)
    ]
    eps = 0.5 * sigma
    plan = build_network(spec, f)
    schedule = [g for g in plan.groups for _ in range(g[0].repeat)]
    schedule += [plan.groups[-1]] * (cap - len(schedule))
    u, ups, curve = f.copy(), [f + eps * b for b in bs], []
    for k in range(cap + 1):
        div = np.mean([np.mean(b * (up - u)) / eps for b, up in zip(bs, ups, strict=True)])
        curve.append(np.mean((f - u) ** 2) - sigma**2 + 2 * sigma**2 * div)
        if k == cap:
            break
        g, nl, tau = schedule[k]
        if g.scale > 1:
            u, *ups = (run_strided(x, nl, tau, 1, g.scale) for x in (u, *ups))
        else:
            u, *ups = (run_blocks(x, nl, tau, 1) for x in (u, *ups))
    return np.array(curve)


def test_depth_is_the_least_sure_of_the_blocks_then_the_last_group_repeated(noisy):
    spec = parse_network(STOPPED, "s.toml")
    assert (spec.stop, spec.max_blocks) == ("sure", 45)
    plan = build_network(spec, noisy)
    choice = choose_depth(plan, noisy, 45)
    short = choose_depth(plan, noisy, np.int64(3))  # a NumPy integer counts (check_count)
    assert short.criterion == choice.criterion[:4] and short.searched == 3
    curve = _oracle_sure_curve(noisy, spec, choice.searched)
    np.testing.assert_allclose(choice.criterion, curve, rtol=1e-9, atol=1e-12)
    assert choice.averaged is None
    # with more probes: the same depth (the first probe's), and SURE averaged over them
    more = choose_depth(plan, noisy, 45, probes=PROBES)
    assert more.criterion == choice.criterion and more.blocks == choice.blocks
    averaged = _oracle_sure_curve(noisy, spec, choice.searched, probes=PROBES)
    np.testing.assert_allclose(more.averaged, averaged, rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(averaged[1:] - curve[1:])) > 1e-3 * np.max(np.abs(curve))
    best = int(np.argmin(curve))
    assert choice.blocks == (0 if curve[best] > curve[0] * 0.99 else best)
    assert 0 < choice.blocks and choice.listed == 5
    # the plan cut there is the file's blocks (then the last group) written out
    cut, extra = stopped_plan(plan, noisy, 45)
    assert extra["blocks_chosen"] == choice.blocks == cut.steps
    u = noisy.copy()
    for g, nl, tau in [x for x in plan.groups for _ in range(x[0].repeat)][: choice.blocks]:
        u = run_strided(u, nl, tau, 1, g.scale) if g.scale > 1 else run_blocks(u, nl, tau, 1)
    for _ in range(max(0, choice.blocks - 5)):
        g, nl, tau = plan.groups[-1]
        u = run_strided(u, nl, tau, 1, g.scale)
    np.testing.assert_allclose(cut.run(noisy), u, rtol=0, atol=1e-13)
    assert cut.verdict().sign_stable


def test_cut_network_shortens_and_extends_the_groups(noisy):
    plan = build_network(parse_network(STOPPED, "s.toml"), noisy)
    assert [g[0].repeat for g in cut_network(plan, 2).groups] == [2]
    assert [g[0].repeat for g in cut_network(plan, 4).groups] == [3, 1]
    assert [g[0].repeat for g in cut_network(plan, 9).groups] == [3, 6]
    empty = cut_network(plan, 0)
    assert empty.steps == 0 and np.array_equal(empty.run(noisy), noisy)


def test_a_clean_signal_keeps_its_input():
    t = np.linspace(0.0, 1.0, 400)
    clean = np.sin(2 * np.pi * 3 * t)
    plan, extra = stopped_plan(build_network(parse_network(STOPPED), clean), clean, 45)
    assert extra["blocks_chosen"] == 0 and np.array_equal(plan.run(clean), clean)
    assert extra["depth_reason"].endswith("the input is kept")


def test_stop_keys_round_trip_through_the_file_bit_for_bit(noisy):
    spec = parse_network(STOPPED, "s.toml")
    blocks = [
        {"diffusivity": "perona-malik", "repeat": 3},
        {"activation": "tanh", "scale": 2, "repeat": 2},
    ]
    text = format_network(blocks, stop="sure", max_blocks=45)
    again = parse_network(text, "s.toml")
    assert (again.stop, again.max_blocks) == (spec.stop, 45)
    assert [replace(b, line=None) for b in again.blocks] == [
        replace(b, line=None) for b in spec.blocks
    ]
    a, _ = stopped_plan(build_network(spec, noisy), noisy, spec.max_blocks)
    b, _ = stopped_plan(build_network(again, noisy), noisy, again.max_blocks)
    assert np.array_equal(a.run(noisy), b.run(noisy))
    default = parse_network(STOPPED.replace("max-blocks = 45\n", ""))
    _, extra = stopped_plan(build_network(default, noisy), noisy, default.max_blocks)
    assert extra["max_blocks"] == 20  # 4 x the file's 5 blocks


def _write(path, data):
    path.write_text("\n".join(repr(float(x)) for x in data) + "\n")
    return path


def test_resnet_network_with_the_stop_reports_depth_and_why(runner, tmp_path, trusted):
    noisy = trusted  # a level the trust rules take (A22b-10)
    src, net, out = _write(tmp_path / "in.csv", noisy), tmp_path / "s.toml", tmp_path / "o.csv"
    net.write_text(STOPPED)
    result = runner.invoke(
        cli, ["resnet", str(src), "--network", str(net), "-o", str(out), "--json", "-v"]
    )
    assert result.exit_code == 0, result.output
    params = json.loads(result.stdout)["parameters"]
    f = read_signal(str(src)).data
    spec = parse_network(STOPPED, str(net))
    plan, extra = stopped_plan(build_network(spec, f), f, 45)
    np.testing.assert_array_equal(read_signal(str(out)).data, plan.run(f))
    assert {k: params[k] for k in extra} == extra
    assert f"{extra['blocks_chosen']} blocks chosen by sure" in result.stderr
    table = " ".join(result.stderr.replace("│", " ").split())  # the -v table, unwrapped
    assert "depth_reason = SURE least at" in table and "network_depth = 5" in table
    again = tmp_path / "again.csv"
    runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-o", str(again), "-q"])
    assert again.read_bytes() == out.read_bytes()  # deterministic: the probe is seeded


def test_bad_stop_key_is_one_line_naming_file_and_field(runner, tmp_path, noisy):
    src, net, out = _write(tmp_path / "in.csv", noisy), tmp_path / "bad.toml", tmp_path / "o.csv"
    net.write_text(STOPPED.replace('stop = "sure"', 'stop = "early"'))
    before = src.read_bytes()
    result = runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{net}: stop (line 2): unknown stop 'early'" in result.stderr
    assert not out.exists() and src.read_bytes() == before


def test_stop_refuses_a_file_in_chunks(runner, tmp_path, noisy):
    src, net, out = _write(tmp_path / "in.csv", noisy), tmp_path / "s.toml", tmp_path / "o.csv"
    net.write_text(STOPPED)
    args = ["resnet", str(src), "--network", str(net), "-o", str(out), "--chunk-size", "100"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "needs the whole signal" in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()


def test_lambda_factors_in_the_file_choose_a_common_factor(runner, tmp_path, trusted):
    noisy = trusted  # a level the trust rules take (A22b-10)
    text = STOPPED.replace("max-blocks = 45\n", "max-blocks = 45\nlambda-factors = [0.5, 1, 2]\n")
    src, net, out = _write(tmp_path / "in.csv", noisy), tmp_path / "s.toml", tmp_path / "o.csv"
    net.write_text(text)
    result = runner.invoke(
        cli, ["resnet", str(src), "--network", str(net), "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    params = json.loads(result.stdout)["parameters"]
    f = read_signal(str(src)).data
    spec = parse_network(text, str(net))
    assert spec.lambda_factors == (0.5, 1.0, 2.0)
    sure = {}
    for a in spec.lambda_factors:  # each factor searched alone, lambdas scaled by hand
        scaled = [replace(b, lam_scale=a) for b in spec.blocks]  # auto lambda x a
        plan = build_network(replace(spec, blocks=tuple(scaled)), f)
        choice = choose_depth(plan, f, 45, probes=PROBES)  # each factor's depth ...
        averaged = choice.averaged[choice.blocks]  # ... compared by the averaged SURE
        sure[a] = (averaged, cut_network(plan, choice.blocks), choice.criterion[choice.blocks])
    best = min(spec.lambda_factors, key=lambda a: sure[a][0])
    assert params["lambda_factor"] == best and params["lambda_factors"] == [0.5, 1.0, 2.0]
    assert params["lambda_factor_sure"] == sure[best][0]
    assert params["stopping_criterion"] == sure[best][2]
    np.testing.assert_array_equal(read_signal(str(out)).data, sure[best][1].run(f))


@pytest.mark.parametrize("k", [600, -600, 300])
def test_stop_at_extreme_amplitudes_is_the_unscaled_choice_times_2_to_the_k(noisy, k):
    # u * 2**k with every lambda times 2**k: the depth, factor, output of u, times 2**k;
    # before, SURE was inf/nan or 0 there and the input was kept
    def spec(scale):
        text = 'stop = "sure"\nlambda-factors = [0.5, 1, 2]\n' + STOPPED.replace(
            'stop = "sure"\n', ""
        ).replace('"perona-malik"\n', f'"perona-malik"\nlambda = {0.3 * scale!r}\n')
        return parse_network(text, "s.toml")

    plan, extra = stopped_network(spec(1.0), noisy)
    big = np.ldexp(noisy, k)
    plan_k, extra_k = stopped_network(spec(2.0**k), big)
    assert extra["blocks_chosen"] > 0
    assert extra_k["blocks_chosen"] == extra["blocks_chosen"]
    assert extra_k["lambda_factor"] == extra["lambda_factor"]
    assert np.array_equal(plan_k.run(big), np.ldexp(plan.run(noisy), k))
    for key in ("stopping_criterion", "sure_of_input", "lambda_factor_sure"):  # x 4**k
        assert extra_k[key] == times_power_of_two(extra[key], 2 * k)  # inf, 0 beyond 2^+-512


def test_stop_at_extreme_amplitudes_on_the_command_line(runner, tmp_path, trusted):
    noisy = trusted  # a level the trust rules take (A22b-10)
    net = tmp_path / "s.toml"
    net.write_text('stop = "sure"\n[[block]]\nactivation = "tanh"\nrepeat = 4\n')
    outs = []
    for k in (0, -600):
        src, out = tmp_path / f"s{k}.csv", tmp_path / f"o{k}.csv"
        src.write_text("v\n" + "".join(f"{float(a)!r}\n" for a in np.ldexp(noisy, k)))
        result = runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-o", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(read_signal(str(out)).data)
    assert np.array_equal(outs[1], np.ldexp(outs[0], -600))
    assert not np.array_equal(outs[1], np.ldexp(noisy, -600).reshape(outs[1].shape))
