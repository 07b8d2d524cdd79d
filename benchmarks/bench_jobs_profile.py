"""Where the time of a ``--jobs`` batch goes, process by process (issue 19).

Runs the command line's batch (``diffuse --diffusivity perona-malik -q --steps
10``) over ``RESDENOISE_JOBS_FILES`` (default 200) one-second float32 stereo WAVs
with ``--jobs 1`` and ``--jobs 2``, each in a fresh process, and as the machine's
ceiling for ``--jobs 2`` two independent ``--jobs 1`` processes started together
over half of the files each (no pipes, no queue; the same output directory), and
the same two halves in a process and its copy forked once started (as a ``--jobs
2`` worker is, without the queue and the pipes: what the fork itself costs), and
reports for each process (a forked worker too):

- its files, and the CPU time of a file (thread CPU), the median over the files
  after the first two, and the first file's (with its page faults: the
  copy-on-write pages of a forked worker, and of the parent once it has forked, are
  paid there);
- the time a file's ``fsync`` sleeps while the disk writes (its core idles then,
  unless another process runs there), and all the time a file sleeps: its wall
  time less its CPU and its run-queue wait (``/proc/self/schedstat``);
- the CPU of the batch's own messages: the parent reading the workers' pipes
  (``_Pool.serve``) and a worker pickling its results (``_message``);
- its run-queue wait (time runnable but not running: the load of the machine);
- its threads (the most seen at a file's end), and its CPU over the same span as its
  wall time (from the batch's start: a parent's start-up CPU is shown apart).

A file's CPU is not constant on a busy machine: it grows with the load of the other
processes (at load 9, 2.5-5.6 ms from round to round in every mode, against 1.8 ms
at load 0.7), so the modes run in ``RESDENOISE_JOBS_ROUNDS`` (default 3) interleaved
rounds, after one unmeasured run that fills the bytecode cache (else the first
process measured pays for compiling every module, and its CPU outgrows its wall
time); each figure is the median over the rounds (their spread in brackets).  A
difference between the modes smaller than that spread is not one.

A file of ``--jobs 2`` at best costs (CPU + fsync sleep) / 2 of wall time where
nothing else runs: read the CPU and the sleep rather than the wall times.

    python benchmarks/bench_jobs_profile.py
"""

from __future__ import annotations

import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FILES = int(os.environ.get("RESDENOISE_JOBS_FILES", "200"))
ROUNDS = int(os.environ.get("RESDENOISE_JOBS_ROUNDS", "3"))
RATE = 48_000


def _schedstat() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable and waiting) of this process's main thread."""
    try:
        with open("/proc/self/schedstat") as fh:
            run, wait, _ = fh.read().split()
        return int(run) / 1e9, int(wait) / 1e9
    except OSError:  # not Linux
        return float("nan"), float("nan")


