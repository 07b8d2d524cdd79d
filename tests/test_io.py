"""resdenoise.io: CSV dialects, audio subtypes, files from other tools, atomic output.

Every CSV dialect is written here by hand (or by the standard library's
``csv`` module), read, and written back: the bytes must come back unchanged
and the numbers exactly.  Audio files are made from known integer samples
(with soundfile and with the standard library's ``wave`` module), so the
expected floats are exact: ``k / 2**(bits - 1)``.
"""

from __future__ import annotations

import csv
import io
import os
import wave

import numpy as np
import pytest
import soundfile
from hypothesis import given
from hypothesis import strategies as st

from resdenoise.errors import ParameterError, SignalError
from resdenoise.io import (
    ReadOptions,
    WriteOptions,
    check_output_path,
    encode_signal,
    parse_signal,
    read_signal,
    write_bytes_atomic,
    write_files_atomic,
    write_signal,
)
from resdenoise.io.csv_codes import MISSING_CODES

# --------------------------------------------------------------------------
# CSV dialects: read, then write back byte for byte
# --------------------------------------------------------------------------

# (name, file bytes, expected data, expected header, expected time column)
DIALECTS = [
    ("one column", b"0.5\n-1.25\n3.0\n", [0.5, -1.25, 3.0], None, None),
    (
        "comma, header",
        b"pressure,flow\n0.5,1.0\n-1.25,2.0\n",
        [[0.5, 1.0], [-1.25, 2.0]],
        ["pressure", "flow"],
        None,
    ),
    (
        "semicolon, decimal comma, CRLF, time column",
        b"time;p\r\n0;1,5\r\n1;2,25\r\n2;-0,75\r\n",
        [1.5, 2.25, -0.75],
        ["time", "p"],
        0,
    ),
    (
        "tab, BOM, time with unit",
        b"\xef\xbb\xbfTime [s]\tleft\tright\n0.0\t0.5\t1.5\n0.25\t-0.5\t2.5\n",
        [[0.5, 1.5], [-0.5, 2.5]],
        ["Time [s]", "left", "right"],
        0,
    ),
    (
        "whitespace",
        b"0.5 1.0\n-1.25 2.0\n7.5 8.0\n",
        [[0.5, 1.0], [-1.25, 2.0], [7.5, 8.0]],
        None,
        None,
    ),
    ("pipe", b"a|b\n1.0|2.0\n3.0|4.0\n", [[1.0, 2.0], [3.0, 4.0]], ["a", "b"], None),
    (
        "all quoted",
        b'"t","v, volts"\n"0.0","1.5"\n"1.0","2.5"\n',
        [1.5, 2.5],
        ["t", "v, volts"],
        0,
    ),
    (
        "comment preamble with savetxt header",
        b"# instrument: X-1000\n# t,value\n0.0,1.5\n1.0,2.5\n2.0,3.5\n",
        [1.5, 2.5, 3.5],
        ["t", "value"],
        0,
    ),
    (
        "pandas index",
        b",a,b\n0,1.0,2.0\n1,3.0,4.0\n",
        [[1.0, 2.0], [3.0, 4.0]],
        ["", "a", "b"],
        0,
    ),
    ("trailing delimiter", b"1.0,2.0,\n3.0,4.0,\n", [[1.0, 2.0], [3.0, 4.0]], None, None),
    ("CR line ends", b"x\r0.5\r1.5\r", [0.5, 1.5], ["x"], None),
    (
        "timestamps",
        b"date,v\n2024-01-01T00:00:00,1.0\n2024-01-01T00:00:01,3.0\n",
        [1.0, 3.0],
        ["date", "v"],
        0,
    ),
    (
        "headerless equally spaced time",
        b"0.0,1.5,7.0\n0.5,2.5,8.0\n1.0,3.5,9.0\n",
        [[1.5, 7.0], [2.5, 8.0], [3.5, 9.0]],
        None,
        0,
    ),
    (
        "UTF-16 with BOM, tab",
        "a\tb\n1.0\t2.0\n3.0\t4.0\n".encode("utf-16"),
        [[1.0, 2.0], [3.0, 4.0]],
        ["a", "b"],
        None,
    ),
    ("exponents and signs", b"1e-300\n-0.0\n2.5e+300\n", [1e-300, -0.0, 2.5e300], None, None),
]


@pytest.mark.parametrize(
    "raw, expected, header, time_col", [d[1:] for d in DIALECTS], ids=[d[0] for d in DIALECTS]
)
def test_csv_dialect_reads_and_writes_back_unchanged(raw, expected, header, time_col):
    sig = parse_signal(raw, "CSV", "x.csv")
    np.testing.assert_array_equal(sig.data, np.array(expected))
    assert np.array_equal(np.signbit(sig.data), np.signbit(np.array(expected)))
    assert sig.header == header
    assert sig.time_column == time_col
    payload, stats = encode_signal("y.csv", sig.with_data(sig.data.copy()))
    assert payload == raw
    assert stats["clipped"] == 0


@pytest.mark.parametrize(
    "raw, expected, header, time_col", [d[1:] for d in DIALECTS], ids=[d[0] for d in DIALECTS]
)
def test_csv_filtered_channels_change_and_nothing_else(raw, expected, header, time_col):
    sig = parse_signal(raw, "CSV", "x.csv")
    new = sig.data * 3.0 + 0.1
    back = parse_signal(encode_signal("y.csv", sig.with_data(new))[0], "CSV", "y.csv")
    np.testing.assert_array_equal(back.data, new)
    assert back.header == sig.header
    assert back.delimiter == sig.delimiter
    assert back.layout == sig.layout
    assert back.carried == sig.carried
    assert back.positions == sig.positions


