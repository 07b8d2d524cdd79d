"""Impulse detection and the Hampel pre-stage, against loops written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise import impulses
from resdenoise.cli import cli
from resdenoise.impulses import detect_impulses, hampel_stage, running_median
from resdenoise.pipeline import planner


def median_loop(x, half):
    n = len(x)
    out = []
    for i in range(n):
        idx = [j if j >= 0 else -j for j in range(i - half, i + half + 1)]
        idx = [j if j < n else 2 * (n - 1) - j for j in idx]  # reflect at the ends
        out.append(float(np.median([x[j] for j in idx])))
    return np.array(out)


@pytest.mark.parametrize("n", [7, 8, 50])
def test_running_median_equals_a_loop(rng, n):
    x = rng.standard_normal(n)
    np.testing.assert_array_equal(running_median(x), median_loop(x, 3))
    two = np.column_stack([x, -2 * x])
    np.testing.assert_array_equal(running_median(two)[:, 1], median_loop(-2 * x, 3))


@settings(max_examples=60)
@given(
    n=st.integers(1, 60),
    half=st.integers(1, 9),
    values=st.lists(st.integers(-3, 3), min_size=60, max_size=60),
)
def test_the_selection_network_median_equals_a_loop_with_ties(n, half, values):
    """Every window width 3..19, short signals (the half width clipped), many ties."""
    x = np.array(values[:n], dtype=float) * 0.5
    np.testing.assert_array_equal(running_median(x, half), median_loop(x, min(half, n - 1)))


def test_the_running_median_is_the_same_across_its_row_blocks(monkeypatch, rng):
    x = rng.standard_normal((1000, 2))
    whole = running_median(x, 8)
    monkeypatch.setattr(impulses, "MEDIAN_ROWS", 37)
    np.testing.assert_array_equal(running_median(x, 8), whole)
    np.testing.assert_array_equal(whole[:, 0], median_loop(x[:, 0], 8))


@settings(max_examples=40)
@given(
    n=st.integers(1, 600),
    half=st.integers(1, 8),
    values=st.lists(st.integers(-3, 3), min_size=600, max_size=600),
    zeros=st.booleans(),
)
def test_the_median_residual_is_numpys_bit_for_bit(n, half, values, zeros):
    """The compiled residual (where built) against NumPy's: every width 3..17, short
    signals, the ends and the loop's 256-row blocks, many ties and signed zeros."""
    x = np.array(values[:n], dtype=float) * 0.5
    if zeros:
        x[::3] = -0.0
    want = np.abs(x - running_median(x, half))
    got = impulses.median_residual(x, half)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
    np.testing.assert_array_equal(got, np.abs(x - median_loop(x, min(half, n - 1))))


def test_the_median_residual_leaves_nan_to_numpy(rng):
    x = rng.standard_normal(1000)
    x[[0, 500, 501]] = np.nan
    want = np.abs(x - running_median(x))
    np.testing.assert_array_equal(impulses.median_residual(x), want)  # NaN where NumPy's are
    loop = impulses._compiled()
    if loop is None:
        pytest.skip("the compiled loop is not built")
    net = np.array(impulses._median_network(7), dtype=np.intc).reshape(-1)
    assert loop(x, 3, net, np.empty_like(x)) is False
    assert loop(np.nan_to_num(x), 3, net, np.empty_like(x)) is True
    with pytest.raises(ValueError, match="half"):
        loop(x, 9, net, np.empty_like(x))
    with pytest.raises(ValueError, match="net"):
        loop(x, 3, net[::-1].copy(), np.empty_like(x))
    with pytest.raises(TypeError, match="out"):
        loop(x, 3, net, np.empty(5))


