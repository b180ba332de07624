"""The one argument schema of `gbhub train`: typed dataclasses -> dashed flags, a JSON overlay, checks.

Every recipe is trained with the same three groups of arguments: `DataArguments` (what to train on),
`RunArguments` (how: seeds, optimiser, selection, precision, resume...) and the recipe's own model
dataclass (the only fields a recipe declares). One function turns dataclasses into flags
(`add_arguments`), one merges the command line, an `--args-json` file, the recipe's protocol and the
defaults (`parse_arguments`), and one checks values (`check_values`), all before any data is loaded.

Precedence: a flag given on the command line > the `--args-json` file > the `--protocol` preset > the
dataclass default. transformers' `HfArgumentParser` was not used: it spells flags with underscores
(dashes only as aliases), cannot tell a flag given on the command line from its default (which the
overlay needs), and prints `(default: ...)` for every flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import DEFAULT_SEED

#: Validation metrics a run can be selected on, by task; the first is the default.
SELECTION_METRICS = {
    "classification": ("loss", "accuracy", "f1", "mcc", "auroc", "auprc"),
    "regression": ("loss", "r2", "pearson", "spearman", "mse", "mae"),
}
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


class ArgumentError(GBHubError, ValueError):
    """A training argument that cannot be used: names the flag, the value and what is expected."""


def flag(name: str) -> str:
    """`max_length_bp` -> `--max-length-bp`."""
    return "--" + name.replace("_", "-")


def parse_seeds(text: str | int | Sequence[int]) -> tuple[int, ...]:
    """`"1,2,3"`, `7` or `[1, 2]` -> `(1, 2, 3)`: distinct seeds in [0, 2**32)."""
    if isinstance(text, bool):
        raise ArgumentError(f"--seeds expects comma-separated whole numbers such as 1,2,3, got {text!r}")
    if isinstance(text, int):
        items = [text]
    elif isinstance(text, str):
        try:
            items = [int(s) for s in text.replace(" ", "").split(",") if s]
        except ValueError:
            raise ArgumentError(f"--seeds expects comma-separated whole numbers such as 1,2,3, got {text!r}") from None
    else:
        items = list(text)
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in items):
            raise ArgumentError(f"--seeds expects whole numbers, got {text!r}")
    if not items:
        raise ArgumentError("--seeds needs at least one seed, e.g. --seeds 42")
    bad = [s for s in items if not 0 <= s < 2**32]
    if bad:
        raise ArgumentError(f"--seeds {bad[0]} is out of range: seeds are whole numbers from 0 to 4294967295")
    if len(set(items)) != len(items):
        raise ArgumentError(f"--seeds has duplicates: {','.join(map(str, items))}")
    return tuple(items)


def _meta(help_text: str, **kwargs) -> dict:
    return {"help": help_text, **kwargs}


@dataclass
class DataArguments:
    """Which data to train on and where the run goes."""

    dataset: str = field(default="", metadata=_meta(
        "Hub dataset id (ORG/NAME) or a local Hub-layout folder (gbhub build --out DIR)", required=True))
    config: str = field(default="", metadata=_meta("benchmark config, e.g. human_nontata_promoters", required=True))
    out: str = field(default="", metadata=_meta(
        "run folder: model, metrics.json, predictions, plots, README.md model card", required=True))
    max_train_samples: int | None = field(default=None, metadata=_meta(
        "train on a seeded random subset of this many rows (smoke runs)", min=1))
    side_features: str = field(default="all", metadata=_meta(
        "numeric side-feature columns the model reads besides the sequence (e.g. mRNA half-life features): all, "
        "none, or comma-separated column names; the default all applies to regression benchmarks, a "
        "classification benchmark's columns are read only when named", metavar="NAMES"))
    card_dataset_id: str | None = field(default=None, metadata=_meta(
        "Hub dataset id written in the model card (default: --dataset when it is a Hub id, else the id "
        "recorded in the folder's provenance; left out when neither is known)"))


@dataclass
class RunArguments:
    """How to train, the same for every recipe (a recipe's protocol may change the defaults)."""

    protocol: str = field(default="", metadata=_meta(
        "named set of defaults of the recipe (see the recipe's description); flags given explicitly win"))
    seeds: tuple[int, ...] = field(default=(DEFAULT_SEED,), metadata=_meta(
        "comma-separated seeds, e.g. 1,2,3: one model each, selected on validation, mean ± std reported"))
    epochs: int = field(default=10, metadata=_meta("maximum training epochs", min=1))
    batch_size: int = field(default=64, metadata=_meta("training batch size per process", min=1))
    eval_batch_size: int | None = field(default=None, metadata=_meta(
        "evaluation batch size (default: 4x --batch-size)", min=1))
    lr: float = field(default=1e-3, metadata=_meta("peak learning rate", positive=True))
    weight_decay: float = field(default=0.0, metadata=_meta("weight decay of the optimiser", min=0))
    lr_scheduler: Literal["constant", "linear", "cosine"] = field(default="constant", metadata=_meta(
        "learning-rate schedule after the warm-up"))
    warmup_ratio: float = field(default=0.0, metadata=_meta(
        "fraction of the optimiser steps with a linear warm-up, in [0, 1)", min=0, below=1))
    gradient_accumulation_steps: int = field(default=1, metadata=_meta("batches per optimiser step", min=1))
    max_steps: int | None = field(default=None, metadata=_meta(
        "stop after this many optimiser steps (smoke runs; default: no limit)", min=1))
    early_stopping_patience: int | None = field(default=None, metadata=_meta(
        "stop after N epochs without validation improvement (default: never)", min=1))
    selection_metric: str = field(default="loss", metadata=_meta(
        "validation metric selecting the epoch and the seed: loss, or accuracy, f1, mcc, auroc, auprc "
        "(classification), r2, pearson, spearman, mse, mae (regression)",
        choices=tuple(dict.fromkeys(m for ms in SELECTION_METRICS.values() for m in ms))))
    precision: Literal["auto", "fp32", "fp16", "bf16"] = field(default="auto", metadata=_meta(
        "auto: bf16/fp16 on a GPU that supports it, fp32 on the CPU"))
    cpu: bool = field(default=False, metadata=_meta("train on the CPU even when a GPU is present"))
    torch_threads: int | None = field(default=None, metadata=_meta(
        "intra-op CPU threads per process (default on CPU: the recipe's; small models run fastest on 1)", min=1))
    num_workers: int = field(default=0, metadata=_meta("DataLoader worker processes", min=0))
    resume: bool = field(default=False, metadata=_meta(
        "continue an interrupted or finished run from its last checkpoint (same settings and data; "
        "--epochs and --max-steps may be raised)"))
    keep_checkpoints: bool = field(default=False, metadata=_meta(
        "keep the checkpoints of every seed after the run (needed to --resume a finished run)"))
    no_progress: bool = field(default=False, metadata=_meta("hide progress bars"))
    args_json: str | None = field(default=None, metadata=_meta(
        "JSON file of arguments (any flag, by its name with underscores); flags given here win"))


# Names that do not change what a run computes (so a resumed run may differ in them).
NOT_SETTINGS = frozenset({"out", "dataset", "resume", "no_progress", "torch_threads", "num_workers", "args_json", "epochs",
                          "max_steps", "keep_checkpoints", "card_dataset_id", "seeds"})


# ------------------------------------------------------------------------------------------- flags


@functools.cache
def _type_hints(cls) -> dict[str, Any]:
    """A dataclass's resolved field types, once per class (resolving them is the parser's largest start-up cost)."""
    return typing.get_type_hints(cls)


def _field_type(cls, f: dataclasses.Field):
    """`(base type, allows None, choices)` of a dataclass field."""
    hint = _type_hints(cls)[f.name]
    optional = False
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        optional = type(None) in args
        hint = next(a for a in args if a is not type(None))
    choices = f.metadata.get("choices")
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        hint = type(choices[0])
    if typing.get_origin(hint) is tuple:
        hint = tuple
    return hint, optional, choices


def add_arguments(parser: argparse.ArgumentParser, classes: Sequence[type], *,
                  protocols: Sequence[str] = (), defaults: Mapping[str, Any] | None = None) -> None:
    """One dashed flag per field of `classes`, with its help text (and default when it says something).

    Defaults stay out of the namespace (`argparse.SUPPRESS`), so `parse_arguments` can tell what the
    command line gave. `defaults` (a recipe's own defaults over `RunArguments`) only change the help.
    """
    defaults = dict(defaults or {})
    for cls in classes:
        group = parser.add_argument_group(cls.__doc__.splitlines()[0].rstrip(".") if cls.__doc__ else cls.__name__)
        for f in dataclasses.fields(cls):
            base, optional, choices = _field_type(cls, f)
            if f.name == "protocol":
                choices = tuple(protocols) or None
            text = f.metadata.get("help", "")
            default = defaults.get(f.name, f.default)
            if f.name == "protocol" and protocols:
                default = protocols[0]
            if f.metadata.get("required"):
                text += " (required)"
            elif default not in (None, False, "", dataclasses.MISSING) and base is not bool:
                shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
                text = text.split(" (default: ")[0] + f" (default: {shown})"  # a recipe's default replaces the text's
            kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": text}
            if base is bool:
                kwargs["action"] = "store_true"
            elif base is tuple:
                kwargs.update(type=seeds_flag, metavar="N[,N...]")
            else:
                kwargs["type"] = _converter(base, f.name)
                if choices:
                    kwargs["choices"] = choices
                else:
                    kwargs["metavar"] = f.metadata.get("metavar") or (
                        "PATH" if f.name in ("out", "args_json") else f.name.split("_")[-1].upper())
            group.add_argument(flag(f.name), **kwargs)


def seeds_flag(text: str) -> tuple[int, ...]:
    try:
        return parse_seeds(text)
    except ArgumentError as err:  # argparse prints a ValueError's type, not its message
        raise argparse.ArgumentTypeError(str(err).removeprefix("--seeds ")) from None


def _converter(base: type, name: str):
    def convert(text: str):
        try:
            value = base(text)
        except ValueError:
            kind = {int: "a whole number", float: "a number"}.get(base, base.__name__)
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if base is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        return value

    convert.__name__ = base.__name__
    return convert


# ------------------------------------------------------------------------------------------ values


def read_json_overlay(path: str | Path) -> dict:
    """The `--args-json` file: a JSON object of argument names (underscores or dashes) to values."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArgumentError(f"--args-json {path}: cannot read it as JSON ({err})") from err
    if not isinstance(values, dict):
        raise ArgumentError(f"--args-json {path}: expected a JSON object of arguments such as "
                            f'{{"epochs": 5}}, got {type(values).__name__}')
    return {str(k).replace("-", "_"): v for k, v in values.items()}


def _check_type(cls, f: dataclasses.Field, value: Any, where: str) -> Any:
    """`value` (from JSON or a preset) converted to the field's type, or a one-line error."""
    base, optional, choices = _field_type(cls, f)
    if value is None:
        if optional:
            return None
        raise ArgumentError(f"{flag(f.name)}: null is not allowed{where}")
    if base is tuple:
        return parse_seeds(value)
    ok = (isinstance(value, bool) if base is bool
          else isinstance(value, int) and not isinstance(value, bool) if base is int
          else isinstance(value, (int, float)) and not isinstance(value, bool) if base is float
          else isinstance(value, base))
    if not ok:
        kind = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(base, base.__name__)
        raise ArgumentError(f"{flag(f.name)}: expected {kind}, got {value!r}{where}")
    value = float(value) if base is float else value
    if choices and value not in choices:
        raise ArgumentError(f"{flag(f.name)}: expected one of {', '.join(map(str, choices))}, got {value!r}{where}")
    return value


def check_values(obj) -> None:
    """Range checks declared in field metadata (`min`, `below`, `positive`), one-line errors."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None or isinstance(value, (bool, str, tuple)):
            continue
        low, below = f.metadata.get("min"), f.metadata.get("below")
        if isinstance(value, float) and not math.isfinite(value):
            raise ArgumentError(f"{flag(f.name)} must be a finite number, got {value}")
        if f.metadata.get("positive") and not value > 0:
            raise ArgumentError(f"{flag(f.name)} must be positive, got {value}")
        if low is not None and value < low:
            raise ArgumentError(f"{flag(f.name)} must be at least {low}, got {value}")
        if below is not None and not value < below:
            raise ArgumentError(f"{flag(f.name)} must be below {below}, got {value}")


def parse_arguments(given: Mapping[str, Any], classes: Sequence[type], *,
                    protocols: Mapping[str, Mapping[str, Any]] | None = None,
                    defaults: Mapping[str, Any] | None = None) -> tuple[list, frozenset[str]]:
    """Instances of `classes` from the command line's values, the JSON overlay, a protocol and defaults.

    Args:
        given: names -> values the command line gave (an argparse namespace without suppressed defaults,
            or a dict in code).
        classes: the dataclasses, in order (names are unique across them).
        protocols: the recipe's presets, `{name: {field: value}}`; the first is the default.
        defaults: the recipe's own defaults over the dataclass defaults.

    Returns:
        `(instances, explicit)` where `explicit` holds the names set on the command line or in JSON.

    Raises:
        ArgumentError: an unknown JSON key, a value of the wrong type, a missing required argument, an
            unknown protocol, or a value out of range.
    """
    fields = {f.name: (cls, f) for cls in classes for f in dataclasses.fields(cls)}
    given = {k: v for k, v in dict(given).items() if k in fields}
    overlay = {}
    if given.get("args_json"):
        overlay = read_json_overlay(given["args_json"])
        unknown = sorted(set(overlay) - set(fields))
        if unknown:
            raise ArgumentError(f"--args-json {given['args_json']}: unknown argument(s) {', '.join(unknown)}; "
                                "see `gbhub train RECIPE --help`")
        overlay = {k: _check_type(*fields[k], v, f" (in {given['args_json']})") for k, v in overlay.items()}
    protocols = dict(protocols or {})
    chosen = given.get("protocol") or overlay.get("protocol") or (next(iter(protocols)) if protocols else "")
    if protocols and chosen not in protocols:
        raise ArgumentError(f"--protocol {chosen!r}: expected one of {', '.join(protocols)}")
    preset = {**dict(defaults or {}), **dict(protocols.get(chosen, {})), "protocol": chosen}
    values = {**preset, **overlay, **given}
    explicit = frozenset(overlay) | frozenset(given)
    missing = [name for name, (cls, f) in fields.items() if f.metadata.get("required") and not values.get(name)]
    if missing:
        raise ArgumentError(f"missing {', '.join(flag(m) for m in missing)} (give it on the command line or in "
                            "--args-json)")
    instances = []
    for cls in classes:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {}
        for name in names & set(values):
            value = values[name]
            if name in preset and name not in explicit:
                value = _check_type(*fields[name], value, f" (in protocol {chosen!r})")
            kwargs[name] = value
        obj = cls(**kwargs)
        check_values(obj)
        instances.append(obj)
    return instances, explicit


def command_line(recipe: str, instances: Sequence[Any], explicit: frozenset[str]) -> str:
    """The `gbhub train` command reproducing a run: the arguments that were given explicitly."""
    parts = [f"gbhub train {recipe}"]
    for obj in instances:
        for f in dataclasses.fields(obj):
            if f.name not in explicit or f.name in ("args_json", "resume", "no_progress"):
                continue
            value = getattr(obj, f.name)
            if value is True:
                parts.append(flag(f.name))
            elif value not in (False, None):
                shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
                parts.append(f"{flag(f.name)} {shown}")
    return " ".join(parts)


def settings(instances: Sequence[Any]) -> dict[str, Any]:
    """The arguments that change what a run computes (what `--resume` compares), as JSON values."""
    out = {}
    for obj in instances:
        for f in dataclasses.fields(obj):
            if f.name not in NOT_SETTINGS:
                value = getattr(obj, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
    return out
