"""Streaming: chunks with halos, the exact streamed median, files read and written in blocks.

The claims checked here, each against the whole-signal path computed in
memory (which the rest of the suite checks against the mathematics):

* a plan run chunk by chunk (core + halo of m samples, any chunk size, also
  smaller than the halo; the input arriving in blocks of any size) gives the
  whole run's samples *bit for bit*, for every registry family, mono and
  multichannel, float64 and float32, and for a network of differing blocks;
* the radix-selection median over passes is ``np.median`` bit for bit (ties,
  few distinct values, every refinement level);
* ``open_signal_stream`` reads every file ``parse_signal`` reads, the same
  numbers, header, layout and carried columns, and rejects the same files;
  ``SignalWriter`` writes the bytes ``encode_signal`` writes;
* the streamed command line writes the same file and the same report as the
  in-memory one (exactly for minima, maxima, sign changes and the
  Euler-Lagrange residual; sums to 1e-12 relative).

Nothing here is timed.
"""

from __future__ import annotations

import io
import json
import math
import sys

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

import resdenoise.io as rio
import resdenoise.io.audio as rio_audio
import resdenoise.io.csv_lines as rio_csv_lines
from resdenoise import measure, pipeline, selection, stream, stream_choice
from resdenoise.cli import cli
from resdenoise.errors import ParameterError, ResdenoiseError, SignalError
from resdenoise.filters import auto_lambda, plan_regularise, plan_resnet, run_plan
from resdenoise.io import ReadOptions
from resdenoise.median import MedianSelect, quantile_from, quantile_ranks
from resdenoise.network import build_network, parse_network
from resdenoise.noise import estimate_noise
from resdenoise.nonlinearities import NONLINEARITIES, get_nonlinearity
from resdenoise.pipeline import RunOptions, planner, run_file
from resdenoise.selection import NoiseSelect
from resdenoise.stream import filter_chunks, filter_in_chunks

KEYS = sorted(NONLINEARITIES)


def untimed(wav: bytes) -> bytes:
    """A WAV file's bytes with its PEAK chunk's time stamp (the second libsndfile wrote
    the header in) zeroed: two writes a second apart are otherwise the same bytes."""
    at = wav.find(b"PEAK", 12)
    if wav[:4] != b"RIFF" or at < 0:
        return wav
    return wav[: at + 12] + bytes(4) + wav[at + 16 :]


