"""The whole-file path made lean keeps its numbers: the measured guarantees, the output.

``measure_channels`` takes its extremes, sign changes and means from the
compiled walks where they apply; here every number is compared, with ``==``,
against the formulas it used before, written out in the test (a contiguous
copy of each column, NumPy's min, max and mean, the sign sequence).  The
whole-file run writes its output in pieces and, when nothing is measured,
runs the blocks in the input: the output file and the report are the same
bytes as the run that keeps both and writes at once.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from resdenoise import filters, measure, pipeline, stability
from resdenoise.engine import _kernels
from resdenoise.filters import plan_diffuse
from resdenoise.nonlinearities import get_nonlinearity
from resdenoise.pipeline import RunOptions, planner, run_file

COMPILED = _kernels() is not None and hasattr(_kernels(), "columns_stats")


def old_measure(f, u, n_blocks):
    """The per-channel numbers as measure_channels took them before, with NumPy."""
    f2, u2 = f.reshape(f.shape[0], -1), u.reshape(u.shape[0], -1)
    amp = abs(float(np.maximum(-f2.min(), f2.max())))
    ulp = float(np.spacing(np.asarray(amp, dtype=float)))
    band = 8.0 * ulp * max(1.0, math.sqrt(max(n_blocks, 1)))
    rows = []
    for c in range(f2.shape[1]):
        per = []
        for x in (f2, u2):
            col = np.array(x[:, c], dtype=np.float64)  # contiguous, as before
            s = np.sign(col)
            s[np.abs(col) <= band] = 0
            s = s[s != 0]
            changes = int(np.count_nonzero(s[1:] != s[:-1]))
            per.append((float(col.min()), float(col.max()), changes, col.mean()))
        (lo, hi, sc_in, m_in), (olo, ohi, sc_out, m_out) = per
        rows.append((lo, hi, olo, ohi, sc_in, sc_out, float(m_out - m_in)))
    return rows, {"range": band, "mean": 1e-12 * amp, "ulp": ulp}


def new_rows(checks):
    return [
        (
            c.input_min,
            c.input_max,
            c.output_min,
            c.output_max,
            c.sign_changes_in,
            c.sign_changes_out,
            c.mean_drift,
        )
        for c in checks
    ]


@pytest.mark.parametrize("n", [2, 9, 130, 8193, 40_000, 300_001])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_measured_numbers_are_the_old_ones(rng, n, channels):
    f = 3.0 * rng.standard_normal((n, channels)) + 0.1
    u = f + 1e-3 * rng.standard_normal((n, channels))
    checks, tol = stability.measure_channels(f, u, 10)
    rows, old_tol = old_measure(f, u, 10)
    assert tol == old_tol
    assert new_rows(checks) == rows  # bit for bit: == on every float


def test_the_compiled_walk_is_taken_and_agrees(rng, monkeypatch):
    if not COMPILED:
        pytest.skip("compiled module not built")
    f = rng.standard_normal((50_000, 2))
    u = 0.5 * f
    tol = stability.tolerances(f, 4)["range"]
    for x in (f, u):  # the fast path applies, and settles every column
        got = stability._compiled_side(x, tol)
        assert got is not None and None not in got
    fast, _ = stability.measure_channels(f, u, 4)
    monkeypatch.setattr(stability, "_compiled_module", lambda x2: None)
    slow, _ = stability.measure_channels(f, u, 4)
    assert [c.as_dict() for c in fast] == [c.as_dict() for c in slow]


@pytest.mark.parametrize("case", ["zeros", "band", "nan", "negzero", "float32", "huge"])
def test_cases_the_walk_leaves_to_numpy(rng, monkeypatch, case):
    """Zeros, values in the sign band, NaN, -0.0, float32 output and sums near the
    float64 maximum: the same report numbers as NumPy's path alone."""
    f = rng.standard_normal((20_000, 2))
    u = 0.9 * f
    if case == "zeros":
        f[::7] = 0.0
    elif case == "band":
        u[100:200] = 1e-300
    elif case == "nan":
        u[5, 1] = np.nan
    elif case == "negzero":
        f[:, 0] = np.abs(f[:, 0])
        f[10, 0] = -0.0
    elif case == "float32":
        u = u.astype(np.float32)
    elif case == "huge":
        f *= 1e300
        u *= 1e300
    with np.errstate(all="ignore"):
        fast, tol = stability.measure_channels(f, u, 3)
        monkeypatch.setattr(stability, "_compiled_module", lambda x2: None)
        slow, tol_slow = stability.measure_channels(f, u, 3)
    assert tol == tol_slow
    a, b = [c.as_dict() for c in fast], [c.as_dict() for c in slow]
    assert json.dumps(a) == json.dumps(b)  # NaN and -0.0 spelt the same


