"""audit18b's findings (a user on Windows or macOS: file systems, encodings, terminals)."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

_RUN = ("--diffusivity", "linear", "--lambda", "1", "--time", "1")


def _csv(path, n=60, header="v"):
    rng = np.random.default_rng(3)
    rows = "".join(
        f"{float(x)!r}\n" for x in np.sin(np.arange(n) / 5) + 0.1 * rng.standard_normal(n)
    )
    path.write_text(f"{header}\n{rows}")
    return path


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# B2: a file system without Unix modes (FAT/exFAT stick, SMB share, WSL drive)


@pytest.mark.parametrize("code", [errno.EPERM, errno.ENOSYS])
@pytest.mark.parametrize("existing", [False, True])
def test_b2_a_chmod_the_file_system_refuses_does_not_stop_the_output(
    tmp_path, monkeypatch, code, existing
):
    src = _csv(tmp_path / "in.csv")
    out, rep = tmp_path / "out.csv", tmp_path / "r.json"
    if existing:
        out.write_text("old\n")
    refused = []

    def chmod(path, mode, *args, **kwargs):
        refused.append(path)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "chmod", chmod)
    r = _invoke("diffuse", src, *_RUN, "-o", out, "--report", rep)
    assert r.exit_code == 0, r.output
    assert refused  # the chmods were tried, and failed
    assert out.read_text().startswith("v\n") and rep.read_text().startswith("{")
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_b2_a_zarr_store_too(tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    src = _csv(tmp_path / "in.csv")

    def chmod(path, mode, *args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", chmod)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "out.zarr")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.zarr").is_dir()


# B18: Windows' os has no pathconf nor statvfs


@pytest.mark.parametrize("stem", ["measurement_" * 11, "測定" * 22])
def test_b18_a_long_output_name_without_pathconf_is_written(tmp_path, monkeypatch, stem):
    src = _csv(tmp_path / "in.csv")
    out = tmp_path / f"{stem}.csv"
    assert len(os.fsencode(out.name)) >= 130
    monkeypatch.delattr(os, "pathconf")
    r = _invoke("diffuse", src, *_RUN, "-o", out, "--report", f"{out}.json")
    assert r.exit_code == 0, r.output
    assert out.exists() and os.path.exists(f"{out}.json")


def test_b18_a_closed_directory_without_statvfs_is_refused_by_its_reason(tmp_path, monkeypatch):
    src = _csv(tmp_path / "in.csv")
    monkeypatch.delattr(os, "statvfs")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "out.csv")
    assert r.exit_code == 1, r.output
    assert "cannot create files in" in r.output and "permission denied" in r.output
    assert "internal error" not in r.output


# B16: stdout is the input the shell truncated, on a system without fcntl


def test_b16_stdout_onto_the_truncated_input_without_fcntl_is_said(tmp_path):
    src = _csv(tmp_path / "w.csv")
    code = (
        "import sys; sys.modules['fcntl'] = None\n"
        "from resdenoise.__main__ import main\n"
        "sys.argv = ['resdenoise', *sys.argv[1:]]\n"
        "main()\n"
    )
    with open(src, "w") as out:  # the shell's > INPUT: emptied before the run starts
        r = subprocess.run(
            [sys.executable, "-c", code, "diffuse", str(src), *_RUN, "-o", "-"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
    assert r.returncode == 1, r.stderr
    assert "which the shell emptied" in r.stderr and "internal error" not in r.stderr


# B1, B7: names that differ in letter case (or Unicode normalisation) on a file system
# that takes them as one (macOS, Windows, FAT/exFAT); emulated: folds_case answers True


def _folding(monkeypatch):
    from resdenoise import paths

    monkeypatch.setattr(paths, "folds_case", lambda *a, **k: True)


def _two_inputs(tmp_path, first="Data.csv", second="data.csv"):
    for sub, name in (("a", first), ("b", second)):
        (tmp_path / sub).mkdir()
        _csv(tmp_path / sub / name)
    return tmp_path / "a" / first, tmp_path / "b" / second


def test_b1_outputs_that_differ_in_case_only_are_refused_where_case_folds(tmp_path, monkeypatch):
    a, b = _two_inputs(tmp_path)
    _folding(monkeypatch)
    r = _invoke("diffuse", a, b, *_RUN, "-o", f"{tmp_path}/out/", "--report", f"{tmp_path}/rep/")
    assert r.exit_code == 2, r.output
    assert "would both be written to" in r.output and "letter case" in r.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "rep").exists()


def test_b1_where_case_counts_both_are_written_as_before(tmp_path):
    from resdenoise.paths import folds_case

    a, b = _two_inputs(tmp_path)
    assert not folds_case(str(tmp_path))  # (the tests' file system: Linux's)
    r = _invoke("diffuse", a, b, *_RUN, "-o", f"{tmp_path}/out/")
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(tmp_path / "out")) == ["Data.csv", "data.csv"]


def test_b1_nfc_and_nfd_names_are_one_where_case_folds(tmp_path, monkeypatch):
    a, b = _two_inputs(tmp_path, "caf\u00e9.csv", "cafe\u0301.csv")
    _folding(monkeypatch)
    r = _invoke("diffuse", a, b, *_RUN, "-o", f"{tmp_path}/out/")
    assert r.exit_code == 2, r.output
    assert not (tmp_path / "out").exists()


def test_b1_a_report_named_as_the_output_in_another_case_is_refused(tmp_path, monkeypatch):
    src = _csv(tmp_path / "in.csv")
    _folding(monkeypatch)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "r.csv", "--report", tmp_path / "R.CSV")
    assert r.exit_code == 2, r.output
    assert "name the same file" in r.output
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_b7_the_input_in_another_case_is_not_replaced_without_in_place(tmp_path, monkeypatch):
    src = _csv(tmp_path / "meas.csv")
    before = src.read_bytes()
    _folding(monkeypatch)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "MEAS.CSV")
    assert r.exit_code == 1, r.output
    assert "output is the input file; pass --in-place" in r.output
    assert sorted(os.listdir(tmp_path)) == ["meas.csv"] and src.read_bytes() == before
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "MEAS.CSV", "--in-place", "-q")
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(tmp_path)) == ["meas.csv"] and src.read_bytes() != before


def _case_blind_lstat(monkeypatch, folded_dir, per_name_inodes=False):
    """os.lstat as a case-insensitive ``folded_dir`` answers (inodes per name, as fusefat's)."""
    real = os.lstat

    def lstat(path, *args, **kwargs):
        head, name = os.path.split(os.fspath(path))
        if head == str(folded_dir):
            for entry in os.listdir(head):
                if entry.lower() == name.lower():
                    st = real(os.path.join(head, entry))
                    if per_name_inodes and entry != name:
                        return os.stat_result((st.st_mode, st.st_ino + 1, *tuple(st)[2:]))
                    return st
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)


