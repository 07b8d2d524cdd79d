"""Data-integrity defects an audit confirmed (audit12b): a time column with repeated
stamps filtered, lossless or float64 samples cut to 16 bits, comments among the rows
dropped, a float32 report that depended on streaming, .tsv/.opus outputs of another
format, and pandas' default CSV refused with advice that would corrupt it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from test_audit_messages import _error

from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io import ReadOptions, open_signal_stream, parse_signal, read_signal, write_signal

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
    picked = parse_signal(raw, "CSV", "x", ReadOptions(columns="a"))  # carried as not picked
    assert picked.positions == (1,) and list(picked.carried) == [0]


# D1, D4. "No comparable subtype" (a lossless ALAC codec, or a CSV's float64 numbers) was
# taken as "held by anything": written as the format's default PCM_16, nothing said


def _run_to(runner, tmp_path, src, name):
    out, report = tmp_path / name, tmp_path / f"{name}.json"
    args = ["diffuse", str(src), *STEPS, "-o", str(out), "--report", str(report)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    return soundfile.info(str(out)).subtype, json.loads(report.read_text()), result.stderr


@pytest.mark.parametrize(
    ("alac", "name", "subtype", "rounded"),
    [
        ("ALAC_24", "o.wav", "PCM_24", False),
        ("ALAC_32", "o.wav", "PCM_32", False),
        ("ALAC_20", "o.flac", "PCM_24", False),
        ("ALAC_24", "o.flac", "PCM_24", False),
        ("ALAC_32", "o.flac", "PCM_24", True),
    ],
)
def test_lossless_alac_keeps_its_bits_in_another_format(
    runner, tmp_path, rng, alac, name, subtype, rounded
):
    src = tmp_path / "rec.caf"
    x = 0.5 * np.sign(np.sin(np.arange(4000) / 50)) + 0.05 * rng.standard_normal(4000)
    soundfile.write(str(src), x, 48000, subtype=alac)
    got, report, stderr = _run_to(runner, tmp_path, src, name)
    assert got == subtype == report["output_info"]["subtype"]
    said = f"holds the input's {alac} samples at most as PCM_24"
    assert (said in stderr) == rounded == (said in " ".join(report.get("warnings", [])))


def test_audio_from_a_csv_written_as_flac_is_24_bit_and_says_so(runner, tmp_path, rng):
    src = tmp_path / "s.csv"
    x = 0.4 * np.sign(np.sin(np.arange(4000) / 50)) + 0.03 * rng.standard_normal(4000)
    src.write_text("# samplerate: 48000\nv\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    got, report, stderr = _run_to(runner, tmp_path, src, "o.flac")
    assert got == "PCM_24" == report["output_info"]["subtype"]
    assert "holds the input's float64 values at most as PCM_24" in stderr
    assert report["warnings"] and "rounded to 24-bit integers" in report["warnings"][0]
    got, report, stderr = _run_to(runner, tmp_path, src, "o.wav")  # FLOAT, as documented
    assert got == "FLOAT" and "warnings" not in report and "holds" not in stderr


# D7. '#' comment lines after the header, among the rows and at the end were dropped from
# the output, silently: written back where they were, whole or streamed alike


def _commented(path, rows: int, every: int, newline: str = "\n") -> list[str]:
    rng = np.random.default_rng(7)
    x = np.sign(np.sin(np.arange(rows) / 10)) + 0.1 * rng.standard_normal(rows)
    lines = ["# head comment", "t,v", "  # units: s, volt (after the header)"]
    for i, v in enumerate(x.tolist()):
        if i and i % every == 0:
            lines.append(f"# mark {i}")
        lines.append(f"{i},{v!r}")
    lines.append("# end of log")
    path.write_bytes((newline.join(lines) + newline).encode())
    return lines


def _not_rows(text: str) -> list[tuple[int, str]]:
    return [(i, ln) for i, ln in enumerate(text.splitlines()) if not ln[:1].isdigit()]


@pytest.mark.parametrize(
    ("rows", "every", "newline", "chunks"),
    [(300, 100, "\n", ["--chunk-size", "70"]), (70000, 997, "\r\n", ["--chunk-size", "9000"])],
)
def test_comment_lines_among_the_rows_are_written_where_they_were(
    runner, tmp_path, rows, every, newline, chunks
):
    src = tmp_path / "cm.csv"
    lines = _commented(src, rows, every, newline)  # 70000 rows: over 1 MiB, several batches
    outs = []
    for name, how in (("w.csv", ["--chunk-size", "0"]), ("c.csv", chunks), ("d.csv", [])):
        out = tmp_path / name
        result = runner.invoke(cli, ["diffuse", str(src), *STEPS, "-q", *how, "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    text = outs[0].decode()
    assert _not_rows(text) == _not_rows("\n".join(lines))
    assert len(text.split(newline)) == len(lines) + 1


def test_the_library_writes_a_csv_signal_back_with_its_comments(tmp_path):
    src, out = tmp_path / "cm.csv", tmp_path / "o.csv"
    lines = _commented(src, 50, 20)
    write_signal(out, read_signal(src))
    assert out.read_text().splitlines() == lines  # the values unchanged: the same text


# D3. Under --dtype float32 a streamed run's report measured the noise level of the samples
# rounded to float32, a run read whole that of the file's values: the file's, either way


@pytest.mark.parametrize("kind", ["csv", "wav"])
def test_a_float32_report_s_noise_level_is_the_same_streamed_or_whole(runner, tmp_path, kind):
    rng = np.random.default_rng(5)
    n = 6000
    x = np.sign(np.sin(np.arange(n) / 300)) + 0.1 * rng.standard_normal(n)
    y = np.cos(np.arange(n) / 70) + 0.1 * rng.standard_normal(n)
    src = tmp_path / f"s.{kind}"
    if kind == "csv":
        src.write_text(
            "a,b\n" + "".join(f"{p!r},{q!r}\n" for p, q in zip(x.tolist(), y.tolist(), strict=True))
        )
    else:
        soundfile.write(str(src), 0.4 * np.stack([x, y], axis=1), 8000, subtype="DOUBLE")
    sigmas = []
    for dtype, chunk in (("float32", "0"), ("float32", "2000"), ("float64", "0")):
        report = tmp_path / f"{dtype}-{chunk}.json"
        args = ["diffuse", str(src), "--steps", "5", "--dtype", dtype, "-q"]
        args += ["--chunk-size", chunk, "-o", str(tmp_path / f"o.{kind}"), "--report", str(report)]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        sigmas.append(json.loads(report.read_text())["noise_sigma"])
    assert sigmas[0] == sigmas[1] == sigmas[2]  # the file's values', bit for bit


# D5. -o NAME.tsv wrote commas, -o NAME.opus Ogg Vorbis: tabs, and Opus (or one line)


def _stereo(tmp_path):
    rng = np.random.default_rng(0)
    x = 0.4 * np.sign(np.sin(np.arange(4800) / 50))[:, None] * [1, 0.5]
    x = x + 0.03 * rng.standard_normal((4800, 2))
    soundfile.write(str(tmp_path / "st.wav"), x, 48000, subtype="PCM_16")
    (tmp_path / "c.csv").write_text("a,b\n" + "".join(f"{p!r},{q!r}\n" for p, q in x.tolist()))
    return tmp_path / "st.wav", tmp_path / "c.csv"


@pytest.mark.parametrize("ext", [".tsv", ".tab", ".TSV"])
@pytest.mark.parametrize("chunk", ["0", "1000"])
def test_a_tsv_output_is_tab_separated(runner, tmp_path, ext, chunk):
    for src in _stereo(tmp_path):
        out = tmp_path / f"o{ext}"
        args = ["diffuse", str(src), *STEPS, "-q", "--chunk-size", chunk, "-o", str(out)]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.stderr
        rows = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
        assert all(ln.count("\t") == 1 and "," not in ln for ln in rows), rows[:3]
        same = np.loadtxt(out, delimiter="\t", skiprows=int(src.suffix == ".csv"), ndmin=2)
        assert same.shape == (4800, 2)


def test_an_opus_output_is_opus_or_refused(runner, tmp_path):
    wav, _ = _stereo(tmp_path)
    out = tmp_path / "o.opus"
    result = runner.invoke(cli, ["diffuse", str(wav), *STEPS, "-q", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(str(out))
    assert (info.format, info.subtype) == ("OGG", "OPUS")
    args = [
        "diffuse",
        str(wav),
        *STEPS,
        "-q",
        "--subtype",
        "VORBIS",
        "-o",
        str(tmp_path / "v.opus"),
    ]
    line = _error(runner.invoke(cli, args), 2)
    assert "a .opus file holds Opus, not VORBIS; name it .ogg" in line, line
    assert not (tmp_path / "v.opus").exists()


# D6. pandas' default CSV (header ",0,1": an empty index name) was refused with "fill it in
# or delete line 1", which would make the index a filtered signal: read as pandas means it


@pytest.mark.parametrize("width", [1, 2])
def test_pandas_default_csv_is_read_with_its_header_and_index(runner, tmp_path, width):
    rng = np.random.default_rng(0)
    x = np.sign(np.sin(np.arange(300) / 10))[:, None] + 0.1 * rng.standard_normal((300, width))
    head = "," + ",".join(map(str, range(width)))  # DataFrame(x).to_csv(), Series(x).to_csv()
    rows = [f"{i}," + ",".join(map(repr, r)) for i, r in enumerate(x.tolist())]
    raw = (head + "\n" + "\n".join(rows) + "\n").encode()
    sig = parse_signal(raw, "CSV", "pd.csv")
    assert sig.header == ["", *map(str, range(width))] and sig.time_column == 0
    np.testing.assert_array_equal(sig.data, x[:, 0] if width == 1 else x)
    src, out = tmp_path / "pd.csv", tmp_path / "o.csv"
    src.write_bytes(raw)
    result = runner.invoke(cli, ["diffuse", str(src), *STEPS, "-q", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == head and [ln.split(",")[0] for ln in lines[1:]] == list(map(str, range(300)))


def test_an_empty_first_cell_of_a_header_like_row_names_header(runner, tmp_path):
    src = tmp_path / "h.csv"
    src.write_text(",a2,7\n1,2,3\n2,3,4\n")  # a header with a number in it, and no name first
    line = _error(runner.invoke(cli, ["diffuse", str(src), *STEPS]), 1)
    assert "empty cell; if line 1 is a header, declare it with --header" in line, line
    assert "delete line 1" not in line
