"""Denoising quality with automatic parameters, against what a user would pick instead.

The Donoho-Johnstone test signals (Blocks, Bumps, HeaviSine, Doppler from
``pywt.data.demo_signal``, N = 2048) with Gaussian white noise of level
sigma = std(clean) / SNR for several SNR and seeds.  For each, the mean
squared error of

* every resdenoise command with automatic parameters, exactly as
  ``resdenoise diffuse --time auto``, ``shrink --iterations auto``,
  ``regularise --alpha auto`` and ``resnet --blocks auto`` run them (lambda
  and threshold ``auto`` too, default nonlinearity of each command), plus
  ``shrink --shrinkage garrote --iterations auto``;
* scikit-image ``denoise_wavelet`` with its defaults (Haar, soft, all
  levels but three) in VisuShrink and BayesShrink mode;
* PyWavelets level-1 stationary Haar transform, soft universal threshold
  ``sigma sqrt(2 ln N)`` with the MAD sigma (an automatic mode too);
* scikit-image ``denoise_tv_chambolle`` at its best weight on a grid,
  chosen with the clean signal (an oracle, not an automatic mode).

Run ``make bench-quality`` (needs the ``bench`` extra: scikit-image,
PyWavelets); ``--quick`` runs one seed and fewer noise levels.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from resdenoise.autoparams import choose_parameters
from resdenoise.engine import run_blocks

SIGNALS = ("Blocks", "Bumps", "HeaviSine", "Doppler")
SNRS = (3.0, 5.0, 7.0)
N = 2048

#: (label, form, name, tau): tau None = the sign-stable bound, as the CLI does
RESDENOISE = (
    ("diffuse", "diffusivity", "perona-malik", None),
    ("shrink", "shrinkage", "soft", 0.25),
    ("regularise", "regulariser", "charbonnier", None),
    ("resnet", "activation", "tanh", None),
    ("shrink garrote", "shrinkage", "garrote", 0.25),
)
PEERS_AUTO = ("VisuShrink", "BayesShrink", "SWT-1 universal")
ORACLE = "TV oracle"


def _resdenoise(f, form, name, tau):
    choice = choose_parameters(f, name, form, tau=tau)
    return run_blocks(f, choice.nl.phi, choice.tau, choice.steps)


def _swt_universal(f):
    import pywt

    n = f.shape[0]
    x = np.concatenate([f, f[::-1]])  # reflecting ends, as in resdenoise
    (ca, cd), = pywt.swt(x, "haar", level=1, norm=False)
    sigma = np.median(np.abs(cd)) / 0.6745
    theta = sigma * math.sqrt(2.0 * math.log(n))
    cd = pywt.threshold(cd, theta, mode="soft")
    return pywt.iswt([(ca, cd)], "haar", norm=False)[:n]


def _tv_oracle(f, clean, sigma):
    from skimage.restoration import denoise_tv_chambolle

    best = math.inf
    for weight in sigma * np.geomspace(0.05, 20.0, 40):
        best = min(best, _mse(denoise_tv_chambolle(f, weight=weight), clean))
    return best


def _mse(u, clean) -> float:
    return float(np.mean((u - clean) ** 2))


def measure(signal: str, snr: float, seed: int) -> dict[str, float]:
    """MSE of every method on one noisy realisation."""
    import pywt
    from skimage.restoration import denoise_wavelet

    clean = np.asarray(pywt.data.demo_signal(signal, N), dtype=float)
    sigma = float(np.std(clean)) / snr
    f = clean + np.random.default_rng(seed).normal(0.0, sigma, N)
    out = {"noisy": _mse(f, clean)}
    for label, form, name, tau in RESDENOISE:
        out[label] = _mse(_resdenoise(f, form, name, tau), clean)
    for method in ("VisuShrink", "BayesShrink"):
        out[method] = _mse(denoise_wavelet(f, method=method, rescale_sigma=True), clean)
    out["SWT-1 universal"] = _mse(_swt_universal(f), clean)
    out[ORACLE] = _tv_oracle(f, clean, sigma)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="noise realisations per cell")
    parser.add_argument("--quick", action="store_true", help="one seed, SNR 3 and 7")
    args = parser.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    snrs = (3.0, 7.0) if args.quick else SNRS
    methods = ["noisy"] + [r[0] for r in RESDENOISE] + list(PEERS_AUTO) + [ORACLE]
    ours = [r[0] for r in RESDENOISE]

    t0 = time.perf_counter()
    width = 11
    print(f"mean MSE over {seeds} seed(s), N = {N}, sigma = std(clean)/SNR; "
          f"'{ORACLE}' is chosen with the clean signal")
    print(f"{'signal':10s} {'SNR':>4s} " + " ".join(f"{m[:width]:>{width}s}" for m in methods))
    verdicts = []
    for signal in SIGNALS:
        for snr in snrs:
            rows = [measure(signal, snr, seed) for seed in range(seeds)]
            mean = {m: float(np.mean([r[m] for r in rows])) for m in methods}
            print(f"{signal:10s} {snr:4g} " + " ".join(f"{mean[m]:{width}.5f}" for m in methods))
            best_ours = min(ours, key=mean.get)
            best_peer = min(PEERS_AUTO, key=mean.get)
            best_any = min(PEERS_AUTO + (ORACLE,), key=mean.get)
            verdicts.append((signal, snr, best_ours, mean[best_ours] / mean[best_peer],
                             best_peer, mean[best_ours] / mean[best_any], best_any))
    print()
    print("best resdenoise auto vs best peer: ratio of MSE (< 1: resdenoise better)")
    met = True
    for signal, snr, ours_best, r_peer, peer, r_any, any_best in verdicts:
        if signal in ("Blocks", "Bumps"):
            ok = r_peer < 1.0
            goal = "beat every peer's automatic mode"
        else:
            ok = r_peer <= 1.10
            goal = "within 10% of the best automatic peer"
        met &= ok
        print(f"  {signal:10s} SNR {snr:g}: {ours_best:15s} {r_peer:6.3f} x {peer:16s}"
              f"{r_any:6.3f} x {any_best:16s} {'ok' if ok else 'MISSED'} ({goal})")
    print(f"target {'met' if met else 'NOT met'}; {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
