"""What an audio input holds beside its samples, that no output keeps (audit23a).

A23a-1: a WAV's chunks other than six known ones (an ID3 tag, XMP, LIST adtl labels)
and the LIST INFO fields libsndfile does not read (IENG, ISRC, ...) were dropped by
``--in-place`` without a word, and by ``-o`` too.  A23a-2: a FLAC's PICTURE block and
its Vorbis comments but libsndfile's ten (ISRC, LOCATION, ...) alike; an Opus file's
comments alike.  Now each is named: a warning (also the report's) with ``-o``, and
``--in-place`` refuses the file before the run, leaving it as it was.

The files are built here byte by byte (RIFF chunks, FLAC metadata blocks, an Ogg page
with its CRC), independently of the code under test; what libsndfile keeps is what
soundfile reads back.
"""

from __future__ import annotations

import io
import json
import os
import struct

import numpy as np
import pytest
import soundfile

from resdenoise.cli import cli

RUN = ["diffuse", "--steps", "1", "--lambda", "0.1"]


def _ck(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def _wav(path, *extra: bytes, subtype="PCM_16", tags=None) -> bytes:
    """A WAV written by soundfile (with ``tags``), the chunks ``extra`` appended."""
    x = 0.3 * np.sin(np.arange(4000) / 30)
    buf = io.BytesIO()
    with soundfile.SoundFile(buf, "w", 48000, 1, subtype, format="WAV") as f:
        for key, value in (tags or {}).items():
            setattr(f, key, value)
        f.write(x)
    b = buf.getvalue() + b"".join(extra)
    b = b[:4] + struct.pack("<I", len(b) - 8) + b[8:]
    path.write_bytes(b)
    return b


def _info(*fields: tuple[bytes, bytes]) -> bytes:
    return _ck(b"LIST", b"INFO" + b"".join(_ck(i, v + b"\0") for i, v in fields))


WAV_CASES = {
    "id3": (
        _ck(b"id3 ", b"ID3\x03\0\0\0\0\0\x15TIT2\0\0\0\x0b\0\0\0Interview1"),
        "id3 chunk (an ID3 tag)",
    ),
    "xmp": (_ck(b"_PMX", b"<x:xmpmeta>archive id 42</x:xmpmeta>"), "_PMX chunk (XMP metadata)"),
    "info": (
        _info((b"INAM", b"Title"), (b"IENG", b"Engineer Name"), (b"ISRC", b"Source tape 12")),
        "LIST INFO fields IENG, ISRC (text libsndfile does not read)",
    ),
    "adtl": (
        _ck(b"LIST", b"adtl" + _ck(b"labl", struct.pack("<I", 1) + b"Question 1\0")),
        "LIST adtl chunk (cue labels and notes)",
    ),
    "unknown": (_ck(b"abcd", b"an unknown chunk's body"), "abcd chunk"),
}


def _run(runner, *args):
    return runner.invoke(cli, [*RUN, *(str(a) for a in args)])


def _warned(result):
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize("case", sorted(WAV_CASES))
def test_in_place_refuses_a_wav_whose_other_chunks_it_would_lose(runner, tmp_path, case):
    """Before: exit 0, the file replaced without the ID3 tag, the XMP packet, the INFO
    fields IENG and ISRC (INAM, the title, kept), the adtl label: nothing said."""
    chunk, said = WAV_CASES[case]
    src = tmp_path / "t.wav"
    before = _wav(src, chunk)
    result = _run(runner, src, "--in-place")
    assert result.exit_code == 2, result.output
    them = "them" if "fields" in said else "it"
    assert result.stderr == (
        f"Error: {src}: --in-place would lose its {said}, which no output keeps; write the "
        f"output to another file (-o) and copy {them} over\n"
    )
    assert src.read_bytes() == before and os.listdir(tmp_path) == ["t.wav"]


@pytest.mark.parametrize("case", sorted(WAV_CASES))
def test_a_wav_run_names_the_chunks_it_does_not_write(runner, tmp_path, case):
    """Before: no warning, nothing in the report's warnings."""
    chunk, said = WAV_CASES[case]
    src, out, rep = tmp_path / "t.wav", tmp_path / "o.wav", tmp_path / "r.json"
    _wav(src, chunk)
    result = _run(runner, src, "-o", out, "--report", rep)
    assert result.exit_code == 0, result.output
    several = "fields" in said
    line = (
        f"{src}: its {said} {'are' if several else 'is'} not written to the output (only the "
        "samples and the text tags libsndfile reads are): keep the input for "
        f"{'them' if several else 'it'}, or copy {'them' if several else 'it'} over "
        "(e.g. with BWF MetaEdit)"
    )
    assert _warned(result) == [f"warning: {line}"]
    assert json.loads(rep.read_text())["warnings"] == [line]
    # what the warning says is what happened: the output holds none of it
    marker = {"id3": b"Interview1", "xmp": b"archive id", "info": b"Engineer"}
    marker.update(adtl=b"Question 1", unknown=b"unknown chunk")
    assert marker[case] in chunk and marker[case] not in out.read_bytes()


def test_info_fields_libsndfile_skips_are_named_as_measured(runner, tmp_path):
    """libsndfile keeps the last of two IART fields and skips a comment of 3000 bytes:
    the first artist and the comment are named, the second artist not."""
    src = tmp_path / "t.wav"
    before = _wav(src, _info((b"IART", b"First"), (b"IART", b"Second"), (b"ICMT", b"x" * 3000)))
    assert soundfile.SoundFile(src).copy_metadata() == {"artist": "Second"}
    result = _run(runner, src, "--in-place")
    assert result.exit_code == 2, result.output
    assert "its LIST INFO fields IART, ICMT (text libsndfile does not read)" in result.stderr
    assert src.read_bytes() == before


ALL_TAGS = {
    "title": "T",
    "copyright": "C",
    "software": "S",
    "artist": "A",
    "comment": "Cm",
    "date": "2026",
    "album": "Al",
    "license": "L",
    "tracknumber": "3",
    "genre": "G",
}


@pytest.mark.parametrize(
    "name,fmt,subtype",
    [
        ("t.wav", "WAV", "FLOAT"),  # fact, PEAK, LIST INFO of nine tags: all made anew or kept
        ("t.wav", "WAV", "PCM_24"),
        ("t.rf64", "RF64", "PCM_16"),
        ("t.flac", "FLAC", "PCM_16"),
        ("t.ogg", "OGG", "VORBIS"),
        ("t.opus", "OGG", "OPUS"),
    ],
)
def test_a_file_libsndfile_wrote_with_every_tag_is_replaced_in_place(
    runner, tmp_path, name, fmt, subtype
):
    """No false alarm: what libsndfile writes, with every tag it knows, is kept: no
    warning, and --in-place replaces the file, its tags read back the same.  (A guard of
    the new check, not a failure before: before, nothing was checked.)"""
    src = tmp_path / name
    rate = 48000
    x = 0.3 * np.sin(np.arange(rate) / 30)
    with soundfile.SoundFile(src, "w", rate, 1, subtype, format=fmt) as f:
        for key, value in ALL_TAGS.items():
            try:
                setattr(f, key, value)
            except RuntimeError:  # a tag this format cannot hold
                continue
        f.write(x)
    tags = soundfile.SoundFile(src).copy_metadata()
    assert len(tags) >= 9
    result = _run(runner, src, "-o", tmp_path / ("o" + name[1:]))
    assert result.exit_code == 0, result.output
    assert [w for w in _warned(result) if "not written to the output" in w] == []
    result = _run(runner, src, "--in-place")
    assert result.exit_code == 0, result.output
    assert soundfile.SoundFile(src).copy_metadata()["artist"] == "A"


def test_the_vorbis_comments_of_an_ogg_file_are_read():
    """The comment header's fields, read from the second packet (ENCODER, the
    encoder's own, left out): what the check compares with libsndfile's tags."""
    from resdenoise.io.metadata import held_metadata

    buf = io.BytesIO()
    with soundfile.SoundFile(buf, "w", 48000, 1, "VORBIS", format="OGG") as f:
        f.artist, f.title = "A", "T"
        f.write(0.3 * np.sin(np.arange(48000) / 30))
    b = buf.getvalue()
    held, tool = held_metadata(lambda pos, k: b[pos : pos + k], len(b))
    assert {(h.name.lower(), h.tag, h.value) for h in held} >= {
        ("artist", "artist", "A"),
        ("title", "title", "T"),
    }
    assert "encoder" not in {h.name.lower() for h in held}


# FLAC -------------------------------------------------------------------------------------


def _comment_body(fields: list[bytes]) -> bytes:
    vendor = b"test vendor"
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(fields))
    return body + b"".join(struct.pack("<I", len(f)) + f for f in fields)


