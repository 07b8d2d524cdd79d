"""Every closed form of the dictionary against the general translations.

the paper, Tables 1 and 3, at the paper's tau = 1/4, h = 1:

* ``Phi(r) = g(r) r``;
* ``Psi'(r) = 2 Phi(r)``, checked three ways: as an integral identity
  ``Psi(r) = 2 int_0^r Phi`` with a Gauss-Legendre quadrature written here
  and split at the kinks ``|r| = lam`` (exact to rounding, 1e-12 relative, for
  all entries), through the library's ``phi_to_psi`` (1e-12 where the path of
  integration avoids a kink; documented tolerances across a kink), and as a
  derivative by a fourth-order difference away from the kinks (1e-9
  relative: truncation ~ step^4, rounding ~ eps/step);
* ``S(s) = s (1 - 4 tau g(sqrt2 s))`` and ``shrinkage_to_phi(S) = Phi``;
* hand-computed values of Table 3, including the conventions at ``|r| = lam``.

Tolerances are relative to the size of the quantities compared (``|r|`` and
``lam``), since r - sqrt2 S(r/sqrt2) cancels for small Phi.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from resdenoise.nonlinearities import (
    FORMS,
    NON_ODD_ACTIVATIONS,
    NONLINEARITIES,
    PAPER_FAMILIES,
    available_nonlinearities,
    from_function,
    g_to_phi,
    get_nonlinearity,
    get_parametrised,
    names_for_form,
    phi_to_g,
    phi_to_psi,
    phi_to_shrinkage,
    psi_to_phi,
    resolve_name,
    shrinkage_to_phi,
)

SQRT2 = math.sqrt(2.0)
KEYS = sorted(NONLINEARITIES)
LAMS = [0.3, 1.0, 7.5]
#: entries whose Phi has a kink or a jump at |r| = lam
KINKED = {"soft", "garrote", "hard"}
EPS = np.finfo(float).eps


def sample_r(lam: float, kink_margin: float = 0.0) -> np.ndarray:
    """Generic points from 1e-3 lam to 20 lam, both signs, and 0.

    With ``kink_margin``, points within that relative distance of ``|r| = lam``
    are dropped.
    """
    pos = lam * np.concatenate([np.geomspace(1e-3, 20.0, 157), [0.37, 0.99, 1.01, 3.3]])
    pos = pos[np.abs(pos / lam - 1.0) > kink_margin]
    return np.concatenate([-pos[::-1], [0.0], pos])


def close(a, b, scale, rel=1e-12):
    """|a - b| <= rel * scale, elementwise, with a readable failure."""
    a, b, scale = np.broadcast_arrays(*map(np.asarray, (a, b, scale)))
    bad = np.abs(a - b) > rel * scale
    assert not bad.any(), (
        f"{bad.sum()} points differ, worst {np.max(np.abs(a - b) / scale)} relative; "
        f"first: {a[bad][:3]} vs {b[bad][:3]}"
    )


# --------------------------------------------------------------------------
# Quadrature written here: Psi(r) = 2 int_0^r Phi(s) ds, split at the kinks
# --------------------------------------------------------------------------

_X, _W = np.polynomial.legendre.leggauss(30)


def integral_of(phi, r: float, breaks) -> float:
    """int_0^r phi, Gauss-Legendre (30 points) on 8 panels between breakpoints."""
    sign = 1.0 if r >= 0 else -1.0
    pts = sorted({0.0, abs(r)} | {b for b in breaks if 0.0 < b < abs(r)})
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:], strict=False):
        edges = np.linspace(a, b, 9)
        for lo, hi in zip(edges[:-1], edges[1:], strict=False):
            half = (hi - lo) / 2.0
            s = lo + half * (_X + 1.0)
            total += half * float(np.dot(_W, phi(sign * s)))
    return sign * total


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------


def test_registry_has_the_six_paper_families_and_three_extras():
    assert PAPER_FAMILIES == ("linear", "charbonnier", "soft", "perona-malik", "garrote", "hard")
    assert available_nonlinearities() == sorted([*PAPER_FAMILIES, "tanh", "softsign", "arctan"])
    assert available_nonlinearities(paper_only=True) == sorted(PAPER_FAMILIES)


@pytest.mark.parametrize("form", FORMS)
def test_every_key_and_alias_resolves_in_its_form(form):
    names = names_for_form(form)
    assert names == sorted(names)
    for key, entry in NONLINEARITIES.items():
        assert key in names
        assert resolve_name(key, form) is entry
        for alias in entry.aliases.get(form, ()):
            assert resolve_name(alias, form) is entry
            nl = get_nonlinearity(alias, form, lam=2.0)
            assert (nl.key, nl.name, nl.lam) == (key, alias, 2.0)
    # names are case- and space-insensitive
    assert resolve_name("  Perona-Malik ", form).key == "perona-malik"


@pytest.mark.parametrize(
    "form, name, key",
    [
        ("regulariser", "whittaker-tikhonov", "linear"),
        ("regulariser", "huber", "soft"),
        ("regulariser", "weak-string", "hard"),
        ("diffusivity", "truncated-tv", "soft"),
        ("diffusivity", "iijima", "linear"),
        ("activation", "identity", "linear"),
        ("activation", "clip", "soft"),
        ("activation", "isru", "charbonnier"),
        ("activation", "tanh", "tanh"),
        ("activation", "softsign", "softsign"),
        ("shrinkage", "garotte", "garrote"),
    ],
)
def test_the_papers_names_are_aliases(form, name, key):
    assert resolve_name(name, form).key == key


def test_an_alias_belongs_to_its_form_only():
    with pytest.raises(ValueError, match="Unknown diffusivity 'huber'"):
        resolve_name("huber", "diffusivity")


@pytest.mark.parametrize("form", FORMS)
def test_unknown_name_lists_sorted_valid_names(form):
    with pytest.raises(ValueError) as info:
        get_nonlinearity("no-such-thing", form)
    message = str(info.value)
    assert message.startswith(f"Unknown {form} 'no-such-thing'. Valid names: ")
    listed = message.split("Valid names: ")[1].split(", ")
    assert listed == sorted(listed) == names_for_form(form)
    # every key and alias of this form is listed, and nothing else (the
    # activations outside the theorem are names of the activation form only)
    entries = dict(NONLINEARITIES)
    if form == "activation":
        entries.update(NON_ODD_ACTIVATIONS)
    expected = set(entries) | {a for e in entries.values() for a in e.aliases.get(form, ())}
    assert set(listed) == expected


def test_unknown_form_and_bad_lambda():
    with pytest.raises(ValueError, match="Unknown form 'wavelet'"):
        get_nonlinearity("soft", "wavelet")
    for lam in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="lam must be a finite number > 0"):
            get_nonlinearity("soft", lam=lam)


@pytest.mark.parametrize("lam", ["2", True, b"2", None, [2.0]])
def test_a_lambda_that_is_not_a_number_is_refused_as_a_bad_number(lam):
    # before: float(lam) took "2" and True (lambda 2.0, 1.0), and None or a list
    # failed with TypeError; errors.check_positive is the one rule of the planner too
    from resdenoise.errors import ParameterError
    from resdenoise.expr import expression_nonlinearity

    message = rf"^lam must be a finite number > 0, got {re.escape(repr(lam))}$"
    for make in (
        lambda: get_nonlinearity("soft", lam=lam),
        lambda: get_parametrised("bumps", [0.5, 0.5], lam=lam),
        lambda: expression_nonlinearity("tanh(r/lam)", lam=lam),
    ):
        with pytest.raises(ParameterError, match=message):
            make()
    for number in (2, 2.0, np.float32(2.0), np.int64(2)):  # numbers still work
        assert get_nonlinearity("soft", lam=number).lam == 2.0
        assert expression_nonlinearity("tanh(r/lam)", lam=number).lam == 2.0


# --------------------------------------------------------------------------
# Closed forms against each other
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", LAMS)
def test_phi_is_g_times_r(key, lam):
    nl = get_nonlinearity(key, lam=lam)
    r = sample_r(lam)
    close(nl.phi(r), nl.g(r) * r, np.abs(r) + lam)
    close(g_to_phi(nl.g)(r), nl.phi(r), np.abs(r) + lam)
    # and back: phi_to_g is the quotient Phi(r)/r away from 0 ...
    nonzero = r != 0.0
    close(phi_to_g(nl.phi)(r[nonzero]), nl.g(r[nonzero]), 1.0)
    # ... and g(0) = Phi'(0) by a central difference with step 1e-7: exact to
    # O(1e-14) for smooth Phi, O(1e-7/lam) where g has a kink at 0 (softsign)
    g0 = float(phi_to_g(nl.phi)(np.array(0.0)))
    rel = 1e-6 if key == "softsign" else 1e-12
    assert g0 == pytest.approx(float(nl.g(0.0)), rel=rel)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", LAMS)
def test_psi_is_twice_the_integral_of_phi(key, lam):
    """Psi(r) = 2 int_0^r Phi exactly (1e-12), by a quadrature split at the kinks."""
    nl = get_nonlinearity(key, lam=lam)
    r = sample_r(lam)
    quad = np.array([2.0 * integral_of(nl.phi, x, breaks=(lam,)) for x in r])
    close(nl.psi(r), quad, np.abs(nl.psi(r)) + 1e-300)
    assert float(nl.psi(0.0)) == 0.0


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", LAMS)
def test_phi_to_psi_matches_closed_psi(key, lam):
    """The library's quadrature (no breakpoints) is exact where no kink is crossed.

    Across a kink the composite rule (256 panels x 16 points) loses accuracy
    in the panel containing it: measured up to 1.8e-7 relative for the kink
    of soft, 1.9e-6 for garrote and 6.5e-3 for the jump of hard.
    """
    nl = get_nonlinearity(key, lam=lam)
    r = sample_r(lam)
    translated = phi_to_psi(nl.phi)(r)
    scale = np.abs(nl.psi(r)) + 1e-300
    if key not in KINKED:
        close(translated, nl.psi(r), scale)
        return
    inside = np.abs(r) < lam
    close(translated[inside], nl.psi(r)[inside], scale[inside])
    across_tol = {"soft": 1e-6, "garrote": 1e-5, "hard": 1e-2}[key]
    close(translated, nl.psi(r), scale, rel=across_tol)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", LAMS)
def test_derivative_of_psi_is_twice_phi(key, lam):
    """Psi' = 2 Phi by a fourth-order central difference, away from |r| = lam."""
    nl = get_nonlinearity(key, lam=lam)
    r = sample_r(lam, kink_margin=0.02)
    step = 1e-3 * np.maximum(np.abs(r), lam) * 0.02
    p = nl.psi
    derivative = (-p(r + 2 * step) + 8 * p(r + step) - 8 * p(r - step) + p(r - 2 * step)) / (
        12 * step
    )
    close(derivative, 2.0 * nl.phi(r), np.abs(r) + lam, rel=1e-9)
    # the library's translation psi_to_phi: a central difference with step
    # 1e-6 max(1, |r|), so rounding limits it to about eps/1e-6
    close(psi_to_phi(nl.psi)(r), nl.phi(r), np.abs(r) + lam, rel=1e-7)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", LAMS)
