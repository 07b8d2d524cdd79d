"""The paper's guarantees of a group of blocks of stride s, measured where they hold:
on each of the s interleaved subsequences ``x[r::s]`` on its own (a strided network
group, a scale of :mod:`resdenoise.multiscale`, a level's block on its box averages in
:mod:`resdenoise.multilevel`), not on the whole signal, which may gain sign changes."""

from __future__ import annotations

import numpy as np

from . import stability

__all__ = ["group_entry", "subsequence_checks", "subsequence_failures"]


def _as_subsequences(x2: np.ndarray, stride: int) -> np.ndarray:
    """The ``stride`` interleaved subsequences ``x2[r::stride]`` of each column of ``x2``
    (rows x columns, ``stride <= rows``) side by side as columns, the shorter ones
    ended by their own last sample repeated (which adds no sign change, no total
    variation and no new extreme)."""
    n = x2.shape[0]
    rows = -(-n // stride)
    ext = np.empty((rows * stride, x2.shape[1]), dtype=x2.dtype)
    ext[:n] = x2
    ext[n:] = x2[n - stride : rows * stride - stride]  # sample i - s: the same subsequence's last
    return ext.reshape(rows, stride * x2.shape[1])


def subsequence_checks(before, after, stride: int, blocks: int, sign_stable: bool) -> dict:
    """What a group of ``blocks`` blocks of stride ``stride`` guarantees, measured: the
    paper's theorem holds for each interleaved subsequence ``x[r::stride]`` on its own
    (max-min principle, total variation, and no new sign changes where the group is
    ``sign_stable``), not for the whole signal.  ``before``/``after``: the group's input
    and output (samples first).  ``{"max_min_principle", "tv_diminished",
    "sign_changes_kept"}``, each True when it held in every subsequence of every channel."""
    a = np.asarray(before, dtype=float)
    a = a.reshape(a.shape[0], -1)
    b = np.asarray(after, dtype=float).reshape(a.shape)
    s = max(1, min(int(stride), a.shape[0]))  # past the length: subsequences of one sample
    checks, _ = stability.measure_channels(_as_subsequences(a, s), _as_subsequences(b, s), blocks)
    return {
        "max_min_principle": all(c.max_min_principle for c in checks),
        "tv_diminished": all(c.tv_diminished for c in checks),
        "sign_changes_kept": not sign_stable
        or all(c.sign_changes_out <= c.sign_changes_in for c in checks),
    }


def subsequence_failures(where: str, stride: int, held: dict) -> list[str]:
    """The checks of :func:`subsequence_checks` that failed, as sentences about ``where``."""
    what = {
        "max_min_principle": "left its range",
        "tv_diminished": "gained total variation",
        "sign_changes_kept": "gained sign changes",
    }
    return [
        f"{where}: a subsequence of stride {stride} {what[k]}"
        for k in what
        if not held.get(k, True)
    ]


def group_entry(head: dict, before, after, stride: int, blocks: int, verdict, where: str) -> dict:
    """One group's report entry: ``head`` (its own keys, first), the stability
    ``verdict`` (:func:`resdenoise.stability.check_tau`), what held in each subsequence
    (:func:`subsequence_checks`) and the failures about ``where``."""
    held = subsequence_checks(before, after, stride, blocks, verdict.sign_stable)
    return {
        **head,
        "stability": {
            "linf_stable": verdict.linf_stable,
            "sign_stable": verdict.sign_stable,
            "tau_linf_bound": verdict.tau_linf_bound,
        },
        "per_subsequence": held,
        "failed": subsequence_failures(where, stride, held),
    }
