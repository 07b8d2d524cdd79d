"""A run's measurements, one piece of the signal at a time.

What :func:`resdenoise.filters.analyse_run` measures on the whole signal
is accumulated piece by piece (:class:`StreamMeasure`; the chunks of a
streamed run, :mod:`resdenoise.stream`): minima, maxima and sign changes
exactly (the last sign of a piece is carried to the next), the
Euler-Lagrange residual of ``regularise`` exactly (the residual of a piece's
last sample waits for the next piece).  Sums (total variation, means,
energies, MSE) are summed in the pieces of one fixed grid of rows
(:data:`GRID_ROWS` from the first row; :class:`Grid` cuts chunks of any
size into them, holding the rows of a piece that spans two chunks) and the
pieces' sums added exactly (``math.fsum``); the whole-signal path
(:func:`measure_run`, :func:`compare_whole`) sums the same pieces the same
way: a streamed report is the whole-file report bit for bit, whatever the
chunk size.  Where the compiled module is built, a float64 piece's extremes, sign
changes, sums and total variation are taken in one compiled pass per column
(``_kernels.column_stats``: NumPy's pairwise sums of the same values, the
same bits; after the first piece ``_kernels.columns_stats``, every column in
one walk over the rows) instead of a transposed copy and eight NumPy passes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from . import stability
from .engine import _kernels
from .quality import _db
from .selection import Scratch as _Scratch

__all__ = [
    "GRID_ROWS",
    "Grid",
    "QualitySums",
    "StreamMeasure",
    "compare_whole",
    "grid_pieces",
    "measure_input",
    "measure_run",
]


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


#: Rows per measured piece: a run's sums are summed piece by piece on this grid of
#: rows from the first (NumPy's pairwise sum within a piece), and the pieces' sums
#: added exactly (``math.fsum``), however the signal comes (whole, or in chunks of
#: any size): the same numbers.  A multiple of it divides :data:`DEFAULT_CHUNK`
#: of :mod:`resdenoise.stream`: its chunks need no rows held over.
GRID_ROWS = 1 << 16


class Grid:
    """Consecutive arrays (rows of the same signal, side by side) cut again into
    pieces of ``rows`` rows (default :data:`GRID_ROWS`) from the signal's first row: :meth:`pieces` yields
    each whole piece as soon as its rows have come (views of the arrays given,
    or joined copies across their ends), :meth:`rest` the last, shorter one.
    The rows after the last whole piece are held (copied) until the next call."""

    def __init__(self, rows: int | None = None):
        rows = GRID_ROWS if rows is None else rows
        if rows < 1:
            raise ValueError(f"rows must be >= 1, got {rows}")
        self.rows = rows
        self._held: list | None = None  # copies of the rows since the last whole piece

    @property
    def held(self) -> int:
        """The rows held for the next piece."""
        return 0 if self._held is None else self._held[0].shape[0]

    def pieces(self, *arrays: np.ndarray) -> Iterator[tuple]:
        k, a = arrays[0].shape[0], 0
        if self._held is not None:
            take = min(self.rows - self.held, k)
            joined = [
                np.concatenate([h, x[:take]]) for h, x in zip(self._held, arrays, strict=True)
            ]
            a = take
            if joined[0].shape[0] < self.rows:
                self._held = joined
                return
            self._held = None
            yield tuple(joined)
        while k - a >= self.rows:
            yield tuple(x[a : a + self.rows] for x in arrays)
            a += self.rows
        if a < k:
            self._held = [x[a:].copy() for x in arrays]  # the arrays may be reused after

    def rest(self) -> Iterator[tuple]:
        """The held rows as the last piece (where any are held)."""
        if self._held is not None:
            held, self._held = self._held, None
            yield tuple(held)


def grid_pieces(*arrays: np.ndarray) -> Iterator[tuple]:
    """The pieces of a whole signal (``arrays`` side by side) on the grid of
    :data:`GRID_ROWS`: what a :class:`Grid` fed them in any cuts yields (an array
    given as None: None in each piece)."""
    k = next(x for x in arrays if x is not None).shape[0]
    for a in range(0, k, GRID_ROWS):
        yield tuple(None if x is None else x[a : a + GRID_ROWS] for x in arrays)


class StreamMeasure:
    """:func:`resdenoise.filters.analyse_run`'s measurements, one chunk core at a time.

    Feed the cores in order with :meth:`add` (the input as the file holds it,
    the output in the working dtype), then :meth:`report` gives the same
    dictionary as ``analyse_run`` on the whole signal, bit for bit: the cores
    are measured in the pieces of a :class:`Grid` of :data:`GRID_ROWS` rows,
    as ``analyse_run`` measures the whole signal (:meth:`add_whole`), and the
    pieces' sums added by ``math.fsum``.  ``frames``: the signal's length,
    where known: near the float64 maximum the sums are then taken of the
    samples times a power of two (:func:`stability.sum_scale` of ``reach``,
    the largest ``|sample|`` of input and output where known, default
    ``amplitude``), so that none can overflow.  ``amplitude``: ``max |f|`` over all
    channels (the report's ``tolerance``); ``amplitudes``: each channel's own
    ``max |f|`` (default ``amplitude`` for all), whose ulp its checks go by: each
    channel is its own signal, a quiet one beside a loud one measured in its own
    ulp, not the loud one's (where its sign changes and range would vanish).

    Or measure pieces apart (in parallel, :func:`resdenoise.dask.measure_array`):
    ``per_add=True`` (each :meth:`add` is a piece of its own), one measure per
    piece, told the two rows before it with :meth:`after`, then :meth:`merge`
    each into the one before, in order: the same numbers as one measure fed the
    pieces in turn (a measure on the grid merges only with nothing held).
    """

    def __init__(
        self,
        plan,
        channels: int,
        amplitude: float,
        dtype,
        check_wavelet=False,
        frames=None,
        *,
        reach: float | None = None,
        per_add: bool = False,
        amplitudes=None,
    ):
        self.plan = plan
        self.channels = channels
        self.amplitude = amplitude
        dtype = np.dtype(np.float64 if dtype is None else dtype)
        self.dtype = dtype
        self.tol = stability.tolerances(np.array([amplitude]), plan.steps, dtype)
        # each channel is its own signal: its checks in the ulp of its own max |f|
        amps = [amplitude] * channels if amplitudes is None else list(amplitudes)
        if len(amps) != channels:
            raise ValueError(f"{len(amps)} amplitudes for {channels} channels")
        self.tols = [stability.tolerances(np.array([a]), plan.steps, dtype) for a in amps]
        reach = amplitude if reach is None else reach
        self.scale = 1.0 if frames is None else stability.sum_scale(reach, frames)
        self.grid = None if per_add else Grid()
        self._side_grids = (Grid(), Grid())  # of add_input and add_output
        self.n = 0
        self.lo_in = np.full(channels, np.inf)
        self.hi_in = np.full(channels, -np.inf)
        self.lo_out = np.full(channels, np.inf)
        self.hi_out = np.full(channels, -np.inf)
        self.signs_in = [stability.SignCount(t["range"]) for t in self.tols]
        self.signs_out = [stability.SignCount(t["range"]) for t in self.tols]
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
        self._side_scratch = (_Scratch(), _Scratch())  # one side alone: a thread each

    @property
    def sides_apart(self) -> bool:
        """Whether a core's input and output may be measured apart (:meth:`add_input`,
        :meth:`add_output`): not for ``regularise``, whose energies need both, nor with
        ``check_wavelet``, which compares the output with the chunk's run."""
        return not (self.regularise or self.check_wavelet)

    def add(self, f: np.ndarray, u: np.ndarray, chunk=None) -> None:
        """The next core: ``f`` input, ``u`` output (working dtype, same shape);
        ``chunk``: its :class:`resdenoise.stream.Chunk` (for ``check_wavelet``)."""
        if self.grid is None:
            self._add_piece(f, u)
        else:
            for fp, up in self.grid.pieces(f, u):
                self._add_piece(fp, up)
        if self.check_wavelet and chunk is not None:
            ref = self.plan.wavelet_reference(chunk.x)[chunk.core]  # as analyse_run's
            self.wavelet_max = max(self.wavelet_max, float(np.max(np.abs(ref - u))))

    def add_whole(self, f: np.ndarray | None, u: np.ndarray | None) -> None:
        """The whole signal's input ``f`` and output ``u`` at once, in the grid's
        pieces: the numbers of :meth:`add` fed them in cores of any size.  One
        of them may be None: that side is measured by a second call (the input
        before a run that overwrites it; not for ``regularise``)."""
        if self.n or self.grid is None or self.grid.held:
            raise ValueError("add_whole measures a whole signal on the grid, from its start")
        for fp, up in grid_pieces(f, u):
            self._add_piece(fp, up, shared=True)

    def add_input(self, f: np.ndarray) -> None:
        """The next core's input alone (its output by :meth:`add_output`, in the same
        cores, whenever: the two sides keep apart, a thread each may feed one; not
        for ``regularise``, whose energies need both, nor ``check_wavelet``)."""
        self._add_side(0, f)

    def add_output(self, u: np.ndarray) -> None:
        """The next core's output alone (see :meth:`add_input`)."""
        self._add_side(1, u)

    def _add_side(self, side: int, x: np.ndarray) -> None:
        if not self.sides_apart or self.grid is None or self.grid.held:
            raise ValueError("one side alone: on the grid, not with add(), regularise or wavelets")
        for (piece,) in self._side_grids[side].pieces(x):
            self._add_piece(*((piece, None) if side == 0 else (None, piece)))

    def _flush(self) -> None:
        """Measure the rows held for the grid's last piece."""
        if self.grid is not None:
            for fp, up in self.grid.rest():
                self._add_piece(fp, up)
        for side, grid in enumerate(self._side_grids):
            for (piece,) in grid.rest():
                self._add_piece(*((piece, None) if side == 0 else (None, piece)))

    def _add_piece(self, f: np.ndarray | None, u: np.ndarray | None, shared=False) -> None:
        """One piece's measurements (a side given as None: not measured; ``shared``:
        in the scratch of both sides, the sides measured one after the other)."""
        if self.regularise or self.scale != 1.0 or not self._add_compiled(f, u):
            self._add_numpy(f, u, shared)
        if u is not None:
            self.n += u.shape[0]

    def _sides(self, f, u) -> list[tuple]:
        """``(side, x)`` of the sides given (0 input, 1 output)."""
        return [(side, x) for side, x in ((0, f), (1, u)) if x is not None]

    def _add_numpy(self, f: np.ndarray | None, u: np.ndarray | None, shared=False) -> None:
        # one contiguous row per channel: reductions along rows are fast
        scratch = self._scratch
        if (f is None or u is None) and not shared:  # one side alone (maybe in a thread)
            scratch = self._side_scratch[0 if u is None else 1]
        rows = {}
        for side, x in self._sides(f, u):
            if side == 0:  # the input: measured as the file's values only (float64)
                xr = x64 = scratch.rows("f", x, np.float64)
            else:
                xr = scratch.rows("u", x)
                x64 = xr if xr.dtype == np.float64 else scratch.rows("u64", x, np.float64)
            rows[side] = (xr, x64)
        if self.regularise:
            if len(rows) < 2:
                raise ValueError("regularise's energies need input and output together")
            self._add_energies(rows[0][1], rows[1][1])
        for side, (xr, x64) in rows.items():
            los, his = (self.lo_in, self.lo_out)[side], (self.hi_in, self.hi_out)[side]
            signs = (self.signs_in, self.signs_out)[side]
            tvs, sums = (self.tv_in, self.tv_out)[side], (self.sum_in, self.sum_out)[side]
            last = (self.last_in, self.last_out)[side]
            for c in range(self.channels):
                xc = x64[c]
                los[c] = min(los[c], xc.min())
                his[c] = max(his[c], xc.max())
                # the output's signs in its own dtype; the input's as the file's values
                # (float64, also where a float32 file's values come as stored)
                signs[c].add(xr[c] if side else xc)
                # the differences from the previous core's last sample on, made in place
                # into their absolute values
                before = None if last is None else last[c]
                if self.scale != 1.0:  # near the float64 maximum: sums of scaled samples,
                    xc = xc * self.scale  # their differences too (those of the samples
                    before = None if before is None else before * self.scale  # overflow)
                d = _diff_after(xc, before, scratch, "d")
                tvs[c].append(float(np.abs(d, out=d).sum()))
                sums[c].append(float(xc.sum()))
        if self.regularise:
            self._add_residual(rows[0][1], rows[1][1])
        for side, (_, x64) in rows.items():
            if side:
                self.last_out = x64[:, -1].copy()
            else:
                self.last_in = x64[:, -1].copy()

    def _add_compiled(self, f: np.ndarray | None, u: np.ndarray | None) -> bool:
        """:meth:`add`'s measurements by the compiled loop, one pass per column of
        input and output, the same numbers (its sums are NumPy's pairwise sums of
        the same values); False (nothing done) where it does not apply."""
        # one walk of all columns in the widest band: a column with a value in it is
        # counted in its own band by NumPy (_take)
        tol = float(np.max([t["range"] for t in self.tols]))
        sides = self._sides(f, u)
        kernel = _stats_kernel([x for _, x in sides], tol)
        if kernel is None:
            return False
        k = sides[0][1].shape[0]
        for side, x in sides:
            x2 = x.reshape(k, -1).view(np.float64)
            last = (self.last_in, self.last_out)[side]
            if (
                last is not None
                and hasattr(kernel, "columns_stats")
                and self.channels <= stability.COMPILED_COLUMNS
            ):
                # after a core: every column in one walk over the rows (the same numbers)
                lasts = np.ascontiguousarray(last, dtype=np.float64)
                for c, got in enumerate(kernel.columns_stats(x2, lasts, tol)):
                    self._take(got, x2, c, side)
            else:
                for c in range(self.channels):
                    held = 0.0 if last is None else float(last[c])
                    band = float(self.tols[c]["range"])
                    got = kernel.column_stats(x2, self.channels, c, last is not None, held, band)
                    self._take(got, x2, c, side)
            if side:
                self.last_out = x2[-1].astype(np.float64)
            else:
                self.last_in = x2[-1].astype(np.float64)
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
        return {**self.__dict__, "_scratch": _Scratch(), "_side_scratch": (_Scratch(), _Scratch())}

    def merge(self, later: StreamMeasure) -> None:
        """Take in the measure of the piece right after this one's (see :meth:`after`)."""
        grids = [g for m in (self, later) for g in (m.grid, *m._side_grids) if g is not None]
        if any(g.held for g in grids):
            raise ValueError("a measure holding rows for its grid's next piece cannot merge")
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

    def _add_energies(self, f64: np.ndarray, u64: np.ndarray) -> None:
        """The energy terms of every channel (rows: channels), from the previous
        piece's last samples on."""
        nl, h, scratch = self.plan.nl, self.plan.h, self._scratch
        for c in range(self.channels):
            fc, uc = f64[c], u64[c]
            df = _diff_after(fc, None if self.last_in is None else self.last_in[c], scratch, "df")
            du = _diff_after(uc, None if self.last_out is None else self.last_out[c], scratch, "du")
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
        """The per-channel checks, as ``stability.measure_channels`` gives them
        (the rows held for the grid measured first: nothing can be added after)."""
        self._flush()
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
                    self.tols[c],
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

    def report(
        self, verdict, sigma: np.ndarray, estimator: str = "quiet-windows", labels=None
    ) -> dict:
        """``analyse_run``'s dictionary (``sigma``: the noise estimate of the input,
        by ``estimator``; ``labels``: how the messages name each channel)."""
        from .report import build_report  # not with the module: the whole path builds its own

        report = build_report(
            self.plan, verdict, self.checks(), self.tol, sigma, self.dtype, estimator, labels
        )
        if self.check_wavelet:
            report["wavelet_check"] = {"max_abs_difference": self.wavelet_max}
        return report


