"""Help as a newcomer reads it (issue 14, item 12): options in sections, family
keys apart from aliases, defaults shown, a missing stopping time suggests auto."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.nonlinearities import NONLINEARITIES

DEFAULTS = {
    "diffuse": ("diffusivity", "perona-malik"),
    "shrink": ("shrinkage", "soft"),
    "regularise": ("regulariser", "charbonnier"),
    "resnet": ("activation", "tanh"),
}
SECTIONS = ("Signal", "Stability", "Files", "Output")


def sections(text: str) -> dict:
    """Section title -> the option flags listed under it."""
    found, current = {}, None
    for line in text.splitlines():
        head = re.fullmatch(r"([A-Z][a-z]+( [a-z]+)*):", line)
        if head:
            current = found.setdefault(head.group(1), [])
        elif current is not None and line.startswith("  -"):
            current.extend(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line.split("  ")[1]))
    return found


def option_help(text: str, flag: str) -> str:
    """The option's line and its continuation lines, joined with single spaces."""
    lines = text.splitlines()
    start = next(i for i, x in enumerate(lines) if re.match(rf"\s+{flag}[ ,]", x))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("      "):
            break
        block.append(line)
    return " ".join(" ".join(block).split())


@pytest.mark.parametrize("command", sorted(DEFAULTS))
def test_options_are_grouped(command):
    text = CliRunner().invoke(cli, [command, "--help"], env={"COLUMNS": "120"}).stdout
    found = sections(text)
    assert [s for s in found if s in SECTIONS] == list(SECTIONS)
    form = DEFAULTS[command][0]
    assert f"--{form}" in found["Signal"] and "--lambda" in found["Signal"] or command == "shrink"
    assert {"--allow-unstable", "--strict"} <= set(found["Stability"])
    assert {"-o", "--subtype", "--in-place", "--chunk-size"} <= set(found["Files"])
    assert {"-q", "-v", "--json", "--report"} <= set(found["Output"])
    every = [flag for flags in found.values() for flag in flags]
    assert len(every) == len(set(every))  # each option once


@pytest.mark.parametrize("command", sorted(DEFAULTS))
def test_family_keys_apart_from_aliases_and_the_default(command):
    form, default = DEFAULTS[command]
    text = CliRunner().invoke(cli, [command, "--help"]).stdout
    line = option_help(text, f"--{form}")
    assert re.match(rf"--{form}(, --[a-z]+)? NAME ", line), line  # not 17 names as metavar
    families = line.split("Families: ")[1].split(".")[0].split(", ")
    assert families == [k for k in NONLINEARITIES]
    assert f"[default: {default}]" in line
    if command == "diffuse":
        assert "iijima (linear)" in line.split("Aliases: ")[1]


def test_defaults_are_shown():
    text = CliRunner().invoke(cli, ["diffuse", "--help"]).stdout
    for flag, default in (("--lambda", "auto"), ("--stopping-rule", "sure"), ("-j", "1")):
        assert f"default: {default}" in option_help(text, flag), flag


@pytest.mark.parametrize(
    "args, hint",
    [
        (["diffuse"], "--time auto"),
        (["resnet"], "--blocks auto"),
    ],
)
def test_a_missing_stopping_time_suggests_auto(tmp_path, args, hint):
    src = tmp_path / "in.csv"
    src.write_text("0\n1\n0\n1\n")
    result = CliRunner().invoke(cli, [args[0], str(src)])
    assert result.exit_code == 2
    assert hint in result.stderr
