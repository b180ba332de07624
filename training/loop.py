"""The Accelerate backend: epochs, per-epoch validation, best-checkpoint selection, checkpoint/resume, prediction.

Recipes whose backend is `accelerate` (the CNN, and every from-scratch PyTorch model) are trained here;
`gbhub.training.hf_trainer` is the `Trainer` backend. Both take the same `RunArguments` and return a
`FitResult`; `gbhub.training.run` drives them over seeds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gbhub.builders.errors import GBHubError
from gbhub.training.args import RunArguments
from gbhub.training.data import EncodedSplit, Prepared, collate

logger = logging.getLogger(__name__)

# Checkpoints live in the run folder under names `gbhub push-model` leaves out (`checkpoint-*`).
LAST = "checkpoint-last"  # full resumable state: weights, optimizer, scheduler, RNG states, trainer_state.json
BEST = "checkpoint-best"  # save_pretrained of the best epoch so far
STATE_FILE = "trainer_state.json"


class TrainingError(GBHubError, ValueError):
    """Training cannot go on (e.g. the selection metric is undefined); says what to change."""


@dataclass
class FitResult:
    """What a backend's `fit` did.

    Attributes:
        history: per epoch: `epoch`, `step`, `train_loss`, `validation` (all metrics), `seconds`.
        best_epoch: the epoch whose weights were kept (selected on validation).
        best_value: its validation selection metric.
        global_step: optimizer steps taken.
        stop_reason: `epochs`, `max_steps` or `early_stopping`.
        train_seconds: wall time spent in training passes (no evaluation).
        train_samples: training rows processed (all processes).
        resumed_from_epoch: the last completed epoch found in the checkpoint, 0 when not resumed.
        unit: what a training row is (`sequences` or `windows`).
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int | float | None = None
    best_value: float | None = None
    global_step: int = 0
    stop_reason: str = "epochs"
    train_seconds: float = 0.0
    train_samples: int = 0
    resumed_from_epoch: int = 0
    unit: str = "sequences"

    @property
    def samples_per_second(self) -> float:
        """Training throughput in rows per second."""
        return self.train_samples / self.train_seconds if self.train_seconds else float("nan")


class EpochShuffleSampler(torch.utils.data.Sampler):
    """A permutation that depends only on `(seed, epoch)`, so resumed and sharded runs see the same order."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of `epoch`."""
        self.epoch = epoch

    def __iter__(self):
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist())

    def __len__(self) -> int:
        return self.n


def make_accelerator(run: RunArguments):
    """The `Accelerator` of a run: precision (`auto` = bf16/fp16 on a GPU that has it, fp32 on CPU),
    gradient accumulation, CPU forced with `--cpu` (a setting of `accelerate launch` wins for `auto`)."""
    from accelerate import Accelerator

    cpu = run.cpu or not _has_accelerator_device()  # accelerate forms a CPU process group (torchrun) only with cpu=True
    precision = {"fp32": "no", "fp16": "fp16", "bf16": "bf16"}.get(run.precision)
    if run.precision == "auto":
        if os.environ.get("ACCELERATE_MIXED_PRECISION"):
            precision = None
        elif torch.cuda.is_available() and not cpu:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "no"
    elif precision != "no" and cpu:
        raise TrainingError(f"--precision {run.precision} needs a GPU; use --precision auto or fp32 on the CPU")
    return Accelerator(mixed_precision=precision, gradient_accumulation_steps=run.gradient_accumulation_steps, cpu=cpu)


def _has_accelerator_device() -> bool:
    accel = getattr(torch, "accelerator", None)
    if accel is not None and hasattr(accel, "is_available"):
        return bool(accel.is_available())
    return torch.cuda.is_available()


def make_loader(split: EncodedSplit, batch_size: int, *, sampler=None, num_workers: int = 0):
    """A `DataLoader` of whole-batch fetches over a split's rows, in row order unless a `sampler` is given."""
    from torch.utils.data import DataLoader

    return DataLoader(split.rows, batch_size=batch_size, sampler=sampler, collate_fn=collate, num_workers=num_workers)


def _model_inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k not in ("index", "lengths", "labels")}


def _combine_strands(forward: torch.Tensor, reverse: torch.Tensor, regression: bool) -> torch.Tensor:
    """Average the two strands' outputs: values for regression, probabilities (as log-probabilities,
    so that a softmax of the result gives the mean probability) for classification."""
    if regression:
        return (forward + reverse) / 2
    mean = (torch.softmax(forward.float(), -1) + torch.softmax(reverse.float(), -1)) / 2
    return torch.log(mean.clamp_min(1e-30))


