"""Peak memory of the command line against the length of the input file.

Writes float32 stereo WAV files of growing size (default 16, 64, 256 and
2048 MiB; the largest only when the disk has room for it twice), filters
each with ``resdenoise diffuse`` in a child process and reads the child's
peak resident memory (``ru_maxrss`` from ``os.wait4``).  Three ways:

* ``default``  : the command line as it is (files over 8 MiB are streamed);
* ``streamed`` : ``--chunk-size 262144`` forced at every size;
* ``whole``    : ``--chunk-size 0`` (the whole file in memory), up to 256 MiB;
* ``stdin``    : ``cat FILE | resdenoise diffuse -`` (a pipe: spooled, then as a file).

First (``--threshold ROUNDS``, 0 skips it) the two sides of the streaming
threshold side by side (:func:`threshold_step`): a 7 MiB file read whole and a
9 MiB file streamed (and 4 and 16 MiB beside them), under ``-q`` and with
``--report`` alike, and an automatic stopping time at 7 and 9 MiB; CPU seconds
and peak MiB, and the ratios per MiB (1: no step).  The automatic rows take
most of that step's time (7 of its 8 minutes at 3 rounds); ``--no-auto``
leaves them out.

Streamed, the peak must not grow with the file: the script prints the
ratio of the largest to the smallest streamed peak.  The files are deleted
afterwards (``--keep`` keeps them).

    python benchmarks/bench_memory.py [--sizes 16,64,256,2048] [--dir /tmp]
        [--threshold ROUNDS] [--no-auto] [--keep]
    python benchmarks/bench_memory.py --zarr 18,21   # a streamed store's peak by chunk size
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

RATE = 48_000
CHANNELS = 2
BYTES_PER_FRAME = 4 * CHANNELS  # float32
FILTER = ["diffuse", "--diffusivity", "perona-malik", "--steps", "10", "-q"]
CHUNK = "262144"
WHOLE_UP_TO_MIB = 256


def write_wav(path: str, mib: int, seed: int = 0) -> int:
    """A float32 stereo WAV of ``mib`` MiB of samples (noisy steps), written in blocks."""
    import soundfile

    frames = mib * (1 << 20) // BYTES_PER_FRAME
    rng = np.random.default_rng(seed)
    block = 1 << 20
    with soundfile.SoundFile(path, "w", RATE, CHANNELS, "FLOAT", format="WAV") as f:
        done = 0
        while done < frames:
            k = min(block, frames - done)
            t = np.arange(done, done + k)
            clean = np.stack([0.4 * np.sign(np.sin(t / 4000.0)), 0.3 * np.sin(t / 700.0)], 1)
            f.write((clean + 0.05 * rng.standard_normal((k, CHANNELS))).astype(np.float32))
            done += k
    return frames


def peak_of(args: list[str], stdin_from: str | None = None) -> tuple[float, float, int]:
    """Run ``python -m resdenoise ARGS`` (``stdin_from``: ``cat FILE |`` into it);
    (peak resident MiB of it and its children, seconds, exit status)."""
    peak, seconds, _, code = usage_of(args, stdin_from)
    return peak, seconds, code


def usage_of(args: list[str], stdin_from: str | None = None) -> tuple[float, float, float, int]:
    """:func:`peak_of` plus the CPU seconds (user + system) of the run."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become the command line
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            command = [sys.executable, "-m", "resdenoise", *args]
            if stdin_from is not None:
                pipe = 'cat "$0" | exec "$@"'
                os.execv("/bin/sh", ["/bin/sh", "-c", pipe, stdin_from, *command])
            os.execv(sys.executable, command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return usage.ru_maxrss / 1024.0, seconds, cpu, os.waitstatus_to_exitcode(status)


#: An automatic stopping time in place of FILTER's fixed steps (the plan needs the
#: samples: a file over the threshold is streamed, then read whole up to 64 MiB).
AUTO = ["diffuse", "--diffusivity", "perona-malik", "--time", "auto", "-q"]


def threshold_step(work: str, rounds: int, auto: bool = True) -> None:
    """The two sides of the streaming threshold, side by side in interleaved rounds:
    files over 8 MiB are streamed, with or without a report (``-q``: nothing reads
    it; ``--report``); a file 1 MiB under the threshold (read whole) against one
    1 MiB over it (streamed), a few sizes beside them, and with a report a 63 MiB
    file (read whole before the report's sums took the stream's grid).  ``auto``:
    an automatic stopping time, which needs the samples: over the threshold the
    checking pass finds that and the file is read whole (up to 64 MiB).  CPU
    seconds (user + system) and peak MiB, medians, and the ratios across the
    threshold (CPU per MiB of input; 1: no step).  ``auto`` False: without the
    ``auto`` rows (``--no-auto``)."""
    from resdenoise.pipeline import STREAM_THRESHOLD, WHOLE_SIGNAL_LIMIT

    limit, whole_limit = STREAM_THRESHOLD >> 20, WHOLE_SIGNAL_LIMIT >> 20
    report = ["--report", os.path.join(work, "r.json")]
    around = (limit - 4, limit - 1, limit + 1, limit + 8)
    modes = {
        "-q": (FILTER, around),
        "--report": ([*FILTER, *report], (*around, whole_limit - 1)),
        "auto": ([*AUTO, *report], (limit - 1, limit + 1)),
    }
    if not auto:
        del modes["auto"]
    files = {}
    for _, sizes in modes.values():
        for mib in sizes:
            files[mib] = os.path.join(work, f"in_{mib}.wav")
            if not os.path.exists(files[mib]):
                write_wav(files[mib], mib)
    out = os.path.join(work, "out.wav")
    got: dict = {(mode, mib): [] for mode, (_, sizes) in modes.items() for mib in sizes}
    for _ in range(rounds):
        for mode, (args, sizes) in modes.items():
            for mib in sizes:
                peak, _, cpu, code = usage_of([*args, files[mib], "-o", out])
                if code != 0:
                    raise SystemExit(f"{mib} MiB {mode}: exit {code}")
                got[mode, mib].append((cpu, peak))
    print(f"streaming threshold, {' '.join(FILTER)}, medians of {rounds} interleaved rounds")
    print(f"  files over {limit} MiB are streamed, with or without a report;")
    if auto:
        print(f"  auto ({' '.join(AUTO[3:5])}): read whole up to {whole_limit} MiB")
    print(f"{'file':>18} {'mode':>9} | {'CPU s':>6} {'s/MiB':>6} {'peak MiB':>9}")
    for mode, (_, sizes) in modes.items():
        per = {}
        for mib in sizes:
            cpu = float(np.median([c for c, _ in got[mode, mib]]))
            peak = float(np.median([p for _, p in got[mode, mib]]))
            per[mib] = (cpu / mib, peak)
            how = "whole" if mib <= limit or (mode == "auto" and mib <= whole_limit) else "streamed"
            name = f"{mib} MiB {how}"
            print(f"{name:>18} {mode:>9} | {cpu:6.3f} {cpu / mib:6.3f} {peak:9.0f}")
        (c0, p0), (c1, p1) = per[limit - 1], per[limit + 1]
        print(
            f"{f'ratio {limit - 1} / {limit + 1}':>18} {mode:>9} | {'':>6} {c0 / c1:6.2f} {p0 / p1:9.2f}"
        )


def parser() -> argparse.ArgumentParser:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,64,256,2048", help="file sizes in MiB")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where to write the files")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--threshold",
        type=int,
        default=3,
        metavar="ROUNDS",
        help="rounds of the comparisons across the streaming thresholds; 0: none",
    )
    parser.add_argument(
        "--no-auto",
        action="store_true",
        help="leave the automatic stopping time's rows out of the threshold comparisons "
        "(most of their time)",
    )
    parser.add_argument(
        "--zarr",
        default="",
        metavar="EXPONENTS",
        help="only Zarr stores: 4e6 x 2 float64 samples in chunks of 2^E samples for each E "
        "(e.g. 18,21), streamed store to store (20 Perona-Malik blocks): peak and seconds",
    )
    return parser


