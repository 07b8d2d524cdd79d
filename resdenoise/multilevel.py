r"""Multilevel shift-invariant Haar shrinkage, exactly, as diffusion-type blocks.

One iteration of K-level stationary (undecimated) Haar shrinkage, as
``pywt.swt`` / threshold / ``pywt.iswt`` compute it on the mirrored signal
``y = [u, u reversed]`` (period 2N; reflecting ends), is

.. math::

    u \leftarrow u + \tfrac14 \sum_{j=1}^{K} P_j^\top D^-_{s}
        \Phi_j\bigl(D^+_{s} P_j u\bigr), \qquad s = s_j = 2^{j-1},

with ``(D+_s v)_i = v_{i+s} - v_i``, ``(D-_s F)_i = F_i - F_{i-s}``, the box
average ``(P_j u)_i = mean(u_i, ..., u_{i+s-1})`` (s samples; its adjoint
``P_j^T`` averages ``u_{i-s+1}, ..., u_i``), and the single-scale flux
``Phi_j(d) = d - sqrt2 S_j(d / sqrt2)`` of the shrinkage with threshold
``theta_j 2^(-(j-1)/2)``, where ``theta_j`` is the level's threshold in
PyWavelets' units.

Why.  Write ``L_s x = (x_i + x_{i+s})/sqrt2`` and ``H_s x = (x_i - x_{i+s})/sqrt2``
(Haar analysis with the filters dilated by s = 2^(j-1), as swt does at level j).
iswt's reconstruction of one level averages the two decimated inverses:
``R_s(a, d) = (L_s^T a + H_s^T d)/2``, and ``R_s(L_s x, H_s x) = x``.  Linearity of
``R_s`` and perfect reconstruction give, from the coarsest level down,
``u' - u = sum_j A_1 ... A_{j-1} B_j (S_j(d_j) - d_j)`` with ``A = L^T/2``,
``B = H^T/2``: every level's correction is computed from the details of the
*same* u and added.  With ``L_s = sqrt2 M_s`` (``M_s`` the mean of two samples
s apart), the level-j approximation is ``2^((j-1)/2) P_j u`` (the M's of
strides 1, 2, ..., s/2 make the box of s samples), so
``d_j = -2^((j-2)/2) D+_s P_j u``.  Shrinkages that scale as
``S_theta(c x) = c S_(theta/c)(x)`` (every one of the registry) turn
``S_j(d_j) - d_j`` into ``2^((j-2)/2) Phi_j(D+_s P_j u)``, and
``A_1 ... A_{j-1} B_j = 2^(-(j-1)/2) P_j^T D-_s / (2 sqrt2)``: the 2^(...) factors
cancel to the 1/4 above.  At level 1 (``P_1 = I``) this is the paper's
single-scale block.

One iteration is therefore **one additive multiscale block**, not a cascade:
all K levels see the same u (a cascade, level after level, is another
filter; :mod:`resdenoise.multiscale` keeps it for ``diffuse``).  Each level
runs through the one engine (:func:`resdenoise.engine.run_strided`: the s
interleaved subsequences of the box-averaged signal are the engine's
channels, one block with tau = 1/4), with the box average before and its
adjoint after.

Reflecting ends.  The operator commutes with the reflection ``i -> -1 - i``
(``R P R = P^T``, ``R D+_s R = -D-_s``, Phi odd), so on the mirrored periodic
signal the result is mirrored again and its first N samples are the
output.  Level j at sample i reads ``y_{i-2s+1}, ..., y_{i+2s-1}``: each level runs
on the N samples extended by 2s - 1 mirrored ones per side (indices of the
2N-periodic mirror, so levels wider than the signal wrap as swt does); the
engine's zero-flux ends of that window reach no output sample.  PyWavelets
wants a length divisible by 2^K: the oracle (the tests) repeats the
mirrored period 2N ``2^(K-1) / gcd(N, 2^(K-1))`` times, which changes no
circular convolution.

Stability of each level (``tests/test_multilevel.py``, hypothesis).  With
``W_j = 2^(-j/2) H_s L ... L`` and ``W_(K+1) = 2^(-K/2) L ... L`` the
undecimated Haar frame is Parseval (``sum W_j^T W_j = I``, from
``(L^T L + H^T H)/2 = I``), and one iteration is ``sum W_j^T S~_j(W_j u)`` with
``|S~_j(x)| <= |x|``.  Hence, for every level alone and for all of them:

* the mean is preserved (sums of differences; the box averages keep sums);
* the deviation from the mean does not grow: ``||u' - mean|| <= ||u - mean||``
  (Euclidean; constants pass unchanged);
* for soft shrinkage, the iteration is non-expansive,
  ``||u' - v'|| <= ||u - v||``.

The **max-min principle holds at level 1 only**: for j >= 2 the box average
and its adjoint give negative weights (a unit spike with level 2 killed
undershoots to -1/16).  Inside, the level's block acts on the box-averaged
signal with tau = 1/4 <= 1/(2 g_max), which keeps *that* signal's range; this
is what :func:`resdenoise.stability.check_tau` certifies per level.  The
report measures per level mean drift, the deviation's norm before and
after, and the max-min principle (held or the overshoot), and, on the
box-averaged signal its block runs on, the max-min principle, total
variation and sign changes per subsequence (``box_averages_per_subsequence``,
:mod:`resdenoise.subsequences`).

Noise per level (:func:`level_sigmas`).  Details are normalised as
PyWavelets': white noise of level sigma has sigma at every level, pink
(1/f) noise about sqrt2 more a level.  Rule ``auto`` (the default): the
box estimate of each level j >= 2 is :func:`resdenoise.noise.estimate_noise`
of the box-averaged signal ``P_j u`` decimated by s (each of its s phases;
their median), times sqrt s, capped at sqrt2 times the level below;
where levels 2 and 3 both rise by 1.25 or more the noise is taken for
coloured and every level gets its box estimate, else every level gets the
signal's one estimate.  Measured (``benchmarks/bench_scales.py``, one
seed, geometric-mean MSE over a class against the better of PyWavelets'
haar and sym8 SWT with per-level SureShrink): a MAD of each level's own
details reads the signal's coarse content as noise (13x the peer's MSE on
white noise, 7x on pink); the box estimate at every level gives 0.95x
(white) and 0.96x (pink); one estimate at every level 0.78x and 1.04x;
``auto`` 0.87x and 0.93x (it takes rough signals such as music or the
sunspot series for coloured noise).  A given sigma is used at every level.
Where the box estimates also lie on one power law ``f^-alpha``
(:func:`colour_evidence`), each is divided by the estimator's known bias
under that spectrum (:func:`power_law_factor`: third differences weigh the
top of a level's band, where such noise is weakest; pink noise is read
0.87-0.885 of its level, measured 0.88-0.94 on the Donoho-Johnstone cases).
Level 1 there, and in the colour evidence, is read as the other levels are
(:func:`~resdenoise.noise_colour.first_level`: the order-3 box estimate, not the
search's level where that was extrapolated over difference orders 3 and 8, which
reads pink noise 0.67-0.88 of its finest level and held every level above to
sqrt2 times it), but in the searches again at a level's low end.

Thresholds (:func:`choose_levels`).  The threshold of each level first
minimises that level's SURE in the coefficient domain,
``sum (S(d) - d)^2 + 2 sigma_j^2 S'(d) - M sigma_j^2`` (S' by central
differences), over ``sigma_j sqrt(2 ln N) 2^(-k/2)``, k = 0..20, or no
shrinkage at that level.  The frame is redundant, so that sum is not the
output's error; from there (rule ``signal``, the default) the levels are
chosen again, one after the other, by SURE of the output signal, exact
for one iteration and any noise colour (:func:`signal_thresholds`).
Measured on the pink-noise cases of ``benchmarks/bench_classes.py`` (MSE
over the input's): Doppler 0.822 -> 0.772 (soft), where the best
thresholds per level chosen with the clean signal reach 0.760 (soft),
0.728 (garrote), 0.711 (hard) and the sym8 SWT peer 0.652: the rest is the
Haar basis.  One threshold per level for all channels (the largest
channel sigma; SURE summed over channels).  NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from . import stability
from .errors import ParameterError, check_blocks, check_count
from .filters import Plan, scaled_nonlinearity
from .haar_frame import frame_coefficients, frame_level, frame_sure_terms
from .level_blocks import (  # noqa: F401 - re-exported: the level blocks' names, as before the move
    _level_block,
    deviation_tolerance,
    level_correction,
    level_lambda,
    measure_levels,
    multilevel_block,
)
from .noise import UNIDENTIFIED, NoiseLevel, resolve_sigma, search_noise
from .noise_colour import (
    box_rises,
    box_sigma,
    check_scales,
    colour_evidence,
    first_level,
    level_details,
    log_sigma_error,
    max_scales,
    power_law_calibrated,
    power_law_factor,
    rises_bend,
    rough_checked_evidence,
    warn_scales,
)
from .nonlinearities import SQRT2, get_nonlinearity
from .report import level_name
from .scaling import measuring_shift, refuse_unscaled, scaled_values
from .sure import PROBE_SEED, sure_stack
from .wavelet import MAD_FACTOR, multilevel_shrink

__all__ = [
    "LevelChoice",
    "MultilevelPlan",
    "box_rises",
    "log_sigma_error",
    "rises_bend",
    "choose_levels",
    "frame_coefficients",
    "frame_sure_terms",
    "level_details",
    "max_scales",
    "multilevel_block",
    "plan_levels",
    "power_law_calibrated",
    "power_law_factor",
    "white_nugget",
    "signal_thresholds",
]

#: Multiples of the universal threshold tried at each level, largest first.
FACTORS = tuple(2.0 ** (-k / 2) for k in range(21))
#: How :func:`choose_levels` picks each level's threshold: ``signal`` (SURE of the
#: output signal, exact for one iteration, :func:`signal_thresholds`) or
#: ``coefficients`` (each level's SURE of its own coefficients, :func:`level_sure`).
THRESHOLD_RULES = ("signal", "coefficients")
DEFAULT_THRESHOLD_RULE = "signal"
#: :func:`signal_thresholds`: coordinate sweeps over the levels; after the first, each
#: level tries only the candidates this many grid steps either side of its choice.
SWEEPS = 2
NEAR = 2


#: From this many samples, the thresholds' searches (:func:`choose_levels`' per level and
#: :func:`signal_thresholds`' divergence terms) sum each candidate's shrinkage terms over
#: a sample of a level's positions (:func:`_sampled`): every position whose details exceed
#: LEVELS_BIG x the level's noise (the signal's, and the noise's tail: every candidate
#: threshold above that sees all of them), and one in each run of LEVELS_SHARE of the
#: others, at a seeded random place, their sums scaled to all; the output's SURE and the
#: report's sum over all.
LEVELS_SAMPLE_FROM = 1 << 16
LEVELS_BIG = 2.0
LEVELS_SHARE = 8


def _sampled(d: np.ndarray, n: int, sigma) -> list:
    """``[(rows, weight), ...]``: the rows of a level's details ``d`` (of a signal of
    ``n`` samples; the level's noise ``sigma`` per channel) a threshold search sums over,
    each part's sum times its weight: every row below :data:`LEVELS_SAMPLE_FROM` samples,
    else those over :data:`LEVELS_BIG` x sigma and one in each run of
    :data:`LEVELS_SHARE` of the others (stratified, no aliasing; the last
    ``len(small) % LEVELS_SHARE`` of the others are never drawn, counted through the
    weight ``len(small) / runs``: nearly, not exactly, unbiased)."""
    if n < LEVELS_SAMPLE_FROM:
        return [(d, 1.0)]
    big = np.any(np.abs(d) > LEVELS_BIG * np.asarray(sigma, dtype=float), axis=1)
    small = np.flatnonzero(~big)
    runs = len(small) // LEVELS_SHARE
    if not runs:
        return [(d, 1.0)]
    offsets = np.random.default_rng(PROBE_SEED).integers(0, LEVELS_SHARE, runs)
    return [(d[big], 1.0), (d[small[np.arange(runs) * LEVELS_SHARE + offsets]], len(small) / runs)]


def _sampled_sure(parts: list, nl, sigma) -> float:
    """:func:`level_sure` of the rows :func:`_sampled` took, each part by its weight."""
    return sum(weight * level_sure(d, nl, sigma) for d, weight in parts)


@dataclass(frozen=True)
class MultilevelPlan(Plan):
    """``steps`` iterations of K-level shift-invariant Haar shrinkage.

    ``levels`` holds ``(stride, nonlinearity or None, threshold or None,
    sigma)`` per level, finest first.
    """

    lambdas_searched = True  # each level's threshold is the search's (Plan.lambdas_searched)

    levels: tuple = ()

    def nonlinearities(self):
        return tuple(nl for _, nl, _, _ in self.levels if nl is not None) or (self.nl,)

    @property
    def halo(self) -> int:
        """One iteration reads 2s - 1 samples each way at its coarsest stride s."""
        return int(self.steps * (2 * self.levels[-1][0] - 1)) if self.levels else 0

    def verdict(self) -> stability.StabilityVerdict:
        verdicts = [stability.check_tau(nl, self.tau, self.h) for nl in self.nonlinearities()]
        reasons = [v.reason for v in verdicts if v.reason]
        return replace(
            verdicts[0],
            linf_stable=all(v.linf_stable for v in verdicts),
            sign_stable=all(v.sign_stable for v in verdicts),
            tau_linf_bound=min(v.tau_linf_bound for v in verdicts),
            tau_sign_bound=min(v.tau_sign_bound for v in verdicts),
            reason="; ".join(dict.fromkeys(reasons)),
            whole_signal=False,
            max_min_guaranteed=all(s == 1 for s, nl, _, _ in self.levels if nl is not None),
        )

    def _nls(self):
        return [nl for _, nl, _, _ in self.levels]

    def run(self, u: np.ndarray, callback=None, threads: int | None = None) -> np.ndarray:
        done, u = self._started(u, callback, threads)  # computed, shifted, pre-staged
        if done is not None:
            return done
        nls = self._nls()
        for k in range(self.steps):
            u = multilevel_block(u, nls)
            if callback is not None and callback(k + 1, u) is False:
                break
        return u

    def scaled(self, shift: int) -> MultilevelPlan:
        """:meth:`Plan.scaled`: each level's lambda, threshold and noise level too."""
        levels = tuple(
            (stride, scaled_nonlinearity(nl, shift), *scaled_values([theta, sigma], shift))
            for stride, nl, theta, sigma in self.levels
        )
        # rebuilt from self.levels (one entry per level, the report's list), under the name
        # the plan carries (rejected_thresholds: a plan refused, resdenoise.filters.as_identity)
        key = (
            "thresholds" if "rejected_thresholds" not in self.parameters else "rejected_thresholds"
        )
        params = {**self.parameters, key: [lv[2] for lv in levels]}
        return replace(super().scaled(shift), levels=levels, parameters=params)

    def wavelet_reference(self, f: np.ndarray) -> np.ndarray:
        """The same shrinkage computed as a transform (:func:`resdenoise.wavelet.multilevel_shrink`)."""
        shrinkages = [
            None if nl is None else get_nonlinearity(nl.key, "shrinkage", SQRT2 * theta).shrinkage
            for _, nl, theta, _ in self.levels
        ]
        return multilevel_shrink(f, shrinkages, self.steps)

    def scale_checks(self, f: np.ndarray) -> list[dict]:
        """Per level, alone on the input (``f + its correction``): the verdict of its
        block on the box-averaged signal, and the measured mean drift, deviation
        from the mean (Euclidean, before and after) and max-min principle, and, on
        the box-averaged signal its block runs on, the max-min principle, total
        variation and sign changes per subsequence (``box_averages_per_subsequence``,
        :mod:`resdenoise.subsequences`).  Measured on ``f`` divided by a power of two
        (:func:`~resdenoise.scaling.measuring_shift`, exact): sums and squares that
        cannot overflow."""
        f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
        shift = measuring_shift(f2, self._nls())
        return self.level_checks(np.ldexp(f2, -shift) if shift else f2, shift)

    def level_checks(self, x2: np.ndarray, shift: int = 0) -> list[dict]:
        """:meth:`scale_checks` of ``x2 * 2**shift`` (samples x channels), measured on
        ``x2`` with every level's lambda divided by ``2**shift``: every iteration, each
        level alone (:func:`resdenoise.level_blocks.measure_levels`)."""
        return measure_levels(self, x2, shift)


