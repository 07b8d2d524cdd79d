"""Fuzzing the readers: any bytes give finite float arrays or a SignalError.

Nothing else may escape (no ValueError from numpy, no UnicodeError, no
IndexError, no libsndfile exception): the command line turns SignalError into
one clean line, anything else would be a traceback.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from hypothesis import example, given, settings
from hypothesis import strategies as st

from resdenoise.errors import ParameterError, SignalError
from resdenoise.io import ReadOptions, Signal, encode_signal, parse_signal, read_signal

# example counts come from the profile (conftest.py): HYPOTHESIS_PROFILE=thorough for 2000
SETTINGS = settings(deadline=None)


def _check(outcome) -> None:
    """A successful read: finite float64, (n,) or (n, c), at least 2 samples."""
    assert isinstance(outcome, Signal)
    data = outcome.data
    assert data.dtype == np.float64
    assert data.ndim in (1, 2)
    assert data.shape[0] >= 2
    assert np.all(np.isfinite(data))
    # whatever was read can be written back in its own format
    payload, _ = encode_signal("out.csv" if outcome.format == "CSV" else "out.wav", outcome)
    assert payload


def _parse(raw: bytes, fmt: str, **options):
    try:
        sig = parse_signal(raw, fmt, "fuzz", ReadOptions(**options))
    except (SignalError, ParameterError) as exc:  # a question asked (header?): exit 2
        message = str(exc)
        assert message.startswith("fuzz: ") or message.startswith("out."), message
        assert "\n" not in message
        return None
    _check(sig)
    return sig


@SETTINGS
@given(st.binary(max_size=2000))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe")
@example(b"RIFF\x00\x00\x00\x00WAVE")
@example(b"1\r2")
def test_random_bytes_as_csv(raw):
    _parse(raw, "CSV")


@SETTINGS
@given(st.binary(max_size=2000))
@example(b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
@example(b"fLaC")
@example(b"OggS")
def test_random_bytes_as_audio(raw):
    _parse(raw, "WAV")


_CSV_ALPHABET = st.sampled_from(
    list("0123456789") * 4
    + list('.,;\t |\n\r"#-+eE ')
    + ["nan", "inf", "Infinity", "x", "time", "t", "\ufeff", "\x00", "_", "١", "\u2028", "1e999"]
)


@SETTINGS
@given(st.lists(_CSV_ALPHABET, max_size=300).map("".join))
@example("time;v\n0;1,5\n1;2,5\n")
@example("1,2\n3,4,5\n")
@example("a\n")
@example('"1,5";"2"\n"3";"4"\n')
@example("#\n1e999\n2\n")
def test_random_csv_text(text):
    _parse(text.encode("utf-8"), "CSV")


_CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", " ", "x", "1,5", '"2"', "1e5", "-0", "NaN", "time", "#3"]),
)


@SETTINGS
@given(
    rows=st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=0, max_size=12),
    delim=st.sampled_from([",", ";", "\t", " ", "|", "  "]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_random_tables(rows, delim, newline, bom):
    text = newline.join(delim.join(row) for row in rows)
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    sig = _parse(raw, "CSV")
    if sig is not None and all(len(r) == len(rows[-1]) for r in rows):
        assert sig.data.shape[0] <= len(rows)


def test_a_first_column_of_steps_near_the_float_limit_reads():
    """Steps of both signs near float64's limit (0, 9e307, 0: found by test_random_tables)
    are no time axis, and reading them overflows nothing (warnings are errors here).
    Fails before: RuntimeWarning: overflow encountered in subtract (np.isclose)."""
    sig = _parse(b"0,1\n9e307,2\n0,3", "CSV")
    assert sig is not None and sig.data.shape == (3, 2)


@SETTINGS
@given(
    text=st.lists(_CSV_ALPHABET, max_size=200).map("".join),
    delimiter=st.sampled_from([None, ",", ";", "tab", "space", "|"]),
    decimal=st.sampled_from([None, ".", ","]),
    header=st.sampled_from([None, True, False]),
    time_column=st.sampled_from([None, "none", "1", "time", "2"]),
    columns=st.sampled_from([None, "1", "2", "1,2", "v"]),
)
def test_random_csv_text_with_options(text, delimiter, decimal, header, time_column, columns):
    """With options an option may not fit the file: ParameterError is allowed too."""
    try:
        sig = parse_signal(
            text.encode(),
            "CSV",
            "fuzz",
            ReadOptions(
                delimiter=delimiter,
                decimal=decimal,
                header=header,
                time_column=time_column,
                columns=columns,
            ),
        )
    except (SignalError, ParameterError) as exc:
        assert "\n" not in str(exc)
        return
    _check(sig)


def _valid_wav(subtype: str, channels: int) -> bytes:
    x = np.sin(np.arange(64 * channels).reshape(64, channels) / 5.0) * 0.8
    buf = io.BytesIO()
    soundfile.write(buf, x, 8000, format="WAV", subtype=subtype)
    return buf.getvalue()


_WAVS = {(s, c): _valid_wav(s, c) for s in ("PCM_U8", "PCM_16", "PCM_24", "FLOAT") for c in (1, 2)}


@SETTINGS
@given(
    key=st.sampled_from(sorted(_WAVS)),
    cut=st.integers(0, 600),
    flips=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), max_size=6),
)
def test_damaged_wav_files(key, cut, flips):
    raw = bytearray(_WAVS[key])
    for pos, byte in flips:
        if pos < len(raw):
            raw[pos] = byte
    _parse(bytes(raw[: len(raw) - cut]), "WAV")


@settings(deadline=None, max_examples=40)  # a temporary directory each: keep it short
@given(raw=st.binary(max_size=400), ext=st.sampled_from([".csv", ".wav", ".flac", ".txt", ""]))
def test_random_files_through_read_signal(raw, ext):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz{ext}"
        path.write_bytes(raw)
        try:
            sig = read_signal(path)
        except SignalError as exc:
            assert str(exc).startswith(str(path))
            assert path.read_bytes() == raw
            return
        _check(sig)
