"""Plain WAV files read by plain reads of their data chunk (resdenoise.io.wav).

The header is parsed by the reader itself, so every test compares with what
libsndfile (soundfile) reads from the same bytes: values bit for bit, and
the files it refuses refused with one line.  Hand-built headers cover what
libsndfile does not write: odd chunk sizes, chunks before the data,
WAVE_FORMAT_EXTENSIBLE, lying sizes.
"""

import io
import os
import struct

import numpy as np
import pytest
import soundfile

from resdenoise.errors import SignalError
from resdenoise.io import ReadOptions, open_signal_stream, read_signal
from resdenoise.io.audio import AudioReader
from resdenoise.io.wav import GUID_TAIL, plain_wav

TAGS = {"FLOAT": (3, 32, "<f4"), "PCM_16": (1, 16, "<i2"), "PCM_32": (1, 32, "<i4")}


def samples(rng, frames, channels, subtype):
    x = np.clip(0.4 * rng.standard_normal((frames, channels)), -1, 1)
    if subtype == "FLOAT":
        return x.astype("<f4")
    top = 2 ** (TAGS[subtype][1] - 1)
    return np.round(x * (top - 1)).astype(TAGS[subtype][2])


def build(data, subtype, rate=8000, before=(), extensible=False, data_size=None, fmt_fix=None):
    """A WAV file's bytes: RIFF/WAVE, a format chunk, the chunks ``before`` ((id, body),
    odd sizes padded), then the data chunk (its size field ``data_size`` if given)."""
    tag, bits, _ = TAGS[subtype]
    channels = data.shape[1]
    align = channels * bits // 8
    fields = [tag, channels, rate, rate * align, align, bits]
    if fmt_fix:
        fields = [fmt_fix.get(i, v) for i, v in enumerate(fields)]
    if extensible:
        fields[0] = 0xFFFE
        fmt = struct.pack("<HHIIHH", *fields)
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + GUID_TAIL
    else:
        fmt = struct.pack("<HHIIHH", *fields)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    for cid, payload in before:
        body += cid + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    raw = data.tobytes()
    size = len(raw) if data_size is None else data_size
    body += b"data" + struct.pack("<I", size) + raw
    return b"RIFF" + struct.pack("<I", len(body)) + body


def layout(raw: bytes):
    def read_at(pos, k):
        return raw[pos : pos + k]

    return plain_wav(read_at, len(raw))


def streamed(path, channels=None):
    """The checked stream, its reader, and the samples of its filtering pass."""
    seen = []
    options = ReadOptions() if channels is None else ReadOptions(channels=channels)
    stream = open_signal_stream(path, options=options, visit=seen.append)
    data = np.concatenate([b for b, _ in stream.blocks()])
    return stream, stream._reader, np.concatenate(seen), data


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16", "PCM_32"])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_libsndfile_files_are_read_plainly_with_its_values(tmp_path, rng, subtype, channels):
    """Files soundfile writes: read by plain reads (both passes) with the float64 values
    soundfile gives, bit for bit, in blocks that cut frames anywhere."""
    x = samples(rng, 70_001, channels, subtype)
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype=subtype)
    want = soundfile.read(path, dtype="float64", always_2d=True)[0]
    stream, reader, checked, data = streamed(path)
    assert reader.plain is not None and reader.plain.subtype == subtype
    assert checked.tobytes() == want.tobytes()
    assert data.reshape(want.shape).tobytes() == want.tobytes()
    assert read_signal(path).data.reshape(want.shape).tobytes() == want.tobytes()


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16"])
def test_stored_blocks_are_the_float32_values_in_new_arrays(tmp_path, rng, subtype):
    """``blocks(stored=True)``: a float WAV's samples as float32, the values of the
    float64 blocks, each block a new array (all held at once, none overwritten),
    the carried channel too; other subtypes float64 as before."""
    x = samples(rng, 400_001, 3, subtype)
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype=subtype)
    stream = open_signal_stream(path, options=ReadOptions(columns=[1, 3]))
    wide = list(stream.blocks())
    held = list(stream.blocks(stored=True))
    assert len(held) > 2
    kind = np.float32 if subtype == "FLOAT" else np.float64
    for (data, carried), (want, want_carried) in zip(held, wide, strict=True):
        assert data.dtype == kind and data.flags.c_contiguous
        assert data.astype(np.float64).tobytes() == want.tobytes()
        assert carried[1].astype(np.float64).tobytes() == want_carried[1].tobytes()


