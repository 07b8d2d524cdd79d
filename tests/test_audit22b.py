"""audit22b: an ML researcher's look at learned networks, network files, learn and the
library API (a stopped network's channels, learn's figures of the file as written, the
learn library's channel orientation, network text of NumPy scalars)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})


def _table(path, values, header):
    rows = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values)
    path.write_text(header + "\n" + rows)
    return path


def _read(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=1)


def _quiet_beside_distrusted(n=600):
    """A quiet step channel beside one whose noise is 36 % of its variance (its level
    not trusted), 5.9x louder: the auditor's signal."""
    r = np.random.default_rng(5)
    t = np.linspace(0, 1, n)
    clean = np.c_[np.sign(np.sin(9 * t)), 0.5 * np.sin(25 * t)]
    return clean + np.c_[0.05 * r.standard_normal(n), 0.3 * r.standard_normal(n)]


STOPPED = """stop = "sure"
max-blocks = 64
lambda-factors = [0.5, 1.0, 2.0]

[[block]]
activation = "tanh"
repeat = 4
"""


# A22b-1 -----------------------------------------------------------------------


def test_a_stopped_network_passes_a_distrusted_channel_through_as_the_searches_do(tmp_path):
    """fails before: column b (its level not trusted, 5.9x column a's) set the automatic
    lambda of both channels: column a filtered at b's lambda, b filtered, no warning."""
    u = _quiet_beside_distrusted()
    src = _table(tmp_path / "n.csv", u, "a,b")
    alone = _table(tmp_path / "a.csv", u[:, :1], "a")
    net = tmp_path / "s.toml"
    net.write_text(STOPPED)
    out, out_a = tmp_path / "o.csv", tmp_path / "oa.csv"
    result = _run(["resnet", src, "--network", net, "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed_through"] == ["column 2 ('b')"]
    assert "column 2 ('b') passed through unchanged" in result.stderr
    assert _run(["resnet", alone, "--network", net, "-o", out_a, "-q"]).exit_code == 0
    got = _read(out)
    np.testing.assert_array_equal(got[:, 1], u[:, 1])  # as written: unchanged
    np.testing.assert_array_equal(got[:, 0], _read(out_a))  # a run of column a alone
    # --blocks auto passes the same channel through
    auto = _run(["resnet", src, "--blocks", "auto", "-o", tmp_path / "x.csv", "--json"])
    assert json.loads(auto.stdout)["passed_through"] == ["column 2 ('b')"]


# A22b-2 -----------------------------------------------------------------------


def _levels_apart(n=600):
    """Two channels whose noise levels are 5x apart (planned apart by resnet --network)."""
    r = np.random.default_rng(5)
    t = np.linspace(0, 1, n)
    clean = np.c_[np.sign(np.sin(9 * t)), np.sin(25 * t)]
    return clean, clean + np.c_[0.03 * r.standard_normal(n), 0.15 * r.standard_normal(n)]


def _groups():
    from resdenoise import learn

    arch = learn.Architecture(groups=2, blocks=4, bumps=4)
    return learn.network_groups(learn.initial_parameters(arch, seed=1), arch)


def test_learn_measures_the_stopped_network_as_resnet_runs_it(tmp_path):
    """fails before: the stop's loss, depth and factor were the channels' together (one
    depth, the loud channel's lambda) while resnet --network stops each channel of levels
    5x apart as on its own: learn's written_loss was not the output's error."""
    from resdenoise import learn, learn_stop
    from resdenoise.network import parse_network
    from resdenoise.network_stop import stopped_network

    clean, u = _levels_apart()
    groups, factors = _groups(), (0.5, 1.0, 2.0)
    net = tmp_path / "s.toml"
    net.write_text(learn.network_text(groups, stop="sure", max_blocks=32, lambda_factors=factors))
    src = _table(tmp_path / "n.csv", u, "a,b")
    out = tmp_path / "o.csv"
    result = _run(["resnet", src, "--network", net, "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    resnet = _read(out)
    # the library's stopped run is resnet's output, bit for bit, its depths per channel
    got, blocks = learn.run_network_stopped(u, groups, max_blocks=32, lambda_factors=factors)
    np.testing.assert_array_equal(got, resnet)
    spec = parse_network(net.read_text())
    alone = [stopped_network(spec, u[:, c]) for c in range(2)]  # each channel on its own
    assert blocks == tuple(e["blocks_chosen"] for _, e in alone)
    joint, _ = learn.joint_choice(u, groups, 1.0, 32, factors)  # one for both: not this
    assert np.max(np.abs(joint.run(u) - resnet)) > 1e-3
    for c, (plan, _) in enumerate(alone):
        np.testing.assert_array_equal(resnet[:, c], plan.run(u[:, c]))
    # learn's decision: the supervised loss of that output; SURE: the channels' summed
    decision = learn_stop.decide_stop([u], groups, [clean], max_blocks=32, lambda_factors=factors)
    way = "stopped_lambda"
    assert decision.losses[way] == np.mean((resnet - clean) ** 2)
    assert decision.picks[way] == ((blocks,), (tuple(e["lambda_factor"] for _, e in alone),))
    by_sure = learn_stop.decide_stop([u], groups, max_blocks=32, lambda_factors=factors)
    summed = sum(e["stopping_criterion"] for _, e in alone) / 2  # per value of 2 channels
    assert by_sure.losses[way] == pytest.approx(summed, rel=1e-12)


# A22b-3 -----------------------------------------------------------------------


def test_the_learn_library_refuses_channels_in_rows_unless_told():
    """fails before: a (2, 300) array was taken as 2 samples of 300 channels: the
    automatic lambda 6.8x the one of the same data in columns, and the network trained
    and run across the channels (rows mixed), without a word."""
    from resdenoise import learn
    from resdenoise.errors import ParameterError

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 300)
    c = np.sign(np.sin(8 * t))
    n = c + 0.1 * rng.standard_normal(300)
    rows, clean = np.stack([n, n[::-1]]), np.stack([c, c[::-1]])
    groups = _groups()
    refused = [
        lambda: learn.make_objective([rows], [clean]),
        lambda: learn.make_objective([rows.T], [clean]),  # the clean one in rows
        lambda: learn.run_network(rows, groups),
        lambda: learn.run_network_stopped(rows, groups),
        lambda: learn.stopped_run(rows, groups, 1.0, 16),
        lambda: __import__("resdenoise.learn_stop").learn_stop.stop_depths([rows], groups),
    ]
    for call in refused:
        with pytest.raises(ParameterError, match=r"has shape \(2, 300\)"):
            call()
    # told: the same as the data in columns, each output in the layout given
    told = learn.make_objective([rows], [clean], channel_axis=0)
    columns = learn.make_objective([rows.T], [clean.T])
    assert told.lambdas == columns.lambdas
    np.testing.assert_array_equal(told.inputs[0], columns.inputs[0])
    out = learn.run_network(rows, groups, channel_axis=0)
    np.testing.assert_array_equal(out, learn.run_network(rows.T, groups).T)
    got, blocks = learn.run_network_stopped(rows, groups, channel_axis=0)
    expected, depth = learn.run_network_stopped(rows.T, groups)
    np.testing.assert_array_equal(got, expected.T)
    assert blocks == depth
    with pytest.raises(ParameterError, match="channel_axis"):
        learn.make_objective([rows], [clean], channel_axis=2)


# A22b-4 -----------------------------------------------------------------------


def test_format_network_writes_numpy_numbers_as_the_numbers_they_hold():
    """fails before: ``np.float64(0.3)`` was written as its repr ``np.float64(0.3)``,
    invalid TOML that parse_network refused; np.float32 and arrays were refused."""
    from resdenoise.network import format_network, parse_network

    c = np.array([0.5, 0.1, 1 / 3])
    text = format_network([{"activation": "bumps", "coefficients": list(c), "lambda": c[1]}])
    assert "np." not in text
    block = parse_network(text).blocks[0]
    assert block.coefficients == tuple(float(x) for x in c) and block.lam == c[1]
    more = {
        "activation": "bumps",
        "coefficients": c.astype(np.float32),
        "lambda": np.float32(0.3),
        "repeat": np.int64(3),
    }
    block = parse_network(format_network([more])).blocks[0]
    assert block.coefficients == tuple(float(x) for x in c.astype(np.float32))
    assert (block.lam, block.repeat) == (float(np.float32(0.3)), 3)
    with pytest.raises(TypeError, match="cannot write True"):
        format_network([{"activation": "tanh", "lambda": np.bool_(True)}])


# A22b-10 ----------------------------------------------------------------------


def test_a_stopped_network_keeps_the_input_where_no_level_is_trusted(tmp_path):
    """fails before: a white signal (its noise estimate 103 % of its variance) lost its
    content to the stop's blocks, a two-sample file was averaged, no warning, where
    --blocks auto keeps both ("nothing done: ... the level cannot be told")."""
    net = tmp_path / "s.toml"
    net.write_text(STOPPED)
    white = np.random.default_rng(0).standard_normal((1000, 1))
    for name, values in (("white", white), ("two", np.array([[1.0], [2.0]]))):
        src = _table(tmp_path / f"{name}.csv", values, "v")
        out = tmp_path / f"{name}_out.csv"
        result = _run(["resnet", src, "--network", net, "-o", out, "--json"])
        assert result.exit_code == 0, result.output
        np.testing.assert_array_equal(_read(out), values[:, 0])
        report = json.loads(result.stdout)
        assert report["parameters"]["blocks_chosen"] == 0
        assert "the level cannot be told" in report["parameters"]["do_no_harm"]
        assert report["warnings"][0].startswith("nothing done: column 1 ('v'): the estimated")
        auto = _run(["resnet", src, "--blocks", "auto", "-o", tmp_path / "a.csv", "--json"])
        assert json.loads(auto.stdout)["warnings"][0] == report["warnings"][0]
    # the level given: searched and filtered, as --blocks auto then does (at the level of
    # its noise: at 0.5, half of it, both keep the input by the gain test, left23)
    src = tmp_path / "white.csv"
    given = _run(["resnet", src, "--network", net, "--sigma", "1", "-o", tmp_path / "g.csv"])
    assert given.exit_code == 0 and "nothing done" not in given.stderr
    assert not np.array_equal(_read(tmp_path / "g.csv"), white[:, 0])


# A22b-5 -----------------------------------------------------------------------


def test_a_networks_summary_counts_its_scales_not_its_groups(tmp_path):
    """fails before: '3 scales filtered (strides 2, 2, 1)' for a network of 2 scales (its
    report lists one entry per group)."""
    net = tmp_path / "g.toml"
    group = '[[block]]\nactivation = "tanh"\nlambda = 0.5\nrepeat = 2\nscale = {}\n\n'
    net.write_text(group.format(2) + group.format(2) + group.format(1))
    u = np.sin(np.linspace(0, 6, 200)) + 0.1 * np.random.default_rng(1).standard_normal(200)
    src = _table(tmp_path / "n.csv", u[:, None], "v")
    result = _run(["resnet", src, "--network", net, "-o", tmp_path / "o.csv"])
    assert result.exit_code == 0, result.output
    assert "2 scales filtered (strides 2, 1) in 3 groups" in result.stderr


# A22b-6 -----------------------------------------------------------------------


def test_bumps_named_where_it_needs_coefficients_says_how_it_is_used(tmp_path):
    """fails before: 'Unknown activation 'bumps'. Valid names: ...' (resnet, the
    library) and "'bumps' is not one of ..." (dictionary --family), for a family the
    README calls registered."""
    import resdenoise
    from resdenoise.errors import ParameterError

    src = _table(tmp_path / "n.csv", np.arange(50.0)[:, None], "v")
    result = _run(["resnet", src, "--activation", "bumps", "--blocks", 3, "-o", tmp_path / "o"])
    assert result.exit_code == 2
    assert "'bumps' is a parametrised family" in result.stderr
    assert "translate --activation bumps --coefficients" in result.stderr
    with pytest.raises(ParameterError, match=r"get_parametrised\('bumps', coefficients"):
        resdenoise.resnet(np.arange(50.0), "bumps")
    listed = _run(["dictionary", "--family", "bumps"])
    assert listed.exit_code == 2 and "bumps is a parametrised family" in listed.stderr
    assert "translate --activation bumps --coefficients" in listed.stderr


# A22b-8 -----------------------------------------------------------------------


def test_a_bumps_vector_is_sampled_for_monotonicity_once(monkeypatch):
    """fails before: parse and build each sampled every group's Phi (about 15-30 ms a
    vector of 32): 5 samplings for 3 groups of 2 distinct vectors, now 2."""
    from resdenoise import nonlinearities
    from resdenoise.network import build_network, parse_network

    calls = []
    sample = nonlinearities.bumps_monotone
    monkeypatch.setattr(nonlinearities, "bumps_monotone", lambda c: calls.append(c) or sample(c))
    cached = getattr(nonlinearities, "_bumps_entry_of", None)  # (none before)
    if cached is not None:
        cached.cache_clear()  # sampled here, whatever ran before
    c = np.random.default_rng(22).random((2, 32)) * 0.03
    group = '[[block]]\nactivation = "bumps"\nlambda = 0.5\ncoefficients = [{}]\n\n'
    said = [", ".join(repr(float(x)) for x in row) for row in c]
    spec = parse_network(group.format(said[0]) + group.format(said[1]) + group.format(said[0]))
    plan = build_network(spec, np.sin(np.linspace(0, 6, 128)))
    assert len(calls) == 2 and [g[1].entry.convex for g in plan.groups] == [
        sample(tuple(row)) for row in c[[0, 1, 0]]
    ]


# A22b-12 ----------------------------------------------------------------------


def test_a_long_description_or_label_is_shown_cut_and_kept_whole_in_json(tmp_path):
    """fails before: a 900 kB description printed whole in the two-line summary (900 kB
    of stderr; 1.97 MB with -v)."""
    net = tmp_path / "long.toml"
    net.write_text(
        f'description = "{"A" * 90000}"\n[[block]]\nactivation = "tanh"\nlabel = "{"B" * 10000}"\n'
    )
    src = _table(tmp_path / "n.csv", np.sin(np.arange(64.0))[:, None], "v")
    for verbose in ([], ["-v"]):
        result = _run(["resnet", src, "--network", net, "-o", tmp_path / "o.csv", *verbose])
        assert result.exit_code == 0, result.output
        assert len(result.stderr) < 10000  # (-v's tables: 5 kB)
        assert "A" * 119 + "… (90000 characters)" in result.stderr
        if verbose:  # the blocks' table: the label cut too
            assert "… (10000 characters)" in result.stderr and "B" * 121 not in result.stderr
    result = _run(["resnet", src, "--network", net, "-o", tmp_path / "o.csv", "--json"])
    assert json.loads(result.stdout)["name"] == "network " + "A" * 90000


# A22b-7 -----------------------------------------------------------------------


def test_translate_notes_a_shrinkage_form_above_the_sign_bound():
    """fails before: g = 3 showed S(s) = -2 s as its shrinkage with every condition
    holding and no remark; bumps of sum c = 1.1 likewise (S < 0 for small s > 0)."""
    from resdenoise.dictionary import translate
    from resdenoise.expr import expression_nonlinearity
    from resdenoise.nonlinearities import get_nonlinearity, get_parametrised

    three = translate(expression_nonlinearity("3 + 0*r", "diffusivity"), "diffusivity")
    s, values = three["forms"]["shrinkage"]["x"], three["forms"]["shrinkage"]["values"]
    np.testing.assert_allclose(values, -2.0 * np.asarray(s), atol=1e-12)  # s (1 - 3)
    (note,) = three["notes"]
    assert "sign-stable bound h^2/(4 g_max) = 0.0833333" in note
    assert "L-infinity bound (0.166667)" in note and "no shrinkage" in note
    bumps = translate(get_parametrised("bumps", [0.3, 0.1, 0.5, 0.2], lam=0.7))
    (note,) = bumps["notes"]
    assert "0.227273" in note and "L-infinity" not in note  # 1/(4 x 1.1); 1/2.2 > 1/4
    for name in ("perona-malik", "tanh", "soft"):  # g_max 1: S is a shrinkage
        assert translate(get_nonlinearity(name, "activation", 1.0))["notes"] == []


# A22b-13 ----------------------------------------------------------------------


def test_learn_by_sure_says_the_sure_of_probes_it_did_not_fit(tmp_path):
    """fails before: the summary said the SURE the network was fitted to, its own probe:
    0.00323 -> 0.00250 (0.77x) where the output's true error rose 1.6 %."""
    r = np.random.default_rng(11)
    t = np.linspace(0, 1, 5000)
    clean = np.sign(np.sin(13 * t)) + 0.5 * np.sin(40 * t)
    src = _table(tmp_path / "n.csv", (clean + 0.2 * r.standard_normal(5000))[:, None], "v")
    ratios = {}
    for it in (0, 5):
        net, out = tmp_path / f"s{it}.toml", tmp_path / f"o{it}.csv"
        args = ["learn", src, "--objective", "sure", "--sigma", 0.2, "--stop", "none"]
        args += ["--training-iterations", it, "--blocks-per-group", 8, "-o", net, "--json"]
        result = _run(args)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        fresh = report["sure_fresh_probes"]
        assert fresh["probes"] == 4 and "SURE by 4 probes training did not fit" in result.stderr
        assert _run(["resnet", src, "--network", net, "-o", out, "-q"]).exit_code == 0
        ratios[it] = (np.mean((_read(out) - clean) ** 2), fresh["loss"], report["loss_ratio"])
    truth = ratios[5][0] / ratios[0][0]  # 1.016: training made it worse
    said = ratios[5][1] / ratios[0][1]  # the fresh probes' (0.98)
    assert truth > 1.0 and abs(said - truth) < 0.05
    assert ratios[5][2] < 0.8  # the training's own probe: 0.77 (kept in loss_ratio)


def test_learn_by_sure_keeps_the_trained_depths_sure_where_the_stop_keeps_the_input():
    """The stop keeps a white signal (A22b-10) after one block searched; the trained
    depth's SURE is still the network's without its stop, every block (resnet --network
    runs it so), not lost (None) with the stop's short search."""
    from resdenoise import learn, learn_stop

    white = np.random.default_rng(0).standard_normal(1000)
    groups = _groups()
    decision = learn_stop.decide_stop([white], groups, lambda_factors=None)
    kept = learn.stopped_choice(white, groups, 1.0, decision.max_blocks)[1]
    assert kept["blocks_chosen"] == 0 and "do_no_harm" in kept
    joint = learn.joint_choice(white, groups, 1.0, decision.max_blocks)[1]
    assert decision.losses["trained"] == joint["sure_at_network_depth"]
    assert decision.losses["stopped"] == kept["stopping_criterion"]
