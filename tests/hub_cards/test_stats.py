"""Tests of the card statistics on literal values."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gbhub.hub_cards import stats as st


def test_gc_fraction_ignores_n():
    assert st.gc_fraction("GGCC") == 1.0
    assert st.gc_fraction("ACGTN") == 0.5
    assert st.gc_fraction("acgg") == 0.75
    assert math.isnan(st.gc_fraction("NNNN"))


def test_gc_fractions_vectorised_matches_scalar():
    seqs = ["ACGTN", "GGGC", "ATAT", "NN", "CCGATN"]
    got = st.gc_fractions(pa.array(seqs))
    np.testing.assert_allclose(got, [st.gc_fraction(s) for s in seqs], equal_nan=True)


def test_class_counts_lists_empty_classes():
    assert st.class_counts([0, 2, 2, 0, 0], ["a", "b", "c"]) == {"a": 3, "b": 0, "c": 2}


def test_class_ratio():
    assert st.class_ratio({"a": 30, "b": 20}) == 1.5
    assert st.class_ratio({"a": 5, "b": 5, "c": 5}) == 1.0
    assert st.class_ratio({"a": 5, "b": 0}) == math.inf
    assert math.isnan(st.class_ratio({}))


def test_length_summary_is_median_and_population_std():
    assert st.length_summary([200, 200, 200]) == (200.0, 0.0)
    median, std = st.length_summary([1, 2, 3, 4])
    assert median == 2.5 and std == pytest.approx(math.sqrt(1.25))


@pytest.mark.parametrize("n, category", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                         (38_462, "10K<n<100K"), (289_061, "100K<n<1M"), (10**7, "10M<n<100M")])
def test_size_category(n, category):
    assert st.size_category(n) == category


def _cols(labels, seqs):
    return st.split_columns(pa.table({"label": pa.array(labels, pa.int64()), "sequence": pa.array(seqs)}))


def test_summarize_literal_config():
    splits = {
        "train": _cols([0, 0, 1, 1, 1], ["AAAA", "AAGG", "GGGGGG", "CCCCCC", "GCGCNN"]),
        "test": _cols([0, 1], ["AT", "GGGA"]),
    }
    s = st.summarize(["neg", "pos"], splits)
    assert s.num_sequences == 7 and s.num_classes == 2
    assert s.class_ratio == pytest.approx(4 / 3)
    assert s.median_length == 4.0
    assert s.length_std == pytest.approx(np.std([4, 4, 6, 6, 6, 2, 4]))
    assert s.split_class_counts == {"train": {"neg": 2, "pos": 3}, "test": {"neg": 1, "pos": 1}}
    assert s.split_rows["test"] == {"num_sequences": 2, "class_ratio": 1.0, "median_length": 3.0,
                                    "length_std": 1.0}
    assert s.gc_by_class["neg"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert s.gc_by_class["pos"] == pytest.approx((1 + 1 + 1 + 0.75) / 4)
    assert list(s.lengths_by_class["pos"]) == [6, 6, 6, 4]


def test_config_stats_reads_every_shard(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    pq.write_table(pa.table({"label": [0, 1], "sequence": ["AC", "GGG"]}), cfg / "train-00000-of-00002.parquet")
    pq.write_table(pa.table({"label": [1], "sequence": ["GGGG"]}), cfg / "train-00001-of-00002.parquet")
    pq.write_table(pa.table({"label": [0], "sequence": ["A"]}), cfg / "test-00000-of-00001.parquet")
    s = st.config_stats(tmp_path, "cfg", ["a", "b"])
    assert list(s.split_class_counts) == ["train", "test"]
    assert s.split_class_counts["train"] == {"a": 1, "b": 2}
    assert s.num_sequences == 4 and s.median_length == 2.5


def test_length_bins_are_whole_bases_and_clip_far_outliers():
    from gbhub.hub_cards.plots import length_bins

    edges, clipped = length_bins({"a": np.array([100, 101, 102]), "b": np.array([103])})
    assert list(edges) == [99.5, 100.5, 101.5, 102.5, 103.5] and not clipped
    edges, _ = length_bins({"a": np.arange(150, 803)})
    widths = np.diff(edges)
    assert np.all(widths == widths[0]) and widths[0] == 11 and edges[0] == 149.5 and edges[-1] >= 802.5
    values = np.concatenate([np.full(1000, 200), [100_000]])
    edges, clipped = length_bins({"a": values})
    assert clipped and edges[-1] < 1000
