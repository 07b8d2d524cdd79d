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