def plan_levels(name: str, thetas, iterations: int = 1, sigmas=None) -> MultilevelPlan:
    """K-level shrinkage with threshold ``thetas[j]`` at level j + 1 (None: not shrunk),
    1 <= K <= :data:`~resdenoise.noise_colour.MAX_SCALES` and 1 <= ``iterations`` <=
    :data:`~resdenoise.errors.MAX_BLOCKS`, else :class:`ParameterError`."""
    iterations = check_blocks("iterations", iterations)
    if not len(thetas):
        raise ParameterError("scales must be >= 1")
    check_scales(len(thetas), "thetas")
    sigmas = [None] * len(thetas) if sigmas is None else list(sigmas)
    levels = []
    for j, (theta, sigma) in enumerate(zip(thetas, sigmas, strict=True), start=1):
        nl = None
        if theta is not None:
            nl = get_nonlinearity(name, "shrinkage", level_lambda(theta, j))
        levels.append((2 ** (j - 1), nl, None if theta is None else float(theta), sigma))
    used = [nl for _, nl, _, _ in levels if nl is not None]
    first = used[0] if used else get_nonlinearity(name, "shrinkage", 1.0)
    params = {
        "scales": len(thetas),
        "transform": "multilevel shift-invariant Haar (one additive block per iteration)",
        "thresholds": [lv[2] for lv in levels],
        "iterations": int(iterations),
    }
    steps = int(iterations) if used else 0
    return MultilevelPlan(
        "shrink", "shrinkage", first, 0.25, 1.0, steps, params, levels=tuple(levels)
    )


