"""Zarr stores in place of files: read and written chunk by chunk, all or nothing.

``resdenoise diffuse in.zarr -o out.zarr`` equals the in-memory run bit for
bit (several channels, any chunking of the store), the report carries the
same measurements as for a CSV file, and a run that fails or is ended
leaves no store and no temporary directory at the target (an existing
store untouched).  Refusals are one line with exit code 1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from resdenoise.cli import cli  # noqa: E402
from resdenoise.filters import plan_diffuse, run_plan  # noqa: E402
from resdenoise.io import read_signal  # noqa: E402
from resdenoise.nonlinearities import get_nonlinearity  # noqa: E402

RUN = ["--diffusivity", "perona-malik", "--lambda", "0.8", "--steps", "12", "-q"]


def _store(path, data, chunks, **attributes):
    array = zarr.create_array(
        store=str(path), shape=data.shape, chunks=chunks, dtype=data.dtype, attributes=attributes
    )
    array[...] = data
    return path


def _whole_run(x):
    """The command's run, in memory, written in this test (the plan the flags make)."""
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.8), steps=12)
    return run_plan(plan, x)


def _leftovers(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.startswith("."))


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize(
    ("shape", "chunks"),
    [((3000, 3), (700, 3)), ((300, 3), (1, 3)), ((2501,), (9,)), ((4000, 2), (4000, 1))],
)
def test_a_store_through_the_command_is_the_in_memory_run(
    runner, tmp_path, rng, monkeypatch, shape, chunks, large
):
    from resdenoise import stream_choice

    if large:  # a store over the threshold: chunk by chunk, by default chunks
        monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 100)
    x = np.cumsum(rng.standard_normal(shape), axis=0)
    _store(tmp_path / "in.zarr", x, chunks, samplerate=500)
    result = runner.invoke(
        cli, ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr", *RUN]
    )
    assert result.exit_code == 0, result.stderr
    out = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")
    assert out.shape == x.shape and out.chunks == chunks  # the input's shape and chunking
    assert dict(out.attrs) == {"samplerate": 500}
    np.testing.assert_array_equal(out[...], _whole_run(x))
    assert _leftovers(tmp_path) == []


