"""The audit report: `DIR/audit/<config>.json` (schema below) and its "Known issues" Markdown for the card.

Schema (version 2), every count an int and every fraction a float in [0, 1]; a part that cannot run on the
data is `{applicable: false, reason}` instead of its figures:

```
schema_version: 2
config, parent (null for upstream-faithful configs), classes: [...], package_version
source (what was read, or null), split_note (how the audit made the splits, or null)
rows: {split: {class: n}}
inputs: {sequences: bool, coordinates: {status: present|placeholder|absent, reason, rows}}
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
  method, params: {k (null: automatic), k_used, min_identity, min_coverage, scale, scale_used, ...}, masked_kmers,
  compared_exactly: {rows, shorter_than_k}
  pairs: {pair: {rows, near_duplicates, near_duplicate_fraction, beyond_exact_and_rc, label_conflicts,
                 by_class: {class: {rows, near_duplicates, fraction}},
                 similarity_histogram: {bins, counts, no_candidate},          (test_vs_train_validation and
                 examples: [{query: {id, split, label, length}, reference: {...},  validation_vs_train only)
                             identity, coverage, strand, shared_kmers}]}}
shortcuts:
  fitted_on, scored_on, metric, interval, thresholds, params, majority_accuracy
  probes: {name: {group, description, applicable: false, reason, flag: n/a}
               | {group, description, applicable: true, model, auroc, ci: [lo, hi], flag: pass|warn|fail,
                  direction: above|below|chance, pairs: {"a vs b": {auroc, ci, flag, direction}} (> 2 classes),
                  (position probes:) window, stride, positions, from, selected_window, selected_on, curve}
               | {..., applicable: true, auroc: null, flag: too_few_rows, reason}}
  flagged: {fail: [names], warn: [names]}, below_chance: [names]
contigs:
  definition
  by_class: {class: {rows, applicable, reason} | {rows, applicable, exclusive_rows, exclusive_fraction,
                     by_split: {split: n}, contigs: {canonical contig: n}}}
  negatives_without_positive: {exclusive_rows, exclusive_fraction, contigs} | null  (binary negative/positive)
variant (variant configs): {kind, rules | holdouts, class_balance: {before, after}, warnings: [...],
                            constant_predictor: {split: {class, accuracy}}}
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

SCHEMA_VERSION = 2
HEADLINE = "test_vs_train_validation"
GROUP_TITLES = {
    "genome": "Genomic position",
    "length": "Length",
    "positions": "Per-position bases",
    "composition": "Composition",
    "bases": "Per-base composition",
    "dinucleotides": "Per-dinucleotide composition",
    "letters": "N content and letters",
}


def ordered_probes(probes: dict) -> dict:
    """The probes by group (`GROUP_TITLES` order), then name: the JSON keeps them sorted by name only."""
    groups = list(GROUP_TITLES)
    return dict(sorted(probes.items(), key=lambda kv: (groups.index(kv[1]["group"]) if kv[1]["group"] in groups
                                                       else len(groups), kv[0])))


def write_report(out_dir: str | os.PathLike, config: str, report: dict) -> Path:
    """Write `out_dir/audit/<config>.json` atomically (sorted keys, so identical audits give identical bytes)."""
    return write_json_atomic(audit_path(out_dir, config), report)


def read_report(out_dir: str | os.PathLike, config: str) -> dict:
    path = audit_path(out_dir, config)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(f"{path} not found: run `gbhub audit {config} --out {out_dir}`") from None


def check_schema(audit: dict) -> None:
    if audit.get("schema_version") != SCHEMA_VERSION:
        raise AuditError(f"audit report of {audit.get('config')!r} has schema version "
                         f"{audit.get('schema_version')!r}, expected {SCHEMA_VERSION}; re-run `gbhub audit`")


# --------------------------------------------------------------------------------------------- Markdown


def n_(count: int, fraction: float | None = None) -> str:
    return f"{count:,}" if fraction is None else f"{count:,} ({fraction:.1%})"


def table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def applicable(section: dict | None) -> bool:
    return bool(section) and section.get("applicable", True)


def render_known_issues(audit: dict) -> str:
    """The card's "Known issues" text of one config, from its audit report (Markdown).

    Args:
        audit: the object of `audit/<config>.json` (schema in this module's docstring).
    """
    check_schema(audit)
    config = audit["config"]
    parts = [
        f"Audited by `gbhub audit` (genomic-benchmarks-hub {audit.get('package_version', '?')}); all figures are "
        f"in [`audit/{config}.json`](audit/{config}.json) and the readable report `audit/{config}.md`. *Query* "
        "rows are counted: \"test vs train ∪ validation\" counts test rows that have a counterpart in train or "
        "validation."
    ]
    if audit.get("variant") and render_variant(audit["variant"], audit["classes"]):
        parts.append(render_variant(audit["variant"], audit["classes"]))
    leakage = leakage_table(audit)
    if leakage:
        parts.append("**Leakage across splits**\n\n" + leakage)
    skipped = not_applicable_notes(audit)
    if skipped:
        parts.append(skipped)
    if applicable(audit.get("duplicates")):
        parts.append("**Duplicates within splits** (redundant rows: repeats of an earlier row of the split)\n\n"
                     + within_table(audit))
    if "shortcuts" in audit:
        parts.append(shortcuts_text(audit["shortcuts"]))
    if applicable(audit.get("contigs")):
        parts.append(contigs_text(audit["contigs"]))
    variants = audit.get("variants") or {}
    lines = []
    for kind, text in (("leakfree", "drops the leaking rows counted above (from validation and test) and the "
                                    "duplicates inside every split"),
                       ("chromsplit", "holds out whole chromosomes for validation and test")):
        entry = variants.get(kind)
        if entry and entry.get("config"):
            lines.append(f"- [`{entry['config']}`](#{entry['config'].lower()}) {text}.")
        elif entry and entry.get("skipped"):
            lines.append(f"- No {kind} variant: {entry['skipped']}.")
    if lines:
        parts.append("**Variants**\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def not_applicable_notes(audit: dict) -> str:
    notes = []
    for part, title in (("duplicates", "Duplicates"), ("near_duplicates", "Near-duplicates"),
                        ("overlap", "Interval overlaps"), ("contigs", "Contigs")):
        section = audit.get(part)
        if section is not None and not applicable(section):
            notes.append(f"- {title}: not applicable ({section['reason']}).")
    return "**Not checked**\n\n" + "\n".join(notes) if notes else ""


def leakage_table(audit: dict) -> str:
    pairs = [HEADLINE, "validation_vs_train"]
    header = ["Check", "test vs train ∪ validation", "validation vs train"]
    rows = []
    dup = audit.get("duplicates")
    if applicable(dup):
        dup = dup["across_splits"]
        rows.append(["identical sequence"] + [n_(dup[p]["exact"], dup[p]["exact_fraction"]) for p in pairs])
        rows.append(["reverse-complement sequence"] + [n_(dup[p]["rc"], dup[p]["rc_fraction"]) for p in pairs])
        rows.append(["…of which with another label"] + [n_(dup[p]["label_conflicts"]) for p in pairs])
    ov = audit.get("overlap")
    if applicable(ov):
        ov = ov["pairs"]
        rows.append(["identical interval"] + [n_(ov[p]["identical"], ov[p]["identical_fraction"]) for p in pairs])
        rows.append(["overlapping interval (≥ 1 bp)"]
                    + [n_(ov[p]["overlapping"], ov[p]["overlapping_fraction"]) for p in pairs])
    near = audit.get("near_duplicates")
    if applicable(near):
        prm = near["params"]
        label = (f"near-duplicate (identity ≥ {prm['min_identity']:.0%} over ≥ {prm['min_coverage']:.0%} of the "
                 "shorter sequence, either strand)")
        np_ = near["pairs"]
        rows.append([label] + [n_(np_[p]["near_duplicates"], np_[p]["near_duplicate_fraction"]) for p in pairs])
        rows.append(["…not an exact or RC duplicate"] + [n_(np_[p]["beyond_exact_and_rc"]) for p in pairs])
        rows.append(["…with another label"] + [n_(np_[p]["label_conflicts"]) for p in pairs])
    if not rows:
        return ""
    text = table(header, rows)
    if applicable(ov) and ov[HEADLINE]["overlapping"]:
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
    if applicable(near):
        exact = near["compared_exactly"]
        if exact["rows"]:
            k = near["params"]["k_used"]
            text += (f"\n\n{exact['rows']:,} rows have no sampled {k}-mer ({exact['shorter_than_k']:,} "
                     f"are shorter than {k} bp): they are compared exactly (identical or "
                     "reverse-complement sequence), not skipped.")
    return text


def within_table(audit: dict) -> str:
    rows = []
    within = audit["duplicates"]["within_split"]
    for split in [s for s in SPLITS if s in within]:
        d = within[split]
        rows.append([split, n_(d["rows"]), n_(d["exact_redundant"], d["exact_fraction"]),
                     n_(d["rc_redundant"], d["rc_fraction"]), n_(d["label_conflict_groups"])])
    return table(["Split", "Rows", "Exact", "Reverse complement", "Sequences under several labels"], rows)


def auroc_text(d: dict) -> str:
    """`0.912 [0.90, 0.93]`, or why there is no score."""
    if not d.get("applicable", True):
        return "n/a"
    if d.get("auroc") is None:
        return "too few rows"
    ci = d.get("ci")
    return f"{d['auroc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def flag_text(d: dict) -> str:
    flag = d.get("flag", "n/a")
    text = {"fail": "**fail**", "warn": "*warn*"}.get(flag, flag)
    return text + (" (below 0.5)" if flag in ("fail", "warn") and d.get("direction") == "below" else "")


def probe_label(name: str, d: dict) -> str:
    if name.startswith("base_"):
        return f"{name[5:]} share"
    if name.startswith("dinucleotide_"):
        return f"{name[13:]} share"
    label = name.replace("_", " ")
    if d.get("selected_window") and d.get("auroc") is not None:
        lo, hi = d["selected_window"]
        end = "last" if d.get("from") == "end" else "first"
        label += f" (bases {lo}-{hi - 1} from the {end})"
    return label


def _short(d: dict) -> str:
    return "–" if d.get("auroc") is None else f"{d['auroc']:.3f}"


def shortcuts_text(s: dict) -> str:
    """The card's shortcut table: one row per probe, the 16 dinucleotides condensed into one row."""
    probes = ordered_probes(s["probes"])
    with_pairs = any(v.get("pairs") for v in probes.values())
    rows, skipped, dinucleotides = [], [], []
    for name, d in probes.items():
        if not d.get("applicable", True):
            skipped.append(f"{probe_label(name, d)} ({d['reason']})")
            continue
        if d["group"] == "dinucleotides":
            dinucleotides.append((name, d))
            continue
        row = [GROUP_TITLES.get(d["group"], d["group"]), probe_label(name, d), auroc_text(d), flag_text(d)]
        if with_pairs:
            row.append("; ".join(f"{k}: {auroc_text(v)} {flag_text(v)}" for k, v in (d.get("pairs") or {}).items()))
        rows.append(row)
    if dinucleotides:
        cells = ", ".join(f"{n[13:]} {_short(d)}"
                          for n, d in dinucleotides)
        worst = sorted((d for _, d in dinucleotides if d.get("auroc") is not None), key=lambda d: -abs(d["auroc"] - 0.5))
        flag = flag_text(worst[0]) if worst else "too_few_rows"
        row = [GROUP_TITLES["dinucleotides"], "each dinucleotide's share (the worst flag)", cells, flag]
        rows.append(row + ([""] if with_pairs else []))
    header = ["Group", "Probe", f"{s['metric']} [95% CI]", "Flag"] + (["Pairs of classes"] if with_pairs else [])
    text = (f"**Shortcuts**: each probe learns one trivial property on {s['fitted_on']} and is scored on "
            f"{s['scored_on']} ({s['interval']}). A probe is flagged warn when |AUROC − 0.5| > 0.1 and fail "
            "when > 0.2, in either direction: far below 0.5 means the rule learnt on train is reversed on test "
            f"(a shift between splits). The majority class alone has accuracy {s['majority_accuracy']:.3f}. A "
            "high composition score may be genuine biology (CpG-rich promoters); a high length, position or "
            "genomic-position score is a shortcut a model can take instead of the signal.\n\n"
            + table(header, rows))
    flagged = s.get("flagged") or {}
    if flagged.get("fail") or flagged.get("warn"):
        text += ("\n\nFlagged: " + ", ".join(f"`{n}` ({f})" for f in ("fail", "warn") for n in flagged.get(f, [])) + ".")
    if skipped:
        text += "\n\nNot applicable: " + "; ".join(skipped) + "."
    return text


def contigs_text(c: dict) -> str:
    lines = []
    for cls, d in c["by_class"].items():
        if not d["applicable"]:
            continue
        if d["exclusive_rows"]:
            contigs = sorted(d["contigs"].items(), key=lambda kv: (-kv[1], kv[0]))
            where = ", ".join(f"{name} ({n:,})" for name, n in contigs[:8])
            more = f", … {len(d['contigs']) - 8} more" if len(d["contigs"]) > 8 else ""
            lines.append(f"- `{cls}`: {n_(d['exclusive_rows'], d['exclusive_fraction'])} rows lie on contigs with "
                         f"no row of another class: {where}{more}.")
    if not any(d["applicable"] for d in c["by_class"].values()):
        reasons = sorted({d["reason"] for d in c["by_class"].values()})
        return "**Contigs**: not applicable (" + "; ".join(reasons) + ")."
    if not lines:
        return "**Contigs**: every contig holds rows of more than one class."
    return "**Contigs where only one class lies** (the contig alone gives the class away)\n\n" + "\n".join(lines)


def warning_line(w: dict) -> str:
    """One degenerate-split warning as a Markdown list item (the variant note and the card's Known issues)."""
    if w.get("against") == "parent":
        return (f"- {w['split']}, `{w['class']}`: no row (the parent's {w['split']} had {w['before']:,}, "
                f"{w['share_before']:.1%} of the split).")
    empty = f"; the split holds no `{w['class']}` row" if not w["after"] else ""
    return (f"- {w['split']}, `{w['class']}`: {w['before']:,} → {w['after']:,} rows "
            f"({w['share_before']:.1%} → {w['share_after']:.1%} of the split){empty}.")


def render_variant(variant: dict, classes: list[str]) -> str:
    """The degenerate-split warning of a variant config (its `variant` record), or "" when it has none."""
    warnings = variant.get("warnings") or []
    if not warnings:
        return ""
    floor = variant.get("floor") or {}
    lines = ["**Warning: this variant has degenerate splits.** A split has no row of a class the dataset holds, or "
             "removing leaked and duplicate rows left a class under the floor (under "
             f"{floor.get('share', 0.1):.0%} of its former share of the split, or under "
             f"{floor.get('rows', 100)} rows where it had at least that many):"]
    lines += [warning_line(w) for w in warnings]
    for split, c in (variant.get("constant_predictor") or {}).items():
        lines.append(f"- On {split}, a constant predictor answering `{c['class']}` scores accuracy "
                     f"{c['accuracy']:.3f} (and AUROC 0.5): report balanced metrics (AUROC, MCC), not accuracy.")
    return "\n".join(lines)
