"""``--time auto --lambda auto`` against the fixed run it picks (issue 19), side by side.

For each signal kind and size, the automatic plan (planning: noise level,
impulse pre-stage, lambda and stopping search, do-no-harm test; then the run)
and the fixed plan of the same lambda, tau and blocks (then the run) are timed
in interleaved rounds in this process; the ratio auto / fixed is printed with
the choice and its gain (SURE on the whole signal minus that of doing nothing,
per sample: lower is better).  Kinds: noisy steps (a square wave),
a noisy sensor trace (random levels held for random times) and a smooth,
oscillating signal (a sine plus a chirp).

``RESDENOISE_BEFORE=/path/to/another/checkout`` runs the same cases on that
checkout's ``resdenoise`` too (a subprocess per case, the same signals), so
that a change is measured against main in one run: before and after ratios
side by side.

    python benchmarks/bench_auto.py                 # make bench-auto
    RESDENOISE_AUTO_SIZES=1e5,1e6 RESDENOISE_BEFORE=/tmp/main python benchmarks/bench_auto.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = [int(float(s)) for s in os.environ.get("RESDENOISE_AUTO_SIZES", "1e5,1e6,1e7").split(",")]
KINDS = os.environ.get("RESDENOISE_AUTO_KINDS", "steps,sensor,smooth").split(",")
ROUNDS = int(os.environ.get("RESDENOISE_AUTO_ROUNDS", "3"))
BEFORE = os.environ.get("RESDENOISE_BEFORE")


def make(kind: str, n: int) -> np.ndarray:
    from signals import sensor

    rng = np.random.default_rng(3)
    t = np.arange(n)
    if kind == "steps":
        return 0.5 * np.sign(np.sin(2 * np.pi * t / max(n // 7, 16))) + 0.1 * rng.standard_normal(n)
    if kind == "sensor":
        clean = sensor(n)
        return clean + 0.1 * clean.std() * rng.standard_normal(n)
    x = t / n
    clean = np.sin(2 * np.pi * 5 * x) + 0.5 * np.sin(2 * np.pi * 40 * x * x)
    return clean + 0.1 * rng.standard_normal(n)


#: Where the automatic plan keeps the input (0 blocks), the fixed run is one block (a
#: run of none would time nothing): its time is that of one block and its output
#: differs from the input by construction, so the two are not compared there.
KEPT = "the automatic run keeps the input (0 blocks); fixed: 1 block, outputs not compared"


def fixed_steps(plan) -> int:
    """The fixed run's blocks: the plan's, at least one (see :data:`KEPT`)."""
    return max(plan.steps, 1)


def measure(kind: str, n: int, rounds: int) -> dict:
    """The case in this process: medians of ``rounds`` interleaved rounds (the first
    automatic run, which tells the fixed plan, is the first round's)."""
    from resdenoise.filters import run_plan
    from resdenoise.pipeline import planner

    f = make(kind, n)
    auto = planner("diffuse", "perona-malik", lam="auto", time="auto")
    start, cpu = time.perf_counter(), time.process_time()
    plan, extra = auto(f)
    run_plan(plan, f)
    times: dict = {"auto": [time.perf_counter() - start], "fixed": []}
    cpus: dict = {"auto": [time.process_time() - cpu], "fixed": []}
    steps = fixed_steps(plan)
    fixed = planner("diffuse", "perona-malik", lam=plan.nl.lam, steps=steps, tau=plan.tau)
    for r in range(rounds):
        for name in ("fixed", "auto") if r % 2 == 0 else ("auto", "fixed"):
            if r == 0 and name == "auto":
                continue
            start, cpu = time.perf_counter(), time.process_time()
            run_plan((auto if name == "auto" else fixed)(f)[0], f)
            times[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
    return {
        "auto": statistics.median(times["auto"]),
        "fixed": statistics.median(times["fixed"]),
        # CPU time of this process (all its threads): on a shared machine the fairer
        # measure, as other processes' load does not enter it
        "auto_cpu": statistics.median(cpus["auto"]),
        "fixed_cpu": statistics.median(cpus["fixed"]),
        "lambda": plan.nl.lam,
        "steps": plan.steps,
        "gain": extra.get("expected_gain_per_sample"),
        "blocks_searched": extra.get("blocks_searched"),
    }


def before(kind: str, n: int, rounds: int) -> dict:
    """The same case on the checkout RESDENOISE_BEFORE, in a subprocess."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": f"{BEFORE}{os.pathsep}{here}"}
    code = (
        f"import json, bench_auto; print(json.dumps(bench_auto.measure({kind!r}, {n}, {rounds})))"
    )
    # run in that checkout: "python -c" puts the working directory first on the path, so
    # from another checkout's root its own resdenoise would be measured as "before"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, cwd=BEFORE
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    print(f"bench-auto on {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    print("auto = planner(lam='auto', time='auto') + run; fixed = the same lambda, tau, blocks")
    print("ratio: of wall-clock times; cpu: of CPU times (this process, all its threads)")
    head = f"  {'signal':<14} {'auto s':>8} {'fixed s':>8} {'ratio':>7} {'cpu':>6}  lambda, blocks, gain"
    print(head + ("   | before: ratio, cpu, lambda, blocks, gain" if BEFORE else ""))
    for n in SIZES:
        for kind in KINDS:
            rounds = ROUNDS if n < 1_000_000 else 1
            now = measure(kind, n, rounds)
            ratio = now["auto"] / now["fixed"]
            cpu = now["auto_cpu"] / now["fixed_cpu"]
            line = (
                f"  {kind + f' {n:.0e}':<14} {now['auto']:8.2f} {now['fixed']:8.3f} {ratio:6.1f}x"
                f" {cpu:5.1f}x  {now['lambda']:.4g}, {now['steps']}, {now['gain']:.4g}"
            )
            if BEFORE:
                old = before(kind, n, rounds)
                old_cpu = (
                    f"{old['auto_cpu'] / old['fixed_cpu']:5.1f}x" if "auto_cpu" in old else "    -"
                )
                line += (
                    f"   | {old['auto'] / old['fixed']:6.1f}x {old_cpu}  {old['lambda']:.4g}, "
                    f"{old['steps']}, {old['gain']:.4g}"
                )
            verdict = ", ".join(
                f"{what} {'met' if r <= 3 else 'MISSED'}"
                for what, r in (("wall", ratio), ("cpu", cpu))
            )
            print(line + f"   (target <= 3x: {verdict})", flush=True)
            if now["steps"] == 0:
                print(f"  {'':<14} {KEPT}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
