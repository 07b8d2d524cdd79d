"""Your own network: a TOML file of diffusion blocks that may all differ.

A trainable reaction-diffusion network lets every block have its own
activation and step; so does ``resdenoise resnet INPUT --network net.toml``.
The file lists groups of blocks, run one after another, each group being
``repeat`` diffusion blocks ``u <- u + tau D- Phi(D+ u)`` with one activation:

.. code-block:: toml

    version = 2                                  # the format (without it 1: threshold read otherwise)
    description = "sharpen edges, then smooth"   # optional
    h = 1.0                                      # optional grid size

    [[block]]
    activation = "perona-malik"     # any registry name of that form
    lambda = 0.5                    # number > 0, or "auto": the automatic lambda even with --lambda [default: --lambda]
    tau = 0.25                      # [default: --tau, else the sign-stable bound]
    repeat = 10                     # [default: 1]

    [[block]]
    activation-expr = "r/(1 + abs(r)/lam)"     # or a formula (resdenoise.expr)

    [[block]]
    shrinkage = "garrote"           # any form: diffusivity, regulariser, shrinkage
    threshold = 0.3                 # shrinkage only: the Haar threshold (lambda = sqrt2 * threshold / h)
    label = "wavelet clean-up"      # optional, for the report

    [[block]]
    activation = "bumps"            # a parametrised family (resdenoise learn writes these)
    coefficients = [0.1, 0.3, 0.0, 0.05]   # g(r) = sum_k c_k b_k(|r|/lambda), c_k >= 0
    lambda-scale = 0.8              # lambda = 0.8 x the automatic lambda of the signal

    [[block]]
    diffusivity = "perona-malik"
    scale = 4                       # differences of stride 4 [default: 1]

With ``stop = "sure"`` at the top (before the first ``[[block]]``) the depth
is chosen per signal: the blocks in order, then the last group repeated on,
up to ``max-blocks`` blocks in all [default: 4 x the file's blocks], and the
depth of least SURE runs, zero blocks included; with ``lambda-factors = [...]``
every lambda's common factor is chosen among them too
(:mod:`resdenoise.network_stop`; ``resdenoise learn`` writes these).

A group with ``scale = s`` (an integer from 1 to 2^20; any, not only
powers of two) runs the dilated block ``u_i += tau (Phi((u_{i+s} - u_i)/h)
- Phi((u_i - u_{i-s})/h))/h``, zero flux where ``i +- s`` leaves the signal:
the ordinary block on each of the s interleaved subsequences ``u[r::s]``,
which :func:`resdenoise.engine.run_strided` runs as the engine's channels
(a scale of N or more leaves a signal of N samples as it is).  Its tau
bounds are the ordinary ones, so its verdict is too; the max-min principle
and the mean hold for the whole signal, total variation and sign changes
per subsequence (the report's ``whole_signal`` is then false).  It is the
dilated form of :mod:`resdenoise.multiscale`, not a level of the multilevel
Haar transform (:mod:`resdenoise.multilevel`), whose box averages would
give up the max-min principle the network's guarantee rests on.

Each block group is checked by :func:`resdenoise.stability.check_tau`; the
network is stable when every group is (the paper's Theorem 2 by induction
over the blocks).  :class:`NetworkPlan` is a :class:`~resdenoise.filters.Plan`
whose :meth:`~NetworkPlan.run` calls :func:`resdenoise.engine.run_blocks` once
per group, so the engine stays the one engine.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from . import stability
from .engine import run_blocks_unchecked, run_strided_unchecked
from .errors import ParameterError, ResdenoiseError, is_positive
from .expr import expression_nonlinearity, parse_expression
from .filters import Plan, auto_lambda, scaled_nonlinearity, with_reach
from .network_text import BLOCK_KEYS, NAME_KEYS, NETWORK_VERSIONS, format_network
from .nonlinearities import (
    FORM_SPELLINGS,
    PARAMETRISED_FAMILIES,
    SQRT2,
    Nonlinearity,
    get_nonlinearity,
    get_parametrised,
    normalise_name,
    resolve_name,
)
from .report import block_entry
from .scaling import measuring_shift, times_power_of_two
from .subsequences import group_entry

__all__ = [
    "BlockSpec",
    "NetworkError",
    "NetworkPlan",
    "NetworkSpec",
    "NetworkVerdict",
    "build_network",
    "format_network",
    "load_network",
    "parse_network",
]

#: Keys at the top of the file.
TOP_KEYS: Final = (
    "block",
    "h",
    "description",
    "stop",
    "max-blocks",
    "lambda-factors",
    "version",
)
#: Values of ``stop``: how the depth is chosen per signal (:mod:`resdenoise.network_stop`).
STOP_RULES: Final = ("sure",)
#: The most ``lambda-factors`` (each is one search of the depth).
MAX_LAMBDA_FACTORS: Final = 32
#: Largest repeat count of one group, and largest total number of blocks.
MAX_REPEAT: Final = 10_000_000
#: Largest stride of a block group's differences.
MAX_SCALE: Final = 2**20
#: Most distinct formulas (-expr values) in one network: each is compiled and
#: sampled for its stability (two evaluations on an 80,001-point grid), about
#: FORMULA_SECONDS each, before anything is filtered; repeated formulas count once.
MAX_FORMULAS: Final = 1000
#: Checking time of one distinct formula, measured (3 s for 1000 on one core).
FORMULA_SECONDS: Final = 0.003


class NetworkError(ParameterError):
    """A network file is malformed; the message names the file, block and key (exit 2)."""


@dataclass(frozen=True)
class BlockSpec:
    """One ``[[block]]`` table as read from the file (lambda and tau may be open)."""

    index: int
    line: int | None
    form: str
    name: str | None = None
    expr: str | None = None
    lam: float | None = None
    tau: float | None = None
    repeat: int = 1
    label: str = ""
    scale: int = 1
    #: The coefficients of a parametrised family (``activation = "bumps"``), else None.
    coefficients: tuple[float, ...] | None = None
    #: ``lambda-scale``: lambda is this multiple of the signal's automatic lambda.
    lam_scale: float | None = None
    #: ``threshold`` (shrinkage): the Haar threshold; lambda is sqrt2 x it / h.
    threshold: float | None = None
    #: ``lambda = "auto"`` (or ``threshold``) written: the signal's automatic lambda,
    #: whatever default lambda the caller gives (a block without lambda takes that one).
    lam_auto: bool = False
    #: ``(key, line)`` of each key the block sets (the registry's spelling), where known.
    key_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    @property
    def where(self) -> str:
        return self.at()

    def at(self, key: str | None = None) -> str:
        """``block N (line L)``: the line of ``key`` where the block sets it, else of
        the block's ``[[block]]`` header."""
        return _place(self.index, self.line, dict(self.key_lines), key)

    @property
    def function_key(self) -> str:
        """The key that sets the block's function (its g): ``coefficients`` of a
        parametrised family, else the name or formula."""
        if self.coefficients is not None:
            return "coefficients"
        return self.form + ("-expr" if self.expr is not None else "")

    @property
    def text(self) -> str:
        """The name or expression, as written."""
        return self.name if self.name is not None else self.expr