@pytest.mark.parametrize("per_name_inodes", [False, True])
def test_b1_b7_the_probe_finds_a_folding_directory(tmp_path, monkeypatch, per_name_inodes):
    from resdenoise.paths import _probe_folding

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.csv").write_text("v\n1\n")
    d = str(tmp_path / "d")
    assert not _probe_folding(d, os.stat(d))
    _case_blind_lstat(monkeypatch, tmp_path, per_name_inodes)  # the directory's own name
    assert _probe_folding(d, os.stat(d))
    monkeypatch.undo()
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "x.csv").write_text("v\n1\n")
    one = str(tmp_path / "1")  # no letters: its entries are probed
    assert not _probe_folding(one, os.stat(one))
    _case_blind_lstat(monkeypatch, one, per_name_inodes)
    assert _probe_folding(one, os.stat(one))


# B13: a spreadsheet's error value in the first column is a cell, not a comment line


@pytest.mark.parametrize(
    "rows",
    [
        ["1,2", "#DIV/0!,0.61", "3,4"],  # two columns: b's 0.61 was kept unfiltered
        ["1", "#N/A", "3"],
        ["1", "  #VALUE!", "3"],  # leading blanks
        ["1", "#NAME?", "3"],
    ],
)
def test_b13_an_excel_error_cell_is_refused_naming_it(tmp_path, rows):
    header = "a,b" if "," in rows[0] else "v"
    body = [rows[0]] * 20 + rows[1:] + [rows[2]] * 20
    src = tmp_path / "x.csv"
    src.write_text(header + "\r\n" + "\r\n".join(body) + "\r\n")
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "--report", tmp_path / "r.json")
    line = 1 + 20 + 1
    assert r.exit_code == 1, r.output
    assert f"line {line}, column 1" in r.output and "spreadsheet's error value" in r.output
    assert f"delete line {line}" in r.output
    assert sorted(os.listdir(tmp_path)) == ["x.csv"]


