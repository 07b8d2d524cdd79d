"""Data safety left-overs of session 20 (safe21).

1. ``--strict --in-place``: an output whose measured guarantee failed no longer replaces
   its input (whole, streamed, each file of a batch on its own); without ``--strict`` the
   input is replaced as before (exit 0, as a run with ``-o``), and a warning says so.
"""

from __future__ import annotations

import json
import os

import pytest

from resdenoise.cli import cli
from resdenoise.errors import GuaranteeError
from resdenoise.pipeline import RunOptions, planner, run_file

#: A float32 run whose mean drifts (a sample 3e6 times the others absorbs every block's
#: increment: test_audit11_guarantees): a genuine failure of a stable run (exit 4).
DRIFTS = "v\n-7.22\n-7.22\n-7.22\n-7.22\n24067194\n"
HOLDS = "v\n0\n1\n0\n1\n0\n1\n"
ARGS = ["regularise", "--regulariser", "softsign", "--lambda", "1806.6", "--alpha", "0.459"]
ARGS += ["--h", "0.001", "--dtype", "float32"]
KEPT = "the input was kept as it was (--in-place replaces it only where nothing fails --strict)"


def _files(tmp_path, **texts):
    paths = {}
    for name, text in texts.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text)
    return paths


@pytest.mark.parametrize("chunks", [[], ["--chunk-size", "2"]], ids=["whole", "streamed"])
def test_strict_in_place_keeps_an_input_whose_guarantee_failed(runner, tmp_path, chunks):
    """Before: exit 4, and big.csv replaced by the drifted output (the report said so)."""
    src = _files(tmp_path, big=DRIFTS)["big"]
    rep = tmp_path / "r.json"
    args = [*ARGS, str(src), "--strict", "--in-place", "--report", str(rep), *chunks]
    result = runner.invoke(cli, args)
    assert result.exit_code == 4, result.output
    assert src.read_text() == DRIFTS  # untouched
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "r.json"]  # no temporary left
    lines = result.stderr.splitlines()
    assert lines[0] == f"{src} kept, not replaced: guarantees failed: " + (
        "column 1 ('v'): mean drifted by 1.66e+05"
    )
    assert lines[-1].startswith(f"Error: {src}: --strict: column 1 ('v'): mean drifted")
    assert lines[-1].endswith("; " + KEPT)
    report = json.loads(rep.read_text())
    assert report["kept_input"] is True and report["guarantees_held"] is False
    assert ("streaming" in report) == bool(chunks)


def test_strict_in_place_batch_decides_each_file_on_its_own(runner, tmp_path):
    """Before: '2 files: 2 written (1 of them failed --strict)', big.csv replaced."""
    paths = _files(tmp_path, big=DRIFTS, ok=HOLDS)
    args = [*ARGS, str(paths["big"]), str(paths["ok"]), "--strict", "--in-place"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 4, result.output
    assert paths["big"].read_text() == DRIFTS
    assert paths["ok"].read_text() != HOLDS  # its guarantees held: replaced
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "ok.csv"]
    lines = result.stderr.splitlines()
    assert f"Error: {paths['big']}: --strict: column 1 ('v'): mean drifted by 1.66e+05; {KEPT}" in (
        lines
    )
    assert f"{paths['ok']} -> {paths['ok']}: guarantees held" in lines
    assert lines[-1] == "2 files: 1 written, 1 failed (1 of them kept unchanged: failed --strict)"


def test_run_file_strict_in_place_raises_with_the_input_kept(tmp_path):
    src = _files(tmp_path, big=DRIFTS)["big"]
    make_plan = planner("regularise", "softsign", lam=1806.6, alpha=0.459, h=0.001)
    run = RunOptions(strict=True, dtype="float32")
    with pytest.raises(GuaranteeError) as caught:
        run_file(make_plan, str(src), in_place=True, run=run)
    assert caught.value.kept and caught.value.report["kept_input"] is True
    assert str(caught.value).endswith(
        f"; {src} kept as it was (in_place replaces it only where nothing fails strict)"
    )
    assert src.read_text() == DRIFTS
    # without in_place, strict writes the output as before (not kept)
    with pytest.raises(GuaranteeError) as caught:
        run_file(make_plan, str(src), str(tmp_path / "o.csv"), run=run)
    assert not caught.value.kept and "kept_input" not in caught.value.report
    assert (tmp_path / "o.csv").exists()


