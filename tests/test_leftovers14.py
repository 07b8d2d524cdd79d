"""Left-overs of session 37: run_blocks refuses what the one-call functions refuse
(item 3)."""

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
