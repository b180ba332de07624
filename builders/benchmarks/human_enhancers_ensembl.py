"""Human enhancers (Ensembl): human_enhancers_ensembl of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="human_enhancers_ensembl",
    pretty_name="Human enhancers (Ensembl)",
    classes=('negative', 'positive'),
    class_references={'negative': 'GRCh38_ensembl100', 'positive': 'GRCh38_ensembl100'},
    counts={'train': {'negative': 61936, 'positive': 61936}, 'test': {'negative': 15485, 'positive': 15485}},
    description=(
        '`positive`: human enhancers of the FANTOM5 project, accessed through Ensembl (GRCh38, '
        "release 100); `negative`: random GRCh38 windows matching the positives' lengths and not "
        'overlapping them. '
    ),
    source_citation=r"""@article{andersson2014atlas,
  title   = {An atlas of active enhancers across human cell types and tissues},
  author  = {Andersson, Robin and Gebhard, Claudia and Miguel-Escalada, Irene and others},
  journal = {Nature},
  volume  = {507},
  number  = {7493},
  pages   = {455--461},
  year    = {2014},
  doi     = {10.1038/nature12787}
}""",
)
