"""Motif files: MEME minimal format, the filter -> match table, sequence logos (bits) as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from gbhub.builders.hub_layout import atomic_path, write_text_atomic

# PNG metadata carries the matplotlib version by default; drop it so equal inputs give equal bytes.
_PNG_METADATA = {"Software": None}


def meme_text(ppms: Mapping[str, np.ndarray], nsites: Mapping[str, int] | None = None,
              background: Sequence[float] = (0.25, 0.25, 0.25, 0.25)) -> str:
    """Motifs in MEME minimal format (version 4, DNA, both strands).

    Written here rather than with `memelite.io.write_meme`, which writes `nsites= 1` for every motif; MEME
    tools read `nsites` as the evidence behind a motif (e.g. for pseudocounts), so it carries the sites.

    Args:
        ppms: motif name (no spaces) -> `(4, k)` probabilities of A, C, G, T.
        nsites: motif name -> sites it was built from (default 1).
        background: letter frequencies of A, C, G, T.
    """
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies",
             " ".join(f"{b} {f:.6g}" for b, f in zip("ACGT", background)), ""]
    for name, ppm in ppms.items():
        ppm = np.asarray(ppm, dtype=np.float64)
        if ppm.ndim != 2 or ppm.shape[0] != 4 or " " in name:
            raise ValueError(f"motif {name!r}: expected a (4, k) matrix and a name without spaces, got {ppm.shape}")
        lines.append(f"MOTIF {name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {ppm.shape[1]} "
                     f"nsites= {int((nsites or {}).get(name, 1))} E= 0")
        lines += [" ".join(f"{v:.6f}" for v in column) for column in ppm.T]
        lines.append("")
    return "\n".join(lines)


def write_meme(path: str | Path, ppms: Mapping[str, np.ndarray], nsites: Mapping[str, int] | None = None) -> Path:
    """Write `meme_text` atomically."""
    return write_text_atomic(path, meme_text(ppms, nsites))


def write_table(path: str | Path, rows: Sequence[Mapping]) -> Path:
    """The filter -> match table as TSV (one row per filter, columns of the first row)."""
    import pandas as pd

    with atomic_path(path) as tmp:
        pd.DataFrame(list(rows)).to_csv(tmp, sep="\t", index=False, float_format="%.4g")
    return Path(path)


def write_logo(path: str | Path, ppm: np.ndarray, title: str = "") -> Path:
    """A sequence logo of a `(4, k)` PPM in bits (information content, uniform background), via logomaker."""
    import logomaker
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frame = pd.DataFrame(np.asarray(ppm, dtype=np.float64).T, columns=list("ACGT"))
    bits = logomaker.transform_matrix(frame, from_type="probability", to_type="information")
    fig = Figure(figsize=(max(2.5, 0.35 * len(frame) + 0.8), 1.8), dpi=100)
    FigureCanvasAgg(fig)  # no pyplot: no global state, no GUI backend
    ax = fig.subplots()
    logomaker.Logo(bits, ax=ax, color_scheme="classic")
    ax.set_ylim(0, 2)
    ax.set_ylabel("bits")
    ax.set_xticks(range(len(frame)))
    ax.set_xticklabels([str(i + 1) for i in range(len(frame))], fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=_PNG_METADATA)
    return path
