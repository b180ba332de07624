"""The standalone audit report a person reads: `audit/<config>.md` with its plots, rendered from the JSON report."""

from __future__ import annotations

import os
from pathlib import Path

from gbhub.builders.audit import figures
from gbhub.builders.audit.report import (
    HEADLINE,
    applicable,
    auroc_text,
    check_schema,
    contigs_text,
    flag_text,
    leakage_table,
    n_,
    not_applicable_notes,
    ordered_probes,
    probe_label,
    render_variant,
    table,
    within_table,
)
from gbhub.builders.audit.scoring import MIN_ROWS_PER_CLASS
from gbhub.builders.hub_layout import SPLITS, audit_path, image_path, write_text_atomic

WIDE_INTERVAL = 0.1  # a 95% interval wider than this is called out as imprecise


def document_path(out_dir: str | os.PathLike, config: str) -> Path:
    """`audit/<config>.md`, next to the JSON report."""
    return audit_path(out_dir, config).with_suffix(".md")


def _guards(report: dict) -> list[str]:
    """Small-sample warnings: classes with few rows, probes left unscored, wide intervals."""
    notes = []
    for split in ("train", "test"):
        for cls, n in report["rows"].get(split, {}).items():
            if n < MIN_ROWS_PER_CLASS:
                notes.append(f"`{cls}` has {n} {split} row{'s' if n != 1 else ''} (< {MIN_ROWS_PER_CLASS}): the "
                             "shortcut probes are not scored, and any fraction of that class rests on few rows.")
    probes = (report.get("shortcuts") or {}).get("probes") or {}
    wide = [f"`{name}` ({d['ci'][1] - d['ci'][0]:.2f})" for name, d in probes.items()
            if d.get("ci") and d["ci"][1] - d["ci"][0] > WIDE_INTERVAL]
    if wide:
        notes.append(f"Wide 95% intervals (more than {WIDE_INTERVAL} across): " + ", ".join(wide)
                     + ". Read those AUROCs as rough: the test set is small for them.")
    uncertain = [name for name, d in probes.items() if d.get("flag") in ("warn", "fail") and d.get("ci")
                 and d["ci"][0] <= 0.5 <= d["ci"][1]]
    if uncertain:
        notes.append("Flagged although the interval includes 0.5: " + ", ".join(f"`{n}`" for n in uncertain) + ".")
    if report.get("split_note"):
        notes.append(f"Splits made by the audit: {report['split_note']}.")
    return notes


def _examples(near: dict) -> str:
    head = near["pairs"].get(HEADLINE) or {}
    rows = []
    for e in head.get("examples", []):
        q, r = e["query"], e["reference"]
        rows.append([f"`{q['id']}` ({q['label']}, {q['length']} bp)", f"`{r['id']}` ({r['split']}, {r['label']}, "
                     f"{r['length']} bp)", f"{e['identity']:.1%}", f"{e['coverage']:.1%}", e["strand"]])
    if not rows:
        return "No test row is a near-duplicate of a train or validation row."
    total = head["near_duplicates"]
    shown = (f"the {len(rows)} most similar of the {total:,} flagged test rows" if total > len(rows) else
             f"all {len(rows)} flagged test row{'s' if len(rows) != 1 else ''}")
    return (f"Flagged test rows with their closest train or validation row ({shown}):\n\n"
            + table(["Test row", "Closest train/validation row", "Identity", "Coverage", "Strand"], rows))


def _probe_table(probes: dict, metric: str) -> str:
    with_pairs = any(d.get("pairs") for d in probes.values())
    rows = []
    for name, d in probes.items():
        if not d.get("applicable", True):
            continue
        row = [probe_label(name, d), d["description"], auroc_text(d), flag_text(d)]
        if with_pairs:
            row.append("; ".join(f"{k}: {auroc_text(v)} {flag_text(v)}" for k, v in (d.get("pairs") or {}).items()))
        rows.append(row)
    header = ["Probe", "What it sees", f"{metric} [95% CI]", "Flag"] + (["Pairs of classes"] if with_pairs else [])
    text = table(header, rows)
    skipped = [f"- `{name}`: {d['reason']}." for name, d in probes.items() if not d.get("applicable", True)]
    if skipped:
        text += "\n\nNot applicable (never scored as 0.5):\n\n" + "\n".join(skipped)
    return text


def _letters(probes: dict) -> str:
    lines = []
    n_content = probes.get("n_content") or {}
    for cls, d in (n_content.get("by_class") or {}).items():
        lines.append(f"- `{cls}`: {d['rows_with_n']:,} of {d['rows']:,} sequences hold N ({d['n_bases']:,} N bases).")
    for cls, d in ((probes.get("letters") or {}).get("by_class") or {}).items():
        lines.append(f"- `{cls}` letters: " + ", ".join(f"{k}: {v:,}" for k, v in d.items()) + ".")
    return "\n".join(lines)