def child(jobs: int, inputs: list[str], out: str, stats: str, fork: bool = False) -> None:
    """Run the batch in this process, counting as it goes; each process writes
    ``stats/PID.json``.  ``fork``: once started, fork, and the two processes run
    half of the inputs each (as two ``--jobs 1`` processes, without a queue)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as ``python -m resdenoise``
    import gc

    gc.disable()
    import resdenoise.batch as batch
    import resdenoise.batch_pool as batch_pool
    from resdenoise.cli import cli

    gc.freeze()
    gc.enable()
    acc: dict = {}

    def reset() -> None:
        acc.clear()
        acc.update(files=[], fsync=[], ipc=0.0, threads=0, t0=time.perf_counter())
        acc.update(s0=_schedstat(), c0=time.process_time())

    def counted(owner, name: str, key: str | None = None):
        real = getattr(owner, name)

        def call(*args, **kwargs):
            c, w, q = time.thread_time(), time.perf_counter(), _schedstat()[1]
            try:
                return real(*args, **kwargs)
            finally:
                if key == "fsync":  # asleep: neither on a CPU nor waiting for one
                    asleep = time.perf_counter() - w - (time.thread_time() - c)
                    acc["fsync"].append(asleep - (_schedstat()[1] - q))
                elif key == "ipc":
                    acc["ipc"] += time.thread_time() - c

        setattr(owner, name, call)

    real_run_file = batch.run_file

    def run_file(*args, **kwargs):
        import resource

        f0, c = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.thread_time()
        w, q = time.perf_counter(), _schedstat()[1]
        try:
            return real_run_file(*args, **kwargs)
        finally:
            cpu = time.thread_time() - c
            asleep = time.perf_counter() - w - cpu - (_schedstat()[1] - q)
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            acc["files"].append((cpu, asleep, faults))
            acc["threads"] = max(acc["threads"], len(os.listdir("/proc/self/task")))

    def dump(role: str) -> None:
        run, wait = _schedstat()
        s0 = acc["s0"]
        record = {
            "role": role,
            "wall": time.perf_counter() - acc["t0"],
            "cpu": time.process_time() - acc["c0"],
            "startup": acc["c0"],
            "runqueue": wait - s0[1],
            **{k: acc[k] for k in ("files", "fsync", "ipc", "threads")},
        }
        with open(os.path.join(stats, f"{os.getpid()}.json"), "w") as fh:
            json.dump(record, fh)

    real_worker = batch_pool._worker

    def worker(*args, **kwargs):
        reset()
        try:
            return real_worker(*args, **kwargs)
        finally:
            dump("worker")

    batch.run_file = run_file
    batch_pool._worker = worker
    counted(os, "fsync", "fsync")
    counted(batch_pool._Pool, "serve", "ipc")
    counted(batch_pool, "_message", "ipc")
    reset()  # the parent's start-up CPU (imports) is acc["c0"]: shown apart
    forked = os.fork() if fork else None
    if fork:
        inputs = inputs[len(inputs) // 2 :] if forked == 0 else inputs[: len(inputs) // 2]
        if forked == 0:
            reset()
    sys.argv = ["resdenoise", "diffuse", "--diffusivity", "perona-malik", "-q", "--steps", "10"]
    sys.argv += [*inputs, "-o", out + "/", "-j", str(jobs)]
    cli.process = True
    try:
        cli(prog_name="resdenoise")
    except SystemExit:
        pass
    dump("forked" if forked == 0 else "parent")
    if forked == 0:
        os._exit(0)
    if forked:
        os.waitpid(forked, 0)


def measure(stats: str) -> list[dict]:
    """The figures of each process of one run (the parent first), a file's in ms."""
    records = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(stats, "*.json")))]
    records.sort(key=lambda r: r["role"] != "parent")
    got = []
    for r in records:
        files, ms = r["files"], 1e3
        # the first files pay for imports and page faults; a worker may get no file
        rest = files[2:] or files or [(0.0, 0.0, 0)]
        got.append(
            {
                "role": r["role"],
                "files": len(files),
                "cpu": statistics.median(f[0] for f in rest) * ms,
                "mean": statistics.mean(f[0] for f in rest) * ms,
                "asleep": statistics.mean(f[1] for f in rest) * ms,
                "fsync": statistics.mean(r["fsync"][2:] or r["fsync"] or [0.0]) * ms,
                "first": (files or rest)[0][0] * ms,
                "first faults": (files or rest)[0][2],
                "faults": statistics.mean(f[2] for f in rest),
                "messages": r["ipc"] * ms / max(1, len(files)),
                "process cpu": r["cpu"],
                **{k: r[k] for k in ("wall", "startup", "runqueue", "threads")},
            }
        )
    return got