def test_in_place_without_strict_replaces_and_says_so(runner, tmp_path):
    """Decided: without --strict the check does not decide (exit 0, the output written, as
    with -o); the input is replaced, and a warning (also the report's) says so and what
    keeps it.  Before: replaced without that warning."""
    src = _files(tmp_path, big=DRIFTS)["big"]
    rep = tmp_path / "r.json"
    result = runner.invoke(cli, [*ARGS, str(src), "--in-place", "--report", str(rep)])
    assert result.exit_code == 0, result.output
    assert src.read_text() != DRIFTS
    line = (
        f"{src}: replaced in place although a guarantee failed (see the verdict); --strict "
        "keeps the input when one fails, -o writes the output beside it"
    )
    assert f"warning: {line}" in result.stderr.splitlines()
    report = json.loads(rep.read_text())
    assert report["warnings"][-1] == line and "kept_input" not in report


# 3. a streamed file's quantisation warning: the whole file's rule, block by block --------


def _reference_step(x, bits=None):
    """The step as the samples' shortest decimals say it (their repr; PCM: their counts):
    the greatest common divisor of their differences on the grid of the most decimal
    places among them, at most 6 (the test's own implementation)."""
    import math
    from decimal import Decimal

    if bits:
        n = [int(v * 2 ** (bits - 1)) for v in x]
        step = math.gcd(*(abs(v - n[0]) for v in n))
        return step / 2 ** (bits - 1) if step else None
    decimals = [Decimal(repr(float(v))).normalize() for v in x]
    k = max(max(0, -d.as_tuple().exponent) for d in decimals)
    if k > 6 or max(abs(v) for v in x) * 10**k >= 2**52:
        return None
    n = [int(d.scaleb(k)) for d in decimals]
    step = math.gcd(*(abs(v - n[0]) for v in n))
    return step / 10**k if step else None


def test_steps_block_by_block_are_the_steps_of_the_samples_at_once():
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from resdenoise.level_notes import Steps, _whole_step

    @settings(max_examples=300, deadline=None)
    @given(
        n=st.integers(1, 60),
        step=st.sampled_from([1, 2, 4, 16]),
        spread=st.integers(0, 40),
        fraction=st.sampled_from([0.5, 0.25, 0.01, 0.001, 1e-7, 0.1 + 0.2, 2.0**-15]),
        fraction_at=st.lists(st.integers(0, 59), max_size=3),
        cuts=st.lists(st.integers(1, 59), max_size=5),
        bits=st.sampled_from([None, None, 16]),
        seed=st.integers(0, 2**16),
    )
    def check(n, step, spread, fraction, fraction_at, cuts, bits, seed):
        rng = np.random.default_rng(seed)
        x = 1000.0 + step * rng.integers(-spread, spread + 1, (n, 2))
        if bits:
            x = (x - 1000.0) * 2.0**-15  # 16-bit counts read as -1..1
        for i in fraction_at:
            if i < n:
                x[i, i % 2] += fraction if not bits else 2.0**-15
        steps = Steps(bits)
        for piece in np.split(x, sorted(set(cuts))):
            steps.add(piece)
        expected = [_reference_step(x[:, c], bits) for c in range(2)]
        assert steps.steps() == expected
        assert [_whole_step(x[:, c], None, bits) for c in range(2)] == expected

    check()


def _warnings(runner, *args):
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize("kind", ["decimals", "pcm"])
def test_a_streamed_file_warns_of_its_quantisation_as_the_whole_file(runner, tmp_path, kind):
    """Before: a CSV of hundredths streamed said nothing (its whole file: 'all whole
    multiples of 0.01'); a PCM_16 file of even counts streamed took one count for its
    step, whose rounding noise (8.8e-6) is below the level read (1.01e-5): nothing said
    (whole: '2 counts', 1.76e-5)."""
    import numpy as np
    import soundfile

    t = np.arange(20000)
    if kind == "decimals":
        src = tmp_path / "temp.csv"
        src.write_text("v\n" + "".join(f"{20 + 5 * np.sin(i / 1300):.2f}\n" for i in t))
        said = "all whole multiples of 0.01 (step/sqrt(12) = 0.00289)"
    else:
        src = tmp_path / "p.wav"
        x = 2 * np.round(500 * np.sin(t / 3000)) / 32768
        soundfile.write(src, x, 8000, subtype="PCM_16")
        said = "all whole multiples of 2 counts of its 16-bit samples, 6.1e-05"
    out = tmp_path / f"o{src.suffix}"
    whole = _warnings(runner, "diffuse", src, "-o", out, "--steps", "5")
    streamed = _warnings(runner, "diffuse", src, "-o", out, "--steps", "5", "--chunk-size", "3000")
    assert len(whole) == 1 and said in whole[0]
    assert streamed == whole


