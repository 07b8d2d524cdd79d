"""An auditor's defects of 2026-12-06 (automatic modes on noise-free signals, the batch's
account of what it wrote, the summary's labels, compressed audio to WAV): each test
below failed on main before its fix, as its docstring says.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from resdenoise.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_signals"

#: Signals without noise at the finest scale (a noise estimate of 0).
CLEAN = {
    "constant": np.full(200, 2.5),
    "ramp": np.arange(200, dtype=float),
    "spike": np.where(np.arange(200) == 100, 5.0, 0.0),
}


def _read_csv(path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


@pytest.mark.parametrize(
    "args",
    [
        ["denoise"],
        ["diffuse", "--diffusivity", "auto"],
        ["diffuse", "--scales", "auto"],
        ["diffuse", "--scales", "3"],
    ],
    ids=["denoise", "diffusivity-auto", "scales-auto", "scales-3"],
)
def test_automatic_modes_on_the_clean_sample_give_the_input(runner, tmp_path, args):
    """``resdenoise denoise sample_signals/steps_clean.csv`` (and ``diffuse
    --diffusivity auto``, ``--scales auto|K``) failed: "lambda must be a finite number
    > 0, got 0.0", exit 2, naming no file (the scales' base lambda was the universal
    threshold of a noise level of 0, not its fallback to 1 % of the range)."""
    src = SAMPLES / "steps_clean.csv"
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [*args, str(src), "-o", str(out)])
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert np.array_equal(_read_csv(out), _read_csv(src))


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_choose_denoiser_on_noise_free_signals_does_nothing(name):
    """``choose_denoiser`` raised ParameterError (lambda 0.0) on a constant, a ramp and a
    lone spike: the noise estimate 0 gave the scales' search a base lambda of 0."""
    from resdenoise.automatic import choose_denoiser

    f = CLEAN[name]
    plan, extra = choose_denoiser(f)
    assert np.array_equal(plan.run(f.copy()).ravel(), f)


def test_diffusion_scales_base_lambda_falls_back_to_a_share_of_the_range():
    """With a noise level of 0 the scales' step size is that of the one fallback,
    ``auto_lambda`` (1 % of the range), not an error for lambda 0; nothing is chosen."""
    from resdenoise import stability
    from resdenoise.filters import auto_lambda
    from resdenoise.multiscale import choose_diffusion_scales
    from resdenoise.nonlinearities import get_nonlinearity

    f = CLEAN["ramp"][:, None]
    plan, choice = choose_diffusion_scales(f, "perona-malik", 2, sigma=0.0)
    assert plan.groups == () and choice.thetas == (None, None)
    lam, extra = auto_lambda(f, 1.0, 0.0)
    assert lam == 0.01 * 199 and extra["lambda_rule"].startswith("1% of range")
    assert plan.tau == stability.default_tau(get_nonlinearity("perona-malik", "diffusivity", lam))


NETWORK = 'stop = "sure"\n[[block]]\nactivation = "tanh"\nrepeat = 4\n'


def test_a_network_stopped_at_zero_blocks_gives_the_input_and_says_so(runner, tmp_path):
    """A network file with ``stop = "sure"`` on the clean sample (SURE picks 0 blocks)
    was "internal error: ValueError: min() arg is an empty sequence", exit 1: the verdict
    of the cut network took the min over no groups."""
    src = SAMPLES / "steps_clean.csv"
    net = tmp_path / "n.toml"
    net.write_text(NETWORK)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["resnet", str(src), "--network", str(net), "-o", str(out)])
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert np.array_equal(_read_csv(out), _read_csv(src))
    # kept by the automatic searches' rule for a clean signal (fix22b's A22b-10), as said
    # (a level of exactly 0: its quiet windows are exact repeats, fix23b's A23b-4)
    assert "the estimated noise level is 0: its quiet windows" in result.stderr, result.stderr
    assert "; the output is the input" in result.stderr, result.stderr
    args = ["resnet", str(src), "--network", str(net), "-o", str(out), "--json"]
    report = runner.invoke(cli, args)
    assert report.exit_code == 0, report.stderr
    import json

    d = json.loads(report.stdout)
    assert d["steps"] == 0 and d["parameters"]["blocks_chosen"] == 0
    assert [b["repeat"] for b in d["stability"]["blocks"]] == [0]
    assert d["stability"]["linf_stable"] is True
    assert any("the output is the input" in w for w in d["warnings"])


