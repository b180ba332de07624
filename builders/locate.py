"""Exact mapping of sequences back to a prepared reference (`gbhub locate`): contig, start, end and strand.

The index is built over the *queries*, not the genome: every query contributes, for each strand, the
`w` k-mers (k <= 32, 2 bits per base in one uint64) that start at offsets `0..w-1` of one N-free *anchor*
window of `k + w - 1` bases. The genome is then read once, in blocks, and its k-mers are looked up only at
positions that are multiples of `w`: any occurrence of a query puts exactly one such position inside its
anchor window, so nothing is missed and each occurrence is proposed once. A query k-mer set of a few
million sorted uint64 (behind a bit filter that rejects most genome k-mers in one memory access) costs
tens of MB, where a suffix array of a 3.1 Gbp genome needs 25 GB and hours to build; the scan reads the
genome at memory speed whatever the number of queries. Each proposed position is then verified by
comparing the whole query with the genome (reverse-complemented on `-`, by `Genome.fetch`), so a hit is
exact by construction. A query with one exact occurrence is `unique`; with several (counting a palindrome
once per position) `ambiguous`, with none `unmapped`, and one with no N-free stretch of the seed length
`unsearchable`: coordinates are given for `unique` only, never guessed.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import as_strided

from gbhub.builders.errors import GBHubError
from gbhub.builders.genome import COMPLEMENT_LUT, Genome, iter_fasta, n_runs

if TYPE_CHECKING:
    import pandas as pd  # imported where a table is asked for: `gbhub locate` on a FASTA never needs it

STATUSES = ("unique", "ambiguous", "unmapped", "unsearchable")
MAX_K, MAX_STRIDE, MIN_K = 32, 16, 12
_BLOCK = 1 << 21  # genome bases per scanned block (a multiple of every stride <= 16; small enough for the cache)
_VERIFY_BATCH = 1 << 21  # candidate positions verified at once
# 2-bit codes: bits 1-2 of the ASCII letter, `(byte >> 1) & 3`: A 0, C 1, T 2, G 3 (complement: code ^ 2).
# The genome scan computes them with two integer operations per 4 bases; anything else is 4 here.
_ENC = np.full(256, 4, dtype=np.uint8)
for _b in b"ACGT":
    _ENC[_b] = (_b >> 1) & 3
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[97:123] -= 32
_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing of k-mer codes into the bit filter


class LocateError(GBHubError, ValueError):
    """Sequences cannot be read or located as asked; says what to pass."""


@dataclass
class LocateResult:
    """Where each query lies.

    Attributes:
        status: `(n,)` one of `STATUSES` per query, in input order.
        hit_count: `(n,)` exact occurrences, counting both strands (-1 when unsearchable).
        region, start, end, strand: `(n,)` the locus of each `unique` query (None / -1 otherwise). `region`
            is the reference's record name; coordinates are 0-based half-open, `-` meaning the query is the
            reverse complement of `region[start:end]`.
        all_hits: every exact occurrence, as columns `query` (row), `region`, `start`, `end`, `strand`.
        params: seed length `k`, stride `w`, queries, genome bp scanned and candidate positions verified.
    """

    status: np.ndarray
    hit_count: np.ndarray
    region: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    all_hits: dict[str, np.ndarray]
    params: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {s: int((self.status == s).sum()) for s in STATUSES}

    @functools.cached_property
    def table(self) -> pd.DataFrame:
        """One row per query: `status`, `hits` (NA when unsearchable), and `region`, `start`, `end`, `strand`
        (NA unless `unique`)."""
        import pandas as pd

        n = len(self.status)
        searchable = self.hit_count >= 0
        table = pd.DataFrame({
            "status": self.status,
            "hits": pd.array(np.where(searchable, self.hit_count, 0), dtype="Int64"),
            "region": pd.array([None] * n, dtype="string"),
            "start": pd.array([None] * n, dtype="Int64"),
            "end": pd.array([None] * n, dtype="Int64"),
            "strand": pd.array([None] * n, dtype="string"),
        })
        table.loc[~searchable, "hits"] = pd.NA
        q = np.flatnonzero(self.status == "unique")
        for name in ("region", "start", "end", "strand"):
            table.loc[q, name] = getattr(self, name)[q]
        return table

    @functools.cached_property
    def hits(self) -> pd.DataFrame:
        """Every exact occurrence: `query` (row of `table`), `region`, `start`, `end`, `strand`."""
        import pandas as pd

        return pd.DataFrame(self.all_hits)

    def text_rows(self, ids: np.ndarray) -> list[list[str]]:
        """The table as text fields, `id` first: what `write_locations` writes for a FASTA's queries."""
        located = self.status == "unique"
        hits = np.where(self.hit_count >= 0, self.hit_count.astype(str), "")
        start = np.where(located, self.start.astype(str), "")
        end = np.where(located, self.end.astype(str), "")
        region = np.where(located, self.region, "").astype(str)
        strand = np.where(located, self.strand, "").astype(str)
        return [list(row) for row in zip(np.asarray(ids, dtype=object).astype(str), self.status,
                                         hits, region, start, end, strand)]


