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
import sys

import resdenoise  # the package: its start-up handler of Ctrl-C


def main() -> None:
    """The ``resdenoise`` program: :func:`resdenoise.cli.main`, after a frozen start-up.

    Until the command line handles signals itself, Ctrl-C, SIGTERM and SIGHUP end the
    program as they would later, quietly but for its one line
    (:func:`resdenoise._interrupted`, which the package installs as its first step where
    the process is the program); a signal ignored on entry (a background job's SIGINT,
    ``nohup``'s SIGHUP) stays ignored."""
    resdenoise._early_handlers()
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
