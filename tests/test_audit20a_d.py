"""audit20a's findings taken by fix20d (a researcher comparing resdenoise with her own
NumPy/SciPy/MATLAB pipelines).

A20a-8: an RF64 input (a WAV over 4 GiB, as recorders and libsndfile write it) was written
as a plain WAV whose 32-bit sizes wrap: readers saw its first 4 GiB, ``--in-place`` replaced
the recording with it, and the report claimed every frame.  RF64 is kept now, and a WAV
output whose samples would not fit is RF64 (the size rule is tested with a frame count and
a lowered limit: nothing here needs 4 GiB on disk).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.errors import ParameterError, SignalError
from resdenoise.io import Signal, SignalWriter, WriteOptions, write_files_atomic
from resdenoise.io import wav as wavmod


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _audio(path, fmt="WAV", subtype="FLOAT", channels=2, frames=400, rate=8000):
    data = 0.3 * np.random.default_rng(8).standard_normal((frames, channels))
    soundfile.write(path, data, rate, subtype, format=fmt)
    return soundfile.read(path, always_2d=True)[0]


# A20a-8 -----------------------------------------------------------------------


@pytest.mark.parametrize("in_place", [False, True])
def test_an_rf64_input_stays_rf64_in_a_wav(tmp_path, in_place):
    """Fails before: 'WAV' == 'RF64' (the format of .wav was WAV whatever the input)."""
    src = tmp_path / "rec.wav"
    _audio(src, fmt="RF64")
    out = src if in_place else tmp_path / "out.wav"
    where = ["--in-place"] if in_place else ["-o", out]
    res = _invoke(
        "diffuse",
        src,
        "--diffusivity",
        "charbonnier",
        "--lambda",
        "0.01",
        "--steps",
        "1",
        "-q",
        *where,
        "--report",
        tmp_path / "r.json",
    )
    assert res.exit_code == 0, res.output
    info = soundfile.info(str(out))
    assert (info.format, info.frames) == ("RF64", 400)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["output_info"]["format"] == "RF64"


def test_the_library_keeps_rf64_too(tmp_path):
    from resdenoise.io import read_signal, write_signal

    _audio(tmp_path / "a.wav", fmt="RF64", subtype="PCM_24")
    sig = read_signal(tmp_path / "a.wav")
    assert write_signal(tmp_path / "b.wav", sig)["format"] == "RF64"
    assert soundfile.info(str(tmp_path / "b.wav")).format == "RF64"


def _template(channels=1, fmt="WAV", subtype="FLOAT"):
    return Signal(np.zeros((0, channels)), "in.wav", fmt, 8000, subtype)


@pytest.mark.parametrize(
    "subtype, channels, size", [("FLOAT", 1, 4), ("PCM_24", 2, 6), ("PCM_16", 6, 12)]
)
def test_the_size_rule_by_the_frame_count(subtype, channels, size):
    """A plain WAV holds at most wavmod.SIZE32_LIMIT bytes of samples (its sizes are 32-bit);
    one frame more is RF64, with the line saying why.  A WAVE extensible output alike."""
    sig = _template(channels, subtype=subtype)
    most = wavmod.SIZE32_LIMIT // size
    for fmt in ("WAV", "WAVEX"):
        assert wavmod.sized_format(fmt, subtype, sig, most, "o.wav") == (fmt, None)
        grown, note = wavmod.sized_format(fmt, subtype, sig, most + 1, "o.wav")
        assert grown == "RF64"
        assert note.startswith(f"o.wav: 4.00 GiB of {subtype} samples is more than {fmt} holds")
    # the auditor's file: 1,090,519,040 FLOAT frames, mono (4 GiB + 64 MiB)
    assert wavmod.sized_format("WAV", "FLOAT", _template(), 1_090_519_040, "o.wav")[0] == "RF64"
    assert wavmod.sized_format("FLAC", subtype, sig, 10 * most, "o.flac") == ("FLAC", None)
    assert wavmod.sized_format("W64", subtype, sig, 10 * most, "o.w64") == ("W64", None)


def test_formats_without_an_rf64_are_refused_before_writing():
    """AIFF has 32-bit sizes too and no 64-bit form; a WAV subtype RF64 cannot hold."""
    with pytest.raises(ParameterError, match=r"is more than AIFF holds .* write W64"):
        wavmod.sized_format("AIFF", "PCM_16", _template(), wavmod.SIZE32_LIMIT // 2 + 1, "o.aiff")
    with pytest.raises(ParameterError, match=r"up to .* IMA_ADPCM samples is more than WAV"):
        wavmod.sized_format("WAV", "IMA_ADPCM", _template(), wavmod.SIZE32_LIMIT + 1, "o.wav")


def test_a_wav_output_beyond_the_limit_is_rf64_end_to_end(tmp_path, monkeypatch):
    """The whole route with the limit lowered to 1000 bytes: a 400-frame stereo FLOAT
    output (3200 bytes) is RF64, every frame readable, output_info's frames the file's,
    and a warning says so.  Fails before: the format was WAV (no size rule)."""
    monkeypatch.setattr(wavmod, "SIZE32_LIMIT", 1000)
    data = _audio(tmp_path / "in.wav")
    for chunk in ([], ["--chunk-size", "100"]):
        out, rep = tmp_path / "out.wav", tmp_path / "r.json"
        res = _invoke(
            "diffuse",
            tmp_path / "in.wav",
            "--diffusivity",
            "hard",
            "--lambda",
            "1e-30",
            "--steps",
            "1",
            "-o",
            out,
            "--report",
            rep,
            *chunk,
        )
        assert res.exit_code == 0, res.output
        info = soundfile.info(str(out))
        assert (info.format, info.frames) == ("RF64", 400)
        np.testing.assert_array_equal(soundfile.read(str(out), always_2d=True)[0], data)
        report = json.loads(rep.read_text())
        assert report["output_info"]["format"] == "RF64"
        assert report["output_info"]["frames"] == info.frames
        assert any("written as RF64" in w for w in report["warnings"])
        assert "written as RF64" in res.stderr


def test_a_writer_not_told_the_frames_refuses_to_wrap(tmp_path, monkeypatch):
    """Without ``frames``, a WAV writer refuses rows beyond what the file holds, and
    nothing is written (never a file whose header wraps)."""
    monkeypatch.setattr(wavmod, "SIZE32_LIMIT", 1000)
    target = tmp_path / "o.wav"
    with pytest.raises(SignalError, match=r"outgrow a WAV file .*output_format='rf64'"):
        with SignalWriter(target, _template(2)) as writer:
            writer.write(np.zeros((100, 2)))  # 800 bytes: fits
            writer.write(np.zeros((100, 2)))
            write_files_atomic([writer])
    assert list(tmp_path.iterdir()) == []
    with SignalWriter(target, _template(2), WriteOptions(), frames=200) as writer:
        writer.write(np.zeros((200, 2)))
        write_files_atomic([writer])
    assert soundfile.info(str(target)).format == "RF64"


def test_an_rf64_input_keeps_its_channel_mask(tmp_path):
    """A microphone array's mask 0 in an RF64 file stays 0 (libsndfile writes its default,
    quad's 0x33, for 4 channels), as in a WAVE extensible one."""
    src = tmp_path / "a.wav"
    _audio(src, fmt="RF64", channels=4)
    raw = bytearray(src.read_bytes())
    at = raw.index(b"fmt ") + 8 + 20
    assert raw[at : at + 4] != bytes(4)
    raw[at : at + 4] = bytes(4)
    src.write_bytes(bytes(raw))
    out = tmp_path / "o.wav"
    res = _invoke(
        "diffuse",
        src,
        "--diffusivity",
        "hard",
        "--lambda",
        "1e-30",
        "--steps",
        "1",
        "-q",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    got = out.read_bytes()
    at = got.index(b"fmt ") + 8 + 20
    assert got[:4] == b"RF64" and got[at : at + 4] == bytes(4)


# A20a-11 ----------------------------------------------------------------------


def _quietly(f, *args, **kwargs):
    """``f(*args, **kwargs)`` with its warnings (a channel left as it was) not raised."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


def _two_levels(tmp_path):
    """A CSV of columns a, b: a sine with white noise of 0.05 in both."""
    rng = np.random.default_rng(11)
    s = np.sin(np.linspace(0, 6 * np.pi, 1000))
    table = np.stack([s, 0.5 * s], 1) + 0.05 * rng.standard_normal((1000, 2))
    path = tmp_path / "ab.csv"
    path.write_text("a,b\n" + "".join(f"{x!r},{y!r}\n" for x, y in table.tolist()))
    return path, table


@pytest.mark.parametrize("columns", ["b,a", "2,1"])
def test_levels_pair_with_the_columns_in_the_order_given(tmp_path, columns):
    """--columns b,a --sigma 0.01,0.05 gives b 0.01, as resdenoise.diffuse(df[["b", "a"]],
    sigma=(0.01, 0.05)) does: the same numbers bit for bit, and the summary shows each
    channel's level.  Fails before: b got 0.05 (the file's order: a first), the outputs
    differed from the library's."""
    import resdenoise as rd

    path, table = _two_levels(tmp_path)
    out, rep = tmp_path / "o.csv", tmp_path / "r.json"
    res = _invoke(
        "diffuse",
        path,
        "--columns",
        columns,
        "--time",
        "auto",
        "--sigma",
        "0.01,0.05",
        "-o",
        out,
        "--report",
        rep,
    )
    assert res.exit_code == 0, res.output
    got = np.loadtxt(out, delimiter=",", skiprows=1)
    lib = _quietly(rd.diffuse, table[:, [1, 0]], time="auto", sigma=(0.01, 0.05))
    np.testing.assert_array_equal(got[:, [1, 0]], lib)
    plans = {
        p["channels"][0]: p["parameters"]["noise_sigma"]
        for p in json.loads(rep.read_text())["channel_plans"]
    }
    assert plans == {"column 1 ('a')": [0.05], "column 2 ('b')": [0.01]}
    assert "column 2 ('b'): " in res.stderr
    assert "noise sigma 0.01 (given" in res.stderr.split("column 2 ('b'): ")[1]


