"""resdenoise: stable, explainable 1D signal denoising with diffusion blocks.

Implements Alt, Weickert and Peter, "Translating Diffusion, Wavelets, and
Regularisation into Residual Networks" (2020): nonlinear diffusion, iterated
shift-invariant Haar shrinkage, variational regularisation and residual
networks are all computed by one engine, chained blocks
``u <- u + tau * D- Phi(D+ u)``.

The library imports neither click nor rich.
"""

from .engine import run_blocks
from .errors import ParameterError, ResdenoiseError, SignalError, UnstableError
from .filters import diffuse, regularise, resnet, shrink
from .nonlinearities import (
    NONLINEARITIES,
    Nonlinearity,
    available_nonlinearities,
    from_function,
    get_nonlinearity,
)
from .stability import check_tau

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
