"""A run's report as JSON text.

Takes the dictionary built by :func:`resdenoise.filters.analyse_run` (or the
pre-run part of it) and knows nothing about how the numbers were made.  It
renders nothing: the tables are drawn by :mod:`resdenoise.cli.render`.
"""

from __future__ import annotations

import json
import math

__all__ = ["to_json"]


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def to_json(report: dict) -> str:
    """The report as JSON text; infinite numbers become ``null``."""
    return json.dumps(_clean(report), indent=2, allow_nan=False) + "\n"
