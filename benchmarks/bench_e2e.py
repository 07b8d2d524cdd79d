"""End to end, side by side with the tools a user would compare against (issue 19).

Every comparison runs its commands in interleaved rounds in one run (the
median of the rounds is printed), so that a busy machine slows all of them
alike: read the ratios, not the seconds.

1. **A large file**: a float32 stereo WAV (``RESDENOISE_E2E_MIB``, default 512 MiB)
   filtered with 10 and 100 Perona-Malik blocks (by default in float32, the file's own
   precision; and 10 with ``--dtype float64``, the reference), against ``cat`` (a copy),
   a soundfile read-write copy in Python (blocks of 2^18 frames) and
   ``sox IN OUT lowpass 3000``; also the engine alone on it (timed on a
   slice, scaled to the file), and every command's peak memory.
2. **Many small files**: ``RESDENOISE_E2E_FILES`` (default 200) one-second
   stereo WAVs in one call with ``--jobs 1`` and ``--jobs 2``, against
   ``make -j2`` over ``sox``; also each mode on one file per job, which splits
   its time into a fixed part and a cost per further file; and the machine's
   ceiling for ``--jobs 2``: two independent ``--jobs 1`` processes started
   together, each over half of the files into the same directory (no pipes, no
   queue: what two processes of this work get from two cores, their fixed part
   paid once each at the same time); and the machine's own scaling, the same
   pure computation (NumPy, no files) in one process and split over two at
   once, with the most ``--jobs 2`` can gain at that scaling when start-up
   (``--jobs 1``'s fixed part) is paid once by either mode.
3. **One small file**: one call against ``python -c "import numpy, soundfile"``; also
   without ``-q``, its verdict and summary on a stderr that is a pipe.
4. **The automatic search**: ``--time auto --lambda auto`` against the fixed
   run it picks (same lambda, tau and blocks), in the process (planning
   and engine; wall and process CPU, at least 9 rounds below 1e6 samples), on
   bench_auto's signals (sensor, steps, smooth) of 1e5 and 1e6
   samples (``RESDENOISE_E2E_AUTO=1e5,1e6,1e7`` adds 1e7), and the same as the
   commands a user types (the signal in a WAV file, start-up and I/O included,
   outputs compared); a search slower
   than ``RESDENOISE_E2E_AUTO_LIMIT`` seconds (300) is not repeated at the
   larger sizes.

sox is installed with apt-get when missing and possible; otherwise its
comparisons are skipped, and the output says so.  The files go to a
temporary directory (``RESDENOISE_E2E_DIR``, default the system's) and are
removed at the end.  Python's bytecode is cached (in a temporary
``PYTHONPYCACHEPREFIX``) as for an installed tool, also where the shell sets
``PYTHONDONTWRITEBYTECODE``.

``RESDENOISE_E2E_PARTS`` picks the parts (default ``1,2,3,4``); with
``RESDENOISE_BEFORE=/path/to/another/checkout`` parts 1, 2 and 3 also run that
checkout's ``resdenoise`` (its compiled module built in place) in the same
rounds: before and after side by side.  Each command's median CPU time (user
+ system) is printed beside its wall time.

    python benchmarks/bench_e2e.py            # make bench-e2e
    RESDENOISE_E2E_MIB=64 RESDENOISE_E2E_ROUNDS=3 python benchmarks/bench_e2e.py
    RESDENOISE_E2E_PARTS=1 RESDENOISE_BEFORE=/tmp/main python benchmarks/bench_e2e.py
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from bench_memory import write_wav

MIB = int(os.environ.get("RESDENOISE_E2E_MIB", "512"))
ROUNDS = int(os.environ.get("RESDENOISE_E2E_ROUNDS", "3"))
FILES = int(os.environ.get("RESDENOISE_E2E_FILES", "200"))
AUTO_LIMIT = float(os.environ.get("RESDENOISE_E2E_AUTO_LIMIT", "300"))
AUTO_SIZES = [int(float(s)) for s in os.environ.get("RESDENOISE_E2E_AUTO", "1e5,1e6").split(",")]
PARTS = os.environ.get("RESDENOISE_E2E_PARTS", "1,2,3,4").split(",")
BEFORE = os.environ.get("RESDENOISE_BEFORE")
RATE = 48_000
#: Median CPU seconds (user + system, of the command and its children) by command name.
CPU: dict = {}
#: Each round's seconds by command name (the last :func:`side_by_side`).
ROUNDS_SECONDS: dict = {}
PM = ["diffuse", "--diffusivity", "perona-malik", "-q"]
RESDENOISE = [sys.executable, "-m", "resdenoise"]
TIME = "/usr/bin/time"
COPY = """
import sys, soundfile
with soundfile.SoundFile(sys.argv[1]) as src, soundfile.SoundFile(
    sys.argv[2], "w", src.samplerate, src.channels, src.subtype, format=src.format
) as dst:
    for block in src.blocks(1 << 18, dtype="float32"):
        dst.write(block)
