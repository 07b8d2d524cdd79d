"""Your own network: TOML files of differing diffusion blocks (resdenoise.network).

A network file of mixed blocks must equal running the blocks one after
another, both against a reference block written here and against successive
runs of the CLI; each block group is checked on its own and the network is
stable only when every group is.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.filters import analyse_run, run_plan
from resdenoise.network import (
    NetworkError,
    NetworkPlan,
    build_network,
    load_network,
    parse_network,
)

SQRT2 = math.sqrt(2.0)
EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "network.toml"

MIXED = """
description = "three kinds of block"

[[block]]
activation = "perona-malik"
lambda = 0.4
tau = 0.2
repeat = 7

[[block]]            # your own: softsign, written out
activation-expr = "r/(1 + abs(r)/lam)"
lambda = 0.3
tau = 0.25
repeat = 4

[[block]]
shrinkage = "garrote"
threshold = 0.25
repeat = 3           # tau: the sign bound 1/4 of the translated activation
"""


# --------------------------------------------------------------------------
# A reference diffusion block and activations written here (the paper, eq. 6 and Table 3)
# --------------------------------------------------------------------------


def reference_block(u: np.ndarray, phi, tau: float, h: float = 1.0) -> np.ndarray:
    """u_i += tau/h (F_i - F_{i-1}), F_i = Phi((u_{i+1} - u_i)/h), zero flux at both ends."""
    out = u.copy()
    n = len(u)
    flux = [phi((u[i + 1] - u[i]) / h) for i in range(n - 1)]
    for i in range(n):
        right = flux[i] if i < n - 1 else 0.0
        left = flux[i - 1] if i > 0 else 0.0
        out[i] = u[i] + tau / h * (right - left)
    return out


def pm(lam):
    return lambda r: r * math.exp(-r * r / (2 * lam * lam))


def softsign(lam):
    return lambda r: r / (1 + abs(r) / lam)


def garrote_from_shrinkage(theta):
    """Phi(r) = r - sqrt2 S(r/sqrt2) at tau = 1/4, S the garrote with threshold theta."""

    def s(x):
        return x - theta * theta / x if abs(x) > theta else 0.0

    return lambda r: r - SQRT2 * s(r / SQRT2)


@pytest.fixture
def noisy(rng):
    t = np.linspace(0.0, 1.0, 80)
    return np.where(t < 0.4, 0.0, 1.0) + 0.15 * rng.standard_normal(80)


def test_mixed_network_equals_its_blocks_one_after_another(noisy):
    plan = build_network(parse_network(MIXED, "mixed.toml"))
    assert isinstance(plan, NetworkPlan)
    assert plan.steps == 14
    assert plan.stopping_time == pytest.approx(7 * 0.2 + 4 * 0.25 + 3 * 0.25)
    out = run_plan(plan, noisy)

    expected = noisy.copy()
    for phi, tau, m in [
        (pm(0.4), 0.2, 7),
        (softsign(0.3), 0.25, 4),
        (garrote_from_shrinkage(0.25), 0.25, 3),
    ]:
        for _ in range(m):
            expected = reference_block(expected, phi, tau)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-13)


def test_network_of_two_channels_and_grid_size(rng):
    text = '[[block]]\nactivation = "tanh"\nlambda = 2.0\ntau = 0.5\nrepeat = 3\n'
    u = rng.standard_normal((30, 2)) * 3.0
    plan = build_network(parse_network(text), h=1.5)
    assert plan.h == 1.5
    out = run_plan(plan, u)
    for c in range(2):
        expected = u[:, c].copy()
        for _ in range(3):
            expected = reference_block(expected, lambda r: 2.0 * math.tanh(r / 2.0), 0.5, 1.5)
        np.testing.assert_allclose(out[:, c], expected, rtol=0, atol=1e-13)


def test_each_group_has_its_verdict_and_the_network_is_stable_only_if_all_are():
    text = """
