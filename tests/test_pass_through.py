"""Channels whose noise level the automatic modes cannot trust are passed through.

Before, one channel over the do-no-harm level rules (the estimated noise over 25 % of its
variance, within its error or by the nugget's white part, or the level not identified) kept
the whole input: a stereo WAV with one noisy channel, or a CSV with one rough column among
smooth noisy ones, came out unfiltered.  Now those channels are passed through bit for bit
and the automatic search (level, lambda, stopping, impulse pre-stage, gain test) runs on the
others alone, exactly as on a file of those columns (``--columns``): the same output and
choice.  Where every channel fails, the input is kept as before
(tests/test_harm_channels.py names the channels then).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from resdenoise import pipeline, stream_choice
from resdenoise.automatic import choose_denoiser
from resdenoise.cli import cli
from resdenoise.filters import analyse_run, as_identity, plan_diffuse
from resdenoise.noise import search_noise
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.passing import ChannelsPlan, pass_through
from resdenoise.pipeline import RunOptions, automatic_planner, planner, run_file
from resdenoise.stream import filter_in_chunks

N = 300
WHY = "the estimated noise (quiet-windows) is "


def _three() -> np.ndarray:
    """A smooth noisy channel, a white one (its level not trusted), a smooth noisy one."""
    r = np.random.default_rng(0)
    t = np.arange(N)
    a = np.sin(2 * np.pi * 3 * t / N) + 0.05 * r.standard_normal(N)
    rough = r.standard_normal(N)
    b = np.cos(2 * np.pi * 2 * t / N) + 0.08 * r.standard_normal(N)
    return np.column_stack([a, rough, b])


def _csv(path, x, header="time,a,rough,b") -> str:
    rows = "".join(f"{i}," + ",".join(map(repr, row)) + "\n" for i, row in enumerate(x.tolist()))
    path.write_text(header + "\n" + rows)
    return str(path)


@pytest.fixture
def three_csv(tmp_path):
    return _csv(tmp_path / "three.csv", _three())


@pytest.fixture
def stereo_wav(tmp_path):
    """Left: a tone in small noise; right: noise alone (its level not trusted)."""
    r = np.random.default_rng(3)
    t = np.arange(4000)
    left = 0.5 * np.sin(2 * np.pi * 5 * t / 4000) + 0.02 * r.standard_normal(4000)
    right = np.clip(0.3 * r.standard_normal(4000), -1, 1)
    src = tmp_path / "stereo.wav"
    soundfile.write(src, np.column_stack([left, right]), 8000, "PCM_16")
    return str(src)


AUTOMATIC = {
    "denoise": lambda: automatic_planner(),
    "diffuse time auto": lambda: planner("diffuse", "perona-malik", time="auto"),
    "shrink scales auto": lambda: planner("shrink", "soft", scales="auto"),
    "regularise alpha auto": lambda: planner("regularise", "charbonnier", alpha="auto"),
}


@pytest.mark.parametrize("mode", sorted(AUTOMATIC))
def test_the_library_passes_the_untrusted_channel_and_searches_the_others_alone(mode):
    x = _three()
    make_plan = AUTOMATIC[mode]()
    plan, extra = make_plan(x)
    assert isinstance(plan, ChannelsPlan) and plan.keep == (0, 2) and plan.passed == (1,)
    alone, alone_extra = make_plan(x[:, [0, 2]], labels=["channel 1", "channel 3"])
    # the two channels alone are of one level: the content rule's decision (joint here) is
    # theirs; a search with a channel passed through does not try that rule
    assert alone_extra.pop("channels_by_content")["decision"] == "gate closed"
    y = plan.run(x)
    assert np.array_equal(y[:, 1], x[:, 1])  # bit for bit the input
    assert np.array_equal(y[:, [0, 2]], alone.run(np.ascontiguousarray(x[:, [0, 2]])))
    assert not np.array_equal(y[:, 0], x[:, 0])  # filtered
    assert plan.steps == alone.steps and plan.tau == alone.tau and plan.command == alone.command
    assert {k: v for k, v in extra.items() if k not in alone_extra and k != "warnings"} == {
        "passed_through_reasons": {"channel 2": extra["passed_through_reasons"]["channel 2"]},
        "filtered_channels": ["channel 1", "channel 3"],
    }
    assert extra["passed_through_reasons"]["channel 2"].startswith(WHY)
    assert extra["warnings"][0].startswith(f"channel 2 passed through unchanged: {WHY}")
    assert extra["warnings"][0].endswith("; give --sigma if you know the noise level")
    assert extra["warnings"][1:] == alone_extra.get("warnings", [])
    shared = {k: v for k, v in extra.items() if k in alone_extra and k != "warnings"}
    assert json.dumps(shared, sort_keys=True, default=str) == json.dumps(
        {k: v for k, v in alone_extra.items() if k != "warnings"}, sort_keys=True, default=str
    )


def test_one_channel_left_is_searched_as_a_lone_channel():
    """Of two channels, the trusted one is searched with shape (n,), as a file of that
    one column is read: the plan and its run equal choose_denoiser of that channel."""
    x = _three()[:, :2]
    plan, extra = choose_denoiser(x)
    alone, alone_extra = choose_denoiser(x[:, 0], labels=["channel 1"])
    assert plan.passed == (1,) and extra["automatic_choice"] == alone_extra["automatic_choice"]
    y = plan.run(x)
    assert np.array_equal(y[:, 0], alone.run(x[:, 0])) and np.array_equal(y[:, 1], x[:, 1])


def test_a_level_given_for_every_channel_is_searched_with_the_kept_channels_levels():
    """choose_denoiser given a NoiseLevel of all three channels: the search of the two kept
    gets their two levels (it got all three: a broadcasting error), as a search of those
    channels alone given theirs."""
    x = _three()
    level = search_noise(x)
    plan, extra = choose_denoiser(x, sigma=level)
    kept = level.of_channels([0, 2])
    assert np.array_equal(kept.sigma, level.sigma[[0, 2]]) and kept.per_channel() == [
        level.per_channel()[c] for c in (0, 2)
    ]
    alone, alone_extra = choose_denoiser(x[:, [0, 2]], sigma=kept)
    assert plan.passed == (1,) and extra["automatic_choice"] == alone_extra["automatic_choice"]
    assert extra["noise_estimators"] == alone_extra["noise_estimators"]
    y = plan.run(x)
    assert np.array_equal(y[:, [0, 2]], alone.run(np.ascontiguousarray(x[:, [0, 2]])))
    assert np.array_equal(y[:, 1], x[:, 1])


@pytest.mark.parametrize("mode", sorted(AUTOMATIC))
def test_the_level_rules_are_read_once_where_no_channel_is_passed_through(monkeypatch, mode):
    """Where every channel is trusted, the channels' level rules (a variance pass) are
    read once per search: by the pass-through check, and do_no_harm takes its answer
    (it read them again).  The joint search alone: where its channels, of one level, are
    searched apart too (:func:`resdenoise.split.apart_by_content`), each of those is a
    search of its own, and reads its channel's rules once."""
    from resdenoise import split, untrusted

    calls = []
    read = untrusted._distrusted
    monkeypatch.setattr(untrusted, "_distrusted", lambda *args: calls.append(1) or read(*args))
    monkeypatch.setattr(split, "apart_by_content", lambda plan_one, joint, *a, **k: joint)
    plan, extra = AUTOMATIC[mode]()(_three()[:, [0, 2]])
    assert type(plan) is not ChannelsPlan and plan.steps > 0 and len(calls) == 1