def assert_same_bits(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    width = {4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    same = got.view(width) == expected.view(width)
    assert same.all(), f"{np.count_nonzero(~same)} of {got.size} values differ"


def noisy(rng, n: int, channels: int = 1) -> np.ndarray:
    """Steps of several heights plus noise: every branch of every Phi is used."""
    steps = np.repeat(rng.normal(0.0, 2.0, size=(n // 7 + 1, channels)), 7, axis=0)[:n]
    x = steps + 0.3 * rng.standard_normal((n, channels))
    return x[:, 0] if channels == 1 else x


def sign_stable_plan(key: str, steps: int, lam: float = 0.7):
    """A residual network of ``steps`` blocks of the family, at its sign-stable tau."""
    return plan_resnet(get_nonlinearity(key, "activation", lam), steps)


# --------------------------------------------------------------------------
# Chunks with halos: bit for bit
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_family_chunked_equals_whole(key, channels, rng):
    u = noisy(rng, 700, channels)
    plan = sign_stable_plan(key, 23)
    whole = run_plan(plan, u)
    # chunk < halo, = halo, around the length, one chunk
    for chunk in (1, 7, 23, 24, 250, 699, 700, 5000):
        assert_same_bits(filter_in_chunks(plan, u, chunk), whole)


@settings(deadline=None, max_examples=60)
@given(
    key=st.sampled_from(KEYS),
    n=st.integers(2, 300),
    m=st.integers(1, 40),
    chunk=st.integers(1, 320),
    channels=st.integers(1, 3),
    pieces=st.lists(st.integers(1, 50), min_size=1, max_size=8),
    float32=st.booleans(),
    stored=st.booleans(),
    in_place=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_chunk_boundaries_anywhere(
    key, n, m, chunk, channels, pieces, float32, stored, in_place, seed
):
    """Any chunk size (also below the halo m), input in blocks of any sizes, both dtypes;
    float64 blocks or float32 ones (``blocks(stored=True)`` of a float WAV: widened
    where they are joined, unless a float32 run is run in the joined arrays), run in
    the joined arrays or not: the same bits, the caller's blocks untouched."""
    rng = np.random.default_rng(seed)
    u = noisy(rng, n, channels)
    given = u.astype(np.float32) if stored else u.copy()
    u = given.astype(np.float64)  # the values the blocks hold
    dtype = np.float32 if float32 else None
    plan = sign_stable_plan(key, m)
    whole = run_plan(plan, u.astype(dtype) if dtype else u)
    # the input arrives in blocks of the drawn sizes (cycled), as a file reader gives it
    blocks, start, i = [], 0, 0
    while start < n:
        k = pieces[i % len(pieces)]
        blocks.append((given[start : start + k], {}))
        start, i = start + k, i + 1
    cores = []
    for c in filter_chunks(plan, blocks, n, chunk, dtype, in_place=in_place):
        # float32 blocks of a float32 run in place: joined as stored, run in that array
        as_stored = stored and float32 and in_place
        assert c.raw.dtype == (np.float32 if as_stored else np.float64)
        assert c.y is c.raw or not as_stored
        cores.append(c.u.copy())  # in place: the joined array, reused by the next chunk
    assert_same_bits(np.concatenate(cores), whole)
    assert_same_bits(given.astype(np.float64), u)


def test_network_of_differing_blocks_chunked_equals_whole(rng):
    spec = parse_network(
        '[[block]]\nactivation = "tanh"\nlambda = 0.5\nrepeat = 7\n'
        '[[block]]\ndiffusivity = "perona-malik"\nlambda = 1.5\nrepeat = 5\n'
        '[[block]]\nshrinkage = "garrote"\nlambda = 0.9\nrepeat = 4\n'
    )
    plan = build_network(spec)
    u = noisy(rng, 400, 2)
    whole = run_plan(plan, u)
    for chunk in (1, 15, 16, 17, 100):
        assert_same_bits(filter_in_chunks(plan, u, chunk), whole)


def test_halo_is_needed(rng):
    """With a halo one sample too short the chunk ends would be wrong: the test can fail."""
    u = noisy(rng, 200)
    plan = sign_stable_plan("perona-malik", 10)
    whole = run_plan(plan, u)
    short = plan_resnet(plan.nl, 10)
    object.__setattr__(short, "steps", 9)  # halo of 9 for 10 blocks
    cores = []
    for c in filter_chunks(short, [(u, {})], 200, 50):
        y = run_plan(plan, c.x)  # the real 10 blocks on the too-short extension
        cores.append(y[c.core])
    assert not np.array_equal(np.concatenate(cores), whole)


def test_filter_chunks_rejects_a_short_or_long_stream(rng):
    u = noisy(rng, 50)
    plan = sign_stable_plan("linear", 3)
    with pytest.raises(SignalError, match=r"s: ended after 50 samples, expected 53"):
        list(filter_chunks(plan, [(u, {})], 60, 10, source="s"))
    with pytest.raises(SignalError, match=r"more than the 40 samples"):
        list(filter_chunks(plan, [(u[:40], {}), (u[40:], {})], 40, 10))


# --------------------------------------------------------------------------
# The median in passes
# --------------------------------------------------------------------------


def streamed_median(
    values: np.ndarray, limit: int, pieces: int = 3, quantile: bool = False, keep: int = 0
) -> MedianSelect:
    sel = MedianSelect(limit=limit, quantile=quantile, keep=keep)
    while not sel.done:
        for part in np.array_split(values, pieces):
            sel.feed(part)
        sel.end_pass()
    return sel


@settings(deadline=None, max_examples=150)
@given(
    values=st.one_of(
        st.lists(st.floats(0, 1e300, allow_nan=False), min_size=1, max_size=200),
        # few distinct values (integer PCM): long runs of ties in every bin
        st.lists(st.integers(0, 5).map(lambda k: k / 32768.0), min_size=1, max_size=200),
        st.lists(st.sampled_from([0.0, 5e-324, 1e-310, 1.0, 2.0**1000]), min_size=1, max_size=50),
    ),
    limit=st.sampled_from([0, 1, 2, 7, 10**6]),
    pieces=st.integers(1, 5),
)
def test_median_select_is_np_median(values, limit, pieces):
    x = np.array(values, dtype=np.float64)
    sel = streamed_median(x, limit, pieces)
    assert_same_bits(np.array(sel.median), np.array(np.median(x)))
    assert sel.passes <= 4


def test_median_select_counts_every_top_digit_once(rng):
    """The first pass's histogram of top 16 bits: np.bincount's, for values spread over
    every bin from 0 (tiny floats) to 65,535 (NaN patterns) and for one bin alone."""
    from resdenoise.median import _BINS

    keys = rng.integers(0, 2**64, 5000, dtype=np.uint64, endpoint=False)
    keys[:2] = [0, 2**64 - 1]
    for values in (keys.view(np.float64), np.full(7, 0.25)):
        sel = MedianSelect()
        for part in np.array_split(values, 3):
            sel.feed(part)
        digits = (values.view(np.uint64) >> np.uint64(48)).astype(np.intp)
        assert np.array_equal(sel._hist, np.bincount(digits, minlength=_BINS))


def test_median_select_refines_all_four_digits():
    """Values that agree in their top 48 bits need the last digit (four passes, limit 0)."""
    base = np.array([1.0]).view(np.uint64)[0]
    x = (base + np.arange(1001, dtype=np.uint64)[::-1]).view(np.float64)
    sel = streamed_median(x, 0)
    assert sel.passes == 4
    assert sel.median == np.median(x)


@settings(deadline=None, max_examples=150)
@given(
    values=st.one_of(
        st.lists(st.floats(0, 1e300, allow_nan=False), min_size=1, max_size=300),
        st.lists(st.integers(0, 5).map(lambda k: k / 32768.0), min_size=1, max_size=300),
        # a level that moves: the kept band of the first pieces misses the final ranks
        st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=300).map(
            lambda v: sorted(v, reverse=True)
        ),
    ),
    keep=st.sampled_from([1, 2, 5, 16, 10**6]),
    quantile=st.booleans(),
    pieces=st.integers(1, 9),
)
def test_a_selection_keeping_values_is_still_np_median_and_np_quantile(
    values, keep, quantile, pieces
):
    """Keeping a band of values in the first pass (narrowed as it fills, dropped when the
    ranks leave it) gives np.median, and the quantile of the sorted values, bit for bit,
    whatever happens."""
    x = np.array(values, dtype=np.float64)
    sel = streamed_median(x, 2, pieces, quantile, keep)
    if quantile:
        lo, hi, weight = quantile_ranks(x.size)
        ordered = np.sort(x)
        got, expected = sel.quantile, quantile_from(ordered[lo], ordered[hi], weight)
    else:
        got, expected = sel.median, np.median(x)
    assert_same_bits(np.array(got), np.array(expected))


def test_a_band_narrowed_holds_no_copy_of_every_kept_value_beside_them(rng):
    """The kept values narrowed to the band around the ranks piece by piece: the same
    values in the same order as those of the pieces joined, and less than one more
    copy of them in memory meanwhile (joined, with their digits beside: nearly two; a
    streamed run's peak memory was this moment, in both of its selections at once)."""
    import tracemalloc

    x = rng.chisquare(32, 1_600_000) / 32
    keep = 400_000
    sel = MedianSelect(limit=2, quantile=True, keep=keep)
    pieces = np.array_split(x, 40)
    for part in pieces[:10]:  # 400,000 values: all kept
        sel.feed(part)
    assert sel._kept[2] is None and sel._kept[1] == keep
    held = sum(k.nbytes for k in sel._kept[0])
    tracemalloc.start()
    try:
        sel.feed(pieces[10])  # more than keep: narrowed to the band
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    a, b = sel._kept[2]
    keys = x[: sum(p.size for p in pieces[:11])].view(np.uint64)
    digits = keys >> np.uint64(48)
    want = keys[(digits >= np.uint64(a)) & (digits <= np.uint64(b))]
    assert sel._kept[0][0].tobytes() == want.tobytes()
    assert peak < 2 * held  # 1.35 times; joined first: 3.1 times


def test_a_selection_keeping_values_settles_in_the_first_pass(rng):
    """Window energies of a stationary signal, 200,000 values fed in pieces, at most 20,000
    kept: the first pass settles the quantile (without the band it takes two or more)."""
    x = rng.chisquare(32, 200_000) / 32
    kept = streamed_median(x, 2, 50, True, 20_000)
    assert kept.passes == 1
    lo, hi, weight = quantile_ranks(x.size)
    ordered = np.sort(x)
    assert kept.quantile == quantile_from(ordered[lo], ordered[hi], weight)
    assert streamed_median(x, 2, 50, True).passes >= 2


@pytest.mark.parametrize("dtype", [None, "float32", "stored"])
@pytest.mark.parametrize("estimator", ["quiet-windows", "mad-haar"])
@pytest.mark.parametrize("n", [1001, 100, 20])
def test_noise_estimate_streamed_in_odd_blocks(rng, dtype, estimator, n):
    """Any estimator, long or short signals (another window length, or MAD for 20);
    float64 blocks, or float32 ones ("stored": a float WAV's blocks as stored)."""
    u = noisy(rng, n, 2) * 1e-3
    if dtype == "stored":
        u, dtype = u.astype(np.float32), "float32"
    expected = estimate_noise(u if dtype is None else u.astype(dtype), estimator)
    sel = NoiseSelect(2, dtype, estimator)
    fed = False
    while not sel.done:
        for part in np.array_split(u, 7):  # odd block lengths: pairs straddle blocks
            sel.feed(part)
        if fed or not sel.resize(n):  # the length is known after the first pass
            sel.end_pass()
        fed = True
    assert_same_bits(sel.sigma(), expected)
    assert sel.estimator == ("mad-haar" if n == 20 else estimator)


@settings(deadline=None, max_examples=100)
@given(
    values=st.lists(st.floats(-1e6, 1e6, width=32), min_size=0, max_size=41),
    dtype=st.sampled_from(["float64", "float32", "int32"]),
    step=st.integers(1, 3),
)
def test_haar_details_into_out_are_the_details(values, dtype, step):
    """The details written into ``out`` (of a strided column of any dtype) are haar_details'."""
    from resdenoise.wavelet import haar_details

    u = np.array(values).astype(dtype)[::step]
    expected = haar_details(u)
    out = np.full(expected.shape, np.nan)
    assert haar_details(u, out=out) is out
    assert_same_bits(out, expected)


# --------------------------------------------------------------------------
# Files in blocks: the same as read whole
# --------------------------------------------------------------------------


def _import_io_cases():
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_io import DIALECTS

    return DIALECTS


DIALECTS = _import_io_cases()

CSV_ERRORS = [
    b"a,b\n1,2\n3,x\n",
    b"a,b\n1,2\n3,\n",
    b"# c\n\n1,2\n3,4,5\n",
    b"a,b\n1,2\n3\n",
    b"v\n1\ninf\n",
    b"t,1\n2,3\n",
    b"\n# only comments\n\n",
    b"a,b\r\n",
    b"1.0\n",
    b"1\n\xff\xfe\n",
    b"1\n2\x00\n",
    b"x,y\n1,inf\n2,zz\n",
    "a\tb\n1\t2\n".encode("utf-16")[:-1],
]


def compare_stream(tmp_path, raw: bytes, fmt: str = "csv", **options):
    """Read ``raw`` whole and streamed; the same result or the same error. Returns the error."""
    path = tmp_path / ("in.csv" if fmt == "csv" else "in.wav")
    path.write_bytes(raw)
    try:
        sig, err = (
            rio.parse_signal(raw, rio.guess_format(str(path)), str(path), ReadOptions(**options)),
            None,
        )
    except ResdenoiseError as exc:
        sig, err = None, exc
    try:
        st_, err2 = rio.open_signal_stream(path, options=ReadOptions(**options)), None
    except ResdenoiseError as exc:
        st_, err2 = None, exc
    if err is not None or err2 is not None:
        assert type(err) is type(err2) and str(err) == str(err2)
        return err
    blocks = list(st_.blocks())
    data = np.concatenate([b[0] for b in blocks])
    assert_same_bits(data, sig.data)
    assert st_.frames == sig.data.shape[0] and st_.shape == sig.data.shape
    t = st_.template
    for attr in ("format", "samplerate", "subtype", "header", "delimiter", "time_column"):
        assert getattr(t, attr) == getattr(sig, attr), attr
    assert t.layout == sig.layout and t.channel_positions == sig.channel_positions
    for p, cells in sig.carried.items():
        got = [b[1][p] for b in blocks]
        got = np.concatenate(got) if isinstance(cells, np.ndarray) else sum(got, [])
        assert list(got) == list(cells)
    # written back block by block: the bytes write_signal writes
    for out_name in ("out.csv", "out.wav") if sig.format != "CSV" else ("out.csv",):
        out = tmp_path / out_name
        with rio.SignalWriter(out, t) as writer:
            for data_block, carried in blocks:
                writer.write(data_block, carried)
            rio.write_files_atomic([writer])
        assert untimed(out.read_bytes()) == untimed(rio.encode_signal(out, sig)[0])
    return None


@pytest.mark.parametrize("read_bytes", [1, 3, 1 << 20])
@pytest.mark.parametrize("raw", [d[1] for d in DIALECTS], ids=[d[0] for d in DIALECTS])
def test_csv_dialects_streamed_as_read_whole(tmp_path, monkeypatch, raw, read_bytes):
    monkeypatch.setattr(rio_csv_lines, "READ_BYTES", read_bytes)
    assert compare_stream(tmp_path, raw) is None


@pytest.mark.parametrize("read_bytes", [1, 1 << 20])
@pytest.mark.parametrize("raw", CSV_ERRORS)
def test_csv_errors_streamed_as_read_whole(tmp_path, monkeypatch, raw, read_bytes):
    monkeypatch.setattr(rio_csv_lines, "READ_BYTES", read_bytes)
    assert compare_stream(tmp_path, raw) is not None


@pytest.mark.parametrize(
    "options",
    [
        {"columns": "zz"},
        {"columns": "7"},
        {"time_column": "a", "columns": "a"},
        {"columns": "a"},
        {"time_column": "none"},
        {"time_column": "1"},
        {"delimiter": "x"},
        {"decimal": ";"},
    ],
)
def test_csv_options_streamed_as_read_whole(tmp_path, options):
    compare_stream(tmp_path, b"t,a\n0,1.0\n1,2.0\n", **options)


_CELL = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["", "x", "1,5", '"2"', "time", "inf", "#3"]),
)


@settings(deadline=None, max_examples=150)
@given(
    rows=st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=0, max_size=12),
    delim=st.sampled_from([",", ";", "\t", " ", "|"]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
    preamble=st.sampled_from(["", "# c\n", "\n# t,v\n"]),
    read_bytes=st.sampled_from([1, 2, 5, 64]),
)
def test_random_tables_streamed_as_read_whole(rows, delim, newline, bom, preamble, read_bytes):
    """Random tables: the streamed reader agrees with parse_signal (or both refuse)."""
    import tempfile
    from pathlib import Path

    text = preamble.replace("\n", newline) + newline.join(delim.join(r) for r in rows)
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    if not raw:
        return
    old = rio_csv_lines.READ_BYTES
    rio_csv_lines.READ_BYTES = read_bytes
    try:
        with tempfile.TemporaryDirectory() as d:
            try:
                compare_stream(Path(d), raw)
            except AssertionError:
                # files with several problems may name another one first: both must refuse
                whole = stream_ok = True
                try:
                    rio.parse_signal(raw, "CSV", "x")
                except ResdenoiseError:
                    whole = False
                (Path(d) / "x.csv").write_bytes(raw)
                try:
                    list(rio.open_signal_stream(Path(d) / "x.csv").blocks())
                except ResdenoiseError:
                    stream_ok = False
                if whole or stream_ok:
                    raise
    finally:
        rio_csv_lines.READ_BYTES = old


def _wav(data, subtype, fmt="WAV") -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, data, 8000, subtype=subtype, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("channels", [1, 2])
def test_audio_streamed_as_read_whole(tmp_path, monkeypatch, rng, subtype, channels):
    monkeypatch.setattr(rio_audio, "READ_FRAMES", 37)
    x = np.clip(0.4 * rng.standard_normal((500, channels)), -1, 1)
    assert compare_stream(tmp_path, _wav(x, subtype), "wav") is None


def test_audio_channel_picked_carries_the_others(tmp_path, rng):
    x = np.clip(0.4 * rng.standard_normal((300, 3)), -1, 1)
    assert compare_stream(tmp_path, _wav(x, "PCM_16"), "wav", columns="2") is None


def test_truncated_and_broken_audio_refused_as_read_whole(tmp_path):
    raw = _wav(np.zeros(100), "PCM_16")
    err = compare_stream(tmp_path, raw[:-11], "wav")
    assert "truncated audio" in str(err)
    err = compare_stream(tmp_path, b"RIFF\x00\x00\x00\x00WAVEjunk", "wav")
    assert "not a readable audio file" in str(err)
    err = compare_stream(tmp_path, b"1,2\n3,4\n", "wav")
    assert str(err).endswith("; if it is CSV text, say so with input_format='csv'")


def test_open_signal_stream_file_errors(tmp_path):
    with pytest.raises(SignalError, match=r"nofile.csv: no such file"):
        rio.open_signal_stream(tmp_path / "nofile.csv")
    with pytest.raises(SignalError, match=r"is a directory"):
        rio.open_signal_stream(tmp_path)
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(SignalError, match=r"e.csv: file is empty"):
        rio.open_signal_stream(tmp_path / "e.csv")
    (tmp_path / "a.wav").write_bytes(_wav(np.zeros(10), "PCM_16"))
    with pytest.raises(ParameterError, match=r"no time column"):
        rio.open_signal_stream(tmp_path / "a.wav", options=ReadOptions(time_column="1"))


def test_signal_writer_refuses_non_finite_and_leaves_nothing(tmp_path):
    sig = rio.parse_signal(b"1\n2\n3\n", "CSV", "x")
    out = tmp_path / "o.csv"
    with pytest.raises(SignalError, match=r"o.csv: 2 output values are not finite"):
        with rio.SignalWriter(out, sig) as writer:
            writer.write(np.array([1.0, np.inf]))
            writer.write(np.array([np.nan]))
            rio.write_files_atomic([writer])
    assert list(tmp_path.iterdir()) == []


def test_signal_writer_discards_on_error(tmp_path):
    sig = rio.parse_signal(b"1\n2\n3\n", "CSV", "x")
    with pytest.raises(RuntimeError):
        with rio.SignalWriter(tmp_path / "o.csv", sig) as writer:
            writer.write(np.array([1.0, 2.0]))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_and_payload_all_or_nothing(tmp_path):
    sig = rio.parse_signal(b"1\n2\n3\n", "CSV", "x")
    with rio.SignalWriter(tmp_path / "o.csv", sig) as writer:
        writer.write(sig.data)
        with pytest.raises(SignalError):
            rio.write_files_atomic([writer, (tmp_path / "missing" / "r.json", b"{}")])
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# The command line, streamed against in memory
# --------------------------------------------------------------------------

COMMANDS = {
    "diffuse": ["--diffusivity", "perona-malik", "--time", "4"],
    "shrink": ["--shrinkage", "garrote", "--iterations", "6", "--check-wavelet"],
    "regularise": ["--regulariser", "charbonnier", "--alpha", "3"],
    "resnet": ["--activation", "tanh", "--blocks", "9", "--lambda", "0.2"],
}


def assert_same_report(whole: dict, streamed: dict, key: str = "") -> None:
    """Equal, field by field, bit for bit: sums (total variation, means, energies,
    MSE) too, which both take in the pieces of one grid of rows
    (resdenoise.measure.GRID_ROWS)."""
    if isinstance(whole, dict):
        extra = set(streamed) - set(whole)
        assert extra <= {"streaming", "output"}, extra
        for k, v in whole.items():
            if k not in ("output", "job"):  # job: the run's times, the input's hash (README)
                assert_same_report(v, streamed[k], k)
    elif isinstance(whole, list):
        assert len(whole) == len(streamed), key
        for a, b in zip(whole, streamed, strict=True):
            assert_same_report(a, b, key)
    elif isinstance(whole, float) and math.isnan(whole):
        assert math.isnan(streamed), (key, whole, streamed)
    else:
        assert whole == streamed, (key, whole, streamed)


def run_both(tmp_path, command, src, extra=(), out_name=None, chunk="37"):
    runner = CliRunner()
    out_name = out_name or "out" + src.suffix
    results = []
    for mode, size in (("whole", "0"), ("streamed", chunk)):
        out = tmp_path / f"{mode}_{out_name}"
        rep = tmp_path / f"{mode}.json"
        args = [command, str(src), "-q", "-o", str(out), "--report", str(rep), "--chunk-size", size]
        result = runner.invoke(cli, args + COMMANDS[command] + list(extra))
        assert result.exit_code == 0, result.output
        results.append((out, json.loads(rep.read_text())))
    (w_out, w_rep), (s_out, s_rep) = results
    assert "streaming" in s_rep and "streaming" not in w_rep
    assert s_rep["streaming"]["chunk_size"] == int(chunk)
    assert_same_report(w_rep, s_rep)
    return w_out, s_out


def write_wav(path, data, subtype):
    soundfile.write(path, data, 8000, subtype=subtype)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_streamed_wav_pcm16_stereo(tmp_path, rng, command):
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(0.3 * noisy(rng, 900, 2), -1, 1), "PCM_16")
    w_out, s_out = run_both(tmp_path, command, src)
    assert s_out.read_bytes() == w_out.read_bytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cli_streamed_float_wav(tmp_path, rng, dtype):
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(0.3 * noisy(rng, 1000), -1, 1).astype(np.float32), "FLOAT")
    w_out, s_out = run_both(tmp_path, "diffuse", src, ["--dtype", dtype])
    # the same bytes (no PEAK chunk, whose time stamp made two writes differ)
    assert s_out.read_bytes() == w_out.read_bytes()
    w, s = soundfile.read(w_out, dtype="float32")[0], soundfile.read(s_out, dtype="float32")[0]
    assert_same_bits(s, w)


@pytest.mark.parametrize("subtype, precision", [("FLOAT", "float32"), ("PCM_16", "float64")])
def test_cli_default_precision_is_the_files(tmp_path, rng, subtype, precision):
    """Without --dtype a file stored as 32-bit floats runs in float32 (its own
    precision), any other in float64: the bytes of the explicit run, whole and
    streamed, and the report says which."""
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(0.3 * noisy(rng, 1000, 2), -1, 1).astype(np.float32), subtype)
    runs = {}
    for name, extra in (("auto", []), ("given", ["--dtype", precision])):
        for size in ("0", "64"):
            out, rep = tmp_path / f"{name}{size}.wav", tmp_path / f"{name}{size}.json"
            args = ["diffuse", str(src), "-q", "-o", str(out), "--chunk-size", size, *extra]
            args += [*COMMANDS["diffuse"], "--report", str(rep)]
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
            assert json.loads(rep.read_text())["engine"]["dtype"] == precision
            runs[name, size] = out.read_bytes()
    assert len(set(runs.values())) == 1
    other = "float64" if precision == "float32" else "float32"
    out = tmp_path / "other.wav"
    args = ["diffuse", str(src), "-q", "-o", str(out), "--dtype", other, *COMMANDS["diffuse"]]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert out.read_bytes() != runs["auto", "0"]  # (the precision is the run's)


