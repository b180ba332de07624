"""The plots of the standalone audit report, drawn from the report JSON alone, as byte-reproducible PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
COLORS = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828", "too_few_rows": "#757575", "n/a": "#757575"}
BASE_COLORS = {"A": "#2e7d32", "C": "#1565c0", "G": "#f9a825", "T": "#c62828"}


def _figure(width: float, height: float, rows: int = 1, cols: int = 1):
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)  # no pyplot: no global state, no GUI backend
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(rows * cols)]
    return fig, axes


def _save(fig: Figure, path: Path, **margins) -> Path:
    """Write `fig` as PNG with no timestamp or version metadata (same report -> same bytes).

    Margins are set, not computed (`tight_layout` draws the figure once more: half the time of a report).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.subplots_adjust(**{"left": 0.08, "right": 0.97, "bottom": 0.14, "top": 0.9, "hspace": 0.45, "wspace": 0.25,
                           **margins})
    fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    tmp.replace(path)
    return path


def _auroc_guides(ax, vertical: bool = True) -> None:
    line = ax.axvline if vertical else ax.axhline
    line(0.5, color="black", linewidth=0.8)
    for x, style in ((0.4, ":"), (0.6, ":"), (0.3, "--"), (0.7, "--")):
        line(x, color="grey", linewidth=0.6, linestyle=style)


def plot_probes(probes: dict, labels: dict[str, str], path: Path) -> Path | None:
    """Every scored probe: AUROC with its 95% interval, the number written beside it, coloured by flag."""
    scored = [(name, d) for name, d in probes.items() if d.get("auroc") is not None]
    if not scored:
        return None
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, (ax,) = _figure(10.0, 0.8 + 0.28 * len(scored))
        for y, (name, d) in enumerate(reversed(scored)):
            color = COLORS.get(d["flag"], "black")
            lo, hi = d["ci"] or (d["auroc"], d["auroc"])
            ax.plot([lo, hi], [y, y], color=color, linewidth=2)
            ax.plot([d["auroc"]], [y], "o", color=color, markersize=5)
            ax.text(1.01, y, f"{d['auroc']:.3f} [{lo:.3f}, {hi:.3f}] {d['flag']}", va="center", fontsize=8,
                    color=color, transform=ax.get_yaxis_transform())
        _auroc_guides(ax)
        ax.set_yticks(range(len(scored)))
        ax.set_yticklabels([labels[name] for name, _ in reversed(scored)], fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("test AUROC of a probe fitted on train (95% bootstrap interval)")
        ax.set_title("Shortcut probes: pass within 0.4-0.6 (dotted), fail beyond 0.3-0.7 (dashed)", fontsize=9)
        height = 0.8 + 0.28 * len(scored)
        return _save(fig, path, left=0.36, right=0.68, bottom=0.55 / height, top=1 - 0.3 / height)


def plot_composition(probes: dict, classes: list[str], path: Path) -> Path | None:
    """Per-class mean share of each base and dinucleotide, the probe's AUROC above each group (failing: red)."""
    names = [n for n in probes if (n.startswith("base_") or n.startswith("dinucleotide_")) and probes[n].get("class_means")]
    if not names:
        return None
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, (ax,) = _figure(max(8.0, 0.5 * len(names)), 4.2)
        width = 0.8 / max(len(classes), 1)
        top = max(v for n in names for v in probes[n]["class_means"].values())
        for j, cls in enumerate(classes):
            values = [probes[n]["class_means"].get(cls, 0.0) for n in names]
            ax.bar(np.arange(len(names)) + (j - (len(classes) - 1) / 2) * width, values, width, label=cls)
        for i, n in enumerate(names):
            d = probes[n]
            if d.get("auroc") is None:
                continue
            ax.text(i, top * 1.04, f"{d['auroc']:.2f}", ha="center", fontsize=7, rotation=90,
                    color=COLORS.get(d["flag"], "black"), fontweight="bold" if d["flag"] == "fail" else "normal")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([n.split("_", 1)[1] for n in names], fontsize=8)
        for tick, n in zip(ax.get_xticklabels(), names):
            tick.set_color(COLORS.get(probes[n].get("flag"), "black"))
        ax.set_ylim(0, top * 1.25)
        ax.set_ylabel("mean share per sequence")
        ax.set_title("Bases and dinucleotides by class; the number is each one's probe AUROC (red: fail)", fontsize=9)
        ax.legend(fontsize=8, frameon=False, ncol=len(classes))
        return _save(fig, path, left=0.06, right=0.99)


def plot_positions(probes: dict, classes: list[str], path: Path) -> Path | None:
    """AUROC of every window of positions (from the first and from the last base), the picked window marked;
    below, the share of each base at each position per class."""
    scans = [(n, probes[n]) for n in ("position_start", "position_end") if probes.get(n, {}).get("curve")]
    if not scans:
        return None
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, (ax, ax2) = _figure(9.0, 6.0, rows=2)
        for name, d in scans:
            starts, values = np.array(d["curve"]["starts"]), np.array(d["curve"]["auroc"], dtype=float)
            centre = starts + d["window"] / 2
            ax.plot(centre, values, marker=".", label=f"from the {'last' if d['from'] == 'end' else 'first'} base")
            lo, hi = d["selected_window"]
            ax.axvspan(lo, hi, color=COLORS.get(d["flag"], "grey"), alpha=0.15)
            ax.annotate(f"{d['auroc']:.3f} (bases {lo}-{hi - 1})", (lo + d["window"] / 2, d["auroc"]), fontsize=8,
                        xytext=(5, 5), textcoords="offset points", color=COLORS.get(d["flag"], "black"))
        _auroc_guides(ax, vertical=False)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"window centre (bases from the end it is counted from; window {scans[0][1]['window']} bp)")
        ax.set_ylabel("test AUROC")
        ax.set_title("Per-position probe: a model on the bases of one window (shaded: window picked on train)",
                     fontsize=9)
        ax.legend(fontsize=8, frameon=False)
        freq = scans[0][1]["frequencies"]
        styles = ["-", "--", ":", "-."]
        for j, cls in enumerate(classes):
            shares = np.array(freq.get(cls, []), dtype=float)
            if not shares.size:
                continue
            for b, base in enumerate("ACGT"):
                ax2.plot(shares[:, b], styles[j % len(styles)], color=BASE_COLORS[base], linewidth=0.9,
                         label=f"{base} {cls}")
        ax2.set_xlabel(f"position from the {'last' if scans[0][1]['from'] == 'end' else 'first'} base")
        ax2.set_ylabel("share of sequences")
        ax2.set_title("Base at each position, by class (line style: class)", fontsize=9)
        ax2.legend(fontsize=7, frameon=False, ncol=4)
        return _save(fig, path)