def test_the_file_door_pairs_them_so_too(tmp_path):
    import resdenoise as rd
    from resdenoise.io import ReadOptions
    from resdenoise.pipeline import run_file
    from resdenoise.plans import planner

    path, table = _two_levels(tmp_path)
    make = planner("diffuse", "perona-malik", time="auto", sigma=(0.01, 0.05))
    run_file(
        make,
        str(path),
        str(tmp_path / "o.csv"),
        read=ReadOptions(columns=("b", "a")),
        on_warning=lambda line: None,
    )
    got = np.loadtxt(tmp_path / "o.csv", delimiter=",", skiprows=1)
    lib = _quietly(rd.diffuse, table[:, [1, 0]], "perona-malik", time="auto", sigma=(0.01, 0.05))
    np.testing.assert_array_equal(got[:, [1, 0]], lib)


def test_audio_channels_pair_so_too(tmp_path):
    """--columns 3,1 of a 4-channel DOUBLE WAV: channel 3 gets the first level."""
    import resdenoise as rd

    src = tmp_path / "a.wav"
    rng = np.random.default_rng(5)
    s = 0.4 * np.sin(np.linspace(0, 6 * np.pi, 1000))
    data = np.stack([s, -s, 0.5 * s, s], 1) + 0.05 * rng.standard_normal((1000, 4))
    soundfile.write(src, data, 8000, "DOUBLE")
    out = tmp_path / "o.wav"
    res = _invoke(
        "diffuse",
        src,
        "--columns",
        "3,1",
        "--time",
        "auto",
        "--sigma",
        "0.001,0.05",
        "-q",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    got = soundfile.read(out, always_2d=True)[0]
    lib = _quietly(rd.diffuse, data[:, [2, 0]], time="auto", sigma=(0.001, 0.05))
    np.testing.assert_array_equal(got[:, [2, 0]], lib)
    np.testing.assert_array_equal(got[:, [1, 3]], data[:, [1, 3]])
