"""Split plans: which coordinate rows go to train / validation / test, stored as one Parquet file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PLAN_COLUMNS = ["split", "label", "id", "region", "start", "end", "strand", "row", "table", "genome"]
#: Strata of a float target for the validation split: its deciles.
QUANTILE_BINS = 10


def quantile_strata(targets: np.ndarray, bins: int = QUANTILE_BINS) -> np.ndarray:
    """The quantile bin of each row's target: `(n,)` int64 in `[0, bins)`, equal-sized bins by rank.

    Args:
        targets: `(n,)` float target, or `(n, k)` targets (stratified on the row mean).
        bins: number of strata (deciles by default; fewer rows than bins give one row per stratum).

    Ties are ranked in row order (a stable sort), so equal inputs give equal strata.
    """
    values = np.asarray(targets, dtype=np.float64)
    if values.ndim == 2:
        values = values.mean(axis=1)
    n = len(values)
    ranks = np.empty(n, dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(n, dtype=np.int64)
    return ranks * bins // max(n, 1)


def validation_mask(labels: np.ndarray, *, seed: int, fraction: float = 0.1) -> np.ndarray:
    """Stratified, seeded choice of `round(fraction * n_c)` rows of each stratum `c` for validation.

    Strata are the classes of a classification benchmark, or the `QUANTILE_BINS` quantile bins of the
    target of a regression benchmark (`quantile_strata`: float labels, or `(n, k)` target rows; fewer bins
    when fewer than `QUANTILE_BINS` rows go to validation, so that each bin gives at least about one).

    Args:
        labels: `(n,)` integer class of each upstream train row, in table order; or `(n,)` / `(n, k)` floats.
        seed: seed of `numpy.random.default_rng`; strata are drawn in order from one stream.
        fraction: share of each stratum that goes to validation.

    Returns:
        `(n,)` bool, True for the validation rows.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" or labels.ndim == 2:  # at most one stratum per expected validation row
        labels = quantile_strata(labels, bins=min(QUANTILE_BINS, max(1, round(fraction * len(labels)))))
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        k = int(round(fraction * len(rows)))
        mask[rows[rng.permutation(len(rows))[:k]]] = True
    return mask


def upstream_plan(
    tables: dict[str, dict[int, pd.DataFrame]],
    table_names: dict[str, dict[int, str]],
    genomes: dict[int, str],
    *,
    seed: int,
    fraction: float = 0.1,
) -> pd.DataFrame:
    """The DESIGN.md split: `test` is upstream test unchanged; `validation` a stratified seeded
    `fraction` of upstream train; `train` the rest (so train ∪ validation == upstream train).

    Args:
        tables: validated tables (`builders.coordinates.read_table`) by upstream split and label.
        table_names: the display name of each table, for error messages.
        genomes: prepared reference folder of each label.
    """
    parts = {}
    for split in ("train", "test"):
        frames = [
            tables[split][label].assign(label=label, table=table_names[split][label], genome=genomes[label])
            for label in sorted(tables[split])
        ]
        parts[split] = pd.concat(frames, ignore_index=True)
    train = parts["train"]
    is_validation = validation_mask(train["label"].to_numpy(), seed=seed, fraction=fraction)
    plan = pd.concat(
        [
            train[~is_validation].assign(split="train"),
            train[is_validation].assign(split="validation"),
            parts["test"].assign(split="test"),
        ],
        ignore_index=True,
    )
    return plan[PLAN_COLUMNS]


def extra_columns(plan: pd.DataFrame) -> list[str]:
    """The plan's columns after `PLAN_COLUMNS` (a regression plan's side features), in order."""
    return [c for c in plan.columns if c not in PLAN_COLUMNS]


def regression_plan(
    tables: dict[str, pd.DataFrame],
    table_names: dict[str, str],
    genome: str,
    *,
    targets: list[str] | tuple[str, ...],
    side_features: list[str] | tuple[str, ...] = (),
    seed: int,
    fraction: float = 0.1,
) -> pd.DataFrame:
    """The DESIGN.md split of a regression benchmark: `test` is upstream test unchanged; `validation` a
    seeded `fraction` of upstream train stratified on the target's deciles (`quantile_strata`); `train` the rest.

    Args:
        tables: `{"train": rows, "test": rows}` with `id, region, start, end, strand, row` and the float
            columns named in `targets` and `side_features`.
        table_names: the display name of each table, for error messages.
        genome: the prepared reference folder every row is read from.
        targets: the target columns; one becomes a float `label`, several a `(k,)` float array per row.
        side_features: columns carried after `PLAN_COLUMNS`, in this order.

    Returns:
        A plan of `PLAN_COLUMNS` + `side_features`, each split's rows contiguous.
    """
    parts = {}
    for split in ("train", "test"):
        frame = tables[split]
        values = frame[list(targets)].to_numpy(np.float64)
        label = values[:, 0] if len(targets) == 1 else list(values)
        part = frame.assign(label=label, table=table_names[split], genome=genome)
        parts[split] = part[PLAN_COLUMNS[1:] + list(side_features)].reset_index(drop=True)
    train = parts["train"]
    labels = train["label"].to_numpy(np.float64) if len(targets) == 1 else np.stack(train["label"].to_numpy())
    is_validation = validation_mask(labels, seed=seed, fraction=fraction)
    plan = pd.concat(
        [
            train[~is_validation].assign(split="train"),
            train[is_validation].assign(split="validation"),
            parts["test"].assign(split="test"),
        ],
        ignore_index=True,
    )
    return plan[PLAN_COLUMNS + list(side_features)]


def write_plan(plan: pd.DataFrame, path: Path) -> Path:
    plan[PLAN_COLUMNS + extra_columns(plan)].to_parquet(path, index=False)
    return path
