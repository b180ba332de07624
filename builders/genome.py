"""The one module that touches FASTA: prepares a reference once, verifies it, then extracts intervals by mmap.

A prepared reference is a folder holding `sequence.bin` (every record's sequence, upper case, newlines
removed, records back to back) and `index.json` (record name, byte offset, length; the size of
`sequence.bin` and an xxh3-128 checksum of each 64 MiB block of it; a checksum of the index itself).
Opening one checks the index and the size (microseconds); `verify` checks every block (about 1 s for a
3.1 Gbp genome) and remembers a success in `verified.json`, keyed by the file's inode, size, mtime and
ctime, so it runs again only after the file was written to (an in-place edit whose mtime was put back
still changes the ctime). Extraction slices the memory-mapped file, so a 3 Gbp genome is never loaded
into Python objects.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import mmap
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pyarrow as pa
import xxhash

from gbhub.builders.assemblies import KNOWN_LENGTHS, canonical_contig
from gbhub.builders.errors import (
    CoordinateTableError,
    GenomeReferenceError,
    OutputWriteError,
    PreparedReferenceError,
    os_error_message,
)
from gbhub.builders.locks import claim, scratch_dir, temp_file

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
INDEX_FILE = "index.json"
SEQUENCE_FILE = "sequence.bin"
VERIFIED_FILE = "verified.json"
BLOCK_BYTES = 1 << 26  # checksum granularity of sequence.bin (64 MiB)
_BLOCK = 1 << 24
_MAX_HEADER = 1 << 20  # a FASTA header line longer than this means the file is not FASTA
# IUPAC nucleotide codes (upper case after preparation); anything else in a FASTA is refused.
_ALLOWED = b"ACGTNRYKMSWBDHV"
_COMPLEMENT = bytes.maketrans(b"ACGTNRYKMSWBDHV", b"TGCANYRMKSWVHDB")
_UPPER = bytes(range(256)).upper()  # one `translate` upper-cases and drops line ends (2.5x `.upper()` after it)


def _gzip_openers() -> dict[str, object]:
    """Available gzip readers by name: ISA-L and zlib-ng when installed, the standard library always.

    Measured on the prepare step of a 137.6 Mbp gzip FASTA (scripts/bench_builders_gzip.py, alternating
    runs on the shared, loaded 2-core machine): the step took a median 10.5 s with ISA-L vs 14.7 s with
    the standard library (1.39x; zlib-ng 9.8 vs 13.2 s, 1.34x); whole processes used 0.79-0.80x the CPU
    time; raw decompression alone is about 2x. Below the 1.5x asked for to add a dependency, so neither
    is required: the first installed one is used (byte-identical prepared references, tested). The
    threaded readers (decompression in a second thread) are kept for the benchmark only.
    """
    openers: dict[str, object] = {}
    try:
        from isal import igzip, igzip_threaded

        openers["isal"] = lambda path: igzip.open(path, "rb")
        threaded = {"isal-threaded": lambda path: igzip_threaded.open(path, "rb", threads=1)}
    except ImportError:
        threaded = {}
    try:
        from zlib_ng import gzip_ng, gzip_ng_threaded

        openers["zlib-ng"] = lambda path: gzip_ng.open(path, "rb")
        threaded["zlib-ng-threaded"] = lambda path: gzip_ng_threaded.open(path, "rb", threads=1)
    except ImportError:
        pass
    openers["stdlib"] = lambda path: gzip.open(path, "rb")
    return {**openers, **threaded}


GZIP_OPENERS = _gzip_openers()
#: The gzip reader preparation uses: ISA-L when installed, else zlib-ng, else the standard library.
GZIP_BACKEND = next(iter(GZIP_OPENERS))


def _gzip_open(path: Path) -> BinaryIO:
    return GZIP_OPENERS[GZIP_BACKEND](path)


def _open_fasta(path: Path) -> BinaryIO:
    """Open plain, gzip or bgzip FASTA (bgzip is multi-member gzip) for binary reading."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return _gzip_open(path) if magic == b"\x1f\x8b" else open(path, "rb")


def _iter_records(stream: BinaryIO, source: Path) -> Iterator[tuple[str, bytes | None]]:
    """Yield `(name, None)` at each header and `(name, chunk)` for sequence bytes (newlines kept)."""
    pending = b""
    at_line_start = True
    name: str | None = None
    while True:
        try:
            block = stream.read(_BLOCK)
        except (EOFError, OSError, gzip.BadGzipFile) as err:
            raise GenomeReferenceError(
                f"{source} is truncated or corrupt ({err}); delete it and download it again"
            ) from err
        if not block:
            break
        data, pending = pending + block, b""
        pos = 0
        while pos < len(data):
            if at_line_start and data[pos : pos + 1] == b">":
                newline = data.find(b"\n", pos)
                if newline < 0:
                    _check_header_tail(data[pos:], source)
                    pending = data[pos:]
                    break
                header = data[pos + 1 : newline].decode("ascii", "replace").strip()
                name = header.split()[0] if header.split() else ""
                if not name:
                    raise GenomeReferenceError(f"{source} has a FASTA header with no name")
                yield name, None
                pos = newline + 1
                continue
            nxt = data.find(b"\n>", pos)
            end = len(data) if nxt < 0 else nxt + 1
            if name is None:
                if data[pos:end].strip():
                    raise GenomeReferenceError(
                        f"{source} is not a FASTA file: it does not start with a '>' header line"
                    )
            else:
                yield name, data[pos:end]
            at_line_start = data[end - 1 : end] == b"\n"
            pos = end
    if pending:
        _check_header_tail(pending, source, final=True)
        raise GenomeReferenceError(f"{source} ends inside a header line: the file is truncated")