@dataclass(frozen=True)
class LevelChoice:
    """The thresholds chosen per level, each level's noise and SURE, and the
    signal-domain SURE (per sample) after each level is added."""

    thetas: tuple
    sigmas: tuple
    level_risks: tuple
    risks: tuple
    identity_risk: float
    sigma: tuple
    estimator: str
    noise_rule: str = "one"
    threshold_rule: str = DEFAULT_THRESHOLD_RULE

    def as_dict(self) -> dict:
        return {
            "noise_sigma": list(self.sigma),
            "noise_estimator": self.estimator,
            "noise_sigma_per_scale": list(self.sigmas),
            "noise_rule_per_scale": self.noise_rule,
            "threshold_rule": (
                "SURE per level with that level's sigma, over "
                "sigma_j sqrt(2 ln N) x 2^(-k/2), k = 0..20, or none"
                + (
                    "; then the output's SURE, level after level (exact for one iteration)"
                    if self.threshold_rule == "signal"
                    else ""
                )
            ),
            "sure_per_scale": list(self.risks),
            "coefficient_sure_per_scale": list(self.level_risks),
            "expected_gain_db": (
                10.0 * math.log10(self.identity_risk / self.risks[-1])
                if self.risks and self.risks[-1] > 0 and self.identity_risk > 0
                else None
            ),
        }


