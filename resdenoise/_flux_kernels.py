"""Allocation-free flux kernels for the engine (owned with resdenoise/engine.py).

``xxx_phi_into(r, out, lam, work)`` writes ``Phi(r)`` into ``out`` with ufunc
``out=`` arguments only, performing the same operations in the same order as
the closed form ``xxx_phi`` of :mod:`resdenoise._families`, so in float64 the
numbers are the same bit for bit.  ``work = (tmp, bits)``: a float array and a
signed integer array of the same item size, both of r's shape, which the kernel
may overwrite; ``r`` is left untouched and its dtype (float32 or float64) is
kept throughout.  Selections (``np.where``) are done on the bit patterns with
an all-ones or all-zeros integer mask, which needs neither a cast nor a buffer.

The registry (:mod:`resdenoise.nonlinearities`) attaches them to its entries;
this module imports nothing of resdenoise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FluxKernel = Callable[[np.ndarray, np.ndarray, float, tuple], np.ndarray]


def _int_view(a: np.ndarray) -> np.ndarray:
    return a.view(np.int64 if a.dtype.itemsize == 8 else np.int32)


def _select_mask(r, lam, work):
    """All-ones bits where ``|r| <= lam``, zero bits elsewhere (NaN too), in ``work[1]``.

    Bit patterns of non-negative floats are ordered as their values, so with
    ``a = bits(|r|)`` and ``b = bits(lam)``: ``|r| <= lam`` iff ``a - b - 1 < 0``,
    and an arithmetic right shift by all but one bit turns that sign into the mask.
    """
    bits = work[1]
    top = np.iinfo(bits.dtype).max  # every bit but the sign
    np.bitwise_and(_int_view(r), top, out=bits)
    np.subtract(bits, int(np.array(lam, dtype=r.dtype).view(bits.dtype)) + 1, out=bits)
    return np.right_shift(bits, 8 * bits.itemsize - 1, out=bits)


def lin_phi_into(r, out, lam, work):
    return np.positive(r, out=out)  # a copy; faster than copyto for mid sizes


def cha_phi_into(r, out, lam, work):
    tmp = work[0]
    np.divide(r, lam, out=tmp)
    with np.errstate(over="ignore"):  # |r/lam| > 1e154: +-lam below, Phi's limit
        np.square(tmp, out=tmp)
    np.add(tmp, 1.0, out=tmp)
    np.sqrt(tmp, out=tmp)
    np.divide(r, tmp, out=out)
    if not tmp.max(initial=0.0) < np.inf:  # an overflow (or NaN in r)
        np.copysign(lam, r, out=out, where=tmp == np.inf)
    return out


def soft_phi_into(r, out, lam, work):
    return np.clip(r, -lam, lam, out=out)


def pm_phi_into(r, out, lam, work):
    tmp = work[0]
    np.multiply(r, r, out=tmp)
    np.divide(tmp, -(2.0 * lam * lam), out=tmp)  # -(a)/b == a/(-b) exactly
    np.exp(tmp, out=tmp)
    return np.multiply(r, tmp, out=out)


def gar_phi_into(r, out, lam, work):
    mask = _select_mask(r, lam, work)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # only where |r| <= lam
        np.divide(lam * lam, r, out=out)
    # out = where(mask, r, far) as bits: far ^ ((far ^ r) & mask)
    far, flip = _int_view(out), _int_view(work[0])
    np.bitwise_xor(far, _int_view(r), out=flip)
    np.bitwise_and(flip, mask, out=flip)
    np.bitwise_xor(far, flip, out=far)
    return out


def hard_phi_into(r, out, lam, work):
    mask = _select_mask(r, lam, work)
    np.bitwise_and(_int_view(r), mask, out=_int_view(out))  # r, or the bits of +0.0
    return out


def tanh_phi_into(r, out, lam, work):
    np.divide(r, lam, out=out)
    np.tanh(out, out=out)
    return np.multiply(out, lam, out=out)


def softsign_phi_into(r, out, lam, work):
    tmp = work[0]
    np.abs(r, out=tmp)
    np.divide(tmp, lam, out=tmp)
    np.add(tmp, 1.0, out=tmp)
    return np.divide(r, tmp, out=out)


def arctan_phi_into(r, out, lam, work):
    np.divide(r, lam, out=out)
    np.arctan(out, out=out)
    return np.multiply(out, lam, out=out)