def run_pair(tmp_path, monkeypatch, name, data, report: bool):
    """The whole-file run of ``data`` as it is, and as before: one write, no in-place
    run, NumPy's measurements."""
    import soundfile

    src = tmp_path / f"{name}.wav"
    soundfile.write(src, data, 8000, subtype="FLOAT")
    make = planner("diffuse", "perona-malik", steps=7)
    outs = []
    for lean in (True, False):
        if not lean:  # as before: one write, a fresh result, NumPy's measures
            monkeypatch.setattr(pipeline, "WRITE_ROWS", 1 << 40)
            monkeypatch.setattr(filters, "run_plan", _no_out(filters.run_plan))
            monkeypatch.setattr(stability, "_compiled_module", lambda x2: None)
            monkeypatch.setattr(pipeline._Whole, "_measure_before", lambda *a: (None, None))
        out = tmp_path / f"{name}-{lean}.wav"
        rep = tmp_path / f"{name}-{lean}.json" if report else None
        got = run_file(
            make,
            str(src),
            str(out),
            run=RunOptions(chunk_size=0),
            report_path=None if rep is None else str(rep),
            measure=report,
        )
        outs.append((out.read_bytes(), None if rep is None else rep.read_bytes(), got))
    monkeypatch.undo()
    return outs


def _no_out(run_plan):
    def run(plan, u, callback=None, dtype=None, threads=None, out=None):
        return run_plan(plan, u, callback, dtype, threads)

    return run


@pytest.mark.parametrize("report", [True, False])
def test_whole_run_writes_the_same_bytes(tmp_path, monkeypatch, rng, report):
    n = 3 * (1 << 16) + 123  # several pieces of WRITE_ROWS and a short last one
    data = (0.3 * rng.standard_normal((n, 2))).astype(np.float32)
    (lean_out, lean_rep, lean), (old_out, old_rep, old) = run_pair(
        tmp_path, monkeypatch, "s", data, report
    )
    from test_stream import untimed  # two writes a second apart: their PEAK time stamps

    assert untimed(lean_out) == untimed(old_out)
    if report:  # the same text but for the output's name and the run's job record
        said = [json.loads(r) for r in (lean_rep.replace(b"s-True.wav", b"s-False.wav"), old_rep)]
        said[0].pop("job"), said[1].pop("job")
        assert said[0] == said[1]
        assert {**lean, "output": None, "job": None} == {**old, "output": None, "job": None}
    else:
        assert lean is None and old is None


def test_whole_run_in_place_leaves_the_file_alone(tmp_path, rng):
    """Under measure=False the blocks run in the read samples, never in the file."""
    import soundfile

    data = (0.3 * rng.standard_normal((5000, 2))).astype(np.float32)
    src = tmp_path / "in.wav"
    soundfile.write(src, data, 8000, subtype="FLOAT")
    before = src.read_bytes()
    make = planner("diffuse", "perona-malik", steps=5)
    run_file(make, str(src), str(tmp_path / "o.wav"), run=RunOptions(chunk_size=0), measure=False)
    assert src.read_bytes() == before
    out, _ = soundfile.read(tmp_path / "o.wav", dtype="float32")
    assert not np.array_equal(out, data)  # filtered


