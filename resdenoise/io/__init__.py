"""Reading and writing signals: CSV, audio (through soundfile), stdin/stdout.

Knows nothing about diffusion and imports nothing of resdenoise but
:mod:`resdenoise.errors`.  :func:`read_signal` returns a :class:`Signal`
(float array shaped ``(n,)`` or ``(n, channels)`` plus everything needed to
write the result back as the same kind of file); :func:`open_signal_stream`
checks a file in one pass and reads it in blocks.  :func:`write_signal`,
:class:`SignalWriter` and :func:`write_files_atomic` write to a temporary
file beside each target and rename it into place, so a failure never leaves
an empty or partial file.  Every problem with a file is raised as
:class:`~resdenoise.errors.SignalError` naming the file and, where it
applies, the line and column; an option that does not fit the file (an
unknown column name, a subtype the format lacks) is a
:class:`~resdenoise.errors.ParameterError`.

Modules: ``signal`` (Signal, formats), ``csv`` and ``audio`` (the readers),
``read`` (the doors), ``writers`` (encoding, SignalWriter), ``atomic``
(temporary files and renames, spooling stdin).
"""

from .atomic import check_output_path, spool_stdin, write_bytes_atomic, write_files_atomic
from .options import ReadOptions, WriteOptions
from .read import open_signal_stream, parse_signal, read_signal
from .signal import (
    AUDIO_EXTENSIONS,
    CSV_EXTENSIONS,
    FLOAT_SUBTYPES,
    PCM_BITS,
    STDIO,
    CsvLayout,
    Signal,
    SignalStream,
    guess_format,
    looks_like_audio,
)
from .writers import SignalWriter, encode_signal, write_signal

__all__ = [
    "AUDIO_EXTENSIONS",
    "CSV_EXTENSIONS",
    "FLOAT_SUBTYPES",
    "PCM_BITS",
    "STDIO",
    "CsvLayout",
    "ReadOptions",
    "Signal",
    "SignalStream",
    "SignalWriter",
    "WriteOptions",
    "check_output_path",
    "encode_signal",
    "guess_format",
    "looks_like_audio",
    "open_signal_stream",
    "parse_signal",
    "read_signal",
    "spool_stdin",
    "write_bytes_atomic",
    "write_files_atomic",
    "write_signal",
]