def test_the_report_has_the_measurements_of_the_same_signal_as_csv(runner, tmp_path, rng):
    x = np.cumsum(rng.standard_normal((5000, 2)), axis=0)
    _store(tmp_path / "in.zarr", x, (613, 2))
    np.savetxt(tmp_path / "in.csv", x, delimiter=",", fmt="%.17g")
    for name, out in (("in.zarr", "out.zarr"), ("in.csv", "out.csv")):
        result = runner.invoke(
            cli,
            [
                "diffuse",
                f"{tmp_path}/{name}",
                "-o",
                f"{tmp_path}/{out}",
                "--report",
                f"{tmp_path}/{name}.json",
                "--chunk-size",
                "0" if name == "in.csv" else "1000",
                *RUN,
            ],
        )
        assert result.exit_code == 0, result.stderr
    store = json.loads((tmp_path / "in.zarr.json").read_text())
    whole = json.loads((tmp_path / "in.csv.json").read_text())
    np.testing.assert_array_equal(
        zarr.open_array(str(tmp_path / "out.zarr"), mode="r")[...],
        read_signal(tmp_path / "out.csv").data,
    )
    assert store["input_info"]["format"] == "ZARR" and store["input_info"]["frames"] == 5000
    for key in ("noise_sigma", "tau", "steps", "guarantees_held", "stability", "tolerance"):
        assert store[key] == whole[key], key
    for got, want in zip(store["channels"], whole["channels"], strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            if key in ("tv_in", "tv_out", "mean_drift"):  # sums: to rounding
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
            else:
                assert got[key] == value, key


def _run_report(runner, args, report):
    result = runner.invoke(cli, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.stderr
    got = json.loads(report.read_text())
    return {k: v for k, v in got.items() if k not in ("input", "output", "job")}


def test_a_small_store_is_read_whole_as_a_small_file_is(runner, tmp_path, rng):
    """A store under the threshold is read whole: an automatic stopping rule runs on it
    (it was refused: "a Zarr store is read in chunks"), and the output and the report
    are those of ``--chunk-size 0`` (no "streaming" entry) and of the same CSV file."""
    x = np.sign(np.sin(np.arange(3000) / 80)) + 0.1 * rng.standard_normal(3000)
    x = np.column_stack([x, np.cumsum(rng.standard_normal(3000))])
    _store(tmp_path / "in.zarr", x, (700, 2))
    np.savetxt(tmp_path / "in.csv", x, delimiter=",", fmt="%.17g")
    auto = ["--time", "auto", "--lambda", "auto"]
    by_default = _run_report(
        runner,
        ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/a.zarr", *auto],
        tmp_path / "a",
    )
    whole = _run_report(
        runner,
        ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/b.zarr", "--chunk-size", "0", *auto],
        tmp_path / "b",
    )
    csv = _run_report(
        runner, ["diffuse", f"{tmp_path}/in.csv", "-o", f"{tmp_path}/c.csv", *auto], tmp_path / "c"
    )
    assert by_default == whole and "streaming" not in by_default
    assert by_default["steps"] == csv["steps"] and by_default["channels"] == csv["channels"]
    a = zarr.open_array(str(tmp_path / "a.zarr"), mode="r")[...]
    np.testing.assert_array_equal(a, zarr.open_array(str(tmp_path / "b.zarr"), mode="r")[...])
    np.testing.assert_array_equal(a, read_signal(tmp_path / "c.csv").data)
    # a chunk size still reads it in chunks, and still refuses the stopping rule
    args = ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/d.zarr", "--chunk-size", "500"]
    assert "streaming" in _run_report(runner, [*args, *RUN], tmp_path / "d")
    _refused(runner, [*args, *auto], "a chunk size is given (--chunk-size 500)", code=2)


def test_a_store_is_streamed_by_its_array_bytes_in_its_dtype(runner, tmp_path, rng, monkeypatch):
    """The thresholds of a file apply to the bytes of the store's array in its own
    dtype (float32 here: 4 bytes a sample, not the 8 of the float64 it is run in),
    whatever its compressed size on the disk."""
    from resdenoise import stream_choice

    x = np.cumsum(rng.standard_normal((1000, 2)), axis=0).astype(np.float32)
    _store(tmp_path / "in.zarr", x, (300, 2))
    nbytes = 1000 * 2 * 4
    args = ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr"]
    reports = {}
    for threshold in (nbytes, nbytes - 1):
        monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", threshold)
        reports[threshold] = _run_report(runner, [*args, *RUN], tmp_path / "r.json")
    assert "streaming" not in reports[nbytes] and "streaming" in reports[nbytes - 1]
    # over the threshold, a plan that needs the samples gets them up to the larger limit
    auto = [*args, "--time", "auto", "--lambda", "0.8"]
    monkeypatch.setattr(stream_choice, "WHOLE_SIGNAL_LIMIT", nbytes)
    assert "streaming" not in _run_report(runner, auto, tmp_path / "r.json")
    monkeypatch.setattr(stream_choice, "WHOLE_SIGNAL_LIMIT", nbytes - 1)
    line = _refused(runner, auto, "needs the whole signal in memory", code=2)
    assert line.endswith(
        f"but the store's array is larger than {(nbytes - 1) / 2**20:g} MiB, which is read "
        "in chunks; give --time as a number, or pass --chunk-size 0 to load it whole anyway"
    ), line


def test_csv_to_a_store_and_a_store_to_csv(runner, tmp_path, rng):
    x = np.cumsum(rng.standard_normal(800))
    np.savetxt(tmp_path / "in.csv", x, fmt="%.17g")
    assert runner.invoke(cli, ["diffuse", f"{tmp_path}/in.csv", "-o", f"{tmp_path}/a.zarr", *RUN])
    a = zarr.open_array(str(tmp_path / "a.zarr"), mode="r")
    assert a.shape == (800,)
    np.testing.assert_array_equal(a[...], _whole_run(x))
    result = runner.invoke(cli, ["diffuse", f"{tmp_path}/a.zarr", "-o", "-", *RUN])
    assert result.exit_code == 0, result.stderr  # stdout: CSV (a store is no stream)
    np.testing.assert_array_equal(np.loadtxt(result.stdout.splitlines()), _whole_run(a[...]))


def _refused(runner, args, words, code=1):
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert words in lines[0], lines[0]
    return lines[0]


def test_a_failed_run_leaves_no_store_and_an_existing_one_untouched(runner, tmp_path, rng):
    x = np.cumsum(rng.standard_normal((2000, 2)), axis=0)
    _store(tmp_path / "in.zarr", x, (300, 2))
    unstable = ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr", *RUN, "--tau", "9"]
    _refused(runner, unstable, "refused as unstable", code=3)
    assert sorted(os.listdir(tmp_path)) == ["in.zarr"]
    _store(tmp_path / "out.zarr", np.arange(10.0), (4,))
    _refused(runner, unstable, "refused as unstable", code=3)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr"))[...], np.arange(10))
    assert _leftovers(tmp_path) == []


def test_a_write_failing_midway_leaves_nothing(runner, tmp_path, rng, monkeypatch):
    x = np.cumsum(rng.standard_normal((200_000, 2)), axis=0)
    _store(tmp_path / "in.zarr", x, (20_000, 2))
    _store(tmp_path / "out.zarr", np.arange(10.0), (4,))
    real, calls = zarr.Array.__setitem__, []

    def failing(self, key, rows):
        calls.append(key)
        if len(calls) == 3:  # chunks written twice, then the disk fills
            raise OSError(28, "No space left on device")
        real(self, key, rows)

    monkeypatch.setattr(zarr.Array, "__setitem__", failing)
    args = ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr", "--chunk-size", "30000"]
    full = "out.zarr: cannot write: No space left on device (the disk is full; free some space"
    _refused(runner, [*args, *RUN], full)
    assert len(calls) == 3
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr"))[...], np.arange(10))
    assert _leftovers(tmp_path) == []


def test_an_ended_run_leaves_no_store_and_no_temporary(tmp_path, rng):
    x = np.cumsum(rng.standard_normal((400_000, 2)), axis=0)
    _store(tmp_path / "in.zarr", x, (4096, 2))
    args = ["diffuse", "in.zarr", "-o", "out.zarr", "--steps", "300", "--lambda", "1", "-q"]
    code = "import sys; from resdenoise.cli import cli; cli(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not _leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the temporary store appears once the input is checked
    assert _leftovers(tmp_path), "the run ended before it wrote anything"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    # cli() run by a program of its own (not resdenoise.cli.main): once cleaned up, the
    # signal is raised again under that program's handler, SIG_DFL: it ends by SIGTERM
    assert proc.returncode == -signal.SIGTERM, err
    assert "Error: interrupted by SIGTERM; no output written" in err
    assert sorted(os.listdir(tmp_path)) == ["in.zarr"]


def test_a_link_at_the_target_is_replaced_not_followed(runner, tmp_path, rng):
    x = np.cumsum(rng.standard_normal(500))
    _store(tmp_path / "in.zarr", x, (64,))
    _store(tmp_path / "kept.zarr", np.arange(4.0), (2,))
    os.symlink(tmp_path / "kept.zarr", tmp_path / "out.zarr")
    args = ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr", *RUN]
    assert runner.invoke(cli, args).exit_code == 0
    assert not os.path.islink(tmp_path / "out.zarr")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr"))[...], _whole_run(x))
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "kept.zarr"))[...], np.arange(4))
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("make", "target", "words"),
    [
        (None, "in.zarr", "output is the input file"),
        ("link", "link.zarr", "output is the input file"),
        ("dir", "notes.zarr", "is a directory but not a Zarr store"),
        (None, "missing/out.zarr", "does not exist"),
    ],
)
def test_targets_that_would_lose_data_are_refused(runner, tmp_path, rng, make, target, words):
    x = np.cumsum(rng.standard_normal(300))
    _store(tmp_path / "in.zarr", x, (64,))
    if make == "link":
        os.symlink(tmp_path / "in.zarr", tmp_path / "link.zarr")
    if make == "dir":
        (tmp_path / "notes.zarr").mkdir()
        (tmp_path / "notes.zarr" / "todo.txt").write_text("keep me")
    before = sorted(os.listdir(tmp_path))
    _refused(runner, ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/{target}", *RUN], words)
    assert sorted(os.listdir(tmp_path)) == before
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "in.zarr"))[...], x)


