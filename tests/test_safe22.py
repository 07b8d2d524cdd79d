"""Data safety left-overs of session 21 (safe22).

1. A21a-2: stderr redirected onto a file the run reads or writes (``2>> in.csv``,
   ``2> out.csv``, ``&> in.csv``, ``> out.csv 2>&1`` with the signal on stdout) appended
   the run's messages to the input, or lost them with the replaced output, or mixed them
   into the signal.  Refused before a line is written there: exit 6, no message in the
   file (on stdout where it is a terminal).
2. A21a-6: ``--summary FILE``: one JSON record of a run, every INPUT's status, exit code
   and one-line reason, and the counts of the batch's last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from resdenoise.cli import cli

EXE = str(Path(sys.executable).parent / "resdenoise")
STEPS = ["--steps", "3"]
#: test_safe21's float32 run whose mean drifts: exit 4 under --strict
DRIFTS = "v\n-7.22\n-7.22\n-7.22\n-7.22\n24067194\n"
STRICT = ["regularise", "--regulariser", "softsign", "--lambda", "1806.6", "--alpha", "0.459"]
STRICT += ["--h", "0.001", "--dtype", "float32", "--strict"]


def _csv(path, n=64, seed=0):
    x = np.random.default_rng(seed).standard_normal(n)
    path.write_text("x\n" + "".join(f"{float(v)!r}\n" for v in x))
    return path


def _run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL):
    return subprocess.run([EXE, *map(str, args)], stdin=stdin, stdout=stdout, stderr=stderr)


# --------------------------------------------------------------------------
# 1. stderr onto a file of the run (A21a-2)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ab", "r+b"], ids=["2>>", "2<>"])
@pytest.mark.parametrize("extra", [[], ["--bogus-option"]], ids=["run", "usage-error"])
def test_stderr_appended_to_the_input_is_refused_and_the_input_untouched(tmp_path, mode, extra):
    """Before: exit 0, 'se.csv -> o.csv: guarantees held' appended to se.csv (a usage
    error's lines too, exit 2); the next run failed on them."""
    src = _csv(tmp_path / "se.csv")
    before = src.read_bytes()
    with open(src, mode) as err:
        r = _run(["diffuse", src, *STEPS, "-o", tmp_path / "o.csv", *extra], stderr=err)
    assert r.returncode == 6
    assert src.read_bytes() == before
    assert r.stdout == b""  # not a terminal: the exit code alone says it
    assert sorted(os.listdir(tmp_path)) == ["se.csv"]


def test_stderr_truncating_the_input_writes_nothing_into_it(tmp_path):
    """``2> se.csv``: the shell emptied it; nothing is written there (was: the messages,
    then exit 1 reading an empty file, or the verdict over a run of nothing)."""
    src = _csv(tmp_path / "se.csv")
    with open(src, "wb") as err:
        r = _run(["diffuse", src, *STEPS, "-o", tmp_path / "o.csv"], stderr=err)
    assert r.returncode == 6
    assert src.read_bytes() == b""
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("how", ["2>", "2>>", "&>"])
def test_stderr_onto_the_named_output_is_refused(tmp_path, how):
    """Before: exit 0, out.csv replaced and the verdict written into the old file: lost."""
    src = _csv(tmp_path / "a.csv")
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    with open(out, "ab" if how == "2>>" else "wb") as err:
        stdout = err if how == "&>" else subprocess.PIPE
        r = _run(["diffuse", src, *STEPS, "-o", out], stdout=stdout, stderr=err)
    assert r.returncode == 6
    assert out.read_text() == ("old\n" if how == "2>>" else "")  # not replaced, no message


def test_both_streams_onto_the_input_are_refused(tmp_path):
    """``&>> se.csv``: stdout's own refusal was written to stderr, into the input."""
    src = _csv(tmp_path / "se.csv")
    before = src.read_bytes()
    with open(src, "ab") as both:
        r = _run(["diffuse", src, *STEPS], stdout=both, stderr=both)
    assert r.returncode == 6
    assert src.read_bytes() == before


def test_stdin_read_from_the_file_stderr_appends_to_is_refused(tmp_path):
    src = _csv(tmp_path / "se.csv")
    before = src.read_bytes()
    with open(src, "rb") as inp, open(src, "ab") as err:
        r = _run(["diffuse", "-", *STEPS, "-o", tmp_path / "o.csv"], stdin=inp, stderr=err)
    assert r.returncode == 6
    assert src.read_bytes() == before


def test_stderr_onto_an_output_of_a_batch_directory_is_refused(tmp_path):
    """``-o od/`` names od/a.csv by its directory only."""
    a, b = _csv(tmp_path / "a.csv"), _csv(tmp_path / "b.csv", seed=1)
    od = tmp_path / "od"
    od.mkdir()
    with open(od / "a.csv", "wb") as err:
        r = _run(["diffuse", a, b, *STEPS, "-o", f"{od}/"], stderr=err)
    assert r.returncode == 6
    assert sorted(os.listdir(od)) == ["a.csv"] and (od / "a.csv").read_bytes() == b""


def test_signal_on_stdout_with_stderr_into_the_same_file(tmp_path):
    """``> out.csv 2>&1`` with the signal on stdout: the verdict was the CSV's last line.
    Refused; with -q (errors only, and no output then) it runs, the CSV clean."""
    src = _csv(tmp_path / "a.csv")
    out = tmp_path / "out.csv"
    with open(out, "wb") as both:
        r = _run(["diffuse", src, *STEPS], stdout=both, stderr=both)
    assert r.returncode == 6 and out.read_bytes() == b""
    with open(out, "wb") as both:
        r = _run(["diffuse", src, *STEPS, "-q"], stdout=both, stderr=both)
    assert r.returncode == 0
    text = out.read_text().splitlines()
    assert text[0] == "x" and len(text) == 65
    np.asarray([float(v) for v in text[1:]])  # numbers only: no message among them


def test_stderr_elsewhere_and_the_signal_to_stderr_still_run(tmp_path):
    """A log of its own is written as before; ``-o /dev/stderr 2>> log`` writes the signal
    there, as asked (a name of the stream itself, not a file named)."""
    src = _csv(tmp_path / "a.csv")
    log = tmp_path / "log.txt"
    with open(log, "ab") as err:
        r = _run(["diffuse", src, *STEPS, "-o", tmp_path / "o.csv"], stderr=err)
    assert r.returncode == 0
    assert log.read_text().startswith(f"{src} -> {tmp_path / 'o.csv'}: guarantees held")
    with open(log, "wb") as err:
        r = _run(["diffuse", src, *STEPS, "-q", "-o", "/dev/stderr"], stderr=err)
    assert r.returncode == 0
    assert log.read_text().splitlines()[0] == "x" and len(log.read_text().splitlines()) == 65


def test_the_refusal_is_said_on_stdout_when_it_is_a_terminal(tmp_path):
    import pty

    src = _csv(tmp_path / "se.csv")
    before = src.read_bytes()
    master, slave = pty.openpty()
    try:
        with open(src, "ab") as err:
            r = _run(["diffuse", src, *STEPS, "-o", tmp_path / "o.csv"], stdout=slave, stderr=err)
        os.close(slave)
        said = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed, all read
                break
            if not chunk:
                break
            said += chunk
    finally:
        os.close(master)
    assert r.returncode == 6
    assert src.read_bytes() == before
    assert said.decode().strip() == (
        f"Error: stderr is the file {src} (named on the command line): the run's messages "
        "would be written into it; nothing was run and nothing written. Send stderr "
        "elsewhere (2>> run.log)"
    )


def test_exit_code_6_is_in_the_help_and_the_readme():
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "200"}).output
    assert "  6 " in out and "stderr is a file the run reads or writes" in out
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "| 6 | stderr is a file the run reads or writes" in readme


