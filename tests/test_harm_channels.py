"""The do-no-harm rules name the channel they stopped on: a file ``time,smooth,rough``
whose rough column is white (the estimated noise over 25 % of its variance) said only
"the estimated noise ... is 110 % of the signal's variance", not which column; now the
warning and the report's reason name it as the report labels channels
(``column 3 ('rough')``), the library's ``channel 2`` without a file, and a lone channel
without a label of its own as before.  Where only some channels are over the limit, those
are passed through and the others filtered (tests/test_pass_through.py): the reasons named
here are those of a signal whose every channel is over it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from resdenoise.automatic import choose_denoiser, do_no_harm
from resdenoise.cli import cli
from resdenoise.filters import plan_diffuse
from resdenoise.noise import UNIDENTIFIED, NoiseLevel
from resdenoise.nonlinearities import get_nonlinearity

N = 300
WHITE = "column 2 ('white'): the estimated noise (quiet-windows) is "


def _white_and_rough() -> np.ndarray:
    """Two channels, each white (the estimated noise over 25 % of its variance)."""
    r = np.random.default_rng(0)
    return np.column_stack([r.standard_normal(N), 2.0 * r.standard_normal(N)])


@pytest.fixture
def white_csv(tmp_path):
    x = _white_and_rough()
    src = tmp_path / "white.csv"
    rows = "".join(f"{i},{a!r},{b!r}\n" for i, (a, b) in enumerate(x.tolist()))
    src.write_text("time,white,rough\n" + rows)
    return src


@pytest.mark.parametrize(
    ("command", "key"),
    [(["denoise"], "automatic_reason"), (["diffuse", "--time", "auto"], "do_no_harm")],
)
def test_the_warning_and_the_report_name_the_column(runner, white_csv, tmp_path, command, key):
    rep = tmp_path / "r.json"
    args = [*command, str(white_csv), "-o", str(tmp_path / "o.csv"), "--report", str(rep)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.stderr.splitlines() if "nothing done" in line)
    assert warning.startswith(f"warning: nothing done: {WHITE}")
    report = json.loads(rep.read_text())
    assert report["parameters"][key].startswith(WHITE)
    assert "; over the limit too: column 3 ('rough')" in report["parameters"][key]
    assert report["warnings"][0].startswith(f"nothing done: {WHITE}")
    assert report["channel_labels"] == ["column 2 ('white')", "column 3 ('rough')"]
    assert "passed_through" not in report  # every channel over it: the input, as before
    assert (tmp_path / "o.csv").read_text() == white_csv.read_text()


def test_the_library_names_channels_by_number_or_by_label():
    x = _white_and_rough()
    _, extra = choose_denoiser(x)
    assert extra["automatic_reason"].startswith("channel 1: the estimated noise")
    assert extra["automatic_reason"].endswith("; over the limit too: channel 2")
    _, extra = choose_denoiser(x, labels=["white", "rough"])
    assert extra["automatic_reason"].startswith("white: the estimated noise")
    _, extra = choose_denoiser(x[:, 1])  # a lone channel, no label: as before
    assert extra["automatic_reason"].startswith("the estimated noise (quiet-windows) is")


def test_every_channel_over_the_limit_and_every_unidentified_one_is_named():
    f = np.random.default_rng(1).standard_normal((200, 3))  # white: every share is over
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.8), steps=3)
    level = NoiseLevel(np.array([0.1, 0.9, 1.0]), "quiet-windows")
    labels = ["a", "b", "c"]
    kept, reason, note, _ = do_no_harm(plan, f, level, labels=labels)
    assert kept.steps == 0
    share = float(np.var(f[:, 1]) ** -1 * 0.81)  # b's own share, not the largest (c's)
    assert reason.startswith(f"b: the estimated noise (quiet-windows) is {share:.0%} of")
    assert reason.endswith("; over the limit too: c")
    assert note == f"nothing done: {reason}; give --sigma if you know the noise level"
    odd = NoiseLevel(level.sigma, "mixed", estimators=("quiet-windows", UNIDENTIFIED, UNIDENTIFIED))
    _, reason, _, _ = do_no_harm(plan, f, odd, labels=labels)
    assert reason.startswith("b, c: the noise level is not identified:")
    _, reason, _, _ = do_no_harm(plan, f[:, 1], NoiseLevel(np.array([0.9]), UNIDENTIFIED))
    assert reason.startswith("the noise level is not identified:")  # a lone channel
