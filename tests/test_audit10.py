"""A new user's audit of 2026-12-06 (audit10a): each test below failed on main before
its fix, as its docstring says.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from resdenoise.cli import cli


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("PCM_32", "PCM_24"),  # was PCM_16, FLAC's default: 16 of 32 bits dropped
        ("FLOAT", "PCM_24"),  # was PCM_16
        ("DOUBLE", "PCM_24"),  # was PCM_16
        ("PCM_24", "PCM_24"),  # kept, as before
        ("PCM_16", "PCM_16"),  # kept, as before
        ("PCM_U8", "PCM_16"),  # FLAC has no PCM_U8: its default, as before
        ("ULAW", "PCM_16"),  # not a plain subtype: the default, as before
    ],
)
def test_flac_output_keeps_the_most_bits_flac_holds(given, expected):
    """A FLAC output of a PCM_32, FLOAT or DOUBLE input was PCM_16 (FLAC's default),
    though FLAC holds PCM_24."""
    from resdenoise.io.audio_choice import _audio_target
    from resdenoise.io.signal import Signal

    sig = Signal(np.zeros(4), format="WAV", samplerate=8000, subtype=given)
    assert _audio_target(sig, "FLAC", None, "out") == ("FLAC", expected)


def _wav(path, subtype: str) -> str:
    import soundfile

    rng = np.random.default_rng(0)
    x = 0.5 * np.sign(np.sin(np.arange(4000) / 200)) + 0.05 * rng.standard_normal(4000)
    soundfile.write(str(path), x, 48000, subtype=subtype)
    return str(path)


ARGS = ["diffuse", "--diffusivity", "perona-malik", "--lambda", "0.3", "--steps", "2"]


@pytest.mark.parametrize("given", ["PCM_32", "DOUBLE"])
def test_a_flac_output_of_finer_samples_says_they_are_rounded(runner, tmp_path, given):
    """PCM_32 or DOUBLE audio written as FLAC was cut to 16 bits, exit 0, nothing said,
    and the report named no output subtype. Now: PCM_24, the same samples as the WAV
    output rounded to 24 bits, one warning line, in the report too, and the report's
    ``output_info``."""
    import soundfile

    src = _wav(tmp_path / "in.wav", given)
    wav, flac, rep = tmp_path / "out.wav", tmp_path / "out.flac", tmp_path / "r.json"
    exact_run = [*ARGS, src, "-q", "-o", str(wav), "--subtype", "DOUBLE"]  # the engine's samples
    assert runner.invoke(cli, exact_run).exit_code == 0
    result = runner.invoke(cli, [*ARGS, src, "-o", str(flac), "--report", str(rep)])
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(str(flac)).subtype == "PCM_24"
    exact, _ = soundfile.read(str(wav))
    rounded, _ = soundfile.read(str(flac))
    np.testing.assert_array_equal(
        rounded, np.clip(np.rint(exact * 2**23), -(2**23), 2**23 - 1) / 2**23
    )
    said = (
        f"{flac}: FLAC holds the input's {given} samples at most as PCM_24: they are rounded "
        "to 24-bit integers; write WAV to keep them all"
    )
    assert result.stderr.count("warning: ") == 1 and said in " ".join(result.stderr.split())
    report = json.loads(rep.read_text())
    assert report["warnings"] == [said]
    assert report["output_info"]["format"] == "FLAC"
    assert report["output_info"]["subtype"] == "PCM_24"
    assert report["input_info"]["subtype"] == given


@pytest.mark.parametrize(
    ("given", "out", "subtype", "narrowed"),
    [
        ("PCM_32", "out.flac", None, True),
        ("DOUBLE", "out.flac", None, True),
        ("PCM_16", "out.flac", None, False),  # FLAC holds them all
        ("PCM_32", "out.flac", "PCM_16", False),  # as asked
        ("PCM_32", "out.wav", None, False),
        ("DOUBLE", "out.csv", None, False),
    ],
)
def test_the_library_says_what_the_command_line_warns_of_rounding(
    tmp_path, given, out, subtype, narrowed
):
    """write_signal wrote PCM_32 or DOUBLE audio as FLAC's PCM_24 without saying so (the
    command line warned); now its result's ``narrowing`` is the line the command line
    warns with, as SignalWriter's ``narrowing`` (None where nothing is rounded)."""
    from resdenoise.io import SignalWriter, WriteOptions, read_signal, write_signal

    sig = read_signal(_wav(tmp_path / "in.wav", given))
    options = WriteOptions(subtype=subtype)
    path, again = tmp_path / out, tmp_path / f"again{os.path.splitext(out)[1]}"

    def said(target) -> str | None:
        return (
            f"{target}: FLAC holds the input's {given} samples at most as PCM_24: they are "
            "rounded to 24-bit integers; write WAV to keep them all"
            if narrowed
            else None
        )

    assert write_signal(path, sig, options)["narrowing"] == said(path)
    writer = SignalWriter(again, sig, options)
    writer.discard()
    assert writer.narrowing == said(again)


