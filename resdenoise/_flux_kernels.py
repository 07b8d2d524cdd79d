"""Allocation-free flux kernels for the engine (owned with resdenoise/stepper.py).

``xxx_phi_into(r, out, lam, work)`` writes ``Phi(r)`` into ``out`` with ufunc
``out=`` arguments only, performing the same operations in the same order as
the closed form ``xxx_phi`` of :mod:`resdenoise._families`, so in float64 the
numbers are the same bit for bit.  ``work = (tmp, bits)``: a float array and a
signed integer array of the same item size, both of r's shape, which the kernel
may overwrite; ``r`` is left untouched and its dtype (float32 or float64) is
kept throughout.  Selections (``np.where``) are done on the bit patterns with
an all-ones or all-zeros integer mask, which needs neither a cast nor a buffer.

Where a square would over- or underflow in r's dtype they switch to the
scaled forms the closed forms switch to (:func:`resdenoise._families.pm_scaled`
and the others), on the same conditions, so they stay equal to them.

The registry's rows (:mod:`resdenoise._entries`; the bumps family's in
:mod:`resdenoise.nonlinearities`) attach them; of resdenoise this module imports
only those conditions, and the compiled module for the bumps family's rows
(:func:`bump_rows`: the squarings and the tail) and their weighted sum
(:func:`bump_sum`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ._families import below_normal, bump_basis, bumps_sum, gar_scaled, pm_scaled

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


def _blend(mask, near, out, work):
    """``out = where(mask, near, out)`` on the bit patterns: out ^ ((out ^ near) & mask)."""
    far, flip = _int_view(out), _int_view(work[0])
    np.bitwise_xor(far, _int_view(near), out=flip)
    np.bitwise_and(flip, mask, out=flip)
    np.bitwise_xor(far, flip, out=far)
    return out


def _tiny_mask(r, lam, work):
    """All-ones bits in ``work[1]`` where ``r / lam`` underflows (``|r| < lam tiny``,
    tiny the smallest normal number), zero bits elsewhere; None, and nothing
    written, where no nonzero r does.  Only for lam > 1 (where lam tiny is exact):
    with lam <= 1, lam (r / lam) rounds to r there anyway."""
    if not lam > 1.0:
        return None
    bits = work[1]
    np.bitwise_and(_int_view(r), np.iinfo(bits.dtype).max, out=bits)
    below = int(np.array(lam * below_normal(r.dtype), dtype=r.dtype).view(bits.dtype))
    np.subtract(bits, 1, out=bits)  # 0 -> -1, the largest as unsigned: zeros do not count
    if bits.view(np.uint64 if bits.itemsize == 8 else np.uint32).min() >= below - 1:
        return None
    np.subtract(bits, below - 1, out=bits)  # negative below (and at 0, where r is Phi too)
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
    with np.errstate(over="ignore"):  # exp(-inf) = 0, the limit
        if pm_scaled(lam, r.dtype):  # 2 lam^2 not normal: -(r/lam)^2 / 2
            np.divide(r, lam, out=tmp)
            np.multiply(tmp, tmp, out=tmp)
            np.multiply(tmp, -0.5, out=tmp)
        else:
            np.multiply(r, r, out=tmp)
            np.divide(tmp, -(2.0 * lam * lam), out=tmp)  # -(a)/b == a/(-b) exactly
    np.exp(tmp, out=tmp)
    return np.multiply(r, tmp, out=out)


def gar_phi_into(r, out, lam, work):
    mask = _select_mask(r, lam, work)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # only where |r| <= lam
        if gar_scaled(lam, r.dtype):  # lam^2 not normal: lam (lam / r)
            np.divide(lam, r, out=out)
            np.multiply(out, lam, out=out)
        else:
            np.divide(lam * lam, r, out=out)
    return _blend(mask, r, out, work)  # r where |r| <= lam


def hard_phi_into(r, out, lam, work):
    mask = _select_mask(r, lam, work)
    np.bitwise_and(_int_view(r), mask, out=_int_view(out))  # r, or the bits of +0.0
    return out


def tanh_phi_into(r, out, lam, work):
    small = _tiny_mask(r, lam, work)
    np.divide(r, lam, out=out)
    np.tanh(out, out=out)
    np.multiply(out, lam, out=out)
    return out if small is None else _blend(small, r, out, work)  # r where r/lam underflowed


def softsign_phi_into(r, out, lam, work):
    tmp = work[0]
    np.abs(r, out=tmp)
    with np.errstate(over="ignore", invalid="ignore"):  # inf, and inf / inf: set below
        np.divide(tmp, lam, out=tmp)
        np.add(tmp, 1.0, out=tmp)
        np.divide(r, tmp, out=out)
    # where |r|/lam overflows (lam < 1) or r is +-inf (a difference that overflowed the
    # dtype): Phi's limit +-lam, as the compiled loop gives
    if not tmp.max(initial=0.0) < np.inf:  # (or NaN in r)
        np.copysign(lam, r, out=out, where=tmp == np.inf)  # not r / inf = 0
    return out


def arctan_phi_into(r, out, lam, work):
    small = _tiny_mask(r, lam, work)
    np.divide(r, lam, out=out)
    np.arctan(out, out=out)
    np.multiply(out, lam, out=out)
    return out if small is None else _blend(small, r, out, work)  # r where r/lam underflowed


def _bump_checks() -> np.ndarray:
    """Values on which :func:`bump_rows` must give NumPy's bumps: seeded, from 1e-30 to
    1e30 and about both of Borges' branches (x near 1/sqrt3 and sqrt3), with the edges
    (0, 2^-54, 2^54, 2^±511, the largest float, inf, nan) and their negatives."""
    rng = np.random.default_rng(20200207)
    edges = [0.0, 1.0, 2.0**-54, 2.0**-53, 2.0**54, 2.0**511, 2.0**-511, 5e-324]
    edges += [3.0**0.5, 3.0**-0.5, 1.7976931348623157e308, np.inf, np.nan]
    x = np.concatenate(
        [
            10.0 ** rng.uniform(-30, 30, 4096),
            np.abs(rng.normal(0.0, 1.0, 4096)),
            rng.uniform(0.5, 2.0, 4096),
            edges,
        ]
    )
    return np.concatenate([x, -x])


def _compiled(name: str):
    """The compiled module's function ``name``, or None (not built, or an older build)."""
    try:
        from . import _kernels
    except ImportError:
        return None
    return getattr(_kernels, name, None)


