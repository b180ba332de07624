"""Source files of benchmarks that come from neither upstream nor code (e.g. the Xpresso datapack): URL, checksum, cache."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gbhub.builders.download import cache_root, download
from gbhub.builders.download import sha256_file as file_sha256
from gbhub.builders.errors import ChecksumError, CoordinateTableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    """One file a benchmark is built from.

    Attributes:
        name: its path inside the benchmark's source folder (and inside `--coordinates DIR`).
        url: where it is downloaded from.
        sha256: the pinned checksum; None when the source publishes none and none was pinned yet (the build then
            records the file's sha256 in the provenance and the card says it was not verified against a pin).
        description: what it holds (for the card).
    """

    name: str
    url: str
    sha256: str | None = None
    description: str = ""


def source_dir(benchmark: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where a benchmark's downloaded source files are cached."""
    return cache_root(cache_dir) / "sources" / benchmark


def fetch_sources(spec, *, coordinates_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None, progress: bool = True) -> tuple[Path, dict]:
    """Locate (in `coordinates_dir`) or download (into the cache) every `spec.sources` file, verified.

    Returns:
        `(folder holding them, {name: {"url", "sha256", "pinned", "source"}})` for the provenance.

    Raises:
        CoordinateTableError: a file is missing from `coordinates_dir` (names it and the expected layout).
        ChecksumError: a file's sha256 differs from its pin.
        DownloadError: a download failed (resumable).
    """
    record = {}
    if coordinates_dir is not None:
        folder = Path(coordinates_dir)
        for source in spec.sources:
            path = folder / source.name
            if not path.is_file():
                layout = ", ".join(s.name for s in spec.sources)
                raise CoordinateTableError(f"{path} not found: --coordinates for {spec.name} must be a folder holding "
                                           f"its source files ({layout}), as downloaded from {source.url}")
            digest = file_sha256(path)
            if source.sha256 and digest != source.sha256:
                raise ChecksumError(f"{path} has sha256 {digest}, the pinned {source.name} has {source.sha256}: the "
                                    f"local copy differs from {source.url}; download it again")
            record[source.name] = {"url": source.url, "sha256": digest, "pinned": bool(source.sha256),
                                   "source": "local file"}
        return folder, record
    folder = source_dir(spec.name, cache_dir)
    for source in spec.sources:
        dest = folder / source.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = download(source.url, dest, sha256=source.sha256, progress=progress)
        if not source.sha256:
            logger.warning("%s: no pinned sha256 for %s; recorded %s in the provenance", spec.name, source.name, digest)
        record[source.name] = {"url": source.url, "sha256": digest, "pinned": bool(source.sha256),
                               "source": "download"}
    return folder, record


__all__ = ["ChecksumError", "SourceFile", "fetch_sources", "source_dir"]
