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


NETWORK = 'stop = "sure"\n[[block]]\nactivation = "tanh"\nrepeat = 4\n'


def test_a_network_stopped_at_zero_blocks_gives_the_input_and_says_so(runner, tmp_path):
    """A network file with ``stop = "sure"`` on the clean sample (SURE picks 0 blocks)
    was "internal error: ValueError: min() arg is an empty sequence", exit 1: the verdict
    of the cut network took the min over no groups."""
    src = SAMPLES / "steps_clean.csv"
    net = tmp_path / "n.toml"
    net.write_text(NETWORK)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-o", str(out)])
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert np.array_equal(_read_csv(out), _read_csv(src))
    assert "the output is the input, 0 blocks" in result.stderr, result.stderr
    args = ["resnet", str(src), "--network", str(net), "-o", str(out), "--json"]
    report = runner.invoke(cli, args)
    assert report.exit_code == 0, report.stderr
    import json

    d = json.loads(report.stdout)
    assert d["steps"] == 0 and d["parameters"]["blocks_chosen"] == 0
    assert [b["repeat"] for b in d["stability"]["blocks"]] == [0]
    assert d["stability"]["linf_stable"] is True
    assert any("the output is the input" in w for w in d["warnings"])


def test_learn_per_file_on_a_clean_signal_gives_the_input(runner, tmp_path):
    """``learn --per-file`` on the clean sample (its stopped network chose 0 blocks)
    was "internal error: ValueError: min() arg is an empty sequence", exit 1."""
    src = SAMPLES / "steps_clean.csv"
    out = tmp_path / "out.csv"
    result = runner.invoke(
        cli, ["learn", "--per-file", str(src), "--iterations", "3", "-o", str(out)]
    )
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert np.array_equal(_read_csv(out), _read_csv(src))
    assert "the output is the input, 0 blocks" in result.stderr, result.stderr
