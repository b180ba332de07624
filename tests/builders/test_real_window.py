"""Real data: a test-made GRCh38 chr22 holding the real 300 kb window reproduces published sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from builders.coordinates import read_table
from builders.genome import Genome, prepare
from builders.references import REFERENCES
from builders.registry import get_benchmark, upstream_benchmarks

WINDOW_START, WINDOW_END = 32_000_000, 32_300_000
CHR22_LENGTH = 50_818_468  # GRCh38, so the assembly check passes


@pytest.fixture(scope="module")
def chr22(upstream, tmp_path_factory) -> Genome:
    window_fa = upstream / "kipoi__kipoiseq" / "tests" / "data" / "hg38_chr22_32000000_32300000.fa"
    window = "".join(window_fa.read_text().splitlines()[1:])
    assert len(window) == WINDOW_END - WINDOW_START
    folder = tmp_path_factory.mktemp("chr22")
    fasta = folder / "chr22.fa"
    with open(fasta, "w") as out:  # Ensembl naming ("22"); the tables say chr22
        out.write(">22 dna:chromosome chromosome:GRCh38:22:1:50818468:1 REF\n")
        out.write("N" * WINDOW_START)
        out.write(window)
        out.write("N" * (CHR22_LENGTH - WINDOW_END))
        out.write("\n")
    return Genome(prepare(fasta, folder / "prepared", assembly="GRCh38", progress=False))


def test_published_sequences_are_reproduced_byte_for_byte(upstream, chr22):
    published = pd.read_csv(upstream / "published_sequences_chr22_window.tsv", sep="\t", dtype=str,
                            keep_default_na=False)
    assert len(published) == 5
    minus = (published["strand"] == "-").to_numpy()
    got = chr22.fetch(published["region"].to_numpy(), published["start"].astype(np.int64).to_numpy(),
                      published["end"].astype(np.int64).to_numpy(), minus).to_pylist()
    assert got == published["sequence"].tolist()


def test_every_upstream_interval_inside_the_window_builds(upstream, chr22):
    root = upstream / "genomic_benchmarks" / "datasets"
    inside = []
    for name in upstream_benchmarks():
        spec = get_benchmark(name)
        for split in ("train", "test"):
            for cls in spec.classes:
                if REFERENCES[spec.class_references[cls]].assembly != "GRCh38" or \
                        REFERENCES[spec.class_references[cls]].kind != "genome":
                    continue
                table = read_table(root / name / split / f"{cls}.csv.gz")
                hit = table[(table["region"] == "chr22") & (table["start"] >= WINDOW_START)
                            & (table["end"] <= WINDOW_END)]
                inside.append(hit.assign(benchmark=name))
    rows = pd.concat(inside, ignore_index=True)
    assert len(rows) == 96
    assert rows["benchmark"].value_counts().to_dict() == {
        "human_ensembl_regulatory": 34, "human_enhancers_ensembl": 27, "human_ocr_ensembl": 24,
        "human_nontata_promoters": 5, "demo_human_or_worm": 4, "human_enhancers_cohn": 1,
        "demo_coding_vs_intergenomic_seqs": 1}
    seqs = chr22.fetch(rows["region"].to_numpy(), rows["start"].to_numpy(), rows["end"].to_numpy(),
                       (rows["strand"] == "-").to_numpy())
    lengths = [len(s) for s in seqs.to_pylist()]
    assert lengths == (rows["end"] - rows["start"]).tolist()
    assert all(set(s) <= set("ACGTN") for s in seqs.to_pylist())


def test_interval_outside_the_real_chr22_end_is_refused(chr22):
    with pytest.raises(Exception, match=r"ends past chr22 \(length 50,818,468\)"):
        chr22.fetch(np.array(["chr22"]), np.array([CHR22_LENGTH - 10]), np.array([CHR22_LENGTH + 1]),
                    np.array([False]))
