"""Learned networks against the best fixed family in automatic mode (issue 16).

Per class: supervised training on signal A (one noise realisation), evaluated
on signal B (another signal of the class, fresh noise) that training never
saw; the self-supervised per-file mode (SURE on B alone) on the same cases;
and the fixed families of bench_quality.py with automatic lambda and
stopping time (SURE), the best of them per case.  MSE side by side, and the
training time against signal length and blocks.

    python benchmarks/bench_learn.py [--iterations 40] [--blocks 32] [--scales 1] [--no-timing]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_quality import RESDENOISE, _resdenoise
from signals import music, sensor, speech

from resdenoise import learn

NOISE = 0.25  # sigma relative to the clean signal's standard deviation


def _cases():
    import pywt

    def dj(name):
        return np.asarray(pywt.data.demo_signal(name, 2048), float)

    return {
        "speech": (speech(seed=1), speech(seed=4)),
        "music": (music(seed=2), music(seed=5)),
        "sensor": (sensor(seed=3), sensor(seed=6)),
        "Blocks -> HeaviSine": (dj("Blocks"), dj("HeaviSine")),
    }


def _train(noisy, clean, objective, iterations, arch):
    obj = learn.make_objective([noisy], None if clean is None else [clean], objective)
    start = time.perf_counter()
    result = learn.fit(obj, arch, max_iterations=iterations)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--blocks", type=int, default=32, help="blocks per group (4 groups)")
    parser.add_argument("--scales", type=int, default=1, help="strides 2^(K-1) .. 1")
    parser.add_argument("--no-timing", action="store_true", help="skip the training-time table")
    args = parser.parse_args()
    arch = learn.Architecture(blocks=args.blocks, scales=args.scales)
    rng = np.random.default_rng(20200207)
    print(f"MSE x 1e4 (sigma = {NOISE} x std of the clean signal); B never seen in training")
    header = f"{'class':22s} {'noisy':>8s} {'best fixed':>22s} {'learned':>8s} {'per-file':>8s} {'train s':>8s}"
    print(header)
    for name, (a, b) in _cases().items():
        noisy_a = a + NOISE * a.std() * rng.standard_normal(a.size)
        noisy_b = b + NOISE * b.std() * rng.standard_normal(b.size)
        result, seconds = _train(noisy_a, a, "supervised", args.iterations, arch)
        learned = np.mean((learn.run_network(noisy_b, result.groups) - b) ** 2)
        own, _ = _train(noisy_b, None, "sure", args.iterations, arch)
        per_file = np.mean((learn.run_network(noisy_b, own.groups) - b) ** 2)
        fixed = {
            label: np.mean((_resdenoise(noisy_b, form, family, tau) - b) ** 2)
            for label, form, family, tau in RESDENOISE
        }
        best = min(fixed, key=fixed.get)
        noisy_mse = np.mean((noisy_b - b) ** 2)
        print(
            f"{name:22s} {noisy_mse * 1e4:8.3f} {fixed[best] * 1e4:8.3f} ({best:>12s}) "
            f"{learned * 1e4:8.3f} {per_file * 1e4:8.3f} {seconds:8.1f}"
        )
    print(
        f"network: {arch.groups} groups x {arch.blocks} blocks, {arch.bumps} bumps each, "
        f"{arch.scales} scales"
    )
    if args.no_timing:
        return
    print("training time against length and blocks (supervised, 10 iterations):")
    for n in (1024, 4096, 16384):
        for blocks in (4, 16):
            clean = speech(n=n, seed=1)
            noisy = clean + NOISE * clean.std() * rng.standard_normal(n)
            small = learn.Architecture(groups=4, blocks=blocks)
            _, seconds = _train(noisy, clean, "supervised", 10, small)
            print(f"  n = {n:6d}, 4 x {blocks:2d} blocks: {seconds:6.2f} s")


if __name__ == "__main__":
    main()