@dataclass(frozen=True)
class NetworkSpec:
    """A parsed network file."""

    source: str
    blocks: tuple[BlockSpec, ...]
    h: float | None = None
    description: str = ""
    #: ``stop``: the depth chosen per signal by this rule (None: every block runs).
    stop: str | None = None
    #: ``max-blocks``: the most blocks the stop searches (None: its default).
    max_blocks: int | None = None
    #: ``lambda-factors``: the stop also chooses every lambda's factor among these.
    lambda_factors: tuple[float, ...] = (1.0,)
    #: ``version``: the format (:data:`NETWORK_VERSIONS`; 1 where the file gives none).
    version: int = 1


#: The largest network file read (a network is a short list of block groups).
MAX_NETWORK_BYTES = 1 << 20


def load_network(path: str) -> NetworkSpec:
    """Read and check a network file.

    Raises
    ------
    ResdenoiseError
        When the file cannot be read (exit code 1).
    NetworkError
        When it is not valid TOML or not a valid network (exit code 2).
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ResdenoiseError(f"{path}: a device, pipe or directory, not a network file")
        with open(path, "rb") as fh:
            data = fh.read(MAX_NETWORK_BYTES + 1)
    except OSError as exc:
        raise ResdenoiseError(f"{path}: cannot read the network file: {exc.strerror}") from None
    if len(data) > MAX_NETWORK_BYTES:
        raise NetworkError(
            f"{path}: larger than {MAX_NETWORK_BYTES >> 20} MiB; a network file is a short "
            "TOML list of block groups"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NetworkError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_network(text, path)


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def parse_network(text: str, source: str = "<network>") -> NetworkSpec:
    """Parse the TOML text of a network (see the module documentation)."""
    tomllib = _toml()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NetworkError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise NetworkError(
            f"{source}: invalid network: arrays or tables nested too deeply"
        ) from None
    unknown = sorted(set(doc) - set(TOP_KEYS))
    if unknown:
        raise NetworkError(
            f"{source}: unknown top-level key {unknown[0]!r}; allowed: {', '.join(TOP_KEYS)}"
        )
    h = doc.get("h")
    if h is not None:
        h = _positive(h, f"{source}: h")
    version = doc.get("version", 1)
    if isinstance(version, bool) or version not in NETWORK_VERSIONS:
        raise NetworkError(
            f"{source}: version must be 1 or 2 (the network format), got {version!r}"
        )
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise NetworkError(f"{source}: description must be a string")
    tables = doc.get("block")
    example = '[[block]] activation = "tanh" repeat = 10'
    if tables is None or tables == []:
        raise NetworkError(
            f"{source}: no blocks; give one or more [[block]] tables, e.g. {example}"
        )
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise NetworkError(
            f"{_top_where(text, source, 'block')}: must be [[block]] tables, not "
            f"{tables!r}; write each block as a table, e.g. {example}"
        )
    text_lines = text.splitlines()
    lines = [i + 1 for i, ln in enumerate(text_lines) if _BLOCK_HEADER.match(ln)]
    if len(lines) != len(tables):
        lines = [None] * len(tables)
    blocks = tuple(
        _block(t, i + 1, lines[i], source, _key_lines(text_lines, lines, i))
        for i, t in enumerate(tables)
    )
    total = sum(b.repeat for b in blocks)
    if total > MAX_REPEAT:
        raise NetworkError(
            f"{source}: {total} blocks in all (the blocks' repeat counts summed); at most "
            f"{MAX_REPEAT}"
        )
    stop, max_blocks, factors = _stop(doc, text, source)
    formulas = len({(b.expr, b.form) for b in blocks if b.expr is not None})
    if formulas > MAX_FORMULAS:
        raise NetworkError(
            f"{source}: {formulas} distinct formulas; at most {MAX_FORMULAS} (each is checked "
            f"for stability before filtering starts: about {formulas * FORMULA_SECONDS:.0f} s "
            "here); give a repeated block once with repeat = N"
        )
    return NetworkSpec(source, blocks, h, description, stop, max_blocks, factors, version)


def _stop(doc: dict, text: str, source: str):
    """The top-level ``stop``, ``max-blocks`` and ``lambda-factors``, checked."""

    where = functools.partial(_top_where, text, source)  # where(key): "file: line N"
    stop = doc.get("stop")
    if stop is not None and stop not in STOP_RULES:
        raise NetworkError(
            f"{where('stop')}: unknown stop {stop!r}; allowed: "
            f"{', '.join(repr(r) for r in STOP_RULES)} (the depth per signal by SURE), "
            "or no stop key to run every block"
        )
    for key in ("max-blocks", "lambda-factors"):
        if key in doc and stop is None:
            raise NetworkError(
                f'{where(key)}: {key} is for the search of stop = "sure"; '
                f'add stop = "sure" or drop {key}'
            )
    cap = doc.get("max-blocks")
    if cap is not None and (
        isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_REPEAT
    ):
        raise NetworkError(
            f"{where('max-blocks')}: max-blocks must be an integer from 1 to {MAX_REPEAT}, "
            f"got {cap!r}"
        )
    factors = doc.get("lambda-factors", [1.0])
    if (
        not isinstance(factors, list)
        or not 1 <= len(factors) <= MAX_LAMBDA_FACTORS
        or not all(is_positive(a) for a in factors)
    ):
        raise NetworkError(
            f"{where('lambda-factors')}: lambda-factors must be a list of 1 to "
            f"{MAX_LAMBDA_FACTORS} finite numbers > 0, got {factors!r}"
        )
    return stop, cap, tuple(float(a) for a in factors)


_BLOCK_HEADER = re.compile(r"^\s*\[\[\s*block\s*\]\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=""")


