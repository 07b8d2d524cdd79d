"""fix23c: the CSV side of a field scientist's files (audit23b): cells a run left as they
were written back as written (A23b-13), ..."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.io.csv_text import repr_column


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "200"})


def _logger(path, n=200, seed=1, sep=",", mark="."):
    """A 2-decimal logger column whose noise is far over a quarter of its variance: every
    automatic search keeps it (``nothing done``)."""
    r = np.random.default_rng(seed)
    cells = [f"1.{d}0".replace(".", mark) for d in r.integers(0, 10, n)]
    path.write_text(f"time{sep}v\n" + "".join(f"{i}{sep}{c}\n" for i, c in enumerate(cells)))
    return path


def test_nothing_done_writes_the_cells_as_read(tmp_path):
    # fails before: 1.40 -> 1.4, 1.00 -> 1.0 (repr) in a file said to be the input
    src = _logger(tmp_path / "z.csv")
    out = tmp_path / "o.csv"
    r = _run(["denoise", src, "-o", out])
    assert r.exit_code == 0, r.output
    assert "nothing done" in r.output
    assert out.read_bytes() == src.read_bytes()


def test_nothing_done_decimal_comma_as_read(tmp_path):
    # fails before: 9,00 -> 9,0 in a ;-separated file with a decimal comma
    src = _logger(tmp_path / "de.csv", sep=";", mark=",")
    out = tmp_path / "o.csv"
    r = _run(["denoise", src, "-o", out])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == src.read_bytes()


def test_in_place_nothing_done_leaves_the_file(tmp_path):
    # fails before: the file is replaced (a new inode and mtime; the cells rewritten)
    src = _logger(tmp_path / "z.csv")
    before = src.read_bytes()
    os.utime(src, (1_000_000_000, 1_000_000_000))
    inode = src.stat().st_ino
    r = _run(["denoise", src, "--in-place"])
    assert r.exit_code == 0, r.output
    assert "left as it was" in r.output
    assert src.read_bytes() == before
    assert src.stat().st_mtime == 1_000_000_000 and src.stat().st_ino == inode
    assert sorted(os.listdir(tmp_path)) == ["z.csv"]  # no temporary left


def test_passed_through_column_reads_as_written(tmp_path):
    # fails before: the column passed through unchanged comes back 9.9, 10.0 for 9.90, 10.00
    r = np.random.default_rng(2)
    n = 600
    stage = 0.82 + 0.1 * np.sin(np.arange(n) / 40) + 0.002 * r.standard_normal(n)
    temps = [f"{9 + d / 100:.2f}" for d in r.integers(0, 100, n)]
    src = tmp_path / "two.csv"
    src.write_text(
        "time,stage,temp\n"
        + "".join(f"{i},{s:.3f},{t}\n" for i, (s, t) in enumerate(zip(stage, temps, strict=True)))
    )
    out = tmp_path / "o.csv"
    res = _run(["denoise", src, "-o", out])
    assert res.exit_code == 0, res.output
    assert "passed through unchanged: column 3" in res.output
    rows = [ln.split(",") for ln in out.read_text().splitlines()[1:]]
    assert [row[2] for row in rows] == temps
    written = np.array([float(row[1]) for row in rows])
    assert not np.array_equal(written, np.round(stage, 3))  # the stage was filtered


def test_fixed_cells_are_exact_never_rounded():
    # the filtered values are written by repr where the column's decimals would round them
    v = np.array([1.4, 1.0, 0.8173959367309871, -0.0, 123456.25, 1e300, 0.1 + 0.2])
    cells = repr_column(v, ".", places=2)
    assert cells[:2] == ["1.40", "1.00"] and cells[4] == "123456.25"
    assert cells[3] == "-0.00"
    assert [float(c) for c in cells] == v.tolist()  # every cell reads back as its float64
    assert cells[2] == "0.8173959367309871" and cells[6] == "0.30000000000000004"
    assert cells[5] == "1e+300"
    r = np.random.default_rng(0)
    w = np.round(r.uniform(-1e6, 1e6, 20000), 3)
    got = repr_column(w, ".", places=3)
    assert [float(c) for c in got] == w.tolist()
    assert all(len(c.split(".")[1]) == 3 for c in got)


def _stamped(path, name, n=200, bad=None):
    """A logger file: ISO 8601 stamps every 15 minutes under ``name``, a stage in metres
    (row ``bad``'s stamp replaced by that text)."""
    r = np.random.default_rng(3)
    stamps = [f"2026-03-{1 + i // 96:02d} {(i // 4) % 24:02d}:{15 * (i % 4):02d}" for i in range(n)]
    if bad is not None:
        stamps[bad[0]] = bad[1]
    values = 0.82 + 0.05 * np.sin(np.arange(n) / 30) + 0.004 * r.standard_normal(n)
    path.write_text(
        f"{name},stage\n" + "".join(f"{s},{v:.3f}\n" for s, v in zip(stamps, values, strict=True))
    )
    return path, stamps


@pytest.mark.parametrize("name", ["Date Time", "Date/Time", "Datum", "Zeitstempel", "Fecha"])
def test_iso_stamps_are_the_time_column_whatever_the_name(tmp_path, name):
    # fails before: "'2026-03-01 00:00' is not a number; the column holds no numbers" (exit 1)
    src, stamps = _stamped(tmp_path / "f.csv", name)
    out = tmp_path / "o.csv"
    r = _run(["denoise", src, "-o", out, "--report", tmp_path / "r.json"])
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == f"{name},stage"
    assert [ln.split(",")[0] for ln in lines[1:]] == stamps


def test_a_year_alone_is_no_stamp(tmp_path):
    # NumPy reads '17' as the year 17: a column of stamps and one number is not taken as time
    src, _ = _stamped(tmp_path / "f.csv", "Fecha", bad=(49, "17"))
    r = _run(["denoise", src, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 1
    assert not (tmp_path / "o.csv").exists()


def _series(path, n=120, cell=None, head="time,temp_C\n"):
    """An equally spaced temperature series, row 50's reading replaced by ``cell``."""
    r = np.random.default_rng(4)
    values = [f"{10 + np.sin(i / 15) + 0.1 * r.standard_normal():.2f}" for i in range(n)]
    if cell is not None:
        values[50] = cell
    path.write_text(head + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    return path


@pytest.mark.parametrize("cell", ["NA", "", "nan"])
def test_missing_reading_remedy_keeps_the_spacing(tmp_path, cell):
    # fails before: "correct it or delete line 52", and deleting it makes the next run warn
    # that the time column is not equally spaced; the remedy named now (fill it in, or
    # the rows before and after apart) runs clean, as run here
    src = _series(tmp_path / "na.csv", cell=cell)
    r = _run(["denoise", src, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 1
    assert "fill it in (interpolate it between its neighbours)" in r.output
    assert "filter the rows before and after line 52 apart" in r.output
    assert "delete line 52 " not in r.output and not r.output.rstrip().endswith("line 52")
    lines = src.read_text().splitlines()
    a, b = float(lines[50].split(",")[1]), float(lines[52].split(",")[1])
    filled = tmp_path / "filled.csv"
    filled.write_text("\n".join([*lines[:51], f"50,{(a + b) / 2:.2f}", *lines[52:]]) + "\n")
    before = tmp_path / "before.csv"
    before.write_text("\n".join(lines[:51]) + "\n")
    after = tmp_path / "after.csv"
    after.write_text("\n".join([lines[0], *lines[52:]]) + "\n")
    for fixed in (filled, before, after):
        r = _run(["denoise", fixed, "-o", tmp_path / "o.csv"])
        assert r.exit_code == 0, r.output
        assert "not equally spaced" not in r.output
    deleted = tmp_path / "deleted.csv"
    deleted.write_text("\n".join([*lines[:51], *lines[52:]]) + "\n")
    assert "not equally spaced" in _run(["denoise", deleted, "-o", tmp_path / "o.csv"]).output


def test_without_time_column_deleting_stays_the_remedy(tmp_path):
    src = tmp_path / "one.csv"
    src.write_text("temp_C\n" + "".join(f"{10 + i % 7 / 10:.2f}\n" for i in range(50)) + "NA\n")
    r = _run(["denoise", src, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 1 and "correct it or delete line 52" in r.output


def test_preamble_without_hash_is_named(tmp_path):
    # fails before: "line 2, column 1 ('Station'): 'Lat' is not a number; correct it or
    # delete line 2" (the header taken to be Station,Kaub); one-field lines: "line 3 has 2
    # fields, expected 1"
    rows = "".join(f"{i},5.{i % 13 + 10}\n" for i in range(100))
    src = tmp_path / "pre.csv"
    src.write_text("Station,Kaub\nLat,50.08\nLon,7.76\ntime,level\n" + rows)
    r = _run(["denoise", src, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 1
    assert "lines 1-3 look like a preamble" in r.output and "header on line 4" in r.output
    one = tmp_path / "one.csv"
    one.write_text("Station: Pegel Kaub\ntime,level\n" + rows)
    r = _run(["denoise", one, "-o", tmp_path / "o.csv"])
    assert (
        r.exit_code == 1
        and "line 1 looks like a preamble" in r.output
        and "start it with #" in r.output
    )
    # the remedy named works and keeps the lines in the output
    hashed = tmp_path / "hashed.csv"
    hashed.write_text("# Station,Kaub\n# Lat,50.08\n# Lon,7.76\ntime,level\n" + rows)
    out = tmp_path / "o.csv"
    r = _run(["denoise", hashed, "-o", out])
    assert r.exit_code == 0, r.output
    assert out.read_text().splitlines()[:4] == hashed.read_text().splitlines()[:4]


def test_units_row_remedy_keeps_the_units(tmp_path):
    # fails before: "units under the header? delete line 2" (the units then lost)
    src = _series(tmp_path / "u.csv", head="time,temp\ns,degC\n")
    r = _run(["denoise", src, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 1 and "delete line 2, or start it with # to keep it" in r.output
    hashed = tmp_path / "h.csv"
    lines = src.read_text().splitlines()
    hashed.write_text("\n".join([lines[0], "# " + lines[1], *lines[2:]]) + "\n")
    out = tmp_path / "o.csv"
    assert _run(["denoise", hashed, "-o", out]).exit_code == 0
    assert out.read_text().splitlines()[1] == "# s,degC"


def test_unit_in_every_cell_is_named(tmp_path):
    # fails before: "'0.813 m' is not a number; correct it or delete line 2"
    src = tmp_path / "m.csv"
    src.write_text("time,stage\n" + "".join(f"{i},0.{800 + i % 40} m\n" for i in range(100)))
    r = _run(["denoise", src, "-o", tmp_path / "o.csv"])
    assert r.exit_code == 1
    assert "a unit after the number? remove 'm' from the column's cells" in r.output


def test_input_decimals_writes_the_instruments_resolution(tmp_path):
    # fails before: no such option; every filtered cell by repr (0,8173959367309871)
    r = np.random.default_rng(1)
    n = 500
    stage = 0.82 + 0.1 * np.sin(np.arange(n) / 40) + 0.005 * r.standard_normal(n)
    src = tmp_path / "s.csv"
    src.write_text(
        "time;stage_m\n" + "".join(f"{i};{v:.3f}\n".replace(".", ",") for i, v in enumerate(stage))
    )
    exact, rounded = tmp_path / "exact.csv", tmp_path / "rounded.csv"
    assert _run(["denoise", src, "-o", exact, "-q"]).exit_code == 0
    res = _run(["denoise", src, "-o", rounded, "--input-decimals", "--report", tmp_path / "r.json"])
    assert res.exit_code == 0, res.output
    full = [float(ln.split(";")[1].replace(",", ".")) for ln in exact.read_text().splitlines()[1:]]
    cells = [ln.split(";")[1] for ln in rounded.read_text().splitlines()[1:]]
    assert all(len(c.split(",")[1]) == 3 for c in cells)
    # each cell is the exact output rounded to 3 decimals (an independent rounding)
    got = np.array([float(c.replace(",", ".")) for c in cells])
    assert np.max(np.abs(got - np.array(full))) <= 0.0005 + 1e-12
    assert [f"{v:.3f}" for v in full] == [c.replace(",", ".") for c in cells]
    assert rounded.stat().st_size == src.stat().st_size
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["output_info"]["decimals"] == {"column 2 ('stage_m')": 3}


def test_input_decimals_leaves_exponent_columns_exact(tmp_path):
    from resdenoise.io import WriteOptions, read_signal, write_signal

    src = tmp_path / "e.csv"
    src.write_text("time,a,b\n" + "".join(f"{i},{i % 7 / 10:.1f},{i % 5}e-3\n" for i in range(40)))
    sig = read_signal(src)
    sig.data[:, 0] += 1 / 3
    sig.data[:, 1] += 1 / 3
    out = tmp_path / "o.csv"
    info = write_signal(out, sig, WriteOptions(input_decimals=True))
    assert info["clipped"] == 0
    rows = [ln.split(",") for ln in out.read_text().splitlines()[1:]]
    assert rows[1][1] == "0.4" and rows[1][2] == repr(1e-3 + 1 / 3)
