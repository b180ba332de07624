"""DNABERT (Ji et al. 2021) as a recipe: overlapping k-mer windows, any DNABERT checkpoint, the `Trainer`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from gbhub.training import paper_results
from gbhub.training.args import ArgumentError
from gbhub.training.data import (
    EncodedSplit,
    Prepared,
    RowDataset,
    Task,
    arrow_table,
    sequence_lengths,
    targets_and_ids,
)
from gbhub.training.kmer import KmerTokenizationError, KmerTokenizer, build_dnabert_tokenizer, kmer_string
from gbhub.training.recipes.base import CardText, Recipe
from gbhub.training.windows import aggregate_logits, default_stride, encode_windows

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "zhihan1996/DNA_bert_6"


@dataclass
class DNABertArguments:
    """The checkpoint and its input: k-mers, tokens per window, long sequences."""

    model: str = field(default=DEFAULT_MODEL, metadata={"help": "DNABERT k-mer checkpoint: Hub id or local folder"})
    kmer: int | None = field(default=None, metadata={
        "help": "k-mer size 3-6 (default: from the checkpoint's vocabulary, else 6)", "min": 3})
    max_tokens: int = field(default=512, metadata={
        "help": "tokens per window including [CLS]/[SEP]; at most the model's positions", "min": 3})
    long_sequences: Literal["windows", "truncate", "error"] = field(default="windows", metadata={
        "help": "sequences longer than one window: windows = overlapping windows, logits averaged per "
                "sequence; truncate = the first window only; error = stop"})
    window_stride_bp: int | None = field(default=None, metadata={
        "help": "bp between window starts (default: half a window)", "min": 1})
    report_to: str = field(default="none", metadata={"help": "Trainer loggers (none, tensorboard, wandb...)"})
    logging_steps: int = field(default=50, metadata={"help": "log the training loss every N steps", "min": 1})
    card_base_model: str | None = field(default=None, metadata={
        "help": "base_model written in the model card (default: --model when it is a Hub id)"})


class DNABertRecipe(Recipe):
    name = "dnabert"
    summary = "fine-tune a DNABERT k-mer checkpoint with the transformers Trainer"
    description = (
        "Fine-tune DNABERT on one benchmark config: overlapping k-mer windows, per-epoch validation, best epoch "
        "selected on validation, one final test evaluation, model card. Protocol notebook = the Genomic "
        "Benchmarks DNABERT notebook (4 epochs, batch 32, lr 8e-5, 10% warm-up, cosine, weight decay 0.01), "
        "selecting on validation accuracy instead of test."
    )
    backend = "trainer"
    arguments = DNABertArguments
    defaults = {"epochs": 4, "batch_size": 32, "lr": 8e-5, "warmup_ratio": 0.1, "lr_scheduler": "cosine",
                "weight_decay": 0.01}
    protocols = {"notebook": {"selection_metric": "accuracy"}}
    tasks = ("classification",)
    score_train = False

    def check(self, args: DNABertArguments, run) -> None:
        if args.kmer is not None and args.kmer not in (3, 4, 5, 6):
            raise ArgumentError(f"--kmer must be 3, 4, 5 or 6 (the DNABERT checkpoints), got {args.kmer}")
        if args.window_stride_bp is not None and args.window_stride_bp > args.max_tokens - 2:
            raise ArgumentError(f"--window-stride-bp {args.window_stride_bp} is larger than a window's "
                                f"{args.max_tokens - 2} k-mers: bases would be skipped")

    def prepare(self, dsd, task: Task, args: DNABertArguments, run) -> Prepared:
        probe = load_model_config(args.model)
        positions = int(getattr(probe, "max_position_embeddings", 512))
        if args.max_tokens > positions:
            raise ArgumentError(
                f"--max-tokens {args.max_tokens} exceeds the {positions} positions of {args.model}; pass "
                f"--max-tokens {positions} or less (longer sequences are split into windows, see --long-sequences)"
            )
        tokenizer, fast, source = load_tokenizer(args.model, args.kmer, args.max_tokens)
        if int(getattr(probe, "vocab_size", fast.vocab_size)) < fast.vocab_size:
            raise ArgumentError(
                f"the tokenizer has {fast.vocab_size} tokens but {args.model} embeds only {probe.vocab_size}; "
                f"is --kmer {fast.k} the checkpoint's k-mer size?"
            )
        window_bp = args.max_tokens - 2 + fast.k - 1
        if args.long_sequences == "error":
            longest = max(int(sequence_lengths(dsd[s]).max(initial=0)) for s in dsd)
            if longest > window_bp:
                raise ArgumentError(f"sequences of up to {longest} bp are longer than one window of {window_bp} bp "
                                    f"(--max-tokens {args.max_tokens}): pass --long-sequences windows or truncate")
        stride = args.window_stride_bp or default_stride(args.max_tokens)
        strategy = "truncate" if args.long_sequences == "truncate" else "mean"
        splits = {s: _encode_split(dsd[s], task, fast, args.max_tokens, stride, strategy)
                  for s in ("train", "validation", "test")}
        info = {
            "tokenizer": source,
            "kmer": fast.k,
            "max_tokens": args.max_tokens,
            "window_bp": window_bp,
            "stride_bp": stride if strategy == "mean" else None,
            "long_sequences": args.long_sequences,
            "splits": {s: {"sequences": len(e), "windows": len(e.plan),
                           "longest_bp": int(sequence_lengths(dsd[s]).max(initial=0)),
                           "longer_than_window": int((sequence_lengths(dsd[s]) > window_bp).sum())}
                       for s, e in splits.items()},
        }
        return Prepared(splits, info, tokenizer=tokenizer)

    def build_model(self, prepared: Prepared, task: Task, args: DNABertArguments):
        return load_model(args.model, task.label_names)

    def fit_options(self, args: DNABertArguments) -> dict[str, Any]:
        return {"report_to": args.report_to, "logging_steps": args.logging_steps}

    def card(self, record: Mapping[str, Any], args: DNABertArguments) -> CardText:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(record["out"])
        info = record["input"]
        k = info["kmer"]
        n_params = record.get("num_parameters")
        architecture = (
            f"DNABERT (Ji et al., Bioinformatics 2021): a BERT encoder ({config.num_hidden_layers} layers, hidden "
            f"size {config.hidden_size}, {config.num_attention_heads} heads, {config.max_position_embeddings} "
            f"positions, vocabulary {config.vocab_size}) pre-trained with overlapping {k}-mer tokens, fine-tuned "
            f"end to end with a linear classification head on the pooled `[CLS]` token "
            f"(`AutoModelForSequenceClassification`, base checkpoint `{args.model}`)"
            + (f", {n_params:,} parameters" if n_params else "") + ".\n\n"
            f"Input: overlapping {k}-mers (stride 1) of the upper-cased sequence, `[CLS] k-mers [SEP]`; a k-mer "
            f"holding `N` or any other non-ACGT letter is `[UNK]`. Tokenizer: {info['tokenizer']}."
        )
        longer = ", ".join(f"{s} {v['longer_than_window']} of {v['sequences']}" for s, v in info["splits"].items())
        note = (f"### Long sequences\n\nOne window holds {info['max_tokens']} tokens = {info['window_bp']} bp. "
                f"Sequences longer than that: {longer}. ")
        if info["long_sequences"] == "windows":
            note += (f"They are split into overlapping windows starting every {info['stride_bp']} bp, the last one "
                     "flush with the sequence end; each window is classified and the logits are averaged per "
                     "sequence (`--long-sequences windows`). Training uses every window with its sequence's label.")
        else:
            note += "They are truncated to their first window (`--long-sequences truncate`); the rest is not seen."
        names = ", ".join(record["label_names"])
        usage = f"""from transformers import AutoModelForSequenceClassification, AutoTokenizer

