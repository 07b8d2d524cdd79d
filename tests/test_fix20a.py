"""Left-overs of session 42's work: 1. the files a cluster batch's options name (a
network, a reference) are the client's; 2. the cluster's wait for a worker is a setting;
3. a run's noise-level warnings share the report's estimate and look for a step only
where it can warn; 4. the report's input hash is of the bytes read; 5. the activations
that are not odd are named so; 7. the quantisation warning knows decimal places and PCM
counts.  (6, duplicates, changed no behaviour.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

# 1. every file an option names is the client's, on a cluster too -------------------


def _network(path, lam: float, repeat: int) -> None:
    path.write_text(
        f'[[block]]\nactivation = "perona-malik"\nlambda = {lam}\ntau = 0.25\nrepeat = {repeat}\n'
    )


def _reports(directory) -> dict:
    """Each report of ``directory`` without what two runs of one input differ in."""
    out = {}
    for p in sorted(directory.iterdir()):
        report = json.loads(p.read_text())
        for key in ("job", "output", "input", "report"):
            report.pop(key, None)
        if report.get("quality"):
            report["quality"].pop("reference", None)
        out[p.name] = report
    return out


def test_a_cluster_batch_reads_the_network_and_reference_the_client_names(
    runner, tmp_path, monkeypatch
):
    """resnet --network net.toml --reference ref.csv, relative, with workers started in
    a directory holding a net.toml and a ref.csv of their own: the client's are used
    (the same outputs and reports as a local batch), the workers' never read."""
    distributed = pytest.importorskip("distributed")
    from resdenoise.cli import cli

    client_dir, worker_dir = tmp_path / "client", tmp_path / "worker"
    rng = np.random.default_rng(3)
    clean = np.sign(np.sin(np.arange(600) / 40.0))
    for d, (lam, repeat) in ((client_dir, (0.3, 12)), (worker_dir, (2.0, 3))):
        (d / "data").mkdir(parents=True)
        _network(d / "net.toml", lam, repeat)
        np.savetxt(d / "ref.csv", clean * (1 if d == client_dir else -1))
    for name in ("a.csv", "b.csv"):
        np.savetxt(client_dir / "data" / name, clean + 0.2 * rng.standard_normal(clean.size))
    monkeypatch.chdir(worker_dir)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        monkeypatch.chdir(client_dir)
        common = ["resnet", "data/a.csv", "data/b.csv", "--network", "net.toml"]
        common += ["--reference", "ref.csv", "-q"]
        local = runner.invoke(cli, [*common, "-o", "local/", "--report", "lrep/"])
        remote = runner.invoke(
            cli,
            [*common, "-o", "out/", "--report", "rep/"],
            env={"RESDENOISE_SCHEDULER": cluster.scheduler_address},
        )
    assert local.exit_code == remote.exit_code == 0, (local.stderr, remote.stderr)
    for name in ("a.csv", "b.csv"):
        assert (client_dir / "out" / name).read_bytes() == (
            client_dir / "local" / name
        ).read_bytes()
    reports = _reports(client_dir / "rep")
    assert reports == _reports(client_dir / "lrep")
    assert reports["a.csv.json"]["steps"] == 12  # the client's network: 12 blocks
    quality = reports["a.csv.json"]["quality"]  # against the client's reference: a gain
    assert quality["output"]["snr_db"][0] > quality["input"]["snr_db"][0] + 3
    assert not (worker_dir / "out").exists() and not (worker_dir / "rep").exists()


