"""Drosophila enhancers (Stark): drosophila_enhancers_stark of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="drosophila_enhancers_stark",
    pretty_name="Drosophila enhancers (Stark)",
    classes=('negative', 'positive'),
    class_references={'negative': 'BDGP6.28_ensembl100', 'positive': 'BDGP6.28_ensembl100'},
    counts={'train': {'negative': 2592, 'positive': 2592}, 'test': {'negative': 865, 'positive': 865}},
    description=(
        '`positive`: experimentally validated *D. melanogaster* developmental enhancers (Kvon et '
        'al. 2014, weak ones excluded), lifted over from dm3 to dm6; `negative`: random dm6 windows '
        "matching the positives' lengths and not overlapping them. Reference BDGP6.28 (Ensembl "
        'release 100); tables use UCSC spelling (`chr2L`, `chrM`). '
    ),
    source_citation=r"""@article{kvon2014genome,
  title   = {Genome-scale functional characterization of Drosophila developmental enhancers in vivo},
  author  = {Kvon, Evgeny Z and Kazmar, Tomas and Stampfel, Gerald and Y{\'a}{\~n}ez-Cuna, J Omar and Pagani, Michaela and Schernhuber, Katharina and Dickson, Barry J and Stark, Alexander},
  journal = {Nature},
  volume  = {512},
  number  = {7512},
  pages   = {91--95},
  year    = {2014},
  doi     = {10.1038/nature13395}
}""",
)