@pytest.mark.parametrize("channels", [1, 2])
def test_cli_float32_run_of_a_float_wav_without_a_report(tmp_path, rng, channels):
    """``--dtype float32 -q`` without a report: a float WAV's values go as stored into
    the chunks, are run in place in float32 and written without widening (one
    noise selection, the plan's): the samples of the whole run and of a measured one."""
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(0.3 * noisy(rng, 1000, channels), -1, 1).astype(np.float32), "FLOAT")
    runs = []
    for size, report in (("0", False), ("37", False), ("37", True)):
        out = tmp_path / f"out_{size}_{report}.wav"
        args = ["diffuse", str(src), "-q", "-o", str(out), "--chunk-size", size]
        args += ["--dtype", "float32", *COMMANDS["diffuse"]]
        if report:
            args += ["--report", str(tmp_path / "report.json")]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        runs.append(soundfile.read(out, dtype="float32")[0])
    assert_same_bits(runs[1], runs[0])
    assert_same_bits(runs[2], runs[0])
    assert not np.array_equal(runs[0], soundfile.read(src, dtype="float32")[0])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_streamed_csv_with_time_column(tmp_path, rng, command):
    data = noisy(rng, 600, 2)
    lines = ["time [s];left;right"] + [
        f"{i * 0.5!r};{a!r};{b!r}".replace(".", ",") for i, (a, b) in enumerate(data.tolist())
    ]
    src = tmp_path / "in.csv"
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    w_out, s_out = run_both(tmp_path, command, src, chunk="5")
    assert s_out.read_bytes() == w_out.read_bytes()
    assert s_out.read_bytes().startswith(b"time [s];left;right\r\n0,0;")


