"""Writing one config through the engine: a split plan -> checked -> extracted in chunks -> streamed Parquet,
swapped into the Hub-layout folder with its provenance (`hub_layout.publish_config`).

Every benchmark kind ends here: the nine upstream ones and `synthetic` (`build.py`), TSS windows (`tss.py`),
windows over regions (`windows.py`), audit variants (`audit/variants.py`) and user benchmarks
(`regions/create.py`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
from collections import deque
from pathlib import Path
from typing import Callable, Iterator

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from gbhub.builders.builder import extract_frame, extract_rows
from gbhub.builders.download import cache_root
from gbhub.builders.errors import EmptySplitError, PlanError
from gbhub.builders.genome import Genome
from gbhub.builders.hub_layout import (
    SPLITS,
    RegressionTarget,
    benchmark_features,
    publish_config,
    shard_name,
    write_parquet,
)
from gbhub.builders.locks import scratch_dir
from gbhub.builders.plan import PLAN_COLUMNS, write_plan

# Plan rows per extraction task: one task's Arrow table (~10 MB for 500 bp rows) is what a build holds
# in memory besides the row group being written; with num_proc, the unit of work of a worker.
CHUNK_ROWS = 20_000

logger = logging.getLogger(__name__)


def write_plan_config(
    out_dir: str | os.PathLike,
    config: str,
    plan: pd.DataFrame,
    class_names,
    provenance: dict,
    *,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    progress: bool = True,
    finalize: Callable[[Path], object] | None = None,
) -> Path:
    """Resolve a split plan into sequences and add (or replace) `config` in the Hub-layout folder.

    The one path from a plan to a published config: `gbhub build`, the audit's variants and user-made
    benchmarks all go through it. The plan is checked first (`check_plan`: splits, contigs, interval
    ends, one line naming the table and row); the sequences are then streamed, `CHUNK_ROWS` plan rows
    at a time, straight into the Parquet of a staging folder (5,000-row groups, the bytes
    `Dataset.to_parquet` would write, the same for any `num_proc`), which is swapped in under the
    folder's one-writer lock (`hub_layout.publish_config`).

    Args:
        out_dir: Hub-layout folder; other configs in it are kept.
        config: the config name.
        plan: rows of `gbhub.builders.plan.PLAN_COLUMNS`, each split's rows contiguous (a regression plan:
            float `label`s, or `(k,)` arrays, and its side-feature columns after them).
        class_names: the label schema: ClassLabel names in label order, or a `hub_layout.RegressionTarget`
            (whose side features are the plan's extra columns, in order).
        provenance: the `provenance/<config>.json` record.
        cache_dir: unused since the Parquet is streamed into the output folder (kept for callers).
        num_proc: worker processes for extraction (the output does not depend on it).
        progress: show progress bars.
        finalize: called with `out_dir` right after the swap (the command layer's card renderer), so
            that Parquet, provenance and card change together; see `hub_layout.publish_config`.

    Returns:
        The config folder.

    Raises:
        CoordinateTableError, EmptySplitError, PlanError: the plan cannot be built (before any work).
        FolderLockedError: another process writes `out_dir`.
        OutputWriteError: the output cannot be written (names the path).
    """
    genomes: dict[str, Genome] = {}
    check_plan(plan, config, genomes=genomes)
    features = benchmark_features(class_names)
    plan = _schema_plan(plan, config, class_names)

    def fill(staging: Path) -> None:
        with _extraction(plan, staging, num_proc, genomes) as (run, chunks):
            for split in SPLITS:
                total = int(sum(hi - lo for lo, hi in chunks[split]))
                with tqdm(total=total, desc=f"{config} {split}", unit="rows", disable=not progress,
                          leave=False) as bar:
                    write_parquet(staging / shard_name(split), features, run(chunks[split]), progress=bar.update)

    return publish_config(out_dir, config, fill, provenance, finalize=finalize)


def _schema_plan(plan: pd.DataFrame, config: str, schema) -> pd.DataFrame:
    """The plan's columns the extraction carries: `PLAN_COLUMNS`, then a regression schema's side features.

    Other columns a caller keeps in its plan are not published. A missing side-feature column, or a float
    `label` under class names (or class ids under a regression schema), is refused before any extraction.
    """
    side = list(schema.side_features) if isinstance(schema, RegressionTarget) else []
    missing = [c for c in side if c not in plan.columns]
    if missing:
        raise PlanError(f"{config}: the split plan lacks the side-feature columns {', '.join(missing)} its schema "
                        "declares; build the plan from the benchmark's gene table")
    kind = plan["label"].to_numpy().dtype.kind if len(plan) else "i"
    if isinstance(schema, RegressionTarget) == (kind in "iub"):
        expected = "float target(s)" if isinstance(schema, RegressionTarget) else "integer class ids"
        raise PlanError(f"{config}: the split plan's labels are of dtype {plan['label'].dtype}, the schema expects "
                        f"{expected}; pass the schema of the benchmark the plan was made from")
    return plan if list(plan.columns) == PLAN_COLUMNS + side else plan[PLAN_COLUMNS + side]


def check_plan(plan: pd.DataFrame, config: str, *, genomes: dict[str, Genome] | None = None) -> None:
    """Refuse, in one line, a plan that cannot be built: before any sequence is extracted.

    Checks the columns, that each split has rows and that they are contiguous, and, against each
    reference's index, every row's contig and interval (0 <= start < end <= contig length), naming the
    table, the row and the fix.

    Args:
        plan: the split plan.
        config: its config name (for messages).
        genomes: filled with the prepared references opened, by folder (for the extraction to reuse).

    Raises:
        PlanError, EmptySplitError, CoordinateTableError, PreparedReferenceError.
    """
    genomes = {} if genomes is None else genomes
    missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing:
        raise PlanError(f"{config}: the split plan lacks the columns {', '.join(missing)}")
    splits = plan["split"].to_numpy()
    unknown = sorted(set(pd.unique(splits)) - set(SPLITS))
    if unknown:
        raise PlanError(f"{config}: the split plan has rows of unknown splits {unknown}; expected {', '.join(SPLITS)}")
    counts = plan["split"].value_counts()
    empty = [split for split in SPLITS if not counts.get(split, 0)]
    if empty:
        rows = ", ".join(f"{split} {int(counts.get(split, 0)):,}" for split in SPLITS)
        raise EmptySplitError(
            f"{config}: the {' and '.join(empty)} split would have no rows ({rows}); every split of the Hub "
            "layout needs at least one row (`datasets` cannot load an empty split): give each class more "
            "upstream rows"
        )
    for split in SPLITS:
        rows = np.flatnonzero(splits == split)
        if rows[-1] - rows[0] + 1 != len(rows):
            raise PlanError(f"{config}: the rows of split {split!r} must be contiguous in the plan (sort it by split)")
    for genome_dir, group in plan.groupby("genome", sort=False, observed=True):
        if genome_dir not in genomes:
            genomes[genome_dir] = Genome(genome_dir)
        genomes[genome_dir].locate(
            group["region"].to_numpy(), group["start"].to_numpy(np.int64), group["end"].to_numpy(np.int64),
            table=group["table"].to_numpy(), rows=group["row"].to_numpy(),
        )


def plan_chunks(plan: pd.DataFrame, size: int = CHUNK_ROWS) -> dict[str, list[tuple[int, int]]]:
    """`{split: [(lo, hi), ...]}`: positional row ranges of at most `size` rows (splits are contiguous)."""
    splits = plan["split"].to_numpy()
    out = {}
    for split in SPLITS:
        rows = np.flatnonzero(splits == split)
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        out[split] = [(start, min(start + size, hi)) for start in range(lo, hi, size)]
    return out


@contextlib.contextmanager
def _extraction(plan: pd.DataFrame, scratch: Path, num_proc: int | None, genomes: dict[str, Genome] | None = None):
    """Yield `(run, chunks)`: `run(ranges)` gives the tables of plan row ranges, in order.

    In this process the plan in memory is sliced; with `num_proc` workers, they get the plan as a file
    in `scratch` and row ranges (never open handles), at most `2 * num_proc` tasks in flight so memory
    stays bounded. The output does not depend on `num_proc`. An error in a worker (e.g. a `GBHubError`)
    is raised here as it is.
    """
    chunks = plan_chunks(plan)
    if not num_proc or num_proc <= 1:
        genomes = {} if genomes is None else genomes
        yield (lambda ranges: (extract_frame(plan.iloc[lo:hi], genomes) for lo, hi in ranges)), chunks
        return
    plan_path = str(write_plan(plan, scratch / ".plan.parquet"))
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with concurrent.futures.ProcessPoolExecutor(max_workers=num_proc, mp_context=context) as pool:
        def run(ranges: list[tuple[int, int]]) -> Iterator[pa.Table]:
            pending: deque = deque()
            try:
                for lo, hi in ranges:
                    pending.append(pool.submit(extract_rows, plan_path, lo, hi))
                    if len(pending) >= 2 * num_proc:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

        yield run, chunks


def materialize(
    plan, config: str, class_names, *, cache_dir=None, num_proc: int | None = None
) -> datasets.DatasetDict:
    """Resolve a split plan into in-memory splits (for tests and small plans; builds stream instead).

    The plan is checked as `write_plan_config` checks it; its Parquet copy for the extraction lives in
    a scratch folder under the gbhub cache, removed afterwards (and by the next run if this one dies).
    """
    check_plan(plan, config)
    features = benchmark_features(class_names)
    plan = _schema_plan(plan, config, class_names)
    out = {}
    with scratch_dir(cache_root(cache_dir), "build-") as tmp, _extraction(plan, tmp, num_proc) as (run, chunks):
        for split in SPLITS:
            table = pa.concat_tables(list(run(chunks[split])))
            out[split] = datasets.Dataset(table.cast(features.arrow_schema))
    return datasets.DatasetDict(out)
