"""Rows drawn from contigs where no other class lies (e.g. negatives on chrY or chrM, where no positive is)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gbhub.builders.audit.common import AuditInput, fractions
from gbhub.builders.hub_layout import SPLITS

DEFINITION = (
    "A row is on an *exclusive contig* when no row of another class (in any split) lies on the same contig "
    "of the same assembly. A model can then tell its class from where it comes (e.g. chrY sequence), "
    "not from the regulatory signal; for a `negative` class these are negatives drawn from contigs with no "
    "positive. Not applicable to classes on transcript coordinates, or drawn from an assembly no other "
    "class uses (e.g. human vs worm)."
)


def audit_contigs(inp: AuditInput) -> dict:
    """Exclusive-contig figures of a config (the `contigs` section of the audit report)."""
    keys = inp.contig_keys()
    labels = inp.labels
    _, _, located = inp.coordinates()  # rows with a region
    names = inp.canonical_regions().to_numpy(object)
    splits = inp.splits
    # classes present on each contig key, as a bit set
    present = np.zeros(int(keys.max()) + 1 if len(keys) else 0, dtype=np.int64)
    np.bitwise_or.at(present, keys[located], np.left_shift(1, labels[located]))
    on_key = present[keys]
    by_class = {}
    for i, cls in enumerate(inp.classes):
        mask = (labels == i) & located
        n = int(mask.sum())
        peers = [j for j in range(len(inp.classes))
                 if j != i and inp.assemblies[j] == inp.assemblies[i] and inp.kinds[j] == inp.kinds[i]]
        if inp.kinds[i] != "genome":
            by_class[cls] = {"rows": n, "applicable": False, "reason": "transcript coordinates"}
            continue
        if not peers:
            by_class[cls] = {"rows": n, "applicable": False,
                             "reason": f"no other class is drawn from {inp.assemblies[i]}"}
            continue
        exclusive = mask & (on_key == (1 << i))
        contigs = pd.Series(names[exclusive]).value_counts()
        by_class[cls] = {
            "rows": n,
            "applicable": True,
            "exclusive_rows": int(exclusive.sum()),
            "exclusive_fraction": fractions(int(exclusive.sum()), n),
            "by_split": {split: int((exclusive & (splits == split)).sum()) for split in SPLITS},
            "contigs": {str(name): int(count) for name, count in sorted(contigs.items(), key=lambda kv: (-kv[1], kv[0]))},
        }
    out = {"definition": DEFINITION, "by_class": by_class}
    if {"negative", "positive"} <= set(inp.classes):
        entry = by_class["negative"]
        out["negatives_without_positive"] = (
            {k: entry[k] for k in ("exclusive_rows", "exclusive_fraction", "contigs")} if entry["applicable"] else None
        )
    return out
