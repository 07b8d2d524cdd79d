"""audit11d: resdenoise as a Python library (typing, pickling, copies, error state,
warnings' locations, docstrings)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import resdenoise


def _tiny(n: int, amplitude: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (np.repeat([0.0, 1.0], n // 2) + 0.1 * rng.standard_normal(n)) * amplitude


@pytest.mark.parametrize(
    ("n", "amplitude", "call"),
    [
        (10, 1e-300, lambda x: resdenoise.diffuse(x, "perona-malik", time=5)),  # probe_flux
        (10, 1e-300, lambda x: resdenoise.resnet(x, "tanh", blocks=3)),
        (10, 1e-310, lambda x: resdenoise.shrink(x, "auto", iterations="auto")),  # shifted
        (3000, 1e-310, lambda x: resdenoise.diffuse(x, "charbonnier", time="auto")),  # windows
        (3000, 1e-300, lambda x: resdenoise.regularise(x, "huber", alpha=1.0)),
    ],
)
def test_a_callers_underflow_error_state_is_not_the_librarys_business(n, amplitude, call):
    """np.seterr(under="raise") of the caller: the library's intended underflow (a probe
    of ever smaller differences, samples times 2**-k, tiny details) raises nothing, the
    numbers are those of the default error state, the caller's state is left as it was."""
    x = _tiny(n, amplitude)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = call(x)
        with np.errstate(all="raise"):
            got = call(x)
            assert np.geterr() == {k: "raise" for k in ("divide", "over", "under", "invalid")}
    np.testing.assert_array_equal(got, expected)
