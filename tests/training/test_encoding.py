"""gbhub.training.encoding: literal encodings, padding/cropping, reverse complement, one-hot, speed-critical paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gbhub.training import encoding as enc


def test_encode_literal_ids_padding_and_case():
    out = enc.encode(["ACGTN", "acg", "TRY"])
    np.testing.assert_array_equal(out.ids, [[0, 1, 2, 3, 4], [0, 1, 2, 5, 5], [3, 4, 4, 5, 5]])
    assert out.ids.dtype == np.uint8
    np.testing.assert_array_equal(out.lengths, [5, 3, 3])
    assert out.n_cropped == 0


def test_encode_crops_to_first_bases_and_counts():
    out = enc.encode(["ACGTAC", "GG", "TTTT"], length=4)
    np.testing.assert_array_equal(out.ids, [[0, 1, 2, 3], [2, 2, 5, 5], [3, 3, 3, 3]])
    np.testing.assert_array_equal(out.lengths, [4, 2, 4])
    assert out.n_cropped == 1


def test_encode_fixed_length_fast_path_and_longer_width():
    out = enc.encode(["ACGT", "TTTT"], length=6)
    np.testing.assert_array_equal(out.ids, [[0, 1, 2, 3, 5, 5], [3, 3, 3, 3, 5, 5]])
    same = enc.encode(["ACGT", "TTTT"])
    np.testing.assert_array_equal(same.ids, [[0, 1, 2, 3], [3, 3, 3, 3]])
    assert enc.encode([], length=3).ids.shape == (0, 3)


def test_random_roundtrip_against_naive_python():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), rng.integers(1, 60))) for _ in range(300)]
    out = enc.encode(seqs, length=40)
    lookup = {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4}
    naive = np.full((len(seqs), 40), enc.PAD_ID)
    for i, s in enumerate(seqs):
        for j, ch in enumerate(s[:40]):
            naive[i, j] = lookup[ch]
    np.testing.assert_array_equal(out.ids, naive)
    assert enc.decode(out.ids, out.lengths) == [s[:40] for s in seqs]
    assert out.n_cropped == sum(len(s) > 40 for s in seqs)


def test_reverse_complement_keeps_padding_right_numpy_and_torch():
    out = enc.encode(["AACGN", "ACG", "T"])
    rc = enc.reverse_complement_ids(out.ids, out.lengths)
    assert enc.decode(rc, out.lengths) == ["NCGTT", "CGT", "A"]
    np.testing.assert_array_equal(rc[1, 3:], [enc.PAD_ID, enc.PAD_ID])
    rc_t = enc.reverse_complement_ids(torch.from_numpy(out.ids).long(), torch.from_numpy(out.lengths))
    np.testing.assert_array_equal(rc_t.numpy(), rc)
    np.testing.assert_array_equal(enc.reverse_complement_ids(rc, out.lengths), out.ids)


def test_one_hot_channel_first_with_n_and_padding():
    oh = enc.one_hot(enc.encode(["ACN"], length=4).ids)
    assert oh.shape == (1, 4, 4) and oh.dtype == np.float32
    np.testing.assert_array_equal(
        oh[0],
        [[1, 0, 0.25, 0], [0, 1, 0.25, 0], [0, 0, 0.25, 0], [0, 0, 0.25, 0]],
    )


def test_zero_length_is_refused():
    with pytest.raises(ValueError, match="positive length"):
        enc.encode(["ACGT"], length=0)