[[block]]
activation = "tanh"
tau = 0.25
[[block]]
activation = "charbonnier"
tau = 0.4          # L-infinity stable, not sign stable
[[block]]
activation = "sigmoid"
tau = 0.1          # g unbounded (Phi(0) = 1/2): outside the theorem whatever tau
"""
    plan = build_network(parse_network(text, "net.toml"), lam=1.0)
    v = plan.verdict()
    s = [b["stability"] for b in v.blocks]
    assert [x["linf_stable"] for x in s] == [True, True, False]
    assert [x["sign_stable"] for x in s] == [True, False, False]
    assert not v.linf_stable and not v.sign_stable
    assert "net.toml: block 3 (line 9) (sigmoid): g = Phi(r)/r is unbounded" in v.reason
    assert "block 1" not in v.reason and "block 2" not in v.reason
    d = v.as_dict()
    assert [b["tau"] for b in d["blocks"]] == [0.25, 0.4, 0.1]
    assert d["blocks"][1]["stability"]["tau_sign_bound"] == 0.25


@pytest.mark.parametrize("h", [1.0, 2.0])
@pytest.mark.parametrize("linear_first", [True, False])
def test_a_network_of_unequal_bounds_reports_the_smallest_steps(h, linear_first):
    """ "linear": g = 1; "0.5*r": g = 0.5.  With h the bounds h^2/(2 g_max), h^2/(4 g_max)
    are h^2 (1/2, 1/4) and h^2 (1, 1/2): the network, as stable as its least stable
    block, reports g in [0.5, 1], Lipschitz 1, the largest step and the smaller bounds,
    whichever block comes first."""
    linear = '[[block]]\nactivation = "linear"\ntau = 0.25\n'
    half = '[[block]]\nactivation-expr = "0.5*r"\ntau = 0.2\n'
    text = linear + half if linear_first else half + linear
    v = build_network(parse_network(text, "net.toml"), lam=1.0, h=h).verdict()
    assert (v.g_min, v.g_max, v.lipschitz, v.tau) == (0.5, 1.0, 1.0, 0.25)
    assert (v.tau_linf_bound, v.tau_sign_bound) == (h * h / 2, h * h / 4)
    assert v.linf_stable and v.sign_stable
    bounds = [
        (b["stability"]["tau_linf_bound"], b["stability"]["tau_sign_bound"]) for b in v.blocks
    ]
    assert bounds == ([(h * h / 2, h * h / 4), (h * h, h * h / 2)][:: 1 if linear_first else -1])


def test_auto_lambda_needs_the_signal_and_is_shared(noisy):
    text = '[[block]]\nactivation = "tanh"\n[[block]]\nactivation = "pm"\nlambda = "auto"\n'
    with pytest.raises(NetworkError, match="Unknown activation 'pm'"):
        parse_network(text)  # 'pm' is a diffusivity alias, not an activation
    text = text.replace('"pm"', '"perona-malik"')
    with pytest.raises(NetworkError, match="lambda is auto and no signal"):
        build_network(parse_network(text))
    plan = build_network(parse_network(text), noisy)
    lams = [nl.lam for _, nl, _ in plan.groups]
    assert lams[0] == lams[1] == plan.parameters["lambda_auto"] > 0


def test_callback_counts_all_blocks_and_can_stop(noisy):
    plan = build_network(parse_network(MIXED))
    seen = []
    run_plan(plan, noisy, callback=lambda k, u: seen.append(k))
    assert seen == list(range(1, 15))
    seen.clear()
    run_plan(plan, noisy, callback=lambda k, u: seen.append(k) or (False if k == 9 else None))
    assert seen == list(range(1, 10))


def test_report_of_a_network_run(noisy):
    plan = build_network(parse_network(MIXED, "mixed.toml"))
    out = run_plan(plan, noisy)
    report = analyse_run(plan, noisy, out)
    assert report["family"] == "network" and report["steps"] == 14
    assert report["parameters"]["network"] == "mixed.toml"
    blocks = report["stability"]["blocks"]
    assert [b["repeat"] for b in blocks] == [7, 4, 3]
    assert [b["family"] for b in blocks] == ["perona-malik", "custom", "garrote"]
    assert report["guarantees_held"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[[block]\n", ["invalid TOML", "line 1"]),
        ("h = 1\n", ["no blocks"]),
        ("blocks = 3\n[[block]]\nactivation = 'tanh'\n", ["unknown top-level key 'blocks'"]),
        (
            "[[block]]\nactivation = 'tanh'\ntaus = 0.2\n",
            ["block 1 (line 3)", "unknown key 'taus'"],  # the key's line
        ),
        ("[[block]]\nrepeat = 2\n", ["exactly one of", "got none"]),
        (
            "[[block]]\nactivation = 'tanh'\ndiffusivity = 'pm'\n",
            ["got diffusivity and activation"],
        ),
        ("[[block]]\nactivation = 'nope'\n", ["Unknown activation 'nope'"]),
        ("[[block]]\nactivation-expr = 'r.x'\n", ["activation-expr", "attribute access"]),
        ("[[block]]\nactivation = 'tanh'\nlambda = -1\n", ["lambda must be a finite number > 0"]),
        (
            "[[block]]\nactivation = 'tanh'\nlambda = 'big'\n",
            ["lambda must be a finite number > 0, got 'big'"],
        ),
        ("[[block]]\nactivation = 'tanh'\ntau = 0\n", ["tau must be a finite number > 0"]),
        ("[[block]]\nactivation = 'tanh'\ntau = inf\n", ["tau must be a finite number > 0"]),
        ("[[block]]\nactivation = 'tanh'\nrepeat = 0\n", ["repeat must be an integer"]),
        ("[[block]]\nactivation = 'tanh'\nrepeat = 1.5\n", ["repeat must be an integer"]),
        ("[[block]]\nactivation = 'tanh'\nthreshold = 1\n", ["threshold is for shrinkage"]),
        ("[[block]]\nshrinkage = 'soft'\nthreshold = 1\nlambda = 1\n", ["lambda or threshold"]),
        ("[[block]]\nactivation = 3\n", ["activation must be a string"]),
        ("h = -2\n[[block]]\nactivation = 'tanh'\n", ["h must be a finite number > 0"]),
        ("[[block]]\nactivation = 'tanh'\nscale = 0\n", ["block 1", "scale must be an integer"]),
        ("[[block]]\nactivation = 'tanh'\nscale = 2.0\n", ["scale must be an integer"]),
        ("[[block]]\nactivation = 'tanh'\nscale = true\n", ["scale must be an integer"]),
        ("[[block]]\nactivation = 'tanh'\nscale = '4'\n", ["scale must be an integer"]),
        ("[[block]]\nactivation = 'tanh'\nscale = 2097152\n", ["from 1 to 1048576"]),
        ("stop = 'sur'\n[[block]]\nactivation = 'tanh'\n", ["stop (line 1)", "unknown stop"]),
        ("stop = true\n[[block]]\nactivation = 'tanh'\n", ["stop (line 1)", "'sure'"]),
        ("max-blocks = 3\n[[block]]\nactivation = 'tanh'\n", ["max-blocks (line 1)", "add stop"]),
        (
            "stop = 'sure'\nmax-blocks = 0\n[[block]]\nactivation = 'tanh'\n",
            ["max-blocks (line 2)", "integer from 1 to"],
        ),
        ("stop = 'sure'\nmax-blocks = 2.5\n[[block]]\nactivation = 'tanh'\n", ["max-blocks"]),
        (
            "lambda-factors = [1.0]\n[[block]]\nactivation = 'tanh'\n",
            ["lambda-factors (line 1)", "add stop"],
        ),
        (
            "stop = 'sure'\nlambda-factors = [1.0, -2]\n[[block]]\nactivation = 'tanh'\n",
            ["lambda-factors (line 2)", "finite numbers > 0"],
        ),
        ("stop = 'sure'\nlambda-factors = []\n[[block]]\nactivation = 'tanh'\n", ["1 to 32"]),
    ],
)
def test_malformed_network_files_are_refused_with_place_and_key(text, words):
    with pytest.raises(NetworkError) as info:
        parse_network(text, "net.toml")
    message = str(info.value)
    assert message.startswith("net.toml: ")
    for w in words:
        assert w in message, message


def test_threshold_of_a_shrinkage_block_is_lambda_over_sqrt2():
    spec = parse_network("[[block]]\nshrinkage = 'hard'\nthreshold = 0.5\n")
    assert spec.blocks[0].threshold == 0.5 and spec.blocks[0].lam is None
    assert build_network(spec).groups[0][1].lam == 0.5 * SQRT2  # h = 1


def test_the_example_file_loads_and_is_stable(noisy):
    spec = load_network(str(EXAMPLE))
    assert len(spec.blocks) == 3
    plan = build_network(spec, noisy)
    v = plan.verdict()
    assert v.linf_stable and v.sign_stable
    out = run_plan(plan, noisy)
    assert noisy.min() <= out.min() and out.max() <= noisy.max()


def test_missing_file_is_an_io_error(tmp_path):
    from resdenoise.errors import ResdenoiseError

    with pytest.raises(ResdenoiseError, match="cannot read the network file") as info:
        load_network(str(tmp_path / "nope.toml"))
    assert info.value.exit_code == 1


# --------------------------------------------------------------------------
# Through the command line
# --------------------------------------------------------------------------


def _write_csv(path, values):
    path.write_text("x\n" + "\n".join(repr(float(v)) for v in values) + "\n")


def _read_csv(path):
    return np.loadtxt(path, skiprows=1, ndmin=1)


def test_cli_network_equals_successive_cli_runs(tmp_path, noisy):
    net = tmp_path / "net.toml"
    net.write_text(MIXED)
    src = tmp_path / "in.csv"
    _write_csv(src, noisy)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["resnet", str(src), "--network", str(net), "-o", str(tmp_path / "net.csv"), "-q"]
    )
    assert result.exit_code == 0, result.output

    steps = [
        [
            "resnet",
            "--activation",
            "perona-malik",
            "--lambda",
            "0.4",
            "--tau",
            "0.2",
            "--blocks",
            "7",
        ],
        [
            "resnet",
            "--activation-expr",
            "r/(1 + abs(r)/lam)",
            "--lambda",
            "0.3",
            "--tau",
            "0.25",
            "--blocks",
            "4",
        ],
        ["shrink", "--shrinkage", "garrote", "--threshold", "0.25", "--iterations", "3"],
    ]
    current = src
    for i, args in enumerate(steps):
        nxt = tmp_path / f"step{i}.csv"
        result = runner.invoke(cli, [args[0], str(current), *args[1:], "-o", str(nxt), "-q"])
        assert result.exit_code == 0, result.output
        current = nxt
    np.testing.assert_array_equal(_read_csv(tmp_path / "net.csv"), _read_csv(current))


def test_cli_network_report_and_refusal(tmp_path, noisy):
    src = tmp_path / "in.csv"
    _write_csv(src, noisy)
    net = tmp_path / "net.toml"
    net.write_text(
        '[[block]]\nactivation = "tanh"\nrepeat = 2\n\n[[block]]\nactivation = "sigmoid"\ntau = 0.1\n'
    )
    runner = CliRunner()
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-o", str(out)])
    assert result.exit_code == 3
    at = f"Error: refused as unstable: {net}: block 2 (line 6) (sigmoid): "  # its activation
    assert result.stderr.startswith(at)
    assert "unbounded" in result.stderr and "No tau makes it stable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()

    report = tmp_path / "report.json"
    result = runner.invoke(
        cli,
        [
            "resnet",
            str(src),
            "--network",
            str(net),
            "-o",
            str(out),
            "--allow-unstable",
            "--report",
            str(report),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert [b["stability"]["linf_stable"] for b in data["stability"]["blocks"]] == [True, False]
    assert data["stability"]["linf_stable"] is False
    assert data["steps"] == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--blocks", "3"], "--blocks M or --network FILE, not both"),
        (["--activation", "tanh"], "drop --activation"),
        (["--activation-expr", "r"], "drop --activation"),
        (["--h", "2"], "sets h = 1; drop --h 2"),
    ],
)
def test_cli_network_conflicts(tmp_path, noisy, extra, message):
    src = tmp_path / "in.csv"
    _write_csv(src, noisy)
    result = CliRunner().invoke(
        cli, ["resnet", str(src), "--network", str(EXAMPLE), *extra, "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_bad_network_file(tmp_path, noisy):
    src = tmp_path / "in.csv"
    _write_csv(src, noisy)
    net = tmp_path / "net.toml"
    net.write_text("[[block]]\nactivation = 'tanh'\nrepeat = 0\n")
    result = CliRunner().invoke(cli, ["resnet", str(src), "--network", str(net)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {net}: block 1 (line 3): repeat must be an integer from 1 to 10000000, got 0\n"
    )
    result = CliRunner().invoke(cli, ["resnet", str(src), "--network", str(tmp_path / "no.toml")])
    assert result.exit_code == 1
    assert "cannot read the network file" in result.stderr


def test_resnet_without_blocks_or_network_is_a_usage_error(tmp_path, noisy):
    src = tmp_path / "in.csv"
    _write_csv(src, noisy)
    result = CliRunner().invoke(cli, ["resnet", str(src)])
    assert result.exit_code == 2
    assert "--blocks" in result.stderr


# --------------------------------------------------------------------------
# A block group with a scale: differences of stride s
# --------------------------------------------------------------------------

SCALED = """
[[block]]
diffusivity = "perona-malik"
lambda = 0.5
scale = 3
repeat = 4

