"""The dataset path of every recipe: load a config (Hub id or Hub-layout folder), check it, encode it once."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import DEFAULT_SEED, SPLITS, LayoutError, read_provenance, split_pattern
from gbhub.training import encoding
from gbhub.training.windows import WindowPlan, aggregate_logits

logger = logging.getLogger(__name__)

#: How a sequence longer than a model's input is handled (`--long-sequences`): `truncate` keeps its
#: first bases (or tokens), `windows` reads it as overlapping windows whose outputs are aggregated per
#: sequence, `error` stops the run. Each recipe declares the policies it supports.
LONG_SEQUENCE_POLICIES = ("truncate", "windows", "error")


class DatasetInputError(GBHubError, ValueError):
    """A benchmark config cannot be trained on: unknown config, missing/empty split, bad label column."""


@dataclass(frozen=True)
class Task:
    """What a config asks a model to predict, read from its `label` feature.

    Attributes:
        kind: `classification` (a `ClassLabel`) or `regression` (float target(s)).
        label_names: class names in id order (classification), or the target name(s) (regression).
        side_features: the numeric side-feature columns the model reads besides the sequence (`--side-features`).
    """

    kind: str
    label_names: tuple[str, ...]
    side_features: tuple[str, ...] = ()

    @property
    def num_outputs(self) -> int:
        """Logits (classes) or regression targets the model outputs."""
        return len(self.label_names)


def task_of(features, target_names: Sequence[str] = ()) -> Task:
    """The `Task` of a config from its `datasets.Features`.

    Args:
        features: the config's features.
        target_names: names of a regression config's targets (from its provenance, `target_names_of`); the
            generic `label` / `label_<i>` when not given or when their count does not match.

    Raises:
        DatasetInputError: the `label` column is neither a `ClassLabel` nor float target(s).
    """
    import datasets

    label = features.get("label")
    if isinstance(label, datasets.ClassLabel):
        return Task("classification", tuple(label.names))
    inner = getattr(label, "feature", None)
    length = getattr(label, "length", -1)
    if isinstance(label, datasets.Value) and label.dtype.startswith("float"):
        generic = ("label",)
    elif isinstance(inner, datasets.Value) and inner.dtype.startswith("float") and length and length > 0:
        generic = tuple(f"label_{i}" for i in range(length))
    else:
        generic = None
    if generic is not None:
        names = tuple(str(n) for n in target_names)
        return Task("regression", names if len(names) == len(generic) and len(set(names)) == len(names) else generic)
    raise DatasetInputError(
        f"the 'label' column is {label!r}: expected a datasets.ClassLabel carrying the class names (cast it "
        f"with `ds.cast_column('label', ClassLabel(names=[...]))`) or a float target"
    )


def target_names_of(dataset: str, config: str) -> tuple[str, ...]:
    """The target names a local Hub-layout folder's provenance records for `config` (`()` when unknown)."""
    if not Path(dataset).expanduser().is_dir():
        return ()
    try:
        target = read_provenance(dataset, config, required=()).get("target") or {}
    except LayoutError:
        return ()
    names = target.get("targets") if isinstance(target, dict) else None
    return tuple(str(n) for n in names) if isinstance(names, list) else ()


