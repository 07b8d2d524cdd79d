"""What a run's report says it guarantees, and what it measures (audit11a: D1, D3,
D5, D6, D7): no guarantee the paper does not give, no false failure of one it gives."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from resdenoise import dictionary, stability, subsequences
from resdenoise.nonlinearities import get_nonlinearity

EXE = str(Path(sys.executable).parent / "resdenoise")
STEPS_CSV = str(Path(__file__).resolve().parent.parent / "sample_signals" / "steps.csv")


def _run(args, cwd):
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


# ---- D5: a tau written as the paper's bound is at the bound ------------------------


def test_tau_at_the_decimal_bound_for_h_07_is_stable():
    """h = 0.7: h*h/2 is 0.24499999999999997 in binary, an ulp under 0.245.
    Before: tau = 0.245 refused (L-infinity), tau = 0.1225 not sign stable."""
    nl = get_nonlinearity("perona-malik", lam=0.5)
    v = stability.check_tau(nl, 0.245, h=0.7)
    assert v.tau_linf_bound < 0.245 and v.linf_stable and not v.sign_stable
    v = stability.check_tau(nl, 0.1225, h=0.7)
    assert v.tau_sign_bound < 0.1225 and v.sign_stable
    assert not stability.check_tau(nl, 0.2451, h=0.7).linf_stable  # beyond: still refused
    t = dictionary.translate(get_nonlinearity("tanh", lam=1.0), tau=0.245, h=0.7)
    assert (
        t["linf_stable"] and t["conditions"][3]["detail"] == "tau = 0.245, L-infinity bound 0.245"
    )
    assert stability.at_most(0.7 * 0.7 / 2.0) == "0.245"


def test_cli_accepts_tau_at_the_decimal_bound(tmp_path):
    args = ["diffuse", STEPS_CSV, "--diffusivity", "perona-malik", "--lambda", "0.5"]
    args += ["--steps", "3", "--h", "0.7", "-o", "o.csv"]
    result = _run([*args, "--tau", "0.245"], tmp_path)
    assert result.returncode == 0, result.stderr  # before: exit 3, refused as unstable
    result = _run([*args, "--tau", "0.1225"], tmp_path)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    check = ["translate", "--activation", "tanh", "--h", "0.7", "--check", "--tau"]
    result = _run([*check, "0.245"], tmp_path)  # L-infinity stable at h = 0.7, not sign stable
    assert result.returncode == 3 and "L-infinity stable, not sign stable" in result.stdout
    result = _run([*check, "0.1225"], tmp_path)  # the sign-stability bound h^2/4
    assert result.returncode == 0, result.stdout


# ---- D3: a strided group's sign guarantee is per subsequence, and measured so ------

SUB = [-2.33, -0.22, -1.25, -0.73, -0.54, -0.32, 0.41, 1.04, -0.13, 1.37, -0.67, 0.35]
NETWORK = (
    '[[block]]\nactivation = "perona-malik"\nlambda = 1.0\ntau = 0.25\nrepeat = 20\nscale = 2\n'
)


def test_strided_network_says_sign_stable_per_subsequence_and_measures_it(tmp_path):
    """Before: 'sign stable' (the whole signal's guarantee) with sign changes 5 -> 11,
    and no per-subsequence measurement in the JSON."""
    (tmp_path / "sub.csv").write_text("v\n" + "\n".join(map(str, SUB)) + "\n")
    (tmp_path / "sub.toml").write_text(NETWORK)
    args = ["resnet", "sub.csv", "--network", "sub.toml", "--strict", "-o", "out.csv"]
    result = _run([*args, "-v"], tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    assert "sign stable per subsequence," in text and "sign stable," not in text
    assert "5 -> 11" in text  # the whole signal gains sign changes: no guarantee says otherwise
    report = json.loads(_run([*args, "--json"], tmp_path).stdout)
    assert report["stability"]["sign_stable_for"] == "per subsequence"
    (group,) = report["scales"]
    assert group["stride"] == 2 and group["block"] == 1 and group["failed"] == []
    assert group["per_subsequence"] == dict.fromkeys(
        ("max_min_principle", "tv_diminished", "sign_changes_kept"), True
    )


def test_shrink_scales_says_per_level_and_measures_the_box_averages(tmp_path):
    x = [0.13, -1.37, -0.3, 0.64, -0.19, 1.16, 1.28, -0.65, -0.5, -0.1, -1.2, 0.38, -0.18]
    x += [0.79, -0.6, -0.88, 1.84, -0.88, -0.59, -0.73, -0.3, -0.92, -0.04, -0.7, -0.42, 0.36]
    x += [0.7, 0.47, -0.74, 0.4, -0.12, -0.11]
    (tmp_path / "ml.csv").write_text("v\n" + "\n".join(map(str, x)) + "\n")
    args = ["shrink", "ml.csv", "--shrinkage", "soft", "--scales", "3", "--threshold", "0.3"]
    args += ["--iterations", "1", "--strict", "-o", "out.csv"]
    result = _run(args, tmp_path)
    assert "sign stable per level (on box averages)," in result.stderr, result.stderr
    report = json.loads(_run([*args, "--json"], tmp_path).stdout)
    assert report["channels"][0]["sign_changes_out"] > report["channels"][0]["sign_changes_in"]
    assert report["stability"]["sign_stable_for"] == "per level (on box averages)"
    for level in report["scales"]:
        assert all(level["measured"]["box_averages_per_subsequence"].values())


def test_subsequence_checks_measure_each_subsequence_on_its_own():
    """Interleaving two sign-stable subsequences gains whole-signal sign changes (held);
    a subsequence that gains one is a failure, named."""
    before = np.array([2.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0])  # even: +, odd: one change each
    after = np.array([1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0])
    held = subsequences.subsequence_checks(before, after, 2, 1, sign_stable=True)
    assert all(held.values())
    worse = np.array([1.0, 0.5, -1.0, 0.5, 1.0, 0.5, 1.0])  # the even subsequence: 0 -> 2
    held = subsequences.subsequence_checks(before, worse, 2, 1, sign_stable=True)
    assert held == dict.fromkeys(("max_min_principle", "tv_diminished", "sign_changes_kept"), False)
    assert subsequences.subsequence_failures("block 1", 2, held) == [
        "block 1: a subsequence of stride 2 left its range",
        "block 1: a subsequence of stride 2 gained total variation",
        "block 1: a subsequence of stride 2 gained sign changes",
    ]
    # not sign stable: sign changes are no guarantee; a stride past the length: each
    # sample alone (such a block leaves it as it is: one that moved left its range)
    assert subsequences.subsequence_checks(before, worse, 2, 1, False)["sign_changes_kept"]
    alone = subsequences.subsequence_checks(before, worse, 50, 1, True)
    assert alone == {"max_min_principle": False, "tv_diminished": True, "sign_changes_kept": True}


# ---- D6: --scales with --dtype float32 is a float32 run, measured as one -----------


def test_scales_in_float32_are_measured_and_reported_as_float32(tmp_path):
    """Before: 'mean drifted by 3.08e-10' (the input's float32 rounding measured in
    float64 ulp), exit 4 under --strict, engine.dtype float64."""
    for args in (
        ["shrink", STEPS_CSV, "--shrinkage", "soft", "--iterations", "4", "--scales", "2"],
        ["diffuse", STEPS_CSV, "--scales", "2", "--time", "auto"],
    ):
        result = _run([*args, "--dtype", "float32", "--strict", "--json", "-o", "o.csv"], tmp_path)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["engine"]["dtype"] == "float32" and report["failed_checks"] == []
        ch = report["channels"][0]
        amp = np.float32(max(abs(ch["input_min"]), abs(ch["input_max"])))
        assert report["tolerance"]["ulp"] == float(np.spacing(amp))  # float32's, not float64's
        out = np.loadtxt(tmp_path / "o.csv")
        np.testing.assert_array_equal(out, out.astype(np.float32))  # float32 values written


def test_a_run_of_no_blocks_in_float32_writes_the_input_unchanged(tmp_path):
    """Before: 'nothing done ... the output is the input' and the float32-rounded input
    written (4.5e-7 off), 'mean drifted by -4.31e-09', exit 4 under --strict."""
    x = np.cumsum(np.random.default_rng(5).standard_normal(300)) * 0.37
    np.savetxt(tmp_path / "ml.csv", x, fmt="%.17g")
    args = ["shrink", "ml.csv", "--shrinkage", "garrote", "--iterations", "10", "--scales", "2"]
    args += ["--dtype", "float32", "--sigma", "0.05", "--strict", "-o", "out.csv"]
    result = _run(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "the output is the input" in result.stderr and "0 blocks" in result.stderr
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "out.csv"), x)


# ---- D7: a formula is sampled down to the signal's smallest difference --------------

STEEP_NEAR_0 = "where(abs(r) < 1e-7*lam, 5*r, r)"


def test_a_formula_steeper_below_the_grid_is_found_unstable_before_the_run(tmp_path):
    """g = 5 only for |r| < 1e-7 lam, under the grid's 1e-6 lam, where every difference
    of the signal lies.  Before: 'sign stable' (tau = 1/4 from g_max = 1), run, exit 0.
    Then refused as 'g unbounded' (g still growing at the grid's inner end); since the
    grid goes deeper where g still grows there (audit13a F13), g_max = 5 is found and
    the default tau is 1/20: the run is stable."""
    from resdenoise.expr import expression_nonlinearity, parse_expression
    from resdenoise.filters import bind_nonlinearity

    x = np.array([1e-8, -1e-8] * 4)
    nl = expression_nonlinearity(parse_expression(STEEP_NEAR_0, "activation"), "activation", 1.0)
    # the grid starts at 1e-6 lam, but its g(0) is the formula's Phi'(0) = 5 (audit21b
    # A21b-6: was a difference quotient at 1e-2 lam, 1; g_max was 1.0 here)
    assert abs(stability.analyse_function(nl).g_max - 5.0) < 1e-9
    bound, _ = bind_nonlinearity(parse_expression(STEEP_NEAR_0, "activation"), "activation", 1.0, x)
    assert bound.floor == 2e-8 and bound.reach == 2e-8
    assert abs(stability.analyse_function(bound).g_max - 5.0) < 1e-9
    assert not stability.check_tau(bound, 0.25).linf_stable
    (tmp_path / "tiny.csv").write_text("v\n" + "\n".join(map(repr, x.tolist())) + "\n")
    args = ["resnet", "tiny.csv", "--activation-expr", STEEP_NEAR_0, "--lambda", "1"]
    result = _run([*args, "--blocks", "3", "-o", "out.csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 blocks of tau = 0.05 " in result.stderr  # h^2 / (4 g_max), g_max = 5
    refused = _run([*args, "--blocks", "3", "--tau", "0.25", "-o", "o2.csv"], tmp_path)
    assert refused.returncode == 3, refused.stderr  # refused before the run, nothing written
    assert not (tmp_path / "o2.csv").exists()


def test_smallest_step_is_the_smallest_nonzero_difference_over_all_channels(monkeypatch):
    from resdenoise import filters

    monkeypatch.setattr(filters, "STEP_ROWS", 3)  # pieces that overlap by one row
    x = np.array([[0.0, 5.0], [1.0, 5.0], [1.0, 4.5], [1.25, 4.5], [3.0, 4.5], [3.0, 4.4375]])
    assert filters.smallest_step(x) == 0.0625  # the last difference, in the second piece
    assert filters.smallest_step(np.ones(5)) == float("inf")  # no nonzero difference


def test_a_streamed_run_samples_a_formula_down_to_the_same_floor(tmp_path):
    """The streamed summary finds the signal's smallest difference by one more pass
    (counted in streaming.passes): the same verdict and report as the whole run."""
    x = np.array([1e-8, -1e-8] * 3000)
    x[2500] = 3e-8
    np.savetxt(tmp_path / "t.csv", x, fmt="%.17g")
    args = ["resnet", "t.csv", "--lambda", "1", "--blocks", "3", "-o", "o.csv"]
    for chunk in ("1000", "0"):  # g_max = 5 found below the grid, streamed or not
        result = _run([*args, "--activation-expr", STEEP_NEAR_0, "--chunk-size", chunk], tmp_path)
        assert result.returncode == 0, result.stderr
        assert "3 blocks of tau = 0.05 " in result.stderr
    reports = []
    for chunk in ("1000", "0"):
        cmd = [*args, "--activation-expr", "lam*tanh(r/lam)", "--chunk-size", chunk, "--json"]
        result = _run(cmd, tmp_path)
        assert result.returncode == 0, result.stderr
        reports.append(json.loads(result.stdout))
    assert reports[0]["stability"] == reports[1]["stability"]
    assert reports[0]["streaming"]["passes"] == 3  # check, smallest step, filter


# ---- D1: the mean tolerance covers the rounding of m correct blocks -----------------

DRIFT_CSV = """a,b,c
-1.22485859,63.1220542,-6.29533178
-45.9660648,-31.685319,-168.974705
-2.42421778e-09,5.70096235,2.57300906
12.5383345,-164.490139,-25.1688714
0.000690920083,346.431609,0.0766383783
"""


def test_a_long_correct_run_is_no_mean_drift_failure(tmp_path):
    """191016 Huber blocks (float64) and 10^4 soft blocks (float32): the drift is the
    rounding a plain NumPy loop makes too (1.29e-9, 7.7e-3).  Before: 'mean drifted',
    exit 4 under --strict (tolerance 1e-12 max|f| = 3.5e-10; 8 ulp sqrt(m) = 6.1e-3)."""
    (tmp_path / "drift.csv").write_text(DRIFT_CSV)
    args = ["regularise", "drift.csv", "--regulariser", "huber", "--lambda"]
    args += ["0.013926211755289183", "--alpha", "0.047753908229369924", "--h", "0.001"]
    result = _run([*args, "--strict", "--json", "-o", "o.csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["steps"] == 191016
    assert max(abs(c["mean_drift"]) for c in report["channels"]) > 1e-9  # the drift is there
    assert 1e-9 < report["tolerance"]["mean"] <= 191016 * report["tolerance"]["ulp"]
    x = [100.125732421875, 99.99362182617188, 100.63404846191406, 100.73894500732422]
    x += [100.20327758789062, 100.56487274169922, 101.8688735961914, 102.81595611572266]
    (tmp_path / "d32.csv").write_text("v\n" + "\n".join(map(repr, x)) + "\n")
    args = ["diffuse", "d32.csv", "--diffusivity", "soft", "--lambda", "1e-4", "--steps", "10000"]
    result = _run([*args, "--dtype", "float32", "--strict", "--json", "-o", "o.csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["channels"][0]["mean_drift"] > 7e-3


def test_increments_absorbed_by_a_large_sample_stay_a_mean_drift_failure(tmp_path):
    """float32, a sample 3e6 times the others: every block's 0.45 into it is less than
    half its ulp (1) and lost, while its neighbour takes it: the mean drifts by 1.66e5
    (0.7 % of max|f|), which stays a failure (exit 4 under --strict)."""
    (tmp_path / "big.csv").write_text("v\n-7.22\n-7.22\n-7.22\n-7.22\n24067194\n")
    args = ["regularise", "big.csv", "--regulariser", "softsign", "--lambda", "1806.6"]
    args += ["--alpha", "0.459", "--h", "0.001", "--dtype", "float32", "--strict"]
    result = _run([*args, "--json", "-o", "o.csv"], tmp_path)
    assert result.returncode == 4, result.stderr
    report = json.loads(result.stdout)
    assert report["failed_checks"] == ["column 1 ('v'): mean drifted by 1.66e+05"]
    # m ulp would be 3.7e6; capped at sqrt(eps32) max|f| = 8.3e3 (float32: at least the
    # range tolerance, 8 ulp sqrt(m) = 2.2e4)
    assert report["tolerance"]["mean"] == report["tolerance"]["range"] < 2.2e4


def test_the_mean_rounding_grows_with_the_blocks_up_to_the_cap():
    f = np.array([-3.0, 1.0])
    ulp = float(np.spacing(3.0))
    assert stability.tolerances(f, 1)["mean"] == 3e-12  # one block: as before
    assert stability.tolerances(f, 10**5)["mean"] == 10**5 * ulp
    cap = math.sqrt(float(np.finfo(float).eps)) * 3.0
    assert stability.tolerances(f, 10**9)["mean"] == cap
