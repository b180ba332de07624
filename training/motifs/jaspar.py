"""JASPAR motifs from the database `pyjaspar` ships (offline), and Tomtom matches against them (`memelite`)."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from gbhub.training.motifs.filters import MotifError

#: The default database: the newest release pyjaspar ships, CORE collection, vertebrates (the paper matched
#: against JASPAR 2016 vertebrates; `--jaspar-release JASPAR2016` reproduces that).
DEFAULT_RELEASE = "JASPAR2026"
DEFAULT_COLLECTION = "CORE"
DEFAULT_TAX_GROUP = "vertebrates"


@dataclass(frozen=True)
class JasparMotif:
    """One JASPAR profile.

    Attributes:
        matrix_id: e.g. `MA0139.2`.
        name: the transcription factor, e.g. `CTCF`.
        counts: `(4, width)` counts of A, C, G, T.
    """

    matrix_id: str
    name: str
    counts: np.ndarray

    @property
    def ppm(self) -> np.ndarray:
        """`(4, width)` probabilities (each column's counts over its sum)."""
        return self.counts / self.counts.sum(axis=0, keepdims=True)


def releases() -> tuple[str, ...]:
    """The JASPAR releases the installed pyjaspar ships, newest first."""
    import pyjaspar

    return tuple(sorted(pyjaspar.jaspar_releases, reverse=True))


@functools.lru_cache(maxsize=4)
def load_motifs(release: str = DEFAULT_RELEASE, collection: str = DEFAULT_COLLECTION,
                tax_group: str | None = DEFAULT_TAX_GROUP) -> tuple[JasparMotif, ...]:
    """The latest version of every profile of a JASPAR release, collection and taxonomic group, offline.

    The SQLite database comes with `pyjaspar`; the selection is the one of
    `pyjaspar.jaspardb(release).fetch_motifs(collection=..., tax_group=[...])` (tested equal), read with
    three bulk queries on pyjaspar's own connection instead of its ~10 queries per profile, which took
    about 18 s for the ~1,000 vertebrate profiles on this project's machines (here: about 1 s).

    Args:
        release: e.g. `JASPAR2026` (`releases()`).
        collection: `CORE` or `UNVALIDATED`.
        tax_group: e.g. `vertebrates`, `insects`, `plants`; None for every group.

    Returns:
        The profiles, ordered by matrix id.

    Raises:
        MotifError: an unknown release, or a selection holding no profile.
    """
    import pyjaspar

    if release not in pyjaspar.jaspar_releases:
        raise MotifError(f"unknown JASPAR release {release!r}: pyjaspar {pyjaspar.__version__} ships "
                         f"{', '.join(releases())}")
    db = pyjaspar.jaspardb(release=release)
    cursor = db.conn.cursor()
    matrices = cursor.execute("SELECT ID, BASE_ID, VERSION, NAME, COLLECTION FROM MATRIX").fetchall()
    latest: dict[str, int] = {}
    for _, base, version, _, _ in matrices:
        latest[base] = max(latest.get(base, version), version)
    groups: dict[int, set[str]] = {}
    for matrix, value in cursor.execute("SELECT ID, VAL FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group'"):
        groups.setdefault(matrix, set()).add(str(value).lower())
    chosen = {
        matrix: (f"{base}.{version}", name)
        for matrix, base, version, name, coll in matrices
        if coll == collection.upper() and version == latest[base]
        and (tax_group is None or tax_group.lower() in groups.get(matrix, set()))
    }
    if not chosen:
        raise MotifError(f"{release} has no {collection} profile of tax group {tax_group!r}: pass another "
                         "--jaspar-collection or --jaspar-tax-group (e.g. vertebrates, insects, plants)")
    ids = sorted(chosen)
    data = np.array(cursor.execute(
        f"SELECT ID, instr('ACGT', row), col, val FROM MATRIX_DATA WHERE ID IN ({','.join('?' * len(ids))})",
        ids).fetchall(), dtype=np.float64).reshape(-1, 4)
    motifs = []
    data = data[np.lexsort((data[:, 2], data[:, 1], data[:, 0]))]  # by matrix, base, column
    bounds = np.searchsorted(data[:, 0], ids + [np.inf])
    for matrix, lo, hi in zip(ids, bounds[:-1], bounds[1:]):
        cells = data[lo:hi]
        counts = np.zeros((4, int(cells[:, 2].max())))
        counts[cells[:, 1].astype(int) - 1, cells[:, 2].astype(int) - 1] = cells[:, 3]  # 1-based columns
        matrix_id, name = chosen[matrix]
        motifs.append(JasparMotif(matrix_id, name, counts))
    return tuple(sorted(motifs, key=lambda m: m.matrix_id))


@dataclass
class Matches:
    """Tomtom matches of query motifs against a database.

    Attributes:
        p_values: `(queries, targets)` p-value of the best alignment of each pair.
        q_values: `(queries, targets)` Benjamini-Hochberg q-values of each query's p-values over the targets.
        e_values: `(queries, targets)` p-value x number of targets (Tomtom's E-value).
        offsets, overlaps, strands: `(queries, targets)` the best alignment (strand 1 = reverse complement).
        targets: the database's motifs.
    """

    p_values: np.ndarray
    q_values: np.ndarray
    e_values: np.ndarray
    offsets: np.ndarray
    overlaps: np.ndarray
    strands: np.ndarray
    targets: Sequence[JasparMotif]

    def best(self, query: int) -> dict:
        """The best match of query `query`: `matrix_id`, `name`, `p_value`, `q_value`, `e_value`, `strand`."""
        j = int(np.argmin(self.p_values[query]))
        return {"matrix_id": self.targets[j].matrix_id, "name": self.targets[j].name,
                "p_value": float(self.p_values[query, j]), "q_value": float(self.q_values[query, j]),
                "e_value": float(self.e_values[query, j]), "offset": int(self.offsets[query, j]),
                "strand": "-" if int(self.strands[query, j]) else "+"}


def tomtom(queries: Sequence[np.ndarray], targets: Sequence[JasparMotif]) -> Matches:
    """Compare `(4, k)` query PPMs with database motifs by Tomtom (memelite, both strands).

    memelite returns p-values; the q-values are Benjamini-Hochberg over each query's p-values against all
    targets (`scipy.stats.false_discovery_control`), as MEME's Tomtom reports them per query.
    """
    from memelite import tomtom as memelite_tomtom
    from scipy.stats import false_discovery_control

    if not len(queries):
        raise MotifError("no query motif to compare: every filter was dropped (fewer sites than the minimum)")
    q = [np.ascontiguousarray(np.asarray(m, dtype=np.float64)) for m in queries]
    t = [np.ascontiguousarray(m.ppm.astype(np.float64)) for m in targets]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="tomtom was given")  # a small test database
        p, _scores, offsets, overlaps, strands = memelite_tomtom(q, t)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    qv = np.vstack([false_discovery_control(row, method="bh") for row in p])
    return Matches(p, qv, p * len(t), np.asarray(offsets), np.asarray(overlaps), np.asarray(strands), tuple(targets))
