"""Many files in one call: each filtered as :func:`resdenoise.pipeline.run_file` does.

:func:`run_batch` filters every input into one directory under its own
name, in up to ``jobs`` forked worker processes (one engine thread each),
and reports every file (:class:`FileResult`) without stopping at the first
failure.  Nothing here prints; progress and results go to callbacks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from .errors import GuaranteeError, Interrupted, ParameterError, ResdenoiseError, SignalError
from .io.signals import stopping
from .pipeline import FileIndex, RunOptions, run_file

__all__ = ["FileResult", "batch_target", "run_batch"]


@dataclass
class FileResult:
    """What became of one input of :func:`run_batch`.

    ``report`` is the run's report (None when it failed before writing);
    ``error`` the exception that failed it (None on success), with the
    exit code it maps to; ``warnings`` what :func:`run_file` warned about.
    """

    input: str
    output: str
    report_path: str | None = None
    report: dict | None = None
    error: ResdenoiseError | None = None
    warnings: list = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 on success, else the error's exit code (4: a guarantee failed under strict)."""
        return 0 if self.error is None else (self.error.exit_code or 1)


def _name(input_path: str) -> str:
    """The file name of an input (``stdin`` for ``-``)."""
    if input_path == "-":
        return "stdin"
    return os.path.basename(input_path.rstrip("/" + os.sep)) or input_path


def report_target(report_dir: str, input_path: str) -> str:
    """DIRECTORY/NAME.json: where an input's report goes in a report directory."""
    return os.path.join(report_dir, _name(input_path) + ".json")


def batch_target(directory: str, input_path: str, output_format: str | None = None) -> str:
    """DIRECTORY/NAME of an input; the extension follows ``output_format`` when given."""
    from .io import AUDIO_EXTENSIONS, guess_format

    name = _name(input_path)
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


def make_directory(path: str, what: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise SignalError(
            f"{path}: cannot create the {what} directory: {exc.strerror or exc}"
        ) from None


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
) -> list[FileResult]:
    """Filter each input into ``output_dir`` under its own name, as :func:`run_file` would.

    One file's failure does not stop the others.  With ``jobs`` > 1 (and
    where the system forks) up to that many files run at once in worker
    processes, each with one engine thread; the files and reports are the
    same as with ``jobs=1``.

    Parameters
    ----------
    make_plan : callable
        ``make_plan(u) -> (plan, extra)``, called once per file.
    input_paths : sequence of str
        Input files (not stdin).
    output_dir : str or None
        Receives one output per input (see :func:`batch_target`); made if
        missing.  None with ``in_place``: each input is replaced.
    report_dir : str, optional
        Receives ``INPUT-NAME.json`` for each input; made if missing.
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
        of input ``index``.
    on_done : callable, optional
        ``on_done(index, result)`` as each file finishes (in that order).
    read, write, input_format, reference, in_place
        As :func:`run_file` takes them, for every input.
    scheduler : str, optional
        The address of a Dask distributed scheduler (``tcp://host:8786``):
        the files run as tasks on its workers instead of local processes
        (``jobs`` is then unused).  The workers write the outputs and reports
        themselves, atomically, so they must see the same paths; a task whose
        worker is lost is run again by Dask.  Needs ``resdenoise[dask]``.

    Returns
    -------
    list of FileResult
        In the order of ``input_paths``.

    Raises
    ------
    ParameterError
        Stdin among the inputs, or two inputs that would be written to the
        same file; nothing is run.
    SignalError
        A directory cannot be created.
    """
    inputs = [os.fspath(p) for p in input_paths]
    if "-" in inputs:
        raise ParameterError("stdin ('-') cannot be one of several inputs; give file names")
    tasks, seen = [], {}
    if output_dir is None and not in_place:
        raise ParameterError("output_dir=None needs in_place=True (each input replaced)")
    fmt = write.format if write is not None else None
    for path in inputs:
        target = path if output_dir is None else batch_target(output_dir, path, fmt)
        if target in seen:
            raise ParameterError(
                f"{seen[target]} and {path} would both be written to {target}; "
                "rename one or filter them into separate directories"
            )
        seen[target] = path
        report = None if report_dir is None else report_target(report_dir, path)
        tasks.append((path, target, report))
    if output_dir is not None:
        make_directory(output_dir, "output")
    if report_dir is not None:
        make_directory(report_dir, "report")
    results: list = [None] * len(tasks)
    protect = FileIndex(inputs)  # once: each file's output checked against all in O(1)

    def one(i: int, file_progress) -> FileResult:
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
            )
        except Exception as exc:  # noqa: BLE001 - one file's bug must not stop the others
            signum = stopping()
            if signum is not None:  # raised on the way out of a signal: the run ends
                raise Interrupted(signum) from None
            if isinstance(exc, GuaranteeError):
                result.report, result.error = exc.report, exc
            elif isinstance(exc, ResdenoiseError):
                result.error = exc
            else:
                result.error = ResdenoiseError(f"internal error: {type(exc).__name__}: {exc}")
        return result

    def finished(i: int, result: FileResult) -> None:
        results[i] = result
        if on_done is not None:
            on_done(i, result)

    jobs = max(1, min(int(jobs), len(tasks), max_jobs()))
    run = RunOptions() if run is None else run
    if run.threads is None and (jobs > 1 or scheduler is not None):
        run = dataclasses.replace(run, threads=1)
    if scheduler is not None:
        from .dask import run_tasks

        placeholders = [FileResult(*t) for t in tasks]
        for i, result in run_tasks(scheduler, [partial(one, i, None) for i in range(len(tasks))]):
            if isinstance(result, BaseException):
                result, placeholders[i].error = (
                    placeholders[i],
                    ResdenoiseError(
                        f"the cluster could not run this file: {type(result).__name__}: {result}"
                    ),
                )
            finished(i, result)
    elif jobs == 1 or not hasattr(os, "fork"):
        for i in range(len(tasks)):
            file_progress = None
            if progress is not None:

                def file_progress(phase, done, total, i=i):
                    progress(i, phase, done, total)

            finished(i, one(i, file_progress))
    else:
        _run_forked(
            [lambda p, i=i: one(i, p) for i in range(len(tasks))],
            jobs,
            finished,
            progress,
            [FileResult(*t) for t in tasks],
        )
    return results


