"""Learned networks (resdenoise.learn): the bumps family, exact gradients, training.

The family is checked against closed forms written here; the gradient against
central differences of the loss; stability by hypothesis over parameter
vectors; the written network file against the trained network bit for bit.
"""

from __future__ import annotations

import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise import learn
from resdenoise.errors import ParameterError, SignalValuesError
from resdenoise.network import NetworkError, build_network, format_network, parse_network
from resdenoise.nonlinearities import get_parametrised
from resdenoise.stability import check_tau, sign_changes


def _reference_g(r, lam, c):
    """g written out: Gaussians at 2^(j - (K-2)/2) and the tail 1/sqrt(1 + x^2)."""
    x = np.abs(r) / lam
    k = len(c)
    out = c[-1] / np.sqrt(1.0 + x * x)
    for j in range(k - 1):
        s = 2.0 ** (j - (k - 2) / 2.0)
        out = out + c[j] * np.exp(-(x * x) / (2.0 * s * s))
    return out


def _signal(rng, n=96, channels=None):
    t = np.linspace(0.0, 1.0, n)
    clean = np.sign(np.sin(2 * np.pi * 2 * t)) + 0.4 * np.sin(2 * np.pi * 5 * t)
    if channels:
        clean = np.stack([clean, clean[::-1]], axis=1)
    return clean, clean + 0.3 * rng.standard_normal(clean.shape)


# --------------------------------------------------------------------------
# The family
# --------------------------------------------------------------------------


def test_bumps_forms_match_the_closed_forms(rng):
    c = rng.uniform(0.0, 0.3, 6)
    lam = 0.7
    nl = get_parametrised("bumps", list(c), lam=lam)
    r = np.concatenate([rng.normal(0, 3, 200), [0.0, 1e-300, 1e8]])
    np.testing.assert_allclose(nl.g(r), _reference_g(r, lam, c), rtol=1e-14, atol=0)
    np.testing.assert_allclose(nl.phi(r), r * _reference_g(r, lam, c), rtol=1e-14, atol=0)
    # Psi = 2 int_0^r Phi, by the trapezoid rule on a fine grid
    grid = np.linspace(0.0, 4.0, 400_001)
    integral = 2.0 * np.concatenate(
        [[0.0], np.cumsum(np.diff(grid) * 0.5 * (nl.phi(grid)[1:] + nl.phi(grid)[:-1]))]
    )
    np.testing.assert_allclose(nl.psi(grid[::10_000]), integral[::10_000], rtol=1e-9, atol=1e-12)
    assert nl.entry.g_max == pytest.approx(float(nl.g(0.0)), rel=1e-15)
    assert nl.entry.g_max == pytest.approx(c.sum(), rel=1e-15)
    assert check_tau(nl, 1.0 / (4.0 * c.sum())).sign_stable


@pytest.mark.parametrize("count", [3, 5, 8, 17, 32])
@pytest.mark.parametrize("channels", [0, 3])
def test_bumps_of_a_sample_depend_on_that_sample_only(count, channels, rng):
    """g, Phi and Psi of a signal are those of its pieces put together, bit for bit:
    the K terms are summed in a fixed order at each sample, not by a BLAS call whose
    last bits follow the call's length (and OpenBLAS's threads)."""
    c = rng.uniform(0.0, 1.0, count)
    nl = get_parametrised("bumps", list(c), lam=0.9)
    r = rng.normal(0.0, 3.0, (1001, 3) if channels else 1001)
    cuts = [0, 1, 8, 333, 610, 1001]  # pieces of odd lengths (1, 7, 325, 277, 391)
    for form in (nl.g, nl.phi, nl.psi):
        whole = form(r)
        parts = np.concatenate([form(r[a:b]) for a, b in itertools.pairwise(cuts)])
        assert np.array_equal(whole.view(np.uint64), parts.view(np.uint64))
        assert np.array_equal(form(r[5:6])[0].view(np.uint64), whole[5].view(np.uint64))