FLAC_FIELDS = [
    b"TITLE=Interview 3",
    b"ARTIST=Field team",
    b"ISRC=USRC17607839",
    b"RECORDED_BY=Jane",
    b"REPLAYGAIN_TRACK_GAIN=-3.2 dB",
    b"LOCATION=Marsh",
]
PICTURE = (
    struct.pack(">II", 3, 9)
    + b"image/png"
    + struct.pack(">I", 5)
    + b"cover"
    + struct.pack(">IIIII", 1, 1, 24, 0, 8)
    + b"\x89PNG\r\n\x1a\n"
)


def _flac(path, blocks: list[tuple[int, bytes]]) -> bytes:
    """A FLAC written by soundfile, its comment block replaced, ``blocks`` added."""
    buf = io.BytesIO()
    soundfile.write(buf, 0.3 * np.sin(np.arange(4000) / 30), 48000, format="FLAC")
    b = buf.getvalue()
    assert b[:4] == b"fLaC"
    pos, kept = 4, []
    while True:
        head = b[pos]
        size = int.from_bytes(b[pos + 1 : pos + 4], "big")
        if head & 0x7F != 4:
            kept.append((head & 0x7F, b[pos + 4 : pos + 4 + size]))
        pos += 4 + size
        if head & 0x80:
            break
    blocks = kept + blocks
    out = b"fLaC"
    for i, (kind, body) in enumerate(blocks):
        last = 0x80 if i == len(blocks) - 1 else 0
        out += bytes([kind | last]) + len(body).to_bytes(3, "big") + body
    path.write_bytes(out + b[pos:])
    return out + b[pos:]


