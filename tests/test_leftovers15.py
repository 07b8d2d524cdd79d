"""Left-overs of session 38: the per-scale measurements of a plan of several scales on
samples near float64's maximum (item 1, audit14a A2); run_strided checks its input as
run_blocks does (item 2); a denoise to PCM runs its choice once (item 3)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import resdenoise as rd
from resdenoise.cli import cli
from resdenoise.engine import run_blocks, run_strided, run_strided_unchecked
from resdenoise.multilevel import choose_levels
from resdenoise.multiscale import plan_diffusion_scales
from resdenoise.noise import search_noise
from resdenoise.residual_levels import choose_residual_levels
from resdenoise.scaling import level_shift


def _step_max() -> np.ndarray:
    """audit14a A2's step_max.csv: a noisy step from 0 to 1.7e308, 300 samples."""
    r = np.random.default_rng(1)
    r.standard_normal(300)
    return np.r_[np.zeros(150), np.ones(150)] * 1.7e308 + 1e306 * r.standard_normal(300)


def _step200() -> np.ndarray:
    """audit14a A2's step200.csv: a noisy step of height 1e200, 200 samples."""
    r = np.random.default_rng(0)
    return np.r_[np.zeros(100), np.ones(100)] * 1e200 + 1e198 * r.standard_normal(200)


def _big_step() -> np.ndarray:
    """A noisy step from -0.92e308 to 0.92e308: its differences overflow."""
    r = np.random.default_rng(1)
    return np.r_[-np.ones(150), np.ones(150)] * 0.92e308 + 1e306 * r.standard_normal(300)


def _levels_plan(f: np.ndarray):
    """``(plan, k)``: shrink --scales 3 --iterations 2's plan for ``f``, searched on ``f``
    divided by ``2**k`` (as the command line searches it) and multiplied back."""
    k = level_shift(f)
    plan, _ = choose_levels(np.ldexp(f, -k), "soft", scales=3, iterations=2)
    return plan, k


def _measured(checks: list, key: str) -> list:
    return [c["measured"][key] for c in checks if c["shrinks"]]


def test_levels_near_the_float64_maximum_hold_as_the_signal_scaled_down():
    f = _step_max()
    plan, k = _levels_plan(f)
    assert k > 0 and plan.steps == 2
    big = plan.scaled(k).scale_checks(f)
    small = plan.scale_checks(np.ldexp(f, -k))  # the same signal times 2**-k: exact
    assert [c.get("failed") for c in big] == [c.get("failed") for c in small]
    assert not any(c.get("failed") for c in big)  # was: mean preserved failed, ...
    for key in ("mean_preserved", "deviation_not_increased", "max_min_principle"):
        assert _measured(big, key) == _measured(small, key)
    for key in ("mean_drift", "overshoot"):
        assert _measured(big, key) == [math.ldexp(x, k) for x in _measured(small, key)]


def test_level_deviations_of_samples_whose_squares_overflow_are_finite():
    f = _step200()
    plan, k = _levels_plan(f)
    big = plan.scaled(k).scale_checks(f)
    small = plan.scale_checks(np.ldexp(f, -k))
    for key in ("deviation_in", "deviation_out"):
        got = _measured(big, key)
        assert got == [[math.ldexp(x, k) for x in d] for d in _measured(small, key)]
        assert all(math.isfinite(x) and 1e200 < x < 1e202 for d in got for x in d)  # was: inf


def test_residual_levels_deviations_of_large_samples_are_finite():
    r = np.random.default_rng(0)
    f = 5 * np.sin(2 * np.pi * np.arange(600) / 24) + 0.25 * r.standard_normal(600)
    plan, _, _ = choose_residual_levels(f, "soft", search_noise(f))
    assert plan.smoothing > 0 and plan.steps
    small = plan.scale_checks(f)
    big = plan.scaled(700).scale_checks(np.ldexp(f, 700))
    for key in ("deviation_in", "deviation_out"):
        want = [math.ldexp(x, 700) for x in small[0]["output_deviation"][key]]
        assert big[0]["output_deviation"][key] == want  # was: inf
        assert _measured(big, key) == [
            [math.ldexp(x, 700) for x in d] for d in _measured(small, key)
        ]


def test_diffusion_scales_whose_differences_overflow_hold_as_scaled_down():
    f = _big_step()
    k = level_shift(f)
    plan = plan_diffusion_scales("perona-malik", [0.01, 0.02, 0.04], [20, 10, 5], 0.25)
    small = plan.scale_checks(np.ldexp(f, -k))
    big = plan.scaled(k).scale_checks(f)
    assert not any(c["failed"] for c in small)
    assert [c["failed"] for c in big] == [c["failed"] for c in small]  # was: left its range
    assert [c["lambda"] for c in big] == [math.ldexp(c["lambda"], k) for c in small]


