"""Several outputs put in place all or nothing: renamed under a lock, undone on a failure."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence

from ..errors import SignalError
from . import signals
from .atomic import (
    _make_directories,
    _set_mode,
    _temp_beside,
    _TempOutput,
    _write_error,
    _write_through,
    check_output_path,
)
from .options import WriteOptions
from .signal import STDIO


class _Staged(_TempOutput):
    """One output: a temporary file waiting to be renamed, or a direct write."""

    def __init__(self, path: str, payload: bytes, parents: bool = False):
        self.path = path
        self.payload = payload
        self.tmp: str | None = None
        self.parents = parents
        options = WriteOptions(parents=parents)
        self.target, self.direct = check_output_path(path, options, signal=False)
        if self.direct:  # stdout, /dev/stdout, /dev/full, a FIFO
            return
        fd, self.tmp = _temp_beside(path, self.target, parents)
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
        payload = self.payload
        _write_through(self.path, self.target, name, [payload], len(payload), self.parents)


def write_files_atomic(
    items: Sequence[tuple[str | os.PathLike, bytes] | _TempOutput],
    before_rename: Callable[[], object] | None = None,
    parents: bool = False,
    check: Callable[[], object] | None = None,
) -> None:
    """Write several outputs all or (as far as the system allows) nothing.

    Each file is first written in full to a temporary file beside it (an
    item is ``(path, payload)``, or a :class:`SignalWriter` that has written
    its temporary file already); then stdout and devices are written; only
    when all that worked are the temporary files renamed into place
    (``os.replace``).  On any failure the temporary files are removed and no
    target is touched.  ``"-"`` means stdout.  ``before_rename()`` is called just
    before the first rename (when there is one): from then on a target may be
    replaced.  ``parents``: the missing directories of the ``(path, payload)``
    items are made at their renames (``WriteOptions.parents``).  ``check()``, where some
    output is renamed, is called before anything is written to stdout or a device (an
    input replaced in place that changed meanwhile: nothing said written, the report on
    stdout included), as ``before_rename`` is again before the renames.

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
                staged.append(_Staged(os.fspath(path), payload, parents))
        if check is not None and not all(st.direct for st in staged):
            check()
        for st in staged:
            if st.direct:
                st.write_direct()
        if before_rename is not None and not all(st.direct for st in staged):
            before_rename()  # not deferred: a signal while it waits ends the run at once
        # the locks waited for undeferred (a signal meanwhile ends the run), then all the
        # renames, or a signal before them
        with _renames_locked(staged), signals.deferred():
            _rename_all([st for st in staged if not st.direct])
    finally:
        for st in staged:
            st.discard()


def _rename_all(moving: Sequence[_TempOutput]) -> None:
    """Rename each of ``moving`` into place; where one fails (on Windows: a target open in
    another program), the ones renamed before it are undone: each old target was kept
    aside as a hard link (``.NAME.*.old``; a target that was not there is removed again).
    What cannot be undone (a file system without hard links, a Zarr store) is named in
    the error.  One rename alone is atomic by itself: nothing is kept aside."""
    if len(moving) < 2:
        for st in moving:
            st.rename()
        return
    done: list = []  # (output, its old target aside: a path, None (none), False (not kept))
    try:
        for st in moving:
            aside = _keep_old(st)
            try:
                st.rename()
            except BaseException:
                _drop(aside)
                raise
            done.append((st, aside))
    except SignalError as exc:
        kept = _undo(done)
        done = []
        if kept:
            raise SignalError(f"{exc}; {', '.join(kept)} written already") from None
        raise
    finally:
        for _, aside in done:
            _drop(aside)


def _keep_old(st: _TempOutput) -> str | bool | None:
    """A hard link to ``st``'s target (a link itself: not followed) beside it, to put
    back should a later rename fail; None where there is no target, False where none
    can be made (no hard links there; a Zarr store, replaced as a tree)."""
    if st.tmp is None or os.path.isdir(st.tmp):
        return False
    if not os.path.lexists(st.target):
        return None
    aside = st.tmp[: -len(".tmp")] + ".old"
    try:
        os.link(st.target, aside, follow_symlinks=False)
    except (OSError, NotImplementedError):
        return False
    return aside


def _undo(done: list) -> list[str]:
    """Put back the old targets of ``done`` (renamed outputs, last first); the names of
    the outputs that could not be undone (their new contents stay in place)."""
    kept = []
    for st, aside in reversed(done):
        try:
            if aside is None:
                os.unlink(st.target)
            elif aside is False:
                kept.append(st.path)
                continue
            else:
                os.replace(aside, st.target)
            signals.unplaced(st.path)
        except OSError:  # the old contents stay aside, named
            kept.append(st.path + (f" (its old contents: {aside})" if aside else ""))
    return kept[::-1]


def _drop(aside) -> None:
    """Remove a kept-aside hard link (its file lives on under the target's name)."""
    if isinstance(aside, str):
        with contextlib.suppress(OSError):
            os.unlink(aside)


@contextlib.contextmanager
def _renames_locked(staged: Sequence[_TempOutput]):
    """Within: an exclusive ``flock`` held on every directory that two or more of the
    ``staged`` files are renamed into, so that two runs writing the same targets at once
    (an output and its report) do not interleave their renames: the one that renames
    last wins as a whole.  No file is made for it (the directory itself is locked);
    a single rename is atomic by itself and takes none.  The directories are locked in
    one order (by device and inode), so that two runs cannot wait for each other.  A
    directory that cannot be opened or locked (not readable, a file system without
    ``flock``) is renamed into unlocked.  An output whose ``parents`` is set has its
    missing directories made first (its rename would make them), a signal not splitting
    the making.  The waiting is not deferred: a signal meanwhile ends the run."""
    moving = [st for st in staged if not st.direct]
    held: dict = {}  # (device, inode) -> descriptor
    try:
        if len(moving) > 1:
            for st in moving:
                _open_directory(st, held)
            for key in sorted(held):
                _lock(held[key])
        yield
    finally:
        for fd in held.values():
            os.close(fd)  # the lock goes with the descriptor


def _open_directory(st: _TempOutput, held: dict) -> None:
    """Add the directory ``st`` is renamed into to ``held``, opened (once for each)."""
    directory = st.target.parent
    try:
        if st.parents:
            with signals.deferred():
                _make_directories(directory)
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # its rename says what is wrong, if anything
    info = os.fstat(fd)
    key = info.st_dev, info.st_ino
    if key in held:
        os.close(fd)
    else:
        held[key] = fd


def _lock(fd: int) -> None:
    """An exclusive ``flock`` on ``fd``, waited for (none where the system has none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a file system without flock (ENOLCK, EOPNOTSUPP): unlocked
        return


def write_bytes_atomic(target: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``target`` through a temporary file and a rename.

    Devices and pipes (``/dev/stdout``, a FIFO) are written directly.
    """
    write_files_atomic([(target, payload)])