def test_cli_streamed_with_reference_and_auto_lambda(tmp_path, rng):
    clean = np.repeat([0.2, -0.3, 0.4, 0.0], 150)
    src, ref = tmp_path / "in.csv", tmp_path / "clean.csv"
    src.write_text("\n".join(map(repr, (clean + 0.05 * rng.standard_normal(600)).tolist())))
    ref.write_text("\n".join(map(repr, clean.tolist())))
    runner = CliRunner()
    reports = []
    for size in ("0", "64"):
        rep = tmp_path / f"r{size}.json"
        args = ["diffuse", str(src), "-q", "-o", str(tmp_path / f"o{size}.csv"), "--time", "3"]
        result = runner.invoke(
            cli, args + ["--reference", str(ref), "--report", str(rep), "--chunk-size", size]
        )
        assert result.exit_code == 0, result.output
        reports.append(json.loads(rep.read_text()))
    assert reports[1]["parameters"]["lambda_rule"] == "universal threshold"
    assert_same_report(*reports)
    assert (tmp_path / "o0.csv").read_bytes() == (tmp_path / "o64.csv").read_bytes()


def test_cli_stdin_streamed_when_chunk_size_given(tmp_path, rng):
    text = "\n".join(map(repr, noisy(rng, 300).tolist())) + "\n"
    runner = CliRunner()
    args = ["resnet", "-", "-q", "--blocks", "12", "--lambda", "0.5"]
    whole = runner.invoke(cli, args, input=text)
    streamed = runner.invoke(
        cli, args + ["--chunk-size", "10", "--report", str(tmp_path / "r")], input=text
    )
    assert whole.exit_code == streamed.exit_code == 0, streamed.output
    assert streamed.stdout == whole.stdout
    report = json.loads((tmp_path / "r").read_text())
    assert report["input"] == "<stdin>" and report["streaming"]["chunks"] == 30
    assert list(tmp_path.iterdir()) == [tmp_path / "r"]
    bad = runner.invoke(cli, args + ["--chunk-size", "10"], input="v\n1\nx\n")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert (
        bad.stderr
        == "Error: <stdin>: line 3, column 1 ('v'): 'x' is not a number; correct it or delete line 3\n"
    )
    audio = io.BytesIO()
    soundfile.write(audio, 0.1 * noisy(rng, 300), 8000, subtype="PCM_16", format="WAV")
    wav_args = [*args, "--chunk-size", "10", "-o", str(tmp_path / "o.wav")]
    result = runner.invoke(cli, wav_args, input=audio.getvalue())
    assert result.exit_code == 0, result.output
    assert soundfile.info(str(tmp_path / "o.wav")).frames == 300


