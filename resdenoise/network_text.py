"""A network's TOML text: :func:`format_network` writes what
:func:`resdenoise.network.parse_network` reads back, bit for bit (the keys and format
versions a network file has, shared with the parser)."""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from .nonlinearities import FORMS

__all__ = ["BLOCK_KEYS", "NAME_KEYS", "NETWORK_VERSIONS", "format_network"]

#: Keys naming a block's nonlinearity: one per block.
NAME_KEYS: Final = FORMS + tuple(f"{form}-expr" for form in FORMS)
#: Other keys of a block.
BLOCK_KEYS: Final = (
    "lambda",
    "threshold",
    "lambda-scale",
    "tau",
    "repeat",
    "scale",
    "label",
    "coefficients",
)
#: The network format: 2 reads a shrinkage block's ``threshold`` as the Haar threshold
#: (``lambda = sqrt2 threshold / h``, what ``shrink --threshold`` means); 1 (files without
#: ``version``) read it as ``lambda = sqrt2 threshold`` (the Haar threshold times h), so a
#: file of version 1 with a threshold and ``h != 1`` is refused as ambiguous.
NETWORK_VERSIONS: Final = (1, 2)


def _toml_string(value: str) -> str:
    """A TOML basic string that reads back as ``value``: characters as they are (UTF-8;
    JSON's surrogate pairs for those outside the BMP are no TOML escape), quotes and
    backslashes escaped, control characters (DEL too) as ``\\uXXXX``; refused where
    ``value`` holds a lone surrogate, which no file holds (not a Unicode scalar value)."""
    out = []
    for c in value:
        code = ord(c)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"cannot write {value!r} to a network file (a lone surrogate)")
        if c in '"\\':
            out.append("\\" + c)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _comment_line(line: str) -> str:
    """A comment line as TOML holds it: control characters but tab (which a comment may
    not hold) written as ``\\xNN``."""
    return "".join(
        c if c == "\t" or not (ord(c) < 0x20 or ord(c) == 0x7F) else f"\\x{ord(c):02x}"
        for c in line
    )


def _toml_value(value) -> str:
    """``value`` as TOML: a string, a list (tuple, NumPy array) or a number (a NumPy scalar
    as the Python number it holds: ``np.float64(0.5)`` is ``0.5``, not its repr)."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()  # Python numbers (a NumPy bool: a bool, refused below)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"cannot write {value!r} to a network file")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} to a network file")
    # float repr reads back as the same float (a subclass's own repr may not)
    return repr(float(value)) if isinstance(value, float) else repr(int(value))


def format_network(
    blocks,
    h: float | None = None,
    description: str = "",
    comment: str = "",
    stop: str | None = None,
    max_blocks: int | None = None,
    lambda_factors=None,
) -> str:
    """The TOML text of a network: ``blocks`` a sequence of dicts of block keys;
    ``stop``, ``max_blocks`` and ``lambda_factors`` the top-level ``stop``,
    ``max-blocks`` and ``lambda-factors``.

    Floats are written so that they read back bit for bit (``repr``), so
    :func:`parse_network` of the text binds the very same activations; NumPy numbers
    and arrays as the Python numbers and lists they hold (``np.float32`` by its exact
    value, ``list(c)`` of an array as the floats it holds).  A text
    where a block gives a ``threshold`` says ``version = 2`` (:data:`NETWORK_VERSIONS`):
    it reads back as written, the Haar threshold of ``shrink --threshold`` at any ``h``
    (a file without it is refused as ambiguous for ``h != 1``).
    ``comment`` lines go first, each after ``# ``.
    """
    blocks = list(blocks)
    lines = [f"# {_comment_line(line)}" for line in comment.splitlines()]
    if any("threshold" in block for block in blocks):
        lines.append(f"version = {NETWORK_VERSIONS[-1]}")  # threshold: shrink's meaning
    if description:
        lines.append(f"description = {_toml_value(description)}")
    if h is not None:
        lines.append(f"h = {_toml_value(float(h))}")
    if stop is not None:
        lines.append(f"stop = {_toml_value(stop)}")
    if max_blocks is not None:
        lines.append(f"max-blocks = {_toml_value(int(max_blocks))}")
    if lambda_factors is not None:
        lines.append(f"lambda-factors = {_toml_value([float(a) for a in lambda_factors])}")
    for block in blocks:
        lines += ["", "[[block]]"]
        for key, value in block.items():
            if key not in NAME_KEYS + BLOCK_KEYS:
                raise ValueError(f"unknown block key {key!r}")
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
