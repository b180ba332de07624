"""Training data in: load a benchmark config, validate it, encode it once, and serve batches."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import DEFAULT_SEED, SPLITS, split_pattern
from gbhub.training import encoding

logger = logging.getLogger(__name__)

LONG_SEQUENCE_POLICIES = ("crop", "error")


class DatasetInputError(GBHubError, ValueError):
    """A benchmark config cannot be trained on: unknown config, missing/empty split, bad label column."""


@dataclass
class EncodedSplit:
    """One split, encoded once into arrays.

    Attributes:
        ids: `(n, length)` uint8 token ids (see `training.encoding`).
        lengths: `(n,)` int64 real length of each row (after any crop).
        labels: `(n,)` int64 class ids.
        row_ids: `(n,)` the dataset's `id` column (or row numbers), for prediction files.
    """

    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    row_ids: list[str]

    def __len__(self) -> int:
        return len(self.labels)


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
            `ClassLabel`, or there is no `sequence` column.
    """
    import datasets

    local = Path(dataset).expanduser()
    if local.is_dir():  # absolute: `load_dataset(".")` cannot name the dataset, and paths must not depend on cwd
        dataset = str(local.resolve())
    elif dataset.startswith((".", "/", "~")) or dataset.count("/") > 1:  # a path, not an ORG/NAME Hub id
        raise DatasetInputError(
            f"dataset folder {dataset} not found: expected a local Hub-layout folder (build one with "
            f"`gbhub build {config} --out DIR`) or a Hub id ORG/NAME"
        )
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
        if not isinstance(ds.features["label"], datasets.ClassLabel):
            raise DatasetInputError(
                f"the 'label' column of {dataset} [{config}] / {split} is {ds.features['label']!r}: expected a "
                f"datasets.ClassLabel carrying the class names (cast it with "
                f"`ds.cast_column('label', ClassLabel(names=[...]))`)"
            )
    if dsd["train"].features["label"].names != dsd["test"].features["label"].names:
        raise DatasetInputError(f"{dataset} [{config}]: train and test disagree on the label names")
    if max_train_samples is not None and max_train_samples < dsd["train"].num_rows:
        dsd["train"] = dsd["train"].shuffle(seed=seed).select(range(max_train_samples)).flatten_indices()
    return dsd


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


def longest_sequence(dsd) -> int:
    """Length of the longest sequence over all splits."""
    return max(_max_len(dsd[s]) for s in SPLITS if s in dsd)


def _max_len(ds) -> int:
    import pyarrow.compute as pc

    return int(pc.max(pc.utf8_length(arrow_table(ds).column("sequence"))).as_py())


def arrow_table(ds):
    """The Arrow table of exactly the rows of `ds` (applying any `select`/`shuffle` indices mapping)."""
    return ds.flatten_indices().data if ds._indices is not None else ds.data


def encode_split(ds, length: int, *, long_sequences: str = "crop", name: str = "") -> EncodedSplit:
    """Encode one `datasets.Dataset` split to a fixed width.

    Sequences longer than `length` keep their first `length` bases with a warning (`long_sequences=
    "crop"`, the default), or stop the run (`"error"`).

    Args:
        ds: a split with `sequence` and `label` columns (and optionally `id`).
        length: the model's input length.
        long_sequences: `crop` or `error`.
        name: the split name, for messages.

    Raises:
        DatasetInputError: a sequence is longer than `length` and `long_sequences="error"`.
    """
    if long_sequences not in LONG_SEQUENCE_POLICIES:
        raise ValueError(f"long_sequences must be one of {LONG_SEQUENCE_POLICIES}, got {long_sequences!r}")
    table = arrow_table(ds)
    sequences = table.column("sequence").to_pylist()
    enc = encoding.encode(sequences, length)
    if enc.n_cropped:
        longest = max(len(s) for s in sequences)
        message = (
            f"{enc.n_cropped} of {len(sequences)} sequences of split {name!r} are longer than the input "
            f"length {length} (longest {longest} bp)"
        )
        if long_sequences == "error":
            raise DatasetInputError(
                f"{message}: raise --max-length to at least {longest}, or pass --long-sequences crop to keep "
                f"the first {length} bases of each"
            )
        logger.warning("%s: keeping the first %d bases of each (--long-sequences crop)", message, length)
    labels = np.array(table.column("label").to_numpy(zero_copy_only=False), dtype=np.int64)
    if "id" in table.column_names:
        row_ids = [str(x) for x in table.column("id").to_pylist()]
    else:
        row_ids = [str(i) for i in range(len(labels))]
    return EncodedSplit(enc.ids, enc.lengths, labels, row_ids)


class SequenceDataset:
    """A map-style torch dataset over an `EncodedSplit`, fetching whole batches with one indexing op.

    `DataLoader` calls `__getitems__` with a batch of indices; `collate` then passes the batch through,
    so there is no per-example Python work on the data path.

    Args:
        split: the encoded split.
        with_index: add each row's position (`index`), to put outputs gathered across processes in order.
    """

    def __init__(self, split: EncodedSplit, *, with_index: bool = False):
        import torch

        self.ids = torch.from_numpy(np.ascontiguousarray(split.ids))
        self.lengths = torch.from_numpy(split.lengths)
        self.labels = torch.from_numpy(split.labels)
        self.with_index = with_index

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A batch: `input_ids` `(batch, length)` int64, `lengths` `(batch,)`, `labels` `(batch,)`[, `index`]."""
        import torch

        idx = torch.as_tensor(indices, dtype=torch.long)
        batch = {"input_ids": self.ids[idx].long(), "lengths": self.lengths[idx], "labels": self.labels[idx]}
        if self.with_index:
            batch["index"] = idx
        return batch


def collate(batch):
    """Pass a batch from `SequenceDataset.__getitems__` through; concatenate single items otherwise."""
    if isinstance(batch, Mapping):
        return batch
    import torch

    return {k: torch.cat([b[k] for b in batch]) for k in batch[0]}


def make_dataloader(split: EncodedSplit, batch_size: int, *, sampler=None, with_index: bool = False):
    """A `DataLoader` of `SequenceDataset` batches, in row order unless a `sampler` is given.

    Args:
        split: the encoded split.
        batch_size: rows per batch.
        sampler: index order (e.g. `training.loop.EpochShuffleSampler`); default: sequential.
        with_index: batches carry `index` (row positions).
    """
    from torch.utils.data import DataLoader

    return DataLoader(
        SequenceDataset(split, with_index=with_index), batch_size=batch_size, sampler=sampler, collate_fn=collate
    )
