"""A quiet channel beside a louder one: one automatic plan for both, or one per channel.

Stereo signals whose second channel is k times the first's level (signal and noise:
another realisation of the same class, white noise at 10 % of each clean channel's std),
k = 1, 2, 4, 20, of speech-, music- and step-like signals and the Donoho-Johnstone
signals (:mod:`signals`).  Each automatic mode (``shrink --iterations auto``, ``diffuse
--time auto``, ``denoise``) runs them twice: planned together (one family, lambda and
stopping time for both, as before :mod:`resdenoise.split`) and planned apart (each
channel the plan of a run of its own).  Printed: per mode and k, each channel's SNR
change apart minus together (dB), the mean and the extremes over signals; the quiet
channel's is the one that matters, the loud one's shows what apart costs it (the content
rule of :func:`resdenoise.split.apart_by_content` left out on both sides).

The equal-level block (``--block content``): two channels of one noise level (white noise
at 5, 10 and 30 % of each clean channel's std, the same for both), alike (the same signal
in both channels, or two realisations of one class, each with its own noise draw) or of
different content (two classes side by side).  Each mode runs as today (one plan for both)
and with the content rule trying every case (:data:`resdenoise.split.CONTENT_SIGNIFICANCE`
at minus infinity: apart wherever it is tried, its SURE test kept), in process, side by
side, CPU time of each; the rule at a significance Z then takes apart where the SURE test
clears Z standard errors at the level and at its low end.  Printed: per case class and Z,
the SNR change of the rule against today (both channels, dB), the worst single channel, how
many split, and the CPU of the rule against today.  Not a timed test.
``python benchmarks/bench_channels.py [--n N] [--seeds S] [--block levels|content|both]
[--json F]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signals  # noqa: E402

import resdenoise  # noqa: E402
import resdenoise.split as split  # noqa: E402
from resdenoise.noise import search_noise  # noqa: E402
from resdenoise.plans import automatic_planner, planner  # noqa: E402

FACTORS = (1.0, 2.0, 4.0, 20.0)


def snr_db(x, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2)) / float(np.sum((x - clean) ** 2)))


def _denoise(u):
    plan, _ = automatic_planner()(u)
    return plan.run(u)


MODES = {
    "shrink --iterations auto": lambda u: resdenoise.shrink(u, iterations="auto"),
    "diffuse --time auto": lambda u: resdenoise.diffuse(u, "perona-malik", time="auto"),
    "denoise": _denoise,
}


def pairs(n: int):
    """``(name, clean quiet, clean loud)`` of every class: two realisations each."""
    out = [
        ("speech", signals.speech(n, 1), signals.speech(n, 4)),
        ("music", signals.music(n, 2), signals.music(n, 5)),
        ("steps", signals.sensor(n, 3), signals.sensor(n, 6)),
    ]
    dj = dict(signals.donoho_johnstone(n))
    out += [
        ("Blocks/Bumps", dj["Blocks"], dj["Bumps"]),
        ("Doppler/HeaviSine", dj["Doppler"], dj["HeaviSine"]),
    ]
    return [(name, a / np.std(a), b / np.std(b)) for name, a, b in out]


def run(n: int, seeds: int = 1) -> list[dict]:
    rows = []
    for name, a, b, seed in [(*p, s) for p in pairs(n) for s in range(seeds)]:
        rng = np.random.default_rng(7 + seed)
        for k in FACTORS:
            clean = np.stack([a, k * b], axis=1)
            noisy = clean + 0.1 * np.stack([np.std(a), k * np.std(b)]) * rng.standard_normal(
                clean.shape
            )
            for mode, fn in MODES.items():
                snr = {}
                for how, factor in (("together", math.inf), ("apart", 1.0)):
                    split.SPLIT_FACTOR = factor
                    with no_content_rule():
                        out = fn(noisy)
                    snr[how] = [float(snr_db(out[:, c], clean[:, c])) for c in range(2)]
                levels = search_noise(noisy).sigma
                ratio = float(np.max(levels) / np.min(levels))
                row = {
                    "signal": name,
                    "seed": seed,
                    "k": k,
                    "mode": mode,
                    "level_ratio": ratio,
                    **snr,
                }
                rows.append(row)
                gain = [x - y for x, y in zip(snr["apart"], snr["together"], strict=True)]
                print(
                    f"  {name:18s} k={k:4g} {mode:26s} levels {ratio:6.3g}x apart: "
                    f"quiet {gain[0]:+7.2f} dB, loud {gain[1]:+7.2f} dB",
                    flush=True,
                )
    return rows


#: The rules compared: apart where the estimated levels differ by more than this factor.
RULES = (1.0, 1.25, 1.5, 2.0, 4.0)


def summary(rows) -> None:
    print(
        "\nSNR apart - together (dB), over signals: quiet channel mean [min, max]; loud channel mean [min, max]"
    )
    for mode in MODES:
        for k in FACTORS:
            sel = [r for r in rows if r["mode"] == mode and r["k"] == k]
            q = [r["apart"][0] - r["together"][0] for r in sel]
            lo = [r["apart"][1] - r["together"][1] for r in sel]
            print(
                f"  {mode:26s} k={k:4g}: quiet {np.mean(q):+6.2f} [{min(q):+6.2f}, {max(q):+6.2f}]"
                f"  loud {np.mean(lo):+6.2f} [{min(lo):+6.2f}, {max(lo):+6.2f}]"
            )
    print("\nThe rules: apart where the estimated levels differ by more than F (F = 1: always)")
    print(
        "SNR of the rule - together (dB), quiet and loud channels, mean [min] over signals and modes"
    )
    for k in FACTORS:
        sel = [r for r in rows if r["k"] == k]
        cells = []
        for f in RULES:
            g = [
                [r["apart"][c] - r["together"][c] if r["level_ratio"] > f else 0.0 for r in sel]
                for c in range(2)
            ]
            split_ = sum(r["level_ratio"] > f for r in sel)
            cells.append(
                f"F={f:g}: {np.mean(g[0]):+5.2f} [{min(g[0]):+5.2f}] / {np.mean(g[1]):+5.2f} "
                f"[{min(g[1]):+5.2f}] ({split_}/{len(sel)} split)"
            )
        print(f"  k={k:4g}  " + "\n          ".join(cells))


@contextmanager
def no_content_rule():
    """The planners without :func:`resdenoise.split.apart_by_content` (today's plans)."""
    kept = split.apart_by_content
    split.apart_by_content = lambda plan_one, joint, *args, **kwargs: joint
    try:
        yield
    finally:
        split.apart_by_content = kept


@contextmanager
def always_apart():
    """The content rule planning apart wherever it is tried, its SURE test kept, the gate
    open (ungated: the test made on every case, as before the gate)."""
    kept = split._splits, split._gate_opens
    split._splits = lambda test: True
    split._gate_opens = lambda gate: True
    try:
        yield
    finally:
        split._splits, split._gate_opens = kept


#: The planners of the automatic modes (as ``resdenoise.shrink`` / ``diffuse`` / the
#: ``denoise`` command make them): ``(plan, extra)`` of a signal.
PLANNERS = {
    "shrink --iterations auto": planner("shrink", "soft", iterations="auto"),
    "diffuse --time auto": planner("diffuse", "perona-malik", time="auto"),
    "denoise": automatic_planner(),
}

#: The noise levels of the equal-level block (share of each clean channel's std).
NOISES = (0.05, 0.1, 0.3)


def content_pairs(n: int):
    """``(kind, name, clean a, clean b)`` of channels of one level: alike (one signal in
    both, or two realisations of a class) and of different content (two classes)."""
    dj = dict(signals.donoho_johnstone(n))
    one = {
        "speech": signals.speech(n, 1),
        "music": signals.music(n, 2),
        "steps": signals.sensor(n, 3),
        **dj,
    }
    out = [("same signal", name, x, x) for name, x in one.items()]
    out += [
        ("same class", "speech/speech", one["speech"], signals.speech(n, 4)),
        ("same class", "music/music", one["music"], signals.music(n, 5)),
        ("same class", "steps/steps", one["steps"], signals.sensor(n, 6)),
    ]
    for a, b in (
        ("speech", "music"),
        ("speech", "steps"),
        ("music", "steps"),
        ("Blocks", "Bumps"),
        ("Doppler", "HeaviSine"),
        ("Blocks", "Doppler"),
        ("steps", "Bumps"),
        ("speech", "HeaviSine"),
    ):
        out.append(("different", f"{a}/{b}", one[a], one[b]))
    return [(kind, name, a / np.std(a), b / np.std(b)) for kind, name, a, b in out]


def _timed(make_plan, noisy):
    c0 = time.process_time()
    plan, extra = make_plan(noisy)
    out = plan.run(noisy)
    return out, extra, time.process_time() - c0


#: The variants of the equal-level block: today (no content rule), gated (the rule as it
#: is: the gate, then the test), ungated (the test on every case, its apart plans kept).
VARIANTS_RUN = ("today", "gated", "ungated")


def run_content(n, seeds=1, first=0, kinds=None, variants=VARIANTS_RUN, modes=None):
    rows = []
    for kind, name, a, b in content_pairs(n):
        if kinds is not None and kind not in kinds:
            continue
        for s, noise in [(s, x) for s in range(first, first + seeds) for x in NOISES]:
            rng = np.random.default_rng(1000 + 7 * s + int(100 * noise))
            clean = np.stack([a, b], axis=1)
            noisy = clean + noise * rng.standard_normal(clean.shape)
            for mode, make_plan in PLANNERS.items():
                if modes is not None and mode not in modes:
                    continue
                row = {"kind": kind, "signal": name, "seed": s, "noise": noise, "mode": mode}
                split.SPLIT_FACTOR = math.inf  # one plan by level (the factor not tried)
                for variant in variants:
                    if variant == "today":
                        with no_content_rule():
                            out, extra, cpu = _timed(make_plan, noisy)
                    elif variant == "gated":
                        out, extra, cpu = _timed(make_plan, noisy)
                    else:
                        with always_apart():
                            out, extra, cpu = _timed(make_plan, noisy)
                    row[variant] = [snr_db(out[:, c], clean[:, c]) for c in range(2)]
                    row[f"cpu_{variant}"] = cpu
                    entry = extra.get("channels_by_content")
                    if variant != "today":
                        row[f"decision_{variant}"] = entry and entry["decision"]
                        row["gate_z"] = entry and entry["gate_z"]
                    if variant == "ungated":
                        row["test"] = extra.get("channels_apart_sure")
                split.SPLIT_FACTOR = 1.5
                rows.append(row)
                print(_line(row), flush=True)
    return rows


def _line(row) -> str:
    text = f"  {row['kind']:11s} {row['signal']:17s} {row['noise']:4g} {row['mode']:24s}"
    if row.get("gate_z") is not None:
        text += f" gate {row['gate_z']:6.2f}"
    for variant in ("gated", "ungated"):
        if variant in row:
            gain = [x - y for x, y in zip(row[variant], row["today"], strict=True)]
            text += f" {variant}-today {gain[0]:+6.2f} {gain[1]:+6.2f} dB"
            text += f" CPU {row[f'cpu_{variant}'] / row['cpu_today']:4.2f}x"
    if row.get("test") is not None:
        text += " z " + " / ".join(f"{_z(row['test'], key):6.2f}" for key in LEVELS)
    return text


#: The levels the content test scores at (resdenoise.split._content_levels).
LEVELS = ("level", "low_end", "common")


def _z(test, key) -> float:
    return -test[key]["change_per_sample"] / test[key]["standard_error"]


def _variant(levels):
    """A rule: apart where the test clears Z at each of ``levels``."""

    def splits(row, z):
        t = row.get("test")
        return t is not None and all(_z(t, key) > z for key in levels)

    return splits


#: The rules compared; the last is resdenoise.split.content_splits.
VARIANTS = {
    "level only": _variant(("level",)),
    "level, low end": _variant(("level", "low_end")),
    "rule (level, low end, common)": lambda row, z: (
        row.get("test") is not None and split.content_splits(row["test"], z)
    ),
}


def splits(row, z: float = split.CONTENT_SIGNIFICANCE) -> bool:
    """Whether the content test at significance ``z`` plans the case ``row`` apart
    (ungated: the test made on every case)."""
    return VARIANTS["rule (level, low end, common)"](row, z)


def opens(row, gate: float = split.CONTENT_GATE) -> bool:
    """Whether the gate at ``gate`` opens on the case ``row``."""
    return row.get("gate_z") is not None and row["gate_z"] > gate


#: The significances compared (split.CONTENT_SIGNIFICANCE is one of them).
ZS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
#: The gates compared (split.CONTENT_GATE is one of them).
GATES = (1.5, 2.0, 2.5, 3.0, 4.0)
KINDS = ("same signal", "same class", "different")


def _gains(sel, chosen) -> list[float]:
    """Per channel, the SNR change against today (dB) of apart where ``chosen(row)``."""
    return [(r["ungated"][c] - r["today"][c]) if chosen(r) else 0.0 for r in sel for c in (0, 1)]


def variants_summary(rows) -> None:
    print("\nUngated, the test's rules at Z: SNR change against today, mean [worst channel]")
    for name, rule in VARIANTS.items():
        print(f"  {name}")
        for z in ZS:
            cells = []
            for kind in KINDS:
                sel = [r for r in rows if r["kind"] == kind]
                if sel:
                    g = _gains(sel, lambda r, z=z, rule=rule: rule(r, z))
                    k = sum(bool(rule(r, z)) for r in sel)
                    cells.append(f"{np.mean(g):+5.2f} [{min(g):+6.2f}] {k:2d}/{len(sel)}")
            print(f"    Z={z:3g}: " + " | ".join(cells))


def gate_summary(rows) -> None:
    """The gate at each of GATES against the ungated rule (both at CONTENT_SIGNIFICANCE)."""
    print(
        "\nThe gate at G (the test runs where content_gate > G), against the ungated rule: "
        "per kind, cases the gate opens, cases split (ungated -> gated), SNR change per "
        "channel against today (ungated -> gated, dB), the share of the ungated gain kept, "
        "the worst channel gated, the split cases the gate loses"
    )
    for g in GATES:
        mark = " <- split.CONTENT_GATE" if g == split.CONTENT_GATE else ""
        print(f"  G = {g:g}{mark}")
        for kind in (*KINDS, "all"):
            sel = [r for r in rows if kind in ("all", r["kind"])]
            if not sel:
                continue
            un, ga = _gains(sel, splits), _gains(sel, lambda r, g=g: opens(r, g) and splits(r))
            kept = 100.0 * sum(ga) / sum(un) if sum(un) else 100.0
            lost = [r for r in sel if splits(r) and not opens(r, g)]
            print(
                f"    {kind:11s} open {sum(opens(r, g) for r in sel):3d}/{len(sel):3d}"
                f"  split {sum(map(splits, sel)):3d} -> "
                f"{sum(opens(r, g) and splits(r) for r in sel):3d}"
                f"  gain {np.mean(un):+6.3f} -> {np.mean(ga):+6.3f} ({kept:5.1f}% kept)"
                f"  worst {min(ga):+6.2f}  lost {len(lost)}"
            )
            if g == split.CONTENT_GATE and kind != "all":
                for r in lost:
                    gain = [r["ungated"][c] - r["today"][c] for c in (0, 1)]
                    print(
                        f"        lost: {r['signal']} {r['noise']:g} {r['mode']} seed "
                        f"{r['seed']}: {gain[0]:+.2f} {gain[1]:+.2f} dB, gate {r['gate_z']:.2f}"
                    )


def _gate_shut(row) -> bool:
    """Whether the rule as it is made no test on the case ``row`` (the gate closed, or
    the rule not tried)."""
    return row.get("decision_gated") in (None, "gate closed")


def gated_summary(rows) -> None:
    """The rule as it is (gated), measured: against today, and its CPU."""
    sel = [r for r in rows if "gated" in r]
    if not sel:
        return
    print(
        "\nThe rule as it is (gated, measured): SNR change per channel against today, mean "
        "[worst channel], cases split; CPU against today (in process, side by side)"
    )
    for kind in (*KINDS, "all"):
        ks = [r for r in sel if kind in ("all", r["kind"])]
        if not ks:
            continue
        g = [r["gated"][c] - r["today"][c] for r in ks for c in (0, 1)]
        k = sum(r.get("decision_gated") == "split" for r in ks)
        t, u = sum(r["cpu_today"] for r in ks), sum(r["cpu_gated"] for r in ks)
        print(
            f"  {kind:11s} {np.mean(g):+6.3f} [{min(g):+6.2f}] split {k:3d}/{len(ks):3d}"
            f"  CPU today {t:7.1f} s, gated {u:7.1f} s ({u / t:.3f}x)"
        )
    print("  CPU per mode and kind, gated against today: where the gate closed | opened")
    for mode in PLANNERS:
        for kind in KINDS:
            ks = [r for r in sel if r["kind"] == kind and r["mode"] == mode]
            cells = []
            for shut in (True, False):
                part = [r for r in ks if _gate_shut(r) == shut]
                t, u = sum(r["cpu_today"] for r in part), sum(r["cpu_gated"] for r in part)
                cells.append(f"{u / t:5.3f}x ({len(part):3d})" if part else "   -        ")
            if ks:
                print(f"    {mode:24s} {kind:11s} " + " | ".join(cells))
    derived = [r for r in sel if "test" in r]
    wrong = [r for r in derived if (r.get("decision_gated") == "split") != (opens(r) and splits(r))]
    if derived:
        print(
            f"  gated decisions as derived from the ungated run: {len(derived) - len(wrong)}"
            f"/{len(derived)} the same"
        )


def content_summary(rows) -> None:
    ungated = [r for r in rows if "ungated" in r]
    if ungated:
        variants_summary(ungated)
        gate_summary(ungated)
        print("\n  ungated CPU against today (the test on every case)")
        for mode in PLANNERS:
            ms = [r for r in ungated if r["mode"] == mode]
            t, u = sum(r["cpu_today"] for r in ms), sum(r["cpu_ungated"] for r in ms)
            if ms:
                print(f"    {mode:24s} today {t:7.1f} s, ungated {u:7.1f} s ({u / t:.2f}x)")
    gated_summary(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096, help="samples per channel")
    parser.add_argument("--seeds", type=int, default=1, help="noise draws per signal")
    parser.add_argument("--first-seed", type=int, default=0, help="the first noise draw")
    parser.add_argument("--block", choices=("levels", "content", "both"), default="both")
    parser.add_argument(
        "--kinds", help="the equal-level block's kinds, comma separated (default: all)"
    )
    parser.add_argument(
        "--modes", help="the equal-level block's modes, comma separated (default: all)"
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS_RUN),
        help="the equal-level block's variants, comma separated: today,gated,ungated",
    )
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    out = {}
    if args.block in ("levels", "both"):
        out["levels"] = run(args.n, args.seeds)
        summary(out["levels"])
    if args.block in ("content", "both"):
        kinds = args.kinds.split(",") if args.kinds else None
        variants = ("today", *(v for v in args.variants.split(",") if v != "today"))
        modes = args.modes.split(",") if args.modes else None
        out["content"] = run_content(args.n, args.seeds, args.first_seed, kinds, variants, modes)
        content_summary(out["content"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
