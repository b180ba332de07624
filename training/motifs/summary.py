"""The motif section of a run's model card, from `motifs/summary.json` (written by `gbhub motifs`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

MOTIFS_DIR = "motifs"
SUMMARY_FILE = "summary.json"
#: q-value under which a filter counts as matching a database motif in the card.
Q_THRESHOLD = 0.05


@dataclass
class MotifSection:
    """Markdown for the card and the files it adds to the card's file list."""

    text: str
    files: dict[str, str] = field(default_factory=dict)


def model_digest(run_dir: str | Path) -> str | None:
    """sha256 of the run's `model.safetensors` (what a motif summary is tied to), None when absent."""
    path = Path(run_dir) / "model.safetensors"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def motif_card_section(run_dir: str | Path) -> MotifSection | None:
    """The card's motif section, or None when the run has no motif summary of its current model."""
    path = Path(run_dir) / MOTIFS_DIR / SUMMARY_FILE
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    if summary.get("model_sha256") != model_digest(run_dir):  # motifs of an earlier model in this folder
        return None
    db = summary["database"]
    method = ("Basset's rule (Kelley et al. 2016): a filter's sites are the positions where its activation exceeds "
              f"{summary['threshold_fraction']} x (max - mean) + mean over the scanned sequences, and its position "
              "probability matrix (PPM) counts the bases at its sites"
              if summary["method"] == "activation" else
              "the DeepEnhancer paper's enumeration: a filter's PPM counts the bases of every one-hot k-mer it "
              "activates positively")
    scanned = (f" over {summary['n_sequences']:,} {summary['split']} sequences of `{summary['config']}`"
               if summary["method"] == "activation" else "")
    lines = [
        "### Motifs of the first-layer filters",
        "",
        f"`gbhub motifs` turned the {summary['n_filters']} first-layer filters into motifs by {method}{scanned} "
        f"(pseudocount {summary['pseudocount']} per base). {summary['n_kept']} filters have at least "
        f"{summary['min_sites']} sites (the others are dropped); {summary['n_matched']} of them match a profile of "
        f"JASPAR {db['release']} {db['collection']} {db['tax_group'] or 'all groups'} ({db['n_motifs']:,} profiles) "
        f"with Tomtom q < {Q_THRESHOLD} (memelite; q-values are Benjamini-Hochberg over each filter's p-values). "
        "The strongest filters, ranked by how much the loss depends on them (mean |activation x gradient|):",
        "",
        "| filter | logo (bits) | consensus | sites | information (bits) | best JASPAR match | q-value |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary["top"]:
        match = f"{row['match_name']} ({row['match_id']})" if row["match_q"] < Q_THRESHOLD else \
            f"none (best {row['match_name']}, {row['match_id']})"
        lines.append(f"| {row['filter']} | ![filter {row['filter']}]({row['logo']}) | `{row['consensus']}` | "
                     f"{row['sites']:,} | {row['information_bits']:.1f} | {match} | {row['match_q']:.2g} |")
    lines += ["", f"Every filter: `{MOTIFS_DIR}/filters.tsv`; the kept ones in MEME format: `{MOTIFS_DIR}/filters.meme`."]
    files = {f"{MOTIFS_DIR}/filters.meme, {MOTIFS_DIR}/filters.tsv, {MOTIFS_DIR}/logos/":
             "the first-layer filters as motifs (MEME), their JASPAR matches, logos"}
    return MotifSection("\n".join(lines), files)