def test_learn_per_file_on_a_clean_signal_gives_the_input(runner, tmp_path):
    """``learn --per-file`` on the clean sample (its stopped network chose 0 blocks)
    was "internal error: ValueError: min() arg is an empty sequence", exit 1."""
    src = SAMPLES / "steps_clean.csv"
    out = tmp_path / "out.csv"
    result = runner.invoke(
        cli, ["learn", "--per-file", str(src), "--iterations", "3", "-o", str(out)]
    )
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert np.array_equal(_read_csv(out), _read_csv(src))
    # kept by the automatic searches' rule for a clean signal (fix22b's A22b-10), as said
    # (a level of exactly 0: its quiet windows are exact repeats, fix23b's A23b-4)
    assert "the estimated noise level is 0: its quiet windows" in result.stderr, result.stderr
    assert "; the output is the input" in result.stderr, result.stderr


def _two_inputs(tmp_path) -> list[str]:
    files = []
    for k in range(2):
        p = tmp_path / f"in{k}.csv"
        p.write_text("v\n1.0\n2.0\n1.5\n0.5\n3.0\n")
        files.append(str(p))
    return files


def _interrupted_batch(inputs, out, jobs: int):
    """``(Interrupted, [indices reported])`` of a batch that a signal ends."""
    from resdenoise.batch import run_batch
    from resdenoise.errors import Interrupted
    from resdenoise.io.signals import handle_signals
    from resdenoise.pipeline import planner

    done = []
    with pytest.raises(Interrupted) as got:
        with handle_signals():
            run_batch(planner("diffuse", "linear", lam=1.0, steps=1), inputs, str(out),
                      jobs=jobs, on_done=lambda i, r: done.append(i))  # fmt: skip
    return got.value, done


