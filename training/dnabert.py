"""DNABERT fine-tuning through the transformers `Trainer`: k-mer windows in, a selected model and its card out."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import SPLITS
from gbhub.training.kmer import KmerTokenizer, build_dnabert_tokenizer
from gbhub.training.outputs import better, card_dataset_id, json_safe, paper_comparison, write_json, write_predictions
from gbhub.training.outputs import hardware as hardware_info
from gbhub.training.windows import (
    LONG_SEQUENCE_STRATEGIES,
    WindowPlan,
    aggregate_logits,
    default_stride,
    encode_windows,
)

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "zhihan1996/DNA_bert_6"
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions_test.csv"
CURVE_FILE = "training_curve.png"
CONFUSION_FILE = "confusion_matrix.png"
#: Trainer checkpoints live under this folder of the run; `gbhub push-model` leaves `checkpoint-*` out.
CHECKPOINT_DIR = "checkpoint-runs"


class DNABertError(GBHubError, ValueError):
    """A DNABERT fine-tuning request that cannot run: bad arguments, checkpoint or tokenizer."""


@dataclass
class DNABertArguments:
    """Arguments of `gbhub train dnabert` (each field is a flag; a JSON file can overlay them).

    Defaults follow the Genomic Benchmarks DNABERT notebook (4 epochs, batch 32, lr 8e-5, warmup 0.1,
    cosine, weight decay 0.01), except that the checkpoint is selected on validation, not on test.
    """

    dataset: str = field(default="", metadata={"help": "Hub dataset id (ORG/NAME) or local Hub-layout folder"})
    config: str = field(default="", metadata={"help": "benchmark config, e.g. human_nontata_promoters"})
    out: str = field(default="", metadata={"help": "run folder to write (model, metrics, predictions, card)"})
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "DNABERT k-mer checkpoint: Hub id or local folder"})
    kmer: int | None = field(
        default=None,
        metadata={"help": "k-mer size 3-6 (default: from the checkpoint's vocabulary, else 6)"},
    )
    max_length: int = field(
        default=512, metadata={"help": "tokens per window incl. [CLS]/[SEP]; at most the model's positions"}
    )
    long_seq: str = field(
        default="mean",
        metadata={
            "help": "sequences longer than a window: 'mean' = overlapping windows, logits averaged per "
            "sequence; 'truncate' = first window only",
            "choices": LONG_SEQUENCE_STRATEGIES,
        },
    )
    stride: int | None = field(
        default=None, metadata={"help": "bp between window starts (default: half a window, (max_length-2)//2)"}
    )
    epochs: float = field(default=4.0, metadata={"help": "training epochs"})
    batch_size: int = field(default=32, metadata={"help": "training batch size per device"})
    eval_batch_size: int | None = field(default=None, metadata={"help": "evaluation batch size (default: 2x batch)"})
    lr: float = field(default=8e-5, metadata={"help": "peak learning rate (AdamW)"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "fraction of steps of linear warm-up"})
    lr_scheduler: str = field(default="cosine", metadata={"help": "transformers scheduler name"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "batches per optimizer step"})
    seeds: tuple[int, ...] = field(default=(42,), metadata={"help": "comma-separated seeds, e.g. 1,2,3 (mean ± std)"})
    metric_for_best_model: str = field(
        default="accuracy",
        metadata={"help": "validation metric selecting the epoch and the seed",
                  "choices": ("accuracy", "f1", "mcc", "auroc", "auprc", "loss")},
    )
    precision: str = field(
        default="auto",
        metadata={"help": "auto = bf16/fp16 when the GPU supports it, else fp32", "choices": PRECISIONS},
    )
    cpu: bool = field(default=False, metadata={"help": "train on the CPU even when a GPU is available"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many optimizer steps (smoke runs)"})
    max_train_samples: int | None = field(default=None, metadata={"help": "train on a seeded subset of this size"})
    logging_steps: int = field(default=50, metadata={"help": "log the training loss every N steps"})
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes"})
    keep_checkpoints: bool = field(
        default=False, metadata={"help": f"keep the Trainer checkpoints in RUN/{CHECKPOINT_DIR}/"}
    )
    report_to: str = field(default="none", metadata={"help": "Trainer loggers (none, tensorboard, wandb...)"})
    torch_threads: int | None = field(
        default=None, metadata={"help": "intra-op CPU threads (torch.set_num_threads); 1 is fastest on busy CPUs"}
    )
    card_dataset_id: str | None = field(
        default=None,
        metadata={"help": "dataset id written in the model card (default: --dataset when it is a Hub id, "
                          "else the folder's name)"},
    )
    card_base_model: str | None = field(
        default=None,
        metadata={"help": "base_model written in the model card (default: --model when it is a Hub id)"},
    )

    def __post_init__(self) -> None:
        if isinstance(self.seeds, (int, str)):
            self.seeds = parse_seeds(str(self.seeds))
        self.seeds = tuple(int(s) for s in self.seeds)

    def validate(self) -> None:
        """Raise :class:`DNABertError` naming the first bad argument."""
        for name in ("dataset", "config", "out"):
            if not getattr(self, name):
                raise DNABertError(f"--{name.replace('_', '-')} is required (or give it in the --args-json file)")
        positive = ("epochs", "batch_size", "lr", "gradient_accumulation_steps", "logging_steps")
        for name in positive:
            if not getattr(self, name) > 0:
                raise DNABertError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise DNABertError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.long_seq not in LONG_SEQUENCE_STRATEGIES:
            raise DNABertError(f"--long-seq must be one of {', '.join(LONG_SEQUENCE_STRATEGIES)}, got {self.long_seq!r}")
        if self.precision not in PRECISIONS:
            raise DNABertError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not self.seeds:
            raise DNABertError("--seeds needs at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise DNABertError(f"--seeds has duplicates: {','.join(map(str, self.seeds))}")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise DNABertError(f"--torch-threads must be at least 1, got {self.torch_threads}")
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise DNABertError(f"--max-train-samples must be at least 1, got {self.max_train_samples}")

    @classmethod
    def from_json(cls, path: str | os.PathLike, **overrides: Any) -> "DNABertArguments":
        """Arguments from a JSON file of field names -> values, then `overrides` on top."""
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DNABertError(f"cannot read the arguments JSON {path}: {err}") from err
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DNABertError(
                f"unknown key(s) {', '.join(unknown)} in {path}; expected some of {', '.join(sorted(known))}"
            )
        return cls(**{**values, **overrides})


def parse_seeds(text: str) -> tuple[int, ...]:
    """`"1,2,3"` -> `(1, 2, 3)`."""
    try:
        return tuple(int(s) for s in text.replace(" ", "").split(",") if s)
    except ValueError as err:
        raise DNABertError(f"--seeds expects comma-separated integers such as 1,2,3, got {text!r}") from err


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
        KmerTokenizationError: the vocabulary is not a DNABERT k-mer vocabulary (or not of size `kmer`).
        DNABertError: the vectorized ids differ from the tokenizer's on probe sequences.
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
        DNABertError: naming the first differing sequence.
    """
    from gbhub.training.kmer import kmer_string

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
            raise DNABertError(
                f"the checkpoint's tokenizer ({type(tokenizer).__name__}) and the vectorized k-mer ids differ on "
                f"{key} of a {len(probes[bad])} bp probe sequence: is it a DNABERT {fast.k}-mer tokenizer "
                "(space-separated k-mers, [CLS]/[SEP], no lower-casing)?"
            )


