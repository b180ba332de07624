"""The Accelerate training loop: epochs, validation, best-checkpoint selection, checkpoint/resume, prediction."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import DEFAULT_SEED
from gbhub.training import encoding
from gbhub.training.data import EncodedSplit, make_dataloader
from gbhub.training.metrics_util import compute_metrics
from gbhub.training.outputs import GREATER_IS_BETTER, better

logger = logging.getLogger(__name__)

# Checkpoints live in the run folder under names `gbhub push-model` leaves out (`checkpoint-*`).
LAST = "checkpoint-last"  # full resumable state: weights, optimizer, RNG states, trainer_state.json
BEST = "checkpoint-best"  # save_pretrained of the best epoch so far
STATE_FILE = "trainer_state.json"


class LoopConfigError(GBHubError, ValueError):
    """A hyperparameter of the loop that cannot train (reported as one line by `gbhub`)."""


@dataclass
class LoopConfig:
    """Hyperparameters of `fit` (the defaults are the paper's protocol: 10 epochs, batch 64, Adam lr 1e-3).

    Attributes:
        epochs: passes over the training split.
        batch_size: sequences per optimizer step per process (before gradient accumulation).
        eval_batch_size: sequences per forward pass when evaluating.
        lr: Adam learning rate.
        weight_decay: Adam (L2) weight decay.
        seed: seeds the weights, the data order and the augmentation.
        max_steps: stop after this many optimizer steps (smoke runs); None = all epochs.
        gradient_accumulation_steps: batches per optimizer step.
        rc_augment: replace each training sequence by its reverse complement with probability 1/2.
        rc_average: predict as the mean of the class probabilities of both strands (validation and test).
        early_stopping_patience: stop after this many epochs without a better validation metric.
        metric_for_best: validation metric selecting the best epoch (`loss` is minimised, others maximised).
        progress: show a tqdm bar on the main process.
    """

    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = DEFAULT_SEED
    max_steps: int | None = None
    gradient_accumulation_steps: int = 1
    rc_augment: bool = False
    rc_average: bool = False
    early_stopping_patience: int | None = None
    metric_for_best: str = "loss"
    progress: bool = True

    def __post_init__(self):
        if self.metric_for_best not in GREATER_IS_BETTER:
            raise LoopConfigError(
                f"metric_for_best {self.metric_for_best!r}: expected one of {', '.join(GREATER_IS_BETTER)}"
            )
        for name in ("epochs", "batch_size", "eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise LoopConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("max_steps", "early_stopping_patience"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise LoopConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise LoopConfigError(f"--lr must be positive, got {self.lr}")
        if self.weight_decay < 0:
            raise LoopConfigError(f"--weight-decay must be at least 0, got {self.weight_decay}")


@dataclass
class FitResult:
    """What `fit` did.

    Attributes:
        history: per epoch: `epoch`, `step`, `train_loss`, `validation` (all metrics), `seconds`.
        best_epoch: the epoch whose weights were kept (selected on validation).
        best_value: its validation `metric_for_best`.
        global_step: optimizer steps taken.
        stop_reason: `epochs`, `max_steps` or `early_stopping`.
        train_seconds: wall time spent in training passes (no evaluation).
        train_samples: training sequences processed (all processes).
        resumed_from_epoch: the last completed epoch found in the checkpoint, 0 when not resumed.
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_value: float | None = None
    global_step: int = 0
    stop_reason: str = "epochs"
    train_seconds: float = 0.0
    train_samples: int = 0
    resumed_from_epoch: int = 0

    @property
    def samples_per_second(self) -> float:
        """Training throughput in sequences per second."""
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


def make_accelerator(mixed_precision: str = "auto", gradient_accumulation_steps: int = 1, cpu: bool = False):
    """An `Accelerator` for this loop.

    Args:
        mixed_precision: `no`, `fp16`, `bf16`, or `auto` (bf16 on GPUs that support it, else fp16 on GPUs,
            no on CPU; a setting from `accelerate launch --mixed_precision` wins).
        gradient_accumulation_steps: batches per optimizer step.
        cpu: force the CPU even when a GPU is present.
    """
    from accelerate import Accelerator

    if not cpu and not _has_accelerator_device():
        cpu = True  # accelerate only forms a multi-process CPU group (torchrun, gloo) when told cpu=True
    if mixed_precision == "auto":
        if os.environ.get("ACCELERATE_MIXED_PRECISION"):
            mixed_precision = None
        elif torch.cuda.is_available() and not cpu:
            mixed_precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            mixed_precision = "no"
    return Accelerator(
        mixed_precision=mixed_precision, gradient_accumulation_steps=gradient_accumulation_steps, cpu=cpu
    )


def _has_accelerator_device() -> bool:
    accel = getattr(torch, "accelerator", None)
    if accel is not None and hasattr(accel, "is_available"):
        return bool(accel.is_available())
    return torch.cuda.is_available()


def eval_loader(split: EncodedSplit, batch_size: int):
    """An unshuffled `DataLoader` over `split` (batches carry `index` for reordering gathered outputs)."""
    return make_dataloader(split, batch_size, with_index=True)


def _rc_batch(batch: dict) -> torch.Tensor:
    return encoding.reverse_complement_ids(batch["input_ids"], batch["lengths"])


@torch.no_grad()
def predict(model, loader, accelerator, *, rc_average: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of every row of a (prepared) loader, gathered from all processes, in row order.

    Args:
        model: a prepared classification model returning `.logits` `(batch, num_labels)`.
        loader: a prepared `eval_loader`.
        accelerator: the run's `Accelerator`.
        rc_average: average the probabilities of the sequence and its reverse complement.

    Returns:
        `probs` `(n, num_labels)` float64 and `labels` `(n,)` int64, ordered as the split's rows.
    """
    model.eval()
    probs, labels, index = [], [], []
    for batch in loader:
        p = torch.softmax(model(input_ids=batch["input_ids"]).logits.float(), dim=-1)
        if rc_average:
            p_rc = torch.softmax(model(input_ids=_rc_batch(batch)).logits.float(), dim=-1)
            p = (p + p_rc) / 2
        p, y, i = accelerator.gather_for_metrics((p, batch["labels"], batch["index"]))
        probs.append(p.cpu())
        labels.append(y.cpu())
        index.append(i.cpu())
    order = torch.cat(index).argsort()
    return (
        torch.cat(probs)[order].double().numpy(),
        torch.cat(labels)[order].numpy().astype(np.int64),
    )


def evaluate_split(model, loader, accelerator, *, rc_average: bool = False, num_labels: int) -> tuple[dict, np.ndarray]:
    """All metrics of one split, plus its `(n, num_labels)` probabilities."""
    probs, labels = predict(model, loader, accelerator, rc_average=rc_average)
    return compute_metrics(probs, labels, num_labels), probs


def fit(model, train: EncodedSplit, validation: EncodedSplit, cfg: LoopConfig, accelerator, run_dir, *, resume: bool = False):
    """Train `model` with Adam, validating every epoch and keeping the best weights.

    Each epoch ends with a validation pass, the save of the best weights when `cfg.metric_for_best`
    improved (`RUN/checkpoint-best`, `save_pretrained`), and a full resumable state
    (`RUN/checkpoint-last`: weights, optimizer, RNG states and `trainer_state.json`, swapped in
    atomically). With `resume`, training continues at the epoch after the last completed one (a run
    stopped by `max_steps` mid-epoch resumes at the next epoch boundary; one stopped early goes straight
    to the end); raising `epochs` or `max_steps` and resuming extends a finished run. Data order and
    augmentation depend only on `(seed, epoch)`, so a resumed run equals an uninterrupted one. On
    return the model holds the best weights.

    Args:
        model: a `PreTrainedModel` for sequence classification taking `input_ids` and `labels`.
        train: the encoded training split.
        validation: the encoded validation split.
        cfg: hyperparameters.
        accelerator: from `make_accelerator`.
        run_dir: the run folder.
        resume: continue from `RUN/checkpoint-last` if it exists.

    Returns:
        `(prepared_model, FitResult)`; use `accelerator.unwrap_model(prepared_model)` to save it.
    """
    from tqdm.auto import tqdm

    ckpt_dir = Path(run_dir)
    num_labels = model.config.num_labels
    sampler = EpochShuffleSampler(len(train), cfg.seed)
    train_dl = make_dataloader(train, cfg.batch_size, sampler=sampler)
    val_dl = eval_loader(validation, cfg.eval_batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model, optimizer, train_dl, val_dl = accelerator.prepare(model, optimizer, train_dl, val_dl)

    result = FitResult()
    patience_left = cfg.early_stopping_patience
    start_epoch = 1
    if resume and (ckpt_dir / LAST / STATE_FILE).exists():
        accelerator.load_state(str(ckpt_dir / LAST))
        state = json.loads((ckpt_dir / LAST / STATE_FILE).read_text())
        result = FitResult(**{k: v for k, v in state["result"].items()})
        result.resumed_from_epoch = state["epoch"]
        patience_left = state["patience_left"]
        start_epoch = state["epoch"] + 1
        if accelerator.is_main_process:
            logger.info("resuming after epoch %d (step %d) from %s", state["epoch"], result.global_step, ckpt_dir / LAST)
        if result.stop_reason == "early_stopping":
            start_epoch = cfg.epochs + 1  # finished: go straight to the final evaluation
        result.stop_reason = "epochs"
        if cfg.max_steps is not None and result.global_step >= cfg.max_steps:
            start_epoch = cfg.epochs + 1
    else:
        if resume:
            logger.warning("--resume: no checkpoint in %s, starting from scratch", ckpt_dir / LAST)
        if accelerator.is_main_process:  # a fresh run must not inherit an earlier run's best weights
            shutil.rmtree(ckpt_dir / BEST, ignore_errors=True)
        accelerator.wait_for_everyone()

    for epoch in range(start_epoch, cfg.epochs + 1):
        # accelerate's loader re-sets its sampler's epoch from its own counter on every pass: set both
        train_dl.set_epoch(epoch) if hasattr(train_dl, "set_epoch") else sampler.set_epoch(epoch)
        flip_rng = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        model.train()
        loss_sum = torch.zeros((), device=accelerator.device)
        n_batches, n_samples = 0, 0
        bar = tqdm(
            total=len(train_dl),
            desc=f"epoch {epoch}/{cfg.epochs}",
            disable=not (cfg.progress and accelerator.is_local_main_process),
            leave=False,
        )
        started = time.perf_counter()
        for batch in train_dl:
            input_ids = batch["input_ids"]
            if cfg.rc_augment:
                flip = (torch.rand(len(input_ids), generator=flip_rng) < 0.5).to(input_ids.device)
                input_ids = torch.where(flip.unsqueeze(1), _rc_batch(batch), input_ids)
            with accelerator.accumulate(model):
                loss = model(input_ids=input_ids, labels=batch["labels"]).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
            loss_sum += loss.detach()
            n_batches += 1
            n_samples += len(input_ids)
            bar.update()
            if accelerator.sync_gradients:
                result.global_step += 1
                if result.global_step % 20 == 0:
                    bar.set_postfix(loss=f"{loss.item():.4f}")
            if cfg.max_steps is not None and result.global_step >= cfg.max_steps:
                break
        bar.close()
        seconds = time.perf_counter() - started
        result.train_seconds += seconds
        result.train_samples += int(accelerator.reduce(torch.tensor(n_samples, device=accelerator.device), "sum"))
        totals = accelerator.reduce(torch.stack([loss_sum, torch.tensor(float(n_batches), device=accelerator.device)]), "sum")
        train_loss = float(totals[0] / totals[1]) if float(totals[1]) else float("nan")

        val_metrics, _ = evaluate_split(model, val_dl, accelerator, rc_average=cfg.rc_average, num_labels=num_labels)
        result.history.append(
            {"epoch": epoch, "step": result.global_step, "train_loss": train_loss, "validation": val_metrics, "seconds": seconds}
        )
        value = val_metrics[cfg.metric_for_best]
        if value is None:  # e.g. AUROC on a validation split holding one class
            raise LoopConfigError(
                f"validation {cfg.metric_for_best} is undefined in epoch {epoch} (does the validation split "
                "hold a single class?): select on another metric, e.g. --metric-for-best loss"
            )
        improved = better(value, result.best_value, cfg.metric_for_best)
        if improved:
            result.best_epoch, result.best_value = epoch, value
            patience_left = cfg.early_stopping_patience
            _save_best(model, accelerator, ckpt_dir / BEST)
        elif patience_left is not None:
            patience_left -= 1
        log = logger.info if accelerator.is_main_process else logger.debug
        log(
            "epoch %d: train loss %.4f, validation loss %.4f, accuracy %.4f%s",
            epoch, train_loss, val_metrics["loss"], val_metrics["accuracy"], " (best)" if improved else "",
        )
        if cfg.max_steps is not None and result.global_step >= cfg.max_steps:
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
        tmp = path.with_name(path.name + ".tmp")
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