# 2. metadata a format change drops: said, not silent ------------------------------------


def _wavex(path, mask, channels=6):
    """A WAVE extensible PCM_24 file of ``channels`` whose dwChannelMask is ``mask`` (the
    bytes patched: libsndfile writes its default for the count)."""
    import struct

    import numpy as np
    import soundfile

    x = 0.3 * np.random.default_rng(1).standard_normal((2000, channels))
    soundfile.write(path, x, 48000, subtype="PCM_24", format="WAVEX")
    b = bytearray(path.read_bytes())
    fmt = b.index(b"fmt ")  # the mask: 20 bytes into the format chunk's body
    assert struct.unpack("<H", b[fmt + 8 : fmt + 10])[0] == 0xFFFE  # extensible
    b[fmt + 28 : fmt + 32] = struct.pack("<I", mask)
    path.write_bytes(bytes(b))


def _bwf(path, *chunks):
    """A PCM_16 WAV with the ``chunks`` (ids) before its data chunk, as a BWF has bext."""
    import struct

    import numpy as np
    import soundfile

    x = 0.3 * np.sin(np.arange(2000) / 30)
    soundfile.write(path, x, 48000, subtype="PCM_16", format="WAV")
    b = bytearray(path.read_bytes())
    for cid in chunks:  # each before the data chunk, in order
        body = b"resdenoise test".ljust(602, b"\0")
        at = b.index(b"data")
        b[at:at] = cid + struct.pack("<I", len(body)) + body
    b[4:8] = struct.pack("<I", len(b) - 8)
    path.write_bytes(bytes(b))


MASK_LOST = (
    "the input's speaker positions (WAVE channel mask 0x60F: FL, FR, FC, LFE, SL, SR) are not "
    "kept: the {} output is written without them (readers take the default layout for 6 "
    "channels); write .wav (WAVE extensible) to keep them"
)


@pytest.mark.parametrize("ext,fmt", [("flac", "FLAC"), ("aiff", "AIFF"), ("caf", "CAF")])
def test_a_channel_mask_lost_by_the_output_format_is_said(runner, tmp_path, ext, fmt):
    """Before: m.flac written from 5.1 with side surrounds (0x60F), silently: FLAC's
    readers take back surrounds (0x3F)."""
    src, out, rep = tmp_path / "m.wav", tmp_path / f"m.{ext}", tmp_path / "r.json"
    _wavex(src, 0x60F)
    args = ["diffuse", src, "-o", out, "--steps", "1", "--lambda", "0.1", "--report", rep]
    warned = _warnings(runner, *args)
    line = f"{out}: " + MASK_LOST.format(fmt)
    assert warned == [f"warning: {line}"]
    assert json.loads(rep.read_text())["warnings"] == [line]


@pytest.mark.parametrize(
    "mask,out",
    [(0x3F, "m.flac"), (0x60F, "o.wav"), (0x60F, "o.rf64")],
    ids=["default", "wavex", "rf64"],
)
def test_a_channel_mask_kept_or_implied_is_not_warned(runner, tmp_path, mask, out):
    src = tmp_path / "m.wav"
    _wavex(src, mask)
    args = ["diffuse", src, "-o", tmp_path / out, "--steps", "1", "--lambda", "0.1"]
    assert _warnings(runner, *args) == []


def test_a_bwf_run_says_its_bext_chunk_is_not_written(runner, tmp_path):
    """Before: documented in the README only; the run said nothing."""
    src, rep = tmp_path / "t.bwf", tmp_path / "r.json"
    _bwf(src, b"bext", b"iXML")
    args = ["diffuse", src, "-o", tmp_path / "o.bwf", "--steps", "1", "--lambda", "0.1"]
    line = (
        f"{src}: its bext chunk (Broadcast Wave description, originator and time reference) "
        "and iXML chunk (production metadata) are not written to the output (only the "
        "samples and the text tags libsndfile reads are): keep the input for them, or copy "
        "them over (e.g. with BWF MetaEdit)"
    )
    assert _warnings(runner, *args, "--report", rep) == [f"warning: {line}"]
    assert json.loads(rep.read_text())["warnings"] == [line]
    # streamed alike
    assert _warnings(runner, *args, "--chunk-size", "500") == [f"warning: {line}"]