@pytest.mark.parametrize("lam", [1e-300, 1.0, 1e300])
def test_bumps_at_the_extremes(lam):
    """No spurious overflow, underflow or NaN: where |r|/lam overflows only the tail's
    flux c_K lam sign(r) is left; Psi is r^2 sum c near 0."""
    c = [0.5, 0.2, 0.3]
    nl = get_parametrised("bumps", c, lam=lam)
    r = np.array([1e308, -1e308, 1e-320, 0.0, -3.0, 0.5])
    phi, g, psi = nl.phi(r), nl.g(r), nl.psi(r)
    assert not np.any(np.isnan(phi)) and not np.any(np.isnan(g)) and not np.any(np.isnan(psi))
    if lam == 1e-300:
        assert phi[0] == 0.3 * lam and phi[1] == -0.3 * lam
    if lam == 1.0:
        assert phi[4] == pytest.approx(-3.0 * _reference_g(-3.0, lam, np.array(c)), rel=1e-14)
    if lam == 1e300:
        assert psi[4] == pytest.approx(9.0, rel=1e-14) and psi[5] == pytest.approx(0.25, rel=1e-14)
    assert np.all(g >= 0.0) and np.all(g <= 1.0) and np.all(psi >= 0.0)


def test_both_shapes_are_reachable():
    """Gaussians alone: Phi falls again (Perona-Malik); the tail alone: Phi rises."""
    pm = get_parametrised("bumps", [0.0, 1.0, 0.0])
    cha = get_parametrised("bumps", [0.0, 0.0, 1.0])
    r = np.linspace(0.0, 20.0, 2001)
    assert not pm.entry.convex and np.any(np.diff(pm.phi(r)) < 0)
    assert cha.entry.convex and np.all(np.diff(cha.phi(r)) > 0)


@pytest.mark.parametrize(
    ("coefficients", "message"),
    [
        ([0.5, -0.1], "coefficient 2 must be a finite number >= 0"),
        ([0.0, 0.0], "all 0"),
        ([1.0], "2 to 32 coefficients"),
        (["a", 1.0], "coefficient 1 must be a number"),
        (0.5, "must be a list"),
    ],
)
def test_bad_coefficients_are_refused(coefficients, message):
    with pytest.raises(ValueError, match=message):
        get_parametrised("bumps", coefficients)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            'activation = "bumps"\ncoefficients = [0.5, -1.0]',
            r"block 1 \(line 3\): coefficients: coefficient 2",
        ),
        ('activation = "bumps"', "give its coefficients"),
        ('activation = "perona-malik"\ncoefficients = [1.0, 1.0]', "not 'perona-malik'"),
        ('activation = "tanh"\nlambda = 1.0\nlambda-scale = 2.0', "drop lambda/threshold"),
        ('activation = "tanh"\nlambda-scale = -2.0', "lambda-scale must be a finite number > 0"),
    ],
)
def test_network_file_refuses_bad_bumps(block, message):
    with pytest.raises(NetworkError, match=message):
        parse_network("[[block]]\n" + block + "\n", "net.toml")


def test_lambda_scale_multiplies_the_automatic_lambda(rng):
    from resdenoise.filters import auto_lambda

    u = 3.0 * rng.standard_normal(100)
    spec = parse_network(
        '[[block]]\nactivation = "bumps"\ncoefficients = [1.0, 2.0]\nlambda-scale = 0.3\n'
    )
    plan = build_network(spec, u)
    ((_, nl, tau),) = plan.groups
    assert nl.lam == auto_lambda(u)[0] * 0.3
    assert tau == 1.0 / 12.0  # the sign-stable bound h^2/(4 (1 + 2))
    assert plan.verdict().blocks[0]["lambda_scale"] == 0.3


# --------------------------------------------------------------------------
# Stability for every parameter vector
# --------------------------------------------------------------------------

ARCH = learn.Architecture(groups=2, blocks=4, bumps=5)


@settings(max_examples=25)
@given(
    st.lists(st.floats(-40.0, 40.0), min_size=ARCH.size, max_size=ARCH.size),
    st.integers(0, 2**32 - 1),
)
def test_every_parameter_vector_gives_a_stable_network(params, seed):
    params = np.array(params)
    groups = learn.network_groups(params, ARCH)
    r = np.random.default_rng(seed).normal(0.0, 10.0, 500)
    for group in groups:
        nl = group.nonlinearity(0.3)
        g = nl.g(r)
        assert np.all(g >= 0.0) and np.all(g <= ARCH.g_max * (1 + 1e-15))
        verdict = check_tau(nl, group.tau)
        assert verdict.sign_stable, verdict.reason
    f = np.random.default_rng(seed).standard_normal((64, 2)) * 3.0
    u = learn.run_network(f, groups)
    assert np.all(u.max(axis=0) <= f.max(axis=0) + 1e-12)
    assert np.all(u.min(axis=0) >= f.min(axis=0) - 1e-12)
    assert np.all(sign_changes(u) <= sign_changes(f))


