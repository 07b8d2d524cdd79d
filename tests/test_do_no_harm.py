"""Do no harm: the automatic search may choose to do nothing, and says so."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise import autoparams, stopping_search
from resdenoise.autoparams import choose_parameters, choose_steps
from resdenoise.cli import cli
from resdenoise.engine import run_blocks
from resdenoise.filters import auto_lambda
from resdenoise.nonlinearities import get_nonlinearity

#: command: (flags, form, default name, tau as the command line picks it)
AUTO = {
    "diffuse": (["--time", "auto"], "diffusivity", "perona-malik", None),
    "shrink": (["--iterations", "auto"], "shrinkage", "soft", 0.25),
    "regularise": (["--alpha", "auto"], "regulariser", "charbonnier", None),
    "resnet": (["--blocks", "auto"], "activation", "tanh", None),
}


def tones(n: int = 1024) -> np.ndarray:
    """Content at the finest scales everywhere: any smoothing removes signal."""
    t = np.arange(n)
    return np.sin(2.0 * np.pi * 0.41 * t) + 0.7 * np.sin(2.0 * np.pi * 0.29 * t + 1.0)


def fine_signal(n: int = 1024) -> np.ndarray:
    """Bursts of tones (and quiet between, where the noise level can be read)."""
    return tones(n) * (np.sin(2.0 * np.pi * 3.0 * np.arange(n) / n) > 0.3)


def test_identity_is_chosen_when_nothing_helps():
    """Tones everywhere and a known noise level (the estimate cannot tell tones that
    fill every window from noise)."""
    clean = tones()
    f = clean + np.random.default_rng(1).normal(0.0, 0.01, 1024)
    for _flags, form, name, tau in AUTO.values():
        choice = choose_parameters(f, name, form, tau=tau, sigma=0.01)
        assert choice.steps == 0 and choice.stopping.blocks[0] == 0, name
        # SURE of the identity is sigma^2 (the probe's |b|^2/n ~ 1)
        assert choice.stopping.criterion[0] == pytest.approx(1e-4, rel=0.1)
        assert choice.expected_gain_db == 0.0
        (message,) = choice.warnings()
        assert "nothing better than the input" in message
        assert choice.as_dict()["warnings"] == [message]


def test_a_small_gain_is_reported_as_small():
    """Below MIN_GAIN_DB (by SURE) the choice says it barely helps."""
    nl = get_nonlinearity("soft", "shrinkage", 1.0)
    for best, small in ((0.95, True), (0.8, False)):  # 0.22 dB, 0.97 dB
        stop = autoparams.StoppingChoice(3, "sure", (1.0,), (0, 1, 3), (1.0, 0.99, best), False)
        choice = autoparams.AutoChoice(nl, 0.25, stop, "given", ())
        assert choice.expected_gain_db == pytest.approx(-10 * math.log10(best))
        notes = choice.warnings()
        assert (len(notes) == 1 and "little gain" in notes[0]) if small else notes == []


def test_cli_identity_writes_the_input_and_warns(tmp_path):
    f = tones() + np.random.default_rng(1).normal(0.0, 0.01, 1024)
    src = tmp_path / "in.csv"
    src.write_text("\n".join(repr(float(v)) for v in f) + "\n")
    for command, (flags, *_rest) in AUTO.items():
        out, rep = tmp_path / f"{command}.csv", tmp_path / f"{command}.json"
        args = [command, str(src), *flags, "--sigma", "0.01", "-o", str(out), "--report", str(rep)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        np.testing.assert_array_equal(np.loadtxt(out), f)
        report = json.loads(rep.read_text())
        assert report["steps"] == 0 and report["stopping_time"] == 0
        assert report["guarantees_held"]
        assert "nothing better than the input" in report["warnings"][0]
        assert "nothing better than the input" in result.stderr


def chirp(n: int = 1024) -> np.ndarray:
    """Sweeps through every frequency: fine-scale content in most windows, where the
    estimate reads it as noise (4x here); with the true sigma the search does no harm."""
    t = np.arange(n) / n
    return np.sin(2.0 * np.pi * (10.0 * t + 350.0 * t**2))


def cases():
    """Clean signals of several kinds; white noise at 5, 10 and 30 % of their std."""
    n = 1024
    t = np.arange(n) / n
    steps = np.where(t < 0.3, 0.0, 2.0) - np.where(t > 0.6, 3.0, 0.0)
    smooth = 4.0 * np.sin(4.0 * np.pi * t) - np.sign(t - 0.3) - np.sign(0.72 - t)
    for name, clean in (("steps", steps), ("heavisine", smooth), ("bursts", fine_signal(n))):
        for level in (0.05, 0.1, 0.3):
            noise = np.random.default_rng(7).normal(0.0, level * np.std(clean), n)
            yield name, level, clean, clean + noise


def never_worse(f, clean, form, name, tau, sigma=None):
    choice = choose_parameters(f, name, form, tau=tau, sigma=sigma, max_blocks=3000)
    u = run_blocks(f, choice.nl.phi, choice.tau, choice.steps)
    before, after = np.mean((f - clean) ** 2), np.mean((u - clean) ** 2)
    return after <= before, (choice.steps, after / before)


@pytest.mark.parametrize("command", sorted(AUTO))
def test_automatic_output_is_never_worse_than_the_input_on_white_noise(command):
    _flags, form, name, tau = AUTO[command]
    for signal, level, clean, f in cases():
        ok, why = never_worse(f, clean, form, name, tau)
        assert ok, (signal, level, why)


@pytest.mark.parametrize("command", sorted(AUTO))
def test_with_the_true_sigma_never_worse_even_where_the_estimate_fails(command):
    _flags, form, name, tau = AUTO[command]
    clean = chirp()
    for level in (0.05, 0.3):
        sigma = level * np.std(clean)
        f = clean + np.random.default_rng(3).normal(0.0, sigma, clean.size)
        ok, why = never_worse(f, clean, form, name, tau, sigma)
        assert ok, (level, why)


def test_search_sees_a_deeper_minimum_after_a_local_one():
    """Perona-Malik at lambda_u / 8 on Blocks: SURE has a minimum near 850 blocks and a
    deeper one at the cap; a stop at 2 best + 20 kept the first (2.3 dB worse)."""
    pywt = pytest.importorskip("pywt")
    clean = np.asarray(pywt.data.demo_signal("Blocks", 2048), dtype=float)
    f = clean + np.random.default_rng(0).normal(0.0, np.std(clean) / 3.0, 2048)
    nl = get_nonlinearity("perona-malik", "diffusivity", auto_lambda(f)[0] / 8.0)
    choice = choose_steps(f, nl.phi, 0.25)
    curve = dict(zip(choice.blocks, choice.criterion, strict=True))
    first = min((k for k in curve if k <= 1000), key=curve.get)  # the local minimum
    stop = next(k for k in choice.blocks if k >= 2 * first + 20)
    assert min(curve[k] for k in curve if k <= stop) == curve[first]  # the old rule's pick
    assert choice.steps > 2 * first + 20 and curve[choice.steps] < curve[first]
    mse = [np.mean((run_blocks(f, nl.phi, 0.25, k) - clean) ** 2) for k in (first, choice.steps)]
    assert mse[1] < mse[0]


def test_search_beyond_its_budget_stops_at_the_horizon(monkeypatch, rng):
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "PLATEAU_MIN_BLOCKS", 10**9)  # the horizon alone
    clean = np.repeat([0.0, 1.0], 200)
    f = clean + rng.normal(0.0, 0.2, 400)
    nl = get_nonlinearity("perona-malik", "diffusivity", auto_lambda(f)[0])
    choice = choose_steps(f, nl.phi, 0.25, max_blocks=5000)
    last = choice.blocks[-1]
    assert last >= 4 * choice.steps + 20 > choice.blocks[-2]
    assert not choice.reached_cap and choice.stopped_by == "horizon"


def test_expected_gain_is_sures_ratio_to_the_identity(rng):
    clean = np.repeat([0.0, 1.0], 200)
    f = clean + rng.normal(0.0, 0.3, 400)
    choice = choose_parameters(f, "perona-malik", "diffusivity")
    identity = choice.stopping.sigma[0] ** 2  # SURE of doing nothing, exactly
    assert choice.stopping.criterion[0] == pytest.approx(identity, rel=0.1)  # the probe's
    expected = 10.0 * math.log10(identity / choice.stopping.best)
    assert choice.expected_gain_db == pytest.approx(expected, rel=1e-12)
    assert choice.expected_gain_db > 3.0 and choice.warnings() == []


def test_a_sure_below_zero_gives_no_gain_figure():
    """SURE is unbiased, not positive: a negative estimate of the output's error says
    nothing about the gain (it was reported as +inf dB)."""
    nl = get_nonlinearity("soft", "shrinkage", 1.0)
    stop = autoparams.StoppingChoice(3, "sure", (1.0,), (0, 1, 3), (1.0, 0.2, -0.1), False)
    choice = autoparams.AutoChoice(nl, 0.25, stop, "given", ())
    assert choice.expected_gain_db is None
    assert choice.as_dict()["expected_gain_db"] is None and choice.warnings() == []


# --------------------------------------------------------------------------
# resdenoise denoise: a level that cannot be identified, a gain within the noise
# --------------------------------------------------------------------------


def _snr_change(clean, f, u) -> float:
    return 10.0 * math.log10(np.sum((f - clean) ** 2) / np.sum((u - clean) ** 2))


def _cycles(n: int = 300) -> np.ndarray:
    t = np.arange(n)
    return 50 * np.abs(np.sin(np.pi * t / 11.0)) ** 1.5 + 5 * np.sin(2 * np.pi * t / 97)


def _white_series(n: int = 100) -> np.ndarray:
    r = np.random.default_rng(42)
    return 900 + 120 * r.standard_normal(n) - 250 * (np.arange(n) > 28)


def _chirp(n: int = 512) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    return np.sin(2 * np.pi * (5 * t + 60 * t**2))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "make, level",
    [(_cycles, 0.05), (_white_series, 0.05), (_white_series, 0.3), (_chirp, 0.1)],
    ids=["cycle-5%", "white-series-5%", "white-series-30%", "chirp-10%"],
)
def test_denoise_never_below_the_input_snr_on_white_noise(make, level, seed):
    """Signals whose own content reaches the sampling rate (the estimate reads it
    as noise: 1.2-11x): the automatic choice does no harm, deterministically."""
    from resdenoise.automatic import choose_denoiser

    clean = make()
    f = clean + np.random.default_rng(seed).normal(0.0, level * np.std(clean), clean.size)
    plan, extra = choose_denoiser(f)
    assert _snr_change(clean, f, plan.run(f)) >= -1e-9
    again, extra2 = choose_denoiser(f.copy())
    assert extra2 == extra
    np.testing.assert_array_equal(again.run(f), plan.run(f))


def test_an_unidentified_level_does_nothing_and_says_so():
    """A series white at its sampling rate: the estimate is 11x the true level and half
    the series' variance; smoothing it cost 15-22 dB before."""
    from resdenoise.automatic import NOTHING, choose_denoiser

    clean = _white_series()
    f = clean + np.random.default_rng(0).normal(0.0, 0.05 * np.std(clean), clean.size)
    plan, extra = choose_denoiser(f)
    assert extra["automatic_choice"] == NOTHING and plan.steps == 0
    np.testing.assert_array_equal(plan.run(f), f)
    assert "cannot be told from the signal" in extra["automatic_reason"]
    assert extra["warnings"][0].startswith("nothing done") and "--sigma" in extra["warnings"][0]
    # a level the caller gives is trusted: the search runs and is judged by its gain
    sigma = 0.3 * np.std(clean)
    f = clean + np.random.default_rng(0).normal(0.0, sigma, clean.size)
    plan, extra = choose_denoiser(f, sigma=sigma)
    assert "gain_standard_error" in extra and "cannot be told" not in extra["automatic_reason"]


