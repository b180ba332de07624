"""Scoring helpers around the project's `evaluate` module: load it offline, score probabilities, summarise seeds."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

#: The local `evaluate` modules (folders holding `<name>.py`); they load offline, by path.
METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "genomic_classification"
REGRESSION_METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "genomic_regression"
METRIC_NAMES = ("accuracy", "f1", "mcc", "auroc", "auprc")
REGRESSION_METRIC_NAMES = ("r2", "pearson", "spearman", "mse", "mae")


@functools.lru_cache(maxsize=2)
def load_metric(task_kind: str = "classification"):
    """The project's `evaluate` metric of a task kind, loaded by path through `evaluate.load` (no network)."""
    import evaluate

    return evaluate.load(str(METRIC_PATH if task_kind == "classification" else REGRESSION_METRIC_PATH))


def compute_metrics(probs: np.ndarray, labels: np.ndarray, num_labels: int | None = None) -> dict[str, float]:
    """Every metric of the module plus the mean cross-entropy `loss`.

    Args:
        probs: `(n, num_labels)` class probabilities.
        labels: `(n,)` true class ids.
        num_labels: number of classes (default: `probs.shape[1]`).

    Returns:
        `accuracy`, `f1`, `mcc`, `auroc`, `auprc` (None when undefined) and `loss`.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    result = load_metric().compute(predictions=probs, references=labels, num_labels=num_labels or probs.shape[1])
    picked = probs[np.arange(len(labels)), labels]
    result["loss"] = float(-np.log(np.clip(picked, 1e-12, None)).mean())
    return result


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of `(n, classes)` logits, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


#: Whether a larger value of a metric is better, per task (`loss` is minimised everywhere).
GREATER_IS_BETTER = {
    "loss": False, "accuracy": True, "f1": True, "mcc": True, "auroc": True, "auprc": True,
    "r2": True, "pearson": True, "spearman": True, "mse": False, "mae": False,
}


def score(task_kind: str, outputs: np.ndarray, targets: np.ndarray, num_labels: int) -> tuple[dict, np.ndarray]:
    """Metrics of per-sequence model outputs, and the predictions they stand for.

    Args:
        task_kind: `classification` (outputs are logits) or `regression` (outputs are values).
        outputs: `(n, k)` per-sequence outputs.
        targets: `(n,)` class ids, or `(n[, k])` float targets.
        num_labels: classes (classification) or targets (regression).

    Returns:
        `(metrics, predictions)`: class probabilities `(n, classes)` or predicted values `(n, k)`.
    """
    if task_kind == "classification":
        probs = softmax(outputs)
        return compute_metrics(probs, targets, num_labels), probs
    values = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    truth = np.asarray(targets, dtype=np.float64).reshape(len(values), -1)
    metrics = load_metric("regression").compute(predictions=values.squeeze(1) if values.shape[1] == 1 else values,
                                                references=truth.squeeze(1) if truth.shape[1] == 1 else truth)
    metrics["loss"] = float(np.mean((values - truth) ** 2))  # the MSE the models minimise
    return metrics, values


def summarize_runs(runs: Sequence[Mapping[str, Mapping[str, float | None]]]) -> dict:
    """Mean and sample standard deviation of every metric of every split over several runs (seeds).

    Args:
        runs: one `{split: {metric: value}}` mapping per run.

    Returns:
        `{split: {metric: {"mean": m, "std": s, "n": k}}}` (std 0.0 for a single run; metrics that are
        None in some run are averaged over the others).
    """
    summary: dict = {}
    for split in runs[0]:
        summary[split] = {}
        for metric in runs[0][split]:
            values = [r[split][metric] for r in runs if r.get(split, {}).get(metric) is not None]
            if not values:
                continue
            arr = np.asarray(values, dtype=np.float64)
            std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
            summary[split][metric] = {"mean": float(arr.mean()), "std": std, "n": len(arr)}
    return summary


def format_mean_std(entry: Mapping[str, float], scale: float = 100.0, digits: int = 1) -> str:
    """`"84.6 ± 0.3"` from `{"mean": 0.846, "std": 0.003}` (scaled to percent by default)."""
    mean, std = entry["mean"] * scale, entry["std"] * scale
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def trainer_compute_metrics(eval_pred) -> dict[str, float]:
    """`Trainer(compute_metrics=trainer_compute_metrics)`: the project's metrics of a classifier's logits.

    The `genomic_classification` `evaluate` module (`METRIC_PATH`, loaded by path, offline) expects class
    *probabilities* `(n, num_labels)` (AUROC and AUPRC need them; class ids give accuracy, F1 and MCC only);
    the `Trainer` hands over logits, so they go through a softmax here. Rows are scored as they come: for
    sequences split into windows, aggregate per sequence first (`gbhub train` does).

    Args:
        eval_pred: the `Trainer`'s `EvalPrediction` (`predictions`: logits `(n, num_labels)`, or a tuple whose
            first item they are; `label_ids`: `(n,)` class ids).

    Returns:
        `accuracy`, `f1` (binary for two classes, macro otherwise), `mcc`, `auroc`, `auprc` (left out when
        undefined, e.g. a single class in the references). The `Trainer` logs them as `eval_<name>`.
    """
    logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
    probs = softmax(np.asarray(logits))
    labels = np.asarray(eval_pred.label_ids, dtype=np.int64)
    result = load_metric().compute(predictions=probs, references=labels, num_labels=probs.shape[1])
    return {k: float(v) for k, v in result.items() if v is not None}
