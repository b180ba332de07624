"""Small helpers shared by the builders tests."""

from __future__ import annotations

import numpy as np


def fetch_one(genome, region: str, start: int, end: int, strand: str = "+") -> str:
    """One interval through the vectorized `Genome.fetch`."""
    return genome.fetch(np.array([region]), np.array([start]), np.array([end]), np.array([strand == "-"]))[0].as_py()
