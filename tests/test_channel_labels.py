"""A filtered channel named as the user knows it: with ``--columns b,c`` (or a time
column left out) a failed check said ``channel 1`` for the file's column 2.  Now the
sentences, ``-v``'s table and the report's ``channel_labels`` name the file's column,
read whole or in chunks, one file or a batch.  A CSV file names its columns so even
where every column is filtered in order (as its read errors do; it said ``channel 2``),
``column 2`` without a header; ``channel N`` where the channels are a sound file's or a
Zarr array's own, as before."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from resdenoise import stability
from resdenoise.cli import cli
from resdenoise.io import Signal
from resdenoise.nonlinearities import get_nonlinearity

#: tau 1 with a linear activation: twice the L-infinity bound, allowed: the range and
#: the total variation of an alternating channel fail (a constant channel holds)
UNSTABLE = ["--activation", "linear", "--blocks", "5", "--tau", "1.0", "--allow-unstable"]
#: what column b (alternating, +-1..3) fails, named
B_FAILS = (
    "column 2 ('b'): output [-486, 486] leaves input range [-3, 3]; "
    "column 2 ('b'): total variation increased (156 -> 35911)"
)


def _alternating(i: int) -> int:
    return (-1) ** i * (1 + i % 3)


@pytest.fixture
def abc(tmp_path):
    """Columns a (constant), b (alternating: fails), c (constant)."""
    src = tmp_path / "abc.csv"
    src.write_text("a,b,c\n" + "".join(f"0.5,{_alternating(i)},0.25\n" for i in range(40)))
    return src


def test_a_signal_labels_its_channels_by_the_files_columns():
    data = np.zeros((3, 2))
    assert Signal(data, header=["a", "b"]).channel_labels == ("column 1 ('a')", "column 2 ('b')")
    assert Signal(data, header=["a"]).channel_labels == ("column 1 ('a')", "column 2")
    assert Signal(data, format="WAV").channel_labels is None  # the file's own
    assert Signal(data, positions=(0, 1)).channel_labels == ("column 1", "column 2")  # CSV
    assert Signal(data, format="WAV", positions=(0, 1)).channel_labels is None
    picked = Signal(data, header=["t", "a", "b"], positions=(1, 2))
    assert picked.channel_labels == ("column 2 ('a')", "column 3 ('b')")
    assert Signal(data, positions=(0, 2)).channel_labels == ("column 1", "column 3")
    sound = Signal(data, format="WAV", positions=(1, 3))
    assert sound.channel_labels == ("channel 2", "channel 4")
    prefix = Signal(data, header=["a", "b", "c"], positions=(0, 1), carried={2: []})
    assert prefix.channel_labels == ("column 1 ('a')", "column 2 ('b')")


def test_failed_checks_name_a_channel_by_its_label():
    f = np.array([-1.0, 1.0, -1.0, 1.0])
    checks, _ = stability.measure_channels(f, np.array([-1.5, 2.0, -1.0, -2.0]), 1)
    verdict = stability.check_tau(get_nonlinearity("soft"), 0.25)
    plain = stability.guarantees_failed(checks, verdict)
    named = stability.guarantees_failed(checks, verdict, ["column 2 ('b')"])
    assert plain[0].startswith("channel 1: output [-2, 2]")
    assert named == [s.replace("channel 1", "column 2 ('b')", 1) for s in plain]
    assert stability.channel_labels(2) == ("channel 1", "channel 2")
    with pytest.raises(ValueError, match="1 channel labels for 2 channels"):
        stability.channel_labels(2, ["b"])


@pytest.mark.parametrize("chunks", [[], ["--chunk-size", "10"]], ids=["whole", "streamed"])
def test_picked_columns_are_named_in_messages_table_and_report(runner, abc, tmp_path, chunks):
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    args = ["resnet", str(abc), "--columns", "b,c", *UNSTABLE, *chunks, "-o", str(out)]
    result = runner.invoke(cli, [*args, "--strict", "-v", "--report", str(rep)])
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[0].endswith(B_FAILS)  # the verdict on stderr
    assert lines[-1].endswith(B_FAILS)  # --strict's error
    assert "channel 1" not in result.stderr
    header = next(line for line in lines if "quantity" in line)
    assert re.findall(r"column \d \('\w'\)", header) == ["column 2 ('b')", "column 3 ('c')"]
    report = json.loads(rep.read_text())
    assert ("streaming" in report) == bool(chunks)  # the path meant
    assert report["channel_labels"] == ["column 2 ('b')", "column 3 ('c')"]
    assert report["failed_checks"][1:] == B_FAILS.split("; ")
    assert report["schema_version"] == 4  # 4: passed_through (tests/test_pass_through.py)
    shown = runner.invoke(cli, [*args, "-q", "--json"])  # the same report on stdout
    assert json.loads(shown.stdout)["failed_checks"] == report["failed_checks"]


def test_a_batch_names_each_files_columns(runner, abc, tmp_path):
    """Two files of other column names, the same pick by number: each file's verdict,
    table and report name its own columns (not the first file's)."""
    other = tmp_path / "pqr.csv"
    other.write_text(abc.read_text().replace("a,b,c", "p,q,r", 1))
    q_fails = B_FAILS.replace("('b')", "('q')")
    for jobs in ("1", "2"):
        out, reports = tmp_path / f"o{jobs}", tmp_path / f"r{jobs}"
        args = ["resnet", str(abc), str(other), "--columns", "2,3", *UNSTABLE, "-v"]
        result = runner.invoke(
            cli, [*args, "-o", f"{out}/", "--report", f"{reports}/", "--jobs", jobs]
        )
        assert result.exit_code == 0, result.output
        verdicts = [line for line in result.stderr.splitlines() if "guarantees failed" in line]
        assert len(verdicts) == 2
        assert sum(v.endswith(B_FAILS) for v in verdicts) == 1
        assert sum(v.endswith(q_fails) for v in verdicts) == 1
        assert result.stderr.count("column 3 ('c')") == 1  # each file's table
        assert result.stderr.count("column 3 ('r')") == 1
        for name, b, c in (("abc.csv", "b", "c"), ("pqr.csv", "q", "r")):
            report = json.loads((reports / f"{name}.json").read_text())
            assert report["channel_labels"] == [f"column 2 ('{b}')", f"column 3 ('{c}')"]


@pytest.fixture
def bac(tmp_path):
    """Columns b (alternating: fails), a and c (constant): a pick of b or b,a is the
    file's first columns, the others carried."""
    src = tmp_path / "bac.csv"
    src.write_text("b,a,c\n" + "".join(f"{_alternating(i)},0.5,0.25\n" for i in range(40)))
    return src


@pytest.mark.parametrize(
    ("columns", "labels"),
    [("b,a", ["column 1 ('b')", "column 2 ('a')"]), ("b", ["column 1 ('b')"])],
)
def test_a_pick_of_the_first_columns_is_named_by_them(runner, bac, tmp_path, columns, labels):
    """The channels are the file's first columns but not all of them: labelled as any
    pick (``channel N`` only where the channels are every column in order)."""
    args = ["resnet", str(bac), "--columns", columns, *UNSTABLE, "-o", str(tmp_path / "o.csv")]
    shown = runner.invoke(cli, [*args, "-q", "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert report["channel_labels"] == labels
    assert report["failed_checks"][1].startswith("column 1 ('b'): output [-486, 486]")
    result = runner.invoke(cli, [*args, "-v"])
    assert result.exit_code == 0, result.output
    assert "channel 1" not in result.stderr
    header = next(line for line in result.stderr.splitlines() if "quantity" in line)
    assert re.findall(r"column \d \('\w'\)", header) == labels
    assert not re.search(r"\bch \d", header)


def test_a_sound_files_picked_channel_is_its_channel(runner, tmp_path):
    import soundfile

    x = np.zeros((40, 3))
    x[:, 1] = [0.25 * _alternating(i) for i in range(40)]
    src, rep = tmp_path / "in.wav", tmp_path / "r.json"
    soundfile.write(src, x, 8000, subtype="FLOAT")
    args = ["resnet", str(src), "--columns", "2,3", *UNSTABLE, "-o", str(tmp_path / "o.wav")]
    result = runner.invoke(cli, [*args, "--report", str(rep)])
    assert result.exit_code == 0, result.output
    report = json.loads(rep.read_text())
    assert report["channel_labels"] == ["channel 2", "channel 3"]
    assert report["failed_checks"][1].startswith("channel 2: output [")
    assert "channel 1" not in result.stderr


def test_a_label_from_the_file_is_text_not_markup(runner, tmp_path):
    """A column named ``[red]x`` (after a time column: the channels are not the file's
    own) is shown as it is, in the verdict and as the head of -v's table."""
    src = tmp_path / "in.csv"
    src.write_text("t,[red]x\n" + "".join(f"{i},{_alternating(i)}\n" for i in range(40)))
    args = ["resnet", str(src), *UNSTABLE, "-o", str(tmp_path / "o.csv"), "-v"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "column 2 ('[red]x'): output [-486, 486]" in result.stderr.splitlines()[0]
    header = next(line for line in result.stderr.splitlines() if "quantity" in line)
    assert "column 2 ('[red]x')" in header


@pytest.mark.parametrize("header", ["a,b\n", ""])
def test_without_a_pick_a_csv_file_names_its_columns(runner, tmp_path, header):
    """Every column filtered in order: a file with a header names them by it (it said
    ``channel 2``), a headerless file by their numbers, ``column 2``, as where columns
    are picked (it said ``channel 2``)."""
    src, rep = tmp_path / "in.csv", tmp_path / "r.json"
    src.write_text(header + "".join(f"0.5,{_alternating(i)}\n" for i in range(40)))
    args = ["resnet", str(src), *UNSTABLE, "-o", str(tmp_path / "o.csv"), "-v"]
    result = runner.invoke(cli, [*args, "--report", str(rep)])
    assert result.exit_code == 0, result.output
    header_line = next(line for line in result.stderr.splitlines() if "quantity" in line)
    labels = json.loads(rep.read_text())["channel_labels"]
    if header:
        assert result.stderr.splitlines()[0].endswith(B_FAILS)
        assert "column 2 ('b')" in header_line
        assert labels == ["column 1 ('a')", "column 2 ('b')"]
    else:
        assert "; column 2: output [-486, 486]" in result.stderr.splitlines()[0]
        assert not re.search(r"channel \d", result.stderr)
        assert re.findall(r"\bcolumn \d+", header_line) == ["column 1", "column 2"]
        assert labels == ["column 1", "column 2"]


def test_stdin_names_the_picked_columns_too(runner, abc):
    args = ["resnet", "-", "--columns", "b,c", *UNSTABLE, "-o", "-", "-q"]
    with open(abc) as fh:
        text = fh.read()
    report_path = abc.parent / "r.json"
    result = runner.invoke(cli, [*args, "--report", str(report_path)], input=text)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["input"] == "<stdin>"
    assert report["failed_checks"][1:] == B_FAILS.split("; ")


def test_a_zarr_stores_picked_channel_is_its_channel(runner, tmp_path):
    """A Zarr array's channels are named as a sound file's: ``channel 2`` of the array
    where picked (a pick of channel 1 is the array's channel 1: ``ch 1`` in the table),
    ``channel N`` counted as before without a pick."""
    zarr = pytest.importorskip("zarr")
    x = np.zeros((40, 3))
    x[:, 0] = x[:, 2] = [0.25 * _alternating(i) for i in range(40)]
    src = tmp_path / "in.zarr"
    zarr.create_array(store=str(src), shape=x.shape, chunks=(16, 3), dtype=x.dtype)[...] = x
    runs = {  # --columns: the report's labels, -v's heads (counted where they are those)
        "2,3": (["channel 2", "channel 3"], ["channel 2", "channel 3"]),
        "1": (["channel 1"], ["ch 1"]),
        None: (["channel 1", "channel 2", "channel 3"], ["ch 1", "ch 2", "ch 3"]),
    }
    for n, (columns, (labels, heads)) in enumerate(runs.items()):
        pick = ["--columns", columns] if columns else []
        rep = tmp_path / f"r{n}.json"
        args = ["resnet", str(src), *pick, *UNSTABLE, "-o", str(tmp_path / f"o{n}.zarr")]
        result = runner.invoke(cli, [*args, "--report", str(rep), "-v"])
        assert result.exit_code == 0, result.output
        report = json.loads(rep.read_text())
        assert report["channel_labels"] == labels
        header = next(line for line in result.stderr.splitlines() if "quantity" in line)
        assert re.findall(r"\b(?:ch|channel) \d", header) == heads
        last = f"{report['channel_labels'][-1]}: output ["  # the array's last channel fails
        assert any(s.startswith(last) for s in report["failed_checks"][1:])
