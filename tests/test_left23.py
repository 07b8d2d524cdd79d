"""left23: last session's left-overs.

A batch on a cluster whose scheduler went away: a file a worker had put in place just
before is counted written (its output is this batch's), the others failed saying what is
in place.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from resdenoise.batch import run_batch
from resdenoise.pipeline import planner


def _plan():
    return planner("diffuse", "linear", lam=0.1, steps=3)


def test_a_file_put_in_place_as_the_scheduler_went_is_counted_written(tmp_path, monkeypatch):
    """fails before: f0 (output and report in place, this batch's) counted failed, "a worker
    may have put its output in place just before"."""
    import resdenoise.dask

    def gone_after_first(address, function, shared, arguments, **kwargs):
        function(shared, *arguments[0])  # a worker puts f0 in place (here: this process)
        for i in range(len(arguments)):  # ... and the scheduler goes with every result
            yield i, resdenoise.dask._gone(address)

    monkeypatch.setattr(resdenoise.dask, "run_tasks", gone_after_first)
    monkeypatch.chdir(tmp_path)
    os.mkdir("in")
    for k in range(3):
        (tmp_path / "in" / f"f{k}.csv").write_text("v\n1\n2\n3\n4\n")
    os.makedirs("o")
    (tmp_path / "o" / "f1.csv").write_text("v\n9\n9\n9\n9\n")  # an earlier run's output
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "f1.csv.json").write_text("{}")
    past = os.stat("o/f1.csv").st_mtime_ns - 10 * 10**9
    os.utime("o/f1.csv", ns=(past, past))
    inputs = [f"in/f{k}.csv" for k in range(3)]
    got = run_batch(_plan(), inputs, "o/", report_dir="r/", scheduler="tcp://127.0.0.1:1")
    assert [r.written for r in got] == [True, False, False], [str(r.error) for r in got]
    assert (
        got[0].report["output"]
        == "o/f0.csv"
        == json.loads((tmp_path / "r/f0.csv.json").read_text())["output"]
    )
    assert len(got[0].warnings) == 1 and "just before the Dask scheduler" in got[0].warnings[0]
    for r in got[1:]:
        line = str(r.error)
        assert "went away" in line and "not in place: run the file again" in line, line
    assert (tmp_path / "o" / "f1.csv").read_text() == "v\n9\n9\n9\n9\n"  # untouched


def _old_worker():  # run on a worker: the code of an earlier version, loaded before an upgrade
    import sys

    import resdenoise.batch

    def _remote_file(shared, path, target, report, seen, on_commit=None, progress=None):
        raise AssertionError("an older _remote_file's signature: never called")

    resdenoise.batch._remote_file = _remote_file
    sys.modules["resdenoise"].__version__ = "0.0.9+g0123456789ab"


def test_workers_of_another_version_are_refused_in_one_line(tmp_path):
    """fails before: every file failed with "TypeError: _remote_file() got multiple values
    for argument 'on_commit'" (here: got an unexpected keyword argument 'names')."""
    import resdenoise
    from resdenoise.errors import SignalError

    distributed = pytest.importorskip("distributed")
    from test_fix22a import _local

    inputs = []
    for k in range(3):
        (tmp_path / f"f{k}.csv").write_text("v\n1\n2\n3\n4\n")
        inputs.append(str(tmp_path / f"f{k}.csv"))
    with _local(2) as cluster, distributed.Client(cluster) as client:
        address = cluster.scheduler_address
        assert all(
            r.written for r in run_batch(_plan(), inputs, str(tmp_path / "a"), scheduler=address)
        )
        first = [sorted(client.nthreads())[0]]
        client.run(_environ, "numpy", workers=first)  # another step loop
        with pytest.raises(SignalError) as loop:
            run_batch(_plan(), inputs, str(tmp_path / "o"), scheduler=address)
        client.run(_environ, "", workers=first)
        client.run(_old_worker, workers=first)
        with pytest.raises(SignalError) as caught:
            run_batch(_plan(), inputs, str(tmp_path / "o"), scheduler=address)
    line = str(caught.value)
    assert "\n" not in line and "1 of the 2 Dask workers" in line, line
    assert "resdenoise 0.0.9+g0123456789ab" in line and resdenoise.__version__ in line
    assert "restart the workers" in line and "nothing run" in line
    assert not (tmp_path / "o").exists()
    line = str(loop.value)
    assert f"run resdenoise {resdenoise.__version__} with the numpy step loop" in line, line
    assert "with the compiled one" in line


