"""CSV files a scientist's tools write (audit17a): where a file is ambiguous the reader
asks, in one line naming the option that settles it, rather than guess; what is plain
reads as before.

A1: a first column named ``Year``, ``Hours``, ``Zeit`` (no time-like name) whose values
are an exact time axis was filtered as a signal (``1940 -> 1941.018``); a column besides
the first named ``time`` (pandas' index before it) was filtered too.  A3: pandas'
header of unnamed columns without the index (``0,1``) was read as a first sample.
A6: a footer row (``Total,6.8``) or an error cell (``ERR``) in the time column was
carried as a time stamp, its value filtered as a sample.  A11: ``1,002`` in a tab file
(digit grouping) was read as 1.002 beside 987.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from test_audit_messages import _error

from resdenoise.cli import cli
from resdenoise.errors import ParameterError, SignalError
from resdenoise.io import ReadOptions, open_signal_stream, parse_signal


def _rows(header: str, cols, fmt: str = "{}", delim: str = ",") -> bytes:
    lines = [header] if header is not None else []
    lines += [delim.join(fmt.format(v) for v in row) for row in zip(*cols, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def _noise(n: int, seed: int = 1) -> list[str]:
    return [repr(float(x)) for x in np.random.default_rng(seed).standard_normal(n)]


# ---- A1: a time axis by its values, not its name ---------------------------------------


@pytest.mark.parametrize("name", ["Year", "Hours", "Zeit", "Elapsed Time (s)", "x"])
def test_a_first_column_like_a_time_axis_but_not_named_so_is_asked(name):
    raw = _rows(f'"{name}",v', [list(range(1940, 2020)), _noise(80)])
    with pytest.raises(ParameterError) as err:
        parse_signal(raw, "CSV", "y.csv")
    assert "is monotone and equally spaced, as a time axis is" in str(err.value)
    assert err.value.parameters == (("time_column", "1"), ("time_column", "none"))
    carried = parse_signal(raw, "CSV", "y.csv", ReadOptions(time_column="1"))
    assert carried.time_column == 0 and carried.carried[0][0] == "1940"
    filtered = parse_signal(raw, "CSV", "y.csv", ReadOptions(time_column="none"))
    assert filtered.positions == (0, 1)


def test_a_strictly_monotone_unevenly_spaced_first_column_is_asked_too():
    years = [1940, 1945, 1950, 1951, 1953, 1960, 1970, 1971, 1990, 2000]
    with pytest.raises(ParameterError, match="is strictly monotone, as a time axis is"):
        parse_signal(_rows("Year,v", [years, _noise(10)]), "CSV", "y.csv")


def test_what_is_no_time_axis_reads_as_before():
    # a named signal column that goes up and down, or one given with --columns
    sig = parse_signal(_rows("a,b", [_noise(80, 2), _noise(80, 3)]), "CSV", "a.csv")
    assert sig.positions == (0, 1) and sig.time_column is None
    raw = _rows("Year,v", [list(range(1940, 2020)), _noise(80)])
    sig = parse_signal(raw, "CSV", "y.csv", ReadOptions(columns="v"))
    assert sig.positions == (1,)
    # a named time column, as before
    sig = parse_signal(_rows("time,v", [list(range(80)), _noise(80)]), "CSV", "t.csv")
    assert sig.time_column == 0


@pytest.mark.parametrize(
    ("header", "label", "carry", "every"),
    [
        (",time,value", "column 2 ('time')", "value", "time,value"),  # pandas' index first
        ("Sample,Elapsed [s],Temp", "column 2 ('Elapsed [s]')", "Temp", "'Elapsed [s]',Temp"),
    ],
)
def test_a_time_column_besides_the_first_is_asked(header, label, carry, every):
    raw = _rows(header, [list(range(50)), [i / 100 for i in range(50)], _noise(50)])
    with pytest.raises(ParameterError) as err:
        parse_signal(raw, "CSV", "p.csv")
    assert f"{label} is named like a time column and is monotone" in str(err.value)
    assert err.value.parameters[0] == ("columns", carry)
    sig = parse_signal(raw, "CSV", "p.csv", ReadOptions(columns=carry))
    assert sig.positions == (2,) and sig.carried[1][1] == "0.01"


def test_the_cli_asks_for_the_time_column_in_one_line(runner, tmp_path):
    src = tmp_path / "year.csv"
    src.write_bytes(_rows("Year,Value", [list(range(1940, 2020)), _noise(80)]))
    out = tmp_path / "o.csv"
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "2", "-o", str(out)])
    line = _error(result, 2)
    assert line.endswith(
        "the first column 'Year' is monotone and equally spaced, as a time axis is; carry it "
        "unchanged with --time-column 1, or filter it with --time-column none"
    )
    assert not out.exists()
    ok = runner.invoke(cli, ["diffuse", str(src), "--time", "2", "--time-column", "1"])
    assert ok.exit_code == 0 and ok.stdout.splitlines()[1].startswith("1940,")


# ---- A3: pandas' header of unnamed columns ---------------------------------------------


def test_pandas_unnamed_columns_without_the_index_are_a_header():
    raw = _rows("0,1", [_noise(30, 4), _noise(30, 5)])
    sig = parse_signal(raw, "CSV", "pd.csv")
    assert sig.header == ["0", "1"] and sig.data.shape == (30, 2)


@pytest.mark.parametrize("first", ["0", "400,450,500", "2019,2020"])
def test_a_first_row_of_whole_numbers_over_fractions_is_asked(first):
    k = first.count(",") + 1
    raw = _rows(first, [_noise(30, s) for s in range(k)])
    with pytest.raises(ParameterError) as err:
        parse_signal(raw, "CSV", "w.csv")
    assert "holds whole numbers over rows of fractions" in str(err.value)
    assert err.value.parameters == (("header", True), ("header", False))
    assert parse_signal(raw, "CSV", "w.csv", ReadOptions(header=True)).data.shape[0] == 30
    assert parse_signal(raw, "CSV", "w.csv", ReadOptions(header=False)).data.shape[0] == 31


def test_whole_numbers_in_every_row_read_as_before():
    raw = b"0,1\n1,3\n2,2\n3,5\n4,4\n"
    sig = parse_signal(raw, "CSV", "i.csv")
    assert sig.header is None and sig.data.shape[0] == 5


def test_the_cli_spells_no_header(runner, tmp_path):
    src = tmp_path / "s.csv"
    src.write_bytes(_rows("0", [_noise(30)]))
    line = _error(runner.invoke(cli, ["diffuse", str(src), "--time", "1"]), 2)
    assert line.endswith("declare it with --header or --no-header")


# ---- A6: text among the numbers of a time column --------------------------------------


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"time,v\n0,1.2\n1,1.5\n2,1.1\n3,1.7\n4,1.3\nTotal,6.8\n", 7),
        (b"time,v\n0,1.2\n1,1.5\nERR,1.1\n3,1.7\n4,1.3\n", 4),
    ],
)
def test_a_text_cell_among_time_stamps_of_numbers_is_refused(tmp_path, raw, line):
    with pytest.raises(SignalError) as err:
        parse_signal(raw, "CSV", "f.csv")
    assert f"f.csv: line {line}, column 1 ('time'): " in str(err.value)
    assert "is not a number, unlike the time column's cells before it" in str(err.value)
    src = tmp_path / "f.csv"
    src.write_bytes(raw)
    with pytest.raises(SignalError, match=f"line {line}, column 1"):  # streamed alike
        open_signal_stream(src)


def test_timestamps_and_a_given_time_column_read_as_before():
    raw = b"time,v\n2020-01-01 00:00,1.2\n2020-01-01 00:01,1.5\n2020-01-01 00:02,1.1\n"
    assert parse_signal(raw, "CSV", "d.csv").time_column == 0
    raw = b"time,v\n0,1.2\n1,1.5\nERR,1.1\n3,1.7\n"  # the user said: carry it
    assert parse_signal(raw, "CSV", "d.csv", ReadOptions(time_column="1")).time_column == 0


def test_a_number_among_timestamps_is_refused():
    raw = b"time,v\n2020-01-01,1.2\n2020-01-02,1.5\n5,1.1\n2020-01-04,1.7\n"
    with pytest.raises(SignalError, match=r"line 4, column 1 \('time'\): '5' is a number"):
        parse_signal(raw, "CSV", "d.csv")


# ---- A11: digit grouping is not a decimal comma ---------------------------------------


def test_commas_that_all_read_as_digit_grouping_are_asked():
    raw = b"time\tcounts\n0\t987\n1\t1,002\n2\t1,130\n3\t995\n4\t1,047\n"
    with pytest.raises(ParameterError) as err:
        parse_signal(raw, "CSV", "c.tsv")
    assert str(err.value).startswith(
        "c.tsv: line 3, column 2 ('counts'): '1,002': a thousands separator or a decimal comma"
    )
    assert err.value.parameters == (("decimal", ","),)
    sig = parse_signal(raw, "CSV", "c.tsv", ReadOptions(decimal=","))
    assert sig.data[1] == 1.002


@pytest.mark.parametrize(
    "cells",
    [["0,5", "1,002"], ["1,25", "2,5"], ["0,125", "1,375"], ["1234,567", "2,125"]],
)
def test_a_decimal_comma_that_another_comma_shows_reads_as_before(cells):
    raw = ("t;v\n" + "".join(f"{i};{c}\n" for i, c in enumerate(cells * 3))).encode()
    sig = parse_signal(raw, "CSV", "d.csv")
    assert sig.layout.decimal == ","


# ---- A2: a thousands separator is named as such ---------------------------------------


@pytest.mark.parametrize(
    ("raw", "options", "hint"),
    [
        (
            b"time;v\n0;1.234,5\n1;1.240,1\n",
            {},
            "'1.234,5' is not a number (a thousands separator '.' beside a decimal comma: "
            "remove the thousands separators)",
        ),
        (b"time;v\n0;1.234,5\n1;1.240,1\n", {"delimiter": ";"}, "beside a decimal comma"),
        (b"time;v\n0;1.234,5\n1;1.240,1\n", {"decimal": ","}, "beside a decimal comma"),
        (
            b'time,v\n0,"1,234.5"\n1,"1,240.1"\n',
            {"delimiter": ","},
            "'1,234.5' is not a number (a thousands separator ',' beside a decimal point: ",
        ),
        (
            b'time,v\n0,"1,234,567"\n1,"1,240,100"\n',
            {},
            "'1,234,567' is not a number (a thousands separator ','? remove the digit grouping)",
        ),
        (
            b"time\tv\n0\t1,002\n1\t987\n",
            {"decimal": "."},
            "'1,002' is not a number (a thousands separator? remove the digit grouping; "
            "a decimal comma? declare it with decimal=',')",
        ),
    ],
)
def test_a_thousands_separator_is_named_not_the_delimiter(raw, options, hint):
    with pytest.raises(SignalError) as err:
        parse_signal(raw, "CSV", "t.csv", ReadOptions(**options))
    assert hint in str(err.value)
    assert "declare it with delimiter" not in str(err.value)


def test_a_declared_delimiter_is_not_asked_for_again():
    raw = b"time,v\n0,1;5\n1,2\n"
    with pytest.raises(SignalError) as err:
        parse_signal(raw, "CSV", "t.csv", ReadOptions(delimiter=","))
    assert "delimiter" not in str(err.value)
    with pytest.raises(SignalError, match=r"is the delimiter ';'\?"):
        parse_signal(raw, "CSV", "t.csv")


# ---- A4: each channel's column, plain, in the report ----------------------------------


def test_the_report_names_each_channel_by_column_and_plain_name(runner, tmp_path):
    src = tmp_path / "n.csv"
    src.write_text('time,O\'Brien (mV),"a, b",x\n0,1,2,3\n1,2,1,4\n2,1.5,3,2\n3,2.5,1,3\n')
    args = ["diffuse", str(src), "--time", "1", "-o", str(tmp_path / "o.csv"), "--json", "-q"]
    report = json.loads(runner.invoke(cli, args).stdout)
    assert report["channel_columns"] == [
        {"column": 2, "name": "O'Brien (mV)"},
        {"column": 3, "name": "a, b"},
        {"column": 4, "name": "x"},
    ]
    assert len(report["channel_columns"]) == len(report["channels"])
    args = [*args[:2], "--columns", "x", *args[2:]]
    report = json.loads(runner.invoke(cli, args).stdout)
    assert report["channel_columns"] == [{"column": 4, "name": "x"}]


def test_without_a_header_a_channel_has_its_column_and_no_name(runner, noisy_csv, tmp_path):
    args = ["diffuse", str(noisy_csv), "--time", "1", "-o", str(tmp_path / "o.csv"), "--json"]
    report = json.loads(runner.invoke(cli, [*args, "-q"]).stdout)
    assert report["channel_columns"] == [{"column": 1, "name": None}]


# ---- A5: a time column not equally spaced is warned of --------------------------------


def _gapped(tmp_path):
    t = [*range(50), *range(500, 550)]
    src = tmp_path / "gap.csv"
    src.write_bytes(_rows("time,v", [t, _noise(100)]))
    return src


@pytest.mark.parametrize("chunks", [[], ["--chunk-size", "30"]])
def test_a_time_column_with_a_gap_is_warned_of(runner, tmp_path, chunks):
    src = _gapped(tmp_path)
    args = ["diffuse", str(src), "--time", "2", "-o", str(tmp_path / "o.csv"), *chunks]
    result = runner.invoke(cli, [*args, "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.stderr
    line = (
        f"{src}: column 1 ('time') is not equally spaced (steps 1 to 451): the filter takes the "
        "samples as equally spaced"
    )
    assert f"warning: {line}" in result.stderr
    warnings = json.loads((tmp_path / "r.json").read_text())["warnings"]
    assert any(w.startswith(line) for w in warnings)


def test_an_equally_spaced_or_rounded_time_column_is_not_warned_of(tmp_path):
    for t in ([i / 10 for i in range(40)], [i // 2 for i in range(40)]):
        sig = parse_signal(_rows("time,v", [t, _noise(40)]), "CSV", "t.csv")
        assert sig.time_column == 0 and sig.notes == ()
    assert parse_signal(_rows("time,v", [[0, 1, 2, 10], _noise(4)]), "CSV", "g.csv").notes


# ---- A9: a workbook, an archive, UTF-16 without a byte-order mark, named as such --------


def _xlsx() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("xl/workbook.xml", "<w/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (_xlsx(), "an Excel workbook (.xlsx, a zip archive), not CSV text; save it as CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "an Excel 97-2003 workbook (.xls)"),
        (gzip.compress(b"t,v\n0,1\n"), "gzip-compressed, not CSV"),
        ("t,v\n0,1.5\n1,2.5\n".encode("utf-16-le"), "iconv -f utf-16le -t utf-8"),
        ("t,v\n0,1.5\n1,2.5\n".encode("utf-16-be"), "iconv -f utf-16be -t utf-8"),
    ],
)
def test_a_file_that_is_no_csv_text_is_named(raw, said):
    with pytest.raises(SignalError) as err:
        parse_signal(raw, "CSV", "e.csv")
    assert str(err.value).startswith("e.csv: ") and said in str(err.value), str(err.value)


@pytest.mark.parametrize(("ext", "said"), [(".xlsx", "workbook"), (".gz", "zcat FILE |")])
def test_a_workbook_or_compressed_extension_is_named(runner, tmp_path, ext, said):
    src = tmp_path / f"in.csv{ext}"
    src.write_bytes(b"t,v\n0,1\n")
    line = _error(runner.invoke(cli, ["diffuse", str(src), "--time", "1"]), 1)
    assert said in line and "cannot tell the format" not in line


# ---- A12: a quoted cell with a line break in it is named --------------------------------


@pytest.mark.parametrize(
    ("raw", "lines", "options"),
    [
        (b'time,"Temp\n[degC]",v\n0,1.2,3\n1,1.5,2\n2,1.1,4\n', (1, 2), {}),
        (
            b'time,note,v\n0,"ok",3\n1,"a, b",2\n2,"line\nbreak",4\n3,x,3\n',
            (4, 5),
            {"columns": "v"},
        ),
        (
            b"t,v\n" + b"".join(b"%d,%d\n" % (i, i % 3) for i in range(100)) + b'100,"a\nb",3\n',
            (102, 103),
            {},
        ),
    ],
)
def test_a_quoted_cell_with_a_line_break_is_named(tmp_path, raw, lines, options):
    said = (
        f"q.csv: line {lines[0]}: a quoted cell has a line break in it (lines {lines[0]} to "
        f"{lines[1]}), which resdenoise does not read; remove the line break from the cell"
    )
    with pytest.raises(SignalError) as err:
        parse_signal(raw, "CSV", "q.csv", ReadOptions(**options))
    assert str(err.value) == said
    src = tmp_path / "q.csv"
    src.write_bytes(raw)
    with pytest.raises(SignalError, match="a quoted cell has a line break"):  # streamed alike
        open_signal_stream(src, options=ReadOptions(**options))


def test_a_quote_inside_a_cell_reads_as_before():
    raw = b'time,size,v\n0,5",3\n1,6",2\n2,7",4\n'
    assert parse_signal(raw, "CSV", "i.csv", ReadOptions(columns="v")).carried[1] == [
        '5"',
        '6"',
        '7"',
    ]


# ---- A10: a wide file's columns by a range, and its names counted, not all listed -----


def _wide(k: int = 30, n: int = 40) -> bytes:
    names = ["time", *(f"ch{i}" for i in range(k))]
    cols = [list(range(n)), *(_noise(n, s) for s in range(k))]
    return _rows(",".join(names), cols)


def test_columns_takes_a_range_of_numbers():
    sig = parse_signal(_wide(), "CSV", "w.csv", ReadOptions(columns="2-31"))
    assert sig.positions == tuple(range(1, 31)) and sig.time_column == 0
    sig = parse_signal(_wide(), "CSV", "w.csv", ReadOptions(columns="3-4, ch29"))
    assert sig.positions == (2, 3, 30)
    with pytest.raises(ParameterError, match=r"'2-32' is not a range of columns 1 to 31"):
        parse_signal(_wide(), "CSV", "w.csv", ReadOptions(columns="2-32"))
    named = b"a,1-2,b\n" + b"".join(b"%d,%d,%d\n" % (i, i % 3, i % 5) for i in range(9))
    assert parse_signal(named, "CSV", "n.csv", ReadOptions(columns="1-2")).positions == (1,)


def test_a_wide_files_names_are_counted_in_a_message():
    with pytest.raises(ParameterError) as err:
        parse_signal(_wide(), "CSV", "w.csv", ReadOptions(columns="nope"))
    assert str(err.value).endswith(
        "the columns are 'time', 'ch0', 'ch1', 'ch2', 'ch3', 'ch4', 'ch5', 'ch6', 'ch7', 'ch8', "
        "... and 21 more (numbers 1 to 31)"
    )


# ---- A8: an integer float64 cannot hold is warned of ------------------------------------


def test_an_integer_beyond_float64_is_warned_of(tmp_path):
    raw = b"time,a,b\n0,0.1,1\n1,0.3,2\n2,0.2,3\n3,9007199254740993,2\n4,0.1,7\n5,0.2,8\n"
    said = (
        "big.csv: line 5, column 2 ('a'): 9007199254740993 is not exactly a float64 number "
        "(an integer beyond 2**53); it is filtered as 9007199254740992.0"
    )
    assert parse_signal(raw, "CSV", "big.csv").notes == (said,)
    src = tmp_path / "big.csv"
    src.write_bytes(raw)
    assert open_signal_stream(src).template.notes == (f"{src}: {said.split(': ', 1)[1]}",)
    assert parse_signal(raw, "CSV", "big.csv", ReadOptions(columns="b")).notes == ()  # carried
    held = raw.replace(b"9007199254740993", b"9007199254740992")  # float64 holds it
    assert parse_signal(held, "CSV", "big.csv").notes == ()


# ---- A14: a table's column that is not numbers is named ---------------------------------


class _Frame:
    """A table as pandas gives one: ``dtypes`` per column, its values as objects."""

    dtypes = {"ts": np.dtype("datetime64[ns]"), "v": np.dtype("float64")}

    def __array__(self, dtype=None, copy=None):
        import datetime  # as pandas' Timestamps: float() refuses them

        return np.array([[datetime.datetime(2024, 1, 1), 1.5]] * 5, dtype=object)


def test_a_tables_column_of_dates_is_named():
    from resdenoise import diffuse

    with pytest.raises(SignalError) as err:
        diffuse(_Frame(), "perona-malik", time=1)
    assert str(err.value) == (
        "the signal: column 'ts' is datetime64[ns], not numbers; pass the columns of numbers, ['v']"
    )


# ---- A7: numbers float64 cannot hold are said in units it can --------------------------


def test_a_sure_change_beyond_float64_is_said_in_the_scaled_units():
    from resdenoise.automatic import _no_gain

    assert _no_gain("x", -3.0, 2.0, -600) == (  # a signal of 1e300: 4**600 times 3 is inf
        "x lowers SURE by 3 per sample, not more than 2 standard errors of 2 each (4) "
        "(of the signal times 2**600: float64 holds no other)"
    )
    assert _no_gain("x", -3.0, 2.0, 600).endswith(
        "(of the signal times 2**-600: float64 holds no other)"
    )
    assert "inf" not in _no_gain("x", -3.0, 2.0, -600) and "-0" not in _no_gain("x", -3.0, 2.0, 600)
    assert _no_gain("x", -3.0, 2.0, 10) == _no_gain("x", -3.0 * 4.0**10, 2.0 * 4.0**10)


def test_levels_apart_beyond_float64_are_said_by_their_logarithms():
    from resdenoise.split import ratio_said as _times

    assert _times(1e300, 1e-300) == "1e+600x"
    assert _times(3.0, 2.0) == "1.5x"


# ---- A18: one column of decimal commas is not two columns of whole numbers -------------


def test_lines_of_whole_numbers_split_by_a_comma_with_a_leading_zero_are_asked():
    raw = b"20,04\n20,06\n20,24\n19,98\n20,4\n"
    with pytest.raises(ParameterError) as err:
        parse_signal(raw, "CSV", "eu.csv")
    assert str(err.value) == (
        "eu.csv: line 1 ('20,04'): two columns of whole numbers, or one column with a decimal "
        "comma ('04' after the comma has a leading zero)? declare decimal=',' for one column, "
        "or delimiter=',' for two"
    )
    one = parse_signal(raw, "CSV", "eu.csv", ReadOptions(decimal=","))
    assert one.data.tolist() == [20.04, 20.06, 20.24, 19.98, 20.4]
    two = parse_signal(raw, "CSV", "eu.csv", ReadOptions(delimiter=","))
    assert two.data.shape == (5, 2)
    counts = b"0,5\n1,3\n2,7\n3,12\n"  # no leading zero: two columns, as before
    assert parse_signal(counts, "CSV", "c.csv").data.shape[0] == 4


def test_a_header_over_decimal_commas_names_the_decimal_option():
    raw = b"Temperatur\n20,04\n20,06\n20,24\n"
    with pytest.raises(SignalError) as err:
        parse_signal(raw, "CSV", "eu.csv")
    assert str(err.value).endswith(
        "(delimiter ','; a decimal comma in one column? declare it with decimal=',')"
    )
    assert err.value.parameters == (("decimal", ","),)
    assert parse_signal(raw, "CSV", "eu.csv", ReadOptions(decimal=",")).data[0] == 20.04
