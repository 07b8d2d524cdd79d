"""What a run's report says it guarantees, and what it measures (audit11a: D1, D3,
D5, D6, D7): no guarantee the paper does not give, no false failure of one it gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from resdenoise import dictionary, stability
from resdenoise.nonlinearities import get_nonlinearity

EXE = str(Path(sys.executable).parent / "resdenoise")
STEPS_CSV = str(Path(__file__).resolve().parent.parent / "sample_signals" / "steps.csv")


def _run(args, cwd):
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


# ---- D5: a tau written as the paper's bound is at the bound ------------------------


def test_tau_at_the_decimal_bound_for_h_07_is_stable():
    """h = 0.7: h*h/2 is 0.24499999999999997 in binary, an ulp under 0.245.
    Before: tau = 0.245 refused (L-infinity), tau = 0.1225 not sign stable."""
    nl = get_nonlinearity("perona-malik", lam=0.5)
    v = stability.check_tau(nl, 0.245, h=0.7)
    assert v.tau_linf_bound < 0.245 and v.linf_stable and not v.sign_stable
    v = stability.check_tau(nl, 0.1225, h=0.7)
    assert v.tau_sign_bound < 0.1225 and v.sign_stable
    assert not stability.check_tau(nl, 0.2451, h=0.7).linf_stable  # beyond: still refused
    t = dictionary.translate(get_nonlinearity("tanh", lam=1.0), tau=0.245, h=0.7)
    assert (
        t["linf_stable"] and t["conditions"][3]["detail"] == "tau = 0.245, L-infinity bound 0.245"
    )
    assert stability.at_most(0.7 * 0.7 / 2.0) == "0.245"


def test_cli_accepts_tau_at_the_decimal_bound(tmp_path):
    args = ["diffuse", STEPS_CSV, "--diffusivity", "perona-malik", "--lambda", "0.5"]
    args += ["--steps", "3", "--h", "0.7", "-o", "o.csv"]
    result = _run([*args, "--tau", "0.245"], tmp_path)
    assert result.returncode == 0, result.stderr  # before: exit 3, refused as unstable
    result = _run([*args, "--tau", "0.1225"], tmp_path)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    result = _run(
        ["translate", "--activation", "tanh", "--tau", "0.245", "--h", "0.7", "--check"], tmp_path
    )
    assert result.returncode == 0, result.stdout
