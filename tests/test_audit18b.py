"""audit18b's findings (a user on Windows or macOS: file systems, encodings, terminals)."""

from __future__ import annotations

import errno
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
    rows = "".join(f"{float(x)!r}\n" for x in np.sin(np.arange(n) / 5) + 0.1 * rng.standard_normal(n))
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
