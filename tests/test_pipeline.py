"""resdenoise.pipeline from Python, without click: files end to end, batches, refusals.

The reference numbers come from :func:`resdenoise.engine.run_blocks` on the
samples read back with NumPy; a run through the pipeline must write exactly
them, report what it measured, and fail with the exception (and exit code)
the command line maps to its own exit status.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile

from resdenoise.batch import run_batch
from resdenoise.engine import run_blocks
from resdenoise.errors import GuaranteeError, ParameterError, SignalError, UnstableError
from resdenoise.expr import parse_expression
from resdenoise.io import ReadOptions, WriteOptions
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.pipeline import (
    AUTO,
    RunOptions,
    automatic_planner,
    check_paths,
    planner,
    run_file,
)


@pytest.fixture
def signal(rng) -> np.ndarray:
    t = np.linspace(0.0, 1.0, 300)
    return np.sign(np.sin(9.0 * t)) + 0.1 * rng.standard_normal(t.size)


def write_csv(path, values, time=True) -> None:
    rows = [f"{i},{v!r}" if time else repr(v) for i, v in enumerate(values.tolist())]
    path.write_text(("time,v\n" if time else "") + "\n".join(rows) + "\n")


def read_column(path, column: int = 1) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=column)


def listing(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------


def test_one_file_end_to_end(tmp_path, signal):
    src, out, rep = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "r.json"
    write_csv(src, signal)
    seen = []
    make_plan = planner("diffuse", "perona-malik", lam=0.5, time=3.0)
    report = run_file(
        make_plan,
        str(src),
        str(out),
        report_path=str(rep),
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    # time = 3 at the sign-stable step 1/4: 12 blocks
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.5)
    expected = run_blocks(signal, nl.phi, 0.25, 12)
    np.testing.assert_array_equal(read_column(out), expected)
    assert read_column(out, 0).tolist() == list(range(signal.size))  # time carried unchanged
    assert (report["command"], report["steps"], report["tau"]) == ("diffuse", 12, 0.25)
    assert report["stopping_time"] == 3.0 and report["parameters"]["lambda"] == 0.5
    assert report["input"] == str(src) and report["output"] == str(out)
    assert report["carried_columns"] == ["time"] and report["clipped"] == 0
    (channel,) = report["channels"]
    assert channel["output_max"] == expected.max() and channel["input_min"] == signal.min()
    assert channel["max_min_principle"] and report["guarantees_held"]
    assert json.loads(rep.read_text()) == json.loads(json.dumps(report))
    assert seen and seen[-1] == ("blocks", 12, 12)
    assert {phase for phase, _, _ in seen} == {"blocks"}


def test_an_unmeasured_run_writes_the_same_output_and_measures_nothing(
    tmp_path, signal, monkeypatch
):
    """``measure=False`` (the command line under -q): the same output bytes, whole or
    in chunks (a given and an automatic lambda), None for the report, and the run is
    not measured, afterwards or chunk by chunk; not with a report to write or judge
    (nothing written)."""
    import resdenoise.filters
    import resdenoise.measure

    src = tmp_path / "in.csv"
    write_csv(src, signal)
    plans = {"given": planner("diffuse", "perona-malik", lam=0.5, time=3.0)}
    plans["auto"] = planner("diffuse", "perona-malik", time=3.0)
    for lam, make_plan in plans.items():
        assert run_file(make_plan, str(src), str(tmp_path / f"{lam}.csv")) is not None

    def measured(*args, **kwargs):
        raise AssertionError("an unmeasured run was measured")

    monkeypatch.setattr(resdenoise.filters, "analyse_run", measured)
    monkeypatch.setattr(resdenoise.measure.StreamMeasure, "add", measured)
    for lam, make_plan in plans.items():
        for name, chunk in (("whole.csv", 0), ("chunked.csv", 64)):
            out = tmp_path / name
            run = RunOptions(chunk_size=chunk)
            assert run_file(make_plan, str(src), str(out), run=run, measure=False) is None
            assert out.read_bytes() == (tmp_path / f"{lam}.csv").read_bytes(), (lam, name)
    make_plan = plans["given"]
    out = tmp_path / "refused.csv"
    for refused in ({"report_path": str(tmp_path / "r.json")}, {"run": RunOptions(strict=True)}):
        with pytest.raises(ParameterError, match="measure=False"):
            run_file(make_plan, str(src), str(out), measure=False, **refused)
    assert not out.exists() and not (tmp_path / "r.json").exists()


def _whole_and_chunked(make_plan, src, tmp_path, chunk_size: int):
    """``src`` run read whole (into whole.csv) and streamed in chunks of ``chunk_size``
    (into chunked.csv): the two reports and the streamed run's progress phases."""
    whole = run_file(make_plan, str(src), str(tmp_path / "whole.csv"), run=RunOptions(chunk_size=0))
    phases = []
    chunked = run_file(
        make_plan,
        str(src),
        str(tmp_path / "chunked.csv"),
        run=RunOptions(chunk_size=chunk_size),
        progress=lambda phase, done, total: phases.append(phase),
    )
    return whole, chunked, phases


