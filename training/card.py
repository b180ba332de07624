"""The model card of every run: the shared sections from `metrics.json`, the recipe's `CardText` for the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from gbhub.hub_cards.model_card import DEFAULT_TAGS, ModelCardInfo, PaperComparison, write_model_card
from gbhub.training import paper_results
from gbhub.training.motifs.summary import motif_card_section
from gbhub.training.recipes.base import CardText
from gbhub.training.transfer import card_note, hub_parent

#: The files every run folder holds (a recipe's `CardText.files` adds its own).
RUN_FILES = {
    "config.json, model.safetensors": "the model (`save_pretrained`)",
    "metrics.json": "every metric of every split, training history, hyperparameters, hardware",
    "predictions_test.csv": "test predictions per sequence",
    "training_curve.png, confusion_matrix.png": "the plots above",
}
#: A regression run's plots (instead of the confusion matrix).
REGRESSION_PLOTS = {"training_curve.png, predictions_test.png": "the plots above"}


def paper_comparison(config: str, note: str) -> PaperComparison | None:
    """Table 2 of the Genomic Benchmarks paper for `config` (its CNN), or None when the paper has no row."""
    row = paper_results.paper_row(config)
    if row is None:
        return None
    return PaperComparison(
        columns={
            "PyTorch CNN accuracy": row.pytorch_accuracy,
            "PyTorch CNN F1": row.pytorch_f1,
            "TensorFlow CNN accuracy": row.tensorflow_accuracy,
            "TensorFlow CNN F1": row.tensorflow_f1,
        },
        ours={"PyTorch CNN accuracy": "accuracy", "PyTorch CNN F1": "f1"},
        citation=paper_results.CITATION,
        note=paper_results.SOURCE_NOTE + " " + note,
    )


def hyperparameter_table(record: Mapping[str, Any]) -> dict[str, Any]:
    """The card's training table: what was used, in words a reader of the paper recognises."""
    hp = record["hyperparameters"]
    best = record.get("best_epoch")
    table = {
        "protocol": hp.get("protocol") or "-",
        "epochs (max) / run": f"{hp['epochs']} / {record['epochs_run']}",
        "optimizer steps": record["global_step"],
        "batch size (per process)": hp["batch_size"],
        "gradient accumulation": hp["gradient_accumulation_steps"],
        "optimizer": record["optimizer"],  # e.g. "AdamW (Trainer default)": no second parenthesis after it
        "learning rate, weight decay": f"{hp['lr']}, {hp['weight_decay']}",
        "schedule": f"{hp['lr_scheduler']}" + (f", warm-up ratio {hp['warmup_ratio']}" if hp["warmup_ratio"] else ""),
        "checkpoint selection": f"best validation {hp['selection_metric']}"
                                + (f" (epoch {best})" if best is not None else ""),
    }
    if hp.get("early_stopping_patience") is not None:
        table["early stopping patience"] = hp["early_stopping_patience"]
    if hp.get("max_steps") is not None:
        table["max steps"] = hp["max_steps"]
    if record.get("max_train_samples"):
        table["training subset"] = f"{record['max_train_samples']} rows (seeded)"
    table["precision"] = record["hardware"].get("mixed_precision", "-")
    skip = set(table) | {"protocol", "epochs", "batch_size", "gradient_accumulation_steps", "lr", "weight_decay",
                         "lr_scheduler", "warmup_ratio", "selection_metric", "early_stopping_patience", "max_steps",
                         "precision", "cpu", "eval_batch_size", "config", "max_train_samples", "card_dataset_id"}
    for key, value in record.get("model_arguments", {}).items():
        if key not in skip and value not in (None, False):
            table[key.replace("_", " ")] = value
    return table


def write_run_card(run_dir: Path, record: Mapping[str, Any], text: CardText, *, plots: Mapping[str, str]) -> Path:
    """Render `run_dir/README.md` from a run's record and the recipe's `CardText`."""
    th = record["throughput"]
    unit = th.get("unit", "sequences")
    throughput = {
        "training throughput": f"{th['train_samples_per_second']:.0f} {unit}/s" if th.get("train_samples_per_second") else "n/a",
        "training time": f"{th['train_seconds']:.1f} s",
    }
    seeds = record["seeds"]
    command = f"**Command.**\n\n```\n{record['command']}\n```"
    parent = record.get("parent")
    motifs = motif_card_section(run_dir)
    info = ModelCardInfo(
        model_name=f"{text.title} — {record['config']}",
        dataset_id=record.get("card_dataset_id"),
        dataset_config=record["config"],
        label_names=record["label_names"],
        metrics=record["metrics"],
        architecture=text.architecture,
        hyperparameters=hyperparameter_table(record),
        seeds=seeds,
        seed_summary=record.get("summary") if len(seeds) > 1 else None,
        differences=text.differences,
        hardware=record["hardware"],
        throughput=throughput,
        plots=plots,
        paper=paper_comparison(record["config"], f"Ours: {text.title}, test split, percent, same metric definitions."),
        base_model=text.base_model or hub_parent(parent),
        library_name=text.library_name,
        notes=[*([card_note(parent)] if parent else []), *text.notes, *([motifs.text] if motifs else []), command],
        usage=text.usage,
        install=text.install,
        files={**({k: v for k, v in RUN_FILES.items() if "confusion" not in k} | REGRESSION_PLOTS
                  if record.get("task") == "regression" else RUN_FILES), **dict(text.files), **(motifs.files if motifs else {}),
               **({"seed-*/": "the model, metrics and test predictions of each seed"} if len(seeds) > 1 else {})},
        citation=text.citation,
        task=record.get("task", "classification"),
        tags=([t for t in DEFAULT_TAGS if t != "sequence-classification"] + ["regression"]
              if record.get("task") == "regression" else DEFAULT_TAGS),
        side_features=record.get("side_features") or (),
    )
    return write_model_card(run_dir, info)
