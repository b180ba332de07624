"""The dataset card's parts for regression configs: target statistics and histograms, side-feature correlations, sources."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import matplotlib
import numpy as np
import pyarrow as pa
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gbhub.builders.hub_layout import RegressionTarget, image_path

#: The card image of a regression config's target distribution: `images/<config>_target.png`.
TARGET_KIND = "target"
MAX_PLOTTED_TARGETS = 6
BINS = 40


@dataclass(frozen=True)
class RegressionStats:
    """A regression config's target and side features, per split.

    Attributes:
        schema: the target names and side-feature names.
        targets: `{split: (rows, k) float64}`.
        side: `{split: (rows, n_side) float64}` in `schema.side_features` order.
    """

    schema: RegressionTarget
    targets: dict[str, np.ndarray] = field(repr=False)
    side: dict[str, np.ndarray] = field(repr=False)


def schema_of(provenance: Mapping, features) -> RegressionTarget | None:
    """The regression schema of a config (from its provenance, else from its features), or None for classification."""
    from datasets import ClassLabel

    if isinstance(features.get("label"), ClassLabel):
        return None
    recorded = RegressionTarget.from_json(provenance.get("target"))
    if recorded is not None:
        return recorded
    from gbhub.builders.hub_layout import side_feature_columns

    length = getattr(features["label"], "length", None) or 1
    names = ("label",) if length == 1 else tuple(f"label_{i}" for i in range(length))
    return RegressionTarget(names, tuple(side_feature_columns(features)))


def target_matrix(table: pa.Table) -> np.ndarray:
    """`(rows, k)` float64 targets of a split's table (a float `label`, or a fixed-length list of floats)."""
    column = table.column("label").combine_chunks()
    if pa.types.is_fixed_size_list(column.type) or pa.types.is_list(column.type):
        flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        return flat.reshape(len(column), -1)
    return column.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, 1)


def without_label(table: pa.Table) -> pa.Table:
    """The table with `label` replaced by zeros, so the class statistics (lengths, GC) treat it as one class."""
    index = table.schema.get_field_index("label")
    return table.set_column(index, "label", pa.array(np.zeros(table.num_rows, dtype=np.int64)))


def split_values(table: pa.Table, schema: RegressionTarget) -> tuple[np.ndarray, np.ndarray]:
    """`(targets (rows, k), side features (rows, n_side))` of a split's table."""
    side = [table.column(name).to_numpy(zero_copy_only=False).astype(np.float64) for name in schema.side_features]
    matrix = np.stack(side, axis=1) if side else np.zeros((table.num_rows, 0))
    return target_matrix(table), matrix


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    return _pearson(rankdata(x), rankdata(y))


def target_table(stats: RegressionStats) -> str:
    """Rows, mean, standard deviation (ddof=0), min, median and max of each target per split and over all."""
    rows = []
    splits = list(stats.targets)
    everything = np.concatenate([stats.targets[s] for s in splits]) if splits else np.zeros((0, 1))
    for j, name in enumerate(stats.schema.targets):
        for split, values in [*((s, stats.targets[s][:, j]) for s in splits), ("all", everything[:, j])]:
            rows.append([f"`{name}`", split, f"{len(values):,}", _fmt(values.mean()), _fmt(values.std()),
                         _fmt(values.min()), _fmt(float(np.median(values))), _fmt(values.max())])
    return _table(["Target", "Split", "Rows", "Mean", "SD", "Min", "Median", "Max"], rows)


def correlation_table(stats: RegressionStats) -> str:
    """Pearson and Spearman correlation of each side feature with each target, on train and over all splits."""
    if not stats.schema.side_features:
        return "This config has no side features."
    splits = list(stats.targets)
    y_all = np.concatenate([stats.targets[s] for s in splits])
    x_all = np.concatenate([stats.side[s] for s in splits])
    rows = []
    for i, feature in enumerate(stats.schema.side_features):
        for j, target in enumerate(stats.schema.targets):
            train_x, train_y = stats.side["train"][:, i], stats.targets["train"][:, j]
            rows.append([f"`{feature}`", f"`{target}`", _fmt(_pearson(train_x, train_y)),
                         _fmt(_spearman(train_x, train_y)), _fmt(_pearson(x_all[:, i], y_all[:, j])),
                         _fmt(_spearman(x_all[:, i], y_all[:, j]))])
    return _table(["Side feature", "Target", "Pearson r (train)", "Spearman ρ (train)", "Pearson r (all)",
                   "Spearman ρ (all)"], rows)


