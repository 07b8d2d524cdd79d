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

``--per-level`` (issue 15's target: the estimate within 20 % of the true sigma on every
class at 5-30 % white noise): per class of :mod:`signals` and of ``bench_nugget.py`` and per
level, the geometric mean and range of the ratio over signals and 3 seeds, for
``quiet-windows`` (the run's report) and ``search`` (the automatic searches'); then, for
every class outside 0.8-1.2, per signal what its clean version alone reads (``own``, x
sigma: the noisy one reads about ``sqrt(1 + own^2)``), its intrinsic nugget ``q0`` (the
variogram's quadratic extrapolation to lag 0, :func:`resdenoise.nugget.quadratic_noise`,
x sigma^2) and the noisy series' third over eighth difference level.  Measured on main
c690405 (geometric mean, quiet-windows / search)::

    class                    5 %          10 %         30 %
    speech                   1.03 / 1.03  1.02 / 1.02  1.01 / 1.01
    music                    1.07 / 0.89  1.01 / 1.01  0.99 / 0.99
    measured series          3.26 / 2.57  2.09 / 1.96  1.35 / 1.35
    sensor                   1.00 / 1.00  1.00 / 1.00  1.00 / 1.00
    Donoho-Johnstone         1.02 / 1.01  1.02 / 1.01  1.02 / 1.00
    AR(1)                    4.84 / 3.24  2.75 / 2.08  1.44 / 1.13
    seasonal                 1.78 / 1.15  1.23 / 1.07  1.03 / 1.03
    random walk              1.46 / 1.29  1.14 / 1.04  0.98 / 0.98
    chirp                    1.20 / 0.90  1.15 / 0.98  1.08 / 1.08
    sum of tones             2.09 / 0.49  1.36 / 0.74  1.06 / 0.50
    piecewise constant       1.11 / 1.11  1.09 / 1.09  1.06 / 1.02

