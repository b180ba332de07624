"""Any DNA language model as a recipe: an `AutoModelForSequenceClassification` with its own tokenizer, the `Trainer`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from gbhub.training.args import ArgumentError
from gbhub.training.data import EncodedSplit, Prepared, RowDataset, Task, arrow_table, sequence_lengths, targets_and_ids
from gbhub.training.recipes.base import CardText, Recipe

logger = logging.getLogger(__name__)

#: Model types whose learned absolute positions start after the padding index (RoBERTa-style): they read at
#: most `max_position_embeddings - pad_token_id - 1` tokens.
OFFSET_POSITION_MODELS = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "esm", "data2vec-text", "longformer")


# Fields every checkpoint recipe declares the same way (one definition, so flags mean the same everywhere).

def long_sequences_field():
    """`--long-sequences` of the checkpoint recipes."""
    return field(default="windows", metadata={
        "help": "sequences longer than one window: windows = overlapping windows, logits averaged per sequence; "
                "truncate = the first window only; error = stop"})


def report_to_field():
    """`--report-to` (the `Trainer`'s loggers)."""
    return field(default="none", metadata={"help": "Trainer loggers (none, tensorboard, wandb...)"})


def logging_steps_field():
    """`--logging-steps`."""
    return field(default=50, metadata={"help": "log the training loss every N steps", "min": 1})


def card_base_model_field():
    """`--card-base-model`."""
    return field(default=None, metadata={
        "help": "base_model written in the model card (default: --model when it is a Hub id)"})


def kmer_field():
    """`--kmer`."""
    return field(default=None, metadata={
        "help": "k-mer size 3-6 of a DNABERT k-mer vocabulary (default: from the vocabulary, else 6)", "min": 3})


@dataclass
class LMArguments:
    """The checkpoint and its input: tokenizer, tokens per window, long sequences, remote code."""

    model: str = field(default="", metadata={
        "help": "sequence-classification checkpoint (any AutoModelForSequenceClassification): Hub id or local "
                "folder", "required": True})
    tokenizer: str | None = field(default=None, metadata={
        "help": "tokenizer: Hub id or local folder (default: --model's own)"})
    tokenization: Literal["auto", "kmer", "native"] = field(default="auto", metadata={
        "help": "auto: overlapping k-mers for a DNABERT k-mer vocabulary, else the tokenizer's own tokenization "
                "of the raw sequence (non-overlapping 6-mers, characters, BPE); kmer / native force one"})
    kmer: int | None = kmer_field()
    max_tokens: int | None = field(default=None, metadata={
        "help": "tokens per window including special tokens (default: the model's positions, or the tokenizer's "
                "model_max_length when smaller)", "min": 3})
    long_sequences: Literal["windows", "truncate", "error"] = long_sequences_field()
    window_stride_tokens: int | None = field(default=None, metadata={
        "help": "tokens between window starts (default: half a window)", "min": 1})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "run the checkpoint's own Python code (auto_map in its config); only for repositories you trust"})
    report_to: str = report_to_field()
    logging_steps: int = logging_steps_field()
    card_base_model: str | None = card_base_model_field()


@dataclass(frozen=True)
class InputSpec:
    """What a checkpoint recipe's arguments say about the input, in one shape for `prepare` and the card.

    Attributes:
        model: checkpoint (Hub id or folder).
        tokenizer: where the tokenizer is read from.
        tokenization: `auto`, `kmer` or `native` (`gbhub.training.tokenizers.TOKENIZATIONS`).
        kmer: expected k of a k-mer vocabulary, or None.
        max_tokens: tokens per window including special tokens (None: from the model and tokenizer).
        long_sequences: `windows`, `truncate` or `error`.
        stride: tokens between window starts (None: half a window).
        trust_remote_code: passed to transformers only when True.
    """

    model: str
    tokenizer: str
    tokenization: str
    kmer: int | None
    max_tokens: int | None
    long_sequences: str
    stride: int | None
    trust_remote_code: bool = False