# --------------------------------------------------------------------------
# Exact gradients
# --------------------------------------------------------------------------


def _central(fun, p, i, step):
    """Fourth-order central difference of fun along parameter i."""
    e = np.zeros_like(p)
    e[i] = step
    return (-fun(p + 2 * e) + 8 * fun(p + e) - 8 * fun(p - e) + fun(p - 2 * e)) / (12 * step)


@pytest.mark.parametrize("objective", ["supervised", "sure", "noise2self"])
@pytest.mark.parametrize(("channels", "scales"), [(None, 1), (2, 1), (None, 2), (2, 3)])
def test_gradient_matches_central_differences(rng, objective, channels, scales):
    arch = learn.Architecture(groups=max(2, scales), blocks=5, bumps=4, scales=scales)
    clean, noisy = _signal(rng, 47, channels)
    obj = learn.make_objective(
        [noisy], [clean] if objective == "supervised" else None, objective, seed=3
    )
    p = rng.normal(0.0, 1.0, arch.size)
    p[arch.per_group - 1 :: arch.per_group] = math.log(0.6) + 0.3 * rng.standard_normal(arch.groups)
    value, grad = learn.loss_and_gradient(p, arch, obj)
    assert value > 0.0 or objective == "sure"
    fd = np.array(
        [
            _central(lambda q: learn.loss_and_gradient(q, arch, obj)[0], p, i, 1e-3)
            for i in range(p.size)
        ]
    )
    scale = np.max(np.abs(fd))
    assert np.all(np.abs(grad - fd) <= 1e-6 * np.abs(fd) + 1e-9 * scale), (grad, fd)


@pytest.mark.parametrize("count", [5, 8, 32])
def test_the_adjoint_of_a_sample_depends_on_its_neighbours_only(count, rng):
    """Back through a block, Phi' at each difference is the bumps' fixed-order sum: the
    adjoint of a prefix of the signal is that of the whole signal there, bit for bit (a
    BLAS sum's last bits followed the signal's length)."""
    from resdenoise.learn_model import _block_adjoint

    c = rng.uniform(0.0, 1.0, count)
    u, v = rng.normal(0.0, 2.0, 1001), rng.normal(0.0, 1.0, 1001)
    whole, _, _ = _block_adjoint(u, v, c, 0.8, 0.1, 1.0)
    # the prefix's last sample has the boundary: compared below it
    for m in (6, 101, 334, 513, 700, 998):
        part, _, _ = _block_adjoint(u[: m + 1], v[: m + 1], c, 0.8, 0.1, 1.0)
        assert np.array_equal(part[:m].view(np.uint64), whole[:m].view(np.uint64))


def test_gradient_is_the_same_for_any_checkpoint_spacing(rng, monkeypatch):
    """Checkpoints only decide what is recomputed: every spacing gives one gradient."""
    arch = learn.Architecture(groups=2, blocks=7, bumps=3)
    clean, noisy = _signal(rng, 40)
    obj = learn.make_objective([noisy], [clean])
    p = rng.normal(0.0, 1.0, arch.size)
    first = learn.loss_and_gradient(p, arch, obj)[1]
    monkeypatch.setattr(learn.math, "isqrt", lambda n: 1)
    np.testing.assert_array_equal(learn.loss_and_gradient(p, arch, obj)[1], first)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def _fit(noisy, clean=None, objective=None, seed=0, iterations=8, scales=1):
    arch = learn.Architecture(groups=2, blocks=4, bumps=4, scales=scales)
    obj = learn.make_objective([noisy], None if clean is None else [clean], objective, seed=seed)
    return learn.fit(obj, arch, seed=seed, max_iterations=iterations), arch


def test_supervised_learning_beats_its_start_on_unseen_noise(rng):
    clean, noisy = _signal(rng, 256)
    result, arch = _fit(noisy, clean, iterations=15)
    assert result.loss < 0.7 * result.initial_loss
    assert result.history[0] == result.initial_loss and len(result.history) == result.iterations + 1
    held_out = clean + 0.3 * np.random.default_rng(99).standard_normal(clean.shape)
    start = learn.network_groups(learn.initial_parameters(arch, 0), arch)
    mse_start = np.mean((learn.run_network(held_out, start) - clean) ** 2)
    mse_learned = np.mean((learn.run_network(held_out, result.groups) - clean) ** 2)
    assert mse_learned < 0.8 * mse_start


