"""Many files in one call: each filtered as :func:`resdenoise.pipeline.run_file` does.

:func:`run_batch` filters every input into one directory under its own
name, up to ``jobs`` at once (this process and forked workers, one engine thread each),
and reports every file (:class:`FileResult`) without stopping at the first
failure.  Nothing here prints; progress and results go to callbacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import stat
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .batch_pool import FileResult, _run_forked
from .errors import (
    GuaranteeError,
    Interrupted,
    OutOfMemory,
    ParameterError,
    ResdenoiseError,
    SignalError,
)
from .io.atomic import first_existing, write_refusal
from .io.signals import deferred_from, placed, remove_temporaries, stopping
from .paths import check_batch_paths, refuse_pipe_twice
from .pipeline import FileIndex, RunOptions, run_file

__all__ = ["FileResult", "batch_target", "run_batch"]


def _name(input_path: str) -> str:
    """The file name of an input (``stdin`` for ``-``)."""
    if input_path == "-":
        return "stdin"
    return os.path.basename(input_path.rstrip("/" + os.sep)) or input_path


#: Spellings of an input that name a file descriptor, not a file: their base names
#: (``63``, ``stdin``) say nothing of the input, and the next such run has the same one.
_DESCRIPTOR = re.compile(r"/(dev/(stdin|fd/\d+)|proc/(self|thread-self|\d+)/fd/\d+)")


def nameless(input_path: str) -> bool:
    """Whether an input has no name of its own to write under a directory: stdin (``-``),
    ``/dev/stdin``, ``/dev/fd/N`` (a process substitution ``<(...)``), ``/proc/*/fd/N``."""
    if input_path == "-":
        return True
    return _DESCRIPTOR.fullmatch(os.path.normpath(input_path)) is not None


def refuse_nameless(
    input_paths: Sequence[str],
    output_dir: str | None,
    report_dir: str | None,
    output_format: str | None = None,
    names: tuple[str, str] = ("output_dir", "report_dir"),
) -> None:
    """ParameterError for an input that cannot be written under ``output_dir`` (or
    ``report_dir``) as a run on it alone would write it: a :func:`nameless` one (a made-up
    ``DIR/63`` or ``DIR/stdin.json`` would be replaced by the next such run), or, under
    ``output_dir`` without an ``output_format``, a named pipe without an extension (its
    format is sniffed from its bytes, which its output's name, CSV without an extension,
    would not keep).  ``names``: how the message names the two directories."""
    from .io import is_pipe

    for path in input_paths:
        shown = "stdin ('-')" if path == "-" else repr(path)
        for where, name, stdout in ((output_dir, names[0], True), (report_dir, names[1], False)):
            if where is not None and nameless(path):
                raise ParameterError(
                    f"{shown} has no name to write under {name} {where} (a file there is "
                    f"named after its input); give {name} a file name"
                    + (" (or '-' for stdout)" if stdout else ""),
                    parameters=[name, name],
                )
        ext = os.path.splitext(_name(path))[1]
        if output_dir is not None and output_format is None and not ext and is_pipe(path):
            raise ParameterError(
                f"the pipe {path!r} has no extension to name its output under {names[0]} "
                f"{output_dir} (it would be written as CSV whatever it holds); give "
                f"output_format (wav, csv, ...), or name the pipe with its extension",
                parameters=[names[0], "output_format"],
            )


def report_target(report_dir: str, input_path: str) -> str:
    """DIRECTORY/NAME.json: where an input's report goes in a report directory."""
    return os.path.join(report_dir, _name(input_path) + ".json")


def batch_target(directory: str, input_path: str, output_format: str | None = None) -> str:
    """DIRECTORY/NAME of an input; the extension follows ``output_format`` when given."""
    from .io import AUDIO_EXTENSIONS, guess_format

    name = _name(input_path)
    if output_format and output_format.strip().lower().lstrip(".") == "opus":
        return os.path.join(directory, os.path.splitext(name)[0] + ".opus")  # not OGG's .ogg
    if output_format:
        fmt = guess_format(name, output_format)
        if fmt != "AUDIO":
            stem, ext = os.path.splitext(name)
            try:
                same = guess_format(name) == fmt
            except ResdenoiseError:
                same = False
            if not same:
                exts = {v: k for k, v in reversed(list(AUDIO_EXTENSIONS.items()))}
                name = stem + (".csv" if fmt == "CSV" else exts.get(fmt, "." + fmt.lower()))
    return os.path.join(directory, name)


def check_directory(path: str, what: str) -> None:
    """SignalError now if the directory ``path`` is not one and cannot be made (a file
    in its place or in the way above it, or the nearest directory above closed).
    Nothing is made here: the outputs make it as they are put in place
    (``WriteOptions.parents``), so that a run that writes nothing leaves nothing, and
    two runs (or workers) making it at once both succeed."""
    stripped = path.rstrip("/" + os.sep) or path
    head = first_existing(os.path.join(stripped, ""))  # as os.makedirs walks up
    below = head != stripped  # missing: made below head
    reason = None
    if not os.path.isdir(head):  # a file, or a dangling link
        reason = "Not a directory" if below else "File exists"
    elif below:
        reason = write_refusal(head)
    if reason is not None:
        raise SignalError(f"{path}: cannot create the {what} directory: {reason}")


def run_batch(
    make_plan: Callable,
    input_paths: Sequence[str],
    output_dir: str | None,
    *,
    report_dir: str | None = None,
    jobs: int = 1,
    run: RunOptions | None = None,
    read=None,
    write=None,
    input_format: str | None = None,
    reference: str | None = None,
    in_place: bool = False,
    scheduler: str | None = None,
    progress: Callable[[int, str, int, int | None], object] | None = None,
    on_done: Callable[[int, FileResult], object] | None = None,
    measure: bool = True,
) -> list[FileResult]:
    """Filter each input into ``output_dir`` under its own name, as :func:`run_file` would.

    One file's failure does not stop the others.  With ``jobs`` > 1 (and
    where the system forks) up to that many files run at once, in this
    process and ``jobs - 1`` forked workers, each with one engine thread;
    the files and reports are the same as with ``jobs=1``.  A worker killed
    (out of memory, a crash) fails its file alone; a file that kills this
    process (as with ``jobs=1``) ends the whole batch, its workers with it,
    with no result for the files still running or left.

    Parameters
    ----------
    make_plan : callable
        ``make_plan(u) -> (plan, extra)``, called once per file.
    input_paths : sequence of str
        Input files (not stdin).
    output_dir : str or None
        Receives one output per input (see :func:`batch_target`); made, with
        its missing parents, by the first output put in place there (never if
        none is: :func:`check_directory`).  None with ``in_place``: each input
        is replaced.
    report_dir : str, optional
        Receives ``INPUT-NAME.json`` for each input; made as ``output_dir``.
    jobs : int
        Files filtered at once.
    run : RunOptions, optional
        As :func:`run_file` takes it.  Under ``run.strict`` a failed
        guarantee fails the file (:class:`GuaranteeError`, exit code 4),
        written all the same.  ``run.threads`` defaults to one engine thread
        per file when several run at once (the files already share the
        cores), else to the engine's default.
    progress : callable, optional
        ``progress(index, phase, done, total)``: :func:`run_file`'s progress
        of input ``index``.  With ``jobs`` > 1 a worker's progress arrives in bursts
        (while this process is between two of its blocks); a ``progress`` whose
        attribute ``takes_time`` is true gets ``at=`` the :func:`time.monotonic`
        time the worker told it (rates and ETAs of the worker's time, not of the burst).
        A ``progress`` with an attribute ``file_done`` gets ``file_done(index)`` as each
        file's result is read: with ``jobs`` > 1 a worker's as soon as this process reads
        it, also in the middle of a file of its own (``on_done`` waits until it is between
        two), so that a count of files done follows the workers.
    on_done : callable, optional
        ``on_done(index, result)`` as each file finishes; with ``jobs`` > 1, a
        worker's file once this process is between two files of its own, in the
        order this process read the results: one of its own files goes before a
        worker's result still unread in the worker's pipe, even one that finished
        earlier.  An ``on_done`` whose attribute ``consumes`` is true is the last to read
        each file's report and warnings: once it has, the returned :class:`FileResult`
        keeps its input, output, report path and error (the exit code, whether written: a
        batch's last line), not its report or warnings (5-8 kB a file, which a batch of a
        million files would hold to its end).
    measure : bool
        False when nobody reads the reports (the command line under ``-q``
        without ``--report`` or ``--strict``): the files are not measured
        after their runs (as :func:`run_file` with ``measure=False``) and
        every :attr:`FileResult.report` is None; the outputs are the same.
        Not with ``report_dir`` or ``run.strict`` (ParameterError).
    read, write, input_format, reference, in_place
        As :func:`run_file` takes them, for every input.
    scheduler : str, optional
        The address of a Dask distributed scheduler (``tcp://host:8786``):
        the files run as tasks on its workers instead of local processes
        (``jobs`` is then unused).  The workers write the outputs and reports
        themselves, atomically, so they must see the same paths (made absolute
        here; a worker that does not see an input as this machine does fails it);
        a task whose worker is lost is run again by Dask; stopped by a signal, the
        batch cancels its tasks, and none puts anything in place after that.
        Needs ``resdenoise[dask]``.

    Returns
    -------
    list of FileResult
        In the order of ``input_paths``.

    Raises
    ------
    ParameterError
        Stdin among the inputs, a ``reference`` that is a pipe (stdin or a
        FIFO: read once) with several inputs, two inputs whose outputs or reports
        would be written to the same file, two inputs that are one file under
        ``in_place``, or ``measure=False`` with a report asked for; nothing is run.
    SignalError
        A directory cannot be created (a file in the way, a closed directory above).
    """
    inputs = [os.fspath(p) for p in input_paths]
    refuse_stdin(inputs)
    refuse_nameless(inputs, output_dir, report_dir, write.format if write is not None else None)
    if reference is not None and len(inputs) > 1:
        from .io import is_pipe

        if is_pipe(reference):  # each file reads it: the first would empty it
            name = "stdin ('-')" if reference == "-" else f"the pipe {reference}"
            raise ParameterError(
                f"{name} is read once, and each file of a batch reads its reference; "
                "give the reference a file name"
            )
    if not measure and (report_dir is not None or (run is not None and run.strict)):
        raise ParameterError(
            "measure=False builds no report: not with report_dir or strict",
            parameters=["measure"],
        )
    if output_dir is None and not in_place:
        raise ParameterError("output_dir=None needs in_place=True (each input replaced)")
    fmt = write.format if write is not None else None
    outputs = inputs if output_dir is None else [batch_target(output_dir, p, fmt) for p in inputs]
    reports = [None if report_dir is None else report_target(report_dir, p) for p in inputs]
    tasks = list(zip(inputs, outputs, reports, strict=True))
    protect = FileIndex(inputs)  # once: each file's output checked against all in O(1)
    check_batch_paths(tasks, in_place, index=protect)  # each file once, each place once
    for directory, what in ((output_dir, "output"), (report_dir, "report")):
        if directory is not None:  # made by the first output put in it, not before
            check_directory(directory, what)
    if output_dir is not None or report_dir is not None:
        from .io import WriteOptions

        write = dataclasses.replace(write or WriteOptions(), parents=True)
    results: list = [None] * len(tasks)

    def one(i: int, file_progress, on_commit=None) -> FileResult:
        path, target, report = tasks[i]
        result = FileResult(path, target, report)
        try:
            result.report = run_file(
                make_plan,
                path,
                target,
                report_path=report,
                run=run,
                read=read,
                write=write,
                input_format=input_format,
                reference=reference,
                in_place=in_place,
                progress=file_progress,
                on_warning=result.warnings.append,
                protect=protect,
                measure=measure,
                on_commit=on_commit,
            )
        except Exception as exc:  # noqa: BLE001 - one file's bug must not stop the others
            signum = stopping()
            if signum is not None:  # raised on the way out of a signal: the run ends
                raise Interrupted(signum) from None
            _failed(result, exc)
        return result

    def finished(i: int, result: FileResult) -> None:
        results[i] = result
        if result.written:  # a worker's file too: a signal's message names it
            placed(result.output, result.report_path)
        if on_done is not None:
            on_done(i, result)
        if getattr(on_done, "consumes", False):  # read: the last line needs the counts
            results[i] = _summary(result)

    jobs = max(1, min(int(jobs), len(tasks), max_jobs()))
    run = RunOptions() if run is None else run
    if run.threads is None and (jobs > 1 or scheduler is not None):
        run = dataclasses.replace(run, threads=1)
    if scheduler is not None:
        shared = _Remote(make_plan, run, read, write, input_format, reference, in_place, measure)
        # closed as an exception (a signal's) leaves: the cluster's tasks stopped, and the
        # files they had put in place told (placed) before the signal's message is made
        with contextlib.closing(_run_remote(scheduler, shared, tasks)) as remote:
            for i, result in remote:
                finished(i, result)
    elif jobs == 1 or not hasattr(os, "fork"):
        for i in range(len(tasks)):
            file_progress = None
            if progress is not None:

                def file_progress(phase, done, total, i=i):
                    progress(i, phase, done, total)

            with deferred_from() as on_commit:  # renamed: a signal waits until it is reported
                finished(i, one(i, file_progress, on_commit))
    else:
        _preload(inputs, input_format)
        _run_forked(
            [lambda p, c=None, i=i: one(i, p, c) for i in range(len(tasks))],
            jobs,
            finished,
            progress,
            [FileResult(*t) for t in tasks],
        )
    return results


class _Remote(NamedTuple):
    """What every file of a batch on a cluster shares, sent to the scheduler once
    (:func:`resdenoise.dask.run_tasks`), with the paths made absolute on the client."""

    make_plan: Callable
    run: RunOptions
    read: object
    write: object
    input_format: str | None
    reference: str | None
    in_place: bool
    measure: bool
    protect: FileIndex | None = None
    seen_reference: tuple | None = None


def _run_remote(scheduler: str, shared: _Remote, tasks: list):
    """``(index, FileResult)`` of each file of a batch, run on the cluster at ``scheduler``.

    Every path is made absolute here (a worker resolves a relative one in its own working
    directory: another file, or none), and each input is sent with what this machine sees
    of it (:func:`_seen`), which the worker checks (:func:`_remote_file`).  A file put in
    place by a worker that this machine does not see fails (written elsewhere)."""
    from .dask import run_tasks

    reference = None if shared.reference is None else _absolute(shared.reference)
    absolute = [tuple(None if p is None else _absolute(p) for p in task) for task in tasks]
    protect = FileIndex([path for path, _, _ in absolute])  # by the names the workers see
    shared = shared._replace(
        reference=reference,
        protect=protect,
        seen_reference=None if reference is None else _seen(reference),
    )
    arguments = [  # the client's spelling where the report would name another
        (path, target, report, _seen(path), _names(given, path, target))
        for given, (path, target, report) in zip(tasks, absolute, strict=True)
    ]
    import time

    # what is at each output and report before any task runs: a file whose result the
    # scheduler took with it is looked for there (_placed_before_gone)
    before = (time.time_ns(), [tuple(_identity(p) for p in paths[1:]) for paths in absolute])
    results = run_tasks(
        scheduler,
        _remote_file,
        shared,
        arguments,
        written=_written,
        on_stop=functools.partial(_placed_as_given, _given_names(tasks, absolute)),
        cleanup=remove_temporaries,
    )
    with contextlib.closing(results):
        yield from _results(results, tasks, absolute, (before, shared.run.strict))


def _results(results, tasks: list, absolute: list, gone: tuple):
    """:func:`_run_remote`'s results, the failures of the cluster as the files'; ``gone``:
    what :func:`_placed_before_gone` compares with, and whether the run is strict."""
    from .dask import SchedulerGone

    placeholders = [FileResult(*t) for t in tasks]
    for i, result in results:
        if isinstance(result, SchedulerGone):  # its worker may have put it in place
            result = _placed_before_gone(placeholders[i], result, absolute[i], gone, i)
        elif isinstance(result, ResdenoiseError):  # the cluster's own word (no worker)
            placeholders[i].error, result = result, placeholders[i]
        elif isinstance(result, BaseException):
            placeholders[i].error = ResdenoiseError(
                f"the cluster could not run this file: {type(result).__name__}: {result}"
            )
            result = placeholders[i]
        else:  # the paths as given, as a local batch reports them
            result.input, result.output, result.report_path = tasks[i]
            if result.error is not None:
                _as_given(result.error, tasks[i][0], absolute[i][0])
            if result.written:
                _check_seen_here(result, absolute[i])
        yield i, result


def _identity(path: str | None) -> tuple | None:
    """What is at ``path`` (device, inode, size, modification time in ns), None: nothing."""
    if path is None:
        return None
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _placed_before_gone(
    result: FileResult, gone, paths: tuple, looked: tuple, i: int
) -> FileResult:
    """A file whose result the scheduler took with it (``gone``, a
    :class:`resdenoise.dask.SchedulerGone`): written where each of its
    output and report (``paths[1:]``, absolute) is there now, and is not what was there
    before the batch (``looked``: the batch's start in ns and every file's
    :func:`_identity` then; whether strict) nor older than the batch: a worker put it in
    place just before the scheduler went.  Its report is read back for its verdict (a
    strict failure fails it as the run would have).  Else the file failed, saying what is
    in place of it."""
    (started, before), strict = looked
    ours = [  # each path named: something there, not what was before, not older than the batch
        after is not None and after != then and after[3] >= started - _CLOCK
        for path, after, then in zip(paths[1:], map(_identity, paths[1:]), before[i], strict=True)
        if path is not None
    ]
    if not all(ours):
        what = "only a part of it is in place" if any(ours) else "its output is not in place"
        result.error = SignalError(f"{gone}; {what}: run the file again")
        return result
    what = "its output and report are" if result.report_path is not None else "its output is"
    result.warnings.append(
        f"written just before the Dask scheduler at {gone.address} went away: its result did "
        f"not come back, but {what} in place, put there after the batch began"
    )
    if result.report_path is not None:  # its verdict, as the worker's report says it
        import json  # (here: a run of one file loads no more than it uses)

        try:
            with open(paths[2], "rb") as f:
                result.report = json.load(f)
            if strict:
                GuaranteeError.check_strict(result.report, result.input)
        except (OSError, ValueError):
            result.report = None
        except GuaranteeError as exc:
            _failed(result, exc)
    return result


def _as_given(error: BaseException, given: str, path: str) -> None:
    """A worker's error that names the file first by its absolute ``path``, named as the
    client gave it (as a local batch's error, and its line, name it)."""
    message = str(error)
    if given != path and len(error.args) == 1 and message.startswith(path + ":"):
        error.args = (given + message[len(path) :],)


def _absolute(path: str) -> str:
    """``path`` as every machine names it: absolute (a Zarr store's trailing ``/`` kept)."""
    tail = "/" if path.endswith("/") and len(path) > 1 else ""
    return os.path.abspath(path) + tail


def _names(given: tuple, path: str, target: str) -> tuple | None:
    """The input and output as the client gave them (a report names them so, as a local
    batch's does), where they are not ``path`` and ``target`` (absolute) already."""
    return None if given[:2] == (path, target) else given[:2]


def _seen(path: str) -> tuple | None:
    """What this machine sees of the file ``path``: (size, modification time in ns),
    None for what is no regular file (a Zarr store, a pipe) or cannot be read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


#: Modification times within this many ns are one (file systems keep them to 1 s, 2 s)
_CLOCK = 2 * 10**9


def _check_as_seen(path: str, seen: tuple | None) -> None:
    """SignalError where this machine (a worker) does not see ``path`` as the client did."""
    if seen is None:
        return
    now = _seen(path)
    if now is None or now[0] != seen[0] or abs(now[1] - seen[1]) > _CLOCK:
        import socket

        what = "no such file" if now is None else "another file there (size or time differ)"
        raise SignalError(
            f"{path}: the Dask worker on {socket.gethostname()} does not see this file as "
            f"the client does ({what}); the workers need the files on a shared file system, "
            "at the same path"
        )


def _check_seen_here(result: FileResult, paths: tuple) -> None:
    """Fail a worker's written file whose output or report this machine does not see."""
    for path in paths[1:]:
        if path is not None and not os.path.lexists(path):
            result.error = SignalError(
                f"{path}: written by a Dask worker but not seen here: the workers need a "
                "shared file system, at the same path"
            )
            return


def _written(result: FileResult) -> tuple:
    """The paths a worker's file put in place."""
    return tuple(p for p in (result.output, result.report_path) if p) if result.written else ()


def _given_names(tasks: list, absolute: list) -> dict:
    """Each output's and report's absolute path (as a worker names it) -> as given."""
    names: dict = {}
    for task, paths in zip(tasks, absolute, strict=True):
        names.update((a, g) for g, a in zip(task[1:], paths[1:], strict=True) if a is not None)
    return names


def _placed_as_given(given: dict, paths) -> None:
    """What a stopped batch's tasks had put in place, named as the client gave it (so
    that the signal's line names each output once, as its verdict line did)."""
    placed(*(given.get(p, p) for p in paths))


def _remote_file(
    shared: _Remote, path, target, report, seen, names=None, on_commit=None, progress=None
) -> FileResult:
    """One file of a batch on a cluster, on a worker (:func:`run_batch`'s ``one``)."""
    result = FileResult(path, target, report)
    run = shared.run if names is None else dataclasses.replace(shared.run, names=names)
    try:
        _check_as_seen(path, seen)
        if shared.reference is not None:
            _check_as_seen(shared.reference, shared.seen_reference)
        result.report = run_file(
            shared.make_plan,
            path,
            target,
            report_path=report,
            run=run,
            read=shared.read,
            write=shared.write,
            input_format=shared.input_format,
            reference=shared.reference,
            in_place=shared.in_place,
            on_warning=result.warnings.append,
            progress=progress,
            protect=() if shared.protect is None else shared.protect,
            measure=shared.measure,
            on_commit=on_commit,
        )
    except Exception as exc:  # noqa: BLE001 - one file's bug must not stop the others
        _failed(result, exc)
    return result


def _failed(result: FileResult, exc: Exception) -> None:
    """The file's result after ``exc``: its error (and a failed guarantee's report)."""
    if isinstance(exc, GuaranteeError):
        result.report, result.error = exc.report, exc
    elif isinstance(exc, ResdenoiseError):
        result.error = exc
    elif isinstance(exc, MemoryError):  # the environment's limit, not a bug
        result.error = OutOfMemory.of(exc)
    else:
        result.error = ResdenoiseError(f"internal error: {type(exc).__name__}: {exc}")


def _summary(result: FileResult) -> FileResult:
    """``result`` without its report and warnings (a :class:`GuaranteeError`'s report too)."""
    error = result.error
    if isinstance(error, GuaranteeError) and error.report is not None:
        error = GuaranteeError(*error.args, kept=error.kept)  # a new instance, as said
    return FileResult(result.input, result.output, result.report_path, error=error)


def refuse_stdin(inputs: Sequence[str]) -> None:
    """ParameterError when stdin (``-``) is among a batch's inputs (files only), or one
    pipe is named twice (``/dev/stdin /dev/fd/0``: read once)."""
    if "-" in inputs:
        raise ParameterError("stdin ('-') cannot be one of several inputs; give file names")
    refuse_pipe_twice(inputs, "give file names")


def max_jobs() -> int:
    """The most files :func:`run_batch` filters at once: the cores this process may use
    (more processes than cores only compete for them)."""
    from .engine import usable_cores

    return usable_cores()


def _preload(inputs: Sequence[str], input_format: str | None) -> None:
    """Import, before the workers are forked, what each one's first run would
    import again: the filters, the compiled loops and, for audio, soundfile.
    The workers share those pages then instead of each paying for them (200
    one-second WAVs: a worker's first file 26 -> 10 ms of CPU and 2980 -> 1850
    page faults).  The parent's start-up grows by about what one worker saves."""
    from . import filters  # noqa: F401
    from .io import guess_format

    with contextlib.suppress(ImportError):  # the compiled loops, where they were built
        from . import _kernels  # noqa: F401

    def audio(path: str) -> bool:  # as the reader will tell (a bad name: its run says so)
        try:
            return guess_format(path, input_format) not in ("CSV", "ZARR")
        except ResdenoiseError:
            return False

    if any(audio(p) for p in inputs):
        import soundfile  # noqa: F401
