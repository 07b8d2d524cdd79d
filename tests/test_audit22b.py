"""audit22b: an ML researcher's look at learned networks, network files, learn and the
library API (a stopped network's channels, learn's figures of the file as written, the
learn library's channel orientation, network text of NumPy scalars)."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from resdenoise.cli import cli


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})


def _table(path, values, header):
    rows = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values)
    path.write_text(header + "\n" + rows)
    return path


def _read(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=1)


def _quiet_beside_distrusted(n=600):
    """A quiet step channel beside one whose noise is 36 % of its variance (its level
    not trusted), 5.9x louder: the auditor's signal."""
    r = np.random.default_rng(5)
    t = np.linspace(0, 1, n)
    clean = np.c_[np.sign(np.sin(9 * t)), 0.5 * np.sin(25 * t)]
    return clean + np.c_[0.05 * r.standard_normal(n), 0.3 * r.standard_normal(n)]


STOPPED = """stop = "sure"
max-blocks = 64
lambda-factors = [0.5, 1.0, 2.0]

[[block]]
activation = "tanh"
repeat = 4
"""


# A22b-1 -----------------------------------------------------------------------


def test_a_stopped_network_passes_a_distrusted_channel_through_as_the_searches_do(tmp_path):
    """fails before: column b (its level not trusted, 5.9x column a's) set the automatic
    lambda of both channels: column a filtered at b's lambda, b filtered, no warning."""
    u = _quiet_beside_distrusted()
    src = _table(tmp_path / "n.csv", u, "a,b")
    alone = _table(tmp_path / "a.csv", u[:, :1], "a")
    net = tmp_path / "s.toml"
    net.write_text(STOPPED)
    out, out_a = tmp_path / "o.csv", tmp_path / "oa.csv"
    result = _run(["resnet", src, "--network", net, "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed_through"] == ["column 2 ('b')"]
    assert "column 2 ('b') passed through unchanged" in result.stderr
    assert _run(["resnet", alone, "--network", net, "-o", out_a, "-q"]).exit_code == 0
    got = _read(out)
    np.testing.assert_array_equal(got[:, 1], u[:, 1])  # as written: unchanged
    np.testing.assert_array_equal(got[:, 0], _read(out_a))  # a run of column a alone
    # --blocks auto passes the same channel through
    auto = _run(["resnet", src, "--blocks", "auto", "-o", tmp_path / "x.csv", "--json"])
    assert json.loads(auto.stdout)["passed_through"] == ["column 2 ('b')"]
