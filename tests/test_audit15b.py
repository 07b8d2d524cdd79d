"""audit15b's findings: the library as a Python user sees it, and its mathematics against
the paper (B3, B1, B2, B4, B5, B6, B14, B7-B13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import resdenoise as rd
from resdenoise.cli import cli
from resdenoise.errors import ParameterError, SignalError


def _walk(scale=10.0, n=300, seed=2):
    return np.cumsum(np.random.default_rng(seed).standard_normal(n)) * scale


def _nan_beyond_5(r):
    return np.where(np.abs(r) > 5, np.nan, np.tanh(r))


# --- B3: allow_unstable never hands back NaN/inf for finite input ----------------------


@pytest.mark.parametrize("allow", [True, False])
def test_a_function_nan_somewhere_is_refused_naming_where(allow):
    # old: allowed unstable, an all-NaN output, silently; else "g unbounded"
    with pytest.raises(ParameterError, match=r"the activation is nan at r = -5\.00115; a func"):
        rd.resnet(_walk(), _nan_beyond_5, blocks=3, tau=0.25, allow_unstable=allow)


def test_a_nonlinearity_made_of_a_nan_function_is_refused_too():
    nl = rd.from_function(_nan_beyond_5, "activation", name="cut")
    with pytest.raises(ParameterError, match=r"^cut: the activation is nan at r = -5\.00115"):
        rd.resnet(_walk(), nl, blocks=3, tau=0.25, allow_unstable=True)


def test_the_command_line_says_the_same_of_a_formula(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("\n".join(map(repr, _walk().tolist())) + "\n")
    args = ["resnet", str(src), "--activation-expr", "log(25-r^2)*0+tanh(r)", "--blocks", "3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "the activation is nan at r = -5.00115; a formula must be finite" in result.output


def test_a_diverging_run_allowed_unstable_is_refused_not_returned():
    # old: 300 of 300 samples inf/NaN returned, no warning; the command line writes nothing
    x = _walk(scale=1.0)
    with pytest.raises(SignalError, match="diffuse: 300 output values are not finite"):
        rd.diffuse(x, "linear", lam=1.0, steps=2000, tau=5.0, allow_unstable=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stable run allowed unstable: as it was
        out = rd.diffuse(x, "linear", lam=1.0, steps=3, tau=0.25, allow_unstable=True)
    assert np.array_equal(out, rd.diffuse(x, "linear", lam=1.0, steps=3, tau=0.25))


# --- B1: S(s) of charbonnier, tanh, arctan to a few eps relative near s = 0 ------------


def _exact_shrinkage(key, s, lam):
    """MATH.md's S in 60-digit decimals: s (1 - 1/sqrt(1 + 2 s^2/lam^2)) (Charbonnier),
    s - theta tanh(s/theta), s - theta arctan(s/theta) (theta = lam/sqrt2)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        x, theta = Decimal(s), Decimal(lam) / Decimal(2).sqrt()
        y = x / theta
        if key == "charbonnier":
            return float(x * (1 - 1 / (1 + y * y).sqrt()))
        if key == "tanh":
            e = (2 * y).exp()
            return float(x - theta * (e - 1) / (e + 1))
        halvings = 0  # arctan: halve the argument, then its series
        while abs(y) > Decimal("0.1"):
            y, halvings = y / (1 + (1 + y * y).sqrt()), halvings + 1
        atan = sum((-1) ** n * y ** (2 * n + 1) / (2 * n + 1) for n in range(40))
        return float(x - theta * 2**halvings * atan)


@pytest.mark.parametrize("key", ["charbonnier", "tanh", "arctan"])
@pytest.mark.parametrize("lam", [0.05, 1.0, 3.3])
def test_shrinkage_keeps_its_relative_accuracy_near_zero(key, lam):
    # old: 8e-8 (charbonnier) and 1.4e-6 (tanh, arctan) relative at s = 1e-5 lam, 0.0 at 1e-9
    s = lam * np.array([1e-12, 1e-9, 1e-5, 1e-3, 0.1, 0.3535, 0.3536, 0.7, 2.0, 40.0])
    nl = rd.get_nonlinearity(key, "shrinkage", lam=lam)
    want = np.array([_exact_shrinkage(key, v, lam) for v in s])
    for sign in (1.0, -1.0):
        got = nl.shrinkage(sign * s)
        assert np.all(np.abs(got - sign * want) <= 4e-15 * np.abs(want)), (got, want)
    assert float(nl.shrinkage(0.0)) == 0.0
    assert nl.shrinkage(np.array([np.inf, -np.inf])).tolist() == [np.inf, -np.inf]


# --- B2: a function NaN somewhere: the NaN is the reason, not "unbounded", "not odd" ----


def test_check_tau_names_the_nan_as_the_one_reason():
    # old: "g = Phi(r)/r is unbounded; g = Phi(r)/r is negative somewhere (g_min = -inf);
    # Phi is not finite at r = 5.00115 or -5.00115; ...; tau = 0.25 exceeds ... = 0"
    v = rd.check_tau(rd.from_function(_nan_beyond_5, name="cut"), 0.25)
    assert not v.linf_stable and not v.sign_stable
    assert (
        v.reason == "the activation is nan at r = -5.00115; a function must be finite for every r"
    )


