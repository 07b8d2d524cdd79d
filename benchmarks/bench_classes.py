"""resdenoise's automatic choice against automatic wavelet peers, on every signal class.

Signals (:mod:`signals`, made here or shipped by a package, nothing
downloaded): synthetic speech (formant model) and synthetic music
(plucked notes), real measured series shipped inside statsmodels,
piecewise-constant sensor traces, the Donoho-Johnstone signals.  Noise:
white Gaussian at 5, 10 and 30 % of the clean signal's std; pink (1/f) at
10 %; impulsive (10 % white plus 1 % one-sample spikes of 5-15 std).

Methods, all in automatic modes:

* ``resdenoise``: :func:`resdenoise.automatic.choose_denoiser`, as
  ``resdenoise denoise`` runs it (family, scales, lambda and blocks by
  SURE; impulse pre-stage when detected);
* ``swt-sure haar``, ``swt-sure sym8``: PyWavelets multilevel stationary
  transform (mirrored signal, up to 5 levels), SureShrink threshold per
  level, sigma by MAD of the finest details;
* ``bayes db1``, ``bayes sym8``, ``visu db1``, ``visu sym8``:
  scikit-image ``denoise_wavelet`` (soft, ``rescale_sigma``);
* ``calibrated``: scikit-image ``calibrate_denoiser`` (self-supervised)
  over ``denoise_wavelet`` (sigma grid, db1 and sym8) and
  ``denoise_tv_chambolle`` (weight grid), the better by its own loss.

Printed: per class and noise kind, the geometric mean over cases of MSE
(resdenoise) / MSE (peer) for the best peer of that class (the one with the
smallest geometric-mean MSE) and over all classes; the SNR change of every
white-noise case.  Not a timed test.  ``python benchmarks/bench_classes.py
[--seeds N] [--json F]`` with the ``bench`` extra (``make bench-quality``); ``--compare
OLD.json NEW.json`` as :mod:`bench_heldout_classes`' (each case named by its signal too).

Measured side by side in one run on main 74cce38 and on the merge of imp21, pink21, short21,
safe21, fix21a and fix21b (``--seeds 2``, 235 s wall each, ``nice``; main -> merge): white
0.312 -> 0.312 (every class 1.000; white cases below the input 1 -> 1, sunspots at 10 %),
pink 0.607 -> 0.602 (music 0.920 -> 0.873, speech 0.817 -> 0.812), impulsive 0.065 -> 0.022
(speech 0.206 -> 0.121, music 0.561 -> 0.108, measured series 0.098 -> 0.052, sensor 0.006
-> 0.000, Donoho-Johnstone 0.027 -> 0.016: the impulse detector's scale floor, neighbours
rescored, and the random-places test for 2-63 impulses).  Every case whose SNR moved by
more than 0.1 dB moved up (18 cases, +0.13 to +27.9 dB).  The figures below are the earlier
run's.

Measured on main at c690405 (``--seeds 2``, 140 cases, 564 s wall, 247 s CPU at load
average 4-7; old -> new against the last full run, main 9cbe63a with the gated
residual-levels candidate, branch gate15): white 0.313 -> 0.312 of the best peer (speech
0.699 -> 0.695, music 0.942 -> 0.946, measured series 0.350 -> 0.350, sensor 0.151,
Donoho-Johnstone 0.320 -> 0.319), pink 0.607 -> 0.607 (speech 0.817, music 0.920,
measured 0.343, sensor 0.717, Donoho-Johnstone 0.924), impulsive 0.065 -> 0.065 (music
0.561 the highest); white cases below the input 1 -> 1 (sunspots at 10 %, seed 100,
-2.19 dB: :mod:`resdenoise.harm`).  Per case above the best peer: music at 5-10 % (6 of
12, 1.02-1.31, against the sym8 peers), sunspots at 30 % seed 100
(1.47, the input kept), El Nino at 30 % (1.14, 1.22), Doppler at 5 % (1.22, 1.22) and
30 % seed 101 (1.34); pink: co2 (1.28, 1.26), HeaviSine seed 101 (1.48), Doppler (1.13,
1.16); impulsive: sunspots seed 101 (1.11) and El Nino seed 100 (1.76), the two of the
28 impulsive cases with spikes where no pre-stage ran (2 and 5 spikes, 3 and 7 flagged,
not called impulsive; Nile's 100 samples drew none).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402

from resdenoise.automatic import choose_denoiser  # noqa: E402
from resdenoise.quality import snr_db  # noqa: E402

WHITE = (0.05, 0.10, 0.30)
PEERS = (
    "swt-sure haar",
    "swt-sure sym8",
    "bayes db1",
    "bayes sym8",
    "visu db1",
    "visu sym8",
    "calibrated",
)


def _sure_threshold(x: np.ndarray) -> float:
    """SureShrink's soft threshold for unit-variance coefficients x (Donoho-Johnstone)."""
    a = np.sort(np.abs(x)) ** 2
    n = a.size
    cum = np.cumsum(a)
    k = np.arange(1, n + 1)
    risks = (n - 2 * k + cum + (n - k) * a) / n
    return float(math.sqrt(a[int(np.argmin(risks))]))


