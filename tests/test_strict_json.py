"""Every JSON the program writes is strict JSON (left18 item 2; audit17a A7 in part): no
``Infinity``, ``-Infinity`` or ``NaN`` token (json.loads in JavaScript or jq refuses them),
and no ``-0.0`` (an underflow's sign: column a of a file at 1e-300 beside 1e300 reported
``"sure_change_per_sample": -0.0``).  A number that is not finite is ``null``
(:func:`resdenoise.report.to_json`), as README's "JSON report" says."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from resdenoise.cli import cli
from resdenoise.report import to_json


def _strict(text: str):
    """``text`` parsed as strict JSON: a non-finite token or a negative zero fails."""

    def refuse(token):
        raise AssertionError(f"not JSON: {token}")

    data = json.loads(text, parse_constant=refuse)

    def walk(x, where="$"):
        if isinstance(x, float):
            assert math.isfinite(x) and not (x == 0.0 and math.copysign(1.0, x) < 0), where
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{where}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{where}[{i}]")

    walk(data)
    return data


def _csv(path, columns, header=None):
    rows = np.column_stack(columns)
    lines = ([",".join(header)] if header else []) + [
        ",".join(repr(float(v)) for v in row) for row in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _inputs(tmp_path):
    """The files of the runs: clean, constant, silent, huge, tiny, both at once."""
    rng = np.random.default_rng(7)
    t = np.arange(200.0)
    x = np.sin(t / 10) + 0.1 * rng.standard_normal(t.size)
    files = {
        "clean": _csv(tmp_path / "clean.csv", [np.sin(t / 10)]),
        "constant": _csv(tmp_path / "constant.csv", [np.full(t.size, 3.0)]),
        "huge": _csv(tmp_path / "huge.csv", [x * 1e300]),
        "tiny": _csv(tmp_path / "tiny.csv", [x * 1e-300]),
        "apart": _csv(tmp_path / "apart.csv", [t, x * 1e-300, x * 1e300], ["time", "a", "b"]),
        "noisy": _csv(tmp_path / "noisy.csv", [x]),
    }
    sf.write(tmp_path / "silent.wav", np.zeros((800, 2)), 8000, subtype="PCM_16")
    files["silent"] = tmp_path / "silent.wav"
    return files


RUNS = [
    ("denoise",),
    ("diffuse", "--time", "auto", "--lambda", "auto"),
    ("shrink", "--scales", "auto"),
    ("regularise", "--alpha", "auto"),
]


@pytest.mark.parametrize("command", RUNS, ids=lambda c: c[0])
def test_every_report_is_strict_json(tmp_path, runner, command):
    files = _inputs(tmp_path)
    for name, path in files.items():
        out = tmp_path / f"out_{name}{path.suffix}"
        result = runner.invoke(cli, [*command, str(path), "-o", str(out), "--json", "-q"])
        assert result.exit_code == 0, (name, result.output, result.stderr)
        report = _strict(result.stdout)
        assert report["schema_version"] >= 4, name


def test_the_underflowed_sure_change_is_zero_not_minus_zero(tmp_path, runner):
    """The audit's case: column a (1e-300) reported -0.0 (fails on the old code)."""
    path = _inputs(tmp_path)["apart"]
    result = runner.invoke(cli, ["denoise", str(path), "-o", str(tmp_path / "o.csv"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "-0.0" not in result.stdout
    _strict(result.stdout)


def test_a_reference_identical_to_the_output_gives_null_snr(tmp_path, runner):
    """An SNR against an identical reference is infinite: null, not Infinity."""
    files = _inputs(tmp_path)
    clean = files["constant"]
    out = tmp_path / "o.csv"
    result = runner.invoke(
        cli,
        ["denoise", str(clean), "-o", str(out), "--reference", str(clean), "--json", "-q"],
    )
    assert result.exit_code == 0, result.stderr
    quality = _strict(result.stdout)["quality"]
    assert quality["input"]["snr_db"] == [None]


def test_a_one_sample_file_writes_no_report(tmp_path, runner):
    path = tmp_path / "one.csv"
    path.write_text("1.5\n")
    result = runner.invoke(cli, ["denoise", str(path), "-o", str(tmp_path / "o.csv"), "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_other_json_is_strict(runner):
    """dictionary --json (an unbounded g's bound is inf) and translate --json."""
    for args in (
        ["dictionary", "--json"],
        ["translate", "--diffusivity", "perona-malik", "--json"],
        ["translate", "--activation-expr", "r**3", "--json"],  # g unbounded: inf
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.stderr)
        _strict(result.stdout)


def test_to_json_holds_numpy_scalars_and_arrays():
    text = to_json(
        {
            "a": np.float32("inf"),
            "b": np.float64(-0.0),
            "c": np.arange(3),
            "d": np.int64(5),
            "e": np.bool_(True),
            "f": [float("nan"), -0.0, 1.5],
        }
    )
    assert _strict(text) == {
        "a": None,
        "b": 0.0,
        "c": [0, 1, 2],
        "d": 5,
        "e": True,
        "f": [None, 0.0, 1.5],
    }