def test_b13_a_comment_line_stays_a_comment(tmp_path):
    src = tmp_path / "x.csv"
    body = ["1"] * 20 + ["# N/A: the sensor was off", "#NA", "#N/Afoo"] + ["3"] * 20
    src.write_text("v\n" + "\n".join(body) + "\n")
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv")
    assert r.exit_code == 0, r.output
    out = (tmp_path / "o.csv").read_text().splitlines()
    assert out[21:24] == ["# N/A: the sensor was off", "#NA", "#N/Afoo"]


# B15: a network file saved by Notepad / PowerShell 5.1 (a byte-order mark, UTF-16)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be-bom"])
def test_b15_a_network_file_with_a_byte_order_mark_is_read(tmp_path, encoding):
    from pathlib import Path

    text = Path(__file__).parents[1].joinpath("examples", "network.toml").read_text()
    text = text.replace("\n", "\r\n")
    if encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(text)
    marked.write_bytes(data)
    src = _csv(tmp_path / "in.csv")
    outs = []
    for net in (plain, marked):
        outs.append(tmp_path / f"{net.stem}.csv")
        r = _invoke("resnet", src, "--network", net, "-o", outs[-1], "-q")
        assert r.exit_code == 0, r.output
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_b15_utf32_and_bad_bytes_after_a_mark_are_named(tmp_path):
    src = _csv(tmp_path / "in.csv")
    net = tmp_path / "n.toml"
    net.write_bytes("[[block]]\n".encode("utf-32"))
    r = _invoke("resnet", src, "--network", net, "-o", tmp_path / "o.csv")
    assert r.exit_code == 2 and "UTF-32 text; save it as UTF-8" in r.output, r.output
    net.write_bytes(b"\xef\xbb\xbf[[block]]\n\xff\n")
    r = _invoke("resnet", src, "--network", net, "-o", tmp_path / "o.csv")
    assert r.exit_code == 2 and "not UTF-8 text (byte 13)" in r.output, r.output


# B11: COLUMNS=0 ("no limit" to some wrappers) drew everything rich draws empty


@pytest.mark.parametrize("columns", ["0", "1", "19"])
def test_b11_a_zero_or_tiny_columns_does_not_empty_what_rich_draws(tmp_path, columns):
    src = _csv(tmp_path / "in.csv")
    env = {"COLUMNS": columns}
    r = CliRunner().invoke(cli, ["dictionary"], env=env)
    assert r.exit_code == 0 and len(r.stdout) > 1000, r.output
    plain = CliRunner().invoke(cli, ["dictionary"], env={"COLUMNS": None})
    assert r.stdout == plain.stdout  # as wide as with no COLUMNS (80, not a terminal)
    args = ["diffuse", str(src), *_RUN, "-o", str(tmp_path / "o.csv"), "-v"]
    r = CliRunner().invoke(cli, args, env=env)
    assert r.exit_code == 0, r.output
    assert "guarantees held" in r.output and "in.csv" in r.output


def test_b11_a_usable_columns_is_kept(tmp_path):
    narrow = CliRunner().invoke(cli, ["dictionary"], env={"COLUMNS": "40"}).stdout
    wide = CliRunner().invoke(cli, ["dictionary"], env={"COLUMNS": "200"}).stdout
    assert max(map(len, narrow.splitlines())) <= 40 < max(map(len, wide.splitlines()))


# B5: the second rename failing (Windows: the report open in another program) undoes the first


