"""``WriteOptions.parents``: an output's missing directories made as it is written, also
where it is written through (a new directory under /dev/shm), by :func:`write_signal`
whatever the format, and never through a file or a dangling link in the way."""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import pytest

from resdenoise.cli import cli
from resdenoise.errors import SignalError
from resdenoise.io import (
    ReadOptions,
    WriteOptions,
    check_output_path,
    read_signal,
    write_files_atomic,
    write_signal,
)
from resdenoise.io.writers import SignalWriter

ARGS = ["diffuse", "--diffusivity", "charbonnier", "--lambda", "0.3", "--time", "3"]


@pytest.fixture
def shm():
    """A new directory of its own under /dev/shm (a device path: written through)."""
    if not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK | os.X_OK):
        pytest.skip("no writable /dev/shm")
    path = tempfile.mkdtemp(prefix="resdenoise-test.", dir="/dev/shm")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def csvs(tmp_path, rng):
    paths = []
    for i in range(2):
        path = tmp_path / f"in{i}.csv"
        path.write_text("\n".join(map(repr, rng.standard_normal(60).tolist())) + "\n")
        paths.append(str(path))
    return paths


def test_a_direct_write_makes_its_directories_just_before_it_opens(shm, tmp_path, csvs):
    """Was ENOENT: under /dev every output is written through (never renamed), and the
    directories were made only at a rename."""
    target = os.path.join(shm, "a", "b", "x.csv")
    assert check_output_path(target, WriteOptions(parents=True))[1]  # written through
    write_files_atomic([(target, b"1\n")], None, True)
    with open(target, "rb") as fh:
        assert fh.read() == b"1\n"
    sig = read_signal(csvs[0])
    streamed = os.path.join(shm, "c", "y.csv")  # a SignalWriter, written through too
    with SignalWriter(streamed, sig, WriteOptions(parents=True)) as writer:
        writer.write(sig.data, sig.carried)
        write_files_atomic([writer])
    assert read_signal(streamed).data.tolist() == sig.data.tolist()
    with pytest.raises(SignalError, match="No such file or directory"):  # parents=False
        write_files_atomic([(os.path.join(shm, "d", "x.csv"), b"1\n")])
    assert sorted(os.listdir(shm)) == ["a", "c"]


def test_a_new_directory_under_dev_shm_from_the_command_line(runner, shm, tmp_path, csvs):
    """A batch into -o /dev/shm/new/, one input's --report /dev/shm/rep/, and -o through
    a symlink into /dev/shm: written, as before the directories were made at the rename."""
    out = os.path.join(shm, "new", "out")
    result = runner.invoke(cli, [*ARGS, *csvs, "-o", f"{out}/", "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(out)) == ["in0.csv", "in1.csv"]
    rep = os.path.join(shm, "rep")
    result = runner.invoke(
        cli, [*ARGS, csvs[0], "-o", str(tmp_path / "o.csv"), "--report", rep + "/"]
    )
    assert result.exit_code == 0, result.output
    assert os.listdir(rep) == ["in0.csv.json"]
    (tmp_path / "link").symlink_to(shm)
    result = runner.invoke(cli, [*ARGS, *csvs, "-o", f"{tmp_path / 'link' / 'via'}/", "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(os.path.join(shm, "via"))) == ["in0.csv", "in1.csv"]


@pytest.mark.parametrize("name", ["x.csv", "x.wav"])
def test_write_signal_makes_the_directories_with_parents(tmp_path, csvs, name):
    """``write_signal`` passed ``parents`` on only for Zarr; every other format refused."""
    sig = read_signal(csvs[0], options=ReadOptions(samplerate=8000))
    target = tmp_path / "a" / "b" / name
    with pytest.raises(SignalError, match="does not exist"):
        write_signal(target, sig)
    assert not (tmp_path / "a").exists()
    write_signal(target, sig, WriteOptions(parents=True))
    got = read_signal(target).data
    np.testing.assert_allclose(got, sig.data, rtol=0 if name == "x.csv" else 1e-6)


def test_a_dangling_link_or_a_file_in_the_way_is_refused_not_followed(tmp_path):
    """``dang -> missing``: dang/x/y.csv made missing/x/y.csv (``mkdir -p`` refuses it,
    as the batch's check does); a link to a directory is still followed."""
    (tmp_path / "dang").symlink_to(tmp_path / "missing")
    (tmp_path / "file").write_text("")
    (tmp_path / "real").mkdir()
    (tmp_path / "good").symlink_to(tmp_path / "real")
    for way in ("dang", "file"):
        target = str(tmp_path / way / "x" / "y.csv")
        with pytest.raises(SignalError, match=f"cannot create the directory '.*{way}/x': Not a"):
            write_files_atomic([(target, b"1\n")], None, True)
        with pytest.raises(SignalError, match="Not a directory"):
            check_output_path(target, WriteOptions(parents=True))
        with pytest.raises(SignalError, match="Not a directory"):
            check_output_path(target + ".zarr", WriteOptions(parents=True))  # a store too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dang", "file", "good", "real"]
    write_files_atomic([(str(tmp_path / "good" / "x" / "y.csv"), b"1\n")], None, True)
    assert (tmp_path / "real" / "x" / "y.csv").read_bytes() == b"1\n"
