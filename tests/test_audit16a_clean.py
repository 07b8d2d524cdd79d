"""The findings of the audio-engineer audit 16a, each a test that failed on the code
before its fix.

A1: a clean recording (no noise: the level read 3.5e-14, far below the resolution of its
samples) was searched like a noisy one, 16000 blocks and 40 s of CPU per 2 s of audio, for
an output that was the input bit for bit and no word that nothing helped."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from resdenoise.automatic import NOTHING, choose_denoiser
from resdenoise.cli import cli
from resdenoise.noise import search_noise
from resdenoise.untrusted import GRID_FRACTION, _clean, _distrusted, _quantum

RATE = 44100
STEP24 = 2.0**-23  # 24-bit PCM's least significant bit, read as -1..1


def _speech(n: int = 8820) -> np.ndarray:
    """The audit's clean synthetic speech (make_audio.py), 0.2 s: voiced bursts of 11
    harmonics under a Hann envelope, exact zeros between them, peak 0.3."""
    t = np.arange(n) / RATE
    env = np.zeros(n)
    for s in (0.01, 0.11):
        i0, i1 = int(s * RATE), int((s + 0.08) * RATE)
        env[i0:i1] = np.hanning(i1 - i0)
    ph = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 0.7 * t)) / RATE
    x = sum(np.sin(k * ph) / k for k in range(1, 12))
    return 0.3 * env * x / np.max(np.abs(x))


def _pcm24(x: np.ndarray) -> np.ndarray:
    return np.round(x / STEP24) * STEP24


def _kept_clean(x, words: str) -> dict:
    plan, extra = choose_denoiser(x)
    assert extra["automatic_choice"] == NOTHING  # was: diffuse perona-malik, 16000 blocks
    assert extra["automatic_reason"].startswith(words), extra["automatic_reason"]
    assert extra["warnings"] == [
        f"nothing done: {extra['automatic_reason']}; the output is the input"
    ]
    assert extra["blocks_searched"] <= 1  # no search: the input is kept whatever it chose
    assert list(extra["automatic_candidates"]) == ["diffuse perona-malik"]
    np.testing.assert_array_equal(plan.run(np.asarray(x, dtype=float)), x)
    return extra


def test_clean_float_audio_is_kept_as_clean_without_a_search():
    x = _speech().astype(np.float32)
    level = float(search_noise(x.astype(float)).sigma[0])
    assert level < GRID_FRACTION * 2.0**-23 * 0.3  # far below its float32 rounding
    _kept_clean(x, "clean: the estimated noise level is below 1/16 of the float32 rounding")


def test_clean_24_bit_audio_is_kept_as_clean_without_a_search():
    x = _pcm24(_speech())
    assert _quantum(x) == STEP24
    assert float(search_noise(x).sigma[0]) < GRID_FRACTION * STEP24
    _kept_clean(x, "clean: the estimated noise level is below 1/16 of the step its samples")


def test_the_rule_on_both_sides_of_its_bounds():
    """Just below 1/16 of the step (or of the float32 rounding of the largest): clean;
    just above: searched as before.  float64 samples keep their 2^-52 rule."""
    q = _pcm24(_speech())[:, None]
    for y, bound in ((q, GRID_FRACTION * STEP24), (q.astype(np.float32), GRID_FRACTION * STEP24)):
        assert list(_clean(y, y, np.array([0.99 * bound]))) == [0]
        assert _clean(y, y, np.array([1.01 * bound])) == {}
    f = (_speech() + 1e-3).astype(np.float32)[:, None]  # every sample a float32, no coarse step
    bound = GRID_FRACTION * 2.0**-23 * float(np.max(np.abs(f)))
    assert _clean(f, f, np.array([0.99 * bound]))[0].startswith("clean: the estimated noise level")
    assert _clean(f, f, np.array([1.01 * bound])) == {}
    d = (_speech() + 1e-3 * np.sin(np.arange(8820.0)))[:, None]  # float64 samples
    assert _clean(d, d, np.array([1e-12])) == {}
    assert list(_clean(d, d, np.array([1e-18]))) == [0]  # below 2^-52 of 0.3: as before


@pytest.mark.parametrize(
    "make",
    [
        # half a step of dither on 24-bit audio: read about 0.5 of the step
        lambda x, rng: _pcm24(x + 0.5 * STEP24 * rng.standard_normal(x.size)),
        # 1e-5 of white noise on float audio: read about 1e-5
        lambda x, rng: (x + 1e-5 * rng.standard_normal(x.size)).astype(np.float32),
    ],
    ids=["24-bit, half a step of dither", "float, 1e-5"],
)
def test_low_but_real_noise_is_still_searched(make):
    y = make(_speech(), np.random.default_rng(16))
    level = search_noise(np.asarray(y, dtype=float))
    assert _distrusted(np.asarray(y, dtype=float), level) == {}


def test_a_clean_channel_beside_a_dithered_one_is_passed_through():
    rng = np.random.default_rng(3)
    x = _speech()
    pair = np.stack([_pcm24(x), _pcm24(0.5 * x + 0.5 * STEP24 * rng.standard_normal(x.size))], 1)
    why = _distrusted(pair, search_noise(pair))
    assert list(why) == [0] and why[0].startswith("clean: the estimated noise level is below 1/16")


def test_denoise_says_a_clean_file_is_kept(tmp_path, runner):
    """The command line: the verdict and its reason, the output the input bit for bit."""
    src, out, report = tmp_path / "clean.wav", tmp_path / "out.wav", tmp_path / "r.json"
    soundfile.write(src, _speech(), RATE, subtype="FLOAT")
    result = runner.invoke(cli, ["denoise", str(src), "-o", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "nothing done: clean: the estimated noise level is below 1/16 of the float32" in (
        result.stderr
    )
    assert "the output is the input" in result.stderr
    a, _ = soundfile.read(src, dtype="float32")
    b, _ = soundfile.read(out, dtype="float32")
    np.testing.assert_array_equal(a, b)
    params = json.loads(report.read_text())["parameters"]
    assert params["automatic_choice"] == NOTHING and params["blocks_searched"] <= 1


def test_a9_a_clean_channel_beside_a_noisy_one_is_passed_through_unchanged():
    """A9: a clean 24-bit channel (its level read 4e-10, far below its step) beside a
    noisy one was filtered with the noisy one's parameters: 123 dB of SNR became 34 dB.
    Clean by the rule of A1, it is passed through as a constant channel is."""
    rng = np.random.default_rng(10)
    clean = _speech()
    x = np.stack(
        [_pcm24(clean + 0.1 * np.std(clean) * rng.standard_normal(clean.size)), _pcm24(clean)], 1
    )
    plan, extra = choose_denoiser(x)
    assert extra["passed_through_reasons"]["channel 2"].startswith("clean: the estimated noise")
    assert extra["filtered_channels"] == ["channel 1"]
    u = plan.run(x)
    np.testing.assert_array_equal(u[:, 1], x[:, 1])  # was: changed in most samples
    assert not np.array_equal(u[:, 0], x[:, 0])