def load_model(model: str, label_names: Sequence[str]):
    """`AutoModelForSequenceClassification` with `id2label`/`label2id` from the dataset's ClassLabel."""
    from transformers import AutoModelForSequenceClassification

    id2label = {i: name for i, name in enumerate(label_names)}
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            model, num_labels=len(label_names), id2label=id2label, label2id={n: i for i, n in id2label.items()}
        )
    except OSError as err:
        raise DNABertError(
            f"cannot load checkpoint {model!r}: {err}. Pass --model with a Hub id (online) or a local folder "
            "holding config.json and the weights"
        ) from err


def model_positions(model) -> int:
    """Token positions of the model (`max_position_embeddings`, 512 for DNABERT)."""
    return int(getattr(model.config, "max_position_embeddings", 512))


# ------------------------------------------------------------------------------------------------------
# Data


class WindowDataset:
    """A map-style torch dataset of tokenized windows; batches are cut to their longest window.

    Stores ids in the smallest integer type holding the vocabulary (uint16 for DNABERT), so a million
    512-token windows take 1 GB.

    Args:
        input_ids: `(n_windows, length)` token ids.
        lengths: `(n_windows,)` real tokens per window (attention mask = first `lengths` positions).
        labels: `(n_windows,)` class ids, or None for prediction.
    """

    def __init__(self, input_ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray | None = None):
        import torch

        self.input_ids = torch.from_numpy(np.ascontiguousarray(input_ids))
        self.lengths = torch.from_numpy(np.asarray(lengths, dtype=np.int64))
        self.labels = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A batch: `input_ids`, `attention_mask` `(batch, longest)` int64, `labels` `(batch,)`."""
        import torch

        idx = torch.as_tensor(indices, dtype=torch.long)
        lengths = self.lengths[idx]
        width = int(lengths.max()) if len(idx) else 1
        batch = {
            "input_ids": self.input_ids[idx, :width].long(),
            "attention_mask": (torch.arange(width)[None, :] < lengths[:, None]).long(),
        }
        if self.labels is not None:
            batch["labels"] = self.labels[idx]
        return batch


def collate(batch):
    """Pass a batch from :meth:`WindowDataset.__getitems__` through (single items are concatenated)."""
    if isinstance(batch, Mapping):
        return batch
    import torch

    return {k: torch.cat([b[k] for b in batch]) for k in batch[0]}


@dataclass
class EncodedSplit:
    """One split as windows.

    Attributes:
        dataset: the :class:`WindowDataset` of all windows (labels repeated per window).
        plan: window -> sequence map.
        labels: `(n_sequences,)` class ids.
        row_ids: the dataset's `id` column.
    """

    dataset: WindowDataset
    plan: WindowPlan
    labels: np.ndarray
    row_ids: list[str]


def encode_split(ds, tokenizer: KmerTokenizer, max_length: int, stride: int | None, strategy: str) -> EncodedSplit:
    """Tokenize a `datasets` split (`sequence`, `label`, optional `id`) into windows."""
    table = ds.data
    sequences = table.column("sequence").to_pylist()
    labels = np.asarray(table.column("label").to_numpy(zero_copy_only=False), dtype=np.int64)
    row_ids = [str(x) for x in table.column("id").to_pylist()] if "id" in table.column_names else [
        str(i) for i in range(len(labels))
    ]
    enc = encode_windows(tokenizer, sequences, max_length, stride, strategy, dtype=tokenizer.id_dtype)
    lengths = enc.plan.count + 2
    dataset = WindowDataset(enc.input_ids, lengths, labels[enc.plan.sequence_index])
    return EncodedSplit(dataset, enc.plan, labels, row_ids)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of `(n, classes)` logits, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sequence_metrics(window_logits: np.ndarray, split: EncodedSplit) -> tuple[dict, np.ndarray]:
    """Metrics of a split from window logits: aggregate per sequence, softmax, score.

    Returns:
        `(metrics, probabilities (n_sequences, classes))`; metrics from `training.metrics_util`.
    """
    from gbhub.training.metrics_util import compute_metrics

    probs = softmax(aggregate_logits(window_logits, split.plan))
    return compute_metrics(probs, split.labels, probs.shape[1]), probs


# ------------------------------------------------------------------------------------------------------
# Training


@dataclass
class SeedResult:
    """What one seed's fine-tune produced.

    Attributes:
        seed: the seed.
        metrics: `{"validation": {...}, "test": {...}}` of the selected (best-validation) epoch.
        history: per epoch `{"epoch", "step", "train_loss", "validation": {...}}`.
        best_epoch: the selected epoch (None when no evaluation ran).
        global_step: optimizer steps taken.
        test_probs: `(n_test, classes)` probabilities.
        throughput: training time and windows per second reported by the Trainer.
    """

    seed: int
    metrics: dict
    history: list
    best_epoch: float | None
    global_step: int
    test_probs: np.ndarray
    throughput: dict


def precision_flags(precision: str, use_cpu: bool) -> dict[str, bool]:
    """`fp16`/`bf16` TrainingArguments: mixed precision only on a GPU that supports it."""
    import torch

    gpu = not use_cpu and torch.cuda.is_available()
    if precision == "fp32" or (precision == "auto" and not gpu):
        return {"fp16": False, "bf16": False}
    if not gpu:
        raise DNABertError(f"--precision {precision} needs a CUDA GPU; use --precision auto or fp32 on this machine")
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"fp16": precision == "fp16", "bf16": precision == "bf16"}


def training_arguments(args: DNABertArguments, seed: int, output_dir: Path, steps_per_epoch: int):
    """The `TrainingArguments` of one seed (notebook protocol, selection on validation each epoch)."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size or 2 * args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        learning_rate=args.lr,
        warmup_steps=args.warmup_ratio,  # transformers 5: a float < 1 is a ratio (`warmup_ratio` is gone)
        lr_scheduler_type=args.lr_scheduler,
        weight_decay=args.weight_decay,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=max(1, min(args.logging_steps, steps_per_epoch)),
        load_best_model_at_end=True,
        metric_for_best_model=_metric_key(args.metric_for_best_model),
        greater_is_better=args.metric_for_best_model != "loss",
        save_total_limit=1,  # the best checkpoint is kept as well
        save_only_model=True,
        seed=seed,
        data_seed=seed,
        use_cpu=args.cpu,
        dataloader_num_workers=args.num_workers,
        report_to=[] if args.report_to == "none" else [args.report_to],
        remove_unused_columns=False,
        **precision_flags(args.precision, args.cpu),
    )


