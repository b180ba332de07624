"""Preparing FASTA and extracting intervals: conventions, names, bounds, bad references."""

from __future__ import annotations

import gzip
import mmap
import random

import numpy as np
import pyfaidx
import pytest
from tests_helpers import fetch_one  # noqa: F401  (see tests/builders/tests_helpers.py)

from gbhub.builders.assemblies import canonical_contig
from gbhub.builders.errors import CoordinateTableError, GenomeReferenceError
from gbhub.builders.genome import GZIP_OPENERS, Genome, prepare


def test_canonical_contig_spellings():
    assert canonical_contig("chr1") == canonical_contig("1") == "1"
    for mito in ("chrM", "MT", "MtDNA", "mitochondrion_genome", "M"):
        assert canonical_contig(mito) == "MT"
    assert canonical_contig("chrI") == canonical_contig("I") == "I"
    assert canonical_contig("chr2L") == "2L"
    assert canonical_contig("ENST00000217185.6") == canonical_contig("ENST00000217185") == "ENST00000217185"
    assert canonical_contig("KI270728.1") == "KI270728.1"  # scaffold versions are not transcript versions


def test_extracts_literal_sequences(tiny_fasta, tmp_path):
    genome = Genome(prepare(tiny_fasta, tmp_path / "prep", progress=False))
    assert {name: c.length for name, c in genome.contigs.items()} == {"1": 40, "MT": 14}
    # upper case, N kept, 0-based half-open; the record spans two FASTA lines
    assert fetch_one(genome, "chr1", 6, 16) == "CAACGTNNGG"
    assert fetch_one(genome, "1", 0, 4) == "ACGT"
    assert fetch_one(genome, "chr1", 20, 30) == "ATCGCGTTAA"  # crosses the line break at 25
    # reverse complement for '-': CAACGTNNGG -> CCNNACGTTG
    assert fetch_one(genome, "chr1", 6, 16, "-") == "CCNNACGTTG"
    assert fetch_one(genome, "chr1", 38, 40, "-") == "GC"
    for name in ("chrM", "MT", "MtDNA", "mitochondrion_genome"):
        assert fetch_one(genome, name, 0, 7) == "GATTACA"
    assert fetch_one(genome, "chrM", 0, 7, "-") == "TGTAATC"


def test_blank_lines_before_the_first_header_are_ignored(tmp_path):
    fasta = tmp_path / "blank.fa"
    fasta.write_text("\n\n>chr1\nACGT\n")
    assert fetch_one(Genome(prepare(fasta, tmp_path / "prep", progress=False)), "1", 0, 4) == "ACGT"


def test_gzip_and_bgzip_give_the_same_sequences(tiny_fasta, tiny_fasta_gz, tmp_path):
    text = tiny_fasta.read_bytes()
    bgzip = tmp_path / "tiny.bgz.fa.gz"  # bgzip is a series of gzip members
    bgzip.write_bytes(gzip.compress(text[:30], mtime=0) + gzip.compress(text[30:], mtime=0))
    plain = Genome(prepare(tiny_fasta, tmp_path / "a", progress=False))
    for i, path in enumerate((tiny_fasta_gz, bgzip)):
        other = Genome(prepare(path, tmp_path / f"b{i}", progress=False))
        assert (other.path / "sequence.bin").read_bytes() == (plain.path / "sequence.bin").read_bytes()
        assert fetch_one(other, "chrM", 3, 10, "-") == fetch_one(plain, "chrM", 3, 10, "-")


def test_iupac_codes_are_complemented(tmp_path):
    fasta = tmp_path / "iupac.fa"
    fasta.write_text(">chr1\nACGTNRYKMSWBDHV\n")
    genome = Genome(prepare(fasta, tmp_path / "prep", progress=False))
    assert fetch_one(genome, "chr1", 0, 15, "-") == "BDHVWSKMRYNACGT"


