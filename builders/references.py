"""Reference assemblies: the registry, and resolving a key to a prepared `Genome` (local, cached or downloaded)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from gbhub.builders.assemblies import assembly_size
from gbhub.builders.download import cache_root, download, sha256_file
from gbhub.builders.errors import GenomeReferenceError, PreparedReferenceError, UnknownBenchmarkError
from gbhub.builders.genome import Genome, discard, prepare
from gbhub.builders.locks import sweep_scratch, sweep_temp_files, temp_file

logger = logging.getLogger(__name__)

ENSEMBL = "https://ftp.ensembl.org/pub"


def ensembl_base() -> str:
    """Ensembl FTP root; `GBHUB_ENSEMBL_URL` points it at a mirror (or a test's loopback server)."""
    return os.environ.get("GBHUB_ENSEMBL_URL", ENSEMBL).rstrip("/")


@dataclass(frozen=True)
class Reference:
    """A reference FASTA that coordinate tables are resolved against.

    Attributes:
        key: stable registry key (`--reference KEY=PATH`).
        assembly: assembly name; also accepted as `--reference ASSEMBLY=PATH` for every genome
            reference of that assembly.
        kind: "genome" (contigs) or "transcriptome" (transcript ids).
        path: the source FASTA, relative to the Ensembl root (`ensembl_base()`), or an absolute
            URL, or `builtin:<name>` for a reference generated in code.
        checksums: name of the checksum file the source publishes next to the FASTA, or None.
    """

    key: str
    assembly: str
    kind: str
    path: str
    description: str
    checksums: str | None = "CHECKSUMS"

    @property
    def url(self) -> str:
        if "://" in self.path or self.path.startswith("builtin:"):
            return self.path
        return f"{ensembl_base()}/{self.path}"

    @property
    def checksums_url(self) -> str | None:
        if not self.checksums or self.path.startswith("builtin:"):
            return None
        return self.url.rsplit("/", 1)[0] + "/" + self.checksums

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def size_bp(self) -> int | None:
        return assembly_size(self.assembly) if self.kind == "genome" else None


REFERENCES: dict[str, Reference] = {
    r.key: r
    for r in (
        Reference("GRCh38_ensembl97", "GRCh38", "genome",
                 "release-97/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.toplevel.fa.gz",
                 "Human genome GRCh38, Ensembl release 97, toplevel"),
        Reference("GRCh38_ensembl100", "GRCh38", "genome",
                 "release-100/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.toplevel.fa.gz",
                 "Human genome GRCh38, Ensembl release 100, toplevel"),
        Reference("GRCh38_cdna_ensembl97", "GRCh38", "transcriptome",
                 "release-97/fasta/homo_sapiens/cdna/Homo_sapiens.GRCh38.cdna.all.fa.gz",
                 "Human cDNA (all transcripts) on GRCh38, Ensembl release 97"),
        Reference("GRCm38_ensembl100", "GRCm38", "genome",
                 "release-100/fasta/mus_musculus/dna/Mus_musculus.GRCm38.dna.toplevel.fa.gz",
                 "Mouse genome GRCm38, Ensembl release 100, toplevel"),
        Reference("BDGP6.28_ensembl100", "BDGP6.28", "genome",
                 "release-100/fasta/drosophila_melanogaster/dna/"
                 "Drosophila_melanogaster.BDGP6.28.dna.toplevel.fa.gz",
                 "Fruit fly genome BDGP6.28, Ensembl release 100, toplevel"),
        Reference("WBcel235_ensembl104", "WBcel235", "genome",
                 "release-104/fasta/caenorhabditis_elegans/dna/"
                 "Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz",
                 "C. elegans genome WBcel235, Ensembl release 104, toplevel"),
        Reference("synthetic", "synthetic", "genome", "builtin:synthetic",
                  "Built-in synthetic genome with planted motifs, generated in code (offline)", None),
        Reference("synthetic_expression", "synthetic_expression", "genome", "builtin:synthetic_expression",
                  "Built-in synthetic genome of the synthetic_expression benchmark, generated in code (offline)", None),
    )
}


def get_reference(key: str) -> Reference:
    try:
        return REFERENCES[key]
    except KeyError:
        raise UnknownBenchmarkError(
            f"unknown reference {key!r}; known: {', '.join(REFERENCES)} (see `gbhub references`)"
        ) from None


def parse_reference_args(items: list[str] | None) -> dict[str, Path]:
    """`["KEY=PATH", ...]` from `--reference` into `{reference key: path}`.

    KEY is a reference key, or an assembly name standing for every genome reference of it
    (`GRCh38=/data/hg38.fa.gz` serves both GRCh38 releases: their chromosomes are identical).
    """
    out: dict[str, Path] = {}
    for item in items or []:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise GenomeReferenceError(f"--reference {item!r}: expected KEY=PATH, e.g. GRCh38=/data/hg38.fa.gz")
        check_fasta_path(Path(path), f"--reference {item!r}")
        if key in REFERENCES:
            out[key] = Path(path)
            continue
        matched = [r.key for r in REFERENCES.values() if r.assembly == key and r.kind == "genome"]
        if not matched:
            raise UnknownBenchmarkError(
                f"--reference {item!r}: {key!r} is neither a reference key ({', '.join(REFERENCES)}) "
                f"nor an assembly ({', '.join(sorted({r.assembly for r in REFERENCES.values()}))})"
            )
        for name in matched:
            out.setdefault(name, Path(path))
    return out


def check_fasta_path(path: Path, what: str) -> None:
    """Refuse, in one line, a FASTA path that is missing, a folder, a device or empty."""
    hint = "Give a FASTA (.fa, .fa.gz or bgzip) file"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise GenomeReferenceError(f"{what}: {path} not found. {hint}") from None
    except OSError as err:
        raise GenomeReferenceError(f"{what}: cannot read {path} ({err.strerror or err}). {hint}") from None
    if stat.S_ISDIR(info.st_mode):
        raise GenomeReferenceError(f"{what}: {path} is a folder, not a FASTA file. {hint} inside it")
    if not stat.S_ISREG(info.st_mode):
        raise GenomeReferenceError(f"{what}: {path} is not a regular file (a device, pipe or socket). {hint}")
    if info.st_size == 0:
        raise GenomeReferenceError(f"{what}: {path} is empty. {hint}")
    if not os.access(path, os.R_OK):
        raise GenomeReferenceError(f"{what}: {path} is not readable (permission denied). {hint} you can read")


def reference_dir(key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    return cache_root(cache_dir) / "references" / key


def builtin_dir(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where a reference generated in code (`builtin:<name>`) and its tables are written."""
    return cache_root(cache_dir) / "builtin" / name


def cached_fasta(reference: Reference, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The FASTA of `reference` in the cache (downloaded, or generated for a built-in one), or None."""
    if reference.path.startswith("builtin:"):
        path = builtin_dir(reference.path.split(":", 1)[1], cache_dir) / "reference.fa"
    else:
        path = reference_dir(reference.key, cache_dir) / reference.filename
    return path if path.is_file() else None


def _memo_sha256(path: Path, cache_dir, digest: str | None = None) -> str:
    """sha256 of a local file, remembered so that a 1 GB FASTA is hashed once, not on every build.

    The memo is keyed by the file's absolute path, device, inode, size, mtime *and ctime*: every write
    to a file changes its ctime, and unlike the mtime no user call (`touch -d`, `os.utime`) can set it
    back, so a same-size in-place edit with the mtime restored is hashed again. A `digest` just
    computed for the file (by a download) is remembered as it is. The memo is best effort: in a
    read-only cache the file is hashed every time.
    """
    st = path.stat()
    key = f"{path.resolve()}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}"
    memo = cache_root(cache_dir) / "hashes" / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".sha256")
    if digest is None:
        with contextlib.suppress(OSError):
            remembered = memo.read_text().strip()
            if len(remembered) == 64:
                return remembered
    digest = digest or sha256_file(path)
    tmp = temp_file(memo)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(digest + "\n")
        os.replace(tmp, memo)
    except OSError as err:
        logger.debug("cannot remember the sha256 of %s in %s: %s", path, memo, err)
        with contextlib.suppress(OSError):
            tmp.unlink()
    return digest


@dataclass(frozen=True)
class ResolvedReference:
    """A reference ready for extraction, and where it came from (for provenance)."""

    reference: Reference
    genome: Genome
    fasta: Path
    sha256: str
    source: str  # "download" or "local file"


def resolve_reference(
    reference: Reference, *, local_path: Path | None = None, cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> ResolvedReference:
    """Return `reference` prepared for extraction, downloading and preparing it once if needed.

    A local file (`--reference KEY=PATH`) is hashed and used in place; otherwise the source FASTA is
    downloaded (resumable, verified against the published checksums) into
    `<cache>/references/<key>/`. Either way it is prepared once into `<cache>/prepared/<sha256[:16]>-
    <assembly>/`, which checks contig lengths against the assembly.
    """
    folder = reference_dir(reference.key, cache_dir)
    if local_path is not None:
        fasta, source = Path(local_path), "local file"
        check_fasta_path(fasta, f"reference {reference.key}")
        digest = _memo_sha256(fasta, cache_dir)
    elif reference.path.startswith("builtin:"):
        raise GenomeReferenceError(f"reference {reference.key!r} is generated in code: pass its local path")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        fasta, source = folder / reference.filename, "download"
        if fasta.is_file():  # downloaded and verified by an earlier build
            digest = _memo_sha256(fasta, cache_dir)
        else:
            digest = download(reference.url, fasta, checksums_url=reference.checksums_url, progress=progress)
            _memo_sha256(fasta, cache_dir, digest)
    assembly = reference.assembly if reference.kind == "genome" else None
    # Keyed by content (and the assembly it was checked against), so one FASTA serving two keys
    # (GRCh38 releases 97 and 100 have identical chromosomes) is prepared once.
    prepared_dir = cache_root(cache_dir) / "prepared" / f"{digest[:16]}-{assembly or reference.kind}"
    sweep_cache(cache_dir)
    prepared = prepare(fasta, prepared_dir, assembly=assembly, sha256=digest, progress=progress)
    try:
        genome = Genome(prepared).verify()
    except PreparedReferenceError as err:  # damaged after it was prepared: prepare it again from the FASTA
        discard(prepared)  # refuses in one line, naming the folder, when the cache is read-only
        logger.warning("%s; preparing it again from %s", err, fasta)
        genome = Genome(prepare(fasta, prepared_dir, assembly=assembly, sha256=digest, progress=progress)).verify()
    if genome.source_sha256 != digest:
        raise PreparedReferenceError(
            f"{prepared_dir} was prepared from another file (sha256 {str(genome.source_sha256)[:16]}..., expected "
            f"{digest[:16]}...): delete {prepared_dir} and re-run"
        )
    return ResolvedReference(reference, genome, fasta, digest, source)


def sweep_cache(cache_dir: str | os.PathLike | None = None) -> None:
    """Remove temporary folders that dead gbhub processes left in the cache (never raises)."""
    root = cache_root(cache_dir)
    for pattern in (".*.tmp-*", ".*.damaged-*"):
        sweep_scratch(root / "prepared", pattern)
    sweep_scratch(root, "build-*")  # scratch folders of materialize (and of earlier gbhub versions)
    sweep_temp_files(root / "hashes")
    for folder in root.glob("builtin/**/"):
        sweep_temp_files(folder)
    for prepared in root.glob("prepared/*/"):
        sweep_temp_files(prepared)
