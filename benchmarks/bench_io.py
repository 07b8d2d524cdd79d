"""CSV reading and writing speed, as ratios to NumPy's own text routines.

``python benchmarks/bench_io.py [ROWS]`` (default 1e6) times
:func:`resdenoise.io.parse_signal` and :func:`resdenoise.io.encode_signal`
on a one-column and a three-column (time + 2 channels) CSV, against
``np.loadtxt`` and ``np.savetxt(fmt="%r")`` on the same data, and against a
plain ``float()`` loop over the lines (the floor any exact, validating
parser in Python pays).  Best of three; ratios > 1 mean resdenoise is
slower.
"""

from __future__ import annotations

import io
import sys
import time

import numpy as np

from resdenoise.io import encode_signal, parse_signal


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(rows: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(rows)
    one = ("\n".join(map(repr, x.tolist())) + "\n").encode()
    table = np.column_stack([np.arange(rows, dtype=float), x, -x])
    three = ("t,a,b\n" + "\n".join(",".join(map(repr, r)) for r in table.tolist()) + "\n").encode()

    print(f"{rows} rows; seconds (best of 3) and ratio to the NumPy baseline")
    for label, raw, arr, skip in (("1 column", one, x, 0), ("3 columns", three, table, 1)):
        sig = parse_signal(raw, "CSV", "bench")
        read = best(lambda raw=raw: parse_signal(raw, "CSV", "bench"))
        loadtxt = best(
            lambda raw=raw, skip=skip: np.loadtxt(io.BytesIO(raw), delimiter=",", skiprows=skip)
        )
        lines = raw.decode().split("\n")[skip:-1]
        floor = best(lambda lines=lines: [float(c) for ln in lines for c in ln.split(",")])
        write = best(lambda sig=sig: encode_signal("out.csv", sig))
        savetxt = best(
            lambda arr=arr: np.savetxt(io.BytesIO(), arr.reshape(rows, -1), fmt="%r", delimiter=",")
        )
        print(
            f"{label:10s} read {read:6.2f} s  (loadtxt {loadtxt:5.2f} s: x{read / loadtxt:4.1f};"
            f" float() loop {floor:5.2f} s: x{read / floor:4.1f})"
        )
        print(
            f"{'':10s} write {write:5.2f} s  (savetxt %r {savetxt:5.2f} s: x{write / savetxt:4.1f})"
        )


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000)