def test_shrinkage_is_s_times_one_minus_g(key, lam):
    """S(s) = s (1 - 4 tau g(sqrt2 s)) at tau = 1/4, closed S against closed g."""
    nl = get_nonlinearity(key, "shrinkage", lam=lam)
    s = sample_r(nl.theta)
    close(nl.shrinkage(s), s * (1.0 - nl.g(SQRT2 * s)), np.abs(s) + lam)
    close(phi_to_shrinkage(nl.phi)(s), nl.shrinkage(s), np.abs(s) + lam)
    # any tau goes through the translation
    for tau in (0.1, 0.2, 0.5):
        close(nl.shrinkage(s, tau), s * (1.0 - 4.0 * tau * nl.g(SQRT2 * s)), np.abs(s) + lam)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", LAMS)
def test_shrinkage_to_phi_recovers_phi(key, lam):
    nl = get_nonlinearity(key, "shrinkage", lam=lam)
    r = sample_r(lam)
    close(shrinkage_to_phi(nl.shrinkage)(r), nl.phi(r), np.abs(r) + lam)
    for tau in (0.1, 0.5):
        s_tau = phi_to_shrinkage(nl.phi, tau)
        close(shrinkage_to_phi(s_tau, tau)(r), nl.phi(r), np.abs(r) + lam)