FLAC_SAID = (
    "PICTURE block (cover art) and Vorbis comments ISRC, RECORDED_BY, "
    "REPLAYGAIN_TRACK_GAIN, LOCATION (text libsndfile does not read)"
)


def test_in_place_refuses_a_flac_whose_picture_and_comments_it_would_lose(runner, tmp_path):
    """Before: exit 0, no warning, the file replaced holding TITLE and ARTIST only."""
    src = tmp_path / "m.flac"
    before = _flac(src, [(4, _comment_body(FLAC_FIELDS)), (6, PICTURE)])
    assert soundfile.SoundFile(src).copy_metadata() == {
        "title": "Interview 3",
        "artist": "Field team",
    }
    result = _run(runner, src, "--in-place")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Error: {src}: --in-place would lose its {FLAC_SAID}, which no output keeps; write "
        "the output to another file (-o) and copy them over\n"
    )
    assert src.read_bytes() == before and os.listdir(tmp_path) == ["m.flac"]


def test_a_flac_run_names_the_blocks_and_comments_it_does_not_write(runner, tmp_path):
    """Before: no warning, nothing in the report's warnings."""
    src, out, rep = tmp_path / "m.flac", tmp_path / "o.flac", tmp_path / "r.json"
    _flac(src, [(4, _comment_body(FLAC_FIELDS[:2] + [b"ISRC=X"])), (2, b"abcdxyz"), (7, b"?")])
    result = _run(runner, src, "-o", out, "--report", rep)
    assert result.exit_code == 0, result.output
    line = (
        f"{src}: its APPLICATION block (application data), metadata block of type 7 and "
        "Vorbis comment ISRC (text libsndfile does not read) are not written to the output "
        "(only the samples and the text tags libsndfile reads are): keep the input for them, "
        "or copy them over (e.g. with metaflac)"
    )
    assert _warned(result) == [f"warning: {line}"]
    assert json.loads(rep.read_text())["warnings"] == [line]
    assert b"ISRC" not in out.read_bytes()  # as said