def _check_header_tail(tail: bytes, source: Path, final: bool = False) -> None:
    """Refuse early a header line with no LF: CR-only line ends, or no FASTA at all."""
    if b"\r" in tail[:_MAX_HEADER]:
        raise GenomeReferenceError(
            f"{source} uses carriage returns alone (CR, classic Mac) as line ends; convert them to LF "
            f"(e.g. `tr '\\r' '\\n' < IN > OUT`) and pass the converted file"
        )
    if len(tail) > _MAX_HEADER:
        raise GenomeReferenceError(
            f"{source} has a header line longer than {_MAX_HEADER:,} bytes: it is not a FASTA file"
        )


@dataclass(frozen=True)
class Contig:
    name: str
    offset: int
    length: int


class _BlockWriter:
    """Writes `sequence.bin` and checksums it in `BLOCK_BYTES` blocks as it goes."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.size = 0
        self.digests: list[str] = []
        self._hasher = xxhash.xxh3_128()
        self._in_block = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.size += len(data)
        view = memoryview(data)
        while len(view):
            take = min(len(view), BLOCK_BYTES - self._in_block)
            self._hasher.update(view[:take])
            self._in_block += take
            view = view[take:]
            if self._in_block == BLOCK_BYTES:
                self.digests.append(self._hasher.hexdigest())
                self._hasher, self._in_block = xxhash.xxh3_128(), 0

    def finish(self) -> list[str]:
        if self._in_block:
            self.digests.append(self._hasher.hexdigest())
            self._hasher, self._in_block = xxhash.xxh3_128(), 0
        return self.digests


def _index_digest(index: dict) -> str:
    body = {k: v for k, v in index.items() if k != "index_xxh3"}
    return xxhash.xxh3_128(json.dumps(body, sort_keys=True).encode()).hexdigest()


def prepare(
    source: Path,
    dest: Path,
    *,
    assembly: str | None = None,
    sha256: str | None = None,
    progress: bool = True,
) -> Path:
    """Convert the FASTA `source` into a prepared reference folder `dest`, atomically.

    An existing valid `dest` is kept (not re-read: see `Genome.verify`); a `dest` that is not a valid
    prepared reference of this format (an interrupted or damaged one, or one of an older gbhub) is
    moved aside and prepared again.

    Args:
        source: plain, gzip or bgzip FASTA.
        dest: the folder to create; written under a temporary name and renamed when complete.
        assembly: when a key of `KNOWN_LENGTHS`, every record whose canonical name is a known contig
            must have that contig's length (a wrong assembly is refused), and at least one must exist.
        sha256: of `source`, recorded in the index.
        progress: show a progress bar over the contigs.

    Returns:
        `dest`.

    Raises:
        GenomeReferenceError: `source` is not a usable FASTA (names the file and what is wrong).
        OutputWriteError: `dest` cannot be written (names the path: disk full, read-only...).
    """
    dest = Path(dest)
    if dest.exists():
        try:
            Genome(dest)
            return dest
        except PreparedReferenceError as err:
            logger.warning("%s; preparing it again", err)
            discard(dest)
    try:
        with scratch_dir(dest.parent, f".{dest.name}.tmp-") as tmp:
            _write_prepared(source, tmp, assembly=assembly, sha256=sha256, progress=progress)
            claim(tmp)
            try:
                os.replace(tmp, dest)
            except OSError:
                if not _is_valid(dest):  # not a concurrent twin that finished first
                    raise
    except OSError as err:
        raise OutputWriteError(os_error_message(err, dest)) from None
    return dest


def _write_prepared(source: Path, tmp: Path, *, assembly: str | None, sha256: str | None, progress: bool) -> None:
    from tqdm.auto import tqdm  # lazy: 35 ms of a quick command's start-up

    contigs: list[Contig] = []
    with _open_fasta(source) as stream, open(tmp / SEQUENCE_FILE, "wb") as out:
        writer = _BlockWriter(out)
        current, offset, length = None, 0, 0
        bar = tqdm(desc=f"preparing {source.name}", unit="contig", disable=not progress)
        for name, chunk in _iter_records(stream, source):
            if chunk is None:
                if current is not None:
                    contigs.append(Contig(current, offset, length))
                    offset += length
                current, length = name, 0
                bar.update(1)
                continue
            seq = chunk.translate(_UPPER, b"\r\n\t ")
            bad = seq.translate(None, _ALLOWED)
            if bad:
                raise GenomeReferenceError(
                    f"{source}: record {name!r} holds {bad[:1]!r}, which is not a nucleotide code; "
                    "is this a FASTA of DNA?"
                )
            writer.write(seq)
            length += len(seq)
        if current is not None:
            contigs.append(Contig(current, offset, length))
        bar.close()
        digests = writer.finish()
        size = writer.size
    _check_records(contigs, source, assembly)
    index = {
        "format_version": FORMAT_VERSION,
        "source": str(source),
        "source_sha256": sha256,
        "assembly": assembly,
        "contigs": [[c.name, c.offset, c.length] for c in contigs],
        "sequence_bytes": size,
        "block_bytes": BLOCK_BYTES,
        "block_xxh3_128": digests,
    }
    index["index_xxh3"] = _index_digest(index)
    (tmp / INDEX_FILE).write_text(json.dumps(index))
    for name in (INDEX_FILE, SEQUENCE_FILE):
        os.chmod(tmp / name, 0o644)
    os.chmod(tmp, 0o755)
    # the blocks were just checksummed as written: record them as verified (renaming the folder later
    # changes none of sequence.bin's own stat fields)
    genome = Genome(tmp)
    (tmp / VERIFIED_FILE).write_text(json.dumps(genome._verified_key()))
    os.chmod(tmp / VERIFIED_FILE, 0o644)


def _is_valid(dest: Path) -> bool:
    try:
        Genome(dest)
        return True
    except GenomeReferenceError:
        return False


def discard(prepared: Path) -> None:
    """Move a damaged prepared folder out of the way (renamed, then removed); readers that mapped it keep
    their mapping. Raises `PreparedReferenceError` naming the folder when it cannot be moved."""
    prepared = Path(prepared)
    aside = prepared.with_name(f".{prepared.name}.damaged-{uuid.uuid4().hex[:8]}")
    try:
        os.replace(prepared, aside)
    except FileNotFoundError:
        return  # a concurrent process moved it first
    except OSError as err:
        raise PreparedReferenceError(
            f"{prepared} is damaged and cannot be replaced ({err.strerror or err}): delete {prepared} "
            "(or make the cache writable) and re-run"
        ) from None
    shutil.rmtree(aside, ignore_errors=True)


def _check_records(contigs: list[Contig], source: Path, assembly: str | None) -> None:
    if not contigs:
        raise GenomeReferenceError(f"{source} holds no FASTA records")
    seen: dict[str, str] = {}
    for contig in contigs:
        key = canonical_contig(contig.name)
        if key in seen:
            raise GenomeReferenceError(
                f"{source} has records {seen[key]!r} and {contig.name!r}, which name the same contig"
            )
        seen[key] = contig.name
    known = KNOWN_LENGTHS.get(assembly or "")
    if not known:
        return
    matched = 0
    for contig in contigs:
        expected = known.get(canonical_contig(contig.name))
        if expected is None:
            continue
        if contig.length != expected:
            raise GenomeReferenceError(
                f"{source} is not {assembly}: contig {contig.name!r} is {contig.length:,} bp, "
                f"but {assembly} {canonical_contig(contig.name)} is {expected:,} bp. "
                f"Pass a {assembly} FASTA (--reference KEY=PATH) or let gbhub download it."
            )
        matched += 1
    if matched == 0:
        raise GenomeReferenceError(
            f"{source} has none of the {assembly} chromosomes ({', '.join(list(known)[:5])}, ...): "
            f"it is not a {assembly} FASTA"
        )


class Genome:
    """A prepared reference: resolves contig names and extracts sequences by memory map.

    Holds only the index; each `fetch` opens, maps and closes `sequence.bin` itself, so a `Genome`
    is cheap to pickle into worker processes. Opening checks the index (its own checksum, offsets,
    lengths) and the size of `sequence.bin`; `verify` checks its content.

    Raises:
        PreparedReferenceError: the folder is not a complete, undamaged prepared reference of this
            gbhub version; the message names the folder to delete.
    """

    def __init__(self, prepared: str | os.PathLike):
        self.path = Path(prepared)
        index = self._read_index()
        self.source_sha256: str | None = index.get("source_sha256")
        self.source: str | None = index.get("source")
        self._index_xxh3: str = index["index_xxh3"]
        self.sequence_bytes: int = index["sequence_bytes"]
        self.block_bytes: int = index["block_bytes"]
        self.block_digests: list[str] = index["block_xxh3_128"]
        self.contigs = {name: Contig(name, off, n) for name, off, n in index["contigs"]}
        self._by_key = {canonical_contig(name): c for name, c in self.contigs.items()}

    def _damaged(self, what: str) -> PreparedReferenceError:
        return PreparedReferenceError(
            f"prepared reference {self.path} is damaged or incomplete ({what}): delete {self.path} and re-run "
            "(gbhub prepares it again from the FASTA)"
        )

    def _read_index(self) -> dict:
        path = self.path / INDEX_FILE
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise self._damaged(f"{INDEX_FILE} is missing") from None
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise self._damaged(f"{INDEX_FILE} is unreadable: {err}") from None
        if not isinstance(index, dict):
            raise self._damaged(f"{INDEX_FILE} is not a JSON object")
        if index.get("format_version") != FORMAT_VERSION:
            raise PreparedReferenceError(
                f"{self.path} was prepared by another gbhub version (format {index.get('format_version')!r}, "
                f"expected {FORMAT_VERSION}): delete {self.path} to prepare it again"
            )
        if index.get("index_xxh3") != _index_digest(index):
            raise self._damaged(f"{INDEX_FILE} does not match its checksum")
        try:
            contigs = index["contigs"]
            size, block, digests = index["sequence_bytes"], index["block_bytes"], index["block_xxh3_128"]
            offset = 0
            for name, off, n in contigs:
                if not isinstance(name, str) or off != offset or not isinstance(n, int) or n < 0:
                    raise ValueError(f"record {name!r}")
                offset += n
            if offset != size or len(digests) != -(-size // block):
                raise ValueError("sizes")
        except (KeyError, TypeError, ValueError) as err:
            raise self._damaged(f"{INDEX_FILE} is inconsistent: {err}") from None
        try:
            actual = (self.path / SEQUENCE_FILE).stat().st_size
        except FileNotFoundError:
            raise self._damaged(f"{SEQUENCE_FILE} is missing") from None
        except OSError as err:
            raise self._damaged(f"{SEQUENCE_FILE}: {err.strerror or err}") from None
        if actual != size:
            raise self._damaged(f"{SEQUENCE_FILE} is {actual:,} bytes, the index says {size:,}")
        return index

    def _verified_key(self) -> list:
        """What a passed check is remembered by: the file's stat identity (ctime included) and the index."""
        st = (self.path / SEQUENCE_FILE).stat()
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, self._index_xxh3]

    def verify(self, *, remember: bool = True) -> "Genome":
        """Check every block of `sequence.bin` against the index, unless a check since its last write passed.

        A success is remembered in `verified.json` (when the folder is writable) keyed by the file's
        device, inode, size, mtime and ctime: any write to the file changes the ctime, which no user
        call can set back, so an edited file is always checked again.

        Returns:
            self.

        Raises:
            PreparedReferenceError: a block differs (names the folder to delete).
        """
        key = self._verified_key()
        stamp = self.path / VERIFIED_FILE
        try:
            if json.loads(stamp.read_text(encoding="utf-8")) == key:
                return self
        except (OSError, ValueError):
            pass
        with open(self.path / SEQUENCE_FILE, "rb") as handle:
            for i, expected in enumerate(self.block_digests):
                hasher = xxhash.xxh3_128()
                left = min(self.block_bytes, self.sequence_bytes - i * self.block_bytes)
                while left:
                    piece = handle.read(min(left, 1 << 24))
                    if not piece:
                        raise self._damaged(f"{SEQUENCE_FILE} ended early")
                    hasher.update(piece)
                    left -= len(piece)
                if hasher.hexdigest() != expected:
                    where = self._contig_at(i * self.block_bytes)
                    raise self._damaged(f"block {i} of {SEQUENCE_FILE} (in {where}) differs from its checksum")
        if remember:
            tmp = temp_file(stamp)
            try:
                tmp.write_text(json.dumps(key))
                os.replace(tmp, stamp)
            except OSError:  # a read-only cache: verified, just not remembered
                with contextlib.suppress(OSError):
                    tmp.unlink()
        return self

    def _contig_at(self, offset: int) -> str:
        for contig in self.contigs.values():
            if contig.offset <= offset < contig.offset + max(contig.length, 1):
                return f"record {contig.name!r}"
        return "the sequence"

    def iter_chunks(self, contig: Contig, size: int, overlap: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """`(position, bases)` blocks covering `contig`: `bases` is a `(<= size + overlap,)` uint8 copy of
        `contig[position:position + size + overlap]`; positions step by `size` from 0."""
        with open(self.path / SEQUENCE_FILE, "rb") as handle:
            for pos in range(0, contig.length, size):
                count = min(size + overlap, contig.length - pos)
                data = os.pread(handle.fileno(), count, contig.offset + pos)
                if len(data) != count:
                    raise self._damaged(f"{SEQUENCE_FILE} ended early")
                yield pos, np.frombuffer(data, dtype=np.uint8)

    def read_into(self, contig: Contig, pos: int, out: np.ndarray) -> np.ndarray:
        """`contig[pos:pos + len(out)]` (shortened at the contig's end) read into `out`, a uint8 buffer a caller
        reuses (a genome scan then allocates, and page-faults, once); returns the filled part. Thread-safe."""
        count = min(len(out), contig.length - pos)
        with open(self.path / SEQUENCE_FILE, "rb") as handle:
            got = os.preadv(handle.fileno(), [memoryview(out)[:count]], contig.offset + pos)
        if got != count:
            raise self._damaged(f"{SEQUENCE_FILE} ended early")
        return out[:count]

    def resolve(self, region: str) -> Contig | None:
        """The contig a table's `region` names, in any spelling (`chr1`/`1`, `chrM`/`MT`/`MtDNA`...)."""
        return self.contigs.get(region) or self._by_key.get(canonical_contig(region))

    def locate(
        self,
        regions: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        *,
        table: str | np.ndarray = "<table>",
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Check intervals against the index and return the byte offset of each one's contig.

        Args:
            regions: `(n,)` contig or transcript names as the table spells them.
            starts, ends: `(n,)` int64, 0-based half-open.
            table, rows: the source file (one name, or one per interval) and each interval's row
                number, for error messages.

        Returns:
            `(n,)` int64 offset of each interval's contig in `sequence.bin`.

        Raises:
            CoordinateTableError: an unknown contig, `start < 0`, `end <= start`, or an interval that
                ends past its contig (never silently shortened); names the table, the row and the fix.
        """
        n = len(starts)
        rows = np.arange(1, n + 1) if rows is None else rows
        import pandas as pd  # lazy: 0.3 s to import, and `gbhub locate` on a FASTA needs none of it

        tables = np.broadcast_to(np.asarray(table, dtype=object), (n,))
        inverse, unique = pd.factorize(np.asarray(regions, dtype=object))
        unique_offsets = np.empty(len(unique), dtype=np.int64)
        unique_lengths = np.empty(len(unique), dtype=np.int64)
        for i, region in enumerate(unique):  # once per distinct name (50,000 transcripts for a cDNA table)
            contig = self.resolve(str(region))
            if contig is None:
                first = int(np.argmax(inverse == i))
                raise CoordinateTableError(
                    f"unknown contig {region!r} at row {rows[first]} of {tables[first]}: the reference "
                    f"{self.path} has {_sample(self.contigs)}; pass the reference this table "
                    "was made for (--reference KEY=PATH)"
                )
            unique_offsets[i], unique_lengths[i] = contig.offset, contig.length
        offsets, lengths = unique_offsets[inverse], unique_lengths[inverse]
        inverted = (starts < 0) | (ends <= starts)
        if inverted.any():
            i = int(np.argmax(inverted))
            raise CoordinateTableError(
                f"{regions[i]}:{starts[i]}-{ends[i]} at row {rows[i]} of {tables[i]} is not an interval: "
                "coordinates are 0-based half-open, 0 <= start < end; fix the table"
            )
        past = ends > lengths
        if past.any():
            i = int(np.argmax(past))
            raise CoordinateTableError(
                f"{regions[i]}:{starts[i]}-{ends[i]} ends past {regions[i]} (length {lengths[i]:,}), "
                f"row {rows[i]} of {tables[i]}: the table does not match this reference; "
                "check that the reference is the assembly the table was made for"
            )
        return offsets

    def fetch(
        self,
        regions: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        minus: np.ndarray,
        *,
        table: str | np.ndarray = "<table>",
        rows: np.ndarray | None = None,
    ) -> pa.Array:
        """Sequences of 0-based half-open intervals, reverse-complemented where `minus`.

        Args:
            regions: `(n,)` contig or transcript names as the table spells them.
            starts, ends: `(n,)` int64, 0-based half-open (`seq[start:end]`).
            minus: `(n,)` bool, True where the strand is `-`.
            table, rows: the source file (one name, or one per interval) and each interval's row
                number, for error messages.

        Returns:
            A `pa.string()` array of `n` upper-case sequences.

        Raises:
            CoordinateTableError: an unknown contig, or an interval that ends past its contig
                (never silently shortened).
        """
        n = len(starts)
        offsets = self.locate(regions, starts, ends, table=table, rows=rows)
        absolute = offsets + starts  # byte offset of each interval's first base in sequence.bin
        lengths = ends - starts
        minus = np.asarray(minus, dtype=bool)
        pieces, order = [], []
        for picked, base, window in self._mapped_windows(absolute, lengths):
            pieces.append(_extract(window, absolute[picked] - base, lengths[picked], minus[picked]))
            order.append(picked)
        if not pieces:
            return pa.array([], type=pa.string())
        # Back to row order without a gather: the windows' views, re-pointed at their outputs
        # (length, prefix and inline bytes are unchanged), then one copy.
        for index, (piece, piece_views) in enumerate(pieces):
            wide = piece_views[:, 0] > 12  # inline rows carry their bytes, not a buffer reference
            piece_views[wide, 2] = index
            piece_views[wide, 3] = np.frombuffer(piece.buffers()[1], dtype=np.int32)[: len(piece)][wide]
        views = np.empty((n, 4), dtype="<i4")
        views[np.concatenate(order)] = np.concatenate([piece_views for _, piece_views in pieces])
        target = pa.string() if lengths.sum() < 2**31 else pa.large_string()
        return _view_array(views, [piece.buffers()[2] for piece, _ in pieces], target)

    def iter_bytes(self, absolute: np.ndarray, lengths: np.ndarray, minus: np.ndarray, *,
                   piece: int = 1 << 23) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Sequences as raw bytes, for code that compares them rather than builds a table (no Arrow).

        `absolute`: each interval's byte offset in `sequence.bin` (its contig's offset plus its start), already
        checked to lie within its contig; `lengths` > 0. Yields `(rows, data, offsets)` a piece at a time (about
        `piece` bases), in genome order:
        `data[offsets[i]:offsets[i + 1]]` is the sequence of interval `rows[i]`, reverse-complemented where
        `minus`. Windows are mapped and released as in `fetch`, so memory stays bounded.
        """
        absolute = np.asarray(absolute, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        minus = np.asarray(minus, dtype=bool)
        for picked, base, window in self._mapped_windows(absolute, lengths):
            genome = np.frombuffer(window, dtype=np.uint8)
            ends = np.cumsum(lengths[picked])
            cuts = np.searchsorted(ends, np.arange(piece, int(ends[-1]), piece), side="left")
            for rows in np.split(picked, np.unique(cuts + 1)):
                if not len(rows):
                    continue
                n = lengths[rows]
                offsets = np.zeros(len(rows) + 1, dtype=np.int64)
                np.cumsum(n, out=offsets[1:])
                within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], n)
                flip = np.repeat(minus[rows], n)
                at = np.repeat(absolute[rows] - base, n) + np.where(flip, np.repeat(n, n) - 1 - within, within)
                data = genome[at]  # a copy: nothing points into the window once the piece is made
                data[flip] = COMPLEMENT_LUT[data[flip]]
                yield rows, data, offsets
            del genome  # the window is unmapped when the next one is asked for

    def _mapped_windows(self, absolute: np.ndarray, lengths: np.ndarray) -> Iterator[tuple[np.ndarray, int, mmap.mmap]]:
        """`(rows, base, window)`: the intervals in genome order, one bounded window of `sequence.bin` mapped at a
        time (`base`: its byte offset), so resident memory stays near `_WINDOW` whatever the genome size and
        pages are read in order. A window is unmapped when the next is asked for: hold no view of it by then."""
        order = np.argsort(absolute, kind="stable")
        with open(self.path / SEQUENCE_FILE, "rb") as handle:
            for lo, hi in _windows(absolute[order]):
                picked = order[lo:hi]
                first = int(absolute[picked[0]])
                base = first - first % mmap.ALLOCATIONGRANULARITY
                size = int((absolute[picked] + lengths[picked]).max()) - base
                window = mmap.mmap(handle.fileno(), size, offset=base, access=mmap.ACCESS_READ)
                try:
                    yield picked, base, window
                except BaseException:
                    # frames of the traceback may still hold views of the window: let it be unmapped when
                    # they go, rather than mask the error with a BufferError
                    with contextlib.suppress(BufferError):
                        window.close()
                    raise
                window.close()  # every view into it is released by now


# Arrow string_view arrays: each row is a 16-byte view (int32 length, then 12 inline bytes when the
# length is <= 12, else a 4-byte prefix, an int32 buffer index and an int32 offset into that buffer).
# Views point straight into the memory-mapped window; one C++ cast to `string` copies them out.
# 64 MiB: the touched pages of a mapped window count in the resident set until it is unmapped, so the
# window bounds what extraction adds to a build's peak memory (256 MiB windows added ~250 MiB).
_WINDOW = 1 << 26  # bytes of genome mapped at once (plus the last interval's tail)
_MAX_ROWS = 1 << 18  # intervals per window, so output offsets stay within int32
COMPLEMENT_LUT = np.frombuffer(_COMPLEMENT, dtype=np.uint8)  # byte -> IUPAC complement


def _windows(sorted_starts: np.ndarray) -> Iterator[tuple[int, int]]:
    """`[lo, hi)` ranges of position-sorted intervals starting within `_WINDOW` bytes of each other."""
    lo, n = 0, len(sorted_starts)
    while lo < n:
        hi = int(np.searchsorted(sorted_starts, sorted_starts[lo] + _WINDOW, side="left"))
        hi = max(lo + 1, min(hi, lo + _MAX_ROWS))
        yield lo, hi
        lo = hi


def _views(source: np.ndarray, pos: np.ndarray, lengths: np.ndarray, buffer: int) -> np.ndarray:
    """`(n, 4)` int32 string views of `source[pos:pos + length]`, which is data buffer `buffer`.

    Columns: length, 4-byte prefix, buffer index, offset; a row of <= 12 bytes instead holds its
    bytes inline (zero-padded) in the last three columns.
    """
    n = len(pos)
    out = np.empty((n, 4), dtype="<i4")
    out[:, 0] = lengths
    prefix = np.zeros(n, dtype="<u4")
    last = len(source) - 1
    for j in range(4):  # little-endian: byte j of the prefix is source[pos + j]
        prefix |= source[np.minimum(pos + j, last)].astype("<u4") << (8 * j)
    out[:, 1] = prefix.view("<i4")
    out[:, 2] = buffer
    out[:, 3] = pos
    inline = np.flatnonzero(lengths <= 12)
    if len(inline):
        k = np.arange(12)
        head = source[np.minimum(pos[inline, None] + k, last)]
        head[k >= lengths[inline, None]] = 0
        out.view(np.uint8).reshape(n, 16)[inline, 4:] = head
    return out


def _view_array(views: np.ndarray, buffers: list[pa.Buffer], target=pa.string()) -> pa.Array:
    """Cast `(n, 4)` int32 views over `buffers` into a contiguous `target` (string) array."""
    return pa.Array.from_buffers(
        pa.string_view(), len(views), [None, pa.py_buffer(views), *buffers]
    ).cast(target)


def _extract(window: mmap.mmap, pos: np.ndarray, lengths: np.ndarray,
             minus: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Sequences at byte offsets `pos` of a mapped window; reverse complement where `minus`.

    Returns the sequences and their `(n, 4)` views (whose length/prefix/inline parts stay valid
    for the returned array's data).
    """
    genome = np.frombuffer(window, dtype=np.uint8)
    buffers = [pa.py_buffer(window)]
    views = np.empty((len(pos), 4), dtype="<i4")
    plus = ~minus
    views[plus] = _views(genome, pos[plus], lengths[plus], 0)
    if minus.any():
        forward = _view_array(_views(genome, pos[minus], lengths[minus], 0), buffers)
        bounds = np.frombuffer(forward.buffers()[1], dtype=np.int32)[: len(forward) + 1]
        data = np.frombuffer(forward.buffers()[2], dtype=np.uint8)[bounds[0] : bounds[-1]]
        # Reversing the whole buffer reverses every sequence (and their order); complement by table.
        reverse_complement = COMPLEMENT_LUT[data[::-1]]
        at = (bounds[-1] - bounds[1:]).astype(np.int64)  # where row j now starts
        views[minus] = _views(reverse_complement, at, lengths[minus], 1)
        buffers.append(pa.py_buffer(reverse_complement))
    return _view_array(views, buffers), views


def _sample(contigs: dict[str, Contig], k: int = 5) -> str:
    names = list(contigs)
    more = f", ... ({len(names)} records)" if len(names) > k else ""
    return "records " + ", ".join(names[:k]) + more


# ------------------------------------------------------------------------------------ optional side files
# A prepared folder may also hold side files computed on demand and kept for later runs; `sequence.bin`
# and `index.json` are unchanged, so a folder prepared without them stays valid and readers that do not
# know them are unaffected. Positions are flat: `contig.offset + position` (0-based), as in sequence.bin.
SOFT_MASK_FILE = "softmask.npz"  # lower-case (soft-masked) runs of the source FASTA, read before upper-casing
N_RUNS_FILE = "nruns.npz"  # runs of bases other than A, C, G, T in sequence.bin
_LOWER = np.zeros(256, dtype=bool)
_LOWER[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)] = True
_NOT_ACGT = np.ones(256, dtype=bool)
_NOT_ACGT[np.frombuffer(b"ACGT", dtype=np.uint8)] = False


def _save_side_file(folder: Path, name: str, **arrays) -> None:
    """Keep a side file for later runs (atomically); a read-only cache just computes it again next time."""
    tmp = temp_file(folder / name)
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, folder / name)
    except OSError as err:
        logger.info("could not keep %s in %s (%s): it is computed again next time", name, folder, err)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _run_edges(mask: np.ndarray, base: int, inside: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Flat starts and ends of the runs of True in `mask` (its first element at `base`).

    `inside`: a run was open before `mask[0]`; its end (if any) comes first in the returned ends.
    Returns `(starts, ends, inside at the end)`.
    """
    step = np.diff(mask.view(np.int8), prepend=np.int8(inside))
    return (np.flatnonzero(step == 1) + base, np.flatnonzero(step == -1) + base,
            bool(mask[-1]) if len(mask) else inside)


def soft_mask(genome: "Genome", source: Path | None = None, *, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Soft-masked (lower-case) runs of the FASTA a prepared reference came from, as flat intervals.

    Preparation upper-cases the sequence, so the case is read from the source FASTA (once; the runs
    are kept in `SOFT_MASK_FILE` next to `sequence.bin`). A FASTA without lower case gives no runs.

    Args:
        genome: the prepared reference.
        source: its FASTA (default: the path recorded when it was prepared).
        progress: show a progress bar over the contigs.

    Returns:
        `(starts, ends)`: `(n,)` int64 each, sorted, disjoint, flat positions (`contig.offset + pos`).

    Raises:
        GenomeReferenceError: the FASTA is missing or its records differ from the prepared reference.
    """
    side = genome.path / SOFT_MASK_FILE
    if side.is_file():
        with np.load(side) as data:
            return data["starts"], data["ends"]
    source = Path(source or genome.source or "")
    if not source.is_file():
        raise GenomeReferenceError(
            f"the FASTA {source} that {genome.path} was prepared from is not there; its soft mask (lower "
            "case) is read from it: pass the FASTA again (--reference KEY=PATH)"
        )
    contigs = list(genome.contigs.values())
    from tqdm.auto import tqdm  # lazy: 35 ms of a quick command's start-up

    starts, ends = [], []
    with _open_fasta(source) as stream:
        index, position, inside = -1, 0, False
        bar = tqdm(desc=f"reading the soft mask of {source.name}", unit="contig", disable=not progress)
        for name, chunk in _iter_records(stream, source):
            if chunk is None:
                if index >= 0:
                    _close_contig(contigs[index], position, inside, ends, source)
                index, position, inside = index + 1, 0, False
                if index >= len(contigs) or contigs[index].name != name:
                    raise GenomeReferenceError(f"{source} record {name!r} is not record {index + 1} of the prepared "
                                               f"reference {genome.path}: pass the FASTA it was prepared from")
                bar.update(1)
                continue
            seq = np.frombuffer(chunk.translate(None, b"\r\n\t "), dtype=np.uint8)
            s, e, inside = _run_edges(_LOWER[seq], contigs[index].offset + position, inside)
            starts.append(s)
            ends.append(e)
            position += len(seq)
        bar.close()
        if index != len(contigs) - 1:
            raise GenomeReferenceError(f"{source} has {index + 1} records, the prepared reference {genome.path} "
                                       f"{len(contigs)}: pass the FASTA it was prepared from")
        _close_contig(contigs[index], position, inside, ends, source)
    out = (np.concatenate(starts or [np.zeros(0, np.int64)]).astype(np.int64),
           np.concatenate(ends or [np.zeros(0, np.int64)]).astype(np.int64))
    _save_side_file(genome.path, SOFT_MASK_FILE, starts=out[0], ends=out[1])
    return out


def _close_contig(contig: "Contig", length: int, inside: bool, ends: list, source: Path) -> None:
    if length != contig.length:
        raise GenomeReferenceError(f"{source} record {contig.name!r} is {length:,} bp, the prepared reference has "
                                   f"{contig.length:,}: pass the FASTA it was prepared from")
    if inside:
        ends.append(np.array([contig.offset + contig.length], dtype=np.int64))


def n_runs(genome: "Genome", *, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Runs of bases other than A, C, G, T (assembly gaps, `N`, IUPAC codes) as flat intervals.

    Computed once from `sequence.bin` and kept in `N_RUNS_FILE`. Runs never cross a contig boundary.

    Returns:
        `(starts, ends)`: `(n,)` int64 each, sorted, disjoint, flat positions.
    """
    side = genome.path / N_RUNS_FILE
    if side.is_file():
        with np.load(side) as data:
            return data["starts"], data["ends"]
    starts, ends = [], []
    from tqdm.auto import tqdm  # lazy: 35 ms of a quick command's start-up

    bar = tqdm(total=sum(c.length for c in genome.contigs.values()), desc="finding N runs", unit="bp",
               unit_scale=True, disable=not progress)
    for contig in genome.contigs.values():
        inside = False
        for pos, block in genome.iter_chunks(contig, 1 << 26):
            s, e, inside = _run_edges(_NOT_ACGT[block], contig.offset + pos, inside)
            starts.append(s)
            ends.append(e)
            bar.update(len(block))
        if inside:
            ends.append(np.array([contig.offset + contig.length], dtype=np.int64))
    bar.close()
    out = (np.concatenate(starts or [np.zeros(0, np.int64)]).astype(np.int64),
           np.concatenate(ends or [np.zeros(0, np.int64)]).astype(np.int64))
    _save_side_file(genome.path, N_RUNS_FILE, starts=out[0], ends=out[1])
    return out


def iter_fasta(path: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """`(name, sequence)` of every record of a plain, gzip or bgzip FASTA (whitespace removed, case kept).

    For query sequences (e.g. `gbhub locate`); a reference genome is read by `prepare` instead.
    """
    path = Path(path)
    name, parts = None, []
    with _open_fasta(path) as stream:
        for record, chunk in _iter_records(stream, path):
            if chunk is None:
                if name is not None:
                    yield name, b"".join(parts)
                name, parts = record, []
            else:
                parts.append(chunk.translate(None, b"\r\n\t "))
    if name is not None:
        yield name, b"".join(parts)
