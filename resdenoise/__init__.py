"""resdenoise: stable, explainable 1D signal denoising with diffusion blocks.

Implements Alt, Weickert and Peter, "Translating Diffusion, Wavelets, and
Regularisation into Residual Networks" (2020): nonlinear diffusion, iterated
shift-invariant Haar shrinkage, variational regularisation and residual
networks are all computed by one engine, chained blocks
``u <- u + tau * D- Phi(D+ u)``.

The library imports neither click nor rich.
"""

import importlib
from typing import TYPE_CHECKING

from .errors import ParameterError, ResdenoiseError, SignalError, UnstableError

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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'resdenoise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "NONLINEARITIES",
    "Nonlinearity",
    "ParameterError",
    "ResdenoiseError",
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
