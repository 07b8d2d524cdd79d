"""A newcomer's audit of the command line (2026-12-05): each case below failed on
main before its fix, as the docstring of its test says.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

SIGNAL = "v\n1\n2\n1.5\n3\n2.5\n2\n1\n"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize(
    "args, flag",
    [
        (["diffuse", "IN", "--steps", "2", "--h", "nan"], "--h"),
        (["diffuse", "IN", "--steps", "2", "--tau", "NaN"], "--tau"),
        (["diffuse", "IN", "--steps", "2", "--sigma", "nan"], "--sigma"),
        (["diffuse", "IN", "--steps", "2", "--sigma", "inf"], "--sigma"),
        (["translate", "--activation", "tanh", "--tau", "nan", "--check"], "--tau"),
        (["translate", "--activation", "tanh", "--lambda", "nan"], "--lambda"),
        (["dictionary", "--lambda", "nan"], "--lambda"),
        (["learn", "IN", "--sigma", "nan", "-o", "OUT.toml"], "--sigma"),
    ],
)
def test_nan_and_inf_options_are_usage_errors_naming_the_option(runner, tmp_path, args, flag):
    """click's FloatRange let 'nan' through (and --sigma took inf): ``--h nan`` failed as
    "the automatic lambda is nan ...; give --lambda", ``translate --tau nan --check``
    exited 3 (unstable), ``dictionary --lambda nan --plot`` was an internal error,
    ``learn --sigma nan`` blamed "coefficient 1", ``--sigma inf`` named no option."""
    src = tmp_path / "in.csv"
    src.write_text(SIGNAL)
    args = [str(src) if a == "IN" else str(tmp_path / a) if a == "OUT.toml" else a for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"'{flag}'" in lines[0], lines[0]
    assert not (tmp_path / "OUT.toml").exists()
