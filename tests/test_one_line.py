"""One line for every failure, and text from files is never markup (issue 18,
items 5 and 9): each case below gave a traceback (or hung, or printed the
usage block) on the main branch of 2026-12-05.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

EXE = str(Path(sys.executable).parent / "resdenoise")
SIGNAL = "v\n1\n2\n1.5\n3\n2.5\n"


@pytest.fixture
def runner():
    return CliRunner()


def _one_line(result, code: int, pattern: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CASES = {
    # name: (file text, arguments after the file, exit code, message)
    "samples near 1e308: automatic lambda inf": (
        "v\n1e308\n-1e308\n1.5e308\n-1.2e308\n1e308\n",
        ["diffuse", "--steps", "2"],
        1,  # the samples' fault: exit 1, the file named
        r"automatic lambda .*--lambda",
    ),
    "zeros and one subnormal: automatic lambda 0": (
        "v\n0\n0\n0\n5e-324\n0\n0\n",
        ["diffuse", "--steps", "2"],
        1,  # the samples' fault: exit 1, the file named
        r"automatic lambda .*--lambda",
    ),
    "threshold 1.3e308": (SIGNAL, ["shrink", "--threshold", "1.3e308"], 2, r"--threshold"),
    "time 1e300 at tau 1e-10": (
        SIGNAL,
        ["diffuse", "--time", "1e300", "--tau", "1e-10"],
        2,
        r"steps.*at most .*years per million samples",
    ),
    "steps 10^30": (
        SIGNAL,
        ["diffuse", "--steps", str(10**30)],
        2,
        r"at most .*about 3.2e\+19 years per million samples",
    ),
    "h 1e-200": (SIGNAL, ["diffuse", "--steps", "2", "--h", "1e-200"], 2, r"--h"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_numeric_edges_fail_in_one_line(runner, tmp_path, case):
    text, args, code, pattern = CASES[case]
    src = _file(tmp_path, "in.csv", text)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [args[0], src, *args[1:], "-q", "-o", str(out)])
    _one_line(result, code, pattern)
    assert not out.exists()


def test_deeply_nested_network_file(runner, tmp_path):
    net = _file(tmp_path, "deep.toml", "a = " + "[" * 3000 + "]" * 3000 + "\n")
    result = runner.invoke(cli, ["resnet", _file(tmp_path, "in.csv", SIGNAL), "--network", net])
    _one_line(result, 2, r"deep\.toml: .*nested")


def test_network_from_a_device_is_refused(runner, tmp_path):
    result = runner.invoke(
        cli, ["resnet", _file(tmp_path, "in.csv", SIGNAL), "--network", "/dev/zero"]
    )
    _one_line(result, 1, r"/dev/zero: .*not a network file")


def test_network_file_too_large(runner, tmp_path):
    net = _file(tmp_path, "big.toml", "# " + "x" * (2 << 20) + "\n")
    result = runner.invoke(cli, ["resnet", _file(tmp_path, "in.csv", SIGNAL), "--network", net])
    _one_line(result, 2, r"big\.toml: .*MiB")


def test_binary_stdin_is_refused_without_spooling_it(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    zeros = tmp_path / "zeros"
    zeros.write_bytes(bytes(8 << 20))
    with open(zeros, "rb") as fh:
        proc = subprocess.run(
            [EXE, "diffuse", "-", "--steps", "2", "-q"],
            stdin=fh,
            capture_output=True,
            timeout=60,
            env=dict(os.environ, TMPDIR=str(spool)),
        )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "NUL" in lines[0], lines
    assert list(spool.iterdir()) == []


MARKUP = "[/]"
BLINK = "[blink]ALL GUARANTEES HELD[/blink]"


def test_markup_in_a_network_file_is_text(runner, tmp_path):
    net = _file(
        tmp_path,
        "net.toml",
        f'description = "{MARKUP}"\n[[block]]\nactivation = "tanh"\nrepeat = 2\n'
        f'label = "{BLINK}"\n',
    )
    out = tmp_path / "o.csv"
    args = ["resnet", _file(tmp_path, "in.csv", SIGNAL), "--network", net, "-o", str(out), "-v"]
    result = runner.invoke(cli, args, env={"COLUMNS": "400"})  # -v: the blocks' table too
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert f"network {MARKUP}" in result.stderr
    assert BLINK in result.stderr  # shown as the text it is, not as a style
    assert out.exists()


@pytest.mark.parametrize("below", ["o.csv", "sub/o.csv"])
def test_output_directory_without_search_permission(runner, tmp_path, monkeypatch, below):
    """The directory that cannot be searched is the one named (for locked/sub/o.csv
    the message named 'locked/sub', which cannot even be seen, until 2026-12-05)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_stat = os.stat

    def stat(path, *args, **kwargs):  # what the kernel says to anyone but root
        if str(path).startswith(str(locked) + os.sep):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: str(path) != str(locked))
    args = ["diffuse", _file(tmp_path, "in.csv", SIGNAL), "--steps", "2", "-q"]
    result = runner.invoke(cli, [*args, "-o", str(locked / below)])
    _one_line(result, 1, r"locked/(sub/)?o\.csv: .*permission denied")
    assert result.stderr.endswith(f": cannot look into '{locked}' (permission denied)\n")


