"""What every audit reads: a config's rows (from its Parquet or a split plan), contig keys, encoded sequences."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gbhub.builders.assemblies import canonical_contig
from gbhub.builders.audit.params import AuditError  # noqa: F401 (defined there, light, for the CLI)
from gbhub.builders.genome import COMPLEMENT_LUT
from gbhub.builders.hub_layout import SPLITS, read_provenance, split_files
from gbhub.builders.references import REFERENCES

# Comparisons across splits: name -> (query splits, reference splits). The query rows are counted.
SPLIT_PAIRS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "validation_vs_train": (("validation",), ("train",)),
    "test_vs_train": (("test",), ("train",)),
    "test_vs_validation": (("test",), ("validation",)),
    "test_vs_train_validation": (("test",), ("train", "validation")),
}
FRAME_COLUMNS = ["split", "label", "id", "region", "start", "end", "strand"]
# Base codes: A C G T -> 0 1 2 3; anything else (N, IUPAC) -> 4, which no k-mer may contain.
BASE_CODES = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    BASE_CODES[_b] = BASE_CODES[_b + 32] = _i
_COMPLEMENT = COMPLEMENT_LUT  # the engine's table: the audit complements exactly as extraction does


@dataclass
class AuditInput:
    """The rows of one config, as the audits read them.

    Attributes:
        config: config name.
        classes: class names in label order.
        frame: `(n,)` rows with columns `FRAME_COLUMNS` (`split` in `SPLITS`, `label` int), index `0..n-1`;
            the rows of a split are contiguous, in `SPLITS` order.
        sequences: `(n,)` sequences aligned with `frame`, or None (interval audits only).
        assemblies: assembly of each label's reference (`GRCh38`, `WBcel235`, ...).
        kinds: kind of each label's reference: `genome` (contigs) or `transcriptome` (transcript ids).
        parent: the upstream-faithful config a variant derives from, or None.
        source: what was read, in words (a folder, a file, a Hub id), for the report.
        split_note: how the splits were made when the audit made them (a file with no split column), or None.
        variant: the `variant` record of a variant config's provenance (removal counts, warnings), or None.
    """

    config: str
    classes: tuple[str, ...]
    frame: pd.DataFrame
    sequences: pa.Array | None
    assemblies: dict[int, str]
    kinds: dict[int, str]
    parent: str | None = None
    source: str | None = None
    split_note: str | None = None
    variant: dict | None = None
    _keys: np.ndarray | None = field(default=None, init=False, repr=False)
    _coordinates: tuple[str, str, np.ndarray] | None = field(default=None, init=False, repr=False)
    _labels: np.ndarray | None = field(default=None, init=False, repr=False)
    _splits: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.frame = self.frame[FRAME_COLUMNS].reset_index(drop=True)
        self._labels = self.frame["label"].to_numpy(np.int64)
        self._splits = self.frame["split"].to_numpy(object)
        unknown = set(np.unique(self._splits)) - set(SPLITS)
        if unknown:
            raise AuditError(f"{self.config}: unknown split(s) {sorted(unknown)}; expected {', '.join(SPLITS)}")
        if self.sequences is not None:
            if isinstance(self.sequences, pa.ChunkedArray):
                self.sequences = self.sequences.combine_chunks()
            self.sequences = self.sequences.cast(pa.large_string())
            if len(self.sequences) != len(self.frame):
                raise AuditError(f"{self.config}: {len(self.sequences)} sequences for {len(self.frame)} rows")

    @property
    def labels(self) -> np.ndarray:
        """`(n,)` int64 label of each row."""
        return self._labels

    @property
    def splits(self) -> np.ndarray:
        """`(n,)` split name of each row (object array)."""
        return self._splits

    def split_mask(self, splits: tuple[str, ...] | str) -> np.ndarray:
        """`(n,)` bool: rows of `splits`."""
        return np.isin(self.splits, [splits] if isinstance(splits, str) else list(splits))

    def coordinates(self) -> tuple[str, str, np.ndarray]:
        """`(status, reason, rows)`: whether the rows carry real genomic coordinates.

        `status` is `present`, `placeholder` (every row is `start` 0, `end` = its length, as written for data
        with no coordinates, or has an empty `region`) or `absent` (no row names a region); `rows` is the
        `(n,)` bool mask of the rows whose coordinates are real (a non-empty `region`), all False unless
        `present`. Checks on coordinates (overlaps, contigs, genomic position) run on those rows only.
        """
        if self._coordinates is None:
            region = self.frame["region"].fillna("").astype(str).to_numpy(object)
            named = region != ""
            start = self.frame["start"].to_numpy(np.int64)
            end = self.frame["end"].to_numpy(np.int64)
            if not named.any():
                self._coordinates = ("absent", "no row names a region (contig or transcript)", np.zeros(len(region), bool))
            elif self.sequences is not None and bool(((start[named] == 0) & (end[named] == lengths(self.sequences)[named])).all()):
                self._coordinates = ("placeholder", "every row has start 0 and end = its sequence length (placeholder "
                                     "coordinates, not positions on a genome)", np.zeros(len(region), bool))
            else:
                reason = "" if named.all() else f"{int((~named).sum()):,} rows without a region are left out"
                self._coordinates = ("present", reason, named)
        return self._coordinates

    def has_coordinates(self) -> bool:
        """True when the rows carry real genomic coordinates (`coordinates()` is `present`)."""
        return self.coordinates()[0] == "present"

    def namespaces(self) -> np.ndarray:
        """`(n,)` the coordinate namespace of each row, `<assembly>/<kind>` of its class's reference."""
        names = np.array([f"{self.assemblies[i]}/{self.kinds[i]}" for i in range(len(self.classes))], dtype=object)
        return names[self.labels]

    def contig_keys(self) -> np.ndarray:
        """`(n,)` int64 codes equal exactly when two rows lie on the same contig (or transcript) of the
        same assembly, whatever the spelling (`chr1`/`1`, `chrM`/`MT`, `ENST….5`/`ENST…`)."""
        if self._keys is None:
            self._keys = pd.factorize(pd.Series(self.namespaces()) + "\t" + self.canonical_regions())[0]
            self._keys = self._keys.astype(np.int64)
        return self._keys

    def canonical_regions(self) -> pd.Series:
        """`(n,)` canonical contig name of each row (`canonical_contig`, computed once per spelling)."""
        codes, uniques = pd.factorize(self.frame["region"])
        canonical = np.array([canonical_contig(str(u)) for u in uniques], dtype=object)
        return pd.Series(canonical[codes], index=self.frame.index)

    def rows(self) -> dict[str, dict[str, int]]:
        """Rows per split and class."""
        counts = pd.crosstab(self.frame["split"], self.frame["label"])
        return {
            split: {cls: int(counts.at[split, i]) if split in counts.index and i in counts.columns else 0
                    for i, cls in enumerate(self.classes)}
            for split in SPLITS
        }