# --------------------------------------------------------------------------
# 2. --summary FILE (A21a-6)
# --------------------------------------------------------------------------


def _summary(path):
    data = json.loads(Path(path).read_text())
    assert data["tool"]["name"] == "resdenoise" and data["schema_version"] == 1
    return data


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_summary_of_a_batch_names_every_file_and_the_counts(runner, tmp_path, jobs):
    """Before: no such option; bad.csv's failure was a line on stderr only."""
    a = _csv(tmp_path / "a.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n1\nq\n2\n")
    s = tmp_path / "s.json"
    args = ["diffuse", a, bad, *STEPS, "-o", f"{tmp_path}/fo/", "--report", f"{tmp_path}/fr/"]
    r = runner.invoke(cli, [*map(str, args), "--summary", str(s), "-j", jobs])
    assert r.exit_code == 1
    data = _summary(s)
    assert data["command"] == "diffuse" and data["exit_code"] == 1
    assert data["count_line"] == r.stderr.splitlines()[-1] == "2 files: 1 written, 1 failed"
    assert data["counts"] == {
        "files": 2,
        "written": 1,
        "written_failed_strict": 0,
        "failed": 1,
        "kept": 0,
        "skipped": 0,
    }
    assert data["stopped_by"] is None
    first, second = data["files"]
    assert first == {
        "input": str(a),
        "status": "written",
        "exit_code": 0,
        "output": f"{tmp_path}/fo/a.csv",
        "report": f"{tmp_path}/fr/a.csv.json",
        "error": None,
        "warnings": [],
    }
    assert second["input"] == str(bad) and second["status"] == "failed"
    assert second["exit_code"] == 1 and second["output"] is None and second["report"] is None
    assert f"Error: {second['error']}" in r.stderr.splitlines()
    assert second["error"].startswith(f"{bad}: line 3, column 1 ('x'): 'q' is not a number")