def load_splits(
    dataset: str,
    config: str,
    *,
    max_train_samples: int | None = None,
    seed: int = DEFAULT_SEED,
    cache_dir: str | None = None,
):
    """Load `train`, `validation` and `test` of one config and check they can be trained on.

    Args:
        dataset: a Hub id (`ORG/NAME`) or a local Hub-layout folder (`DIR/<config>/<split>-*.parquet`).
        config: the benchmark config, e.g. `human_nontata_promoters`.
        max_train_samples: keep a seeded random subset of this many training rows (smoke runs).
        seed: seed of that subset.
        cache_dir: `datasets` cache folder (default: the `datasets` default).

    Returns:
        A `datasets.DatasetDict` with the three splits.

    Raises:
        DatasetInputError: the config is unknown, a split is missing or empty, the label column is not a
            `ClassLabel` or float target, or there is no `sequence` column.
    """
    import datasets

    dataset = resolve_dataset(dataset, config)
    names = _config_names(dataset)
    if names is not None and config not in names:
        raise DatasetInputError(
            f"config {config!r} not found in {dataset}: expected one of {', '.join(names)}; "
            f"pass one of them with --config"
        )
    try:
        dsd = datasets.load_dataset(
            dataset, config, data_files=local_data_files(dataset, config), cache_dir=cache_dir
        )
    except (ConnectionError, FileNotFoundError) as err:  # offline Hub id, missing cache, DatasetNotFoundError
        raise DatasetInputError(
            f"cannot load {dataset} [{config}]: {str(err).splitlines()[0] if str(err) else type(err).__name__}; "
            "a Hub id needs the network (or a datasets cache holding it), else pass a local Hub-layout folder"
        ) from err
    except ValueError as err:
        empty = re.search(r'Instruction "(\w+)" corresponds to no data', str(err))
        if empty:  # datasets refuses a split whose files hold no rows
            raise DatasetInputError(_empty_split_message(dataset, config, empty[1])) from err
        raise DatasetInputError(f"cannot load config {config!r} of {dataset}: {err}") from err
    missing = [s for s in SPLITS if s not in dsd]
    if missing:
        raise DatasetInputError(
            f"{dataset} [{config}] has splits {', '.join(dsd)}, expected {', '.join(SPLITS)}; "
            f"rebuild it with `gbhub build` (validation is carved from upstream train)"
        )
    for split in SPLITS:
        ds = dsd[split]
        if ds.num_rows == 0:
            raise DatasetInputError(_empty_split_message(dataset, config, split))
        for column in ("sequence", "label"):
            if column not in ds.column_names:
                raise DatasetInputError(
                    f"split {split!r} of {dataset} [{config}] has columns {', '.join(ds.column_names)}: "
                    f"expected a {column!r} column"
                )
        try:
            task_of(ds.features)
        except DatasetInputError as err:
            raise DatasetInputError(f"{dataset} [{config}] / {split}: {err}") from None
    if dsd["train"].features["label"] != dsd["test"].features["label"]:
        raise DatasetInputError(f"{dataset} [{config}]: train and test disagree on the label feature "
                                f"({dsd['train'].features['label']} vs {dsd['test'].features['label']})")
    if max_train_samples is not None and max_train_samples < dsd["train"].num_rows:
        dsd["train"] = dsd["train"].shuffle(seed=seed).select(range(max_train_samples)).flatten_indices()
    return dsd


def resolve_dataset(dataset: str, config: str) -> str:
    """A local folder as an absolute path, or a Hub id as it is; checked before anything is loaded.

    Raises:
        DatasetInputError: a path that does not exist, or a string that is neither a folder nor ORG/NAME.
    """
    local = Path(dataset).expanduser()
    if local.is_dir():  # absolute: `load_dataset(".")` cannot name the dataset, and paths must not depend on cwd
        return str(local.resolve())
    if dataset.startswith((".", "/", "~")) or dataset.count("/") > 1 or local.exists():  # a path, not a Hub id
        raise DatasetInputError(
            f"dataset folder {dataset} not found: expected a local Hub-layout folder (build one with "
            f"`gbhub build {config} --out DIR`) or a Hub id ORG/NAME"
        )
    return dataset


def local_data_files(dataset: str, config: str) -> dict[str, list[str]] | None:
    """Absolute Parquet paths per split of `config` in a local Hub-layout folder; None for a Hub id.

    Passing them to `load_dataset` keys the `datasets` cache on the files' paths and mtimes. Without
    them the key hashes only the README's (relative) patterns, so two folders with the same name and
    README, or a folder rebuilt in place, would silently load the first build's cached Arrow data.
    """
    import glob

    import yaml

    folder = Path(dataset).resolve()  # absolute: load_dataset joins relative files to `dataset`
    if not folder.is_dir():
        return None
    patterns: dict[str, list[str]] = {}
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---", 2)[1]) if text.startswith("---") else None
        for entry in (meta or {}).get("configs") or []:
            if entry.get("config_name") == config and isinstance(entry.get("data_files"), list):
                for item in entry["data_files"]:
                    paths = item["path"] if isinstance(item["path"], list) else [item["path"]]
                    patterns.setdefault(item["split"], []).extend(paths)
    if not patterns:  # the layout convention
        patterns = {s: [split_pattern(config, s)] for s in SPLITS}
    files = {
        split: sorted({f for p in pats for f in glob.glob(str(folder / p))}) for split, pats in patterns.items()
    }
    return {split: paths for split, paths in files.items() if paths} or None


