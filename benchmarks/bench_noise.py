"""Noise estimators compared by measurement, on signals of every class.

For each clean signal of :mod:`signals` (synthetic speech and music, real
measured series shipped by statsmodels, piecewise-constant sensor traces,
the Donoho-Johnstone signals) and white Gaussian noise of 5, 10 and 30 % of
the signal's standard deviation (several seeds), the ratio estimate / true
sigma of each candidate:

* ``mad-haar``: MAD of the finest Haar details (Donoho-Johnstone; resdenoise's
  estimator before issue 15);
* ``mad-sym8``, ``mad-db4``: MAD of the finest details of a smoother wavelet
  (PyWavelets, periodised);
* ``mad-d3``: MAD of the normalised third differences;
* ``quiet-windows``: resdenoise's estimator (:mod:`resdenoise.noise`);
* ``search``: the level the automatic searches use: ``quiet-windows``
  checked across difference orders 3 and 8 (:func:`resdenoise.noise.search_noise`).

Printed per class: the geometric mean of max(r, 1/r) (1 is exact), the
worst ratio, and the share of cases within 20 %.  Run with the ``bench``
extra installed (``make bench-quality`` installs it): ``python
benchmarks/bench_noise.py``.

Measured on main at c690405 (13 s wall), per class geometric mean of max(r, 1/r) / worst
r / share within 20 % for ``search`` (the level the automatic searches use): speech 1.03 /
1.05 / 100 %, music 1.05 / 0.87 / 100 %, measured series 1.91 / 14.03 / 42 %, sensor 1.02 /
0.95 / 100 %, Donoho-Johnstone 1.03 / 0.87 / 100 %; ``quiet-windows`` 1.03 (worst 1.05)
on speech, 1.03 (1.10) on music, and ``mad-haar`` 1.64 (2.18) and 1.65 (2.68) there.  The
measured series' misses are their own content read as noise: yearly sunspots at 5 % read
2.09x by ``search`` (3.0-8.5x by the others), 10 % 1.59x; monthly El Nino at 5 % 1.57x,
10 % 1.35x; yearly Nile flow (100 samples) 13.9x, 7.1x and 2.7x at 5, 10 and 30 %, every
estimator alike (2.2-14.3x); weekly co2 0.98-1.03x.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402

from resdenoise.noise import estimate_noise, search_noise  # noqa: E402

LEVELS = (0.05, 0.10, 0.30)
SEEDS = 3


def _mad(x) -> float:
    return float(np.median(np.abs(x)) / 0.6745)


def _wavelet(f, name) -> float:
    import pywt

    return _mad(pywt.dwt(f, name, mode="periodization")[1])


CANDIDATES = {
    "mad-haar": lambda f: float(estimate_noise(f, "mad-haar")[0]),
    "mad-sym8": lambda f: _wavelet(f, "sym8"),
    "mad-db4": lambda f: _wavelet(f, "db4"),
    "mad-d3": lambda f: _mad(np.diff(f, 3) / math.sqrt(20.0)),
    "quiet-windows": lambda f: float(estimate_noise(f)[0]),
    "search": lambda f: float(search_noise(f).sigma[0]),
}


def ratios() -> dict:
    """``{(class, candidate): [estimate / sigma, ...]}`` and per signal."""
    out: dict = {}
    for cls, items in signals.signals().items():
        for name, clean in items:
            for level in LEVELS:
                sigma = level * float(np.std(clean))
                for seed in range(SEEDS):
                    rng = np.random.default_rng(1000 + seed)
                    f = clean + rng.normal(0.0, sigma, clean.size)
                    for cand, fn in CANDIDATES.items():
                        r = fn(f) / sigma
                        out.setdefault((cls, cand), []).append(r)
                        out.setdefault((name, level, cand), []).append(r)
    return out


def main() -> int:
    res = ratios()
    cands = list(CANDIDATES)
    classes = list(signals.signals())
    print("noise estimate / true sigma, white noise at 5, 10, 30 % of std(clean)")
    print("per class: geometric mean of max(r, 1/r) | worst r | share within 20 %")
    print(f"{'class':26s} " + " ".join(f"{c:>22s}" for c in cands))
    for cls in classes:
        cells = []
        for c in cands:
            r = np.array(res[(cls, c)])
            err = np.exp(np.mean(np.abs(np.log(r))))
            worst = r[np.argmax(np.abs(np.log(r)))]
            within = np.mean(np.abs(r - 1.0) <= 0.2)
            cells.append(f"{err:6.2f} {worst:7.2f} {within:5.0%}")
        print(f"{cls:26s} " + " ".join(f"{c:>22s}" for c in cells))
    print()
    print("measured series, per signal and level (mean ratio):")
    for name, _ in signals.measured():
        for level in LEVELS:
            line = " ".join(f"{np.mean(res[(name, level, c)]):14.2f}" for c in cands)
            print(f"  {name:26s} {level:4.0%} {line}")
    print()
    print("pure white noise (unit sigma, 200 seeds): mean estimate and its standard deviation")
    for n in (100, 300, 1000):
        draws = [np.random.default_rng(5000 + i).standard_normal(n) for i in range(200)]
        line = " ".join(
            f"{np.mean(v):8.3f} {np.std(v):5.3f}"
            for v in ([CANDIDATES[c](x) for x in draws] for c in cands)
        )
        print(f"  n = {n:<23d} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
