"""resdenoise.dask: the engine over dask chunks equals the in-memory run bit for bit.

The halo argument of resdenoise.stream, handed to dask.array.map_overlap:
every registry family, random chunkings (chunks shorter than the halo too),
several channels, float32, networks; the exact noise median as dask
reductions; and the same on a local cluster of two worker processes bound
to 127.0.0.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

da = pytest.importorskip("dask.array")

from resdenoise.dask import filter_array, measure_array, noise_sigma  # noqa: E402
from resdenoise.errors import ParameterError, SignalError  # noqa: E402
from resdenoise.filters import (  # noqa: E402
    analyse_run,
    plan_diffuse,
    plan_regularise,
    plan_resnet,
    run_plan,
)
from resdenoise.measure import StreamMeasure  # noqa: E402
from resdenoise.network import build_network, parse_network  # noqa: E402
from resdenoise.noise import estimate_noise  # noqa: E402
from resdenoise.nonlinearities import PAPER_FAMILIES, get_nonlinearity  # noqa: E402

NETWORK = """
[[block]]
diffusivity = "perona-malik"
lambda = 0.5
repeat = 3
[[block]]
activation = "tanh"
lambda = 1.0
tau = 0.2
repeat = 4
"""


def _chunks(draw, n: int) -> tuple:
    """A random chunking of n samples: sizes from 1 up."""
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=8)))
    bounds = [0, *cuts, n]
    return tuple(int(d) for d in np.diff(bounds))


@st.composite
def cases(draw):
    n = draw(st.integers(2, 300))
    channels = draw(st.sampled_from([None, 1, 3]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (n,) if channels is None else (n, channels)
    x = np.cumsum(rng.standard_normal(shape), axis=0) * draw(st.sampled_from([1e-3, 1.0, 50.0]))
    return x, _chunks(draw, n)


@settings(max_examples=60)
@given(
    case=cases(),
    family=st.sampled_from(sorted(PAPER_FAMILIES)),
    steps=st.integers(0, 40),
    dtype=st.sampled_from([None, "float32"]),
)
def test_every_family_any_chunking_equals_the_whole_run(case, family, steps, dtype):
    x, chunks = case
    nl = get_nonlinearity(family, "diffusivity", 0.7)
    plan = plan_resnet(nl, max(steps, 1), tau=0.2)
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    got = filter_array(arr, plan, dtype=dtype).compute()
    np.testing.assert_array_equal(got, run_plan(plan, x, dtype=dtype))


@settings(max_examples=25)
@given(case=cases())
def test_a_network_and_regularisation_any_chunking(case):
    x, chunks = case
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    network = build_network(parse_network(NETWORK))
    np.testing.assert_array_equal(filter_array(arr, network).compute(), run_plan(network, x))
    reg = plan_regularise(get_nonlinearity("charbonnier", "regulariser", 0.5), alpha=3.0)
    np.testing.assert_array_equal(filter_array(arr, reg).compute(), run_plan(reg, x))


@settings(max_examples=40)
@given(
    case=cases(),
    dtype=st.sampled_from([None, "float32"]),
    estimator=st.sampled_from(["quiet-windows", "mad-haar"]),
)
def test_the_noise_estimate_is_the_commands_estimate_bit_for_bit(case, dtype, estimator):
    x, chunks = case
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    want = estimate_noise(x if dtype is None else x.astype(dtype), estimator)
    np.testing.assert_array_equal(noise_sigma(arr, dtype=dtype, estimator=estimator), want)


def test_chunks_across_channels_are_joined_and_the_chunking_kept():
    x = np.random.default_rng(1).standard_normal((500, 4))
    arr = da.from_array(x, chunks=(64, 2))
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.3), steps=100)
    out = filter_array(arr, plan)
    assert out.shape == x.shape and out.chunks[0] == arr.chunks[0]
    np.testing.assert_array_equal(out.compute(), run_plan(plan, x))


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (np.zeros(10), ParameterError, "takes a dask array, not ndarray"),
        # the signal's fault, as rd.diffuse says of the same samples in memory
        (da.zeros((4, 2, 2)), SignalError, "not (4, 2, 2)"),
        (da.zeros(1), SignalError, "at least 2 samples"),
    ],
)
def test_what_is_not_a_signal_is_refused(value, error, words):
    plan = plan_resnet(get_nonlinearity("tanh", "activation", 1.0), 2)
    with pytest.raises(error) as info:
        filter_array(value, plan)
    assert words in str(info.value)


#: Measurements that are sums (to rounding); every other one is exact.
SUMS = {"tv_in", "tv_out", "mean_drift", "energy_in", "energy_out"}


def _equal_reports(got: dict, want: dict, amplitude: float) -> None:
    assert got.keys() == want.keys()
    for key in want:
        if key != "channels":
            assert got[key] == want[key], key
    for g, w in zip(got["channels"], want["channels"], strict=True):
        assert g.keys() == w.keys()
        for key in w:
            if key in SUMS:  # sums of up to 300 terms of up to ~amplitude
                assert g[key] == pytest.approx(w[key], rel=1e-12, abs=1e-12 * amplitude), key
            else:
                assert g[key] == w[key], key


@settings(max_examples=40)
@given(
    case=cases(),
    which=st.sampled_from(["perona-malik", "charbonnier", "tanh", "regularise"]),
    dtype=st.sampled_from([None, "float32"]),
)
def test_the_report_as_dask_reductions_is_the_in_memory_report(case, which, dtype):
    x, chunks = case
    if which == "regularise":
        plan = plan_regularise(get_nonlinearity("charbonnier", "regulariser", 0.5), alpha=2.0)
    else:
        plan = plan_diffuse(get_nonlinearity(which, "diffusivity", 0.7), steps=9)
    u = run_plan(plan, x, dtype=dtype)  # measured against the input as given, as the commands
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    got = measure_array(arr, filter_array(arr, plan, dtype=dtype), plan)
    _equal_reports(got, analyse_run(plan, x, u), float(np.abs(x).max()) + 1.0)
    # and exactly the numbers of one measure fed the same chunks in turn
    channels, amplitude = 1 if x.ndim == 1 else x.shape[1], float(np.abs(x).max())
    one = StreamMeasure(plan, channels, amplitude, u.dtype, frames=x.shape[0], per_add=True)
    for a, b in zip(np.cumsum((0, *chunks))[:-1], np.cumsum(chunks), strict=True):
        one.add(x[a:b], u[a:b])
    assert got == one.report(plan.verdict(), got["noise_sigma"], got["noise_estimator"])


def test_a_measure_travels_without_its_scratch_arrays():
    import pickle

    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.5), steps=3)
    x = np.random.default_rng(3).standard_normal((50_000, 2))
    m = StreamMeasure(plan, 2, float(np.abs(x).max()), np.float64, per_add=True)
    m.add(x, run_plan(plan, x))
    sent = pickle.dumps(m)
    assert len(sent) < 20_000  # not the chunk's 2 x 800 kB of scratch
    back = pickle.loads(sent)
    back.add(x[:10], x[:10])  # and it still measures
    m.add(x[:10], x[:10])
    assert back.report(plan.verdict(), [0.0, 0.0]) == m.report(plan.verdict(), [0.0, 0.0])


def test_measuring_refuses_an_output_of_another_shape():
    arr = da.zeros((10, 2), chunks=5)
    plan = plan_resnet(get_nonlinearity("tanh", "activation", 1.0), 2)
    with pytest.raises(ParameterError, match="f has shape"):
        measure_array(arr, arr[:8], plan)


def test_on_a_local_cluster_of_two_processes():
    distributed = pytest.importorskip("distributed")
    x = np.cumsum(np.random.default_rng(2).standard_normal((20_000, 2)), axis=0)
    plan = plan_diffuse(get_nonlinearity("charbonnier", "diffusivity", 0.5), steps=25)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # a free port: 8787 may be taken
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        arr = da.from_array(x, chunks=(3000, 2))
        got = client.compute(filter_array(arr, plan)).result()
        sigma = noise_sigma(arr)
        report = measure_array(arr, filter_array(arr, plan), plan)  # on the workers too
        others = {
            name: client.compute(filter_array(arr, p)).result() for name, p in _every_plan().items()
        }
        workers = client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    np.testing.assert_array_equal(got, run_plan(plan, x))
    np.testing.assert_array_equal(sigma, estimate_noise(x))
    _equal_reports(report, analyse_run(plan, x, got), float(np.abs(x).max()))
    for name, p in _every_plan().items():
        np.testing.assert_array_equal(others[name], run_plan(p, x), err_msg=name)


def _every_plan() -> dict:
    """A plan of every registry family, a regularisation and a network."""
    plans = {
        family: plan_resnet(get_nonlinearity(family, "diffusivity", 0.7), 12, tau=0.2)
        for family in sorted(PAPER_FAMILIES)
    }
    plans["regularise"] = plan_regularise(
        get_nonlinearity("charbonnier", "regulariser", 0.5), alpha=3.0
    )
    plans["network"] = build_network(parse_network(NETWORK))
    return plans


# --------------------------------------------------------------------------
# Files of a batch as tasks of a cluster
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes and their scheduler, on 127.0.0.1 only; closed after the tests."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: 8787 may be taken
    ) as c:
        yield c


@pytest.fixture
def batch_inputs(tmp_path):
    """Three good files (WAV, FLAC, CSV with a time column) and one with a bad cell."""
    import soundfile

    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(5)
    x = np.clip(0.3 * rng.standard_normal((4000, 2)), -1, 1)
    soundfile.write(src / "a.wav", x, 8000, subtype="PCM_16")
    soundfile.write(src / "b.flac", x[:, 0], 8000, subtype="PCM_24")
    rows = [f"{0.01 * i!r},{v!r}" for i, v in enumerate(rng.standard_normal(3000).tolist())]
    (src / "c.csv").write_text("t,v\n" + "\n".join(rows) + "\n")
    (src / "bad.csv").write_text("v\n1.0\n2.0\noops\n")
    return [str(src / n) for n in ("a.wav", "bad.csv", "b.flac", "c.csv")]


def _tree(directory) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_batch_on_the_cluster_equals_the_local_batch(cluster, batch_inputs, tmp_path):
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    make_plan = planner("diffuse", "perona-malik", lam=0.2, steps=30)
    local = run_batch(
        make_plan, batch_inputs, str(tmp_path / "local"), report_dir=str(tmp_path / "lr")
    )
    done = []
    remote = run_batch(
        make_plan,
        batch_inputs,
        str(tmp_path / "remote"),
        report_dir=str(tmp_path / "rr"),
        scheduler=cluster.scheduler_address,
        on_done=lambda i, r: done.append(i),
    )
    assert sorted(done) == [0, 1, 2, 3]
    assert [r.exit_code for r in remote] == [r.exit_code for r in local] == [0, 1, 0, 0]
    assert str(remote[1].error) == str(local[1].error)
    assert "oops" in str(remote[1].error)
    assert _tree(tmp_path / "remote") == _tree(tmp_path / "local")
    assert set(_tree(tmp_path / "rr")) == set(_tree(tmp_path / "lr"))
    for a, b in zip(local, remote, strict=True):
        if a.report is not None:
            assert a.report["channels"] == b.report["channels"]


def test_a_worker_killed_during_a_batch(cluster, tmp_path):
    """The scheduler runs a lost worker's files again: every output is written, and right."""
    import os
    import signal
    import threading

    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(9)
    for k in range(12):
        np.savetxt(src / f"s{k:02d}.csv", rng.standard_normal(20_000))
    inputs = sorted(str(p) for p in src.iterdir())
    make_plan = planner("diffuse", "charbonnier", lam=0.5, steps=400)
    want = run_batch(make_plan, inputs, str(tmp_path / "local"))
    client = __import__("distributed").Client(cluster, set_as_default=False)
    pids = client.run(os.getpid)
    client.close()
    victim = sorted(pids.values())[0]
    first = threading.Event()

    def on_done(i, result):
        if not first.is_set():
            first.set()
            os.kill(victim, signal.SIGKILL)  # a worker dies with files still to run

    got = run_batch(
        make_plan,
        inputs,
        str(tmp_path / "remote"),
        scheduler=cluster.scheduler_address,
        on_done=on_done,
    )
    assert first.is_set()
    assert [r.exit_code for r in got] == [r.exit_code for r in want] == [0] * 12
    outputs = _tree(tmp_path / "remote")
    # SIGKILL cannot be caught: the killed worker may leave its temporary beside
    # a target (never the target itself, which the rerun writes whole)
    litter = [n for n in outputs if n.startswith(".")]
    assert all(n.endswith(".tmp") and n[1:].split(".csv.")[0] + ".csv" in outputs for n in litter)
    assert {n: b for n, b in outputs.items() if n not in litter} == _tree(tmp_path / "local")


