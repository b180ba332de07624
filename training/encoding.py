"""Vectorized DNA encoding: sequences -> padded uint8 token ids, one-hot tensors, reverse complements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: Token ids. A, C, G, T are 0..3 so that `3 - id` is the complement; every other letter (N, IUPAC
#: ambiguity codes, anything unexpected) is `N_ID`; positions past the end of a sequence are `PAD_ID`.
A_ID, C_ID, G_ID, T_ID, N_ID, PAD_ID = 0, 1, 2, 3, 4, 5
VOCAB = ("A", "C", "G", "T", "N", "[PAD]")
VOCAB_SIZE = len(VOCAB)

_LOOKUP = np.full(256, N_ID, dtype=np.uint8)
for _letter, _id in zip("ACGT", (A_ID, C_ID, G_ID, T_ID)):
    _LOOKUP[ord(_letter)] = _id
    _LOOKUP[ord(_letter.lower())] = _id

#: `_COMPLEMENT[id]` is the id of the complementary base (N and padding map to themselves).
_COMPLEMENT = np.array([T_ID, G_ID, C_ID, A_ID, N_ID, PAD_ID], dtype=np.uint8)


@dataclass
class EncodedSequences:
    """Sequences encoded into a right-padded id matrix.

    Attributes:
        ids: `(n, length)` uint8 token ids (`A_ID`..`N_ID`, `PAD_ID` after each sequence's end).
        lengths: `(n,)` int64 number of real (unpadded, uncropped) positions in each row.
        n_cropped: how many input sequences were longer than `length` and were cropped.
    """

    ids: np.ndarray
    lengths: np.ndarray
    n_cropped: int


def encode(sequences: Sequence[str], length: int | None = None) -> EncodedSequences:
    """Encode DNA strings into a right-padded `(n, length)` uint8 id matrix, without per-base Python loops.

    All sequences are joined into one byte buffer, mapped through a 256-entry lookup table and
    scattered into the padded matrix with one fancy-indexing assignment.

    Args:
        sequences: DNA strings (any case; letters other than ACGT become `N_ID`).
        length: width of the matrix; default the longest sequence. Longer sequences keep their first
            `length` bases (the caller decides whether that is allowed: see `n_cropped`).

    Returns:
        The id matrix, the kept length of each row and the number of cropped sequences.
    """
    n = len(sequences)
    raw_lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=n)
    width = int(raw_lengths.max(initial=0)) if length is None else int(length)
    if width < 1:
        raise ValueError(f"cannot encode to length {width}: expected a positive length")
    kept = np.minimum(raw_lengths, width)
    ids = np.full((n, width), PAD_ID, dtype=np.uint8)
    if n == 0:
        return EncodedSequences(ids, kept, 0)
    buffer = np.frombuffer("".join(sequences).encode("ascii", errors="replace"), dtype=np.uint8)
    tokens = _LOOKUP[buffer]
    if (raw_lengths == width).all():  # the common case (fixed-length benchmarks): a plain reshape
        return EncodedSequences(tokens.reshape(n, width), kept, 0)
    mask = np.arange(width)[None, :] < kept[:, None]  # row-major order == concatenation order
    if width >= raw_lengths.max():
        ids[mask] = tokens
    else:
        starts = np.repeat(np.cumsum(raw_lengths) - raw_lengths, kept)
        offsets = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
        ids[mask] = tokens[starts + offsets]
    return EncodedSequences(ids, kept, int((raw_lengths > width).sum()))


def reverse_complement_ids(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Reverse-complement each row of a right-padded id matrix, keeping the padding on the right.

    Args:
        ids: `(n, length)` token ids (numpy or torch integer tensor).
        lengths: `(n,)` number of real positions per row.

    Returns:
        `(n, length)` ids of the reverse-complement strands, same type as `ids`.
    """
    xp_ids = ids
    if not isinstance(ids, np.ndarray):  # torch tensor: same arithmetic through torch
        import torch

        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        lens = lengths.to(ids.device).unsqueeze(1)
        src = torch.where(pos < lens, lens - 1 - pos, pos)
        table = torch.as_tensor(_COMPLEMENT, device=ids.device).to(ids.dtype)
        return table[torch.gather(ids, 1, src).long()]
    pos = np.arange(ids.shape[1])[None, :]
    lens = np.asarray(lengths)[:, None]
    src = np.where(pos < lens, lens - 1 - pos, pos)
    return _COMPLEMENT[np.take_along_axis(xp_ids, src, axis=1)]


def one_hot(ids: np.ndarray) -> np.ndarray:
    """One-hot encode an id matrix channel-first.

    `A,C,G,T` are unit vectors, `N` is 0.25 in every channel (uniform over bases), padding is all zero.

    Args:
        ids: `(n, length)` token ids.

    Returns:
        `(n, 4, length)` float32 array.
    """
    table = np.zeros((VOCAB_SIZE, 4), dtype=np.float32)
    table[:4] = np.eye(4, dtype=np.float32)
    table[N_ID] = 0.25
    return np.ascontiguousarray(table[np.asarray(ids)].transpose(0, 2, 1))


def decode(ids: np.ndarray, lengths: np.ndarray | None = None) -> list[str]:
    """Turn an id matrix back into strings (inverse of `encode` for ACGTN input; padding dropped).

    Args:
        ids: `(n, length)` token ids.
        lengths: `(n,)` real lengths; default: up to the first `PAD_ID` of each row.
    """
    letters = np.frombuffer(b"ACGTN\0", dtype=np.uint8)[np.asarray(ids)]
    rows = [bytes(row).decode("ascii") for row in letters]
    if lengths is None:
        return [row.split("\0", 1)[0] for row in rows]
    return [row[: int(n)] for row, n in zip(rows, lengths)]
