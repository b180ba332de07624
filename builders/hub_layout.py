"""The Hub-layout folder contract: paths, the feature schema, splits, provenance and atomic writes.

A Hub-layout folder is what `push_to_hub` would write, produced locally (DESIGN.md, "Data contract"):

    README.md                                  the dataset card (YAML `configs:` + `dataset_info:`)
    <config>/<split>-NNNNN-of-NNNNN.parquet    the data, one or more shards per split
    provenance/<config>.json                   where each config came from (read by the card)
    audit/<config>.json                        the leakage/shortcut audit (optional)
    images/<config>_<kind>.png                 the card's plots
    specs/<config>.yaml, specs/<config>/       a user-made benchmark's spec and its input files (optional)

Every module that reads or writes such a folder goes through this one; nobody else spells these paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from gbhub.builders.errors import GBHubError

if TYPE_CHECKING:
    import datasets

# `datasets` (about 2 s to import) is imported inside the three functions that build tables, so that
# the constants here stay cheap for `gbhub --help` and the command parsers that read them.

#: The published splits, in this order. `test` is upstream test unchanged; `validation` a stratified,
#: seeded `VALIDATION_FRACTION` of upstream train; `train` the rest.
SPLITS = ("train", "validation", "test")
#: The default seed of every seeded choice the project makes (validation split, subsets, training).
DEFAULT_SEED = 42
VALIDATION_FRACTION = 0.1
# Rows per Parquet row group. The dataset viewer reads whole row groups; 5,000 rows keep each group
# at a few MB for 200-500 bp benchmarks and under ~25 MB uncompressed for the longest (drosophila,
# a few kb), far below datasets' 100 MB target, so pages of the viewer load quickly.
ROW_GROUP_ROWS = 5_000

CARD_FILE = "README.md"
PROVENANCE_DIR = "provenance"
AUDIT_DIR = "audit"
IMAGES_DIR = "images"
SPECS_DIR = "specs"
#: Keys every provenance record has (the card cannot be rendered without them).
REQUIRED_PROVENANCE_KEYS = ("config", "pretty_name", "description", "classes", "citations", "license")


class LayoutError(GBHubError, ValueError):
    """A Hub-layout folder is missing a file or holds an inconsistent one; says how to fix it."""


# ------------------------------------------------------------------------------------------------ schema


def benchmark_features(class_names: Sequence[str]) -> "datasets.Features":
    """The published schema: declared once, `label` a ClassLabel with the benchmark's class names."""
    import datasets  # lazy: see the note at the top

    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "sequence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(class_names)),
            "region": datasets.Value("string"),
            "start": datasets.Value("int64"),
            "end": datasets.Value("int64"),
            "strand": datasets.Value("string"),
        }
    )


# ------------------------------------------------------------------------------------------------- paths


def shard_name(split: str, index: int = 0, total: int = 1) -> str:
    """`<split>-NNNNN-of-NNNNN.parquet`, the Hub's shard naming."""
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def split_pattern(config: str, split: str) -> str:
    """The `data_files` glob of one split, relative to the folder (what the card's YAML lists)."""
    return f"{config}/{split}-*.parquet"


def split_files(out_dir: str | os.PathLike, config: str, split: str) -> list[Path]:
    """The Parquet shards of one split of `config`, sorted."""
    return sorted(Path(out_dir).glob(split_pattern(config, split)))


def card_path(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / CARD_FILE


def provenance_path(out_dir: str | os.PathLike, config: str) -> Path:
    return Path(out_dir) / PROVENANCE_DIR / f"{config}.json"


def audit_path(out_dir: str | os.PathLike, config: str) -> Path:
    return Path(out_dir) / AUDIT_DIR / f"{config}.json"


def spec_path(out_dir: str | os.PathLike, config: str) -> Path:
    """The declarative spec of a user-made benchmark (`gbhub create`), from which `gbhub build --spec` rebuilds it."""
    return Path(out_dir) / SPECS_DIR / f"{config}.yaml"


def spec_inputs_dir(out_dir: str | os.PathLike, config: str) -> Path:
    """The folder holding the input files (BED) a spec names, next to the spec."""
    return Path(out_dir) / SPECS_DIR / config


def image_path(config: str, kind: str) -> str:
    """Path of one of a config's card images, relative to the folder (as the card links it)."""
    return f"{IMAGES_DIR}/{config}_{kind}.png"


def configs_in(out_dir: str | os.PathLike) -> list[str]:
    """Configs present in a Hub-layout folder (those with a provenance file and Parquet)."""
    out = Path(out_dir)
    return sorted(
        p.stem for p in (out / PROVENANCE_DIR).glob("*.json") if any((out / p.stem).glob("*.parquet"))
    )


# ---------------------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, mode: int = 0o644) -> Iterator[Path]:
    """Yield a unique temporary path next to `path`; on success rename it onto `path`, else remove it.

    A reader (or an interrupted writer) sees the old file or the new one, never half of one. The file
    gets `mode` (readable by others, like the Parquet next to it), not `mkstemp`'s private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text (LF line ends) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, data, *, sort_keys: bool = True) -> Path:
    """Write JSON (indented, sorted keys by default: equal data give equal bytes) atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=sort_keys, allow_nan=False) + "\n")