@pytest.mark.parametrize("window, max_rows", [(1 << 28, 1 << 18), (4096, 7)])
def test_matches_pyfaidx_on_random_intervals(tmp_path, monkeypatch, window, max_rows):
    # small windows force many mappings and the reassembly of row order across them
    monkeypatch.setattr("gbhub.builders.genome._WINDOW", window)
    monkeypatch.setattr("gbhub.builders.genome._MAX_ROWS", max_rows)
    rng = np.random.default_rng(7)
    n1 = 3 * mmap.ALLOCATIONGRANULARITY + 17  # windows start at allocation-granularity offsets
    contigs = {f"chr{i}": "".join(rng.choice(list("ACGTN"), size=n)) for i, n in ((1, n1), (2, 3333))}
    fasta = tmp_path / "rand.fa"
    fasta.write_text("".join(f">{k}\n" + "\n".join(v[j:j + 61] for j in range(0, len(v), 61)) + "\n"
                             for k, v in contigs.items()))
    genome = Genome(prepare(fasta, tmp_path / "prep", progress=False))
    faidx = pyfaidx.Fasta(str(fasta), as_raw=True, strict_bounds=True)
    regions = rng.choice(["chr1", "chr2"], size=500)
    lengths = {"chr1": n1, "chr2": 3333}
    starts = np.array([rng.integers(0, lengths[r] - 1) for r in regions])
    ends = np.array([rng.integers(s + 1, min(s + 400, lengths[r]) + 1) for s, r in zip(starts, regions)])
    minus = rng.random(500) < 0.5
    got = genome.fetch(regions, starts, ends, minus).to_pylist()
    complement = str.maketrans("ACGTN", "TGCAN")
    for r, s, e, m, seq in zip(regions, starts, ends, minus, got):
        # pyfaidx wants 0-based slicing here too: faidx[r][s:e] is seq[s:e]
        expected = faidx[r][int(s):int(e)]
        assert seq == (expected[::-1].translate(complement) if m else expected)
    faidx.close()


def test_window_past_contig_end_is_an_error_not_truncated(tiny_fasta, tmp_path):
    genome = Genome(prepare(tiny_fasta, tmp_path / "prep", progress=False))
    with pytest.raises(CoordinateTableError) as err:
        genome.fetch(np.array(["chr1", "chr1"]), np.array([0, 30]), np.array([10, 41]),
                     np.array([False, False]), table="toy/train/positive.csv.gz", rows=np.array([16, 17]))
    message = str(err.value)
    assert "chr1:30-41 ends past chr1 (length 40)" in message
    assert "row 17 of toy/train/positive.csv.gz" in message


def test_unknown_contig_names_row_and_table(tiny_fasta, tmp_path):
    genome = Genome(prepare(tiny_fasta, tmp_path / "prep", progress=False))
    with pytest.raises(CoordinateTableError, match=r"unknown contig 'chr7' at row 2 of t\.csv"):
        genome.fetch(np.array(["chr1", "chr7"]), np.array([0, 0]), np.array([5, 5]),
                     np.array([False, False]), table="t.csv", rows=np.array([1, 2]))


def test_wrong_assembly_is_refused_naming_the_contig(tmp_path):
    fasta = tmp_path / "short22.fa"
    fasta.write_text(">22\n" + "A" * 1000 + "\n")
    with pytest.raises(GenomeReferenceError, match=r"contig '22' is 1,000 bp, but GRCh38 22 is 50,818,468 bp"):
        prepare(fasta, tmp_path / "prep", assembly="GRCh38", progress=False)
    assert not (tmp_path / "prep").exists()
    assert not list(tmp_path.glob(".prep.tmp-*"))


def test_reference_without_any_assembly_contig_is_refused(tiny_fasta, tmp_path):
    # tiny has "1" (40 bp, wrong length -> refused first) - use a FASTA with only unrelated names
    fasta = tmp_path / "other.fa"
    fasta.write_text(">scaffold_1\nACGT\n")
    with pytest.raises(GenomeReferenceError, match="none of the WBcel235 chromosomes"):
        prepare(fasta, tmp_path / "prep", assembly="WBcel235", progress=False)


