"""`gbhub build` offline on a real upstream benchmark: drosophila tables mix `chr2L`/`chrM` spellings."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import pytest

from gbhub.builders.assemblies import KNOWN_LENGTHS
from gbhub.cli import main

ENSEMBL_NAMES = {"2L": "2L", "2R": "2R", "3L": "3L", "3R": "3R", "4": "4", "X": "X", "Y": "Y",
                 "MT": "mitochondrion_genome"}


@pytest.fixture(scope="module")
def fly_genome(tmp_path_factory):
    """A random genome with BDGP6.28's Ensembl contig names and lengths (138 Mbp, one line each)."""
    rng = np.random.default_rng(1)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    folder = tmp_path_factory.mktemp("fly")
    contigs = {}
    with open(folder / "fly.fa", "wb") as out:
        for key, length in KNOWN_LENGTHS["BDGP6.28"].items():
            seq = bases[rng.integers(0, 4, size=length, dtype=np.uint8)].tobytes()
            contigs[key] = seq
            out.write(f">{ENSEMBL_NAMES[key]} dna:chromosome\n".encode() + seq + b"\n")
    return folder / "fly.fa", contigs


def test_offline_build_of_drosophila_enhancers(upstream, fly_genome, tmp_path, capsys):
    fasta, contigs = fly_genome
    out = tmp_path / "hub"
    coordinates = upstream / "genomic_benchmarks" / "datasets"
    argv = ["build", "drosophila_enhancers_stark", "--coordinates", str(coordinates),
            "--reference", f"BDGP6.28={fasta}", "--out", str(out), "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    ds = datasets.load_dataset(str(out), "drosophila_enhancers_stark")
    assert {s: len(ds[s]) for s in ds} == {"train": 4666, "validation": 518, "test": 1730}
    frame = pd.concat([ds[s].to_pandas() for s in ds])
    complement = bytes.maketrans(b"ACGT", b"TGCA")
    for row in frame.sample(300, random_state=0).itertuples():
        key = row.region[3:] if row.region.startswith("chr") else row.region
        piece = contigs["MT" if key == "M" else key][row.start:row.end]
        expected = piece[::-1].translate(complement) if row.strand == "-" else piece
        assert row.sequence == expected.decode()
    assert "chrM" in set(frame["region"])  # the UCSC mito name resolved against mitochondrion_genome
