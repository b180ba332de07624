"""bp windows (DeepEnhancer): offsets on hand-made lengths, window contents, max/mean aggregation, window ids."""

from __future__ import annotations

import numpy as np
import pytest

from gbhub.builders.windows import WindowError, region_of, tile_offsets, window_ids
from gbhub.training import encoding
from gbhub.training.windows import (
    WindowingError,
    aggregate_logits,
    encode_bp_windows,
    plan_bp_windows,
    plan_from_window_ids,
)


def test_long_regions_are_tiled_with_the_last_window_flush():
    region, offset = tile_offsets([500], 300, 2)
    assert len(offset) == 101 and offset[:3].tolist() == [0, 2, 4] and offset[-1] == 200  # the paper's stride 2
    region, offset = tile_offsets([500], 300, 3)  # 200 is not a multiple of 3: one more window, flush
    assert len(offset) == 68 and offset[-2:].tolist() == [198, 200]
    region, offset = tile_offsets([300, 301], 300, 2)
    assert region.tolist() == [0, 1, 1] and offset.tolist() == [0, 0, 1]


def test_short_region_policies():
    assert tile_offsets([251], 300, 2, short="center")[1].tolist() == [-25]  # 25 bp before, 24 after
    assert tile_offsets([251], 300, 2, short="start")[1].tolist() == [0]
    contain = tile_offsets([100], 300, 2, short="contain")[1]
    assert len(contain) == 101 and contain[0] == -200 and contain[-1] == 0  # every window holding all 100 bp
    overlap = tile_offsets([100], 300, 2, short="overlap")[1]
    assert len(overlap) == 200 and overlap[0] == -299 and overlap[-1] == 99  # every window sharing >= 1 bp


def test_cap_keeps_evenly_spaced_windows_first_and_last():
    assert tile_offsets([500], 300, 2, max_windows=3)[1].tolist() == [0, 100, 200]
    assert tile_offsets([500], 300, 2, max_windows=1)[1].tolist() == [100]  # one window: the middle one
    region, offset = tile_offsets([500, 300, 100], 300, 2, max_windows=2, short="contain")
    assert region.tolist() == [0, 0, 1, 2, 2] and offset.tolist() == [0, 200, 0, -200, 0]
    assert len(tile_offsets([10_000] * 7, 300, 2, max_windows=20)[0]) == 7 * 20  # the cap bounds the total


def test_bad_window_arguments_are_refused():
    with pytest.raises(WindowError, match="between 1 and the window width"):
        tile_offsets([100], 50, 51)
    with pytest.raises(WindowError, match="unknown policy"):
        tile_offsets([100], 50, 2, short="pad")
    with pytest.raises(WindowingError, match="at least 1"):
        plan_bp_windows([100], 50, 2, max_windows=0)


def _rows(ids: np.ndarray) -> list[str]:
    """Decode windows that may carry padding on either side: padding shown as '.'."""
    return ["".join("ACGTN."[i] for i in row) for row in ids]


def test_window_contents_with_padding_on_hand_made_sequences():
    seqs = ["ACGTA", "AACCGGTTAACC"]
    plan = plan_bp_windows([len(s) for s in seqs], 6, 3, short="start")
    assert plan.sequence_index.tolist() == [0, 1, 1, 1] and plan.start.tolist() == [0, 0, 3, 6]
    assert _rows(encode_bp_windows(seqs, plan)) == ["ACGTA.", "AACCGG", "CGGTTA", "TTAACC"]
    plan = plan_bp_windows([5], 8, 1, short="contain")
    assert _rows(encode_bp_windows(["ACGTN"], plan)) == ["...ACGTN", "..ACGTN.", ".ACGTN..", "ACGTN..."]
    plan = plan_bp_windows([5], 8, 1, short="center")
    assert _rows(encode_bp_windows(["acgta"], plan)) == ["..ACGTA."]  # floor((5 - 8) / 2) = -2; lower case read


def test_truncate_keeps_the_first_window_of_long_sequences():
    plan = plan_bp_windows([12, 3], 6, 2, short="contain", long="truncate")
    assert plan.sequence_index.tolist() == [0, 1, 1, 1] and plan.start.tolist() == [0, -3, -1, 0]


def test_encoding_is_chunked_without_changing_the_result():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), int(n))) for n in rng.integers(1, 90, 50)]
    plan = plan_bp_windows([len(s) for s in seqs], 40, 7, max_windows=5, short="contain")
    whole = encode_bp_windows(seqs, plan)
    np.testing.assert_array_equal(encode_bp_windows(seqs, plan, chunk=3), whole)
    for row, (i, start) in enumerate(zip(plan.sequence_index, plan.start)):
        expected = "".join(seqs[i][p] if 0 <= p < len(seqs[i]) else "." for p in range(start, start + 40))
        assert _rows(whole[row : row + 1])[0] == expected
    assert whole.dtype == np.uint8 and set(np.unique(whole)) <= set(range(encoding.VOCAB_SIZE))


def test_max_aggregation_is_the_papers_region_score():
    plan = plan_bp_windows([10, 6, 8], 6, 2, max_windows=3)  # windows: 3, 1, 2
    assert plan.windows_per_sequence.tolist() == [3, 1, 2]
    logits = np.array([[0.0, 1.0], [0.0, 3.0], [2.0, 0.0], [5.0, 4.0], [1.0, 0.0], [0.0, -1.0]])
    out = aggregate_logits(logits, plan, "max")
    np.testing.assert_array_equal(out, [[0.0, 3.0], [5.0, 4.0], [1.0, 0.0]])  # the window with max P(class 1)
    p1 = np.exp(logits[:, 1]) / np.exp(logits).sum(1)
    agg_p1 = np.exp(out[:, 1]) / np.exp(out).sum(1)
    np.testing.assert_allclose(agg_p1, [p1[:3].max(), p1[3], p1[4:].max()])
    np.testing.assert_allclose(aggregate_logits(logits, plan, "mean"),
                               [logits[:3].mean(0), logits[3], logits[4:].mean(0)])


def test_max_aggregation_with_three_classes_takes_each_class_maximum():
    plan = plan_bp_windows([8], 6, 2)  # 2 windows
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
    out = aggregate_logits(logits, plan, "max")
    np.testing.assert_allclose(np.exp(out), [[0.7, 0.3, 0.6]])
    with pytest.raises(WindowingError, match="unknown aggregation"):
        aggregate_logits(logits, plan, "median")


def test_window_ids_group_rows_by_region():
    ids = window_ids(["chr1_7", "a@b", "chr1_7"], [0, 0, 1])
    assert ids == ["chr1_7@w0", "a@b@w0", "chr1_7@w1"]
    assert region_of(ids) == ["chr1_7", "a@b", "chr1_7"]
    plan, regions = plan_from_window_ids(ids)
    assert regions == ["chr1_7", "a@b"] and plan.sequence_index.tolist() == [0, 1, 0]
    logits = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(aggregate_logits(logits, plan, "max"), [[0.0, 2.0], [1.0, 0.0]])
    with pytest.raises(WindowingError, match="not a window id"):
        plan_from_window_ids(["region_1"])