def test_clipped_pieces_are_joined(tmp_path, rng):
    """An allowed unstable run whose PCM output clips: the measured output is every
    piece as the file holds it (clipped), in order."""
    import soundfile

    from resdenoise.io import WriteOptions

    n = (1 << 16) + 50
    data = np.clip(0.5 * rng.standard_normal((n, 1)), -0.99, 0.99)
    data[-10:] = 0.999
    src = tmp_path / "in.wav"
    soundfile.write(src, data, 8000, subtype="FLOAT")
    make = planner("diffuse", "perona-malik", lam=0.01, steps=3, tau=5.0)
    report = run_file(
        make,
        str(src),
        str(tmp_path / "o.wav"),
        write=WriteOptions(subtype="PCM_16"),
        run=RunOptions(chunk_size=0, allow_unstable=True),
    )
    assert report["clipped"] > 0
    ch = report["channels"][0]
    assert -1.0 <= ch["output_min"] and ch["output_max"] <= 32767 / 32768


def old_total_variation(u, rows):
    """total_variation as NumPy summed it: pieces of ``rows`` differences, each summed
    along axis 0, the pieces' sums added."""
    u2 = u.reshape(u.shape[0], -1)
    total = np.zeros(u2.shape[1])
    for a in range(0, u2.shape[0] - 1, rows):
        b = min(a + rows, u2.shape[0] - 1)
        total += np.abs(np.subtract(u2[a + 1 : b + 1], u2[a:b], dtype=float)).sum(axis=0)
    return total


@pytest.mark.parametrize("channels", [1, 2, 3, 7, 16, 17])
@pytest.mark.parametrize("n", [1, 2, 1000, 2 * 1000 + 1, 2 * 1000 + 2])
def test_total_variation_is_numpys(rng, monkeypatch, channels, n):
    """The compiled variation (2 to 16 channels) against NumPy's pieces, with == (small
    pieces here, so that a signal spans several, and a short last one)."""
    monkeypatch.setattr(stability, "TV_ROWS", 1000)
    u = rng.standard_normal((n, channels)) * np.exp(8 * rng.standard_normal((n, channels)))
    got = stability.total_variation(u)
    assert got.dtype == np.float64 and got.shape == (channels,)
    assert got.tolist() == old_total_variation(u, 1000).tolist()


def test_total_variation_takes_the_compiled_loop(rng, monkeypatch):
    if not (COMPILED and hasattr(_kernels(), "columns_variation")):
        pytest.skip("compiled module not built")
    u = rng.standard_normal((300_000, 2))
    calls = []
    module = _kernels()

    class Spy:
        def __getattr__(self, name):
            return getattr(module, name)

        def columns_variation(self, x, rows):
            calls.append(rows)
            return module.columns_variation(x, rows)

    monkeypatch.setattr(stability, "_compiled_module", lambda x2: Spy())
    got = stability.total_variation(u)
    assert calls == [stability.TV_ROWS]
    assert got.tolist() == old_total_variation(u, stability.TV_ROWS).tolist()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_input_measured_before_gives_the_same_checks(rng, dtype, monkeypatch):
    monkeypatch.setattr(measure, "GRID_ROWS", 4096)  # several pieces of the grid
    f = rng.standard_normal((30_000, 2))
    f[::50, 1] = 0.0  # a column NumPy measures
    u = (0.7 * f).astype(dtype)
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.5), steps=6)
    measured = measure.measure_input(plan, f, u.dtype)
    f_copy = f.copy()
    f[:] = np.nan  # overwritten by the run: not read again
    got, tol = measure.measure_run(plan, None, u, measured)
    want, want_tol = measure.measure_run(plan, f_copy, u)
    assert tol == want_tol
    assert [c.as_dict() for c in got] == [c.as_dict() for c in want]


