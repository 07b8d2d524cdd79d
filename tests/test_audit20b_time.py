"""A one-letter first column is time only as an equally spaced clock or index (audit20b A20b-24).

``T`` is the usual symbol of a temperature, ``N`` of a force or a count: a heating log whose
temperature, logged to 0.1 degC, never decreases was taken for a time column and carried
through unfiltered, silently.  Such a column is now carried only where its values are a
strictly monotone, equally spaced axis (a clock, a sample index); else the user is asked.
Lower-case ``t`` and the spelled-out names (``time``, ``index``, ``sample``, ...) are as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io import ReadOptions, open_signal_stream, parse_signal

RNG = np.random.default_rng(20)
#: a heating log: the temperature rises slowly, logged to 0.1 degC (ties), the humidity is noise
HEAT = np.round(20 + 0.01 * np.arange(300), 1)
HUMIDITY = np.round(45 + RNG.standard_normal(300), 1)


def _csv(header: str, *columns) -> bytes:
    rows = "".join(",".join(f"{v:g}" for v in row) + "\n" for row in zip(*columns, strict=True))
    return (header + "\n" + rows).encode()


@pytest.mark.parametrize("name", ["T [°C]", "T", "N", "K", "n", "i", "T_s"])
def test_a_one_letter_column_not_a_clock_is_asked(name):
    raw = _csv(f"{name},RH [%]", HEAT, HUMIDITY)
    with pytest.raises(
        ParameterError, match=r"one-letter name .* time_column='1'.* time_column='none'"
    ):
        parse_signal(raw, "CSV", "heat.csv")
    said = parse_signal(raw, "CSV", "heat.csv", ReadOptions(time_column="none"))
    assert said.time_column is None and said.data.shape == (300, 2)
    kept = parse_signal(raw, "CSV", "heat.csv", ReadOptions(time_column="1"))
    assert kept.time_column == 0 and kept.data.size == 300


def test_the_question_is_asked_of_a_streamed_file_too(tmp_path):
    path = tmp_path / "heat.csv"
    path.write_bytes(_csv("T [°C],RH [%]", HEAT, HUMIDITY))
    with pytest.raises(ParameterError, match="one-letter name"):
        open_signal_stream(str(path))


@pytest.mark.parametrize("name", ["n", "N", "i", "k", "T"])
def test_a_one_letter_clock_or_index_is_carried(name):
    raw = _csv(f"{name},x", np.arange(300), RNG.standard_normal(300))
    assert parse_signal(raw, "CSV", "x.csv").time_column == 0


@pytest.mark.parametrize("name", ["t", "t [s]", "time", "Time", "index"])
def test_a_spelled_out_time_name_is_carried_as_before(name):
    """Monotone with ties and uneven steps: a time column named so is carried (warned of
    its uneven spacing elsewhere), as before."""
    t = np.cumsum(RNG.integers(0, 3, 300))
    assert parse_signal(_csv(f"{name},x", t, HUMIDITY), "CSV", "x.csv").time_column == 0


def test_a_one_letter_column_beside_the_time_column_is_filtered(runner, tmp_path):
    """``time,T,RH``: the monotone temperature was a second time-like column and the run was
    refused with a question; it is a quantity, filtered with the humidity."""
    path = tmp_path / "log.csv"
    path.write_bytes(_csv("time,T,RH", np.arange(300), HEAT, HUMIDITY))
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["diffuse", str(path), "--time", "5", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    header, *rows = out.read_text().splitlines()
    assert header == "time,T,RH"
    written = np.array([[float(c) for c in r.split(",")] for r in rows])
    np.testing.assert_array_equal(written[:, 0], np.arange(300))  # time carried
    assert not np.array_equal(written[:, 1], HEAT)  # the temperature filtered


def test_the_heating_log_is_refused_on_the_command_line(runner, tmp_path):
    path = tmp_path / "heat.csv"
    path.write_bytes(_csv("T [°C],RH [%]", HEAT, HUMIDITY))
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["diffuse", str(path), "--time", "5", "-o", str(out)])
    assert result.exit_code == 2
    err = result.stderr
    assert "'T [°C]'" in err and "--time-column none" in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("number", ["3", "0", "17"])
def test_a_column_number_out_of_range_says_the_range(number):
    """A20b-16: ``--columns 3`` of a two-column file was 'no column '3'; the columns are
    'pressure', 'flow'', as if it were a name."""
    raw = _csv("pressure,flow", HUMIDITY, HEAT)
    with pytest.raises(ParameterError) as refused:
        parse_signal(raw, "CSV", "two.csv", ReadOptions(columns=number))
    assert str(refused.value) == (
        f"two.csv: columns: no column {number}; the file has 2 columns (1 'pressure', "
        "2 'flow'), numbered from 1"
    )


def _stamped(seconds, *, zone: str = "") -> bytes:
    start = datetime(2026, 12, 1, 10, 0, 0)
    rows = (
        f"{(start + timedelta(seconds=int(s))).isoformat(sep=' ')}{zone},{v:.3f}\n"
        for s, v in zip(seconds, RNG.standard_normal(len(seconds)), strict=True)
    )
    return ("timestamp,value\n" + "".join(rows)).encode()


@pytest.mark.parametrize("zone", ["", "+01:00"])
def test_a_gap_in_text_stamps_is_warned_of_as_in_numbers(zone):
    """A20b-14: ISO stamps with 50 s missing among 1 s steps were carried without a word
    (the same gap in a numeric time column is warned of)."""
    gapped = parse_signal(_stamped([*range(100), *range(150, 300)], zone=zone), "CSV", "g.csv")
    assert gapped.time_column == 0
    assert gapped.notes == (
        "g.csv: column 1 ('timestamp') is not equally spaced (steps 1 s to 51 s): the filter "
        "takes the samples as equally spaced (its time and blocks count samples, not the "
        "column's units); resample first, or filter the segments apart",
    )
    assert parse_signal(_stamped(range(300), zone=zone), "CSV", "e.csv").notes == ()


def test_stamps_that_are_not_iso_are_carried_without_a_word():
    raw = b"timestamp,value\n" + b"".join(b"day %d,%d\n" % (d, d % 7) for d in (1, 2, 9, 10))
    sig = parse_signal(raw, "CSV", "d.csv")
    assert sig.time_column == 0 and sig.notes == ()


def test_a_gap_in_text_stamps_is_warned_of_in_a_stream(runner, tmp_path):
    path = tmp_path / "g.csv"
    path.write_bytes(_stamped([*range(100), *range(150, 300)]))
    args = [
        "diffuse",
        str(path),
        "--time",
        "3",
        "--chunk-size",
        "40",
        "-o",
        str(tmp_path / "o.csv"),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert "is not equally spaced (steps 1 s to 51 s)" in result.stderr
