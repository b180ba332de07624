"""Unit tests of the audit building blocks against naive implementations or scikit-learn, on tiny literal inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gbhub.builders.audit.common import BASE_CODES, AuditError, encoded_chunks, from_plan, reverse_complement
from gbhub.builders.audit.duplicates import sequence_codes, within_flags
from gbhub.builders.audit.features import ABSENT, position_codes, sequence_features
from gbhub.builders.audit.overlap import best_overlap
from gbhub.builders.audit.scoring import bootstrap_weights, direction, flag, multiclass_auc, score
from gbhub.builders.audit.shortcuts import ProbeParams, lookup_scores, naive_bayes_window_scores
from gbhub.builders.audit.similarity import SimilarityParams, canonical_kmers, oriented_kmers, sketch
from gbhub.builders.audit.variants import chromsplit_splits

_RC = str.maketrans("ACGTN", "TGCAN")


def _rc(s: str) -> str:
    return s.translate(_RC)[::-1]


def _code(kmer: str) -> int:
    return int("".join(str("ACGT".index(b)) for b in kmer), 4)


@pytest.mark.parametrize("k", [1, 3, 5, 12, 16, 21])
def test_canonical_kmers_match_naive(k):
    rng = np.random.default_rng(k)
    seq = "".join(rng.choice(list("ACGT"), size=60)) + "N" + "".join(rng.choice(list("ACGT"), size=30))
    codes = BASE_CODES[np.frombuffer(seq.encode(), dtype=np.uint8)]
    kmers, valid = canonical_kmers(codes, k)
    _, _, forward = oriented_kmers(codes, k)
    assert len(kmers) == len(seq) - k + 1
    for i in range(len(seq) - k + 1):
        window = seq[i : i + k]
        assert valid[i] == ("N" not in window)
        if valid[i]:
            assert int(kmers[i]) == min(_code(window), _code(_rc(window))), (k, i)
            assert bool(forward[i]) == (_code(window) <= _code(_rc(window)))


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
    f = sequence_features(pa.array(["ACGTN", "GGGC", "NN", "ACRYA"], pa.large_string()), spectrum_k=2)
    assert f.length.tolist() == [5, 4, 2, 5]
    assert f.bases.tolist() == [[1, 1, 1, 1], [0, 1, 3, 0], [0, 0, 0, 0], [2, 1, 0, 0]]
    assert f.n.tolist() == [1, 0, 2, 0] and f.other.tolist() == [0, 0, 0, 2]
    assert f.letters.tolist() == ["N", "", "N", "RY"]
    assert f.gc().tolist() == [0.5, 1.0, 0.5, 1 / 3]
    dinucleotides = f.dinucleotide_fractions()
    assert dinucleotides[0, _code("AC")] == dinucleotides[0, _code("CG")] == dinucleotides[0, _code("GT")] == 1 / 3
    assert dinucleotides[1, _code("GG")] == 2 / 3 and dinucleotides[1, _code("GC")] == 1 / 3
    assert dinucleotides[2].tolist() == [1 / 16] * 16  # no dinucleotide of A/C/G/T at all
    assert f.spectrum.tolist() == f.dinucleotides.tolist()  # k = 2


def test_position_codes_from_both_ends():
    arr = pa.array(["ACGT", "GN", "TTTAC"], pa.large_string())
    assert position_codes(arr, 3).tolist() == [[0, 1, 2], [2, 4, ABSENT], [3, 3, 3]]
    assert position_codes(arr, 3, from_end=True).tolist() == [[3, 2, 1], [4, 2, ABSENT], [1, 0, 3]]


def test_auroc_and_its_bootstrap_match_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)  # rounded: many ties
    weights = bootstrap_weights(y, 5, seed=1)
    got = multiclass_auc(y, s, weights)
    for b in range(5):
        assert got[b] == pytest.approx(roc_auc_score(y, s, sample_weight=weights[:, b]), abs=1e-12)
        for c in (0, 1):  # stratified: every resample keeps the class sizes
            assert weights[y == c, b].sum() == (y == c).sum()
    y3 = rng.integers(0, 3, 300)
    p3 = rng.dirichlet(np.ones(3), size=300)
    assert multiclass_auc(y3, p3)[0] == pytest.approx(roc_auc_score(y3, p3, multi_class="ovr", average="macro"))


def test_score_is_seeded_and_flags_both_directions():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    s = y + rng.normal(size=400)
    a, b = score(y, s, seed=5), score(y, s, seed=5)
    assert a == b and a["ci"][0] < a["auroc"] < a["ci"][1] and a["flag"] == "fail" and a["direction"] == "above"
    reverse = score(y, -s, seed=5)
    assert reverse["auroc"] == round(1 - a["auroc"], 4) and reverse["flag"] == "fail" and reverse["direction"] == "below"
    assert [flag(x) for x in (0.5, 0.6, 0.6001, 0.7, 0.7001, 0.4, 0.3999, 0.2999, None)] == [
        "pass", "pass", "warn", "warn", "fail", "pass", "warn", "fail", "n/a"]
    assert [direction(x) for x in (0.7, 0.5, 0.2, None)] == ["above", "chance", "below", None]


def test_naive_bayes_windows_equal_scikit_learn_categorical_nb():
    from sklearn.naive_bayes import CategoricalNB

    rng = np.random.default_rng(2)
    x_train = rng.integers(0, 5, size=(200, 12)).astype(np.uint8)
    y_train = rng.integers(0, 2, 200)
    x_test = rng.integers(0, 5, size=(50, 12)).astype(np.uint8)
    starts = np.array([0, 4, 8])
    got = naive_bayes_window_scores(x_train, y_train, x_test, 2, starts, 4)
    for w, start in enumerate(starts):
        nb = CategoricalNB(alpha=1.0, min_categories=5).fit(x_train[:, start : start + 4], y_train)
        log_proba = nb.predict_joint_log_proba(x_test[:, start : start + 4])
        np.testing.assert_allclose(got[:, w], log_proba[:, 1] - log_proba[:, 0], atol=1e-5)  # float32 sums
    x_test[:, 5] = ABSENT  # a position past the end of a sequence adds nothing to any class
    again = naive_bayes_window_scores(x_train, y_train, x_test, 2, np.array([4]), 4)
    nb = CategoricalNB(alpha=1.0, min_categories=5).fit(x_train[:, [4, 6, 7]], y_train)
    log_proba = nb.predict_joint_log_proba(x_test[:, [4, 6, 7]])
    np.testing.assert_allclose(again[:, 0], log_proba[:, 1] - log_proba[:, 0], atol=1e-5)


def test_lookup_scores_give_the_train_mix_of_a_value():
    train = np.array(["a"] * 50 + ["b"] * 50)
    y = np.array([1] * 45 + [0] * 5 + [0] * 50)
    scores = lookup_scores(train, y, np.array(["a", "b", "unseen"]), 2)
    assert scores[0] > 0.8 and scores[1] < 0.05 and scores[2] == pytest.approx(0.45)


def test_sketch_keeps_one_entry_per_kmer_and_masks_repeats():
    rng = np.random.default_rng(4)
    unique = "".join(rng.choice(list("ACGT"), size=40))
    seqs = pa.array([unique, _rc(unique), "A" * 30] + ["A" * 30] * 3, pa.large_string())
    sk = sketch(seqs, SimilarityParams(k=12, max_postings=3))
    assert sk.scale == 1 and sk.masked_kmers == 1  # poly-A's one k-mer is in 4 rows > 3
    counts = sk.count(6)
    assert counts.tolist() == [28, 28, 0, 0, 0, 0]  # 29 k-mers, AGTAGCTACTCA twice (once as its RC)
    assert sorted(sk.hash[sk.row == 0].tolist()) == sorted(sk.hash[sk.row == 1].tolist())  # strand-blind
    assert (sk.forward[sk.row == 0] != sk.forward[sk.row == 1][::-1]).all()  # opposite orientations
    assert (np.diff(sk.sorted_hash.astype(np.int64)) >= 0).all() and (sk.hash[sk.order] == sk.sorted_hash).all()
    assert sketch(seqs, SimilarityParams(k=12, max_kmers=20)).scale == 7  # 29 + 29 + 4 * 19 = 134 k-mers


def test_k_grows_with_the_dataset_so_chance_matches_stay_rare():
    from gbhub.builders.audit.similarity import auto_k

    def k_for(n_kmers: int) -> int:
        return auto_k(pa.array(["A" * (n_kmers + 11)], pa.large_string()), SimilarityParams())

    assert [k_for(n) for n in (1000, 4**11, 4**11 + 1, 4**12 + 1)] == [12, 12, 13, 14]
    assert auto_k(pa.array(["ACGT"]), SimilarityParams(k=9)) == 9


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


def test_params_are_checked():
    with pytest.raises(AuditError, match="k must be 8-16"):
        SimilarityParams(k=21)
    with pytest.raises(AuditError, match="identity threshold"):
        SimilarityParams(min_identity=0)
    with pytest.raises(AuditError, match="window must be >= 1"):
        ProbeParams(window=0)


def _frame(region, start, end, labels=None):
    n = len(region)
    return pd.DataFrame({"split": ["train"] * n, "label": labels or [0] * n, "id": [str(i) for i in range(n)],
                         "region": region, "start": start, "end": end, "strand": "+"})


def test_coordinate_status():
    seqs = pa.array(["ACGT", "ACG"], pa.large_string())
    refs = {"a": "GRCh38_ensembl97"}
    assert from_plan("t", _frame(["", ""], [0, 0], [4, 3]), ("a",), refs, seqs).coordinates()[0] == "absent"
    placeholder = from_plan("t", _frame(["x", "x"], [0, 0], [4, 3]), ("a",), refs, seqs)
    assert placeholder.coordinates()[0] == "placeholder" and not placeholder.has_coordinates()
    status, reason, rows = from_plan("t", _frame(["chr1", ""], [10, 0], [14, 3]), ("a",), refs, seqs).coordinates()
    assert (status, reason, rows.tolist()) == ("present", "1 rows without a region are left out", [True, False])
    assert from_plan("t", _frame(["chr1", "chr1"], [0, 0], [4, 3]), ("a",), refs).coordinates()[0] == "present"


def test_chromsplit_uses_canonical_names_per_assembly():
    frame = _frame(["chr5", "5", "chr21", "chrX", "III", "chrV", "X", "MtDNA"], 0, 10, [0, 0, 0, 0, 1, 1, 1, 1])
    inp = from_plan("t", frame, ("human", "worm"), {"human": "GRCh38_ensembl97", "worm": "WBcel235_ensembl104"})
    assert chromsplit_splits(inp).tolist() == ["test", "test", "validation", "train",
                                               "validation", "test", "train", "train"]
    keys = inp.contig_keys()
    assert keys[3] != keys[6]  # human chrX and worm X are different contigs
    assert keys[0] == keys[1]  # chr5 and 5 are one