# Opus: one Ogg page rebuilt, its CRC computed here -----------------------------------------


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _opus_with_comments(path, fields: list[bytes]) -> bytes:
    """An Opus file written by soundfile, its OpusTags page (the second) rebuilt."""
    buf = io.BytesIO()
    soundfile.write(buf, 0.3 * np.sin(np.arange(48000) / 30), 48000, format="OGG", subtype="OPUS")
    b = buf.getvalue()
    pages, pos = [], 0
    while pos < len(b):
        n = b[pos + 26]
        lacing = b[pos + 27 : pos + 27 + n]
        end = pos + 27 + n + sum(lacing)
        pages.append(b[pos:end])
        pos = end
    second = pages[1]
    n = second[26]
    assert second[27 + n : 27 + n + 8] == b"OpusTags" and second[27 + n - 1] < 255
    packet = b"OpusTags" + _comment_body(fields)
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    page = bytearray(second[:26] + bytes([len(lacing)]) + lacing + packet)
    page[22:26] = b"\0\0\0\0"
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    out = pages[0] + bytes(page) + b"".join(pages[2:])
    path.write_bytes(out)
    return out


def test_in_place_refuses_an_opus_file_whose_comments_it_would_lose(runner, tmp_path):
    """Before: exit 0, ISRC and LOCATION gone from the file replaced, nothing said."""
    src = tmp_path / "v.opus"
    before = _opus_with_comments(src, [b"ARTIST=A", b"ISRC=X1", b"LOCATION=Marsh"])
    assert soundfile.SoundFile(src).copy_metadata() == {"artist": "A"}  # it reads the page
    result = _run(runner, src, "--in-place")
    assert result.exit_code == 2, result.output
    assert "would lose its Vorbis comments ISRC, LOCATION (text libsndfile" in result.stderr
    assert src.read_bytes() == before


# A23a-4: in place, nothing done: the file left as it was ----------------------------------


def _sine_ogg(path) -> bytes:
    """A clean tone at Vorbis's best quality: denoise chooses none (the input)."""
    t = np.arange(44100) / 44100
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(path, np.c_[x, x], 44100, format="OGG", compression_level=0.0)
    return path.read_bytes()


def test_in_place_leaves_a_lossy_file_nothing_was_done_to_as_it_was(runner, tmp_path):
    """Before: 'nothing done: ... the output is the input', and the file replaced by a
    second Vorbis encoding at libsndfile's default quality (other bytes, a lossier file),
    warned as 'encoded a second time'."""
    src, rep = tmp_path / "q.ogg", tmp_path / "r.json"
    before = _sine_ogg(src)
    result = runner.invoke(cli, ["denoise", str(src), "--in-place", "--report", str(rep)])
    assert result.exit_code == 0, result.output
    report = json.loads(rep.read_text())
    assert report["parameters"]["automatic_choice"] == "none (the input)"  # the premise
    line = (
        f"{src}: left as it was: nothing done (no blocks, no pre-stage), so the file is not "
        "written again (a lossy file would be encoded a second time, and lose quality)"
    )
    assert f"warning: {line}" in _warned(result) and line in report["warnings"]
    assert not [w for w in _warned(result) if "second time (lossy)" in w]
    assert report["unchanged_input"] is True and report.get("output_encoded") is None
    assert src.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["q.ogg", "r.json"]


