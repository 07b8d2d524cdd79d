"""Files and formats an audio engineer's audit found wrong (audit16a A4-A8, A10): a
directory input refused as what it is whatever the options (A8), a lossy codec kept from
the input warned of (A5), refusals of a truncated or too short file that say what to do
(A4, A7), the report's ``output_info`` and the input's samples at full scale (A6), and a
lossy codec's decoded floats written as FLOAT, not PCM_16 (A10)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile

from resdenoise.cli import cli
from resdenoise.io.signal import can_encode

SHRINK = ["shrink", "--shrinkage", "soft", "--iterations", "2"]


def _error(result, code: int) -> str:
    """The one ``Error:`` line of a failed run with exit ``code``."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _tone(frames: int = 12001, rate: int = 48000, seed: int = 5) -> np.ndarray:
    t = np.arange(frames) / rate
    x = np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t + 1)], 1)
    return x + 0.01 * np.random.default_rng(seed).standard_normal(x.shape)


# A8: a directory given as the input is not a signal, whatever the options


@pytest.mark.parametrize(
    "command",
    [
        ["denoise"],
        ["denoise", "--chunk-size", "0"],
        ["diffuse", "--time", "auto"],
        ["shrink", "--shrinkage", "auto"],
        ["shrink", "--iterations", "1"],
    ],
    ids=["denoise", "denoise-whole", "time-auto", "shrinkage-auto", "fixed"],
)
@pytest.mark.parametrize("full", [False, True], ids=["empty", "of-wavs"])
def test_a_directory_input_is_refused_as_one_at_once(runner, tmp_path, command, full):
    """Before: an automatic option said 'the store's array is larger than 64 MiB, which is
    read in chunks; pass --chunk-size 0' (exit 2) for an empty directory (or one of small
    WAVs), and that advice led to the true reason."""
    folder = tmp_path / "takes"
    folder.mkdir()
    if full:
        soundfile.write(str(folder / "a.wav"), _tone(2000), 48000, subtype="PCM_16")
    out = tmp_path / "x.wav"
    line = _error(runner.invoke(cli, [command[0], str(folder), *command[1:], "-o", str(out)]), 1)
    assert line == (
        f"Error: {folder}: is a directory, not a signal file; give its files ({folder}/*)"
    )
    assert not out.exists()


# A5: a lossy codec kept from the input is a second lossy generation: said


LOSSY = [
    ("in.ogg", "OGG", "VORBIS"),
    ("in.opus", "OGG", "OPUS"),
    ("in.mp3", "MP3", "MPEG_LAYER_III"),
]


