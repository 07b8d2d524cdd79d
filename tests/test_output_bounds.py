"""An automatic choice knows the range its output file holds (audit14a A7): a candidate
whose output leaves it is not taken (the best of the others is); never clipped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soundfile as sf

from resdenoise import automatic, bounded
from resdenoise.io.writers import output_range
from resdenoise.multiscale import _leaves

TOP = 32767 / 32768


@dataclass
class _Plan:
    """A plan stub: ``run`` adds ``over`` to the samples."""

    over: float
    steps: int = 1

    def run(self, u):
        return np.asarray(u, dtype=float) + self.over

    def with_output(self, u, output):  # (Plan.with_output: a stub keeps nothing)
        return self


def _full_scale(path, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.clip(np.sin(np.arange(n) / 30) * 1.2 + 0.05 * rng.standard_normal(n), -1, TOP)
    sf.write(path, x, 8000, subtype="PCM_16")
    return sf.read(path)[0]


def test_output_range_of_a_full_scale_int16_wav(tmp_path):
    from resdenoise.io import read_signal

    src = tmp_path / "in.wav"
    _full_scale(src)
    sig = read_signal(str(src))
    assert output_range(str(tmp_path / "o.wav"), sig) == (-1.0, TOP)
    assert output_range(str(tmp_path / "o.csv"), sig) is None


def test_a_choice_that_leaves_the_range_is_replaced_by_the_next():
    f = np.linspace(-1.0, TOP, 100)
    searched = []

    def search(candidates):
        searched.append([c[0] for c in candidates])
        return _Plan(0.0), {"automatic_choice": candidates[0][0], "automatic_reason": "r"}

    cands = (("a", "shrink", "shrinkage", "soft"), ("b", "shrink", "shrinkage", "garrote"))
    plan, extra = bounded.within(
        f, _Plan(0.01), {"automatic_choice": "a"}, (-1.0, TOP), search, cands
    )
    assert plan.over == 0.0 and searched == [["b"]]
    assert "left out: a (the output leaves -1 .. 0.999969" in extra["warnings"][-1]
    # a choice that stays inside is kept; an input that does not fit is not searched again
    same = _Plan(0.0)
    assert bounded.within(f, same, {}, (-1.0, TOP), search, cands)[0] is same
    assert bounded.within(f * 2, _Plan(0.5), {}, (-1.0, TOP), search, cands)[0].over == 0.5
    assert searched == [["b"]]


def test_scales_auto_takes_one_scale_where_the_scales_leave_the_range():
    u = np.linspace(-1.0, TOP, 64)
    assert _leaves(_Plan(0.01), u, (-1.0, TOP), 0)[0]
    left, out = _leaves(_Plan(0.0), u, (-1.0, TOP), 0)
    assert not left and np.array_equal(out, u)  # the output, for the run not to run again
    assert _leaves(_Plan(0.01), u, None, 0) == (False, None)
    # the samples divided by 2**shift: the bounds with them (exact)
    assert not _leaves(_Plan(0.0), u / 4, (-1.0, TOP), 2)[0]


def test_the_pipeline_tells_the_automatic_choice_the_files_range(tmp_path, monkeypatch):
    from resdenoise.pipeline import RunOptions, run_file
    from resdenoise.plans import automatic_planner

    src = tmp_path / "in.wav"
    _full_scale(src)
    seen = {}
    real = automatic.choose_denoiser

    def spy(
        f,
        sigma=None,
        candidates=automatic.CANDIDATES,
        labels=None,
        progress=None,
        bounds=None,
        known=None,
    ):
        seen["bounds"] = bounds
        return real(f, sigma, candidates[:1], labels, progress, bounds, known=known)

    monkeypatch.setattr(automatic, "choose_denoiser", spy)
    run_file(automatic_planner(), str(src), str(tmp_path / "o.wav"), run=RunOptions())
    assert seen["bounds"] == (-1.0, TOP)


def _clipped_music(seed: int = 3) -> np.ndarray:
    """Of audit14a's fs_music kind: four tones at full scale, 8 % white noise, clipped to
    the int16 rails and rounded to int16 steps."""
    n = 3 * 8000
    t = np.arange(n) / 8000
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (110, 220, 330, 440)) * 0.5
    y = np.clip(x + 0.08 * rng.standard_normal(n), -1, TOP)
    return np.round(y * 32768) / 32768


def test_shrinkage_auto_on_a_full_scale_signal_stays_in_the_int16_range():
    y = _clipped_music()
    cands = automatic.COMMAND_CANDIDATES["shrink"]
    plan, extra = automatic.choose_denoiser(y, candidates=cands)
    out = plan.run(y)
    assert out.min() < -1.0 or out.max() > TOP  # the scales' output leaves the range
    plan, extra = automatic.choose_denoiser(y, candidates=cands, bounds=(-1.0, TOP))
    out = plan.run(y)
    assert out.min() >= -1.0 and out.max() <= TOP and plan.steps
    assert "the range the output file holds" in extra["warnings"][-1]