def test_an_unreachable_scheduler_is_one_clear_error(batch_inputs, tmp_path, monkeypatch):
    import socket

    import resdenoise.dask
    from resdenoise.batch import run_batch
    from resdenoise.errors import SignalError
    from resdenoise.pipeline import planner

    monkeypatch.setattr(resdenoise.dask, "CONNECT_TIMEOUT", 1)  # refused at once; no long wait
    with socket.socket() as s:  # a port of 127.0.0.1 that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        SignalError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:"
    ):
        run_batch(
            planner("diffuse", "linear", lam=1.0, steps=1),
            batch_inputs,
            str(tmp_path / "o"),
            scheduler=f"tcp://127.0.0.1:{port}",
        )


def test_the_command_line_sends_a_batch_to_the_scheduler(cluster, batch_inputs, tmp_path):
    from click.testing import CliRunner

    from resdenoise.cli import cli

    runner = CliRunner()
    common = ["diffuse", *batch_inputs, "--steps", "5", "--lambda", "0.2", "-q"]
    local = runner.invoke(cli, [*common, "-o", f"{tmp_path}/local/"])
    remote = runner.invoke(
        cli, [*common, "-o", f"{tmp_path}/remote/", "--scheduler", cluster.scheduler_address]
    )
    assert local.exit_code == remote.exit_code == 1  # bad.csv fails, the others are written
    assert remote.stderr == local.stderr
    assert _tree(tmp_path / "remote") == _tree(tmp_path / "local")
    by_env = runner.invoke(
        cli,
        [*common, "-o", f"{tmp_path}/env/"],
        env={"RESDENOISE_SCHEDULER": cluster.scheduler_address},
    )
    assert by_env.exit_code == 1 and _tree(tmp_path / "env") == _tree(tmp_path / "local")


def test_scheduler_with_one_file_is_a_usage_error(batch_inputs, tmp_path):
    from click.testing import CliRunner

    from resdenoise.cli import cli

    args = ["diffuse", batch_inputs[0], "--steps", "1", "-o", str(tmp_path / "o.wav")]
    result = CliRunner().invoke(cli, [*args, "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--scheduler sends the files of a batch to a cluster" in result.stderr
    assert not (tmp_path / "o.wav").exists()


def test_a_local_batch_imports_nothing_of_dask(batch_inputs, tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from resdenoise.batch import run_batch; from resdenoise.pipeline import planner; "
        f"run_batch(planner('diffuse', 'linear', lam=1.0, steps=1), {batch_inputs!r}, {str(tmp_path / 'o')!r}, jobs=2); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed') or m == 'resdenoise.dask'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert len(list((tmp_path / "o").iterdir())) == 3