def test_a_worker_that_sees_another_reference_fails_the_file(tmp_path):
    """The reference is checked as each input is (size, time): a worker that sees
    another file there fails the file with one line naming the reference."""
    from resdenoise.batch import _Remote, _remote_file, _seen
    from resdenoise.pipeline import RunOptions, planner

    src, ref = tmp_path / "a.csv", tmp_path / "ref.csv"
    np.savetxt(src, np.arange(50.0) % 7)
    np.savetxt(ref, np.arange(50.0) % 5)
    make_plan = planner("diffuse", "perona-malik", lam=0.2, steps=3)
    seen = _seen(str(ref))
    other = _Remote(make_plan, RunOptions(), None, None, None, str(ref), False, True)
    out = tmp_path / "o.csv"
    for seen_there in ((seen[0] + 1, seen[1]), (seen[0], seen[1] + 10**10)):
        result = _remote_file(
            other._replace(seen_reference=seen_there), str(src), str(out), None, _seen(str(src))
        )
        assert result.exit_code == 1 and not out.exists()
        message = str(result.error)
        assert message.startswith(f"{ref}: the Dask worker on ") and "\n" not in message
    ok = _remote_file(
        other._replace(seen_reference=seen), str(src), str(out), None, _seen(str(src))
    )
    assert ok.exit_code == 0 and out.exists()


# 2. the cluster's wait for a worker: RESDENOISE_NO_WORKER_TIMEOUT ------------------


def test_the_wait_for_a_worker_is_a_setting(tmp_path, monkeypatch):
    """Before: 60 s, a constant; a cluster whose workers an autoscaler starts in minutes
    failed every file, and a test could not wait less."""
    import threading

    distributed = pytest.importorskip("distributed")
    from resdenoise.batch import run_batch
    from resdenoise.pipeline import planner

    monkeypatch.setenv("RESDENOISE_NO_WORKER_TIMEOUT", "1.5")
    inputs = []
    for k in range(2):
        inputs.append(str(tmp_path / f"s{k}.csv"))
        np.savetxt(inputs[-1], np.arange(30.0) % 7)
    got: list = []
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as cluster:
        run = threading.Thread(
            target=lambda: got.append(
                run_batch(
                    planner("diffuse", "perona-malik", lam=0.2, steps=3),
                    inputs,
                    str(tmp_path / "o"),
                    scheduler=cluster.scheduler_address,
                )
            ),
            daemon=True,
        )
        run.start()
        run.join(30)  # the default, 60 s, would still be waiting
        assert not run.is_alive(), "the batch waited longer than RESDENOISE_NO_WORKER_TIMEOUT"
    (results,) = got
    for r in results:
        assert r.exit_code == 1
        assert str(r.error).startswith("not run: no Dask worker at tcp://")
        assert " for 1.5 s (" in str(r.error) and "RESDENOISE_NO_WORKER_TIMEOUT" in str(r.error)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan", "1m"])
def test_a_wait_that_is_no_number_of_seconds_is_refused(runner, tmp_path, value):
    """Before: any value ignored (60 s); now the program refuses it before any work, as
    RESDENOISE_THREADS, and the library as the batch starts."""
    from resdenoise.batch import run_batch
    from resdenoise.cli import cli
    from resdenoise.errors import ParameterError
    from resdenoise.pipeline import planner

    src, other = tmp_path / "a.csv", tmp_path / "b.csv"
    np.savetxt(src, np.arange(40.0) % 5)
    np.savetxt(other, np.arange(40.0) % 3)
    out = tmp_path / "o.csv"
    env = {"RESDENOISE_NO_WORKER_TIMEOUT": value}
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "2", "-o", str(out)], env=env)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (
        f"Error: RESDENOISE_NO_WORKER_TIMEOUT={value!r}: give the seconds a batch waits "
        "while its cluster has no worker, a number above 0 (default 60), or unset it\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESDENOISE_NO_WORKER_TIMEOUT", value)
        with pytest.raises(ParameterError, match="RESDENOISE_NO_WORKER_TIMEOUT="):
            run_batch(
                planner("diffuse", "linear", lam=1.0, steps=1),
                [str(src), str(other)],
                str(tmp_path / "d"),
                scheduler="tcp://127.0.0.1:1",  # refused before it is asked for
            )
    assert not (tmp_path / "d").exists()


# 3. the level's warnings: one noise estimate a run, the step looked for where needed --


def _counting_estimators(monkeypatch) -> list:
    """Every noise estimate of the run (each estimator of resdenoise.noise counted)."""
    import resdenoise.noise as noise

    calls: list = []
    for name, estimator in list(noise.ESTIMATORS.items()):

        def counted(u, _estimator=estimator, _name=name):
            calls.append((_name, u.shape))
            return _estimator(u)

        monkeypatch.setitem(noise.ESTIMATORS, name, counted)
    return calls