# --------------------------------------------------------------------------
# A whole signal, measured as a stream is
# --------------------------------------------------------------------------


def _whole_measure(plan, f: np.ndarray, dtype, reach_of=None) -> StreamMeasure:
    """A measure of the whole input ``f`` against an output of ``dtype`` (tolerances
    in the ulp of the coarser of the two); ``reach_of``: the output, whose largest
    ``|sample|`` the sums must hold too."""
    f2 = np.asarray(f).reshape(f.shape[0], -1)
    coarse = np.float32 if np.float32 in (f2.dtype, np.dtype(dtype)) else np.float64
    amps = stability.column_amplitudes(f2)  # each channel's; the largest is the input's
    amp = float(np.max(amps)) if amps else 0.0  # (range_amplitude's: one walk, not two)
    reach = amp
    if reach_of is not None:
        reach = max(amp, stability.range_amplitude(reach_of.reshape(reach_of.shape[0], -1)))
    return StreamMeasure(
        plan, f2.shape[1], amp, coarse, frames=f2.shape[0], reach=reach, amplitudes=amps
    )


def measure_input(plan, f: np.ndarray, dtype) -> StreamMeasure:
    """The input's share of :func:`measure_run`, taken before a run that may
    overwrite ``f`` (``dtype``: the output's; a plan without pre-stage, not
    ``regularise``); :attr:`StreamMeasure.amplitude` is ``max |f|``."""
    m = _whole_measure(plan, f, dtype)
    m.add_whole(f, None)
    return m


