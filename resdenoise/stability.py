"""Stability: tau bounds before a run, measured guarantees after it.

the paper, section 3.  With ``g(r) = Phi(r)/r``, a block is L-infinity stable
(max-min principle, and total-variation diminishing in 1D) when
``0 <= g <= g_max`` and ``tau <= h^2/(2 g_max)``; it is sign stable when
moreover ``tau <= h^2/(4 g_max)``.  The decisive quantity is g_max, not the
Lipschitz constant of Phi (hard shrinkage: Lipschitz constant infinite,
g_max = 1).

Everything here returns plain data (dataclasses of floats and bools); the
rendering lives in :mod:`resdenoise.report`.  What the theorem asks of the activation
(g range, Lipschitz constant, oddness: :func:`analyse_function`, sampled for a custom
function) is :mod:`resdenoise.function_properties`'.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import (
    ParameterError,
    SignalError,
    UnstableError,
    check_kind,
    check_positive,
    is_positive,
    range_sentence,
)
from .function_properties import (
    _EPS,
    FunctionProperties,
    analyse_function,
    diffusivity_negative,
    non_finite_activation,
    overflow_hint,
    shrinkage_words,
)
from .nonlinearities import Nonlinearity
from .signs import SignCount, sign_changes

__all__ = [
    "default_tau",
    "ChannelCheck",
    "FunctionProperties",
    "StabilityVerdict",
    "analyse_function",
    "apart",
    "at_most",
    "within_bound",
    "channel_check",
    "channel_labels",
    "least_stable",
    "SignCount",
    "check_tau",
    "check_float32",
    "measure_channels",
    "range_amplitude",
    "sign_changes",
    "total_variation",
]


@dataclass(frozen=True)
class StabilityVerdict(FunctionProperties):
    """Tau bounds and verdict for one (activation, tau, h): the activation's
    properties, then the step's."""

    tau: float
    h: float
    tau_linf_bound: float
    tau_sign_bound: float
    linf_stable: bool
    sign_stable: bool
    reason: str = ""
    #: Whether total variation and sign changes are guaranteed for the whole
    #: signal; False for a multiscale plan, whose blocks of stride s guarantee
    #: them for each of the s interleaved subsequences (measured per scale).
    whole_signal: bool = True
    #: Whether the max-min principle is guaranteed (checked) for the whole
    #: signal; False for multilevel Haar shrinkage beyond level 1, whose box
    #: averages have negative weights (measured per level instead).
    max_min_guaranteed: bool = True

    @property
    def tau_helps(self) -> bool:
        """Whether a small enough tau is stable: g >= 0 and g_max finite (else no tau is,
        and only the step's own refusal names the step).  Oddness is not asked: the
        max-min principle, total-variation and sign bounds rest on g's range alone (the
        paper, section 3); an activation that is not odd (ReLU, GELU) is stable too."""
        return self.g_min >= 0 and math.isfinite(self.g_max)

    @property
    def sign_scope(self) -> str:
        """What the sign and total-variation guarantee is about: ``whole signal``; ``per
        subsequence`` (blocks of stride s: each ``x[r::s]`` on its own, not the whole
        signal); ``per level (on box averages)`` (multilevel Haar: each level's block on
        its box-averaged signal, not the output)."""
        if self.whole_signal:
            return "whole signal"
        return "per subsequence" if self.max_min_guaranteed else "per level (on box averages)"

    @property
    def whole_linf_stable(self) -> bool:
        """Whether the output is guaranteed within the input's range (L-infinity stable
        as the README defines it): every block is (``linf_stable``, the refusal's check)
        and they keep the max-min principle of the whole signal (a multilevel plan's
        blocks keep it of each level's box averages only, which does not bound the
        output: a spike undershoots by 1/16)."""
        return self.linf_stable and self.max_min_guaranteed

    def as_dict(self) -> dict:
        d = asdict(self)
        del d["non_finite"]  # said in the reason
        d["lipschitz"] = None if math.isinf(self.lipschitz) else self.lipschitz
        d["sign_stable_for"] = self.sign_scope
        # the report's linf_stable is the whole output's; each block's own beside it
        d["linf_stable"], d["blocks_linf_stable"] = self.whole_linf_stable, self.linf_stable
        return d