def swt_sure(f: np.ndarray, wavelet: str) -> np.ndarray:
    import pywt

    n = f.size
    x = np.concatenate([f, f[::-1]])
    level = min(5, pywt.swt_max_level(x.size + (-x.size) % 32))
    pad = (-x.size) % (2**level)
    x = np.pad(x, (0, pad), mode="symmetric")
    coeffs = pywt.swt(x, wavelet, level=level, norm=True, trim_approx=True)
    sigma = float(np.median(np.abs(coeffs[-1])) / 0.6745) or 1e-12
    out = [coeffs[0]]
    for d in coeffs[1:]:
        t = _sure_threshold(d / sigma) * sigma
        # a threshold of 0 keeps the level (pywt's soft rule makes 0/0 = NaN of its zeros)
        out.append(pywt.threshold(d, t, mode="soft") if t > 0 else d)
    return pywt.iswt(out, wavelet, norm=True)[:n]


def calibrated(f: np.ndarray) -> np.ndarray:
    from skimage.restoration import (
        calibrate_denoiser,
        denoise_tv_chambolle,
        denoise_wavelet,
        estimate_sigma,
    )

    s = float(estimate_sigma(f)) or 1e-3 * float(np.std(f)) or 1e-12
    best, loss = None, math.inf
    grids = (
        (
            denoise_wavelet,
            {"sigma": list(s * np.geomspace(0.25, 4, 9)), "wavelet": ["db1", "sym8"]},
        ),
        (denoise_tv_chambolle, {"weight": list(s * np.geomspace(0.1, 10, 12))}),
    )
    for fn, grid in grids:
        den, (_params, losses) = calibrate_denoiser(
            f, fn, denoise_parameters=grid, extra_output=True
        )
        if min(losses) < loss:
            best, loss = den, min(losses)
    return best(f)


def peers(f: np.ndarray) -> dict[str, np.ndarray]:
    from skimage.restoration import denoise_wavelet

    out = {"swt-sure haar": swt_sure(f, "haar"), "swt-sure sym8": swt_sure(f, "sym8")}
    for method, key in (("BayesShrink", "bayes"), ("VisuShrink", "visu")):
        for w in ("db1", "sym8"):
            out[f"{key} {w}"] = denoise_wavelet(
                f, wavelet=w, method=method, mode="soft", rescale_sigma=True
            )
    out["calibrated"] = calibrated(f)
    return out


def pink(n: int, rng) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    freq = np.fft.rfftfreq(n)
    freq[0] = freq[1]
    x = np.fft.irfft(spec / np.sqrt(freq), n)
    return x / np.std(x)


def noisy_cases(clean: np.ndarray, seed: int):
    """(kind, level, noisy) for every noise case."""
    sd = float(np.std(clean))
    rng = np.random.default_rng(seed)
    for level in WHITE:
        yield "white", level, clean + rng.normal(0.0, level * sd, clean.size)
    yield "pink", 0.10, clean + 0.10 * sd * pink(clean.size, rng)
    f = clean + rng.normal(0.0, 0.10 * sd, clean.size)
    spikes = rng.random(clean.size) < 0.01
    f[spikes] += rng.choice([-1.0, 1.0], spikes.sum()) * rng.uniform(5, 15, spikes.sum()) * sd
    yield "impulsive", 0.10, f


def _mse(u, clean) -> float:
    return float(np.mean((np.asarray(u) - clean) ** 2))


def _snr(u, clean) -> float:
    return snr_db(u, clean).item()  # one channel (+inf for a perfect output)


