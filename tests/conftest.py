"""Shared fixtures: a seeded random generator and a few tiny signals.

Hypothesis runs without deadlines (the machine is shared, and timing is not
what these tests check) and with modest example counts; set
``HYPOTHESIS_PROFILE=thorough`` for a long run.  Tests marked ``slow`` (long
variants of a test that runs anyway) run with ``RESDENOISE_SLOW=1`` or ``-m slow``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("default"),
    max_examples=2000,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RESDENOISE_SLOW") == "1" or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="long variant: RESDENOISE_SLOW=1 or -m slow runs it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator with a fixed seed: every run sees the same 'random' data."""
    return np.random.default_rng(20200207)


def _split_plan_kept_its_guarantees(plan, u: np.ndarray, out: np.ndarray, slack: float) -> None:
    """A plan of each channel apart (a SplitPlan) run from ``u`` to ``out``: its report's
    guarantees held, and each channel's own plan is L-infinity stable with its steps,
    within the channel's range (to ``slack``), no more total variation, and its output
    that of the channel's plan run alone."""
    from resdenoise.filters import analyse_run

    report = analyse_run(plan, u, out)
    assert report["guarantees_held"], report["failed_checks"]
    for c, entry in enumerate(report["channel_plans"]):
        part = plan.parts[c]
        assert entry["stability"]["linf_stable"] and entry["steps"] == part.steps
        x, y = u[:, c], out[:, c]
        assert x.min() - slack <= y.min() and y.max() <= x.max() + slack  # max-min
        assert np.sum(np.abs(np.diff(y))) <= np.sum(np.abs(np.diff(x))) * (1 + 1e-12)
        assert np.array_equal(y, part.run(np.ascontiguousarray(x)))


@pytest.fixture(scope="session")
def split_plan_kept_its_guarantees():
    """``check(plan, u, out, slack)``: the guarantees of a plan of each channel apart,
    channel by channel (session-scoped: a hypothesis test may take it)."""
    return _split_plan_kept_its_guarantees


@pytest.fixture
def count_calls(monkeypatch):
    """``count_calls(owner, name) -> list``: ``owner.name`` replaced (for the test) by
    itself with a 1 appended to the returned list at each call."""

    def count(owner, name: str) -> list:
        calls, real = [], getattr(owner, name)

        def counted(*args, **kwargs):
            calls.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
        return calls

    return count


@pytest.fixture
def runner():
    """click's runner for the command line (stderr apart from stdout)."""
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def noisy_csv(tmp_path, rng):
    """``in.csv``: one column, no header, a noisy square wave of 120 samples."""
    path = tmp_path / "in.csv"
    data = np.sign(np.sin(np.linspace(0, 6, 120))) + 0.1 * rng.standard_normal(120)
    path.write_text("\n".join(repr(float(x)) for x in data) + "\n")
    return path


@pytest.fixture
def step_signal(rng) -> np.ndarray:
    """A noisy two-level step, 64 samples, shape (n,)."""
    clean = np.where(np.arange(64) < 30, -1.0, 2.0)
    return clean + 0.2 * rng.standard_normal(64)


@pytest.fixture
def stereo_signal(rng) -> np.ndarray:
    """Two generic channels of different amplitude, 41 samples, shape (n, 2)."""
    t = np.linspace(0.0, 1.0, 41)
    left = np.sin(6.0 * t) + 0.3 * rng.standard_normal(41)
    right = 50.0 * np.sign(t - 0.4) + 5.0 * rng.standard_normal(41)
    return np.column_stack([left, right])


@pytest.fixture
def worker_takes_first(tmp_path, monkeypatch):
    """A batch with ``jobs=2`` shares its files between this process and one forked
    worker as they come free; with this fixture the worker takes the first file (index
    0) and this process the second (1), the others as they come.  Gives this process's
    pid (the worker's share: ``os.getpid() != parent``)."""
    import time

    from resdenoise import batch, batch_pool

    real = batch_pool._next
    parent = os.getpid()
    marks = tmp_path / "taken-by"
    marks.mkdir()
    calls = [0]  # in each process its own count (a worker forked before its first)

    def wait_for(name: str) -> None:
        deadline = time.monotonic() + 60
        while not (marks / name).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {name} never took a file")
            time.sleep(0.002)

    def take(fd):
        me = "parent" if os.getpid() == parent else "worker"
        calls[0] += 1
        if calls[0] == 1 and me == "parent":
            wait_for("worker")
        elif calls[0] == 2 and me == "worker":
            wait_for("parent")
        i = real(fd)
        (marks / me).touch()
        return i

    monkeypatch.setattr(batch_pool, "_next", take)  # the forked workers inherit it
    monkeypatch.setattr(batch, "max_jobs", lambda: 2)
    return parent
