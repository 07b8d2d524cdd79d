"""What a data-driven stopping search found (:func:`resdenoise.stopping_search.choose_steps`):
the chosen block count, the criterion curve that chose it and, where kept, the run
at that count."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["StoppingChoice", "search_phase", "steady"]


def search_phase(i: int, n: int) -> str:
    """The progress phase of candidate ``i`` of ``n`` (from 1) in a search over
    candidates: ``"search"`` for one, else ``"search i/n"``."""
    return "search" if n == 1 else f"search {i}/{n}"


def steady(progress, phase: str, done: int, total: int, *_search) -> None:
    """``progress(phase, done, total)``, whatever a search inside tells (its own
    ``progress``): an outer bar over candidates is told again as each goes, so that
    its clock moves (:func:`resdenoise.automatic.choose_denoiser`, the learn warm start)."""
    progress(phase, done, total)


@dataclass(frozen=True)
class StoppingChoice:
    """The chosen number of blocks and the criterion curve that chose it.

    ``blocks[i]`` is a block count at which the criterion was evaluated and
    ``criterion[i]`` its value there (total over channels; for ``sure`` and
    ``noise2self`` an estimate of the mean squared error per sample).
    """

    steps: int
    rule: str
    sigma: tuple[float, ...]
    blocks: tuple[int, ...]
    criterion: tuple[float, ...]
    reached_cap: bool
    #: why the search ended: "plateau" (SURE flat within its noise), "horizon" (no
    #: better block count for long enough), "cap" (max_blocks), "whole curve" (a search
    #: cheap enough to see every block count up to max_blocks)
    stopped_by: str = "horizon"
    #: samples per channel SURE was summed over: the signal's length, or the cores of
    #: the windows of a windowed search (:func:`sample_windows`)
    samples: int = 0
    #: SURE's per-chunk contributions at the chosen block count (``sure`` only): the
    #: lambda search compares candidates by their paired chunk differences
    best_parts: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: the blocks the search ran, where the curve is not the search's own (a windowed
    #: search's curve is the whole signal's around the windows' choice)
    searched: int | None = None
    #: the filtered signal at the chosen block count (n, channels), where the search
    #: was asked to keep it (a windowed search's exact run on the whole signal)
    output: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: :func:`resdenoise.sure.gain_sums` of that run (``sure`` only): the gain test at any noise level
    gain_sums: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def blocks_searched(self) -> int:
        """How far the search ran (blocks)."""
        return self.blocks[-1] if self.searched is None else self.searched

    @property
    def best(self) -> float:
        """The criterion at the chosen block count."""
        return self.criterion[self.blocks.index(self.steps)]

    @property
    def at_zero(self) -> float | None:
        """The criterion at zero blocks (the input itself), where it was evaluated; else None."""
        return self.criterion[self.blocks.index(0)] if 0 in self.blocks else None

    def as_dict(self) -> dict:
        return {
            "stopping_rule": self.rule,
            "stopping_criterion": self.best,
            "blocks_searched": self.blocks_searched,
            "search_reached_cap": self.reached_cap,
            "search_stopped_by": self.stopped_by,
            "search_samples": self.samples,
        }
