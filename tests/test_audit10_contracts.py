"""Library/CLI contract defects a new user's audit (audit10b) found: each bad input gives the
project's own error (ParameterError / SignalError, a usage error on the command line) with a
message that names what the caller can change; dtypes as documented."""

from __future__ import annotations

import numpy as np
import pytest
from test_audit_messages import _csv, _error

from resdenoise import learn
from resdenoise.cli import cli
from resdenoise.errors import ParameterError

# D7. learn --seed -1 was an internal error (numpy's default_rng refuses a negative seed)


@pytest.mark.parametrize("clean", [False, True])
def test_learn_negative_seed_is_a_usage_error(runner, tmp_path, clean):
    src = _csv(tmp_path / "n.csv", np.sin(np.arange(64) / 5.0))
    out = tmp_path / "net.toml"
    args = ["learn", str(src), "--seed", "-1", "-o", str(out)]
    args += ["--clean", str(src)] if clean else []
    line = _error(runner.invoke(cli, args), 2)
    assert "Invalid value for '--seed'" in line and "x>=0" in line, line
    assert not out.exists()


def test_library_learn_negative_seed_is_a_parameter_error():
    f = np.sin(np.arange(64) / 5.0)
    with pytest.raises(ParameterError, match=r"^seed must be an integer >= 0, got -1$"):
        learn.make_objective([f], seed=-1)
    objective = learn.make_objective([f], [f])
    arch = learn.Architecture(groups=1, blocks=1, bumps=4)
    with pytest.raises(ParameterError, match=r"^seed must be an integer >= 0, got -2$"):
        learn.fit(objective, arch, seed=-2, max_iterations=1)