def _environ(engine):
    import os

    os.environ["RESDENOISE_ENGINE"] = engine


def _scheduler_killed_after(seconds: float, log):
    """A scheduler subprocess (no worker) SIGKILLed ``seconds`` after its first client
    connected (its log, the file ``log``, says so; within 120 s): its address, and the
    process."""
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "wb") as said:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
            + ["--port", str(port), "--dashboard-address", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL,
            stderr=said,
            start_new_session=True,
        )

    def kill():
        for _ in range(1200):
            with open(log, "rb") as f:
                if b"Receive client connection" in f.read():
                    break
            time.sleep(0.1)
        time.sleep(seconds)
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(scheduler.pid, signal.SIGKILL)

    threading.Thread(target=kill, daemon=True).start()
    return f"tcp://127.0.0.1:{port}", scheduler


@pytest.mark.parametrize("verbose", [False, True])
def test_a_cluster_batchs_stderr_is_its_own_lines(tmp_path, verbose):
    """fails before: "2026-... - distributed.client - ERROR - Failed to reconnect to
    scheduler after 10.00 seconds, closing client" among the Error: lines (-v shows it)."""
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("distributed")
    for k in range(2):
        (tmp_path / f"f{k}.csv").write_text("v\n1\n2\n3\n4\n")
    address, scheduler = _scheduler_killed_after(1, tmp_path / "scheduler.log")
    try:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "resdenoise"), "diffuse", "f0.csv", "f1.csv"]
            + ["--steps", "3", "--lambda", "0.1", "-o", "o/", "--scheduler", address]
            + (["-v"] if verbose else []),
            cwd=tmp_path,
            env={**os.environ, "RESDENOISE_NO_WORKER_TIMEOUT": "600"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        scheduler.kill()
        scheduler.wait()
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and lines[-1] == "2 files: 0 written, 2 failed", run.stderr
    gone = [line for line in lines if line.startswith("Error: f")]
    assert len(gone) == 2 and all("went away" in line for line in gone), run.stderr
    logged = [line for line in lines if "Failed to reconnect" in line]
    assert len(logged) == verbose, run.stderr  # -v: as distributed writes it
    if not verbose:
        assert len(lines) == 3, run.stderr


def test_a_store_of_large_chunks_is_read_in_pieces_and_written_without_joins(tmp_path):
    """A22a-5: a store is read one chunk at a time, given in pieces of READ_ROWS rows,
    each a new array, and written from one buffer of whole chunks (a streamed run's
    memory: 4e6 x 2 float64 in chunks of 2^21 samples, 365 -> 252 MiB peak,
    benchmarks/bench_memory.py --zarr 18,20,21). fails before: one block of 2^18 rows."""
    zarr = pytest.importorskip("zarr")
    from resdenoise.io import ReadOptions, open_signal_stream
    from resdenoise.io.zarr_store import READ_ROWS, ZarrRows

    rng = np.random.default_rng(5)
    n, chunk = 3 * (1 << 18) + 1234, 1 << 18
    values = rng.standard_normal((n, 2))
    values[::7] = values[::7].astype(np.float32)  # some exact in float32, as any
    z = zarr.create_array(str(tmp_path / "in.zarr"), shape=(n, 2), chunks=(chunk, 2), dtype="<f8")
    z[:] = values
    stream = open_signal_stream(str(tmp_path / "in.zarr"), options=ReadOptions())
    blocks = [data for data, _ in stream.blocks()]
    assert max(len(b) for b in blocks) == READ_ROWS < chunk, [len(b) for b in blocks][:3]
    assert len({id(b) for b in blocks}) == len(blocks)
    assert all(b.dtype == np.float64 and b.dtype.byteorder == "=" for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), values)  # bit for bit
    rows = ZarrRows(str(tmp_path / "out.zarr"), "out.zarr", stream.template)
    for a in range(0, n, 100_003):  # pieces across the chunks' edges
        rows.write(values[a : a + 100_003], {})
    rows.close()
    written = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")
    assert written.chunks == (chunk, 2)
    np.testing.assert_array_equal(written[:], values)


def _learned_stop():
    """A learned network (one group of 12 bumps blocks) with stop = "sure", parsed."""
    from resdenoise import learn
    from resdenoise.network import parse_network

    arch = learn.Architecture(groups=1, blocks=12, bumps=4)
    groups = learn.network_groups(learn.initial_parameters(arch, seed=1), arch)
    return parse_network(learn.network_text(groups, stop="sure", max_blocks=48))


