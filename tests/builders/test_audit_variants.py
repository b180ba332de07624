"""The variants stay usable: validation is cleaned too, duplicates go from every split, a degenerate split is warned."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa

from gbhub.builders.audit.common import from_plan
from gbhub.builders.audit.pipeline import audit_input
from gbhub.builders.audit.report import render_known_issues, render_variant
from gbhub.builders.audit.variants import chromsplit_variant, degenerate_classes, leakfree_variant

CLASSES = ("negative", "positive")
REFS = {"negative": "GRCh38_ensembl100", "positive": "GRCh38_ensembl100"}
_RC = str.maketrans("ACGT", "TGCA")


def tiled_world():
    """Like `human_nontata_promoters`: positives at distinct loci, negatives tiled windows over a few loci, so the
    test and validation negatives overlap the train ones. 200 bp rows on a random 2 Mb chr1.

    - train: 300 positives; 300 negatives, 10 windows 20 bp apart over each of 30 loci;
    - validation: 40 positives; 40 negatives, 36 shifted 10 bp from a train window, 4 at fresh loci;
    - test: 150 positives, the last 2 repeating the first 2; 150 negatives, 145 shifted 10 bp from a train
      window, 5 at fresh loci.
    """
    rng = np.random.default_rng(21)
    genome = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=2_000_000).tobytes().decode()
    rows = []
    fresh = iter(range(0, 2_000_000 - 1000, 1000))  # 1 kb slots never used twice
    tiles = []

    def add(split, label, start):
        rows.append((split, label, f"{split}_{len(rows)}", "chr1", start, start + 200, "+"))

    for _ in range(300):
        add("train", 1, next(fresh))
    for _ in range(30):
        locus = next(fresh)
        next(fresh)  # the tiles span 380 bp: leave the next slot empty
        for j in range(10):
            tiles.append(locus + 20 * j)
            add("train", 0, locus + 20 * j)
    for _ in range(40):
        add("validation", 1, next(fresh))
    for j in range(36):
        add("validation", 0, tiles[j * 8] + 10)
    for _ in range(4):
        add("validation", 0, next(fresh))
    first_test = len(rows)
    for _ in range(148):
        add("test", 1, next(fresh))
    for j in range(2):
        add("test", 1, rows[first_test + j][4])
    for j in range(145):
        add("test", 0, tiles[(j * 2) % 300] + 10)
    for _ in range(5):
        add("test", 0, next(fresh))
    frame = pd.DataFrame(rows, columns=["split", "label", "id", "region", "start", "end", "strand"])
    sequences = pa.array([genome[s:e] for s, e in zip(frame["start"], frame["end"])], pa.large_string())
    return frame, sequences


def test_degenerate_leakfree_split_is_warned_with_counts(caplog):
    frame, sequences = tiled_world()
    inp = from_plan("tiled", frame, CLASSES, REFS, sequences)
    plan = frame.assign(row=np.arange(len(frame)), table="t", genome="g")
    with caplog.at_level(logging.WARNING, logger="gbhub.builders.audit.variants"):
        kept, prov = leakfree_variant(inp, plan, {"config": "tiled", "pretty_name": "Tiled"})
    variant = prov["variant"]
    assert variant["class_balance"] == {
        "before": {"train": {"negative": 300, "positive": 300}, "validation": {"negative": 40, "positive": 40},
                   "test": {"negative": 150, "positive": 150}},
        "after": {"train": {"negative": 300, "positive": 300}, "validation": {"negative": 4, "positive": 40},
                  "test": {"negative": 5, "positive": 148}},
    }
    assert variant["rules"]["validation_overlap"]["removed"] == 36  # validation is cleaned too
    # 145 test negatives overlap train: 36 of them are the very windows of validation negatives (exact duplicates,
    # the first rule), the other 109 count as overlaps
    assert (variant["rules"]["test_exact_duplicate"]["removed"], variant["rules"]["test_overlap"]["removed"]) == (36, 109)
    assert variant["rules"]["exact_duplicate"]["by_split"] == {"train": 0, "validation": 0, "test": 2}
    # test negatives fell to 3.3% of test, under a tenth of their former 50%; validation negatives kept 9.1%
    # (over 5%) and had fewer than 100 rows to begin with, so validation is not warned about
    assert variant["warnings"] == [{"split": "test", "class": "negative", "before": 150, "after": 5,
                                    "share_before": 0.5, "share_after": round(5 / 153, 6)}]
    assert variant["constant_predictor"] == {"test": {"class": "positive", "accuracy": round(148 / 153, 6)}}
    assert "test class 'negative' fell from 150 to 5 rows (50.0% -> 3.3% of the split)" in caplog.text
    assert "on test a constant 'positive' predictor scores accuracy 0.967" in caplog.text
    assert prov["variant_note"].startswith("**Warning: degenerate split.**")
    assert "| test | 150 → 5 (3%) | 150 → 148 (97%) | 300 → 153 |" in prov["variant_note"]
    # the variant's own audit carries the warning into the card's Known issues, and leaks nothing
    keep = (kept["id"].to_numpy()[:, None] == frame["id"].to_numpy()[None, :]).any(axis=0)
    again = from_plan("tiled_leakfree", kept, CLASSES, REFS, sequences.filter(pa.array(keep)))
    again.variant = variant
    report = audit_input(again, parts=("duplicates", "overlap", "near_duplicates"))
    for pair in ("test_vs_train_validation", "validation_vs_train"):
        assert report["overlap"]["pairs"][pair]["overlapping"] == 0
        assert report["near_duplicates"]["pairs"][pair]["near_duplicates"] == 0
    assert all(d["exact_redundant"] == 0 for d in report["duplicates"]["within_split"].values())
    text = render_known_issues(report)
    assert "**Warning: this variant has degenerate splits.**" in text
    assert "- test, `negative`: 150 → 5 rows (50.0% → 3.3% of the split)." in text
    assert "- On test, a constant predictor answering `positive` scores accuracy 0.967 (and AUROC 0.5)" in text


def test_floor_rules():
    before = {"train": {"a": 1000, "b": 1000}, "validation": {"a": 50, "b": 50}, "test": {"a": 500, "b": 500}}
    after = {"train": {"a": 950, "b": 990}, "validation": {"a": 45, "b": 50}, "test": {"a": 99, "b": 500}}
    warnings, constant = degenerate_classes(before, after)
    # test `a` fell under 100 rows having had 500 (its share, 16.5%, is above a tenth of 50%); validation `a`
    # had under 100 to begin with and kept most of its share
    assert [(w["split"], w["class"]) for w in warnings] == [("test", "a")]
    assert constant == {"test": {"class": "b", "accuracy": round(500 / 599, 6)}}


def test_chromsplit_removes_duplicates_inside_each_split():
    rng = np.random.default_rng(22)
    rows = []
    for label in (0, 1):
        for contig in ("chr1", "chr5", "chr6"):  # chr5 is test, chr6 validation, chr1 train
            for i in range(20):
                rows.append(("train", label, f"{contig}_{label}_{i}", contig, 10_000 * i + 1000 * label, 0, "+"))
    frame = pd.DataFrame(rows, columns=["split", "label", "id", "region", "start", "end", "strand"])
    frame["end"] = frame["start"] + 100
    # a repeat on chr5 (test) of a chr5 row, and the same interval on the other strand on chr1 (train)
    dup = frame.iloc[[25, 3]].assign(id=["dup_test", "dup_train_rc"], strand=["+", "-"])
    frame = pd.concat([frame, dup], ignore_index=True)
    genome = {c: rng.choice(np.frombuffer(b"ACGT", np.uint8), size=300_000).tobytes().decode()
              for c in ("chr1", "chr5", "chr6")}
    seqs = [genome[r][s:e] for r, s, e in zip(frame["region"], frame["start"], frame["end"])]
    seqs = [s.translate(_RC)[::-1] if strand == "-" else s for s, strand in zip(seqs, frame["strand"])]
    inp = from_plan("c", frame, CLASSES, REFS, pa.array(seqs, pa.large_string()))
    plan = frame.assign(row=np.arange(len(frame)), table="t", genome="g")
    new, prov = chromsplit_variant(inp, plan, {"config": "c", "pretty_name": "C"})
    rules = prov["variant"]["rules"]
    assert rules["exact_duplicate"]["by_split"] == {"train": 0, "validation": 0, "test": 1}
    assert rules["rc_duplicate"]["by_split"] == {"train": 1, "validation": 0, "test": 0}
    assert {"dup_test", "dup_train_rc"}.isdisjoint(new["id"])
    assert new.groupby("split").size().to_dict() == {"test": 40, "train": 40, "validation": 40}
    assert prov["variant"]["class_balance"]["before"]["test"] == {"negative": 21, "positive": 20}


def test_a_split_without_a_class_is_warned_even_from_zero_rows():
    """`if n_before and ...` skipped a class with no row in a split: a one-class split shipped without a warning."""
    before = {"train": {"a": 300, "b": 300}, "validation": {"a": 0, "b": 40}, "test": {"a": 30, "b": 30}}
    after = {"train": {"a": 300, "b": 300}, "validation": {"a": 0, "b": 40}, "test": {"a": 30, "b": 30}}
    warnings, constant = degenerate_classes(before, after)
    assert warnings == [{"split": "validation", "class": "a", "before": 0, "after": 0, "share_before": 0.0,
                         "share_after": 0.0}]
    assert constant == {"validation": {"class": "b", "accuracy": 1.0}}


def test_chromsplit_whose_held_out_contigs_lack_a_class_is_warned(caplog):
    """Negatives only on chr1 and chr6: the test contig chr5 holds positives only. The parent's test had both."""
    rng = np.random.default_rng(23)
    rows = []
    for contig, labels in (("chr1", (0, 1)), ("chr5", (1,)), ("chr6", (0, 1))):  # chr5 test, chr6 validation
        for label in labels:
            for i in range(20):
                rows.append(("test" if i % 4 == 0 else "train", label, f"{contig}_{label}_{i}", contig,
                             10_000 * i + 1000 * label, 10_000 * i + 1000 * label + 100, "+"))
    frame = pd.DataFrame(rows, columns=["split", "label", "id", "region", "start", "end", "strand"])
    genome = {c: rng.choice(np.frombuffer(b"ACGT", np.uint8), size=300_000).tobytes().decode()
              for c in ("chr1", "chr5", "chr6")}
    seqs = pa.array([genome[r][s:e] for r, s, e in zip(frame["region"], frame["start"], frame["end"])], pa.large_string())
    inp = from_plan("c", frame, CLASSES, REFS, seqs)
    plan = frame.assign(row=np.arange(len(frame)), table="t", genome="g")
    with caplog.at_level(logging.WARNING, logger="gbhub.builders.audit.variants"):
        new, prov = chromsplit_variant(inp, plan, {"config": "c", "pretty_name": "C"})
    assert new[new["split"] == "test"]["label"].unique().tolist() == [1]
    variant = prov["variant"]
    assert variant["warnings"] == [{"split": "test", "class": "negative", "before": 10, "after": 0,
                                    "share_before": round(10 / 25, 6), "share_after": 0.0, "against": "parent"}]
    assert variant["constant_predictor"] == {"test": {"class": "positive", "accuracy": 1.0}}
    assert "c_chromsplit: test has no row of class 'negative' (the parent's test had 10, 40.0%)" in caplog.text
    assert "on test a constant 'positive' predictor scores accuracy 1.000" in caplog.text
    assert prov["variant_note"].startswith("**Warning: degenerate split.**")
    assert "- test, `negative`: no row (the parent's test had 10, 40.0% of the split)." in prov["variant_note"]
    text = render_variant(variant, list(CLASSES))  # what the card's Known issues show
    assert "**Warning: this variant has degenerate splits.**" in text
    assert "- test, `negative`: no row (the parent's test had 10, 40.0% of the split)." in text
    assert "- On test, a constant predictor answering `positive` scores accuracy 1.000 (and AUROC 0.5)" in text
