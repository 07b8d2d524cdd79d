"""What limits the per-scale (multilevel Haar) candidates: the threshold choice or the basis.

For each signal in pink noise at 10 % (``bench_classes``' case, seed 100) and
three oscillatory signals not in that benchmark (a chirp, an AM/FM tone, a
sum of sinusoids): the MSE over the input's of the multilevel shift-invariant
Haar shrinkage (:func:`resdenoise.multilevel.choose_levels`, one iteration)

* ``coef``: each level's threshold by its own coefficient-domain SURE;
* ``signal``: then level after level by SURE of the output signal (the default);
* ``true sigma``: ``signal`` with the true noise of each level (the details of
  the noise itself), to separate the noise estimate from the threshold rule;
* ``oracle``: the thresholds per level that minimise the true MSE (two
  coordinate sweeps over none and ``sigma_j sqrt(2 ln N) 2^(-k/4)``,
  k = -8..40, with the clean signal): the best one Haar iteration can do;

for soft and garrote, beside the PyWavelets SWT SureShrink peers (haar,
sym8).  ``oracle`` against ``sym8`` is the Haar basis's limit.  Not a timed
test.  ``python benchmarks/bench_thresholds.py`` with the ``bench`` extra.

Measured on main at c690405 (97 s wall), pink noise at 10 %, the better of soft and garrote
over the input's MSE: the default ``signal`` rule is within 0.03 of the ``oracle`` where the
noise per level is read within 10-35 % (speech, sensor trace A, Donoho-Johnstone, sunspots,
El Nino; sensor trace B 0.307 against 0.256, the true levels 0.284); where it is read low
(plucked notes 0.49-0.62 of the truth, co2 0.57-0.63, the three oscillatory signals
0.75-0.85) the true levels close most of the gap (co2 0.928 -> 0.558, AM/FM tone 0.916 ->
0.750, chirp 0.935 -> 0.816; oracle 0.545, 0.711, 0.809), and on the Nile (100 samples,
read 4.6-10.7x) 36.7 -> 1.006.  The Haar basis is the limit where even the oracle stays
above the sym8 peer: Doppler (0.728 against 0.652) and the sum of sinusoids (0.890 against
0.836); everywhere else the oracle is below both peers.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402
from bench_classes import _mse, noisy_cases, swt_sure  # noqa: E402

from resdenoise.multilevel import (  # noqa: E402
    choose_levels,
    level_details,
    level_sigmas,
    max_scales,
    plan_levels,
    signal_thresholds,
)
from resdenoise.noise import resolve_sigma  # noqa: E402


def oscillations(n: int = 2048) -> list[tuple[str, np.ndarray]]:
    t = np.arange(n) / n
    return [
        ("chirp", np.sin(2 * np.pi * (5 * t + 150 * t**2))),
        (
            "AM/FM tone",
            (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
            * np.sin(2 * np.pi * 60 * t + 4 * np.sin(2 * np.pi * 2 * t)),
        ),
        (
            "sum of sinusoids",
            np.sin(2 * np.pi * 7 * t)
            + 0.5 * np.sin(2 * np.pi * 41 * t + 1)
            + 0.25 * np.sin(2 * np.pi * 173 * t + 2),
        ),
    ]


def _run(f, name, thetas) -> np.ndarray:
    return plan_levels(name, thetas).run(f) if any(t is not None for t in thetas) else f


def oracle(f, clean, name, sigmas, thetas) -> float:
    """The true-MSE minimum per level, two coordinate sweeps from ``thetas``."""
    thetas = list(thetas)
    universal = math.sqrt(2.0 * math.log(f.size))
    for _ in range(2):
        for j, sj in enumerate(sigmas):
            base = float(np.max(sj)) * universal
            best = math.inf
            for theta in [None] + [base * 2.0 ** (-k / 4) for k in range(-8, 41)]:
                trial = thetas[:j] + [theta] + thetas[j + 1 :]
                mse = _mse(_run(f, name, trial), clean)
                if mse < best:
                    best, thetas[j] = mse, theta
    return _mse(_run(f, name, thetas), clean)


def row(label: str, clean: np.ndarray, f: np.ndarray) -> None:
    f2 = f.reshape(-1, 1)
    k = max_scales(f.size)
    noise = (f - clean).reshape(-1, 1)
    true = [np.array([np.std(level_details(noise, j))]) for j in range(1, k + 1)]
    level = resolve_sigma(f2, None, search=True)
    est, _ = level_sigmas(f2, k, "auto", level.sigma, level.estimator)
    ratio = [float(e[0] / t[0]) for e, t in zip(est, true, strict=True)]
    base = _mse(f, clean)
    cells = []
    for name in ("soft", "garrote"):
        coef_plan, coef = choose_levels(f, name, thresholds="coefficients")
        plan, _ = choose_levels(f, name)
        known, _ = signal_thresholds(f2, name, true, list(coef.thetas))
        cells += [
            _mse(coef_plan.run(f), clean),
            _mse(plan.run(f), clean),
            _mse(_run(f, name, known), clean),
            oracle(f, clean, name, true, coef.thetas),
        ]
    cells += [_mse(swt_sure(f, w), clean) for w in ("haar", "sym8")]
    print(
        f"{label[:22]:22s} "
        + " ".join(f"{c / base:6.3f}" for c in cells)
        + "   est/true noise, levels 1-4: "
        + " ".join(f"{r:.2f}" for r in ratio[:4]),
        flush=True,
    )


def main() -> int:
    heads = ("coef", "signal", "true s", "oracle")
    print("MSE / input MSE, pink noise at 10 %; soft | garrote | swt-sure haar, sym8")
    print(
        f"{'signal':22s} "
        + " ".join(f"{h:>6s}" for h in heads)
        + " "
        + " ".join(f"{h:>6s}" for h in heads)
        + "   haar   sym8"
    )
    cases = [(n, c) for items in signals.signals().values() for n, c in items]
    for name, clean in cases + oscillations():
        pink = [f for kind, _, f in noisy_cases(clean, 100) if kind == "pink"][0]
        row(name, clean, pink)
    return 0


if __name__ == "__main__":
    sys.exit(main())
