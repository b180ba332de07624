"""`gbhub list`, `gbhub references` and `gbhub build`: thin layers over the registry and the engine."""

from __future__ import annotations

import argparse
import json
import sys

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import DEFAULT_SEED, VALIDATION_FRACTION
from gbhub.builders.registry import get_benchmark, registry, upstream_benchmarks
from gbhub.commands import build_windows  # `--windows-bp`: windows over each region (DeepEnhancer)
from gbhub.commands.argtypes import positive_int, seed_int


class UnusedInputError(GBHubError, ValueError):
    """`--coordinates` or a `--reference` key that none of the selected benchmarks reads."""


def register(subparsers) -> None:
    """Add `list`, `references` and `build` to the `gbhub` subparsers."""
    p = subparsers.add_parser(
        "list", help="the benchmarks: classes, counts per split, references",
        description="List the benchmarks of the registry: classes, rows per published split "
        "(train, validation, test) and the reference each class is resolved against.")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser(
        "references", help="the reference assemblies and their cache state",
        description="List the reference FASTA files: key, kind, size, whether the cache holds them, source URL.")
    p.add_argument("--json", action="store_true", help="print the references as JSON")
    p.add_argument("--cache-dir", help="gbhub cache (default $GBHUB_CACHE or ~/.cache/gbhub)")
    p.set_defaults(func=cmd_references)

    p = subparsers.add_parser(
        "build",
        help="resolve benchmarks into a Hub-layout folder of Parquet + card",
        description="Build benchmarks into OUT (Parquet per config and split, README.md card). "
        "Online by default (coordinates at the pinned upstream commit, Ensembl references); "
        "offline with --coordinates and --reference.",
    )
    p.add_argument("--out", required=True, help="Hub-layout output folder (other configs are kept)")
    add_build_options(p, "build")
    p.add_argument("--spec", metavar="FILE",
                   help="rebuild a benchmark made by `gbhub create` from its specs/NAME.yaml (inputs next to it)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    build_windows.add_arguments(p)
    p.set_defaults(func=cmd_build)


def add_build_options(p: argparse.ArgumentParser, verb: str) -> None:
    """The benchmark selection and build inputs `gbhub build` and `gbhub audit` share."""
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to {verb} (see `gbhub list`)")
    p.add_argument("--all", action="store_true", help=f"{verb} all nine upstream benchmarks")
    p.add_argument("--coordinates", metavar="DIR",
                   help="local copy of upstream `datasets/` (verified against the pinned sha256)")
    p.add_argument("--reference", action="append", metavar="KEY=PATH",
                   help="local FASTA (.fa, .fa.gz, bgzip) for a reference key or assembly; repeatable")
    p.add_argument("--cache-dir", help="gbhub cache (default $GBHUB_CACHE or ~/.cache/gbhub)")
    p.add_argument("--seed", type=seed_int, default=DEFAULT_SEED,
                   help=f"seed of the stratified validation split (when a benchmark is built; default {DEFAULT_SEED})")
    p.add_argument("--num-proc", type=positive_int, default=None, help="worker processes for extraction")


def selected_names(args: argparse.Namespace) -> list[str]:
    """The benchmarks named on the command line (or all nine with --all), checked against the registry."""
    if args.all and args.names:
        _usage_error(args, "give benchmark names or --all, not both")
    names = upstream_benchmarks() if args.all else list(args.names)
    if not names:
        _usage_error(args, "name a benchmark (see `gbhub list`) or pass --all")
    for name in names:
        get_benchmark(name)  # fail on a typo before any work
    return names


def check_inputs_used(names: list[str], coordinates: str | None, reference_items: list[str] | None) -> None:
    """Refuse `--coordinates` or a `--reference KEY=PATH` that none of the benchmarks `names` reads.

    An unused input is almost always a mistake (a typo in the key, the wrong release), and ignoring it
    would download the reference it was meant to replace.

    Raises:
        UnusedInputError: one line naming the input, what the benchmarks use instead, and the fix.
    """
    from gbhub.builders.references import parse_reference_args  # lazy: references -> genome imports pandas and pyarrow

    specs = [get_benchmark(name) for name in names]
    if coordinates is not None and not any(spec.reads_coordinates for spec in specs):
        raise UnusedInputError(
            f"--coordinates {coordinates}: {', '.join(names)} {'is' if len(names) == 1 else 'are'} generated in "
            "code and read no coordinate tables; drop --coordinates"
        )
    used = {key for spec in specs for key in spec.reference_keys}
    for item in reference_items or []:
        keys = set(parse_reference_args([item]))
        if not keys & used:
            raise UnusedInputError(
                f"--reference {item}: none of {', '.join(names)} uses {item.partition('=')[0]} (they use "
                f"{', '.join(sorted(used))}); drop it or fix the key (see `gbhub list` and `gbhub references`)"
            )


def _usage_error(args: argparse.Namespace, message: str) -> None:
    """A command-line mistake: one line, exit status 2, like argparse's own errors."""
    print(f"gbhub {args.command}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def benchmark_rows() -> list[dict]:
    rows = []
    for spec in registry().values():
        rows.append({
            "name": spec.name,
            "classes": list(spec.classes),
            "counts": {split: dict(c) for split, c in spec.counts.items()},
            "splits": published_counts(spec.counts),
            "references": dict(spec.class_references),
        })
    return rows


def published_counts(upstream: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Rows per published split and class: validation is round(10%) of each upstream train class."""
    validation = {c: int(round(VALIDATION_FRACTION * n)) for c, n in upstream["train"].items()}
    return {
        "train": {c: n - validation[c] for c, n in upstream["train"].items()},
        "validation": validation,
        "test": dict(upstream["test"]),
    }


def _print_json(rows: list[dict]) -> int:
    json.dump(rows, sys.stdout, indent=2)
    print()
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = benchmark_rows()
    if args.json:
        return _print_json(rows)
    print(f"{'benchmark':34} {'classes':30} {'train':>8} {'valid':>7} {'test':>7}  references")
    for row in rows:
        train, valid, test = (sum(row["splits"][s].values()) for s in ("train", "validation", "test"))
        refs = ",".join(sorted(set(row["references"].values())))
        print(f"{row['name']:34} {','.join(row['classes']):30} {train:>8,} {valid:>7,} {test:>7,}  {refs}")
    return 0


def reference_rows(cache_dir=None) -> list[dict]:
    from gbhub.builders.references import (  # lazy: references -> genome imports pandas and pyarrow
        REFERENCES,
        cached_fasta,
    )

    rows = []
    for ref in REFERENCES.values():
        cached = cached_fasta(ref, cache_dir)
        rows.append({
            "key": ref.key,
            "assembly": ref.assembly,
            "kind": ref.kind,
            "url": ref.url,
            "size_bp": ref.size_bp,
            "cached": str(cached) if cached else None,
            "cached_bytes": cached.stat().st_size if cached else None,
        })
    return rows


def cmd_references(args: argparse.Namespace) -> int:
    rows = reference_rows(args.cache_dir)
    if args.json:
        return _print_json(rows)
    print(f"{'key':24} {'kind':13} {'size':>9}  {'cached':8} url")
    for row in rows:
        size = f"{row['size_bp'] / 1e6:,.0f} Mbp" if row["size_bp"] else "-"
        print(f"{row['key']:24} {row['kind']:13} {size:>9}  {'yes' if row['cached'] else 'no':8} {row['url']}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from gbhub.builders.hub_layout import card_transaction

    if args.spec:  # a user-made benchmark (`gbhub create`): its own path
        from gbhub.commands.create import cmd_build_spec  # lazy: only `build --spec` needs the create path

        return cmd_build_spec(args)
    from gbhub.builders.references import parse_reference_args  # lazy: references -> genome imports pandas

    names = selected_names(args)
    references = parse_reference_args(args.reference)
    check_inputs_used(names, args.coordinates, args.reference)
    rendered = []

    def render(out) -> None:
        from gbhub.hub_cards import dataset_card

        rendered.append(dataset_card.write_dataset_card(out))

    # One writer per folder for the whole command (taken before the heavy imports: a second writer is
    # told at once); the card is drawn once, after every build (not once per benchmark: --all would
    # redo it 9 times), or by the next command if this one is killed.
    with card_transaction(args.out, render, command=f"gbhub build {' '.join(names)}"):
        from gbhub.builders.build import build_benchmark

        for name in names:
            target = build_benchmark(
                name, args.out, coordinates_dir=args.coordinates, references=references,
                cache_dir=args.cache_dir, seed=args.seed, num_proc=args.num_proc,
                progress=not args.no_progress,
            )
            print(f"built {name} -> {target}")
            build_windows.build(args, name)
    for path in rendered:
        print(f"card -> {path}")
    print(f"load it with: datasets.load_dataset({str(args.out)!r}, {names[0]!r})")
    return 0