def test_streamed_run_writes_the_same_file_and_reports_its_phases(tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal, time=False)
    make_plan = planner("resnet", "tanh", lam=0.8, blocks=7)
    whole, chunked, phases = _whole_and_chunked(make_plan, src, tmp_path, 40)
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "chunked.csv").read_bytes()
    (a,), (b,) = whole["channels"], chunked["channels"]  # sums: the same up to rounding
    for key in ("input_min", "input_max", "output_min", "output_max", "sign_changes_out"):
        assert a[key] == b[key], key
    assert a["tv_out"] == pytest.approx(b["tv_out"], rel=1e-12)
    assert chunked["guarantees_held"] and whole["guarantees_held"]
    assert chunked["streaming"]["chunk_size"] == 40 and chunked["streaming"]["halo"] == 7
    assert "streaming" not in whole
    assert {"check-bytes", "filter"} <= set(phases) and "blocks" not in phases  # a CSV's


@pytest.mark.parametrize("lam", [AUTO, 0.8])
def test_a_streamed_run_reads_the_file_twice(tmp_path, rng, lam):
    """The checking pass settles the exact noise quantile (its first pass keeps the
    values near the wanted rank): with lambda 'auto' no noise pass between it and the
    filtering pass; the same file and report numbers as read whole."""
    src = tmp_path / "in.csv"
    t = np.linspace(0.0, 1.0, 5000)
    write_csv(src, np.sign(np.sin(9.0 * t)) + 0.1 * rng.standard_normal(t.size), time=False)
    make_plan = planner("resnet", "tanh", lam=lam, blocks=3)
    whole, chunked, phases = _whole_and_chunked(make_plan, src, tmp_path, 400)
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "chunked.csv").read_bytes()
    assert chunked["noise_sigma"] == whole["noise_sigma"]
    assert chunked["streaming"]["passes"] == 2 and "noise" not in phases


def test_planners_match_the_convenience_functions(tmp_path, signal):
    from resdenoise import api

    src = tmp_path / "in.csv"
    write_csv(src, signal, time=False)
    cases = [
        (
            planner("shrink", "garrote", theta=0.3, iterations=4),
            api.shrink(signal, "garrote", 0.3, 4),
        ),
        (
            planner("regularise", "huber", lam=0.5, alpha=2.0),
            api.regularise(signal, "huber", lam=0.5, alpha=2.0),
        ),
        (planner("resnet", "isru", blocks=6), api.resnet(signal, "isru", blocks=6)),
    ]
    for make_plan, expected in cases:
        run_file(make_plan, str(src), str(tmp_path / "o.csv"))
        np.testing.assert_array_equal(np.loadtxt(tmp_path / "o.csv"), expected)
    # lam 'auto' (the universal threshold) is what the convenience functions default to
    report = run_file(
        planner("resnet", "tanh", lam=AUTO, blocks=2), str(src), str(tmp_path / "a.csv")
    )
    assert report["parameters"]["lambda_rule"] == "universal threshold"
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "a.csv"), api.resnet(signal, blocks=2))