def test_a_plan_passing_channels_delegates_to_its_filter_explicitly():
    """A plan of one scale passing channels through has no checks per scale: None, as
    any plan of one scale (its scale_checks raised AttributeError, seen through hasattr);
    one of several scales checks the kept channels.  map_filter changes the filter and
    passes the same channels; filtering is the inner plan (as_identity, probe_flux and
    the search's unscaling go through them)."""
    from resdenoise.multilevel import plan_levels

    x = _three()
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.2)
    inner = plan_diffuse(nl, steps=3)
    plan = pass_through(inner, [0, 2], 3)
    assert inner.scale_checks is None and plan.scale_checks is None
    assert inner.passed == () and plan.passed == (1,)
    assert inner.filtering is inner and plan.filtering is inner
    assert inner.map_filter(as_identity) == as_identity(inner)
    mapped = plan.map_filter(as_identity)
    assert isinstance(mapped, ChannelsPlan) and (mapped.keep, mapped.count) == ((0, 2), 3)
    assert mapped.inner == as_identity(inner) and mapped.steps == 0
    levels = plan_levels("soft", [0.3, 0.2])
    scaled = pass_through(levels, [0, 2], 3)
    assert scaled.scale_checks(x) == levels.scale_checks(np.ascontiguousarray(x[:, [0, 2]]))