def sure_state(f2, sigma):
    """The stacked state (signal, probe), the cascade's SURE and the
    :class:`~resdenoise.noise.NoiseLevel` (sigma per channel: its ``sigma``); refused
    (:func:`resdenoise.scaling.refuse_unscaled`) for samples whose squares it cannot take,
    whatever the caller (:func:`choose_levels`, the cascades of
    :mod:`resdenoise.multiscale`)."""
    refuse_unscaled(f2, "the search of several scales (scales)")
    n, c = f2.shape
    level = resolve_sigma(f2, sigma, search=True)
    sig = level.sigma
    b, eps, state = sure_stack(f2, sig)

    def risk(u):
        uf, up = u[:, :c], u[:, c:]
        div = np.sum(b * (up - uf), axis=0) / eps
        return float(np.sum(np.sum((f2 - uf) ** 2, axis=0) / n - sig**2 + 2 * sig**2 * div / n))

    return state, risk, level


def _derivative(nl, d: np.ndarray) -> np.ndarray:
    """S'(d) by central differences (a shrinkage is smooth but at +-theta)."""
    h = 1e-6 * np.maximum(np.abs(d), nl.theta)
    return (nl.shrinkage(d + h) - nl.shrinkage(d - h)) / (2.0 * h)


def level_sure(d: np.ndarray, nl, sigma: np.ndarray) -> float:
    """SURE of shrinking the details ``d`` (samples x channels), noise ``sigma`` per channel."""
    m = d.shape[0]
    s2 = np.asarray(sigma, dtype=float) ** 2
    if nl is None:
        return float(np.sum(m * s2))
    err = np.sum((nl.shrinkage(d) - d) ** 2, axis=0)
    return float(np.sum(err + 2.0 * s2 * np.sum(_derivative(nl, d), axis=0) - m * s2))