def _empty_split_message(dataset: str, config: str, split: str) -> str:
    return (
        f"split {split!r} of {dataset} [{config}] is empty: expected at least one row; rebuild the config "
        f"(`gbhub build {config}`) or check the Parquet files of that split"
    )


def _config_names(dataset: str) -> list[str] | None:
    """Config names of `dataset`, or None when they cannot be listed (load_dataset will then decide)."""
    import datasets

    try:
        return list(datasets.get_dataset_config_names(dataset))
    except Exception as err:  # noqa: BLE001 - listing is best effort; load_dataset reports the real error
        if not Path(dataset).exists() and "/" not in dataset:
            raise DatasetInputError(
                f"dataset {dataset!r} is neither a local folder nor a Hub id (ORG/NAME): {err}"
            ) from err
        return None


def label_names(dsd) -> list[str]:
    """Class names of a loaded config, from its `ClassLabel` (index i is class id i)."""
    return list(dsd["train"].features["label"].names)


def check_trainable(dsd, task: Task, dataset: str, config: str) -> None:
    """Refuse a classification config where a split holds fewer than two classes.

    One class cannot be learned or scored (accuracy 1.0 and a loss of 0 mean nothing), so the run stops
    before training, naming the split and its counts.
    """
    if task.kind != "classification":
        return
    for split in SPLITS:
        labels = np.asarray(arrow_table(dsd[split]).column("label").to_numpy(zero_copy_only=False))
        present = np.unique(labels)
        if len(present) < 2:
            counts = ", ".join(f"{task.label_names[i]} {int((labels == i).sum()):,}" for i in present)
            raise DatasetInputError(
                f"split {split!r} of {dataset} [{config}] holds a single class ({counts}): a classifier needs at "
                "least two classes in train, validation and test; rebuild the config or pick another one"
            )


def fingerprint(dsd) -> str:
    """sha256 over the ids, labels and sequences of every split (what `--resume` compares)."""
    import pandas as pd

    digest = hashlib.sha256()
    for split in SPLITS:
        table = arrow_table(dsd[split])
        digest.update(f"{split}:{table.num_rows}\n".encode())
        for column in ("id", "sequence", "label"):
            if column in table.column_names:
                values = pd.Series(table.column(column).to_pylist(), dtype=object).astype(str)
                digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def hub_dataset_id(dataset: str, explicit: str | None, config: str) -> str | None:
    """The Hub dataset id for a model card, or None when it is not known (the card then leaves it out).

    `explicit` (`--card-dataset-id`) wins; a Hub id (`ORG/NAME`) passed as `--dataset` is one; a local
    folder contributes the `hub_repo_id` its provenance records once `gbhub push` published it.
    """
    if explicit:
        return explicit
    if Path(dataset).expanduser().is_dir():
        try:
            return read_provenance(dataset, config, required=()).get("hub_repo_id") or None
        except LayoutError:
            return None
    return dataset if dataset.count("/") == 1 else None


def longest_sequence(dsd) -> int:
    """Length of the longest sequence over all splits."""
    return max(_max_len(dsd[s]) for s in SPLITS if s in dsd)


def sequence_lengths(ds) -> np.ndarray:
    """`(n,)` int64 length of every sequence of a split."""
    import pyarrow.compute as pc

    return np.asarray(pc.utf8_length(arrow_table(ds).column("sequence")).to_numpy(zero_copy_only=False), np.int64)


def _max_len(ds) -> int:
    return int(sequence_lengths(ds).max(initial=0))


def arrow_table(ds):
    """The Arrow table of exactly the rows of `ds` (applying any `select`/`shuffle` indices mapping)."""
    return ds.flatten_indices().data if ds._indices is not None else ds.data