def test_in_place_replaces_a_file_something_was_done_to(runner, tmp_path):
    """The rule's other side: one block run, the file replaced (re-encoded), as before."""
    src, rep = tmp_path / "q.ogg", tmp_path / "r.json"
    before = _sine_ogg(src)
    result = _run(runner, src, "--in-place", "--report", rep)
    assert result.exit_code == 0, result.output
    assert "unchanged_input" not in json.loads(rep.read_text())
    assert src.read_bytes() != before


def test_in_place_nothing_done_to_another_subtype_is_written(tmp_path):
    """No blocks, but a subtype asked for (PCM_16 of a PCM_24 file): the file is
    rewritten in it; the same subtype, it is left as it was (its bytes and time)."""
    from resdenoise.filters import as_identity
    from resdenoise.io import WriteOptions
    from resdenoise.pipeline import planner, run_file

    make = planner("diffuse", "perona-malik", lam=0.1, steps=1)

    def nothing(u, **kw):
        plan, extra = make(u, **kw)
        return as_identity(plan), extra

    src = tmp_path / "t.wav"
    soundfile.write(src, 0.3 * np.sin(np.arange(4000) / 30), 48000, subtype="PCM_24")
    before, stamp = src.read_bytes(), src.stat().st_mtime_ns
    report = run_file(nothing, str(src), in_place=True, on_warning=lambda _: None)
    assert report["unchanged_input"] is True
    assert src.read_bytes() == before and src.stat().st_mtime_ns == stamp
    write = WriteOptions(subtype="PCM_16")
    report = run_file(nothing, str(src), in_place=True, write=write, on_warning=lambda _: None)
    assert "unchanged_input" not in report
    assert soundfile.info(src).subtype == "PCM_16"


# A23a-5: an MP3 on stdin without an ID3 tag ----------------------------------------------


