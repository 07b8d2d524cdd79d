"""Two independent runs of a search on the engine's helper thread at once
(:func:`resdenoise.pairs.in_parallel`): the numbers of the runs one after the other,
bit for bit, in a stack's channel groups and in the refine's whole-signal run with its
probe windows."""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest
from test_engine_blocking import spy_threads

from resdenoise import autoparams, engine, search_windows, stability
from resdenoise import pairs as threads
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.pairs import in_parallel


def spy_pairs(monkeypatch, module) -> list:
    """Whether each pair ``module`` asks for went to the helper: its second ran on
    another thread than the caller's."""
    helped = []
    real = threads.in_parallel

    def spy(first, second, *rest):
        here, ran = threading.get_ident(), []

        def watched():
            ran.append(threading.get_ident() != here)
            return second()

        try:
            return real(first, watched, *rest)
        finally:
            helped.append(bool(ran) and ran[0])

    monkeypatch.setattr(module, "in_parallel", spy)
    return helped


@pytest.fixture
def pairs(monkeypatch):
    """Every pair goes to the helper (no work too small), on two cores at least."""
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")


def _helpers() -> list:
    return [t for t in threading.enumerate() if t.name == "resdenoise-helper"]


def test_the_second_runs_on_the_scopes_helper_thread_ended_with_the_scope(pairs):
    here = threading.get_ident()
    inside = []

    @threads.helping
    def scope():
        pair = in_parallel(threading.get_ident, threading.get_ident)
        inside.append(len(_helpers()))
        return pair, in_parallel(threading.get_ident, threading.get_ident)

    (a, b), (c, d) = scope()
    assert a == c == here and b == d != here  # one helper for the scope's pairs
    assert inside == [1] and not _helpers()


def test_outside_a_scope_too_little_work_or_one_core_runs_both_here(monkeypatch):
    here = threading.get_ident()
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    assert in_parallel(threading.get_ident, threading.get_ident) == (here, here)  # no scope
    monkeypatch.setattr(threads, "PAIR_WORK", 100)
    pair = threads.helping(lambda: in_parallel(threading.get_ident, threading.get_ident, 10))
    assert pair() == (here, here)
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    monkeypatch.setenv("RESDENOISE_THREADS", "1")
    assert threads.helping(lambda: in_parallel(threading.get_ident, threading.get_ident))() == (
        here, here,
    )  # fmt: skip
    assert not _helpers()


def test_a_pair_inside_a_pair_and_a_scope_inside_a_scope_run_in_turn(pairs):
    """The helper runs the outer pair's second: the inner pair runs here; a nested
    scope is the outer one's."""
    inner = threads.helping(lambda: in_parallel(threading.get_ident, threading.get_ident))
    a, b = threads.helping(lambda: in_parallel(inner, lambda: 1))()
    assert a == (threading.get_ident(), threading.get_ident()) and b == 1


@pytest.mark.parametrize("which", ["first", "second", "both"])
def test_an_exception_is_raised_here_once_both_ended(pairs, which):
    """The first's where both fail; ``stop`` is set where the first fails, and the
    helper is ended with the scope either way."""
    ended, stop = [], threading.Event()

    def first():
        ended.append("first")
        if which in ("first", "both"):
            raise ValueError("first")

    def second():
        if which != "second":
            assert stop.wait(5)  # told to end: the first failed
        ended.append("second")
        if which in ("second", "both"):
            raise KeyError("second")

    with pytest.raises(KeyError if which == "second" else ValueError):
        threads.helping(lambda: in_parallel(first, second, stop=stop))()
    assert sorted(ended) == ["first", "second"] and not _helpers()


@pytest.mark.parametrize("rows", [700, 3000])
def test_a_stacks_channel_groups_on_two_threads_give_the_same_bits(pairs, rows):
    """Half of the groups (one tile each) run on the helper, with runs of their own."""
    stack = np.random.default_rng(5).standard_normal((rows, 10))
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.7)
    running = engine.StackRun(stack, nl.phi, 0.2, 1.0)
    helpers = []

    @threads.helping
    def search():
        whole, done = stack, 0
        for k in (3, 3 + engine.GROUP_BLOCKS, 90, 200):
            got = running.advance(k - done, keep=k == 90)
            helpers.append(len(_helpers()))
            whole = run_blocks(whole, nl, 0.2, k - done)
            done = k
            np.testing.assert_array_equal(got, whole)

    search()
    assert helpers == [0, 1, 1, 1] and {side for _, side in running.runs} == {0, 1}


