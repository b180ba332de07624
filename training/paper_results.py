"""Table 2 of the Genomic Benchmarks paper: the published CNN baseline results, per dataset, with citation."""

from __future__ import annotations

from dataclasses import dataclass

from gbhub.builders.registry import GENOMIC_BENCHMARKS_CITATION

CITATION = (
    "Grešová K, Martinek V, Čechák D, Šimeček P, Alexiou P. Genomic benchmarks: a collection of datasets "
    "for genomic sequence classification. BMC Genomic Data 24, 25 (2023). "
    "https://doi.org/10.1186/s12863-023-01123-8"
)
BIBTEX = GENOMIC_BENCHMARKS_CITATION  # declared once, with the benchmarks
SOURCE_NOTE = (
    "Table 2 (\"Performance of baseline models on benchmark datasets\"), test split, percent; numbers as "
    "printed in the preprint version of the paper (the published text held by this project carries the "
    "table caption but not its body). The CNN was trained 10 epochs with batch size 64; the paper gives "
    "no validation split, seeds or error bars. The preprint has no row for drosophila_enhancers_stark."
)


@dataclass(frozen=True)
class PaperRow:
    """One dataset's row of Table 2 (percent, test split).

    Attributes:
        dataset: the benchmark config name.
        pytorch_accuracy, pytorch_f1: the PyTorch CNN.
        tensorflow_accuracy, tensorflow_f1: the TensorFlow CNN.
    """

    dataset: str
    pytorch_accuracy: float
    pytorch_f1: float
    tensorflow_accuracy: float
    tensorflow_f1: float


TABLE_2 = {
    row.dataset: row
    for row in (
        PaperRow("dummy_mouse_enhancers_ensembl", 69.0, 70.4, 50.0, 66.9),
        PaperRow("demo_coding_vs_intergenomic_seqs", 87.6, 86.8, 89.6, 89.4),
        PaperRow("demo_human_or_worm", 93.0, 92.8, 94.2, 93.2),
        PaperRow("human_enhancers_cohn", 69.5, 67.1, 68.9, 71.3),
        PaperRow("human_enhancers_ensembl", 68.9, 56.5, 81.1, 74.6),
        PaperRow("human_ensembl_regulatory", 93.3, 93.3, 79.3, 79.3),
        PaperRow("human_nontata_promoters", 84.6, 83.7, 86.5, 84.4),
        PaperRow("human_ocr_ensembl", 68.0, 66.1, 68.8, 72.0),
    )
}


def paper_row(config: str) -> PaperRow | None:
    """The Table 2 row of benchmark `config`, or None when the paper has none (e.g. `synthetic`)."""
    return TABLE_2.get(config)
