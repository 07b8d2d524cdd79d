"""The windowed search of long signals: windows of the signal as channels, SURE on
their cores, a shorter horizon and ties by the paired standard error."""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import replace

import numpy as np
import pytest

from resdenoise import autoparams, engine, pairs, search_windows, stability, stopping_search
from resdenoise.autoparams import choose_parameters, choose_steps, sample_windows
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.sure import ScoredWindows, gain_from_sums, sure_probe, sure_stack

N = 6000
SIGMA = 0.2
CAP = 800


def _signal(kind: str) -> np.ndarray:
    rng = np.random.default_rng({"steps": 1, "sensor": 2, "smooth": 3}[kind])
    t = np.arange(N)
    if kind == "steps":
        clean = np.sign(np.sin(2 * np.pi * t / 1100.0))
    elif kind == "sensor":  # a level that jumps by random amounts at random times
        clean = np.cumsum(np.where(rng.random(N) < 1 / 150, rng.uniform(-2, 2, N), 0.0))
    else:
        clean = np.sin(2 * np.pi * 3 * t / N) + 0.5 * np.sin(2 * np.pi * 20 * (t / N) ** 2)
    return clean + SIGMA * rng.standard_normal(N)


@pytest.fixture
def windowed(monkeypatch):
    """Windows on a short signal: 6 cores of 256 samples, halos of 4 sqrt(800) = 114."""
    monkeypatch.setattr(search_windows, "WINDOW_CORE", 256)
    monkeypatch.setattr(search_windows, "WINDOW_SAMPLES", 1536)
    monkeypatch.setattr(search_windows, "WINDOW_MAX_SHARE", 0.5)
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)  # the rules of a long signal
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)


def _oracle(f: np.ndarray):
    """Every lambda candidate and block count 0..CAP, by SURE on the whole signal written
    out here (its own probe): ``(table[lambda][k], its standard error at the best)``."""
    lam_u = math.sqrt(2.0) * SIGMA * math.sqrt(2.0 * math.log(N))
    b = np.random.default_rng(99).standard_normal(N)
    eps = SIGMA / 2
    stack = np.stack([f, f + eps * b], axis=1)
    table, terms = {}, {}
    for j in range(17):
        lam = lam_u * 2.0 ** (-j / 2)
        nl = get_nonlinearity("perona-malik", "diffusivity", lam)
        rows = [(f - f) ** 2 - SIGMA**2 + 2 * SIGMA**2 * b * b]

        def keep(k, u, rows=rows):
            rows.append(
                (f - u[:, 0]) ** 2 - SIGMA**2 + 2 * SIGMA**2 * b * (u[:, 1] - u[:, 0]) / eps
            )

        run_blocks(stack, nl, stability.default_tau(nl, 1.0), CAP, callback=keep)
        table[lam] = np.array([r.mean() for r in rows])
        terms[lam] = rows
    lam, k = min(
        ((lam, int(np.argmin(v))) for lam, v in table.items()), key=lambda p: table[p[0]][p[1]]
    )
    means = np.array([m.mean() for m in np.array_split(terms[lam][k], 32)])
    return table, float(np.std(means, ddof=1) / math.sqrt(32))


@pytest.mark.parametrize("kind", ["steps", "sensor", "smooth"])
def test_the_windowed_choice_is_within_one_standard_error_of_the_exhaustive_one(windowed, kind):
    f = _signal(kind)
    assert sample_windows(f[:, None], np.array([SIGMA]), CAP) is not None  # windowed
    choice = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA)
    assert choice.stopping.samples == 6 * 256
    table, se = _oracle(f)
    best = min(float(v.min()) for v in table.values())
    lam = min(table, key=lambda x: abs(x - choice.nl.lam))
    assert lam == pytest.approx(choice.nl.lam, rel=1e-12)
    assert table[lam][choice.steps] <= best + se


