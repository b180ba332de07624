"""Synthetic: the built-in offline benchmark (planted motif vs background), the project's embedded default."""

from gbhub.builders import synthetic
from gbhub.builders.citations import GENOMIC_BENCHMARKS_HUB
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="synthetic",
    pretty_name="Synthetic planted-motif benchmark",
    classes=("negative", "positive"),
    class_references={"negative": "synthetic", "positive": "synthetic"},
    counts=synthetic.COUNTS,
    description=(
        f"{synthetic.LENGTH} bp windows of a random genome generated in code (seed {synthetic.SEED}). "
        f"`positive` windows carry the motif `{synthetic.MOTIF}` at a random offset; `negative` "
        "windows are background. Both strands; the FASTA names contigs the Ensembl way (`1`, `MT`) "
        "and the tables the UCSC way (`chr1`, `chrM`). Built offline with no arguments: a smoke test "
        "of the whole pipeline, not a biological benchmark."
    ),
    source_citation="",
    citations=(GENOMIC_BENCHMARKS_HUB,),  # its own: it does not come from the Genomic Benchmarks paper
    homepage="",  # generated in code: no upstream page
    upstream=False,
    generate=synthetic.generate,
)