def _metric_key(name: str) -> str:
    # the sequence-level loss is logged as `sequence_loss`; `eval_loss` is the Trainer's window-level loss
    return "sequence_loss" if name == "loss" else name


def fine_tune_seed(
    args: DNABertArguments,
    seed: int,
    splits: Mapping[str, EncodedSplit],
    tokenizer,
    label_names: Sequence[str],
    work_dir: Path,
):
    """Fine-tune one seed: train with per-epoch validation, reload the best epoch, score validation and test.

    Returns:
        `(trainer, SeedResult)`; `trainer.model` is the selected model.
    """
    from transformers import Trainer, set_seed

    set_seed(seed)  # the classification head is initialised in from_pretrained
    model = load_model(args.model, label_names)
    validation = splits["validation"]

    def compute_metrics(eval_pred) -> dict:
        logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        metrics, _ = sequence_metrics(logits, validation)
        metrics["sequence_loss"] = metrics.pop("loss")
        return metrics

    world = int(os.environ.get("WORLD_SIZE", 1))
    per_step = args.batch_size * args.gradient_accumulation_steps * max(world, 1)
    steps_per_epoch = max(1, math.ceil(len(splits["train"].dataset) / per_step))
    trainer = Trainer(
        model=model,
        args=training_arguments(args, seed, work_dir, steps_per_epoch),
        train_dataset=splits["train"].dataset,
        eval_dataset=validation.dataset,
        processing_class=tokenizer,
        data_collator=collate,
        compute_metrics=compute_metrics,
    )
    output = trainer.train()
    history, best_epoch = _history(trainer.state)
    trainer.compute_metrics = None  # it scores validation windows; each split is scored below with its plan
    metrics, test_probs = {}, None
    for name in ("validation", "test"):
        logits = trainer.predict(splits[name].dataset).predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        metrics[name], probs = sequence_metrics(logits, splits[name])
        if name == "test":
            test_probs = probs
    throughput = {
        "train_samples_per_second": float(output.metrics.get("train_samples_per_second", 0.0)),
        "train_seconds": float(output.metrics.get("train_runtime", 0.0)),
        "train_samples": len(splits["train"].dataset),
        "unit": "windows",
    }
    return trainer, SeedResult(seed, metrics, history, best_epoch, int(output.global_step), test_probs, throughput)