def test_summary_of_an_in_place_strict_batch_says_kept_and_written(runner, tmp_path):
    big, ok = tmp_path / "big.csv", tmp_path / "ok.csv"
    big.write_text(DRIFTS)
    ok.write_text("v\n0\n1\n0\n1\n0\n1\n")
    s = tmp_path / "s.json"
    r = runner.invoke(cli, [*STRICT, str(big), str(ok), "--in-place", "--summary", str(s)])
    assert r.exit_code == 4
    data = _summary(s)
    assert data["exit_code"] == 4
    assert [(f["status"], f["exit_code"]) for f in data["files"]] == [("kept", 4), ("written", 0)]
    assert data["counts"]["kept"] == 1 and data["counts"]["failed"] == 1
    assert data["files"][0]["error"].startswith(f"{big}: --strict: column 1 ('v'): mean drifted")


def test_summary_of_a_written_strict_failure(runner, tmp_path):
    big = tmp_path / "big.csv"
    big.write_text(DRIFTS)
    s, out = tmp_path / "s.json", tmp_path / "o.csv"
    r = runner.invoke(cli, [*STRICT, str(big), "-o", str(out), "--summary", str(s)])
    assert r.exit_code == 4 and out.exists()
    (entry,) = _summary(s)["files"]
    assert (entry["status"], entry["exit_code"], entry["output"]) == ("written", 4, str(out))
    assert _summary(s)["counts"]["written_failed_strict"] == 1


@pytest.mark.parametrize("good", [True, False])
def test_summary_of_one_input(runner, tmp_path, good):
    src = _csv(tmp_path / "a.csv")
    if not good:
        src.write_text("x\n1\nq\n")
    s = tmp_path / "s.json"
    r = runner.invoke(
        cli,
        ["diffuse", str(src), *STEPS, "-o", str(tmp_path / "o.csv"), "-q"] + ["--summary", str(s)],
    )
    assert r.exit_code == (0 if good else 1)
    data = _summary(s)
    assert data["exit_code"] == r.exit_code and data["count_line"] is None
    (entry,) = data["files"]
    assert entry["status"] == ("written" if good else "failed")
    assert (entry["error"] is None) == good


