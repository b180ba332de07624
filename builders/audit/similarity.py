"""Near-duplicates across splits: one-permutation MinHash of canonical k-mers, LSH banding, verified Jaccard."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

from gbhub.builders.audit.common import SPLIT_PAIRS, AuditError, AuditInput, encoded_chunks, fractions, per_class
from gbhub.builders.audit.duplicates import SequenceCodes, cross_flags, sequence_codes

EMPTY = np.uint32(0xFFFFFFFF)  # an empty bin (no k-mer hashed into it); real bin values are < 2**(32 - log2 bins)


@dataclass(frozen=True)
class MinHashParams:
    """Parameters of the near-duplicate search (all recorded in the report).

    Attributes:
        k: k-mer length (1-32). k-mers are canonical (the smaller of a k-mer and its reverse complement),
            so a sequence and its reverse complement have the same sketch; k-mers with `N` are skipped.
        bins: one-permutation MinHash bins (a power of two, 2-256): each k-mer is hashed once, its hash's
            top bits choose a bin and each bin keeps the minimum of the remaining bits.
        rows_per_band: bins per LSH band; a pair is a candidate when all bins of one band agree.
        threshold: estimated Jaccard similarity of the k-mer sets at or above which a pair is a
            near-duplicate. The estimate is the share of equal bins among the bins not empty in both
            sketches (Li, Owen and Zhang 2012).
        max_candidates: reference rows verified per query row and band (repeat-rich buckets are capped;
            the number of query rows that hit the cap is reported).
        seed: hash seed.
    """

    k: int = 16
    bins: int = 64
    rows_per_band: int = 2
    threshold: float = 0.5
    max_candidates: int = 16
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.k <= 32:
            raise AuditError(f"MinHash k must be 1-32, got {self.k}")
        if self.bins < 2 or self.bins > 256 or self.bins & (self.bins - 1):
            raise AuditError(f"MinHash bins must be a power of two in 2-256, got {self.bins}")
        if self.bins % self.rows_per_band:
            raise AuditError(f"rows_per_band {self.rows_per_band} must divide bins {self.bins}")
        if not 0 < self.threshold <= 1:
            raise AuditError(f"the near-duplicate threshold must be in (0, 1], got {self.threshold}")


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, in place (a bijection that mixes every input bit into every output bit)."""
    tmp = np.empty_like(h)
    for shift, mult in ((16, 0x85EBCA6B), (13, 0xC2B2AE35), (16, None)):
        np.right_shift(h, shift, out=tmp)
        np.bitwise_xor(h, tmp, out=h)
        if mult is not None:
            np.multiply(h, np.uint32(mult), out=h)
    return h


