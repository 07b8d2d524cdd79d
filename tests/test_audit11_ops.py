"""Operator use (audit11b): outputs of concurrent runs, names at the length limit, a
deleted working directory, stdin and ``-o DIR/``, a full stdout, OGG reruns."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from resdenoise.io import atomic, write_files_atomic

# --------------------------------------------------------------------------
# Two runs writing the same output and report at once: the last wins as a whole
# --------------------------------------------------------------------------

_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _probe(directory) -> str:
    """Whether another process can lock ``directory`` now: ``held`` or ``free``."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(directory)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_the_renames_of_a_group_hold_the_directory_lock(tmp_path, monkeypatch):
    """Before: the output and the report were renamed one after the other with nothing
    held, so another run's renames could fall between them; now the target directory
    is locked (flock, no file made) across the group's renames, and free after."""
    real, seen = os.replace, []

    def replace(src, dst):
        seen.append(_probe(tmp_path))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    write_files_atomic([(tmp_path / "o.csv", b"1\n"), (tmp_path / "r.json", b"{}")])
    assert seen == ["held", "held"]
    assert _probe(tmp_path) == "free"
    assert sorted(os.listdir(tmp_path)) == ["o.csv", "r.json"]  # nothing else made
    seen.clear()
    write_files_atomic([(tmp_path / "o.csv", b"2\n")])  # one rename is atomic: no lock
    assert seen == ["free"]