def test_a_signal_in_the_parents_file_still_reports_the_workers_finished_file(
    tmp_path, monkeypatch, worker_takes_first
):
    """--jobs 2: the worker's file (in0) is in place when SIGTERM comes during the
    parent's own (in1): in0 was not reported (its result unread, or read and held until
    the parent's file ended) and the run said 'no output written'."""
    import signal
    import time

    from resdenoise.io.writers import SignalWriter

    inputs, out = _two_inputs(tmp_path), tmp_path / "out"
    real = SignalWriter.close

    def close(self) -> None:
        if os.getpid() != worker_takes_first:  # the worker: in0, written
            return real(self)
        deadline = time.monotonic() + 60
        while not (out / "in0.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(os.getpid(), signal.SIGTERM)  # the parent, in1: before its renames

    monkeypatch.setattr(SignalWriter, "close", close)
    exc, done = _interrupted_batch(inputs, out, jobs=2)
    assert done == [0]
    assert exc.written == (str(out / "in0.csv"),)
    assert sorted(p.name for p in out.iterdir()) == ["in0.csv"]


def test_a_worker_stopped_after_its_renames_still_sends_its_result(
    tmp_path, monkeypatch, worker_takes_first
):
    """--jobs 2: a signal while the worker is between renaming in0's output into place
    and sending its result: the parent stopped it, the worker ended at once, and in0,
    written, was never reported."""
    import signal
    import time

    from resdenoise import batch_pool

    inputs, out = _two_inputs(tmp_path), tmp_path / "out"
    real = batch_pool._message

    def message(payload):  # in the worker, its result built: the parent gets SIGTERM
        if os.getpid() != worker_takes_first and payload[0] == "done":
            os.kill(worker_takes_first, signal.SIGTERM)
            time.sleep(0.5)  # its stop comes meanwhile
        return real(payload)

    monkeypatch.setattr(batch_pool, "_message", message)
    exc, done = _interrupted_batch(inputs, out, jobs=2)
    assert 0 in done
    assert str(out / "in0.csv") in exc.written
    assert sorted(exc.written) == sorted(str(out / f"in{i}.csv") for i in done)


def _signal_after_rename(monkeypatch, which: int) -> None:
    """SIGTERM to this process while the ``which``-th output (from 1) is renamed into
    place (deferred: raised once the renames are done)."""
    import signal

    from resdenoise.io import atomic

    real, count = atomic._TempOutput.rename, [0]

    def rename(self) -> None:
        real(self)
        count[0] += 1
        if count[0] == which:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(atomic._TempOutput, "rename", rename)


@contextlib.contextmanager
def _callers_handler(signum: int):
    """Within: this process's handler of ``signum`` records it (a library caller's own,
    which the command line's in-process run hands the signal to once it has cleaned up)."""
    got: list = []
    before = signal.signal(signum, lambda s, _frame: got.append(s))
    try:
        yield got
    finally:
        signal.signal(signum, before)


def test_a_single_run_interrupted_after_its_rename_says_it_wrote(runner, tmp_path, monkeypatch):
    """SIGTERM during the renames of a one-file run: the output was in place, the last
    line said 'no output written'."""
    (src,) = _two_inputs(tmp_path)[:1]
    out = tmp_path / "out.csv"
    _signal_after_rename(monkeypatch, 1)
    with _callers_handler(signal.SIGTERM) as got:  # (SIG_DFL would end this process)
        result = runner.invoke(cli, ["diffuse", src, "--steps", "1", "-o", str(out)])
    assert result.exit_code == 143 and got == [signal.SIGTERM], result.stderr
    assert out.exists()
    assert result.stderr.splitlines()[-1] == (
        f"Error: interrupted by SIGTERM; {out} written, nothing else"
    )


def test_a_batch_of_one_job_interrupted_after_a_rename_reports_the_file(
    runner, tmp_path, monkeypatch
):
    """--jobs 1: SIGTERM during the renames of the second file: its output was in place
    but not reported, and the last line said 'no output written'."""
    inputs = _two_inputs(tmp_path)
    out = tmp_path / "out"
    _signal_after_rename(monkeypatch, 2)
    with _callers_handler(signal.SIGTERM) as got:  # (SIG_DFL would end this process)
        result = runner.invoke(
            cli, ["diffuse", *inputs, "--steps", "1", "-o", f"{out}/", "-j", "1"]
        )
    assert result.exit_code == 143 and got == [signal.SIGTERM], result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(" -> ")[0] for line in lines[:-1]] == inputs, lines
    assert lines[-1] == (
        f"Error: interrupted by SIGTERM; {out / 'in0.csv'}, {out / 'in1.csv'} written, nothing else"
    )


def num_of(x) -> str:
    """A number as the summary prints it."""
    from resdenoise.cli.render import num

    return num(x)


def _rows(err: str) -> list[str]:
    """The lines of stderr, a table's borders gone and runs of spaces as one."""
    return [" ".join(line.replace("│", " ").split()) for line in err.splitlines()]


def _summary(runner, args) -> tuple[str, dict]:
    """``(stderr, report)`` of a run on the sample ``steps.csv`` with its report on stdout."""
    import json

    src = str(SAMPLES / "steps.csv")
    args = [*args[:1], src, *args[1:], "-o", os.devnull, "--report", "-"]
    result = runner.invoke(cli, args, env={"COLUMNS": "200"})  # no row of a table wrapped
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result.stderr, json.loads(result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ["diffuse", "--time", "auto", "--lambda", "0.3"],
        ["shrink", "--iterations", "auto", "--threshold", "0.3"],
        ["resnet", "--blocks", "auto", "--lambda", "0.3"],
    ],
    ids=["diffuse", "shrink", "resnet"],
)
def test_a_given_lambda_is_not_labelled_auto(runner, args):
    """``diffuse --time auto --lambda 0.3`` printed 'lambda = 0.3 (auto)' while the
    report's lambda_rule says "given" (any lambda_rule was taken for automatic)."""
    err, report = _summary(runner, args)
    assert report["parameters"]["lambda_rule"] == "given"
    lam = num_of(report["parameters"]["lambda"])
    shown = f"threshold = 0.3 (lambda = {lam})," if args[0] == "shrink" else f"lambda = {lam},"
    assert shown in err, err  # shrink: the threshold given, its lambda (audit14b B2)
    assert "(auto" not in err, err