@pytest.mark.parametrize(
    "phi",
    [
        lambda r: r,  # linear
        lambda r: np.maximum(r, 0.0),  # ReLU: linear for r > 0
        lambda r: np.where(np.abs(r) <= 1.5, r, 0.0),  # hard, linear below lam
        lambda r: np.clip(r, -1.5, 1.5),  # soft, linear below lam
    ],
)
def test_translated_shrinkage_is_exactly_zero_where_phi_is_linear(phi):
    """S(s) = s + Phi(-sqrt2 s)/sqrt2 is 0 where Phi(r) = r at r = -sqrt2 s; the
    translation gives 0, not its cancellation (-2.2e-16 for s = 1: outside 0 <= S(s)
    <= s).  (ReLU: Phi is linear for r > 0, S = 0 for s < 0.)"""
    s = np.concatenate([np.geomspace(1e-6, 1.0, 301), [0.25, 0.5, 0.75, 1.0]])
    s = np.concatenate([-s, s])
    linear = phi(-SQRT2 * s) == -SQRT2 * s  # where Phi is the identity, by its own numbers
    assert linear[s < 0].all()
    assert np.all(phi_to_shrinkage(phi)(s)[linear] == 0.0)


@pytest.mark.parametrize("key", sorted(k for k, e in NONLINEARITIES.items() if e.g_max <= 1.0))
def test_translated_shrinkage_keeps_the_sign_condition(key):
    """g <= 1 means |Phi(r)| <= |r|: the translated S(s) is >= 0 for s > 0 exactly
    (a difference of ordered floats keeps its sign), and <= s to rounding."""
    nl = get_nonlinearity(key, lam=1.3)
    s = np.geomspace(1e-4, 100.0, 401)
    x = SQRT2 * s
    assert np.all(np.abs(nl.phi(x)) <= x)
    S = phi_to_shrinkage(nl.phi)(s)
    assert np.all((S >= 0.0) & (S <= s * (1.0 + 4.0 * EPS)))


