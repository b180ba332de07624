"""Dummy mouse enhancers (Ensembl): dummy_mouse_enhancers_ensembl of the Genomic Benchmarks collection (upstream version 0)."""

from builders.registry import BenchmarkSpec

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
    source_citation=r"""@article{zerbino2015ensembl,
  title   = {The Ensembl Regulatory Build},
  author  = {Zerbino, Daniel R and Wilder, Steven P and Johnson, Nathan and Juettemann, Thomas and Flicek, Paul R},
  journal = {Genome Biology},
  volume  = {16},
  number  = {1},
  pages   = {56},
  year    = {2015},
  doi     = {10.1186/s13059-015-0621-5}
}""",
)
