"""The project's exceptions: a small tree, each with the CLI exit code it maps to.

A message that asks the caller to change a parameter names it as Python
spells it (``decimal=','``, ``tau``, ``allow_unstable=True``) and lists
those mentions in ``parameters``, in the order they appear, so that a front
end can restate them in its own terms (the command line's flags) with
:meth:`ResdenoiseError.restate`.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
import sys
from collections.abc import Callable, Iterable

__all__ = [
    "MAX_BLOCKS",
    "check_blocks",
    "check_count",
    "count_said",
    "check_kind",
    "check_positive",
    "check_signal",
    "check_signal_shape",
    "counted",
    "did_you_mean",
    "import_extra",
    "install_hint",
    "is_count",
    "is_positive",
    "non_finite",
    "one_line",
    "quiet_underflow",
    "refuse_non_finite",
    "ExtraMissing",
    "OutOfMemory",
    "GuaranteeError",
    "Interrupted",
    "ParameterError",
    "PipeClosed",
    "ResdenoiseError",
    "ResdenoiseWarning",
    "SignalError",
    "SignalValuesError",
    "UnstableError",
    "WholeSignalNeeded",
    "spell",
    "too_many_blocks",
]


def spell(name: str, value: object = ...) -> str:
    """How a message names a parameter: ``name``, or ``name=value!r`` when a value is given.

    Examples
    --------
    >>> spell("tau"), spell("decimal", ","), spell("header", True)
    ('tau', "decimal=','", 'header=True')
    """
    return name if value is ... else f"{name}={value!r}"


def _squash(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (ignoring case, ``-``, ``_`` and spaces), or None.

    Examples
    --------
    >>> did_you_mean("PCM24", ["PCM_16", "PCM_24", "FLOAT"]), did_you_mean("x", ["FLOAT"])
    ('PCM_24', None)
    """
    import difflib

    squashed = {_squash(c): c for c in choices}
    close = difflib.get_close_matches(_squash(word), list(squashed), n=1, cutoff=0.75)
    return squashed[close[0]] if close else None


class ResdenoiseWarning(UserWarning):
    """The category of every warning the library gives (a tau above the sign-stable bound,
    fewer scales than asked, channels of very different noise under one lambda, ...):
    ``warnings.filterwarnings("ignore", category=resdenoise.ResdenoiseWarning)`` silences
    them and no one else's; a UserWarning, so a filter of those still applies."""


class ResdenoiseError(Exception):
    """Base of resdenoise's own errors.

    Parameters
    ----------
    *args
        The message, as for any exception.
    parameters : iterable of str or (str, object)
        The parameters the message names, in order of appearance: a name
        (spelt ``name``) or a pair ``(name, value)`` (spelt ``name=value!r``),
        exactly as :func:`spell` writes them into the message.
    """

    exit_code = 1

    def __init__(self, *args, parameters: Iterable[str | tuple[str, object]] = ()):
        super().__init__(*args)
        self.parameters = tuple((p, ...) if isinstance(p, str) else tuple(p) for p in parameters)

    def restate(self, spell_as: Callable[[str, object], str]) -> str:
        """The message with each named parameter as ``spell_as(name, value)`` writes it.

        ``value`` is ``...`` where the message names the parameter alone.
        Mentions are found from the end backwards (a hint follows the file
        name that the message may start with).

        Examples
        --------
        >>> err = SignalError("x.csv: set header=True", parameters=[("header", True)])
        >>> err.restate(lambda name, value: "--" + name)
        'x.csv: set --header'
        """
        text = str(self)
        end = len(text)
        for name, value in reversed(self.parameters):
            python = spell(name, value)
            at = text.rfind(python, 0, end)
            if at < 0:
                continue
            text = text[:at] + spell_as(name, value) + text[at + len(python) :]
            end = at
        return text


class SignalError(ResdenoiseError, ValueError):
    """A signal file cannot be read or written (names the file, line, field)."""

    exit_code = 1