def reference_kinds(class_references: dict[str, str], classes) -> tuple[dict[int, str], dict[int, str]]:
    """`(assemblies, kinds)` by label from a provenance's `class_references`."""
    assemblies, kinds = {}, {}
    for i, cls in enumerate(classes):
        key = class_references[cls]
        ref = REFERENCES.get(key)
        assemblies[i] = ref.assembly if ref else key
        kinds[i] = ref.kind if ref else "genome"
    return assemblies, kinds


def load_config(out_dir: str | os.PathLike, config: str, *, sequences: bool = True) -> AuditInput:
    """Read config `config` of the Hub-layout folder `out_dir` (its Parquet and provenance).

    Args:
        out_dir: the folder `gbhub build --out` wrote.
        config: a config in it.
        sequences: also read the `sequence` column.
    """
    prov = read_provenance(out_dir, config, required=("classes", "class_references"))
    columns = ["id", "label", "region", "start", "end", "strand"] + (["sequence"] if sequences else [])
    tables = []
    for split in SPLITS:
        files = split_files(out_dir, config, split)
        if not files:
            raise AuditError(f"{Path(out_dir) / config} has no {split}-*.parquet; rebuild with `gbhub build {config}`")
        for path in files:
            table = pq.read_table(path, columns=columns)
            tables.append(table.append_column("split", pa.array([split] * table.num_rows, pa.string())))
    table = pa.concat_tables(tables)
    frame = table.drop_columns(["sequence"] if sequences else []).to_pandas()
    frame["label"] = frame["label"].astype(np.int64)
    classes = tuple(prov["classes"])
    assemblies, kinds = reference_kinds(prov["class_references"], classes)
    return AuditInput(config, classes, frame, table.column("sequence") if sequences else None,
                      assemblies, kinds, parent=prov.get("parent"), source=f"config {config} of {out_dir}",
                      variant=prov.get("variant"))


