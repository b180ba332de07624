"""Run figures: the training curve and the test confusion matrix, as byte-reproducible PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

# PNG metadata carries the matplotlib version by default; drop it so equal inputs give equal bytes.
_PNG_METADATA = {"Software": None}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)  # no pyplot: no global state, no GUI backend
    return fig


def training_curve(history: Sequence[Mapping], path: str | Path, *, metric: str = "accuracy", best_epoch=None) -> Path:
    """Plot train/validation loss and a validation metric per epoch.

    Args:
        history: one entry per epoch with `epoch`, `train_loss` and `validation` (a metrics mapping).
        path: the PNG to write.
        metric: the validation metric of the right-hand panel.
        best_epoch: the selected epoch, marked with a vertical line.
    """
    epochs = [h["epoch"] for h in history]
    fig = _figure(9, 3.4)
    ax_loss, ax_metric = fig.subplots(1, 2)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train")
    ax_loss.plot(epochs, [h["validation"]["loss"] for h in history], marker="o", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    values = [h["validation"].get(metric) for h in history]
    ax_metric.plot(epochs, [np.nan if v is None else v for v in values], marker="o", color="tab:green")
    ax_metric.set(xlabel="epoch", ylabel=metric, title=f"Validation {metric}")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_metric):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label="selected")
        ax.grid(alpha=0.3)
    ax_loss.legend()
    fig.tight_layout()
    return _save(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, names: Sequence[str], path: str | Path, *, title: str = "Test") -> Path:
    """Plot the confusion matrix (rows: true class, columns: predicted class) with counts.

    Args:
        labels: `(n,)` true class ids.
        predictions: `(n,)` predicted class ids.
        names: class names, index = class id.
        path: the PNG to write.
        title: figure title.
    """
    from sklearn.metrics import ConfusionMatrixDisplay
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    matrix = sk_confusion_matrix(labels, predictions, labels=list(range(len(names))))
    size = 2.2 + 0.9 * len(names)
    fig = _figure(size + 1, size)
    ax = fig.subplots()
    ConfusionMatrixDisplay(matrix, display_labels=list(names)).plot(ax=ax, cmap="Blues", colorbar=True, values_format="d")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def predicted_vs_true(targets: np.ndarray, predictions: np.ndarray, names: Sequence[str], path: str | Path, *,
                      title: str = "Test") -> Path:
    """Scatter of predicted against true values, one panel per target, with the diagonal and R².

    Args:
        targets: `(n[, k])` true values.
        predictions: `(n, k)` predicted values.
        names: the target names.
        path: the PNG to write.
        title: figure title.
    """
    from sklearn.metrics import r2_score

    truth = np.asarray(targets, dtype=np.float64).reshape(len(predictions), -1)
    pred = np.asarray(predictions, dtype=np.float64).reshape(len(predictions), -1)
    k = truth.shape[1]
    fig = _figure(3.6 * k + 0.4, 3.8)
    axes = np.atleast_1d(fig.subplots(1, k))
    for j, ax in enumerate(axes):
        ax.scatter(truth[:, j], pred[:, j], s=6, alpha=0.5, linewidths=0)
        low, high = float(min(truth[:, j].min(), pred[:, j].min())), float(max(truth[:, j].max(), pred[:, j].max()))
        ax.plot([low, high], [low, high], color="grey", linewidth=1, linestyle="--")
        r2 = r2_score(truth[:, j], pred[:, j]) if len(truth) > 1 else float("nan")
        ax.set_xlabel(f"true {names[j]}")
        ax.set_ylabel("predicted")
        ax.set_title(f"{title}: R² = {r2:.3f}" if k == 1 else f"{names[j]}: R² = {r2:.3f}")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Write the PNG atomically (a run folder never holds half a figure)."""
    from gbhub.builders.hub_layout import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=_PNG_METADATA)
    return path