def _lossy_input(tmp_path, name, fmt, subtype):
    if not can_encode(fmt, subtype):
        pytest.skip(f"this libsndfile cannot write {fmt} {subtype}")
    path = tmp_path / name
    soundfile.write(str(path), _tone(), 48000, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize(("name", "fmt", "subtype"), LOSSY, ids=[s for _, _, s in LOSSY])
def test_a_lossy_codec_kept_from_the_input_is_warned(runner, tmp_path, name, fmt, subtype):
    """Before: MP3, Vorbis and Opus inputs were encoded again silently ('guarantees held'),
    the report's max-min principle of samples the file does not hold; u-law was warned."""
    src = _lossy_input(tmp_path, name, fmt, subtype)
    out, rep = tmp_path / f"out{os.path.splitext(name)[1]}", tmp_path / "r.json"
    result = runner.invoke(cli, [*SHRINK, str(src), "-o", str(out), "--report", str(rep)])
    assert result.exit_code == 0, result.stderr
    said = (
        f"{out}: the input's {subtype} encoding is kept: the output is encoded by it a second "
        "time (lossy), which may move its samples and peaks, and the report's output numbers "
        "(range, sign changes, total variation, mean drift) are the run's before that "
        "encoding; write a WAV file (FLOAT, e.g. out.wav) to keep the samples as measured"
    )
    assert said in " ".join(result.stderr.split())
    report = json.loads(rep.read_text())
    assert report["warnings"][0] == said
    assert soundfile.info(str(out)).subtype == subtype
    # the file's own range beside the run's numbers, and a warning where it leaves the input's
    written, _ = soundfile.read(str(out), always_2d=True)
    encoded = report["output_encoded"]
    assert encoded["subtype"] == subtype
    assert encoded["output_min"] == written.min(axis=0).tolist()
    assert encoded["output_max"] == written.max(axis=0).tolist()
    beyond = [
        lo < c["input_min"] or hi > c["input_max"]
        for c, lo, hi in zip(
            report["channels"], encoded["output_min"], encoded["output_max"], strict=True
        )
    ]
    assert encoded["range_beyond_input"] == beyond
    overshoots = [w for w in report["warnings"] if "the encoder's overshoot" in w]
    assert len(overshoots) == sum(beyond) == result.stderr.count("the encoder's overshoot")
    # the way out it names: a WAV holds the samples as measured (FLOAT), no warning
    wav = tmp_path / "out.wav"
    result = runner.invoke(cli, [*SHRINK, str(src), "-o", str(wav), "--report", str(rep)])
    assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr
    written, _ = soundfile.read(str(wav))
    report = json.loads(rep.read_text())
    assert "output_encoded" not in report
    top = [c["output_max"] for c in report["channels"]]
    np.testing.assert_allclose(written.max(axis=0), top, rtol=1e-6)  # float32 of the run's


def test_the_auditors_mp3_overshoot_is_said(runner, tmp_path):
    """audit16a's reproducer: a 440/660 Hz stereo tone with noise as MP3, shrunk; the
    written channel 2 peaked at 0.2735 above the input's 0.2448 while the report said
    max_min_principle true, and nothing else."""
    if not can_encode("MP3", "MPEG_LAYER_III"):
        pytest.skip("this libsndfile cannot write MP3")
    rng = np.random.default_rng(5)
    for rate in [44100] * 20 + [48000] + [44100] * 4:  # the auditor's 25 files before (Opus 21st)
        rng.standard_normal((rate // 2 + 3, 2))
    rate, n = 44100, 44100 // 2 + 3
    t = np.arange(n) / rate
    x = np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t + 1)], 1)
    x += 0.01 * rng.standard_normal(x.shape)
    src, out, rep = tmp_path / "in.mp3", tmp_path / "out.mp3", tmp_path / "r.json"
    soundfile.write(str(src), x, rate, format="MP3", subtype="MPEG_LAYER_III")
    result = runner.invoke(cli, [*SHRINK, str(src), "-o", str(out), "--report", str(rep)])
    assert result.exit_code == 0, result.stderr
    report = json.loads(rep.read_text())
    written, _ = soundfile.read(str(out))
    ranges = zip(written.min(axis=0), written.max(axis=0), report["channels"], strict=True)
    beyond = [bool(lo < c["input_min"] or hi > c["input_max"]) for lo, hi, c in ranges]
    assert report["output_encoded"]["range_beyond_input"] == beyond
    assert report["guarantees_held"]  # of the run's samples: a fact about the file, not a check
    if any(beyond):  # the encoder's overshoot (with the auditor's LAME, channel 2): said
        assert "channel 2 of the MPEG_LAYER_III file spans" in " ".join(result.stderr.split())


@pytest.mark.parametrize(("name", "fmt", "subtype"), LOSSY, ids=[s for _, _, s in LOSSY])
def test_in_place_on_a_lossy_file_is_warned(runner, tmp_path, name, fmt, subtype):
    """Before: --in-place replaced an MP3 with a second lossy generation, nothing said."""
    src = _lossy_input(tmp_path, name, fmt, subtype)
    result = runner.invoke(cli, [*SHRINK, str(src), "--in-place"])
    assert result.exit_code == 0, result.stderr
    assert f"the input's {subtype} encoding is kept" in " ".join(result.stderr.split())
    assert soundfile.info(str(src)).subtype == subtype


# A10: a lossy codec's decoded samples are floats: the most bits a format keeps


