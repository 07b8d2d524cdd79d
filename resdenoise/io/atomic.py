"""Atomic file output: nothing is written to a target until everything is ready.

Each output is first written in full to a temporary file beside its target
(``.NAME.*.tmp``, given the target's mode), then renamed into place
(``os.replace``); stdout and devices are written through.  Holds
:func:`check_output_path`, :func:`write_files_atomic` (several outputs, all or
nothing), :func:`write_bytes_atomic` and :func:`spool_stdin` (stdin copied to
a file so that it can be read more than once).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import SignalError
from .options import WriteOptions
from .signal import STDIO, _check_subtype, _one_line, guess_format

#: Bytes copied at a time (stdin spooled, a staged output written through).
COPY_BYTES = 1 << 20


def check_output_path(
    path: str | os.PathLike, options: WriteOptions | None = None, *, signal: bool = True
) -> None:
    """Raise now if ``path`` clearly cannot be written (with ``options``).

    Catches a missing directory, a directory given as the file and, for a
    signal (``signal=True``; not for a report), an unknown format and a
    subtype the format cannot hold, before any work is done; write errors
    later are still reported.

    Raises
    ------
    SignalError, ParameterError
    """
    path = os.fspath(path)
    if signal:
        options = WriteOptions() if options is None else options
        fmt = "AUDIO" if path == STDIO and options.format is None else None  # the input's
        _check_subtype(path, fmt or guess_format(path, options.format), options.subtype)
    if path == STDIO:
        return
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise SignalError(f"{path}: is a directory; give an output file name")
    if target.exists() and not target.is_file():
        return  # a device or pipe: written through
    parent = target.parent
    if not parent.is_dir():
        shown = os.path.dirname(path) or "."
        raise SignalError(f"{path}: output directory {shown!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SignalError(f"{path}: cannot create files in {str(parent)!r} (permission denied)")


def _set_mode(tmp: str, target: Path) -> None:
    """Give a temporary file the owner, group and mode of the target it replaces
    (owner and group as far as the system allows), or the umask's mode."""
    if target.exists():
        st = target.stat()
        _set_owner(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, st.st_mode & 0o7777)  # after chown, which may clear set-id bits
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)


def _set_owner(tmp: str, uid: int, gid: int) -> None:
    """Owner and group (only root may give a file away), else the group alone, else none."""
    own = os.stat(tmp)
    if not hasattr(os, "chown") or (own.st_uid, own.st_gid) == (uid, gid):
        return
    for ids in ((uid, gid), (-1, gid)):
        try:
            os.chown(tmp, *ids)
            return
        except OSError:
            continue


def _write_error(name: str, exc: BaseException) -> SignalError:
    """``NAME: cannot write: REASON`` (an OSError, or a ValueError of a closed stream)."""
    return SignalError(f"{name}: cannot write: {_one_line(getattr(exc, 'strerror', None) or exc)}")


def _temp_beside(path: str, target: Path) -> tuple[int, str]:
    """A new temporary file ``.NAME.*.tmp`` beside ``target``: ``(fd, its path)``."""
    parent = target.parent
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise SignalError(
            f"{path}: cannot create a file in {str(parent)!r}: {_one_line(exc.strerror or exc)}"
        ) from None


def _write_through(path: str, target: Path | None, name: str, blocks) -> None:
    """Write byte ``blocks`` to stdout (``path`` ``"-"``) or straight to a device or pipe."""
    try:
        if path == STDIO:
            sys.stdout.flush()
            out = getattr(sys.stdout, "buffer", None)
            for block in blocks:
                if out is None:  # a text-only stream (some test harnesses)
                    sys.stdout.write(block.decode("utf-8", "replace"))
                else:
                    out.write(block)
            (out or sys.stdout).flush()
        else:
            with open(target, "wb") as dev:
                for block in blocks:
                    dev.write(block)
                dev.flush()
    except (OSError, ValueError) as exc:
        raise _write_error(name, exc) from None


class _TempOutput:
    """What every staged output shares: a temporary file ``tmp`` renamed onto ``target``."""

    path: str
    target: Path
    tmp: str | None = None

    def rename(self) -> None:
        try:
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise _write_error(self.path, exc) from None
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None


class _Staged(_TempOutput):
    """One output: a temporary file waiting to be renamed, or a direct write."""

    def __init__(self, path: str, payload: bytes):
        self.path = path
        self.payload = payload
        self.tmp: str | None = None
        self.direct = False
        if path == STDIO:
            self.direct = True
            return
        check_output_path(path, signal=False)
        self.target = Path(os.path.realpath(path))
        if self.target.exists() and not self.target.is_file():
            self.direct = True  # /dev/stdout, /dev/full, a FIFO
            return
        fd, self.tmp = _temp_beside(path, self.target)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            _set_mode(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise _write_error(path, exc) from None
        except BaseException:
            self.discard()
            raise

    def write_direct(self) -> None:
        name = "<stdout>" if self.path == STDIO else self.path
        _write_through(self.path, getattr(self, "target", None), name, [self.payload])


def write_files_atomic(items: Sequence[tuple[str | os.PathLike, bytes] | _TempOutput]) -> None:
    """Write several outputs all or (as far as the system allows) nothing.

    Each file is first written in full to a temporary file beside it (an
    item is ``(path, payload)``, or a :class:`SignalWriter` that has written
    its temporary file already); then stdout and devices are written; only
    when all that worked are the temporary files renamed into place
    (``os.replace``).  On any failure the temporary files are removed and no
    target is touched.  ``"-"`` means stdout.

    Raises
    ------
    SignalError
    """
    staged: list = []
    try:
        for item in items:
            if isinstance(item, _TempOutput):  # a SignalWriter
                staged.append(item)
                item.close()
            else:
                path, payload = item
                staged.append(_Staged(os.fspath(path), payload))
        for st in staged:
            if st.direct:
                st.write_direct()
        for st in staged:
            if not st.direct:
                st.rename()
    finally:
        for st in staged:
            st.discard()


def write_bytes_atomic(target: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``target`` through a temporary file and a rename.

    Devices and pipes (``/dev/stdout``, a FIFO) are written directly.
    """
    write_files_atomic([(target, payload)])


def spool_stdin(directory: str | None = None) -> str:
    """Copy stdin into a temporary file (in ``directory``) in blocks; return its path.

    The caller removes the file.  Lets a stream too large for memory be
    filtered in chunks like a file.
    """
    fd, path = tempfile.mkstemp(prefix=".resdenoise-stdin.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            src = getattr(sys.stdin, "buffer", None)
            while True:
                block = src.read(COPY_BYTES) if src is not None else sys.stdin.read(COPY_BYTES)
                if not block:
                    break
                out.write(block if isinstance(block, bytes) else block.encode("utf-8"))
    except (OSError, ValueError) as exc:
        os.unlink(path)
        raise SignalError(f"<stdin>: cannot read: {_one_line(exc)}") from None
    except BaseException:
        os.unlink(path)
        raise
    return path
