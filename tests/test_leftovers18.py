"""Last session's left-overs (left18): work done once that was done twice."""

from __future__ import annotations

import numpy as np
from test_network_stop import STOPPED

from resdenoise import noise
from resdenoise.network import parse_network


def _alike(n: int = 600) -> np.ndarray:
    """Two channels of alike noise levels (planned together)."""
    rng = np.random.default_rng(18)
    t = np.linspace(0.0, 1.0, n)
    x = np.where(t < 0.4, 0.0, 1.0) + np.sin(6 * t)
    return np.column_stack([x + 0.2 * rng.standard_normal(n), x + 0.22 * rng.standard_normal(n)])


def test_a_stop_network_on_alike_channels_estimates_the_level_once(tmp_path, count_calls):
    """levels_apart's level (compared across channels) is the stop's search level: passed
    on, not estimated again (two search_noise calls on the old code); the plan and the
    report are those of the stop network estimating it itself."""
    from resdenoise.network_stop import stopped_network
    from resdenoise.split import network_run

    spec = parse_network(STOPPED, str(tmp_path / "net.toml"))
    u = _alike()
    alone_plan, alone_extra = stopped_network(spec, u)
    calls = count_calls(noise, "search_noise")
    plan, extra = network_run(spec, u)
    assert len(calls) == 1
    np.testing.assert_array_equal(plan.run(u), alone_plan.run(u))
    # resnet's planner adds the stop's gain test (do no harm, left23): those numbers beside
    assert {k: v for k, v in extra.items() if k in alone_extra and k != "warnings"} == {
        k: v for k, v in alone_extra.items() if k != "warnings"
    }
    assert {"sure_change_per_sample", "gain_standard_error"} <= set(extra) - set(alone_extra)


def test_one_wording_of_two_levels_ratio_in_every_note(tmp_path):
    """channel_levels_note and learn's training-file note said ``high / low`` with
    ``:.3g`` (``infx`` for levels 1e300 apart) while the channels planned apart said
    split.ratio_said's ``1e+600x``: one rule now (the old code fails both asserts)."""
    from resdenoise.cli.learn import _levels_apart as learn_note
    from resdenoise.io import read_signal
    from resdenoise.split import channel_levels_note, ratio_said

    extra = {"noise_sigma": [1e-300, 1e300], "lambda_rule": "auto"}
    note = channel_levels_note(extra)
    assert f"is {ratio_said(1e300, 1e-300)} below" in note and "inf" not in note
    assert "is 20x below" in channel_levels_note({**extra, "noise_sigma": [0.05, 1.0]})
    rng = np.random.default_rng(4)
    x = np.sin(np.linspace(0.0, 6.0, 400))
    path = tmp_path / "two.csv"
    cols = np.column_stack([(x + 0.1 * rng.standard_normal(400)) * 1e-300, x * 1e300])
    cols[:, 1] += 1e300 * 0.1 * rng.standard_normal(400)
    path.write_text("a,b\n" + "\n".join(f"{a:.17g},{b:.17g}" for a, b in cols) + "\n")
    said = learn_note(read_signal(str(path)))
    assert said is not None and "inf" not in said and "1e+600x below" in said


def _soft_counted(sizes: list):
    def soft(s):
        sizes.append(np.size(s))
        return np.sign(s) * np.maximum(np.abs(s) - 0.5, 0.0)

    return soft


def test_a_python_shrinkage_is_sampled_once_on_the_stability_grid():
    """Phi of a shrinkage function is made of S(r / sqrt2) on the grid; the translation's
    rounding (the monotonicity test's slack) read S there again (two calls on the
    79995-point grid on the old code); the properties are those of sampling it twice."""
    import dataclasses

    from resdenoise.nonlinearities import from_function
    from resdenoise.stability import analyse_function

    sizes: list = []
    nl = from_function(_soft_counted(sizes), "shrinkage", lam=0.7)
    props = analyse_function(nl)
    grid = max(sizes)
    assert grid > 10_000 and sizes.count(grid) == 1
    unmarked = dataclasses.replace(nl, _phi=lambda r: nl._phi(r))  # phi_and_g's path
    assert analyse_function(unmarked) == props


def test_a_shrinkage_formula_is_sampled_once_on_the_stability_grid(monkeypatch):
    """--shrinkage-expr: the compiled formula, likewise (two grid calls on the old code)."""
    from resdenoise import expr
    from resdenoise.stability import analyse_function

    sizes: list = []
    bind = expr.Expression.bind

    def counted_bind(self, lam):
        bound = bind(self, lam)

        def counted(s):
            sizes.append(np.size(s))
            return bound(s)

        return counted

    monkeypatch.setattr(expr.Expression, "bind", counted_bind)
    text = "sign(s) * maximum(abs(s) - 0.61803 * theta, 0)"  # its own: no kept sampling
    analyse_function(expr.expression_nonlinearity(text, "shrinkage", 0.7, check=False))
    assert max(sizes) > 10_000 and sizes.count(max(sizes)) == 1


