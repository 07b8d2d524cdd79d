"""audit13a (resdenoise as a Python library), the findings F14, F7, F10, F8 and F11: python
-OO, a user function that writes into its argument, lam given with a bound nonlinearity,
resdenoise.dask's messages, the library's reading of $RESDENOISE_THREADS / $RESDENOISE_ENGINE."""

from __future__ import annotations

import subprocess
import sys

# --------------------------------------------------------------------------
# F14. Under python -OO (docstrings stripped) resdenoise.api did not import: it filled the
# shared docstring sections of None.
# --------------------------------------------------------------------------


def test_every_module_imports_and_runs_without_docstrings():
    code = (
        "import importlib, pkgutil, resdenoise as rd\n"
        "for m in pkgutil.walk_packages(rd.__path__, 'resdenoise.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(rd.diffuse([0.0, 0.0, 1.0, 1.0], 'linear', lam=1.0, steps=1).tolist())\n"
    )
    done = subprocess.run(
        [sys.executable, "-OO", "-c", code], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0.0, 0.25, 0.75, 1.0]"