def _top_where(text: str, source: str, key: str) -> str:
    """``source: key (line N)``: a top-level key, and the line it is first set on."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    line = next((i + 1 for i, ln in enumerate(text.splitlines()) if pattern.match(ln)), None)
    return f"{source}: {key}" + (f" (line {line})" if line else "")


def _key_lines(text_lines: list[str], headers: list, index: int) -> dict:
    """The line of each key of block ``index`` (from its ``[[block]]`` header to the
    next), by the registry's spelling of the key; empty where the headers are not known."""
    start = headers[index]
    if start is None:
        return {}
    end = headers[index + 1] - 1 if index + 1 < len(headers) else len(text_lines)
    found: dict = {}
    for number in range(start + 1, end + 1):
        match = _KEY.match(text_lines[number - 1])
        if match is not None:
            key = next(k for k in match.groups() if k is not None)
            found.setdefault(_spelt(key), number)
    return found


def _positive(value, what: str) -> float:
    if not is_positive(value):
        raise NetworkError(f"{what} must be a finite number > 0, got {value!r}")
    return float(value)


def _spelt(key: str) -> str:
    """A block key as the registry spells its form: ``regularizer`` is ``regulariser``."""
    form, dash, rest = key.partition("-")
    return FORM_SPELLINGS.get(form, form) + dash + rest


