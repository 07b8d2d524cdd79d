"""How often :func:`resdenoise.noise_colour.power_law_noise` calls the noise confidently
one power law, per signal class of ``bench_classes.py`` plus signals it does not use
(a chirp, random walks of 1024-8192 samples, AR(1) processes, tones in bursts with
pauses, a seasonal series, tonal signals that never pause: sums of sinusoids, harmonic
tones with vibrato, and the benchmark's music over a red background of its own, an
AR(1) process, where the floor between its peaks rises like pink noise's): white noise at 5, 10 and 30 % (should be never) and pink
noise at 10 and 30 % (should be often) of the clean signal's std, 6 seeds each; then
the SNR of :func:`resdenoise.automatic.choose_denoiser` on white noise over random
walks and AR(1) processes (cases a looser rule called coloured).

``python benchmarks/bench_power_law.py`` with the ``bench`` extra; run it on two
checkouts (``PYTHONPATH=...``) to compare rules.  Not a timed test.

Measured on main at c690405 (61 s wall; old figures: those quoted in
:func:`resdenoise.noise_colour.power_law_noise`'s docstring, an older main), confident
calls on white noise at 5 / 10 / 30 %: none on speech, music, measured series, sensor
traces, Donoho-Johnstone, the chirp, tones in bursts, the seasonal series, sums of sinusoids
and harmonic tones (as before); random walks 1 / 0 / 0 of 24 (was none), AR(1) 0 / 0 / 3
of 12, music over AR(1) 0 / 2 / 0 of 12.  Pink at 10 / 30 %: speech 12 / 12 of 12 (as
after the quiet windows), music 11 / 10, measured series 1 / 4 of 24 (0 / 6), sensor
traces 11 / 7 (11 / 9), Donoho-Johnstone 16 / 15 of 24 (19 / 24), random walks 7 / 9 of
24 (16 / 22), tones in bursts 12 / 11 (12 / 11), chirp, AR(1) none.  On white noise the
automatic choice gains 0.7-2.6 dB on the AR(1) and walk cases a looser rule called
coloured, but a 2048-sample walk at 2 % (seed 1), called confidently coloured, comes out
7.3 dB below the input (40.78 -> 33.47 dB), as 418cfad already measured it (7 dB).
"""

from __future__ import annotations

import numpy as np
import signals
from bench_classes import pink

from resdenoise.automatic import choose_denoiser
from resdenoise.noise import search_noise
from resdenoise.noise_colour import power_law_noise

SEEDS = 6
WHITE = (0.05, 0.10, 0.30)
PINK = (0.10, 0.30)


def confident(f: np.ndarray) -> bool:
    f2 = np.asarray(f, dtype=float).reshape(len(f), -1)
    return power_law_noise(f2, search_noise(f2).sigma)[0]


def classes() -> dict:
    out = signals.signals()
    t = np.linspace(0.0, 1.0, 2048)
    out["chirp"] = [("chirp", np.sin(2 * np.pi * (5 * t + 240 * t**2)))]
    out["random walk"] = [
        (f"walk {n}", np.cumsum(np.random.default_rng(n).standard_normal(n)))
        for n in (1024, 2048, 4096, 8192)
    ]
    out["AR(1)"] = [(f"phi {phi}", ar1(8192, phi, 7)) for phi in (0.9, 0.99)]
    out["tones in bursts"] = [(f"bursts {seed}", bursts(8192, seed)) for seed in (1, 2)]
    x = np.arange(4096)
    seasonal = np.sin(2 * np.pi * x / 52) + 0.002 * x + 0.3 * ar1(4096, 0.8, 3)
    out["seasonal"] = [("weekly-like", seasonal)]
    out["sums of sinusoids"] = [(f"{k} sines", sines(8192, k, k)) for k in (10, 200)]
    out["harmonic, vibrato"] = [(f"vibrato {seed}", vibrato(8192, seed)) for seed in (1, 2)]
    music = out["music (synthetic)"][0][1]
    out["music over AR(1)"] = [
        (f"phi {phi}, {share:.0%}", _unit(music) + share * _unit(ar1(8192, phi, 3)))
        for phi, share in ((0.8, 0.3), (0.9, 0.5))
    ]
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.std(x)


