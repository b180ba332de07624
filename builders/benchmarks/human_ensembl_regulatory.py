"""Human regulatory elements (Ensembl): human_ensembl_regulatory of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.citations import ENSEMBL_REGULATORY_BUILD
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="human_ensembl_regulatory",
    pretty_name="Human regulatory elements (Ensembl)",
    classes=('enhancer', 'ocr', 'promoter'),
    class_references={'enhancer': 'GRCh38_ensembl100', 'ocr': 'GRCh38_ensembl100', 'promoter': 'GRCh38_ensembl100'},
    counts={'train': {'enhancer': 85512, 'ocr': 69902, 'promoter': 75934}, 'test': {'enhancer': 21378, 'ocr': 17476, 'promoter': 18859}},
    description=(
        'Three classes from the Ensembl Regulatory Build (GRCh38, Ensembl release 100): `enhancer`, '
        '`promoter` and `ocr` (open chromatin regions observed by DNase-seq and covered by no other '
        'annotation). The `ocr` sequences are the positives of `human_ocr_ensembl`. The tables '
        'leave the strand empty (read as `+`). '
    ),
    source_citation=ENSEMBL_REGULATORY_BUILD,
)
