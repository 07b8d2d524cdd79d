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


#: Options of a run that leaves the samples as they were (hard shrinkage at 1e-30).
COPY = ("--diffusivity", "hard", "--lambda", "1e-30", "--steps", "1")


def _step(src, out, *extra, lam="1"):
    """One block of ``diffuse`` (lambda ``lam``) of ``src`` into ``out``, quietly."""
    return _invoke("diffuse", src, "--steps", "1", "--lambda", lam, "-q", "-o", out, *extra)


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
            *COPY,
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
        *COPY,
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


# A20a-14 ----------------------------------------------------------------------

UNITS = b"time,temp\ns,degC\n" + b"".join(b"%d,2%d.5\n" % (i, i % 7) for i in range(21))


@pytest.mark.parametrize("extra", [[], ["--columns", "temp"]])
def test_a_units_row_under_a_time_header_is_the_line_named(tmp_path, extra):
    """Fails before: 'line 3 ... '0' is a number, unlike the time column's cells before
    it ... delete line 3' (a data row; deleting it moved the complaint to line 4)."""
    src = tmp_path / "units.csv"
    src.write_bytes(UNITS)
    res = _invoke("diffuse", src, "--steps", "1", "--lambda", "1", "-o", tmp_path / "o.csv", *extra)
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        f"Error: {src}: line 2, column 1 ('time'): 's' is not a number, unlike the time "
        "column's cells after it (line 3: '0'): units under the header? delete line 2, or "
        "start it with # to keep it in the output (comment lines are copied where they were)"
    )
    assert not (tmp_path / "o.csv").exists()


def test_two_rows_of_units_and_a_stream_say_so_too(tmp_path):
    from resdenoise.io import open_signal_stream, parse_signal

    raw = UNITS.replace(b"s,degC\n", b"s,degC\n-,sensor 1\n")
    with pytest.raises(
        SignalError, match=r"f.csv: lines 2-3, .* delete lines 2-3, or start each with #"
    ):
        parse_signal(raw, "CSV", "f.csv")
    (tmp_path / "f.csv").write_bytes(UNITS)
    with pytest.raises(
        SignalError, match=r"line 2, .*'s' is not a number.* delete line 2, or start it with #"
    ):
        open_signal_stream(tmp_path / "f.csv")


# A20a-15 ----------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "2"]])
def test_carried_text_is_written_back_as_it_was(tmp_path, chunk):
    """A carried cell's blanks are data (in quotes certainly); the header line is kept
    as written.  Fails before: '  quoted lead' came back 'quoted lead', 'trail  ' as
    'trail', 'time, temp, state' as 'time,temp,state', ' OK' as 'OK'."""
    src = tmp_path / "ws.csv"
    src.write_text(
        'time,v,note\n0,1.5,"  quoted lead"\n1,2.5,trail  \n2,0.5,ok\n3,1.0, x\n4,2.0,y\n'
    )
    res = _step(src, tmp_path / "o.csv", "--columns", "v", *chunk)
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines[0] == "time,v,note"
    assert [ln.split(",", 2)[2] for ln in lines[1:]] == [
        "  quoted lead",
        "trail  ",
        "ok",
        " x",
        "y",
    ]
    log = tmp_path / "log.csv"
    log.write_text("time, temp, state\n" + "".join(f"{i}, 2{i % 7}.25, OK\n" for i in range(9)))
    res = _step(log, tmp_path / "o2.csv", "--columns", "temp", *chunk)
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "o2.csv").read_text().splitlines()
    assert lines[0] == "time, temp, state"
    assert all(ln.endswith(", OK") for ln in lines[1:])

    res = _step(log, tmp_path / "o.tsv", "--columns", "temp", *chunk)  # header joined anew
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o.tsv").read_text().splitlines()[0] == "time\ttemp\tstate"


# A20a-9, A20a-16: W64 on stdin, .bwf --------------------------------------------


def test_w64_on_stdin_is_audio(tmp_path):
    """Fails before: '<stdin>: line 1: not a text file ... give an audio file a .wav/.flac
    extension' (W64 starts with 'riff' and a GUID, not in the list)."""
    _audio(tmp_path / "a.w64", fmt="W64")
    res = CliRunner().invoke(
        cli,
        [
            "diffuse",
            "-",
            *COPY,
            "-q",
            "-o",
            str(tmp_path / "o.w64"),
        ],
        input=(tmp_path / "a.w64").read_bytes(),
    )
    assert res.exit_code == 0, res.output
    assert soundfile.info(str(tmp_path / "o.w64")).format == "W64"
    np.testing.assert_array_equal(
        soundfile.read(tmp_path / "o.w64")[0], soundfile.read(tmp_path / "a.w64")[0]
    )
    res = CliRunner().invoke(cli, ["diffuse", "-", "--steps", "1"], input=b"\x80\x81\x82\n1\n")
    assert res.exit_code == 1
    assert res.stderr.rstrip().endswith(
        "expected CSV, or name an audio input's format with --input-format (wav, w64, ...)"
    )


