"""Issue 15: the automatic choice's scales candidate, SURE over the Haar frame's
levels (coloured noise), and the planner's do-no-harm rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt

from resdenoise.automatic import choose_denoiser, gain_test
from resdenoise.filters import plan_shrink
from resdenoise.haar_frame import frame_coefficients, frame_identity_sure, frame_sure_terms
from resdenoise.multilevel import MultilevelPlan, level_sigmas
from resdenoise.noise import NoiseLevel, search_noise
from resdenoise.noise_colour import (
    POWER_LAW_RISES,
    log_sigma_error,
    max_scales,
    power_law_noise,
    rises_bend,
)
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.plans import planner
from resdenoise.sure import sure_probe


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


# --- the coloured-vs-rough decision (noise_colour.power_law_noise) -------------------------


def _steps(n: int, seed: int) -> np.ndarray:
    """A piecewise-constant trace: levels that hold for geometric times (mean 100)."""
    r = np.random.default_rng(seed)
    out, pos, lev = np.empty(n), 0, 0.0
    while pos < n:
        d = int(r.geometric(1 / 100))
        out[pos : pos + d] = lev
        lev += r.choice([-1.0, 1.0]) * r.uniform(0.5, 3.0)
        pos += d
    return out


def _chirp(n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    return np.sin(2 * np.pi * (5 * t + 60 * (n / 512) * t**2))


def _notes(n: int) -> np.ndarray:
    """Harmonic notes (a rough, dense signal: content at every scale but the finest)."""
    t = np.arange(n) / 22050
    return sum(np.sin(2 * np.pi * h * 330 * t) / h for h in range(1, 12))


def _decide(f):
    """The power-law call on the level the coloured rules see: the search's without the
    variogram's nugget (a level the nugget set is white at every scale)."""
    f2 = np.asarray(f, dtype=float).reshape(len(f), -1)
    return power_law_noise(f2, search_noise(f2, nugget=False).sigma)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", [0.1, 0.3])
@pytest.mark.parametrize("signal", ["none", "steps"])
def test_pink_noise_is_confidently_coloured(signal, level, seed):
    n = 2048
    clean = np.zeros(n) if signal == "none" else _steps(n, seed)
    f = clean + level * (np.std(clean) or 1.0) * _pink(n, 50 + seed)
    confident, rises = _decide(f)
    assert confident
    # one power law: every rise near pink's sqrt2, well inside the band
    assert 1.3 < float(np.exp(np.mean(np.log(rises[:3])))) < 1.6


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", [0.05, 0.3])
@pytest.mark.parametrize("signal", ["none", "steps", "chirp", "notes"])
def test_white_noise_is_never_confidently_coloured(signal, level, seed):
    """Also where the signal's coarse content makes the old rule (levels 2 and 3 rise by
    1.25) call the noise coloured: chirps and harmonic notes."""
    n = 2048
    clean = {
        "none": np.zeros(n),
        "steps": _steps(n, seed),
        "chirp": _chirp(n),
        "notes": _notes(n),
    }[signal]
    f = clean + level * (np.std(clean) or 1.0) * np.random.default_rng(seed).standard_normal(n)
    confident, rises = _decide(f)
    assert not confident
    lo, hi = POWER_LAW_RISES
    # by a margin where the signal is rough: a rise far beyond a noise slope, or a fall
    if signal in ("chirp", "notes") and level == 0.05:
        assert float(np.max(rises)) > 1.2 * hi or float(np.min(rises)) < 0.9


def test_rough_signals_that_the_rise_rule_takes_for_coloured_are_not_confident():
    """The test is meaningful: the old rule (levels 2 and 3 rise) calls these coloured."""
    called = 0
    for clean in (_chirp(512), _chirp(2048), _notes(2048)):
        for seed in range(3):
            rng = np.random.default_rng(seed)
            f = clean + 0.05 * np.std(clean) * rng.standard_normal(clean.size)
            f2 = f[:, None]
            sig = search_noise(f2, nugget=False).sigma
            called += level_sigmas(f2, max_scales(f.size), "auto", sig)[1].startswith("boxes")
            assert not power_law_noise(f2, sig)[0]
    assert called >= 5


def test_power_law_noise_needs_every_channel_and_four_levels():
    n = 2048
    pink = 0.1 * _pink(n, 1)
    white = 0.1 * np.random.default_rng(1).standard_normal(n)
    assert _decide(pink)[0]
    assert not _decide(np.stack([pink, white], axis=1))[0]
    short = 0.1 * _pink(32, 1)
    assert max_scales(32) == 3  # fewer than 4 levels: never confident
    assert not _decide(short)[0]
    assert _decide(short)[1].size == 0