@pytest.mark.parametrize("seed", [0, 3])
def test_a_share_near_the_limit_within_the_levels_error_does_nothing(seed):
    """A short series (200 samples) whose own content is partly white at its sampling
    rate (a sine plus white of 0.35, 19-24 % of its variance) in white noise of 5 %:
    the level read is the series' white part, its share under 25 % but not by more
    than the level's own error (``share_bound``: over 29 %).  The input is kept and the
    reason says so (before: smoothed, 18-19 dB below the input)."""
    from resdenoise.automatic import NOTHING, choose_denoiser
    from resdenoise.noise import MAX_NOISE_SHARE, noise_share, search_noise, share_bound

    n = 200
    rough = np.random.default_rng(seed)
    clean = np.sin(2 * np.pi * 3 * np.arange(n) / n) + 0.35 * rough.standard_normal(n)
    f = clean + np.random.default_rng(100 + seed).normal(0.0, 0.05 * np.std(clean), n)
    sigma = search_noise(f).sigma
    share, bound = noise_share(f, sigma)[0], share_bound(f, sigma)[0]
    assert share < MAX_NOISE_SHARE < bound
    assert bound == pytest.approx(share * (1 + 2 * 1.7 / math.sqrt(n)) ** 2)
    plan, extra = choose_denoiser(f)
    assert extra["automatic_choice"] == NOTHING and plan.steps == 0
    np.testing.assert_array_equal(plan.run(f), f)
    assert f"up to {bound:.0%} within its error" in extra["automatic_reason"]
    assert "--sigma" in extra["warnings"][0]


