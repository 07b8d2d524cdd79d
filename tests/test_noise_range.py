"""The noise estimate over the whole float64 range: samples beyond 2^500 (whose
third differences' squares would overflow) are scaled down by a power of two, the
same one in whole and streamed runs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise import noise
from resdenoise.cli import cli
from resdenoise.noise import estimate_noise


@pytest.mark.parametrize("k", [0, 300, 499, 520, 700, 1000])
def test_the_estimate_scales_with_the_samples(k, rng):
    """estimate(x * 2^k) == estimate(x) * 2^k bit for bit: finite up to the float64
    maximum (it was inf or NaN from about 2^512 on)."""
    x = rng.standard_normal((3000, 2)) * 0.5 + np.sin(np.arange(3000) / 50.0)[:, None]
    got = estimate_noise(np.ldexp(x, k))
    assert np.all(np.isfinite(got))
    assert np.ldexp(estimate_noise(x), k).tobytes() == got.tobytes()


def test_energy_shift():
    assert noise.energy_shift(1.0) == 0 and noise.energy_shift(2.0**500) == 0
    assert noise.energy_shift(float("inf")) == 0 and noise.energy_shift(float("nan")) == 0
    for a in (2.0**500 * 1.5, 1e200, 1.7e308):
        k = noise.energy_shift(a)
        assert 2.0**499 <= a / 2.0**k <= 2.0**500, a


@pytest.mark.parametrize("amplitude", [1e140, 1e200])
def test_streamed_and_whole_runs_read_the_same_level_of_huge_samples(tmp_path, rng, amplitude):
    """A default Perona-Malik run (lambda from the noise) on samples near 1e200: the
    same finite noise level and output streamed (one more pass: the checking pass fed
    the selection unscaled) as whole."""
    n = 3000
    x = amplitude * (np.sign(np.sin(np.arange(n) / 300.0)) + 0.05 * rng.standard_normal(n))
    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    reports, outputs = [], []
    for size in ("0", "700"):
        out, rep = tmp_path / f"out{size}.csv", tmp_path / f"rep{size}.json"
        args = ["diffuse", str(src), "--diffusivity", "pm", "--steps", "3", "-q"]
        args += ["--chunk-size", size, "-o", str(out), "--report", str(rep)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        reports.append(json.loads(rep.read_text()))
        outputs.append(out.read_bytes())
    whole, streamed = reports
    sigma = whole["noise_sigma"][0]
    assert sigma == pytest.approx(0.05 * amplitude, rel=0.1)
    assert streamed["noise_sigma"] == whole["noise_sigma"]
    assert streamed["parameters"]["lambda"] == whole["parameters"]["lambda"]
    assert outputs[0] == outputs[1]
    assert streamed["streaming"]["passes"] == (3 if amplitude > 2.0**500 else 2)


@pytest.mark.parametrize("k", [0, 520, 1000])
def test_the_dask_estimate_of_huge_samples_is_the_in_memory_one(k, rng):
    """resdenoise.dask.noise_sigma scales samples beyond 2^500 as the in-memory estimate
    does: the same finite level, bit for bit (it was NaN from about 2^512 on)."""
    da = pytest.importorskip("dask.array")
    from resdenoise.dask import noise_sigma

    x = np.ldexp(rng.standard_normal((5000, 2)) + np.sin(np.arange(5000) / 80.0)[:, None], k)
    got = noise_sigma(da.from_array(x, chunks=(700, 2)))
    assert np.all(np.isfinite(got))
    assert got.tobytes() == estimate_noise(x).tobytes()
