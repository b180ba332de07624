"""Demo: human or worm: demo_human_or_worm of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.citations import ENSEMBL_2021
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="demo_human_or_worm",
    pretty_name="Demo: human or worm",
    classes=('human', 'worm'),
    class_references={'human': 'GRCh38_ensembl97', 'worm': 'WBcel235_ensembl104'},
    counts={'train': {'human': 37500, 'worm': 37500}, 'test': {'human': 12500, 'worm': 12500}},
    description=(
        '200 bp random genomic windows of human (GRCh38, Ensembl release 97) or *C. elegans* '
        '(WBcel235, Ensembl release 104): a species-classification demo generated computationally '
        'for the Genomic Benchmarks collection. The worm table names contigs in Ensembl spelling '
        '(`I`…`V`, `X`, `MtDNA`). '
    ),
    source_citation=ENSEMBL_2021,
)