@pytest.mark.parametrize("seed", [0, 2])
def test_a_white_part_over_the_share_by_the_nugget_does_nothing(seed):
    """A series whose own white content is stronger in one stretch (a sine plus white of
    0.9 in 30 % of its 300 samples, 0.25 elsewhere) in white noise of 5 %: quiet-windows
    reads the quiet stretches' white part, under the share limit within its error; the
    variogram's nugget reads the white part over the whole series, over it.  The input is
    kept, and the reason names the nugget (before: smoothed, 15 dB below the input)."""
    from resdenoise.automatic import NOTHING, choose_denoiser
    from resdenoise.noise import MAX_NOISE_SHARE, noise_share, search_noise, share_bound

    n = 300
    t = np.arange(n) / n
    rough = np.where((t > 0.3) & (t < 0.6), 0.9, 0.25)
    clean = np.sin(2 * np.pi * 2 * t) + rough * np.random.default_rng(seed).standard_normal(n)
    f = clean + np.random.default_rng(100 + seed).normal(0.0, 0.05 * np.std(clean), n)
    level = search_noise(f)
    assert share_bound(f, level.sigma)[0] < MAX_NOISE_SHARE
    white = noise_share(f, np.sqrt(level.white))[0]
    assert white > MAX_NOISE_SHARE
    plan, extra = choose_denoiser(f)
    assert extra["automatic_choice"] == NOTHING and plan.steps == 0
    np.testing.assert_array_equal(plan.run(f), f)
    assert f"white part by the variogram's nugget {white:.0%}" in extra["automatic_reason"]


