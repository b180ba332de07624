"""`DNATokenizer`: raw DNA in, any checkpoint's input ids out, for `datasets.map`, the `Trainer` and windows.

Two tokenizations, chosen from the checkpoint's vocabulary (`tokenization="auto"`) or forced:

* `kmer`: a DNABERT-style vocabulary (`[PAD] [UNK] [CLS] [SEP] [MASK]` and all `4**k` k-mers of one k).
  The checkpoint's tokenizer expects space-separated overlapping k-mers; here they are computed in numpy
  from the raw sequence (`gbhub.training.kmer.KmerTokenizer`), checked equal to the tokenizer's own ids.
* `native`: any other tokenizer (Nucleotide Transformer's non-overlapping 6-mers, character-level,
  BPE such as DNABERT-2's): the checkpoint's own tokenizer on the upper-cased sequence.

Example (the `Trainer` pads each batch through the collator; metrics from the project's `evaluate` module)::

    from transformers import DataCollatorWithPadding
    from gbhub.training.tokenizers import DNATokenizer

    tokenizer = DNATokenizer.from_pretrained("zhihan1996/DNA_bert_6")   # overlapping 6-mers, 512 tokens
    tokenized = ds.map(tokenizer, batched=True)          # reads the `sequence` column, adds input_ids
    collator = DataCollatorWithPadding(tokenizer)

Sequences longer than `model_max_length` tokens are truncated by `__call__`; `encode_windows` splits them
into overlapping windows instead (what `gbhub train` does with `--long-sequences windows`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError
from gbhub.training.kmer import (
    SPECIAL_TOKENS,
    SUPPORTED_K,
    KmerIds,
    KmerTokenizationError,
    KmerTokenizer,
    build_dnabert_tokenizer,
    frame_rows,
    kmer_string,
)
from gbhub.training.windows import WindowedEncoding, encode_windows

if TYPE_CHECKING:  # transformers is imported lazily: `gbhub --help` must stay fast
    from transformers import BatchEncoding, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

#: `tokenization=` values: `auto` picks `kmer` for a DNABERT k-mer vocabulary and `native` otherwise.
TOKENIZATIONS = ("auto", "kmer", "native")
#: A `model_max_length` above this is transformers' "no limit" placeholder (about 1e30).
_NO_LIMIT = 10**9
_PROBES = ("ACGTACGTAC", "GATTACAN", "TTTTTTTTTTTTTTTTTTTTGCA")


class TokenizerLoadError(GBHubError, ValueError):
    """A checkpoint's tokenizer that cannot be loaded, or cannot encode DNA."""


def hub_kwargs(trust_remote_code: bool) -> dict[str, bool]:
    """`from_pretrained` keyword arguments: `trust_remote_code=True` only when asked, never passed otherwise."""
    return {"trust_remote_code": True} if trust_remote_code else {}


def sane_max_length(tokenizer) -> int | None:
    """The tokenizer's `model_max_length`, or None when it is transformers' "no limit" placeholder."""
    value = getattr(tokenizer, "model_max_length", None)
    return int(value) if value is not None and 0 < value < _NO_LIMIT else None


def is_kmer_vocabulary(vocab: Mapping[str, int]) -> bool:
    """True for a DNABERT vocabulary: the BERT special tokens and all `4**k` k-mers of one `k` in 3..6.

    Nucleotide Transformer's vocabulary (every 6-mer *and* single bases, `<pad>`-style specials) and BPE
    vocabularies are not: their tokenizers read the raw sequence.
    """
    if any(t not in vocab for t in SPECIAL_TOKENS[:4]):
        return False
    sizes = {len(t) for t in vocab if t and set(t) <= set("ACGT")}
    if len(sizes) != 1:
        return False
    k = sizes.pop()
    return k in SUPPORTED_K and sum(1 for t in vocab if len(t) == k and set(t) <= set("ACGT")) == 4**k