def _place(index: int, line: int | None, keys: dict, key: str | None = None) -> str:
    """``block N (line L)``: the line of ``key`` where ``keys`` (key: line) has it, else
    the block's ``line`` (its header's)."""
    line = keys.get(key, line)
    return f"block {index}" + (f" (line {line})" if line else "")


def _block(table: dict, index: int, line: int | None, source: str, keys: dict) -> BlockSpec:
    """One block, checked; a message names the line of the key at fault where ``keys``
    (key: line) has it, else the block's ``line``."""
    where = f"{source}: {_place(index, line, keys)}"

    def at(key: str) -> str:
        return f"{source}: {_place(index, line, keys, key)}"

    table = {_spelt(k): v for k, v in table.items()}
    unknown = sorted(set(table) - set(NAME_KEYS) - set(BLOCK_KEYS))
    if unknown:
        raise NetworkError(
            f"{at(unknown[0])}: unknown key {unknown[0]!r}; allowed: "
            f"{', '.join(NAME_KEYS + BLOCK_KEYS)}"
        )
    named = [k for k in NAME_KEYS if k in table]
    if len(named) != 1:
        got = "none" if not named else " and ".join(named)
        raise NetworkError(
            f"{where}: give exactly one of activation, diffusivity, regulariser, shrinkage "
            f"(a name) or their -expr forms (a formula); got {got}"
        )
    key = named[0]
    value = table[key]
    if not isinstance(value, str):
        raise NetworkError(f"{at(key)}: {key} must be a string, got {value!r}")
    form = key.removesuffix("-expr")
    name = expr = None
    coefficients = None
    if not key.endswith("-expr") and (
        "coefficients" in table or normalise_name(value) in PARAMETRISED_FAMILIES
    ):  # its own messages (coefficients: ...), not under the name's key
        coefficients = _coefficients(table, value, form, at)
        name = value
    try:
        if key.endswith("-expr"):
            expr = parse_expression(value, form).text
        elif coefficients is None:
            resolve_name(value, form)
            name = value
    except NetworkError:  # the coefficients': where and field named already
        raise
    except ValueError as exc:  # unknown name, or ExpressionError
        raise NetworkError(f"{at(key)}: {key}: {exc}") from None
    lam = threshold = None
    lam_auto = any(
        isinstance(table.get(k), str) and table[k].lower() == "auto"
        for k in ("lambda", "threshold")
    )
    if "lambda" in table and "threshold" in table:
        raise NetworkError(f"{at('threshold')}: give lambda or threshold, not both")
    for k in ("lambda", "threshold"):
        if k in table and not (isinstance(table[k], str) and table[k].lower() == "auto"):
            value = _positive(table[k], f"{at(k)}: {k}")
            if k == "lambda":
                lam = value
            elif form != "shrinkage":
                raise NetworkError(f"{at(k)}: threshold is for shrinkage blocks; use lambda")
            else:
                threshold = value  # lambda = sqrt2 threshold / h, once h is known
    lam_scale = None
    if "lambda-scale" in table:
        if "lambda" in table or "threshold" in table:
            raise NetworkError(
                f"{at('lambda-scale')}: lambda-scale multiplies the automatic lambda; drop "
                "lambda/threshold"
            )
        lam_scale = _positive(table["lambda-scale"], f"{at('lambda-scale')}: lambda-scale")
    tau = _positive(table["tau"], f"{at('tau')}: tau") if "tau" in table else None
    repeat = table.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise NetworkError(
            f"{at('repeat')}: repeat must be an integer from 1 to {MAX_REPEAT}, got {repeat!r}"
        )
    label = table.get("label", "")
    if not isinstance(label, str):
        raise NetworkError(f"{at('label')}: label must be a string")
    scale = table.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise NetworkError(
            f"{at('scale')}: scale must be an integer from 1 to {MAX_SCALE} (the stride of the "
            f"differences), got {scale!r}"
        )
    return BlockSpec(
        index,
        line,
        form,
        name,
        expr,
        lam,
        tau,
        repeat,
        label,
        scale,
        coefficients=coefficients,
        lam_scale=lam_scale,
        threshold=threshold,
        lam_auto=lam_auto,
        key_lines=tuple(keys.items()),
    )


