"""What resdenoise prints must be true of the file it wrote (audit12c).

* D10: where the impulse pre-stage replaced samples and the search ran no blocks, the
  summary said "chose none (the input)" / "0 blocks", the warning "nothing done: ...; the
  output is the input" and the report's ``input_*`` were the cleaned signal's (input = output),
  while the output differed from the file at every impulse.  Now the choice is
  "the impulse pre-stage only (no blocks)", the summary counts the impulses replaced, the
  warning says what the pre-stage did, and ``input_*`` are the file's, each channel with
  ``impulses_replaced``, ``impulse_max_change`` and ``impulse_mean_change``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from resdenoise.cli import cli

ONLY = "the impulse pre-stage only (no blocks)"  # resdenoise.automatic.PRESTAGE_ONLY


def _read(path) -> np.ndarray:
    return np.array([float(v) for v in path.read_text().split()[1:]])


@pytest.fixture
def spiky_noise(tmp_path):
    """Pure white noise (no level can be trusted: no blocks) with 30 spikes of +-40."""
    r = np.random.default_rng(3)
    x = r.standard_normal(4000)
    x[r.choice(4000, 30, replace=False)] += r.choice((-40.0, 40.0), 30)
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    return src


@pytest.mark.parametrize(
    "command",
    [["denoise"], ["diffuse", "--time", "auto"], ["shrink", "--iterations", "auto"]],
)
def test_d10_the_impulse_prestage_alone_is_said(runner, spiky_noise, tmp_path, command):
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    args = [*command, str(spiky_noise), "-o", str(out), "--report", str(rep)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    f, u = _read(spiky_noise), _read(out)
    moved = np.abs(u - f)
    assert np.count_nonzero(moved) == 30  # the pre-stage ran: the output is not the input
    report = json.loads(rep.read_text())
    assert report["steps"] == 0
    c = report["channels"][0]
    assert c["impulses_replaced"] == 30
    assert c["impulse_max_change"] == np.max(moved)
    assert c["impulse_mean_change"] == pytest.approx(np.mean(u) - np.mean(f), abs=1e-12)
    # the input's numbers are the file's
    assert (c["input_min"], c["input_max"]) == (np.min(f), np.max(f))
    assert c["tv_in"] == pytest.approx(np.sum(np.abs(np.diff(f))), rel=1e-12)
    assert c["tv_in"] > c["tv_out"]
    assert "nothing done" not in result.stderr and "(the input)" not in result.stderr
    assert f"30 impulses replaced (largest change {np.max(moved):.6g})" in result.stderr
    (warning,) = report["warnings"]
    assert warning.startswith("no blocks: after the impulse pre-stage (30 samples replaced")
    assert "warning: " + warning[:60] in result.stderr
    if command == ["denoise"]:
        assert report["parameters"]["automatic_choice"] == ONLY
        assert f"chose {ONLY}" in result.stderr
