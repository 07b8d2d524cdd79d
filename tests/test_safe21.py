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
KEPT = "the input was kept as it was (--in-place replaces it only where they held)"


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
    assert lines[0] == f"{src} (kept, not replaced): guarantees failed: " + (
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
        f"; {src} kept as it was (in_place replaces it only where they held)"
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