def _refuse_replace_onto(monkeypatch, name):
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.basename(os.fspath(dst)) == name and ".tmp" in os.fspath(src):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("old_output", [True, False])
def test_b5_a_failed_report_rename_leaves_the_output_as_it_was(tmp_path, monkeypatch, old_output):
    src = _csv(tmp_path / "in.csv")
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    if old_output:
        out.write_text("old-output\n")
    rep.write_text("old-report\n")
    _refuse_replace_onto(monkeypatch, "r.json")
    r = _invoke("diffuse", src, *_RUN, "-o", out, "--report", rep)
    assert r.exit_code == 1, r.output
    assert "r.json: cannot write: Permission denied" in r.output
    assert "written already" not in r.output
    assert rep.read_text() == "old-report\n"
    if old_output:
        assert out.read_text() == "old-output\n"
    expected = ["in.csv", "r.json"] + (["o.csv"] if old_output else [])
    assert sorted(os.listdir(tmp_path)) == sorted(expected)  # no .tmp, no .old left


def test_b5_in_place_the_input_is_put_back(tmp_path, monkeypatch):
    src = _csv(tmp_path / "in.csv")
    before = src.read_bytes()
    links = os.stat(src).st_nlink
    _refuse_replace_onto(monkeypatch, "r.json")
    r = _invoke("diffuse", src, *_RUN, "--in-place", "--report", tmp_path / "r.json")
    assert r.exit_code == 1, r.output
    assert src.read_bytes() == before and os.stat(src).st_nlink == links
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_b5_what_cannot_be_undone_is_named(tmp_path, monkeypatch):
    src = _csv(tmp_path / "in.csv")
    out = tmp_path / "o.csv"
    out.write_text("old-output\n")

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")  # FAT: no hard links

    monkeypatch.setattr(os, "link", no_links)
    _refuse_replace_onto(monkeypatch, "r.json")
    r = _invoke("diffuse", src, *_RUN, "-o", out, "--report", tmp_path / "r.json")
    assert r.exit_code == 1, r.output
    assert "r.json: cannot write: Permission denied;" in r.output
    assert f"{out} written already" in r.output


# B6: a Windows console's stderr (Python's console writer) is kept, not re-wrapped as bytes


class _ConsoleRaw(io.RawIOBase):
    """Stands in for Python's _WindowsConsoleIO: not a FileIO, on descriptor 2."""

    def writable(self):
        return True

    def write(self, b):
        return len(b)

    def fileno(self):
        return 2


def test_b6_a_windows_console_stderr_is_kept(monkeypatch):
    from resdenoise.cli import _stderr_forgiving

    console = io.TextIOWrapper(io.BufferedWriter(_ConsoleRaw()), "utf-8", errors="strict")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "stderr", console)
    _stderr_forgiving()
    assert sys.stderr is console and console.errors == "backslashreplace"


def test_b6_a_file_or_pipe_on_stderr_is_wrapped_as_before(monkeypatch, tmp_path):
    from resdenoise.cli import _stderr_forgiving

    with open(tmp_path / "err", "w") as fh:
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setattr(sys, "stderr", fh)
        monkeypatch.setattr(fh, "fileno", lambda: 2)
        _stderr_forgiving()
        assert sys.stderr is not fh


# B3: Excel's sep=; first line declares the delimiter


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("decimal", [".", ","])
def test_b3_excel_sep_line_declares_the_delimiter_and_is_kept(tmp_path, bom, decimal):
    rows = [f"{i};{np.sin(i / 5):.6f}".replace(".", decimal) for i in range(40)]
    src = tmp_path / "x.csv"
    src.write_bytes(bom + ("sep=;\r\ntime;v\r\n" + "\r\n".join(rows) + "\r\n").encode())
    plain = tmp_path / "plain.csv"
    plain.write_bytes(("time;v\r\n" + "\r\n".join(rows) + "\r\n").encode())
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "-q")
    assert r.exit_code == 0, r.output
    r = _invoke("diffuse", plain, *_RUN, "-o", tmp_path / "p.csv", "-q")
    assert r.exit_code == 0, r.output
    out = (tmp_path / "o.csv").read_bytes()
    assert out == bom + b"sep=;\r\n" + (tmp_path / "p.csv").read_bytes()


def test_b3_a_tsv_output_declares_tabs_and_a_contrary_delimiter_is_refused(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("sep=;\ntime;v\n" + "".join(f"{i};{i % 3}\n" for i in range(40)))
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.tsv", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.tsv").read_text().startswith("sep=\t\ntime\tv\n")
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "--delimiter", ",")
    assert r.exit_code == 2, r.output
    assert "line 1 (Excel's 'sep=;') declares the delimiter ';'" in r.output
    assert not (tmp_path / "o.csv").exists()


