"""The one-call Python API as a newcomer calls it (issue 14, item 11): lists,
'auto' as on the command line, the command line's errors, callables, typing."""

from __future__ import annotations

import inspect
import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

import resdenoise
from resdenoise.cli import cli
from resdenoise.errors import ParameterError, SignalError

STEP = [0.0, 0.0, 1.0, 1.0] * 10
CALLS = {
    "diffuse": dict(steps=2),
    "shrink": dict(iterations=2),
    "regularise": dict(alpha=1.0),
    "resnet": dict(blocks=2),
}


@pytest.fixture
def noisy(rng):
    t = np.linspace(0, 1, 400)
    return np.sign(np.sin(7 * t)) + 0.2 * rng.standard_normal(t.size)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_lists_are_signals(name):
    func = getattr(resdenoise, name)
    out = func(STEP, **CALLS[name])
    assert isinstance(out, np.ndarray) and out.shape == (40,)
    np.testing.assert_array_equal(out, func(np.array(STEP), **CALLS[name]))
    stereo = func([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]] * 5, **CALLS[name])
    assert stereo.shape == (20, 2)


@pytest.mark.parametrize(
    "name, auto, flag",
    [
        ("diffuse", dict(time="auto"), ["--time", "auto"]),
        ("shrink", dict(iterations="auto"), ["--iterations", "auto"]),
        ("regularise", dict(alpha="auto"), ["--alpha", "auto"]),
        ("resnet", dict(blocks="auto"), ["--blocks", "auto"]),
    ],
)
@pytest.mark.filterwarnings("ignore:the automatic search stopped at its cap")
def test_auto_as_on_the_command_line(tmp_path, noisy, name, auto, flag):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("\n".join(repr(float(x)) for x in noisy) + "\n")
    result = CliRunner().invoke(cli, [name, str(src), *flag, "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    got = getattr(resdenoise, name)(noisy, **auto)
    np.testing.assert_array_equal(got, np.loadtxt(out))


def test_lam_auto_is_the_default(noisy):
    np.testing.assert_array_equal(
        resdenoise.diffuse(noisy, lam="auto", steps=3), resdenoise.diffuse(noisy, steps=3)
    )
    np.testing.assert_array_equal(resdenoise.shrink(noisy, theta="auto"), resdenoise.shrink(noisy))


def test_nan_is_refused_as_the_command_line_refuses_it(tmp_path):
    data = np.array(STEP)
    data[5] = np.nan
    with pytest.raises(SignalError) as info:
        resdenoise.diffuse(data, steps=1)
    assert info.value.exit_code == 1
    # numbered from 1 and worded as the command line's check of a store or audio file
    # (it said 'sample 5 is nan: not a finite number', counting from 0)
    assert str(info.value) == "the signal: sample 6, channel 1 is nan, not a finite number"
    two = np.stack([np.array(STEP), data], axis=1)
    two[9, 0] = -np.inf
    with pytest.raises(SignalError) as info:
        resdenoise.diffuse(two, steps=1)
    assert str(info.value) == "the signal: sample 6, channel 2 is nan, not a finite number"
    src = tmp_path / "in.csv"
    src.write_text("\n".join(repr(float(x)) for x in data) + "\n")
    result = CliRunner().invoke(cli, ["diffuse", str(src), "--steps", "1"])
    assert result.exit_code == info.value.exit_code and "not a finite number" in result.stderr


@pytest.mark.parametrize("data", [[], np.zeros(0), np.zeros((0, 2)), [1.0]])
def test_empty_and_one_sample_refused_clearly(data):
    with pytest.raises(SignalError, match="at least 2 samples"):
        resdenoise.resnet(data, blocks=1)


def test_text_is_refused_clearly():
    with pytest.raises(SignalError, match="numbers"):
        resdenoise.diffuse(["a", "b", "c"], steps=1)


def test_a_callable_activation_works(noisy):
    out = resdenoise.resnet(noisy, np.tanh, blocks=4)
    expected = resdenoise.resnet(noisy, "tanh", lam=1.0, blocks=4)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_an_unstable_callable_is_refused_clearly(noisy):
    with pytest.raises(resdenoise.UnstableError, match="refused as unstable"):
        resdenoise.resnet(noisy, lambda r: -np.tanh(r), blocks=2, tau=0.1)  # g < 0


def test_auto_with_a_callable_is_refused_clearly(noisy):
    with pytest.raises(ParameterError, match="'auto' needs a registry"):
        resdenoise.resnet(noisy, np.tanh, blocks="auto")


def test_a_bad_name_is_a_parameter_error(noisy):
    with pytest.raises(ParameterError, match="Did you mean 'charbonnier'") as info:
        resdenoise.regularise(noisy, "charbonier", alpha=1.0)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", sorted(CALLS))
def test_typed_and_documented(name):
    func = getattr(resdenoise, name)
    hints = inspect.get_annotations(func)
    assert "return" in hints and "u" in hints
    doc = inspect.getdoc(func)
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert f"\n{section}\n---" in doc, section
    package = pathlib.Path(resdenoise.__file__).parent
    assert (package / "py.typed").is_file()
