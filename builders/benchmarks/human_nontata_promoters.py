"""Human non-TATA promoters: human_nontata_promoters of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="human_nontata_promoters",
    pretty_name="Human non-TATA promoters",
    classes=('negative', 'positive'),
    class_references={'negative': 'GRCh38_ensembl97', 'positive': 'GRCh38_ensembl97'},
    counts={'train': {'negative': 12355, 'positive': 14742}, 'test': {'negative': 4119, 'positive': 4915}},
    description=(
        '251 bp sequences from -200 to +50 bp around human non-TATA transcription start sites '
        '(`positive`, from EPDnew via Umarov & Solovyev 2017) and random fragments of human genes '
        'after their first exon (`negative`), mapped to GRCh38 (Ensembl release 97) coordinates. '
    ),
    source_citation=r"""@article{umarov2017recognition,
  title   = {Recognition of prokaryotic and eukaryotic promoters using convolutional deep learning neural networks},
  author  = {Umarov, Ramzan Kh and Solovyev, Victor V},
  journal = {PLoS ONE},
  volume  = {12},
  number  = {2},
  pages   = {e0171410},
  year    = {2017},
  doi     = {10.1371/journal.pone.0171410}
}""",
)
