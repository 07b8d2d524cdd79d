"""The cost of :func:`resdenoise.engine.run_blocks`' look at its input (a complex or
non-finite sample refused): ``run_blocks`` against ``run_blocks_unchecked`` (the same
run, its samples not looked at) and the look alone, on a signal of 1e6 samples
(``RESDENOISE_CHECK_SIZES``) and 10 Perona-Malik blocks (``RESDENOISE_CHECK_BLOCKS``),
float64 and float32, default threads.  CPU time of this process (every thread),
rounds interleaved, medians.

    python benchmarks/bench_input_check.py
    RESDENOISE_CHECK_SIZES=1e5,1e7 RESDENOISE_CHECK_ROUNDS=21 python benchmarks/bench_input_check.py
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from resdenoise.engine import _refuse_non_finite, run_blocks, run_blocks_unchecked
from resdenoise.nonlinearities import get_nonlinearity

SIZES = [int(float(s)) for s in os.environ.get("RESDENOISE_CHECK_SIZES", "1e6").split(",")]
BLOCKS = int(os.environ.get("RESDENOISE_CHECK_BLOCKS", "10"))
ROUNDS = int(os.environ.get("RESDENOISE_CHECK_ROUNDS", "15"))


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    nl = get_nonlinearity("perona-malik", "diffusivity", lam=1.0)
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {ROUNDS} rounds, CPU ms")
    print(f"  {'samples':>9} {'dtype':>8} {'unchecked':>10} {'checked':>9} {'look':>7}  share")
    for n in SIZES:
        for dtype in (np.float64, np.float32):
            u = np.cumsum(np.random.default_rng(0).standard_normal(n)).astype(dtype)
            out = np.empty_like(u)
            runs = {
                "unchecked": lambda u=u, out=out: run_blocks_unchecked(
                    u, nl, 0.25, BLOCKS, out=out
                ),
                "checked": lambda u=u, out=out: run_blocks(u, nl, 0.25, BLOCKS, out=out),
                "look": lambda u=u: _refuse_non_finite(u, u),
            }
            for fn in runs.values():
                fn()  # warm
            times: dict = {name: [] for name in runs}
            for r in range(ROUNDS):
                for name in list(runs) if r % 2 == 0 else list(reversed(runs)):
                    times[name].append(cpu(runs[name]))
            med = {name: 1e3 * statistics.median(t) for name, t in times.items()}
            print(
                f"  {n:9.0e} {np.dtype(dtype).name:>8} {med['unchecked']:10.2f} "
                f"{med['checked']:9.2f} {med['look']:7.3f}  {med['look'] / med['unchecked']:.1%}"
            )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