def test_summary_on_stdout(runner, tmp_path):
    a = _csv(tmp_path / "a.csv")
    r = runner.invoke(
        cli, ["diffuse", str(a), *STEPS, "-o", f"{tmp_path}/fo/", "-q"] + ["--summary", "-"]
    )
    assert r.exit_code == 0
    assert json.loads(r.stdout)["files"][0]["status"] == "written"


def test_summary_is_refused_over_an_input_or_an_output(runner, tmp_path):
    a = _csv(tmp_path / "a.csv")
    before = a.read_bytes()
    r = runner.invoke(
        cli, ["diffuse", str(a), *STEPS, "-o", str(tmp_path / "o.csv"), "--summary", str(a)]
    )
    assert r.exit_code == 1 and a.read_bytes() == before
    assert r.stderr.strip() == (
        f"Error: {a}: the summary would overwrite the input file {a}; give the summary another name"
    )
    r = runner.invoke(
        cli,
        [
            "diffuse",
            str(a),
            *STEPS,
            "-o",
            str(tmp_path / "o.csv"),
            "--summary",
            str(tmp_path / "o.csv"),
        ],
    )
    assert r.exit_code == 2 and "would be written where an output or report goes" in r.stderr
    r = runner.invoke(cli, ["diffuse", str(a), *STEPS, "--summary", "-"])
    assert r.exit_code == 2 and "--summary - needs stdout to itself" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["a.csv"]


def test_summary_replaces_a_link_at_its_name(runner, tmp_path):
    a = _csv(tmp_path / "a.csv")
    other = tmp_path / "other.txt"
    other.write_text("keep me\n")
    link = tmp_path / "s.json"
    link.symlink_to(other)
    r = runner.invoke(
        cli,
        ["diffuse", str(a), *STEPS, "-o", str(tmp_path / "o.csv"), "-q"] + ["--summary", str(link)],
    )
    assert r.exit_code == 0
    assert not link.is_symlink() and other.read_text() == "keep me\n"
    assert _summary(link)["files"][0]["status"] == "written"


# --------------------------------------------------------------------------
# 3. --in-place: the input's checks through one descriptor
# --------------------------------------------------------------------------


def test_in_place_checks_one_file_though_another_is_renamed_over_it(tmp_path, monkeypatch):
    """A BWF renamed over the input between its chunk check and the rest: the checks
    opened the name three times, so the chunk check saw the plain WAV, the identity the
    BWF, and the BWF was replaced, its bext chunk gone (exit 0).  One descriptor: the
    name's file is not the checked one at the end, and nothing is replaced."""
    import soundfile
    from test_safe21 import _bwf

    from resdenoise.errors import SignalError
    from resdenoise.io import metadata
    from resdenoise.pipeline import run_file
    from resdenoise.plans import planner

    src, bwf = tmp_path / "t.wav", tmp_path / "new.wav"
    soundfile.write(src, 0.3 * np.sin(np.arange(2000) / 30), 48000, subtype="PCM_16")
    _bwf(bwf, b"bext")
    after = bwf.read_bytes()
    checked = metadata.held_metadata

    def replaced_meanwhile(read_at, total):
        found = checked(read_at, total)
        os.replace(bwf, src)  # the next version lands as the check runs
        return found

    monkeypatch.setattr(metadata, "held_metadata", replaced_meanwhile)
    make_plan = planner("diffuse", "perona-malik", lam=0.1, steps=1)
    warned = []  # the reader's: the BWF's bext is not written (it is read, then refused)
    with pytest.raises(SignalError, match="the file changed while it was filtered"):
        run_file(make_plan, str(src), in_place=True, on_warning=warned.append)
    assert src.read_bytes() == after  # the BWF, its bext chunk kept
    assert os.listdir(tmp_path) == ["t.wav"]


