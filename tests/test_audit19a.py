"""audit19a (a lecturer and students reproducing the paper): activations that are not odd.

A19a-10: ReLU, leaky ReLU, GELU and SiLU have 0 <= g = Phi(r)/r <= 1 but are not odd.  The
max-min principle, total-variation and sign arguments of the paper's section 3 use g's range
only, so they are stable for tau <= 1/2 (sign stable for tau <= 1/4); they were refused
("No tau makes it stable") and, allowed, reported "guarantees failed" where every measured
guarantee held.  Checked here by hypothesis on an explicit step written in this file.

A19a-13: one averaged Haar step with detail w = (u_i - u_i+1)/sqrt2 = -d/sqrt2 is the flux
tau Phi(d) = d/4 + S(-d/sqrt2)/(2 sqrt2), so S(s) = s + Phi(-sqrt2 s)/sqrt2 at tau = 1/4: the
paper's s - Phi(sqrt2 s)/sqrt2 only for an odd S.  The translations used the odd form for every
S (ReLU's shrinkage came out min(s, 0), its block is max(s, 0); ``shrink`` with a shrinkage
that is not odd ran -S(-s)).  Checked against a cycle-spun Haar written here and PyWavelets.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import pywt
from hypothesis import given, note, settings
from hypothesis import strategies as st
from test_properties import allowance, per_channel, sign_changes, signals, total_variation

import resdenoise as rd
from resdenoise._translations import phi_to_shrinkage, shrinkage_to_phi
from resdenoise.nonlinearities import NONLINEARITIES, get_nonlinearity
from resdenoise.stability import check_tau

SQRT2 = math.sqrt(2.0)
NOT_ODD = ("relu", "leaky-relu", "gelu", "silu")
EXAMPLES = settings.default.max_examples


def explicit_step(u: np.ndarray, phi, tau: float, h: float = 1.0) -> np.ndarray:
    """u_i + tau/h (Phi(d_i/h) - Phi(d_i-1/h)), reflecting ends (no flux out)."""
    d = np.diff(u, axis=0) / h
    zero = np.zeros((1,) + u.shape[1:])
    flux = np.concatenate([zero, phi(d), zero], axis=0)
    return u + tau / h * np.diff(flux, axis=0)


def haar_cycle_spin(u: np.ndarray, shrink) -> np.ndarray:
    """One cycle-spun Haar step on the mirrored signal [u, u reversed]: a = (x + y)/sqrt2,
    w = (x - y)/sqrt2 for the pairs (x_2k+s, x_2k+1+s), s = 0, 1, averaged."""
    n = u.shape[0]
    x = np.concatenate([u, u[::-1]])
    m = x.size
    out = np.zeros(m)
    for s in (0, 1):
        i = (np.arange(0, m, 2) + s) % m
        j = (i + 1) % m
        a, w = (x[i] + x[j]) / SQRT2, shrink((x[i] - x[j]) / SQRT2)
        rec = np.empty(m)
        rec[i], rec[j] = (a + w) / SQRT2, (a - w) / SQRT2
        out += rec / 2.0
    return out[:n]


def pywt_step(u: np.ndarray, shrink) -> np.ndarray:
    """The same step by PyWavelets: level-1 swt/iswt Haar on [u, u reversed]."""
    x = np.concatenate([u, u[::-1]])
    [(approx, detail)] = pywt.swt(x, "haar", level=1)
    return pywt.iswt([(approx, shrink(detail))], "haar")[: u.size]


@pytest.fixture
def f():
    rng = np.random.default_rng(19)
    return np.repeat([0.0, 2.0, -1.0, 1.0], 16) + 0.3 * np.cumsum(rng.normal(size=64))


# --------------------------------------------------------------------------
# A19a-10: stable though not odd
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", NOT_ODD)
def test_not_odd_with_g_in_0_1_is_stable_by_check_tau(key):
    nl = get_nonlinearity(key, lam=0.7)
    at_sign, at_linf, above = check_tau(nl, 0.25), check_tau(nl, 0.5), check_tau(nl, 0.51)
    assert not at_sign.odd and at_sign.g_min >= 0.0 and at_sign.g_max == 1.0
    assert at_sign.linf_stable and at_sign.sign_stable and at_sign.reason == ""
    assert at_linf.linf_stable and not at_linf.sign_stable
    assert not above.linf_stable and "Phi is not odd" not in above.reason
    assert above.tau_helps  # a smaller tau is stable: the refusal gives one
    with pytest.raises(rd.UnstableError, match=r"stable tau is <= 0\.5") as info:
        rd.resnet(np.arange(8.0), key, lam=0.7, blocks=2, tau=0.6)
    assert "No tau" not in str(info.value)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    signals(max_n=200),
    st.sampled_from(NOT_ODD),
    st.floats(-2.0, 1.0),
    st.sampled_from(["linf", "sign"]),
    st.floats(1e-3, 1.0),
    st.integers(1, 20),
)
def test_not_odd_blocks_keep_the_guarantees(drawn, key, log_lam, bound, fraction, m):
    """The run (library) equals the explicit step written here; its output keeps the
    max-min principle and total variation at tau <= 1/2, the sign changes at tau <= 1/4."""
    f, amplitude = drawn
    lam = amplitude * 10.0**log_lam
    tau = (0.5 if bound == "linf" else 0.25) * (1.0 if fraction > 0.9 else fraction)
    note(f"{key} lam={lam!r} tau={tau!r} m={m}")
    nl = get_nonlinearity(key, lam=lam)
    axis = 1 if f.ndim == 2 else None
    with warnings.catch_warnings():  # above 1/4: the sign-stability warning, no refusal
        warnings.simplefilter("ignore" if tau > 0.25 else "error")
        u = rd.resnet(f, key, lam=lam, blocks=m, tau=tau, channel_axis=axis)
    own = f.copy()
    for _ in range(m):
        own = explicit_step(own, nl.phi, tau)
    np.testing.assert_allclose(u, own, rtol=0, atol=1e-12 * amplitude * m)
    f2, u2 = per_channel(f), per_channel(u)
    eps = allowance(f, m)
    assert np.all(u2.min(axis=0) >= f2.min(axis=0) - eps)
    assert np.all(u2.max(axis=0) <= f2.max(axis=0) + eps)
    assert np.all(total_variation(u2) <= total_variation(f2) + f2.shape[0] * eps)
    if tau <= 0.25:
        for c in range(f2.shape[1]):
            assert sign_changes(u2[:, c], eps) <= sign_changes(f2[:, c], 0.0)


# --------------------------------------------------------------------------
# A19a-13: the shrinkage of a function that is not odd
# --------------------------------------------------------------------------


def test_relu_shrinkage_is_max_s_0_and_its_block_is_that_haar_step(f):
    nl = get_nonlinearity("relu", lam=1.0)
    s = np.linspace(-3.0, 3.0, 61)
    np.testing.assert_allclose(nl.shrinkage(s), np.maximum(s, 0.0), rtol=1e-15, atol=0)
    block = rd.resnet(f, "relu", lam=1.0, blocks=1, tau=0.25)
    relu_s = lambda w: np.maximum(w, 0.0)  # noqa: E731
    np.testing.assert_allclose(block, haar_cycle_spin(f, relu_s), rtol=0, atol=1e-12)
    np.testing.assert_allclose(block, pywt_step(f, relu_s), rtol=0, atol=1e-12)
    # the mirrored shrinkage min(s, 0) translated before is another filter
    assert np.abs(block - haar_cycle_spin(f, lambda w: np.minimum(w, 0.0))).max() > 0.1


@pytest.mark.parametrize("key", ["leaky-relu", "gelu", "silu"])
def test_translated_shrinkage_of_an_activation_that_is_not_odd_is_its_block(f, key):
    nl = get_nonlinearity(key, lam=0.8)
    block = rd.resnet(f, key, lam=0.8, blocks=1, tau=0.25)
    np.testing.assert_allclose(block, haar_cycle_spin(f, nl.shrinkage), rtol=0, atol=1e-12)
    np.testing.assert_allclose(block, pywt_step(f, nl.shrinkage), rtol=0, atol=1e-12)


def test_shrink_with_a_shrinkage_that_is_not_odd_runs_that_shrinkage(f):
    """S shrinks positive coefficients only: 0 <= S(s)/s <= 1, so g in [0, 1], stable."""
    theta = 0.2

    def one_sided(s):
        return np.maximum(s - theta, 0.0) + np.minimum(s, 0.0)

    out = rd.shrink(f, one_sided, theta=theta, iterations=3)
    own = f.copy()
    for _ in range(3):
        own = haar_cycle_spin(own, one_sided)
    np.testing.assert_allclose(out, own, rtol=0, atol=1e-12)
    by_pywt = f.copy()
    for _ in range(3):
        by_pywt = pywt_step(by_pywt, one_sided)
    np.testing.assert_allclose(out, by_pywt, rtol=0, atol=1e-12)
    # the CLI's formula too (--shrinkage-expr), with its own --check-wavelet
    from resdenoise.expr import expression_nonlinearity

    nl = expression_nonlinearity(
        "maximum(s - theta, 0) + minimum(s, 0)", "shrinkage", SQRT2 * theta
    )
    np.testing.assert_allclose(rd.shrink(f, nl, theta=theta, iterations=3), own, rtol=0, atol=1e-12)


ODD_KEYS = sorted(NONLINEARITIES)  # the paper's six families, tanh, softsign, arctan


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_families_translate_bit_for_bit_as_before(key):
    """For an odd function the general translations are the paper's, bit for bit:
    S(s) = (sqrt2 s - Phi(sqrt2 s))/sqrt2 and Phi(r) = 4 (r/4 - S(r/sqrt2)/(2 sqrt2))."""
    nl = get_nonlinearity(key, lam=0.9)
    assert NONLINEARITIES[key].odd
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(size=500) * 3.0, np.geomspace(1e-8, 1e3, 200)])
    x = np.concatenate([x, -x, [0.0]])
    with np.errstate(all="ignore"):
        xs = SQRT2 * x
        old_s = (xs - 4.0 * 0.25 * nl.phi(xs)) / SQRT2
        new_s = phi_to_shrinkage(nl.phi)(x)
        np.testing.assert_array_equal(new_s, old_s)
        shrink = nl.shrinkage
        old_phi = (x / 4.0 - shrink(x / SQRT2) / (2.0 * SQRT2)) / 0.25
        np.testing.assert_array_equal(shrinkage_to_phi(shrink)(x), old_phi)


# --------------------------------------------------------------------------
# A19a-2: shrink's refusal and warning in S's terms, a diffusivity in g's
# --------------------------------------------------------------------------


def _cli(*args):
    from click.testing import CliRunner

    from resdenoise.cli import cli

    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def steps_csv(tmp_path, f):
    path = tmp_path / "in.csv"
    path.write_text("\n".join(repr(float(x)) for x in f) + "\n")
    return path


def test_shrink_refusal_names_the_shrinkage_condition_not_a_tau(steps_csv, tmp_path):
    out = tmp_path / "o.csv"
    args = ["shrink", str(steps_csv), "--shrinkage-expr", "-1.5*s", "--threshold", "0.3"]
    result = _cli(*args, "-o", str(out))
    assert result.exit_code == 3 and not out.exists()
    assert len(result.stderr.strip().splitlines()) == 1
    # S(0.3) = -0.45: |S(s)| > |s| (g = 1 - S(s)/s = 2.5 > 2 at tau = 1/4)
    assert "|S(s)| <= |s| fails (S(0.3) = -0.45)" in result.stderr, result.stderr
    assert "tau = 1/4" in result.stderr and "--allow-unstable" in result.stderr
    assert "A stable tau" not in result.stderr and "exceeds" not in result.stderr
    with pytest.raises(rd.UnstableError, match=r"\|S\(s\)\| <= \|s\| fails") as info:
        rd.shrink(np.arange(10.0) % 3, lambda s: -1.5 * s, theta=0.3)
    assert "A stable tau" not in str(info.value)
    # S(s) = -0.5 s: L-infinity stable, not sign stable (0 <= S(s)/s fails)
    result = _cli("shrink", str(steps_csv), "--shrinkage-expr", "-0.5*s", "--threshold", "0.3")
    assert result.exit_code == 0
    assert "0 <= S(s)/s <= 1 (S(s) has the sign of s) fails (S(0.3) = -0.15)" in result.stderr
    assert "sign-stable bound" not in result.stderr


def test_a_negative_diffusivity_is_said_in_g(steps_csv):
    args = ["diffuse", str(steps_csv), "--diffusivity-expr", "tanh(r)", "--steps", "3"]
    result = _cli(*args, "--tau", "0.1")
    assert result.exit_code == 3
    assert "the diffusivity is negative somewhere (g(-1) = -0.761594 < 0" in result.stderr
    assert "Phi" not in result.stderr


# --------------------------------------------------------------------------
# A19a-1: the regulariser translate prints for tanh can be typed back in
# --------------------------------------------------------------------------


def _typed(formula: str) -> str:
    """A printed formula as a student types it: ``|x|`` -> abs(x), ln -> log, x = r/lam."""
    body, _, x = formula.partition(", x = ")
    for a, b in (("|x|", "abs(x)"), ("ln 2", "log(2)"), ("ln(", "log("), (" (", "*(")):
        body = body.replace(a, b)
    body = body.replace("-2abs", "-2*abs").replace("2 lam", "2*lam")
    return re.sub(r"\bx\b", f"({x})", body)


def test_tanh_regulariser_as_printed_runs_when_typed_back(steps_csv, tmp_path):
    printed = json.loads(_cli("translate", "--activation", "tanh", "--json").stdout)
    formula = printed["forms"]["regulariser"]["formula"]
    assert formula == "2 lam^2 (|x| + ln(1 + exp(-2|x|)) - ln 2), x = r/lam"
    typed = _typed(formula)
    assert typed == "2*lam^2*(abs((r/lam)) + log(1 + exp(-2*abs((r/lam)))) - log(2))"
    mine, named = tmp_path / "mine.csv", tmp_path / "named.csv"
    common = ["regularise", str(steps_csv), "--alpha", "2", "--lambda", "0.5", "-q", "--steps", "8"]
    result = _cli(*common, "--regulariser-expr", typed, "-o", str(mine))
    assert result.exit_code == 0, result.output
    assert _cli(*common, "--regulariser", "tanh", "-o", str(named)).exit_code == 0
    a, b = (np.loadtxt(p, delimiter=",", comments="#") for p in (mine, named))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    # the textbook spelling overflows at |r| ~ 710 (the sampling reaches 1e6 lam): said so
    with pytest.raises(rd.ParameterError, match=r"an overflow\? .*ln cosh x = \|x\| \+ log1p"):
        rd.regularise(np.arange(8.0), lambda r: 2 * np.log(np.cosh(r)), alpha=2)


def test_sigmoid_regulariser_as_printed_is_finite_everywhere():
    nl = get_nonlinearity("sigmoid", "activation", lam=1.0)
    formula = nl.entry.formulas["regulariser"]
    assert "exp(-|x|)" in formula  # no exp(x) of a large x


def test_the_registries_are_read_only():
    """A19a-7: popping an entry made get_nonlinearity raise a bare KeyError."""
    from resdenoise.nonlinearities import NON_ODD_ACTIVATIONS, PARAMETRISED_FAMILIES

    for registry in (rd.NONLINEARITIES, NON_ODD_ACTIVATIONS, PARAMETRISED_FAMILIES):
        with pytest.raises((TypeError, AttributeError)):
            registry.pop("hard")  # type: ignore[attr-defined]
        with pytest.raises(TypeError):
            registry["mine"] = registry[next(iter(registry))]  # type: ignore[index]
    assert get_nonlinearity("hard").key == "hard"


# --------------------------------------------------------------------------
# A19a-3, -8, -9, -12: what the README and docstrings say
# --------------------------------------------------------------------------

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_run_blocks_points_to_check_tau():
    from resdenoise.engine import run_blocks

    assert "No stability check" in run_blocks.__doc__ and "check_tau" in run_blocks.__doc__
    assert "checks no stability" in README and "resdenoise.check_tau(nl, 0.3)" in README


def test_readme_states_the_ends_the_haar_step_and_the_pywt_recipe(f):
    one = " ".join(README.split())
    assert "reflecting (zero-flux, homogeneous Neumann) ends" in one
    assert "a = (x + y)/sqrt2, w = (x - y)/sqrt2" in one
    assert 'pywt.swt(np.concatenate([f, f[::-1]]), "haar", level=1)' in one
    assert "reflecting" in rd.shrink.__doc__ and "reflecting" in rd.diffuse.__doc__
    # the recipe as written equals shrink
    theta = 0.3

    def soft(s):
        return np.sign(s) * np.maximum(np.abs(s) - theta, 0.0)

    [(a, d)] = pywt.swt(np.concatenate([f, f[::-1]]), "haar", level=1)
    recipe = pywt.iswt([(a, soft(d))], "haar")[: len(f)]
    np.testing.assert_allclose(rd.shrink(f, "soft", theta=theta), recipe, rtol=0, atol=1e-12)


def test_readme_names_the_classical_noise_level_and_it_runs_as_sigma(f):
    from resdenoise.wavelet import estimate_noise

    assert "resdenoise.wavelet.estimate_noise(f)" in README
    sigma = float(estimate_noise(f)[0])
    # its median of |finest Haar details| / 0.6745, written here
    details = np.abs(f[0::2][: len(f) // 2] - f[1::2][: len(f) // 2]) / SQRT2
    assert sigma == pytest.approx(np.median(details) / 0.6745, rel=1e-12)
    rd.shrink(f, "soft", sigma=sigma)  # taken as the noise level


def test_readme_says_how_a_type_checker_sees_an_editable_install():
    assert "MYPYPATH=/path/to/resdenoise mypy script.py" in README


# --------------------------------------------------------------------------
# A19a-4: tv; A19a-11: Theorem 2's finite L
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, option, name, also",
    [
        ("diffuse", "--diffusivity", "tv", "truncated-tv"),
        ("diffuse", "--diffusivity", "total-variation", "truncated-tv"),
        ("regularise", "--regulariser", "TV", "huber"),
    ],
)
def test_plain_tv_points_to_truncated_tv(steps_csv, tmp_path, command, option, name, also):
    out = tmp_path / "o.csv"
    result = _cli(command, str(steps_csv), option, name, "--steps", "2", "-o", str(out))
    assert result.exit_code == 2 and not out.exists()
    text = " ".join(result.stderr.split())
    assert "plain total variation (g = 1/|r|, Psi = 2|r|) is unbounded at r = 0" in text
    assert "truncated TV is the soft family" in text and also in text


def test_translate_says_theorem_2_asks_a_finite_lipschitz_constant():
    hard = json.loads(_cli("translate", "--shrinkage", "hard", "--tau", "0.25", "--json").stdout)
    assert hard["lipschitz"] is None or math.isinf(hard["lipschitz"])
    assert len(hard["notes"]) == 1 and "finite Lipschitz constant L" in hard["notes"][0]
    table = " ".join(_cli("translate", "--shrinkage", "hard", "--tau", "0.25").stdout.split())
    assert "note the paper states Theorem 2 for a finite Lipschitz constant L" in table
    soft = json.loads(_cli("translate", "--shrinkage", "soft", "--json").stdout)
    assert soft["notes"] == []


# --------------------------------------------------------------------------
# A19a-5: --check-wavelet says its result; A19a-6: linear: no lambda in play
# --------------------------------------------------------------------------


def test_check_wavelet_says_its_result_in_the_summary(steps_csv, tmp_path):
    out = tmp_path / "o.csv"
    args = ["shrink", str(steps_csv), "--shrinkage", "garrote", "--threshold", "0.3"]
    result = _cli(*args, "--iterations", "4", "--check-wavelet", "-o", str(out))
    assert result.exit_code == 0
    text = " ".join(result.stderr.split())
    found = re.search(r"cycle-spun Haar transform: largest difference (\S+)", text)
    assert found and float(found.group(1)) < 1e-12, text
    plain = _cli(*args, "--iterations", "4", "-o", str(out))
    assert "Haar transform" not in plain.stderr


@pytest.mark.parametrize(
    "args, said",
    [
        (["diffuse", "--diffusivity", "linear", "--steps", "5"], "lambda not used (g = 1)"),
        (["shrink", "--shrinkage", "linear", "--iterations", "2"], "threshold not used (S = 0)"),
    ],
)
def test_linear_reports_no_lambda_and_no_noise_level(steps_csv, tmp_path, args, said):
    result = _cli(args[0], str(steps_csv), *args[1:], "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 0
    text = " ".join(result.stderr.split())
    assert said in text and "(auto)" not in text and "noise sigma" not in text, text
    pm = _cli("diffuse", str(steps_csv), "--steps", "5", "-o", str(tmp_path / "p.csv"))
    assert "(auto)" in pm.stderr and "noise sigma" in pm.stderr  # where lambda is used
