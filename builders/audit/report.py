"""The audit report: `DIR/audit/<config>.json` (schema below) and its "Known issues" Markdown for the card.

Schema (version 1), every count an int and every fraction a float in [0, 1]:

```
schema_version: 1
config, parent (null for upstream-faithful configs), classes: [...], package_version
rows: {split: {class: n}}
duplicates:
  definition
  within_split: {split: {rows, exact_redundant, rc_redundant, exact_fraction, rc_fraction,
                         label_conflict_groups, by_class: {class: {rows, exact, exact_fraction, rc, rc_fraction}}}}
  across_splits: {pair: {rows, exact, rc, exact_fraction, rc_fraction, label_conflicts,
                         by_class: {class: {rows, exact, exact_fraction, rc, rc_fraction}}}}
overlap:
  definition
  pairs: {pair: {rows, identical, overlapping, identical_fraction, overlapping_fraction,
                 overlap_fraction_histogram: {bins: [0.0, 0.1, ..., 1.0], counts: [10 ints]},
                 overlap_fraction_quantiles: {"0.1", "0.5", "0.9"} | null,
                 by_class: {class: {rows, identical, overlapping, overlapping_fraction}}}}
near_duplicates:
  method, params: {k, bins, rows_per_band, threshold, max_candidates, seed}, unsketched_rows
  pairs: {pair: {rows, near_duplicates, near_duplicate_fraction, beyond_exact_and_rc, capped_rows,
                 by_class: {class: {rows, near_duplicates, fraction}}}}
shortcuts:
  model, features_note, fitted_on, scored_on, metric, thresholds, majority_accuracy
  features: {length|gc|kmer3: {description, auroc, accuracy, flag: pass|warn|fail|n/a}}
contigs:
  definition
  by_class: {class: {rows, applicable, reason} | {rows, applicable, exclusive_rows, exclusive_fraction,
                     by_split: {split: n}, contigs: {canonical contig: n}}}
  negatives_without_positive: {exclusive_rows, exclusive_fraction, contigs} | null  (binary negative/positive)
variants (optional): {leakfree|chromsplit: {config} | {skipped: reason}}
```

`pair` is one of `validation_vs_train`, `test_vs_train`, `test_vs_validation`, `test_vs_train_validation`
(query split first: its rows are the ones counted). Sections of parts that were not run are absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gbhub.builders.audit.common import AuditError
from gbhub.builders.hub_layout import SPLITS, audit_path, write_json_atomic

SCHEMA_VERSION = 1
HEADLINE = "test_vs_train_validation"


def write_report(out_dir: str | os.PathLike, config: str, report: dict) -> Path:
    """Write `out_dir/audit/<config>.json` atomically (sorted keys, so identical audits give identical bytes)."""
    return write_json_atomic(audit_path(out_dir, config), report)


def read_report(out_dir: str | os.PathLike, config: str) -> dict:
    path = audit_path(out_dir, config)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(f"{path} not found: run `gbhub audit {config} --out {out_dir}`") from None


# --------------------------------------------------------------------------------------------- Markdown


def _n(count: int, fraction: float | None = None) -> str:
    return f"{count:,}" if fraction is None else f"{count:,} ({fraction:.1%})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_known_issues(audit: dict) -> str:
    """The card's "Known issues" text of one config, from its audit report (Markdown).

    Args:
        audit: the object of `audit/<config>.json` (schema in this module's docstring).
    """
    if audit.get("schema_version") != SCHEMA_VERSION:
        raise AuditError(f"audit report of {audit.get('config')!r} has schema version "
                         f"{audit.get('schema_version')!r}, expected {SCHEMA_VERSION}; re-run `gbhub audit`")
    config = audit["config"]
    parts = [
        f"Audited by `gbhub audit` (genomic-benchmarks-hub {audit.get('package_version', '?')}); all figures are "
        f"in [`audit/{config}.json`](audit/{config}.json). *Query* rows are counted: \"test vs train ∪ validation\" "
        "counts test rows that have a counterpart in train or validation."
    ]
    leakage = _leakage(audit)
    if leakage:
        parts.append("**Leakage across splits**\n\n" + leakage)
    if "duplicates" in audit:
        parts.append("**Duplicates within splits** (redundant rows: repeats of an earlier row of the split)\n\n"
                     + _within(audit))
    if "shortcuts" in audit:
        parts.append(_shortcuts(audit["shortcuts"]))
    if "contigs" in audit:
        parts.append(_contigs(audit["contigs"]))
    variants = audit.get("variants") or {}
    lines = []
    for kind, text in (("leakfree", "drops the leaking rows counted above"),
                       ("chromsplit", "holds out whole chromosomes for validation and test")):
        entry = variants.get(kind)
        if entry and entry.get("config"):
            lines.append(f"- [`{entry['config']}`](#{entry['config'].lower()}) {text}.")
        elif entry and entry.get("skipped"):
            lines.append(f"- No {kind} variant: {entry['skipped']}.")
    if lines:
        parts.append("**Variants**\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def _leakage(audit: dict) -> str:
    pairs = [HEADLINE, "validation_vs_train"]
    header = ["Check", "test vs train ∪ validation", "validation vs train"]
    rows = []
    dup = (audit.get("duplicates") or {}).get("across_splits")
    if dup:
        rows.append(["identical sequence"] + [_n(dup[p]["exact"], dup[p]["exact_fraction"]) for p in pairs])
        rows.append(["reverse-complement sequence"] + [_n(dup[p]["rc"], dup[p]["rc_fraction"]) for p in pairs])
        rows.append(["…of which with another label"] + [_n(dup[p]["label_conflicts"]) for p in pairs])
    ov = (audit.get("overlap") or {}).get("pairs")
    if ov:
        rows.append(["identical interval"] + [_n(ov[p]["identical"], ov[p]["identical_fraction"]) for p in pairs])
        rows.append(["overlapping interval (≥ 1 bp)"]
                    + [_n(ov[p]["overlapping"], ov[p]["overlapping_fraction"]) for p in pairs])
    near = audit.get("near_duplicates")
    if near:
        prm = near["params"]
        label = f"near-duplicate (est. Jaccard ≥ {prm['threshold']} of canonical {prm['k']}-mers)"
        np_ = near["pairs"]
        rows.append([label] + [_n(np_[p]["near_duplicates"], np_[p]["near_duplicate_fraction"]) for p in pairs])
        rows.append(["…not an exact or RC duplicate"] + [_n(np_[p]["beyond_exact_and_rc"]) for p in pairs])
    if not rows:
        return ""
    text = _table(header, rows)
    if ov and ov[HEADLINE]["overlapping"]:
        head = ov[HEADLINE]
        q = head["overlap_fraction_quantiles"]
        hist = head["overlap_fraction_histogram"]
        bins = hist["bins"]
        cells = ", ".join(f"({bins[i]:.1f}, {bins[i + 1]:.1f}]: {c:,}" for i, c in enumerate(hist["counts"]) if c)
        text += (f"\n\nOverlapping test intervals: median {q['0.5']:.0%} of the interval covered by its best train "
                 f"or validation interval (10th percentile {q['0.1']:.0%}, 90th {q['0.9']:.0%}); by fraction "
                 f"covered: {cells}.")
        worst = max(head["by_class"].items(), key=lambda kv: kv[1]["overlapping_fraction"])
        text += (f" Most affected class: `{worst[0]}`, {worst[1]['overlapping']:,} of its {worst[1]['rows']:,} "
                 f"test rows ({worst[1]['overlapping_fraction']:.1%}).")
    if near and near.get("unsketched_rows"):
        text += (f"\n\n{near['unsketched_rows']:,} rows are shorter than {near['params']['k']} bp (or hold no "
                 f"{near['params']['k']}-mer free of N): they have no k-mer sketch and are left out of the "
                 "near-duplicate search (exact duplicates still count them).")
    if near and near["pairs"][HEADLINE]["capped_rows"]:
        text += (f"\n\n{near['pairs'][HEADLINE]['capped_rows']:,} test rows fell in LSH buckets larger than "
                 f"{near['params']['max_candidates']} (repeats); their near-duplicate count is a lower bound.")
    return text


def _within(audit: dict) -> str:
    rows = []
    within = audit["duplicates"]["within_split"]
    for split in [s for s in SPLITS if s in within]:
        d = within[split]
        rows.append([split, _n(d["rows"]), _n(d["exact_redundant"], d["exact_fraction"]),
                     _n(d["rc_redundant"], d["rc_fraction"]), _n(d["label_conflict_groups"])])
    return _table(["Split", "Rows", "Exact", "Reverse complement", "Sequences under several labels"], rows)


def _shortcuts(s: dict) -> str:
    rows = []
    for name, title in (("length", "length alone"), ("gc", "GC content alone"), ("kmer3", "3-mer composition")):
        d = s["features"].get(name)
        if d is None:
            continue
        auroc = "–" if d["auroc"] is None else f"{d['auroc']:.3f}"
        accuracy = "–" if d["accuracy"] is None else f"{d['accuracy']:.3f}"
        flag = {"fail": "**fail**", "warn": "*warn*"}.get(d["flag"], d["flag"])
        rows.append([title, auroc, accuracy, flag])
    note = f" {s['features_note'][0].upper()}{s['features_note'][1:]}." if s.get("features_note") else ""
    return (f"**Shortcuts**: a {s['model']}, fitted on {s['fitted_on']} and scored on {s['scored_on']}.{note} "
            f"{s['metric']} is flagged pass ≤ 0.6 < warn ≤ 0.7 < fail; the majority class alone has accuracy "
            f"{s['majority_accuracy']:.3f}. A high 3-mer score may be genuine biology (e.g. CpG-rich promoters); "
            "a high length or GC score is a shortcut a model can take instead of the signal.\n\n"
            + _table(["Feature", s["metric"], "Accuracy", "Flag"], rows))


def _contigs(c: dict) -> str:
    lines = []
    for cls, d in c["by_class"].items():
        if not d["applicable"]:
            continue
        if d["exclusive_rows"]:
            contigs = sorted(d["contigs"].items(), key=lambda kv: (-kv[1], kv[0]))
            where = ", ".join(f"{name} ({n:,})" for name, n in contigs[:8])
            more = f", … {len(d['contigs']) - 8} more" if len(d["contigs"]) > 8 else ""
            lines.append(f"- `{cls}`: {_n(d['exclusive_rows'], d['exclusive_fraction'])} rows lie on contigs with "
                         f"no row of another class: {where}{more}.")
    if not any(d["applicable"] for d in c["by_class"].values()):
        reasons = sorted({d["reason"] for d in c["by_class"].values()})
        return "**Contigs**: not applicable (" + "; ".join(reasons) + ")."
    if not lines:
        return "**Contigs**: every contig holds rows of more than one class."
    return "**Contigs where only one class lies** (the contig alone gives the class away)\n\n" + "\n".join(lines)
