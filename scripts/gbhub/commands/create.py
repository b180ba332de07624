"""`gbhub create` and `gbhub locate`: a benchmark from your own regions; sequences mapped back to coordinates."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import NoReturn

from gbhub.builders.hub_layout import DEFAULT_SEED

# the parser's defaults only: `options` imports no numpy/pandas; the engine is imported in the commands
from gbhub.builders.regions.options import NegativeOptions
from gbhub.commands.argtypes import positive_int, seed_int


def register(subparsers) -> None:
    """Add `create` and `locate` to the `gbhub` subparsers."""
    p = subparsers.add_parser(
        "create",
        help="make a benchmark from BED regions and a reference (negatives, splits, spec, card, audit)",
        description="Make benchmark NAME from BED files (BED3/BED6; one per class, or one positive BED with "
        "negatives generated to match its regions' length, GC content and, on a soft-masked reference, repeat "
        "fraction), split by held-out chromosomes (default) or at random with overlapping regions kept together. "
        "Writes the Hub-layout config into OUT with its spec (specs/NAME.yaml, from which `gbhub build --spec` "
        "rebuilds it byte for byte), the audit and the card: ready for `gbhub push`. With --target NAME, a regression "
        "benchmark instead: the one BED's score column becomes a float32 label, with no negatives.",
    )
    p.add_argument("name", metavar="NAME", help="config name of the new benchmark")
    p.add_argument("--positives", metavar="BED", help="regions of class `positive` (BED3/BED6, sorted, plain or .gz)")
    p.add_argument("--class", dest="classes", action="append", metavar="NAME=BED", default=[],
                   help="regions of class NAME; repeatable. With a single class, negatives are generated")
    p.add_argument("--reference", required=True, metavar="KEY[=FASTA]",
                   help="the reference: a key of `gbhub references` (downloaded when no FASTA is given), an assembly "
                        "(GRCh38=FASTA) or a name of your own (mygenome=FASTA)")
    p.add_argument("--out", required=True, help="Hub-layout output folder (other configs are kept)")
    p.add_argument("--width", type=positive_int, help="resize every region to this many bp around its centre/summit")
    p.add_argument("--summit-column", type=positive_int, metavar="N",
                   help="1-based BED column holding the summit offset from start (narrowPeak: 10); with --width")
    r = p.add_argument_group("regression (a float target per region instead of classes)")
    r.add_argument("--target", metavar="NAME",
                   help="make a regression benchmark from the one --positives BED: its score column becomes the "
                        "float32 `label` named NAME (e.g. score); no negatives are generated; --split random is "
                        "stratified on the target's deciles")
    r.add_argument("--target-column", type=positive_int, metavar="N",
                   help="1-based BED column holding the target (default 5, the BED score column); with --target")
    g = p.add_argument_group("generated negatives (one class given)")
    d = NegativeOptions()
    g.add_argument("--negative-ratio", type=positive_int, default=d.ratio, help="negatives per positive (default 1)")
    g.add_argument("--margin", type=int, default=d.margin,
                   help=f"bp around each positive that no negative touches (default {d.margin})")
    g.add_argument("--exclude", action="append", metavar="BED", default=[],
                   help="regions no negative may touch (blacklist, promoters, exons...); repeatable")
    g.add_argument("--gc-tolerance", type=float, default=d.gc_tolerance,
                   help=f"GC bin width of the match (default {d.gc_tolerance})")
    g.add_argument("--repeat-tolerance", type=float, default=d.repeat_tolerance,
                   help=f"repeat-fraction bin width, on a soft-masked reference (default {d.repeat_tolerance})")
    g.add_argument("--no-repeat-match", action="store_true",
                   help="do not match the soft-masked repeat fraction (and do not read the FASTA's case)")
    g.add_argument("--max-n-fraction", type=float, default=d.max_n_fraction,
                   help="most N a negative (and so a positive it is matched to) may hold (default 0: none)")
    g.add_argument("--background", choices=("positive-contigs", "genome"), default=d.background,
                   help="draw negatives from the contigs holding positives of the same split (default), or from "
                        "every contig of that split")
    s = p.add_argument_group("splits")
    s.add_argument("--split", choices=("chromosome", "random"), default="chromosome",
                   help="hold out whole contigs (default: the assembly's _chromsplit contigs) or split at random, "
                        "stratified, overlapping regions kept in one split")
    s.add_argument("--split-contigs", nargs="+", metavar="SPLIT=CONTIG,...",
                   help="contigs to hold out, e.g. validation=chr6,chr21 test=chr5,chr10")
    s.add_argument("--validation-fraction", type=float, default=0.1, help="with --split random (default 0.1)")
    s.add_argument("--test-fraction", type=float, default=0.2, help="with --split random (default 0.2)")
    p.add_argument("--seed", type=seed_int, default=DEFAULT_SEED, help=f"seed of every random choice (default {DEFAULT_SEED})")
    c = p.add_argument_group("card")
    c.add_argument("--pretty-name", default="", help="title of the benchmark on the card")
    c.add_argument("--description", default="", help="what the classes are (Markdown), shown on the card")
    c.add_argument("--license", default="other", help="license of the data (a Hub license id; default other)")
    c.add_argument("--citation", metavar="BIBTEX_FILE", help="BibTeX of the data's source, shown on the card")
    p.add_argument("--no-audit", action="store_true", help="skip the leakage/shortcut audit")
    p.add_argument("--cache-dir", help="gbhub cache (default $GBHUB_CACHE or ~/.cache/gbhub)")
    p.add_argument("--num-proc", type=positive_int, default=None, help="worker processes for extraction")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=cmd_create)

    p = subparsers.add_parser(
        "locate",
        help="map sequences exactly (both strands) back to reference coordinates",
        description="Find where each sequence lies on a reference: contig, start, end (0-based, half-open) and "
        "strand, by exact match on either strand. Sequences come from a FASTA file, a column of a Parquet/CSV/TSV "
        "file, or a dataset (a Hub id or a local Hub-layout folder, loaded with datasets.load_dataset). Each "
        "sequence is `unique`, `ambiguous` (several loci; none is picked), `unmapped` or `unsearchable` (no "
        "N-free stretch of the seed length).",
    )
    p.add_argument("input", metavar="INPUT", help="FASTA, .parquet/.csv/.tsv file, or a dataset id/folder")
    p.add_argument("--reference", required=True, metavar="KEY[=FASTA]", help="the reference (as for `gbhub create`)")
    p.add_argument("--column", default="sequence", help="sequence column of a table or dataset (default sequence)")
    p.add_argument("--id-column", default="id", help="id column, when present (default id)")
    p.add_argument("--config", help="dataset config")
    p.add_argument("--split", help="dataset split (default: all, concatenated)")
    p.add_argument("--out", help="write one row per sequence (.csv, .tsv or .parquet), or the uniquely located ones "
                        "as BED6 (.bed, .bed.gz) for `gbhub create --class NAME=FILE.bed`")
    p.add_argument("--all-hits", metavar="FILE", help="also write every exact occurrence (.csv, .tsv or .parquet)")
    p.add_argument("--cache-dir", help="gbhub cache (default $GBHUB_CACHE or ~/.cache/gbhub)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=cmd_locate)


def split_reference(text: str, command: str = "create") -> tuple[str, str | None]:
    """`KEY=PATH` or `KEY` into `(key, path or None)`."""
    key, sep, path = text.partition("=")
    if not key or (sep and not path):
        _usage(command, f"--reference {text!r}: expected KEY or KEY=FASTA, e.g. GRCh38=/data/hg38.fa.gz")
    return key, path or None


def _usage(command: str, message: str) -> NoReturn:
    """A command-line mistake: one line, exit status 2, like argparse's own errors."""
    print(f"gbhub {command}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _split_contigs(items: list[str] | None) -> dict[str, list[str]] | None:
    if not items:
        return None
    out: dict[str, list[str]] = {}
    for item in items:
        split, sep, contigs = item.partition("=")
        if not sep or split not in ("validation", "test") or not contigs:
            _usage("create", f"--split-contigs {item!r}: expected validation=CONTIG,... or test=CONTIG,...")
        out.setdefault(split, []).extend(c for c in contigs.split(",") if c)
    return out


@contextlib.contextmanager
def _no_empty_folder_left(out: str):
    """A command that fails (bad BED, unknown contig...) leaves no new empty output folder behind."""
    existed = Path(out).exists()
    try:
        yield
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                Path(out).rmdir()  # only when empty: anything written stays
        raise


def cmd_create(args: argparse.Namespace) -> int:
    from gbhub.builders.hub_layout import card_transaction
    from gbhub.builders.regions.create import create_benchmark
    from gbhub.builders.regions.spec import SplitSpec, TargetSpec
    from gbhub.hub_cards.dataset_card import write_dataset_card

    classes = {}
    if args.positives:
        classes["positive"] = args.positives
    for item in args.classes:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            _usage("create", f"--class {item!r}: expected NAME=BED")
        if name in classes:
            _usage("create", f"class {name!r} given twice")
        classes[name] = path
    if not classes:
        _usage("create", "give --positives BED or --class NAME=BED")
    target = None
    if args.target is not None:
        if args.classes or not args.positives:
            _usage("create", "--target makes a regression benchmark from one BED: give --positives BED and no --class")
        target = TargetSpec(args.target, args.target_column or TargetSpec.column)
    elif args.target_column is not None:
        _usage("create", "--target-column goes with --target NAME")
    if args.summit_column and not args.width:
        _usage("create", "--summit-column needs --width (the window around the summit)")
    contigs = _split_contigs(args.split_contigs)
    if contigs and args.split != "chromosome":
        _usage("create", "--split-contigs goes with --split chromosome")
    split = SplitSpec(
        method=args.split,
        validation_contigs=tuple(contigs.get("validation", ())) or None if contigs else None,
        test_contigs=tuple(contigs.get("test", ())) or None if contigs else None,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
    )
    if contigs and not (split.validation_contigs and split.test_contigs):
        _usage("create", "--split-contigs needs both validation=... and test=...")
    for name, value in (("--gc-tolerance", args.gc_tolerance), ("--repeat-tolerance", args.repeat_tolerance)):
        if not 0 < value <= 1:
            _usage("create", f"{name} {value}: expected a fraction in (0, 1]")
    if not 0 <= args.max_n_fraction < 1 or args.margin < 0:
        _usage("create", "--max-n-fraction must be in [0, 1) and --margin >= 0")
    negatives = NegativeOptions(
        ratio=args.negative_ratio, margin=args.margin, gc_tolerance=args.gc_tolerance,
        repeat_tolerance=None if args.no_repeat_match else args.repeat_tolerance,
        max_n_fraction=args.max_n_fraction, background=args.background)
    key, fasta = split_reference(args.reference)
    citation = ""
    if args.citation:
        if not Path(args.citation).is_file():
            _usage("create", f"--citation {args.citation}: not found (give a file holding the citation, e.g. BibTeX)")
        try:
            citation = Path(args.citation).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            _usage("create", f"--citation {args.citation}: cannot be read as UTF-8 text ({err})")
    t0 = time.perf_counter()
    cards: list[Path] = []
    # one writer for the folder while config, spec and audit are written; the card is drawn once at the end
    with _no_empty_folder_left(args.out), card_transaction(args.out, lambda out: cards.append(write_dataset_card(out)),
                                                           command=f"gbhub create {args.name}"):
        result = create_benchmark(
            args.name, classes, key, args.out, fasta=fasta, exclude=args.exclude, width=args.width,
            summit_column=args.summit_column, negatives=negatives, split=split, seed=args.seed,
            pretty_name=args.pretty_name, description=args.description, license=args.license, citation=citation,
            cache_dir=args.cache_dir, num_proc=args.num_proc, progress=not args.no_progress, audit=not args.no_audit,
            target=target)
    card = cards[-1] if cards else write_dataset_card(args.out)
    rows = ", ".join(f"{split} {sum(c.values()):,}" for split, c in result.counts.items())
    print(f"created {args.name} -> {result.config_dir} ({rows}) in {time.perf_counter() - t0:.1f} s")
    if result.negatives:
        m = result.negatives["all"]
        extra = f", repeat KS {m['repeat']['ks']:.3f}" if "repeat" in m else ""
        print(f"negatives: {result.negatives['negatives']:,} matched on {', '.join(result.negatives['matched_on'])} "
              f"(GC KS {m['gc']['ks']:.3f}{extra}; Q-Q on the card)")
    print(f"spec -> {result.spec_file}")
    if result.audit_file:
        print(f"audit -> {result.audit_file}")
    elif target is not None and not args.no_audit:
        print("audit: not run (the audit compares classes; a regression benchmark has none)")
    print(f"card -> {card}")
    print(f"rebuild: gbhub build --spec {result.spec_file} --reference {key}=FASTA --out DIR")
    return 0


def cmd_build_spec(args: argparse.Namespace) -> int:
    """`gbhub build --spec FILE`: rebuild a `gbhub create` benchmark (called by `gbhub build`)."""
    from gbhub.builders.hub_layout import card_transaction
    from gbhub.builders.regions.create import build_from_spec
    from gbhub.builders.regions.spec import read_spec
    from gbhub.hub_cards.dataset_card import write_dataset_card

    if args.names or args.all:
        _usage("build", "--spec rebuilds the benchmark its file declares; give no NAME or --all")
    key = read_spec(args.spec).reference["key"]
    given = [split_reference(item, "build") for item in args.reference or []]
    fasta = next((path for k, path in given if k == key), None)
    if given and fasta is None:
        _usage("build", f"the spec's reference is {key!r}; pass --reference {key}=FASTA")
    cards: list[Path] = []
    with card_transaction(args.out, lambda out: cards.append(write_dataset_card(out)),
                          command=f"gbhub build --spec {args.spec}"):
        result = build_from_spec(args.spec, args.out, fasta=fasta, cache_dir=args.cache_dir, num_proc=args.num_proc,
                                 progress=not args.no_progress)
    print(f"built {result.config_dir.name} -> {result.config_dir}")
    print(f"card -> {cards[-1] if cards else write_dataset_card(args.out)}")
    return 0


def cmd_locate(args: argparse.Namespace) -> int:
    from gbhub.builders.locate import locate_sequences, read_query_table, table_text, write_locations
    from gbhub.builders.regions.reference import resolve_named_reference

    if args.no_progress and not Path(args.input).is_file():  # a dataset: `datasets` shows bars of its own
        import datasets

        datasets.disable_progress_bars()
    key, fasta = split_reference(args.reference, "locate")
    resolved, _ = resolve_named_reference(key, fasta, cache_dir=args.cache_dir, progress=not args.no_progress)
    ids, sequences, columns = read_query_table(args.input, column=args.column, id_column=args.id_column,
                                               config=args.config, split=args.split)
    t0 = time.perf_counter()
    result = locate_sequences(resolved.genome, sequences, progress=not args.no_progress)
    seconds = time.perf_counter() - t0
    counts = result.counts()
    print(f"located {len(ids):,} sequences in {seconds:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
          file=sys.stderr if not args.out else sys.stdout)
    if args.out:
        path = write_locations(result, ids, args.out, columns)
        if path.name.lower().endswith((".bed", ".bed.gz")):
            print(f"-> {path} ({counts['unique']:,} unique regions, BED6; the other "
                  f"{len(ids) - counts['unique']:,} have no single locus and are left out)")
        else:
            print(f"-> {path}")
    else:  # ids and locations only, whatever the input (the bytes pandas would write: tested)
        sys.stdout.write(table_text(result, ids))
    if args.all_hits:
        from gbhub.builders.hub_layout import atomic_path

        hits = result.hits.assign(id=ids[result.hits["query"].to_numpy()])
        path = Path(args.all_hits)
        with atomic_path(path) as tmp:
            if path.name.lower().endswith(".parquet"):
                hits.to_parquet(tmp, index=False)
            else:
                hits.to_csv(tmp, index=False, sep="\t" if path.name.lower().endswith((".tsv", ".txt")) else ",")
        print(f"all hits -> {path}")
    return 0