def sines(n: int, k: int, seed: int) -> np.ndarray:
    """k sinusoids of random frequencies (up to 0.45 cycles per sample) and amplitudes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    freqs, amps, phases = rng.uniform(0.001, 0.45, k), rng.uniform(0.2, 1, k), rng.uniform(0, 6, k)
    return np.sum(amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None]), axis=0)


def vibrato(n: int, seed: int) -> np.ndarray:
    """Three harmonic tones (up to 0.45 cycles per sample), their pitch wavering by 1 %."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = np.zeros(n)
    for _ in range(3):
        f0 = rng.uniform(0.005, 0.02)
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * t / 3000)))
        for h in range(1, 15):
            if h * f0 < 0.45:
                out += np.sin(h * phase + rng.uniform(0, 6)) / h
    return out


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """An AR(1) process of unit innovations (made here)."""
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -phi], np.random.default_rng(seed).standard_normal(n))


def bursts(n: int, seed: int) -> np.ndarray:
    """Three tones under a Hann envelope, in bursts with pauses (speech-like, made here)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    pos = 300
    while pos < n:
        m = min(int(rng.uniform(800, 1600)), n - pos)
        t = np.arange(m)
        bands = ((0.01, 0.05, 1.0), (0.06, 0.15, 0.5), (0.15, 0.3, 0.25))
        y = sum(
            a * np.sin(2 * np.pi * rng.uniform(lo, hi) * t + rng.uniform(0, 6))
            for lo, hi, a in bands
        )
        out[pos : pos + m] = y * np.hanning(m)
        pos += m + int(rng.uniform(300, 900))
    return out


def main() -> None:
    print("confident calls (of cases): white 5/10/30 %, pink 10/30 %")
    for cls, items in classes().items():
        counts: dict[str, list[bool]] = {}
        for _, clean in items:
            sd = float(np.std(clean))
            for seed in range(SEEDS):
                rng = np.random.default_rng(1000 + seed)
                for level in WHITE:
                    noisy = clean + level * sd * rng.standard_normal(clean.size)
                    counts.setdefault(f"white {level:.0%}", []).append(confident(noisy))
                for level in PINK:
                    noisy = clean + level * sd * pink(clean.size, rng)
                    counts.setdefault(f"pink {level:.0%}", []).append(confident(noisy))
        cells = "  ".join(f"{k} {sum(v):2d}/{len(v)}" for k, v in counts.items())
        print(f"  {cls:26s} {cells}", flush=True)

    print("white noise on AR(1): SNR in -> out of the automatic choice (confident?)")
    for phi, seed, level in [(0.9, 0, 0.3), (0.9, 1, 0.3), (0.99, 0, 0.05), (0.99, 1, 0.1)]:
        rng = np.random.default_rng(200 + seed)
        clean = ar1(8192, phi, seed)
        snr_row(f"phi {phi}, seed {seed}", clean, level, rng)
    print("white noise on a random walk: SNR in -> out of the automatic choice (confident?)")
    for n, seed, level in [
        (1024, 1, 0.05),
        (1024, 4, 0.05),
        (4096, 8, 0.05),
        (4096, 9, 0.05),
        (2048, 1, 0.02),
    ]:
        rng = np.random.default_rng(100 + seed)
        snr_row(f"{n:5d} samples, seed {seed}", np.cumsum(rng.standard_normal(n)), level, rng)


def snr_row(label: str, clean: np.ndarray, level: float, rng) -> None:
    """One line: the SNR of ``clean`` in white noise of ``level`` x its std, before and
    after the automatic choice, and whether the noise was called one power law."""
    noise = level * np.std(clean) * rng.standard_normal(clean.size)
    f = clean + noise
    plan, _ = choose_denoiser(f)
    err = plan.run(f) - clean
    before = 10.0 * np.log10(np.sum(clean**2) / np.sum(noise**2))
    after = 10.0 * np.log10(np.sum(clean**2) / np.sum(err**2))
    print(f"  {label}, {level:.0%}: {before:6.2f} -> {after:6.2f} dB ({confident(f)})", flush=True)


if __name__ == "__main__":
    main()
