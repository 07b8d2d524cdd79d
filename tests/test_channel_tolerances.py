"""Each channel is its own signal: its measured checks go by the ulp of its own
max |f| (audit12a D4), not the loudest channel's, whole or streamed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from resdenoise import measure, stability
from resdenoise.filters import analyse_run, plan_diffuse, run_plan
from resdenoise.nonlinearities import get_nonlinearity

EXE = str(Path(sys.executable).parent / "resdenoise")


def _true_sign_changes(x):
    s = np.sign(x)
    s = s[s != 0]
    return int((s[1:] != s[:-1]).sum())


def _quiet_beside_loud(seed, n=200, loud=1e10, quiet=1e-6):
    rng = np.random.default_rng(seed)
    a = loud * rng.standard_normal(n)
    b = quiet * (-1.0) ** np.arange(n) * rng.uniform(0.5, 1, n)
    return np.c_[a, b]


KEYS = ("sign_changes_in", "sign_changes_out", "max_min_principle", "mean_preserved")
_CASE = dict(
    seed=st.integers(0, 2**16),
    loud=st.sampled_from([1.0, 1e3, 1e10, 1e100]),
    quiet=st.sampled_from([1e-6, 1e-30, 1.0]),
    n=st.integers(2, 300),
    tau=st.sampled_from([None, 0.6]),
)


@settings(max_examples=40, deadline=None)
@given(**_CASE)
def test_a_channel_is_measured_as_if_it_were_alone(seed, loud, quiet, n, tau):
    """A channel's checks beside a louder one are those of the channel run alone
    (before: a quiet channel's sign changes vanished in the loud one's zero band and
    its range and mean checks could not fail)."""
    f = _quiet_beside_loud(seed, n, loud, quiet)
    plan = plan_diffuse(get_nonlinearity("linear", "diffusivity", 1.0), steps=3, tau=tau)
    u = run_plan(plan, f)
    both = analyse_run(plan, f, u)["channels"]
    for c in range(2):
        alone = analyse_run(plan, f[:, c : c + 1], u[:, c : c + 1])["channels"][0]
        assert both[c] == alone
    assert both[1]["sign_changes_in"] == _true_sign_changes(f[:, 1])
    # and the plain whole-signal form (a multiscale plan's scales): the same counts and
    # verdicts (its sums of one column alone may differ in the last bit)
    checks, _ = stability.measure_channels(f, u, plan.steps)
    for c in range(2):
        alone, _ = stability.measure_channels(f[:, c : c + 1], u[:, c : c + 1], plan.steps)
        assert [getattr(checks[c], k) for k in KEYS] == [getattr(alone[0], k) for k in KEYS]


@settings(max_examples=20, deadline=None)
@given(**_CASE, cut=st.integers(1, 299))
def test_a_measure_fed_in_pieces_goes_by_each_channel_amplitude(seed, loud, quiet, n, tau, cut):
    f = _quiet_beside_loud(seed, n, loud, quiet)
    plan = plan_diffuse(get_nonlinearity("linear", "diffusivity", 1.0), steps=3, tau=tau)
    u = run_plan(plan, f)
    amps = stability.column_amplitudes(f)
    m = measure.StreamMeasure(plan, 2, max(amps), None, per_add=True, amplitudes=amps)
    cut = min(cut, n - 1)
    m.add(f[:cut], u[:cut])
    later = measure.StreamMeasure(plan, 2, max(amps), None, per_add=True, amplitudes=amps)
    later.after(f[max(cut - 2, 0) : cut], u[max(cut - 2, 0) : cut])
    later.add(f[cut:], u[cut:])
    m.merge(later)
    whole = analyse_run(plan, f, u)["channels"]
    for c, check in enumerate(m.checks()):  # counts and verdicts (sums cut elsewhere)
        assert [getattr(check, k) for k in KEYS] == [whole[c][k] for k in KEYS]


def test_the_quiet_column_of_a_file_reports_its_own_counts_and_failures(tmp_path):
    """The auditor's case: column 2 (1e-6) beside column 1 (1e10), whole and streamed.
    Before: sign changes 0 -> 0 (true 199 -> 35), and with tau = 0.6 its output
    leaving its range by 75 % was reported as held."""
    f = _quiet_beside_loud(2)
    np.savetxt(tmp_path / "in.csv", f, fmt="%.17g", delimiter=",")
    f = np.loadtxt(tmp_path / "in.csv", delimiter=",")
    for extra in ([], ["--tau", "0.6", "--allow-unstable"]):
        for chunk in ("0", "64"):
            cmd = [EXE, "diffuse", "in.csv", "--diffusivity", "linear", "--steps", "3", *extra]
            cmd += ["--chunk-size", chunk, "-o", "out.csv", "--json"]
            result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
            report = json.loads(result.stdout)
            u = np.loadtxt(tmp_path / "out.csv", delimiter=",")
            ch = report["channels"][1]
            assert ch["sign_changes_in"] == _true_sign_changes(f[:, 1]) == 199
            assert ch["sign_changes_out"] == _true_sign_changes(u[:, 1])
            inside = u[:, 1].min() >= f[:, 1].min() and u[:, 1].max() <= f[:, 1].max()
            assert ch["max_min_principle"] == inside == (not extra)
            named = any(c.startswith("column 2") for c in report["failed_checks"])
            assert named == bool(extra), report["failed_checks"]