@pytest.mark.parametrize(("name", "fmt", "subtype"), LOSSY, ids=[s for _, _, s in LOSSY])
def test_a_lossy_input_written_as_wav_is_float(runner, tmp_path, name, fmt, subtype):
    """Before: PCM_16, with no warning, although the decoded samples are floats (not on
    16-bit steps) and the rule is the subtype that keeps the most bits."""
    src = _lossy_input(tmp_path, name, fmt, subtype)
    decoded, _ = soundfile.read(str(src))
    assert np.mean(decoded * 2**15 == np.rint(decoded * 2**15)) < 0.01  # floats indeed
    rep = tmp_path / "r.json"
    for out, expected in (("o.wav", "FLOAT"), ("o.aiff", "FLOAT")):
        result = runner.invoke(
            cli, [*SHRINK, str(src), "-o", str(tmp_path / out), "--report", str(rep)]
        )
        assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr
        assert soundfile.info(str(tmp_path / out)).subtype == expected
        assert json.loads(rep.read_text())["output_info"]["subtype"] == expected
    flac = tmp_path / "o.flac"
    result = runner.invoke(cli, [*SHRINK, str(src), "-o", str(flac), "--report", str(rep)])
    assert result.exit_code == 0, result.stderr
    assert soundfile.info(str(flac)).subtype == "PCM_24"
    said = (
        f"{flac}: FLAC holds the input's {subtype} samples at most as PCM_24: they are rounded "
        "to 24-bit integers; write WAV to keep them all"
    )
    assert json.loads(rep.read_text())["warnings"] == [said]


# A4: a truncated WAV: how to keep the frames it holds


def test_a_truncated_wav_says_how_to_keep_its_frames(runner, tmp_path):
    """Before: 'truncated audio: the data chunk promises ... bytes, the file holds ...' and
    nothing else (the unfinalised header's refusal names a repair)."""
    whole = tmp_path / "whole.wav"
    soundfile.write(str(whole), _tone(20000, 44100), 44100, subtype="PCM_24")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:30000])
    held = soundfile.info(str(cut)).frames  # what libsndfile (and sox) read of it
    assert held == (30000 - 44) // 6
    out = tmp_path / "o.wav"
    line = _error(runner.invoke(cli, [*SHRINK, str(cut), "-o", str(out)]), 1)
    assert line == (
        f"Error: {cut}: truncated audio: the data chunk promises 120000 bytes, the file holds "
        f"29956 (a copy cut short?); copy it again, or keep the {held} whole frames it holds, "
        "e.g. sox in.wav out.wav (it warns of the early end and writes them)"
    )
    assert not out.exists()


def test_a_truncated_adpcm_wav_counts_no_frames_it_cannot(runner, tmp_path):
    """An ADPCM file's block align is a block of frames: no count is made up."""
    if not can_encode("WAV", "IMA_ADPCM"):
        pytest.skip("this libsndfile cannot write IMA ADPCM")
    whole = tmp_path / "whole.wav"
    soundfile.write(str(whole), _tone(20000, 44100), 44100, subtype="IMA_ADPCM")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:3000])
    line = _error(runner.invoke(cli, [*SHRINK, str(cut), "-o", str(tmp_path / "o.wav")]), 1)
    assert "; copy it again, or keep the whole frames it holds, e.g. sox in.wav out.wav" in line


# A7: an empty or 1-sample file: what to do, and what a batch does with it


@pytest.mark.parametrize("frames", [0, 1])
@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "100"]], ids=["whole", "streamed"])
def test_a_file_too_short_says_what_to_do(runner, tmp_path, frames, chunk):
    """Before: 'e0.wav: 0 samples; a signal needs at least 2 samples', no way out named,
    and in a batch nothing said that the others were written."""
    short = tmp_path / "take0.wav"
    soundfile.write(str(short), np.full(frames, 0.1), 16000, subtype="PCM_16")
    other = tmp_path / "take1.wav"
    soundfile.write(str(other), _tone(3000)[:, 0], 16000, subtype="PCM_16")
    outdir = tmp_path / "out"
    result = runner.invoke(cli, [*SHRINK, str(short), str(other), "-o", f"{outdir}/", *chunk])
    assert result.exit_code == 1, result.stderr  # the README's contract: the largest code
    what = "0 samples" if frames == 0 else "1 sample"
    assert (
        f"Error: {short}: {what}; a signal needs at least 2 samples: nothing to filter, leave "
        "this file out (a batch still writes the others and exits 1 for it)"
    ) in result.stderr.splitlines()
    assert os.listdir(outdir) == ["take1.wav"]


# A6: the report says what was written, and counts the input's samples at full scale


