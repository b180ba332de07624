"""A genome holding the 9,034 published `human_nontata_promoters` test sequences at their upstream coordinates.

The published TSV (`../shared/upstream/.../human_nontata_promoters_test.tsv.gz`) carries sequences and labels
but no ids, and its row order is neither the tables' nor the ids'. Which sequence belongs to which upstream
interval is recovered from the sequences themselves: 4,052 of the 9,034 test intervals overlap another, and
overlapping intervals share their bases. Every exact dovetail of two published sequences (>= `K` bp, either
strand) is an edge with an offset and a relative strand; each *unit* of upstream intervals linked by >= `K` bp
overlaps is then found among the published sequences by following edges with exactly its offsets, strands
and classes (backtracking; spurious edges from repeats rarely have those offsets), the most constrained
units first. A lone interval (no such overlap) is interchangeable with any other of its class: nothing in the
data tells them apart, so they get the remaining sequences of their class in a fixed order.

The genome keeps the real contig names and, within each contig, the units in upstream order, separated by
random bases; positions are compressed (a unit's upstream start maps to a compact one), so the FASTA is
~3 MB instead of 3 GB and intervals of different units that overlap by < `K` bp upstream do not share bases
here (nothing tested depends on it). `to_upstream` maps a compact position back.
"""

from __future__ import annotations

import gzip
import heapq
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

K = 32  # bp of exact overlap that links two intervals
_COMP = str.maketrans("ACGTN", "TGCAN")
_ENC = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _ENC[_b] = _i


