"""The click parameter types of the options: numbers > 0 or auto, counts, names of a form, levels."""

from __future__ import annotations

import math

import click

from ..nonlinearities import (
    FORM_SPELLINGS,
    NONLINEARITIES,
    names_for_form,
    normalise_name,
    unknown_name,
)


class PositiveOrAuto(click.ParamType):
    """A finite number > 0 (an integer >= 1 with ``integer``), or the word ``auto``.

    ``auto`` becomes :data:`resdenoise.plans.AUTO`, which the library
    reads as "choose from the data".
    """

    def __init__(self, integer: bool = False):
        self.integer = integer
        self.name = "N|auto" if integer else "NUMBER|auto"

    def convert(self, value, param, ctx):
        from ..plans import AUTO  # not at start-up: --help needs no plans

        if isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        if value == AUTO or value is None:
            return value
        try:
            x = int(value) if self.integer else float(value)
        except (TypeError, ValueError):
            what = "a whole number" if self.integer else "a number"
            self.fail(f"{value!r} is neither {what} nor 'auto'", param, ctx)
        if self.integer and x < 1:
            self.fail(f"{value!r} must be a whole number >= 1, or 'auto'", param, ctx)
        if not self.integer and not (math.isfinite(x) and x > 0):
            self.fail(f"{value!r} must be a finite number > 0, or 'auto'", param, ctx)
        return x


class NameChoice(click.Choice):
    """A registry name of one form: any case, ``_`` or ``-``; an unknown name is
    refused with the closest name, or the form where it lives."""

    def __init__(self, form: str, auto: bool = False, parametrised: bool = False):
        from ..nonlinearities import PARAMETRISED_FAMILIES

        names = [*names_for_form(form), *(PARAMETRISED_FAMILIES if parametrised else ())]
        super().__init__([*names, "auto"] if auto else names, case_sensitive=False)
        self.form = form

    def get_metavar(self, param, ctx=None):
        return "NAME"

    def convert(self, value, param, ctx):
        name = normalise_name(str(value))
        if name in self.choices:
            return name
        self.fail(unknown_name(str(value), self.form), param, ctx)


def name_help(form: str) -> str:
    """The help of ``--FORM NAME``: the family keys, then the aliases with their family."""
    from ..nonlinearities import resolve_name

    keys = list(NONLINEARITIES)
    others = [n for n in names_for_form(form) if n not in NONLINEARITIES]
    aliases = [
        f"{n} ({resolve_name(n, form).key})" for n in others if resolve_name(n, form).key != n
    ]
    extra = [resolve_name(n, form) for n in others if resolve_name(n, form).key == n]
    stable = [e.key for e in extra if e.g_min >= 0.0 and math.isfinite(e.g_max)]
    refused = [e.key for e in extra if e.key not in stable]
    text = f"The {form}. Families: {', '.join(keys)}. Aliases: {', '.join(aliases)}."
    if stable:
        text += (
            f" Not odd, stable all the same (g >= 0 and bounded; the filter does not commute "
            f"with negation): {', '.join(stable)}."
        )
    if refused:
        text += f" Outside the stability theorem (refused unless --allow-unstable): {', '.join(refused)}."
    return text


def flag_spellings(form: str, suffix: str = "") -> list[str]:
    """``--regulariser`` and ``--regularizer`` (US): a form's flags, British first."""
    us = [us for us, gb in FORM_SPELLINGS.items() if gb == form]
    return [f"--{form}{suffix}"] + [f"--{name}{suffix}" for name in us]


class PlotSize(click.ParamType):
    """``WIDTHxHEIGHT`` in pixels."""

    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            w, h = (int(v) for v in str(value).lower().split("x"))
        except ValueError:
            self.fail(f"{value!r} is not WIDTHxHEIGHT in pixels, e.g. 1200x800", param, ctx)
        if not (50 <= w <= 20000 and 50 <= h <= 20000):
            self.fail(f"{value!r}: width and height must be 50 to 20000 pixels", param, ctx)
        return w, h


class Positive(click.FloatRange):
    """A finite number > 0 (up to 1e300): click's FloatRange lets 'nan' through,
    which then failed later under another name (``--h nan`` as a bad automatic
    lambda, ``translate --tau nan --check`` as unstable).  Said in words, in help
    (``NUMBER``, ``[> 0]``) and errors (``'0' is not a finite number > 0``), not in
    click's ``FLOAT RANGE``, ``0.0<x<=1e+300``."""

    name = "number"

    def __init__(self):
        super().__init__(min=0.0, min_open=True, max=1e300)

    def get_metavar(self, param, ctx=None):
        return "NUMBER"

    def _describe_range(self) -> str:
        return "> 0"

    def convert(self, value, param, ctx):
        try:
            x = super().convert(value, param, ctx)
        except click.BadParameter:
            x = math.nan
        if math.isnan(x):
            self.fail(f"{value!r} is not a finite number > 0", param, ctx)
        return x


class Count(click.IntRange):
    """A whole number from ``low`` (to ``high``), said in words: ``N``, ``[>= 1]``,
    ``'abc' is not a whole number >= 1`` (click's ``INTEGER RANGE``, ``x>=1``, ``is not
    a valid integer range`` before)."""

    name = "whole number"

    def __init__(self, low: int = 1, high: int | None = None):
        super().__init__(min=low, max=high)

    def get_metavar(self, param, ctx=None):
        return "N"

    def _describe_range(self) -> str:
        return f">= {self.min}" if self.max is None else f"from {self.min} to {self.max}"

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{value!r} is not a whole number {self._describe_range()}", param, ctx)


POSITIVE = Positive()


class Levels(click.ParamType):
    """``--sigma``: one noise level > 0, or one per channel separated by commas
    (``0.01,0.05``): a float, or a tuple of two or more."""

    name = "SIGMA[,SIGMA...]"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        levels = tuple(POSITIVE.convert(v.strip(), param, ctx) for v in value.split(","))
        return levels[0] if len(levels) == 1 else levels


LEVELS = Levels()


COUNT = Count()


NUMBER_OR_AUTO = PositiveOrAuto()


COUNT_OR_AUTO = PositiveOrAuto(integer=True)
