"""An operator's findings of audit19b (B8-B11, B13): what an install, a job record, a long
batch, a CPU quota and a file name that is not UTF-8 tell the operator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# B13: a file name that is not UTF-8 in the JSON report
# -----------------------------------------------------


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_b13_a_name_that_is_not_utf8_is_in_the_report_as_its_bytes(noisy_csv, tmp_path):
    """Before: the report said only ``"input": "bad\\\\xff.csv"``, a spelling that names no
    file (opening it: ENOENT) and that a file really named so shares.  Now
    ``input_bytes``/``output_bytes`` hold the names' bytes in hex beside it."""
    src = os.path.join(os.fsencode(tmp_path), b"bad\xff.csv")
    with open(noisy_csv, "rb") as given, open(src, "wb") as copy:
        copy.write(given.read())
    done = subprocess.run(
        [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", b"bad\xff.csv"]
        + ["-o", b"o\xfe.csv", "--report", "r.json", "-q"],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["input"] == "bad\\xff.csv"  # the human spelling, as stderr's
    assert bytes.fromhex(report["input_bytes"]) == b"bad\xff.csv"
    assert bytes.fromhex(report["output_bytes"]) == b"o\xfe.csv"
    assert os.path.exists(
        os.path.join(os.fsencode(tmp_path), bytes.fromhex(report["output_bytes"]))
    )


def test_b13_a_utf8_name_has_no_bytes_entry():
    from resdenoise.report import name_bytes

    entry = {"input": "lat\u00e9.csv", "output": "<stdout>"}
    name_bytes(entry, "input")
    name_bytes(entry, "output")
    assert entry == {"input": "lat\u00e9.csv", "output": "<stdout>"}
    entry = {"reference": os.fsdecode(b"r\xe9.csv")}
    name_bytes(entry, "reference")
    assert entry["reference_bytes"] == b"r\xe9.csv".hex()


# B11: the cores a run takes read the control group's CPU quota too
# -----------------------------------------------------------------


def _tree(tmp_path, proc_text: str, files: dict) -> tuple[str, str]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(proc_text)
    return str(root), str(proc)


def test_b11_cgroup_v2_quota_of_the_group_and_above(tmp_path):
    from resdenoise.pairs import cgroup_cpus

    files = {"cpu.max": "max 100000\n", "kube/pod/cpu.max": "150000 100000\n"}
    assert cgroup_cpus(*_tree(tmp_path / "a", "0::/kube/pod\n", files)) == 1.5
    files = {"kube/cpu.max": "50000 100000\n", "kube/pod/cpu.max": "max 100000\n"}
    assert cgroup_cpus(*_tree(tmp_path / "b", "0::/kube/pod\n", files)) == 0.5
    # a container's own cgroup namespace: its group is "/", its limit at the root
    assert cgroup_cpus(*_tree(tmp_path / "c", "0::/\n", {"cpu.max": "200000 100000\n"})) == 2.0
    # a path not mounted here (namespaced): the root's
    assert cgroup_cpus(*_tree(tmp_path / "d", "0::/elsewhere\n", {"cpu.max": "100000 100000"})) == 1
    assert cgroup_cpus(*_tree(tmp_path / "e", "0::/\n", {"cpu.max": "max 100000\n"})) is None
    assert cgroup_cpus(str(tmp_path / "none"), str(tmp_path / "no_proc")) is None


def test_b11_cgroup_v1_quota(tmp_path):
    from resdenoise.pairs import cgroup_cpus

    proc = "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n"
    files = {
        "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
        "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "100000\n",
        "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
    }
    assert cgroup_cpus(*_tree(tmp_path / "a", proc, files)) == 1.0
    files = {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert cgroup_cpus(*_tree(tmp_path / "b", "1:cpu:/\n", files)) is None


def test_b11_usable_cores_and_the_jobs_cap_follow_the_quota(tmp_path, monkeypatch):
    """Before: the CPU affinity alone (a pod limited to 1 CPU on a 64-core node took 64
    engine threads and accepted --jobs 64)."""
    from resdenoise import batch, pairs

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity here")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    root, proc = _tree(tmp_path, "0::/\n", {"cpu.max": "100000 100000\n"})
    monkeypatch.setattr(pairs, "CGROUP_ROOT", root)
    monkeypatch.setattr(pairs, "PROC_CGROUP", proc)
    pairs._own_cgroup_cpus.cache_clear()
    monkeypatch.delenv("RESDENOISE_THREADS", raising=False)
    try:
        assert pairs.usable_cores() == 1
        assert batch.max_jobs() == 1
        assert pairs.thread_budget() == 1
    finally:
        pairs._own_cgroup_cpus.cache_clear()


# B10: a batch keeps of each file what its last line needs
# --------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_b10_a_batch_keeps_no_report_once_its_lines_are_printed(
    runner, noisy_csv, tmp_path, monkeypatch, jobs
):
    """Before: the command line's batch kept every file's FileResult with its full report
    (5-8 kB a file) to the end, for a last line that counts files: 53 -> 74 MB over 5000."""
    import shutil

    from resdenoise import batch
    from resdenoise.cli import cli

    files = []
    for name in ("a.csv", "b.csv", "c.csv"):
        shutil.copy(noisy_csv, tmp_path / name)
        files.append(str(tmp_path / name))
    kept = []
    run_batch = batch.run_batch

    def spy(*args, **kwargs):
        kept.extend(run_batch(*args, **kwargs))
        return kept

    monkeypatch.setattr(batch, "run_batch", spy)
    args = ["diffuse", *files, "--steps", "3", "-o", str(tmp_path / "o") + "/", "--jobs", jobs]
    result = runner.invoke(cli, [*args, "--report", str(tmp_path / "r") + "/", "-v"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("guarantees held") == 3  # the reports were read, once
    assert result.stderr.splitlines()[-1] == "3 files: 3 written"
    assert [(r.report, r.warnings, r.error) for r in kept] == [(None, [], None)] * 3
    assert [os.path.basename(r.output) for r in kept] == ["a.csv", "b.csv", "c.csv"]


def test_b10_the_library_keeps_reports_unless_told(noisy_csv, tmp_path):
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    make_plan = planner("diffuse", "linear", lam=1.0, steps=1)
    kept = run_batch(make_plan, [str(noisy_csv)], str(tmp_path / "a"))
    assert kept[0].report["guarantees_held"]
    seen = []

    def on_done(i, result):
        seen.append(result.report)

    on_done.consumes = True
    slim = run_batch(make_plan, [str(noisy_csv)], str(tmp_path / "b"), on_done=on_done)
    assert seen[0]["guarantees_held"] and slim[0].report is None and slim[0].exit_code == 0
    from resdenoise.batch import GuaranteeError, _summary  # the class batch checks
    from resdenoise.batch_pool import FileResult

    failed = FileResult("i", "o", error=GuaranteeError("x", report={"k": 1}))
    short = _summary(failed)
    assert short.exit_code == 4 and short.written and short.error.report is None
    assert str(short.error) == "x"
    assert failed.error.report == {"k": 1}  # the caller's own is not changed


# B8: an install without the compiled loop says so where an operator looks
# ------------------------------------------------------------------------


def _version(*, built: bool, **env) -> list[str]:
    code = (
        "" if built else "import sys; sys.modules['resdenoise._kernels'] = None\n"
    ) + "from resdenoise.cli import cli\ncli(['--version'])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "RESDENOISE_ENGINE"}, **env},
    )
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout.splitlines()


def test_b8_version_names_the_step_loop():
    """Before: ``resdenoise, version 0.1.0`` alone; an image built without a C compiler
    (pip --quiet says nothing) ran the NumPy loop with no word anywhere but the report."""
    from resdenoise import __version__
    from resdenoise.stepper import compiled_instruction_set

    assert _version(built=False) == [
        f"resdenoise, version {__version__}",
        "step loop: numpy (the compiled loop was not built: no C compiler at install; "
        "slower, and float32 outputs may differ in the last bit from a compiled install)",
    ]
    simd = compiled_instruction_set()
    if simd is None:
        pytest.skip("the compiled loop is not built here")
    assert _version(built=True)[1] == f"step loop: compiled ({simd})"
    said = _version(built=True, RESDENOISE_ENGINE="numpy")[1]
    assert said == f"step loop: numpy (RESDENOISE_ENGINE=numpy; compiled {simd} built)"


# B9: the report as a job record
# ------------------------------


def test_b9_the_report_records_the_job_under_one_key(noisy_csv, tmp_path):
    """Before: no timings, versions, host or input identity.  Now ``job``: the one key in
    which two runs of one file with one set of parameters differ."""
    import hashlib

    import numpy as np

    from resdenoise import __version__

    def run(name, *more, stdin=None):
        src = "-" if stdin is not None else str(noisy_csv)
        args = [sys.executable, "-m", "resdenoise", "diffuse", src, "--steps", "3"]
        done = subprocess.run(
            [*args, "-o", str(tmp_path / f"{name}.csv"), "--report", str(tmp_path / name), *more],
            input=stdin,
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr
        return json.loads((tmp_path / name).read_text())

    first, second = run("a.json"), run("b.json")
    job = first["job"]
    assert list(job) == [
        "started", "wall_seconds", "cpu_seconds", "host", "machine", "versions", "input_file"
    ]  # fmt: skip
    assert job["started"].endswith("Z") and job["wall_seconds"] >= 0 <= job["cpu_seconds"]
    assert job["versions"]["resdenoise"] == __version__
    assert job["versions"]["numpy"] == np.__version__
    assert job["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    data = noisy_csv.read_bytes()
    assert job["input_file"] == {
        "size": len(data),
        "mtime": os.stat(noisy_csv).st_mtime_ns / 1e9,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert list(first) == list(second) and first["job"] != second["job"]
    del first["job"], second["job"], first["output"], second["output"]
    assert first == second  # every other key as it was: the same run, the same report
    assert run("c.json", "--chunk-size", "50")["job"]["input_file"]["sha256"] is None
    assert run("d.json", stdin=data)["job"]["input_file"] is None