def test_every_channel_untrusted_keeps_the_input_as_before():
    x = np.random.default_rng(1).standard_normal((N, 3))
    plan, extra = choose_denoiser(x)
    assert type(plan) is not ChannelsPlan and plan.steps == 0
    assert np.array_equal(plan.run(x), x)
    assert extra["automatic_reason"].startswith("channel 1: " + WHY)
    assert "passed_through_reasons" not in extra


def test_the_plan_runs_in_chunks_and_measures_as_a_whole():
    """A plan passing channels through is a plan like any: in chunks with its inner
    plan's halo the same bits, its identity the input, its report names the channels
    passed through and measures them (output = input)."""
    x = _three()
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.2)
    plan = pass_through(plan_diffuse(nl, steps=7), [0, 2], 3)
    assert plan.halo == 7 and plan.verdict() == plan.inner.verdict()
    y = plan.run(x)
    assert np.array_equal(filter_in_chunks(plan, x, chunk=40), y)
    assert np.array_equal(y[:, [0, 2]], plan.inner.run(np.ascontiguousarray(x[:, [0, 2]])))
    assert np.array_equal(as_identity(plan).run(x), x)
    report = analyse_run(plan, x, y, labels=["a", "rough", "b"])
    assert report["passed_through"] == ["rough"] and report["guarantees_held"]
    c = report["channels"][1]
    assert (c["input_min"], c["tv_in"]) == (c["output_min"], c["tv_out"])
    assert "passed_through" not in analyse_run(plan.inner, x, plan.inner.run(x))
    with pytest.raises(ValueError, match="each at most once"):
        pass_through(plan.inner, [0, 0], 3)


def test_an_impulse_prestage_stays_on_its_channels():
    """The impulse pre-stage of the searched channels is the plan's, on those channels:
    a run in chunks is refused (it needs the whole signal), the guarantees are measured
    from the pre-staged signal."""
    r = np.random.default_rng(4)
    clean = np.sin(np.linspace(0.0, 6.0, 800))
    spiky = clean + r.normal(0.0, 0.05, 800)
    spiky[::50] += 3.0
    x = np.column_stack([spiky, r.standard_normal(800)])
    plan, extra = choose_denoiser(x)
    alone, _ = choose_denoiser(x[:, 0], labels=["channel 1"])
    assert plan.passed == (1,) and plan.prestage is not None and alone.prestage is not None
    assert extra["impulses_detected"] == [16]
    y = plan.run(x)
    assert np.array_equal(y[:, 0], alone.run(x[:, 0])) and np.array_equal(y[:, 1], x[:, 1])
    staged = plan.prestage.apply(x)
    assert np.array_equal(staged[:, 0], alone.prestage.apply(x[:, 0]))
    assert np.array_equal(staged[:, 1], x[:, 1])
    with pytest.raises(Exception, match="whole signal"):
        filter_in_chunks(plan, x, chunk=100)
    assert analyse_run(plan, x, y)["guarantees_held"]


