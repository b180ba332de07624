"""BED input of `gbhub create`: BED3/BED6 read in either contig spelling; bad input gets one line naming file, line, fix."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from gbhub.builders.genome import Genome, prepare
from gbhub.builders.regions.bed import BedError, read_bed, resize


@pytest.fixture
def genome(tiny_fasta, tmp_path) -> Genome:
    """Records `1` (40 bp) and `MT` (14 bp), Ensembl names (see conftest)."""
    return Genome(prepare(tiny_fasta, tmp_path / "prepared", progress=False))


def _bed(tmp_path, text: str, name: str = "regions.bed"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bed6_in_ucsc_spelling_resolves_against_ensembl_records(genome, tmp_path):
    path = _bed(tmp_path, "track name=x\n# comment\nchr1\t2\t10\tpeak1\t0\t-\nchr1\t5\t9\tpeak2\t0\t.\nchrM\t0\t14\tm\t3\t+\n")
    regions, summits = read_bed(path, genome)
    assert summits is None
    assert list(regions.region) == ["chr1", "chr1", "chrM"]
    assert list(regions.contig) == ["1", "1", "MT"]
    assert regions.start.tolist() == [2, 5, 0] and regions.end.tolist() == [10, 9, 14]
    assert list(regions.strand) == ["-", "+", "+"]  # "." reads as +
    assert list(regions.name) == ["peak1", "peak2", "m"]
    assert regions.line.tolist() == [3, 4, 5]  # file lines, headers counted


def test_bed3_gzip_and_summit_resize(genome, tmp_path):
    path = tmp_path / "r.bed.gz"
    path.write_bytes(gzip.compress(b"1\t10\t20\t.\t0\t+\t0\t0\t0\t7\n1\t20\t30\t.\t0\t+\t0\t0\t0\t-1\n"))
    regions, summits = read_bed(path, genome, summit_column=10)
    assert summits.tolist() == [7, -1]
    sized = resize(regions, 6, summits, {"1": 40, "MT": 14})
    # summit at 10 + 7 = 17 -> [14, 20); no summit: centre 25 -> [22, 28)
    assert sized.start.tolist() == [14, 22] and sized.end.tolist() == [20, 28]


@pytest.mark.parametrize("text, line, what, fix", [
    ("chr1\t5\t9\nchr1\t2\t4\n", 2, "chr1:2 comes after chr1:5", "sort -k1,1 -k2,2n"),
    ("chr1\t2\t4\nchrM\t1\t3\nchr1\t9\t12\n", 3, "appears again after other contigs", "sort -k1,1 -k2,2n"),
    ("chr1\t2\t4\nchr1\t7\n", 2, "2 column(s)", "at least contig, start and end"),
    ("chr1 2 4\n", 1, "(columns must be separated by tabs)", "at least contig, start and end"),
    ("chr1\t2\t4\tx\nchr1\t5\t7\n", 2, "3 columns, but line 1 has 4", "same columns"),
    ("chr1\t2\t4\nchr9\t1\t3\n", 2, "contig 'chr9' is not in the reference", "drop that contig's lines"),
    ("chr1\t2\t4\nchr1\t6\t6\n", 2, "chr1:6-6 is empty (end <= start)", "drop the line"),
    ("chr1\t2\t4\nchr1\t30\t41\n", 2, "chr1:30-41 ends past chr1 (length 40)", "pass the assembly it was made for"),
    ("chr1\t2\tx4\n", 1, "end 'x4' is not a whole number", "0-based integer positions"),
    ("chr1\t-2\t4\n", 1, "start '-2' is not a whole number", "0-based integer positions"),
    ("chr1\t2\t4\tn\t0\t*\n", 1, "strand (column 6) is '*'", "use '+', '-' or '.'"),
])
def test_bad_bed_gets_one_line_naming_file_line_and_fix(genome, tmp_path, text, line, what, fix):
    path = _bed(tmp_path, text, "peaks.bed")
    with pytest.raises(BedError) as err:
        read_bed(path, genome, source="peaks.bed")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"peaks.bed line {line}: ")
    assert what in message and fix in message


def test_empty_and_missing_files(genome, tmp_path):
    with pytest.raises(BedError, match="holds no regions"):
        read_bed(_bed(tmp_path, "# only a comment\n"), genome)
    with pytest.raises(BedError, match="not found"):
        read_bed(tmp_path / "absent.bed", genome)


def test_resize_past_a_contig_end_is_an_error_not_a_shorter_window(genome, tmp_path):
    regions, _ = read_bed(_bed(tmp_path, "chrM\t10\t14\n", "edge.bed"), genome, source="edge.bed")
    with pytest.raises(BedError, match=r"edge.bed line 1: the 10 bp window chrM:7-17 around it ends past chrM"):
        resize(regions, 10, None, {"1": 40, "MT": 14})


def test_exclusion_beds_are_lenient(genome, tmp_path, caplog):
    text = "chr1\t30\t45\nchrUn\t1\t5\nchr1\t2\t4\n"  # past the end, unknown contig, unsorted
    regions, _ = read_bed(_bed(tmp_path, text), genome, strict=False)
    assert list(regions.contig) == ["1", "1"]
    assert regions.start.tolist() == [30, 2] and regions.end.tolist() == [40, 4]  # clipped, order kept
    assert "dropped 1 line(s) on contigs absent from the reference (chrUn)" in caplog.text
    assert np.all(regions.end > regions.start)