def test_columns_picks_channels_and_carries_the_rest_unchanged():
    raw = b"t,a,b,label\n0,1.0,2.0,x\n1,3.0,4.0,y\n"
    sig = parse_signal(raw, "CSV", "x.csv", ReadOptions(columns="b"))
    np.testing.assert_array_equal(sig.data, [2.0, 4.0])
    assert sig.positions == (2,)
    assert sig.channel_names == ["b"]
    out = encode_signal("y.csv", sig.with_data(np.array([-2.0, -4.0])))[0]
    assert out == b"t,a,b,label\n0,1.0,-2.0,x\n1,3.0,-4.0,y\n"
    by_number = parse_signal(raw, "CSV", "x.csv", ReadOptions(columns="3,2"))
    assert by_number.positions == (1, 2)  # file order, whatever the order asked


def test_time_column_by_name_number_and_none():
    raw = b"a,b\n5.0,1.0\n4.0,2.0\n"  # 'a' is not time-like: both columns are data
    assert parse_signal(raw, "CSV", "x").time_column is None
    assert parse_signal(raw, "CSV", "x", ReadOptions(time_column="a")).time_column == 0
    assert parse_signal(raw, "CSV", "x", ReadOptions(time_column="2")).time_column == 1
    assert (
        parse_signal(raw, "CSV", "x", ReadOptions(time_column="B")).time_column == 1
    )  # case-insensitive
    timed = b"time,v\n0,1.0\n1,2.0\n"
    assert parse_signal(timed, "CSV", "x").time_column == 0
    off = parse_signal(timed, "CSV", "x", ReadOptions(time_column="none"))
    assert off.time_column is None
    np.testing.assert_array_equal(off.data, [[0.0, 1.0], [1.0, 2.0]])


@pytest.mark.parametrize(
    "raw",
    [
        b"0.0,1.0\n0.5,2.0\n1.5,3.0\n",  # no header, not equally spaced
        b"0.0\n1.0\n2.0\n",  # a single column is always the signal
    ],
)
def test_no_time_column_detected(raw):
    assert parse_signal(raw, "CSV", "x").time_column is None


def test_a_time_like_name_over_values_not_monotone_is_refused():
    """Neither carried nor filtered by a guess: the user says which (audit12b D2)."""
    with pytest.raises(ParameterError, match=r"'time' is named like a time column"):
        parse_signal(b"time,v\n0,1.0\n2,2.0\n1,3.0\n", "CSV", "x")


def test_header_declared_or_denied():
    raw = b"1,2\n3,4\n5,6\n"
    assert parse_signal(raw, "CSV", "x").header is None
    with_header = parse_signal(raw, "CSV", "x", ReadOptions(header=True))
    assert with_header.header == ["1", "2"]
    np.testing.assert_array_equal(with_header.data, [[3.0, 4.0], [5.0, 6.0]])
    with pytest.raises(
        SignalError, match=r"x: line 1, column 1: 'a' is not a number; correct it or delete line 1"
    ):
        parse_signal(b"a,b\n1,2\n", "CSV", "x", ReadOptions(header=False))


@pytest.mark.parametrize(
    "delimiter, raw",
    [
        (",", b"1,2\n3,4\n"),
        (";", b"a, b;c\n1;2\n3;4\n"),  # the comma in the header would have confused a sniffer
        ("tab", b"1\t2\n3\t4\n"),
        ("space", b"1  2\n3 4\n"),
    ],
)
def test_delimiter_given(delimiter, raw):
    sig = parse_signal(raw, "CSV", "x", ReadOptions(delimiter=delimiter))
    np.testing.assert_array_equal(sig.data, [[1.0, 2.0], [3.0, 4.0]])


def test_decimal_comma_declared_for_one_column():
    # "1,5" alone is ambiguous (two integer columns); declared, it is one number
    sig = parse_signal(b"1,5\n2,25\n", "CSV", "x", ReadOptions(decimal=","))
    np.testing.assert_array_equal(sig.data, [1.5, 2.25])
    assert encode_signal("y.csv", sig.with_data(sig.data))[0] == b"1,5\n2,25\n"