class DNATokenizer:
    """Raw DNA sequences -> a checkpoint's `input_ids`, usable where a transformers tokenizer is.

    Works with `datasets.Dataset.map(tokenizer, batched=True)` (a batch's `sequence` column in,
    `input_ids` and `attention_mask` out, unpadded), with `transformers.DataCollatorWithPadding(tokenizer)`
    (`pad` is the checkpoint tokenizer's), and as the `Trainer`'s `processing_class` (`save_pretrained`
    writes the checkpoint tokenizer's own files, so `AutoTokenizer` reloads them without this package).
    Any other attribute (`pad_token_id`, `model_input_names`, `vocab_size`...) is the checkpoint
    tokenizer's. Build it with :meth:`from_pretrained`.

    Args:
        tokenizer: the checkpoint's transformers tokenizer.
        kmer: its vectorized k-mer twin for a DNABERT vocabulary (`kmer` tokenization), else None.
        max_length: tokens per input including special tokens (truncation length; None: no limit).
        source: where the vocabulary came from (for model cards).

    Raises:
        TokenizerLoadError: a `native` tokenizer without a pad token, that maps DNA to unknown tokens
            only, or whose special tokens are not a fixed prefix/suffix of every input.
    """

    def __init__(self, tokenizer: "PreTrainedTokenizerBase", kmer: KmerTokenizer | None = None,
                 max_length: int | None = None, source: str = ""):
        self.tokenizer = tokenizer
        self.kmer = kmer
        self.max_length = max_length if max_length is not None else sane_max_length(tokenizer)
        self.source = source or f"{type(tokenizer).__name__}, {len(tokenizer)} tokens"
        if kmer is not None:
            self.prefix, self.suffix, self.pad_id = (kmer.cls_id,), (kmer.sep_id,), kmer.pad_id
            self.id_dtype = kmer.id_dtype
        else:
            self.prefix, self.suffix = special_frame(tokenizer)
            if tokenizer.pad_token_id is None:
                raise TokenizerLoadError(
                    f"{type(tokenizer).__name__} has no pad token, so sequences of different lengths cannot be "
                    "batched; set `tokenizer.pad_token` (e.g. to its eos token) before wrapping it"
                )
            self.pad_id = int(tokenizer.pad_token_id)
            self.id_dtype = np.dtype(np.int16 if len(tokenizer) <= np.iinfo(np.int16).max + 1 else np.int32)
        self.num_special_tokens = len(self.prefix) + len(self.suffix)

    # ------------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        tokenization: str = "auto",
        kmer: int | None = None,
        max_length: int | None = None,
        trust_remote_code: bool = False,
    ) -> "DNATokenizer":
        """Load a checkpoint's tokenizer (Hub id or folder) and pick its tokenization of DNA.

        Args:
            name_or_path: Hub id or local folder holding the tokenizer files.
            tokenization: `auto` (k-mers for a DNABERT vocabulary, else native), `kmer` or `native`.
            kmer: expected k of a k-mer vocabulary (None: inferred; 6 when a DNABERT checkpoint ships no
                tokenizer files and the vocabulary is built offline).
            max_length: tokens per input including special tokens (default: the tokenizer's
                `model_max_length` when it declares one); also saved as its `model_max_length`.
            trust_remote_code: let transformers run the checkpoint's own tokenizer code (only for
                checkpoints you trust; not passed at all when False).

        Raises:
            TokenizerLoadError: the tokenizer cannot be loaded or cannot encode DNA.
            KmerTokenizationError: `kmer` tokenization of a vocabulary that is not a DNABERT one, or
                vectorized ids that differ from the tokenizer's.
        """
        if tokenization not in TOKENIZATIONS:
            raise TokenizerLoadError(f"tokenization must be one of {', '.join(TOKENIZATIONS)}, got {tokenization!r}")
        if tokenization == "kmer":
            return cls._kmer(name_or_path, kmer, max_length)
        tokenizer = _auto_tokenizer(name_or_path, trust_remote_code)
        if tokenization == "auto" and is_kmer_vocabulary(tokenizer.get_vocab()):
            return cls._kmer(name_or_path, kmer, max_length)
        if max_length is not None:
            tokenizer.model_max_length = max_length
        dna = cls(tokenizer, None, max_length, f"from the checkpoint ({type(tokenizer).__name__}, {len(tokenizer)} "
                                               "tokens, its own tokenization of the raw sequence)")
        check_equivalence(dna, n=8, max_length=min(dna.max_length or 64, 64))
        return dna

    @classmethod
    def _kmer(cls, name_or_path: str, kmer: int | None, max_length: int | None) -> "DNATokenizer":
        tokenizer, fast, source = load_kmer_tokenizer(name_or_path, kmer, max_length)
        return cls(tokenizer, fast, max_length if max_length is not None else sane_max_length(tokenizer), source)

    # ------------------------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """`kmer` or `native`."""
        return "kmer" if self.kmer is not None else "native"

    @property
    def k(self) -> int | None:
        """k of the k-mer tokenization (None for `native`)."""
        return self.kmer.k if self.kmer is not None else None

    @property
    def model_max_length(self) -> int | None:
        """Tokens per input including special tokens (the truncation length)."""
        return self.max_length

    def __len__(self) -> int:
        return len(self.tokenizer)

    def __repr__(self) -> str:
        what = f"overlapping {self.k}-mers" if self.kmer is not None else "native"
        return f"DNATokenizer({what}, {self.source}, max_length={self.max_length})"

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this class lacks: they are the checkpoint tokenizer's.
        if name.startswith("__") or name in ("tokenizer", "kmer"):
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    # ------------------------------------------------------------------------------------------------
    def __call__(
        self,
        sequences: str | Sequence[str] | Mapping[str, Any],
        *,
        max_length: int | None = None,
        truncation: bool = True,
        padding: bool | str = False,
        return_tensors: str | None = None,
    ) -> "BatchEncoding":
        """Tokenize DNA like the checkpoint's tokenizer would (k-mers vectorized), with its special tokens.

        Args:
            sequences: one sequence, a list of them, or a `datasets` batch (its `sequence` column is read,
                so `ds.map(tokenizer, batched=True)` works).
            max_length: tokens per input including special tokens (default: `model_max_length`).
            truncation: keep the first tokens of longer inputs (default True: a model cannot read past
                its positions; use :meth:`encode_windows` to read all of a long sequence).
            padding: False (ragged lists; pad in the collator), True/`"longest"` or `"max_length"`.
            return_tensors: None (lists), `"np"` or `"pt"`.

        Returns:
            A `BatchEncoding` with `input_ids` and `attention_mask` (and whatever else a `native`
            tokenizer returns, such as `token_type_ids`).
        """
        from transformers import BatchEncoding

        if isinstance(sequences, Mapping):
            if "sequence" not in sequences:
                raise TokenizerLoadError(f"expected a batch with a 'sequence' column, got columns {list(sequences)}")
            sequences = sequences["sequence"]
        single = isinstance(sequences, str)
        batch = [sequences] if single else list(sequences)
        max_length = max_length or self.max_length
        if self.kmer is None:
            return self.tokenizer([s.upper() for s in batch] if not single else batch[0].upper(),
                                  max_length=max_length, truncation=truncation and max_length is not None,
                                  padding=padding, return_tensors=return_tensors)
        mode = "max_length" if padding == "max_length" else "longest"
        enc = self.kmer(batch, max_length=max_length, padding=mode, truncation=truncation, dtype=np.int64)
        if padding is False or padding == "do_not_pad":
            lengths = enc["attention_mask"].sum(axis=1)
            enc = {key: [row[:n].tolist() for row, n in zip(value, lengths)] for key, value in enc.items()}
            if return_tensors is not None:
                raise TokenizerLoadError("return_tensors needs padding=True (rows of one length)")
        if single:
            enc = {key: value[0] for key, value in enc.items()}
        return BatchEncoding(dict(enc), tensor_type=return_tensors)

    def pad(self, *args, **kwargs):
        """The checkpoint tokenizer's `pad` (what `DataCollatorWithPadding` calls)."""
        from transformers.data.data_collator import pad_without_fast_tokenizer_warning

        return pad_without_fast_tokenizer_warning(self.tokenizer, *args, **kwargs)

    def save_pretrained(self, save_directory, **kwargs):
        """Save the checkpoint tokenizer's own files (`AutoTokenizer` reloads them without this package)."""
        return self.tokenizer.save_pretrained(save_directory, **kwargs)

    # ------------------------------------------------------------------------------------- windows
    def token_counts(self, sequences: Sequence[str]) -> np.ndarray | None:
        """`(n,)` tokens of each sequence without special tokens when known without tokenizing (k-mers)."""
        return self.kmer.token_counts(sequences) if self.kmer is not None else None

    def token_ids(self, sequences: Sequence[str]) -> KmerIds:
        """Ragged token ids of `sequences`, no special tokens (what windows are cut from)."""
        if self.kmer is not None:
            return self.kmer.kmer_ids(sequences)
        # Whole sequences are tokenized on purpose (windows are cut afterwards): silence "longer than the maximum".
        getattr(self.tokenizer, "deprecation_warnings", {})["sequence-length-is-longer-than-the-specified-maximum"] = True
        ids = self.tokenizer([s.upper() for s in sequences], add_special_tokens=False, truncation=False,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        offsets = np.zeros(len(ids), dtype=np.int64)
        np.cumsum(counts[:-1], out=offsets[1:])
        flat = np.fromiter((t for row in ids for t in row), dtype=self.id_dtype, count=int(counts.sum()))
        return KmerIds(ids=flat, offsets=offsets, counts=counts)

    def rows(self, tokens: KmerIds, sequence_index: np.ndarray, start: np.ndarray, count: np.ndarray, length: int,
             dtype: np.dtype | type = np.int64) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs `prefix tokens suffix [PAD]…` `(rows, length)` and their attention mask."""
        return frame_rows(tokens, sequence_index, start, count, length, prefix=self.prefix, suffix=self.suffix,
                          pad_id=self.pad_id, dtype=dtype)

    def encode_windows(self, sequences: Sequence[str], max_length: int | None = None, stride: int | None = None,
                       strategy: str = "mean") -> WindowedEncoding:
        """Every sequence as overlapping windows of `max_length` tokens (`training.windows.encode_windows`).

        Args:
            sequences: DNA strings.
            max_length: tokens per window including special tokens (default: `model_max_length`).
            stride: tokens between window starts (default: half a window).
            strategy: `mean` (all windows; average their logits per sequence) or `truncate` (first only).
        """
        max_length = max_length or self.max_length
        if max_length is None:
            raise TokenizerLoadError("the tokenizer declares no model_max_length: pass max_length")
        return encode_windows(self, sequences, max_length, stride, strategy, dtype=self.id_dtype)


# --------------------------------------------------------------------------------------------------
# Loading and checks


def _auto_tokenizer(name_or_path: str, trust_remote_code: bool, **kwargs):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path, **hub_kwargs(trust_remote_code), **kwargs)
    except (OSError, ValueError, TypeError, KeyError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "trust_remote_code" in str(err):
            raise TokenizerLoadError(
                f"the tokenizer of {name_or_path} is custom code: pass --trust-remote-code (trust_remote_code=True) "
                "only if you trust that repository"
            ) from err
        raise TokenizerLoadError(
            f"cannot load the tokenizer of {name_or_path!r}: {first}. Pass a Hub id (online, or cached) or a local "
            "folder holding the tokenizer files (tokenizer.json or vocab.txt)"
        ) from err


def special_frame(tokenizer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The special tokens a tokenizer puts before and after a single sequence, e.g. `([CLS],), ([SEP],)`.

    Found by tokenizing probe sequences with and without special tokens.

    Raises:
        TokenizerLoadError: the tokenizer maps DNA to unknown tokens only (no vocabulary for it), or its
            special tokens are not the same prefix and suffix for every sequence.
    """
    frames = set()
    for probe in _PROBES:
        bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
        full = tokenizer(probe)["input_ids"]
        if not bare or all(t == tokenizer.unk_token_id for t in bare):
            raise TokenizerLoadError(
                f"{type(tokenizer).__name__} ({len(tokenizer)} tokens) maps DNA to unknown tokens only: it is not a "
                "DNA tokenizer; for a DNABERT checkpoint without tokenizer files use tokenization 'kmer' "
                "(`gbhub train dnabert` or `--tokenization kmer`)"
            )
        at = next((i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare), None)
        if at is None:
            raise TokenizerLoadError(f"{type(tokenizer).__name__} tokenizes {probe!r} differently with special "
                                     "tokens than without: cannot cut it into windows")
        frames.add((tuple(full[:at]), tuple(full[at + len(bare) :])))
    if len(frames) != 1:
        raise TokenizerLoadError(f"{type(tokenizer).__name__} adds different special tokens to different sequences "
                                 f"({sorted(frames)}): cannot cut it into windows")
    return frames.pop()


def load_kmer_tokenizer(model: str, kmer: int | None = None, max_length: int | None = 512):
    """A DNABERT checkpoint's tokenizer and its vectorized twin, checked to give the same ids.

    Tries, in order: `AutoTokenizer.from_pretrained(model, do_lower_case=False)`, then
    `BertTokenizer.from_pretrained(model, do_lower_case=False)` (DNABERT's `vocab.txt` with a
    `tokenizer_config.json` naming a class transformers lacks), then the DNABERT-k vocabulary built offline
    when the checkpoint ships no tokenizer files (transformers then silently returns a 5-token vocabulary,
    detected here). `do_lower_case=False` is forced: a `vocab.txt` checkpoint whose config does not say
    it would otherwise lower-case every k-mer into `[UNK]`.

    Args:
        model: Hub id or local folder.
        kmer: expected k (None: inferred from the vocabulary; 6 when the vocabulary is built).
        max_length: the tokenizer's `model_max_length` (None: keep the checkpoint's).

    Returns:
        `(tokenizer, KmerTokenizer, source)` where `source` says where the vocabulary came from.

    Raises:
        KmerTokenizationError: the vocabulary is not a DNABERT k-mer vocabulary (or not of size `kmer`),
            or the vectorized ids differ from the tokenizer's on probe sequences.
    """
    from transformers import AutoTokenizer, BertTokenizer

    attempts = []
    for name, cls in (("AutoTokenizer", AutoTokenizer), ("BertTokenizer", BertTokenizer)):
        try:
            tokenizer = cls.from_pretrained(model, do_lower_case=False)
        except (OSError, ValueError, TypeError, KeyError) as err:
            attempts.append(f"{name}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            continue
        if len(tokenizer) <= 5 + 4**2:  # not even 3-mers: the checkpoint ships no vocabulary
            attempts.append(f"{name}: only {len(tokenizer)} tokens (no vocabulary files)")
            continue
        if max_length is not None:
            tokenizer.model_max_length = max_length
        fast = KmerTokenizer.from_tokenizer(tokenizer, kmer)
        dna = DNATokenizer(tokenizer, fast, max_length)
        check_equivalence(dna, max_length=max_length or 512)
        return tokenizer, fast, f"from the checkpoint ({type(tokenizer).__name__}, {len(tokenizer)} tokens)"
    k = kmer or 6
    logger.warning(
        "%s ships no usable tokenizer (%s); building the DNABERT-%d vocabulary offline", model, "; ".join(attempts), k
    )
    tokenizer = build_dnabert_tokenizer(k, model_max_length=max_length or 512)
    fast = KmerTokenizer.from_tokenizer(tokenizer, k)
    check_equivalence(DNATokenizer(tokenizer, fast, max_length), max_length=max_length or 512)
    return tokenizer, fast, f"built offline (DNABERT-{k} vocabulary, {len(tokenizer)} tokens)"


def check_equivalence(dna: DNATokenizer, max_length: int = 512, n: int = 16) -> None:
    """Check the rows `DNATokenizer` builds equal the checkpoint tokenizer's own, truncation included.

    Probes: `n` seeded random sequences (with `N` and lower case) from 0 bp to past `max_length` tokens,
    so special tokens, unknown tokens and truncation are all exercised. The reference input is the
    space-joined k-mers (`kmer`) or the upper-cased sequence (`native`). Takes milliseconds.

    Raises:
        KmerTokenizationError: naming the first differing probe.
    """
    rng = np.random.default_rng(0)
    letters = np.array(list("ACGTNacgt"))
    p = np.array([0.2] * 4 + [0.04] + [0.04] * 4)
    span = max_length * (1 if dna.kmer is not None else 2) + 2 * (dna.k or 1)
    lengths = np.linspace(0, span, n).astype(int)
    probes = ["".join(rng.choice(letters, p=p / p.sum(), size=int(m))) for m in lengths]
    texts = [kmer_string(s, dna.k) if dna.kmer is not None else s.upper() for s in probes]
    ref = dna.tokenizer(texts, max_length=max_length, truncation=True, return_token_type_ids=False)
    plan_rows = dna.encode_windows(probes, max_length, strategy="truncate")
    lengths = plan_rows.attention_mask.sum(axis=1)
    for i, text in enumerate(texts):
        ours = plan_rows.input_ids[i, : lengths[i]].tolist()
        if ours != list(ref["input_ids"][i]) or int(lengths[i]) != int(sum(ref["attention_mask"][i])):
            what = f"DNABERT {dna.k}-mer tokenizer (space-separated k-mers, [CLS]/[SEP], no lower-casing)" \
                if dna.kmer is not None else "tokenizer whose special tokens frame every sequence the same way"
            raise KmerTokenizationError(
                f"the checkpoint's tokenizer ({type(dna.tokenizer).__name__}) and the vectorized ids differ on "
                f"input_ids of a {len(probes[i])} bp probe sequence: is it a {what}?"
            )
