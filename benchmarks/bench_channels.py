"""A quiet channel beside a louder one: one automatic plan for both, or one per channel.

Stereo signals whose second channel is k times the first's level (signal and noise:
another realisation of the same class, white noise at 10 % of each clean channel's std),
k = 1, 2, 4, 20, of speech-, music- and step-like signals and the Donoho-Johnstone
signals (:mod:`signals`).  Each automatic mode (``shrink --iterations auto``, ``diffuse
--time auto``, ``denoise``) runs them twice: planned together (one family, lambda and
stopping time for both, as before :mod:`resdenoise.split`) and planned apart (each
channel the plan of a run of its own).  Printed: per mode and k, each channel's SNR
change apart minus together (dB), the mean and the extremes over signals; the quiet
channel's is the one that matters, the loud one's shows what apart costs it.  Not a
timed test.  ``python benchmarks/bench_channels.py [--n N] [--seeds S] [--json F]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402

import resdenoise  # noqa: E402
import resdenoise.split as split  # noqa: E402
from resdenoise.noise import search_noise  # noqa: E402
from resdenoise.plans import automatic_planner  # noqa: E402

FACTORS = (1.0, 2.0, 4.0, 20.0)


def snr_db(x, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2)) / float(np.sum((x - clean) ** 2)))


def _denoise(u):
    plan, _ = automatic_planner()(u)
    return plan.run(u)


MODES = {
    "shrink --iterations auto": lambda u: resdenoise.shrink(u, iterations="auto"),
    "diffuse --time auto": lambda u: resdenoise.diffuse(u, "perona-malik", time="auto"),
    "denoise": _denoise,
}


def pairs(n: int):
    """``(name, clean quiet, clean loud)`` of every class: two realisations each."""
    out = [
        ("speech", signals.speech(n, 1), signals.speech(n, 4)),
        ("music", signals.music(n, 2), signals.music(n, 5)),
        ("steps", signals.sensor(n, 3), signals.sensor(n, 6)),
    ]
    dj = dict(signals.donoho_johnstone(n))
    out += [
        ("Blocks/Bumps", dj["Blocks"], dj["Bumps"]),
        ("Doppler/HeaviSine", dj["Doppler"], dj["HeaviSine"]),
    ]
    return [(name, a / np.std(a), b / np.std(b)) for name, a, b in out]


def run(n: int, seeds: int = 1) -> list[dict]:
    rows = []
    for name, a, b, seed in [(*p, s) for p in pairs(n) for s in range(seeds)]:
        rng = np.random.default_rng(7 + seed)
        for k in FACTORS:
            clean = np.stack([a, k * b], axis=1)
            noisy = clean + 0.1 * np.stack([np.std(a), k * np.std(b)]) * rng.standard_normal(
                clean.shape
            )
            for mode, fn in MODES.items():
                snr = {}
                for how, factor in (("together", math.inf), ("apart", 1.0)):
                    split.SPLIT_FACTOR = factor
                    out = fn(noisy)
                    snr[how] = [float(snr_db(out[:, c], clean[:, c])) for c in range(2)]
                levels = search_noise(noisy).sigma
                ratio = float(np.max(levels) / np.min(levels))
                row = {
                    "signal": name,
                    "seed": seed,
                    "k": k,
                    "mode": mode,
                    "level_ratio": ratio,
                    **snr,
                }
                rows.append(row)
                gain = [x - y for x, y in zip(snr["apart"], snr["together"], strict=True)]
                print(
                    f"  {name:18s} k={k:4g} {mode:26s} levels {ratio:6.3g}x apart: "
                    f"quiet {gain[0]:+7.2f} dB, loud {gain[1]:+7.2f} dB",
                    flush=True,
                )
    return rows


#: The rules compared: apart where the estimated levels differ by more than this factor.
RULES = (1.0, 1.25, 1.5, 2.0, 4.0)


def summary(rows) -> None:
    print(
        "\nSNR apart - together (dB), over signals: quiet channel mean [min, max]; loud channel mean [min, max]"
    )
    for mode in MODES:
        for k in FACTORS:
            sel = [r for r in rows if r["mode"] == mode and r["k"] == k]
            q = [r["apart"][0] - r["together"][0] for r in sel]
            lo = [r["apart"][1] - r["together"][1] for r in sel]
            print(
                f"  {mode:26s} k={k:4g}: quiet {np.mean(q):+6.2f} [{min(q):+6.2f}, {max(q):+6.2f}]"
                f"  loud {np.mean(lo):+6.2f} [{min(lo):+6.2f}, {max(lo):+6.2f}]"
            )
    print("\nThe rules: apart where the estimated levels differ by more than F (F = 1: always)")
    print(
        "SNR of the rule - together (dB), quiet and loud channels, mean [min] over signals and modes"
    )
    for k in FACTORS:
        sel = [r for r in rows if r["k"] == k]
        cells = []
        for f in RULES:
            g = [
                [r["apart"][c] - r["together"][c] if r["level_ratio"] > f else 0.0 for r in sel]
                for c in range(2)
            ]
            split_ = sum(r["level_ratio"] > f for r in sel)
            cells.append(
                f"F={f:g}: {np.mean(g[0]):+5.2f} [{min(g[0]):+5.2f}] / {np.mean(g[1]):+5.2f} "
                f"[{min(g[1]):+5.2f}] ({split_}/{len(sel)} split)"
            )
        print(f"  k={k:4g}  " + "\n          ".join(cells))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096, help="samples per channel")
    parser.add_argument("--seeds", type=int, default=1, help="noise draws per signal")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    rows = run(args.n, args.seeds)
    summary(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