def test_a_gain_within_the_estimates_noise_does_nothing(monkeypatch):
    """The best candidate must beat doing nothing by SIGNIFICANCE standard errors."""
    from resdenoise import automatic, harm
    from resdenoise.noise import resolve_sigma

    clean = np.repeat([0.0, 1.0, -0.5, 0.5], 64)
    f = clean + np.random.default_rng(3).normal(0.0, 0.2, clean.size)
    plan, extra = automatic.choose_denoiser(f, sigma=0.2)
    gain, se = extra["expected_gain_per_sample"], extra["gain_standard_error"]
    assert plan.steps > 0 and gain < -automatic.SIGNIFICANCE * se < 0
    assert (gain, se) == automatic.gain_test(plan, f, resolve_sigma(f, 0.2))
    monkeypatch.setattr(harm, "SIGNIFICANCE", -gain / se * 1.01)
    plan, extra = automatic.choose_denoiser(f, sigma=0.2)
    assert extra["automatic_choice"] == automatic.NOTHING and plan.steps == 0
    assert "standard errors" in extra["automatic_reason"]
    assert extra["warnings"] == [
        f"nothing done: {extra['automatic_reason']}; the output is the input"
    ]


def test_denoise_estimates_the_noise_once(monkeypatch):
    """One estimate of the search's level for all six candidates (each estimated its own
    before); counted at search_noise (the level per scale estimates box signals with
    estimate_noise, and search_noise reads the quiet windows without it)."""
    from resdenoise import automatic, noise

    calls = []
    real = noise.search_noise
    monkeypatch.setattr(noise, "search_noise", lambda *a, **k: calls.append(1) or real(*a, **k))
    clean = np.repeat([0.0, 1.0], 100)
    automatic.choose_denoiser(clean + np.random.default_rng(0).normal(0.0, 0.1, 200))
    assert len(calls) == 1


