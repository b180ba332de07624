"""The model card (`README.md`) of a training run: `model-index` YAML the Hub shows, and a body from the run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from gbhub.builders.hub_layout import write_text_atomic

#: Metrics reported in the card, with their display names (values are fractions 0-1 for classification).
CARD_METRICS = {"accuracy": "Accuracy", "f1": "F1", "mcc": "MCC", "auroc": "AUROC", "auprc": "AUPRC",
                "r2": "R²", "pearson": "Pearson r", "spearman": "Spearman ρ", "mse": "MSE", "mae": "MAE"}
#: Our metric key -> the metric id of `model-index` (the `evaluate` module names, so results aggregate on the
#: Hub; AUPRC has no `evaluate` module, `pr_auc` is the id the community modules use).
HUB_METRIC_IDS = {"accuracy": "accuracy", "f1": "f1", "mcc": "matthews_correlation", "auroc": "roc_auc",
                  "auprc": "pr_auc", "r2": "r_squared", "pearson": "pearsonr", "spearman": "spearmanr",
                  "mse": "mse", "mae": "mae"}
DEFAULT_TAGS = ["genomics", "dna", "biology", "sequence-classification", "genomic-benchmarks"]
SPLIT_ORDER = ("train", "validation", "test")


@dataclass
class PaperComparison:
    """A published result row to print next to ours (e.g. Table 2 of Grešová et al. 2023).

    Attributes:
        columns: column name -> value in percent, e.g. `{"PyTorch CNN accuracy": 84.6, ...}`.
        citation: the full reference, printed under the table.
        note: what the numbers are (split, units, caveats).
        ours: column name -> our metric key, to put our test value under the same heading
            (e.g. `{"PyTorch CNN accuracy": "accuracy"}`).
    """

    columns: dict[str, float]
    citation: str
    note: str = ""
    ours: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelCardInfo:
    """Everything a run's model card says. Fill it from any trainer (CNN loop, `Trainer` fine-tune).

    Attributes:
        model_name: the card title and `model-index` name.
        dataset_id: Hub dataset id the model was trained on (`ORG/NAME`); goes to `datasets` and
            `model-index`. None when the data is not on the Hub: both are then left out (a local folder's
            name would link to a dataset that does not exist).
        dataset_config: the benchmark config (`human_nontata_promoters`).
        label_names: class names, index = class id.
        metrics: `{split: {metric: value}}` of the model in this folder (values 0-1; `loss` allowed).
            `model-index` gets the `test` split's `CARD_METRICS`.
        architecture: markdown describing the model.
        hyperparameters: name -> value, shown as a table.
        seeds: the seeds the run used (one model per seed).
        seed_summary: `{split: {metric: {"mean", "std", "n"}}}` over seeds, when several.
        differences: markdown bullets: where this implementation differs from upstream/the paper.
        hardware: name -> value (device, processes, precision...).
        throughput: name -> value (e.g. training sequences per second).
        plots: caption -> file name relative to the card (PNG in the run folder).
        paper: published numbers to compare with.
        base_model: Hub id of the fine-tuned checkpoint (DNABERT), None for models trained from scratch.
        library_name: the library whose loading code reads the saved folder as it is: `transformers` only when
            its Auto classes know the model type without remote code; else the package defining the class.
        license: SPDX-ish Hub license id.
        tags: Hub tags (default: `DEFAULT_TAGS`).
        pipeline_tag: Hub pipeline tag.
        usage: a python snippet that loads and runs the model, verbatim after `install` (`<this repo or
            folder>` stands for the repository id or the run folder; tested by running it).
        install: the one shell line the usage snippet needs.
        notes: extra markdown paragraphs (input length, long-sequence handling, ...).
        files: file name -> what it holds, listed in the card.
        citation: BibTeX block for the benchmark.
        task: `classification` or `regression` (then `label_names` are the targets and the metrics R², Pearson,
            Spearman, MSE, MAE).
        side_features: the side-feature columns the model read besides the sequence.
    """

    model_name: str
    dataset_id: str | None
    dataset_config: str
    label_names: Sequence[str]
    metrics: Mapping[str, Mapping[str, float | None]]
    architecture: str
    hyperparameters: Mapping[str, Any]
    seeds: Sequence[int] = ()
    seed_summary: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None
    differences: Sequence[str] = ()
    hardware: Mapping[str, Any] = field(default_factory=dict)
    throughput: Mapping[str, Any] = field(default_factory=dict)
    plots: Mapping[str, str] = field(default_factory=dict)
    paper: PaperComparison | None = None
    base_model: str | None = None
    library_name: str = "transformers"
    license: str = "apache-2.0"
    tags: Sequence[str] = tuple(DEFAULT_TAGS)
    pipeline_tag: str = "text-classification"
    usage: str | None = None
    install: str | None = None
    notes: Sequence[str] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    citation: str | None = None
    task: str = "classification"
    side_features: Sequence[str] = ()


def eval_results(info: ModelCardInfo) -> list[EvalResult]:
    """`model-index` entries: one per metric of the test split (skipping undefined ones); none without a
    Hub dataset id."""
    if not info.dataset_id:
        return []
    test = info.metrics.get("test", {})
    return [
        EvalResult(
            task_type="text-classification",  # transformers' sequence classification, regression included
            task_name="Sequence regression" if info.task == "regression" else "Sequence classification",
            dataset_type=info.dataset_id,
            dataset_name=f"{info.dataset_id} ({info.dataset_config})",
            dataset_config=info.dataset_config,
            dataset_split="test",
            metric_type=HUB_METRIC_IDS[key],
            metric_name=name,
            metric_value=float(test[key]),
        )
        for key, name in CARD_METRICS.items()
        if test.get(key) is not None
    ]


def card_data(info: ModelCardInfo) -> ModelCardData:
    """The card's YAML metadata."""
    results = eval_results(info)
    return ModelCardData(
        model_name=info.model_name if results else None,  # `model-index` only with results to show
        base_model=info.base_model,
        datasets=[info.dataset_id] if info.dataset_id else None,
        eval_results=results or None,
        library_name=info.library_name,
        license=info.license,
        tags=list(info.tags),
        pipeline_tag=info.pipeline_tag,
        metrics=[HUB_METRIC_IDS[k] for k in CARD_METRICS if any(k in m for m in info.metrics.values())],
    )


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _results_section(info: ModelCardInfo) -> str:
    splits = [s for s in SPLIT_ORDER if s in info.metrics] + [s for s in info.metrics if s not in SPLIT_ORDER]
    keys = [k for k in CARD_METRICS if any(k in info.metrics[s] for s in splits)]
    keys += ["loss"] if any("loss" in info.metrics[s] for s in splits) else []
    header = ["split"] + [CARD_METRICS.get(k, k) for k in keys]
    rows = [[s] + [_fmt(info.metrics[s].get(k)) for k in keys] for s in splits]
    out = ["## Results", "", _table(header, rows), ""]
    if info.seed_summary and len(info.seeds) > 1:
        out += [
            f"Mean ± standard deviation over {len(info.seeds)} seeds ({', '.join(map(str, info.seeds))}); the "
            "table above is the model in this repository (the seed with the best validation score).",
            "",
        ]
        rows = []
        for s in [s for s in SPLIT_ORDER if s in info.seed_summary]:
            cells = []
            for k in keys:
                e = info.seed_summary[s].get(k)
                cells.append("n/a" if e is None else f"{e['mean']:.4f} ± {e['std']:.4f}")
            rows.append([s] + cells)
        out += [_table(header, rows), ""]
    return "\n".join(out)