def test_an_mp3_without_an_id3_tag_is_audio_on_stdin(tmp_path):
    """libsndfile writes MP3 as bare MPEG frames (FF FB ...), no ID3 tag: resdenoise's own
    MP3 output piped into resdenoise.  Before: refused, 'not a text file (byte 1 is not
    UTF-8)', exit 1.  A UTF-16 CSV's byte-order mark (FF FE) stays text."""
    import subprocess
    import sys

    from resdenoise.io import looks_like_audio

    src, out = tmp_path / "v.mp3", tmp_path / "chain.mp3"
    soundfile.write(src, 0.3 * np.sin(np.arange(48000) / 30), 48000)
    mp3 = src.read_bytes()
    assert mp3[:2] == b"\xff\xfb" and looks_like_audio(mp3[:8])
    assert not looks_like_audio("1\n2\n".encode("utf-16"))  # FF FE 31 00 ...
    exe = [sys.executable, "-m", "resdenoise", "diffuse", "-", "--steps", "1", "--lambda", "0.1"]
    done = subprocess.run([*exe, "-q", "-o", str(out)], input=mp3, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert soundfile.info(out).frames == soundfile.info(src).frames


# A23a-3: --reference's SNR of the file as written ----------------------------------------


@pytest.mark.parametrize("name,subtype", [("q.ogg", "VORBIS"), ("q.wav", "PCM_U8")])
def test_the_reference_snr_of_the_file_as_written(runner, tmp_path, name, subtype):
    """quality.output is the run's samples (before rounding or encoding); the file written
    is worse: OGG 0.9 dB, 8-bit 0.27 dB on the auditor's signal.  Before: only the run's
    number, printed as the output's.  Now also ``output_written``, the file read back,
    checked here against the SNR computed from the file by NumPy."""
    rng = np.random.default_rng(2)
    fs = 16000
    t = np.arange(2 * fs) / fs
    c = 0.5 * np.sin(2 * np.pi * 200 * t) * np.exp(-((t % 0.5) * 4))
    x = c + 0.02 * rng.standard_normal(len(t))
    src, clean = tmp_path / name, tmp_path / "clean.wav"
    soundfile.write(src, x, fs, subtype=subtype)
    soundfile.write(clean, c, fs, subtype="DOUBLE")
    out, rep = tmp_path / ("o" + name[1:]), tmp_path / "r.json"
    args = ["diffuse", "--time", "3", src, "--reference", clean, "-o", out, "--report", rep]
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    quality = json.loads(rep.read_text())["quality"]
    y = soundfile.read(out)[0]
    file_snr = 10 * np.log10(np.sum(c**2) / np.sum((y - c) ** 2))
    written = quality["output_written"]
    assert written["subtype"] == subtype
    assert written["snr_db"][0] == pytest.approx(file_snr, abs=1e-9)
    assert written["snr_db"][0] < quality["output"]["snr_db"][0] - 0.1  # the run's is better
    shown = f"({written['snr_db'][0]:.1f} dB as written in {subtype})"
    assert shown in result.stderr


# A23a-11: text tags not in UTF-8 --------------------------------------------------------


def test_in_place_refuses_a_wav_whose_latin1_tags_it_would_garble(runner, tmp_path):
    """A Windows tool's INFO title in Windows-1252: soundfile reads it with U+FFFD for
    'à' and 'é', and the output holds that.  Before: --in-place replaced the file, its
    title 'Entretien \\ufffd Montr\\ufffdal' for good, exit 0, no warning.  A UTF-8 title
    is kept (no word)."""
    src, out = tmp_path / "t.wav", tmp_path / "o.wav"
    title = "Entretien à Montréal"
    before = _wav(src, _info((b"INAM", title.encode("cp1252")), (b"IART", "René".encode())))
    assert soundfile.SoundFile(src).copy_metadata()["title"] == "Entretien \ufffd Montr\ufffdal"
    result = _run(runner, src, "--in-place")
    assert result.exit_code == 2, result.output
    said = "LIST INFO field INAM (not UTF-8: read with its letters replaced by U+FFFD)"
    assert f"would lose its {said}, which no output keeps" in result.stderr
    assert src.read_bytes() == before
    result = _run(runner, src, "-o", out)
    assert result.exit_code == 0, result.output
    assert [w for w in _warned(result) if said in w and "not written" in w]
    assert soundfile.SoundFile(out).copy_metadata()["artist"] == "René"


# A23a-10: an Ogg file cut short -----------------------------------------------------------


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
@pytest.mark.parametrize("cut", ["mid-page", "at a page"])
def test_an_ogg_file_cut_short_is_refused(runner, tmp_path, subtype, cut):
    """Before: a Vorbis file exit 0, 'guarantees held', the output half the recording
    long (libsndfile decodes up to the cut, silently); an Opus one refused as 'not a
    readable audio file (... malformed)'.  Cut within a page, or at a page's end (the
    last page then lacks the end-of-stream flag); the whole file is read as before."""
    src, whole = tmp_path / "cut.ogg", tmp_path / "whole.ogg"
    x = 0.3 * np.sin(np.arange(96000) / 30) + 0.01 * np.random.default_rng(1).standard_normal(96000)
    soundfile.write(whole, x, 48000, format="OGG", subtype=subtype)
    b = whole.read_bytes()
    pages = [i for i in range(len(b)) if b.startswith(b"OggS", i)]
    end = pages[len(pages) // 2] if cut == "at a page" else pages[len(pages) // 2] + 100
    src.write_bytes(b[:end])
    if subtype == "VORBIS":  # libsndfile reads it, shorter (an Opus one: 'malformed')
        assert 0 < soundfile.info(src).frames < 96000
    result = _run(runner, src, "-o", tmp_path / "o.ogg")
    assert result.exit_code == 1, result.output
    why = "is not the end of the stream" if cut == "at a page" else "is cut short"
    assert result.stderr == (
        f"Error: {src}: truncated audio: an Ogg stream whose end is missing (its last page "
        f"{why}: a copy cut short?); copy it again, or keep what it holds, e.g. ffmpeg -i "
        "in.ogg out.ogg (it decodes up to the cut)\n"
    )
    assert not (tmp_path / "o.ogg").exists()
    assert _run(runner, whole, "-o", tmp_path / "o.ogg").exit_code == 0
