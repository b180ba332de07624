"""Splits of a user-made benchmark: whole contigs held out (default), or random, stratified, overlap-grouped."""

from __future__ import annotations

import numpy as np

from gbhub.builders.assemblies import canonical_contig
from gbhub.builders.audit.variants import CHROMOSOME_SPLITS
from gbhub.builders.errors import GBHubError
from gbhub.builders.genome import Genome


class SplitError(GBHubError, ValueError):
    """A split cannot be made as asked; says what to pass instead."""


def holdout_contigs(genome: Genome, assembly: str, given: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """The contigs held out for validation and test, canonical names (`chr6` and `6` give `6`).

    Args:
        genome: the reference (every named contig must be in it).
        assembly: its assembly; without `given`, its hold-out is `CHROMOSOME_SPLITS[assembly]` (the
            audit's `_chromsplit` contigs).
        given: `{"validation": [...], "test": [...]}` from `--split-contigs`, or None.

    Raises:
        SplitError: no default hold-out for the assembly, a contig absent from the reference, a contig
            in both splits, or a split missing.
    """
    if given is None:
        if assembly not in CHROMOSOME_SPLITS:
            raise SplitError(
                f"no default chromosome hold-out for assembly {assembly!r} (defaults: "
                f"{', '.join(CHROMOSOME_SPLITS)}): pass --split-contigs validation=CONTIG,... test=CONTIG,... "
                "or --split random")
        return {split: sorted(CHROMOSOME_SPLITS[assembly][split], key=_contig_order) for split in ("validation", "test")}
    out = {}
    for split in ("validation", "test"):
        names = given.get(split) or []
        if not names:
            raise SplitError(f"--split-contigs names no {split} contig: pass {split}=CONTIG[,CONTIG...]")
        for name in names:
            if genome.resolve(name) is None:
                raise SplitError(f"--split-contigs {split}: contig {name!r} is not in the reference {genome.path}; "
                                 f"its records are {', '.join(list(genome.contigs)[:8])}, ...")
        out[split] = sorted({canonical_contig(n) for n in names}, key=_contig_order)
    both = set(out["validation"]) & set(out["test"])
    if both:
        raise SplitError(f"--split-contigs puts {', '.join(sorted(both))} in both validation and test")
    return out


def _contig_order(name: str):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def chromosome_split(contigs: np.ndarray, holdouts: dict[str, list[str]]) -> np.ndarray:
    """`(n,)` split of each row from its contig (record names): held-out contigs, every other one train."""
    canonical = np.array([canonical_contig(str(c)) for c in contigs], dtype=object)
    split = np.full(len(contigs), "train", dtype=object)
    for target in ("validation", "test"):
        split[np.isin(canonical, holdouts[target])] = target
    return split


def overlap_clusters(flat_start: np.ndarray, flat_end: np.ndarray) -> np.ndarray:
    """`(n,)` cluster id of each interval: intervals overlapping (transitively) share one."""
    n = len(flat_start)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(flat_start, kind="stable")
    reach = np.maximum.accumulate(flat_end[order])
    new = np.ones(n, dtype=bool)
    new[1:] = flat_start[order][1:] >= reach[:-1]
    cluster = np.empty(n, dtype=np.int64)
    cluster[order] = np.cumsum(new) - 1
    return cluster


def random_split(cluster: np.ndarray, labels: np.ndarray, *, seed: int, validation: float, test: float) -> np.ndarray:
    """`(n,)` split of each row: whole overlap clusters to test, validation or train, stratified by class.

    Each cluster is stratified by its most frequent class; within a class, clusters are shuffled (seeded,
    classes in label order from one stream) and taken into test until `test` of that class's rows are
    there, then into validation until `validation` more are, the rest into train.
    """
    if not (0 < validation and 0 < test and validation + test < 1):
        raise SplitError(f"--validation-fraction {validation} and --test-fraction {test} must be > 0 and sum to < 1")
    n_clusters = int(cluster.max()) + 1 if len(cluster) else 0
    counts = np.zeros((n_clusters, int(labels.max()) + 1 if len(labels) else 1), dtype=np.int64)
    np.add.at(counts, (cluster, labels), 1)
    stratum = counts.argmax(axis=1)
    size = counts.sum(axis=1)
    target = np.empty(n_clusters, dtype=object)
    rng = np.random.default_rng(seed)
    for label in range(counts.shape[1]):
        members = np.flatnonzero(stratum == label)
        members = members[rng.permutation(len(members))]
        before = np.cumsum(size[members]) - size[members]
        total = size[members].sum()
        target[members] = np.where(before < test * total, "test",
                                   np.where(before < (test + validation) * total, "validation", "train"))
    return target[cluster]
