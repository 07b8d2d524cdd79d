"""Atomic file output: nothing is written to a target until everything is ready.

Each output is first written in full to a temporary file beside its target
(``.NAME.*.tmp``, given the target's mode; with ``WriteOptions.parents``, in the
nearest directory that exists above a missing one), then renamed into place
(``os.replace``); stdout and devices are written through (a name of an open
descriptor, ``/dev/stderr``, ``/dev/fd/N``, through that descriptor: never
truncated).  A Zarr store (a directory) is written into a temporary directory
beside its target; at
the rename an existing target (a store, or a link: replaced, not followed)
is first moved aside, then removed.  Holds
:func:`check_output_path`, the temporary files and their renames, the writes
through stdout and devices, and :func:`spool_stdin` (stdin copied to a file so
that it can be read more than once); :mod:`resdenoise.io.renames` puts several
outputs in place all or nothing (:func:`write_files_atomic`,
:func:`write_bytes_atomic`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from ..errors import PipeClosed, SignalError, one_line
from . import signals
from .checked import write_reason
from .options import WriteOptions
from .signal import STDIO, ZARR, _check_subtype, guess_format, refuse_empty_name

#: Bytes copied at a time (stdin spooled, a staged output written through).
COPY_BYTES = 1 << 20


def is_stdout(path) -> bool:
    """``-``, or a path that opens the file stdout is (``/dev/stdout``, ``/dev/fd/1``)."""
    if path == "-":
        return True
    if path is None:
        return False
    try:
        st, out = os.stat(path), os.fstat(1)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino)


def stdout_in_kind(path: str) -> bool:
    """Whether an output ``path`` is written as stdout (``-``) is: in the input's own
    format.  ``-``, and a name of stdout without an extension (``/dev/stdout``,
    ``/dev/fd/1``): ``-o /dev/stdout`` wrote a WAV input as CSV where ``-o -`` kept WAV;
    a name with an extension is written as that says."""
    return path == STDIO or (not os.path.splitext(path)[1] and is_stdout(path))


def check_output_path(
    path: str | os.PathLike, options: WriteOptions | None = None, *, signal: bool = True
) -> tuple[Path | None, bool]:
    """Raise now if ``path`` clearly cannot be written (with ``options``); else
    return its :func:`output_target` ``(target, direct)`` (``(None, True)`` for stdout).

    Catches a missing directory (one that ``options.parents`` would make: a
    file in its way, or a closed directory above it), a directory given as the
    file and, for a signal (``signal=True``; not for a report), an unknown
    format and a subtype the format cannot hold, before any work is done;
    write errors later are still reported.

    Raises
    ------
    SignalError, ParameterError
    """
    path = os.fspath(path)
    refuse_empty_name(path, "output")
    store = False
    options = WriteOptions() if options is None else options
    if signal:
        fmt = "AUDIO" if options.format is None and stdout_in_kind(path) else None  # the input's
        fmt = fmt or guess_format(path, options.format, output=True)
        _check_subtype(path, "CSV" if fmt == ZARR else fmt, options.subtype)  # no subtypes
        store = fmt == ZARR
    if store and path == STDIO:
        raise SignalError("<stdout>: a Zarr store is a directory; give it a name ending in .zarr")
    if path == STDIO:
        refuse_closed_stdout("<stdout>")  # before any work, not after it
        return None, True
    target, direct = output_target(path)
    if store:
        return _check_store_target(path, target, direct, options.parents), False
    if direct:
        return target, direct  # a device or pipe: written through
    try:
        is_dir = stat.S_ISDIR(os.stat(target).st_mode)
    except PermissionError:
        closed = next(
            (p for p in reversed(target.parents) if os.path.isdir(p) and not os.access(p, os.X_OK)),
            target.parent,
        )  # the directory that cannot be searched, not the one below it (unseen)
        raise SignalError(f"{path}: cannot look into {str(closed)!r} (permission denied)") from None
    except OSError:
        is_dir = False
    if is_dir:
        raise SignalError(f"{path}: is a directory; give an output file name")
    _check_parent(path, target, options.parents)
    return target, direct


def staging_dir(target: Path, parents: bool) -> Path:
    """Where the temporary file of ``target`` is written: beside it, or, with ``parents``
    where its directory is yet to be made, in the nearest directory above that exists
    (on the file system the new one will be on, so that the rename works)."""
    return Path(first_existing(str(target))) if parents else target.parent


def first_existing(path: str) -> str:
    """The nearest of ``path``'s directories that exists, or is a link (dangling too),
    walking up the path as given, links not followed: where ``os.makedirs`` would start."""
    head = os.path.dirname(path)
    while head and not os.path.lexists(head) and head != os.path.dirname(head):
        head = os.path.dirname(head)
    return head or os.curdir


def _check_parent(path: str, target: Path, parents: bool) -> None:
    """Refuse a target whose directory is missing (unless ``parents`` make it) or closed;
    with ``parents``, also one below a file or a dangling link, as ``mkdir -p`` does
    (``target``, resolved, would make the link's missing target instead)."""
    parent = staging_dir(target, parents)
    if not os.path.isdir(parent) or (parents and not os.path.isdir(first_existing(path))):
        shown = os.path.dirname(path) or "."
        if parents:  # a file (or a dangling link) where a directory would be made
            raise SignalError(f"{path}: cannot create the directory {shown!r}: Not a directory")
        if os.path.exists(parent):  # there, but a file (or a device): not a missing one
            raise SignalError(f"{path}: {shown!r} is a file, not a directory; give another path")
        raise SignalError(f"{path}: output directory {shown!r} does not exist")
    refusal = write_refusal(parent)
    if refusal is not None:
        raise SignalError(f"{path}: cannot create files in {str(parent)!r} ({refusal.lower()})")


def write_refusal(directory: str | os.PathLike) -> str | None:
    """Why no file can be made in ``directory`` (``os.strerror``'s words), or None if one
    can: ``Read-only file system`` when it is on a read-only mount (where ``os.access``
    fails too, and a chmod would not help), else ``Permission denied``."""
    if os.access(directory, os.W_OK | os.X_OK):
        return None
    try:
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        read_only = False
    return os.strerror(errno.EROFS if read_only else errno.EACCES)


def _check_store_target(path: str, target: Path, direct: bool, parents: bool) -> Path:
    """Refuse a target a new Zarr store cannot replace: a device, a directory that
    is not the store of one array (a group, foreign files: they would be lost), a
    missing or closed parent."""
    from .zarr_store import is_store, replace_refusal

    if direct and not os.path.islink(target):
        raise SignalError(f"{path}: a Zarr store is a directory; it cannot go to a device or pipe")
    if os.path.isdir(target) and not os.path.islink(target) and os.listdir(target):
        if not is_store(target):  # (an empty directory: nothing to lose)
            raise SignalError(
                f"{path}: is a directory but not a Zarr store; give a new name (its files "
                "would be replaced)"
            )
        refusal = replace_refusal(target)
        if refusal is not None:
            raise SignalError(
                f"{path}: {refusal}; give a new name, or move it away (all of it would be replaced)"
            )
    _check_parent(path, target, parents)
    return target


#: Output names under these directories are devices, written through (never a
#: temporary beside them): /dev/stdout, /dev/fd/N, /proc/self/fd/N.
_DEVICE_DIRS = ("/dev/", "/proc/")


def output_target(path: str) -> tuple[Path, bool]:
    """Where an output named ``path`` goes: ``(target, direct)``.

    ``target`` is ``path`` with its directory resolved and its last name
    kept: a symlink there is *replaced* by the renamed temporary, never
    followed.  ``direct`` is True for a device or pipe (anything existing
    that is not a regular file or a link to one, and every name under
    ``/dev`` and ``/proc``): such an output is opened and written through.
    """
    path = os.fspath(path)
    absolute = absolute_path(path)
    target = Path(resolved(absolute))
    if absolute.startswith(_DEVICE_DIRS) or str(target).startswith(_DEVICE_DIRS):
        return Path(absolute), True
    try:
        st = os.stat(target)  # through a link: what a write would reach
    except OSError:
        return target, False
    if stat.S_ISDIR(st.st_mode) and not os.path.islink(target):
        return target, False  # refused by check_output_path
    return target, not (stat.S_ISREG(st.st_mode) or os.path.islink(target))


def absolute_path(path: str) -> str:
    """``os.path.abspath(path)``; a relative ``path`` where the current directory was
    removed is a SignalError naming it (``os.getcwd`` fails: nothing relative can be
    found, nor written)."""
    try:
        return os.path.abspath(path)
    except FileNotFoundError:
        raise SignalError(
            f"{path}: the current directory no longer exists (it was removed), so a relative "
            "name cannot be used; cd to a directory that exists, or give an absolute path"
        ) from None


def resolved(path: str) -> str:
    """Where a write to ``path`` lands: its directory resolved, the last name kept
    (a link there is replaced, not followed); a relative ``path`` in a removed current
    directory: SignalError (:func:`absolute_path`)."""
    head, name = os.path.split(absolute_path(path))
    return os.path.join(os.path.realpath(head), name)


def _set_mode(tmp: str, target: Path) -> None:
    """Give a temporary file the owner, group and mode of the target it replaces
    (owner and group as far as the system allows), or the umask's mode."""
    try:
        st = target.stat()
    except OSError:  # a new file
        umask = os.umask(0)
        os.umask(umask)
        chmod_tolerant(tmp, 0o666 & ~umask)
        return
    _set_owner(tmp, st.st_uid, st.st_gid)
    chmod_tolerant(tmp, st.st_mode & 0o7777)  # after chown, which may clear set-id bits
    _copy_xattrs(target, tmp)


def _copy_xattrs(target: Path, tmp: str) -> None:
    """Give the temporary the extended attributes of the file it replaces (tags such as
    ``user.xdg.tags``, an ACL's ``system.posix_acl_access``), as far as the system lets
    them be read and set (none where Python has no ``os.listxattr``: macOS, Windows)."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(target)
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.setxattr(tmp, name, os.getxattr(target, name))


def chmod_tolerant(path: str, mode: int) -> None:
    """``os.chmod``, a failure ignored: a file system without Unix modes (FAT and exFAT
    refuse a change with EPERM, FUSE ones with ENOSYS; SMB shares, WSL's Windows drives)
    gives its files the mount's mode whatever is asked, and the output is written all
    the same (as ``cp`` writes it).  The temporary keeps ``mkstemp``'s 0600 there: never
    more open than asked."""
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


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
    return SignalError(f"{name}: cannot write: {write_reason(exc)}")


def _mkstemp(prefix: str, directory) -> tuple[int, str]:
    """``tempfile.mkstemp``, the file registered for removal should a signal end the run."""
    with signals.deferred():
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
        signals.track(tmp)
    return fd, tmp


#: What :func:`tempfile.mkstemp` adds to a temporary's prefix: 8 random characters, ``.tmp``.
_TEMP_TAIL = 8 + len(".tmp")


def _temp_prefix(name: str, directory) -> str:
    """The prefix of a temporary beside the file ``name`` in ``directory``: ``.NAME.``,
    or, where that name would be longer than the directory's longest (a legal ``name``
    of 242 to 255 bytes, with ``NAME_MAX`` 255), ``.NAM~.``: ``name`` cut to fit (whole
    characters), still hidden and recognisable.  A ``name`` too long itself is kept:
    making the temporary says so, before any work is done."""
    prefix = f".{name}."
    size = len(os.fsencode(prefix)) + _TEMP_TAIL
    if size <= 143:  # the shortest NAME_MAX of a common file system (eCryptfs)
        return prefix
    try:
        longest = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # AttributeError: no pathconf (Windows)
        longest = 255
    if size <= longest or len(os.fsencode(name)) > longest:
        return prefix
    cut = len(name)
    while cut > 1 and len(os.fsencode(f".{name[:cut]}~.")) + _TEMP_TAIL > longest:
        cut -= 1
    return f".{name[:cut]}~."


def remove_temporary(path: str | None) -> None:
    """Remove a temporary file or directory of this module (gone already: nothing to do)."""
    if path is None:
        return
    signals.remove(path)
    signals.untrack(path)


def temp_dir_beside(path: str, target: Path, parents: bool = False) -> str:
    """A new temporary directory ``.NAME.*.tmp`` beside ``target`` (for a Zarr store;
    :func:`staging_dir`; a long NAME cut: :func:`_temp_prefix`)."""
    parent = staging_dir(target, parents)
    try:
        with signals.deferred():
            prefix = _temp_prefix(target.name, parent)
            tmp = tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent)
            signals.track(tmp)
    except OSError as exc:
        raise SignalError(
            f"{path}: cannot create a directory in {str(parent)!r}: {one_line(exc.strerror or exc)}"
        ) from None
    return tmp


def _replace_tree(tmp: str, target: Path) -> None:
    """Rename the directory ``tmp`` onto ``target``; what was there (a store, a file,
    a link, never followed) is moved aside first and removed once ``tmp`` is in place."""
    aside = None
    if os.path.lexists(target):
        aside = tmp[: -len(".tmp")] + ".old"
        signals.track(aside, fresh=False)  # the old output: never removed by a parent
        os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except OSError:
        if aside is not None:
            os.rename(aside, target)
            signals.untrack(aside)
        raise
    remove_temporary(aside)


def _temp_beside(path: str, target: Path, parents: bool = False) -> tuple[int, str]:
    """A new temporary file ``.NAME.*.tmp`` beside ``target`` (:func:`staging_dir`; a long
    NAME cut: :func:`_temp_prefix`): ``(fd, its path)``."""
    parent = staging_dir(target, parents)
    try:
        return _mkstemp(_temp_prefix(target.name, parent), parent)
    except OSError as exc:
        raise SignalError(
            f"{path}: cannot create a file in {str(parent)!r}: {one_line(exc.strerror or exc)}"
        ) from None


def _write_all(stream, block: bytes) -> None:
    """Write all of ``block``: a buffered write that a signal interrupts (the reader of a
    pipe gone, SIGPIPE, which Python ignores) returns the bytes written so far, and the
    rest would be dropped without an error (CPython 3.11: 64 KiB of 768 written, exit 0);
    writing the rest then fails as it should (EPIPE).  A non-blocking descriptor that is
    full (some parents hand one over) is waited for, as a blocking one is
    (:func:`_wait_writable`): the run failed there, its output cut at 64 KiB."""
    view = memoryview(block)
    while view:
        try:
            done = stream.write(view)
        except BlockingIOError as exc:  # full: what it took, then wait for the reader
            view = view[exc.characters_written :]
            if not _wait_writable(stream):
                raise
            continue
        if not done:
            if _wait_writable(stream):
                continue
            raise OSError(errno.EIO, "nothing written")  # blocking: no progress to wait for
        view = view[done:]


def _flush_all(stream) -> None:
    """``stream.flush()``, waiting where its descriptor is non-blocking and full."""
    while True:
        try:
            stream.flush()
            return
        except BlockingIOError:
            if not _wait_writable(stream):
                raise


def _wait_writable(stream) -> bool:
    """Wait until ``stream``'s descriptor takes bytes again, where it is non-blocking;
    False (nothing to wait for) where it blocks or has no descriptor."""
    try:
        fd = stream.fileno()
        if os.get_blocking(fd):
            return False
    except (AttributeError, OSError, ValueError):
        return False
    wait_writable(fd)
    return True


def wait_writable(fd: int) -> None:
    """Wait until descriptor ``fd`` (a full non-blocking pipe) takes bytes again."""
    import select  # not at start-up: only a full non-blocking pipe waits

    select.select([], [fd], [])


def stdin_source():
    """stdin's byte stream; SignalError where the program started with stdin closed
    (``<&-``: Python's ``sys.stdin`` is None)."""
    if sys.stdin is None:
        raise SignalError("<stdin>: cannot read: stdin is closed; give an input file")
    return getattr(sys.stdin, "buffer", None) or sys.stdin


class ClosedStdout(io.TextIOBase):
    """``sys.stdout`` of a program started with stdout closed (``>&-``), where Python's
    is None: a write to it is an error (a SignalError, exit 1), not lost in silence,
    whoever writes (a table, ``--version``, ``--json``, the signal)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        refuse_closed_stdout("<stdout>")
        return 0


def refuse_closed_stdout(name: str) -> None:
    """SignalError where the program started with stdout closed (``>&-``): ``name`` (the
    output's, as messages show it) cannot be written."""
    if sys.stdout is None or isinstance(sys.stdout, ClosedStdout):
        raise SignalError(f"{name}: cannot write: stdout is closed")


def _write_through(
    path: str, target: Path | None, name: str, blocks, total: int, parents=False
) -> None:
    """Write byte ``blocks`` (``total`` bytes) to stdout (``path`` ``"-"``) or straight to
    a device or pipe (:class:`~resdenoise.errors.PipeClosed`: its reader closed it);
    ``parents``: the target's missing directories are made just before it is opened (a
    new one under ``/dev/shm``, say, where there is no rename to make them).  A signal
    before the last byte says how many were sent (:func:`signals.sending`)."""
    if path == STDIO:  # started with stdout closed (>&-)?
        refuse_closed_stdout(name)
    with write_errors(name, ValueError):  # ValueError: a closed stream
        if path == STDIO:
            _flush_all(sys.stdout)
            out = getattr(sys.stdout, "buffer", None)
            _send(path, blocks, total, out or sys.stdout, text=out is None)
        else:
            if parents and not os.path.isdir(target.parent):
                _make_directories(target.parent)
            with _open_through(target) as dev:
                _send(path, blocks, total, dev)
    signals.placed(path)  # written: a signal's message says so


def _send(path: str, blocks, total: int, out, text: bool = False) -> None:
    """Write ``blocks`` to the stream ``out`` (``text``: a text-only stdout, as some test
    harnesses have), counting the bytes sent for a signal."""
    sent = 0
    signals.sending(path, sent, total)
    for block in blocks:
        if text:
            out.write(block.decode("utf-8", "replace"))
            continue
        view = memoryview(block)
        for at in range(0, len(view), _PIECE):  # the count within a pipe's capacity
            piece = view[at : at + _PIECE]
            _write_all(out, piece)
            sent += len(piece)
            signals.sending(path, sent, total)
    _flush_all(out)


#: The bytes sent to stdout or a pipe between two counts (:func:`_send`): a pipe's capacity.
_PIECE = 1 << 16


#: Names of a descriptor this process has open: /dev/stdout, /dev/fd/N, /proc/self/fd/N.
_FD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def _fd_dirs() -> tuple[str, ...]:
    """The directories naming this process's descriptors, ``/proc/PID/fd/`` with the pid
    of now: a forked batch worker's own, not its parent's (taken at import)."""
    return ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/")


def open_descriptor(target) -> int | None:
    """The descriptor of this process that the device name ``target`` names
    (``/dev/stdout``: 1, ``/dev/fd/N``, ``/proc/self/fd/N``, ``/proc/PID/fd/N`` with this
    process's pid: N), if it is open; else None."""
    name = str(target)
    fd = _FD_NAMES.get(name)
    for head in _fd_dirs():
        if fd is None and name.startswith(head) and name[len(head) :].isdigit():
            fd = int(name[len(head) :])
    if fd is None:
        return None
    try:
        os.fstat(fd)
    except OSError:  # not open here: the name is opened as it is
        return None
    return fd


def _open_through(target: Path):
    """A device or pipe ``target`` opened for writing.  A name of a descriptor this
    process has open (:func:`open_descriptor`; ``-o /dev/stdout``, ``--report
    /dev/stderr``) is written through a duplicate of it, at its offset and with its
    flags: reopened by name (O_TRUNC), a file the shell opened with ``>>`` (a CI log,
    a Makefile's concatenation) lost what it held and the output landed at offset 0."""
    fd = open_descriptor(target)
    if fd is None:
        return open(target, "wb")
    for stream in (sys.stdout, sys.stderr):  # what was printed before goes first
        with contextlib.suppress(AttributeError, OSError, ValueError):
            if stream.fileno() == fd:
                stream.flush()
    return os.fdopen(os.dup(fd), "wb")


@contextlib.contextmanager
def write_errors(name: str, *also: type[Exception]):
    """Within: an OSError (or one of ``also``) is a failed write of ``name`` (stdout as
    ``<stdout>``, a device): SignalError ``NAME: cannot write: REASON`` (a full disk: No
    space left on device), and its reader gone, :class:`~resdenoise.errors.PipeClosed`,
    as for every output; the program's own errors pass.  Around a table drawn on stdout
    (by rich, which raises what the stream raised)."""
    try:
        yield
    except SignalError:
        raise
    except BrokenPipeError:
        raise PipeClosed(f"{name}: cannot write: the reader closed the pipe") from None
    except (OSError, *also) as exc:
        raise _write_error(name, exc) from None


class _TempOutput:
    """What every staged output shares: a temporary file ``tmp`` renamed onto ``target``."""

    path: str
    target: Path
    tmp: str | None = None
    parents = False  # make the target's missing directories as it is put in place

    def rename(self) -> None:
        try:
            with signals.deferred():
                if self.parents:  # only now: a run that writes nothing makes none
                    _make_directories(self.target.parent)
                if os.path.isdir(self.tmp):  # a Zarr store
                    _replace_tree(self.tmp, self.target)
                else:
                    os.replace(self.tmp, self.target)
                signals.untrack(self.tmp)
                signals.placed(self.path)  # in place: a signal's message says so
                self.tmp = None
        except OSError as exc:
            self.discard()
            raise _write_error(self.path, exc) from None

    def discard(self) -> None:
        remove_temporary(self.tmp)
        self.tmp = None


def _make_directories(directory) -> None:
    """Make ``directory`` and its missing parents (another run making them at once: fine)."""
    os.makedirs(directory, exist_ok=True)


#: A spool stops while this much space is still free in its directory.
SPOOL_RESERVE = 64 << 20


def _free_bytes(directory: str, written: int) -> int:
    """Bytes free in ``directory`` (``written``: what the spool holds so far)."""
    return shutil.disk_usage(directory).free


def temporary_directory(name: str, what: str, remedy: str = "") -> str:
    """:func:`tempfile.gettempdir`; a :class:`SignalError` naming ``name`` (what needs it,
    ``what`` for) and TMPDIR where no candidate directory is writable (a container's
    read-only root file system with nothing mounted on /tmp)."""
    try:
        # the first call makes and removes a probe file in the directory: not split by a signal
        with signals.deferred():
            return tempfile.gettempdir()
    except OSError:  # FileNotFoundError: "No usable temporary directory found in [...]"
        raise SignalError(
            f"{name}: no writable temporary directory {what} (TMPDIR, /tmp, /var/tmp, "
            "/usr/tmp and the working directory are not writable); set TMPDIR to a "
            "writable directory" + (f", {remedy}" if remedy else "")
        ) from None


def spool_stdin(
    directory: str | None = None, *, head: bytes = b"", source=None, name: str = "<stdin>"
) -> str:
    """Copy stdin (or the binary file ``source``) into a temporary file in blocks.

    ``head`` is what was read of it already.  Returns the file's path; the
    caller removes it (:func:`remove_temporary`).  Lets a stream too large
    for memory be filtered in chunks like a file.  The copy stops with an
    error before it leaves less than :data:`SPOOL_RESERVE` bytes free in
    ``directory`` (default: the temporary directory, ``TMPDIR``).

    Raises
    ------
    SignalError
        The stream cannot be read, or it does not fit.
    """
    if directory is None:
        directory = temporary_directory(name, "to spool the stream", "or give a file")
    try:
        fd, path = _mkstemp(".resdenoise-stdin.", directory)
    except OSError as exc:
        raise SignalError(
            f"{name}: cannot spool the stream in {directory!r}: {one_line(exc)}; set TMPDIR "
            "to a writable directory, or give a file"
        ) from None
    if source is None:
        source = stdin_source()
    try:
        with os.fdopen(fd, "wb") as out:
            block, written = head or source.read(COPY_BYTES), 0
            while block:
                if _free_bytes(directory, written) - len(block) < SPOOL_RESERVE:
                    raise SignalError(
                        f"{name}: the stream does not fit in the free space of {directory!r} "
                        f"({written / 2**20:.0f} MiB spooled, {SPOOL_RESERVE >> 20} MiB must "
                        "stay free); set TMPDIR to a larger disk, or give a file"
                    )
                out.write(block if isinstance(block, bytes) else block.encode("utf-8"))
                written += len(block)
                block = source.read(COPY_BYTES)
    except (OSError, ValueError) as exc:
        remove_temporary(path)
        if isinstance(exc, SignalError):
            raise
        raise SignalError(f"{name}: cannot read: {one_line(exc)}") from None
    except BaseException:
        remove_temporary(path)
        raise
    return path
