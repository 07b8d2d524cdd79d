"""Independent tasks shared with the engine's helper thread (:func:`resdenoise.pairs.run_all`),
and the automatic search's noise level, which hands its checks to it: the results of the
tasks one after the other, bit for bit."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

from resdenoise import noise
from resdenoise import pairs as threads
from resdenoise.filters import run_plan
from resdenoise.pairs import in_parallel, run_all
from resdenoise.pipeline import planner


@pytest.fixture
def pairs(monkeypatch):
    """Every pair and share goes to the helper (no work too small), on two cores."""
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")


def napping(seconds: float, value):
    """A task that sleeps (the GIL released, as a compiled loop's) and tells its thread."""

    def task():
        time.sleep(seconds)
        return value, threading.current_thread().name

    return task


def test_the_helper_takes_tasks_from_the_last_back_the_results_in_order(pairs):
    tasks = [napping(0.3, 0), napping(0.01, 1), napping(0.01, 2)]
    got = threads.helping(lambda: run_all(tasks))()
    assert [value for value, _ in got] == [0, 1, 2]
    assert [name for _, name in got] == ["MainThread", "resdenoise-helper", "resdenoise-helper"]
    assert not [t for t in threading.enumerate() if t.name == "resdenoise-helper"]


def test_outside_a_scope_too_little_work_or_one_thread_runs_all_here(monkeypatch):
    tasks = [napping(0.0, i) for i in range(3)]
    here = [(i, "MainThread") for i in range(3)]
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    assert run_all(tasks) == here  # no scope
    monkeypatch.setattr(threads, "PAIR_WORK", 100)
    assert threads.helping(lambda: run_all(tasks, 10))() == here
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    monkeypatch.setenv("RESDENOISE_THREADS", "1")
    assert threads.helping(lambda: run_all(tasks))() == here
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    with threads.limit_threads(1):  # a run's threads=1 around its search
        assert threads.helping(lambda: run_all(tasks))() == here


def test_inside_a_pairs_first_side_the_busy_helper_joins_in_once_free(pairs):
    """The helper runs the pair's second first; then it takes the last task left (this
    thread never waited for it to start); a pair inside a task runs in turn."""
    inner = []

    def paired():
        inner.append(in_parallel(threading.get_ident, threading.get_ident))
        return napping(0.4, 3)()

    tasks = [napping(0.1, 0), napping(0.1, 1), napping(0.1, 2), paired]
    shared, second = threads.helping(
        lambda: in_parallel(lambda: run_all(tasks), napping(0.06, 9))
    )()
    assert second == (9, "resdenoise-helper")
    assert [name for _, name in shared] == ["MainThread"] * 3 + ["resdenoise-helper"]
    assert inner[0][0] == inner[0][1]  # in turn, on the thread that ran the task


@pytest.mark.parametrize("failing", [[0], [2], [0, 2]])
def test_the_first_failing_tasks_exception_is_raised_once_the_helper_ended(pairs, failing):
    ended = []

    def task(i):
        def run():
            time.sleep(0.02)
            ended.append(i)
            if i in failing:
                raise ValueError(i)

        return run

    with pytest.raises(ValueError) as raised:
        threads.helping(lambda: run_all([task(i) for i in range(3)]))()
    assert raised.value.args == (failing[0],) and 2 in ended  # the helper's task ended


def test_the_helpers_tasks_run_in_the_callers_context_numpys_errstate_too(pairs):
    def overflow():
        return threading.current_thread().name, np.array([1e308]) * 10.0

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            got = threads.helping(lambda: run_all([napping(0.05, 0), overflow]))()
    assert got[1][0] == "resdenoise-helper" and got[1][1][0] == np.inf


def ar1(n: int, seed: int) -> np.ndarray:
    """An AR(1) series (phi 0.95) in white noise: rough and dense, so the variogram or
    the lag-one check lowers the level that the spectral floor is searched under."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    e = rng.standard_normal(n)
    for i in range(1, n):
        x[i] = 0.95 * x[i - 1] + e[i]
    return x + 0.3 * rng.standard_normal(n)


def _signals() -> dict:
    rng = np.random.default_rng(4)
    t = np.arange(20000) / 20000
    smooth = np.sin(2 * np.pi * 5 * t) + 0.5 * np.sin(2 * np.pi * 40 * t * t)
    steps = np.repeat(rng.uniform(-1, 1, 40), 500)
    return {
        "smooth": smooth + 0.1 * rng.standard_normal(t.size),  # dense: the floor, kept
        "ar1": ar1(20000, 5),  # dense and rough: the floor under the checked level again
        # a channel of steps (not dense: no floor) beside a rough dense one
        "stereo": np.column_stack([steps + 0.05 * rng.standard_normal(steps.size), ar1(20000, 6)]),
    }


@pytest.mark.parametrize("name", sorted(_signals()))
def test_a_threaded_and_a_one_thread_search_give_the_same_report_and_output(monkeypatch, name):
    """The automatic plan with every pair and share on the helper thread (the noise
    level's checks beside its spectral floor, the impulse check, the candidates, the
    refine) and with one thread: the same report, plan and output, bit for bit; the
    spectral floor is searched under the level the checks leave (again where they
    changed it)."""
    f = _signals()[name]
    floors, checks = [], []
    real_floor, real_checks = noise.spectral_floor, noise._rough_checks

    def floor(u2, top):  # long enough here for the helper to be free for the checks
        floors.append(np.array(top))
        time.sleep(0.2 if len(floors) == 1 else 0.0)
        return real_floor(u2, top)

    def checked(*args):
        checks.append(threading.current_thread().name)
        return real_checks(*args)

    monkeypatch.setattr(noise, "spectral_floor", floor)
    monkeypatch.setattr(noise, "_rough_checks", checked)
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    runs, seen = {}, {}
    for threads_env in ("1", "2"):
        monkeypatch.setenv("RESDENOISE_THREADS", threads_env)
        floors.clear(), checks.clear()
        plan, extra = planner("diffuse", "perona-malik", lam="auto", time="auto")(f)
        runs[threads_env] = plan, extra, np.asarray(run_plan(plan, f))
        seen[threads_env] = [t.tolist() for t in floors], list(checks)
    (a, a_extra, a_out), (b, b_extra, b_out) = runs["1"], runs["2"]
    assert a_extra == b_extra and (a.steps, a.nl.lam, a.tau) == (b.steps, b.nl.lam, b.tau)
    np.testing.assert_array_equal(a_out, b_out)
    assert seen["1"][1] == ["MainThread"]
    assert seen["2"][1] == ["resdenoise-helper"]  # the checks went to the helper
    assert seen["2"][0] == seen["1"][0]  # the floors searched, under the same levels
    if name == "smooth":  # under the level the checks left as it was: once
        assert len(seen["2"][0]) == 1
    else:  # the checks lowered the level: the floor searched under it again
        assert len(seen["2"][0]) == 2 and seen["2"][0][0] != seen["2"][0][1]
        assert "variogram nugget" in noise.search_noise(f).per_channel()[-1]
