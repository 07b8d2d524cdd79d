"""Property-based proofs of the stability theorem (the paper, section 3), by hypothesis.

For every registry entry, named by its key or an alias in any of the four
forms and run through that form's plan (diffuse, shrink, regularise,
resnet), on signals of length 2..500 with amplitudes 1e-3..1e3, one or
several channels, tau at the L-infinity bound, at the sign bound or random
below, and several blocks:

* max-min principle: ``min f <= u <= max f``;
* total variation does not increase;
* the mean is preserved (relative 1e-12);
* at tau <= the sign bound, sign changes do not increase;
* filtering commutes with negation (every entry has an odd Phi) and with
  reversing the signal.

Each property is asserted directly, with a rounding allowance written here
(a few ulp of the amplitude per block), and also through the library's own
``measure_channels``/``guarantees_failed`` verdict, which must agree.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from resdenoise import filters, stability
from resdenoise.nonlinearities import (
    FORMS,
    NONLINEARITIES,
    from_function,
    get_nonlinearity,
    resolve_name,
)

#: examples per test: scales with the hypothesis profile loaded in conftest
#: (100 by default, 2000 with HYPOTHESIS_PROFILE=thorough)
EXAMPLES = 2 * settings.default.max_examples


def names(form: str) -> list[tuple[str, str]]:
    """(key, name) for every key and alias of ``form``."""
    out = []
    for key, entry in NONLINEARITIES.items():
        out += [(key, key)] + [(key, a) for a in entry.aliases.get(form, ())]
    return out


CASES = [(form, key, name) for form in FORMS for key, name in names(form)]


@st.composite
def signals(draw, max_n=500):
    n = draw(st.integers(2, max_n))
    channels = draw(st.sampled_from([1, 1, 2, 3]))
    amplitude = 10.0 ** draw(st.floats(-3.0, 3.0))
    shape = (n,) if channels == 1 else (n, channels)
    unit = draw(
        hnp.arrays(
            np.float64,
            shape,
            elements=st.floats(-1.0, 1.0, allow_subnormal=False),
        )
    )
    kind = draw(st.sampled_from(["raw", "steps", "noisy-steps"]))
    if kind != "raw":
        unit = np.round(unit * 3.0) / 3.0  # piecewise constant, exact repeats
    if kind == "noisy-steps":
        unit = unit + 1e-3 * draw(
            hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, allow_subnormal=False))
        )
    return amplitude * unit, amplitude


@st.composite
def runs(draw):
    """A plan (through the form's own planner), a signal, and what was chosen."""
    form, key, name = draw(st.sampled_from(CASES))
    f, amplitude = draw(signals())
    lam = amplitude * 10.0 ** draw(st.floats(-2.0, 1.0))
    nl = get_nonlinearity(name, form, lam=lam)
    m = draw(st.integers(1, 30))
    h = draw(st.sampled_from([1.0, 1.0, 0.5, 1.7]))
    linf, sign = stability.tau_bounds(NONLINEARITIES[key].g_max, h)  # h^2/(2 g_max), h^2/(4 g_max)
    choice = draw(st.sampled_from(["linf", "sign", "below-linf", "below-sign"]))
    tau = {
        "linf": linf,
        "sign": sign,
        "below-linf": linf * draw(st.floats(1e-3, 1.0)),
        "below-sign": sign * draw(st.floats(1e-3, 1.0)),
    }[choice]
    if form == "diffusivity":
        plan = filters.plan_diffuse(nl, steps=m, tau=tau, h=h)
    elif form == "regulariser":
        # alpha = m tau with m blocks, so that tau = alpha/m is not rounded up
        alpha = m * tau
        while alpha / m > tau:
            alpha = float(np.nextafter(alpha, 0.0))
        plan = filters.plan_regularise(nl, alpha=alpha, steps=m, h=h)
    elif form == "shrinkage":
        plan = filters.plan_shrink(nl, iterations=m)  # tau = 1/4, h = 1
    else:
        plan = filters.plan_resnet(nl, blocks=m, tau=tau, h=h)
    note(f"{form} {name!r} ({key}) lam={lam!r} m={m} h={plan.h} tau={plan.tau!r} ({choice})")
    return plan, f, key


def allowance(f: np.ndarray, m: int) -> float:
    """Rounding allowance: 4 ulp of max|f| per block, accumulated as sqrt(m) (at least 4 ulp)."""
    return 4.0 * float(np.spacing(np.max(np.abs(f)))) * math.sqrt(m)


def per_channel(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], -1)