def test_a_formula_and_an_automatic_stopping_time(tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal, time=False)
    expr = parse_expression("r / (1 + r**2)", "activation")  # no lam: lambda plays no part
    report = run_file(planner("resnet", expr, blocks=3), str(src), str(tmp_path / "e.csv"))
    assert report["parameters"]["expression"] == "r / (1 + r**2)"
    assert report["parameters"]["lambda"] == 1.0
    phi = lambda r: r / (1 + r**2)  # noqa: E731
    np.testing.assert_allclose(np.loadtxt(tmp_path / "e.csv"), run_blocks(signal, phi, 0.25, 3))

    report = run_file(
        planner("diffuse", "charbonnier", time=AUTO, rule="decorrelation"),
        str(src),
        str(tmp_path / "auto.csv"),
    )
    params = report["parameters"]
    assert params["stopping_rule"] == "decorrelation" and params["lambda_rule"]
    assert 0 < report["steps"] <= params["blocks_searched"]
    assert report["guarantees_held"]
    with pytest.raises(ParameterError, match="needs the whole signal in memory"):
        run_file(
            planner("diffuse", "charbonnier", time=AUTO), str(src), run=RunOptions(chunk_size=50)
        )


def test_unstable_plan_is_refused_and_nothing_is_written(tmp_path, signal):
    src, out, rep = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "r.json"
    write_csv(src, signal)
    make_plan = planner("resnet", "tanh", lam=1.0, blocks=3, tau=0.6)
    with pytest.raises(UnstableError) as info:
        run_file(make_plan, str(src), str(out), report_path=str(rep))
    assert info.value.exit_code == 3
    assert str(info.value).startswith("refused as unstable: ")
    assert "A stable tau is <= 0.5 (sign-stable <= 0.25); or pass allow_unstable=True" in str(
        info.value
    )
    assert listing(tmp_path) == ["in.csv"]

    # allowed: it runs (the linear bound is broken, so the report says what failed)
    report = run_file(make_plan, str(src), str(out), run=RunOptions(allow_unstable=True))
    assert not report["stability"]["linf_stable"] and not report["guarantees_held"]
    assert report["failed_checks"][0].startswith("run was not L-infinity stable")
    # ... and under strict it fails with exit code 4, after writing
    os.unlink(out)
    linear = planner("resnet", "linear", lam=1.0, blocks=5, tau=1.0)
    with pytest.raises(GuaranteeError) as info:
        run_file(linear, str(src), str(out), run=RunOptions(allow_unstable=True, strict=True))
    assert info.value.exit_code == 4
    assert out.exists() and info.value.report["guarantees_held"] is False
    assert not info.value.report["channels"][0]["max_min_principle"]


def test_a_run_that_is_not_sign_stable_warns(tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal)
    make_plan = planner("resnet", "tanh", lam=1.0, blocks=3, tau=0.4)
    with pytest.warns(UserWarning, match=r"tau = 0\.4 is L-infinity stable but above .* 0\.25"):
        run_file(make_plan, str(src), str(tmp_path / "a.csv"))
    said = []
    report = run_file(make_plan, str(src), str(tmp_path / "b.csv"), on_warning=said.append)
    assert len(said) == 1 and said[0].startswith("tau = 0.4 is L-infinity stable")
    assert report["stability"]["linf_stable"] and not report["stability"]["sign_stable"]


def test_the_path_checks_are_public_in_paths_and_still_named_by_pipeline(tmp_path):
    """check_paths and FileIndex live in resdenoise.paths and stay importable from
    resdenoise.pipeline (its __all__ names them); is_stdout is public there (the
    command line's --json check uses it), and the one check of a pipe named twice
    (diffuse's --reference, learn, a batch)."""
    from resdenoise import paths, pipeline

    assert pipeline.check_paths is paths.check_paths is check_paths
    assert pipeline.FileIndex is paths.FileIndex
    assert {"FileIndex", "check_paths"} <= set(pipeline.__all__)
    assert set(paths.__all__) == {
        "FileIndex",
        "check_paths",
        "is_stdout",
        "pipe_read_twice",
        "refuse_pipe_twice",
    }
    assert paths.is_stdout("-") and not paths.is_stdout(None)
    assert not paths.is_stdout(str(tmp_path / "o.csv"))


def test_clashing_paths_are_refused_before_reading(tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal)
    before = src.read_bytes()
    with pytest.raises(SignalError, match=r"output is the input file; pass in_place=True") as info:
        check_paths(str(src), str(src))
    assert info.value.exit_code == 1 and info.value.parameters == (("in_place", True),)
    with pytest.raises(ParameterError, match="report_path and output name the same file"):
        check_paths(str(src), str(tmp_path / "o.csv"), str(tmp_path / "o.csv"))
    with pytest.raises(ParameterError, match="report_path='-' needs output to name a file"):
        check_paths(str(src), "-", "-")
    with pytest.raises(SignalError, match="the report would overwrite the input file"):
        run_file(
            planner("resnet", "tanh", blocks=1),
            str(src),
            str(tmp_path / "o.csv"),
            report_path=str(src),
        )
    run_file(planner("resnet", "tanh", lam=1.0, blocks=1), str(src), str(src), in_place=True)
    assert src.read_bytes() != before and listing(tmp_path) == ["in.csv"]


