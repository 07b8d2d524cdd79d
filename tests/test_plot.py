"""Function plots of the dictionary (resdenoise.plot): the paper's Table 2.

The image must exist, be non-empty and have the size asked for: PNG pixels
from the IHDR chunk, SVG and PDF points (72 per inch, 100 pixels per inch).
These tests need matplotlib (``pip install 'resdenoise[plot]'``; the dev extra
installs it, so CI has it); without it only the install hint is checked.
"""

from __future__ import annotations

import re
import struct
import sys

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli
from resdenoise.nonlinearities import PAPER_FAMILIES, get_nonlinearity
from resdenoise.plot import DPI, PlotUnavailable, default_size, plot_dictionary


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_size_pt(path) -> tuple[float, float]:
    head = path.read_text()[:2000]
    w = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', head).group(1)
    h = re.search(r'<svg[^>]*\sheight="([\d.]+)pt"', head).group(1)
    return float(w), float(h)


def pdf_size_pt(path) -> tuple[float, float]:
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", path.read_bytes())
    return float(box.group(1)), float(box.group(2))


def test_without_matplotlib_the_error_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(
        PlotUnavailable, match=r"pip install '\.\[plot\]' in the resdenoise checkout"
    ):
        plot_dictionary([("tanh", get_nonlinearity("tanh"))], str(tmp_path / "x.png"))
    result = CliRunner().invoke(cli, ["dictionary", "--plot", str(tmp_path / "x.png")])
    assert result.exit_code == 2  # a missing extra, as every other (README's exit codes)
    assert result.stderr == (
        "Error: plotting needs matplotlib: pip install '.[plot]' in the resdenoise checkout\n"
    )
    assert not (tmp_path / "x.png").exists()


def test_unknown_extension_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["dictionary", "--plot", str(tmp_path / "x.jpg")])
    assert result.exit_code == 2
    assert "use one of png, svg, pdf" in result.stderr


def test_bad_size_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        cli, ["dictionary", "--plot", str(tmp_path / "x.png"), "--plot-size", "12by9"]
    )
    assert result.exit_code == 2
    assert "WIDTHxHEIGHT" in result.stderr


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def test_six_families_png_of_default_size(tmp_path, mpl):
    path = tmp_path / "table2.png"
    columns = [(k, get_nonlinearity(k, "activation", 1.0)) for k in PAPER_FAMILIES]
    assert plot_dictionary(columns, str(path)) == "png"
    assert png_size(path) == default_size(6) == (1560, 800)
    assert path.stat().st_size > 20_000  # 24 panels of curves, not a blank image


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_cli_dictionary_plot_has_the_size_asked(tmp_path, mpl, ext):
    path = tmp_path / f"d.{ext}"
    result = CliRunner().invoke(
        cli,
        [
            "dictionary",
            "--family",
            "garrote",
            "--family",
            "tanh",
            "--plot",
            str(path),
            "--plot-size",
            "900x700",
        ],
    )
    assert result.exit_code == 0, result.output
    assert path.stat().st_size > 5_000
    if ext == "png":
        assert png_size(path) == (900, 700)
    elif ext == "svg":
        assert svg_size_pt(path) == pytest.approx((900 * 72 / DPI, 700 * 72 / DPI))
    else:
        assert pdf_size_pt(path) == pytest.approx((900 * 72 / DPI, 700 * 72 / DPI))
    assert "plot written to" in result.stderr
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_cli_translate_plot_of_an_expression_and_of_relu(tmp_path, mpl):
    runner = CliRunner()
    a = tmp_path / "pm.png"
    result = runner.invoke(
        cli,
        [
            "translate",
            "--activation-expr",
            "r*exp(-r**2/2)",
            "--plot",
            str(a),
            "--plot-size",
            "400x640",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert png_size(a) == (400, 640)
    b = tmp_path / "sigmoid.svg"
    result = runner.invoke(cli, ["translate", "--activation", "sigmoid", "--plot", str(b)])
    assert result.exit_code == 0, result.output  # g = Phi/r blows up at 0: still drawn
    assert svg_size_pt(b) == pytest.approx((520 * 0.72, 800 * 0.72))


def test_chosen_families_give_one_column_each(tmp_path, mpl):
    path = tmp_path / "two.png"
    result = CliRunner().invoke(
        cli, ["dictionary", "--family", "hard", "--family", "gelu", "--plot", str(path), "--json"]
    )
    assert result.exit_code == 0
    assert png_size(path) == default_size(2)
