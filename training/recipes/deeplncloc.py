"""Transformer DeepLncLoc (Pipoli et al. 2022) as a recipe: 3-mer word2vec slices, a Transformer encoder, side features."""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np

from gbhub.training.args import ArgumentError
from gbhub.training.data import (
    DatasetInputError,
    EncodedSplit,
    Prepared,
    RowDataset,
    Task,
    arrow_table,
    longest_sequence,
    targets_and_ids,
)
from gbhub.training.recipes.base import CardText, Recipe, head_config, side_features_notes

logger = logging.getLogger(__name__)

BIBTEX = r"""@article{pipoli2022predicting,
  title   = {Predicting gene expression levels from {DNA} sequences and post-transcriptional information with
             transformers},
  author  = {Pipoli, Vittorio and Cappelli, Mattia and Palladini, Alessandro and Peluso, Carlo and Lovino, Marta
             and Ficarra, Elisa},
  journal = {Computer Methods and Programs in Biomedicine},
  volume  = {225},
  pages   = {107035},
  year    = {2022},
  doi     = {10.1016/j.cmpb.2022.107035}
}"""

#: bp per slice when `--slices` is not given (the paper: 10,500 bp in 210 slices of 50 bp).
PAPER_SLICE_BP = 50
#: 3-mers per word2vec sentence: gensim silently cuts sentences after 10,000 words, a 10,500 bp window has 10,498.
SENTENCE_KMERS = 1_000


@dataclass
class DeepLncLocArguments:
    """Transformer DeepLncLoc's input, embedding and network (defaults: the paper's 64-d 3-mer word2vec, 50 bp slices)."""

    max_length_bp: int | None = field(default=None, metadata={
        "help": "model input length in bp (default: the longest sequence over all splits)", "min": 3})
    long_sequences: Literal["truncate", "error"] = field(default="truncate", metadata={
        "help": "sequences longer than --max-length-bp: keep their first bases (with a warning), or stop"})
    slices: int | None = field(default=None, metadata={
        "help": "consecutive slices the sequence is cut into, each the mean of its 3-mer vectors (default: one per "
                "50 bp, the paper's 210 for 10,500 bp)", "min": 1})
    embedding_size: int = field(default=64, metadata={
        "help": "word2vec vector size = the Transformer's width (the paper's 64)", "min": 2})
    heads: int = field(default=4, metadata={"help": "attention heads (must divide --embedding-size)", "min": 1})
    layers: int = field(default=1, metadata={"help": "Transformer encoder layers (the paper: one block)", "min": 1})
    feedforward_size: int = field(default=128, metadata={"help": "feed-forward width of each encoder layer", "min": 1})
    hidden_size: int = field(default=64, metadata={"help": "width of the first dense layer after pooling", "min": 1})
    dropout: float = field(default=0.1, metadata={
        "help": "dropout in the encoder and between the dense layers", "min": 0, "below": 1})
    word2vec_window: int = field(default=5, metadata={"help": "word2vec context window in 3-mers", "min": 1})
    word2vec_epochs: int = field(default=5, metadata={"help": "word2vec passes over the training sequences", "min": 1})
    word2vec_algorithm: Literal["cbow", "skipgram"] = field(default="cbow", metadata={
        "help": "word2vec training algorithm (gensim's sg=0 or sg=1)"})


def _stable_hash(text: str) -> int:
    """gensim's seed hash: Python's `hash` of a string changes between processes, crc32 does not."""
    return zlib.crc32(text.encode())


class _Sentences:
    """The training split's 3-mers as word2vec sentences (re-iterable; unknown 3-mers split a sentence)."""

    def __init__(self, ids: np.ndarray, lengths: np.ndarray):
        from gbhub.training.models.deeplncloc import kmer_names

        self.ids, self.lengths = ids, lengths
        self.words = np.array(kmer_names() + [""], dtype=object)

    def __iter__(self):
        from gbhub.training.models.deeplncloc import UNKNOWN_KMER

        for row, n in zip(self.ids, self.lengths):
            row = row[: max(int(n) - 2, 0)]
            for run in np.split(row, np.flatnonzero(row == UNKNOWN_KMER)):
                run = run[run != UNKNOWN_KMER]
                for start in range(0, len(run), SENTENCE_KMERS):
                    chunk = run[start:start + SENTENCE_KMERS]
                    if len(chunk) > 1:
                        yield self.words[chunk].tolist()


