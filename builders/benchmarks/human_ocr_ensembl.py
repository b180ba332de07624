"""Human open chromatin regions (Ensembl): human_ocr_ensembl of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.citations import ENSEMBL_REGULATORY_BUILD
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="human_ocr_ensembl",
    pretty_name="Human open chromatin regions (Ensembl)",
    classes=('negative', 'positive'),
    class_references={'negative': 'GRCh38_ensembl100', 'positive': 'GRCh38_ensembl100'},
    counts={'train': {'negative': 69902, 'positive': 69902}, 'test': {'negative': 17476, 'positive': 17476}},
    description=(
        '`positive`: human open chromatin regions of the Ensembl Regulatory Build (GRCh38, Ensembl '
        'release 100), observed by DNase-seq and covered by no other annotation; `negative`: random '
        "GRCh38 windows matching the positives' lengths and not overlapping them. The positive "
        'table leaves the strand empty (read as `+`). '
    ),
    source_citation=ENSEMBL_REGULATORY_BUILD,
)
