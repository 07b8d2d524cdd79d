"""The CPU cost of a learned network's ``stop = "sure"`` against the planner's SURE stop.

A network as ``resdenoise learn`` writes it (four groups of eight bumps, eight blocks
each, nine lambda factors, ``max-blocks = 128``) is stopped by SURE on a noisy two-tone
signal with steps of 1e4 and 1e5 samples (``RESDENOISE_NETSTOP_SIZES``), its bumps
evaluated by NumPy alone (``numpy``: ``np.hypot`` and the squarings, as before the
compiled rows) and with the compiled rows (``compiled``); beside them the planner of
``diffuse --diffusivity perona-malik --time auto`` on the same signal.  CPU time of this
process, rounds interleaved, medians; OpenBLAS on one thread, as the ``resdenoise``
program runs it.  The network's choice is checked to be the same either way.

    python benchmarks/bench_network_stop.py
    RESDENOISE_NETSTOP_SIZES=1e5 RESDENOISE_NETSTOP_ROUNDS=5 python benchmarks/bench_network_stop.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy: the program's BLAS

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from resdenoise import nonlinearities  # noqa: E402
from resdenoise.network import parse_network  # noqa: E402
from resdenoise.network_stop import stopped_network  # noqa: E402
from resdenoise.plans import planner  # noqa: E402

SIZES = [int(float(s)) for s in os.environ.get("RESDENOISE_NETSTOP_SIZES", "1e4,1e5").split(",")]
ROUNDS = int(os.environ.get("RESDENOISE_NETSTOP_ROUNDS", "3"))
FACTORS = [2.0 ** (k / 2) for k in range(-4, 5)]  # learn's: 1/4 to 4 in half-octaves


def learned_network() -> str:
    """A network file of the shape ``learn`` writes (coefficients of a trained one)."""
    c = [1e-7, 1e-7, 1e-7, 0.72, 0.19, 0.04, 0.022, 0.028]
    groups = "".join(
        f'\n[[block]]\nactivation = "bumps"\ncoefficients = {c}\n'
        f"lambda-scale = {scale}\ntau = 0.25\nrepeat = 8\n"
        for scale in (0.34, 0.074, 0.077, 0.081)
    )
    return f'stop = "sure"\nmax-blocks = 128\nlambda-factors = {FACTORS}\n{groups}'


def signal(n: int) -> np.ndarray:
    t = np.arange(n) / 44100.0
    clean = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sign(np.sin(2 * np.pi * 3 * t))
    return clean + np.random.default_rng(1).normal(0.0, 0.05, n)


def cpu(fn, *args) -> tuple[float, object]:
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def main() -> None:
    spec = parse_network(learned_network(), "learned.toml")
    auto = planner("diffuse", "perona-malik", time="auto")
    compiled_rows = nonlinearities.bump_rows
    print(f"load average {os.getloadavg()[0]:.2f}; {ROUNDS} rounds, medians of CPU seconds")
    for n in SIZES:
        u = signal(n)
        times: dict[str, list[float]] = {"numpy": [], "compiled": [], "planner": []}
        chosen = {}
        for _ in range(ROUNDS):
            for mode in ("numpy", "compiled"):
                nonlinearities.bump_rows = compiled_rows if mode == "compiled" else lambda: None
                try:
                    seconds, (plan, extra) = cpu(stopped_network, spec, u)
                finally:
                    nonlinearities.bump_rows = compiled_rows
                times[mode].append(seconds)
                chosen[mode] = (plan.steps, extra["lambda_factor"], extra["stopping_criterion"])
            times["planner"].append(cpu(auto, u)[0])
        assert chosen["numpy"] == chosen["compiled"], chosen  # the same choice, the same SURE
        m = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"n = {n:>8}: network numpy {m['numpy']:.2f} s, compiled {m['compiled']:.2f} s "
            f"({m['numpy'] / m['compiled']:.2f}x less); planner {m['planner']:.3f} s "
            f"(network / planner {m['compiled'] / m['planner']:.0f}x); chose {chosen['compiled'][:2]}"
        )


if __name__ == "__main__":
    main()