@pytest.mark.parametrize("key", KEYS)
def test_from_function_in_every_form_gives_the_same_activation(key):
    lam = 1.7
    nl = get_nonlinearity(key, lam=lam)
    r = sample_r(lam, kink_margin=0.02)
    scale = np.abs(r) + lam
    close(from_function(nl.phi, "activation").phi(r), nl.phi(r), scale)
    close(from_function(nl.g, "diffusivity").phi(r), nl.phi(r), scale)
    close(from_function(nl.shrinkage, "shrinkage").phi(r), nl.phi(r), scale)
    close(from_function(nl.psi, "regulariser").phi(r), nl.phi(r), scale, rel=1e-7)
    custom = from_function(nl.phi, name="mine")
    assert (custom.key, custom.name, custom.entry) == ("custom", "mine", None)
    # the custom object's other forms come from the translations
    nonzero = r != 0.0
    close(custom.g(r[nonzero]), nl.g(r[nonzero]), 1.0)
    close(custom.shrinkage(r), nl.shrinkage(r), np.abs(r) + lam)
    inside = np.abs(r) < lam
    close(custom.psi(r)[inside], nl.psi(r)[inside], np.abs(nl.psi(r)[inside]) + 1e-300)


# --------------------------------------------------------------------------
# Symmetry, class and the registry's constants
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_symmetry(key):
    nl = get_nonlinearity(key, lam=1.3)
    r = sample_r(1.3)
    np.testing.assert_array_equal(nl.phi(-r), -nl.phi(r))
    np.testing.assert_array_equal(nl.g(-r), nl.g(r))
    np.testing.assert_array_equal(nl.psi(-r), nl.psi(r))
    np.testing.assert_array_equal(nl.shrinkage(-r), -nl.shrinkage(r))
    assert NONLINEARITIES[key].odd


@pytest.mark.parametrize("key", KEYS)
def test_class_monotone_phi_and_convex_psi(key):
    entry = NONLINEARITIES[key]
    nl = get_nonlinearity(key, lam=1.0)
    r = np.linspace(-30.0, 30.0, 60001)
    slope = np.diff(nl.phi(r)) / np.diff(r)
    curvature = np.diff(nl.psi(r), 2) / (r[1] - r[0]) ** 2
    if entry.convex:
        assert np.all(slope >= 0.0)
        assert np.all(curvature >= -1e-6)
        assert entry.klass == "convex"
    else:
        assert np.any(slope < -0.1)
        assert np.any(curvature < -0.1)
        assert entry.klass == "nonconvex"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("lam", [0.5, 4.0])