@pytest.mark.parametrize(
    "raw, kwargs, message",
    [
        (
            b"a,b\n1,2\n3,x\n",
            {},
            r"x: line 3, column 2 \('b'\): 'x' is not a number; correct it or delete line 3$",
        ),
        (b"a,b\n1,2\n3,\n", {}, r"x: line 3, column 2 \('b'\): empty cell"),
        (b"# c\n\n1,2\n3,4,5\n", {}, r"x: line 4 has 3 fields, expected 2 as on line 3"),
        (b"a,b\n1,2\n3\n", {}, r"line 3 has 1 field, expected 2 as on the header on line 1"),
        (
            b"v\n1\ninf\n",
            {},
            r"x: line 3, column 1 \('v'\): 'inf' is not a finite number; replace it with one or delete line 3",
        ),
        (b"1;2\n3,5;4\n", {"decimal": "."}, r"'3,5' is not a number \(a decimal comma\?"),
        (  # 1.234 among decimal commas was read as 1,234: a thousands separator? not guessed
            b"a;b\n1.234;1\n2,5;2\n3,25;1\n",
            {},
            r"x: line 2, column 1 \('a'\): '1.234' is not a number in a file of decimal commas",
        ),
        (b"a;b\n2,5;1\n1.5;2\n", {"decimal": ","}, r"line 3, column 1 \('a'\): '1.5' is not a"),
        (b"1;2\n3;4\n", {"delimiter": "\t"}, r"is the delimiter ';'\?"),
        (b"t,1\n2,3\n", {}, r"line 1, column 1: 't' is not a number \(if line 1 is a header"),
        (b"\n# only comments\n\n", {}, r"x: no data \(only blank or comment lines\)"),
        (b"a,b\r\n", {}, r"x: header on line 1 but no data rows"),
        (b"1.0\n", {}, r"x: 1 data row; a signal needs at least 2 samples"),
        (b"1\n\xff\xfe\n", {}, r"x: line 2: not a text file"),
        (b"1\n2\x00\n", {}, r"x: line 2: binary data"),
    ],
)
def test_csv_errors_name_line_and_column(raw, kwargs, message):
    with pytest.raises(SignalError, match=message):
        parse_signal(raw, "CSV", "x", ReadOptions(**kwargs))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"columns": "zz"}, r"columns: no column 'zz'; the columns are 't', 'a'"),
        (
            {"columns": "7"},
            r"no column 7; the file has 2 columns \(1 't', 2 'a'\), numbered from 1",
        ),
        ({"columns": "A", "_raw": b"a,A\n1,2\n3,4\n"}, None),  # one exact match: no question
        ({"time_column": "a", "columns": "a"}, r"both the time column and a column to filter"),
        ({"time_column": "a"}, r"no column left to filter"),
        ({"delimiter": "x"}, r"unknown delimiter 'x'"),
        ({"delimiter": ",", "decimal": ","}, r"delimiter and the decimal mark are both ','"),
        (  # a name two columns have is ambiguous (was: the first of them, silently)
            {"columns": "a", "_raw": b"t,a,a\n0,1,5\n1,2,6\n"},
            r"^x: columns: 2 columns are named 'a' \(2 and 3\); name the one meant by its number$",
        ),
        (  # as is a name several match apart from case, where none matches exactly
            {"time_column": "T", "_raw": b"t,a,t,t\n0,1,5,1\n1,2,6,2\n"},
            r"^x: time column: 3 columns are named 'T' apart from case \(1, 3 and 4\); name the",
        ),
    ],
)
def test_options_that_do_not_fit_the_file(kwargs, message):
    kwargs = dict(kwargs)  # (the parameter's own dict stays whole)
    raw = kwargs.pop("_raw", b"t,a\n0,1.0\n1,2.0\n")
    if kwargs.get("time_column") == "a" and "columns" not in kwargs:
        raw = b"a\n1.0\n2.0\n"
    if message is None:
        assert parse_signal(raw, "CSV", "x", ReadOptions(**kwargs)).data.tolist() == [2.0, 4.0]
        return
    with pytest.raises(ParameterError, match=message):
        parse_signal(raw, "CSV", "x", ReadOptions(**kwargs))


# ---- files written by the standard library's csv module --------------------


@pytest.mark.parametrize(
    "dialect, quoting",
    [
        ("excel", csv.QUOTE_MINIMAL),  # CRLF line ends
        ("excel-tab", csv.QUOTE_MINIMAL),
        ("excel", csv.QUOTE_NONNUMERIC),  # quoted header, bare numbers
        ("excel", csv.QUOTE_ALL),
        ("unix", csv.QUOTE_MINIMAL),  # LF, everything quoted
    ],
)
def test_stdlib_csv_writer_files(dialect, quoting, rng):
    values = rng.standard_normal((20, 2))
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, dialect=dialect, quoting=quoting)
    writer.writerow(["sample", "left, mV", "right"])
    for i, (a, b) in enumerate(values.tolist()):
        writer.writerow([i, a, b])
    raw = buf.getvalue().encode()
    sig = parse_signal(raw, "CSV", "x.csv")
    np.testing.assert_array_equal(sig.data, values)  # repr round trip: exact
    assert sig.header == ["sample", "left, mV", "right"]
    assert sig.time_column == 0
    assert sig.layout.newline == ("\n" if dialect == "unix" else "\r\n")
    back = parse_signal(encode_signal("y.csv", sig.with_data(values))[0], "CSV", "y.csv")
    np.testing.assert_array_equal(back.data, values)
    assert back.carried == {0: [str(i) for i in range(20)]}


@pytest.mark.parametrize("header", [None, "v", 'say "v"'])
def test_one_quoted_column_as_the_csv_module_writes_it(tmp_path, rng, header):
    """csv.QUOTE_ALL with one column: every field quoted (the header too), read as with
    several columns, whole and in blocks, and written back quoted (was: '"1.5"' is
    not a number)."""
    from resdenoise.io import open_signal_stream, read_signal

    values = rng.standard_normal(30)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerows(([[header]] if header else []) + [[v] for v in values.tolist()])
    path = tmp_path / "q.csv"
    path.write_text(buf.getvalue(), newline="")
    sig = read_signal(path)
    np.testing.assert_array_equal(sig.data, values)
    assert sig.header == ([header] if header else None)
    blocks = np.concatenate([b for b, _ in open_signal_stream(path).blocks()])
    np.testing.assert_array_equal(blocks, values)
    raw = encode_signal("y.csv", sig)[0].decode()
    assert raw == buf.getvalue()  # quoted as it came


_DELIMS = st.sampled_from([",", ";", "\t", " ", "|"])