def level_sigma(d: np.ndarray) -> np.ndarray:
    """MAD / 0.6745 of each channel's details."""
    return np.median(np.abs(d), axis=0) / MAD_FACTOR


#: How each level's noise is estimated (see :func:`level_sigmas`).
NOISE_RULES = ("auto", "one", "boxes", "capped", "per-level")
DEFAULT_NOISE_RULE = "auto"
#: ``auto`` takes the noise for coloured when the box estimates of levels 2 and 3
#: both rise by at least this factor (white: about 1; pink 1/f: sqrt2).
COLOURED_RATIO = 1.25


def level_sigmas(
    f2: np.ndarray, k: int, rule: str, sig: np.ndarray, estimator: str | None = None
) -> tuple[list, str]:
    """The noise level of levels 1..k per channel, and the rule that made it.

    ``per-level``: MAD / 0.6745 of each level's details; ``capped``: the same,
    but at most sqrt2 times the level below (pink 1/f noise grows by sqrt2 a
    level; more is the signal's own content); ``one``: ``sig`` at every level;
    ``boxes``: :func:`resdenoise.noise.estimate_noise` of the level's box-averaged
    signal, decimated by s (each of the s phases; their median), times sqrt s
    (white noise: the level's detail noise), at most sqrt2 times the level below;
    ``auto``: ``boxes`` where its levels 2 and 3 each rise by
    :data:`COLOURED_RATIO` or more over the level below (coloured noise),
    else ``one``; where the noise is also confidently one power law
    (:func:`colour_evidence`), the estimates are corrected for the estimator's
    bias under that spectrum (:func:`power_law_calibrated`; level 1 when
    ``estimator`` says ``sig`` is the order-3 ``quiet-windows`` estimate).
    """
    return _level_sigmas(f2, k, rule, sig, estimator)[:2]


#: The level rule ``auto`` where levels 2 and 3 rise but not as one power law
#: (:func:`resdenoise.noise_colour.colour_evidence` not confident): white noise on a
#: signal with coarse content (a gait trace, a sine with a step) rises so too.
ROUGH_OR_COLOURED = (
    "boxes (auto: levels 2 and 3 rise, not as one power law: coloured noise "
    "or the signal's own coarse content)"
)


def _level_sigmas(
    f2: np.ndarray,
    k: int,
    rule: str,
    sig: np.ndarray,
    estimator: str | None,
    evidence=None,
    low_end: bool = False,
) -> tuple[list, str, tuple | None]:
    """:func:`level_sigmas`, and the colour evidence of ``f2`` at ``sig``
    (:func:`colour_evidence`; ``evidence``: that, when read already; None: not read), for
    the callers not to read it again.  Rule ``auto`` reads the colour and the levels from
    :func:`~resdenoise.noise_colour.first_level` at level 1, but where ``sig`` is a level's
    low end (``low_end``: the searches again at the low end, whose every level is lower)."""
    if rule not in NOISE_RULES:
        raise ParameterError(f"noise rule must be one of {', '.join(NOISE_RULES)}, got {rule!r}")
    if rule == "one":
        return [np.asarray(sig, dtype=float)] * k, rule, evidence
    if rule == "auto":
        boxes, _ = level_sigmas(f2, max(k, min(3, max_scales(f2.shape[0]))), "boxes", sig)
        rises = [b / np.maximum(a, 1e-300) for a, b in zip(boxes, boxes[1:3], strict=False)]
        if len(rises) == 2 and all(np.all(r >= COLOURED_RATIO) for r in rises):
            said = "boxes (auto: coloured noise, levels 2 and 3 rise)"
            one = sig if low_end else first_level(f2, sig)  # level 1 read as the others
            if evidence is None:
                evidence = colour_evidence(f2, one)
            confident, law, by = evidence
            if not confident:  # the signal's own coarse content rises so too
                return boxes[:k], ROUGH_OR_COLOURED, evidence
            first = estimator == "quiet-windows"
            if bool(np.any(one > sig)):  # an extrapolated level 1: pink noise read low
                boxes, first = level_sigmas(f2, k, "boxes", one)[0], True
            calibrated = power_law_calibrated(f2, boxes[:k], law, first)
            alpha = 2.0 * math.log2(float(np.exp(np.mean(np.log(law[:3])))))
            said += (
                f"; one power law by {by}, f^-{alpha:.2f}: each level's estimate "
                f"x {float(np.max(calibrated[-1] / np.maximum(boxes[k - 1], 1e-300))):.3f} for its bias "
                f"under that spectrum" + (" (level 1 too)" if first else "")
            )
            return calibrated, said, evidence
        return [np.asarray(sig, dtype=float)] * k, "one (auto: white noise)", evidence
    out = []
    for j in range(1, k + 1):
        if rule == "boxes":
            sj = box_sigma(f2, j) if j > 1 else np.asarray(sig, dtype=float)
        else:
            sj = level_sigma(level_details(f2, j))
        if rule in ("capped", "boxes") and out:
            sj = np.minimum(sj, SQRT2 * out[-1])
        out.append(sj)
    return out, rule, evidence