TABLE_COLUMNS = ("id", "status", "hits", "region", "start", "end", "strand")


def _as_large_strings(sequences) -> pa.Array:
    """The queries as one upper-case `large_string` array (lists, and every Arrow string layout)."""
    if isinstance(sequences, (pa.Array, pa.ChunkedArray)):
        arr = sequences
    else:
        sequences = list(sequences)
        if all(isinstance(s, str) for s in sequences):
            arr = _utf8_array([s.encode() for s in sequences])
        else:  # None (refused below as missing) or not text (Arrow's own error)
            arr = pa.array(sequences, pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.string() and not arr.null_count:  # widen the offsets by hand: `cast` would import
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]  # compute
        data = arr.buffers()[2] if arr.buffers()[2] is not None else pa.py_buffer(b"")
        arr = pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer(offsets.astype(np.int64)), data)
    elif arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        raise LocateError(f"{arr.null_count} of the sequences are missing (null): drop them first")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    upper = _UPPER[data[offsets[0]: offsets[-1]]]  # the reference is upper case
    return pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer(offsets - offsets[0]), pa.py_buffer(upper))


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    return data, offsets


def _longest_acgt_run(valid: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(length, start)` of the longest run of A/C/G/T in each sequence (start relative to the sequence)."""
    n = len(offsets) - 1
    best = np.zeros(n, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)
    if not len(valid):
        return best, where
    first = np.zeros(len(valid) + 1, dtype=bool)
    first[offsets[:-1]] = True  # a sequence starts here
    last = np.zeros(len(valid) + 1, dtype=bool)
    last[offsets[1:] - 1] = True  # a sequence ends after here (empty sequences mark nothing useful)
    prev = np.concatenate([[False], valid[:-1]])
    nxt = np.concatenate([valid[1:], [False]])
    starts = np.flatnonzero(valid & (~prev | first[:-1]))
    ends = np.flatnonzero(valid & (~nxt | last[:-1])) + 1
    seq = np.searchsorted(offsets, starts, side="right") - 1
    length = ends - starts
    order = np.lexsort((-length, seq))
    top = np.ones(len(order), dtype=bool)
    top[1:] = seq[order][1:] != seq[order][:-1]
    pick = order[top]
    best[seq[pick]] = length[pick]
    where[seq[pick]] = starts[pick] - offsets[seq[pick]]
    return best, where


_POPCOUNT16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)


def _anchors(enc: np.ndarray, starts: np.ndarray, lengths: np.ndarray, run_len, run_start, window: int) -> np.ndarray:
    """Start of each query's anchor window (N-free, `window` bases): the most varied of five evenly spread
    candidates and the longest N-free run (distinct dinucleotides, so that poly-A and short tandem repeats,
    whose k-mers occur all over a genome, are avoided when the query has anything better)."""
    out = np.zeros(len(lengths), dtype=np.int64)
    bad = np.flatnonzero(enc == 4)  # positions of N (rare): counted in a window by two binary searches
    fractions = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    step = np.arange(window - 1)
    for lo in range(0, len(lengths), 8192):
        hi = min(lo + 8192, len(lengths))
        room = np.maximum(lengths[lo:hi] - window, 0)
        cand = np.concatenate([np.floor(room[:, None] * fractions).astype(np.int64), run_start[lo:hi, None]], axis=1)
        cand = np.minimum(cand, room[:, None])
        absolute = starts[lo:hi, None] + cand
        clean = np.searchsorted(bad, absolute + window) == np.searchsorted(bad, absolute)
        pos = absolute[..., None] + step
        pairs = np.minimum(enc[pos] * 4 + enc[pos + 1], 15).astype(np.uint16)
        varied = _POPCOUNT16[np.bitwise_or.reduce(np.left_shift(np.uint16(1), pairs), axis=2)]
        score = np.where(clean, varied.astype(np.int64), -1)
        out[lo:hi] = cand[np.arange(hi - lo), np.argmax(score, axis=1)]
    return out


def _kmer_codes(windows: np.ndarray, k: int, w: int) -> np.ndarray:
    """`(n, w)` uint64 codes of the k-mers at offsets `0..w-1` of `(n, k + w - 1)` base codes (0-3).

    Base `t` of a k-mer sits at bits `2t` (little-endian), as in the packed words of the genome scan.
    """
    code = np.zeros((windows.shape[0], w), dtype=np.uint64)
    for t in range(k):
        code |= windows[:, t: t + w].astype(np.uint64) << np.uint64(2 * t)
    return code


@dataclass
class _QueryIndex:
    """Sorted k-mer codes of the queries' anchors; key `i` is slot `slot[i]` of the `(query, strand, offset)`
    grid, `(n, 2, w)` flattened."""

    keys: np.ndarray  # sorted uint64 k-mer codes
    slot: np.ndarray  # position of each key in the (n, 2, w) grid
    rows: np.ndarray  # query row of each grid row
    w: int
    oriented_anchor: np.ndarray  # (n, 2) anchor start in the query read on + and on -
    bits: np.ndarray  # the bit filter
    filter_shift: np.uint64

    def payload(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`(query row, minus, shift)` of keys: a genome k-mer at q puts the query's start at q - shift."""
        slot = self.slot[key].astype(np.int64)
        grid, offset = np.divmod(slot, self.w)
        row, strand = np.divmod(grid, 2)
        return self.rows[row], strand.astype(bool), offset + self.oriented_anchor[row, strand]


def _index(seqs: pa.Array, k: int, w: int, searchable: np.ndarray, run_len, run_start) -> _QueryIndex:
    data, offsets = _buffers(seqs)
    enc = _ENC[data]
    lengths = np.diff(offsets)
    rows = np.flatnonzero(searchable)
    window = k + w - 1
    anchor = _anchors(enc, offsets[rows], lengths[rows], run_len[rows], run_start[rows], window)
    starts = offsets[rows] + anchor
    forward = enc[starts[:, None] + np.arange(window)]
    reverse = (forward ^ 2)[:, ::-1]  # complement: A 0 <-> T 2, C 1 <-> G 3
    codes = np.concatenate([_kmer_codes(forward, k, w), _kmer_codes(reverse, k, w)], axis=1).ravel()
    oriented_anchor = np.stack([anchor, lengths[rows] - anchor - window], axis=1)  # (n, 2): + and - strand
    order = np.argsort(codes, kind="stable")
    need = int(np.ceil(np.log2(max(len(codes), 1))))  # 64 bits a key (1.5% false positives) while the filter
    bits_log2 = min(32, max(20, need + 4, min(need + 6, 25)))  # fits in 4 MB; 16 bits a key (6%) beyond
    filter_shift = np.uint64(64 - bits_log2)
    bits = np.zeros(1 << (bits_log2 - 3), dtype=np.uint8)
    h = (codes * _MULT) >> filter_shift
    np.bitwise_or.at(bits, (h >> np.uint64(3)).astype(np.int64), (np.uint8(1) << (h & np.uint64(7)).astype(np.uint8)))
    del h
    return _QueryIndex(codes[order], order.astype(np.int32 if len(order) < 2**31 else np.int64), rows, w,
                       oriented_anchor, bits, filter_shift)

def locate_sequences(genome: Genome, sequences, *, progress: bool = True) -> LocateResult:
    """Map each sequence exactly (both strands) onto a prepared reference.

    Args:
        genome: the prepared reference.
        sequences: `(n,)` strings (a list or an Arrow string array); case is ignored.
        progress: show a progress bar over the genome.

    Returns:
        A `LocateResult` whose `table` is aligned with `sequences`.
    """
    seqs = _as_large_strings(sequences)
    data, offsets = _buffers(seqs)
    lengths = np.diff(offsets)
    run_len, run_start = _longest_acgt_run(_ENC[data] < 4, offsets)
    searchable = run_len >= MIN_K
    n = len(seqs)
    if searchable.any():
        shortest = int(run_len[searchable].min())
        k = min(MAX_K, shortest)
        w = max(1, min(MAX_STRIDE, shortest - k + 1))
        searchable &= run_len >= k + w - 1
    else:
        k, w = MAX_K, MAX_STRIDE
    hits = []
    verified = 0
    scanned = 0
    if searchable.any():
        index = _index(seqs, k, w, searchable, run_len, run_start)
        pending: list[tuple] = []
        pending_size = 0
        total = sum(c.length for c in genome.contigs.values())
        bar = None
        if progress:  # `tqdm.auto` is imported only to be shown: 35 ms of the command's start-up
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc="locating", unit="bp", unit_scale=True)
        run_s, run_e = n_runs(genome, progress=progress)
        block = _BLOCK - _BLOCK % w
        contigs = list(genome.contigs.values())
        runs = []  # each contig's runs of non-ACGT bases, in contig positions
        for contig in contigs:
            inside = slice(np.searchsorted(run_s, contig.offset), np.searchsorted(run_s, contig.offset + contig.length))
            runs.append((run_s[inside] - contig.offset, run_e[inside] - contig.offset))
        jobs = [(i, pos) for i, contig in enumerate(contigs) for pos in range(0, contig.length, block)]
        local = threading.local()

        def scan(job: tuple[int, int]):
            contig_id, pos = job
            if not hasattr(local, "workspace"):  # one per thread, reused for every block it scans
                local.workspace = _Workspace(_BLOCK, w, k)
            bases = genome.read_into(contigs[contig_id], pos, local.workspace.bases)
            return _scan_block(bases, pos, block, k, w, index, runs[contig_id], local.workspace)

        # numpy releases the GIL in the scan's array operations: blocks are scanned by a few threads, and the
        # results taken in genome order (the output does not depend on the number of threads)
        with ThreadPoolExecutor(max_workers=_scan_threads()) as pool:
            for (contig_id, pos), found in zip(jobs, pool.map(scan, jobs)):
                if found is not None:
                    pending.append((contig_id, *found))
                    pending_size += len(found[0])
                if pending_size >= _VERIFY_BATCH:
                    hits.append(_verify(genome, seqs, lengths, pending))
                    verified += pending_size
                    pending, pending_size = [], 0
                done = min(block, contigs[contig_id].length - pos)
                if bar is not None:
                    bar.update(done)
                scanned += done
        if pending:
            hits.append(_verify(genome, seqs, lengths, pending))
            verified += pending_size
        if bar is not None:
            bar.close()
    query, contig, start, minus = (np.concatenate([h[i] for h in hits]) if hits else np.zeros(0, dtype)
                                   for i, dtype in enumerate((np.int64, np.int64, np.int64, bool)))
    # a palindrome matches both strands at one position: one locus, reported on +
    order = np.lexsort((minus, start, contig, query))
    query, contig, start, minus = query[order], contig[order], start[order], minus[order]
    first = np.ones(len(query), dtype=bool)
    first[1:] = (query[1:] != query[:-1]) | (contig[1:] != contig[:-1]) | (start[1:] != start[:-1])
    query, contig, start, minus = query[first], contig[first], start[first], minus[first]
    names = np.array(list(genome.contigs), dtype=object)
    per_query = np.bincount(query, minlength=n)
    status = np.where(~searchable, "unsearchable",
                      np.where(per_query == 1, "unique", np.where(per_query > 1, "ambiguous", "unmapped")))
    unique = per_query[query] == 1
    region = np.full(n, None, dtype=object)
    locus = np.full(n, -1, dtype=np.int64)
    strand = np.full(n, None, dtype=object)
    q = query[unique]
    region[q] = names[contig[unique]]
    locus[q] = start[unique]
    strand[q] = np.where(minus[unique], "-", "+")
    end = np.where(locus >= 0, locus + lengths, -1)
    all_hits = {"query": query, "region": names[contig], "start": start, "end": start + lengths[query],
                "strand": np.where(minus, "-", "+")}
    params = {"k": k, "stride": w, "queries": n, "searchable": int(searchable.sum()), "genome_bp": scanned,
              "candidates_verified": verified}
    return LocateResult(status, np.where(searchable, per_query, -1), region, locus, end, strand, all_hits, params)


def _scan_threads() -> int:
    """Threads that scan the genome: the usable cores, at most 4 (the scan is bound by memory beyond that)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


class _Workspace:
    """Scratch arrays of one genome scan, allocated once: fresh 16 MB temporaries for every block cost more in
    page faults than the arithmetic on them."""

    def __init__(self, block: int, w: int, k: int):
        self.bases = np.empty(block + k - 1, dtype=np.uint8)
        m = block // w + 2
        self.u32 = np.empty(m * 4, dtype=np.uint32)
        self.u8 = np.empty(m * 4, dtype=np.uint8)
        self.words = np.empty(m, dtype=np.uint64)
        self.code = np.empty(m, dtype=np.uint64)
        self.hash = np.empty(m, dtype=np.uint64)
        self.byte = np.empty(m, dtype=np.uint8)
        self.bit = np.empty(m, dtype=np.uint8)


def _packed_codes(bases: np.ndarray, m: int, ws: _Workspace) -> np.ndarray:
    """Codes of the 32-mers at positions `0, 16, 32, ...` (`m` of them), straight from the ASCII bytes: 16-base
    words, 4 bases a byte, every step in place in `ws`."""
    size = (m + 1) * 16
    if len(bases) >= size:
        padded = bases[:size]
    else:
        padded = np.zeros(size, dtype=np.uint8)
        padded[: len(bases)] = bases
    u32 = ws.u32[: (m + 1) * 4]
    np.right_shift(padded.view("<u4"), np.uint32(1), out=u32)
    np.bitwise_and(u32, np.uint32(0x03030303), out=u32)  # each byte: its base's 2-bit code
    # gather the four 2-bit codes into the top byte (base t at bits 2t of it): the shifted copies land in
    # disjoint bit fields, so the product has no carries into bits 24-31
    np.multiply(u32, np.uint32(0x01041040), out=u32)
    np.right_shift(u32, np.uint32(24), out=u32)
    u8 = ws.u8[: (m + 1) * 4]
    np.copyto(u8, u32, casting="unsafe")  # values < 256
    words = ws.words[: m + 1]
    np.copyto(words, u8.view("<u4"))
    code = ws.code[:m]
    np.left_shift(words[1: m + 1], np.uint64(32), out=code)
    np.bitwise_or(code, words[:m], out=code)
    return code


def _scan_block(bases: np.ndarray, pos: int, block: int, k: int, w: int, index: _QueryIndex,
                runs: tuple[np.ndarray, np.ndarray], ws: _Workspace):
    """Candidate `(query start, query row, minus)` of one genome block (positions `pos..pos+block` step `w`).

    `runs`: the contig's runs of non-ACGT bases (contig positions, sorted): a k-mer touching one is dropped.
    """
    usable = len(bases) - k + 1
    if usable <= 0:
        return None
    m = -(-min(block, usable) // w)  # stride positions in this block
    if k == 32 and w == 16:  # the usual case
        code = _packed_codes(bases, m, ws)
    else:
        enc = _ENC[bases] & 3
        view = as_strided(enc, shape=(m, k), strides=(w, 1), writeable=False)
        code = np.zeros(m, dtype=np.uint64)
        for t in range(k):
            code |= view[:, t].astype(np.uint64) << np.uint64(2 * t)
    # the bit filter: bit `hash(code)` of `index.bits`, in place
    h = ws.hash[:m]
    np.multiply(code, _MULT, out=h)
    np.right_shift(h, index.filter_shift, out=h)
    bit = ws.bit[:m]
    np.copyto(bit, h & np.uint64(7), casting="unsafe")
    np.right_shift(h, np.uint64(3), out=h)
    byte = np.take(index.bits, h.view(np.int64), out=ws.byte[:m])
    np.right_shift(byte, bit, out=byte)
    np.bitwise_and(byte, np.uint8(1), out=byte)
    sel = np.flatnonzero(byte)
    if not len(sel):
        return None
    starts = pos + sel * w
    run_s, run_e = runs
    lo, hi = np.searchsorted(run_e, pos, side="right"), np.searchsorted(run_s, pos + len(bases), side="left")
    if hi > lo:  # N runs in this block: drop the k-mers that touch one (their codes read N as a base)
        j = np.searchsorted(run_s[lo:hi], starts + k, side="left") - 1
        clean = ~((j >= 0) & (run_e[lo:hi][np.maximum(j, 0)] > starts))
        sel, starts = sel[clean], starts[clean]
    c = code[sel]
    lo = np.searchsorted(index.keys, c, side="left")  # most survivors of the filter are false positives ...
    hit = index.keys[np.minimum(lo, len(index.keys) - 1)] == c
    if not hit.any():
        return None
    lo, c, starts = lo[hit], c[hit], starts[hit]  # ... so the right end is looked up for true ones only
    count = np.searchsorted(index.keys, c, side="right") - lo
    genome_pos = np.repeat(starts, count)
    key = np.repeat(lo - np.cumsum(np.concatenate([[0], count[:-1]])), count) + np.arange(count.sum())
    query, minus, shift = index.payload(key)
    return genome_pos - shift, query, minus


def _verify(genome: Genome, seqs: pa.Array, lengths: np.ndarray, pending: list[tuple]) -> tuple[np.ndarray, ...]:
    """`(query, contig, start, minus)` of the candidates whose whole query equals the genome there (reverse
    complement on `-`)."""
    contig_ids = np.concatenate([np.full(len(p[1]), p[0], dtype=np.int64) for p in pending])
    start = np.concatenate([p[1] for p in pending]).astype(np.int64)
    query = np.concatenate([p[2] for p in pending]).astype(np.int64)
    minus = np.concatenate([p[3] for p in pending]).astype(bool)
    contigs = list(genome.contigs.values())
    limit = np.array([c.length for c in contigs], dtype=np.int64)[contig_ids]
    end = start + lengths[query]
    inside = (start >= 0) & (end <= limit)
    contig_ids, start, query, minus = (a[inside] for a in (contig_ids, start, query, minus))
    if not len(start):
        return query, contig_ids, start, minus
    offsets = np.array([c.offset for c in contigs], dtype=np.int64)[contig_ids]
    q_data, q_off = _buffers(seqs)
    same = np.zeros(len(query), dtype=bool)
    for rows, data, bounds in genome.iter_bytes(offsets + start, lengths[query], minus):
        same[rows] = _equal_to_queries(data, bounds, q_data, q_off, query[rows])
    return query[same], contig_ids[same], start[same], minus[same]


def _equal_to_queries(data: np.ndarray, bounds: np.ndarray, q_data: np.ndarray, q_off: np.ndarray,
                      query: np.ndarray) -> np.ndarray:
    """`data[bounds[i]:bounds[i + 1]] == query sequence query[i]` for each `i` (equal lengths, > 0), in numpy."""
    length = np.diff(bounds)
    at = np.repeat(q_off[query] - bounds[:-1], length) + np.arange(bounds[-1])
    return ~np.logical_or.reduceat(data != q_data[at], bounds[:-1])


# ------------------------------------------------------------------------------------------------ inputs


def read_queries(source: str, *, column: str = "sequence", id_column: str | None = "id", config: str | None = None,
                 split: str | None = None) -> tuple[np.ndarray, pa.Array]:
    """`(ids, sequences)` from a FASTA file, a Parquet/CSV/TSV file (a column), or a `datasets` dataset.

    Args:
        source: a FASTA (`.fa`, `.fasta`, `.fna`, optionally `.gz`), a `.parquet`, `.csv` or `.tsv`
            (optionally `.gz`) file, or anything `datasets.load_dataset` takes (a Hub id, a local folder).
        column: the sequence column (tables and datasets).
        id_column: the id column, when present (else ids are row numbers); FASTA ids are record names.
        config, split: the dataset's config and split (a dataset's splits are concatenated, in order,
            when `split` is None; ids are then `<split>/<id>`).
    """
    ids, sequences, _ = read_query_table(source, column=column, id_column=id_column, config=config, split=split)
    return ids, sequences


def read_query_table(source: str, *, column: str = "sequence", id_column: str | None = "id",
                     config: str | None = None, split: str | None = None,
                     ) -> tuple[np.ndarray, pa.Array, pd.DataFrame | None]:
    """`read_queries`, plus the input's columns aligned with the queries (what `write_locations` carries over).

    A table's columns are kept as they are (the sequence column included); a dataset's too, with each
    `ClassLabel` column as its class names and, when the dataset has no `split` column, a `split` column naming
    the split each row came from; a FASTA gives None (ids only, as before). So a located labelled table or
    dataset can be audited.
    """
    path = Path(source)
    if path.is_file():
        name = path.name.lower().removesuffix(".gz")
        if name.endswith((".fa", ".fasta", ".fna", ".fas")) or _starts_with_header(path):
            records = list(iter_fasta(path))
            ids = np.array([r[0] for r in records], dtype=object)
            return ids, _fasta_strings([r[1] for r in records]), None
    import pandas as pd  # a table or a dataset: kept as a DataFrame (a FASTA never needs pandas)

    if path.is_file():
        if name.endswith(".parquet"):
            frame = pd.read_parquet(path)
        elif name.endswith((".csv", ".tsv", ".txt")):
            frame = pd.read_csv(path, sep="\t" if name.endswith((".tsv", ".txt")) else ",", dtype=str,
                                keep_default_na=False)
        else:
            raise LocateError(f"{source}: unknown file type; give a FASTA, .parquet, .csv or .tsv (optionally .gz)")
        return (*_from_frame(frame, column, id_column, str(source)), frame.reset_index(drop=True))
    import datasets  # lazy: 2 s to import

    try:
        loaded = datasets.load_dataset(str(source), config, split=split)
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as err:
        raise LocateError(f"{source}: not a file and not a dataset `datasets.load_dataset` can load "
                          f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from err
    if isinstance(loaded, datasets.DatasetDict):
        parts = []
        for name, part in loaded.items():
            frame = _dataset_frame(part)
            if "split" not in frame.columns:
                frame["split"] = name
            ids, seqs = _from_frame(frame, column, id_column, f"{source}[{name}]")
            parts.append((np.array([f"{name}/{i}" for i in ids], dtype=object), seqs, frame))
        return (np.concatenate([p[0] for p in parts]), pa.concat_arrays([p[1] for p in parts]),
                pd.concat([p[2] for p in parts], ignore_index=True))
    frame = _dataset_frame(loaded)
    if split and "split" not in frame.columns:
        frame["split"] = split
    return (*_from_frame(frame, column, id_column, str(source)), frame)


def _fasta_strings(sequences: list[bytes]) -> pa.Array:
    """FASTA sequences as one Arrow string array; a byte outside ASCII reads as U+FFFD, as in `decode`."""
    if not all(s.isascii() for s in sequences):
        sequences = [s.decode("ascii", "replace").encode() for s in sequences]
    return _utf8_array(sequences)


def _utf8_array(chunks: list[bytes]) -> pa.Array:
    """A `large_string` array from UTF-8 bytes, built from its buffers: `pa.array` on Python strings imports
    pandas, a third of `gbhub locate`'s start-up."""
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in chunks], out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(chunks), pa.py_buffer(offsets), pa.py_buffer(b"".join(chunks)))


def _dataset_frame(part) -> pd.DataFrame:
    """A `datasets.Dataset` as a DataFrame, each `ClassLabel` column as its class names."""
    import datasets  # lazy: 2 s to import

    frame = part.to_pandas()
    for name, feature in part.features.items():
        if isinstance(feature, datasets.ClassLabel):
            frame[name] = np.asarray(feature.names, dtype=object)[frame[name].to_numpy(np.int64)]
    return frame


def _starts_with_header(path: Path) -> bool:
    import gzip

    with open(path, "rb") as probe:
        head = probe.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        return handle.read(1) == b">"


def _from_frame(frame: pd.DataFrame, column: str, id_column: str | None, source: str):
    if column not in frame.columns:
        raise LocateError(f"{source} has no column {column!r} (columns: {', '.join(map(str, frame.columns))}); "
                          "pass --column NAME")
    ids = (frame[id_column].astype(str).to_numpy(object) if id_column and id_column in frame.columns
           else np.arange(len(frame)).astype(str).astype(object))
    return ids, pa.array(frame[column].astype(str).tolist(), pa.large_string())


def write_locations(result: LocateResult, ids: np.ndarray, out: str | os.PathLike,
                    columns: pd.DataFrame | None = None) -> Path:
    """Write the per-query table (with ids) as `.csv`, `.tsv` or `.parquet`, or the `unique` ones as `.bed`.

    A `.bed` (or `.bed.gz`) is BED6 (`region start end id 0 strand`), sorted by contig then start: the input
    `gbhub create --class NAME=FILE.bed` takes, so a sequence-only dataset gets coordinates, chromosome
    splits and an audit. Ambiguous, unmapped and unsearchable queries have no coordinates and are left out
    (the table formats keep every query). Written atomically.

    `columns` (the input's columns, `read_query_table`) go into the table formats after `id`, in input order
    (label, split, sequence...), then `status, hits, region, start, end, strand`: the coordinate columns
    `gbhub audit` reads, which replace any of the same name in the input. Rows with no single locus have an
    empty region, start and end, and the audit leaves them out of its overlap and contig checks.

    Text written without `columns` (a FASTA's queries) goes through `csv` rather than pandas, with the same
    dialect (`QUOTE_MINIMAL`, `\\n`), so the bytes are those `DataFrame.to_csv` writes (tested).
    """
    import gzip

    from gbhub.builders.hub_layout import atomic_path

    out = Path(out)
    name = out.name.lower()
    with atomic_path(out) as tmp:
        if name.endswith((".bed", ".bed.gz")):
            rows = _bed_rows(result, ids)
            text = _csv_text(rows, "\t")
            Path(tmp).write_bytes(gzip.compress(text.encode(), mtime=0) if name.endswith(".gz") else text.encode())
        elif name.endswith(".parquet") or columns is not None:
            import pandas as pd

            frame = result.table.copy()
            if columns is not None:
                kept = columns.drop(columns=[c for c in columns.columns if c in frame.columns or c == "id"])
                frame = pd.concat([kept.reset_index(drop=True), frame], axis=1)
            frame.insert(0, "id", ids)
            if name.endswith(".parquet"):
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False, sep="\t" if name.endswith((".tsv", ".txt")) else ",")
        else:
            Path(tmp).write_text(table_text(result, ids, "\t" if name.endswith((".tsv", ".txt")) else ","),
                                 encoding="utf-8")
    return out


def table_text(result: LocateResult, ids: np.ndarray, sep: str = "\t") -> str:
    """The per-query table with ids as delimited text (header first): what `gbhub locate` prints with no `--out`."""
    return _csv_text([list(TABLE_COLUMNS), *result.text_rows(ids)], sep)


def _bed_rows(result: LocateResult, ids: np.ndarray) -> list[list[str]]:
    """BED6 rows of the `unique` queries, sorted by region, start, end (ties in input order)."""
    import re

    q = np.flatnonzero(result.status == "unique")
    region = result.region[q].astype(str)
    order = np.lexsort((result.end[q], result.start[q], region))
    q = q[order]
    names = [re.sub(r"\s+", "_", str(i)) for i in np.asarray(ids, dtype=object)[q]]
    return [[r, str(s), str(e), i, "0", st] for r, s, e, i, st in
            zip(result.region[q], result.start[q], result.end[q], names, result.strand[q])]


def _csv_text(rows: list[list[str]], sep: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


__all__ = ["COMPLEMENT_LUT", "LocateResult", "locate_sequences", "read_queries", "read_query_table", "table_text",
           "write_locations", "STATUSES", "TABLE_COLUMNS"]
