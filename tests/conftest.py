"""Shared fixtures: a seeded random generator."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A generator with a fixed seed, so every test is repeatable."""
    return np.random.default_rng(20200207)