@pytest.mark.parametrize(
    "command",
    [["diffuse", "--time", "5"], ["regularise", "--alpha", "3"]],
    ids=["measured-before", "measured-after"],  # (regularise: the report after the run)
)
def test_a_level_given_is_checked_against_the_reports_estimate(
    runner, tmp_path, monkeypatch, command
):
    """Before: --sigma made the level's warning estimate the samples' noise, and the
    report estimate it again (two O(n) estimates); now one, shared, and the warning and
    the report are those of the estimate made on its own."""
    from resdenoise.cli import cli
    from resdenoise.level_notes import level_notes
    from resdenoise.noise import estimate_noise

    x = np.round(2048 + 300 * np.sin(np.arange(6000) / 60)) + np.random.default_rng(1).normal(
        0, 6, 6000
    )
    src = tmp_path / "c.csv"
    np.savetxt(src, x)
    calls = _counting_estimators(monkeypatch)
    report = tmp_path / "r.json"
    args = [command[0], str(src), *command[1:], "--lambda", "auto", "--sigma", "0.005"]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv"), "--report", str(report)])
    assert result.exit_code == 0, result.stderr
    assert len(calls) == 1, calls
    monkeypatch.undo()
    read = estimate_noise(np.loadtxt(src))
    extra_of_plan = {"noise_sigma": [0.005], "noise_estimator": "given"}
    (expected,) = level_notes(str(src), extra_of_plan, np.loadtxt(src))
    assert f"warning: {expected}" in " ".join(result.stderr.split("\n"))
    written = json.loads(report.read_text())
    assert written["warnings"][0] == expected
    assert written["noise_sigma"] == read.tolist()  # the report's: the samples' estimate
    assert f"noise sigma 0.005 (given; estimate {read[0]:.6g})" in result.stderr


