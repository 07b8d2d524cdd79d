"""audit21a's findings (the maintainer of a Make-driven CI batch pipeline, paged when data
is corrupted).

A21a-1: a missing input whose output would have its name (``-o DIR/`` beside it, or its own
name) was told "output is the input file; pass --in-place to replace it": a call for
--in-place on a file that is nowhere.  It is "no such file", as any other missing input.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _csv(path, n=64, seed=0):
    x = np.random.default_rng(seed).standard_normal(n)
    path.write_text("x\n" + "".join(f"{float(v)!r}\n" for v in x))
    return path


@pytest.mark.parametrize("out", ["dir", "same"])
def test_missing_input_named_as_its_output_is_no_such_file(tmp_path, out):
    od = tmp_path / "od"
    od.mkdir()
    missing = od / "missing.csv"
    r = _invoke(
        "diffuse", missing, "--steps", "3", "-q", "-o", f"{od}/" if out == "dir" else missing
    )
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == f"Error: {missing}: no such file"
    assert "--in-place" not in r.output
    assert list(od.iterdir()) == []


def test_missing_input_in_a_batch_is_no_such_file(tmp_path):
    od = tmp_path / "od"
    od.mkdir()
    good = _csv(tmp_path / "y.csv")
    missing = od / "missing.csv"
    r = _invoke("diffuse", good, missing, "--steps", "3", "-q", "-o", f"{od}/")
    assert r.exit_code == 1
    assert f"{missing}: no such file" in r.output
    assert "pass --in-place" not in r.output
    assert (od / "y.csv").exists()  # the other file of the batch is written


# A21a-10: a file read whole that another program writes over during the read (``cp`` over
# it: truncated, then written) gave an output mixing the old rows and the new ones, exit 0,
# "guarantees held".  It is refused, as a streamed file that changed between passes is.


def _rewritten_during_read(monkeypatch, module, name, path, new_bytes):
    """Have ``module.name`` (the whole read) write ``new_bytes`` over ``path`` once it has
    read it: the file at the end of the read is another one than at its start."""
    import time

    original = getattr(module, name)

    def reading(*args, **kwargs):
        sig = original(*args, **kwargs)
        time.sleep(0.05)  # past the file system's clock tick: the times differ too
        with open(path, "r+b") as fh:  # as cp: the same inode, written over
            fh.truncate(0)
            fh.write(new_bytes)
        return sig

    monkeypatch.setattr(module, name, reading)


@pytest.mark.parametrize("kind", ["csv", "wav"])
def test_file_written_over_during_a_whole_read_is_refused(tmp_path, monkeypatch, kind):
    import soundfile

    import resdenoise.io.csv as csv_module
    import resdenoise.io.read as read_module

    x = np.random.default_rng(1).standard_normal(256) * 0.1
    src = tmp_path / f"in.{kind}"
    if kind == "csv":
        _csv(src, seed=1)
        other = _csv(tmp_path / "other.csv", seed=2).read_bytes()
        _rewritten_during_read(monkeypatch, csv_module, "read_csv_file", src, other)
    else:
        soundfile.write(src, x, 8000, subtype="PCM_16")
        soundfile.write(tmp_path / "other.wav", -x, 8000, subtype="PCM_16")
        other = (tmp_path / "other.wav").read_bytes()
        _rewritten_during_read(monkeypatch, read_module, "read_audio_file", src, other)
    out = tmp_path / f"out.{kind}"
    r = _invoke("diffuse", src, "--steps", "3", "-q", "-o", out, "--report", tmp_path / "r.json")
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {src}: the file changed while it was read (replaced or written to); "
        "nothing was written; run again once it is no longer being written"
    )
    assert not out.exists() and not (tmp_path / "r.json").exists()


def test_file_read_whole_unchanged_is_read(tmp_path):
    src = _csv(tmp_path / "in.csv")
    r = _invoke("diffuse", src, "--steps", "3", "-q", "-o", tmp_path / "o.csv")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.csv").exists()
