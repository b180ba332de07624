"""Near-duplicates across splits: pairs sharing canonical k-mers, aligned along them (identity, coverage)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa

from gbhub.builders.audit.common import (
    BASE_CODES,
    SPLIT_PAIRS,
    AuditError,
    AuditInput,
    encoded_chunks,
    fractions,
    lengths,
    per_class,
    string_buffers,
)
from gbhub.builders.audit.duplicates import SequenceCodes, cross_flags, sequence_codes
from gbhub.builders.audit.params import SimilarityParams  # noqa: F401 (defined there, light, for the CLI)

HASH_BITS = 32


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, in place (a bijection that mixes every input bit into every output bit)."""
    tmp = np.empty_like(h)
    for shift, mult in ((16, 0x85EBCA6B), (13, 0xC2B2AE35), (16, None)):
        np.right_shift(h, shift, out=tmp)
        np.bitwise_xor(h, tmp, out=h)
        if mult is not None:
            np.multiply(h, np.uint32(mult), out=h)
    return h


def oriented_kmers(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-bit codes of the canonical k-mer at each position, whether it is a k-mer at all, and its orientation.

    Codes of windows of length `2m` are built from two windows of length `m` (log2(k) passes, plus one per
    remaining bit of k), forward and reverse complement alike.

    Args:
        codes: `(L,)` uint8 base codes (`common.BASE_CODES`: A C G T = 0-3, other = 4).
        k: k-mer length (1-32).

    Returns:
        `(kmers, valid, forward)`, each `(L - k + 1,)`: `min(forward, reverse complement)` code (uint32 for
        `k <= 16`, else uint64); False where the window holds a code 4; True where the forward k-mer is the
        canonical one (two sequences sharing a k-mer in opposite orientations match on opposite strands).
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
    return np.minimum(f, r), unknown[k : k + n] == unknown[:n], f <= r


def canonical_kmers(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`(kmers, valid)` of `oriented_kmers`."""
    kmers, valid, _ = oriented_kmers(codes, k)
    return kmers, valid


@dataclass
class Sketch:
    """The sampled k-mers of every row, one entry per distinct k-mer of a row (its first position).

    Attributes:
        row, pos, hash, forward: `(m,)` per entry, sorted by row then position.
        order, sorted_hash, sorted_row: `(m,)` the entries in hash order (row and position order within a hash),
            their hashes and rows: a join walks these in order (no random access over the whole sketch) and
            looks up only the entries that match.
        k: the k-mer length used.
        scale: the FracMinHash scale used.
        masked_kmers: distinct k-mers masked for being in more than `max_postings` rows.
    """

    row: np.ndarray
    pos: np.ndarray
    hash: np.ndarray
    forward: np.ndarray
    order: np.ndarray
    sorted_hash: np.ndarray
    sorted_row: np.ndarray
    k: int
    scale: int
    masked_kmers: int = 0
    _span_keys: np.ndarray | None = field(default=None, repr=False)

    def count(self, n_rows: int) -> np.ndarray:
        return np.bincount(self.row, minlength=n_rows)

    def span_keys(self, stride: int) -> np.ndarray:
        """`(m,)` sorted `row * stride + pos` of the entries: how many k-mers a row holds in a span is a difference
        of two `searchsorted` (computed once)."""
        if self._span_keys is None:
            self._span_keys = self.row.astype(np.int64) * stride + self.pos  # (row, pos) order: already sorted
        return self._span_keys


def _later_repeats(packed: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Of the entries `hit` (those whose key occurs more than once), the ones that are not the first of their key."""
    order = np.argsort(packed[hit], kind="stable")  # stable: the first occurrence stays first
    keys = packed[hit][order]
    return hit[order][np.r_[False, keys[1:] == keys[:-1]]]


def auto_k(sequences: pa.Array, params: SimilarityParams) -> int:
    """`params.k`, or the smallest k in 12-16 with `4**k >= 4 N` (N: the dataset's 12-mers)."""
    if params.k is not None:
        return params.k
    total = int(np.clip(lengths(sequences) - 11, 0, None).sum())
    return next((k for k in range(12, 16) if 4**k >= 4 * total), 16)


def auto_scale(sequences: pa.Array, params: SimilarityParams, k: int) -> int:
    if params.scale:
        return params.scale
    total = int(np.clip(lengths(sequences) - k + 1, 0, None).sum())
    return max(1, -(-total // params.max_kmers))


def sketch(sequences: pa.Array, params: SimilarityParams = SimilarityParams()) -> Sketch:
    """FracMinHash sketch of every sequence with positions and orientations, repeats masked.

    Args:
        sequences: `(n,)` strings.
        params: k, scale, seed and `max_postings`.
    """
    k = auto_k(sequences, params)
    scale = auto_scale(sequences, params, k)
    limit = np.uint64((1 << HASH_BITS) // scale)
    seed = np.uint32((params.seed * 0x9E3779B9 + 0x7F4A7C15) & 0xFFFFFFFF)
    parts = []
    for chunk in encoded_chunks(sequences, max_bases=1 << 19, pad=k):  # rows never straddle two chunks
        kmers, valid, forward = oriented_kmers(chunk.codes, k)
        valid &= chunk.windows_within(k)
        h = _fmix32(np.bitwise_xor(kmers.astype(np.uint32), seed))
        at = np.flatnonzero(valid & (h.astype(np.uint64) < limit))
        rows = chunk.row[at]
        starts = np.searchsorted(chunk.row, np.arange(chunk.hi - chunk.lo + 1))  # first base of each row
        pos = at - starts[rows]
        hashes, fwd = h[at], forward[at]
        # one entry per (row, k-mer): its first position. Entries are in (row, position) order, so dropping the
        # later repeats keeps that order; repeats are rare, and only they are sorted.
        packed = (rows.astype(np.uint64) << np.uint64(32)) | hashes
        ordered = np.sort(packed)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeated.size:
            repeated = np.unique(repeated)
            hit = np.flatnonzero(repeated[np.minimum(np.searchsorted(repeated, packed), len(repeated) - 1)] == packed)
            later = _later_repeats(packed, hit)
            keep = np.ones(len(packed), dtype=bool)
            keep[later] = False
            rows, pos, hashes, fwd = rows[keep], pos[keep], hashes[keep], fwd[keep]
        parts.append(((rows + chunk.lo).astype(np.int32), pos.astype(np.int32), hashes, fwd))
    if parts:
        row, pos, h, fwd = (np.concatenate([p[i] for p in parts]) for i in range(4))
    else:
        row, pos, h, fwd = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint32), np.zeros(0, bool)
    del parts
    # mask k-mers held by more than max_postings rows (one entry per row and k-mer by now)
    sorted_h = np.sort(h)
    starts = np.flatnonzero(np.r_[True, sorted_h[1:] != sorted_h[:-1]])
    frequent = np.diff(np.r_[starts, len(sorted_h)]) > params.max_postings
    if frequent.any():
        keep = ~np.isin(h, sorted_h[starts[frequent]])
        row, pos, h, fwd = row[keep], pos[keep], h[keep], fwd[keep]
    del sorted_h
    # hash order, entry order within a hash: sorting (hash, index) packed in 64 bits is ~10x faster than argsort
    packed = (h.astype(np.uint64) << np.uint64(32)) | np.arange(len(h), dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    sorted_hash = (packed >> np.uint64(32)).astype(np.uint32)
    del packed
    return Sketch(row, pos, h, fwd, order, sorted_hash, row[order], k, scale, int(frequent.sum()))


@dataclass
class Pairs:
    """Pairs of rows (query, reference) with their identity and coverage."""

    query: np.ndarray
    reference: np.ndarray
    shared: np.ndarray
    identity: np.ndarray
    coverage: np.ndarray
    reverse: np.ndarray

    FIELDS = ("query", "reference", "shared", "identity", "coverage", "reverse")

    def take(self, mask: np.ndarray) -> "Pairs":
        return Pairs(*(getattr(self, f)[mask] for f in self.FIELDS))

    @classmethod
    def concat(cls, parts: list["Pairs"]) -> "Pairs":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS))


@dataclass
class Candidates:
    """Pairs sharing sampled k-mers, in one orientation each (the one most of their shared k-mers agree on).

    Attributes:
        query, reference: `(m,)` rows.
        shared: `(m,)` sampled k-mers shared in that orientation.
        reverse: `(m,)` the k-mers are shared in opposite orientations (a reverse-strand match).
        identity, coverage: `(m,)` k-mer estimates (see `match_pairs`), used to pick the pairs worth aligning.
    """

    query: np.ndarray
    reference: np.ndarray
    shared: np.ndarray
    reverse: np.ndarray
    identity: np.ndarray
    coverage: np.ndarray

    def take(self, mask: np.ndarray) -> "Candidates":
        return Candidates(self.query[mask], self.reference[mask], self.shared[mask], self.reverse[mask],
                          self.identity[mask], self.coverage[mask])


def match_pairs(sk: Sketch, seq_lengths: np.ndarray, query: np.ndarray, reference: np.ndarray, k: int,
                *, max_matches: int = 1 << 19) -> Candidates:
    """Every (query, reference) pair of rows sharing a sampled k-mer, with k-mer estimates of identity and coverage.

    For a pair, the *shorter* sequence s is measured: `identity` is `(shared / s's k-mers within the span of
    the shared ones) ** (1 / k)`; `coverage` is that span (plus k, plus the margin `end_margin` expects at
    each end) over s's length.

    Args:
        sk: the sketch of all rows.
        seq_lengths: `(n,)` lengths.
        query, reference: `(n,)` bool masks of the two row sets.
        k: k-mer length.
        max_matches: matching k-mer entries expanded at once (bounds memory).
    """
    n = len(seq_lengths)
    aggregates = []
    for qe, re in _join(sk, query, reference, max_matches):
        opposite = sk.forward[qe] != sk.forward[re]
        q_pos, r_pos = sk.pos[qe].astype(np.int64), sk.pos[re].astype(np.int64)
        key = (sk.row[qe].astype(np.int64) * n + sk.row[re]) * 2 + opposite
        aggregates.append(_aggregate(key, q_pos, r_pos))
    if not aggregates:
        e = np.zeros(0, np.int64)
        return Candidates(e, e, e, np.zeros(0, bool), np.zeros(0), np.zeros(0))
    key, shared, q_min, q_max, r_min, r_max = _merge(aggregates)
    # one orientation per pair: the one with more shared k-mers (forward on a tie)
    pair = key // 2
    order = np.lexsort((key % 2, -shared, pair))
    best = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
    key, shared, q_min, q_max, r_min, r_max = (a[best] for a in (key, shared, q_min, q_max, r_min, r_max))
    q_row, r_row, reverse = key // 2 // n, key // 2 % n, (key % 2).astype(bool)
    q_len, r_len = seq_lengths[q_row], seq_lengths[r_row]
    q_shorter = q_len <= r_len
    s_row = np.where(q_shorter, q_row, r_row)
    s_min = np.where(q_shorter, q_min, r_min)
    s_max = np.where(q_shorter, q_max, r_max)
    s_len = np.where(q_shorter, q_len, r_len)
    # s's sampled k-mers within [s_min, s_max]
    stride = np.int64(int(seq_lengths.max()) + 1)
    flat = sk.span_keys(int(stride))
    in_span = _searchsorted(flat, s_row * stride + s_max, "right") - _searchsorted(flat, s_row * stride + s_min, "left")
    identity = (shared / np.maximum(in_span, 1)) ** (1.0 / k)
    coverage = np.minimum(1.0, (s_max - s_min + k + 2 * end_margin(identity, k, sk.scale)) / np.maximum(s_len, 1))
    return Candidates(q_row, r_row, shared, reverse, identity, coverage)


def end_margin(identity: np.ndarray, k: int, scale: int) -> np.ndarray:
    """Expected bases between the end of a shared stretch and its outermost sampled shared k-mer.

    At per-base identity p an intact k-mer needs k unchanged bases in a row: the first run of k completes after
    `(1 - p**k) / ((1 - p) p**k)` bases on average (the waiting time for a run of k successes), so the first
    intact k-mer starts that minus k bases in; sampling 1 in `scale` k-mers adds `(scale - 1) / p**k`.
    """
    p = np.clip(identity, 1e-6, 1.0)
    d = p ** k
    run = np.where(p < 1, (1 - d) / np.maximum(1 - p, 1e-12) / d - k, 0.0)
    return np.maximum(run, 0.0) + (scale - 1) / d


def _searchsorted(haystack: np.ndarray, needles: np.ndarray, side: str) -> np.ndarray:
    """`np.searchsorted` with the needles sorted first (random needles miss the cache; ~10x slower here)."""
    order = np.argsort(needles)
    out = np.empty(len(needles), dtype=np.int64)
    out[order] = np.searchsorted(haystack, needles[order], side=side)
    return out


def _aggregate(key, q_pos, r_pos):
    order = np.argsort(key)  # the reductions do not depend on the order within a key
    key, q_pos, r_pos = key[order], q_pos[order], r_pos[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return (key[starts], np.diff(np.r_[starts, len(key)]), np.minimum.reduceat(q_pos, starts),
            np.maximum.reduceat(q_pos, starts), np.minimum.reduceat(r_pos, starts), np.maximum.reduceat(r_pos, starts))


_REDUCERS = (np.add, np.minimum, np.maximum, np.minimum, np.maximum)


def _merge(aggregates):
    if len(aggregates) == 1:
        return aggregates[0]
    columns = [np.concatenate([a[i] for a in aggregates]) for i in range(len(_REDUCERS) + 1)]
    order = np.argsort(columns[0])
    key = columns[0][order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return (key[starts], *(r.reduceat(col[order], starts) for r, col in zip(_REDUCERS, columns[1:])))


def _join(sk: Sketch, query: np.ndarray, reference: np.ndarray, max_matches: int):
    """Yield the matching sampled k-mer entries `(query entries, reference entries)` of two row sets, in chunks."""
    r_at = np.flatnonzero(reference[sk.sorted_row])  # positions in hash order
    r_hash = sk.sorted_hash[r_at]
    q_at = np.flatnonzero(query[sk.sorted_row])
    q_hash = sk.sorted_hash[q_at]  # sorted needles: searchsorted stays in cache
    lo = np.searchsorted(r_hash, q_hash, side="left")
    counts = np.searchsorted(r_hash, q_hash, side="right") - lo
    keep = counts > 0
    q_idx, lo, counts = sk.order[q_at[keep]], lo[keep], counts[keep]  # back to entries (row, position order)
    r_idx = sk.order[r_at]
    cumulative = np.cumsum(counts)
    start = 0
    while start < len(q_idx):
        base = cumulative[start - 1] if start else 0
        stop = min(len(q_idx), max(start + 1, int(np.searchsorted(cumulative, base + max_matches, side="right"))))
        c = counts[start:stop]
        first = np.repeat(np.cumsum(c) - c, c)
        yield np.repeat(q_idx[start:stop], c), r_idx[np.repeat(lo[start:stop], c) + (np.arange(int(c.sum())) - first)]
        start = stop


def anchored_alignment(sequences: pa.Array, sk: Sketch, cand: Candidates, k: int, *, max_matches: int = 1 << 19,
                       max_positions: int = 1 << 19) -> tuple[np.ndarray, np.ndarray]:
    """Measured identity and coverage of candidate pairs: their bases compared along their shared k-mers.

    The shared k-mers of a pair (in its orientation) are anchors, each on a diagonal (`q - r`; on the reverse
    strand the anti-diagonal `q + r + k - 1`). Every query position is compared with the reference bases that
    the anchors on either side of it put against it (the complement, on the reverse strand), and matches when
    either does: an indel between two anchors then costs nothing but chance; before the first and after the last anchor the alignment runs on
    to the end of either sequence. `N` matches nothing. Identity is the share of matching positions over the
    aligned stretch; coverage is that stretch's length over the shorter sequence's length (at most 1). This is
    an ungapped-between-anchors alignment, close to what MMseqs2 reports for copies with point changes and a
    few indels; it does not search for gaps elsewhere.

    Args:
        sequences: `(n,)` strings of all rows.
        sk: the sketch of all rows.
        cand: the pairs (`match_pairs`, picked).
        k: k-mer length.
        max_matches, max_positions: work done at once (bounds memory).

    Returns:
        `(identity, coverage)`, each `(m,)`.
    """
    data, offsets = string_buffers(sequences)
    length = np.diff(offsets)
    n, m = len(length), len(cand.query)
    if not m:
        return np.zeros(0), np.zeros(0)
    # anchors: the shared entries of the picked pairs, in the pair's orientation, sorted by (pair, query position)
    pair_key = (cand.query.astype(np.int64) * n + cand.reference) * 2 + cand.reverse
    order = np.argsort(pair_key)
    sorted_keys = pair_key[order]
    in_q = np.zeros(n, dtype=bool)
    in_q[cand.query] = True
    in_r = np.zeros(n, dtype=bool)
    in_r[cand.reference] = True
    pieces = []
    for qe, re in _join(sk, in_q, in_r, max_matches):
        opposite = sk.forward[qe] != sk.forward[re]
        key = (sk.row[qe].astype(np.int64) * n + sk.row[re]) * 2 + opposite
        at = np.clip(np.searchsorted(sorted_keys, key, "left"), 0, m - 1)  # a small haystack: stays in cache
        hit = sorted_keys[at] == key
        q_pos, r_pos = sk.pos[qe[hit]].astype(np.int64), sk.pos[re[hit]].astype(np.int64)
        diagonal = np.where(opposite[hit], q_pos + r_pos + k - 1, q_pos - r_pos)
        pieces.append((order[at[hit]].astype(np.int32), q_pos.astype(np.int32), diagonal.astype(np.int32)))
    which = np.concatenate([p[0] for p in pieces])
    q_pos = np.concatenate([p[1] for p in pieces])
    diagonal = np.concatenate([p[2] for p in pieces])
    stride = np.int64(int(length.max()) + k + 1)
    anchor = which.astype(np.int64) * stride + q_pos
    order = np.argsort(anchor)  # unique: one entry per (pair, query k-mer)
    anchor, which, q_pos, diagonal = anchor[order], which[order], q_pos[order], diagonal[order]
    first_anchor = np.searchsorted(which, np.arange(m), side="left")
    last_anchor = np.searchsorted(which, np.arange(m), side="right") - 1
    lq, lr = length[cand.query], length[cand.reference]
    d_first, d_last = diagonal[first_anchor], diagonal[last_anchor]
    rev = cand.reverse
    # the aligned stretch of the query: from where the first anchor's diagonal enters both sequences to where the
    # last anchor's diagonal leaves one of them
    lo = np.where(rev, np.maximum(0, d_first - lr + 1), np.maximum(0, d_first))
    hi = np.where(rev, np.minimum(lq, d_last + 1), np.minimum(lq, lr + d_last))
    span = np.maximum(hi - lo, 0)
    identity = np.zeros(m)
    cumulative = np.cumsum(span)
    start = 0
    half = k // 2
    while start < m:
        base = cumulative[start - 1] if start else 0
        stop = min(m, max(start + 1, int(np.searchsorted(cumulative, base + max_positions, side="right"))))
        c = span[start:stop]
        rows = np.repeat(np.arange(start, stop), c)
        a = np.repeat(lo[start:stop], c) + (np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c))
        # the anchors either side of the position (by k-mer centre), within the same pair: between two anchors on
        # different diagonals an indel lies somewhere, and the position matches on either diagonal
        right = np.searchsorted(anchor, rows * stride + np.maximum(a - half, 0), side="left")
        right = np.minimum(right, last_anchor[rows])
        left = np.maximum(np.where(q_pos[right] + half > a, right - 1, right), first_anchor[rows])
        q_code = BASE_CODES[data[offsets[cand.query[rows]] + a]]
        match = np.zeros(len(a), dtype=bool)
        for use in (left, right):
            d = diagonal[use]
            ra = np.where(rev[rows], d - a, a - d)
            inside = (ra >= 0) & (ra < lr[rows])
            r_code = BASE_CODES[data[offsets[cand.reference[rows]] + np.clip(ra, 0, lr[rows] - 1)]]
            r_code = np.where(rev[rows] & (r_code < 4), 3 - r_code, r_code)
            match |= inside & (q_code < 4) & (q_code == r_code)
        seg = np.flatnonzero(c)
        if seg.size:
            hits = np.zeros(stop - start)
            hits[seg] = np.add.reduceat(match.astype(np.int64), (np.cumsum(c) - c)[seg])
            identity[start:stop] = hits / np.maximum(c, 1)
        start = stop
    return identity, np.minimum(1.0, span / np.maximum(np.minimum(lq, lr), 1))


def _chance_shared(sk: Sketch, cand: Candidates, n: int, k: int) -> np.ndarray:
    """`(m,)` sampled k-mers two unrelated sequences of these sizes share by chance (Poisson mean)."""
    count = sk.count(n)
    return 2.0 * sk.scale * count[cand.query] * count[cand.reference] / 4.0**k


def _pick(cand: Candidates, sk: Sketch, n: int, params: SimilarityParams) -> Candidates:
    """The candidates worth aligning: more shared k-mers than chance gives, plausible k-mer estimates, and at
    most `max_candidates` per query row (the most shared first)."""
    count = sk.count(n)
    fewest = np.minimum(2, np.minimum(count[cand.query], count[cand.reference]))  # a 1-k-mer row can share 1
    chance = _chance_shared(sk, cand, n, sk.k)
    plausible = ((cand.shared >= np.maximum(fewest, np.ceil(chance + 4 * np.sqrt(chance))))
                 & (cand.identity >= params.min_identity - 0.1) & (cand.coverage >= params.min_coverage / 3))
    cand = cand.take(plausible)
    order = np.lexsort((cand.reference, -cand.shared, cand.query))
    q = cand.query[order]
    first = np.r_[0, np.flatnonzero(q[1:] != q[:-1]) + 1]
    rank = np.arange(len(q)) - np.repeat(first, np.diff(np.r_[first, len(q)]))
    return cand.take(order[rank < params.max_candidates])


@dataclass
class NearDuplicates:
    """The near-duplicate pairs of a query set against a reference set.

    Attributes:
        pairs: every flagged pair (aligned pairs above both thresholds, and exact matches of rows with no
            sampled k-mer, which have identity and coverage 1).
        best: `(n,)` best `identity * coverage` of each row against the reference set (0: no aligned candidate;
            only meaningful on query rows).
        flagged: `(n,)` bool: the row is a near-duplicate of a reference row.
    """

    pairs: Pairs
    best: np.ndarray
    flagged: np.ndarray


def find_near_duplicates(inp: AuditInput, query: np.ndarray, reference: np.ndarray, params: SimilarityParams,
                         sk: Sketch, codes: SequenceCodes) -> NearDuplicates:
    """Flag the `query` rows with a near-duplicate among the `reference` rows (see `SimilarityParams`).

    Candidates share sampled k-mers (`match_pairs`); those worth it (`_pick`) are aligned along their
    diagonals (`diagonal_alignment`), and a pair is a near-duplicate when the measured identity and coverage
    reach the thresholds. Rows with no sampled k-mer (shorter than k, or all k-mers masked) are compared exactly.
    """
    n = len(inp.frame)
    cand = _pick(match_pairs(sk, lengths(inp.sequences), query, reference, sk.k), sk, n, params)
    identity, coverage = anchored_alignment(inp.sequences, sk, cand, sk.k)
    aligned = Pairs(cand.query, cand.reference, cand.shared, identity, coverage, cand.reverse)
    best = np.zeros(n)
    np.maximum.at(best, aligned.query, identity * coverage)
    near = aligned.take((identity >= params.min_identity - 1e-9) & (coverage >= params.min_coverage - 1e-9))
    exact = _exact_pairs(codes, query & (sk.count(n) == 0), reference)
    best[exact.query] = 1.0
    pairs = Pairs.concat([near, exact])
    flagged = np.zeros(n, dtype=bool)
    flagged[pairs.query] = True
    return NearDuplicates(pairs, best, flagged)


def _exact_pairs(codes: SequenceCodes, query: np.ndarray, reference: np.ndarray) -> Pairs:
    """Pairs of identical (or reverse-complement) sequences between the `query` and `reference` rows."""
    q_rows, r_rows = np.flatnonzero(query), np.flatnonzero(reference)
    canonical = codes.canonical
    order = np.argsort(canonical[r_rows], kind="stable")
    r_sorted, r_codes = r_rows[order], canonical[r_rows][order]
    lo = np.searchsorted(r_codes, canonical[q_rows], side="left")
    c = np.searchsorted(r_codes, canonical[q_rows], side="right") - lo
    total = int(c.sum())
    first = np.repeat(np.cumsum(c) - c, c)
    q = np.repeat(q_rows, c)
    r = r_sorted[np.repeat(lo, c) + (np.arange(total) - first)]
    reverse = codes.forward[q] != codes.forward[r]
    return Pairs(q.astype(np.int64), r.astype(np.int64), np.zeros(total, np.int64), np.ones(total), np.ones(total), reverse)


def _examples(inp: AuditInput, found: NearDuplicates, limit: int) -> list[dict]:
    """The closest reference row of each flagged query row, the most similar first (ties: by ids), at most `limit`."""
    pairs = found.pairs
    if not len(pairs.query) or not limit:
        return []
    similarity = np.round(pairs.identity * pairs.coverage, 6)
    ids = inp.frame["id"].to_numpy(object).astype(str)
    best = np.lexsort((ids[pairs.reference], -similarity, pairs.query))
    best = best[np.r_[True, pairs.query[best][1:] != pairs.query[best][:-1]]]  # one pair per query row
    order = best[np.lexsort((ids[pairs.reference][best], ids[pairs.query][best], -similarity[best]))]
    lens = lengths(inp.sequences)
    out = []
    for i in order[:limit]:
        q, r = int(pairs.query[i]), int(pairs.reference[i])
        out.append({
            "query": {"id": str(ids[q]), "split": str(inp.splits[q]), "label": inp.classes[inp.labels[q]], "length": int(lens[q])},
            "reference": {"id": str(ids[r]), "split": str(inp.splits[r]), "label": inp.classes[inp.labels[r]],
                          "length": int(lens[r])},
            "identity": round(float(pairs.identity[i]), 4),
            "coverage": round(float(pairs.coverage[i]), 4),
            "strand": "-" if pairs.reverse[i] else "+",
            "shared_kmers": int(pairs.shared[i]),
        })
    return out


SIMILARITY_BINS = [round(0.1 * i, 1) for i in range(11)]


@dataclass
class Searches:
    """The two near-duplicate searches of a config, and the sketch they ran on."""

    test_vs_train_validation: NearDuplicates
    validation_vs_train: NearDuplicates
    sketch: Sketch


def searches(inp: AuditInput, params: SimilarityParams = SimilarityParams(), codes: SequenceCodes | None = None,
             sk: Sketch | None = None) -> Searches:
    """The two searches of the audit: test against train ∪ validation, validation against train."""
    sk = sketch(inp.sequences, params) if sk is None else sk
    codes = codes or sequence_codes(inp.sequences)
    return Searches(
        find_near_duplicates(inp, inp.split_mask("test"), inp.split_mask(("train", "validation")), params, sk, codes),
        find_near_duplicates(inp, inp.split_mask("validation"), inp.split_mask("train"), params, sk, codes),
        sk,
    )


def audit_similarity(inp: AuditInput, params: SimilarityParams = SimilarityParams(),
                     codes: SequenceCodes | None = None, sk: Sketch | None = None,
                     found: Searches | None = None) -> dict:
    """Near-duplicate figures of a config (the `near_duplicates` section of the audit report).

    Args:
        inp: the config's rows with sequences.
        params: search parameters.
        codes: sequence codes (`duplicates.sequence_codes`), to report near-duplicates that are not exact or
            RC duplicates; computed when absent.
        sk: precomputed `sketch(inp.sequences, params)`.
        found: precomputed `searches(inp, params, codes, sk)` (the leak-free variant reuses them).
    """
    if inp.sequences is None:
        raise AuditError(f"{inp.config}: the near-duplicate audit needs sequences")
    codes = codes or sequence_codes(inp.sequences)
    found = found or searches(inp, params, codes, sk)
    sk = found.sketch
    labels = inp.labels
    n = len(inp.frame)
    unsketched = sk.count(n) == 0
    short = lengths(inp.sequences) < sk.k
    pairs = {}
    for name, (query_splits, reference_splits) in SPLIT_PAIRS.items():
        query, reference = inp.split_mask(query_splits), inp.split_mask(reference_splits)
        search = found.validation_vs_train if name == "validation_vs_train" else found.test_vs_train_validation
        keep = reference[search.pairs.reference]
        flagged = np.zeros(n, dtype=bool)
        flagged[search.pairs.query[keep]] = True
        near = flagged[query]
        exact, rc, _ = cross_flags(codes, labels, query, reference)
        conflict_rows = search.pairs.query[keep & (labels[search.pairs.query] != labels[search.pairs.reference])]
        conflict = np.zeros(n, dtype=bool)
        conflict[conflict_rows] = True
        q = int(query.sum())
        entry = {
            "rows": q,
            "near_duplicates": int(near.sum()),
            "near_duplicate_fraction": fractions(int(near.sum()), q),
            "beyond_exact_and_rc": int((near & ~exact & ~rc).sum()),
            "label_conflicts": int(conflict[query].sum()),
            "by_class": {cls: {"rows": d["rows"], "near_duplicates": d["count"], "fraction": d["fraction"]}
                         for cls, d in per_class(near, labels[query], inp.classes).items()},
        }
        if name in ("test_vs_train_validation", "validation_vs_train"):
            best = search.best[query]
            counts = np.histogram(best[best > 0], bins=SIMILARITY_BINS)[0]
            entry["similarity_histogram"] = {"bins": SIMILARITY_BINS, "counts": [int(c) for c in counts],
                                             "no_candidate": int((best == 0).sum())}
            entry["examples"] = _examples(inp, NearDuplicates(search.pairs.take(keep), search.best, flagged),
                                          params.max_examples)
        pairs[name] = entry
    return {
        "method": (
            f"containment of canonical {sk.k}-mers (FracMinHash scale {sk.scale}: "
            f"{'every k-mer' if sk.scale == 1 else f'1 in {sk.scale} k-mers by hash'}; k-mers in more than "
            f"{params.max_postings} rows masked): a pair is a near-duplicate when the shared k-mers span at least "
            f"{params.min_coverage:.0%} of the shorter sequence and its estimated identity there is at least "
            f"{params.min_identity:.0%}, on either strand; sequences shorter than {sk.k} bp (or with no k-mer "
            "left) are compared exactly"
        ),
        "params": {**asdict(params), "k_used": sk.k, "scale_used": sk.scale},
        "masked_kmers": sk.masked_kmers,
        "compared_exactly": {"rows": int(unsketched.sum()), "shorter_than_k": int(short.sum())},
        "pairs": pairs,
    }
