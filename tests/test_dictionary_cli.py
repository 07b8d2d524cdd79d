"""The dictionary from the shell: ``dictionary``, ``translate`` and ``--FORM-expr``.

Numbers are checked against values computed by hand here (tanh: Phi(lam) =
lam tanh 1, Psi(lam) = 2 lam^2 ln cosh 1, S(s) = s - theta tanh(s/theta));
the deep-learning activations outside the stability theorem must name
exactly the conditions that fail, and a run with them must be refused.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.nonlinearities import NON_ODD_ACTIVATIONS, NONLINEARITIES

SQRT2 = math.sqrt(2.0)


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def csv_in(tmp_path, rng):
    t = np.linspace(0.0, 1.0, 60)
    u = np.where(t < 0.5, -1.0, 1.0) + 0.2 * rng.standard_normal(60)
    path = tmp_path / "in.csv"
    path.write_text("x\n" + "\n".join(repr(float(v)) for v in u) + "\n")
    return path


def read_csv(path):
    return np.loadtxt(path, skiprows=1, ndmin=1)


def translate(runner, *args):
    result = runner.invoke(cli, ["translate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# resdenoise dictionary
# --------------------------------------------------------------------------


def test_dictionary_json_lists_every_entry_in_four_forms(runner):
    result = runner.invoke(cli, ["dictionary", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["entries"]
    assert [r["family"] for r in rows] == list(NONLINEARITIES) + list(NON_ODD_ACTIVATIONS)
    for r in rows:
        assert set(r["formulas"]) == {"diffusivity", "regulariser", "shrinkage", "activation"}
        assert r["class"] in ("convex", "nonconvex")
    by = {r["family"]: r for r in rows}
    assert by["soft"]["aliases"]["regulariser"] == ["huber"]
    assert "hardtanh" in by["soft"]["aliases"]["activation"]
    assert "isru" in by["charbonnier"]["aliases"]["activation"]
    assert "weak-string" in by["hard"]["aliases"]["regulariser"]
    assert "truncated-balanced-forward-backward" in by["garrote"]["aliases"]["diffusivity"]
    assert "whittaker-tikhonov" in by["linear"]["aliases"]["regulariser"]
    assert by["hard"]["lipschitz"] is None and by["hard"]["g_max"] == 1.0  # inf -> null
    assert by["sigmoid"]["g_max"] is None
    assert [r["class"] for r in rows[:6]] == ["convex"] * 3 + ["nonconvex"] * 3
    for key in NONLINEARITIES:
        assert by[key]["stable"] and "fails" not in by[key]
    for key in NON_ODD_ACTIVATIONS:
        assert by[key]["forms"] == ["activation"]
        assert by[key]["notes"][0]["condition"] == "Phi is odd"  # none of them is odd
    # 0 <= g <= 1: stable though not odd (the paper, section 3; audit19a A19a-10)
    for key in ("relu", "leaky-relu", "gelu", "silu"):
        assert by[key]["stable"] and by[key]["fails"] == [], key
    assert not by["sigmoid"]["stable"]
    assert [c["condition"] for c in by["sigmoid"]["fails"]] == ["g >= 0", "g bounded"]


def test_dictionary_table(runner):
    result = runner.invoke(cli, ["dictionary"])
    assert result.exit_code == 0
    out = result.stdout
    for key in list(NONLINEARITIES) + list(NON_ODD_ACTIVATIONS):
        assert key in out
    for word in ("huber", "isru", "hardtanh", "weak-string", "truncated-tv", "g_max = 1"):
        assert word in out
    text = " ".join(out.split())
    assert "relu: 'Phi is odd' does not hold: Phi(-1) = 0 but -Phi(1) = -1" in text
    assert "relu: 'Phi is odd' fails" not in text


def test_dictionary_family_filter(runner):
    rows = json.loads(
        runner.invoke(cli, ["dictionary", "--json", "--family", "HARD", "--family", "relu"]).stdout
    )["entries"]
    assert [r["family"] for r in rows] == ["hard", "relu"]


# --------------------------------------------------------------------------
# resdenoise translate
# --------------------------------------------------------------------------


def test_translate_tanh_by_hand(runner):
    lam = 2.0
    t = translate(runner, "--activation", "tanh", "--lambda", str(lam), "--tau", "0.3")
    assert (t["family"], t["given"], t["class"]) == ("tanh", "activation", "convex")
    assert (t["g_min"], t["g_max"], t["lipschitz"]) == (0.0, 1.0, 1.0)
    assert (t["tau_linf_bound"], t["tau_sign_bound"]) == (0.5, 0.25)
    assert t["theorem_applies"] and t["linf_stable"] and not t["sign_stable"]
    forms = t["forms"]
    x = forms["activation"]["x"]
    assert x == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]  # lam * (0, 1/4, 1/2, 1, 2, 4)
    i = x.index(lam)
    theta = lam / SQRT2
    assert forms["activation"]["values"][i] == pytest.approx(lam * math.tanh(1.0), rel=1e-15)
    assert forms["diffusivity"]["values"][i] == pytest.approx(math.tanh(1.0), rel=1e-15)
    assert forms["regulariser"]["values"][i] == pytest.approx(
        2 * lam**2 * math.log(math.cosh(1.0)), rel=1e-14
    )
    assert forms["shrinkage"]["values"][i] == pytest.approx(
        lam - theta * math.tanh(lam / theta), rel=1e-14
    )
    assert forms["activation"]["formula"] == "lam tanh(r/lam)"
    assert forms["shrinkage"]["formula"] == "s - theta tanh(s/theta)"
    conditions = {c["condition"]: c["holds"] for c in t["conditions"]}
    assert conditions == {
        "Phi is odd": True,
        "g >= 0": True,
        "g bounded": True,
        "tau <= h^2/(2 g_max)": True,
        "tau <= h^2/(4 g_max)": False,
    }


@pytest.mark.parametrize(
    "flag, name, family",
    [
        ("--activation", "tanh", "tanh"),
        ("--activation", "softsign", "softsign"),
        ("--activation", "arctan", "arctan"),
        ("--activation", "hardtanh", "soft"),
        ("--activation", "isru", "charbonnier"),
        ("--regulariser", "huber", "soft"),
        ("--diffusivity", "truncated-tv", "soft"),
        ("--shrinkage", "garotte", "garrote"),
    ],
)
def test_odd_activations_and_paper_names_translate_and_are_covered(runner, flag, name, family):
    t = translate(runner, flag, name)
    assert t["family"] == family and t["theorem_applies"] and t["odd"]
    assert t["linf_stable"] is None  # no --tau: only the bounds
    assert all(c["holds"] for c in t["conditions"])


# (name, the explanation of its oddness failing, computed by hand at lam = 1): each has
# 0 <= g <= 1 and is stable though not odd (the paper, section 3; audit19a A19a-10)
NOT_ODD = [
    ("relu", "Phi(-1) = 0 but -Phi(1) = -1"),
    ("leaky-relu", "Phi(-1) = -0.01 but -Phi(1) = -1"),
    ("leakyrelu", "Phi(-1) = -0.01 but -Phi(1) = -1"),
    # gelu: Phi(-1) = -Cdf(-1) = -0.158655, -Phi(1) = -Cdf(1) = -0.841345
    ("gelu", "Phi(-1) = -0.158655 but -Phi(1) = -0.841345"),
    # silu: Phi(-1) = -1/(1 + e) = -0.268941, -Phi(1) = -1/(1 + 1/e) = -0.731059
    ("silu", "Phi(-1) = -0.268941 but -Phi(1) = -0.731059"),
    ("swish", "Phi(-1) = -0.268941"),
]


@pytest.mark.parametrize("name, detail", NOT_ODD)
def test_activations_that_are_not_odd_are_stable_and_say_so(runner, name, detail):
    t = translate(runner, "--activation", name, "--tau", "0.25")
    assert t["theorem_applies"] and t["linf_stable"] and t["sign_stable"] and not t["odd"]
    failed = [c for c in t["conditions"] if not c["holds"]]
    assert [(c["condition"], c["required"]) for c in failed] == [("Phi is odd", False)]
    assert detail in failed[0]["detail"] and "Theorem 2 as stated" in failed[0]["detail"]
    table = runner.invoke(cli, ["translate", "--activation", name, "--check", "--tau", "0.25"])
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "not covered by the stability theorem" not in text and "fails" not in text
    assert "tau = 0.25: sign stable" in text


@pytest.mark.parametrize("name", [n for n, _ in NOT_ODD])
def test_a_run_with_them_runs_and_its_guarantees_hold(runner, csv_in, tmp_path, name):
    """Refused before ("No tau makes it stable"), and with --allow-unstable "guarantees
    failed" (--strict: exit 4) where every measured guarantee held."""
    out, report = tmp_path / "out.csv", tmp_path / "r.json"
    args = ["resnet", str(csv_in), "--activation", name, "--blocks", "3", "--lambda", "1"]
    result = runner.invoke(cli, [*args, "--strict", "-o", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "refused" not in result.stderr
    data = json.loads(report.read_text())
    assert data["stability"]["odd"] is False and data["stability"]["linf_stable"] is True
    assert data["stability"]["sign_stable"] is True and data["failed_checks"] == []


def test_sigmoid_says_which_conditions_fail_and_is_refused(runner, csv_in, tmp_path):
    # sigmoid: Phi(0) = 1/2; g(-1) = sigma(-1)/(-1) = -0.268941
    t = translate(runner, "--activation", "sigmoid")
    assert not t["theorem_applies"]
    failed = [c for c in t["conditions"] if not c["holds"]]
    assert [c["condition"] for c in failed] == ["Phi is odd", "g >= 0", "g bounded"]
    details = ["Phi(0) = 0.5, not 0", "g(-1) = -0.268941 < 0", "unbounded at r = 0"]
    for c, detail in zip(failed, details, strict=True):
        assert detail in c["detail"], c["detail"]
    table = runner.invoke(cli, ["translate", "--activation", "sigmoid"])
    assert table.exit_code == 0
    assert "not covered by the stability theorem" in " ".join(table.stdout.split())
    out = tmp_path / "out.csv"
    args = ["resnet", str(csv_in), "--activation", "sigmoid", "--blocks", "3", "--tau", "0.1"]
    result = runner.invoke(cli, [*args, "--lambda", "1", "-o", str(out)])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: refused as unstable: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "negative somewhere" in result.stderr and "No tau makes it stable" in result.stderr
    assert "Phi is not odd" not in result.stderr
    assert not out.exists()


def test_sigmoid_without_tau_is_refused_too(runner, csv_in):
    result = runner.invoke(cli, ["resnet", str(csv_in), "--activation", "sigmoid", "--blocks", "3"])
    assert result.exit_code == 3


def test_translate_an_expression(runner):
    t = translate(runner, "--activation-expr", "r*exp(-r**2/(2*lam**2))", "--lambda", "0.5")
    assert t["family"] == "custom" and not t["exact"]
    assert t["class"] == "nonconvex" and t["odd"] and not t["monotone"]
    assert t["g_max"] == pytest.approx(1.0, rel=1e-12)
    assert t["forms"]["activation"]["formula"] == "r*exp(-r**2/(2*lam**2))"
    assert t["forms"]["regulariser"]["formula"] is None  # translated: values only
    # Psi(lam) = 2 lam^2 (1 - e^-1/2), S(lam) at tau = 1/4: s (1 - e^{-s^2/lam^2})
    i = t["forms"]["regulariser"]["x"].index(0.5)
    assert t["forms"]["regulariser"]["values"][i] == pytest.approx(0.5 * (1 - math.exp(-0.5)))
    assert t["forms"]["shrinkage"]["values"][i] == pytest.approx(0.5 * (1 - math.exp(-1.0)))


def test_translate_shrinkage_threshold_and_expression_in_s(runner):
    t = translate(runner, "--shrinkage-expr", "where(abs(s) > theta, s, 0)", "--threshold", "1")
    assert t["lambda"] == pytest.approx(SQRT2)
    assert t["g_min"] == 0.0 and t["g_max"] == pytest.approx(1.0)
    assert t["theorem_applies"]


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give exactly one of"),
        (["--activation", "tanh", "--diffusivity", "pm"], "got --activation, --diffusivity"),
        (["--activation", "tanh", "--activation-expr", "r"], "give exactly one of"),
        (["--activation", "nope"], "Invalid value for '--activation'"),
        (["--activation-expr", "r.__class__"], "attribute access"),
        (["--shrinkage", "soft", "--lambda", "1", "--threshold", "1"], "not both"),
    ],
)
def test_translate_usage_errors(runner, args, message):
    result = runner.invoke(cli, ["translate", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


# --------------------------------------------------------------------------
# --FORM-expr on the four filtering commands
# --------------------------------------------------------------------------

SAME = [
    (
        ["diffuse", "--diffusivity", "perona-malik", "--lambda", "0.5", "--time", "2"],
        [
            "diffuse",
            "--diffusivity-expr",
            "exp(-r**2/(2*lam**2))",
            "--lambda",
            "0.5",
            "--time",
            "2",
        ],
    ),
    (
        ["shrink", "--shrinkage", "hard", "--threshold", "0.4", "--iterations", "3"],
        [
            "shrink",
            "--shrinkage-expr",
            "s if abs(s) > theta else 0",
            "--threshold",
            "0.4",
            "--iterations",
            "3",
        ],
    ),
    (
        ["regularise", "--regulariser", "huber", "--lambda", "0.5", "--alpha", "1.5"],
        [
            "regularise",
            "--regulariser-expr",
            "where(abs(r) <= lam, r^2, 2*lam*abs(r) - lam^2)",
            "--lambda",
            "0.5",
            "--alpha",
            "1.5",
        ],
    ),
    (
        ["resnet", "--activation", "isru", "--lambda", "0.5", "--blocks", "5"],
        [
            "resnet",
            "--activation-expr",
            "r/sqrt(1 + r^2/lam^2)",
            "--lambda",
            "0.5",
            "--blocks",
            "5",
        ],
    ),
]


@pytest.mark.parametrize("named, expr", SAME, ids=[s[0][0] for s in SAME])
def test_expression_runs_like_the_registry_entry(runner, csv_in, tmp_path, named, expr):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    ra = runner.invoke(cli, [named[0], str(csv_in), *named[1:], "-o", str(a), "-q"])
    rb = runner.invoke(
        cli,
        [
            expr[0],
            str(csv_in),
            *expr[1:],
            "-o",
            str(b),
            "-q",
            "--report",
            str(tmp_path / "rep.json"),
        ],
    )
    assert ra.exit_code == 0 and rb.exit_code == 0, rb.output
    np.testing.assert_allclose(read_csv(b), read_csv(a), rtol=0, atol=1e-12)
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["family"] == "custom"
    assert report["parameters"]["expression"] == expr[2]
    assert report["stability"]["linf_stable"] and report["stability"]["exact"] is False


def test_expression_without_lam_ignores_auto_lambda(runner, csv_in, tmp_path):
    rep = tmp_path / "rep.json"
    result = runner.invoke(
        cli,
        [
            "resnet",
            str(csv_in),
            "--activation-expr",
            "tanh(r)",
            "--blocks",
            "2",
            "-o",
            str(tmp_path / "o.csv"),
            "-q",
            "--report",
            str(rep),
        ],
    )
    assert result.exit_code == 0
    assert json.loads(rep.read_text())["parameters"]["lambda"] == 1.0


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["resnet", "--activation-expr", "__import__('os')", "--blocks", "2"],
            2,
            "Invalid value for '--activation-expr': character 1: function '__import__'",
        ),
        (
            ["resnet", "--activation-expr", "r", "--activation", "tanh", "--blocks", "2"],
            2,
            "not both",
        ),
        (["resnet", "--activation-expr", "r", "--blocks", "auto"], 2, "'auto' needs"),
        (["resnet", "--activation-expr", "maximum(r, 0) - 2", "--blocks", "2"], 3, "unbounded"),
        (["diffuse", "--diffusivity-expr", "-1", "--steps", "2", "--tau", "0.1"], 3, "negative"),
        (["shrink", "--shrinkage-expr", "r.x"], 2, "attribute access"),
    ],
)
def test_expression_errors_on_run_commands(runner, csv_in, tmp_path, args, code, message):
    out = tmp_path / "o.csv"
    result = runner.invoke(cli, [args[0], str(csv_in), *args[1:], "-o", str(out)])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert not out.exists()


def test_every_command_offers_its_expression_option(runner):
    for command, form in [
        ("diffuse", "diffusivity"),
        ("shrink", "shrinkage"),
        ("regularise", "regulariser"),
        ("resnet", "activation"),
    ]:
        result = runner.invoke(cli, [command, "--help"])
        assert f"--{form}-expr" in result.stdout
    assert "--network" in runner.invoke(cli, ["resnet", "--help"]).stdout