def test_a_pre_stage_reports_the_level_of_what_it_gave_the_blocks(runner, tmp_path):
    """An impulse pre-stage changes the signal the report's level is read from: that
    one is still its own estimate, not the file's samples' that the warning shares."""
    from resdenoise.cli import cli
    from resdenoise.noise import estimate_noise

    rng = np.random.default_rng(2)
    x = np.sin(np.arange(4000) / 50) + rng.normal(0, 0.05, 4000)
    x[::97] += 8.0  # impulses
    src = tmp_path / "i.csv"
    np.savetxt(src, x)
    args = ["denoise", str(src), "--sigma", "0.05", "-o", str(tmp_path / "o.csv"), "-q"]
    result = runner.invoke(cli, [*args, "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["parameters"]["impulses_detected"] == [42]
    file_level = estimate_noise(np.loadtxt(src))[0]
    assert abs(report["noise_sigma"][0] - file_level) > 1e-3  # 0.0518, the file's 0.0542


def _reference_step(x: np.ndarray) -> float | None:
    """The step as the samples' shortest decimals say it (every sample read, by its
    repr: the test's own implementation): the greatest common divisor of their
    differences on the grid of the most decimal places among them, at most 6."""
    import math
    from decimal import Decimal

    decimals = [Decimal(repr(float(v))).normalize() for v in x]
    k = max(max(0, -d.as_tuple().exponent) for d in decimals)
    if k > 6 or np.max(np.abs(x)) * 10**k >= 2**52:
        return None
    n = [int(d.scaleb(k)) for d in decimals]
    step = math.gcd(*(abs(v - n[0]) for v in n))
    return step / 10**k if step else None


def test_the_step_is_looked_for_only_where_it_can_warn():
    """_whole_step(x, read) gives the note quantised_note gives with the step of every
    sample (whole numbers, a decimal place), while it stops at the first PROBE samples
    where they show it cannot warn."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from resdenoise.level_notes import PROBE, _whole_step, quantised_note

    @settings(max_examples=300, deadline=None)
    @given(
        n=st.sampled_from([2, 7, PROBE - 1, PROBE, PROBE + 1, 3 * PROBE]),
        step=st.sampled_from([1, 2, 4, 16]),
        spread=st.integers(0, 40),
        fraction=st.sampled_from([0.5, 0.25, 0.01, 0.001, 1e-7, 0.1 + 0.2]),
        fraction_at=st.one_of(st.none(), st.integers(0, 3 * PROBE)),
        constant_head=st.booleans(),
        read=st.floats(0.0, 6.0),
        seed=st.integers(0, 2**16),
    )
    def check(n, step, spread, fraction, fraction_at, constant_head, read, seed):
        rng = np.random.default_rng(seed)
        x = 1000.0 + step * rng.integers(-spread, spread + 1, n)
        if constant_head:
            x[: min(n, PROBE)] = x[0]
        if fraction_at is not None and fraction_at < n:
            x[fraction_at] += fraction
        reference = _reference_step(x)
        assert quantised_note("x", [read], [_whole_step(x, read)]) == quantised_note(
            "x", [read], [reference]
        )
        assert _whole_step(x) == reference

    check()


# 4. the report's sha256: of the bytes the run read --------------------------------


@pytest.mark.parametrize("change", ["replaced", "rewritten", "removed", "kept"])
def test_the_inputs_hash_is_of_the_file_the_run_read(tmp_path, monkeypatch, change):
    """Before: job.input_file.sha256 re-read the input by name when the report was made:
    a file replaced since the run read it got the other file's hash (and its size and
    time).  Now the hash is of the file read, or null with ``changed`` true."""
    import hashlib
    import os
    import time

    import resdenoise.report as report_module
    from resdenoise.pipeline import planner, run_file

    src = tmp_path / "a.csv"
    np.savetxt(src, np.sin(np.arange(300) / 9.0))
    read = src.read_bytes()
    as_read = os.stat(src)
    other = tmp_path / "b.csv"
    np.savetxt(other, np.arange(300.0))
    original = report_module.job_entry

    def between_read_and_hash(*args, **kwargs):  # the hook: after the read, before the hash
        time.sleep(0.02)  # (a file system's clock tick)
        if change == "replaced":
            os.replace(other, src)
        elif change == "rewritten":  # in place, the same size
            with open(src, "r+b") as fh:
                fh.write(b"9" if read[:1] != b"9" else b"8")
        elif change == "removed":
            src.unlink()
        return original(*args, **kwargs)

    monkeypatch.setattr(report_module, "job_entry", between_read_and_hash)
    report = run_file(
        planner("diffuse", "linear", lam=1.0, steps=2), str(src), str(tmp_path / "o.csv")
    )
    entry = report["job"]["input_file"]
    assert entry["size"] == len(read) and entry["mtime"] == as_read.st_mtime_ns / 1e9
    if change == "kept":
        assert entry == {
            "size": len(read),
            "mtime": as_read.st_mtime_ns / 1e9,
            "sha256": hashlib.sha256(read).hexdigest(),
        }
    else:
        assert entry["sha256"] is None and entry["changed"] is True


# 5. the activations that are not odd are named so ---------------------------------


def test_the_activations_that_are_not_odd_are_named_so():
    """Before: NONSTABLE_ACTIVATIONS, though relu, gelu, silu and leaky relu are stable
    (0 <= g <= 1); what sets them apart is that they are not odd."""
    import resdenoise.nonlinearities as nl

    assert set(nl.NON_ODD_ACTIVATIONS) == {"relu", "leaky-relu", "gelu", "silu", "sigmoid"}
    r = np.linspace(-3, 3, 13)
    for key in nl.NON_ODD_ACTIVATIONS:
        phi = nl.get_nonlinearity(key, "activation", lam=1.0).phi
        assert not np.allclose(phi(-r), -phi(r)), key  # not odd, every one
    with pytest.warns(DeprecationWarning, match="NON_ODD_ACTIVATIONS"):
        assert nl.NONSTABLE_ACTIVATIONS is nl.NON_ODD_ACTIVATIONS
    assert "NON_ODD_ACTIVATIONS" in nl.__all__ and "NONSTABLE_ACTIVATIONS" not in nl.__all__


# 7. the quantisation warning: decimal places and PCM counts too -------------------


@pytest.mark.parametrize(
    ("values", "said"),
    [
        (  # a clean 12-bit log of a slow sine, in volts: 3 decimals
            [f"{v / 1000:.3f}" for v in np.round(2048 + 400 * np.sin(np.arange(20000) / 796))],
            "all whole multiples of 0.001 (step/sqrt(12) = 0.000289)",
        ),
        (  # a temperature sensor's sixteenths of a degree (DS18B20), written with 4 decimals
            [f"{v:.4f}" for v in np.round(16 * (21 + 3 * np.sin(np.arange(20000) / 200))) / 16],
            "all whole multiples of 0.0625 (step/sqrt(12) = 0.018)",
        ),
    ],
    ids=["volts", "sixteenths"],
)
def test_a_level_read_at_the_rounding_of_a_decimal_place_is_warned_of(
    runner, tmp_path, values, said
):
    """Before: only whole numbers had a step; a sensor's log of 0.001 V (its 12-bit
    counts' rounding read as noise, 0.267 mV) was filtered without a word."""
    from resdenoise.cli import cli

    src = tmp_path / "d.csv"
    src.write_text("v\n" + "\n".join(values) + "\n")
    report = tmp_path / "r.json"
    args = ["diffuse", str(src), "--time", "5", "--report", str(report)]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stderr.split())
    assert f"{src}: the noise level read (" in text and said in text, text
    assert "their quantisation (the decimal places they were written with)" in text
    assert any(said in w for w in json.loads(report.read_text())["warnings"])


