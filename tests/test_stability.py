"""Stability analysis before a run and the measurements after it (the paper, section 3)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from resdenoise import stability
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import NONLINEARITIES, from_function, get_nonlinearity
from resdenoise.stability import (
    ChannelCheck,
    analyse_function,
    check_tau,
    guarantees_failed,
    measure_channels,
    sign_changes,
    tau_bounds,
    tolerances,
    total_variation,
)

# --------------------------------------------------------------------------
# analyse_function
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(NONLINEARITIES))
def test_registry_entries_are_analysed_exactly(key):
    entry = NONLINEARITIES[key]
    p = analyse_function(get_nonlinearity(key, lam=3.0))
    assert p.exact
    assert (p.g_min, p.g_max, p.lipschitz, p.odd, p.monotone) == (
        entry.g_min,
        entry.g_max,
        entry.lipschitz,
        entry.odd,
        entry.convex,
    )


@pytest.mark.parametrize("key", sorted(NONLINEARITIES))
def test_sampling_agrees_with_the_registry(key):
    """The same function, given as a custom one, is analysed numerically."""
    entry = NONLINEARITIES[key]
    nl = get_nonlinearity(key, lam=0.7)
    p = analyse_function(from_function(nl.phi, lam=0.7))
    assert not p.exact
    assert p.g_max == pytest.approx(entry.g_max, rel=1e-6)
    assert entry.g_min <= p.g_min <= entry.g_min + 2e-6  # grid ends at 1e6 lam
    assert p.odd == entry.odd
    assert p.monotone == entry.convex
    if math.isinf(entry.lipschitz):
        assert math.isinf(p.lipschitz)
    else:
        assert p.lipschitz == pytest.approx(entry.lipschitz, rel=1e-6)


@pytest.mark.parametrize("lam", [1e-3, 0.7, 1e5])
@pytest.mark.parametrize(
    "key", sorted(k for k, e in NONLINEARITIES.items() if e.shrinkage is not None)
)
def test_a_shrinkage_given_as_a_function_has_the_registry_class(key, lam):
    """Phi translated from S cancels (rounding ~ eps |r| up to 1e6 lam): the
    monotonicity test forgives that rounding, and no more (the registry's
    class is the reference: hard, Perona-Malik, garrote stay non-monotone)."""
    entry = NONLINEARITIES[key]
    nl = get_nonlinearity(key, lam=lam)
    p = analyse_function(from_function(nl.shrinkage, "shrinkage", lam=lam))
    assert p.monotone == entry.convex


@pytest.mark.parametrize(
    ("text", "convex"),
    [
        ("sign(s)*maximum(abs(s)-theta,0)", True),  # soft
        ("s*(1-1/sqrt(1+2*s^2/lam^2))", True),  # Charbonnier, the paper's Table 3
        ("s - theta*tanh(s/theta)", True),
        ("where(abs(s) > theta, s, 0)", False),  # hard
        ("-s*expm1(-s^2/(2*theta^2))", False),  # Perona-Malik
    ],
)
def test_shrinkage_formulas_are_classed_like_their_registry_entries(text, convex):
    from resdenoise.expr import expression_nonlinearity

    p = analyse_function(expression_nonlinearity(text, "shrinkage", lam=1.3))
    assert p.monotone is convex


def test_tanh_as_a_custom_function():
    p = analyse_function(from_function(np.tanh, name="my-tanh"))
    assert p.g_max == pytest.approx(1.0, rel=1e-12)
    assert 0.0 <= p.g_min <= 1e-5  # inf g = 0, approached at the grid's end 1e6
    assert p.lipschitz == pytest.approx(1.0, rel=1e-9)
    assert p.odd and p.monotone and not p.exact


def test_scaled_custom_functions_scale_their_numbers():
    p = analyse_function(from_function(lambda r: 3.0 * np.tanh(r / 2.0), lam=2.0))
    assert p.g_max == pytest.approx(1.5, rel=1e-12)
    assert p.lipschitz == pytest.approx(1.5, rel=1e-9)


@pytest.mark.parametrize(
    "phi",
    [
        lambda r: np.where(np.abs(r) <= 1.0, r, 0.0),  # hard shrinkage, by hand
        lambda r: np.where(np.abs(r) <= 2.0, r, 0.5 * r),  # a jump down at |r| = 2
        lambda r: np.floor(r),  # jumps everywhere
    ],
)
def test_a_jump_has_infinite_lipschitz_constant(phi):
    assert math.isinf(analyse_function(from_function(phi)).lipschitz)


def test_hard_shrinkage_as_custom_keeps_g_max_one():
    p = analyse_function(from_function(lambda r: np.where(np.abs(r) <= 1.0, r, 0.0)))
    assert math.isinf(p.lipschitz)
    assert p.g_max == 1.0 and p.g_min == 0.0
    assert p.odd and not p.monotone


def test_relu_is_not_odd():
    p = analyse_function(from_function(lambda r: np.maximum(r, 0.0)))
    assert not p.odd
    assert p.monotone
    assert (p.g_min, p.g_max) == (0.0, 1.0)
    assert not math.copysign(1.0, p.g_min) < 0  # no "-0" in a report
    leaky = analyse_function(from_function(lambda r: np.where(r > 0, r, 0.1 * r)))
    assert not leaky.odd
    assert leaky.g_min == pytest.approx(0.1) and leaky.g_max == pytest.approx(1.0)


@pytest.mark.parametrize(
    "phi",
    [
        lambda r: r * (1.0 + r * r),  # g = 1 + r^2
        lambda r: r * (1.0 + np.log1p(np.abs(r))),  # g grows like log |r|
        lambda r: np.sign(r),  # g = 1/|r|, unbounded at 0
        lambda r: np.sign(r) * np.sqrt(np.abs(r)),  # g = |r|^(-1/2)
    ],
)
def test_unbounded_g_has_infinite_g_max(phi):
    nl = from_function(phi)
    p = analyse_function(nl)
    assert math.isinf(p.g_max)
    verdict = check_tau(nl, 1e-9)
    assert not verdict.linf_stable and not verdict.sign_stable
    assert "unbounded" in verdict.reason
    assert (verdict.tau_linf_bound, verdict.tau_sign_bound) == (0.0, 0.0)


def test_bounded_but_slowly_saturating_g_stays_finite():
    p = analyse_function(from_function(lambda r: r * (2.0 - 1.0 / (1.0 + np.abs(r)))))
    assert p.g_max == pytest.approx(2.0, rel=1e-5)
    assert p.g_min == pytest.approx(1.0, rel=1e-6)
    assert p.lipschitz == pytest.approx(2.0, rel=1e-6)


def test_negative_g_is_found():
    nl = from_function(lambda r: -(r**3))
    p = analyse_function(nl)
    assert math.isinf(p.g_min) and p.g_min < 0
    verdict = check_tau(from_function(lambda r: np.where(np.abs(r) < 1, -r, 0.0)), 0.1)
    assert verdict.g_min == -1.0
    assert not verdict.linf_stable
    assert "negative" in verdict.reason


# --------------------------------------------------------------------------
# tau bounds and verdicts
# --------------------------------------------------------------------------


def test_tau_bounds():
    assert tau_bounds(1.0) == (0.5, 0.25)
    assert tau_bounds(2.0, h=3.0) == (9.0 / 4.0, 9.0 / 8.0)
    assert tau_bounds(0.0) == (math.inf, math.inf)
    assert tau_bounds(math.inf) == (0.0, 0.0)


@pytest.mark.parametrize("h", [1.0, 0.5, 3.0])
def test_check_tau_at_and_around_the_bounds(h):
    nl = get_nonlinearity("perona-malik", lam=2.0)
    linf, sign = h * h / 2.0, h * h / 4.0
    cases = [
        (sign * (1 - 1e-12), True, True),
        (sign, True, True),
        (sign * (1 + 1e-12), True, False),
        (linf * 0.75, True, False),
        (linf, True, False),
        (linf * (1 + 1e-12), False, False),
        (10 * linf, False, False),
    ]
    for tau, linf_ok, sign_ok in cases:
        v = check_tau(nl, tau, h)
        assert (v.linf_stable, v.sign_stable) == (linf_ok, sign_ok), tau
        assert (v.tau_linf_bound, v.tau_sign_bound) == (linf, sign)
        assert (v.tau, v.h) == (tau, h)
        if linf_ok:
            assert v.reason == ""
        else:
            assert "exceeds the L-infinity bound" in v.reason
            assert f"{linf:.6g}" in v.reason


def test_hard_shrinkage_lipschitz_infinite_but_stable():
    nl = get_nonlinearity("hard", lam=0.5)
    v = check_tau(nl, 0.5)
    assert math.isinf(v.lipschitz)
    assert v.g_max == 1.0
    assert v.linf_stable and not v.sign_stable
    assert check_tau(nl, 0.25).sign_stable
    # ... and the run keeps the max-min principle, for many blocks
    rng = np.random.default_rng(7)
    f = rng.standard_normal((300, 2))
    u = run_blocks(f, nl.phi, 0.5, 200)
    tol = stability.tolerances(f, 200)["range"]
    assert np.all(u.min(axis=0) >= f.min(axis=0) - tol)
    assert np.all(u.max(axis=0) <= f.max(axis=0) + tol)
    assert np.all(total_variation(u) <= total_variation(f))


def test_as_dict_is_json_ready():
    v = check_tau(get_nonlinearity("hard"), 0.25)
    d = v.as_dict()
    assert d["lipschitz"] is None
    assert json.loads(json.dumps(d))["lipschitz"] is None
    finite = check_tau(get_nonlinearity("soft"), 0.25).as_dict()
    assert finite["lipschitz"] == 1.0
    for key in (
        "g_min",
        "g_max",
        "lipschitz",
        "odd",
        "tau_linf_bound",
        "tau_sign_bound",
        "linf_stable",
        "sign_stable",
    ):
        assert key in d


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------


def test_sign_changes_by_hand():
    assert int(sign_changes(np.array([1.0, -1.0, 2.0, 3.0, -0.5]))[0]) == 3
    # zeros are skipped: + 0 - is one change, + 0 + none
    assert int(sign_changes(np.array([1.0, 0.0, -1.0]))[0]) == 1
    assert int(sign_changes(np.array([1.0, 0.0, 0.0, 1.0]))[0]) == 0
    # values within the tolerance count as zero
    assert int(sign_changes(np.array([1.0, -1e-9, 1.0]), tol=1e-8)[0]) == 0
    assert int(sign_changes(np.array([1.0, -1e-9, 1.0]))[0]) == 2
    np.testing.assert_array_equal(
        sign_changes(np.array([[1.0, 1.0], [-1.0, 2.0], [1.0, -3.0]])), [2, 1]
    )


def test_total_variation_by_hand():
    np.testing.assert_array_equal(total_variation(np.array([0.0, 3.0, 1.0, 1.0, -2.0])), [8.0])
    np.testing.assert_array_equal(total_variation(np.array([[0.0, 1.0], [2.0, -1.0]])), [2.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [1, 2, 7, 8, 9, 100])
def test_total_variation_in_pieces(dtype, rows, monkeypatch, rng):
    """Pieces of TV_ROWS differences (7 here) sum what the float64 differences
    of the whole signal sum, to rounding; one piece, bit for bit."""
    monkeypatch.setattr(stability, "TV_ROWS", 7)
    u = rng.standard_normal((rows, 3)).astype(dtype)
    whole = np.abs(np.diff(u.astype(np.float64), axis=0)).sum(axis=0)
    got = total_variation(u)
    assert got.dtype == np.float64 and got.shape == (3,)
    if rows <= 8:
        np.testing.assert_array_equal(got, whole)
    np.testing.assert_allclose(got, whole, rtol=1e-14)
    assert total_variation(u[:, 1])[0] == got[1]


def test_measured_channels_are_the_float64_columns(rng):
    f = rng.standard_normal((50, 2)).astype(np.float32)
    u = run_blocks(f, get_nonlinearity("charbonnier", lam=0.5), 0.25, 5)
    checks, _ = measure_channels(f, u, 5)
    for c, check in enumerate(checks):
        fc, uc = f[:, c].astype(float), u[:, c].astype(float)
        assert (check.input_min, check.input_max) == (fc.min(), fc.max())
        assert (check.output_min, check.output_max) == (uc.min(), uc.max())
        assert check.mean_drift == uc.mean() - fc.mean()


def test_tolerances():
    f = np.array([-3.0, 1.0])
    ulp = np.spacing(3.0)
    tol = stability.tolerances(f, 1)
    assert tol["ulp"] == ulp
    assert tol["range"] == 8.0 * ulp
    assert tol["mean"] == 3e-12
    assert stability.tolerances(f, 100)["range"] == pytest.approx(80.0 * ulp)
    f32 = stability.tolerances(f.astype(np.float32), 4)
    assert f32["ulp"] == float(np.spacing(np.float32(3.0)))
    assert f32["mean"] == f32["range"] == 16.0 * f32["ulp"]


def _check(f, u, m=1):
    checks, _ = measure_channels(np.asarray(f, dtype=float), np.asarray(u, dtype=float), m)
    return checks


def test_measure_channels_by_hand():
    f = np.array([[0.0, 5.0], [2.0, -5.0], [1.0, 5.0]])
    u = np.array([[0.5, 1.0], [1.5, 0.0], [1.0, 4.0]])
    a, b = _check(f, u)
    assert (a.input_min, a.input_max, a.output_min, a.output_max) == (0.0, 2.0, 0.5, 1.5)
    assert (a.tv_in, a.tv_out, a.sign_changes_in, a.sign_changes_out) == (3.0, 1.5, 0, 0)
    assert a.max_min_principle and a.tv_diminished and a.mean_preserved
    assert a.mean_drift == 0.0
    assert (b.sign_changes_in, b.sign_changes_out, b.tv_in, b.tv_out) == (2, 0, 20.0, 5.0)
    assert abs(b.mean_drift) <= 1e-15 and b.mean_preserved  # both means are 5/3
    assert b.max_min_principle and b.tv_diminished
    assert b.as_dict()["tv_out"] == 5.0


def test_measure_channels_detects_each_failure():
    f = np.array([0.0, 1.0, 0.0, 1.0])
    ok = _check(f, [0.25, 0.5, 0.5, 0.75])[0]
    assert ok.max_min_principle and ok.tv_diminished and ok.mean_preserved
    over = _check(f, [-0.1, 0.6, 0.5, 1.0])[0]
    assert not over.max_min_principle and over.mean_preserved
    rough = _check(np.array([0.0, 0.5, 0.5, 1.0]), [0.0, 1.0, 0.0, 1.0])[0]
    assert not rough.tv_diminished and rough.max_min_principle
    drift = _check(f, [0.0, 1.0, 0.0, 1.0 - 1e-9])[0]
    assert not drift.mean_preserved
    assert drift.mean_drift == pytest.approx(-0.25e-9)
    # within the tolerance: one ulp outside the range is not a failure
    tiny = _check(f, [np.nextafter(0.0, -1.0), 1.0, 0.0, 1.0])[0]
    assert tiny.max_min_principle


@pytest.mark.parametrize("m", [1, 4])
def test_the_max_min_check_fails_just_beyond_its_tolerance_on_either_side(m):
    """The range tolerance is 8 ulp of max |f| per sqrt(blocks) (``tolerances``):
    for max |f| = 1, 8 * 2^-52 * sqrt(m).  An output that far outside the range on
    either side passes; twice that far fails, below the range and above it."""
    f = np.array([0.0, 1.0, 0.0, 1.0])
    tol = 8.0 * 2.0**-52 * math.sqrt(m)
    assert tolerances(f, m)["range"] == tol
    for outside, fails in ((tol, False), (2.0 * tol, True)):
        below = _check(f, [-outside, 0.5, 0.5, 0.75], m)[0]
        above = _check(f, [0.25, 0.5, 0.5, 1.0 + outside], m)[0]
        assert (below.output_min, above.output_max) == (-outside, 1.0 + outside)
        assert below.max_min_principle is not fails
        assert above.max_min_principle is not fails


@pytest.mark.parametrize("m", [1, 16])
def test_the_total_variation_check_fails_just_beyond_its_tolerance(m):
    """audit16b B11: total variation may grow by n x the range tolerance (8 ulp of
    max |f| per sqrt(blocks)) of rounding, no more: for n = 4 and max |f| = 1,
    4 x 8 x 2^-52 x sqrt(m).  An output in range, of the same mean, whose variation
    exceeds the input's by half that holds; by twice that fails and is named."""
    f = np.array([0.0, 1.0, 0.5, 0.5])  # variation 1.5
    allowed = 4 * 8.0 * 2.0**-52 * math.sqrt(m)
    sign_stable = check_tau(get_nonlinearity("soft"), 0.25)
    for factor, holds in ((0.5, True), (2.0, False)):
        e = factor * allowed / 3.0  # [0, 1, 0.5 - e, 0.5 + e]: variation 1.5 + 3e
        (c,) = _check(f, [0.0, 1.0, 0.5 - e, 0.5 + e], m)
        assert c.tv_out - c.tv_in == pytest.approx(3.0 * e, rel=0.1)  # 0.5 +- e rounded to binary
        assert c.max_min_principle and c.mean_preserved
        assert c.tv_diminished is holds
        failed = guarantees_failed([c], sign_stable)
        assert any("total variation increased" in x for x in failed) is (not holds)