def test_not_odd_reason_names_only_the_r_where_phi_is_not_finite():
    from resdenoise.function_properties import not_odd_reason

    nl = rd.from_function(lambda r: np.sign(r) * np.sqrt(r), name="signed_sqrt")
    assert not_odd_reason(nl).startswith("Phi is not finite at r = -1; ")  # old: "r = 1 or -1"
    assert "the activation is nan at r = -1e-06" in rd.check_tau(nl, 0.25).reason


# --- B4: run_blocks' callback sees a read-only view of the working array ----------------


def test_the_callback_cannot_write_into_the_run():
    x = np.cumsum(np.random.default_rng(4).standard_normal(1000)) * 0.05
    nl = rd.get_nonlinearity("perona-malik", lam=0.2)
    seen, copies = [], []

    def keep(k, u):
        seen.append(u.flags.writeable)
        copies.append(u.copy())  # what the docstring says to keep

    out = rd.run_blocks(x, nl, 0.2, 5, callback=keep)
    assert seen == [False] * 5  # old: the live, writeable working array
    assert np.array_equal(copies[-1], out) and not np.array_equal(copies[0], out)
    with pytest.raises(ValueError, match="read-only"):  # old: out[0] = 1e9, silently
        rd.run_blocks(x, nl, 0.2, 5, callback=lambda k, u: u.__setitem__(0, 1e9))
    assert "read-only view" in rd.run_blocks.__doc__


# --- B5: a network of groups with different taus says what it ran ----------------------

_NETWORK = """version = 2
h = 2.0
[[block]]
shrinkage = "garrote"
threshold = 0.2
repeat = 3
[[block]]
activation = "perona-malik"
lambda = 0.15
tau = 0.5
repeat = 4
[[block]]
activation-expr = "r/(1 + abs(r)/lam)"
lambda = 0.3
repeat = 2
[[block]]
activation = "tanh"
lambda = 0.4
repeat = 2
"""


def test_a_network_of_mixed_taus_is_summarised_by_its_range(tmp_path):
    import json

    src, net = tmp_path / "in.csv", tmp_path / "net.toml"
    x = np.cumsum(np.random.default_rng(7).standard_normal(257)) * 0.2
    src.write_text("\n".join(map(repr, x.tolist())) + "\n")
    net.write_text(_NETWORK)
    args = ["resnet", str(src), "--network", str(net), "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # old: "11 blocks of tau = 1 (T = 9)" (11 x 1 is not 9)
    assert "11 blocks of tau = 0.5 to 1 in 4 groups (T = 9)" in result.output
    verbose = CliRunner().invoke(cli, [*args, "-v"])
    assert "0.5 to 1 / 2 / 11" in verbose.output
    report = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    groups = report["stability"]["blocks"]
    assert report["tau"] == max(b["tau"] for b in groups)  # README: the largest
    assert report["stopping_time"] == pytest.approx(sum(b["tau"] * b["repeat"] for b in groups))


# --- B6: a Python Psi written as MATH.md writes Charbonnier's plans as the family ------


def test_a_python_charbonnier_psi_plans_the_familys_blocks():
    lam = 0.3

    def psi(r):  # MATH.md, Table 3: cancels near 0 (sqrt(1 + y) - 1)
        return 2 * lam**2 * (np.sqrt(1 + r**2 / lam**2) - 1)

    v = rd.check_tau(rd.from_function(psi, "regulariser", lam=lam), 0.25)
    assert abs(v.g_max - 1.0) <= 1e-10  # old: 1.0000008230753932
    assert v.sign_stable
    x = np.cumsum(np.random.default_rng(1).standard_normal(300)) * 0.1
    family = rd.regularise(x, "charbonnier", lam=lam, alpha=2.0)  # 8 blocks of 1/4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # old: "tau = 0.25 is ... above the sign-stable bound"
        mine = rd.regularise(x, psi, lam=lam, alpha=2.0)  # old: 9 blocks of 2/9
        eight = rd.regularise(x, psi, lam=lam, alpha=2.0, steps=8)
    assert np.max(np.abs(mine - family)) <= 1e-12 * np.max(np.abs(family))  # old: 1.7e-4
    assert np.array_equal(mine, eight)


def test_the_registrys_psis_as_python_functions_keep_their_g_max():
    from resdenoise.stability import analyse_function

    for key in ("soft", "perona-malik", "tanh"):  # old: up to 9.4e-12 above; now 1e-12
        family = rd.get_nonlinearity(key, lam=0.5)
        nl = rd.from_function(lambda r, f=family: f.psi(r), "regulariser", lam=0.5)
        assert abs(analyse_function(nl).g_max - 1.0) <= 2e-12, key


# --- B14: one set of automatic parameters for channels of very different noise ---------


def _quiet_and_loud(k=20.0, n=4000):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, n)
    clean = np.where(t > 0.3, 1.0, 0.0) - np.where(t > 0.6, 0.7, 0.0) + 0.3 * np.sin(12 * t)
    quiet = clean + 0.05 * rng.standard_normal(n)
    return np.stack([quiet, k * clean + 0.05 * k * rng.standard_normal(n)], axis=1)


