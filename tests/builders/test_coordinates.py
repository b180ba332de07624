"""Coordinate tables: parsing, validation errors (file, row, fix), pinned checksums, download."""

from __future__ import annotations

import gzip
import shutil

import pytest

from gbhub.builders.coordinates import fetch_table, pinned_checksums, read_table
from gbhub.builders.errors import ChecksumError, CoordinateTableError, DownloadError

HEADER = "id,region,start,end,strand\n"


def write(tmp_path, body: str, header: str = HEADER, name: str = "positive.csv.gz"):
    path = tmp_path / name
    path.write_bytes(gzip.compress((header + body).encode(), mtime=0))
    return path


def test_reads_a_valid_table(tmp_path):
    path = write(tmp_path, "a,chr1,10,20,+\n007,V,0,5,-\nc,chrM,3,4,\n")
    frame = read_table(path)
    assert frame["id"].tolist() == ["a", "007", "c"]  # ids stay strings (leading zeros kept)
    assert frame["strand"].tolist() == ["+", "-", "+"]  # empty strand means +
    assert frame["start"].tolist() == [10, 0, 3] and frame["end"].dtype == "int64"
    assert frame["row"].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "header, body, match",
    [
        ("id,region,start,end\n", "a,chr1,1,2\n", r"missing: \['strand'\]"),
        ("id,region,start,end,strand,score\n", "a,chr1,1,2,+,5\n", r"unexpected: \['score'\]"),
        (HEADER, "a,chr1,1,2,+\nb,chr1,x5,9,+\n", r"row 2 of .*start 'x5' is not an integer"),
        (HEADER, "a,chr1,1.5,2,+\n", r"row 1 of .*start '1.5' is not an integer"),
        (HEADER, "a,chr1,1,2,+\nb,chr1,3,4,+\nc,chr1,-3,4,+\n", r"row 3 of .*start -3 is negative"),
        (HEADER, "a,chr1,5,5,+\n", r"row 1 of .*end 5 <= start 5"),
        (HEADER, "a,chr1,9,5,+\n", r"row 1 of .*end 5 <= start 9"),
        (HEADER, "a,chr1,1,5,+\nb,chr1,1,5,*\n", r"row 2 of .*strand '\*' is not '\+', '-' or empty"),
        (HEADER, "a,chr1,1,5,+\nb,chr2,1,5,+\na,chr3,1,5,-\n", r"row 3 of .*id 'a' appears twice"),
        (HEADER, "a,,1,5,+\n", r"row 1 of .*region is empty"),
        (HEADER, "a,chr1,\uff11,5,+\n", r"row 1 of .*start '\uff11' is not an integer"),  # full-width 1
        (HEADER, "a,chr1,1,5,+\n ,chr1,1,5,+\n", r"row 2 of .*id is empty"),
        (HEADER, "", r"has a header but no rows"),
    ],
)
def test_bad_tables_name_file_row_and_fix(tmp_path, header, body, match):
    path = write(tmp_path, body, header)
    with pytest.raises(CoordinateTableError, match=match) as err:
        read_table(path, name="toy/train/positive.csv.gz")
    assert "toy/train/positive.csv.gz" in str(err.value)


def test_truncated_gzip_table(tmp_path):
    path = write(tmp_path, "".join(f"r{i},chr1,{i},{i + 10},+\n" for i in range(5000)))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(CoordinateTableError, match="truncated or corrupt.*fetch it again"):
        read_table(path)


def test_empty_table_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CoordinateTableError, match="is empty: expected header id,region,start,end,strand"):
        read_table(path)


def test_pinned_checksums_cover_every_upstream_table(upstream):
    pins = pinned_checksums()
    files = sorted((upstream / "genomic_benchmarks" / "datasets").glob("*/*/*.csv.gz"))
    assert len(pins) == len(files) == 38
    for path in files:
        rel = str(path.relative_to(upstream / "genomic_benchmarks" / "datasets"))
        assert rel in pins


def test_local_copy_is_verified_against_the_pins(upstream, tmp_path):
    source = upstream / "genomic_benchmarks" / "datasets"
    path, digest = fetch_table("human_nontata_promoters", "test", "positive", coordinates_dir=source)
    assert digest == pinned_checksums()["human_nontata_promoters/test/positive.csv.gz"]
    copy = tmp_path / "datasets"
    shutil.copytree(source / "human_nontata_promoters", copy / "human_nontata_promoters")
    table = copy / "human_nontata_promoters" / "test" / "positive.csv.gz"
    data = bytearray(table.read_bytes())
    data[100] ^= 0xFF
    table.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="differs from the pinned upstream table"):
        fetch_table("human_nontata_promoters", "test", "positive", coordinates_dir=copy)
    with pytest.raises(CoordinateTableError, match="not found: --coordinates must point"):
        fetch_table("human_nontata_promoters", "train", "positive", coordinates_dir=tmp_path / "nowhere")


def test_download_at_pinned_commit_from_a_mirror(upstream, tmp_path, serve_dir, monkeypatch):
    mirror = tmp_path / "mirror"
    shutil.copytree(upstream / "genomic_benchmarks" / "datasets" / "human_nontata_promoters",
                    mirror / "datasets" / "human_nontata_promoters")
    monkeypatch.setenv("GBHUB_COORDINATES_URL", serve_dir(mirror))
    path, digest = fetch_table("human_nontata_promoters", "test", "negative", cache_dir=tmp_path / "cache",
                               progress=False)
    assert path.is_relative_to(tmp_path / "cache" / "coordinates")
    assert len(read_table(path)) == 4119
    # a mirror serving a corrupted table: refused, nothing left in the cache
    bad = mirror / "datasets" / "human_nontata_promoters" / "test" / "positive.csv.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(ChecksumError):
        fetch_table("human_nontata_promoters", "test", "positive", cache_dir=tmp_path / "cache", progress=False)
    leftovers = list((tmp_path / "cache").rglob("positive.csv.gz*"))
    assert leftovers == []
    with pytest.raises(DownloadError):  # a table the mirror does not have
        fetch_table("human_ocr_ensembl", "test", "positive", cache_dir=tmp_path / "cache", progress=False)


def test_overlong_coordinate_is_a_table_error_not_an_overflow(tmp_path):
    path = write(tmp_path, "a,chr1,1,5,+\nb,chr1,10,99999999999999999999,+\n")
    with pytest.raises(CoordinateTableError, match=r"row 2 of .*end '99999999999999999999' is not an integer"):
        read_table(path, name="toy/train/positive.csv.gz")


def test_missing_table_is_reported_as_missing_not_corrupt(tmp_path):
    with pytest.raises(CoordinateTableError, match=r"toy/train/positive.csv.gz \(.*missing.csv\) not found"):
        read_table(tmp_path / "missing.csv", name="toy/train/positive.csv.gz")
