"""The quality of ``--time auto --lambda auto`` on signals no benchmark tunes on: the true
MSE of the chosen output, for checking that a faster search chooses as well.

Classes: synthetic speech and music, sensor traces (seeds the other benchmarks do
not use), steps at random places and levels, amplitude-modulated chirps; white
noise at 5, 10 and 30 % of the clean signal's standard deviation; two seeds;
sizes from ``RESDENOISE_HELDOUT_SIZES`` (default 5e4, 2e5, 1e6: 5e4 is below the
windowed search, the others use it).  Each case is one JSON line (MSE, blocks,
lambda, CPU seconds of planning and running).  Compare two runs (say of main and
of a branch, each with its checkout first on PYTHONPATH) with ``--compare``:
the cases whose choice changed, and per size the geometric mean and the worst
and best ratio of the MSE.

    python benchmarks/bench_auto_heldout.py > after.jsonl
    python benchmarks/bench_auto_heldout.py --compare before.jsonl after.jsonl
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

SIZES = [
    int(float(s)) for s in os.environ.get("RESDENOISE_HELDOUT_SIZES", "5e4,2e5,1e6").split(",")
]


def steps(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = max(4, n // 3000)
    edges = np.sort(rng.choice(np.arange(1, n), k, replace=False))
    levels = rng.uniform(-1, 1, k + 1)
    return levels[np.searchsorted(edges, np.arange(n), side="right")]


def chirp(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.arange(n) / n
    f0, f1 = rng.uniform(2, 6), rng.uniform(20, 80)
    phase = 2 * np.pi * (f0 * x + 0.5 * (f1 - f0) * x * x)
    return np.sin(phase) * (1 + 0.3 * np.cos(2 * np.pi * 3 * x))


def classes() -> dict:
    from signals import music, sensor, speech

    return {
        "speech": lambda n, s: speech(n, seed=100 + s),
        "music": lambda n, s: music(n, seed=200 + s),
        "sensor": lambda n, s: sensor(n, seed=300 + s),
        "steps": steps,
        "chirp": chirp,
    }


def run() -> None:
    from resdenoise.filters import run_plan
    from resdenoise.pipeline import planner

    auto = planner("diffuse", "perona-malik", lam="auto", time="auto")
    for i, n in enumerate(SIZES):
        for name, make in classes().items():
            for seed in (1, 2):
                clean = make(n, seed + 10 * i)
                for level in (0.05, 0.10, 0.30):
                    rng = np.random.default_rng(1000 * seed + int(level * 100))
                    f = clean + level * clean.std() * rng.standard_normal(n)
                    cpu = time.process_time()
                    plan, _ = auto(f)
                    u = np.asarray(run_plan(plan, f)).ravel()
                    cpu = time.process_time() - cpu
                    case = {"n": n, "class": name, "seed": seed, "noise": level}
                    case |= {"mse": float(np.mean((u - clean) ** 2)), "steps": int(plan.steps)}
                    case |= {"lambda": float(plan.nl.lam), "cpu": cpu}
                    print(json.dumps(case), flush=True)


def compare(before: str, after: str) -> None:
    def load(path):
        with open(path) as lines:
            return [json.loads(line) for line in lines if line.strip()]

    key = ("n", "class", "seed", "noise")
    old = {tuple(c[k] for k in key): c for c in load(before)}
    pairs = [
        (old[tuple(c[k] for k in key)], c) for c in load(after) if tuple(c[k] for k in key) in old
    ]
    print(f"{'case':<28} {'blocks':>13} {'MSE after/before':>17}")
    for b, a in pairs:
        if b["steps"] != a["steps"] or b["mse"] != a["mse"]:
            case = f"{a['n']:.0e} {a['class']} {a['seed']} {a['noise']:.0%}"
            print(f"{case:<28} {b['steps']:>6}->{a['steps']:<6} {a['mse'] / b['mse']:17.4f}")
    for n in sorted({a["n"] for _, a in pairs}):
        ratios = [a["mse"] / b["mse"] for b, a in pairs if a["n"] == n]
        cpu = [sum(c["cpu"] for c in side if c["n"] == n) for side in zip(*pairs, strict=True)]
        mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
        print(
            f"{n:.0e}: {len(ratios)} cases, MSE after/before geometric mean {mean:.4f}, "
            f"worst {max(ratios):.4f}, best {min(ratios):.4f}; CPU {cpu[0]:.1f} -> {cpu[1]:.1f} s"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        compare(*sys.argv[2:4])
    else:
        run()
