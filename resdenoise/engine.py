"""The one engine: chained diffusion blocks ``u <- u + tau * D- Phi(D+ u)``.

NumPy only; knows nothing about files, names or reports.  Every command of
resdenoise (diffusion, wavelet shrinkage, regularisation, residual network)
is a call of :func:`run_blocks` with its own activation ``phi``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["forward_difference", "backward_difference", "diffusion_block", "run_blocks"]


def forward_difference(u: np.ndarray, h: float = 1.0) -> np.ndarray:
    """``(D+ u)_i = (u_{i+1} - u_i)/h`` for i = 0..N-2, along axis 0."""
    return np.diff(np.asarray(u), axis=0) / h


def backward_difference(flux: np.ndarray, h: float = 1.0) -> np.ndarray:
    """``(D- F)_i = (F_i - F_{i-1})/h`` with zero flux ``F_{-1} = F_{N-1} = 0``.

    Takes the N-1 interior fluxes along axis 0 and returns N values.
    """
    flux = np.asarray(flux)
    pad = [(1, 1)] + [(0, 0)] * (flux.ndim - 1)
    return np.diff(np.pad(flux, pad), axis=0) / h


def diffusion_block(u: np.ndarray, phi, tau: float, h: float = 1.0) -> np.ndarray:
    """One block, written as the paper's formula (eq. 6); for reading and tests.

    :func:`run_blocks` computes the same numbers in place.
    """
    return u + tau * backward_difference(phi(forward_difference(u, h)), h)


def run_blocks(
    u: np.ndarray,
    phi: Callable[[np.ndarray], np.ndarray],
    tau: float,
    n_blocks: int,
    h: float = 1.0,
    callback: Callable[[int, np.ndarray], object] | None = None,
) -> np.ndarray:
    """Apply ``n_blocks`` diffusion blocks with activation ``phi``.

    Parameters
    ----------
    u : ndarray, shape (n,) or (n, channels)
        The input signal; it is not modified.  Axis 0 is the signal axis;
        channels are filtered independently in the same vectorised pass.
    phi : callable
        The activation (flux function), applied elementwise.
    tau : float
        Time step size, tau > 0.
    n_blocks : int
        Number of blocks m >= 0; the stopping time is ``m * tau``.
    h : float
        Grid size.
    callback : callable, optional
        Called as ``callback(k, u)`` after block k (1-based); returning
        ``False`` stops early.

    Returns
    -------
    ndarray
        The filtered signal, same shape; float32 input stays float32,
        anything else is computed in float64.

    Notes
    -----
    With ``d_i = (u_{i+1} - u_i)/h`` and ``F_i = Phi(d_i)`` each block adds
    ``(tau/h) F_i`` to ``u_i`` and subtracts it from ``u_{i+1}``: the flux
    form of ``u_i += (tau/h)(F_i - F_{i-1})`` with zero flux at both ends
    (reflecting boundaries), so the sum of u is preserved exactly in exact
    arithmetic.
    """
    u = np.asarray(u)
    dtype = np.float32 if u.dtype == np.float32 else np.float64
    u = np.array(u, dtype=dtype, copy=True)
    if u.ndim not in (1, 2):
        raise ValueError(f"signal must have shape (n,) or (n, channels), got {u.shape}")
    if u.shape[0] < 2:
        raise ValueError(f"signal needs at least 2 samples, got {u.shape[0]}")
    n_blocks = int(n_blocks)
    if n_blocks < 0:
        raise ValueError(f"number of blocks must be >= 0, got {n_blocks}")
    if not (tau > 0 and h > 0):
        raise ValueError(f"tau and h must be > 0, got tau={tau!r}, h={h!r}")

    scale = dtype(tau / h)
    inv_h = dtype(1.0 / h)
    diff = np.empty((u.shape[0] - 1,) + u.shape[1:], dtype=dtype)
    head, tail = u[:-1], u[1:]
    for k in range(1, n_blocks + 1):
        np.subtract(tail, head, out=diff)
        if h != 1.0:
            diff *= inv_h
        flux = np.asarray(phi(diff), dtype=dtype)
        flux *= scale
        head += flux
        tail -= flux
        if callback is not None and callback(k, u) is False:
            break
    return u
