"""Xpresso human (Agarwal & Shendure 2020): median expression of 18k genes from their promoters and half-life features."""

from gbhub.builders import xpresso
from gbhub.builders.citations import GENOMIC_BENCHMARKS_HUB
from gbhub.builders.registry import BenchmarkSpec

SOURCE_CITATION = r"""@article{agarwal2020predicting,
  title   = {Predicting {mRNA} abundance directly from genomic sequence using deep convolutional neural networks},
  author  = {Agarwal, Vikram and Shendure, Jay},
  journal = {Cell Reports},
  volume  = {31},
  number  = {7},
  pages   = {107663},
  year    = {2020},
  doi     = {10.1016/j.celrep.2020.107663}
}"""

SPEC = BenchmarkSpec(
    name="xpresso_human",
    pretty_name="Xpresso human gene expression (regression) benchmark",
    classes=(),
    class_references={},
    counts={"train": {"genes": 17_377}, "test": {"genes": xpresso.TEST_COUNT}},
    description=(
        f"{xpresso.UPSTREAM + xpresso.DOWNSTREAM:,} bp TSS-centred windows ({xpresso.UPSTREAM:,} bp upstream, "
        f"{xpresso.DOWNSTREAM:,} bp from the TSS on, read on the gene's strand from GRCh38) of the human protein-coding "
        "genes of Xpresso (Agarwal & Shendure 2020; TSS from the FANTOM5 CAGE peak, else Ensembl 90). `label` is "
        "log10(median RPKM + 0.1) over the 57 Roadmap epigenomes; the 8 side features are Xpresso's mRNA half-life "
        "features (5' UTR, CDS, intron and 3' UTR lengths and ORF exon density as log10(x + 0.1); 5' UTR, CDS and "
        "3' UTR GC content). Histone and chrY genes are masked and the test split is Xpresso's 1,000 test genes. "
        "Built from the Xpresso datapack (downloaded), or offline from `--coordinates DIR` holding the same files."
    ),
    source_citation=SOURCE_CITATION,
    citations=(SOURCE_CITATION, GENOMIC_BENCHMARKS_HUB),
    license="mit",
    homepage="https://github.com/vagarwal87/Xpresso",
    upstream=False,
    target=xpresso.SCHEMA,
    reference="GRCh38_ensembl97",
    window=(xpresso.UPSTREAM, xpresso.DOWNSTREAM),
    sources=xpresso.SOURCES,
    load_genes=xpresso.load_genes,
)
