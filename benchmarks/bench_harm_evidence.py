"""What the noisy data say where the automatic output lost to the input (measurement only).

For every white-noise case of ``bench_harm.py`` (and, with ``--fresh``, of
``bench_fresh.py``): the true level, the searches' level
(:func:`resdenoise.noise.search_noise`), its low end and estimator, the share of the
variance it takes, and statistics of the noisy series alone: the lag-one
autocorrelation of the series and of its first differences, the ratio of third- to
eighth-difference levels, the variogram's nugget and the lag-one covariance (each in
units of the level and with its standard error).  ``--join PATH`` adds the SNR change
and the choice from a ``bench_harm.py --json`` file.  Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_harm  # noqa: E402

from resdenoise.noise import HIGH_ORDER, quiet_window_noise, search_noise  # noqa: E402
from resdenoise.nugget import lag_one_noise, nugget_noise  # noqa: E402


def _acf1(x: np.ndarray) -> float:
    x = x - x.mean()
    return float(np.dot(x[1:], x[:-1]) / np.dot(x, x))


def evidence(f: np.ndarray, sigma: float) -> dict:
    """The statistics of ``f`` (1D) named in the module docstring; ``sigma`` the truth."""
    level = search_noise(f)
    s = float(level.sigma[0])
    low = float(level.at_low().sigma[0])
    s3 = float(quiet_window_noise(f.reshape(-1, 1))[0])
    s8 = float(quiet_window_noise(f.reshape(-1, 1), HIGH_ORDER)[0])
    nug = nugget_noise(f.reshape(-1, 1))
    one = lag_one_noise(f.reshape(-1, 1))
    return {
        "n": int(f.size),
        "est/true": s / sigma,
        "low/true": low / sigma,
        "estimator": level.per_channel()[0][:22],
        "share": s**2 / float(np.var(f)),
        "true share": sigma**2 / float(np.var(f)),
        "acf1 f": _acf1(f),
        "acf1 df": _acf1(np.diff(f)),
        "s3/s8": s3 / s8,
        "nugget/s2": float(nug.variance[0]) / s**2,
        "nug se/s2": float(nug.standard_error[0]) / s**2,
        "misfit": float(nug.misfit[0]),
        "lag1/s2": float(one.variance[0]) / s**2,
        "lag1 se/s2": float(one.standard_error[0]) / s**2,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--join", type=Path, help="a bench_harm.py --json file")
    parser.add_argument("--classes", default="", help="comma-separated classes (default all)")
    parser.add_argument("--fresh", action="store_true", help="bench_fresh.py's cases instead")
    args = parser.parse_args(argv)
    joined = {}
    if args.join:
        for r in json.loads(args.join.read_text()):
            joined[(r["signal"], r["level"], r["seed"])] = r
    if args.fresh:
        import bench_fresh

        cases = bench_fresh.cases()
    else:
        cases = bench_harm.cases()
    wanted = set(filter(None, args.classes.split(",")))
    for cls, name, clean in cases:
        if wanted and cls not in wanted:
            continue
        sd = float(np.std(clean))
        for seed in bench_harm.SEEDS:
            rng = np.random.default_rng(seed)
            for lv in bench_harm.LEVELS:
                f = clean + rng.normal(0.0, lv * sd, clean.size)
                e = evidence(f, lv * sd)
                r = joined.get((name, lv, seed))
                head = f"{cls:8s} {name[:24]:24s} {lv:4.0%} {seed}"
                if r is not None:
                    head += f" {r['snr_out'] - r['snr_in']:+7.2f} {r['choice'][:22]:22s}"
                cells = " ".join(
                    f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in e.items()
                )
                print(head, cells, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