@pytest.mark.parametrize("fmt", ["WAV", "AIFF"])
@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16"])
def test_a_whole_read_as_stored_gives_the_float32_values(tmp_path, rng, fmt, subtype):
    """``read_signal(stored=True)``: a file of 32-bit floats (WAV or AIFF) gives its
    samples as float32, the values of the float64 read, the carried channel too,
    more frames than one read block; other subtypes float64 as without it."""
    x = samples(rng, 70_001, 3, subtype)
    path = tmp_path / f"x.{fmt.lower()}"
    soundfile.write(path, x, 8000, subtype=subtype, format=fmt)
    options = ReadOptions(columns=[3, 1])
    wide, held = read_signal(path, options=options), read_signal(path, options=options, stored=True)
    kind = np.float32 if subtype == "FLOAT" else np.float64
    assert held.data.dtype == kind and held.data.flags.c_contiguous
    assert held.data.astype(np.float64).tobytes() == wide.data.tobytes()
    assert held.carried[1].dtype == kind
    assert held.carried[1].astype(np.float64).tobytes() == wide.carried[1].tobytes()
    assert (held.subtype, held.positions) == (wide.subtype, wide.positions)


@pytest.mark.parametrize("extensible", [False, True])
@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16"])
def test_hand_built_headers_read_as_libsndfile_reads_them(tmp_path, rng, extensible, subtype):
    """Odd chunk sizes (a pad byte after), chunks other than 'data' before it (LIST,
    junk, fact, PEAK), WAVE_FORMAT_EXTENSIBLE: the data found where libsndfile finds it."""
    x = samples(rng, 5003, 2, subtype)
    before = [(b"LIST", b"INFOabc"), (b"junk", b"x" * 13), (b"fact", struct.pack("<I", 5003))]
    raw = build(x, subtype, before=before, extensible=extensible)
    found = layout(raw)
    assert found is not None and found.frames == 5003 and found.subtype == subtype
    assert raw[found.offset : found.offset + x[:1].nbytes] == x[:1].tobytes()
    path = tmp_path / "x.wav"
    path.write_bytes(raw)
    want = soundfile.read(io.BytesIO(raw), dtype="float64", always_2d=True)[0]
    stream, reader, checked, data = streamed(path)
    assert reader.plain == found
    assert checked.tobytes() == want.tobytes() and data.tobytes() == want.tobytes()
    assert read_signal(path).data.tobytes() == want.tobytes()  # read whole, from its bytes


def test_a_file_read_whole_takes_its_samples_from_the_bytes_in_hand(rng, monkeypatch):
    """Read whole: the samples straight from the file's bytes (no block reads by
    libsndfile after its check of the first frames), the values soundfile gives."""
    from resdenoise.io.audio import read_audio

    x = samples(rng, 9001, 2, "PCM_16")
    raw = build(x, "PCM_16", before=[(b"LIST", b"odd")])
    want = soundfile.read(io.BytesIO(raw), dtype="float64", always_2d=True)[0]
    reads = []
    real = AudioReader._read
    monkeypatch.setattr(
        AudioReader, "_read", lambda self, f, d: reads.append(1) or real(self, f, d)
    )
    got = read_audio(raw, "x.wav", ReadOptions())
    assert got.data.tobytes() == want.tobytes() and reads == []


