"""Short series exact on a grid, with noise rounded to it: where the short level reads 0.

Under 67 samples the searches' level is the lesser of mad-haar and the MAD of third
differences (:data:`resdenoise.noise.SHORT_ESTIMATOR`).  A series that is a piecewise
polynomial of degree 2 or less on a grid (a sawtooth, steps, ramps of whole slopes) has
third differences that are exactly 0 but at its breakpoints, so the level reads 0 and the
input is kept: right where there is no noise.  With noise rounded to the grid most third
differences are still exactly 0 while the noise is small beside the grid's step, and the
level still reads 0.  For each class, length and noise (in grid steps; the truth is the
series before the noise), this prints how many of the seeds read a level of 0, how many
of those kept the input, the input's MSE, and the gain (dB) of ``choose_denoiser`` with
the level read and with the true rms error given (what a level that saw the noise would
allow).

    python benchmarks/bench_grid_short.py [--seeds 8]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from resdenoise.automatic import choose_denoiser
from resdenoise.noise import search_noise

LENGTHS = (40, 64)
CLASSES = ("sawtooth", "steps", "ramps")
NOISE = (0.0, 0.2, 0.3, 0.4, 0.6, 1.0)


def clean_of(kind: str, n: int, rng) -> np.ndarray:
    """A series exact on the integers: a sawtooth of period 8 and slope 3, steps of 8
    samples at whole heights, or ramps of whole slopes changing every 16 samples."""
    k = np.arange(n)
    if kind == "sawtooth":
        return (k % 8).astype(float) * 3.0
    if kind == "steps":
        return np.repeat(rng.integers(-20, 20, size=n // 8 + 1), 8)[:n].astype(float)
    slopes = np.repeat(rng.integers(-3, 4, size=n // 16 + 1), 16)[:n]
    return np.cumsum(slopes).astype(float)


def _db(f, c, u) -> float:
    return 10 * np.log10(np.mean((f - c) ** 2) / max(float(np.mean((u - c) ** 2)), 1e-300))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    seeds = range(parser.parse_args().seeds)
    warnings.simplefilter("ignore")
    print("n class noise | level 0 / seeds, kept, input MSE, dB level read, dB true level given")
    for n in LENGTHS:
        for kind in CLASSES:
            for sigma in NOISE:
                zero = kept = 0
                mse, read, given = [], [], []
                for s in seeds:
                    rng = np.random.default_rng(7000 + 31 * s + n)
                    c = clean_of(kind, n, rng)
                    f = np.round(c + sigma * rng.standard_normal(n))
                    if float(np.max(search_noise(f).sigma)) != 0.0:
                        continue
                    zero += 1
                    u = choose_denoiser(f)[0].run(f)
                    kept += bool(np.array_equal(u, f))
                    mse.append(float(np.mean((f - c) ** 2)))
                    if mse[-1] > 0:
                        read.append(_db(f, c, u))
                        true = choose_denoiser(f, sigma=np.sqrt(mse[-1]))[0].run(f)
                        given.append(_db(f, c, true))
                said = (
                    f"{np.mean(mse):.3f} "
                    + (f"{np.mean(read):+.2f} " if read else "- ")
                    + (f"{np.mean(given):+.2f} (max {np.max(given):+.2f})" if given else "-")
                    if mse
                    else "-"
                )
                print(f"{n} {kind} {sigma:g} | {zero}/{len(seeds)} {kept} {said}", flush=True)


if __name__ == "__main__":
    main()