@pytest.mark.parametrize("objective", ["sure", "noise2self"])
def test_self_supervised_learning_lowers_the_true_error(rng, objective):
    clean, noisy = _signal(rng, 256)
    result, arch = _fit(noisy, objective=objective, iterations=10)
    assert result.loss < result.initial_loss
    start = learn.network_groups(learn.initial_parameters(arch, 0), arch)
    mse_start = np.mean((learn.run_network(noisy, start) - clean) ** 2)
    assert np.mean((learn.run_network(noisy, result.groups) - clean) ** 2) < mse_start


def test_learning_is_deterministic_for_a_seed(rng):
    clean, noisy = _signal(rng, 128)
    a, _ = _fit(noisy, objective="sure", seed=5, iterations=4)
    b, _ = _fit(noisy, objective="sure", seed=5, iterations=4)
    c, _ = _fit(noisy, objective="sure", seed=6, iterations=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.groups == b.groups
    assert not np.array_equal(a.params, c.params)


@pytest.mark.parametrize("scales", [1, 2])
def test_written_network_runs_bit_for_bit(rng, scales):
    clean, noisy = _signal(rng, 201, channels=2)
    result, arch = _fit(noisy, clean, iterations=5, scales=scales)
    assert [g.scale for g in result.groups] == ([1, 1] if scales == 1 else [2, 1])
    text = format_network([g.as_block(i + 1) for i, g in enumerate(result.groups)], h=arch.h)
    plan = build_network(parse_network(text), noisy)
    assert plan.verdict().sign_stable
    assert [spec.scale for spec, _, _ in plan.groups] == [g.scale for g in result.groups]
    np.testing.assert_array_equal(plan.run(noisy), learn.run_network(noisy, result.groups))


def test_without_scipy_the_error_says_what_to_install(rng, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    clean, noisy = _signal(rng, 32)
    with pytest.raises(
        learn.LearnUnavailable, match=r"pip install '\.\[learn\]' in the resdenoise checkout"
    ):
        _fit(noisy, clean)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective": "supervised"}, "one clean signal per noisy"),
        ({"objective": "nonsense"}, "unknown objective"),
        ({"clean": [np.zeros(10)]}, "shape"),
        ({"clean": [np.zeros(12)], "objective": "sure"}, "drop the clean"),
    ],
)
def test_objective_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        learn.make_objective([np.ones(12)], **kwargs)


# --------------------------------------------------------------------------
# Warm start: the network begins where the best fixed family is
# --------------------------------------------------------------------------

#: Relative distance of the warm start's output from the family's, per family:
#: Perona-Malik (a Gaussian) and Charbonnier (the tail) are bumps exactly.
#: The quicker families (regularise searches longest): for the tests of the choice.
QUICK_FAMILIES = [f for f in learn.FIXED_FAMILIES if f[0] in ("diffuse", "shrink", "resnet")]
WARM_TOLERANCE = {"diffuse": 1e-3, "regularise": 1e-3, "resnet": 0.03}


def _warm_signal(rng, n=400):
    t = np.linspace(0.0, 1.0, n)
    clean = np.sign(np.sin(2 * np.pi * 2 * t)) + 0.4 * np.sin(2 * np.pi * 5 * t)
    return clean, clean + 0.3 * rng.standard_normal(n)