@settings(max_examples=60)
@given(
    n=st.integers(1, 300),
    values=st.lists(st.integers(0, 5), min_size=300, max_size=300),
    special=st.sampled_from([None, np.inf, np.nan]),
)
def test_the_median_is_numpys_bit_for_bit(n, values, special):
    """median_of against np.median: odd and even counts, many ties, infinities, NaN."""
    r = np.array(values[:n], dtype=float) * 0.1 + np.arange(n) % 3 * 1e-17
    if special is not None:
        r[n // 3] = special
    want, got = np.median(r), impulses.median_of(r)
    assert type(got) is type(want)
    np.testing.assert_array_equal(np.array(got).view(np.int64), np.array(want).view(np.int64))


def spiky(rng, n=4000, rate=0.01, sigma=0.05):
    t = np.arange(n) / n
    clean = np.sin(6 * np.pi * t) + (t > 0.5)
    f = clean + rng.normal(0.0, sigma, n)
    where = np.flatnonzero(rng.random(n) < rate)
    where = where[np.diff(where, prepend=-5) > 2]  # isolated
    f[where] += rng.choice([-1.0, 1.0], where.size) * rng.uniform(1.0, 3.0, where.size)
    return clean, f, where


def test_detects_isolated_impulses_and_nothing_else(rng):
    clean, f, where = spiky(rng)
    found = np.flatnonzero(detect_impulses(f))
    assert set(found) <= set(where) and found.size >= 0.95 * where.size
    stage = hampel_stage(f)
    assert stage.active and stage.impulses == (found.size,)


def test_white_noise_and_edges_are_not_impulsive(rng):
    noise = rng.standard_normal(200_000)
    assert np.count_nonzero(detect_impulses(noise)) <= 2
    steps = np.repeat([0.0, 5.0, -3.0, 1.0], 500) + rng.normal(0.0, 0.1, 2000)
    for x in (noise, steps):
        assert not hampel_stage(x).active
        np.testing.assert_array_equal(hampel_stage(x).apply(x), x)


signals = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False), min_size=7, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(signals, st.data())
def test_replacement_keeps_the_max_min_principle_tv_and_sign_changes(values, data):
    x = np.array(values)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=x.size, max_size=x.size)))
    y = impulses._replace(x, mask)
    assert y.max() <= x.max() and y.min() >= x.min()
    assert np.sum(np.abs(np.diff(y))) <= np.sum(np.abs(np.diff(x))) * (1 + 1e-12) + 1e-9
    signs = lambda v: np.count_nonzero(np.diff(np.sign(v)[np.sign(v) != 0]))  # noqa: E731
    assert signs(y) <= signs(x)
    np.testing.assert_array_equal(y[~mask], x[~mask])


def test_automatic_mode_uses_the_prestage_and_gains(rng):
    clean, f, where = spiky(rng)
    make = planner("diffuse", "perona-malik", time="auto")
    plan, extra = make(f)
    found = np.count_nonzero(detect_impulses(f))
    assert plan.prestage is not None and extra["impulses_detected"] == [found] and found
    assert extra["impulse_prestage"].startswith("hampel")
    with_stage = np.mean((plan.run(f) - clean) ** 2)
    bare = plan.__class__(**{**plan.__dict__, "prestage": None})
    assert with_stage < 0.2 * np.mean((bare.run(f) - clean) ** 2)
    assert with_stage < 0.2 * np.mean((f - clean) ** 2)