def _level_candidates(sj: np.ndarray, n: int) -> list:
    """A level's thresholds tried: none, and ``sigma_j sqrt(2 ln N) 2^(-k/2)``, k = 0..20."""
    base = float(np.max(sj)) * math.sqrt(2.0 * math.log(max(n, 2)))
    return [None] + ([base * factor for factor in FACTORS] if base > 0 else [])


def signal_thresholds(f2: np.ndarray, name: str, per_level, thetas) -> tuple[list, float]:
    r"""Thresholds per level (starting from ``thetas``) that minimise SURE of the
    *output signal* of one iteration, level after level (:data:`SWEEPS` sweeps),
    and that SURE per sample plus the noise's variance per sample (a constant).

    Why.  One iteration is ``u = f + sum_j r_j(theta_j)`` (each level's
    correction :func:`level_correction` from the same f), so with Gaussian noise
    whose level-j coefficients have variance ``sigma_j^2`` (PyWavelets' units,
    :func:`level_sigmas`; any colour) Stein's lemma gives, exactly,

    .. math::

        E||u - x||^2 = E||u - f||^2 - \operatorname{tr}\Sigma
            + 2 \sum_j \sigma_j^2 2^{-j} E \sum_i S_j'(d_{ji}),

    the divergence of ``sum_j W_j^T S_j W_j`` being ``sum_j sum_i S_j'(d_ji)
    ||w_ji||^2`` and ``w_ji^T Sigma w_ji = sigma_j^2 2^-j`` the variance of a
    frame coefficient of level j (the sums over the 2N positions of the
    mirrored period, halved; the mirror's cross terms near the ends are
    neglected).  The per-level SURE of :func:`level_sure` instead adds the
    coefficient errors ``sum_j ||S_j(d_j) - d_j||^2``; the frame is redundant,
    so part of that error is not in the output.  Measured on Doppler in pink
    noise at 10 % (``benchmarks/bench_classes.py``'s case; input MSE = 1): the
    per-level rule 0.822 (soft), this rule 0.771, the best thresholds per level
    chosen with the clean signal 0.760.
    """
    n = f2.shape[0]
    k = len(per_level)
    cands = [_level_candidates(sj, n) for sj in per_level]
    slopes = {}  # (j, theta): the divergence term, read once (the later sweeps try it again)
    sampled = {}  # j: level j's details (a long signal's sample of them, _sampled), kept

    def details(j: int) -> list:
        """Level j + 1's details in PyWavelets' units (up to sign): :func:`_sampled`'s,
        each level's frame coefficients read when first needed and only their sample kept
        (from :data:`LEVELS_SAMPLE_FROM` samples; all k + 1 levels of 2N positions held at
        once cost 16 (k + 1) bytes a value of a long signal)."""
        if j not in sampled:
            sampled[j] = _sampled(frame_level(f2, j + 1) * 2.0 ** ((j + 1) / 2), n, per_level[j])
        return sampled[j]

    def level(j: int, theta):
        """(correction, divergence term) of level j + 1 at ``theta``."""
        var = np.asarray(per_level[j], dtype=float) ** 2 * 2.0 ** -(j + 1)
        if theta is None:
            return 0.0, float(np.sum(var)) * (2 * n) / 2  # 2N frame positions, halved
        nl = get_nonlinearity(name, "shrinkage", level_lambda(theta, j + 1))
        if (j, theta) not in slopes:
            nl_d = get_nonlinearity(name, "shrinkage", SQRT2 * theta)
            slopes[j, theta] = sum(
                weight * float(np.sum(var * np.sum(_derivative(nl_d, d), axis=0))) / 2
                for d, weight in details(j)
            )
        return level_correction(f2, nl, j + 1), slopes[j, theta]

    thetas = list(thetas)
    # the approximation band passes unchanged (S' = 1), variance sigma_k^2 2^-k
    coarse = float(np.sum(np.asarray(per_level[-1], dtype=float) ** 2)) * 2.0**-k * n
    parts = [level(j, t) for j, t in enumerate(thetas)]
    total = sum(p[0] for p in parts) + np.zeros_like(f2)
    best = math.inf
    for sweep in range(SWEEPS):
        for j in range(k):
            here = cands[j].index(thetas[j]) if thetas[j] in cands[j] else 0
            tried = cands[j] if sweep == 0 else cands[j][max(here - NEAR, 0) : here + NEAR + 1]
            others = total - parts[j][0]
            div = coarse + sum(p[1] for i, p in enumerate(parts) if i != j)
            best = math.inf
            for theta in dict.fromkeys([thetas[j], *tried]):
                corr, slope = parts[j] if theta == thetas[j] else level(j, theta)
                value = float(np.sum((others + corr) ** 2)) + 2.0 * (div + slope)
                if value < best:
                    best, thetas[j], parts[j] = value, theta, (corr, slope)
            total = others + parts[j][0]
    return thetas, best / n


