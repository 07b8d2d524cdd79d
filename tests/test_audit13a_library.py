"""Findings of the library audit audit13a: resdenoise used from Python, with functions of one's own."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import resdenoise as rd
from resdenoise import function_properties, stability
from resdenoise.errors import SignalValuesError
from resdenoise.expr import expression_nonlinearity
from resdenoise.nonlinearities import from_function

STEPS = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])


# --------------------------------------------------------------------------
# F2. A Python function's stability verdict was cached by the function object: a
# callable changed between calls ran at the old tau, out of the input's range.
# --------------------------------------------------------------------------


class Scaled:
    """k tanh(r), with k a parameter of its own (as a user writes one)."""

    def __init__(self, k):
        self.k = k

    def __call__(self, r):
        return self.k * np.tanh(r)


def test_a_changed_callable_is_checked_again():
    act = Scaled(1.0)
    assert rd.check_tau(from_function(act), 0.25).linf_stable
    act.k = 3.0  # g_max 3: the L-infinity bound is 1/6
    verdict = rd.check_tau(from_function(act), 0.25)
    assert not verdict.linf_stable
    assert verdict.g_max == pytest.approx(3.0)


def test_a_changed_callable_runs_at_its_own_stable_step():
    act = Scaled(1.0)
    rd.resnet(STEPS, act, blocks=20)
    act.k = 3.0
    out = rd.resnet(STEPS, act, blocks=20)
    assert out.min() >= 0.0 and out.max() <= 1.0  # the max-min principle
    np.testing.assert_array_equal(out, rd.resnet(STEPS, Scaled(3.0), blocks=20))


def test_a_lambda_over_a_changed_global_is_checked_again():
    k = {"k": 1.0}
    phi = lambda r: k["k"] * np.tanh(r)  # noqa: E731
    rd.resnet(STEPS, phi, blocks=20)
    k["k"] = 3.0
    out = rd.resnet(STEPS, phi, blocks=20)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_no_python_function_is_kept_alive_by_the_analysis():
    function_properties._FORMULA_PROPERTIES.clear()
    rd.resnet(STEPS, Scaled(1.0), blocks=2)
    assert not function_properties._FORMULA_PROPERTIES


def test_a_formula_is_sampled_once_per_formula_lam_and_signal(monkeypatch):
    calls = []
    sample = function_properties._sampled_properties
    monkeypatch.setattr(
        function_properties, "_sampled_properties", lambda nl: calls.append(nl) or sample(nl)
    )
    function_properties._FORMULA_PROPERTIES.clear()
    first = stability.analyse_function(expression_nonlinearity("lam*tanh(r/lam)", lam=2.0))
    again = stability.analyse_function(expression_nonlinearity("lam*tanh(r/lam)", lam=2.0))
    assert again is first and len(calls) == 1  # another object of the same formula: kept
    stability.analyse_function(expression_nonlinearity("lam*tanh(r/lam)", lam=3.0))
    assert len(calls) == 2  # another lam: other functions


def test_a_changed_regulariser_is_shifted_by_its_own_psi_at_zero():
    offset = {"c": 0.0}
    psi = lambda r: r**2 + offset["c"]  # noqa: E731
    nl = from_function(psi, "regulariser")
    assert float(nl.psi(2.0)) == 4.0
    offset["c"] = 5.0
    assert float(nl.psi(2.0)) == 4.0


# --------------------------------------------------------------------------
# F1. regularise with Psi as a Python function: a flat Psi's numerical derivative (rounding
# noise, g_min = -7.8e-16) was refused as a negative g; the lam given was not the scale of
# the derivative's step (features at 1e-3: g_max = inf, refused).
# --------------------------------------------------------------------------

NOISY = np.repeat([0.0, 4.0, -2.0, 3.0], 64) + 0.5 * np.random.default_rng(1).standard_normal(256)


@pytest.mark.parametrize(
    "name, psi",
    [
        ("perona-malik", lambda r: 2.0 * (1.0 - np.exp(-(r**2) / 2.0))),
        ("hard", lambda r: np.minimum(r**2, 1.0)),
    ],
)
def test_a_regulariser_flat_far_out_runs_as_its_name(name, psi):
    named = rd.regularise(NOISY, name, lam=1.0, alpha=1.0, steps=16)
    given = rd.regularise(NOISY, psi, lam=1.0, alpha=1.0, steps=16)
    np.testing.assert_allclose(given, named, rtol=0, atol=1e-12)


def test_a_g_really_negative_is_still_refused():
    phi = lambda r: r * np.where(np.abs(r) > 10.0, -1e-10, 1.0)  # noqa: E731
    verdict = rd.check_tau(from_function(phi), 0.25)
    assert verdict.g_min < 0.0 and not verdict.linf_stable


def test_the_lam_given_is_the_scale_of_a_regulariser_function():
    lam = 1e-3
    quiet = NOISY * 1e-3
    psi = lambda r: 2 * lam**2 * (1 - np.exp(-(r**2) / (2 * lam**2)))  # noqa: E731
    named = rd.regularise(quiet, "perona-malik", lam=lam, alpha=2.0, steps=9)
    given = rd.regularise(quiet, psi, lam=lam, alpha=2.0, steps=9)
    np.testing.assert_allclose(given, named, rtol=0, atol=1e-9 * np.ptp(quiet))


# --------------------------------------------------------------------------
# F4. softsign's NumPy flux was inf / inf = nan at r = +-inf (a difference beyond the
# dtype) for lam >= 1: refused under RESDENOISE_ENGINE=numpy, run by the compiled loop.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softsign_flux_at_infinity_is_its_limit(lam, dtype):
    nl = rd.get_nonlinearity("softsign", lam=lam)
    r = np.array([np.inf, -np.inf, 2.0], dtype=dtype)
    assert nl.phi(r)[:2].tolist() == [lam, -lam]
    out = np.empty_like(r)
    work = (np.empty_like(r), np.empty(r.shape, np.int32 if dtype == np.float32 else np.int64))
    nl.flux_kernel(r, out, work)
    assert out[:2].tolist() == [dtype(lam), -dtype(lam)]


@pytest.mark.parametrize(
    "dtype, top", [(np.float64, 9e307), (np.float64, 1.7e308), (np.float32, 1.8e38)]
)
def test_softsign_beyond_the_dtype_runs_alike_in_both_loops(monkeypatch, dtype, top):
    u = np.array([0, top, -top, top, 0, 0, -top, 0.5 * top], dtype=dtype)
    compiled = rd.resnet(u, "softsign", lam=1.0, blocks=3)
    monkeypatch.setenv("RESDENOISE_ENGINE", "numpy")
    numpy = rd.resnet(u, "softsign", lam=1.0, blocks=3)
    np.testing.assert_array_equal(numpy, compiled)
    assert np.isfinite(numpy).all() and u.min() <= numpy.min() and numpy.max() <= u.max()


# --------------------------------------------------------------------------
# F3. The one-call functions' "nothing done" warning said "give --sigma", an option of the
# command line; they took no sigma.
# --------------------------------------------------------------------------

WALK = np.cumsum(np.random.default_rng(0).standard_normal(5000))  # no white noise in it


def test_the_one_call_functions_name_sigma_as_the_library_spells_it():
    with pytest.warns(UserWarning, match="nothing done") as said:
        out = rd.diffuse(WALK, "perona-malik", time="auto")
    np.testing.assert_array_equal(out, WALK)
    text = " ".join(str(w.message) for w in said)
    assert text.endswith("give sigma if you know the noise level") and "--" not in text


@pytest.mark.parametrize(
    "command, function, name, settings",
    [
        ("diffuse", rd.diffuse, "perona-malik", {"time": "auto"}),
        ("shrink", rd.shrink, "soft", {"iterations": "auto"}),
        ("regularise", rd.regularise, "charbonnier", {"alpha": "auto"}),
        ("resnet", rd.resnet, "tanh", {"blocks": "auto"}),
    ],
)
def test_the_one_call_functions_take_the_noise_level(command, function, name, settings):
    from resdenoise.filters import run_plan
    from resdenoise.plans import planner

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = function(WALK, name, sigma=0.5, **settings)
        plan, _ = planner(command, name, sigma=0.5, **settings)(WALK)
    np.testing.assert_array_equal(got, run_plan(plan, WALK))
    assert not np.array_equal(got, WALK)  # sigma given: the level is known, something is done


def test_sigma_given_with_lam_is_said_in_the_library_words():
    with pytest.warns(UserWarning, match=r"the noise level given \(sigma\) is not used") as said:
        rd.diffuse(WALK, "perona-malik", lam=1.0, steps=2, sigma=0.3)
    assert all("--sigma" not in str(w.message) for w in said)


# --------------------------------------------------------------------------
# F9. A formula (parse_expression) given to the one-call functions is callable: it was
# run as a plain function at lam = 1, whatever lam (or theta) was given.
# --------------------------------------------------------------------------

SHORT = np.array([0, 4, -2, 3, 1, 0.5])


@pytest.mark.parametrize(
    "function, text, form, name, settings",
    [
        (rd.resnet, "r*exp(-r^2/(2*lam^2))", "activation", "perona-malik", {"blocks": 3}),
        (rd.diffuse, "exp(-r^2/(2*lam^2))", "diffusivity", "perona-malik", {"steps": 3}),
        (rd.regularise, "2*lam^2*(1-exp(-r^2/(2*lam^2)))", "regulariser", "perona-malik", {}),
        (rd.shrink, "sign(s)*maximum(abs(s) - theta, 0)", "shrinkage", "soft", {}),
    ],
)
def test_a_formula_is_bound_to_the_lam_given(function, text, form, name, settings):
    from resdenoise.expr import parse_expression

    given = {"theta": 2.0} if form == "shrinkage" else {"lam": 0.5}
    formula = parse_expression(text, form)
    got = function(SHORT, formula, **given, **settings)
    np.testing.assert_allclose(got, function(SHORT, name, **given, **settings), atol=1e-12)
    if form != "regulariser":  # the plain function at lam = 1 ran before (refused: F1)
        other = {"theta": 2.0**-0.5} if form == "shrinkage" else {"lam": 1.0}
        assert not np.allclose(got, function(SHORT, name, **other, **settings), atol=1e-6)


# --------------------------------------------------------------------------
# F14. Under python -OO (docstrings stripped) resdenoise.api failed to import: it filled
# the shared docstring sections of None.
# --------------------------------------------------------------------------


def test_the_one_call_functions_work_without_docstrings():
    import subprocess
    import sys

    code = "import resdenoise as rd; print(rd.diffuse([0.0, 0.0, 1.0, 1.0], 'linear', lam=1.0, steps=1).tolist())"
    done = subprocess.run(
        [sys.executable, "-OO", "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0.0, 0.25, 0.75, 1.0]"


# --------------------------------------------------------------------------
# F13. A Python function whose features are at 1e-4 or below (a signal in volts) was
# refused as "g unbounded": g(0) = Phi'(0) differentiated with steps of lam = 1, and the
# sampling grid's inner end (1e-6 lam) not below where g still changes.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("s", [1e-4, 1e-8, 1e-12])
def test_a_function_of_small_features_runs_as_its_family(s):
    u = SHORT * s
    got = rd.resnet(u, lambda r: s * np.tanh(r / s), blocks=4)
    np.testing.assert_allclose(got, rd.resnet(u, "tanh", lam=s, blocks=4), rtol=0, atol=1e-13 * s)
    g = rd.diffuse(u, lambda r: 1 / np.sqrt(1 + (r / s) ** 2), steps=4)
    np.testing.assert_allclose(
        g, rd.diffuse(u, "charbonnier", lam=s, steps=4, tau=0.25), rtol=0, atol=1e-13 * s
    )
    soft = lambda x: np.sign(x) * np.maximum(np.abs(x) - s, 0)  # noqa: E731
    np.testing.assert_allclose(
        rd.shrink(u, soft, iterations=2),
        rd.shrink(u, "soft", theta=s, iterations=2),
        rtol=0,
        atol=1e-13 * s,
    )


def test_g_at_zero_follows_features_below_the_scale():
    s = 1e-4
    nl = from_function(lambda r: s * np.tanh(r / s))
    assert float(nl.g(0.0)) == pytest.approx(1.0, abs=1e-9)
    assert stability.analyse_function(nl).g_max == pytest.approx(1.0, abs=1e-9)


def test_g_unbounded_at_zero_is_still_found():
    assert stability.analyse_function(from_function(np.sign)).g_max == np.inf


# --------------------------------------------------------------------------
# F12. allow_unstable=True also skipped the samples' check: finite samples whose
# differences overflow came back as NaN / inf at a stable tau.
# --------------------------------------------------------------------------


def test_allow_unstable_still_probes_samples_beyond_the_dtype():
    """(audit21b A21b-7: a registry family now runs on such samples halved, exact; a
    function of the differences as given is still refused, allowed unstable or not.)"""
    u = np.array([0, 1.7e308, -1.7e308, 0, 1.0])
    for allow in (False, True):
        out = rd.diffuse(u, "perona-malik", lam=1.0, steps=3, allow_unstable=allow)
        assert np.isfinite(out).all()
        with pytest.raises(SignalValuesError, match="leaves float64"):
            rd.diffuse(u, lambda s: np.exp(-s * s), lam=1.0, steps=3, allow_unstable=allow)


def test_allow_unstable_still_runs_an_unstable_step():
    x = np.array([0.0, 1.0, 0.0, 1.0])
    out = rd.diffuse(x, "linear", lam=1.0, steps=1, tau=0.6, allow_unstable=True)
    assert np.isfinite(out).all()


# --------------------------------------------------------------------------
# F5. Messages of the one-call functions named parameters they do not have.
# --------------------------------------------------------------------------


def test_a_float32_automatic_lambda_beyond_float32_is_the_inputs_fault_said_in_our_terms():
    u = np.array([0, 1.8e38, -1.8e38, 0], np.float32)
    with pytest.raises(SignalValuesError, match=r"use u\.astype\('float64'\)$"):
        rd.resnet(u, "tanh", blocks=3)


def test_a_wrong_kind_of_nonlinearity_names_a_function_too():
    with pytest.raises(
        rd.ParameterError, match="a resdenoise Nonlinearity or a function of r, not int"
    ):
        rd.diffuse(np.arange(5.0), 123)
    with pytest.raises(rd.ParameterError, match="or a function of s, not NoneType"):
        rd.shrink(np.arange(5.0), None)


@pytest.mark.parametrize("axis", [1.0, 5, True])
def test_channel_axis_is_an_axis(axis):
    with pytest.raises(rd.ParameterError, match=r"0 \(or -2\), 1 \(or -1\) or None"):
        rd.diffuse(np.ones((3, 2)), "linear", lam=1.0, steps=1, channel_axis=axis)


def test_shrink_asks_for_theta_not_lam():
    with pytest.raises(SignalValuesError, match="give theta$"):
        rd.shrink(np.array([0, 1e-320, 0, 2e-320]), "soft")


# --------------------------------------------------------------------------
# F10. lam given with a bound Nonlinearity was dropped without a word.
# --------------------------------------------------------------------------


def test_lam_given_with_a_bound_nonlinearity_is_refused():
    nl = rd.get_nonlinearity("perona-malik", "diffusivity", lam=2.0)
    with pytest.raises(rd.ParameterError, match="^lam=0.5 given with the Nonlinearity"):
        rd.diffuse(SHORT, nl, lam=0.5, steps=3)
    with pytest.raises(rd.ParameterError, match="^theta=2.0 given with the Nonlinearity"):
        rd.shrink(SHORT, rd.get_nonlinearity("soft", "shrinkage"), theta=2.0)
    np.testing.assert_array_equal(  # without lam: the nonlinearity's own
        rd.diffuse(SHORT, nl, steps=3), rd.diffuse(SHORT, "perona-malik", lam=2.0, steps=3)
    )


# --------------------------------------------------------------------------
# F7. An activation writing into its argument (np.tanh(r, out=r)) died on the read-only
# sampling grid ("output array is read-only").  F6 L4: a function of the wrong kind
# surfaced as a deep NumPy error.
# --------------------------------------------------------------------------


def test_an_activation_writing_into_its_argument_runs():
    def in_place(r):
        np.tanh(r, out=r)
        return r

    x = np.cumsum(np.random.default_rng(0).standard_normal(64))
    np.testing.assert_array_equal(rd.resnet(x, in_place, blocks=5), rd.resnet(x, np.tanh, blocks=5))
    verdict = rd.check_tau(from_function(in_place), 0.25)
    assert verdict.linf_stable and verdict.g_max == pytest.approx(1.0)


@pytest.mark.parametrize(
    "function, said",
    [
        (lambda r: 1.0, "must return numbers of r's shape"),
        (lambda r: None, "got None"),
        (__import__("math").tanh, "cannot take an array of r"),
    ],
)
def test_a_function_of_the_wrong_kind_is_named(function, said):
    with pytest.raises(rd.ParameterError, match=said):
        rd.resnet(SHORT, function, blocks=1)


# --------------------------------------------------------------------------
# F6. Assorted: dask took NaN and declared a dtype it did not compute; masked, datetime and
# structured input were filtered as numbers; allow_unstable took any truthy value.
# --------------------------------------------------------------------------


def _dask_plan():
    pytest.importorskip("dask.array")
    from resdenoise.filters import plan_diffuse

    return plan_diffuse(rd.get_nonlinearity("perona-malik", "diffusivity", 0.5), steps=5)


def test_dask_refuses_a_nan_sample():
    import dask
    import dask.array as da

    from resdenoise.dask import filter_array

    plan = _dask_plan()
    x = np.repeat(np.cumsum(np.random.default_rng(0).standard_normal(64)), 50)
    x[100] = np.nan
    with dask.config.set(scheduler="synchronous"), pytest.raises(rd.SignalError, match="nan"):
        filter_array(da.from_array(x, chunks=500), plan).compute()


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble, np.float32, np.float64])
def test_dask_declares_the_dtype_it_computes(dtype):
    import dask
    import dask.array as da

    from resdenoise.dask import filter_array

    plan = _dask_plan()
    x = np.repeat(np.cumsum(np.random.default_rng(0).standard_normal(64)), 50).astype(dtype)
    y = filter_array(da.from_array(x, chunks=500), plan)
    with dask.config.set(scheduler="synchronous"):
        assert y.dtype == y.compute().dtype


@pytest.mark.parametrize(
    "u",
    [
        np.ma.array([0.0, 1e6, 2.0, 3.0], mask=[0, 1, 0, 0]),
        np.array(["2020-01-01", "2020-01-02", "2020-01-05"], dtype="datetime64[D]"),
        np.array([(0.0,), (4.0,), (8.0,)], dtype=[("a", "f8")]),
        np.array(["1.5", "2", "3"]),
    ],
)
def test_what_is_no_samples_is_refused(u):
    with pytest.raises(rd.SignalError):
        rd.diffuse(u, "linear", lam=1.0, steps=1)


def test_an_unmasked_masked_array_is_its_data():
    u = np.ma.array([0.0, 1.0, 2.0, 3.0], mask=[0, 0, 0, 0])
    np.testing.assert_array_equal(
        rd.diffuse(u, "linear", lam=1.0, steps=1),
        rd.diffuse(u.data, "linear", lam=1.0, steps=1),
    )


def test_allow_unstable_is_true_or_false():
    with pytest.raises(rd.ParameterError, match="allow_unstable must be True or False"):
        rd.diffuse(SHORT, "linear", lam=1.0, steps=1, tau=0.6, allow_unstable="no")
