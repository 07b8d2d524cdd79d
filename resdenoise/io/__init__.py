"""Reading and writing signals: CSV, audio (through soundfile), Zarr stores, stdin/stdout.

Knows nothing about diffusion and imports nothing of resdenoise but
:mod:`resdenoise.errors`.

Two doors to one reader per format.  :func:`read_signal` (or
:func:`parse_signal` on bytes) reads a file whole and returns a
:class:`Signal`: float64 samples shaped ``(n,)`` or ``(n, channels)`` and
all that is needed to write the result back as the same kind of file.
:func:`open_signal_stream` checks a file in one pass, in bounded memory, and
returns a :class:`SignalStream` whose ``blocks()`` read it again block by
block.  Both doors go through the same reader, so they accept and refuse the
same files with the same messages; how to read is said once, in a frozen
:class:`ReadOptions`.

Writing: :func:`write_signal` (whole) and :class:`SignalWriter` (block by
block) write the same bytes, as a :class:`WriteOptions` says;
:func:`write_files_atomic` writes to a temporary file beside each target and
renames it into place, so a failure never leaves an empty or partial file; with
``WriteOptions.parents``, where the target's directory is yet to be made, the
temporary waits in the nearest directory above it that exists, and the missing
directories are made at the rename (for a device or pipe, written through: just
before it is opened).

Every problem with a file is a :class:`~resdenoise.errors.SignalError`
naming the file and, where it applies, the line and column; an option that
does not fit the file (an unknown column, a subtype the format lacks) is a
:class:`~resdenoise.errors.ParameterError`.

Modules: ``read`` (the doors), ``csv``, ``audio`` and ``zarr_store`` (the
readers; a Zarr store, a directory, also its chunk-by-chunk writer),
``options`` (ReadOptions, WriteOptions), ``signal`` (Signal, SignalStream,
formats), ``writers`` (encoding, SignalWriter), ``audio_choice`` (an audio
output's format and subtype), ``atomic`` (temporary files and renames,
spooling stdin), ``renames`` (several outputs put in place all or nothing),
``signals`` (a signal cleans up and ends the run).
"""

from .atomic import (
    ClosedStdout,
    check_output_path,
    remove_temporary,
    spool_stdin,
    write_errors,
)
from .options import ReadOptions, WriteOptions
from .read import (
    PipeInput,
    is_pipe,
    open_signal_stream,
    parse_signal,
    read_signal,
    stores_float32,
)
from .renames import write_bytes_atomic, write_files_atomic
from .signal import (
    AUDIO_EXTENSIONS,
    CSV_EXTENSIONS,
    FLOAT_SUBTYPES,
    PCM_BITS,
    RATE_LINE,
    STDIO,
    CsvLayout,
    Signal,
    SignalStream,
    guess_format,
    looks_like_audio,
    refuse_device_name,
    refuse_empty_name,
)
from .signals import handle_signals
from .writers import SignalWriter, encode_signal, write_signal

__all__ = [
    "ClosedStdout",
    "AUDIO_EXTENSIONS",
    "CSV_EXTENSIONS",
    "FLOAT_SUBTYPES",
    "PCM_BITS",
    "RATE_LINE",
    "STDIO",
    "CsvLayout",
    "PipeInput",
    "ReadOptions",
    "Signal",
    "SignalStream",
    "SignalWriter",
    "WriteOptions",
    "check_output_path",
    "encode_signal",
    "guess_format",
    "refuse_device_name",
    "refuse_empty_name",
    "handle_signals",
    "is_pipe",
    "looks_like_audio",
    "open_signal_stream",
    "parse_signal",
    "read_signal",
    "remove_temporary",
    "spool_stdin",
    "stores_float32",
    "write_bytes_atomic",
    "write_errors",
    "write_files_atomic",
    "write_signal",
]
