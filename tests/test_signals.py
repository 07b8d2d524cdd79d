"""Every catchable signal cleans up and exits 128+N (issue 18, item 2).

A long streamed run (from a file, and from stdin through its spool) gets
SIGTERM, SIGHUP or SIGINT at a seeded random moment: afterwards there is no
leftover temporary beside the target or in the temporary directory, the
input is unchanged, the target is either as it was or complete, and the
exit code is 128+N (or 0 when the run finished first).  Runs go a few at a
time; the long variant is marked ``slow``.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from resdenoise.errors import Interrupted
from resdenoise.io.signals import handle_signals

EXE = str(Path(sys.executable).parent / "resdenoise")
RUN = ["diffuse", "--steps", "300", "--lambda", "0.5", "--chunk-size", "30000", "-q"]
SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")

#: The disposition of each signal the tests send, as a process started from a terminal
#: has it (Python's own handler for SIGINT).
DEFAULTS = {
    s: signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL for s in SIGNALS
}


def _default_dispositions() -> None:
    """In a child the tests start (its ``preexec_fn``): the signals they send not
    ignored, whatever the test run inherited (bash starts a background job, such as
    ``make test &`` in a script, with SIGINT ignored, and the program keeps an ignored
    signal ignored, as it should: the run would finish)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _signals_not_ignored():
    """The same in this process, for the tests that signal it (and its forked
    workers), during each test only: the caller's dispositions afterwards."""
    before = {s: signal.getsignal(s) for s in SIGNALS}
    for s, handler in before.items():
        if handler is signal.SIG_IGN:
            signal.signal(s, DEFAULTS[s])
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    x = np.sin(np.arange(300_000) / 50.0) + np.random.default_rng(1).normal(0, 0.1, 300_000)
    path = tmp_path_factory.mktemp("signals") / "big.csv"
    path.write_text("v\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    return path


@pytest.fixture(scope="module")
def complete(big, tmp_path_factory) -> bytes:
    """The output of the uninterrupted run."""
    out = tmp_path_factory.mktemp("complete") / "out.csv"
    subprocess.run([EXE, *RUN, str(big), "-o", str(out)], check=True, timeout=120)
    return out.read_bytes()


def _trial(big: Path, work: Path, sig: int, delay: float, stdin: bool):
    """Start one run, send ``sig`` after ``delay`` seconds; return what to check later."""
    work.mkdir()
    spool = work / "tmp"
    spool.mkdir()
    out = work / "out.csv"
    out.write_bytes(b"old\n")
    env = dict(os.environ, TMPDIR=str(spool))
    if stdin:
        with open(big, "rb") as fh:
            proc = subprocess.Popen(
                [EXE, *RUN, "-", "-o", str(out)],
                stdin=fh,
                env=env,
                stderr=subprocess.PIPE,
                preexec_fn=_default_dispositions,
            )
    else:
        proc = subprocess.Popen(
            [EXE, *RUN, str(big), "-o", str(out)],
            env=env,
            stderr=subprocess.PIPE,
            preexec_fn=_default_dispositions,
        )
    return proc, sig, delay, work


def _wait_ready(proc, signum: int = signal.SIGTERM) -> None:
    """Until the process catches ``signum`` (its handlers are in place): a signal
    before the program has started is the interpreter's, not the program's."""
    bit = 1 << (signum - 1)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                caught = next(line for line in fh if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return
        if int(caught.split()[1], 16) & bit:
            return
        time.sleep(0.005)


def _check(proc, sig, work, complete: bytes, big_bytes: bytes, big: Path) -> str:
    _, err = proc.communicate(timeout=120)
    code = proc.returncode
    assert code in (0, 128 + sig), (sig, code, err.decode()[-2000:])
    assert b"Traceback" not in err, err.decode()
    leftovers = sorted(p.name for p in work.rglob("*") if p.name not in ("out.csv", "tmp"))
    assert leftovers == [], (sig, code, leftovers)
    body = (work / "out.csv").read_bytes()
    assert body in (b"old\n", complete), (sig, code, len(body))
    assert big.read_bytes() == big_bytes
    return "finished" if code == 0 else "interrupted"


def _trials(big, complete, tmp_path, count: int, seed: int, at_once: int = 6) -> dict:
    rng = random.Random(seed)
    big_bytes = big.read_bytes()
    seen = {"finished": 0, "interrupted": 0}
    for start in range(0, count, at_once):
        started = []
        try:
            for k in range(start, min(count, start + at_once)):
                sig = SIGNALS[k % len(SIGNALS)]
                delay = rng.uniform(0.0, 1.0)
                started.append(_trial(big, tmp_path / f"t{k}", sig, delay, stdin=k % 2 == 1))
            for proc, *_ in started:
                _wait_ready(proc)
            t0 = time.monotonic()
            for proc, sig, delay, _ in sorted(started, key=lambda t: t[2]):
                time.sleep(max(0.0, t0 + delay - time.monotonic()))
                if proc.poll() is None:
                    proc.send_signal(sig)
            for proc, sig, _, work in started:
                seen[_check(proc, sig, work, complete, big_bytes, big)] += 1
        finally:
            _reap(started)
    return seen


def _reap(started) -> None:
    """Kill and wait for the runs a failed check left behind: a Popen freed while its
    process runs warns (an error here), and pytest would pin that on a later test."""
    for proc, *_ in started:
        if proc.returncode is None:
            proc.kill()
            proc.communicate()


class _FreedWhileASignalArrives:
    """Its finaliser is where Python runs the signal's handler (as the import
    system's module-lock callback was, in a run that then ignored SIGHUP)."""

    def __del__(self):
        signal.raise_signal(signal.SIGTERM)  # the handler runs here, at this call's end
        self.done = True


def test_a_signal_handled_inside_a_finaliser_still_interrupts(capfd):
    reached = []
    with pytest.raises(Interrupted) as got:
        with handle_signals():
            _FreedWhileASignalArrives()  # freed at once
            for _ in range(300):
                time.sleep(0.01)  # the run goes on: the signal must stop it here
            reached.append("the end")
    assert got.value.signum == signal.SIGTERM and reached == []
    assert "Exception ignored" not in capfd.readouterr().err


def test_signals_at_random_moments_leave_nothing_behind(big, complete, tmp_path):
    seen = _trials(big, complete, tmp_path, count=18, seed=18)
    assert seen["interrupted"] > 0


@pytest.mark.slow
def test_signals_at_random_moments_many(big, complete, tmp_path):
    seen = _trials(big, complete, tmp_path, count=60, seed=1818)
    assert seen["interrupted"] > 0


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _batch_of_four(big: Path, tmp_path: Path):
    """``--jobs 2`` over four copies of ``big`` into ``tmp_path/out/``, started: (process,
    the output directory)."""
    inputs = []
    for k in range(4):
        p = tmp_path / f"in{k}.csv"
        p.write_bytes(big.read_bytes())
        inputs.append(str(p))
    out = tmp_path / "out"
    out.mkdir()  # there: the temporaries are written in it from the first file
    proc = subprocess.Popen(
        [EXE, *RUN, *inputs, "-o", str(out) + "/", "--jobs", "2"],
        stderr=subprocess.PIPE,
        preexec_fn=_default_dispositions,
    )
    return proc, out


def test_batch_workers_die_with_their_parent(big, tmp_path):
    proc, out = _batch_of_four(big, tmp_path)
    workers: list = []
    deadline = time.monotonic() + 30
    while len(workers) < 1 and time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.02)
    assert len(workers) >= 1, "the worker never started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")]
    assert alive == [], alive
    leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def _writing(pid: int, directory: Path) -> bool:
    """The process holds a file open in ``directory`` (the temporary it writes)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(directory) + os.sep):
                return True
    return False


def test_a_signal_while_the_parent_runs_a_file_of_its_own(big, complete, tmp_path):
    """--jobs 2: the parent is one of the two processes running files.  SIGINT while
    it and its worker both write a file: exit 130, both temporaries removed, the
    worker ended, and every output there complete."""
    proc, out = _batch_of_four(big, tmp_path)
    try:
        workers: list = []
        both = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if workers and _writing(proc.pid, out) and _writing(workers[0], out):
                both = True  # seen at once: the signal comes while both write
                break
            time.sleep(0.01)
        assert both, "the parent and its worker were never seen writing at once"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGINT, err.decode()
    assert b"Traceback" not in err, err.decode()
    assert [pid for pid in workers if os.path.exists(f"/proc/{pid}")] == []
    written = sorted(out.iterdir())
    assert [p.name for p in written if not p.name.endswith(".csv")] == []
    assert len(written) < 4
    for p in written:
        assert p.read_bytes() == complete, p.name


def _stuck_on_the_way_out(self) -> None:
    """``SignalWriter.close`` in a worker, its temporary written: SIGTERM arrives, and
    the code it interrupts holds a lock its own cleanup waits for (as CPython 3.11
    can raise a handler's exception between a ``queue.Queue``'s ``acquire`` and its
    ``with``: the queue's mutex stays held, draining it or joining its thread waits
    for ever).  After 2 s the worker is killed, as the parent kills a worker that
    outlives its grace period."""
    import threading

    threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGKILL)).start()
    held = threading.Lock()
    held.acquire()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # handled at this call's end
    finally:
        held.acquire()  # a cleanup that cannot finish


def _parent_death_signal() -> int | None:
    """The signal this process gets when its parent dies (Linux), None if none or unknown."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        got = ctypes.c_int(0)
        if libc.prctl(2, ctypes.byref(got), 0, 0, 0) != 0:  # 2: PR_GET_PDEATHSIG
            return None
    except (OSError, AttributeError):
        return None
    return got.value or None


