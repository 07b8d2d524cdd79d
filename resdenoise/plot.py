"""Function plots of the dictionary, after the paper's Table 2.

A grid with one row per form (diffusivity g, regulariser Psi, shrinkage S,
activation Phi) and one column per nonlinearity, axes labelled, written as
PNG, SVG or PDF.  matplotlib is an optional dependency (``pip install
'.[plot]'`` in the checkout); it is imported only here and only when a plot is
drawn, through :class:`matplotlib.figure.Figure` (no pyplot, no global state,
no display needed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

import numpy as np

from .errors import ExtraMissing, ParameterError, import_extra
from .nonlinearities import Nonlinearity

__all__ = ["FORMATS", "PlotUnavailable", "default_size", "plot_dictionary"]

#: Accepted file extensions.
FORMATS: Final = ("png", "svg", "pdf")
#: Pixels per inch of the figure: a PNG of W x H pixels is W/DPI x H/DPI
#: inches, an SVG or PDF of that size is 72 W/DPI x 72 H/DPI points.
DPI: Final = 100

#: Rows of the grid: (form, y label, x label).
_ROWS: Final = (
    ("diffusivity", "diffusivity g(r)", "r"),
    ("regulariser", "regulariser Ψ(r)", "r"),
    ("shrinkage", "shrinkage S(s)", "s"),
    ("activation", "activation Φ(r)", "r"),
)


class PlotUnavailable(ExtraMissing):
    """matplotlib is not installed (exit code 2); the message says how to install it."""


def default_size(columns: int) -> tuple[int, int]:
    """Default image size in pixels: 260 wide per column (at least 520), 800 high."""
    return max(260 * columns, 520), 800


def _curves(nl: Nonlinearity, span: float, points: int):
    x = np.linspace(-span, span, points)
    with np.errstate(all="ignore"):
        return x, {
            "diffusivity": np.asarray(nl.g(x), dtype=float),
            "regulariser": np.asarray(nl.psi(x), dtype=float),
            "shrinkage": np.asarray(nl.shrinkage(x), dtype=float),
            "activation": np.asarray(nl.phi(x), dtype=float),
        }


def _limits(y: np.ndarray) -> tuple[float, float] | None:
    """y limits that ignore infinities and an isolated blow-up (g of the sigmoid at 0)."""
    finite = y[np.isfinite(y)]
    if finite.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(finite, [2.0, 98.0]))
    full_lo, full_hi = float(finite.min()), float(finite.max())
    span = max(hi - lo, 1e-12)
    lo = full_lo if full_lo >= lo - 2.0 * span else lo - 0.5 * span
    hi = full_hi if full_hi <= hi + 2.0 * span else hi + 0.5 * span
    lo, hi = min(lo, 0.0), max(hi, 0.0)  # every panel shows y = 0
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1.0):  # a constant 0
        lo, hi = -1.0, 1.0
    pad = 0.06 * (hi - lo)
    return lo - pad, hi + pad


def plot_dictionary(
    columns: Sequence[tuple[str, Nonlinearity]],
    path: str,
    size: tuple[int, int] | None = None,
    span: float = 4.0,
    points: int = 801,
) -> str:
    """Draw the g / Psi / S / Phi grid and write it to ``path``.

    Parameters
    ----------
    columns : sequence of (title, Nonlinearity)
        One column each.
    path : str
        Output file; its extension (png, svg or pdf) is the format.  Written
        atomically (temporary file, then rename).
    size : (width, height), optional
        Image size in pixels at :data:`DPI` (default :func:`default_size`).
    span : float
        Each column is drawn on ``[-span lam, span lam]`` of its own lambda
        (axes are scaled per column, as in the paper's Table 2).
    points : int
        Samples per curve.

    Returns
    -------
    str
        The format written.

    Raises
    ------
    PlotUnavailable
        Without matplotlib.
    ParameterError
        For an unknown extension, no columns or a size out of range.
    """
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise ParameterError(
            f"{path}: cannot tell the plot format from the extension {ext!r}; "
            f"use one of {', '.join(FORMATS)}"
        )
    if not columns:
        raise ParameterError("nothing to plot: no nonlinearities given")
    width, height = size or default_size(len(columns))
    if not (50 <= width <= 20000 and 50 <= height <= 20000):
        raise ParameterError(
            f"plot size {width}x{height} pixels is out of range; use 50 to 20000 each"
        )
    Figure = _figure_class()

    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    # fixed margins in inches (constrained layout costs seconds for 24 panels)
    w_in, h_in = width / DPI, height / DPI
    fig.subplots_adjust(
        left=min(0.75 / w_in, 0.3),
        right=1.0 - min(0.15 / w_in, 0.1),
        bottom=min(0.45 / h_in, 0.2),
        top=1.0 - min(0.55 / h_in, 0.2),
        wspace=0.35,
        hspace=0.55,
    )
    axes = fig.subplots(len(_ROWS), len(columns), squeeze=False)
    for j, (title, nl) in enumerate(columns):
        x, curves = _curves(nl, span * nl.lam, points)
        for i, (form, ylabel, xlabel) in enumerate(_ROWS):
            ax = axes[i][j]
            y = curves[form]
            ax.plot(x, np.where(np.isfinite(y), y, np.nan), linewidth=1.2)
            ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
            ax.axvline(0.0, color="0.75", linewidth=0.6, zorder=0)
            limits = _limits(y)
            if limits is not None:
                ax.set_ylim(*limits)
            ax.set_xlim(x[0], x[-1])
            ax.tick_params(labelsize=7)
            ax.set_xlabel(xlabel, fontsize=8, labelpad=1)
            if j == 0:
                ax.set_ylabel(ylabel, fontsize=8)
            if i == 0:
                ax.set_title(title, fontsize=9)
    fig.suptitle(
        f"λ per column; S is one Haar step (τ = 1/4, h = 1); x from -{span:g}λ to {span:g}λ",
        fontsize=8,
    )
    _save(fig, path, ext)
    return ext


def _figure_class():
    """matplotlib's Figure, imported without its advice on stderr: where its config or
    cache directory cannot be made (a read-only or unusable $HOME) it warns in two long
    lines and uses a temporary one, which it removes at exit; a plot written is all this
    run says."""
    import logging

    logger = logging.getLogger("matplotlib")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        figure = import_extra(
            "matplotlib.figure", "plotting needs matplotlib", "plot", PlotUnavailable
        )
    finally:
        logger.setLevel(level)
    return figure.Figure


def _save(fig, path: str, ext: str) -> None:
    """Write the figure atomically, with the file mode every output gets (resdenoise.io)."""
    import io

    from .io import write_bytes_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format=ext, dpi=DPI)
    write_bytes_atomic(path, buf.getvalue())
