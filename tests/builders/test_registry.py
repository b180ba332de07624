"""The registry against the upstream tables: names, classes, references, counts."""

from __future__ import annotations

import pytest
import yaml

from gbhub.builders.citations import GENOMIC_BENCHMARKS_HUB
from gbhub.builders.coordinates import read_table
from gbhub.builders.errors import GenomeReferenceError, UnknownBenchmarkError
from gbhub.builders.references import REFERENCES, parse_reference_args
from gbhub.builders.registry import get_benchmark, registry, upstream_benchmarks

NINE = [
    "demo_coding_vs_intergenomic_seqs", "demo_human_or_worm", "drosophila_enhancers_stark",
    "dummy_mouse_enhancers_ensembl", "human_enhancers_cohn", "human_enhancers_ensembl",
    "human_ensembl_regulatory", "human_nontata_promoters", "human_ocr_ensembl",
]


def test_registry_holds_the_nine_and_synthetic():
    assert upstream_benchmarks() == NINE
    assert list(registry()) == sorted(NINE + ["synthetic", "synthetic_expression", "xpresso_human"])
    for spec in registry().values():
        assert spec.license == ("mit" if spec.name == "xpresso_human" else "apache-2.0") and spec.version == 0
        if spec.upstream:
            assert "gresova2023genomic" in spec.citations[0]
        elif spec.generate is not None:  # generated in code: its own citation and no upstream homepage
            assert spec.citations == (GENOMIC_BENCHMARKS_HUB,) and spec.homepage == ""
        else:  # from other sources (the Xpresso datapack): downloaded by URL, cited, regression
            assert spec.sources and spec.target is not None and "agarwal2020predicting" in spec.citations[0]
        assert spec.reference_keys <= set(REFERENCES)


def test_unknown_benchmark_lists_the_known_ones():
    with pytest.raises(UnknownBenchmarkError, match="unknown benchmark 'human_promoters'.*human_nontata_promoters"):
        get_benchmark("human_promoters")


@pytest.mark.parametrize("name", NINE)
def test_spec_matches_upstream_tables_and_metadata(upstream, name):
    folder = upstream / "genomic_benchmarks" / "datasets" / name
    spec = get_benchmark(name)
    metadata = yaml.safe_load((folder / "metadata.yaml").read_text())
    # class names are the upstream file stems, in sorted order
    assert list(spec.classes) == sorted(metadata["classes"]) == sorted(p.name[:-7] for p in (folder / "train").iterdir())
    for cls, info in metadata["classes"].items():
        # the same Ensembl file (release and path), served over https
        ours = REFERENCES[spec.class_references[cls]].url
        assert ours.split("/pub/", 1)[1] == info["url"].split("/pub/", 1)[1]
    for split in ("train", "test"):
        for cls in spec.classes:
            table = read_table(folder / split / f"{cls}.csv.gz", name=f"{name}/{split}/{cls}.csv.gz")
            assert len(table) == spec.counts[split][cls]


def test_reference_arguments():
    with pytest.raises(GenomeReferenceError, match="expected KEY=PATH"):
        parse_reference_args(["GRCh38"])


def test_reference_arguments_resolve_assemblies(tmp_path):
    fasta = tmp_path / "hg.fa"
    fasta.write_text(">chr1\nA\n")
    refs = parse_reference_args([f"GRCh38={fasta}", f"WBcel235_ensembl104={fasta}"])
    assert refs == {"GRCh38_ensembl97": fasta, "GRCh38_ensembl100": fasta, "WBcel235_ensembl104": fasta}
    with pytest.raises(UnknownBenchmarkError, match="neither a reference key"):
        parse_reference_args([f"hg19={fasta}"])
    with pytest.raises(GenomeReferenceError, match="not found"):
        parse_reference_args([f"GRCh38={tmp_path / 'missing.fa'}"])