def test_registered_bounds_are_the_sampled_ones(key, lam):
    entry = NONLINEARITIES[key]
    nl = get_nonlinearity(key, lam=lam)
    r = lam * np.concatenate(
        [-np.geomspace(1e-6, 1e6, 20001)[::-1], [0.0], np.geomspace(1e-6, 1e6, 20001)]
    )
    g = nl.g(r)
    assert np.all(g >= entry.g_min) and np.all(g <= entry.g_max)
    assert g.max() == entry.g_max  # attained at r = 0
    assert g.min() <= entry.g_min + 1e-5  # approached for large |r|
    slopes = np.abs(np.diff(nl.phi(r)) / np.diff(r))
    if math.isinf(entry.lipschitz):
        assert slopes.max() > 500.0  # the jump, resolved by the grid (spacing 1.4e-3 r)
    else:
        assert slopes.max() <= entry.lipschitz * (1.0 + 1e-9)
        assert slopes.max() >= entry.lipschitz * (1.0 - 1e-6)


@pytest.mark.parametrize("key", KEYS)
def test_psi_is_accurate_near_zero(key):
    # Psi(r) ~ r^2 for tiny r: relative accuracy must hold there too (no
    # cancellation in the closed form)
    for lam in LAMS:
        nl = get_nonlinearity(key, lam=lam)
        r = lam * np.array([-1e-6, 1e-12, 1e-9, 1e-6, 1e-3])
        quad = np.array([2.0 * integral_of(nl.phi, x, breaks=(lam,)) for x in r])
        close(nl.psi(r), quad, quad)
        close(nl.psi(r[:4]), r[:4] ** 2, r[:4] ** 2, rel=1e-5)


def test_large_arguments_stay_finite():
    # (beyond |r/lam| ~ 1e154 squares overflow in some closed forms)
    r = np.array([-1e150, -1e20, 1e20, 1e150])
    for key in KEYS:
        nl = get_nonlinearity(key, lam=1.0)
        with np.errstate(over="raise", invalid="raise"):
            for form in ("phi", "g", "shrinkage", "psi"):
                assert np.all(np.isfinite(getattr(nl, form)(r))), (key, form)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_charbonnier_beyond_the_squares_overflow(dtype):
    # (r/lam)^2 overflows for |r/lam| > 1e154 (float32: 1.8e19); every form
    # keeps its limit there: Phi = +-lam (not r / inf = 0), g ~ lam/|r|,
    # Psi ~ 2 lam^2 (|r|/lam - 1), S(s) ~ s
    lam = 0.5
    nl = get_nonlinearity("charbonnier", lam=lam)
    big = 1e300 if dtype == np.float64 else 1e30
    r = np.array([-big, -1e160 if dtype == np.float64 else -1e25, big], dtype=dtype)
    with np.errstate(all="raise"):
        phi, g, psi, s = (getattr(nl, f)(r) for f in ("phi", "g", "psi", "shrinkage"))
    assert phi.tolist() == [-lam, -lam, lam]
    x = np.abs(r.astype(np.float64)) / lam
    close(g, 1.0 / x, 1.0 / x, rel=1e-6)
    close(psi, 2.0 * lam * lam * (x - 1.0), 2.0 * lam * lam * x, rel=1e-6)
    close(s, r, np.abs(r), rel=1e-6)
    with np.errstate(invalid="ignore"):
        at_inf = [getattr(nl, f)(np.array([-np.inf, np.inf])) for f in ("phi", "g", "psi")]
    assert [a.tolist() for a in at_inf] == [[-lam, lam], [0.0, 0.0], [np.inf, np.inf]]


# --------------------------------------------------------------------------
# Table 3 by hand (lam = 2, theta = sqrt2)
# --------------------------------------------------------------------------

LN2 = math.log(2.0)
E1 = math.exp(-1.0)
R3 = math.sqrt(3.0)