def test_a_header_that_claims_more_than_the_file_holds_is_refused(tmp_path, rng):
    """The data chunk's size beyond the file's end: no plain layout (never read past
    the end), and the reader's one-line refusal, as for a file read whole."""
    x = samples(rng, 1000, 2, "FLOAT")
    raw = build(x, "FLOAT", data_size=x.nbytes + 8000)
    assert layout(raw) is None
    assert layout(build(x, "FLOAT")[:-100]) is None  # cut short
    path = tmp_path / "cut.wav"
    path.write_bytes(raw)
    for door in (lambda: open_signal_stream(path, visit=lambda b: None), lambda: read_signal(path)):
        with pytest.raises(SignalError) as err:
            door()
        assert "truncated audio" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "broken",
    [
        {"fmt_fix": {3: 1234}},  # byte rate not rate x block align
        {"fmt_fix": {4: 3}},  # block align not channels x bytes
        {"fmt_fix": {1: 0}},  # no channels
        {"fmt_fix": {5: 24}},  # 24-bit: not a plain layout here
        {"data_size": 4 * 2 * 100 + 3},  # not whole frames
    ],
)
def test_headers_the_plain_reader_doubts_go_to_libsndfile(tmp_path, rng, broken):
    """A field that does not add up gives no plain layout: libsndfile reads (or refuses)
    the file, and the stream gives what read_signal gives."""
    x = samples(rng, 100, 2, "FLOAT")
    raw = build(x, "FLOAT", **broken)
    if "data_size" in broken:
        raw += b"\0" * 3
    assert layout(raw) is None
    path = tmp_path / "odd.wav"
    path.write_bytes(raw)
    try:
        want = read_signal(path).data
    except SignalError as exc:
        with pytest.raises(SignalError) as err:
            open_signal_stream(path, visit=lambda b: None)
        assert str(err.value) == str(exc)
        return
    stream, reader, checked, data = streamed(path)
    assert reader.plain is None and data.tobytes() == want.tobytes()


def test_other_layouts_are_not_plain(rng):
    x = samples(rng, 10, 1, "FLOAT")
    raw = build(x, "FLOAT")
    assert layout(raw[:8] + b"AIFF" + raw[12:]) is None
    assert layout(b"RIFX" + raw[4:]) is None  # big-endian
    no_fmt = b"RIFF" + raw[4:8] + b"WAVE" + raw[raw.index(b"data") :]
    assert layout(no_fmt) is None
    twice = raw[:12] + raw[12:36] + raw[12:]  # two format chunks
    assert layout(twice) is None


def test_where_libsndfile_disagrees_it_reads_the_file(tmp_path, rng, monkeypatch):
    """The plain layout is used only where libsndfile reports the same file and the same
    first values; otherwise the reads are libsndfile's."""
    x = samples(rng, 3000, 2, "FLOAT")
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype="FLOAT")
    monkeypatch.setattr(AudioReader, "_as_read", staticmethod(lambda view, plain: view * 2))
    stream, reader, checked, data = streamed(path)
    assert reader.plain is None
    assert data.tobytes() == soundfile.read(path, dtype="float64")[0].tobytes()