def from_plan(config: str, plan: pd.DataFrame, classes, class_references: dict[str, str],
              sequences: pa.Array | None = None, parent: str | None = None) -> AuditInput:
    """An `AuditInput` over a split plan (`builders.plan`), e.g. of coordinate tables with no reference."""
    assemblies, kinds = reference_kinds(class_references, classes)
    return AuditInput(config, tuple(classes), plan, sequences, assemblies, kinds, parent=parent)


# ------------------------------------------------------------------------------------------------ sequences


def string_buffers(sequences: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """`(data, offsets)` of a large-string array: row `i` is `data[offsets[i]:offsets[i + 1]]` (uint8)."""
    arr = sequences.cast(pa.large_string()) if sequences.type != pa.large_string() else sequences
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return data, offsets


def reverse_complement(sequences: pa.Array) -> pa.Array:
    """Reverse complement of every sequence (IUPAC-aware, as the engine does it), as `large_string`."""
    data, offsets = string_buffers(sequences)
    lo, hi = int(offsets[0]), int(offsets[-1])
    flipped = _COMPLEMENT[data[lo:hi][::-1]]  # reversing the buffer reverses each row and the row order
    new_offsets = (hi - offsets[::-1]).astype(np.int64)
    reversed_rows = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(new_offsets), pa.py_buffer(flipped))
    return reversed_rows.take(pa.array(np.arange(len(offsets) - 2, -1, -1, dtype=np.int64)))


def lengths(sequences: pa.Array) -> np.ndarray:
    _, offsets = string_buffers(sequences)
    return np.diff(offsets)


@dataclass
class EncodedChunk:
    """Consecutive sequences `lo..hi-1`, back to back as base codes (`BASE_CODES`), with the row of each base.

    Attributes:
        lo, hi: the rows it holds.
        codes: `(total + pad,)` uint8 codes of the bases, then `pad` codes 4.
        row: `(total + pad,)` int64 row of each base relative to `lo`; the padding has row `hi - lo`. A window
            `[i, i + k)` lies within one sequence exactly when `row[i] == row[i + k - 1]`.
    """

    lo: int
    hi: int
    codes: np.ndarray
    row: np.ndarray

    def windows_within(self, k: int) -> np.ndarray:
        """`(len(codes) - k + 1,)` bool: the window of length `k` at each position is inside one sequence."""
        n = len(self.codes) - k + 1
        return self.row[:n] == self.row[k - 1 : k - 1 + n]


def encoded_chunks(sequences: pa.Array, *, max_bases: int = 1 << 23, pad: int = 32) -> Iterator[EncodedChunk]:
    """Iterate over the sequences in chunks of about `max_bases` bases, encoded for k-mer work.

    Args:
        sequences: `(n,)` strings.
        max_bases: bases per chunk (bounds memory: a few arrays of this many elements are alive).
        pad: code-4 positions appended to each chunk, so that windows up to `pad + 1` long start at every base.
    """
    data, offsets = string_buffers(sequences)
    n = len(offsets) - 1
    cumulative = offsets[1:] - offsets[0]
    lo = 0
    while lo < n:
        base = cumulative[lo - 1] if lo else 0
        hi = max(lo + 1, min(n, int(np.searchsorted(cumulative, base + max_bases, side="right"))))
        lens = np.diff(offsets[lo : hi + 1])
        codes = np.concatenate([BASE_CODES[data[offsets[lo] : offsets[hi]]], np.full(pad, 4, dtype=np.uint8)])
        row = np.repeat(np.arange(hi - lo + 1, dtype=np.int64), np.append(lens, pad))
        yield EncodedChunk(lo, hi, codes, row)
        lo = hi


def fractions(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def per_class(flags: np.ndarray, labels: np.ndarray, classes) -> dict[str, dict[str, float]]:
    """`{class: {"rows": n, "count": k, "fraction": k / n}}` of boolean `flags` over rows of each label."""
    out = {}
    for i, cls in enumerate(classes):
        mask = labels == i
        n, k = int(mask.sum()), int(flags[mask].sum())
        out[cls] = {"rows": n, "count": k, "fraction": fractions(k, n)}
    return out
