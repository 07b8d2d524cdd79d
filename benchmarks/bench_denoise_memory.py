"""Peak memory and CPU of ``resdenoise denoise`` on a recording: one code base against another.

Writes 16-bit stereo WAV files at 44.1 kHz (noisy tones and steps, the audit's
recording: 3 s, repeated for longer ones), runs ``resdenoise denoise FILE -o OUT`` in a
child process for each side (``--base DIR``: a checkout of the code before, its
``resdenoise`` package imported through ``PYTHONPATH``; the other side this checkout)
and reads the child's peak resident memory and user CPU (``os.wait4``), the two sides
one after the other for each length, in one run.  It prints bytes per sample (peak RSS
over samples x channels, and the slope between lengths: the bytes a sample beyond the
interpreter) and the ratios after / before, and checks that the two outputs are the same
bytes.

    python benchmarks/bench_denoise_memory.py --base /tmp/main_checkout [--seconds 3,12,24]

Measured (session 43, the shared 2-core machine at load 7-15, ``nice -n 10``; before:
main at c690405; after: branch fix20e), ``--seconds 3,12,24``:

    seconds  samples  peak RSS MB before -> after (ratio)     user CPU s before -> after (ratio)
          3   264600  178 -> 141 (0.79; 674 -> 534 B/sample)  23.0 -> 23.6 (1.02)  outputs identical

The 12 s pair did not finish (its before side had 35 of its ~63 CPU seconds after 19
minutes of wall time) and was stopped; 12 and 24 s are still to be measured side by side.
Beyond the interpreter (~51 MB, from the audit's 0.45 s run): ~450 -> ~340 bytes a sample.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

RATE = 44_100


def recording(seconds: float, seed: int = 1) -> np.ndarray:
    """The audit's noisy tones and steps (3 s, stereo), repeated to ``seconds``."""
    rng = np.random.default_rng(seed)
    t = np.arange(RATE * 3) / RATE
    clean = 0.3 * np.sin(2 * np.pi * 440 * t) * (t % 1 < 0.6) + 0.2 * np.sign(
        np.sin(2 * np.pi * 3 * t)
    )
    x = np.stack([clean + 0.05 * rng.standard_normal(t.size) for _ in range(2)], 1)
    return np.concatenate([np.clip(x, -1, 1)] * max(1, round(seconds / 3)))


def run(python: str, path: str, out: str, pythonpath: str | None) -> tuple[float, float]:
    """``(peak RSS bytes, user CPU seconds)`` of ``resdenoise denoise path -o out``."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [python, "-m", "resdenoise", "denoise", path, "-o", out, "-q"]
    proc = subprocess.Popen(  # in the file's folder: ``-m`` puts the working folder first
        cmd, env=env, cwd=os.path.dirname(path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr.read().decode()}")
    return usage.ru_maxrss * 1024.0, usage.ru_utime


def main() -> None:
    import soundfile as sf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="a checkout of the code before")
    parser.add_argument("--seconds", default="3,12,24")
    args = parser.parse_args()
    print(
        f"{'seconds':>7} {'samples':>9}  {'RSS MB before':>13} {'after':>7} {'ratio':>6}"
        f"  {'B/sample before':>15} {'after':>6}  {'CPU s before':>12} {'after':>7} {'ratio':>6}"
    )
    rows = []  # (samples, RSS before, RSS after): the slope between lengths, per sample
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (float(s) for s in args.seconds.split(",")):
            x = recording(seconds)
            path = os.path.join(tmp, "in.wav")
            sf.write(path, x, RATE, subtype="PCM_16")
            outs = [os.path.join(tmp, f"out{i}.wav") for i in (0, 1)]
            before = run(sys.executable, path, outs[0], args.base)
            after = run(sys.executable, path, outs[1], None)
            same = open(outs[0], "rb").read() == open(outs[1], "rb").read()
            print(
                f"{seconds:7g} {x.size:9d}  {before[0] / 1e6:13.0f} {after[0] / 1e6:7.0f} "
                f"{after[0] / before[0]:6.3f}  {before[0] / x.size:15.0f} "
                f"{after[0] / x.size:6.0f}  {before[1]:12.1f} {after[1]:7.1f} "
                f"{after[1] / before[1]:6.3f}  outputs {'identical' if same else 'DIFFER'}",
                flush=True,
            )
            rows.append((x.size, before[0], after[0]))
    for (n0, b0, a0), (n1, b1, a1) in zip(rows, rows[1:], strict=False):  # beyond
        per = ((b1 - b0) / (n1 - n0), (a1 - a0) / (n1 - n0))
        print(f"{n0}..{n1} samples: {per[0]:.0f} -> {per[1]:.0f} bytes a sample more")


if __name__ == "__main__":
    main()
