"""Unit tests of the audit building blocks against naive implementations, on tiny literal inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gbhub.builders.audit.common import AuditError, encoded_chunks, from_plan, reverse_complement
from gbhub.builders.audit.duplicates import sequence_codes, within_flags
from gbhub.builders.audit.overlap import best_overlap
from gbhub.builders.audit.shortcuts import flag, sequence_features
from gbhub.builders.audit.similarity import MinHashParams, canonical_kmers, estimate_jaccard, sketches
from gbhub.builders.audit.variants import chromsplit_splits

_RC = str.maketrans("ACGTN", "TGCAN")


def _rc(s: str) -> str:
    return s.translate(_RC)[::-1]


def _code(kmer: str) -> int:
    return int("".join("ACGT".index(b).__str__() for b in kmer), 4)


@pytest.mark.parametrize("k", [1, 3, 5, 16, 21])
def test_canonical_kmers_match_naive(k):
    rng = np.random.default_rng(k)
    seq = "".join(rng.choice(list("ACGT"), size=60)) + "N" + "".join(rng.choice(list("ACGT"), size=30))
    codes = np.frombuffer(seq.encode(), dtype=np.uint8)
    from gbhub.builders.audit.common import BASE_CODES

    kmers, valid = canonical_kmers(BASE_CODES[codes], k)
    assert len(kmers) == len(seq) - k + 1
    for i in range(len(seq) - k + 1):
        window = seq[i : i + k]
        assert valid[i] == ("N" not in window)
        if valid[i]:
            assert int(kmers[i]) == min(_code(window), _code(_rc(window))), (k, i)


def test_reverse_complement_of_a_sliced_array():
    arr = pa.array(["xx", "ACGTN", "", "AACR", "G"], pa.large_string()).slice(1)
    assert reverse_complement(arr).to_pylist() == ["NACGT", "", "YGTT", "C"]


def test_encoded_chunks_keep_rows_apart():
    arr = pa.array(["ACG", "T", "GGNA"], pa.large_string())
    chunks = list(encoded_chunks(arr, max_bases=4, pad=2))
    assert [(c.lo, c.hi) for c in chunks] == [(0, 2), (2, 3)]
    assert chunks[0].codes.tolist() == [0, 1, 2, 3, 4, 4] and chunks[0].row.tolist() == [0, 0, 0, 1, 2, 2]
    assert chunks[0].windows_within(2).tolist() == [True, True, False, False, True]


def test_sequence_features_literal():
    feats = sequence_features(pa.array(["ACGTN", "GGGC", "NN"], pa.large_string()))
    assert feats["length"].tolist() == [5, 4, 2]
    assert feats["gc"].tolist() == [0.5, 1.0, 0.5]
    kmer3 = feats["kmer3"]
    assert kmer3[0, _code("ACG")] == kmer3[0, _code("CGT")] == 0.5 and kmer3[0].sum() == 1
    assert kmer3[1, _code("GGG")] == kmer3[1, _code("GGC")] == 0.5
    assert kmer3[2].sum() == 0


def test_sketches_are_strand_blind_and_estimate_jaccard():
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), size=3000))
    shifted = seq[1000:] + "".join(rng.choice(list("ACGT"), size=1000))  # 2000 of 3000 bp shared
    sk = sketches(pa.array([seq, _rc(seq), shifted, "ACGT"], pa.large_string()), MinHashParams())
    assert (sk[0] == sk[1]).all()
    assert (sk[3] == 0xFFFFFFFF).all()  # shorter than k: no k-mer
    true = (2000 - 15) / (4000 - 15)
    assert abs(estimate_jaccard(sk[[0]], sk[[2]])[0] - true) < 0.1


def test_best_overlap_matches_brute_force():
    rng = np.random.default_rng(0)
    nq, nr = 300, 400
    qk, rk = rng.integers(0, 3, nq), rng.integers(0, 3, nr)
    qs, rs = rng.integers(0, 5000, nq), rng.integers(0, 5000, nr)
    qe, re = qs + rng.integers(1, 300, nq), rs + rng.integers(1, 900, nr)
    rs[:5], re[:5], rk[:5] = qs[:5], qe[:5], qk[:5]  # a few identical intervals
    best, identical = best_overlap(qk, qs, qe, rk, rs, re, max_pairs=50)
    for i in range(nq):
        same = rk == qk[i]
        cover = np.clip(np.minimum(qe[i], re[same]) - np.maximum(qs[i], rs[same]), 0, None)
        assert best[i] == (cover.max() if cover.size else 0)
        assert identical[i] == bool(((rs[same] == qs[i]) & (re[same] == qe[i])).any())
    assert identical[:5].all()


def test_within_flags_keep_the_first_occurrence():
    seqs = pa.array(["AAC", "GTT", "AAC", "CCC", "GTT"], pa.large_string())  # GTT = RC of AAC
    exact, rc = within_flags(sequence_codes(seqs), np.array(["a", "a", "a", "a", "b"]))
    assert exact.tolist() == [False, False, True, False, False]
    assert rc.tolist() == [False, True, False, False, False]


def test_flag_thresholds():
    assert [flag(x) for x in (0.5, 0.6, 0.6001, 0.7, 0.7001, None)] == ["pass", "pass", "warn", "warn", "fail", "n/a"]


def test_minhash_params_are_checked():
    with pytest.raises(AuditError, match="power of two"):
        MinHashParams(bins=48)
    with pytest.raises(AuditError, match="threshold"):
        MinHashParams(threshold=0)


def test_chromsplit_uses_canonical_names_per_assembly():
    frame = pd.DataFrame({
        "split": ["train"] * 8,
        "label": [0, 0, 0, 0, 1, 1, 1, 1],
        "id": list("abcdefgh"),
        "region": ["chr5", "5", "chr21", "chrX", "III", "chrV", "X", "MtDNA"],
        "start": 0, "end": 10, "strand": "+",
    })
    inp = from_plan("t", frame, ("human", "worm"), {"human": "GRCh38_ensembl97", "worm": "WBcel235_ensembl104"})
    assert chromsplit_splits(inp).tolist() == ["test", "test", "validation", "train",
                                               "validation", "test", "train", "train"]
    keys = inp.contig_keys()
    assert keys[3] != keys[6]  # human chrX and worm X are different contigs
    assert keys[0] == keys[1]  # chr5 and 5 are one
