"""The cost of a run's noise-level warnings (resdenoise/level_notes.py), before / after.

A level given (``--sigma``) had the warnings estimate the samples' noise, and the
report estimate it again; the quantisation warning looked at every sample for a
step of whole numbers on every run read whole.  This measures the CPU time of
:func:`resdenoise.pipeline.run_file` (this process's, medians of repetitions,
then of interleaved rounds, each in a subprocess of its own) on a sound file of
``N`` samples (a noisy sine, PCM_16 read as float64, and the same as whole-numbered
CSV counts), filtered by 2 Perona-Malik blocks (the warnings' share is large in
a short run, small in a long one):

* ``given``: ``--lambda auto --sigma 0.01`` (before: two estimates; after: one);
* ``read``: ``--lambda auto`` (the level read: before, every sample looked at for
  a step; after, the first 4096, here a fraction among them);
* ``counts``: ``--lambda auto`` on whole-numbered counts with noise of 6 counts
  (before: every sample; after: the first 4096 bound the step below the level).

``RESDENOISE_BEFORE=/path/to/another/checkout`` measures that checkout too and
prints after / before.

    RESDENOISE_BEFORE=/tmp/main python benchmarks/bench_level_notes.py
    RESDENOISE_LEVEL_N=2e6 RESDENOISE_LEVEL_ROUNDS=5 python benchmarks/bench_level_notes.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

N = int(float(os.environ.get("RESDENOISE_LEVEL_N", "1e6")))
ROUNDS = int(os.environ.get("RESDENOISE_LEVEL_ROUNDS", "3"))
REPEATS = int(os.environ.get("RESDENOISE_LEVEL_REPEATS", "5"))
BEFORE = os.environ.get("RESDENOISE_BEFORE")
CASES = ("given", "read", "counts")
KEYS = (*CASES, *(f"{c} parts" for c in CASES))


def make_files(directory: str, n: int) -> dict:
    """The inputs: a PCM_16 WAV of a noisy sine and a CSV of whole-numbered counts."""
    import soundfile

    rng = np.random.default_rng(0)
    t = np.arange(n)
    wav = os.path.join(directory, "sine.wav")
    soundfile.write(wav, 0.5 * np.sin(t / 300) + rng.normal(0, 0.01, n), 8000, "PCM_16")
    counts = os.path.join(directory, "counts.wav")  # whole numbers, as a CSV's counts
    # are read (a 64-bit float WAV holds them as written, and reads faster than a CSV)
    soundfile.write(
        counts, np.round(2048 + 300 * np.sin(t / 300) + rng.normal(0, 6, n)), 8000, "DOUBLE"
    )
    return {"wav": wav, "counts": counts}


def _parts(src: str, make_plan) -> float:
    """CPU seconds of what the change touches, on a file read whole: the level's
    warnings (``pipeline._level_notes``) and the report's level of the input
    (``_Whole._measure_before``: the input measured before the run, with its noise
    level), each on a source read afresh (the reading and the plan not timed)."""
    from resdenoise import pipeline
    from resdenoise.io import ReadOptions, WriteOptions

    job = pipeline._FileJob(
        make_plan, src, os.devnull, None, None, ReadOptions(), WriteOptions(),
        pipeline.RunOptions(), None, None, None,
    )  # fmt: skip
    times = []
    for _ in range(REPEATS + 1):
        source = pipeline._Whole(job)
        plan, extra = make_plan(source.subject)
        verdict = plan.verdict()
        start = time.process_time()
        pipeline._level_notes(source, extra)
        source._measure_before(plan, verdict, source.sig.data)
        times.append(time.process_time() - start)
    return statistics.median(times[1:])


def measure(files: dict) -> dict:
    """Each case's CPU seconds on this process's ``resdenoise``: of run_file, and of
    the parts (:func:`_parts`)."""
    from resdenoise.pipeline import planner, run_file

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        counts = files["counts"]
        cases = {
            "given": (files["wav"], planner("diffuse", "perona-malik", lam="auto", steps=2, sigma=0.01)),
            "read": (files["wav"], planner("diffuse", "perona-malik", lam="auto", steps=2)),
            "counts": (counts, planner("diffuse", "perona-malik", lam="auto", steps=2)),
        }  # fmt: skip
        target = os.path.join(tmp, "out.wav")
        for name in CASES:
            src, make_plan = cases[name]
            run_file(make_plan, src, target)  # warm
            times = []
            for _ in range(REPEATS):
                start = time.process_time()
                run_file(make_plan, src, target)
                times.append(time.process_time() - start)
            out[name] = statistics.median(times)
            out[f"{name} parts"] = _parts(src, make_plan)
    out["resdenoise"] = os.path.dirname(os.path.abspath(sys.modules["resdenoise"].__file__))
    return out


def _run(root: str, files: dict) -> dict:
    """:func:`measure` on the checkout ``root``, in a subprocess (``-P``: the current
    directory does not shadow ``PYTHONPATH``'s checkout)."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{here}"}
    code = f"import json, bench_level_notes as b; print(json.dumps(b.measure({files!r})))"
    args = [sys.executable, "-P", "-c", code]
    done = subprocess.run(args, env=env, check=True, capture_output=True)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(f"bench-level-notes, {N:.0e} samples, on {os.cpu_count()} cores; "
          f"load {os.getloadavg()[0]:.1f} at start")  # fmt: skip
    print("CPU ms of run_file (2 blocks), and of its parts the change touches (the level's")
    print("warnings and the report's level), medians of repetitions, then of interleaved rounds")
    trees = [("after", root)] + ([("before", BEFORE)] if BEFORE else [])
    got: dict = {name: {c: [] for c in KEYS} for name, _ in trees}
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(tmp, N)
        for r in range(ROUNDS):
            for name, tree in trees if r % 2 == 0 else trees[::-1]:
                result = _run(tree, files)
                seen[name] = result.pop("resdenoise")
                for c in KEYS:
                    got[name][c].append(result[c])
                print(f"  round {r + 1} {name}: "
                      + ", ".join(f"{c} {result[c] * 1e3:.2f}" for c in KEYS), flush=True)  # fmt: skip
    for c in KEYS:
        a = statistics.median(got["after"][c]) * 1e3
        line = f"  {c:<14} after {a:8.2f}"
        if BEFORE:
            b = statistics.median(got["before"][c]) * 1e3
            line += f"   before {b:8.2f}   after / before {a / b:5.3f}"
        print(line)
    print(f"load {os.getloadavg()[0]:.1f} at the end; measured: {seen}")


if __name__ == "__main__":
    main()