def test_in_place_opens_the_input_once_for_its_checks(tmp_path, monkeypatch):
    """Its chunk probe, format probe and lease, and the lease again before the rename:
    one open by the path checks (five before: open, soundfile.info, and three for the
    leases).  The reader's own opens are io's, not counted here."""
    import builtins

    import soundfile

    from resdenoise.pipeline import run_file
    from resdenoise.plans import planner

    src = tmp_path / "t.wav"
    soundfile.write(src, 0.3 * np.sin(np.arange(2000) / 30), 48000, subtype="PCM_16")
    opened = []

    def counted(real):
        def opening(path, *args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__")
            if caller == "resdenoise.paths" and os.fspath(path) == str(src):
                opened.append(real.__name__)
            return real(path, *args, **kwargs)

        return opening

    monkeypatch.setattr(os, "open", counted(os.open))
    monkeypatch.setattr(builtins, "open", counted(builtins.open))
    info = soundfile.info
    monkeypatch.setattr(soundfile, "info", lambda f, *a, **k: opened.append("info") or info(f))
    run_file(planner("diffuse", "perona-malik", lam=0.1, steps=1), str(src), in_place=True)
    assert opened == ["open"]


@pytest.mark.parametrize("bad", [False, True], ids=["written", "failed"])
def test_summary_that_cannot_be_written_is_said_and_fails_the_run(
    runner, tmp_path, monkeypatch, bad
):
    """Its Error: line, exit 1 where the run succeeded (the output is in place); a failed
    run keeps its own line and code."""
    from resdenoise.cli import summary
    from resdenoise.errors import SignalError

    def full(self, code, line):
        raise SignalError(f"{self.path}: cannot write: No space left on device")

    monkeypatch.setattr(summary.Summary, "write", full)
    src = _csv(tmp_path / "a.csv")
    if bad:
        src.write_text("x\n1\nq\n")
    s, out = tmp_path / "s.json", tmp_path / "o.csv"
    r = runner.invoke(cli, ["diffuse", str(src), *STEPS, "-o", str(out), "--summary", str(s)])
    lines = r.stderr.splitlines()
    assert f"Error: {s}: cannot write: No space left on device" in lines
    assert r.exit_code == 1 and out.exists() != bad and not s.exists()
    if bad:
        assert lines[-1].startswith(f"Error: {src}: line 3")


def test_summary_of_a_batch_stopped_by_a_signal(tmp_path):
    """SIGTERM after the first file: the files done as they ended, the rest skipped, the
    summary among what the last line says was written.  (A run stopped wrote no summary
    at all; before the option, nothing.)"""
    import signal

    inputs = [_csv(tmp_path / f"f{i:02d}.csv", n=20_000, seed=i) for i in range(30)]
    s = tmp_path / "s.json"
    args = [EXE, "diffuse", *map(str, inputs), *STEPS, "-o", f"{tmp_path}/od/", "--summary", s]
    with subprocess.Popen(
        list(map(str, args)),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    ) as proc:
        first = proc.stderr.readline()  # the first file's verdict: it is done
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert first.startswith(f"{inputs[0]} -> ")
    last = rest.strip().splitlines()[-1]
    assert last.startswith("Error: interrupted by SIGTERM; ") and str(s) in last
    data = _summary(s)
    assert data["stopped_by"] == "SIGTERM" and data["exit_code"] == 143
    assert data["count_line"] is None
    statuses = [f["status"] for f in data["files"]]
    assert statuses[0] == "written" and statuses[-1] == "skipped"
    k = statuses.index("skipped")
    assert set(statuses[:k]) == {"written"} and set(statuses[k:]) == {"skipped"}
    assert data["counts"]["written"] == k and data["counts"]["skipped"] == 30 - k
    written = sorted(os.listdir(tmp_path / "od"))
    assert written == [f"f{i:02d}.csv" for i in range(k)]
    assert all(f["exit_code"] is None for f in data["files"][k:])