def render_document(report: dict, images: dict[str, str]) -> str:
    """The Markdown of the standalone report.

    Args:
        report: the audit report (schema in `builders.audit.report`).
        images: `{kind: path relative to the Markdown file}` of the plots drawn.
    """
    check_schema(report)
    config, classes = report["config"], report["classes"]
    out = [f"# Audit of `{config}`",
           f"genomic-benchmarks-hub {report.get('package_version', '?')}; read from {report.get('source') or config}. "
           "Every figure below is in the JSON report next to this file."]
    coords = report["inputs"]["coordinates"]
    reason = f" ({coords['reason']})" if coords.get("reason") else ""
    sequences = "yes" if report["inputs"]["sequences"] else "no (intervals only)"
    rows = [[split] + [n_(report["rows"][split].get(c, 0)) for c in classes] for split in SPLITS]
    out.append("## Data\n\n" + table(["Split"] + [f"`{c}`" for c in classes], rows)
               + f"\n\nSequences: {sequences}. Coordinates: {coords['status']}{reason}.")
    guards = _guards(report)
    if guards:
        out.append("## Read with care\n\n" + "\n".join(f"- {g}" for g in guards))
    if report.get("variant"):
        warning = render_variant(report["variant"], classes)
        if warning:
            out.append("## Variant\n\n" + warning)
    shortcuts = report.get("shortcuts")
    summary = []
    if shortcuts:
        for flag in ("fail", "warn"):
            names = shortcuts["flagged"].get(flag, [])
            if names:
                summary.append(f"- Shortcut probes flagged **{flag}**: " + ", ".join(f"`{n}`" for n in names) + ".")
        if shortcuts.get("below_chance"):
            summary.append("- Scored far below 0.5 (the rule learnt on train is reversed on test): "
                           + ", ".join(f"`{n}`" for n in shortcuts["below_chance"]) + ".")
    near = report.get("near_duplicates")
    if applicable(near):
        head = near["pairs"][HEADLINE]
        summary.append(f"- Test rows with a near-duplicate in train ∪ validation: "
                       f"{n_(head['near_duplicates'], head['near_duplicate_fraction'])}.")
    overlap = report.get("overlap")
    if applicable(overlap):
        head = overlap["pairs"][HEADLINE]
        summary.append(f"- Test intervals overlapping train ∪ validation: "
                       f"{n_(head['overlapping'], head['overlapping_fraction'])}.")
    if summary:
        out.append("## Summary\n\n" + "\n".join(summary))
    leak = [leakage_table(report), not_applicable_notes(report)]
    if "similarity" in images:
        leak.append(f"![Similarity of test rows to train and validation]({images['similarity']})")
    if applicable(near):
        leak.append(_examples(near))
    if applicable(report.get("duplicates")):
        leak.append("Duplicates within splits (repeats of an earlier row of the split):\n\n" + within_table(report))
    out.append("## Leakage\n\n" + "\n\n".join(p for p in leak if p))
    if shortcuts:
        parts = [f"Each probe learns one trivial property on {shortcuts['fitted_on']} and is scored on "
                 f"{shortcuts['scored_on']}; {shortcuts['interval']}. Flags: pass when |AUROC − 0.5| ≤ 0.1, warn "
                 "≤ 0.2, fail beyond, in either direction. The majority class alone has accuracy "
                 f"{shortcuts['majority_accuracy']:.3f}.",
                 _probe_table(ordered_probes(shortcuts["probes"]), shortcuts["metric"])]
        for kind, alt in (("probes", "AUROC of every probe"), ("composition", "Bases and dinucleotides by class"),
                          ("positions", "Per-position probe"), ("distributions", "Length and GC by class"),
                          ("contigs", "Class mix by contig")):
            if kind in images:
                parts.append(f"![{alt}]({images[kind]})")
        letters = _letters(shortcuts["probes"])
        if letters:
            parts.append("N and other letters:\n\n" + letters)
        out.append("## Shortcuts\n\n" + "\n\n".join(parts))
    if applicable(report.get("contigs")):
        out.append("## Contigs\n\n" + contigs_text(report["contigs"]))
    return "\n\n".join(out) + "\n"


def write_document(out_dir: str | os.PathLike, config: str, report: dict) -> Path:
    """Draw the plots and write the standalone report `audit/<config>.md` (same report, same bytes)."""
    path = document_path(out_dir, config)
    probes = ordered_probes((report.get("shortcuts") or {}).get("probes") or {})
    classes = report["classes"]
    labels = {name: probe_label(name, d) for name, d in probes.items()}
    drawers = {
        "similarity": lambda p: figures.plot_similarity(report["near_duplicates"], p) if applicable(report.get("near_duplicates")) else None,
        "probes": lambda p: figures.plot_probes(probes, labels, p),
        "composition": lambda p: figures.plot_composition(probes, classes, p),
        "positions": lambda p: figures.plot_positions(probes, classes, p),
        "distributions": lambda p: figures.plot_distributions(probes, p),
        "contigs": lambda p: figures.plot_contigs(probes, classes, p),
    }
    images = {}
    for kind, draw in drawers.items():
        target = Path(out_dir) / image_path(config, f"audit_{kind}")
        if draw(target):
            images[kind] = Path(os.path.relpath(target, path.parent)).as_posix()
        elif target.exists():
            target.unlink()  # a plot that no longer applies
    return write_text_atomic(path, render_document(report, images))
