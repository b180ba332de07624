"""Regression benchmarks: TSS windows on both strands, float targets and side features through the engine, the card."""

from __future__ import annotations

import gzip
import json

import datasets
import numpy as np
import pandas as pd
import pytest

from gbhub.builders import synthetic_expression as gen
from gbhub.builders.build import build_benchmark, materialize, write_plan_config
from gbhub.builders.errors import PlanError
from gbhub.builders.genome import prepare
from gbhub.builders.hub_layout import RegressionTarget, benchmark_features, split_files
from gbhub.builders.plan import quantile_strata, regression_plan, validation_mask
from gbhub.builders.tss import GeneTableError, read_gene_table, tss_windows, window_rows
from gbhub.hub_cards.dataset_card import write_dataset_card

CHR1 = "ACGTTGCAacgtNNGGCCATATCGCGTTAACCGGTTAAGC"  # tests/builders/conftest.py: the tiny genome's contig 1

_RC = str.maketrans("ACGTN", "TGCAN")


def _revcomp(text: str) -> str:
    return text.upper().translate(_RC)[::-1]


def test_tss_windows_literal_on_both_strands():
    start, end = tss_windows([100, 100], [False, True], upstream=3, downstream=2)
    assert start.tolist() == [97, 99] and end.tolist() == [102, 104]
    with pytest.raises(Exception, match="downstream >= 1"):
        tss_windows([5], [False], 3, 0)


def _gene_table(path, rows, schema):
    header = ",".join(["id", "region", "tss", "strand", *schema.targets, *schema.side_features])
    path.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode(), mtime=0))
    return path


def test_tss_windows_are_exact_through_the_engine(tmp_path, tiny_fasta):
    """Hand-made genes on both strands of the tiny genome: the TSS base is sequence[upstream] on either strand."""
    schema = RegressionTarget(("expr",), ("hl",))
    genome = str(prepare(tiny_fasta, tmp_path / "prep", progress=False))
    train = _gene_table(tmp_path / "train.csv.gz", ["g1,chr1,10,+,1.5,0.1", "g2,1,10,-,-2.0,0.2",
                                                    "g3,chr1,20,,0.25,0.3", "g4,1,30,-,3.0,0.4"], schema)
    test = _gene_table(tmp_path / "test.csv.gz", ["t1,chr1,5,-,0.5,0.5"], schema)
    tables = {s: read_gene_table(p, schema, name=p.name) for s, p in (("train", train), ("test", test))}
    rows = {s: window_rows(t, 3, 2, name=s) for s, t in tables.items()}
    plan = regression_plan(rows, {"train": "train.csv.gz", "test": "test.csv.gz"}, genome, targets=("expr",),
                           side_features=("hl",), seed=1, fraction=0.25)
    ds = materialize(plan, "toy", schema, cache_dir=tmp_path / "cache")
    got = {r["id"]: r for s in ds for r in ds[s]}
    up = CHR1.upper()
    assert got["g1"]["sequence"] == up[7:12] and got["g1"]["sequence"][3] == up[10]
    assert got["g2"]["sequence"] == _revcomp(CHR1[9:14]) and got["g2"]["sequence"][3] == up[10].translate(_RC)
    assert (got["g2"]["start"], got["g2"]["end"], got["g2"]["strand"]) == (9, 14, "-")
    assert got["g3"]["sequence"] == up[17:22] and got["g3"]["strand"] == "+"
    assert got["t1"]["sequence"] == _revcomp(CHR1[4:9])
    assert got["g2"]["label"] == pytest.approx(-2.0) and got["g4"]["hl"] == pytest.approx(0.4)
    assert ds["train"].features["label"] == datasets.Value("float32")
    assert len(ds["test"]) == 1 and len(ds["validation"]) == 1  # 25% of 4, one decile stratum each


def test_gene_table_errors_name_the_row_and_the_fix(tmp_path):
    schema = RegressionTarget(("expr",), ("hl",))
    bad = _gene_table(tmp_path / "bad.csv.gz", ["g1,chr1,10,+,1.5,0.1", "g2,chr1,-4,+,1.0,0.1"], schema)
    with pytest.raises(GeneTableError, match=r"row 2 of bad.csv.gz: tss '-4' is not a 0-based position"):
        read_gene_table(bad, schema, name="bad.csv.gz")
    nan = _gene_table(tmp_path / "nan.csv.gz", ["g1,chr1,10,+,nan,0.1"], schema)
    with pytest.raises(GeneTableError, match="row 1 of .*expr 'nan' is not a finite number"):
        read_gene_table(nan, schema)
    early = read_gene_table(_gene_table(tmp_path / "ok.csv.gz", ["g1,chr1,1,+,1.0,0.1"], schema), schema)
    with pytest.raises(GeneTableError, match="starts at -2, before its contig; windows are never shortened"):
        window_rows(early, 3, 2, name="ok.csv.gz")
    with pytest.raises(Exception, match="clashes with a core column"):
        RegressionTarget(("y",), ("start",))


