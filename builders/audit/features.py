"""Sequence features the shortcut probes read: length, base, dinucleotide and k-mer counts, letters, positions."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import pyarrow as pa

from gbhub.builders.audit.common import BASE_CODES, encoded_chunks, lengths, string_buffers

BASES = "ACGT"
DINUCLEOTIDES = tuple("".join(p) for p in product(BASES, repeat=2))
SPECTRUM_K = 4
ABSENT = 5  # position code past the end of a sequence (0-3: A C G T, 4: any other letter)


@dataclass
class SequenceFeatures:
    """Per-row counts of every sequence, computed once for all probes.

    Attributes:
        length: `(n,)` sequence length (bp).
        bases: `(n, 4)` counts of A, C, G, T.
        n: `(n,)` count of `N`.
        other: `(n,)` count of letters that are neither A/C/G/T nor N (IUPAC codes, lower case, anything else).
        dinucleotides: `(n, 16)` counts of the 16 dinucleotides of A/C/G/T (`DINUCLEOTIDES` order).
        spectrum: `(n, 4**SPECTRUM_K)` int32 counts of the k-mers of A/C/G/T, k = `SPECTRUM_K`, in 2-bit order.
        letters: `(n,)` the letters other than A/C/G/T a sequence holds, sorted (`""` for most).
    """

    length: np.ndarray
    bases: np.ndarray
    n: np.ndarray
    other: np.ndarray
    dinucleotides: np.ndarray
    spectrum: np.ndarray
    letters: np.ndarray

    def base_fractions(self) -> np.ndarray:
        """`(n, 4)` share of each of A, C, G, T among the A/C/G/T bases (0.25 each without any)."""
        total = self.bases.sum(axis=1, keepdims=True)
        return np.divide(self.bases, total, out=np.full(self.bases.shape, 0.25), where=total > 0)

    def gc(self) -> np.ndarray:
        """`(n,)` GC share of the A/C/G/T bases (0.5 without any)."""
        total = self.bases.sum(axis=1)
        return np.divide(self.bases[:, 1] + self.bases[:, 2], total, out=np.full(len(total), 0.5), where=total > 0)

    def dinucleotide_fractions(self) -> np.ndarray:
        """`(n, 16)` share of each dinucleotide among the dinucleotides of A/C/G/T (1/16 each without any)."""
        total = self.dinucleotides.sum(axis=1, keepdims=True)
        return np.divide(self.dinucleotides, total, out=np.full(self.dinucleotides.shape, 1 / 16), where=total > 0)

    def spectrum_fractions(self, rows: np.ndarray | None = None) -> np.ndarray:
        """`(len(rows), 4**k)` float32 k-mer shares of `rows` (all rows by default)."""
        counts = self.spectrum if rows is None else self.spectrum[rows]
        total = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, total, out=np.zeros(counts.shape, np.float32), where=total > 0).astype(np.float32)


def _window_counts(code: np.ndarray, bad: np.ndarray, chunk, k: int, m: int) -> np.ndarray:
    """`(m, 4**k)` counts of the A/C/G/T k-mers of each sequence of an encoded chunk, from the window codes."""
    n = len(code)
    keep = chunk.windows_within(k)[:n] & ~bad
    return np.bincount(chunk.row[:n][keep] * 4**k + code[keep], minlength=(m + 1) * 4**k).reshape(m + 1, 4**k)[:m]


def _codes(c: np.ndarray, k: int, pieces: dict) -> tuple[np.ndarray, np.ndarray]:
    """2-bit codes of the k-mer at each position and whether it holds a non-A/C/G/T letter, built from the codes
    of half-length windows (`pieces` caches them by length)."""
    if k not in pieces:
        if k == 1:
            pieces[1] = ((c & 3).astype(np.int64), c == 4)
        else:
            half = k // 2
            (a, bad_a), (b, bad_b) = _codes(c, half, pieces), _codes(c, k - half, pieces)
            n = len(c) - k + 1
            pieces[k] = (a[:n] * 4 ** (k - half) + b[half : half + n], bad_a[:n] | bad_b[half : half + n])
    return pieces[k]


def sequence_features(sequences: pa.Array, *, spectrum_k: int = SPECTRUM_K) -> SequenceFeatures:
    """Count the features of every sequence, vectorized over chunks of bases (bounded memory)."""
    n = len(sequences)
    bases = np.zeros((n, 5), dtype=np.int64)
    dinucleotides = np.zeros((n, 16), dtype=np.int64)
    spectrum = np.zeros((n, 4**spectrum_k), dtype=np.int32)  # 289,061 x 256 rows: 0.3 GB, not 0.6
    for chunk in encoded_chunks(sequences, max_bases=1 << 21, pad=max(2, spectrum_k)):
        m = chunk.hi - chunk.lo
        bases[chunk.lo : chunk.hi] = np.bincount(chunk.row * 5 + chunk.codes, minlength=(m + 1) * 5).reshape(m + 1, 5)[:m]
        pieces: dict = {}
        dinucleotides[chunk.lo : chunk.hi] = _window_counts(*_codes(chunk.codes, 2, pieces), chunk, 2, m)
        spectrum[chunk.lo : chunk.hi] = _window_counts(*_codes(chunk.codes, spectrum_k, pieces), chunk, spectrum_k, m)
    data, offsets = string_buffers(sequences)
    lo = int(offsets[0]) if len(offsets) else 0
    raw = data[lo : int(offsets[-1])] if len(offsets) else data[:0]
    is_n = raw == ord("N")
    row_of = np.repeat(np.arange(n), np.diff(offsets)) if n else np.zeros(0, np.int64)
    n_count = np.bincount(row_of[is_n], minlength=n)
    odd = np.flatnonzero((BASE_CODES[raw] == 4) & ~is_n)
    letters = np.full(n, "", dtype=object)
    if odd.size:  # rare: group the (row, letter) pairs of letters other than A/C/G/T/N
        pairs = np.unique(row_of[odd] * 256 + raw[odd])
        rows, codes = pairs // 256, pairs % 256
        for r in np.unique(rows):
            letters[r] = "".join(chr(x) for x in sorted(codes[rows == r]))
    with_n = n_count > 0
    letters[with_n] = np.array(["".join(sorted("N" + s)) for s in letters[with_n]], dtype=object)
    return SequenceFeatures(
        length=lengths(sequences).astype(np.int64),
        bases=bases[:, :4],
        n=n_count.astype(np.int64),
        other=(bases[:, 4] - n_count).astype(np.int64),
        dinucleotides=dinucleotides,
        spectrum=spectrum,
        letters=letters,
    )


def position_codes(sequences: pa.Array, positions: int, *, from_end: bool = False) -> np.ndarray:
    """`(n, positions)` uint8 code of the base at each position (0-3: A C G T, 4: other letter, `ABSENT`: past the
    end), counted from the first base, or from the last one when `from_end` (column 0 is then the last base)."""
    data, offsets = string_buffers(sequences)
    n = len(offsets) - 1
    out = np.full((n, positions), ABSENT, dtype=np.uint8)
    if not n or not positions:
        return out
    length = np.diff(offsets)
    step = max(1, (1 << 22) // positions)  # rows per block: bounded index matrices
    p = np.arange(positions)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        has = p[None, :] < length[lo:hi, None]
        index = (offsets[lo + 1 : hi + 1, None] - 1 - p) if from_end else (offsets[lo:hi, None] + p)
        block = out[lo:hi]
        block[has] = BASE_CODES[data[index[has]]]
    return out