def test_a_bwf_file_is_a_wav(tmp_path):
    """Broadcast Wave's extension. Fails before: "cannot tell the format from the
    extension '.bwf'" (exit 1 as input, 2 as output)."""
    data = _audio(tmp_path / "x.bwf", fmt="WAV", subtype="PCM_24")
    res = _invoke(
        "diffuse",
        tmp_path / "x.bwf",
        *COPY,
        "-q",
        "-o",
        tmp_path / "y.bwf",
    )
    assert res.exit_code == 0, res.output
    info = soundfile.info(str(tmp_path / "y.bwf"))
    assert (info.format, info.subtype) == ("WAV", "PCM_24")
    np.testing.assert_array_equal(soundfile.read(tmp_path / "y.bwf", always_2d=True)[0], data)
    res = _invoke("diffuse", tmp_path / "x.bwf", "--steps", "1", "--lambda", "0.1", "--in-place")
    assert res.exit_code == 0, res.output
    assert soundfile.info(str(tmp_path / "x.bwf")).format == "WAV"


# A20a-10: the sample rate as a whole number written as a float ---------------


def test_a_rate_line_of_a_float_is_read(tmp_path):
    """'# samplerate: 44100.0' (f"{fs}" of a float fs) is 44100 Hz; a rate that is no
    whole number is named where a rate is needed.  Fails before: 'carries none'."""
    body = "".join(f"{x!r}\n" for x in np.random.default_rng(2).standard_normal(50).tolist())
    (tmp_path / "a.csv").write_text("# samplerate: 44100.0\nv\n" + body)
    res = _step(tmp_path / "a.csv", tmp_path / "o.wav", lam="0.1")
    assert res.exit_code == 0, res.output
    assert soundfile.info(str(tmp_path / "o.wav")).samplerate == 44100
    (tmp_path / "b.csv").write_text("# samplerate: 0.5\nv\n" + body)
    res = _step(tmp_path / "b.csv", tmp_path / "o2.wav", lam="0.1")
    assert res.exit_code == 2
    assert (
        "carries none (its line '# samplerate: 0.5' is no whole number of Hz); give it in Hz with --rate"
        in res.stderr
    )


@pytest.mark.parametrize(
    "rate, code, said",
    [
        (
            "0.5",
            2,
            "Invalid value for '--rate': '0.5' is not a whole number of Hz (from 1 to 2147483647)",
        ),
        ("5e9", 2, "--rate must be a whole number of Hz from 1 to 2147483647, not 5000000000"),
        ("8000.0", 0, ""),
    ],
)
def test_rate_says_whole_hz(tmp_path, rate, code, said):
    """Fails before: "'0.5' is not a valid integer range", "'5e9' is not a valid integer
    range" (click's words), and 8000.0 refused."""
    body = "".join(f"{x!r}\n" for x in np.random.default_rng(2).standard_normal(50).tolist())
    (tmp_path / "a.csv").write_text("v\n" + body)
    res = _step(tmp_path / "a.csv", tmp_path / "o.wav", "--rate", rate, lam="0.1")
    assert res.exit_code == code, res.output
    assert said in res.stderr


# A20a-18: FLAC's limits -------------------------------------------------------


def test_flac_limits_are_said_in_the_programs_words(tmp_path):
    """Fails before: 'cannot encode as FLAC/PCM_24: Format not recognised.' (exit 1) and
    libsndfile's 'flac does not support this sample rate'."""
    table = 0.1 * np.random.default_rng(0).standard_normal((200, 10))
    np.savetxt(tmp_path / "c10.csv", table, delimiter=",")
    res = _step(tmp_path / "c10.csv", tmp_path / "c10.flac", "--rate", "8000", lam="0.1")
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"Error: {tmp_path / 'c10.flac'}: FLAC holds 1 to 8 channels, and this output has "
        "10: write WAV (or CAF, W64)"
    )
    np.savetxt(tmp_path / "c2.csv", table[:, :2], delimiter=",")
    res = _step(tmp_path / "c2.csv", tmp_path / "c2.flac", "--rate", "1000000", lam="0.1")
    assert res.exit_code == 2
    assert "FLAC holds rates up to 655350 Hz, not 1000000: write WAV (or CAF, W64)" in res.stderr
    assert not any(p.suffix == ".flac" for p in tmp_path.iterdir())
