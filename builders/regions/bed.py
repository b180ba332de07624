"""BED input of `gbhub create`: BED3/BED6 (and wider) regions read, validated against a reference, resized."""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gbhub.builders.errors import CoordinateTableError
from gbhub.builders.genome import Genome

logger = logging.getLogger(__name__)
_SKIPPED = ("#", "track", "browser")


class BedError(CoordinateTableError):
    """A BED file is malformed or does not fit the reference: names the file, the line and the fix."""


@dataclass
class BedRegions:
    """The regions of one BED file, in file order.

    Attributes:
        source: the file as named in messages.
        region: `(n,)` contig names as the file spells them.
        contig: `(n,)` the reference's record name of each region's contig.
        start, end: `(n,)` int64, 0-based half-open.
        strand: `(n,)` `+` or `-` (BED3, or `.` in column 6, read as `+`).
        name: `(n,)` column 4, or None for BED3.
        line: `(n,)` 1-based line number of each region in the file.
        score: `(n,)` float64 target read from a score column (`read_bed(score_column=...)`), or None.
    """

    source: str
    region: np.ndarray
    contig: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    name: np.ndarray | None
    line: np.ndarray
    score: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.start)


def read_text(path: Path, source: str) -> str:
    """A plain or gzip text file's content."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except FileNotFoundError:
        raise BedError(f"{source} not found: check the path") from None
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as err:
        raise BedError(f"{source} is truncated or corrupt ({err}): write it again") from err
    except UnicodeDecodeError as err:
        raise BedError(f"{source} is not a text BED file ({err})") from err


def _fail(source: str, line: int, what: str, fix: str):
    raise BedError(f"{source} line {line}: {what}; {fix}")


def read_bed(
    path: str | os.PathLike,
    genome: Genome,
    *,
    source: str | None = None,
    strict: bool = True,
    summit_column: int | None = None,
    score_column: int | None = None,
) -> tuple[BedRegions, np.ndarray | None]:
    """Read and validate a BED file against a prepared reference.

    Lines starting with `#`, `track` or `browser` and blank lines are skipped. Every data line has the
    same number of tab-separated columns, at least 3; column 6, when present, is the strand (`+`, `-`,
    `.`). Contigs are matched in either spelling (`chr1`/`1`), as the builders do.

    Args:
        path: plain or gzip BED.
        genome: the reference the regions are on.
        source: the name used in messages (default: the path).
        strict: region BEDs (True): lines must be sorted by contig then start, and every contig must be in
            the reference and every region within its contig. Exclusion BEDs (False): unsorted lines are
            fine, lines on contigs absent from the reference are dropped and ends past a contig are clipped
            (each logged), since excluding more than the reference holds is harmless.
        summit_column: 1-based column holding the summit's offset from `start` (narrowPeak: 10), or None.
        score_column: 1-based column holding each region's float target (BED5/BED6: 5), or None; every
            line must hold a finite number there (`regions.score`).

    Returns:
        `(regions, summits)`: summits `(n,)` int64 offsets from start (-1: none), or None.

    Raises:
        BedError: naming the file, the first bad line and the fix.
    """
    source = source or str(path)
    lines = read_text(Path(path), source).split("\n")
    numbers, rows = [], []
    for number, text in enumerate(lines, 1):
        text = text.rstrip("\r")
        if not text.strip() or text.startswith(_SKIPPED):
            continue
        numbers.append(number)
        rows.append(text.split("\t"))
    if not rows:
        raise BedError(f"{source} holds no regions: expected tab-separated lines `contig<TAB>start<TAB>end`")
    width = len(rows[0])
    for number, row in zip(numbers, rows):
        if len(row) < 3:
            hint = " (columns must be separated by tabs)" if len(row[0].split()) >= 3 else ""
            _fail(source, number, f"{len(row)} column(s){hint}",
                  "a BED line needs at least contig, start and end (BED3; BED6 adds name, score, strand)")
        if len(row) != width:
            _fail(source, number, f"{len(row)} columns, but line {numbers[0]} has {width}",
                  "every line of a BED file needs the same columns")
    if summit_column is not None and not 1 <= summit_column <= width:
        raise BedError(f"{source}: --summit-column {summit_column} is not one of its {width} columns")
    if score_column is not None and not 4 <= score_column <= width:
        _fail(source, numbers[0], f"{width} columns, so no column {score_column} to read the target from",
              "add a numeric score column (BED5/BED6: column 5) or name the one that holds it with --target-column")
    frame = pd.DataFrame(rows, dtype=object)
    line = np.asarray(numbers, dtype=np.int64)
    region = frame[0].str.strip().to_numpy(object)
    start = _integers(frame[1], "start", line, source)
    end = _integers(frame[2], "end", line, source)
    bad = end <= start
    if bad.any():
        i = int(np.argmax(bad))
        _fail(source, line[i], f"{region[i]}:{start[i]}-{end[i]} is empty (end <= start)",
              "BED intervals are 0-based half-open with end > start: drop the line or give it a length")
    if width >= 6:
        strand = frame[5].str.strip().to_numpy(object)
        wrong = ~np.isin(strand, ["+", "-", "."])
        if wrong.any():
            i = int(np.argmax(wrong))
            _fail(source, line[i], f"strand (column 6) is {strand[i]!r}", "use '+', '-' or '.'")
        strand = np.where(strand == "-", "-", "+").astype(object)
    else:
        strand = np.full(len(line), "+", dtype=object)
    name = frame[3].str.strip().to_numpy(object) if width >= 4 else None
    summits = None
    if summit_column is not None:
        summits = _integers(frame[summit_column - 1], f"summit (column {summit_column})", line, source,
                            allow_negative_one=True)
        outside = (summits >= end - start)
        if outside.any():
            i = int(np.argmax(outside))
            _fail(source, line[i], f"summit offset {summits[i]} lies outside {region[i]}:{start[i]}-{end[i]}",
                  "the summit column holds the summit's offset from start (narrowPeak column 10), or -1")
    score = _floats(frame[score_column - 1], score_column, line, source) if score_column is not None else None
    contig, length = _resolve(region, line, genome, source, strict)
    keep = contig != None  # noqa: E711  (elementwise on an object array)
    if not keep.all():
        logger.warning("%s: dropped %d line(s) on contigs absent from the reference (%s)", source,
                       int((~keep).sum()), ", ".join(sorted(set(region[~keep]))[:5]))
        region, contig, start, end, strand, line, length = (
            a[keep] for a in (region, contig, start, end, strand, line, length))
        name = name[keep] if name is not None else None
        summits = summits[keep] if summits is not None else None
        score = score[keep] if score is not None else None
    past = end > length
    if past.any():
        i = int(np.argmax(past))
        if strict:
            _fail(source, line[i], f"{region[i]}:{start[i]}-{end[i]} ends past {region[i]} (length {length[i]:,})",
                  "the BED does not match this reference: pass the assembly it was made for, or drop the line")
        logger.warning("%s: clipped %d region(s) ending past their contig", source, int(past.sum()))
        end = np.minimum(end, length)
        start = np.minimum(start, end)
    if strict:
        _check_sorted(region, contig, start, line, source)
    return BedRegions(source, region, contig, start, end, strand, name, line, score), summits


def _floats(column: pd.Series, number: int, line: np.ndarray, source: str) -> np.ndarray:
    """A target column: every value a finite number (`.`, empty, `nan`, `inf` and text refused)."""
    text = column.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        shown = repr(column.iloc[i]) if text.iloc[i] else "empty"
        _fail(source, line[i], f"target (column {number}) {shown} is not a finite number",
              f"give every region a numeric score in column {number} (or drop the line), or name the column "
              "holding the target with --target-column")
    return values


def _integers(column: pd.Series, label: str, line: np.ndarray, source: str, *, allow_negative_one=False) -> np.ndarray:
    text = column.astype(str).str.strip()
    pattern = r"-1|\d{1,18}" if allow_negative_one else r"\d{1,18}"
    bad = ~text.str.fullmatch(pattern).to_numpy(bool)
    if bad.any():
        i = int(np.argmax(bad))
        _fail(source, line[i], f"{label} {column.iloc[i]!r} is not a whole number >= 0",
              "BED columns 2 and 3 are 0-based integer positions (fix or drop the line)")
    return text.astype(np.int64).to_numpy()


def _resolve(region: np.ndarray, line: np.ndarray, genome: Genome, source: str, strict: bool):
    codes, names = pd.factorize(region)
    contig = np.empty(len(names), dtype=object)
    length = np.zeros(len(names), dtype=np.int64)
    for i, spelled in enumerate(names):
        found = genome.resolve(str(spelled))
        if found is None:
            if strict:
                first = int(np.argmax(codes == i))
                records = list(genome.contigs)
                more = f", ... ({len(records)} records)" if len(records) > 6 else ""
                _fail(source, line[first], f"contig {spelled!r} is not in the reference {genome.path} "
                      f"(records {', '.join(records[:6])}{more})",
                      "pass the reference the BED was made for, or drop that contig's lines")
            contig[i] = None
            continue
        contig[i], length[i] = found.name, found.length
    return contig[codes], length[codes]


def _check_sorted(region: np.ndarray, contig: np.ndarray, start: np.ndarray, line: np.ndarray, source: str) -> None:
    """Lines of a contig must be contiguous and in start order (`sort -k1,1 -k2,2n`)."""
    n = len(start)
    if n < 2:
        return
    same = contig[1:] == contig[:-1]
    back = same & (start[1:] < start[:-1])
    if back.any():
        i = int(np.argmax(back)) + 1
        _fail(source, line[i], f"{region[i]}:{start[i]} comes after {region[i - 1]}:{start[i - 1]} "
              f"(line {line[i - 1]})",
              f"a BED must be sorted by contig, then start: sort -k1,1 -k2,2n {source} > sorted.bed")
    change = np.flatnonzero(~same) + 1
    seen: set = {contig[0]}
    for i in change:
        if contig[i] in seen:
            _fail(source, line[i], f"contig {region[i]!r} appears again after other contigs",
                  f"a BED must be sorted by contig, then start: sort -k1,1 -k2,2n {source} > sorted.bed")
        seen.add(contig[i])


def resize(regions: BedRegions, width: int, summits: np.ndarray | None, lengths: dict[str, int]) -> BedRegions:
    """Regions of `width` bp centred on each summit (when given and >= 0), else on the region's centre.

    The window is `[c - width // 2, c - width // 2 + width)` with `c` the summit or `start + (end - start) // 2`.

    Raises:
        BedError: a window would start before 0 or end past its contig (never shortened).
    """
    centre = regions.start + (regions.end - regions.start) // 2
    if summits is not None:
        centre = np.where(summits >= 0, regions.start + summits, centre)
    start = centre - width // 2
    end = start + width
    limit = np.array([lengths[c] for c in regions.contig], dtype=np.int64)
    out = (start < 0) | (end > limit)
    if out.any():
        i = int(np.argmax(out))
        where = "starts before 0" if start[i] < 0 else f"ends past {regions.region[i]} (length {limit[i]:,})"
        _fail(regions.source, regions.line[i], f"the {width} bp window {regions.region[i]}:{start[i]}-{end[i]} "
              f"around it {where}", "drop the line or pass a smaller --width")
    return BedRegions(regions.source, regions.region, regions.contig, start, end, regions.strand, regions.name,
                      regions.line, regions.score)
