"""Running the audits of a config (built Parquet, a split plan, or any dataset of sequences) into one report."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from tqdm.auto import tqdm

from gbhub import __version__
from gbhub.builders.audit.common import AuditError, AuditInput, load_config
from gbhub.builders.audit.contigs import audit_contigs
from gbhub.builders.audit.duplicates import audit_duplicates, sequence_codes
from gbhub.builders.audit.overlap import audit_overlap
from gbhub.builders.audit.params import PARTS  # noqa: F401 (defined there, light, for the CLI)
from gbhub.builders.audit.report import SCHEMA_VERSION, write_report
from gbhub.builders.audit.shortcuts import ProbeParams, audit_shortcuts
from gbhub.builders.audit.similarity import SimilarityParams, audit_similarity
from gbhub.builders.locks import folder_lock

logger = logging.getLogger(__name__)
SEQUENCE_PARTS = ("duplicates", "near_duplicates")  # not applicable without sequences
COORDINATE_PARTS = ("overlap", "contigs")  # not applicable without real coordinates


def audit_input(
    inp: AuditInput,
    *,
    parts: tuple[str, ...] = PARTS,
    similarity: SimilarityParams = SimilarityParams(),
    probes: ProbeParams = ProbeParams(),
    timings: dict[str, float] | None = None,
    progress: bool = False,
) -> dict:
    """The audit report of one config (see `builders.audit.report` for its schema).

    Every part runs on what the rows carry: without sequences the duplicate and near-duplicate parts (and the
    sequence probes) are reported not applicable; without real coordinates so are the overlap and contig parts
    (and the genomic-position probes). Nothing is scored as 0.5 for lack of data.

    Args:
        inp: the config's rows.
        parts: which audits to run, among `PARTS`.
        similarity: near-duplicate search parameters.
        probes: shortcut probe parameters.
        timings: when given, receives the seconds each part took.
        progress: show a progress bar over the parts.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise AuditError(f"unknown audit part(s) {sorted(unknown)}; choose among {', '.join(PARTS)}")
    timings = {} if timings is None else timings
    status, reason, coordinate_rows = inp.coordinates()
    report = {
        "schema_version": SCHEMA_VERSION,
        "config": inp.config,
        "parent": inp.parent,
        "classes": list(inp.classes),
        "package_version": __version__,
        "source": inp.source,
        "split_note": inp.split_note,
        "rows": inp.rows(),
        "inputs": {
            "sequences": inp.sequences is not None,
            "coordinates": {"status": status, "reason": reason, "rows": int(coordinate_rows.sum())},
        },
    }
    if inp.variant:
        report["variant"] = inp.variant
    codes = None

    def timed(name, fn):
        t0 = time.perf_counter()
        result = fn()
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    if inp.sequences is not None and {"duplicates", "near_duplicates"} & set(parts):
        codes = timed("sequence_codes", lambda: sequence_codes(inp.sequences))
    for part in tqdm([p for p in PARTS if p in parts], desc=f"audit {inp.config}", unit="part", disable=not progress,
                     leave=False):
        if part in SEQUENCE_PARTS and inp.sequences is None:
            report[part] = {"applicable": False, "reason": "needs the sequences (intervals only: no reference given)"}
        elif part in COORDINATE_PARTS and status != "present":
            report[part] = {"applicable": False, "reason": f"needs genomic coordinates: {reason}"}
        elif part == "duplicates":
            report[part] = timed(part, lambda: audit_duplicates(inp, codes))
        elif part == "overlap":
            report[part] = timed(part, lambda: audit_overlap(inp))
        elif part == "near_duplicates":
            report[part] = timed(part, lambda: audit_similarity(inp, similarity, codes=codes))
        elif part == "shortcuts":
            report[part] = timed(part, lambda: audit_shortcuts(inp, probes))
        elif part == "contigs":
            report[part] = timed(part, lambda: audit_contigs(inp))
    return report


def audit_config(
    out_dir: str | os.PathLike,
    config: str,
    *,
    parts: tuple[str, ...] = PARTS,
    similarity: SimilarityParams = SimilarityParams(),
    probes: ProbeParams = ProbeParams(),
    extra: dict | None = None,
    inp: AuditInput | None = None,
    progress: bool = False,
) -> tuple[dict, Path]:
    """Audit config `config` and write `out_dir/audit/<config>.json`.

    Args:
        out_dir: the Hub-layout folder the report goes to (and, without `inp`, the config is read from).
        config: the config's name.
        parts: which audits to run.
        similarity: near-duplicate search parameters.
        probes: shortcut probe parameters.
        extra: keys added to the report (e.g. `variants`).
        inp: the rows to audit (any dataset, `builders.audit.sources`); default: the config's Parquet and
            provenance in `out_dir`.
        progress: show a progress bar over the parts.

    Returns:
        `(report, path of the JSON file)`.
    """
    t0 = time.perf_counter()
    if inp is None:
        needs_sequences = bool(set(parts) - {"overlap", "contigs"})
        inp = load_config(out_dir, config, sequences=needs_sequences)
    timings: dict[str, float] = {}
    report = audit_input(inp, parts=parts, similarity=similarity, probes=probes, timings=timings, progress=progress)
    report.update(extra or {})
    with folder_lock(out_dir):  # one writer per folder (re-entrant: the command's transaction holds it already)
        path = write_report(out_dir, config, report)
    logger.info("audited %s in %.1f s (%s) -> %s", config, time.perf_counter() - t0, timings, path)
    return report, path