def test_an_automatic_lambda_is_still_labelled_auto(runner):
    err, report = _summary(runner, ["diffuse", "--steps", "3"])
    assert report["parameters"]["lambda_rule"] == "universal threshold"
    assert f"lambda = {num_of(report['parameters']['lambda'])} (auto)" in err, err


def test_a_given_sigma_is_the_level_shown(runner):
    """``diffuse --sigma 0.5 --steps 3 -v`` showed only the estimate ('noise sigma
    0.098332') in the summary and the table, though the run used 0.5."""
    err, report = _summary(runner, ["diffuse", "--sigma", "0.5", "--steps", "3", "-v"])
    assert report["parameters"]["noise_sigma"] == [0.5]
    assert report["parameters"]["noise_estimator"] == "given"
    estimate = num_of(report["noise_sigma"][0])
    assert f"noise sigma 0.5 (given; estimate {estimate})" in err, err
    rows = _rows(err)
    assert "noise sigma (given) 0.5" in rows, rows
    estimator = report["noise_estimator"]
    assert f"noise sigma estimate ({estimator}) {estimate}" in rows, rows


@pytest.mark.parametrize(
    "args",
    [
        ["diffuse", "--sigma", "0.5", "--lambda", "0.3", "--steps", "3"],
        ["shrink", "--sigma", "0.5", "--threshold", "0.3"],
    ],
    ids=["diffuse", "shrink"],
)
def test_a_sigma_that_nothing_uses_is_said_unused(runner, args):
    """``--sigma`` with lambda given and the blocks fixed changed nothing, silently (the
    summary showed the estimate): a warning says so, on stderr and in the report."""
    from resdenoise.plan_notes import sigma_unused

    err, report = _summary(runner, args)
    unused = sigma_unused(args[0])
    assert f"warning: {unused}" in err, err
    assert unused in report["warnings"]
    # shrink was given a threshold, not lambda (audit14b B2)
    given = "threshold" if args[0] == "shrink" else "lambda"
    assert f"not used: {given} is given" in unused


def test_a_sigma_that_sets_lambda_is_not_said_unused(runner):
    from resdenoise.plan_notes import sigma_unused

    err, report = _summary(runner, ["diffuse", "--sigma", "0.5", "--steps", "3"])
    unused = sigma_unused("diffuse")
    assert unused not in err and unused not in report.get("warnings", [])


def test_an_estimated_sigma_is_shown_as_before(runner):
    err, report = _summary(runner, ["diffuse", "--steps", "3", "-v"])
    assert f"noise sigma {num_of(report['noise_sigma'][0])}\n" in err, err
    rows = _rows(err)
    assert f"noise sigma ({report['noise_estimator']}) {num_of(report['noise_sigma'][0])}" in rows
    assert not any("given" in row for row in rows)


def _can_write_mp3() -> bool:
    import soundfile

    return "MP3" in soundfile.available_formats() and soundfile.check_format(
        "MP3", "MPEG_LAYER_III"
    )