def _verified(name: str, agrees: Callable[[Callable], bool]):
    """The compiled function ``name`` where it exists and ``agrees(it)``, else None."""
    compiled = _compiled(name)
    return compiled if compiled is not None and agrees(compiled) else None


def _rows_agree(compiled) -> bool:
    """Whether ``compiled`` gives NumPy's bumps bit for bit on :func:`_bump_checks`."""
    x = _bump_checks()
    for count in (3, 32):  # one level of squarings; 30, down to scale 2^-15
        ours = bump_basis(x, count, rows=compiled)
        if not np.array_equal(ours.view(np.int64), bump_basis(x, count).view(np.int64)):
            return False
    return True


def _sum_agrees(compiled) -> bool:
    """Whether ``compiled`` gives NumPy's weighted sum bit for bit on :func:`_bump_checks`."""
    x = _bump_checks()
    with np.errstate(over="ignore"):  # inf among the terms, as bumps_sum may meet
        terms = np.stack([x, x[::-1], np.abs(x) / 3.0, x * x])
    c = np.array([0.3, 1e-300, 7.0, 1.5])
    out = np.empty(x.size)
    compiled(c, terms, out)
    expected = bumps_sum(c, terms)
    return bool(np.array_equal(out.view(np.int64), expected.view(np.int64)))


@functools.cache
def bump_rows() -> Callable[[np.ndarray, np.ndarray], None] | None:
    """``rows(x, basis)`` of :func:`resdenoise._families.bump_basis`: the compiled
    squarings (:func:`resdenoise._families.bump_rows_numpy`'s) and tail
    ``1 / hypot(1, x)`` in one pass (NumPy's ``np.hypot`` loop costs
    about 10 ns a value, 85 % of the bumps family's flux), where they give NumPy's bumps
    bit for bit on :func:`_bump_checks`' values (the tail follows glibc's hypot, 2.35 and
    later), else None: NumPy's, so that the bumps' numbers never depend on which runs."""
    return _verified("bump_rows", _rows_agree)


@functools.cache
def bump_sum() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    """``summed(c, terms, out)`` of :func:`resdenoise._families.bumps_sum`: the compiled
    weighted sum of the bumps in one pass over cache-sized blocks (NumPy's 2K - 1 passes
    cost 3-4 times as much, more than np.tensordot did), where it gives NumPy's sum bit
    for bit on :func:`_bump_checks`' values (built without fused multiply-add, it does),
    else None: NumPy's."""
    return _verified("bump_sum", _sum_agrees)