@settings(max_examples=EXAMPLES)
@given(runs())
def test_stability_guarantees(run):
    plan, f, key = run
    assert resolve_name(plan.nl.name, plan.form).key == key
    verdict = plan.verdict()
    # every plan drawn has tau <= h^2 / (2 g_max)
    g_max = NONLINEARITIES[key].g_max
    assert verdict.linf_stable and verdict.tau_linf_bound == plan.h**2 / (2.0 * g_max)
    u = filters.run_plan(plan, f)
    assert u.shape == f.shape and np.all(np.isfinite(u))
    f2, u2 = per_channel(f), per_channel(u)
    eps = allowance(f, plan.steps)

    # max-min principle
    assert np.all(u2.min(axis=0) >= f2.min(axis=0) - eps)
    assert np.all(u2.max(axis=0) <= f2.max(axis=0) + eps)
    # total variation does not increase
    tv_in, tv_out = total_variation(f2), total_variation(u2)
    assert np.all(tv_out <= tv_in + f2.shape[0] * eps)
    # mean preserved, relative 1e-12
    amp = np.max(np.abs(f2), axis=0)
    assert np.all(np.abs(u2.mean(axis=0) - f2.mean(axis=0)) <= 1e-12 * amp)
    # sign changes: u (values within the allowance count as zero) has no
    # more than f (every nonzero value counts)
    sign_stable = plan.tau <= plan.h**2 / (4.0 * g_max)
    if sign_stable:
        for c in range(f2.shape[1]):
            assert sign_changes(u2[:, c], eps) <= sign_changes(f2[:, c], 0.0)

    # the library's own verdict agrees
    checks, _ = stability.measure_channels(f, u, plan.steps)
    assert stability.guarantees_failed(checks, verdict) == []
    assert verdict.sign_stable == sign_stable


@settings(max_examples=EXAMPLES // 2)
@given(runs())
def test_commutes_with_negation_and_reversal(run):
    plan, f, _ = run
    eps = allowance(f, plan.steps)
    # Negating or reversing the signal negates every difference d_i, so the
    # result is that of the reflected activation r -> -Phi(-r); for an odd
    # Phi (every registry entry) that is Phi itself.
    reflected = plan
    if not plan.nl.entry.odd:
        phi = plan.nl.phi
        reflected = replace(plan, nl=from_function(lambda r: -phi(-r), lam=plan.nl.lam))
    u_reflected = filters.run_plan(reflected, f)
    np.testing.assert_allclose(filters.run_plan(plan, -f), -u_reflected, rtol=0, atol=eps)
    np.testing.assert_allclose(filters.run_plan(plan, f[::-1])[::-1], u_reflected, rtol=0, atol=eps)


@settings(max_examples=EXAMPLES // 2)
@given(signals(max_n=60), st.sampled_from(sorted(NONLINEARITIES)), st.integers(1, 5))
def test_one_block_at_a_time_is_the_same_run(signal, key, m):
    """Blocks chain: m blocks equal m runs of one block (Theorem 2's induction)."""
    f, amplitude = signal
    nl = get_nonlinearity(key, lam=amplitude)
    plan = filters.plan_resnet(nl, blocks=m)
    one = filters.plan_resnet(nl, blocks=1)
    u = f
    for _ in range(m):
        u = filters.run_plan(one, u)
    np.testing.assert_array_equal(filters.run_plan(plan, f), u)


# Reference counters written here (independent of resdenoise.stability)


def total_variation(a2: np.ndarray) -> np.ndarray:
    return np.array(
        [
            sum(abs(float(y) - float(x)) for x, y in zip(col[:-1], col[1:], strict=True))
            for col in a2.T
        ]
    )


def sign_changes(col: np.ndarray, zero: float) -> int:
    signs = [1 if x > zero else -1 for x in col if abs(x) > zero]
    return sum(1 for a, b in zip(signs[:-1], signs[1:], strict=True) if a != b)


@settings(max_examples=EXAMPLES // 2)
@given(runs())
def test_float32_signals_keep_their_dtype_and_the_guarantees(run):
    """float32 in, float32 out, computed in float32: the same guarantees, in float32 ulp."""
    plan, f, _ = run
    f32 = f.astype(np.float32)
    u = filters.run_plan(plan, f32)
    assert u.dtype == np.float32
    f2, u2 = per_channel(f32).astype(float), per_channel(u).astype(float)
    eps = allowance(f32, plan.steps)
    assert np.all(u2.min(axis=0) >= f2.min(axis=0) - eps)
    assert np.all(u2.max(axis=0) <= f2.max(axis=0) + eps)
    assert np.all(np.abs(u2.mean(axis=0) - f2.mean(axis=0)) <= f2.shape[0] * eps)
    checks, _ = stability.measure_channels(f32, u, plan.steps)
    assert stability.guarantees_failed(checks, plan.verdict()) == []
