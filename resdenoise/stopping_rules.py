"""The names of the automatic stopping rules, apart from their implementation.

:mod:`resdenoise.autoparams` implements them and imports the engine; the
command line only needs the names to build its ``--stopping-rule`` option,
and gets them from here without that import (``resdenoise --help`` starts
faster).
"""

#: The stopping rules :func:`resdenoise.stopping_search.choose_steps` knows.
RULES = ("sure", "decorrelation", "noise2self")
DEFAULT_RULE = "sure"