def measure(cls: str, name: str, seed: int, case, clean: np.ndarray):
    """One case's row (``case``: ``(kind, level, noisy)``) and the automatic choice's
    ``extra``: resdenoise's automatic choice and every peer on the noisy signal."""
    kind, level, f = case
    plan, extra = choose_denoiser(f)
    ours = plan.run(f)
    mses = {"resdenoise": _mse(ours, clean)}
    mses.update({k: _mse(v, clean) for k, v in peers(f).items()})
    row = {
        "class": cls,
        "signal": name,
        "kind": kind,
        "level": level,
        "seed": seed,
        "mse": mses,
        "snr_in": _snr(f, clean),
        "snr_out": _snr(ours, clean),
        "choice": extra["automatic_choice"],
        "prestage": extra["impulse_prestage"].startswith("hampel"),
    }
    print(
        f"  {cls[:14]:14s} {name[:22]:22s} {kind:9s} {level:4.0%} "
        f"SNR {row['snr_in']:6.2f} -> {row['snr_out']:6.2f} dB "
        f"({extra['automatic_choice']}), ours/best peer "
        f"{mses['resdenoise'] / min(mses[p] for p in PEERS):.3f}",
        flush=True,
    )
    return row, extra


def run(seeds: int):
    rows = []
    for cls, items in signals.signals().items():
        for name, clean in items:
            for seed in range(seeds):
                for case in noisy_cases(clean, 100 + seed):
                    rows.append(measure(cls, name, seed, case, clean)[0])
    return rows


def geo(values) -> float:
    return float(np.exp(np.mean(np.log(values))))


def class_ratio(sel) -> tuple[str, float, float]:
    """Over the rows ``sel``: the best peer (the smallest geometric-mean MSE), the
    geometric-mean MSE ratio resdenoise / that peer, and the ratio to the worst peer."""
    best = min(PEERS, key=lambda p: geo([r["mse"][p] for r in sel]))
    ratio = geo([r["mse"]["resdenoise"] / r["mse"][best] for r in sel])
    worst = min(geo([r["mse"]["resdenoise"] / r["mse"][p] for r in sel]) for p in PEERS)
    return best, ratio, worst


def summary(rows) -> None:
    classes = list(dict.fromkeys(r["class"] for r in rows))
    print()
    print("geometric-mean MSE ratio resdenoise / best peer of the class (< 1: resdenoise better)")
    print(
        f"{'class':28s} {'noise':10s} {'ratio':>7s}  {'best peer':16s} {'vs the worst peer':>17s}"
    )
    for kind in ("white", "pink", "impulsive"):
        for cls in [*classes, "all classes"]:
            sel = [r for r in rows if r["kind"] == kind and cls in (r["class"], "all classes")]
            if not sel:
                continue
            best, ratio, worst = class_ratio(sel)
            print(f"{cls[:28]:28s} {kind:10s} {ratio:7.3f}  {best:16s} {worst:17.3f}")
    white = [r for r in rows if r["kind"] == "white"]
    worse = [r for r in white if r["snr_out"] < r["snr_in"]]
    print()
    print(
        f"white noise: SNR change min {min(r['snr_out'] - r['snr_in'] for r in white):+.2f} dB; "
        f"{len(worse)} of {len(white)} cases below the input"
    )
    for r in worse:
        print(f"  below: {r['signal']} {r['level']:.0%} {r['snr_in']:.2f} -> {r['snr_out']:.2f}")
    chosen = {}
    for r in rows:
        chosen[r["choice"]] = chosen.get(r["choice"], 0) + 1
    print("automatic choices:", ", ".join(f"{k} {v}" for k, v in sorted(chosen.items())))
    imp = [r for r in rows if r["kind"] == "impulsive"]
    print(f"impulse pre-stage used in {sum(r['prestage'] for r in imp)} of {len(imp)} impulsive")
    print(f"  and in {sum(r['prestage'] for r in rows if r['kind'] != 'impulsive')} other cases")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="noise realisations per case")
    parser.add_argument("--json", type=Path, help="save the rows here")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="compare two --json files"
    )
    args = parser.parse_args(argv)
    if args.compare:  # bench_heldout_classes' comparison, a case named by its signal too
        from bench_heldout_classes import compare

        old, new = (json.loads(p.read_text()) for p in args.compare)
        key = lambda r: (r["class"], r["kind"], r["level"], r["seed"], r["signal"])  # noqa: E731
        print("\n".join(compare(old, new, key)))
        return 0
    measured(partial(run, args.seeds), summary, args.json)
    return 0


def measured(rows_of, summarize, path: Path | None) -> None:
    """The rows ``rows_of()`` makes, summarised, saved to ``path`` (when given), timed."""
    t0, c0 = time.perf_counter(), time.process_time()
    rows = rows_of()
    summarize(rows)
    if path:
        path.write_text(json.dumps(rows, indent=1))
    print(f"{time.perf_counter() - t0:.0f} s ({time.process_time() - c0:.0f} s CPU)")


if __name__ == "__main__":
    sys.exit(main())
