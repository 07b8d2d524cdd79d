"""Engine speed against a naive NumPy loop, side by side, and CLI start-up time.

``python benchmarks/bench_engine.py [--quick] [--repeat R]`` (``make bench``).

Work is counted in sample-steps: values (samples x channels) times blocks.
Every configuration runs the Perona-Malik block (lambda = 1, tau = 1/4, h = 1)
on the same noisy signal with

* ``naive``: the block as one would first write it in NumPy, new arrays at
  every step (``np.diff``, ``exp``, in-place updates of the two halves);
* ``numpy``: :func:`resdenoise.engine.run_blocks` with its NumPy step loop
  (the reference), one thread;
* ``engine``: :func:`resdenoise.engine.run_blocks` as it runs by default
  (the compiled step loop where it is built), with 1 and with 2 threads.

The NumPy loop and the engine write into an output array made once per row
(``out=``), as the issue's reference loops work in preallocated buffers;
``new 1T`` and ``new 2T`` are the engine again as called without ``out=``,
when each call allocates its result.  The difference is the cost of memory
touched for the first time.  On this kind of virtual machine that cost is
erratic: the guest reports free memory to the host (page_reporting), and
the host backs such pages again at their next first touch, about 25 times
slower (152 MiB: 15-27 ms right after the last was freed, mostly 280-760 ms
a few seconds later).  The last section measures it; for 1e7 samples that
is up to half of the engine's time in a ``new`` column.

The runs are timed in turns, and the table in rounds: each of ``--repeat``
rounds (default 5) times every run of every row once, and a row shows the
best of its rounds.  A load that comes and goes hits the runs alike, and a
slow minute of a shared machine (its speed moves by up to 40% for tens of
seconds at a time) hits every row alike instead of a whole row; the ratios
are the figures to trust on such a machine.  The engine's results (1 and 2
threads, with and without out=) are checked to be equal bit for bit, and the
naive loop's and the NumPy loop's to agree with them to rounding.

``med 1T`` and ``med 2T`` are the engine's medians over the rounds, next to
its best: on a shared machine the spread between the two shows how much of
a figure is the machine.  ``cores`` is the CPU time over the wall time of
the best 2-thread run: how many cores it really got (below 2 when other
processes took one); ``load`` is the 1-minute load average right after it.

Then ``resdenoise --help`` is timed against ``python -c "import numpy"``
(subprocesses, in turns, best of several).

Targets (issue 5): float64 >= 1200 M sample-steps/s with both cores and
>= 720 M on one, at every size (judged on ``eng``, with ``new`` shown next
to it); float32 >= 1.5x float64; ``--help`` < 1.5x a bare numpy import.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from resdenoise import engine
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import get_nonlinearity

TAU = 0.25
LAM = 1.0
SIZES = [(10_000, 1000), (1_000_000, 100), (10_000_000, 10)]
TARGET_F64 = {1: 720.0, 2: 1200.0}
TARGET_F32_OVER_F64 = 1.5
TARGET_HELP_OVER_NUMPY = 1.5


def naive_loop(f: np.ndarray, m: int) -> np.ndarray:
    """Perona-Malik blocks written plainly: new arrays every step."""
    u = f.copy()
    for _ in range(m):
        d = np.diff(u, axis=0)
        flux = TAU * d * np.exp(-(d * d) / (2.0 * LAM * LAM))
        u[:-1] += flux
        u[1:] -= flux
    return u


def timed(fn) -> tuple[float, float, np.ndarray]:
    """Wall seconds, CPU seconds of this process (all threads), result."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _configs(sizes):
    """Every row of the table: its key (n, m, channels, dtype, work) and its runs."""
    nl = get_nonlinearity("perona-malik", lam=LAM)
    rng = np.random.default_rng(5)
    for n, m in sizes:
        for channels in (1, 2):
            shape = (n,) if channels == 1 else (n, channels)
            clean = np.where((np.arange(n) // 997) % 2 == 0, -1.0, 1.0)
            noisy = (clean if channels == 1 else clean[:, None]) + 0.3 * rng.standard_normal(shape)
            for dtype in (np.float64, np.float32):
                f = noisy.astype(dtype)
                o = {name: f.copy() for name in ("numpy1", "engine1", "engine2")}
                runs = {
                    "naive": lambda f=f, m=m: naive_loop(f, m),
                    "numpy1": lambda f=f, m=m, o=o["numpy1"]: run_blocks(
                        f, nl, TAU, m, threads=1, backend="numpy", out=o
                    ),
                    "engine1": lambda f=f, m=m, o=o["engine1"]: run_blocks(
                        f, nl, TAU, m, threads=1, out=o
                    ),
                    "engine2": lambda f=f, m=m, o=o["engine2"]: run_blocks(
                        f, nl, TAU, m, threads=2, out=o
                    ),
                    "new1": lambda f=f, m=m: run_blocks(f, nl, TAU, m, threads=1),
                    "new2": lambda f=f, m=m: run_blocks(f, nl, TAU, m, threads=2),
                }
                yield (n, m, channels, np.dtype(dtype).name, f.size * m / 1e6), runs


def bench_engine(sizes, repeat: int) -> list[dict]:
    """Rounds over the whole table: each round times every run of every row
    once, so a row's samples are spread over the whole benchmark and a slow
    minute of a shared machine hits every row alike instead of one."""
    configs = list(_configs(sizes))
    times = [{name: [] for name in runs} for _, runs in configs]
    cores = [0.0] * len(configs)  # CPU time / wall time of the best 2-thread run
    load = [0.0] * len(configs)
    checks = []
    for round_no in range(repeat):
        for i, ((_, _, _, dtype, _), runs) in enumerate(configs):
            outs = {}
            for name, fn in runs.items():
                seconds, cpu, outs[name] = timed(fn)
                if name == "engine2" and seconds < min(times[i][name], default=float("inf")):
                    cores[i], load[i] = cpu / seconds, os.getloadavg()[0]
                times[i][name].append(seconds)
            if round_no == 0:
                atol = 1e-9 if dtype == "float64" else 1e-3
                checks.append(
                    (
                        all(
                            np.array_equal(outs[name], outs["engine1"])
                            for name in ("engine2", "new1", "new2")
                        ),
                        all(
                            np.allclose(outs[name], outs["engine1"], rtol=0, atol=atol)
                            for name in ("naive", "numpy1")
                        ),
                    )
                )
            del outs
        print(f"round {round_no + 1} of {repeat} done", file=sys.stderr, flush=True)
    rows = []
    for i, ((n, m, channels, dtype, work), _) in enumerate(configs):
        best = {name: work / min(t) for name, t in times[i].items()}
        rows.append(
            {
                "n": n,
                "m": m,
                "channels": channels,
                "dtype": dtype,
                **best,
                "engine1_median": work / float(np.median(times[i]["engine1"])),
                "engine2_median": work / float(np.median(times[i]["engine2"])),
                "cores": cores[i],
                "load": load[i],
                "threads_identical": checks[i][0],
                "naive_agrees": checks[i][1],
            }
        )
    return rows


def _row_text(r: dict) -> str:
    verdict = []
    if r["dtype"] == "float64":
        for prefix, label in (("engine", "eng"), ("new", "new")):
            met = [
                f"{t}T {'met' if r[f'{prefix}{t}'] >= TARGET_F64[t] else 'MISSED'}" for t in (1, 2)
            ]
            verdict.append(f"{label}: {' '.join(met)}")
    checks = "ok" if r["threads_identical"] and r["naive_agrees"] else "RESULTS DIFFER"
    return (
        f"{r['n']:>10,d} {r['m']:>5d} {r['channels']:>3d} {r['dtype']:>8s} "
        f"{r['naive']:>8.0f} {r['numpy1']:>8.0f} {r['engine1']:>8.0f} {r['engine2']:>8.0f} "
        f"{r['engine1_median']:>7.0f} {r['engine2_median']:>7.0f} "
        f"{r['new1']:>7.0f} {r['new2']:>7.0f} "
        f"{r['engine1'] / r['naive']:>7.2f} {r['engine2'] / r['naive']:>7.2f} "
        f"{r['engine1'] / r['numpy1']:>7.2f} "
        f"{r['engine2'] / r['engine1']:>6.2f} {r['cores']:>5.2f} {r['load']:>5.2f}  "
        f"{checks:<5s} {'; '.join(verdict)}"
    )


HEADER = (
    f"{'N':>10s} {'m':>5s} {'ch':>3s} {'dtype':>8s} "
    f"{'naive':>8s} {'numpy 1T':>8s} {'eng 1T':>8s} {'eng 2T':>8s} {'med 1T':>7s} {'med 2T':>7s} "
    f"{'new 1T':>7s} {'new 2T':>7s} "
    f"{'1T/nv':>7s} {'2T/nv':>7s} {'1T/np':>7s} {'2T/1T':>6s} {'cores':>5s} {'load':>5s}  "
    "check float64 target (720 / 1200)"
)


def float32_ratios(rows: list[dict]) -> list[str]:
    lines = []
    by_key = {(r["n"], r["m"], r["channels"], r["dtype"]): r for r in rows}
    for (n, m, ch, dt), r32 in by_key.items():
        if dt != "float32":
            continue
        r64 = by_key[(n, m, ch, "float64")]
        parts = []
        for col, label in (("engine1", "1T"), ("engine2", "2T")):
            ratio = r32[col] / r64[col]
            ok = "met" if ratio >= TARGET_F32_OVER_F64 else "MISSED"
            parts.append(f"{label} {ratio:5.2f} ({ok})")
        lines.append(f"{n:>10,d} {m:>5d} {ch:>3d}   " + "   ".join(parts))
    return lines


def first_touch(mib: int, pause: float, repeat: int) -> list[float]:
    """Seconds to write one value per page of a new array of ``mib`` MiB,
    each time ``pause`` seconds after the last one was freed."""
    seconds = []
    for _ in range(repeat):
        time.sleep(pause)
        t0 = time.perf_counter()
        a = np.empty(mib << 17)  # float64
        a[::512] = 1.0
        seconds.append(time.perf_counter() - t0)
        del a
    return seconds


def startup(repeat: int, bytecode: bool) -> tuple[float, float]:
    """Best wall time of ``resdenoise --help`` and of ``python -c 'import numpy'``.

    ``bytecode=True`` measures an installed tool: compiled bytecode is cached
    (pip writes it at install time; here into a temporary PYTHONPYCACHEPREFIX
    after one warm-up run, so the work tree is not touched).  ``False``
    compiles resdenoise's sources at every start (PYTHONDONTWRITEBYTECODE=1,
    as in some development shells).
    """
    script = Path(sys.executable).with_name("resdenoise")
    helper = [str(script)] if script.exists() else [sys.executable, "-m", "resdenoise"]
    commands = {
        "help": helper + ["--help"],
        "numpy": [sys.executable, "-c", "import numpy"],
    }
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPYCACHEPREFIX", None)
        if bytecode:
            env["PYTHONPYCACHEPREFIX"] = cache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        for cmd in commands.values():  # warm-up: page cache, bytecode cache
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        best = dict.fromkeys(commands, float("inf"))
        for _ in range(repeat):
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
                best[name] = min(best[name], time.perf_counter() - t0)
    return best["help"], best["numpy"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 10, one repeat")
    parser.add_argument("--repeat", type=int, default=5, help="rounds over the table")
    args = parser.parse_args(argv)
    sizes = [(n // 10, m) for n, m in SIZES] if args.quick else SIZES
    repeat = 1 if args.quick else args.repeat

    step_loop = engine.compiled_instruction_set()
    print(
        f"cores: {os.cpu_count()}, numpy {np.__version__}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; engine step loop: "
        + (f"compiled, {step_loop}" if step_loop else "NumPy (the C extension is not built)")
    )
    print(
        "Perona-Malik blocks, tau = 1/4; M sample-steps/s (values x blocks), "
        f"best of {repeat} rounds over the whole table\n"
    )
    print(HEADER)
    rows = bench_engine(sizes, repeat)
    for row in rows:
        print(_row_text(row))

    print(f"\nfloat32 / float64 engine speed (target >= {TARGET_F32_OVER_F64}x)")
    for line in float32_ratios(rows):
        print(line)

    print(
        f"\nstart-up, best of {3 if args.quick else 7} (target --help < "
        f"{TARGET_HELP_OVER_NUMPY}x a bare numpy import)"
    )
    for bytecode, label in ((True, "installed (bytecode cached)"), (False, "no bytecode cache")):
        t_help, t_numpy = startup(3 if args.quick else 7, bytecode)
        ratio = t_help / t_numpy
        ok = "met" if ratio < TARGET_HELP_OVER_NUMPY else "MISSED"
        if not bytecode:  # the target is for an installed tool; this row shows the compile cost
            ok = "informational"
        print(
            f"  {label:<28s} resdenoise --help {t_help * 1e3:4.0f} ms, python -c 'import numpy' "
            f"{t_numpy * 1e3:4.0f} ms: {ratio:.2f}x ({ok})"
        )
    n_last = sizes[-1][0]
    mib = max(1, n_last * 2 * 8 >> 20)
    print(f"\nnew memory: the first touch of {mib} MiB (a result of {n_last:,} x 2 float64)")
    for pause in (0.0, 3.0):
        ms = [1e3 * t for t in first_touch(mib, pause, 3)]
        print(f"  {pause:.0f} s after the last was freed: {', '.join(f'{t:.0f}' for t in ms)} ms")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if all(r["threads_identical"] and r["naive_agrees"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