def tau_bounds(g_max: float, h: float = 1.0) -> tuple[float, float]:
    """``(h^2/(2 g_max), h^2/(4 g_max))``; infinite for g_max = 0.

    Below float64's normal range (h*h or a bound under 2.2e-308: a subnormal has fewer
    than 53 bits) each bound is the exact one rounded down, never above it: rounded to
    nearest, h = 3.5e-162's sign bound 0.25 h^2 came out as one subnormal unit, 0.4 h^2,
    and a run at it was called sign stable though it was not.  A bound under one unit
    is 0 (:func:`bound_underflows`).

    Examples
    --------
    >>> tau_bounds(1.0, 3.515825416187299e-162)
    (5e-324, 0.0)
    """
    if g_max <= 0.0:
        return math.inf, math.inf
    bounds = h * h / (2.0 * g_max), h * h / (4.0 * g_max)
    tiny = sys.float_info.min
    if min(h * h, *bounds) < tiny and 0.0 < h < math.inf and math.isfinite(g_max):
        from fractions import Fraction  # (here: 3 ms of imports every run would pay)

        exact = Fraction(h) ** 2 / Fraction(g_max)
        return _round_down(exact / 2), _round_down(exact / 4)
    return bounds


def _round_down(x) -> float:
    """The largest float64 <= the :class:`fractions.Fraction` ``x`` (>= 0)."""
    near = float(x)
    return math.nextafter(near, 0.0) if type(x)(near) > x else near


#: A tau within this many ulp of its bound counts as at the bound: h^2/(2 g_max) is
#: computed in binary (h*h, then a division: two roundings of half an ulp each, and
#: h itself is the decimal rounded to binary), so the bound a user writes as the
#: paper's decimal (h = 0.7: 0.245) can come out an ulp under it (0.24499999999999997).
BOUND_ULPS = 4


#: A g_max sampled from a function (``exact`` false) is known to this relative error: the
#: registry's families given as Python functions of each form (lam 1e-6 .. 1e6) read up to
#: 1.4e-12 above the closed form's g_max (a regulariser's Psi'/2, a numerical derivative),
#: the other forms within 1e-14.  A tau within it of such a bound is at the bound
#: (:func:`within_bound`): a default step count is then the named family's.
G_MAX_ROUNDING = 1e-10


def within_bound(tau: float, bound: float, exact: bool = True) -> bool:
    """``tau <= bound`` up to the rounding of the bound's computation
    (:data:`BOUND_ULPS` ulp; a bound of a sampled g_max, ``exact`` false: up to its
    sampling's, :data:`G_MAX_ROUNDING` relative): the one comparison of a tau with its
    bound (the verdict of a run, a translation, a suggested tau, a default step count).

    Examples
    --------
    >>> within_bound(0.245, 0.7 * 0.7 / 2.0), within_bound(0.2451, 0.245)
    (True, False)
    >>> within_bound(0.25, 0.25 / (1 + 1e-11)), within_bound(0.25, 0.25 / (1 + 1e-11), False)
    (False, True)
    """
    slack = BOUND_ULPS * _EPS if exact else max(G_MAX_ROUNDING, BOUND_ULPS * _EPS)
    return tau <= bound + slack * bound


def bound_underflows(bound: float, h: float, g_max: float, name: str = "h") -> str | None:
    """Where the stable step ``bound`` (h^2/(2 g_max)) is 0 in float64 for a grid size
    ``h`` > 0 and a finite ``g_max`` > 0, what a message says of it (the grid size's
    parameter spelt ``name``); else None.  An unbounded g's bound is 0 too, but no
    underflow: no tau is stable at any h (:func:`default_tau` says so)."""
    if bound == 0.0 and h > 0.0 and is_positive(g_max):
        return (
            f"no float64 tau is stable: the bound h^2/(2 g_max) underflows to 0 at h = {h:g}; "
            f"use a grid size nearer 1 as {name}"
        )
    return None