model = AutoModelForSequenceClassification.from_pretrained("<this repo or folder>").eval()
tokenizer = AutoTokenizer.from_pretrained("<this repo or folder>", do_lower_case=False)
seq = "ACGT" * 30  # upper case; sequences over {info['window_bp']} bp: see "Long sequences"
kmers = " ".join(seq[i:i + {k}] for i in range(len(seq) - {k} + 1))
probs = model(**tokenizer(kmers, return_tensors="pt", truncation=True)).logits.softmax(-1)
print(probs)  # classes: {names}"""
        base = args.card_base_model or (None if Path(args.model).exists() else args.model)
        return CardText(
            title="DNABERT",
            architecture=architecture,
            differences=UPSTREAM_DIFFERENCES,
            usage=usage,
            install="pip install transformers torch",
            library_name="transformers",
            base_model=base,
            citation=paper_results.BIBTEX,
            notes=[note],
            files={"tokenizer.json, tokenizer_config.json": f"its {k}-mer tokenizer"},
        )


UPSTREAM_DIFFERENCES = (
    "The epoch is selected on the validation split (10% of upstream train, stratified); the upstream "
    "notebook selected on test. Test is evaluated once, at the end.",
    "k-mers are mapped to ids by vectorized numpy code, tested identical to the checkpoint's tokenizer on "
    "space-joined k-mers (`[UNK]` for k-mers with `N`).",
    "Sequences longer than the model's positions (512 tokens for DNABERT) are classified by overlapping "
    "windows with averaged logits (or truncated with `--long-sequences truncate`), instead of being silently "
    "truncated.",
)