HAND = [
    # key, form, argument, expected
    ("linear", "g", 3.0, 1.0),
    ("linear", "psi", 3.0, 9.0),
    ("linear", "shrinkage", 3.0, 0.0),
    ("linear", "phi", -3.0, -3.0),
    ("charbonnier", "g", 2 * R3, 0.5),
    ("charbonnier", "psi", 2 * R3, 8.0),
    ("charbonnier", "shrinkage", math.sqrt(6.0), math.sqrt(6.0) / 2),
    ("charbonnier", "phi", 2 * R3, R3),
    ("soft", "g", 4.0, 0.5),
    ("soft", "g", 2.0, 1.0),
    ("soft", "psi", 4.0, 12.0),
    ("soft", "psi", 2.0, 4.0),
    ("soft", "shrinkage", 3.0, 3.0 - SQRT2),
    ("soft", "shrinkage", "theta", 0.0),
    ("soft", "phi", -4.0, -2.0),
    ("perona-malik", "g", 2 * SQRT2, E1),
    ("perona-malik", "psi", 2 * SQRT2, 8.0 * (1 - E1)),
    ("perona-malik", "shrinkage", 2.0, 2.0 * (1 - E1)),
    ("perona-malik", "phi", 2 * SQRT2, 2 * SQRT2 * E1),
    ("garrote", "g", 4.0, 0.25),
    ("garrote", "psi", 4.0, 4.0 * (1 + 2 * LN2)),
    ("garrote", "psi", 2.0, 4.0),
    ("garrote", "shrinkage", 2.0, 1.0),
    ("garrote", "shrinkage", "theta", 0.0),
    ("garrote", "phi", 4.0, 1.0),
    ("garrote", "phi", 2.0, 2.0),
    ("hard", "g", 2.0, 1.0),
    ("hard", "g", 2.0 + 1e-12, 0.0),
    ("hard", "psi", 5.0, 4.0),
    ("hard", "shrinkage", "theta", 0.0),  # |s| = theta is set to zero
    ("hard", "shrinkage", 1.5, 1.5),
    ("hard", "phi", 2.0, 2.0),  # |r| = lam is kept
    ("hard", "phi", -2.0, -2.0),
    ("hard", "phi", -2.0 - 1e-12, 0.0),
    ("tanh", "phi", 2.0, 2.0 * math.tanh(1.0)),
    ("tanh", "psi", 2.0, 8.0 * math.log(math.cosh(1.0))),
    ("tanh", "psi", 2000.0, 8.0 * (1000.0 - LN2)),
    ("softsign", "phi", 2.0, 1.0),
    ("softsign", "psi", 2.0, 8.0 * (1.0 - LN2)),
    ("arctan", "phi", 2.0, 2.0 * math.pi / 4),
    ("arctan", "psi", 2.0, 8.0 * (math.pi / 4 - 0.5 * LN2)),
]


@pytest.mark.parametrize("key, form, arg, expected", HAND)
def test_table_3_by_hand(key, form, arg, expected):
    nl = get_nonlinearity(key, lam=2.0)
    assert nl.theta == pytest.approx(SQRT2, rel=1e-15)
    if arg == "theta":
        arg = nl.theta
    value = float(getattr(nl, form)(np.array(arg)))
    assert value == pytest.approx(expected, rel=1e-14, abs=1e-15)


def test_formulas_are_written_for_every_form():
    for entry in NONLINEARITIES.values():
        assert set(entry.formulas) == set(FORMS)
        assert all(entry.formulas.values())


@pytest.mark.parametrize(("key", "slope"), [("relu", 0.0), ("leaky-relu", 0.01)])
def test_a_kinked_diffusivity_says_its_value_at_zero(key, slope):
    """g(0) = Phi'(0) (the paper); at ReLU's kink the symmetric difference
    quotient, the mean of the one-sided slopes 1 and ``slope``.  The printed
    formula, the registry's g, and the general translation of the same Phi
    (what a formula max(r, 0) gets) give that one value."""
    at_zero = (1.0 + slope) / 2.0
    entry = NON_ODD_ACTIVATIONS[key]
    assert f"{at_zero:g} at 0" in entry.formulas["diffusivity"].replace("1/2", "0.5")
    assert float(get_nonlinearity(key).g(np.array([0.0]))[0]) == at_zero
    mine = from_function(lambda r: np.where(r >= 0, r, slope * r))
    assert float(mine.g(np.array([0.0]))[0]) == pytest.approx(at_zero, abs=1e-9)
