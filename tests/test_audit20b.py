"""audit20b: a newcomer following README and --help; a screen reader and plain
terminals (CI logs, 80 and 40 columns)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from resdenoise.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "sample_signals"


def _run(args, columns: int = 80):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": str(columns)})


def _help(command: str, columns: int = 400) -> str:
    return " ".join(_run([command, "--help"], columns).stdout.split())


# A20b-7 -----------------------------------------------------------------------


def test_resnet_help_names_as_refused_only_the_activations_that_are(tmp_path):
    """resnet's help said relu, gelu, silu and leaky-relu were refused; they run, stable."""
    text = _help("resnet")
    refused = re.search(r"refused unless --allow-unstable\): ([\w, -]+)\.", text).group(1)
    stable = re.search(r"stable all the same \([^)]*\): ([\w, -]+)\.", text).group(1)
    refused, stable = refused.split(", "), stable.split(", ")
    assert refused == ["sigmoid"] and set(stable) == {"gelu", "leaky-relu", "relu", "silu"}
    for name in [*refused, *stable]:
        out = tmp_path / f"{name}.csv"
        result = _run(
            ["resnet", SAMPLES / "steps.csv", "--activation", name, "--blocks", 3, "-o", out]
        )
        assert result.exit_code == (3 if name in refused else 0), (name, result.output)
        assert out.exists() is (name in stable)
