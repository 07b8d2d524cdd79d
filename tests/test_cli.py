"""The four commands end to end through click's CliRunner."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.engine import run_blocks
from resdenoise.nonlinearities import get_nonlinearity

COMMANDS = {
    "diffuse": ["--diffusivity", "perona-malik", "--lambda", "0.5", "--time", "3"],
    "shrink": ["--shrinkage", "garrote", "--threshold", "0.3", "--iterations", "4"],
    "regularise": ["--regulariser", "huber", "--lambda", "0.5", "--alpha", "2"],
    "resnet": ["--activation", "isru", "--lambda", "0.5", "--blocks", "6"],
}

# (form, name, lambda, tau, steps) each command must run, for the reference below
EXPECTED_BLOCKS = {
    "diffuse": ("diffusivity", "perona-malik", 0.5, 0.25, 12),
    "shrink": ("shrinkage", "garrote", 0.3 * math.sqrt(2), 0.25, 4),
    "regularise": ("regulariser", "huber", 0.5, 0.25, 8),
    "resnet": ("activation", "isru", 0.5, 0.25, 6),
}


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def signal(rng):
    t = np.linspace(0, 1, 200)
    return np.sign(np.sin(6 * t)) + rng.normal(0, 0.1, t.size)


def reference(command, data):
    form, name, lam, tau, steps = EXPECTED_BLOCKS[command]
    nl = get_nonlinearity(name, form, lam)
    return run_blocks(data, nl.phi, tau, steps)


def write_csv(path, data, header=None):
    rows = data.reshape(data.shape[0], -1)
    lines = [",".join(header)] if header else []
    lines += [",".join(repr(float(x)) for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_help_for_every_command(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
        sub = runner.invoke(cli, [command, "--help"])
        assert sub.exit_code == 0, sub.output
        assert "Example:" in sub.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_csv_mono_to_stdout(runner, tmp_path, signal, command):
    src = tmp_path / "in.csv"
    write_csv(src, signal)
    result = runner.invoke(cli, [command, str(src), "-q", *COMMANDS[command]])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = np.array([float(x) for x in result.stdout.split()])
    np.testing.assert_array_equal(out, reference(command, signal))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_csv_stereo_with_header_to_file(runner, tmp_path, signal, command):
    data = np.stack([signal, -0.5 * signal[::-1]], axis=1)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, data, header=["left", "right"])
    result = runner.invoke(cli, [command, str(src), "-o", str(dst), *COMMANDS[command]])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert ": guarantees held" in result.stderr and "sign stable" in result.stderr
    lines = dst.read_text().splitlines()
    assert lines[0] == "left,right"
    out = np.array([[float(x) for x in ln.split(",")] for ln in lines[1:]])
    np.testing.assert_array_equal(out, reference(command, data))


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_wav_mono_and_stereo(runner, tmp_path, rng, command, channels, subtype):
    data = 0.5 * np.sign(np.sin(np.arange(400) / 20.0))[:, None] + rng.normal(
        0, 0.05, (400, channels)
    )
    data = np.clip(data, -0.99, 0.99)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    soundfile.write(src, data if channels > 1 else data[:, 0], 22050, subtype=subtype)
    f, _ = soundfile.read(src, always_2d=True)
    result = runner.invoke(cli, [command, str(src), "-o", str(dst), "-q", *COMMANDS[command]])
    assert result.exit_code == 0, result.stderr
    info = soundfile.info(dst)
    assert (info.samplerate, info.channels, info.subtype) == (22050, channels, subtype)
    out, _ = soundfile.read(dst, always_2d=True)
    expected = reference(command, f if channels > 1 else f[:, 0]).reshape(out.shape)
    # the output is quantised to the subtype: half a step of 16 bits, or float32 rounding
    tol = 2.0**-16 if subtype == "PCM_16" else 1e-7
    np.testing.assert_allclose(out, expected, atol=tol)


def test_report_json_has_the_documented_keys(runner, tmp_path, signal):
    src, dst, rep = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "r.json"
    write_csv(src, signal)
    args = ["regularise", str(src), "-o", str(dst), "--report", str(rep), "-q"]
    result = runner.invoke(cli, args + COMMANDS["regularise"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(rep.read_text())
    for key in (
        "command",
        "family",
        "form",
        "parameters",
        "tau",
        "h",
        "steps",
        "stopping_time",
        "stability",
        "channels",
        "guarantees_held",
    ):
        assert key in report
    assert report["command"] == "regularise" and report["family"] == "soft"
    assert report["steps"] == 8 and report["stopping_time"] == 2.0
    st = report["stability"]
    assert (st["g_max"], st["tau_linf_bound"], st["tau_sign_bound"]) == (1.0, 0.5, 0.25)
    assert st["linf_stable"] and st["sign_stable"] and st["lipschitz"] == 1.0
    (ch,) = report["channels"]
    for key in (
        "input_min",
        "input_max",
        "output_min",
        "output_max",
        "max_min_principle",
        "sign_changes_in",
        "sign_changes_out",
        "tv_in",
        "tv_out",
        "mean_drift",
        "energy_in",
        "energy_out",
        "el_residual",
    ):
        assert key in ch
    assert ch["input_min"] == signal.min() and ch["input_max"] == signal.max()
    out = np.loadtxt(dst)
    assert ch["output_max"] == out.max()
    assert ch["tv_in"] == pytest.approx(np.abs(np.diff(signal)).sum(), rel=1e-14)
    assert report["guarantees_held"] is True


def test_report_to_stdout_needs_an_output_file(runner, tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal)
    bad = runner.invoke(cli, ["resnet", str(src), "--blocks", "2", "--report", "-"])
    assert bad.exit_code == 2
    good = runner.invoke(
        cli, ["resnet", str(src), "--blocks", "2", "--report", "-", "-o", str(tmp_path / "o.csv")]
    )
    assert good.exit_code == 0
    assert json.loads(good.stdout)["command"] == "resnet"


def test_hard_shrinkage_is_stable_although_lipschitz_is_infinite(runner, tmp_path, signal):
    src, rep = tmp_path / "in.csv", tmp_path / "r.json"
    write_csv(src, signal)
    args = [
        "resnet",
        str(src),
        "--activation",
        "hard",
        "--lambda",
        "0.3",
        "--blocks",
        "3",
        "--tau",
        "0.5",
        "-o",
        str(tmp_path / "o.csv"),
        "--report",
        str(rep),
        "-q",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    st = json.loads(rep.read_text())["stability"]
    assert st["lipschitz"] is None and st["linf_stable"] and not st["sign_stable"]


def test_unstable_tau_is_refused_before_any_output(runner, tmp_path, signal):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, signal)
    result = runner.invoke(
        cli, ["resnet", str(src), "--blocks", "3", "--tau", "0.6", "-o", str(dst)]
    )
    assert result.exit_code == 3
    assert "unstable" in result.stderr and "0.5" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not dst.exists()


def test_sign_unstable_run_warns(runner, tmp_path, signal):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, signal)
    result = runner.invoke(
        cli, ["resnet", str(src), "--blocks", "3", "--tau", "0.4", "-o", str(dst)]
    )
    assert result.exit_code == 0
    assert "warning" in result.stderr and "sign" in result.stderr
    assert dst.exists()


def test_allowed_unstable_run_fails_strict_with_output_written(runner, tmp_path, signal):
    src, dst, rep = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "r.json"
    write_csv(src, signal)
    args = [
        "resnet",
        str(src),
        "--activation",
        "linear",
        "--blocks",
        "5",
        "--tau",
        "1.0",
        "-o",
        str(dst),
        "--report",
        str(rep),
        "--allow-unstable",
        "--strict",
        "-q",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 4
    assert "--strict" in result.stderr
    assert dst.exists()
    report = json.loads(rep.read_text())
    assert report["guarantees_held"] is False
    assert report["stability"]["linf_stable"] is False
    assert not report["channels"][0]["max_min_principle"]
    # without --strict the same run exits 0 and still reports the failure
    args.remove("--strict")
    assert runner.invoke(cli, args).exit_code == 0
    assert json.loads(rep.read_text())["guarantees_held"] is False


def test_quiet_measures_only_what_is_written_or_judged(runner, tmp_path, signal):
    """-q builds the report only when it is written (--report, --json) or judged
    (--strict): the report written under -q is byte for byte the one written without
    it, --json prints the same bytes, and -q --strict without a report still exits 4
    on a failed guarantee (-q alone: 0, the same output)."""
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    loud, quiet = tmp_path / "loud.json", tmp_path / "quiet.json"
    write_csv(src, signal)
    args = ["resnet", str(src), "--activation", "linear", "--blocks", "5", "--tau", "1.0"]
    args += ["--allow-unstable", "-o", str(dst)]  # unstable: a guarantee fails
    assert runner.invoke(cli, [*args, "--report", str(loud)]).exit_code == 0
    written = dst.read_bytes()
    assert runner.invoke(cli, [*args, "--report", str(quiet), "-q"]).exit_code == 0

    def untimed(text: str) -> str:  # the report but its last key, job: the run's times
        head, job = text.split('\n  "job": ')
        assert job.startswith("{") and job.endswith("}\n}\n")
        return head

    assert untimed(quiet.read_text()) == untimed(loud.read_text())
    assert json.loads(loud.read_text())["guarantees_held"] is False
    printed = runner.invoke(cli, [*args, "--json", "-q"])
    assert printed.exit_code == 0 and untimed(printed.stdout) == untimed(loud.read_text())
    strict = runner.invoke(cli, [*args, "--strict", "-q"])
    assert strict.exit_code == 4 and "--strict" in strict.stderr
    dst.unlink()
    alone = runner.invoke(cli, [*args, "-q"])
    assert (alone.exit_code, alone.stderr) == (0, "") and dst.read_bytes() == written


def test_unknown_name_lists_the_valid_ones(runner, tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal)
    result = runner.invoke(cli, ["diffuse", str(src), "--diffusivity", "nope", "--steps", "1"])
    assert result.exit_code == 2
    assert "truncated-tv" in result.stderr and "perona-malik" in result.stderr


def test_diffuse_needs_time_or_steps(runner, tmp_path, signal):
    src = tmp_path / "in.csv"
    write_csv(src, signal)
    result = runner.invoke(cli, ["diffuse", str(src)])
    assert result.exit_code == 2
    assert "--time" in result.stderr and "--steps" in result.stderr


def test_stdin_to_stdout(runner, signal):
    text = "\n".join(repr(float(x)) for x in signal) + "\n"
    result = runner.invoke(cli, ["resnet", "-", "--blocks", "2", "--lambda", "1", "-q"], input=text)
    assert result.exit_code == 0, result.stderr
    out = np.array([float(x) for x in result.stdout.split()])
    nl = get_nonlinearity("tanh", "activation", 1.0)
    np.testing.assert_array_equal(out, run_blocks(signal, nl.phi, 0.25, 2))


def test_python_dash_m_runs(tmp_path, signal):
    import subprocess
    import sys

    src = tmp_path / "in.csv"
    write_csv(src, signal)
    proc = subprocess.run(
        [sys.executable, "-m", "resdenoise", "shrink", str(src), "--threshold", "0.2", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == signal.size


_PROGRAM = """
import atexit, os, sys, threading, time