@pytest.mark.parametrize(
    "command, nonlinearity, settings, message, parameters",
    [
        ("diffuse", "linear", {}, "give exactly one of time or steps", ("time", "steps", "time")),
        (
            "diffuse",
            "linear",
            {"time": AUTO, "steps": 3},
            "give time='auto' or steps, not both",
            ("time", "steps"),
        ),
        (
            "regularise",
            "huber",
            {"alpha": AUTO, "steps": 3},
            "steps needs a numeric alpha; alpha='auto' chooses the steps",
            ("steps", "alpha", "alpha"),
        ),
        ("resnet", "tanh", {}, "resnet needs blocks", ("blocks",)),
        ("resnet", "EXPR", {"blocks": AUTO}, "'auto' needs a registry activation", ("blocks",)),
        ("resnet", "tanh", {"blocks": 2, "time": 1}, "resnet takes no setting 'time'", ()),
        ("smooth", "tanh", {}, "unknown command 'smooth'", ()),
    ],
)
def test_planner_refuses_settings_that_do_not_go_together(
    command, nonlinearity, settings, message, parameters
):
    if nonlinearity == "EXPR":
        nonlinearity = parse_expression("tanh(r)", "activation")
    with pytest.raises(ParameterError) as info:
        planner(command, nonlinearity, **settings)
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.exit_code == 2
    assert tuple(name for name, _ in info.value.parameters) == parameters


def test_messages_name_parameters_that_a_front_end_can_restate(tmp_path):
    """The library speaks in parameter names; the command line restates them as flags."""
    from resdenoise.cli import error_message

    (tmp_path / "c.csv").write_text("a;b\n1;2\n3;1,5\n")
    with pytest.raises(SignalError) as info:
        run_file(
            planner("diffuse", "linear", steps=1),
            str(tmp_path / "c.csv"),
            read=ReadOptions(decimal="."),
        )
    err = info.value
    assert str(err).endswith("'1,5' is not a number (a decimal comma? declare it with decimal=',')")
    assert error_message(err).endswith("(a decimal comma? declare it with --decimal ,)")
    err = ParameterError(
        "steps needs a numeric alpha; alpha='auto' chooses the steps",
        parameters=["steps", "alpha", ("alpha", "auto")],
    )
    assert error_message(err) == "--steps needs a numeric --alpha; --alpha auto chooses the steps"
    err = ParameterError("path/lam/x: give lam", parameters=["lam"])  # only the mention is restated
    assert error_message(err) == "path/lam/x: give --lambda"


# --------------------------------------------------------------------------
# Many files
# --------------------------------------------------------------------------


@pytest.fixture
def batch_inputs(tmp_path, rng):
    src = tmp_path / "in"
    src.mkdir()
    x = np.clip(0.3 * rng.standard_normal((400, 2)), -1, 1)
    soundfile.write(src / "a.wav", x, 8000, subtype="FLOAT")
    write_csv(src / "b.csv", rng.standard_normal(200))
    (src / "bad.csv").write_text("v\n1.0\n2.0\noops\n")
    write_csv(src / "c.csv", 2.0 * rng.standard_normal(100), time=False)
    return [str(src / n) for n in ("a.wav", "bad.csv", "b.csv", "c.csv")]


