"""The engine on one machine against a local Dask cluster of 1 and 2 workers, side by side.

``python benchmarks/bench_dask.py [--samples N] [--files F] [--blocks M]``
(``make bench-dask``, which installs the ``dask`` extra; the sizes also from
``RESDENOISE_BENCH_SAMPLES`` and ``RESDENOISE_BENCH_FILES``).

Two kinds of work, each timed in turns (local, 1 worker, 2 workers; best of
``--repeat`` rounds), throughput printed with the ratios to the local run:

* **one long signal** (default 10^8 float64 samples, 800 MB) stored as a Zarr
  array in chunks of 2^22 samples: locally, read whole, ``run_plan``, written
  back as Zarr; the command's own run (``resdenoise diffuse in.zarr -o
  out.zarr``: :func:`resdenoise.pipeline.run_file`, chunk by chunk with the
  check, noise and measurement passes and the report); on the cluster,
  ``filter_array`` over ``dask.array.from_zarr`` written with ``to_zarr``
  chunk by chunk (never gathered).  The outputs are checked equal bit for
  bit.  The stores need about 4 x 8 bytes a sample of free disk (checked
  first).
* **many small files** (default 200 one-second 8 kHz WAVs): ``run_batch``
  with ``jobs=1`` against ``run_batch(scheduler=...)``.

It ends with the two figures a projection to N machines needs: the halo's
share of each chunk's work (2m/C for m blocks and chunks of C samples) and
the scheduler's cost per task (the median round trip of an empty task).
Every cluster is local, bound to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

import numpy as np


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: 8787 may be taken
        silence_logs=50,
    )
    return cluster, Client(cluster)


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--samples", type=float, default=float(os.environ.get("RESDENOISE_BENCH_SAMPLES", 1e8))
    )
    ap.add_argument("--chunk", type=int, default=1 << 22)
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--files", type=int, default=int(os.environ.get("RESDENOISE_BENCH_FILES", 200)))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import dask.array as da
    import soundfile
    import zarr

    from resdenoise.batch import run_batch
    from resdenoise.dask import filter_array, measure_array
    from resdenoise.filters import plan_diffuse, run_plan
    from resdenoise.nonlinearities import get_nonlinearity
    from resdenoise.pipeline import RunOptions, planner, run_file

    n = int(args.samples)
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.5), steps=args.blocks)
    work = tempfile.mkdtemp(prefix="bench-dask-")
    need, free = 4 * 8 * n + (64 << 20), shutil.disk_usage(work).free
    if need > free:
        shutil.rmtree(work)
        raise SystemExit(
            f"{n:g} samples need about {need / 2**30:.1f} GiB of disk in {work}, "
            f"{free / 2**30:.1f} GiB free; give --samples (or RESDENOISE_BENCH_SAMPLES) smaller"
        )
    try:
        rng = np.random.default_rng(0)
        src = os.path.join(work, "in.zarr")
        z = zarr.create_array(src, shape=(n,), chunks=(args.chunk,), dtype="float64")
        for a in range(0, n, args.chunk):
            b = min(n, a + args.chunk)
            z[a:b] = np.sin(np.arange(a, b) / 500.0) + 0.1 * rng.standard_normal(b - a)

        def local_long():
            x = zarr.open_array(src, mode="r")[:]
            out = zarr.create_array(
                os.path.join(work, "local.zarr"),
                shape=(n,),
                chunks=(args.chunk,),
                dtype="float64",
                overwrite=True,
            )
            out[:] = run_plan(plan, x, threads=1)

        threads1 = RunOptions(threads=1)
        reports: dict = {}
        command_plan = planner("diffuse", "perona-malik", lam=0.5, steps=args.blocks)

        def command_long():
            report = run_file(command_plan, src, os.path.join(work, "command.zarr"), run=threads1)
            assert report["guarantees_held"]
            reports["command"] = report

        def cluster_long(client):
            def run():
                arr = da.from_zarr(src)
                filter_array(arr, plan).to_zarr(os.path.join(work, "dask.zarr"), overwrite=True)

            return run

        files = os.path.join(work, "files")
        os.mkdir(files)
        for k in range(args.files):
            soundfile.write(
                os.path.join(files, f"f{k:03d}.wav"),
                0.3 * rng.standard_normal(8000),
                8000,
                subtype="PCM_16",
            )
        inputs = sorted(os.path.join(files, f) for f in os.listdir(files))
        make_plan = planner("diffuse", "perona-malik", lam=0.2, steps=args.blocks)

        def local_files():
            run_batch(make_plan, inputs, os.path.join(work, "out-local"), jobs=1)

        def cluster_files(address):
            def run():
                run_batch(make_plan, inputs, os.path.join(work, "out-dask"), scheduler=address)

            return run

        rows = {"long signal": {}, "small files": {}}
        rows["long signal"]["local"] = _best(local_long, args.repeat)
        rows["long signal"]["command"] = _best(command_long, args.repeat)
        rows["small files"]["local"] = _best(local_files, args.repeat)
        task_cost = None
        for workers in (1, 2):
            cluster, client = _cluster(workers)
            with cluster, client:
                rows["long signal"][f"{workers} worker"] = _best(cluster_long(client), args.repeat)
                rows["small files"][f"{workers} worker"] = _best(
                    cluster_files(cluster.scheduler_address), args.repeat
                )
                if workers == 2:  # the report's measurements as dask reductions, on the cluster
                    t = time.perf_counter()
                    reports["dask"] = measure_array(
                        da.from_zarr(src), da.from_zarr(os.path.join(work, "dask.zarr")), plan
                    )
                    report_time = time.perf_counter() - t
                    rounds = []
                    for _ in range(50):
                        t = time.perf_counter()
                        client.submit(int, 0, pure=False).result()
                        rounds.append(time.perf_counter() - t)
                    task_cost = statistics.median(rounds)
        local_out = zarr.open_array(os.path.join(work, "local.zarr"), mode="r")[:]
        same = all(
            np.array_equal(local_out, zarr.open_array(os.path.join(work, name), mode="r")[:])
            for name in ("dask.zarr", "command.zarr")
        )
        same_files = all(
            open(os.path.join(work, "out-local", f), "rb").read()
            == open(os.path.join(work, "out-dask", f), "rb").read()
            for f in os.listdir(os.path.join(work, "out-local"))
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{os.cpu_count()} CPUs; best of {args.repeat}; {args.blocks} Perona-Malik blocks")
    units = {"long signal": (n, "Msamples/s"), "small files": (args.files, "files/s")}
    for what, times in rows.items():
        count, unit = units[what]
        scale = 1e6 if unit.startswith("M") else 1
        base = times["local"]
        cells = "  ".join(
            f"{k}: {t:6.2f} s {count / t / scale:8.2f} {unit} ({base / t:4.2f}x)"
            for k, t in times.items()
        )
        print(f"{what:12s} {cells}")
    print(f"results equal: long signal (local, command, dask) {same}, small files {same_files}")
    exact = ("input_min", "input_max", "output_min", "output_max", "sign_changes_in")
    agree = (
        all(
            a[k] == b[k]
            for a, b in zip(
                reports["dask"]["channels"], reports["command"]["channels"], strict=True
            )
            for k in exact + ("sign_changes_out", "max_min_principle", "tv_diminished")
        )
        and reports["dask"]["noise_sigma"] == reports["command"]["noise_sigma"]
    )
    print(
        f"report as dask reductions (measure_array, 2 workers): {report_time:.2f} s "
        f"({n / report_time / 1e6:.2f} Msamples/s); ranges, signs, verdicts and noise "
        f"equal to the command's report: {agree}"
    )
    print(
        f"halo share of a chunk's work: 2m/C = {2 * args.blocks / args.chunk:.2e} "
        f"(m = {args.blocks}, C = {args.chunk}); scheduler round trip per task: "
        f"{task_cost * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
