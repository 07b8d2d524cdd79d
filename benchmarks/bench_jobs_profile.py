"""Where the time of a ``--jobs`` batch goes, process by process (issue 19).

Runs the command line's batch (``diffuse --diffusivity perona-malik -q --steps
10``) over ``RESDENOISE_JOBS_FILES`` (default 200) one-second float32 stereo WAVs
with ``--jobs 1`` and ``--jobs 2``, each in a fresh process, and as the machine's
ceiling for ``--jobs 2`` two independent ``--jobs 1`` processes started together
over half of the files each (no pipes, no queue; the same output directory), and
reports for each process (a forked worker too):

- its files, and the CPU time of a file (thread CPU: stable on a busy machine),
  the median over the files after the first two, and the first file's (with its
  page faults: the copy-on-write pages of a forked worker, and of the parent once
  it has forked, are paid there);
- the time a file's ``fsync`` sleeps while the disk writes (its core idles then,
  unless another process runs there), and all the time a file sleeps: its wall
  time less its CPU and its run-queue wait (``/proc/self/schedstat``);
- the CPU of the batch's own messages: the parent reading the workers' pipes
  (``_Pool.serve``) and a worker pickling its results (``_message``);
- its run-queue wait (time runnable but not running: the load of the machine).

A file of ``--jobs 2`` at best costs (CPU + fsync sleep) / 2 of wall time where
nothing else runs: read the CPU and the sleep, which do not depend on the load,
rather than the wall times.

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
RATE = 48_000


def _schedstat() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable and waiting) of this process's main thread."""
    try:
        with open("/proc/self/schedstat") as fh:
            run, wait, _ = fh.read().split()
        return int(run) / 1e9, int(wait) / 1e9
    except OSError:  # not Linux
        return float("nan"), float("nan")


def child(jobs: int, inputs: list[str], out: str, stats: str) -> None:
    """Run the batch in this process, counting as it goes; each process writes
    ``stats/PID.json``."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as ``python -m resdenoise``
    import gc

    gc.disable()
    import resdenoise.batch as batch
    from resdenoise.cli import cli

    gc.freeze()
    gc.enable()
    acc: dict = {}

    def reset() -> None:
        acc.clear()
        acc.update(files=[], fsync=[], ipc=0.0, t0=time.perf_counter(), s0=_schedstat())

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

    def dump(role: str) -> None:
        run, wait = _schedstat()
        s0 = acc["s0"]
        record = {
            "role": role,
            "wall": time.perf_counter() - acc["t0"],
            "cpu": time.process_time() - acc["c0"],
            "runqueue": wait - s0[1],
            **{k: acc[k] for k in ("files", "fsync", "ipc")},
        }
        with open(os.path.join(stats, f"{os.getpid()}.json"), "w") as fh:
            json.dump(record, fh)

    real_worker = batch._worker

    def worker(*args, **kwargs):
        reset()
        acc["c0"] = time.process_time()
        try:
            return real_worker(*args, **kwargs)
        finally:
            dump("worker")

    batch.run_file = run_file
    batch._worker = worker
    counted(os, "fsync", "fsync")
    counted(batch._Pool, "serve", "ipc")
    counted(batch, "_message", "ipc")
    reset()
    acc["c0"] = 0.0  # the parent's CPU from its start: start-up included
    sys.argv = ["resdenoise", "diffuse", "--diffusivity", "perona-malik", "-q", "--steps", "10"]
    sys.argv += [*inputs, "-o", out + "/", "-j", str(jobs)]
    cli.process = True
    try:
        cli(prog_name="resdenoise")
    except SystemExit:
        pass
    dump("parent")


def show(title: str, stats: str) -> dict:
    records = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(stats, "*.json")))]
    records.sort(key=lambda r: r["role"] != "parent")
    print(f"\n{title}:")
    total = {"cpu": 0.0, "sleep": 0.0, "files": 0}
    for r in records:
        files = r["files"]
        if not files:  # a worker that got no file
            print(f"  {r['role']:<6} no file")
            continue
        rest = files[2:] or files
        cpu = statistics.median(c for c, _, _ in rest)
        mean = statistics.mean(c for c, _, _ in rest)
        asleep = statistics.mean(s for _, s, _ in rest)
        fsync = statistics.mean(r["fsync"][2:] or r["fsync"] or [0.0])
        first = files[0]
        print(
            f"  {r['role']:<6} {len(files)} files; a file: CPU {cpu * 1e3:.2f} ms (median; mean "
            f"{mean * 1e3:.2f}), asleep {asleep * 1e3:.2f} ms, of which in fsync "
            f"{fsync * 1e3:.2f} ms (means); the first file {first[0] * 1e3:.1f} ms CPU, "
            f"{first[2]} page faults (then {statistics.mean(f for _, _, f in rest):.1f}); the "
            f"batch's messages {r['ipc'] * 1e3 / len(files):.3f} ms CPU a file; the process: "
            f"wall {r['wall']:.3f} s, CPU {r['cpu']:.3f} s, run queue {r['runqueue']:.3f} s"
        )
        total["cpu"] += mean * len(files)
        total["sleep"] += asleep * len(files)
        total["files"] += len(files)
    return {k: v / total["files"] if k != "files" else v for k, v in total.items()}


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
        print(f"{FILES} one-second float32 stereo WAVs, 10 steps; load {os.getloadavg()[0]:.1f}")
        per_file = {}
        runs = {
            "--jobs 1": [("1", "0", str(FILES))],
            "--jobs 2": [("2", "0", str(FILES))],
            "two --jobs 1 at once, half each": [
                ("1", "0", str(FILES // 2)),
                ("1", str(FILES // 2), str(FILES)),
            ],
        }
        for k, (title, parts) in enumerate(runs.items()):
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
            per_file[title] = show(title, stats)
        print(f"\nper file, CPU + asleep (load {os.getloadavg()[0]:.1f}):")
        for title, got in per_file.items():
            n = 1 if title == "--jobs 1" else 2
            print(
                f"  {title:<32} ({got['cpu'] * 1e3:.2f} + {got['sleep'] * 1e3:.2f}) / {n} = "
                f"{(got['cpu'] + got['sleep']) / n * 1e3:.2f} ms of wall at best; CPU / {n} = "
                f"{got['cpu'] / n * 1e3:.2f} ms"
            )
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        jobs, start, stop, work, stats = sys.argv[2:7]
        inputs = sorted(glob.glob(os.path.join(work, "f*.wav")))[int(start) : int(stop)]
        child(int(jobs), inputs, os.path.join(work, "out" + os.path.basename(stats)), stats)
    else:
        main()
