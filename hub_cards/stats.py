"""Per-config statistics of a built benchmark (the columns of Table 1 of the Genomic Benchmarks paper)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gbhub.builders.hub_layout import SPLITS, split_files

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))


@dataclass(frozen=True)
class SplitColumns:
    """The per-row values statistics are computed from, for one split.

    Attributes:
        labels: class ids, shape `(rows,)`.
        lengths: sequence lengths in bases, shape `(rows,)`.
        gc: GC fraction of each sequence over its A/C/G/T bases (NaN when it has none), shape `(rows,)`.
    """

    labels: np.ndarray
    lengths: np.ndarray
    gc: np.ndarray


@dataclass(frozen=True)
class ConfigStats:
    """Statistics of one config, all splits together unless a field says otherwise.

    Attributes:
        classes: class names in ClassLabel order.
        num_sequences: rows over all splits.
        class_ratio: rows of the biggest class divided by rows of the smallest class.
        median_length: median sequence length (bases).
        length_std: population standard deviation (ddof=0) of the sequence length.
        split_class_counts: `{split: {class: rows}}`, splits in `train, validation, test` order.
        split_rows: `{split: {"num_sequences", "class_ratio", "median_length", "length_std"}}`.
        gc_by_class: `{class: mean GC fraction}` over all splits.
        lengths_by_class: `{class: lengths}` over all splits (for plots).
        gc_values_by_class: `{class: GC fractions}` over all splits (for plots).
    """

    classes: tuple[str, ...]
    num_sequences: int
    class_ratio: float
    median_length: float
    length_std: float
    split_class_counts: dict[str, dict[str, int]]
    split_rows: dict[str, dict[str, float]]
    gc_by_class: dict[str, float]
    lengths_by_class: dict[str, np.ndarray] = field(repr=False)
    gc_values_by_class: dict[str, np.ndarray] = field(repr=False)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


def gc_fraction(sequence: str) -> float:
    """GC fraction of `sequence` over its unambiguous bases (`N` and other letters are not counted).

    Returns NaN for a sequence with no A, C, G or T.
    """
    seq = sequence.upper()
    gc = seq.count("G") + seq.count("C")
    acgt = gc + seq.count("A") + seq.count("T")
    return gc / acgt if acgt else math.nan


def gc_fractions(sequences: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Vectorised `gc_fraction` over an Arrow string array of upper-case sequences, shape `(rows,)`."""
    counts = {base: pc.count_substring(sequences, base).to_numpy(zero_copy_only=False).astype(np.int64)
              for base in "ACGT"}
    gc = counts["G"] + counts["C"]
    acgt = gc + counts["A"] + counts["T"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(acgt > 0, gc / np.maximum(acgt, 1), np.nan)


def class_counts(labels: Iterable[int], classes: Sequence[str]) -> dict[str, int]:
    """Rows per class name (every class listed, zero included), in ClassLabel order."""
    labels = np.asarray(labels if isinstance(labels, np.ndarray) else list(labels), dtype=np.int64)
    counts = np.bincount(labels, minlength=len(classes))
    return {name: int(counts[i]) for i, name in enumerate(classes)}


def class_ratio(counts: Mapping[str, int]) -> float:
    """Biggest class count divided by smallest (Table 1's "class ratio"); `inf` when a class is empty."""
    values = list(counts.values())
    if not values or max(values) == 0:
        return math.nan
    return math.inf if min(values) == 0 else max(values) / min(values)


def length_summary(lengths: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """`(median, population standard deviation)` of sequence lengths; NaNs when empty."""
    arr = np.asarray(lengths, dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan
    return float(np.median(arr)), float(np.std(arr))


def size_category(num_examples: int) -> str:
    """The Hub's `size_categories` value for a dataset of `num_examples` rows."""
    for bound, name in SIZE_CATEGORIES:
        if num_examples < bound:
            return name
    return "n>100M"


def summarize(classes: Sequence[str], splits: Mapping[str, SplitColumns]) -> ConfigStats:
    """Compute a config's statistics from its per-split columns.

    Args:
        classes: class names in ClassLabel order.
        splits: `{split: SplitColumns}`; ordered as given.

    Returns:
        The config's `ConfigStats`.
    """
    classes = tuple(classes)
    labels = np.concatenate([s.labels for s in splits.values()]) if splits else np.zeros(0, np.int64)
    lengths = np.concatenate([s.lengths for s in splits.values()]) if splits else np.zeros(0, np.int64)
    gc = np.concatenate([s.gc for s in splits.values()]) if splits else np.zeros(0)
    median, std = length_summary(lengths)
    split_rows = {}
    for name, cols in splits.items():
        s_median, s_std = length_summary(cols.lengths)
        split_rows[name] = {"num_sequences": int(cols.labels.size),
                            "class_ratio": class_ratio(class_counts(cols.labels, classes)),
                            "median_length": s_median, "length_std": s_std}
    by_class = {name: labels == i for i, name in enumerate(classes)}
    return ConfigStats(
        classes=classes,
        num_sequences=int(labels.size),
        class_ratio=class_ratio(class_counts(labels, classes)),
        median_length=median,
        length_std=std,
        split_class_counts={name: class_counts(cols.labels, classes) for name, cols in splits.items()},
        split_rows=split_rows,
        gc_by_class={name: _nanmean(gc[mask]) for name, mask in by_class.items()},
        lengths_by_class={name: lengths[mask] for name, mask in by_class.items()},
        gc_values_by_class={name: gc[mask] for name, mask in by_class.items()},
    )


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


def split_columns(table: pa.Table) -> SplitColumns:
    """`SplitColumns` of a split's Arrow table (its `label` and `sequence` columns)."""
    if table.num_rows == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SplitColumns(labels=empty, lengths=empty, gc=np.zeros(0))
    sequences = table.column("sequence")
    return SplitColumns(
        labels=table.column("label").to_numpy().astype(np.int64),
        lengths=pc.utf8_length(sequences).to_numpy().astype(np.int64),
        gc=gc_fractions(sequences),
    )


def read_split_columns(files: Sequence[Path]) -> SplitColumns:
    """Read `label` and `sequence` of a split's Parquet shards into `SplitColumns`."""
    tables = [pq.read_table(f, columns=["label", "sequence"]) for f in files]
    return split_columns(pa.concat_tables(tables)) if tables else split_columns(pa.table({"label": [], "sequence": []}))


def config_stats(out_dir: Path, config: str, classes: Sequence[str], splits: Sequence[str] = SPLITS) -> ConfigStats:
    """Statistics of `config` in the Hub-layout folder `out_dir` (its `<split>-*.parquet` per split present)."""
    columns = {split: read_split_columns(files)
               for split in splits if (files := split_files(out_dir, config, split))}
    return summarize(classes, columns)
