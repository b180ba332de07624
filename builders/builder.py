"""The `datasets` builder every benchmark shares: a split plan of coordinates in, Arrow sequence tables out."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterator

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gbhub.builders.genome import Genome
from gbhub.builders.hub_layout import SPLITS, RegressionTarget, benchmark_features
from gbhub.builders.plan import PLAN_COLUMNS


@dataclass
class GenomicBenchmarkConfig(datasets.BuilderConfig):
    """A benchmark config: its classes and the split plan (a Parquet file of coordinate rows).

    Attributes:
        class_names: ClassLabel names, in label order, or a `hub_layout.RegressionTarget`.
        plan_path: Parquet written by `builders.plan.write_plan` (columns `PLAN_COLUMNS`).
        plan_sha256: checksum of the plan, so that the builder's cache key follows its content.
        chunk_rows: coordinate rows per generated Arrow table (and per worker task with num_proc).
    """

    class_names: "tuple[str, ...] | RegressionTarget" = field(default_factory=tuple)
    plan_path: str | None = None
    plan_sha256: str | None = None
    chunk_rows: int = 50_000


class GenomicBenchmark(datasets.ArrowBasedBuilder):
    """Resolves a plan of genomic coordinates against prepared references into sequence tables.

    A thin `datasets` adapter over `split_chunks` and `generate_tables`, which `gbhub.builders.build`
    also streams straight into Parquet (no Arrow cache, nothing held in memory).
    """

    BUILDER_CONFIG_CLASS = GenomicBenchmarkConfig

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(features=benchmark_features(self.config.class_names))

    def _split_generators(self, dl_manager):
        chunks = split_chunks(self.config.plan_path, self.config.chunk_rows)
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"chunks": chunks[split], "plan_path": self.config.plan_path})
            for split in SPLITS
        ]

    def _generate_tables(self, chunks: list[tuple[int, int]], plan_path: str):
        yield from generate_tables(chunks, plan_path)


def split_chunks(plan_path: str, chunk_rows: int) -> dict[str, list[tuple[int, int]]]:
    """`{split: [(lo, hi), ...]}`: contiguous plan-row ranges of at most `chunk_rows` rows per split."""
    plan = pq.read_table(plan_path, columns=["split"]).column("split").to_numpy(zero_copy_only=False)
    return {split: [(int(lo), int(hi)) for lo, hi in _ranges(np.flatnonzero(plan == split), chunk_rows)]
            for split in SPLITS}


def generate_tables(chunks: list[tuple[int, int]], plan_path: str) -> Iterator[tuple[str, pa.Table]]:
    """`(key, table)` for each `[lo, hi)` range of plan rows, in order: the published columns.

    Receives only paths and row ranges (workers open, and close, what they read); each reference
    index is read once per call, not once per chunk.
    """
    plan = read_plan_table(plan_path)
    genomes: dict[str, Genome] = {}
    for lo, hi in chunks:
        yield f"{lo}", extract_frame(plan.slice(lo, hi - lo).to_pandas(), genomes)


def extract_rows(plan_path: str, lo: int, hi: int) -> pa.Table:
    """The table of plan rows `[lo, hi)` (what one worker task computes)."""
    plan = _plan_table(plan_path)
    return extract_frame(plan.slice(lo, hi - lo).to_pandas(), _worker_genomes)


_worker_genomes: dict[str, Genome] = {}


def read_plan_table(plan_path: str) -> pa.Table:
    """A plan file as Arrow, its repetitive text columns dictionary-encoded (a fraction of the memory)."""
    return pq.read_table(plan_path, read_dictionary=["split", "table", "genome", "strand"], use_threads=False)


@functools.lru_cache(maxsize=1)
def _plan_table(plan_path: str) -> pa.Table:
    return read_plan_table(plan_path)


def extract_frame(part: pd.DataFrame, genomes: dict[str, Genome]) -> pa.Table:
    """The published table of plan rows `part` (any index), sequences extracted from their references.

    Args:
        part: plan rows (`gbhub.builders.plan.PLAN_COLUMNS`).
        genomes: prepared references already opened, by folder (filled as needed: one index read each).
    """
    part = part.reset_index(drop=True)
    pieces = []
    for genome_dir, group in part.groupby("genome", sort=False, observed=True):
        if genome_dir not in genomes:  # read each index once per call (or worker), not once per chunk
            genomes[genome_dir] = Genome(genome_dir)
        fetched = genomes[genome_dir].fetch(
            group["region"].to_numpy(object), group["start"].to_numpy(np.int64),
            group["end"].to_numpy(np.int64), (group["strand"] == "-").to_numpy(bool),
            table=group["table"].to_numpy(object), rows=group["row"].to_numpy(),
        )
        pieces.append((part.index.get_indexer(group.index), fetched))
    if len(pieces) == 1:
        sequences = pieces[0][1]
    else:  # classes on different references (e.g. human vs worm): back to plan order
        order = np.concatenate([positions for positions, _ in pieces])
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.arange(len(order))
        sequences = pa.concat_arrays([fetched for _, fetched in pieces]).take(pa.array(inverse))
    columns = {
        "id": pa.array(part["id"].to_numpy(object), type=pa.string()),
        "sequence": sequences,
        "label": _label_array(part["label"]),
        "region": pa.array(part["region"].to_numpy(object), type=pa.string()),
        "start": pa.array(part["start"].to_numpy(), type=pa.int64()),
        "end": pa.array(part["end"].to_numpy(), type=pa.int64()),
        "strand": pa.array(part["strand"].to_numpy(object), type=pa.string()),
    }
    for name in part.columns:  # a regression plan's side features, after the plan columns, in order
        if name not in PLAN_COLUMNS:
            columns[name] = pa.array(part[name].to_numpy(np.float64), type=pa.float64())
    return pa.table(columns)


def _label_array(labels: pd.Series) -> pa.Array:
    """Class ids as int64, a float target as float64, or `(k,)` float targets as a fixed-size list (k)."""
    values = labels.to_numpy()
    if values.dtype.kind in "iub":
        return pa.array(values, type=pa.int64())
    if values.dtype.kind == "f":
        return pa.array(values, type=pa.float64())
    rows = np.stack([np.asarray(v, dtype=np.float64) for v in values]) if len(values) else np.zeros((0, 1))
    return pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel(), type=pa.float64()), rows.shape[1])


def _ranges(rows: np.ndarray, size: int):
    """Contiguous `[lo, hi)` plan-row ranges covering `rows` (which are contiguous per split)."""
    if len(rows) == 0:
        return
    if not np.array_equal(rows, np.arange(rows[0], rows[-1] + 1)):
        raise ValueError("plan rows of a split must be contiguous")
    for lo in range(int(rows[0]), int(rows[-1]) + 1, size):
        yield lo, min(lo + size, int(rows[-1]) + 1)