def _group(path, zarr_format=3):
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    group.create_array("temps", shape=(100,), dtype="f8")[:] = np.arange(100.0)
    group.create_array("press", shape=(50,), dtype="f8")[:] = 1
    (path / "README.txt").write_text("precious")


def _foreign(path):
    (path / "sub").mkdir(parents=True)
    (path / "sub" / "f").write_text("x")
    (path / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')


def _array_and_notes(path, zarr_format=3):
    array = zarr.create_array(
        str(path), shape=(10,), chunks=(4,), dtype="f8", zarr_format=zarr_format
    )
    array[:] = 1
    (path / "notes.txt").write_text("keep me")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_group, "out.zarr: is a Zarr group (README.txt, press/, temps/), not the store of one"),
        (lambda p: _group(p, 2), "out.zarr: is a Zarr group (README.txt, press/, temps/), not"),
        (_foreign, "out.zarr: is a Zarr group (sub/), not the store of one array"),
        (_array_and_notes, "is a Zarr store with files that are not its array's (notes.txt)"),
        (lambda p: _array_and_notes(p, 2), "files that are not its array's (notes.txt)"),
    ],
)
def test_a_group_or_a_store_with_other_files_is_not_replaced(runner, tmp_path, rng, make, words):
    """Before: ``-o grp.zarr`` replaced a whole group (its arrays, its other files), exit 0."""
    _store(tmp_path / "in.zarr", np.cumsum(rng.standard_normal(300)), (64,))
    make(tmp_path / "out.zarr")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    line = _refused(
        runner, ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr", *RUN], words
    )
    assert line.endswith("; give a new name, or move it away (all of it would be replaced)")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_store_of_one_array_is_replaced(runner, tmp_path, rng, zarr_format):
    x = np.cumsum(rng.standard_normal(300))
    _store(tmp_path / "in.zarr", x, (64,))
    out = zarr.create_array(
        str(tmp_path / "out.zarr"),
        shape=(10, 2),
        chunks=(4, 1),
        dtype="f8",
        zarr_format=zarr_format,
    )
    out[:] = 1
    args = ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.zarr", *RUN]
    assert runner.invoke(cli, args).exit_code == 0
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr"))[...], _whole_run(x))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (np.zeros((4, 3, 2)), "has shape (4, 3, 2); a signal is (samples,) or (samples, channels)"),
        (np.zeros((3, 50)), "more channels than samples; store it as (samples, channels)"),
        (np.array([1.0, np.nan, 2.0]), "sample 2, channel 1 is nan, not a finite number"),
        (np.zeros(1), "1 sample; a signal needs at least 2 samples"),
        (np.zeros(5, dtype=complex), "holds complex128 values"),
    ],
)
def test_stores_that_are_no_signal_are_refused_in_one_line(runner, tmp_path, data, words):
    _store(tmp_path / "bad.zarr", data, data.shape)
    line = _refused(runner, ["diffuse", f"{tmp_path}/bad.zarr", "-o", "-", *RUN], words)
    assert line.startswith(f"Error: {tmp_path}/bad.zarr: ")