def train_word2vec(ids: np.ndarray, lengths: np.ndarray, *, size: int, window: int, epochs: int, skipgram: bool,
                   seed: int) -> tuple[np.ndarray, dict]:
    """A 3-mer word2vec table `(64, size)` (rows in `kmer_names()` order) trained with gensim on the given rows.

    One worker thread and a process-independent seed hash make it deterministic. 3-mers that never occur keep
    a zero vector.

    Returns:
        `(table, facts)`: facts for `metrics.json` (tokens, vocabulary, seconds, gensim version).
    """
    import gensim
    from gensim.models import Word2Vec

    from gbhub.training.models.deeplncloc import NUM_KMERS, kmer_names

    sentences = _Sentences(ids, lengths)
    started = time.perf_counter()
    model = Word2Vec(sentences=sentences, vector_size=size, window=window, min_count=1, sg=int(skipgram),
                     workers=1, seed=seed, epochs=epochs, hashfxn=_stable_hash)
    table = np.zeros((NUM_KMERS, size), dtype=np.float32)
    for i, kmer in enumerate(kmer_names()):
        if kmer in model.wv.key_to_index:
            table[i] = model.wv[kmer]
    facts = {"tokens": int(model.corpus_total_words), "vocabulary": len(model.wv.key_to_index),
             "seconds": round(time.perf_counter() - started, 2), "gensim": gensim.__version__,
             "window": window, "epochs": epochs, "algorithm": "skipgram" if skipgram else "cbow", "seed": seed,
             "trained_on": "train split"}
    return table, facts


