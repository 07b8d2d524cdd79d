"""Random walks (prices, positions, drifts) in white and pink noise: does the automatic
choice do no harm, and what level does it read?

Issue 15's target "on white noise the automatic output's SNR is never below the input's",
on a measured-series class: a random walk of unit Gaussian steps of 100, 150, 300, 1000
and 2000 samples, plus white noise of 5, 10 and 30 % of the walk's std and pink noise of
10 % (:func:`bench_classes.pink`).  Two sets of seeds: ``tuning`` (0, 1, ...: the seeds
rules are read on) and ``fresh`` (100000, 100001, ...: held out, to report).  The noise of
each case is drawn from its own generator (seed, length, kind, level), so a subset of
lengths or kinds gives the same cases.

Per case: the SNR change of the automatic choice, run as ``resdenoise denoise`` runs it
(:func:`resdenoise.plans.automatic_planner`, which calls
:func:`resdenoise.automatic.choose_denoiser`), the finest level it reads over the truth
(white: the noise's sd; pink: the std of the noise's own level-1 details,
:func:`resdenoise.noise_colour.level_details`), whether a roughness check (nugget,
lag-one, floor) set the level, and the noise rule per scale.  Printed per length and
noise: the cases, those below the input (by more than 0.1 dB), the worst and mean SNR
change, the level read / truth (median and range), for white noise the median of
:func:`lag_one_z` (whether the noise can be told from the walk's own steps at all), and
every white case below the input.

``--evidence``: instead of the choice, only what the colour rules read (fast: no
candidate search): the box rises of the level without the check and the colour verdict
that :func:`resdenoise.multilevel._white_nugget` and
:func:`resdenoise.automatic.noise_per_level` act on.  Where those are the same on two
versions of the code, the choice is the same (it is a function of the level and the
evidence): run the choice only on the cases they differ on (``--differ A B`` prints the
``seed,n,kind,share`` lines where two ``--evidence --json`` files differ, ``--cases FILE``
runs those).

Not a timed test::

    python benchmarks/bench_walks.py [--set tuning|fresh] [--seeds N] [--lengths 300,2000]
        [--kinds white,pink] [--evidence] [--cases FILE] [--json F]
    python benchmarks/bench_walks.py --differ MAIN.json BRANCH.json > changed.txt

Measured (branch walk20 against main c690405, side by side; load average 13-16).  The
white-plus-walk test of the box estimates (:func:`resdenoise.noise_colour.walk_like`)
changed the colour verdict on 15 of 4000 tuning cases (seeds 0-199) and 12 of 4000 fresh
ones (100000-100199), all of 1000-2000 samples; the choice on them, SNR change main ->
branch:

* tuning, white (8, tuned on): -2.3 to -6.2 dB (all below the input) -> +1.2 to +3.4 dB;
  pink (7): -0.9 to +0.8 -> +0.2 to +0.6 dB;
* fresh, white (8): -1.3 to -6.7 dB (all below) -> 0.0 to +3.7 dB (100137 keeps the
  input); pink (4): -1.5 to +0.5 -> 0.0 to +0.5 dB.

Every fresh case of seeds 100000-100010 (220, the same on main: none changed there), per
length, white at 5 / 10 / 30 %, cases below the input of 11 each (worst dB; level read /
truth, median):

* 100: 8 / 10 / 3 (-11.9 / -10.5 / -2.4; 3.66 / 2.10 / 1.22x); pink 7 of 11;
* 150: 10 / 6 / 0 (-15.1 / -6.3; 2.11 / 1.41 / 1.13x); pink 7;
* 300: 0 / 0 / 0 (1.59 / 1.17 / 1.04x); pink 1;
* 1000: 2 / 0 / 0 (-5.5; 1.16 / 1.06 / 1.01x); pink 0;
* 2000: 0 / 0 / 0 (1.03 / 1.06 / 1.02x); pink 1 (-0.35).

Left: 37 of the 39 white cases below the input are walks of 100-150 samples, whose level
is read 1.3-7.3x the truth: the quiet-windows estimate of a walk of unit steps alone is
0.548 (:func:`resdenoise.noise_colour.walk_reading`), and at 5-10 % of the walk's std the
noise (sd 0.1-0.5) is under one or two standard errors of the lag-one autocovariance of
the differences (:func:`lag_one_z` median 0.2, 0.8 at 100 samples, 0.6, 1.8 at 150):
not identifiable from the series, so the input should be kept; the level's low end did
not reach there (a rule of the level's interval, :mod:`resdenoise.noise`).

Branch short21 (:func:`resdenoise.noise._short_rough`: under 192 samples a walk-like series
whose lag-one reading is within 2 standard errors of 0 is not identified, the input kept),
against main 74cce38, fresh seeds 100000-100019, white, 100 and 150 samples (120 cases):
below the input 64 -> 20 (100: 13 / 16 / 4 -> 5 / 4 / 3 at 5 / 10 / 30 %; 150: 18 / 13 / 0
-> 4 / 4 / 0), mean -1.97 -> +0.02 dB, 44 cases raised (+243.9 dB in all), three gains lost
(+2.77 and +2.35 dB at 30 %, +0.29 at 10 %).  Left: walks whose lag-one reading is below
-1 standard error by chance (read convex), whose autocovariances beyond lag one reach 1.5
standard errors, or whose lag-one reading is itself high by chance (the level not above it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_classes import pink  # noqa: E402

from resdenoise.automatic import NOTHING, _noise_per_level  # noqa: E402
from resdenoise.multilevel import _white_nugget  # noqa: E402
from resdenoise.noise import resolve_sigma, search_noise  # noqa: E402
from resdenoise.noise_colour import box_rises, level_details, max_scales  # noqa: E402
from resdenoise.plans import automatic_planner  # noqa: E402

LENGTHS = (100, 150, 300, 1000, 2000)
#: (kind, share of the walk's std)
NOISES = (("white", 0.05), ("white", 0.10), ("white", 0.30), ("pink", 0.10))
#: the first seed of each set
FIRST_SEED = {"tuning": 0, "fresh": 100000}
KIND_CODE = {"white": 1, "pink": 2}


def case(seed: int, n: int, kind: str, share: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``(clean, noisy, true level)``: the walk of ``seed`` and ``n`` samples (the same
    walk for every noise) and its noise of ``kind`` at ``share`` of the walk's std."""
    clean = np.cumsum(np.random.default_rng([seed, n]).normal(0.0, 1.0, n))
    rng = np.random.default_rng([seed, n, KIND_CODE[kind], round(1000 * share)])
    sd = share * float(np.std(clean))
    noise = sd * (rng.normal(0.0, 1.0, n) if kind == "white" else pink(n, rng))
    truth = sd if kind == "white" else float(np.std(level_details(noise, 1)))
    return clean, clean + noise, truth


