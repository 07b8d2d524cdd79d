"""audit14b's findings: what the documentation promises, held to (B15, B14, B5, B7, B8,
B16, B12)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from resdenoise.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def _abc(tmp_path):
    src = tmp_path / "abc.csv"
    x = np.linspace(0, 1, 40)
    rows = "\n".join(f"{a},{b},{c}" for a, b, c in zip(x, x**2, np.sin(x), strict=True))
    src.write_text("a,b,c\n" + rows + "\n")
    return src


# --- B15: a CSV's columns not picked, written as audio or a store -----------------------


@pytest.mark.parametrize("name", ["out.wav", "out.flac", "out.zarr"])
def test_columns_not_picked_are_refused_as_audio_or_store(runner, tmp_path, name):
    if name.endswith(".zarr"):
        pytest.importorskip("zarr")
    src, dst = _abc(tmp_path), tmp_path / name
    args = ["diffuse", str(src), "--columns", "1", "--steps", "1", "--rate", "100"]
    result = runner.invoke(cli, [*args, "-o", str(dst), "-q"])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert "('b', 'c') would be lost" in line and "write CSV" in line and "--columns" in line
    assert not dst.exists()
    # every column picked: written, nothing carried (column a, a ramp exactly equally
    # spaced, is asked about as a time axis would be since audit17a A1: said to be filtered)
    every = [*args[:2], *args[4:], "--time-column", "none"]
    result = runner.invoke(cli, [*every, "-o", str(dst), "-q"])
    assert result.exit_code == 0, result.stderr


def test_time_column_as_audio_is_said_dropped_not_carried(runner, tmp_path):
    src, dst, rep = tmp_path / "tv.csv", tmp_path / "tv.wav", tmp_path / "r.json"
    t = np.arange(50) / 100
    src.write_text(
        "time,v\n" + "\n".join(f"{a},{b}" for a, b in zip(t, np.sin(t), strict=True)) + "\n"
    )
    args = ["diffuse", str(src), "--steps", "1", "--rate", "100", "-o", str(dst)]
    result = runner.invoke(cli, [*args, "--report", str(rep)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(rep.read_text())
    assert "carried_columns" not in report and report["dropped_columns"] == ["time"]
    assert "the time column 'time' of" in result.stderr and "not written" in result.stderr
    assert soundfile.info(str(dst)).channels == 1
    # as CSV: carried, as before
    result = runner.invoke(cli, [*args[:-1], str(tmp_path / "tv2.csv"), "--report", str(rep)])
    report = json.loads(rep.read_text())
    assert report["carried_columns"] == ["time"] and "dropped_columns" not in report


def test_a_sound_files_channels_not_picked_go_into_a_store(runner, tmp_path):
    zarr = pytest.importorskip("zarr")
    src, dst = tmp_path / "st.wav", tmp_path / "st.zarr"
    data = np.random.default_rng(3).uniform(-0.5, 0.5, (300, 2))
    soundfile.write(str(src), data, 8000, subtype="FLOAT")
    result = runner.invoke(
        cli, ["diffuse", str(src), "--columns", "1", "--steps", "1", "-o", str(dst), "-q"]
    )
    assert result.exit_code == 0, result.stderr
    stored = zarr.open(str(dst))[:]
    held, _ = soundfile.read(str(src))
    assert stored.shape == (300, 2)
    np.testing.assert_array_equal(stored[:, 1], held[:, 1])  # carried unchanged
    assert not np.array_equal(stored[:, 0], held[:, 0])  # filtered


# --- B14: nameless inputs (and a FIFO without an extension) under a directory ---------


@pytest.mark.parametrize("flags", [["-o", "OUT/"], ["-o", "TMP/o.csv", "--report", "OUT/"]])
def test_a_process_substitution_under_a_directory_is_refused_as_stdin_is(runner, tmp_path, flags):
    import os

    r, w = os.pipe()
    os.write(w, b"v\n1\n2\n3\n4\n")
    os.close(w)
    try:
        for path in (f"/dev/fd/{r}", "/dev/stdin", "-"):
            args = [
                a.replace("OUT", str(tmp_path / "d")).replace("TMP", str(tmp_path)) for a in flags
            ]
            result = runner.invoke(cli, ["diffuse", path, "--steps", "1", *args], input="v\n1\n2\n")
            assert result.exit_code == 2, (path, result.output)
            assert "has no name to write under" in result.stderr
            assert os.listdir(tmp_path) == []
    finally:
        os.close(r)
    # several inputs: the batch refuses it too
    src = tmp_path / "s.csv"
    src.write_text("v\n1\n2\n3\n")
    result = runner.invoke(
        cli, ["diffuse", str(src), "/dev/fd/0", "--steps", "1", "-o", f"{tmp_path}/d/"]
    )
    assert result.exit_code == 2 and "'/dev/fd/0' has no name" in result.stderr


def test_a_fifo_without_extension_under_a_directory_needs_a_format(runner, tmp_path):
    import os

    fifo = tmp_path / "myfifo"
    os.mkfifo(fifo)
    out = f"{tmp_path}/d/"
    held = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer: a run that reads ends
    os.write(held, b"v\n1\n2\n3\n4\n")
    closed = []

    def close_once():
        if not closed:
            closed.append(1)
            os.close(held)

    closer = threading.Timer(5, close_once)  # (the old code read it: EOF then)
    closer.start()
    try:
        result = runner.invoke(cli, ["diffuse", str(fifo), "--steps", "1", "-o", out])
    finally:
        closer.cancel()
        closer.join()
        close_once()
    assert result.exit_code == 2, result.output
    assert "has no extension" in result.stderr and "--output-format" in result.stderr
    assert not (tmp_path / "d").exists()


# --- B7: a block's lambda = "auto" is its own; an unused --lambda / --tau is said -----

SIGNAL = np.repeat([0.0, 1.0, 0.0, 2.0], 40) + 0.05 * np.sin(np.arange(160) * 1.7)


def test_a_blocks_auto_lambda_wins_over_the_default():
    from resdenoise.filters import auto_lambda
    from resdenoise.network import build_network, parse_network

    spec = parse_network('[[block]]\nactivation = "perona-malik"\nlambda = "auto"\nrepeat = 2\n')
    plan = build_network(spec, SIGNAL, lam=0.3)
    ((_, nl, _),) = plan.groups
    assert nl.lam == auto_lambda(SIGNAL, 1.0)[0] != 0.3
    bare = parse_network('[[block]]\nactivation = "perona-malik"\nrepeat = 2\n')
    ((_, nl, _),) = build_network(bare, SIGNAL, lam=0.3).groups
    assert nl.lam == 0.3  # no lambda: the default


def test_an_unused_lambda_or_tau_is_warned(runner, tmp_path):
    src, net = tmp_path / "s.csv", tmp_path / "n.toml"
    src.write_text("v\n" + "\n".join(repr(float(x)) for x in SIGNAL) + "\n")
    net.write_text('[[block]]\nactivation = "perona-malik"\nlambda = 0.5\ntau = 0.2\nrepeat = 2\n')
    args = ["resnet", str(src), "--network", str(net), "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [*args, "--lambda", "0.3", "--tau", "0.1"])
    assert result.exit_code == 0, result.stderr
    assert "the lambda given (--lambda) is not used" in result.stderr
    assert "the step given (--tau) is not used" in result.stderr
    result = runner.invoke(cli, args)
    assert "not used" not in result.stderr


# --- B16, B12: a registry Nonlinearity with "auto"; lam="auto" with a function --------


def test_a_registry_nonlinearity_runs_an_automatic_stopping_at_its_lambda():
    import resdenoise as R

    f = SIGNAL + 0.1 * np.random.default_rng(5).standard_normal(SIGNAL.size)
    nl = R.get_nonlinearity("perona-malik", "diffusivity", 0.5)
    np.testing.assert_array_equal(
        R.diffuse(f, nl, time="auto"), R.diffuse(f, "perona-malik", lam=0.5, time="auto")
    )
    act = R.get_nonlinearity("tanh", "activation", 0.3)
    np.testing.assert_array_equal(
        R.resnet(f, act, blocks="auto"), R.resnet(f, "tanh", lam=0.3, blocks="auto")
    )


def test_auto_lambda_with_a_function_is_refused():
    import resdenoise as R
    from resdenoise.errors import ParameterError

    with pytest.raises(ParameterError, match=r"lam='auto' chooses a registry family's lambda"):
        R.resnet(SIGNAL, np.tanh, lam="auto", blocks=2)
    with pytest.raises(ParameterError, match=r"theta='auto'"):
        R.shrink(SIGNAL, lambda s: s - np.clip(s, -0.1, 0.1), theta="auto")
    R.resnet(SIGNAL, np.tanh, blocks=2)  # no lam: the default size 1, as documented
    with pytest.raises(ParameterError, match="not a function"):
        R.resnet(SIGNAL, np.tanh, blocks="auto")
    stereo = np.stack([SIGNAL, SIGNAL[::-1]])
    np.testing.assert_array_equal(  # -2 is documented: the rows, as 0
        R.diffuse(stereo, "linear", lam=1.0, steps=1, channel_axis=-2),
        R.diffuse(stereo, "linear", lam=1.0, steps=1, channel_axis=0),
    )


# --- B8: expected_gain_db is 10 log10(SURE of the input / SURE of the output) ---------


def test_expected_gain_is_the_reports_own_sure_ratio(runner, tmp_path):
    import math
    from pathlib import Path

    steps = Path(__file__).resolve().parent.parent / "sample_signals" / "steps.csv"
    rep = tmp_path / "r.json"
    args = ["diffuse", str(steps), "--time", "auto", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [*args, "--report", str(rep), "-q"])
    assert result.exit_code == 0, result.stderr
    p = json.loads(rep.read_text())["parameters"]
    out = p["stopping_criterion"]
    inp = out - p["sure_change_per_sample"]  # SURE of the input: sigma^2
    assert inp == pytest.approx(p["noise_sigma"][0] ** 2 if "noise_sigma" in p else inp)
    assert p["expected_gain_db"] == pytest.approx(10 * math.log10(inp / out), rel=1e-9)