def canonical_kmers(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """2-bit codes of the canonical k-mer starting at each position, and whether it is a k-mer at all.

    Codes of windows of length `2m` are built from two windows of length `m` (log2(k) passes, plus one per
    remaining bit of k), forward and reverse complement alike.

    Args:
        codes: `(L,)` uint8 base codes (`common.BASE_CODES`: A C G T = 0-3, other = 4).
        k: k-mer length (1-32).

    Returns:
        `(kmers, valid)`, each `(L - k + 1,)`: `min(forward, reverse complement)` code (uint32 for
        `k <= 16`, else uint64) and False where the window holds a code 4.
    """
    dtype = np.uint32 if k <= 16 else np.uint64
    base = (codes & 3).astype(dtype)
    pieces = {1: (base, base ^ dtype(3))}  # window length -> (forward codes, reverse-complement codes)
    span = 1
    while span * 2 <= k:
        f, r = pieces[span]
        n = len(f) - span
        pieces[span * 2] = ((f[:n] << dtype(2 * span)) | f[span:], (r[span:] << dtype(2 * span)) | r[:n])
        span *= 2
    f, r = pieces[span]
    length = span
    for part in sorted((p for p in pieces if p & (k - span)), reverse=True):  # k = span + smaller powers of 2
        pf, pr = pieces[part]
        n = len(codes) - (length + part) + 1
        f, r = ((f[:n] << dtype(2 * part)) | pf[length : length + n],
                (pr[length : length + n] << dtype(2 * length)) | r[:n])
        length += part
    n = len(codes) - k + 1
    unknown = np.zeros(len(codes) + 1, dtype=np.int32)
    np.cumsum(codes == 4, out=unknown[1:])
    return np.minimum(f, r), unknown[k : k + n] == unknown[:n]


def sketches(sequences: pa.Array, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """One-permutation MinHash sketch of every sequence.

    Args:
        sequences: `(n,)` strings.
        params: k, number of bins and seed.

    Returns:
        `(n, bins)` uint32 sketches; `EMPTY` marks a bin no k-mer fell into (all bins are empty for a
        sequence with no k-mer free of `N`).
    """
    n = len(sequences)
    bits = params.bins.bit_length() - 1
    value_mask = np.uint32((1 << (32 - bits)) - 1)
    seed = np.uint32((params.seed * 0x9E3779B9 + 0x7F4A7C15) & 0xFFFFFFFF)
    out = np.full(n * params.bins, EMPTY, dtype=np.uint32)
    for chunk in encoded_chunks(sequences, max_bases=1 << 20, pad=params.k):
        kmers, valid = canonical_kmers(chunk.codes, params.k)
        valid &= chunk.windows_within(params.k)
        rows = chunk.row[: len(kmers)][valid]
        kmers = kmers[valid]
        if kmers.dtype == np.uint64:
            kmers = (kmers ^ (kmers >> np.uint64(32))).astype(np.uint32)
        h = _fmix32(np.bitwise_xor(kmers, seed))
        slot = (rows + chunk.lo) * params.bins + (h >> np.uint32(32 - bits))
        np.minimum.at(out, slot, h & value_mask)
    return out.reshape(n, params.bins)


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`(m,)` Jaccard estimates of row pairs of sketches `a`, `b` (`(m, bins)`): equal non-empty bins over
    bins non-empty in either."""
    used = (a != EMPTY) | (b != EMPTY)
    equal = (a == b) & used
    n_used = used.sum(axis=1)
    return np.where(n_used > 0, equal.sum(axis=1) / np.maximum(n_used, 1), 0.0)


def best_match(sketch: np.ndarray, query: np.ndarray, reference: np.ndarray, params: MinHashParams,
               *, verify_chunk: int = 1 << 19) -> tuple[np.ndarray, np.ndarray]:
    """Highest estimated Jaccard of each query row to a reference row found by LSH banding.

    Args:
        sketch: `(n, bins)` sketches of all rows.
        query, reference: `(n,)` bool masks.
        params: banding and cap.

    Returns:
        `(best, capped)`, each `(query.sum(),)`: the best verified estimate (0 when no candidate) and
        whether some band's bucket held more than `max_candidates` reference rows for that query.
    """
    q_rows, r_rows = np.flatnonzero(query), np.flatnonzero(reference)
    best = np.zeros(len(q_rows))
    capped = np.zeros(len(q_rows), dtype=bool)
    if not len(q_rows) or not len(r_rows):
        return best, capped
    pairs = []
    r = params.rows_per_band
    for band in range(params.bins // r):
        cols = slice(band * r, (band + 1) * r)
        r_key, r_ok = _band_keys(sketch[r_rows, cols])
        q_key, q_ok = _band_keys(sketch[q_rows, cols])
        order = np.argsort(r_key[r_ok], kind="stable")
        r_sorted = r_key[r_ok][order]
        r_index = r_rows[r_ok][order]
        q_idx = np.flatnonzero(q_ok)
        lo = np.searchsorted(r_sorted, q_key[q_idx], side="left")
        hi = np.searchsorted(r_sorted, q_key[q_idx], side="right")
        capped[q_idx[hi - lo > params.max_candidates]] = True
        count = np.minimum(hi - lo, params.max_candidates)
        if not count.sum():
            continue
        which = np.repeat(q_idx, count)
        first = np.repeat(np.cumsum(count) - count, count)
        ref = r_index[np.repeat(lo, count) + (np.arange(int(count.sum())) - first)]
        pairs.append(which.astype(np.int64) * len(sketch) + ref)
    if not pairs:
        return best, capped
    unique = np.unique(np.concatenate(pairs))
    which, ref = unique // len(sketch), unique % len(sketch)
    for lo in range(0, len(unique), verify_chunk):
        part = slice(lo, lo + verify_chunk)
        estimate = estimate_jaccard(sketch[q_rows[which[part]]], sketch[ref[part]])
        np.maximum.at(best, which[part], estimate)
    return best, capped


def _band_keys(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(m,)` uint64 key of each row's band values (exact for 1-2 bins per band), and which rows have no
    empty bin in the band."""
    ok = (cols != EMPTY).all(axis=1)
    key = cols[:, 0].astype(np.uint64)
    for j in range(1, cols.shape[1]):
        if cols.shape[1] == 2:
            key = (key << np.uint64(32)) | cols[:, j].astype(np.uint64)
        else:
            key = key * np.uint64(0x100000001B3) ^ cols[:, j].astype(np.uint64)
    return key, ok


def audit_similarity(inp: AuditInput, params: MinHashParams = MinHashParams(),
                     codes: SequenceCodes | None = None, sketch: np.ndarray | None = None) -> dict:
    """Near-duplicate figures of a config (the `near_duplicates` section of the audit report).

    Args:
        inp: the config's rows with sequences.
        params: MinHash parameters.
        codes: sequence codes (`duplicates.sequence_codes`), to report near-duplicates that are not
            exact or RC duplicates; computed when absent.
        sketch: precomputed `sketches(inp.sequences, params)`.
    """
    if inp.sequences is None:
        raise AuditError(f"{inp.config}: the near-duplicate audit needs sequences")
    sketch = sketches(inp.sequences, params) if sketch is None else sketch
    codes = codes or sequence_codes(inp.sequences)
    unsketched = (sketch == EMPTY).all(axis=1)
    labels = inp.labels
    pairs = {}
    for name, (query_splits, reference_splits) in SPLIT_PAIRS.items():
        query, reference = inp.split_mask(query_splits), inp.split_mask(reference_splits)
        best, capped = best_match(sketch, query, reference, params)
        exact, rc, _ = cross_flags(codes, labels, query, reference)
        near = best >= params.threshold
        n = int(query.sum())
        pairs[name] = {
            "rows": n,
            "near_duplicates": int(near.sum()),
            "near_duplicate_fraction": fractions(int(near.sum()), n),
            "beyond_exact_and_rc": int((near & ~exact & ~rc).sum()),
            "capped_rows": int(capped.sum()),
            "by_class": {cls: {"rows": d["rows"], "near_duplicates": d["count"], "fraction": d["fraction"]}
                         for cls, d in per_class(near, labels[query], inp.classes).items()},
        }
    return {
        "method": (
            f"one-permutation MinHash of canonical {params.k}-mers ({params.bins} bins), LSH with "
            f"{params.bins // params.rows_per_band} bands of {params.rows_per_band} bins, candidates verified "
            f"on the whole sketch; near-duplicate when the estimated Jaccard similarity is >= {params.threshold}"
        ),
        "params": asdict(params),
        "unsketched_rows": int(unsketched.sum()),
        "pairs": pairs,
    }