def _run(runner, args):
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(
    "command", [["denoise"], ["diffuse", "--time", "auto"], ["shrink", "--scales", "auto"]]
)
def test_a_csv_with_one_rough_column_equals_columns_of_the_others(
    runner, three_csv, tmp_path, command
):
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    result = _run(runner, [*command, three_csv, "-o", str(out), "--report", str(rep)])
    lines = result.stderr.splitlines()
    assert lines[0].endswith(": guarantees held; passed through unchanged: column 3 ('rough')")
    assert f"warning: column 3 ('rough') passed through unchanged: {WHY}" in result.stderr
    report = json.loads(rep.read_text())
    assert report["schema_version"] == 4 and report["passed_through"] == ["column 3 ('rough')"]
    assert report["channel_labels"] == ["column 2 ('a')", "column 3 ('rough')", "column 4 ('b')"]
    params = report["parameters"]
    assert list(params["passed_through_reasons"]) == ["column 3 ('rough')"]
    assert params["filtered_channels"] == ["column 2 ('a')", "column 4 ('b')"]
    picked, picked_rep = tmp_path / "p.csv", tmp_path / "p.json"
    args = [*command, three_csv, "--columns", "a,b", "-o", str(picked), "--report", str(picked_rep)]
    _run(runner, args)
    cells = [line.split(",") for line in out.read_text().splitlines()]
    picked_cells = [line.split(",") for line in picked.read_text().splitlines()]
    source = [line.split(",") for line in Path(three_csv).read_text().splitlines()]
    assert [row[2] for row in cells] == [row[2] for row in source]  # the input's text
    assert [[r[0], r[1], r[3]] for r in cells] == [[r[0], r[1], r[3]] for r in picked_cells]
    assert cells[1][1] != source[1][1]  # filtered
    other = json.loads(picked_rep.read_text())
    assert "passed_through" not in other
    for key in (
        "automatic_choice",
        "automatic_reason",
        "stopping_rule",
        "expected_gain_per_sample",
    ):
        assert params.get(key) == other["parameters"].get(key), key
    assert (report["steps"], report["tau"], report["name"]) == (
        other["steps"],
        other["tau"],
        other["name"],
    )
    verbose = _run(runner, [*command, three_csv, "-o", str(out), "-v"])
    assert "passed through unchanged" in verbose.stderr and "column 3 ('rough'):" in verbose.stderr


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("a,rough,b\n", ["column 1 ('a')", "column 2 ('rough')", "column 3 ('b')"]),
        ("", ["column 1", "column 2", "column 3"]),
    ],
)
def test_a_csv_file_names_the_column_passed_through(runner, tmp_path, header, names):
    """Every column filtered in order (no time column, no --columns): the column passed
    through is named by its column, 'column 2 ('rough')' ('column 2' without a header), in
    the verdict line, the warning, -v and the report, as with --columns (it was
    'channel 2')."""
    src = tmp_path / "abc.csv"
    src.write_text(header + "".join(",".join(map(repr, row)) + "\n" for row in _three().tolist()))
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    result = _run(runner, ["denoise", str(src), "-o", str(out), "--report", str(rep)])
    name = names[1]
    assert result.stderr.splitlines()[0].endswith(
        f": guarantees held; passed through unchanged: {name}"
    )
    assert f"warning: {name} passed through unchanged: {WHY}" in result.stderr
    report = json.loads(rep.read_text())
    assert report["passed_through"] == [name]
    assert list(report["parameters"]["passed_through_reasons"]) == [name]
    assert report["parameters"]["filtered_channels"] == [names[0], names[2]]
    assert report["channel_labels"] == names
    verbose = _run(runner, ["denoise", str(src), "-o", str(out), "-v"])
    assert f"{name}:" in verbose.stderr and "channel 2" not in verbose.stderr