@pytest.mark.parametrize("chunk", ["0", "2000"], ids=["whole", "streamed"])
@pytest.mark.parametrize(("subtype", "bits"), [("PCM_16", 16), ("PCM_24", 24)])
def test_a_level_read_at_the_rounding_of_pcm_counts_is_warned_of(
    runner, tmp_path, chunk, subtype, bits
):
    """Before: a sound file's samples (read as -1..1) were never whole numbers: a slow
    sine's rounding to its counts, read as noise, was filtered without a word."""
    import soundfile

    from resdenoise.cli import cli

    t = np.arange(20000)
    src = tmp_path / "s.wav"
    soundfile.write(
        str(src), np.round(400 * np.sin(t / 796)) / 2.0 ** (bits - 1), 8000, subtype=subtype
    )
    args = ["diffuse", str(src), "--time", "5", "--chunk-size", chunk]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stderr.split())
    lsb = 2.0 ** (1 - bits)
    said = f"all whole multiples of one count of its {bits}-bit samples, {lsb:.3g} (step/sqrt(12)"
    assert said in text and "their quantisation (integer counts)" in text, text
    noisy = tmp_path / "n.wav"  # noise of 100 counts: not warned of
    x = (np.round(400 * np.sin(t / 796)) + np.random.default_rng(0).normal(0, 100, t.size)) * lsb
    soundfile.write(str(noisy), x, 8000, subtype=subtype)
    result = runner.invoke(
        cli, ["diffuse", str(noisy), "--time", "5", "-o", str(tmp_path / "m.wav")]
    )
    assert result.exit_code == 0 and "rounding noise" not in result.stderr, result.stderr


def test_the_step_of_pcm_counts_and_decimals():
    from resdenoise.level_notes import _whole_step

    counts = np.array([0, 16, -32, 48, 160], dtype=float)
    assert _whole_step(counts / 2.0**15, bits=16) == 16 / 2.0**15  # 12 bits in a 16-bit file
    assert _whole_step(counts / 2.0**15 + 2.0**-20, bits=16) is None  # off its counts
    assert _whole_step(np.array([21.5, 21.25, 22.0])) == 0.25
    assert _whole_step(np.array([0.1 + 0.2, 0.5])) is None  # not the float nearest a decimal
    assert _whole_step(np.array([1.0e-7, 3.0e-7])) is None  # beyond 6 decimal places
    # float32 samples far from 0: their own spacing is no decimal step
    x32 = (1000 + np.random.default_rng(1).standard_normal(5000)).astype(np.float32)
    assert _whole_step(x32) is None
    assert _whole_step(np.array([1000.5, 1001.25], dtype=np.float32)) == 0.75
