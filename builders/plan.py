"""Split plans: which coordinate rows go to train / validation / test, stored as one Parquet file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PLAN_COLUMNS = ["split", "label", "id", "region", "start", "end", "strand", "row", "table", "genome"]


def validation_mask(labels: np.ndarray, *, seed: int, fraction: float = 0.1) -> np.ndarray:
    """Stratified, seeded choice of `round(fraction * n_c)` rows of each class `c` for validation.

    Args:
        labels: `(n,)` integer class of each upstream train row, in table order.
        seed: seed of `numpy.random.default_rng`; classes are drawn in label order from one stream.
        fraction: share of each class that goes to validation.

    Returns:
        `(n,)` bool, True for the validation rows.
    """
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


def write_plan(plan: pd.DataFrame, path: Path) -> Path:
    plan[PLAN_COLUMNS].to_parquet(path, index=False)
    return path