class LanguageModelRecipe(Recipe):
    """Fine-tune any sequence-classification checkpoint with its own tokenizer, windows in its tokens."""

    name = "lm"
    summary = "fine-tune any sequence-classification checkpoint with its own tokenizer (Trainer)"
    description = (
        "Fine-tune any AutoModelForSequenceClassification checkpoint (Nucleotide Transformer, DNABERT-2, "
        "HyenaDNA, character-level or BPE models, DNABERT) on one benchmark config with its own tokenizer: the "
        "raw sequence goes through the checkpoint's tokenizer (overlapping k-mers, vectorized, for a DNABERT "
        "k-mer vocabulary); sequences longer than the model's positions are read as overlapping windows of its "
        "tokens. Per-epoch validation, best epoch selected on validation, one final test evaluation, model card. "
        "Checkpoint code (auto_map) runs only with --trust-remote-code. Protocol default = 3 epochs, batch 32, "
        "lr 5e-5, 10% warm-up, linear decay, weight decay 0.01."
    )
    backend = "trainer"
    arguments = LMArguments
    defaults = {"epochs": 3, "batch_size": 32, "lr": 5e-5, "warmup_ratio": 0.1, "lr_scheduler": "linear",
                "weight_decay": 0.01}
    protocols = {"default": {}}
    tasks = ("classification",)
    score_train = False
    example_flags = " \\\n      --model PATH/TO/CHECKPOINT"

    # -------------------------------------------------------------------------------------- input
    def spec(self, args) -> InputSpec:
        """The recipe's arguments as an `InputSpec` (recipes with other flags override this)."""
        return InputSpec(model=args.model, tokenizer=args.tokenizer or args.model, tokenization=args.tokenization,
                         kmer=args.kmer, max_tokens=args.max_tokens, long_sequences=args.long_sequences,
                         stride=args.window_stride_tokens, trust_remote_code=args.trust_remote_code)

    def check(self, args, run) -> None:
        spec = self.spec(args)
        if spec.kmer is not None and spec.kmer not in (3, 4, 5, 6):
            raise ArgumentError(f"--kmer must be 3, 4, 5 or 6 (the DNABERT checkpoints), got {spec.kmer}")
        if spec.kmer is not None and spec.tokenization == "native":
            raise ArgumentError("--kmer applies to k-mer tokenization; drop it or pass --tokenization kmer/auto")
        if spec.stride is not None and spec.max_tokens is not None and spec.stride > spec.max_tokens - 2:
            raise ArgumentError(f"{self._stride_flag} {spec.stride} is larger than a window's {spec.max_tokens - 2} "
                                "tokens: bases would be skipped")

    _stride_flag = "--window-stride-tokens"

    def prepare(self, dsd, task: Task, args, run) -> Prepared:
        from gbhub.training.tokenizers import DNATokenizer

        spec = self.spec(args)
        config = load_model_config(spec.model, spec.trust_remote_code)
        positions = model_positions(config)
        tokenizer = DNATokenizer.from_pretrained(spec.tokenizer, tokenization=spec.tokenization, kmer=spec.kmer,
                                                 max_length=spec.max_tokens, trust_remote_code=spec.trust_remote_code)
        if spec.kmer is not None and tokenizer.kind == "native":
            raise ArgumentError(f"--kmer {spec.kmer} was given but the tokenizer of {spec.tokenizer} is not a DNABERT "
                                "k-mer vocabulary (it reads the raw sequence): drop --kmer")
        known = [x for x in (positions, tokenizer.max_length) if x]
        max_tokens = spec.max_tokens or (min(known) if known else None)
        if max_tokens is None:
            raise ArgumentError(f"{spec.model} declares no maximum length (max_position_embeddings or the tokenizer's "
                                "model_max_length): pass --max-tokens")
        if positions is not None and max_tokens > positions:
            raise ArgumentError(
                f"--max-tokens {max_tokens} exceeds the {positions} positions of {spec.model}; pass --max-tokens "
                f"{positions} or less (longer sequences are split into windows, see --long-sequences)"
            )
        tokenizer.max_length = max_tokens
        tokenizer.tokenizer.model_max_length = max_tokens  # saved with the run: `truncation=True` then fits
        vocab = int(getattr(config, "vocab_size", 0) or 0)
        if vocab and len(tokenizer) > vocab:
            hint = f"is --kmer {tokenizer.k} the checkpoint's k-mer size?" if tokenizer.k else \
                "is --tokenizer the checkpoint's own?"
            raise ArgumentError(f"the tokenizer has {len(tokenizer)} tokens but {spec.model} embeds only {vocab}; {hint}")
        window = max_tokens - tokenizer.num_special_tokens
        if window < 1:
            raise ArgumentError(f"--max-tokens {max_tokens} leaves no room for sequence tokens besides the "
                                f"{tokenizer.num_special_tokens} special tokens")
        if spec.stride is not None and spec.stride > window:
            raise ArgumentError(f"{self._stride_flag} {spec.stride} is larger than a window's {window} tokens: bases "
                                "would be skipped")
        strategy = "truncate" if spec.long_sequences == "truncate" else "mean"
        stride = (spec.stride or max(1, window // 2)) if strategy == "mean" else None
        splits, facts = {}, {}
        for name in ("train", "validation", "test"):
            splits[name], facts[name] = _encode_split(dsd[name], task, tokenizer, max_tokens, stride, strategy)
        if spec.long_sequences == "error":
            longer = {s: f for s, f in facts.items() if f["longer_than_window"]}
            if longer:
                worst = max(f["longest_tokens"] for f in longer.values())
                raise ArgumentError(
                    f"sequences of up to {worst} tokens are longer than one window of {window} tokens "
                    f"(--max-tokens {max_tokens}): pass --long-sequences windows or truncate"
                )
        info = {
            "model": spec.model,
            "tokenizer": tokenizer.source,
            "tokenization": tokenizer.kind,
            "kmer": tokenizer.k,
            "special_tokens": tokenizer.num_special_tokens,
            "max_tokens": max_tokens,
            "window_tokens": window,
            "window_bp": window + tokenizer.k - 1 if tokenizer.k else None,
            "stride_tokens": stride,
            "long_sequences": spec.long_sequences,
            "trust_remote_code": spec.trust_remote_code,
            "splits": facts,
        }
        return Prepared(splits, info, tokenizer=tokenizer.tokenizer)

    def build_model(self, prepared: Prepared, task: Task, args):
        spec = self.spec(args)
        model = load_model(spec.model, task.label_names, spec.trust_remote_code)
        pad = getattr(prepared.tokenizer, "pad_token_id", None)
        if getattr(model.config, "pad_token_id", None) is None and pad is not None:
            model.config.pad_token_id = pad  # decoder-style heads find each row's last token through it
        return model

    def fit_options(self, args) -> dict[str, Any]:
        return {"report_to": args.report_to, "logging_steps": args.logging_steps}

    # --------------------------------------------------------------------------------------- card
    title = "Fine-tuned DNA language model"

    def card_title(self, config) -> str:
        """The card's model name."""
        return f"{self.title} ({config.model_type})" if getattr(config, "model_type", None) else self.title

    def card_model(self, config, spec: InputSpec, n_params: int | None) -> str:
        """The first paragraph of the card's *Model* section."""
        return (
            f"A `{config.model_type}` encoder ({_shape(config)}) fine-tuned end to end with a classification head "
            f"(`AutoModelForSequenceClassification`, base checkpoint `{spec.model}`)"
            + (f", {n_params:,} parameters" if n_params else "") + "."
        )

    def card_differences(self) -> Sequence[str]:
        """Where training differs from the checkpoint's own fine-tuning recipe."""
        return LM_NOTES

    def card_citation(self) -> str | None:
        """BibTeX of the model's paper (the benchmark's citation is in the dataset card)."""
        return None

    def card(self, record: Mapping[str, Any], args) -> CardText:
        from transformers import AutoConfig

        from gbhub.training.tokenizers import hub_kwargs

        spec = self.spec(args)
        config = AutoConfig.from_pretrained(record["out"], **hub_kwargs(spec.trust_remote_code))
        info = record["input"]
        k = info.get("kmer")
        if info["tokenization"] == "kmer":
            tokens = (f"overlapping {k}-mers (stride 1) of the upper-cased sequence, `[CLS] k-mers [SEP]`; a k-mer "
                      "holding `N` or any other non-ACGT letter is `[UNK]`")
        else:
            tokens = ("the checkpoint's own tokenizer on the upper-cased sequence, with the "
                      f"{info['special_tokens']} special token(s) it adds")
        architecture = (self.card_model(config, spec, record.get("num_parameters")) + "\n\n"
                        f"Input: {tokens}. Tokenizer: {info['tokenizer']}.")
        longer = ", ".join(f"{s} {v['longer_than_window']} of {v['sequences']}" for s, v in info["splits"].items())
        size = f"{info['max_tokens']} tokens" + (f" = {info['window_bp']} bp" if info.get("window_bp") else
                                                 f" ({info['window_tokens']} of them sequence tokens)")
        note = f"### Long sequences\n\nOne window holds {size}. Sequences longer than that: {longer}. "
        if info["long_sequences"] == "windows":
            unit = "bp" if info["tokenization"] == "kmer" else "tokens"  # one k-mer starts at each base
            note += (f"They are split into overlapping windows starting every {info['stride_tokens']} {unit}, the "
                     "last one flush with the sequence end; each window is classified and the logits are averaged "
                     "per sequence (`--long-sequences windows`). Training uses every window with its sequence's "
                     "label.")
        else:
            note += "They are truncated to their first window (`--long-sequences truncate`); the rest is not seen."
        remote = info.get("trust_remote_code")
        notes = [note]
        if remote:
            notes.append("**Remote code.** The base checkpoint runs its own Python code (`auto_map`), so loading "
                         "this model needs `trust_remote_code=True`: read that code before you run it.")
        base = args.card_base_model or (None if Path(spec.model).exists() else spec.model)
        return CardText(
            title=self.card_title(config),
            architecture=architecture,
            differences=self.card_differences(),
            usage=usage_snippet(record, remote=bool(remote)),
            install="pip install transformers torch",
            library_name="transformers",
            base_model=base,
            citation=self.card_citation(),
            notes=notes,
            files={"tokenizer.json, tokenizer_config.json": "its tokenizer (the checkpoint's, `AutoTokenizer`)"},
        )


LM_NOTES = (
    "The epoch is selected on the validation split (10% of upstream train, stratified); test is evaluated once, "
    "at the end.",
    "Sequences longer than the model's positions are classified by overlapping windows of its tokens with "
    "averaged logits (or truncated with `--long-sequences truncate`), instead of being silently truncated.",
)


def usage_snippet(record: Mapping[str, Any], *, remote: bool = False) -> str:
    """A model card's snippet: plain transformers, the run's own tokenizer, class probabilities printed."""
    info = record["input"]
    names = ", ".join(record["label_names"])
    trust = ", trust_remote_code=True" if remote else ""
    head = f"""from transformers import AutoModelForSequenceClassification, AutoTokenizer

model = AutoModelForSequenceClassification.from_pretrained("<this repo or folder>"{trust}).eval()
"""
    if info["tokenization"] == "kmer":
        k = info["kmer"]
        return head + f"""tokenizer = AutoTokenizer.from_pretrained("<this repo or folder>", do_lower_case=False)
seq = "ACGT" * 30  # upper case; sequences over {info['window_bp']} bp: see "Long sequences"
kmers = " ".join(seq[i:i + {k}] for i in range(len(seq) - {k} + 1))  # overlapping {k}-mers
inputs = tokenizer(kmers, return_tensors="pt", truncation=True, max_length={info['max_tokens']})
probs = model(**inputs).logits.softmax(-1)
print(probs)  # classes: {names}"""
    return head + f"""tokenizer = AutoTokenizer.from_pretrained("<this repo or folder>"{trust})
seq = "ACGT" * 30  # upper case; over {info['window_tokens']} tokens: see "Long sequences"
inputs = tokenizer(seq, return_tensors="pt", truncation=True, max_length={info['max_tokens']})
probs = model(**inputs).logits.softmax(-1)
print(probs)  # classes: {names}"""


def _shape(config) -> str:
    parts = []
    for attr, label in (("num_hidden_layers", "layers"), ("hidden_size", "hidden size"),
                        ("num_attention_heads", "heads"), ("max_position_embeddings", "positions"),
                        ("vocab_size", "vocabulary")):
        value = getattr(config, attr, None)
        if isinstance(value, int):
            parts.append(f"{label} {value}" if label in ("hidden size", "vocabulary") else f"{value} {label}")
    return ", ".join(parts) or "see its config.json"


# ------------------------------------------------------------------------------------------------------
# Checkpoints


def model_positions(config) -> int | None:
    """Tokens the model can read, from its config (None when it declares no limit)."""
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    if getattr(config, "model_type", "") in OFFSET_POSITION_MODELS and \
            getattr(config, "position_embedding_type", "absolute") == "absolute":
        positions -= int(getattr(config, "pad_token_id", None) or 0) + 1
    return positions


def _load_error(what: str, model: str, err: Exception) -> ArgumentError:
    first = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "trust_remote_code" in str(err):
        return ArgumentError(f"{model} runs its own code (auto_map in its config): pass --trust-remote-code only if "
                             "you trust that repository")
    return ArgumentError(f"cannot {what} of checkpoint {model!r}: {first}. Pass --model with a Hub id (online, or "
                         "cached) or a local folder holding config.json and the weights")


def load_model_config(model: str, trust_remote_code: bool = False):
    """The checkpoint's `config.json` (positions, vocabulary size) without loading weights."""
    from transformers import AutoConfig

    from gbhub.training.tokenizers import hub_kwargs

    try:
        return AutoConfig.from_pretrained(model, **hub_kwargs(trust_remote_code))
    except (OSError, ValueError, KeyError) as err:
        raise _load_error("read the config", model, err) from err


def load_model(model: str, label_names: Sequence[str], trust_remote_code: bool = False):
    """`AutoModelForSequenceClassification` with `id2label`/`label2id` from the dataset's ClassLabel."""
    from transformers import AutoModelForSequenceClassification

    from gbhub.training.tokenizers import hub_kwargs

    id2label = {i: name for i, name in enumerate(label_names)}
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            model, num_labels=len(label_names), id2label=id2label, label2id={n: i for i, n in id2label.items()},
            **hub_kwargs(trust_remote_code),
        )
    except (OSError, ValueError) as err:
        raise _load_error("load", model, err) from err


def _encode_split(ds, task: Task, tokenizer, max_tokens: int, stride: int | None,
                  strategy: str) -> tuple[EncodedSplit, dict]:
    """Tokenize a split into windows (one row per window, labels repeated per window) and describe it."""
    sequences = arrow_table(ds).column("sequence").to_pylist()
    targets, row_ids = targets_and_ids(ds, task)
    enc = tokenizer.encode_windows(sequences, max_tokens, stride, strategy)
    rows = RowDataset({"input_ids": enc.input_ids, "lengths": enc.plan.count + tokenizer.num_special_tokens,
                       "labels": targets[enc.plan.sequence_index]}, trim="lengths")
    window = max_tokens - tokenizer.num_special_tokens
    if strategy == "truncate":  # the plan holds the first window only: count tokens per sequence
        counts = tokenizer.token_counts(sequences)
        if counts is None:
            counts = tokenizer.token_ids(sequences).counts
    else:  # the windows of a sequence span its tokens: the last ends flush with its end
        last = np.cumsum(enc.plan.windows_per_sequence) - 1
        counts = enc.plan.start[last] + enc.plan.count[last] if len(last) else np.zeros(0, np.int64)
    lengths = sequence_lengths(ds)
    facts = {"sequences": len(targets), "windows": len(enc.plan), "longest_bp": int(lengths.max(initial=0)),
             "longest_tokens": int(np.max(counts, initial=0)), "longer_than_window": int((counts > window).sum())}
    return EncodedSplit(rows, targets, row_ids, plan=enc.plan), facts


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
    trust_remote_code: bool = False,
) -> np.ndarray:
    """Class probabilities of `sequences` from a fine-tuned run folder (or any sequence classifier).

    Args:
        model_dir: a run folder or checkpoint with a classification head and its tokenizer.
        sequences: `n` DNA strings.
        long_sequences: `windows` (logits averaged over overlapping windows) or `truncate`.
        stride: tokens between window starts (default half a window).
        max_tokens: tokens per window (default: the tokenizer's `model_max_length`, else the model's positions).
        batch_size: windows per forward pass.
        device: torch device (default: cuda when available, else cpu).
        trust_remote_code: for models that run their own code.

    Returns:
        `(n, num_labels)` probabilities.
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    from gbhub.training.metrics_util import softmax
    from gbhub.training.tokenizers import DNATokenizer, hub_kwargs
    from gbhub.training.windows import aggregate_logits

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, **hub_kwargs(trust_remote_code))
    tokenizer = DNATokenizer.from_pretrained(str(model_dir), max_length=max_tokens,
                                             trust_remote_code=trust_remote_code)
    max_tokens = max_tokens or tokenizer.max_length or model_positions(model.config)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    strategy = "truncate" if long_sequences == "truncate" else "mean"
    enc = tokenizer.encode_windows(sequences, max_tokens, stride, strategy)
    rows = RowDataset({"input_ids": enc.input_ids, "lengths": enc.plan.count + tokenizer.num_special_tokens},
                      trim="lengths")
    logits = []
    with torch.inference_mode():
        for lo in range(0, len(rows), batch_size):
            batch = rows.__getitems__(range(lo, min(lo + batch_size, len(rows))))
            inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask")}
            logits.append(model(**inputs).logits.float().cpu().numpy())
    window_logits = np.concatenate(logits) if logits else np.zeros((0, model.config.num_labels), np.float32)
    return softmax(aggregate_logits(window_logits, enc.plan))