def _history(state) -> tuple[list[dict], float | None]:
    """Per-epoch training loss and validation metrics from `trainer.state.log_history`."""
    logs = state.log_history
    history, previous = [], 0.0
    for entry in (e for e in logs if "eval_loss" in e):
        epoch = float(entry["epoch"])
        losses = [x["loss"] for x in logs if "loss" in x and previous < float(x.get("epoch", 0)) <= epoch + 1e-9]
        skip = {"runtime", "samples_per_second", "steps_per_second", "loss", "sequence_loss"}
        validation = {k[5:]: v for k, v in entry.items() if k.startswith("eval_") and k[5:] not in skip}
        validation["loss"] = entry.get("eval_sequence_loss", entry["eval_loss"])
        validation["window_loss"] = entry["eval_loss"]
        history.append({
            "epoch": round(epoch, 4),
            "step": int(entry["step"]),
            "train_loss": float(np.mean(losses)) if losses else None,
            "validation": validation,
        })
        previous = epoch
    best_epoch = None
    if state.best_model_checkpoint:
        best_step = int(Path(state.best_model_checkpoint).name.rsplit("-", 1)[-1])
        best_epoch = next((h["epoch"] for h in history if h["step"] == best_step), None)
    return history, best_epoch


# ------------------------------------------------------------------------------------------------------
# Run: seeds, outputs, card


