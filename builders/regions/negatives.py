"""Background regions matched to positives on length, GC content and (soft-masked references) repeat fraction.

Every positive falls in a *cell*: its pool (the split whose contigs it may take negatives from), its
length, its GC bin and its repeat bin (bins `1/ceil(1/tolerance)` wide, computed in integers, so a
negative in the same cell differs by less than the tolerance). Each cell needs `ratio` negatives per
positive of the same length, drawn without overlap from the pool's *domain*: its contigs minus the
positives ± a margin, the exclusion BEDs and runs of N longer than the allowed N fraction permits.

Draws are guided by GC, like gkmSVM's `genNullSeqs` and tangermeme's matched loci: the genome is tiled
once (1 kb tiles with their GC fraction) and a cell draws window positions in tiles whose GC lies near the
cell's, widening the GC window and drawing more in each round a cell stays short. A window is accepted when
its own length/GC/repeat cell still needs negatives, so no draw is wasted on one cell that another needs.
Same inputs and seed, same negatives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from gbhub.builders.errors import GBHubError
from gbhub.builders.genome import Genome
from gbhub.builders.regions.options import NegativeOptions  # noqa: F401 (defined there, light, for the CLI)

logger = logging.getLogger(__name__)

TILE = 1000  # bp per GC tile of the guide map
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
_WIDEN = (1.0, 2.5, 6.0, 15.0, 1e9)  # guide GC window, in tolerances, per round a cell stays short
_BATCH_BASES = 1 << 25  # bases fetched per composition batch
_ROUND_DRAWS = 1 << 22  # candidate windows per round at most
MAX_WIDENING = 3  # bins each way a cell short of background windows may take negatives from
_GC = np.zeros(256, dtype=np.int32)
_GC[np.frombuffer(b"GCSgcs", dtype=np.uint8)] = 1
_NOT_ACGT = np.ones(256, dtype=np.int32)
_NOT_ACGT[np.frombuffer(b"ACGTacgt", dtype=np.uint8)] = 0


class NegativeSamplingError(GBHubError, ValueError):
    """Matched negatives cannot be drawn as asked; says which positives and what to relax."""


class Layout:
    """Flat coordinates over a prepared reference: `flat = contig.offset + position`."""

    def __init__(self, genome: Genome):
        contigs = list(genome.contigs.values())
        self.names = np.array([c.name for c in contigs], dtype=object)
        self.offsets = np.array([c.offset for c in contigs], dtype=np.int64)
        self.lengths = np.array([c.length for c in contigs], dtype=np.int64)
        self.index = {c.name: i for i, c in enumerate(contigs)}

    def contig_of(self, flat: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offsets, flat, side="right") - 1


# --------------------------------------------------------------------------------------------- intervals


def merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of intervals as sorted, disjoint, non-touching intervals."""
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(s)) - 1
    return s[first].astype(np.int64), reach[last].astype(np.int64)


def subtract(starts: np.ndarray, ends: np.ndarray, cut_starts: np.ndarray, cut_ends: np.ndarray):
    """Sorted disjoint intervals minus merged intervals `cut` (both sorted, disjoint)."""
    # the gaps between cuts, then their intersection with each base interval
    gap_s = np.concatenate([[np.iinfo(np.int64).min], cut_ends])
    gap_e = np.concatenate([cut_starts, [np.iinfo(np.int64).max]])
    lo = np.searchsorted(gap_e, starts, side="right")  # first gap ending after the base start
    hi = np.searchsorted(gap_s, ends, side="left")  # gaps starting before the base end
    count = np.maximum(hi - lo, 0)
    base = np.repeat(np.arange(len(starts)), count)
    gap = np.repeat(lo - np.cumsum(np.concatenate([[0], count[:-1]])), count) + np.arange(count.sum())
    s = np.maximum(starts[base], gap_s[gap])
    e = np.minimum(ends[base], gap_e[gap])
    keep = e > s
    return s[keep], e[keep]