def white_nugget(f, level):
    """``level`` (the search's, :func:`resdenoise.noise.search_noise`), or the level without
    the variogram's nugget check where that check lowered it but the noise is confidently
    coloured (:func:`resdenoise.noise_colour.colour_evidence` on the unchecked level, and no
    level rising beyond red noise's 2: :func:`resdenoise.noise_colour.rough_checked_evidence`).

    The nugget is the white part of the noise: pink noise's variogram grows with the lag
    like a rough signal's, and its nugget read 0.6-0.8x the finest level that the scales'
    noise (:func:`resdenoise.automatic.noise_per_level`) starts from (sensor trace at 10 % pink noise: 0.40x
    -> 0.33x of the pink level, -0.41 dB).  On the held-out classes (main at c690405,
    ``benchmarks/bench_pink_heldout.py``: temperature, eeg, short256ecg, short500) it reads
    0.52-0.99 of pink noise's finest level and 0.27-0.72 at levels 2-3, and the colour
    evidence without it is not confident there (the signals' own coarse content rises
    2-6x a level, as under white noise): the level per scale is what those cases lack.
    """
    return _white_nugget(f, level)[0]


#: The noise rule per level where the variogram's nugget set the level (white at every level).
NUGGET_RULE = "white: the variogram's nugget, at every level"
#: The noise rule per level where the level was given (``--sigma``), used at every level.
GIVEN_RULE = "given, at every level"


def fixed_rule(level) -> str:
    """The noise rule per level of a ``level`` used at every level: given, or the nugget's."""
    return GIVEN_RULE if level.estimator == "given" else NUGGET_RULE


def _white_nugget(f, level, evidence=None) -> tuple[NoiseLevel, tuple | None]:
    """:func:`white_nugget`, and the colour evidence (:func:`colour_evidence`) of ``f`` at
    the level returned, or where that is the nugget's, at the level without it (what the
    check read: the noise then is white at every scale); None where not read.
    ``evidence``: that, read already (of a level this function returned).  A level not
    identified (:data:`resdenoise.noise.UNIDENTIFIED`) is kept, without evidence: a rough
    signal's own coarse content rises like coloured noise (a 600-sample random walk in
    white noise: levels 2-4 rising by 1.5-1.7, "confident", and the coloured ranking's
    choice 4.8 dB below the input where the searches keep the input)."""
    if not level.white_by_nugget() or evidence is not None:
        return level, evidence
    if UNIDENTIFIED in level.per_channel():  # the levels' rise may be the rough signal's
        return level, None
    plain = replace(search_noise(f, nugget=False), white=level.white)  # the share rule's
    f2 = np.asarray(f, dtype=float).reshape(len(f), -1)
    evidence = rough_checked_evidence(f2, plain.sigma)
    return (plain if evidence[0] else level), evidence


def choose_levels(
    f,
    name: str,
    scales: int | None = None,
    sigma=None,
    iterations: int = 1,
    noise: str = DEFAULT_NOISE_RULE,
    thresholds: str = DEFAULT_THRESHOLD_RULE,
):
    """Thresholds per level by SURE (see the module docstring): that level's SURE of
    its coefficients, then (``thresholds="signal"``, the default) the output's
    SURE over all levels (:func:`signal_thresholds`).

    ``scales`` None: as many levels as :func:`max_scales` allows; more than that (at
    most :data:`~resdenoise.noise_colour.MAX_SCALES`, fewer for a short signal): that
    many are used, with a :class:`.ResdenoiseWarning` saying so (the command line's note on
    ``--scales K``), never silently.  ``sigma``
    (given): that noise level at every level (white noise).  Returns
    ``(plan, LevelChoice)``; the choice's ``risks`` are the signal-domain
    SURE per sample (:mod:`resdenoise.autoparams`' Monte-Carlo probe, global
    sigma) after levels 1..j, comparable with the other automatic modes.
    """
    warn_scales(np.shape(f)[0], scales)
    return _levels(f, name, scales, sigma, iterations, noise, thresholds, None)[:2]