def test_truncated_gzip_fasta_leaves_no_prepared_reference(tmp_path):
    data = gzip.compress((">chr1\n" + "ACGT" * 50_000 + "\n").encode(), mtime=0)
    fasta = tmp_path / "cut.fa.gz"
    fasta.write_bytes(data[: len(data) // 2])
    with pytest.raises(GenomeReferenceError, match="truncated or corrupt"):
        prepare(fasta, tmp_path / "prep", progress=False)
    assert not (tmp_path / "prep").exists()
    assert list(tmp_path.iterdir()) == [fasta]


@pytest.mark.parametrize(
    "text, match",
    [
        ("ACGT\n", "does not start with a '>' header"),
        (">chr1\nACGU\n", "'U'.*not a nucleotide code"),
        (">chr1\nACGT\n>1\nAC\n", "'chr1' and '1', which name the same contig"),
        ("", "holds no FASTA records"),
    ],
)
def test_malformed_fasta(tmp_path, text, match):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(text)
    with pytest.raises(GenomeReferenceError, match=match):
        prepare(fasta, tmp_path / "prep", progress=False)
    assert not (tmp_path / "prep").exists()


def test_empty_and_tiny_intervals_and_long_ones(tmp_path):
    seq = "".join(random.Random(3).choice("ACGT") for _ in range(3000))
    fasta = tmp_path / "one.fa"
    fasta.write_text(f">chrX\n{seq}\n")
    genome = Genome(prepare(fasta, tmp_path / "prep", progress=False))
    for start, end in ((0, 1), (5, 17), (100, 112), (100, 113), (0, 3000)):
        assert fetch_one(genome, "X", start, end) == seq[start:end]


@pytest.mark.parametrize("start, end", [(-3, 2), (5, 5), (6, 4)])
def test_negative_or_empty_interval_is_refused_not_read_from_the_previous_contig(tmp_path, start, end):
    fasta = tmp_path / "two.fa"
    fasta.write_text(">chr1\nAAAACCCC\n>chr2\nGGGGTTTT\n")
    genome = Genome(prepare(fasta, tmp_path / "prep", progress=False))
    with pytest.raises(CoordinateTableError, match=rf"chr2:{start}-{end} at row 2 of t\.csv is not an interval"):
        genome.fetch(np.array(["chr1", "chr2"]), np.array([0, start]), np.array([3, end]),
                     np.array([False, True]), table="t.csv", rows=np.array([1, 2]))


def test_an_error_inside_extraction_is_not_masked(tiny_fasta, tmp_path, monkeypatch):
    genome = Genome(prepare(tiny_fasta, tmp_path / "prep", progress=False))

    def boom(window, *args):
        view = np.frombuffer(window, dtype=np.uint8)  # a live export of the mapping  # noqa: F841
        raise RuntimeError("disk error")

    monkeypatch.setattr("gbhub.builders.genome._extract", boom)
    with pytest.raises(RuntimeError, match="disk error"):
        fetch_one(genome, "chr1", 0, 4)


@pytest.mark.parametrize("backend", list(GZIP_OPENERS))
def test_every_gzip_reader_prepares_the_same_bytes(tiny_fasta, tmp_path, monkeypatch, backend):
    text = tiny_fasta.read_bytes()  # as gzip and as bgzip (multi-member)
    single, multi = tmp_path / "one.fa.gz", tmp_path / "multi.fa.gz"
    single.write_bytes(gzip.compress(text, mtime=0))
    multi.write_bytes(gzip.compress(text[:30], mtime=0) + gzip.compress(text[30:], mtime=0))
    plain = (prepare(tiny_fasta, tmp_path / "plain", progress=False) / "sequence.bin").read_bytes()
    monkeypatch.setattr("gbhub.builders.genome.GZIP_BACKEND", backend)
    for path in (single, multi):
        assert (prepare(path, tmp_path / f"{backend}-{path.stem}", progress=False) / "sequence.bin").read_bytes() == plain