#: Any float64 but a missing-value code, which the reader refuses far outside the column's
#: other values (resdenoise.io.csv_codes.MISSING_CODES)
_READINGS = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda v: v not in MISSING_CODES
)


@given(
    data=st.lists(
        st.lists(_READINGS, min_size=2, max_size=2),
        min_size=2,
        max_size=30,
    ),
    delim=_DELIMS,
    header=st.booleans(),
    crlf=st.booleans(),
    bom=st.booleans(),
    comma=st.booleans(),
)
def test_float64_round_trips_exactly_in_every_dialect(data, delim, header, crlf, bom, comma):
    x = np.array(data, dtype=np.float64)
    decimal = "," if comma and delim not in (",", " ") else "."
    cells = [[repr(v).replace(".", decimal) for v in row] for row in data]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delim, lineterminator="\r\n" if crlf else "\n")
    if header:
        writer.writerow(["left", "right"])
    writer.writerows(cells)
    raw = (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode()
    sig = parse_signal(raw, "CSV", "x.csv", ReadOptions(time_column="none", decimal=decimal))
    np.testing.assert_array_equal(sig.data, x)
    assert np.array_equal(np.signbit(sig.data), np.signbit(x))
    assert sig.header == (["left", "right"] if header else None)
    out = encode_signal("y.csv", sig.with_data(sig.data))[0]
    assert out == raw


# --------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------

PCM_CASES = [
    ("WAV", "PCM_U8", 8),
    ("WAV", "PCM_16", 16),
    ("WAV", "PCM_24", 24),
    ("WAV", "PCM_32", 32),
    ("WAVEX", "PCM_16", 16),
    ("WAVEX", "PCM_24", 24),
    ("FLAC", "PCM_S8", 8),
    ("FLAC", "PCM_16", 16),
    ("FLAC", "PCM_24", 24),
    ("AIFF", "PCM_16", 16),
    ("W64", "PCM_24", 24),
    ("CAF", "PCM_32", 32),
]


def _audio(data, fmt, subtype, rate=8000, dtype=None) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, data, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _ints(rng, bits, shape):
    top = 2 ** (bits - 1)
    k = rng.integers(-top, top, size=shape)
    k[0] = -top  # both extremes present
    k[1] = top - 1
    return k


@pytest.mark.parametrize("fmt, subtype, bits", PCM_CASES, ids=[f"{f}-{s}" for f, s, _ in PCM_CASES])
@pytest.mark.parametrize("channels", [1, 3])
def test_integer_pcm_is_read_exactly_and_written_back_the_same(fmt, subtype, bits, channels, rng):
    k = _ints(rng, bits, (300, channels))
    raw = _audio((k.astype(np.int64) << (32 - bits)).astype(np.int32), fmt, subtype)
    sig = parse_signal(raw, fmt, "in")
    expected = k / 2.0 ** (bits - 1)
    np.testing.assert_array_equal(sig.data, expected[:, 0] if channels == 1 else expected)
    assert (sig.format, sig.subtype, sig.samplerate, sig.channels) == (fmt, subtype, 8000, channels)
    ext = {"WAVEX": "wav"}.get(fmt, fmt.lower())
    payload, stats = encode_signal(f"out.{ext}", sig.with_data(sig.data))
    back = parse_signal(payload, fmt, "out")
    np.testing.assert_array_equal(back.data, sig.data)
    assert (back.format, back.subtype, back.samplerate) == (fmt, subtype, 8000)
    assert stats == {"clipped": 0, "format": fmt, "subtype": subtype, "narrowing": None}


@pytest.mark.parametrize("fmt, subtype", [("WAV", "FLOAT"), ("WAV", "DOUBLE"), ("WAVEX", "FLOAT")])
def test_float_audio_round_trip(fmt, subtype, rng):
    x = rng.standard_normal((200, 2)) * 0.9
    if subtype == "FLOAT":
        x = x.astype(np.float32).astype(np.float64)
    x[0, 0] = 1.75  # float files may exceed 1: never clipped
    sig = parse_signal(_audio(x, fmt, subtype), fmt, "in")
    np.testing.assert_array_equal(sig.data, x)
    payload, stats = encode_signal("out.wav", sig.with_data(sig.data))
    back = parse_signal(payload, fmt, "out")
    np.testing.assert_array_equal(back.data, x)
    assert (back.format, back.subtype, stats["clipped"]) == (fmt, subtype, 0)


@pytest.mark.parametrize("subtype", ["ULAW", "ALAW"])
def test_companded_audio_round_trip(subtype, rng):
    x = np.clip(rng.standard_normal(500) * 0.3, -1, 1)
    sig = parse_signal(_audio(x, "WAV", subtype), "WAV", "in")
    back = parse_signal(encode_signal("o.wav", sig.with_data(sig.data))[0], "WAV", "o")
    np.testing.assert_array_equal(back.data, sig.data)  # decoded values re-encode exactly
    assert back.subtype == subtype


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_lossy_ogg_keeps_rate_channels_and_subtype(subtype):
    t = np.arange(4800) / 48000
    x = 0.5 * np.column_stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])
    sig = parse_signal(_audio(x, "OGG", subtype, rate=48000), "OGG", "in")
    back = parse_signal(encode_signal("o.ogg", sig.with_data(sig.data))[0], "OGG", "o")
    assert (back.format, back.subtype, back.samplerate, back.channels) == (
        "OGG",
        subtype,
        48000,
        2,
    )
    assert abs(back.data.shape[0] - sig.data.shape[0]) <= 960
    n = min(back.data.shape[0], sig.data.shape[0])
    # a perceptual codec: the tone survives, sample values do not
    assert np.corrcoef(back.data[:n, 0], sig.data[:n, 0])[0, 1] > 0.9