def test_the_decision_is_deterministic():
    f = _steps(1024, 3) + 0.2 * _pink(1024, 3)
    a, b = _decide(f), _decide(f.copy())
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("seed", [1, 2])
def test_confident_pink_noise_ranks_by_scales_without_the_white_confirmation(seed):
    """Before: the white SURE did not confirm the coloured choice, ranked as white,
    the output's MSE 0.72x and 0.76x the input's; now about 0.36x."""
    n = 1024
    clean = _steps(n, seed)
    f = clean + 0.1 * np.std(clean) * _pink(n, seed + 10)
    plan, extra = choose_denoiser(f)
    assert "confident" in extra["noise_rule_per_scale"]
    assert "coloured noise" in extra["automatic_reason"]
    assert np.mean((plan.run(f) - clean) ** 2) < 0.55 * np.mean((f - clean) ** 2)


# --- one power law means equal rises (multilevel.rises_bend) ------------------------------


def _power_law(n: int, seed: int, alpha: float) -> np.ndarray:
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freq = np.fft.rfftfreq(n)
    freq[0] = freq[1]
    x = np.fft.irfft(spec / freq ** (alpha / 2), n)
    return x / np.std(x)


def _walk_plus_white(n: int, step: float, level: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(100 + seed)
    walk = np.cumsum(step * rng.standard_normal(n))
    return walk + level * np.std(walk) * rng.standard_normal(n)


@pytest.mark.parametrize(
    ("n", "seed"),
    [(1024, 1), (1024, 4), (4096, 8), (4096, 9)],  # the old rule called each of these coloured
)
@pytest.mark.parametrize("step", [0.01, 1.0, 30.0])
def test_white_noise_on_a_random_walk_is_not_one_power_law(n, seed, step):
    """White noise at 5 % on a random walk: the box estimates rise from about 1 (the
    white noise) towards 2 (the walk's f^-2), e.g. 1.33, 1.38, 1.73, 2.83: every
    rise of levels 2-4 inside the old band, but growing, not equal."""
    confident, rises = _decide(_walk_plus_white(n, step, 0.05, seed))
    assert not confident
    lo, hi = POWER_LAW_RISES
    assert np.all((rises[:3] >= lo) & (rises[:3] <= hi))  # the band alone does not tell
    assert float(rises_bend(rises, n)[0]) > 3.0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("level", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("n", [1024, 2048, 4096])
def test_white_noise_on_random_walks_is_never_confidently_coloured(n, level, seed):
    assert not _decide(_walk_plus_white(n, 1.0, level, seed))[0]


@pytest.mark.parametrize("seed", range(3))
def test_pink_noise_bends_less_than_three_standard_errors(seed):
    for n in (1024, 2048, 4096):
        confident, rises = _decide(_pink(n, 50 + seed))
        assert confident
        assert abs(float(rises_bend(rises, n)[0])) < 3.0


@pytest.mark.parametrize("seed", range(3))
def test_red_noise_is_taken_for_signal_not_for_coloured_noise(seed):
    """Brownian noise (alpha = 2) as the noise itself is a random walk: nothing
    tells it from a walking signal, so it is not confidently noise (rises near 2,
    beyond the band); alpha = 1 (pink) is."""
    for noise in (
        _power_law(2048, seed, 2.0),
        np.cumsum(np.random.default_rng(seed).standard_normal(2048)),
    ):
        confident, rises = _decide(noise)
        assert not confident
        assert float(np.max(rises[:3])) > POWER_LAW_RISES[1]  # a rise beyond the band
    assert _decide(_power_law(2048, seed, 1.0))[0]


def test_log_sigma_error_is_the_spread_of_one_phase_estimate():
    """The error model against a simulation: the quiet-windows estimate of white
    noise, one phase (the signal itself), over many draws."""
    from resdenoise.noise import estimate_noise

    for m in (127, 255, 1023):
        logs = [
            np.log(estimate_noise(np.random.default_rng(s).standard_normal(m))[0])
            for s in range(400)
        ]
        assert float(np.std(logs)) == pytest.approx(log_sigma_error(m), rel=0.2)
    assert log_sigma_error(20) == pytest.approx(1.166 / math.sqrt(10))  # mad-haar


def test_rises_bend_is_zero_on_a_straight_line_and_signed():
    straight = np.full((4, 1), 1.4)
    assert float(rises_bend(straight, 2048)[0]) == pytest.approx(0.0, abs=1e-9)
    growing = np.array([[1.1], [1.3], [1.6], [2.0]])
    assert float(rises_bend(growing, 2048)[0]) > 0 > float(rises_bend(growing[::-1], 2048)[0])
