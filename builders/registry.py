"""The benchmark registry: one `BenchmarkSpec` per module in `builders/benchmarks/`, found by import."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from gbhub.builders.citations import GENOMIC_BENCHMARKS as GENOMIC_BENCHMARKS_CITATION
from gbhub.builders.errors import UnknownBenchmarkError
from gbhub.builders.hub_layout import RegressionTarget

HOMEPAGE = "https://github.com/ML-Bioinfo-CEITEC/genomic_benchmarks"


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark, declared: its classes, where each class's sequences come from, and its credits.

    Attributes:
        name: config name on the Hub (the upstream folder name).
        classes: class names in ClassLabel order (upstream file stems, sorted).
        class_references: reference key (see `builders.references`) per class.
        description: what the classes are and where they come from (markdown).
        source_citation: BibTeX of the original source of the data.
        counts: upstream rows per split and class, `{"train": {cls: n}, "test": {...}}`.
        upstream: True for tables fetched from the pinned upstream commit; False for the built-in
            `synthetic` benchmark, whose tables and reference are generated in code, and for benchmarks
            from other sources (`sources`).
        target: a regression benchmark's label schema (float target(s), side features); None for a
            classification benchmark (then `classes` are its labels). A regression benchmark has no
            classes: its rows come from gene tables (`builders/tss.py`), read from `reference`.
        reference: the reference key every row of a regression benchmark is read from.
        window: `(upstream, downstream)` bp of a regression benchmark's TSS-centred windows.
        sources: files a non-upstream benchmark downloads (URL + sha256); `--coordinates DIR` reads the same
            file names from DIR instead.
        load_genes: a regression benchmark's reader: `(folder of its sources) -> GeneTables`
            (`builders/tss.py`); for a generated one, `generate` writes the folder first.
    """

    name: str
    classes: tuple[str, ...]
    class_references: dict[str, str]
    description: str
    source_citation: str
    counts: dict[str, dict[str, int]]
    pretty_name: str = ""
    license: str = "apache-2.0"
    version: int = 0
    homepage: str = HOMEPAGE
    citations: tuple[str, ...] = field(default=())
    upstream: bool = True
    generate: Callable | None = None  # generated benchmarks only: writes tables + FASTA into a folder
    target: RegressionTarget | None = None
    reference: str | None = None
    window: tuple[int, int] | None = None
    sources: tuple = ()
    load_genes: Callable | None = None

    def __post_init__(self):
        object.__setattr__(self, "description", " ".join(self.description.split()))
        if self.target is not None and (self.classes or self.reference is None or self.window is None
                                        or self.load_genes is None):
            raise ValueError(f"{self.name}: a regression benchmark declares no classes, and a reference, a "
                             "window and a gene-table reader")
        if tuple(sorted(self.classes)) != self.classes:
            raise ValueError(f"{self.name}: classes must be sorted as upstream names them")
        if set(self.class_references) != set(self.classes):
            raise ValueError(f"{self.name}: class_references must name every class")
        if not self.citations:
            cites = tuple(c for c in (GENOMIC_BENCHMARKS_CITATION, self.source_citation) if c)
            object.__setattr__(self, "citations", cites)

    def split_count(self, split: str) -> int:
        return sum(self.counts[split].values())

    @property
    def reference_keys(self) -> set[str]:
        """Every reference key the benchmark reads (`--reference KEY=PATH` may replace them)."""
        return set(self.class_references.values()) | ({self.reference} if self.reference else set())

    @property
    def reads_coordinates(self) -> bool:
        """Whether `--coordinates DIR` means something for it (upstream tables, or its source files)."""
        return self.upstream or bool(self.sources)


@lru_cache(maxsize=1)
def registry() -> dict[str, BenchmarkSpec]:
    """Every benchmark, by name, in name order (collected from `builders.benchmarks.*.SPEC`)."""
    import gbhub.builders.benchmarks as package

    specs = []
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            specs.append(importlib.import_module(f"{package.__name__}.{module.name}").SPEC)
    return {spec.name: spec for spec in sorted(specs, key=lambda s: s.name)}


def get_benchmark(name: str) -> BenchmarkSpec:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownBenchmarkError(
            f"unknown benchmark {name!r}; known: {', '.join(registry())} (see `gbhub list`)"
        ) from None


def upstream_benchmarks() -> list[str]:
    return [name for name, spec in registry().items() if spec.upstream]