def test_lambdas_out_of_proportion_to_the_samples_are_measured_where_they_stay_normal():
    from resdenoise.multilevel import plan_levels

    f = _step200()  # divided by 2**665 for its squares: a threshold of 1e-150 stays normal
    for theta, finite in ((1e-150, True), (1e-200, False)):  # (1e-200 / 2**465: subnormal)
        with np.errstate(over="ignore", invalid="ignore"):  # (1e-200: squares overflow)
            checks = plan_levels("soft", [theta] * 3).scale_checks(f)  # no ValueError
        devs = [x for d in _measured(checks, "deviation_in") for x in d]
        assert all(math.isfinite(x) for x in devs) is finite


def _csv(path, x) -> str:
    path.write_text("".join(f"{v:.17g}\n" for v in x))
    return str(path)


def test_shrink_scales_near_the_float64_maximum_holds_under_strict(runner, tmp_path):
    src = _csv(tmp_path / "step_max.csv", _step_max())
    report = tmp_path / "r.json"
    args = ["shrink", "--scales", "3", "--iterations", "2", src, "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [*args, "--strict", "--report", str(report)])
    assert result.exit_code == 0, result.output  # was 4: guarantees failed
    scales = json.loads(report.read_text())["scales"]
    assert all(s["measured"]["mean_drift"] is not None for s in scales)


@pytest.mark.parametrize(
    "command",
    [
        ["diffuse", "--scales", "3"],
        ["resnet", "--network", "net.toml"],  # stop = "sure": the blocks run scaled down
    ],
)
def test_strided_runs_whose_differences_overflow_hold_under_strict(runner, tmp_path, command):
    (tmp_path / "net.toml").write_text(
        'stop = "sure"\n[[block]]\ndiffusivity = "perona-malik"\nlambda = "auto"\n'
        "repeat = 40\nscale = 2\n"
    )
    src = _csv(tmp_path / "big.csv", _big_step())
    command = [str(tmp_path / a) if a == "net.toml" else a for a in command]
    result = runner.invoke(cli, [*command, src, "-o", str(tmp_path / "o.csv"), "--strict"])
    assert result.exit_code == 0, result.output  # was 4: a subsequence left its range


# -- item 2: run_strided checks its input as run_blocks does --------------------------

PM = rd.get_nonlinearity("perona-malik", "diffusivity", lam=1.0)


def _refusal(call) -> tuple[type, str]:
    with pytest.raises(ValueError) as caught:
        call()
    assert "\n" not in str(caught.value)
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(
    "u",
    [
        np.array([0.0, 1.0, np.nan, 3.0, 4.0]),
        np.array([0.0, np.inf, 2.0, 3.0]),
        np.array([[0.0, 1.0], [2.0, -np.inf], [3.0, np.nan], [4.0, 5.0]]),
        np.array([0.0, 1.0, np.nan, 3.0], dtype=np.float32),
        np.array([1.0 + 2.0j, 3.0, 4.0, 5.0]),
        np.array([1, 2, 3, 4], dtype=np.complex64),
        np.array([1.0]),
        np.zeros((4, 2, 2)),
    ],
)
def test_run_strided_refuses_what_run_blocks_refuses_in_its_words(u):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a complex cast warned and ran)
        said = _refusal(lambda: run_strided(u, PM, 0.25, 2, 2))
    assert said[0] is rd.SignalError
    assert said == _refusal(lambda: run_blocks(u, PM, 0.25, 2))
    assert said == _refusal(lambda: run_strided(u, PM, 0.25, 0, 3))  # no block: all the same


def test_run_strided_refuses_a_stride_that_is_not_a_count():
    for stride in (0, -2, 1.5):
        kind, said = _refusal(lambda s=stride: run_strided(np.zeros(6), PM, 0.25, 1, s))
        assert kind is rd.ParameterError and said.startswith("stride must be an integer >= 1")


def test_run_strided_of_a_finite_signal_is_the_unchecked_run(rng):
    for u in (rng.standard_normal((40, 2)), rng.standard_normal(33).astype(np.float32)):
        got = run_strided(u, PM, 0.25, 3, 4)
        assert got.dtype == u.dtype
        np.testing.assert_array_equal(got, run_strided_unchecked(u, PM, 0.25, 3, 4))


# -- item 3: a denoise to an integer PCM file runs its choice once ---------------------


def _plan_runs(monkeypatch) -> list:
    """Every plan's :meth:`run` that computes (not one that returns its computed output),
    as ``(plan, input copy)``."""
    from resdenoise import filters, multilevel, multiscale, passing, residual_levels

    calls = []
    for cls in (
        filters.Plan,
        multilevel.MultilevelPlan,
        multiscale.MultiscalePlan,
        residual_levels.ResidualLevelsPlan,
        passing.ChannelsPlan,
    ):

        def run(self, u, *args, _real=cls.__dict__["run"], **kwargs):
            done = getattr(self, "computed_run", lambda u: None)  # (the old code: none)
            if done(u) is None:
                calls.append((self, np.array(u)))
            return _real(self, u, *args, **kwargs)

        monkeypatch.setattr(cls, "run", run)
    return calls


