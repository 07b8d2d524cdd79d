"""A windowed lambda search's halos sized for the blocks it runs (WINDOW_REACH, then the
cap), and its first two candidates searched at once on two threads: the numbers of the
candidates one after the other."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_pairs import spy_pairs

from resdenoise import autoparams, pairs, search_windows, stopping_search
from resdenoise.autoparams import choose_parameters, choose_steps, sample_windows
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.sure import PastReach, ScoredWindows

N, SIGMA, CAP = 6000, 0.2, 800


def _sensor(seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clean = np.cumsum(np.where(rng.random(N) < 1 / 150, rng.uniform(-2, 2, N), 0.0))
    return clean + SIGMA * rng.standard_normal(N)


@pytest.fixture
def windowed(monkeypatch):
    """Windows on a short signal: 6 cores of 256 samples, halos of 4 sqrt(800) = 114
    rows for the cap, 4 sqrt(64) = 32 for a reach of 64 blocks."""
    monkeypatch.setattr(search_windows, "WINDOW_CORE", 256)
    monkeypatch.setattr(search_windows, "WINDOW_SAMPLES", 1536)
    monkeypatch.setattr(search_windows, "WINDOW_MAX_SHARE", 0.5)
    monkeypatch.setattr(autoparams, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(stopping_search, "EXHAUSTIVE_BUDGET", 0)
    monkeypatch.setattr(autoparams, "WINDOW_REACH", 64)


def _searches(monkeypatch):
    """Each windowed choose_steps call's stack rows, probe and blocks run ("past" where
    it ran past its reach)."""
    seen = []
    real = autoparams.choose_steps

    def spy(f, *args, **kwargs):
        if kwargs.get("windows") is None:  # the refine's, on the whole signal
            return real(f, *args, **kwargs)
        try:
            out = real(f, *args, **kwargs)
        except PastReach:
            seen.append((f.shape[0], kwargs["probe"][0], "past"))
            raise
        seen.append((f.shape[0], kwargs["probe"][0], out.blocks[-1]))
        return out

    monkeypatch.setattr(autoparams, "choose_steps", spy)
    return seen


def test_a_search_past_its_windows_reach_raises(windowed):
    f = _sensor()[:, None]
    starts, length, halo, weights = sample_windows(f, np.array([SIGMA]), CAP)
    wins = np.concatenate([f[s : s + length] for s in starts.tolist()], axis=1)
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.4)
    sigma = np.full(len(starts), SIGMA)
    scored = ScoredWindows((halo, length - halo), weights, reach=30)
    with pytest.raises(PastReach):
        choose_steps(wins, nl.phi, 0.25, max_blocks=100, sigma=sigma, horizon=math.inf,
                     windows=scored)  # fmt: skip
    within = choose_steps(wins, nl.phi, 0.25, max_blocks=30, sigma=sigma, horizon=math.inf,
                          windows=scored)  # fmt: skip
    assert within.blocks[-1] == 30


@pytest.mark.parametrize("seed", [2, 5])
def test_narrow_halos_choose_as_the_caps_and_a_longer_search_widens_them(
    windowed, monkeypatch, seed
):
    """Candidates within the reach run on windows 2 x (114 - 32) rows shorter and choose
    as on the cap's windows, with SURE equal to 1e-9; one that runs further is searched
    again on the cap's windows, and so is every candidate after it."""
    f = _sensor(seed)
    seen = _searches(monkeypatch)
    narrow = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA)
    wide = max(rows for rows, _, _ in seen)
    trim = 114 - 32
    narrow_runs = [(b, blocks) for rows, b, blocks in seen if rows == wide - 2 * trim]
    assert narrow_runs and all(blocks == "past" or blocks <= 64 for _, blocks in narrow_runs)
    past = [i for i, (_, _, blocks) in enumerate(seen) if blocks == "past"]
    if past:  # the cap's windows from then on: the same probe, trimmed on the narrow
        assert all(rows == wide for rows, _, _ in seen[past[0] + 1 :])
        np.testing.assert_array_equal(seen[past[0]][1], seen[-1][1][trim:-trim])
    monkeypatch.setattr(autoparams, "WINDOW_REACH", CAP)
    cap = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA)
    assert (narrow.nl.lam, narrow.steps) == (cap.nl.lam, cap.steps)
    assert len(narrow.candidates) == len(cap.candidates)
    for a, b in zip(narrow.candidates, cap.candidates, strict=True):
        assert (a["lambda"], a["steps"], a["blocks_searched"]) == (
            b["lambda"], b["steps"], b["blocks_searched"],
        )  # fmt: skip
        assert a["criterion"] == pytest.approx(b["criterion"], rel=1e-9)