def test_stdout_closed(tmp_path):
    src = _file(tmp_path, "in.csv", SIGNAL)
    proc = subprocess.run(
        f"'{EXE}' diffuse '{src}' --steps 2 -q >&-",
        shell=True,
        capture_output=False,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "stdout" in lines[0], lines


def test_streamed_input_replaced_between_passes(tmp_path, monkeypatch):
    from resdenoise.errors import SignalError
    from resdenoise.io import open_signal_stream

    src = tmp_path / "in.csv"
    src.write_text("v\n" + "".join(f"{k % 7}.5\n" for k in range(5000)))
    stream = open_signal_stream(str(src))
    src.write_text("v\n1\n2\n")  # replaced after the checking pass
    with pytest.raises(SignalError, match=r"in\.csv: .*changed"):
        for _ in stream.blocks():
            pass


def test_usage_error_is_one_line(runner, tmp_path):
    result = runner.invoke(cli, ["diffuse", _file(tmp_path, "in.csv", SIGNAL)])
    _one_line(result, 2, r"--time or --steps.*--help")


def test_unexpected_error_is_one_line(runner, tmp_path, monkeypatch):
    import resdenoise.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "run_file", broken)
    result = runner.invoke(cli, ["diffuse", _file(tmp_path, "in.csv", SIGNAL), "--steps", "2"])
    _one_line(result, 1, r"internal error: RuntimeError: a bug")


@pytest.mark.parametrize("cell", ["1_000", "\u0661\u0662\u0663", "\uff11.5"])
def test_numbers_are_ascii_without_underscores(runner, tmp_path, cell):
    src = _file(tmp_path, "in.csv", f"v\n1\n2\n{cell}\n3\n")
    for chunked in ([], ["--chunk-size", "2"]):
        result = runner.invoke(cli, ["diffuse", src, "--steps", "1", "-q", *chunked])
        _one_line(result, 1, r"in\.csv: line 4, column 1")


def test_report_directory_with_one_input(runner, tmp_path):
    args = ["diffuse", _file(tmp_path, "in.csv", SIGNAL), "--steps", "1", "-q"]
    result = runner.invoke(
        cli, [*args, "-o", str(tmp_path / "o.csv"), "--report", str(tmp_path / "rep") + "/"]
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "rep" / "in.csv.json").is_file()
    assert not (tmp_path / "rep").is_file()


def _near_max(tmp_path) -> str:
    import random

    rng = random.Random(1)
    values = [1.5e308 - rng.random() * 1e307 for _ in range(200)]
    return _file(tmp_path, "in.csv", "v\n" + "".join(f"{v!r}\n" for v in values))


def test_sums_near_the_float64_maximum_do_not_overflow(runner, tmp_path):
    """Item 8: a correct run near 1.5e308 held its guarantees, but the mean
    overflowed (drift nan) and --strict exited 4."""
    args = ["diffuse", _near_max(tmp_path), "--diffusivity", "linear", "--lambda", "1"]
    report = tmp_path / "r.json"
    result = runner.invoke(cli, [*args, "--steps", "2", "--strict", "-q", "--report", str(report)])
    assert result.exit_code == 0, result.stderr
    _drift_is_measured(report)


def _drift_is_measured(report) -> None:
    """The report's mean drift is a number within its tolerance, not nan (audit16b B4)."""
    doc = json.loads(report.read_text())
    (channel,) = doc["channels"]
    assert math.isfinite(channel["mean_drift"]), channel
    assert abs(channel["mean_drift"]) <= doc["tolerance"]["mean"] and channel["mean_preserved"]