def show(title: str, rounds: list[list[dict]]) -> dict:
    """Each process's medians over the rounds; returns a file's CPU and sleep (ms),
    averaged over the processes' files, median over the rounds."""

    def med(values, fmt="{:.2f}", spread=False):
        values = list(values)
        text = fmt.format(statistics.median(values))
        if spread and len(values) > 1:
            text += f" [{fmt.format(min(values))}-{fmt.format(max(values))}]"
        return text

    print(f"\n{title}:")
    for k in range(max(len(r) for r in rounds)):
        procs = [r[k] for r in rounds if len(r) > k]
        print(
            f"  {procs[0]['role']:<6} files {'/'.join(str(p['files']) for p in procs)}; a file: "
            f"CPU {med((p['cpu'] for p in procs), spread=True)} ms (median; mean "
            f"{med(p['mean'] for p in procs)}), asleep {med(p['asleep'] for p in procs)} ms, of which in fsync "
            f"{med(p['fsync'] for p in procs)} ms; the first file "
            f"{med((p['first'] for p in procs), '{:.1f}')} ms CPU, "
            f"{med((p['first faults'] for p in procs), '{:.0f}')} page faults (then "
            f"{med(p['faults'] for p in procs)}); the batch's messages "
            f"{med((p['messages'] for p in procs), '{:.3f}')} ms CPU a file"
        )
        print(
            f"         the process: threads {max(p['threads'] for p in procs)}, wall "
            f"{med((p['wall'] for p in procs), '{:.3f}')} s, CPU "
            f"{med((p['process cpu'] for p in procs), '{:.3f}')} s over the same span (start-up "
            f"before it {med((p['startup'] for p in procs), '{:.3f}')} s), run queue "
            f"{med((p['runqueue'] for p in procs), '{:.3f}')} s"
        )
    totals = []
    for r in rounds:
        files = sum(p["files"] for p in r) or 1
        mean = {"cpu": "mean", "sleep": "asleep"}
        totals.append({k: sum(p[m] * p["files"] for p in r) / files for k, m in mean.items()})
    return {k: statistics.median(t[k] for t in totals) for k in ("cpu", "sleep")}


def main() -> None:
    import numpy as np
    import soundfile

    work = tempfile.mkdtemp(prefix="resdenoise-jobs.")
    try:
        rng = np.random.default_rng(1)
        inputs = []
        for k in range(FILES):
            x = np.clip(0.3 * rng.standard_normal((RATE, 2)), -1, 1).astype(np.float32)
            inputs.append(os.path.join(work, f"f{k:04d}.wav"))
            soundfile.write(inputs[-1], x, RATE, subtype="FLOAT")
        env = {**os.environ, "PYTHONPYCACHEPREFIX": os.path.join(work, "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(
            f"{FILES} one-second float32 stereo WAVs, 10 steps, {ROUNDS} rounds; "
            f"load {os.getloadavg()[0]:.1f}"
        )
        runs = {
            "--jobs 1": [("1", "0", str(FILES))],
            "--jobs 2": [("2", "0", str(FILES))],
            "two --jobs 1 at once, half each": [
                ("1", "0", str(FILES // 2)),
                ("1", str(FILES // 2), str(FILES)),
            ],
            "forked once started, half each": [("1f", "0", str(FILES))],
        }
        measured: dict = {title: [] for title in runs}
        plan = [("warm", [("1", "0", "1")])]  # fills the bytecode cache, not measured
        plan += [item for _ in range(ROUNDS) for item in runs.items()]
        for k, (title, parts) in enumerate(plan):
            stats = os.path.join(work, f"stats{k}")
            os.makedirs(stats)
            running = [
                subprocess.Popen(
                    [sys.executable, __file__, "--child", *part, work, stats],
                    env=env,
                    cwd=tempfile.gettempdir(),
                )
                for part in parts
            ]
            if any(p.wait() != 0 for p in running):
                raise RuntimeError(f"{title} failed")
            if title in measured:
                measured[title].append(measure(stats))
        per_file = {title: show(title, rounds) for title, rounds in measured.items()}
        print(f"\nper file, CPU + asleep, medians of the rounds (load {os.getloadavg()[0]:.1f}):")
        for title, got in per_file.items():
            n = 1 if title == "--jobs 1" else 2
            print(
                f"  {title:<32} ({got['cpu']:.2f} + {got['sleep']:.2f}) / {n} = "
                f"{(got['cpu'] + got['sleep']) / n:.2f} ms of wall at best; CPU / {n} = "
                f"{got['cpu'] / n:.2f} ms"
            )
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        jobs, start, stop, work, stats = sys.argv[2:7]
        inputs = sorted(glob.glob(os.path.join(work, "f*.wav")))[int(start) : int(stop)]
        out = os.path.join(work, "out" + os.path.basename(stats))
        child(int(jobs.rstrip("f")), inputs, out, stats, fork=jobs.endswith("f"))
    else:
        main()
