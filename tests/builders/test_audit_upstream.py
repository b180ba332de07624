"""The interval audits and the chromosome split on the real upstream coordinate tables (no reference needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gbhub.builders.audit.common import AuditError, from_plan
from gbhub.builders.audit.pipeline import audit_input
from gbhub.builders.audit.variants import chromsplit_splits, class_balance
from gbhub.builders.coordinates import read_table
from gbhub.builders.plan import upstream_plan
from gbhub.builders.registry import get_benchmark, upstream_benchmarks

# Measured once on the tables at the pinned commit (validation seed 42): (identical, overlapping) intervals
# for test vs train ∪ validation, and for validation vs train.
OVERLAPS = {
    "demo_coding_vs_intergenomic_seqs": ((0, 165), (0, 36)),
    "demo_human_or_worm": ((4, 1886), (1, 507)),
    "drosophila_enhancers_stark": ((0, 460), (0, 132)),
    "dummy_mouse_enhancers_ensembl": ((0, 1), (0, 0)),
    "human_enhancers_cohn": ((0, 47), (0, 9)),
    "human_enhancers_ensembl": ((11694, 11926), (4194, 4289)),
    "human_ensembl_regulatory": ((0, 0), (0, 0)),
    "human_nontata_promoters": ((0, 4449), (0, 1332)),
    "human_ocr_ensembl": ((0, 538), (0, 202)),
}
HISTOGRAMS = {  # overlap fractions of the overlapping test intervals, in tenths (0, 0.1], ..., (0.9, 1]
    "human_enhancers_ensembl": [20, 34, 31, 17, 26, 20, 21, 17, 12, 11728],
    "human_nontata_promoters": [30, 32, 31, 25, 39, 47, 117, 274, 752, 3102],
    "drosophila_enhancers_stark": [18, 153, 164, 47, 25, 11, 11, 10, 7, 14],
}
NEGATIVES_WITHOUT_POSITIVE = {
    "drosophila_enhancers_stark": (88, {"Y": 87, "MT": 1}),
    "dummy_mouse_enhancers_ensembl": (23, {"Y": 23}),
    "human_enhancers_cohn": (0, {}),
    "human_enhancers_ensembl": (0, {}),
    "human_nontata_promoters": (0, {}),
    "human_ocr_ensembl": (757, {"Y": 757}),
}


@pytest.fixture(scope="module")
def upstream_inputs(upstream):
    root = upstream / "genomic_benchmarks" / "datasets"
    inputs = {}
    for name in upstream_benchmarks():
        spec = get_benchmark(name)
        tables = {s: {i: read_table(root / name / s / f"{c}.csv.gz") for i, c in enumerate(spec.classes)}
                  for s in ("train", "test")}
        names = {s: {i: f"{name}/{s}/{c}.csv.gz" for i, c in enumerate(spec.classes)} for s in ("train", "test")}
        plan = upstream_plan(tables, names, {i: "unused" for i in range(len(spec.classes))}, seed=42)
        inputs[name] = from_plan(name, plan, spec.classes, spec.class_references)
    return inputs


def test_interval_audit_of_every_benchmark_is_stable(upstream_inputs):
    assert set(upstream_inputs) == set(OVERLAPS)
    for name, inp in upstream_inputs.items():
        report = audit_input(inp, parts=("overlap", "contigs"))
        pairs = report["overlap"]["pairs"]
        got = tuple((pairs[p]["identical"], pairs[p]["overlapping"])
                    for p in ("test_vs_train_validation", "validation_vs_train"))
        assert got == OVERLAPS[name], name
        head = pairs["test_vs_train_validation"]
        assert sum(head["overlap_fraction_histogram"]["counts"]) == head["overlapping"]
        if name in HISTOGRAMS:
            assert head["overlap_fraction_histogram"]["counts"] == HISTOGRAMS[name], name
        negatives = report["contigs"].get("negatives_without_positive")
        if name in NEGATIVES_WITHOUT_POSITIVE:
            assert (negatives["exclusive_rows"], negatives["contigs"]) == NEGATIVES_WITHOUT_POSITIVE[name], name
        else:
            assert negatives is None


def test_chromosome_split_puts_no_contig_in_two_splits(upstream_inputs):
    for name, inp in upstream_inputs.items():
        if name == "demo_coding_vs_intergenomic_seqs":
            with pytest.raises(AuditError, match="transcript coordinates"):
                chromsplit_splits(inp)
            continue
        split = chromsplit_splits(inp)
        keys = inp.contig_keys()
        for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
            assert not set(keys[split == a]) & set(keys[split == b]), (name, a, b)
        assert {s for s in split} == {"train", "validation", "test"}, name
        assert len(split) == len(inp.frame)


def test_chromosome_split_class_balance(upstream_inputs):
    inp = upstream_inputs["demo_human_or_worm"]
    balance = class_balance(inp.frame.assign(split=chromsplit_splits(inp)), inp.classes)
    assert balance == {"train": {"human": 36525, "worm": 32624},
                       "validation": {"human": 3536, "worm": 6937},
                       "test": {"human": 9939, "worm": 10439}}
    inp = upstream_inputs["human_nontata_promoters"]
    split = chromsplit_splits(inp)
    balance = class_balance(inp.frame.assign(split=split), inp.classes)
    assert balance == {"train": {"negative": 12996, "positive": 14820},
                       "validation": {"negative": 1241, "positive": 1211},
                       "test": {"negative": 2237, "positive": 3626}}
    contigs = inp.canonical_regions().to_numpy(object)
    assert sorted(set(contigs[split == "validation"])) == ["21", "6"]
    assert sorted(set(contigs[split == "test"])) == ["10", "14", "18", "20", "22", "5"]
    assert not np.isin(contigs[split == "train"], ["5", "6", "10", "14", "18", "20", "21", "22"]).any()


def test_genomic_position_and_length_probes_on_the_real_tables(upstream_inputs):
    """The shortcuts an independent reviewer measured on the upstream tables (issue 11), fitted on train and
    scored on test: the 1 Mb bin gives nontata away, the contig alone much of it; exact length gives
    human_ensembl_regulatory's classes away better than length bins."""
    from gbhub.builders.audit.shortcuts import ProbeParams, audit_shortcuts

    fast = ProbeParams(bootstrap=0)
    nontata = audit_shortcuts(upstream_inputs["human_nontata_promoters"], fast,
                              probes=("genomic_bin", "contig", "strand", "length"))["probes"]
    assert (nontata["genomic_bin"]["auroc"], nontata["contig"]["auroc"], nontata["strand"]["auroc"]) == (0.9852, 0.7679, 0.5317)
    assert nontata["length"]["reason"] == "every train and test row has the same length"
    cohn = audit_shortcuts(upstream_inputs["human_enhancers_cohn"], fast, probes=("genomic_bin",))["probes"]
    assert cohn["genomic_bin"]["auroc"] == 0.8532
    regulatory = audit_shortcuts(upstream_inputs["human_ensembl_regulatory"], fast,
                                 probes=("length", "exact_length"))["probes"]
    assert (regulatory["length"]["auroc"], regulatory["exact_length"]["auroc"]) == (0.9647, 0.9842)
    assert list(regulatory["exact_length"]["pairs"]) == ["enhancer vs ocr", "enhancer vs promoter", "ocr vs promoter"]
    worm = audit_shortcuts(upstream_inputs["demo_human_or_worm"], fast, probes=("contig",))["probes"]["contig"]
    assert worm["applicable"] is False and worm["reason"].startswith("the classes come from different references")


def test_intervals_only_cli_needs_no_reference(upstream, tmp_path):
    from gbhub.cli import main

    out = tmp_path / "out"
    assert main(["audit", "human_nontata_promoters", "--intervals-only", "--coordinates",
                 str(upstream / "genomic_benchmarks" / "datasets"), "--out", str(out), "--bootstrap", "0",
                 "--no-progress", "--no-report"]) == 0
    report = json.loads((out / "audit" / "human_nontata_promoters.json").read_text())
    assert report["overlap"]["pairs"]["test_vs_train_validation"]["overlapping"] == 4449
    assert report["duplicates"] == {"applicable": False,
                                    "reason": "needs the sequences (intervals only: no reference given)"}
    assert report["shortcuts"]["probes"]["genomic_bin"]["auroc"] == 0.9852
    assert report["shortcuts"]["probes"]["gc"]["applicable"] is False
    assert not (out / "README.md").exists() and not (out / "human_nontata_promoters").exists()
