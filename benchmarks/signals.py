"""Clean test signals of every class the quality benchmarks use, made here.

Nothing is downloaded: the Donoho-Johnstone signals come from PyWavelets
(``pywt.data.demo_signal``), the measured series from the datasets that
statsmodels ships inside its package, and the rest is synthesised by the
functions below with fixed seeds.  The speech and music signals are
*synthetic* (a source-filter formant model; additive harmonic notes), not
recordings, and are labelled so.

``signals()`` returns ``{class: [(name, clean), ...]}``.
"""

from __future__ import annotations

import numpy as np

FS_SPEECH = 16000
FS_MUSIC = 22050


def _resonator(x: np.ndarray, freq: float, bw: float, fs: float) -> np.ndarray:
    """A two-pole resonance (formant) at ``freq`` Hz with bandwidth ``bw`` Hz."""
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bw / fs)
    a = [1.0, -2.0 * r * np.cos(2.0 * np.pi * freq / fs), r * r]
    return lfilter([1.0 - r], a, x)


def speech(n: int = 8192, seed: int = 1) -> np.ndarray:
    """Synthetic speech (formant model, 16 kHz): vowels with a gliding pitch, a
    fricative, pauses.  Labelled synthetic: no recording."""
    rng = np.random.default_rng(seed)
    fs = FS_SPEECH
    out = np.zeros(n)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (570, 840, 2410), (440, 1020, 2240)]
    pos = int(0.02 * fs)
    k = 0
    while pos < n:
        length = int(rng.uniform(0.08, 0.16) * fs)
        seg = np.arange(min(length, n - pos))
        if k % 3 == 2:  # a fricative: noise shaped high
            src = rng.standard_normal(seg.size)
            y = _resonator(src, 4500.0, 1500.0, fs) * 0.3
        else:  # a vowel: glottal pulses through three formants
            f0 = rng.uniform(100, 180) * (1 + 0.15 * seg / max(seg.size, 1))
            phase = np.cumsum(f0 / fs)
            src = np.diff(np.floor(phase), prepend=0.0)  # one pulse per period
            src = np.convolve(src, np.hanning(24), mode="same")
            f1, f2, f3 = vowels[k % len(vowels)]
            y = sum(
                _resonator(src, f, 80.0 + 0.05 * f, fs) * g
                for f, g in ((f1, 1.0), (f2, 0.6), (f3, 0.3))
            )
        y *= np.hanning(seg.size)  # onset and decay of the syllable
        out[pos : pos + seg.size] = y / (np.max(np.abs(y)) + 1e-12)
        pos += seg.size + int(rng.uniform(0.01, 0.06) * fs)  # a pause
        k += 1
    return out


def music(n: int = 8192, seed: int = 2) -> np.ndarray:
    """Synthetic music (22.05 kHz): plucked notes with harmonics and decays.
    Labelled synthetic: no recording."""
    rng = np.random.default_rng(seed)
    fs = FS_MUSIC
    t = np.arange(n) / fs
    out = np.zeros(n)
    start = 0
    while start < n:
        f0 = 220.0 * 2 ** (rng.integers(-5, 12) / 12)
        onset = np.clip(t - start / fs, 0, None) * (np.arange(n) >= start)
        env = np.exp(-onset * rng.uniform(3, 8)) * (np.arange(n) >= start)
        for h in range(1, 12):
            if h * f0 < fs / 2.2:
                out += env * np.sin(2 * np.pi * h * f0 * onset + rng.uniform(0, 6.3)) / h**1.2
        start += int(rng.uniform(0.08, 0.2) * fs)
    return out


def sensor(n: int = 4096, seed: int = 3) -> np.ndarray:
    """A piecewise-constant sensor trace: a state that holds for random times."""
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    pos = 0
    level = 20.0
    while pos < n:
        dwell = int(rng.geometric(1 / 200))
        out[pos : pos + dwell] = level
        level = np.round(level + rng.choice([-1, 1]) * rng.uniform(0.5, 3.0), 1)
        pos += dwell
    return out


def measured() -> list[tuple[str, np.ndarray]]:
    """Real measured series shipped inside statsmodels (no download)."""
    from statsmodels import datasets

    out = []
    s = datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    out.append(("sunspots (309, yearly)", s))
    co2 = datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy(float)
    out.append(("co2 (2284, weekly)", co2))
    el = datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy(float).ravel()
    out.append(("elnino SST (732, monthly)", el))
    nile = datasets.nile.load_pandas().data["volume"].to_numpy(float)
    out.append(("nile (100, yearly)", nile))
    return out


def donoho_johnstone(n: int = 2048) -> list[tuple[str, np.ndarray]]:
    import pywt

    names = ("Blocks", "Bumps", "HeaviSine", "Doppler")
    return [(s, np.asarray(pywt.data.demo_signal(s, n), float)) for s in names]


def signals() -> dict[str, list[tuple[str, np.ndarray]]]:
    """Every class's clean signals."""
    return {
        "speech (synthetic)": [
            ("formant speech A", speech(seed=1)),
            ("formant speech B", speech(seed=4)),
        ],
        "music (synthetic)": [
            ("plucked notes A", music(seed=2)),
            ("plucked notes B", music(seed=5)),
        ],
        "measured series": measured(),
        "sensor (piecewise const)": [
            ("sensor trace A", sensor(seed=3)),
            ("sensor trace B", sensor(n=1024, seed=6)),
        ],
        "Donoho-Johnstone": donoho_johnstone(),
    }
