"""Exact and reverse-complement duplicate sequences, within each split and across splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gbhub.builders.audit.common import SPLIT_PAIRS, AuditError, AuditInput, fractions, per_class, reverse_complement
from gbhub.builders.hub_layout import SPLITS

DEFINITION = (
    "Sequences are compared as strings. A row is an exact duplicate when another row has the identical "
    "sequence, and a reverse-complement (RC) duplicate when another row's sequence is its reverse complement "
    "(and none is identical to it). Within a split, the first occurrence (in split order) is kept and the "
    "later ones count as redundant. Across splits, a query row (e.g. test) counts when a row of the "
    "reference split(s) (e.g. train ∪ validation) holds its sequence (exact) or its reverse complement (RC)."
)


@dataclass
class SequenceCodes:
    """Integer codes of the sequences and of their reverse complements, in one code space.

    Attributes:
        forward: `(n,)` code of each sequence (equal codes = identical sequences).
        reverse: `(n,)` code of each sequence's reverse complement.
        canonical: `(n,)` `min(forward, reverse)`: equal exactly when two sequences are identical or
            reverse complements of each other.
    """

    forward: np.ndarray
    reverse: np.ndarray

    @property
    def canonical(self) -> np.ndarray:
        return np.minimum(self.forward, self.reverse)


def sequence_codes(sequences: pa.Array) -> SequenceCodes:
    """Dictionary-encode the sequences together with their reverse complements (Arrow hashing, C++)."""
    n = len(sequences)
    both = pa.concat_arrays([sequences.cast(pa.large_string()), reverse_complement(sequences)])
    codes = pc.dictionary_encode(both).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return SequenceCodes(codes[:n], codes[n:])


def within_flags(codes: SequenceCodes, order_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(exact, rc)` bool flags of rows that repeat an earlier row of the same group.

    Args:
        codes: the rows' sequence codes.
        order_groups: `(n,)` group of each row (e.g. its split); rows are compared within a group, in
            row order, and the first occurrence is not flagged.

    Returns:
        `exact`: the row's sequence occurred earlier in its group; `rc`: not exact, but the row's sequence
        or its reverse complement occurred earlier (so `exact.sum() + rc.sum()` rows are redundant).
    """
    groups = pd.factorize(pd.Series(order_groups))[0]
    exact = pd.DataFrame({"g": groups, "c": codes.forward}).duplicated().to_numpy()
    any_ = pd.DataFrame({"g": groups, "c": codes.canonical}).duplicated().to_numpy()
    return exact, any_ & ~exact


def cross_flags(codes: SequenceCodes, labels: np.ndarray, query: np.ndarray, reference: np.ndarray):
    """Flags of the `query` rows that duplicate a `reference` row.

    Args:
        codes: sequence codes of all rows.
        labels: `(n,)` class of each row.
        query, reference: `(n,)` bool masks of the two row sets.

    Returns:
        `(exact, rc, conflict)`, each `(query.sum(),)` bool: identical to a reference row; reverse
        complement of one (and not identical to any); matched (exactly or by RC) by a reference row of
        another class.
    """
    fq, cq = codes.forward[query], codes.canonical[query]
    exact = np.isin(fq, codes.forward[reference])
    rc = np.isin(cq, codes.canonical[reference]) & ~exact
    size = int(codes.canonical.max()) + 1 if len(codes.canonical) else 1
    if labels.size and labels.max() >= 62:
        raise AuditError("label conflicts are tracked for at most 62 classes")
    classes_of = np.zeros(size, dtype=np.int64)  # bit c set: a reference row of class c has this code
    np.bitwise_or.at(classes_of, codes.canonical[reference], np.left_shift(1, labels[reference]))
    conflict = (classes_of[cq] & ~np.left_shift(1, labels[query])) != 0
    return exact, rc, conflict


def audit_duplicates(inp: AuditInput, codes: SequenceCodes | None = None) -> dict:
    """Duplicate figures of a config (the `duplicates` section of the audit report)."""
    if inp.sequences is None:
        raise AuditError(f"{inp.config}: the duplicate audit needs sequences")
    codes = codes or sequence_codes(inp.sequences)
    labels, splits = inp.labels, inp.splits
    exact, rc = within_flags(codes, splits)
    within = {}
    for split in SPLITS:
        mask = splits == split
        n = int(mask.sum())
        groups = pd.DataFrame({"c": codes.canonical[mask], "l": labels[mask]})
        conflicts = int((groups.groupby("c")["l"].nunique() > 1).sum())
        within[split] = {
            "rows": n,
            "exact_redundant": int(exact[mask].sum()),
            "rc_redundant": int(rc[mask].sum()),
            "exact_fraction": fractions(int(exact[mask].sum()), n),
            "rc_fraction": fractions(int(rc[mask].sum()), n),
            "label_conflict_groups": conflicts,
            "by_class": _merge_classes(inp.classes, labels[mask], exact=exact[mask], rc=rc[mask]),
        }
    across = {}
    for name, (query_splits, reference_splits) in SPLIT_PAIRS.items():
        query, reference = inp.split_mask(query_splits), inp.split_mask(reference_splits)
        q_exact, q_rc, conflict = cross_flags(codes, labels, query, reference)
        n = int(query.sum())
        across[name] = {
            "rows": n,
            "exact": int(q_exact.sum()),
            "rc": int(q_rc.sum()),
            "exact_fraction": fractions(int(q_exact.sum()), n),
            "rc_fraction": fractions(int(q_rc.sum()), n),
            "label_conflicts": int(conflict.sum()),
            "by_class": _merge_classes(inp.classes, labels[query], exact=q_exact, rc=q_rc),
        }
    return {"definition": DEFINITION, "within_split": within, "across_splits": across}


def _merge_classes(classes, labels: np.ndarray, **flags: np.ndarray) -> dict:
    """`{class: {"rows": n, "<flag>": k, "<flag>_fraction": k / n, ...}}`."""
    out: dict[str, dict] = {}
    for key, values in flags.items():
        for cls, d in per_class(values, labels, classes).items():
            entry = out.setdefault(cls, {"rows": d["rows"]})
            entry[key] = d["count"]
            entry[f"{key}_fraction"] = d["fraction"]
    return out