real_exit = os._exit


def _exit(code):
    os.write(2, b"os._exit %d\\n" % code)
    real_exit(code)


os._exit = _exit  # the program's fast end, seen
atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
mode, marker = sys.argv[1:3]
if mode == "thread":  # a thread still running when the command is done

    def late():  # runs until the main thread has ended, then leaves a mark
        while threading.main_thread().is_alive():
            time.sleep(0.005)
        open(marker, "w").close()

    threading.Thread(target=late).start()
sys.argv = ["resdenoise", *sys.argv[3:]]
from resdenoise.cli import main

main()
"""


@pytest.mark.parametrize("thread", [False, True], ids=["alone", "thread-running"])
def test_the_program_ends_without_the_teardown_of_its_modules(tmp_path, signal, thread):
    """The program (resdenoise.cli.main) ends by os._exit once its command is done:
    atexit handlers run and stdout is complete (the JSON report), its exit code as
    the command gave it; Python's teardown is skipped (about 10 ms of a small
    run), except while a thread other than daemons is still running."""
    import subprocess
    import sys

    src = tmp_path / "in.csv"
    src.write_text("\n".join(map(repr, signal.tolist())))
    marker = tmp_path / "late"
    args = ["thread" if thread else "alone", str(marker)]
    run = ["diffuse", "--diffusivity", "linear", "--steps", "2", str(src), "--json"]
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args, *run, "-o", str(tmp_path / "o.csv")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == 2
    assert "atexit ran" in done.stderr
    assert ("os._exit 0" in done.stderr) is not thread
    assert marker.exists() is thread
    bad = subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args, *run[:-1], "--steps", "-1"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "atexit ran" in bad.stderr, bad.stderr
    assert ("os._exit 2" in bad.stderr) is not thread


def _help_examples(command: str) -> list[str]:
    """The lines of ``command --help``'s Example block, as a user would copy them."""
    text = CliRunner().invoke(cli, [command, "--help"], terminal_width=400).output
    lines = text.split("Example:", 1)[1].splitlines()[1:]
    return [x.strip() for x in itertools.takewhile(str.strip, lines)]