def test_the_refine_with_its_probe_windows_on_the_helper_gives_the_same_choice(monkeypatch):
    """The whole signal's run here and the probe windows' run on the helper (with the
    whole signal's last rows, StackRun.advance_beside): the same curve, choice, output
    and gain sums as one after the other."""
    n, sigma = 6000, 0.2
    rng = np.random.default_rng(2)
    clean = np.cumsum(np.where(rng.random(n) < 1 / 150, rng.uniform(-2, 2, n), 0.0))
    f = clean + sigma * rng.standard_normal(n)
    monkeypatch.setattr(search_windows, "REFINE_WINDOWS_COST", math.inf)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.6)
    tau = stability.default_tau(nl, 1.0)
    short = autoparams.StoppingChoice(60, "sure", (sigma,), (0, 60, 70), (1.0, 0.5, 0.51), False)
    best = autoparams.AutoChoice(nl, tau, short, "given", ())
    helped = spy_pairs(monkeypatch, engine)  # the refine's pairs: StackRun.advance_beside
    runs, told = {}, {}
    for name, least in (("alone", math.inf), ("paired", 0), ("threaded", 0)):
        monkeypatch.setattr(threads, "PAIR_WORK", least)
        if name == "threaded":  # every run takes the engine's two threads: no pair
            monkeypatch.setattr(engine, "MIN_WORK_PER_THREAD", 1)
        refine = threads.helping(autoparams._refine)
        runs[name] = refine(f, best, 1.0, np.array([sigma]), 800, True)
        told[name], helped[:] = list(helped), []
    assert told["alone"] and not any(told["alone"])
    assert told["threaded"] and not any(told["threaded"])
    assert told["paired"] and all(told["paired"])
    (a, a_test), (b, b_test) = runs["alone"], runs["paired"]
    assert (a.steps, a.blocks, a.criterion, a_test) == (b.steps, b.blocks, b.criterion, b_test)
    np.testing.assert_array_equal(a.output, b.output)
    np.testing.assert_array_equal(a.gain_sums, b.gain_sums)


def test_a_budget_of_one_thread_makes_no_pair_and_a_pair_takes_one_thread_a_side(
    pairs, monkeypatch, count_calls
):
    """Under limit_threads(1) (a batch's one engine thread per file) a search asks for
    its pairs but none goes to a helper, with the same choice; inside a pair each
    side's engine runs take one thread (two sides on two cores, not four threads)."""
    from resdenoise.autoparams import choose_parameters

    started = count_calls(threads, "_Helper")
    rng = np.random.default_rng(3)
    f = np.cumsum(rng.standard_normal(3000)) * 0.05 + 0.2 * rng.standard_normal(3000)

    def search():
        return choose_parameters(f, "perona-malik", "diffusivity", max_blocks=200, sigma=0.2)

    with threads.limit_threads(1):
        one = search()
    assert not started
    two = search()
    assert started  # the same search with two threads pairs
    assert (one.candidates, one.nl.lam, one.steps) == (two.candidates, two.nl.lam, two.steps)

    seen = spy_threads(monkeypatch)
    monkeypatch.setattr(engine, "MIN_WORK_PER_THREAD", 1)
    g = rng.standard_normal(200_000)
    nl = get_nonlinearity("perona-malik", lam=1.0)
    run = lambda: run_blocks(g, nl, 0.25, 2)  # noqa: E731
    threads.helping(lambda: in_parallel(run, run))()
    assert seen == [1, 1]
    run()
    assert seen[-1] == 2


