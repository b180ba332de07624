"""The benchmark registry: one `BenchmarkSpec` per module in `builders/benchmarks/`, found by import."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from gbhub.builders.citations import GENOMIC_BENCHMARKS as GENOMIC_BENCHMARKS_CITATION
from gbhub.builders.errors import UnknownBenchmarkError

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
            `synthetic` benchmark, whose tables and reference are generated in code.
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
    generate: Callable | None = None  # synthetic only: writes tables + FASTA into a folder

    def __post_init__(self):
        object.__setattr__(self, "description", " ".join(self.description.split()))
        if tuple(sorted(self.classes)) != self.classes:
            raise ValueError(f"{self.name}: classes must be sorted as upstream names them")
        if set(self.class_references) != set(self.classes):
            raise ValueError(f"{self.name}: class_references must name every class")
        if not self.citations:
            cites = tuple(c for c in (GENOMIC_BENCHMARKS_CITATION, self.source_citation) if c)
            object.__setattr__(self, "citations", cites)

    def split_count(self, split: str) -> int:
        return sum(self.counts[split].values())


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
