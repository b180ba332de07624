"""Fixed-width windows over regions (DeepEnhancer's data augmentation): the tiling maths and the windowed config.

A region of `L` bp is read by a model of input width `W` as windows (Min et al. 2017, Fig. 7):

- `L >= W`: windows tiled across the region every `stride` bp, the last one flush with its end;
- `L < W`: the `short` policy: `overlap` (the paper: every window that overlaps the region, reaching into
  its genomic flanks), `contain` (every window that holds the whole region), `center` (one window centred
  on it) or `start` (one window starting where the region starts).

A cap keeps at most `max_windows` of a region's windows, evenly spaced. The same offsets serve windows cut
from the genome here (`build_windows`: the rows of a `<config>_w<W>` config are windows, ids
`<region id>@w<k>`, each region's windows in its region's split) and windows cut from a sequence by
`gbhub.training.windows` (padding where the genome would be).
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import numpy as np

from gbhub.builders.errors import GBHubError

logger = logging.getLogger(__name__)

#: How a region shorter than the window is covered; `overlap` is the paper's rule.
SHORT_POLICIES = ("overlap", "contain", "center", "start")
#: Window ids are `<region id>` + this + the window's index within its region.
WINDOW_ID_SEPARATOR = "@w"


class WindowError(GBHubError, ValueError):
    """Window width, stride or cap that cannot be used, or window ids that name no region."""


def check_window_arguments(width: int, stride: int, max_windows: int | None, short: str) -> None:
    """Refuse a width, stride, cap or short-region policy that cannot tile a region.

    Raises:
        WindowError: naming the value and the fix.
    """
    if width < 1:
        raise WindowError(f"window width must be at least 1 bp, got {width}")
    if not 1 <= stride <= width:
        raise WindowError(f"window stride must be between 1 and the window width ({width} bp), got {stride}; "
                          "a larger stride would skip bases")
    if max_windows is not None and max_windows < 1:
        raise WindowError(f"the cap on windows per region must be at least 1, got {max_windows}")
    if short not in SHORT_POLICIES:
        raise WindowError(f"unknown policy for regions shorter than the window {short!r}; expected one of "
                          f"{', '.join(SHORT_POLICIES)}")


def tile_offsets(lengths, width: int, stride: int, *, max_windows: int | None = None,
                 short: str = "overlap") -> tuple[np.ndarray, np.ndarray]:
    """Window starts relative to each region's first base, vectorized over regions.

    A region of `L >= W` bp gets windows at offsets `0, s, 2s, ...` and a last one at `L - W` (flush with
    its end), so every base is seen: `1 + ceil((L - W) / s)` windows. A shorter region gets, by `short`:
    `overlap` offsets `1 - W ... L - 1` (every window sharing a base with it, `W + L - 1` positions before
    the stride), `contain` offsets `L - W ... 0`, `center` the one offset `floor((L - W) / 2)`, `start` 0.
    Negative offsets and offsets past `L - W` reach outside the region (flanks, or padding).

    Example: `L = 500, W = 300, s = 2` gives 101 windows at 0, 2, ..., 200; `L = 251, short = "center"` one
    window at offset -25 (25 bp before the region, 24 after).

    Args:
        lengths: `(n,)` region lengths in bp.
        width: window width `W` in bp.
        stride: bp between consecutive window starts.
        max_windows: keep at most this many windows per region, evenly spaced over its offsets (first and
            last kept; one window: the middle one). None keeps all.
        short: policy for regions shorter than `W` (`SHORT_POLICIES`).

    Returns:
        `(region_index, offset)`, both `(n_windows,)` int64, ordered by region, then offset.
    """
    check_window_arguments(width, stride, max_windows, short)
    lengths = np.asarray(lengths, dtype=np.int64)
    long = lengths >= width
    short_lo = {"overlap": 1 - width + 0 * lengths, "contain": lengths - width,
                "center": (lengths - width) // 2, "start": 0 * lengths}[short]
    short_hi = {"overlap": lengths - 1, "contain": 0 * lengths, "center": short_lo, "start": short_lo}[short]
    lo = np.where(long, 0, short_lo)
    hi = np.where(long, lengths - width, short_hi)
    span = hi - lo
    n = span // stride + 1 + (span % stride != 0)  # the last window flush with `hi`
    kept = n if max_windows is None else np.minimum(n, max_windows)
    region = np.repeat(np.arange(len(lengths), dtype=np.int64), kept)
    first = np.cumsum(kept) - kept
    j = np.arange(len(region), dtype=np.int64) - first[region]  # index among the region's kept windows
    n_r, kept_r = n[region], kept[region]
    if max_windows is None or max_windows >= 2:
        denominator = np.maximum(kept_r - 1, 1)
        k = np.where(n_r > kept_r, (2 * j * (n_r - 1) + denominator) // (2 * denominator), j)  # rounded evenly
    else:
        k = np.where(n_r > 1, (n_r - 1) // 2, 0)  # one window: the middle one
    return region, np.minimum(lo[region] + k * stride, hi[region])


def window_ids(region_ids, index) -> list[str]:
    """`<region id>@w<k>` for each window."""
    return [f"{r}{WINDOW_ID_SEPARATOR}{int(k)}" for r, k in zip(region_ids, index)]


def region_of(ids) -> list[str]:
    """The region id of each window id (the part before the last `@w`).

    Raises:
        WindowError: an id that is not a window id.
    """
    regions = []
    for i, window in enumerate(ids):
        region, sep, k = str(window).rpartition(WINDOW_ID_SEPARATOR)
        if not sep or not k.isdigit():
            raise WindowError(f"row {i} has id {window!r}, not a window id `<region id>{WINDOW_ID_SEPARATOR}<k>`: "
                              "build the config with `gbhub build NAME --windows-bp W`, or cut windows from the "
                              "sequences instead (`--windows-from sequences`)")
        regions.append(region)
    return regions


def window_plan(plan, contig_lengths, *, width: int, stride: int, max_windows: int | None = None,
                short: str = "overlap"):
    """Turn a split plan of regions into a split plan of windows (`gbhub.builders.plan.PLAN_COLUMNS`).

    Windows are laid out along each region's strand (offset 0 is its 5' end: `start` on `+`, `end` on
    `-`) and read from that strand, so a window's sequence is the window of the region's sequence at that
    offset, extended into the genome where it reaches past the region. Each window keeps its region's split
    and label (windows of one region never cross splits); windows that would reach past a contig end are
    dropped, never shortened.

    Args:
        plan: the regions' split plan, each split's rows contiguous.
        contig_lengths: `(len(plan),)` length of the contig (or transcript) of each region.
        width, stride, max_windows, short: see `tile_offsets`.

    Returns:
        `(windows, stats)`: the windows' plan (`id` = `<region id>@w<k>`, `row` and `table` of the region)
        and counts: `regions`, `windows`, `dropped_windows` (past a contig end), `dropped_regions` (left
        without a window).
    """
    region, offset = tile_offsets((plan["end"] - plan["start"]).to_numpy(np.int64), width, stride,
                                  max_windows=max_windows, short=short)
    starts, ends = plan["start"].to_numpy(np.int64)[region], plan["end"].to_numpy(np.int64)[region]
    minus = (plan["strand"].to_numpy() == "-")[region]
    genome_start = np.where(minus, ends - offset - width, starts + offset)  # `-`: offset counts from the end
    inside = (genome_start >= 0) & (genome_start + width <= np.asarray(contig_lengths, np.int64)[region])
    windows = plan.iloc[region[inside]].copy()
    index = (np.arange(len(region)) - np.searchsorted(region, region, side="left"))[inside]
    windows["id"] = window_ids(windows["id"].to_numpy(), index)
    windows["start"] = genome_start[inside]
    windows["end"] = genome_start[inside] + width
    windows = windows.reset_index(drop=True)
    stats = {"regions": int(len(plan)), "windows": int(inside.sum()), "dropped_windows": int((~inside).sum()),
             "dropped_regions": int(len(plan) - len(np.unique(region[inside])))}
    return windows, stats


def windows_config_name(config: str, width: int) -> str:
    """`human_enhancers_cohn` -> `human_enhancers_cohn_w300`."""
    return f"{config}_w{width}"


def build_windows(name: str, out_dir: str | os.PathLike, *, width: int, stride: int = 2,
                  max_windows: int | None = None, short: str = "overlap", coordinates_dir=None,
                  references: dict[str, Path] | None = None, cache_dir=None, num_proc: int | None = None,
                  progress: bool = True) -> Path:
    """Build `<name>_w<W>`: the windows of every region of the built config `name`, next to it in `out_dir`.

    The regions and their splits are those of `name` (its tables and the seed its provenance records), so
    a region's windows land in its split; the windows are read from the same references by the same engine
    (`extract.write_plan_config`).

    Returns:
        The windowed config's folder.

    Raises:
        WindowError: bad window arguments, or no window left in a split.
        LayoutError: `name` has not been built into `out_dir`.
    """
    from gbhub.builders.build import prepare_inputs  # lazy: imports datasets (gbhub --help stays fast)
    from gbhub.builders.extract import write_plan_config
    from gbhub.builders.genome import Genome
    from gbhub.builders.hub_layout import SPLITS, VALIDATION_FRACTION, read_provenance
    from gbhub.builders.plan import upstream_plan

    check_window_arguments(width, stride, max_windows, short)
    parent = read_provenance(out_dir, name)
    seed = (parent.get("validation") or {}).get("seed")
    if seed is None or parent.get("parent"):
        raise WindowError(f"{name} in {out_dir} is not a benchmark built by `gbhub build` (no validation seed, or "
                          "a variant): window a built benchmark")
    inputs = prepare_inputs(name, coordinates_dir=coordinates_dir, references=references, cache_dir=cache_dir,
                            progress=progress)
    plan = upstream_plan(inputs.tables, inputs.table_names, inputs.genomes, seed=seed,
                         fraction=(parent.get("validation") or {}).get("fraction", VALIDATION_FRACTION))
    built = {s: (parent.get("splits") or {}).get(s, {}).get("num_examples") for s in SPLITS}
    if any(n is not None and n != int((plan["split"] == s).sum()) for s, n in built.items()):
        raise WindowError(f"the built {name} in {out_dir} does not hold the rows its tables and seed give; rebuild "
                          f"it (`gbhub build {name} --out {out_dir}`) before windowing it")
    lengths = np.empty(len(plan), dtype=np.int64)
    for genome_dir, rows in plan.groupby("genome", sort=False).groups.items():
        genome = Genome(genome_dir)
        for region, sub in plan.loc[rows].groupby("region", sort=False).groups.items():
            contig = genome.resolve(str(region))
            lengths[plan.index.get_indexer(sub)] = contig.length if contig is not None else np.iinfo(np.int64).max
    windows, stats = window_plan(plan, lengths, width=width, stride=stride, max_windows=max_windows, short=short)
    empty = [s for s in SPLITS if not (windows["split"] == s).any()]
    if empty:
        raise WindowError(f"no {width} bp window fits in the {' and '.join(empty)} split of {name}: use a smaller "
                          "--windows-bp")
    config = windows_config_name(name, width)
    settings = {"width_bp": width, "stride_bp": stride, "max_windows_per_region": max_windows,
                "short_regions": short, "id": f"<region id>{WINDOW_ID_SEPARATOR}<k>", **stats}
    prov = copy.deepcopy(parent)
    prov.update({
        "config": config,
        "pretty_name": f"{parent['pretty_name']} ({width} bp windows)",
        "parent": name,
        "variant_note": _note(settings),
        "windows": settings,
        "splits": {s: {"num_examples": int((windows["split"] == s).sum())} for s in SPLITS},
    })
    target = write_plan_config(out_dir, config, windows, inputs.spec.classes, prov, cache_dir=cache_dir,
                               num_proc=num_proc, progress=progress)
    logger.info("built %s: %d windows of %d regions into %s", config, stats["windows"], stats["regions"], target)
    return target


def _note(s: dict) -> str:
    cap = f", at most {s['max_windows_per_region']} per region (evenly spaced)" if s["max_windows_per_region"] else ""
    short = {"overlap": "every window overlapping it", "contain": "every window containing it",
             "center": "one window centred on it", "start": "one window starting at its start"}[s["short_regions"]]
    dropped = ""
    if s["dropped_windows"]:
        dropped = (f" {s['dropped_windows']:,} windows reaching past a contig end were dropped"
                   + (f", leaving {s['dropped_regions']:,} regions without a window" if s["dropped_regions"] else "")
                   + ".")
    return (f"Each row is a {s['width_bp']} bp window of a region (DeepEnhancer's data augmentation): windows every "
            f"{s['stride_bp']} bp across regions at least {s['width_bp']} bp long, the last flush with the region's "
            f"end; for shorter regions {short}{cap}. Ids are `<region id>{WINDOW_ID_SEPARATOR}<k>`; a region's "
            f"windows are in its region's split. {s['regions']:,} regions, {s['windows']:,} windows.{dropped}")
