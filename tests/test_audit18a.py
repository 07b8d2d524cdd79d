"""What a sensor engineer's audit found (audit18a): a log appended to while it is
replaced in place keeps its new rows (A5)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from resdenoise.errors import SignalError
from resdenoise.pipeline import run_file
from resdenoise.plans import planner


def _log(path, n: int = 400) -> bytes:
    rng = np.random.default_rng(3)
    counts = np.round(2048 + 300 * np.sin(np.arange(n) / 40) + rng.normal(0, 4, n))
    path.write_text("t,adc\n" + "".join(f"{i},{int(v)}\n" for i, v in enumerate(counts)))
    return path.read_bytes()


# A5: --in-place over a log that grows during the run


@pytest.mark.parametrize("chunk", [0, 100], ids=["whole", "streamed"])
def test_a_log_appended_to_during_an_in_place_run_is_not_replaced(tmp_path, chunk):
    """Before: the rows appended while the file was filtered were lost (the whole file's
    replacement renamed over it), exit 0.  A streamed file was refused already (its second
    pass sees the change); the check before the rename is the same line for both."""
    from resdenoise.pipeline import RunOptions

    src = tmp_path / "log.csv"
    _log(src)
    base = planner("diffuse", "perona-malik", lam=20.0, steps=4)

    def appending(x, **named):  # the logger writes while the run plans and filters
        with open(src, "a") as fh:
            fh.write("400,2048\n401,2049\n")
        return base(x, **named)

    grown = None
    with pytest.raises(SignalError, match="the file changed while it was (filtered|read)") as info:
        try:
            run_file(appending, str(src), str(src), in_place=True, run=RunOptions(chunk_size=chunk))
        finally:
            grown = src.read_bytes()
    assert info.value.exit_code == 1
    assert grown.endswith(b"400,2048\n401,2049\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_an_unchanged_log_is_replaced_in_place(tmp_path):
    src = tmp_path / "log.csv"
    before = _log(src)
    run_file(planner("diffuse", "perona-malik", lam=20.0, steps=4), str(src), in_place=True)
    assert src.read_bytes() != before


# A1: a CSV log cut in the middle of its last row


@pytest.mark.parametrize("chunk", ["0", "100"], ids=["whole", "streamed"])
def test_a_log_cut_in_its_last_row_is_warned_of(runner, tmp_path, chunk):
    """Before: '...,2541' cut to '...,25' was filtered as a sample 25, exit 0, no word."""
    import json

    from resdenoise.cli import cli

    src = tmp_path / "cut.csv"
    text = _log(src).decode()
    src.write_text(text[: text.rindex("\n") - 2])  # the last row's last digits cut off
    cut = src.read_text().splitlines()[-1]
    report = tmp_path / "r.json"
    args = ["diffuse", str(src), "--time", "2", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [*args, "--report", str(report), "--chunk-size", chunk])
    assert result.exit_code == 0, result.stderr
    line = f"{src}: line 401 ('{cut}') ends the file without a line end: a row cut short"
    assert line in result.stderr
    assert any(w.startswith(line) for w in json.loads(report.read_text())["warnings"])


@pytest.mark.parametrize(
    "end", ["\n", "\r\n", "\n# end", "\n\n"], ids=["lf", "crlf", "comment", "blank"]
)
def test_a_log_ending_in_a_line_end_is_not_warned_of(runner, tmp_path, end):
    from resdenoise.cli import cli

    src = tmp_path / "log.csv"
    text = _log(src).decode()
    src.write_bytes(
        (text.rstrip("\n").replace("\n", end if end == "\r\n" else "\n") + end).encode()
    )
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "2", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0 and "line end" not in result.stderr, result.stderr


# A7: -o /dev/null --report /dev/null discards both (was: refused as one file, exit 2)


def test_output_and_report_both_to_the_null_device(runner, tmp_path):
    from resdenoise.cli import cli

    src = tmp_path / "log.csv"
    _log(src)
    result = runner.invoke(
        cli, ["diffuse", str(src), "--time", "2", "-o", os.devnull, "--report", os.devnull]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]
    same = tmp_path / "o.csv"  # one file: still refused
    result = runner.invoke(
        cli, ["diffuse", str(src), "--time", "2", "-o", str(same), "--report", str(same)]
    )
    assert result.exit_code == 2 and "name the same file" in result.stderr


# A6: whole ADC counts in, whole numbers out where a value is whole


@pytest.mark.parametrize("chunk", ["0", "100"], ids=["whole", "streamed"])
def test_whole_counts_are_written_as_whole_numbers(runner, tmp_path, chunk):
    """Before: a value the run did not change came back as ``2048.0``, a column passed
    through unchanged ``0`` as ``0.0``."""
    from resdenoise.cli import cli

    src = tmp_path / "log.csv"
    rows = [f"{i},{2048 + i * 7 % 5 if i < 200 else 4095},{i % 2},{i}.5" for i in range(400)]
    src.write_text("t,adc,flag,x\n" + "\n".join(rows) + "\n")
    out = tmp_path / "o.csv"
    args = ["diffuse", str(src), "--time", "2", "--lambda", "20", "--chunk-size", chunk]
    result = runner.invoke(cli, [*args, "--columns", "adc,x", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    assert (
        lines[1].startswith("0,20")
        and lines[1].split(",")[2] == "0"
        and "." in lines[1].split(",")[3]
    )  # x: fractions
    assert lines[-1].startswith("399,4095,1,")
    cells = [line.split(",")[1] for line in lines[1:]]
    assert all("." not in c for c in cells if float(c) == int(float(c)))
    assert any("." in c for c in cells)  # the edge's filtered values: as before


def test_fractions_stay_as_written_by_repr(runner, tmp_path):
    from resdenoise.cli import cli

    src = tmp_path / "v.csv"
    src.write_text("v\n" + "\n".join(["2048.0"] * 50 + ["3"] * 50) + "\n")
    out = tmp_path / "o.csv"
    result = runner.invoke(
        cli, ["diffuse", str(src), "--steps", "1", "--lambda", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines()[1] == "2048.0"  # the input had fractions' form


# A12: a headerless index or stamp column with a gap is asked about, not filtered


@pytest.mark.parametrize("chunk", ["0", "100"], ids=["whole", "streamed"])
@pytest.mark.parametrize("kind", ["lost-sample", "jitter"])
def test_a_headerless_index_with_a_gap_is_asked(runner, tmp_path, chunk, kind):
    """Before: filtered as a signal (1233 -> 1233.437, an index that never was), exit 0."""
    from resdenoise.cli import cli

    rng = np.random.default_rng(4)
    if kind == "lost-sample":
        first = [i for i in range(401) if i != 123]
    else:
        first = [10 * i + int(rng.integers(0, 3)) for i in range(400)]
    adc = np.round(2048 + 40 * rng.standard_normal(len(first))).astype(int)
    src = tmp_path / "log.csv"
    src.write_text("".join(f"{t},{v}\n" for t, v in zip(first, adc, strict=True)))
    out = tmp_path / "o.csv"
    args = ["diffuse", str(src), "--time", "2", "--chunk-size", chunk, "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: {src}: column 1 (no header) is strictly monotone, as a time axis is, but not "
        "equally spaced (a sample index with a lost sample, time stamps with jitter?); carry "
        "it unchanged with --time-column 1, or filter it with --time-column none"
    ]
    assert not out.exists()
    result = runner.invoke(cli, [*args, "--time-column", "1"])
    assert result.exit_code == 0, result.stderr
    assert [line.split(",")[0] for line in out.read_text().splitlines()] == list(map(str, first))


# A10: a log whose tail is NUL bytes (power loss, preallocation) is told so


@pytest.mark.parametrize("chunk", ["0", "100"], ids=["whole", "streamed"])
@pytest.mark.parametrize("cut", [0, 3], ids=["at-a-line-start", "mid-line"])
def test_a_nul_filled_tail_is_named(runner, tmp_path, chunk, cut):
    """Before: 'binary data (a NUL byte); ... or give an audio file a .wav/.flac extension'."""
    from resdenoise.cli import cli

    src = tmp_path / "log.csv"
    text = _log(src)
    src.write_bytes(text[: len(text) - cut] + b"\x00" * 4096)
    args = ["diffuse", str(src), "--time", "2", "--chunk-size", chunk]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv")])
    line = _error_line(result, 1)
    assert f"{src}: line {402 if cut == 0 else 401}: the file ends in {4096} NUL bytes" in line
    assert "tr -d '\\000' < in.csv > fixed.csv" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_nul_bytes_followed_by_text_are_binary_data(runner, tmp_path):
    from resdenoise.cli import cli

    src = tmp_path / "log.csv"
    src.write_bytes(_log(src) + b"\x00" * 10 + b"400,2048\n")
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "2", "-o", str(tmp_path / "o.csv")])
    assert "binary data (a NUL byte)" in _error_line(result, 1)


def _error_line(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# A8: a float WAV on a large offset run in float32 is warned of


@pytest.mark.parametrize("chunk", ["0", "20000"], ids=["whole", "streamed"])
def test_a_float_log_on_an_offset_run_in_float32_is_warned_of(runner, tmp_path, chunk):
    """Before: no word; the float32 run's error grew with the blocks at the offset's step."""
    import soundfile

    from resdenoise.cli import cli

    t = np.arange(50000)
    rng = np.random.default_rng(12)
    press = 101325 + 200 * np.sin(2 * np.pi * t / 50000) + rng.normal(0, 0.5, t.size)
    src = tmp_path / "press.wav"
    soundfile.write(str(src), press.astype(np.float32), 100, subtype="FLOAT")
    args = ["diffuse", str(src), "--steps", "4", "--lambda", "5", "--chunk-size", chunk]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.stderr
    assert f"{src}: the samples sit on an offset of 101325" in result.stderr
    assert "use --dtype float64" in result.stderr
    for dtype in ("float64", "float32"):  # asked for: no warning
        result = runner.invoke(cli, [*args, "--dtype", dtype, "-o", str(tmp_path / "o.wav")])
        assert result.exit_code == 0 and "sit on an offset" not in result.stderr, result.stderr
    soundfile.write(str(src), (press - 101325).astype(np.float32), 100, subtype="FLOAT")
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.wav")])  # centred: none
    assert result.exit_code == 0 and "sit on an offset" not in result.stderr, result.stderr
