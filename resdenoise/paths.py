"""The paths of one run checked before anything is read or written.

:func:`check_paths` refuses an output or report that would overwrite the input
or another file the run reads, or clash with each other;
:func:`check_batch_paths` a batch that would filter one file twice (in place)
or write one place twice; :class:`FileIndex` finds files by identity (a
batch's inputs, indexed once).  Paths are compared as files: a link, ``..``
or a linked directory on the way does not hide a clash, and ``/dev/stdout``
is stdout.
"""

from __future__ import annotations

import itertools
import os
import stat
import unicodedata
from collections.abc import Callable, Sequence

from .errors import ParameterError, ResdenoiseError, SignalError
from .io.atomic import absolute_path, is_stdout, output_target, resolved
from .io.signal import ZARR, ZARR_EXTENSION, directory_refusal, guess_format, stat_input

__all__ = ["FileIndex", "check_paths", "is_stdout", "pipe_read_twice", "refuse_pipe_twice"]


def place_key(path) -> tuple:
    """Where a write to ``path`` lands, as a key every name of that place shares: its
    directory by identity (device, inode; missing directories by name below the
    nearest one that exists), and the rest of the name as that directory's file system
    compares names: as given, or, where it folds letter case (macOS, Windows, FAT and
    exFAT: :func:`folds_case`), case-folded and in Unicode NFC (macOS takes NFC and NFD
    ``café`` as one name).  Two outputs ``Data.csv`` and ``data.csv`` are one file there."""
    head, name = os.path.split(resolved(path))
    missing = [name]
    while not os.path.isdir(head) and head != os.path.dirname(head):
        head, part = os.path.split(head)
        missing.append(part)
    rest = os.path.join(*reversed(missing))
    try:
        st = os.stat(head)
    except (OSError, ValueError):
        return head, rest
    if folds_case(head, st):
        rest = unicodedata.normalize("NFC", rest).casefold()
    return (st.st_dev, st.st_ino), rest


#: :func:`folds_case`'s answers, by the directory's (device, inode).
_FOLDS: dict = {}


def folds_case(directory: str, st: os.stat_result | None = None) -> bool:
    """Whether the file system of the existing ``directory`` takes names that differ in
    letter case as one (asked once per directory): a name there with letters, its case
    swapped, opens the same entry, where no entry has that swapped name.  The name probed
    is the directory's own (in its parent, on the same file system), else one of its
    first entries; where no name has letters (an empty mount of a digits-only name),
    True: two names that differ in case only are then taken as one (refused, not lost)."""
    st = os.stat(directory) if st is None else st
    key = st.st_dev, st.st_ino
    if key not in _FOLDS:
        _FOLDS[key] = _probe_folding(directory, st)
    return _FOLDS[key]


def _probe_folding(directory: str, st: os.stat_result) -> bool:
    parent = os.path.dirname(os.path.abspath(directory))
    probes = []
    try:
        if parent != directory and os.stat(parent).st_dev == st.st_dev:
            probes.append((parent, os.path.basename(directory), None))
    except OSError:
        pass
    try:
        with os.scandir(directory) as entries:
            names = [entry.name for entry in itertools.islice(entries, 32)]
        probes += [(directory, name, names) for name in names]
    except OSError:
        pass
    for head, name, listed in probes:
        other = name.swapcase()
        if other == name:
            continue
        try:
            one, two = os.lstat(os.path.join(head, name)), os.lstat(os.path.join(head, other))
        except FileNotFoundError:
            return False  # the name in another case is no entry: case counts
        except OSError:
            continue
        if (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino):
            return True
        try:  # another inode (some file systems number names, not files): two entries?
            listed = os.listdir(head) if listed is None else listed
        except OSError:
            continue
        return other not in listed
    return True


#: Containers one name holds alike: a ``.wav`` beyond 4 GiB is written as RF64 (and read so).
_ONE_KIND = {"RF64": "WAV", "WAVEX": "WAV"}


