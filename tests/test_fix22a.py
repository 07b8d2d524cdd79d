"""audit22a: a batch on a Dask cluster, at scale.

A22a-1: an address that accepts the connection but never speaks Dask (the dashboard's
port, any HTTP server) fails within a bounded time with one line, not a batch that
hangs for ever; A22a-2: a peer that writes first (an SSH server's greeting, read by
Dask as a frame of exbibytes) is "no Dask scheduler", exit 1, not "out of memory";
A22a-3: a cluster without a worker fails each file once; A22a-4: a cluster batch's
reports name the input and output as the local batch's do (as the user gave them).
"""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

distributed = pytest.importorskip("distributed")

from resdenoise.batch import run_batch  # noqa: E402
from resdenoise.errors import SignalError  # noqa: E402
from resdenoise.pipeline import planner  # noqa: E402


def _local(workers: int, threads: int = 1):
    """A local cluster of worker processes on 127.0.0.1 (the dashboard on a free port)."""
    return distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=threads,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )


def _plan():
    return planner("diffuse", "linear", lam=0.1, steps=3)


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in range(4):
        (src / f"f{k}.csv").write_text("v\n1\n2\n3\n4\n")
    return [str(src / f"f{k}.csv") for k in range(4)]


class _Peer:
    """A TCP server on 127.0.0.1 that accepts and then says ``greeting`` (or nothing),
    reading whatever it is sent, until closed."""

    def __init__(self, greeting: bytes = b""):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.greeting, self.conns, self.accepted = greeting, [], 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            if self.greeting:
                conn.sendall(self.greeting)

    def close(self):
        self.server.close()
        for c in self.conns:
            c.close()


def _batch_in_thread(files, out, scheduler, limit: float):
    """run_batch in a thread: (finished within ``limit`` s, what it raised or returned)."""
    got: list = []

    def go():
        try:
            got.append(run_batch(_plan(), files, out, scheduler=scheduler))
        except BaseException as exc:  # noqa: BLE001 - what it raised is the result
            got.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(limit)
    return (not thread.is_alive(), got[0] if got else None)


def test_a_silent_peer_is_no_scheduler_within_a_bounded_time(files, tmp_path, monkeypatch):
    """fails before: the batch was still waiting after 40 s (for ever, by hand: 12 min)."""
    import resdenoise.dask

    monkeypatch.setattr(resdenoise.dask, "CONNECT_TIMEOUT", 2)
    monkeypatch.setattr(resdenoise.dask, "GREETING_TIMEOUT", 2, raising=False)
    peer = _Peer()  # accepts, reads, never answers: a web server waiting for a request
    try:
        ended, got = _batch_in_thread(files, str(tmp_path / "o"), peer.address, 40)
    finally:
        peer.close()
    assert ended, "the batch still waits for a peer that never speaks"
    assert isinstance(got, SignalError), got
    assert "is no Dask scheduler" in str(got) and "8787" in str(got)
    assert peer.address in str(got)
    assert peer.accepted >= 1  # it was reached: not said to be unreachable
    assert not (tmp_path / "o").exists()


def test_a_peer_that_writes_first_is_no_scheduler_not_out_of_memory(files, tmp_path):
    """fails before: MemoryError (the CLI: "out of memory (3.07 EiB ...)", exit 5)."""
    peer = _Peer(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
    try:
        ended, got = _batch_in_thread(files, str(tmp_path / "o"), peer.address, 60)
    finally:
        peer.close()
    assert ended
    assert isinstance(got, SignalError), repr(got)
    assert "is no Dask scheduler" in str(got) and "no Dask message" in str(got)
    assert not (tmp_path / "o").exists()


def test_the_command_line_says_no_scheduler_exit_1(files, tmp_path):
    from click.testing import CliRunner

    from resdenoise.cli import cli

    peer = _Peer(b"SSH-2.0-OpenSSH_9.6\r\n")
    try:
        args = ["diffuse", *files, "--steps", "3", "--lambda", "0.1", "-o", f"{tmp_path}/o/"]
        result = CliRunner().invoke(cli, [*args, "--scheduler", peer.address])
    finally:
        peer.close()
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is no Dask scheduler" in lines[0], lines
    assert "memory" not in result.stderr


def test_a_cluster_without_workers_fails_each_file_once(files, tmp_path, monkeypatch):
    """fails before (a race, 1 batch in 4 here, 2 in 3 for the auditor; every time once
    the cancellations arrive before the next look): a file yielded twice, once as
    "FutureCancelledError ... cancelled for reason: unknown"."""
    import time

    from resdenoise.dask import run_tasks

    monkeypatch.setenv("RESDENOISE_NO_WORKER_TIMEOUT", "0.5")
    cancel = distributed.Client.cancel

    def slow_cancel(self, *args, **kwargs):  # the race made sure: the cancellations arrive
        out = cancel(self, *args, **kwargs)
        time.sleep(0.3)
        return out

    monkeypatch.setattr(distributed.Client, "cancel", slow_cancel)
    with _local(0) as cluster:
        for _ in range(2):
            seen = list(run_tasks(cluster.scheduler_address, len, None, [(k,) for k in range(6)]))
            assert sorted(i for i, _ in seen) == list(range(6)), seen
            for _, result in seen:
                assert isinstance(result, SignalError) and "not run: no Dask worker" in str(result)


def test_a_file_that_kills_its_worker_fails_alone_in_one_line():
    """A22a-7. fails before: the small file beside it failed too, both with Dask's
    KilledWorker paragraph ("Attempted to run task ... on 2 different workers")."""
    import dask

    from resdenoise.dask import run_tasks

    def work(shared, what, on_commit=None, progress=None):  # pickled by value
        import os
        import signal
        import time

        if what == "kill":  # as the kernel's out-of-memory killer would
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(2.0)  # running beside it when it dies
        return what

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        _local(1, threads=2) as cluster,
    ):
        got = dict(run_tasks(cluster.scheduler_address, work, None, [("kill",), ("small",)]))
    assert sorted(got) == [0, 1]
    assert got[1] == "small", got[1]
    assert isinstance(got[0], SignalError), repr(got[0])
    line = str(got[0])
    assert "\n" not in line and "died each of 2 times" in line and "memory" in line
    assert "no other file of the batch beside it" in line


