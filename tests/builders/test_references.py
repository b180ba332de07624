"""Resolving references: download from a (loopback) Ensembl mirror with CHECKSUMS, local files, cache."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from tests_helpers import fetch_one

from gbhub.builders.download import bsd_sum
from gbhub.builders.errors import ChecksumError, GenomeReferenceError
from gbhub.builders.references import REFERENCES, cached_fasta, resolve_reference

FLY = REFERENCES["BDGP6.28_ensembl100"]


def fly_fasta(mito_length: int = 19_524) -> bytes:
    """A BDGP6.28-shaped FASTA holding only chromosome 4 and the mitochondrion, Ensembl names."""
    rng = np.random.default_rng(0)
    chr4 = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=1_348_131).tobytes()
    mito = b"GATTACA" * (mito_length // 7) + b"G" * (mito_length % 7)
    lines = lambda s: b"\n".join(s[i:i + 60] for i in range(0, len(s), 60))  # noqa: E731
    return b">4 dna:chromosome\n" + lines(chr4) + b"\n>mitochondrion_genome\n" + lines(mito) + b"\n"


@pytest.fixture
def mirror(tmp_path, serve_dir, monkeypatch):
    root = tmp_path / "mirror"
    target = root / FLY.path
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(fly_fasta(), mtime=0))
    checksum, blocks = bsd_sum(target)
    (target.parent / "CHECKSUMS").write_text(f"{checksum} {blocks} {target.name}\n1 1 other.fa.gz\n")
    monkeypatch.setenv("GBHUB_ENSEMBL_URL", serve_dir(root))
    return target


def test_download_verify_prepare_and_resolve_ucsc_names(mirror, tmp_path):
    resolved = resolve_reference(FLY, cache_dir=tmp_path / "cache", progress=False)
    assert resolved.source == "download"
    assert cached_fasta(FLY, tmp_path / "cache") == resolved.fasta
    assert fetch_one(resolved.genome, "chrM", 0, 7) == "GATTACA"  # mitochondrion_genome == chrM
    assert fetch_one(resolved.genome, "chr4", 0, 10) == fetch_one(resolved.genome, "4", 0, 10)
    again = resolve_reference(FLY, cache_dir=tmp_path / "cache", progress=False)  # cached: no re-prepare
    assert again.genome.path == resolved.genome.path and again.sha256 == resolved.sha256


def test_cached_download_is_not_hashed_again_on_every_build(mirror, tmp_path, monkeypatch):
    first = resolve_reference(FLY, cache_dir=tmp_path / "cache", progress=False)

    def no_rehash(path, *args, **kwargs):
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr("gbhub.builders.download.sha256_file", no_rehash)
    monkeypatch.setattr("gbhub.builders.references.sha256_file", no_rehash)
    again = resolve_reference(FLY, cache_dir=tmp_path / "cache", progress=False)
    assert again.sha256 == first.sha256 and again.source == "download"


def test_published_checksum_mismatch_is_refused(mirror, tmp_path):
    (mirror.parent / "CHECKSUMS").write_text(f"12345 1 {mirror.name}\n")
    with pytest.raises(ChecksumError):
        resolve_reference(FLY, cache_dir=tmp_path / "cache", progress=False)
    assert cached_fasta(FLY, tmp_path / "cache") is None


def test_wrong_assembly_download_is_refused_and_not_prepared(mirror, tmp_path):
    mirror.write_bytes(gzip.compress(fly_fasta(mito_length=16_569), mtime=0))  # a human-sized chrM
    checksum, blocks = bsd_sum(mirror)
    (mirror.parent / "CHECKSUMS").write_text(f"{checksum} {blocks} {mirror.name}\n")
    with pytest.raises(GenomeReferenceError, match="is not BDGP6.28: contig 'mitochondrion_genome' is 16,569 bp"):
        resolve_reference(FLY, cache_dir=tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache").rglob("index.json"))


def test_local_file_is_hashed_and_prepared_in_the_cache(tmp_path):
    fasta = tmp_path / "fly.fa.gz"
    fasta.write_bytes(gzip.compress(fly_fasta(), mtime=0))
    resolved = resolve_reference(FLY, local_path=fasta, cache_dir=tmp_path / "cache", progress=False)
    assert resolved.source == "local file" and resolved.fasta == fasta
    assert resolved.genome.path == tmp_path / "cache" / "prepared" / f"{resolved.sha256[:16]}-BDGP6.28"
    assert resolved.genome.source_sha256 == resolved.sha256


def test_local_file_hash_is_remembered_until_the_file_changes(tmp_path):
    fasta = tmp_path / "fly.fa"
    fasta.write_bytes(fly_fasta())
    first = resolve_reference(FLY, local_path=fasta, cache_dir=tmp_path / "cache", progress=False)
    memo = list((tmp_path / "cache" / "hashes").iterdir())
    assert len(memo) == 1 and memo[0].read_text().strip() == first.sha256
    assert resolve_reference(FLY, local_path=fasta, cache_dir=tmp_path / "cache", progress=False).sha256 == first.sha256
    fasta.write_bytes(fly_fasta().replace(b"GATTACA", b"GATTACC", 1))  # same size, new content and mtime
    changed = resolve_reference(FLY, local_path=fasta, cache_dir=tmp_path / "cache", progress=False)
    assert changed.sha256 != first.sha256