def plot_distributions(probes: dict, path: Path) -> Path | None:
    """Per-class histograms of length and GC share, each titled with its probe's AUROC."""
    panels = [(n, probes[n]) for n in ("length", "gc") if probes.get(n, {}).get("distribution")]
    if not panels:
        return None
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, axes = _figure(5.0 * len(panels), 3.6, cols=len(panels))
        for ax, (name, d) in zip(axes, panels):
            edges = np.array(d["distribution"]["edges"])
            for cls, counts in d["distribution"]["counts"].items():
                counts = np.array(counts, dtype=float)
                ax.stairs(counts / max(counts.sum(), 1), edges, label=f"{cls} (n={int(counts.sum()):,})", linewidth=1.5)
            score = "n/a" if d.get("auroc") is None else f"AUROC {d['auroc']:.3f} ({d['flag']})"
            ax.set_title(f"{'Length (bp)' if name == 'length' else 'GC share'}: {score}", fontsize=9,
                         color=COLORS.get(d.get("flag"), "black"))
            ax.set_ylabel("share of class")
            ax.legend(fontsize=8, frameon=False)
        return _save(fig, path)


def plot_contigs(probes: dict, classes: list[str], path: Path) -> Path | None:
    """Class mix of the contigs holding the most rows, row counts written on the bars."""
    d = probes.get("contig") or {}
    by_contig = d.get("by_contig")
    if not by_contig:
        return None
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, (ax,) = _figure(max(8.0, 0.4 * len(by_contig)), 4.0)
        names = list(by_contig)
        totals = np.array([sum(by_contig[c].values()) for c in names], dtype=float)
        bottom = np.zeros(len(names))
        for cls in classes:
            share = np.array([by_contig[c].get(cls, 0) for c in names]) / np.maximum(totals, 1)
            ax.bar(range(len(names)), share, bottom=bottom, label=cls)
            bottom += share
        for i, t in enumerate(totals):
            ax.text(i, 1.01, f"{int(t):,}", ha="center", fontsize=6, rotation=90)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, fontsize=8, rotation=90)
        ax.set_ylim(0, 1.15)
        ax.set_ylabel("class share of the contig's rows")
        bits = [f"{n} AUROC {probes[n]['auroc']:.3f} ({probes[n]['flag']})" for n in ("contig", "genomic_bin")
                if probes.get(n, {}).get("auroc") is not None]
        ax.set_title("Class mix by contig (rows on top); " + ", ".join(bits), fontsize=9)
        ax.legend(fontsize=8, frameon=False, ncol=len(classes), loc="lower right")
        return _save(fig, path, bottom=0.25)


def plot_similarity(near: dict, path: Path) -> Path | None:
    """How similar each test row is to its closest train/validation row (identity x coverage), counts on bars."""
    head = (near.get("pairs") or {}).get("test_vs_train_validation") or {}
    hist = head.get("similarity_histogram")
    if not hist or not head.get("rows"):
        return None
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        fig, (ax,) = _figure(7.0, 3.6)
        bins = np.array(hist["bins"])
        counts = [hist["no_candidate"]] + hist["counts"]
        labels = ["none"] + [f"{bins[i]:.1f}-{bins[i + 1]:.1f}" for i in range(len(bins) - 1)]
        bars = ax.bar(range(len(counts)), counts, color="#1565c0")
        for bar, c in zip(bars, counts):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{c:,}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(counts)))
        ax.set_xticklabels(labels, fontsize=8, rotation=45)
        prm = near["params"]
        fig.subplots_adjust(bottom=0.25)
        ax.set_xlabel("identity x coverage of the closest train/validation row (none: no shared k-mer aligned)")
        ax.set_ylabel("test rows")
        ax.set_title(f"Test rows by similarity to train ∪ validation: {head['near_duplicates']:,} of {head['rows']:,} "
                     f"are near-duplicates (identity ≥ {prm['min_identity']:.0%}, coverage ≥ "
                     f"{prm['min_coverage']:.0%})", fontsize=9)
        return _save(fig, path, bottom=0.28)