def test_what_is_not_a_store_is_refused_in_one_line(runner, tmp_path):
    zarr.open_group(str(tmp_path / "group.zarr"), mode="w")
    _refused(runner, ["diffuse", f"{tmp_path}/group.zarr", *RUN], "not a readable Zarr array")
    _refused(runner, ["diffuse", f"{tmp_path}/none.zarr", *RUN], "none.zarr: no such store")
    (tmp_path / "file.zarr").write_text("0\n1\n")
    _refused(runner, ["diffuse", f"{tmp_path}/file.zarr", *RUN], "not a Zarr store")


def test_an_audio_output_needs_the_rate_the_store_does_not_give(runner, tmp_path, rng):
    _store(tmp_path / "in.zarr", 0.1 * rng.standard_normal(400), (100,))
    _refused(
        runner,
        ["diffuse", f"{tmp_path}/in.zarr", "-o", f"{tmp_path}/out.wav", *RUN],
        "needs a sample rate",
        code=2,
    )
    assert sorted(os.listdir(tmp_path)) == ["in.zarr"]


def test_a_batch_of_stores_writes_a_store_per_input(runner, tmp_path, rng):
    inputs = []
    for k, shape in enumerate([(700,), (900, 2)]):
        x = np.cumsum(rng.standard_normal(shape), axis=0)
        inputs.append((_store(tmp_path / f"s{k}.zarr", x, (128,) + shape[1:]), x))
    paths = [str(p) for p, _ in inputs]
    result = runner.invoke(cli, ["diffuse", *paths, "-o", f"{tmp_path}/out/", *RUN])
    assert result.exit_code == 0, result.stderr
    for path, x in inputs:
        out = zarr.open_array(str(tmp_path / "out" / path.name), mode="r")
        np.testing.assert_array_equal(out[...], _whole_run(x))