def test_a_stereo_wav_with_one_noisy_channel(runner, stereo_wav, tmp_path):
    out, picked = tmp_path / "o.wav", tmp_path / "p.wav"
    result = _run(runner, ["denoise", stereo_wav, "-o", str(out), "--json"])
    report = json.loads(result.stdout)
    assert report["passed_through"] == ["channel 2"]
    assert "warning: channel 2 passed through unchanged" in result.stderr
    _run(runner, ["denoise", stereo_wav, "--columns", "1", "-o", str(picked)])
    x, _ = soundfile.read(stereo_wav, dtype="int16")
    y, _ = soundfile.read(out, dtype="int16")
    p, _ = soundfile.read(picked, dtype="int16")
    assert np.array_equal(y[:, 1], x[:, 1]) and np.array_equal(y[:, 0], p[:, 0])
    assert not np.array_equal(y[:, 0], x[:, 0])


def test_every_path_gives_the_same_bits(three_csv, tmp_path, monkeypatch):
    """Whole, over the streaming threshold (tried streamed, read whole for the search),
    stdin spooled, a batch: the same output and the same channels passed through."""
    make_plan = automatic_planner()
    whole = tmp_path / "whole.csv"
    notes = []
    quiet = {"on_warning": notes.append}
    want = run_file(make_plan, three_csv, str(whole), run=RunOptions(chunk_size=0), **quiet)
    assert want["passed_through"] == ["column 3 ('rough')"]
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 100)
    tried, real = [], pipeline._Streamed
    monkeypatch.setattr(pipeline, "_Streamed", lambda job: tried.append(1) or real(job))
    got = tmp_path / "got.csv"
    report = run_file(make_plan, three_csv, str(got), **quiet)
    assert tried and got.read_bytes() == whole.read_bytes()
    assert report["passed_through"] == want["passed_through"]
    assert report["channels"] == want["channels"]
    data = Path(three_csv).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    piped = tmp_path / "piped.csv"
    assert run_file(make_plan, "-", str(piped), **quiet)["passed_through"] == want["passed_through"]
    assert piped.read_bytes() == whole.read_bytes()
    from resdenoise.batch import run_batch

    results = run_batch(make_plan, [three_csv], str(tmp_path / "batch"), jobs=1)
    assert results[0].report["passed_through"] == want["passed_through"]
    assert results[0].warnings == want["warnings"] and len(set(notes)) == 1
    assert (tmp_path / "batch" / "three.csv").read_bytes() == whole.read_bytes()


def test_a_plan_passing_channels_streams_with_the_same_output_and_report(tmp_path, monkeypatch):
    """Run in chunks from a file (the streamed path's measurements too): the same bytes
    and the same report as the file read whole."""
    x = _three()
    src = _csv(tmp_path / "in.csv", x)
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.2)

    def make_plan(u):
        return pass_through(plan_diffuse(nl, steps=5), [0, 2], 3), {}

    whole, streamed = tmp_path / "w.csv", tmp_path / "s.csv"
    want = run_file(make_plan, src, str(whole), run=RunOptions(chunk_size=0))
    got = run_file(make_plan, src, str(streamed), run=RunOptions(chunk_size=37))
    assert got["streaming"]["chunks"] > 1 and got["streaming"]["halo"] == 5
    assert streamed.read_bytes() == whole.read_bytes()
    assert got["passed_through"] == want["passed_through"] == ["column 3 ('rough')"]
    assert got["channels"] == want["channels"]
    cells = [line.split(",")[2] for line in streamed.read_text().splitlines()]
    assert cells == [line.split(",")[2] for line in Path(src).read_text().splitlines()]