def targets_and_ids(ds, task: Task) -> tuple[np.ndarray, list[str]]:
    """`(targets, row ids)` of a split: int64 class ids or float32 targets `(n[, k])`, and the `id` column."""
    table = arrow_table(ds)
    column = table.column("label")
    if task.kind == "classification":
        targets = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)
    else:
        targets = np.asarray(column.to_pylist(), dtype=np.float32)
    if "id" in table.column_names:
        row_ids = [str(x) for x in table.column("id").to_pylist()]
    else:
        row_ids = [str(i) for i in range(table.num_rows)]
    return targets, row_ids


# ------------------------------------------------------------------------------------- side features


def select_side_features(features, choice: str, where: str) -> tuple[str, ...]:
    """The side-feature columns `--side-features` picks from a config's features.

    Args:
        features: the config's `datasets.Features`.
        choice: `all` (every numeric column after the core ones), `none`, or comma-separated column names.
        where: `dataset [config]`, for the error message.

    Raises:
        DatasetInputError: a named column that is not a side feature of the config.
    """
    from gbhub.builders.hub_layout import side_feature_columns

    available = side_feature_columns(features)
    choice = choice.strip()
    if choice == "all":
        return tuple(available)
    if choice in ("none", ""):
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in choice.split(",") if n.strip()))
    unknown = [n for n in names if n not in available]
    if unknown:
        raise DatasetInputError(
            f"--side-features {choice}: {where} has no side-feature column {unknown[0]!r}; its side features are "
            f"{', '.join(available) or 'none'} (pass some of them, all, or none)")
    return names


def side_feature_matrix(ds, names: Sequence[str]) -> np.ndarray:
    """`(n, len(names))` float32 values of a split's side-feature columns, in `names` order."""
    table = arrow_table(ds)
    if not names:
        return np.zeros((table.num_rows, 0), dtype=np.float32)
    return np.stack([np.asarray(table.column(n).to_numpy(zero_copy_only=False), dtype=np.float32) for n in names],
                    axis=1)


def attach_side_features(prepared: "Prepared", dsd, names: Sequence[str]) -> dict:
    """Add each split's side features to its rows (`side_features` `(rows, n)`; a window gets its sequence's).

    Returns:
        `{"names", "mean", "std"}`: the training split's statistics, which a model stores to standardise its
        input (recorded in `metrics.json` and named in the card).

    Raises:
        DatasetInputError: a side feature that is not finite (NaN, inf) in some row.
    """
    import torch

    names = list(names)
    matrices = {s: side_feature_matrix(dsd[s], names) for s in SPLITS}
    for split, values in matrices.items():
        bad = ~np.isfinite(values)
        if bad.any():
            row, column = map(int, np.argwhere(bad)[0])
            raise DatasetInputError(f"split {split!r}, row {row + 1}: side feature {names[column]!r} is "
                                    f"{values[row, column]}: every side feature must be a finite number; fix the "
                                    "dataset or leave the column out with --side-features")
    for split, values in matrices.items():
        encoded = prepared.splits[split]
        if encoded.plan is not None and len(values) != len(encoded.rows):  # rows are windows of the sequences
            values = values[encoded.plan.sequence_index]
        encoded.rows.tensors["side_features"] = torch.from_numpy(np.ascontiguousarray(values))
    train = matrices["train"].astype(np.float64)
    return {"names": names, "mean": train.mean(axis=0).tolist() if len(train) else [0.0] * len(names),
            "std": train.std(axis=0).tolist() if len(train) else [1.0] * len(names)}


# ---------------------------------------------------------------------------------------------- rows