def measure_run(
    plan, f: np.ndarray | None, u: np.ndarray, measured: StreamMeasure | None = None
) -> tuple[list[stability.ChannelCheck], dict]:
    """``(checks, tol)`` of a run from ``f`` to ``u``, whole signals, as
    :class:`StreamMeasure` measures them in a streamed run (the same numbers, bit
    for bit): ranges, sign changes, total variation, mean drift (and
    ``regularise``'s energies and residual).  ``measured``: :func:`measure_input`
    of ``f``, taken before the run (``f`` is then not read); ValueError where
    the output's range would need its sums scaled (:func:`stability.sum_scale`)
    and the input's did not."""
    if measured is None:
        m = _whole_measure(plan, f, u.dtype, reach_of=np.asarray(u))
        m.add_whole(f, u)
    else:
        m = measured
        u2 = np.asarray(u).reshape(u.shape[0], -1)
        reach = max(m.amplitude, stability.range_amplitude(u2))
        if stability.sum_scale(reach, u2.shape[0]) != m.scale:
            raise ValueError(
                "the input was measured before the run unscaled; its sums need scaling"
            )
        m.add_whole(None, u)
    return m.checks(), m.tol


class QualitySums:
    """The MSE, SNR and PSNR per channel of the input and of the output against a clean
    reference (:mod:`resdenoise.quality`'s formulas), summed in the pieces of a
    :class:`Grid` of :data:`GRID_ROWS` rows (the pieces' sums added by ``math.fsum``), as
    :class:`StreamMeasure` sums: :meth:`add` consecutive parts of the signal in any cuts
    (a streamed run's cores), or :meth:`add_whole` the whole signal; :meth:`result` is the
    same dictionary either way, bit for bit: ``{"input": {"mse": [...], "snr_db": [...],
    "psnr_db": [...]}, "output": {...}}``, one number per channel (infinite values stay
    ``inf``; the JSON writer turns them into ``null``)."""

    def __init__(self, channels: int):
        self.n = 0
        self.err = {"input": [[] for _ in range(channels)], "output": [[] for _ in range(channels)]}
        self.power = [[] for _ in range(channels)]
        self.lo = np.full(channels, np.inf)
        self.hi = np.full(channels, -np.inf)
        self.exps: list[int] = []  # each piece's sums are in units of 2**exp (0: as they are)
        self.grid = Grid()

    def add(self, noisy, output, clean) -> None:
        """The next rows of the input, the output and the reference (the same rows)."""
        for piece in self.grid.pieces(noisy, output, clean):
            self._add_piece(*piece)

    def add_whole(self, noisy, output, clean) -> None:
        """The whole signal at once, in the grid's pieces: the numbers of :meth:`add`."""
        if self.n or self.grid.held:
            raise ValueError("add_whole measures a whole signal on the grid, from its start")
        for piece in grid_pieces(noisy, output, clean):
            self._add_piece(*piece)

    def _add_piece(self, noisy, output, clean) -> None:
        k = clean.shape[0]
        ref = np.asarray(clean, dtype=float).reshape(k, -1)
        self.n += k
        self.lo = np.minimum(self.lo, ref.min(axis=0))
        self.hi = np.maximum(self.hi, ref.max(axis=0))
        pair = [np.asarray(x, dtype=float).reshape(k, -1) for x in (noisy, output)]
        with np.errstate(over="ignore", invalid="ignore"):  # too large to square: scaled
            power = (ref**2).sum(axis=0)
            errs = [((x - ref) ** 2).sum(axis=0) for x in pair]
        exp = 0
        if not all(np.isfinite(v).all() for v in (power, *errs)):
            # samples beyond 1e154: squared in units of 2**(2 e), e their largest exponent
            top = max(float(np.abs(a).max(initial=0.0)) for a in (ref, *pair))
            e = math.frexp(top)[1] if math.isfinite(top) else 0
            ref = np.ldexp(ref, -e)
            power = (ref**2).sum(axis=0)
            errs = [((np.ldexp(x, -e) - ref) ** 2).sum(axis=0) for x in pair]
            exp = 2 * e
        self.exps.append(exp)
        for key, err in zip(("input", "output"), errs, strict=True):
            for c, v in enumerate(err):
                self.err[key][c].append(float(v))
        for c, v in enumerate(power):
            self.power[c].append(float(v))

    def result(self) -> dict:
        """The dictionary (the rows held for the grid's last piece measured first)."""
        for piece in self.grid.rest():
            self._add_piece(*piece)
        top = max(self.exps, default=0)  # all sums in units of 2**top (0: as they are)

        def total(values: list) -> float:
            if not top:
                return math.fsum(values)
            return math.fsum(math.ldexp(v, e - top) for v, e in zip(values, self.exps, strict=True))

        power = np.array([total(v) for v in self.power])
        span = np.ldexp(self.hi, -top // 2) - np.ldexp(self.lo, -top // 2)
        out = {}
        for key in ("input", "output"):
            err = np.array([total(v) for v in self.err[key]])
            mse = err / self.n
            with np.errstate(over="ignore"):  # an MSE beyond float64 (1e308): inf
                shown = np.ldexp(mse, top) if top else mse
            out[key] = {
                "mse": [float(v) for v in shown],
                "snr_db": [float(v) for v in _db(power, err)],
                "psnr_db": [float(v) for v in _db(span**2, mse)],
            }
        return out


def compare_whole(noisy: np.ndarray, output: np.ndarray, clean: np.ndarray) -> dict:
    """:class:`QualitySums`' dictionary of the whole signal, summed as a streamed run sums
    it: the same numbers, bit for bit.

    Examples
    --------
    >>> q = compare_whole(np.array([1.0, 2.0]), np.array([1.0, 3.0]), np.array([1.0, 3.0]))
    >>> q["input"]["mse"], q["output"]["mse"]
    ([0.5], [0.0])
    """
    sums = QualitySums(1 if clean.ndim == 1 else clean.shape[1])
    sums.add_whole(noisy, output, clean)
    return sums.result()


def _stats_kernel(arrays: list, tol: float):
    """The compiled module for :meth:`StreamMeasure.add` on these pieces (float64,
    C-contiguous, a band ``tol >= 0``), or None: the NumPy path."""
    if not (tol >= 0 and arrays[0].shape[0]):
        return None
    if not all(x.dtype == np.float64 and x.flags.c_contiguous for x in arrays):
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