def test_cli_streams_files_above_the_threshold(tmp_path, rng, monkeypatch):
    src = tmp_path / "in.csv"
    src.write_text("\n".join(map(repr, noisy(rng, 300).tolist())))
    runner = CliRunner()
    args = [
        "diffuse",
        str(src),
        "-q",
        "--steps",
        "5",
        "--report",
        str(tmp_path / "r.json"),
        "-o",
        str(tmp_path / "o.csv"),
    ]
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", src.stat().st_size - 1)
    assert runner.invoke(cli, args).exit_code == 0
    assert "streaming" in json.loads((tmp_path / "r.json").read_text())
    assert runner.invoke(cli, args + ["--chunk-size", "0"]).exit_code == 0
    assert "streaming" not in json.loads((tmp_path / "r.json").read_text())
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", src.stat().st_size)
    assert runner.invoke(cli, args).exit_code == 0
    assert "streaming" not in json.loads((tmp_path / "r.json").read_text())


def test_cli_streamed_errors_leave_nothing(tmp_path, rng):
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("v\n" + "\n".join(["1.5"] * 100) + "\nx\n")
    result = runner.invoke(
        cli,
        ["diffuse", str(bad), "--steps", "3", "--chunk-size", "8", "-o", str(tmp_path / "o.csv")],
    )
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {bad}: line 102, column 1 ('v'): 'x' is not a number; correct it or delete line 102\n"
    )
    good = tmp_path / "good.csv"
    good.write_text("\n".join(map(repr, noisy(rng, 100).tolist())))
    result = runner.invoke(
        cli,
        [
            "diffuse",
            str(good),
            "--time",
            "auto",
            "--chunk-size",
            "8",
            "-o",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "needs the whole signal in memory" in result.stderr
    assert "--chunk-size 0" in result.stderr
    result = runner.invoke(
        cli,
        [
            "resnet",
            str(good),
            "--blocks",
            "3",
            "--tau",
            "3",
            "--activation",
            "linear",
            "--chunk-size",
            "8",
            "-o",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv"]


def test_summary_refuses_to_be_an_array(tmp_path):
    (tmp_path / "a.csv").write_text("1\n2\n4\n")
    scan = selection.Scan()
    st_ = rio.open_signal_stream(tmp_path / "a.csv", visit=scan.visit)

    def one_more_pass():
        for data, _ in st_.blocks():
            summary._noise.feed(data)
        summary._noise.end_pass()

    summary = stream.SignalSummary(st_, scan, one_more_pass)
    with pytest.raises(ParameterError, match=r"a.csv: this needs the whole signal"):
        np.asarray(summary)
    assert summary.span == 3.0 and summary.frames == 3
    lam, extra = auto_lambda(summary)
    assert (lam, extra) == auto_lambda(np.array([1.0, 2.0, 4.0]))


def test_streamed_regularise_measures_on_the_fly(rng):
    """StreamMeasure on cores of any size: the numbers of analyse_run."""
    from resdenoise.filters import analyse_run

    u = noisy(rng, 333, 2)
    plan = plan_regularise(get_nonlinearity("huber", "regulariser", 0.8), 2.0)
    out = run_plan(plan, u)
    whole = analyse_run(plan, u, out)
    for pieces in (1, 2, 7, 333):
        m = measure.StreamMeasure(plan, 2, float(np.abs(u).max()), None)
        for f, y in zip(np.array_split(u, pieces), np.array_split(out, pieces), strict=True):
            m.add(f, y)
        report = m.report(plan.verdict(), estimate_noise(u))
        assert_same_report(whole, report)


# Values around a band of tol = 1e-3: inside it, on its edges, just outside, zeros of
# both signs, infinities and NaN (which sign() keeps and which differs from everything).
SIGN_VALUES = st.sampled_from(
    [0.0, -0.0, 1e-3, -1e-3, 5e-4, -5e-4, 1.0001e-3, -1.0001e-3, 0.5, -2.0, np.inf, -np.inf]
    + [np.nan]
)


@settings(deadline=None, max_examples=300)
@given(
    values=st.lists(st.one_of(SIGN_VALUES, st.floats(-1, 1)), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=6),
    tol=st.sampled_from([0.0, 1e-3, 1.0, -1.0]),
    float32=st.booleans(),
)
# a sign change at a piece boundary, on the NaN-free path (the strategy's NaN and negative
# bands take the other path so often that random examples may miss it): 1 change each
@example(values=[0.5, -2.0], cuts=[1], tol=0.0, float32=False)
@example(values=[-2.0, 0.0, 5e-4, 0.5], cuts=[3], tol=1e-3, float32=True)
def test_sign_count_over_pieces_is_sign_changes(values, cuts, tol, float32):
    """SignCount over pieces (empty ones too), and sign_changes on the whole,
    count what the float signs count, written here as sign_changes defines it."""
    from resdenoise.stability import SignCount, sign_changes

    x = np.array(values, dtype=np.float32 if float32 else np.float64)
    count = SignCount(tol)
    for piece in np.split(x, sorted(min(c, x.size) for c in cuts)):
        count.add(piece)
    s = np.sign(x)
    s[np.abs(x) <= tol] = 0
    s = s[s != 0]
    expected = int(np.count_nonzero(s[1:] != s[:-1]))
    assert count.count == expected
    if x.size:
        assert sign_changes(x, tol)[0] == expected


@settings(deadline=None, max_examples=60)
@given(
    n=st.integers(2, 200),
    channels=st.integers(1, 3),
    pieces=st.integers(1, 12),
    float32=st.booleans(),
    regularise=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_stream_measure_sums_per_core(n, channels, pieces, float32, regularise, seed):
    """Each core's sums are those of the straightforward expressions, bit for bit:
    differences taken after joining the previous core's last sample (float64)."""
    rng = np.random.default_rng(seed)
    u = noisy(rng, n, channels)
    if regularise:
        plan = plan_regularise(get_nonlinearity("huber", "regulariser", 0.8), 2.0)
    else:
        plan = sign_stable_plan("perona-malik", 3)
    dtype = "float32" if float32 else None
    f = u.astype(dtype) if dtype else u
    out = run_plan(plan, f)
    m = measure.StreamMeasure(plan, channels, float(np.abs(f).max()), dtype, per_add=True)
    parts = list(zip(np.array_split(f, pieces), np.array_split(out, pieces), strict=True))
    parts = [(a, b) for a, b in parts if a.shape[0]]
    for a, b in parts:
        m.add(a, b)
    nl, h = plan.nl, plan.h
    for c in range(channels):
        expected = {k: [] for k in ("tv_in", "tv_out", "sum_in", "sum_out", "psi_in", "psi_out")}
        prev_f = prev_u = np.zeros(0)
        for a, b in parts:
            fc = a.reshape(a.shape[0], -1)[:, c].astype(float)
            uc = b.reshape(b.shape[0], -1)[:, c].astype(float)
            fx, ux = np.concatenate([prev_f, fc]), np.concatenate([prev_u, uc])
            expected["tv_in"].append(float(np.abs(np.diff(fx)).sum()))
            expected["tv_out"].append(float(np.abs(np.diff(ux)).sum()))
            expected["sum_in"].append(float(fc.sum()))
            expected["sum_out"].append(float(uc.sum()))
            expected["psi_in"].append(float(nl.psi(np.diff(fx) / h).sum()))
            expected["psi_out"].append(float(nl.psi(np.diff(ux) / h).sum()))
            prev_f, prev_u = fc[-1:], uc[-1:]
        for key, sums in expected.items():
            if key.startswith("psi") and not regularise:
                continue
            assert_same_bits(np.array(getattr(m, key)[c]), np.array(sums))


# --------------------------------------------------------------------------
# Progress: a bar on a terminal only
# --------------------------------------------------------------------------


def test_progress_bar_on_a_terminal_only(tmp_path, rng, monkeypatch):
    from rich.console import Console

    import resdenoise.cli.render as cli_render

    src = tmp_path / "in.csv"
    src.write_text("\n".join(map(repr, noisy(rng, 400).tolist())))
    args = [
        "diffuse",
        str(src),
        "--steps",
        "60",
        "--chunk-size",
        "50",
        "-o",
        str(tmp_path / "o.csv"),
    ]
    runner = CliRunner()
    result = runner.invoke(cli, args + ["-q"])  # not a terminal, and quiet: nothing
    assert result.exit_code == 0 and result.stderr == ""
    result = runner.invoke(cli, args)  # not a terminal: the verdict, no bar
    assert "filtering" not in result.stderr and "guarantees held" in result.stderr

    seen = io.StringIO()
    monkeypatch.setenv("TERM", "xterm")  # rich draws no live bar on a dumb terminal (make test)
    monkeypatch.setattr(
        cli_render, "stderr_console", lambda: Console(file=seen, force_terminal=True, width=100)
    )
    monkeypatch.setattr(cli_render, "show_progress", lambda quiet: not quiet)
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "in.csv filtering" in seen.getvalue()
    seen.truncate(0)
    result = runner.invoke(cli, args + ["-q"])
    assert seen.getvalue() == ""


@pytest.mark.parametrize("n", [120, 30])
def test_cli_streamed_short_file_auto_lambda_same_noise_estimate(tmp_path, rng, n):
    """A short file streamed: its window length (or MAD) differs from the one fed first."""
    src = tmp_path / "in.csv"
    src.write_text("\n".join(map(repr, noisy(rng, n).tolist())) + "\n")
    w_out, s_out = run_both(tmp_path, "diffuse", src, chunk="16")
    assert s_out.read_bytes() == w_out.read_bytes()


def test_an_audio_stream_gives_its_length_before_the_pass(tmp_path, rng):
    """An audio file's header says how many frames it holds: expect(frames) comes before
    the first block; a streamed run's noise level is the whole signal's."""
    path = tmp_path / "x.wav"
    u = noisy(rng, 1000, 2) * 0.1
    soundfile.write(path, u, 8000, subtype="DOUBLE")
    calls = []
    rio.open_signal_stream(
        path, visit=lambda b: calls.append(("visit", len(b))), expect=lambda n: calls.append(n)
    )
    assert calls[0] == 1000 and all(c[0] == "visit" for c in calls[1:]) and len(calls) > 1
    report = pipeline.run_file(
        pipeline.planner("resnet", "tanh", blocks=2),
        str(path),
        str(tmp_path / "o.wav"),
        run=pipeline.RunOptions(chunk_size=100),
    )
    assert report["noise_sigma"] == estimate_noise(soundfile.read(path)[0]).tolist()


def test_the_check_of_an_audio_stream_has_a_total(tmp_path, rng):
    """The checking pass of a streamed audio file counts to the frames its header holds
    (a bar's percentage and ETA, audit12c D3); a CSV file's, of unknown length, counts
    the bytes read to the file's size ("check-bytes", leftovers13)."""
    path = tmp_path / "x.wav"
    soundfile.write(path, noisy(rng, 1000, 2) * 0.1, 8000, subtype="DOUBLE")
    csv = tmp_path / "x.csv"
    csv.write_text("\n".join(map(repr, noisy(rng, 1000).tolist())) + "\n")
    for src, total in ((path, 1000), (csv, csv.stat().st_size)):
        seen = []
        pipeline.run_file(
            pipeline.planner("resnet", "tanh", blocks=2),
            str(src),
            str(tmp_path / ("o" + src.suffix)),
            run=pipeline.RunOptions(chunk_size=100),
            progress=lambda *a, seen=seen: seen.append(a),
        )
        phase = "check" if src == path else "check-bytes"
        checks = [(done, t) for p, done, t in seen if p == phase]
        assert checks and {t for _, t in checks} == {total}
        assert checks[-1][0] == total
        assert {p for p, _, _ in seen} & {"check", "check-bytes"} == {phase}  # one bar


def _spy_streamed(monkeypatch) -> list:
    """Records each run_file that streams its input (the _Streamed source made)."""
    seen: list = []
    real = pipeline._Streamed

    def spy(job):
        seen.append(job.input_path)
        return real(job)

    monkeypatch.setattr(pipeline, "_Streamed", spy)
    return seen


def test_every_run_streams_from_the_threshold_with_the_same_output_and_report(
    tmp_path, rng, monkeypatch
):
    """A file over STREAM_THRESHOLD is streamed whether or not anybody reads the
    report (measure=False, the command line's -q): the output bit for bit the file
    read whole, and the report too (its sums on the same grid)."""
    src = tmp_path / "in.wav"
    soundfile.write(src, np.clip(0.3 * rng.standard_normal((3000, 2)), -1, 1), 8000, "FLOAT")
    size = src.stat().st_size
    seen = _spy_streamed(monkeypatch)
    plan = planner("diffuse", "perona-malik", steps=4)
    whole = tmp_path / "whole.wav"
    want = run_file(plan, str(src), str(whole), run=RunOptions(chunk_size=0))
    assert seen == []
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", size - 1)
    quiet = tmp_path / "quiet.wav"
    run_file(plan, str(src), str(quiet), measure=False)
    assert seen == [str(src)]
    assert np.array_equal(soundfile.read(quiet)[0], soundfile.read(whole)[0])
    report = run_file(plan, str(src), str(tmp_path / "r.wav"))
    assert seen == [str(src)] * 2 and "streaming" in report
    assert_same_report(want, report)
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", size)
    run_file(plan, str(src), str(quiet), measure=False)
    run_file(plan, str(src), str(quiet))
    assert seen == [str(src)] * 2


def test_a_plan_that_needs_the_samples_gets_a_quietly_streamed_file_whole(
    tmp_path, rng, monkeypatch
):
    """An automatic stopping time on a file over STREAM_THRESHOLD (and not over
    WHOLE_SIGNAL_LIMIT, nor a chunk size given) runs on the file read whole, with
    or without a report; over WHOLE_SIGNAL_LIMIT, or with a chunk size, it is
    refused.  The same for stdin."""
    src = tmp_path / "in.csv"
    x = np.repeat([0.0, 1.0, 0.0], 100) + 0.1 * rng.standard_normal(300)
    src.write_text("".join(f"{v!r}\n" for v in x.tolist()))
    plan = planner("diffuse", "charbonnier", time="auto")
    want = tmp_path / "want.csv"
    run_file(plan, str(src), str(want), run=RunOptions(chunk_size=0), measure=False)
    seen = _spy_streamed(monkeypatch)
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 100)
    got = tmp_path / "got.csv"
    assert run_file(plan, str(src), str(got), measure=False) is None
    assert seen == [str(src)]  # tried streamed, then read whole
    assert got.read_bytes() == want.read_bytes()
    assert "streaming" not in run_file(plan, str(src), str(got))  # with a report too
    assert seen == [str(src)] * 2
    assert got.read_bytes() == want.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(src.read_bytes())))
    piped = tmp_path / "piped.csv"
    run_file(plan, "-", str(piped), measure=False)
    assert piped.read_bytes() == want.read_bytes()
    with pytest.raises(ParameterError, match="needs the whole signal in memory"):
        run_file(plan, str(src), str(tmp_path / "x.csv"), run=RunOptions(chunk_size=50))
    monkeypatch.setattr(stream_choice, "WHOLE_SIGNAL_LIMIT", 1000)
    for measure_it in (False, True):
        with pytest.raises(ParameterError, match="needs the whole signal in memory"):
            run_file(plan, str(src), str(tmp_path / "x.csv"), measure=measure_it)
    assert not (tmp_path / "x.csv").exists()


@settings(max_examples=60, deadline=None)
@given(frames=st.integers(2, 1 << 24), steps=st.integers(0, 1 << 17))
def test_default_chunks_shrink_for_a_signal_near_the_threshold(frames, steps):
    """The default chunk is DEFAULT_CHUNK halved (down to the report's grid rows) until
    the signal holds MIN_CHUNKS of them, and never under 4 halos: a file just over the
    streaming threshold is cut into small chunks (its buffers about a whole read's
    memory), a long one into DEFAULT_CHUNK; a chunk asked for is used as asked."""
    chunk = stream.chunk_for(steps, None, frames)
    assert chunk >= 4 * steps
    size = stream.chunk_for(0, None, frames)
    assert size in (measure.GRID_ROWS, 2 * measure.GRID_ROWS, stream.DEFAULT_CHUNK)
    assert stream.DEFAULT_CHUNK % size == 0
    assert chunk == max(size, 4 * steps)
    if size < stream.DEFAULT_CHUNK:
        assert frames < stream.MIN_CHUNKS * 2 * size
    if size > measure.GRID_ROWS:
        assert frames >= stream.MIN_CHUNKS * size
    assert stream.chunk_for(steps) == max(stream.DEFAULT_CHUNK, 4 * steps)
    assert stream.chunk_for(steps, 12345, frames) == 12345
