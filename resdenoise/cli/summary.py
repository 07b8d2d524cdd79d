"""``--summary FILE``: one JSON record of a run of the filtering commands, every INPUT
with what became of it, the batch's last line as numbers.

The per-file JSON (``--report``) exists only for a file that was written; a file that
failed was only a line on stderr.  The summary names each INPUT with its ``status``
(``written``; ``kept``: ``--in-place --strict`` left it as it was; ``failed``: no
output), its exit code, the one-line reason of a failure and its warnings, as printed;
then the counts of the last line (``3 files: 2 written, 1 failed``) and the run's exit
code.  It is written when the files have run (after a failure too), atomically, as any
output: never over a file the run reads, a link at its name replaced
(:func:`resdenoise.paths.check_summary_path`, before anything is read).
"""

from __future__ import annotations

#: the layout of the summary (its ``schema_version``); 1: this one
SUMMARY_SCHEMA = 1


class Summary:
    """The records of a run's files, in the order of its INPUTs, and where they go."""

    def __init__(self, path: str, command: str, count: int):
        self.path = path
        self.command = command
        self.files: list = [None] * count

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
        done = [f for f in self.files if f is not None]
        written = [f for f in done if f["status"] == "written"]
        return {
            "files": len(self.files),
            "written": len(written),
            "written_failed_strict": sum(f["exit_code"] == 4 for f in written),
            "failed": len(done) - len(written),
            "kept": sum(f["status"] == "kept" for f in done),
        }

    def write(self, exit_code: int, line: str | None) -> None:
        """Put the summary in place (``-``: stdout), ``exit_code`` the run's, ``line`` the
        last line as printed (None where none is: one INPUT)."""
        from ..io import write_files_atomic
        from ..report import stamped, to_json

        body = {
            "command": self.command,
            "exit_code": exit_code,
            "counts": self.counts(),
            "count_line": line,
            "files": self.files,
        }
        write_files_atomic([(self.path, to_json(stamped(body, SUMMARY_SCHEMA)).encode())])