def test_windowed_sure_is_the_whole_signals_sure_on_the_cores(windowed):
    """Up to halo blocks the cores see nothing of the windows' ends: the windowed
    criterion is the weighted sum of SURE of the whole signal's run on each core
    (the probe equal there)."""
    f = _signal("steps")
    starts, length, halo, weights = sample_windows(f[:, None], np.array([SIGMA]), CAP)
    assert weights.sum() == pytest.approx(1.0, rel=1e-12)
    wins = np.stack([f[s : s + length] for s in starts], axis=1)
    sigma = np.full(len(starts), SIGMA)
    b, eps, _ = sure_stack(wins, sigma)
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.4)
    choice = choose_steps(
        wins, nl.phi, 0.25, max_blocks=halo, sigma=sigma, horizon=math.inf,
        windows=ScoredWindows((halo, length - halo), weights),
    )  # fmt: skip
    for k in (0, 1, 7, halo):
        expected = 0.0
        for w, (s, weight) in enumerate(zip(starts, weights, strict=True)):
            probe = np.zeros(N)  # the window's probe in place (windows may overlap)
            probe[s : s + length] = b[:, w]
            u = run_blocks(np.stack([f, f + eps[0] * probe], axis=1), nl, 0.25, k)
            core = slice(s + halo, s + length - halo)
            d = u[core, 1] - u[core, 0]
            terms = (f[core] - u[core, 0]) ** 2 - SIGMA**2 + 2 * SIGMA**2 * probe[core] * d / eps[0]
            expected += weight * terms.mean()
        got = choice.criterion[choice.blocks.index(k)]
        assert got == pytest.approx(expected, rel=1e-11, abs=1e-15)


def test_a_windowed_search_evaluates_sure_every_block_to_8_then_16_percent_apart(windowed):
    """The windows rank lambda (the refine settles the blocks on the whole signal): SURE
    after every block up to 8, then on a geometric grid stopping_search.WINDOW_GRID (16 %)
    apart, not 8 % (the grid of each lambda's windowed search, as choose_parameters runs it)."""
    f = _signal("smooth")
    choice = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA)
    assert choice.stopping.samples == 6 * 256  # windowed (the refine's blocks: its own)
    nl = choice.nl
    starts, length, halo, weights = sample_windows(f[:, None], np.array([SIGMA]), CAP)
    wins = np.stack([f[s : s + length] for s in starts], axis=1)
    windows = ScoredWindows((halo, length - halo), weights)
    search = choose_steps(
        wins, nl.phi, choice.tau, max_blocks=CAP, sigma=np.full(len(starts), SIGMA),
        windows=windows, horizon=math.inf,
    )  # fmt: skip
    blocks = np.array(search.blocks)
    assert list(blocks[:9]) == list(range(9))
    assert stopping_search.WINDOW_GRID == 1.16
    expected = stopping_search._checkpoints(CAP, 1.16, 8)
    assert list(blocks[1:]) == list(expected[: len(blocks) - 1])
    big = blocks[(blocks >= 40) & (blocks < CAP)]  # beyond the rounding of small counts
    ratios = big[1:] / big[:-1]
    assert len(ratios) > 5 and np.all((ratios > 1.13) & (ratios < 1.19))


def test_the_windowed_search_is_deterministic_and_reports_the_signals_noise(windowed):
    f = np.stack([_signal("steps"), 2.0 * _signal("sensor")], axis=1)
    one = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP)
    two = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP)
    assert (one.nl.lam, one.steps, one.candidates) == (two.nl.lam, two.steps, two.candidates)
    assert len(one.stopping.sigma) == 2  # per channel of the signal, not per window
    assert one.stopping.output is None  # kept only when asked (the planner's plan)
    kept = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, keep=True)
    assert kept.stopping.output.shape == f.shape and kept.steps == one.steps
    # the kept run's gain sums: the gain test written out (the kept output, its probe
    # run again here), and the search's own gain at its level
    from resdenoise.automatic import gain_test
    from resdenoise.filters import plan_diffuse
    from resdenoise.noise import resolve_sigma

    sums, sigma = kept.stopping.gain_sums, np.array(kept.stopping.sigma)
    b, eps = sure_probe(f, sigma)
    plan = plan_diffuse(kept.nl, steps=kept.steps, tau=kept.tau)
    up = plan.run(f + eps * b)
    terms = np.sum((f - kept.stopping.output) ** 2 - 2 * sigma**2, axis=1) + np.sum(
        2 * sigma**2 * b * (up - kept.stopping.output) / eps, axis=1
    )
    k = sums.shape[1]
    means = [t.mean() for t in np.array_split(terms, k)]
    written = (terms.mean(), np.std(means, ddof=1) / math.sqrt(k))
    # (the refine's probe of the whole signal runs in float32, sure.float32_shift: its
    # rounding far below the estimate's own noise, the standard error)
    got = gain_from_sums(sums, sigma, len(f))
    assert got[0] == pytest.approx(written[0], abs=1e-4 * written[1])
    assert got[1] == pytest.approx(written[1], rel=1e-4)
    assert got[0] == pytest.approx(kept.tested[0], rel=1e-12)
    level = resolve_sigma(f, sigma)
    assert gain_test(plan, f, level) == pytest.approx(written, rel=1e-9)  # a run of its own
    assert one.as_dict()["search_samples"] == 6 * 256
    whole = choose_parameters(f[:1000], "perona-malik", "diffusivity", max_blocks=CAP)
    assert whole.as_dict()["search_samples"] == 1000  # too short for windows


