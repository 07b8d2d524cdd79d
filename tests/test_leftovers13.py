"""Left-overs of session 35 (leftovers13): an Opus output on stdout, huge block counts,
the library's scale caps, version 2 network files, the CSV check pass's bar, and the
total variation of rounded PCM outputs."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import numpy as np
import pytest
import soundfile
from test_audit_messages import _error

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io import WriteOptions, encode_signal, read_signal

STEPS = ["--steps", "3"]


def _wav(tmp_path, rate: int = 48000, name: str = "in.wav"):
    rng = np.random.default_rng(13)
    x = 0.3 * np.sign(np.sin(np.arange(4800) / 40.0)) + 0.05 * rng.standard_normal(4800)
    path = tmp_path / name
    soundfile.write(str(path), x, rate, subtype="PCM_16")
    return path


# 1. -o - --output-format opus wrote Ogg Vorbis (only a .opus name made Opus)


@pytest.mark.parametrize("chunk", ["0", "1000"])
def test_opus_on_stdout_is_opus(runner, tmp_path, chunk):
    src = _wav(tmp_path)
    args = ["diffuse", str(src), *STEPS, "-q", "--chunk-size", chunk, "-o", "-"]
    result = runner.invoke(cli, [*args, "--output-format", "opus"])
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(io.BytesIO(result.stdout_bytes))
    assert (info.format, info.subtype) == ("OGG", "OPUS")
    result = runner.invoke(cli, [*args, "--output-format", "ogg"])  # ogg: still Vorbis
    assert soundfile.info(io.BytesIO(result.stdout_bytes)).subtype == "VORBIS"


def test_opus_format_wins_over_an_ogg_name_and_names_batch_outputs(runner, tmp_path):
    src = _wav(tmp_path)
    out = tmp_path / "o.ogg"
    result = runner.invoke(
        cli, ["diffuse", str(src), *STEPS, "-q", "--output-format", "opus", "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(str(out)).subtype == "OPUS"
    other = _wav(tmp_path, name="two.wav")
    args = ["diffuse", str(src), str(other), *STEPS, "-q", "--output-format", "opus"]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "dir") + "/"])
    assert result.exit_code == 0, result.stderr
    for name in ("in.opus", "two.opus"):
        assert soundfile.info(str(tmp_path / "dir" / name)).subtype == "OPUS"


def test_opus_format_with_another_codec_is_refused_in_one_line(runner, tmp_path):
    src = _wav(tmp_path)
    args = ["diffuse", str(src), *STEPS, "--subtype", "vorbis", "--output-format", "opus"]
    result = runner.invoke(cli, [*args, "-o", "-"])
    line = _error(result, 2)
    assert "--output-format opus holds Opus, not" in line and "--output-format ogg" in line, line
    assert result.stdout_bytes == b""


def test_library_opus_format_on_stdout(tmp_path):
    sig = read_signal(_wav(tmp_path))
    payload, stats = encode_signal("-", sig, WriteOptions(format="opus"))
    assert (stats["format"], stats["subtype"]) == ("OGG", "OPUS")
    assert soundfile.info(io.BytesIO(payload)).subtype == "OPUS"
    with pytest.raises(ParameterError, match="output_format='opus' holds Opus, not VORBIS"):
        encode_signal("-", sig, WriteOptions(format="opus", subtype="VORBIS"))


# 2. huge block counts: the command line refused them, but the library's plan functions,
# searches and engine ran on (10**13 blocks: 300 years per million samples; 2**70: the same)

HUGE = [10**8 + 1, 10**13, 2**70]


def _pm():
    from resdenoise.nonlinearities import get_nonlinearity

    return get_nonlinearity("perona-malik", "diffusivity", 1.0)


@pytest.mark.parametrize("count", HUGE)
def test_the_engine_refuses_more_blocks_than_a_run_may_take(count):
    from resdenoise.engine import InPlaceRun, run_blocks, run_strided

    x = np.linspace(0.0, 1.0, 16)
    with pytest.raises(
        ParameterError, match=r"blocks are more than a run may take \(at most 100,000,000"
    ):
        run_blocks(x, _pm(), 0.25, count)
    with pytest.raises(ParameterError, match="give fewer blocks"):
        run_strided(x, _pm(), 0.25, count, 2)
    with pytest.raises(ParameterError, match="give fewer blocks"):
        InPlaceRun(_pm(), 0.25, 1.0, x.shape)(x.copy(), count)


@pytest.mark.parametrize("count", HUGE)
def test_the_plans_and_searches_refuse_more_blocks_than_a_run_may_take(count):
    from resdenoise.autoparams import choose_parameters
    from resdenoise.multilevel import plan_levels
    from resdenoise.multiscale import plan_diffusion_scales
    from resdenoise.network import build_network, parse_network
    from resdenoise.network_stop import choose_depth
    from resdenoise.stopping_search import choose_steps

    x = np.sin(np.arange(64) / 5.0)
    with pytest.raises(ParameterError, match="give fewer blocks$"):
        plan_diffusion_scales("perona-malik", [1.0, 1.0], [count, 1], 0.25)
    with pytest.raises(ParameterError, match="give fewer iterations$"):
        plan_levels("soft", [0.1, 0.1], count)
    for search in (
        lambda: choose_parameters(x, "perona-malik", "diffusivity", tau=0.25, max_blocks=count),
        lambda: choose_steps(x, _pm(), 0.25, max_blocks=count),
    ):
        with pytest.raises(ParameterError, match="give fewer max_blocks$"):
            search()
    spec = parse_network('[[block]]\ndiffusivity = "perona-malik"\nlambda = 1.0\n')
    with pytest.raises(ParameterError, match="give fewer max_blocks$"):
        choose_depth(build_network(spec, x), x, count)


def test_scales_blocks_are_counted_in_all():
    from resdenoise.multiscale import plan_diffusion_scales

    per = 10**8 // 2 + 1
    with pytest.raises(ParameterError, match="^100000002 blocks are more than a run may take"):
        plan_diffusion_scales("perona-malik", [1.0, 1.0], [per, per], 0.25)
    assert plan_diffusion_scales("perona-malik", [1.0, 1.0], [3, 2], 0.25).steps == 5


@pytest.mark.parametrize(
    ("tau", "largest"), [("0.25", "2.5e+07"), ("0.1", "1e+07"), ("1e-10", "0.01")]
)
def test_too_long_a_time_names_the_largest_time(runner, tmp_path, tau, largest):
    src = _wav(tmp_path)
    args = ["diffuse", str(src), "--time", "1e300", "--tau", tau, "-o", str(tmp_path / "o.wav")]
    line = _error(runner.invoke(cli, args), 2)
    assert line.endswith(f"give a smaller --time, at most {largest}"), line
    assert "inf years" not in line, line
    args[3] = largest  # the largest is taken (the plan, not the run: 10^8 blocks take long)
    from resdenoise.filters import _blocks_for

    assert _blocks_for(float(largest), float(tau)) <= 10**8


def test_a_network_file_of_too_many_blocks_says_how_many(runner, tmp_path):
    block = '[[block]]\ndiffusivity = "perona-malik"\nlambda = 1.0\nrepeat = 6000000\n'
    net = tmp_path / "n.toml"
    net.write_text(block * 2)
    args = ["resnet", str(_wav(tmp_path)), "--network", str(net), "-o", str(tmp_path / "o.wav")]
    line = _error(runner.invoke(cli, args), 2)
    assert "12000000 blocks in all (the blocks' repeat counts summed); at most 10000000" in line


# 3. the library's choose functions capped the scales silently (the command line says so)


def _choosers():
    from resdenoise.multilevel import choose_levels
    from resdenoise.multiscale import choose_cascade, choose_diffusion_scales

    return [(choose_levels, "soft"), (choose_cascade, "soft"), (choose_diffusion_scales, "pm")]


@pytest.mark.parametrize(
    ("n", "scales", "said"),
    [
        (100, 6, "6 scales asked, at most 4 used: the most a signal of 100 samples holds"),
        (100, 20, "20 scales asked, at most 4 used: the most a signal of 100 samples holds"),
        (4096, 20, "20 scales asked, at most 8 used: the most there are (strides up to 2^7)"),
    ],
)
def test_the_choose_functions_warn_where_they_use_fewer_scales(n, scales, said):
    x = np.sin(np.arange(n) / 5.0) + 0.1 * np.random.default_rng(3).standard_normal(n)
    for choose, name in _choosers():
        with pytest.warns(UserWarning, match=f"^{re.escape(said)}") as caught:
            _, choice = choose(x, name, scales)
        assert len(caught) == 1 and caught[0].filename == __file__  # the caller's line
        assert len(choice.risks) == int(said.split("at most ")[1].split()[0])


def test_the_choose_functions_are_quiet_within_what_a_signal_holds():
    x = np.sin(np.arange(100) / 5.0)
    for choose, name in _choosers():  # warnings are errors in the tests
        for scales in (None, 1, 4):
            choose(x, name, scales)
        with pytest.raises(ParameterError, match="scales must be an integer >= 1"):
            choose(x, name, 0)


def test_the_command_line_says_the_cap_once(runner, tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("".join(f"{v!r}\n" for v in np.sin(np.arange(100) / 5.0).tolist()))
    for command in (["shrink"], ["diffuse", "--time", "auto"]):
        args = [*command, str(src), "--scales", "6", "-o", str(tmp_path / "o.csv")]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        assert result.stderr.count("6 scales asked, at most 4 used") == 1, result.stderr


# 4. network files: version 2 (threshold = shrink --threshold's) was read, written by nothing


THRESHOLD_BLOCKS = [
    {"shrinkage": "garrote", "threshold": 0.2, "repeat": 3, "label": "coarse"},
    {"shrinkage": "soft", "threshold": 0.05},
]


@pytest.mark.parametrize("h", [1.0, 0.5, 2.0])
def test_a_written_threshold_reads_back_to_the_same_network(h):
    from resdenoise.network import (
        BlockSpec,
        NetworkSpec,
        build_network,
        format_network,
        parse_network,
    )

    x = np.sign(np.sin(np.arange(300) / 20.0)) + 0.1 * np.random.default_rng(4).standard_normal(300)
    before = NetworkSpec(
        "memory",
        (
            BlockSpec(
                1, None, "shrinkage", name="garrote", threshold=0.2, repeat=3, label="coarse"
            ),
            BlockSpec(2, None, "shrinkage", name="soft", threshold=0.05),
        ),
        h=h,
        version=2,
    )
    text = format_network(THRESHOLD_BLOCKS, h=h)
    assert text.splitlines()[0] == "version = 2"
    after = parse_network(text, "written.toml")
    assert after.version == 2
    assert [replace(b, line=None) for b in after.blocks] == list(before.blocks)
    ran, back = build_network(before, x), build_network(after, x)
    assert [g[1].lam for g in back.groups] == [np.sqrt(2) * 0.2 / h, np.sqrt(2) * 0.05 / h]
    np.testing.assert_array_equal(ran.run(x.copy()), back.run(x.copy()))  # bit for bit


def test_a_written_threshold_network_runs_on_the_command_line(runner, tmp_path):
    from resdenoise.network import build_network, format_network, parse_network

    x = np.sign(np.sin(np.arange(300) / 20.0)) + 0.1 * np.random.default_rng(5).standard_normal(300)
    src, net, out = tmp_path / "x.csv", tmp_path / "n.toml", tmp_path / "o.csv"
    src.write_text("".join(f"{v!r}\n" for v in x.tolist()))
    net.write_text(format_network(THRESHOLD_BLOCKS, h=0.5))
    result = runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-q", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    expected = build_network(parse_network(net.read_text()), x).run(x.copy())
    np.testing.assert_array_equal(np.loadtxt(out), expected)


def test_a_network_without_thresholds_is_written_as_before():
    from resdenoise.network import format_network

    text = format_network([{"activation": "tanh", "lambda": 0.5, "repeat": 2}], h=1.0)
    assert "version" not in text  # version 1 and 2 read it alike


# 5. a streamed CSV file's checking pass showed a count without a total on a terminal


def _big_csv(tmp_path):
    x = np.sin(np.arange(120_000) / 300.0) + 0.1 * np.random.default_rng(6).standard_normal(120_000)
    src = tmp_path / "big.csv"
    src.write_text("".join(f"{v!r}\n" for v in x.tolist()))
    assert src.stat().st_size > 2 << 20  # three pieces read: the bar moves before its end
    return src


def test_a_streamed_csv_check_counts_bytes_to_the_size(tmp_path):
    from resdenoise import pipeline

    src = _big_csv(tmp_path)
    seen = []
    pipeline.run_file(
        pipeline.planner("resnet", "tanh", blocks=2),
        str(src),
        str(tmp_path / "o.csv"),
        run=pipeline.RunOptions(chunk_size=10_000),
        progress=lambda *a: seen.append(a),
    )
    size = src.stat().st_size
    checks = [(done, total) for phase, done, total in seen if phase == "check-bytes"]
    assert [d for d, _ in checks] == [1 << 20, 2 << 20, size]  # every piece read, in order
    assert {t for _, t in checks} == {size} and "check" not in {p for p, _, _ in seen}


def _terminal_text(tmp_path, env):
    from test_audit11b import _on_a_terminal

    src = _big_csv(tmp_path)
    args = ["diffuse", str(src), "--steps", "3", "--chunk-size", "10000"]
    raw = _on_a_terminal([*args, "-o", str(tmp_path / "o.csv")], env)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)


def test_the_csv_check_has_a_bar_with_percentage_rate_and_eta(tmp_path):
    text = _terminal_text(tmp_path, {"TERM": "xterm", "COLUMNS": "200", "CI": ""})
    lines = [ln for ln in re.split(r"[\r\n]+", text) if "big.csv checking" in ln]
    assert lines, text
    assert any(re.search(r"\b[1-9]\d?% +1048576/\d+ ", ln) for ln in lines), lines  # by bytes
    assert any(re.search(r"bytes/s .*ETA", ln) for ln in lines), lines


def test_the_csv_check_bar_is_silent_in_ci(tmp_path):
    text = _terminal_text(tmp_path, {"COLUMNS": "200", "CI": "true", "TERM": "xterm"})
    assert "checking" not in text and "%" not in text, text


def test_the_csv_check_draws_no_bar_on_a_dumb_terminal(tmp_path):
    # a plain line every few seconds there (session 39), whole lines: no escape sequence,
    # no carriage return of a redraw (the terminal's newline is \r\n)
    from test_audit11b import _on_a_terminal

    args = ["diffuse", str(_big_csv(tmp_path)), "--steps", "3", "--chunk-size", "10000"]
    raw = _on_a_terminal([*args, "-o", str(tmp_path / "o.csv")], {"COLUMNS": "200", "TERM": "dumb"})
    assert "\x1b" not in raw and not re.search(r"\r(?!\n)", raw), repr(raw)
    progress = [line for line in raw.splitlines() if " % " in line]
    assert all(re.fullmatch(r"big\.csv \w[\w ,]*: \d+ % .*", line) for line in progress), raw


# 6. integer PCM outputs: the written samples' total variation (and sign changes)


def _written(path, column: int) -> tuple[float, int]:
    from resdenoise.signs import sign_changes

    q = soundfile.read(str(path), dtype="int16", always_2d=True)[0][:, column].astype(np.int64)
    return float(np.abs(np.diff(q)).sum()) / 32768, int(sign_changes(q)[0])


@pytest.mark.parametrize("chunk", ["0", "700"])
def test_the_written_tv_and_sign_changes_are_the_files(runner, tmp_path, chunk):
    import json

    rng = np.random.default_rng(7)
    x = 0.3 * np.sin(np.arange(5000) / 9.0)[:, None] * [1, 0.02] + 3e-5 * rng.standard_normal(
        (5000, 2)
    )  # the second channel a few steps high: rounding matters
    src, out, report = tmp_path / "st.wav", tmp_path / "o.wav", tmp_path / "r.json"
    soundfile.write(str(src), x, 8000, subtype="FLOAT")
    args = ["diffuse", str(src), "--steps", "5", "--columns", "2", "--subtype", "PCM_16"]
    args += ["--chunk-size", chunk, "-q", "-o", str(out), "--report", str(report)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    rounding = json.loads(report.read_text())["output_rounding"]
    tv, signs = _written(out, 1)  # the filtered channel (the first carried beside it)
    assert rounding["output_tv"] == [tv] and rounding["output_sign_changes"] == [signs]
    assert rounding["output_min"] == [
        soundfile.read(str(out), dtype="int16")[0][:, 1].min() / 32768
    ]


TV_RISES = [-0.13, 0.6, 0.82, 2.21, 1.16, 0.37, 0.33, 2.01]  # steps of PCM_16


def test_rounding_that_raises_the_tv_above_the_input_is_said(runner, tmp_path):
    import json

    src, out, report = tmp_path / "t.csv", tmp_path / "o.wav", tmp_path / "r.json"
    src.write_text("# samplerate: 8000\n" + "".join(f"{v / 32768!r}\n" for v in TV_RISES))
    args = ["diffuse", str(src), "--diffusivity", "linear", "--lambda", "1", "--tau", "0.1"]
    args += ["--steps", "1", "--subtype", "PCM_16", "-o", str(out), "--report", str(report)]
    result = runner.invoke(cli, [*args, "-v"], terminal_width=200)
    assert result.exit_code == 0, result.stderr
    r = json.loads(report.read_text())
    rounding, channel = r["output_rounding"], r["channels"][0]
    assert rounding["output_tv"] == [6 / 32768] and channel["tv_in"] < 6 / 32768  # 5.9 steps
    assert channel["tv_out"] < channel["tv_in"]  # the run diminished it; rounding raised it
    assert rounding["tv_above_input"] == [True] and rounding["output_sign_changes"] == [0]
    assert r["guarantees_held"] and r["failed_checks"] == []  # said, not a failed guarantee
    said = " ".join(result.stderr.split())
    assert (
        "column 1: rounding to PCM_16 raised the total variation to 0.000183105, above the input's"
        in said
    )
    assert "total variation written (PCM_16)" in said and "sign changes written (PCM_16)" in said


def test_rounding_that_keeps_the_tv_says_nothing(runner, tmp_path):
    import json

    src, out, report = _wav(tmp_path), tmp_path / "o.wav", tmp_path / "r.json"
    args = ["diffuse", str(src), *STEPS, "-o", str(out), "--report", str(report), "-v"]
    result = runner.invoke(cli, args, terminal_width=200)
    assert result.exit_code == 0, result.stderr
    rounding = json.loads(report.read_text())["output_rounding"]
    assert (
        rounding["tv_above_input"] == [False] and "raised the total variation" not in result.stderr
    )
    assert rounding["output_tv"] == [_written(out, 0)[0]]
