"""The audit on a synthetic benchmark with planted leaks and a length shortcut finds exactly what was planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gbhub.builders.audit.common import from_plan
from gbhub.builders.audit.pipeline import audit_input
from gbhub.builders.audit.report import render_known_issues
from gbhub.builders.audit.variants import LEAKFREE_RULES, leakfree_rules, leakfree_variant

CLASSES = ("negative", "positive")
REFS = {"negative": "GRCh38_ensembl100", "positive": "GRCh38_ensembl100"}
LENGTH = {0: 100, 1: 150}  # the planted shortcut: positives are longer
SLOT = 200
_RC = str.maketrans("ACGTN", "TGCAN")


def _rc(seq: str) -> str:
    return seq.translate(_RC)[::-1]


def planted_world():
    """Rows (a plan-like frame), their sequences, the genome, and the ids of every planted row by kind.

    Background rows sit in distinct 200 bp slots of random contigs chr1/chr2 (no two overlap); planted:
    - `test_exact` (3): test rows with a train row's coordinates and strand (one labelled the other class);
    - `test_rc` (2): a train row's coordinates on the other strand;
    - `test_shift` (4): negatives shifted 55 bp from a train negative (overlap fraction 0.45, not near-dup);
    - `test_copy` (1) / `test_rc_copy` (1): elsewhere on chr2, a copy / reverse-complement copy of a train
      row's bases (same sequence / its RC, no overlap);
    - `test_near` (1): elsewhere, a copy of a train positive with one substitution in the middle;
    - `train_dup` (2), `train_rc_dup` (1), `validation_dup` (1): repeats of train rows in train/validation;
    - `chrY` (5): train negatives on chrY, where no positive lies.
    """
    rng = np.random.default_rng(7)
    genome = {c: bytearray(rng.choice(list(b"ACGT"), size=n).astype(np.uint8).tobytes())
              for c, n in (("chr1", 50_000), ("chr2", 50_000), ("chrY", 3_000))}
    slots = [(c, i * SLOT) for c in ("chr1", "chr2") for i in range(50_000 // SLOT)]
    order = rng.permutation(len(slots))
    rows, planted = [], {}
    k = 0

    def add(split, label, region, start, strand, kind=None, length=None):
        rid = f"{split}_{len(rows)}"
        rows.append((split, label, rid, region, start, start + (length or LENGTH[label]), strand))
        if kind:
            planted.setdefault(kind, []).append(rid)
        return len(rows) - 1

    def background(split, label):
        nonlocal k
        region, start = slots[order[k]]
        k += 1
        return add(split, label, region, start, "-" if rng.random() < 0.5 else "+")

    train = [background("train", label) for label in (0, 1) for _ in range(150)]
    for i in range(5):
        add("train", 0, "chrY", i * SLOT, "+", "chrY")
    for src in train[:2]:
        add("train", *rows[src][1:2], rows[src][3], rows[src][4], rows[src][6], "train_dup")
    src = train[2]
    add("train", rows[src][1], rows[src][3], rows[src][4], "+" if rows[src][6] == "-" else "-", "train_rc_dup")
    for label in (0, 1):
        for _ in range(20):
            background("validation", label)
    src = train[3]
    add("validation", rows[src][1], rows[src][3], rows[src][4], rows[src][6], "validation_dup")
    for label in (0, 1):
        for _ in range(60):
            background("test", label)
    for j, src in enumerate(train[10:13]):
        label = rows[src][1] if j else 1 - rows[src][1]  # the first copy carries the other label
        add("test", label, rows[src][3], rows[src][4], rows[src][6], "test_exact", length=rows[src][5] - rows[src][4])
    for src in train[13:15]:
        flip = "+" if rows[src][6] == "-" else "-"
        add("test", rows[src][1], rows[src][3], rows[src][4], flip, "test_rc", length=rows[src][5] - rows[src][4])
    for src in train[20:24]:  # negatives (100 bp)
        add("test", 0, rows[src][3], rows[src][4] + 55, rows[src][6], "test_shift")
    # copies into spare slots of the genome
    spare = [slots[order[k + i]] for i in range(3)]
    for (region, start), src, kind in zip(spare, (train[150], train[151], train[152]),
                                          ("test_copy", "test_rc_copy", "test_near")):
        _, label, _, s_region, s_start, s_end, strand = rows[src]
        bases = bytes(genome[s_region][s_start:s_end])
        if kind == "test_rc_copy":
            bases = _rc(bases.decode()).encode()
        elif kind == "test_near":
            mid = len(bases) // 2
            bases = bases[:mid] + (b"A" if bases[mid : mid + 1] != b"A" else b"C") + bases[mid + 1 :]
        genome[region][start : start + len(bases)] = bases
        add("test", label, region, start, strand, kind)
    frame = pd.DataFrame(rows, columns=["split", "label", "id", "region", "start", "end", "strand"])
    split_order = frame["split"].map({"train": 0, "validation": 1, "test": 2})
    frame = frame.iloc[np.argsort(split_order.to_numpy(), kind="stable")].reset_index(drop=True)
    sequences = [genome[r][s:e].decode() for r, s, e in zip(frame["region"], frame["start"], frame["end"])]
    sequences = [_rc(s) if strand == "-" else s for s, strand in zip(sequences, frame["strand"])]
    return frame, pa.array(sequences, pa.large_string()), genome, planted


@pytest.fixture(scope="module")
def world():
    return planted_world()


@pytest.fixture(scope="module")
def report(world):
    frame, sequences, _, _ = world
    return audit_input(from_plan("planted", frame, CLASSES, REFS, sequences))


def test_duplicates_found_exactly(report):
    within = report["duplicates"]["within_split"]
    assert (within["train"]["exact_redundant"], within["train"]["rc_redundant"]) == (2, 1)
    assert (within["validation"]["exact_redundant"], within["validation"]["rc_redundant"]) == (0, 0)
    assert (within["test"]["exact_redundant"], within["test"]["rc_redundant"]) == (0, 0)
    across = report["duplicates"]["across_splits"]
    head = across["test_vs_train_validation"]
    assert (head["exact"], head["rc"], head["label_conflicts"]) == (4, 3, 1)  # test_exact + copy; test_rc + rc copy
    assert head["rows"] == 132 and head["exact_fraction"] == round(4 / 132, 6)
    assert (across["validation_vs_train"]["exact"], across["validation_vs_train"]["rc"]) == (1, 0)
    assert (across["test_vs_validation"]["exact"], across["test_vs_validation"]["rc"]) == (0, 0)
    by_class = head["by_class"]
    assert by_class["negative"]["exact"] + by_class["positive"]["exact"] == 4


def test_overlaps_found_exactly(report):
    head = report["overlap"]["pairs"]["test_vs_train_validation"]
    assert (head["identical"], head["overlapping"]) == (5, 9)  # exact + rc coordinates; + 4 shifted
    assert head["overlap_fraction_histogram"]["counts"] == [0, 0, 0, 0, 4, 0, 0, 0, 0, 5]
    assert head["overlap_fraction_quantiles"]["0.1"] == 0.45
    assert report["overlap"]["pairs"]["validation_vs_train"]["identical"] == 1
    assert report["overlap"]["pairs"]["test_vs_validation"]["overlapping"] == 0


def test_near_duplicates_found_exactly(report):
    near = report["near_duplicates"]["pairs"]["test_vs_train_validation"]
    # the 7 exact/RC duplicates (one labelled the other class), and the copy with one substitution; the 55 bp
    # shifts share 45 of 100 bp (coverage 0.45 < 0.8) and are not
    assert (near["near_duplicates"], near["beyond_exact_and_rc"], near["label_conflicts"]) == (8, 1, 1)
    assert report["near_duplicates"]["pairs"]["validation_vs_train"]["near_duplicates"] == 1
    examples = {(e["query"]["id"], e["reference"]["id"]): (e["identity"], e["coverage"], e["strand"])
                for e in near["examples"]}
    assert len(examples) == 8 and near["similarity_histogram"]["counts"][-1] == 8
    one_change = [v for (q, _), v in examples.items() if q == "test_480"]
    assert one_change == [(round(149 / 150, 4), 1.0, one_change[0][2])]  # 149 of 150 bases match
    assert sum(v[2] == "-" for v in examples.values()) == 3  # test_rc (2) + test_rc_copy


def test_length_shortcut_flagged(report):
    probes = report["shortcuts"]["probes"]
    for name in ("length", "exact_length"):
        assert probes[name]["flag"] == "fail" and probes[name]["auroc"] == 0.9922, name
        assert probes[name]["ci"][0] > 0.95
    # composition is scored by a line through the share: it cannot read the length off the lattice of shares
    assert probes["gc"]["flag"] == "pass" and probes["kmer_spectrum"]["flag"] == "pass"
    assert probes["n_content"] == {"group": "letters", "description": probes["n_content"]["description"],
                                   "applicable": False, "reason": "no train or test sequence holds an N", "flag": "n/a"}


def test_negatives_on_contigs_without_positive(report):
    neg = report["contigs"]["negatives_without_positive"]
    assert neg["exclusive_rows"] == 5 and neg["contigs"] == {"Y": 5}
    assert report["contigs"]["by_class"]["positive"]["exclusive_rows"] == 0


def test_known_issues_markdown(report):
    text = render_known_issues(report)
    assert "| identical sequence | 4 (3.0%) | 1 (2.4%) |" in text
    assert "| overlapping interval (≥ 1 bp) | 9 (6.8%) |" in text
    assert "| Length | length | 0.992 [0.977, 1.000] | **fail** |" in text
    assert "by fraction covered: (0.4, 0.5]: 4, (0.9, 1.0]: 5." in text
    assert "`negative`: 5 (2.0%) rows lie on contigs with no row of another class: Y (5)." in text


def test_leakfree_removes_exactly_the_planted_rows(world):
    frame, sequences, _, planted = world
    inp = from_plan("planted", frame, CLASSES, REFS, sequences)
    rules = pd.Series(leakfree_rules(inp), index=frame["id"])
    expected = {
        "test_exact_duplicate": planted["test_exact"] + planted["test_copy"],
        "test_rc_duplicate": planted["test_rc"] + planted["test_rc_copy"],
        "test_overlap": planted["test_shift"],
        "test_near_duplicate": planted["test_near"],
        "validation_exact_duplicate": planted["validation_dup"],
        "exact_duplicate": planted["train_dup"],
        "rc_duplicate": planted["train_rc_dup"],  # also the same interval: the first rule wins
    }
    assert set(expected) <= set(LEAKFREE_RULES)
    for rule, ids in expected.items():
        assert sorted(rules.index[rules == rule]) == sorted(ids), rule
    removed = {i for ids in expected.values() for i in ids}
    assert set(rules.index[rules == ""]) == set(frame["id"]) - removed  # every clean row is kept

    # the variant leaks nothing: audit its rows again
    kept = (rules == "").to_numpy()
    plan = frame.assign(row=np.arange(len(frame)), table="t", genome="g")
    variant_plan, prov = leakfree_variant(inp, plan, {"config": "planted", "pretty_name": "Planted"})
    assert variant_plan["id"].tolist() == frame["id"][kept].tolist()
    again = audit_input(from_plan("planted_leakfree", variant_plan, CLASSES, REFS, sequences.filter(pa.array(kept))),
                        parts=("duplicates", "overlap"))
    head = again["duplicates"]["across_splits"]["test_vs_train_validation"]
    assert (head["exact"], head["rc"]) == (0, 0)
    assert again["overlap"]["pairs"]["test_vs_train_validation"]["overlapping"] == 0
    assert again["duplicates"]["within_split"]["train"]["exact_redundant"] == 0
    assert again["duplicates"]["across_splits"]["validation_vs_train"]["exact"] == 0
    assert prov["parent"] == "planted" and prov["config"] == "planted_leakfree"
    assert prov["variant"]["rules"]["test_overlap"]["removed"] == 4
    assert prov["variant"]["rules"]["validation_exact_duplicate"]["by_split"] == {"train": 0, "validation": 1, "test": 0}
    assert "- test rows whose interval overlaps (≥ 1 bp, same contig) a train or validation interval: 4" in prov["variant_note"]
    # 60 or 68 rows per class and split before: under 100 already, so no class falls under the floor here
    assert prov["variant"]["warnings"] == [] and "degenerate" not in prov["variant_note"]


def test_leakfree_variant_through_the_engine(world, tmp_path):
    """The variant's plan goes through `materialize` (the shared builder) and gives the expected sequences."""
    from gbhub.builders.build import materialize
    from gbhub.builders.genome import prepare

    frame, sequences, genome, _ = world
    fasta = tmp_path / "planted.fa"
    fasta.write_bytes(b"".join(f">{name[3:]}\n".encode() + bytes(seq) + b"\n" for name, seq in genome.items()))
    prepared = prepare(fasta, tmp_path / "prepared", progress=False)
    plan = frame.assign(row=np.arange(1, len(frame) + 1), table="planted", genome=str(prepared))
    inp = from_plan("planted", frame, CLASSES, REFS, sequences)
    variant_plan, _ = leakfree_variant(inp, plan, {"config": "planted", "pretty_name": "Planted"})
    dataset = materialize(variant_plan, "planted_leakfree", CLASSES, cache_dir=tmp_path / "cache")
    kept = leakfree_rules(inp) == ""
    expected = np.asarray(sequences.to_pylist(), dtype=object)[kept]
    got = [s for split in ("train", "validation", "test") for s in dataset[split]["sequence"]]
    assert got == expected.tolist()
    assert {s: len(dataset[s]) for s in dataset} == {"train": 305, "validation": 40, "test": 120}