def _hot(tmp_path) -> tuple:
    """A stereo PCM_16 file whose channel 2 is clipped at both rails, and its counts."""
    rng = np.random.default_rng(1)
    n = 16001
    hot = np.clip(1.3 * np.sin(np.arange(n) / 20) + 0.05 * rng.standard_normal(n), -1, 1)
    path = tmp_path / "hot.wav"
    soundfile.write(str(path), np.stack([0.3 * np.sin(np.arange(n) / 7), hot], 1), 16000,
                    subtype="PCM_16")  # fmt: skip
    codes, _ = soundfile.read(str(path), dtype="int16")
    counts = ((codes == -(2**15)) | (codes == 2**15 - 1)).sum(axis=0)
    assert counts[0] == 0 and counts[1] > 1000
    return path, [int(k) for k in counts]


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "1000"]], ids=["whole", "streamed"])
def test_the_report_says_what_was_written_and_what_was_at_full_scale(runner, tmp_path, chunk):
    """Before: output_info held format and subtype only, and nothing counted the clipped
    input (``clipped`` counts the output's)."""
    src, counts = _hot(tmp_path)
    rep = tmp_path / "r.json"
    for columns, picked in (([], counts), (["--columns", "2"], counts[1:])):
        out = tmp_path / "o.wav"
        args = [*SHRINK, str(src), "-o", str(out), "--report", str(rep), *columns, *chunk]
        assert runner.invoke(cli, args).exit_code == 0
        report = json.loads(rep.read_text())
        assert report["input_info"]["full_scale"] == picked
        info = soundfile.info(str(out))
        assert report["output_info"] == {
            "format": "WAV",
            "subtype": "PCM_16",
            "rate": info.samplerate,
            "frames": info.frames,
            "channels": len(picked),
            "columns": info.channels,
        }
        assert (info.samplerate, info.frames, info.channels) == (16000, 16001, 2)
    csv = tmp_path / "o.csv"
    assert (
        runner.invoke(cli, [*SHRINK, str(src), "-o", str(csv), "--report", str(rep)]).exit_code == 0
    )
    assert json.loads(rep.read_text())["output_info"] == {
        "format": "CSV", "subtype": None, "rate": 16000, "frames": 16001, "channels": 2,
        "columns": 2,
    }  # fmt: skip


def test_full_scale_input_is_shown_by_v_and_not_counted_for_floats(runner, tmp_path):
    src, counts = _hot(tmp_path)
    result = runner.invoke(cli, [*SHRINK, str(src), "-o", str(tmp_path / "o.wav"), "-v"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout + result.stderr
    assert "input samples at full scale" in text and f"ch 2 {counts[1]}" in text
    data, rate = soundfile.read(str(src))
    floats = tmp_path / "f.wav"
    soundfile.write(str(floats), data, rate, subtype="FLOAT")  # +-1 is no rail of a float
    rep = tmp_path / "r.json"
    assert runner.invoke(cli, [*SHRINK, str(floats), "-o", str(tmp_path / "p.wav"),
                               "--report", str(rep)]).exit_code == 0  # fmt: skip
    assert "full_scale" not in json.loads(rep.read_text())["input_info"]


@pytest.mark.parametrize(("name", "fmt", "subtype"), LOSSY, ids=[s for _, _, s in LOSSY])
def test_a_lossy_format_chosen_has_its_range_reported_not_warned(
    runner, tmp_path, name, fmt, subtype
):
    """A lossy output the user named (a WAV written as .ogg/.opus/.mp3) is not warned of
    (review10), but the report holds the written file's range as for one kept."""
    if not can_encode(fmt, subtype):
        pytest.skip(f"this libsndfile cannot write {fmt} {subtype}")
    src = tmp_path / "in.wav"
    soundfile.write(str(src), np.clip(_tone() * 2.4, -1, 1), 48000, subtype="PCM_16")
    out, rep = tmp_path / f"out{os.path.splitext(name)[1]}", tmp_path / "r.json"
    result = runner.invoke(cli, [*SHRINK, str(src), "-o", str(out), "--report", str(rep)])
    assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr
    written, _ = soundfile.read(str(out), always_2d=True)
    encoded = json.loads(rep.read_text())["output_encoded"]
    assert encoded["output_max"] == written.max(axis=0).tolist()