def test_two_directories_are_both_locked(tmp_path, monkeypatch):
    """An output and a report in two directories: both held across the renames."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real, seen = os.replace, []

    def replace(src, dst):
        seen.append((_probe(tmp_path / "a"), _probe(tmp_path / "b")))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    write_files_atomic([(tmp_path / "a" / "o.csv", b"1\n"), (tmp_path / "b" / "r.json", b"{}")])
    assert seen == [("held", "held")] * 2


_PAUSE = {"after_first": 0.0}


def _racer(which: int, directory: str, rounds: int, barrier) -> None:
    """One of two runs writing ``o.csv`` and ``r.json`` each round (run 0 pauses between
    its renames, run 1 starts a little later: its renames fall in run 0's pause)."""
    _PAUSE["after_first"] = 0.05 if which == 0 else 0.0
    for k in range(rounds):
        barrier.wait()
        if which == 1:
            time.sleep(0.01)
        tag = f"{which}:{k}".encode()
        write_files_atomic([(os.path.join(directory, "o.csv"), tag), (directory + "/r.json", tag)])
        barrier.wait()  # the parent compares the two files
        barrier.wait()


def test_two_runs_racing_leave_one_runs_pair(tmp_path, monkeypatch):
    """Before: run 1's signal and report renamed between run 0's two renames left run 1's
    o.csv beside run 0's r.json; now the second waits for the lock: the pair is one run's."""
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if str(dst).endswith("o.csv") and _PAUSE["after_first"]:
            time.sleep(_PAUSE["after_first"])

    monkeypatch.setattr(atomic.os, "replace", replace)
    context = multiprocessing.get_context("fork")
    rounds = 8
    barrier = context.Barrier(3, timeout=60)
    racers = [
        context.Process(target=_racer, args=(i, str(tmp_path), rounds, barrier)) for i in (0, 1)
    ]
    for racer in racers:
        racer.start()
    pairs = []
    try:
        for _ in range(rounds):
            barrier.wait()  # start
            barrier.wait()  # both written
            pairs.append(((tmp_path / "o.csv").read_bytes(), (tmp_path / "r.json").read_bytes()))
            barrier.wait()
    finally:
        for racer in racers:
            racer.join(60)
    assert [r.exitcode for r in racers] == [0, 0]
    assert all(o == r for o, r in pairs), pairs
    assert sorted(os.listdir(tmp_path)) == ["o.csv", "r.json"]


# --------------------------------------------------------------------------
# Names of 242 to 255 bytes: legal, and written (the temporary's name cut to fit)
# --------------------------------------------------------------------------

DIFFUSE = ["diffuse", "--steps", "3", "-q"]


@pytest.mark.parametrize("size", [242, 250, 255])
def test_an_output_name_at_the_length_limit_is_written(runner, noisy_csv, tmp_path, size):
    """Before: ``.NAME.XXXXXXXX.tmp`` is 14 bytes longer than NAME, so every name of
    242..255 bytes failed with 'cannot create a file ...: File name too long'."""
    from resdenoise.cli import cli

    name = "b" * (size - 4) + ".csv"
    out = tmp_path / name
    result = runner.invoke(cli, [*DIFFUSE, str(noisy_csv), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().count("\n") == 120
    before = out.read_bytes()
    result = runner.invoke(cli, [*DIFFUSE, str(out), "--in-place"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != before
    assert sorted(os.listdir(tmp_path)) == sorted(["in.csv", name])  # no temporary left


def test_a_long_name_of_wide_characters_gets_a_temporary_that_fits(tmp_path):
    """The cut keeps whole characters (a 2-byte one is not split) and marks the cut."""
    name = "é" * 125 + ".csv"  # 254 bytes
    prefix = atomic._temp_prefix(name, tmp_path)
    assert prefix.startswith(".éé") and prefix.endswith("~.")
    assert len(os.fsencode(prefix)) + atomic._TEMP_TAIL <= 255
    write_files_atomic([(tmp_path / name, b"1\n"), (tmp_path / "r.json", b"{}")])
    assert sorted(os.listdir(tmp_path)) == sorted([name, "r.json"])
    assert atomic._temp_prefix("short.csv", tmp_path) == ".short.csv."


def test_a_store_name_at_the_length_limit_is_written(runner, noisy_csv, tmp_path):
    """A Zarr store's temporary directory (and the old store moved aside) fits too."""
    pytest.importorskip("zarr")
    from resdenoise.cli import cli

    name = "z" * 250 + ".zarr"
    for _ in range(2):  # the second replaces the first
        result = runner.invoke(cli, [*DIFFUSE, str(noisy_csv), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == sorted(["in.csv", name])


def test_a_name_too_long_itself_is_refused_before_the_run(runner, noisy_csv, tmp_path):
    """256 bytes is no legal name: refused at once, naming the name, as before."""
    from resdenoise.cli import cli

    out = tmp_path / ("b" * 252 + ".csv")
    result = runner.invoke(cli, [*DIFFUSE, str(noisy_csv), "-o", str(out)])
    assert result.exit_code == 1
    assert "File name too long" in result.output
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


# --------------------------------------------------------------------------
# A relative name in a removed working directory: one line, exit 1
# --------------------------------------------------------------------------

GONE = "the current directory no longer exists (it was removed)"


@pytest.fixture
def gone(tmp_path, monkeypatch):
    """The working directory, removed (the test's is restored after it)."""
    path = tmp_path / "gone"
    path.mkdir()
    monkeypatch.chdir(path)
    path.rmdir()
    return path


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["{in}", "-o", "out.csv"], "out.csv"),
        (["in.csv", "-o", "{out}"], "in.csv"),
        (["in.csv"], "in.csv"),
        (["{in}", "-o", "{out}", "--report", "r.json"], "r.json"),
        (["{in}", "{in}", "-o", "d/"], "d/in.csv"),
        (["{in}", "-o", "{out}", "--report", "d/"], "d/in.csv.json"),
        (["in.csv", "--in-place"], "in.csv"),
        (["{in}", "--reference", "ref.csv", "-o", "{out}"], "ref.csv"),
    ],
)
def test_a_relative_name_in_a_removed_directory_is_one_line(
    runner, noisy_csv, tmp_path, gone, args, named
):
    """Before: 'internal error: FileNotFoundError ... (a bug)' from os.path.abspath (which
    calls os.getcwd) for every relative name; now the name and why, exit 1 as a file
    that cannot be found, nothing written."""
    from resdenoise.cli import cli

    given = [a.format(**{"in": noisy_csv, "out": tmp_path / "o.csv"}) for a in args]
    result = runner.invoke(cli, [*DIFFUSE, *given])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {named}: {GONE}")
    assert result.output.count("\n") == 1 and "bug" not in result.output
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_a_relative_network_file_to_learn_in_a_removed_directory(runner, noisy_csv, gone):
    pytest.importorskip("scipy")
    from resdenoise.cli import cli

    args = ["learn", str(noisy_csv), "--clean", str(noisy_csv), "--iterations", "1"]
    result = runner.invoke(cli, [*args, "--blocks", "2", "-q", "-o", "n.toml"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: n.toml: {GONE}")


# --------------------------------------------------------------------------
# stdin alone with -o DIR/ or --report DIR/: one rule, one true reason
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["-o", "TMP/o/"], "-o TMP/o/"),
        (["-o", "TMP/o.csv", "--report", "TMP/r/"], "--report TMP/r/"),
        (["-o", "TMP/o/", "--report", "TMP/r/"], "-o TMP/o/"),
    ],
)
def test_stdin_alone_under_a_directory_is_refused_for_both(runner, tmp_path, args, flag):
    """Before: -o DIR/ said 'stdin cannot be one of several inputs' (there was one input),
    while --report DIR/ wrote DIR/stdin.json; now both are refused (exit 2) saying why:
    stdin has no name to write under a directory."""
    from resdenoise.cli import cli

    args = [a.replace("TMP", str(tmp_path)) for a in args]
    result = runner.invoke(cli, [*DIFFUSE, "-", *args], input="v\n1\n2\n3\n4\n5\n")
    assert result.exit_code == 2, result.output
    shown = flag.replace("TMP", str(tmp_path))
    assert f"Error: stdin ('-') has no name to write under {shown} " in result.output
    assert "several inputs" not in result.output
    assert os.listdir(tmp_path) == []
    result = runner.invoke(cli, [*DIFFUSE, "-", "-o", str(tmp_path / "o.csv")], input="v\n1\n2\n")
    assert result.exit_code == 0 and os.listdir(tmp_path) == ["o.csv"]  # a named output: fine


# --------------------------------------------------------------------------
# OGG: libsndfile draws the stream's serial number at random; the samples are equal
# --------------------------------------------------------------------------


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_two_ogg_runs_decode_to_the_same_samples(runner, tmp_path, subtype):
    """The README's exception to 'two runs write the same bytes': an OGG output's page
    headers carry a random serial (and so checksums) of libsndfile's; decoded, the two
    runs are equal sample for sample."""
    import numpy as np

    soundfile = pytest.importorskip("soundfile")
    if subtype not in soundfile.available_subtypes("OGG"):
        pytest.skip(f"this libsndfile writes no OGG {subtype}")
    from resdenoise.cli import cli

    source = tmp_path / "in.wav"
    soundfile.write(str(source), 0.3 * np.sin(np.arange(20000) / 50.0), 8000, subtype="PCM_16")
    decoded = []
    for name in ("a.ogg", "b.ogg"):
        out = tmp_path / name
        args = [*DIFFUSE, str(source), "-o", str(out), "--subtype", subtype]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        decoded.append(soundfile.read(str(out), dtype="float64")[0])
    assert decoded[0].size >= 20000 and np.abs(decoded[0]).max() > 0.1
    np.testing.assert_array_equal(decoded[0], decoded[1])
    readme = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")
    with open(readme, encoding="utf-8") as fh:
        assert "except an OGG output (Vorbis, Opus)" in " ".join(fh.read().split())


# --------------------------------------------------------------------------
# A full disk on stdout: one line, exit 1, and learn writes none of its files
# --------------------------------------------------------------------------

FULL = (
    "Error: <stdout>: cannot write: No space left on device (the disk is full; free some "
    "space, or write elsewhere)\n"
)
needs_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


def _to_full(args, cwd):
    """Run ``resdenoise ARGS > /dev/full``: ``(exit code, stderr)``."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "resdenoise", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, "RESDENOISE_TRACEBACK": "0"},
        )
    return done.returncode, done.stderr


@needs_full
@pytest.mark.parametrize(
    "args",
    [
        ["translate", "--activation", "tanh", "--json"],
        ["translate", "--activation", "tanh"],
        ["dictionary"],
        ["dictionary", "--json"],
    ],
)
def test_a_full_stdout_is_one_line_for_the_table_commands(tmp_path, args):
    """Before: 'internal error: OSError: [Errno 28] No space left on device (a bug; ...)';
    now the filtering commands' line, exit 1."""
    assert _to_full(args, tmp_path) == (1, FULL)


@needs_full
@pytest.mark.parametrize(
    "args",
    [
        ["in.csv", "--clean", "in.csv", "-o", "n.toml"],
        ["--per-file", "in.csv", "-o", "o.csv"],
        ["--per-file", "in.csv", "-o", "o.csv", "--network-out", "n.toml"],
    ],
)
def test_learn_to_a_full_stdout_writes_no_file(noisy_csv, tmp_path, args):
    """Before: the network file (and --per-file's signal) were written, then the report
    failed as an internal error; now the files are put in place only once the report is
    out: one line, exit 1, nothing written."""
    pytest.importorskip("scipy")
    args = ["learn", *args, "--iterations", "1", "--blocks", "2", "-q", "--json"]
    assert _to_full(args, tmp_path) == (1, FULL)
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_learn_per_file_json_to_a_device_output(runner, noisy_csv, tmp_path):
    """Where nothing is renamed (-o a device) the report is still written, with its run."""
    pytest.importorskip("scipy")
    import json

    from resdenoise.cli import cli

    args = ["learn", "--per-file", str(noisy_csv), "-o", "/dev/zero", "--iterations", "1"]
    result = runner.invoke(cli, [*args, "--blocks", "2", "-q", "--json"])  # (stdin: /dev/null)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["run"]["output"] == "/dev/zero" and report["inputs"] == [str(noisy_csv)]


def test_on_commit_taking_the_report_gets_the_returned_report(noisy_csv, tmp_path):
    """run_file's ``on_commit`` with ``takes_report``: called with the report it returns,
    before the output is in place; its error writes nothing."""
    from resdenoise.errors import SignalError
    from resdenoise.pipeline import planner, run_file

    seen = []

    def commit(report):
        seen.append((report, (tmp_path / "o.csv").exists()))

    commit.takes_report = True
    make_plan = planner("diffuse", "perona-malik", steps=3)
    report = run_file(make_plan, str(noisy_csv), str(tmp_path / "o.csv"), on_commit=commit)
    assert seen == [(report, False)] and (tmp_path / "o.csv").exists()

    def failing(report):
        raise SignalError("<stdout>: cannot write: No space left on device")

    failing.takes_report = True
    with pytest.raises(SignalError):
        run_file(make_plan, str(noisy_csv), str(tmp_path / "p.csv"), on_commit=failing)
    assert sorted(os.listdir(tmp_path)) == ["in.csv", "o.csv"]


@pytest.mark.parametrize("chunk", [None, 40])  # read whole, streamed
@pytest.mark.parametrize("takes_report", [True, False])
def test_on_commit_gets_what_run_file_returns_measured_or_not(
    noisy_csv, tmp_path, chunk, takes_report
):
    """leftovers12: unmeasured (measure=False, the command line's -q), an on_commit with
    ``takes_report`` was called without the report (TypeError, after the output had been
    written to its temporary); now each path calls it once, with what run_file returns
    (the report, or None), before the output is in place; without ``takes_report``:
    ``on_commit()``, both paths alike. The output is the same."""
    from resdenoise.pipeline import RunOptions, planner, run_file

    make_plan = planner("diffuse", "perona-malik", steps=3)
    for measure in (True, False):
        out = tmp_path / f"{measure}.csv"
        seen = []

        def commit(*report, out=out, seen=seen):
            seen.append((report, out.exists()))

        commit.takes_report = takes_report
        run = RunOptions(chunk_size=chunk)
        got = run_file(
            make_plan, str(noisy_csv), str(out), run=run, measure=measure, on_commit=commit
        )
        assert (got is None) is not measure
        assert seen == [((got,) if takes_report else (), False)]
    assert (tmp_path / "True.csv").read_bytes() == (tmp_path / "False.csv").read_bytes()