# ------------------------------------------------------------------------------------------------------
# Tokenizer and model


def load_tokenizer(model: str, kmer: int | None = None, max_length: int = 512):
    """The checkpoint's tokenizer and its vectorized twin, checked to give the same ids.

    Tries, in order: `AutoTokenizer.from_pretrained(model, do_lower_case=False)`, then
    `BertTokenizer.from_pretrained(model, do_lower_case=False)` (DNABERT's `vocab.txt` with a
    `tokenizer_config.json` naming a class transformers lacks), then the DNABERT-k vocabulary built offline
    when the checkpoint ships no tokenizer files (transformers then silently returns a 5-token vocabulary,
    detected here). `do_lower_case=False` is forced: a `vocab.txt` checkpoint whose config does not say
    it would otherwise lower-case every k-mer into `[UNK]`.

    Args:
        model: Hub id or local folder.
        kmer: expected k (None: inferred from the vocabulary; 6 when the vocabulary is built).
        max_length: the tokenizer's `model_max_length`.

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
        tokenizer.model_max_length = max_length
        fast = KmerTokenizer.from_tokenizer(tokenizer, kmer)
        check_equivalence(tokenizer, fast, max_length)
        return tokenizer, fast, f"from the checkpoint ({type(tokenizer).__name__}, {len(tokenizer)} tokens)"
    k = kmer or 6
    logger.warning(
        "%s ships no usable tokenizer (%s); building the DNABERT-%d vocabulary offline", model, "; ".join(attempts), k
    )
    tokenizer = build_dnabert_tokenizer(k, model_max_length=max_length)
    fast = KmerTokenizer.from_tokenizer(tokenizer, k)
    check_equivalence(tokenizer, fast, max_length)
    return tokenizer, fast, f"built offline (DNABERT-{k} vocabulary, {len(tokenizer)} tokens)"


def check_equivalence(tokenizer, fast: KmerTokenizer, max_length: int = 512, n: int = 16) -> None:
    """Check the vectorized ids equal the tokenizer's on space-joined k-mers of probe sequences.

    Probes: `n` seeded random sequences (with `N` and lower case) from 0 bp to past `max_length` tokens,
    so `[CLS]`/`[SEP]`, `[UNK]`, truncation and padding are all exercised. Takes milliseconds.

    Raises:
        KmerTokenizationError: naming the first differing sequence.
    """
    rng = np.random.default_rng(0)
    letters = np.array(list("ACGTNacgt"))
    p = np.array([0.2] * 4 + [0.04] + [0.04] * 4)
    lengths = np.linspace(0, max_length + 2 * fast.k, n).astype(int)
    probes = ["".join(rng.choice(letters, p=p / p.sum(), size=int(m))) for m in lengths]
    ref = tokenizer([kmer_string(s, fast.k) for s in probes], max_length=max_length, truncation=True,
                    padding="longest", return_tensors="np")
    ours = fast(probes, max_length=max_length)
    for key in ("input_ids", "attention_mask"):
        if ref[key].shape != ours[key].shape or not np.array_equal(ref[key], ours[key]):
            bad = next((i for i in range(n) if ref[key].shape != ours[key].shape
                        or not np.array_equal(ref[key][i], ours[key][i])), 0)
            raise KmerTokenizationError(
                f"the checkpoint's tokenizer ({type(tokenizer).__name__}) and the vectorized k-mer ids differ on "
                f"{key} of a {len(probes[bad])} bp probe sequence: is it a DNABERT {fast.k}-mer tokenizer "
                "(space-separated k-mers, [CLS]/[SEP], no lower-casing)?"
            )


def load_model_config(model: str):
    """The checkpoint's `config.json` (positions, vocabulary size) without loading weights."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as err:
        raise ArgumentError(
            f"cannot read the config of checkpoint {model!r}: {str(err).splitlines()[0]}. Pass --model with a Hub "
            "id (online, or cached) or a local folder holding config.json and the weights"
        ) from err