def test_a_tau_may_exceed_its_bound_by_four_ulp_no_more():
    """audit16b B9: ``within_bound`` allows the rounding of the bound's computation,
    BOUND_ULPS = 4 ulp (relative 4 x 2^-52), no more: 2 ulp beyond holds, 8 beyond
    does not, on either side of a power of two."""
    eps = 2.0**-52
    for bound in (0.25, 0.245, 0.7 * 0.7 / 2.0, 1.0 / 3.0):
        assert stability.within_bound(bound, bound)
        assert stability.within_bound(bound * (1 + 2 * eps), bound)
        assert not stability.within_bound(bound * (1 + 8 * eps), bound)


def test_guarantees_failed_names_each_failure():
    f = np.array([-1.0, 1.0, -1.0, 1.0])
    u = np.array([-1.5, 2.0, -1.0, -2.0])  # out of range, rougher, drifted
    checks = _check(f, u)
    sign_stable = check_tau(get_nonlinearity("soft"), 0.25)
    failed = guarantees_failed(checks, sign_stable)
    assert len(failed) == 3
    assert failed[0].startswith("channel 1: output [-2, 2] leaves input range [-1, 1]")
    assert "total variation increased" in failed[1]
    assert "mean drifted" in failed[2]
    more_signs = _check(np.array([1.0, 1.0, -1.0, -1.0]), [1.0, -1.0, 1.0, -1.0])
    assert any(
        "sign changes increased (1 -> 3)" in s for s in guarantees_failed(more_signs, sign_stable)
    )
    # one more sign change is one too many: +,-,-,+ (mean 0, TV 2, in range) after +,+,-,-
    one_more = _check(np.array([1.0, 1.0, -1.0, -1.0]), [0.5, -0.5, -0.5, 0.5])
    assert (one_more[0].sign_changes_in, one_more[0].sign_changes_out) == (1, 2)
    failed = guarantees_failed(one_more, sign_stable)
    assert len(failed) == 1 and "sign changes increased (1 -> 2)" in failed[0]
    # not sign stable: more sign changes are allowed
    linf_only = check_tau(get_nonlinearity("soft"), 0.5)
    assert not any("sign" in s for s in guarantees_failed(more_signs, linf_only))
    assert guarantees_failed(_check(f, f), sign_stable) == []


