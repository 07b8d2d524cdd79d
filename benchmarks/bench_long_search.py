"""The windowed searches of a long signal against the whole signal's, in one process:
``resdenoise denoise``'s choice (``choose_denoiser``) with the cascade over diffusion
scales searched on windows and the multilevel shrinkages' thresholds on sampled rows
(:data:`resdenoise.multiscale.CASCADE_WINDOWS_FROM`,
:data:`resdenoise.multilevel.LEVELS_SAMPLE_FROM`), and with both thresholds set past the
signal's length (the whole signal, as before them).

Signals with known clean versions: ``bench_auto_heldout``'s classes (speech, music,
sensor traces, steps, chirps), white noise of the levels given; per case one JSON line:
the MSE of denoise's output, of the cascade candidate's and of each multilevel
candidate's, the cascade's SURE and the CPU seconds of the cascade's search, before and
after.  The single-scale searches do not change: they run once and are reused.
``--compare FILE``: per size the geometric mean and the worst ratio of the MSE, and the
cases below the input before and after.

    python benchmarks/bench_long_search.py --sizes 1e5,2e5 --noise 0.05,0.1,0.3 > rows.jsonl
    python benchmarks/bench_long_search.py --compare rows.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Past every signal's length: the whole signal at every scale and level.
WHOLE = 1 << 62


def _instrument(seen: dict) -> None:
    """Reuse the single-scale searches (unchanged); record the scale candidates' plans."""
    from resdenoise import autoparams, multilevel, multiscale

    searched = autoparams.choose_parameters
    cache = {}

    def reused(*args, **kwargs):
        key = hashlib.sha1(pickle.dumps((args, sorted(kwargs.items())))).hexdigest()
        if key not in cache:
            cache[key] = searched(*args, **kwargs)
        return cache[key]

    levels, cascade = multilevel._choose_levels, multiscale.choose_diffusion_scales

    def levels_seen(f, name, **kwargs):
        out = levels(f, name, **kwargs)
        seen.setdefault("levels", []).append((name, f, out[0]))
        return out

    def cascade_seen(f, name, scales=None, sigma=None, lam=None):
        cpu = time.process_time()
        out = cascade(f, name, scales, sigma, lam)
        seen.setdefault("cascade", []).append((time.process_time() - cpu, f, *out))
        return out

    autoparams.choose_parameters = reused
    multilevel._choose_levels = levels_seen
    multiscale.choose_diffusion_scales = cascade_seen


def _mse(plan, f, clean) -> float:
    return float(np.mean((np.asarray(plan.run(np.asarray(f, dtype=float))).ravel() - clean) ** 2))


def run(sizes, noises, seeds) -> None:
    from bench_auto_heldout import classes

    from resdenoise import multilevel, multiscale
    from resdenoise.automatic import choose_denoiser

    seen: dict = {}
    _instrument(seen)
    after = (multiscale.CASCADE_WINDOWS_FROM, multilevel.LEVELS_SAMPLE_FROM)
    for n in sizes:
        for name, make in classes().items():
            for seed in seeds:
                clean = make(n, seed)
                for level in noises:
                    rng = np.random.default_rng(1000 * seed + int(level * 100))
                    f = clean + level * clean.std() * rng.standard_normal(n)
                    row = {"n": n, "class": name, "seed": seed, "noise": level}
                    row["input"] = float(np.mean((f - clean) ** 2))
                    for tag, (cascade, levels) in (("before", (WHOLE, WHOLE)), ("after", after)):
                        multiscale.CASCADE_WINDOWS_FROM, multilevel.LEVELS_SAMPLE_FROM = (
                            cascade,
                            levels,
                        )
                        seen.clear()
                        plan, extra = choose_denoiser(f)
                        cpu, g, cplan, cchoice = seen["cascade"][0]
                        out = {"mse": _mse(plan, f, clean), "choice": extra["automatic_choice"]}
                        out |= {"cascade_mse": _mse(cplan, g, clean), "cascade_cpu": cpu}
                        out |= {"cascade_sure": cchoice.risks[-1] if cchoice.risks else None}
                        for lname, lg, lplan in seen["levels"][:2]:
                            out[f"levels_{lname}_mse"] = _mse(lplan, lg, clean)
                        row[tag] = out
                    multiscale.CASCADE_WINDOWS_FROM, multilevel.LEVELS_SAMPLE_FROM = after
                    print(json.dumps(row), flush=True)


def compare(path: str) -> None:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    keys = ["mse", "cascade_mse", "levels_soft_mse", "levels_garrote_mse"]
    for n in sorted({r["n"] for r in rows}):
        some = [r for r in rows if r["n"] == n]
        print(f"n = {n}: {len(some)} cases")
        for key in keys:
            logs = [math.log(r["after"][key] / r["before"][key]) for r in some]
            print(
                f"  {key:20s} after/before: geometric mean {math.exp(np.mean(logs)):.4f}, "
                f"worst {math.exp(max(logs)):.4f}, best {math.exp(min(logs)):.4f}"
            )
        for tag in ("before", "after"):
            below = sum(r[tag]["mse"] > r["input"] for r in some)
            cpu = np.median([r[tag]["cascade_cpu"] for r in some])
            print(f"  {tag}: {below} below the input; cascade search CPU median {cpu:.2f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,2e5")
    parser.add_argument("--noise", default="0.05,0.1,0.3")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--compare", metavar="FILE")
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.compare)
        return 0
    run(
        [int(float(s)) for s in args.sizes.split(",")],
        [float(s) for s in args.noise.split(",")],
        [int(s) for s in args.seeds.split(",")],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