def _threshold_lambda(spec: NetworkSpec, b: BlockSpec, h: float) -> float:
    """A shrinkage block's lambda from its ``threshold``: ``sqrt2 threshold / h``, the
    block one Haar step at that threshold (as ``shrink --threshold``); refused where a
    file without ``version = 2`` meant ``sqrt2 threshold`` (h != 1: the two differ)."""
    if spec.version < 2 and h != 1.0:
        raise NetworkError(
            f"{spec.source}: {b.at('threshold')}: threshold with h = {h:g} is ambiguous: "
            f"network files of version 1 (no version key) read it as lambda = sqrt2 x "
            f"threshold (the Haar threshold times h); write version = 2 at the top to mean "
            f"the Haar threshold (as shrink --threshold), or give lambda = "
            f"{SQRT2 * b.threshold!r} for the old meaning"
        )
    lam = SQRT2 * b.threshold / h
    if not math.isfinite(lam):
        raise NetworkError(
            f"{spec.source}: {b.at('threshold')}: threshold {b.threshold:g} with h = {h:g} "
            f"gives lambda = sqrt2 x threshold / h beyond the float range; give a smaller threshold"
        )
    return lam


def _coefficients(table: dict, name: str, form: str, at: Callable) -> tuple[float, ...]:
    """A parametrised family's coefficients, checked by binding them once; ``at(key)``
    is where a message says the key is."""
    if normalise_name(name) not in PARAMETRISED_FAMILIES:
        raise NetworkError(
            f"{at('coefficients')}: coefficients are for a parametrised family "
            f"({', '.join(sorted(PARAMETRISED_FAMILIES))}), not {name!r}"
        )
    if "coefficients" not in table:
        raise NetworkError(
            f"{at(form)}: {name!r} is a parametrised family: give its coefficients = [...]"
        )
    try:
        get_parametrised(name, table["coefficients"], form)  # checks them
    except ValueError as exc:
        raise NetworkError(f"{at('coefficients')}: coefficients: {exc}") from None
    return tuple(float(c) for c in table["coefficients"])