def fine_tune(args: DNABertArguments) -> dict:
    """`gbhub train dnabert`: fine-tune over `args.seeds`, write the run folder, return the metrics record.

    The run folder (`args.out`) gets what `gbhub push-model` uploads: the selected model (the seed with
    the best validation score) and its tokenizer (`save_pretrained`), `metrics.json`, `predictions_test.csv`,
    `training_curve.png`, `confusion_matrix.png` and the model card `README.md`. With several seeds,
    `seed-<n>/` holds each seed's metrics and test predictions. Trainer checkpoints are deleted at the
    end unless `--keep-checkpoints` (then under `checkpoint-runs/`, which push-model leaves out).
    """
    args.validate()
    from gbhub.training.data import label_names as dataset_label_names
    from gbhub.training.data import load_splits

    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    out = Path(args.out)
    dsd = load_splits(args.dataset, args.config, max_train_samples=args.max_train_samples, seed=args.seeds[0])
    names = dataset_label_names(dsd)
    probe = load_model_config(args.model)
    positions = int(getattr(probe, "max_position_embeddings", 512))
    if args.max_length > positions:
        raise DNABertError(
            f"--max-length {args.max_length} exceeds the {positions} positions of {args.model}; pass "
            f"--max-length {positions} or less (longer sequences are split into windows, see --long-seq)"
        )
    tokenizer, fast, tokenizer_source = load_tokenizer(args.model, args.kmer, args.max_length)
    if int(getattr(probe, "vocab_size", fast.vocab_size)) < fast.vocab_size:
        raise DNABertError(
            f"the tokenizer has {fast.vocab_size} tokens but {args.model} embeds only {probe.vocab_size}; "
            f"is --kmer {fast.k} the checkpoint's k-mer size?"
        )
    stride = args.stride or default_stride(args.max_length)
    started = time.perf_counter()
    splits = {s: encode_split(dsd[s], fast, args.max_length, stride, args.long_seq) for s in SPLITS}
    tokenize_seconds = time.perf_counter() - started
    long_info = long_sequence_info(args, dsd, splits, fast.k, stride)
    logger.info("tokenized %s in %.2f s: %s", args.config, tokenize_seconds, long_info["splits"])

    results: list[SeedResult] = []
    best, main_process, n_params = None, True, None
    for seed in args.seeds:
        work_dir = out / CHECKPOINT_DIR / f"seed-{seed}"
        trainer, result = fine_tune_seed(args, seed, splits, tokenizer, names, work_dir)
        results.append(result)
        main_process = trainer.is_world_process_zero()
        metric = args.metric_for_best_model
        if best is None or better(result.metrics["validation"].get(metric), best.metrics["validation"].get(metric), metric):
            best = result
            n_params = int(sum(p.numel() for p in trainer.model.parameters()))
            if main_process:  # the selected model and its tokenizer, no pickled training_args.bin
                trainer.model.save_pretrained(out)
                tokenizer.save_pretrained(out)
        if main_process and len(args.seeds) > 1:
            seed_dir = out / f"seed-{seed}"
            write_json(seed_dir / METRICS_FILE, seed_record(result))
            _write_predictions(seed_dir / PREDICTIONS_FILE, splits["test"], result.test_probs, names)
        if main_process and not args.keep_checkpoints:
            shutil.rmtree(work_dir, ignore_errors=True)
        del trainer
    if main_process and not args.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
    if not main_process:
        return {}

    from gbhub.training.metrics_util import summarize_runs

    record = {
        "model": "dnabert",
        "base_model": args.model,
        "dataset": args.dataset,
        "config": args.config,
        "label_names": list(names),
        "n_rows": {s: int(splits[s].plan.n_sequences) for s in SPLITS},
        "seed": best.seed,
        "seeds": list(args.seeds),
        "selected_seed": best.seed,
        "metric_for_best": args.metric_for_best_model,
        "selection": f"best validation {args.metric_for_best_model} over epochs"
        + (" and seeds" if len(args.seeds) > 1 else ""),
        "metrics": best.metrics,
        "best_epoch": best.best_epoch,
        "global_step": best.global_step,
        "history": best.history,
        "summary": summarize_runs([r.metrics for r in results]) if len(results) > 1 else None,
        "per_seed": {str(r.seed): r.metrics for r in results},
        "num_parameters": n_params,
        "hyperparameters": hyperparameters(args, fast.k, stride),
        "long_sequences": long_info,
        "tokenizer": tokenizer_source,
        "throughput": {**best.throughput, "tokenize_seconds_all_splits": round(tokenize_seconds, 4)},
        "hardware": hardware(args),
        "card_dataset_id": args.card_dataset_id or card_dataset_id(args.dataset),
        "card_base_model": args.card_base_model or (None if Path(args.model).exists() else args.model),
    }
    record = json_safe(record)
    _write_predictions(out / PREDICTIONS_FILE, splits["test"], best.test_probs, names)
    plots = _write_plots(out, record, splits["test"], best.test_probs)
    write_json(out / METRICS_FILE, record)
    write_card(out, record, plots)
    logger.info("wrote %s", out)
    return record



