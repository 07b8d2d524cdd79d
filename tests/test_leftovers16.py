"""Left-overs of session 39: one sampling of a custom activation's stability grid per call
(item 1); /proc/PID/fd/N of a forked worker (item 2); a Zarr store's full disk (item 3)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

import resdenoise as rd
import resdenoise.nonlinearities as nonlinearities
from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io.atomic import open_descriptor, write_bytes_atomic

#: Fewer points than the stability grid (80,003 without stretching), more than any signal here.
_ON_THE_GRID = 50_000


def _walk(n=300, seed=2):
    return np.cumsum(np.random.default_rng(seed).standard_normal(n)) * 10.0


# --- item 1: the NaN check and the stability analysis read one sampling ------------------


class _Counted:
    """tanh, counting its calls on arrays of the stability grid's size."""

    def __init__(self, nan_beyond=None):
        self.on_grid = 0
        self.nan_beyond = nan_beyond

    def __call__(self, r):
        if np.size(r) > _ON_THE_GRID:
            self.on_grid += 1
        out = np.tanh(r)
        if self.nan_beyond is not None:
            out = np.where(np.abs(r) > self.nan_beyond, np.nan, out)
        return out


def test_a_python_function_is_evaluated_on_the_grid_once_per_call():
    # old: 5 times a resnet call (the NaN check; Phi, and Phi again for g, for the default
    # tau; both again for the verdict)
    f = _Counted()
    out = rd.resnet(_walk(), f, blocks=3)
    assert f.on_grid == 1
    assert np.all(np.isfinite(out))


def test_a_diffusivity_is_evaluated_for_phi_and_for_g_once_each():
    # old: 5 times (the NaN check; Phi = g r and g for the default tau; both for the verdict)
    f = _Counted()

    def g(r):
        with np.errstate(invalid="ignore"):
            return f(r) / r

    out = rd.diffuse(_walk(), g, steps=3)
    assert f.on_grid == 2
    assert np.all(np.isfinite(out))


def test_each_call_samples_again():
    # a Python function may change between calls: the second call sees its NaN
    f = _Counted()
    rd.resnet(_walk(), f, blocks=3)
    rd.resnet(_walk(), f, blocks=3)
    assert f.on_grid == 2
    f.nan_beyond = 5.0
    with pytest.raises(ParameterError, match=r"the activation is nan at r = -5\.00115; a func"):
        rd.resnet(_walk(), f, blocks=3, tau=0.25, allow_unstable=True)


def test_a_formula_is_evaluated_on_the_grid_once_per_run(tmp_path, monkeypatch):
    # old: 3 times (the formula's NaN check, then Phi and Phi again for g)
    seen = []
    phi = nonlinearities.Nonlinearity.phi

    def counted(self, r):
        if np.size(r) > _ON_THE_GRID:
            seen.append(self.name)
        return phi(self, r)

    monkeypatch.setattr(nonlinearities.Nonlinearity, "phi", counted)
    src = tmp_path / "x.csv"
    src.write_text("\n".join(map(repr, _walk(1000).tolist())) + "\n")
    # a formula of its own (kept per formula: not one another test has sampled already)
    formula = "tanh(r) + 0*r*1.2345678"
    args = ["resnet", str(src), "--activation-expr", formula, "--blocks", "3"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "y.csv")])
    assert result.exit_code == 0, result.output
    assert seen == [formula]


def test_check_tau_reads_the_nan_from_its_own_sampling():
    f = _Counted(nan_beyond=5.0)
    v = rd.check_tau(rd.from_function(f, name="cut"), 0.25)
    assert (
        v.reason == "the activation is nan at r = -5.00115; a function must be finite for every r"
    )
    assert f.on_grid == 1  # old: 3 (Phi, Phi for g, Phi for the NaN)
    assert "non_finite" not in v.as_dict()  # the report's keys as they were


# --- item 2: /proc/PID/fd/N names the descriptor of the process writing, forked too -----


@pytest.mark.skipif(not hasattr(os, "fork") or not os.path.isdir("/proc/self/fd"), reason="Linux")
def test_a_forked_worker_writes_through_its_own_descriptor(tmp_path):
    # old: the pid of the import (the parent's) in /proc/PID/fd/: a forked batch worker's
    # -o /proc/<its pid>/fd/N was reopened by name (O_TRUNC): a file opened for appending
    # lost what it held
    log = tmp_path / "log.txt"
    log.write_bytes(b"kept\n")
    pid = os.fork()
    if pid == 0:  # the child: exit 0 when its descriptor is written through
        code = 1
        try:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND)
            name = f"/proc/{os.getpid()}/fd/{fd}"
            if open_descriptor(name) == fd:
                write_bytes_atomic(name, b"added\n")
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert log.read_bytes() == b"kept\nadded\n"


# --- item 3: a Zarr store's failed write says what the other writers say -----------------


@pytest.mark.parametrize("failing", ["zarr.json", "c/"])  # the store's metadata, a chunk
def test_a_full_disk_under_a_zarr_store_is_one_line_with_the_advice(tmp_path, monkeypatch, failing):
    # old: "Error: out.zarr: cannot write: [Errno 28] No space left on device" (measured on
    # a full 200 KiB tmpfs: the same line), without what to do
    pytest.importorskip("zarr", reason="Zarr stores need zarr (the [dask] extra; in [dev])")
    from zarr.storage import LocalStore

    real = LocalStore.set

    async def full(self, key, value):
        if key.startswith(failing):
            raise OSError(28, "No space left on device", str(tmp_path / ".out.zarr.x" / key))
        return await real(self, key, value)

    monkeypatch.setattr(LocalStore, "set", full)
    src = tmp_path / "x.csv"
    src.write_text("\n".join(map(repr, _walk(1000).tolist())) + "\n")
    args = ["diffuse", str(src), "--diffusivity", "perona-malik", "--steps", "3", "-q"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "out.zarr")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path}/out.zarr: cannot write: No space left on device (the disk is full; "
        "free some space, or write elsewhere)"
    ]
    assert sorted(os.listdir(tmp_path)) == ["x.csv"]  # no store, no temporary directory
