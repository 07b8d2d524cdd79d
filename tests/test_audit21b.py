"""audit21b: a numerical analyst checking resdenoise against the paper (tau bounds below
float64's normal range; the garrote's shrinkage form at extreme thresholds; the max-min
principle a multilevel plan does not guarantee, and what its verdict says of it)."""

from __future__ import annotations

import json
from fractions import Fraction

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise.cli import cli
from resdenoise.stability import tau_bounds


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})


def _csv(path, values, name="v"):
    path.write_text(name + "\n" + "".join(f"{float(v)!r}\n" for v in values))
    return path


# A21b-1 -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    h=st.floats(1e-170, 1e-140) | st.floats(1e-40, 1e5),
    g_max=st.floats(1e-20, 1e20) | st.sampled_from([0.5, 1.0, 2.0]),
)
def test_a_tau_bound_never_exceeds_the_exact_one(h, g_max):
    """h*h subnormal (h ~ 1e-161) rounded the bound to a few bits: up to 1.6 times the
    exact one.  Below the normal range each bound is now the exact one rounded down;
    above it rounded to nearest (off by half an ulp, as every float64 bound)."""
    exact = Fraction(h) ** 2 / Fraction(g_max)
    for bound, true in zip(tau_bounds(g_max, h), (exact / 2, exact / 4), strict=True):
        if true < Fraction(2.2250738585072014e-308):
            assert Fraction(bound) <= true < Fraction(bound) + Fraction(5e-324)
        else:
            assert abs(Fraction(bound) - true) <= true * Fraction(2.0**-52)


def test_a_default_tau_of_a_subnormal_bound_is_refused_not_rounded_up(tmp_path):
    """fails before: tau = 5e-324 = 0.40 h^2 (the sign bound is 0.25 h^2) ran, "sign
    stable", and the measured check found more sign changes."""
    src = _csv(tmp_path / "sc.csv", [1, -2, 2, -3, 0, -1])
    out = tmp_path / "o.csv"
    args = ["diffuse", src, "--diffusivity", "linear", "--steps", 1, "-o", out]
    result = _run([*args, "--h", "3.515825416187299e-162"])
    assert result.exit_code == 2, result.output
    assert "h^2/(4 g_max) = 0 " in result.stderr and "nearer 1 as --h" in result.stderr
    assert not out.exists()


