"""Several scales as diffusion blocks, against shift-invariant Haar shrinkage written here."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from resdenoise.cli import cli
from resdenoise.multilevel import choose_levels
from resdenoise.multiscale import (
    choose_cascade,
    choose_diffusion_scales,
    max_scales,
    plan_cascade,
    run_strided,
)
from resdenoise.nonlinearities import NONLINEARITIES, get_nonlinearity

S2 = math.sqrt(2.0)


def soft(theta):
    return lambda w: np.sign(w) * np.maximum(np.abs(w) - theta, 0.0)


def cycle_spin(x, shrink):
    """One iteration of single-level Haar shrinkage, both shifts averaged, on the
    mirrored signal [x, x reversed] (period 2N), first N samples kept."""
    n = x.shape[0]
    y = np.concatenate([x, x[::-1]])
    acc = np.zeros_like(y)
    for shift in (0, 1):
        z = np.roll(y, -shift)
        a = (z[0::2] + z[1::2]) / S2
        w = shrink((z[0::2] - z[1::2]) / S2)
        rec = np.empty_like(z)
        rec[0::2] = (a + w) / S2
        rec[1::2] = (a - w) / S2
        acc += np.roll(rec, shift)
    return acc[:n] / 2.0


def dilated(x, shrink, stride, iterations=1):
    """Shift-invariant shrinkage of the stride-dilated Haar wavelet: the cycle spin
    of every interleaved subsequence x[r::stride] (reflecting at its own ends)."""
    out = np.array(x, dtype=float)
    for r in range(stride):
        sub = out[r::stride]
        if sub.size >= 2:
            for _ in range(iterations):
                sub = cycle_spin(sub, shrink)
            out[r::stride] = sub
    return out


@pytest.mark.parametrize("n", [37, 64, 101])
@pytest.mark.parametrize("stride", [1, 2, 3, 4, 8])
def test_strided_block_is_dilated_shift_invariant_haar_shrinkage(rng, n, stride):
    x = rng.normal(0.0, 1.0, n) + np.repeat([0.0, 3.0], [n // 2, n - n // 2])
    theta = 0.7
    nl = get_nonlinearity("soft", "shrinkage", S2 * theta)
    out = run_strided(x, nl, 0.25, 3, stride)
    np.testing.assert_allclose(out, dilated(x, soft(theta), stride, 3), rtol=0, atol=1e-12)
    two = np.column_stack([x, 2.0 * x[::-1]])
    both = run_strided(two, nl, 0.25, 3, stride)
    np.testing.assert_allclose(both[:, 0], out, rtol=0, atol=1e-12)
    ref = dilated(2.0 * x[::-1], soft(theta), stride, 3)
    np.testing.assert_allclose(both[:, 1], ref, rtol=0, atol=1e-12)


def test_cascade_is_the_shrinkages_scale_after_scale(rng):
    x = np.cumsum(rng.normal(0.0, 1.0, 300))
    thetas = [1.5, None, 0.8, 0.3]
    plan = plan_cascade("soft", thetas, blocks=2)
    expected = x
    for j, theta in enumerate(thetas):
        if theta is not None:
            expected = dilated(expected, soft(theta), 2**j, 2)
    np.testing.assert_allclose(plan.run(x), expected, rtol=0, atol=1e-12)
    assert [g[0] for g in plan.groups] == [1, 4, 8] and plan.steps == 6


def test_stride_one_matches_pywavelets_swt_on_the_mirrored_signal(rng):
    pywt = pytest.importorskip("pywt")
    x = rng.normal(0.0, 1.0, 64)
    y = np.concatenate([x, x[::-1]])
    ((ca, cd),) = pywt.swt(y, "haar", level=1)
    rec = pywt.iswt([(ca, soft(0.6)(cd))], "haar")[:64]
    nl = get_nonlinearity("soft", "shrinkage", S2 * 0.6)
    np.testing.assert_allclose(run_strided(x, nl, 0.25, 1, 1), rec, rtol=0, atol=1e-12)


def subsequence_tv(x, stride):
    return sum(np.sum(np.abs(np.diff(x[r::stride]))) for r in range(stride))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(-100, 100, allow_nan=False, allow_subnormal=False), min_size=2, max_size=80),
    st.integers(1, 9),
    st.sampled_from(sorted(NONLINEARITIES)),
    st.floats(0.01, 50.0),
    st.integers(1, 4),
    st.one_of(st.just(1.0), st.floats(1e-3, 1.0)),
)
# subsequence 0 is [-1, 3, -1, -1]: one sign change more at twice the sign bound (tau 1/2)
@example([-1.0, 5.0, 3.0, 5.0, -1.0, 5.0, -1.0, 5.0], 2, "soft", 50.0, 1, 1.0)
def test_stability_per_scale(values, stride, name, lam, blocks, fraction):
    """Each subsequence ``x[r::s]`` is a signal of its own under the ordinary block, so
    the paper's guarantees hold per subsequence: max-min principle, mean (relative
    1e-12, as in test_properties; measured drift 2e-16), total variation and, at tau
    at or below the sign bound ``h^2/(4 g_max)``, no new sign changes (values within
    the rounding allowance count as zero), for every registry entry (audit16b B1)."""
    x = np.array(values)
    tau = fraction * 0.25 / NONLINEARITIES[name].g_max  # (0, h^2/(4 g_max)], h = 1
    out = run_strided(x, get_nonlinearity(name, "shrinkage", lam), tau, blocks, stride)
    tol = 1e-12 * (1.0 + np.max(np.abs(x)))
    for r in range(min(stride, x.size)):
        a, b = x[r::stride], out[r::stride]
        assert b.max() <= a.max() + tol and b.min() >= a.min() - tol  # max-min principle
        assert abs(b.mean() - a.mean()) <= 1e-12 * (1.0 + np.max(np.abs(a)))
        assert _sign_changes(b, tol) <= _sign_changes(a, 0.0), r
    assert subsequence_tv(out, stride) <= subsequence_tv(x, stride) * (1 + 1e-12) + tol


def _sign_changes(col, zero: float) -> int:
    """Sign changes of ``col``, values within ``zero`` of 0 skipped (written here)."""
    signs = [x > 0 for x in col if abs(x) > zero]
    return sum(1 for p, q in zip(signs[:-1], signs[1:], strict=True) if p != q)


def test_thresholds_per_scale_by_sure_are_deterministic_and_reported(rng):
    t = np.arange(2048) / 2048
    clean = np.sin(2 * np.pi * 5 * t) * np.exp(-3 * t) + 0.5 * np.sin(2 * np.pi * 90 * t)
    f = clean + rng.normal(0.0, 0.1, t.size)
    plan, choice = choose_cascade(f, "soft")
    again, _ = choose_cascade(f.copy(), "soft")
    assert [g[1].lam for g in plan.groups] == [g[1].lam for g in again.groups]
    assert len(choice.thetas) == max_scales(2048) == 8
    assert all(
        b <= a for a, b in zip((choice.identity_risk, *choice.risks), choice.risks, strict=False)
    )
    assert np.mean((plan.run(f) - clean) ** 2) < 0.5 * np.mean((f - clean) ** 2)
    d = choice.as_dict()
    assert d["expected_gain_db"] > 3 and len(d["sure_per_scale"]) == 8


def run_cli(tmp_path, command, f, *extra):
    """``command IN --scales ... -o OUT --report R``: (its base arguments, the report)."""
    src = tmp_path / "in.csv"
    src.write_text("\n".join(repr(float(v)) for v in f) + "\n")
    base = [command, str(src), "-q", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, [*base, *extra, "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    return base, json.loads((tmp_path / "r.json").read_text())


def test_cli_scales_report_and_streaming_refusal(tmp_path, rng):
    """diffuse --scales is the cascade: its report has the guarantees per subsequence;
    shrink --scales (multilevel) needs the whole signal in memory.  (A random walk in
    noise of variance 1, above a quarter of its increments': with 0.25 the lag-one
    covariance calls the level not identified and the input is kept, no scales.)"""
    f = np.cumsum(rng.normal(0.0, 1.0, 600)) + rng.normal(0.0, 1.0, 600)
    base, report = run_cli(tmp_path, "diffuse", f, "--scales", "3")
    assert report["guarantees_held"] and report["stability"]["whole_signal"] is False
    assert report["scales"]
    assert [s["stride"] for s in report["scales"]] == [
        2**j for j, m in enumerate(report["parameters"]["blocks_per_scale"]) if m > 0
    ]
    assert all(all(s["per_subsequence"].values()) for s in report["scales"])
    base[0] = "shrink"
    streamed = CliRunner().invoke(cli, base + ["--scales", "4", "--chunk-size", "100"])
    assert streamed.exit_code == 2 and "in memory" in streamed.output


def strided_diffusion(x, phi, tau, blocks, stride):
    """u_i += tau (Phi(u_{i+s} - u_i) - Phi(u_i - u_{i-s})), zero flux where i +- s
    leaves the signal: written out, one sample at a time."""
    u = np.array(x, dtype=float)
    n = u.size
    for _ in range(blocks):
        flux = [phi(u[i + stride] - u[i]) if i + stride < n else 0.0 for i in range(n)]
        new = u.copy()
        for i in range(n):
            left = flux[i - stride] if i - stride >= 0 else 0.0
            new[i] = u[i] + tau * (flux[i] - left)
        u = new
    return u


@pytest.mark.parametrize("stride", [1, 2, 3, 5])
def test_strided_diffusion_block_written_out(rng, stride):
    x = rng.normal(0.0, 1.0, 41) + np.repeat([0.0, 2.0], [20, 21])
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.8)
    ref = strided_diffusion(x, lambda d: float(nl.phi(np.array([d]))[0]), 0.25, 4, stride)
    np.testing.assert_allclose(run_strided(x, nl, 0.25, 4, stride), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, stride", [(41, 4), (40, 8), (9, 8), (1000, 128), (7, 3)])
def test_strided_block_is_the_engine_on_each_subsequence_exactly(rng, n, stride, dtype):
    """Bit for bit: each subsequence u[r::s] (every channel) through the engine alone,
    also where its length is one sample more than others' or a column slice's."""
    from resdenoise.engine import run_blocks

    x = rng.normal(0.0, 1.0, (n, 6)).astype(dtype)[:, ::2]  # (not contiguous)
    nl = get_nonlinearity("perona-malik", "diffusivity", 0.8)
    out = run_strided(x, nl, 0.25, 3, stride)
    assert out.dtype == dtype and out.shape == x.shape
    for r in range(min(stride, n)):
        sub = x[r::stride]
        want = sub if len(sub) < 2 else run_blocks(sub, nl, 0.25, 3)
        np.testing.assert_array_equal(out[r::stride], want)


def test_diffusion_scales_by_sure(rng):
    from resdenoise.multiscale import choose_diffusion_scales

    t = np.arange(1024) / 1024
    clean = np.where(t < 0.4, 0.0, 1.0) + 0.3 * np.sin(2 * np.pi * 40 * t) * (t > 0.7)
    f = clean + rng.normal(0.0, 0.1, t.size)
    plan, choice = choose_diffusion_scales(f, "perona-malik", 4)
    assert plan.command == "diffuse" and len(choice.thetas) == 4
    assert all(
        b <= a for a, b in zip((choice.identity_risk, *choice.risks), choice.risks, strict=False)
    )
    assert plan.steps == sum(g[2] for g in plan.groups) > 0
    assert np.mean((plan.run(f) - clean) ** 2) < 0.5 * np.mean((f - clean) ** 2)


def _steps_in_noise(n, channels=1):
    """(Noise of another seed than the fixture's, which is the SURE probe's.)"""
    rng = np.random.default_rng(7)
    t = np.arange(n) / n
    clean = np.where(t < 0.4, 0.0, 1.0) + 0.3 * np.sin(2 * np.pi * 40 * t) * (t > 0.7)
    return (clean[:, None] + rng.normal(0.0, 0.1, (n, channels))), clean


@pytest.mark.parametrize("stride", [1, 2, 8])
def test_cascade_scale_on_a_window_that_is_the_whole_signal_is_the_whole_search(stride):
    """The windows' search of one scale, where the one window is the whole signal (no
    halo, weight 1): the whole-signal search's lambda and blocks, each lambda's best
    blocks, its SURE (summed in another order) and its output, laid out by subsequence."""
    from resdenoise.multilevel import sure_state
    from resdenoise.multiscale import _scale_windows_state, _search_scale

    f2, _ = _steps_in_noise(2048, channels=2)
    state, risk, level = sure_state(f2, np.array([0.1, 0.12]))
    lams, tau = [0.05, 0.1, 0.2], 0.25
    whole = (np.array([0]), 2048, 0, np.array([1.0]))
    on, risk_on, said = _scale_windows_state(state, f2, level.sigma, stride, whole)
    assert said == "1 windows of 2048 samples (2048 scored each)"
    assert risk_on(on) == pytest.approx(risk(state), rel=1e-12)
    a = _search_scale(state, risk, stride, risk(state), "perona-malik", lams, tau)
    b = _search_scale(on, risk_on, 1, risk_on(on), "perona-malik", lams, tau)
    assert a[1][0] is not None and a[1][:2] == b[1][:2] and a[2] == b[2]
    assert b[0] == pytest.approx(a[0], rel=1e-12)
    laid = _scale_windows_state(a[1][2], f2, level.sigma, stride, whole)[0]
    np.testing.assert_array_equal(b[1][2], laid)


def test_cascade_on_windows_from_its_threshold():
    """Below CASCADE_WINDOWS_FROM samples the whole signal at every scale (nothing said);
    from it, scale 1 on windows (the report says so), its lambda and blocks run on the
    whole signal, whose SURE the choice reports."""
    from resdenoise.multilevel import sure_state
    from resdenoise.multiscale import CASCADE_WINDOWS_FROM, _diffusion_scales

    for n in (CASCADE_WINDOWS_FROM - 1, CASCADE_WINDOWS_FROM):
        f2, _ = _steps_in_noise(n)
        plan, choice = choose_diffusion_scales(f2, "perona-malik", 1, 0.1, lam=0.1)
        assert plan.steps > 0
        if n < CASCADE_WINDOWS_FROM:
            assert choice.searched_on == () and "searched_on_per_scale" not in choice.as_dict()
            whole = _diffusion_scales(f2, "perona-malik", 1, 0.1, 0.1, None)
            assert whole[0] == plan and whole[1] == choice
            continue
        said = choice.as_dict()["searched_on_per_scale"]
        assert said == list(choice.searched_on) and said[0].startswith("4 windows of ")
        state, risk, _ = sure_state(f2, 0.1)
        assert choice.risks[-1] == pytest.approx(risk(plan.run(state)), rel=1e-12)


def test_cascade_scale_windows_only_where_they_save():
    """A scale's windows: halo and core s times a subsequence's, none where they would
    take more than a quarter of the signal (the coarse scales of 1e5 samples)."""
    from resdenoise.multiscale import MAX_SCALE_BLOCKS, scale_windows
    from resdenoise.search_windows import _halo

    f2, _ = _steps_in_noise(100_000)
    for stride in (1, 4, 16):
        starts, length, halo, weights = scale_windows(f2, np.array([0.1]), stride)
        assert halo == _halo(MAX_SCALE_BLOCKS) * stride and length % stride == 0
        assert len(starts) * length <= 25_000 and weights.sum() == pytest.approx(1.0)
    assert scale_windows(f2, np.array([0.1]), 64) is None


def test_cli_diffuse_scales_and_its_refusals(tmp_path, rng):
    f = np.repeat([0.0, 1.0], 150) + rng.normal(0.0, 0.2, 300)
    base, report = run_cli(tmp_path, "diffuse", f, "--scales", "3")
    assert report["command"] == "diffuse" and report["guarantees_held"]
    # (an input kept by do-no-harm: the refused plan's, rejected_blocks_per_scale)
    kept = "" if report["steps"] else "rejected_"
    assert len(report["parameters"][f"{kept}blocks_per_scale"]) == 3
    bad = CliRunner().invoke(cli, base + ["--scales", "3", "--steps", "4"])
    assert bad.exit_code == 2 and "scales choose their blocks" in bad.output


def test_diffusion_scales_with_lambda_given_compute_no_automatic_lambda(monkeypatch, rng):
    """lambda given: the automatic lambda is not computed (it was, and thrown away)."""
    from resdenoise import multiscale

    def unused(*args, **kwargs):
        raise AssertionError("the automatic lambda computed with lambda given")

    monkeypatch.setattr(multiscale, "auto_lambda", unused)
    f = np.repeat([0.0, 1.0], 150) + rng.normal(0.0, 0.2, 300)
    plan, choice = multiscale.choose_diffusion_scales(f, "perona-malik", 2, lam=1.0)
    assert plan.steps > 0 and {nl.lam for _, nl, _ in plan.groups} == {1.0}


@pytest.mark.parametrize("k", [600, -600])
def test_diffusion_scales_with_lambda_given_run_on_samples_divided_by_a_power_of_two(
    tmp_path, rng, k
):
    """diffuse --scales K --lambda X still searches the blocks by SURE: samples beyond
    2^+-200 are searched divided by a power of two, so the output at 2^k (lambda with it)
    is the output at 1 times 2^k, bit for bit.  Before, only the automatic lambda computed
    and thrown away refused some ('the automatic lambda is inf ...; give --lambda', lambda
    given), and 1e200 kept the input silently (every SURE NaN)."""
    f = np.clip(np.repeat([0.0, 0.8], 150) + rng.normal(0.0, 0.1, 300), -1, 1)
    outputs = []
    for scale in (1.0, 2.0**k):
        src = tmp_path / f"in{scale!r}.csv"
        src.write_text("\n".join(repr(float(v)) for v in f * scale) + "\n")
        out = tmp_path / f"o{scale!r}.csv"
        lam = repr(0.25 * scale)
        args = ["diffuse", str(src), "--scales", "2", "--lambda", lam, "-o", str(out), "-q"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        outputs.append(np.loadtxt(out))
    assert not np.array_equal(outputs[0], f)
    np.testing.assert_array_equal(outputs[1], outputs[0] * 2.0**k)


@pytest.mark.parametrize("scale", [1e200, 1.7e308, 1e-312])
@pytest.mark.parametrize(
    "search",
    [
        lambda f: choose_cascade(f, "soft"),
        lambda f: choose_levels(f, "soft"),
        lambda f: choose_diffusion_scales(f, "perona-malik"),
        lambda f: choose_diffusion_scales(f, "perona-malik", lam=1.0),
    ],
    ids=["cascade", "levels", "diffusion", "diffusion lam"],
)
def test_library_scale_searches_refuse_samples_they_cannot_square(rng, scale, search):
    """The searches of several scales called directly (no planner dividing the samples
    first) refuse samples beyond 2^+-200, lambda given or not, instead of keeping the
    input on NaN (or 0) SUREs."""
    from resdenoise.errors import SignalValuesError

    f = np.clip(np.repeat([0.0, 0.8], 150) + rng.normal(0.0, 0.1, 300), -1, 1) * scale
    with pytest.raises(SignalValuesError, match="cannot square the samples"):
        search(f)


@pytest.mark.parametrize("k", [500, 664, -664])
@pytest.mark.parametrize(
    ("command", "name", "lam", "scales"),
    [
        ("diffuse", "perona-malik", None, "auto"),
        ("diffuse", "perona-malik", 0.5, "auto"),
        ("diffuse", "perona-malik", 0.5, 2),
        ("shrink", "soft", None, "auto"),
        ("shrink", "soft", None, 3),
    ],
)
def test_plan_scales_searches_samples_beyond_the_range_as_the_planner_does(
    rng, k, command, name, lam, scales
):
    """plan_scales of samples x 2^k beyond 2^+-200 (lambda given or not) divides them by
    a power of two as the planner does: the plan runs to the one at 2^0 times 2^k, bit
    for bit, and its SURE numbers are those times 4^k (were NaN or 0, the input kept;
    or refused with lambda given)."""
    from resdenoise.multiscale import plan_scales

    f = np.clip(np.repeat([0.0, 0.8], 150) + rng.normal(0.0, 0.1, 300), -1, 1)
    given = None if lam is None else np.ldexp(lam, k)
    small, extra = plan_scales(f, name, lam, {"scales": scales}, command=command)
    huge, scaled = plan_scales(np.ldexp(f, k), name, given, {"scales": scales}, command=command)
    out = small.run(f)
    assert not np.array_equal(out, f)
    assert huge.run(np.ldexp(f, k)).tobytes() == np.ldexp(out, k).tobytes()
    for key in ("sure_per_scale", "coefficient_sure_per_scale"):
        if key in extra:
            with np.errstate(over="ignore", under="ignore"):  # 4^664 is inf, 4^-664 0
                assert scaled[key] == [float(np.ldexp(x, 2 * k)) for x in extra[key]], key


@pytest.mark.parametrize("chunk", [7, 100, 500])
def test_in_chunks_and_on_dask_a_cascade_is_the_whole_run(chunk):
    """A block of stride s moves information s samples: the halo is sum(s m), not m."""
    da = pytest.importorskip("dask.array")
    from resdenoise.dask import filter_array
    from resdenoise.filters import run_plan
    from resdenoise.stream import filter_in_chunks

    x = np.cumsum(np.random.default_rng(3).standard_normal(4000))
    plan = plan_cascade("soft", [0.5] * 4, 3)
    assert plan.halo == (1 + 2 + 4 + 8) * 3
    whole = run_plan(plan, x)
    np.testing.assert_array_equal(filter_in_chunks(plan, x, chunk=chunk), whole)
    np.testing.assert_array_equal(
        filter_array(da.from_array(x, chunks=chunk), plan).compute(), whole
    )


def test_an_impulse_prestage_is_not_filtered_in_chunks():
    from dataclasses import replace

    from resdenoise.errors import ParameterError
    from resdenoise.filters import plan_resnet
    from resdenoise.stream import filter_in_chunks

    plan = replace(plan_resnet(get_nonlinearity("tanh", "activation", 1.0), 2), prestage=object())
    with pytest.raises(ParameterError, match="needs the whole signal"):
        filter_in_chunks(plan, np.zeros(50), chunk=10)


@pytest.mark.parametrize(
    ("command", "name", "settings"),
    [
        ("diffuse", "perona-malik", {"time": "auto", "scales": "auto"}),
        ("shrink", "soft", {"scales": "auto"}),
        ("shrink", "soft", {"scales": 2}),
    ],
)
def test_a_scales_plan_estimates_the_search_level_once(monkeypatch, rng, command, name, settings):
    """The planner resolves the search's level once and passes it to every search of
    plan_scales and to the do-no-harm rule: the plan and report of resolving it in each
    (as before: three estimates for diffuse), with one estimate."""
    from resdenoise import noise
    from resdenoise.multiscale import plan_scales
    from resdenoise.plan_notes import _no_harm
    from resdenoise.plans import planner

    t = np.arange(600) / 600
    f = np.where(t < 0.5, 0.0, 1.0) + np.sin(2 * np.pi * 3 * t) + rng.normal(0.0, 0.1, t.size)
    search = noise.search_noise
    calls = []
    monkeypatch.setattr(noise, "search_noise", lambda *a, **k: calls.append(1) or search(*a, **k))
    plan, extra = planner(command, name, lam="auto", **settings)(f)
    assert len(calls) == 1
    s = {k: v for k, v in settings.items()}

    def at_low(low):
        p, details = plan_scales(f, name, None, s, None, low, command)
        return p, "the search at the noise level's low end", details

    old_plan, old_extra = plan_scales(f, name, None, s, None, None, command)
    level = noise.resolve_sigma(f, None, search=True)
    old_plan, old_extra = _no_harm(old_plan, old_extra, f, level, at_low=at_low)
    assert len(calls) > 2 if command == "diffuse" else len(calls) > 1  # each estimated it
    if "impulse_prestage" in extra:  # the search's impulse check (none found here)
        assert extra.pop("impulse_prestage").startswith("none")
        extra.pop("impulses_detected")
    assert json.dumps(extra, sort_keys=True, default=str) == json.dumps(
        old_extra, sort_keys=True, default=str
    )
    np.testing.assert_array_equal(plan.run(f), old_plan.run(f))


def test_a_scales_refusal_names_the_option_in_one_line(tmp_path):
    """plan_scales' refusals name ``scales`` as their parameter (passed positionally
    before: the message printed as a tuple, "Error: ('scales chooses ...', ['scales'])")."""
    from resdenoise.errors import ParameterError
    from resdenoise.multiscale import plan_scales

    with pytest.raises(ParameterError) as info:
        plan_scales(np.zeros(64), np.tanh, None, {"scales": 2})
    assert str(info.value) == "scales needs a registry shrinkage, not a formula"
    assert [name for name, _ in info.value.parameters] == ["scales"]
    src = tmp_path / "x.csv"
    src.write_text("1\n2\n3\n4\n" * 3)
    args = ["shrink", "--scales", "2", "--stopping-rule", "decorrelation", str(src)]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert result.stderr == "Error: --scales chooses its thresholds by SURE only\n"


def test_a_library_call_refuses_a_fraction_of_a_count_as_the_planner_does():
    """A fraction of a count is refused by errors.check_count, never truncated.

    Before: plan_scales ran int(2.5) = 2 scales (and int(1.5) = 1 iteration), and
    plan_diffusion_scales int(2.5) = 2 blocks, where the planner refuses them."""
    from resdenoise.errors import ParameterError
    from resdenoise.multiscale import plan_diffusion_scales, plan_scales, scales_note

    f = np.sin(np.linspace(0.0, 20.0, 512)) + 0.1 * np.random.default_rng(3).standard_normal(512)
    for lam in (None, 1.0):  # thresholds chosen, or given at every level
        with pytest.raises(ParameterError, match=r"^scales must be an integer >= 1, got 2\.5$"):
            plan_scales(f, "soft", lam, {"scales": 2.5})
        with pytest.raises(ParameterError, match=r"^iterations must be an integer >= 1, got 1\.5"):
            plan_scales(f, "soft", lam, {"scales": 2, "iterations": 1.5})
        whole, _ = plan_scales(f, "soft", lam, {"scales": 2.0, "iterations": np.int64(2)})
        assert whole.parameters["scales"] == 2 and whole.parameters["iterations"] == 2
    with pytest.raises(ParameterError, match=r"^scales must be an integer >= 1, got 2\.5$"):
        scales_note(512, 2.5)
    with pytest.raises(ParameterError, match=r"^blocks must be an integer >= 0, got 2\.5$"):
        plan_diffusion_scales("perona-malik", [1.0], [2.5], 0.25)
    assert plan_diffusion_scales("perona-malik", [1.0, 1.0], [2.0, 0], 0.25).steps == 2


@pytest.mark.parametrize("count", [9, 30, 1000])
def test_the_plan_makers_refuse_more_scales_than_any_signal_gets(count):
    """leftovers12: plan_levels, plan_diffusion_scales and plan_cascade took any number of
    scales (the 30th level then padded the signal to over 2^31 samples, 16 GiB: a level grows
    as 2^level, whatever the signal); now the rule of --scales' note, refused: a plan
    knows no signal, so the most any signal gets, MAX_SCALES, in the note's words."""
    from resdenoise.errors import ParameterError
    from resdenoise.multilevel import plan_levels
    from resdenoise.multiscale import plan_cascade, plan_diffusion_scales, scales_note
    from resdenoise.noise_colour import MAX_SCALES

    values, ones = [0.5] * count, [1] * count
    makers = [
        (lambda: plan_levels("soft", values), "thetas"),
        (lambda: plan_cascade("soft", values), "thetas"),
        (lambda: plan_diffusion_scales("perona-malik", values, ones, 0.25), "lams"),
    ]
    note = scales_note(10**6, count)
    assert note == f"{count} scales asked, at most 8 used: the most there are (strides up to 2^7)"
    for make, argument in makers:
        with pytest.raises(ParameterError) as refused:
            make()
        message = str(refused.value)
        assert message == (
            f"{count} scales given ({argument}: one per scale), at most {MAX_SCALES}: "
            + note.split(": ", 1)[1]
        )
        assert refused.value.exit_code == 2


def test_the_plan_makers_take_up_to_max_scales():
    from resdenoise.multilevel import plan_levels
    from resdenoise.multiscale import plan_cascade, plan_diffusion_scales
    from resdenoise.noise_colour import MAX_SCALES

    thetas = [0.5] * MAX_SCALES
    assert plan_levels("soft", thetas).parameters["scales"] == MAX_SCALES
    assert len(plan_cascade("soft", thetas).groups) == MAX_SCALES
    assert plan_diffusion_scales("perona-malik", thetas, [1] * MAX_SCALES, 0.25).steps == 8