@pytest.mark.skipif(not _can_write_mp3(), reason="this libsndfile cannot write MP3")
def test_mp3_to_wav_without_a_subtype(runner, tmp_path):
    """``diffuse x.mp3 -o x.wav`` failed 'cannot encode as WAV/MPEG_LAYER_III', exit 1:
    the input's MP3 codec was kept (libsndfile's format check accepts it in WAV). It
    gets WAV's FLOAT now (audit16a A10: the decoded samples are floats; was PCM_16, WAV's
    default), as an OGG input does; MP3 to MP3 keeps it."""
    import soundfile

    src = tmp_path / "x.mp3"
    soundfile.write(src, 0.5 * np.sin(np.arange(8000) / 10.0), 8000)
    assert soundfile.info(str(src)).subtype == "MPEG_LAYER_III"
    for name, subtype in (("y.wav", "FLOAT"), ("y.mp3", "MPEG_LAYER_III")):
        out = tmp_path / name
        result = runner.invoke(cli, ["diffuse", str(src), "--steps", "2", "-o", str(out)])
        assert result.exit_code == 0, (result.exit_code, result.stderr)
        assert soundfile.info(str(out)).subtype == subtype


def _mpeg(path, layer: int) -> str:
    """An MPEG-1 layer ``layer`` (1 or 2) file of silence, mono at 48 kHz, 128 kbit/s: 60
    frames of a header and all bit allocations 0 (libsndfile decodes these layers and
    cannot encode them)."""
    header, size = {1: (b"\xff\xff\x44\xc0", 128), 2: (b"\xff\xfd\x84\xc0", 384)}[layer]
    Path(path).write_bytes((header + bytes(size - 4)) * 60)
    return str(path)


@pytest.mark.skipif(not _can_write_mp3(), reason="this libsndfile cannot write MP3")
@pytest.mark.parametrize("layer", [1, 2])
def test_an_mpeg_layer_i_or_ii_input_is_written_back_as_layer_iii(runner, tmp_path, layer):
    """MP3 to MP3 kept the input's codec, MPEG layer I or II, which libsndfile's format
    check accepts and it cannot encode: the run failed at the end, after the work ('cannot
    encode as MP3/MPEG_LAYER_II', exit 1). It writes MPEG layer III now; a --subtype of
    layer I or II is refused before any work, in one line saying what it can write."""
    import soundfile

    src = _mpeg(tmp_path / "x.mp3", layer)
    assert soundfile.info(src).subtype == f"MPEG_LAYER_{'I' * layer}"
    out = tmp_path / "y.mp3"
    args = ["diffuse", src, "--diffusivity", "perona-malik", "--lambda", "0.1", "--steps", "2"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert soundfile.info(str(out)).subtype == "MPEG_LAYER_III"
    refused = tmp_path / "z.mp3"
    given = soundfile.info(src).subtype
    result = runner.invoke(cli, [*args, "-o", str(refused), "--subtype", given])
    assert result.exit_code == 2 and not refused.exists()
    assert result.stderr == (
        f"Error: {refused}: MP3 subtype {given!r} can be read but not written (this "
        "libsndfile has no encoder for it); it can write MPEG_LAYER_III\n"
    )


@pytest.mark.parametrize(
    ("source_format", "subtype", "target", "expected"),
    [
        ("MP3", "MPEG_LAYER_III", "WAV", "FLOAT"),  # was MPEG_LAYER_III, then PCM_16
        ("MP3", "MPEG_LAYER_III", "MP3", "MPEG_LAYER_III"),
        ("MP3", "MPEG_LAYER_II", "MP3", "MPEG_LAYER_III"),  # was MPEG_LAYER_II: no encoder
        ("MP3", "MPEG_LAYER_I", "MP3", "MPEG_LAYER_III"),
        ("OGG", "VORBIS", "WAV", "FLOAT"),  # decoded floats (audit16a A10; was PCM_16)
        ("OGG", "VORBIS", "OGG", "VORBIS"),
        ("WAV", "PCM_24", "FLAC", "PCM_24"),  # a plain subtype is kept
        ("CSV", None, "WAV", "FLOAT"),
    ],
)
def test_the_output_subtype_of_a_compressed_input(source_format, subtype, target, expected):
    """The choice of :func:`_audio_target` without --subtype: a compressed format's
    codec only in its own format."""
    from resdenoise.io.audio_choice import _audio_target
    from resdenoise.io.signal import Signal

    sig = Signal(np.zeros(4), format=source_format, samplerate=8000, subtype=subtype)
    assert _audio_target(sig, target, None, "out") == (target, expected)