def test_options_of_csv_files_are_refused_for_a_store(runner, tmp_path, rng):
    _store(tmp_path / "in.zarr", np.cumsum(rng.standard_normal((300, 3)), axis=0), (64, 3))
    args = ["diffuse", f"{tmp_path}/in.zarr", *RUN]
    _refused(runner, [*args, "--time-column", "1"], "a Zarr store has no time column", code=2)
    _refused(
        runner,
        [*args, "--columns", "5"],
        "channels: no channel 5; the file has 3 channels, numbered from 1",
        code=2,
    )
    out = ["-o", f"{tmp_path}/out.zarr"]
    _refused(runner, [*args, *out, "--subtype", "PCM_16"], "applies to audio output only", code=2)
    device = ["-o", "/dev/null", "--output-format", "zarr"]
    _refused(runner, [*args, *device], "a Zarr store is a directory; it cannot go to a device")
    assert sorted(os.listdir(tmp_path)) == ["in.zarr"]


def test_channels_picked_and_the_others_carried_into_the_store(runner, tmp_path, rng):
    x = np.cumsum(rng.standard_normal((500, 3)), axis=0)
    _store(tmp_path / "in.zarr", x, (64, 3))
    out = f"{tmp_path}/out.zarr"
    result = runner.invoke(
        cli, ["diffuse", f"{tmp_path}/in.zarr", "--columns", "1,3", "-o", out, *RUN]
    )
    assert result.exit_code == 0, result.stderr
    got = zarr.open_array(out, mode="r")[...]
    np.testing.assert_array_equal(got[:, [0, 2]], _whole_run(x[:, [0, 2]]))
    np.testing.assert_array_equal(got[:, 1], x[:, 1])  # carried through unchanged