def default_tau(
    nl: Nonlinearity,
    h: float = 1.0,
    *,
    remedy: str = "tau",
    where: str | None = None,
    properties: FunctionProperties | None = None,
) -> float:
    """The sign-stable step ``h^2/(4 g_max)``: the default tau of every plan
    (``properties``: ``nl``'s :func:`analyse_function`, where the caller has them: a
    Python function is sampled at each call).

    Raises
    ------
    UnstableError
        g_max is not finite and positive: no step is stable by default.  The
        message starts with ``where`` (default: the nonlinearity's name) and
        asks for ``remedy``, the parameter that replaces the default (for an
        unbounded g, where no step is stable, with ``allow_unstable=True``).
    ParameterError
        The step is no usable float64 number (0 or inf at this ``h``); the
        message starts with ``where`` when given.
    """
    g_max = (properties or analyse_function(nl)).g_max
    if g_max == math.inf:
        raise UnstableError(
            f"{where or nl.name}: g = Phi(r)/r is unbounded (g_max = inf), so no tau is "
            f"stable; choose another nonlinearity, or give {remedy} with "
            "allow_unstable=True",
            parameters=[remedy, ("allow_unstable", True)],
        )
    if not is_positive(g_max):
        raise UnstableError(
            f"{where or nl.name}: g = Phi(r)/r has no finite positive maximum "
            f"(g_max = {g_max}); give {remedy} explicitly",
            parameters=[remedy],
        )
    tau = tau_bounds(g_max, h)[1]
    if not (math.isfinite(tau) and tau > 0.0):
        raise ParameterError(
            f"{where + ': ' if where else ''}the stable step h^2/(4 g_max) = {tau:g} for "
            f"h = {h:g} and g_max = {g_max:g} "
            "is no usable float64 number; give tau, or a grid size nearer 1 as h",
            parameters=["h"],
        )
    return tau


