"""Demo: coding vs intergenomic sequences: demo_coding_vs_intergenomic_seqs of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.citations import ENSEMBL_2021
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="demo_coding_vs_intergenomic_seqs",
    pretty_name="Demo: coding vs intergenomic sequences",
    classes=('coding_seqs', 'intergenomic_seqs'),
    class_references={'coding_seqs': 'GRCh38_cdna_ensembl97', 'intergenomic_seqs': 'GRCh38_ensembl97'},
    counts={'train': {'coding_seqs': 37500, 'intergenomic_seqs': 37500}, 'test': {'coding_seqs': 12500, 'intergenomic_seqs': 12500}},
    description=(
        '200 bp human sequences: `coding_seqs` are windows of protein-coding transcripts (Ensembl '
        'cDNA, release 97; coordinates are on transcript ids), `intergenomic_seqs` are random '
        'windows of the GRCh38 genome outside genes. A demo dataset generated computationally for '
        'the Genomic Benchmarks collection. '
    ),
    source_citation=ENSEMBL_2021,
)
