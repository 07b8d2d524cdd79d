"""benchmarks/bench_heldout_classes.py: its signals are seeded and of the stated length, its
rows carry the true and stated noise level and the clean input's change, and ``--compare``'s
ratios and moved cases are right.  The peers are stand-ins: nothing here is timed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_classes  # noqa: E402
import bench_heldout_classes as bench  # noqa: E402
import heldout_signals  # noqa: E402


@pytest.mark.parametrize("cls", list(heldout_signals.CLASSES))
def test_every_class_is_seeded_and_of_its_length(cls):
    ((name, a),) = heldout_signals.signals([cls])[cls]
    ((_, b),) = heldout_signals.signals([cls])[cls]
    assert a.size == heldout_signals.CLASSES[cls][1]
    assert np.array_equal(a, b)  # the same signal every time (seeded, nothing read)
    assert np.all(np.isfinite(a)) and np.std(a) > 0
    assert name == heldout_signals.CLASSES[cls][0]


def test_the_classes_differ_and_an_unknown_one_is_refused():
    everything = heldout_signals.signals()
    assert list(everything) == list(heldout_signals.CLASSES)
    assert len({everything[c][0][1].tobytes() for c in everything}) == len(everything)
    with pytest.raises(ValueError, match="unknown class 'nope'"):
        heldout_signals.signals(["gait", "nope"])


def test_a_run_has_every_noise_kind_the_levels_and_the_clean_input(monkeypatch, capsys):
    monkeypatch.setattr(bench_classes, "peers", lambda f: {p: f * 0.5 for p in bench_classes.PEERS})
    rows = bench.run(1, ["short50"])
    clean = heldout_signals.sine_step(50)
    assert [(r["kind"], r["level"]) for r in rows] == [
        ("white", 0.05),
        ("white", 0.1),
        ("white", 0.3),
        ("pink", 0.1),
        ("impulsive", 0.1),
        ("clean", 0.0),
    ]
    for r in rows[:5]:
        assert r["sigma_true"] == pytest.approx(r["level"] * np.std(clean))
        assert r["sigma_stated"] > 0 and r["n"] == 50
    assert rows[-1]["identical"] == (rows[-1]["rms_change_pct"] == 0.0)
    assert rows[-1]["identical"] == (rows[-1]["blocks"] == 0)
    json.dumps(rows)  # --json can write them
    bench.summary(rows)
    out = capsys.readouterr().out
    assert "summary: white ratio" in out and "short50" in out
    assert f"clean: {int(rows[-1]['identical'])} of 1 outputs the input bit for bit" in out


def _row(cls, kind, level, seed, ours, snr_out, choice="c"):
    """A row whose best peer (swt-sure sym8) has MSE 1, the others 4."""
    mse = {p: 4.0 for p in bench_classes.PEERS}
    mse["swt-sure sym8"] = 1.0
    mse["resdenoise"] = ours
    return {
        "class": cls,
        "kind": kind,
        "level": level,
        "seed": seed,
        "mse": mse,
        "snr_in": 20.0,
        "snr_out": snr_out,
        "choice": choice,
    }


def test_compare_gives_the_ratios_before_and_after_and_every_moved_case():
    # (class, level, old (MSE, SNR out, choice), new (the same)): the best peer's MSE is 1
    cases = [
        ("gait", 0.1, (2.0, 19.0, "a"), (1.0, 21.0, "b")),
        ("gait", 0.3, (8.0, 21.0, "c"), (2.0, 21.05, "c")),
        ("ecg", 0.1, (1.0, 22.0, "c"), (1.0, 22.0, "c")),
    ]
    old, new = (
        [_row(c, "white", level, 0, *case[side]) for c, level, *case in cases]
        + [{"class": "ecg", "kind": "clean", "level": 0.0, "seed": 0, **clean}]
        for side, clean in (
            (0, {"choice": "x", "rms_change_pct": 0.0}),
            (1, {"choice": "y", "rms_change_pct": 0.5}),
        )
    )
    lines = bench.compare(old, new)
    gait = next(ln for ln in lines if ln.startswith("gait") and "white" in ln).split()
    assert [float(x) for x in gait[2:5]] == [4.0, pytest.approx(1.414, abs=1e-3), 0.354]
    ecg = next(ln for ln in lines if ln.startswith("ecg") and "white" in ln).split()
    assert [float(x) for x in ecg[2:5]] == [1.0, 1.0, 1.0]
    moved = [ln for ln in lines if "seed" in ln or "clean:" in ln]
    assert len(moved) == 2  # 0.05 dB is not a move, 2 dB and the clean change are
    assert "19.00 ->  21.00 (+2.00 dB); a -> b" in moved[0]
    assert "rms change 0 -> 0.5 % of std (x -> y)" in moved[1]
    assert lines[-1] == "white cases below the input: 1 -> 0"


def test_compare_says_when_the_files_hold_different_cases(tmp_path, capsys):
    old = [_row("gait", "white", 0.1, seed, 1.0, 21.0) for seed in (0, 1)]
    new = old[:1]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(old))
    b.write_text(json.dumps(new))
    assert bench.main(["--compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 cases in only one of the files (compared: the 1 in both)")
    assert "  none" in out


def test_the_swt_peer_keeps_a_level_whose_threshold_is_zero():
    pytest.importorskip("pywt")
    clean = heldout_signals.sawtooth()  # exact zeros among the haar details, SURE threshold 0
    f = next(bench_classes.noisy_cases(clean, 100))[2]
    out = bench_classes.swt_sure(f, "haar")
    assert np.all(np.isfinite(out))  # was NaN at 32 samples: pywt's soft rule at 0 makes 0/0
    assert np.mean((out - clean) ** 2) < np.mean((f - clean) ** 2)
