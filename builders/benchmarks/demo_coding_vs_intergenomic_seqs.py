"""Demo: coding vs intergenomic sequences: demo_coding_vs_intergenomic_seqs of the Genomic Benchmarks collection (upstream version 0)."""

from builders.registry import BenchmarkSpec

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