def target_figure(stats: RegressionStats, config: str) -> Figure:
    """Histograms of each target (the first `MAX_PLOTTED_TARGETS`), one step line per split, shared bins."""
    names = stats.schema.targets[:MAX_PLOTTED_TARGETS]
    fig = Figure(figsize=(6.4, 3.2 * len(names) if len(names) > 1 else 3.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for j, (ax, name) in enumerate(zip(axes, names)):
        values = {s: v[:, j] for s, v in stats.targets.items()}
        pooled = np.concatenate(list(values.values()))
        edges = np.linspace(pooled.min(), pooled.max() if np.ptp(pooled) else pooled.min() + 1, BINS + 1)
        for split, v in values.items():
            weights = np.full(v.shape, 1.0 / v.size) if v.size else None
            ax.hist(v, bins=edges, weights=weights, histtype="step", linewidth=1.5, label=f"{split} (n={v.size:,})")
        ax.set_xlabel(name)
        ax.set_ylabel("fraction of split")
        ax.legend(fontsize="small", frameon=False)
        ax.set_title(f"{config}: {name} per split" if j == 0 else "")
    fig.tight_layout()
    return fig


def write_target_plot(out_dir: Path, config: str, stats: RegressionStats) -> str:
    """Write `images/<config>_target.png` (no timestamp: same data, same bytes); return its relative path."""
    rel = image_path(config, TARGET_KIND)
    path = Path(out_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        target_figure(stats, config).savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    tmp.replace(path)
    return rel


def remove_stale_target_plots(out_dir: Path, keep: set[str]) -> None:
    """Delete target images of configs no longer in the folder (only files named like ours)."""
    for path in Path(out_dir).glob(image_path("*", TARGET_KIND)):
        if path.relative_to(out_dir).as_posix() not in keep:
            path.unlink()


def target_section(config: str, provenance: Mapping, stats: RegressionStats) -> str:
    """The "Target and splits" part of a regression config's section (replaces the class table)."""
    schema = stats.schema
    kind = ("a float32 `Value`" if schema.num_targets == 1
            else f"a fixed-length list of {schema.num_targets} float32 values, in this order: "
            + ", ".join(f"`{t}`" for t in schema.targets))
    side = (", ".join(f"`{s}`" for s in schema.side_features) if schema.side_features else "none")
    parts = [
        "#### Target and splits",
        f"A regression config: `label` is {kind}" + (f" ({schema.description})" if schema.description else "")
        + f". Side-feature columns (float32, one per feature, after `strand`): {side}. No classes: the validation "
        "split is stratified on the target's quantiles.",
        target_table(stats),
        f"![Histogram of the target per split of {config}]({image_path(config, TARGET_KIND)})",
        "#### Side features and the target\n\n" + correlation_table(stats),
    ]
    ceiling = _ceiling(provenance)
    if ceiling:
        parts.append(ceiling)
    return "\n\n".join(parts)


def _ceiling(provenance: Mapping) -> str:
    verified = (provenance.get("sources") or {}).get("verified") or {}
    ceiling = verified.get("ceiling")
    if not ceiling:
        return ""
    rows = [[split, _fmt(c["r2_noise_free_target"]), _fmt(c["r2_sequence_part_only"]), _fmt(c["r2_side_features_only"])]
            for split, c in sorted(ceiling.items(), key=lambda kv: ("train", "test").index(kv[0]) if kv[0] in ("train", "test") else 9)]
    return ("#### Known ceiling R²\n\nThe target is generated from a known function plus noise, so the best R² any model "
            "can reach is known: the R² of the noise-free target (sequence and side features), of its sequence part "
            "alone (a model without the side features) and of its side-feature part alone (upstream splits).\n\n"
            + _table(["Upstream split", "Ceiling R²", "Sequence only", "Side features only"], rows))


def sources_provenance(provenance: Mapping) -> str:
    """The provenance lines of a regression config's source files, windows and checks (markdown)."""
    out = []
    windows = provenance.get("windows") or {}
    if windows.get("anchor") == "TSS":  # (a `_wW` config's windows over regions are described by the card itself)
        out.append(f"- Windows: {windows['length_bp']:,} bp around each gene's TSS ({windows['upstream_bp']:,} bp "
                   f"upstream, {windows['downstream_bp']:,} bp from the TSS on), read on the gene's strand; the TSS "
                   f"base is `sequence[{windows['upstream_bp']}]`.")
    sources = provenance.get("sources") or {}
    files = sources.get("files") or {}
    if files:
        rows = [[f"`{name}`", f["url"], f"`{f['sha256']}`", "pinned, verified" if f.get("pinned")
                 else "not pinned (recorded at build)", f.get("source", "–")] for name, f in sorted(files.items())]
        out.append(_table(["Source file", "URL", "sha256", "Checksum", "Read from"], rows))
    tables = sources.get("tables") or {}
    if tables and not files:
        out.append(_table(["Gene table", "sha256"], [[f"`{n}`", f"`{d}`"] for n, d in sorted(tables.items())]))
    verified = {k: v for k, v in (sources.get("verified") or {}).items() if k not in ("ceiling", "kind")}
    checks = verified.get("checks")
    if checks:
        out.append("What the build verified:\n\n" + "\n".join(f"- {line}" for line in checks))
    return "\n\n".join(out)


USAGE_SNIPPET = '''from datasets import load_dataset

ds = load_dataset("{repo}", "{config}")
print(ds["train"].features["label"])  # {label}
side = {side}  # side-feature columns
row = ds["train"][0]
print(row["label"], [row[name] for name in side])
'''


def usage_snippet(repo: str, config: str, schema: RegressionTarget) -> str:
    """The per-config usage snippet of a regression config."""
    label = "Value('float32')" if schema.num_targets == 1 else f"List(Value('float32'), length={schema.num_targets})"
    return USAGE_SNIPPET.format(repo=repo, config=config, label=label, side=list(schema.side_features))


def usage_section(config: str, repo: str, schema: RegressionTarget) -> str:
    """The card's *Usage* section when the default config is a regression config."""
    return ("## Usage\n\nEvery config loads with plain `datasets` (Parquet, no loading script). The default config, "
            f"`{config}`, is a regression benchmark: `label` holds float target(s), the side features are columns "
            "of their own.\n\n```python\n" + usage_snippet(repo, config, schema) + "```\n\n"
            "Train on it with `gbhub train deeplncloc` (or `cnn`, `deepenhancer`: every convolutional "
            "recipe has a regression head), `--side-features all` to give the models the side features; the "
            "`genomic_regression` `evaluate` module scores R², Pearson, Spearman, MSE and MAE.")
