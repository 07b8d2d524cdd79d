"""Several inputs at once: ``resdenoise CMD a.wav b.csv ... -o OUTDIR/``.

Each input is written into OUTDIR under its own name, exactly as a run on
that file alone writes it; one file's failure is one ``Error:`` line naming
the file, the others still finish, and the exit code is the largest among
the failed files.  ``--jobs 2`` (forked worker processes) gives the same
files and reports as ``--jobs 1``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import time

import numpy as np
import pytest
import soundfile

from resdenoise.cli import cli
from resdenoise.errors import SignalError

ARGS = ["diffuse", "--diffusivity", "charbonnier", "--lambda", "0.3", "--time", "3"]


@pytest.fixture
def inputs(tmp_path, rng):
    """Two good audio files, a good CSV with a time column, and a CSV with a bad cell."""
    src = tmp_path / "in"
    src.mkdir()
    x = np.clip(0.3 * rng.standard_normal((400, 2)), -1, 1)
    soundfile.write(src / "a.wav", x, 8000, subtype="PCM_16")
    soundfile.write(src / "b.flac", x[:, 0], 8000, subtype="PCM_24")
    rows = [f"{0.01 * i!r},{v!r}" for i, v in enumerate(rng.standard_normal(300).tolist())]
    (src / "c.csv").write_text("t,v\n" + "\n".join(rows) + "\n")
    (src / "bad.csv").write_text("v\n1.0\n2.0\noops\n")
    return src


def names(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_each_input_as_if_alone_and_a_bad_file_reported(runner, inputs, tmp_path):
    out = tmp_path / "out"
    files = [str(inputs / n) for n in ("a.wav", "bad.csv", "b.flac", "c.csv")]
    result = runner.invoke(cli, [*ARGS, *files, "-o", f"{out}/"])
    assert result.exit_code == 1
    assert names(out) == ["a.wav", "b.flac", "c.csv"]  # made for the trailing /; no leftovers
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: {inputs / 'bad.csv'}: line 4, column 1 ('v'): 'oops' is not a number; correct it or delete line 4"
    ]
    assert "4 files: 3 written, 1 failed" in result.stderr
    assert result.stdout == ""
    for name in ("a.wav", "b.flac", "c.csv"):
        alone = tmp_path / f"alone_{name}"
        single = runner.invoke(cli, [*ARGS, str(inputs / name), "-q", "-o", str(alone)])
        assert single.exit_code == 0, single.output
        assert (out / name).read_bytes() == alone.read_bytes(), name


def test_jobs_two_equals_jobs_one(runner, inputs, tmp_path):
    files = [str(inputs / n) for n in ("a.wav", "b.flac", "c.csv", "bad.csv")]
    results = {}
    for jobs in ("1", "2"):
        out, rep = tmp_path / f"out{jobs}", tmp_path / f"rep{jobs}"
        out.mkdir()
        result = runner.invoke(
            cli, [*ARGS, *files, "-o", str(out), "--report", f"{rep}/", "-j", jobs, "-q"]
        )
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"Error: {inputs / 'bad.csv'}: line 4")
        assert len(result.stderr.splitlines()) == 1  # -q: only the failure
        results[jobs] = (out, rep)
    (out1, rep1), (out2, rep2) = results["1"], results["2"]
    assert names(out1) == names(out2) == ["a.wav", "b.flac", "c.csv"]
    assert names(rep1) == names(rep2) == ["a.wav.json", "b.flac.json", "c.csv.json"]
    for name in names(out1):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes()
        r1 = json.loads((rep1 / f"{name}.json").read_text())
        r2 = json.loads((rep2 / f"{name}.json").read_text())
        assert r1["input"] == str(inputs / name) and r1["output"] == str(out1 / name)
        r1.pop("output"), r2.pop("output")
        r1.pop("job"), r2.pop("job")  # the run's times (README: the one key runs differ in)
        assert r1 == r2


def test_exit_code_is_the_largest_among_failures(runner, inputs, tmp_path):
    (inputs / "mono.csv").write_text("v\n1.0\n2.0\n3.0\n")
    # --columns w: a usage problem for mono.csv (2), a bad cell in bad.csv (1)
    (inputs / "two.csv").write_text("v,w\n1.0,2.0\n2.0,3.0\n3.0,5.0\n")
    files = [str(inputs / n) for n in ("two.csv", "mono.csv", "bad.csv")]
    result = runner.invoke(cli, [*ARGS, *files, "--columns", "w", "-o", f"{tmp_path}/o/"])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 2
    assert errors[0].startswith(f"Error: {inputs / 'mono.csv'}: columns: no column 'w'")
    assert names(tmp_path / "o") == ["two.csv"]


def test_a_file_that_would_clip_is_refused_the_others_written(runner, tmp_path):
    """CSV values beyond [-1, 1] asked as 16-bit audio would clip: that file fails (1)."""
    (tmp_path / "loud.csv").write_text("\n".join(["3.0", "-3.0"] * 20) + "\n")
    (tmp_path / "soft.csv").write_text("\n".join(["0.3", "-0.3"] * 20) + "\n")
    files = [str(tmp_path / "loud.csv"), str(tmp_path / "soft.csv")]
    args = [*ARGS, *files, "-o", f"{tmp_path}/o/", "--output-format", "wav", "--rate", "8000"]
    result = runner.invoke(cli, [*args, "--subtype", "PCM_16", "--strict"])
    assert result.exit_code == 1
    assert names(tmp_path / "o") == ["soft.wav"]
    loud = f"{tmp_path / 'loud.csv'}: {tmp_path}/o/loud.wav"
    assert f"Error: {loud}: 40 output samples lie outside the range of PCM_16" in result.stderr
    assert "give --subtype FLOAT" in result.stderr
    result = runner.invoke(cli, args)  # float by default: nothing to clip
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(str(tmp_path / "o" / "loud.wav")).subtype == "FLOAT"


@pytest.mark.parametrize(
    "args, message",
    [
        (["A", "B"], r"2 INPUTs \(.*a.csv', .*b.csv'\) need -o DIR/"),
        (["A", "B", "-o", "TMP/x.csv"], r"need -o to name a directory .*'TMP/x.csv' is not one"),
        (["A", "-", "-o", "TMP/"], r"stdin \('-'\) cannot be one of several inputs"),
        (["A", "B", "-o", "TMP/", "--report", "-"], r"--report names a directory"),
        (["A", "B", "-o", "TMP/", "--report", "TMP/r.json"], r"need --report to name a directory"),
        (["A", "TMP/in2/a.csv", "-o", "TMP/"], r"would both be written to TMP/a.csv"),
        (["A", "B", "-o", "TMP/new/", "--output-format", "nope"], r"unknown format 'nope'"),
    ],
)
def test_usage_errors(runner, tmp_path, args, message):
    (tmp_path / "in2").mkdir()
    for name in ("a.csv", "b.csv", "in2/a.csv"):
        (tmp_path / name).write_text("1\n2\n3\n")
    paths = {"A": str(tmp_path / "a.csv"), "B": str(tmp_path / "b.csv")}
    args = [paths.get(a, a.replace("TMP", str(tmp_path))) for a in args]
    result = runner.invoke(cli, [*ARGS, *args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert re.search(message.replace("TMP", re.escape(str(tmp_path))), result.stderr), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "in2"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_two_reports_in_one_place_are_refused_before_running(runner, tmp_path, jobs):
    """--in-place --report DIR/ with two inputs of one name: both reports would be
    DIR/x.csv.json (the first one lost); refused as two outputs in one place are."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.csv").write_text("1\n2\n3\n")
    files = [str(tmp_path / "a" / "x.csv"), str(tmp_path / "b" / "x.csv")]
    reports = f"{tmp_path}/r/"
    result = runner.invoke(cli, [*ARGS, *files, "--in-place", "--report", reports, "-j", jobs])
    assert result.exit_code == 2, result.stderr
    assert (
        f"Error: the report of {files[0]} and the report of {files[1]} would both be written "
        f"to {reports}x.csv.json; rename one, or run them separately"
    ) in result.stderr
    assert names(tmp_path) == ["a", "b"]
    assert all((tmp_path / sub / "x.csv").read_text() == "1\n2\n3\n" for sub in "ab")


