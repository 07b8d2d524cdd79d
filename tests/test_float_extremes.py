"""Samples at the ends of the float range (an audit of main at e8f4341).

* the automatic modes ran on samples from about 1e155 on into an IndexError (the
  spectral floor given sigma^2 = inf), and their choices depended on the signal's scale
  through overflow and underflow: a registry family's search now runs on the samples
  divided by a power of two outside 2^-200..2^200 (exact), the noise level too; the
  choice for u * 2^k is the one for u, bit for bit;
* ``--time auto --lambda L`` with a flux that is not finite said "nothing done" and
  then refused: the refusal alone;
* a sample at +-float max made the tolerances inf (np.spacing), so the sign count and
  the max-min and TV checks stopped working;
* the Python API ran a plan the command line refuses (the flux probe), returning inf
  or NaN;
* FLOAT output of an allowed unstable run held +-inf: clipped to +-float32 max, and
  the report's ranges are those written;
* bumps coefficients whose sum overflows: an OverflowError from fsum.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile

from resdenoise.cli import cli

STEPS = np.loadtxt(__file__.rsplit("/tests/", 1)[0] + "/sample_signals/steps.csv")
F64_MAX = float(np.finfo(np.float64).max)
F32_MAX = float(np.finfo(np.float32).max)


def _csv(path, values) -> str:
    path.write_text("".join(f"{float(v)!r}\n" for v in values))
    return str(path)


def _read_csv(path) -> np.ndarray:
    return np.array([float(v) for v in path.read_text().split()])


AUTOMATIC = {
    "diffuse --time auto": ["diffuse", "--time", "auto"],
    "shrink --iterations auto": ["shrink", "--iterations", "auto"],
    "regularise --alpha auto": ["regularise", "--alpha", "auto"],
    "resnet --blocks auto": ["resnet", "--blocks", "auto"],
    "denoise": ["denoise"],
    "diffuse --scales auto": ["diffuse", "--scales", "auto"],
}


@pytest.mark.parametrize("mode", sorted(AUTOMATIC))
@pytest.mark.parametrize("amplitude", [1e160, 1e-170])
def test_every_automatic_mode_runs_on_huge_and_tiny_samples(runner, tmp_path, mode, amplitude):
    """main: 'internal error: IndexError' (exit 1) from about 1e155 on.  Every search,
    the searches of several scales (denoise, --scales) too, runs on the samples divided
    by a power of two (tests/test_scaled_scales.py: the same choice, bit for bit)."""
    src = _csv(tmp_path / "in.csv", STEPS * amplitude)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, [AUTOMATIC[mode][0], src, *AUTOMATIC[mode][1:], "-o", str(out)])
    assert "internal error" not in result.stderr
    assert result.exit_code == 0, (result.stderr, result.exception)
    written = _read_csv(out)
    assert written.size == STEPS.size and np.all(np.isfinite(written))


SEARCHES = {
    "diffuse": ("diffuse", "perona-malik", {"time": "auto"}),
    "shrink": ("shrink", "soft", {"iterations": "auto"}),
    "regularise": ("regularise", "charbonnier", {"alpha": "auto"}),
    "resnet": ("resnet", "tanh", {"blocks": "auto"}),
    "diffuse lambda given": ("diffuse", "perona-malik", {"time": "auto", "lam": 0.3}),
    "diffuse noise2self": ("diffuse", "perona-malik", {"time": "auto", "rule": "noise2self"}),
}


@pytest.mark.parametrize("case", sorted(SEARCHES))
@pytest.mark.parametrize("k", [500, -500])
def test_a_search_chooses_for_u_times_a_power_of_two_as_for_u(case, k):
    """steps.csv x 2^500 and x 2^-500: the blocks, tau, lambda (times 2^k) and the
    output (times 2^k) of steps.csv itself, bit for bit.  main: 0 blocks ('not more than
    2 standard errors (inf)') from about 1e78 on; a level off by 1 % at 1e-160."""
    from resdenoise.filters import run_plan
    from resdenoise.plans import planner

    command, family, settings = SEARCHES[case]
    plan, extra = planner(command, family, **settings)(STEPS)
    assert plan.steps > 0
    scaled = dict(settings)
    if "lam" in scaled:
        scaled["lam"] = math.ldexp(scaled["lam"], k)
    u = np.ldexp(STEPS, k)
    got, got_extra = planner(command, family, **scaled)(u)
    assert (got.steps, got.tau) == (plan.steps, plan.tau)
    assert got.nl.lam == math.ldexp(plan.nl.lam, k)
    assert got.parameters["lambda"] == got.nl.lam
    assert got_extra["noise_sigma"] == [math.ldexp(s, k) for s in extra["noise_sigma"]]
    lams = [math.ldexp(c["lambda"], k) for c in extra["candidates"]]
    assert [c["lambda"] for c in got_extra["candidates"]] == lams
    assert [c["steps"] for c in got_extra["candidates"]] == [
        c["steps"] for c in extra["candidates"]
    ]
    assert run_plan(got, u).tobytes() == np.ldexp(run_plan(plan, STEPS), k).tobytes()


def test_the_search_reports_its_numbers_in_the_signals_units():
    """At 2^300 (squares still finite): SURE's numbers times 4^300, lambda times 2^300."""
    from resdenoise.plans import planner

    plan, extra = planner("diffuse", "perona-malik", time="auto")(STEPS)
    _, got = planner("diffuse", "perona-malik", time="auto")(np.ldexp(STEPS, 300))
    for key in ("stopping_criterion", "expected_gain_per_sample", "gain_standard_error"):
        assert got[key] == math.ldexp(extra[key], 600), key
    assert [c["criterion"] for c in got["candidates"]] == [
        math.ldexp(c["criterion"], 600) for c in extra["candidates"]
    ]


@pytest.mark.parametrize("k", [-520, -600, 520, -900])
def test_the_search_level_scales_with_the_samples(k, rng):
    """search_noise(u * 2^k) is search_noise(u) times 2^k (white part 4^k), bit for bit;
    main: 0 or off for tiny samples, inf for huge ones."""
    from resdenoise.noise import estimate_noise, search_noise

    x = np.sin(np.arange(3000) / 40.0) + 0.05 * rng.standard_normal(3000)
    base, got = search_noise(x), search_noise(np.ldexp(x, k))
    assert got.sigma.tobytes() == np.ldexp(base.sigma, k).tobytes()
    assert got.low.tobytes() == np.ldexp(base.low, k).tobytes()
    assert got.white.tobytes() == np.ldexp(base.white, 2 * k).tobytes()
    assert got.per_channel() == base.per_channel()
    assert estimate_noise(np.ldexp(x, k)).tobytes() == np.ldexp(estimate_noise(x), k).tobytes()


@pytest.mark.parametrize("chunk", ["0", "100"])
def test_the_reported_level_of_tiny_samples(runner, tmp_path, chunk):
    """``diffuse --steps 3`` on steps.csv x 2^-565: the level of steps.csv times 2^-565,
    whole and streamed (main: 0, and lambda 1 % of the range)."""
    reports = []
    for k in (0, -565):
        src = _csv(tmp_path / f"in{k}.csv", np.ldexp(STEPS, k))
        rep = tmp_path / f"rep{k}.json"
        args = ["diffuse", src, "--steps", "3", "--chunk-size", chunk, "-q"]
        result = runner.invoke(cli, [*args, "-o", str(tmp_path / "o.csv"), "--report", str(rep)])
        assert result.exit_code == 0, (result.stderr, result.exception)
        reports.append(json.loads(rep.read_text()))
    base, tiny = reports
    assert tiny["noise_sigma"] == [math.ldexp(s, -565) for s in base["noise_sigma"]]
    assert tiny["parameters"]["lambda"] == math.ldexp(base["parameters"]["lambda"], -565)


def test_a_refused_flux_is_one_line(runner, tmp_path):
    """``--time auto --lambda 1`` on samples at +-float max: the refusal alone (main: a
    'nothing done' warning first).  The search runs on the samples divided by 2^1024,
    where lambda 2^-1024 is no normal number: refused as that, before the flux's
    refusal ('refused: the flux of perona-malik (lambda 1) is not finite')."""
    src = _csv(tmp_path / "huge.csv", [F64_MAX, -F64_MAX] * 3)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["diffuse", src, "--time", "auto", "--lambda", "1", "-o", str(out)])
    assert result.exit_code == 1, (result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {src}: the --lambda given (1) "), lines
    assert not out.exists()


def test_checks_work_with_samples_at_the_float_maximum(runner, tmp_path):
    """main: tolerance.range null (inf), sign_changes_in 0 instead of 3."""
    src = _csv(tmp_path / "m.csv", [F64_MAX, -F64_MAX, F64_MAX, -F64_MAX])
    out = str(tmp_path / "out.csv")
    result = runner.invoke(cli, ["shrink", src, "--threshold", "1", "-o", out, "--json", "-q"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["tolerance"]["range"] is not None and report["tolerance"]["ulp"] == 2.0**971
    assert report["channels"][0]["sign_changes_in"] == 3


def test_tolerances_at_the_maximum_of_each_dtype():
    from resdenoise.stability import tolerances

    assert tolerances(np.array([F64_MAX, -F64_MAX]), 1)["ulp"] == 2.0**971
    f32 = np.array([F32_MAX, -F32_MAX], dtype=np.float32)
    assert tolerances(f32, 1)["ulp"] == 2.0**104
    assert tolerances(np.array([1.0]), 1)["ulp"] == np.spacing(1.0)  # as before


def test_the_api_runs_and_refuses_what_the_command_line_does():
    """main: [-inf inf -inf 7.57], and NaN for a function.  Differences that overflow
    float64 were then the samples' fault, whatever lambda (audit10a #7: was
    UnstableError); now (audit21b A21b-7) a registry family runs on the samples halved,
    lambda halved (exact: the output is u/2's times 2, bit for bit), allowed unstable
    or not, and only a function of the differences as given is refused."""
    import resdenoise
    from resdenoise.errors import SignalValuesError

    u = np.array([1.7e308, -1.7e308, 1.7e308, 0.0])
    half = resdenoise.diffuse(np.ldexp(u, -1), "perona-malik", lam=0.5, steps=1)
    for allow in (False, True):
        out = resdenoise.diffuse(u, "perona-malik", lam=1.0, steps=1, allow_unstable=allow)
        np.testing.assert_array_equal(out, np.ldexp(half, 1))
    with pytest.raises(SignalValuesError, match="is not finite at such a difference \\(a fun"):
        resdenoise.diffuse(u, lambda s: np.exp(-s * s / 2), lam=1.0, steps=1)


@pytest.mark.parametrize("chunk", ["0", "2"])
def test_float_output_beyond_float32_is_clipped(runner, tmp_path, chunk):
    """An allowed unstable run overshooting float32: +-float32 max in the file, counted,
    and the report's output range is the file's (main: +-inf written, +-2.86e41 said)."""
    src = _csv(tmp_path / "b.csv", [3e38, -3e38, 3e38, -3e38])
    out = tmp_path / "b.wav"
    args = ["diffuse", src, "--diffusivity", "linear", "--lambda", "1", "--steps", "3"]
    args += ["--tau", "3", "--allow-unstable", "--rate", "8000", "--chunk-size", chunk]
    result = runner.invoke(cli, [*args, "-o", str(out), "--json"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    report = json.loads(result.stdout[result.stdout.index("{") :])
    written, _ = soundfile.read(out, dtype="float32")
    np.testing.assert_array_equal(written, np.float32([-F32_MAX, F32_MAX, -F32_MAX, F32_MAX]))
    assert report["clipped"] == 4
    channel = report["channels"][0]
    assert (channel["output_min"], channel["output_max"]) == (-F32_MAX, F32_MAX)


def test_bumps_coefficients_whose_sum_overflows(runner, tmp_path):
    """main: 'internal error: OverflowError: intermediate overflow in fsum'."""
    net = tmp_path / "net.toml"
    net.write_text('[[block]]\nactivation = "bumps"\ncoefficients = [1e308, 1e308]\nrepeat = 2\n')
    src = _csv(tmp_path / "in.csv", STEPS)
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["resnet", src, "--network", str(net), "-o", str(out)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {net}: block 1 (line 3): coefficients: "), lines
    assert "sum g(0) overflows float64" in lines[0]
    assert lines[0].count("block 1") == 1
    assert not out.exists()


def test_the_do_no_harm_reasons_say_the_signals_numbers():
    """A search on the samples / 2^k says the gain (4^k) and levels (2^k) of the signal."""
    from resdenoise.automatic import _levels, _no_gain

    assert _no_gain("x", -3.0, 2.0, 100) == _no_gain("x", -3.0 * 4.0**100, 2.0 * 4.0**100)
    assert _no_gain("x", 3.0, 2.0, -100) == _no_gain("x", 3.0 / 4.0**100, 2.0 / 4.0**100)
    # beyond float64: said in the units of the samples searched (audit17a A7; was "(inf)")
    assert _no_gain("x", -3.0, 2.0, 600).endswith(
        "(of the signal times 2**-600: float64 holds no other)"
    )
    assert _levels(np.array([0.5, 0.25]), 10) == "512, 256"


def test_a_search_at_1e160_says_what_overflows_without_a_warning():
    """SURE's numbers of samples at 1e160 exceed float64: None (inf) in the report, no
    RuntimeWarning from the API (warnings are errors here)."""
    from resdenoise.plans import planner

    plan, extra = planner("diffuse", "perona-malik", time="auto")(STEPS * 1e160)
    assert plan.steps > 0 and extra["expected_gain_per_sample"] == -math.inf
    assert all(math.isfinite(s) for s in extra["noise_sigma"])
