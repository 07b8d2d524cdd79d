"""Two independent runs of a search on the engine's helper thread at once
(:func:`resdenoise.engine.in_parallel`): the numbers of the runs one after the other,
bit for bit, in a stack's channel groups and in the refine's whole-signal run with its
probe windows."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from resdenoise import autoparams, engine, stability
from resdenoise.engine import in_parallel, run_blocks
from resdenoise.nonlinearities import get_nonlinearity


def spy_pairs(monkeypatch, module) -> list:
    """Whether each pair ``module`` asks for goes to the helper (its work enough)."""
    helped = []
    real = engine.in_parallel

    def spy(first, second, work=engine.PAIR_WORK):
        helped.append(work >= engine.PAIR_WORK)
        return real(first, second, work)

    monkeypatch.setattr(module, "in_parallel", spy)
    return helped


@pytest.fixture
def pairs(monkeypatch):
    """Every pair goes to the helper (no work too small), on two cores at least."""
    monkeypatch.setattr(engine, "PAIR_WORK", 0)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")


def test_the_second_runs_on_the_helper_thread_and_both_results_come_back(pairs):
    here = threading.get_ident()
    a, b = in_parallel(lambda: threading.get_ident(), lambda: threading.get_ident())
    assert a == here and b != here


def test_too_little_work_or_one_core_runs_both_here(monkeypatch):
    here = threading.get_ident()
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    assert in_parallel(threading.get_ident, threading.get_ident, 10) == (here, here)
    monkeypatch.setattr(engine, "PAIR_WORK", 0)
    monkeypatch.setenv("RESDENOISE_THREADS", "1")
    assert in_parallel(threading.get_ident, threading.get_ident) == (here, here)


def test_a_pair_inside_a_pair_runs_in_turn(pairs):
    """The helper is busy with the outer pair's second: the inner pair runs here."""
    inner = lambda: in_parallel(threading.get_ident, threading.get_ident)  # noqa: E731
    a, b = in_parallel(inner, lambda: 1)
    assert a == (threading.get_ident(), threading.get_ident()) and b == 1


@pytest.mark.parametrize("which", ["first", "second", "both"])
def test_an_exception_is_raised_here_once_both_ended(pairs, which):
    ended = []

    def first():
        ended.append("first")
        if which in ("first", "both"):
            raise ValueError("first")

    def second():
        ended.append("second")
        if which in ("second", "both"):
            raise KeyError("second")

    with pytest.raises(KeyError if which == "second" else ValueError):
        in_parallel(first, second)
    assert sorted(ended) == ["first", "second"]
    assert in_parallel(lambda: 1, lambda: 2) == (1, 2)  # the helper serves on


@pytest.mark.parametrize("rows", [700, 3000])
def test_a_stacks_channel_groups_on_two_threads_give_the_same_bits(pairs, rows):
    """Half of the groups (one tile each) run on the helper, with runs of their own."""
    stack = np.random.default_rng(5).standard_normal((rows, 10))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    whole, done = stack, 0
    for k in (3, 3 + engine.GROUP_BLOCKS, 90, 200):
        got = running.advance(k - done, keep=k == 90)
        whole = run_blocks(whole, nl, 0.2, k - done)
        done = k
        np.testing.assert_array_equal(got, whole)
    assert {side for _, side in running.runs} == {0, 1}


def test_the_refine_with_its_probe_windows_on_the_helper_gives_the_same_choice(monkeypatch):
    """The whole signal's run here and the probe windows' run on the helper: the same
    curve, choice, output and gain sums as one after the other."""
    n, sigma = 6000, 0.2
    rng = np.random.default_rng(2)
    clean = np.cumsum(np.where(rng.random(n) < 1 / 150, rng.uniform(-2, 2, n), 0.0))
    f = clean + sigma * rng.standard_normal(n)
    monkeypatch.setattr(autoparams, "REFINE_WINDOWS_COST", math.inf)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.6)
    tau = stability.default_tau(nl, 1.0)
    short = autoparams.StoppingChoice(60, "sure", (sigma,), (0, 60, 70), (1.0, 0.5, 0.51), False)
    best = autoparams.AutoChoice(nl, tau, short, "given", ())
    helped = spy_pairs(monkeypatch, autoparams)
    runs = {}
    for name, least in (("alone", math.inf), ("paired", 0)):
        monkeypatch.setattr(engine, "PAIR_WORK", least)
        runs[name] = autoparams._refine(f, best, 1.0, np.array([sigma]), 800, True)
    assert any(helped) and not all(helped[: len(helped) // 2])
    (a, a_test), (b, b_test) = runs["alone"], runs["paired"]
    assert (a.steps, a.blocks, a.criterion, a_test) == (b.steps, b.blocks, b.criterion, b_test)
    np.testing.assert_array_equal(a.output, b.output)
    np.testing.assert_array_equal(a.gain_sums, b.gain_sums)
