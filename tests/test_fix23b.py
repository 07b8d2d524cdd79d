"""The field scientist's findings (audit 23b): what a logger's series gets that was wrong."""

from __future__ import annotations

import numpy as np
import pytest

# A23b-5: the searches of several scales run the impulse pre-stage, as the one-scale ones


def _spiky_steps():
    rng = np.random.default_rng(2)
    clean = np.repeat([0.0, 1.0, 0.4, 1.5, 0.8], 400) + 0.3 * np.sin(np.arange(2000) / 90)
    f = clean + rng.normal(0.0, 0.05, clean.size)
    at = rng.choice(np.arange(10, 1990, 7), 20, replace=False)
    f[at] += rng.choice([-1.0, 1.0], at.size) * 2.0
    return clean, f


@pytest.mark.parametrize(
    ("command", "name", "settings"),
    [
        ("shrink", "garrote", {"iterations": "auto", "scales": "auto"}),
        ("shrink", "garrote", {"iterations": "auto", "scales": 4}),
        ("diffuse", "perona-malik", {"time": "auto", "scales": "auto"}),
    ],
)
def test_a_search_of_several_scales_takes_the_impulses_out_first(command, name, settings):
    """``--scales`` (auto or K) searched its Haar levels on the spikes themselves: the
    spikes, above every level's threshold, stayed (a river stage: +0.5 dB where the
    one-scale search gained +29 dB).  Fails before: ``impulses_detected`` absent, the
    output's error 40-90 % of the input's."""
    from resdenoise.plans import planner

    clean, f = _spiky_steps()
    plan, extra = planner(command, name, **settings)(f)
    assert plan.prestage is not None
    assert extra["impulses_detected"] == [20]
    assert extra["impulse_prestage"].startswith("hampel")
    mse = np.mean((plan.run(f) - clean) ** 2)
    assert mse < 0.05 * np.mean((f - clean) ** 2)


# A23b-7: a logger's missing-value code is refused, not filtered as a reading


def _temperatures(path, codes, code="-9999"):
    rng = np.random.default_rng(11)
    t = np.arange(400)
    x = 10 + 8 * np.sin(2 * np.pi * t / 365) + rng.normal(0.0, 1.0, t.size)
    rows = "".join(f"{i},{code if i in codes else f'{v:.2f}'}\n" for i, v in zip(t, x, strict=True))
    path.write_text("time,temp_C\n" + rows)
    return path


@pytest.mark.parametrize("chunk", [None, "64"])
@pytest.mark.parametrize("codes", [(150,), (50, 150, 250, 350)])
def test_a_missing_value_code_is_refused_naming_its_lines(runner, tmp_path, codes, chunk):
    """-9999 among temperatures: ``denoise`` wrote ``-9998.998...`` for one (the code gone,
    a reading of -9999 degC left), the running median's 18.4, 12.5 ... for several (days
    not measured given temperatures), exit 0.  Fails before: exit 0, an output."""
    from resdenoise.cli import cli

    src = _temperatures(tmp_path / "t.csv", codes)
    before = src.read_bytes()
    out = tmp_path / "o.csv"
    args = ["shrink", "--threshold", "0.5", str(src), "-o", str(out), "-q"]
    result = runner.invoke(cli, args + (["--chunk-size", chunk] if chunk else []))
    assert result.exit_code == 1, result.output
    lines = ", ".join(str(c + 2) for c in codes[:3]) + (", ..." if len(codes) > 3 else "")
    assert (
        f": line{'s' if len(codes) > 1 else ''} {lines}, column 2 ('temp_C'): '-9999' looks "
        "like a logger's missing-value code" in result.stderr
    )
    assert f"({len(codes)} cell" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and src.read_bytes() == before


