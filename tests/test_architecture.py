"""The package's shape, read from its source with ``ast``: layers, sizes, signatures.

Every ``import`` of every module counts, the ones inside functions too (the
lazy imports that keep ``--help`` fast are imports all the same).  Each
module belongs to a layer and may import only modules of lower layers (and
its own package's modules); only the command line imports click or rich;
nothing that computes imports the file side.  Each rule is also shown to
fail on a tree that breaks it, so that a rule that cannot fail is noticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "resdenoise"

#: Bottom to top.  A module may import modules of lower layers only.
LAYERS: tuple[frozenset, ...] = tuple(
    frozenset(names.split())
    for names in (
        # errors: the exceptions and the floating-point state helper every layer may use
        "errors _series _revision",
        "wavelet stopping_rules stopping median nugget spectral_floor _kernels _families _translations sink pairs _sampling",
        # the closed forms' conditions for their scaled forms; the impulse pre-stage (its
        # running median's residual in the compiled loop, _kernels); scaling by powers of
        # two (its refusal an error)
        # noise_level: a level and its checks' names; rough_level: a rough signal's checks
        "_flux_kernels impulses scaling quiet_windows signs bounded orientation noise_level",
        "rough_level",
        "_entries noise stepper",
        # level_notes: the warnings of a run's noise level (pipeline's)
        "engine quality io selection noise_colour nonlinearities level_notes",
        # function_properties: what the stability theorem asks of an activation (stability's)
        "function_properties network_text",
        # paths: the file checks of a run (check_paths, FileIndex); they may use io, never the cli
        # stream_choice: whether run_file reads a file whole or in chunks (pipeline's)
        "stability sure paths haar_frame stream_choice",
        # stopping_search: one stopping search (autoparams' choose_steps)
        "expr dictionary report stopping_search subsequences",
        # search_windows: a long signal's lambda search on windows, and its refine
        "measure search_windows",
        "filters plot",
        # flux_checks: a plan's lambda and flux in the working dtype (api's, pipeline's)
        # level_blocks: a level's block of several scales and its checks (multilevel's)
        "flux_checks level_blocks",
        # passing: a plan on some channels, the others passed through (automatic's)
        "autoparams network passing learn_model",
        "multilevel network_stop untrusted gains",
        # harm: the do-no-harm rules of every automatic search (automatic's, plans')
        "multiscale residual_levels harm",
        # own_levels: each scale at its own level, measured (benchmarks/bench_pink_heldout)
        "automatic own_levels",
        # split: each channel its own automatic plan (plans' planners call it)
        # plan_notes: a plan maker's notes and do-no-harm entries (plans')
        "stream split plan_notes",
        # learn: a learned network's file run as resnet --network runs it (split's planner)
        "learn",
        "learn_stop",
        "dask plans",
        "pipeline batch_pool",
        "batch api",
        "cli",
        "__main__",
    )
)
#: Modules that compute, and the file side and command line they never import.
COMPUTE = frozenset(
    "engine stepper _entries stability subsequences filters flux_checks report measure stream network autoparams expr dictionary quality "
    "stopping_search search_windows wavelet median nugget spectral_floor noise noise_level rough_level quiet_windows noise_colour selection impulses level_blocks multilevel multiscale residual_levels own_levels automatic harm untrusted gains nonlinearities _families "
    "_translations _sampling _series _flux_kernels bounded haar_frame function_properties dask learn learn_model network_stop learn_stop sink sure stopping pairs passing scaling signs split network_text orientation".split()
)
FILE_SIDE = frozenset({"io", "paths", "stream_choice", "pipeline", "batch", "batch_pool", "cli"})
#: Third-party packages only the command line may import.
CLI_ONLY = frozenset({"click", "rich"})
#: What io may import of resdenoise: it knows nothing about diffusion.
IO_MAY_IMPORT = frozenset({"errors", "io"})

MAX_LINES = 900
MAX_PARAMETERS = 15


def _unit(package: Path, path: Path) -> str:
    """The top-level unit a file belongs to: ``"filters"``, ``"io"`` (a package), ..."""
    rel = path.relative_to(package)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(package: Path, path: Path):
    """``(line, unit or None, top-level name)`` of every import in the file.

    ``unit`` is the resdenoise unit imported (None for another package).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = path.relative_to(package).parent.parts  # the subpackage, if any
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package.name:
                    yield node.lineno, parts[1] if len(parts) > 1 else "__init__", parts[0]
                else:
                    yield node.lineno, None, parts[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != package.name:
                    yield node.lineno, None, parts[0]
                    continue
                inside = parts[1:]
            else:
                base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
                if node.level - 1 > len(here):
                    raise AssertionError(f"{path}:{node.lineno}: relative import above the package")
                inside = base + (node.module.split(".") if node.module else [])
            if inside:
                yield node.lineno, inside[0], package.name
            else:  # from . import a, b
                for alias in node.names:
                    yield node.lineno, alias.name, package.name


def _layer(unit: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if unit in names:
            return i
    return None


def violations(package: Path) -> list[str]:
    """Every import in ``package`` that breaks a rule, as ``file:line: why``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        unit = _unit(package, path)
        if unit == "__init__":
            continue  # the package's lazy door: names only, through importlib
        mine = _layer(unit)
        where = f"{path.relative_to(package.parent)}"
        if mine is None:
            found.append(f"{where}: module {unit!r} is in no layer; add it to LAYERS")
            continue
        for line, target, top in _imports(package, path):
            at = f"{where}:{line}"
            if target is None:
                if top in CLI_ONLY and unit != "cli":
                    found.append(f"{at}: {unit} imports {top}; only the cli package may")
                continue
            if target in ("__init__", "__version__") or target == unit:
                continue
            theirs = _layer(target)
            if theirs is None:
                found.append(f"{at}: {unit} imports {target!r}, which is in no layer")
            elif theirs >= mine:
                found.append(f"{at}: {unit} (layer {mine}) imports {target} (layer {theirs})")
            if unit in COMPUTE and target in FILE_SIDE:
                found.append(f"{at}: {unit} computes and must not import {target}")
            if unit == "io" and target not in IO_MAY_IMPORT:
                found.append(f"{at}: io imports {target}; io knows nothing about diffusion")
    return found


def too_big(package: Path) -> list[str]:
    """Modules over :data:`MAX_LINES` lines and functions over :data:`MAX_PARAMETERS`."""
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(package.parent)
        if text.count("\n") > MAX_LINES:
            found.append(f"{where}: {text.count(chr(10))} lines (at most {MAX_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                named = a.posonlyargs + a.args + a.kwonlyargs
                count = len(named) - (1 if named and named[0].arg in ("self", "cls") else 0)
                if count > MAX_PARAMETERS:
                    found.append(f"{where}:{node.lineno}: {node.name} takes {count} parameters")
    return found


def test_every_import_points_down():
    assert violations(PACKAGE) == []


def test_no_module_or_signature_too_big():
    assert too_big(PACKAGE) == []


# --------------------------------------------------------------------------
# The rules can fail
# --------------------------------------------------------------------------


def _tree(tmp_path: Path, files: dict) -> Path:
    package = tmp_path / "resdenoise"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (
            {"engine.py": "def f():\n    from .pipeline import run_file\n"},
            "engine (layer 5) imports pipeline",
        ),
        ({"stream.py": "from .io import read_signal\n"}, "stream computes and must not import io"),
        ({"report.py": "import rich\n"}, "only the cli package may"),
        ({"filters.py": "from click import echo\n"}, "only the cli package may"),
        ({"io/csv.py": "from ..filters import Plan\n"}, "io knows nothing about diffusion"),
        ({"io/csv.py": "from resdenoise.stability import check_tau\n"}, "io imports stability"),
        ({"pipeline.py": "from .cli import cli\n"}, "pipeline (layer 20) imports cli"),
        ({"stream.py": "from . import pipeline\n"}, "stream (layer 16) imports pipeline"),
        (
            {"stream.py": "from .paths import check_paths\n"},
            "stream computes and must not import paths",
        ),
        ({"paths.py": "def f():\n    from .cli import options\n"}, "paths (layer 7) imports cli"),
        ({"newthing.py": "x = 1\n"}, "in no layer"),
    ],
)
def test_a_forbidden_import_is_found(tmp_path, files, words):
    found = violations(_tree(tmp_path, files))
    assert len(found) >= 1
    assert any(words in f for f in found), found


def test_allowed_imports_pass(tmp_path):
    package = _tree(
        tmp_path,
        {
            "cli/__init__.py": "import click\nfrom .render import x\nfrom ..pipeline import run_file\n",
            "cli/render.py": "import rich\nfrom ..report import to_json\n",
            "io/__init__.py": "from .csv import read\nfrom ..errors import SignalError\n",
            "io/csv.py": "from . import options\n",
            "pipeline.py": "def f():\n    from .io import read_signal\n    from . import stream\n",
        },
    )
    assert violations(package) == []


def test_size_limits_are_found(tmp_path):
    params = ", ".join(f"a{i}" for i in range(MAX_PARAMETERS + 1))
    package = _tree(
        tmp_path,
        {
            "engine.py": "x = 1\n" * (MAX_LINES + 1),
            "filters.py": f"def wide({params}):\n    pass\n\n\nclass A:\n    def ok(self, {params[4:]}):\n        pass\n",
        },
    )
    found = too_big(package)
    assert len(found) == 2
    assert found[0].startswith("resdenoise/engine.py: 901 lines")
    assert "wide takes 16 parameters" in found[1]
