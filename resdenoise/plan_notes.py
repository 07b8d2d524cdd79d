"""A plan maker's notes: do-no-harm as report entries, a warning added, the library's words."""

from __future__ import annotations

import re
from typing import Final


def _no_harm(
    plan,
    extra: dict,
    u,
    level,
    tested=None,
    at_low=None,
    sums=None,
    labels=None,
    shift=0,
    distrusted=None,
    identity=None,
):
    """The automatic search's plan under the do-no-harm rules of ``resdenoise denoise``
    (:func:`resdenoise.automatic.do_no_harm`: the 25 %-share rule and the
    significance test, white-noise SURE with the search's level), and the report's
    entries (the gain and, when the input is kept, why).  ``tested``: the gain
    test's ``(gain, se)`` when the search measured it on the whole signal, and
    ``sums`` its run's :func:`resdenoise.sure.gain_sums`; ``labels`` name the channels;
    ``distrusted``: the channels whose level is not trusted, as
    :func:`resdenoise.automatic.pass_untrusted` read them (None: read here); ``identity``:
    the search's criterion at zero blocks, the output's where the input is kept
    (:func:`resdenoise.automatic.kept_input`)."""
    import numpy as np

    from .automatic import do_no_harm, kept_input

    plan, refused, note, tested = do_no_harm(
        plan,
        np.asarray(u),
        level,
        tested=tested,
        at_low=at_low,
        sums=sums,
        labels=labels,
        shift=shift,
        distrusted=distrusted,
    )
    extra = {**extra, **tested}
    if refused is not None:
        extra = kept_input(extra, identity)
        extra["do_no_harm"] = refused
        extra["warnings"] = [note]
    elif "backed_off_to" in tested:
        extra["do_no_harm"] = tested["low_end"]
        extra["warnings"] = [f"{tested['low_end']}; {tested['backed_off_to']} is used"]
    return plan, extra


#: A noise level given where nothing is chosen from the data (lambda given, the blocks fixed).
SIGMA_UNUSED: Final = (
    "the noise level given (--sigma) is not used: {given} is given and nothing is chosen "
    "from the data (--sigma sets the automatic {given} and the automatic stopping)"
)


def sigma_unused(command: str) -> str:
    """:data:`SIGMA_UNUSED` naming what the command was given: shrink's threshold
    (its lambda is sqrt2 theta, given by none), the others' lambda."""
    return SIGMA_UNUSED.format(given="threshold" if command == "shrink" else "lambda")


#: The command line's options that the planners' notes (``extra["warnings"]``) name, as
#: the one-call functions (:mod:`resdenoise.api`) take them: the notes are the command
#: line's words (its output and report print them as they are); the library restates
#: them with :func:`in_library_words`, as the command line restates an error's
#: parameters (:meth:`resdenoise.errors.ResdenoiseError.restate`).
LIBRARY_SPELLING: Final = {
    "--sigma": "sigma",
    "--scales": "scales",
    "--columns": "one call per column of u",
}


def in_library_words(note: str) -> str:
    """A planner's note with the options it names spelt as the library's keyword arguments.

    Examples
    --------
    >>> in_library_words("nothing done: ...; give --sigma if you know the noise level")
    'nothing done: ...; give sigma if you know the noise level'
    """
    for option, keyword in LIBRARY_SPELLING.items():
        note = re.sub(re.escape(option) + r"(?![\w-])", keyword, note)
    return note


def _warned(extra: dict, note: str | None) -> dict:
    """``extra`` with ``note`` added to its warnings (as it is where ``note`` is None)."""
    if note is None:
        return extra
    return {**extra, "warnings": [*extra.get("warnings", []), note]}