class HeldInput:
    """The regular file an in-place run replaces, opened once (read-only, not blocking
    on another's lease) for every check of it: its chunks and format read here
    (:func:`check_in_place`), its identity and the read lease that tells a writer's
    descriptor (:func:`unchanged_guard`, before the run and again before the rename).
    One descriptor, one file: a rename over the name between two checks cannot make
    them look at two files (three opens by name before), and the last look compares the
    name's file with this one.  ``fd`` is None where ``path`` is no regular file (a
    store, a missing or unreadable name: its reading says why).  :meth:`close` ends it."""

    def __init__(self, path: str):
        self.path = path
        self.fd = self.identity = None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except (OSError, ValueError):
            return
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return
        self.fd, self.identity = fd, _identity(st)

    def read_at(self, pos: int, k: int) -> bytes:
        """``k`` bytes from ``pos`` (fewer at the end)."""
        return os.pread(self.fd, k, pos)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def audio_info(self):
        """``soundfile``'s (format, subtype) of the file, read through the descriptor;
        None where libsndfile cannot read it (the reading says why)."""
        import soundfile

        os.lseek(self.fd, 0, os.SEEK_SET)
        try:
            with soundfile.SoundFile(self.fd, closefd=False) as f:
                return f.format, f.subtype
        except (OSError, RuntimeError, ValueError):
            return None

    def audio_tags(self) -> dict | None:
        """The text tags libsndfile reads of the file (``copy_metadata``), read through
        the descriptor; None where libsndfile cannot read it."""
        import soundfile

        os.lseek(self.fd, 0, os.SEEK_SET)
        try:
            with soundfile.SoundFile(self.fd, closefd=False) as f:
                return f.copy_metadata()
        except (OSError, RuntimeError, ValueError):
            return None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def check_in_place(input_path: str, input_format, output_format, held: HeldInput) -> None:
    """:func:`check_in_place_format`; and an audio file whose content is another format
    than its name says (a WAV named ``.mp3``): replaced in place it would be written as
    its name says (a lossless recording made lossy), not kept as it is; refused before
    it is read.  (A comma-separated file named ``.tsv`` keeps its commas in place:
    :func:`resdenoise.io.csv_text.delimited_for`.)  ``held``: the file, opened once
    (:class:`HeldInput`), read through its descriptor."""
    check_in_place_format(input_path, input_format, output_format, held)
    named = guess_format(input_path, output_format, output=True)
    if named in ("CSV", ZARR) or held.fd is None:
        return
    info = held.audio_info()
    if info is None:
        return
    have, subtype = info
    if _ONE_KIND.get(have, have) == _ONE_KIND.get(named, named):
        return
    raise ParameterError(
        f"{input_path}: in_place=True keeps the file's format, but it is {have} "
        f"({subtype}) named {os.path.splitext(input_path)[1]}, and would be written as "
        f"{named}; rename it to .{have.lower()}, or write {named} to another file (output)",
        parameters=[("in_place", True), "output"],
    )


def refuse_held_for_writing(path: str, fd: int) -> None:
    """Refuse to replace the regular file ``path`` while another process has it open for
    writing: a logger's descriptor, whose writes after the rename would go to the old
    file, gone (nothing says so).  Linux: a read lease (``F_SETLEASE``) is refused with
    EAGAIN while any process has the file open for writing; where none can be taken (not
    the file's owner, another system or file system), nothing is known: no refusal.
    ``fd``: the file open read-only (:class:`HeldInput`'s descriptor)."""
    import errno
    import fcntl

    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None:
        return
    try:
        fcntl.fcntl(fd, setlease, fcntl.F_RDLCK)
        fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
    except OSError as exc:
        if exc.errno == errno.EAGAIN:
            raise SignalError(
                f"{path}: another program has the file open for writing (a logger?), and "
                "what it writes after the replacement would be lost; it was not replaced: "
                "stop it first, or filter a copy with -o"
            ) from None


