"""Writing a config into a Hub-layout folder: Parquet per split + provenance, swapped in atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import datasets

from builders.plan import SPLITS

# Rows per Parquet row group. The dataset viewer reads whole row groups; 5,000 rows keep each group
# at a few MB for 200-500 bp benchmarks and under ~25 MB uncompressed for the longest (drosophila,
# a few kb), far below datasets' 100 MB target, so pages of the viewer load quickly.
ROW_GROUP_ROWS = 5_000


def shard_name(split: str, index: int = 0, total: int = 1) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def write_config(
    out_dir: str | os.PathLike,
    config: str,
    dataset: datasets.DatasetDict,
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
        provenance_dir = out / "provenance"
        provenance_dir.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=provenance_dir, suffix=".tmp", delete=False) as tmp:
            json.dump(provenance, tmp, indent=2, sort_keys=True)
            tmp.write("\n")
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
        os.replace(tmp.name, provenance_dir / f"{config}.json")
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if "tmp" in locals() and os.path.exists(tmp.name):
            os.unlink(tmp.name)
    return out / config


def configs_in(out_dir: str | os.PathLike) -> list[str]:
    """Configs present in a Hub-layout folder (those with a provenance file and Parquet)."""
    out = Path(out_dir)
    return sorted(
        p.stem for p in (out / "provenance").glob("*.json") if any((out / p.stem).glob("*.parquet"))
    )
