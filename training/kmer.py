"""Overlapping k-mer tokenization of DNA straight to DNABERT vocabulary ids, vectorized in numpy."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError

if TYPE_CHECKING:  # transformers is imported lazily: `gbhub --help` must stay fast
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

#: Special tokens of every DNABERT vocabulary, in id order 0..4.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
#: Base order of the DNABERT vocabulary: k-mers follow `itertools.product(DNABERT_BASES, repeat=k)`.
DNABERT_BASES = "ATCG"
#: The k-mer sizes DNABERT was released with.
SUPPORTED_K = (3, 4, 5, 6)
#: Bases per chunk when encoding large collections (bounds peak memory to ~20 bytes per base of a chunk).
CHUNK_BASES = 1 << 24

# Byte -> base digit (A=0, T=1, C=2, G=3, in `DNABERT_BASES` order); any other byte -> 4 (invalid).
# Lower-case letters (soft-masked repeats) are the same base: ids equal the tokenizer's on `seq.upper()`.
_BASE_DIGIT = np.full(256, 4, dtype=np.uint8)
for _digit, _base in enumerate(DNABERT_BASES):
    _BASE_DIGIT[ord(_base)] = _digit
    _BASE_DIGIT[ord(_base.lower())] = _digit


class KmerTokenizationError(GBHubError, ValueError):
    """A k-mer size, vocabulary or tokenizer that cannot encode DNA as DNABERT k-mers."""


def dnabert_vocab(k: int) -> dict[str, int]:
    """The DNABERT-k vocabulary: `[PAD],[UNK],[CLS],[SEP],[MASK]`, then every k-mer of `ATCG`.

    Args:
        k: k-mer size, 3 to 6.

    Returns:
        Token -> id, `5 + 4**k` entries (4101 for k = 6), in the order of DNABERT's `vocab.txt`.
    """
    _check_k(k)
    tokens = list(SPECIAL_TOKENS) + ["".join(p) for p in itertools.product(DNABERT_BASES, repeat=k)]
    return {token: i for i, token in enumerate(tokens)}


def build_dnabert_tokenizer(k: int, model_max_length: int = 512) -> "PreTrainedTokenizerBase":
    """A `BertTokenizer` over the DNABERT-k vocabulary, built offline (no files needed).

    transformers 5 silently ignores `BertTokenizer(vocab_file=...)` (every token becomes `[UNK]`), so the
    vocabulary is passed as a dict; `do_lower_case=False` because the vocabulary is upper case.

    Args:
        k: k-mer size, 3 to 6.
        model_max_length: the tokenizer's default truncation length (the model's positions).
    """
    from transformers import BertTokenizer

    return BertTokenizer(vocab=dnabert_vocab(k), do_lower_case=False, model_max_length=model_max_length)


def kmer_string(sequence: str, k: int) -> str:
    """The naive DNABERT input text: overlapping k-mers of `sequence.upper()` joined by spaces.

    This is what DNABERT's own notebooks feed the tokenizer; :class:`KmerTokenizer` produces the same ids
    without building it. Used as the reference in tests and in `scripts/bench_tokenizer.py`.
    """
    sequence = sequence.upper()
    return " ".join(sequence[i : i + k] for i in range(len(sequence) - k + 1))


@dataclass(frozen=True)
class KmerIds:
    """Token ids of a batch of sequences, stored ragged (no special tokens, no padding).

    For overlapping k-mers (:meth:`KmerTokenizer.kmer_ids`) there is one slot per base; for any other
    tokenizer (`gbhub.training.tokenizers.DNATokenizer`) the sequences' tokens are simply concatenated.

    Attributes:
        ids: `(slots,)` the token ids; sequence `i`'s tokens are `ids[offsets[i] : offsets[i] + counts[i]]`
            (for k-mers, the slots whose k-mer would cross into the next sequence are never read).
        offsets: `(n,)` where sequence `i` starts in `ids`.
        counts: `(n,)` number of tokens of sequence `i` (k-mers: `max(len_i - k + 1, 0)`).
    """

    ids: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray


def frame_rows(
    tokens: KmerIds,
    sequence_index: np.ndarray,
    start: np.ndarray,
    count: np.ndarray,
    length: int,
    *,
    prefix: Sequence[int],
    suffix: Sequence[int],
    pad_id: int,
    dtype: np.dtype | type = np.int64,
) -> tuple[np.ndarray, np.ndarray]:
    """Assemble model inputs `prefix tokens suffix [PAD]…` from stretches of ragged token ids, vectorized.

    Row `r` holds tokens `start[r] .. start[r] + count[r] - 1` of sequence `sequence_index[r]`, framed by
    the tokenizer's special tokens (`[CLS]` … `[SEP]` for BERT; `<cls>` … for ESM) and right-padded.

    Args:
        tokens: ragged token ids (:class:`KmerIds`).
        sequence_index: `(rows,)` which sequence each row reads.
        start: `(rows,)` first token of each row, within its sequence.
        count: `(rows,)` tokens in each row; `count + len(prefix) + len(suffix) <= length`.
        length: row length in tokens, special tokens included.
        prefix: ids put before the tokens of every row.
        suffix: ids put right after the last token of every row.
        pad_id: id filling the rest of the row.
        dtype: integer dtype of the outputs.

    Returns:
        `input_ids` and `attention_mask`, both `(rows, length)`.

    Raises:
        KmerTokenizationError: a row does not fit in `length` tokens.
    """
    count = np.asarray(count, dtype=np.int64)
    n_special = len(prefix) + len(suffix)
    if len(count) and int(count.max()) + n_special > length:
        raise KmerTokenizationError(
            f"a row of {int(count.max())} tokens needs {int(count.max()) + n_special} positions with its special "
            f"tokens, more than length={length}"
        )
    n_rows = len(count)
    input_ids = np.full((n_rows, length), pad_id, dtype=dtype)
    input_ids[:, : len(prefix)] = np.asarray(prefix, dtype=dtype)
    body_width = length - n_special
    if body_width > 0 and n_rows:
        cols = np.arange(body_width)
        inside = cols[None, :] < count[:, None]
        src = tokens.offsets[sequence_index][:, None] + np.asarray(start)[:, None] + cols[None, :]
        np.minimum(src, max(len(tokens.ids) - 1, 0), out=src)
        body = tokens.ids[src] if len(tokens.ids) else np.zeros(src.shape, dtype=tokens.ids.dtype)
        input_ids[:, len(prefix) : len(prefix) + body_width] = np.where(inside, body, pad_id)
    rows = np.arange(n_rows)
    for j, token in enumerate(suffix):  # right after each row's last token
        input_ids[rows, len(prefix) + count + j] = token
    attention_mask = (np.arange(length)[None, :] < (count + n_special)[:, None]).astype(dtype)
    return input_ids, attention_mask


class KmerTokenizer:
    """Overlapping k-mer tokenizer that maps DNA straight to a BERT vocabulary's ids, in numpy.

    Proven (tests) to give the same `input_ids` and `attention_mask` as the checkpoint's own
    `BertTokenizer` on the space-joined k-mers (:func:`kmer_string`): `[CLS] kmer_1 … kmer_n [SEP]`, any
    k-mer containing a character other than `ACGT` (such as `N`) -> `[UNK]`, right truncation to
    `max_length` keeping `[SEP]`, right padding with `[PAD]` and attention mask 0.

    Args:
        vocab: token -> id; must hold the four special tokens `[PAD] [UNK] [CLS] [SEP]` and all `4**k`
            k-mers of `ACGT` (upper case), in any order.
        k: k-mer size; inferred from the vocabulary's k-mers when omitted.
    """

    def __init__(self, vocab: Mapping[str, int], k: int | None = None):
        if k is None:
            k = _infer_k(vocab)
        _check_k(k)
        missing = [t for t in SPECIAL_TOKENS[:4] if t not in vocab]
        if missing:
            raise KmerTokenizationError(
                f"the vocabulary lacks the special token(s) {', '.join(missing)}; expected a DNABERT "
                f"vocabulary ({', '.join(SPECIAL_TOKENS)} then the {4**k} {k}-mers)"
            )
        self.k = k
        self.num_special_tokens = 2  # [CLS] and [SEP] around every row
        self.pad_id = int(vocab["[PAD]"])
        self.unk_id = int(vocab["[UNK]"])
        self.cls_id = int(vocab["[CLS]"])
        self.sep_id = int(vocab["[SEP]"])
        self.vocab_size = max(vocab.values()) + 1
        # Lookup table: k-mer code (base digits of `DNABERT_BASES`, most significant first) -> vocab id.
        kmers = ["".join(p) for p in itertools.product(DNABERT_BASES, repeat=k)]
        absent = [kmer for kmer in kmers if kmer not in vocab]
        if absent:
            raise KmerTokenizationError(
                f"the vocabulary lacks {len(absent)} of the {len(kmers)} {k}-mers (e.g. {absent[0]!r}); "
                f"is this a DNABERT-{k} checkpoint? Pass the right --kmer, or a DNABERT k-mer model"
            )
        self._lut = np.array([vocab[kmer] for kmer in kmers], dtype=np.int32)
        # Compact storage of ids: int16 holds DNABERT's 4101 tokens (torch has no uint16 indexing before 2.3).
        self.id_dtype = np.dtype(np.int16 if self.vocab_size <= np.iinfo(np.int16).max + 1 else np.int32)

    @classmethod
    def dnabert(cls, k: int) -> "KmerTokenizer":
        """The tokenizer of the standard DNABERT-k vocabulary (:func:`dnabert_vocab`)."""
        return cls(dnabert_vocab(k), k)

    @classmethod
    def from_tokenizer(cls, tokenizer: "PreTrainedTokenizerBase", k: int | None = None) -> "KmerTokenizer":
        """The vectorized twin of a checkpoint's tokenizer (its vocabulary; `k` inferred when omitted).

        Raises:
            KmerTokenizationError: the tokenizer lower-cases its input (the k-mers are upper case) or
                its vocabulary is not a DNABERT k-mer vocabulary.
        """
        if getattr(tokenizer, "do_lower_case", False):
            raise KmerTokenizationError(
                f"{type(tokenizer).__name__} lower-cases its input, so every upper-case k-mer would be "
                "[UNK]; load it with do_lower_case=False"
            )
        return cls(tokenizer.get_vocab(), k)

    # ----------------------------------------------------------------------------------------------
    def kmer_ids(self, sequences: Sequence[str]) -> KmerIds:
        """Vocabulary ids of all overlapping k-mers of `sequences`, without padding (ragged).

        Args:
            sequences: `n` DNA strings (any case; characters other than ACGT make their k-mers `[UNK]`).

        Returns:
            :class:`KmerIds` with `ids` of shape `(total_bases,)` and `offsets`, `counts` of shape `(n,)`.
        """
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        offsets = np.zeros(len(sequences), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        counts = np.maximum(lengths - self.k + 1, 0)
        # One byte per character: anything non-ASCII becomes b"?" (an invalid base), keeping offsets.
        text = "".join(sequences).encode("ascii", errors="replace")
        digits = _BASE_DIGIT[np.frombuffer(text, dtype=np.uint8)]
        ids = np.full(len(digits), self.unk_id, dtype=self.id_dtype)
        n_windows = len(digits) - self.k + 1
        if n_windows > 0:
            code = np.zeros(n_windows, dtype=np.int32)
            for j in range(self.k):  # k passes over the array, never one per base
                code <<= 2
                code |= digits[j : j + n_windows] & 3
            invalid = np.zeros(len(digits) + 1, dtype=np.int32)
            np.cumsum(digits == 4, out=invalid[1:])
            clean = invalid[self.k :] == invalid[: n_windows]  # no invalid base inside the k-mer
            ids[:n_windows] = np.where(clean, self._lut[code], self.unk_id)
        return KmerIds(ids=ids, offsets=offsets, counts=counts)

    def token_counts(self, sequences: Sequence[str]) -> np.ndarray:
        """`(n,)` k-mers of each sequence, `max(len - k + 1, 0)`, known without tokenizing (windows)."""
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        return np.maximum(lengths - self.k + 1, 0)

    def token_ids(self, sequences: Sequence[str]) -> KmerIds:
        """The ragged token ids windows are cut from (:meth:`kmer_ids`)."""
        return self.kmer_ids(sequences)

    def rows(
        self,
        kmers: KmerIds,
        sequence_index: np.ndarray,
        start: np.ndarray,
        count: np.ndarray,
        length: int,
        dtype: np.dtype | type = np.int64,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Assemble model inputs `[CLS] k-mers [SEP] [PAD]…` from stretches of k-mers (:func:`frame_rows`).

        Row `r` holds k-mers `start[r] .. start[r] + count[r] - 1` of sequence `sequence_index[r]`.

        Args:
            kmers: the output of :meth:`kmer_ids`.
            sequence_index: `(rows,)` which sequence each row reads.
            start: `(rows,)` first k-mer of each row, within its sequence.
            count: `(rows,)` k-mers in each row; `count + 2 <= length`.
            length: row length in tokens, special tokens included.
            dtype: integer dtype of `input_ids`.

        Returns:
            `input_ids` and `attention_mask`, both `(rows, length)`.
        """
        return frame_rows(kmers, sequence_index, start, count, length, prefix=(self.cls_id,), suffix=(self.sep_id,),
                          pad_id=self.pad_id, dtype=dtype)

    def __call__(
        self,
        sequences: Sequence[str],
        max_length: int | None = 512,
        padding: str = "longest",
        truncation: bool = True,
        dtype: np.dtype | type = np.int64,
    ) -> dict[str, np.ndarray]:
        """Tokenize like `tokenizer([kmer_string(s) for s in sequences], ...)`, but vectorized.

        Args:
            sequences: `n` DNA strings.
            max_length: tokens per row including `[CLS]`/`[SEP]` (the model's positions, e.g. 512).
            padding: `"longest"` (pad to the longest row) or `"max_length"` (pad to `max_length`).
            truncation: keep the first `max_length - 2` k-mers of longer sequences; when False, a longer
                sequence is an error (split it into windows with `training.windows` instead).
            dtype: integer dtype of the outputs.

        Returns:
            `{"input_ids": (n, length), "attention_mask": (n, length)}`.
        """
        if padding not in ("longest", "max_length"):
            raise KmerTokenizationError(f"padding must be 'longest' or 'max_length', not {padding!r}")
        if max_length is not None and max_length < 2:
            raise KmerTokenizationError(f"max_length must leave room for [CLS] and [SEP], got {max_length}")
        if padding == "max_length" and max_length is None:
            raise KmerTokenizationError("padding='max_length' needs a max_length")
        parts = []
        for chunk in iter_chunks(sequences):
            kmers = self.kmer_ids(chunk)
            count = kmers.counts
            if max_length is not None and len(count) and int(count.max()) + 2 > max_length:
                if not truncation:
                    worst = int(np.argmax(count))
                    raise KmerTokenizationError(
                        f"a sequence of {len(chunk[worst])} bp gives {int(count[worst]) + 2} tokens, more "
                        f"than max_length={max_length}; pass truncation=True or split it into windows "
                        "(training.windows)"
                    )
                count = np.minimum(count, max_length - 2)
            parts.append((kmers, count))
        longest = max((int(c.max()) + 2 for _, c in parts if len(c)), default=2)
        length = max_length if padding == "max_length" else longest
        input_ids, attention_mask = [], []
        for kmers, count in parts:
            index = np.arange(len(count))
            ids, mask = self.rows(kmers, index, np.zeros_like(count), count, length, dtype)
            input_ids.append(ids)
            attention_mask.append(mask)
        if not input_ids:
            empty = np.zeros((0, length), dtype=dtype)
            return {"input_ids": empty, "attention_mask": empty.copy()}
        return {"input_ids": np.concatenate(input_ids), "attention_mask": np.concatenate(attention_mask)}


def iter_chunks(sequences: Sequence[str], max_bases: int = CHUNK_BASES) -> Iterator[Sequence[str]]:
    """Consecutive slices of `sequences` holding about `max_bases` bases each (at least one sequence)."""
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    ends = np.cumsum(lengths)
    start = 0
    while start < len(sequences):
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + max_bases, side="right"))
        stop = max(stop, start + 1)
        yield sequences[start:stop]
        start = stop


def _check_k(k: int) -> None:
    if k not in SUPPORTED_K:
        raise KmerTokenizationError(
            f"k-mer size must be one of {', '.join(map(str, SUPPORTED_K))} (the DNABERT checkpoints), got {k}"
        )


def _infer_k(vocab: Mapping[str, int]) -> int:
    """The k of a DNABERT vocabulary: the length shared by its ACGT-only tokens."""
    sizes = {len(t) for t in vocab if t and set(t) <= set(DNABERT_BASES)}
    if len(sizes) != 1:
        raise KmerTokenizationError(
            f"cannot infer the k-mer size from a vocabulary of {len(vocab)} tokens (ACGT-token lengths "
            f"{sorted(sizes) or 'none'}); expected a DNABERT-k vocabulary of 5 + 4**k tokens; pass k"
        )
    return sizes.pop()
