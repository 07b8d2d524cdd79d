"""The shape of the command-line package: who imports whom, and what --help loads.

The layers of the whole package (only the CLI imports click or rich) are
checked in test_architecture.py.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import resdenoise

PACKAGE = Path(resdenoise.__file__).parent
SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"


def test_no_command_module_imports_the_group():
    """The group module imports the command modules (on demand) and adds their commands;
    not back.

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


def _printed(code: str, **env: str | None) -> list[str]:
    """The words ``code`` prints, run in a fresh interpreter (its own ``sys.modules``),
    with the environment's variables ``env`` set (None: removed)."""
    environ = dict(os.environ)
    for name, value in env.items():
        environ.pop(name, None)
        if value is not None:
            environ[name] = value
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environ
    ).stdout.split()


def test_help_loads_neither_the_pipeline_nor_rich():
    """``resdenoise --help`` stays cheap: files, engine and the rendering come with a run."""
    code = (
        "import sys; from resdenoise.cli import cli; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('resdenoise', 'rich', 'soundfile', 'dask', 'distributed', 'zarr', 'scipy'))))"
    )
    loaded = _printed(code)
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


def test_a_quiet_run_of_a_small_file_loads_only_what_it_uses(tmp_path):
    """One small file with ``-q`` (a Makefile calling the tool once per file): no rich
    nor the module that draws with it (nothing is drawn), no report module (no report
    is built), no numpy.random (the noise calibration comes from the committed
    table, not a simulation), no json (no report is written), no other command's module
    (the group loads a command's module on demand: not learn's, dictionary's and
    translate's, nor what they compute with: expressions, learning, dask), no CSV reader
    or writer for a WAV (nor the stdlib ``csv``), no read-ahead thread's module (a small
    file is read whole)."""
    out = tmp_path / "out.wav"
    code = (
        "import sys; from resdenoise.cli import cli\n"
        "try:\n"
        f"    cli(['diffuse', {str(SAMPLES / 'noisy_mono.wav')!r}, '--steps', '10', '-q',"
        f" '-o', {str(out)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = _printed(code)
    assert "resdenoise.pipeline" in loaded and out.stat().st_size > 0
    unused = (
        "rich",
        "resdenoise.cli.render",
        "resdenoise.report",
        "numpy.random",
        "json",
        "resdenoise.learn",
        "resdenoise.automatic",
        "resdenoise.cli.learn",
        "resdenoise.cli.dictionary",
        "resdenoise.expr",
        "resdenoise.dictionary",
        "resdenoise.dask",
        "resdenoise.plot",
        "resdenoise.io.csv",
        "csv",
        "resdenoise.io.prefetch",
    )
    assert [name for name in unused if name in loaded] == []


def test_help_lists_every_command_with_its_short_help():
    """The commands are loaded on demand, and ``--help`` still lists each one with the
    first line of its own docstring (read from the command, not a copy)."""
    from click.testing import CliRunner

    from resdenoise.cli import COMMAND_MODULES, cli

    listing = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    for name in COMMAND_MODULES:
        command = cli.get_command(None, name)
        assert command is not None and command.name == name
        line = next(line for line in listing.splitlines() if line.split()[:1] == [name])
        assert command.get_short_help_str(200) in line, (name, line)


def test_the_program_makes_its_start_up_with_the_collector_off_then_frozen():
    """``python -m resdenoise`` and the installed ``resdenoise`` (one entry point)
    import numpy, click and the command line with the cyclic garbage collector off,
    freeze what that made (it lives as long as the process) and run with the
    collector on; importing the command line from Python leaves the collector alone."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="resdenoise")
    assert script.value == "resdenoise.__main__:main"
    assert _printed("import gc, resdenoise.cli; print(gc.isenabled(), gc.get_freeze_count())") == [
        "True",
        "0",
    ]
    code = (
        "import gc, sys\n"
        "import resdenoise.__main__ as program\n"
        "assert 'numpy' not in sys.modules and 'resdenoise.cli' not in sys.modules\n"
        "during = []\n"
        "gc.callbacks.append(lambda phase, info: during.append('resdenoise.cli' in sys.modules))\n"
        "def seen():  # the program ends in main(), by os._exit after the atexit handlers\n"
        "    gc.collect()\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 10000, all(during), bool(during))\n"
        "import atexit\n"
        "atexit.register(seen)\n"
        "sys.argv = ['resdenoise', '--version']\n"
        "program.main()"
    )
    assert _printed(code)[-4:] == ["True", "True", "True", "True"]


def test_the_program_asks_openblas_for_one_thread_unless_told():
    """The program (not the library) sets ``OPENBLAS_NUM_THREADS=1`` before NumPy
    loads OpenBLAS, where the environment does not name a number; a number given
    is kept, and importing the library or the command line from Python changes
    nothing."""
    code = (
        "import os, sys, atexit\n"
        "import resdenoise.__main__ as program\n"
        "atexit.register(lambda: print(os.environ.get('OPENBLAS_NUM_THREADS')))\n"
        "sys.argv = ['resdenoise', '--version']\n"
        "program.main()"
    )
    assert _printed(code, OPENBLAS_NUM_THREADS=None)[-1] == "1"
    assert _printed(code, OPENBLAS_NUM_THREADS="3")[-1] == "3"
    library = "import os, resdenoise.cli, numpy; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    assert _printed(library, OPENBLAS_NUM_THREADS=None) == ["None"]
