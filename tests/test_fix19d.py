"""An operator's findings of audit19b (B8-B11, B13): what an install, a job record, a long
batch, a CPU quota and a file name that is not UTF-8 tell the operator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# B13: a file name that is not UTF-8 in the JSON report
# -----------------------------------------------------


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_b13_a_name_that_is_not_utf8_is_in_the_report_as_its_bytes(noisy_csv, tmp_path):
    """Before: the report said only ``"input": "bad\\\\xff.csv"``, a spelling that names no
    file (opening it: ENOENT) and that a file really named so shares.  Now
    ``input_bytes``/``output_bytes`` hold the names' bytes in hex beside it."""
    src = os.path.join(os.fsencode(tmp_path), b"bad\xff.csv")
    with open(noisy_csv, "rb") as given, open(src, "wb") as copy:
        copy.write(given.read())
    done = subprocess.run(
        [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", b"bad\xff.csv"]
        + ["-o", b"o\xfe.csv", "--report", "r.json", "-q"],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["input"] == "bad\\xff.csv"  # the human spelling, as stderr's
    assert bytes.fromhex(report["input_bytes"]) == b"bad\xff.csv"
    assert bytes.fromhex(report["output_bytes"]) == b"o\xfe.csv"
    assert os.path.exists(
        os.path.join(os.fsencode(tmp_path), bytes.fromhex(report["output_bytes"]))
    )


def test_b13_a_utf8_name_has_no_bytes_entry():
    from resdenoise.report import name_bytes

    entry = {"input": "lat\u00e9.csv", "output": "<stdout>"}
    name_bytes(entry, "input")
    name_bytes(entry, "output")
    assert entry == {"input": "lat\u00e9.csv", "output": "<stdout>"}
    entry = {"reference": os.fsdecode(b"r\xe9.csv")}
    name_bytes(entry, "reference")
    assert entry["reference_bytes"] == b"r\xe9.csv".hex()
