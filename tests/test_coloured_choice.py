"""Issue 15: the automatic choice's scales candidate, SURE over the Haar frame's
levels (coloured noise), and the planner's do-no-harm rules."""

from __future__ import annotations

import numpy as np
import pytest
import pywt

from resdenoise.automatic import choose_denoiser, gain_test
from resdenoise.autoparams import sure_probe
from resdenoise.filters import plan_shrink
from resdenoise.multilevel import (
    MultilevelPlan,
    frame_coefficients,
    frame_identity_sure,
    frame_sure_terms,
)
from resdenoise.noise import NoiseLevel
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.plans import planner


@pytest.mark.parametrize("n, k", [(37, 1), (64, 3), (50, 5)])
def test_frame_is_parseval_on_the_mirror(n, k):
    x = np.random.default_rng(n).normal(size=(n, 2))
    energy = sum(float(np.sum(w**2)) for w in frame_coefficients(x, k))
    assert energy / 2 == pytest.approx(float(np.sum(x**2)), rel=1e-12)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_frame_levels_are_pywavelets_swt_details_scaled(level):
    """W_j y = 2^(-j/2) x the swt detail of the mirrored period (up to sign)."""
    x = np.random.default_rng(level).normal(size=16)
    y = np.concatenate([x, x[::-1]])
    ref = pywt.swt(y, "haar", level=level, trim_approx=False, norm=False)[0][1]
    ours = frame_coefficients(x[:, None], level)[level - 1][:, 0]
    assert np.sort(np.abs(ours)) == pytest.approx(np.sort(np.abs(ref)) * 2 ** (-level / 2))


def test_frame_sure_with_one_level_everywhere_is_the_plain_sure():
    """White noise (every level the same sigma): the levels sum to SURE exactly."""
    rng = np.random.default_rng(3)
    f = np.cumsum(rng.normal(size=(96, 2)), axis=0)
    sig = np.array([0.7, 1.3])
    b, eps = sure_probe(f, sig)
    plan = plan_shrink(get_nonlinearity("soft", "shrinkage", 1.0), 3)
    u = np.asarray(plan.run(np.concatenate([f, f + eps * b], axis=1)))
    uf, up = u[:, :2], u[:, 2:]
    plain = np.mean(np.sum((f - uf) ** 2 - 2 * sig**2 + 2 * sig**2 * b * (up - uf) / eps, axis=1))
    levels = [sig] * 4
    assert np.sum(frame_sure_terms(f, uf, up, b, eps, levels)) / (2 * 96) == pytest.approx(
        plain, rel=1e-12
    )
    assert frame_identity_sure(levels, 2) == pytest.approx(float(np.sum(sig**2)), rel=1e-12)
    level = NoiseLevel(sig, "given")
    assert gain_test(plan, f, level, per_level=levels)[0] == pytest.approx(
        gain_test(plan, f, level)[0], rel=1e-12
    )


def test_the_scales_shrink_candidate_is_the_multilevel_shrinkage():
    """Before: the cascade of dilated blocks (multiscale.choose_cascade)."""
    t = np.linspace(0.0, 1.0, 256)
    f = np.sign(np.sin(6 * t)) + np.random.default_rng(0).normal(0.0, 0.2, t.size)
    only = (("shrink soft, scales", "shrink", "shrinkage", "soft"),)
    plan, extra = choose_denoiser(f, candidates=only)
    assert isinstance(plan, MultilevelPlan)
    assert extra["automatic_choice"] == "shrink soft, scales"
    assert len(extra["noise_sigma_per_scale"]) == plan.parameters["scales"]


def _white_series(n: int = 100) -> np.ndarray:
    r = np.random.default_rng(42)
    return 900 + 120 * r.standard_normal(n) - 250 * (np.arange(n) > 28)


@pytest.mark.parametrize(
    "command, settings", [("diffuse", {"time": "auto"}), ("shrink", {"iterations": "auto"})]
)
def test_planner_keeps_the_input_when_the_level_is_not_identified(command, settings):
    """The 25 %-share rule of ``denoise`` in ``diffuse --time auto`` and the like
    (before: the planner ran its search's blocks, below the input's SNR)."""
    name = "perona-malik" if command == "diffuse" else "soft"
    clean = _white_series()
    f = clean + np.random.default_rng(0).normal(0.0, 0.05 * np.std(clean), clean.size)
    plan, extra = planner(command, name, **settings)(f)
    assert plan.steps == 0
    assert np.array_equal(plan.run(f), f)
    assert "signal's variance" in extra["do_no_harm"]
    assert extra["warnings"][0].startswith("nothing done")


def test_planner_tests_the_gain_of_what_it_runs():
    """A clear gain passes the significance test and is reported."""
    t = np.linspace(0.0, 1.0, 512)
    f = np.sign(np.sin(9 * t)) + np.random.default_rng(1).normal(0.0, 0.3, t.size)
    plan, extra = planner("diffuse", "perona-malik", time="auto")(f)
    assert plan.steps > 0 and "do_no_harm" not in extra
    assert extra["expected_gain_per_sample"] < -2 * extra["gain_standard_error"]


def _pink(n: int, seed: int) -> np.ndarray:
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freq = np.fft.rfftfreq(n)
    freq[0] = freq[1]
    x = np.fft.irfft(spec / np.sqrt(freq), n)
    return x / np.std(x)


def test_pink_noise_ranks_every_candidate_by_sure_over_scales():
    """Doppler in pink noise: the coloured ranking stands (the white SURE confirms
    its choice), every candidate scored by it, and the output beats the input."""
    t = np.arange(1, 1025) / 1024
    clean = np.sqrt(t * (1 - t)) * np.sin(2.1 * np.pi / (t + 0.05))
    f = clean + 0.1 * np.std(clean) * _pink(t.size, 0)
    plan, extra = choose_denoiser(f)
    assert extra["noise_rule_per_scale"].startswith("boxes")
    assert "coloured noise" in extra["automatic_reason"]
    scores = extra["automatic_candidates"]
    assert scores[extra["automatic_choice"]] == min(scores.values())
    assert np.mean((plan.run(f) - clean) ** 2) < 0.95 * np.mean((f - clean) ** 2)


def test_a_chirp_in_white_noise_taken_for_coloured_is_ranked_as_white():
    """Its coarse content makes the box estimates rise; without the white check the
    multilevel choice was 1.2 dB below the input."""
    t = np.linspace(0.0, 1.0, 512)
    clean = np.sin(2 * np.pi * (5 * t + 60 * t**2))
    f = clean + np.random.default_rng(0).normal(0.0, 0.1 * np.std(clean), t.size)
    plan, extra = choose_denoiser(f)
    assert "ranked as white" in extra["noise_rule_per_scale"]
    assert np.mean((plan.run(f) - clean) ** 2) <= np.mean((f - clean) ** 2)
