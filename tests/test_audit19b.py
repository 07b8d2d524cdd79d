"""audit19b: a batch on a Dask cluster, and the program in a container.

B2: a relative path resolved in the worker's directory (another file, or none);
B3: a stopped batch's tasks still writing on the cluster; B4: every task carrying
the whole batch; B5: a cluster without a worker waited for, for ever.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from resdenoise.errors import Interrupted

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")


def _local_cluster(n_workers: int = 2):
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )


def _csv(path, x) -> None:
    np.savetxt(path, x)


def _planner(steps: int = 5):
    from resdenoise.pipeline import planner

    return planner("diffuse", "perona-malik", lam=0.2, steps=steps)


# B2 ---------------------------------------------------------------------------


def test_relative_paths_are_the_clients_not_the_workers(tmp_path, monkeypatch):
    """Workers started in another directory with a data/a.csv of their own: the client's
    file is filtered and written where the client looks, the worker's left alone."""
    from resdenoise.batch import run_batch

    client_dir, worker_dir = tmp_path / "client", tmp_path / "worker"
    for d, seed in ((client_dir, 1), (worker_dir, 2)):
        (d / "data").mkdir(parents=True)
        _csv(d / "data" / "a.csv", np.random.default_rng(seed).standard_normal(500))
        _csv(d / "data" / "b.csv", np.random.default_rng(seed + 10).standard_normal(400))
    (client_dir / "data" / "c.csv").write_text("1.0\n2.0\n3.0\n")  # the worker has none
    monkeypatch.chdir(worker_dir)
    with _local_cluster(1) as cluster:  # its worker's working directory: worker/
        monkeypatch.chdir(client_dir)
        inputs = ["data/a.csv", "data/b.csv", "data/c.csv"]
        local = run_batch(_planner(), inputs, "local/", report_dir="lrep/")
        remote = run_batch(
            _planner(), inputs, "out/", report_dir="rep/", scheduler=cluster.scheduler_address
        )
    assert [r.exit_code for r in remote] == [r.exit_code for r in local] == [0, 0, 0]
    assert [r.output for r in remote] == ["out/a.csv", "out/b.csv", "out/c.csv"]
    for name in ("a.csv", "b.csv", "c.csv"):
        assert (client_dir / "out" / name).read_bytes() == (
            client_dir / "local" / name
        ).read_bytes()
        assert (client_dir / "rep" / (name + ".json")).exists()
    assert not (worker_dir / "out").exists() and not (worker_dir / "rep").exists()


def test_a_worker_that_sees_another_file_fails_it(tmp_path):
    """The worker checks that it sees the input as the client did (size, time)."""
    from resdenoise.batch import _Remote, _remote_file, _seen
    from resdenoise.pipeline import RunOptions

    src = tmp_path / "a.csv"
    _csv(src, np.arange(50.0))
    seen = _seen(str(src))
    shared = _Remote(_planner(), RunOptions(), None, None, None, None, False, True)
    out = tmp_path / "o.csv"
    other = (seen[0] + 1, seen[1])  # what the client saw: another size
    result = _remote_file(shared, str(src), str(out), None, other)
    assert result.exit_code == 1 and not out.exists()
    assert "does not see this file as the client does" in str(result.error)
    assert "shared file system" in str(result.error)
    gone = _remote_file(shared, str(tmp_path / "missing.csv"), str(out), None, seen)
    assert "no such file" in str(gone.error) and not out.exists()
    ok = _remote_file(shared, str(src), str(out), None, seen)
    assert ok.exit_code == 0 and out.exists()


# B4 ---------------------------------------------------------------------------


def _payloads(tmp_path, n: int, monkeypatch) -> list[int]:
    """The pickled size of what each task of an n-file batch carries to the scheduler."""
    import resdenoise.dask
    from resdenoise.batch import run_batch

    src = tmp_path / f"in{n}"
    src.mkdir()
    for k in range(n):
        (src / f"file_{k:05d}.csv").write_text("1.0\n2.0\n3.0\n")
    sizes: list[int] = []

    def fake(address, *args, **kwargs):
        if len(args) == 1:  # one callable per file (the old form)
            sizes.extend(len(cloudpickle.dumps(t)) for t in args[0][:3])
        else:  # function, what is shared (sent once), each file's arguments
            function, _, arguments = args
            sizes.extend(len(cloudpickle.dumps((function, a))) for a in arguments[:3])
        return (r for r in ())  # a generator, as run_tasks

    monkeypatch.setattr(resdenoise.dask, "run_tasks", fake)
    inputs = sorted(str(p) for p in src.iterdir())
    run_batch(_planner(), inputs, str(tmp_path / f"out{n}"), scheduler="tcp://127.0.0.1:1")
    return sizes


