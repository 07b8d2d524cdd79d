"""The README's shell examples, run as a newcomer runs them (issue 14, item 6).

Every line of every ```sh block runs with bash in a copy of the checkout's
tracked files (no out/, no .venv), with the installed ``resdenoise`` first on
PATH; it must exit 0, or with the code its comment names (``# exit 3``).
Lines that set the machine up (make, python3 -m venv, activation, pip,
pipx) are not run here: ``make test-install`` runs them in a fresh
environment, and the make targets named must exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: first words of the set-up lines (checked by make test-install, not here)
SETUP = ("make", "python3", ".", "source", "pip", "pipx")


def shell_blocks(text: str) -> list[list[str]]:
    """The lines of each ```sh block, comments and blank lines dropped."""
    return [
        [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    ]


def expected_code(line: str) -> int:
    found = re.search(r"#\s*exit (\d+)", line)
    return int(found.group(1)) if found else 0


BLOCKS = shell_blocks(README.read_text(encoding="utf-8"))
LINES = [line for block in BLOCKS for line in block]
RUN = [line for line in LINES if line.split()[0] not in SETUP]


def test_the_readme_has_shell_examples_to_run():
    assert len(BLOCKS) >= 3 and len(RUN) >= 10


def test_the_setup_lines_name_what_exists():
    makefile = (ROOT / "Makefile").read_text()
    for line in LINES:
        words = line.split("#")[0].split()
        if words[0] == "make":
            assert re.search(rf"^{words[1]}:", makefile, flags=re.M), line
        if words[0] in (".", "source"):
            assert words[1] == ".venv/bin/activate", line


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the tracked files, as a fresh clone has them."""
    target = tmp_path_factory.mktemp("checkout")
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        files = [f for f in listed.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):  # an unpacked sdist: everything
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    for name in files:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def environment():
    """PATH with the installed command first, as after '. .venv/bin/activate'."""
    bindir = Path(sys.executable).parent
    assert (bindir / "resdenoise").exists(), "resdenoise is not installed beside python"
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("RESDENOISE_REQUIRE_COMPILED", None)
    return env


@pytest.mark.parametrize("line", RUN)
def test_shell_example_runs(checkout, environment, line):
    result = subprocess.run(
        ["bash", "-c", line], cwd=checkout, env=environment, capture_output=True, text=True
    )
    assert result.returncode == expected_code(line), f"{line}\n{result.stderr}"
    assert "Traceback" not in result.stderr
