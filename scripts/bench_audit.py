"""Benchmark: the whole audit (and the variant plans) of all nine benchmarks, timed, with its figures as JSON.

    python scripts/bench_audit.py --out bench_audit.json --markdown
    python scripts/bench_audit.py --names human_nontata_promoters --parts overlap contigs   # smoke run

Inputs: the real upstream coordinate tables (`--coordinates`, default `../shared/upstream/.../datasets`),
split as `gbhub build` splits them (seed 42). No reference genome is needed: each row's sequence is read from
a *hashed synthetic genome* with the real contig names — the base at position p of contig c of assembly a is
`fmix64(hash(a, canonical c) + p) mod 4`, and `-` rows are reverse-complemented — so the real lengths are kept
and identical or overlapping intervals give identical or overlapping sequences, as on the real genome. The
interval and coordinate figures (overlaps, exclusive contigs, chromosome split, length, strand, contig and
genomic-bin probes) are therefore the real ones; the sequence figures (duplicates, near-duplicates,
composition and per-position probes) are those of a genome without repeats or composition bias, and measure
speed, not the benchmarks. The real sequence figures come from the one real set at hand: the published
`human_nontata_promoters` test split (9,034 sequences, `--real`, default `../shared/upstream/...`), audited
as a file with a stratified seeded 70/30 split. `--markdown` prints the README's audit table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from gbhub.builders.audit.common import AuditError, AuditInput, from_plan, reverse_complement  # noqa: E402
from gbhub.builders.audit.duplicates import sequence_codes  # noqa: E402
from gbhub.builders.audit.pipeline import PARTS, audit_input  # noqa: E402
from gbhub.builders.audit.similarity import audit_similarity, searches  # noqa: E402
from gbhub.builders.audit.variants import (  # noqa: E402
    LEAKFREE_RULES,
    chromsplit_splits,
    class_balance,
    degenerate_classes,
    leakfree_rules,
    within_split_rules,
)
from gbhub.builders.coordinates import fetch_table, read_table  # noqa: E402
from gbhub.builders.plan import upstream_plan  # noqa: E402
from gbhub.builders.registry import get_benchmark, upstream_benchmarks  # noqa: E402

DEFAULT_COORDINATES = ROOT.parent / "shared" / "upstream" / "genomic_benchmarks" / "datasets"
DEFAULT_REAL = (ROOT.parent / "shared" / "upstream" / "allison-eunse__ai4h-inspired-fm-benchmark-hub"
                / "human_nontata_promoters_test.tsv.gz")
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _fmix64(x: np.ndarray) -> np.ndarray:
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def hashed_sequences(inp: AuditInput, *, chunk: int = 1 << 22) -> pa.Array:
    """The sequence of every row of `inp` on the hashed synthetic genome (see the module docstring)."""
    frame = inp.frame
    keys = inp.contig_keys().astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    starts = frame["start"].to_numpy(np.int64)
    lengths = (frame["end"] - frame["start"]).to_numpy(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    lo = 0
    while lo < len(frame):
        hi = max(lo + 1, int(np.searchsorted(offsets, offsets[lo] + chunk, side="right")) - 1)
        n = int(offsets[hi] - offsets[lo])
        rows = np.repeat(np.arange(lo, hi), lengths[lo:hi])
        position = np.arange(n, dtype=np.int64) - (offsets[rows] - offsets[lo]) + starts[rows]
        data[offsets[lo] : offsets[hi]] = letters[_fmix64(keys[rows] + position.astype(np.uint64)) & np.uint64(3)]
        lo = hi
    forward = pa.LargeStringArray.from_buffers(len(frame), pa.py_buffer(offsets), pa.py_buffer(data))
    minus = pa.array(frame["strand"].to_numpy() == "-")
    return pc.if_else(minus, reverse_complement(forward), forward)


def load_inputs(name: str, coordinates: Path) -> AuditInput:
    spec = get_benchmark(name)
    tables, names = {}, {}
    for split in ("train", "test"):
        tables[split], names[split] = {}, {}
        for label, cls in enumerate(spec.classes):
            path, _ = fetch_table(name, split, cls, coordinates_dir=coordinates, progress=False)
            tables[split][label] = read_table(path, name=f"{name}/{split}/{cls}.csv.gz")
            names[split][label] = f"{name}/{split}/{cls}.csv.gz"
    plan = upstream_plan(tables, names, {i: "unused" for i in range(len(spec.classes))}, seed=42)
    return from_plan(name, plan, spec.classes, spec.class_references)


def headline(report: dict) -> dict:
    """The figures printed per benchmark (the full reports go to `--reports`)."""
    out = {}
    pair = "test_vs_train_validation"
    ov = report.get("overlap") or {}
    if ov.get("pairs"):
        out["test_overlapping_train_validation"] = ov["pairs"][pair]["overlapping"]
        out["test_identical_interval"] = ov["pairs"][pair]["identical"]
        out["test_overlapping_fraction"] = ov["pairs"][pair]["overlapping_fraction"]
        out["validation_overlapping_train"] = ov["pairs"]["validation_vs_train"]["overlapping"]
        out["validation_overlapping_fraction"] = ov["pairs"]["validation_vs_train"]["overlapping_fraction"]
    dup = report.get("duplicates") or {}
    if dup.get("across_splits"):
        d = dup["across_splits"][pair]
        out["test_duplicates_exact_rc"] = [d["exact"], d["rc"]]
        out["redundant_exact_rc"] = {s: [w["exact_redundant"], w["rc_redundant"]] for s, w in dup["within_split"].items()}
    near = report.get("near_duplicates") or {}
    if near.get("pairs"):
        nd = near["pairs"][pair]
        out["test_near_duplicates"] = [nd["near_duplicates"], nd["near_duplicate_fraction"]]
        out["validation_near_duplicates"] = near["pairs"]["validation_vs_train"]["near_duplicates"]
        out["near_duplicate_k_scale"] = [near["params"]["k_used"], near["params"]["scale_used"]]
    if "shortcuts" in report:
        out["probes"] = {k: ([v["auroc"], v["ci"], v["flag"]] if v.get("auroc") is not None else [None, None, v["flag"]])
                         for k, v in report["shortcuts"]["probes"].items()}
        position = report["shortcuts"]["probes"].get("position_start", {})
        if position.get("selected_window"):
            out["position_window"] = position["selected_window"]
    contigs = report.get("contigs") or {}
    if "by_class" in contigs:
        neg = contigs.get("negatives_without_positive")
        out["negatives_without_positive"] = neg["exclusive_rows"] if neg else None
    return out


def variant_plans(inp: AuditInput, found=None) -> dict:
    """What the variants would remove (rules, class balance, degenerate-split warnings), without building them."""
    out = {}
    rules = leakfree_rules(inp, found=found)
    frame = inp.frame
    before = class_balance(frame, inp.classes)
    after = class_balance(frame[rules == ""], inp.classes)
    warnings, constant = degenerate_classes(before, after)
    out["leakfree"] = {"removed": {rule: int((rules == rule).sum()) for rule in LEAKFREE_RULES if (rules == rule).any()},
                       "after": after, "warnings": warnings, "constant_predictor": constant}
    try:
        split = chromsplit_splits(inp)
    except AuditError as err:  # transcript coordinates: no chromosome split
        out["chromsplit"] = f"skipped: {err}"
        return out
    within = within_split_rules(inp, sequence_codes(inp.sequences), split)
    keep = within == ""
    out["chromsplit"] = {"removed_within_splits": {r: {s: int(((within == r) & (split == s)).sum()) for s in
                                                       ("train", "validation", "test")} for r in set(within[~keep])},
                         "after": class_balance(frame[keep].assign(split=split[keep]), inp.classes)}
    return out


def real_sequences(path: Path) -> dict:
    """The full audit of the published nontata test sequences (a stratified seeded 70/30 split), timed."""
    import pandas as pd

    from gbhub.builders.audit.sources import from_frame

    t0 = time.perf_counter()
    inp = from_frame("human_nontata_promoters_published_test", pd.read_csv(path, sep="\t", dtype=str),
                     where=str(path), sequence_column="seq")
    timings: dict[str, float] = {}
    report = audit_input(inp, timings=timings)
    return {"rows": len(inp.frame), "audit_s": round(time.perf_counter() - t0, 2), "audit_parts_s": timings,
            **headline(report)}


def markdown(results: dict, real: dict | None) -> str:
    """The README's audit table: one row per benchmark, every probe."""
    def cell(entry, probe):
        v = entry.get("probes", {}).get(probe)
        if not v:
            return "–"
        auroc, _, flag = v
        if auroc is None:
            return "n/a"
        return f"**{auroc:.3f}**" if flag == "fail" else f"*{auroc:.3f}*" if flag == "warn" else f"{auroc:.3f}"

    header = ("| benchmark | test overlapping train ∪ val | identical | validation overlapping train | length | "
              "exact length | strand | contig | 1 Mb bin | negatives on contigs without positives |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, e in results.items():
        neg = e.get("negatives_without_positive")
        lines.append(
            f"| {name} | {e['test_overlapping_train_validation']:,} ({e['test_overlapping_fraction']:.1%}) | "
            f"{e['test_identical_interval']:,} | {e['validation_overlapping_train']:,} "
            f"({e['validation_overlapping_fraction']:.1%}) | {cell(e, 'length')} | {cell(e, 'exact_length')} | "
            f"{cell(e, 'strand')} | {cell(e, 'contig')} | {cell(e, 'genomic_bin')} | "
            f"{'–' if neg is None else f'{neg:,}'} |")
    if real:
        probes = real["probes"]
        lines.append("")
        lines.append("Real sequences (" + f"{real['rows']:,} published nontata test sequences, 70/30): " + ", ".join(
            f"{k} {v[0]:.3f} {v[2]}" for k, v in probes.items() if v[0] is not None))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinates", type=Path, default=DEFAULT_COORDINATES, help="upstream `datasets/` copy")
    parser.add_argument("--names", nargs="+", default=None, help="benchmarks (default: all nine)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="audits to run")
    parser.add_argument("--no-variants", action="store_true", help="skip the leak-free / chromosome-split plans")
    parser.add_argument("--out", type=Path, help="also write the JSON figures here")
    parser.add_argument("--reports", type=Path, help="folder for the full audit report of each benchmark")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="TSV (seq, label) of real sequences to audit")
    parser.add_argument("--markdown", action="store_true", help="print the README's audit table to stderr")
    args = parser.parse_args(argv)

    names = args.names or upstream_benchmarks()
    need_sequences = bool(set(args.parts) - {"overlap", "contigs"}) or not args.no_variants
    results, t_start = {}, time.perf_counter()
    totals = {"read_tables_s": 0.0, "generate_sequences_s": 0.0, "audit_s": 0.0, "variant_plans_s": 0.0}
    for name in names:
        t0 = time.perf_counter()
        inp = load_inputs(name, args.coordinates)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        if need_sequences:
            inp.sequences = hashed_sequences(inp)
        t_generate = time.perf_counter() - t0
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        found = None
        if "near_duplicates" in args.parts:  # searched once, for the audit and the leak-free plan
            found = searches(inp)
            timings["near_duplicate_search"] = round(time.perf_counter() - t0, 3)
        report = audit_input(inp, parts=tuple(p for p in args.parts if p != "near_duplicates"), timings=timings)
        if found is not None:
            report["near_duplicates"] = audit_similarity(inp, found=found)
        t_audit = time.perf_counter() - t0
        entry = {"rows": len(inp.frame), "bases": int((inp.frame["end"] - inp.frame["start"]).sum()),
                 "read_tables_s": round(t_read, 2), "generate_sequences_s": round(t_generate, 2),
                 "audit_s": round(t_audit, 2), "audit_parts_s": timings, **headline(report)}
        if not args.no_variants:
            t0 = time.perf_counter()
            entry["variants"] = variant_plans(inp, found)
            entry["variant_plans_s"] = round(time.perf_counter() - t0, 2)
            totals["variant_plans_s"] += entry["variant_plans_s"]
        if args.reports:
            args.reports.mkdir(parents=True, exist_ok=True)
            (args.reports / f"{name}.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        totals["read_tables_s"] += t_read
        totals["generate_sequences_s"] += t_generate
        totals["audit_s"] += t_audit
        results[name] = entry
        print(f"{name}: {entry['rows']:,} rows, audit {t_audit:.1f} s", file=sys.stderr)
    real = None
    if args.real and args.real.is_file():
        real = real_sequences(args.real)
        print(f"real nontata sequences: audit {real['audit_s']:.1f} s", file=sys.stderr)
    result = {
        "benchmarks": results,
        "rows": sum(e["rows"] for e in results.values()),
        "bases": sum(e["bases"] for e in results.values()),
        **{k: round(v, 2) for k, v in totals.items()},
        "wall_s": round(time.perf_counter() - t_start, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "parts": args.parts,
        "sequences": "hashed synthetic genome with the real contig names and the real interval lengths",
        "real_sequences": real,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.markdown:
        print(markdown(results, real), file=sys.stderr)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
