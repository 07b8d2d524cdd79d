"""Is the noise coloured?  Level noise estimates of the undecimated Haar frame and the
tests that tell noise of one power spectrum ``f^-alpha`` from a rough signal's content.

Split from :mod:`resdenoise.multilevel` (which uses and re-exports every name):
the box average and level details (:func:`level_details`), the per-level box
estimate (:func:`box_sigma`), the power-law test over the level rises
(:func:`power_law_noise`, with its bend test :func:`rises_bend` and its test against
white noise on a random walk, :func:`walk_misfit`), a second,
independent piece of evidence from the quietest windows
(:func:`quiet_power_law`), a third from the spectral floor between a tonal
signal's peaks (:func:`tonal_power_law`, signals that never pause), a fourth from
short quiet windows where a roughness check set the level (:func:`paused_power_law`,
the pauses between an ECG's beats), and the estimator's bias under such a spectrum
(:func:`power_law_factor`, :func:`power_law_calibrated`).  NumPy only.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist

import numpy as np

from .errors import ParameterError, ResdenoiseWarning, check_count
from .median import QUANTILE
from .noise import RATIO_Z, estimate_noise, window_for

__all__ = [
    "MAX_SCALES",
    "MIN_PER_SUBSEQUENCE",
    "box_average",
    "box_rises",
    "box_sigma",
    "check_scales",
    "scales_note",
    "warn_scales",
    "colour_evidence",
    "level_details",
    "octave_floors",
    "paused_power_law",
    "log_sigma_error",
    "max_scales",
    "power_law_calibrated",
    "power_law_factor",
    "power_law_noise",
    "quiet_power_law",
    "quiet_window_levels",
    "rises_bend",
    "rough_checked_evidence",
    "scales_held",
    "tonal_power_law",
    "details_kurtosis",
    "first_level",
    "walk_like",
    "walk_misfit",
    "walk_reading",
]

#: The coarsest level's box has at most N/8 samples.
MIN_PER_SUBSEQUENCE = 8
#: At most this many levels.
MAX_SCALES = 8


def max_scales(n: int) -> int:
    """The most scales a signal of n samples gets: every subsequence >= 8 samples."""
    k = 1
    while k < MAX_SCALES and n // (2**k) >= MIN_PER_SUBSEQUENCE:
        k += 1
    return k


def scales_held(n: int | None = None) -> tuple[int, str]:
    """The most scales of a signal of ``n`` samples (None: of any signal,
    :data:`MAX_SCALES`) and why, in the words the command line's note on ``--scales K``
    uses (:func:`resdenoise.multiscale.scales_note`)."""
    held = MAX_SCALES if n is None else max_scales(n)
    if held == MAX_SCALES:
        return held, f"the most there are (strides up to 2^{MAX_SCALES - 1})"
    return held, (
        f"the most a signal of {n} samples holds (each scale's subsequences at least "
        f"{MIN_PER_SUBSEQUENCE} samples)"
    )


def scales_note(n: int, scales) -> str | None:
    """What a run says where ``scales`` (a number, or ``"auto"``) asks for more scales than
    a signal of ``n`` samples holds (fewer are used, not silently); else None."""
    held, why = scales_held(n)
    if isinstance(scales, str) and scales == "auto":
        return None
    if check_count("scales", scales) <= held:
        return None
    return f"{scales} scales asked, at most {held} used: {why}"


def warn_scales(n: int, scales, stacklevel: int = 3) -> None:
    """A :class:`.ResdenoiseWarning` with :func:`scales_note`'s line where ``scales`` asks for
    more than a signal of ``n`` samples holds: the library's choose functions (their
    caller's line: ``stacklevel``), which use fewer, as the command line does with its
    note, never silently.  ``scales`` that is not a count >= 1: ParameterError."""
    note = None if scales is None else scales_note(n, scales)
    if note is not None:
        warnings.warn(note, ResdenoiseWarning, stacklevel=stacklevel)


def check_scales(count: int, given: str) -> None:
    """A plan of ``count`` scales (one per item of its argument ``given``): at most
    :data:`MAX_SCALES`, the most any signal gets (:func:`max_scales`; a plan knows no
    signal), else :class:`ParameterError` (a level's work grows as 2^level whatever
    the signal: the 30th level pads the signal to over 2^31 samples, 16 GiB)."""
    held, why = scales_held()
    if count > held:
        raise ParameterError(
            f"{count} scales given ({given}: one per scale), at most {held}: {why}"
        )


def box_average(v: np.ndarray, s: int) -> np.ndarray:
    """Means of s consecutive samples (s a power of two), by halving pairs as swt does."""
    t = 1
    while t < s:
        v = 0.5 * (v[:-t] + v[t:])
        t *= 2
    return v


def level_details(u, level: int) -> np.ndarray:
    """Level-``level`` (1-based) undecimated Haar details in PyWavelets' units, up to
    sign: ``2^((j-2)/2) (P_j u)_{i+s} - (P_j u)_i``, for i = 0..N-2s (no ends)."""
    u2 = np.asarray(u, dtype=float).reshape(np.shape(u)[0], -1)
    s = 2 ** (level - 1)
    v = box_average(u2, s)
    return 2.0 ** ((level - 2) / 2) * (v[s:] - v[:-s])


def box_sigma(f2: np.ndarray, level: int) -> np.ndarray:
    """The noise of level ``level``'s details, from the box-averaged signal decimated by s."""
    s = 2 ** (level - 1)
    v = box_average(f2, s)
    m = v.shape[0] // s
    phases = v[: m * s].reshape(m, s, -1)  # phase r: v[r::s]
    c = f2.shape[1]
    est = estimate_noise(phases.reshape(m, s * c)).reshape(s, c)
    return np.median(est, axis=0) * math.sqrt(s)


