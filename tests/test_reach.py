"""A custom formula's stability is sampled as far as the signal's differences reach.

Issue 18, item 7: ``r*(1 + 1000*(abs(r) > 1e7*lam))`` is the identity on the
fixed grid (up to 1e6 lam) and was certified stable with tau = 1/4, then
blew up to 1e17 on a signal whose differences pass 1e7 lam.  Bound to a
signal, a custom nonlinearity knows its reach (range / h, which a stable
run's differences never exceed) and the grid is stretched to it.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise import stability
from resdenoise.cli import cli
from resdenoise.expr import expression_nonlinearity, parse_expression
from resdenoise.filters import bind_nonlinearity, with_reach
from resdenoise.nonlinearities import get_nonlinearity

FORMULA = "r*(1 + 1000*(abs(r) > 1e7*lam))"


def jump(n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(0)
    return 1000.0 * np.sign(np.sin(np.arange(n) / 20.0)) + rng.standard_normal(n)


def test_the_grid_alone_misses_the_jump_and_the_reach_finds_it():
    nl = expression_nonlinearity(parse_expression(FORMULA, "activation"), "activation", 1e-5)
    assert stability.analyse_function(nl).g_max == 1.0  # the fixed grid ends at 1e6 lam
    bound, _ = bind_nonlinearity(
        parse_expression(FORMULA, "activation"), "activation", 1e-5, jump()
    )
    assert bound.reach == float(np.ptp(jump()))
    props = stability.analyse_function(bound)
    assert props.g_max == pytest.approx(1001.0, rel=1e-12) and not props.exact
    assert stability.default_tau(bound) == pytest.approx(1.0 / (4 * 1001.0), rel=1e-12)


def test_a_reach_inside_the_grid_changes_nothing():
    nl = expression_nonlinearity(
        parse_expression("tanh(r/lam)*lam", "activation"), "activation", 1.0
    )
    near = with_reach(nl, np.array([0.0, 3.0]))
    assert near.reach == 3.0
    assert stability.analyse_function(near) == stability.analyse_function(nl)
    registry = get_nonlinearity("tanh", "activation", 1.0)
    assert with_reach(registry, jump()) is registry  # exact bounds need no samples


def test_the_command_line_runs_it_stably(tmp_path):
    src, out = tmp_path / "jump.csv", tmp_path / "out.csv"
    x = jump()
    np.savetxt(src, x)
    args = ["resnet", str(src), "--activation-expr", FORMULA, "--lambda", "1e-5"]
    result = CliRunner().invoke(cli, [*args, "--blocks", "5", "-o", str(out), "--strict", "-q"])
    assert result.exit_code == 0, result.output
    y = np.loadtxt(out)
    assert np.all(np.isfinite(y)) and x.min() <= y.min() and y.max() <= x.max()