def seed_record(result: SeedResult) -> dict:
    """The `seed-<n>/metrics.json` of one seed."""
    return json_safe({
        "seed": result.seed,
        "metrics": result.metrics,
        "best_epoch": result.best_epoch,
        "global_step": result.global_step,
        "history": result.history,
        "throughput": result.throughput,
    })


def load_model_config(model: str):
    """The checkpoint's `config.json` (positions, vocabulary size) without loading weights."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as err:
        raise DNABertError(
            f"cannot read the config of checkpoint {model!r}: {err}. Pass --model with a Hub id (online, or "
            "cached) or a local folder holding config.json and the weights"
        ) from err


def long_sequence_info(args: DNABertArguments, dsd, splits: Mapping[str, EncodedSplit], k: int, stride: int) -> dict:
    """How sequences longer than one window were handled, per split (for metrics JSON and card)."""
    import pyarrow.compute as pc

    window_kmers = args.max_length - 2
    info = {}
    for name, split in splits.items():
        lengths = np.asarray(pc.utf8_length(dsd[name].data.column("sequence")).to_numpy(zero_copy_only=False))
        longer = int(np.sum(np.maximum(lengths - k + 1, 0) > window_kmers))
        info[name] = {
            "sequences": int(split.plan.n_sequences),
            "windows": len(split.plan),
            "longest_bp": int(lengths.max(initial=0)),
            "longer_than_window": longer,
        }
    return {
        "strategy": args.long_seq,
        "max_length_tokens": args.max_length,
        "window_bp": window_kmers + k - 1,
        "stride_bp": stride if args.long_seq == "mean" else None,
        "splits": info,
    }


def hyperparameters(args: DNABertArguments, k: int, stride: int) -> dict:
    """The hyperparameters recorded in the metrics JSON and the card."""
    return {
        "base_model": args.model,
        "kmer": k,
        "max_length": args.max_length,
        "long_seq": args.long_seq,
        "stride_bp": stride,
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "learning_rate": args.lr,
        "warmup_ratio": args.warmup_ratio,
        "lr_scheduler": args.lr_scheduler,
        "weight_decay": args.weight_decay,
        "optimizer": "AdamW (Trainer default)",
        "precision": args.precision,
        "metric_for_best": args.metric_for_best_model,
        "max_train_samples": args.max_train_samples,
        "seeds": list(args.seeds),
    }


def hardware(args: DNABertArguments) -> dict:
    """Where the run ran: device, processes, precision, GPU/CPU model, torch threads and version."""
    import torch

    gpu = not args.cpu and torch.cuda.is_available()
    flags = precision_flags(args.precision, args.cpu)
    return hardware_info(
        "cuda" if gpu else "cpu",
        int(os.environ.get("WORLD_SIZE", 1)),
        "bf16" if flags["bf16"] else "fp16" if flags["fp16"] else "no",
        torch.cuda.get_device_name(0) if gpu else None,
    )


def _write_predictions(path: Path, split: EncodedSplit, probs: np.ndarray, names: Sequence[str]) -> None:
    """CSV, one row per test sequence: id, label, prediction (ids and names), windows, class probabilities."""
    write_predictions(path, split.row_ids, split.labels, probs, names,
                      extra={"windows": split.plan.windows_per_sequence})


def _write_plots(out: Path, record: Mapping[str, Any], test: EncodedSplit, probs: np.ndarray) -> dict[str, str]:
    from gbhub.training import plots

    written = {}
    if record["history"]:
        plots.training_curve(record["history"], out / CURVE_FILE, metric="accuracy", best_epoch=record["best_epoch"])
        written["Training curve (selected epoch dashed)"] = CURVE_FILE
    plots.confusion_matrix(test.labels, probs.argmax(axis=1), record["label_names"], out / CONFUSION_FILE,
                           title=f"{record['config']} — test")
    written["Confusion matrix on the test split"] = CONFUSION_FILE
    return written


def architecture_text(record: Mapping[str, Any], config) -> str:
    """Markdown describing the fine-tuned model and its input."""
    k = record["hyperparameters"]["kmer"]
    n_params = record.get("num_parameters")
    return (
        f"DNABERT (Ji et al., Bioinformatics 2021): a BERT encoder ({config.num_hidden_layers} layers, hidden "
        f"size {config.hidden_size}, {config.num_attention_heads} heads, {config.max_position_embeddings} "
        f"positions, vocabulary {config.vocab_size}) pre-trained with overlapping {k}-mer tokens, fine-tuned "
        f"end to end with a linear classification head on the pooled `[CLS]` token "
        f"(`AutoModelForSequenceClassification`, base checkpoint `{record['base_model']}`)"
        + (f", {n_params:,} parameters" if n_params else "")
        + ".\n\n"
        f"Input: overlapping {k}-mers (stride 1) of the upper-cased sequence, `[CLS] k-mers [SEP]`; a k-mer "
        f"holding `N` or any other non-ACGT letter is `[UNK]`. Tokenizer: {record['tokenizer']}."
    )


def long_sequence_note(record: Mapping[str, Any]) -> str:
    """The model card paragraph on sequences longer than the model's positions."""
    ls = record["long_sequences"]
    longer = ", ".join(f"{s} {v['longer_than_window']} of {v['sequences']}" for s, v in ls["splits"].items())
    head = (
        f"### Long sequences\n\nOne window holds {ls['max_length_tokens']} tokens = {ls['window_bp']} bp. "
        f"Sequences longer than that: {longer}. "
    )
    if ls["strategy"] == "mean":
        return head + (
            f"They are split into overlapping windows starting every {ls['stride_bp']} bp, the last one "
            "flush with the sequence end; each window is classified and the logits are averaged per "
            "sequence (`--long-seq mean`). Training uses every window with its sequence's label."
        )
    return head + "They are truncated to their first window (`--long-seq truncate`); the rest is not seen."


