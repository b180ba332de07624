"""`gbhub motifs RUN`: a convolutional run's first-layer filters as motifs (MEME, JASPAR matches, logos, card)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gbhub.builders.hub_layout import DEFAULT_SEED
from gbhub.commands.argtypes import fraction, non_negative, positive_int, seed_int

METHODS = ("activation", "enumeration")  # gbhub.training.motifs.pipeline.METHODS (not imported: torch)


def register(subparsers) -> None:
    """Add `motifs` to the `gbhub` subparsers."""
    p = subparsers.add_parser(
        "motifs", help="a convolutional run's first-layer filters as motifs matched to JASPAR",
        description="Turn the first-layer filters of a trained convolutional run (cnn, deepenhancer) into position "
                    "probability matrices, write them in MEME format, match them to JASPAR with Tomtom (offline: "
                    "pyjaspar's database, memelite's Tomtom, q-values per filter), draw logos of the most important "
                    "filters, and add a motif section to the run's model card.",
        epilog="example:\n  gbhub motifs runs/deepenhancer --dataset hub --config human_nontata_promoters\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run folder of `gbhub train cnn|deepenhancer`")
    p.add_argument("--dataset", required=True, help="the run's dataset: Hub id or Hub-layout folder (required)")
    p.add_argument("--config", required=True, help="the run's benchmark config (required)")
    p.add_argument("--split", default="test", choices=("train", "validation", "test"),
                   help="split whose sequences are scanned and rank the filters (default: test)")
    p.add_argument("--method", default="activation", choices=METHODS,
                   help="activation: Basset's sites, activation > mean + 0.5 x (max - mean); enumeration: the "
                        "DeepEnhancer paper's every k-mer with a positive activation (default: activation)")
    p.add_argument("--max-sequences", type=positive_int, default=2000, metavar="N",
                   help="scan a seeded random subset of at most this many sequences (default: 2000)")
    p.add_argument("--seed", type=seed_int, default=DEFAULT_SEED, metavar="N", help=f"seed of that subset (default: {DEFAULT_SEED})")
    p.add_argument("--threshold-fraction", type=fraction, default=0.5, metavar="F",
                   help="f in the activation threshold mean + f x (max - mean) (default: 0.5, Basset's)")
    p.add_argument("--pseudocount", type=non_negative, default=0.5, metavar="X",
                   help="added to each base count of each position (default: 0.5)")
    p.add_argument("--min-sites", type=positive_int, default=10, metavar="N",
                   help="drop filters with fewer sites (default: 10, Basset's)")
    p.add_argument("--top", type=positive_int, default=10, metavar="N",
                   help="most important filters drawn as logos and shown in the card (default: 10)")
    p.add_argument("--jaspar-release", default="JASPAR2026", metavar="RELEASE",
                   help="JASPAR release shipped by pyjaspar, JASPAR2014-JASPAR2026; the paper used JASPAR2016 "
                        "(default: JASPAR2026)")
    p.add_argument("--jaspar-collection", default="CORE", choices=("CORE", "UNVALIDATED"),
                   help="JASPAR collection (default: CORE)")
    p.add_argument("--jaspar-tax-group", default="vertebrates", metavar="GROUP",
                   help="taxonomic group, e.g. vertebrates, insects, plants; 'all' for every group "
                        "(default: vertebrates)")
    p.add_argument("--out", metavar="PATH", help="output folder (default: RUN/motifs, which also updates the card)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=cmd_motifs)


def cmd_motifs(args: argparse.Namespace) -> int:
    from gbhub.commands.train import _quiet
    from gbhub.training.motifs.pipeline import MotifOptions, discover  # lazy: torch, memelite, pyjaspar

    options = MotifOptions(
        method=args.method, split=args.split, max_sequences=args.max_sequences, seed=args.seed,
        threshold_fraction=args.threshold_fraction, pseudocount=args.pseudocount, min_sites=args.min_sites,
        top=args.top, jaspar_release=args.jaspar_release, jaspar_collection=args.jaspar_collection,
        jaspar_tax_group=None if args.jaspar_tax_group == "all" else args.jaspar_tax_group)
    with _quiet(args.no_progress):
        summary = discover(args.run, args.dataset, args.config, options, out=args.out, progress=not args.no_progress)
    db = summary["database"]
    print(f"{summary['n_kept']} of {summary['n_filters']} filters kept (>= {summary['min_sites']} sites); "
          f"{summary['n_matched']} match JASPAR {db['release']} {db['collection']} {db['tax_group'] or 'all'} "
          "(q < 0.05)")
    for row in summary["top"]:
        print(f"  filter {row['filter']:3d}  {row['consensus']}  sites {row['sites']:6d}  "
              f"{row['information_bits']:4.1f} bits  -> {row['match_name']} {row['match_id']}  q {row['match_q']:.2g}")
    print(f"motifs: {args.out or Path(args.run) / 'motifs'}  [filters.meme, filters.tsv, logos/, summary.json]")
    return 0
