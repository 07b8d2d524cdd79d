"""Left-overs of session 40: a multichannel signal's search level estimated once (item 1)."""

from __future__ import annotations

import numpy as np
import pytest

import resdenoise.noise as noise
import resdenoise.split as split
from resdenoise.plans import automatic_planner, planner


def _stereo(n=400, seed=3):
    """Two channels of one noise level (planned together)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / n
    clean = np.stack([np.sign(np.sin(2 * np.pi * 3 * t)), np.sin(2 * np.pi * 2 * t)], axis=1)
    return clean + 0.1 * rng.standard_normal((n, 2))


# --- item 1: the level split.levels_apart compares is the one the search takes -----------

_PLANNERS = {
    "denoise": lambda: automatic_planner(),
    "diffuse --time auto": lambda: planner("diffuse", "perona-malik", time="auto"),
    "shrink --scales auto": lambda: planner("shrink", "soft", scales="auto"),
}


@pytest.mark.parametrize("name", list(_PLANNERS))
def test_a_multichannel_search_estimates_its_level_once(name, monkeypatch):
    u = _stereo()
    levels = []
    real = noise.search_noise

    def recorded(x, *args, **kwargs):
        level = real(x, *args, **kwargs)
        if np.shape(x) == u.shape:  # the whole signal's (not a channel's of it)
            levels.append(level)
        return level

    monkeypatch.setattr(noise, "search_noise", recorded)
    _PLANNERS[name]()(u)
    assert len(levels) == 1, name  # old: 2 (levels_apart's, then the search's own)


@pytest.mark.parametrize("name", list(_PLANNERS))
def test_the_level_passed_on_changes_nothing(name, monkeypatch):
    u = _stereo()
    plan, extra = _PLANNERS[name]()(u)
    apart = split.levels_apart

    def estimated_again(*args):  # the search estimates its level itself, as before
        return (*apart(*args)[:3], None)

    monkeypatch.setattr(split, "levels_apart", estimated_again)
    again, extra_again = _PLANNERS[name]()(u)
    assert np.array_equal(plan.run(u), again.run(u))
    assert repr(extra) == repr(extra_again)