class DeepLncLocRecipe(Recipe):
    name = "deeplncloc"
    summary = "Transformer DeepLncLoc (Pipoli et al. 2022): 3-mer word2vec slices, a Transformer encoder, regression"
    description = (
        "Train Transformer DeepLncLoc on one benchmark config (a regression benchmark such as synthetic_expression, "
        "or a classification one): overlapping 3-mers embedded by word2vec (gensim, trained on the training split "
        "only, 64 dimensions), the sequence cut into slices (one per 50 bp by default; the paper's 210 for 10,500 bp) "
        "each the mean of its 3-mer vectors, then batch norm, sinusoidal positions, a Transformer encoder, global "
        "average pooling, the side features (--side-features), two dense layers; MSE loss, Adam. The word2vec table "
        "is saved with the model. Protocol paper = Adam lr 1e-3, batch 64, up to 30 epochs, early stopping after 5 "
        "epochs without a better validation loss (the paper gives its optimiser and loss, not these values)."
    )
    backend = "accelerate"
    arguments = DeepLncLocArguments
    defaults = {"epochs": 30, "batch_size": 64, "lr": 1e-3, "early_stopping_patience": 5}
    protocols = {"paper": {}}
    tasks = ("regression", "classification")
    side_features = True
    # Small matrices: one intra-op thread is fastest on a busy CPU (as the CNN); --torch-threads overrides.
    cpu_threads = 1

    def check(self, args: DeepLncLocArguments, run) -> None:
        if args.embedding_size % args.heads:
            raise ArgumentError(f"--heads {args.heads} does not divide --embedding-size {args.embedding_size}: each "
                                "head reads embedding_size / heads dimensions; pick a divisor")
        if args.max_length_bp is not None and args.slices is not None and args.slices > args.max_length_bp - 2:
            raise ArgumentError(f"--slices {args.slices} is more than the {args.max_length_bp - 2} 3-mers of "
                                f"--max-length-bp {args.max_length_bp}: use fewer slices")

    def prepare(self, dsd, task: Task, args: DeepLncLocArguments, run) -> Prepared:
        from gbhub.training.models.deeplncloc import kmer_ids

        longest = longest_sequence(dsd)
        length = max(args.max_length_bp or longest, 3)
        slices = args.slices or max(1, round(length / PAPER_SLICE_BP))
        if slices > length - 2:
            raise ArgumentError(f"--slices {slices} is more than the {length - 2} 3-mers of {length} bp sequences: "
                                "use fewer slices")
        slice_bp = -(-(length - 2) // slices)
        filled = -(-(length - 2) // slice_bp)  # slices holding at least one 3-mer position
        if filled < slices:  # e.g. 600 slices of 998 3-mers: slices of 2, the last 101 empty
            if args.slices is not None:
                raise ArgumentError(f"--slices {slices}: the {length - 2} 3-mers of {length} bp sequences cut into "
                                    f"slices of {slice_bp} fill only {filled} slices (the rest would be empty); "
                                    f"pass --slices {filled}, or a count that divides them evenly")
            slices, slice_bp = filled, -(-(length - 2) // filled)
        splits, truncated, lengths = {}, {}, {}
        for name in ("train", "validation", "test"):
            sequences = arrow_table(dsd[name]).column("sequence").to_pylist()
            seq_lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
            truncated[name] = int((seq_lengths > length).sum())
            if truncated[name]:
                message = (f"{truncated[name]} of {len(sequences)} sequences of split {name!r} are longer than the "
                           f"input length {length} bp (longest {seq_lengths.max()} bp)")
                if args.long_sequences == "error":
                    raise DatasetInputError(f"{message}: raise --max-length-bp to at least {seq_lengths.max()}, or "
                                            f"pass --long-sequences truncate to keep the first {length} bases of each")
                logger.warning("%s: keeping the first %d bases of each (--long-sequences truncate)", message, length)
            targets, row_ids = targets_and_ids(dsd[name], task)
            ids = kmer_ids(sequences, length)
            splits[name] = EncodedSplit(RowDataset({"input_ids": ids, "labels": targets}), targets, row_ids)
            lengths[name] = np.minimum(seq_lengths, length)
        table, facts = train_word2vec(splits["train"].rows.tensors["input_ids"].numpy(), lengths["train"],
                                      size=args.embedding_size, window=args.word2vec_window,
                                      epochs=args.word2vec_epochs, skipgram=args.word2vec_algorithm == "skipgram",
                                      seed=run.seeds[0])
        info = {"input_length_bp": length, "longest_sequence_bp": longest, "truncated": truncated,
                "long_sequences": args.long_sequences, "slices": slices,
                "slice_bp": slice_bp, "encoding": "overlapping 3-mers, word2vec", "word2vec": facts}
        return Prepared(splits, info, assets={"kmer_vectors": table})

    def build_model(self, prepared: Prepared, task: Task, args: DeepLncLocArguments):
        from gbhub.training.models.deeplncloc import DeepLncLocConfig, DeepLncLocForSequenceClassification

        config = DeepLncLocConfig(
            input_length=prepared.info["input_length_bp"],
            num_slices=prepared.info["slices"],
            embedding_size=args.embedding_size,
            num_heads=args.heads,
            num_layers=args.layers,
            feedforward_size=args.feedforward_size,
            hidden_size=args.hidden_size,
            dropout=args.dropout,
            **head_config(task, prepared),
        )
        model = DeepLncLocForSequenceClassification(config)
        model.set_kmer_vectors(prepared.assets["kmer_vectors"])
        return model

    def card(self, record: Mapping[str, Any], args: DeepLncLocArguments) -> CardText:
        mc = record["model_config"]
        info = record["input"]
        side = record.get("side_features") or []
        regression = record.get("task") == "regression"
        w2v = info["word2vec"]
        width = mc.get("embedding_size", 64)
        outputs = len(record["label_names"])
        architecture = (
            "Transformer DeepLncLoc (Pipoli et al., Computer Methods and Programs in Biomedicine 2022) as a "
            "transformers `PreTrainedModel` (`DeepLncLocForSequenceClassification`, config `DeepLncLocConfig`, model "
            "type `transformer_deeplncloc`):\n\n"
            f"- input: the {info['input_length_bp']:,} bp sequence as {info['input_length_bp'] - 2:,} overlapping "
            "3-mer ids (a 3-mer holding `N`, or past the end of a shorter sequence, is left out)\n"
            f"- DeepLncLoc embedding: {info['slices']} consecutive slices of {info['slice_bp']} 3-mers, each the mean "
            f"of its 3-mers' {width}-d word2vec vectors (gensim {w2v['gensim']}, {w2v['algorithm']}, window "
            f"{w2v['window']}, {w2v['epochs']} epochs, trained on the training split only: {w2v['tokens']:,} 3-mers; "
            "the table is the buffer `kmer_vectors`, saved with the weights)\n"
            f"- BatchNorm over the {width} features → + sinusoidal positional encoding\n"
            f"- Transformer encoder: {mc.get('num_layers', 1)} layer(s), {mc.get('num_heads', 4)} heads, feed-forward "
            f"{mc.get('feedforward_size', 128)}, dropout {mc.get('dropout', 0.1)}\n"
            f"- global average pooling over the slices ({width})"
            + (f", concatenated with {len(side)} standardised side features ({', '.join(side)})" if side else "")
            + f"\n- Linear({mc.get('hidden_size', 64)}) → ReLU → dropout → Linear({outputs})"
            + (" = predicted values, MSE loss" if regression else " = logits, cross-entropy") + "\n\n"
            f"{record['num_parameters']:,} parameters (the word2vec table and positions are buffers, not counted)."
        )
        names = ", ".join(record["label_names"])
        side_line = f"side = torch.zeros(1, {len(side)})  # raw {', '.join(side)}, in this order\n" if side else ""
        usage = f"""import torch
from gbhub.training.models.deeplncloc import DeepLncLocForSequenceClassification

model = DeepLncLocForSequenceClassification.from_pretrained("<this repo or folder>").eval()
input_ids = model.encode(["ACGT" * 300])  # (batch, {info['input_length_bp'] - 2}) 3-mer ids: padded / cropped
{side_line}with torch.no_grad():
    out = model(input_ids=input_ids{', side_features=side' if side else ''}).logits
print(out{'' if regression else '.softmax(-1)'})  # {'predicted ' + names if regression else 'classes: ' + names}"""
        truncated = {s: n for s, n in info["truncated"].items() if n}
        note = (f"**Input length.** The model reads {info['input_length_bp']:,} bp (the longest sequence of the "
                f"dataset is {info['longest_sequence_bp']:,} bp); shorter sequences are padded with unknown 3-mers, "
                "which no slice mean counts.")
        if truncated:
            note += (" Longer sequences keep their first bases (`--long-sequences truncate`): "
                     + ", ".join(f"{n} in {s}" for s, n in truncated.items()) + ".")
        return CardText(
            title="Transformer DeepLncLoc",
            architecture=architecture,
            differences=PAPER_DIFFERENCES,
            usage=usage,
            install='pip install "genomic-benchmarks-hub[train]"',
            library_name="genomic-benchmarks-hub",
            citation=BIBTEX,
            notes=[note, *side_features_notes(record)],
        )


PAPER_DIFFERENCES = (
    "Implemented in PyTorch; the paper does not give the number of heads, encoder layers, feed-forward and dense "
    "widths, dropout, batch size, learning rate or epochs: the defaults here (4 heads, 1 layer, feed-forward 128, "
    "dense 64, dropout 0.1, batch 64, Adam lr 1e-3, up to 30 epochs, early stopping after 5) are ours.",
    "word2vec (gensim) is trained once per run on the training split's sequences only (seeded by the first seed, "
    "one worker thread, deterministic) and kept fixed while the network trains, as the paper's offline embedding; "
    "3-mers holding `N` are left out of the slice means.",
    "Selection and evaluation: the best epoch on a validation split stratified on target deciles, the test split "
    "scored once; mean ± standard deviation over seeds (the paper reports a 95% interval over its best 10 runs, "
    "which is optimistic).",
)
