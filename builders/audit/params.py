"""What the `gbhub audit` command line needs before any audit runs: the parts, the parameters of the
near-duplicate search and of the shortcut probes, and the audit's error, all without numpy or pandas (so that
building the CLI parser imports none of the audit machinery; `common`, `similarity`, `shortcuts` and `pipeline`
re-export them under their old names)."""

from __future__ import annotations

from dataclasses import dataclass

from gbhub.builders.errors import GBHubError

PARTS = ("duplicates", "overlap", "near_duplicates", "shortcuts", "contigs")


class AuditError(GBHubError, ValueError):
    """An audit cannot run: a config is missing or its files disagree; says how to fix it."""


@dataclass(frozen=True)
class SimilarityParams:
    """Parameters of the near-duplicate search (all recorded in the report).

    Attributes:
        k: k-mer length (8-16), or None: the smallest k from 12 to 16 with `4**k >= 4 N`, N being the dataset's
            k-mers, so that a sampled k-mer of a query matches less than one reference entry by chance (12 up to
            ~4 M k-mers, e.g. 16,000 sequences of 251 bp; 15 for `human_ensembl_regulatory`'s 124 M). k-mers are
            canonical (the smaller of a k-mer and its reverse complement), so a sequence and its reverse complement
            match; k-mers with `N` are skipped. A sequence shorter than k has no k-mer and is compared exactly
            (identical or reverse-complement sequence).
        min_identity: identity (matching bases over the aligned stretch, `anchored_alignment`) at or above which
            a pair is a near-duplicate.
        min_coverage: share of the shorter sequence the aligned stretch covers, at or above which a pair is a
            near-duplicate. A short sequence inside a longer one has coverage 1: containment, not Jaccard
            similarity, is measured. Candidates are picked on k-mer estimates of both (`match_pairs`, `_pick`):
            a copy at identity p keeps about `p ** k` of its k-mers (Mash, Ondov et al. 2016).
        scale: FracMinHash scale s: a k-mer is kept when its hash falls in the lowest 1/s of the hash range,
            so every sequence keeps the same k-mers (Irber et al. 2022). 0: 1 (every k-mer) unless the dataset
            has more than `max_kmers` k-mers, then the smallest s that keeps at most that many.
        max_kmers: memory bound of the automatic scale (about 40 bytes per kept k-mer at the peak).
        max_postings: a k-mer held by more rows than this (repeats, low-complexity sequence) is masked in every
            row, like the k-mer masking of MMseqs2's prefilter; how many were masked is reported.
        max_candidates: reference rows aligned per query row (those sharing the most k-mers first).
        seed: hash seed.
        max_examples: flagged pairs listed in the report (the most similar first).
    """

    k: int | None = None
    min_identity: float = 0.85
    min_coverage: float = 0.8
    scale: int = 0
    max_kmers: int = 30_000_000
    max_postings: int = 200
    max_candidates: int = 16
    seed: int = 0
    max_examples: int = 50

    def __post_init__(self):
        if self.k is not None and not 8 <= self.k <= 16:
            raise AuditError(f"near-duplicate k must be 8-16, got {self.k}")
        if not 0 < self.min_identity <= 1:
            raise AuditError(f"the near-duplicate identity threshold must be in (0, 1], got {self.min_identity}")
        if not 0 < self.min_coverage <= 1:
            raise AuditError(f"the near-duplicate coverage threshold must be in (0, 1], got {self.min_coverage}")
        if self.scale < 0 or self.max_kmers < 1 or self.max_postings < 2 or self.max_candidates < 1 or self.max_examples < 0:
            raise AuditError("near-duplicate scale must be >= 0, max_kmers >= 1, max_postings >= 2, "
                             "max_candidates >= 1 and max_examples >= 0")


@dataclass(frozen=True)
class ProbeParams:
    """Parameters of the shortcut probes (recorded in the report).

    Attributes:
        length_bins: quantile bins of train for the binned length probe.
        bin_size: genomic bin (bp) of the position probe: rows are binned by their midpoint.
        window: width (bp) of the per-position windows.
        stride: step (bp) between windows.
        max_positions: positions scanned from each end (at most; only positions reached by half the train rows).
        max_train_rows: train rows the logistic regressions are fitted on (a seeded subset when there are more).
        bootstrap: stratified bootstrap resamples of the test rows for the AUROC interval.
        seed: seed of the subsets, of the inner split that picks a window and of the bootstrap.
    """

    length_bins: int = 32
    bin_size: int = 1_000_000
    window: int = 20
    stride: int = 10
    max_positions: int = 500
    max_train_rows: int = 20_000
    bootstrap: int = 200
    seed: int = 0

    def __post_init__(self):
        for name in ("length_bins", "bin_size", "window", "stride", "max_positions",
                     "max_train_rows"):
            if getattr(self, name) < 1:
                raise AuditError(f"probe parameter {name} must be >= 1, got {getattr(self, name)}")
        if self.bootstrap < 0:
            raise AuditError(f"bootstrap resamples must be >= 0, got {self.bootstrap}")
