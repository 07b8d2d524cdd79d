"""Which error a file with several problems reports first, through both doors.

Pinned before the whole and the streamed CSV readers were merged into one:
a file is read whole (:func:`resdenoise.io.read_signal`) and in blocks
(:func:`resdenoise.io.open_signal_stream`, then every block), and the first
error must be the one named here, with the same type and message.

The order is: the file itself (missing, empty), the options that do not
depend on the file (delimiter, decimal mark), the text (undecodable bytes
before NUL bytes), no data, ragged rows, the options that depend on the file
(time column, columns), then per filtered column in file order its first
cell that is not a number, else its first non-finite cell, and last the
2-sample minimum.  The blocks door meets the text as it reads it: only a
problem in the text beyond the first read of the file (``READ_BYTES``) can
come after a ragged row found earlier.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

import resdenoise.io as rio
import resdenoise.io.csv_lines as rio_csv_lines
from resdenoise.errors import ParameterError, ResdenoiseError, SignalError
from resdenoise.io import ReadOptions

RAGGED = "every row needs the same number of columns)"
NOT_TEXT = "expected CSV, or give an audio file a .wav/.flac extension"
NUL = "binary data (a NUL byte); expected CSV text, or give an audio file a .wav/.flac extension"

# (name, file bytes, options, error type, message with the file named "in.csv")
CSV_CASES = [
    (
        "ragged row before a bad cell",
        b"a,b\n1,x\n3,4,5\n",
        {},
        SignalError,
        f"in.csv: line 3 has 3 fields, expected 2 as on the header on line 1 (delimiter ','; {RAGGED}",
    ),
    (
        "columns in file order, not lines",
        b"a,b\n1,2\n3,y\nx,4\n",
        {},
        SignalError,
        "in.csv: line 4, column 1 ('a'): 'x' is not a number; correct it or delete line 4",
    ),
    (
        "a bad cell before an earlier inf in its column",
        b"v\ninf\nx\n",
        {},
        SignalError,
        "in.csv: line 3, column 1 ('v'): 'x' is not a number; correct it or delete line 3",
    ),
    (
        "inf in column 1 before a bad cell in column 2",
        b"x,y\n1,inf\n2,zz\n",
        {},
        SignalError,
        "in.csv: line 3, column 2 ('y'): 'zz' is not a number; correct it or delete line 3",
    ),
    (
        "a bad cell before too few samples",
        b"v\nx\n",
        {},
        SignalError,
        "in.csv: line 2, column 1 ('v'): 'x' is not a number; correct it or delete line 2",
    ),
    (
        "inf before too few samples",
        b"v\ninf\n",
        {},
        SignalError,
        "in.csv: line 2, column 1 ('v'): 'inf' is not a finite number; replace it with one or delete line 2",
    ),
    (
        "unknown column before bad cells",
        b"a,b\n1,x\n3,y\n",
        {"columns": "zz"},
        ParameterError,
        "in.csv: columns: no column 'zz'; the columns are 'a', 'b'",
    ),
    (
        "time column and columns clash before bad cells",
        b"t,a\n0,x\n1,y\n",
        {"time_column": "a", "columns": "a"},
        ParameterError,
        "in.csv: column 'a' is both the time column and a column to filter",
    ),
    (
        "unknown delimiter before bad cells",
        b"a\nx\n",
        {"delimiter": "x"},
        ParameterError,
        "unknown delimiter 'x'; use one of ',', ';', '|', tab, space",
    ),
    (
        "empty file before an unknown delimiter",
        b"",
        {"delimiter": "x"},
        SignalError,
        "in.csv: file is empty (0 bytes)",
    ),
    (
        "header without rows before an unknown column",
        b"a,b\n",
        {"columns": "zz"},
        SignalError,
        "in.csv: header on line 1 but no data rows",
    ),
    (
        "ragged row before an unknown column",
        b"a,b\n1,2\n3\n",
        {"columns": "zz"},
        SignalError,
        f"in.csv: line 3 has 1 field, expected 2 as on the header on line 1 (delimiter ','; {RAGGED}",
    ),
    (
        "undecodable byte before an earlier ragged row",
        b"a,b\n1,2\n3\n4,\xff\n",
        {},
        SignalError,
        f"in.csv: line 4: not a text file (byte 13 is not UTF-8); {NOT_TEXT}",
    ),
    (
        "undecodable byte before an earlier NUL",
        b"1\n2\x00\n3\n\xff\n",
        {},
        SignalError,
        f"in.csv: line 4: not a text file (byte 8 is not UTF-8); {NOT_TEXT}",
    ),
    (
        "NUL byte before an earlier ragged row",
        b"a,b\n1,2\n3\n4,\x00\n",
        {},
        SignalError,
        f"in.csv: line 4: {NUL}",
    ),
    (
        "bad cells in carried columns are no error",
        b"a,b\n1,x\n2,y\n",
        {"columns": "a"},
        None,
        None,
    ),
]

# 70 good rows between a ragged row and an undecodable byte: read in small
# pieces, the blocks door has decided the dialect (64 data lines) and meets the
# ragged row before it decodes the byte; read whole, the text is decoded first.
LATE_BYTE = b"a,b\n1,2\n3\n" + b"4,5\n" * 70 + b"6,\xff\n"
LATE_BYTE_WHOLE = f"in.csv: line 74: not a text file (byte 293 is not UTF-8); {NOT_TEXT}"
LATE_BYTE_BLOCKS = (
    f"in.csv: line 3 has 1 field, expected 2 as on the header on line 1 (delimiter ','; {RAGGED}"
)


def read_whole(path, options):
    rio.read_signal(path, options=ReadOptions(**options))


def read_blocks(path, options):
    for _ in rio.open_signal_stream(path, options=ReadOptions(**options)).blocks():
        pass


def set_read_bytes(monkeypatch, n: int) -> None:
    monkeypatch.setattr(rio_csv_lines, "READ_BYTES", n)


def first_error(door, path, options):
    try:
        door(path, options)
    except ResdenoiseError as exc:
        return type(exc), str(exc).replace(str(path), path.name)
    return None, None


@pytest.mark.parametrize("door", [read_whole, read_blocks], ids=["whole", "blocks"])
@pytest.mark.parametrize(
    "raw, options, kind, message", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES]
)
def test_first_csv_error(tmp_path, door, raw, options, kind, message):
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    assert first_error(door, path, options) == (kind, message)


@pytest.mark.parametrize(
    "raw, options, kind, message", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES]
)
def test_first_csv_error_in_small_reads(tmp_path, monkeypatch, raw, options, kind, message):
    """Read 4 bytes at a time, the blocks door reports the same (the dialect needs 64 rows)."""
    set_read_bytes(monkeypatch, 4)
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    if raw == b"1\n2\x00\n3\n\xff\n":  # the NUL is met in an earlier piece than the byte
        kind, message = SignalError, f"in.csv: line 2: {NUL}"
    assert first_error(read_blocks, path, options) == (kind, message)


def test_undecodable_byte_after_the_dialect_is_decided(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_bytes(LATE_BYTE)
    assert first_error(read_whole, path, {}) == (SignalError, LATE_BYTE_WHOLE)
    assert first_error(read_blocks, path, {}) == (SignalError, LATE_BYTE_WHOLE)
    set_read_bytes(monkeypatch, 4)
    assert first_error(read_whole, path, {}) == (SignalError, LATE_BYTE_WHOLE)
    assert first_error(read_blocks, path, {}) == (SignalError, LATE_BYTE_BLOCKS)


def test_missing_file_before_a_bad_option(tmp_path):
    path = tmp_path / "in.csv"
    for door in (read_whole, read_blocks):
        kind, message = first_error(door, path, {"delimiter": "x", "columns": "zz"})
        assert (kind, message) == (SignalError, "in.csv: no such file")


def test_declared_delimiter_only_after_the_first_rows(tmp_path):
    """The delimiter is declared but the first 64 data rows hold none.

    The one deliberate change of the merged reader: the dialect is decided
    on the first 64 data rows for both doors, so a declared delimiter that
    none of them holds means one column, and a later row that holds it is
    a cell that is not a number.  Read whole, such a file used to report a
    ragged row instead (the whole reader looked for the delimiter in the
    whole text): ``in.csv: line 71 has 2 fields, expected 1 as on line 1
    (delimiter ','; every row needs the same number of columns)``.
    """
    path = tmp_path / "in.csv"
    path.write_bytes(b"1\n" * 70 + b"2,3\n")
    options = {"delimiter": ","}
    message = (
        "in.csv: line 71, column 1: '2,3' is not a number "
        "(a decimal comma? declare it with decimal=',')"
    )
    assert first_error(read_whole, path, options) == (SignalError, message)
    assert first_error(read_blocks, path, options) == (SignalError, message)


def _wav(frames: int) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(frames), 8000, subtype="PCM_16", format="WAV")
    return buf.getvalue()


TRUNCATED = (
    "in.wav: truncated audio: the data chunk promises 200 bytes, the file holds 189 (a copy "
    "cut short?); copy it again, or keep the 94 whole frames it holds, e.g. sox in.wav "
    "out.wav (it warns of the early end and writes them)"
)
AUDIO_CASES = [
    (
        "time column before truncation",
        _wav(100)[:-11],
        {"time_column": "1"},
        ParameterError,
        "in.wav: an audio file has no time column to name",
    ),
    (
        "truncation before an unknown channel",
        _wav(100)[:-11],
        {"columns": "3"},
        SignalError,
        TRUNCATED,
    ),
    (
        "unknown channel before too few samples",
        _wav(1),
        {"columns": "3"},
        ParameterError,
        "in.wav: channels: no channel 3; the file has 1 channel, numbered from 1",
    ),
    (
        "one sample",
        _wav(1),
        {},
        SignalError,
        "in.wav: 1 sample; a signal needs at least 2 samples: nothing to filter, leave this "
        "file out (a batch still writes the others and exits 1 for it)",
    ),
]


@pytest.mark.parametrize("door", [read_whole, read_blocks], ids=["whole", "blocks"])
@pytest.mark.parametrize(
    "raw, options, kind, message", [c[1:] for c in AUDIO_CASES], ids=[c[0] for c in AUDIO_CASES]
)
def test_first_audio_error(tmp_path, door, raw, options, kind, message):
    path = tmp_path / "in.wav"
    path.write_bytes(raw)
    assert first_error(door, path, options) == (kind, message)