def test_channel_check_as_dict_flattens_extra():
    c = ChannelCheck(0, 1, 0, 1, True, 0, 0, 1.0, 1.0, True, 0.0, True, {"energy_in": 2.0})
    d = c.as_dict()
    assert d["energy_in"] == 2.0 and "extra" not in d


# --------------------------------------------------------------------------
# Energy and Euler-Lagrange residual against the formulas of the paper, section 3
# --------------------------------------------------------------------------


def huber(r, lam):
    return r * r if abs(r) <= lam else 2 * lam * abs(r) - lam * lam


def clip(r, lam):
    return max(-lam, min(lam, r))


def test_energy_and_residual_by_formula(stereo_signal):
    lam, alpha, h = 0.8, 2.5, 0.5
    nl = get_nonlinearity("huber", "regulariser", lam=lam)
    f = stereo_signal
    u = run_blocks(f, nl.phi, alpha / 40, 40, h)
    energy = stability.energy(nl, u, f, alpha, h)
    residual = stability.euler_lagrange_residual(nl, u, f, alpha, h)
    n = f.shape[0]
    for c in range(2):
        uc, fc = u[:, c], f[:, c]
        d = [(uc[i + 1] - uc[i]) / h for i in range(n - 1)]
        e = sum((uc[i] - fc[i]) ** 2 for i in range(n)) + alpha * sum(huber(x, lam) for x in d)
        assert energy[c] == pytest.approx(e, rel=1e-12)
        flux = [0.0] + [clip(x, lam) for x in d] + [0.0]
        res = [uc[i] - fc[i] - alpha * (flux[i + 1] - flux[i]) / h for i in range(n)]
        assert residual[c] == pytest.approx(max(map(abs, res)), rel=1e-9, abs=1e-12)
    # the input itself has zero fidelity term
    e_in = stability.energy(nl, f, f, alpha, h)
    d_in = np.diff(f, axis=0) / h
    np.testing.assert_allclose(e_in, alpha * nl.psi(d_in).sum(axis=0), rtol=1e-14)
