"""`gbhub audit`: leakage and shortcut audits of any dataset into `audit/<config>.json`, a readable report and the card."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import re
import sys
from pathlib import Path

# the parser's defaults only: `params` imports no numpy/pandas; the audit machinery is imported in the commands
from gbhub.builders.audit.params import PARTS, ProbeParams, SimilarityParams
from gbhub.builders.hub_layout import DEFAULT_SEED
from gbhub.commands.data import positive_int

KINDS = ("auto", "benchmark", "folder", "file", "hub")
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def register(subparsers) -> None:
    """Add `audit` to the `gbhub` subparsers."""
    p = subparsers.add_parser(
        "audit",
        help="audit any dataset for leakage and shortcuts; write audit/<config>.json, a report and the card",
        description="Audit a dataset for duplicates, near-duplicates and interval overlaps across splits and for "
        "shortcuts (length, composition, per-position bases, genomic position...): write OUT/audit/<config>.json, "
        "the readable report OUT/audit/<config>.md with its plots, and re-render OUT/README.md when every config "
        "of OUT has provenance. TARGET is a registered benchmark (built into OUT first when absent), a Hub-layout "
        "folder, a file of labelled sequences (.parquet, .csv, .tsv, .fa/.fasta, optionally .gz; several FASTA "
        "files are one dataset with one class per file), or a Hub dataset id ORG/NAME (with --config). Checks on "
        "coordinates run only when the rows carry real ones. With --variants, a benchmark also gets "
        "<name>_leakfree and <name>_chromsplit, each audited.",
    )
    p.add_argument("targets", nargs="*", metavar="TARGET", help="what to audit (see above)")
    p.add_argument("--all", action="store_true", help="audit all nine upstream benchmarks")
    p.add_argument("--kind", choices=KINDS, default="auto",
                   help="what TARGET is (default: guessed: a registered name, an existing folder or file, else ORG/NAME)")
    p.add_argument("--out", help="folder the reports go to (default: hub for benchmarks, the folder itself for a "
                                 "folder, gbhub-audit otherwise)")
    p.add_argument("--config", help="config of a folder or Hub dataset holding several")
    p.add_argument("--name", help="name of the report of a file or Hub dataset (default: from the file or id)")
    p.add_argument("--revision", help="revision (branch, tag or commit) of a Hub dataset")
    p.add_argument("--sequence-column", default="sequence", help="column holding the sequences (default: sequence)")
    p.add_argument("--label-column", default="label", help="column holding the class (default: label)")
    p.add_argument("--split-column", default="split",
                   help="column naming each row's split in a file (default: split; without it, --holdout)")
    p.add_argument("--holdout", type=float, default=0.3,
                   help="share of each class held out as test when a file has no split column (default: 0.3)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="seed of the validation split of a built benchmark and of --holdout (default: 42)")
    p.add_argument("--coordinates", metavar="DIR", help="local copy of upstream `datasets/` (benchmarks)")
    p.add_argument("--reference", action="append", metavar="KEY=PATH",
                   help="local FASTA for a reference key or assembly (benchmarks); repeatable")
    p.add_argument("--cache-dir", help="gbhub cache (default $GBHUB_CACHE or ~/.cache/gbhub)")
    p.add_argument("--num-proc", type=positive_int, default=None, help="worker processes for extraction")
    p.add_argument("--intervals-only", action="store_true",
                   help="audit a benchmark from its coordinate tables alone (no reference, nothing built): overlaps, "
                        "contigs, length and genomic-position probes; the sequence checks are reported not applicable")
    p.add_argument("--variants", action="store_true",
                   help="also build and audit the leak-free and chromosome-held-out variants of a benchmark")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), metavar="PART",
                   help=f"audits to run (default: all of {', '.join(PARTS)})")
    p.add_argument("--min-identity", type=float, default=SimilarityParams.min_identity,
                   help="near-duplicate identity threshold (default: %(default)s)")
    p.add_argument("--min-coverage", type=float, default=SimilarityParams.min_coverage,
                   help="near-duplicate coverage of the shorter sequence (default: %(default)s)")
    p.add_argument("--kmer", type=int, default=None,
                   help="k-mer length of the near-duplicate search, 8-16 (default: 12-16 by dataset size)")
    p.add_argument("--bootstrap", type=int, default=ProbeParams.bootstrap,
                   help="bootstrap resamples of the AUROC intervals (default: %(default)s)")
    p.add_argument("--bin-size", type=positive_int, default=ProbeParams.bin_size,
                   help="genomic bin (bp) of the genomic-position probe (default: %(default)s)")
    p.add_argument("--window", type=positive_int, default=ProbeParams.window,
                   help="window (bp) of the per-position probe (default: %(default)s)")
    p.add_argument("--no-report", action="store_true", help="write the JSON only, not the Markdown report and plots")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide every progress bar")
    p.set_defaults(func=cmd_audit)


def resolve(targets: list[str], kind: str) -> list[tuple[str, object]]:
    """`[(kind, target)]`: each benchmark, folder and Hub id on its own, all files together as one dataset."""
    from gbhub.builders.registry import registry

    known = registry()
    resolved, files = [], []
    for target in targets:
        what = kind
        if what == "auto":
            path = Path(target)
            what = ("benchmark" if target in known else "folder" if path.is_dir() else "file" if path.is_file()
                    else "hub" if HUB_ID.fullmatch(target) else None)
        if what is None:
            raise SystemExit(f"gbhub audit: {target!r} is not a benchmark (see `gbhub list`), a folder, a file or a "
                             "Hub dataset id ORG/NAME")
        if what == "benchmark" and target not in known:
            raise SystemExit(f"gbhub audit: unknown benchmark {target!r}; see `gbhub list`")
        if what == "folder" and not Path(target).is_dir():  # checked before the output folder is locked (created)
            raise SystemExit(f"gbhub audit: {target} is not a folder")
        if what == "file":
            files.append(target)
        else:
            resolved.append((what, target))
    if files:
        resolved.append(("file", files))
    return resolved


def cmd_audit(args: argparse.Namespace) -> int:
    from gbhub.builders.audit.common import AuditError

    if args.all and args.targets:
        raise SystemExit("gbhub audit: give targets or --all, not both")
    if not args.all and not args.targets:
        raise SystemExit("gbhub audit: name a benchmark, folder, file or Hub id (see --help), or pass --all")
    if args.variants and args.intervals_only:
        raise SystemExit("gbhub audit: --variants needs the sequences; drop --intervals-only")
    if not 0 < args.holdout < 1:
        raise SystemExit(f"gbhub audit: --holdout must be between 0 and 1, got {args.holdout}")
    if args.no_progress:
        import datasets
        import huggingface_hub.utils

        datasets.disable_progress_bars()
        huggingface_hub.utils.disable_progress_bars()
    from gbhub.builders.registry import upstream_benchmarks

    targets = [("benchmark", name) for name in upstream_benchmarks()] if args.all else resolve(args.targets, args.kind)
    for flag, on in (("--variants", args.variants), ("--intervals-only", args.intervals_only)):
        others = [t if isinstance(t, str) else " ".join(t) for kind, t in targets if kind != "benchmark"]
        if on and others:
            raise SystemExit(f"gbhub audit: {flag} applies to registered benchmarks only, not to {', '.join(others)}")
    try:
        similarity = SimilarityParams(k=args.kmer, min_identity=args.min_identity, min_coverage=args.min_coverage)
        probes = ProbeParams(bootstrap=args.bootstrap, bin_size=args.bin_size, window=args.window, seed=0)
    except AuditError as err:
        raise SystemExit(f"gbhub audit: {err}") from None
    say = functools.partial(print, file=sys.stderr if args.json else sys.stdout)  # --json: stdout is the JSON
    reports = {}
    options = dict(sequence_column=args.sequence_column, label_column=args.label_column, holdout=args.holdout,
                   seed=args.seed)
    with _writers(targets, args, say):
        for kind, target in targets:
            for config, out, inp, extra in _inputs(kind, target, args, options, say):
                reports[config] = _audit_one(config, out, inp, extra, args, similarity, probes, say)
    if args.json:
        json.dump(reports, sys.stdout, indent=2, sort_keys=True)
        print()
    return 0


def _out_dir(kind: str, target, args) -> Path:
    """The folder the reports of one target go to."""
    if args.out:
        return Path(args.out)
    return Path("hub") if kind == "benchmark" else Path(target) if kind == "folder" else Path("gbhub-audit")


@contextlib.contextmanager
def _writers(targets, args, say):
    """Hold every output folder for the whole command: one writer per folder (`locks.folder_lock`, taken before
    any work, so a second writer is told at once), and, for a Hub-layout folder, a card transaction
    (`hub_layout.card_transaction`): the variants' Parquet and provenance are swapped in under the journal, and
    the card is drawn once at the end. A killed audit leaves the card marked stale (`gbhub card DIR` completes
    it, and readers are told); an audit that fails re-renders the card only when a config was swapped in."""
    from gbhub.builders.hub_layout import card_transaction
    from gbhub.builders.locks import folder_lock

    command = ("gbhub audit " + (" ".join(args.targets) if args.targets else "--all")
               + (" --variants" if args.variants else ""))[:300]
    cards, others = [], []
    for kind, target in targets:
        out = _out_dir(kind, target, args)
        card = kind in ("benchmark", "folder") and not args.intervals_only
        (cards if card else others).append(out)
    cards = list(dict.fromkeys(cards))
    others = [o for o in dict.fromkeys(others) if o not in cards]
    finished = []

    def render(out: Path) -> None:
        from gbhub.builders.hub_layout import read_journal

        if finished or read_journal(out).get("card_stale"):
            _render_card(out, say)

    with contextlib.ExitStack() as stack:
        for out in cards:
            stack.enter_context(card_transaction(out, render, command=command, always=True))
        for out in others:
            stack.enter_context(folder_lock(out, command))
        yield
        finished.append(True)


def _inputs(kind: str, target, args, options: dict, say):
    """Yield `(config, out_dir, AuditInput or None, extra report keys)` for one target (None: read the config of
    out_dir with its provenance)."""
    from gbhub.builders.audit import sources

    if kind == "benchmark":
        yield from _benchmark_inputs(target, args, options, say)
    elif kind == "folder":
        out = _out_dir(kind, target, args)
        configs = [args.config] if args.config else sources.folder_configs(target)
        if not configs:
            raise SystemExit(f"gbhub audit: {target} holds no config (no README.md configs, no <config>/*.parquet)")
        for config in configs:
            yield config, out, sources.load_folder(target, config, **options), None
    elif kind == "file":
        inp = sources.load_files(target, name=args.name, split_column=args.split_column, **options)
        yield inp.config, _out_dir(kind, target, args), inp, None
    else:
        inp = sources.load_hub(target, args.config, revision=args.revision, **options)
        if args.name:
            inp.config = args.name
        yield inp.config, _out_dir(kind, target, args), inp, None


def _benchmark_inputs(name: str, args, options: dict, say):
    from gbhub.builders.audit import sources
    from gbhub.builders.audit.variants import SUFFIXES, build_variants
    from gbhub.builders.build import build_benchmark
    from gbhub.builders.hub_layout import SPLITS, configs_in, split_files
    from gbhub.builders.references import parse_reference_args

    out = _out_dir("benchmark", name, args)
    if args.intervals_only:  # the tables alone: nothing is built, no card (the folder may hold no config)
        if name in configs_in(out):
            raise SystemExit(f"gbhub audit: {out} holds a built {name}: audit it in full (drop --intervals-only), or "
                             "give the intervals-only report another --out")
        yield name, out, sources.load_tables(name, coordinates_dir=args.coordinates, cache_dir=args.cache_dir,
                                             seed=args.seed, progress=not args.no_progress), None
        return
    build = dict(coordinates_dir=args.coordinates, references=parse_reference_args(args.reference),
                 cache_dir=args.cache_dir, progress=not args.no_progress)
    if name not in configs_in(out):
        if any(split_files(out, name, s) for s in SPLITS):  # Parquet without provenance: audit it as it is
            say(f"{out}/{name} has no provenance: auditing its Parquet as it is (no rebuild)")
            yield name, out, sources.load_folder(out, name, **options), None
            return
        build_benchmark(name, out, seed=args.seed, num_proc=args.num_proc, **build)
        say(f"built {name} -> {out}/{name}")
    extra, configs = {}, [name]
    if args.variants:
        variants = build_variants(name, out, num_proc=args.num_proc, **build)
        extra["variants"] = variants
        configs += [v["config"] for v in variants.values() if v.get("config")]
    else:  # keep linking the variants built before (they are not re-audited)
        present = set(configs_in(out))
        built = {kind: {"config": name + suffix} for kind, suffix in SUFFIXES.items() if name + suffix in present}
        if built:
            extra["variants"] = built
    for config in configs:
        yield config, out, None, extra if config == name else None


def _audit_one(config, out, inp, extra, args, similarity, probes, say) -> dict:
    from gbhub.builders.audit.document import write_document
    from gbhub.builders.audit.pipeline import audit_config

    report, path = audit_config(out, config, parts=tuple(args.parts), similarity=similarity, probes=probes,
                                extra=extra, inp=inp, progress=not args.no_progress)
    say(f"audited {config} -> {path}: {summary(report)}")
    if not args.no_report:
        say(f"report -> {write_document(out, config, report)}")
    return report


def _render_card(out: Path, say) -> None:
    """Re-render the folder's card when every config in it has provenance (a folder written without provenance,
    e.g. by `write_hub_folder`, keeps its README: re-rendering would drop those configs from it)."""
    from gbhub.builders.audit.sources import folder_configs
    from gbhub.builders.hub_layout import provenance_path

    missing = [c for c in folder_configs(out) if not provenance_path(out, c).is_file()]
    if missing:
        say(f"card not re-rendered: {', '.join(missing)} in {out} {'has' if len(missing) == 1 else 'have'} no "
            "provenance (the audit reports are in its audit/ folder)")
        return
    from gbhub.hub_cards.dataset_card import write_dataset_card

    say(f"card -> {write_dataset_card(out)}")


def summary(report: dict) -> str:
    """One line of headline figures of a report."""
    bits = []
    dup = (report.get("duplicates") or {}).get("across_splits", {}).get("test_vs_train_validation")
    if dup:
        bits.append(f"test dup {dup['exact']}+{dup['rc']}rc")
    ov = (report.get("overlap") or {}).get("pairs", {}).get("test_vs_train_validation")
    if ov:
        bits.append(f"test overlap {ov['overlapping']} ({ov['overlapping_fraction']:.1%})")
    near = (report.get("near_duplicates") or {}).get("pairs", {}).get("test_vs_train_validation")
    if near:
        bits.append(f"near-dup {near['near_duplicates']}")
    flagged = (report.get("shortcuts") or {}).get("flagged") or {}
    for flag in ("fail", "warn"):
        if flagged.get(flag):
            bits.append(f"{flag}: {', '.join(flagged[flag])}")
    return ", ".join(bits) or "nothing flagged"