@pytest.mark.parametrize(
    ("given", "out", "subtype", "expected"),
    [
        ("PCM_16", "out.flac", [], ("FLAC", "PCM_16")),
        ("PCM_32", "out.flac", ["--subtype", "PCM_16"], ("FLAC", "PCM_16")),  # as asked
        ("PCM_32", "out.wav", [], ("WAV", "PCM_32")),
        ("PCM_16", "out.csv", [], ("CSV", None)),
    ],
)
def test_the_report_names_the_output_subtype(runner, tmp_path, given, out, subtype, expected):
    """The report had the input's subtype only; no warning where the output holds every
    input sample or the subtype was asked for."""
    src = _wav(tmp_path / "in.wav", given)
    rep = tmp_path / "r.json"
    result = runner.invoke(
        cli, [*ARGS, src, "-o", str(tmp_path / out), *subtype, "--report", str(rep)]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(rep.read_text())
    got = report["output_info"]
    assert (got["format"], got["subtype"]) == expected
    assert "warnings" not in report and "warning: " not in result.stderr


def _mixed_csv(path) -> str:
    rng = np.random.default_rng(0)
    x = np.sign(np.sin(np.arange(500) / 50)) + 0.1 * rng.standard_normal(500)
    x[250], x[251] = 1.7e308, -1.7e308  # finite, their difference is not
    np.savetxt(path, x, fmt="%.17g")
    return str(path)


@pytest.mark.parametrize("lam", ["1e-3", "1", "1e300", "1e308", None])
@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "100"]], ids=["whole", "chunked"])
def test_samples_whose_differences_overflow_run_halved(runner, tmp_path, lam, chunk):
    """Perona-Malik on finite samples near +-1.7e308 was refused as unstable (exit 3),
    naming the range 'inf' and offering 'another lambda', which none satisfies; then as
    the input's fault (exit 1).  Now (audit21b A21b-7) run as the automatic modes run
    such samples: on the samples halved, lambda halved, the output times 2: bit for bit
    the run of the file halved (its lambda halved); charbonnier alike (it ran unscaled,
    on differences that were inf); a formula of the differences is refused."""
    src = _mixed_csv(tmp_path / "mixed.csv")
    half = tmp_path / "half.csv"
    np.savetxt(half, np.ldexp(np.loadtxt(src), -1), fmt="%.17g")
    outs = []
    for name, given in ((src, lam), (str(half), None if lam is None else f"{float(lam) / 2!r}")):
        for family in ("perona-malik", "charbonnier"):
            out = tmp_path / f"o{len(outs)}.csv"
            named = [] if given is None else ["--lambda", given]
            args = ["diffuse", "--steps", "5", "-q", name, "-o", str(out), *named, *chunk]
            result = runner.invoke(cli, [*args, "--diffusivity", family])
            assert result.exit_code == 0, (result.exit_code, result.stderr)
            outs.append(np.loadtxt(out))
    for whole, halved in zip(outs[:2], outs[2:], strict=True):
        assert np.isfinite(whole).all()
        np.testing.assert_array_equal(whole, np.ldexp(halved, 1))
    out = tmp_path / "f.csv"
    args = ["resnet", src, "--activation-expr", "r*exp(-r**2)", "--blocks", "2", "-o", str(out)]
    result = runner.invoke(cli, [*args, *chunk])
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "leaves float64 (their differences overflow), and the flux of r*exp(-r**2) is not" in (
        result.stderr
    )
    assert not out.exists()


def test_a_range_that_overflows_is_shown_by_the_samples_extremes():
    """The refusals named the range max - min as computed: 'inf' for finite samples."""
    from resdenoise.flux_checks import _shown_range

    assert _shown_range(np.array([1.7e308, -1.7e308, 0.0])) == "range from -1.7e+308 to 1.7e+308"
    assert _shown_range(np.array([3.0, -1.0])) == "range 4"  # as before
