"""A formula's g_max is sampled: the run's summary says so and claims no proof
(audit12a D1); the registry's closed forms keep their plain verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

EXE = str(Path(sys.executable).parent / "resdenoise")
#: g = 1 except a peak of height 6 at |r| = 1.00035, 1e-6 wide: between the grid's points
SPIKE = "r*(1+5*exp(-((abs(r)-1.00035)/1e-6)^2))"


def _resnet(tmp_path, *args):
    f = np.zeros(40)
    f[::2] = 1.00035
    np.savetxt(tmp_path / "in.csv", f, fmt="%.17g")
    cmd = [EXE, "resnet", "in.csv", *args, "--lambda", "1", "--blocks", "3", "-o", "out.csv"]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_a_sampled_g_max_is_not_stated_as_a_guarantee(tmp_path):
    """Before: 'sign stable' and 'guarantees held', though block 1 left the input's
    range (g_max is 6 at the peak, sampled 1)."""
    result = _resnet(tmp_path, "--activation-expr", SPIKE)
    assert result.returncode == 0, result.stderr
    verdict, summary = result.stderr.splitlines()[:2]
    assert verdict.endswith("guarantees held on the output (g_max sampled, not proved)")
    assert "sign stable (g_max sampled, not proved)" in summary


def test_a_closed_form_keeps_its_plain_verdict(tmp_path):
    result = _resnet(tmp_path, "--activation", "tanh")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].endswith(": guarantees held")
    assert "not proved" not in result.stderr and "sign stable" in result.stderr


def test_translate_says_a_sampled_verdict_is_not_proved():
    cmd = [EXE, "translate", "--activation-expr", SPIKE, "--lambda", "1", "--tau", "0.25"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    assert "tau = 0.25: sign stable (g_max sampled, not proved)" in out
