"""TSS-centred windows of regression benchmarks: gene tables (id, contig, TSS, strand, targets, side features) in, a config out.

A gene table has one row per gene: `id`, `region` (a contig, either spelling), `tss` (the 0-based position of
the transcription start site's base), `strand`, then one float column per target and per side feature. Its
window is read on the gene's strand with the TSS base at sequence index `upstream`:

    +  genome [tss - upstream, tss + downstream)           read as it is
    -  genome [tss - downstream + 1, tss + upstream + 1)   reverse-complemented

so `sequence[upstream]` is the TSS base and `sequence[:upstream]` lies upstream of it on both strands (Xpresso and
Transformer DeepLncLoc: 7,000 upstream + 3,500 downstream = 10,500 bp). Windows become a split plan
(`plan.regression_plan`: test = upstream test, validation stratified on the target's deciles) and go through the
engine every benchmark uses (`extract.write_plan_config`).
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from gbhub import __version__
from gbhub.builders import sources as source_files
from gbhub.builders.errors import CoordinateTableError, GBHubError
from gbhub.builders.extract import write_plan_config
from gbhub.builders.genome import Genome
from gbhub.builders.hub_layout import SPLITS, VALIDATION_FRACTION, RegressionTarget
from gbhub.builders.plan import QUANTILE_BINS, regression_plan
from gbhub.builders.references import REFERENCES, builtin_dir, resolve_reference

logger = logging.getLogger(__name__)

#: The leading columns of a gene table; the target and side-feature columns follow, by name.
GENE_COLUMNS = ("id", "region", "tss", "strand")


class GeneTableError(CoordinateTableError):
    """A gene table is malformed (columns, TSS, strand, a non-finite target): names the file, the row and the fix."""


@dataclass
class GeneTables:
    """A regression benchmark's genes, read and checked, per upstream split.

    Attributes:
        tables: `{"train": genes, "test": genes}`, columns `GENE_COLUMNS` + targets + side features + `row`.
        names: the display name of each table (for error messages and the card).
        digests: sha256 of each file the tables were read from, by file name.
        verified: what the reader checked against its source (recorded in the provenance and the card).
    """

    tables: dict[str, pd.DataFrame]
    names: dict[str, str]
    digests: dict[str, str] = field(default_factory=dict)
    verified: dict = field(default_factory=dict)
    #: `{gene id: its window's sequence as the source gives it}` for a sample of genes: the build reads those
    #: windows from the reference and refuses a mismatch (a wrong reference, or a wrong strand convention).
    expected_windows: dict[str, str] = field(default_factory=dict)


def tss_windows(tss, minus, upstream: int, downstream: int) -> tuple[np.ndarray, np.ndarray]:
    """`(start, end)` of each gene's window, 0-based half-open, with the TSS base at sequence index `upstream`.

    Args:
        tss: `(n,)` 0-based position of each TSS base.
        minus: `(n,)` bool, True for genes on the `-` strand (their window is read reverse-complemented).
        upstream: bp before the TSS base (on the gene's strand).
        downstream: bp from the TSS base on (the TSS base included).

    Returns:
        `(start, end)`, both `(n,)` int64; `end - start == upstream + downstream`.

    Example: TSS 100 on `+` with 3 up / 2 down gives [97, 102) (`sequence[3]` is base 100); on `-` it gives
    [99, 104), reverse-complemented, whose index 3 is base 100 too.
    """
    if upstream < 0 or downstream < 1:
        raise GBHubError(f"a TSS window needs upstream >= 0 and downstream >= 1 bp (the TSS base), got "
                         f"{upstream} and {downstream}")
    tss = np.asarray(tss, dtype=np.int64)
    minus = np.asarray(minus, dtype=bool)
    start = np.where(minus, tss - downstream + 1, tss - upstream)
    return start, start + upstream + downstream


def read_gene_table(path: str | os.PathLike, schema: RegressionTarget, *, name: str | None = None) -> pd.DataFrame:
    """Read and check a gene table (`.csv` or `.csv.gz`): `id,region,tss,strand,<targets>,<side features>`.

    Returns:
        `id`, `region` (str), `tss` (int64), `strand` (`+`/`-`; empty = `+`), the float64 target and side-feature
        columns, and `row` (1-based data row, for error messages).

    Raises:
        GeneTableError: naming the file, the row and the fix: missing columns, a TSS that is not a
            non-negative integer, an unknown strand, a duplicate or empty id, a target or side feature that is
            not a finite number.
    """
    path = Path(path)
    name = name or str(path)
    expected = [*GENE_COLUMNS, *schema.targets, *schema.side_features]
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, na_filter=False)
    except FileNotFoundError:
        raise GeneTableError(f"{name} not found: expected a gene table with columns {','.join(expected)}") from None
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as err:
        raise GeneTableError(f"{name} is truncated or corrupt ({err}): fetch or write it again") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise GeneTableError(f"{name} is not a CSV gene table with columns {','.join(expected)} ({err})") from err
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise GeneTableError(f"{name} has columns {','.join(map(str, frame.columns))}; expected "
                             f"{','.join(expected)} (missing: {', '.join(missing)})")
    if frame.empty:
        raise GeneTableError(f"{name} has a header but no rows: a gene table needs at least one gene")
    frame = frame[expected].copy()
    frame["row"] = np.arange(1, len(frame) + 1)
    for column in ("id", "region", "strand"):
        frame[column] = frame[column].str.strip()
    frame["strand"] = frame["strand"].replace("", "+")
    _refuse(frame["id"] == "", frame, name, lambda r: "id is empty: every gene needs a unique id")
    _refuse(frame["id"].duplicated(), frame, name, lambda r: f"id {r['id']!r} appears twice: gene ids must be unique")
    _refuse(frame["region"] == "", frame, name, lambda r: "region (the TSS's contig) is empty")
    _refuse(~frame["strand"].isin(["+", "-"]), frame, name,
            lambda r: f"strand {r['strand']!r} is not '+', '-' or empty")
    tss = frame["tss"].str.strip()
    _refuse(~tss.str.fullmatch(r"[0-9]{1,18}"), frame.assign(tss=tss), name,
            lambda r: f"tss {r['tss']!r} is not a 0-based position (a whole number >= 0)")
    frame["tss"] = tss.astype(np.int64)
    for column in (*schema.targets, *schema.side_features):
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(np.float64)
        _refuse(pd.Series(~np.isfinite(values)), frame, name,
                lambda r, c=column: f"{c} {r[c]!r} is not a finite number")
        frame[column] = values
    return frame.reset_index(drop=True)


def _refuse(bad: pd.Series, frame: pd.DataFrame, name: str, describe: Callable) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        row = frame.iloc[int(np.argmax(bad))]
        raise GeneTableError(f"row {row['row']} of {name}: {describe(row)}; fix the table")


def window_rows(genes: pd.DataFrame, upstream: int, downstream: int, *, name: str) -> pd.DataFrame:
    """The coordinate rows (`id, region, start, end, strand, row` + the gene's float columns) of genes' windows.

    Raises:
        GeneTableError: a window that would start before its contig (never shortened); windows past a contig's
            end are refused by the engine's plan check, naming the table and row.
    """
    start, end = tss_windows(genes["tss"].to_numpy(), (genes["strand"] == "-").to_numpy(), upstream, downstream)
    before = start < 0
    if before.any():
        i = int(np.argmax(before))
        row = genes.iloc[i]
        raise GeneTableError(f"row {row['row']} of {name}: the {upstream + downstream:,} bp window of gene "
                             f"{row['id']!r} (TSS {row['tss']} on {row['strand']}) starts at {start[i]}, before its "
                             "contig; windows are never shortened: drop the gene or use a smaller window")
    return genes.drop(columns=["tss"]).assign(start=start, end=end)


def check_expected_windows(prepared: Path, rows: pd.DataFrame, genes: GeneTables, reference: str) -> None:
    """Read the sampled genes' windows from the reference and compare them with the source's own sequences.

    Records the check in `genes.verified["checks"]`.

    Raises:
        GeneTableError: a window differs, naming the gene, its strand and the likely cause.
    """
    picked = rows[rows["id"].isin(list(genes.expected_windows))]
    got = Genome(prepared).fetch(picked["region"].to_numpy(), picked["start"].to_numpy(np.int64),
                                 picked["end"].to_numpy(np.int64), (picked["strand"] == "-").to_numpy(),
                                 table=next(iter(genes.names.values())), rows=picked["row"].to_numpy()).to_pylist()
    wrong = [(row, seq) for row, seq in zip(picked.itertuples(index=False), got)
             if seq != genes.expected_windows[row.id].upper()]
    if wrong:
        row, seq = wrong[0]
        same = sum(a == b for a, b in zip(seq, genes.expected_windows[row.id].upper()))
        raise GeneTableError(
            f"{len(wrong)} of {len(picked)} sampled windows read from reference {reference!r} differ from the source's "
            f"own sequences (first: gene {row.id!r} on the {row.strand} strand of {row.region}, {same:,} of "
            f"{len(seq):,} bases equal): the reference is not the assembly the source used, or its contigs are "
            "named differently; pass the right one with --reference")
    strands = picked["strand"].value_counts()
    genes.verified.setdefault("checks", []).append(
        f"{len(picked)} sampled windows ({int(strands.get('+', 0))} on +, {int(strands.get('-', 0))} on -) read from "
        "the reference equal the source's own sequences for those genes")


def build_regression(
    spec,
    out_dir: str | os.PathLike,
    *,
    coordinates_dir: str | os.PathLike | None = None,
    references: dict[str, Path] | None = None,
    cache_dir: str | os.PathLike | None = None,
    seed: int,
    num_proc: int | None = None,
    progress: bool = True,
    finalize: Callable[[Path], object] | None = None,
) -> Path:
    """Build a regression benchmark (`spec.target` set) into the Hub-layout folder `out_dir`.

    Its gene tables come from `spec.load_genes` over its source folder: generated in code (`spec.generate`), a
    local copy of its source files (`coordinates_dir`), or its `spec.sources` downloaded into the cache. Each
    gene's TSS-centred window (`spec.window`) is read from `spec.reference` by the shared engine.

    Returns:
        The config folder.
    """
    references = dict(references or {})
    if spec.generate is not None:
        fasta, folder = spec.generate(builtin_dir(spec.name, cache_dir))
        references.setdefault(spec.reference, fasta)
        fetched = {}
    else:
        folder, fetched = source_files.fetch_sources(spec, coordinates_dir=coordinates_dir, cache_dir=cache_dir,
                                                     progress=progress)
    genes = spec.load_genes(Path(folder))
    resolved = resolve_reference(REFERENCES[spec.reference], local_path=references.get(spec.reference),
                                 cache_dir=cache_dir, progress=progress)
    upstream, downstream = spec.window
    rows = {split: window_rows(genes.tables[split], upstream, downstream, name=genes.names[split])
            for split in ("train", "test")}
    if genes.expected_windows:
        check_expected_windows(resolved.genome.path, pd.concat(list(rows.values())), genes, spec.reference)
    plan = regression_plan(rows, genes.names, str(resolved.genome.path), targets=spec.target.targets,
                           side_features=spec.target.side_features, seed=seed, fraction=VALIDATION_FRACTION)
    provenance = regression_provenance(spec, genes, resolved, seed, plan, fetched)
    return write_plan_config(out_dir, spec.name, plan, spec.target, provenance, cache_dir=cache_dir,
                             num_proc=num_proc, progress=progress, finalize=finalize)


def regression_provenance(spec, genes: GeneTables, resolved, seed: int, plan: pd.DataFrame, fetched: dict) -> dict:
    """The `provenance/<config>.json` record of a regression benchmark (what its card is rendered from)."""
    upstream, downstream = spec.window
    return {
        "config": spec.name,
        "pretty_name": spec.pretty_name,
        "description": spec.description,
        "classes": [],
        "target": spec.target.to_json(),
        "class_references": {},
        "references": {
            spec.reference: {
                "url": resolved.reference.url,
                "assembly": resolved.reference.assembly,
                "kind": resolved.reference.kind,
                "sha256": resolved.sha256,
                "source": resolved.source,
            }
        },
        "citations": list(spec.citations),
        "license": spec.license,
        "homepage": spec.homepage,
        "upstream": None,
        "sources": {
            "files": fetched,
            "tables": {genes.names[s]: genes.digests.get(genes.names[s]) for s in ("train", "test")
                       if genes.digests.get(genes.names[s])},
            "verified": genes.verified,
        },
        "windows": {"anchor": "TSS", "upstream_bp": upstream, "downstream_bp": downstream,
                    "length_bp": upstream + downstream,
                    "rule": "TSS base at sequence index upstream_bp, read on the gene's strand"},
        "package_version": __version__,
        "validation": {"seed": seed, "fraction": VALIDATION_FRACTION, "stratified": True,
                       "strata": f"target quantiles ({QUANTILE_BINS} bins)"},
        "parent": None,
        "variant_note": None,
        "splits": {split: {"num_examples": int((plan["split"] == split).sum())} for split in SPLITS},
    }