def apart(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """``a`` and ``b`` printed with ``digits`` significant digits, or with as many more
    as tell them apart where they differ: a tau just above its bound is not "0.5 exceeds
    0.5"; two within the rounding of a bound (:func:`within_bound` both ways) are one
    number to a user, and printed with ``digits``.

    Examples
    --------
    >>> apart(0.5, 0.49999995000000497), apart(0.25, 0.25), apart(1 / 3, 0.5)
    (('0.5', '0.49999995'), ('0.25', '0.25'), ('0.333333', '0.5'))
    >>> apart(0.245, 0.7 * 0.7 / 2.0)
    ('0.245', '0.245')
    """
    same = within_bound(a, b) and within_bound(b, a)
    for d in range(digits, 18):
        x, y = f"{a:.{d}g}", f"{b:.{d}g}"
        if x != y or same:
            return x, y
    return repr(a), repr(b)


def at_most(bound: float, digits: int = 6) -> str:
    """``bound`` printed with ``digits`` significant digits, rounded down where :g
    would round it up: a value :func:`within_bound` accepts, a tau a refusal may suggest.

    Examples
    --------
    >>> at_most(0.5), at_most(0.49999995000000497), at_most(2 / 3)
    ('0.5', '0.499999', '0.666666')
    """
    text = f"{bound:.{digits}g}"
    if not math.isfinite(bound) or within_bound(float(text), bound):
        return text
    from decimal import ROUND_FLOOR, Context

    down = Context(prec=digits, rounding=ROUND_FLOOR).create_decimal(bound)
    return f"{float(down):.{digits}g}"


def check_tau(
    nl: Nonlinearity, tau: float, h: float = 1.0, *, form: str = "activation"
) -> StabilityVerdict:
    """Decide L-infinity and sign stability of ``tau`` for ``nl`` and ``h``.

    ``form``: the form the nonlinearity was given in, whose words the ``reason`` uses
    (the verdicts are the same): ``"shrinkage"`` at tau = 1/4, h = 1 (one Haar step,
    ``shrink``) names the paper's condition on S, ``|S(s)| <= |s|``, with a witness;
    ``"diffusivity"`` names g itself; else g = Phi(r)/r and the tau bounds.

    Returns
    -------
    StabilityVerdict
        ``linf_stable`` and ``sign_stable`` (the verdicts), ``tau_linf_bound``
        and ``tau_sign_bound`` (the largest stable tau for this h), ``reason``
        (why not, in words; empty when stable), ``tau`` and ``h`` as given, and
        the activation's properties (``g_min``, ``g_max``, ``lipschitz``,
        ``odd``, ``monotone``, ``exact``: known in closed form or sampled); the
        README's report table describes each field.

    Raises
    ------
    ParameterError
        ``tau`` or ``h`` is not a finite number > 0 (a negative tau diffuses
        backwards: no verdict of stability applies to it), or ``nl`` is not
        a :class:`~resdenoise.nonlinearities.Nonlinearity`.
    """
    check_kind(
        "nl", nl, isinstance(nl, Nonlinearity), "a Nonlinearity (get_nonlinearity / from_function)"
    )
    check_positive("tau", tau)
    check_positive("h", h)
    p = analyse_function(nl)
    linf_bound, sign_bound = tau_bounds(p.g_max, h)
    reasons = []
    # a NaN of Phi makes g's range infinite and Phi "not odd": the NaN is the one reason
    nan = None if p.exact or math.isfinite(p.g_max) else non_finite_activation(nl, p)
    if nan:
        reasons.append(f"{nan}; a function must be finite for every r{overflow_hint(nl, p)}")
    if not nan and not math.isfinite(p.g_max):
        reasons.append("g = Phi(r)/r is unbounded")
    if not nan and p.g_min < 0.0:
        reasons.append(f"g = Phi(r)/r is negative somewhere (g_min = {p.g_min:.6g})")
    if not nan and not within_bound(tau, linf_bound, p.exact):
        reasons.append(
            "tau = {} exceeds the L-infinity bound h^2/(2 g_max) = {}".format(
                *apart(tau, linf_bound)
            )
            + (" (an underflow)" if bound_underflows(linf_bound, h, p.g_max) else "")
        )
    linf = not reasons
    sign = linf and within_bound(tau, sign_bound, p.exact)
    if reasons and not nan and form == "shrinkage" and tau == 0.25 and h == 1.0:
        reasons = [shrinkage_words(nl, -1.0)]
    elif reasons and not nan and form == "diffusivity" and p.g_min < 0.0:
        reasons[reasons.index(next(r for r in reasons if "negative somewhere" in r))] = (
            diffusivity_negative(nl, p.g_min)
        )
    return StabilityVerdict(
        **asdict(p),
        tau=float(tau),
        h=float(h),
        tau_linf_bound=linf_bound,
        tau_sign_bound=sign_bound,
        linf_stable=linf,
        sign_stable=sign,
        reason="; ".join(reasons),
    )


# --------------------------------------------------------------------------
# Measured on the data
# --------------------------------------------------------------------------


#: Rows per piece of :func:`total_variation` (its one scratch array: 1 MiB a channel).
TV_ROWS = 1 << 17


def total_variation(u: np.ndarray) -> np.ndarray:
    """``sum_i |u_{i+1} - u_i|`` per channel, in float64.

    Long signals are summed in pieces of ``TV_ROWS`` differences, in one
    scratch array (no temporary of the signal's size); by the compiled loop
    ``columns_variation`` where it applies (float64, 2 to 16 channels): the
    same sums in the same order, without the scratch array.
    """
    u = np.asarray(u)
    u2 = u.reshape(u.shape[0], -1)
    module = None
    if u2.dtype == np.float64 and u2.flags.c_contiguous and u2.shape[0]:
        module = _compiled_module(u2) if u2.shape[1] >= 2 else None
    if module is not None and hasattr(module, "columns_variation"):
        # the same sums, in the same order, without the pieces' arrays
        return np.array(module.columns_variation(u2, TV_ROWS))
    total = np.zeros(u2.shape[1])
    d = np.empty((min(max(u2.shape[0] - 1, 0), TV_ROWS), u2.shape[1]))
    for a in range(0, u2.shape[0] - 1, TV_ROWS):
        b = min(a + TV_ROWS, u2.shape[0] - 1)
        piece = d[: b - a]
        np.subtract(u2[a + 1 : b + 1], u2[a:b], out=piece, dtype=float)
        total += np.abs(piece, out=piece).sum(axis=0)
    return total


@dataclass
class ChannelCheck:
    """Measured guarantees for one channel (names are the report's keys)."""

    input_min: float
    input_max: float
    output_min: float
    output_max: float
    max_min_principle: bool
    sign_changes_in: int
    sign_changes_out: int
    tv_in: float
    tv_out: float
    tv_diminished: bool
    mean_drift: float
    mean_preserved: bool
    extra: dict = field(default_factory=dict)

    @property
    def range_left_by(self) -> float:
        """How far the output lies outside the input's range (0.0 inside it), as
        measured, whatever the tolerance ``max_min_principle`` allows."""
        return float(max(self.input_min - self.output_min, self.output_max - self.input_max, 0.0))

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(d.pop("extra"))
        return d


def tolerances(f: np.ndarray, n_blocks: int, dtype=None, amplitude=None) -> dict[str, float]:
    """Comparison tolerances, in units of the signal's range.

    ``range``: 8 ulp of ``max |f|`` per sqrt(block) (at least 8 ulp), for the
    max-min principle, total variation (times the number of samples) and the
    zero band of sign counting.  ``mean``: 1e-12 of ``max |f|`` (float32: at
    least ``range``), and at least the rounding of ``n_blocks`` correct blocks,
    up to a cap (:func:`_mean_rounding`).  The ulp are those of ``dtype``, the
    run's working precision (default f's): a float32 run is measured against
    the file's values (float64) in float32 ulp.  ``amplitude``: ``max |f|``
    where the caller has it.
    """
    f = np.asarray(f)
    float32 = np.dtype(f.dtype if dtype is None else dtype) == np.float32
    amp = _amplitude(f) if amplitude is None else amplitude
    top = np.asarray(amp, dtype=np.float32 if float32 else float)
    with np.errstate(over="ignore"):  # the dtype's maximum: inf, taken below it
        ulp = float(np.spacing(top))
    if math.isinf(ulp) and np.isfinite(top):  # amp the dtype's maximum: the ulp below it
        ulp = float(np.spacing(np.nextafter(top, top.dtype.type(0))))
    rng = 8.0 * ulp * max(1.0, math.sqrt(max(n_blocks, 1)))
    mean = max(1e-12 * amp, rng) if float32 else 1e-12 * amp
    mean = max(mean, _mean_rounding(n_blocks, ulp, amp, np.float32 if float32 else np.float64))
    return {"range": rng, "mean": mean, "ulp": ulp}


def _mean_rounding(n_blocks: int, ulp: float, amp: float, dtype) -> float:
    """How far the mean of a correct run of ``n_blocks`` blocks may drift by rounding.

    A block changes every sample by a sum of fluxes that cancel in the mean exactly
    (telescoping, zero flux at the ends); what it does not cancel is its rounding:
    the increment ``tau/h (F_i - F_{i-1})`` rounded (half an ulp of a value at most
    ``2 max|f|``: the max-min principle and the stable step) and its addition to the
    sample (half an ulp of a value at most ``max|f|``), at most 1 ulp of ``max|f|``
    per sample and block, so at most ``n_blocks`` ulp for the mean.  These roundings
    need not cancel: near-constant increments on near-constant samples round the same
    way block after block (a saturated flux, Huber or soft: the drift grows linearly,
    0.1 ulp a block measured, not as sqrt(blocks) like the range tolerance).

    Capped at ``sqrt(eps) max|f|`` (half the digits of the mean): beyond, the output is
    no faithful result of the blocks, whatever the cause, and is reported.  The
    cause seen is increments smaller than half an ulp of a large sample, lost
    there every block while its neighbours take them (float32, a sample 1e6 times
    the others: each rounding within the bound above, the mean drifting by 0.7 %
    of max|f| in 1.8e6 blocks)."""
    cap = math.sqrt(float(np.finfo(dtype).eps)) * amp
    return min(max(n_blocks, 0) * ulp, cap)


def _input_tolerances(f2: np.ndarray, n_blocks: int, dtype) -> tuple[list[dict], dict, float]:
    """:func:`tolerances` of each channel of input ``f2`` (rows x columns; each from
    the channel's own ``max |f|``: each channel is its own signal), those of the
    loudest channel (the report's ``tolerance``) and ``max |f|``, for an output of
    ``dtype`` (float32 ulp where either is float32)."""
    float32 = np.float32 if np.float32 in (f2.dtype, np.dtype(dtype)) else None
    amp = range_amplitude(f2)
    tols = [tolerances(f2, n_blocks, float32, amplitude=a) for a in column_amplitudes(f2)]
    return tols, tolerances(f2, n_blocks, float32, amplitude=amp), amp


def measure_channels(
    f: np.ndarray, u: np.ndarray, n_blocks: int
) -> tuple[list[ChannelCheck], dict]:
    """Per-channel min/max, sign changes, total variation and mean drift.

    ``f`` is the input as the file holds it, ``u`` the output in the working
    precision; tolerances in the ulp of the coarser of the two, each channel's
    from its own ``max |f|`` (the returned ones: the loudest channel's).  (A run's
    report measures in the pieces of :class:`resdenoise.measure.StreamMeasure`,
    whole or streamed alike; this is the plain whole-signal form, for the
    checks of a multiscale plan's scales.)
    """
    u2 = np.asarray(u).reshape(u.shape[0], -1)
    f2 = np.asarray(f).reshape(f.shape[0], -1)
    tols, tol, amp_f = _input_tolerances(f2, n_blocks, u2.dtype)
    n = u2.shape[0]
    # Sums of samples near the float64 maximum overflow: then they are taken of
    # the samples times a power of two (exact), so that no sum can overflow.
    scale = sum_scale(max(amp_f, range_amplitude(u2)), n)
    bands = [t["range"] for t in tols]
    side_in = _measure_side(f2, bands, scale)
    side_out = _measure_side(u2, bands, scale)
    checks = []
    for (lo, hi, sc_in, mean_in, tv_in), (olo, ohi, sc_out, mean_out, tv_out), t in zip(
        side_in, side_out, tols, strict=True
    ):
        drift = float(mean_out - mean_in)
        checks.append(
            channel_check(lo, hi, olo, ohi, sc_in, sc_out, tv_in, tv_out, drift, n, t, scale)
        )
    return checks, tol


def _measure_side(x2: np.ndarray, bands: list[float], scale: float) -> list[tuple]:
    """Per column ``c`` of ``x2`` (rows x columns): min, max, sign changes outside
    ``|v| <= bands[c]``, mean (of the samples times ``scale``, unscaled) and total
    variation (of the samples times ``scale``).  By the compiled walks where
    they apply (the same numbers: NumPy's pairwise sum of each contiguous
    column; one walk in the widest band, a column with a value in it counted
    in its own by NumPy), else NumPy on a contiguous copy of the column."""
    n = x2.shape[0]
    tv = total_variation(x2 if scale == 1.0 else x2 * scale)
    got = _compiled_side(x2, float(np.max(bands))) if scale == 1.0 and bands else None
    out = []
    col = None
    for c in range(x2.shape[1]):
        if got is not None and got[c] is not None:
            lo, hi, changes, total = got[c]
            mean = np.float64(total) / n  # np.mean: the pairwise sum / the count
        else:
            if col is None:
                col = np.empty(n)  # one channel in float64, contiguous
            np.copyto(col, x2[:, c])
            lo, hi, mean = float(col.min()), float(col.max()), _mean(col, scale)
            changes = sign_changes(x2[:, c], bands[c])[0]  # in the column's own dtype
        out.append((lo, hi, changes, mean, tv[c]))
    return out


def _amplitude(a: np.ndarray) -> float:
    return abs(float(np.maximum(-a.min(), a.max()))) if a.size else 0.0


#: Widest rows the compiled measurements take in one walk (``_kernels.columns_stats``).
COMPILED_COLUMNS = 16


def _compiled_module(x2: np.ndarray):
    """The compiled module for the measurements of ``x2`` (float64, C-contiguous,
    rows of at most :data:`COMPILED_COLUMNS` columns), else None."""
    if not (x2.dtype == np.float64 and x2.flags.c_contiguous and x2.shape[0]):
        return None
    if not 1 <= x2.shape[1] <= COMPILED_COLUMNS:
        return None
    from .engine import _kernels

    module = _kernels()
    return module if hasattr(module, "columns_stats") else None


def range_amplitude(x2: np.ndarray) -> float:
    """:func:`_amplitude` (max |x|; NaN where x holds one), by one compiled walk
    (``columns_range``) where it applies."""
    module = _compiled_module(x2)
    if module is None:
        return _amplitude(x2)
    got = module.columns_range(x2)
    if any(nan for _, _, nan in got):
        return _amplitude(x2)
    lo, hi = min(lo for lo, _, _ in got), max(hi for _, hi, _ in got)
    return abs(float(np.maximum(-lo, hi)))  # as _amplitude: -0.0 -> 0.0


def column_amplitudes(x2: np.ndarray) -> list[float]:
    """:func:`_amplitude` of each column of ``x2`` (rows x columns), by one compiled
    walk (``columns_range``) where it applies."""
    module = _compiled_module(x2)
    if module is None:
        return [_amplitude(x2[:, c]) for c in range(x2.shape[1])]
    got = module.columns_range(x2)
    return [
        _amplitude(x2[:, c]) if nan else abs(float(np.maximum(-lo, hi)))
        for c, (lo, hi, nan) in enumerate(got)
    ]


def _compiled_side(x2: np.ndarray, band: float) -> list | None:
    """Per column of ``x2``: ``(lo, hi, sign changes, sum)`` as NumPy gives them on
    the contiguous column (the sum its pairwise sum, bit for bit), by one
    compiled walk; None for a column it does not settle (a NaN, a value in the
    sign band ``|v| <= band``, an extreme of zero: NumPy's numbers then, whose
    choice between 0.0 and -0.0 is its own), None where it does not apply."""
    module = _compiled_module(x2) if band >= 0 else None
    if module is None:
        return None
    firsts = np.ascontiguousarray(x2[0])  # each column's "row before": no change
    out = []
    for lo, hi, nan, inside, changes, _, _, total, _ in module.columns_stats(x2, firsts, band):
        settled = not (nan or inside or lo == 0.0 or hi == 0.0)
        out.append((lo, hi, changes, total) if settled else None)
    return out


def sum_scale(amp: float, n: int) -> float:
    """1, or a power of two that keeps a sum of ``n`` values up to ``amp`` (and
    their differences) finite."""
    if not math.isfinite(amp) or 4.0 * n * amp < 1e300:
        return 1.0
    return math.ldexp(1.0, -math.frexp(amp)[1] - 2)


def _mean(col: np.ndarray, scale: float) -> float:
    if scale == 1.0:
        return col.mean()
    return float((col * scale).mean()) / scale


def channel_check(
    lo, hi, olo, ohi, sc_in, sc_out, tv_in, tv_out, drift, samples: int, tol: dict, scale=1.0
) -> ChannelCheck:
    """One channel's :class:`ChannelCheck` from its measured quantities.

    Input and output range, sign changes, total variation, mean drift; the
    verdicts compare them with ``tol`` (see :func:`tolerances`).  Shared by
    :func:`measure_channels` and the chunk-by-chunk measurements of
    :mod:`resdenoise.stream`.  ``tv_in`` and ``tv_out`` are of the samples
    times ``scale`` (a power of two: sums that cannot overflow).
    """
    tv_diminished = bool(tv_out <= tv_in + samples * tol["range"] * scale)
    tv_in, tv_out = tv_in / scale, tv_out / scale
    return ChannelCheck(
        input_min=float(lo),
        input_max=float(hi),
        output_min=float(olo),
        output_max=float(ohi),
        max_min_principle=bool(olo >= lo - tol["range"] and ohi <= hi + tol["range"]),
        sign_changes_in=int(sc_in),
        sign_changes_out=int(sc_out),
        tv_in=float(tv_in),
        tv_out=float(tv_out),
        tv_diminished=tv_diminished,
        mean_drift=float(drift),
        mean_preserved=bool(abs(drift) <= tol["mean"]),
    )


def energy(nl: Nonlinearity, u: np.ndarray, f: np.ndarray, alpha: float, h: float) -> np.ndarray:
    """Discrete energy ``E_h(u) = sum (u - f)^2 + alpha sum Psi(D+ u)`` per channel."""
    u2 = np.asarray(u, dtype=float).reshape(u.shape[0], -1)
    f2 = np.asarray(f, dtype=float).reshape(f.shape[0], -1)
    d = np.diff(u2, axis=0) / h
    return ((u2 - f2) ** 2).sum(axis=0) + alpha * nl.psi(d).sum(axis=0)


def euler_lagrange_residual(
    nl: Nonlinearity, u: np.ndarray, f: np.ndarray, alpha: float, h: float
) -> np.ndarray:
    """Max-norm of ``u - f - alpha D- Phi(D+ u)`` per channel."""
    from .engine import backward_difference, forward_difference

    u2 = np.asarray(u, dtype=float).reshape(u.shape[0], -1)
    f2 = np.asarray(f, dtype=float).reshape(f.shape[0], -1)
    res = u2 - f2 - alpha * backward_difference(nl.phi(forward_difference(u2, h)), h)
    return np.max(np.abs(res), axis=0)


def channel_labels(count: int, labels=None) -> tuple[str, ...]:
    """How the messages name ``count`` channels: ``labels`` (one text a channel, as the
    caller knows them, e.g. a file's ``column 2 ('b')``), or ``channel 1``, ``channel 2``,
    ... counted from 1 as people count (ValueError: not one label a channel)."""
    if labels is None:
        return tuple(f"channel {i}" for i in range(1, count + 1))
    labels = tuple(str(label) for label in labels)
    if len(labels) != count:
        raise ValueError(f"{len(labels)} channel labels for {count} channels")
    return labels


def least_stable(stabilities) -> int:
    """The index of the least stable of ``stabilities`` (each a
    :class:`StabilityVerdict` or its :meth:`~StabilityVerdict.as_dict`, one per channel
    planned apart): the first not L-infinity stable, else the first not sign stable, else
    0.  A plan per channel is as stable as this one (its verdict and its report's
    ``stability``: :class:`resdenoise.passing.SplitPlan`,
    :func:`resdenoise.report.channels_report`)."""
    flags = [
        (v.get("blocks_linf_stable", v["linf_stable"]), v["sign_stable"]) if isinstance(v, dict)
        else (v.linf_stable, v.sign_stable)
        for v in stabilities
    ]  # fmt: skip
    for weak in (0, 1):  # L-infinity first, then sign stability
        for c, flag in enumerate(flags):
            if not flag[weak]:
                return c
    return 0


def guarantees_failed(
    checks: list[ChannelCheck], verdict: StabilityVerdict, labels=None
) -> list[str]:
    """The measured checks that failed, as short sentences (empty: all held); a
    sentence names its channel by its label (:func:`channel_labels`: ``labels``,
    or ``channel 1`` for ``checks[0]``)."""
    return _measured_off(checks, verdict, labels, True)


def not_guaranteed(checks: list[ChannelCheck], verdict: StabilityVerdict, labels=None) -> list[str]:
    """What was measured not to hold though the plan does not guarantee it for the whole
    signal, as :func:`guarantees_failed`'s sentences (empty: nothing): where the max-min
    principle is not guaranteed (``max_min_guaranteed`` false: several scales of
    shrinkage) how far each channel's output left the input's range; where the sign and
    total-variation guarantees are per subsequence or per level (``whole_signal`` false)
    the whole output's sign changes and total variation that grew.  No failed checks;
    ``--strict`` fails on them all the same (the README's "JSON report")."""
    return _measured_off(checks, verdict, labels, False)


def _measured_off(checks, verdict: StabilityVerdict, labels, guaranteed: bool) -> list[str]:
    """The channels' measurements that did not hold, of the properties ``verdict``
    guarantees for the whole signal (``guaranteed``) or of those it does not."""
    out = []
    for name, c in zip(channel_labels(len(checks), labels), checks, strict=True):
        if bool(verdict.max_min_guaranteed) == guaranteed and not c.max_min_principle:
            out.append(range_sentence(name, c.as_dict(), None if guaranteed else c.range_left_by))
        whole = bool(verdict.whole_signal) == guaranteed
        if whole and not c.tv_diminished:
            out.append(f"{name}: total variation increased ({c.tv_in:.6g} -> {c.tv_out:.6g})")
        if guaranteed and not c.mean_preserved:
            out.append(f"{name}: mean drifted by {c.mean_drift:.3g}")
        if whole and verdict.sign_stable and c.sign_changes_out > c.sign_changes_in:
            out.append(
                f"{name}: sign changes increased ({c.sign_changes_in} -> {c.sign_changes_out})"
            )
    return out


def check_float32(name: str, amplitude: float, tiniest: float | None) -> None:
    """Refuse samples that float32 would turn into inf (or a nonzero one into 0):
    ``amplitude`` the largest ``|sample|``, ``tiniest`` the smallest nonzero one."""
    info = np.finfo(np.float32)
    if amplitude > float(info.max):
        raise SignalError(
            f"{name}: samples up to {amplitude:g} are beyond the range of float32 "
            f"(largest {float(info.max):g}); use dtype='float64'",
            parameters=[("dtype", "float64")],
        )
    if tiniest is not None and tiniest < float(info.smallest_subnormal) / 2:
        raise SignalError(
            f"{name}: a sample of {tiniest:g} would be 0 in float32 (smallest "
            f"{float(info.smallest_subnormal):g}); use dtype='float64'",
            parameters=[("dtype", "float64")],
        )


def offset_note(name: str, lo, hi) -> str | None:
    """The warning of a float32 run (the file's own precision, not asked for) on samples
    that sit on an offset more than 100x their half range (``lo``, ``hi``: each channel's
    least and greatest sample), or None: each block's increment is rounded at the
    offset's float32 step, not the signal's, and the roundings add up over many blocks
    (a pressure log at 101325 Pa, 2000 blocks: 34 steps of 0.0078 Pa, 45 % more error than
    the float64 run, measured in audit18a).  Audio, centred on 0, never is."""
    lo = np.atleast_1d(np.asarray(lo, dtype=np.float64))
    hi = np.atleast_1d(np.asarray(hi, dtype=np.float64))
    centre, half = (hi + lo) / 2, (hi - lo) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half > 0, np.abs(centre) / half, 0.0)  # constant: nothing changes
    k = int(np.argmax(ratio))
    if not ratio[k] > 100:
        return None
    step = float(np.spacing(np.float32(abs(centre[k]))))
    return (
        f"{name}: the samples sit on an offset of {centre[k]:g}, {ratio[k]:.0f}x their half "
        f"range ({half[k]:g}), and run in float32 (the file's own precision): each block "
        f"rounds at the offset's float32 step ({step:g}), and the roundings add up over "
        "many blocks; use --dtype float64 (dtype='float64') for the file's full accuracy"
    )