def test_a_cluster_batch_reports_name_the_files_as_given(tmp_path, monkeypatch):
    """A22a-4. fails before: "input": "/tmp/.../in/f0.csv" (absolute) against the local
    batch's "in/f0.csv"."""
    (tmp_path / "in").mkdir()
    for k in range(3):
        (tmp_path / "in" / f"f{k}.csv").write_text("v\n1\n2\n3\n4\n5\n")
    with _local(1) as cluster:
        monkeypatch.chdir(tmp_path)  # the worker was started elsewhere
        (tmp_path / "in" / "bad.csv").write_text("v\n1\n2\noops\n")
        inputs = ["in/f0.csv", "./in/f1.csv", str(tmp_path / "in" / "f2.csv"), "in/bad.csv"]
        local = run_batch(_plan(), inputs, "lo/", report_dir="lr")
        remote = run_batch(
            _plan(), inputs, "dk/", report_dir="dr", scheduler=cluster.scheduler_address
        )
    assert [r.exit_code for r in remote] == [r.exit_code for r in local] == [0, 0, 0, 1]
    # fails before: "/tmp/.../in/bad.csv: line 4, ..." (the CLI: "bad.csv: /tmp/...: line 4")
    assert str(remote[3].error) == str(local[3].error)
    assert str(local[3].error).startswith("in/bad.csv: line 4")
    for path, a, b in zip(inputs[:3], local[:3], remote[:3], strict=True):
        name = os.path.basename(path) + ".json"
        mine = json.loads((tmp_path / "lr" / name).read_text())
        theirs = json.loads((tmp_path / "dr" / name).read_text())
        assert (theirs["input"], theirs["output"]) == (path, mine["output"].replace("lo/", "dk/"))
        assert mine["input"] == path and b.report["input"] == a.report["input"] == path
        for r in (mine, theirs):
            del r["job"], r["output"]
        assert theirs == mine


def test_a_stopped_cluster_batch_names_its_outputs_as_given(tmp_path, monkeypatch):
    """A22a-9. fails before: the signal's line got the workers' absolute paths beside the
    relative ones of the verdict lines: each output counted twice, spelled two ways."""
    import resdenoise.batch
    import resdenoise.dask

    told: list = []
    monkeypatch.setattr(resdenoise.batch, "placed", lambda *p: told.extend(p))

    def stopped(address, function, shared, arguments, *, on_stop=None, **kwargs):
        path, target, report = arguments[0][:3]  # the workers' (absolute) names
        on_stop([target, report])
        raise KeyboardInterrupt  # the batch stopped by a signal
        yield  # a generator, as run_tasks

    monkeypatch.setattr(resdenoise.dask, "run_tasks", stopped)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("v\n1\n2\n3\n")
    (tmp_path / "in" / "b.csv").write_text("v\n1\n2\n3\n")
    with pytest.raises(KeyboardInterrupt):
        run_batch(_plan(), ["in/a.csv", "in/b.csv"], "o/", report_dir="r/", scheduler="tcp://x:1")
    assert told == ["o/a.csv", "r/a.csv.json"]


def test_the_scheduler_gone_fails_each_file_left_once_in_one_line(monkeypatch, tmp_path):
    """A22a-8 (its second case). fails before: "internal error: OSError: Timed out trying to
    connect ..." out of the batch, no file's line (the scheduler killed while the batch
    waited for a worker)."""
    import signal

    from test_left23 import _scheduler_killed_after

    from resdenoise.dask import run_tasks

    monkeypatch.setenv("RESDENOISE_NO_WORKER_TIMEOUT", "600")
    address, scheduler = _scheduler_killed_after(1, tmp_path / "scheduler.log")
    try:
        ended, got = [], []

        def go():
            try:
                got.extend(run_tasks(address, len, None, [(k,) for k in range(4)]))
            except BaseException as exc:  # noqa: BLE001 - what it raised is the result
                got.append(exc)
            ended.append(True)

        thread = threading.Thread(target=go, daemon=True)
        thread.start()
        thread.join(90)
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(scheduler.pid, signal.SIGKILL)
        scheduler.wait()
    assert ended, "the batch did not end"
    assert sorted(i for i, _ in got) == [0, 1, 2, 3], got
    for _, result in got:
        assert isinstance(result, SignalError) and "went away" in str(result), repr(result)
