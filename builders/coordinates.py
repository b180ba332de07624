"""Coordinate tables (`id,region,start,end,strand`): fetching at the pinned commit, checksums, validation."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub.builders.download import cache_root, download
from gbhub.builders.errors import ChecksumError, CoordinateTableError

COLUMNS = ["id", "region", "start", "end", "strand"]
UPSTREAM_REPOSITORY = "https://github.com/ML-Bioinfo-CEITEC/genomic_benchmarks"
UPSTREAM_COMMIT = "605d8539830e16c85abe7826990958303ffc5e1c"
# Overridable (GBHUB_COORDINATES_URL) for mirrors and for the tests' loopback server.
UPSTREAM_RAW_URL = f"https://raw.githubusercontent.com/ML-Bioinfo-CEITEC/genomic_benchmarks/{UPSTREAM_COMMIT}/"


def pinned_checksums() -> dict[str, str]:
    """sha256 of every upstream table at the pinned commit, keyed `<benchmark>/<split>/<class>.csv.gz`."""
    text = resources.files("gbhub.builders").joinpath("data/genomic_benchmarks_605d8539.sha256").read_text()
    return {path: digest for digest, path in (line.split() for line in text.splitlines() if line)}


def table_path(benchmark: str, split: str, cls: str) -> str:
    return f"{benchmark}/{split}/{cls}.csv.gz"


def fetch_table(
    benchmark: str, split: str, cls: str, *, coordinates_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None, progress: bool = True,
) -> tuple[Path, str]:
    """Locate (or download) and verify one upstream table; return its path and sha256.

    With `coordinates_dir` the table is read from that local copy (same layout as upstream
    `datasets/`); otherwise it is downloaded from the pinned commit into `<cache>/coordinates/`.
    Either way its sha256 must equal the pinned one.
    """
    rel = table_path(benchmark, split, cls)
    expected = pinned_checksums().get(rel)
    if expected is None:
        raise CoordinateTableError(f"no pinned checksum for {rel}: not an upstream table")
    if coordinates_dir is not None:
        path = Path(coordinates_dir) / rel
        if not path.is_file():
            raise CoordinateTableError(
                f"{path} not found: --coordinates must point at a copy of upstream `datasets/` "
                f"(folders <benchmark>/<split>/<class>.csv.gz)"
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise ChecksumError(
                f"{path} has sha256 {digest}, but upstream commit {UPSTREAM_COMMIT[:8]} has {expected}: "
                "the local copy differs from the pinned upstream table; restore it from upstream "
                "or drop --coordinates to download it"
            )
        return path, digest
    base = os.environ.get("GBHUB_COORDINATES_URL", UPSTREAM_RAW_URL).rstrip("/") + "/"
    dest = cache_root(cache_dir) / "coordinates" / UPSTREAM_COMMIT / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = download(base + "datasets/" + rel, dest, sha256=expected, progress=progress)
    return dest, digest


def read_table(path: str | os.PathLike, *, name: str | None = None) -> pd.DataFrame:
    """Read and validate a coordinate table (`.csv` or `.csv.gz`).

    Returns a DataFrame with `id`, `region` (str), `start`, `end` (int64), `strand` ('+' or '-'; an
    empty strand becomes '+') and `row` (1-based data row, for error messages).

    Raises:
        CoordinateTableError: naming the file, the row and the fix, for missing or extra columns,
            non-integer or negative coordinates, `end <= start`, an unknown strand, duplicate ids or a
            truncated/corrupt gzip.
    """
    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        where = name if name == str(path) else f"{name} ({path})"
        raise CoordinateTableError(f"{where} not found: fetch the table again or fix the path")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, na_filter=False)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as err:
        raise CoordinateTableError(
            f"{name} is truncated or corrupt ({err}): delete it and fetch it again"
        ) from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CoordinateTableError(f"{name} is not a CSV coordinate table ({err})") from err
    except pd.errors.EmptyDataError as err:
        raise CoordinateTableError(f"{name} is empty: expected header {','.join(COLUMNS)}") from err
    if list(frame.columns) != COLUMNS:
        missing = [c for c in COLUMNS if c not in frame.columns]
        extra = [c for c in frame.columns if c not in COLUMNS]
        raise CoordinateTableError(
            f"{name} has columns {','.join(map(str, frame.columns))}; expected exactly "
            f"{','.join(COLUMNS)} (missing: {missing or 'none'}, unexpected: {extra or 'none'})"
        )
    if frame.empty:
        raise CoordinateTableError(
            f"{name} has a header but no rows: every class table needs at least one interval; "
            "fix the table or drop the class"
        )
    frame["row"] = np.arange(1, len(frame) + 1)
    for column in ("start", "end"):
        frame[column] = _integers(frame[column], column, frame["row"], name)
    _check(frame["end"] <= frame["start"], frame, name,
           lambda r: f"end {r.end} <= start {r.start}: intervals are 0-based half-open, end > start")
    strand = frame["strand"].str.strip()
    _check(~strand.isin(["+", "-", ""]), frame.assign(strand=strand), name,
           lambda r: f"strand {r.strand!r} is not '+', '-' or empty")
    frame["strand"] = strand.replace("", "+")
    frame["region"] = frame["region"].str.strip()
    _check(frame["region"] == "", frame, name, lambda r: "region is empty")
    frame["id"] = frame["id"].str.strip()
    _check(frame["id"] == "", frame, name, lambda r: "id is empty: every row needs a unique id")
    duplicated = frame["id"].duplicated(keep="first")
    _check(duplicated, frame, name,
           lambda r: f"id {r.id!r} appears twice in this table: ids must be unique within a class")
    return frame


def _integers(column: pd.Series, label: str, rows: pd.Series, name: str) -> pd.Series:
    text = column.str.strip()
    # ASCII digits only (`\d` would let full-width and other Unicode digits through), at most 18 of them:
    # every such number fits int64 (longer ones would overflow, not parse)
    bad = ~text.str.fullmatch(r"-?[0-9]{1,18}")
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise CoordinateTableError(
            f"row {rows.iloc[i]} of {name}: {label} {column.iloc[i]!r} is not an integer (of at most 18 "
            "digits); coordinates are 0-based integer positions"
        )
    values = text.astype(np.int64)
    negative = values < 0
    if negative.any():
        i = int(np.argmax(negative.to_numpy()))
        raise CoordinateTableError(
            f"row {rows.iloc[i]} of {name}: {label} {values.iloc[i]} is negative; "
            "coordinates are 0-based positions >= 0"
        )
    return values


def _check(bad: pd.Series, frame: pd.DataFrame, name: str, describe) -> None:
    if bad.any():
        row = frame[bad.to_numpy()].iloc[0]
        raise CoordinateTableError(f"row {row.row} of {name}: {describe(row)}; fix the table")

