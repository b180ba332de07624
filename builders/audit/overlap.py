"""Interval overlap across splits on the same canonical contig (or transcript); needs no reference."""

from __future__ import annotations

import numpy as np

from gbhub.builders.audit.common import SPLIT_PAIRS, AuditInput, fractions

# Keys are placed on one number line, `key * STRIDE + position`, so that intervals of different contigs
# can never overlap; 2**40 exceeds every contig, and keys stay below 2**22.
STRIDE = np.int64(1) << 40
HISTOGRAM_BINS = [round(0.1 * i, 1) for i in range(11)]
DEFINITION = (
    "Intervals are compared on the same contig of the same assembly (or the same transcript), whatever "
    "its spelling (`chr1` = `1`, `chrM` = `MT`), ignoring strand. A query interval (e.g. test) is "
    "*identical* when a reference interval (e.g. train ∪ validation) has the same start and end, and "
    "*overlapping* when one shares at least 1 bp with it (identical ones included). Its *overlap fraction* "
    "is the largest number of its bases covered by one reference interval, divided by its length; the "
    "histogram bins it in tenths (0.0-0.1, ..., 0.9-1.0], over the overlapping intervals."
)


def best_overlap(
    q_key: np.ndarray, q_start: np.ndarray, q_end: np.ndarray,
    r_key: np.ndarray, r_start: np.ndarray, r_end: np.ndarray,
    *, max_pairs: int = 1 << 22,
) -> tuple[np.ndarray, np.ndarray]:
    """For each query interval, the most bases one reference interval covers, and whether one is identical.

    Args:
        q_key, r_key: `(nq,)`, `(nr,)` int64 contig keys (intervals overlap only on equal keys).
        q_start, q_end, r_start, r_end: 0-based half-open coordinates, int64.
        max_pairs: candidate pairs examined at once (bounds memory).

    Returns:
        `(overlap_bp, identical)`: `(nq,)` int64 bases of the query covered by its best reference
        interval (0 when none overlaps) and `(nq,)` bool.
    """
    nq = len(q_key)
    best = np.zeros(nq, dtype=np.int64)
    identical = np.zeros(nq, dtype=bool)
    if nq == 0 or len(r_key) == 0:
        return best, identical
    rs = r_key.astype(np.int64) * STRIDE + r_start
    order = np.argsort(rs, kind="stable")
    rs = rs[order]
    re = (r_key.astype(np.int64) * STRIDE + r_end)[order]
    longest = int((re - rs).max())
    qs = q_key.astype(np.int64) * STRIDE + q_start
    qe = q_key.astype(np.int64) * STRIDE + q_end
    # A reference interval overlaps [qs, qe) iff rs < qe and re > qs; as re <= rs + longest, every such
    # interval has rs > qs - longest: candidates are a contiguous run of the start-sorted references.
    lo = np.searchsorted(rs, qs - longest, side="right")
    hi = np.searchsorted(rs, qe, side="left")
    counts = hi - lo
    cumulative = np.cumsum(counts)
    start = 0
    while start < nq:
        base = cumulative[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cumulative, base + max_pairs, side="right")))
        stop = min(stop, nq)
        c = counts[start:stop]
        total = int(c.sum())
        if total:
            query = np.repeat(np.arange(start, stop), c)
            first = np.repeat(np.cumsum(c) - c, c)
            ref = np.repeat(lo[start:stop], c) + (np.arange(total) - first)
            covered = np.minimum(qe[query], re[ref]) - np.maximum(qs[query], rs[ref])
            same = (rs[ref] == qs[query]) & (re[ref] == qe[query])
            nonempty = np.flatnonzero(c)
            seg = (np.cumsum(c) - c)[nonempty]
            best[start + nonempty] = np.maximum(np.maximum.reduceat(covered, seg), 0)
            identical[start + nonempty] = np.logical_or.reduceat(same, seg)
        start = stop
    return best, identical


def query_overlaps(inp: AuditInput, query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`best_overlap` of the `query` rows of `inp` against its `reference` rows (bool masks).

    Rows without real coordinates (`AuditInput.coordinates`) overlap nothing: placeholder coordinates (start 0,
    end = length, no region) must not make every row "identical" to every other.
    """
    status, _, rows = inp.coordinates()
    if status != "present":
        n = int(query.sum())
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    keys = inp.contig_keys()
    start = inp.frame["start"].to_numpy(np.int64)
    end = inp.frame["end"].to_numpy(np.int64)
    covered, identical = np.zeros(int(query.sum()), dtype=np.int64), np.zeros(int(query.sum()), dtype=bool)
    q_ok = rows[query]
    q, r = query & rows, reference & rows
    covered[q_ok], identical[q_ok] = best_overlap(keys[q], start[q], end[q], keys[r], start[r], end[r])
    return covered, identical


def audit_overlap(inp: AuditInput) -> dict:
    """Interval-overlap figures of a config (the `overlap` section of the audit report)."""
    labels = inp.labels
    length = (inp.frame["end"] - inp.frame["start"]).to_numpy(np.int64)
    pairs = {}
    for name, (query_splits, reference_splits) in SPLIT_PAIRS.items():
        query, reference = inp.split_mask(query_splits), inp.split_mask(reference_splits)
        covered, identical = query_overlaps(inp, query, reference)
        overlapping = covered > 0
        fraction = covered[overlapping] / length[query][overlapping]
        # bins (a, b]: numpy's are [a, b), so bin the negated fractions and reverse
        counts = np.histogram(-fraction, bins=[-b for b in HISTOGRAM_BINS[::-1]])[0][::-1]
        n = int(query.sum())
        q_labels = labels[query]
        pairs[name] = {
            "rows": n,
            "identical": int(identical.sum()),
            "overlapping": int(overlapping.sum()),
            "identical_fraction": fractions(int(identical.sum()), n),
            "overlapping_fraction": fractions(int(overlapping.sum()), n),
            "overlap_fraction_histogram": {"bins": HISTOGRAM_BINS, "counts": [int(c) for c in counts]},
            "overlap_fraction_quantiles": (
                {q: round(float(np.quantile(fraction, float(q))), 4) for q in ("0.1", "0.5", "0.9")}
                if fraction.size else None
            ),
            "by_class": {
                cls: {
                    "rows": int((q_labels == i).sum()),
                    "identical": int(identical[q_labels == i].sum()),
                    "overlapping": int(overlapping[q_labels == i].sum()),
                    "overlapping_fraction": fractions(int(overlapping[q_labels == i].sum()), int((q_labels == i).sum())),
                }
                for i, cls in enumerate(inp.classes)
            },
        }
    return {"definition": DEFINITION, "pairs": pairs}
