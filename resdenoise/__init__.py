"""resdenoise: stable, explainable 1D signal denoising with diffusion blocks.

Implements Alt, Weickert and Peter, "Translating Diffusion, Wavelets, and
Regularisation into Residual Networks" (2020): nonlinear diffusion, iterated
shift-invariant Haar shrinkage, variational regularisation and residual
networks are all computed by one engine, chained blocks
``u <- u + tau * D- Phi(D+ u)``.

The library imports neither click nor rich.
"""

import _signal  # built in, loaded already: signal.py's import (its enums) comes after the handlers
import os
import sys

#: The start-up handlers' signals' names (``signal.Signals``' names, without importing it).
_NAME_OF = {getattr(_signal, n): n for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(_signal, n)}


def _interrupted(signum, frame) -> None:  # pragma: no cover - ends the process
    """A signal during the program's start-up imports (Ctrl-C, SIGTERM, SIGHUP): the line
    and exit code of a later one (130, 143, 129), not Python's traceback of
    ``KeyboardInterrupt``; nothing is written yet."""
    try:
        os.write(2, f"Error: interrupted by {_NAME_OF.get(signum)}; no output written\n".encode())
    except (OSError, ValueError):
        pass
    os._exit(128 + signum)


def _is_program() -> bool:
    """Whether this process is the ``resdenoise`` program (its script, or ``python -m
    resdenoise``) rather than a program that imports the library."""
    given = iter(getattr(sys, "orig_argv", [])[1:])
    for arg in given:  # the interpreter's options, up to -m, -c or the script
        if arg == "-m":
            return next(given, None) == "resdenoise"
        if arg in ("-X", "-W"):  # (their values: not the script)
            next(given, None)
        elif arg == "-c" or not arg.startswith("-"):
            break
    return bool(sys.argv) and os.path.basename(sys.argv[0]) == "resdenoise"


def _early_handlers() -> None:
    """The program's start-up handlers of Ctrl-C, SIGTERM and SIGHUP (each where not ignored
    on entry, ``nohup``).  SIGTERM's is needed where the process is PID 1 (a container
    without an init): the kernel drops a signal whose action is the default for a PID
    namespace's init, and a ``docker stop`` in the first half second was lost (the run went
    on to exit 0)."""
    for name, default in (
        ("SIGINT", _signal.default_int_handler),
        ("SIGTERM", _signal.SIG_DFL),
        ("SIGHUP", _signal.SIG_DFL),
    ):
        signum = getattr(_signal, name, None)
        if signum is not None and _signal.getsignal(signum) is default:
            _signal.signal(signum, _interrupted)


# The program's handlers, installed as its first step: the console script imports this
# package before __main__.main runs.
if _is_program():
    _early_handlers()

import importlib  # noqa: E402 - after the handler
from typing import TYPE_CHECKING  # noqa: E402

from .errors import (  # noqa: E402
    ParameterError,
    ResdenoiseError,
    ResdenoiseWarning,
    SignalError,
    UnstableError,
)

if TYPE_CHECKING:  # what a type checker sees of the lazy names below: their real types
    from .api import diffuse, regularise, resnet, shrink
    from .engine import run_blocks
    from .nonlinearities import (
        NONLINEARITIES,
        Nonlinearity,
        available_nonlinearities,
        from_function,
        get_nonlinearity,
    )
    from .stability import check_tau

#: Public names and the module each lives in.  They are imported on first use
#: (PEP 562), so ``import resdenoise.cli`` for ``resdenoise --help`` stays cheap.
_LAZY = {
    "run_blocks": ".engine",
    "diffuse": ".api",
    "regularise": ".api",
    "resnet": ".api",
    "shrink": ".api",
    "NONLINEARITIES": ".nonlinearities",
    "Nonlinearity": ".nonlinearities",
    "available_nonlinearities": ".nonlinearities",
    "from_function": ".nonlinearities",
    "get_nonlinearity": ".nonlinearities",
    "check_tau": ".stability",
}


def __getattr__(name: str) -> object:
    if name == "__version__":  # the commit read from .git on first use, not at every start
        from ._revision import version

        globals()[name] = value = version()
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'resdenoise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


#: ``__version__``: the release and, where known, the commit, ``0.1.0+g0123456789ab``
#: (:mod:`._revision`), made on first use by :func:`__getattr__`.

__all__ = [
    "NONLINEARITIES",
    "Nonlinearity",
    "ParameterError",
    "ResdenoiseError",
    "ResdenoiseWarning",
    "SignalError",
    "UnstableError",
    "available_nonlinearities",
    "check_tau",
    "diffuse",
    "from_function",
    "get_nonlinearity",
    "regularise",
    "resnet",
    "run_blocks",
    "shrink",
    "__version__",
]
