"""Exact scaling by powers of two, for samples whose squares would over- or underflow.

Multiplying by ``2**k`` is exact in binary floating point (while the values stay normal),
and every step of an automatic search (differences, fluxes with lambda, sums of squares)
scales exactly with it: a search of ``u / 2**k`` with lambda and the level divided too is
the search of ``u``, its numbers times ``2**k`` (levels) or ``4**k`` (squares).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "LEVEL_RANGE",
    "level_shift",
    "measuring_shift",
    "refuse_unscaled",
    "refuse_unscaled_signals",
    "scaled_search",
    "scaled_values",
    "times_power_of_two",
    "unscaled_report",
]


#: The largest |sample| between which :func:`resdenoise.noise.search_noise` and the
#: automatic searches take their statistics of the samples as they are, else of the
#: samples times a power of two (:func:`level_shift`): 4th powers of 2**200 summed stay
#: finite, of 2**-220 normal.
LEVEL_RANGE = (2.0**-200, 2.0**200)


def times_power_of_two(x, shift: int):
    """``x`` (None, a number or one per channel) times ``2**shift``, exact where it stays
    in range (a report's sum of squares may go to inf or 0: no warning)."""
    if x is None:
        return None
    with np.errstate(over="ignore", under="ignore"):
        return (
            float(np.ldexp(x, shift)) if np.ndim(x) == 0 else np.ldexp(np.asarray(x, float), shift)
        )


def level_shift(u) -> int:
    """The power of two ``k`` to divide the samples ``u`` by (``np.ldexp(u, -k)``, exact)
    before an automatic search's statistics: 0 where the largest ``|sample|`` lies in
    :data:`LEVEL_RANGE` (or is 0, inf or NaN), else the ``k`` that brings it to [1/2, 1).
    Every step of the search scales exactly with the samples, so its choice for ``u``
    is the one for ``u / 2**k``, its level and lambda times ``2**k``."""
    u = np.asarray(u)
    if not u.size:
        return 0
    amplitude = float(max(-u.min(), u.max()))
    if LEVEL_RANGE[0] <= amplitude <= LEVEL_RANGE[1] or not 0.0 < amplitude < math.inf:
        return 0
    return math.frexp(amplitude)[1]


def measuring_shift(u, nls) -> int:
    """The power of two ``k`` a plan of several scales measures its scales' guarantees at
    (``scale_checks``: the blocks again on ``u / 2**k`` with every lambda divided by
    ``2**k``, the numbers in the report multiplied back): :func:`level_shift` of ``u``,
    so that no sum of its samples and no square overflows (nor underflows), where every
    nonlinearity of ``nls`` is a registry family's (``Phi(r, lam)`` then scales exactly
    with ``r`` and ``lam``); 0 where one is a formula's or a function's, bound as it is.
    Where a lambda divided by ``2**k`` would leave float64's normal numbers (one given out
    of all proportion to the samples), the shift that just brings the samples into
    :data:`LEVEL_RANGE`, else 0 (measured as they are)."""
    nls = [nl for nl in nls if nl is not None]
    if any(getattr(nl, "entry", None) is None for nl in nls):
        return 0
    k = level_shift(u)
    lams = np.array([nl.lam for nl in nls], dtype=float)
    for shift in (k, k - 200 if k > 0 else k + 199) if k else ():
        scaled = np.abs(times_power_of_two(lams, -shift))
        if np.all((scaled >= np.finfo(float).tiny) & (scaled < math.inf)):
            return shift
    return 0


#: A search's report entries in the samples' units (times ``2**shift`` where the samples
#: were divided by it; a number, None, or lists and mappings of them) ...
LEVEL_KEYS = ("noise_sigma", "noise_low_end", "noise_sigma_per_scale")
#: ... and those in their squares' (SURE and its gains, standard errors, per scale and
#: per candidate family).
SQUARE_KEYS = (
    "sure_change_per_sample",
    "sure_change_at_low_end",
    "backed_off_sure_change",
    "expected_gain_per_sample",
    "gain_standard_error",
    "gain_at_low_end",
    "gain_at_low_end_standard_error",
    "backed_off_gain",
    "backed_off_gain_standard_error",
    "fresh_sure_change",
    "fresh_gain_standard_error",
    "sure_per_scale",
    "coefficient_sure_per_scale",
    "automatic_candidates",
)


def scaled_values(value, shift: int):
    """:func:`times_power_of_two` through None, lists and mappings of numbers."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: scaled_values(v, shift) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [scaled_values(v, shift) for v in value]
    return times_power_of_two(value, shift)


def unscaled_report(extra: dict, shift: int, squares: bool = True) -> dict:
    """A search's report entries ``extra`` of samples divided by ``2**shift`` in the
    samples' own units (:data:`LEVEL_KEYS`, :data:`SQUARE_KEYS`; the stopping criterion, a
    refused choice's, and each lambda candidate's in squares unless ``squares`` is false: a
    correlation)."""
    out = dict(extra)
    for key in LEVEL_KEYS:
        if out.get(key) is not None:
            out[key] = scaled_values(out[key], shift)
    criteria = ("stopping_criterion", "rejected_stopping_criterion") if squares else ()
    for key in SQUARE_KEYS + criteria:
        if out.get(key) is not None:
            out[key] = scaled_values(out[key], 2 * shift)
    if "candidates" in out:
        out["candidates"] = [
            {
                **c,
                "lambda": times_power_of_two(c["lambda"], shift),
                "criterion": scaled_values(c["criterion"], 2 * shift)
                if squares
                else c["criterion"],
            }
            for c in out["candidates"]
        ]
    return out


def _in_range(key: str, value, scaled, u) -> None:
    """Refuse a level given (``key``: ``sigma``, ``lam``) that, divided by the power of two
    the samples ``u`` are, leaves float64's normal numbers: out of all proportion to the
    samples, no search can use it."""
    from .errors import SignalValuesError, spell

    if value is None:
        return
    value, scaled = (getattr(x, "sigma", x) for x in (value, scaled))
    size = np.abs(np.asarray(scaled, dtype=float))
    if np.all((size >= np.finfo(float).tiny) & (size < math.inf)):
        return
    amplitude = float(np.max(np.abs(u)))
    given = ", ".join(f"{float(x):g}" for x in np.atleast_1d(value))
    raise SignalValuesError(
        f"the {spell(key)} given ({given}) and the samples (the largest {amplitude:g}) are "
        f"too far apart for a search: their ratio leaves float64's range; give a {spell(key)} "
        "nearer the samples' scale",
        parameters=[key, key],
    )


def _level_times(level, shift: int):
    """A level given (None, a number, one per channel, or a
    :class:`resdenoise.noise.NoiseLevel`, by its own :meth:`~resdenoise.noise.NoiseLevel.scaled`)
    times ``2**shift``."""
    if not hasattr(level, "scaled"):
        return times_power_of_two(level, shift)
    with np.errstate(over="ignore", under="ignore"):
        return level.scaled(shift)


def scaled_search(search, u, shift: int = 0, squares: bool = True, known=None, **levels):
    """``search(u, shift=shift, **levels) -> (plan, extra)``, an automatic search, made
    exact for samples whose squares would over- or underflow: where :func:`level_shift`
    of ``u`` is ``k``, ``search`` runs on ``u / 2**k`` with ``levels`` (numbers in the
    samples' units, or None: a noise level, a
    :class:`resdenoise.noise.NoiseLevel`, a lambda) divided by ``2**k`` and ``shift + k``
    (how its reasons say their numbers of the signal), and its plan and report are
    multiplied back (``plan.scaled(k)``, :func:`unscaled_report`): the choice at ``u`` is
    the one at ``u / 2**k``, bit for bit.  ``shift``: ``u`` is a signal's divided by
    ``2**shift`` already (its channels searched alone).  ``known``: the search's level
    of ``u`` estimated already (:func:`resdenoise.noise.search_noise`; None: not), passed
    on as ``search(..., known=known)`` where ``u`` is searched as it is (so that it is
    estimated once); where ``u`` is divided, the search estimates it of the samples it
    sees, as it would without (``known=None``)."""
    more = level_shift(u)
    taken = {} if known is None else {"known": known if not more else None}
    if not more:
        return search(u, shift=shift, **taken, **levels)
    scaled = {key: _level_times(value, -more) for key, value in levels.items()}
    for key, value in levels.items():
        _in_range(key, value, scaled[key], u)
    u = np.ldexp(np.asarray(u, dtype=float), -more)
    plan, extra = search(u, shift=shift + more, **taken, **scaled)
    return plan.scaled(more), unscaled_report(extra, more, squares)


def refuse_unscaled(
    u,
    what: str,
    fix: str = "scale the signal by a power of two (exact), as resdenoise.planner does",
    name: str | None = None,
) -> None:
    """Refuse samples whose squares ``what`` (a search, a run) cannot take: beyond
    :data:`LEVEL_RANGE` (every SURE would be NaN or 0 and the input kept as if nothing
    were better).  The planners divide such samples by a power of two first
    (:func:`scaled_search`); a library caller of the search itself, or a run with no
    exact version on the samples divided (``learn``), gets this: in one line, ``fix``
    what to do, of the file ``name`` where given."""
    from .errors import SignalValuesError

    if level_shift(u):
        amplitude = float(np.max(np.abs(u)))
        raise SignalValuesError(
            f"{name + ': ' if name else ''}the largest sample's magnitude {amplitude:.6g} is "
            f"outside {LEVEL_RANGE[0]:g} .. {LEVEL_RANGE[1]:g}, where {what} cannot square "
            f"the samples; {fix}"
        )


def refuse_unscaled_signals(signals, names=None, label: str = "signal") -> None:
    """:func:`refuse_unscaled` of each of the training ``signals`` of
    :mod:`resdenoise.learn` (no exact learning of them divided), named by ``names`` (None
    in it: unnamed, the caller names it, ``SignalValuesError.of``; default ``label 1``,
    ``label 2``, ...)."""
    names = names or [f"{label} {i + 1}" for i in range(len(signals))]
    for u, name in zip(signals, names, strict=True):
        refuse_unscaled(u, "learn", "divide them by a power of two first", name)
