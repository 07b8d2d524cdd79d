"""A run's measurements, one piece of the signal at a time.

What :func:`resdenoise.filters.analyse_run` measures on the whole signal
is accumulated piece by piece (:class:`StreamMeasure`; the chunks of a
streamed run, :mod:`resdenoise.stream`): minima, maxima and sign changes
exactly (the last sign of a piece is carried to the next), the
Euler-Lagrange residual of ``regularise`` exactly (the residual of a piece's
last sample waits for the next piece); sums (total variation, means,
energies, MSE) are summed per piece and the piece sums added with
``math.fsum``, so they may differ from the whole-signal sums in the last
bits.  Where the compiled module is built, a float64 piece's extremes, sign
changes, sums and total variation are taken in one compiled pass per column
(``_kernels.column_stats``: NumPy's pairwise sums of the same values, the
same bits; after the first piece ``_kernels.columns_stats``, every column in
one walk over the rows) instead of a transposed copy and eight NumPy passes.
"""

from __future__ import annotations

import math

import numpy as np

from . import stability
from .engine import _kernels
from .report import build_report
from .selection import Scratch as _Scratch
from .wavelet import cycle_spin_shrink

__all__ = ["StreamMeasure"]


def _diff_after(x: np.ndarray, last, scratch: _Scratch, name: str) -> np.ndarray:
    """``np.diff`` of the 1D ``x`` preceded by ``last`` (a scalar; None: nothing precedes
    it), the same differences without joining the two first, in ``scratch``'s array."""
    k = x.shape[0]
    if last is None:
        return np.subtract(x[1:], x[:-1], out=scratch.get(name, (max(k - 1, 0),), x.dtype))
    d = scratch.get(name, (k,), x.dtype)
    d[0] = x[0] - last
    np.subtract(x[1:], x[:-1], out=d[1:])
    return d