# B14: in a file of one column, an empty line between rows is an empty cell


@pytest.mark.parametrize("crlf", [False, True])
def test_b14_an_empty_line_between_rows_of_one_column_is_refused(tmp_path, crlf):
    nl = "\r\n" if crlf else "\n"
    lines = ["v", *map(str, range(5)), "", "  ", *map(str, range(30))]
    src = tmp_path / "x.csv"
    src.write_bytes(nl.join(lines + [""]).encode())
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "--report", tmp_path / "r.json")
    assert r.exit_code == 1, r.output
    assert "line 7 is empty, between the rows of a file of one column" in r.output
    assert "delete line 7" in r.output
    assert sorted(os.listdir(tmp_path)) == ["x.csv"]


def test_b14_streamed_across_batches_too(tmp_path, monkeypatch):
    from resdenoise.io import csv_lines

    monkeypatch.setattr(csv_lines, "READ_BYTES", 64)  # many small batches
    src = tmp_path / "x.csv"
    src.write_text("v\n" + "".join(f"{i % 7}.25\n" for i in range(40)) + "\n" + "1\n" * 40)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "--chunk-size", "16")
    assert r.exit_code == 1, r.output
    assert "line 42 is empty" in r.output


def test_b14_blank_lines_before_after_and_beside_comments_stay_fine(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("\n# made by hand\n\nv\n\n" + "".join(f"{i % 5}\n" for i in range(40)) + "\n\n")
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "-q")
    assert r.exit_code == 0, r.output
    two = tmp_path / "two.csv"  # several columns: a blank line among the rows is skipped
    two.write_text("a,b\n" + "1,2\n" * 20 + "\n" + "3,4\n" * 20)
    r = _invoke("diffuse", two, *_RUN, "-o", tmp_path / "t.csv", "-q")
    assert r.exit_code == 0, r.output


# B8: UTF-16 big-endian is written back big-endian


@pytest.mark.parametrize("chunk", [None, "50"])
@pytest.mark.parametrize("order", ["le", "be"])
def test_b8_utf16_keeps_its_byte_order(tmp_path, chunk, order):
    text = "time,v\r\n" + "".join(f"{i},{np.sin(i / 4):.5f}\r\n" for i in range(200))
    mark = b"\xff\xfe" if order == "le" else b"\xfe\xff"
    src = tmp_path / "x.csv"
    src.write_bytes(mark + text.encode(f"utf-16-{order}"))
    args = ["--chunk-size", chunk] if chunk else []
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv", "-q", *args)
    assert r.exit_code == 0, r.output
    out = (tmp_path / "o.csv").read_bytes()
    assert out[:2] == mark and out[2:].decode(f"utf-16-{order}").startswith("time,v\r\n0,")


# B4: a DOS end-of-file mark (Ctrl-Z, 0x1A) is named


@pytest.mark.parametrize("tail, line", [(b"\r\n\x1a", 42), (b"\x1a", 41), (b"\r\n\x1a\r\n", 42)])
def test_b4_a_ctrl_z_is_named_with_its_line(tmp_path, tail, line):
    src = tmp_path / "x.csv"
    src.write_bytes(b"v\r\n" + b"\r\n".join(b"%d.5" % (i % 7) for i in range(40)) + tail)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv")
    assert r.exit_code == 1, r.output
    assert f"line {line}: a Ctrl-Z character (0x1A" in r.output
    assert not (tmp_path / "o.csv").exists()


# B12: a column named in NFD (macOS) is found by the name typed in NFC


