"""A run's report as data: built here (build_report, finish_report), and as JSON text.

Knows nothing about how the numbers were made, and renders nothing: the
tables on a terminal are drawn by :mod:`resdenoise.cli.render`.
"""

from __future__ import annotations

import math

import numpy as np

from . import stability
from .engine import backend_for, compiled_instruction_set

#: How a report names a level at the low end of an estimate's interval
#: (:meth:`resdenoise.noise.NoiseLevel.at_low`), followed by the estimator in parentheses.
LOW_END = "low end of the estimate"


def level_name(level) -> str:
    """A :class:`~resdenoise.noise.NoiseLevel`'s ``noise_estimator`` in a report: ``given``
    (``--sigma``), the estimator, or at its low end ``low end of the estimate (ESTIMATOR)``
    (never ``given``: the search chose that level itself)."""
    return f"{LOW_END} ({level.estimator})" if level.at_low_end else level.estimator


#: The report's layout; raised when a key changes meaning or goes away
#: (2: ``tool``, ``schema_version``, ``input_info``; ``noise_sigma`` only at the top;
#: 3: ``failed_checks`` name a channel by its ``channel_labels`` entry, a file's column
#: where columns were picked, not always ``channel N`` of the report's channels;
#: 4: ``passed_through``, the channels an automatic mode passed through unchanged, by
#: their labels; ``channels`` still one object per channel, those passed through too).
SCHEMA_VERSION = 4
#: Keys renamed at layout 4, the old name kept beside the new one until layout 5: a SURE
#: change per sample (the output's minus the input's, negative where the run helps) was
#: called a "gain" (audit12c D2).
RENAMED = {
    "expected_gain_per_sample": "sure_change_per_sample",
    "gain_at_low_end": "sure_change_at_low_end",
    "backed_off_gain": "backed_off_sure_change",
}
#: The layouts of the other JSON the program writes, each raised as ``SCHEMA_VERSION``
#: is: ``learn``'s report, ``translate``'s translation, ``dictionary``'s entries.
LEARN_SCHEMA_VERSION = 1
TRANSLATION_SCHEMA_VERSION = 1
DICTIONARY_SCHEMA_VERSION = 1

__all__ = [
    "DICTIONARY_SCHEMA_VERSION",
    "RENAMED",
    "LEARN_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "TRANSLATION_SCHEMA_VERSION",
    "block_entry",
    "build_report",
    "engine_entry",
    "finish_report",
    "job_entry",
    "name_bytes",
    "scales_unmeasured",
    "stamped",
    "to_json",
]


def _clean(x):
    """``x`` as strict JSON holds it: a number that is not finite (inf, -inf, NaN: JSON
    has no such tokens, and readers in other languages refuse Python's) is ``None``, a
    zero is ``0.0`` (a ``-0.0`` is an underflow's sign, not a number of its own); NumPy
    scalars and arrays as Python's; text as :func:`_utf8` says."""
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not math.isfinite(x) else 0.0 if x == 0.0 else x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, str):
        return _utf8(x)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _utf8(text: str) -> str:
    """``text`` as JSON can hold it: a file name that is not UTF-8 (Python holds its
    undecodable bytes as lone surrogates, which strict JSON readers refuse or turn into
    U+FFFD) with each such byte as the four characters ``\\xNN``, as Python's
    ``bytes.decode('utf-8', 'backslashreplace')`` writes them (``printf '%b'`` gives the
    bytes back); any other text as it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def name_bytes(entry: dict, key: str) -> None:
    """Beside a file name ``entry[key]`` that is not UTF-8, ``KEY_bytes``: the name's bytes
    (``os.fsencode``) as hex digits, in place.  ``entry[key]`` spells each undecodable byte
    as ``\\xNN`` (:func:`_utf8`), which names no file (and a file really named so alike);
    ``bytes.fromhex(r["input_bytes"])`` opens it.  Absent for a name that is UTF-8."""
    name = entry.get(key)
    if isinstance(name, str):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            import os

            entry[key + "_bytes"] = os.fsencode(name).hex()


def to_json(report: dict) -> str:
    """The report as strict JSON text (:func:`_clean`): a number that is not finite is
    ``null``, a negative zero ``0.0``; a file name that is not UTF-8 is spelt as
    :func:`_utf8` says."""
    import json  # not at start-up: a run without --json/--report writes none

    return json.dumps(_clean(report), indent=2, allow_nan=False) + "\n"


def stamped(body: dict, schema_version: int) -> dict:
    """``body`` after the keys every JSON object of the program starts with: ``tool``
    (``{"name": "resdenoise", "version": ...}``) and ``schema_version``, its layout's."""
    from . import __version__

    return {
        "tool": {"name": "resdenoise", "version": __version__},
        "schema_version": schema_version,
        **body,
    }


