"""`gbhub create --target`: a BED's score column becomes a float target (the regression data contract)."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pandas as pd
import pytest
import yaml
from region_fixtures import MOTIF, planted_benchmark
from region_fixtures import file_digests as _files
from region_fixtures import load_frame as _frame

from gbhub.builders.hub_layout import audit_path, card_path, provenance_path, spec_path
from gbhub.builders.plan import quantile_strata
from gbhub.cli import main


def scored_bed(root, per_contig):
    """The planted windows (target about 1) and as many motif-free windows 1 kb away (target about 0), BED6
    with the target in column 5 and a copy of it in column 7, sorted."""
    fasta, bed = planted_benchmark(root, per_contig=per_contig)
    rng = np.random.default_rng(5)
    rows = []
    for line in bed.read_text().splitlines():
        contig, start, end, name, _, strand = line.split("\t")
        for shift, base, tag in ((0, 1.0, name), (1000, 0.0, f"bg_{name}")):
            value = round(base + float(rng.normal(0, 0.1)), 4)
            rows.append((contig, int(start) + shift, int(end) + shift, tag, value, strand))
    rows.sort(key=lambda r: (r[0], r[1]))
    scored = root / "scored.bed"
    scored.write_text("".join(f"{c}\t{s}\t{e}\t{n}\t{v}\t{st}\t{v}\n" for c, s, e, n, v, st in rows))
    return fasta, scored


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("regression")
    fasta, bed = scored_bed(root, {"1": 300, "2": 60, "3": 60})
    hub, cache = root / "hub", root / "cache"
    assert main(["create", "signal", "--positives", str(bed), "--target", "score", "--reference", f"toy={fasta}",
                 "--out", str(hub), "--split-contigs", "validation=chr2", "test=chr3", "--cache-dir", str(cache),
                 "--no-progress"]) == 0
    return root, fasta, bed, hub, cache


def test_the_score_column_becomes_a_float32_label_on_chromosome_splits(made):
    _, _, bed, hub, _ = made
    ds, frame = _frame(hub, "signal")
    assert ds["train"].features["label"] == datasets.Value("float32")
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [600, 120, 120]  # no negatives generated
    assert (frame.groupby("region")["split"].nunique() == 1).all()
    assert set(frame.loc[frame["split"] == "test", "region"]) == {"chr3"}
    given = pd.read_csv(bed, sep="\t", header=None, names=["c", "s", "e", "id", "score", "strand", "copy"])
    got = frame.set_index("id")["label"]
    assert np.allclose(got[given["id"]].to_numpy(), given["score"].to_numpy(np.float32))
    planted = frame[~frame["id"].str.startswith("bg_")]
    assert planted["sequence"].str.contains(MOTIF).all()  # read on the BED's strand
    prov = json.loads(provenance_path(hub, "signal").read_text())
    assert prov["classes"] == [] and prov["target"]["targets"] == ["score"]
    assert prov["created"]["target"] == {"name": "score", "column": 5} and prov["created"]["negatives"] is None
    assert not audit_path(hub, "signal").exists()  # the audit compares classes
    spec = yaml.safe_load(spec_path(hub, "signal").read_text())
    assert spec["target"] == {"name": "score", "column": 5} and spec["negatives"] is None
    body = card_path(hub).read_text().split("### signal", 1)[1]
    assert "#### Target and splits" in body and "#### Classes and splits" not in body
    assert "**Target**: `label` is the float32 `score`, read from column 5" in body


def test_the_regression_spec_rebuilds_byte_for_byte(made):
    root, fasta, _, hub, cache = made
    again = root / "again"
    assert main(["build", "--spec", str(spec_path(hub, "signal")), "--reference", f"toy={fasta}", "--out",
                 str(again), "--cache-dir", str(cache), "--no-progress"]) == 0
    assert _files(again) == _files(hub)


def test_random_split_is_stratified_on_target_deciles_and_keeps_overlaps_together(made, tmp_path):
    root, fasta, bed, _, cache = made
    lines = bed.read_text().splitlines()
    # every planted window gets an overlapping twin 50 bp on: the pair must land in one split
    extra = []
    for line in lines:
        c, s, e, n, v, st, cp = line.split("\t")
        extra.append(f"{c}\t{int(s) + 50}\t{int(e) + 50}\ttwin_{n}\t{v}\t{st}\t{cp}")
    both = sorted(lines + extra, key=lambda t: (t.split("\t")[0], int(t.split("\t")[1])))
    twins = tmp_path / "twins.bed"
    twins.write_text("\n".join(both) + "\n")
    hub = tmp_path / "hub"
    assert main(["create", "rand", "--positives", str(twins), "--target", "copy", "--target-column", "7",
                 "--reference", f"toy={fasta}", "--out", str(hub), "--split", "random", "--cache-dir", str(cache),
                 "--no-progress"]) == 0
    ds, frame = _frame(hub, "rand")
    pairs = frame.assign(key=frame["id"].str.removeprefix("twin_")).groupby("key")["split"].nunique()
    assert (pairs == 1).all()
    deciles = quantile_strata(frame["label"].to_numpy(np.float64))
    share = pd.crosstab(deciles, frame["split"], normalize="index")
    assert share["test"].between(0.1, 0.3).all() and share["validation"].between(0.03, 0.18).all()
    prov = json.loads(provenance_path(hub, "rand").read_text())
    assert prov["created"]["split"]["strata"] == "target quantiles (10 bins)"
    assert "random, stratified on the target's deciles" in card_path(hub).read_text()


@pytest.mark.parametrize("value, shown", [("high", "'high'"), (".", "'.'"), ("nan", "'nan'")])
def test_a_non_numeric_score_is_one_line_naming_file_line_and_fix(made, tmp_path, capsys, value, shown):
    _, fasta, bed, _, cache = made
    lines = bed.read_text().splitlines()
    fields = lines[3].split("\t")
    fields[4] = value
    bad = tmp_path / "bad.bed"
    bad.write_text("\n".join(lines[:3] + ["\t".join(fields)] + lines[4:]) + "\n")
    code = main(["create", "bad", "--positives", str(bad), "--target", "score", "--reference", f"toy={fasta}",
                 "--out", str(tmp_path / "hub"), "--split-contigs", "validation=chr2", "test=chr3",
                 "--cache-dir", str(cache), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert f"bad.bed line 4: target (column 5) {shown} is not a finite number" in err
    assert "give every region a numeric score in column 5" in err
    assert not (tmp_path / "hub").exists()


@pytest.mark.parametrize("extra, message", [
    (["--target-column", "8"], "bed line 1: 7 columns, so no column 8 to read the target from"),
    (["--target-column", "2"], "--target-column 2: columns 1-3 are contig, start and end"),
    (["--target", "my score"], "is not a column name"),
])
def test_missing_target_columns_and_bad_names_are_one_line(made, tmp_path, capsys, extra, message):
    _, fasta, bed, _, cache = made
    args = ["create", "bad", "--positives", str(bed), "--target", "score", "--reference", f"toy={fasta}", "--out",
            str(tmp_path / "hub"), "--split-contigs", "validation=chr2", "test=chr3", "--cache-dir", str(cache),
            "--no-progress", *extra]
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err


def test_regression_flags_are_refused_where_they_do_not_apply(made, tmp_path, capsys):
    _, fasta, bed, _, _ = made
    base = ["create", "bad", "--reference", f"toy={fasta}", "--out", str(tmp_path / "hub")]
    for extra, message in ((["--positives", str(bed), "--target-column", "7"], "--target-column goes with --target"),
                           (["--class", f"a={bed}", "--class", f"b={bed}", "--target", "score"],
                            "give --positives BED and no --class")):
        with pytest.raises(SystemExit) as exit_:
            main([*base, *extra])
        assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_the_cnn_learns_the_created_regression_benchmark(made, tmp_path):
    _, _, _, hub, _ = made
    run = tmp_path / "run"
    assert main(["train", "cnn", "--dataset", str(hub), "--config", "signal", "--out", str(run), "--epochs", "3",
                 "--batch-size", "32", "--lr", "0.003", "--no-progress"]) == 0
    test = json.loads((run / "metrics.json").read_text())["metrics"]["test"]
    assert test["r2"] > 0.5  # the motif sets the target; predicting the mean gives 0


def test_the_card_says_why_a_regression_config_is_not_audited(made):
    _, _, _, hub, _ = made
    body = card_path(hub).read_text().split("### signal", 1)[1]
    assert "This regression config has not been audited: the leakage and shortcut audit compares classes" in body
    assert "Run `gbhub audit signal`" not in body
