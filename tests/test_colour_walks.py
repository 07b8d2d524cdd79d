"""Issue 15: white noise on random walks taken for coloured noise where a roughness check
set the level (resdenoise.noise_colour.rough_checked_evidence): the walk's own coarse
content rises beyond red noise's 2 a level, so the check's level stands (white at every
scale); pink noise, whose levels rise by about sqrt2, still takes the level without the
check and the coloured ranking."""

from __future__ import annotations

import numpy as np
import pytest
from test_coloured_choice import _pink, _steps
from test_walk_level import snr, walk

from resdenoise.automatic import choose_denoiser, noise_per_level
from resdenoise.multilevel import white_nugget
from resdenoise.noise import search_noise
from resdenoise.noise_colour import RED_RISE, colour_evidence, rough_checked_evidence


@pytest.mark.parametrize(("n", "seed"), [(1000, 16), (1000, 25), (300, 29)])
def test_a_walk_whose_levels_rise_beyond_red_noise_keeps_the_checks_level(n, seed):
    """The three walks of the study (unit steps, white noise of sd 0.5) that the coloured
    ranking took 5.7-6.4 dB below the input: the lag-one check set the level, and the box
    estimates at the plain level rise as one power law by the box test (levels 2-4 inside
    its band, no significant bend) but level 5 by 2.6-3.3, the walk's own content.  Before,
    the plain level (1.4-1.6x the truth) was taken back and ranked as coloured."""
    _, f = walk(seed, n)
    level = search_noise(f)
    assert level.white_by_nugget()
    plain = search_noise(f, nugget=False)
    confident, rises, _ = colour_evidence(f[:, None], plain.sigma)
    assert confident  # the box test alone calls it coloured ...
    assert float(np.max(rises)) > RED_RISE  # ... where a level rises beyond red noise
    assert not rough_checked_evidence(f[:, None], plain.sigma)[0]
    kept = white_nugget(f, level)
    assert kept.sigma[0] == level.sigma[0] < plain.sigma[0]
    assert noise_per_level(f, kept)[0] is None  # white at every scale


def test_the_walk_that_came_out_6_db_below_the_input_no_longer_does():
    """Seed 16 of the 1000-sample walks: soft shrinkage over scales by the coloured ranking,
    26.04 -> 19.63 dB (-6.41) before."""
    clean, f = walk(16, 1000)
    plan, extra = choose_denoiser(f)
    assert "confident" not in extra["noise_rule_per_scale"]
    assert snr(plan.run(f), clean) >= snr(f, clean) - 0.3, extra["automatic_choice"]


def test_pink_noise_on_steps_under_a_roughness_check_is_still_ranked_as_coloured():
    """Steps in pink noise at 10 % (2048 samples): the lag-one check reads the noise's
    white-like part, every level rises by 1.36-1.61, so the level without the check is
    taken back and the candidates are ranked by SURE over scales."""
    n = 2048
    clean = _steps(n, 4)
    f = clean + 0.1 * np.std(clean) * _pink(n, 54)
    level = search_noise(f)
    assert level.white_by_nugget()
    kept = white_nugget(f, level)
    assert kept.sigma[0] == search_noise(f, nugget=False).sigma[0] > level.sigma[0]
    plan, extra = choose_denoiser(f)
    assert "confident" in extra["noise_rule_per_scale"]
    assert "coloured noise" in extra["automatic_reason"]
    assert np.mean((plan.run(f) - clean) ** 2) < 0.6 * np.mean((f - clean) ** 2)
