"""MSE, SNR and PSNR against a clean reference, and ``--reference`` on the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.measure import GRID_ROWS, compare_whole
from resdenoise.quality import mse, psnr_db, snr_db


def compare(noisy, output, reference) -> dict:
    """The report's quality dictionary in its plain form, each number one sum over the
    whole signal (resdenoise.quality's formulas): the independent reference of
    resdenoise.measure.compare_whole, which sums in the pieces of the report's grid
    (the two differ in the last bits beyond measure.GRID_ROWS rows)."""
    result = {}
    for key, x in (("input", noisy), ("output", output)):
        result[key] = {
            "mse": [float(v) for v in mse(x, reference)],
            "snr_db": [float(v) for v in snr_db(x, reference)],
            "psnr_db": [float(v) for v in psnr_db(x, reference)],
        }
    return result


def reference_metrics(x, ref):
    """The three formulas, one channel at a time, written out with plain loops."""
    x = np.asarray(x, float).reshape(len(x), -1)
    ref = np.asarray(ref, float).reshape(len(ref), -1)
    out = []
    for c in range(x.shape[1]):
        err = sum((x[i, c] - ref[i, c]) ** 2 for i in range(x.shape[0]))
        power = sum(ref[i, c] ** 2 for i in range(x.shape[0]))
        span = max(ref[:, c]) - min(ref[:, c])
        m = err / x.shape[0]
        out.append((m, 10 * math.log10(power / err), 10 * math.log10(span**2 / m)))
    return out


def test_hand_computed_values():
    x, ref = [1.0, 2.0, 3.0], [1.0, 2.0, 5.0]
    # error 0, 0, -2: MSE 4/3; power 1 + 4 + 25 = 30; range 5 - 1 = 4
    assert mse(x, ref).tolist() == pytest.approx([4 / 3])
    assert snr_db(x, ref).tolist() == pytest.approx([10 * math.log10(30 / 4)])
    assert psnr_db(x, ref).tolist() == pytest.approx([10 * math.log10(16 / (4 / 3))])


@settings(deadline=None, max_examples=40)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 30), st.integers(1, 3)),
        elements=st.integers(-(10**4), 10**4).map(lambda k: k / 100),
    ),
    st.integers(0, 2**32 - 1),
)
def test_metrics_match_the_formulas(ref, seed):
    if np.any(np.ptp(ref, axis=0) == 0):
        ref = ref + np.arange(ref.shape[0])[:, None]  # every channel needs a nonzero range
    x = ref + np.random.default_rng(seed).normal(0.0, 1.0, ref.shape)
    expected = reference_metrics(x, ref)
    np.testing.assert_allclose(mse(x, ref), [e[0] for e in expected], rtol=1e-9)
    np.testing.assert_allclose(snr_db(x, ref), [e[1] for e in expected], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(psnr_db(x, ref), [e[2] for e in expected], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("form", [compare, compare_whole])
def test_perfect_output_is_infinite_db(form):
    ref = np.array([0.0, 1.0, 3.0])
    q = form(ref + 0.5, ref, ref)
    assert q["output"]["mse"] == [0.0]
    assert q["output"]["snr_db"] == [math.inf] and q["output"]["psnr_db"] == [math.inf]
    assert q["input"]["mse"] == [0.25]


def test_under_a_grid_piece_the_report_is_the_plain_form_bit_for_bit(rng):
    """Up to measure.GRID_ROWS rows the report's sums are one piece: the plain form's."""
    clean = rng.standard_normal((GRID_ROWS, 2))
    noisy, out = clean + rng.standard_normal(clean.shape), clean + 0.1
    assert json.dumps(compare_whole(noisy, out, clean)) == json.dumps(compare(noisy, out, clean))


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(
        ParameterError,
        match=r"reference has shape \(3,\) but the signal has "
        r"shape \(4,\)",
    ):
        mse(np.zeros(4), np.zeros(3))


def _write(path, data):
    rows = np.asarray(data).reshape(len(data), -1)
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n")


@pytest.fixture
def noisy_pair(tmp_path, rng):
    t = np.linspace(0.0, 1.0, 300)
    clean = np.column_stack([np.sign(np.sin(7 * t)), np.cos(3 * t)])
    noisy = clean + rng.normal(0.0, 0.2, clean.shape)
    _write(tmp_path / "clean.csv", clean)
    _write(tmp_path / "noisy.csv", noisy)
    return tmp_path, clean, noisy


def test_cli_reference_reports_quality_of_input_and_output(noisy_pair):
    tmp, clean, noisy = noisy_pair
    args = [
        "diffuse",
        str(tmp / "noisy.csv"),
        "--lambda",
        "0.5",
        "--time",
        "4",
        "--reference",
        str(tmp / "clean.csv"),
        "-o",
        str(tmp / "out.csv"),
        "--report",
        str(tmp / "r.json"),
    ]
    result = CliRunner().invoke(cli, [*args, "-v"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "r.json").read_text())
    out = np.loadtxt(tmp / "out.csv", delimiter=",")
    q = report["quality"]
    assert q["reference"].endswith("clean.csv")
    for key, x in (("input", noisy), ("output", out)):
        expected = reference_metrics(x, clean)
        assert q[key]["mse"] == pytest.approx([e[0] for e in expected], rel=1e-9)
        assert q[key]["snr_db"] == pytest.approx([e[1] for e in expected], rel=1e-9)
        assert q[key]["psnr_db"] == pytest.approx([e[2] for e in expected], rel=1e-9)
    assert q["output"]["mse"][0] < q["input"]["mse"][0]
    assert "SNR dB in -> out" in result.stderr and "MSE in -> out" in result.stderr


def test_cli_reference_of_another_shape_fails_cleanly(noisy_pair):
    tmp, clean, _ = noisy_pair
    _write(tmp / "short.csv", clean[:-1])
    args = [
        "diffuse",
        str(tmp / "noisy.csv"),
        "--time",
        "2",
        "--reference",
        str(tmp / "short.csv"),
        "-o",
        str(tmp / "out.csv"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ") and "short.csv" in lines[0]
    assert "299 samples x 2 channels" in lines[0] and "300 samples x 2 channels" in lines[0]
    assert not (tmp / "out.csv").exists()