def test_an_output_and_a_report_in_one_place_are_refused(tmp_path):
    """A report is compared with the outputs too, as places (./DIR/ is DIR/)."""
    from resdenoise.batch import run_batch
    from resdenoise.errors import ParameterError
    from resdenoise.pipeline import planner

    for name in ("x.csv", "x.csv.json"):
        (tmp_path / name).write_text("1\n2\n3\n")
    files = [str(tmp_path / "x.csv"), str(tmp_path / "x.csv.json")]
    with pytest.raises(ParameterError, match=r"the report of .*x\.csv and the output of "):
        run_batch(
            planner("resnet", "tanh", blocks=1),
            files,
            f"{tmp_path}/o/",
            report_dir=f"{tmp_path}/./o/",
            input_format="csv",
        )
    assert names(tmp_path) == ["x.csv", "x.csv.json"]


def test_single_input_into_a_directory_and_unchanged_without_slash(runner, inputs, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    result = runner.invoke(cli, [*ARGS, str(inputs / "c.csv"), "-q", "-o", f"{out}/"])
    assert result.exit_code == 0 and names(out) == ["c.csv"]
    result = runner.invoke(cli, [*ARGS, str(inputs / "c.csv"), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.endswith("is a directory; give an output file name\n")


def test_output_format_renames_and_in_place_needs_the_flag(runner, inputs, tmp_path):
    files = [str(inputs / "a.wav"), str(inputs / "c.csv")]
    result = runner.invoke(
        cli,
        [*ARGS, *files, "-q", "-o", f"{tmp_path}/f/", "--output-format", "caf", "--rate", "8000"],
    )
    assert result.exit_code == 0, result.output
    assert names(tmp_path / "f") == ["a.caf", "c.caf"]
    before = (inputs / "c.csv").read_bytes()
    result = runner.invoke(cli, [*ARGS, *files, "-q", "-o", str(inputs)])
    assert result.exit_code == 1
    assert result.stderr.count("output is the input file; pass --in-place") == 2
    result = runner.invoke(cli, [*ARGS, *files, "-q", "-o", str(inputs), "--in-place"])
    assert result.exit_code == 0
    assert (inputs / "c.csv").read_bytes() != before
    assert not [n for n in os.listdir(inputs) if n.endswith(".tmp")]


def test_a_worker_that_dies_is_reported(inputs, tmp_path, worker_takes_first):
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)

    def make_plan(u):
        if u.shape == (400,) and os.getpid() != worker_takes_first:  # b.flac: its worker killed
            os._exit(9)
        return base(u)

    out = tmp_path / "out"
    files = [str(inputs / n) for n in ("b.flac", "a.wav", "c.csv")]
    results = run_batch(make_plan, files, str(out), jobs=2)
    assert [r.exit_code for r in results] == [1, 0, 0]
    assert str(results[0].error) == "the worker process died (exit code 9)"
    assert results[0].report is None and results[0].input == files[0]
    assert results[1].report["guarantees_held"] and results[2].report["guarantees_held"]
    assert names(out) == ["a.wav", "c.csv"]


def test_a_dying_worker_gives_back_the_files_it_had_not_started(tmp_path, worker_takes_first):
    """A worker that dies fails only the file it was running; the files after it are
    run by this process and by a new worker."""
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)

    def make_plan(u):
        if u.shape == (41,) and os.getpid() != worker_takes_first:  # in0: its worker killed
            os._exit(9)
        return base(u)

    rng = np.random.default_rng(5)
    files = []
    for k in range(6):
        files.append(str(tmp_path / f"in{k}.csv"))
        np.savetxt(files[-1], rng.standard_normal(41 if k == 0 else 50))
    results = run_batch(make_plan, files, str(tmp_path / "o"), jobs=2)
    assert [r.exit_code for r in results] == [1, 0, 0, 0, 0, 0]
    assert str(results[0].error) == "the worker process died (exit code 9)"
    assert names(tmp_path / "o") == [f"in{k}.csv" for k in range(1, 6)]


def test_workers_start_once_and_take_many_files(tmp_path, monkeypatch, count_calls):
    """--jobs 2 over six files: this process and one worker forked once, each running
    several files (not a process per file), and the files as --jobs 1 writes them."""
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    seen = tmp_path / "pids"
    seen.mkdir()

    def make_plan(u):  # the first file waits until the other worker has taken one
        (seen / str(os.getpid())).touch()
        deadline = time.monotonic() + 20
        while len(list(seen.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return base(u)

    rng = np.random.default_rng(3)
    files = []
    for k in range(6):
        files.append(str(tmp_path / f"in{k}.csv"))
        np.savetxt(files[-1], rng.standard_normal(50))
    forks = count_calls(os, "fork")
    two = run_batch(make_plan, files, str(tmp_path / "o2"), jobs=2)
    pids = {int(p.name) for p in seen.iterdir()}
    assert len(pids) == 2 and os.getpid() in pids
    assert forks == [1]
    one = run_batch(base, files, str(tmp_path / "o1"), jobs=1)
    assert [r.exit_code for r in two] == [r.exit_code for r in one] == [0] * 6
    for k in range(6):
        name = f"in{k}.csv"
        assert (tmp_path / "o2" / name).read_bytes() == (tmp_path / "o1" / name).read_bytes()


def _csv_inputs(tmp_path, lengths) -> list[str]:
    rng = np.random.default_rng(6)
    files = []
    for k, n in enumerate(lengths):
        files.append(str(tmp_path / f"in{k}.csv"))
        np.savetxt(files[-1], rng.standard_normal(n))
    return files


def _waiting_for_the_others(files, out, seconds: float, why: str):
    """A plan maker whose run of the input of 41 samples finishes only once every other
    input's output is in ``out`` (RuntimeError ``why`` after ``seconds``)."""
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    slow = next(k for k, f in enumerate(files) if len(np.loadtxt(f)) == 41)
    others = [out / os.path.basename(f) for k, f in enumerate(files) if k != slow]

    def make_plan(u):
        if u.shape == (41,):
            deadline = time.monotonic() + seconds
            while not all(p.exists() for p in others):
                if time.monotonic() > deadline:
                    raise RuntimeError(why)
                time.sleep(0.01)
        return base(u)

    return make_plan


def test_a_slow_file_holds_up_no_other(tmp_path):
    """This process and its worker take the files from one queue as they come free:
    while one runs a slow file, the other runs every other file (none is held behind
    the slow one, as a file sent ahead to a slow worker was)."""
    from resdenoise.batch import run_batch

    files = _csv_inputs(tmp_path, [41] + [50] * 5)
    out = tmp_path / "o"
    make_plan = _waiting_for_the_others(files, out, 10, "the other files waited for this one")
    results = run_batch(make_plan, files, str(out), jobs=2)
    assert [r.exit_code for r in results] == [0] * 6, [str(r.error) for r in results]
    assert names(out) == [f"in{k}.csv" for k in range(6)]


def test_a_worker_that_dies_before_it_says_which_file_it_took(
    tmp_path, monkeypatch, worker_takes_first
):
    """A worker killed between taking a file from the queue and saying so: that file
    fails as its worker's (nothing is lost or run twice); this process runs the rest (a
    worker that dies before starting a file is not replaced)."""
    from resdenoise import batch, batch_pool
    from resdenoise.pipeline import planner

    real = batch_pool._started

    def started(i):  # the worker that takes in0 (its first file) dies before saying so
        if i == 0:
            os._exit(9)
        return real(i)

    monkeypatch.setattr(batch_pool, "_started", started)  # the forked workers inherit it
    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    files = _csv_inputs(tmp_path, [50] * 5)
    done = []
    results = batch.run_batch(
        base, files, str(tmp_path / "o"), jobs=2, on_done=lambda i, r: done.append(i)
    )
    assert [r.exit_code for r in results] == [1, 0, 0, 0, 0]
    assert str(results[0].error) == "the worker process died (exit code 9)"
    assert sorted(done) == list(range(5))  # each file reported once
    assert names(tmp_path / "o") == [f"in{k}.csv" for k in range(1, 5)]


def test_the_queue_gives_every_index_once_in_order_also_beyond_a_full_pipe():
    """More files than the pipe holds: the parent writes what fits, then the rest as the
    workers take indices (whole indices, never split); then the workers read its end."""
    import fcntl

    from resdenoise import batch_pool

    queue = batch_pool._Queue(3000)
    try:
        try:
            fcntl.fcntl(queue.write_fd, 1031, 4096)  # F_SETPIPE_SZ: one page, 1024 indices
        except OSError:
            pytest.skip("a pipe's size is set only on Linux")
        queue.fill()
        assert queue.write_fd is not None  # not all written yet
        taken = []
        while True:
            try:
                i = batch_pool._next(queue.fd)
            except BlockingIOError:  # the pipe is empty: the parent writes more
                queue.fill()
                continue
            if i is None:
                break
            taken.append(i)
        assert queue.write_fd is None
        assert taken == list(range(3000))
    finally:
        queue.close()


WORKER_FIRST_RUN = """
import os, sys
from resdenoise import batch
from resdenoise.pipeline import planner

real, out = batch.run_file, sys.argv[1]

def run_file(*args, **kwargs):
    before = set(sys.modules)
    report = real(*args, **kwargs)
    new = sorted(set(sys.modules) - before)
    with open(os.path.join(out, str(os.getpid())), "a") as fh:
        fh.write(" ".join(new) + "\\n")
    return report

batch.run_file = run_file
base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
results = batch.run_batch(base, sys.argv[2:], os.path.join(out, "o"), jobs=2)
assert [r.exit_code for r in results] == [0] * len(results)
"""


def test_workers_inherit_what_a_run_imports(tmp_path):
    """The parent imports what a file's run imports (the filters, the compiled loops,
    soundfile for audio) before it forks the workers, in a fresh process: the workers
    share it, and their first runs import none of it again."""
    import subprocess
    import sys

    rng = np.random.default_rng(7)
    files = []
    for k in range(4):
        files.append(str(tmp_path / f"in{k}.wav"))
        soundfile.write(files[-1], 0.3 * rng.standard_normal((300, 2)), 8000, subtype="FLOAT")
    logs = tmp_path / "logs"
    logs.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", WORKER_FIRST_RUN, str(logs), *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    workers = [p for p in logs.iterdir() if p.is_file()]
    assert workers
    for log in workers:
        first = log.read_text().splitlines()[0].split()
        assert not {"soundfile", "resdenoise.filters", "resdenoise._kernels"} & set(first), first


@pytest.mark.parametrize("shown", [False, True])
def test_workers_report_progress_only_where_it_is_shown(tmp_path, monkeypatch, shown):
    """--jobs 2 with no progress shown (a pipe, CI): the workers' runs get no progress
    callback and send nothing but results, as --jobs 1's runs; shown, they report it.
    This process's runs get a hook either way (it reads the workers' pipes from it)."""
    from resdenoise import batch
    from resdenoise.pipeline import planner

    seen = tmp_path / "seen"
    seen.mkdir()
    real = batch.run_file

    def run_file(*args, progress=None, **kwargs):
        (seen / f"{os.getpid()}-{progress is not None}").touch()
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(batch, "run_file", run_file)  # the forked workers inherit it
    rng = np.random.default_rng(4)
    files = []
    for k in range(4):
        files.append(str(tmp_path / f"in{k}.csv"))
        np.savetxt(files[-1], rng.standard_normal(50))
    calls = []
    progress = (lambda *a: calls.append(a)) if shown else None
    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    results = batch.run_batch(base, files, str(tmp_path / "o"), jobs=2, progress=progress)
    assert [r.exit_code for r in results] == [0] * 4
    parent = str(os.getpid())
    flags = {p.name.split("-")[1] for p in seen.iterdir() if p.name.split("-")[0] != parent}
    assert flags == {str(shown)}
    assert {p.name for p in seen.iterdir() if p.name.startswith(parent + "-")} <= {f"{parent}-True"}
    assert bool(calls) is shown


def _same_file(a, b) -> bool:
    """Two paths name one file, written out here: the same inode, or the same place
    once their directories are resolved (a link at the last name not followed)."""
    if a is None or b is None or "-" in (a, b):
        return False
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass

    def place(p):
        head, name = os.path.split(os.path.abspath(p))
        return os.path.join(os.path.realpath(head), name)

    return place(a) == place(b)


def test_file_index_finds_what_same_file_finds(tmp_path):
    """FileIndex.find (a batch's inputs indexed once) answers as comparing the
    path with each input by _same_file, in order: hard links, symlinked
    directories, '..' and names not yet made."""
    from resdenoise.pipeline import FileIndex

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("1\n2\n")
    (tmp_path / "b.csv").write_text("1\n2\n")
    os.link(tmp_path / "b.csv", tmp_path / "d" / "hard.csv")
    os.symlink(tmp_path / "d", tmp_path / "link")
    indexed = [str(tmp_path / "d" / "a.csv"), str(tmp_path / "b.csv"), str(tmp_path / "new.csv")]
    index = FileIndex(indexed)
    asked = [
        tmp_path / "d" / "a.csv",
        tmp_path / "link" / "a.csv",
        tmp_path / "d" / ".." / "b.csv",
        tmp_path / "d" / "hard.csv",
        tmp_path / "link" / ".." / "new.csv",
        tmp_path / "new.csv",
        tmp_path / "other.csv",
        tmp_path / "d",
        "-",
        None,
    ]
    for path in asked:
        path = None if path is None else str(path)
        expected = next((p for p in indexed if _same_file(p, path)), None)
        assert index.find(path) == expected, path
    assert index.find(str(tmp_path / "d" / "hard.csv")) == indexed[1]
    assert FileIndex().find(indexed[0]) is None


def test_quiet_batch_does_not_measure_what_nobody_reads(runner, inputs, tmp_path, monkeypatch):
    """-q without --report or --strict: the files are run as a quiet single file is
    (not measured after the run, ``measure=False``), the same bits written; with
    --report DIR/ or without -q they are measured, as their reports need."""
    from resdenoise import batch

    seen = []
    real = batch.run_file

    def run_file(*args, measure=True, **kwargs):
        seen.append(measure)
        return real(*args, measure=measure, **kwargs)

    monkeypatch.setattr(batch, "run_file", run_file)
    files = [str(inputs / n) for n in ("a.wav", "b.flac", "c.csv")]
    out = {}
    for key, extra in {
        "quiet": ["-q"],
        "report": ["-q", "--report", f"{tmp_path}/reports/"],
        "strict": ["-q", "--strict"],
        "loud": [],
    }.items():
        seen.clear()
        result = runner.invoke(cli, [*ARGS, *files, "-o", f"{tmp_path}/{key}/", *extra])
        assert result.exit_code == 0, result.output
        assert seen == [key != "quiet"] * 3, key
        out[key] = {n: (tmp_path / key / n).read_bytes() for n in names(tmp_path / key)}
    assert out["quiet"] == out["report"] == out["strict"] == out["loud"]
    assert names(tmp_path / "reports") == ["a.wav.json", "b.flac.json", "c.csv.json"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_batch_measure_false_gives_the_same_files_and_no_reports(inputs, tmp_path, jobs):
    from resdenoise.batch import run_batch
    from resdenoise.errors import ParameterError
    from resdenoise.pipeline import RunOptions, planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    files = [str(inputs / n) for n in ("a.wav", "b.flac", "c.csv")]
    measured = run_batch(base, files, str(tmp_path / "m"), jobs=jobs)
    quiet = run_batch(base, files, str(tmp_path / "q"), jobs=jobs, measure=False)
    assert all(r.report["guarantees_held"] for r in measured)
    assert [(r.exit_code, r.report) for r in quiet] == [(0, None)] * 3
    for name in ("a.wav", "b.flac", "c.csv"):
        assert (tmp_path / "q" / name).read_bytes() == (tmp_path / "m" / name).read_bytes()
    for kwargs in ({"report_dir": str(tmp_path / "r")}, {"run": RunOptions(strict=True)}):
        with pytest.raises(ParameterError, match="measure=False builds no report"):
            run_batch(base, files, str(tmp_path / "x"), measure=False, **kwargs)
    assert not (tmp_path / "x").exists() and not (tmp_path / "r").exists()


def test_a_result_that_does_not_pickle_fails_only_its_file(
    inputs, tmp_path, monkeypatch, worker_takes_first
):
    """A worker sends each result back pickled: one that cannot be (a bug) fails its
    file with one internal-error line; the worker goes on with the other files."""
    from resdenoise import batch
    from resdenoise.pipeline import planner

    real = batch.run_file

    def run_file(make_plan, path, *args, **kwargs):
        report = real(make_plan, path, *args, **kwargs)
        return {**report, "bug": lambda: None} if path.endswith("b.flac") else report

    monkeypatch.setattr(batch, "run_file", run_file)  # the forked workers inherit it
    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    files = [str(inputs / n) for n in ("b.flac", "a.wav", "c.csv")]  # b.flac: the worker's
    results = batch.run_batch(base, files, str(tmp_path / "o"), jobs=2)
    assert [r.exit_code for r in results] == [1, 0, 0], [str(r.error) for r in results]
    assert str(results[0].error).startswith("internal error: ")
    assert "pickle" in str(results[0].error)
    assert results[1].report["guarantees_held"] and results[2].report["guarantees_held"]


def test_a_failing_file_in_either_share_is_reported_as_with_one_job(
    runner, inputs, tmp_path, worker_takes_first
):
    """--jobs 2: this process runs files of its own besides its worker's; a bad file
    in the worker's share (bad.csv, the first) and one in this process's (worse.csv,
    the second) fail each with its own line and exit code, the others written, as
    with --jobs 1."""
    (inputs / "worse.csv").write_text("v\n1.0\nnope\n2.0\n")
    files = [str(inputs / n) for n in ("bad.csv", "worse.csv", "a.wav", "b.flac", "c.csv")]
    seen = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = runner.invoke(cli, [*ARGS, *files, "-o", f"{out}/", "-j", jobs])
        assert result.exit_code == 1, result.output
        lines = sorted(result.stderr.replace(str(out), "OUT").splitlines())
        seen[jobs] = (lines, {n: (out / n).read_bytes() for n in names(out)})
    assert seen["1"] == seen["2"]
    lines, written = seen["2"]
    assert [line for line in lines if line.startswith("Error:")] == [
        f"Error: {inputs / 'bad.csv'}: line 4, column 1 ('v'): 'oops' is not a number; correct it or delete line 4",
        f"Error: {inputs / 'worse.csv'}: line 3, column 1 ('v'): 'nope' is not a number; "
        "correct it or delete line 3",
    ]
    assert "5 files: 3 written, 2 failed" in lines
    assert sorted(written) == ["a.wav", "b.flac", "c.csv"]


def test_one_file_with_two_jobs_forks_nothing(inputs, tmp_path, monkeypatch):
    """--jobs 2 over one file runs it in this process, as --jobs 1 does: run_batch
    takes no more jobs than files, so _Pool is never reached (nothing to fork)."""
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    one = run_batch(base, [str(inputs / "a.wav")], str(tmp_path / "o1"), jobs=1)

    def fork():
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", fork)
    two = run_batch(base, [str(inputs / "a.wav")], str(tmp_path / "o2"), jobs=2)
    assert [r.exit_code for r in two] == [0]
    same = {"output": "", "job": None}  # job: the run's times
    assert {**two[0].report, **same} == {**one[0].report, **same}
    assert (tmp_path / "o2" / "a.wav").read_bytes() == (tmp_path / "o1" / "a.wav").read_bytes()


def _waiting_planner(wait, **settings):
    """A :class:`Planner` (the kind run_file hands its progress to, as to an automatic
    search) whose call first runs ``wait(u, progress)``."""
    import dataclasses

    from resdenoise.pipeline import planner
    from resdenoise.plans import Planner

    @dataclasses.dataclass(frozen=True)
    class Waiting(Planner):
        def __call__(self, u, progress=None, **named):  # labels: a CSV file's columns
            wait(u, progress)
            return super().__call__(u, **named)

    base = planner("diffuse", "charbonnier", lam=0.3, **settings)
    return Waiting(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})


def _until(done, seconds: float, why: str, step=None) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(why)
        if step is not None:
            step()
        time.sleep(0.005)


def test_the_workers_progress_moves_while_this_process_runs_a_file(
    tmp_path, monkeypatch, worker_takes_first
):
    """Shown progress: the worker's progress on in0, made only once this process runs
    its own file in1 (in0 waits for that), reaches the callback while in1 runs (read
    between two of in1's progress steps: live, not buffered before in1), and in0's
    result is handed over only after in1 (never from inside this process's run, where
    an exception would fail in1)."""
    from resdenoise import batch, batch_pool

    monkeypatch.setattr(batch_pool._Pool, "LOOK", 0.0)  # look at every progress step
    files = _csv_inputs(tmp_path, [50, 60])
    out, running = tmp_path / "o", tmp_path / "in1-runs"

    def wait(u, progress):
        if u.shape == (50,):  # in0, the worker's: starts once in1 runs
            _until(running.exists, 30, "in1 never ran")
        else:  # in1, this process's: searches (progress) until in0 is written
            running.touch()
            _until((out / "in0.csv").exists, 30, "in0 was never written",
                   lambda: progress("search", 0, None))  # fmt: skip

    events = []
    results = batch.run_batch(
        _waiting_planner(wait, steps=200),
        files,
        str(out),
        jobs=2,
        progress=lambda i, *a: events.append(("progress", i)),
        on_done=lambda i, r: events.append(("done", i)),
    )
    assert [r.exit_code for r in results] == [0, 0]
    mine = [k for k, e in enumerate(events) if e == ("progress", 1)]
    theirs = [k for k, e in enumerate(events) if e == ("progress", 0)]
    assert theirs and all(mine[0] < k < mine[-1] for k in theirs), events
    assert events.index(("done", 0)) > mine[-1], events


def test_the_worker_goes_on_while_this_process_runs_a_long_file(
    tmp_path, monkeypatch, worker_takes_first
):
    """While this process runs one file (in1, until every other output is written), the
    worker runs all the others: their results, more than a pipe holds by default
    (64 KiB), wait in its pipe without stopping it."""
    from resdenoise import batch, batch_pool

    _skip_unless_pipes_widen(batch_pool.pipe_bytes(2))
    files = _csv_inputs(tmp_path, [50, 41] + [50] * 58)  # in1 (41): this process's
    out = tmp_path / "o"
    make_plan = _waiting_for_the_others(files, out, 60, "the worker stopped")
    results = batch.run_batch(make_plan, files, str(out), jobs=2)
    assert [r.exit_code for r in results] == [0] * len(files), [str(r.error) for r in results]
    assert sum(len(pickle.dumps(("done", r))) for r in results[2:]) > 1 << 16


def test_the_worker_goes_on_while_this_process_runs_a_long_file_quietly(
    tmp_path, monkeypatch, worker_takes_first
):
    """Progress not shown (no terminal, -q): this process read the worker's pipe only
    through the shown progress, so a worker whose pipe (64 KiB here) was full of results
    waited until this process's long file ended.  Its run's progress hook now reads
    the pipes every LOOK seconds, shown or not."""
    from resdenoise import batch, batch_pool

    monkeypatch.setattr(batch_pool, "_widen", lambda fd, size: None)  # the default 64 KiB pipes
    files = _csv_inputs(tmp_path, [50, 41] + [50] * 58)  # in1 (41): this process's
    out = tmp_path / "o"
    others = [out / os.path.basename(f) for k, f in enumerate(files) if k != 1]

    def wait(u, progress):  # in1's search calls its progress until the rest is written
        if u.shape == (41,):
            step = None if progress is None else (lambda: progress("search", 0, None))
            _until(lambda: all(p.exists() for p in others), 60, "the worker stopped", step)

    results = batch.run_batch(_waiting_planner(wait, time=3.0), files, str(out), jobs=2)
    assert [r.exit_code for r in results] == [0] * len(files), [str(r.error) for r in results]
    assert sum(len(pickle.dumps(("done", r))) for r in results[2:]) > 1 << 16


@pytest.mark.parametrize("forks", [0, 1])
def test_a_fork_that_fails_leaves_the_files_to_the_others(tmp_path, monkeypatch, forks):
    """os.fork raising (EAGAIN, ENOMEM) ended the batch as 'internal error ... (a bug)'
    and lost its results: this process now goes on with the workers it could fork
    (``forks`` of the two asked for), with none running every file itself."""
    import errno

    from resdenoise import batch
    from resdenoise.pipeline import planner

    real, calls = os.fork, [0]

    def fork():
        calls[0] += 1
        if calls[0] > forks:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return real()

    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(batch, "max_jobs", lambda: 3)
    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    files = _csv_inputs(tmp_path, [50] * 5)
    results = batch.run_batch(base, files, str(tmp_path / "o"), jobs=3)
    assert [r.exit_code for r in results] == [0] * 5, [str(r.error) for r in results]
    assert names(tmp_path / "o") == [f"in{k}.csv" for k in range(5)]
    assert calls[0] == 2


def test_the_pipes_of_many_jobs_stay_within_a_budget(tmp_path, monkeypatch):
    """Each pipe was widened to 1 MiB: --jobs 64 took the user's whole pipe budget
    (Linux: 16384 pages), after which every new pipe of the user got 2 pages.  Now
    they share PIPE_BUDGET, each at least the default 64 KiB."""
    import errno
    import fcntl

    from resdenoise import batch, batch_pool
    from resdenoise.pipeline import planner

    sizes, real = [], fcntl.fcntl

    def record(fd, cmd, arg=0):
        if cmd == getattr(fcntl, "F_SETPIPE_SZ", None):
            sizes.append(arg)
        return real(fd, cmd, arg)

    def fork():  # no worker: this process runs every file (the pipes are made first)
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(fcntl, "fcntl", record)
    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(batch, "max_jobs", lambda: 64)
    files = _csv_inputs(tmp_path, [20] * 64)
    base = planner("diffuse", "charbonnier", lam=0.3, steps=1)
    results = batch.run_batch(base, files, str(tmp_path / "o"), jobs=64)
    assert [r.exit_code for r in results] == [0] * 64
    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        pytest.skip("a pipe's size is set only on Linux")
    assert len(sizes) == 64  # the queue and 63 workers' pipes
    assert sum(sizes) <= batch_pool.PIPE_BUDGET
    assert min(sizes) >= batch_pool.PIPE_DEFAULT
    assert [batch_pool.pipe_bytes(n) for n in (1, 2, 16, 20, 64, 4096)] == [
        1 << 20, 1 << 20, 1 << 20, 1 << 19, 1 << 18, 1 << 16,
    ]  # fmt: skip


def _skip_unless_pipes_widen(size: int) -> None:
    """Skip where a pipe cannot be made to hold ``size`` bytes (not Linux, or a
    lower /proc/sys/fs/pipe-max-size or pipe budget)."""
    import fcntl

    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        pytest.skip("a pipe's size is set only on Linux")
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, size)
    except OSError as exc:
        pytest.skip(f"this system refuses pipes of {size} bytes: {exc}")
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_batch_that_writes_nothing_leaves_no_directory(runner, inputs, tmp_path, jobs):
    """-o NEW/ and --report NEW/ (with missing parents) were made and left empty when every
    file failed; now made by the first output put in place there (by either process
    with -j 2), so never by a batch that writes nothing, and never removed."""
    bad = str(inputs / "bad.csv")
    (inputs / "bad2.csv").write_bytes((inputs / "bad.csv").read_bytes())
    files = [bad, str(inputs / "bad2.csv")]
    out, rep = tmp_path / "new" / "out", tmp_path / "rep"
    for batch in (files, files[:1]):  # one input into a directory is a batch too
        args = [*ARGS, *batch, "-q", "-j", jobs, "-o", f"{out}/", "--report", f"{rep}/"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert names(tmp_path) == ["in"]  # neither new/, new/out/ nor rep/
    (tmp_path / "empty").mkdir()
    result = runner.invoke(cli, [*ARGS, *files, "-q", "-j", jobs, "-o", str(tmp_path / "empty")])
    assert result.exit_code == 1 and names(tmp_path / "empty") == []  # there before: kept
    files += [str(inputs / "c.csv"), str(inputs / "a.wav")]
    result = runner.invoke(cli, [*ARGS, *files, "-q", "-j", jobs, "-o", f"{out}/"])
    assert result.exit_code == 1 and names(out) == ["a.wav", "c.csv"]
    assert names(tmp_path) == ["empty", "in", "new"]  # no temporary left beside new/


def test_a_report_directory_of_one_run_that_fails_is_not_made(runner, inputs, tmp_path):
    """``--report DIR/`` of one INPUT: made as the report is written, not for a run that
    fails; -o's own directory is still never made."""
    args = [*ARGS, "-q", "-o", str(tmp_path / "o.csv"), "--report", f"{tmp_path / 'r'}/"]
    assert runner.invoke(cli, [*args[:-4], str(inputs / "bad.csv"), *args[-4:]]).exit_code == 1
    assert names(tmp_path) == ["in"]
    assert runner.invoke(cli, [*args[:-4], str(inputs / "c.csv"), *args[-4:]]).exit_code == 0
    assert names(tmp_path / "r") == ["c.csv.json"]
    args[args.index("-o") + 1] = str(tmp_path / "missing" / "o.csv")
    result = runner.invoke(cli, [*args[:-4], str(inputs / "c.csv"), *args[-4:]])
    assert result.exit_code == 1 and "output directory" in result.stderr
    assert names(tmp_path) == ["in", "o.csv", "r"]


def test_an_output_makes_its_directories_only_as_it_is_put_in_place(tmp_path):
    """``WriteOptions.parents``: the temporary waits in the nearest directory that exists;
    the directories are made at the rename, also where another process (a worker, a
    second run) made them a moment before; a write that fails makes none."""
    from resdenoise.io import write_files_atomic

    new = tmp_path / "a" / "b"
    seen = []

    def other_run():  # called just before the renames: nothing made yet
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        new.mkdir(parents=True)  # another process makes it first

    write_files_atomic([(new / "x.csv", b"1\n"), (new / "y.json", b"{}")], other_run, True)
    assert len(seen[0]) == 2 and all(n.endswith(".tmp") for n in seen[0])  # no a/
    assert sorted(p.name for p in new.iterdir()) == ["x.csv", "y.json"]
    assert names(tmp_path) == ["a"]  # the temporaries renamed away
    with pytest.raises(SignalError, match=r"c' does not exist$"):
        write_files_atomic([(tmp_path / "c" / "x", b"1")])  # parents=False: refused
    (tmp_path / "f").write_text("")
    with pytest.raises(SignalError, match="cannot create the directory .*: Not a directory"):
        write_files_atomic([(tmp_path / "d" / "x", b"1"), (tmp_path / "f" / "y", b"")], None, True)
    assert names(tmp_path) == ["a", "f"]  # neither c/ nor d/, no temporary


def test_a_signal_in_a_batch_makes_no_directory(inputs, tmp_path):
    from resdenoise.batch import run_batch
    from resdenoise.errors import Interrupted

    def make_plan(u):
        raise Interrupted(15)

    files = [str(inputs / "c.csv"), str(inputs / "a.wav")]
    for jobs in (1, 2):
        with pytest.raises(Interrupted):
            run_batch(make_plan, files, str(tmp_path / "o"), jobs=jobs)
        assert names(tmp_path) == ["in"]


def test_a_worker_killed_after_its_rename_says_the_output_may_be_there(
    inputs, tmp_path, worker_takes_first, monkeypatch
):
    """A worker killed between renaming b.flac's output into place and sending its
    result: the file was reported as a plain failure ('the worker process died') though
    its output was there; the worker now says before the renames that it makes them, and
    the failure says the output (and report) may have been written, naming them."""
    from resdenoise import batch, batch_pool
    from resdenoise.pipeline import planner

    real = batch_pool._message

    def message(payload):
        if os.getpid() != worker_takes_first and payload[0] == "done":  # b.flac's result
            os._exit(9)
        return real(payload)

    monkeypatch.setattr(batch_pool, "_message", message)
    out, rep = tmp_path / "out", tmp_path / "rep"
    files = [str(inputs / n) for n in ("b.flac", "a.wav", "c.csv")]
    make_plan = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    results = batch.run_batch(make_plan, files, str(out), report_dir=str(rep), jobs=2)
    assert [r.exit_code for r in results] == [1, 0, 0]
    assert str(results[0].error) == (
        f"the worker process died (exit code 9) while putting its output in place: "
        f"{out / 'b.flac'} and its report {rep / 'b.flac.json'} may have been written"
    )
    assert names(out) == ["a.wav", "b.flac", "c.csv"]  # it was, indeed


def test_a_worker_killed_outright_leaves_no_temporary(
    inputs, tmp_path, worker_takes_first, monkeypatch
):
    """A worker killed by SIGKILL (the out-of-memory killer, kill -9) while its file's
    output was being written: the partial ``.c.csv.*.tmp`` stayed, where the output
    directory, not made yet, would be (here: tmp_path), and nothing removed it; the
    worker now tells the parent each temporary it makes, and the parent removes them."""
    import signal

    from resdenoise import batch
    from resdenoise.io import atomic
    from resdenoise.pipeline import planner

    real = atomic._mkstemp

    def mkstemp(prefix, directory):
        made = real(prefix, directory)
        if os.getpid() != worker_takes_first and prefix.startswith(".c.csv"):
            os.kill(os.getpid(), signal.SIGKILL)
        return made

    monkeypatch.setattr(atomic, "_mkstemp", mkstemp)
    out = tmp_path / "new" / "out"
    files = [str(inputs / n) for n in ("c.csv", "a.wav", "b.flac")]
    make_plan = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    results = batch.run_batch(make_plan, files, str(out), jobs=2)
    assert [r.exit_code for r in results] == [1, 0, 0]
    assert str(results[0].error) == (
        "the worker process was killed by SIGKILL (signal 9: the system's out-of-memory "
        "killer, or a kill -9?)"
    )
    assert names(out) == ["a.wav", "b.flac"]
    left = [str(p) for p in tmp_path.rglob("*.tmp")]
    assert left == []


def test_a_plain_success_comes_back_as_one_word(tmp_path, count_calls, worker_takes_first):
    """A quiet batch (measure=False): a worker's file that succeeded with nothing to
    report or warn about comes back as one word, its result this process's placeholder
    of it, not pickled there and unpickled here; the results are those of --jobs 1."""
    from resdenoise import batch, batch_pool
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    files = _csv_inputs(tmp_path, [50] * 4)  # the first is the worker's
    loads = count_calls(batch_pool.pickle, "loads")
    two = batch.run_batch(base, files, str(tmp_path / "o2"), jobs=2, measure=False)
    assert loads == []
    one = batch.run_batch(base, files, str(tmp_path / "o1"), jobs=1, measure=False)

    def seen(results, out):
        return [(r.input, os.path.relpath(r.output, out), r.report, r.error, r.warnings)
                for r in results]  # fmt: skip

    assert seen(two, tmp_path / "o2") == seen(one, tmp_path / "o1")
    assert [r.exit_code for r in two] == [0] * 4


def test_a_measured_result_comes_back_pickled(tmp_path, count_calls, worker_takes_first):
    """A measured batch's results still come pickled, with their reports.  (A batch of
    its own: worker_takes_first hands the worker the first file of a test's first batch
    only, so a later batch of one test may leave the worker no file under load.)"""
    from resdenoise import batch, batch_pool
    from resdenoise.pipeline import planner

    base = planner("diffuse", "charbonnier", lam=0.3, time=3.0)
    files = _csv_inputs(tmp_path, [50] * 4)  # the first is the worker's
    loads = count_calls(batch_pool.pickle, "loads")
    measured = batch.run_batch(base, files, str(tmp_path / "m"), jobs=2)
    assert loads and all(r.report["guarantees_held"] for r in measured)


@pytest.mark.parametrize(
    "change, plain",
    [
        ({}, True),
        ({"warnings": ["a warning"]}, False),
        ({"report": {"steps": 1}}, False),
        ({"error": ValueError("no")}, False),
        ({"output": "elsewhere.csv"}, False),
        ({"report_path": "r.json"}, False),
    ],
)
def test_only_a_result_equal_to_its_placeholder_is_plain(change, plain):
    """What a worker sends as one word: a result with its placeholder's paths and no
    report, error or warning; anything else is pickled whole (and an index past the
    placeholders, or not a FileResult, is never plain)."""
    import dataclasses

    from resdenoise.batch_pool import FileResult, _is_plain

    placeholders = [FileResult("a.csv", "out/a.csv"), FileResult("b.csv", "out/b.csv")]
    result = dataclasses.replace(FileResult("b.csv", "out/b.csv"), **change)
    assert _is_plain(result, placeholders, 1) is plain
    assert not _is_plain(result, placeholders, 2)
    assert not _is_plain(result, placeholders, 0)
    assert not _is_plain(("done", result), placeholders, 1)


def test_an_in_place_batch_indexes_its_inputs_once(tmp_path, monkeypatch):
    """run_batch hands its FileIndex of the inputs to check_batch_paths (index=), which
    built a second one of the same files before (a stat and a realpath per file)."""
    from resdenoise import paths
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    files = _csv_inputs(tmp_path, [40, 50, 60])
    built = []
    init = paths.FileIndex.__init__

    def counting(self, given=()):
        given = list(given)
        built.append(given)
        init(self, given)

    monkeypatch.setattr(paths.FileIndex, "__init__", counting)
    results = run_batch(planner("resnet", "tanh", lam=1.0, blocks=1), files, None, in_place=True)
    assert [r.exit_code for r in results] == [0, 0, 0]
    assert built.count(files) == 1
    with pytest.raises(ValueError, match="are one file, and in_place=True would filter it twice"):
        run_batch(
            planner("resnet", "tanh", lam=1.0, blocks=1), [*files, files[0]], None, in_place=True
        )


def test_a_workers_progress_comes_with_its_own_time(tmp_path):
    """-j 2: a worker's progress is relayed in bursts; told with the worker's time
    (``at``) to a callback that takes it, the bars' rates are the worker's (audit12c D3);
    a callback of four arguments still gets four."""
    import time

    from resdenoise import batch
    from resdenoise.pipeline import planner

    rng = np.random.default_rng(5)
    files = []
    for k in range(4):
        files.append(str(tmp_path / f"in{k}.csv"))
        np.savetxt(files[-1], rng.standard_normal(400))
    timed, plain = [], []

    def progress(i, phase, done, total, at=None):
        timed.append((i, at, time.monotonic()))

    progress.takes_time = True

    def four(i, phase, done, total):
        plain.append(i)

    base = planner("diffuse", "charbonnier", lam=0.3, steps=200)
    start = time.monotonic()
    for callback, out in ((progress, "o"), (four, "p")):
        results = batch.run_batch(base, files, str(tmp_path / out), jobs=2, progress=callback)
        assert [r.exit_code for r in results] == [0] * 4
    relayed = [(at, now) for _, at, now in timed if at is not None]
    assert relayed and len(relayed) < len(timed)  # the workers' timed, this process's not
    assert all(start <= at <= now for at, now in relayed)
    assert set(plain) == set(range(4))


def test_a_relayed_bar_has_the_workers_rate(monkeypatch):
    import io

    from rich.console import Console

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with render.Bars(files=2, console=console, get_time=lambda: 1000.0) as bars:
        for k in range(11):  # 100 blocks a second at the worker, told all at once
            bars.update(1, "b.csv", "blocks", 100 * k, 2000, at=990.0 + k)
        bars.progress.refresh()
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())
    assert "100 blocks/s" in text and "ETA 0:00:10" in text