HELPED = [
    "denoise",
    "dictionary",
    "diffuse",
    "learn",
    "regularise",
    "resnet",
    "shrink",
    "translate",
]


def test_every_command_is_in_helped():
    import click

    assert cli.list_commands(click.Context(cli)) == sorted(HELPED)


@pytest.mark.parametrize("command", HELPED)
def test_every_help_example_runs_as_written(tmp_path, monkeypatch, command):
    """Each ``Example:`` line of every command's --help, run in a checkout's copy (its
    sample_signals and examples): exit code 0, or the one its comment states
    (audit12c D8: learn's named files no checkout has)."""
    import re
    import shlex
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for folder in ("sample_signals", "examples"):
        shutil.copytree(root / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    examples = _help_examples(command)
    assert examples
    for line in examples:
        stdin = None
        code = re.search(r"#.*exit code (\d+)", line)
        words = shlex.split(line, comments=True)
        if "|" in words:  # cat FILE | resdenoise ...
            cat, words = words[: words.index("|")], words[words.index("|") + 1 :]
            assert cat[0] == "cat", line
            stdin = Path(cat[1]).read_bytes()
        assert words[0] == "resdenoise", line
        result = CliRunner().invoke(cli, words[1:], input=stdin)
        assert result.exit_code == (int(code[1]) if code else 0), (line, result.output)


@pytest.mark.parametrize(
    "command, option, says",
    [
        ("diffuse", "--time", "[required: --time or --steps, not both]"),
        ("diffuse", "--steps", "[required: --time or --steps, not both]"),
        ("diffuse", "--scales", "[default: 1]"),
        ("shrink", "--scales", "[default: 1]"),
        ("resnet", "--blocks", "[required without --network]"),
        ("translate", "--threshold", "[default: lambda/sqrt2]"),
    ],
)
def test_help_states_what_is_required_and_the_defaults(command, option, says):
    """What a bare run would refuse or assume is in --help (audit12c D8)."""
    text = CliRunner().invoke(cli, [command, "--help"], terminal_width=400).output
    line = next(x for x in text.splitlines() if x.strip().startswith(option + " "))
    assert says in line