def test_in_place_refuses_a_bwf_whose_bext_chunk_it_would_lose(runner, tmp_path):
    """Before: replaced, its bext chunk (the recording's time reference) gone."""
    src = tmp_path / "t.bwf"
    _bwf(src, b"bext")
    before = src.read_bytes()
    args = ["diffuse", str(src), "--in-place", "--steps", "1", "--lambda", "0.1"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Error: {src}: --in-place would lose its bext chunk (Broadcast Wave description, "
        "originator and time reference), which no output keeps; write the output to "
        "another file (-o) and copy it over\n"
    )
    assert src.read_bytes() == before and os.listdir(tmp_path) == ["t.bwf"]


# 4. learn: the SURE stop worse than the trained depth, said without --clean too -----------


def test_learn_without_clean_warns_of_a_stop_worse_by_sure(runner, tmp_path, monkeypatch):
    """With --clean the warning compares supervised losses (A20b-21); without, the
    decision's losses are SURE (its probe's), and a stop worse by them was silent.  The
    trained depth's SURE is made the smaller here (on the sample files the stop is
    better, as it mostly is).  Before: no warning, none in the report."""
    from dataclasses import replace

    from resdenoise import learn_stop

    decide = learn_stop.decide_stop

    def trained_better(*args, **kwargs):
        d = decide(*args, **kwargs)
        assert d.measure == "sure"
        return replace(d, losses={**d.losses, "trained": 0.5 * min(d.losses.values())})

    monkeypatch.setattr(learn_stop, "decide_stop", trained_better)
    steps = os.path.join(os.path.dirname(__file__), "..", "sample_signals", "steps.csv")
    out = tmp_path / "l.toml"
    args = ["learn", steps, "--blocks-per-group", "2", "--training-iterations", "3"]
    result = runner.invoke(cli, [*args, "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    stopped, trained = report["loss_stopped_by_sure"], report["loss_at_trained_depth"]
    line = (
        f'{out}: stopped by SURE (stop = "sure") it does worse on its own training files '
        f"than at its trained depth: SURE {stopped:.6g}, at the trained depth {trained:.6g} "
        f"({stopped / trained:.3g}x); --stop auto writes the better of the two"
    )
    assert report["warnings"] == [line]
    assert f"warning: {line}" in result.stderr.splitlines()


# 5. plain output for screen readers: RESDENOISE_PLAIN ------------------------------------


@pytest.mark.parametrize("value, lines", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_plain_output_prints_every_table_as_lines(runner, tmp_path, monkeypatch, value, lines):
    """Before: the tables were lines only where they did not fit COLUMNS (here 200)."""
    src = _files(tmp_path, a=HOLDS)["a"]
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("RESDENOISE_PLAIN", value)
    args = ["diffuse", str(src), "-o", str(tmp_path / "o.csv"), "--steps", "1", "-v"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    boxes = any(c in result.stderr for c in "│┃━─┏┡")
    assert boxes != lines
    said = "  tau / h / steps: 0.25 / 1 / 1" in result.stderr.splitlines()
    assert said == lines
    if lines:
        assert "    column 1 ('v'): 0 / 1" in result.stderr.splitlines()  # per channel


def test_plain_output_has_progress_as_lines_on_a_terminal(monkeypatch):
    """Before: bars (redrawn in place, read again and again by a screen reader)."""
    import sys

    from test_cli_progress import _Terminal  # a stream that says it is a terminal

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setenv("RESDENOISE_PLAIN", "1")
    assert render.progress_mode(False) == "lines"
    monkeypatch.setenv("RESDENOISE_PLAIN", "0")
    assert render.progress_mode(False) == "bars"


def test_plain_output_is_listed_in_help(runner):
    result = runner.invoke(cli, ["--help"], env={"COLUMNS": "200"})
    section = result.output.split("Environment:")[1]
    assert "RESDENOISE_PLAIN" in section and "screen readers" in section
