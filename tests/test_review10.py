"""Findings of the review of 2026-12-06 (review10): each test below failed on main
before its fix, as its docstring says."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

EXE = str(Path(sys.executable).parent / "resdenoise")
DIFFUSE = [EXE, "diffuse", "--steps", "2", "-q"]
CSV = "".join(f"{v!r}\n" for v in np.sin(np.arange(300) / 20.0).tolist())
BIG = CSV * 30  # above a pipe's buffer: an output written into the pipe would hang
STDIN = "output is the input file (the one on stdin); name another file for the output"


def _run(args, cwd, stdin=subprocess.DEVNULL, input=None):
    return subprocess.run(
        args, cwd=cwd, stdin=stdin, input=input, capture_output=True, text=True, timeout=60
    )


# ---- 1. an output or report naming stdin, a pipe -------------------------------------


@pytest.mark.parametrize("name", ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"])
@pytest.mark.parametrize("data", [CSV, BIG], ids=["small", "big"])
def test_an_output_naming_stdin_a_pipe_is_refused(tmp_path, name, data):
    """Before: the output went into the pipe being read: lost, exit 0 ('guarantees
    held'), or a hang above the pipe's buffer."""
    result = _run([*DIFFUSE, "-", "-o", name], tmp_path, stdin=None, input=data)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Error: {name}: {STDIN}\n"
    assert os.listdir(tmp_path) == []


def test_a_report_naming_stdin_a_pipe_is_refused(tmp_path):
    """Before: the report went into the pipe, lost, exit 0."""
    args = [*DIFFUSE, "-", "-o", "o.csv", "--report", "/dev/stdin"]
    result = _run(args, tmp_path, stdin=None, input=CSV)
    assert result.returncode == 1, result.stderr
    assert result.stderr == "Error: /dev/stdin: the report would overwrite the input file\n"
    assert os.listdir(tmp_path) == []


def test_an_output_naming_a_fifo_on_stdin_is_refused(tmp_path):
    """``- -o ff < ff``: the FIFO read as stdin, named by its own name."""
    os.mkfifo(tmp_path / "ff")
    fd = os.open(tmp_path / "ff", os.O_RDWR | os.O_NONBLOCK)  # a writer: opening never blocks
    try:
        with open(tmp_path / "ff") as stdin:
            result = _run([*DIFFUSE, "-", "-o", "ff"], tmp_path, stdin=stdin)
    finally:
        os.close(fd)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Error: ff: {STDIN}\n"


def test_an_output_naming_stdin_a_terminal_is_refused(tmp_path):
    """stdin a terminal, stdout elsewhere: ``-o /dev/stdin`` would write to the terminal
    being read."""
    main, side = os.openpty()
    try:
        result = _run([*DIFFUSE, "-", "-o", "/dev/stdin"], tmp_path, stdin=side)
    finally:
        os.close(main)
        os.close(side)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Error: /dev/stdin: {STDIN}\n"


def test_dev_stdout_on_the_terminal_stdin_is_still_stdout(tmp_path):
    """One terminal for stdin and stdout: ``-o /dev/stdout`` writes where ``-o -`` does,
    and is not refused as stdin."""
    main, side = os.openpty()
    seen = []
    reader = threading.Thread(target=_drain, args=(main, seen))
    reader.start()
    try:
        os.write(main, b"1\n2\n3\n4\n5\n6\n7\n8\n\x04")  # ^D: the end of the input
        proc = subprocess.run(
            [*DIFFUSE, "-", "-o", "/dev/stdout"],
            cwd=tmp_path,
            stdin=side,
            stdout=side,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(side)
        reader.join(timeout=30)
        os.close(main)
    assert proc.returncode == 0, proc.stderr
    assert len(b"".join(seen).split()) >= 16  # the input echoed, then 8 output lines


def _drain(fd, seen):
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        seen.append(chunk)


# ---- 2. --in-place on a regular file under /dev ----------------------------------------


@pytest.fixture
def shm():
    """A directory of our own on the tmpfs /dev/shm (skipped where there is none)."""
    import shutil
    import tempfile

    if not os.access("/dev/shm", os.W_OK):
        pytest.skip("no writable /dev/shm")
    path = tempfile.mkdtemp(prefix="resdenoise-review10-", dir="/dev/shm")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_in_place_replaces_a_regular_file_under_dev(tmp_path, shm):
    """Before: ``--in-place /dev/shm/a.csv`` was refused (exit 2) as 'a file through /dev
    or /proc ... give its own name', which it is, while ``-o`` the same file said 'pass
    --in-place'."""
    (shm / "a.csv").write_text(CSV)
    (tmp_path / "a.csv").write_text(CSV)
    assert _run([*DIFFUSE, "a.csv", "-o", "b.csv"], tmp_path).returncode == 0
    for args in (["--in-place", str(shm / "a.csv")], ["--in-place", str(shm / "a.csv"), "a.csv"]):
        (shm / "a.csv").write_text(CSV)
        (tmp_path / "a.csv").write_text(CSV)
        result = _run([*DIFFUSE, *args], tmp_path)  # one file, and a batch
        assert result.returncode == 0, result.stderr
        assert (shm / "a.csv").read_text() == (tmp_path / "b.csv").read_text() != CSV
    assert sorted(os.listdir(shm)) == ["a.csv"]


def test_in_place_on_a_link_under_dev_to_another_file_is_still_refused(tmp_path, shm):
    (tmp_path / "t.csv").write_text(CSV)
    os.symlink(tmp_path / "t.csv", shm / "link.csv")
    result = _run([*DIFFUSE, "--in-place", str(shm / "link.csv")], tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"give its own name ({tmp_path / 't.csv'})" in " ".join(result.stderr.split())
    assert (tmp_path / "t.csv").read_text() == CSV


# ---- 3. no narrowing warning for a lossy codec chosen ---------------------------------


@pytest.mark.parametrize("given", ["PCM_16", "DOUBLE"])
@pytest.mark.parametrize(
    ("out", "expected"), [("o.ogg", ("OGG", "VORBIS")), ("o.mp3", ("MP3", "MPEG_LAYER_III"))]
)
def test_a_lossy_output_says_nothing_of_rounding(tmp_path, given, out, expected):
    """Before: every OGG or MP3 output warned 'they are rounded to VORBIS; write WAV to
    keep them all', on stderr and in the report, for a format the user chose."""
    import json

    import soundfile

    from resdenoise.io.signal import can_encode

    if not can_encode(*expected):
        pytest.skip(f"this libsndfile cannot write {expected}")
    x = 0.5 * np.sin(np.arange(40000) / 200)
    soundfile.write(str(tmp_path / "in.wav"), x, 48000, subtype=given)
    args = [*DIFFUSE[:-1], "in.wav", "-o", out, "--report", "r.json"]
    result = _run(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert "warnings" not in report
    got = report["output_info"]
    assert (got["format"], got["subtype"]) == expected
    assert soundfile.info(str(tmp_path / out)).subtype == expected[1]


# ---- 4. a foreign directory named like a chunk in a store -------------------------------


def _zarr_out(tmp_path, **kwargs):
    zarr = pytest.importorskip("zarr")
    array = zarr.create_array(str(tmp_path / "out.zarr"), dtype="f8", **kwargs)
    array[...] = 1.0
    return tmp_path / "out.zarr"


def test_a_foreign_directory_named_like_a_chunk_is_not_replaced(tmp_path):
    """Before: ``c/notes.txt`` and ``2024/photo.txt`` in the store of one array were
    deleted with it, exit 0, nothing said."""
    (tmp_path / "s.csv").write_text(CSV)
    out = _zarr_out(tmp_path, shape=(300,), chunks=(100,))
    for where in ("c/notes.txt", "2024/photo.txt"):
        (out / where).parent.mkdir(exist_ok=True)
        (out / where).write_text("keep")
    result = _run([*DIFFUSE, "s.csv", "-o", "out.zarr"], tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "Error: out.zarr: is a Zarr store with files that are not its array's (2024/photo.txt, "
        "c/notes.txt); give a new name, or move it away (all of it would be replaced)\n"
    )
    assert (out / "c" / "notes.txt").read_text() == (out / "2024" / "photo.txt").read_text()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shape": (300, 2), "chunks": (100, 1)},  # v3: c/0/0
        {"shape": (300,), "chunks": (100,), "zarr_format": 2},  # v2: 0, 1, 2
        {
            "shape": (300, 2),
            "chunks": (100, 1),
            "zarr_format": 2,
            "chunk_key_encoding": {"name": "v2", "separator": "/"},
        },
        {
            "shape": (300, 2),
            "chunks": (100, 1),
            "chunk_key_encoding": {"name": "v2", "separator": "/"},
        },
        {
            "shape": (300, 2),
            "chunks": (100, 1),
            "chunk_key_encoding": {"name": "v2", "separator": "."},
        },
        {"shape": (300, 2), "chunks": (50, 1), "shards": (100, 2)},
    ],
    ids=["v3", "v2", "v2-slash", "v3-v2-slash", "v3-v2-dot", "sharded"],
)
def test_stores_of_one_array_are_still_replaced(tmp_path, kwargs):
    (tmp_path / "s.csv").write_text(CSV)
    _zarr_out(tmp_path, **kwargs)
    result = _run([*DIFFUSE, "s.csv", "-o", "out.zarr"], tmp_path)
    assert result.returncode == 0, result.stderr
    expected = _run([*DIFFUSE, "s.csv", "-o", "new.zarr"], tmp_path)
    assert expected.returncode == 0, expected.stderr
    zarr = pytest.importorskip("zarr")
    np.testing.assert_array_equal(
        zarr.open_array(str(tmp_path / "out.zarr"))[...],
        zarr.open_array(str(tmp_path / "new.zarr"))[...],
    )


# ---- a pipe as input and output: no remedy that is then refused --------------------


def test_a_pipe_as_input_and_output_is_not_sent_to_in_place(tmp_path):
    """Before: ``ff -o ff`` (a FIFO) said 'pass --in-place to replace it', and
    ``--in-place ff`` is refused (exit 2): the two refusals sent the user to each other."""
    os.mkfifo(tmp_path / "ff")
    result = _run([*DIFFUSE, "ff", "-o", "ff"], tmp_path)
    assert result.returncode == 1, result.stderr
    pipe = "is a pipe or device, not a regular file; give a file name"
    assert result.stderr == f"Error: ff: output is the input, and ff {pipe}\n"
    result = _run([*DIFFUSE, "/dev/stdin", "-o", "/dev/fd/0"], tmp_path, stdin=None, input=CSV)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Error: /dev/fd/0: output is the input, and /dev/stdin {pipe}\n"
    assert os.listdir(tmp_path) == ["ff"]


# ---- from_function's lambda: the registry's rule ----------------------------------------


@pytest.mark.parametrize("lam", [-1.0, 0.0, float("nan"), float("inf"), True, "2", None])
def test_from_function_refuses_a_lambda_the_registry_refuses(lam):
    """Before: ``from_function(np.tanh, lam=nan)`` (or -1, True, "2") was accepted
    (``float(lam)``), where get_nonlinearity refuses them."""
    from resdenoise.errors import ParameterError
    from resdenoise.nonlinearities import from_function, get_nonlinearity

    for make in (
        lambda: from_function(np.tanh, lam=lam),
        lambda: get_nonlinearity("tanh", lam=lam),
    ):
        with pytest.raises(ParameterError, match=r"lam must be a finite number > 0, got "):
            make()


def test_from_function_keeps_a_lambda_that_is_a_number():
    from resdenoise.nonlinearities import from_function

    assert from_function(np.tanh, lam=np.float64(0.5)).lam == 0.5
    assert type(from_function(np.tanh, lam=2).lam) is float


# ---- choose_steps and learn's signals: the library's one signal check -------------------


@pytest.mark.parametrize(
    ("f", "words"),
    [
        (np.zeros((5, 0)), "the signal has no channels (shape (5, 0))"),
        (
            np.r_[np.zeros(10), np.nan],
            "the signal: sample 11, channel 1 is nan, not a finite number",
        ),
        (np.zeros(1), "a signal needs at least 2 samples; this one has shape (1,)"),
    ],
)
def test_choose_steps_refuses_what_is_no_signal(f, words):
    """Before: no channels gave a bare ValueError of the compiled kernel ('sure_sums needs
    float64 f, b ...'), a NaN sample a choice (0 steps), no error."""
    from resdenoise.autoparams import choose_steps
    from resdenoise.errors import SignalError
    from resdenoise.nonlinearities import get_nonlinearity

    nl = get_nonlinearity("perona-malik", "diffusivity", 1.0)
    with pytest.raises(SignalError) as caught:
        choose_steps(f, nl, 0.25)
    assert str(caught.value) == words


def test_learn_refuses_a_signal_as_the_library_does():
    """Before: learn's own rule, a ParameterError naming only the shape (a NaN sample unnamed)."""
    from resdenoise.errors import SignalError
    from resdenoise.learn import make_objective

    with pytest.raises(SignalError, match=r"^signal 1: sample 11, channel 1 is inf, not a finite"):
        make_objective([np.r_[np.zeros(10), np.inf]])
