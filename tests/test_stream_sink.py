"""The streamed run's sink thread (resdenoise.stream._Behind): chunks written and
measured in order in a thread of their own while the next are filtered; errors
raised in the caller; nothing written after the caller stops."""

import threading
import time

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from resdenoise import stream
from resdenoise.cli import cli
from resdenoise.errors import SignalError
from resdenoise.filters import plan_resnet, run_plan
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.sink import Behind as _Behind
from resdenoise.stream import filter_chunks


def _untimed(text: str) -> str:
    """A report's text but its last key, ``job`` (the run's times: README)."""
    head, job = text.split('\n  "job": ')
    assert job.startswith("{") and job.endswith("}\n}\n")
    return head


def sink_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "resdenoise-sink"]


def test_depth_zero_finishes_in_the_caller():
    done = []
    sink = _Behind(lambda item: done.append((item, threading.current_thread().name)), 0)
    for i in range(5):
        sink.put(i)
    sink.join()
    sink.stop()
    assert done == [(i, threading.current_thread().name) for i in range(5)]
    assert sink_threads() == []


@pytest.mark.parametrize("depth", [1, 3])
def test_every_item_finished_in_order_in_the_thread(depth):
    done, where = [], set()

    def finish(item):
        where.add(threading.current_thread().name)
        done.append(item)

    sink = _Behind(finish, depth)
    for i in range(40):
        sink.put(i)
    sink.join()
    sink.stop()
    assert done == list(range(40)) and where == {"resdenoise-sink"}
    assert sink_threads() == []


def test_an_error_is_raised_in_the_caller_and_nothing_after_it_is_finished():
    done = []

    def finish(item):
        if item == 3:
            raise SignalError("cannot write item 3")
        done.append(item)

    sink = _Behind(finish, 1)
    with pytest.raises(SignalError, match="cannot write item 3"):
        try:
            for i in range(1000):
                sink.put(i)
                time.sleep(0.001)
            sink.join()
        finally:
            sink.stop()
    assert done == [0, 1, 2]
    assert sink_threads() == []


def test_an_error_of_the_last_item_is_raised_by_join():
    sink = _Behind(lambda item: 1 / item, 2)
    sink.put(1)
    sink.put(0)
    with pytest.raises(ZeroDivisionError):
        sink.join()
    sink.stop()
    assert sink_threads() == []


def test_stop_drops_what_waits_and_lets_the_item_in_hand_end():
    started, release, done = threading.Event(), threading.Event(), []

    def finish(item):
        started.set()
        release.wait(5)
        done.append(item)

    sink = _Behind(finish, 2)
    sink.put(0)
    started.wait(5)
    sink.put(1)
    sink.put(2)  # both wait in the queue
    threading.Timer(0.05, release.set).start()
    sink.stop()  # returns only once item 0 is finished; 1 and 2 are dropped
    assert done == [0]
    assert sink_threads() == []
    sink.stop()  # idempotent


def test_chunks_outlive_the_next_buffers_minus_one(rng):
    """A chunk's raw and x stay as made while the next ``buffers - 1`` chunks are
    made (what the sink's depth relies on); cores still the whole run's."""
    u = rng.standard_normal((300, 2))
    plan = plan_resnet(get_nonlinearity("perona-malik", "activation", 0.5), 5)
    blocks = [(u[i : i + 7], {}) for i in range(0, 300, 7)]  # joined in the kept arrays
    held, out = [], []
    for c in filter_chunks(plan, blocks, 300, chunk=20, buffers=4):
        held.append((c, c.raw.copy(), c.x.copy()))
        out.append(c.u)
        for old, raw, x in held[-4:]:
            assert np.array_equal(old.raw, raw) and np.array_equal(old.x, x)
    np.testing.assert_array_equal(np.concatenate(out), run_plan(plan, u))


