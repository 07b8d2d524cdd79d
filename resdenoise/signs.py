"""Sign changes of a signal, counted outside a band around zero, whole or piece by piece.

The measured sign stability of :mod:`resdenoise.stability` (the paper, section 3:
a sign-stable run makes no new sign changes); :class:`SignCount` counts a channel
over consecutive pieces, as a streamed run measures it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SignCount", "sign_changes"]


def sign_changes(u: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Sign changes along axis 0, ignoring values with ``|u| <= tol``.

    Returns one count per channel (a scalar array for 1D input).  In the
    order of the values: ``s = sign(u)``, ``s = 0`` where ``|u| <= tol``, the
    zeros dropped, then the neighbours that differ (NaN differs from all).
    """
    u = np.asarray(u)
    cols = u.reshape(u.shape[0], -1)
    out = []
    for c in range(cols.shape[1]):
        count = SignCount(tol)
        count.add(cols[:, c])
        out.append(count.count)
    return np.array(out)


def _nonzero_signs(col: np.ndarray, tol: float) -> np.ndarray:
    """The signs (+-1 or NaN) of col's values outside ``|x| <= tol``, in order."""
    s = np.sign(col)
    s[np.abs(col) <= tol] = 0
    return s[s != 0]


class SignCount:
    """:func:`sign_changes` of one channel, over consecutive pieces of it.

    Pieces counted apart (in parallel) join with :meth:`merge`: ``first`` and
    ``last`` are the first and last signs outside the band.
    """

    def __init__(self, tol: float):
        self.tol = tol
        self.count = 0
        self.first = self.last = None

    def merge(self, later: SignCount) -> None:
        """Add the count of the piece that follows this one (counted on its own)."""
        if later.first is None:
            return
        if self.last is None:
            self.first = later.first
        elif later.first != self.last:
            self.count += 1
        self.count += later.count
        self.last = later.last

    def add(self, col: np.ndarray) -> None:
        tol = self.tol
        if not tol >= 0:  # a negative (or NaN) band keeps what sign() makes 0
            return self._add_signs(_nonzero_signs(col, tol))
        # Outside the band |x| <= tol the sign is +-1: one boolean per value
        # (positive or not) instead of float signs; the same comparisons as
        # np.abs(col) <= tol on either side of zero.
        pos = col > tol
        kept = pos | (col < -tol)
        if np.count_nonzero(kept) < kept.size:
            if np.isnan(col).any():
                # a NaN stays in sign()'s sequence and differs from everything,
                # itself included: the float signs say so
                return self._add_signs(_nonzero_signs(col, tol))
            pos = pos[kept]
        if not pos.size:
            return
        self.count += int(np.count_nonzero(pos[1:] != pos[:-1]))
        first, last = (1.0 if pos[0] else -1.0), (1.0 if pos[-1] else -1.0)
        if self.last is None:
            self.first = first
        elif first != self.last:
            self.count += 1
        self.last = last

    def _add_signs(self, s: np.ndarray) -> None:
        """Add the signs (+-1 or NaN) of the values outside the band."""
        if not s.size:
            return
        self.count += int(np.count_nonzero(s[1:] != s[:-1]))
        if self.last is None:
            self.first = s[0]
        elif s[0] != self.last:
            self.count += 1
        self.last = s[-1]
