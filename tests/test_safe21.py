"""Data safety left-overs of session 20 (safe21).

1. ``--strict --in-place``: an output whose measured guarantee failed no longer replaces
   its input (whole, streamed, each file of a batch on its own); without ``--strict`` the
   input is replaced as before (exit 0, as a run with ``-o``), and a warning says so.
"""

from __future__ import annotations

import json
import os

import pytest

from resdenoise.cli import cli
from resdenoise.errors import GuaranteeError
from resdenoise.pipeline import RunOptions, planner, run_file

#: A float32 run whose mean drifts (a sample 3e6 times the others absorbs every block's
#: increment: test_audit11_guarantees): a genuine failure of a stable run (exit 4).
DRIFTS = "v\n-7.22\n-7.22\n-7.22\n-7.22\n24067194\n"
HOLDS = "v\n0\n1\n0\n1\n0\n1\n"
ARGS = ["regularise", "--regulariser", "softsign", "--lambda", "1806.6", "--alpha", "0.459"]
ARGS += ["--h", "0.001", "--dtype", "float32"]
KEPT = "the input was kept as it was (--in-place replaces it only where they held)"


def _files(tmp_path, **texts):
    paths = {}
    for name, text in texts.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text)
    return paths


@pytest.mark.parametrize("chunks", [[], ["--chunk-size", "2"]], ids=["whole", "streamed"])
def test_strict_in_place_keeps_an_input_whose_guarantee_failed(runner, tmp_path, chunks):
    """Before: exit 4, and big.csv replaced by the drifted output (the report said so)."""
    src = _files(tmp_path, big=DRIFTS)["big"]
    rep = tmp_path / "r.json"
    args = [*ARGS, str(src), "--strict", "--in-place", "--report", str(rep), *chunks]
    result = runner.invoke(cli, args)
    assert result.exit_code == 4, result.output
    assert src.read_text() == DRIFTS  # untouched
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "r.json"]  # no temporary left
    lines = result.stderr.splitlines()
    assert lines[0] == f"{src} (kept, not replaced): guarantees failed: " + (
        "column 1 ('v'): mean drifted by 1.66e+05"
    )
    assert lines[-1].startswith(f"Error: {src}: --strict: column 1 ('v'): mean drifted")
    assert lines[-1].endswith("; " + KEPT)
    report = json.loads(rep.read_text())
    assert report["kept_input"] is True and report["guarantees_held"] is False
    assert ("streaming" in report) == bool(chunks)


def test_strict_in_place_batch_decides_each_file_on_its_own(runner, tmp_path):
    """Before: '2 files: 2 written (1 of them failed --strict)', big.csv replaced."""
    paths = _files(tmp_path, big=DRIFTS, ok=HOLDS)
    args = [*ARGS, str(paths["big"]), str(paths["ok"]), "--strict", "--in-place"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 4, result.output
    assert paths["big"].read_text() == DRIFTS
    assert paths["ok"].read_text() != HOLDS  # its guarantees held: replaced
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "ok.csv"]
    lines = result.stderr.splitlines()
    assert f"Error: {paths['big']}: --strict: column 1 ('v'): mean drifted by 1.66e+05; {KEPT}" in (
        lines
    )
    assert f"{paths['ok']} -> {paths['ok']}: guarantees held" in lines
    assert lines[-1] == "2 files: 1 written, 1 failed (1 of them kept unchanged: failed --strict)"


def test_run_file_strict_in_place_raises_with_the_input_kept(tmp_path):
    src = _files(tmp_path, big=DRIFTS)["big"]
    make_plan = planner("regularise", "softsign", lam=1806.6, alpha=0.459, h=0.001)
    run = RunOptions(strict=True, dtype="float32")
    with pytest.raises(GuaranteeError) as caught:
        run_file(make_plan, str(src), in_place=True, run=run)
    assert caught.value.kept and caught.value.report["kept_input"] is True
    assert str(caught.value).endswith(
        f"; {src} kept as it was (in_place replaces it only where they held)"
    )
    assert src.read_text() == DRIFTS
    # without in_place, strict writes the output as before (not kept)
    with pytest.raises(GuaranteeError) as caught:
        run_file(make_plan, str(src), str(tmp_path / "o.csv"), run=run)
    assert not caught.value.kept and "kept_input" not in caught.value.report
    assert (tmp_path / "o.csv").exists()


def test_in_place_without_strict_replaces_and_says_so(runner, tmp_path):
    """Decided: without --strict the check does not decide (exit 0, the output written, as
    with -o); the input is replaced, and a warning (also the report's) says so and what
    keeps it.  Before: replaced without that warning."""
    src = _files(tmp_path, big=DRIFTS)["big"]
    rep = tmp_path / "r.json"
    result = runner.invoke(cli, [*ARGS, str(src), "--in-place", "--report", str(rep)])
    assert result.exit_code == 0, result.output
    assert src.read_text() != DRIFTS
    line = (
        f"{src}: replaced in place although a guarantee failed (see the verdict); --strict "
        "keeps the input when one fails, -o writes the output beside it"
    )
    assert f"warning: {line}" in result.stderr.splitlines()
    report = json.loads(rep.read_text())
    assert report["warnings"][-1] == line and "kept_input" not in report
