"""Do no harm on white noise, on signals ``bench_classes.py`` does not hold.

Classes (made here or shipped by a package, nothing downloaded):

* ``music+AR``: synthetic music (plucked notes, seeds 7 and 8) over an AR(1)
  background (phi 0.9 and 0.97) of 30 and 50 % of the music's std: a rough
  component under a tonal signal;
* ``real``: statsmodels series at other lengths and samplings than the
  benchmark's (sunspots' first 200 and last 256 years and interpolated to
  half-years, co2 every 4th week and its first 1000 weeks, El Nino month by
  month) and the quarterly macro series (real GDP, unemployment, inflation,
  T-bill rate; 203 quarters);
* ``walk256``: random walks of 256 samples (seeds 300-305);
* ``speech``, ``music``, ``sensor``, ``DJ``: fresh instances of the classes
  that were already fine (signal seeds 11, 12, 13; Donoho-Johnstone at 1024
  samples), to see what the rules cost there.

White Gaussian noise at 5, 10 and 30 % of the clean signal's std, noise seeds
200 and 201.  Printed: every case's SNR change by
:func:`resdenoise.automatic.choose_denoiser`, and per class the cases below the
input, the worst and the mean change.  ``--json PATH`` saves the rows; compare
two checkouts by running it with ``PYTHONPATH`` pointing at each.
``python benchmarks/bench_harm.py`` with the ``bench`` extra.  Not a timed test.

Measured on main at c690405 (about 10 min wall at load average 6-14; old -> new against
main 9cbe63a with the gated residual-levels candidate, branch gate15): 7 -> 6 of 186 cases
below the input.  Per class, below the input / worst / mean SNR change: music+AR 2 of 48,
-0.51 dB, +2.25 dB; real 4 of 60, -3.55, +2.18; walk256 0 of 36, +0.00, +1.24; speech 0 of
6, +4.01, +4.60; music 0 of 6, +2.78, +5.09; sensor 0 of 6, +13.72, +15.78; DJ 0 of 24,
+5.20, +10.30.  The six: sunspots' last 256 years at 5 % (seed 201, -3.55 dB) and 10 %
(seed 200, -0.62), quarterly unemployment at 5 % (seed 201, -0.80), half-yearly sunspots at
5 % (seed 200, -0.43), all Perona-Malik over scales (:mod:`resdenoise.harm`: coarsely
sampled cycles whose own white-like part is a small share); music 7 and 8 over AR(1) 0.9 at
5 % (seed 201, -0.22 and -0.51 dB, Charbonnier regularisation).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402
from bench_power_law import ar1  # noqa: E402

from resdenoise.automatic import choose_denoiser  # noqa: E402
from resdenoise.quality import snr_db  # noqa: E402

LEVELS = (0.05, 0.10, 0.30)
SEEDS = (200, 201)


def cases() -> list[tuple[str, str, np.ndarray]]:
    """``(class, name, clean)`` of every signal."""
    from statsmodels import datasets

    out = []
    for seed in (7, 8):
        music = signals.music(seed=seed)
        for phi in (0.9, 0.97):
            red = ar1(music.size, phi, 40 + seed)
            red /= np.std(red)
            for share in (0.3, 0.5):
                out.append(
                    (
                        "music+AR",
                        f"music {seed} AR {phi} {share:.0%}",
                        music + share * np.std(music) * red,
                    )
                )
    sun = datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    co2 = datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy(float)
    macro = datasets.macrodata.load_pandas().data
    elnino = datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy(float)
    half_years = np.interp(np.arange(2 * sun.size - 1) / 2, np.arange(sun.size), sun)
    out += [
        ("real", "sunspots first 200", sun[:200]),
        ("real", "sunspots last 256", sun[-256:]),
        ("real", "co2 every 4th (571)", co2[::4]),
        ("real", "co2 first 1000", co2[:1000]),
        *(
            ("real", f"macro {k} (203)", macro[k].to_numpy(float))
            for k in ("realgdp", "unemp", "infl", "tbilrate")
        ),
        ("real", "elnino by month (732)", elnino.T.ravel()),
        ("real", "sunspots half-yearly (617)", half_years),
    ]
    for seed in range(300, 306):
        out.append(
            ("walk256", f"walk {seed}", np.cumsum(np.random.default_rng(seed).standard_normal(256)))
        )
    out += [
        ("speech", "speech 11", signals.speech(seed=11)),
        ("music", "music 12", signals.music(seed=12)),
        ("sensor", "sensor 13", signals.sensor(seed=13)),
    ]
    out += [("DJ", f"{name} 1024", x) for name, x in signals.donoho_johnstone(1024)]
    return out


def _snr(u, clean) -> float:
    return snr_db(u, clean).item()  # one channel (+inf for a perfect output)


def run(signals_=None) -> list[dict]:
    """Every case's row; ``signals_``: the ``(class, name, clean)`` to run (default
    :func:`cases`)."""
    rows = []
    for cls, name, clean in cases() if signals_ is None else signals_:
        sd = float(np.std(clean))
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            for level in LEVELS:
                f = clean + rng.normal(0.0, level * sd, clean.size)
                plan, extra = choose_denoiser(f)
                row = {
                    "class": cls,
                    "signal": name,
                    "level": level,
                    "seed": seed,
                    "snr_in": _snr(f, clean),
                    "snr_out": _snr(plan.run(f), clean),
                    "choice": extra["automatic_choice"],
                }
                rows.append(row)
                print(
                    f"  {cls:9s} {name[:26]:26s} {level:4.0%} {seed} SNR {row['snr_in']:6.2f} "
                    f"{row['snr_out'] - row['snr_in']:+6.2f} dB ({row['choice']})",
                    flush=True,
                )
    return rows


def summary(rows: list[dict]) -> None:
    print()
    print(f"{'class':10s} {'cases':>5s} {'below input':>11s} {'worst dB':>9s} {'mean dB':>8s}")
    for cls in dict.fromkeys(r["class"] for r in rows):
        change = np.array([r["snr_out"] - r["snr_in"] for r in rows if r["class"] == cls])
        print(
            f"{cls:10s} {change.size:5d} {int(np.sum(change < 0)):11d} "
            f"{change.min():+9.2f} {change.mean():+8.2f}"
        )
    below = sum(r["snr_out"] < r["snr_in"] for r in rows)
    print(f"all: {below} of {len(rows)} cases below the input")


def main(argv=None, signals_=None, doc=None) -> int:
    """Run, print the summary, save ``--json``; ``signals_`` and ``doc`` as another
    script's (``bench_fresh.py``)."""
    parser = argparse.ArgumentParser(description=(doc or __doc__).splitlines()[0])
    parser.add_argument("--json", type=Path, help="save the rows here")
    args = parser.parse_args(argv)
    rows = run(signals_)
    summary(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
