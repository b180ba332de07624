"""The leak-free and chromosome-held-out variants of a benchmark: split plans built by the shared engine.

Chromosome hold-outs (canonical contig names, so `chr5` and `5` agree; every other contig, unplaced ones,
chrX, chrY and chrM included, is train). Shares are of the assembly's primary contigs:

- GRCh38 (human), as in DART-Eval: validation chr6, chr21; test chr5, chr10, chr14, chr18, chr20, chr22
  (7.0% and 20.0% of the genome).
- GRCm38 (mouse): validation chr6, chr19; test chr5, chr10, chr14, chr18: the human numbers where the mouse
  has them, chr19 (its smallest autosome) standing for chr21 (7.7% and 18.3%).
- BDGP6.28 (fly): validation 3L, test 2R: whole chromosome arms, as the fly has five large ones and no
  smaller unit to hold out (20.4% and 18.4%).
- WBcel235 (worm): validation III, test V: the smallest and the largest autosome (13.7% and 20.9%).
- synthetic (the built-in benchmark): validation MT, test 2.

Benchmarks with a class on transcript coordinates (`demo_coding_vs_intergenomic_seqs`: its coding class is
windows of cDNA transcripts, whose chromosome the tables do not give) get no chromosome-held-out variant.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub.builders.audit.common import AuditError, AuditInput, from_plan, load_config
from gbhub.builders.audit.duplicates import SequenceCodes, cross_flags, sequence_codes, within_flags
from gbhub.builders.audit.overlap import query_overlaps
from gbhub.builders.audit.report import warning_line
from gbhub.builders.audit.similarity import Searches, SimilarityParams, searches
from gbhub.builders.build import prepare_inputs, write_plan_config
from gbhub.builders.hub_layout import SPLITS, audit_path, read_provenance
from gbhub.builders.locks import folder_lock
from gbhub.builders.plan import PLAN_COLUMNS, upstream_plan

logger = logging.getLogger(__name__)

CHROMOSOME_SPLITS: dict[str, dict[str, tuple[str, ...]]] = {
    "GRCh38": {"validation": ("6", "21"), "test": ("5", "10", "14", "18", "20", "22")},
    "GRCm38": {"validation": ("6", "19"), "test": ("5", "10", "14", "18")},
    "BDGP6.28": {"validation": ("3L",), "test": ("2R",)},
    "WBcel235": {"validation": ("III",), "test": ("V",)},
    "synthetic": {"validation": ("MT",), "test": ("2",)},
}
LEAKFREE_RULES: dict[str, str] = {
    "test_exact_duplicate": "test rows whose sequence is identical to a train or validation row",
    "test_rc_duplicate": "test rows whose sequence is the reverse complement of a train or validation row",
    "test_overlap": "test rows whose interval overlaps (≥ 1 bp, same contig) a train or validation interval",
    "test_near_duplicate": "test rows that are near-duplicates (the audit's definition) of a train or validation row",
    "validation_exact_duplicate": "validation rows whose sequence is identical to a train row",
    "validation_rc_duplicate": "validation rows whose sequence is the reverse complement of a train row",
    "validation_overlap": "validation rows whose interval overlaps (≥ 1 bp, same contig) a train interval",
    "validation_near_duplicate": "validation rows that are near-duplicates of a train row",
    "exact_duplicate": "rows whose sequence repeats an earlier row of the same split",
    "rc_duplicate": "rows whose sequence is the reverse complement of an earlier row of the same split",
    "identical_interval": "rows whose interval (contig, start, end) repeats an earlier row of the same split",
}
WITHIN_SPLIT_RULES = ("exact_duplicate", "rc_duplicate", "identical_interval")
SUFFIXES = {"leakfree": "_leakfree", "chromsplit": "_chromsplit"}
# A class of a split is degenerate after removals when its share of the split falls under FLOOR_SHARE of its
# former share, or it falls under FLOOR_ROWS rows having had at least that many.
FLOOR_SHARE = 0.1
FLOOR_ROWS = 100


def within_split_rules(inp: AuditInput, codes: SequenceCodes, splits: np.ndarray) -> np.ndarray:
    """`(n,)` the within-split duplicate rule of each row (`WITHIN_SPLIT_RULES`), or "" when it is the first
    occurrence of its sequence (or reverse complement) and interval in its split (`splits`: each row's split)."""
    rules = np.full(len(inp.frame), "", dtype=object)
    exact, rc = within_flags(codes, splits)
    if inp.has_coordinates():
        _, _, located = inp.coordinates()
        frame = pd.DataFrame({"s": splits, "k": inp.contig_keys(), "a": inp.frame["start"], "b": inp.frame["end"]})
        interval = frame.duplicated().to_numpy() & located
        rules[interval] = "identical_interval"
    rules[rc] = "rc_duplicate"
    rules[exact] = "exact_duplicate"
    return rules


def leakfree_rules(inp: AuditInput, codes: SequenceCodes | None = None,
                   similarity: SimilarityParams = SimilarityParams(), found: Searches | None = None) -> np.ndarray:
    """The leak-free rule that removes each row, or "" for a row that is kept.

    Test rows are compared with every row of train and validation, validation rows with every train row;
    then, within each split, a row repeating an earlier one (same sequence, its reverse complement, or the same
    interval) is removed, so the first occurrence is kept. A row is attributed to the first rule of
    `LEAKFREE_RULES` it breaks.

    Args:
        inp: the parent config's rows with sequences.
        codes: sequence codes of `inp.sequences` (computed when absent).
        similarity: the near-duplicate definition (the audit's).
        found: the audit's near-duplicate searches (`similarity.searches`), when already run.

    Returns:
        `(n,)` object array of rule names.
    """
    if inp.sequences is None:
        raise AuditError(f"{inp.config}: the leak-free variant needs sequences")
    codes = codes or sequence_codes(inp.sequences)
    found = found or searches(inp, similarity, codes)
    rules = np.full(len(inp.frame), "", dtype=object)
    for query_split, reference_splits, search in (("test", ("train", "validation"), "test_vs_train_validation"),
                                                  ("validation", ("train",), "validation_vs_train")):
        query, reference = inp.split_mask(query_split), inp.split_mask(reference_splits)
        rows = np.flatnonzero(query)
        exact, rc, _ = cross_flags(codes, inp.labels, query, reference)
        covered, _ = query_overlaps(inp, query, reference)
        near = getattr(found, search).flagged[rows]
        for rule, hit in ((f"{query_split}_near_duplicate", near), (f"{query_split}_overlap", covered > 0),
                          (f"{query_split}_rc_duplicate", rc), (f"{query_split}_exact_duplicate", exact)):
            rules[rows[hit]] = rule  # later assignments win: the first rule of LEAKFREE_RULES is kept
    within = within_split_rules(inp, codes, inp.splits)
    free = rules == ""
    rules[free] = within[free]
    return rules


def chromsplit_splits(inp: AuditInput) -> np.ndarray:
    """`(n,)` the split of each row when whole contigs are held out (`CHROMOSOME_SPLITS`).

    Raises:
        AuditError: a class on transcript coordinates, or an assembly with no hold-out defined.
    """
    for label, kind in inp.kinds.items():
        if kind != "genome":
            raise AuditError(f"{inp.config}: class {inp.classes[label]!r} is on transcript coordinates; "
                             "a chromosome-held-out split needs genomic coordinates")
        if inp.assemblies[label] not in CHROMOSOME_SPLITS:
            raise AuditError(f"{inp.config}: no chromosome hold-out is defined for assembly "
                             f"{inp.assemblies[label]!r} (known: {', '.join(CHROMOSOME_SPLITS)})")
    contig = inp.canonical_regions().to_numpy(object)
    assembly = np.array([inp.assemblies[i] for i in range(len(inp.classes))], dtype=object)[inp.labels]
    split = np.full(len(contig), "train", dtype=object)
    for name, holdout in CHROMOSOME_SPLITS.items():
        on = assembly == name
        for target in ("validation", "test"):
            split[on & np.isin(contig, list(holdout[target]))] = target
    return split


def reorder(plan: pd.DataFrame, split: np.ndarray) -> pd.DataFrame:
    """`plan` with new splits, rows of a split contiguous in `SPLITS` order (stable within a split)."""
    order = np.argsort(pd.Categorical(split, categories=list(SPLITS)).codes, kind="stable")
    return plan.assign(split=split).iloc[order].reset_index(drop=True)[PLAN_COLUMNS]


def class_balance(plan: pd.DataFrame, classes) -> dict[str, dict[str, int]]:
    counts = pd.crosstab(plan["split"], plan["label"])
    return {s: {c: int(counts.at[s, i]) if s in counts.index and i in counts.columns else 0
                for i, c in enumerate(classes)} for s in SPLITS}


def degenerate_classes(before: dict, after: dict, parent: dict | None = None) -> tuple[list[dict], dict]:
    """The classes a removal left under the floor or without a row in a split, and what a constant predictor
    scores on those splits.

    Args:
        before, after: `class_balance` of the rows before and after the removal.
        parent: `class_balance` of the parent config when its splits differ from `before` (`_chromsplit`); a
            class of the dataset with no row in a split of `after` is compared with the parent's split.

    Returns:
        `(warnings, constant_predictor)`: one `{split, class, before, after, share_before, share_after}` per
        class under the floor (`FLOOR_SHARE`, `FLOOR_ROWS`, or emptied) or with no row in a split that has rows
        (`against: "parent"` when `before`/`share_before` are the parent's), and `{split: {class, accuracy}}` of
        the majority class of each split with a warning.
    """
    reference = parent or before
    present = {cls for counts in (*reference.values(), *before.values()) for cls, n in counts.items() if n}
    warnings, constant = [], {}
    for split in SPLITS:
        total_before, total_after = sum(before[split].values()), sum(after[split].values())
        total_reference = sum(reference[split].values())
        for cls, n_before in before[split].items():
            n_after = after[split][cls]
            share_before = n_before / total_before if total_before else 0.0
            share_after = n_after / total_after if total_after else 0.0
            floor = n_before and (share_after < FLOOR_SHARE * share_before or n_after < FLOOR_ROWS <= n_before)
            missing = not n_after and total_after and cls in present  # a one-class (or fewer-class) split
            if not (floor or missing):
                continue
            record = {"split": split, "class": cls, "before": n_before, "after": n_after,
                      "share_before": round(share_before, 6), "share_after": round(share_after, 6)}
            if not floor and parent is not None:
                n_parent = reference[split][cls]
                record.update(before=n_parent, against="parent",
                              share_before=round(n_parent / total_reference if total_reference else 0.0, 6))
            warnings.append(record)
            if total_after and split not in constant:
                majority = max(after[split].items(), key=lambda kv: (kv[1], kv[0]))
                constant[split] = {"class": majority[0], "accuracy": round(majority[1] / total_after, 6)}
    return warnings, constant


def _warn(config: str, warnings: list[dict], constant: dict) -> str:
    """Log the warnings and return them as Markdown lines for the variant note ("" when there are none)."""
    lines = []
    for w in warnings:
        if w.get("against") == "parent":
            message = (f"{config}: {w['split']} has no row of class {w['class']!r} (the parent's {w['split']} had "
                       f"{w['before']:,}, {w['share_before']:.1%})")
        else:
            message = (f"{config}: {w['split']} class {w['class']!r} fell from {w['before']:,} to {w['after']:,} rows "
                       f"({w['share_before']:.1%} -> {w['share_after']:.1%} of the split)")
        logger.warning("%s", message)
        lines.append(warning_line(w))
    for split, c in constant.items():
        logger.warning("%s: on %s a constant %r predictor scores accuracy %.3f", config, split, c["class"], c["accuracy"])
        lines.append(f"- On {split}, a constant predictor answering `{c['class']}` scores accuracy {c['accuracy']:.3f}.")
    if not lines:
        return ""
    return ("**Warning: degenerate split.** A split lost a class, or a class fell under the floor (under "
            f"{FLOOR_SHARE:.0%} of its former share, or under {FLOOR_ROWS} rows):\n\n" + "\n".join(lines) + "\n\n")


def _balance_table(before: dict, after: dict, classes) -> str:
    header = "| Split | " + " | ".join(f"`{c}`" for c in classes) + " | Total |"
    lines = [header, "|---|" + "---:|" * (len(classes) + 1)]
    for split in SPLITS:
        b, a = before[split], after[split]
        total = sum(a.values())
        cells = [f"{b[c]:,} → {a[c]:,} ({a[c] / total:.0%})" if total else f"{b[c]:,} → 0" for c in classes]
        lines.append(f"| {split} | " + " | ".join(cells) + f" | {sum(b.values()):,} → {total:,} |")
    return "\n".join(lines)


def _rule_counts(rules: np.ndarray, split: np.ndarray, names) -> dict:
    return {rule: {"description": LEAKFREE_RULES[rule], "removed": int((rules == rule).sum()),
                   "by_split": {s: int(((rules == rule) & (split == s)).sum()) for s in SPLITS}}
            for rule in names}


def leakfree_variant(inp: AuditInput, plan: pd.DataFrame, parent_prov: dict, codes: SequenceCodes | None = None,
                     similarity: SimilarityParams = SimilarityParams()) -> tuple[pd.DataFrame, dict]:
    """The plan and provenance of `<parent>_leakfree` (rows aligned with `inp`)."""
    rules = leakfree_rules(inp, codes, similarity)
    kept = plan[rules == ""].reset_index(drop=True)
    removed = _rule_counts(rules, inp.splits, LEAKFREE_RULES)
    before, after = class_balance(plan, inp.classes), class_balance(kept, inp.classes)
    config = parent_prov["config"] + SUFFIXES["leakfree"]
    warnings, constant = degenerate_classes(before, after)
    total = sum(r["removed"] for r in removed.values())
    lines = "\n".join(f"- {r['description']}: {r['removed']:,}" for r in removed.values() if r["removed"])
    note = (f"{_warn(config, warnings, constant)}Leak-free: {total:,} of {len(plan):,} rows removed, each counted "
            "under the first rule it breaks (test rows are compared with train and validation, validation rows with "
            f"train; within each split the first occurrence is kept):\n\n{lines or '- none'}\n\n"
            f"Rows per split and class, before → after:\n\n{_balance_table(before, after, inp.classes)}")
    prov = _variant_provenance(parent_prov, "leakfree", "leak-free", note, kept)
    prov["variant"] = {"kind": "leakfree", "rules": removed, "class_balance": {"before": before, "after": after},
                       "warnings": warnings, "constant_predictor": constant,
                       "floor": {"share": FLOOR_SHARE, "rows": FLOOR_ROWS}}
    return kept, prov


def chromsplit_variant(inp: AuditInput, plan: pd.DataFrame, parent_prov: dict,
                       codes: SequenceCodes | None = None) -> tuple[pd.DataFrame, dict]:
    """The plan and provenance of `<parent>_chromsplit`: whole contigs held out, then the duplicates inside each
    split removed (same sequence, reverse complement or interval as an earlier row of the split)."""
    split = chromsplit_splits(inp)
    rules = np.full(len(plan), "", dtype=object)
    if inp.sequences is not None:
        rules = within_split_rules(inp, codes or sequence_codes(inp.sequences), split)
    keep = rules == ""
    new = reorder(plan[keep].reset_index(drop=True), split[keep])
    before = class_balance(plan.assign(split=split), inp.classes)
    after = class_balance(new, inp.classes)
    empty = [s for s, counts in after.items() if not sum(counts.values())]
    if empty:
        raise AuditError(f"{inp.config}: the chromosome hold-out leaves {', '.join(empty)} empty")
    config = parent_prov["config"] + SUFFIXES["chromsplit"]
    warnings, constant = degenerate_classes(before, after, class_balance(plan, inp.classes))
    removed = _rule_counts(rules, split, WITHIN_SPLIT_RULES)
    holdouts = {a: CHROMOSOME_SPLITS[a] for a in sorted(set(inp.assemblies.values()))}
    where = "; ".join(f"{a}: validation {', '.join(h['validation'])}, test {', '.join(h['test'])}"
                      for a, h in holdouts.items())
    moved = int((split != inp.splits).sum())
    lines = "\n".join(f"- {r['description']}: {r['removed']:,}" for r in removed.values() if r["removed"])
    note = (f"{_warn(config, warnings, constant)}Chromosome-held-out: every row of upstream train and test, split "
            f"by contig ({where}; every other contig is train). {moved:,} of {len(plan):,} rows changed split. No "
            "contig lies in two splits, but repeats can still give identical sequences on different contigs (see "
            f"*Known issues*). Duplicates inside each split removed:\n\n{lines or '- none'}\n\n"
            f"Rows per split and class, before → after the duplicate removal:\n\n"
            f"{_balance_table(before, after, inp.classes)}")
    prov = _variant_provenance(parent_prov, "chromsplit", "chromosome-held-out", note, new)
    prov["validation"] = None
    prov["variant"] = {"kind": "chromsplit", "holdouts": {a: {k: list(v) for k, v in h.items()}
                                                          for a, h in holdouts.items()},
                       "rules": removed, "class_balance": {"before": before, "after": after},
                       "warnings": warnings, "constant_predictor": constant,
                       "floor": {"share": FLOOR_SHARE, "rows": FLOOR_ROWS}}
    return new, prov


def _variant_provenance(parent: dict, kind: str, title: str, note: str, plan: pd.DataFrame) -> dict:
    prov = copy.deepcopy(parent)
    prov["config"] = parent["config"] + SUFFIXES[kind]
    prov["pretty_name"] = f"{parent['pretty_name']} ({title})"
    prov["parent"] = parent["config"]
    prov["variant_note"] = note
    prov["splits"] = {s: {"num_examples": int((plan["split"] == s).sum())} for s in SPLITS}
    return prov


def parent_plan(name: str, out_dir: str | os.PathLike, *, coordinates_dir=None, references=None,
                cache_dir=None, progress: bool = True) -> tuple[pd.DataFrame, AuditInput, dict]:
    """The split plan of the built config `name` (recomputed from its tables and recorded seed) and its rows.

    Raises:
        AuditError: the Parquet in `out_dir` is not what the tables and seed give (rebuild it).
    """
    prov = read_provenance(out_dir, name)
    if prov.get("parent"):
        raise AuditError(f"{name} is itself a variant of {prov['parent']}; make variants of the parent")
    validation = prov.get("validation") or {}
    inputs = prepare_inputs(name, coordinates_dir=coordinates_dir, references=references, cache_dir=cache_dir,
                            progress=progress)
    plan = upstream_plan(inputs.tables, inputs.table_names, inputs.genomes, seed=validation["seed"],
                         fraction=validation["fraction"])
    built = load_config(out_dir, name)
    same = (len(plan) == len(built.frame)
            and (plan[["split", "label", "id"]].to_numpy() == built.frame[["split", "label", "id"]].to_numpy()).all())
    if not same:
        raise AuditError(f"{Path(out_dir) / name} does not hold the rows its tables and seed give; "
                         f"rebuild it with `gbhub build {name} --out {out_dir}`")
    inp = from_plan(name, plan, inputs.spec.classes, dict(inputs.spec.class_references), built.sequences)
    return plan, inp, prov


def build_variants(name: str, out_dir: str | os.PathLike, *, kinds=("leakfree", "chromsplit"), coordinates_dir=None,
                   references=None, cache_dir=None, num_proc: int | None = None, progress: bool = True,
                   similarity: SimilarityParams = SimilarityParams()) -> dict:
    """Build `<name>_leakfree` and `<name>_chromsplit` into `out_dir` next to the built config `name`.

    Each is a split plan of the parent's coordinate rows, materialized by the same engine and written with
    `write_plan_config`; the parent config is not touched. Deterministic: same parent, same variants.

    Everything happens under the folder's one-writer lock (`locks.folder_lock`; re-entrant, so inside the
    command's `hub_layout.card_transaction` too). Each variant's Parquet and provenance are swapped in
    together (`hub_layout.publish_config`): an interruption leaves the previous variant or the new one, never
    half of one. The audit report of the previous variant is removed before the swap, so that a variant whose
    audit was interrupted has no report rather than the report of other rows.

    Returns:
        `{kind: {"config": name}}`, or `{kind: {"skipped": reason}}` for a variant that does not apply.

    Raises:
        FolderLockedError: another process writes `out_dir`.
    """
    with folder_lock(out_dir):
        return _build_variants(name, out_dir, kinds=kinds, coordinates_dir=coordinates_dir, references=references,
                               cache_dir=cache_dir, num_proc=num_proc, progress=progress, similarity=similarity)


def drop_audit(out_dir: str | os.PathLike, config: str) -> None:
    """Remove the audit report of `config` (JSON and readable report), e.g. before its rows are replaced."""
    json_path = audit_path(out_dir, config)
    for path in (json_path, json_path.with_suffix(".md")):
        if path.exists():
            path.unlink()
            logger.info("removed %s (the rows it describes are being replaced)", path)


def _build_variants(name, out_dir, *, kinds, coordinates_dir, references, cache_dir, num_proc, progress,
                    similarity) -> dict:
    plan, inp, prov = parent_plan(name, out_dir, coordinates_dir=coordinates_dir, references=references,
                                  cache_dir=cache_dir, progress=progress)
    codes = sequence_codes(inp.sequences)
    out = {}
    for kind in kinds:
        if kind == "chromsplit" and any(k != "genome" for k in inp.kinds.values()):
            out[kind] = {"skipped": "a class is on transcript coordinates, which name no chromosome"}
            continue
        if kind == "leakfree":
            variant_plan, variant_prov = leakfree_variant(inp, plan, prov, codes, similarity)
        elif kind == "chromsplit":
            variant_plan, variant_prov = chromsplit_variant(inp, plan, prov, codes)
        else:
            raise AuditError(f"unknown variant {kind!r}; choose among {', '.join(SUFFIXES)}")
        config = variant_prov["config"]
        drop_audit(out_dir, config)
        write_plan_config(out_dir, config, variant_plan, inp.classes, variant_prov, cache_dir=cache_dir,
                          num_proc=num_proc, progress=progress)
        logger.info("built variant %s", config)
        out[kind] = {"config": config}
    return out