def job_entry(started: tuple | None, input_path: str, pipe: bool = False, read_as=None) -> dict:
    """The report's ``job``: what tells one run from another of the same file and
    parameters (README's report section), the report's only key that does: ``started``
    (UTC, ISO 8601), ``wall_seconds`` and ``cpu_seconds`` (this process's, all its threads)
    from ``started`` (``time.time()``, ``time.monotonic()``, ``time.process_time()`` at
    the run's start; None: unknown) until the report is made, ``host``,
    ``machine``, ``versions`` (``resdenoise``, ``python``, ``numpy``, ``soundfile`` and
    ``libsndfile`` where the run loaded them, else null) and ``input_file``: the input's
    ``size`` (bytes) and ``mtime`` (seconds since 1970, UTC) as the run found it now
    (null for stdin, a pipe or a name that no longer stats), and ``sha256`` of a regular
    file read whole (at most :data:`resdenoise.pipeline.STREAM_THRESHOLD` bytes by
    default: read again from the page cache, 1.6 GB/s of one core here, 5 ms at the most;
    null for a file streamed, which a second pass would cost a read of its own).

    ``read_as``: for a file read whole, its ``os.stat`` just before the run read it.
    ``input_file`` is then the file as read (its size and time then), and ``sha256`` is
    of the same bytes: hashed only where the file is still that file (device, inode,
    size, times) before and after the hash, from the descriptor checked; where it is not
    (replaced, written, removed since the run read it) ``sha256`` is null and
    ``changed`` true (a hash by name would be another file's)."""
    import datetime
    import os
    import platform
    import stat
    import sys
    import time

    from . import __version__

    entry: dict = {"started": None, "wall_seconds": None, "cpu_seconds": None}
    if started is not None:
        when = datetime.datetime.fromtimestamp(started[0], datetime.timezone.utc)
        entry["started"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entry["wall_seconds"] = round(time.monotonic() - started[1], 6)
        entry["cpu_seconds"] = round(time.process_time() - started[2], 6)
    sf = sys.modules.get("soundfile")
    entry.update(
        host=platform.node() or None,
        machine=platform.machine() or None,
        versions={
            "resdenoise": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "soundfile": getattr(sf, "__version__", None),
            "libsndfile": getattr(sf, "__libsndfile_version__", None),
        },
    )
    identity = None
    if read_as is not None and stat.S_ISREG(read_as.st_mode):  # described as read
        identity = {"size": read_as.st_size, "mtime": read_as.st_mtime_ns / 1e9}
        identity["sha256"] = _sha256_as_read(input_path, read_as)
        if identity["sha256"] is None:
            identity["changed"] = True
    elif not pipe and input_path != "-":
        try:
            st = os.stat(input_path)
            identity = {"size": st.st_size, "mtime": st.st_mtime_ns / 1e9, "sha256": None}
        except OSError:
            pass
    entry["input_file"] = identity
    return entry


def _sha256_as_read(path: str, read_as) -> str | None:
    """The SHA-256 of the file ``path``, in hex, where it is the file ``read_as`` (an
    ``os.stat``) before and after it is hashed; else (or unreadable now) None."""
    import hashlib
    import os

    def same(st) -> bool:
        keys = ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
        return all(getattr(st, k) == getattr(read_as, k) for k in keys)

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            if not same(os.fstat(file.fileno())):
                return None
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
            if not same(os.fstat(file.fileno())):
                return None
    except OSError:
        return None
    return digest.hexdigest()


# --------------------------------------------------------------------------
# The report as data: built here, and only here
# --------------------------------------------------------------------------


def build_report(
    plan,
    verdict,
    checks,
    tol: dict,
    sigma,
    dtype=np.float64,
    estimator: str = "quiet-windows",
    labels=None,
) -> dict:
    """The report dictionary of a run of ``plan`` (a :class:`resdenoise.filters.Plan`).

    Built from the measurements of :func:`resdenoise.filters.analyse_run`
    (whole signal) or :class:`resdenoise.measure.StreamMeasure` (chunks):
    ``checks`` and ``tol`` as :func:`stability.measure_channels` returns
    them, ``sigma`` the input's noise estimate per channel (also used by
    :mod:`resdenoise.stream`, which measures chunk by chunk), ``dtype`` the
    working precision, ``estimator`` the name of the noise estimator
    (:mod:`resdenoise.noise`) that measured ``sigma``, ``labels`` how the
    messages name each channel (``channel_labels``; default ``channel 1``, ...:
    :func:`resdenoise.stability.channel_labels`).
    """
    labels = stability.channel_labels(len(checks), labels)
    failed = stability.guarantees_failed(checks, verdict, labels)
    if not verdict.linf_stable:
        failed.insert(0, f"run was not L-infinity stable: {verdict.reason}")
    entry = plan.nl.entry
    body = {
        "command": plan.command,
        "family": plan.nl.key,
        "form": plan.form,
        "name": plan.nl.name,
        "class": entry.klass if entry else ("convex" if verdict.monotone else "nonconvex"),
        "parameters": dict(plan.parameters),
        "tau": plan.tau,
        "h": plan.h,
        "steps": plan.steps,
        "stopping_time": plan.stopping_time,
        "stability": verdict.as_dict(),
        "tolerance": tol,
        "noise_sigma": [float(s) for s in sigma],
        "noise_estimator": estimator,
        "channel_labels": list(labels),
        "channels": [
            # the range left as numbers, and whether the plan guarantees it (GuaranteeError)
            {
                **c.as_dict(),
                "max_min_guaranteed": bool(verdict.max_min_guaranteed),
                "range_left_by": c.range_left_by,
            }
            for c in checks
        ],  # fmt: skip
        "failed_checks": failed,
        "guarantees_held": not failed,
        "not_guaranteed": stability.not_guaranteed(checks, verdict, labels),
        "engine": engine_entry(plan, dtype),
    }
    report = stamped(body, SCHEMA_VERSION)
    if plan.passed:  # channels an automatic mode passed through unchanged, by their labels
        report["passed_through"] = [labels[c] for c in plan.passed]
    return report


#: What a report of one channel's plan keeps of its run (:func:`channels_report`).
CHANNEL_PLAN_KEYS = (
    "command", "family", "form", "name", "class", "parameters", "tau", "h", "steps",
    "stopping_time", "stability", "noise_sigma", "noise_estimator", "guarantees_held",
    "failed_checks", "not_guaranteed", "scales", "wavelet_check",
)  # fmt: skip


def channels_report(runs: list, labels, passed=()) -> dict:
    """The report of a run where each channel had its own plan
    (:class:`resdenoise.passing.SplitPlan`), of each channel's own report ``runs`` (each
    measured against its channel's plan, named by ``labels``): the channels' numbers in
    order, ``channel_plans`` (each channel's plan, its stability and its checks; its
    choices join its ``parameters``, :func:`finish_report`), the guarantees held where
    every channel's held; ``command``, ``family`` and ``tau`` the first channel's,
    ``stability`` the least stable channel's (:func:`resdenoise.stability.least_stable`,
    as the plan's verdict), ``steps`` the blocks of all;
    ``passed``: the labels of the channels passed through unchanged."""
    first = runs[0]
    stabilities = [r["stability"] for r in runs]
    report = {k: v for k, v in first.items() if k not in ("scales", "passed_through")}
    failed = [m for r in runs for m in r["failed_checks"]]
    report.update(
        parameters={},
        stability=stabilities[stability.least_stable(stabilities)],  # as SplitPlan.verdict
        steps=sum(r["steps"] for r in runs),
        stopping_time=max(r["stopping_time"] for r in runs),
        noise_sigma=[s for r in runs for s in r["noise_sigma"]],
        channel_labels=list(labels),
        channels=[c for r in runs for c in r["channels"]],
        failed_checks=failed,
        guarantees_held=not failed,
        not_guaranteed=[m for r in runs for m in r.get("not_guaranteed", [])],
        channel_plans=[
            {"channels": [label], **{k: r[k] for k in CHANNEL_PLAN_KEYS if k in r}}
            for label, r in zip(labels, runs, strict=True)
        ],
    )
    if any("wavelet_check" in r for r in runs):
        differences = [r["wavelet_check"]["max_abs_difference"] for r in runs]
        report["wavelet_check"] = {"max_abs_difference": max(differences)}
    if passed:
        report["passed_through"] = list(passed)
    return report


def engine_entry(plan, dtype=np.float64) -> dict:
    """How the blocks ran: ``dtype``, ``step_loop`` and ``instruction_set``.

    ``step_loop`` is 'compiled' or 'numpy' (see :func:`resdenoise.stepper.backend_for`;
    'compiled and numpy' for a network whose groups differ), ``instruction_set``
    that of the compiled loop (null when it ran in NumPy only).
    """
    loops = sorted({backend_for(nl) for nl in plan.nonlinearities()})
    return {
        "dtype": np.dtype(dtype).name,
        "step_loop": " and ".join(loops),
        "instruction_set": compiled_instruction_set() if "compiled" in loops else None,
    }


def taus_said(report: dict, num=repr) -> tuple[str, int]:
    """The step the blocks of ``report`` ran, in words (each number by ``num``): a network
    whose groups' steps differ, ``0.5 to 1`` (never its largest alone, the report's
    ``tau``: ``steps x tau`` is not its stopping time); and in how many block groups (1
    where all ran one step)."""
    groups = (report.get("stability") or {}).get("blocks") or ()
    said = sorted({num(float(b["tau"])) for b in groups}, key=float)
    if len(said) > 1:
        return f"{said[0]} to {said[-1]}", len(groups)
    return num(report["tau"]), 1


def block_entry(spec, nl, tau: float, verdict) -> dict:
    """One block group of a network as the report's ``stability.blocks`` lists it."""
    entry = {
        "index": spec.index,
        "label": spec.label or spec.text,
        "family": nl.key,
        "form": spec.form,
        "name": nl.name,
        "lambda": nl.lam,
        "tau": tau,
        "repeat": spec.repeat,
        "scale": spec.scale,
        "stopping_time": tau * spec.repeat,
        "stability": verdict.as_dict(),
    }
    if getattr(spec, "coefficients", None) is not None:
        entry["coefficients"] = list(spec.coefficients)
    if getattr(spec, "lam_scale", None) is not None:
        entry["lambda_scale"] = spec.lam_scale
    return entry


def scales_unmeasured(report: dict, name: str) -> str:
    """Mark ``report`` (of a plan of several strides, run in chunks) as not measured per
    subsequence: ``scales_measured`` false, ``guarantees_held`` claiming nothing it did
    not measure (false where the stability verdict rests on a sampled g_max, whose
    per-subsequence guarantee no theorem gives either), and the warning line."""
    report["scales_measured"] = False
    sampled = not report.get("stability", {}).get("exact", True)
    line = (
        f"{name}: the guarantees per subsequence of the strided blocks (total variation, "
        "sign changes, range of each x[r::s]) are not measured in a run in chunks; read "
        "the file whole (--chunk-size 0) to measure them"
    )
    if sampled and report.get("guarantees_held"):
        report["guarantees_held"] = False
        failed = (
            "per subsequence not measured (in chunks; --chunk-size 0 measures it) "
            "and g_max sampled, not proved"
        )
        report["failed_checks"] = [*report.get("failed_checks", []), failed]
    return line


def input_info(template, frames: int, full_scale) -> dict:
    """The report's ``input_info``: what the input file is (from its read template), and
    for an integer PCM file (``full_scale``: a :class:`resdenoise.io.rounding.FullScale`
    that saw the samples) the samples of each filtered channel at its rails."""
    info = {
        "format": template.format,
        "subtype": template.subtype,
        "rate": template.samplerate,
        "frames": int(frames),
        "channels": template.channels,
        "columns": template.width,
    }
    counts = full_scale.result(template.channel_positions)
    if counts is not None:
        info["full_scale"] = counts
    return info


def finish_report(
    report: dict,
    *,
    extra: dict,
    source: str,
    output: str,
    carried: list,
    dropped: list | None = None,
    clipped: int,
    rounding: dict | None = None,
    encoded: dict | None = None,
    input_info: dict | None = None,
    output_info: dict | None = None,
    channel_columns: list | None = None,
    quality: dict | None = None,
    streaming: dict | None = None,
    warnings: list | None = None,
) -> dict:
    """Complete a run's report with what the files and the data decided, in place.

    ``extra`` goes into ``parameters`` (what the data chose: noise estimate,
    automatic lambda, stopping rule); ``source``/``output`` name the files
    (``"-"`` is written ``<stdout>``); ``carried`` lists the columns written
    back unfiltered, ``dropped`` those the output format left out (a CSV's time
    column written as audio); ``clipped`` counts the samples clipped on output (a
    failed guarantee when any); ``rounding``: what writing to an integer PCM subtype
    did (:meth:`resdenoise.io.SignalWriter.rounding`, :func:`_rounded`); ``encoded``: the
    range a lossy or companding output's file holds (:meth:`~resdenoise.io.SignalWriter.encoded`,
    :func:`_encoded`); ``input_info`` describes the input file
    (format, subtype, rate, frames, channels, columns), ``output_info`` the
    output's (format, subtype); ``channel_columns`` each filtered channel's place in the
    file (``column`` from 1, ``name``: its header's or None); ``quality`` compares
    with a reference; ``streaming`` describes a run in chunks; ``warnings``
    are what the automatic search had to say.  The noise
    estimate is the report's ``noise_sigma``, not repeated in ``parameters``;
    a level the caller gave (``noise_estimator`` "given"), or that an
    automatic search measured otherwise (:func:`resdenoise.noise.search_noise`),
    is a parameter and stays.
    """
    if extra.get("noise_estimator") == report.get("noise_estimator"):  # the report's own, once
        extra = {k: v for k, v in extra.items() if k != "noise_sigma"}
    chosen = extra.get("channel_plans")  # each channel's choices, with its plan's
    if isinstance(chosen, dict) and "channel_plans" in report:
        extra = {k: v for k, v in extra.items() if k != "channel_plans"}
        for entry in report["channel_plans"]:
            entry["parameters"].update(chosen.get(entry["channels"][0], {}))
    report["parameters"].update(extra)
    if quality is not None:
        report["quality"] = quality
        name_bytes(quality, "reference")
    report["input"] = source
    name_bytes(report, "input")
    if input_info is not None:
        report["input_info"] = input_info
    if channel_columns is not None:  # beside channel_labels: plain, for a script
        report["channel_columns"] = channel_columns
    report["output"] = "<stdout>" if output == "-" else output
    name_bytes(report, "output")
    if output_info is not None:
        report["output_info"] = output_info
    if carried:  # time column and unpicked columns: written back unfiltered
        report["carried_columns"] = carried
    if dropped:  # not in the output (a CSV's time column, as audio)
        report["dropped_columns"] = list(dropped)
    report["clipped"] = clipped
    if clipped:
        report["failed_checks"].append(f"{clipped} samples clipped on output")
        report["guarantees_held"] = False
    if rounding is not None:
        _rounded(report, rounding)
    if encoded is not None:
        _encoded(report, encoded)
    if streaming is not None:
        report["streaming"] = streaming
    if warnings:
        report["warnings"] = list(warnings)
    return report


def _rounded(report: dict, rounding: dict) -> None:
    """The report's ``output_rounding`` (``rounding``: the output's integer PCM subtype, its
    step, the written range, total variation and sign changes per channel, the mean's
    change bound), in place.  The channels' measurements are the run's before that
    rounding (``measured``); the max-min principle is checked on the written range too,
    a failed guarantee where rounding took it outside the input's range.  Rounding is
    monotone (no new sign changes) but may raise the total variation, even above the
    input's: ``tv_above_input`` says where it did, a fact, not a failed check (no
    guarantee covers the written samples' variation)."""
    channels = report.get("channels") or []
    above = [
        tv > check["tv_in"] * (1.0 + 1e-12)  # (beyond the input sum's rounding)
        for tv, check in zip(rounding.get("output_tv", ()), channels, strict=False)
    ]
    report["output_rounding"] = {
        **rounding,
        "tv_above_input": above,
        "measured": f"the channels' output numbers are the run's, before rounding to "
        f"{rounding['subtype']}",
    }
    from .stability import channel_labels

    names = report.get("channel_labels") or channel_labels(len(channels))
    pairs = zip(channels, rounding["output_min"], rounding["output_max"], names, strict=False)
    for check, lo, hi, name in pairs:
        if check["max_min_principle"] and (lo < check["input_min"] or hi > check["input_max"]):
            report["failed_checks"].append(
                f"{name}: rounded to {rounding['subtype']} the output [{lo!r}, {hi!r}] leaves "
                f"the input range [{check['input_min']!r}, {check['input_max']!r}]"
            )
            report["guarantees_held"] = False


def _encoded(report: dict, encoded: dict) -> None:
    """The report's ``output_encoded`` (``encoded``: a lossy or companding output's subtype
    and the range its decoded file holds per channel), in place.  The channels' numbers and
    checks are the run's samples, before the encoding; ``range_beyond_input`` says per
    channel where the file's range leaves the input's (an encoder's overshoot): a fact, not a
    failed check, since no guarantee covers a lossy encoder's samples."""
    channels = report.get("channels") or []
    pairs = zip(channels, encoded["output_min"], encoded["output_max"], strict=False)
    report["output_encoded"] = {
        **encoded,
        "range_beyond_input": [lo < c["input_min"] or hi > c["input_max"] for c, lo, hi in pairs],
        "measured": f"the channels' output numbers are the run's, before encoding to "
        f"{encoded['subtype']}; output_min and output_max are the written file's",
    }


def overshoot(report: dict, encoded: dict, target: str) -> list[str]:
    """One warning line per channel whose encoded file's range (``encoded``:
    :meth:`~resdenoise.io.SignalWriter.encoded`) leaves the input's range in ``report``'s
    channels: the max-min principle the report checks holds for the run's samples only."""
    from .stability import channel_labels

    channels = report.get("channels") or []
    names = report.get("channel_labels") or channel_labels(len(channels))
    lines = []
    rows = zip(channels, encoded["output_min"], encoded["output_max"], names, strict=False)
    for check, lo, hi, name in rows:
        if lo < check["input_min"] or hi > check["input_max"]:
            lines.append(
                f"{target}: {name} of the {encoded['subtype']} file spans [{lo:.6g}, {hi:.6g}], "
                f"beyond the input's [{check['input_min']:.6g}, {check['input_max']:.6g}]: the "
                "encoder's overshoot; the report's max-min check is of the samples before it "
                "(write a WAV file to keep them)"
            )
    return lines
