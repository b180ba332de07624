"""Vectorized k-mer tokenization equals the checkpoint's BertTokenizer on space-joined k-mers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gbhub.training.kmer import (
    KmerTokenizationError,
    KmerTokenizer,
    build_dnabert_tokenizer,
    dnabert_vocab,
    iter_chunks,
    kmer_string,
)

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def random_sequences(rng: np.random.Generator, n: int, low: int, high: int, n_rate: float = 0.03) -> list[str]:
    """`n` random sequences of `low..high` bp over ACGT with `N` at rate `n_rate`, plus their reverse complements."""
    p = [(1 - n_rate) / 4] * 4 + [n_rate]
    forward = ["".join(rng.choice(list("ACGTN"), p=p, size=int(rng.integers(low, high + 1)))) for _ in range(n)]
    return forward + [s.translate(COMPLEMENT)[::-1] for s in forward]


def reference(tokenizer, sequences, k, **kwargs) -> dict[str, np.ndarray]:
    """The naive path: space-joined k-mers through the tokenizer."""
    out = tokenizer([kmer_string(s, k) for s in sequences], return_tensors="np", **kwargs)
    return {key: out[key] for key in ("input_ids", "attention_mask")}


def test_dnabert_vocab_literal():
    vocab = dnabert_vocab(6)
    assert len(vocab) == 4101
    assert list(vocab)[:7] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "AAAAAA", "AAAAAT"]
    assert vocab["GGGGGG"] == 4100 and vocab["AAAAAT"] == 6 and vocab["AAAATA"] == 9
    for k in (3, 4, 5):
        assert len(dnabert_vocab(k)) == 5 + 4**k


def test_built_tokenizer_is_not_all_unk():
    """transformers 5 trap: `vocab_file=` is ignored; our builder must map k-mers to their ids."""
    tok = build_dnabert_tokenizer(6)
    assert len(tok) == 4101
    assert tok("AAAAAA CCCCCC")["input_ids"] == [2, 5, 2735, 3]
    assert tok("ACGTNA")["input_ids"] == [2, 1, 3]  # N-containing k-mer -> [UNK]


def test_literal_ids_k3():
    kt = KmerTokenizer.dnabert(3)
    out = kt(["ATCGN", "AT"], max_length=8, padding="max_length")
    # ATC = 5 + 0*16 + 1*4 + 2 = 11; TCG = 5 + 1*16 + 2*4 + 3 = 32; CGN -> [UNK]
    assert out["input_ids"].tolist() == [[2, 11, 32, 1, 3, 0, 0, 0], [2, 3, 0, 0, 0, 0, 0, 0]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]]


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_equivalence_around_window_limit(k):
    """Random sequences with N, both strands, lengths straddling 512 tokens, k = 3..6."""
    rng = np.random.default_rng(k)
    tok = build_dnabert_tokenizer(k)
    kt = KmerTokenizer.from_tokenizer(tok)
    limit_bp = 510 + k - 1  # the longest sequence whose k-mers fit 512 positions
    seqs = random_sequences(rng, 40, limit_bp - 8, limit_bp + 8) + random_sequences(rng, 10, 0, 40)
    seqs += ["", "A" * (k - 1), "A" * k, "N" * 20, "acgtacgtac", "ARYKMACGTWS"]  # edges, soft-mask, IUPAC
    for kwargs in (
        dict(max_length=512, truncation=True, padding="longest"),
        dict(max_length=512, truncation=True, padding="max_length"),
        dict(max_length=100, truncation=True, padding="max_length"),
    ):
        ours = kt(seqs, **kwargs)
        ref = reference(tok, seqs, k, **kwargs)
        np.testing.assert_array_equal(ours["input_ids"], ref["input_ids"], err_msg=str(kwargs))
        np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"], err_msg=str(kwargs))


def test_equivalence_saved_and_reloaded_tokenizer(tmp_path):
    """The path a real checkpoint takes: a saved tokenizer reloaded with AutoTokenizer."""
    from transformers import AutoTokenizer

    build_dnabert_tokenizer(6).save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    kt = KmerTokenizer.from_tokenizer(tok)
    seqs = random_sequences(np.random.default_rng(0), 20, 200, 300)
    np.testing.assert_array_equal(kt(seqs)["input_ids"], reference(tok, seqs, 6, padding="longest")["input_ids"])


def test_vocab_in_other_order_uses_its_ids():
    vocab = dnabert_vocab(3)
    shuffled = dict(zip(vocab, np.random.default_rng(1).permutation(len(vocab)).tolist()))
    kt = KmerTokenizer(shuffled)
    ids = kt(["ACGT"])["input_ids"][0].tolist()
    assert ids == [shuffled["[CLS]"], shuffled["ACG"], shuffled["CGT"], shuffled["[SEP]"]]


def test_chunking_matches_single_pass():
    seqs = random_sequences(np.random.default_rng(2), 50, 1, 120)
    kt = KmerTokenizer.dnabert(4)
    whole = kt(seqs)
    chunks = list(iter_chunks(seqs, max_bases=300))
    assert len(chunks) > 5 and sum(map(len, chunks)) == len(seqs)
    parts = [kt(c, padding="max_length", max_length=whole["input_ids"].shape[1])["input_ids"] for c in chunks]
    np.testing.assert_array_equal(np.concatenate(parts), whole["input_ids"])


def test_errors_are_clear():
    with pytest.raises(KmerTokenizationError, match="k-mer size must be one of 3, 4, 5, 6"):
        KmerTokenizer.dnabert(7)
    with pytest.raises(KmerTokenizationError, match="lacks .* of the 64 3-mers"):
        KmerTokenizer({**{t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])}, "AAA": 4}, k=3)
    with pytest.raises(KmerTokenizationError, match="cannot infer the k-mer size"):
        KmerTokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "A": 4, "AA": 5})
    with pytest.raises(KmerTokenizationError, match="windows"):
        KmerTokenizer.dnabert(6)(["A" * 600], max_length=512, truncation=False)
    from transformers import BertTokenizer

    lower = BertTokenizer(vocab=dnabert_vocab(3), do_lower_case=True)
    with pytest.raises(KmerTokenizationError, match="do_lower_case=False"):
        KmerTokenizer.from_tokenizer(lower)


def test_all_kmers_round_trip_k5():
    """Every 5-mer maps to its own vocabulary id."""
    vocab = dnabert_vocab(5)
    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=5)]
    ids = KmerTokenizer.dnabert(5)(kmers, max_length=3)["input_ids"][:, 1]
    assert ids.tolist() == [vocab[s] for s in kmers]
