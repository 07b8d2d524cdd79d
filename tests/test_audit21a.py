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
    path.write_text("x\n" + "".join(f"{v!r}\n" for v in x))
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