def _denoise_pcm(runner, tmp_path, monkeypatch, name: str) -> tuple[bytes, dict, int]:
    """``denoise in.wav -o NAME.wav`` (PCM_16): the output's bytes, the report (without
    its output's name) and how many times the choice's blocks ran on the file's samples."""
    import soundfile as sf

    from resdenoise import automatic

    src = tmp_path / "in.wav"
    if not src.exists():
        r = np.random.default_rng(0)
        t = np.arange(8000) / 8000
        sf.write(src, 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * r.standard_normal(8000), 8000)
    chosen = {}
    real = automatic.within

    def spy(f, *args):
        plan, extra = real(f, *args)
        chosen.update(plan=plan, f=np.array(f))
        return plan, extra

    monkeypatch.setattr(automatic, "within", spy)
    calls = _plan_runs(monkeypatch)
    out, report = tmp_path / f"{name}.wav", tmp_path / f"{name}.json"
    result = runner.invoke(cli, ["denoise", str(src), "-o", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    plan, f = chosen["plan"], chosen["f"]
    assert plan.steps
    runs = [
        p
        for p, u in calls
        if type(p) is type(plan)
        and p.nonlinearities() == plan.nonlinearities()
        and p.steps == plan.steps
        and u.size == f.size
        and np.array_equal(u.reshape(f.shape), f)
    ]
    said = json.loads(report.read_text())
    said.pop("output")
    said.pop("job")  # the run's times (README: the one key two runs differ in)
    return out.read_bytes(), said, len(runs)


def test_a_denoise_to_pcm_runs_its_choice_once_and_writes_the_same(runner, tmp_path, monkeypatch):
    from resdenoise.filters import Plan

    once, report, runs = _denoise_pcm(runner, tmp_path, monkeypatch, "once")
    assert runs == 1  # its output's range checked; the file's run and the report's reuse it
    monkeypatch.setattr(Plan, "with_output", lambda self, u, output: self)  # as before
    again, report_again, runs_again = _denoise_pcm(runner, tmp_path, monkeypatch, "again")
    assert runs_again > 1
    assert once == again and report == report_again  # bit for bit


def test_a_plan_passing_channels_through_returns_its_computed_output(rng, monkeypatch):
    from resdenoise.filters import Plan, plan_shrink
    from resdenoise.passing import pass_through

    plan = pass_through(plan_shrink(rd.get_nonlinearity("soft", "shrinkage", 0.1), 2), [1], 2)
    f = rng.standard_normal((50, 2))
    kept = plan.with_output(f, plan.run(f))

    def refused(*args, **kwargs):
        raise AssertionError("ran again")

    monkeypatch.setattr(Plan, "run", refused)  # the inner plan's run
    seen = []
    np.testing.assert_array_equal(kept.run(f, lambda k, u: seen.append(k)), kept.computed[1])
    assert seen == [2]


# -- a network's groups: their flux probed as a plain plan's (found by left15) -------


@pytest.mark.parametrize("scale", ["1", "2"])
def test_a_network_whose_differences_overflow_runs_halved_as_diffuse_does(runner, tmp_path, scale):
    """A perona-malik group on samples whose differences leave float64: was '20 output
    values are not finite (the run diverged)' (probe_flux tried plain plans only), then
    refused in one line (left15); now (audit21b A21b-7) run as diffuse runs such samples,
    on the samples halved with every lambda halved: the output is the network's on the
    file halved (its given lambda halved), times 2, bit for bit; a charbonnier network
    too."""
    f = _big_step()
    src = _csv(tmp_path / "stepov.csv", f)
    half = _csv(tmp_path / "half.csv", np.ldexp(f, -1))
    groups = {
        "perona-malik": ('lambda = "auto"',) * 2,
        "charbonnier": ("lambda = 1e300", "lambda = 5e299"),
    }
    for family, lams in groups.items():
        outs = []
        for name, lam in zip((src, half), lams, strict=True):
            net = tmp_path / "net.toml"
            net.write_text(
                f'version = 2\n[[block]]\ndiffusivity = "charbonnier"\nlambda = "auto"\n'
                f'repeat = 4\n[[block]]\ndiffusivity = "{family}"\n{lam}\nrepeat = 2\n'
                f"scale = {scale}\n"
            )
            out = tmp_path / f"o{len(outs)}.csv"
            result = runner.invoke(cli, ["resnet", "--network", str(net), name, "-o", str(out)])
            assert result.exit_code == 0, result.output
            outs.append(np.loadtxt(out))
        assert np.isfinite(outs[0]).all()
        np.testing.assert_array_equal(outs[0], np.ldexp(outs[1], 1))
