"""DNABERT (Ji et al. 2021) as a preset of the language-model recipe: overlapping k-mers, the notebook protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

from gbhub.training import paper_results
from gbhub.training.args import ArgumentError
from gbhub.training.recipes.lm import (
    InputSpec,
    LanguageModelRecipe,
    card_base_model_field,
    kmer_field,
    logging_steps_field,
    long_sequences_field,
    report_to_field,
)

DEFAULT_MODEL = "zhihan1996/DNA_bert_6"

DNABERT_BIBTEX = """@article{ji2021dnabert,
  title   = {{DNABERT}: pre-trained Bidirectional Encoder Representations from Transformers model for
             {DNA}-language in genome},
  author  = {Ji, Yanrong and Zhou, Zhihan and Liu, Han and Davuluri, Ramana V},
  journal = {Bioinformatics},
  volume  = {37},
  number  = {15},
  pages   = {2112--2120},
  year    = {2021},
  doi     = {10.1093/bioinformatics/btab083}
}"""


@dataclass
class DNABertArguments:
    """The checkpoint and its input: k-mers, tokens per window, long sequences."""

    model: str = field(default=DEFAULT_MODEL, metadata={"help": "DNABERT k-mer checkpoint: Hub id or local folder"})
    kmer: int | None = kmer_field()
    max_tokens: int = field(default=512, metadata={
        "help": "tokens per window including [CLS]/[SEP]; at most the model's positions", "min": 3})
    long_sequences: Literal["windows", "truncate", "error"] = long_sequences_field()
    window_stride_bp: int | None = field(default=None, metadata={
        "help": "bp between window starts (default: half a window)", "min": 1})
    report_to: str = report_to_field()
    logging_steps: int = logging_steps_field()
    card_base_model: str | None = card_base_model_field()


class DNABertRecipe(LanguageModelRecipe):
    """`gbhub train lm` with k-mer tokenization forced, DNABERT's defaults, protocol and card."""

    name = "dnabert"
    summary = "fine-tune a DNABERT k-mer checkpoint with the transformers Trainer"
    description = (
        "Fine-tune DNABERT on one benchmark config: overlapping k-mer windows, per-epoch validation, best epoch "
        "selected on validation, one final test evaluation, model card. Protocol notebook = the Genomic "
        "Benchmarks DNABERT notebook (4 epochs, batch 32, lr 8e-5, 10% warm-up, cosine, weight decay 0.01), "
        "selecting on validation accuracy instead of test. The same recipe as `gbhub train lm` with "
        "--tokenization kmer."
    )
    arguments = DNABertArguments
    defaults = {"epochs": 4, "batch_size": 32, "lr": 8e-5, "warmup_ratio": 0.1, "lr_scheduler": "cosine",
                "weight_decay": 0.01}
    protocols = {"notebook": {"selection_metric": "accuracy"}}
    title = "DNABERT"
    example_flags = " \\\n      --model PATH/TO/DNABERT  # default: zhihan1996/DNA_bert_6 (online)"
    _stride_flag = "--window-stride-bp"

    def spec(self, args: DNABertArguments) -> InputSpec:
        # One k-mer starts at each base, so a stride in bp is a stride in tokens.
        return InputSpec(model=args.model, tokenizer=args.model, tokenization="kmer", kmer=args.kmer,
                         max_tokens=args.max_tokens, long_sequences=args.long_sequences,
                         stride=args.window_stride_bp)

    def check(self, args: DNABertArguments, run) -> None:
        if args.kmer is not None and args.kmer not in (3, 4, 5, 6):
            raise ArgumentError(f"--kmer must be 3, 4, 5 or 6 (the DNABERT checkpoints), got {args.kmer}")
        if args.window_stride_bp is not None and args.window_stride_bp > args.max_tokens - 2:
            raise ArgumentError(f"--window-stride-bp {args.window_stride_bp} is larger than a window's "
                                f"{args.max_tokens - 2} k-mers: bases would be skipped")

    def card_title(self, config) -> str:
        return self.title

    def card_model(self, config, spec: InputSpec, n_params: int | None) -> str:
        return (
            f"DNABERT (Ji et al., Bioinformatics 2021): a BERT encoder ({config.num_hidden_layers} layers, hidden "
            f"size {config.hidden_size}, {config.num_attention_heads} heads, {config.max_position_embeddings} "
            f"positions, vocabulary {config.vocab_size}) pre-trained with overlapping k-mer tokens, fine-tuned "
            f"end to end with a linear classification head on the pooled `[CLS]` token "
            f"(`AutoModelForSequenceClassification`, base checkpoint `{spec.model}`)"
            + (f", {n_params:,} parameters" if n_params else "") + "."
        )

    def card_differences(self) -> Sequence[str]:
        return UPSTREAM_DIFFERENCES

    def card_citation(self) -> str:
        return DNABERT_BIBTEX + "\n\n" + paper_results.BIBTEX


UPSTREAM_DIFFERENCES = (
    "The epoch is selected on the validation split (10% of upstream train, stratified); the upstream "
    "notebook selected on test. Test is evaluated once, at the end.",
    "k-mers are mapped to ids by vectorized numpy code, tested identical to the checkpoint's tokenizer on "
    "space-joined k-mers (`[UNK]` for k-mers with `N`).",
    "Sequences longer than the model's positions (512 tokens = 515 bp for DNABERT-6) are classified by "
    "overlapping windows with averaged logits (or truncated with `--long-sequences truncate`), instead of being "
    "silently truncated.",
)
