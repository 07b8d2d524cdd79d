"""An auditor's defects of 2026-12-06 (automatic modes on noise-free signals, the batch's
account of what it wrote, the summary's labels, compressed audio to WAV): each test
below failed on main before its fix, as its docstring says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resdenoise.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"

#: Signals without noise at the finest scale (a noise estimate of 0).
CLEAN = {
    "constant": np.full(200, 2.5),
    "ramp": np.arange(200, dtype=float),
    "spike": np.where(np.arange(200) == 100, 5.0, 0.0),
}


def _read_csv(path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


@pytest.mark.parametrize(
    "args",
    [
        ["denoise"],
        ["diffuse", "--diffusivity", "auto"],
        ["diffuse", "--scales", "auto"],
        ["diffuse", "--scales", "3"],
    ],
    ids=["denoise", "diffusivity-auto", "scales-auto", "scales-3"],
)
def test_automatic_modes_on_the_clean_sample_give_the_input(runner, tmp_path, args):
    """``resdenoise denoise sample_signals/steps_clean.csv`` (and ``diffuse
    --diffusivity auto``, ``--scales auto|K``) failed: "lambda must be a finite number
    > 0, got 0.0", exit 2, naming no file (the scales' base lambda was the universal
    threshold of a noise level of 0, not its fallback to 1 % of the range)."""
    src = SAMPLES / "steps_clean.csv"
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [*args, str(src), "-o", str(out)])
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert np.array_equal(_read_csv(out), _read_csv(src))


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_choose_denoiser_on_noise_free_signals_does_nothing(name):
    """``choose_denoiser`` raised ParameterError (lambda 0.0) on a constant, a ramp and a
    lone spike: the noise estimate 0 gave the scales' search a base lambda of 0."""
    from resdenoise.automatic import choose_denoiser

    f = CLEAN[name]
    plan, extra = choose_denoiser(f)
    assert np.array_equal(plan.run(f.copy()).ravel(), f)


def test_diffusion_scales_base_lambda_falls_back_to_a_share_of_the_range():
    """With a noise level of 0 the scales' step size is that of the one fallback,
    ``auto_lambda`` (1 % of the range), not an error for lambda 0; nothing is chosen."""
    from resdenoise import stability
    from resdenoise.filters import auto_lambda
    from resdenoise.multiscale import choose_diffusion_scales
    from resdenoise.nonlinearities import get_nonlinearity

    f = CLEAN["ramp"][:, None]
    plan, choice = choose_diffusion_scales(f, "perona-malik", 2, sigma=0.0)
    assert plan.groups == () and choice.thetas == (None, None)
    lam, extra = auto_lambda(f, 1.0, 0.0)
    assert lam == 0.01 * 199 and extra["lambda_rule"].startswith("1% of range")
    assert plan.tau == stability.default_tau(get_nonlinearity("perona-malik", "diffusivity", lam))