@pytest.mark.parametrize("family", learn.FIXED_FAMILIES, ids=lambda f: f[0])
@pytest.mark.parametrize("groups", [1, 3])
def test_warm_start_reproduces_the_fixed_family(rng, family, groups):
    from resdenoise.autoparams import choose_parameters
    from resdenoise.engine import run_blocks

    clean, noisy = _warm_signal(rng)
    label, form, name, tau = family
    choice = choose_parameters(noisy, name, form, tau=tau)
    assert choice.steps > 1  # else the comparison says nothing
    ref = run_blocks(noisy, choice.nl.phi, choice.tau, choice.steps)
    start = learn.warm_start([noisy], learn.Architecture(groups=groups), [clean], [family])
    assert start.family == label and start.steps == choice.steps
    assert start.arch.blocks == -(-choice.steps // groups)
    out = learn.run_network(noisy, learn.network_groups(start.params, start.arch))
    distance = np.linalg.norm(out - ref) / np.linalg.norm(ref - noisy)
    assert distance <= WARM_TOLERANCE.get(label, 0.06)


def test_warm_start_takes_the_best_family_and_stays_stable(rng):
    clean, noisy = _warm_signal(rng)
    arch = learn.Architecture(groups=4, scales=2)
    start = learn.warm_start([noisy], arch, [clean], QUICK_FAMILIES)
    assert start.scores[start.family] == min(start.scores.values())
    assert set(start.scores) == {x[0] for x in QUICK_FAMILIES}
    again = learn.warm_start([noisy], arch, [clean], QUICK_FAMILIES)
    assert np.array_equal(start.params, again.params)
    groups = learn.network_groups(start.params, start.arch)
    assert [g.scale for g in groups] == [2, 2, 1, 1]
    for g in groups:  # inside the parametrisation: sum c < g_max, tau sign stable
        assert 0.0 < math.fsum(g.coefficients) < start.arch.g_max
        assert g.tau == start.arch.tau
    # the coarse groups start at the chosen amount, the fine ones are the family's copy
    assert start.coarse_amount in learn.COARSE_AMOUNTS
    amounts = start.params.reshape(start.arch.groups, -1)[:, 0]
    assert np.all(amounts[:2] == start.coarse_amount)
    out = learn.run_network(noisy, groups)
    assert out.max() <= noisy.max() and out.min() >= noisy.min()
    assert sign_changes(out - out.mean()) <= sign_changes(noisy - out.mean())


def test_warm_start_chooses_the_coarse_amount_by_a_short_training(rng):
    """Each amount of COARSE_AMOUNTS in the coarse groups, trained a few iterations:
    the least loss is the start (the first of equals); one scale has no coarse group."""
    clean, noisy = _warm_signal(rng, n=200)
    arch = learn.Architecture(groups=2, bumps=4, scales=2)
    objective = learn.make_objective([noisy], [clean])
    start = learn.warm_start([noisy], arch, [clean], QUICK_FAMILIES, coarse_iterations=3)
    losses = []
    for amount in learn.COARSE_AMOUNTS:
        p = start.params.reshape(start.arch.groups, -1).copy()
        p[0, 0] = amount  # group 0 is the coarse one (stride 2)
        fitted = learn.fit(objective, start.arch, start=p.ravel(), max_iterations=3)
        losses.append(fitted.loss)
    assert start.coarse_amount == learn.COARSE_AMOUNTS[int(np.argmin(losses))]
    assert len(set(losses)) > 1  # else the choice says nothing
    # no iterations: the starting losses choose (the coarse group nearly off is the copy)
    cold = learn.warm_start([noisy], arch, [clean], QUICK_FAMILIES, coarse_iterations=0)
    values = []
    for amount in learn.COARSE_AMOUNTS:
        p = cold.params.reshape(cold.arch.groups, -1).copy()
        p[0, 0] = amount
        values.append(learn.loss_value(p.ravel(), cold.arch, objective))
    assert cold.coarse_amount == learn.COARSE_AMOUNTS[int(np.argmin(values))]
    one = learn.warm_start([noisy], learn.Architecture(groups=2, bumps=4), [clean], QUICK_FAMILIES)
    assert one.coarse_amount is None and one.as_dict()["warm_start_coarse_amount"] is None


def test_training_from_the_warm_start_improves_on_it(rng):
    clean, noisy = _warm_signal(rng)
    arch = learn.Architecture(groups=2)
    start = learn.warm_start([noisy], arch, [clean], QUICK_FAMILIES)
    objective = learn.make_objective([noisy], [clean])
    result = learn.fit(objective, start.arch, max_iterations=8, start=start.params)
    assert result.initial_loss == pytest.approx(
        learn.loss_value(start.params, start.arch, objective)
    )
    assert result.loss < result.initial_loss
    again = learn.fit(objective, start.arch, max_iterations=8, start=start.params)
    assert np.array_equal(result.params, again.params)
    with pytest.raises(ParameterError, match="start needs"):
        learn.fit(objective, start.arch, max_iterations=1, start=start.params[:-1])


def _truncated(groups, blocks):
    """The groups cut to their first ``blocks`` blocks, the last one repeated on."""
    out, left = [], blocks
    for g in groups:
        out.append(learn.Group(g.coefficients, g.lam_scale, g.tau, min(g.repeat, left), g.scale))
        left -= out[-1].repeat
    if left > 0:
        last = groups[-1]
        out.append(learn.Group(last.coefficients, last.lam_scale, last.tau, left, last.scale))
    return [g for g in out if g.repeat > 0]


def test_stopped_network_is_the_network_cut_where_sure_is_least(rng):
    clean, noisy = _warm_signal(rng)
    arch = learn.Architecture(groups=2, blocks=60)  # far too deep at amount 0 (half g_max)
    groups = learn.network_groups(learn.initial_parameters(arch, seed=3), arch)
    full = learn.run_network(noisy, groups)
    out, blocks = learn.run_network_stopped(noisy, groups)
    assert 0 < blocks < 120
    np.testing.assert_allclose(
        out, learn.run_network(noisy, _truncated(groups, blocks)), atol=1e-12
    )
    assert np.mean((out - clean) ** 2) < 0.7 * np.mean((full - clean) ** 2)
    assert out.max() <= noisy.max() and out.min() >= noisy.min()
    # too shallow: the last group runs on past the network's depth
    shallow = learn.network_groups(
        learn.initial_parameters(learn.Architecture(1, 1), 3, 0.0), learn.Architecture(1, 1)
    )
    more, k = learn.run_network_stopped(noisy, shallow, extend=30.0)
    assert 1 < k <= 30
    np.testing.assert_allclose(more, learn.run_network(noisy, _truncated(shallow, k)), atol=1e-12)


def test_stopped_network_does_nothing_to_a_clean_signal():
    t = np.linspace(0.0, 1.0, 300)
    clean = np.sin(2 * np.pi * 3 * t)
    arch = learn.Architecture(groups=2, blocks=10)
    groups = learn.network_groups(learn.initial_parameters(arch, seed=1), arch)
    out, blocks = learn.run_network_stopped(clean, groups)
    assert blocks == 0 and np.array_equal(out, clean)


def test_warm_start_keeps_to_the_block_budget(rng):
    clean, noisy = _warm_signal(rng)
    deep = learn.warm_start([noisy], learn.Architecture(groups=2), [clean], QUICK_FAMILIES)
    assert deep.steps > 12  # else the budget cuts nothing
    cut = learn.warm_start(
        [noisy], learn.Architecture(groups=2), [clean], QUICK_FAMILIES, max_blocks=12
    )
    assert cut.steps <= 12 and cut.arch.blocks <= 6
    objective = learn.make_objective([noisy], [clean])
    assert learn.loss_value(cut.params, cut.arch, objective) >= min(deep.scores.values()) - 1e-12


@pytest.mark.parametrize("k", [600, -600])
@pytest.mark.parametrize("objective", ["supervised", "sure", "noise2self"])
def test_a_library_call_refuses_samples_beyond_2_to_the_200(rng, k, objective):
    # before: make_objective took them and fit trained on a loss of inf/NaN (2^600, a
    # coefficient "nan") or 0 (2^-600, "converged"); the CLI alone refused them
    clean, noisy = _signal(rng)
    big = [np.ldexp(noisy, k)]
    cleans = [np.ldexp(clean, k)] if objective == "supervised" else None
    with pytest.raises(SignalValuesError, match=r"^signal 1: the largest sample's magnitude"):
        learn.make_objective(big, cleans, objective)
    if objective == "supervised":  # the clean signals too, by their own name
        with pytest.raises(SignalValuesError, match=r"^clean signal 1: the largest sample"):
            learn.make_objective([noisy], cleans)
        with pytest.raises(SignalValuesError, match=r"^b\.csv: the largest sample"):
            learn.make_objective([noisy], cleans, names=["a.csv", "b.csv"])
    with pytest.raises(SignalValuesError) as unnamed:  # None: for the caller to name
        learn.make_objective(big, cleans, objective, names=[None, None])
    assert str(unnamed.value).startswith("the largest sample's magnitude")
    assert "learn cannot square the samples; divide them by a power of two" in str(unnamed.value)
    learn.make_objective([np.ldexp(noisy, 199)], None, objective="sure")  # in range: trains