def wav(path, rng, n=6000, level=0.3):
    data = level * np.sin(np.arange(n) / 50.0)[:, None] + 0.05 * rng.standard_normal((n, 2))
    soundfile.write(path, data.astype(np.float32), 8000, subtype="FLOAT")


@pytest.mark.parametrize(
    ("load", "cores", "depth"), [(0.3, 2, 2), (1.2, 2, 2), (1.6, 2, 0), (0.3, 1, 0)]
)
def test_the_sink_thread_only_where_a_core_is_idle(monkeypatch, load, cores, depth):
    """By the tasks running now, or the 1-minute load where the system does not tell."""
    monkeypatch.setattr(stream, "usable_cores", lambda: cores)
    monkeypatch.setattr(stream, "running_now", lambda: load)
    monkeypatch.setattr(stream.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert stream.sink_depth() == depth
    monkeypatch.setattr(stream, "running_now", lambda: None)
    monkeypatch.setattr(stream.os, "getloadavg", lambda: (load, load, load))
    assert stream.sink_depth() == depth


def test_the_tasks_running_now_are_read_from_the_system(tmp_path, monkeypatch):
    """The median of a few readings of the running tasks (the fourth field's first
    number); None where the file is missing or not of that form."""
    from resdenoise import engine

    path = tmp_path / "loadavg"
    readings = iter(["9.9 9.9 9.9 3/120 42\n", "9.9 9.9 9.9 1/120 42\n"] * 3)
    real_open = open

    def fake_open(name, mode="r", *args, **kwargs):
        if name == str(path):
            path.write_text(next(readings))
        return real_open(name, mode, *args, **kwargs)

    monkeypatch.setattr(engine, "LOADAVG", str(path))
    monkeypatch.setattr("builtins.open", fake_open)
    assert engine.running_now(looks=3) == 3.0  # 3, 1, 3
    assert engine.running_now(looks=2) == 2.0  # 1, 3
    path.write_text("0.00 0.01 0.05\n")
    monkeypatch.setattr("builtins.open", real_open)
    assert engine.running_now() is None
    monkeypatch.setattr(engine, "LOADAVG", str(tmp_path / "missing"))
    assert engine.running_now() is None


@pytest.mark.parametrize("idle", [True, False])
def test_a_write_error_in_the_sink_leaves_nothing(tmp_path, rng, monkeypatch, idle):
    """A PCM output that would clip, found in the sink's thread: the CLI's one-line
    refusal, no output file, no sink thread left."""
    src = tmp_path / "in.wav"
    wav(src, rng, level=3.0)
    monkeypatch.setattr(stream, "sink_depth", lambda: 1 if idle else 0)
    result = CliRunner().invoke(
        cli,
        [
            "diffuse",
            str(src),
            "--steps",
            "3",
            "--chunk-size",
            "500",
            "--subtype",
            "PCM_16",
            "-o",
            str(tmp_path / "o.wav"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "would be clipped" in result.stderr and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]
    assert sink_threads() == []


@pytest.mark.parametrize("idle", [True, False])
def test_a_refused_reference_leaves_no_checking_thread(tmp_path, rng, monkeypatch, idle):
    """A streamed run whose reference is refused after the checking pass (another
    sample rate, another shape): the one-line refusal, nothing written, and the
    checking pass's thread ended (it was left waiting for ever where a core was idle)."""
    src, other = tmp_path / "in.wav", tmp_path / "ref.wav"
    wav(src, rng)
    soundfile.write(other, np.zeros((6000, 2), dtype=np.float32), 4000, subtype="FLOAT")
    monkeypatch.setattr(stream, "sink_depth", lambda: 1 if idle else 0)
    out = tmp_path / "o.wav"
    args = ["diffuse", str(src), "--steps", "3", "--chunk-size", "500", "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--reference", str(other)])
    assert result.exit_code == 1, result.output
    assert "sample rate" in result.stderr and "Traceback" not in result.output
    assert not out.exists()
    assert sink_threads() == []


@pytest.mark.parametrize("quiet", [False, True])
def test_chunks_joined_ahead_by_a_thread_give_the_same_file_and_report(
    tmp_path, rng, monkeypatch, quiet
):
    """With the sink's thread on, the chunks are joined by a thread of their own one
    ahead of the engine (run in the joined arrays under -q): a slow writer lets the
    reader and the engine run ahead, and the bytes and the report are still those of
    the run without threads."""
    from resdenoise.io import writers

    src = tmp_path / "in.wav"
    wav(src, rng, n=20_000)
    real = writers.SignalWriter.write

    def slow(self, data, carried=None):
        time.sleep(0.002)
        return real(self, data, carried)

    monkeypatch.setattr(writers.SignalWriter, "write", slow)
    outputs = {}
    for depth in (0, 1, 2):
        monkeypatch.setattr(stream, "sink_depth", lambda depth=depth: depth)
        out, report = tmp_path / f"o{depth}.wav", tmp_path / f"r{depth}.json"
        args = ["diffuse", str(src), "--steps", "7", "--chunk-size", "300", "-o", str(out)]
        args += ["-q"] if quiet else ["--report", str(report)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        outputs[depth] = (
            soundfile.read(out, dtype="float32")[0].tobytes(),
            None if quiet else _untimed(report.read_text().replace(str(out), "OUT")),
        )
        assert not [t for t in threading.enumerate() if t.name.startswith("resdenoise-")]
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]


@pytest.mark.parametrize("depth", [0, 2])
@pytest.mark.parametrize(
    "extra",
    [
        ["-q"],
        ["--report", "R"],
        ["--dtype", "float64", "-q"],
        ["--report", "R", "--reference", "C"],
    ],
)
def test_a_float_wav_is_read_straight_into_the_chunks(tmp_path, rng, monkeypatch, depth, extra):
    """The filtering pass of a plain WAV of 32-bit floats reads its rows straight into
    each chunk (``SignalStream.row_reader``; by the thread that makes the chunks ahead, where
    there is one): no blocks are read after the check, and the bytes and the report are
    those of the run that reads and joins blocks."""
    from resdenoise.io import SignalStream
    from resdenoise.io.audio import AudioReader

    src, clean = tmp_path / "in.wav", tmp_path / "clean.wav"
    wav(src, rng, n=20_000)
    wav(clean, rng, n=20_000, level=0.2)  # a reference: each chunk's input kept after its run
    monkeypatch.setattr(stream, "sink_depth", lambda: depth)
    real, passes = AudioReader.blocks, []

    def counted(self, s, stored=False):
        passes.append(stored)
        return real(self, s, stored)

    monkeypatch.setattr(AudioReader, "blocks", counted)
    outputs = []
    for direct in (True, False):
        if not direct:
            monkeypatch.setattr(SignalStream, "row_reader", lambda self: None)
        out, report = tmp_path / f"o{direct}.wav", tmp_path / f"r{direct}.json"
        args = ["diffuse", str(src), "--steps", "7", "--chunk-size", "300", "-o", str(out)]
        named = {"R": str(report), "C": str(clean)}
        result = CliRunner().invoke(cli, args + [named.get(a, a) for a in extra])
        assert result.exit_code == 0, result.output
        reference = [False] if "--reference" in extra else []  # (its own blocks, widened)
        assert sorted(passes) == reference + ([] if direct else [True])
        passes.clear()
        text = _untimed(report.read_text().replace(str(out), "OUT")) if report.exists() else None
        outputs.append((out.read_bytes(), text))
        assert not [t for t in threading.enumerate() if t.name.startswith("resdenoise-")]
    assert outputs[0] == outputs[1]
    assert (outputs[0][1] is None) == ("-q" in extra)


def checked(path, depth, monkeypatch, options=None, stored=False):
    """The checking pass of ``path`` with the extremes' thread at ``depth``: the scan."""
    from resdenoise.io import open_signal_stream

    monkeypatch.setattr(stream, "sink_depth", lambda: depth)
    run = stream.StreamedRun()
    s = open_signal_stream(str(path), options=options, visit=run.visit, stored=stored)
    summary = run.start(s)
    return run.scan, summary


def test_the_checking_pass_takes_the_extremes_in_a_thread_with_the_same_numbers(
    tmp_path, rng, monkeypatch
):
    """Blocks whose extremes the compiled walk leaves to NumPy (zeros of either sign,
    a column of NaN where a cell is not a number) and plain ones, float64 or a float
    WAV's float32 values as stored: the extremes, the summary and the noise level
    (the columns after the first selected in the thread) are those of the pass
    without the thread."""
    n = 5000
    x = rng.standard_normal((n, 3))
    x[:1000, 0] = -0.0  # a zero extreme
    x[2000:, 1] = np.abs(x[2000:, 1]) + 0.0  # all positive, then a zero below
    x[3000, 1] = 0.0
    rows = [f"{float(a)!r},{float(b)!r},{float(c)!r},k{i % 7}" for i, (a, b, c) in enumerate(x)]
    path = tmp_path / "x.csv"  # a column of text: NaN in the blocks, carried
    path.write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    src = tmp_path / "in.wav"
    wav(src, rng, n=200_000)
    from resdenoise.io import ReadOptions

    for p, options, stored in ((path, ReadOptions(columns=[1, 2, 3]), False), (src, None, True)):
        scan0, summary0 = checked(p, 0, monkeypatch, options)
        scan2, summary2 = checked(p, 2, monkeypatch, options, stored)
        assert scan2.lo.tobytes() == scan0.lo.tobytes()
        assert scan2.hi.tobytes() == scan0.hi.tobytes()
        assert (summary2.span, summary2.amplitude) == (summary0.span, summary0.amplitude)
        assert summary2.noise_sigma.tobytes() == summary0.noise_sigma.tobytes()
        assert not [t for t in threading.enumerate() if t.name.startswith("resdenoise-")]


def test_a_checking_pass_that_fails_leaves_no_thread(tmp_path, rng, monkeypatch):
    """A checking pass stopped half way (an interrupt, here from the progress
    callback): the extremes' thread ends with it, nothing is written."""
    from resdenoise.pipeline import RunOptions, planner, run_file

    monkeypatch.setattr(stream, "sink_depth", lambda: 2)
    path = tmp_path / "x.wav"
    wav(path, rng, n=400_000)

    def progress(phase, done, total):
        if phase == "check" and done > 200_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_file(planner("diffuse", "perona-malik", steps=3), str(path), str(tmp_path / "o.wav"),
                 run=RunOptions(chunk_size=5000), progress=progress)  # fmt: skip
    assert not [t for t in threading.enumerate() if t.name.startswith("resdenoise-")]
    assert not (tmp_path / "o.wav").exists()


def test_a_run_checked_without_the_report_s_selection_is_not_measured(tmp_path, rng):
    """A float32 run of 16-bit samples checked for no report (StreamedRun(report=False))
    refuses to be measured; unmeasured, it runs."""
    from resdenoise.io import open_signal_stream

    path = tmp_path / "x.wav"
    soundfile.write(path, 0.3 * np.sin(np.arange(3000) / 9.0), 8000, subtype="PCM_16")
    plan = plan_resnet(get_nonlinearity("perona-malik", "activation", 0.5), 5)
    for report in (True, False):
        run = stream.StreamedRun("float32", report=report)
        run.start(open_signal_stream(str(path), visit=run.visit))
        if not report:
            with pytest.raises(ValueError, match="measure=False"):
                run.filter(plan, plan.verdict(), lambda u, c: None)
        written: list = []
        run.filter(plan, plan.verdict(), lambda u, c, w=written: w.append(len(u)), measure=False)
        assert sum(written) == 3000