def _same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name one file: the same inode (links followed),
    or the same place once their directories are resolved (:class:`FileIndex`'s rule)."""
    return FileIndex([a]).find(b) is not None


class FileIndex:
    """Files found by identity in constant time: a batch's inputs, indexed once
    (not compared one by one with each file's output and report).

    :meth:`find` names the first indexed path that is the same file: the same
    inode (links followed), or the same place once the directories are resolved
    (:func:`_same_file` is this rule for two paths).  An indexed ``"-"`` is stdin,
    whatever it is (:func:`_stdin_key`): the file the shell put there (``< FILE``),
    found as ``/dev/stdin``, ``/dev/fd/0``, ``/proc/self/fd/0`` or the file's own
    name, and a pipe, FIFO or terminal found under any name that opens it.
    """

    def __init__(self, paths: Sequence[str] = ()):
        self.paths = [os.fspath(p) for p in paths if p is not None]
        self._inodes: dict = {}
        self._places: dict = {}
        for rank, path in enumerate(self.paths):
            key = _stdin_key() if path == "-" else _inode(path)
            if key is not None:
                self._inodes.setdefault(key, rank)
            if path != "-":
                self._places.setdefault(place_key(path), rank)

    def find(self, path) -> str | None:
        """The first indexed path that names the same file as ``path``, else None
        (``"-"``, stdout: the file stdout is, when it is a regular file)."""
        rank = self.rank(path)
        return None if rank is None else self.paths[rank]

    def rank(self, path) -> int | None:
        """Where in :attr:`paths` :meth:`find`'s path is, else None."""
        if path is None or not self.paths:
            return None
        if path == "-":
            key = _stdout_inode()
            return None if key is None else self._inodes.get(key)
        ranks = (self._inodes.get(_inode(path)), self._places.get(place_key(path)))
        return min((r for r in ranks if r is not None), default=None)


def _nested(a, b) -> bool:
    """Whether one of the paths lies inside the other (a directory such as a Zarr store
    and a file in it); the same path is not nested."""
    if a is None or b is None or a == "-" or b == "-":
        return False
    ra, rb = resolved(a), resolved(b)
    return ra.startswith(rb + os.sep) or rb.startswith(ra + os.sep)


def _below_a_file(path, file) -> bool:
    """Whether ``path`` lies inside ``file``, which is no directory: nothing can be
    written there (the output's check says so, as for any file in the way)."""
    return not os.path.isdir(file) and resolved(path).startswith(resolved(file) + os.sep)


def _refuse_directory_above(name: str, kind: str, input_path: str) -> None:
    """SignalError where ``name`` (the output or report) is a directory the input lies in
    (``.``, ``..``): it is a directory, as any other is (no store is involved), and the
    report's ``DIR/`` form is the way to write into it."""
    if not os.path.isdir(name) or os.path.isdir(input_path) or name.rstrip("/").endswith(".zarr"):
        return
    if kind == "output":
        raise SignalError(f"{name}: is a directory; give an output file name")
    folder = name.rstrip("/" + os.sep) or name
    into = os.path.join(folder, os.path.basename(input_path) + ".json")
    raise SignalError(f"{name}: is a directory; give a report file name, or {folder}/ for {into}")


def _inode(path) -> tuple | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _stdout_inode() -> tuple | None:
    """The identity of the regular file stdout is (``>> FILE``), else None."""
    try:
        st = os.fstat(1)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _stdin_key() -> tuple | None:
    """The identity of what stdin is, whatever it is (a file, pipe, FIFO, terminal):
    a name that opens it would write into the input being read.  None when closed, or
    when it is no regular file and stdout is it too (one terminal for both): a name
    that opens it then writes where ``-`` (stdout) does."""
    try:
        st = os.fstat(0)
    except (OSError, ValueError):
        return None
    key = st.st_dev, st.st_ino
    if not stat.S_ISREG(st.st_mode):
        try:
            out = os.fstat(1)
        except (OSError, ValueError):
            return key
        if (out.st_dev, out.st_ino) == key:
            return None
    return key


def check_paths(
    input_path,
    output="-",
    report_path=None,
    in_place: bool = False,
    reads: dict | None = None,
    others: FileIndex | None = None,
    input_format: str | None = None,
) -> None:
    """Refuse an output or report that would clash with a file the run reads or
    with each other.

    ``reads`` names the other files the run reads, ``{path: what}`` (e.g.
    ``{"clean.csv": "reference"}``): they are protected as the input is;
    ``others`` indexes more input files (a batch's), checked before ``reads``.
    ``input_format``: the input's format when given (``"zarr"``: a directory read as a
    Zarr store whatever its name).
    Paths are compared as files: a link, ``..`` or a linked directory on the
    way does not hide a clash, and ``/dev/stdout`` is stdout.

    Raises
    ------
    ParameterError
        A name that is empty; the report on stdout with the signal there too,
        or the report and the output the same file; ``in_place`` with stdin or
        another input that is not a regular file (a FIFO, ``/dev/stdin``: it would
        be written through, not replaced), or with an output that is not the input
        (``"-"`` means the input).
    SignalError
        The output is the input (without ``in_place``), or the report is, or
        either is another file the run reads, or lies inside it (a store) or
        it inside them; the input is a directory but not a store.
    """
    from .io import refuse_device_name, refuse_empty_name

    named = [(input_path, "input"), (output, "output"), (report_path, "report")]
    for path, what in named + list((reads or {}).items()):
        refuse_empty_name(path, what)
    for path, what in named[1:]:  # Windows: aux.csv, con.wav ... are devices
        refuse_device_name(path, what)
    # not a signal at all: said first, before any check that takes it for a signal (a
    # directory not named as a store was refused as a store too large to read whole)
    if input_path != "-":  # (stdin, whatever a directory named - in the working one)
        _refuse_directory_input(input_path, input_format)
    if in_place:
        if input_path == "-":
            raise ParameterError(
                "in_place=True replaces an input file, and stdin is none; give a file name",
                parameters=[("in_place", True)],
            )
        _refuse_in_place_pipe(input_path)
        if output != "-" and not _same_file(input_path, output):
            raise ParameterError(
                f"{output}: not the input {input_path}, and in_place=True replaces the input "
                "itself; drop output, or drop in_place=True to write another file",
                parameters=[("in_place", True), "output", ("in_place", True)],
            )
        output = input_path
        if _same_file(input_path, report_path):  # not "the same file as -o": none was given
            raise SignalError(
                f"{report_path}: the report would overwrite the input file, which "
                "in_place=True replaces with the output; give the report its own name",
                parameters=[("in_place", True)],
            )
    stdout = {  # each stat'ed once: used twice below
        "output": output is not None and is_stdout(output),
        "report": report_path is not None and is_stdout(report_path),
    }
    if stdout["report"] and stdout["output"]:
        raise ParameterError(
            f"report_path={report_path!r} needs output to name a file: stdout already carries "
            "the signal",
            parameters=[("report_path", report_path), "output"],
        )
    if (
        report_path not in (None, "-")
        and (report_path == output or _same_file(report_path, output))
        and not _null_device(report_path)  # -o /dev/null --report /dev/null: both discarded
    ):
        raise ParameterError(
            "report_path and output name the same file; give the report its own",
            parameters=["report_path", "output"],
        )
    for kind in (k for k, to_stdout in stdout.items() if to_stdout):
        _refuse_stdout_read(kind, input_path, reads, others)
    if _same_file(input_path, output) and not in_place:
        if input_path != "-" and not os.path.exists(input_path):  # names alike, no file
            stat_input(input_path)  # no such file: not a call for in_place
        if input_path == "-":  # /dev/stdin, or the file's name, with < FILE
            raise SignalError(
                f"{output}: output is the input file (the one on stdin); name another "
                "file for the output"
            )
        if _in_place_refusal(input_path) == _A_PIPE:  # no in_place either: not offered
            raise SignalError(f"{output}: output is the input, and {input_path} {_A_PIPE}")
        raise SignalError(
            f"{output}: output is the input file; pass in_place=True to replace it",
            parameters=[("in_place", True)],
        )
    if not in_place and _same_file(input_path, report_path):  # in place: refused above
        raise SignalError(f"{report_path}: the report would overwrite the input file")
    for name, kind in ((output, "output"), (report_path, "report")):
        if _nested(input_path, name) and not _below_a_file(name, input_path):
            _refuse_directory_input(input_path, input_format)  # what is wrong first: not a signal
            _refuse_directory_above(name, kind, input_path)
            raise SignalError(
                f"{name}: the {kind} and the input {input_path} lie one inside the other "
                "(a store is a directory: writing one would change or remove the other); "
                "give it a place outside"
            )
    for name, kind in ((output, "output"), (report_path, "report")):
        path = None if others is None else others.find(name)
        if path is not None and not _same_file(path, input_path):
            raise SignalError(
                f"{name}: the {kind} would overwrite the input file {path}; give it another name"
            )
    for path, what in (reads or {}).items():
        for name, kind in ((output, "output"), (report_path, "report")):
            if _same_file(path, name):
                raise SignalError(
                    f"{name}: the {kind} would overwrite the {what} file {shown(path)}; "
                    "give it another name"
                )


def pipe_read_twice(paths: Sequence[str]) -> tuple[str, str, str] | None:
    """The first two of ``paths`` that read one pipe, and how a message names it
    (``"stdin ('-')"``, ``"stdin"``, ``"the pipe NAME"``), else None: ``-`` twice, or
    one FIFO under two names (stdin's pipe as ``-``, ``/dev/stdin``, ``/dev/fd/0``).
    The first read would empty it for the second.  Only stat'ed: nothing is opened."""
    stdin = _pipe_key("-")
    seen: dict = {}
    for rank, path in enumerate(paths):
        key = _pipe_key(path)
        if key is None:
            continue
        if seen.setdefault(key, rank) != rank:
            first = paths[seen[key]]
            if "-" in (first, path):
                return first, path, "stdin ('-')"
            return first, path, "stdin" if key == stdin else f"the pipe {path}"
    return None


def refuse_pipe_twice(paths: Sequence[str], remedy: str, said: str | None = None) -> None:
    """ParameterError naming the first two of ``paths`` that read one pipe
    (:func:`pipe_read_twice`; ``said``: what to call the two instead), then ``remedy``."""
    twice = pipe_read_twice(paths)
    if twice is not None:
        first, second, name = twice
        said = f"{first} and {second}" if said is None else said
        raise ParameterError(f"{said} are both {name}, which is read once; {remedy}")


def _pipe_key(path) -> tuple | str | None:
    """What identifies the pipe ``path`` reads (stdin: ``-``, a pipe or not), else None."""
    try:
        st = os.fstat(0) if path == "-" else os.stat(path)
    except (OSError, ValueError):
        return "-" if path == "-" else None
    if stat.S_ISFIFO(st.st_mode):
        return st.st_dev, st.st_ino
    return "-" if path == "-" else None


#: Why an input that is no regular file (nor a store) cannot be replaced in place.
_A_PIPE = "is a pipe or device, not a regular file; give a file name"


def _in_place_refusal(path: str) -> str | None:
    """Why ``path`` cannot be replaced in place (a new file renamed over it), else None:
    no regular file (:data:`_A_PIPE`: a FIFO, ``/dev/stdin`` from a pipe), or a regular
    file by a name through ``/dev`` or ``/proc`` that is not its own (``/dev/stdin <
    FILE``, ``/dev/fd/N``), which a write would go through to.  A regular file under
    ``/dev`` by its own name (``/dev/shm/a.csv``), a directory (a store) or a missing
    name (reading it says so): None.  Only stat'ed: nothing is opened."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        return _A_PIPE
    real = os.path.realpath(path)
    if not output_target(path)[1] or real == absolute_path(path):
        return None
    return (
        "names a file through /dev or /proc, which would be written through; give its "
        f"own name ({real})"
    )


def _refuse_in_place_pipe(path: str) -> None:
    """Refuse to replace in place an input :func:`_in_place_refusal` names a reason for."""
    what = _in_place_refusal(path)
    if what is not None:
        raise ParameterError(
            f"in_place=True replaces an input file, and {path} {what}",
            parameters=[("in_place", True)],
        )


def check_batch_paths(
    tasks: Sequence[tuple], in_place: bool = False, *, index: FileIndex | None = None
) -> None:
    """Refuse a batch that would filter a file twice or write a place twice, before
    anything is read.

    ``tasks`` holds each input's ``(input, output, report)`` (report None for
    none).  Refused: under ``in_place``, an input that is a pipe or device (see
    :func:`check_paths`), two inputs that are one file as
    :class:`FileIndex` compares them (the same inode, links followed, or the
    same place): the one replaced first would be read by the other, or not,
    as the files are shared among the jobs; two outputs or reports (or an
    output and a report) that land in one place (directories resolved, the
    last name kept, as a write lands).  ``index``: the :class:`FileIndex` of the
    tasks' inputs in order, where the caller has it (built here if None).

    Raises
    ------
    ParameterError
        Naming both inputs (and the place); naming an input in place that is a pipe.
    """
    if in_place:
        index = FileIndex([path for path, _, _ in tasks]) if index is None else index
        for i, (path, _, _) in enumerate(tasks):
            _refuse_in_place_pipe(path)  # each, before any file is filtered
            first = index.rank(path)
            if first != i:
                stat_input(tasks[first][0])  # a missing file is no such file, not two
                raise ParameterError(
                    f"{tasks[first][0]} and {path} are one file, and in_place=True "
                    "would filter it twice; name it once",
                    parameters=[("in_place", True)],
                )
    places: dict = {}  # place -> (rank of the input, kind, name) first written there
    for i, (path, output, report) in enumerate(tasks):
        for name, kind in ((output, "output"), (report, "report")):
            if name is None:
                continue
            first, first_kind, first_name = places.setdefault(place_key(name), (i, kind, name))
            if (first, first_kind) == (i, kind):
                continue
            if first_kind == kind == "output":
                what = f"{tasks[first][0]} and {path}"
                remedy = "rename one or filter them into separate directories"
            else:
                what = f"the {first_kind} of {tasks[first][0]} and the {kind} of {path}"
                remedy = "rename one, or run them separately"
            where = name
            if os.path.basename(resolved(first_name)) != os.path.basename(resolved(name)):
                where = f"{first_name} and {name}, one file on this file system ({_ONE_NAME})"
            raise ParameterError(f"{what} would both be written to {where}; {remedy}")


#: Why two names that differ are one file (:func:`place_key`).
_ONE_NAME = "it takes names that differ in letter case or accent encoding as one"


def _refuse_directory_input(path: str, input_format: str | None = None) -> None:
    """Refuse an input that is a directory the run does not read as a Zarr store: not named
    as one (``.zarr``) nor given ``input_format`` zarr."""
    if not os.path.isdir(path) or path.rstrip(os.sep).lower().endswith(ZARR_EXTENSION):
        return
    if input_format is None or guess_format(path, input_format) != ZARR:
        raise directory_refusal(path)


def _truncated_stdout() -> bool:
    """Whether stdout is an empty file the shell opened write-only, not appending: with
    ``>``, which truncated it (``>>`` appends, ``1<>`` reads too, and both keep it).
    Without ``fcntl`` (Windows), the flags cannot be read: an empty file is taken as
    truncated (a ``>>`` onto an empty input loses nothing either way)."""
    try:
        size = os.fstat(1).st_size
    except (OSError, ValueError):
        return False
    try:
        import fcntl
    except ImportError:
        return size == 0
    try:
        flags = fcntl.fcntl(1, fcntl.F_GETFL)
    except (OSError, ValueError):
        return False
    return size == 0 and flags & (os.O_ACCMODE | os.O_APPEND) == os.O_WRONLY


def shown(path: str) -> str:
    """``path`` as a message names it: ``-`` (the file on stdin) as ``<stdin>``."""
    return "<stdin>" if path == "-" else path


def _refuse_stdout_read(kind: str, input_path, reads: dict | None, others) -> None:
    """Refuse stdout as the ``kind`` (output, report) when it is a file the run reads:
    the shell opened it (``>> INPUT``, ``1<> INPUT``), and writing would change it."""
    path = FileIndex([input_path, *(reads or {})]).find("-") or (others and others.find("-"))
    if path:
        what = "input" if path == input_path else (reads or {}).get(path, "input")
        if _truncated_stdout():
            raise SignalError(
                f"<stdout>: is the {what} file {shown(path)}, which the shell emptied (its > "
                "truncates the file before resdenoise starts): its data is gone, and "
                f"resdenoise cannot recover it; write the {kind} to another file"
            )
        raise SignalError(
            f"<stdout>: is the {what} file {shown(path)} (opened by the shell: >> or 1<>), and the "
            f"{kind} would change it; send stdout elsewhere, or name another file for the {kind}"
        )


def unchanged_guard(path: str, held: HeldInput, then: Callable | None = None) -> Callable:
    """A callable that refuses, when called, to go on if the regular file ``path`` is
    no longer the file it was now (replaced, appended to, truncated, written: another
    inode, size or time), then calls ``then`` with what it is given (if any).  An
    input replaced in place calls it just before its replacement is renamed over it:
    rows a logger appended during the run are not lost.  ``then``'s ``takes_report``
    is kept; its ``check()`` is the refusal alone (called before a report is written to
    stdout: nothing said of a run that refuses).  ``held``: the file opened once
    (:class:`HeldInput`), whose identity is the one kept and whose descriptor takes the
    lease (no open by name); the caller closes it after the run.  Where ``path`` is no
    regular file (``held.fd`` None: a store, a missing name), no check.

    Raises
    ------
    SignalError
        When called: ``path`` changed since the guard was made; nothing is renamed.
    """
    before, fd = held.identity, held.fd
    if before is not None:  # a logger holding it open: refused before the run too
        refuse_held_for_writing(path, fd)

    def check() -> None:  # the refusal alone (also before a report written to stdout)
        if before is not None:
            try:
                now = _identity(os.stat(path))
            except OSError:
                now = None
            if now != before:
                raise SignalError(
                    f"{path}: the file changed while it was filtered (appended to, "
                    "written or replaced); it was not replaced: run again once it is "
                    "complete, or filter a copy with -o"
                )
            refuse_held_for_writing(path, fd)  # the name's file is still the held one

    def guard(*args):
        check()
        return None if then is None else then(*args)

    guard.takes_report = getattr(then, "takes_report", False)
    guard.check = check
    return guard


def failed_in_place(path: str, strict: bool, report: dict) -> str | None:
    """An in-place run of ``path`` whose measured guarantee failed (``report``'s): under
    ``strict`` the input is kept as it was (``kept_input`` in the report; the caller puts
    no output in place) and None is returned; else the warning that it was replaced all
    the same (also put among the report's ``warnings``)."""
    if strict:
        report["kept_input"] = True
        return None
    line = (
        f"{path}: replaced in place although a guarantee failed (see the verdict); "
        "--strict keeps the input when one fails, -o writes the output beside it"
    )
    report.setdefault("warnings", []).append(line)
    return line


def check_carried_output(output: str, write, template) -> None:
    """Refuse, before any search or run, an ``output`` format (``write``: its WriteOptions)
    that would lose a CSV's columns not picked (:func:`resdenoise.io.signal.check_carried`)."""
    from .io import WriteOptions
    from .io.signal import check_carried
    from .io.writers import output_format

    if template.format == "CSV" and template.carried:
        fmt = output_format(output, write or WriteOptions(), template)
        check_carried(template, fmt, "<stdout>" if output == "-" else output)


def output_range_or_none(output: str, template, write):
    """:func:`resdenoise.io.writers.output_range` of ``output`` (None where it cannot be
    written: the writer says why, after the search, as before)."""
    from .io.writers import output_range

    try:
        return output_range(output, template, write)
    except (ResdenoiseError, ValueError, TypeError):
        return None


def _null_device(path) -> bool:
    """Whether ``path`` is the null device (``/dev/null`` by any name): what is written
    there is discarded, so an output and a report may both go there."""
    try:
        st, null = os.stat(path), os.stat(os.devnull)
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def _identity(st: os.stat_result) -> tuple:
    """What changes when a file is replaced or written to: device, inode, size, times."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def check_in_place_format(input_path: str, input_format, output_format, held: HeldInput) -> None:
    """A file replaced in place keeps its format: another one would not fit its name;
    and what no output keeps of it (a Broadcast Wave's bext: its time reference; a
    FLAC's cover art; text tags libsndfile does not read) is not lost with it
    (:mod:`resdenoise.io.metadata`).  ``held``: the file opened once
    (:class:`HeldInput`), its parts and tags read through it."""
    if output_format is not None:
        have, want = guess_format(input_path, input_format), guess_format("-", output_format)
        if have != want:
            raise ParameterError(
                f"{input_path}: in_place=True keeps the file's format ({have}); drop "
                f"output_format (or write {want} to another file)",
                parameters=[("in_place", True), "output_format"],
            )
    from .io import metadata

    if held.fd is None:  # (a store, unreadable: its reading says why)
        return None
    try:
        parts, _ = metadata.held_metadata(held.read_at, held.size())
    except OSError:
        return None
    tags = held.audio_tags() if parts else {}
    if tags is None:  # (not audio libsndfile reads: its reading says why)
        return None
    found = metadata.unkept(parts, tags)
    if found:
        them = "them" if metadata.many(found) else "it"
        raise ParameterError(
            f"{input_path}: in_place=True would lose its {metadata.listed(found)}, which no output "
            f"keeps; write the output to another file (output) and copy {them} over",
            parameters=[("in_place", True), "output"],
        )


def check_summary_path(
    path: str, inputs: Sequence[str], reads: dict | None = None, targets: Sequence = ()
) -> None:
    """Refuse, before anything is read, a summary file (``--summary``, one record of the
    run's files) that is a file the run reads (an input, by any name; ``reads``, as
    :func:`check_paths` takes them), or the place of one of ``targets`` (the outputs and
    reports), or that clearly cannot be written (:func:`resdenoise.io.check_output_path`).
    ``-`` is stdout (refused where a target is stdout too, or stdout is an input: ``>>``).
    A link there is replaced, as any output's.

    Raises
    ------
    SignalError
        It would overwrite a file the run reads; it is a directory or cannot be written.
    ParameterError
        It is an output or report too; an empty name.
    """
    from .io import check_output_path, refuse_device_name, refuse_empty_name

    refuse_empty_name(path, "summary")
    refuse_device_name(path, "summary")
    hit = FileIndex([*inputs, *(reads or {})]).find(path)
    if hit is not None:
        what = (reads or {}).get(hit, "input")
        where = "<stdout>: is" if path == "-" else f"{path}: the summary would overwrite"
        raise SignalError(f"{where} the {what} file {shown(hit)}; give the summary another name")
    if is_stdout(path):
        if any(t is not None and is_stdout(t) for t in targets):
            raise ParameterError(
                "summary='-' needs stdout to itself, and it carries the output or the "
                "report; give the summary a file name",
                parameters=[("summary", "-")],
            )
        return
    if os.path.isdir(path):
        raise SignalError(f"{path}: is a directory; give a summary file name")
    key, name = place_key(path), _folded(os.path.basename(path))
    for target in targets:
        if target is None or _folded(os.path.basename(target)) != name:
            continue  # (a place of another name: none of a million outputs resolved)
        if not is_stdout(target) and place_key(target) == key:
            raise ParameterError(
                f"{path}: the summary would be written where an output or report goes "
                f"({target}); give the summary its own name"
            )
    check_output_path(path, signal=False)


def _folded(name: str) -> str:
    """``name`` as every file system that folds names compares it (:func:`place_key`'s
    widest rule: NFC, case-folded): names that differ so are two places anywhere."""
    return unicodedata.normalize("NFC", name).casefold()