class OutOfMemory(ResdenoiseError):
    """The run needed more memory than the process may use (a ``MemoryError``): its
    environment's limit (``ulimit -v``, a container's), not the input nor a bug; exit
    code 5, which a job runner can retry with more memory."""

    exit_code = 5

    @classmethod
    def of(cls, exc: BaseException) -> OutOfMemory:
        """The error for ``exc`` (a ``MemoryError``), its detail kept, NumPy's in words
        (``45.8 MiB could not be allocated``, not ``Unable to allocate 45.8 MiB for an
        array with shape (2999998, 2) and data type float64``)."""
        detail = one_line(exc)
        numpy = re.match(r"Unable to allocate (\S+ \S+) for an array", detail)
        detail = f"{numpy.group(1)} could not be allocated" if numpy else detail
        return cls(
            f"out of memory{f' ({detail})' if detail else ''}: the run needs more memory "
            "than this process may use; give it more (ulimit -v, the container's memory "
            "limit), or filter a shorter file"
        )


class SignalValuesError(SignalError):
    """A signal's values, not an option, are beyond what a run can use (an automatic
    lambda that overflows): found where the file's name is not known, so the caller
    names it with :meth:`of`."""

    def of(self, name: str) -> SignalValuesError:
        """The same error, its message starting with the file's ``name``."""
        return type(self)(f"{name}: {self}", parameters=self.parameters)


class PipeClosed(SignalError):
    """An output went to a pipe (stdout, a FIFO) whose reader closed it (``| head``):
    nothing more can be written.  Not the user's error to read: the command line exits
    quietly with 141, as a program killed by SIGPIPE does (128 + 13)."""

    exit_code = 141


class ParameterError(ResdenoiseError, ValueError):
    """A parameter is out of range or inconsistent with others."""

    exit_code = 2


class WholeSignalNeeded(ParameterError):
    """A plan maker needed the samples of a streamed signal (a stopping rule, a search
    of several scales, a choice by SURE: ``plans._need_samples`` names it);
    :func:`resdenoise.pipeline.run_file` then reads a file it streamed
    only to save memory whole instead, else says why it streamed (:meth:`because`).

    Made by :meth:`of`; the message is ``source: NEEDS needs the whole signal in
    memory, but WHY; FIX, or FIX``, each part a ``(text, parameters)`` pair.
    """

    source = ""
    needs: tuple = ("this", ())
    fixes: tuple = ()  # (text, parameters) that avoid the need, before WHY's own

    @classmethod
    def of(cls, source: str, needs: tuple, fixes=(), why=None, remedy=None):
        """The refusal of ``source``'s summary: ``needs`` and ``fixes`` as the plan
        maker says them, ``why`` it was read in chunks and the ``remedy`` of that."""
        why = why or ("the file is filtered in chunks", ())
        remedy = remedy or ("pass chunk_size=0 to load it whole", [("chunk_size", 0)])
        parts = [needs, why, *fixes, remedy]
        text = f"{source}: {needs[0]} needs the whole signal in memory, but {why[0]}; "
        exc = cls(
            text + ", or ".join(fix for fix, _ in [*fixes, remedy]),
            parameters=[p for _, named in parts for p in named],
        )
        exc.source, exc.needs, exc.fixes = source, needs, tuple(fixes)
        return exc

    def because(self, why: tuple, remedy: tuple | None) -> WholeSignalNeeded:
        """The same need, with ``why`` the input was read in chunks and its ``remedy``
        (None: :meth:`of`'s default)."""
        return self.of(self.source, self.needs, self.fixes, why, remedy)


def install_hint(extra: str) -> str:
    """What installs the optional extra ``extra`` (resdenoise is not on PyPI: from the
    checkout)."""
    return f"pip install '.[{extra}]' in the resdenoise checkout"


