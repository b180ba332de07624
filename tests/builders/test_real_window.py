"""Real data: a test-made GRCh38 chr22 holding the real 300 kb window reproduces published sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gbhub.builders.coordinates import read_table
from gbhub.builders.genome import Genome, prepare
from gbhub.builders.references import REFERENCES
from gbhub.builders.registry import get_benchmark, upstream_benchmarks

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


def test_real_window_config_round_trips_through_the_hub_layout(upstream, chr22, tmp_path):
    """The window's human_ensembl_regulatory rows (3 classes) through plan -> builder -> Parquet -> card."""
    import datasets

    from gbhub.builders.build import materialize
    from gbhub.builders.hub_layout import write_config
    from gbhub.builders.plan import upstream_plan
    from gbhub.hub_cards.dataset_card import write_dataset_card

    spec = get_benchmark("human_ensembl_regulatory")
    root = upstream / "genomic_benchmarks" / "datasets" / spec.name
    tables, names = {"train": {}, "test": {}}, {"train": {}, "test": {}}
    for split in tables:
        for label, cls in enumerate(spec.classes):
            table = read_table(root / split / f"{cls}.csv.gz")
            keep = (table["region"] == "chr22") & (table["start"] >= WINDOW_START) & (table["end"] <= WINDOW_END)
            tables[split][label] = table[keep]
            names[split][label] = f"{spec.name}/{split}/{cls}.csv.gz"
    genomes = {label: str(chr22.path) for label in range(3)}
    plan = upstream_plan(tables, names, genomes, seed=42)
    dataset = materialize(plan, "regulatory_chr22_window", spec.classes, cache_dir=tmp_path / "cache")
    provenance = {
        "config": "regulatory_chr22_window", "pretty_name": "Regulatory elements in a chr22 window",
        "description": "Real rows of human_ensembl_regulatory inside chr22:32.0-32.3 Mb.",
        "classes": list(spec.classes), "class_references": dict(spec.class_references),
        "references": {"GRCh38_ensembl100": {"url": "test-made", "assembly": "GRCh38", "kind": "genome",
                                             "sha256": chr22.source_sha256, "source": "local file"}},
        "citations": list(spec.citations), "license": "apache-2.0", "homepage": spec.homepage,
        "upstream": None, "package_version": "test", "parent": None, "variant_note": None,
        "validation": {"seed": 42, "fraction": 0.1, "stratified": True},
        "splits": {s: {"num_examples": len(dataset[s])} for s in dataset},
    }
    out = tmp_path / "hub"
    write_config(out, "regulatory_chr22_window", dataset, provenance)
    write_dataset_card(out)
    assert datasets.get_dataset_config_names(str(out)) == ["regulatory_chr22_window"]
    loaded = datasets.load_dataset(str(out), "regulatory_chr22_window")
    assert loaded["train"].features["label"].names == ["enhancer", "ocr", "promoter"]
    assert sum(len(loaded[s]) for s in loaded) == 34
    assert {s: len(loaded[s]) for s in loaded} == {s: len(dataset[s]) for s in dataset}
