"""Left-overs of session 39: one sampling of a custom activation's stability grid per call
(item 1); /proc/PID/fd/N of a forked worker (item 2); a Zarr store's full disk (item 3);
progress as plain lines on a terminal that cannot draw bars (item 4)."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from click.testing import CliRunner

import resdenoise as rd
import resdenoise.nonlinearities as nonlinearities
from resdenoise.cli import cli
from resdenoise.errors import ParameterError
from resdenoise.io.atomic import open_descriptor
from resdenoise.io.renames import write_bytes_atomic

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


def test_a_diffusivity_is_evaluated_on_the_grid_once_per_call():
    # old: 5 times (the NaN check; Phi = g r and g for the default tau; both for the
    # verdict); session 39: 2 (Phi = g r, then g); session 40: once (Phi = g r of that g)
    f = _Counted()

    def g(r):
        with np.errstate(invalid="ignore"):
            return f(r) / r

    out = rd.diffuse(_walk(), g, steps=3)
    assert f.on_grid == 1
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


# --- item 4: progress as plain lines on a terminal that cannot draw bars -----------------


def _plain(out, now):
    from resdenoise.cli import render
    from resdenoise.cli.progress_lines import PlainLines

    return PlainLines(render.Bars.describe, render.Bars.bar_of, stream=out, get_time=now)


def test_plain_lines_say_percentage_rate_and_eta_once_an_interval():
    from resdenoise.cli.progress_lines import INTERVAL

    assert 2.0 <= INTERVAL <= 5.0
    now, out = [0.0], io.StringIO()
    with _plain(out, lambda: now[0]) as lines:
        for k in range(101):  # 1 % every 0.25 s, 25 s; told 101 times
            now[0] = 0.25 * k
            lines.update(0, "in.wav", "filter", 10_000 * k, 1_000_000)
        assert out.getvalue().count("\n") == 8  # at 3, 6, ... 24 s (none at 100 %: done)
        shown = out.getvalue().splitlines()
        assert shown[0] == "in.wav filtering: 12 % (40k samples/s, ETA 0:22)"
        assert shown[-1] == "in.wav filtering: 96 % (40k samples/s, ETA 0:01)"
        now[0] = 30.0  # a new phase: its own rate, the next line when it is due
        lines.update(0, "in.wav", "search 2/13", 0, 20_000)
        now[0] = 33.0
        lines.update(0, "in.wav", "search 2/13", 3000, 20_000)
        lines.update(0, "in.wav", "check-bytes", 10, None)  # told again at once: nothing
    text = out.getvalue()
    assert (
        text.splitlines()[-1]
        == "in.wav automatic search, lambda 2/13: 15 % (1k blocks/s, ETA 0:17)"
    )
    assert "\x1b" not in text and "\r" not in text  # no escape sequence, no redraw


def test_a_quick_run_prints_no_line():
    out = io.StringIO()
    with _plain(out, iter(np.linspace(0.0, 2.9, 1000)).__next__) as lines:
        for k in range(1000):
            lines.update(0, "in.csv", "check-bytes", k, None)
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    "term, ci, quiet, mode",
    [
        ("dumb", None, False, "lines"),
        ("unknown", None, False, "lines"),
        ("xterm", None, False, "bars"),
        ("dumb", "true", False, None),  # CI: nothing, as before
        ("dumb", None, True, None),  # -q
    ],
)
def test_a_terminal_that_cannot_draw_bars_gets_lines(monkeypatch, term, ci, quiet, mode):
    # old: no progress at all on TERM=dumb (Emacs' shell, a console with a terminal)
    import sys

    from test_cli_progress import _Terminal  # a stream that says it is a terminal

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", term)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert render.progress_mode(quiet) == mode


def test_a_files_progress_on_a_dumb_terminal_is_plain_lines(monkeypatch):
    import sys

    from test_cli_progress import _Terminal

    from resdenoise.cli import progress_lines, render

    seen = _Terminal()
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", seen)
    monkeypatch.setattr(progress_lines, "INTERVAL", 0.0)  # every update a line
    with render.progress_sink(False, "in.csv") as sink:
        assert sink is not None  # old: None (no progress)
        sink("filter", 500, 1000)
    assert seen.getvalue().startswith("in.csv filtering: 50 %")
    assert "\x1b" not in seen.getvalue()
    with render.loss_progress(False, 10) as told:
        told(4, 0.5)
    assert seen.getvalue().splitlines()[-1].startswith("learning: 40 %")
    assert seen.getvalue().endswith(", loss 0.5\n")
