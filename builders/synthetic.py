"""The built-in `synthetic` benchmark's data: a deterministic genome with planted motifs and its tables."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub.builders.errors import OutputWriteError, os_error_message
from gbhub.builders.locks import temp_file

SEED = 20231
LENGTH = 200
MOTIF = "TGACTCATGCGTAGCA"  # planted in every positive window (as seen on the row's strand)
CONTIGS = {"1": 400_000, "2": 300_000, "MT": 16_000}  # FASTA uses Ensembl names ...
TABLE_NAMES = {"1": "chr1", "2": "chr2", "MT": "chrM"}  # ... the tables UCSC names, as upstream mixes
COUNTS = {"train": {"negative": 700, "positive": 700}, "test": {"negative": 200, "positive": 200}}
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def generate(folder: Path) -> tuple[Path, Path]:
    """Write `reference.fa` and `synthetic/{train,test}/{negative,positive}.csv.gz` into `folder`.

    Windows are `LENGTH` bp, non-overlapping, on both strands; positives carry `MOTIF` at a random
    offset (reverse-complemented in the genome for `-` rows, so the extracted sequence reads it),
    negatives are background with a few `N`s. Same output for every call (fixed seed).

    Returns:
        `(reference FASTA, coordinates folder)`; the latter in upstream `datasets/` layout.
    """
    rng = np.random.default_rng(SEED)
    genome = {name: rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=n) for name, n in CONTIGS.items()}
    total = sum(sum(c.values()) for c in COUNTS.values())
    slots = [(name, i * LENGTH) for name, n in CONTIGS.items() for i in range(n // LENGTH)]
    picks = rng.choice(len(slots), size=total, replace=False)
    rows, k = [], 0
    for split, classes in COUNTS.items():
        for cls, count in classes.items():
            for j in range(count):
                contig, start = slots[picks[k]]
                k += 1
                strand = "-" if rng.random() < 0.5 else "+"
                window = genome[contig][start : start + LENGTH]
                if cls == "positive":
                    motif = MOTIF if strand == "+" else MOTIF.translate(_COMPLEMENT)[::-1]
                    at = int(rng.integers(0, LENGTH - len(MOTIF)))
                    window[at : at + len(MOTIF)] = np.frombuffer(motif.encode(), dtype=np.uint8)
                elif rng.random() < 0.1:
                    window[int(rng.integers(0, LENGTH))] = ord("N")
                rows.append((split, cls, f"{split}_{cls}_{j}", TABLE_NAMES[contig], start, start + LENGTH, strand))
    fasta = folder / "reference.fa"
    text = b"".join(
        f">{name} synthetic contig\n".encode()
        + b"\n".join(seq.tobytes()[i : i + 60] for i in range(0, len(seq), 60)) + b"\n"
        for name, seq in genome.items()
    )
    _put(fasta, text)
    frame = pd.DataFrame(rows, columns=["split", "cls", "id", "region", "start", "end", "strand"])
    tables = folder / "datasets"
    for (split, cls), group in frame.groupby(["split", "cls"]):
        csv = group[["id", "region", "start", "end", "strand"]].to_csv(index=False).encode()
        _put(tables / "synthetic" / split / f"{cls}.csv.gz", gzip.compress(csv, mtime=0))
    return fasta, tables


def _put(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, unless the file already holds exactly these bytes.

    An unchanged file is not touched: a read-only cache that holds the generated files can be used,
    and a damaged or edited file is replaced.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    tmp = temp_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as err:
        raise OutputWriteError(os_error_message(err, path)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
