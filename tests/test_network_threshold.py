"""A network file's shrinkage `threshold` is the Haar threshold, as `shrink --threshold`
means it, for any h (audit12a D2); a file of the old format with h != 1 is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise.filters import plan_shrink, run_plan
from resdenoise.network import NetworkError, build_network, parse_network
from resdenoise.nonlinearities import SQRT2, get_nonlinearity

EXE = str(Path(sys.executable).parent / "resdenoise")


def _net(h, threshold, version="version = 2\n", shrinkage="garrote"):
    return parse_network(
        f"{version}h = {h!r}\n[[block]]\nshrinkage = '{shrinkage}'\nthreshold = {threshold!r}\n"
    )


@settings(max_examples=30, deadline=None)
@given(
    h=st.sampled_from([0.25, 0.5, 0.7, 1.0, 2.0, 3.0]),
    threshold=st.floats(0.01, 2.0),
    shrinkage=st.sampled_from(["garrote", "soft", "hard"]),
    seed=st.integers(0, 2**16),
)
def test_a_threshold_block_is_the_haar_step_of_shrink(h, threshold, shrinkage, seed):
    """At its default tau h^2/4 the block is one Haar step at the threshold, for any h.
    Before: the step at threshold x h (h = 0.5: garrote 0.2 acted as 0.1)."""
    f = np.cumsum(np.random.default_rng(seed).standard_normal(64)) * 0.3
    plan = build_network(_net(h, threshold, shrinkage=shrinkage), f)
    assert plan.groups[0][1].lam == SQRT2 * threshold / h
    shrink = plan_shrink(get_nonlinearity(shrinkage, "shrinkage", SQRT2 * threshold))
    np.testing.assert_allclose(run_plan(plan, f), run_plan(shrink, f), rtol=0, atol=1e-12)


def test_an_old_file_with_a_threshold_and_h_not_1_is_refused(tmp_path):
    spec = _net(0.5, 0.2, version="")
    with pytest.raises(NetworkError, match="ambiguous.*version = 2.*lambda = 0.28284271247461906"):
        build_network(spec)
    assert build_network(_net(1.0, 0.2, version="")).groups[0][1].lam == 0.2 * SQRT2
    with pytest.raises(NetworkError, match="ambiguous"):  # h from the command line
        build_network(parse_network("[[block]]\nshrinkage = 'soft'\nthreshold = 0.2\n"), h=2.0)
    with pytest.raises(NetworkError, match="block 1 .*beyond the float range"):
        build_network(_net(1e-10, 1e300))  # before the message named no block: lambda = inf
    with pytest.raises(NetworkError, match="version must be 1 or 2"):
        _net(1.0, 0.2, version="version = 3\n")
    f = np.cumsum(np.random.default_rng(9).standard_normal(101)) * 0.3
    np.savetxt(tmp_path / "in.csv", f, fmt="%.17g")
    (tmp_path / "net.toml").write_text(
        'h = 0.5\n[[block]]\nshrinkage = "garrote"\nthreshold = 0.2\n'
    )
    cmd = [EXE, "resnet", "in.csv", "--network", "net.toml", "-o", "out.csv"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "ambiguous" in result.stderr and not (tmp_path / "out.csv").exists()