def covered(starts: np.ndarray, ends: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Bases of `[lo, hi)` covered by sorted disjoint intervals, for each query."""
    if len(starts) == 0:
        return np.zeros(len(lo), dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(ends - starts)])

    def upto(x):  # covered bases in [-inf, x)
        i = np.searchsorted(starts, x, side="right") - 1
        j = np.maximum(i, 0)
        inside = np.clip(x - starts[j], 0, ends[j] - starts[j])
        return np.where(i >= 0, before[j] + inside, 0)

    return upto(hi) - upto(lo)


# ------------------------------------------------------------------------------------------- composition


def composition(genome: Genome, layout: Layout, flat: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(GC count, non-ACGT count)` of each window `[flat, flat + length)` (forward strand), int64."""
    gc = np.zeros(len(flat), dtype=np.int64)
    bad = np.zeros(len(flat), dtype=np.int64)
    contig = layout.contig_of(flat)
    for lo, hi in _batches(lengths, _BATCH_BASES):
        start = flat[lo:hi] - layout.offsets[contig[lo:hi]]
        seqs = genome.fetch(layout.names[contig[lo:hi]], start, start + lengths[lo:hi], np.zeros(hi - lo, dtype=bool))
        width = np.int64 if pa.types.is_large_string(seqs.type) else np.int32
        offsets = np.frombuffer(seqs.buffers()[1], dtype=width)[seqs.offset: seqs.offset + len(seqs) + 1]
        data = np.frombuffer(seqs.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
        starts = (offsets[:-1] - offsets[0]).astype(np.int64)
        gc[lo:hi] = np.add.reduceat(_GC[data], starts)
        bad[lo:hi] = np.add.reduceat(_NOT_ACGT[data], starts)
    return gc, bad


def _batches(lengths: np.ndarray, budget: int):
    """`[lo, hi)` row ranges of about `budget` bases each (at least one row each)."""
    ends = np.cumsum(lengths)
    lo = 0
    while lo < len(lengths):
        base = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + budget, side="right")))
        yield lo, hi
        lo = hi


