"""Run-folder outputs of every recipe: strict JSON, prediction tables, hardware, better-than on a metric."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from gbhub.builders.hub_layout import atomic_path
from gbhub.training.metrics_util import GREATER_IS_BETTER


def json_safe(obj: Any) -> Any:
    """Strict-JSON values, recursively: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path: str | Path, data: Any) -> None:
    """Write strict JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_predictions(
    path: str | Path,
    row_ids: Sequence[str],
    labels: np.ndarray,
    probs: np.ndarray,
    names: Sequence[str],
    extra: Mapping[str, Sequence] | None = None,
    *,
    regression: bool = False,
) -> None:
    """CSV, one row per sequence: id, label, prediction (ids and names), `extra` columns, class probabilities;
    for regression (`probs` are predicted values `(n, k)`, `names` the targets): id, then `true_<target>` and
    `predicted_<target>` of each target."""
    import pandas as pd

    if regression:
        truth = np.asarray(labels, dtype=np.float64).reshape(len(probs), -1)
        frame = pd.DataFrame({"id": list(row_ids), **dict(extra or {})})
        for j, name in enumerate(names):
            frame[f"true_{name}"] = truth[:, j]
            frame[f"predicted_{name}"] = np.asarray(probs)[:, j]
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6f")
        return
    pred = probs.argmax(axis=1)
    frame = pd.DataFrame({
        "id": list(row_ids),
        "label": labels,
        "label_name": [names[i] for i in labels],
        "prediction": pred,
        "prediction_name": [names[i] for i in pred],
        **dict(extra or {}),
    })
    for i, name in enumerate(names):
        frame[f"prob_{name}"] = probs[:, i]
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f")


def hardware(device: str, processes: int, mixed_precision: str, gpu: str | None = None) -> dict:
    """Where a run ran: device, processes, precision, GPU/CPU model, torch threads and version."""
    import torch

    info = {
        "device": device,
        "processes": int(processes),
        "mixed_precision": mixed_precision,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    if gpu:
        info["gpu"] = gpu
    info["cpu"] = cpu_model()
    info["cpu_cores"] = os.cpu_count()
    return info


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()



def better(value: float | None, than: float | None, metric: str) -> bool:
    """Whether validation `value` beats `than` on `metric`; None (undefined) never beats a number.

    Zero is a value like any other (an MCC of 0.0 beats -0.2; a loss of 0.0 beats 0.1).
    """
    if value is None:
        return False
    if than is None:
        return True
    return value > than if GREATER_IS_BETTER[metric] else value < than
