"""What every from-scratch model shares around its body: the loss of its task and its optional side-feature input.

A model's config carries `problem_type` (`single_label_classification` or `regression`, transformers' names) and
the side features it reads besides the sequence: their names and the training split's mean and standard
deviation, with which `SideFeatures` standardises raw values inside `forward`, so a saved model takes the
dataset's columns as they are.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from transformers import initialization as init


def side_feature_kwargs(names: Sequence[str] = (), mean: Sequence[float] = (), std: Sequence[float] = ()) -> dict:
    """The config fields of the side features (names, training mean and standard deviation), checked."""
    names, mean, std = [str(n) for n in names], [float(m) for m in mean], [float(s) for s in std]
    if not len(names) == len(mean) == len(std):
        raise ValueError(f"side features {names}: expected one mean and one std each, got {len(mean)} and {len(std)}")
    return {"side_feature_names": names, "side_feature_mean": mean, "side_feature_std": std}


def task_loss(config, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MSE for `problem_type == "regression"` (labels `(batch[, k])` floats), else cross-entropy over class ids."""
    if getattr(config, "problem_type", None) == "regression":
        return nn.functional.mse_loss(logits.float(), labels.float().reshape(logits.shape))
    return nn.functional.cross_entropy(logits.float(), labels.long())


class SideFeatures(nn.Module):
    """Standardise side features `(batch, n)` with the training statistics the config stores.

    Args:
        config: a config with `side_feature_names`, `side_feature_mean`, `side_feature_std`.
    """

    def __init__(self, config):
        super().__init__()
        self.names = list(getattr(config, "side_feature_names", None) or [])
        # Plain lists, not buffers: transformers leaves non-persistent buffers uninitialised on `from_pretrained`
        self.mean = [float(v) for v in getattr(config, "side_feature_mean", None) or []]
        self.scale = [float(v) if v > 0 else 1.0 for v in getattr(config, "side_feature_std", None) or []]

    @property
    def size(self) -> int:
        """Number of side features the model reads."""
        return len(self.names)

    def forward(self, side_features: torch.Tensor | None) -> torch.Tensor | None:
        """`(batch, n)` standardised features, or None for a model without side features."""
        if not self.names:
            if side_features is not None and side_features.shape[-1]:
                raise ValueError(f"this model reads no side features, got a (batch, {side_features.shape[-1]}) "
                                 "side_features tensor: leave it out")
            return None
        if side_features is None or side_features.shape[-1] != len(self.names):
            got = "none" if side_features is None else f"shape {tuple(side_features.shape)}"
            raise ValueError(f"this model reads {len(self.names)} side features ({', '.join(self.names)}): pass "
                             f"side_features (batch, {len(self.names)}) in that order, got {got}")
        mean = torch.tensor(self.mean, dtype=torch.float32, device=side_features.device)
        scale = torch.tensor(self.scale, dtype=torch.float32, device=side_features.device)
        return (side_features.float() - mean) / scale


@torch.no_grad()
def torch_default_init(module: nn.Module) -> bool:
    """Give a `Conv1d` or `Linear` PyTorch's own default initialisation (upstream's), through transformers'
    init-once functions (so `from_pretrained` does not overwrite loaded weights); True when `module` was one."""
    if not isinstance(module, (nn.Conv1d, nn.Linear)):
        return False
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        fan_in = module.weight.shape[1] * (module.weight[0, 0].numel() if module.weight.dim() > 2 else 1)
        bound = 1 / math.sqrt(fan_in)
        init.uniform_(module.bias, -bound, bound)
    return True
