"""The automatic choice across families and scales."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise.automatic import CANDIDATES, RESIDUAL, choose_denoiser


def test_chooses_the_smallest_sure_and_says_why(rng):
    clean = np.repeat([0.0, 2.0, -1.0, 1.0], 100)
    f = clean + rng.normal(0.0, 0.3, clean.size)
    plan, extra = choose_denoiser(f, sigma=0.3)
    risks = extra["automatic_candidates"]
    ranked = {c[0] for c in CANDIDATES}  # the residual levels' only where its gate admits it
    if extra["residual_levels_gate"].startswith("not ranked"):
        ranked.discard(RESIDUAL)
    assert set(risks) == ranked
    assert extra["automatic_choice"] == min(risks, key=risks.get)
    assert extra["automatic_reason"].startswith("smallest SURE")
    again, extra2 = choose_denoiser(f.copy(), sigma=0.3)
    assert extra2 == extra and again.steps == plan.steps
    u = plan.run(f)
    assert np.mean((u - clean) ** 2) < 0.3 * np.mean((f - clean) ** 2)


def test_pure_tones_are_left_alone(rng):
    t = np.arange(600)
    clean = np.sin(2 * np.pi * 0.41 * t)
    f = clean + rng.normal(0.0, 0.01, t.size)
    plan, extra = choose_denoiser(f, sigma=0.01)
    assert np.mean((plan.run(f) - clean) ** 2) <= np.mean((f - clean) ** 2)
    assert min(extra["automatic_candidates"].values()) <= 1.0001e-4 * 1.1


def test_impulses_get_the_prestage(rng):
    clean = np.sin(np.linspace(0.0, 6.0, 800))
    f = clean + rng.normal(0.0, 0.05, 800)
    f[::50] += 3.0
    plan, extra = choose_denoiser(f)
    assert plan.prestage is not None and extra["impulses_detected"] == [16]
    assert np.mean((plan.run(f) - clean) ** 2) < 0.05 * np.mean((f - clean) ** 2)


def test_cli_denoise_runs_the_choice_and_reports_it(tmp_path, rng):
    import json

    from click.testing import CliRunner

    from resdenoise.cli import cli

    clean = np.repeat([0.0, 1.0, -0.5], 100)
    f = clean + rng.normal(0.0, 0.2, clean.size)
    src = tmp_path / "in.csv"
    src.write_text("\n".join(repr(float(v)) for v in f) + "\n")
    args = ["denoise", str(src), "-q", "-o", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, args + ["--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    plan, extra = choose_denoiser(f)
    assert report["parameters"]["automatic_choice"] == extra["automatic_choice"]
    assert report["guarantees_held"]
    np.testing.assert_allclose(np.loadtxt(tmp_path / "o.csv"), plan.run(f), rtol=0, atol=1e-12)
    streamed = CliRunner().invoke(cli, args + ["--chunk-size", "50"])
    assert streamed.exit_code == 2 and "in memory" in streamed.output


def _write(tmp_path, f):
    src = tmp_path / "in.csv"
    src.write_text("\n".join(repr(float(v)) for v in f) + "\n")
    return src


def test_cli_diffusivity_and_shrinkage_auto_choose_a_family_and_report_it(tmp_path, rng):
    """--diffusivity auto / --shrinkage auto: resdenoise denoise's choice, among the
    command's families only, through the planner; the report and the summary name it."""
    import json

    from click.testing import CliRunner

    from resdenoise.automatic import COMMAND_CANDIDATES
    from resdenoise.cli import cli

    clean = np.repeat([0.0, 1.0, -0.5], 100)
    f = clean + rng.normal(0.0, 0.2, clean.size)
    src = _write(tmp_path, f)
    for command, form in (("diffuse", "diffusivity"), ("shrink", "shrinkage")):
        out, rep = tmp_path / f"{command}.csv", tmp_path / f"{command}.json"
        args = [command, str(src), f"--{form}", "auto", "-o", str(out), "--report", str(rep)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        report = json.loads(rep.read_text())
        plan, extra = choose_denoiser(f, candidates=COMMAND_CANDIDATES[command])
        params = report["parameters"]
        assert set(params["automatic_candidates"]) == {c[0] for c in COMMAND_CANDIDATES[command]}
        assert params["automatic_choice"] == extra["automatic_choice"]
        assert params["automatic_choice"].startswith(command)
        assert params["automatic_reason"] == extra["automatic_reason"]
        assert params["noise_estimators"] == ["quiet-windows"]
        assert f"chose {extra['automatic_choice']}" in result.stderr
        np.testing.assert_allclose(np.loadtxt(out), plan.run(f), rtol=0, atol=1e-12)


def test_cli_auto_family_refuses_settings_it_would_ignore(tmp_path):
    from click.testing import CliRunner

    from resdenoise.cli import cli

    src = _write(tmp_path, np.linspace(0.0, 1.0, 50))
    for args, flag in (
        (["diffuse", "--diffusivity", "auto", "--time", "3"], "--time"),
        (["diffuse", "--diffusivity", "auto", "--lambda", "2"], "--lambda"),
        (["diffuse", "--diffusivity", "auto", "--stopping-rule", "noise2self"], "--stopping-rule"),
        (["shrink", "--shrinkage", "auto", "--iterations", "3"], "--iterations"),
    ):
        result = CliRunner().invoke(cli, [*args, str(src), "-o", str(tmp_path / "o.csv")])
        assert result.exit_code == 2, result.output
        assert f"--{args[1][2:]} auto chooses the family" in result.stderr
        assert f"drop {flag} or name a" in result.stderr
        assert not (tmp_path / "o.csv").exists()


@pytest.mark.filterwarnings("ignore:the automatic search stopped at its cap")
def test_api_auto_family(rng):
    """resdenoise.diffuse(f, "auto") and shrink(f, "auto"): the planner's automatic choice."""
    import resdenoise
    from resdenoise.automatic import COMMAND_CANDIDATES

    clean = np.repeat([0.0, 1.0, -0.5], 100)
    f = clean + rng.normal(0.0, 0.2, clean.size)
    for command in ("diffuse", "shrink"):
        plan, _ = choose_denoiser(f, candidates=COMMAND_CANDIDATES[command])
        np.testing.assert_allclose(getattr(resdenoise, command)(f, "auto"), plan.run(f), 0, 1e-12)
