"""`gbhub create` end to end on a planted-motif genome: the config, its splits, spec rebuild, audit, card, training."""

from __future__ import annotations

import gzip
import hashlib
import json

import numpy as np
import pytest
import yaml
from region_fixtures import MOTIF, planted_benchmark
from region_fixtures import file_digests as _files
from region_fixtures import load_frame as _frame

from gbhub.builders.genome import Genome
from gbhub.builders.hub_layout import audit_path, card_path, provenance_path, spec_inputs_dir, spec_path
from gbhub.builders.regions.negatives import merge
from gbhub.builders.regions.splits import overlap_clusters
from gbhub.cli import main

_COMP = str.maketrans("ACGT", "TGCA")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("create")
    fasta, bed = planted_benchmark(root, per_contig={"1": 500, "2": 120, "3": 120})
    hub, cache = root / "hub", root / "cache"
    code = main(["create", "motif", "--positives", str(bed), "--reference", f"toy={fasta}", "--out", str(hub),
                 "--split-contigs", "validation=chr2", "test=chr3", "--cache-dir", str(cache), "--no-progress",
                 "--description", "Windows holding a planted motif vs matched background."])
    assert code == 0
    return root, fasta, bed, hub, cache


def test_the_config_loads_with_its_classes_and_sequences(made):
    root, fasta, bed, hub, cache = made
    ds, frame = _frame(hub, "motif")
    assert ds["train"].features["label"].names == ["negative", "positive"]
    counts = frame.groupby(["split", "label"]).size().unstack()
    assert counts.loc["train"].tolist() == [500, 500]
    assert counts.loc["validation"].tolist() == [120, 120]  # chr2
    assert counts.loc["test"].tolist() == [120, 120]  # chr3
    positives = frame[frame["label"] == 1]
    assert positives["sequence"].str.contains(MOTIF).all()  # read on the row's strand
    assert set(positives["region"].str[:3]) == {"chr"}  # the BED's spelling is kept ...
    negatives = frame[frame["label"] == 0]
    assert set(negatives["region"]) <= set(positives["region"])  # ... also for negatives
    assert not negatives["sequence"].str.contains(MOTIF).any()
    assert not negatives["sequence"].str.contains("N").any()
    assert (negatives["sequence"].str.len() == 200).all()
    assert positives["id"].iloc[0].startswith("peak_")  # BED names, unique, become ids


def test_no_contig_and_no_overlapping_pair_across_splits(made):
    _, _, _, hub, _ = made
    _, frame = _frame(hub, "motif")
    contigs = frame.groupby("region")["split"].nunique()
    assert (contigs == 1).all()
    # negatives keep the margin (500 bp) from every positive and never overlap each other
    genome_pos = {r: i * 10**9 for i, r in enumerate(sorted(frame["region"].unique()))}
    flat = frame["region"].map(genome_pos).to_numpy() + frame["start"].to_numpy()
    end = flat + (frame["end"] - frame["start"]).to_numpy()
    cluster = overlap_clusters(flat, end)
    assert np.bincount(cluster).max() == 1
    pos = frame["label"].to_numpy() == 1
    pad_s, pad_e = merge(flat[pos] - 500, end[pos] + 500)
    j = np.searchsorted(pad_s, end[~pos], side="left") - 1
    assert not ((j >= 0) & (pad_e[np.maximum(j, 0)] > flat[~pos])).any()


def test_spec_card_audit_and_provenance_are_written(made):
    _, _, _, hub, _ = made
    spec = yaml.safe_load(spec_path(hub, "motif").read_text())
    assert spec["name"] == "motif" and spec["reference"]["key"] == "toy"
    assert spec["split"] == {"method": "chromosome", "validation_contigs": ["2"], "test_contigs": ["3"]}
    assert spec["negatives"]["ratio"] == 1 and spec["seed"] == 42
    copy = spec_inputs_dir(hub, "motif") / "positive.bed.gz"
    assert hashlib.sha256(gzip.decompress(copy.read_bytes())).hexdigest() == spec["classes"]["positive"]["sha256"]
    assert "/" not in spec["classes"]["positive"]["source"]  # no local path is published
    prov = json.loads(provenance_path(hub, "motif").read_text())
    report = prov["created"]["negatives"]
    assert report["soft_masked_reference"] and report["matched_on"] == ["length", "gc", "repeat"]
    assert report["all"]["gc"]["ks"] < 0.1
    audit = json.loads(audit_path(hub, "motif").read_text())
    probes = audit["shortcuts"]["probes"]
    assert probes["gc"]["flag"] == "pass"  # matched GC is no shortcut
    assert probes["length"]["flag"] == "n/a"  # every row 200 bp (--width): length cannot tell the classes apart
    assert probes["kmer_spectrum"]["flag"] == "fail"  # the planted motif is the signal, and the audit sees it
    assert audit["contigs"]["negatives_without_positive"]["exclusive_rows"] == 0
    card = card_path(hub).read_text()
    assert "| Quantile | GC pos. | GC neg. | repeat pos. | repeat neg. |" in card
    assert "whole contigs held out" in card and "gbhub build --spec specs/motif.yaml" in card
    assert "has not been audited" not in card
    from gbhub.hub_cards.publish import local_files

    uploaded = local_files(hub)
    assert {"specs/motif.yaml", "specs/motif/positive.bed.gz", "motif/test-00000-of-00001.parquet"} <= set(uploaded)


