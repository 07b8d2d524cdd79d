"""A CSV file read whole is split and parsed a piece at a time, keeping only its numbers.

What is read does not change: the signal, its carried text, its layout and the first error
are those of the text taken at once (any piece size).  What changes is what is held: the
lines and cells of one piece (not of the file), a float64 array per column parsed and the
text of the columns that may be carried (a time column), not every cell's string; a CSV
output made text ``CSV_VALUES`` cells at a time.  (Memory figures are measured, not
asserted: README, "Memory of CSV and WAV reads".)
"""

from __future__ import annotations

import codecs

import numpy as np
import pytest

from resdenoise.errors import ResdenoiseError
from resdenoise.io import csv as rio_csv
from resdenoise.io import read as rio_read
from resdenoise.io import writers as rio_writers
from resdenoise.io.options import ReadOptions
from resdenoise.io.read import parse_signal, read_signal
from resdenoise.pipeline import RunOptions, planner, run_file

TEXTS = {
    "plain": b"t,adc\n" + b"".join(b"%d,%d\n" % (i, 2048 + (i * 37) % 11) for i in range(300)),
    "crlf_comments": b"# rate: 100\r\nx;y\r\n"
    + b"".join(
        b"%d,5;%d\r\n" % (i, -i) + (b"# mark\r\n" if i % 50 == 7 else b"") for i in range(200)
    ),
    "cr_quoted": b'"a","b"\r' + b"".join(b'"%d","x%d"\r' % (i, i) for i in range(150)),
    "bom_utf8": codecs.BOM_UTF8 + "temp \u00b0C\n".encode() + b"1.5\n" * 120 + b"2.5",
    "utf16": "v\u00e9,w\n".encode("utf-16") + "1,2\n3,4\n".encode("utf-16")[2:] * 60,
    "one_column_no_newline": b"\n".join(b"%d.25" % i for i in range(400)),
    "ragged_then_late_byte": b"a,b\n1,2\n3\n" + b"4,5\n" * 70 + b"6,\xff\n",
    "late_nul_and_byte": b"1\n" * 100 + b"2\x00\n" + b"3\n" * 100 + b"\xff\n",
    "truncated_character_at_end": b"a,b\n1,2\n3\n" + b"4,5\n" * 70 + b"6,\xc3",
    "text_column": b"when,v\n"
    + b"".join(b"2024-01-%02d,%d\n" % (1 + i % 28, i) for i in range(90)),
}


def outcome(read):
    try:
        sig = read()
    except ResdenoiseError as exc:
        return type(exc), str(exc)
    return (
        sig.data.tolist(),
        sig.data.dtype,
        sig.carried,
        sig.layout,
        sig.header,
        sig.positions,
        sig.time_column,
        sig.notes,
    )


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_any_piece_size_reads_what_the_whole_text_reads(name, monkeypatch, tmp_path):
    raw = TEXTS[name]
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    monkeypatch.setattr(rio_csv, "WHOLE_PIECE", 1 << 30)  # the text at once
    want = outcome(lambda: parse_signal(raw, "CSV", str(path)))
    assert outcome(lambda: read_signal(path)) == want
    for piece in (1, 2, 3, 5, 17, 64, 1000):
        monkeypatch.setattr(rio_csv, "WHOLE_PIECE", piece)
        assert outcome(lambda: parse_signal(raw, "CSV", str(path))) == want, piece
        assert outcome(lambda: read_signal(path)) == want, piece


def kept_by_gather(monkeypatch, path, options=None):
    """The pieces ``CsvReader.gather`` is given, and the number of lines split at once."""
    seen = {"kept": None, "lines": 0}
    gather, cells = rio_csv.CsvReader.gather, rio_csv.CsvReader._cells

    def spy_gather(self, stream, kept):
        seen["kept"] = list(kept)
        return gather(self, stream, kept)

    def spy_cells(self, lines, linenos, quoted):
        seen["lines"] = max(seen["lines"], len(lines))
        return cells(self, lines, linenos, quoted)

    monkeypatch.setattr(rio_csv.CsvReader, "gather", spy_gather)
    monkeypatch.setattr(rio_csv.CsvReader, "_cells", spy_cells)
    sig = read_signal(path, options=ReadOptions() if options is None else options)
    return sig, seen


