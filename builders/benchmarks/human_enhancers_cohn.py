"""Human enhancers (Cohn): human_enhancers_cohn of the Genomic Benchmarks collection (upstream version 0)."""

from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="human_enhancers_cohn",
    pretty_name="Human enhancers (Cohn)",
    classes=('negative', 'positive'),
    class_references={'negative': 'GRCh38_ensembl97', 'positive': 'GRCh38_ensembl97'},
    counts={'train': {'negative': 10422, 'positive': 10421}, 'test': {'negative': 3474, 'positive': 3474}},
    description=(
        '500 bp human enhancers (`positive`) and non-enhancer regions (`negative`) from Cohn et al. '
        '2018, mapped back to GRCh38 (Ensembl release 97) coordinates by the Genomic Benchmarks '
        'authors. '
    ),
    source_citation=r"""@article{cohn2018enhancer,
  title   = {Enhancer identification using transfer and adversarial deep learning of DNA sequences},
  author  = {Cohn, Dikla and Zuk, Or and Kaplan, Tommy},
  journal = {bioRxiv},
  pages   = {264200},
  year    = {2018},
  doi     = {10.1101/264200}
}""",
)