def zarr_peaks(work: str, exponents: list[int], frames: int = 4_000_000) -> None:
    """Peak memory of a streamed store-to-store run against the store's chunk size: the
    same samples (noise, 2 channels, float64) in chunks of ``2**e`` samples."""
    import zarr

    print(f"resdenoise diffuse STORE --steps 20 --lambda 0.5 -o OUT.zarr -q; {frames} x 2 float64")
    print(f"{'chunk':>8} | {'peak MiB':>8} {'s':>6}")
    for e in exponents:
        src, out = os.path.join(work, f"c{e}.zarr"), os.path.join(work, f"o{e}.zarr")
        z = zarr.create_array(src, shape=(frames, 2), chunks=(1 << e, 2), dtype="float64")
        rng = np.random.default_rng(1)
        for s in range(0, frames, 1 << 22):
            m = min(1 << 22, frames - s)
            z[s : s + m] = rng.standard_normal((m, 2))
        args = ["diffuse", src, "--steps", "20", "--lambda", "0.5", "-o", out, "-q"]
        peak, seconds, code = peak_of(args)
        said = f"{peak:8.0f} {seconds:6.2f}" if code == 0 else f"exit {code}"
        print(f"{'2^' + str(e):>8} | {said}", flush=True)
        shutil.rmtree(src, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    opts = parser().parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="resdenoise-bench-memory.", dir=opts.dir)
    if opts.zarr:
        try:
            zarr_peaks(work, [int(e) for e in opts.zarr.split(",")])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    if opts.threshold:
        try:
            threshold_step(work, opts.threshold, auto=not opts.no_auto)
        finally:
            for name in os.listdir(work):
                os.unlink(os.path.join(work, name))
    print(f"resdenoise {' '.join(FILTER)} on float32 stereo WAV, {RATE} Hz; files in {work}")
    modes = ("default", "streamed", "whole", "stdin")
    print(f"{'file MiB':>9} {'frames':>11} | " + " | ".join(f"{m:>17}" for m in modes))
    print(f"{'':>9} {'':>11} | " + " | ".join(f"{'peak MiB':>8} {'s':>8}" for m in modes))
    streamed_peaks = []
    try:
        for mib in sizes:
            free = shutil.disk_usage(work).free
            if free < 2.2 * mib * (1 << 20):
                print(f"{mib:>9} skipped: {free >> 20} MiB free, needs {2.2 * mib:.0f}")
                continue
            src = os.path.join(work, f"in_{mib}.wav")
            out = os.path.join(work, f"out_{mib}.wav")
            frames = write_wav(src, mib)
            cells = []
            for mode, extra in (
                ("default", []),
                ("streamed", ["--chunk-size", CHUNK]),
                ("whole", ["--chunk-size", "0"]),
                ("stdin", ["--input-format", "wav"]),
            ):
                if mode == "whole" and mib > WHOLE_UP_TO_MIB:
                    cells.append(f"{'-':>8} {'-':>8}")
                    continue
                piped = mode == "stdin"
                args = [*FILTER, "-" if piped else src, "-o", out, *extra]
                peak, seconds, code = peak_of(args, src if piped else None)
                if code != 0:
                    cells.append(f"{'exit ' + str(code):>8} {seconds:8.1f}")
                    continue
                if mode == "streamed":
                    streamed_peaks.append(peak)
                cells.append(f"{peak:8.0f} {seconds:8.1f}")
                if os.path.exists(out):
                    os.unlink(out)
            print(f"{mib:>9} {frames:>11} | " + " | ".join(cells), flush=True)
            if not opts.keep:
                os.unlink(src)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    if len(streamed_peaks) >= 2:
        ratio = max(streamed_peaks) / min(streamed_peaks)
        print(f"streamed peak, largest / smallest file: {ratio:.2f} (flat means about 1)")


if __name__ == "__main__":
    main()