@pytest.mark.parametrize("shown", [False, True])
def test_the_first_two_candidates_at_once_give_the_search_one_after_the_other(
    windowed, monkeypatch, shown
):
    """Candidates 0 and 1 searched at once (the second on the helper thread, its
    progress replayed after the first's): the same candidates, choice, output and
    progress, in the same order, as one after the other."""
    f = _sensor()
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    helped = spy_pairs(monkeypatch, autoparams)
    runs = {}
    for name, least in (("alone", math.inf), ("paired", 0)):
        monkeypatch.setattr(pairs, "PAIR_WORK", least)
        calls = []
        tell = (lambda *a, calls=calls: calls.append(a)) if shown else None
        choice = choose_parameters(
            f, "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA, progress=tell,
            keep=True,
        )  # fmt: skip
        runs[name] = (choice, calls)
    assert helped[0] is False and helped[-1] is True
    (a, a_calls), (b, b_calls) = runs["alone"], runs["paired"]
    assert a.candidates == b.candidates and len(a.candidates) >= 2
    assert (a.nl.lam, a.steps, a.stopping.criterion) == (b.nl.lam, b.steps, b.stopping.criterion)
    np.testing.assert_array_equal(a.stopping.output, b.stopping.output)
    assert a_calls == b_calls and (
        not shown or {c[0] for c in a_calls} >= {"search 1/17", "search 2/17"}
    )


def test_a_failing_candidate_stops_the_one_beside_it(windowed, monkeypatch):
    """Candidate 0 fails here: candidate 1's search on the helper ends at its next
    checkpoint (it watches ``stop``), the failure is raised, and no helper is left."""
    import threading

    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    monkeypatch.setattr(pairs, "PAIR_WORK", 0)
    real, main = autoparams.choose_steps, threading.get_ident()
    beside = []

    def spy(f, *args, **kwargs):
        if threading.get_ident() == main:
            raise RuntimeError("candidate 0 fails")
        try:
            return real(f, *args, **kwargs)
        except BaseException as exc:
            beside.append(type(exc).__name__)
            raise

    monkeypatch.setattr(autoparams, "choose_steps", spy)
    with pytest.raises(RuntimeError, match="candidate 0 fails"):
        choose_parameters(_sensor(), "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA)
    assert beside == ["_Stopped"]
    assert not [t for t in threading.enumerate() if t.name == "resdenoise-helper"]


@pytest.mark.parametrize("seed", [2, 5])
def test_the_candidate_searched_beside_a_widening_one_is_searched_on_the_wide_windows(
    windowed, monkeypatch, seed
):
    """Candidate 0 runs past the reach (made to, on its narrow windows): candidate 1,
    searched beside it on the narrow windows, is searched again on the cap's, as one
    after the other does: the same candidates bit for bit, each kept from windows of the
    same rows (here the narrow windows' SURE of candidate 1 happens to equal the wide's)."""
    import threading

    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    f = _sensor(seed)
    real, main = autoparams.choose_steps, threading.get_ident()
    runs = {}
    for name, least in (("alone", math.inf), ("paired", 0)):
        monkeypatch.setattr(pairs, "PAIR_WORK", least)
        seen, first = [], []

        def spy(g, *args, seen=seen, first=first, **kwargs):
            if kwargs.get("windows") is None:
                return real(g, *args, **kwargs)
            if not first and threading.get_ident() == main:  # candidate 0's narrow search
                first.append(g.shape[0])
                raise PastReach
            out = real(g, *args, **kwargs)
            seen.append((out.best, out.blocks[-1], g.shape[0]))
            return out

        monkeypatch.setattr(autoparams, "choose_steps", spy)
        choice = choose_parameters(f, "perona-malik", "diffusivity", max_blocks=CAP, sigma=SIGMA)
        rows = [  # of each candidate's last search (the one it kept)
            [r for best, blocks, r in seen if (best, blocks) == (c["criterion"],
             c["blocks_searched"])][-1]
            for c in choice.candidates
        ]  # fmt: skip
        runs[name] = (choice, rows, first)
    (a, a_rows, a_first), (b, b_rows, b_first) = runs["alone"], runs["paired"]
    wide = a_first[0] + 2 * (114 - 32)
    assert a_first == b_first and len(a.candidates) >= 2
    assert a.candidates == b.candidates
    assert (a.nl.lam, a.steps, a.stopping.criterion) == (b.nl.lam, b.steps, b.stopping.criterion)
    assert a_rows == b_rows == [wide] * len(a.candidates)