def _two_csv_inputs(tmp_path) -> list[str]:
    """Two small CSV files in ``tmp_path``: a batch's inputs."""
    inputs = []
    for k in range(2):
        p = tmp_path / f"in{k}.csv"
        p.write_bytes(b"v\n1.0\n2.0\n1.5\n0.5\n")
        inputs.append(str(p))
    return inputs


@pytest.mark.parametrize("handled", [True, False], ids=["parent-handles", "library-caller"])
def test_a_worker_stopped_by_a_signal_leaves_no_temporary(
    tmp_path, monkeypatch, handled, worker_takes_first
):
    """A signal ends a worker without unwinding through the code it interrupted:
    its temporary is removed even where that code could not finish, and also
    where the parent (a library caller) installed no handlers.  The file the
    parent runs itself is written."""
    import resdenoise.batch as batch
    from resdenoise.io.writers import SignalWriter
    from resdenoise.pipeline import planner

    inputs = _two_csv_inputs(tmp_path)
    out = tmp_path / "out"
    real = SignalWriter.close

    def close(self) -> None:  # stuck in the worker only (in0, its share)
        if os.getpid() == worker_takes_first:
            return real(self)
        _stuck_on_the_way_out(self)

    monkeypatch.setattr(SignalWriter, "close", close)
    make_plan = planner("diffuse", "linear", lam=1.0, steps=1)
    with handle_signals() if handled else contextlib.nullcontext():
        results = batch.run_batch(make_plan, inputs, str(out), jobs=2)
    assert sorted(p.name for p in out.iterdir()) == ["in1.csv"]  # no temporary
    assert f"exit code {128 + signal.SIGTERM}" in str(results[0].error), results[0].error
    assert results[1].exit_code == 0


