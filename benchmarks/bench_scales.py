"""Several scales: the exact multilevel Haar shrinkage against the dilated cascade and peers.

For every signal class of :mod:`signals` and the white (5, 10, 30 %) and
pink (10 %) cases of ``bench_classes``: the MSE of

* ``levels <rule>``: ``shrink --scales auto``'s multilevel shift-invariant
  Haar shrinkage (soft, all levels, a threshold per level by SURE) with the
  noise rules of :data:`resdenoise.multilevel.NOISE_RULES`;
* ``cascade``: the dilated cascade of :func:`resdenoise.multiscale.choose_cascade`;
* the peers ``swt-sure haar`` and ``swt-sure sym8`` of ``bench_classes``.

Printed: per class and noise kind the geometric-mean MSE ratio of each
method to the better of the two peers (< 1: better).  Not a timed test.
``python benchmarks/bench_scales.py [--seeds N]`` with the ``bench`` extra.

Measured on main at c690405 (one seed, 62 s wall; old -> new against 97c1b9c, the run
quoted in :mod:`resdenoise.multilevel`), all classes, white / pink: ``levels auto`` 0.870 /
0.925 -> 0.769 / 0.883, ``levels one`` 0.778 / 1.041 -> 0.714 / 1.055, ``levels boxes``
0.946 / 0.956 -> 0.870 / 0.901, ``levels per-level`` 13.3 / 7.2 -> 15.2 / 6.0, ``cascade``
0.787 / 1.127 -> 0.735 / 1.062; ``levels capped`` (a rule added since) 1.827 / 1.292.
Above 1 per class: ``levels auto`` on music in white noise (1.091: ``levels one`` 0.796)
and on Donoho-Johnstone in pink (1.021); the cascade on speech, music and
Donoho-Johnstone in pink (1.07-1.30) and sensor traces in pink (1.50).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402
from bench_classes import _mse, geo, noisy_cases, swt_sure  # noqa: E402

from resdenoise.multilevel import NOISE_RULES, choose_levels  # noqa: E402
from resdenoise.multiscale import choose_cascade  # noqa: E402

PEERS = ("swt-sure haar", "swt-sure sym8")


def methods(f: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for rule in NOISE_RULES:
        plan, _ = choose_levels(f, "soft", noise=rule)
        out[f"levels {rule}"] = plan.run(f)
    plan, _ = choose_cascade(f, "soft")
    out["cascade"] = plan.run(f)
    out.update({p: swt_sure(f, p.split()[1]) for p in PEERS})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="noise realisations per case")
    args = parser.parse_args(argv)
    rows = []
    for cls, items in signals.signals().items():
        for name, clean in items:
            for seed in range(args.seeds):
                for kind, level, f in noisy_cases(clean, 100 + seed):
                    if kind == "impulsive":
                        continue
                    mses = {k: _mse(v, clean) for k, v in methods(f).items()}
                    rows.append((cls, kind, mses))
                    best = min(mses[p] for p in PEERS)
                    line = " ".join(f"{k} {v / best:.2f}" for k, v in mses.items())
                    print(
                        f"  {cls[:12]:12s} {name[:18]:18s} {kind} {level:.0%}: {line}", flush=True
                    )
    names = list(rows[0][2])
    print("\ngeometric-mean MSE / better swt-sure peer (< 1: better)")
    print(f"{'class':26s} {'noise':6s} " + " ".join(f"{n[:16]:>16s}" for n in names))
    for kind in ("white", "pink"):
        for cls in [*dict.fromkeys(r[0] for r in rows), "all classes"]:
            sel = [r[2] for r in rows if r[1] == kind and cls in (r[0], "all classes")]
            ratios = [geo([m[n] / min(m[p] for p in PEERS) for m in sel]) for n in names]
            print(f"{cls[:26]:26s} {kind:6s} " + " ".join(f"{x:16.3f}" for x in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
