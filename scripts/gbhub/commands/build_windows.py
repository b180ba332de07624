"""`gbhub build NAME --windows-bp W`: also build `NAME_wW`, the W-bp windows of every region (DeepEnhancer)."""

from __future__ import annotations

import argparse

from gbhub.builders.windows import SHORT_POLICIES
from gbhub.commands.argtypes import positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The window options of `gbhub build`."""
    group = p.add_argument_group("windows over each region (DeepEnhancer's data augmentation)")
    group.add_argument("--windows-bp", type=positive_int, metavar="W",
                       help="also build NAME_wW: W-bp windows tiled over every region from the reference, ids "
                            "<region id>@w<k>, each in its region's split (train with `gbhub train deepenhancer "
                            "--windows-from dataset`)")
    group.add_argument("--window-stride-bp", type=positive_int, default=2,
                       help="bp between window starts (default: 2, the paper's)")
    group.add_argument("--max-windows-per-region", type=positive_int, default=None, metavar="N",
                       help="keep at most N windows per region, evenly spaced (default: all)")
    group.add_argument("--window-flank", choices=SHORT_POLICIES, default="overlap",
                       help="regions shorter than W: overlap = every window sharing a base with the region (the "
                            "paper's), contain = every window holding all of it, center = one centred window, "
                            "start = one window from its start (default: overlap)")


def build(args: argparse.Namespace, name: str) -> None:
    """Build the windows of the just-built benchmark `name` when `--windows-bp` was given."""
    if not getattr(args, "windows_bp", None):
        return
    from gbhub.builders.windows import build_windows

    target = build_windows(name, args.out, width=args.windows_bp, stride=args.window_stride_bp,
                           max_windows=args.max_windows_per_region, short=args.window_flank,
                           coordinates_dir=args.coordinates, references=_references(args), cache_dir=args.cache_dir,
                           num_proc=args.num_proc, progress=not args.no_progress)
    print(f"built {target.name} (windows of {name}) -> {target}")


def _references(args: argparse.Namespace):
    from gbhub.builders.references import parse_reference_args

    return parse_reference_args(args.reference)