# --------------------------------------------------------------------------
# Bound network: a Plan for the one engine
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkVerdict(stability.StabilityVerdict):
    """The network's verdict: stable when every block group is.

    The scalar fields summarise the groups (smallest g_min and bounds,
    largest g_max, Lipschitz constant and tau; odd, monotone, exact and
    stable only when all are); ``blocks`` holds one dictionary per group
    (its specification and its own verdict).
    """

    blocks: tuple = ()

    def as_dict(self) -> dict:
        d = super().as_dict()
        d["blocks"] = [dict(b) for b in self.blocks]
        return d


def _not_a_flux(r):
    raise ParameterError("a network has one activation per block; run it with run_plan")


@dataclass(frozen=True)
class NetworkPlan(Plan):
    """A :class:`~resdenoise.filters.Plan` of differing block groups.

    ``groups`` pairs each :class:`BlockSpec` with its bound nonlinearity and
    tau; ``steps`` is the total number of blocks.  :meth:`run` executes the
    groups one after another with :func:`~resdenoise.engine.run_blocks`.
    """

    groups: tuple = ()

    @property
    def stopping_time(self) -> float:
        return float(sum(tau * spec.repeat for spec, _, tau in self.groups))

    @property
    def halo(self) -> int:
        """A block of scale s moves information s samples: the sum of scale x repeat."""
        return int(sum(spec.scale * spec.repeat for spec, _, _ in self.groups))

    def flux_groups(self) -> tuple:
        """Each group's ``(nonlinearity, tau)``: :func:`resdenoise.flux_checks.probe_flux`
        tries every one (a strided group's differences are the samples' too)."""
        return tuple((nl, tau) for _, nl, tau in self.groups)

    def group_verdicts(self) -> list[stability.StabilityVerdict]:
        """Each group's verdict; a strided group's sign and total-variation guarantee is
        per subsequence (``whole_signal`` false), as the network's own says."""
        return [
            dataclasses.replace(stability.check_tau(nl, tau, self.h), whole_signal=spec.scale == 1)
            for spec, nl, tau in self.groups
        ]

    def verdict(self) -> NetworkVerdict:
        verdicts = self.group_verdicts()
        blocks = []
        reasons = []
        for (spec, nl, tau), v in zip(self.groups, verdicts, strict=True):
            blocks.append(block_entry(spec, nl, tau, v))
            if not v.linf_stable:  # at the function's line, or the step's if only it is wrong
                if not v.tau_helps:
                    key = spec.function_key
                else:
                    key = "tau" if spec.tau is not None else None
                where = f"{self.parameters['network']}: {spec.at(key)}"
                reasons.append(f"{where} ({spec.label or spec.text}): {v.reason}")
        return NetworkVerdict(
            g_min=min(v.g_min for v in verdicts),
            g_max=max(v.g_max for v in verdicts),
            lipschitz=max(v.lipschitz for v in verdicts),
            odd=all(v.odd for v in verdicts),
            monotone=all(v.monotone for v in verdicts),
            exact=all(v.exact for v in verdicts),
            tau=max(v.tau for v in verdicts),
            h=self.h,
            tau_linf_bound=min(v.tau_linf_bound for v in verdicts),
            tau_sign_bound=min(v.tau_sign_bound for v in verdicts),
            linf_stable=all(v.linf_stable for v in verdicts),
            sign_stable=all(v.sign_stable for v in verdicts),
            reason="; ".join(reasons),
            whole_signal=all(spec.scale == 1 for spec, _, _ in self.groups),
            blocks=tuple(blocks),
        )

    def nonlinearities(self) -> tuple[Nonlinearity, ...]:
        return tuple(nl for _, nl, _ in self.groups)

    @property
    def scale_checks(self) -> Callable[[np.ndarray], list] | None:
        """With a strided group (``scale`` > 1; whose total variation and sign
        changes are guaranteed per subsequence only): the guarantees per group,
        each measured on what it got (:meth:`group_checks`); None without one."""
        if all(spec.scale == 1 for spec, _, _ in self.groups):
            return None
        return self.group_checks

    def group_checks(self, f: np.ndarray) -> list[dict]:
        """Per group: its stride, verdict and what held in each subsequence of its stride
        (:func:`resdenoise.subsequences.subsequence_checks`), the groups run again one
        after another from ``f``, divided by a power of two where the network's lambdas
        scale with it (:func:`~resdenoise.scaling.measuring_shift`, exact): differences
        and sums that cannot overflow."""
        u = np.asarray(f, dtype=float)
        shift = measuring_shift(u, self.nonlinearities())
        u = np.ldexp(u, -shift) if shift else u
        out = []
        for (spec, nl, tau), verdict in zip(self.groups, self.group_verdicts(), strict=True):
            at = scaled_nonlinearity(nl, -shift)
            v = run_strided_unchecked(u, at, tau, spec.repeat, spec.scale, self.h)
            head = {
                "block": spec.index,
                "stride": spec.scale,
                "lambda": nl.lam,
                "blocks": spec.repeat,
            }
            where = f"block {spec.index}"
            out.append(group_entry(head, u, v, spec.scale, spec.repeat, verdict, where))
            u = v
        return out

    @property
    def scalable(self) -> bool:
        """Whether every block's activation is a registry family's, of lambda alone in the
        samples' units (:meth:`rescaled` exact); a formula's is bound as it is."""
        return all(nl.entry is not None for _, nl, _ in self.groups)

    def rescaled(self, shift: int) -> NetworkPlan:
        """The same network for the samples times ``2**shift``: every lambda times it
        (exact), tau and the blocks as they are (:attr:`scalable` plans only)."""
        if not shift:
            return self
        groups = tuple((spec, scaled_nonlinearity(nl, shift), tau) for spec, nl, tau in self.groups)
        params = dict(self.parameters)
        if params.get("lambda_auto") is not None:
            params["lambda_auto"] = times_power_of_two(params["lambda_auto"], shift)
        return dataclasses.replace(self, groups=groups, parameters=params, computed=None)

    def scaled(self, shift: int) -> NetworkPlan:
        """:meth:`resdenoise.filters.Plan.scaled` of a network: :meth:`rescaled`, its
        blocks run at the scale it was made for (:attr:`run_shift`)."""
        return dataclasses.replace(self.rescaled(shift), run_shift=self.run_shift + shift)

    def run(self, u: np.ndarray, callback=None, threads: int | None = None) -> np.ndarray:
        """Run the groups one after another; ``callback(k, u)`` counts all blocks."""
        if self.run_shift:
            return self._run_shifted(u, callback, threads)
        done = 0
        stopped = False
        for spec, nl, tau in self.groups:
            if spec.scale > 1:  # the s subsequences as the engine's channels
                u = run_strided_unchecked(u, nl, tau, spec.repeat, spec.scale, self.h)
                done += spec.repeat
                if callback is not None and callback(done, u) is False:
                    break
                continue
            inner = None
            if callback is not None:

                def inner(k, v, offset=done):
                    nonlocal stopped
                    if callback(offset + k, v) is False:
                        stopped = True
                        return False
                    return None

            u = run_blocks_unchecked(
                u, nl, tau, spec.repeat, self.h, callback=inner, threads=threads
            )
            done += spec.repeat
            if stopped:
                break
        return u


