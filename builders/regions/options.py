"""How `gbhub create` draws negatives: the options alone, without numpy or pandas (the CLI parser reads their
defaults; `gbhub.builders.regions.negatives` re-exports `NegativeOptions`)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class NegativeOptions:
    """How negatives are drawn (recorded in the spec).

    Attributes:
        ratio: negatives per positive.
        margin: bp around each positive that no negative may touch.
        gc_tolerance: GC bin width (rounded down to 1/integer).
        repeat_tolerance: repeat-fraction bin width, or None to not match repeats (always None when the
            reference has no soft mask).
        max_n_fraction: most N (any non-ACGT base) a negative may hold.
        background: `positive-contigs` (only contigs holding positives of the same split, so no contig is
            negative-only) or `genome` (every contig of the split).
        max_draws: candidate windows drawn per negative needed, at most, before a cell is widened to its
            neighbouring bins (up to `MAX_WIDENING` bins each way; then sampling gives up).
    """

    ratio: int = 1
    margin: int = 500
    gc_tolerance: float = 0.02
    repeat_tolerance: float | None = 0.1
    max_n_fraction: float = 0.0
    background: str = "positive-contigs"
    max_draws: int = 2_000

    def bins(self) -> tuple[int, int]:
        """`(GC bins, repeat bins)` per unit: bins are `1/bins` wide."""
        gc = math.ceil(1 / self.gc_tolerance - 1e-9)
        rep = math.ceil(1 / self.repeat_tolerance - 1e-9) if self.repeat_tolerance else 1
        return gc, rep
