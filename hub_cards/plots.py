"""Per-class length and GC-content histograms of a config, as byte-reproducible PNG files for the card."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gbhub.builders.hub_layout import atomic_path, image_path
from gbhub.hub_cards.stats import ConfigStats

DPI = 100
FIGSIZE = (6.4, 3.6)
MAX_BINS = 60
CLIP_PERCENTILE = 99.5


def _new_figure() -> tuple[Figure, object]:
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)  # no pyplot: no global state, no GUI backend
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Figure, path: Path) -> Path:
    """Write `fig` as PNG with no timestamp or version metadata (same data -> same bytes)."""
    with atomic_path(path) as tmp:  # a unique temporary name: two writers never share one
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return path


def length_bins(values_by_class: Mapping[str, np.ndarray]) -> tuple[np.ndarray, bool]:
    """Shared histogram bin edges for lengths, and whether the long tail was clipped into the last bin.

    Bins are a whole number of bases wide (centred on integers), so no bin holds more lengths than
    another. The upper edge is the 99.5th percentile when the longest sequence lies far beyond it, so one
    outlier does not squash every other bar.
    """
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in values_by_class.values()])
    if values.size == 0:
        return np.array([-0.5, 0.5]), False
    low, high = int(values.min()), int(values.max())
    upper = int(np.ceil(np.percentile(values, CLIP_PERCENTILE)))
    clipped = high > 1.5 * max(upper, 1)
    high = upper if clipped else high
    width = max(1, -(-(high - low + 1) // MAX_BINS))
    n_bins = -(-(high - low + 1) // width)
    return low - 0.5 + width * np.arange(n_bins + 1, dtype=np.float64), clipped


def _constant_length(values_by_class: Mapping[str, np.ndarray]) -> int | None:
    """The length shared by every sequence, or None when lengths differ (or there are none)."""
    values = np.unique(np.concatenate([np.asarray(v) for v in values_by_class.values()]))
    return int(values[0]) if values.size == 1 else None


def _step_histograms(ax, values_by_class: Mapping[str, np.ndarray], edges: np.ndarray, clip: bool) -> None:
    for name, values in values_by_class.items():
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        if clip:
            values = np.minimum(values, edges[-1])
        weights = np.full(values.shape, 1.0 / values.size) if values.size else None
        ax.hist(values, bins=edges, weights=weights, histtype="step", linewidth=1.5,
                label=f"{name} (n={values.size:,})")
    ax.set_ylabel("fraction of class")
    ax.legend(fontsize="small", frameon=False)


def gc_bins(values_by_class: Mapping[str, np.ndarray]) -> np.ndarray:
    """Histogram bin edges for GC fractions that fit the data: the axis spans the observed range, not 0-1.

    The step is the finest of 0.005, 0.01, 0.02, 0.05 giving at most `MAX_BINS` bins; edges sit on multiples
    of the step and cover every finite value (an empty or all-NaN config gets 0-1).
    """
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in values_by_class.values()] or [np.zeros(0)])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.linspace(0.0, 1.0, 51)
    low, high = float(values.min()), float(values.max())
    for step in (0.005, 0.01, 0.02, 0.05):
        first, last = int(np.floor(low / step + 1e-9)), int(np.floor(high / step + 1e-9)) + 1
        if last - first <= MAX_BINS:
            break
    return np.round(np.arange(first, last + 1) * step, 6)


def length_kind(stats: ConfigStats) -> str:
    """What a config's "length" image shows: `histogram` of lengths, or `class sizes` when every sequence has
    the same length (a histogram of one value says nothing)."""
    return "class sizes" if _constant_length(stats.lengths_by_class) is not None else "histogram"


def alt_texts(config: str, stats: ConfigStats) -> dict[str, str]:
    """The card's alt text of each image, saying what the image shows: `{"length": ..., "gc": ...}`."""
    constant = _constant_length(stats.lengths_by_class)
    if constant is not None:
        length = f"Sequences per class of {config} (every sequence is {constant:,} bp, so no length histogram)"
    else:
        length = f"Histogram of sequence length per class of {config}"
    return {"length": length, "gc": f"Histogram of GC content per class of {config}"}


def length_figure(stats: ConfigStats, config: str) -> Figure:
    """The "length" image: a histogram of sequence length per class, or the class sizes of a fixed-length config."""
    fig, ax = _new_figure()
    constant = _constant_length(stats.lengths_by_class)
    if constant is not None:  # a histogram of one value says nothing: show the class sizes instead
        names = list(stats.lengths_by_class)
        ax.bar(names, [stats.lengths_by_class[n].size for n in names], color=[f"C{i}" for i in range(len(names))])
        ax.set_ylabel("sequences")
        ax.set_title(f"{config}: sequences per class (every sequence is {constant:,} bp)")
    else:
        edges, clipped = length_bins(stats.lengths_by_class)
        _step_histograms(ax, stats.lengths_by_class, edges, clipped)
        ax.set_xlabel("sequence length (bp)" + (f", last bin: ≥ p{CLIP_PERCENTILE:g}" if clipped else ""))
        ax.set_title(f"{config}: sequence length per class")
    fig.tight_layout()
    return fig


def gc_figure(stats: ConfigStats, config: str) -> Figure:
    """The "gc" image: a histogram of per-sequence GC fraction per class, the axis fitted to the data."""
    fig, ax = _new_figure()
    edges = gc_bins(stats.gc_values_by_class)
    _step_histograms(ax, stats.gc_values_by_class, edges, False)
    ax.set_xlabel("GC fraction (of A/C/G/T bases)")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_title(f"{config}: GC content per class")
    fig.tight_layout()
    return fig


def plot_lengths(stats: ConfigStats, config: str, path: Path) -> Path:
    """Write :func:`length_figure` to `path` (PNG)."""
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        return _save(length_figure(stats, config), path)


def plot_gc(stats: ConfigStats, config: str, path: Path) -> Path:
    """Write :func:`gc_figure` to `path` (PNG)."""
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        return _save(gc_figure(stats, config), path)


IMAGE_KINDS = ("length", "gc")


def image_paths(config: str) -> dict[str, str]:
    """Paths, relative to the Hub folder, of a config's images: `{"length": ..., "gc": ...}`."""
    return {kind: image_path(config, kind) for kind in IMAGE_KINDS}


def write_config_plots(out_dir: Path, config: str, stats: ConfigStats) -> dict[str, str]:
    """Write a config's images under `out_dir/images/` and return their relative paths."""
    rel = image_paths(config)
    plot_lengths(stats, config, Path(out_dir) / rel["length"])
    plot_gc(stats, config, Path(out_dir) / rel["gc"])
    return rel