def test_the_spec_rebuilds_the_folder_byte_for_byte(made):
    root, fasta, _, hub, cache = made
    again = root / "again"
    assert main(["build", "--spec", str(spec_path(hub, "motif")), "--reference", f"toy={fasta}", "--out", str(again),
                 "--cache-dir", str(cache), "--no-progress"]) == 0
    report = "audit/motif.json"  # the audit names the folder it read; everything else is the same bytes
    assert {k: v for k, v in _files(again).items() if k != report} == {k: v for k, v in _files(hub).items() if k != report}
    audits = [json.loads((folder / report).read_text()) for folder in (hub, again)]
    assert [a.pop("source") for a in audits] == [f"config motif of {hub}", f"config motif of {again}"]
    assert audits[0] == audits[1]
    # a changed input copy is refused
    copy = spec_inputs_dir(again, "motif") / "positive.bed.gz"
    copy.write_bytes(gzip.compress(gzip.decompress(copy.read_bytes())[:-30], mtime=0))
    assert main(["build", "--spec", str(spec_path(again, "motif")), "--reference", f"toy={fasta}", "--out",
                 str(root / "x"), "--cache-dir", str(cache), "--no-progress"]) == 2


def test_the_cnn_learns_the_benchmark(made, tmp_path):
    _, _, _, hub, _ = made
    run = tmp_path / "run"
    assert main(["train", "cnn", "--dataset", str(hub), "--config", "motif", "--out", str(run), "--epochs", "5", "--batch-size", "32", "--lr", "0.003",
                 "--no-progress"]) == 0
    test = json.loads((run / "metrics.json").read_text())["metrics"]["test"]
    assert test["auroc"] > 0.85 and test["accuracy"] > 0.75  # chance: 0.5


def test_random_split_keeps_overlapping_regions_of_given_classes_together(made, tmp_path):
    root, fasta, bed, _, cache = made
    lines = bed.read_text().splitlines()
    shifted = []
    for line in lines:  # a second class overlapping every first-class region by 100 bp
        contig, start, end, name, score, strand = line.split("\t")
        shifted.append(f"{contig}\t{int(start) + 100}\t{int(end) + 100}\tb_{name}\t0\t{strand}")
    other = tmp_path / "shifted.bed"
    other.write_text("\n".join(shifted) + "\n")
    hub = tmp_path / "hub"
    assert main(["create", "pairs", "--class", f"a={bed}", "--class", f"b={other}", "--reference", f"toy={fasta}",
                 "--out", str(hub), "--split", "random", "--cache-dir", str(cache), "--no-progress",
                 "--no-audit"]) == 0
    ds, frame = _frame(hub, "pairs")
    assert ds["train"].features["label"].names == ["a", "b"]
    pair_split = frame.assign(key=frame["id"].str.removeprefix("b_")).groupby("key")["split"].nunique()
    assert (pair_split == 1).all() and len(pair_split) == len(lines)
    shares = frame["split"].value_counts(normalize=True)
    assert 0.17 < shares["test"] < 0.23 and 0.07 < shares["validation"] < 0.13


def test_positive_strands_and_reverse_complements_follow_the_bed(made):
    _, _, _, hub, cache = made
    _, frame = _frame(hub, "motif")
    prov = json.loads(provenance_path(hub, "motif").read_text())
    sha = prov["references"]["toy"]["sha256"]
    genome = Genome(next((cache / "prepared").glob(f"{sha[:16]}-*")))
    row = frame[(frame["label"] == 1) & (frame["strand"] == "-")].iloc[0]
    forward = genome.fetch(np.array([row["region"]]), np.array([row["start"]]), np.array([row["end"]]),
                           np.array([False]))[0].as_py()
    assert row["sequence"] == forward.translate(_COMP)[::-1]