def _red_tones(n: int = 1024, seed: int = 3) -> np.ndarray:
    """Four harmonics over an AR(1) background (phi 0.9) of half their std: a rough
    component whose content reaches the sampling rate under a tonal signal."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    periods = (23.0, 11.5, 7.67, 5.75)
    x = sum(np.sin(2 * np.pi * k / p + rng.uniform(0, 6)) / (j + 1) for j, p in enumerate(periods))
    e = rng.standard_normal(n)
    red = np.empty(n)
    acc = 0.0
    for t in range(n):
        acc = e[t] + 0.9 * acc
        red[t] = acc
    return x + 0.5 * np.std(x) * red / np.std(red)


def test_a_choice_must_gain_at_the_low_end_of_the_level(monkeypatch):
    """Tones over a red background in 5 % white noise: the level is read 1.5-2x and
    the choice at that level passed the significance test, 3.4 dB below the input
    before; at the low end of the level's interval it shows no gain, nor does the
    search run there, so the input is kept and the report says why.  (The spectral
    floor, which reads this background, is switched off here to test the low-end rule
    alone; with it the choice fails the test at the level itself and the input is kept
    too: tests/test_spectral_floor.py.)"""
    from resdenoise import rough_level
    from resdenoise.automatic import NOTHING, choose_denoiser

    monkeypatch.setattr(rough_level, "FLOOR_Z", math.inf)

    clean = _red_tones()
    f = clean + np.random.default_rng(7).normal(0.0, 0.05 * np.std(clean), clean.size)
    plan, extra = choose_denoiser(f)
    assert _snr_change(clean, f, plan.run(f)) >= -1e-9
    assert extra["automatic_choice"] == NOTHING and plan.steps == 0
    assert "low end" in extra["automatic_reason"]
    assert extra["warnings"] == [
        f"nothing done: {extra['automatic_reason']}; the output is the input"
    ]
    assert extra["noise_low_end"][0] < float(search_noise_sigma(f))
    again, extra2 = choose_denoiser(f.copy())
    assert extra2 == extra


def search_noise_sigma(f) -> float:
    from resdenoise.noise import search_noise

    return float(search_noise(f).sigma[0])


def _steps(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    clean = np.repeat([0.0, 1.0, -0.5, 0.5], n // 4)
    return clean, clean + np.random.default_rng(3).normal(0.0, 0.2, n)


def test_the_low_end_rule_keeps_the_input_or_backs_off():
    """do_no_harm with a level read 3x (0.6 for 0.2) whose interval reaches the true
    level: the filter chosen at 0.6 gains significantly at 0.6 but not at 0.2 (its MSE
    0.036, the input's 0.04); without a search at the low end the input is kept, with
    one its choice (MSE 0.0005, a significant gain at 0.2) is used; a point level
    (given) is judged by its gain alone."""
    from dataclasses import replace

    from resdenoise.automatic import do_no_harm, gain_test, probed_sums
    from resdenoise.noise import resolve_sigma

    clean, f = _steps()
    high, true = resolve_sigma(f, 0.6), resolve_sigma(f, 0.2)
    plan = autoparams_plan(choose_parameters(f, "perona-malik", "diffusivity", sigma=high))
    weak = autoparams_plan(choose_parameters(f, "perona-malik", "diffusivity", sigma=true))
    assert _significant(gain_test(plan, f, high)) and not _significant(gain_test(plan, f, true))
    assert _significant(gain_test(weak, f, true))
    interval = replace(high, low=np.array([0.2]))
    kept, reason, note, extra = do_no_harm(plan, f, interval)
    assert kept.steps == 0 and "low end (0.2, against 0.6)" in reason
    assert note == f"nothing done: {reason}; the output is the input"
    assert extra["noise_low_end"] == [0.2]
    # at the low end from the same run as at the level (its probe), not from another run
    at_low = (extra["gain_at_low_end"], extra["gain_at_low_end_standard_error"])
    assert at_low == gain_test(plan, f, true, sums=probed_sums(plan, f, interval))
    assert at_low == pytest.approx(gain_test(plan, f, true), rel=1e-2)  # the low end's probe
    assert do_no_harm(plan, f, interval)[1:] == (reason, note, extra)  # deterministic
    backed, reason, note, extra = do_no_harm(
        plan, f, interval, at_low=lambda low: (weak, "weak", {"chosen": "at low"})
    )
    assert backed is weak and reason is None and note is None
    assert extra["backed_off_to"] == "weak" and extra["chosen"] == "at low"
    assert "low end" in extra["low_end"]
    assert np.mean((weak.run(f) - clean) ** 2) < 0.1 * np.mean((plan.run(f) - clean) ** 2)
    # a given level is a point: no interval, the gain test alone
    assert high.at_low() is high
    assert do_no_harm(plan, f, high)[0] is plan


def _significant(test) -> bool:
    from resdenoise.automatic import SIGNIFICANCE

    gain, se = test
    return gain < -SIGNIFICANCE * se


def autoparams_plan(choice):
    from resdenoise.filters import plan_diffuse

    return plan_diffuse(choice.nl, steps=max(choice.steps, 1), tau=choice.tau)


@pytest.mark.parametrize("command", ["regularise", "shrink", None])
def test_with_the_spectral_floor_red_tones_keep_the_input(command):
    """The same tones over a red background with the spectral floor on (1024 samples:
    its bound is near the level, and whether it lowers the level depends on the last
    digits): the input is kept either way, by choose_denoiser and by the single-command
    searches."""
    from resdenoise import noise
    from resdenoise.automatic import choose_denoiser
    from resdenoise.plans import planner

    clean = _red_tones()
    f = clean + np.random.default_rng(7).normal(0.0, 0.05 * np.std(clean), clean.size)
    assert math.isfinite(noise.FLOOR_Z)  # the floor is on
    if command is None:
        plan, extra = choose_denoiser(f)
    else:
        settings = {"alpha": "auto"} if command == "regularise" else {"iterations": "auto"}
        name = "charbonnier" if command == "regularise" else "soft"
        plan, extra = planner(command, name, **settings)(f)
    assert plan.steps == 0 and np.array_equal(plan.run(f), f)


def test_the_level_of_the_search_is_an_interval(rng, monkeypatch):
    """White noise: the low end is at most the level and close to it (the orders
    agree); a rough signal over-read by the third differences: clearly below it (the
    order extrapolation alone: the spectral floor, which reads this red background, is
    switched off)."""
    from resdenoise import rough_level
    from resdenoise.noise import LOW_ORDER_STEPS, quiet_window_noise, search_noise

    monkeypatch.setattr(rough_level, "FLOOR_Z", math.inf)

    x = rng.normal(0.0, 0.5, 4096)
    level = search_noise(x)
    assert level.low[0] <= level.sigma[0] and level.low[0] > 0.85 * level.sigma[0]
    f = _red_tones(4096) + rng.normal(0.0, 0.02, 4096)
    level = search_noise(f)
    s3, s8 = quiet_window_noise(f)[0], quiet_window_noise(f, 8)[0]
    assert s3 > s8
    assert level.low[0] == pytest.approx(min(level.sigma[0], s3 / (s3 / s8) ** LOW_ORDER_STEPS))
    assert level.at_low().sigma[0] == level.low[0] < level.sigma[0]
    assert level.at_low().low is None


def test_an_identified_nugget_bounds_the_low_end():
    """A piecewise-constant trace of 300 samples: third over eighth differences 1.27
    by chance, so the order extrapolation alone put the low end at 0.49x and the search
    kept the input where smoothing cut the MSE 40x; the variogram's nugget, identified
    there, bounds it below."""
    from resdenoise.automatic import NOTHING, choose_denoiser
    from resdenoise.noise import quiet_window_noise, search_noise

    clean = np.repeat([0.0, 1.0, -0.5], 100)
    f = clean + np.random.default_rng(20200207).normal(0.0, 0.2, clean.size)
    s3, s8 = quiet_window_noise(f)[0], quiet_window_noise(f, 8)[0]
    level = search_noise(f)
    assert s3 / (s3 / s8) ** 3 < 0.5 * level.sigma[0]
    assert 0.8 * level.sigma[0] < level.low[0] <= level.sigma[0]
    plan, extra = choose_denoiser(f)
    assert extra["automatic_choice"] != NOTHING
    assert np.mean((plan.run(f) - clean) ** 2) < 0.05 * np.mean((f - clean) ** 2)


@pytest.mark.parametrize(
    "command, name, settings",
    [
        ("regularise", "charbonnier", {"alpha": "auto"}),
        ("shrink", "soft", {"iterations": "auto"}),
    ],
)
def test_one_commands_search_gains_at_the_low_end_too(command, name, settings, monkeypatch):
    """The single-command searches follow the same rule (3.4 and 2.1 dB below the
    input before on these tones over a red background; the spectral floor, which reads
    the background, switched off to test the rule alone)."""
    from resdenoise import rough_level
    from resdenoise.plans import planner

    monkeypatch.setattr(rough_level, "FLOOR_Z", math.inf)

    clean = _red_tones()
    f = clean + np.random.default_rng(7).normal(0.0, 0.05 * np.std(clean), clean.size)
    plan, extra = planner(command, name, **settings)(f)
    assert plan.steps == 0 and _snr_change(clean, f, plan.run(f)) >= -1e-9
    assert extra["do_no_harm"].startswith("at the noise level's low end")
    assert extra["warnings"] == [f"nothing done: {extra['do_no_harm']}; the output is the input"]


def test_a_rise_of_sure_is_called_a_rise(tmp_path):
    """The reason for keeping the input named a rise of SURE as 'lowers SURE by -0.099'
    (a random walk of 500 samples in noise of 0.3, whose gain at the level's low end is a
    rise); a fall too small to count is still called a fall."""
    rng = np.random.default_rng(1)
    f = np.cumsum(rng.standard_normal(500)) + 0.3 * np.random.default_rng(2).standard_normal(500)
    result = CliRunner().invoke(
        cli,
        ["denoise", "-", "-o", str(tmp_path / "o.csv"), "-q", "--json"],
        input="\n".join(map(repr, f.tolist())),
    )
    assert result.exit_code == 0, result.output
    reason = json.loads(result.stdout)["parameters"]["automatic_reason"]
    assert re.search(r"raises SURE by \d", reason) and "by -" not in reason
    from resdenoise.automatic import _no_gain

    assert _no_gain("x", -0.01, 0.02) == (
        "x lowers SURE by 0.01 per sample, not more than 2 standard errors of 0.02 each (0.04)"
    )
    assert _no_gain("x", 0.01, 0.02) == "x raises SURE by 0.01 per sample (standard error 0.02)"


def test_the_share_rules_read_the_variance_once_after_the_identity_check(monkeypatch):
    """do_no_harm's share, its bound and the white part's share come from one pass of
    np.var over the signal (before: three, noise_share twice and share_bound's own), and
    none where the level is not identified (returned before); the bound is the share
    times share_factor (x1.54 at 200 samples, x2.13 at 55: see the next test)."""
    from resdenoise import noise
    from resdenoise.automatic import do_no_harm
    from resdenoise.filters import plan_diffuse

    f = np.random.default_rng(1).standard_normal((200, 2))  # white: the share is over
    passes = []
    real_var = np.var
    monkeypatch.setattr(np, "var", lambda *a, **k: passes.append(1) or real_var(*a, **k))
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.8), steps=3)
    level = noise.NoiseLevel(np.array([0.9, 1.0]), "quiet-windows", white=np.array([0.1, 0.2]))
    kept, reason, _, _ = do_no_harm(plan, f, level)
    assert kept.steps == 0 and "signal's variance" in reason and len(passes) == 1
    passes.clear()
    unidentified = noise.NoiseLevel(level.sigma, noise.UNIDENTIFIED)
    kept, reason, _, _ = do_no_harm(plan, f, unidentified)
    assert kept.steps == 0 and "not identified" in reason and not passes


@pytest.mark.parametrize("n", [55, 200])
def test_share_factor_is_the_share_of_a_level_two_of_its_spreads_high(n):
    """share_bound's factor: a level read 1 + 2e times the estimate (two of its relative
    standard deviations e, share_bound's choice) has a share (1 + 2e)^2 times as large, with
    e = QUIET_SPREAD / sqrt(n).  QUIET_SPREAD measured here: the relative standard deviation
    x sqrt(n) of the default estimate (at 55 samples mad-haar's, at 200 quiet-windows') on
    300 white-noise signals: 1.66 and 1.63, within 10 % of 1.7."""
    from resdenoise import noise

    est = [noise.estimate_noise(np.random.default_rng(s).standard_normal(n))[0] for s in range(300)]
    measured = float(np.std(est) / np.mean(est)) * math.sqrt(n)
    assert measured == pytest.approx(noise.QUIET_SPREAD, rel=0.1)
    e = noise.QUIET_SPREAD / math.sqrt(n)
    assert noise.share_factor(n) == pytest.approx((1.0 + 2.0 * e) ** 2, rel=1e-12)
