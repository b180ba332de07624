"""`gbhub audit`: leakage and shortcut audits into `DIR/audit/<config>.json` and the card; optional variants."""

from __future__ import annotations

import argparse
import functools
import json
import sys

from gbhub.builders.audit.pipeline import PARTS
from gbhub.builders.audit.similarity import MinHashParams
from gbhub.commands.data import add_build_options, selected_names


def register(subparsers) -> None:
    """Add `audit` to the `gbhub` subparsers."""
    p = subparsers.add_parser(
        "audit",
        help="audit benchmarks for leakage and shortcuts; write audit/<config>.json and the card",
        description="Audit built benchmarks for duplicates, interval overlaps and near-duplicates across splits, "
        "length/GC/3-mer shortcuts and class-exclusive contigs; write OUT/audit/<config>.json and re-render "
        "OUT/README.md. A benchmark absent from OUT is built first (same options as `gbhub build`). "
        "With --variants, also build and audit <name>_leakfree and <name>_chromsplit.",
    )
    p.add_argument("--out", default="hub", help="Hub-layout folder holding the built configs (default: hub)")
    add_build_options(p, "audit")
    p.add_argument("--variants", action="store_true",
                   help="also build and audit the leak-free and chromosome-held-out variant configs")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), metavar="PART",
                   help=f"audits to run (default: all of {', '.join(PARTS)})")
    p.add_argument("--threshold", type=float, default=MinHashParams.threshold,
                   help="near-duplicate threshold on the estimated Jaccard similarity of k-mer sets")
    p.add_argument("--kmer", type=int, default=MinHashParams.k, help="k-mer length of the near-duplicate search")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    from gbhub.builders.audit.pipeline import audit_config
    from gbhub.builders.audit.variants import build_variants
    from gbhub.builders.build import build_benchmark
    from gbhub.builders.hub_layout import configs_in
    from gbhub.builders.references import parse_reference_args

    names = selected_names(args)
    if args.no_progress:
        import datasets

        datasets.disable_progress_bars()
    minhash = MinHashParams(k=args.kmer, threshold=args.threshold)
    references = parse_reference_args(args.reference)
    options = dict(coordinates_dir=args.coordinates, references=references, cache_dir=args.cache_dir,
                   progress=not args.no_progress)
    reports = {}
    say = functools.partial(print, file=sys.stderr if args.json else sys.stdout)  # --json: stdout is the JSON
    for name in names:
        if name not in configs_in(args.out):
            build_benchmark(name, args.out, seed=args.seed, num_proc=args.num_proc, **options)
            say(f"built {name} -> {args.out}/{name}")
        extra = {}
        configs = [name]
        if args.variants:
            variants = build_variants(name, args.out, num_proc=args.num_proc, **options)
            extra["variants"] = variants
            configs += [v["config"] for v in variants.values() if v.get("config")]
        for config in configs:
            report, path = audit_config(args.out, config, parts=tuple(args.parts), minhash=minhash,
                                        extra=extra if config == name else None)
            reports[config] = report
            say(f"audited {config} -> {path}: {summary(report)}")
    from gbhub.hub_cards.dataset_card import write_dataset_card

    card = write_dataset_card(args.out)
    say(f"card -> {card}")
    if args.json:
        json.dump(reports, sys.stdout, indent=2, sort_keys=True)
        print()
    return 0


def summary(report: dict) -> str:
    """One line of headline figures of a report."""
    bits = []
    dup = report.get("duplicates", {}).get("across_splits", {}).get("test_vs_train_validation")
    if dup:
        bits.append(f"test dup {dup['exact']}+{dup['rc']}rc")
    ov = report.get("overlap", {}).get("pairs", {}).get("test_vs_train_validation")
    if ov:
        bits.append(f"test overlap {ov['overlapping']} ({ov['overlapping_fraction']:.1%})")
    near = report.get("near_duplicates", {}).get("pairs", {}).get("test_vs_train_validation")
    if near:
        bits.append(f"near-dup {near['near_duplicates']}")
    for name, d in report.get("shortcuts", {}).get("features", {}).items():
        bits.append(f"{name} {d['auroc']} {d['flag']}")
    return ", ".join(bits)
