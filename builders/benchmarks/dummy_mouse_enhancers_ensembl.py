"""Dummy mouse enhancers (Ensembl): dummy_mouse_enhancers_ensembl of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.citations import ENSEMBL_REGULATORY_BUILD
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="dummy_mouse_enhancers_ensembl",
    pretty_name="Dummy mouse enhancers (Ensembl)",
    classes=('negative', 'positive'),
    class_references={'negative': 'GRCm38_ensembl100', 'positive': 'GRCm38_ensembl100'},
    counts={'train': {'negative': 484, 'positive': 484}, 'test': {'negative': 121, 'positive': 121}},
    description=(
        'A small dataset for quick prototyping. `positive`: mouse enhancers from the Ensembl '
        'Regulatory Build (GRCm38, Ensembl release 100); `negative`: random GRCm38 windows matching '
        "the positives' lengths and not overlapping them. "
    ),
    source_citation=ENSEMBL_REGULATORY_BUILD,
)
