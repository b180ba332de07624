"""Demo: human or worm: demo_human_or_worm of the Genomic Benchmarks collection (upstream version 0)."""

from builders.registry import BenchmarkSpec

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
    source_citation=r"""@article{howe2021ensembl,
  title   = {Ensembl 2021},
  author  = {Howe, Kevin L and Achuthan, Premanand and Allen, James and others},
  journal = {Nucleic Acids Research},
  volume  = {49},
  number  = {D1},
  pages   = {D884--D891},
  year    = {2021},
  doi     = {10.1093/nar/gkaa942}
}""",
)