@pytest.mark.parametrize(
    "subtype, bits", [("PCM_U8", 8), ("PCM_16", 16), ("PCM_24", 24), ("PCM_32", 32)]
)
def test_integer_pcm_clips_and_counts_never_wraps(subtype, bits):
    sig = parse_signal(_audio(np.zeros(4), "WAV", subtype), "WAV", "in")
    over = np.array([1.5, -3.0, 0.25, 1.0])  # 1.0 itself is one step above the top
    payload, stats = encode_signal("o.wav", sig.with_data(over))
    assert stats["clipped"] == 3
    back = parse_signal(payload, "WAV", "o").data
    top = 2.0 ** (bits - 1)
    np.testing.assert_array_equal(back, [(top - 1) / top, -1.0, 0.25, (top - 1) / top])


def test_companded_output_clips_to_unit_range():
    sig = parse_signal(_audio(np.zeros(3), "WAV", "ULAW"), "WAV", "in")
    payload, stats = encode_signal("o.wav", sig.with_data(np.array([2.0, -2.0, 0.0])))
    assert stats["clipped"] == 2
    back = parse_signal(payload, "WAV", "o").data
    assert back[0] > 0.9 and back[1] < -0.9  # clipped, not wrapped


def test_subtype_override_and_format_change():
    k = np.array([-32768, -1, 0, 1, 32767], dtype=np.int64)
    sig = parse_signal(_audio((k << 16).astype(np.int32), "WAV", "PCM_16"), "WAV", "in")
    as24 = parse_signal(encode_signal("o.wav", sig, WriteOptions(subtype="pcm_24"))[0], "WAV", "o")
    assert as24.subtype == "PCM_24"
    np.testing.assert_array_equal(as24.data, sig.data)  # 16-bit values fit 24 bits exactly
    flac = parse_signal(encode_signal("o.flac", sig)[0], "FLAC", "o")
    assert (flac.format, flac.subtype) == ("FLAC", "PCM_16")
    np.testing.assert_array_equal(flac.data, sig.data)
    with pytest.raises(ParameterError, match=r"o.flac: FLAC cannot hold subtype 'FLOAT'"):
        encode_signal("o.flac", sig, WriteOptions(subtype="FLOAT"))
    with pytest.raises(ParameterError, match=r"applies to audio output only"):
        encode_signal("o.csv", sig, WriteOptions(subtype="PCM_16"))


def test_audio_channels_picked_by_number_carry_the_others():
    k = np.arange(-6, 6, dtype=np.int64).reshape(4, 3)
    sig = parse_signal(
        _audio((k << 16).astype(np.int32), "WAV", "PCM_16"), "WAV", "in", ReadOptions(columns="2")
    )
    np.testing.assert_array_equal(sig.data, k[:, 1] / 32768.0)
    payload, _ = encode_signal("o.wav", sig.with_data(np.zeros(4)))
    back = parse_signal(payload, "WAV", "o").data
    np.testing.assert_array_equal(back[:, [0, 2]], k[:, [0, 2]] / 32768.0)
    np.testing.assert_array_equal(back[:, 1], 0.0)


def test_audio_to_csv_and_csv_to_audio():
    sig = parse_signal(_audio(np.array([0.5, -0.25, 0.0]), "WAV", "FLOAT"), "WAV", "in")
    assert encode_signal("o.csv", sig)[0] == b"# samplerate: 8000\n0.5\n-0.25\n0.0\n"
    raw = b"time,v\n0,0.5\n1,-0.25\n"
    with pytest.raises(ParameterError, match=r"o.wav: WAV audio needs a sample rate, and x"):
        encode_signal("o.wav", parse_signal(raw, "CSV", "x"))
    csv_sig = parse_signal(raw, "CSV", "x", ReadOptions(samplerate=8000))
    back = parse_signal(encode_signal("o.wav", csv_sig)[0], "WAV", "o")
    np.testing.assert_array_equal(back.data, [0.5, -0.25])  # only the filtered channel
    assert (back.channels, back.samplerate, back.subtype) == (1, 8000, "FLOAT")


def test_non_finite_output_is_refused():
    sig = parse_signal(b"1\n2\n", "CSV", "x")
    with pytest.raises(SignalError, match=r"y.csv: 1 output values are not finite"):
        encode_signal("y.csv", sig.with_data(np.array([1.0, np.nan])))


# ---- files written by the standard library's wave module ---------------------


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [1, 2])
def test_stdlib_wave_files(width, channels, rng, tmp_path):
    bits = 8 * width
    k = _ints(rng, bits, (50, channels))
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        frames = (k + 128).astype(np.uint8).tobytes()
    else:
        le = k.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width]
        frames = le.tobytes()
    path = tmp_path / "w.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(11025)
        w.writeframes(frames)
    sig = read_signal(path)
    expected = k / 2.0 ** (bits - 1)
    np.testing.assert_array_equal(sig.data, expected[:, 0] if channels == 1 else expected)
    assert sig.samplerate == 11025
    assert sig.subtype == {1: "PCM_U8", 2: "PCM_16", 3: "PCM_24", 4: "PCM_32"}[width]


def test_truncated_wav_is_an_error():
    raw = _audio(np.zeros(100), "WAV", "PCM_16")
    with pytest.raises(
        SignalError, match=r"in: truncated audio: the data chunk promises 200 bytes"
    ):
        parse_signal(raw[:-11], "WAV", "in")