@torch.no_grad()
def predict(model, loader, accelerator, *, reverse_complement: Callable | None = None) -> np.ndarray:
    """Outputs (logits, or regression values) of every row of a prepared loader, gathered, in row order.

    Args:
        model: a prepared model returning `.logits` `(batch, k)`.
        loader: a prepared loader over a `RowDataset` (batches carry `index`).
        accelerator: the run's `Accelerator`.
        reverse_complement: when given, average with the other strand's outputs (`--rc-average`).

    Returns:
        `(n_rows, k)` float64.
    """
    model.eval()
    regression = getattr(accelerator.unwrap_model(model).config, "problem_type", None) == "regression"
    outputs, index = [], []
    for batch in loader:
        out = model(**_model_inputs(batch)).logits.float()
        if reverse_complement is not None:
            rc = model(**{**_model_inputs(batch), "input_ids": reverse_complement(batch)}).logits.float()
            out = _combine_strands(out, rc, regression)
        out, i = accelerator.gather_for_metrics((out, batch["index"]))
        outputs.append(out.cpu())
        index.append(i.cpu())
    order = torch.cat(index).argsort()
    return torch.cat(outputs)[order].double().numpy()


def fit(model, prepared: Prepared, run: RunArguments, seed: int, accelerator, run_dir, *,
        evaluate: Callable[[np.ndarray], dict], greater_is_better: bool, rc_augment: bool = False,
        rc_average: bool = False):
    """Train `model` with Adam, validating every epoch and keeping the best weights.

    Each epoch ends with a validation pass (`evaluate(outputs)` scores the validation rows' outputs),
    the save of the best weights when `run.selection_metric` improved (`RUN/checkpoint-best`,
    `save_pretrained`), and a full resumable state (`RUN/checkpoint-last`: weights, optimizer,
    scheduler, RNG states and `trainer_state.json`, swapped in atomically). With `run.resume`, training
    continues at the epoch after the last completed one (a run stopped by `max_steps` mid-epoch resumes
    at the next epoch boundary; one stopped early goes straight to the end); raising `epochs` or
    `max_steps` and resuming extends a finished run. Data order and augmentation depend only on
    `(seed, epoch)`, so a resumed run equals an uninterrupted one. On return the model holds the best
    weights.

    Args:
        model: a `PreTrainedModel` taking the rows' inputs and `labels`, returning `.loss` and `.logits`.
        prepared: the encoded splits (`train` and `validation` are used).
        run: the run's arguments.
        seed: this seed (weights were initialised by the caller).
        accelerator: from `make_accelerator`.
        run_dir: the seed's folder.
        evaluate: validation outputs `(n_rows, k)` -> metrics (with `run.selection_metric` among them).
        greater_is_better: direction of the selection metric.
        rc_augment: replace each training row by its reverse complement with probability 1/2.
        rc_average: validate on the mean of both strands' outputs.

    Returns:
        `(prepared_model, FitResult)`; use `accelerator.unwrap_model(prepared_model)` to save it.
    """
    from tqdm.auto import tqdm
    from transformers import get_scheduler

    ckpt_dir = Path(run_dir)
    train, validation = prepared.splits["train"], prepared.splits["validation"]
    rc = prepared.reverse_complement
    if (rc_augment or rc_average) and rc is None:
        raise TrainingError("--rc-augment/--rc-average need an input encoding with a reverse complement")
    sampler = EpochShuffleSampler(len(train.rows), seed)
    train_dl = make_loader(train, run.batch_size, sampler=sampler, num_workers=run.num_workers)
    val_dl = make_loader(validation, run.eval_batch_size, num_workers=run.num_workers)
    optimizer = torch.optim.Adam(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    # Optimiser steps of each process; accelerate steps a prepared scheduler once per process for each.
    steps_per_epoch = math.ceil(len(train_dl) / accelerator.num_processes / run.gradient_accumulation_steps)
    steps = run.epochs * steps_per_epoch if run.max_steps is None else min(run.max_steps, run.epochs * steps_per_epoch)
    total = max(steps, 1) * accelerator.num_processes
    scheduler = get_scheduler(run.lr_scheduler, optimizer, num_warmup_steps=int(run.warmup_ratio * total),
                              num_training_steps=total)
    model, optimizer, train_dl, val_dl, scheduler = accelerator.prepare(model, optimizer, train_dl, val_dl, scheduler)

    result = FitResult(unit="windows" if train.plan is not None else "sequences")
    patience_left = run.early_stopping_patience
    start_epoch = 1
    if run.resume and (ckpt_dir / LAST / STATE_FILE).exists():
        accelerator.load_state(str(ckpt_dir / LAST))
        state = json.loads((ckpt_dir / LAST / STATE_FILE).read_text())
        result = FitResult(**state["result"])
        result.resumed_from_epoch = state["epoch"]
        patience_left = state["patience_left"]
        start_epoch = state["epoch"] + 1
        if accelerator.is_main_process:
            logger.info("resuming after epoch %d (step %d) from %s", state["epoch"], result.global_step, ckpt_dir / LAST)
        if result.stop_reason == "early_stopping":
            start_epoch = run.epochs + 1  # finished: go straight to the final evaluation
        result.stop_reason = "epochs"
        if run.max_steps is not None and result.global_step >= run.max_steps:
            start_epoch = run.epochs + 1
    else:
        if run.resume:
            logger.warning("--resume: no checkpoint in %s, starting from scratch", ckpt_dir / LAST)
        if accelerator.is_main_process:  # a fresh run must not inherit an earlier run's best weights
            shutil.rmtree(ckpt_dir / BEST, ignore_errors=True)
        accelerator.wait_for_everyone()

    for epoch in range(start_epoch, run.epochs + 1):
        # accelerate's loader re-sets its sampler's epoch from its own counter on every pass: set both
        train_dl.set_epoch(epoch) if hasattr(train_dl, "set_epoch") else sampler.set_epoch(epoch)
        flip_rng = torch.Generator().manual_seed(seed * 100_003 + epoch)
        model.train()
        loss_sum = torch.zeros((), device=accelerator.device)
        n_batches, n_samples = 0, 0
        bar = tqdm(total=len(train_dl), desc=f"epoch {epoch}/{run.epochs}",
                   disable=run.no_progress or not accelerator.is_local_main_process, leave=False)
        started = time.perf_counter()
        for batch in train_dl:
            inputs = _model_inputs(batch)
            if rc_augment:
                flip = (torch.rand(len(batch["labels"]), generator=flip_rng) < 0.5).to(accelerator.device)
                inputs["input_ids"] = torch.where(flip.unsqueeze(1), rc(batch), inputs["input_ids"])
            with accelerator.accumulate(model):
                loss = model(**inputs, labels=batch["labels"]).loss
                accelerator.backward(loss)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            loss_sum += loss.detach()
            n_batches += 1
            n_samples += len(batch["labels"])
            bar.update()
            if accelerator.sync_gradients:
                result.global_step += 1
                if result.global_step % 20 == 0:
                    bar.set_postfix(loss=f"{loss.item():.4f}")
            if run.max_steps is not None and result.global_step >= run.max_steps:
                break
        bar.close()
        seconds = time.perf_counter() - started
        result.train_seconds += seconds
        result.train_samples += int(accelerator.reduce(torch.tensor(n_samples, device=accelerator.device), "sum"))
        totals = accelerator.reduce(torch.stack([loss_sum, torch.tensor(float(n_batches), device=accelerator.device)]), "sum")
        train_loss = float(totals[0] / totals[1]) if float(totals[1]) else float("nan")

        val_metrics = evaluate(predict(model, val_dl, accelerator, reverse_complement=rc if rc_average else None))
        result.history.append(
            {"epoch": epoch, "step": result.global_step, "train_loss": train_loss, "validation": val_metrics, "seconds": seconds}
        )
        value = val_metrics.get(run.selection_metric)
        if value is None:  # e.g. AUROC on a validation split holding one class
            raise TrainingError(
                f"validation {run.selection_metric} is undefined in epoch {epoch} (does the validation split "
                "hold a single class?): select on another metric, e.g. --selection-metric loss"
            )
        improved = result.best_value is None or (value > result.best_value if greater_is_better else value < result.best_value)
        if improved:
            result.best_epoch, result.best_value = epoch, value
            patience_left = run.early_stopping_patience
            _save_best(model, accelerator, ckpt_dir / BEST)
        elif patience_left is not None:
            patience_left -= 1
        log = logger.info if accelerator.is_main_process else logger.debug
        log("epoch %d: train loss %.4f, validation %s %.4f%s", epoch, train_loss, run.selection_metric, value,
            " (best)" if improved else "")
        if run.max_steps is not None and result.global_step >= run.max_steps:
            result.stop_reason = "max_steps"
        elif patience_left is not None and patience_left <= 0:
            result.stop_reason = "early_stopping"
        _save_last(accelerator, ckpt_dir, epoch, result, patience_left)
        if result.stop_reason != "epochs":
            log("stopping after epoch %d: %s", epoch, result.stop_reason.replace("_", " "))
            break

    accelerator.wait_for_everyone()
    if (ckpt_dir / BEST).exists():
        _load_weights(accelerator.unwrap_model(model), ckpt_dir / BEST)
    return model, result


def _save_best(model, accelerator, path: Path) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        accelerator.unwrap_model(model).save_pretrained(tmp, save_function=accelerator.save)
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    accelerator.wait_for_everyone()


def _save_last(accelerator, ckpt_dir: Path, epoch: int, result: FitResult, patience_left) -> None:
    """Write the resumable state next to the previous one, then swap it in (an interrupted save leaves the old)."""
    tmp = ckpt_dir / (LAST + ".tmp")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    if accelerator.is_main_process:
        state = {
            "epoch": epoch,
            "patience_left": patience_left,
            "result": {k: v for k, v in asdict(result).items() if k != "resumed_from_epoch"},
        }
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1, allow_nan=True))
        old = ckpt_dir / (LAST + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if (ckpt_dir / LAST).exists():
            os.replace(ckpt_dir / LAST, old)
        os.replace(tmp, ckpt_dir / LAST)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def _load_weights(model, path: Path) -> None:
    from safetensors.torch import load_file

    state = load_file(str(path / "model.safetensors"), device=str(next(model.parameters()).device))
    model.load_state_dict(state)