class StreamMeasure:
    """:func:`resdenoise.filters.analyse_run`'s measurements, one chunk core at a time.

    Feed the cores in order with :meth:`add` (the input as the file holds it,
    the output in the working dtype), then :meth:`report` gives the same
    dictionary as ``analyse_run`` on the whole signal (see the module notes on
    exactness).  ``frames``: the signal's length, where known: near the float64
    maximum the sums are then taken of the samples times the power of two
    ``stability.measure_channels`` takes, so that none can overflow.

    Or measure pieces apart (in parallel, :func:`resdenoise.dask.measure_array`):
    one measure per piece, told the two rows before it with :meth:`after`,
    then :meth:`merge` each into the one before, in order: the same numbers
    as one measure fed the pieces in turn.
    """

    def __init__(
        self, plan, channels: int, amplitude: float, dtype, check_wavelet=False, frames=None
    ):
        self.plan = plan
        self.channels = channels
        dtype = np.dtype(np.float64 if dtype is None else dtype)
        self.dtype = dtype
        self.tol = stability.tolerances(np.array([amplitude]), plan.steps, dtype)
        self.scale = 1.0 if frames is None else stability.sum_scale(amplitude, frames)
        tol = self.tol["range"]
        self.n = 0
        self.lo_in = np.full(channels, np.inf)
        self.hi_in = np.full(channels, -np.inf)
        self.lo_out = np.full(channels, np.inf)
        self.hi_out = np.full(channels, -np.inf)
        self.signs_in = [stability.SignCount(tol) for _ in range(channels)]
        self.signs_out = [stability.SignCount(tol) for _ in range(channels)]
        self.tv_in: list[list[float]] = [[] for _ in range(channels)]
        self.tv_out: list[list[float]] = [[] for _ in range(channels)]
        self.sum_in: list[list[float]] = [[] for _ in range(channels)]
        self.sum_out: list[list[float]] = [[] for _ in range(channels)]
        self.last_in = self.last_out = None  # previous core's last row (float64), per channel
        self.regularise = plan.command == "regularise"
        if self.regularise:
            self.sq: list[list[float]] = [[] for _ in range(channels)]
            self.psi_in: list[list[float]] = [[] for _ in range(channels)]
            self.psi_out: list[list[float]] = [[] for _ in range(channels)]
            self.residual = np.zeros(channels)
            self._pending = None  # (u row, f row, flux left of it) of the last sample
        self.check_wavelet = check_wavelet
        self.wavelet_max = 0.0
        self._scratch = _Scratch()

    def add(self, f: np.ndarray, u: np.ndarray, chunk=None) -> None:
        """The next core: ``f`` input, ``u`` output (working dtype, same shape);
        ``chunk``: its :class:`resdenoise.stream.Chunk` (for ``check_wavelet``)."""
        if self.regularise or self.scale != 1.0 or not self._add_compiled(f, u):
            self._add_numpy(f, u)
        self.n += f.shape[0]
        if self.check_wavelet and chunk is not None:
            ref = cycle_spin_shrink(chunk.x, self.plan.nl.shrinkage, self.plan.steps)[chunk.core]
            self.wavelet_max = max(self.wavelet_max, float(np.max(np.abs(ref - u))))

    def _add_numpy(self, f: np.ndarray, u: np.ndarray) -> None:
        # one contiguous row per channel: reductions along rows are fast
        scratch = self._scratch
        fr, ur = scratch.rows("f", f), scratch.rows("u", u)
        f64 = fr if fr.dtype == np.float64 else scratch.rows("f64", f, np.float64)
        u64 = ur if ur.dtype == np.float64 else scratch.rows("u64", u, np.float64)
        for c in range(self.channels):
            fc, uc = f64[c], u64[c]
            self.lo_in[c] = min(self.lo_in[c], fc.min())
            self.hi_in[c] = max(self.hi_in[c], fc.max())
            self.lo_out[c] = min(self.lo_out[c], uc.min())
            self.hi_out[c] = max(self.hi_out[c], uc.max())
            self.signs_in[c].add(fr[c])
            self.signs_out[c].add(ur[c])
            # the differences from the previous core's last sample on, made in place
            # into their absolute values once used
            df = _diff_after(fc, None if self.last_in is None else self.last_in[c], scratch, "df")
            du = _diff_after(uc, None if self.last_out is None else self.last_out[c], scratch, "du")
            if self.regularise:
                self._add_energies(c, fc, uc, df, du)
            if self.scale != 1.0:  # near the float64 maximum: sums of scaled samples
                fc, uc = fc * self.scale, uc * self.scale
                np.multiply(df, self.scale, out=df), np.multiply(du, self.scale, out=du)
            self.tv_in[c].append(float(np.abs(df, out=df).sum()))
            self.tv_out[c].append(float(np.abs(du, out=du).sum()))
            self.sum_in[c].append(float(fc.sum()))
            self.sum_out[c].append(float(uc.sum()))
        if self.regularise:
            self._add_residual(f64, u64)
        self.last_in, self.last_out = f64[:, -1].copy(), u64[:, -1].copy()

    def _add_compiled(self, f: np.ndarray, u: np.ndarray) -> bool:
        """:meth:`add`'s measurements by the compiled loop, one pass per column of
        input and output, the same numbers (its sums are NumPy's pairwise sums of
        the same values); False (nothing done) where it does not apply."""
        tol = float(self.tol["range"])
        kernel = _stats_kernel(f, u, tol)
        if kernel is None:
            return False
        k = f.shape[0]
        f2, u2 = f.reshape(k, -1).view(np.float64), u.reshape(k, -1).view(np.float64)
        if (
            self.last_in is not None
            and hasattr(kernel, "columns_stats")
            and self.channels <= stability.COMPILED_COLUMNS
        ):
            # after a core: every column in one walk over the rows (the same numbers)
            for x, side, last in ((f2, 0, self.last_in), (u2, 1, self.last_out)):
                lasts = np.ascontiguousarray(last, dtype=np.float64)
                for c, got in enumerate(kernel.columns_stats(x, lasts, tol)):
                    self._take(got, x, c, side)
        else:
            for c in range(self.channels):
                for x, side, last in ((f2, 0, self.last_in), (u2, 1, self.last_out)):
                    held = 0.0 if last is None else float(last[c])
                    got = kernel.column_stats(x, self.channels, c, last is not None, held, tol)
                    self._take(got, x, c, side)
        self.last_in, self.last_out = f2[-1].astype(np.float64), u2[-1].astype(np.float64)
        return True

    def _take(self, got: tuple, x: np.ndarray, c: int, side: int) -> None:
        """One column's compiled measurements into the running ones (``side`` 0 input,
        1 output).  A column holding a NaN or a value in the sign band gets
        NumPy's sign count, and an extreme of zero NumPy's reduction (which of
        0.0 and -0.0 it gives is NumPy's choice): the numbers of the NumPy path."""
        lo, hi, nan, inside, changes, first, last, total, variation = got
        signs = (self.signs_in, self.signs_out)[side][c]
        los, his = (self.lo_in, self.lo_out)[side], (self.hi_in, self.hi_out)[side]
        if nan or inside or lo == 0.0 or hi == 0.0:
            column = np.ascontiguousarray(x[:, c])
            lo, hi = column.min(), column.max()
            signs.add(column)
        else:
            piece = stability.SignCount(signs.tol)
            piece.count = changes
            piece.first, piece.last = (1.0 if first else -1.0), (1.0 if last else -1.0)
            signs.merge(piece)
        los[c] = min(los[c], lo)
        his[c] = max(his[c], hi)
        (self.tv_in, self.tv_out)[side][c].append(variation)
        (self.sum_in, self.sum_out)[side][c].append(total)

    def after(self, f: np.ndarray, u: np.ndarray) -> None:
        """This measure's piece starts after rows ``f``, ``u`` (the one or two rows
        before it, working dtype): the differences across the cut are its own."""
        f64 = np.asarray(f, dtype=np.float64).reshape(f.shape[0], -1).T
        u64 = np.asarray(u, dtype=np.float64).reshape(u.shape[0], -1).T
        self.last_in, self.last_out = f64[:, -1].copy(), u64[:, -1].copy()
        if self.regularise:  # the residual of the row before waits for this piece
            left = np.zeros((self.channels, 1))  # zero flux before the first sample
            if u64.shape[1] > 1:
                left = self.plan.nl.phi(np.diff(u64[:, -2:], axis=1) / self.plan.h)
            self._pending = (u64[:, -1:].copy(), f64[:, -1:].copy(), left)

    def __getstate__(self) -> dict:
        """Without the scratch arrays (a chunk's size each): a measure sent between
        processes carries only what it measured."""
        return {**self.__dict__, "_scratch": _Scratch()}

    def merge(self, later: StreamMeasure) -> None:
        """Take in the measure of the piece right after this one's (see :meth:`after`)."""
        self.n += later.n
        for a, b in ((self.lo_in, later.lo_in), (self.lo_out, later.lo_out)):
            np.fmin(a, b, out=a)
        for a, b in ((self.hi_in, later.hi_in), (self.hi_out, later.hi_out)):
            np.fmax(a, b, out=a)
        sums = ["tv_in", "tv_out", "sum_in", "sum_out"]
        if self.regularise:
            sums += ["sq", "psi_in", "psi_out"]
            self.residual = np.maximum(self.residual, later.residual)
            self._pending = later._pending
        for name in sums:
            for mine, theirs in zip(getattr(self, name), getattr(later, name), strict=True):
                mine.extend(theirs)
        pairs = zip(self.signs_in + self.signs_out, later.signs_in + later.signs_out, strict=True)
        for mine, theirs in pairs:
            mine.merge(theirs)
        self.last_in, self.last_out = later.last_in, later.last_out
        self.wavelet_max = max(self.wavelet_max, later.wavelet_max)

    def _add_energies(self, c: int, fc, uc, df, du) -> None:
        """Channel c's energy terms: ``df``/``du`` are the differences of input and
        output from the previous core's last sample on."""
        nl, h = self.plan.nl, self.plan.h
        self.sq[c].append(float(((uc - fc) ** 2).sum()))
        self.psi_in[c].append(float(nl.psi(df / h).sum()))
        self.psi_out[c].append(float(nl.psi(du / h).sum()))

    def _add_residual(self, f64, u64) -> None:
        """The Euler-Lagrange residual; arrays are (channels, samples)."""
        nl, alpha, h = self.plan.nl, self.plan.alpha, self.plan.h
        # Residual u - f - alpha D-(Phi(D+ u)) of each sample once its right neighbour is
        # known; elementwise the operations of stability.euler_lagrange_residual.
        if self._pending is None:
            uu, ff = u64, f64
            left = np.zeros((self.channels, 1))  # zero flux before the first sample
        else:
            pu, pf, left = self._pending
            uu, ff = np.concatenate([pu, u64], axis=1), np.concatenate([pf, f64], axis=1)
        flux = nl.phi(np.diff(uu, axis=1) / h)  # between consecutive samples of uu
        if flux.shape[1]:
            fluxes = np.concatenate([left, flux], axis=1)  # left and right flux of uu[:, :-1]
            res = uu[:, :-1] - ff[:, :-1] - alpha * (np.diff(fluxes, axis=1) / h)
            self.residual = np.maximum(self.residual, np.abs(res).max(axis=1))
            left = flux[:, -1:]
        self._pending = (uu[:, -1:].copy(), ff[:, -1:].copy(), left)  # uu may be scratch

    def _finish_regularise(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        alpha, h = self.plan.alpha, self.plan.h
        pu, pf, left = self._pending
        fluxes = np.concatenate([left, np.zeros((self.channels, 1))], axis=1)  # zero flux after
        res = pu - pf - alpha * (np.diff(fluxes, axis=1) / h)
        residual = np.maximum(self.residual, np.abs(res).max(axis=1))
        e_in = np.array([alpha * _fsum(v) for v in self.psi_in])
        e_out = np.array(
            [_fsum(self.sq[c]) + alpha * _fsum(self.psi_out[c]) for c in range(self.channels)]
        )
        return e_in, e_out, residual

    def checks(self) -> list[stability.ChannelCheck]:
        """The per-channel checks, as ``stability.measure_channels`` gives them."""
        out = []
        for c in range(self.channels):
            mean_out = _fsum(self.sum_out[c]) / self.n / self.scale
            drift = mean_out - _fsum(self.sum_in[c]) / self.n / self.scale
            out.append(
                stability.channel_check(
                    float(self.lo_in[c]),
                    float(self.hi_in[c]),
                    float(self.lo_out[c]),
                    float(self.hi_out[c]),
                    self.signs_in[c].count,
                    self.signs_out[c].count,
                    _fsum(self.tv_in[c]),
                    _fsum(self.tv_out[c]),
                    drift,
                    self.n,
                    self.tol,
                    self.scale,
                )
            )
        if self.regularise:
            e_in, e_out, res = self._finish_regularise()
            for c, ch in enumerate(out):
                ch.extra.update(
                    energy_in=float(e_in[c]), energy_out=float(e_out[c]), el_residual=float(res[c])
                )
        return out

    def report(self, verdict, sigma: np.ndarray, estimator: str = "quiet-windows") -> dict:
        """``analyse_run``'s dictionary (``sigma``: the noise estimate of the input,
        by ``estimator``)."""
        report = build_report(
            self.plan, verdict, self.checks(), self.tol, sigma, self.dtype, estimator
        )
        if self.check_wavelet:
            report["wavelet_check"] = {"max_abs_difference": self.wavelet_max}
        return report


def _stats_kernel(f: np.ndarray, u: np.ndarray, tol: float):
    """The compiled module for :meth:`StreamMeasure.add` on these cores (float64,
    C-contiguous, a band ``tol >= 0``), or None: the NumPy path."""
    if not (tol >= 0 and f.shape[0] and f.dtype == np.float64 and u.dtype == np.float64):
        return None
    if not (f.flags.c_contiguous and u.flags.c_contiguous):
        return None
    return _compiled_stats()


def _compiled_stats():
    """The compiled module where it is built with ``column_stats``, else None."""
    module = _kernels()
    return module if hasattr(module, "column_stats") else None


def _fsum(values) -> float:
    """``math.fsum``, or the plain sum (infinite) where the exact sum overflows."""
    try:
        return math.fsum(values)
    except OverflowError:
        return float(np.sum(np.asarray(values, dtype=float)))