def load_model(model: str, label_names: Sequence[str]):
    """`AutoModelForSequenceClassification` with `id2label`/`label2id` from the dataset's ClassLabel."""
    from transformers import AutoModelForSequenceClassification

    id2label = {i: name for i, name in enumerate(label_names)}
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            model, num_labels=len(label_names), id2label=id2label, label2id={n: i for i, n in id2label.items()}
        )
    except OSError as err:
        raise ArgumentError(
            f"cannot load checkpoint {model!r}: {str(err).splitlines()[0]}. Pass --model with a Hub id (online) "
            "or a local folder holding config.json and the weights"
        ) from err


def _encode_split(ds, task: Task, tokenizer: KmerTokenizer, max_tokens: int, stride: int,
                  strategy: str) -> EncodedSplit:
    """Tokenize a split into windows: one row per window, labels repeated per window."""
    sequences = arrow_table(ds).column("sequence").to_pylist()
    targets, row_ids = targets_and_ids(ds, task)
    enc = encode_windows(tokenizer, sequences, max_tokens, stride, strategy, dtype=tokenizer.id_dtype)
    rows = RowDataset({"input_ids": enc.input_ids, "lengths": enc.plan.count + 2,
                       "labels": targets[enc.plan.sequence_index]}, trim="lengths")
    return EncodedSplit(rows, targets, row_ids, plan=enc.plan)


# ------------------------------------------------------------------------------------------------------
# Inference


def predict(
    model_dir: str | os.PathLike,
    sequences: Sequence[str],
    *,
    long_sequences: str = "windows",
    stride: int | None = None,
    max_tokens: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> np.ndarray:
    """Class probabilities of `sequences` from a fine-tuned run folder (or any DNABERT classifier).

    Args:
        model_dir: a run folder or checkpoint with a classification head.
        sequences: `n` DNA strings.
        long_sequences: `windows` (logits averaged over overlapping windows) or `truncate`.
        stride: bp between window starts (default half a window).
        max_tokens: tokens per window (default: the model's positions).
        batch_size: windows per forward pass.
        device: torch device (default: cuda when available, else cpu).

    Returns:
        `(n, num_labels)` probabilities.
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    from gbhub.training.metrics_util import softmax

    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    max_tokens = max_tokens or int(getattr(model.config, "max_position_embeddings", 512))
    _, fast, _ = load_tokenizer(str(model_dir), None, max_tokens)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    strategy = "truncate" if long_sequences == "truncate" else "mean"
    enc = encode_windows(fast, sequences, max_tokens, stride, strategy, dtype=fast.id_dtype)
    rows = RowDataset({"input_ids": enc.input_ids, "lengths": enc.plan.count + 2}, trim="lengths")
    logits = []
    with torch.inference_mode():
        for lo in range(0, len(rows), batch_size):
            batch = rows.__getitems__(range(lo, min(lo + batch_size, len(rows))))
            inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask")}
            logits.append(model(**inputs).logits.float().cpu().numpy())
    window_logits = np.concatenate(logits) if logits else np.zeros((0, model.config.num_labels), np.float32)
    return softmax(aggregate_logits(window_logits, enc.plan))