def _choose_levels(f, name: str, *, sigma=None, evidence=None):
    """:func:`choose_levels` with its defaults, and the colour evidence of ``f`` at the
    level (as :func:`_white_nugget`'s; ``evidence``: that, read already, the level
    ``sigma`` then :func:`_white_nugget`'s), for an automatic choice's other candidates."""
    return _levels(f, name, None, sigma, 1, DEFAULT_NOISE_RULE, DEFAULT_THRESHOLD_RULE, evidence)


def scale_count(n: int, scales: int | None) -> int:
    """The scales to search: as many as :func:`max_scales` allows, or ``scales`` capped to
    it (silently: the callers say so, :func:`~resdenoise.noise_colour.warn_scales`)."""
    return max_scales(n) if scales is None else min(check_count("scales", scales), max_scales(n))


def _levels(f, name, scales, sigma, iterations, noise, thresholds, evidence, ratios=None):
    """:func:`choose_levels`' work: ``(plan, LevelChoice, colour evidence)``; ``ratios``:
    each level's noise times these (a residual's, :mod:`resdenoise.residual_levels`)."""
    f2 = np.asarray(f, dtype=float).reshape(np.shape(f)[0], -1)
    n = f2.shape[0]
    k = scale_count(n, scales)
    if thresholds not in THRESHOLD_RULES:
        raise ParameterError(
            f"threshold rule must be one of {', '.join(THRESHOLD_RULES)}, got {thresholds!r}"
        )
    # an estimate resolved by the caller still gets the noise rule per level
    estimated = sigma is None or (isinstance(sigma, NoiseLevel) and sigma.estimator != "given")
    if estimated:
        sigma, evidence = _white_nugget(f2, resolve_sigma(f2, sigma, search=True), evidence)
        estimated = not sigma.white_by_nugget()  # else white at every level
    state, risk, level = sure_state(f2, sigma)
    sig = level.sigma
    universal = math.sqrt(2.0 * math.log(max(n, 2)))
    thetas, sigmas, level_risks = [], [], []
    rule = noise if estimated else "one"
    per_level, rule, evidence = _level_sigmas(
        f2, k, rule, sig, level.estimator, evidence, level.at_low_end
    )
    if ratios is not None:
        per_level = [p * q for p, q in zip(per_level, ratios, strict=True)]
    for j in range(1, k + 1):
        sj = per_level[j - 1]
        d = _sampled(level_details(f2, j), n, sj)  # (every candidate on the same rows)
        best, best_theta = _sampled_sure(d, None, sj), None
        base = float(np.max(sj)) * universal
        for factor in FACTORS if base > 0 else ():
            nl = get_nonlinearity(name, "shrinkage", SQRT2 * base * factor)
            value = _sampled_sure(d, nl, sj)
            if value < best:
                best, best_theta = value, base * factor
        thetas.append(best_theta)
        sigmas.append(float(np.max(sj)))
    if thresholds == "signal" and rule.startswith("boxes"):
        if evidence is None:  # rule "boxes": not read by _level_sigmas
            evidence = colour_evidence(f2, sig)
        if not evidence[0]:
            # the box estimates rise, but not as one power law: a rough signal's own coarse
            # content may be in them (a random walk in white noise: the output's SURE under
            # those levels chose thresholds 3.4x the input's MSE, the levels' own 1.9x)
            thresholds = "coefficients (the level noise is not one power law)"
    if thresholds == "signal":
        thetas, _ = signal_thresholds(f2, name, per_level, thetas)
    for j, theta in enumerate(thetas, start=1):  # the report: each level's own SURE
        d = level_details(f2, j)
        nl = None if theta is None else get_nonlinearity(name, "shrinkage", SQRT2 * theta)
        level_risks.append(level_sure(d, nl, per_level[j - 1]) / d.size)
    identity = risk(state)
    plan = plan_levels(name, thetas, iterations, sigmas)
    risks = _partial_risks(plan, state, risk, identity)
    choice = LevelChoice(
        tuple(thetas),
        tuple(sigmas),
        tuple(level_risks),
        tuple(risks),
        identity,
        tuple(map(float, sig)),
        level_name(level),  # "given" only for a level given (--sigma), not the nugget's
        rule if estimated else fixed_rule(level),
        thresholds,
    )
    return plan, choice, evidence


def _partial_risks(plan, state, risk, identity: float) -> list:
    """``risk`` of the output of ``plan``'s levels 1..j, j = 1..k, for ``state`` (the
    identity's where none of them shrinks).  One iteration adds every level's correction
    of the same input, in order (:func:`multilevel_block`): each partial output is the
    one before plus its level's, bit for bit as the partial plan's run (k corrections,
    not k (k + 1) / 2)."""
    if plan.steps != 1:
        nls = plan._nls()
        return [
            risk(replace(plan, levels=plan.levels[:j]).run(state))
            if any(nl is not None for nl in nls[:j])
            else identity
            for j in range(1, len(nls) + 1)
        ]
    out, risks, shrunk = np.array(state, dtype=float), [], False
    for j, nl in enumerate(plan._nls(), start=1):
        if nl is not None:
            out += level_correction(state, nl, j)
            shrunk = True
        risks.append(risk(out) if shrunk else identity)
    return risks
