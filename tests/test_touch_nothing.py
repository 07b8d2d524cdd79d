"""Nothing but the named target is ever written (issue 18, items 1, 3 and 4).

Every file a run reads (the input, ``--reference``, ``--network``) is
protected as the input is; a symlink at an output is replaced, never
followed; ``-o`` and ``--report`` naming one file by any path are refused.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

IDENTITY = ["diffuse", "--steps", "1", "--tau", "1e-300", "--lambda", "1", "-q"]
SIGNAL = b"v\n1.0\n2.0\n1.5\n3.0\n2.5\n"
NETWORK = b'[[block]]\nactivation = "tanh"\nrepeat = 2\n'


@pytest.fixture
def runner():
    return CliRunner()


def _files(directory: Path) -> dict:
    """Every entry under ``directory``: bytes of files, link targets of links."""
    out = {}
    for p in sorted(directory.rglob("*")):
        key = str(p.relative_to(directory))
        if p.is_symlink():
            out[key] = ("link", os.readlink(p))
        elif p.is_file():
            out[key] = p.read_bytes()
    return out


def _one_error(result, code: int, pattern: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


# --------------------------------------------------------------------------
# 1. every file the run reads is protected
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clash",
    [
        "output is reference",
        "report is reference",
        "output is network",
        "report is network",
        "output is reference by another path",
    ],
)
def test_no_file_the_run_reads_is_written(runner, tmp_path, clash):
    src, ref, net = tmp_path / "in.csv", tmp_path / "clean.csv", tmp_path / "net.toml"
    src.write_bytes(SIGNAL)
    ref.write_bytes(SIGNAL)
    net.write_bytes(NETWORK)
    if "network" in clash:
        args = ["resnet", str(src), "--network", str(net), "-q"]
        victim = net
    else:
        args = [*IDENTITY, str(src), "--reference", str(ref)]
        victim = ref
    other = str(tmp_path / "elsewhere.json")
    named = str(victim)
    if "another path" in clash:
        (tmp_path / "sub").mkdir()
        named = str(tmp_path / "sub" / ".." / victim.name)
    if clash.startswith("output"):
        args += ["-o", named, "--report", other]
    else:
        args += ["-o", str(tmp_path / "out.csv"), "--report", named]
    before = _files(tmp_path)
    result = runner.invoke(cli, args)
    _one_error(result, 1, re.escape(victim.name) + r".*(reference|network) file")
    assert _files(tmp_path) == before


def test_batch_target_that_is_another_input_is_refused(runner, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(SIGNAL)
    b.write_bytes(SIGNAL + b"3.0\n")
    # filtering both into their own directory: each target is the input itself
    result = runner.invoke(cli, [*IDENTITY, str(a), str(b), "-o", str(tmp_path) + "/"])
    assert result.exit_code == 1
    assert a.read_bytes() == SIGNAL and b.read_bytes() == SIGNAL + b"3.0\n"


# --------------------------------------------------------------------------
# 3. a link at an output is replaced, never followed
# --------------------------------------------------------------------------


def test_symlink_at_output_is_replaced_not_followed(runner, tmp_path):
    src, victim = tmp_path / "in.csv", tmp_path / "victim.csv"
    src.write_bytes(SIGNAL)
    victim.write_bytes(b"precious\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    result = runner.invoke(cli, [*IDENTITY, str(src), "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert victim.read_bytes() == b"precious\n"
    assert not link.is_symlink() and link.read_bytes() == SIGNAL


def test_dangling_symlink_at_report_is_replaced(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(SIGNAL)
    (tmp_path / "elsewhere").mkdir()
    rep = tmp_path / "r.json"
    rep.symlink_to(tmp_path / "elsewhere" / "planted.json")
    args = [*IDENTITY, str(src), "-o", str(tmp_path / "o.csv"), "--report", str(rep)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert not rep.is_symlink() and rep.read_text().startswith("{")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_planted_link_in_batch_directory_to_another_input_is_refused(runner, tmp_path):
    a, b, out = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "out"
    a.write_bytes(SIGNAL)
    b.write_bytes(SIGNAL + b"3.0\n")
    out.mkdir()
    (out / "a.csv").symlink_to(b)  # writing a's output would replace b
    result = runner.invoke(cli, [*IDENTITY, str(a), str(b), "-o", str(out) + "/"])
    assert result.exit_code == 1, result.stderr
    assert "a.csv" in result.stderr and "input" in result.stderr
    assert b.read_bytes() == SIGNAL + b"3.0\n" and a.read_bytes() == SIGNAL
    assert (out / "b.csv").is_file()  # the other file is still done


def test_output_link_to_the_input_is_refused(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(SIGNAL)
    (tmp_path / "link.csv").symlink_to(src)
    before = _files(tmp_path)
    result = runner.invoke(cli, [*IDENTITY, str(src), "-o", str(tmp_path / "link.csv")])
    _one_error(result, 1, r"input")
    assert _files(tmp_path) == before


# --------------------------------------------------------------------------
# 4. -o and --report naming one file, by any path; -o /dev/stdout into a pipe
# --------------------------------------------------------------------------


def test_output_and_report_through_a_symlinked_directory_clash(runner, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(SIGNAL)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    args = [*IDENTITY, str(src), "-o", str(tmp_path / "link" / "out.csv")]
    result = runner.invoke(cli, [*args, "--report", str(tmp_path / "real" / "out.csv")])
    assert result.exit_code == 2, result.stderr
    assert "same file" in result.stderr
    assert list((tmp_path / "real").iterdir()) == []


def _exe() -> str:
    return str(Path(sys.executable).parent / "resdenoise")


def test_stdout_signal_and_report_on_dev_stdout_clash(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(SIGNAL)
    proc = subprocess.run(
        [_exe(), *IDENTITY, str(src), "--report", "/dev/stdout"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == b""
    assert b"stdout" in proc.stderr


def test_output_dev_stdout_into_a_pipe(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(SIGNAL)
    proc = subprocess.run(
        [_exe(), *IDENTITY, str(src), "-o", "/dev/stdout"], capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SIGNAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("how", ["input >>", "input 1<>", "reference >>", "< input >>"])
def test_stdout_that_is_a_file_the_run_reads_is_refused(tmp_path, how):
    """``resdenoise ... IN >> IN`` (stdout opened by the shell on a file the run reads):
    the output was appended to the input (or the reference), exit 0."""
    src, ref = tmp_path / "in.csv", tmp_path / "ref.csv"
    src.write_bytes(SIGNAL)
    ref.write_bytes(SIGNAL)
    target = ref if how.startswith("reference") else src
    args = [_exe(), *IDENTITY, "-" if how.startswith("<") else str(src)]
    if target == ref:
        args += ["--reference", str(ref)]
    mode = "r+b" if "1<>" in how else "ab"
    with open(target, mode) as out, open(src, "rb") as stdin:
        proc = subprocess.run(args, stdin=stdin, stdout=out, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert b"<stdout>: is the " in proc.stderr and b"would change it" in proc.stderr
    assert src.read_bytes() == SIGNAL and ref.read_bytes() == SIGNAL
