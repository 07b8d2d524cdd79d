"""A streamed run's report is the whole-file report, bit for bit.

Both measure in the pieces of one grid of rows (resdenoise.measure.GRID_ROWS from
the first row; NumPy's pairwise sums within a piece, ``math.fsum`` across them),
however the chunks are cut: every field of the report equals, total variation,
mean drift, energies and the reference's MSE too (they differed in their last
bits while a streamed run summed per chunk).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_quality import compare
from test_stream import COMMANDS, assert_same_report

from resdenoise import measure, stream
from resdenoise.cli import cli


def _reports(tmp_path, src, command, sizes, extra=()) -> list[dict]:
    """The report of a whole read (--chunk-size 0) and of each chunk size, streamed."""
    out = []
    for size in ("0", *sizes):
        rep = tmp_path / f"r{size}.json"
        args = [command, str(src), "-q", "-o", str(tmp_path / f"o{size}.wav")]
        args += ["--report", str(rep), "--chunk-size", size, *COMMANDS[command], *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        out.append(json.loads(rep.read_text()))
    return out


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("tail", [0, 37])  # frames past the last whole piece of the grid
@pytest.mark.parametrize(
    "command, reference, depth",
    [
        ("diffuse", True, 0),
        ("diffuse", False, 0),  # the input measured before the run, run in place
        ("diffuse", False, stream.SINK_DEPTH),  # ... its output measured in the sink's thread
        ("regularise", True, 0),
        ("regularise", False, stream.SINK_DEPTH),
    ],
)
def test_streamed_report_is_the_whole_report_on_a_small_grid(
    tmp_path, rng, monkeypatch, channels, tail, command, reference, depth
):
    monkeypatch.setattr(measure, "GRID_ROWS", 256)  # many pieces, chunks across them
    monkeypatch.setattr(stream, "sink_depth", lambda: depth)
    frames = 8 * 256 + tail
    clean = np.repeat(rng.uniform(-0.4, 0.4, (frames // 100 + 1, channels)), 100, axis=0)
    clean = clean[:frames]
    src, ref = tmp_path / "in.wav", tmp_path / "clean.wav"
    soundfile.write(src, clean + 0.05 * rng.standard_normal(clean.shape), 8000, subtype="DOUBLE")
    soundfile.write(ref, clean, 8000, subtype="DOUBLE")
    # chunks shorter than a piece, across pieces, a multiple of a piece, over the signal
    sizes = ("37", "255", "256", "700", "1024", str(frames + 5))
    extra = ["--reference", str(ref)] if reference else []
    early = []  # the cores whose input was measured before their run
    add_input = measure.StreamMeasure.add_input
    monkeypatch.setattr(
        measure.StreamMeasure, "add_input", lambda m, f: early.append(1) or add_input(m, f)
    )
    whole, *streamed = _reports(tmp_path, src, command, sizes, extra)
    assert bool(early) == (command == "diffuse" and not reference)
    assert bool(whole.get("quality")) == reference  # the reference's sums are compared too
    for size, rep in zip(sizes, streamed, strict=True):
        assert rep["streaming"]["chunk_size"] == int(size)
        assert_same_report(whole, rep)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("depth", [0, stream.SINK_DEPTH])
def test_streamed_report_is_the_whole_report_on_the_default_grid(
    tmp_path, rng, monkeypatch, dtype, depth
):
    """Several pieces of the default grid and an odd tail, stereo float WAV (float32:
    its values joined as stored and run in place, the input measured before)."""
    monkeypatch.setattr(stream, "sink_depth", lambda: depth)
    joined = []  # the dtypes of the chunks as run
    run_plan = stream.run_plan
    monkeypatch.setattr(
        stream, "run_plan", lambda plan, x, **kw: joined.append(x.dtype) or run_plan(plan, x, **kw)
    )
    frames = 2 * measure.GRID_ROWS + 1001
    data = np.cumsum(0.01 * rng.standard_normal((frames, 2)), axis=0)
    src = tmp_path / "in.wav"
    soundfile.write(src, np.clip(data, -1, 1).astype(np.float32), 8000, subtype="FLOAT")
    sizes = ("50000", str(measure.GRID_ROWS))
    extra = ["--time", "2", "--dtype", dtype]
    whole, *streamed = _reports(tmp_path, src, "diffuse", sizes, extra)
    assert set(joined) == {np.dtype(dtype)}
    for rep in streamed:
        assert_same_report(whole, rep)


@settings(deadline=None, max_examples=40)
@given(
    rows=st.integers(1, 9),
    lengths=st.lists(st.integers(0, 20), min_size=1, max_size=8),
    channels=st.integers(1, 2),
)
def test_a_grid_cuts_any_arrays_into_the_same_pieces(rows, lengths, channels):
    """Grid fed arrays of any lengths (empty ones too) yields the pieces of
    grid_pieces of the whole, in order, each joined from the rows it spans."""
    n = sum(lengths)
    x = np.arange(n * channels, dtype=float).reshape(n, channels)
    y = -x
    grid = measure.Grid(rows)
    got, a = [], 0
    for k in lengths:
        got += list(grid.pieces(x[a : a + k], y[a : a + k]))
        a += k
    got += list(grid.rest())
    assert grid.held == 0
    want = [(x[i : i + rows], y[i : i + rows]) for i in range(0, n, rows)]
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert np.array_equal(gx, wx) and np.array_equal(gy, wy)


def test_held_rows_are_copies(rng):
    """The rows a grid holds over outlive the array they came from (a chunk's buffer
    is reused for the next)."""
    grid = measure.Grid(10)
    buf = rng.standard_normal(7)
    first = buf.copy()
    assert list(grid.pieces(buf)) == []
    buf[:] = 0.0  # reused
    (piece,) = grid.pieces(np.ones(3))
    assert np.array_equal(piece[0], np.concatenate([first, np.ones(3)]))


@settings(deadline=None, max_examples=30)
@given(
    lengths=st.lists(st.integers(0, 700), min_size=1, max_size=8),
    channels=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_quality_sums_cut_on_their_own_grid(lengths, channels, seed):
    """QualitySums fed parts of any lengths (a streamed run's cores, empty ones too)
    cuts them on its own grid: compare_whole's numbers, bit for bit (before, each
    caller cut the parts on a grid of its own, and a part given as it came was summed
    as a piece)."""
    n = sum(lengths)
    if n == 0:
        return
    rng = np.random.default_rng(seed)
    shape = (n,) if channels == 1 else (n, channels)
    clean = rng.standard_normal(shape)
    noisy, out = clean + rng.standard_normal(shape), clean + 0.1 * rng.standard_normal(shape)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(measure, "GRID_ROWS", 256)  # pieces across the parts
        sums, a = measure.QualitySums(channels), 0
        for k in lengths:
            sums.add(noisy[a : a + k], out[a : a + k], clean[a : a + k])
            a += k
        got, want = sums.result(), measure.compare_whole(noisy, out, clean)
    assert json.dumps(got) == json.dumps(want)
    assert sums.grid.held == 0


def test_quality_sums_add_a_whole_signal_only_from_its_start(rng):
    sums = measure.QualitySums(1)
    sums.add(np.ones(3), np.ones(3), np.zeros(3))  # held for the grid's piece
    with pytest.raises(ValueError, match="from its start"):
        sums.add_whole(np.ones(3), np.ones(3), np.zeros(3))


def test_the_whole_reference_comparison_is_compare_to_rounding(rng):
    """compare_whole sums on the grid; the plain form (one sum, test_quality.compare)
    agrees to rounding."""
    clean = rng.standard_normal((200_000, 2))
    noisy, out = clean + rng.standard_normal(clean.shape), clean + 0.1
    got, want = measure.compare_whole(noisy, out, clean), compare(noisy, out, clean)
    for side in ("input", "output"):
        for key in ("mse", "snr_db", "psnr_db"):
            np.testing.assert_allclose(got[side][key], want[side][key], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "command, extra, early",
    [
        ("diffuse", [], True),  # measured before, run in the stored samples in place
        ("diffuse", ["--dtype", "float32", "--columns", "1,3"], True),  # a carried channel
        ("diffuse", ["--reference", "REF"], False),
        ("regularise", [], False),
        ("resnet", ["--tau", "0.9", "--allow-unstable"], False),  # not L-infinity stable
        ("diffuse", ["--diffusivity-expr", "1/(1+r^2/lam^2)", "--time", "4"], True),  # span
    ],
)
@pytest.mark.parametrize("quiet", [False, True])
def test_a_float_wav_read_whole_as_stored_gives_the_widened_reads_run(
    tmp_path, rng, monkeypatch, command, extra, early, quiet
):
    """A float32 run of a float WAV read whole takes its samples as stored (float32,
    no widened copy; run in place where the input is measured before): the output
    bytes and every report number are those of the run that read them widened to
    float64 (main's before), and of the streamed run."""
    from resdenoise import io as rio

    frames = 3 * measure.GRID_ROWS // 2 + 77
    data = np.cumsum(0.01 * rng.standard_normal((frames, 3)), axis=0)
    src, ref = tmp_path / "in.wav", tmp_path / "ref.wav"
    soundfile.write(src, np.clip(data, -1, 1).astype(np.float32), 8000, subtype="FLOAT")
    soundfile.write(ref, np.clip(data, -1, 1), 8000, subtype="DOUBLE")
    extra = [str(ref) if a == "REF" else a for a in extra]
    read_signal, seen = rio.read_signal, []

    def read(*args, stored=False, widen=False):
        sig = read_signal(*args, stored=stored and not widen)
        seen.append(sig.data.dtype)
        return sig

    runs = stream.run_plan, []  # (x is out: in place) of the whole runs
    monkeypatch.setattr(
        "resdenoise.filters.run_plan",
        lambda plan, x, cb=None, **kw: (
            runs[1].append(kw.get("out") is x) or runs[0](plan, x, cb, **kw)
        ),
    )
    got = {}
    for name, widen, size in (
        ("stored", False, "0"),
        ("widened", True, "0"),
        ("streamed", False, "5000"),
    ):
        monkeypatch.setattr(
            rio, "read_signal", lambda *a, stored=False, w=widen: read(*a, stored=stored, widen=w)
        )
        out, rep = tmp_path / f"{name}.wav", tmp_path / f"{name}.json"
        base = [] if "--diffusivity-expr" in extra else COMMANDS[command]  # a formula's reach
        args = [command, str(src), "-q", "-o", str(out), "--chunk-size", size, *base, *extra]
        args += [] if quiet else ["--report", str(rep)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        got[name] = (out.read_bytes(), None if quiet else json.loads(rep.read_text()))
    assert seen[0] == np.float32 and seen[-1] == np.float64  # read as stored, then widened
    assert runs[1][0] == (early or quiet)  # in place where nothing reads the input after
    for name in ("widened", "streamed"):
        assert got[name][0] == got["stored"][0], name
        if not quiet:
            assert_same_report(got["stored"][1], got[name][1])


@pytest.mark.parametrize(
    "extra",
    [["--time", "auto"], ["--scales", "2"], ["--time", "4", "--dtype", "float64"]],
)
def test_a_plan_that_searches_the_samples_reads_them_widened(tmp_path, rng, monkeypatch, extra):
    """Only a float32 run of a plan that takes the samples' noise level and span reads a
    float WAV as stored: an automatic search, several scales and a float64 run get
    the float64 samples as before."""
    from resdenoise import io as rio

    src = tmp_path / "in.wav"
    x = np.repeat(rng.uniform(-0.4, 0.4, 20), 100) + 0.05 * rng.standard_normal(2000)
    soundfile.write(src, x.astype(np.float32), 8000, subtype="FLOAT")
    read_signal, seen = rio.read_signal, []
    monkeypatch.setattr(
        rio, "read_signal", lambda *a, **kw: seen.append(kw) or read_signal(*a, **kw)
    )
    args = ["diffuse", str(src), "-q", "-o", str(tmp_path / "o.wav"), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert seen == [{"stored": False}]


def test_quality_of_samples_too_large_to_square_is_finite(rng):
    """Samples beyond 1e154 (finite, as float64 holds them) squared to inf: SNR and PSNR
    were nan ('null' in the report) though they do not depend on the scale; now those
    of the same signals scaled down (a power of two), the MSE inf only where float64
    cannot hold it; cut in pieces as a streamed run cuts them, the same numbers."""
    clean = rng.standard_normal((3000, 2))
    noisy, out = clean + 0.3 * rng.standard_normal(clean.shape), clean + 0.05 * clean[::-1]
    small = measure.compare_whole(noisy, out, clean)
    big = [np.ldexp(a, 600) for a in (noisy, out, clean)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(measure, "GRID_ROWS", 256)  # several pieces
        large = measure.compare_whole(*big)
        sums = measure.QualitySums(2)
        for a in range(0, 3000, 700):
            sums.add(*(x[a : a + 700] for x in big))
        assert json.dumps(sums.result()) == json.dumps(large)
    for key in ("input", "output"):
        for name in ("snr_db", "psnr_db"):
            np.testing.assert_allclose(large[key][name], small[key][name], rtol=1e-12)
        assert large[key]["mse"] == [np.inf, np.inf]  # 2**1200 times the MSE
    medium = measure.compare_whole(*(np.ldexp(a, 500) for a in (noisy, out, clean)))
    np.testing.assert_allclose(
        medium["output"]["mse"], np.ldexp(small["output"]["mse"], 1000), rtol=1e-12
    )
