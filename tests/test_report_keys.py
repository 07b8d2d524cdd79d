"""Every key a denoise report writes is in the README's JSON table, and the SURE change
is named for its sign (audit12c D2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.report import RENAMED

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_signals"


def _json_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## JSON report") :]
    return section[: section.index("\n## ", 5)]


def _keys(report: dict, prefix: str = ""):
    for key, value in report.items():
        yield prefix + key
        if isinstance(value, dict) and key not in ("automatic_candidates", "tool"):
            yield from _keys(value, prefix + key + ".")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("reports")
    runs = [
        ["steps.csv", "--reference", str(SAMPLES / "steps_clean.csv")],
        ["noisy_mono.wav"],  # a noise level with a low end: the test there too
    ]
    out = []
    for name, *more in runs:
        report = tmp / f"{name}.json"
        args = [
            "denoise",
            str(SAMPLES / name),
            "-q",
            "-o",
            str(tmp / name),
            "--report",
            str(report),
        ]
        result = CliRunner().invoke(cli, [*args, *more])
        assert result.exit_code == 0, result.output
        out.append(json.loads(report.read_text()))
    return out


def test_every_key_of_a_denoise_report_is_in_the_readme(reports):
    section = _json_section()
    for report in reports:
        missing = [k for k in _keys(report) if f"`{k.split('.')[-1]}`" not in section]
        assert not missing, missing


def test_the_sure_change_is_named_for_its_sign(reports):
    helped = reports[0]["parameters"]  # steps.csv: the output's MSE 20x below the input's
    assert helped["expected_gain_db"] > 0 and helped["sure_change_per_sample"] < 0
    for report in reports:  # the old names beside the new, the same numbers, until layout 5
        p = report["parameters"]
        for old, new in RENAMED.items():
            assert (old in p) is (new in p) and p.get(old) == p.get(new)
    assert "sure_change_at_low_end" in reports[1]["parameters"]


def test_verbose_prints_the_new_name_once(tmp_path):
    args = ["denoise", str(SAMPLES / "steps.csv"), "-o", str(tmp_path / "o.csv"), "-v"]
    result = CliRunner().invoke(cli, args, terminal_width=2000)
    assert result.exit_code == 0, result.output
    assert re.search(r"sure_change_per_sample = -\d", result.stderr)
    assert "expected_gain_per_sample" not in result.stderr