def lag_one_z(n: int, kind: str, truth: float) -> float:
    """How many standard errors the white noise's variance ``truth^2`` stands above zero in
    the lag-one autocovariance of the first differences (``-truth^2`` for unit steps plus
    white noise; Bartlett's variance ``(g0^2 + 3 g1^2) / n``, ``g0 = 1 + 2 truth^2``,
    ``g1 = -truth^2``): the best a level read from the series alone can tell the noise
    from the walk's own steps (below about 2: not identifiable).  NaN for pink noise."""
    if kind != "white":
        return math.nan
    g0, g1 = 1.0 + 2.0 * truth**2, -(truth**2)
    return truth**2 / math.sqrt((g0**2 + 3.0 * g1**2) / n)


def snr(u, clean) -> float:
    return 10.0 * math.log10(float(np.sum(clean**2) / np.sum((np.asarray(u) - clean) ** 2)))


def evidence_row(f: np.ndarray, truth: float) -> dict:
    """What the colour rules read: the level, whether a roughness check set it, the box
    rises of the level the choice starts from, and the verdict the choice acts on."""
    searched = resolve_sigma(f, None, search=True)
    level, evidence = _white_nugget(f, searched)
    per_level, rule, evidence = _noise_per_level(f, level, evidence)
    f2 = f.reshape(-1, 1)
    plain = search_noise(f, nugget=False).sigma if searched.white_by_nugget() else level.sigma
    k = min(max_scales(f.size), 5)
    rises = box_rises(f2, np.ravel(plain), k)[:, 0] if k >= 4 else np.zeros(0)
    return {
        "checked": searched.white_by_nugget(),
        "level": float(np.ravel(level.sigma)[0]) / truth,
        "rises": [round(float(r), 3) for r in rises],
        "confident": bool(evidence is not None and evidence[0]),
        "rule": rule,
        "per_level": None if per_level is None else [float(np.ravel(p)[0]) for p in per_level],
    }


