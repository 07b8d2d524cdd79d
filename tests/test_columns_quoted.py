"""A column whose name holds a comma (audit9b, defect 3): ``columns`` takes the name quoted
as CSV quotes it, and a name split at its comma is answered with its number and the
quoted value (was: 'no column '"a'' or 'no column 'a'', and no spelling reached it)."""

from __future__ import annotations

import shlex

import pytest
from test_audit_messages import _error

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io import ReadOptions, parse_signal

RAW = b'time,"a,b",c\n0,1.0,2.0\n1,3.0,4.0\n2,2.0,1.0\n'


@pytest.mark.parametrize(
    ("columns", "positions"),
    [
        ('"a,b"', (1,)),
        ('"a,b",c', (1, 2)),
        ('c, "a,b" ', (1, 2)),  # blanks around a quoted name, as around a plain one
        ('"A,B"', (1,)),  # case apart, as for a plain name
        ("c", (2,)),
        ("2,3", (1, 2)),
    ],
)
def test_columns_takes_a_name_quoted_as_csv_quotes_it(columns, positions):
    sig = parse_signal(RAW, "CSV", "q.csv", ReadOptions(columns=columns))
    assert sig.positions == positions


def test_time_column_takes_a_quoted_name_and_a_bare_one():
    for name in ('"a,b"', "a,b"):
        sig = parse_signal(RAW, "CSV", "q.csv", ReadOptions(time_column=name))
        assert sig.positions == (0, 2), name


@pytest.mark.parametrize(
    ("columns", "value"),
    [
        ("a,b", '"a,b"'),
        ("c,a,b", 'c,"a,b"'),
        ("A, B,c", '"a,b",c'),
    ],
)
def test_a_name_split_at_its_comma_gets_its_number_and_the_quoted_value(columns, value):
    with pytest.raises(ParameterError) as err:
        parse_signal(RAW, "CSV", "q.csv", ReadOptions(columns=columns))
    assert str(err.value).endswith(
        f"(column 2) has a comma in its name: give its number (2) or quote it: columns={value!r}"
    ), str(err.value)
    assert err.value.parameters == (("columns", value),)
    sig = parse_signal(RAW, "CSV", "q.csv", ReadOptions(columns=value))  # the value works
    assert 1 in sig.positions


def test_a_name_not_in_the_file_is_still_said_with_the_columns():
    with pytest.raises(ParameterError, match=r"no column 'x'; the columns are 'time', 'a,b', 'c'$"):
        parse_signal(RAW, "CSV", "q.csv", ReadOptions(columns="x,a,b"))


def test_the_cli_says_the_quoted_value_and_it_works_as_a_shell_splits_it(runner, tmp_path):
    src = tmp_path / "q.csv"
    src.write_bytes(RAW)
    out = tmp_path / "o.csv"
    args = ["diffuse", str(src), "--steps", "1", "--lambda", "1", "-o", str(out)]
    line = _error(runner.invoke(cli, [*args, "--columns", "a,b"]), 2)
    assert line == (
        f"Error: {src}: columns: no column 'a'; 'a,b' (column 2) has a comma in its name: "
        """give its number (2) or quote it: --columns '"a,b"'"""
    ), line
    assert not out.exists()
    for given in (shlex.split(line.split("quote it: ")[-1]), ["--columns", "2"]):
        result = runner.invoke(cli, [*args, *given])
        assert result.exit_code == 0, result.stderr
        assert out.read_text().splitlines()[0] == 'time,"a,b",c'


def test_the_text_column_hint_quotes_a_name_with_a_comma(runner, tmp_path):
    """Was: the hint gave numbers where a name held a comma; now the name, quoted for
    ``columns`` and for a shell, and the hint as a shell splits it works."""
    src = tmp_path / "t.csv"
    src.write_text('time,"a,b",c d,note\n0,1,2,x\n1,2,3,y\n2,3,1,z\n3,1,2,w\n')
    out = tmp_path / "o.csv"
    args = ["diffuse", str(src), "--steps", "1", "-o", str(out)]
    line = _error(runner.invoke(cli, args), 1)
    assert line.endswith("""name the columns to filter with --columns '"a,b",c d'"""), line
    result = runner.invoke(cli, [*args, *shlex.split(line.split("with ")[-1])])
    assert result.exit_code == 0, result.stderr


def test_join_columns_round_trips_through_columns():
    from resdenoise.io.options import join_columns

    names = ["a,b", 'q"r', "s t", "plain"]
    assert join_columns(names) == '"a,b","q""r",s t,plain'
    header = ",".join(join_columns([n]) for n in names)
    raw = f"{header}\n1,2,3,4\n2,3,4,5\n".encode()
    sig = parse_signal(raw, "CSV", "j.csv", ReadOptions(columns=join_columns(names[:3])))
    assert sig.positions == (0, 1, 2)