def test_sample_windows_oversample_the_rare_active_segments():
    """14 edges in 1e6 samples: a plain sample of 16 cores (3 %) would see about one
    half of an edge; the active segments (those with an edge) get half the windows,
    weighted by their share, and the windows are seeded, inside the signal."""
    n, period = 10**6, 10**6 // 7
    clean = np.where(np.sin(2 * np.pi * np.arange(n) / period) >= 0, 1.0, -1.0)
    f = clean + 0.1 * np.random.default_rng(5).standard_normal(n)
    starts, length, halo, weights = sample_windows(f[:, None], np.array([0.1]), 20000)
    assert halo == math.ceil(autoparams.WINDOW_HALO * math.sqrt(20000))
    assert length == autoparams.WINDOW_CORE + 2 * halo
    assert np.all(starts >= 0) and np.all(starts + length <= n)
    assert np.all(np.diff(starts) >= autoparams.WINDOW_CORE)  # distinct segments
    edges = np.flatnonzero(np.diff(clean))
    seen = [np.any((edges >= s + halo) & (edges < s + length - halo)) for s in starts]
    assert sum(seen) == len(starts) // 2
    core = autoparams.WINDOW_CORE
    segments = (n - 2 * halo) // core
    with_edge = len({(e - halo) // core for e in edges if halo <= e < halo + segments * core})
    drawn = len(starts) // 2
    active = {round(w * drawn * segments) for w, e in zip(weights, seen, strict=True) if e}
    assert active == {with_edge}
    assert weights.sum() == pytest.approx(1.0, rel=1e-12)
    again = sample_windows(f[:, None], np.array([0.1]), 20000)
    assert np.array_equal(starts, again[0]) and np.array_equal(weights, again[3])
    assert sample_windows(f[:20000, None], np.array([0.1]), 20000) is None  # too short


def test_a_lower_sure_within_its_paired_noise_is_a_tie(rng):
    parts = rng.standard_normal(64)
    base = autoparams.StoppingChoice(1, "sure", (1.0,), (0, 1), (0.0, 1.0), False)
    old = replace(base, criterion=(0.0, float(parts.sum())), best_parts=parts)
    noise = 0.01 * rng.standard_normal(64)
    slightly = parts - 1e-4 + noise  # lower by 64e-4 in total, its SE about 0.08
    clearly = parts - 0.01 + noise  # lower by 0.64
    for new, expected in ((slightly, False), (clearly, True)):
        choice = replace(base, criterion=(0.0, float(new.sum())), best_parts=new)
        assert autoparams.clearly_lower(choice, old) is expected


@pytest.mark.parametrize("probe", ["whole", "windows"])
@pytest.mark.parametrize("channels", [1, 2])
def test_the_plan_reuses_the_searchs_run_with_the_same_bits(windowed, monkeypatch, channels, probe):
    """The windowed search's exact run on the whole signal is the plan's output: the
    same numbers as running the plan (channels run apart), and only for that input;
    with the refine's probe on the whole signal or on windows of it."""
    from dataclasses import replace

    from resdenoise.filters import as_identity
    from resdenoise.pipeline import planner

    monkeypatch.setattr(autoparams, "MAX_BLOCKS", CAP)
    monkeypatch.setattr(
        search_windows, "REFINE_WINDOWS_COST", math.inf if probe == "windows" else 0
    )
    f = _signal("sensor") if channels == 1 else np.stack([_signal("sensor"), _signal("steps")], 1)
    plan, extra = planner("diffuse", "perona-malik", lam="auto", time="auto")(f)
    assert plan.computed is not None and extra["search_samples"] == 6 * 256
    fresh = replace(plan, computed=None).run(f)
    seen = []
    out = plan.run(f, callback=lambda k, u: seen.append(k))
    assert out.shape == f.shape and np.array_equal(out, fresh)
    assert seen == [plan.steps]
    other = f.copy()
    other[100] += 1.0  # not the signal it was planned for: run
    np.testing.assert_array_equal(plan.run(other), replace(plan, computed=None).run(other))
    assert not np.array_equal(plan.run(other), out)
    assert plan.run(f.astype(np.float32)).dtype == np.float32  # another precision: run
    assert as_identity(plan).computed is None


def test_the_reused_run_keeps_the_impulse_prestage(windowed, monkeypatch):
    from dataclasses import replace

    from resdenoise.pipeline import planner

    monkeypatch.setattr(autoparams, "MAX_BLOCKS", CAP)
    f = _signal("steps")
    f[np.arange(37, N, 401)] += 25.0  # isolated spikes: the pre-stage comes on
    plan, extra = planner("diffuse", "perona-malik", lam="auto", time="auto")(f)
    assert plan.prestage is not None and plan.computed is not None
    assert np.array_equal(plan.run(f), replace(plan, computed=None).run(f))


@pytest.mark.parametrize("kind", ["sensor", "smooth"])
def test_the_refine_stops_at_the_first_checkpoint_past_its_best(windowed, kind):
    """The whole-signal refine looks one checkpoint (20 %) past its best, no further:
    its run costs the plan's blocks and a fifth more (the signal, and its probe on
    windows of about half of it, or on all of it where windows would cost more)."""
    choice = choose_parameters(_signal(kind), "perona-malik", "diffusivity", max_blocks=CAP)
    s = choice.stopping
    assert s.steps >= 22  # where the rounded grid is 20 % apart
    past = s.blocks[s.blocks.index(s.steps) + 1]
    assert s.blocks[-1] == past and past == pytest.approx(autoparams.REFINE_RATIO * s.steps, abs=2)


def test_a_whole_signal_search_goes_on_while_sure_falls():
    """Below the windows' length the tie rule does not apply: the lambda search stops
    only after LAMBDA_PATIENCE candidates in a row with no lower SURE (or at the end
    of the grid or the budget).  On a noisy piecewise-constant trace with tanh, SURE
    is nearly flat over the first lambdas (all but linear) and then falls steeply; a
    tie rule stopped after three candidates with an error 1.8x the one found here."""
    rng = np.random.default_rng(6)
    n, levels, clean = 4096, [20.0], np.empty(4096)
    pos = 0
    while pos < n:  # levels held for random times
        dwell = int(rng.geometric(1 / 200))
        clean[pos : pos + dwell] = levels[-1]
        levels.append(round(levels[-1] + rng.choice([-1, 1]) * rng.uniform(0.5, 3.0), 1))
        pos += dwell
    f = clean + 0.25 * clean.std() * np.random.default_rng(0).standard_normal(n)
    assert sample_windows(f[:, None], np.array([1.0]), autoparams.MAX_BLOCKS) is None
    choice = choose_parameters(f, "tanh", "activation")
    criteria = [c["criterion"] for c in choice.candidates]
    spent = sum(c["blocks_searched"] for c in choice.candidates)
    grid_ended = len(criteria) == len(autoparams.LAMBDA_FACTORS)
    budget_spent = spent >= autoparams.SEARCH_BUDGET * autoparams.MAX_BLOCKS
    patience = autoparams.LAMBDA_PATIENCE
    assert len(criteria) > patience
    if not (grid_ended or budget_spent):
        assert min(criteria[-patience:]) >= min(criteria[:-patience])
    assert choice.stopping.best == min(criteria)


def test_a_window_search_cut_short_reports_how_far_the_refine_ran():
    """The windows' search of the last lambda may be cut short by the budget (here at
    700 of a cap of 800); the refine on the whole signal then runs on to the cap, and
    the cap warning names how far the search went, not the windows' shorter count
    (before: "stopped at its cap of 700 blocks with its best at 800")."""
    f = _signal("steps")
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.5)
    tau = stability.default_tau(nl, 1.0)
    cut = autoparams.StoppingChoice(
        690, "sure", (SIGMA,), (0, 690, 700), (1.0, 0.5, 0.51), True, stopped_by="cap"
    )
    best = autoparams.AutoChoice(nl, tau, cut, "given", ())
    stopping, _ = autoparams._refine(f, best, 1.0, np.array([SIGMA]), CAP, False)
    assert stopping.blocks[-1] == CAP and stopping.steps > cut.blocks[-1]
    assert stopping.blocks_searched == CAP
    (warning,) = replace(best, stopping=stopping).warnings()
    assert f"cap of {CAP} blocks with its best at {stopping.steps}" in warning


@pytest.mark.parametrize("name", ["perona-malik", "charbonnier", "tanh"])
@pytest.mark.parametrize("rows", [700, 3000, 8000])
def test_a_wide_stack_runs_in_channel_groups_with_the_same_bits(rng, name, rows):
    """StackRun runs more than CHANNEL_GROUP channels in groups where the engine is
    compiled (Perona-Malik's AVX2 loop takes at most 4) and the advance is long enough
    (GROUP_BLOCKS): the numbers of one run of the whole stack, bit for bit, advance
    after advance, grouped or not; the stack itself is left alone.  700 x 10 and
    3000 x 10 values run the whole stack through a kept InPlaceRun (one tile: at most
    COMPILED_TILE_VALUES, or UNTILED_VALUES with a short run), 8000 x 10 through
    run_blocks' tiles."""
    stack = rng.standard_normal((rows, 10))
    before = stack.copy()
    nl = get_nonlinearity(name, "diffusivity", 0.7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    compiled = engine.backend_for(nl.phi) == "compiled"
    assert len(running.groups) == (3 if compiled else 0)
    whole, done = stack, 0
    for k in (1, 3, 3 + engine.GROUP_BLOCKS, 4 + engine.GROUP_BLOCKS, 90):
        got = running.advance(k - done)
        whole = run_blocks(whole, nl, 0.2, k - done)
        done = k
        np.testing.assert_array_equal(got, whole)
    np.testing.assert_array_equal(stack, before)
    assert ((stack.shape, 0) in running.runs) == (rows * 10 <= engine.UNTILED_VALUES)


@pytest.mark.parametrize("rows, channels", [(700, 2), (8000, 2), (3000, 10), (8000, 10)])
def test_an_advance_that_keeps_leaves_the_stack_before_it(rng, rows, channels):
    """``advance(keep=True)`` (a search holding its best checkpoint) writes its blocks
    into a second buffer: the stack before it is unchanged until the next advance that
    keeps, also across advances that do not, and every advance gives the numbers of
    one run, bit for bit (one tile, run_blocks' tiles, channel groups)."""
    stack = rng.standard_normal((rows, channels))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    whole, done, got = stack, 0, None
    held = want = None
    for k, keep in ((3, False), (5, True), (9, False), (40, False), (41, True), (80, True)):
        if keep:
            held, want = got, got.copy()
        got = running.advance(k - done, keep=keep)
        whole = run_blocks(whole, nl, 0.2, k - done)
        done = k
        np.testing.assert_array_equal(got, whole)
        if held is not None:
            assert got is not held
            np.testing.assert_array_equal(held, want)


@pytest.mark.parametrize("rows, channels", [(3000, 1), (5000, 2), (40, 1)])
def test_an_advance_beside_another_run_splits_the_rows_with_the_same_bits(
    rng, monkeypatch, rows, channels
):
    """``advance_beside`` (the refine: the whole signal here, its probe windows on the
    helper thread): the helper runs the last rows too, with a halo, and every advance
    gives the numbers of one run, bit for bit, keeping or not, the stack before an
    advance that keeps left alone; ``other``'s result comes back.  Too short a stack
    for the cut (40 rows, 30 blocks) runs whole beside ``other``."""
    monkeypatch.setattr(pairs, "_cpu_count", lambda: 2)
    stack = rng.standard_normal((rows, channels))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    sides = []
    slab = engine.StackRun._slab
    monkeypatch.setattr(
        engine.StackRun,
        "_slab",
        lambda self, part, b, side: sides.append(side) or slab(self, part, b, side),
    )

    @pairs.helping
    def advances():
        whole, done, got, held, want = stack, 0, None, None, None
        for k, keep in ((1, False), (3, True), (9, False), (39, False), (40, True), (70, True)):
            if keep:
                held, want = got, got.copy()
            got, told = running.advance_beside(
                k - done, functools.partial(int, k), rows // 3, keep, work=1 << 30
            )
            whole = run_blocks(whole, nl, 0.2, k - done)
            done = k
            assert told == k
            np.testing.assert_array_equal(got, whole)
            if held is not None:
                assert got is not held
                np.testing.assert_array_equal(held, want)

    advances()
    assert sides.count(1) == sides.count(0) == (6 if rows > 40 else 4)
    # the split parts and a whole advance share one kept run a side (no second full size)
    running.advance(2)
    assert set(running.runs) == {(stack.shape, 0), (stack.shape, 1)}


def test_a_stack_given_away_runs_in_place(rng):
    """``own``: the search's fresh stack is run where it is, not copied first."""
    stack = rng.standard_normal((500, 2))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    expected = run_blocks(stack, nl, 0.2, 7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0, own=True)
    assert running.advance(7) is stack
    np.testing.assert_array_equal(stack, expected)


@pytest.mark.parametrize("rule", ["sure", "noise2self", "decorrelation"])
def test_a_shared_probe_gives_the_same_search(rule):
    """A lambda search makes the probe once for all its candidates (``probe``): the
    same choice, curve and output as each search making its own, and the shared
    stack is not changed by the searches."""
    f = _signal("sensor")[:2000].reshape(-1, 1)
    sigma = np.array([SIGMA])
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.5)
    own = choose_steps(f, nl.phi, 0.2, 1.0, rule, 300, sigma, keep=True)
    probe = sure_stack(f, sigma) if rule == "sure" else None
    kept = None if probe is None else probe[2].copy()
    shared = choose_steps(f, nl.phi, 0.2, 1.0, rule, 300, sigma, keep=True, probe=probe)
    assert (shared.steps, shared.blocks, shared.criterion) == (own.steps, own.blocks, own.criterion)
    np.testing.assert_array_equal(shared.output, own.output)
    if probe is not None:
        np.testing.assert_array_equal(probe[2], kept)


def test_the_windowed_search_chooses_the_same_in_channel_groups(windowed, monkeypatch):
    """6 windows and their probes are 12 channels: grouped by 4, or run as one array,
    the search sees the same SURE at every checkpoint and makes the same choice."""
    f = _signal("sensor")
    grouped = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, keep=True)
    monkeypatch.setattr(engine, "CHANNEL_GROUP", 1 << 20)
    whole = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, keep=True)
    assert grouped.candidates == whole.candidates  # every candidate's windowed search
    assert (grouped.nl.lam, grouped.steps, grouped.tested) == (
        whole.nl.lam,
        whole.steps,
        whole.tested,
    )
    assert grouped.stopping.criterion == whole.stopping.criterion
    np.testing.assert_array_equal(grouped.stopping.output, whole.stopping.output)


