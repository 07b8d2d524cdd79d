"""The left-overs of a sensor engineer's and a Windows/macOS user's audits (audit18a,
audit18b) that the fixes before left open: a channel reading no noise beside a loud one
(A11), ..."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest


def _adc(n: int = 2000, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(2048 + 300 * np.sin(np.arange(n) / 60) + rng.normal(0, 6, n))


# A11: a channel whose noise reads 0 beside a loud one


@pytest.mark.parametrize("chunk", ["0", "500"], ids=["whole", "streamed"])
@pytest.mark.parametrize("header", [True, False], ids=["named", "headerless"])
def test_a_wrapping_counter_beside_a_loud_column_is_warned_of(runner, tmp_path, chunk, header):
    """Before: 'noise sigma 0, 6.1', the counter filtered at the loud column's lambda
    (254 -> 252.7 at each wrap), no warning; a level of 0.29 beside 6.1 was warned of."""
    from resdenoise.cli import cli

    adc = _adc()
    seq = np.arange(adc.size) % 256
    src = tmp_path / "wrap.csv"
    rows = "".join(f"{s},{int(a)}\n" for s, a in zip(seq, adc, strict=True))
    src.write_text(("seq,adc\n" if header else "") + rows)
    report = tmp_path / "r.json"
    args = ["diffuse", str(src), "--time", "5", "--chunk-size", chunk, "--report", str(report)]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    name = "column 1 ('seq')" if header else "column 1"
    line = f"{name} reads no noise (0) beside column 2"
    assert line in result.stderr
    assert any(w.startswith(line) for w in json.loads(report.read_text())["warnings"])


def test_a_constant_column_beside_a_loud_one_is_not_warned_of(runner, tmp_path):
    from resdenoise.cli import cli

    adc = _adc()
    src = tmp_path / "flat.csv"
    src.write_text("flag,adc\n" + "".join(f"1,{int(a)}\n" for a in adc))
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "5", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    assert "reads no noise" not in result.stderr and "warning" not in result.stderr


def test_the_levels_note_without_the_samples_is_as_before():
    from resdenoise.split import channel_levels_note

    extra = {"noise_sigma": [0.0, 6.1], "lambda_rule": "auto"}
    assert channel_levels_note(extra) is None  # not known to move: not warned
    assert "reads no noise" in channel_levels_note(extra, None, np.c_[np.arange(9.0), np.ones(9)])


# A5's gap: --in-place --report - printed the report before the changed-input check


@pytest.mark.parametrize("chunk", [0, 100], ids=["whole", "streamed"])
def test_an_in_place_run_that_refuses_prints_no_report(tmp_path, capfd, chunk):
    """Before: the report was written to stdout, then the run refused (the input changed
    during it: not replaced), exit 1: a report of an output never written."""
    from resdenoise.errors import SignalError
    from resdenoise.pipeline import RunOptions, run_file
    from resdenoise.plans import planner

    src = tmp_path / "log.csv"
    src.write_text("t,adc\n" + "".join(f"{i},{int(v)}\n" for i, v in enumerate(_adc(400))))
    base = planner("diffuse", "perona-malik", lam=20.0, steps=4)

    def appending(x, **named):  # the logger writes while the run plans and filters
        with open(src, "a") as fh:
            fh.write("400,2048\n")
        return base(x, **named)

    capfd.readouterr()
    with pytest.raises(SignalError, match="the file changed while it was (filtered|read)"):
        run_file(
            appending, str(src), in_place=True, report_path="-", run=RunOptions(chunk_size=chunk)
        )
    assert capfd.readouterr().out == ""
    assert src.read_text().endswith("400,2048\n")


def test_an_unchanged_in_place_run_prints_its_report(tmp_path, capfd):
    from resdenoise.pipeline import run_file
    from resdenoise.plans import planner

    src = tmp_path / "log.csv"
    src.write_text("t,adc\n" + "".join(f"{i},{int(v)}\n" for i, v in enumerate(_adc(400))))
    capfd.readouterr()
    run_file(
        planner("diffuse", "perona-malik", lam=20.0, steps=4),
        str(src),
        in_place=True,
        report_path="-",
    )
    assert json.loads(capfd.readouterr().out)["steps"] == 4


# A2: a level read that is the rounding of whole-numbered samples


@pytest.mark.parametrize("chunk", ["0", "2000"], ids=["whole", "streamed"])
def test_a_level_read_at_the_rounding_of_whole_counts_is_warned_of(runner, tmp_path, chunk):
    """Before: a clean 12-bit sine read 0.267 counts (its rounding, 1/sqrt(12) = 0.289),
    filtered as white noise, every sample changed, no word."""
    from resdenoise.cli import cli

    src = tmp_path / "q.csv"
    t = np.arange(20000)
    src.write_text("adc\n" + "".join(f"{int(v)}\n" for v in np.round(2048 + 400 * np.sin(t / 796))))
    report = tmp_path / "r.json"
    args = ["diffuse", str(src), "--time", "5", "--chunk-size", chunk, "--report", str(report)]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    line = f"{src}: the noise level read (0.2"
    assert line in result.stderr and "all whole numbers (step/sqrt(12) = 0.289)" in result.stderr
    assert any(w.startswith(line) for w in json.loads(report.read_text())["warnings"])


def test_noisy_counts_and_fractions_are_not_warned_of(runner, tmp_path):
    from resdenoise.cli import cli

    src = tmp_path / "n.csv"
    src.write_text("adc\n" + "".join(f"{int(v)}\n" for v in _adc()))  # noise 6 counts
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "5", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0 and "rounding noise" not in result.stderr, result.stderr
    t = np.arange(20000)  # fractions of every digit (no step of 6 decimal places or fewer)
    src.write_text("v\n" + "".join(f"{v!r}\n" for v in (2 + np.sin(t / 796)).tolist()))
    result = runner.invoke(cli, ["diffuse", str(src), "--time", "5", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0 and "rounding noise" not in result.stderr, result.stderr


def test_the_step_of_whole_numbers():
    from resdenoise.level_notes import _whole_step, quantised_note

    assert _whole_step(np.array([2048.0, 2052, 2044])) == 4.0
    assert _whole_step(np.array([1.0, 1.5])) == 0.5  # a decimal place (fix20a)
    assert _whole_step(np.array([1.0, 1.0 + 1e-9])) is None  # more than 6 decimals
    assert _whole_step(np.array([3.0, 3.0])) is None  # constant: no step
    assert quantised_note("x", [1.1], [4.0]) is not None  # 4/sqrt(12) = 1.15
    assert quantised_note("x", [1.2], [4.0]) is None
    assert quantised_note("x", [0.0], [1.0]) is None  # nothing read


# A9: a --sigma in the wrong units


@pytest.mark.parametrize("chunk", ["0", "5000"], ids=["whole", "streamed"])
def test_a_level_given_in_counts_for_a_sound_file_is_warned_of(runner, tmp_path, chunk):
    """Before: --sigma 6 (counts) on a PCM_16 file (samples in -1..1) ran without a word,
    its sine 37 % smaller."""
    import soundfile

    from resdenoise.cli import cli

    rng = np.random.default_rng(2)
    t = np.arange(20000)
    x = 0.9 * np.sin(t / 50) + rng.normal(0, 0.003, t.size)
    src = tmp_path / "s.wav"
    soundfile.write(str(src), x, 8000, subtype="PCM_16")
    report = tmp_path / "r.json"
    args = ["diffuse", str(src), "--time", "5", "--sigma", "6", "--chunk-size", chunk]
    result = runner.invoke(cli, [*args, "--report", str(report), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.stderr
    line = f"{src}: the noise level given, --sigma 6 (sigma=6), is "
    assert line in result.stderr and "one count of its 16-bit samples is 3.05e-05" in result.stderr
    assert "above the samples' " in result.stderr
    assert any(w.startswith(line) for w in json.loads(report.read_text())["warnings"])


def test_a_level_given_in_volts_for_counts_is_warned_of(runner, tmp_path):
    from resdenoise.cli import cli

    src = tmp_path / "c.csv"
    src.write_text("adc\n" + "".join(f"{int(v)}\n" for v in _adc()))
    args = ["diffuse", str(src), "--time", "5", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [*args, "--sigma", "0.005"])
    assert result.exit_code == 0, result.stderr
    assert "--sigma 0.005 (sigma=0.005), is 1/1" in result.stderr
    assert "of the level read (" in result.stderr
    for sigma in ("6", "0.05", "60"):  # 20x above to 500x below the level read: not warned of
        result = runner.invoke(cli, [*args, "--sigma", sigma])
        assert result.exit_code == 0 and "noise level given" not in result.stderr, result.stderr


# B10: Windows device names as an output (emulated: the platform test patched)


@pytest.mark.parametrize(
    "name", ["aux.csv", "CON.wav", "com1.csv", "Lpt3.out.csv", "nul.csv", "prn", "conin$.csv"]
)
def test_a_windows_device_name_as_the_output_is_refused_there(runner, tmp_path, monkeypatch, name):
    """Before: from reading, aux.csv on Windows 10 is the AUX device (the output written to
    it, or an error of the system's); now one line, exit 2, nothing read or written."""
    from resdenoise.cli import cli
    from resdenoise.io import signal as signal_io

    src = tmp_path / "in.csv"
    src.write_text("".join(f"{v}\n" for v in _adc(64)))
    monkeypatch.setattr(signal_io, "_windows", lambda: True)
    for args in (["-o", str(tmp_path / name)], ["-o", str(tmp_path / "o.csv"), "--report", name]):
        result = runner.invoke(cli, ["diffuse", str(src), "--time", "1", *args])
        stem = name.split(".")[0].upper()
        assert result.exit_code == 2, result.stderr
        assert f"{stem} is a Windows device name (with any extension)" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_device_names_are_names_elsewhere(monkeypatch):
    from resdenoise.io import signal as signal_io

    signal_io.refuse_device_name("aux.csv", "output")  # not Windows: a file like any other
    monkeypatch.setattr(signal_io, "_windows", lambda: True)
    for fine in ("NUL", "nul", "auxiliary.csv", "com10.csv", "dir\\console.csv", "-", None):
        signal_io.refuse_device_name(fine, "output")  # NUL alone: the null device
    with pytest.raises(signal_io.ParameterError, match="AUX is a Windows device name"):
        signal_io.refuse_device_name("C:\\data\\aux .csv", "output")


# B10: the C loop's build with MSVC (not available here: the source preprocessed as it sees it)


def test_msvc_builds_with_c11_and_sees_no_gcc_extension():
    """Before: setup.py's MSVC flags had no /std:c11, and the source used C99's restrict
    and inline outside any guard (29 and 26 times as MSVC without the flag sees it)."""
    import re
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setup = (root / "setup.py").read_text()
    msvc = re.search(r'if sys.platform == "win32":.*?flags = (\[[^]]*\])', setup, re.S)
    assert msvc is not None and "/std:c11" in msvc.group(1)
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C preprocessor")
    source = re.sub(r"(?m)^#include.*$", "", (root / "resdenoise" / "_kernels.c").read_text())
    for std in ("c89", "c11"):  # MSVC without /std:c11 (no __STDC_VERSION__), and with it
        seen = subprocess.run(
            [cc, "-E", "-P", "-undef", f"-std={std}", "-D_MSC_VER=1930", "-D_WIN64", "-x", "c", "-"],
            input=source, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for word in (
            r"__attribute__",
            r"__builtin_\w+",
            r"pthread_\w+",
            r"atomic_\w+",
            r"_mm256\w*",
        ):
            assert not re.search(rf"\b{word}\b", seen), (std, word)
        if std == "c89":
            assert not re.search(r"\b(restrict|inline)\b", seen)


# B10: the package says which systems and Pythons it is tested on


def test_the_classifiers_name_what_is_tested():
    """Before: no classifiers at all (no Operating System, no Python version)."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    said = meta["project"]["classifiers"]
    assert "Operating System :: POSIX :: Linux" in said
    assert not any(
        c.startswith(("Operating System :: Microsoft", "Operating System :: MacOS")) for c in said
    )
    low = int(meta["project"]["requires-python"].removeprefix(">=3."))
    assert [f"Programming Language :: Python :: 3.{v}" for v in range(low, 14)] == [
        c for c in said if c.startswith("Programming Language :: Python :: 3.")
    ]


# A signal during the command line run in a caller's process (click's runner, cli.main())


def _signal_at_the_rename(monkeypatch, signum: int) -> None:
    import os
    import signal

    from resdenoise.io import atomic

    real = atomic._TempOutput.rename

    def rename(self) -> None:
        real(self)
        os.kill(os.getpid(), signum)  # deferred: acts once the renames are done

    monkeypatch.setattr(atomic._TempOutput, "rename", rename)
    assert signal.getsignal(signum) is not signal.SIG_IGN


def test_a_signal_to_an_in_process_run_reaches_the_callers_handler(runner, tmp_path, monkeypatch):
    """Before: the run's handler took SIGTERM, the run cleaned up and ended with exit 143,
    and the caller never saw it: a test run (pytest) went on with its next test, so that
    SIGTERM to pytest was lost whenever it came during a command's run.  Now, once the
    run is cleaned up and its handlers restored, the signal is raised again for the
    caller's handler (SIG_DFL: the process ends, as it would have without the run)."""
    import signal

    src = tmp_path / "in.csv"
    src.write_text("".join(f"{v}\n" for v in _adc(64)))
    from resdenoise.cli import cli

    got: list = []
    before = signal.signal(signal.SIGTERM, lambda s, _frame: got.append(s))
    try:
        _signal_at_the_rename(monkeypatch, signal.SIGTERM)
        result = runner.invoke(
            cli, ["diffuse", str(src), "--steps", "1", "-o", str(tmp_path / "o.csv")]
        )
    finally:
        signal.signal(signal.SIGTERM, before)
    assert got == [signal.SIGTERM]
    assert result.exit_code == 143 and "interrupted by SIGTERM" in result.stderr
    assert signal.getsignal(signal.SIGTERM) is before


def test_ctrl_c_in_an_in_process_run_is_the_callers_keyboard_interrupt(
    runner, tmp_path, monkeypatch
):
    import signal

    from resdenoise.cli import cli

    src = tmp_path / "in.csv"
    src.write_text("".join(f"{v}\n" for v in _adc(64)))
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_at_the_rename(monkeypatch, signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", str(tmp_path / "o.csv")])
    finally:
        signal.signal(signal.SIGINT, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "o.csv"]  # no temporary
