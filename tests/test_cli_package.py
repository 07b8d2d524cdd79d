"""The shape of the command-line package: who imports whom, and what --help loads.

The layers of the whole package (only the CLI imports click or rich) are
checked in test_architecture.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import resdenoise

PACKAGE = Path(resdenoise.__file__).parent


def test_no_command_module_imports_the_group():
    """The group module imports the command modules and adds their commands; not back.

    A command module imports its siblings (``from . import render``), never a
    name of the package's ``__init__`` (the group).
    """
    siblings = {path.stem for path in (PACKAGE / "cli").glob("*.py")}
    for path in (PACKAGE / "cli").glob("*.py"):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                (node.level == 1 and node.module is None) or node.module == "resdenoise.cli"
            ):
                names = {alias.name for alias in node.names}
                assert names <= siblings, f"cli/{path.name} imports {names - siblings} of the group"
            if isinstance(node, ast.Import):
                assert "resdenoise.cli" not in {a.name for a in node.names}, path.name


def test_help_loads_neither_the_pipeline_nor_rich():
    """``resdenoise --help`` stays cheap: files, engine and the rendering come with a run."""
    code = (
        "import sys; from resdenoise.cli import cli; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('resdenoise', 'rich', 'soundfile', 'dask', 'distributed', 'zarr', 'scipy'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "resdenoise.cli" in loaded
    drawn = ("resdenoise.cli.render", "rich")
    heavy = (
        "soundfile",
        "dask",
        "distributed",
        "zarr",
        "resdenoise.dask",
        "scipy",
        "resdenoise.learn",
    )
    for name in ("resdenoise.pipeline", "resdenoise.io", "resdenoise.engine") + heavy + drawn:
        assert name not in loaded, loaded
