"""Windows over long sequences: counts, contents equal the tokenizer's, one aggregated prediction each."""

from __future__ import annotations

import numpy as np
import pytest

from gbhub.training.kmer import KmerTokenizer, build_dnabert_tokenizer, kmer_string
from gbhub.training.windows import (
    WindowingError,
    aggregate_logits,
    count_windows,
    encode_windows,
    plan_windows,
)


def random_dna(rng, n):
    return "".join(rng.choice(list("ACGT"), size=n))


def test_2000bp_gives_seven_windows_and_one_prediction():
    """2,000 bp, k=6, 512 positions: n = 1995 k-mers, w = 510, stride 255 -> 1 + ceil(1485/255) = 7."""
    seq = random_dna(np.random.default_rng(0), 2000)
    enc = encode_windows(KmerTokenizer.dnabert(6), [seq], max_length=512)
    assert len(enc.plan) == 7
    assert enc.plan.start.tolist() == [0, 255, 510, 765, 1020, 1275, 1485]  # last window flush with the end
    assert enc.input_ids.shape == (7, 512) and enc.attention_mask.all()
    logits = np.arange(14, dtype=np.float32).reshape(7, 2)
    agg = aggregate_logits(logits, enc.plan)
    assert agg.shape == (1, 2)
    np.testing.assert_allclose(agg, [[6.0, 7.0]])


def test_window_contents_equal_tokenizer_on_substrings():
    rng = np.random.default_rng(1)
    k, max_length = 6, 64
    tok = build_dnabert_tokenizer(k)
    seqs = [random_dna(rng, n) for n in (10, 68, 69, 70, 200, 333)] + ["ACGTN" * 40]
    enc = encode_windows(KmerTokenizer.from_tokenizer(tok), seqs, max_length=max_length, stride=20)
    assert len(enc.plan) == count_windows(np.array([len(s) - k + 1 for s in seqs]), 62, 20).sum()
    for row, (i, start, count) in enumerate(zip(enc.plan.sequence_index, enc.plan.start, enc.plan.count)):
        window = seqs[i][start : start + count + k - 1]
        ref = tok(kmer_string(window, k), padding="max_length", max_length=enc.input_ids.shape[1])
        assert enc.input_ids[row].tolist() == ref["input_ids"], (i, start)
        assert enc.attention_mask[row].tolist() == ref["attention_mask"]
    # every base of every sequence is inside some window
    for i, seq in enumerate(seqs):
        sel = enc.plan.sequence_index == i
        covered = np.zeros(len(seq), bool)
        for start, count in zip(enc.plan.start[sel], enc.plan.count[sel]):
            covered[start : start + count + k - 1] = True
        assert covered.all()


def test_truncate_equals_tokenizer_truncation():
    rng = np.random.default_rng(2)
    tok = build_dnabert_tokenizer(4)
    seqs = [random_dna(rng, n) for n in (50, 600, 2000)]
    enc = encode_windows(KmerTokenizer.from_tokenizer(tok), seqs, max_length=512, strategy="truncate")
    assert enc.plan.windows_per_sequence.tolist() == [1, 1, 1]
    ref = tok([kmer_string(s, 4) for s in seqs], max_length=512, truncation=True, padding="longest")
    assert enc.input_ids.tolist() == ref["input_ids"]
    logits = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    np.testing.assert_array_equal(aggregate_logits(logits, enc.plan), logits)


def test_plan_is_vectorized_over_many_sequences():
    lengths = np.array([0, 5, 515, 516, 517, 1000, 2000])
    plan = plan_windows(lengths, k=6, max_length=512)
    assert plan.windows_per_sequence.tolist() == [1, 1, 1, 2, 2, 3, 7]
    assert plan.count.tolist()[:3] == [0, 0, 510]


def test_mean_aggregation_groups_by_sequence():
    plan = plan_windows([600, 100, 1200], k=3, max_length=256)
    per = plan.windows_per_sequence
    logits = np.random.default_rng(3).normal(size=(len(plan), 3))
    agg = aggregate_logits(logits, plan)
    bounds = np.concatenate([[0], np.cumsum(per)])
    for i in range(3):
        np.testing.assert_allclose(agg[i], logits[bounds[i] : bounds[i + 1]].mean(0))


def test_errors():
    with pytest.raises(WindowingError, match="stride must be between 1 and"):
        plan_windows([100], k=6, max_length=64, stride=63)
    with pytest.raises(WindowingError, match="unknown long-sequence strategy"):
        plan_windows([100], k=6, strategy="max")
    plan = plan_windows([100, 2000], k=6)
    with pytest.raises(WindowingError, match="expected logits of shape"):
        aggregate_logits(np.zeros((2, 2)), plan)