def gc_tiles(genome: Genome, layout: Layout, contigs: np.ndarray, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """`(flat tile starts, GC fraction)` of the `TILE` bp tiles of `contigs` (tiles of only N left out)."""
    starts, fractions = [], []
    total = int(layout.lengths[contigs].sum())
    bar = tqdm(total=total, desc="GC map", unit="bp", unit_scale=True, disable=not progress)
    for c in contigs:
        contig = genome.contigs[layout.names[c]]
        for pos, block in genome.iter_chunks(contig, TILE * 65536):
            n = -(-len(block) // TILE)
            padded = np.zeros(n * TILE, dtype=np.uint8)
            padded[: len(block)] = block
            gc = _GC[padded].reshape(n, TILE).sum(axis=1)
            acgt = TILE - _NOT_ACGT[padded].reshape(n, TILE).sum(axis=1)
            acgt[-1] -= n * TILE - len(block)  # padding counted as non-ACGT above
            keep = acgt > 0
            starts.append(layout.offsets[c] + pos + TILE * np.flatnonzero(keep))
            fractions.append(gc[keep] / acgt[keep])
            bar.update(len(block))
    bar.close()
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(starts).astype(np.int64), np.concatenate(fractions)


# -------------------------------------------------------------------------------------------- sampling


@dataclass
class Positives:
    """The regions negatives are matched to.

    Attributes:
        flat: `(n,)` flat start of each region.
        length: `(n,)` bp.
        pool: `(n,)` int pool (split) index: negatives of a positive come from its pool's contigs.
        where: `(n,)` each region as its input names it (e.g. `regions.bed, line 12 (chr1:100-400)`), for
            messages; None: `positive <i>`.
    """

    flat: np.ndarray
    length: np.ndarray
    pool: np.ndarray
    where: np.ndarray | None = None


@dataclass
class Negatives:
    """Drawn negatives: `flat`, `length`, `pool` and `widening` (0: same cell as its positive; w: within w bins
    each way) per row, in genome order, and the match report."""

    flat: np.ndarray
    length: np.ndarray
    pool: np.ndarray
    widening: np.ndarray
    report: dict


def sample_negatives(
    genome: Genome,
    positives: Positives,
    pool_contigs: dict[int, np.ndarray],
    excluded: tuple[np.ndarray, np.ndarray],
    options: NegativeOptions,
    *,
    seed: int,
    soft_mask: tuple[np.ndarray, np.ndarray] | None = None,
    pool_names: dict[int, str] | None = None,
    progress: bool = True,
) -> Negatives:
    """Draw `options.ratio` matched negatives per positive.

    Args:
        genome: the prepared reference.
        positives: the regions to match (every class that is not generated).
        pool_contigs: contig indices (`Layout` order) each pool may draw from.
        excluded: flat intervals no negative may touch besides the positives ± margin (exclusion BEDs,
            N runs), any order.
        options: see `NegativeOptions`.
        seed: seed of `numpy.random.default_rng`.
        soft_mask: flat soft-masked intervals (sorted, disjoint) when the repeat fraction is matched.
        pool_names: pool names for messages and the report.
        progress: show progress bars.

    Raises:
        NegativeSamplingError: a positive holds more N than `options.max_n_fraction` (no negative could match
            it), a pool has no room, or some cells stay short after `max_draws` draws per
            negative (too few background windows of that length and GC).
    """
    layout = Layout(genome)
    pool_names = pool_names or {p: str(p) for p in pool_contigs}
    gc_bins, rep_bins = options.bins()
    match_repeats = soft_mask is not None and options.repeat_tolerance is not None
    rng = np.random.default_rng(seed)

    # positives' cells
    lengths = positives.length.astype(np.int64)
    gc, bad = composition(genome, layout, positives.flat, lengths)
    _check_n(bad, lengths, positives, options)
    rep = covered(*soft_mask, positives.flat, positives.flat + lengths) if soft_mask is not None else None
    pos_cells = _cells(positives.pool, lengths, gc, rep if match_repeats else None, gc_bins, rep_bins)
    cells = pos_cells.groupby(["pool", "length", "gbin", "rbin"], sort=True).size().rename("need").reset_index()
    cells["need"] *= options.ratio

    # the domain of each pool
    margin = options.margin
    contig = layout.contig_of(positives.flat)
    lo = np.maximum(positives.flat - margin, layout.offsets[contig])
    hi = np.minimum(positives.flat + lengths + margin, layout.offsets[contig] + layout.lengths[contig])
    cut = merge(np.concatenate([lo, excluded[0]]), np.concatenate([hi, excluded[1]]))
    domains, tiles = {}, {}
    all_contigs = np.unique(np.concatenate([v for v in pool_contigs.values()] or [np.zeros(0, np.int64)]))
    tile_start, tile_gc = gc_tiles(genome, layout, all_contigs, progress)
    tile_contig = layout.contig_of(tile_start)
    for pool, contigs in pool_contigs.items():
        contigs = np.sort(np.asarray(contigs, dtype=np.int64))
        s, e = subtract(layout.offsets[contigs], layout.offsets[contigs] + layout.lengths[contigs], *cut)
        domains[pool] = (s, e)
        on = np.isin(tile_contig, contigs)
        order = np.argsort(tile_gc[on], kind="stable")
        tiles[pool] = (tile_start[on][order], tile_gc[on][order])
        if (cells["pool"] == pool).any() and (e - s).sum() == 0:
            raise NegativeSamplingError(
                f"no room for negatives in {pool_names[pool]}: its contigs are covered by positives ± "
                f"{margin} bp, exclusions and N runs; lower --margin or pass fewer exclusions")

    # draw in rounds
    cells["short"] = 0  # rounds the cell has stayed short at its widening
    cells["level"] = 0  # widening: bins each way the cell also takes negatives from
    cells["drawn"] = 0
    cells["max_draws"] = cells["need"] * options.max_draws
    keys = ["pool", "length", "gbin", "rbin"]
    accepted: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    acc_s, acc_e = np.zeros(0, np.int64), np.zeros(0, np.int64)
    total_draws, rounds = 0, 0
    bar = tqdm(total=int(cells["need"].sum()), desc="matched negatives", unit="region", disable=not progress)
    while (cells["need"] > 0).any():
        exhausted = (cells["need"] > 0) & (cells["drawn"] >= cells["max_draws"])
        if (exhausted & (cells["level"] >= MAX_WIDENING)).any():
            _give_up(cells[exhausted & (cells["level"] >= MAX_WIDENING)], pool_names, gc_bins, options, match_repeats)
        cells.loc[exhausted, "level"] += 1
        cells.loc[exhausted, ["drawn", "short"]] = 0
        open_cells = cells[cells["need"] > 0]
        rounds += 1
        draws = np.minimum((open_cells["need"] * 3 * 3 ** open_cells["short"].clip(upper=8)).to_numpy(np.int64),
                           (open_cells["max_draws"] - open_cells["drawn"]).to_numpy(np.int64))
        if draws.sum() > _ROUND_DRAWS:  # bound memory: scale the round down, the next one draws the rest
            draws = np.ceil(draws * (_ROUND_DRAWS / draws.sum())).astype(np.int64)
        cand = _draw(rng, open_cells, draws, tiles, domains, gc_bins)
        cells.loc[open_cells.index, "drawn"] += draws
        total_draws += int(draws.sum())
        flat, length, pool = cand
        if len(flat):
            cgc, cbad = composition(genome, layout, flat, length)
            crep = covered(*soft_mask, flat, flat + length) if match_repeats else None
            ok = cbad <= np.floor(options.max_n_fraction * length + 1e-9)
            cand_cells = _cells(pool, length, cgc, crep, gc_bins, rep_bins)
            flat, length, pool, cand_cells = flat[ok], length[ok], pool[ok], cand_cells[ok].reset_index(drop=True)
            chosen = _choose(cand_cells, cells, flat, length, acc_s, acc_e)
            target = cand_cells.iloc[chosen][keys].reset_index(drop=True)
            level = np.zeros(len(chosen), dtype=np.int64)
            if len(chosen):
                acc_s, acc_e = merge(np.concatenate([acc_s, flat[chosen]]),
                                     np.concatenate([acc_e, flat[chosen] + length[chosen]]))
            index = cells.set_index(keys).index
            taken = target.groupby(keys).size().reindex(index, fill_value=0).to_numpy()
            wide = cells[(cells["need"] - taken > 0) & (cells["level"] > 0)]
            if len(wide):  # widened cells take what is left within their widening, exact ones first
                extra, extra_target, extra_level = _widened(wide, cells["need"].to_numpy() - taken, cand_cells,
                                                            chosen, flat, length, acc_s, acc_e)
                if len(extra):
                    chosen = np.concatenate([chosen, extra])
                    target = pd.concat([target, extra_target], ignore_index=True)
                    level = np.concatenate([level, extra_level])
                    acc_s, acc_e = merge(np.concatenate([acc_s, flat[extra]]),
                                         np.concatenate([acc_e, flat[extra] + length[extra]]))
            if len(chosen):
                take = target.groupby(keys).size().reindex(index, fill_value=0).to_numpy()
                cells["need"] -= take
                accepted.append((flat[chosen], length[chosen], pool[chosen], level))
                bar.update(int(take.sum()))
        cells.loc[cells["need"] > 0, "short"] += 1
    bar.close()
    neg_flat = np.concatenate([a[0] for a in accepted]) if accepted else np.zeros(0, np.int64)
    neg_len = np.concatenate([a[1] for a in accepted]) if accepted else np.zeros(0, np.int64)
    neg_pool = np.concatenate([a[2] for a in accepted]) if accepted else np.zeros(0, np.int64)
    neg_level = np.concatenate([a[3] for a in accepted]) if accepted else np.zeros(0, np.int64)
    order = np.lexsort((neg_len, neg_flat))
    neg_flat, neg_len, neg_pool, neg_level = neg_flat[order], neg_len[order], neg_pool[order], neg_level[order]
    ngc, nbad = composition(genome, layout, neg_flat, neg_len)
    nrep = covered(*soft_mask, neg_flat, neg_flat + neg_len) if soft_mask is not None else None
    report = _report(options, match_repeats, soft_mask is not None, gc_bins, rep_bins, lengths, gc, rep, bad,
                     neg_len, ngc, nrep, nbad, positives.pool, neg_pool, pool_names, domains, total_draws, rounds,
                     neg_level)
    return Negatives(neg_flat, neg_len, neg_pool, neg_level, report)


def _check_n(bad: np.ndarray, lengths: np.ndarray, positives: Positives, options: NegativeOptions) -> None:
    """Refuse positives holding more N (any non-ACGT base) than a negative may: none could be matched to them."""
    over = bad > np.floor(options.max_n_fraction * lengths + 1e-9)
    if not over.any():
        return
    i = int(np.argmax(over))
    where = positives.where[i] if positives.where is not None else f"positive {i + 1}"
    more = f" (and {int(over.sum()) - 1:,} more)" if over.sum() > 1 else ""
    raise NegativeSamplingError(
        f"{where}: {bad[i]:,} of its {lengths[i]:,} bases are N ({bad[i] / lengths[i]:.1%}), over --max-n-fraction "
        f"{options.max_n_fraction:g}{more}: no matched negative may hold that much N; drop the region(s) (e.g. "
        "bedtools intersect -v with the reference's gaps) or raise --max-n-fraction")


def _cells(pool, length, gc, rep, gc_bins, rep_bins) -> pd.DataFrame:
    length = np.asarray(length, dtype=np.int64)
    return pd.DataFrame({
        "pool": np.asarray(pool, dtype=np.int64),
        "length": length,
        "gbin": gc * gc_bins // length,  # integer arithmetic: the same bin on every machine
        "rbin": rep * rep_bins // length if rep is not None else np.zeros(len(length), dtype=np.int64),
    })


def _draw(rng, open_cells: pd.DataFrame, draws: np.ndarray, tiles, domains, gc_bins):
    """Candidate windows for each short cell: positions in tiles of nearby GC, kept when inside the domain."""
    flats, lengths, pools = [], [], []
    columns = ["pool", "length", "gbin", "short", "level"]
    for (pool, length, gbin, short, level), n in zip(open_cells[columns].itertuples(index=False), draws):
        if n <= 0:
            continue
        t_start, t_gc = tiles[pool]
        dom_s, dom_e = domains[pool]
        if len(t_start) == 0 or len(dom_s) == 0:
            continue
        width = max(_WIDEN[min(int(short), len(_WIDEN) - 1)], level + 1) / gc_bins
        lo = np.searchsorted(t_gc, gbin / gc_bins - width, side="left")
        hi = np.searchsorted(t_gc, (gbin + 1) / gc_bins + width, side="right")
        if hi <= lo:
            continue
        tile = rng.integers(lo, hi, size=int(n))
        start = t_start[tile] + rng.integers(0, TILE, size=int(n)) - int(length) // 2
        inside = np.searchsorted(dom_s, start, side="right") - 1
        ok = (inside >= 0) & (start + length <= dom_e[np.maximum(inside, 0)])
        flats.append(start[ok])
        lengths.append(np.full(int(ok.sum()), length, dtype=np.int64))
        pools.append(np.full(int(ok.sum()), pool, dtype=np.int64))
    if not flats:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(flats), np.concatenate(lengths), np.concatenate(pools)


def _choose(cand_cells: pd.DataFrame, cells: pd.DataFrame, flat, length, acc_s, acc_e) -> np.ndarray:
    """Indices of candidates to accept: in a cell that still needs them (first come, first served), not
    overlapping each other (the first in genome order stays) nor an accepted negative."""
    keys = ["pool", "length", "gbin", "rbin"]
    need = cand_cells.merge(cells[keys + ["need"]], on=keys, how="left")["need"].fillna(0).to_numpy(np.int64)
    rank = cand_cells.groupby(keys, sort=False).cumcount().to_numpy()
    wanted = np.flatnonzero(rank < need)
    if len(wanted) == 0:
        return wanted
    s, e = flat[wanted], flat[wanted] + length[wanted]
    order, clear = _clear_of_each_other(s, e, acc_s, acc_e)
    return np.sort(wanted[order[clear]])


def _clear_of_each_other(s: np.ndarray, e: np.ndarray, acc_s: np.ndarray, acc_e: np.ndarray):
    """Candidate intervals `[s, e)` in start order, and which of them overlap neither an earlier candidate nor
    an accepted interval (`acc_s`/`acc_e`, sorted, disjoint): `(order, clear)`."""
    order = np.argsort(s, kind="stable")
    reach = np.maximum.accumulate(e[order])
    clear = np.ones(len(order), dtype=bool)
    clear[1:] = s[order][1:] >= reach[:-1]
    if len(acc_s):
        j = np.searchsorted(acc_s, e[order], side="left") - 1
        clear &= ~((j >= 0) & (acc_e[np.maximum(j, 0)] > s[order]))
    return order, clear


def _widened(wide: pd.DataFrame, need: np.ndarray, cand_cells: pd.DataFrame, chosen: np.ndarray, flat, length,
             acc_s, acc_e):
    """Candidates for cells widened to `level` bins each way: `(indices, target cells, widening)`."""
    free = np.ones(len(cand_cells), dtype=bool)
    free[chosen] = False
    c_pool, c_len = cand_cells["pool"].to_numpy(), cand_cells["length"].to_numpy()
    c_g, c_r = cand_cells["gbin"].to_numpy(), cand_cells["rbin"].to_numpy()
    picks, targets, levels = [], [], []
    for i, row in zip(wide.index, wide.itertuples(index=False)):
        distance = np.maximum(np.abs(c_g - row.gbin), np.abs(c_r - row.rbin))
        fit = np.flatnonzero(free & (c_pool == row.pool) & (c_len == row.length) & (distance <= row.level))
        fit = fit[np.argsort(distance[fit], kind="stable")][: int(need[i])]  # nearest bins first
        free[fit] = False
        picks.append(fit)
        targets += [(row.pool, row.length, row.gbin, row.rbin)] * len(fit)
        levels.append(distance[fit])
    picks = np.concatenate(picks) if picks else np.zeros(0, np.int64)
    levels = np.concatenate(levels) if levels else np.zeros(0, np.int64)
    if not len(picks):
        return picks, pd.DataFrame(columns=["pool", "length", "gbin", "rbin"]), levels
    s, e = flat[picks], flat[picks] + length[picks]
    order, clear = _clear_of_each_other(s, e, acc_s, acc_e)
    keep = np.sort(order[clear])
    target = pd.DataFrame(targets, columns=["pool", "length", "gbin", "rbin"]).iloc[keep].reset_index(drop=True)
    return picks[keep], target.astype(np.int64), levels[keep]


def _give_up(exhausted: pd.DataFrame, pool_names, gc_bins, options: NegativeOptions, match_repeats: bool):
    short = int(exhausted["need"].sum())
    first = exhausted.iloc[0]
    gc_lo, gc_hi = first["gbin"] / gc_bins, (first["gbin"] + 1) / gc_bins
    repeats = " and repeat fraction" if match_repeats else ""
    raise NegativeSamplingError(
        f"{short:,} negative(s) could not be matched after {options.max_draws:,} draws each at up to "
        f"{MAX_WIDENING} bins from their positives' cell, e.g. "
        f"{int(first['length'])} bp with GC {gc_lo:.2f}-{gc_hi:.2f}{repeats} in {pool_names[int(first['pool'])]}: "
        f"the background has too few such windows; pass a wider --gc-tolerance"
        f"{' or --repeat-tolerance' if match_repeats else ''}, a lower --negative-ratio, or drop these regions")


def _quantiles(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in np.quantile(values, QUANTILES)] if len(values) else []


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (largest gap between the empirical CDFs)."""
    if not len(a) or not len(b):
        return 0.0
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return round(float(np.abs(fa - fb).max()), 4)


def _report(options, match_repeats, soft_masked, gc_bins, rep_bins, pos_len, pos_gc, pos_rep, pos_bad,
            neg_len, neg_gc, neg_rep, neg_bad, pos_pool, neg_pool, pool_names, domains, draws, rounds,
            widening) -> dict:
    """The achieved match: quantiles (a Q-Q table) of length, GC and repeat fraction per class and pool."""

    def features(length, gc, rep, bad):
        out = {"length": length.astype(np.float64), "gc": gc / length, "n_fraction": bad / length}
        if rep is not None:
            out["repeat"] = rep / length
        return out

    pos = features(pos_len, pos_gc, pos_rep, pos_bad)
    neg = features(neg_len, neg_gc, neg_rep, neg_bad)

    def compare(pmask, nmask):
        out = {}
        for name in pos:
            p, n = pos[name][pmask], neg[name][nmask]
            qp, qn = _quantiles(p), _quantiles(n)
            out[name] = {
                "positive": qp, "negative": qn,
                "max_quantile_difference": round(max((abs(a - b) for a, b in zip(qp, qn)), default=0.0), 4),
                "ks": _ks(p, n),
                "mean": {"positive": round(float(p.mean()), 4) if len(p) else None,
                         "negative": round(float(n.mean()), 4) if len(n) else None},
            }
        return out

    return {
        "ratio": options.ratio,
        "margin": options.margin,
        "max_n_fraction": options.max_n_fraction,
        "background": options.background,
        "soft_masked_reference": soft_masked,
        "matched_on": ["length", "gc"] + (["repeat"] if match_repeats else []),
        "tolerance": {"length": 0, "gc": round(1 / gc_bins, 6), "repeat": round(1 / rep_bins, 6) if match_repeats
                      else None},
        # negatives taken from neighbouring bins where the background had too few windows in the positives' one
        "widened": {str(w): int((widening == w).sum()) for w in range(1, MAX_WIDENING + 1) if (widening == w).any()},
        "achieved_tolerance": {"length": 0, "gc": round((int(widening.max(initial=0)) + 1) / gc_bins, 6),
                               "repeat": round((int(widening.max(initial=0)) + 1) / rep_bins, 6) if match_repeats
                               else None},
        "quantiles": list(QUANTILES),
        "all": compare(np.ones(len(pos_len), bool), np.ones(len(neg_len), bool)),
        "by_pool": {pool_names[p]: compare(pos_pool == p, neg_pool == p) for p in sorted(domains)},
        "domain_bp": {pool_names[p]: int((e - s).sum()) for p, (s, e) in sorted(domains.items())},
        "positives": int(len(pos_len)),
        "negatives": int(len(neg_len)),
        "draws": int(draws),
        "rounds": int(rounds),
    }
