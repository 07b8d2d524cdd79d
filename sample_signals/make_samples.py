"""Make the sample signals, deterministically: ``python make_samples.py DIR``.

- ``steps.csv``: a noisy piecewise-constant signal, one column, no header;
  ``steps_clean.csv`` the same signal without the noise (for ``resdenoise learn --clean``).
- ``two_channels.csv``: two noisy channels with a header row.
- ``noisy_mono.wav``: a noisy square-ish wave, mono, 16-bit PCM, 8 kHz.
- ``noisy_stereo.wav``: a noisy two-tone signal, stereo, 32-bit float, 8 kHz.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile

SEED = 20200207  # the paper's arXiv date


def piecewise_constant(n: int, rng: np.random.Generator) -> np.ndarray:
    edges = np.sort(rng.choice(np.arange(16, n - 16), size=7, replace=False))
    levels = rng.uniform(-1.0, 1.0, size=edges.size + 1).round(2)
    return levels[np.searchsorted(edges, np.arange(n), side="right")]


def write_csv(path: Path, data: np.ndarray, header: list[str] | None = None) -> None:
    rows = data.reshape(data.shape[0], -1).tolist()
    lines = [",".join(header)] if header else []
    lines += [",".join(repr(x) for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)

    clean = piecewise_constant(512, rng)
    write_csv(out / "steps.csv", (clean + rng.normal(0, 0.1, clean.shape)).round(6))
    write_csv(out / "steps_clean.csv", clean)

    t = np.arange(400) / 400
    two = np.stack([np.sign(np.sin(2 * np.pi * 3 * t)), np.sin(2 * np.pi * 2 * t)], axis=1)
    two = (two + rng.normal(0, 0.15, two.shape)).round(6)
    write_csv(out / "two_channels.csv", two, header=["pressure", "flow"])

    rate = 8000
    t = np.arange(rate) / rate
    mono = 0.5 * np.sign(np.sin(2 * np.pi * 5 * t)) + rng.normal(0, 0.05, t.shape)
    soundfile.write(out / "noisy_mono.wav", np.clip(mono, -1, 1), rate, subtype="PCM_16")

    stereo = np.stack([0.4 * np.sin(2 * np.pi * 220 * t), 0.4 * np.sin(2 * np.pi * 330 * t)], 1)
    stereo = (stereo + rng.normal(0, 0.05, stereo.shape)).astype(np.float32)
    soundfile.write(out / "noisy_stereo.wav", stereo, rate, subtype="FLOAT")
    clear_peak_time(out / "noisy_stereo.wav")


def clear_peak_time(path: Path) -> None:
    """Zero the time stamp libsndfile puts in a float WAV's PEAK chunk, so the file is the
    same bytes every time it is made (the chunk: id, size, version, time, peaks)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PEAK")
    if at >= 0:
        data[at + 12 : at + 16] = bytes(4)
        path.write_bytes(bytes(data))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent))
