"""Filtering a file: read, plan, check, run, measure, report, write.

What the four filtering commands of the command line do, as plain Python:

* :func:`planner` (of :mod:`resdenoise.plans`, named here too) turns a
  command's settings into ``make_plan(u) -> (plan, extra)``, which fixes
  the plan for one signal (automatic lambda and stopping time need the
  samples); :func:`network_planner` does the same for a network file.
* :func:`run_file` reads one input (whole, or in chunks for a large file:
  the same steps either way), makes the plan, refuses an unstable one, runs
  it, measures the guarantees and writes the output and the JSON report
  atomically (all or nothing).  Its options come as three small objects:
  :class:`resdenoise.io.ReadOptions`, :class:`resdenoise.io.WriteOptions`
  and :class:`RunOptions`.
* :func:`resdenoise.batch.run_batch` does that for many inputs.

Nothing here prints.  Progress goes to a callback, a warning to a callback
(or :func:`warnings.warn`), and problems are raised as the exceptions of
:mod:`resdenoise.errors`, whose ``exit_code`` is the command line's: 1
input/output, 2 parameters, 3 refused as unstable, 4 a guarantee failed
under ``RunOptions(strict=True)``.

Examples
--------
>>> import pathlib, shutil, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "in.csv").write_text("0\\n0\\n1\\n1\\n")
>>> make_plan = planner("diffuse", "linear", lam=1.0, steps=1)
>>> report = run_file(make_plan, str(d / "in.csv"), str(d / "out.csv"))
>>> (d / "out.csv").read_text().split()
['0', '0.25', '0.75', '1']
>>> report["guarantees_held"], report["steps"], report["tau"]
(True, 1, 0.25)
>>> shutil.rmtree(d)
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, is_dataclass, replace
from functools import partial
from typing import Literal, NamedTuple, overload

from . import stream_choice
from .errors import GuaranteeError, ParameterError, SignalValuesError, WholeSignalNeeded
from .io.rounding import FullScale
from .io.signal import ZARR
from .pairs import limit_threads
from .paths import (
    FileIndex,
    HeldInput,
    check_in_place,
    check_paths,
    refuse_pipe_twice,
    unchanged_guard,
)

# the plan makers live in resdenoise.plans; named here too for run_file's callers
from .plans import AUTO, Planner, Progress, automatic_planner, network_planner, planner
from .stream_choice import (
    STREAM_THRESHOLD,
    WHOLE_SIGNAL_LIMIT,
    _lean,
    _refuse_early,
    _why_streamed,
    should_stream,
)

__all__ = [
    "AUTO",
    "FileIndex",
    "Planner",
    "STREAM_THRESHOLD",
    "WHOLE_SIGNAL_LIMIT",
    "RunOptions",
    "automatic_planner",
    "check_paths",
    "network_planner",
    "planner",
    "run_file",
    "should_stream",
]


# --------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """How a file's plan is run and judged: the third option object beside
    :class:`resdenoise.io.ReadOptions` and :class:`resdenoise.io.WriteOptions`.

    Attributes
    ----------
    allow_unstable : bool
        Run a plan above the L-infinity bound instead of refusing it.
    strict : bool
        Raise :class:`GuaranteeError` (after writing) when a measured
        guarantee failed.
    check_wavelet : bool
        Also compare with an actual cycle-spun Haar shrinkage (``shrink``).
    dtype : {"auto", "float64", "float32"}
        Working precision; ``"auto"``: float32 for an input stored as 32-bit
        floats (a sound file of subtype ``FLOAT``: the file's own precision;
        the output differs from float64's by a few float32 rounding units,
        see :meth:`working_dtype`), float64 for every other input.
    chunk_size : int, optional
        Samples per chunk; 0: always read the file whole; default: chunks
        for input files over :data:`STREAM_THRESHOLD` bytes (a Zarr store: its
        array's bytes in its dtype).
    threads : int, optional
        Engine threads (default: see :func:`resdenoise.engine.run_blocks`).
    names : (str, str), optional
        The input and the output as the report's ``input`` and ``output`` name them
        (default: as :func:`run_file` is given them); a batch on a cluster gives the
        client's spelling, its workers run on the absolute paths.
    """

    allow_unstable: bool = False
    strict: bool = False
    check_wavelet: bool = False
    dtype: str = "auto"
    chunk_size: int | None = None
    threads: int | None = None
    names: tuple[str, str] | None = None

    def __post_init__(self):
        if self.dtype not in ("auto", "float64", "float32"):
            raise ParameterError(
                f"dtype must be 'auto', 'float64' or 'float32', not {self.dtype!r}"
            )
        for name in ("chunk_size", "threads"):
            value = getattr(self, name)
            low = 0 if name == "chunk_size" else 1
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < low
            ):
                raise ParameterError(f"{name} must be an integer >= {low} or None, not {value!r}")
        names = self.names
        if names is not None and not (
            isinstance(names, tuple) and len(names) == 2 and all(isinstance(n, str) for n in names)
        ):
            raise ParameterError(f"names must be (input, output), two str, or None, not {names!r}")

    def working_dtype(self, stored_float32: bool) -> str:
        """The precision a file is run in: ``dtype``, or under ``"auto"`` float32 when
        the file stores 32-bit floats (``stored_float32``), else float64."""
        if self.dtype != "auto":
            return self.dtype
        return "float32" if stored_float32 else "float64"


@overload
def run_file(
    make_plan: Callable,
    input_path: str,
    output: str = "-",
    *,
    read=None,
    write=None,
    run: RunOptions | None = None,
    input_format: str | None = None,
    report_path: str | None = None,
    reference: str | None = None,
    in_place: bool = False,
    progress: Progress | None = None,
    on_warning: Callable[[str], object] | None = None,
    protect: Sequence[str] | FileIndex = (),
    measure: Literal[True] = ...,
    on_commit: Callable[..., object] | None = None,
) -> dict: ...  # measured (the default): always the report


@overload
def run_file(
    make_plan: Callable,
    input_path: str,
    output: str = "-",
    *,
    read=None,
    write=None,
    run: RunOptions | None = None,
    input_format: str | None = None,
    report_path: str | None = None,
    reference: str | None = None,
    in_place: bool = False,
    progress: Progress | None = None,
    on_warning: Callable[[str], object] | None = None,
    protect: Sequence[str] | FileIndex = (),
    measure: bool,
    on_commit: Callable[..., object] | None = None,
) -> dict | None: ...  # measure=False: None


def run_file(
    make_plan: Callable,
    input_path: str,
    output: str = "-",
    *,
    read=None,
    write=None,
    run: RunOptions | None = None,
    input_format: str | None = None,
    report_path: str | None = None,
    reference: str | None = None,
    in_place: bool = False,
    progress: Progress | None = None,
    on_warning: Callable[[str], object] | None = None,
    protect: Sequence[str] | FileIndex = (),
    measure: bool = True,
    on_commit: Callable[..., object] | None = None,
) -> dict | None:
    """Filter one input file into ``output`` and return the report.

    Reads the file whole, or in chunks of ``run.chunk_size`` samples (plus a
    halo) with the same numbers when it is large (see :func:`should_stream`);
    stdin or a named FIFO is read once, and when it is longer than
    :data:`STREAM_THRESHOLD` (or chunks are asked for) spooled to a
    temporary file (bounded by the free space) and streamed from there.
    Either way the output and the report (``report_path``) are written
    atomically, or not at all.

    Parameters
    ----------
    make_plan : callable
        ``make_plan(u) -> (plan, extra)``, e.g. from :func:`planner`.
    input_path, output : str
        Files, or ``"-"`` for stdin / stdout (CSV unless ``write.format``).
    read : resdenoise.io.ReadOptions, optional
        Delimiter, decimal mark, header, time column, columns (also for
        ``reference``); by default all are found out.
    write : resdenoise.io.WriteOptions, optional
        Output format and subtype; by default from the name and the input.  Its
        ``parents`` makes the missing directories of the output and of the report
        as they are put in place (none if the run fails).
    run : RunOptions, optional
        Stability refusal, strictness, precision, chunks, threads.
    input_format : str, optional
        As :func:`resdenoise.io.read_signal` takes it.
    report_path : str, optional
        Where the JSON report goes (``"-"``: stdout, when ``output`` is a file).
    reference : str, optional
        A clean signal of the same shape: the report gets MSE, SNR and PSNR.
    in_place : bool
        Replace the input file with the output, atomically, as ``sed -i``
        does (``output`` ``"-"`` or the input itself): a new file renamed
        over it, with its owner, group and mode where the system allows;
        other hard links to the old file keep the old contents.  An input that
        changed during the run (appended to: another inode, size or time just
        before the rename) is not replaced (SignalError); nor, under ``run.strict``,
        one whose run failed a measured guarantee (GuaranteeError, ``kept``; the report,
        where asked, written with ``kept_input``).  Not strict, it is replaced, warned.
    progress : callable, optional
        ``progress(phase, done, total)`` while the file is checked and filtered.
    on_warning : callable, optional
        ``on_warning(message)`` for a run that is not sign stable, or an
        automatic search that found nothing better than the input (also
        the report's ``warnings``); default :func:`warnings.warn`.
    protect : sequence of str or FileIndex
        More files that neither ``output`` nor ``report_path`` may be (the
        other inputs of a batch; indexed once by the batch).  The input, ``reference`` and a network
        file (``make_plan.reads``) are protected anyway.
    measure : bool
        False when nothing reads the report (the command line under ``-q``
        without ``--report``, ``--json`` or ``--strict``): a file read whole
        is not measured after its run, a streamed one not chunk by chunk
        (nor read again for the report's noise level), and None is returned.
        The output is the same.  Not with ``report_path`` or ``run.strict``, which need
        the report (ParameterError).
    on_commit : callable, optional
        ``on_commit()`` once everything is ready, just before the output and the report
        are renamed into place (from then on they may exist): a batch's worker says so
        to its parent before it does that.  One whose attribute ``takes_report`` is true
        is called ``on_commit(report)`` instead, with what run_file returns (the report;
        None where ``measure`` is False), and may write outputs of its own that go with
        it (``learn --per-file``: its report on stdout, its network file); an error it
        raises writes nothing.  Not called where nothing is renamed (the output a
        device or stdout).

    Returns
    -------
    dict or None
        The report of :func:`resdenoise.filters.analyse_run`, plus ``input``,
        ``output``, ``clipped`` and, where they apply, ``quality``,
        ``carried_columns`` and ``streaming``; None when ``measure`` is False.

    Raises
    ------
    SignalError
        Input or output problems (exit code 1); nothing is written.
    ParameterError
        Bad or clashing parameters (2); nothing is written.
    UnstableError
        The plan is not L-infinity stable and not allowed (3); nothing is written.
    GuaranteeError
        Under ``run.strict``, a measured guarantee failed (4); written all the
        same (in place: not, the input kept, ``kept``), the report is the exception's
        ``report``.
    """
    import numpy as np

    from .filters import check_verdict
    from .io import PipeInput, ReadOptions, WriteOptions, check_output_path, is_pipe

    started = (time.time(), time.monotonic(), time.process_time())  # the report's job

    others = protect if isinstance(protect, FileIndex) else FileIndex(protect)
    reads = {} if reference is None else {reference: "reference"}
    reads.update(getattr(make_plan, "reads", {}))
    input_pipe = is_pipe(input_path)
    if input_pipe:  # a pipe is read once: it cannot be both
        for path, what in reads.items():
            refuse_pipe_twice(
                [input_path, path], f"give the {what} a file name", f"the input and the {what}"
            )
    check_paths(input_path, output, report_path, in_place, reads, others, input_format)
    read = ReadOptions() if read is None else read
    write = WriteOptions() if write is None else write
    run = RunOptions() if run is None else run
    if not measure and (report_path is not None or run.strict):
        raise ParameterError(
            "measure=False builds no report: not with report_path or strict",
            parameters=["measure"],
        )
    streamed = should_stream(input_path, run.chunk_size)
    if in_place:
        output = input_path
        held = HeldInput(input_path)  # opened once for its checks, closed as the run ends
        try:
            check_in_place(input_path, input_format, write.format, held)
            on_commit = unchanged_guard(input_path, held, on_commit)  # appended to: kept
        except BaseException:
            held.close()
            raise
    # An allowed unstable run may overflow: that is reported as a clean error
    # (non-finite output, nothing written), not as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"), contextlib.ExitStack() as stack:
        if in_place:
            stack.callback(held.close)
        check_output_path(output, write)
        if report_path is not None:  # its directory made (write.parents) as the output's
            check_output_path(report_path, write, signal=False)
        pipe = None
        if run.chunk_size != 0 and input_pipe:  # read once: streamed when long
            # read at the call, as should_stream reads it
            pipe = PipeInput(input_path, stream_choice.STREAM_THRESHOLD, input_format)
            stack.callback(pipe.close)
            if output == "-" and write.format is None:
                pipe.refuse_audio_on_a_terminal(input_format)
            streamed = streamed or pipe.more
        job = _FileJob(
            make_plan,
            input_path,
            output,
            input_format=input_format,
            report_path=report_path,
            read=read,
            write=write,
            run=run,
            reference=reference,
            on_plan=lambda plan, verdict, warn: check_verdict(
                plan, verdict, run.allow_unstable, warn
            ),
            progress=progress,
            pipe=pipe,
            on_warning=on_warning,
            measure=measure,
            on_commit=on_commit,
            started=started,
            in_place=in_place,
        )
        if streamed and not _lean(input_path, run.chunk_size, pipe, make_plan):
            _refuse_early(make_plan, input_path, run.chunk_size, pipe)
        try:
            report = _run(job, streamed)
        except WholeSignalNeeded as exc:
            if not streamed or not _lean(input_path, run.chunk_size, pipe, make_plan):
                raise exc.because(*_why_streamed(input_path, run.chunk_size, make_plan)) from None
            report = _run(job, False)  # streamed only to save memory: read it whole
    if run.strict:
        GuaranteeError.check_strict(report, input_path)
    return report


class _FileJob(NamedTuple):
    """One input as :func:`run_file` runs it, in memory or streamed (a named tuple:
    a tenth of a frozen dataclass's cost to define, at every start of the tool)."""

    make_plan: Callable
    input_path: str
    output: str
    input_format: str | None
    report_path: str | None
    read: object  # resdenoise.io.ReadOptions (io is imported when a file is run)
    write: object  # resdenoise.io.WriteOptions
    run: RunOptions
    reference: str | None
    on_plan: Callable
    progress: Progress | None
    on_warning: Callable[[str], object] | None = None
    pipe: object = None  # resdenoise.io.PipeInput: stdin or a FIFO, read once
    measure: bool = True  # False: nobody reads the report (run_file returns None)
    on_commit: Callable | None = None  # called before the renames (run_file's)
    started: tuple | None = None  # run_file's start: time(), monotonic(), process_time()
    in_place: bool = False  # the output replaces the input: only where the guarantees held


class _Whole:
    """The input read whole: the plan sees the samples, the run is one call."""

    def __init__(self, job: _FileJob):
        from .io import read_signal
        from .io.signal import check_reference

        self.job, self.read_as = job, None
        if job.pipe is not None:
            sig = job.pipe.read_whole(job.input_format, job.read)
        else:
            # a float32 run of a plan that takes only the noise level and span of the
            # samples: a file of 32-bit floats as stored (float32, the same values;
            # the run's input, no widened copy)
            stored = job.run.working_dtype(True) == "float32"
            stored = stored and getattr(job.make_plan, "level_only", False)
            stored = stored and not job.run.check_wavelet  # its reference: of float64
            self.read_as = _stat(job.input_path)  # the report's hash: of what is read
            sig = read_signal(job.input_path, job.input_format, job.read, stored=stored)
        self.sig = sig
        self.full_scale = FullScale(sig.subtype if job.measure else None)
        self.full_scale.note(sig.data)  # the filtered channels
        self.name, self.template = sig.source, sig
        self.carried = sig.carried_names if sig.carried else []
        self.clean = None
        if job.reference is not None:
            self.clean = read_signal(job.reference, None, job.read)
            rates = (self.clean.samplerate, sig.samplerate)
            check_reference(job.reference, self.clean.data.shape, sig.source, sig.data.shape, rates)
        self.subject = sig.data
        self.frames = sig.data.shape[0]
        stored32 = sig.subtype == "FLOAT"  # float32 values already: nothing to check
        self.dtype = job.run.working_dtype(stored32)
        if self.dtype == "float32" and not stored32:
            from .stability import check_float32

            check_float32(sig.source, *_extremes(sig.data))
        self.notes = _offset(
            job, self.dtype, sig.source, lambda: (sig.data.min(0), sig.data.max(0))
        )
        self.level = None  # the noise level read of the file's samples, once (read_level)

    def read_level(self):
        """:func:`resdenoise.noise.resolve_sigma` of the file's samples, read once, before
        the run (which may overwrite them): the level's warnings and the report share it."""
        if self.level is None:
            from .noise import resolve_sigma

            self.level = resolve_sigma(self.sig.data)
        return self.level

    def filter(self, plan, verdict, write) -> tuple[dict | None, dict | None, None]:
        from .filters import analyse_run, run_plan

        job = self.job
        dtype = self.dtype
        if plan.steps == 0 and plan.prestage is None:
            dtype = self.sig.data.dtype  # nothing to run: the output is the input, not rounded
        data = self.sig.data.astype(dtype, copy=False)  # run and measure in this precision
        callback = None
        if job.progress is not None:
            callback = lambda k, _u: job.progress("blocks", k, plan.steps)  # noqa: E731
        # The input measured before the run where that gives the report's numbers:
        # nobody reads it after the run, which then runs the blocks in it (no second
        # signal-sized array; the same numbers, see run_blocks' out).
        measured, level = self._measure_before(plan, verdict, data)
        # (a working copy in another precision is the run's own: the report measures
        # the file's values)
        fresh = data is not self.sig.data
        in_place = (fresh or not job.measure or measured is not None) and data.flags.writeable
        in_place = in_place and data.flags.c_contiguous
        out = run_plan(
            plan, data, callback, threads=job.run.threads, out=data if in_place else None
        )
        if out.dtype != data.dtype:  # blocks computed in float64 (several scales): the
            out = out.astype(data.dtype)  # run's precision, measured and reported as such
        out = _write_rows(write, out, self.sig.carried)  # the samples as the file holds them
        if not job.measure:
            return None, None, None  # nobody reads the report: nothing measured
        if level is None and plan.prestage is None:  # the warnings' reading, where made
            level = self.level
        # measured against the file's values (not the float32-rounded input)
        report = analyse_run(
            plan,
            None if measured is not None else self.sig.data,
            out,
            verdict,
            check_wavelet=job.run.check_wavelet,
            measured=measured,
            level=level,
            labels=self.template.channel_labels,  # the file's columns, where picked
        )
        quality = None
        if self.clean is not None:
            from .measure import compare_whole  # summed as a streamed run sums it

            quality = {
                "reference": self.clean.source,
                **compare_whole(self.sig.data, out, self.clean.data),
            }
        return report, quality, None

    def _measure_before(self, plan, verdict, data) -> tuple:
        """``(measured, level)`` of the input before the run (analyse_run's), or
        ``(None, None)``: where the run would overwrite the file's values and the
        report takes nothing else of them (a plain plan without pre-stage,
        reference or wavelet check, not ``regularise``), and where its sums
        surely need no scaling (L-infinity stable: the output stays within the
        input's range, far below four times it)."""
        from .filters import Plan

        job = self.job
        if not job.measure or data is not self.sig.data or not verdict.linf_stable:
            return None, None
        from .measure import measure_input  # not at start-up: a run under -q measures nothing

        if type(plan) is not Plan or plan.prestage is not None or plan.command == "regularise":
            return None, None
        if job.run.check_wavelet or self.clean is not None or plan.computed is not None:
            return None, None
        measured = measure_input(plan, data, data.dtype)
        # sum_scale is 1 up to four times the input's amplitude (4 x 4 n amp < 1e300;
        # written so, since 4 amp itself may overflow to inf, which sum_scale lets be)
        if not 16.0 * data.shape[0] * measured.amplitude < 1e300:
            return None, None
        return measured, self.read_level()


def _stat(path: str):
    """``os.stat(path)``, None where it fails (the reading says why)."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _extremes(data) -> tuple[float, float | None]:
    """The largest ``|sample|`` and the smallest nonzero one (None: all zero), taken
    :data:`WRITE_ROWS` rows at a time (no temporaries of the signal's size)."""
    import numpy as np

    top, tiniest = 0.0, None
    for a in range(0, data.shape[0], WRITE_ROWS):
        piece = np.abs(data[a : a + WRITE_ROWS])
        top = max(top, float(piece.max()))
        nonzero = piece[piece > 0]
        if nonzero.size:
            least = float(nonzero.min())
            tiniest = least if tiniest is None else min(tiniest, least)
    return top, tiniest


#: Rows per write of a signal read whole: each piece is converted to the file's sample
#: type on its own (no converted copy of the whole output; the same bytes).
WRITE_ROWS = 1 << 16


def _write_rows(write: Callable, out, carried: dict):
    """``write(rows, carried rows)`` over ``out`` in pieces of :data:`WRITE_ROWS` rows;
    the samples as the file holds them (``out`` itself unless the subtype clipped)."""
    import numpy as np

    held, same = [], True
    for a in range(0, out.shape[0], WRITE_ROWS):
        b = a + WRITE_ROWS
        piece = out[a:b]
        got = write(piece, {p: col[a:b] for p, col in carried.items()})
        same = same and got is piece
        held.append(got)
    return out if same else np.concatenate(held)


class _Streamed:
    """The input in chunks (:class:`resdenoise.stream.StreamedRun`): the plan
    sees a summary; stdin is spooled to a file first, for the passes."""

    def __init__(self, job: _FileJob):
        from .io import open_signal_stream
        from .io.read import stored_subtype
        from .io.signal import PCM_BITS, check_reference
        from .level_notes import Steps
        from .stream import StreamedRun

        self.job, self.read_as = job, None  # (no hash of a file streamed: a pass of its own)
        path, fmt, source = job.input_path, job.input_format, None
        if job.pipe is not None:  # stdin or a FIFO: spooled, for the passes
            path = job.pipe.spool()  # removed when the pipe is closed
            source, fmt = job.pipe.name, job.pipe.format(fmt)
        subtype = stored_subtype(path, fmt)
        self.dtype = job.run.working_dtype(job.run.dtype == "auto" and subtype == "FLOAT")
        self.run = StreamedRun(self.dtype, job.progress, report=job.measure)
        # an integer PCM file's samples at its rails: counted in the checking pass
        self.full_scale = FullScale(subtype if job.measure else None)
        self.steps = Steps(PCM_BITS.get(subtype or ""))  # the samples' step (_level_notes)

        def visit(block, scan=self.run.visit, notes=(self.full_scale.note, self.steps.add)):
            for note in notes:
                note(block)
            scan(block)

        try:
            # a plain WAV's 32-bit floats visited as stored (the same values, not widened)
            stream = open_signal_stream(
                path, fmt, job.read, visit=visit, source=source, stored=True,
                expect=self.run.expect, read_bytes=self.run.read_bytes,
            )  # fmt: skip
            self.name, self.template = stream.source, stream.template
            self.carried = stream.template.carried_names if stream.template.carried else []
            self.ref = None
            if job.reference is not None:
                self.ref = open_signal_stream(job.reference, None, job.read)
                rates = (self.ref.template.samplerate, stream.template.samplerate)
                check_reference(job.reference, self.ref.shape, stream.source, stream.shape, rates)
        except BaseException:  # the pass's thread ends with it (else waited for by start)
            self.run.stop_checking()  # (a refused reference too: its thread was left waiting)
            raise
        self.subject = self.run.start(stream)
        self.frames = stream.frames
        if self.dtype == "float32":
            from .stability import check_float32  # (the smallest in the run's chunks)

            check_float32(stream.source, self.subject.amplitude, None)
        extremes = self.subject.minimum, self.subject.maximum
        self.notes = _offset(job, self.dtype, stream.source, lambda: extremes)

    def filter(self, plan, verdict, write) -> tuple[dict, dict | None, dict]:
        from .io.prefetch import prefetched

        job = self.job
        return self.run.filter(
            plan,
            verdict,
            write,
            chunk=job.run.chunk_size or None,
            threads=job.run.threads,
            check_wavelet=job.run.check_wavelet,
            reference=self.ref,
            measure=self.job.measure,
            ahead=partial(prefetched, depth=1),  # chunks joined while the engine runs
            labels=self.template.channel_labels,  # the file's columns, where picked
        )


def _offset(job: _FileJob, dtype, name: str, extremes: Callable) -> list[str]:
    """The warning of a float32 run not asked for on samples far off 0 (a sensor's
    offset: :func:`resdenoise.stability.offset_note`; ``extremes()``: each channel's
    least and greatest sample), or none."""
    if dtype != "float32" or job.run.dtype != "auto":
        return []
    from .stability import offset_note

    note = offset_note(name, *extremes())
    return [] if note is None else [note]


def _level_notes(source, extra: dict) -> list[str]:
    """The warnings of the run's noise level: given implausibly, or read at the rounding
    noise of whole numbers (:func:`resdenoise.level_notes.level_notes`)."""
    from .io.signal import PCM_BITS
    from .level_notes import level_notes

    t, steps, read = source.template, None, None
    if isinstance(source, _Whole):
        read = lambda: source.read_level().sigma  # noqa: E731
    else:  # the steps of the checking pass (of the filtered channels where it saw more)
        steps = source.steps.steps()
        steps = [steps[p] for p in t.channel_positions] if len(steps) > t.channels else steps
    return level_notes(
        source.name, extra, source.subject, steps, PCM_BITS.get(t.subtype or ""), read
    )


def _levels_as_given(job: _FileJob, template) -> Callable:
    """``job.make_plan`` with levels given per channel (``sigma=(0.01, 0.05)``) paired
    with the columns in the order ``columns`` names them (ReadOptions.in_channel_order)."""
    sigma = getattr(job.make_plan, "sigma", None)
    if isinstance(sigma, tuple) and is_dataclass(job.make_plan):  # (the planners: frozen)
        if (paired := job.read.in_channel_order(sigma, template)) != sigma:
            return replace(job.make_plan, sigma=paired)
    return job.make_plan


def _as_written(quality: dict, writer, source) -> dict:
    """``quality`` (``--reference``'s, of the run's samples) with ``output_written``: the
    same numbers of the audio file as written (rounded to its PCM subtype, or encoded and
    decoded), where that differs from the run's samples and the reference is in memory
    (a file read whole); else ``quality`` as it is."""
    from .io.rounding import ENCODED_SUBTYPES, LOSSY_CODECS
    from .measure import compare_whole

    clean = getattr(source, "clean", None)
    lossy = writer.subtype in LOSSY_CODECS | ENCODED_SUBTYPES
    if clean is None or (writer.rounding() is None and not lossy):
        return quality
    decoded = writer.decoded()
    if decoded is None or decoded.shape[0] != clean.data.shape[0]:
        return quality
    written = compare_whole(source.sig.data, decoded, clean.data)["output"]
    return {**quality, "output_written": {"subtype": writer.subtype, **written}}


#: What an in-place run that did nothing says of its input (:func:`_same_file`).
UNCHANGED = (
    "left as it was: nothing done (no blocks, no pre-stage), so the file is not written "
    "again (a lossy file would be encoded a second time, and lose quality)"
)


def _same_file(plan, writer, template) -> bool:
    """Whether the output ``writer`` would write is the input's samples again in the
    input's own format and subtype (audio: ``template``'s): a plan of no blocks and no
    pre-stage (the output is the input, as :meth:`_Whole.filter` takes it).  An in-place
    run then leaves the file as it was."""
    if template.format == ZARR or plan.steps != 0 or plan.prestage is not None:
        return False
    same = writer.fmt == template.format and writer.subtype == template.subtype
    return template.format == "CSV" or same  # a CSV's cells are written back as read


def _run(job: _FileJob, streamed: bool) -> dict | None:
    """Read, plan, check, run and measure, then write output and report at once.

    The same steps whether the input is read whole or in chunks; the output
    and the report are written all or nothing (temporary files, then renames).
    Without ``job.measure``, nothing reads the report: None.
    """
    from .filters import emit_warning
    from .flux_checks import check_lams, probe_flux
    from .io import SignalWriter, write_files_atomic
    from .paths import check_carried_output, output_range_or_none

    source = (_Streamed if streamed else _Whole)(job)
    check_carried_output(job.output, job.write, source.template)  # before the search
    # the run's threads bound its automatic search too (a batch's one engine thread a file)
    with limit_threads(job.run.threads):
        # the do-no-harm reasons name a channel as the report does (a file's column)
        labels = source.template.channel_labels
        named = {"labels": labels} if labels and getattr(job.make_plan, "takes_labels", 0) else {}
        if job.progress is not None and getattr(job.make_plan, "takes_progress", False):
            named["progress"] = job.progress
        if getattr(job.make_plan, "takes_bounds", False):  # the output file's sample range
            named["bounds"] = output_range_or_none(job.output, source.template, job.write)
        try:
            plan, extra = _levels_as_given(job, source.template)(source.subject, **named)
        except SignalValuesError as exc:  # the samples' fault: the file's name says whose
            raise exc.of(source.name) from None
    # what the reader (a time column not equally spaced) and the automatic search say
    notes = [*source.template.notes, *source.notes, *_level_notes(source, extra)]
    notes += extra.pop("warnings", [])
    verdict = plan.verdict()
    held: list[str] = []  # a run not sign stable: said after the search's notes
    job.on_plan(plan, verdict, held.append)
    check_lams(plan, source.dtype, source.name, "lambda_rule" in extra)
    try:  # allowed unstable: the samples' refusal alone (or run halved), as the api's
        plan = probe_flux(plan, source.subject, source.dtype, job.run.allow_unstable)
    except SignalValuesError as exc:  # samples whose differences overflow: whose
        raise exc.of(source.name) from None
    # said once the plan is not refused (else the refusal is the one line)
    notes += held
    for message in notes:
        emit_warning(message, job.on_warning)
    with SignalWriter(job.output, source.template, job.write, source.frames) as writer:
        # the input left as it was (in place, nothing done): not encoded a second time
        unchanged = job.in_place and _same_file(plan, writer, source.template)
        said = (
            (f"{job.input_path}: {UNCHANGED}",)
            if unchanged
            else (writer.narrowing, writer.resized, writer.unkept)
        )
        # fewer bits; a WAV beyond 4 GiB written as RF64; speaker positions not held
        for line in filter(None, said):
            notes.append(line)
            emit_warning(line, job.on_warning)
        if writer.dropped:  # a CSV's time column, written as audio or Zarr: said
            left = ", ".join(repr(n) for n in writer.dropped)
            line = (
                f"{writer.name}: the time column {left} of {source.name} is not written "
                f"({writer.fmt} holds the filtered channels; write CSV to keep it)"
            )
            notes.append(line)
            emit_warning(line, job.on_warning)

        def write(data, carried):
            held = writer.write(data, carried)
            if writer.clipped and verdict.linf_stable:  # allowed unstable: counted
                raise writer.clipping_error()
            return held

        report, quality, streaming = source.filter(plan, verdict, write)
        if streamed and report is not None and plan.scale_checks is not None and plan.steps:
            from .report import scales_unmeasured  # the per-subsequence checks need it whole

            notes.append(scales_unmeasured(report, source.name))
            emit_warning(notes[-1], job.on_warning)
        outputs: list = [] if unchanged else [writer]
        if not job.measure:  # no report (run_file returns None)
            report = None
        else:
            from .report import finish_report, input_info, job_entry, overshoot, to_json

            encoded = None if unchanged else writer.encoded()  # a lossy or companding
            # output: the file's range
            if quality is not None and not unchanged:  # the SNR of the file as written too
                quality = _as_written(quality, writer, source)
            # warned where the input's encoding was kept, not asked for (review10: a lossy
            # format chosen is not warned of); the report has the range either way
            kept = encoded is not None and writer.subtype == source.template.subtype
            for line in overshoot(report, encoded, writer.name) if kept else []:
                notes.append(line)
                emit_warning(line, job.on_warning)
            finish_report(
                report,
                extra=extra,
                source=source.name if job.run.names is None else job.run.names[0],
                output=job.output if job.run.names is None else job.run.names[1],
                carried=[c for c in source.carried if c not in writer.dropped],
                dropped=writer.dropped,
                clipped=writer.clipped,
                rounding=writer.rounding(),
                encoded=encoded,
                input_info=input_info(source.template, source.frames, source.full_scale),
                output_info=writer.info(),
                channel_columns=source.template.channel_columns,
                quality=quality,
                streaming=streaming,
                warnings=notes,
            )
            report["job"] = job_entry(
                job.started, job.input_path, job.pipe is not None, source.read_as
            )
            if unchanged:
                report["unchanged_input"] = True
            if job.in_place and GuaranteeError.fails_strict(report):
                from .paths import failed_in_place

                line = failed_in_place(job.input_path, job.run.strict, report)
                if line is None:  # kept (strict): no output put in place, its temporary removed
                    outputs = []
                else:
                    emit_warning(line, job.on_warning)
            if job.report_path is not None:
                outputs.append((job.report_path, to_json(report).encode()))
        commit = job.on_commit
        if getattr(commit, "takes_report", False):  # on_commit(report): run_file's return
            commit = partial(commit, report)
        check = getattr(job.on_commit, "check", None)  # in place: before a report on stdout
        write_files_atomic(outputs, commit, job.write.parents, check)
    return report