def test_validation_is_stratified_on_target_deciles():
    rng = np.random.default_rng(0)
    y = rng.lognormal(size=1000)
    strata = quantile_strata(y)
    assert np.bincount(strata).tolist() == [100] * 10
    mask = validation_mask(y.astype(np.float32), seed=3, fraction=0.1)
    assert np.bincount(strata[mask], minlength=10).tolist() == [10] * 10
    assert np.array_equal(mask, validation_mask(y.astype(np.float32), seed=3, fraction=0.1))
    two = validation_mask(np.stack([y, -y], axis=1), seed=3)  # several targets: their row mean's deciles
    assert two.sum() == 100


def test_multi_target_labels_round_trip_through_parquet_and_load_dataset(tmp_path, tiny_fasta):
    schema = RegressionTarget(("liver", "brain"), ())
    genome = str(prepare(tiny_fasta, tmp_path / "prep", progress=False))
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "region": ["1"] * 4, "start": [0, 5, 10, 15],
                          "end": [8, 13, 18, 23], "strand": ["+", "-", "+", "+"], "row": [1, 2, 3, 4],
                          "liver": [0.5, 1.5, -1.0, 2.0], "brain": [3.0, 0.0, 1.0, -0.5]})
    plan = regression_plan({"train": frame.iloc[:3], "test": frame.iloc[3:]}, {"train": "t", "test": "u"}, genome,
                           targets=schema.targets, seed=0, fraction=0.34)
    write_plan_config(tmp_path / "hub", "two", plan, schema, {"config": "two"}, progress=False)
    ds = datasets.load_dataset("parquet", data_files={
        s: [str(p) for p in split_files(tmp_path / "hub", "two", s)] for s in ("train", "validation", "test")})
    assert ds["test"].features["label"] == datasets.List(datasets.Value("float32"), length=2)
    assert ds["test"][0]["label"] == [2.0, -0.5]
    labels = {r["id"]: r["label"] for s in ds for r in ds[s]}
    assert labels["b"] == [1.5, 0.0]
    with pytest.raises(PlanError, match="labels are of dtype"):  # a regression plan under class names
        write_plan_config(tmp_path / "hub", "wrong", plan, ["a", "b"], {"config": "wrong"}, progress=False)


@pytest.fixture(scope="module")
def synthetic_expression_hub(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    cache = tmp_path_factory.mktemp("cache")
    build_benchmark("synthetic_expression", out, cache_dir=cache, progress=False)
    write_dataset_card(out)
    return out, cache


def test_synthetic_expression_round_trips_and_the_ceiling_is_what_the_data_give(synthetic_expression_hub):
    out, _ = synthetic_expression_hub
    ds = datasets.load_dataset(str(out), "synthetic_expression")  # through the card's YAML, as from the Hub
    assert ds["train"].features == benchmark_features(gen.SCHEMA)
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [1080, 120, 300]
    assert {len(s) for s in ds["test"]["sequence"]} == {gen.UPSTREAM + gen.DOWNSTREAM}
    prov = json.loads((out / "provenance" / "synthetic_expression.json").read_text())
    assert prov["classes"] == [] and prov["target"]["side_features"] == ["half_life", "tf_sites", "gc_noise"]
    # The noise-free target recomputed from the *extracted* sequences (read on each gene's strand, TSS at index
    # UPSTREAM) reproduces the generator's ceiling: the TSS convention and the strands are right end to end.
    test = ds["test"].to_pandas()
    signal = np.array([gen.sequence_signal(s) for s in test["sequence"]])
    side = gen.HALF_LIFE_EFFECT * test["half_life"] + gen.TF_EFFECT * (test["tf_sites"] - 3.0)
    y = test["label"].to_numpy(np.float64)
    r2 = 1 - np.sum((y - signal - side) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 == pytest.approx(prov["sources"]["verified"]["ceiling"]["test"]["r2_noise_free_target"], abs=2e-4)


def test_regression_card_shows_target_and_correlations_not_class_counts(synthetic_expression_hub):
    out, _ = synthetic_expression_hub
    card = write_dataset_card(out).read_text()
    body = card.split("### synthetic_expression", 1)[1]
    assert "#### Target and splits" in body and "#### Classes and splits" not in body
    assert "images/synthetic_expression_target.png" in body and (out / "images/synthetic_expression_target.png").is_file()
    assert "| `half_life` | `expression` |" in body and "#### Known ceiling R²" in body
    assert "stratified on target quantiles (10 bins)" in body
    assert "| `synthetic_expression` | all | 1,500 | regression | – |" in card
    assert "dtype: float32" in card.split("---", 2)[1]  # dataset_info features in the YAML
    assert "regression" in card.split("---", 2)[1]


def test_synthetic_expression_parquet_is_byte_identical_when_rebuilt(synthetic_expression_hub, tmp_path):
    out, cache = synthetic_expression_hub
    again = build_benchmark("synthetic_expression", tmp_path / "hub", cache_dir=cache, progress=False)
    for split in ("train", "validation", "test"):
        first = split_files(out, "synthetic_expression", split)[0].read_bytes()
        assert split_files(again.parent, "synthetic_expression", split)[0].read_bytes() == first