@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_with_one_bad_file_among_good_ones(tmp_path, batch_inputs, jobs):
    make_plan = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    out, rep = tmp_path / f"out{jobs}", tmp_path / f"rep{jobs}"
    done, progress = [], []
    results = run_batch(
        make_plan,
        batch_inputs,
        str(out),
        report_dir=str(rep),
        jobs=jobs,
        on_done=lambda i, r: done.append(i),
        progress=lambda i, phase, n, total: progress.append((i, phase)),
    )
    assert [r.input for r in results] == batch_inputs
    assert [r.exit_code for r in results] == [0, 1, 0, 0]
    bad = results[1]
    assert isinstance(bad.error, SignalError) and bad.report is None
    assert (
        str(bad.error)
        == f"{batch_inputs[1]}: line 4, column 1 ('v'): 'oops' is not a number; correct it or delete line 4"
    )
    assert sorted(done) == [0, 1, 2, 3]
    assert {i for i, _ in progress} <= {0, 2, 3} and {phase for _, phase in progress} == {"blocks"}
    assert listing(out) == ["a.wav", "b.csv", "c.csv"]  # made for us; nothing of bad.csv
    assert listing(rep) == ["a.wav.json", "b.csv.json", "c.csv.json"]
    for r in (results[0], results[2], results[3]):
        assert r.output == str(out / os.path.basename(r.input))
        with open(r.report_path) as fh:
            assert json.load(fh)["channels"] == r.report["channels"]
        alone = tmp_path / f"alone{jobs}_{os.path.basename(r.input)}"
        run_file(make_plan, r.input, str(alone))
        if r.output.endswith(".wav"):  # a float WAV's PEAK chunk holds a time stamp
            (a, rate_a), (b, rate_b) = soundfile.read(alone), soundfile.read(r.output)
            assert rate_a == rate_b and a.tobytes() == b.tobytes()
            assert soundfile.info(alone).subtype == soundfile.info(r.output).subtype
        else:
            with open(r.output, "rb") as fh:
                assert alone.read_bytes() == fh.read()
    # the numbers: 12 blocks of tau = 1/4 on each channel
    nl = get_nonlinearity("charbonnier", "diffusivity", 0.3)
    f, _ = soundfile.read(batch_inputs[0], always_2d=True)
    y, _ = soundfile.read(results[0].output, always_2d=True)
    np.testing.assert_allclose(y, run_blocks(f, nl.phi, 0.25, 12), rtol=0, atol=1e-7)


def test_batch_clipping_refused_when_stable_counted_when_unstable_allowed(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "loud.csv").write_text("\n".join(["3.0", "-3.0"] * 20) + "\n")
    (src / "soft.csv").write_text("\n".join(["0.9", "-0.9"] * 20) + "\n")
    files = [str(src / "loud.csv"), str(src / "soft.csv")]
    stable = planner("resnet", "tanh", lam=1.0, blocks=2)
    args = dict(write=WriteOptions("wav", "PCM_16"), read=ReadOptions(samplerate=8000))
    results = run_batch(stable, files, str(tmp_path / "o"), run=RunOptions(strict=True), **args)
    assert [r.exit_code for r in results] == [1, 0]
    assert isinstance(results[0].error, SignalError)
    assert "40 output samples lie outside the range of PCM_16" in str(results[0].error)
    assert results[0].error.parameters == (("subtype", "FLOAT"),)
    assert listing(tmp_path / "o") == ["soft.wav"]
    # an unstable run, allowed: clipped, counted, a failed guarantee (strict: code 4, written)
    unstable = planner("diffuse", "perona-malik", lam=10.0, tau=1.0, steps=3)
    run = RunOptions(strict=True, allow_unstable=True)
    results = run_batch(unstable, files[1:], str(tmp_path / "u"), run=run, **args)
    assert [r.exit_code for r in results] == [4]
    assert isinstance(results[0].error, GuaranteeError)
    assert results[0].report["clipped"] > 0
    assert results[0].report["failed_checks"][-1] == (
        f"{results[0].report['clipped']} samples clipped on output"
    )
    assert listing(tmp_path / "u") == ["soft.wav"]
    assert np.abs(soundfile.read(tmp_path / "u" / "soft.wav")[0]).max() == pytest.approx(
        1.0, abs=1e-4
    )


