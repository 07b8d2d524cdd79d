"""--strict reads the range a plan over several scales left from the report's numbers
(each channel's max_min_guaranteed, max_min_principle, range_left_by), not from the text of
``not_guaranteed``; and the verdict of an in-place run it kept says so first."""

from __future__ import annotations

import json

from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.errors import GuaranteeError

SPIKE = "v\n" + "".join("1.0\n" if i == 32 else "0.0\n" for i in range(64))
SHRINK = ["shrink", "--shrinkage", "hard", "--scales", "3", "--threshold", "0.4"]


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})


def test_each_channel_says_its_range_left_as_numbers(tmp_path):
    """Hard shrinkage over 3 scales of a unit spike undershoots to -0.078125 (fails
    before: no max_min_guaranteed nor range_left_by in channels)."""
    src = tmp_path / "spike.csv"
    src.write_text(SPIKE)
    result = _run([*SHRINK, src, "-o", tmp_path / "o.csv", "--json"])
    assert result.exit_code == 0, result.output
    (channel,) = json.loads(result.stdout)["channels"]
    assert channel["max_min_guaranteed"] is False and channel["max_min_principle"] is False
    assert channel["range_left_by"] == 0.078125  # the undershoot, exactly
    # a plan that guarantees the range: true, and 0.0 where the output stayed inside
    result = _run(["diffuse", src, "--steps", "3", "-o", tmp_path / "d.csv", "--json"])
    (channel,) = json.loads(result.stdout)["channels"]
    assert channel["max_min_guaranteed"] is True and channel["range_left_by"] == 0.0


def test_strict_fails_on_the_numbers_not_on_the_sentences():
    """A report whose channel left its range (not guaranteed) fails strict whatever its
    not_guaranteed says; one whose sentences merely contain the words does not (fails
    before: both decided by ' leaves input range ' in the text)."""
    channel = {"input_min": 0.0, "input_max": 1.0, "output_min": -0.5, "output_max": 1.0}
    channel |= {"max_min_principle": False, "max_min_guaranteed": False, "range_left_by": 0.5}
    report = {"failed_checks": [], "guarantees_held": True, "channel_labels": ["column 1"]}
    left = dict(report, channels=[channel], not_guaranteed=[])
    assert GuaranteeError.strict_failures(left) == [
        "the output left the input's range (not guaranteed over scales): column 1: output "
        "[-0.5, 1] leaves input range [0, 1] by 0.5"
    ]
    inside = dict(channel, output_min=0.0, max_min_principle=True, range_left_by=0.0)
    said = ["column 1 ('x leaves input range y'): sign changes increased (0 -> 2)"]
    kept = dict(report, channels=[inside], not_guaranteed=said)
    assert GuaranteeError.strict_failures(kept) == []
    assert not GuaranteeError.fails_strict(kept)


def test_a_label_with_the_words_does_not_fail_strict(tmp_path):
    """A strided network gains sign changes on the whole signal (guaranteed per
    subsequence only): said, not failed.  Its column is named 'x leaves input range y':
    fails before: --strict exit 4 (the sentence matched the words)."""
    sub = [-2.33, -0.22, -1.25, -0.73, -0.54, -0.32, 0.41, 1.04, -0.13, 1.37, -0.67, 0.35]
    src = tmp_path / "sub.csv"
    src.write_text("x leaves input range y\n" + "".join(f"{v}\n" for v in sub))
    net = tmp_path / "sub.toml"
    net.write_text(
        '[[block]]\nactivation = "perona-malik"\nlambda = 1.0\ntau = 0.25\nrepeat = 20\nscale = 2\n'
    )
    result = _run(["resnet", src, "--network", net, "--strict", "-o", tmp_path / "o.csv"])
    assert result.exit_code == 0, result.output
    assert "sign changes increased (5 -> 11)" in result.stderr.splitlines()[0]


def test_a_kept_in_place_run_says_why_first(tmp_path):
    """--in-place --strict of a plan over several scales whose output left the range: the
    input kept (exit 4), the verdict 'kept, not replaced: the output left the input's
    range ...', never 'guarantees held' (fails before: 'spike.csv (kept, not replaced):
    guarantees held; not guaranteed over scales: ...')."""
    src = tmp_path / "spike.csv"
    src.write_text(SPIKE)
    result = _run([*SHRINK, src, "--in-place", "--strict"])
    assert result.exit_code == 4, result.output
    assert src.read_text() == SPIKE
    verdict, *_, error = result.stderr.splitlines()
    assert verdict == (
        f"{src} kept, not replaced: the output left the input's range (not guaranteed over "
        "scales): column 1 ('v'): output [-0.078125, 0.875] leaves input range [0, 1] by "
        "0.0781; not guaranteed over scales: column 1 ('v'): total variation increased "
        "(2 -> 2.3125); column 1 ('v'): sign changes increased (0 -> 4)"
    )
    assert "held" not in verdict
    assert error.endswith(
        "; the input was kept as it was (--in-place replaces it only where nothing fails --strict)"
    )