class RowDataset:
    """A map-style torch dataset over encoded model-input rows, fetching whole batches in one indexing op.

    `DataLoader` calls `__getitems__` with a batch of indices; `collate` passes the batch through, so
    the data path does no per-example Python work. Rows are windows or whole sequences.

    Args:
        tensors: name -> `(rows, ...)` array (`input_ids`, `lengths`, `labels`, ...), all of one length.
        trim: name of a `(rows,)` length column; when given, `input_ids` (and an `attention_mask` built
            from it) are cut to the longest row of each batch.
    """

    def __init__(self, tensors: Mapping[str, np.ndarray], trim: str | None = None):
        import torch

        self.tensors = {k: torch.from_numpy(np.require(v, requirements=("C", "W"))) for k, v in tensors.items()}
        self.trim = trim
        self.n = len(next(iter(self.tensors.values())))
        if any(len(v) != self.n for v in self.tensors.values()):
            raise ValueError("every tensor of a RowDataset needs the same number of rows")

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A batch: every tensor indexed by `indices` (ids as int64; `index` = the row positions)."""
        import torch

        idx = torch.as_tensor(indices, dtype=torch.long)
        batch = {k: v[idx] for k, v in self.tensors.items()}
        batch["input_ids"] = batch["input_ids"].long()
        if self.trim:
            lengths = batch[self.trim]
            width = int(lengths.max()) if len(idx) else 1
            batch["input_ids"] = batch["input_ids"][:, :width]
            batch["attention_mask"] = (torch.arange(width)[None, :] < lengths[:, None]).long()
            del batch[self.trim]
        batch["index"] = idx
        return batch


def collate(batch):
    """Pass a batch from `RowDataset.__getitems__` through; concatenate single items otherwise."""
    if isinstance(batch, Mapping):
        return batch
    import torch

    return {k: torch.cat([b[k] for b in batch]) for k in batch[0]}


@dataclass
class EncodedSplit:
    """One split, encoded once: the model-input rows and how they map back to sequences.

    Attributes:
        rows: a `RowDataset` (one row per sequence, or per window of a sequence).
        targets: `(n_sequences,)` class ids, or `(n_sequences[, k])` float targets.
        row_ids: the dataset's `id` of each sequence.
        plan: window -> sequence map when rows are windows (None: row i is sequence i).
        aggregation: how window outputs become a sequence's (`mean` of logits, or `max`).
    """

    rows: RowDataset
    targets: np.ndarray
    row_ids: list[str]
    plan: WindowPlan | None = None
    aggregation: str = "mean"

    def __len__(self) -> int:
        return len(self.targets)

    def sequence_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """Per-sequence outputs `(n_sequences, k)` from per-row outputs `(n_rows, k)`."""
        if self.plan is None:
            return outputs
        return aggregate_logits(outputs, self.plan, self.aggregation)


@dataclass
class Prepared:
    """What a recipe's `prepare` returns: every split encoded once, for every seed.

    Attributes:
        splits: `train`, `validation`, `test`.
        info: facts about the input recorded in `metrics.json` and the card (lengths, crops, windows...).
        tokenizer: saved next to the model (`save_pretrained`) when not None.
        reverse_complement: `batch -> input_ids` of the other strand (one-hot recipes; for
            `--rc-augment`/`--rc-average`), or None when the encoding has none.
        assets: what `build_model` needs besides `info` that is not JSON (e.g. a word2vec table).
    """

    splits: dict[str, EncodedSplit]
    info: dict[str, Any] = field(default_factory=dict)
    tokenizer: Any = None
    reverse_complement: Callable | None = None
    assets: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- one-hot encoding


def encode_fixed_width(ds, length: int, task: Task, *, long_sequences: str = "truncate",
                       name: str = "") -> EncodedSplit:
    """Encode a split to `(n, length)` one-hot token ids (`training.encoding`), one row per sequence.

    Sequences longer than `length` keep their first `length` bases with a warning
    (`long_sequences="truncate"`), or stop the run (`"error"`).

    Raises:
        DatasetInputError: a sequence is longer than `length` and `long_sequences="error"`.
    """
    if long_sequences not in ("truncate", "error"):
        raise ValueError(f"long_sequences must be truncate or error here, got {long_sequences!r}")
    sequences = arrow_table(ds).column("sequence").to_pylist()
    enc = encoding.encode(sequences, length)
    if enc.n_cropped:
        longest = max(len(s) for s in sequences)
        message = (
            f"{enc.n_cropped} of {len(sequences)} sequences of split {name!r} are longer than the input "
            f"length {length} bp (longest {longest} bp)"
        )
        if long_sequences == "error":
            raise DatasetInputError(
                f"{message}: raise --max-length-bp to at least {longest}, or pass --long-sequences truncate to "
                f"keep the first {length} bases of each"
            )
        logger.warning("%s: keeping the first %d bases of each (--long-sequences truncate)", message, length)
    targets, row_ids = targets_and_ids(ds, task)
    rows = RowDataset({"input_ids": enc.ids, "lengths": enc.lengths, "labels": targets})
    return EncodedSplit(rows, targets, row_ids)