def choice_row(f: np.ndarray, clean: np.ndarray, truth: float, kind: str) -> dict:
    plan, extra = automatic_planner()(f)
    u = plan.run(f) if plan.steps else f
    return {
        "snr_in": snr(f, clean),
        "snr_out": snr(u, clean),
        "level": float(np.ravel(extra["noise_sigma"])[0]) / truth,
        "choice": extra["automatic_choice"],
        "rule": extra.get("noise_rule_per_scale", ""),
        "kept": extra["automatic_choice"] == NOTHING,
        "z": lag_one_z(f.size, kind, truth),
    }


def summary(rows) -> None:
    groups = dict.fromkeys((r["n"], r["kind"], r["share"]) for r in rows)
    for n, kind, share in groups:
        sel = [r for r in rows if (r["n"], r["kind"], r["share"]) == (n, kind, share)]
        d = np.array([r["snr_out"] - r["snr_in"] for r in sel])
        lv = np.array([r["level"] for r in sel])
        below = [r for r in sel if r["snr_out"] < r["snr_in"] - 0.1]
        print(
            f"{n:5d} {kind:5s} {share:4.0%}: {len(sel):3d} cases, below the input "
            f"{len(below):2d}, worst {d.min():+6.2f} dB, mean {d.mean():+6.2f} dB; level "
            f"read / truth median {np.median(lv):.2f} ({lv.min():.2f}-{lv.max():.2f})"
            + ("" if kind != "white" else f"; lag-one z {np.median([r['z'] for r in sel]):.1f}")
        )
    below = [r for r in rows if r["kind"] == "white" and r["snr_out"] < r["snr_in"] - 0.1]
    white = sum(r["kind"] == "white" for r in rows)
    print(f"white noise: {len(below)} of {white} cases below the input")
    for r in sorted(below, key=lambda r: r["snr_out"] - r["snr_in"]):
        print(
            f"    seed {r['seed']} n {r['n']} {r['kind']} {r['share']:.0%}: "
            f"{r['snr_out'] - r['snr_in']:+.2f} dB, level {r['level']:.2f}x, {r['choice']}"
            f" [{r['rule']}]"
        )


def wanted(args):
    """The ``(seed, n, kind, share)`` of the cases to run."""
    if args.cases:
        for line in Path(args.cases).read_text().split():
            seed, n, kind, share = line.split(",")
            yield int(seed), int(n), kind, float(share)
        return
    lengths = [int(x) for x in args.lengths.split(",")] if args.lengths else LENGTHS
    kinds = args.kinds.split(",") if args.kinds else ("white", "pink")
    first = FIRST_SEED[args.set]
    for seed in range(first, first + args.seeds):
        for n in lengths:
            for kind, share in NOISES:
                if kind in kinds:
                    yield seed, n, kind, share


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", choices=sorted(FIRST_SEED), default="tuning")
    p.add_argument("--seeds", type=int, default=10, help="seeds per case")
    p.add_argument("--lengths", help="comma-separated lengths (default: all)")
    p.add_argument("--kinds", help="white, pink or both (default)")
    p.add_argument("--evidence", action="store_true", help="what the colour rules read only")
    p.add_argument("--cases", help="run these seed,n,kind,share lines only")
    p.add_argument("--json", type=Path, help="save the rows here")
    p.add_argument("--differ", nargs=2, type=Path, help="two --evidence --json files")
    args = p.parse_args(argv)
    if args.differ:
        old, new = (json.loads(x.read_text()) for x in args.differ)
        for a, b in zip(old, new, strict=True):
            if a != b:
                print(f"{a['seed']},{a['n']},{a['kind']},{a['share']}")
        return 0
    rows = []
    for seed, n, kind, share in wanted(args):
        clean, f, truth = case(seed, n, kind, share)
        row = {"seed": seed, "n": n, "kind": kind, "share": share}
        if args.evidence:
            row.update(evidence_row(f, truth))
            print(
                f"{seed:6d} {n:5d} {kind:5s} {share:4.0%} checked {row['checked']:d} level "
                f"{row['level']:.2f}x rises {row['rises']} confident {row['confident']:d} "
                f"[{row['rule']}]",
                flush=True,
            )
        else:
            row.update(choice_row(f, clean, truth, kind))
            print(
                f"{seed:6d} {n:5d} {kind:5s} {share:4.0%} {row['snr_in']:6.2f} -> "
                f"{row['snr_out']:6.2f} dB level {row['level']:.2f}x {row['choice']}",
                flush=True,
            )
        rows.append(row)
    if not args.evidence:
        summary(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
