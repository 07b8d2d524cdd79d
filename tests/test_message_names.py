"""Messages name the reason and the option as the user knows them: an output directory on
a read-only file system (not "permission denied": a chmod would not help), and ``--json``
or ``--report /dev/stdout`` sharing stdout with the signal (named as typed, not
``--report -``)."""

from __future__ import annotations

import os
import types

import pytest
from test_cli_errors import assert_fails

from resdenoise.batch import check_directory
from resdenoise.cli import cli
from resdenoise.errors import ParameterError, SignalError
from resdenoise.pipeline import check_paths

ARGS = ["diffuse", "--lambda", "0.3", "--time", "1"]


@pytest.fixture
def closed(tmp_path, monkeypatch):
    """``tmp_path / 'mnt'`` (``.path``), closed to writing as a read-only mount is (with
    ``.read_only`` True) or as a directory without write permission is: os.access says
    no either way, os.statvfs's flags tell them apart."""
    state = types.SimpleNamespace(path=tmp_path / "mnt", read_only=True)
    state.path.mkdir()
    access, statvfs = os.access, os.statvfs

    def fake_access(path, mode, **kwargs):
        if os.path.abspath(os.fspath(path)) == str(state.path) and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)

    def fake_statvfs(path):
        if os.path.abspath(os.fspath(path)) == str(state.path):
            return types.SimpleNamespace(f_flag=os.ST_RDONLY if state.read_only else 0)
        return statvfs(path)

    monkeypatch.setattr(os, "access", fake_access)
    monkeypatch.setattr(os, "statvfs", fake_statvfs)
    return state


@pytest.mark.parametrize(
    ("read_only", "reason"),
    [(True, "read-only file system"), (False, "permission denied")],
)
@pytest.mark.parametrize("where", ["-o", "--report"])
def test_output_on_a_read_only_mount_says_so(
    runner, noisy_csv, tmp_path, closed, read_only, reason, where
):
    closed.read_only, mount = read_only, closed.path
    target = mount / ("out.csv" if where == "-o" else "r.json")
    extra = ["-o", str(tmp_path / "out.csv")] if where == "--report" else []
    result = runner.invoke(cli, [*ARGS, str(noisy_csv), where, str(target), *extra])
    assert_fails(result, 1, rf"{target}: cannot create files in '{mount}' \({reason}\)$")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "mnt"]


@pytest.mark.parametrize(
    ("read_only", "reason"), [(True, "Read-only file system"), (False, "Permission denied")]
)
def test_a_new_directory_on_a_read_only_mount_says_so(closed, read_only, reason):
    closed.read_only = read_only
    with pytest.raises(SignalError, match=f"cannot create the output directory: {reason}$"):
        check_directory(f"{closed.path}/sub/", "output")


def _stdout_is_a_file() -> None:
    try:
        os.stat("/dev/stdout")
    except OSError:
        pytest.skip("no /dev/stdout")


def test_json_with_the_signal_on_dev_stdout_names_json(runner, noisy_csv):
    _stdout_is_a_file()
    result = runner.invoke(cli, [*ARGS, str(noisy_csv), "--json", "-o", "/dev/stdout"])
    assert_fails(
        result,
        2,
        r"^Error: --json puts the report on stdout, and -o /dev/stdout is stdout too; "
        r"give the signal -o FILE \(see",
    )


def test_report_dev_stdout_with_the_signal_on_stdout_names_it(runner, noisy_csv):
    _stdout_is_a_file()
    result = runner.invoke(cli, [*ARGS, str(noisy_csv), "--report", "/dev/stdout"])
    assert_fails(result, 2, r"^Error: --report /dev/stdout needs -o to name a file")
    result = runner.invoke(cli, [*ARGS, str(noisy_csv), "--report", "-"])  # as before
    assert_fails(result, 2, r"^Error: --report - needs -o to name a file")
    with pytest.raises(ParameterError, match=r"^report_path='/dev/stdout' needs output"):
        check_paths(str(noisy_csv), "-", report_path="/dev/stdout")


def test_learn_json_with_the_signal_on_dev_stdout_is_refused(runner, noisy_csv):
    _stdout_is_a_file()
    argv = ["learn", "--per-file", str(noisy_csv), "--json", "-o", "/dev/stdout"]
    result = runner.invoke(cli, [*argv, "--blocks", "2", "--stop", "none"])
    assert_fails(result, 2, r"^Error: --json puts the report on stdout, and -o /dev/stdout")