class ExtraMissing(ResdenoiseError):
    """An optional extra is not installed (exit code 2, as a usage problem: the run cannot
    start as asked); the message says what needs it and the ``pip install`` to run.

    ``ExtraMissing("plotting needs matplotlib", "plot")`` reads ``plotting needs
    matplotlib: pip install '.[plot]' in the resdenoise checkout``.
    """

    exit_code = 2

    def __init__(self, needs: str, extra: str):
        super().__init__(f"{needs}: {install_hint(extra)}")
        self.extra = extra


def import_extra(module: str, needs: str, extra: str, error: type = ExtraMissing):
    """The module ``module`` of an optional extra, imported; not installed:
    ``error(needs, extra)`` (an :class:`ExtraMissing`: exit code 2, the ``pip install``)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise error(needs, extra) from None


def range_sentence(name: str, channel, by: float | None = None) -> str:
    """``name: output [lo, hi] leaves input range [lo, hi]`` of one channel's measured
    ``channel`` (a mapping with ``output_min``, ``output_max``, ``input_min``,
    ``input_max``), ``by`` how far where given (a range the plan does not guarantee):
    the one sentence of a failed check and of ``not_guaranteed``."""
    return (
        f"{name}: output [{channel['output_min']:.17g}, {channel['output_max']:.17g}] "
        f"leaves input range [{channel['input_min']:.17g}, {channel['input_max']:.17g}]"
        + ("" if by is None else f" by {by:.3g}")
    )


class UnstableError(ResdenoiseError):
    """A run was refused because its tau or nonlinearity is not stable."""

    exit_code = 3


#: Where an in-place run under strict replaces its input (the end of the message of one
#: that kept it; ``flag``: how the caller spells in_place).
KEPT_RULE = "{flag} replaces it only where nothing fails {strict}"


class GuaranteeError(ResdenoiseError):
    """A run under ``strict=True`` finished (output written) but a measured guarantee failed.

    ``report`` is the run's report; its ``failed_checks`` say which, and its
    ``not_guaranteed`` what left the input's range though the plan does not guarantee it
    (several scales of shrinkage), which fails ``strict`` too (:meth:`strict_failures`).
    ``kept``: the run was to replace its input in place, and did not (the input kept as it
    was, no output).
    """

    exit_code = 4

    def __init__(self, *args, report: dict | None = None, kept: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report
        self.kept = kept

    @staticmethod
    def strict_failures(report: dict) -> list[str]:
        """What fails ``strict`` in ``report``, as sentences (empty: nothing): its failed
        checks, and an output that left the input's range where the plan does not
        guarantee the range (the README's "Start here" calls a range kept "held":
        :meth:`range_left`); not the whole output's sign changes or total variation of a
        plan that guarantees them per subsequence or per level only (said in the
        verdict, ``not_guaranteed``)."""
        off = GuaranteeError.range_left(report)
        left = "the output left the input's range (not guaranteed over scales): "
        return [*report["failed_checks"], *([left + "; ".join(off)] if off else [])]

    @staticmethod
    def range_left(report: dict) -> list[str]:
        """The channels of ``report`` whose output left the input's range where their
        plan does not guarantee it, read from the numbers of its ``channels``
        (``max_min_guaranteed`` false, ``max_min_principle`` false, ``range_left_by``),
        as ``not_guaranteed`` says them (:func:`range_sentence`)."""
        labels = report.get("channel_labels") or ()
        out = []
        for i, ch in enumerate(report.get("channels") or ()):
            if ch.get("max_min_guaranteed", True) or ch.get("max_min_principle", True):
                continue
            name = labels[i] if i < len(labels) else f"channel {i + 1}"
            out.append(range_sentence(name, ch, ch.get("range_left_by")))
        return out

    @classmethod
    def fails_strict(cls, report: dict) -> bool:
        """Whether ``report`` fails ``strict`` (and an in-place run under it keeps its input)."""
        return bool(cls.strict_failures(report)) or not report["guarantees_held"]

    @classmethod
    def check_strict(cls, report: dict, input_path: str | None = None) -> None:
        """Raise where ``report`` fails ``strict``: a failed check, or an output off the
        input's range that its plan did not guarantee (``not_guaranteed``); the message
        says where an in-place run kept ``input_path`` (``kept_input``)."""
        if cls.fails_strict(report):
            held = "guarantees failed: " if report["failed_checks"] else ""
            kept = report.get("kept_input", False)
            rule = KEPT_RULE.format(flag="in_place", strict="strict")
            said = f"; {input_path} kept as it was ({rule})"
            message = held + "; ".join(cls.strict_failures(report)) + (said if kept else "")
            raise cls(message, report=report, kept=kept)


class Interrupted(BaseException):
    """A signal (SIGTERM, SIGHUP, SIGINT, ...) stopped the run.

    A ``BaseException`` like ``KeyboardInterrupt``, so that no ``except
    Exception`` takes it for a failed file: it runs every cleanup on its way
    out.  ``exit_code`` is 128 + the signal's number (130 for Ctrl-C).
    ``written``: the outputs put in place before it, within
    :func:`resdenoise.io.signals.handle_signals` (set on its way out); ``partly``: the
    output it cut short as it was sent to stdout or a pipe, ``(path, bytes sent, bytes in
    all)``, else None.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
        self.written: tuple[str, ...] = ()
        self.partly: tuple[str, int, int] | None = None