def test_streamed_sums_near_the_float64_maximum_are_one_line(runner, tmp_path):
    args = ["diffuse", _near_max(tmp_path), "--diffusivity", "linear", "--lambda", "1"]
    report = tmp_path / "r.json"
    streamed = ["--steps", "2", "-q", "--chunk-size", "50", "--report", str(report)]
    result = runner.invoke(cli, [*args, *streamed])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr
    _drift_is_measured(report)


@pytest.mark.parametrize(
    "value, chunked",
    [
        ("1e39", []),
        ("-5e38", ["--chunk-size", "2"]),
        ("1e-50", []),
        ("1e-50", ["--chunk-size", "2"]),
    ],
)
def test_values_beyond_float32_are_refused(runner, tmp_path, value, chunked):
    """Item 6: with --dtype float32, a sample float32 cannot hold is refused, not
    turned into inf or 0."""
    src = _file(tmp_path, "in.csv", f"v\n1\n2\n{value}\n3\n")
    args = ["diffuse", src, "--steps", "1", "--lambda", "1", "--dtype", "float32", "-q"]
    result = runner.invoke(cli, [*args, *chunked, "-o", str(tmp_path / "o.csv")])
    _one_line(result, 1, r"in\.csv: .*float32.*--dtype float64")
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "values, args",
    [
        ("2e200,-1e200,1.5e200,-2e200", ["--diffusivity", "perona-malik", "--dtype", "float64"]),
        ("4e20,-1e20,3e20,-4e20", ["--shrinkage", "garrote", "--threshold", "1e20"]),
    ],
)
def test_flux_whose_squares_overflow_runs_stably(runner, tmp_path, values, args):
    """Item 6: a stable plan whose flux had an intermediate overflow (r^2 or lambda^2
    beyond the working precision) runs in the flux's scaled form, finite and within
    the input's range; it was refused here before (and "diverged" before that)."""
    src = _file(tmp_path, "in.csv", "v\n" + "\n".join(values.split(",") * 4) + "\n")
    out = tmp_path / "o.csv"
    if args[0] == "--shrinkage":
        command = ["shrink", src, *args, "--dtype", "float32"]
    else:
        command = ["diffuse", src, "--steps", "2", *args]
    result = runner.invoke(cli, [*command, "-q", "--strict", "-o", str(out)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    written = [float(v) for v in out.read_text().split()[1:]]
    given = [float(v) for v in values.split(",")]
    assert all(math.isfinite(v) and min(given) <= v <= max(given) for v in written), written


@pytest.mark.parametrize("family", ["perona-malik", "linear"])
def test_differences_beyond_the_dtype_are_refused_before_running(runner, tmp_path, family):
    """Item 6: samples whose differences float64 cannot hold (+-1e308) were refused with
    the reason where the flux of such a difference is not finite: the input's fault,
    whatever lambda (exit 1; was exit 3, 'range inf', audit10a #7).  A registry family
    now runs them halved (audit21b A21b-7); a formula of the differences is still
    refused in one line."""
    src = _file(tmp_path, "in.csv", "v\n1e308\n-1e308\n1e308\n0\n")
    out = tmp_path / "o.csv"
    args = ["diffuse", src, "--diffusivity", family, "--lambda", "1", "--steps", "2", "-q"]
    assert runner.invoke(cli, [*args, "-o", str(out)]).exit_code == 0
    assert np.isfinite(np.loadtxt(out, skiprows=1)).all()
    out.unlink()
    formula = "exp(-r**2)" if family == "perona-malik" else "1 + 0*r"
    args = ["diffuse", src, "--diffusivity-expr", formula, "--steps", "2", "-q"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    _one_line(
        result,
        1,
        r"range from -1e\+308 to 1e\+308 leaves float64 .* is not finite at such a "
        r"difference \(a function of the differences as given: not run halved\); scale",
    )
    assert not out.exists()


def test_a_control_blank_before_a_number_is_one_error():
    """Found by the fuzz test: str.strip drops \\x1c, float() does not; the reader
    then failed with a TypeError (on main as well)."""
    from resdenoise.errors import SignalError
    from resdenoise.io import parse_signal

    with pytest.raises(SignalError, match=r"line 1, column 1"):
        parse_signal(b"\x1c0")


# --------------------------------------------------------------------------
# Item 5: a streamed input replaced between passes
# --------------------------------------------------------------------------

SAME_SIZE = "v\n9\n8\n7.5\n6\n5.5\n"  # as long as SIGNAL, other values


@pytest.mark.parametrize("how", ["replaced", "rewritten in place"])
def test_a_stream_whose_file_changes_between_passes_is_refused(tmp_path, how):
    from resdenoise.errors import SignalError
    from resdenoise.io import open_signal_stream

    src = _file(tmp_path, "in.csv", SIGNAL)
    stream = open_signal_stream(src)
    assert len(SAME_SIZE) == len(SIGNAL)
    if how == "replaced":
        os.replace(_file(tmp_path, "other.csv", SAME_SIZE), src)
    else:
        with open(src, "r+") as fh:
            fh.write(SAME_SIZE)
        os.utime(src, ns=(1, 1))  # (even an mtime set back: ctime still moves)
    with pytest.raises(SignalError, match=r"in\.csv: the file changed while it was read"):
        list(stream.blocks())


def test_the_command_line_refuses_an_input_replaced_between_passes(runner, tmp_path, monkeypatch):
    import resdenoise.io as rio

    src = _file(tmp_path, "in.csv", SIGNAL)
    opened = rio.open_signal_stream

    def open_then_replace(path, *args, **kwargs):
        stream = opened(path, *args, **kwargs)
        if os.fspath(path) == src:  # after the first pass, before the others
            os.replace(_file(tmp_path, "other.csv", SAME_SIZE), src)
        return stream

    monkeypatch.setattr(rio, "open_signal_stream", open_then_replace)
    out = tmp_path / "o.csv"
    args = ["diffuse", src, "--steps", "2", "--lambda", "1", "--chunk-size", "2", "-q"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    _one_line(result, 1, r"in\.csv: the file changed while it was read")
    assert not out.exists()


# --------------------------------------------------------------------------
# Item 9: a network of many formula groups
# --------------------------------------------------------------------------


def _formula_network(formulas: list[str]) -> str:
    return "".join(f'[[block]]\nactivation-expr = "{f}"\nrepeat = 1\n\n' for f in formulas)


def test_identical_formula_groups_are_compiled_and_sampled_once(monkeypatch):
    """1,000 groups of 3 formulas: 3 compilations and 3 stability samplings, where
    each group compiled and sampled its formula (twice) before: ~50 s of checks."""
    from resdenoise import expr, function_properties, network

    formulas = ["r/(1 + abs(r)/lam)", "lam*tanh(r/lam)", "r/sqrt(1 + (r/lam)**2)"]
    spec = network.parse_network(_formula_network(formulas * 334), "net.toml")
    built = []
    real = network.expression_nonlinearity
    monkeypatch.setattr(
        network, "expression_nonlinearity", lambda *a, **k: built.append(a[0]) or real(*a, **k)
    )
    function_properties._FORMULA_PROPERTIES.clear()  # a formula's properties: kept by its key
    sampled = []
    sample = function_properties._sampled_properties
    monkeypatch.setattr(
        function_properties, "_sampled_properties", lambda nl: sampled.append(nl) or sample(nl)
    )
    plan = network.build_network(spec, np.linspace(-1.0, 1.0, 50), lam=1.0)
    verdict = plan.verdict()
    assert sorted(built) == sorted(formulas)
    assert len(sampled) == 3
    assert verdict.linf_stable and len(plan.groups) == 1002
    assert expr.parse_expression(formulas[0]) is expr.parse_expression(formulas[0])


def test_too_many_distinct_formulas_are_refused_with_an_estimate(runner, tmp_path):
    from resdenoise.network import MAX_FORMULAS

    formulas = [f"r/(1 + abs(r)/lam) * {i + 1000}/{i + 1001}" for i in range(MAX_FORMULAS + 1)]
    net = _file(tmp_path, "net.toml", _formula_network(formulas))
    out = tmp_path / "o.csv"
    args = ["resnet", _file(tmp_path, "in.csv", SIGNAL), "--network", net, "-q"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    _one_line(
        result, 2, rf"net\.toml: {MAX_FORMULAS + 1} distinct formulas; at most {MAX_FORMULAS} .* s "
    )
    assert not out.exists()