def cells_kept(kept) -> dict:
    """Column -> number of cell strings kept over all pieces."""
    count: dict = {}
    for _, cols in kept:
        items = cols.items() if isinstance(cols, dict) else enumerate(cols)
        for p, cells in items:
            count[p] = count.get(p, 0) + len(cells)
    return count


def test_whole_read_keeps_numbers_not_cells(tmp_path, monkeypatch):
    """No column carried: only float64 arrays are kept, no cell's string; the lines are
    split a piece at a time (was: every line, then every cell of the file, held)."""
    rows = 20000
    path = tmp_path / "daq.csv"
    x = np.arange(rows * 3).reshape(rows, 3) % 97
    path.write_text("ch0,ch1,ch2\n" + "".join(f"{a},{b},{c}\n" for a, b, c in x))
    monkeypatch.setattr(rio_csv, "WHOLE_PIECE", 4096, raising=False)
    sig, seen = kept_by_gather(monkeypatch, path)
    assert sig.data.dtype == np.float64 and sig.data.shape == (rows, 3)
    np.testing.assert_array_equal(sig.data, x)
    assert sig.carried == {}
    assert not any(cells_kept(seen["kept"]).values())
    assert 0 < seen["lines"] < rows // 10


def test_whole_read_keeps_the_time_columns_text_only(tmp_path, monkeypatch):
    rows = 3000
    path = tmp_path / "log.csv"
    path.write_text("t,adc\n" + "".join(f"{i},{2048 + i % 5}\n" for i in range(rows)))
    sig, seen = kept_by_gather(monkeypatch, path)
    assert sig.time_column == 0 and sig.carried[0] == [str(i) for i in range(rows)]
    assert cells_kept(seen["kept"]) == {0: rows}


def test_columns_named_keep_every_columns_text(tmp_path, monkeypatch):
    """With columns picked, any column may be carried: its text is kept, as before."""
    path = tmp_path / "log.csv"
    path.write_text("a,b,c\n" + "".join(f"{i},{i % 3},{-i}\n" for i in range(100)))
    sig, seen = kept_by_gather(monkeypatch, path, ReadOptions(columns="b"))
    assert sig.carried == {0: [str(i) for i in range(100)], 2: [str(-i) for i in range(100)]}
    assert cells_kept(seen["kept"]) == {0: 100, 1: 100, 2: 100}


def test_a_csv_file_is_not_read_into_bytes(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_text("v\n" + "1.5\n" * 50)

    def no_bytes(p):
        raise AssertionError("the whole file's bytes were read")

    monkeypatch.setattr(rio_read, "_read_bytes", no_bytes)
    assert read_signal(path).data.tolist() == [1.5] * 50


def test_csv_output_is_made_text_a_piece_at_a_time(tmp_path, monkeypatch):
    """A wide CSV output is turned into text CSV_VALUES cells at a time (was: 65536 rows
    of every column at once), the same bytes."""
    rows, width = 3000, 12
    path = tmp_path / "wide.csv"
    x = (np.arange(rows * width).reshape(rows, width) * 7) % 101
    path.write_text(",".join(f"c{k}" for k in range(width)) + "\n")
    with path.open("a") as fh:
        fh.write("".join(",".join(map(str, r)) + "\n" for r in x))
    plan = planner("diffuse", "perona-malik", steps=3, lam=20.0)
    whole = RunOptions(chunk_size=0)
    run_file(plan, str(path), str(tmp_path / "once.csv"), run=whole, measure=False)
    made = []
    lines = rio_writers.csv_row_lines

    def spy(sig, data, carried):
        made.append(data[:1].size * data.shape[0] + sum(map(len, carried.values())))
        return lines(sig, data, carried)

    monkeypatch.setattr(rio_writers, "csv_row_lines", spy)
    monkeypatch.setattr(rio_writers, "CSV_VALUES", 1000, raising=False)
    run_file(plan, str(path), str(tmp_path / "pieces.csv"), run=whole, measure=False)
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "once.csv").read_bytes()
    assert sum(made) == rows * width and max(made) <= 1000
