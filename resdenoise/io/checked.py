"""Encoded audio written through Python, so that a failed write is never lost.

libsndfile writes some formats' last bytes only when the file is closed (FLAC's
last frames and its header, the last Ogg pages of Vorbis and Opus, a block codec's
last block), and ``sf_close`` drops the error of a write there: on a full disk
(ENOSPC) or above a file-size limit (EFBIG) the output was cut short and the run
still said "guarantees held" (exit 0; ``--in-place`` replaced a recording with
it).  :class:`CheckedFile` is the file such an output is written through
(soundfile's virtual I/O): every write goes through :func:`os.write`, and the
first one that fails is kept, to be raised (:meth:`CheckedFile.check`) before
the temporary is renamed into place.  Formats whose samples libsndfile writes
at once (:func:`written_at_once`: plain PCM or floats in WAV, AIFF, ...) keep
the faster direct descriptor, whose failed writes ``sf_write`` reports itself.
"""

from __future__ import annotations

import errno
import os

from ..errors import SignalError, one_line

#: Containers whose plain samples libsndfile writes as they come: a failed write is
#: an error of ``sf_write``; ``sf_close`` only rewrites the header in place.
_AT_ONCE_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "W64", "AIFF", "CAF", "AU"})
#: Their plain subtypes (no codec that holds back a block for the close).
_AT_ONCE_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"})


def written_at_once(fmt: str, subtype: str | None) -> bool:
    """Whether libsndfile writes ``fmt``/``subtype`` output as it comes (nothing left
    for ``sf_close`` but the header): then it may write to the descriptor itself."""
    return fmt in _AT_ONCE_FORMATS and subtype in _AT_ONCE_SUBTYPES


def write_reason(exc: BaseException | str) -> str:
    """Why a write failed (an OSError, or the system's words), as one line: the
    system's words, and for a full disk or a file-size limit what to do about it."""
    reason = one_line(getattr(exc, "strerror", None) or exc)
    if reason == os.strerror(errno.ENOSPC):
        return f"{reason} (the disk is full; free some space, or write elsewhere)"
    if reason == os.strerror(errno.EFBIG):
        return f"{reason} (above the file size limit: see ulimit -f)"
    return reason


class CheckedFile:
    """The binary file descriptor ``fd`` as soundfile's virtual I/O wants it (``write``,
    ``seek``, ``tell``, ``read``), keeping the first failure instead of raising it
    into libsndfile (which would lose it, and cffi print a traceback): a write after
    it writes nothing.  :meth:`check` raises it."""

    def __init__(self, fd: int):
        self.fd = fd
        self.error: BaseException | None = None

    def write(self, data) -> int:
        if self.error is not None:
            return 0
        view, done = memoryview(data), 0
        try:
            while done < len(view):
                done += os.write(self.fd, view[done:])
        except BaseException as exc:  # noqa: BLE001 - kept, raised by check()
            self.error = exc  # (a signal's Interrupted too: raised where it can unwind)
        return done

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._position(offset, whence)

    def tell(self) -> int:
        return self._position(0, os.SEEK_CUR)

    def _position(self, offset: int, whence: int) -> int:
        try:
            return os.lseek(self.fd, offset, whence)
        except BaseException as exc:  # noqa: BLE001 - kept, raised by check()
            self.error = self.error or exc
            return -1

    def read(self, size: int) -> bytes:
        try:
            return os.read(self.fd, size)
        except BaseException as exc:  # noqa: BLE001 - kept, raised by check()
            self.error = self.error or exc
            return b""

    def check(self, name: str) -> None:
        """Raise what failed: a SignalError ``NAME: cannot write: REASON`` for a failed
        system call, anything else (a signal's Interrupted) as it was."""
        exc = self.error
        if exc is None:
            return
        if isinstance(exc, OSError):
            raise SignalError(f"{name}: cannot write: {write_reason(exc)}") from None
        raise exc


def close_unsynced(sf) -> None:
    """Close a ``soundfile.SoundFile`` opened for writing without its fsync.

    ``SoundFile.close`` calls libsndfile's ``sf_write_sync`` (an fsync of the
    file) and then ``sf_close``, which rewrites the header (the data size)
    after that fsync; the caller fsyncs the file once more anyway, after the
    header.  One fsync, after ``sf_close``, makes the whole file durable;
    this skips the first.  (Through soundfile's own handle: where a soundfile
    version lacks it, the ordinary close.)
    """
    import soundfile

    snd, handle = getattr(soundfile, "_snd", None), getattr(sf, "_file", None)
    check = getattr(soundfile, "_error_check", None)
    if snd is None or handle is None or check is None:
        sf.close()
        return
    sf._file = None  # closed from here on, as SoundFile.close leaves it
    check(snd.sf_close(handle))


#: libsndfile's ``SFE_SYSTEM``: a system call failed (its reason in ``sf_strerror``).
_SFE_SYSTEM = 2


def system_error(sf, exc: BaseException) -> str | None:
    """The system's reason (``No space left on device``) when libsndfile's error ``exc``
    on the open file ``sf`` is a failed system call, else None.  libsndfile's own
    message is only "System error."; the reason is in ``sf_strerror`` of the file."""
    if getattr(exc, "code", None) != _SFE_SYSTEM:
        return None
    import soundfile

    snd, ffi = getattr(soundfile, "_snd", None), getattr(soundfile, "_ffi", None)
    handle = getattr(sf, "_file", None)
    if snd is None or ffi is None or handle is None:
        return None
    text = ffi.string(snd.sf_strerror(handle)).decode("utf-8", "replace")
    _, sep, reason = text.partition(" : ")
    return one_line(reason.strip().rstrip(".")) if sep and reason.strip() else None


def open_failure(fd: int, exc: BaseException) -> str | None:
    """Why libsndfile could not start a file on the descriptor ``fd`` (a temporary, to
    be discarded) when its error ``exc`` is a failed system call, whose message is only
    "System error.": the reason a block written there fails with (a full disk: :func:`
    write_reason`'s line), else None.  Said 'cannot encode as WAV/PCM_16', which blamed
    the format."""
    if getattr(exc, "code", None) != _SFE_SYSTEM:
        return None
    block, done = bytes(4096), 0
    try:
        while done < len(block):  # a short write first where a few bytes fit
            written = os.pwrite(fd, block[done:], done)
            if not written:
                return None
            done += written
    except OSError as failed:
        return write_reason(failed)
    return None
