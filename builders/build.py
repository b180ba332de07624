"""Building a benchmark: fetch and verify tables, resolve references, plan splits, write the Hub layout."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import datasets
import pandas as pd

from gbhub import __version__
from gbhub.builders.builder import GenomicBenchmark
from gbhub.builders.coordinates import UPSTREAM_COMMIT, UPSTREAM_REPOSITORY, fetch_table, read_table
from gbhub.builders.download import cache_root
from gbhub.builders.errors import EmptySplitError
from gbhub.builders.hub_layout import (
    DEFAULT_SEED,
    SPLITS,
    VALIDATION_FRACTION,
    audit_path,
    provenance_path,
    write_config,
)
from gbhub.builders.plan import upstream_plan, write_plan
from gbhub.builders.references import REFERENCES, ResolvedReference, resolve_reference
from gbhub.builders.registry import BenchmarkSpec, get_benchmark

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

    The dataset card is not rendered here (builders sit below hub_cards): the command layer renders it
    once after all builds (`gbhub.hub_cards.dataset_card.write_dataset_card`).
    """
    inputs = prepare_inputs(name, coordinates_dir=coordinates_dir, references=references,
                            cache_dir=cache_dir, progress=progress)
    spec = inputs.spec
    plan = upstream_plan(inputs.tables, inputs.table_names, inputs.genomes, seed=seed,
                         fraction=VALIDATION_FRACTION)
    provenance = _provenance(spec, inputs.digests, inputs.resolved, seed, plan)
    target = write_plan_config(out_dir, spec.name, plan, spec.classes, provenance, cache_dir=cache_dir,
                               num_proc=num_proc, progress=progress)
    _drop_stale_audit(Path(out_dir), spec.name)
    logger.info("built %s into %s", spec.name, target)
    return target


def write_plan_config(
    out_dir: str | os.PathLike,
    config: str,
    plan: pd.DataFrame,
    class_names,
    provenance: dict,
    *,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    progress: bool = True,
) -> Path:
    """Resolve a split plan into sequences and add (or replace) `config` in the Hub-layout folder.

    The one path from a plan to a published config: `gbhub build`, the audit's variants and user-made
    benchmarks all go through it.

    Args:
        out_dir: Hub-layout folder; other configs in it are kept.
        config: the config name.
        plan: rows of `gbhub.builders.plan.PLAN_COLUMNS`, each split's rows contiguous.
        class_names: ClassLabel names, in label order.
        provenance: the `provenance/<config>.json` record.
        cache_dir: gbhub cache (temporary Arrow files live under it).
        num_proc: worker processes for extraction.
        progress: show progress bars.

    Returns:
        The config folder.
    """
    with _progress_bars(progress):
        dataset = materialize(plan, config, class_names, cache_dir=cache_dir, num_proc=num_proc)
        return write_config(out_dir, config, dataset, provenance)


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


@contextlib.contextmanager
def _progress_bars(enabled: bool):
    """Show or hide the `datasets` progress bars for the duration of the block."""
    was_enabled = datasets.is_progress_bar_enabled()
    (datasets.enable_progress_bars if enabled else datasets.disable_progress_bars)()
    try:
        yield
    finally:
        (datasets.enable_progress_bars if was_enabled else datasets.disable_progress_bars)()


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
    references = dict(references or {})
    if not spec.upstream:
        fasta, coordinates_dir = spec.generate(cache_root(cache_dir) / "builtin" / spec.name)
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


def materialize(
    plan, config: str, class_names, *, cache_dir=None, num_proc: int | None = None
) -> datasets.DatasetDict:
    """Run the `GenomicBenchmark` builder over a split plan and return the splits, in memory.

    The Arrow files live in a temporary folder under the gbhub cache and are loaded into memory
    before it is removed, so nothing is left behind.
    """
    counts = plan["split"].value_counts()
    empty = [split for split in SPLITS if not counts.get(split, 0)]
    if empty:
        rows = ", ".join(f"{split} {int(counts.get(split, 0)):,}" for split in SPLITS)
        raise EmptySplitError(
            f"{config}: the {' and '.join(empty)} split would have no rows ({rows}); every split of the Hub "
            "layout needs at least one row (`datasets` cannot load an empty split): give each class more "
            "upstream rows"
        )
    root = cache_root(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=root) as tmp:
        plan_path = write_plan(plan, Path(tmp) / "plan.parquet")
        builder = GenomicBenchmark(
            cache_dir=str(Path(tmp) / "arrow"),
            config_name=config,
            class_names=tuple(class_names),
            plan_path=str(plan_path),
            plan_sha256=hashlib.sha256(plan_path.read_bytes()).hexdigest(),
        )
        builder.download_and_prepare(num_proc=num_proc)
        splits = builder.as_dataset(in_memory=True)
        return datasets.DatasetDict({split: splits[split] for split in SPLITS})


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