def test_b12_columns_and_time_column_match_across_unicode_normalisation(tmp_path):
    nfd, nfc = "Tempe\u0301rature", "Temp\u00e9rature"
    src = tmp_path / "x.csv"
    src.write_text(f"time,{nfd},p\n" + "".join(f"{i},{i % 5},{i % 3}\n" for i in range(40)))
    r = _invoke("diffuse", src, *_RUN, "--columns", nfc, "-o", tmp_path / "o.csv", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.csv").read_text().startswith(f"time,{nfd},p\n")  # as it was
    r = _invoke("diffuse", src, *_RUN, "--time-column", nfc.upper(), "-o", tmp_path / "t.csv")
    assert r.exit_code == 0, r.output


def test_b12_two_columns_one_name_in_nfc_and_nfd_are_asked_for(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("caf\u00e9,cafe\u0301\n" + "1,2\n" * 40)
    r = _invoke("diffuse", src, *_RUN, "--columns", "CAF\u00c9", "-o", tmp_path / "o.csv")
    assert r.exit_code == 2, r.output
    assert "2 columns are named" in r.output and "by its number" in r.output


# B17, B9: a recording libsndfile cannot read, macOS metadata files: named, with the way out

_M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(200)
_APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(100)
_DS_STORE = b"\x00\x00\x00\x01Bud1" + bytes(200)


@pytest.mark.parametrize(
    "name, data, said",
    [
        ("memo.m4a", _M4A, "MPEG-4 audio (AAC or Apple Lossless"),
        ("memo.wav", _M4A, "MPEG-4 audio (AAC or Apple Lossless"),  # by its bytes
        ("memo.csv", _M4A, "MPEG-4 audio (AAC or Apple Lossless"),
        ("talk.wma", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11" + bytes(200), "Windows Media audio"),
        ("._take1.wav", _APPLEDOUBLE, "a macOS AppleDouble file"),
        ("._data.csv", _APPLEDOUBLE, "a macOS AppleDouble file"),
        (".DS_Store", _DS_STORE, "a macOS Finder .DS_Store file, not a signal; leave it out"),
    ],
)
def test_b17_b9_what_is_no_signal_is_named(tmp_path, name, data, said):
    src = tmp_path / name
    src.write_bytes(data)
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.wav")
    assert r.exit_code == 1, r.output
    assert said in r.output and "give an audio file a .wav" not in r.output
    assert not (tmp_path / "o.wav").exists()


# B10: what differs on Windows is said


def test_b10_jobs_without_fork_says_the_files_run_one_at_a_time(tmp_path, monkeypatch):
    a, b = _csv(tmp_path / "a.csv"), _csv(tmp_path / "b.csv")
    monkeypatch.delattr(os, "fork")
    r = _invoke("diffuse", a, b, *_RUN, "-o", f"{tmp_path}/out/", "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "warning: --jobs 2: this system cannot fork worker processes" in r.output
    assert sorted(os.listdir(tmp_path / "out")) == ["a.csv", "b.csv"]


def test_b10_utf32_text_is_named(tmp_path):
    src = tmp_path / "x.csv"
    src.write_bytes(("v\n" + "1\n" * 40).encode("utf-32"))
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv")
    assert r.exit_code == 1, r.output
    assert "UTF-32 text, not UTF-8; save it as UTF-8" in r.output


# B19: --in-place keeps the input's extended attributes (where the system has them)


@pytest.mark.parametrize("chunk", [None, "16"])
def test_b19_in_place_keeps_extended_attributes(tmp_path, chunk):
    if not hasattr(os, "setxattr"):
        pytest.skip("no extended attributes here")
    src = _csv(tmp_path / "x.csv")
    try:
        os.setxattr(src, "user.xdg.tags", b"red")
    except OSError:
        pytest.skip("the file system takes no user attributes")
    before = src.read_bytes()
    args = ["--chunk-size", chunk] if chunk else []
    r = _invoke("diffuse", src, *_RUN, "--in-place", "-q", *args)
    assert r.exit_code == 0, r.output
    assert src.read_bytes() != before
    assert os.getxattr(src, "user.xdg.tags") == b"red"


# B20: an 8-bit text file's encoding is not guessed; Mac Roman is text


@pytest.mark.parametrize("codec, nl", [("mac_roman", "\r"), ("cp850", "\r\n"), ("cp1252", "\r\n")])
def test_b20_an_8_bit_text_file_is_named_without_a_guess(tmp_path, codec, nl):
    src = tmp_path / "x.csv"
    src.write_bytes(
        nl.join(["time,Temp \u00b0C", *(f"{i},{i % 4}" for i in range(30))]).encode(codec)
    )
    r = _invoke("diffuse", src, *_RUN, "-o", tmp_path / "o.csv")
    assert r.exit_code == 1, r.output
    assert "line 1, byte 11: not UTF-8" in r.output and "an 8-bit text file" in r.output
    assert "iconv -f ENCODING" in r.output and "not a text file" not in r.output