def test_input_measured_before_refuses_scaled_sums(rng):
    f = 1e300 * rng.standard_normal((1000, 2))
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.5), steps=3)
    measured = measure.measure_input(plan, 1e-3 * f, np.float64)
    with pytest.raises(ValueError, match="scaling"):
        measure.measure_run(plan, None, f, measured)


def test_whole_run_measures_before_and_runs_in_place(tmp_path, rng, monkeypatch):
    """A measured whole-file run of a plain plan runs its blocks in the read samples
    (one signal-sized float64 array, not two) and reports the numbers of the run
    that keeps its input (test_whole_run_writes_the_same_bytes)."""
    import soundfile

    data = (0.3 * rng.standard_normal((4000, 2))).astype(np.float32)
    src = tmp_path / "in.wav"
    soundfile.write(src, data, 8000, subtype="FLOAT")
    seen = []
    real = filters.run_plan

    def spy(plan, u, callback=None, dtype=None, threads=None, out=None):
        seen.append(out is u)
        return real(plan, u, callback, dtype, threads, out)

    monkeypatch.setattr(filters, "run_plan", spy)
    make = planner("diffuse", "perona-malik", steps=4)
    run = RunOptions(chunk_size=0, dtype="float64")
    report = run_file(make, str(src), str(tmp_path / "o.wav"), run=run)
    assert seen == [True]
    assert report["guarantees_held"]
    # the file's own precision (float32, the default for it): the blocks run in the
    # float32 working copy, the report measures the file's values
    seen.clear()
    auto = run_file(make, str(src), str(tmp_path / "a.wav"), run=RunOptions(chunk_size=0))
    assert seen == [True] and auto["engine"]["dtype"] == "float32"
    for key in ("input_min", "input_max", "sign_changes_in", "tv_in"):
        assert [c[key] for c in auto["channels"]] == [c[key] for c in report["channels"]]


@pytest.mark.parametrize(
    "subtype, fmt, ext",
    [
        ("FLOAT", "WAV", "wav"),
        ("PCM_16", "WAV", "wav"),
        ("PCM_24", "WAV", "wav"),
        ("PCM_32", "WAV", "wav"),
        ("DOUBLE", "WAV", "wav"),
        ("PCM_16", "FLAC", "flac"),
        ("FLOAT", "AIFF", "aiff"),
    ],
)
@pytest.mark.parametrize("columns", [None, [1], [3, 1]])
def test_audio_file_read_whole_without_its_bytes(
    tmp_path, rng, monkeypatch, subtype, fmt, ext, columns
):
    """An audio file on disk is read into its float64 samples block by block (never
    all its bytes at once): the Signal parse_signal gives for the file's bytes."""
    import soundfile

    from resdenoise.io import ReadOptions, read_signal
    from resdenoise.io import read as read_module

    n = 2 * (1 << 16) + 77  # several read blocks and a short last one
    x = np.clip(0.4 * rng.standard_normal((n, 3)), -1, 1)
    path = tmp_path / f"a.{ext}"
    soundfile.write(path, x, 8000, subtype=subtype, format=fmt)
    options = ReadOptions(columns=columns)
    want = read_module.parse_signal(path.read_bytes(), "AUDIO", str(path), options)

    def no_bytes(_path):
        raise AssertionError("the file's bytes were read whole")

    monkeypatch.setattr(read_module, "_read_bytes", no_bytes)
    got = read_signal(path, None, options)
    assert got.data.dtype == want.data.dtype == np.float64
    assert got.data.shape == want.data.shape and got.data.flags.c_contiguous
    assert got.data.tobytes() == want.data.tobytes()
    assert got.carried.keys() == want.carried.keys()
    for k in got.carried:
        assert got.carried[k].tobytes() == want.carried[k].tobytes()
    same = ("format", "subtype", "samplerate", "positions", "source")
    assert [getattr(got, a) for a in same] == [getattr(want, a) for a in same]