def _step_sine(n: int, level: float):
    t = np.linspace(0.0, 1.0, n)
    clean = np.sign(np.sin(2 * np.pi * 2 * t)) + 0.4 * np.sin(2 * np.pi * 5 * t)
    return clean + level * np.random.default_rng(20200207).standard_normal(n)


def test_a_stopped_network_applies_the_searches_gain_tests(tmp_path):
    """A stop whose gain SURE does not show (2 standard errors) keeps the input, as
    --blocks auto's choice (harm.do_no_harm, at the level; not its low end's test, which
    held back gains of 3-12 dB of learned networks). fails before: the white signal at
    --sigma 0.5 filtered by 64 blocks (KeyError 'do_no_harm')."""
    from click.testing import CliRunner

    from resdenoise.cli import cli
    from resdenoise.network import build_network
    from resdenoise.network_stop import stopped_plan
    from resdenoise.split import network_run

    net = tmp_path / "s.toml"
    net.write_text(
        'stop = "sure"\nmax-blocks = 64\nlambda-factors = [0.5, 1.0, 2.0]\n\n'
        '[[block]]\nactivation = "tanh"\nrepeat = 4\n'
    )
    white = np.random.default_rng(0).standard_normal(1000)
    src = tmp_path / "white.csv"
    src.write_text("v\n" + "\n".join(repr(float(x)) for x in white) + "\n")
    args = ["resnet", src, "--network", net, "--sigma", "0.5", "-o", tmp_path / "o.csv"]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--json"]])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "o.csv", skiprows=1), white)
    said = report["parameters"]["do_no_harm"]
    assert report["parameters"]["blocks_chosen"] == 0
    assert said.startswith("the stopped network lowers SURE by 0.0168031 per sample, not more")
    assert report["warnings"][0] == f"nothing done: {said}; the output is the input"
    auto = ["resnet", src, "--blocks", "auto", "--sigma", "0.5", "-o", tmp_path / "a.csv"]
    result = CliRunner().invoke(cli, [str(a) for a in [*auto, "--json"]])
    assert json.loads(result.stdout)["warnings"][0].startswith("nothing done: the best candidate")
    # a stop whose gain SURE shows: run as the stop alone chose it, its test reported
    spec = _learned_stop()
    f = _step_sine(200, 0.1)
    plan, extra = network_run(spec, f)
    alone, _ = stopped_plan(build_network(spec, f), f, spec.max_blocks)
    assert plan.steps == alone.steps == 10 and "do_no_harm" not in extra
    assert extra["sure_change_per_sample"] < -2 * extra["gain_standard_error"]


def _program(args, **kwargs):
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "resdenoise")
    return subprocess.run([exe, *map(str, args)], stdin=subprocess.DEVNULL, **kwargs)


