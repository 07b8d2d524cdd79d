"""``python -m resdenoise``, and the ``resdenoise`` program (:func:`main`).

The program's start-up objects (NumPy's, click's, the library's: a hundred
thousand or so) live as long as its process.  They are made with Python's
cyclic garbage collector off and then frozen (:func:`gc.freeze`), so that the
collector, on again for the run, does not walk them again and again: on a
one-second file, about 15 ms of the run's 130 ms of CPU.  Importing
:mod:`resdenoise.cli` (from Python, a test) leaves the collector alone.

The program multiplies no large matrices (its BLAS calls are products of a
few columns), so it asks OpenBLAS, NumPy's BLAS, for one thread unless the
environment says otherwise (``OPENBLAS_NUM_THREADS``): the threads it would
start, and spin, as NumPy is imported cost a one-second file's run about
60 ms of CPU, and as much time on a busy machine.
"""

import gc
import os
import signal
import sys

#: what a Ctrl-C before the program handles signals says (as it does later)
_INTERRUPTED = b"Error: interrupted by SIGINT; no output written\n"


def _interrupted(signum, frame) -> None:  # pragma: no cover - ends the process
    """Ctrl-C during the start-up's imports: the line and exit code of a later one
    (130), not Python's traceback of ``KeyboardInterrupt``; nothing is written yet."""
    try:
        os.write(2, _INTERRUPTED)
    except OSError:
        pass
    os._exit(128 + signum)


def main() -> None:
    """The ``resdenoise`` program: :func:`resdenoise.cli.main`, after a frozen start-up.

    Until the command line handles signals itself, Ctrl-C ends the program as it
    would later, quietly but for its one line (:func:`_interrupted`); where SIGINT was
    ignored on entry (a background job), it stays ignored."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)
    if "numpy" not in sys.modules:  # read by OpenBLAS as NumPy loads it, not after
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    enabled = gc.isenabled()
    gc.disable()
    try:
        from .cli import main as run
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
    run()


if __name__ == "__main__":
    main()
