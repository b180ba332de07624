"""Running the audits of a config (built Parquet or a plan of coordinate tables) into one report."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from gbhub import __version__
from gbhub.builders.audit.common import AuditError, AuditInput, load_config
from gbhub.builders.audit.contigs import audit_contigs
from gbhub.builders.audit.duplicates import audit_duplicates, sequence_codes
from gbhub.builders.audit.overlap import audit_overlap
from gbhub.builders.audit.report import SCHEMA_VERSION, write_report
from gbhub.builders.audit.shortcuts import audit_shortcuts
from gbhub.builders.audit.similarity import MinHashParams, audit_similarity

logger = logging.getLogger(__name__)
PARTS = ("duplicates", "overlap", "near_duplicates", "shortcuts", "contigs")
INTERVAL_PARTS = ("overlap", "contigs")  # the parts that need no sequence


def audit_input(
    inp: AuditInput,
    *,
    parts: tuple[str, ...] = PARTS,
    minhash: MinHashParams = MinHashParams(),
    timings: dict[str, float] | None = None,
) -> dict:
    """The audit report of one config (see `builders.audit.report` for its schema).

    Args:
        inp: the config's rows (with sequences unless only `INTERVAL_PARTS` are asked for).
        parts: which audits to run, among `PARTS`.
        minhash: near-duplicate search parameters.
        timings: when given, receives the seconds each part took.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise AuditError(f"unknown audit part(s) {sorted(unknown)}; choose among {', '.join(PARTS)}")
    if inp.sequences is None and set(parts) - set(INTERVAL_PARTS):
        raise AuditError(f"{inp.config}: {sorted(set(parts) - set(INTERVAL_PARTS))} need sequences; "
                         f"without them only {', '.join(INTERVAL_PARTS)} can run")
    timings = {} if timings is None else timings
    report = {
        "schema_version": SCHEMA_VERSION,
        "config": inp.config,
        "parent": inp.parent,
        "classes": list(inp.classes),
        "package_version": __version__,
        "rows": inp.rows(),
    }
    codes = None

    def timed(name, fn):
        t0 = time.perf_counter()
        result = fn()
        timings[name] = round(time.perf_counter() - t0, 3)
        return result

    if {"duplicates", "near_duplicates"} & set(parts):
        codes = timed("sequence_codes", lambda: sequence_codes(inp.sequences))
    for part in PARTS:
        if part not in parts:
            continue
        if part == "duplicates":
            report[part] = timed(part, lambda: audit_duplicates(inp, codes))
        elif part == "overlap":
            report[part] = timed(part, lambda: audit_overlap(inp))
        elif part == "near_duplicates":
            report[part] = timed(part, lambda: audit_similarity(inp, minhash, codes=codes))
        elif part == "shortcuts":
            report[part] = timed(part, lambda: audit_shortcuts(inp))
        elif part == "contigs":
            report[part] = timed(part, lambda: audit_contigs(inp))
    return report


def audit_config(
    out_dir: str | os.PathLike,
    config: str,
    *,
    parts: tuple[str, ...] = PARTS,
    minhash: MinHashParams = MinHashParams(),
    extra: dict | None = None,
) -> tuple[dict, Path]:
    """Audit config `config` of the Hub-layout folder `out_dir` and write `out_dir/audit/<config>.json`.

    Args:
        out_dir: the folder `gbhub build --out` wrote.
        config: a config in it (upstream-faithful or variant).
        parts: which audits to run.
        minhash: near-duplicate search parameters.
        extra: keys added to the report (e.g. `variants`).

    Returns:
        `(report, path of the JSON file)`.
    """
    t0 = time.perf_counter()
    inp = load_config(out_dir, config, sequences=bool(set(parts) - set(INTERVAL_PARTS)))
    timings: dict[str, float] = {}
    report = audit_input(inp, parts=parts, minhash=minhash, timings=timings)
    report.update(extra or {})
    path = write_report(out_dir, config, report)
    logger.info("audited %s in %.1f s (%s) -> %s", config, time.perf_counter() - t0, timings, path)
    return report, path