def test_streamed_wav_with_unknown_length_is_accepted():
    raw = bytearray(_audio(np.full(10, 0.5), "WAV", "PCM_16"))
    pos = raw.index(b"data")
    raw[pos + 4 : pos + 8] = b"\xff\xff\xff\xff"  # what a writer to a pipe puts there
    sig = parse_signal(bytes(raw), "WAV", "in")
    np.testing.assert_array_equal(sig.data, np.full(10, 0.5))


# --------------------------------------------------------------------------
# Writing: atomic, all or nothing
# --------------------------------------------------------------------------


def _leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_write_signal_replaces_atomically_and_keeps_the_mode(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    write_signal(target, parse_signal(b"1.0\n2.0\n", "CSV", "x"))
    assert target.read_bytes() == b"1.0\n2.0\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def test_all_or_nothing_when_a_later_target_fails(tmp_path):
    first = tmp_path / "a.csv"
    existing = tmp_path / "b.csv"
    existing.write_bytes(b"keep me\n")
    with pytest.raises(SignalError, match=r"output directory .* does not exist"):
        write_files_atomic([(first, b"1\n"), (existing, b"2\n"), (tmp_path / "no" / "c", b"3")])
    assert not first.exists()
    assert existing.read_bytes() == b"keep me\n"
    assert _leftovers(tmp_path) == []


def test_before_rename_is_called_once_just_before_the_renames(tmp_path):
    """``before_rename``: after every temporary and device is written, before any target
    is replaced; never for a write that fails first, nor where nothing is renamed."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    seen = []

    def before():
        seen.append((a.exists(), b.exists(), len(_leftovers(tmp_path))))

    write_files_atomic([(a, b"1\n"), (b, b"2\n")], before)
    assert seen == [(False, False, 2)] and a.read_bytes() == b"1\n"
    with pytest.raises(SignalError):
        write_files_atomic([(a, b"3\n"), (tmp_path / "no" / "c", b"3")], before)
    write_files_atomic([(os.devnull, b"x")], before)  # written through: no rename
    assert len(seen) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_device_failing_mid_write_discards_the_files(tmp_path):
    first = tmp_path / "a.csv"
    with pytest.raises(SignalError, match=r"/dev/full: cannot write: No space left on device"):
        write_files_atomic([(first, b"1\n"), ("/dev/full", b"x" * 100_000)])
    assert not first.exists()
    assert _leftovers(tmp_path) == []
    with pytest.raises(SignalError, match="No space left"):
        write_bytes_atomic("/dev/full", b"x")


def test_check_output_path(tmp_path):
    check_output_path(tmp_path / "new.csv")
    check_output_path("-")
    with pytest.raises(SignalError, match=r"is a directory; give an output file name"):
        check_output_path(tmp_path)
    with pytest.raises(SignalError, match=r"output directory '.*missing' does not exist"):
        check_output_path(tmp_path / "missing" / "x.csv")
    # the name given is at fault (exit 2, as --output-format nope), not a file
    with pytest.raises(ParameterError, match=r"extension '.xyz'; .* \(or output_format\)$"):
        check_output_path(tmp_path / "x.xyz")
    with pytest.raises(ParameterError, match=r"unknown format 'nope'"):
        check_output_path(tmp_path / "x", WriteOptions("nope"))


def test_symlinked_output_replaces_the_link_not_its_target(tmp_path):
    real = tmp_path / "real.csv"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_bytes_atomic(link, b"new\n")
    assert not link.is_symlink() and link.read_bytes() == b"new\n"
    assert real.read_bytes() == b"old\n"


# ---- the option objects -------------------------------------------------------


def test_read_and_write_options_are_frozen_and_typed():
    opts = ReadOptions(columns=["a", 2])
    assert opts.columns == ("a", 2)  # a sequence is kept as a tuple
    with pytest.raises(AttributeError):
        opts.header = True  # type: ignore[misc]
    for bad in ({"header": "yes"}, {"delimiter": 1}, {"time_column": True}, {"columns": 3}):
        with pytest.raises(TypeError):
            ReadOptions(**bad)
    with pytest.raises(TypeError):
        WriteOptions(subtype=16)
    assert ReadOptions() == ReadOptions(None, None, None, None, None)


def test_option_values_are_checked_against_the_file(tmp_path):
    # an unknown delimiter is a ParameterError when a CSV file is read, not before:
    # a missing file is reported first, and an audio file ignores it
    opts = ReadOptions(delimiter="x")
    with pytest.raises(SignalError, match=r"no such file"):
        read_signal(tmp_path / "missing.csv", options=opts)
    with pytest.raises(ParameterError, match=r"unknown delimiter 'x'"):
        parse_signal(b"1\n2\n", "CSV", "x", opts)
    wav = io.BytesIO()
    soundfile.write(wav, np.zeros(4), 8000, subtype="PCM_16", format="WAV")
    assert parse_signal(wav.getvalue(), "WAV", "in", opts).data.shape == (4,)


def test_options_given_in_place_of_the_format():
    with pytest.raises(TypeError, match=r"options="):
        read_signal("x.csv", ReadOptions())  # type: ignore[arg-type]


def test_an_audio_output_is_fsynced_once_after_its_header(tmp_path, rng, monkeypatch):
    """soundfile's close would fsync (sf_write_sync) before libsndfile rewrites the
    header; the writer skips that one and fsyncs once after the header: the file is
    complete, soundfile's flush is never called, os.fsync once for the output."""
    from resdenoise.io import SignalWriter, read_signal, write_files_atomic

    src = tmp_path / "in.wav"
    u = rng.standard_normal((5000, 2)) * 0.1
    soundfile.write(src, u, 8000, subtype="FLOAT")
    template = read_signal(src)
    flushes, fsyncs = [], []
    monkeypatch.setattr(soundfile.SoundFile, "flush", lambda self: flushes.append(self))
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    out = tmp_path / "out.wav"
    with SignalWriter(out, template) as writer:
        writer.write(template.data[:3000], {})
        writer.write(template.data[3000:], {})
        writer.close()
        assert flushes == [] and len(fsyncs) == 1
        write_files_atomic([writer])
    assert flushes == []
    back, rate = soundfile.read(out)
    assert rate == 8000 and np.array_equal(back, u.astype(np.float32))


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_the_writer_starts_the_writeback_of_what_it_wrote_as_it_goes(tmp_path, rng, monkeypatch):
    """Every WRITEBACK_BYTES the writer hints the kernel to write the bytes written since
    to the disk: consecutive ranges of the temporary file from its start, the file's
    bytes those of soundfile's own write; never for a file read back (stdout)."""
    from resdenoise.io import SignalWriter, read_signal, write_files_atomic, writers

    src = tmp_path / "in.wav"
    u = (rng.standard_normal((6000, 2)) * 0.1).astype(np.float32)
    soundfile.write(src, u, 8000, subtype="FLOAT")
    template = read_signal(src)
    hints, real = [], os.posix_fadvise
    monkeypatch.setattr(writers, "WRITEBACK_BYTES", 10_000)
    monkeypatch.setattr(
        os, "posix_fadvise", lambda fd, a, n, how: (hints.append((a, n, how)), real(fd, a, n, how))
    )
    out, ref = tmp_path / "out.wav", tmp_path / "ref.wav"
    with SignalWriter(out, template) as writer:
        for a in range(0, 6000, 1000):
            writer.write(template.data[a : a + 1000], {})
        write_files_atomic([writer])
    soundfile.write(ref, u, 8000, subtype="FLOAT")
    assert len(hints) == 3 and all(h[2] == os.POSIX_FADV_DONTNEED for h in hints)
    assert hints[0][0] == 0 and all(
        a + n == b for (a, n, _), (b, _, _) in zip(hints[:-1], hints[1:], strict=True)
    )
    assert all(n >= 10_000 for _, n, _ in hints)
    assert sum(n for _, n, _ in hints) <= os.path.getsize(out)
    assert soundfile.read(out)[0].tobytes() == soundfile.read(ref)[0].tobytes()
    hints.clear()
    with SignalWriter("-", template) as writer:
        writer.write(template.data, {})
        writer.close()
        writer.discard()
    assert hints == []


def test_a_float_wav_is_read_as_libsndfile_reads_it_as_float64(tmp_path, rng):
    """32-bit float audio is read as stored and converted by NumPy: the float64 values
    soundfile gives (whole and in blocks), extremes and subnormals too."""
    from resdenoise.io import open_signal_stream, read_signal

    u = (rng.standard_normal((70_000, 2)) * 0.3).astype(np.float32)
    u[:4, 0] = [np.float32(3.4e38), np.float32(-1e-45), np.float32(1e-40), -0.0]
    path = tmp_path / "f.wav"
    soundfile.write(path, u, 8000, subtype="FLOAT")
    want, _ = soundfile.read(path, dtype="float64")
    got = read_signal(path).data
    assert got.dtype == np.float64 and got.tobytes() == want.tobytes()
    blocks = np.concatenate([b for b, _ in open_signal_stream(path).blocks()])
    assert blocks.dtype == np.float64 and blocks.tobytes() == want.tobytes()


def test_a_float_wav_is_written_as_libsndfile_casts_float64(tmp_path, rng):
    """The writer casts float64 to 32-bit float with NumPy: the bytes soundfile writes
    from the float64 samples (rounding, subnormals, -0.0), but beyond float32: its
    maximum (libsndfile writes inf)."""
    from resdenoise.io import SignalWriter, read_signal, write_files_atomic

    src = tmp_path / "in.wav"
    soundfile.write(src, np.zeros((10, 2)), 8000, subtype="FLOAT")
    template = read_signal(src)
    u = rng.standard_normal((5000, 2)) * 0.3
    u[:5, 0] = [1e-46, 1e-40, -0.0, 3.5e38, 1.0 + 2.0**-30]
    out, ref = tmp_path / "out.wav", tmp_path / "ref.wav"
    with SignalWriter(out, template) as writer:
        writer.write(u, {})
        write_files_atomic([writer])
    soundfile.write(ref, u, 8000, subtype="FLOAT")
    got, want = soundfile.read(out, dtype="float32")[0], soundfile.read(ref, dtype="float32")[0]
    assert np.isinf(want[3, 0])
    want[3, 0] = np.finfo(np.float32).max
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
@pytest.mark.parametrize("ext", ["wav", "aiff", "caf"])
def test_float_files_are_written_without_a_peak_chunk(tmp_path, rng, ext, subtype):
    """Float WAV, AIFF and CAF files get no PEAK chunk (libsndfile's upkeep of it walks
    every written sample; its time stamp made two writes of the same samples differ):
    the writer's bytes are encode_signal's, the samples as given; float32 samples
    are handed over as they are, the bytes of their float64 values."""
    from resdenoise.io import SignalWriter, encode_signal, read_signal, write_files_atomic

    src = tmp_path / f"in.{ext}"
    u = (rng.standard_normal((3000, 2)) * 0.3).astype(np.float32)
    soundfile.write(src, u, 8000, subtype=subtype)
    assert b"PEAK" in src.read_bytes()[:200] or b"peak" in src.read_bytes()[:200]
    sig = read_signal(src)
    outs = []
    for data in (sig.data, sig.data.astype(np.float32)):
        out = tmp_path / f"out{len(outs)}.{ext}"
        with SignalWriter(out, sig) as writer:
            assert writer.write(data, {}) is data
            write_files_atomic([writer])
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == encode_signal(tmp_path / f"x.{ext}", sig)[0]
    assert b"PEAK" not in outs[0][:200] and b"peak" not in outs[0][:200]
    assert np.array_equal(soundfile.read(tmp_path / f"out0.{ext}", dtype="float32")[0], u)


@pytest.mark.parametrize("subtype", ["DOUBLE", "FLOAT"])
def test_the_writer_counts_non_finite_samples_not_huge_ones(tmp_path, subtype):
    """Finite samples whose sum overflows are written (in a float file beyond its range:
    its maximum, where libsndfile writes inf); NaN and inf are counted and the output
    refused (nothing written)."""
    from resdenoise.io import SignalWriter, read_signal, write_files_atomic

    src = tmp_path / "in.wav"
    soundfile.write(src, np.zeros((10, 2)), 8000, subtype=subtype)
    template = read_signal(src)
    huge = np.full((100, 2), 1.7e308)
    huge[:50] = 3e38  # (float32: finite, but their float32 sum overflows)
    out = tmp_path / "huge.wav"
    with SignalWriter(out, template) as writer:
        writer.write(huge, {})
        assert writer.nonfinite == 0
        write_files_atomic([writer])
    top = float(np.finfo(np.float32).max)
    want = huge if subtype == "DOUBLE" else np.minimum(huge, top).astype(np.float32)
    assert np.array_equal(soundfile.read(out)[0], want)
    bad = np.zeros((100, 2))
    bad[[3, 50], [0, 1]] = [np.nan, np.inf]
    with SignalWriter(tmp_path / "bad.wav", template) as writer:
        writer.write(np.zeros((5, 2)), {})
        writer.write(bad, {})
        writer.write(np.array([[np.nan, 0.0]]), {})
        assert writer.nonfinite == 3
        with pytest.raises(SignalError, match="3"):
            writer.close()
    assert not (tmp_path / "bad.wav").exists()


@pytest.mark.parametrize(
    "name, subtype, expected",
    [
        ("f.wav", "FLOAT", True),
        ("f.aiff", "FLOAT", True),
        ("d.wav", "DOUBLE", False),
        ("p.wav", "PCM_16", False),
        ("p.flac", "PCM_24", False),
    ],
)
def test_stores_float32_reads_the_header(tmp_path, name, subtype, expected):
    from resdenoise.io import stores_float32

    path = tmp_path / name
    soundfile.write(path, np.zeros((8, 2)), 8000, subtype=subtype)
    assert stores_float32(path) is expected
    assert stores_float32(path, "csv") is False  # the format given wins


def test_stores_float32_is_false_for_what_is_not_a_float_sound_file(tmp_path):
    from resdenoise.io import stores_float32

    (tmp_path / "a.csv").write_text("1\n2\n")
    (tmp_path / "bad.wav").write_bytes(b"RIFF....not a wav")
    assert not stores_float32(tmp_path / "a.csv")
    assert not stores_float32(tmp_path / "bad.wav")  # the reader gives the error
    assert not stores_float32(tmp_path / "missing.wav")
    assert not stores_float32("-")


def test_float_output_counts_samples_beyond_float32_as_clipped():
    """A float64 sample beyond float32's range became inf in a FLOAT file, uncounted;
    now counted and clipped to +-float32's maximum (it was inf, counted)."""
    sig = parse_signal(_audio(np.zeros(4), "WAV", "FLOAT"), "WAV", "in")
    payload, stats = encode_signal("o.wav", sig.with_data(np.array([1e39, -1e39, 0.5, 3e38])))
    assert stats["clipped"] == 2
    back, _ = soundfile.read(io.BytesIO(payload), dtype="float32")
    top = np.finfo(np.float32).max
    np.testing.assert_array_equal(back, np.float32([top, -top, 0.5, 3e38]))


@pytest.mark.skipif(os.name != "posix", reason="needs RLIMIT_FSIZE and SIGXFSZ")
def test_a_full_disk_under_an_audio_writer_says_so(tmp_path, rng):
    """A write that fails in libsndfile (a full disk; here a file-size limit, SIGXFSZ
    ignored as Python ignores it) said 'cannot encode as WAV/PCM_16: System error.';
    now the system's reason, and the temporary file is gone."""
    import resource
    import signal

    from resdenoise.io import SignalWriter, read_signal

    src = tmp_path / "in.wav"
    soundfile.write(src, rng.standard_normal((4000, 2)) * 0.1, 8000, subtype="PCM_16")
    template = read_signal(src)
    block = np.tile(template.data, (40, 1))  # 640 KB a write
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))
    try:
        with pytest.raises(
            SignalError, match=r"out.wav: cannot write: File too large \(above the file size limit"
        ):
            with SignalWriter(tmp_path / "out.wav", template) as writer:
                for _ in range(3):
                    writer.write(block, {})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]
