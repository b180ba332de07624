"""Synthetic genomes for the `gbhub create` tests: GC isochores, soft-masked repeats, N runs, planted motifs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOTIF = "TGACTCATGCGTAGCA"  # planted in every positive region (either strand)
_COMP = str.maketrans("ACGT", "TGCA")


def random_contig(rng: np.random.Generator, length: int) -> np.ndarray:
    """Bases (uint8) with 20 kb isochores of GC 0.35-0.60, soft-masked (lower-case) repeats and a 1 kb N run."""
    gc = np.repeat(rng.uniform(0.35, 0.6, length // 20_000 + 1), 20_000)[:length]
    u = rng.random(length)
    bases = np.where(u < gc / 2, ord("G"), np.where(u < gc, ord("C"),
                     np.where(u < gc + (1 - gc) / 2, ord("A"), ord("T")))).astype(np.uint8)
    for start in rng.integers(0, max(1, length - 500), length // 3000):
        bases[start: start + int(rng.integers(100, 500))] |= 32  # lower case: soft-masked
    if length > 10_000:
        bases[5000:6000] = ord("N")
    return bases


def write_genome(folder: Path, contigs: dict[str, int], *, seed: int,
                 planted: dict[str, list[tuple[int, int]]] | None = None) -> Path:
    """Write `folder/genome.fa` (60-column lines); `planted[contig]` = `(start, strand)` of motifs to plant."""
    rng = np.random.default_rng(seed)
    path = Path(folder) / "genome.fa"
    with open(path, "wb") as out:
        for name, length in contigs.items():
            bases = random_contig(rng, length)
            for start, minus in (planted or {}).get(name, []):
                motif = MOTIF.translate(_COMP)[::-1] if minus else MOTIF
                bases[start: start + len(MOTIF)] = np.frombuffer(motif.encode(), dtype=np.uint8)
            data = bases.tobytes()
            out.write(f">{name}\n".encode() + b"\n".join(data[i: i + 60] for i in range(0, len(data), 60)) + b"\n")
    return path


def planted_benchmark(folder: Path, *, seed: int = 11, per_contig: dict[str, int] | None = None,
                      length: int = 200) -> tuple[Path, Path]:
    """A genome with the motif planted once in each of some windows, and the BED of those windows (UCSC names).

    Returns:
        `(FASTA, BED)`; the BED is sorted, BED6 with strands.
    """
    per_contig = per_contig or {"1": 240, "2": 80, "3": 80}
    contigs = {"1": 1_600_000, "2": 500_000, "3": 500_000, "MT": 16_000}
    rng = np.random.default_rng(seed)
    planted, rows = {}, []
    for name, count in per_contig.items():
        slots = np.sort(rng.choice(np.arange(10_000, contigs[name] - 2_000, 2_000), count, replace=False))
        planted[name] = []
        for i, start in enumerate(slots):
            minus = bool(rng.random() < 0.5)
            planted[name].append((int(start) + int(rng.integers(20, length - 40)), minus))
            rows.append(f"chr{name}\t{start}\t{start + length}\tpeak_{name}_{i}\t0\t{'-' if minus else '+'}\n")
    fasta = write_genome(folder, contigs, seed=seed, planted=planted)
    bed = Path(folder) / "peaks.bed"
    bed.write_text("".join(rows))
    return fasta, bed


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path (for byte-identical rebuild checks)."""
    import hashlib

    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def load_frame(hub: Path, config: str):
    """`(DatasetDict, one frame of all splits with a split column)` of a built config."""
    import datasets
    import pandas as pd

    ds = datasets.load_dataset(str(hub), config)
    return ds, pd.concat([ds[s].to_pandas().assign(split=s) for s in ("train", "validation", "test")],
                         ignore_index=True)