# ------------------------------------------------------------------------------------------- provenance


def read_provenance(out_dir: str | os.PathLike, config: str,
                    required: Sequence[str] = REQUIRED_PROVENANCE_KEYS) -> dict:
    """Read and check `provenance/<config>.json`.

    Raises:
        LayoutError: the file is missing, not a JSON object, or lacks a `required` key.
    """
    path = provenance_path(out_dir, config)
    try:
        prov = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(
            f"{path} not found: build the config first (`gbhub build {config} --out {out_dir}`)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LayoutError(f"cannot read provenance {path}: {err}; rebuild the config with `gbhub build`") from err
    if not isinstance(prov, dict):
        raise LayoutError(f"{path} must hold a JSON object, got {type(prov).__name__}; rebuild with `gbhub build`")
    missing = [k for k in required if k not in prov]
    if missing:
        raise LayoutError(f"{path} lacks {', '.join(missing)}; rebuild the config with `gbhub build {config}`")
    return prov


# ------------------------------------------------------------------------------------------ config swap


def write_config(
    out_dir: str | os.PathLike,
    config: str,
    dataset: "datasets.DatasetDict",
    provenance: dict,
) -> Path:
    """Add or replace `config` in the Hub-layout folder `out_dir`, leaving other configs intact.

    Parquet files are written into a hidden staging folder, which then replaces `out_dir/<config>`
    by rename; `out_dir/provenance/<config>.json` is replaced after it. An interrupted build leaves
    the previous config (or none) in place, never a half-written one.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".{config}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for split in SPLITS:
            dataset[split].to_parquet(str(staging / shard_name(split)), batch_size=ROW_GROUP_ROWS)
        with atomic_path(provenance_path(out, config)) as prov_tmp:
            prov_tmp.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            target = out / config
            trash = out / f".{config}.old-{uuid.uuid4().hex[:8]}"
            if target.exists():
                os.replace(target, trash)
            try:
                os.replace(staging, target)
            except OSError:
                if trash.exists():  # put the previous config back
                    os.replace(trash, target)
                raise
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / config


def write_hub_folder(
    out_dir: str | os.PathLike,
    config: str,
    splits: dict[str, dict[str, Sequence]],
    names: Sequence[str],
) -> Path:
    """Write in-memory splits as a Hub-layout config that `load_dataset(out_dir, config)` reads.

    For fixtures and ad-hoc data (e.g. a train/test split of a TSV of sequences): no provenance is
    written. Columns absent from a split get defaults (`id` = `<split>_<row>`, `region` = "",
    `start`/`end` = 0/len, `strand` = "+").

    Args:
        out_dir: the folder (created); `<out_dir>/<config>/<split>-00000-of-00001.parquet` is written and
            `<out_dir>/README.md` lists the config's data files in its YAML `configs:`.
        config: config name.
        splits: split name -> columns (`sequence` and `label` at least; labels as class ids).
        names: class names of the `label` ClassLabel.
    """
    import datasets  # lazy: see the note at the top
    import yaml

    out = Path(out_dir)
    features = benchmark_features(names)
    data_files = []
    for split, cols in splits.items():
        seqs = list(cols["sequence"])
        n = len(seqs)
        columns = {
            "id": list(cols.get("id", [f"{split}_{i}" for i in range(n)])),
            "sequence": seqs,
            "label": [int(x) for x in cols["label"]],
            "region": list(cols.get("region", [""] * n)),
            "start": list(cols.get("start", [0] * n)),
            "end": list(cols.get("end", [len(s) for s in seqs])),
            "strand": list(cols.get("strand", ["+"] * n)),
        }
        path = out / config / shard_name(split)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            datasets.Dataset.from_dict(columns, features=features).to_parquet(str(tmp))
        data_files.append({"split": split, "path": split_pattern(config, split)})
    readme = card_path(out)
    meta = {"configs": []}
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            meta = yaml.safe_load(text.split("---\n", 2)[1]) or meta
    meta["configs"] = [c for c in meta.get("configs", []) if c.get("config_name") != config]
    meta["configs"].append({"config_name": config, "data_files": data_files})
    write_text_atomic(readme, f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n")
    return out
