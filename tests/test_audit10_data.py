"""Data safety of names that are pipes, stdin's file or someone else's store
(audit10a, items 1-5 and 8): refused before anything is read or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

EXE = str(Path(sys.executable).parent / "resdenoise")
DIFFUSE = [EXE, "diffuse", "--steps", "2", "-q"]
CSV = "".join(f"{v!r}\n" for v in np.sin(np.arange(300) / 20.0).tolist())


def _run(args, cwd, stdin=subprocess.DEVNULL, input=None):
    return subprocess.run(
        args, cwd=cwd, stdin=stdin, input=input, capture_output=True, text=True, timeout=60
    )


def _listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


# ---- 3. --in-place on a pipe or device -------------------------------------------


IN_PLACE_PIPE = "--in-place replaces an input file, and {} is a pipe or device, not a regular file"


def test_in_place_on_a_fifo_is_refused_before_it_is_opened(tmp_path):
    """Before: the FIFO opened for reading (here it has no writer: a hang), the
    output written into it and lost, exit 0."""
    os.mkfifo(tmp_path / "ff")
    result = _run([*DIFFUSE, "--in-place", "ff"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert IN_PLACE_PIPE.format("ff") in result.stderr
    assert _listing(tmp_path) == ["ff"]


def test_in_place_on_dev_stdin_from_a_pipe_is_refused(tmp_path):
    result = _run([*DIFFUSE, "--in-place", "/dev/stdin"], tmp_path, stdin=None, input=CSV)
    assert result.returncode == 2, result.stderr
    assert IN_PLACE_PIPE.format("/dev/stdin") in result.stderr
    assert _listing(tmp_path) == []


def test_in_place_on_dev_stdin_with_a_file_behind_it_leaves_the_file(tmp_path):
    """Before: the file on stdin truncated and written through, not replaced atomically."""
    (tmp_path / "t.csv").write_text(CSV)
    for name in ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"):
        with open(tmp_path / "t.csv") as stdin:
            result = _run([*DIFFUSE, "--in-place", name], tmp_path, stdin=stdin)
        assert result.returncode == 2, result.stderr
        assert (
            f"--in-place replaces an input file, and {name} names a file through /dev or "
            f"/proc, which would be written through; give its own name ({tmp_path / 't.csv'})"
        ) in result.stderr
        assert (tmp_path / "t.csv").read_text() == CSV and _listing(tmp_path) == ["t.csv"]


def test_in_place_batch_with_a_fifo_filters_nothing(tmp_path):
    (tmp_path / "a.csv").write_text(CSV)
    os.mkfifo(tmp_path / "ff")
    result = _run([*DIFFUSE, "--in-place", "a.csv", "ff"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert IN_PLACE_PIPE.format("ff") in result.stderr
    assert (tmp_path / "a.csv").read_text() == CSV and _listing(tmp_path) == ["a.csv", "ff"]


# ---- 4. an output that is the file on stdin ------------------------------------------

STDIN_FILE = "output is the input file (the one on stdin); name another file for the output"


def test_an_output_naming_the_file_on_stdin_is_refused(tmp_path):
    """Before: ``- -o /dev/stdin < u.csv`` truncated u.csv and wrote the output into it."""
    (tmp_path / "u.csv").write_text(CSV)
    for name in ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "u.csv"):
        with open(tmp_path / "u.csv") as stdin:
            result = _run([*DIFFUSE, "-", "-o", name], tmp_path, stdin=stdin)
        assert result.returncode == 1, result.stderr
        assert result.stderr == f"Error: {name}: {STDIN_FILE}\n"
        assert (tmp_path / "u.csv").read_text() == CSV and _listing(tmp_path) == ["u.csv"]


def test_a_report_or_reference_on_stdin_is_protected_too(tmp_path):
    (tmp_path / "u.csv").write_text(CSV)
    (tmp_path / "s.csv").write_text(CSV)
    with open(tmp_path / "u.csv") as stdin:
        result = _run([*DIFFUSE, "-", "-o", "o.csv", "--report", "/dev/stdin"], tmp_path, stdin)
    assert result.returncode == 1, result.stderr
    assert result.stderr == "Error: /dev/stdin: the report would overwrite the input file\n"
    with open(tmp_path / "u.csv") as stdin:
        args = [*DIFFUSE, "s.csv", "--reference", "-", "-o", "/dev/fd/0"]
        result = _run(args, tmp_path, stdin)
    assert result.returncode == 1, result.stderr
    assert "/dev/fd/0: the output would overwrite the reference file <stdin>" in result.stderr
    assert (tmp_path / "u.csv").read_text() == CSV and _listing(tmp_path) == ["s.csv", "u.csv"]


def test_learn_per_file_does_not_overwrite_the_file_on_stdin(tmp_path):
    (tmp_path / "v.csv").write_text(CSV)
    args = [EXE, "learn", "--per-file", "-", "--iterations", "2", "-q", "-o", "/dev/stdin"]
    with open(tmp_path / "v.csv") as stdin:
        result = _run([*args, "--network-out", "nn.toml"], tmp_path, stdin)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Error: /dev/stdin: {STDIN_FILE}\n"
    assert (tmp_path / "v.csv").read_text() == CSV and _listing(tmp_path) == ["v.csv"]


def test_stdin_from_a_file_still_filters(tmp_path):
    (tmp_path / "u.csv").write_text(CSV)
    with open(tmp_path / "u.csv") as stdin:
        assert _run([*DIFFUSE, "-", "-o", "o.csv"], tmp_path, stdin).returncode == 0
    assert _run([*DIFFUSE, "u.csv", "-o", "p.csv"], tmp_path).returncode == 0
    assert (tmp_path / "o.csv").read_text() == (tmp_path / "p.csv").read_text()


# ---- 8. > INPUT: the shell emptied the input -----------------------------------------


def test_stdout_truncated_onto_the_input_says_the_data_is_gone(tmp_path):
    (tmp_path / "in.csv").write_text(CSV)
    with open(tmp_path / "in.csv", "w") as stdout:  # the shell's > in.csv
        result = subprocess.run(
            [*DIFFUSE, "in.csv"], cwd=tmp_path, stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    assert result.returncode == 1
    assert result.stderr == (
        "Error: <stdout>: is the input file in.csv, which the shell emptied (its > truncates "
        "the file before resdenoise starts): its data is gone, and resdenoise cannot recover "
        "it; write the output to another file\n"
    )


def test_stdout_appended_onto_the_input_keeps_its_message(tmp_path):
    (tmp_path / "in.csv").write_text(CSV)
    with open(tmp_path / "in.csv", "a") as stdout:  # the shell's >> in.csv
        result = subprocess.run(
            [*DIFFUSE, "in.csv"], cwd=tmp_path, stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    assert result.returncode == 1
    assert "(opened by the shell: >> or 1<>), and the output would change it" in result.stderr
    assert (tmp_path / "in.csv").read_text() == CSV


# ---- 5. one pipe named twice ---------------------------------------------------------


def test_learn_refuses_stdin_named_twice_before_reading(tmp_path):
    """Before: the second name found the pipe emptied: 'file is empty (0 bytes)'."""
    learn = [EXE, "learn", "--iterations", "2", "-q", "-o", "n.toml"]
    for names, said in [
        (["-", "--clean", "/dev/stdin"], "- and /dev/stdin"),
        (["/dev/stdin", "--clean", "-"], "/dev/stdin and -"),
        (["-", "/dev/stdin"], "- and /dev/stdin"),
    ]:
        result = _run([*learn, *names], tmp_path, stdin=None, input=CSV)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(
            f"Error: {said} are both stdin ('-'), which is read once; give the other files by name"
        ), result.stderr
        assert _listing(tmp_path) == []


def test_a_batch_refuses_one_pipe_named_twice(tmp_path):
    args = [*DIFFUSE, "/dev/stdin", "/dev/fd/0", "-o", "out/"]
    result = _run(args, tmp_path, stdin=None, input=CSV)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        "Error: /dev/stdin and /dev/fd/0 are both stdin, which is read once; give file names"
    ), result.stderr
    assert _listing(tmp_path) == []


def test_stdin_from_a_file_may_be_named_twice(tmp_path):
    """A file on stdin is no pipe: ``/dev/stdin`` opens it again from its start."""
    noisy = np.sin(np.arange(300) / 20.0) + np.random.default_rng(3).normal(0.0, 0.3, 300)
    (tmp_path / "n.csv").write_text("".join(f"{v!r}\n" for v in noisy.tolist()))
    with open(tmp_path / "n.csv") as stdin:
        args = [EXE, "learn", "-", "/dev/stdin", "--iterations", "2", "-q", "-o", "n.toml"]
        result = _run(args, tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr
    # the same as naming the file twice (audit16b B4): /dev/stdin read it from its start
    args = [EXE, "learn", "n.csv", "n.csv", "--iterations", "2", "-q", "-o", "files.toml"]
    result = _run(args, tmp_path)
    assert result.returncode == 0, result.stderr
    learned, files = (tmp_path / "n.toml").read_text(), (tmp_path / "files.toml").read_text()
    assert learned == files


def test_diffuse_names_stdin_under_its_other_names_as_stdin(tmp_path):
    args = [*DIFFUSE, "/dev/stdin", "--reference", "/dev/fd/0", "-o", "o.csv"]
    result = _run(args, tmp_path, stdin=None, input=CSV)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "Error: the input and the reference are both stdin, which is read once; give the "
        "reference a file name\n"
    )
    assert _listing(tmp_path) == []


# ---- 2. an output inside the input file ----------------------------------------------


def test_an_output_inside_the_input_file_says_it_is_a_file(tmp_path):
    """Before: 'the output and the input a.csv lie one inside the other (a store ...)'."""
    (tmp_path / "a.csv").write_text(CSV)
    for args, name in [
        (["-o", "a.csv/o.csv"], "a.csv/o.csv"),
        (["-o", "a.csv/o.zarr"], "a.csv/o.zarr"),
        (["-o", "o.csv", "--report", "a.csv/r.json"], "a.csv/r.json"),
    ]:
        result = _run([*DIFFUSE, "a.csv", *args], tmp_path)
        assert result.returncode == 1, result.stderr
        assert (
            result.stderr
            == f"Error: {name}: 'a.csv' is a file, not a directory; give another path\n"
        )
        assert _listing(tmp_path) == ["a.csv"]
