"""``--summary FILE``: one JSON record of a run of the filtering commands, every INPUT
with what became of it, the batch's last line as numbers.

The per-file JSON (``--report``) exists only for a file that was written; a file that
failed was only a line on stderr.  The summary names each INPUT with its ``status``
(``written``; ``kept``: ``--in-place --strict`` left it as it was; ``failed``: no
output; ``skipped``: not run, or cut short, when a signal stopped the run), its exit code, the one-line reason of a failure and its warnings, as printed;
then the counts of the last line (``3 files: 2 written, 1 failed``) and the run's exit
code.  It is written when the files have run (after a failure too) or a signal stopped
them (``stopped_by``: the signal; the files done by then as they ended), atomically, as any
output: never over a file the run reads, a link at its name replaced
(:func:`resdenoise.paths.check_summary_path`, before anything is read).
"""

from __future__ import annotations

#: the layout of the summary (its ``schema_version``); 1: this one
SUMMARY_SCHEMA = 1


class Summary:
    """The records of a run's files, in the order of its INPUTs, and where they go."""

    def __init__(self, path: str, command: str, inputs: list[str]):
        self.path = path
        self.command = command
        self.inputs = inputs
        self.files: list = [None] * len(inputs)

    def add(self, i: int, result, error: str | None, warnings: list[str]) -> None:
        """Record INPUT ``i``'s :class:`~resdenoise.batch_pool.FileResult`, the line its
        failure was said in (without ``Error:``) and its warnings (as printed)."""
        from ..report import name_bytes

        kept = getattr(result.error, "kept", False)
        entry = {
            "input": result.input,
            "status": "written" if result.written else "kept" if kept else "failed",
            "exit_code": result.exit_code,
            "output": result.output if result.written else None,
            "report": result.report_path if result.written else None,
            "error": error,
            "warnings": list(warnings),
        }
        for key in ("input", "output", "report"):
            name_bytes(entry, key)
        self.files[i] = entry

    def counts(self) -> dict:
        """The numbers of the batch's last line (:func:`resdenoise.cli.render.batch_count`):
        ``failed`` counts the ``kept`` ones, as the line does."""
        done = [f for f in self.files if f is not None and f["status"] != "skipped"]
        written = [f for f in done if f["status"] == "written"]
        return {
            "files": len(self.files),
            "written": len(written),
            "written_failed_strict": sum(f["exit_code"] == 4 for f in written),
            "failed": len(done) - len(written),
            "kept": sum(f["status"] == "kept" for f in done),
            "skipped": len(self.files) - len(done),
        }

    def write(self, exit_code: int, line: str | None, stopped_by: str | None = None) -> None:
        """Put the summary in place (``-``: stdout), ``exit_code`` the run's, ``line`` the
        last line as printed (None where none is: one INPUT, a run stopped by the signal
        ``stopped_by``, whose files not recorded are ``skipped``)."""
        from ..io import write_files_atomic
        from ..report import name_bytes, stamped, to_json

        for i, path in enumerate(self.inputs):
            if self.files[i] is None:
                entry = {"input": path, "status": "skipped", "exit_code": None}
                entry.update(output=None, report=None, error=None, warnings=[])
                name_bytes(entry, "input")
                self.files[i] = entry
        body = {
            "command": self.command,
            "exit_code": exit_code,
            "stopped_by": stopped_by,
            "counts": self.counts(),
            "count_line": line,
            "files": self.files,
        }
        write_files_atomic([(self.path, to_json(stamped(body, SUMMARY_SCHEMA)).encode())])
