"""Building a benchmark: fetch and verify tables, resolve references, plan splits, write the Hub layout."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from gbhub import __version__
from gbhub.builders.coordinates import UPSTREAM_COMMIT, UPSTREAM_REPOSITORY, fetch_table, read_table
from gbhub.builders.errors import PlanError
from gbhub.builders.extract import (  # noqa: F401 (re-exported: build.py was their home)
    CHUNK_ROWS,
    check_plan,
    materialize,
    plan_chunks,
    write_plan_config,
)
from gbhub.builders.hub_layout import (
    DEFAULT_SEED,
    SPLITS,
    VALIDATION_FRACTION,
    audit_path,
    provenance_path,
)
from gbhub.builders.plan import upstream_plan
from gbhub.builders.references import REFERENCES, ResolvedReference, builtin_dir, resolve_reference
from gbhub.builders.registry import BenchmarkSpec, get_benchmark
from gbhub.builders.tss import build_regression

logger = logging.getLogger(__name__)


def build_benchmark(
    name: str,
    out_dir: str | os.PathLike,
    *,
    coordinates_dir: str | os.PathLike | None = None,
    references: dict[str, Path] | None = None,
    cache_dir: str | os.PathLike | None = None,
    seed: int = DEFAULT_SEED,
    num_proc: int | None = None,
    progress: bool = True,
    finalize: Callable[[Path], object] | None = None,
) -> Path:
    """Build benchmark `name` into the Hub-layout folder `out_dir` and return the config folder.

    Args:
        name: a benchmark of the registry (`gbhub list`).
        out_dir: Hub-layout folder; other configs in it are kept.
        coordinates_dir: local copy of upstream `datasets/`; default: download at the pinned commit.
        references: `{reference key: local FASTA}` used instead of downloading (see
            `builders.references.parse_reference_args`).
        cache_dir: gbhub cache (default `$GBHUB_CACHE` or `~/.cache/gbhub`).
        seed: seed of the stratified validation split (recorded in the provenance).
        num_proc: worker processes for sequence extraction.
        progress: show progress bars.
        finalize: called with `out_dir` right after the config is swapped in (see `write_plan_config`).

    The dataset card is not rendered here (builders sit below hub_cards): the command layer renders it
    once after all builds, inside `hub_layout.card_transaction` (or passes it as `finalize`).
    """
    spec = get_benchmark(name)
    if spec.target is not None:  # a regression benchmark: gene tables -> TSS-centred windows, same engine
        target = build_regression(spec, out_dir, coordinates_dir=coordinates_dir, references=references,
                                  cache_dir=cache_dir, seed=seed, num_proc=num_proc, progress=progress,
                                  finalize=finalize)
        _drop_stale_audit(Path(out_dir), spec.name)
        logger.info("built %s into %s", spec.name, target)
        return target
    inputs = prepare_inputs(name, coordinates_dir=coordinates_dir, references=references,
                            cache_dir=cache_dir, progress=progress)
    spec = inputs.spec
    plan = upstream_plan(inputs.tables, inputs.table_names, inputs.genomes, seed=seed,
                         fraction=VALIDATION_FRACTION)
    provenance = _provenance(spec, inputs.digests, inputs.resolved, seed, plan)
    del inputs  # the tables are in the plan now: free them before extraction (lower peak memory)
    target = write_plan_config(out_dir, spec.name, plan, spec.classes, provenance, cache_dir=cache_dir,
                               num_proc=num_proc, progress=progress, finalize=finalize)
    _drop_stale_audit(Path(out_dir), spec.name)
    logger.info("built %s into %s", spec.name, target)
    return target


def _drop_stale_audit(out_dir: Path, config: str) -> None:
    """A rebuilt config invalidates its audit report; variants derived from it are flagged."""
    report = audit_path(out_dir, config)
    if report.exists():
        report.unlink()
        logger.warning("removed the audit report of %s (rebuilt): run `gbhub audit %s` again", config, config)
    for variant in sorted(out_dir.glob(f"{config}_*/")):
        if provenance_path(out_dir, variant.name).exists():
            logger.warning("variant %s was derived from the previous %s: rebuild it with "
                           "`gbhub audit %s --variants`", variant.name, config, config)


@dataclass
class BuildInputs:
    """Everything a benchmark is built from, validated: tables, their checksums, prepared genomes.

    Attributes:
        spec: the benchmark.
        tables: validated coordinate tables, `{upstream split: {label: DataFrame}}`.
        table_names: `<name>/<split>/<class>.csv.gz` of each table (for error messages).
        digests: sha256 of each table, `{"<split>/<class>.csv.gz": hex}`.
        resolved: the prepared references, by reference key.
        genomes: prepared reference folder of each label (what the split plan needs).
    """

    spec: BenchmarkSpec
    tables: dict[str, dict[int, pd.DataFrame]]
    table_names: dict[str, dict[int, str]]
    digests: dict[str, str]
    resolved: dict[str, ResolvedReference]
    genomes: dict[int, str]


def prepare_inputs(
    name: str, *, coordinates_dir=None, references: dict[str, Path] | None = None, cache_dir=None,
    progress: bool = True,
) -> BuildInputs:
    """Fetch/verify/validate the tables of benchmark `name` and resolve its references."""
    spec = get_benchmark(name)
    if spec.target is not None:
        raise PlanError(f"{name} is a regression benchmark (TSS-centred windows of a gene table, no classes): build it "
                        "with `gbhub build`; class tables, the audit's variants and --windows-bp do not apply to it")
    references = dict(references or {})
    if not spec.upstream:
        fasta, coordinates_dir = spec.generate(builtin_dir(spec.name, cache_dir))
        references.setdefault("synthetic", fasta)
    tables, names, digests = _read_tables(spec, coordinates_dir, cache_dir, progress)
    resolved = {
        key: resolve_reference(REFERENCES[key], local_path=references.get(key), cache_dir=cache_dir,
                               progress=progress)
        for key in sorted(set(spec.class_references.values()))
    }
    genomes = {label: str(resolved[spec.class_references[cls]].genome.path)
               for label, cls in enumerate(spec.classes)}
    return BuildInputs(spec, tables, names, digests, resolved, genomes)


def _read_tables(spec: BenchmarkSpec, coordinates_dir, cache_dir, progress):
    tables: dict[str, dict[int, object]] = {"train": {}, "test": {}}
    names: dict[str, dict[int, str]] = {"train": {}, "test": {}}
    digests: dict[str, str] = {}
    for split in ("train", "test"):
        for label, cls in enumerate(spec.classes):
            rel = f"{spec.name}/{split}/{cls}.csv.gz"
            if spec.upstream:
                path, digest = fetch_table(spec.name, split, cls, coordinates_dir=coordinates_dir,
                                           cache_dir=cache_dir, progress=progress)
            else:
                path = Path(coordinates_dir) / rel
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            tables[split][label] = read_table(path, name=rel)
            names[split][label] = rel
            digests[f"{split}/{cls}.csv.gz"] = digest
    return tables, names, digests


def _provenance(spec: BenchmarkSpec, digests, resolved: dict[str, ResolvedReference], seed, plan) -> dict:
    """The `provenance/<config>.json` record the dataset card is rendered from."""
    return {
        "config": spec.name,
        "pretty_name": spec.pretty_name,
        "description": spec.description,
        "classes": list(spec.classes),
        "class_references": dict(spec.class_references),
        "references": {
            key: {
                "url": r.reference.url,
                "assembly": r.reference.assembly,
                "kind": r.reference.kind,
                "sha256": r.sha256,
                "source": r.source,
            }
            for key, r in resolved.items()
        },
        "citations": list(spec.citations),
        "license": spec.license,
        "homepage": spec.homepage,
        "upstream": (
            {"repository": UPSTREAM_REPOSITORY, "commit": UPSTREAM_COMMIT, "tables": digests}
            if spec.upstream else None
        ),
        "package_version": __version__,
        "validation": {"seed": seed, "fraction": VALIDATION_FRACTION, "stratified": True},
        "parent": None,
        "variant_note": None,
        "splits": {split: {"num_examples": int((plan["split"] == split).sum())} for split in SPLITS},
    }