def max_jobs() -> int:
    """The most files :func:`run_batch` filters at once: the cores this process may use
    (more processes than cores only compete for them)."""
    from .engine import usable_cores

    return usable_cores()


def _run_forked(jobs_list, jobs: int, finished, progress, placeholders) -> None:
    """Run ``job(progress)`` callables in ``jobs`` forked worker processes.

    The workers start once and are fed file after file (an index into
    ``jobs_list``, which they inherit), so a file costs its run, not a
    process: its imports, caches and page faults are paid once per worker.
    Each worker sends its progress and its :class:`FileResult` through a
    pipe; a worker that dies without one (killed, out of memory) fails its
    file (``placeholders[i]``) with exit code 1 and is replaced while files
    remain; a result that does not pickle fails only its file.  Workers end
    with the parent: when this returns by an exception (a signal), they are
    stopped and waited for; a worker whose parent died gets SIGTERM (Linux).
    A signal ends a worker at once, its temporaries removed
    (:func:`resdenoise.io.signals.exit_on_signal`), whether or not the
    parent handles signals.
    """
    running: dict = {}
    try:
        _forked_loop(jobs_list, jobs, finished, progress, placeholders, running)
    finally:
        for proc, *_ in running.values():
            if proc.is_alive():
                proc.terminate()  # the worker cleans up as the parent does: SIGTERM
        for conn, (proc, *_) in running.items():
            proc.join(WORKER_GRACE)
            if proc.is_alive():  # pragma: no cover - a worker deaf to SIGTERM
                proc.kill()
                proc.join()
            conn.close()


#: Seconds a stopped worker has to remove its temporary file before it is killed.
WORKER_GRACE = 30.0


#: Files sent to a worker ahead of the one it runs: it takes its next file from its pipe
#: as soon as it is done, without waiting for the parent to be scheduled.
AHEAD = 1


def _forked_loop(jobs_list, jobs: int, finished, progress, placeholders, running) -> None:
    """``running``: {connection: [worker process, indices of its files in order, stopped]}.

    A worker is sent its file and :data:`AHEAD` more; each result it sends back is
    answered by the next file (or None, once: stop).  A worker that dies fails the file
    it was running; the files it had not started go back to the queue."""
    import multiprocessing as mp
    from collections import deque
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    queue = deque(range(len(jobs_list)))
    parent = os.getpid()

    def feed(conn) -> None:  # the worker's next file, or None once none is left: stop
        entry = running[conn]
        if queue:
            entry[1].append(queue.popleft())
            message = entry[1][-1]
        elif not entry[2]:
            entry[2], message = True, None
        else:
            return
        try:
            conn.send(message)
        except OSError:  # the worker died meanwhile: its end is read below (EOF)
            pass

    while queue or running:
        while queue and len(running) < jobs:
            ours, theirs = ctx.Pipe()
            args = (jobs_list, theirs, parent, progress is not None)
            proc = ctx.Process(target=_worker, args=args, daemon=True)
            proc.start()
            theirs.close()
            running[ours] = [proc, deque(), False]
            for _ in range(1 + AHEAD):
                feed(ours)
        for conn in wait(list(running)):
            proc, files, _ = running[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):  # the worker ended: stopped, or died
                del running[conn]
                conn.close()
                proc.join()
                if files:
                    i = files.popleft()
                    queue.extendleft(reversed(files))  # not started: another worker's
                    result = placeholders[i]
                    result.error = ResdenoiseError(
                        f"the worker process died (exit code {proc.exitcode})"
                    )
                    finished(i, result)
                continue
            i = files[0]
            if kind == "progress":
                if progress is not None:
                    progress(i, *payload)
                continue
            files.popleft()
            if not isinstance(payload, FileResult):  # the worker's last words on the file
                result, result.error = placeholders[i], ResdenoiseError(payload)
                payload = result
            feed(conn)
            finished(i, payload)


def _die_with(parent: int) -> None:  # pragma: no cover - runs in a forked child
    """SIGTERM to this process when its parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before that
        os._exit(128 + signal.SIGTERM)


def _worker(jobs_list, conn, parent: int, shown: bool) -> None:  # pragma: no cover - a child
    """Run the files the parent sends (indices into ``jobs_list``) until it sends None;
    their progress goes to the parent only where it is ``shown`` (else, as with one
    job, the runs get no progress callback and send nothing but their results)."""
    import time

    from .io.signals import exit_on_signal

    exit_on_signal()  # a signal: its temporaries removed, it ends at once (no unwinding)
    _die_with(parent)
    last = [0.0]

    def progress(phase, done, total):
        now = time.monotonic()
        if now - last[0] > 0.1 or (total is not None and done >= total):
            last[0] = now
            conn.send(("progress", (phase, done, total)))

    try:
        while (i := conn.recv()) is not None:
            try:
                result = jobs_list[i](progress if shown else None)
                conn.send(("done", result))
            except Exception as exc:  # noqa: BLE001 - also a result that does not pickle
                conn.send(("done", f"internal error: {type(exc).__name__}: {exc}"))
    except EOFError:  # the parent closed the pipe: it is gone
        pass
    conn.close()