def test_cli_reports_the_prestage_and_keeps_the_guarantees(tmp_path, rng):
    _, f, where = spiky(rng, n=1000)
    src = tmp_path / "in.csv"
    src.write_text("\n".join(repr(float(v)) for v in f) + "\n")
    args = ["shrink", str(src), "--iterations", "auto", "-q", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args + ["--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["parameters"]["impulses_detected"] == [np.count_nonzero(detect_impulses(f))]
    assert report["parameters"]["impulses_detected"][0] >= 0.9 * where.size
    assert report["guarantees_held"], report["failed_checks"]


def test_detection_runs_once_per_channel(monkeypatch, rng):
    """hampel_stage scores each channel once; apply, the plan's run and its report reuse
    the positions (they detected again, 4-5 times per channel, before)."""
    clean, f, _ = spiky(rng)
    calls = []
    real = impulses._impulse_masks
    monkeypatch.setattr(impulses, "_impulse_masks", lambda x: calls.append(1) or real(x))
    plan, _ = planner("shrink", "soft", iterations="auto")(f)
    assert plan.prestage.active and len(calls) == 1
    from resdenoise.filters import analyse_run

    u = plan.run(f)
    analyse_run(plan, f, u)
    assert len(calls) == 1


def _signals(rng):
    t = np.arange(3000) / 3000
    yield spiky(rng)[1]
    yield spiky(rng, rate=0.05, sigma=0.001)[1]
    yield np.sign(np.sin(40 * np.pi * t)) + 0.01 * rng.standard_normal(3000)  # edges
    yield np.where(rng.random(3000) < 0.02, 50.0, 0.0) + rng.standard_normal(3000)
    yield rng.standard_cauchy(3000)  # heavy tails: many loud samples
    for n in (6, 7, 8, 12, 17, 30):  # short: a window wider than the signal
        yield np.concatenate([rng.standard_normal(n - 1), [40.0]])
    yield np.concatenate([rng.standard_normal(50), [np.inf], rng.standard_normal(50)])
    yield np.concatenate([rng.standard_normal(50), [np.nan], rng.standard_normal(50)])
    yield np.ones(100)


def test_the_masks_of_the_stage_are_those_of_the_scores(rng):
    """hampel_stage's masks (the local scale only where a score can reach NEIGHBOUR)
    are those of impulse_scores at both thresholds, sample for sample."""
    for x in _signals(rng):
        scores = impulses.impulse_scores(x)
        found, strong = impulses._impulse_masks(x)
        np.testing.assert_array_equal(found, impulses.impulses_from(scores))
        np.testing.assert_array_equal(strong, impulses.impulses_from(scores, impulses.STRONG))


def test_replacement_at_positions_uses_the_running_median(rng):
    x = rng.normal(0.0, 1.0, 40)
    med = running_median(x)
    for i in range(40):
        assert impulses._median_at(x, i) == med[i]
    mask = np.zeros(40, dtype=bool)
    mask[[0, 7, 8, 39]] = True
    np.testing.assert_array_equal(impulses._replace(x, mask), impulses._replace(x, [0, 7, 8, 39]))


def test_impulses_must_be_implausible_as_noise_at_the_given_level():
    """Spikes of 50 noise levels are impulses; the same spikes in a signal said to have
    6x the noise move samples by less than 10 levels: not implausible as its noise."""
    t = np.arange(2000)
    f = 0.02 * np.sin(2 * np.pi * t / 400.0) + np.random.default_rng(0).normal(0.0, 0.01, t.size)
    f[100::200] += 0.5
    assert hampel_stage(f).active and hampel_stage(f, 0.01).active
    assert not hampel_stage(f, 0.06).active
    assert hampel_stage(f, 0.06).impulses == hampel_stage(f).impulses == (10,)  # found, not used


def _gait(rng, n=4096):
    """Steps at 1.8 Hz (100 Hz samples) with a heel strike's sharp transient per step."""
    t = np.arange(n) / 100.0
    x = sum(a * np.sin(2 * np.pi * h * 1.8 * t + h - 1) for h, a in ((1, 1), (2, 0.4), (3, 0.2)))
    k = np.arange(8)
    for i in np.arange(0, n - 8, 100 / 1.8).astype(int):
        x[i : i + 8] += 1.5 * np.exp(-k / 2.0) * np.cos(1.3 * k)
    return x


def _ecg(rng, n=4096):
    """Beats at a varying rate, each a P wave, a one-sample R peak and a T wave."""
    k = np.arange(-12, 13)
    beat = 0.15 * np.exp(-0.5 * ((k + 8) / 2.5) ** 2) + 1.0 * (k == 0)
    beat += 0.3 * np.exp(-0.5 * ((k - 8) / 3.0) ** 2)
    x, i = np.zeros(n), 20
    while i + 13 < n:
        x[i - 12 : i + 13] += beat
        i += int(rng.integers(40, 60))
    return x


def _drums(rng, n=8192):
    """A beat every 700 samples: a stick's one-sample click and a decaying drum tone."""
    x, t = np.zeros(n), np.arange(n)
    for k, i in enumerate(range(0, n, 700)):
        loud = 1.0 if k % 2 else 0.6
        x[i:] += loud * np.cos(2 * np.pi * (t[i:] - i) / 40.0) * np.exp(-(t[i:] - i) / 150.0)
        x[i] += 1.5
    return x


def _music(rng, n=8192):
    """Plucked notes at random times and pitches, each with a one-sample pluck."""
    x, t, i = np.zeros(n), np.arange(n), 0
    while i < n:
        tt = np.clip(t - i, 0, None)
        x += (t >= i) * np.exp(-tt / 600.0) * np.cos(2 * np.pi * tt / rng.uniform(8, 30))
        x[i] += 1.5
        i += int(rng.integers(300, 900))
    return x


@pytest.mark.parametrize(
    "make, level, seed",
    [(_gait, level, seed) for level in (0.1, 0.15) for seed in (0, 1)]
    + [(_ecg, level, 0) for level in (0.05, 0.1, 0.2, 0.3)]
    + [(_drums, level, seed) for level, seed in ((0.15, 0), (0.3, 0), (0.3, 1))]
    + [(_music, level, seed) for level, seed in ((0.15, 0), (0.2, 0), (0.2, 1))],
)
def test_a_signals_own_recurring_peaks_are_not_impulses(make, level, seed, monkeypatch):
    """Heel strikes, one-sample R peaks, drum clicks and plucks in white noise (5-30 %)
    are one-sample spikes that stick out the same way from the same surroundings: not
    impulsive (the count and noise-level rules alone took them for impulses, and the
    pre-stage cut them); the same signals with impulses of random sign added are.
    The shape tests are checked where the count rule alone fires: with the scale
    median|r| alone (TIES 0, as before the floor: the plucks' and heel strikes' many
    exact-zero residuals made it 2-6x smaller, and the count rule fired on all 14)."""
    rng = np.random.default_rng(seed)
    clean = make(rng)
    sigma = level * np.std(clean)
    f = clean + rng.normal(0.0, sigma, clean.size)
    assert not hampel_stage(f, sigma).active and not hampel_stage(f).active
    with monkeypatch.context() as m:
        m.setattr(impulses, "TIES", 0.0)
        found, strong = impulses.find_impulses(f)[0]
        assert impulses._enough(strong.size, f.size)  # the count rule alone: impulsive
        assert not hampel_stage(f, sigma).active and not hampel_stage(f).active
    spikes = rng.random(f.size) < 0.01
    f[spikes] += (
        rng.choice([-1.0, 1.0], spikes.sum()) * rng.uniform(5, 15, spikes.sum()) * np.std(clean)
    )
    assert hampel_stage(f, sigma).active


def test_the_flip_test_is_exact_for_few_impulses(rng):
    """Up to 2 * FLIPS sign patterns: every one (the first sign kept: the length of the sum
    does not change when all flip), as a loop over all 2**k counts it."""
    import itertools

    for k in (2, 5, 9):
        shapes = rng.standard_normal((k, 6))
        observed = float(np.sum(shapes.sum(axis=0) ** 2))
        lengths = [
            np.sum((np.array(s) @ shapes) ** 2) for s in itertools.product((-1, 1), repeat=k)
        ]
        expected = np.mean([v >= observed * (1 - 1e-12) for v in lengths])
        assert impulses._flip_p_value(shapes, observed) == expected
        aligned = np.tile(shapes[:1], (k, 1))  # every shape the same: the smallest p
        assert impulses._flip_p_value(aligned, float(np.sum(aligned.sum(axis=0) ** 2))) == 2.0 ** (
            1 - k
        )


@st.composite
def short_spiky(draw, max_n=40):
    """A short signal (every sample within LOCAL of an end): noise, sometimes steps, and
    spikes of 10-1000 x the noise at random places, near the ends too."""
    n = draw(st.integers(2 * impulses.HALF + 1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    if draw(st.booleans()):
        x += np.where(np.arange(n) < draw(st.integers(0, n)), 0.0, 20.0)
    at = draw(st.lists(st.integers(0, n - 1), max_size=4, unique=True))
    x[at] += np.array([draw(st.sampled_from([-1.0, 1.0])) for _ in at]) * 10.0 ** draw(
        st.floats(1.0, 3.0)
    )
    return x


@settings(max_examples=150, deadline=None)
@given(short_spiky())
def test_impulse_masks_are_detect_impulses_near_the_ends(x):
    """audit16b B6: the fast masks (local scale only where a score can matter, its
    window reflected by ``_reflected``) are ``detect_impulses`` at both thresholds, on
    signals so short that every sample's local window reaches past an end."""
    fast = impulses._impulse_masks(x)
    np.testing.assert_array_equal(fast[0], detect_impulses(x, impulses.THRESHOLD))
    np.testing.assert_array_equal(fast[1], detect_impulses(x, impulses.STRONG))


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 60), st.integers(0, 2**32 - 1), st.data())
def test_an_impulse_at_an_end_is_replaced_by_the_reflected_median(n, seed, data):
    """audit16b B6: a sample in the first or last HALF is replaced by the median of its
    window of the signal padded by whole-sample reflection (numpy's ``reflect``, as
    running_median pads: ``-1`` is ``1``, ``n`` is ``n - 2``), clipped to its current
    neighbours, one after another.  The oracle is written here."""
    x = np.random.default_rng(seed).normal(0.0, 1.0, n)
    half = min(impulses.HALF, n - 1)
    ends = sorted({*range(min(half, n)), *range(max(0, n - half), n)})
    at = sorted(data.draw(st.lists(st.sampled_from(ends), min_size=1, unique=True)))
    x[at] += 100.0
    padded = np.pad(x, half, mode="reflect")
    expected = x.copy()
    for i in at:
        nb = [expected[j] for j in (i - 1, i + 1) if 0 <= j < n]
        expected[i] = np.clip(np.median(padded[i : i + 2 * half + 1]), min(nb), max(nb))
    np.testing.assert_array_equal(impulses._replace(x, np.array(at)), expected)
    mask = np.zeros(n, dtype=bool)
    mask[at] = True
    np.testing.assert_array_equal(impulses._replace(x, mask), expected)


@pytest.mark.parametrize("spikes, active", [(3, False), (8, True)])
def test_a_few_clicks_in_a_long_channel_are_not_impulsive(spikes, active):
    """audit16b B8: the rate rule, written out: a channel is impulsive with at least
    MIN_IMPULSES strong impulses making up more than 2e-4 of its samples (4 of 20 000).
    3 clicks of 40 noise levels (random signs) in 20 000 samples of white noise: found
    and strong, but too few for the rate, so the stage stays off; 8: on."""
    assert impulses.MIN_RATE == 2e-4 and impulses.MIN_IMPULSES == 2
    assert not impulses._enough(2, 20_000) and not impulses._enough(4, 20_000)
    assert impulses._enough(5, 20_000) and impulses._enough(2, 9_999)
    assert not impulses._enough(1, 10)
    rng = np.random.default_rng(8)
    f = rng.normal(0.0, 1.0, 20_000)
    at = rng.choice(np.arange(100, 19_900, 50), spikes, replace=False)
    f[at] += rng.choice([-1.0, 1.0], spikes) * 40.0
    found, strong = impulses.find_impulses(f)[0]
    assert set(at.tolist()) <= set(strong.tolist()) and strong.size == spikes
    assert hampel_stage(f).active is active
    assert hampel_stage(f, 1.0).active is active


def _spiked(clean, rng, level=0.1, rate=0.01):
    """White noise at ``level`` of the clean std and one-sample spikes of 5-15 std of random
    sign at ``rate``, as the quality benchmarks draw them; the spikes kept apart (an
    impulse is one sample: two next to each other are a two-sample feature)."""
    sd = np.std(clean)
    f = clean + rng.normal(0.0, level * sd, clean.size)
    where = np.flatnonzero(rng.random(clean.size) < rate)
    where = where[np.diff(where, prepend=-5) > 2]
    f[where] += rng.choice([-1.0, 1.0], where.size) * rng.uniform(5, 15, where.size) * sd
    return f, where


def _monotone_in_windows(n=3000):
    """Series the running median follows exactly through most 7-sample windows at 10 %
    noise: a fast cycle (periods 19 and 27) on a trend, a triangle wave (runs of 14),
    integer steps rounded."""
    t = np.arange(n)
    yield "cycle", np.sin(2 * np.pi * t / 27.0) + 0.6 * np.sin(2 * np.pi * t / 19.0 + 1) + t / n
    yield "triangle", np.abs((t % 28) - 14.0)  # monotone runs of 14 samples
    steps = np.repeat(np.random.default_rng(4).integers(0, 10, n // 100 + 1), 100)[:n]
    yield "integer steps", steps.astype(float)


@pytest.mark.parametrize("name, clean", list(_monotone_in_windows()))
def test_a_scale_of_zero_does_not_silence_the_detector(name, clean):
    """Over half of the running median's residuals are exactly 0 (the samples run
    monotonically through their windows, or repeat once rounded), so median|r| is 0;
    before, that silenced the detector (no impulse found, the pre-stage off) however
    loud the spikes.  Now the scale is read from the residuals that are not 0: every
    spike is found, nothing else, and the pre-stage cuts the error more than 10x.
    Fails before: 0 impulses found on all three."""
    rng = np.random.default_rng(21)
    rounded = name == "integer steps"
    f, where = _spiked(clean, rng)
    f = np.round(f) if rounded else f
    r = impulses.median_residual(f)
    assert impulses.median_of(r) == 0.0  # the case: over half the residuals exactly 0
    found = np.flatnonzero(detect_impulses(f))
    assert set(found) == set(where)
    stage = hampel_stage(f, 0.1 * np.std(clean))
    assert stage.active and stage.impulses == (where.size,)
    err = np.mean((stage.apply(f) - clean) ** 2) / np.mean((f - clean) ** 2)
    assert err < 0.1, err


@pytest.mark.parametrize("name, clean", list(_monotone_in_windows()))
def test_a_scale_of_zero_does_not_make_samples_impulses(name, clean):
    """The same series without spikes (clean, in white noise at 5-30 %, rounded where they
    are integers, in pink noise): not impulsive, the input kept bit for bit."""
    rng = np.random.default_rng(22)
    rounded = name == "integer steps"
    sd = np.std(clean)
    pink = np.cumsum(rng.standard_normal(clean.size))  # brown: a stronger low end still
    noisy = [clean] + [clean + rng.normal(0.0, lv * sd, clean.size) for lv in (0.05, 0.1, 0.3)]
    noisy.append(clean + 0.1 * sd * (pink - pink.mean()) / np.std(pink))
    for f in noisy:
        f = np.round(f) if rounded else f
        for sigma in (None, 0.1 * sd):
            stage = hampel_stage(f, sigma)
            assert not stage.active, (name, stage.impulses)
            np.testing.assert_array_equal(stage.apply(f), f)


def test_the_whole_scale_reads_the_residuals_that_are_not_zero(rng):
    """whole_scale: median|r|, at least TIES times the median of the nonzero |r|; on white
    noise (1/7 of the residuals 0) that floor is 0.99 of median|r|, within 4 %."""
    r = impulses.median_residual(rng.standard_normal(200_000))
    med = impulses.median_of(r)
    assert med <= impulses.whole_scale(r) <= 1.04 * med
    r = np.array([0.0] * 6 + [1.0, 2.0, 3.0])  # median 0; the nonzero ones' median 2
    assert impulses.whole_scale(r) == impulses.TIES * 2.0
    assert impulses.whole_scale(np.zeros(9)) == 0.0
    assert np.isnan(impulses.whole_scale(np.array([np.nan, 1.0, 2.0])))


def test_a_spikes_neighbours_are_heard_without_it():
    """On a steep ramp (steps of 1, noise 0.1) the running median follows the samples
    exactly; a spike shifts the medians of the samples after it by one step, many scales
    (the scale is read in the flat part before): they are loud, even above THRESHOLD, and
    the spike did not count as isolated.  Taken again without the spike their residuals
    are 0: the spike is an impulse, they are not.  A two-sample bump on the same ramp
    stays a feature.  Fails before: found [9, 340] (noise in the flat part), not 750."""
    rng = np.random.default_rng(3)
    x = np.concatenate([np.zeros(600), np.arange(300.0)]) + rng.normal(0.0, 0.1, 900)
    x[750] += 60.0
    x[800:802] += 60.0
    r = impulses.median_residual(x)
    assert r[751] > 0.5 > 5 * np.median(r[:600])  # loud: one step, the flat part has 0.05
    assert np.flatnonzero(detect_impulses(x)).tolist() == [750]
    assert np.flatnonzero(impulses._impulse_masks(x)[0]).tolist() == [750]


def _clicks(rng, n=4000, k=4):
    """A decaying tone struck every 1000 samples, a one-sample click at each strike, in
    white noise: k clicks of the same sign on the same onset."""
    x, t = np.zeros(n), np.arange(n)
    for i in range(0, k * 1000, 1000):
        x[i + 50 :] += np.cos(2 * np.pi * (t[i + 50 :] - i) / 40.0) * np.exp(
            -(t[i + 50 :] - i) / 150.0
        )
        x[i + 50] += 3.0
    return x + rng.normal(0.0, 0.03, n)


def test_a_few_recurring_clicks_are_held_against_random_places():
    """With fewer than FEW impulses the sign-flip test cannot reach its level (all of k
    signs agree with probability 2**(1 - k)), and the count rule alone called 4 clicks on
    the same onset impulsive.  Their signed surroundings agree more than those of 4
    random places with random signs: not independent of the signal.  4 spikes of random
    sign at random places of the same signal are.  Fails before: the clicks' stage on."""
    rng = np.random.default_rng(5)
    x = _clicks(rng)
    found, strong = impulses.find_impulses(x)[0]
    assert found.tolist() == strong.tolist() == [50, 1050, 2050, 3050]
    assert impulses.independent_impulses(x, found, strong) == 0
    assert not hampel_stage(x).active and not hampel_stage(x, 0.03).active
    y = _clicks(np.random.default_rng(5))
    at = np.array([620, 1391, 2707, 3481])
    y[at] += np.array([1.0, -1.0, -1.0, 1.0]) * 3.0
    y[found] -= 3.0  # no clicks
    found, strong = impulses.find_impulses(y)[0]
    assert found.tolist() == at.tolist()
    assert impulses.independent_impulses(y, found, strong) == 4
    assert hampel_stage(y, 0.03).active


def test_lone_residuals_of_quantised_data_are_measured_by_its_grid_step():
    """Integer steps whose noise rounds away: the running median reproduces every sample
    but the spikes, so the nonzero residuals are the spikes' own and their median hid
    them (0 found).  On data on a grid the grid's step is the scale where most nonzero
    residuals are lone: every spike is found.  One-step flickers (a reading toggling
    between two codes) are not impulses.  Fails before: 0 found."""
    n = 3000
    clean = np.repeat(np.random.default_rng(4).integers(0, 10, n // 100 + 1), 100)[:n] * 1.0
    f, where = _spiked(clean, np.random.default_rng(23), level=0.02)
    f = np.round(f)
    r = impulses.median_residual(f)
    assert np.count_nonzero(r) <= where.size + 2  # the spikes' (and two next to a step)
    assert set(np.flatnonzero(detect_impulses(f))) == set(where)
    assert impulses._grid_step(f) == 1.0 and impulses.whole_scale(r, f) == 1.0
    assert hampel_stage(f, 0.02 * np.std(clean)).active
    flicker = clean.copy()
    flicker[np.random.default_rng(6).choice(n, 40, replace=False)] += 1.0
    assert not np.flatnonzero(detect_impulses(flicker)).size
    assert not hampel_stage(flicker).active


def test_the_grid_step_of_quantised_samples():
    """_grid_step: the smallest difference over 1-GRID_DIVISORS of which every difference is
    a whole multiple; None for samples off any such grid."""
    x = np.array([3.0, 5.0, 8.0, 8.0, 2.0])  # differences 2, 3, 6: the grid is 1
    assert impulses._grid_step(x) == 1.0
    assert impulses._grid_step(np.arange(50) % 7 * 0.1) == pytest.approx(0.1)
    assert impulses._grid_step(np.random.default_rng(0).standard_normal(100)) is None
    assert impulses._grid_step(np.ones(10)) is None
