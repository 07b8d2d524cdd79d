"""Whether run_file reads an input whole or in chunks; a plan that needs the samples, refused early."""

from __future__ import annotations

import os
import stat

from .errors import WholeSignalNeeded, spell

#: Input files larger than this (bytes) are streamed by :func:`run_file`: the output
#: and the report are the same bit for bit (the report's sums are taken in the pieces
#: of one grid either way, :mod:`resdenoise.measure`), and from about this size (a
#: float32 WAV; its float64 samples are twice its bytes) a file read whole takes more
#: memory than a streamed one (``benchmarks/bench_memory.py``).
STREAM_THRESHOLD = 8 << 20


#: A plan that needs the samples (a stopping rule, a search of several scales, a choice
#: by SURE: ``plans._need_samples`` names it) still gets an input of up to this size
#: (bytes) whole, where it was streamed only by its size.
WHOLE_SIGNAL_LIMIT = 64 << 20


def should_stream(path: str, chunk: int | None, threshold: int | None = None) -> bool:
    """Whether :func:`run_file` streams: when ``chunk`` > 0 is given, never when
    it is 0, and by default for a regular input file larger than
    :data:`STREAM_THRESHOLD` and a Zarr store (a directory) whose array's bytes in
    its own dtype are (one that cannot be opened is streamed: its reading says why)."""
    if chunk is not None:
        return chunk > 0
    if path == "-":
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False  # reading it whole reports the problem
    limit = STREAM_THRESHOLD if threshold is None else threshold
    if stat.S_ISDIR(st.st_mode):  # a Zarr store: by its array's bytes, as a file
        from .io.zarr_store import store_nbytes

        size = store_nbytes(path)
        return size is None or size > limit
    return stat.S_ISREG(st.st_mode) and st.st_size > limit


def _lean(path: str, chunk: int | None, pipe, make_plan=None) -> bool:
    """Whether :func:`run_file` streams ``path`` only by its size (over :data:`STREAM_THRESHOLD`,
    not over ``make_plan``'s ``whole_limit`` or :data:`WHOLE_SIGNAL_LIMIT`): read it whole."""
    limit = min(getattr(make_plan, "whole_limit", WHOLE_SIGNAL_LIMIT), WHOLE_SIGNAL_LIMIT)
    if chunk is not None:
        return False
    if pipe is not None:
        return pipe.size <= limit
    return not should_stream(path, None, limit)


def _refuse_early(make_plan, path: str, chunk: int | None, pipe) -> None:
    """A plan maker of :mod:`resdenoise.plans` that says it needs the samples
    (``samples_needed``) of an input :func:`run_file` reads in chunks: refused before
    the input's first pass (a CSV over 64 MiB was read whole, then refused), with the
    words of the refusal the plan maker would make."""
    needed = getattr(make_plan, "samples_needed", None)
    needed = needed() if callable(needed) else None
    if needed:
        needs, *fixes = needed
        exc = WholeSignalNeeded.of(path if pipe is None else pipe.name, needs, tuple(fixes))
        raise exc.because(*_why_streamed(path, chunk, make_plan)) from None


def _why_streamed(path: str, chunk: int | None, make_plan=None) -> tuple[tuple, tuple | None]:
    """Why :func:`run_file` read ``path`` in chunks (where :func:`_lean` does not read it whole
    instead), and what loads it whole (and its cost, :func:`_cost`): ``(text, parameters)``
    pairs for :meth:`resdenoise.errors.WholeSignalNeeded.because` (None: its default remedy)."""
    if chunk is not None:
        return (
            f"a chunk size is given ({spell('chunk_size', chunk)})",
            [("chunk_size", chunk)],
        ), None
    what = (
        "the store's array"
        if os.path.isdir(path)
        else "the file"
        if path != "-" and os.path.isfile(path)
        else "the input"
    )
    limit = f"{min(getattr(make_plan, 'whole_limit', 1 << 62), WHOLE_SIGNAL_LIMIT) / 2**20:g} MiB"
    return (f"{what} is larger than {limit}, which is read in chunks", ()), (
        "pass chunk_size=0 to load it whole anyway" + _cost(path, make_plan),
        [("chunk_size", 0)],
    )


def _cost(path: str, make_plan) -> str:
    """What reading ``path`` whole takes for ``make_plan`` (``bytes_per_sample``, times the
    samples where an audio file's header says them); empty where it says no cost."""
    from .io.audio import header_samples

    per = getattr(make_plan, "bytes_per_sample", None)
    n = header_samples(path) if per else None
    said = f": its {n:,} samples, ~{n * per / 1e9:.2g} GB" if n else ""
    return f" (about {per} bytes of memory a sample{said})" if per else ""