def test_stderr_in_the_pipe_of_the_signal_is_refused(tmp_path):
    """`resdenoise ... 2>&1 | cmd` (the signal on stdout): refused, exit 6, its one line
    down the pipe, no signal; -q runs (only errors are written there). fails before: the
    verdict line mixed into the CSV (exit 0)."""
    import socket
    import subprocess

    src = tmp_path / "in.csv"
    src.write_text("v\n" + "\n".join(str(float(k % 7)) for k in range(50)) + "\n")
    args = ["diffuse", src, "--steps", "3", "--lambda", "0.1"]
    apart = _program(args, capture_output=True)  # stdout and stderr two pipes: as before
    assert apart.returncode == 0 and apart.stderr and apart.stdout.startswith(b"v\n")
    mixed = _program(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert mixed.returncode == 6, mixed.stdout
    line = mixed.stdout.decode()
    assert line.startswith("Error: stderr is the pipe stdout writes to (2>&1 | ..., |&)")
    assert line.count("\n") == 1 and "nothing was run and nothing written" in line
    quiet = _program([*args, "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert quiet.returncode == 0 and quiet.stdout == apart.stdout  # the signal alone
    report = _program(
        [*args, "-o", tmp_path / "o.csv", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert report.returncode == 6 and not (tmp_path / "o.csv").exists()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        run = _program(args, stdout=ours, stderr=ours, timeout=60)
        ours.close()
        theirs.settimeout(10)
        got = b"".join(iter(lambda: theirs.recv(65536), b""))
    assert run.returncode == 6 and got.startswith(b"Error: stderr is the socket stdout")


# closed forms of Psi'' (by hand), each formula's
_SECOND_DERIVATIVES = [
    ("2*lam**2*(sqrt(1+r**2/lam**2)-1)", lambda r, a: 2.0 / (1.0 + r * r / (a * a)) ** 1.5),
    (
        "lam**2*log(1+r**2/lam**2)",
        lambda r, a: 2.0 * a * a * (a * a - r * r) / (a * a + r * r) ** 2,
    ),
    (
        "lam**2*(1-exp(-r**2/lam**2))",
        lambda r, a: (2.0 - 4.0 * r * r / (a * a)) * np.exp(-r * r / (a * a)),
    ),
    ("log(cosh(r/lam))*lam**2", lambda r, a: 1.0 / np.cosh(r / a) ** 2),
    ("r**2/(1+r**2)", lambda r, a: (2.0 - 6.0 * r * r) / (1.0 + r * r) ** 3),
    ("2**(r**2)", lambda r, a: 2.0 ** (r * r) * np.log(2.0) * (2.0 + 4.0 * np.log(2.0) * r * r)),
    ("r*arctan(r) - log1p(r**2)/2", lambda r, a: 1.0 / (1.0 + r * r)),
]


@pytest.mark.parametrize("text,closed", _SECOND_DERIVATIVES)
@pytest.mark.parametrize("lam", [1e-3, 1.0, 7.5])
def test_a_regulariser_formulas_second_derivative_is_its_closed_form(text, closed, lam):
    """Expression.second_derivative (the rules of calculus applied twice) against Psi''
    written by hand."""
    from resdenoise.expr import parse_expression

    r = lam * np.array([0.0, 1e-9, -1e-5, 0.01, -0.3, 1.0, 2.5, -4.0])
    got = parse_expression(text, "regulariser").second_derivative(r, lam)
    want = closed(r, lam)  # (a zero of Psi'': the rounding of its terms' size)
    np.testing.assert_allclose(got, want, rtol=5e-14, atol=1e-15 * np.max(np.abs(want)))


def test_a_regulariser_formulas_g_at_zero_is_its_second_derivative(tmp_path):
    """g(0) = Psi''(0)/2 by the rules of calculus, where the differences of Psi read it
    (fix22 did this for an activation's formula). fails before: the peak at 0 read 1.0
    (not 101), Charbonnier's formula 0.9999999999999951; the CLI stepped the peak at
    tau 0.25 (its bound is 0.25 / 101)."""
    from click.testing import CliRunner

    from resdenoise.cli import cli
    from resdenoise.expr import expression_nonlinearity
    from resdenoise.nonlinearities import from_function

    peak = "r**2 + 1e-14*(1 - exp(-(r/1e-8)**2))"  # Phi = r (1 + 100 exp(-(r/1e-8)^2))
    for text, lam, g0 in (
        (peak, 1.0, 101.0),
        (peak, 1e6, 101.0),
        ("2*lam**2*(sqrt(1+r**2/lam**2)-1)", 1.0, 1.0),
        ("2*lam**2*(sqrt(1+r**2/lam**2)-1)", 1e-6, 1.0),
        ("lam**2*log(1+r**2/lam**2)", 1e6, 1.0),
        ("where(r > 0, r**2, 0.5*r**2)", 1.0, 0.75),  # a jump of Phi': the mean
    ):
        nl = expression_nonlinearity(text, "regulariser", lam=lam, check=False)
        assert float(nl.g(np.zeros(1))[0]) == g0, (text, lam)
    # Phi jumps at 0 (total variation): Psi'' says nothing there, the differences as before
    tv = expression_nonlinearity("abs(r)", "regulariser", lam=1.0, check=False)
    by_differences = from_function(np.abs, "regulariser", lam=1.0)
    g0 = float(by_differences.g(np.zeros(1))[0])
    assert float(tv.g(np.zeros(1))[0]) == pytest.approx(g0, rel=1e-12) and g0 > 1  # not 0
    src = tmp_path / "sc.csv"
    src.write_text("v\n1\n-2\n2\n-3\n0\n-1\n")
    args = ["regularise", src, "--regulariser-expr", peak, "--alpha", "1", "--lambda", "1"]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "-o", tmp_path / "o.csv", "--json"]])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tau"] == pytest.approx(0.25 / 101.0)