def write_card(out: Path, record: Mapping[str, Any], plots: Mapping[str, str]) -> Path:
    """Render the run's `README.md` model card through `hub_cards.model_card`."""
    from transformers import AutoConfig

    from gbhub.hub_cards.model_card import ModelCardInfo, write_model_card
    from gbhub.training.paper_results import BIBTEX

    config = AutoConfig.from_pretrained(out)
    paper = paper_comparison(
        record["config"],
        "The paper reports no DNABERT numbers: its CNN baseline is shown for reference; ours is this DNABERT "
        "model on the test split, percent.",
    )
    hp = record["hyperparameters"]
    th = record["throughput"]
    hyper = {
        "base model": hp["base_model"],
        "k-mer": hp["kmer"],
        "epochs (max)": hp["epochs"],
        "max steps": hp["max_steps"],
        "optimizer steps": record["global_step"],
        "batch size (per device)": hp["batch_size"],
        "gradient accumulation": hp["gradient_accumulation_steps"],
        "optimizer": f"AdamW (lr {hp['learning_rate']}, weight decay {hp['weight_decay']})",
        "schedule": f"{hp['lr_scheduler']}, warm-up ratio {hp['warmup_ratio']}",
        "precision": record["hardware"]["mixed_precision"],
        "checkpoint selection": f"best validation {record['metric_for_best']} (epoch {record['best_epoch']})",
        "tokens per window": hp["max_length"],
        "long sequences": hp["long_seq"],
        "training subset": hp["max_train_samples"] or "all",
    }
    k = hp["kmer"]
    usage = f"""import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model = AutoModelForSequenceClassification.from_pretrained("<this repo or folder>").eval()
tokenizer = AutoTokenizer.from_pretrained("<this repo or folder>")
seq = "ACGT..."  # upper case; sequences over {record['long_sequences']['window_bp']} bp: see "Long sequences"
kmers = " ".join(seq[i:i + {k}] for i in range(len(seq) - {k} + 1))
probs = model(**tokenizer(kmers, return_tensors="pt", truncation=True)).logits.softmax(-1)
# classes: {', '.join(record['label_names'])}. With genomic-benchmarks-hub installed, windows included:
# from gbhub.training.dnabert import predict; probs = predict("<folder>", [seq])"""
    info = ModelCardInfo(
        model_name=f"DNABERT — {record['config']}",
        dataset_id=record["card_dataset_id"],
        dataset_config=record["config"],
        label_names=record["label_names"],
        metrics=record["metrics"],
        architecture=architecture_text(record, config),
        hyperparameters=hyper,
        seeds=record["seeds"],
        seed_summary=record["summary"],
        differences=UPSTREAM_DIFFERENCES,
        hardware=record["hardware"],
        throughput={
            "training throughput": f"{th['train_samples_per_second']:.1f} windows/s",
            "training time": f"{th['train_seconds']:.1f} s",
            "tokenization (all splits)": f"{th['tokenize_seconds_all_splits']:.3f} s",
        },
        plots=plots,
        paper=paper,
        base_model=record["card_base_model"],
        notes=[long_sequence_note(record)],
        usage=usage,
        files={
            "config.json, model.safetensors": "the fine-tuned model (`save_pretrained`)",
            "tokenizer.json, tokenizer_config.json": f"its {k}-mer tokenizer",
            METRICS_FILE: "every metric of validation and test, training history, hyperparameters, hardware",
            PREDICTIONS_FILE: "test predictions and class probabilities per sequence",
            **({"seed-*/": "metrics and test predictions of each seed"} if len(record["seeds"]) > 1 else {}),
            ", ".join(plots.values()): "the plots above",
        },
        citation=BIBTEX,
    )
    return write_model_card(out, info)