@pytest.mark.parametrize("ignored", [False, True], ids=["handled", "others-ignored"])
def test_a_signal_in_the_parents_own_file_stops_the_worker_and_leaves_nothing(
    tmp_path, monkeypatch, worker_takes_first, ignored
):
    """--jobs 2, in the process: SIGINT while the parent writes its own file and the
    worker writes another: Interrupted, both temporaries removed, the worker ended
    and waited for, no file reported.  Also where every other signal was ignored on
    entry (``trap '' TERM``): the parent stopped its worker with SIGTERM, which the
    worker kept ignoring; it was killed after its 30 s of grace, its temporary left.
    The signal a worker gets when its parent dies is one it handles, too."""
    from resdenoise.io.signals import SIGNALS
    from resdenoise.io.writers import SignalWriter

    inputs = _two_csv_inputs(tmp_path)
    out = tmp_path / "out"
    marks = tmp_path / "marks"
    marks.mkdir()

    def close(self) -> None:  # each with its temporary written, not yet renamed
        if os.getpid() != worker_takes_first:  # the worker: in0, until it is stopped
            death = _parent_death_signal()
            handled = death is not None and signal.getsignal(death) not in (
                signal.SIG_IGN,
                signal.SIG_DFL,
            )
            said = marks.parent / f"{os.getpid()}.said"  # whole when the parent sees it
            said.write_text(f"{death} {handled}")
            os.replace(said, marks / str(os.getpid()))
            time.sleep(60)
        deadline = time.monotonic() + 60
        while not list(marks.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)  # the parent, in1: handled at this call's end

    monkeypatch.setattr(SignalWriter, "close", close)
    others = [s for s in SIGNALS if s != signal.SIGINT] if ignored else []
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in others}
    try:
        _batch_ended_by(signal.SIGINT, inputs, out, jobs=2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    (mark,) = marks.iterdir()
    with pytest.raises(ProcessLookupError):  # ended and reaped (a zombie would answer)
        os.kill(int(mark.name), 0)
    death, handled = mark.read_text().split()
    assert death == "None" or handled == "True", death  # None: not Linux


@pytest.mark.parametrize(
    ("handled", "thread"),
    [(True, False), (True, True), (False, False), (False, True)],
    ids=[
        "parent-handles",
        "parent-handles-another-thread-takes-it",
        "library-caller",
        "library-caller-another-thread-takes-it",
    ],
)
def test_a_signal_just_after_a_worker_is_forked_stops_it_too(
    tmp_path, monkeypatch, handled, thread
):
    """SIGINT in the parent between ``os.fork`` and the pool's taking in the new worker
    (here: at the parent's first ``os.close`` after the fork): the worker is stopped
    and waited for as the others are, nothing written.  It was not: the pool did not
    know it, and it ran the batch's two files and wrote them after the parent had
    stopped.  The worker gets the parent's stop before its handlers are set (it
    waits for it at its own first ``os.close``), where a library caller (no
    handlers: ``KeyboardInterrupt``) had the stop's signal ignored: it ends all the
    same, once they are set.  With another thread running in the parent, the signal
    goes to that thread (blocked in this one), its handler runs here at once (the
    test waits for that thread's C handler, which writes to the wakeup fd)."""
    import resdenoise.batch as batch
    from resdenoise.io.signals import STOP
    from resdenoise.pipeline import planner

    real_fork, real_close, real_kill, forked = os.fork, os.close, os.kill, []
    parent, stopped = os.getpid(), tmp_path / "stopped"
    monkeypatch.setattr(batch, "max_jobs", lambda: 2)

    def fork() -> int:
        pid = real_fork()
        forked.append(pid)
        return pid

    def close(fd: int) -> None:
        real_close(fd)
        if os.getpid() != parent:  # the worker, not yet with its handlers: stopped now
            deadline = time.monotonic() + 60
            while not stopped.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
        elif forked and len(forked) == 1:
            forked.append(None)  # once
            real_kill(parent, signal.SIGINT)  # handled at this call's end
            if thread:  # taken by the other thread: its C handler has run, the rest here
                select.select([woken[0]], [], [], 60)

    def kill(pid: int, signum: int) -> None:
        real_kill(pid, signum)
        if signum == STOP:
            stopped.touch()

    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(os, "close", close)
    monkeypatch.setattr(os, "kill", kill)
    out, inputs = tmp_path / "out", _two_csv_inputs(tmp_path)
    before, idle = signal.getsignal(STOP), threading.Event()
    woken = os.pipe()  # the other thread's C handler writes to it (set_wakeup_fd)
    os.set_blocking(woken[1], False)
    if thread:
        threading.Thread(target=idle.wait, args=(60,)).start()
        wakeup = signal.set_wakeup_fd(woken[1])
    try:
        if handled:
            _batch_ended_by(signal.SIGINT, inputs, out, jobs=2)
        else:
            signal.signal(STOP, signal.SIG_IGN)
            with pytest.raises(KeyboardInterrupt):
                batch.run_batch(planner("diffuse", "linear", lam=1.0, steps=1), inputs,
                                str(out), jobs=2)  # fmt: skip
    finally:
        idle.set()
        if thread:
            signal.set_wakeup_fd(wakeup)
        for fd in woken:
            real_close(fd)
        signal.signal(STOP, before)
        unwaited = []
        for pid in forked[:1]:  # not waited for by the pool: wait for it to end (it writes)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
                unwaited.append(pid)
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert (len(forked), unwaited, written, stopped.exists()) == (2, [], [], True)
    assert sorted(tmp_path.glob("*.tmp")) == []


def test_an_exception_on_the_way_out_of_a_signal_ends_a_batch(tmp_path, monkeypatch):
    """One process: an exception that replaces the signal's on its way out (CPython
    3.11's ``RuntimeError: release unlocked lock`` of a queue's ``with``) is the
    signal's, not a failed file after which the batch goes on, the signal ignored."""
    from resdenoise.io.writers import SignalWriter

    def replaced(self) -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except Interrupted:
            raise RuntimeError("release unlocked lock") from None

    inputs = _two_csv_inputs(tmp_path)
    monkeypatch.setattr(SignalWriter, "close", replaced)
    _batch_ended_by(signal.SIGTERM, inputs, tmp_path / "out", jobs=1)


def _batch_ended_by(signum: int, inputs, out, jobs: int) -> None:
    """A batch of ``inputs`` into the new directory ``out`` that the signal ``signum``
    ends: Interrupted by it, no file reported, no directory made, and the temporaries
    (they waited in ``out``'s parent) removed."""
    import resdenoise.batch as batch
    from resdenoise.pipeline import planner

    make_plan = planner("diffuse", "linear", lam=1.0, steps=1)
    done = []
    with pytest.raises(Interrupted) as got:
        with handle_signals():
            batch.run_batch(
                make_plan, inputs, str(out), jobs=jobs, on_done=lambda *a: done.append(a)
            )
    assert got.value.signum == signum and done == []
    assert not out.exists()  # no file: no directory made for them either
    assert sorted(out.parent.glob("*.tmp")) == []  # their temporaries waited here: removed


def test_jobs_are_capped_at_the_usable_cores(tmp_path, monkeypatch):
    import resdenoise.batch as batch
    from resdenoise.pipeline import planner

    inputs = []
    for k in range(5):
        p = tmp_path / f"in{k}.csv"
        p.write_bytes(b"v\n1.0\n2.0\n1.5\n")
        inputs.append(str(p))
    seen = {}
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(batch, "_run_forked", lambda _jobs, jobs, *a: seen.setdefault("jobs", jobs))
    make_plan = planner("diffuse", "linear", lam=1.0, steps=1)
    batch.run_batch(make_plan, inputs, str(tmp_path / "out"), jobs=10000)
    assert seen["jobs"] == 2


def test_a_signal_while_the_temporary_directory_is_probed_leaves_nothing(tmp_path, monkeypatch):
    """The first ``tempfile.gettempdir()`` writes and removes a probe file in
    TMPDIR; a signal that arrived during its ``open`` left it there (a stdin run)."""
    import io
    import tempfile

    from resdenoise.io.atomic import spool_stdin

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # not probed yet in this process
    real_open, opened = os.open, []

    def open_then_signal(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if not opened and os.path.dirname(path) == str(tmp_path):
            opened.append(path)
            signal.raise_signal(signal.SIGHUP)  # arrived while the file was opened
        return fd

    monkeypatch.setattr(os, "open", open_then_signal)
    # as a run started without nohup (an ignored SIGHUP stays ignored: under a nohup'd
    # test run this test would see no signal)
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        with pytest.raises(Interrupted):
            with handle_signals():
                spool_stdin(source=io.BytesIO(b"v\n1.0\n2.0\n"))
    finally:
        signal.signal(signal.SIGHUP, before)
    assert opened and sorted(p.name for p in tmp_path.iterdir()) == []


#: A caller taking items from a reader thread (prefetched) or handing them to a
#: writer thread (Behind) while signals arrive at every moment: each must end as
#: Interrupted, its thread joined.  With ``queue.Queue`` on the caller's side one of
#: about 10-60 such signals was raised between the queue's lock being taken and the
#: ``with`` that releases it, and the shutdown waited for ever (the watchdog's exit 3).
_STORM = """
import signal, sys, threading, os
from resdenoise.errors import Interrupted
from resdenoise.io.prefetch import prefetched
from resdenoise.io.signals import handle_signals
from resdenoise.sink import Behind

def forever():
    while True:
        yield 1

def take(trial):
    for _ in prefetched(forever(), depth=1):
        pass

def hand(trial):
    behind = Behind(lambda item: None, 1)
    try:
        while True:
            behind.put(1)
    finally:
        behind.stop()

for run in (take, hand):
    for trial in range(TRIALS):
        done = threading.Event()
        def watchdog():
            if not done.wait(5.0):
                print(run.__name__, "hung at trial", trial, flush=True)
                os._exit(3)
        threading.Thread(target=watchdog, daemon=True).start()
        try:
            with handle_signals():
                signal.setitimer(signal.ITIMER_REAL, 0.0002 + (trial % 40) * 0.0001)
                run(trial)
        except Interrupted:
            pass
        done.set()
print("ok")
"""


def test_a_signal_at_any_moment_of_a_thread_handoff_ends_the_run():
    script = _STORM.replace("TRIALS", "250")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


def test_a_signal_ignored_on_entry_stays_ignored(big, complete, tmp_path):
    """``nohup resdenoise ...`` (SIGHUP ignored when the program starts) and
    ``trap '' TERM``: the hangup or SIGTERM must not end the run; it was
    (exit 129, 'interrupted by SIGHUP; no output written', the output lost)."""
    out = tmp_path / "out.csv"

    def ignore() -> None:
        _default_dispositions()  # SIGINT as from a terminal, whatever the test run's
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    proc = subprocess.Popen(
        [EXE, *RUN, str(big), "-o", str(out)], stderr=subprocess.PIPE, preexec_fn=ignore
    )
    _wait_ready(proc, signal.SIGUSR1)  # its handlers are in place
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert out.read_bytes() == complete


def test_handle_signals_keeps_an_ignored_signal_ignored():
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with handle_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGALRM) is not signal.SIG_IGN  # always handled
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


_CTRL_C_AT_START = """
import builtins, os, signal, sys
real = builtins.__import__
def hooked(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "cli" and level == 1:  # __main__'s import of the command line
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while it imports
    return real(name, globals, locals, fromlist, level)
builtins.__import__ = hooked
sys.argv = ["resdenoise", "--help"]
from resdenoise.__main__ import main
main()
"""


def test_ctrl_c_during_the_start_up_imports_is_one_line_and_130():
    """SIGINT while the program imports its command line (its first half second on a
    busy machine) printed Python's traceback of KeyboardInterrupt (exit -2, or 1); now
    the line and exit code of a Ctrl-C later in the run."""
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_AT_START], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stderr, done.stdout) == (
        130,
        "Error: interrupted by SIGINT; no output written\n",
        "",
    )


def test_ctrl_c_ignored_on_entry_stays_ignored_at_start_up():
    """A background job's SIGINT (ignored by the shell) is not taken up at start-up."""
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_AT_START],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert done.returncode == 0 and done.stdout.startswith("Usage: resdenoise")