"""

#: Pure computation for the machine's scaling (part 2): NumPy on a cache-sized array,
#: argv[1] loops (BUSY_LOOPS: about half a second here, as long as --jobs 1's batch).
BUSY = """
import sys, numpy as np
a = np.random.default_rng(0).random(20000)
for _ in range(int(sys.argv[1])):
    a = np.sqrt(a * a + 1e-3)
"""
BUSY_LOOPS = 20_000


def run(command, shell: bool = False, env=None, stderr=None) -> tuple[float, float]:
    """(seconds, peak resident MiB of the command; NaN without GNU time); raises on failure.
    ``stderr=subprocess.PIPE``: the command's stderr is a pipe (read, not shown).

    The peak is read by ``/usr/bin/time``: a child forked from this (large)
    process would count this process's pages too.
    """
    if shell:
        command = ["/bin/sh", "-c", command]
    peak = float("nan")
    with tempfile.NamedTemporaryFile("r") as out:
        if os.path.exists(TIME):
            command = [TIME, "-f", "%M", "-o", out.name, *command]
        start = time.perf_counter()
        # not from a checkout: ``python -m`` puts the working directory first on the
        # path, where it would shadow RESDENOISE_BEFORE's PYTHONPATH
        code = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=stderr, env=env, cwd=tempfile.gettempdir()
        ).returncode
        seconds = time.perf_counter() - start
        if code != 0:
            raise RuntimeError(f"{command!r} failed with exit code {code}")
        text = out.read().strip().splitlines()
        if text and text[-1].isdigit():
            peak = int(text[-1]) / 1024.0
    return seconds, peak


def side_by_side(commands: dict, rounds: int, before=None) -> dict:
    """Each command once per round, in turn; {name: (median seconds, max peak MiB)}
    (and the median CPU seconds in :data:`CPU`)."""
    times: dict = {name: [] for name in commands}
    cpu: dict = {name: [] for name in commands}
    peaks: dict = {name: float("nan") for name in commands}
    for r in range(rounds):
        order = list(commands) if r % 2 == 0 else list(reversed(commands))
        for name in order:
            if before is not None:
                before(name)
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds, peak = commands[name]()
            now = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime)
            times[name].append(seconds)
            peaks[name] = peak if not peaks[name] >= peak else peaks[name]
    CPU.update({name: statistics.median(v) for name, v in cpu.items()})
    ROUNDS_SECONDS.update(times)
    return {name: (statistics.median(times[name]), peaks[name]) for name in commands}


def have_sox() -> str | None:
    """None when sox runs, else why it does not (after trying to install it)."""
    if shutil.which("sox"):
        return None
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("sox is missing: apt-get install -y sox ...", flush=True)
        for step in (["apt-get", "update"], ["apt-get", "install", "-y", "sox"]):
            subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if shutil.which("sox"):
            return None
    return "sox is not installed and could not be installed (apt-get needs root)"


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:5.2f}x  (target <= {target}x: {'met' if ratio <= target else 'MISSED'})"


def table(results: dict, base: str) -> None:
    b = results[base][0]
    print(f"  {'':<34} {'wall':>10}  {'':<17} {'peak':>11}  {'CPU':>7}")
    for name, (seconds, peak) in results.items():
        print(
            f"  {name:<34} {seconds:8.2f} s  {seconds / b:6.2f}x {base:<10} {peak:7.0f} MiB"
            f"  {CPU.get(name, float('nan')):5.2f} s"
        )


def engine_alone(path: str, blocks: int, dtype: str = "float64") -> float:
    """Seconds of the engine alone on the whole file, as the command runs it (in
    ``dtype``, default threads, lambda from the noise): timed on a slice of 2^21
    frames, scaled."""
    import soundfile

    from resdenoise.pipeline import planner

    info = soundfile.info(path)
    frames = min(info.frames, 1 << 21)
    u, _ = soundfile.read(path, frames=frames, dtype="float64")
    plan, _ = planner("diffuse", "perona-malik", steps=blocks)(u)
    u = u.astype(dtype)
    plan.run(u)  # warm
    start = time.perf_counter()
    plan.run(u)
    return (time.perf_counter() - start) * info.frames / frames


def large_file(work: str, sox_missing: str | None) -> None:
    need = 3.3 * MIB * (1 << 20)
    free = shutil.disk_usage(work).free
    print(f"\n1. {MIB} MiB float32 stereo WAV, {RATE} Hz, medians of {ROUNDS} rounds")
    if free < need:
        print(f"  skipped: {free >> 20} MiB free in {work}, needs {need / (1 << 20):.0f}")
        return
    src, out = os.path.join(work, "large.wav"), os.path.join(work, "large_out.wav")
    write_wav(src, MIB)
    commands = {
        "cat": lambda: run(f"cat '{src}' > '{out}'", shell=True),
        "soundfile copy (Python)": lambda: run([sys.executable, "-c", COPY, src, out]),
    }
    if sox_missing is None:
        commands["sox lowpass 3000"] = lambda: run(["sox", "-V1", src, out, "lowpass", "3000"])
    # name: (blocks, --dtype); None: the default, float32 for this file (its precision)
    runs = {
        "perona-malik 10 steps": (10, None),
        "perona-malik 100 steps": (100, None),
        "perona-malik 10 steps float64": (10, "float64"),
    }
    for name, (m, dtype) in runs.items():
        args = [*PM, "--steps", str(m), *(["--dtype", dtype] if dtype else [])]
        commands[f"resdenoise {name}"] = lambda args=args: run([*RESDENOISE, *args, src, "-o", out])
    if BEFORE:  # the same computations on another checkout (its dtype given), in the same rounds
        env = {**os.environ, "PYTHONPATH": BEFORE}
        for name, (m, dtype) in runs.items():
            args = [*PM, "--steps", str(m), "--dtype", dtype or "float32"]
            commands[f"before: {name}"] = lambda args=args: run(
                [*RESDENOISE, *args, src, "-o", out], env=env
            )

    def clean(_name=None) -> None:
        if os.path.exists(out):
            os.unlink(out)

    results = side_by_side(commands, ROUNDS, before=clean)
    clean()
    table(results, "cat")
    if sox_missing is not None:
        print(f"  sox skipped: {sox_missing}")
    engine = {name: engine_alone(src, m, dtype or "float32") for name, (m, dtype) in runs.items()}
    copy = results["soundfile copy (Python)"][0]
    for name, alone in engine.items():
        ours = results[f"resdenoise {name}"][0]
        print(f"  {name}: engine alone (scaled from a slice) {alone:.2f} s")
        print(f"    vs soundfile copy + engine alone: {verdict(ours / (copy + alone), 1.3)}")
        if sox_missing is None and "10 steps" in name:
            sox = results["sox lowpass 3000"][0]
            print(f"    vs sox lowpass 3000:              {verdict(ours / sox, 1.5)}")
        if BEFORE:
            was = results[f"before: {name}"][0]
            cpu = CPU[f"resdenoise {name}"] / CPU[f"before: {name}"]
            print(f"    before ({BEFORE}): vs soundfile copy + engine alone "
                  f"{was / (copy + alone):.2f}x; after / before: wall {ours / was:.2f}x, "
                  f"CPU {cpu:.2f}x")  # fmt: skip
    os.unlink(src)


def small_files(work: str, sox_missing: str | None) -> None:
    import soundfile

    print(f"\n2. {FILES} one-second float32 stereo WAVs, 10 steps, medians of {ROUNDS} rounds")
    src = os.path.join(work, "small")
    os.makedirs(src)
    rng = np.random.default_rng(1)
    for k in range(FILES):
        x = np.clip(0.3 * rng.standard_normal((RATE, 2)), -1, 1).astype(np.float32)
        soundfile.write(os.path.join(src, f"f{k:04d}.wav"), x, RATE, subtype="FLOAT")
    inputs = sorted(os.path.join(src, n) for n in os.listdir(src))
    mine = {f"resdenoise --jobs {j}": (f"j{j}", None) for j in (1, 2)}
    if BEFORE:  # the same commands on another checkout, in the same rounds
        env = {**os.environ, "PYTHONPATH": BEFORE}
        mine.update({f"before: --jobs {j}": (f"b{j}", env) for j in (1, 2)})
    outs = {name: os.path.join(work, key) for name, (key, _) in mine.items()}
    outs["make -j2 over sox"] = os.path.join(work, "sox")
    with open(os.path.join(work, "Makefile"), "w") as fh:
        fh.write(
            f"all: $(patsubst {src}/%,{outs['make -j2 over sox']}/%,$(wildcard {src}/*.wav))\n"
        )
        fh.write(f"{outs['make -j2 over sox']}/%.wav: {src}/%.wav\n\tsox -V1 $< $@ lowpass 3000\n")
    commands = {
        name: lambda name=name, env=env: run(
            [*RESDENOISE, *PM, "--steps", "10", *inputs, "-o", outs[name] + "/", "-j", name[-1]],
            env=env,
        )
        for name, (_, env) in mine.items()
    }
    # the same batches of one file per job: their fixed cost (start-up, workers), so that
    # the rest is the cost per file
    few = {f"--jobs {j}, {j} file(s)": (j, None) for j in (1, 2)}
    if BEFORE:
        few.update(
            {f"before: --jobs {j}, {j} file(s)": (j, mine["before: --jobs 1"][1]) for j in (1, 2)}
        )
    outs.update({name: os.path.join(work, f"few{k}") for k, name in enumerate(few)})
    commands.update(
        {
            name: lambda name=name, j=j, env=env: run(
                [
                    *RESDENOISE,
                    *PM,
                    "--steps",
                    "10",
                    *inputs[:j],
                    "-o",
                    outs[name] + "/",
                    "-j",
                    str(j),
                ],
                env=env,
            )
            for name, (j, env) in few.items()
        }
    )
    # the ceiling: two independent --jobs 1 processes at once, half of the files each
    # (and one file each, their fixed part), into one directory as a batch writes
    halves = {"two --jobs 1 at once, half each": 2, "two --jobs 1 at once, 1 file each": 1}
    outs.update({name: os.path.join(work, f"half{k}") for k, name in enumerate(halves)})
    commands.update(
        {
            name: lambda name=name, k=k: run(
                _both(
                    [*RESDENOISE, *PM, "--steps", "10", *part, "-o", outs[name] + "/", "-j", "1"]
                    for part in (
                        (inputs[: FILES // 2], inputs[FILES // 2 :])
                        if k == 2
                        else (inputs[:1], inputs[1:2])
                    )
                ),
                shell=True,
            )
            for name, k in halves.items()
        }
    )
    # the machine's own scaling: the same pure computation (NumPy on cache-sized arrays,
    # no files) in one process, and split over two at once
    busy = [sys.executable, "-c", BUSY]
    commands["computation, one process"] = lambda: run([*busy, str(BUSY_LOOPS)])
    commands["computation, two at once"] = lambda: run(
        _both([*busy, str(BUSY_LOOPS // 2)] for _ in range(2)), shell=True
    )
    if sox_missing is None:
        make = ["make", "-s", "-j2", "-f", os.path.join(work, "Makefile"), "-C", work]
        commands["make -j2 over sox"] = lambda: run(make)

    def clean(name) -> None:
        if name in outs:  # not the computation alone
            shutil.rmtree(outs[name], ignore_errors=True)
            os.makedirs(outs[name])

    results = side_by_side(commands, ROUNDS, before=clean)
    table(results, "resdenoise --jobs 1")
    one, two = results["resdenoise --jobs 1"][0], results["resdenoise --jobs 2"][0]
    speedup = one / two
    print(f"  --jobs 2 speed-up over --jobs 1: {speedup:.2f}x  (target >= 1.6x: "
          f"{'met' if speedup >= 1.6 else 'MISSED'}; a busy machine lowers it)")  # fmt: skip
    for one_name, two_name in (("resdenoise --jobs 1", "resdenoise --jobs 2"),) + (
        (("before: --jobs 1", "before: --jobs 2"),) if BEFORE else ()
    ):
        rounds = [
            a / b for a, b in zip(ROUNDS_SECONDS[one_name], ROUNDS_SECONDS[two_name], strict=True)
        ]
        print(
            f"  {two_name} over {one_name}: {results[one_name][0] / results[two_name][0]:.2f}x;"
            f" each round: {' '.join(f'{r:.2f}x' for r in rounds)}"
        )
    for side, prefix in (("", ""),) + ((("before: ", "before: "),) if BEFORE else ()):
        per_file = {}
        for j in (1, 2):
            name = f"{prefix or 'resdenoise '}--jobs {j}"
            few_name = f"{prefix}--jobs {j}, {j} file(s)"
            fixed, fixed_cpu = results[few_name][0], CPU[few_name]
            per_file[j] = (results[name][0] - fixed) / (FILES - j)
            cpu = (CPU[name] - fixed_cpu) / (FILES - j)
            print(
                f"  {side}--jobs {j}: fixed {fixed:.3f} s (a batch of {j} file(s)), then "
                f"{per_file[j] * 1e3:.2f} ms per further file; CPU: fixed {fixed_cpu:.3f} s, "
                f"then {cpu * 1e3:.2f} ms per further file"
            )
        print(f"  {side}per further file, --jobs 2 over --jobs 1: {per_file[1] / per_file[2]:.2f}x")
    both, both_one = (results[name][0] for name in halves)
    both_file = (both - both_one) / (FILES - 2)
    one_file = (one - results["--jobs 1, 1 file(s)"][0]) / (FILES - 1)
    print(
        f"  the machine's ceiling, two independent --jobs 1 processes over half the files each:"
        f" {both:.3f} s, {one / both:.2f}x --jobs 1 (per further file {both_file * 1e3:.2f} ms,"
        f" {one_file / both_file:.2f}x); --jobs 2 takes {two / both:.2f}x its time"
    )
    alone = results["computation, one process"][0] / results["computation, two at once"][0]
    fixed = results["--jobs 1, 1 file(s)"][0]
    bound = one / (fixed + (one - fixed) / alone)
    print(
        f"  the machine's scaling of pure computation over two processes: {alone:.2f}x; with"
        f" --jobs 1's fixed part ({fixed:.3f} s, start-up, paid once by either mode) the most"
        f" --jobs 2 can gain on these files at that scaling: {bound:.2f}x"
    )
    print(f"  load average now {os.getloadavg()[0]:.1f}")
    if sox_missing is None:
        print(f"  --jobs 2 / make -j2 over sox: {two / results['make -j2 over sox'][0]:.2f}x")
    else:
        print(f"  make -j2 over sox skipped: {sox_missing}")
    same = all(
        np.array_equal(
            soundfile.read(os.path.join(outs["resdenoise --jobs 1"], name))[0],
            soundfile.read(os.path.join(outs["resdenoise --jobs 2"], name))[0],
        )
        for name in os.listdir(src)
    )
    print(f"  --jobs 1 and --jobs 2 wrote the same samples: {same}")


def _both(commands) -> str:
    """A shell command that runs two commands at once and fails if either fails."""
    first, second = (shlex.join(c) for c in commands)
    return f"{first} & a=$!; {second}; b=$?; wait $a && exit $b"


def one_small_file(work: str) -> None:
    path, out = os.path.join(work, "one.wav"), os.path.join(work, "one_out.wav")
    import soundfile

    x = np.clip(0.3 * np.random.default_rng(2).standard_normal((RATE, 2)), -1, 1)
    soundfile.write(path, x.astype(np.float32), RATE, subtype="FLOAT")
    rounds = max(5, 3 * ROUNDS)
    print(f"\n3. one one-second stereo WAV, 10 steps, medians of {rounds} rounds")
    commands = {
        'python -c "import numpy, soundfile"': lambda: run(
            [sys.executable, "-c", "import numpy, soundfile"]
        ),
        "resdenoise (one file)": lambda: run([*RESDENOISE, *PM, "--steps", "10", path, "-o", out]),
        "resdenoise, summary on a pipe": lambda: run(
            [*RESDENOISE, *PM[:-1], "--steps", "10", path, "-o", out], stderr=subprocess.PIPE
        ),
    }
    if BEFORE:  # the same two on another checkout, in the same rounds
        env = {**os.environ, "PYTHONPATH": BEFORE}
        commands["before: one file"] = lambda: run(
            [*RESDENOISE, *PM, "--steps", "10", path, "-o", out], env=env
        )
        commands["before: summary on a pipe"] = lambda: run(
            [*RESDENOISE, *PM[:-1], "--steps", "10", path, "-o", out],
            env=env,
            stderr=subprocess.PIPE,
        )
    # what a Makefile calls: the installed program, beside this Python
    script = os.path.join(os.path.dirname(sys.executable), "resdenoise")
    if os.path.exists(script):
        commands["installed resdenoise"] = lambda: run(
            [script, *PM, "--steps", "10", path, "-o", out]
        )
    results = side_by_side(commands, rounds)
    baseline = 'python -c "import numpy, soundfile"'
    table(results, baseline)
    for name in ("resdenoise (one file)", "installed resdenoise"):
        if name in results:
            ratio = results[name][0] / results[baseline][0]
            print(f"  {name} / import numpy, soundfile: {verdict(ratio, 1.3)}")
    summary = CPU["resdenoise, summary on a pipe"] - CPU["resdenoise (one file)"]
    print(f"  the summary on a pipe costs {1e3 * summary:.0f} ms of CPU beyond -q")
    if BEFORE:
        was = CPU["before: summary on a pipe"] - CPU["before: one file"]
        now, then = CPU["resdenoise, summary on a pipe"], CPU["before: summary on a pipe"]
        print(
            f"  before ({BEFORE}): {1e3 * was:.0f} ms; summary on a pipe after / before: "
            f"CPU {now:.3f} / {then:.3f} s = {now / then:.2f}x ({1e3 * (then - now):.0f} ms less)"
        )


def automatic_search(work: str) -> None:
    from bench_auto import KEPT, fixed_steps, make

    from resdenoise.filters import run_plan
    from resdenoise.pipeline import planner

    print("\n4. --time auto --lambda auto vs the fixed run it picks (the same lambda, tau and")
    print("   blocks), planning and engine in this process; a signal whose search takes over")
    print(f"   {AUTO_LIMIT:.0f} s (RESDENOISE_E2E_AUTO_LIMIT) is not run at the larger sizes")
    print(f"  {'signal':<22} {'auto s':>8} {'fixed s':>8} {'ratio':>7}  lambda, blocks")
    slow: set = set()
    for n in AUTO_SIZES:
        for kind in ("sensor", "steps", "smooth"):  # bench_auto's signals
            signal = make(kind, n)
            label = f"{kind} {n:.0e}"
            if kind in slow:
                print(f"  {label:<22} skipped (slower than the limit at a smaller size)")
                continue
            auto = planner("diffuse", "perona-malik", lam="auto", time="auto")
            start = time.perf_counter()
            plan = auto(signal)[0]
            if time.perf_counter() - start > AUTO_LIMIT:
                slow.add(kind)
            fixed = planner(
                "diffuse", "perona-malik", lam=plan.nl.lam, steps=fixed_steps(plan), tau=plan.tau
            )

            cpu: dict = {"auto": [], "fixed": []}

            def timed(name, make_plan, signal=signal, cpu=cpu) -> tuple[float, float]:
                start, used = time.perf_counter(), time.process_time()
                run_plan(make_plan(signal)[0], signal)
                cpu[name].append(time.process_time() - used)  # both engine threads
                return time.perf_counter() - start, 0.0

            rounds = 1 if kind in slow or n >= 1_000_000 else ROUNDS
            # in the process a round at 1e5 takes milliseconds: more of them, a steadier median
            res = side_by_side(
                {
                    "auto": lambda a=auto: timed("auto", a),
                    "fixed": lambda f=fixed: timed("fixed", f),
                },
                rounds if rounds == 1 else max(rounds, 9),
            )
            ratio = res["auto"][0] / res["fixed"][0]
            cpu_ratio = statistics.median(cpu["auto"]) / statistics.median(cpu["fixed"])
            print(
                f"  {label:<22} {res['auto'][0]:8.2f} {res['fixed'][0]:8.3f} {ratio:6.1f}x  "
                f"{plan.nl.lam:.4g}, {plan.steps}   (target <= 3x: "
                f"{'met' if ratio <= 3 else 'MISSED'}; CPU {cpu_ratio:.1f}x)"
            )
            if plan.steps == 0:
                print(f"  {'':<22} {KEPT}")
            commands(work, label, signal, plan, rounds)


def commands(work: str, label: str, signal, plan, rounds: int) -> None:
    """The same comparison as the commands a user types: the signal in a WAV file
    (float64, so that it reads back exactly), ``--time auto --lambda auto`` against
    ``--lambda L --steps m --tau T`` of the plan it picks, start-up and I/O included."""
    import soundfile
    from bench_auto import fixed_steps

    path = os.path.join(work, "auto_in.wav")
    soundfile.write(path, signal, RATE, subtype="DOUBLE")
    outs = {name: os.path.join(work, f"auto_{name}.wav") for name in ("auto", "fixed")}
    # --time auto needs the whole signal: above the streaming threshold (1e7 samples of
    # float64 are 76 MiB) both commands load the file whole, as a user must say
    whole = ["--chunk-size", "0"]
    given = {
        "auto": ["--time", "auto", "--lambda", "auto", *whole],
        "fixed": ["--lambda", repr(plan.nl.lam), "--steps", str(fixed_steps(plan)),
                  "--tau", repr(plan.tau), *whole],
    }  # fmt: skip
    res = side_by_side(
        {name: lambda name=name: run([*RESDENOISE, *PM, *given[name], path, "-o", outs[name]])
         for name in outs},
        rounds,
    )  # fmt: skip
    ratio = res["auto"][0] / res["fixed"][0]
    same = (  # where the automatic run keeps the input, the fixed run's one block differs
        np.array_equal(*(soundfile.read(out)[0] for out in outs.values()))
        if plan.steps
        else "not compared, 0 blocks kept"
    )
    print(
        f"  {'  as commands':<22} {res['auto'][0]:8.2f} {res['fixed'][0]:8.3f} {ratio:6.1f}x  "
        f"(CPU {CPU['auto'] / CPU['fixed']:.1f}x; the same output: {same})"
    )


def main() -> None:
    print(f"bench-e2e on {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    print("(timings on a shared machine are noisy: compare the ratios within one run)")
    sox_missing = have_sox()
    work = tempfile.mkdtemp(prefix="resdenoise-e2e.", dir=os.environ.get("RESDENOISE_E2E_DIR"))
    # an installed tool: bytecode cached (pip writes it at install time), here in a
    # temporary PYTHONPYCACHEPREFIX after a warm-up, so that the work tree is not touched
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
    for command in ([*RESDENOISE, "--help"], [sys.executable, "-c", "import numpy, soundfile"]):
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    try:
        parts = {
            "1": lambda: large_file(work, sox_missing),
            "2": lambda: small_files(work, sox_missing),
            "3": lambda: one_small_file(work),
            "4": lambda: automatic_search(work),
        }
        for part in PARTS:
            parts[part.strip()]()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