def unused_defaults(spec: NetworkSpec, lam, tau) -> list[str]:
    """The notes for a default ``lam`` or ``tau`` given (not None) that no block of
    ``spec`` takes (each sets its own): said, as an unused noise level is."""
    notes = []
    own_lam = (
        b.lam is not None or b.lam_auto or b.threshold is not None or b.lam_scale is not None
        for b in spec.blocks
    )
    if lam is not None and all(own_lam):
        notes.append(
            f"the lambda given (--lambda) is not used: every block of {spec.source} sets "
            "its own (lambda, threshold or lambda-scale)"
        )
    if tau is not None and all(b.tau is not None for b in spec.blocks):
        notes.append(
            f"the step given (--tau) is not used: every block of {spec.source} sets its own tau"
        )
    return notes


def build_network(
    spec: NetworkSpec,
    u: np.ndarray | None = None,
    lam: float | None = None,
    tau: float | None = None,
    h: float = 1.0,
    lam_factor: float = 1.0,
    sigma=None,
    shift: int = 0,
) -> NetworkPlan:
    """Bind every block of ``spec``: lambda, tau, and the nonlinearity.

    Parameters
    ----------
    spec : NetworkSpec
    u : ndarray, optional
        The signal, needed when some block's lambda is ``"auto"`` (the
        universal threshold of :func:`resdenoise.filters.auto_lambda`) or a
        ``lambda-scale`` multiple of it.
    lam, tau : float, optional
        Defaults for blocks that do not give their own (a block's ``lambda =
        "auto"`` is its own: the automatic lambda, whatever ``lam`` is); a
        missing tau is the group's sign-stable bound ``h^2/(4 g_max)``.
    h : float
        Grid size, unless the file sets ``h``.
    shift : int
        ``u`` is the signal divided by ``2**shift`` (its squares in range): the lambdas
        given (the file's, ``lam``, a threshold's) are divided by it too; the automatic
        one is ``u``'s.
    lam_factor : float
        Every block's lambda times this (the ``lambda-factors`` a ``stop``
        chooses from).

    Raises
    ------
    NetworkError
        When a lambda is ``auto`` and no signal is given.
    UnstableError
        A block has no finite g_max and no tau (no default step exists).
    """
    h = spec.h if spec.h is not None else float(h)
    auto = None
    groups = []
    built: dict = {}  # one nonlinearity (and one stability analysis) per distinct block
    for b in spec.blocks:
        value = b.lam if b.lam is not None else None if b.lam_auto else lam
        if b.threshold is not None:
            value = times_power_of_two(_threshold_lambda(spec, b, h), -shift)
        elif value is None or b.lam_scale is not None:
            if u is None:
                raise NetworkError(
                    f"{spec.source}: {b.where}: lambda is auto and no signal is given"
                )
            if auto is None:
                auto = auto_lambda(u, h, sigma)[0]  # sigma: the level given, else estimated
            value = auto if b.lam_scale is None else auto * b.lam_scale
            if not math.isfinite(value) and b.lam_scale is not None:  # named, not "lam"
                raise NetworkError(
                    f"{spec.source}: {b.at('lambda-scale')}: lambda-scale {b.lam_scale:g} x "
                    f"the automatic lambda {auto:.4g} is beyond float64: give a smaller one"
                )
        elif shift:  # a lambda given, in the signal's units; u is it divided by 2**shift
            value = times_power_of_two(value, -shift)
        if lam_factor != 1.0:
            scaled = value * lam_factor
            if not math.isfinite(scaled) or scaled == 0.0:
                raise NetworkError(
                    f"{spec.source}: lambda-factors {lam_factor:g} x the lambda {value:.4g} of "
                    f"{b.where} is {scaled:g}, outside float64: give factors nearer 1"
                )
            value = scaled
        key = (b.expr, b.name, b.form, value, b.coefficients)
        if key not in built:
            try:
                if b.expr is not None:
                    built[key] = with_reach(expression_nonlinearity(b.expr, b.form, value), u, h)
                elif b.coefficients is not None:
                    built[key] = get_parametrised(b.name, b.coefficients, b.form, value)
                else:
                    built[key] = get_nonlinearity(b.name, b.form, value)
            except ParameterError as exc:  # the file, block and line named, as its others
                if str(exc).startswith(f"{spec.source}: "):
                    raise
                raise NetworkError(f"{spec.source}: {b.at(b.function_key)}: {exc}") from None
        nl = built[key]
        step = b.tau if b.tau is not None else tau
        if step is None:
            where = f"{spec.source}: {b.at(b.function_key)}"
            step = stability.default_tau(nl, h, where=where)
        groups.append((b, nl, float(step)))
    steps = sum(b.repeat for b in spec.blocks)
    label = spec.description or spec.source
    carrier = Nonlinearity(name=f"network {label}", key="network", lam=math.nan, _phi=_not_a_flux)
    parameters = {
        "network": spec.source,
        "groups": len(groups),
        "lambda_auto": auto,
    }
    if auto is None:
        del parameters["lambda_auto"]
    return NetworkPlan(
        command="resnet",
        form="activation",
        nl=carrier,
        tau=max(step for _, _, step in groups),
        h=h,
        steps=steps,
        parameters=parameters,
        groups=tuple(groups),
    )
