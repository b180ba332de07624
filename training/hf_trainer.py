"""The transformers `Trainer` backend: `RunArguments` -> `TrainingArguments`, per-epoch selection, prediction.

Recipes whose backend is `trainer` (DNABERT and any Hub sequence-classification checkpoint) are trained
here; `gbhub.training.loop` is the Accelerate backend. Both return a `FitResult`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from gbhub.training.args import RunArguments
from gbhub.training.data import EncodedSplit, Prepared, collate
from gbhub.training.loop import FitResult, TrainingError

logger = logging.getLogger(__name__)


def precision_flags(precision: str, use_cpu: bool) -> dict[str, bool]:
    """`fp16`/`bf16` of `TrainingArguments`: mixed precision only on a GPU that supports it."""
    import torch

    gpu = not use_cpu and torch.cuda.is_available()
    if precision == "fp32" or (precision == "auto" and not gpu):
        return {"fp16": False, "bf16": False}
    if not gpu:
        raise TrainingError(f"--precision {precision} needs a CUDA GPU; use --precision auto or fp32 on this machine")
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"fp16": precision == "fp16", "bf16": precision == "bf16"}


def _metric_key(name: str) -> str:
    # The sequence-level loss is logged as `sequence_loss`: `eval_loss` is the Trainer's own row-level loss.
    return "sequence_loss" if name == "loss" else name


def training_arguments(run: RunArguments, seed: int, output_dir: Path, greater_is_better: bool, *,
                       report_to: str = "none", logging_steps: int = 50):
    """The `TrainingArguments` of one seed: every `RunArguments` field mapped here and nowhere else."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=run.epochs,
        max_steps=run.max_steps if run.max_steps is not None else -1,
        per_device_train_batch_size=run.batch_size,
        per_device_eval_batch_size=run.eval_batch_size,
        gradient_accumulation_steps=run.gradient_accumulation_steps,
        learning_rate=run.lr,
        warmup_steps=run.warmup_ratio,  # transformers 5: a float < 1 is a ratio (`warmup_ratio` is gone)
        lr_scheduler_type=run.lr_scheduler,
        weight_decay=run.weight_decay,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=logging_steps,
        load_best_model_at_end=True,
        metric_for_best_model=_metric_key(run.selection_metric),
        greater_is_better=greater_is_better,
        save_total_limit=1,  # the best checkpoint is kept as well
        seed=seed,
        data_seed=seed,
        use_cpu=run.cpu,
        dataloader_num_workers=run.num_workers,
        report_to=[] if report_to == "none" else [report_to],
        remove_unused_columns=False,
        disable_tqdm=run.no_progress,
        **precision_flags(run.precision, run.cpu),
    )


def _collate(batch):
    """The rows' batch without the bookkeeping columns the model does not take."""
    batch = dict(collate(batch))
    batch.pop("index", None)
    batch.pop("lengths", None)
    return batch


def fit(model, prepared: Prepared, run: RunArguments, seed: int, run_dir: Path, *,
        evaluate: Callable[[np.ndarray], dict], greater_is_better: bool, report_to: str = "none",
        logging_steps: int = 50):
    """Fine-tune one seed with per-epoch validation; the model of the best epoch is loaded at the end.

    Checkpoints go to `run_dir/checkpoint-trainer/` (full states, so `--resume` continues an interrupted
    seed); the caller deletes them unless `--keep-checkpoints`.

    Returns:
        `(trainer, FitResult)`; `trainer.model` is the selected model.
    """
    from transformers import EarlyStoppingCallback, Trainer

    work_dir = Path(run_dir) / "checkpoint-trainer"

    def compute_metrics(eval_pred) -> dict:
        logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        metrics = {k: v for k, v in evaluate(np.asarray(logits)).items() if v is not None}
        metrics["sequence_loss"] = metrics.pop("loss")
        return metrics

    callbacks = []
    if run.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=run.early_stopping_patience))
    trainer = Trainer(
        model=model,
        args=training_arguments(run, seed, work_dir, greater_is_better, report_to=report_to,
                                logging_steps=logging_steps),
        train_dataset=prepared.splits["train"].rows,
        eval_dataset=prepared.splits["validation"].rows,
        processing_class=prepared.tokenizer,
        data_collator=_collate,
        compute_metrics=compute_metrics,
        callbacks=callbacks,
    )
    resume = bool(run.resume and any(work_dir.glob("checkpoint-*")))
    if run.resume and not resume:
        logger.warning("--resume: no Trainer checkpoint in %s, starting from scratch", work_dir)
    output = trainer.train(resume_from_checkpoint=True if resume else None)
    trainer.compute_metrics = None  # every split is scored by the caller, through its window plan
    history, best_epoch = _history(trainer.state)
    stop = "max_steps" if run.max_steps is not None and output.global_step >= run.max_steps else "epochs"
    if history and best_epoch is not None and len(history) < run.epochs and stop == "epochs":
        stop = "early_stopping"
    result = FitResult(
        history=history,
        best_epoch=best_epoch,
        global_step=int(output.global_step),
        stop_reason=stop,
        train_seconds=float(output.metrics.get("train_runtime", 0.0)),
        train_samples=int(round(float(output.metrics.get("train_samples_per_second", 0.0))
                                * float(output.metrics.get("train_runtime", 0.0)))),
        unit="windows" if prepared.splits["train"].plan is not None else "sequences",
    )
    return trainer, result


def predict(trainer, split: EncodedSplit) -> np.ndarray:
    """`(n_rows, k)` outputs of a split's rows, in row order."""
    logits = trainer.predict(split.rows).predictions
    return np.asarray(logits[0] if isinstance(logits, tuple) else logits, dtype=np.float64)


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
        validation["row_loss"] = entry["eval_loss"]
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
