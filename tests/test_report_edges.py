"""The report at the edges (issue 18, item 8): measured against the file's values,
with sums that cannot overflow, read whole and streamed alike.

* near the float64 maximum (samples up to 4e307) the streamed mean and total
  variation sums overflowed (an internal error; ``--strict`` exit 4 on a correct
  run): the report holds and equals the whole-file one;
* with ``--dtype float32`` the input range, sign changes and total variation
  were those of the float32-rounded input, not of the file: the report's input
  range is the file's, in both modes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from resdenoise.cli import cli


def _run(runner, tmp_path, src, mode, extra):
    out, rep = tmp_path / f"{mode}.csv", tmp_path / f"{mode}.json"
    size = "0" if mode == "whole" else "300"
    args = ["diffuse", str(src), "-q", "--strict", "-o", str(out), "--report", str(rep)]
    result = runner.invoke(cli, [*args, "--chunk-size", size, *extra])
    assert result.exit_code == 0, (mode, result.stderr, result.exception)
    return json.loads(rep.read_text())


def test_sums_near_the_float64_maximum_hold_whole_and_streamed(runner, tmp_path, rng):
    values = np.clip(rng.standard_normal(2000) / 3.0, -1.0, 1.0) * 4e307
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    extra = ["--diffusivity", "charbonnier", "--lambda", "1e306", "--steps", "3"]
    whole, streamed = (_run(runner, tmp_path, src, mode, extra) for mode in ("whole", "streamed"))
    for rep in (whole, streamed):
        assert rep["guarantees_held"] and rep["failed_checks"] == []
        (ch,) = rep["channels"]
        assert ch["mean_preserved"] and ch["tv_diminished"] and ch["max_min_principle"]
        assert math.isfinite(ch["mean_drift"])
    w, s = whole["channels"][0], streamed["channels"][0]
    for key in ("input_min", "input_max", "output_min", "output_max"):
        assert w[key] == s[key], key
    assert (w["sign_changes_in"], w["sign_changes_out"]) == (
        s["sign_changes_in"],
        s["sign_changes_out"],
    )
    assert math.isclose(w["mean_drift"], s["mean_drift"], rel_tol=1e-6, abs_tol=1e-12 * 4e307)


@pytest.mark.parametrize("mode", ["whole", "streamed"])
def test_float32_runs_are_measured_against_the_files_values(runner, tmp_path, rng, mode):
    # values float32 cannot hold: 1 + 6e-8 rounds up to 1 + 2^-23, -0.30000001 to -0.3000000119
    values = [0.25, 1.00000006, 0.5, -0.30000001, 0.2] * 80 + list(0.1 * rng.standard_normal(200))
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    rep = _run(
        runner, tmp_path, src, mode, ["--dtype", "float32", "--steps", "2", "--lambda", "0.1"]
    )
    (ch,) = rep["channels"]
    assert ch["input_max"] == 1.00000006 and ch["input_min"] == min(values)
    assert float(np.float32(1.00000006)) != 1.00000006  # (the rounded input: what it showed)
