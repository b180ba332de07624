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
from gbhub.builders.build import prepare_inputs, write_plan_config
from gbhub.builders.hub_layout import SPLITS, read_provenance
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
    "train_exact_duplicate": "train/validation rows identical to an earlier train/validation row",
    "train_rc_duplicate": "train/validation rows that are the reverse complement of an earlier train/validation row",
}
SUFFIXES = {"leakfree": "_leakfree", "chromsplit": "_chromsplit"}


def leakfree_rules(inp: AuditInput, codes: SequenceCodes | None = None) -> np.ndarray:
    """The leak-free rule that removes each row, or "" for a row that is kept.

    Test rows are compared with every upstream train row (train ∪ validation); rows of upstream train are
    compared with the earlier ones (train rows first, then validation, in order), so the first occurrence
    of a sequence is kept. A row is attributed to the first rule of `LEAKFREE_RULES` it breaks.

    Args:
        inp: the parent config's rows with sequences.
        codes: sequence codes of `inp.sequences` (computed when absent).

    Returns:
        `(n,)` object array of rule names.
    """
    if inp.sequences is None:
        raise AuditError(f"{inp.config}: the leak-free variant needs sequences")
    codes = codes or sequence_codes(inp.sequences)
    rules = np.full(len(inp.frame), "", dtype=object)
    test, trainval = inp.split_mask("test"), inp.split_mask(("train", "validation"))
    exact, rc, _ = cross_flags(codes, inp.labels, test, trainval)
    covered, _ = query_overlaps(inp, test, trainval)
    test_rows = np.flatnonzero(test)
    rules[test_rows[covered > 0]] = "test_overlap"
    rules[test_rows[rc]] = "test_rc_duplicate"
    rules[test_rows[exact]] = "test_exact_duplicate"
    groups = np.where(trainval, "upstream_train", "test")
    dup_exact, dup_rc = within_flags(codes, groups)
    rules[dup_rc & trainval] = "train_rc_duplicate"
    rules[dup_exact & trainval] = "train_exact_duplicate"
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


def _balance_table(balance: dict, classes) -> str:
    header = "| Split | " + " | ".join(f"`{c}`" for c in classes) + " | Total |"
    lines = [header, "|---|" + "---:|" * (len(classes) + 1)]
    for split, counts in balance.items():
        total = sum(counts.values())
        cells = [f"{counts[c]:,} ({counts[c] / total:.0%})" if total else "0" for c in classes]
        lines.append(f"| {split} | " + " | ".join(cells) + f" | {total:,} |")
    return "\n".join(lines)


def leakfree_variant(inp: AuditInput, plan: pd.DataFrame, parent_prov: dict,
                     codes: SequenceCodes | None = None) -> tuple[pd.DataFrame, dict]:
    """The plan and provenance of `<parent>_leakfree` (rows aligned with `inp`)."""
    rules = leakfree_rules(inp, codes)
    kept = plan[rules == ""].reset_index(drop=True)
    split = inp.splits
    removed = {
        rule: {"description": text, "removed": int((rules == rule).sum()),
               "by_split": {s: int(((rules == rule) & (split == s)).sum()) for s in SPLITS}}
        for rule, text in LEAKFREE_RULES.items()
    }
    balance = class_balance(kept, inp.classes)
    total = sum(r["removed"] for r in removed.values())
    lines = "\n".join(f"- {r['description']}: {r['removed']:,}" for r in removed.values())
    note = (f"Leak-free: {total:,} of {len(plan):,} rows removed, each counted under the first rule it breaks "
            f"(test rows are compared with every row of upstream train; within upstream train the first "
            f"occurrence is kept):\n\n{lines}\n\nRows per split and class:\n\n{_balance_table(balance, inp.classes)}")
    prov = _variant_provenance(parent_prov, "leakfree", "leak-free", note, kept)
    prov["variant"] = {"kind": "leakfree", "rules": removed, "class_balance": balance}
    return kept, prov


def chromsplit_variant(inp: AuditInput, plan: pd.DataFrame, parent_prov: dict) -> tuple[pd.DataFrame, dict]:
    """The plan and provenance of `<parent>_chromsplit` (rows aligned with `inp`)."""
    split = chromsplit_splits(inp)
    new = reorder(plan, split)
    balance = class_balance(new, inp.classes)
    empty = [s for s, counts in balance.items() if not sum(counts.values())]
    if empty:
        raise AuditError(f"{inp.config}: the chromosome hold-out leaves {', '.join(empty)} empty")
    holdouts = {a: CHROMOSOME_SPLITS[a] for a in sorted(set(inp.assemblies.values()))}
    where = "; ".join(f"{a}: validation {', '.join(h['validation'])}, test {', '.join(h['test'])}"
                      for a, h in holdouts.items())
    moved = int((split != inp.splits).sum())
    note = (f"Chromosome-held-out: every row of upstream train and test, split by contig ({where}; every other "
            f"contig is train). {moved:,} of {len(plan):,} rows changed split. No contig lies in two splits, but "
            "repeats can still give identical sequences on different contigs (see *Known issues*).\n\n"
            f"Rows per split and class:\n\n{_balance_table(balance, inp.classes)}")
    prov = _variant_provenance(parent_prov, "chromsplit", "chromosome-held-out", note, new)
    prov["validation"] = None
    prov["variant"] = {"kind": "chromsplit", "holdouts": {a: {k: list(v) for k, v in h.items()}
                                                          for a, h in holdouts.items()},
                       "class_balance": balance}
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
                   references=None, cache_dir=None, num_proc: int | None = None, progress: bool = True) -> dict:
    """Build `<name>_leakfree` and `<name>_chromsplit` into `out_dir` next to the built config `name`.

    Each is a split plan of the parent's coordinate rows, materialized by the same engine and written with
    `write_plan_config`; the parent config is not touched. Deterministic: same parent, same variants.

    Returns:
        `{kind: {"config": name}}`, or `{kind: {"skipped": reason}}` for a variant that does not apply.
    """
    plan, inp, prov = parent_plan(name, out_dir, coordinates_dir=coordinates_dir, references=references,
                                  cache_dir=cache_dir, progress=progress)
    out = {}
    for kind in kinds:
        if kind == "chromsplit" and any(k != "genome" for k in inp.kinds.values()):
            out[kind] = {"skipped": "a class is on transcript coordinates, which name no chromosome"}
            continue
        if kind == "leakfree":
            variant_plan, variant_prov = leakfree_variant(inp, plan, prov)
        elif kind == "chromsplit":
            variant_plan, variant_prov = chromsplit_variant(inp, plan, prov)
        else:
            raise AuditError(f"unknown variant {kind!r}; choose among {', '.join(SUFFIXES)}")
        config = variant_prov["config"]
        write_plan_config(out_dir, config, variant_plan, inp.classes, variant_prov, cache_dir=cache_dir,
                          num_proc=num_proc, progress=progress)
        logger.info("built variant %s", config)
        out[kind] = {"config": config}
    return out