def test_a_task_carries_its_own_file_not_the_batch(tmp_path, monkeypatch):
    small, large = _payloads(tmp_path, 4, monkeypatch), _payloads(tmp_path, 400, monkeypatch)
    assert max(large) < 1.2 * max(small) and max(large) < 2000, (small, large)


# B3 ---------------------------------------------------------------------------


def _idle(cluster) -> None:
    """Wait until no worker runs a task (a released task runs to its end on its worker)."""
    with distributed.Client(cluster, set_as_default=False) as client:
        for _ in range(1200):
            busy = client.run(lambda dask_worker: len(dask_worker.state.executing))
            if not any(busy.values()):
                return
            time.sleep(0.1)
    raise AssertionError("the workers are still running tasks after 2 minutes")


def test_a_stopped_batch_writes_nothing_more_on_the_cluster(tmp_path):
    """Stopped (a signal's Interrupted) after its first file: the tasks still running
    on the cluster put nothing in place, and what the run says it wrote is all there is."""
    from resdenoise.batch import run_batch
    from resdenoise.io.signals import handle_signals

    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(4)
    for k in range(5):
        _csv(src / f"a{k}.csv", rng.standard_normal(60_000))
    inputs = sorted(str(p) for p in src.iterdir())
    out = tmp_path / "out"

    def stop(i, result):
        raise Interrupted(15)  # as the SIGTERM handler raises it in the main thread

    with _local_cluster(2) as cluster:
        with pytest.raises(Interrupted) as info, handle_signals():
            run_batch(
                _planner(steps=600),
                inputs,
                str(out),
                scheduler=cluster.scheduler_address,
                on_done=stop,
            )
        _idle(cluster)
    there = sorted(str(p) for p in out.iterdir()) if out.exists() else []
    said = {os.path.abspath(p) for p in info.value.written}
    assert not [p for p in there if p.endswith(".tmp")]
    assert set(there) == said, (there, said)  # the file finished first among them
    assert 1 <= len(there) < len(inputs)


# B5 ---------------------------------------------------------------------------


def test_a_cluster_without_workers_fails_the_files_in_time(tmp_path, monkeypatch):
    import resdenoise.dask
    from resdenoise.batch import run_batch

    monkeypatch.setattr(resdenoise.dask, "NO_WORKER_TIMEOUT", 2, raising=False)
    src = tmp_path / "in"
    src.mkdir()
    for k in range(3):
        _csv(src / f"s{k}.csv", np.arange(30.0) % 7)
    inputs = sorted(str(p) for p in src.iterdir())
    got: list = []
    with _local_cluster(0) as cluster:
        run = threading.Thread(
            target=lambda: got.append(
                run_batch(
                    _planner(), inputs, str(tmp_path / "o"), scheduler=cluster.scheduler_address
                )
            ),
            daemon=True,
        )
        run.start()
        run.join(120)
        assert not run.is_alive(), "the batch still waits for a worker after 2 minutes"
    (results,) = got
    assert [r.exit_code for r in results] == [1, 1, 1]
    assert all(str(r.error).startswith("not run: no Dask worker at tcp://") for r in results)
    assert not (tmp_path / "o").exists()


# B12 --------------------------------------------------------------------------


def test_a_closing_worker_removes_its_temporaries(tmp_path):
    """A worker stopped gracefully (a scale-down, a drain: SIGTERM to its nanny) was
    killed by its nanny after 8 s, its file's temporary left for ever; now each worker of
    a batch has a plugin that removes its temporaries as it closes."""
    from resdenoise.batch import run_batch
    from resdenoise.dask import _plugin_class
    from resdenoise.io import signals

    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        _csv(src / f"s{k}.csv", np.arange(40.0) % 5)
    inputs = sorted(str(p) for p in src.iterdir())
    with _local_cluster(1) as cluster:
        run_batch(_planner(), inputs, str(tmp_path / "o"), scheduler=cluster.scheduler_address)
        with distributed.Client(cluster, set_as_default=False) as client:
            plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert all("resdenoise-temporaries" in names for names in plugins.values()), plugins
    # what its teardown does, here: the temporaries this process registered, removed
    left = tmp_path / ".x.csv.abc.tmp"
    left.write_text("partial")
    signals.track(str(left), fresh=False)
    _plugin_class()(signals.remove_temporaries).teardown(None)
    assert not left.exists()