def test_an_advance_beside_counts_the_rows_that_go_to_the_helper(rng, monkeypatch):
    """The helper runs ``other`` and the stack's last rows (with their halo): the work
    that decides the pair (:func:`resdenoise.pairs.in_parallel`) counts both, so that a
    pair whose windows alone are below PAIR_WORK but pay with the rows is not refused;
    the same numbers either way."""
    monkeypatch.setattr(pairs, "_cpu_count", lambda: 2)
    stack = rng.standard_normal((6000, 2))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    told, real = [], engine.in_parallel

    def spy(first, second, work=math.inf):
        told.append(work)
        return real(first, second, work)

    monkeypatch.setattr(engine, "in_parallel", spy)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    windows = pairs.PAIR_WORK // 2
    got, where = pairs.helping(running.advance_beside)(30, threading.get_ident, 3000, work=windows)
    assert told == [windows + (3000 + 30) * 2 * 30] and told[0] >= pairs.PAIR_WORK
    assert where != threading.get_ident()  # on the helper
    np.testing.assert_array_equal(got, run_blocks(stack, nl, 0.2, 30))


def test_an_advance_beside_a_run_in_turn_runs_the_stack_whole(rng, monkeypatch):
    """Where the pair would not go to the helper (work below PAIR_WORK, one thread, no
    scope), ``advance_beside`` runs the stack as one slab and ``other`` in turn: no cut,
    no copy of the last rows, the same numbers (keeping or not) as one run."""
    monkeypatch.setattr(pairs, "_cpu_count", lambda: 2)
    stack = rng.standard_normal((3000, 2))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    sizes = []
    slab = engine.StackRun._slab
    monkeypatch.setattr(
        engine.StackRun,
        "_slab",
        lambda self, part, b, side: sizes.append((len(part), side)) or slab(self, part, b, side),
    )

    @pairs.helping
    def advances():
        whole, done, held, want, got = stack, 0, None, None, None
        for k, keep in ((1, False), (4, True), (9, True), (20, False)):
            if keep:
                held, want = got, got.copy()
            got, told = running.advance_beside(k - done, functools.partial(int, k), 1000, keep, 0)
            whole = run_blocks(whole, nl, 0.2, k - done)
            done = k
            assert told == k
            np.testing.assert_array_equal(got, whole)
            if held is not None:
                np.testing.assert_array_equal(held, want)

    advances()
    assert sizes == [(3000, 0)] * 4 and running.tail is None
