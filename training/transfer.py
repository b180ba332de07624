"""Transfer learning for every Accelerate recipe: `--init-from` a trained run or Hub checkpoint, optionally frozen.

A recipe opts in by deriving its argument dataclass from `TransferArguments`; the driver
(`gbhub.training.run`) then loads the parent into each seed's freshly built model (`initialise_from`) and
records it, and the model card names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gbhub.builders.errors import GBHubError


class TransferError(GBHubError, ValueError):
    """A parent checkpoint that cannot initialise the model: missing, or of another architecture."""


@dataclass
class TransferArguments:
    """Transfer learning (the DeepEnhancer paper fine-tunes a permissive-enhancer model on each cell line)."""

    init_from: str | None = field(default=None, metadata={
        "help": "start from a trained run folder or Hub model id of the same architecture and input width: every "
                "layer is copied and fine-tuned; the output layer is re-initialised when the class count differs",
        "metavar": "RUN_OR_HUB_ID"})
    freeze_convolutions: bool = field(default=False, metadata={
        "help": "with --init-from: keep the parent's convolution weights fixed and train the rest"})


def check_init_from(init_from: str | None, freeze_convolutions: bool = False) -> None:
    """Refuse a parent that is neither an existing folder nor a Hub id, before any data is loaded.

    Raises:
        TransferError: one line naming the value and the fix.
    """
    if freeze_convolutions and not init_from:
        raise TransferError("--freeze-convolutions needs --init-from (a trained run folder or Hub model id)")
    if not init_from:
        return
    local = Path(init_from).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise TransferError(f"--init-from {init_from}: the folder holds no config.json; pass a finished run "
                                "folder (gbhub train ... --out DIR) or a Hub model id")
        return
    if init_from.startswith((".", "/", "~")) or init_from.count("/") != 1 or local.exists():
        raise TransferError(f"--init-from {init_from}: no such run folder, and not a Hub model id (ORG/NAME)")


def _head(model):
    """The names of the output layer's parameters: the last `nn.Linear` with `num_labels` outputs."""
    from torch import nn

    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == model.config.num_labels:
            last = name
    return {f"{last}.{p}" for p, _ in model.get_submodule(last).named_parameters()} if last is not None else set()


def initialise_from(model, init_from: str, *, freeze_convolutions: bool = False) -> dict[str, Any]:
    """Copy the weights of the parent `init_from` into `model` (in place) and return what was done.

    Every parameter and buffer (batch-norm statistics too) is copied; when the parent has another number
    of classes, the output layer keeps `model`'s fresh (seeded) initialisation. With `freeze_convolutions`
    the `nn.Conv1d` weights and biases stop requiring gradients.

    Args:
        model: a freshly built `PreTrainedModel`.
        init_from: a run folder (or any `save_pretrained` folder) or a Hub model id.
        freeze_convolutions: keep the convolutions fixed during training.

    Returns:
        The record the run keeps: `init_from`, the parent's `model_type`, `label_names`, its dataset and
        config when its folder has a `metrics.json`, the re-initialised and frozen parameters.

    Raises:
        TransferError: the parent cannot be loaded, is another model type, or differs in a layer other
            than the output layer (another architecture or input width).
    """
    from torch import nn
    from transformers import AutoConfig

    try:
        parent_config = AutoConfig.from_pretrained(init_from)
    except (OSError, ValueError) as err:
        raise TransferError(f"--init-from {init_from}: cannot read its config ({str(err).splitlines()[0]}); pass a "
                            "run folder or a Hub model id (online, or cached)") from err
    if parent_config.model_type != model.config.model_type:
        raise TransferError(f"--init-from {init_from} is a {parent_config.model_type!r} model, this recipe trains "
                            f"{model.config.model_type!r}: start from a run of the same recipe")
    parent = type(model).from_pretrained(init_from)
    theirs, ours = parent.state_dict(), model.state_dict()
    head = _head(model) if parent.config.num_labels != model.config.num_labels else set()
    differ = [k for k in ours if k not in head and (k not in theirs or theirs[k].shape != ours[k].shape)]
    differ += [k for k in theirs if k not in ours]
    if differ:
        key = differ[0]
        shapes = (f"{tuple(theirs[key].shape) if key in theirs else 'absent'} in the parent, "
                  f"{tuple(ours[key].shape) if key in ours else 'absent'} here")
        raise TransferError(
            f"--init-from {init_from} has another architecture: {key} is {shapes}; fine-tune with the parent's "
            f"settings ({_describe(parent.config)})")
    model.load_state_dict({k: (ours[k] if k in head else theirs[k]) for k in ours})
    frozen = []
    if freeze_convolutions:
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv1d):
                module.requires_grad_(False)
                frozen += [f"{name}.{p}" for p, _ in module.named_parameters()]
    record: dict[str, Any] = {
        "init_from": init_from,
        "model_type": parent_config.model_type,
        "label_names": [parent.config.id2label[i] for i in range(parent.config.num_labels)],
        "reinitialised": sorted(head),
        "frozen": frozen,
    }
    metrics = Path(init_from).expanduser() / "metrics.json"
    if metrics.is_file():
        parent_run = json.loads(metrics.read_text(encoding="utf-8"))
        record.update({k: parent_run.get(k) for k in ("recipe", "config", "card_dataset_id")})
        record["test"] = {k: v for k, v in (parent_run.get("metrics", {}).get("test") or {}).items() if k != "loss"}
    return record


def _describe(config) -> str:
    keys = [k for k in ("architecture", "input_length", "conv_channels", "hidden_size") if hasattr(config, k)]
    return ", ".join(f"{k}={getattr(config, k)}" for k in keys) or config.model_type


def card_note(parent: dict[str, Any]) -> str:
    """The model card's paragraph on the parent a run was fine-tuned from."""
    source = parent["init_from"]
    trained = ""
    if parent.get("config"):
        on = f"`{parent['card_dataset_id']}` [{parent['config']}]" if parent.get("card_dataset_id") else f"`{parent['config']}`"
        trained = f", a `{parent.get('recipe', parent['model_type'])}` run trained on {on}"
        if parent.get("test"):
            trained += " (test " + ", ".join(f"{k} {v:.3f}" for k, v in parent["test"].items() if v is not None) + ")"
    head = ("the output layer was re-initialised (the parent has classes " + ", ".join(parent["label_names"]) + ")"
            if parent["reinitialised"] else "the output layer was copied too (same number of classes)")
    frozen = ("the convolutions were frozen (`--freeze-convolutions`), the other layers fine-tuned"
              if parent["frozen"] else "all layers were fine-tuned, as in the DeepEnhancer paper")
    return f"**Transfer learning.** Initialised from `{source}`{trained}: every layer was copied; {head}; {frozen}."


def hub_parent(parent: dict[str, Any] | None) -> str | None:
    """The parent's Hub id for the card's `base_model`, or None when it is a local folder."""
    if not parent:
        return None
    source = parent["init_from"]
    return None if Path(source).expanduser().exists() else source
