"""Synthetic expression: the built-in offline regression benchmark (planted motifs + side features -> a known target)."""

from gbhub.builders import synthetic_expression as gen
from gbhub.builders.citations import GENOMIC_BENCHMARKS_HUB
from gbhub.builders.registry import BenchmarkSpec

SPEC = BenchmarkSpec(
    name="synthetic_expression",
    pretty_name="Synthetic expression (regression) benchmark",
    classes=(),
    class_references={},
    counts={split: {"genes": n} for split, n in gen.COUNTS.items()},
    description=(
        f"{gen.UPSTREAM + gen.DOWNSTREAM:,} bp TSS-centred windows ({gen.UPSTREAM} bp upstream, {gen.DOWNSTREAM} bp "
        f"from the TSS on, read on the gene's strand) of a random genome generated in code (seed {gen.SEED}). `label` "
        "is a float expression level: a known function of planted activator (`" + gen.ACTIVATOR + "`) and repressor "
        "(`" + gen.REPRESSOR + f"`) sites, each weighted by exp(-distance to the TSS / {gen.DECAY_BP:g} bp), plus "
        f"{gen.HALF_LIFE_EFFECT:g} x `half_life` + {gen.TF_EFFECT:g} x (`tf_sites` - 3) (side features; `gc_noise` "
        f"is irrelevant) and Gaussian noise (sd {gen.NOISE:g}). The noise-free target is known, so the card states "
        "the best R² a model can reach (the ceiling), with and without the side features. Built offline with no "
        "arguments: a test of regression models, not a biological benchmark."
    ),
    source_citation="",
    citations=(GENOMIC_BENCHMARKS_HUB,),
    homepage="",
    upstream=False,
    generate=gen.generate,
    target=gen.SCHEMA,
    reference="synthetic_expression",
    window=(gen.UPSTREAM, gen.DOWNSTREAM),
    load_genes=gen.load_genes,
)
