"""Windows over sequences (k-mer windows for tokenized models, bp windows for one-hot ones) and per-sequence
aggregation of window outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError
from gbhub.builders.windows import WindowError, region_of, tile_offsets
from gbhub.training import encoding
from gbhub.training.kmer import KmerIds, iter_chunks

#: How a sequence longer than the model's positions is handled (`--long-sequences windows` -> `mean`).
#: `mean`: cover it with overlapping windows, predict each, average the logits per sequence.
#: `truncate`: keep the first window only (what the tokenizer's truncation would do).
LONG_SEQUENCE_STRATEGIES = ("mean", "truncate")
#: How window outputs become a sequence's: `mean` of the logits, or `max` (the window with the highest
#: probability of class 1, the DeepEnhancer paper's region score; per-class maxima for more classes).
AGGREGATIONS = ("mean", "max")


class WindowingError(GBHubError, ValueError):
    """Window sizes, strides or logits that do not fit the sequences they are applied to."""


@dataclass(frozen=True)
class WindowPlan:
    """Which stretch of which sequence each window covers.

    In a token plan (`plan_token_windows`, `plan_windows`) positions count tokens of the model's tokenizer
    (for overlapping k-mers one token starts at each base, so token positions are base positions); in a bp
    plan (`plan_bp_windows`, `strategy` `"bp"`) they count bases, and `start` may be negative or reach past
    the sequence's end (the window holds padding there). Windows are ordered by sequence, then by position,
    so a sequence's windows are contiguous.

    Attributes:
        sequence_index: `(n_windows,)` the sequence each window belongs to.
        start: `(n_windows,)` first token of the window (k-mers: its bases are `seq[start : start + count + k - 1]`),
            or, in a bp plan, its first base (`seq[start : start + count]`, padding outside the sequence).
        count: `(n_windows,)` tokens in the window (at most the window size, e.g. `max_length - 2`), or its
            width in bp.
        n_sequences: number of sequences planned.
        strategy: the long-sequence strategy the plan implements (`mean`, `truncate`; `bp` for bp plans;
            `rows` when the rows already are windows, grouped by region: `start` and `count` are 0 there).
    """

    sequence_index: np.ndarray
    start: np.ndarray
    count: np.ndarray
    n_sequences: int
    strategy: str

    def __len__(self) -> int:
        return len(self.sequence_index)

    @property
    def windows_per_sequence(self) -> np.ndarray:
        """`(n_sequences,)` number of windows of each sequence."""
        return np.bincount(self.sequence_index, minlength=self.n_sequences)


def default_stride(max_length: int, special_tokens: int = 2) -> int:
    """Half a window: `(max_length - special_tokens) // 2` tokens, i.e. consecutive windows overlap by half."""
    return max(1, (max_length - special_tokens) // 2)


def count_windows(n_kmers: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Windows needed to cover sequences of `n_kmers` k-mers: `1 + ceil(max(n - window, 0) / stride)`.

    Args:
        n_kmers: `(n,)` k-mers per sequence (`length_bp - k + 1`, at least 0).
        window: k-mers per window (`max_length - 2`: `[CLS]` and `[SEP]` take two positions).
        stride: k-mers (= bases) between the starts of consecutive windows.
    """
    n_kmers = np.asarray(n_kmers, dtype=np.int64)
    return 1 + -(-np.maximum(n_kmers - window, 0) // stride)


def plan_windows(
    lengths: Sequence[int] | np.ndarray,
    k: int,
    max_length: int = 512,
    stride: int | None = None,
    strategy: str = "mean",
) -> WindowPlan:
    """Plan the windows of sequences of `lengths` bp for a k-mer model of `max_length` token positions.

    A sequence of `L` bp has `n = max(L - k + 1, 0)` overlapping k-mers; a window holds
    `w = max_length - 2` of them (`w + k - 1` bp). With `stride` `s` (default `w // 2`), the `mean`
    strategy gives

        n_windows = 1                        if n <= w
                  = 1 + ceil((n - w) / s)    otherwise,

    window `i` starting at k-mer `min(i * s, n - w)`: the last window ends flush with the sequence, so every
    base is seen. Example: 2,000 bp, k = 6, max_length = 512 -> n = 1995, w = 510, s = 255 ->
    `1 + ceil(1485 / 255) = 7` windows. The `truncate` strategy gives one window per sequence, the first
    `min(n, w)` k-mers (what the tokenizer's truncation keeps).

    Args:
        lengths: `(n_sequences,)` sequence lengths in bp.
        k: k-mer size.
        max_length: tokens per window including `[CLS]` and `[SEP]` (at most the model's positions).
        stride: k-mers between window starts, `1 <= stride <= max_length - 2`.
        strategy: one of :data:`LONG_SEQUENCE_STRATEGIES`.

    Returns:
        The :class:`WindowPlan`.
    """
    if max_length < 3:
        raise WindowingError(f"max_length must hold [CLS], one k-mer and [SEP] (>= 3), got {max_length}")
    n_kmers = np.maximum(np.asarray(lengths, dtype=np.int64) - k + 1, 0)
    return plan_token_windows(n_kmers, max_length - 2, stride, strategy)


def plan_token_windows(
    n_tokens: Sequence[int] | np.ndarray,
    window: int,
    stride: int | None = None,
    strategy: str = "mean",
) -> WindowPlan:
    """Plan windows of at most `window` tokens over sequences of `n_tokens` tokens (any tokenizer).

    The same rule as :func:`plan_windows`, in tokens: `1 + ceil((n - window) / stride)` windows for a
    sequence of `n > window` tokens, the last one flush with its end; one window (the first `window`
    tokens) per sequence with `strategy="truncate"`.

    Args:
        n_tokens: `(n_sequences,)` tokens of each sequence, special tokens excluded.
        window: tokens per window, special tokens excluded (the model's positions minus them).
        stride: tokens between window starts, `1 <= stride <= window` (default `window // 2`).
        strategy: one of :data:`LONG_SEQUENCE_STRATEGIES`.

    Returns:
        The :class:`WindowPlan`.
    """
    if strategy not in LONG_SEQUENCE_STRATEGIES:
        raise WindowingError(
            f"unknown long-sequence strategy {strategy!r}; expected one of {', '.join(LONG_SEQUENCE_STRATEGIES)}"
        )
    if window < 1:
        raise WindowingError(f"a window must hold at least one token besides the special tokens, got {window}")
    stride = max(1, window // 2) if stride is None else int(stride)
    if not 1 <= stride <= window:
        raise WindowingError(
            f"stride must be between 1 and the window's {window} tokens, got {stride}; a larger stride would "
            "skip bases"
        )
    n_tokens = np.asarray(n_tokens, dtype=np.int64)
    n_seq = len(n_tokens)
    if strategy == "truncate":
        per_seq = np.ones(n_seq, dtype=np.int64)
    else:
        per_seq = count_windows(n_tokens, window, stride)
    sequence_index = np.repeat(np.arange(n_seq, dtype=np.int64), per_seq)
    first = np.cumsum(per_seq) - per_seq  # index of each sequence's first window
    i = np.arange(len(sequence_index), dtype=np.int64) - first[sequence_index]
    last_start = np.maximum(n_tokens - window, 0)[sequence_index]
    start = np.minimum(i * stride, last_start)
    count = np.minimum(n_tokens[sequence_index], window)
    return WindowPlan(sequence_index, start, count, n_seq, strategy)


class WindowTokenizer(Protocol):
    """What :func:`encode_windows` needs of a tokenizer (`KmerTokenizer`, `tokenizers.DNATokenizer`).

    Attributes:
        num_special_tokens: tokens framing every row (2 for `[CLS]` … `[SEP]`).
    """

    num_special_tokens: int

    def token_counts(self, sequences: Sequence[str]) -> np.ndarray | None:
        """`(n,)` tokens of each sequence when known without tokenizing (k-mers), else None."""

    def token_ids(self, sequences: Sequence[str]) -> KmerIds:
        """Ragged token ids of `sequences`, no special tokens."""

    def rows(self, tokens: KmerIds, sequence_index: np.ndarray, start: np.ndarray, count: np.ndarray, length: int,
             dtype: np.dtype | type = np.int64) -> tuple[np.ndarray, np.ndarray]:
        """Framed, padded rows `(input_ids, attention_mask)` of stretches of `tokens`."""


@dataclass(frozen=True)
class WindowedEncoding:
    """Model inputs of every window, and the plan mapping windows back to sequences.

    Attributes:
        input_ids: `(n_windows, length)` token ids (`[CLS] k-mers [SEP] [PAD]…`).
        attention_mask: `(n_windows, length)` 1 on real tokens, 0 on padding.
        plan: the :class:`WindowPlan` (window -> sequence).
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    plan: WindowPlan


def encode_windows(
    tokenizer: WindowTokenizer,
    sequences: Sequence[str],
    max_length: int = 512,
    stride: int | None = None,
    strategy: str = "mean",
    dtype: np.dtype | type = np.int64,
) -> WindowedEncoding:
    """Split `sequences` into windows of tokens (:func:`plan_token_windows`) and frame each, vectorized.

    Rows are padded to the longest window (at most `max_length`). With `strategy="truncate"` the result
    equals the tokenizer's own `tokenizer(sequences, max_length=max_length, truncation=True)`.

    Args:
        tokenizer: the checkpoint's tokenizer (a `KmerTokenizer`, or `tokenizers.DNATokenizer` for any).
        sequences: `n_sequences` DNA strings.
        max_length: tokens per window including the special tokens (at most the model's positions).
        stride: tokens between window starts (default half a window; for k-mers, tokens = bp).
        strategy: `mean` (all windows) or `truncate` (first window only).
        dtype: integer dtype of the outputs (the smallest that holds the vocabulary saves memory).
    """
    window = max_length - tokenizer.num_special_tokens
    counts = tokenizer.token_counts(sequences)
    tokenized = None
    if counts is None:  # a learned tokenizer: token counts are known only after tokenizing (kept for the rows)
        tokenized = [tokenizer.token_ids(chunk) for chunk in iter_chunks(sequences)]
        counts = np.concatenate([t.counts for t in tokenized]) if tokenized else np.zeros(0, np.int64)
    plan = plan_token_windows(counts, window, stride, strategy)
    length = int(plan.count.max()) + tokenizer.num_special_tokens if len(plan) else tokenizer.num_special_tokens
    input_ids = np.empty((len(plan), length), dtype=dtype)
    attention_mask = np.empty((len(plan), length), dtype=dtype)
    first_seq = 0
    for j, chunk in enumerate(iter_chunks(sequences)):
        tokens = tokenized[j] if tokenized is not None else tokenizer.token_ids(chunk)
        lo, hi = np.searchsorted(plan.sequence_index, [first_seq, first_seq + len(chunk)])
        ids, mask = tokenizer.rows(
            tokens, plan.sequence_index[lo:hi] - first_seq, plan.start[lo:hi], plan.count[lo:hi], length, dtype
        )
        input_ids[lo:hi] = ids
        attention_mask[lo:hi] = mask
        first_seq += len(chunk)
    return WindowedEncoding(input_ids, attention_mask, plan)


def aggregate_logits(logits: np.ndarray, plan: WindowPlan, method: str = "mean") -> np.ndarray:
    """Combine window logits into one row per sequence.

    Args:
        logits: `(n_windows, n_classes)` window logits, in plan order.
        plan: the plan the windows came from.
        method: `mean` averages the logits of a sequence's windows. `max` is the DeepEnhancer paper's region
            score, the maximum over its windows: with two classes the sequence takes the logits of its window
            with the highest probability of class 1 (so its class-1 probability is that maximum); with more
            classes each class gets its maximum probability over the windows (returned as log-probabilities,
            which a softmax renormalises). A sequence with one window keeps that window's logits either way.

    Returns:
        `(n_sequences, n_classes)` logits.
    """
    logits = np.asarray(logits)
    if logits.ndim != 2 or len(logits) != len(plan):
        raise WindowingError(
            f"expected logits of shape (n_windows={len(plan)}, n_classes), got {logits.shape}; predict "
            "on the windows of the same plan, in order"
        )
    if method not in AGGREGATIONS:
        raise WindowingError(f"unknown aggregation {method!r}; expected one of {', '.join(AGGREGATIONS)}")
    per_seq = plan.windows_per_sequence
    if np.any(per_seq == 0):
        raise WindowingError(f"{int(np.sum(per_seq == 0))} sequence(s) have no window in the plan")
    dtype = logits.dtype if logits.dtype.kind == "f" else np.float64
    values = logits.astype(np.float64)
    if method == "max" and values.shape[1] == 2:
        margin = values[:, 1] - values[:, 0]  # log-odds of class 1: its probability's order
        order = np.lexsort((-margin, plan.sequence_index))  # by sequence, then the highest margin first
        first = np.cumsum(per_seq) - per_seq
        return values[order[first]].astype(dtype)
    if method == "max":
        log_probs = values - values.max(axis=1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
        best = np.full((plan.n_sequences, values.shape[1]), -np.inf)
        np.maximum.at(best, plan.sequence_index, log_probs)
        return best.astype(dtype)
    sums = np.zeros((plan.n_sequences, values.shape[1]), dtype=np.float64)
    np.add.at(sums, plan.sequence_index, values)
    return (sums / per_seq[:, None]).astype(dtype)


# ------------------------------------------------------------------------------------------ bp windows


def plan_bp_windows(
    lengths: Sequence[int] | np.ndarray,
    width: int,
    stride: int = 2,
    *,
    max_windows: int | None = None,
    short: str = "start",
    long: str = "windows",
) -> WindowPlan:
    """Plan `width`-bp windows over sequences of `lengths` bp (`gbhub.builders.windows.tile_offsets`).

    A sequence of at least `width` bp is tiled every `stride` bp, the last window flush with its end. A
    shorter one is covered by the `short` policy, with padding where a genome would have flanks: `start`
    (one window, the sequence at its start, padding on the right), `center` (one window, padding on both
    sides), `contain` (every placement of the whole sequence in the window, at the stride) or `overlap`
    (every window sharing a base with it). Example: 500 bp, width 300, stride 2 -> 101 windows at
    0, 2, ..., 200; with `max_windows=3`: 0, 100, 200.

    Args:
        lengths: `(n_sequences,)` sequence lengths in bp.
        width: window width in bp (the model's input length).
        stride: bp between window starts.
        max_windows: at most this many windows per sequence, evenly spaced (None: all).
        short: policy for sequences shorter than `width` (`gbhub.builders.windows.SHORT_POLICIES`).
        long: `windows` (tile) or `truncate` (the first window only) for sequences longer than `width`.

    Returns:
        A bp :class:`WindowPlan` (`strategy` `"bp"`, `count` = `width`).

    Raises:
        WindowingError: a width, stride, cap or policy that cannot be used.
    """
    if long not in ("windows", "truncate"):
        raise WindowingError(f"long must be windows or truncate, got {long!r}")
    try:
        index, start = tile_offsets(lengths, width, stride, max_windows=max_windows, short=short)
    except WindowError as err:
        raise WindowingError(str(err)) from None
    n_sequences = len(np.asarray(lengths))
    if long == "truncate":  # a longer sequence keeps its first window (offset 0, always kept by the cap)
        keep = (np.asarray(lengths, dtype=np.int64)[index] < width) | (start == 0)
        index, start = index[keep], start[keep]
    return WindowPlan(index, start, np.full(len(index), width, dtype=np.int64), n_sequences, "bp")


def encode_bp_windows(sequences: Sequence[str], plan: WindowPlan, chunk: int = 4096) -> np.ndarray:
    """Token ids of every window of a bp plan: `(n_windows, width)` uint8, `PAD_ID` outside the sequence.

    Vectorized per chunk of sequences (`gbhub.training.encoding.encode`, then one gather), so memory
    stays at a chunk's padded matrix plus the output.

    Args:
        sequences: the `n_sequences` DNA strings the plan was made for.
        plan: a bp plan (`plan_bp_windows`) of those sequences.
        chunk: sequences encoded at once.
    """
    if plan.strategy != "bp":
        raise WindowingError(f"encode_bp_windows needs a bp plan (plan_bp_windows), got a {plan.strategy!r} plan")
    if len(sequences) != plan.n_sequences:
        raise WindowingError(f"the plan was made for {plan.n_sequences} sequences, got {len(sequences)}")
    width = int(plan.count[0]) if len(plan) else 1
    out = np.full((len(plan), width), encoding.PAD_ID, dtype=np.uint8)
    offsets = np.arange(width, dtype=np.int64)
    for lo in range(0, len(sequences), chunk):
        part = list(sequences[lo : lo + chunk])
        enc = encoding.encode(part, max(1, max(map(len, part), default=1)))
        w_lo, w_hi = np.searchsorted(plan.sequence_index, [lo, lo + len(part)])
        rows = plan.sequence_index[w_lo:w_hi] - lo
        pos = plan.start[w_lo:w_hi, None] + offsets[None, :]
        inside = (pos >= 0) & (pos < enc.lengths[rows][:, None])
        gathered = enc.ids[rows[:, None], np.clip(pos, 0, enc.ids.shape[1] - 1)]
        out[w_lo:w_hi] = np.where(inside, gathered, encoding.PAD_ID)
    return out


def plan_from_window_ids(row_ids: Sequence[str]) -> tuple[WindowPlan, list[str]]:
    """The plan of rows that already are windows (`gbhub build --windows-bp`), grouped by region.

    Args:
        row_ids: `<region id>@w<k>` of each row.

    Returns:
        `(plan, region_ids)`: `plan.sequence_index[i]` is the region of row `i` (regions numbered in order of
        first appearance; a region's rows need not be contiguous), and the regions' ids.

    Raises:
        WindowingError: an id that is not a window id.
    """
    import pandas as pd

    try:
        regions = region_of(row_ids)
    except WindowError as err:
        raise WindowingError(str(err)) from None
    codes, uniques = pd.factorize(pd.Series(regions, dtype=object), sort=False)
    index = np.asarray(codes, dtype=np.int64)
    return WindowPlan(index, np.zeros(len(index), np.int64), np.zeros(len(index), np.int64), len(uniques), "rows"), \
        [str(u) for u in uniques]
