"""The declarative spec of a user-made benchmark: what `gbhub create` was given, written next to the data.

`specs/<config>.yaml` holds the same kind of declaration as a builtin `BenchmarkSpec` (name, classes, the
reference of each class, description, license, citation) plus the recipe (BED inputs by sha256, width,
negatives, splits, seed). The BED inputs are copied next to it (`specs/<config>/`, gzip without a time
stamp), so `gbhub build --spec specs/<config>.yaml --reference KEY=PATH --out DIR` rebuilds the config,
byte for byte, from the folder alone and the reference. Local paths are not recorded: a pushed spec must
not carry the author's file system.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gbhub.builders.errors import ChecksumError, GBHubError
from gbhub.builders.hub_layout import atomic_path, spec_inputs_dir, spec_path, write_text_atomic
from gbhub.builders.regions.bed import read_text
from gbhub.builders.regions.negatives import NegativeOptions

SPEC_VERSION = 1
NEGATIVE_CLASS = "negative"
SPLIT_METHODS = ("chromosome", "random")
HEADER = ("# A benchmark made by `gbhub create`. Rebuild it, byte for byte, with\n"
          "#   gbhub build --spec THIS_FILE --reference {key}=FASTA --out DIR\n"
          "# (FASTA: the reference whose sha256 is below; input paths are relative to this file's folder).\n")


class SpecError(GBHubError, ValueError):
    """A spec file is malformed or its inputs do not match it; says how to fix it."""


@dataclass(frozen=True)
class InputFile:
    """A BED input: where the copy lies (relative to the spec's folder), its content's sha256, and the
    name the author gave it (for the card)."""

    path: str
    sha256: str
    source: str


@dataclass(frozen=True)
class SplitSpec:
    """`chromosome`: contigs held out (None: the assembly's default, recorded when resolved); `random`:
    fractions of each class, overlap clusters kept whole."""

    method: str = "chromosome"
    validation_contigs: tuple[str, ...] | None = None
    test_contigs: tuple[str, ...] | None = None
    validation_fraction: float = 0.1
    test_fraction: float = 0.2


@dataclass(frozen=True)
class TargetSpec:
    """A regression benchmark's float target: the 1-based BED column it is read from and its name."""

    name: str = "score"
    column: int = 5


@dataclass(frozen=True)
class RegionSpec:
    """A user-made region benchmark, declared.

    Attributes:
        name: config name.
        classes: the BED of each given class (the generated negative class is not listed here).
        reference: `{"key", "assembly", "sha256"}` of the reference every class is on.
        width: resize every region to this many bp around its summit or centre, or None.
        summit_column: 1-based BED column with the summit offset (narrowPeak: 10), or None.
        exclude: BEDs no negative may touch.
        negatives: how negatives are generated, or None when the classes are all given.
        split: how rows are split.
        seed: seed of every random choice (negatives, their strands, random splits).
        target: a regression benchmark's float target (one BED, no negatives), or None for classes.
    """

    name: str
    classes: dict[str, InputFile]
    reference: dict[str, str]
    pretty_name: str = ""
    description: str = ""
    license: str = "other"
    citation: str = ""
    width: int | None = None
    summit_column: int | None = None
    exclude: tuple[InputFile, ...] = ()
    negatives: NegativeOptions | None = None
    split: SplitSpec = field(default_factory=SplitSpec)
    seed: int = 42
    target: TargetSpec | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        """Every class, generated negatives included, sorted (ClassLabel order); none for a regression spec."""
        if self.target is not None:
            return ()
        return tuple(sorted(set(self.classes) | ({NEGATIVE_CLASS} if self.negatives else set())))

    def to_yaml(self) -> str:
        doc = {
            "spec_version": SPEC_VERSION,
            "name": self.name,
            "pretty_name": self.pretty_name,
            "description": self.description,
            "license": self.license,
            "citation": self.citation,
            "reference": dict(self.reference),
            "classes": {c: dataclasses.asdict(f) for c, f in sorted(self.classes.items())},
            "regions": {"width": self.width, "summit_column": self.summit_column},
            "negatives": ({"class": NEGATIVE_CLASS, **dataclasses.asdict(self.negatives)} if self.negatives
                          else None),
            "exclude": [dataclasses.asdict(f) for f in self.exclude],
            "split": _split_dict(self.split),
            "seed": self.seed,
        }
        if self.target is not None:  # only regression specs carry it: classification specs are unchanged
            doc["target"] = dataclasses.asdict(self.target)
        body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
        return HEADER.format(key=self.reference["key"]) + body


def _split_dict(split: SplitSpec) -> dict:
    if split.method == "random":
        return {"method": "random", "validation_fraction": split.validation_fraction,
                "test_fraction": split.test_fraction}
    return {"method": "chromosome",
            "validation_contigs": list(split.validation_contigs) if split.validation_contigs else None,
            "test_contigs": list(split.test_contigs) if split.test_contigs else None}


def content_sha256(path: Path, source: str) -> str:
    """sha256 of a (possibly gzip) text file's content."""
    return hashlib.sha256(read_text(path, source).encode("utf-8")).hexdigest()


def read_spec(path: str | os.PathLike) -> RegionSpec:
    """Load a spec file written by `write_spec`.

    Raises:
        SpecError: not a spec of this version, or a field of the wrong kind (names the field).
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path} not found: pass the specs/<config>.yaml that `gbhub create` wrote") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise SpecError(f"cannot read spec {path}: {err}") from err
    if not isinstance(doc, dict) or doc.get("spec_version") != SPEC_VERSION:
        raise SpecError(f"{path} is not a gbhub create spec of version {SPEC_VERSION} "
                        f"(spec_version: {doc.get('spec_version') if isinstance(doc, dict) else None!r})")
    try:
        negatives = doc.get("negatives")
        if negatives is not None:
            negatives = dict(negatives)
            if negatives.pop("class", NEGATIVE_CLASS) != NEGATIVE_CLASS:
                raise SpecError(f"{path}: negatives.class must be {NEGATIVE_CLASS!r}")
            negatives = NegativeOptions(**negatives)
        split = dict(doc.get("split") or {"method": "chromosome"})
        for key in ("validation_contigs", "test_contigs"):
            if split.get(key) is not None:
                split[key] = tuple(str(c) for c in split[key])
        regions = doc.get("regions") or {}
        target = doc.get("target")
        return RegionSpec(
            name=str(doc["name"]),
            classes={str(c): InputFile(**f) for c, f in doc["classes"].items()},
            reference={str(k): str(v) for k, v in doc["reference"].items()},
            pretty_name=str(doc.get("pretty_name") or ""),
            description=str(doc.get("description") or ""),
            license=str(doc.get("license") or "other"),
            citation=str(doc.get("citation") or ""),
            width=regions.get("width"),
            summit_column=regions.get("summit_column"),
            exclude=tuple(InputFile(**f) for f in doc.get("exclude") or ()),
            negatives=negatives,
            split=SplitSpec(**split),
            seed=int(doc.get("seed", 42)),
            target=TargetSpec(str(target["name"]), int(target["column"])) if target is not None else None,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        if isinstance(err, SpecError):
            raise
        raise SpecError(f"{path} is malformed ({type(err).__name__}: {err}); write it again with `gbhub create`") from err


def input_paths(spec: RegionSpec, spec_file: Path) -> tuple[dict[str, Path], list[Path]]:
    """The spec's input copies (class BEDs, exclusion BEDs), each checked against its sha256.

    Raises:
        ChecksumError: a copy was changed since the spec was written.
    """
    folder = Path(spec_file).parent

    def checked(item: InputFile) -> Path:
        path = folder / item.path
        digest = content_sha256(path, str(path))
        if digest != item.sha256:
            raise ChecksumError(f"{path} has sha256 {digest}, the spec {spec_file} records {item.sha256}: the input "
                                "changed since the benchmark was made; restore it or make the benchmark again")
        return path

    return {c: checked(f) for c, f in spec.classes.items()}, [checked(f) for f in spec.exclude]


def copy_name(kind: str) -> str:
    """File name of an input copy: `<class>.bed.gz` or `exclude-<i>.bed.gz`."""
    return f"{kind}.bed.gz"


def write_spec(out_dir: str | os.PathLike, spec: RegionSpec, classes: dict[str, Path], exclude: list[Path]) -> Path:
    """Write `specs/<config>.yaml` and copies of its inputs into a Hub-layout folder, atomically each.

    The copies hold the inputs' content gzip-compressed without a time stamp (same content, same bytes).
    """
    folder = spec_inputs_dir(out_dir, spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    sources = {copy_name(c): p for c, p in classes.items()}
    sources.update({copy_name(f"exclude-{i}"): p for i, p in enumerate(exclude)})
    for name, source in sources.items():
        data = gzip.compress(read_text(source, str(source)).encode("utf-8"), compresslevel=6, mtime=0)
        target = folder / name
        if target.is_file() and target.read_bytes() == data:
            continue
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    for stale in folder.glob("*.bed.gz"):
        if stale.name not in sources:
            stale.unlink()
    return write_text_atomic(spec_path(out_dir, spec.name), spec.to_yaml())


def relative_copy(spec: RegionSpec, kind: str) -> str:
    """The path of an input copy relative to the spec's folder (what the spec records)."""
    folder = spec_inputs_dir(".", spec.name).relative_to(spec_path(".", spec.name).parent)
    return (folder / copy_name(kind)).as_posix()