@pytest.mark.parametrize(
    "call",
    [
        lambda u: rd.shrink(u, "soft"),
        lambda u: rd.diffuse(u, "perona-malik", lam="auto", steps=20),
    ],
)
def test_channels_of_very_different_noise_are_warned_of(call):
    # where the plan searches (an automatic stopping time, scales, denoise) the channels
    # are planned apart instead, and no warning is given (tests/test_channels_apart.py);
    # the automatic lambda of a given stopping time is one for all channels: warned of
    u = _quiet_and_loud()
    with pytest.warns(UserWarning, match=r"channel 1's noise \(0\.05\d*\) is 2\d\.?\d*x below "):
        call(u)  # old: silent (the quiet channel 21 dB where alone it gets 39 with shrink auto)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # alike levels, one channel, sigma given: as before
        alike = call(_quiet_and_loud(k=1.0))
        call(u[:, 0])
        rd.shrink(u, "soft", sigma=0.5)
        rd.shrink(u, "soft", theta=0.2)  # nothing automatic
    assert alike.shape == (4000, 2)


def test_the_command_line_warns_of_it_too(tmp_path):
    src = tmp_path / "two.csv"
    np.savetxt(src, _quiet_and_loud(), delimiter=",", header="quiet,loud", comments="")
    result = CliRunner().invoke(cli, ["shrink", str(src), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert "warning: column 1 ('quiet')'s noise" in result.output
    assert "filter column 1 ('quiet') in a run of its own (--columns)" in result.output


# --- B7-B13: wording and documentation -------------------------------------------------


def test_b7_the_article_follows_the_form():
    with pytest.raises(ParameterError, match="name an activation$"):  # old: "a activation"
        rd.resnet(_walk(scale=0.1), "auto")


def test_b8_a_formula_given_as_a_name_is_told_how_it_is_passed():
    x = _walk(scale=0.1)
    hint = r"; a formula is passed as resdenoise\.expr\.parse_expression\('1/\(1\+r\^2/lam\^2\)', "
    with pytest.raises(ParameterError, match=hint + "'diffusivity'\\)$"):
        rd.diffuse(x, "1/(1+r^2/lam^2)", lam=0.3, steps=2)
    with pytest.raises(ParameterError, match="^Unknown diffusivity 'charbonier'. Did you mean"):
        rd.diffuse(x, "charbonier", lam=0.3, steps=2)  # a name: no formula hint


def test_b9_lam_is_named_as_the_keyword():
    with pytest.raises(ParameterError, match=r"^lam must be a finite number > 0, got 0$"):
        rd.get_nonlinearity("tanh", lam=0)  # old: "lambda must be ..."


def test_b10_a_none_is_named_as_none():
    with pytest.raises(SignalError, match=r"^the signal: sample 2 is None, not a number$"):
        rd.diffuse([0.0, None, 1.0, 2.0], "linear", lam=1.0, steps=1)  # old: "is nan"
    with pytest.raises(
        SignalError, match=r"^the signal: sample 2, channel 1 is None, not a number$"
    ):
        rd.diffuse([[0.0, 1.0], [None, 2.0], [1, 1], [2, 2]], "linear", lam=1.0, steps=1)


def test_b11_a_wrong_return_does_not_name_the_sampling_grids_shape():
    with pytest.raises(ParameterError) as info:  # old: "r's shape (79995,), got float of shape ()"
        rd.resnet(_walk(scale=0.1), lambda r: 0.0, blocks=2)
    assert str(info.value).endswith("(an array, elementwise, as np.tanh does), got float")
    assert "79995" not in str(info.value)


def test_the_network_docstrings_example_is_version_2():
    import resdenoise.network as network

    example = network.__doc__.split(".. code-block:: toml")[1]
    assert example.index("version = 2") < example.index("threshold = 0.3")  # B12


def test_run_blocks_raises_what_it_lists():
    x = _walk(n=50, scale=0.1)
    nl = rd.get_nonlinearity("tanh")
    for settings in ({"dtype": "float16"}, {"backend": "fast"}):  # B13: were plain ValueErrors
        with pytest.raises(ParameterError):
            rd.run_blocks(x, nl, 0.25, 2, **settings)
    with pytest.raises(ParameterError, match="no compiled step loop"):
        rd.run_blocks(x, np.tanh, 0.25, 2, backend="compiled")
    with pytest.raises(TypeError, match=r"got str \(a name: get_nonlinearity\('tanh'\)\)"):
        rd.run_blocks(x, "tanh", 0.25, 2)
    raises = rd.run_blocks.__doc__.split("Raises")[1]
    assert "TypeError" in raises and "dtype is" in raises