def test_a_signal_right_after_the_second_is_back_does_not_wait_again(pairs, monkeypatch):
    """Ctrl-C between the helper's result coming back and its use: raised at once (a
    second wait for the one result would hang), the helper ended with the scope."""
    real_helper = threads._Helper
    gets = []

    class Interrupted:
        def __init__(self, queue):
            self.queue, self.put = queue, queue.put

        def get(self):
            gets.append(1)
            assert len(gets) == 1, "waited twice for one result"
            self.queue.get()
            raise KeyboardInterrupt  # as if the signal came just after get returned

    def helper():
        made = real_helper()
        made.done = Interrupted(made.done)
        return made

    monkeypatch.setattr(threads, "_Helper", helper)
    with pytest.raises(KeyboardInterrupt):
        threads.helping(lambda: in_parallel(lambda: 1, lambda: 2))()
    assert gets == [1] and not _helpers()


def test_a_files_threads_bound_its_automatic_search(pairs, tmp_path, count_calls):
    """run_file's threads setting (a batch's one engine thread per file) reaches the
    automatic search: with threads=1 it starts no helper thread, the same output."""
    from resdenoise.pipeline import RunOptions, planner, run_file

    started = count_calls(threads, "_Helper")
    rng = np.random.default_rng(5)
    f = np.repeat(rng.standard_normal(30), 100) + 0.2 * rng.standard_normal(3000)
    src = tmp_path / "in.csv"
    src.write_text("".join(f"{v!r}\n" for v in f.tolist()))
    make_plan = planner("diffuse", "perona-malik", lam="auto", time="auto")
    outputs = []
    for run in (RunOptions(threads=1), RunOptions()):
        out = tmp_path / f"out{len(outputs)}.csv"
        run_file(make_plan, str(src), str(out), run=run)
        outputs.append(out.read_bytes())
        assert bool(started) == (run.threads is None)
    assert outputs[0] == outputs[1]


def test_the_impulse_check_beside_the_noise_level_gives_the_same_plan(monkeypatch):
    """An automatic plan checks for impulses on the helper thread while the noise level
    is read here (the check needs no level: hampel_stage decides with it after), with
    the plan of the two in turn: its stage (impulses found and replaced), blocks,
    lambda and output, bit for bit."""
    from resdenoise import impulses
    from resdenoise.filters import run_plan
    from resdenoise.pipeline import planner

    helped = spy_pairs(monkeypatch, impulses)
    rng = np.random.default_rng(5)
    f = np.repeat(rng.uniform(-1, 1, 40), 100) + 0.05 * rng.standard_normal(4000)
    f[rng.choice(4000, 12, replace=False)] += 3.0  # impulses: the pre-stage comes on
    runs, told = {}, {}
    for name, least in (("in turn", math.inf), ("paired", 0)):
        monkeypatch.setattr(threads, "PAIR_WORK", least)
        monkeypatch.setenv("RESDENOISE_THREADS", "2")
        plan, extra = planner("diffuse", "perona-malik", lam="auto", time="auto")(f)
        runs[name] = plan, extra, np.asarray(run_plan(plan, f))
        told[name], helped[:] = list(helped), []
    assert told["in turn"] == [False] and told["paired"] == [True]
    (a, a_extra, a_out), (b, b_extra, b_out) = runs["in turn"], runs["paired"]
    assert a.prestage is not None and a.prestage.active and a_extra == b_extra
    assert a.prestage.positions == b.prestage.positions
    assert (a.steps, a.nl.lam, a.tau) == (b.steps, b.nl.lam, b.tau)
    np.testing.assert_array_equal(a_out, b_out)


def test_the_second_runs_in_the_callers_context_numpys_errstate_too(pairs):
    """NumPy 2's errstate is a context variable, and a new thread starts with the
    defaults: an overflow the caller ignores warned on the helper (on stderr)."""
    seen = []

    def second():
        seen.append((threading.get_ident(), np.geterr()["over"]))
        return np.array([1e308]) * 10.0  # overflows

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            _, b = threads.helping(lambda: in_parallel(lambda: 1, second))()
        assert np.geterr()["over"] == "warn"  # the caller's own, restored
    assert seen[0][0] != threading.get_ident() and seen[0][1] == "ignore" and b[0] == np.inf


