"""Left-overs of session 37: run_blocks refuses what the one-call functions refuse
(item 3); a function's default step count is its named family's where its sampled
g_max is within rounding of the family's (item 4)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import resdenoise as rd
from resdenoise.engine import run_blocks, run_blocks_unchecked

PM = rd.get_nonlinearity("perona-malik", "diffusivity", lam=1.0)


def _said(call) -> str:
    with pytest.raises(ValueError) as caught:
        call()
    assert isinstance(caught.value, rd.SignalError) and "\n" not in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize(
    "u",
    [
        np.array([0.0, 1.0, np.nan, 3.0]),
        np.array([0.0, np.inf, 2.0]),
        np.array([[0.0, 1.0], [2.0, -np.inf], [3.0, np.nan]]),
        np.array([0.0, 1.0, np.nan, 3.0], dtype=np.float32),
        np.array([1.0 + 2.0j, 3.0, 4.0, 5.0]),
        np.array([1, 2, 3, 4], dtype=np.complex64),
    ],
)
def test_run_blocks_refuses_a_non_finite_or_complex_signal_as_the_one_call_functions(u):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a complex cast warned and ran)
        said = _said(lambda: run_blocks(u, PM, 0.25, 3))
    assert said == _said(lambda: rd.diffuse(u, "perona-malik", lam=1.0, steps=3))
    assert said == _said(lambda: run_blocks(u, PM, 0.25, 0))  # no block: refused all the same
    assert said.startswith("the signal")


def test_run_blocks_names_the_first_non_finite_sample():
    u = np.zeros((5, 2))
    u[3, 0], u[1, 1] = np.nan, np.inf
    assert _said(lambda: run_blocks(u, PM, 0.25, 1)) == (
        "the signal: sample 2, channel 2 is inf, not a finite number"
    )


def test_samples_beyond_the_working_dtype_are_named_so():
    u = np.array([0.0, 1e300, 2.0])
    said = _said(lambda: run_blocks(u, PM, 0.25, 1, dtype="float32"))
    assert said == (
        "the signal: samples up to 1e+300 are beyond the range of float32 "
        "(largest 3.40282e+38); use dtype='float64'"
    )
    run_blocks(u, PM, 0.25, 1)  # float64: in range


def test_the_unchecked_run_carries_a_non_finite_sample():
    """The library's own runs of values it made (a flux probe that may overflow float32,
    a network's next group): a NaN runs into the output, not refused."""
    u = np.array([0.0, 1.0, np.nan, 3.0])
    with np.errstate(invalid="ignore"):
        out = run_blocks_unchecked(u, PM, 0.25, 1)
    assert np.isnan(out[1:3]).all()


# --------------------------------------------------------------------------
# Item 4. A regulariser given as a Python Psi: its g = Psi'/2 by a numerical
# derivative sampled up to 1.2e-11 (now 1.4e-12) above the closed form's g_max, and its default
# count one step more than the named family's (21 against 20 at time or alpha 5).
# --------------------------------------------------------------------------

U = np.cumsum(np.random.default_rng(0).standard_normal(200))


def _as_python(key: str, lam: float):
    named = rd.get_nonlinearity(key, "regulariser", lam=lam)
    return named, rd.from_function(lambda s: named.psi(s), "regulariser", name="py", lam=lam)


@pytest.mark.parametrize(("key", "lam"), [("perona-malik", 3.0), ("charbonnier", 1.0),
                                          ("garrote", 3.0), ("tanh", 0.5)])  # fmt: skip
@pytest.mark.parametrize(("command", "settings"), [("regularise", {"alpha": 5.0}),
                                                   ("diffuse", {"time": 5.0})])  # fmt: skip
def test_a_python_function_takes_its_named_familys_default_steps(key, lam, command, settings):
    from resdenoise.plans import planner
    from resdenoise.stability import analyse_function

    named, python = _as_python(key, lam)
    g_max = analyse_function(python).g_max
    assert abs(g_max - 1.0) <= 1e-10  # sampled: the truth (1) within its rounding
    want, _ = planner(command, named, **settings)(U)
    plan, _ = planner(command, python, **settings)(U)
    assert (plan.steps, plan.tau) == (want.steps, want.tau) == (20, 0.25)
    verdict = plan.verdict()  # the tau at the sampled bound, within its rounding
    assert verdict.sign_stable and not verdict.exact


def test_a_sampled_g_max_above_the_rounding_takes_its_step_more():
    """g_max 1 + 1e-7 (no rounding: a larger g): 21 blocks, as its bound demands."""
    from resdenoise.filters import plan_diffuse
    from resdenoise.stability import G_MAX_ROUNDING, analyse_function

    above = rd.from_function(lambda r: (1.0 + 1e-7) / (1.0 + r * r), "diffusivity", lam=1.0)
    assert analyse_function(above).g_max > 1.0 + 10 * G_MAX_ROUNDING
    plan = plan_diffuse(above, time=5.0)
    assert plan.steps == 21 and plan.verdict().sign_stable
    assert plan_diffuse(above, time=5.0, tau=0.25).steps == 20  # a tau given: as given
    assert not plan_diffuse(above, steps=20, tau=0.25).verdict().sign_stable


def test_a_closed_form_bound_keeps_its_ulps():
    from resdenoise.stability import within_bound

    assert not within_bound(0.25, 0.25 / (1 + 1e-11))
    assert within_bound(0.25, 0.25 / (1 + 1e-11), exact=False)
    assert not within_bound(0.25, 0.25 / (1 + 1e-9), exact=False)