def _paper_section(info: ModelCardInfo) -> str:
    if info.paper is None:
        return ""
    test = info.metrics.get("test", {})
    header = [""] + list(info.paper.columns)
    rows = [["published"] + [f"{v:.1f}" for v in info.paper.columns.values()]]
    if info.paper.ours:
        ours = []
        for col in info.paper.columns:
            key = info.paper.ours.get(col)
            ours.append(f"{100 * test[key]:.1f}" if key and test.get(key) is not None else "")
        rows.append(["this model"] + ours)
        if info.seed_summary and len(info.seeds) > 1:
            cells = []
            for col in info.paper.columns:
                key = info.paper.ours.get(col)
                e = info.seed_summary.get("test", {}).get(key) if key else None
                cells.append(f"{100 * e['mean']:.1f} ± {100 * e['std']:.1f}" if e else "")
            rows.append([f"this model, {len(info.seeds)} seeds"] + cells)
    out = [
        f"## Comparison with the paper ({info.dataset_config})",
        "",
        _table(header, rows),
        "",
    ]
    if info.paper.note:
        out += [info.paper.note, ""]
    out += [f"Source: {info.paper.citation}", ""]
    return "\n".join(out)


def render_body(info: ModelCardInfo) -> str:
    """The markdown body of the card."""
    names = ", ".join(f"`{i}` = {n}" for i, n in enumerate(info.label_names))
    if info.dataset_id:
        dataset = f"[`{info.dataset_id}`](https://huggingface.co/datasets/{info.dataset_id})"
    else:  # a local folder: no Hub page to link to
        dataset = "a local dataset (`--card-dataset-id ORG/NAME` names its Hub id once it is pushed)"
    if info.task == "regression":
        targets = ", ".join(f"`{n}`" for n in info.label_names)
        side = (" and the side features " + ", ".join(f"`{n}`" for n in info.side_features)
                if info.side_features else " alone")
        what = (f"A sequence regressor for the `{info.dataset_config}` config of {dataset}: it predicts "
                f"{targets} from the sequence{side}.")
    else:
        what = (f"A sequence classifier for the `{info.dataset_config}` config of {dataset}, with "
                f"{len(info.label_names)} classes: {names}.")
    parts = [
        f"# {info.model_name}",
        "",
        what
        + (f" Fine-tuned from [`{info.base_model}`](https://huggingface.co/{info.base_model})." if info.base_model else ""),
        "",
        _results_section(info),
        _paper_section(info),
    ]
    if info.plots:
        parts += ["## Plots", ""]
        for caption, path in info.plots.items():
            parts += [f"![{caption}]({path})", "", f"*{caption}*", ""]
    parts += ["## Model", "", info.architecture.strip(), ""]
    if info.differences:
        parts += ["### Differences from the upstream implementation", ""]
        parts += [f"- {d}" for d in info.differences] + [""]
    parts += ["## Training", "", _table(["hyperparameter", "value"], [[k, f"`{v}`"] for k, v in info.hyperparameters.items()]), ""]
    if info.seeds:
        parts += [f"Seeds: {', '.join(map(str, info.seeds))}.", ""]
    if info.hardware or info.throughput:
        rows = [[k, v] for k, v in {**info.hardware, **info.throughput}.items()]
        parts += ["### Hardware and throughput", "", _table(["", ""], rows), ""]
    for note in info.notes:
        parts += [note.strip(), ""]
    if info.usage:
        parts += ["## Usage", ""]
        if info.install:
            parts += ["```bash", info.install.strip(), "```", ""]
        parts += ["```python", info.usage.strip(), "```", ""]
    if info.files:
        parts += ["## Files", "", _table(["file", "content"], [[f"`{k}`", v] for k, v in info.files.items()]), ""]
    if info.citation:
        parts += ["## Citation", "", "```bibtex", info.citation.strip(), "```", ""]
    return "\n".join(parts).rstrip() + "\n"


def render_card(info: ModelCardInfo) -> ModelCard:
    """The full card (YAML + body) as a `huggingface_hub.ModelCard`."""
    return ModelCard(f"---\n{card_data(info).to_yaml()}\n---\n\n{render_body(info)}")


def write_model_card(run_dir: str | Path, info: ModelCardInfo) -> Path:
    """Render the card and write it atomically to `run_dir/README.md`; returns the path."""
    return write_text_atomic(Path(run_dir) / "README.md", str(render_card(info)))


def card_test_results(path: str | Path) -> dict[str, float]:
    """Parse a written card back: `{our metric key: value}` of its `model-index` test results."""
    card = ModelCard.load(str(path))
    ours = {hub: key for key, hub in HUB_METRIC_IDS.items()}
    return {ours.get(r.metric_type, r.metric_type): r.metric_value
            for r in (card.data.eval_results or []) if r.dataset_split == "test"}


def load_metrics_json(path: str | Path) -> dict:
    """Read a run's metrics JSON (helper for callers comparing it with the card)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
