"""Data-integrity defects an audit confirmed (audit12b): a time column with repeated
stamps filtered, lossless or float64 samples cut to 16 bits, comments among the rows
dropped, a float32 report that depended on streaming, .tsv/.opus outputs of another
format, and pandas' default CSV refused with advice that would corrupt it."""

from __future__ import annotations

import pytest
from test_audit_messages import _error

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io import ReadOptions, open_signal_stream, parse_signal

STEPS = ["--steps", "3"]


def _rows(name: str, stamps, values) -> bytes:
    return (
        f"{name},a\n" + "".join(f"{t},{v!r}\n" for t, v in zip(stamps, values, strict=True))
    ).encode()


# D2. A first column named like time whose stamps never decrease but repeat was filtered as
# a signal, silently: carried as time; a named one that goes up and down is refused


@pytest.mark.parametrize(
    "stamps",
    [
        [f"{i // 4 * 0.001:.3f}" for i in range(40)],  # 4 kHz, stamps of 1 ms resolution
        [str(1765000000000000000 + 100 * i) for i in range(40)],  # ns: ties in float64
        [f"{(39 - i) // 3}" for i in range(40)],  # non-increasing, with ties
    ],
)
def test_a_named_time_column_with_repeated_stamps_is_carried(tmp_path, rng, stamps):
    raw = _rows("time", stamps, rng.standard_normal(40).tolist())
    assert parse_signal(raw, "CSV", "x.csv").time_column == 0
    path = tmp_path / "x.csv"
    path.write_bytes(raw)
    assert open_signal_stream(path).template.time_column == 0  # the blocks door alike


def test_a_named_time_column_that_goes_up_and_down_is_refused(runner, tmp_path, rng):
    raw = _rows("t", [0, 1, 2, 1, 3, 4], rng.standard_normal(6).tolist())
    with pytest.raises(ParameterError, match=r"named like a time column but its values go up"):
        parse_signal(raw, "CSV", "x.csv")
    path, out = tmp_path / "x.csv", tmp_path / "o.csv"
    path.write_bytes(raw)
    line = _error(runner.invoke(cli, ["diffuse", str(path), *STEPS, "-o", str(out)]), 2)
    assert "--time-column 1" in line and "--time-column none" in line, line
    assert not out.exists()
    for say, carried in (("1", 0), ("none", None)):
        assert parse_signal(raw, "CSV", "x", ReadOptions(time_column=say)).time_column == carried