def test_a_tau_above_the_exact_linf_bound_is_refused(tmp_path):
    """fails before: --tau 6e-323 at h = 1.05e-161 (coefficient 0.53 > 1/2) was accepted as
    L-infinity stable and the output grew to 2.5e5 from [-1, 1]; now exit 3, and the
    largest stable tau (rounded down) runs inside the input's range."""
    src = _csv(tmp_path / "alt.csv", [(-1) ** i for i in range(40)])
    out = tmp_path / "o.csv"
    base = ["diffuse", src, "--diffusivity", "linear", "--steps", 100, "-o", out]
    base += ["--h", "1.0544055160146673e-161", "--json"]
    result = _run([*base, "--tau", "6e-323"])
    assert result.exit_code == 3, result.output
    assert "exceeds the L-infinity bound" in result.stderr and not out.exists()
    linf = tau_bounds(1.0, 1.0544055160146673e-161)[0]
    result = _run([*base, "--tau", repr(linf)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stability"]["linf_stable"] and report["guarantees_held"], report


# A21b-2 -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    theta=st.floats(1e-300, 1e300),
    ratio=st.floats(1.0, 1e6, exclude_min=True),
    sign=st.sampled_from([-1.0, 1.0]),
)
def test_garrote_shrinkage_form_has_no_spurious_overflow_or_underflow(theta, ratio, sign):
    """fails before: S(s) = s - theta^2/s took theta*theta: -inf above theta ~ 1.3e154, s
    itself below ~1e-154.  Against the exact value (Fractions), to a few ulp of s."""
    import numpy as np

    from resdenoise.nonlinearities import get_nonlinearity

    s = sign * theta * ratio
    nl = get_nonlinearity("garrote", "shrinkage", 2.0**0.5 * theta)
    t = float(nl.theta)
    got = float(nl.shrinkage(np.array([s]))[0])
    if abs(s) <= t:
        assert got == 0.0
        return
    exact = Fraction(s) - Fraction(t) ** 2 / Fraction(s)  # a few roundings of |s| at most
    assert abs(Fraction(got) - exact) <= abs(Fraction(s)) * Fraction(2.0**-50) + Fraction(5e-324)


def _big(tmp_path, scale):
    import numpy as np

    x = np.r_[np.zeros(128), np.ones(128)] + 0.1 * np.random.default_rng(3).standard_normal(256)
    return _csv(tmp_path / "big.csv", x * scale)


def test_the_wavelet_check_of_a_garrote_at_1e200_is_exact_not_inf(tmp_path):
    """fails before: the check's reference (the transform with S) took theta^2 = inf, and
    said "largest difference inf" (JSON null), nan over scales, for a run the PyWavelets
    oracle finds exact; now within 1e-14 of the amplitude, one scale and three."""
    src = _big(tmp_path, 1e200)
    for extra in ([], ["--scales", 3]):
        args = ["shrink", src, "--shrinkage", "garrote", "--check-wavelet", "--json"]
        result = _run([*args, *extra, "-o", tmp_path / "o.csv"])
        assert result.exit_code == 0, result.output
        difference = json.loads(result.stdout)["wavelet_check"]["max_abs_difference"]
        assert difference is not None and difference <= 1e-14 * 1e200, (extra, difference)


def test_garrote_shrinkage_column_of_translate_is_finite_at_lambda_1e200():
    """fails before: translate's sampled S(s) column read -inf for every |s| > theta."""
    result = _run(["translate", "--shrinkage", "garrote", "--lambda", "1e200"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if " 2e+200 " in line]
    assert rows and rows[0][7] == "1.75e+200", result.stdout  # the S(s) cell of s = 2 lam


# A21b-3, A21b-4 -----------------------------------------------------------------


def _spike(tmp_path):
    return _csv(tmp_path / "spike.csv", [1.0 if i == 32 else 0.0 for i in range(64)])


def test_scales_shrinkage_off_the_range_is_not_called_linf_stable(tmp_path):
    """Hard shrinkage over 3 scales of a unit spike undershoots to -0.078 (levels >= 2
    average with negative weights), and gains 4 sign changes.  fails before: JSON
    stability.linf_stable true, -v 'L-infinity stable  yes', verdict 'guarantees held'
    with nothing said of the range nor of the sign changes."""
    args = ["shrink", _spike(tmp_path), "--shrinkage", "hard", "--scales", 3]
    args += ["--threshold", 0.4, "-o", tmp_path / "o.csv"]
    result = _run([*args, "--json", "-v"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (channel,) = report["channels"]
    assert channel["output_min"] == -0.078125 and not channel["max_min_principle"]  # premise
    st = report["stability"]
    assert st["linf_stable"] is False and st["blocks_linf_stable"] is True
    assert st["max_min_guaranteed"] is False
    assert report["guarantees_held"] and report["failed_checks"] == []  # no guarantee failed
    assert report["not_guaranteed"] == [
        "column 1 ('v'): output [-0.078125, 0.875] leaves input range [0, 1] by 0.0781",
        "column 1 ('v'): total variation increased (2 -> 2.3125)",  # per level only, too
        "column 1 ('v'): sign changes increased (0 -> 4)",
    ]
    off = "; ".join(report["not_guaranteed"])
    verdict = result.stderr.splitlines()[0]
    assert verdict.endswith(": guarantees held; not guaranteed over scales: " + off)
    rows = " ".join(result.stderr.split())
    assert "L-infinity stable per level (on box averages) │ yes" in rows, result.stderr
    assert "L-infinity stable │ yes" not in rows


def test_scales_shrinkage_off_the_range_fails_strict(tmp_path):
    """The decision: --strict (scripts that read the exit code alone) exits 4 where the
    output left the input's range, guaranteed or not; the output is written, whole.
    fails before: exit 0."""
    out = tmp_path / "o.csv"
    args = ["shrink", _spike(tmp_path), "--shrinkage", "hard", "--scales", 3]
    result = _run([*args, "--threshold", 0.4, "-o", out, "--strict"])
    assert result.exit_code == 4, result.output
    said = "spike.csv: --strict: the output left the input's range (not guaranteed over scales): "
    said += "column 1 ('v'): output "
    assert said in result.stderr.splitlines()[-1], result.stderr
    assert out.exists()
    inside = _run([*args, "--threshold", 0.2, "-o", out, "--strict", "--json"])
    assert inside.exit_code == 0 and json.loads(inside.stdout)["not_guaranteed"] == []


def _residual_signal(tmp_path):
    """audit21b's signal (fuzz seed 1, trial 16): sin(2 pi t/P) + a step at n/2, white
    noise 0.005, 1024 samples; denoise takes garrote over scales of a linear diffusion's
    residual, whose output rises 1.2e-4 above the input's maximum."""
    import numpy as np

    rng = np.random.default_rng(1)
    for _ in range(17):  # the audit's draws, in its order
        n = int(rng.choice([256, 512, 1024]))
        t = np.arange(n)
        period = float(rng.uniform(10, 60))
        clean = np.sin(2 * np.pi * t / period) + (t > n / 2)
        f = clean + float(rng.choice([0.005, 0.02, 0.05])) * rng.standard_normal(n)
    return _csv(tmp_path / "res.csv", f)


def test_denoise_does_not_say_the_range_held_where_it_did_not(tmp_path):
    """fails before: 'res.csv -> o.csv: guarantees held', stability.linf_stable true and
    exit 0 under --strict, for an output 1.2e-4 above the input's maximum.  The choice
    itself is unchanged (the residual candidate)."""
    out = tmp_path / "o.csv"
    result = _run(["denoise", _residual_signal(tmp_path), "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "residual" in report["parameters"]["automatic_choice"]  # premise
    (channel,) = report["channels"]
    assert channel["output_max"] > channel["input_max"] + 1e-4  # premise
    assert report["stability"]["linf_stable"] is False and report["not_guaranteed"]
    assert (
        "guarantees held; not guaranteed over scales: column 1 ('v'): "
        in (result.stderr.splitlines()[0])
    )
    strict = _run(["denoise", tmp_path / "res.csv", "-o", out, "--strict"])
    assert strict.exit_code == 4 and out.exists(), strict.output


def test_a_strided_network_says_the_sign_changes_it_does_not_guarantee(tmp_path):
    """Blocks of stride 2 keep sign changes per subsequence only: the whole signal's 5 -> 11
    is said in the verdict (and not_guaranteed), not a failed check, and --strict passes
    (the range was kept).  fails before: 'guarantees held' and nothing else on that line."""
    sub = [-2.33, -0.22, -1.25, -0.73, -0.54, -0.32, 0.41, 1.04, -0.13, 1.37, -0.67, 0.35]
    src = _csv(tmp_path / "sub.csv", sub)
    net = tmp_path / "sub.toml"
    net.write_text(
        '[[block]]\nactivation = "perona-malik"\nlambda = 1.0\ntau = 0.25\nrepeat = 20\nscale = 2\n'
    )
    result = _run(["resnet", src, "--network", net, "--strict", "-o", tmp_path / "o.csv"])
    assert result.exit_code == 0, result.output
    said = "guarantees held; not guaranteed over scales: column 1 ('v'): sign changes increased"
    assert said + " (5 -> 11)" in result.stderr.splitlines()[0], result.stderr


# A21b-9 -----------------------------------------------------------------------


def test_the_per_level_tolerance_is_relative_to_the_signal():
    """A level's mean, deviation and range checks are allowed rounding relative to the
    samples: fails before: 1e-12 (1 + max|f|) sqrt(n) was 3.2e-11 for a signal of
    amplitude 1e-9, so a level that moved its mean by 1 % (1e-11) held."""
    import numpy as np

    from resdenoise.multilevel import deviation_tolerance

    x = np.random.default_rng(9).standard_normal((1000, 2))
    x /= np.max(np.abs(x))
    for amplitude in (1e-6, 1e-9, 1e-13, 1e-40):
        assert deviation_tolerance(x * amplitude, 0) < 1e-2 * amplitude / 10
    # exactly scaled with the samples (a power of two), for small and large signals alike
    for k in (-200, -40, 0, 40):
        assert deviation_tolerance(np.ldexp(x, k), 0) == np.ldexp(deviation_tolerance(x, 0), k)
    assert deviation_tolerance(np.zeros((8, 1)), 0) > 0.0  # all zero: a float's floor


def test_a_small_signal_over_scales_holds_as_the_same_signal_at_unit_size(tmp_path):
    """The relative tolerance fails no level of a small signal that holds at unit size:
    garrote over 3 scales on a noisy ramp at amplitude 1 and 2**-40 (exactly scaled)."""
    import numpy as np

    rng = np.random.default_rng(4)
    x = np.linspace(0.0, 1.0, 512) + 0.05 * rng.standard_normal(512)
    reports = []
    for scale in (1.0, 2.0**-40):
        src = _csv(tmp_path / f"s{scale!r}.csv", x * scale)
        args = ["shrink", src, "--shrinkage", "garrote", "--scales", 3, "--json"]
        result = _run([*args, "-o", tmp_path / "o.csv"])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(result.stdout))
    assert [r["failed_checks"] for r in reports] == [[], []]
    keys = ("mean_preserved", "deviation_not_increased", "max_min_principle")
    levels = [
        [(s["level"], s["failed"], *(s["measured"][k] for k in keys)) for s in r["scales"]]
        for r in reports
    ]
    assert levels[0] == levels[1] == [(j, [], True, True, True) for j in (1, 2, 3)]