def test_pieces_that_do_not_fill_a_chunk_are_held_until_they_do(runner, tmp_path, rng):
    x = np.cumsum(rng.standard_normal((150_000, 2)), axis=0)
    _store(tmp_path / "in.zarr", x, (10_000, 2))
    out = f"{tmp_path}/out.zarr"
    args = ["diffuse", f"{tmp_path}/in.zarr", "-o", out, "--chunk-size", "7000", *RUN]
    assert runner.invoke(cli, args).exit_code == 0  # pieces of 7000 rows, chunks of 10000
    np.testing.assert_array_equal(zarr.open_array(out, mode="r")[...], _whole_run(x))


def _tree(path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [("in.zarr", "in.zarr/out.zarr"), ("in.zarr", "in.zarr/c/out.csv"), ("box/in.zarr", "box")],
)
def test_an_output_inside_the_input_store_or_around_it_is_refused(
    runner, tmp_path, rng, source, target
):
    """A store is a directory: an output inside it would change the input, and an
    output replacing a directory that holds the input would remove it."""
    (tmp_path / "box").mkdir()
    _store(tmp_path / source, np.cumsum(rng.standard_normal(300)), (64,))
    before = _tree(tmp_path)
    args = ["diffuse", f"{tmp_path}/{source}", "-o", f"{tmp_path}/{target}", *RUN]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "one inside the other" in result.output and len(result.output.strip().splitlines()) == 1
    assert _tree(tmp_path) == before


def test_a_store_named_without_zarr_and_read_as_one_is_refused_as_a_store(runner, tmp_path, rng):
    """A store named without .zarr, read with --input-format zarr, and an output or report
    inside it: refused as a .zarr store is (they lie one inside the other), not 'is a
    directory, not a signal file' (the store was told by its suffix only, though it is
    read); without --input-format it is not read, and says so as before."""
    src = _store(tmp_path / "data", np.cumsum(rng.standard_normal(300)), (64,))
    before = _tree(tmp_path)
    for target in (["-o", f"{src}/out.csv"], ["-o", f"{tmp_path}/o.csv", "--report", f"{src}/r"]):
        kind = "output" if len(target) == 2 else "report"
        result = runner.invoke(cli, ["diffuse", str(src), "--input-format", "zarr", *target, *RUN])
        assert result.exit_code == 1 and result.stderr == (
            f"Error: {target[-1]}: the {kind} and the input {src} lie one inside the other (a "
            "store is a directory: writing one would change or remove the other); give it a "
            "place outside\n"
        )
        result = runner.invoke(cli, ["diffuse", str(src), *target, *RUN])
        assert (
            result.stderr
            == f"Error: {src}: is a directory, not a signal file; give its files ({src}/*)\n"
        )
    assert _tree(tmp_path) == before
    result = runner.invoke(cli, ["diffuse", str(src), "--input-format", "zarr", *RUN])
    assert result.exit_code == 0, result.stderr  # read as a store


def test_a_nan_in_a_carried_channel_is_carried_as_audio_carries_it(runner, tmp_path, rng):
    """A NaN in a channel --columns leaves out was refused in a store ('sample 5, channel
    2 is nan') and carried through in audio: the one rule now, the filtered channels
    finite."""
    x = np.cumsum(rng.standard_normal((300, 3)), axis=0)
    x[4, 1] = np.nan
    _store(tmp_path / "in.zarr", x, (64, 3))
    out = f"{tmp_path}/out.zarr"
    args = ["diffuse", f"{tmp_path}/in.zarr", "--columns", "1,3", "-o", out, *RUN]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    got = zarr.open_array(out, mode="r")[...]
    np.testing.assert_array_equal(got[:, [0, 2]], _whole_run(x[:, [0, 2]]))
    np.testing.assert_array_equal(got[:, 1], x[:, 1])  # NaN included
    x[6, 2] = np.inf  # in a filtered channel: refused, as in audio
    _store(tmp_path / "bad.zarr", x, (64, 3))
    args[1] = f"{tmp_path}/bad.zarr"
    _refused(runner, args, "sample 7, channel 3 is inf, not a finite number")