def test_the_wavelet_check_compares_the_filtered_channels_only(tmp_path):
    """shrink's wavelet check of a plan passing channels through: its reference is the
    inner plan's on the kept channels and the input elsewhere, whole and in chunks alike
    (before, the chunks' reference shrank every channel: the passed one differed)."""
    x = _three()
    src = _csv(tmp_path / "in.csv", x)
    from resdenoise.filters import plan_shrink

    plan = pass_through(plan_shrink(get_nonlinearity("soft", "shrinkage", 0.3), 3), [0, 2], 3)

    def make_plan(u):
        return plan, {}

    checks = []
    for chunk in (0, 41):
        run = RunOptions(chunk_size=chunk, check_wavelet=True)
        report = run_file(make_plan, src, str(tmp_path / f"o{chunk}.csv"), run=run)
        checks.append(report["wavelet_check"]["max_abs_difference"])
    assert checks[0] == checks[1] and checks[0] < 1e-12


def test_a_channel_passed_through_of_huge_samples_runs_the_choice_scaled_back():
    """Samples beyond 2^200 are searched divided by a power of two, the plan's lambda
    multiplied back: with a channel passed through, the inner plan's (it runs), not the
    wrapper's alone; the output at x * 2^500 is the one at x times 2^500, bit for bit."""
    from resdenoise.filters import run_plan

    x = _three()
    make = AUTOMATIC["diffuse time auto"]
    small, _ = make()(x)
    huge, _ = make()(np.ldexp(x, 500))
    assert isinstance(huge, ChannelsPlan) and huge.passed == (1,)
    assert huge.inner.nl.lam == np.ldexp(small.inner.nl.lam, 500)
    np.testing.assert_array_equal(
        run_plan(huge, np.ldexp(x, 500)), np.ldexp(run_plan(small, x), 500)
    )


@pytest.mark.parametrize("k", [500, -500])
def test_a_noise_level_given_with_samples_beyond_the_range_is_scaled_with_them(k):
    """choose_denoiser takes a NoiseLevel as ``sigma``; at x * 2^+-500 the search divides
    it with the samples (NoiseLevel.scaled, not as a number: was a TypeError): the plan
    runs to the one at x times 2^k, bit for bit."""
    from resdenoise.filters import run_plan

    x = _three()
    level = search_noise(x)
    small, _ = choose_denoiser(x, sigma=level)
    huge, _ = choose_denoiser(np.ldexp(x, k), sigma=level.scaled(k))
    assert huge.passed == small.passed == (1,)
    np.testing.assert_array_equal(run_plan(huge, np.ldexp(x, k)), np.ldexp(run_plan(small, x), k))


def test_a_scales_note_is_said_once_where_a_channel_is_passed_through():
    """The scales note (more scales asked than the signal holds) once: the search of the
    kept channels said it too (it ran as a whole call of the planner)."""
    plan, extra = planner("shrink", "soft", scales=9)(_three())
    assert isinstance(plan, ChannelsPlan)
    notes = [w for w in extra["warnings"] if w.startswith("9 scales asked")]
    assert len(notes) == 1, extra["warnings"]


def test_the_reasons_of_channels_searched_alone_are_in_the_signals_units():
    """Channels searched alone of samples divided by a power of two: their do-no-harm
    reason says the signal's numbers (the search's times 4^k), as a whole search does.
    (Seed 9: a draw whose sine channel the do-no-harm rule keeps, its largest sample
    positive, so its probe is the one it had before probes were oriented by the sign.)"""
    r = np.random.default_rng(9)
    t = np.arange(80)
    u = np.column_stack(
        [np.sin(2 * np.pi * 2 * t / 80) + 0.2 * r.standard_normal(80), r.standard_normal(80)]
    )
    make = AUTOMATIC["diffuse time auto"]
    small, small_extra = make()(u)
    huge, huge_extra = make()(np.ldexp(u, 300))
    assert isinstance(huge, ChannelsPlan) and "do_no_harm" in small_extra
    gain = small_extra["expected_gain_per_sample"]
    assert huge_extra["expected_gain_per_sample"] == np.ldexp(gain, 600)
    assert f"{-np.ldexp(gain, 600):.6g}" in huge_extra["do_no_harm"], huge_extra["do_no_harm"]