def test_a_code_inside_the_readings_range_is_a_reading(runner, tmp_path):
    """-999 in a column reaching -1800 (a depth below a datum): a reading, filtered."""
    from resdenoise.cli import cli

    rows = "".join(f"{i},{-999 if i == 40 else -1800 + 9 * i}\n" for i in range(200))
    src = tmp_path / "d.csv"
    src.write_text("time,depth\n" + rows)
    result = runner.invoke(
        cli, ["shrink", "--threshold", "1", str(src), "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 0, result.output


# A23b-4: a level of 0 from exact repeats is not called "below the float64 rounding"


def test_a_level_of_zero_from_exact_repeats_says_so(runner, tmp_path):
    """Hourly rain tips (93 % dry hours' zeros, Poisson storms): the level reads 0, and the
    warning said "clean: ... below the float64 rounding of its samples", false of integer
    counts.  Fails before: that sentence, no word of the repeats or of --sigma."""
    from resdenoise.cli import cli

    rng = np.random.default_rng(1)
    rate = np.zeros(2160)
    for _ in range(12):
        s0, length = rng.integers(0, 2120), rng.integers(3, 30)
        rate[s0 : s0 + length] += rng.uniform(1, 15) * np.hanning(length + 2)[1:-1]
    tips = rng.poisson(rate)
    src = tmp_path / "rain.csv"
    src.write_text("time,tips\n" + "".join(f"{i},{v}\n" for i, v in enumerate(tips)))
    out = tmp_path / "o.csv"
    result = runner.invoke(cli, ["denoise", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "float64 rounding" not in result.stderr
    assert (
        "column 2 ('tips'): the estimated noise level is 0: its quiet windows are exact "
        "repeats" in result.stderr
    )
    assert "give --sigma if you know the noise level" in result.stderr
    assert out.read_bytes() == src.read_bytes()


# A23b-3: expected_gain_db is given with the range the level's own error leaves it


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_expected_gain_comes_with_the_levels_range_and_the_true_gain_is_in_it(seed):
    """Steps in 5 % white noise: the output's error is far below sigma^2, so SURE of the
    output is a small difference and ``expected_gain_db`` runs away with a level read a
    few per cent high (strain gauge: 31.3 dB said, 19.1 dB true).  Fails before: no
    ``expected_gain_db_range``."""
    from resdenoise.plans import planner

    rng = np.random.default_rng(seed)
    clean = np.repeat(rng.normal(0.0, 1.0, 8), 250)
    f = clean + rng.normal(0.0, 0.05, clean.size)
    plan, extra = planner("shrink", "garrote", iterations="auto")(f)
    true = 10 * np.log10(np.mean((f - clean) ** 2) / np.mean((plan.run(f) - clean) ** 2))
    low, high = extra["expected_gain_db_range"]
    assert low <= true and (high is None or true <= high)
    said = extra["expected_gain_db"]
    assert said is None or low <= said and (high is None or said <= high)
    given = planner("shrink", "garrote", iterations="auto", sigma=0.05)(f)[1]
    assert "expected_gain_db_range" not in given  # the user's level: no estimate's error


# A23b-2: under coloured noise the level and the gain say what they are of


def test_under_coloured_noise_the_level_and_gain_say_they_are_of_the_scales(runner, tmp_path):
    """Pink noise on a stage record: ``noise sigma`` is the finest scale's level (0.41x the
    noise's std) and ``expected_gain_db`` the detail scales' gain (13.2 dB said, 5.0 dB
    true), both unnamed.  Fails before: no ``noise_sigma_of`` / ``expected_gain_db_of``,
    the summary's ``noise sigma`` bare."""
    import json

    from resdenoise.cli import cli

    rng = np.random.default_rng(1)
    n = 4096
    freq = np.fft.rfftfreq(n)
    spectrum = rng.standard_normal(freq.size) + 1j * rng.standard_normal(freq.size)
    spectrum[1:] /= np.sqrt(freq[1:])
    spectrum[0] = 0.0
    pink = np.fft.irfft(spectrum, n)
    t = np.arange(n)
    clean = np.where(t < n // 3, 1.0, 2.0) + 0.5 * np.exp(-(((t - 2800) / 300.0) ** 2))
    clean += 0.5 * (t > 3500)
    f = clean + 0.1 * clean.std() * pink / pink.std()
    src = tmp_path / "stage.csv"
    src.write_text("time,stage\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(f)))
    report = tmp_path / "r.json"
    result = runner.invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "o.csv"),
                                 "--report", str(report)])  # fmt: skip
    assert result.exit_code == 0, result.output
    params = json.loads(report.read_text())["parameters"]
    assert params["automatic_reason"].startswith("smallest SURE over scales (coloured noise)")
    assert params["noise_sigma_of"].startswith("the finest scale (coloured noise")
    assert params["expected_gain_db_of"].startswith("scales 1-")
    assert "expected_gain_db_range" not in params  # (of white SURE only)
    assert "(its finest scale's: coloured noise)" in result.output + result.stderr


# A23b-1: dropout runs of 2-5 samples, which the pre-stage does not take, are said


@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_dropout_runs_the_prestage_keeps_are_warned_of(length):
    """A stage record with 8 dropouts to 0 of ``length`` samples: one-sample ones are the
    pre-stage's (replaced, no warning); runs of 2-5 passed through the filter, the report
    saying nothing (true gain 0.16 dB, 14 dB expected).  Fails before: no warning."""
    from resdenoise.plans import planner

    rng = np.random.default_rng(3)
    t = np.arange(3000)
    clean = 1.5 + 0.5 * np.sin(2 * np.pi * t / 700) + 0.3 * (t > 1400)
    f = clean + rng.normal(0.0, 0.02, t.size)
    starts = np.arange(150, 2900, 340)
    for s0 in starts:
        f[s0 : s0 + length] = 0.0
    plan, extra = planner("shrink", "garrote", iterations="auto")(f)
    said = [w for w in extra.get("warnings", []) if "dropouts?" in w]
    if length == 1:
        assert not said and extra["impulses_detected"] == [starts.size]
        return
    assert len(said) == 1
    more = starts.size - 1
    first = f"samples {starts[0] + 1}-{starts[0] + length} (counted from 1) read 0 and {more} more"
    assert first in said[0]


def test_a_tone_and_a_staircase_have_no_dropouts():
    """A loud 16-bit tone's flat peaks and a staircase's short steps are no dropouts."""
    from resdenoise.impulses import dropout_note

    t = np.arange(200_000)
    rng = np.random.default_rng(0)
    tone = np.round(10_000 * np.sin(2 * np.pi * 5000 / 44100 * t) + rng.normal(0, 0.3, t.size))
    stairs = np.repeat(np.arange(400.0), 3) + rng.normal(0.0, 0.001, 1200).round(2)
    assert dropout_note(tone, 0.3, ["channel 1"]) is None
    assert dropout_note(stairs, 0.001, ["channel 1"]) is None


def test_a_kept_input_has_no_gain_range_but_the_rejected_one():
    """Where do-no-harm keeps the input, its range is ``[0, 0]`` like its 0 dB and the
    refused choice's is kept as ``rejected_expected_gain_db_range``.  Fails before: the
    refused choice's range stood beside ``expected_gain_db`` 0."""
    from resdenoise.gains import kept_input

    out = kept_input({"expected_gain_db": 5.0, "expected_gain_db_range": [3.0, None]}, 0.1)
    assert out["expected_gain_db"] == 0.0 and out["expected_gain_db_range"] == [0.0, 0.0]
    assert out["rejected_expected_gain_db_range"] == [3.0, None]