def test_batch_refuses_before_running(tmp_path, batch_inputs):
    make_plan = planner("resnet", "tanh", blocks=1)
    with pytest.raises(ParameterError, match=r"stdin \('-'\) cannot be one of several inputs"):
        run_batch(make_plan, [batch_inputs[0], "-"], str(tmp_path / "o"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.csv").write_text("1\n2\n")
    with pytest.raises(ParameterError, match=r"would both be written to .*b\.csv; rename one"):
        run_batch(make_plan, [batch_inputs[2], str(other / "b.csv")], str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()  # no directory made for a refused batch
    (tmp_path / "file").write_text("")
    with pytest.raises(SignalError, match="file/sub: cannot create the output directory"):
        run_batch(make_plan, batch_inputs[:1], str(tmp_path / "file" / "sub"))


def test_worker_errors_keep_their_class_and_parameters(tmp_path):
    """A worker process sends its result through a pipe: the error arrives whole."""
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("1\n2\n3\n")
    make_plan = planner("resnet", "tanh", lam=1.0, blocks=2, tau=5.0)
    files = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    results = run_batch(make_plan, files, str(tmp_path), jobs=2)  # into their own directory
    for r in results:
        assert isinstance(r.error, SignalError) and r.exit_code == 1
        assert r.error.parameters == (("in_place", True),)
        assert (
            str(r.error)
            == f"{r.output}: output is the input file; pass in_place=True to replace it"
        )
    results = run_batch(make_plan, files, str(tmp_path / "o"), jobs=2)
    for r in results:
        assert isinstance(r.error, UnstableError) and r.exit_code == 3
        assert r.error.parameters == (("allow_unstable", True),)
    assert not (tmp_path / "o").exists()  # never made: nothing written


def test_float_output_beyond_float32_refused_not_written_as_inf(tmp_path):
    """A CSV whose output lies beyond float32 (1e39), written as a FLOAT WAV: was
    written with inf samples, exit 0; refused now, naming DOUBLE, which holds it."""
    src = tmp_path / "in.csv"
    src.write_text("\n".join(["1e39", "-1e39"] * 20) + "\n")
    stable = planner("resnet", "tanh", lam=1e39, blocks=2)
    read = ReadOptions(samplerate=8000)
    out = tmp_path / "o"
    results = run_batch(stable, [str(src)], str(out), write=WriteOptions("wav"), read=read)
    assert [r.exit_code for r in results] == [1]
    message = str(results[0].error)
    assert "output samples lie outside the range of FLOAT (float32: +-3.40282e+38)" in message
    assert results[0].error.parameters == (("subtype", "DOUBLE"),)
    assert not out.exists() or listing(out) == []
    results = run_batch(
        stable, [str(src)], str(out), write=WriteOptions("wav", "DOUBLE"), read=read
    )
    assert [r.exit_code for r in results] == [0]
    y, _ = soundfile.read(results[0].output)
    assert np.isfinite(y).all() and np.abs(y).max() > 1e38


@pytest.mark.parametrize(
    "make_plan",
    [
        planner("diffuse", "perona-malik", time="auto"),
        planner("shrink", "soft", scales=2),
        automatic_planner(),
    ],
    ids=["time-auto", "scales", "sure"],
)
@pytest.mark.parametrize("how", ["chunk", "large"])
def test_a_plan_that_needs_the_samples_is_refused_before_the_file_is_read(
    tmp_path, monkeypatch, make_plan, how
):
    """A CSV over 64 MiB (here: over a lowered limit) or one given a chunk size, with a
    plan that needs its samples (--time auto, --scales, denoise): refused only after a
    full checking pass over the file (13 s for 78 MB on a busy machine); now before its
    first byte is read, with the same words."""
    import resdenoise.io as rio
    import resdenoise.stream_choice as stream_choice
    from resdenoise.errors import WholeSignalNeeded

    path = tmp_path / "in.csv"
    np.savetxt(path, np.sin(np.arange(3000) / 40.0))
    run = RunOptions(chunk_size=500 if how == "chunk" else None)
    if how == "large":
        monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 1000)
        monkeypatch.setattr(stream_choice, "WHOLE_SIGNAL_LIMIT", 2000)

    def unsaid(u, *args, **kwargs):  # needs the samples without saying so beforehand
        return make_plan(u)

    unsaid.bytes_per_sample = getattr(make_plan, "bytes_per_sample", None)  # its cost, said

    with pytest.raises(WholeSignalNeeded) as late:  # the words of the refusal after a pass
        run_file(unsaid, str(path), str(tmp_path / "o.csv"), run=run)
    opened = []
    monkeypatch.setattr(rio, "open_signal_stream", lambda *a, **k: opened.append(a))
    with pytest.raises(WholeSignalNeeded) as early:
        run_file(make_plan, str(path), str(tmp_path / "o.csv"), run=run)
    assert opened == []
    assert str(early.value) == str(late.value)
    assert early.value.parameters == late.value.parameters
    assert os.listdir(tmp_path) == ["in.csv"]
