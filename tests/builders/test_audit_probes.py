"""Shortcut probes on planted data: each planted shortcut is found where it was planted; clean data passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gbhub.builders.audit.common import from_plan
from gbhub.builders.audit.shortcuts import PROBES, ProbeParams, audit_shortcuts

REFS = {"negative": "GRCh38_ensembl100", "positive": "GRCh38_ensembl100"}
CLASSES = ("negative", "positive")
FAST = ProbeParams(bootstrap=50)


def _dna(rng, n: int, gc: float = 0.5) -> str:
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return rng.choice(np.frombuffer(b"ACGT", np.uint8), size=n, p=p).tobytes().decode()


def _inp(labels, splits, sequences=None, region=None, start=None, length=None, strand=None, classes=CLASSES, refs=REFS):
    n = len(labels)
    length = np.array([len(s) for s in sequences]) if sequences is not None else np.asarray(length)
    start = np.arange(n) * 10_000 if start is None else np.asarray(start)
    frame = pd.DataFrame({"split": splits, "label": labels, "id": [f"r{i}" for i in range(n)],
                          "region": region if region is not None else "chr1", "start": start, "end": start + length,
                          "strand": strand if strand is not None else "+"})
    order = np.argsort(pd.Categorical(frame["split"], ["train", "validation", "test"]).codes, kind="stable")
    seqs = None if sequences is None else pa.array([sequences[i] for i in order], pa.large_string())
    return from_plan("planted", frame.iloc[order].reset_index(drop=True), classes, refs, seqs)


def _splits(n: int, rng) -> np.ndarray:
    return np.where(rng.random(n) < 0.7, "train", "test")


def test_clean_data_passes_every_probe():
    rng = np.random.default_rng(0)
    n = 2400
    labels = rng.integers(0, 2, n)
    seqs = [_dna(rng, int(rng.integers(150, 250))) for _ in range(n)]
    region = rng.choice(["chr1", "chr2", "chr3"], n)
    inp = _inp(labels, _splits(n, rng), seqs, region=region, start=rng.integers(0, 50_000_000, n),
               strand=rng.choice(["+", "-"], n))
    report = audit_shortcuts(inp, FAST)
    flags = {name: d["flag"] for name, d in report["probes"].items()}
    assert set(flags) == set(PROBES)
    assert {f for f in flags.values()} == {"pass", "n/a"}, {k: v for k, v in flags.items() if v != "pass"}
    assert sorted(k for k, v in flags.items() if v == "n/a") == ["letters", "n_content"]  # no N anywhere
    assert report["flagged"] == {"fail": [], "warn": []} and report["below_chance"] == []


def test_genomic_position_is_found_and_needs_real_coordinates():
    rng = np.random.default_rng(1)
    n = 1200
    labels = rng.integers(0, 2, n)
    # positives in 1 Mb bins 0-19 of chr1, negatives in bins 20-39: the contig says nothing, the bin everything
    start = (labels * 20 + rng.integers(0, 20, n)) * 1_000_000 + rng.integers(0, 900_000, n)
    inp = _inp(labels, _splits(n, rng), length=np.full(n, 300), start=start)
    probes = audit_shortcuts(inp, FAST, probes=("contig", "genomic_bin", "strand", "gc", "length"))["probes"]
    assert probes["genomic_bin"]["auroc"] == 1.0 and probes["genomic_bin"]["flag"] == "fail"
    assert probes["contig"]["reason"] == "every train and test row has the same contig"
    assert probes["strand"]["reason"] == "every train and test row has the same strand"
    assert probes["gc"]["reason"] == "needs the sequences (this audit has intervals only: no reference was given)"
    assert probes["length"]["reason"] == "every train and test row has the same length"
    # placeholder coordinates (start 0, end = length), as written for data without coordinates: not applicable
    seqs = [_dna(rng, 300) for _ in range(n)]
    placeholder = _inp(labels, _splits(n, rng), seqs, start=np.zeros(n, np.int64))
    probe = audit_shortcuts(placeholder, FAST, probes=("genomic_bin",))["probes"]["genomic_bin"]
    assert probe["applicable"] is False and probe["flag"] == "n/a" and "placeholder" in probe["reason"]
    assert "auroc" not in probe  # never scored as 0.5
    # classes drawn from different assemblies: where a row lies is the task itself
    worm = _inp(labels, _splits(n, rng), length=np.full(n, 300), start=start,
                refs={"negative": "GRCh38_ensembl100", "positive": "WBcel235_ensembl104"})
    reason = audit_shortcuts(worm, FAST, probes=("contig",))["probes"]["contig"]["reason"]
    assert reason.startswith("the classes come from different references (GRCh38/genome, WBcel235/genome)")


def test_exact_length_beats_length_bins():
    rng = np.random.default_rng(2)
    n = 3000
    labels = rng.integers(0, 2, n)
    # positives are a multiple of 10 bp; negatives any length in the same range: bins blur it, a lookup does not
    length = np.where(labels == 1, rng.integers(20, 61, n) * 10, rng.integers(200, 601, n))
    probes = audit_shortcuts(_inp(labels, _splits(n, rng), length=length), FAST,
                             probes=("length", "exact_length"))["probes"]
    assert probes["exact_length"]["flag"] == "fail" and probes["exact_length"]["auroc"] > 0.9  # 1 in 10 negatives too
    assert probes["length"]["flag"] == "pass" and probes["length"]["auroc"] < 0.6


def test_n_content_and_letters():
    rng = np.random.default_rng(3)
    n = 800
    labels = rng.integers(0, 2, n)
    seqs = []
    for y in labels:
        s = _dna(rng, 200)
        if y == 1 and rng.random() < 0.6:  # 60% of positives carry a run of N, 10% an IUPAC R
            s = s[:50] + "N" * 10 + s[60:]
        if y == 1 and rng.random() < 0.1:
            s = s[:100] + "R" + s[101:]
        seqs.append(s)
    report = audit_shortcuts(_inp(labels, _splits(n, rng), seqs), FAST, probes=("n_content", "letters", "gc"))
    probes = report["probes"]
    assert probes["n_content"]["flag"] == "fail" and probes["n_content"]["auroc"] > 0.75
    assert probes["letters"]["flag"] == "fail"
    assert probes["gc"]["flag"] == "pass"
    by_class = probes["n_content"]["by_class"]
    assert by_class["negative"]["rows_with_n"] == 0 and by_class["positive"]["n_bases"] == 10 * by_class["positive"]["rows_with_n"]
    assert set(probes["letters"]["by_class"]["positive"]) == {"ACGT only", "N", "NR", "R"}


def test_fixed_offset_motif_is_found_at_its_position():
    rng = np.random.default_rng(4)
    n = 1000
    labels = rng.integers(0, 2, n)
    seqs = []
    for y in labels:
        s = _dna(rng, int(rng.integers(180, 260)))
        if y == 1 and rng.random() < 0.8:
            s = s[:140] + "TATAAA" + s[146:]  # bases 140-145 from the first
        seqs.append(s)
    report = audit_shortcuts(_inp(labels, _splits(n, rng), seqs), FAST,
                             probes=("position_start", "position_end", "kmer_spectrum", "gc"))
    start, end = report["probes"]["position_start"], report["probes"]["position_end"]
    assert start["selected_window"] == [130, 150] and start["flag"] == "fail" and start["auroc"] > 0.8
    assert start["selected_on"] == "a stratified fifth of train held out from the fit"
    assert max(start["curve"]["auroc"]) == start["auroc"]
    assert end["flag"] == "pass"  # the lengths differ, so from the end the motif has no fixed position
    assert report["probes"]["gc"]["flag"] == "pass"
    freq = start["frequencies"]["positive"]
    assert freq[140][3] > 0.8 and freq[141][0] > 0.8  # T then A at bases 140-141 in most positives


def test_a_shift_between_splits_scores_below_chance():
    rng = np.random.default_rng(5)
    n = 1000
    labels = rng.integers(0, 2, n)
    splits = _splits(n, rng)
    # in train the positives are GC-rich, in test GC-poor: the rule learnt on train is reversed on test
    gc = np.where(labels == (splits == "train"), 0.6, 0.4)
    seqs = [_dna(rng, 200, g) for g in gc]
    report = audit_shortcuts(_inp(labels, splits, seqs), FAST, probes=("gc",))
    gc_probe = report["probes"]["gc"]
    assert gc_probe["flag"] == "fail" and gc_probe["direction"] == "below" and gc_probe["auroc"] < 0.1
    assert report["below_chance"] == ["gc"] and report["flagged"]["fail"] == ["gc"]


def test_pairs_of_classes_and_small_sample_guard():
    rng = np.random.default_rng(6)
    n = 1500
    labels = rng.integers(0, 3, n)
    length = np.where(labels == 2, 500, 300) + rng.integers(0, 20, n)  # only class c differs, by length
    inp = _inp(labels, _splits(n, rng), length=length, classes=("a", "b", "c"),
               refs={c: "GRCh38_ensembl100" for c in "abc"})
    probe = audit_shortcuts(inp, FAST, probes=("length",))["probes"]["length"]
    pairs = probe["pairs"]
    assert list(pairs) == ["a vs b", "a vs c", "b vs c"]
    assert pairs["a vs b"]["flag"] == "pass"
    assert pairs["a vs c"]["flag"] == pairs["b vs c"]["flag"] == "fail" and pairs["a vs c"]["auroc"] > 0.99
    few = _inp(np.array([0] * 30 + [1] * 30), np.array((["train"] * 25 + ["test"] * 5) * 2),
               length=np.r_[np.full(30, 100), np.full(30, 200)])
    guarded = audit_shortcuts(few, FAST, probes=("length",))["probes"]["length"]
    assert guarded["flag"] == "too_few_rows" and guarded["auroc"] is None
    assert guarded["reason"] == "class 'negative' has 5 test rows (< 20)"


@pytest.mark.parametrize("bootstrap", [0, 50])
def test_probes_are_deterministic(bootstrap):
    rng = np.random.default_rng(7)
    n = 600
    labels = rng.integers(0, 2, n)
    seqs = [_dna(rng, 150, 0.45 + 0.1 * y) for y in labels]
    params = ProbeParams(bootstrap=bootstrap)
    a = audit_shortcuts(_inp(labels, _splits(n, rng), seqs), params, probes=("gc", "kmer_spectrum", "position_start"))
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, n)
    seqs = [_dna(rng, 150, 0.45 + 0.1 * y) for y in labels]
    b = audit_shortcuts(_inp(labels, _splits(n, rng), seqs), params, probes=("gc", "kmer_spectrum", "position_start"))
    assert a == b
    assert (a["probes"]["gc"]["ci"] is None) == (bootstrap == 0)
