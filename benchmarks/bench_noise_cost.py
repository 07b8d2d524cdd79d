"""The CPU cost of the automatic plans' noise level, component by component (issue 19).

For a noisy sensor trace (``bench_auto``'s "sensor" kind) of 1e4, 1e5 and 1e6
samples, mono and stereo, the CPU time (this process, medians of interleaved
repetitions) of each part of the level an automatic search reads: the
search's level as a whole (:func:`resdenoise.noise.resolve_sigma` with
``search=True``), its parts (quiet windows of orders 3 and 8, the variogram's
nugget, the spectral floor), the impulse pre-stage's detection and the
coloured-noise evidence of ``denoise`` (computed each time: the samples differ
a little at each call, as it keeps its answers for the same samples); and the
automatic plan of ``diffuse --diffusivity perona-malik --lambda auto --time auto``
as a whole (up to 1e5 samples; ``bench_auto.py`` measures longer ones).

``RESDENOISE_BEFORE=/path/to/another/checkout`` measures that checkout too, in
a subprocess per round, the rounds interleaved with this one's (CPU time: the
other's load does not enter it), and prints before / after side by side.

    python benchmarks/bench_noise_cost.py
    RESDENOISE_BEFORE=/tmp/main RESDENOISE_NOISE_SIZES=1e5 python benchmarks/bench_noise_cost.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = [int(float(s)) for s in os.environ.get("RESDENOISE_NOISE_SIZES", "1e4,1e5,1e6").split(",")]
ROUNDS = int(os.environ.get("RESDENOISE_NOISE_ROUNDS", "3"))
BEFORE = os.environ.get("RESDENOISE_BEFORE")
#: The automatic plan is measured up to this many samples (seconds each above).
PLAN_SIZE = 100_000
PARTS = (
    "search level",
    "quiet windows 3",
    "quiet windows 8",
    "nugget",
    "spectral floor",
    "impulses",
    "colour evidence",
    "automatic plan",
)


def signal(n: int, channels: int) -> np.ndarray:
    """``bench_auto``'s sensor trace of ``n`` samples (a second channel: another seed)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_auto import make

    f = make("sensor", n)
    if channels == 1:
        return f
    rng = np.random.default_rng(7)
    return np.stack([f, f[::-1] + 0.05 * f.std() * rng.standard_normal(n)], axis=1)


def _cpu(call, repeats: int) -> float:
    """The median CPU time of ``repeats`` calls (after one to warm caches)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def measure(n: int, channels: int) -> dict:
    """Each part's CPU seconds on this process's ``resdenoise``."""
    from resdenoise.impulses import hampel_stage
    from resdenoise.noise import quiet_window_noise, resolve_sigma
    from resdenoise.noise_colour import colour_evidence
    from resdenoise.nugget import nugget_noise
    from resdenoise.pipeline import planner
    from resdenoise.spectral_floor import spectral_floor

    f = signal(n, channels)
    f2 = f.reshape(n, -1)
    sigma = resolve_sigma(f, search=True).sigma
    auto = planner("diffuse", "perona-malik", lam="auto", time="auto")
    seen = [0]

    def fresh():  # the samples changed a little every call: computed afresh also by a
        # checkout that kept the evidence of recent samples (before: a cache in noise_colour)
        seen[0] += 1
        out = f2.copy()
        out[0, 0] += seen[0] * 1e-9
        return out

    calls = {
        "search level": lambda: resolve_sigma(f, search=True),
        "quiet windows 3": lambda: quiet_window_noise(f2, 3),
        "quiet windows 8": lambda: quiet_window_noise(f2, 8),
        "nugget": lambda: nugget_noise(f2),
        "spectral floor": lambda: spectral_floor(f2, sigma**2),
        "impulses": lambda: hampel_stage(f, sigma),
        "colour evidence": lambda: colour_evidence(fresh(), sigma),
        "automatic plan": lambda: auto(f),
    }
    repeats = max(3, int(2e6 // n))
    out = {}
    for name in PARTS:
        if name == "automatic plan" and n > PLAN_SIZE:  # bench_auto.py measures those
            out[name] = float("nan")
            continue
        out[name] = _cpu(
            calls[name], repeats if name != "automatic plan" else max(3, repeats // 40)
        )
    out["resdenoise"] = os.path.dirname(os.path.abspath(sys.modules["resdenoise"].__file__))
    return out


def before(n: int, channels: int) -> dict:
    """:func:`measure` on the checkout ``RESDENOISE_BEFORE``, in a subprocess."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": f"{BEFORE}{os.pathsep}{here}"}
    code = f"import json, bench_noise_cost as b; print(json.dumps(b.measure({n}, {channels})))"
    return _run(code, env)


def _run(code: str, env: dict) -> dict:
    """``code``'s last line of output, read as JSON; run with ``-P`` (the current directory
    is not put first on the path, where it would shadow ``PYTHONPATH``'s checkout)."""
    args = [sys.executable, "-P", "-c", code]
    out = subprocess.run(args, env=env, check=True, capture_output=True)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def here(n: int, channels: int) -> dict:
    """:func:`measure` on this checkout, in a subprocess like :func:`before` (fair caches)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.path.dirname(__file__)}"}
    code = f"import json, bench_noise_cost as b; print(json.dumps(b.measure({n}, {channels})))"
    return _run(code, env)


def main() -> None:
    print(f"bench-noise-cost on {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f} at start")
    print("CPU ms per call, medians over repetitions, then over interleaved rounds")
    seen: dict = {}
    for n in SIZES:
        for channels in (1, 2):
            now: dict = {p: [] for p in PARTS}
            old: dict = {p: [] for p in PARTS}
            for r in range(ROUNDS):
                order = (here, before) if r % 2 == 0 else (before, here)
                for which in order:
                    if which is before and not BEFORE:
                        continue
                    got = which(n, channels)
                    seen.setdefault(which.__name__, got.pop("resdenoise"))
                    for p in PARTS:
                        (now if which is here else old)[p].append(got[p])
            print(f"  sensor {n:.0e}, {channels} channel(s)")
            for p in PARTS:
                a = statistics.median(now[p]) * 1e3
                line = f"    {p:<16} {a:9.2f}"
                if BEFORE:
                    b = statistics.median(old[p]) * 1e3
                    line += f"   before {b:9.2f}   after / before {a / b:5.2f}"
                print(line, flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end; measured: {seen}")


if __name__ == "__main__":
    main()