def test_a_file_cut_short_while_read_is_refused_not_read_past(tmp_path, rng):
    """A short read in the filtering pass (the file cut after the check): one line, the
    known message, no garbage and no crash; the input is never written to."""
    x = samples(rng, 200_000, 2, "FLOAT")
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype="FLOAT")
    before = path.read_bytes()
    stream = open_signal_stream(path, visit=lambda b: None)
    reader = stream._reader
    assert reader.plain is not None
    assert path.read_bytes() == before and os.access(path, os.R_OK)
    with open(path, "r+b") as fh:
        fh.truncate(len(before) // 2)
    with pytest.raises(SignalError, match="the file changed while it was read"):
        list(reader._blocks())
    with pytest.raises(SignalError, match="the file changed while it was read"):
        list(stream.blocks())


@pytest.mark.parametrize("chunks", ["0", "1000"])
@pytest.mark.parametrize("name", ["in.wav", "in.flac", "in.aiff"])
def test_an_audio_file_keeps_its_text_metadata(tmp_path, name, chunks):
    """Title, artist and comment of an audio input were dropped from its output (and
    from the file itself with --in-place), exit 0; kept now, whole or in chunks."""
    from click.testing import CliRunner

    from resdenoise.cli import cli

    src = tmp_path / name
    tags = {"title": "take 3", "artist": "me", "comment": "calibrated: 94 dB SPL"}
    with soundfile.SoundFile(src, "w", 8000, 1, "PCM_16") as f:
        for key, value in tags.items():
            setattr(f, key, value)
        f.write(np.sin(np.arange(4000) / 30.0) * 0.5)
    kept = soundfile.SoundFile(src).copy_metadata()  # what the format holds
    assert kept and set(kept.items()) <= set(tags.items())
    out = tmp_path / ("out" + src.suffix)
    run = ["diffuse", "--steps", "2", "-q", "--chunk-size", chunks]
    for args in ([str(src), "-o", str(out)], [str(src), "--in-place"]):
        result = CliRunner().invoke(cli, [*run, *args])
        assert result.exit_code == 0, result.output
        target = src if "--in-place" in args else out
        assert soundfile.SoundFile(target).copy_metadata() == kept


@pytest.mark.parametrize("channels", [1, 2])
def test_rows_by_position_are_the_stored_blocks_values(tmp_path, rng, channels):
    """``SignalStream.row_reader()`` of a plain WAV of 32-bit floats with every channel
    filtered: rows from any position read straight into the caller's float32 array
    (shaped as the blocks are: 1-D for one channel), the values ``blocks(stored=True)``
    gives; its file is opened at the first read and closed by ``close``."""
    x = samples(rng, 200_003, channels, "FLOAT")
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype="FLOAT")
    stream = open_signal_stream(path, visit=lambda b: None)
    want = np.concatenate([b for b, _ in stream.blocks(stored=True)])
    rows = stream.row_reader()
    assert rows is not None and rows.dtype == np.float32 and rows._fh is None
    for a, b in ((0, 7), (65_530, 131_080), (199_990, 200_003), (0, 200_003)):
        out = np.empty(want[a:b].shape, np.float32)
        rows.read(a, out)
        assert out.tobytes() == want[a:b].tobytes()
    rows.finish()
    fh = rows._fh
    rows.close()
    assert fh.closed and rows._fh is None


def test_rows_by_position_only_where_the_stored_floats_are_the_signal(tmp_path, rng):
    """No rows by position (None: the blocks are read) for integer samples, channels
    picked (the others carried), or a file libsndfile reads; every channel named is
    every channel."""
    path = tmp_path / "x.wav"
    soundfile.write(path, samples(rng, 5000, 3, "FLOAT"), 8000, subtype="FLOAT")
    assert open_signal_stream(path, visit=lambda b: None).row_reader() is not None
    for columns, none in (([1, 2], True), ([2, 3], True), ([3, 1, 2], False)):
        stream = open_signal_stream(path, options=ReadOptions(columns=columns), visit=len)
        assert (stream.row_reader() is None) == none
    pcm = tmp_path / "p.wav"
    soundfile.write(pcm, samples(rng, 5000, 2, "PCM_16"), 8000, subtype="PCM_16")
    assert open_signal_stream(pcm, visit=lambda b: None).row_reader() is None
    aiff = tmp_path / "a.aiff"
    soundfile.write(aiff, samples(rng, 5000, 2, "FLOAT"), 8000, subtype="FLOAT")
    assert open_signal_stream(aiff, visit=lambda b: None).row_reader() is None


def test_rows_of_a_file_changed_or_cut_short_are_refused(tmp_path, rng, monkeypatch):
    """Rows by position of a file written to after the check: refused at the first read
    (and by ``finish`` after the last); a read cut short (the file cut while it is
    read) is refused with one line, not filled with garbage."""
    x = samples(rng, 200_000, 2, "FLOAT")
    path = tmp_path / "x.wav"
    soundfile.write(path, x, 8000, subtype="FLOAT")
    size = path.stat().st_size
    stream = open_signal_stream(path, visit=lambda b: None)
    rows = stream.row_reader()
    rows.read(0, np.empty((10, 2), np.float32))
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(SignalError, match="the file changed while it was read"):
        rows.finish()
    with pytest.raises(SignalError, match=r"ended after 99\d\d\d samples, expected 150000"):
        rows.read(50_000, np.empty((100_000, 2), np.float32))  # (checked before its first read)
    rows.close()
    with pytest.raises(SignalError, match="the file changed while it was read"):
        stream.row_reader().read(0, np.empty((10, 2), np.float32))
