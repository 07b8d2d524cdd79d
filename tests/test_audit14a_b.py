"""audit14a's findings A10, A11, A13, A3, A14, A6, A5, A8, A9 (each test fails on the old code).

* A10: after the impulse pre-stage took out spikes of 1e38 (an instrument's overflow
  marker), the input's sign changes were counted in the spikes' band (8 ulp of 1e38, which
  hides every real sample) and the output's in the cleaned signal's: "sign changes increased
  (0 -> 5)", exit 4 under --strict; and a 15 %-noise channel was called "clean" by the
  spikes' rounding.  Both now go by what the blocks ran on (the pre-stage's output).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from resdenoise.cli import cli


def _csv(path, x, header=None):
    head = "" if header is None else header + "\n"
    path.write_text(head + "".join(f"{v!r}\n" for v in np.asarray(x, dtype=float).tolist()))
    return path


@pytest.fixture
def overflow_marker(tmp_path):
    """A noisy +-2e-12 square wave (noise 0.3e-12) with 3 readings of 9.9e37."""
    r = np.random.default_rng(12)
    n = 1200
    s = np.where((np.arange(n) // 200) % 2 == 0, -1.0, 1.0) * 2e-12
    x = s + 0.3e-12 * r.standard_normal(n)
    x[[300, 700, 1000]] = 9.9e37
    return _csv(tmp_path / "pA.csv", x, "current_A")


def test_a10_the_input_sign_changes_are_counted_in_the_band_of_the_cleaned_signal(runner, tmp_path):
    src = _csv(
        tmp_path / "imp.csv",
        [
            1.8624980421576732e-40,
            1.0195110968864421e-40,
            -2.901467807364776e-41,
            -7.057079791546863e-41,
            1.0569780228749767e-40,
            11248,
            -5e-324,
            2.252806325770657e-42,
            5.0,
        ],
    )
    out = tmp_path / "o.csv"
    result = runner.invoke(
        cli, ["regularise", "--alpha", "auto", str(src), "-o", str(out), "--json", "--strict"]
    )
    assert result.exit_code == 0, result.stderr
    c = json.loads(result.stdout)["channels"][0]
    assert c["sign_changes_out"] <= c["sign_changes_in"]
    assert c["impulses_replaced"] == 2


def test_a10_spikes_neither_fail_the_sign_check_nor_make_the_channel_clean(
    runner, overflow_marker, tmp_path
):
    out = tmp_path / "o.csv"
    args = ["diffuse", "--time", "auto", str(overflow_marker), "-o", str(out)]
    result = runner.invoke(cli, [*args, "--strict", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["guarantees_held"], report["failed_checks"]
    assert "clean" not in result.stderr
    assert report["steps"] > 0  # searched and filtered, as the channel is without spikes


# * A11: a PCM_24 file at full scale (8388607/8388608) written as PCM_16 was refused:
#   "4229 output samples ... would be clipped ... lower the input's level"; the top value
#   rounds to 32768, half a code past the top, which is the rounding's excess, not clipping.


def test_a11_a_full_scale_24_bit_file_is_written_as_16_bit(runner, tmp_path):
    sf = pytest.importorskip("soundfile")
    r = np.random.default_rng(0)
    n = 2000
    square = np.sign(np.sin(np.arange(n) / 100)) * 1.2 + 0.05 * r.standard_normal(n)
    x = np.clip(square, -1, 8388607 / 8388608)
    src = tmp_path / "rail24.wav"
    sf.write(src, x, 8000, subtype="PCM_24")
    out = tmp_path / "o16.wav"
    args = ["diffuse", str(src), "--steps", "3", "--subtype", "PCM_16", "-o", str(out), "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    written, _ = sf.read(out, dtype="int16")
    assert written.max() == 32767
    rounding = json.loads(result.stdout)["output_rounding"]
    assert rounding["mean_change_at_most"] == rounding["step"]  # the rail: up to one step


def test_a11_a_sample_at_one_is_still_refused_as_pcm(runner, tmp_path):
    src = _csv(tmp_path / "one.csv", [0.0] * 10 + [1.0] * 10 + [0.0] * 10)
    out = tmp_path / "o.wav"
    args = ["diffuse", str(src), "--steps", "1", "--subtype", "PCM_16", "--rate", "8000"]
    args += ["-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "would be clipped" in result.stderr
    assert not out.exists()


# * A13: a WAV whose data chunk's size field is 0 or too small (a recording that was
#   not finalised) read as "0 samples", or as its first 500 frames without a word.


def _wav_bytes(size_field: int, frames: int, after: bytes = b"") -> bytes:
    import struct

    x = (np.sin(np.arange(frames) / 50) * 20000).astype("<i2").tobytes()
    fmt = b"fmt " + struct.pack("<I", 16) + struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + fmt + b"data" + struct.pack("<I", size_field) + x + after
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("size_field", [0, 1000])
def test_a13_a_data_size_field_short_of_the_samples_is_refused(runner, tmp_path, size_field):
    src = tmp_path / "unfinalised.wav"
    src.write_bytes(_wav_bytes(size_field, 20000))
    out = tmp_path / "o.wav"
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "2", "-o", str(out)])
    assert result.exit_code == 1
    assert f"says {size_field} bytes, but {40000 - size_field} bytes" in result.stderr
    assert "not finalised" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a13_chunks_or_zero_padding_after_the_data_are_read_as_before(runner, tmp_path):
    import struct

    from resdenoise.io.read import read_signal

    tail = b"LIST" + struct.pack("<I", 10) + b"INFOxxxxxx" + bytes(64)
    src = tmp_path / "tail.wav"
    src.write_bytes(_wav_bytes(40000, 20000, tail))
    plain = tmp_path / "plain.wav"
    plain.write_bytes(_wav_bytes(40000, 20000))  # the same samples, nothing after them
    # "as before" (audit16b B4): the 74 bytes after the data are no samples
    read, expected = read_signal(src).data, read_signal(plain).data
    assert read.shape == expected.shape == (20000,)
    np.testing.assert_array_equal(read, expected)
    written = {}
    for name, path in (("tail", src), ("plain", plain)):
        out = tmp_path / f"o_{name}.wav"
        result = runner.invoke(cli, ["diffuse", str(path), "--steps", "2", "-q", "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        written[name] = read_signal(out).data
    np.testing.assert_array_equal(written["tail"], written["plain"])


# * A3: an automatic lambda that overflows said "the automatic lambda inf is inf in
#   float64 ...; give another --lambda or use --dtype float64" (a float64 run; denoise has
#   no --lambda), and a plan over scales (whose lambdas are the search's) exit 2 as if
#   given, even with --lambda given.


@pytest.mark.parametrize(
    "args",
    [
        ["diffuse", "--scales", "2", "--time", "auto"],
        ["diffuse", "--scales", "2", "--time", "auto", "--lambda", "1e300"],
        ["shrink", "--scales", "3", "--iterations", "2"],
    ],
)
def test_a3_an_overflowing_automatic_lambda_is_the_samples_fault(runner, tmp_path, args):
    r = np.random.default_rng(0)
    src = _csv(tmp_path / "u.csv", r.uniform(0, 1.7e308, 300))
    out = tmp_path / "o.csv"
    result = runner.invoke(cli, [*args, str(src), "-o", str(out)])
    assert result.exit_code == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"Error: {src}: the automatic lambda is inf for these samples")
    assert line.endswith("; scale the signal")
    assert not out.exists()


def test_a3_denoise_is_not_told_to_give_a_lambda(runner, tmp_path):
    src = _csv(tmp_path / "big.csv", [0.0, 1e308, -1e308, 0.0, 5.0])
    for args in (["diffuse", "--time", "auto"], ["denoise"]):
        result = runner.invoke(cli, [*args, str(src), "-o", str(tmp_path / "o.csv")])
        assert result.exit_code == 1, result.stderr
        line = result.stderr.strip()
        assert line.startswith(f"Error: {src}: the automatic lambda is inf for these samples")
        assert "--lambda" not in line and "--dtype" not in line


# * A14: a tiny --sigma (1e-310) gave "the automatic lambda is 4.4e-310 for samples of
#   range 1.8 ...; scale the signal or give --lambda": the samples blamed for the option.


@pytest.mark.parametrize("args", [["--time", "auto"], ["--steps", "3"]])
def test_a14_a_tiny_sigma_is_named_as_the_cause(runner, tmp_path, args):
    x = np.r_[np.zeros(60), np.ones(60)] + 0.1 * np.random.default_rng(1).standard_normal(120)
    src = _csv(tmp_path / "step.csv", x)
    result = runner.invoke(
        cli, ["diffuse", str(src), *args, "--sigma", "1e-310", "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"Error: {src}: the --sigma given (1e-310) makes the automatic lambda")
    assert "give a larger --sigma" in line and "scale the signal" not in line


def test_a14_the_library_names_sigma():
    import resdenoise
    from resdenoise.errors import SignalValuesError

    x = np.r_[np.zeros(60), np.ones(60)] + 0.1 * np.random.default_rng(1).standard_normal(120)
    with pytest.raises(SignalValuesError, match=r"the sigma given \(1e-310\)"):
        resdenoise.diffuse(x, time="auto", sigma=1e-310)


# * A6: a formula on samples whose range is exactly the float64 maximum was refused with
#   "Phi(-1) = -0.606531 but -Phi(1) = -0.606531" or "g_max = inf" (the last grid point
#   overflowed to inf: Phi(inf) NaN); with lam < 1 an internal OverflowError.


@pytest.mark.parametrize("lam", [1.0, 0.5])
def test_a6_a_formula_on_samples_at_the_float64_maximum_runs(lam):
    import resdenoise

    x = [0.0, 1.7976931348623157e308, 0.0, 1e308]
    with np.errstate(over="ignore"):  # the formula's own r * r at 1e308
        out = resdenoise.diffuse(x, lambda r: np.exp(-r * r / 2), lam=lam, steps=3)
    assert np.all(np.isfinite(out))
    assert out.max() <= 1.7976931348623157e308 and out.min() >= 0.0


def test_a6_the_cli_runs_a_formula_at_the_float64_maximum(runner, tmp_path):
    src = _csv(tmp_path / "m.csv", [0.0, 1.7976931348623157e308, 0.0])
    for args in (
        ["diffuse", "--diffusivity-expr", "exp(-r^2/2)", "--steps", "3"],
        ["resnet", "--activation-expr", "r/(1+abs(r))", "--blocks", "3"],
    ):
        out = tmp_path / "o.csv"
        result = runner.invoke(cli, [*args, "--lambda", "1", str(src), "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        # audit16b B4: three finite samples within the input's range (max-min principle)
        u = np.array([float(v) for v in out.read_text().split()])
        assert u.shape == (3,) and np.all(np.isfinite(u)), u
        assert np.all((u >= 0.0) & (u <= 1.7976931348623157e308)), u


# * A5: a Python int beyond float64 in the signal raised a bare OverflowError from the
#   cast, not the SignalError every other sample that is not a finite float64 gets.


def test_a5_an_int_beyond_float64_is_a_signal_error():
    import resdenoise
    from resdenoise.errors import SignalError

    with pytest.raises(SignalError, match=r"sample 1, channel 1 is beyond float64's range"):
        resdenoise.diffuse([10**400, 0, 1], "charbonnier", lam=1.0, steps=1)
    signal = np.array([[0, 1], [2, -(10**400)], [0, 1]], dtype=object)
    with pytest.raises(SignalError, match=r"sample 2, channel 2 is beyond float64's range"):
        resdenoise.shrink(signal, theta=1.0)


# * A8: a Windows-1252 CSV (a header "Temperature" with an e-acute, "uV" with a micro sign)
#   was "not a text file (byte 5 is not UTF-8); ... give an audio file a .wav/.flac
#   extension".


def test_a8_a_windows_1252_csv_is_named_as_such(runner, tmp_path):
    src = tmp_path / "cp1252.csv"
    src.write_bytes(b"Temp\xe9rature;Druck \xb5V\r\n1,5;2\r\n2,5;3\r\n3,5;4\r\n4;5\r\n")
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line == (
        f"Error: {src}: line 1, byte 5: not UTF-8 (0xe9: an 8-bit text file: Windows-1252, "
        "Mac Roman, DOS cp850?); save it as UTF-8 in the program that wrote it (Excel: CSV "
        "UTF-8), or convert it from its encoding (iconv -f ENCODING -t utf-8 in.csv > out.csv, "
        "ENCODING cp1252, macintosh or cp850)"
    )  # (audit18b B20: was one guess, cp1252, whose iconv turned a cp850 file's 0xf8 into ø)


# * A9: a u-law / A-law / GSM 6.10 WAV written with its own subtype kept was re-encoded
#   without a word, the report's output numbers not the file's.


@pytest.mark.parametrize("subtype", ["ULAW", "GSM610"])
def test_a9_a_companding_or_lossy_subtype_kept_is_said(runner, tmp_path, subtype):
    sf = pytest.importorskip("soundfile")
    r = np.random.default_rng(5)
    x = 0.5 * np.sin(np.arange(4000) / 40) + 0.05 * r.standard_normal(4000)
    src = tmp_path / "in.wav"
    sf.write(src, x, 8000, subtype=subtype)
    out = tmp_path / "o.wav"
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "3", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    said = f"the input's {subtype} encoding is kept: the output is re-encoded by it"
    assert said in result.stderr
    assert any(said in w for w in json.loads(result.stdout)["warnings"])
    assert sf.info(out).subtype == subtype
    plain = runner.invoke(
        cli, ["diffuse", str(src), "--steps", "3", "-o", str(out), "--subtype", "PCM_16"]
    )
    assert plain.exit_code == 0 and "re-encoded" not in plain.stderr
