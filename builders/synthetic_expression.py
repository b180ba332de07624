"""The built-in `synthetic_expression` benchmark's data: a genome with planted motifs, genes whose target is a known function.

Each gene's window (its TSS-centred sequence, read on its strand) holds 0-3 copies of an activator motif and 0-2
of a repressor motif, planted in the genome; its target is

    y = sum over activator sites of  ACTIVATOR_EFFECT * w(site)  +  sum over repressor sites of  REPRESSOR_EFFECT * w(site)
        + HALF_LIFE_EFFECT * half_life + TF_EFFECT * tf_sites + noise,        noise ~ N(0, NOISE**2)

with `w(site) = exp(-|centre - TSS| / DECAY_BP)` (sites near the TSS count more), the sites found by scanning the
final sequence (chance occurrences count too), and three side features: `half_life` and `tf_sites` enter the
target, `gc_noise` does not. The noise-free target is known, so the best R² any model can reach is known: its R²
on the data (`ceiling.json`, shown on the card), and that of the sequence part alone (no side features).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub.builders.download import sha256_file as file_sha256
from gbhub.builders.hub_layout import RegressionTarget
from gbhub.builders.synthetic import _put
from gbhub.builders.tss import GeneTables, read_gene_table

SEED = 20240
UPSTREAM, DOWNSTREAM = 600, 400  # bp around the TSS: 1,000 bp windows (the paper's are 7,000 + 3,500)
COUNTS = {"train": 1_200, "test": 300}
ACTIVATOR, REPRESSOR = "GGGCGGGACT", "TTAGGCATCA"
ACTIVATOR_EFFECT, REPRESSOR_EFFECT = 1.0, -0.8
HALF_LIFE_EFFECT, TF_EFFECT = 0.6, 0.25
DECAY_BP = 250.0
NOISE = 0.35
GAP = 50  # bp between two genes' windows
CONTIGS = ("1", "2")
TABLE_NAMES = {"1": "chr1", "2": "chr2"}  # FASTA in Ensembl names, tables in UCSC names
SCHEMA = RegressionTarget(
    targets=("expression",),
    side_features=("half_life", "tf_sites", "gc_noise"),
    description="synthetic expression: planted activator/repressor sites weighted by distance to the TSS, plus "
                "0.6 x half_life + 0.25 x tf_sites, plus Gaussian noise (sd 0.35)",
)
_COMPLEMENT = bytes.maketrans(b"ACGT", b"TGCA")


def table_name(split: str) -> str:
    """The gene table of a split, relative to the generated folder."""
    return f"synthetic_expression/{split}.csv.gz"


def site_score(sequence: str, motif: str, tss_index: int) -> float:
    """Sum over the occurrences of `motif` in `sequence` (overlaps included) of `exp(-|centre - TSS| / DECAY_BP)`."""
    starts = np.array([m.start() for m in re.finditer(f"(?={motif})", sequence)], dtype=np.float64)
    centres = starts + (len(motif) - 1) / 2
    return float(np.exp(-np.abs(centres - tss_index) / DECAY_BP).sum())


def sequence_signal(sequence: str, tss_index: int = UPSTREAM) -> float:
    """The sequence part of the target: activator and repressor sites, weighted by their distance to the TSS."""
    return (ACTIVATOR_EFFECT * site_score(sequence, ACTIVATOR, tss_index)
            + REPRESSOR_EFFECT * site_score(sequence, REPRESSOR, tss_index))


def generate(folder: Path, *, counts: dict[str, int] | None = None, upstream: int = UPSTREAM,
             downstream: int = DOWNSTREAM, seed: int = SEED, noise: float = NOISE) -> tuple[Path, Path]:
    """Write `reference.fa`, the gene tables and `synthetic_expression/ceiling.json` into `folder`.

    Same output for the same arguments (seeded); files already holding these bytes are not rewritten.

    Args:
        folder: where to write.
        counts: genes per upstream split (default `COUNTS`).
        upstream, downstream: the window around each TSS (bp).
        seed: the generator's seed.
        noise: standard deviation of the target's noise.

    Returns:
        `(reference FASTA, folder)`.
    """
    counts = dict(counts or COUNTS)
    width = upstream + downstream
    rng = np.random.default_rng(seed)
    total = sum(counts.values())
    per_contig = [total // 2 + total % 2, total // 2]
    genome = {name: rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=GAP + n * (width + GAP))
              for name, n in zip(CONTIGS, per_contig)}
    slots = [(name, GAP + i * (width + GAP)) for name, n in zip(CONTIGS, per_contig) for i in range(n)]
    order = rng.permutation(len(slots))
    rows = []
    for k, slot in enumerate(order):
        contig, start = slots[slot]
        minus = bool(rng.random() < 0.5)
        window = genome[contig][start:start + width].copy()
        read = window[::-1].copy() if minus else window  # the gene's strand (complemented below)
        if minus:
            read = np.frombuffer(read.tobytes().translate(_COMPLEMENT), dtype=np.uint8).copy()
        for motif, copies in ((ACTIVATOR, int(rng.integers(0, 4))), (REPRESSOR, int(rng.integers(0, 3)))):
            for _ in range(copies):
                at = int(rng.integers(0, width - len(motif) + 1))
                read[at:at + len(motif)] = np.frombuffer(motif.encode(), dtype=np.uint8)
        sequence = read.tobytes().decode()
        stored = read[::-1] if minus else read
        if minus:
            stored = np.frombuffer(stored.tobytes().translate(_COMPLEMENT), dtype=np.uint8)
        genome[contig][start:start + width] = stored
        tss = start + downstream - 1 if minus else start + upstream  # see builders/tss.py::tss_windows
        half_life, gc_noise = rng.normal(size=2)
        tf_sites = int(rng.poisson(3.0))
        rows.append({"k": k, "id": f"gene{k:05d}", "region": TABLE_NAMES[contig], "tss": tss,
                     "strand": "-" if minus else "+", "signal": sequence_signal(sequence, upstream),
                     "half_life": half_life, "tf_sites": float(tf_sites), "gc_noise": gc_noise})
    frame = pd.DataFrame(rows)
    side = HALF_LIFE_EFFECT * frame["half_life"] + TF_EFFECT * (frame["tf_sites"] - 3.0)
    frame["expression"] = frame["signal"] + side + rng.normal(scale=noise, size=len(frame))
    frame["split"] = np.where(frame["k"] < counts["train"], "train", "test")
    fasta = folder / "reference.fa"
    _put(fasta, b"".join(
        f">{name} synthetic_expression contig\n".encode()
        + b"\n".join(seq.tobytes()[i:i + 60] for i in range(0, len(seq), 60)) + b"\n"
        for name, seq in genome.items()
    ))
    columns = ["id", "region", "tss", "strand", "expression", *SCHEMA.side_features]
    for split in ("train", "test"):
        part = frame[frame["split"] == split]
        csv = part[columns].to_csv(index=False, float_format="%.6f").encode()
        _put(folder / table_name(split), gzip.compress(csv, mtime=0))
    ceiling = {}
    for split in ("train", "test"):
        part = frame[frame["split"] == split]
        y = part["expression"].to_numpy()
        full = part["signal"].to_numpy() + (side[part.index]).to_numpy()
        ceiling[split] = {"r2_noise_free_target": _r2(y, full),
                          "r2_sequence_part_only": _r2(y, part["signal"].to_numpy() + side.mean()),
                          "r2_side_features_only": _r2(y, side[part.index].to_numpy() + frame["signal"].mean())}
    info = {"ceiling": ceiling, "noise_sd": noise, "seed": seed, "upstream_bp": upstream, "downstream_bp": downstream,
            "genes": counts}
    _put(folder / "synthetic_expression" / "ceiling.json", (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return fasta, folder


def _r2(y: np.ndarray, prediction: np.ndarray) -> float:
    """1 - SSE / SST (scikit-learn's R²), rounded to 4 digits."""
    return round(float(1 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2)), 4)


def load_genes(folder: Path):
    """The generated gene tables of `folder` (`tss.GeneTables`), the known ceiling R² as `verified`."""
    names = {split: table_name(split) for split in ("train", "test")}
    tables = {split: read_gene_table(folder / name, SCHEMA, name=name) for split, name in names.items()}
    digests = {name: file_sha256(folder / name) for name in names.values()}
    info = json.loads((folder / "synthetic_expression" / "ceiling.json").read_text(encoding="utf-8"))
    return GeneTables(tables, names, digests, verified={"kind": "synthetic", **info})