#: :func:`power_law_noise`: the box estimates of levels 2, 3 and 4 each rise by a factor
#: in this range over the level below (noise of spectrum f^-alpha, 0.64 <= alpha <= 1.7) ...
POWER_LAW_RISES = (1.25, 1.8)
#: ... and level 5's (when the signal has it) by at least this (noise does not fall).
POWER_LAW_LAST_RISE = 1.0


def box_rises(f2: np.ndarray, sig: np.ndarray, k: int) -> np.ndarray:
    """``(k - 1, channels)``: the factor by which the uncapped box estimate of each level
    2..k (:func:`box_sigma`; level 1: ``sig``) exceeds the level below's."""
    est = [np.asarray(sig, dtype=float)] + [box_sigma(f2, j) for j in range(2, k + 1)]
    return np.array([b / np.maximum(a, 1e-300) for a, b in zip(est[:-1], est[1:], strict=True)])


#: Kish's design effect of the normalised third differences of white noise
#: (``1 + 2 sum rho_k^2``, rho = -15/20, 6/20, -1/20): a window of L of them has
#: the energy's variance of ``L / 2.31`` independent squares.
_THIRD_DIFFERENCE_EFFECT = 2.31


def log_sigma_error(m: int) -> float:
    """The standard error of ``log`` of the ``quiet-windows`` estimate of white noise
    from ``m`` samples (``mad-haar``'s, ``1.166 / sqrt(m / 2)``, where too short).

    The estimate is the :data:`~resdenoise.median.QUANTILE` of ``W`` window energies
    of ``L`` samples (:func:`resdenoise.quiet_windows.window_for`), each ``chi^2_nu / nu``
    with ``nu = L / 2.31``; by Wilson and Hilferty its cube root is normal
    (mean ``1 - 2 / 9 nu``, sd ``tau = sqrt(2 / 9 nu)``), and a sample quantile
    of W normals has the sd ``sqrt(q (1 - q) / W) tau / phi(z_q)``.  For one
    phase; :func:`box_sigma`'s median over s phases varies less (measured on
    white noise of 2048 samples: 0.66, 0.53, 0.50, 0.38 of this at levels 2-5),
    so tests built on it are lenient.
    """
    length = window_for(m, 3)
    if length is None:
        return 1.166 / math.sqrt(max(m // 2, 1))
    windows = (m - 3) // length
    nu = length / _THIRD_DIFFERENCE_EFFECT
    tau = math.sqrt(2.0 / (9.0 * nu))
    normal = NormalDist()
    z = normal.inv_cdf(QUANTILE)
    root = 1.0 - 2.0 / (9.0 * nu) + z * tau
    spread = math.sqrt(QUANTILE * (1.0 - QUANTILE) / windows) * tau / normal.pdf(z)
    return 1.5 * spread / root  # log sigma = 3/2 log(cube root of the energy)


def _level_errors(n: int, k: int) -> list[float]:
    """The standard errors of the log box estimates of levels 1..k of an ``n``-sample
    signal (:func:`log_sigma_error` of each level's decimated phase)."""
    return [log_sigma_error(n)] + [
        log_sigma_error((n - 2 ** (j - 1) + 1) // 2 ** (j - 1)) for j in range(2, k + 1)
    ]


def _level_logs(rises: np.ndarray) -> np.ndarray:
    """``(k, channels)``: the log box estimates of levels 1..k over level 1's, from the
    ``rises`` of :func:`box_rises`."""
    return np.concatenate(
        [np.zeros((1, rises.shape[1])), np.cumsum(np.log(np.maximum(rises, 1e-300)), axis=0)]
    )


def rises_bend(rises: np.ndarray, n: int) -> np.ndarray:
    """Per channel: how far the log level sigmas (level 1 and the ``rises`` of
    :func:`box_rises` of an ``n``-sample signal) bend away from one straight line,
    in standard errors: the quadratic coefficient of their weighted least-squares
    fit in the level (weights ``1 / log_sigma_error^2`` of each level's samples)
    over its standard error.  One power law: about 0 (every rise the same);
    white noise under a random walk or under steps: positive (the rises grow
    from 1 towards the walk's 2)."""
    k = rises.shape[0] + 1
    errors = _level_errors(n, k)
    logs = _level_logs(rises)
    j = np.arange(1, k + 1, dtype=float)
    x = np.stack([np.ones(k), j, j * j], axis=1)
    w = 1.0 / np.square(errors)
    cov = np.linalg.inv(x.T @ (x * w[:, None]))
    quadratic = (cov @ (x.T @ (w[:, None] * logs)))[2]
    return quadratic / math.sqrt(cov[2, 2])


#: :func:`walk_misfit`: the ratio of a walk's part to the white part, ``log(R / W)``,
#: searched on this grid (from white alone to the walk alone over levels 1-5).
_WALK_RATIOS = np.linspace(-12.0, 12.0, 601)
#: :func:`colour_evidence`: the box estimates are not one power law where white noise
#: plus a random walk fits them better by more than this (the two fits' weighted residual
#: sums of squares; the likelihood ratio ``exp(4.5 / 2)``, 9.5) ...
WALK_MARGIN = 4.5
#: ... and the signal's coarse content is a walk's, Gaussian: the kurtosis of the level
#: :data:`WALK_LEVEL` details at most this (:func:`details_kurtosis`; a Gaussian's is 3) ...
WALK_KURTOSIS = 6.0
#: ... at this level.
WALK_LEVEL = 4


def details_kurtosis(f2: np.ndarray, level: int) -> np.ndarray:
    """Per channel: the kurtosis (``m4 / m2^2``, 3 for Gaussian samples) of the level
    ``level`` details (:func:`level_details`) of ``f2`` (samples x channels)."""
    d = level_details(f2, level)
    d = d - d.mean(axis=0)
    m2 = np.mean(np.square(d), axis=0)
    return np.mean(np.square(np.square(d)), axis=0) / np.maximum(np.square(m2), 1e-300)


def walk_like(f2: np.ndarray, rises: np.ndarray) -> bool:
    """Whether some channel's box estimates (``rises``, :func:`box_rises`) are better
    fitted by white noise plus a random walk than by one power law (:func:`walk_misfit`
    beyond :data:`WALK_MARGIN`) and its coarse content is Gaussian as a walk's
    (:func:`details_kurtosis` at :data:`WALK_LEVEL` at most :data:`WALK_KURTOSIS`).

    Why the kurtosis.  A piecewise-constant signal's jumps also grow like a walk at the
    coarse levels, and pink noise on such a trace (2048 samples, 5-10 %) can rise so
    (1.29, 1.51, 1.63, 1.96: misfit 5.7): without the kurtosis 6 of 180 such cases
    (tests/test_coloured_choice.py's steps, seeds 0-59 at 5, 10 and 30 %) lost their call,
    4 of them 2.1-3.2 dB below main's output.  But their coarse content is a few jumps:
    kurtosis 10.6-16.1 at level 4, against 2.7-3.6 on the walks whose verdict the misfit
    changes (white or pink noise on Gaussian walks of 1000-2000 samples).  A walk of
    heavy-tailed steps (prices' jumps) is so not taken for one: the box test's verdict
    stands there."""
    walk = walk_misfit(rises, f2.shape[0]) > WALK_MARGIN
    if not bool(np.any(walk)):
        return False
    return bool(np.any(walk & (details_kurtosis(f2, WALK_LEVEL) <= WALK_KURTOSIS)))


def walk_reading(level: int, order: int = 3) -> float:
    """What :func:`box_sigma` reads at ``level`` on a random walk of unit steps (spectrum
    ``1 / (4 sin^2(omega / 2))``) over what it reads on white noise of unit sd: the
    estimate's expected square under each spectrum, as in :func:`power_law_factor`.
    0.548, 0.837, 1.517, 2.950, 5.857 at levels 1-5 (rises 1.53, 1.81, 1.95, 1.99:
    towards the walk's 2 a level, below it at the fine levels)."""
    w = (np.arange(CALIBRATION_POINTS) + 0.5) * (math.pi / CALIBRATION_POINTS)
    s = 2 ** (level - 1)
    box = (np.sin(w * s / 2) / (s * np.sin(w / 2))) ** 2
    diff = (2.0 * np.sin(w * s / 2)) ** order
    walk = 1.0 / (4.0 * np.sin(w / 2) ** 2)
    return math.sqrt(float(np.sum(np.square(diff) * box * walk) / np.sum(np.square(diff) * box)))


def walk_misfit(rises: np.ndarray, n: int) -> np.ndarray:
    """Per channel: how much better white noise plus a random walk fits the log box
    estimates of levels 1..k (level 1 and the ``rises`` of :func:`box_rises` of an
    ``n``-sample signal) than one power law: the weighted residual sum of squares of the
    straight line (one power law, ``log sigma_j = a + b j``) minus that of
    ``sigma_j^2 = W + R walk_reading(j)^2`` (white noise of sd ``sqrt W`` and a walk's own
    content, :func:`walk_reading`), each two parameters fitted (weights
    ``1 / log_sigma_error^2``, as :func:`rises_bend`'s).  Positive: the white noise and a
    walk fit better.

    Why.  Over levels 1-5 white noise on a random walk rises from 1 towards the walk's 2
    (the walk's part grows 4x in variance a level, the white part stays); pink noise rises
    by the same factor, about sqrt2, at every level.  At 2000 samples the rises of white
    noise on a walk may stay inside the box test's band at every level (1.29, 1.57, 1.73,
    1.91) with no significant bend (:func:`rises_bend`); the straight line then misfits
    them (residual 5.5-8.5) where the white noise and walk fit (0.4-2.6)."""
    k = rises.shape[0] + 1
    w = 1.0 / np.square(_level_errors(n, k))
    logs = _level_logs(rises)  # (k, channels)
    j = np.arange(1, k + 1, dtype=float)
    x = np.stack([np.ones(k), j], axis=1)
    line = x @ np.linalg.solve(x.T @ (x * w[:, None]), x.T @ (w[:, None] * logs))
    straight = np.sum(w[:, None] * np.square(logs - line), axis=0)
    walk2 = np.square([walk_reading(level) for level in range(1, k + 1)])
    shape = 0.5 * np.log1p(np.exp(_WALK_RATIOS)[:, None] * walk2)  # (ratios, k)
    rest = logs[None, :, :] - shape[:, :, None]  # (ratios, k, channels)
    rest = rest - np.sum(w[None, :, None] * rest, axis=1, keepdims=True) / np.sum(w)
    both = np.min(np.sum(w[None, :, None] * np.square(rest), axis=1), axis=0)
    return straight - both


def power_law_noise(f2: np.ndarray, sig: np.ndarray) -> tuple[bool, np.ndarray]:
    """``(confident, rises)``: whether the noise of ``f2`` (samples x channels; ``sig``
    the finest level's per channel) is confidently coloured, and the rises of
    :func:`box_rises` over levels 2..5 (fewer for short signals).

    Why.  Stationary noise of a power spectrum ``f^-alpha`` has level sigmas on
    one straight line, ``sigma_j ~ 2^(alpha j / 2)``: the same rise at every
    level, ``sqrt2`` for pink noise.  A rough signal's own coarse content (music,
    a chirp, yearly series) also makes the box estimates rise, but not as one
    power law: its rises exceed any noise-like slope at some level (2-6 per
    level on music and measured series) or fall where its band ends (0.7-0.8
    on chirps).  Confident: on every channel, levels 2, 3 and 4 each rise within
    :data:`POWER_LAW_RISES` and level 5 (when there is one) by at least
    :data:`POWER_LAW_LAST_RISE`, and the rises are equal: the log level sigmas
    bend from one straight line by at most :data:`resdenoise.noise.RATIO_Z`
    standard errors (:func:`rises_bend`, errors from each level's window
    count), and white noise plus a Gaussian random walk does not fit them better than
    that straight line by more than :data:`WALK_MARGIN` (:func:`walk_like`).  White
    noise on a random walk rises from 1 towards 2 (1.33, 1.38,
    1.73, 2.83) and passed the band alone: bends 3.2-4.8; pink noise alone
    -1.5-1.5, pink on steps up to 2.6 at 2048 samples (4.0 at 4096: the steps'
    coarse content, then not confident).  Red noise (alpha = 2, a random
    walk) rises by about 2, beyond the band: it is the signal's kind of
    content (measured series), never confidently noise.  Signals of under 4
    levels are never confident.  Where the box rises fail, the quietest
    windows may still show one power law (:func:`quiet_power_law`, signals that
    pause); ``rises`` are then theirs.
    Measured (``benchmarks/bench_power_law.py``, 6 seeds): white noise at 5,
    10, 30 % on every class of ``benchmarks/bench_classes.py``, a chirp and
    random walks: none confident (without the bend: 1 of 72 on the walks);
    pink noise at 10 / 30 %: speech 10 / 12 of 12 (12 / 12 without), sensor
    traces 11 / 9, Donoho-Johnstone 19 / 24 of 24, walks 16 / 22 of 24 (17 /
    23), measured series 0 / 6 of 24 (2 / 6), music and chirp none.  The false
    calls cost: white 5 % on walks, automatic output 4-5 dB below the input, now
    -0.9 to +1.0 dB; the lost speech calls: pink speech 0.84 -> 1.07 of the peer,
    regained by the quiet windows: pink speech 10 / 12 -> 12 / 12, tones in
    bursts with pauses 6 / 5 -> 12 / 11 of 12, no white case called (0.837 of
    the peer).  The walk misfit, measured with ``benchmarks/bench_walks.py``
    (walks of 100-2000 samples, white noise at 5, 10, 30 % and pink at 10 %, 200
    tuning and 200 fresh seeds): it changes the verdict only on walks of 1000-2000
    samples, 15 tuning and 12 fresh cases of 4000 each, and on no case of
    ``bench_classes`` and ``bench_heldout_classes`` (every noise, seeds 100-103; their
    largest misfit under pink noise with box evidence: 4.14, a sensor trace of 1024
    samples) or ``bench_one_over_f`` (seeds 300-309).
    """
    return colour_evidence(f2, sig)[:2]


def first_level(f2: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Per channel: the level-1 estimate the box estimates of levels 2.. are compared with
    (:func:`colour_evidence`, the level per scale of a coloured noise): ``sig`` or, where
    higher, level 1's box estimate (:func:`box_sigma`, the order-3 quiet windows, the
    estimator of every other level).

    Why.  The search's level (:func:`resdenoise.noise.search_noise`) is extrapolated over
    difference orders 3 and 8 where the orders disagree, as a signal's fine content makes
    them; under pink noise they disagree the more (eighth differences weigh the top of the
    band, where it is weakest), and the level reads 0.67-0.88 of the noise's finest level
    (``benchmarks/bench_pink_heldout.py --tuning``, seed 200: ecg, seismic, linchirp,
    expchirp, birdsong, drums, drift; birdsong 0.73-0.83 over seeds 100-103 and 200-203),
    where the order-3 estimate reads 0.885 of it (:func:`power_law_factor`).  Against that
    level the rise to level 2 read 1.42-2.50 where the noise's own is 1.34-1.36: birdsong
    1.71-2.03, beyond the box test's band (1.8) or at its edge, its noise taken for the
    signal's content; and where the power law was confident, level 1 stayed at 0.73-0.77 of
    the truth (ecg, seismic, expchirp, drift: not calibrated, not the order-3 estimate) and
    every level above was held to sqrt2 times the one below (0.88-0.99 at levels 2-3).
    With this level 1: 0.98-1.15 at level 1, 0.97-1.20 at levels 2-3 (the same cases).
    Where the orders agree the two are the same number (``sig`` is that estimate).
    """
    return np.maximum(np.asarray(sig, dtype=float), box_sigma(f2, 1))


def colour_evidence(f2: np.ndarray, sig: np.ndarray) -> tuple[bool, np.ndarray, str]:
    """:func:`power_law_noise`'s ``(confident, rises)`` and which evidence made it
    confident, for the report: ``"box estimates"``, ``"quiet windows"``, the
    tonal floor's numbers (:func:`tonal_power_law`), or ``""`` (not confident).

    Read once per signal and level: the callers pass it on
    (:func:`resdenoise.multilevel.white_nugget`, the level per scale of
    :func:`resdenoise.multilevel.level_sigmas`, the automatic choice and its
    multiscale candidates)."""
    f2 = np.asarray(f2)
    sig = np.asarray(sig, dtype=float)
    k = min(max_scales(f2.shape[0]), 5)
    if k < 4:
        return False, np.zeros((0, f2.shape[1])), ""
    rises = box_rises(f2, sig, k)
    lo, hi = POWER_LAW_RISES
    confident = bool(np.all((rises[:3] >= lo) & (rises[:3] <= hi)))
    confident = confident and bool(np.all(rises[3:] >= POWER_LAW_LAST_RISE))
    confident = confident and bool(np.all(np.abs(rises_bend(rises, f2.shape[0])) <= RATIO_Z))
    confident = confident and not walk_like(f2, rises)
    if confident:
        return True, rises, "box estimates"
    confident, rises = quiet_power_law(f2, rises)
    if confident:
        return True, rises, "quiet windows"
    return tonal_power_law(f2, rises)


#: :func:`quiet_window_levels`: windows of this many samples ...
QUIET_WINDOW = 256
#: ... at least this many of them ...
QUIET_MIN_WINDOWS = 16
#: ... of which this share, the quietest at the coarsest level, is read ...
QUIET_SHARE = 0.25
#: ... over levels 1 to this.
QUIET_LEVELS = 5
#: :func:`quiet_power_law`: the quiet windows' rise per level (the slope of the
#: straight line through their log level sigmas) within this range: noise of
#: spectrum f^-alpha, 0.64 <= alpha <= 1.17 (pink: sqrt2) ...
QUIET_SLOPE = (1.25, 1.5)
#: ... and that line's weighted residual sum of squares at most this: the 95 %
#: point of chi^2 with 3 degrees of freedom (5 levels, 2 parameters) ...
QUIET_CHI2 = 7.81
#: ... where the signal pauses: the median window's coarsest-level energy is at
#: least this many times the quiet windows' (stationary signals: 1.3-1.9; it was 4.0,
#: which left pink birdsong out: its calls pause 2.6-3.8 there, the quiet windows rising
#: 1.16-1.46 a level, slope 1.24-1.35, chi^2 0.3-2.5, heldout_signals' birdsong, seeds
#: 100, 101, 200, 201) ...
QUIET_PAUSE = 2.5
#: ... and, in :func:`paused_power_law`'s short windows, this (white noise on an AR(1)
#: process of phi 0.9 pauses 2.5-4 there: tests/test_paused_power_law.py).
SHORT_PAUSE = 4.0
#: :func:`paused_power_law`: the quiet windows of this many samples (a pause between
#: heart beats is 70-100 samples at 360 Hz) ...
SHORT_WINDOW = 64
#: ... over levels 1 to this ...
SHORT_LEVELS = 4
#: ... and the straight line's residual sum of squares at most this: the 95 % point of
#: chi^2 with 2 degrees of freedom (4 levels, 2 parameters).
SHORT_CHI2 = 5.99


def quiet_window_levels(
    f2: np.ndarray, window: int = QUIET_WINDOW, levels: int = QUIET_LEVELS
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(logs, errors, pause)``: the log noise sigma of levels 1..``levels`` (5) read on
    the same windows of ``window`` samples (256), the quietest at the coarsest level, and
    its standard errors (each ``(levels, channels)``), and per channel the median
    window's coarsest-level energy over the quiet windows' median; None when the signal
    has fewer than :data:`QUIET_MIN_WINDOWS` windows.

    Each window's mean square of each level's details (:func:`level_details`); the
    :data:`QUIET_SHARE` of the windows with the smallest coarsest-level energy;
    per level half the log of their median, whose standard error is taken as
    ``1.2533 sd / sqrt(count)`` of the windows' half log energies (a median's
    efficiency under normality).  Where a signal pauses (speech, bursts, a
    sensor at rest) those windows hold noise alone at every level, so their
    levels are the noise's spectrum, free of the coarse content that bends
    :func:`box_rises` (whose quiet windows are chosen per level, and the coarse
    ones, longer, overlap the signal).  A signal with no pauses (a random walk,
    music) shows its own levels here as well.
    """
    n, c = f2.shape
    windows = (n - 2**levels + 1) // window  # every level's details cover them
    if windows < QUIET_MIN_WINDOWS:
        return None
    energies = np.empty((levels, windows, c))
    for j in range(1, levels + 1):
        d = level_details(f2, j)[: windows * window]
        energies[j - 1] = np.mean(np.square(d).reshape(windows, window, c), axis=1)
    keep = max(4, int(QUIET_SHARE * windows))
    quietest = np.argsort(energies[-1], axis=0, kind="stable")[:keep]
    picked = 0.5 * np.log(np.maximum(np.take_along_axis(energies, quietest[None], axis=1), 1e-300))
    logs = np.median(picked, axis=1)
    errors = 1.2533 * np.std(picked, axis=1, ddof=1) / math.sqrt(keep)
    pause = np.median(energies[-1], axis=0) / np.maximum(np.exp(2.0 * logs[-1]), 1e-300)
    return logs, np.maximum(errors, 1e-3), pause


def quiet_power_law(f2: np.ndarray, rises: np.ndarray) -> tuple[bool, np.ndarray]:
    """``(confident, rises)``: whether the quiet windows' level sigmas
    (:func:`quiet_window_levels`) lie on one noise-like power law on every channel,
    with their rises when so (else ``rises`` back).  Only where the signal pauses
    (:data:`QUIET_PAUSE`: else its quiet windows hold its own content); one
    power law: the weighted straight line through the log sigmas rises by
    :data:`QUIET_SLOPE` a level and leaves a residual sum of squares of at most
    :data:`QUIET_CHI2`.

    Measured (6 seeds; ``benchmarks/bench_power_law.py``'s own signals, 3 seeds):
    pink speech in the quiet windows rises by 1.32-1.50 at every level, slope
    1.37-1.40, chi^2 0.2-0.5 (where :func:`box_rises` read 1.41, 1.53, 1.70,
    1.92, a bend of 4.6); white noise on random walks of 8192-16384 samples
    by 1.0-1.2 first and 1.5-1.75 last, chi^2 17-160; AR(1) processes with phi
    = 0.9 are pink-like in the band at any noise (slope 1.45-1.62, chi^2 1-14;
    at 30 % white noise, called coloured without the pause rule, the automatic
    output fell from 11.6 to 3.9 dB), but stationary: pause 1.3-1.9, against
    8.6-26 for pink speech.
    """
    law = _quiet_law(f2, QUIET_WINDOW, QUIET_LEVELS, QUIET_CHI2)
    return (False, rises) if law is None else (True, law)


def _quiet_law(
    f2: np.ndarray, window: int, levels: int, most: float, lowest: float = 0.0, pause=None
):
    """The rises of the quiet windows' level sigmas (:func:`quiet_window_levels` of
    ``window`` samples over ``levels`` levels) where, on every channel, the signal pauses
    (``pause``, default :data:`QUIET_PAUSE`), the weighted straight line through the log
    sigmas rises by :data:`QUIET_SLOPE` a level and leaves a residual sum of squares of at
    most ``most``, and every level rises by at least ``lowest``; else None."""
    found = quiet_window_levels(f2, window, levels)
    if found is None:
        return None
    logs, errors, paused = found
    if not bool(np.all(paused >= (QUIET_PAUSE if pause is None else pause))):
        return None
    rises = np.exp(np.diff(logs, axis=0))
    if not bool(np.all(rises >= lowest)):
        return None
    j = np.arange(1.0, levels + 1.0)
    x = np.stack([np.ones_like(j), j], axis=1)
    for ch in range(f2.shape[1]):
        w = 1.0 / np.square(errors[:, ch])
        beta = np.linalg.solve(x.T @ (x * w[:, None]), x.T @ (w * logs[:, ch]))
        chi2 = float(np.sum(w * np.square(logs[:, ch] - x @ beta)))
        slope = math.exp(float(beta[1]))
        if not (QUIET_SLOPE[0] <= slope <= QUIET_SLOPE[1] and chi2 <= most):
            return None
    return rises


def paused_power_law(f2: np.ndarray, evidence: tuple) -> tuple[bool, np.ndarray, str]:
    """:func:`colour_evidence`'s answer ``evidence``, or where it is not confident but the
    quiet windows of :data:`SHORT_WINDOW` samples show one power law over levels 1 to
    :data:`SHORT_LEVELS` (as :func:`quiet_power_law`'s of 256 samples over 5 levels, with
    :data:`SHORT_CHI2`, and every level rising by at least ``POWER_LAW_RISES[0]``),
    confident with their rises and the evidence's name.

    Used where a roughness check (the variogram's nugget, the lag-one covariance, the
    spectral floor) set the level (:func:`resdenoise.multilevel.white_nugget`): under pink
    noise they read its white-like part (0.52-0.99 of its finest level) and the noise is
    then taken as white at every scale, while a signal whose coarse content comes in short
    bursts (an ECG's beats, 70-100 quiet samples between them) bends the box estimates
    (ECG: level 4 rises 20x) and has no pause of 256 samples.  Between its bursts the
    windows of 64 samples hold the noise alone: pink ECG rises 1.36-1.48 at levels 2-4,
    slope 1.38-1.44, chi^2 0.1, pause 21.  A random walk's or an AR(1) process's own
    increments never pause (pause 1.5-2.0; with white noise no call in 480 cases: walks,
    walks with jumps, AR(1) phi 0.9 and 0.97 of 512-8192 samples at 2-30 % noise, 6
    seeds); white noise under an exponential chirp at 5 % pauses and fits the line
    (chi^2 0.3-0.7) but rises 0.96-1.06 at level 2: white there.
    """
    if evidence[0]:
        return evidence
    law = _quiet_law(f2, SHORT_WINDOW, SHORT_LEVELS, SHORT_CHI2, POWER_LAW_RISES[0], SHORT_PAUSE)
    if law is None:
        return evidence
    said = f"the quiet windows of {SHORT_WINDOW} samples between the signal's bursts"
    return True, law, said


#: :func:`rough_checked_evidence`: no noise of one power law rises by more than red
#: noise's 2 a level (f^-2, a random walk's own increments; the box test's band stops at
#: 1.8, alpha 1.7) ...
RED_RISE = 2.0


def rough_checked_evidence(f2: np.ndarray, sig: np.ndarray) -> tuple[bool, np.ndarray, str]:
    """:func:`paused_power_law` of :func:`colour_evidence` of ``f2`` at ``sig``, the level
    without a roughness check, where the check (the variogram's nugget, the lag-one
    covariance, the spectral floor) read a lower level: not confident where some level
    rises by more than :data:`RED_RISE` (its rises kept, for the report).

    Why.  The check says the series is rough: its own increments are in the level it
    removed.  White noise on a random walk rises from 1 towards the walk's 2, and at
    300-1000 samples its levels 2-4 often rise inside the box test's band with no
    significant bend, while level 5, where the walk dominates, rises by more than any noise
    of one power law (walks of unit steps in white noise of sd 0.5,
    tests/test_colour_walks.py's seeds 16 and 25 of 1000 samples and 29 of 300: 1.38, 1.61,
    1.40, 3.31; 1.44, 1.61, 1.69, 3.05; 1.27, 1.61, 1.72, 2.57): called confident, the level
    went back to the plain one (1.4-1.6x the truth) and the coloured ranking's choice came
    out 5.7-6.4 dB below the input.  Measured on the cases where a check set the level and
    the evidence is confident: pink noise on every class of ``bench_classes``,
    ``bench_heldout_classes`` and ``bench_power_law`` (seeds 100-101 and 0-5) rises by at
    most 1.97 at any level but on random walks (2.1-2.8, 3 of 12 walks); white noise on
    fresh walks of 300-2000 samples (sd 0.5 and 1) by 2.2-4.5 at level 5 in 34 of 40 (the
    other 6: 2000 samples, 1.78-1.97, within red noise's bound; such walks of
    ``benchmarks/bench_walks.py``, :func:`walk_like` in :func:`colour_evidence` takes)."""
    evidence = paused_power_law(f2, colour_evidence(f2, first_level(f2, sig)))
    if evidence[0] and bool(np.any(np.asarray(evidence[1]) > RED_RISE)):
        return False, evidence[1], ""
    return evidence


#: :func:`octave_floors`: Hann segments of this many samples (harmonics 1/1024 cycle
#: per sample apart are resolved), half-overlapping ...
FLOOR_SEGMENT = 1024
#: ... at least this many of them (8192 samples) ...
FLOOR_MIN_SEGMENTS = 15
#: ... and at most this many, spread evenly over a longer signal ...
FLOOR_MAX_SEGMENTS = 256
#: ... over octaves 1 (pi/2 to pi) to this ...
FLOOR_OCTAVES = 5
#: ... each read as this quantile of its bins (the floor between peaks) and the
#: complementary one (its peaks).
FLOOR_QUANTILE = 0.1
#: :func:`tonal_power_law`: tonal where an octave 3-5's peaks are at least this
#: many times its floor (smooth spectra, noise, random walks, AR processes: 2-7) ...
TONAL_RATIO = 20.0
#: ... and the floor (log2 of its power) rises by these, octave 1 -> 2 and 2 -> 3
#: (pink noise: 1, its alpha), and by at most the last, 3 -> 4.
FLOOR_RISES = ((0.8, 1.5), (0.7, 2.0), 1.6)


def octave_floors(f2: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(floors, peaks)``: per octave 1..:data:`FLOOR_OCTAVES` (octave b: frequencies
    pi 2^-b to pi 2^(1-b)) and channel, log2 of the :data:`FLOOR_QUANTILE` and
    ``1 - FLOOR_QUANTILE`` quantiles over the octave's bins of the median
    periodogram (each ``(FLOOR_OCTAVES, channels)``); None for signals of fewer
    than :data:`FLOOR_MIN_SEGMENTS` segments.

    The periodogram of each half-overlapping Hann segment of
    :data:`FLOOR_SEGMENT` samples (its mean removed), and per frequency the
    median over the segments (at most :data:`FLOOR_MAX_SEGMENTS`, spread
    evenly): a note's onset or a click in a few segments does not move it.
    Stationary noise has the same distribution at every frequency of one
    octave up to its spectrum's slope, so the octave's low quantile follows the
    spectrum from octave to octave (pink: doubling); a tonal signal's peaks
    (harmonics) fill a few bins, and the bins between them are the noise.
    """
    n, c = f2.shape
    length = FLOOR_SEGMENT
    count = (n - length) // (length // 2) + 1 if n >= length else 0
    if count < FLOOR_MIN_SEGMENTS:
        return None
    starts = (length // 2) * np.arange(count)
    if count > FLOOR_MAX_SEGMENTS:
        starts = starts[np.linspace(0, count - 1, FLOOR_MAX_SEGMENTS).round().astype(int)]
    segments = f2[starts[:, None] + np.arange(length)]  # (segments, length, channels)
    segments = (segments - segments.mean(axis=1, keepdims=True)) * np.hanning(length)[:, None]
    power = np.median(np.abs(np.fft.rfft(segments, axis=1)) ** 2, axis=0)
    floors, peaks = [], []
    for b in range(1, FLOOR_OCTAVES + 1):
        band = power[length >> (b + 1) : length >> b]
        low, high = np.quantile(band, [FLOOR_QUANTILE, 1.0 - FLOOR_QUANTILE], axis=0)
        floors.append(np.log2(np.maximum(low, 1e-300)))
        peaks.append(np.log2(np.maximum(high, 1e-300)))
    return np.array(floors), np.array(peaks)


def tonal_power_law(f2: np.ndarray, rises: np.ndarray) -> tuple[bool, np.ndarray, str]:
    """``(confident, rises, evidence)``: whether the floor between a tonal signal's
    spectral peaks (:func:`octave_floors`) rises as noise of one power law on
    every channel; when so, the level rises that law gives (``2^(alpha/2)``
    at each of levels 2-5, ``alpha`` the floor's rise from octave 1 to 2) and
    the evidence for the report, else ``rises`` back and ``""``.

    Why.  Music never pauses, so :func:`quiet_power_law` has no noise-only
    windows, and its harmonics make the box estimates rise by 3-4 a level.
    But a tonal signal is sparse in frequency: its top octaves (above its
    harmonics) and the bins between its harmonics hold the noise alone.
    Confident where an octave 3-5 is tonal (its peaks at least
    :data:`TONAL_RATIO` times its floor) and the floor rises from octave 1 to
    2 and 2 to 3 within :data:`FLOOR_RISES` (alpha about 1) and from 3 to 4
    by at most its last.  A smooth spectrum (white noise on a random walk or
    an AR process, whose floor may rise like pink noise's) is never tonal;
    white noise under a tonal signal has a flat top (rise -0.3-0.3 on the
    benchmark's music, sums of sinusoids, harmonic tones).

    Measured (white and pink noise at 5, 10, 30 %, 6 seeds other than those
    the bounds were read on): white noise called on none of 738 cases (every
    class of ``benchmarks/bench_classes.py``, chirps, walks, AR(1) and AR(2)
    processes, tones in bursts, a seasonal series, music of 8192-32768
    samples, harmonic tones with and without vibrato, sums of 3-200
    sinusoids); pink noise on music of 8192-16384 samples 14-18 of 18 (32768
    samples: 4), harmonic tones 15 and 10 (vibrato), 10 sinusoids 18; the
    benchmark's pink music at seeds 100-103, 8 of 8.  Not separable from
    the spectrum: a tonal signal over a smooth red background of its own (an
    AR(1) process) in white noise, whose floor between the peaks is that
    background's: called on 5 of 162 with backgrounds of 10-50 % of the
    tones' std at 5-30 % noise and 17 of 324 with 3-30 % at 1-10 % noise;
    where called, the automatic output fell 3.2-4.3 dB (the background taken
    for noise).
    """
    found = octave_floors(f2)
    if found is None:
        return False, rises, ""
    floors, peaks = found
    step = np.diff(floors, axis=0)  # step[b - 1]: octave b -> b + 1
    tonal = np.max(peaks[2:] - floors[2:], axis=0)
    (lo1, hi1), (lo2, hi2), hi3 = FLOOR_RISES
    confident = bool(
        np.all(tonal >= math.log2(TONAL_RATIO))
        and np.all((step[0] >= lo1) & (step[0] <= hi1))
        and np.all((step[1] >= lo2) & (step[1] <= hi2))
        and np.all(step[2] <= hi3)
    )
    if not confident:
        return False, rises, ""
    evidence = (
        "the spectral floor between tonal peaks (octave rises "
        + ", ".join(f"{float(np.max(x)):.2f}" for x in step[:3])
        + f" in log2 power; peaks {float(np.min(2.0**tonal)):.0f}x the floor)"
    )
    return True, np.broadcast_to(2.0 ** (step[0] / 2.0), (4, f2.shape[1])).copy(), evidence


#: :func:`power_law_factor`: midpoints of this many frequencies on (0, pi).
CALIBRATION_POINTS = 4096


def power_law_factor(alpha: float, level: int, order: int = 3) -> float:
    r"""How much a level's white-calibrated estimate under-reads noise of power
    spectrum ``omega^-alpha``: ``sqrt(Var d_j / E est_j)``, 1 for white noise.

    ``d_j``: the level's details (:func:`level_details`, filter
    ``2^((j-2)/2) (e^{i omega s} - 1) B_s``, ``B_s`` the box of s samples);
    ``est_j``: the estimate of :func:`box_sigma` (level 1: of the signal), whose
    differences of ``order`` on the box signal decimated by s are calibrated for
    white noise (``sum_k binom(order, k)^2 = binom(2 order, order)``).  Both are
    linear filters of the noise, so their expected squares are integrals of the
    spectrum against the filters' squared responses:

    .. math::

        \frac{\int 2^{j-2} |e^{i\omega s} - 1|^2 |B_s|^2 \omega^{-\alpha}}
             {s \int |e^{i\omega s} - 1|^{2\,\mathrm{order}} |B_s|^2
              \omega^{-\alpha} / \binom{2\,\mathrm{order}}{\mathrm{order}}}.

    Higher differences weigh the top of the band, where ``omega^-alpha`` is
    smallest: for pink noise (alpha = 1) and order 3 the factor is 1.130 at
    level 1 and 1.135-1.156 at levels 2-5 (an estimate 0.87-0.885 of the
    level's noise; measured on the Donoho-Johnstone signals in the pink noise
    of ``benchmarks/bench_classes.py``: 0.88-0.94 at levels 1-4).  Order 1 (the
    ``mad-haar`` estimate of short signals) reads the level's own details: 1.
    """
    w = (np.arange(CALIBRATION_POINTS) + 0.5) * (math.pi / CALIBRATION_POINTS)
    s = 2 ** (level - 1)
    box = (np.sin(w * s / 2) / (s * np.sin(w / 2))) ** 2
    diff = (2.0 * np.sin(w * s / 2)) ** 2
    spectrum = box * w ** -float(alpha)
    detail = 2.0 ** (level - 2) * np.sum(diff * spectrum)
    estimate = s * np.sum(diff**order * spectrum) / math.comb(2 * order, order)
    return math.sqrt(float(detail / estimate))


def power_law_calibrated(f2: np.ndarray, sigmas: list, rises: np.ndarray, first: bool) -> list:
    """``sigmas`` (levels 1..k, :func:`level_sigmas`' ``boxes``) times
    :func:`power_law_factor` for each channel's exponent, ``alpha = 2 log2`` of
    the geometric mean of its rises over levels 2-4 (:func:`power_law_noise`);
    level 1 only when ``first`` (its estimate was the order-3 quiet windows).

    Measured (``benchmarks/bench_thresholds.py``, pink noise at 10 %): the
    corrected estimates are 1.00-1.04 of the level noise on Doppler and
    HeaviSine, 1.04-1.18 on Blocks, Bumps, sensor traces and speech (their own
    coarse content in the box estimates); ``benchmarks/bench_classes.py``,
    pink: Donoho-Johnstone 0.890 -> 0.884, sensor 0.776 -> 0.744, speech 0.841
    -> 0.843 of the best peer's MSE (then; on main at c690405, ``--seeds 2``: speech
    0.817, music 0.920, measured series 0.343, sensor 0.717, Donoho-Johnstone 0.924, all
    0.607).  With level 1 read by :func:`first_level` (``first`` then, also where the
    search's level was extrapolated over orders): speech 0.812, music 0.873, the others
    the same, all 0.602 (side by side, branch pink21).
    """
    alpha = np.clip(2.0 * np.mean(np.log2(np.maximum(rises[:3], 1e-300)), axis=0), 0.0, 2.0)
    out = []
    for j, sj in enumerate(sigmas, start=1):
        if j == 1 and not first:
            out.append(sj)
            continue
        s = 2 ** (j - 1)
        m = (f2.shape[0] - s + 1) // s  # the decimated phases' length (box_sigma)
        order = 3 if j == 1 or window_for(m, 3) is not None else 1
        factors = np.array([power_law_factor(a, j, order) for a in alpha])
        out.append(np.asarray(sj, dtype=float) * factors)
    return out