def test_the_impulse_check_on_the_helper_warns_nothing_the_caller_ignores(monkeypatch):
    """Samples of 1e-322 (subnormal) with a few of 1.0: the check's scores overflow,
    which the pipeline ignores (np.errstate); on the helper they warned, e.g. for
    ``diffuse tiny.csv --diffusivity perona-malik --lambda auto --time auto``."""
    from resdenoise import impulses

    helped = spy_pairs(monkeypatch, impulses)
    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    rng = np.random.default_rng(1)
    u = rng.integers(-50, 50, 20000) * 1e-322
    u[rng.choice(20000, 100, replace=False)] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore", invalid="ignore"):
            one, found = threads.helping(lambda: impulses.with_impulses(lambda: 1, u))()
            alone = impulses.find_impulses(u)
    assert one == 1 and helped == [True]
    assert [[a.tolist() for a in c] for c in found] == [[a.tolist() for a in c] for c in alone]


def test_the_command_line_on_subnormal_samples_says_one_line_and_no_warning(
    runner, tmp_path, monkeypatch
):
    """The run of the review: one error line (exit 1, naming the file: the samples' fault),
    no RuntimeWarning of the helper."""
    from resdenoise.cli import cli

    monkeypatch.setenv("RESDENOISE_THREADS", "2")
    rng = np.random.default_rng(0)
    u = rng.integers(-50, 50, 20000) * 1e-322
    u[rng.choice(20000, 100, replace=False)] = 1.0
    (tmp_path / "tiny.csv").write_text("".join(f"{v!r}\n" for v in u.tolist()))
    args = ["diffuse", str(tmp_path / "tiny.csv"), "--diffusivity", "perona-malik"]
    args += ["--lambda", "auto", "--time", "auto", "-o", str(tmp_path / "t.csv")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.invoke(cli, args)
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    # (the level of the subnormal samples left after the impulse pre-stage, read on them
    # times a power of two: 9.88131e-323 before, their squares underflowed)
    assert result.stderr.startswith(
        f"Error: {tmp_path / 'tiny.csv'}: the automatic lambda is 1.85275e-320"
    )


def _held_levels(n: int, seed: int) -> np.ndarray:
    """A sensor-like trace: random levels held for random times, in white noise."""
    rng = np.random.default_rng(seed)
    levels = np.repeat(rng.uniform(-1, 1, n // 200 + 1), rng.integers(50, 350, n // 200 + 1))
    return np.resize(levels, n) + 0.05 * rng.standard_normal(n)


@pytest.mark.parametrize("kind", ["held", "smooth", "stereo"])
def test_a_threaded_and_a_one_thread_automatic_plan_give_the_same_report_and_output(
    monkeypatch, count_calls, kind
):
    """``--time auto --lambda auto`` with every pair on the helper thread (the impulse
    check beside the noise level, the lambda candidates two at once, the refine's whole
    signal beside its probe windows, a stack's channel groups) and with one thread
    (``RESDENOISE_THREADS=1``): the same report, plan and output, bit for bit; long
    signals take the windowed search and its refine."""
    from resdenoise.filters import run_plan
    from resdenoise.pipeline import planner

    n = 60_000 if kind != "stereo" else 8_000
    t = np.arange(n) / n
    smooth = np.sin(2 * np.pi * 5 * t) + 0.5 * np.sin(2 * np.pi * 40 * t * t)
    f = {
        "held": _held_levels(n, 3),
        "smooth": smooth + 0.1 * np.random.default_rng(4).standard_normal(n),
        "stereo": np.column_stack([_held_levels(n, 5), smooth + 0.05 * _held_levels(n, 6)]),
    }[kind]
    started = count_calls(threads, "_Helper")
    refined = count_calls(autoparams, "_refine")
    monkeypatch.setattr(threads, "PAIR_WORK", 0)
    runs = {}
    for budget in ("1", "2"):
        monkeypatch.setenv("RESDENOISE_THREADS", budget)
        plan, extra = planner("diffuse", "perona-malik", lam="auto", time="auto")(f)
        runs[budget] = plan, extra, np.asarray(run_plan(plan, f)), len(started)
    (a, a_extra, a_out, one), (b, b_extra, b_out, two) = runs["1"], runs["2"]
    assert one == 0 and two > 0  # the helper thread with two, none with one
    assert bool(refined) == (kind != "stereo")  # the windowed search's refine, twice
    assert a_extra == b_extra and (a.steps, a.nl.lam, a.tau) == (b.steps, b.nl.lam, b.tau)
    np.testing.assert_array_equal(a_out, b_out)
