"""An automatic choice kept inside the range its output file holds (audit14a A7).

A file's sample type bounds what it can hold (integer PCM: -1 up to just below 1); a
candidate whose output leaves that range is left out and the best of the others taken,
said in a warning: never clipped.  Used by :func:`resdenoise.automatic.choose_denoiser`
(``bounds=``); knows nothing of files (the bounds come from the caller).
"""

from __future__ import annotations

import numpy as np


def within(f, plan, extra, bounds, search, candidates):
    """``(plan, extra)``: the choice ``plan`` where its output on ``f`` stays in ``bounds``
    (``lo, hi``), else ``search(candidates=...)`` again without the chosen candidate, until
    one stays in (or none is left: the last choice, which the caller refuses to clip).
    The plan returned knows its output on ``f`` (:meth:`resdenoise.filters.Plan.with_output`):
    run on ``f`` again (the file's run), it is not computed twice."""
    lo, hi = (float(b) for b in bounds)
    left = []
    if not (float(np.min(f)) >= lo and float(np.max(f)) <= hi):  # the input itself does not fit
        return plan, extra
    while plan.steps:
        out = plan.run(f)
        if float(np.min(out)) >= lo and float(np.max(out)) <= hi:
            plan = plan.with_output(f, out)
            break
        label = extra.get("automatic_choice")
        rest = tuple(c for c in candidates if c[0] != label)
        if not rest or len(rest) == len(candidates):
            break
        left.append(label)
        candidates = rest
        plan, extra = search(candidates=candidates)
    if left:
        note = (
            f"left out: {'; '.join(left)} (the output leaves {lo:g} .. {hi:g}, the range "
            "the output file holds); chosen among the other candidates"
        )
        extra = {
            **extra,
            "automatic_reason": f"{extra.get('automatic_reason', '')}; {note}",
            "warnings": [*extra.get("warnings", []), note],
        }
    return plan, extra