Outside 0.8-1.2, and why (the clean signal's figures at the level named):

* measured series (5-30 %, both): the series' own content read as noise, ``own`` 3.28,
  2.12 and 13.75x at 5 % for yearly sunspots, El Nino and the yearly Nile (co2 0.29x),
  and the noisy series read ``sqrt(1 + own^2)`` (3.43, 2.35, 13.78x).  The Nile is
  smooth plus white-like roughness of its own, ``q0`` 142 +- 52 ``sigma^2`` at 5 % (3.96 +-
  1.45 at 30 %, where it still reads 2.66x): no estimator tells it from the noise.
  Sunspots and El Nino are convex at their finest scale (``q0`` -59 +- 15 and -37 +- 3.8:
  cycles of 11 and 12 samples), which quiet-windows reads as noise and the order
  extrapolation lowers in part (search 2.09 and 1.57x at 5 %, 1.18 and 1.07x at 30 %).
* AR(1) (5-10 %, both; 30 % quiet-windows): its own increments at every scale, ``own``
  12.5, 4.95, 1.53x for phi 0.5, 0.9, 0.99 at 5 %.  The variogram's AR(1)-plus-white model
  fits (misfit 0.03-0.08), but on 4096 samples its nugget is uncertain by 14.7 and 3.5
  ``sigma^2`` at 5 % (phi 0.5, 0.9; seed 1000), 3.7 and 0.9 at 10 %, 0.38 for phi 0.99 at
  5 %: the level is capped at its upper bound (phi 0.5: 9.6x and 4.9x; phi 0.99: 1.29x)
  or called not identified (phi 0.9, 2.8x and 1.7x: the searches keep the input).
  phi 0.5 is white-like itself (``q0`` 49 +- 10 ``sigma^2`` at 5 %).
* seasonal (5-10 %, quiet-windows only): its AR(0.8) part, ``own`` 1.46x at 5 %; the
  search's checks bring it to 1.15x.
* random walk (5 %, both): the 256-sample walk's unit increments, ``own`` 2.36x, and its
  own reading uncertain (``q0`` -2.8 +- 2.3 ``sigma^2``); 1024 and 4096 samples within.
* chirp (5 %, quiet-windows 1.20, on the limit): its fine-scale energy rises along it and
  leaves only 27 % of the 32-sample windows with less than 0.1 ``sigma^2`` of its own, so
  the quietest fifth still holds some of it (``own`` alone 0.17x); the search 0.90x.
* sum of tones (5-10 % quiet-windows, 5-30 % search): quiet-windows reads the 5.1-sample
  tone as noise (``own`` 1.84x at 5 %: 2.09x read, ``sqrt(1 + own^2)`` 2.10x); the search
  reads it low, 0.49x, because the tone passes third differences far more than eighth
  (s3/s8 2.06) and the extrapolation ``s3 / r^2`` assumes a leak that falls with the order
  as a power law; at 30 % (s3/s8 1.06) the lag-one check calls the level not identified
  on 2 of 3 seeds (0.36-0.38x; the searches keep the input) and the spectral floor reads
  0.91x on the third.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402

from resdenoise.noise import HIGH_ORDER, estimate_noise, quiet_window_noise, search_noise  # noqa: E402
from resdenoise.nugget import quadratic_noise  # noqa: E402

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


def _geo(r) -> float:
    return float(np.exp(np.mean(np.log(r))))


def per_level() -> list[dict]:
    """Per class of :func:`signals.signals` and ``bench_nugget.py``'s extra classes and per
    level: the ratio estimate / true sigma of ``quiet-windows`` (the run's report) and of
    ``search`` (the automatic searches'), geometric mean and range over signals and seeds;
    and per signal what its clean version alone reads (the module docstring's "why")."""
    from bench_nugget import extra_classes

    rows = []
    for cls, items in {**signals.signals(), **extra_classes()}.items():
        for level in LEVELS:
            plain, found, why = [], [], []
            for name, clean in items:
                sigma = level * float(np.std(clean))
                c2 = clean.reshape(-1, 1)
                q0 = quadratic_noise(c2)
                s38 = []
                for seed in range(SEEDS):
                    rng = np.random.default_rng(1000 + seed)
                    f = (clean + rng.normal(0.0, sigma, clean.size)).reshape(-1, 1)
                    plain.append(float(estimate_noise(f)[0]) / sigma)
                    found.append(float(search_noise(f).sigma[0]) / sigma)
                    s38.append(
                        float(quiet_window_noise(f)[0] / quiet_window_noise(f, HIGH_ORDER)[0])
                    )
                why.append(
                    {
                        "signal": name,
                        "own": float(estimate_noise(c2)[0]) / sigma,
                        "q0": float(q0.variance[0]) / sigma**2,
                        "q0 se": float(q0.standard_error[0]) / sigma**2,
                        "s3/s8": float(np.mean(s38)),
                        "search": float(np.mean(found[-SEEDS:])),
                    }
                )
            rows.append({"class": cls, "level": level, "plain": plain, "search": found, "why": why})
    return rows


def print_per_level(rows: list[dict]) -> None:
    print("estimate / true sigma per class and level: geometric mean [range] (3 seeds each)")
    print(f"{'class':24s} {'noise':>5s} {'quiet-windows':>20s} {'search':>20s}")
    out = []
    for row in rows:
        cells = []
        for key in ("plain", "search"):
            r = np.array(row[key])
            cells.append(f"{_geo(r):5.2f} [{r.min():5.2f}, {r.max():5.2f}]")
            if not 0.8 <= _geo(r) <= 1.2:
                out.append(row)
        print(
            f"{row['class'][:24]:24s} {row['level']:5.0%} " + " ".join(f"{c:>20s}" for c in cells)
        )
    print()
    print("outside 0.8-1.2: per signal, the clean signal alone read by quiet-windows (own,")
    print("x sigma; the noisy one reads about sqrt(1 + own^2)), its intrinsic nugget q0 (the")
    print("variogram's quadratic extrapolation to lag 0, x sigma^2), the noisy s3/s8, search")
    for row in dict((id(r), r) for r in out).values():
        for w in row["why"]:
            print(
                f"  {row['class'][:18]:18s} {row['level']:4.0%} {w['signal'][:22]:22s} own "
                f"{w['own']:6.2f} (sqrt(1+own^2) {math.hypot(1.0, w['own']):6.2f}) q0 "
                f"{w['q0']:8.2f} +- {w['q0 se']:6.2f} s3/s8 {w['s3/s8']:5.2f} search {w['search']:5.2f}"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-level", action="store_true", help="per class and level, and why")
    if parser.parse_args(argv).per_level:
        print_per_level(per_level())
        return 0
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