[[block]]
shrinkage = "soft"
threshold = 0.2
scale = 8
repeat = 2

[[block]]
activation = "tanh"
lambda = 1.0
tau = 0.3
repeat = 2
"""


def reference_strided(u, phi, tau, stride, h=1.0):
    """u_i += tau/h (Phi((u_{i+s} - u_i)/h) - Phi((u_i - u_{i-s})/h)), zero flux outside."""
    n = len(u)
    flux = [phi((u[i + stride] - u[i]) / h) if i + stride < n else 0.0 for i in range(n)]
    left = [flux[i - stride] if i >= stride else 0.0 for i in range(n)]
    return np.array([u[i] + tau / h * (flux[i] - left[i]) for i in range(n)])


def soft_from_shrinkage(theta):
    return lambda r: r - SQRT2 * math.copysign(max(abs(r / SQRT2) - theta, 0.0), r)


@pytest.mark.parametrize("h", [1.0, 0.7])
def test_scaled_groups_equal_strided_blocks_written_out(rng, h):
    u = np.cumsum(rng.standard_normal(61))
    # version 2: the soft block's threshold 0.2 is the Haar threshold, lambda sqrt2 0.2 / h
    plan = build_network(parse_network("version = 2\n" + SCALED, "scaled.toml"), h=h)
    assert [spec.scale for spec, _, _ in plan.groups] == [3, 8, 1]
    out = run_plan(plan, u)
    pm_tau = plan.groups[0][2]
    assert pm_tau == pytest.approx(h * h / 4)  # the ordinary sign-stable bound
    expected = u.copy()
    for phi, tau, stride, m in [
        (pm(0.5), pm_tau, 3, 4),
        (soft_from_shrinkage(0.2 / h), plan.groups[1][2], 8, 2),
        (lambda r: math.tanh(r), 0.3, 1, 2),
    ]:
        for _ in range(m):
            expected = reference_strided(expected, phi, tau, stride, h)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_scaled_groups_report_their_scale_and_guarantees(rng):
    u = np.cumsum(rng.standard_normal(200))
    plan = build_network(parse_network(SCALED, "scaled.toml"))
    assert plan.halo == 3 * 4 + 8 * 2 + 2
    report = analyse_run(plan, u, run_plan(plan, u))
    blocks = report["stability"]["blocks"]
    assert [b["scale"] for b in blocks] == [3, 8, 1]
    assert report["stability"]["whole_signal"] is False
    assert report["guarantees_held"]
    unscaled = build_network(parse_network(MIXED))
    assert unscaled.verdict().whole_signal is True and unscaled.halo == unscaled.steps


def test_scaled_network_in_chunks_is_the_whole_run(rng):
    from resdenoise.stream import filter_in_chunks

    u = np.cumsum(rng.standard_normal(1500))
    plan = build_network(parse_network(SCALED, "scaled.toml"))
    np.testing.assert_allclose(filter_in_chunks(plan, u, chunk=50), run_plan(plan, u), atol=1e-12)