UPSTREAM_DIFFERENCES = (
    "The epoch is selected on the validation split (10% of upstream train, stratified); the upstream "
    "notebook selected on test. Test is evaluated once, at the end.",
    "k-mers are mapped to ids by vectorized numpy code, tested identical to the checkpoint's tokenizer on "
    "space-joined k-mers (`[UNK]` for k-mers with `N`).",
    "Sequences longer than the model's positions (512 tokens for DNABERT) are classified by overlapping "
    "windows with averaged logits (or truncated with `--long-seq truncate`), instead of being silently "
    "truncated.",
)


# ------------------------------------------------------------------------------------------------------
# Inference


def predict(
    model_dir: str | os.PathLike,
    sequences: Sequence[str],
    *,
    long_seq: str = "mean",
    stride: int | None = None,
    max_length: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> np.ndarray:
    """Class probabilities of `sequences` from a fine-tuned run folder (or any DNABERT classifier).

    Args:
        model_dir: a run folder or checkpoint with a classification head.
        sequences: `n` DNA strings.
        long_seq: `mean` (windows, logits averaged) or `truncate`.
        stride: bp between window starts (default half a window).
        max_length: tokens per window (default: the model's positions).
        batch_size: windows per forward pass.
        device: torch device (default: cuda when available, else cpu).

    Returns:
        `(n, num_labels)` probabilities.
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    max_length = max_length or model_positions(model)
    _, fast, _ = load_tokenizer(str(model_dir), None, max_length)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    enc = encode_windows(fast, sequences, max_length, stride, long_seq, dtype=fast.id_dtype)
    data = WindowDataset(enc.input_ids, enc.plan.count + 2)
    logits = []
    with torch.inference_mode():
        for lo in range(0, len(data), batch_size):
            batch = data.__getitems__(range(lo, min(lo + batch_size, len(data))))
            logits.append(model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu().numpy())
    window_logits = np.concatenate(logits) if logits else np.zeros((0, model.config.num_labels), np.float32)
    return softmax(aggregate_logits(window_logits, enc.plan))


def arguments_dict(args: DNABertArguments) -> dict:
    """The arguments as a JSON-ready dict (for `--args-json` round trips)."""
    data = asdict(args)
    data["seeds"] = list(args.seeds)
    return data