def counted(k: int, what: str) -> str:
    """``k`` things, the noun in the plural unless ``k`` is 1: ``1 scale``, ``4 groups``."""
    return f"{k} {what}{'' if k == 1 else 's'}"


def samples_and_channels(shape: tuple) -> str:
    """A signal's shape in words: ``512 samples x 1 channel`` (not NumPy's ``(512,)``)."""
    channels = shape[1] if len(shape) > 1 else 1
    return f"{counted(shape[0], 'sample')} x {counted(channels, 'channel')}"


def too_short(source: str, k: int, what: str = "sample") -> SignalError:
    """The refusal of a file of ``k`` < 2 samples (``what``: its unit, ``"data row"`` for a
    CSV file): nothing to filter, and what to do; a batch's other files are written."""
    return SignalError(
        f"{source}: {counted(k, what)}; a signal needs at least 2 samples: nothing to filter, "
        "leave this file out (a batch still writes the others and exits 1 for it)"
    )


def check_count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an ``int`` where it is a whole number >= ``minimum`` (an int, a NumPy
    integer or a float without a fraction; not a bool), else :class:`ParameterError`
    naming ``name``.  A fraction is refused, never truncated: 2.5 steps are not 2.

    Examples
    --------
    >>> check_count("steps", 3.0), check_count("blocks", 0, minimum=0)
    (3, 0)
    >>> check_count("steps", 2.5)
    Traceback (most recent call last):
        ...
    resdenoise.errors.ParameterError: steps must be an integer >= 1, got 2.5
    """
    if not is_count(value, minimum):
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def is_count(value, minimum: int = 1) -> bool:
    """Whether ``value`` is a whole number >= ``minimum`` (see :func:`check_count`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if not isinstance(value, numbers.Integral) and not (
        math.isfinite(value) and value == math.floor(value)
    ):
        return False
    return value >= minimum


#: The most blocks (steps, iterations) one run may take: beyond, it is refused
#: before it starts (10^8 blocks of 10^6 samples take hours; the engine's loop would
#: run on for as long as it is let, as no count is too large for it to start).
MAX_BLOCKS = 10**8

#: The engine's best rate, in samples x blocks per second (``make bench``: about
#: 1e9 on two cores in float64); used only to say how long a refused run would take.
BEST_RATE = 1e9


def _duration(seconds: float) -> str:
    """A rough duration for a person: seconds, hours, days or years."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:.2g} {unit}"
    return f"{seconds:.2g} s"


#: Counts of blocks below this are said exactly in a message (100000004), larger ones
#: rounded (about 4e+300): their last digits are a float's binary expansion, not the count.
EXACT_COUNT = 10**15


def _as_float(blocks) -> float:
    """``blocks`` (an int, or a float) as a float: inf beyond float64's range."""
    try:
        return float(blocks)
    except OverflowError:
        return math.inf


def count_said(blocks) -> str:
    """A count of blocks (an int, or a float of one) as a message says it: exact below
    :data:`EXACT_COUNT`, else rounded in scientific notation, never 300 digits."""
    if blocks < EXACT_COUNT:
        return f"{math.ceil(blocks)}"
    x = _as_float(blocks)
    return f"about {x:.2g}" if math.isfinite(x) else "more than 1e+308"


def too_many_blocks(blocks: float) -> str:
    """Why ``blocks`` blocks are refused: more than :data:`MAX_BLOCKS`, and how long
    they would take."""
    seconds = _as_float(blocks) * 1e6 / BEST_RATE
    per_million = (
        f"about {_duration(seconds)}"
        if math.isfinite(seconds)  # beyond float64: at least the largest float's
        else f"more than {_duration(sys.float_info.max * (1e6 / BEST_RATE))}"
    )
    return (
        f"more than a run may take (at most {MAX_BLOCKS:,}; at the engine's best rate "
        f"that many take {per_million} per million samples)"
    )


def check_blocks(name: str, value, minimum: int = 1) -> int:
    """``value`` as an ``int`` where it is a count of blocks (steps, iterations) that
    one run may take: :func:`check_count`'s whole number >= ``minimum``, and at most
    :data:`MAX_BLOCKS`; else :class:`ParameterError` naming ``name`` (and the limit).

    Examples
    --------
    >>> check_blocks("steps", 100)
    100
    >>> check_blocks("steps", 10**13)
    Traceback (most recent call last):
        ...
    resdenoise.errors.ParameterError: 10000000000000 blocks are more than a run may take (at most 100,000,000; at the engine's best rate that many take about 3.2e+02 years per million samples); give fewer steps
    """
    value = check_count(name, value, minimum)
    if value > MAX_BLOCKS:
        raise ParameterError(
            f"{count_said(value)} blocks are {too_many_blocks(value)}; give fewer {name}",
            parameters=[name],
        )
    return value


def check_positive(name: str, value) -> float:
    """``value`` where it is a finite real number > 0 (not a bool), else
    :class:`ParameterError` naming ``name``.

    Examples
    --------
    >>> check_positive("tau", -0.1)
    Traceback (most recent call last):
        ...
    resdenoise.errors.ParameterError: tau must be a finite number > 0, got -0.1
    """
    if not is_positive(value):
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_kind(name: str, value, ok: bool, kind: str):
    """``value`` where ``ok`` (it is of the ``kind`` asked for), else
    :class:`ParameterError` naming ``name`` and ``kind``.

    Examples
    --------
    >>> check_kind("func", 3, callable(3), "callable")
    Traceback (most recent call last):
        ...
    resdenoise.errors.ParameterError: func must be callable, got 3
    """
    if not ok:
        raise ParameterError(f"{name} must be {kind}, got {value!r}")
    return value


def is_positive(value) -> bool:
    """Whether ``value`` is a finite real number > 0 (see :func:`check_positive`)."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return real and math.isfinite(value) and value > 0


def quiet_underflow(function: Callable) -> Callable:
    """``function`` run under ``np.errstate(under="ignore")``, the caller's state back after.

    For the computations whose underflow is intended and harmless (a probe of
    ever smaller differences, the samples times a power of two, a tiny
    detail): a caller's ``np.seterr(under="raise")`` makes them no
    FloatingPointError, and the caller's error state is left as it was.
    """

    @functools.wraps(function)
    def quiet(*args, **kwargs):
        import numpy as np  # here: the command line's start-up imports no NumPy for errors

        with np.errstate(under="ignore"):
            return function(*args, **kwargs)

    return quiet


def one_line(text) -> str:
    """``text`` (an exception's message, a cell) on one line, runs of white space as one space."""
    return " ".join(str(text).split())


def refuse_complex(a, what: str = "the signal") -> None:
    """Refuse a complex array ``a`` (a cast to float drops the imaginary part with a mere
    warning): :class:`SignalError`, the one message of the library's entries."""
    kind = getattr(getattr(a, "dtype", None), "kind", "")
    if kind == "c":
        raise SignalError(
            f"{what} is complex ({a.dtype}); resdenoise filters real signals: pass "
            "u.real, or filter the real and imaginary parts one after the other"
        )


def check_signal(a, what: str = "the signal") -> None:
    """Refuse a float array ``a`` that is not a signal: :class:`SignalError` where it is
    not shaped ``(n,)`` or ``(n, channels)``, has fewer than 2 samples or no channels, or
    holds a sample that is NaN or infinite (named as :func:`refuse_non_finite` does).  The
    one check of the library's entries (:func:`resdenoise.api.as_signal`,
    :func:`resdenoise.automatic.choose_denoiser`), the command line's rule for a file."""
    check_signal_shape(a.shape, what)
    refuse_non_finite(what, non_finite(a))  # sample and channel counted from 1


def check_signal_shape(shape: tuple, what: str = "the signal") -> None:
    """:func:`check_signal` of the shape alone (what the engine's entry checks).

    Examples
    --------
    >>> check_signal_shape((5, 0))
    Traceback (most recent call last):
        ...
    resdenoise.errors.SignalError: the signal has no channels (shape (5, 0))
    """
    if len(shape) not in (1, 2):
        raise SignalError(f"{what} must have shape (n,) or (n, channels), not {shape}")
    if shape[0] < 2:
        raise SignalError(f"a signal needs at least 2 samples; this one has shape {shape}")
    if 0 in shape:
        raise SignalError(f"{what} has no channels (shape {shape})")


def non_finite(block, start: int = 0) -> dict[int, tuple[int, float]]:
    """The first sample that is not finite in each channel (column) of ``block``, whose
    rows are numbered from ``start``: ``{channel: (row, value)}``, empty when every
    sample is finite (then one sum over the block)."""
    import numpy as np  # here: the command line's start-up imports no NumPy for errors

    if block.dtype.kind != "f":
        return {}
    with np.errstate(over="ignore", invalid="ignore"):  # a sum of huge samples: looked at
        if np.isfinite(np.sum(block)):
            return {}
    rows = block.reshape(block.shape[0], -1)
    found = {}
    for c in range(rows.shape[1]):
        bad = np.flatnonzero(~np.isfinite(rows[:, c]))
        if bad.size:
            found[c] = (start + int(bad[0]), float(rows[bad[0], c]))
    return found


def refuse_diverged(name: str, out, done: str = "nothing written") -> None:
    """Refuse an output of which a value is NaN or infinite: a run that diverged (an
    unstable step allowed), never written (the command line's writers) nor returned (the
    one-call functions); ``done`` says which."""
    count = diverged_count(out)
    if count:
        raise diverged(name, count, done)


def diverged(name: str, count: int, done: str = "nothing written") -> SignalError:
    """:func:`refuse_diverged`'s error, of an output with ``count`` values not finite."""
    return SignalError(f"{name}: {count} output values are not finite (the run diverged); {done}")


def diverged_count(out) -> int:
    """How many values of the array ``out`` are NaN or infinite (0 at the cost of a sum
    where none is)."""
    import numpy as np  # here: the command line's start-up imports no NumPy for errors

    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(out)):
            return 0
    return int(out.size - np.count_nonzero(np.isfinite(out)))


def refuse_non_finite(source: str, found: dict, channels=None) -> None:
    """Refuse the earliest sample of ``found`` (:func:`non_finite`, keyed by the file's
    channel) among ``channels`` (default: all): sample and channel counted from 1."""
    hits = sorted((row, c) for c, (row, _) in found.items() if channels is None or c in channels)
    if hits:
        row, c = hits[0]
        raise SignalError(
            f"{source}: sample {row + 1}, channel {c + 1} is {found[c][1]!r}, not a finite number"
        )