def _rc(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


@dataclass
class NontataGenome:
    """The genome and what each published sequence should map to.

    Attributes:
        fasta: the FASTA (Ensembl contig names: `1`, `X`).
        sequences: the 9,034 published sequences, in TSV order.
        expected: per sequence: `region`, `start`, `end`, `strand` of its upstream interval.
        clusters: per contig, compact start, upstream start and length of each placed cluster.
    """

    fasta: Path
    sequences: list[str]
    expected: pd.DataFrame
    clusters: dict[str, pd.DataFrame]

    def to_upstream(self, contig: str, start: int) -> int:
        """The upstream coordinate of a compact position `start` on `contig`."""
        table = self.clusters[contig]
        i = int(np.searchsorted(table["compact"].to_numpy(), start, side="right")) - 1
        return int(start - table["compact"].iat[i] + table["upstream"].iat[i])


def _edges(seqs: list[str], length: int) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
    """`{(strand A, strand B, offset): [(sequence A, sequence B), ...]}` of exact dovetails of >= K bp.

    Strand 0 is `+` (the sequence is the genome), 1 is `-`; B starts `offset` bp after A, in genome order.
    """
    n = len(seqs)
    oriented = seqs + [_rc(s) for s in seqs]
    codes = _ENC[np.frombuffer("".join(oriented).encode(), dtype=np.uint8)].reshape(2 * n, length)
    width = length - K + 1
    kmers = np.zeros((2 * n, width), dtype=np.uint64)
    bad = np.zeros((2 * n, width), dtype=bool)
    for t in range(K):
        window = codes[:, t: t + width]
        kmers = (kmers << np.uint64(2)) | (window & 3).astype(np.uint64)
        bad |= window == 4
    # every k-mer of every oriented sequence, looked up among the prefixes (small, sorted)
    prefixes = np.flatnonzero(~bad[:, 0])
    order = np.argsort(kmers[prefixes, 0], kind="stable")
    keys, owners = kmers[prefixes, 0][order], prefixes[order]
    at = np.searchsorted(keys, kmers.ravel())
    at = np.minimum(at, len(keys) - 1)
    hit = np.flatnonzero((keys[at] == kmers.ravel()) & ~bad.ravel() & (np.arange(kmers.size) % width > 0))
    container, offset = np.divmod(hit, width)
    pairs: dict[tuple[int, int, int], list[tuple[int, int]]] = defaultdict(list)
    found = kmers.ravel()[hit]
    first, last = np.searchsorted(keys, found, side="left"), np.searchsorted(keys, found, side="right")
    for x, d, lo, hi in zip(container.tolist(), offset.tolist(), first.tolist(), last.tolist()):
        for y in owners[lo:hi].tolist():  # every sequence whose prefix is this k-mer
            if d and x % n != y % n and oriented[x][d:] == oriented[y][: length - d]:
                xs, xo, ys, yo = x % n, x // n, y % n, y // n
                pairs[(xo, yo, d)].append((xs, ys))  # x' at 0, y' at d
                pairs[(1 - yo, 1 - xo, d)].append((ys, xs))  # the same, read on the other strand
    pairs = _Pairs(pairs)
    for k, found in pairs.items():
        for a, b in dict.fromkeys(found):
            pairs.after[k, a].append(b)
            pairs.before[k, b].append(a)
    return pairs


class _Pairs(dict):
    """`{(strand A, strand B, offset): [(A, B), ...]}`, with `after[key, A]` (the Bs) and `before[key, B]`."""

    def __init__(self, *args):
        super().__init__(*args)
        self.after: dict = defaultdict(list)
        self.before: dict = defaultdict(list)


def _strong_components(starts: np.ndarray, length: int) -> list[list[int]]:
    """Indices (into position-sorted `starts`) of intervals linked by overlaps of >= K bp, each in start order."""
    parent = list(range(len(starts)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a in range(len(starts)):
        b = a + 1
        while b < len(starts) and starts[b] < starts[a] + length:
            if starts[a] + length - starts[b] >= K:
                parent[find(b)] = find(a)
            b += 1
    groups: dict[int, list[int]] = defaultdict(list)
    for a in range(len(starts)):
        groups[find(a)].append(a)
    return list(groups.values())


def _realizations(members, starts, strands, labels, pub_labels, pairs, used: set, length: int, fits):
    """Each assignment of published sequences realizing a strongly linked cluster (offsets, strands,
    classes), by backtracking; `fits(row, q, chosen)` says whether sequence `q` at interval `row` agrees
    with the bases already known and with the members chosen so far."""
    order, parent, pending = [members[0]], {}, list(members[1:])
    while pending:  # a spanning tree of >= K bp links, each member after the one it hangs on
        attached = False
        for j in list(pending):
            link = next((i for i in order if abs(int(starts[i]) - int(starts[j])) <= length - K), None)
            if link is not None:
                parent[j] = link
                order.append(j)
                pending.remove(j)
                attached = True
        if not attached:
            return

    def key(i, j):
        a, b = (i, j) if starts[i] <= starts[j] else (j, i)
        return (int(strands[a]), int(strands[b]), int(starts[b] - starts[a])), a == i

    def candidates(j, chosen):
        (k, parent_first), i = key(parent[j], j), parent[j]
        return pairs.after[k, chosen[i]] if parent_first else pairs.before[k, chosen[i]]

    def extend(step, chosen):
        if step == len(order):
            yield [chosen[m] for m in members]
            return
        j = order[step]
        for q in dict.fromkeys(candidates(j, chosen)):
            if q not in used and q not in chosen.values() and pub_labels[q] == labels[j] and fits(j, q, chosen):
                yield from extend(step + 1, {**chosen, j: q})

    (k, first_is_a), first = key(order[0], order[1]), order[0]
    for q in dict.fromkeys(pa if first_is_a else pb for pa, pb in pairs.get(k, ())):
        if q not in used and pub_labels[q] == labels[first] and fits(first, q, {}):
            yield from extend(1, {first: q})


def _options(components, starts, strands, labels, pub_labels, pairs, length, content, limit=64) -> dict:
    """Every realization (up to `limit`) of each strongly linked component; then, repeatedly, a component
    left with one realization claims its sequences, which the others' realizations may then not use."""
    def internal(row, q, chosen):  # agreement with the members chosen so far
        for m, c in chosen.items():
            d = int(starts[m]) - int(starts[row])
            if abs(d) < length:
                a, b = content(row, q), content(m, c)
                if (a[d:] != b[: length - d]) if d >= 0 else (b[-d:] != a[: length + d]):
                    return False
        return True

    options = {}
    for members in components:
        found = []
        for chosen in _realizations(members, starts, strands, labels, pub_labels, pairs, set(), length, internal):
            found.append(tuple(chosen))
            if len(found) >= limit:
                break
        options[tuple(members)] = found
    claimed: set[int] = set()
    changed = True
    while changed:
        changed = False
        for key, found in options.items():
            if len(found) == 1 and not set(found[0]) <= claimed:
                claimed |= set(found[0])
                changed = True
        for key, found in options.items():
            kept = [c for c in found if len(found) == 1 or not claimed & set(c)]
            if len(kept) != len(found):
                options[key] = kept
                changed = True
    return options


def build_nontata_genome(upstream: Path, out: Path, *, seed: int = 0) -> NontataGenome:
    """Write the genome FASTA into `out` and return it with the expected coordinates (see module docstring)."""
    published = pd.read_csv(upstream / "allison-eunse__ai4h-inspired-fm-benchmark-hub" /
                            "human_nontata_promoters_test.tsv.gz", sep="\t")
    tables = upstream / "genomic_benchmarks" / "datasets" / "human_nontata_promoters" / "test"
    table = pd.concat([pd.read_csv(tables / f"{cls}.csv.gz").assign(label=label)
                       for label, cls in enumerate(("negative", "positive"))], ignore_index=True)
    table = table.sort_values(["region", "start"], kind="stable").reset_index(drop=True)
    seqs = published["seq"].tolist()
    pub_labels = published["label"].to_numpy()
    length = len(seqs[0])
    if not all(len(s) == length for s in seqs) or not (table["end"] - table["start"] == length).all():
        raise ValueError("expected sequences and intervals of one length")
    pairs = _edges(seqs, length)
    strands = (table["strand"] == "-").to_numpy(np.int64)
    labels = table["label"].to_numpy()
    starts = table["start"].to_numpy(np.int64)
    assigned = np.full(len(table), -1, dtype=np.int64)
    oriented = {}

    def content(row, q):
        if (row, q) not in oriented:
            oriented[row, q] = seqs[q] if strands[row] == 0 else _rc(seqs[q])
        return oriented[row, q]

    # placement units: intervals linked by >= K bp overlaps (a lone interval is a unit of its own)
    units = []
    for _, group in table.groupby("region", sort=True):
        rows = group.index.to_numpy()
        units += [[int(rows[c]) for c in comp] for comp in _strong_components(starts[rows], length)]
    linked = {q for edges in pairs.values() for pair in edges for q in pair}  # sequences with a dovetail
    options = _options([u for u in units if len(u) > 1], starts, strands, labels, pub_labels, pairs, length, content)
    # most constrained first: a unit with fewer realizations left claims its sequences before the others, and
    # takes the realization that leaves the other units the most of theirs (never none, when it can)
    taken: set[int] = set()
    pending = {tuple(u) for u in units if len(u) > 1}
    holders = defaultdict(set)
    for unit in pending:
        for option in options[unit]:
            for q in option:
                holders[q].add(unit)

    def left(unit):
        return [c for c in options[unit] if not taken & set(c)]

    queue = [(len(options[u]), u) for u in pending]
    heapq.heapify(queue)
    while queue:
        count, unit = heapq.heappop(queue)
        if unit not in pending:
            continue
        choices = left(unit)
        if len(choices) != count:  # fewer than when queued: queue it again with its count now
            heapq.heappush(queue, (len(choices), unit))
            continue
        if not choices:
            raise AssertionError(f"no published sequences realize the intervals at {table.at[unit[0], 'region']}:"
                                 f"{starts[unit[0]]}")

        def cost(option):
            others = {u for q in option for u in holders[q]} & pending - {unit}
            remaining = [len([c for c in left(u) if not set(c) & set(option)]) for u in others]
            return (sum(r == 0 for r in remaining), -min(remaining, default=10**9), option)

        chosen = min(choices, key=cost) if len(choices) > 1 else choices[0]
        assigned[list(unit)] = chosen
        taken.update(chosen)
        pending.discard(unit)
    # lone intervals: the remaining sequences of their class (those without a dovetail first)
    for label in (0, 1):
        rows = [u[0] for u in units if len(u) == 1 and labels[u[0]] == label]
        free = sorted((q for q in np.flatnonzero(pub_labels == label) if q not in taken), key=lambda q: (q in linked, q))
        if len(free) != len(rows):
            raise AssertionError(f"{len(rows)} lone intervals of class {label} but {len(free)} sequences left")
        assigned[rows] = free
    if sorted(assigned.tolist()) != list(range(len(seqs))):
        raise AssertionError("a published sequence was placed twice or not at all")

    # the compact genome: the units in upstream order, random bases between and around them
    rng = np.random.default_rng(seed)
    fasta = out / "nontata_test_genome.fa.gz"
    clusters = {}
    with gzip.open(fasta, "wt", compresslevel=1) as handle:
        regions = table["region"].to_numpy(object)
        by_region = defaultdict(list)
        for unit in units:
            by_region[regions[unit[0]]].append(unit)
        for region in sorted(by_region):
            here = sorted(by_region[region], key=lambda u: starts[u[0]])
            pieces, compact, upstream_start, cursor = [], [], [], 0
            for unit in here:
                first = int(starts[unit[0]])
                block, end = "", first
                for row in unit:  # in start order: each overlaps the bases written so far at its head
                    at, text = int(starts[row]), content(row, assigned[row])
                    if block[at - first:] != text[: max(0, end - at)]:
                        raise AssertionError(f"overlapping sequences disagree at {region}:{at}")
                    block += text[max(0, end - at):]
                    end = max(end, at + length)
                gap = "".join(rng.choice(np.array(list("ACGT")), size=int(rng.integers(50, 300))).tolist())
                pieces += [gap, block]
                compact.append(cursor + len(gap))
                upstream_start.append(first)
                cursor += len(gap) + len(block)
            pieces.append("ACGT" * 50)
            sequence = "".join(pieces)
            name = region.removeprefix("chr")
            handle.write(f">{name}\n" + "\n".join(sequence[i: i + 60] for i in range(0, len(sequence), 60)) + "\n")
            clusters[name] = pd.DataFrame({"compact": compact, "upstream": upstream_start})
    order = np.argsort(assigned)
    expected = table.iloc[order][["region", "start", "end", "strand"]].reset_index(drop=True)
    return NontataGenome(fasta, seqs, expected, clusters)