@pytest.mark.parametrize("extra, message", [
    (["--split", "chromosome"], "no default chromosome hold-out for assembly 'toy'"),
    (["--split-contigs", "validation=chr2", "test=chr9"], "contig 'chr9' is not in the reference"),
])
def test_create_errors_are_one_line(made, tmp_path, capsys, extra, message):
    _, fasta, bed, _, cache = made
    code = main(["create", "bad", "--positives", str(bed), "--reference", f"toy={fasta}", "--out",
                 str(tmp_path / "hub"), "--cache-dir", str(cache), "--no-progress", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err


def test_bad_bed_through_the_command_names_file_line_and_fix(made, tmp_path, capsys):
    _, fasta, bed, _, cache = made
    lines = bed.read_text().splitlines()
    unsorted = tmp_path / "unsorted.bed"
    unsorted.write_text("\n".join([lines[1], lines[0]] + lines[2:]) + "\n")
    code = main(["create", "bad", "--positives", str(unsorted), "--reference", f"toy={fasta}", "--out",
                 str(tmp_path / "hub"), "--split-contigs", "validation=chr2", "test=chr3", "--cache-dir", str(cache),
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "unsorted.bed line 2:" in err and "sort -k1,1 -k2,2n" in err
    assert not (tmp_path / "hub").exists()  # nothing written


def test_positives_mostly_n_are_refused_naming_file_line_and_fix(made, tmp_path, capsys):
    """A positive on the genome's N run used to pass, and then negative sampling failed with a misleading
    "could not be matched ... GC 0.00-0.02"."""
    _, fasta, bed, _, cache = made
    with_n = tmp_path / "with_n.bed"  # chr1:5000-6000 is N (region_fixtures)
    with_n.write_text("chr1\t5000\t5200\tall_n\t0\t+\nchr1\t5900\t6100\thalf_n\t0\t+\n" + bed.read_text())
    code = main(["create", "bad", "--positives", str(with_n), "--reference", f"toy={fasta}", "--out",
                 str(tmp_path / "hub"), "--split-contigs", "validation=chr2", "test=chr3", "--cache-dir", str(cache),
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err, err
    assert (f"{with_n.name}, line 1 (chr1:5000-5200): 200 of its 200 bases are N (100.0%), over --max-n-fraction 0 "
            "(and 1 more): no matched negative may hold that much N; drop the region(s)") in err, err
    assert err.endswith("or raise --max-n-fraction"), err
    assert not (tmp_path / "hub").exists()  # nothing written


def test_a_missing_citation_file_names_the_flag(made, tmp_path, capsys):
    _, fasta, bed, _, cache = made
    missing = tmp_path / "nope.bib"
    try:
        code = main(["create", "bad", "--positives", str(bed), "--reference", f"toy={fasta}", "--out",
                     str(tmp_path / "hub"), "--split-contigs", "validation=chr2", "test=chr3", "--cache-dir", str(cache),
                     "--no-progress", "--citation", str(missing)])
    except SystemExit as exit_:  # a usage error, as argparse's own
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"gbhub create: error: --citation {missing}: not found"), err
    assert "Errno" not in err and "\n" not in err
    assert not (tmp_path / "hub").exists()


def test_negatives_on_contigs_without_positives_take_the_bed_spelling(made, tmp_path):
    """--background genome draws train negatives on MT too, where no positive lies: they were written `MT` (the
    reference's name) beside positives spelled `chr1` by the BED; now one spelling throughout: `chrM`."""
    _, fasta, bed, _, cache = made
    hub = tmp_path / "hub"
    assert main(["create", "spelled", "--positives", str(bed), "--reference", f"toy={fasta}", "--out", str(hub),
                 "--split-contigs", "validation=chr2", "test=chr3", "--background", "genome", "--cache-dir",
                 str(cache), "--no-progress", "--no-audit"]) == 0
    _, frame = _frame(hub, "spelled")
    negatives = frame[frame["label"] == 0]
    assert set(frame[frame["label"] == 1]["region"]) == {"chr1", "chr2", "chr3"}
    assert "chrM" in set(negatives["region"])  # drawn where no positive is, spelled as the BED spells
    assert set(frame["region"]) <= {"chr1", "chr2", "chr3", "chrM"}
    genome = Genome(next((cache / "prepared").glob("*")))
    row = negatives[negatives["region"] == "chrM"].iloc[0]
    forward = genome.fetch(np.array([row["region"]]), np.array([row["start"]]), np.array([row["end"]]),
                           np.array([False]))[0].as_py()
    assert row["sequence"] == (forward if row["strand"] == "+" else forward.translate(_COMP)[::-1])