def test_a_batch_count_follows_the_workers_files(tmp_path):
    """--jobs: a worker's file is counted (progress.file_done) as soon as this process
    reads its result, also in the middle of a file of its own; on the old code only
    between this process's files (the parent's file below waits for that, 20 s at most,
    and the count came after it)."""
    import os
    import time

    from resdenoise.batch_pool import FileResult, _run_forked

    parent = os.getpid()
    events: list = []

    def progress(i, phase, done, total):
        events.append(("progress", i))

    progress.file_done = lambda i: events.append(("done", i))

    started = tmp_path / "parent started"  # a worker's file waits for it: this process
    # takes a file of its own (the worker cannot have taken them all)

    def job(i):
        def run(file_progress, on_commit=None):
            end = time.monotonic() + 20.0
            if os.getpid() != parent:
                while not started.exists() and time.monotonic() < end:
                    time.sleep(0.01)
            else:  # this process's file: runs until a worker's counts
                started.touch()
                k = 0
                while time.monotonic() < end and not any(e[0] == "done" for e in events):
                    k += 1
                    file_progress("blocks", k, None)
                    time.sleep(0.01)
                events.append(("parent file ends", i))
            return FileResult(f"in{i}", f"out{i}")

        return run

    finished: list = []
    placeholders = [FileResult(f"in{i}", f"out{i}") for i in range(3)]
    _run_forked(
        [job(i) for i in range(3)], 2, lambda i, r: finished.append(i), progress, placeholders
    )
    assert sorted(finished) == [0, 1, 2]
    done = [e[1] for e in events if e[0] == "done"]
    assert sorted(done) == [0, 1, 2]  # each once
    ends = [k for k, e in enumerate(events) if e[0] == "parent file ends"]
    first_done = next(k for k, e in enumerate(events) if e[0] == "done")
    assert ends and first_done < ends[0]  # a worker's file counted during the parent's


def test_the_command_line_counts_each_file_once(tmp_path, runner, monkeypatch):
    """The batch's display is told file_done once a file (by the pool as its result is
    read, and again by the file's lines: counted once), jobs 1 and 2."""
    from resdenoise.cli import cli, render

    class Display:
        console = None

        def __init__(self):
            self.done: list = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def update(self, *args):
            pass

        def print(self, text):
            pass

        def file_done(self, key):
            self.done.append(key)

    rng = np.random.default_rng(5)
    files = []
    for k in range(4):
        path = tmp_path / f"f{k}.csv"
        path.write_text("\n".join(repr(float(v)) for v in rng.standard_normal(200)) + "\n")
        files.append(str(path))
    for jobs in ("1", "2"):
        shown = Display()
        monkeypatch.setattr(render, "progress_display", lambda quiet, count=None, s=shown: s)
        out = tmp_path / f"out{jobs}"
        args = ["diffuse", "--lambda", "0.3", "--time", "2", *files, "-o", f"{out}/", "-j", jobs]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        assert sorted(shown.done) == [0, 1, 2, 3], jobs


LONG = " + ".join(f"tanh(r*{k % 9 + 1}.0/lam)*exp(-abs(r)/(lam*{k % 9 + 1}))" for k in range(22))


def test_a_long_formula_compiles_each_node_once(monkeypatch):
    """audit17b B15: the derivative's rules compiled every subtree again at each level
    (a 1000-character formula took 0.25 s to parse; 1000 of them, most of a network
    file's 85 s).  Now each node is compiled once (the old code: 26x more here)."""
    import ast

    from resdenoise import expr

    calls: list = []
    real = expr._Compiler.compile

    def counted(self, node, depth):
        calls.append(1)
        return real(self, node, depth)

    monkeypatch.setattr(expr._Compiler, "compile", counted)
    expr._parse.cache_clear()
    expr.parse_expression(LONG, "activation")
    tree = ast.parse(LONG, mode="eval").body
    kinds = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop)
    nodes = [n for n in ast.walk(tree) if not isinstance(n, kinds)]
    names = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]  # tanh: no value
    assert len(calls) == len(nodes) - len(names)


def test_a_subtree_written_twice_is_computed_once_with_the_same_numbers(monkeypatch):
    """abs(r) in each of 22 terms, each term written 2-3 times: computed once per
    evaluation, the values and derivatives bit for bit those of computing each."""
    from resdenoise import expr

    counts = {"tanh": 0}
    tanh = expr.FUNCTIONS["tanh"]

    def counted(x):
        counts["tanh"] += 1
        return np.tanh(x)

    monkeypatch.setitem(expr.FUNCTIONS, "tanh", (counted, *tanh[1:]))
    r = np.linspace(-40.0, 40.0, 2001)
    texts = [LONG, "tanh(r) + tanh(r)*tanh(r)", "where(abs(r) < lam, abs(r)**2, abs(r))"]
    shared, plain = [], []
    for text in texts:
        expr._parse.cache_clear()
        e = expr.parse_expression(text, "activation")
        counts["tanh"] = 0
        shared.append((e(r, 1.7), e.derivative(r, 1.7)))
        if text == texts[1]:
            assert counts["tanh"] <= 2  # once for the value, once in the derivative (old: 6)
    monkeypatch.setattr(expr, "_repeated", lambda tree: {})
    for text in texts:
        expr._parse.cache_clear()
        e = expr.parse_expression(text, "activation")
        plain.append((e(r, 1.7), e.derivative(r, 1.7)))
    expr._parse.cache_clear()
    for (a, da), (b, db) in zip(shared, plain, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(da, db)
