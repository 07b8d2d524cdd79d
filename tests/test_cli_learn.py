"""``resdenoise learn`` on the command line: files in, a network file out, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from resdenoise import learn, learn_stop
from resdenoise.cli import cli
from resdenoise.io import read_signal

FAST = ["--groups", "2", "--blocks", "3", "--bumps", "4", "--iterations", "4", "--start", "random"]


def _write(path, data):
    path.write_text("\n".join(repr(float(x)) for x in data) + "\n")
    return path


@pytest.fixture
def pair(tmp_path, rng):
    t = np.linspace(0.0, 1.0, 160)
    clean = np.sign(np.sin(2 * np.pi * 2 * t))
    noisy = clean + 0.3 * rng.standard_normal(t.size)
    return _write(tmp_path / "noisy.csv", noisy), _write(tmp_path / "clean.csv", clean)


def _groups(report):
    return [
        learn.Group(tuple(g["coefficients"]), g["lambda_scale"], g["tau"], g["repeat"], g["scale"])
        for g in report["learned_groups"]
    ]


@pytest.mark.parametrize("scales", ["1", "2"])
def test_learned_file_runs_through_resnet_bit_for_bit(runner, tmp_path, pair, scales):
    noisy, clean = pair
    net = tmp_path / "net.toml"
    args = ["learn", str(noisy), "--clean", str(clean), "-o", str(net), "--scales", scales]
    result = runner.invoke(cli, [*args, "--json", "--stop", "none", *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["objective"] == "supervised" and report["loss"] < report["initial_loss"]
    assert report["stability"]["sign_stable"]
    # with strides (--scales 2) the guarantee is per subsequence (audit11a D3), not the whole
    # signal's: before, 'sign stable by construction' either way
    scope = " per subsequence" if scales == "2" else ""
    assert f"sign stable{scope} by construction" in result.stderr
    assert "2 groups x 3 blocks" in result.stderr
    assert report["optimiser_message"] in ("converged", "stopped at the iteration limit (4)")
    assert report["optimiser_message"] in result.stderr
    out = tmp_path / "out.csv"
    run = runner.invoke(cli, ["resnet", str(noisy), "--network", str(net), "-o", str(out), "-q"])
    assert run.exit_code == 0, run.output
    groups = [
        learn.Group(tuple(g["coefficients"]), g["lambda_scale"], g["tau"], g["repeat"], g["scale"])
        for g in report["learned_groups"]
    ]
    trained = learn.run_network(read_signal(str(noisy)).data, groups)
    np.testing.assert_array_equal(read_signal(str(out)).data, trained)


def test_same_seed_same_file(runner, tmp_path, pair):
    noisy, _ = pair
    texts = []
    for name in ("a.toml", "b.toml"):
        result = runner.invoke(
            cli, ["learn", str(noisy), "-o", str(tmp_path / name), "--seed", "7", *FAST]
        )
        assert result.exit_code == 0, result.output
        texts.append((tmp_path / name).read_text())
    assert texts[0] == texts[1]


def test_per_file_filters_as_resnet_network(runner, tmp_path, pair):
    noisy, _ = pair
    out, net, again = tmp_path / "out.csv", tmp_path / "net.toml", tmp_path / "again.csv"
    args = ["learn", "--per-file", str(noisy), "-o", str(out), "--network-out", str(net)]
    result = runner.invoke(cli, [*args, "--objective", "noise2self", *FAST])
    assert result.exit_code == 0, result.output
    assert "guarantees held" in result.stderr
    run = runner.invoke(cli, ["resnet", str(noisy), "--network", str(net), "-o", str(again), "-q"])
    assert run.exit_code == 0
    assert out.read_bytes() == again.read_bytes()


def test_directories_of_pairs(runner, tmp_path, rng):
    for sub in ("noisy", "clean"):
        (tmp_path / sub).mkdir()
    for name in ("a.csv", "b.csv"):
        clean = np.sign(np.sin(np.linspace(0, 9, 80)))
        _write(tmp_path / "clean" / name, clean)
        _write(tmp_path / "noisy" / name, clean + 0.2 * rng.standard_normal(80))
    net = tmp_path / "net.toml"
    args = ["learn", str(tmp_path / "noisy"), "--clean", str(tmp_path / "clean"), "-o", str(net)]
    result = runner.invoke(cli, [*args, "--json", *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p.rsplit("/", 1)[-1] for p in report["inputs"]] == ["a.csv", "b.csv"]
    assert report["samples"] == 160


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["{noisy}", "-o", "{noisy}"], 1, "would overwrite the input file"),
        (["{noisy}", "--clean", "{clean}", "-o", "{clean}"], 1, "would overwrite the input file"),
        (
            ["{noisy}", "--clean", "{clean}", "--clean", "{clean}", "-o", "{dir}/n.toml"],
            2,
            "one clean file per noisy file",
        ),
        (
            ["{noisy}", "--clean", "{clean}", "--objective", "sure", "-o", "{dir}/n.toml"],
            2,
            "learns without --clean",
        ),
        (["{noisy}", "--objective", "supervised", "-o", "{dir}/n.toml"], 2, "needs --clean"),
        (["--per-file", "{noisy}", "{clean}", "-o", "{dir}/o.csv"], 2, "give one"),
        (
            ["{noisy}", "--network-out", "{dir}/x.toml", "-o", "{dir}/n.toml"],
            2,
            "--network-out is for --per-file",
        ),
        (["{dir}/missing.csv", "-o", "{dir}/n.toml"], 1, "missing.csv"),
        (["{noisy}", "-o", "{dir}/nodir/n.toml"], 1, "does not exist"),
        (
            ["{noisy}", "--clean", "{short}", "-o", "{dir}/n.toml"],
            1,
            "samples x 1 channel, but its noisy file",
        ),
        (["-", "-", "-o", "{dir}/n.toml"], 2, "- and - are both stdin ('-'), which is read once;"),
        (["{noisy}", "--stop", "none", "--max-blocks", "9", "-o", "{dir}/n.toml"], 2, "caps"),
        (["{noisy}", "--delimiter", "x", "-o", "{dir}/n.toml"], 2, "delimiter"),
        (["{noisy}", "--scales", "3", "-o", "{dir}/n.toml"], 2, "must not exceed groups"),
    ],
)
def test_errors_are_one_line(runner, tmp_path, pair, args, code, message):
    noisy, clean = pair
    short = _write(tmp_path / "short.csv", np.zeros(50))
    names = {"noisy": noisy, "clean": clean, "dir": tmp_path, "short": short}
    before = {p: p.read_bytes() for p in (noisy, clean)}
    result = runner.invoke(cli, ["learn", *[a.format(**names) for a in args], *FAST])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in (noisy, clean)} == before
    assert not (tmp_path / "n.toml").exists()


def test_quiet_and_pipes_print_no_progress(runner, tmp_path, pair):
    noisy, _ = pair
    result = runner.invoke(cli, ["learn", str(noisy), "-o", str(tmp_path / "n.toml"), "-q", *FAST])
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == ""


def test_fixed_lambda_and_sure_with_a_given_sigma(runner, tmp_path, pair):
    noisy, _ = pair
    net = tmp_path / "n.toml"
    args = ["learn", str(noisy), "-o", str(net), "--fixed-lambda", "--sigma", "0.3", "--json"]
    result = runner.invoke(cli, [*args, *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["objective"] == "sure" and report["noise_sigma"] == [[0.3]]
    assert [g["lambda_scale"] for g in report["learned_groups"]] == [1.0, 1.0]
    assert net.read_text().count("lambda-scale = 1.0") == 2
    history = report["history"]
    assert history[0] == report["initial_loss"] and all(
        b <= a for a, b in zip(history, history[1:], strict=False)
    )


def test_sigma_is_for_sure_only(runner, tmp_path, pair):
    noisy, clean = pair
    args = [
        "learn",
        str(noisy),
        "--clean",
        str(clean),
        "--sigma",
        "0.1",
        "-o",
        str(tmp_path / "n.toml"),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "--sigma is for --objective sure" in result.stderr


def test_fixed_start_begins_at_the_best_family_and_runs_bit_for_bit(runner, tmp_path, pair):
    noisy, clean = pair
    net, out = tmp_path / "net.toml", tmp_path / "out.csv"
    args = ["learn", str(noisy), "--clean", str(clean), "-o", str(net), "--stop", "none"]
    result = runner.invoke(  # the fixed start is the default
        cli, [*args, "--groups", "2", "--blocks", "10", "--iterations", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    f = read_signal(str(noisy)).data
    scores = report["warm_start_scores"]
    assert report["start"] == "fixed" and set(scores) == {x[0] for x in learn.FIXED_FAMILIES}
    assert report["initial_loss"] == scores[report["warm_start_family"]] == min(scores.values())
    assert report["warm_start_steps"] <= 20 and report["blocks_per_group"] <= 10
    assert report["warm_start_coarse_amount"] is None  # one scale: no coarse group
    assert report["loss"] <= report["initial_loss"]
    run = runner.invoke(cli, ["resnet", str(noisy), "--network", str(net), "-o", str(out), "-q"])
    assert run.exit_code == 0, run.output
    groups = [
        learn.Group(tuple(g["coefficients"]), g["lambda_scale"], g["tau"], g["repeat"], g["scale"])
        for g in report["learned_groups"]
    ]
    np.testing.assert_array_equal(read_signal(str(out)).data, learn.run_network(f, groups))


@pytest.mark.parametrize("scales", ["1", "2"])
def test_stop_sure_file_runs_through_resnet_bit_for_bit(runner, tmp_path, pair, scales):
    noisy, clean = pair
    net, out = tmp_path / "net.toml", tmp_path / "out.csv"
    args = ["learn", str(noisy), "--clean", str(clean), "-o", str(net), "--scales", scales]
    result = runner.invoke(cli, [*args, "--stop", "sure", "--max-blocks", "40", "--json", *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stop"] == "sure" and report["stop_max_blocks"] == 40
    assert 'stop = "sure"\nmax-blocks = 40\n' in net.read_text()
    assert "depth per signal by SURE" in result.stderr
    assert 'stop = "sure", up to 40 blocks; --stop sure)' in result.stderr
    factors = report["stop_lambda_factors"]  # --stop sure: SURE chooses a common factor too
    assert factors == list(learn_stop.LAMBDA_FACTORS)
    assert "lambda-factors = [0.25, 0.3535533905932738, 0.5, " in net.read_text()
    assert "and one of 9 lambda factors (chose " in result.stderr  # not "a factor of 9"
    run = runner.invoke(cli, ["resnet", str(noisy), "--network", str(net), "-o", str(out)])
    assert run.exit_code == 0, run.output
    f = read_signal(str(noisy)).data
    expected, blocks = learn.run_network_stopped(
        f, _groups(report), max_blocks=40, lambda_factors=factors
    )
    np.testing.assert_array_equal(read_signal(str(out)).data, expected)
    assert [blocks] == report["stop_blocks_chosen"]
    assert f"{blocks} blocks chosen by sure" in run.stderr
    # the trained network itself is something else unless SURE chose its depth
    if blocks != 6:
        assert not np.array_equal(expected, learn.run_network(f, _groups(report)))
    report_run = runner.invoke(
        cli, ["resnet", str(noisy), "--network", str(net), "-o", str(out), "--json", "-q"]
    )
    params = json.loads(report_run.stdout)["parameters"]
    assert params["blocks_chosen"] == blocks and params["network_depth"] == 6
    assert params["max_blocks"] == 40 and params["stopping_rule"] == "sure"
    assert params["depth_reason"].startswith(("SURE least at", "no depth beat"))


def test_stop_auto_keeps_the_smaller_training_loss(runner, tmp_path, pair):
    noisy, clean = pair
    net = tmp_path / "net.toml"
    args = ["learn", str(noisy), "--clean", str(clean), "-o", str(net), "--json", *FAST]
    report = json.loads(runner.invoke(cli, [*args, "--stop", "auto"]).stdout)
    assert report["stop_asked"] == "auto"
    f, c = read_signal(str(noisy)).data, read_signal(str(clean)).data
    stopped, _ = learn.run_network_stopped(f, _groups(report))
    factored, _ = learn.run_network_stopped(
        f, _groups(report), lambda_factors=learn_stop.LAMBDA_FACTORS
    )
    trained = learn.run_network(f, _groups(report))
    losses = report["stop_losses"]
    assert losses["stopped"] == pytest.approx(np.mean((stopped - c) ** 2), rel=1e-12)
    assert losses["stopped_lambda"] == pytest.approx(np.mean((factored - c) ** 2), rel=1e-12)
    assert losses["trained"] == pytest.approx(np.mean((trained - c) ** 2), rel=1e-12)
    assert report["loss_stopped_by_sure"] == min(losses["stopped"], losses["stopped_lambda"])
    better = report["loss_stopped_by_sure"] < report["loss_at_trained_depth"]
    assert report["stop"] == ("sure" if better else None)
    assert ('stop = "sure"' in net.read_text()) == better
    with_factors = losses["stopped_lambda"] < losses["stopped"]
    assert report["stop_lambda_factors"] == (
        list(learn_stop.LAMBDA_FACTORS) if with_factors else None
    )


def test_same_seed_same_stopped_file_and_output(runner, tmp_path, pair):
    noisy, _ = pair
    outs = []
    for name in ("a", "b"):
        net, out = tmp_path / f"{name}.toml", tmp_path / f"{name}.csv"
        args = ["learn", "--per-file", str(noisy), "-o", str(out), "--network-out", str(net)]
        result = runner.invoke(cli, [*args, "--stop", "sure", "--seed", "3", *FAST])
        assert result.exit_code == 0, result.output
        outs.append((net.read_text(), out.read_bytes()))
    assert outs[0] == outs[1] and 'stop = "sure"' in outs[0][0]


def test_learn_reads_stdin_with_the_shared_read_options(runner, tmp_path, pair):
    noisy, _ = pair
    values = read_signal(str(noisy)).data
    text = "".join(f"{i};{float(v)!r}\n" for i, v in enumerate(values))
    semi = tmp_path / "semi.csv"
    semi.write_text(text)
    nets = []
    for source, stdin in ((str(semi), None), ("-", text)):
        net = tmp_path / f"n{len(nets)}.toml"
        args = [
            "learn",
            source,
            "--delimiter",
            ";",
            "--columns",
            "2",
            "--no-header",
            "-o",
            str(net),
        ]
        result = runner.invoke(cli, [*args, "--seed", "1", *FAST], input=stdin)
        assert result.exit_code == 0, result.output
        nets.append(net.read_text().split("\n", 1)[1])  # after the comment naming the input
    plain = tmp_path / "plain.toml"
    result = runner.invoke(cli, ["learn", str(noisy), "-o", str(plain), "--seed", "1", *FAST])
    assert result.exit_code == 0, result.output
    assert nets[0] == nets[1] == plain.read_text().split("\n", 1)[1]


def test_per_file_from_stdin_filters_as_resnet_network(runner, tmp_path, pair):
    noisy, _ = pair
    out, net, again = tmp_path / "out.csv", tmp_path / "net.toml", tmp_path / "again.csv"
    args = ["learn", "--per-file", "-", "-o", str(out), "--network-out", str(net), *FAST]
    result = runner.invoke(cli, args, input=noisy.read_text())
    assert result.exit_code == 0, result.output
    assert "<stdin> -> " in result.stderr
    run = runner.invoke(cli, ["resnet", str(noisy), "--network", str(net), "-o", str(again), "-q"])
    assert run.exit_code == 0, run.output
    np.testing.assert_array_equal(read_signal(str(out)).data, read_signal(str(again)).data)


@pytest.mark.parametrize(
    ("k", "args", "named"),
    [
        (600, ["--per-file", "{noisy}", "-o", "{out}", "--network-out", "{net}"], "noisy"),
        (-600, ["{noisy}", "-o", "{net}"], "noisy"),
        (600, ["{plain}", "--clean", "{clean}", "-o", "{net}"], "clean"),
    ],
)
def test_samples_beyond_2_to_the_200_are_refused_in_one_line(
    runner, tmp_path, pair, k, args, named
):
    # before: exit 2 on a coefficient "nan" with numpy warnings, or a network trained on
    # a loss of 0 written with exit 0
    noisy, clean = pair
    paths = {
        "noisy": _write(tmp_path / "big.csv", np.ldexp(np.loadtxt(noisy), k)),
        "clean": _write(tmp_path / "cbig.csv", np.ldexp(np.loadtxt(clean), k)),
        "plain": noisy,
        "out": tmp_path / "out.csv",
        "net": tmp_path / "net.toml",
    }
    argv = ["learn", *(a.format(**{key: str(p) for key, p in paths.items()}) for a in args)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.invoke(cli, argv + FAST)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {paths[named]}: the largest sample")
    assert "learn cannot square the samples; divide them by a power of two" in lines[0]
    assert not paths["out"].exists() and not paths["net"].exists()


@pytest.mark.parametrize("scales", ["1", "2", "3"])
def test_fixed_start_keeps_blocks_per_group_at_most_blocks(runner, tmp_path, pair, scales):
    """--blocks is the most per group with --scales > 1 too (audit12a D3). Before: the
    copied choice spread over the stride-1 groups only and every group got that count
    (--groups 3 --blocks 6 --scales 2: 3 groups of 18)."""
    noisy, clean = pair
    net = tmp_path / "net.toml"
    args = ["learn", str(noisy), "--clean", str(clean), "-o", str(net), "--scales", scales]
    args += ["--groups", "3", "--blocks", "6", "--iterations", "0", "--stop", "none", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    repeats = [g["repeat"] for g in json.loads(result.stdout)["learned_groups"]]
    assert len(repeats) == 3 and 1 <= max(repeats) <= 6, repeats


def test_the_warm_start_tells_its_searches(pair):
    """learn's --start fixed searches five families first: said as it goes (audit12c D3),
    and the start the same told or not."""
    noisy = [read_signal(str(pair[0])).data]
    arch = learn.Architecture(groups=2, blocks=3, bumps=4, scales=2)
    seen = []
    told = learn.warm_start(noisy, arch, max_blocks=6, progress=lambda *a: seen.append(a))
    labels = [f[0] for f in learn.FIXED_FAMILIES]
    total = len(labels) + len(learn.COARSE_AMOUNTS)
    assert seen[0] == (f"warm start: {labels[0]}", 0, total)
    assert seen[-1] == ("warm start: coarse groups", total, total)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    assert {p for p, _, _ in seen} == {f"warm start: {x}" for x in [*labels, "coarse groups"]}
    silent = learn.warm_start(noisy, arch, max_blocks=6)
    assert np.array_equal(told.params, silent.params) and told.family == silent.family


def test_learn_on_a_terminal_shows_the_warm_start_and_a_full_bar(
    runner, tmp_path, pair, monkeypatch
):
    import io
    import re

    from rich.console import Console

    from resdenoise.cli import render

    seen = io.StringIO()
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(
        render, "stderr_console", lambda: Console(file=seen, force_terminal=True, width=200)
    )
    monkeypatch.setattr(render, "show_progress", lambda quiet: not quiet)
    args = ["learn", str(pair[0]), "-o", str(tmp_path / "n.toml"), "--iterations", "3"]
    result = runner.invoke(cli, [*args, "--groups", "2", "--blocks", "3", "--bumps", "4"])
    assert result.exit_code == 0, result.output
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.getvalue())
    assert "learn warm start, searching: diffuse" in text  # the first family, before training
    bar = [line for line in re.split(r"[\r\n]", text) if "iterations, loss" in line][-1]
    assert re.search(r"\d+%", bar) and "iterations/s" in bar and "ETA" in bar


@pytest.mark.parametrize("objective", ["sure", "supervised", "noise2self"])
def test_the_stops_losses_say_whose_they_are(runner, tmp_path, pair, objective):
    """Under SURE the stop's losses are by its own Monte-Carlo probe, not the training's:
    said, so that the trained depth's two values are not read as one (audit12c D6);
    supervised, the same error twice: no such words; noise2self training, no SURE to
    differ from."""
    noisy, truth = pair
    args = ["learn", str(noisy), "-o", str(tmp_path / "n.toml"), "--stop", "sure", "--json"]
    given = {"sure": [], "supervised": ["--clean", str(truth)]}
    args += given.get(objective, ["--objective", objective])
    result = runner.invoke(cli, [*args, *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    line = next(x for x in result.stderr.splitlines() if "at the trained depth" in x)
    trained = f"{report['loss_at_trained_depth']:.6g} at the trained depth"
    if objective == "supervised":
        assert f"supervised loss {trained}" in line and "probe" not in line
    elif objective == "sure":
        assert "SURE by the stop's own Monte-Carlo probe (the training's loss above " in line
        assert f"another, hence another value): {trained}" in line
        assert "sure loss" not in line
    else:
        assert f"SURE by the stop's own Monte-Carlo probe: {trained}" in line
