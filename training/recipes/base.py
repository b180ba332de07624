"""What a recipe is: a model, its input encoding, its defaults and the description its model card shows.

Everything else of a training run (arguments, config overlay, seeds, fitting, selection on validation,
one test evaluation, the run folder, plots, the model card) is shared: `gbhub.training.run`. Adding a
model is a model module (`gbhub.training.models`) and a recipe module (`gbhub.training.recipes`) that
subclasses `Recipe`, listed in `gbhub.training.recipes.RECIPES`.

Recipe modules stay light: they import torch and transformers inside the methods that build models or
encode data (a lazy import that keeps `gbhub --help` fast), never at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from gbhub.training.data import Prepared, Task


@dataclass(frozen=True)
class CardText:
    """What a recipe says about a trained model in its card (the rest of the card is shared).

    Attributes:
        title: model name, e.g. "Genomic Benchmarks CNN" (the card says "<title> — <config>").
        architecture: markdown describing the model and its input.
        differences: markdown bullets: where this implementation differs from the paper/upstream.
        usage: a Python snippet that loads and runs the model, verbatim after `install`.
        install: the one shell line the snippet needs.
        library_name: the library that loads the saved model (the card's `library_name`).
        base_model: Hub id of the checkpoint fine-tuned from, or None.
        citation: BibTeX of the model's paper.
        notes: extra markdown paragraphs (input length, long sequences, ...).
        files: extra run-folder files -> what they hold.
    """

    title: str
    architecture: str
    differences: Sequence[str] = ()
    usage: str | None = None
    install: str = "pip install genomic-benchmarks-hub[train]"
    library_name: str = "transformers"
    base_model: str | None = None
    citation: str | None = None
    notes: Sequence[str] = ()
    files: Mapping[str, str] = field(default_factory=dict)


class Recipe:
    """A model recipe. Subclasses set the class attributes and implement `prepare`, `build_model`, `card`.

    Attributes:
        name: `gbhub train <name>`.
        summary: one line for `gbhub train --help`.
        description: the paragraph of `gbhub train <name> --help`.
        backend: `accelerate` (`gbhub.training.loop`) or `trainer` (`gbhub.training.hf_trainer`).
        arguments: the dataclass of the recipe's own flags (never re-declaring `RunArguments` fields).
        defaults: the recipe's defaults over `RunArguments`.
        protocols: named presets over any argument, `{name: {field: value}}`; the first is the default.
        tasks: task kinds the recipe can train (`classification`, `regression`).
        cpu_threads: intra-op threads on the CPU when `--torch-threads` is not given (None: torch's).
        score_train: also evaluate the training split at the end (cheap models).
        example_flags: flags the `--help` example needs besides the shared ones (e.g. a required `--model`).
        side_features: the model reads a config's numeric side features besides the sequence (`--side-features`;
            the driver adds them to every split's rows as `side_features` and their training statistics to
            `prepared.info["side_features"]`, which `build_model` puts into the model's config).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    description: ClassVar[str]
    backend: ClassVar[str] = "accelerate"
    arguments: ClassVar[type]
    defaults: ClassVar[dict[str, Any]] = {}
    protocols: ClassVar[dict[str, dict[str, Any]]] = {}
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    cpu_threads: ClassVar[int | None] = None
    score_train: ClassVar[bool] = True
    example_flags: ClassVar[str] = ""
    side_features: ClassVar[bool] = False

    def check(self, model_args, run) -> None:
        """Refuse argument combinations before any data is loaded (`ArgumentError`, one line)."""

    def prepare(self, dsd, task: Task, model_args, run) -> Prepared:
        """Encode the three splits once (for every seed); `dsd` is a `datasets.DatasetDict`."""
        raise NotImplementedError

    def build_model(self, prepared: Prepared, task: Task, model_args):
        """A freshly initialised (or pre-trained) `PreTrainedModel` for `task` (seeded by the caller)."""
        raise NotImplementedError

    def fit_options(self, model_args) -> dict[str, Any]:
        """Backend keyword arguments the recipe owns (e.g. `rc_augment` for the Accelerate loop)."""
        return {}

    def card(self, record: Mapping[str, Any], model_args) -> CardText:
        """The recipe's part of the model card, from the run's `metrics.json` record."""
        raise NotImplementedError


def head_config(task: Task, prepared: Prepared) -> dict[str, Any]:
    """The config keywords of a model's output and side-feature input for `task`: one output per class
    (`single_label_classification`, cross-entropy) or per target (`regression`, MSE), named in `id2label`, and
    the side features the driver attached to `prepared` with their training statistics."""
    side = prepared.info.get("side_features") or {}
    return {
        "id2label": dict(enumerate(task.label_names)),
        "label2id": {n: i for i, n in enumerate(task.label_names)},
        "problem_type": "regression" if task.kind == "regression" else "single_label_classification",
        "side_feature_names": list(side.get("names", [])),
        "side_feature_mean": list(side.get("mean", [])),
        "side_feature_std": list(side.get("std", [])),
    }


def side_features_notes(record: Mapping[str, Any]) -> list[str]:
    """The card's paragraph on the side features a model read (regression runs and runs that read some)."""
    names = record.get("side_features") or []
    if not names:
        return ["**Side features.** None: the model reads the sequence only."] if record.get("task") == "regression" else []
    return ["**Side features.** Besides the sequence the model reads " + ", ".join(f"`{n}`" for n in names)
            + " (standardised with the training split's mean and standard deviation, stored in its config), "
            "concatenated to the sequence features before the dense layers; pass them as `side_features` "
            "`(batch, " + str(len(names)) + ")` in this order."]
