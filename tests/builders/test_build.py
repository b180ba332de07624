"""Building into a Hub-layout folder: splits, determinism, num_proc, atomic replacement, CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import datasets
import numpy as np
import pandas as pd
import pytest

from builders import synthetic
from builders.build import build_benchmark
from builders.cli import main
from builders.hub_layout import write_config


def digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    cache = tmp_path_factory.mktemp("cache")
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    return out, cache


def test_synthetic_build_has_the_contracted_splits(built):
    out, cache = built
    ds = datasets.load_dataset(str(out), "synthetic")
    assert set(ds) == {"train", "validation", "test"}
    features = ds["train"].features
    assert features["label"].names == ["negative", "positive"]
    assert {k: str(v.dtype) for k, v in features.items() if k != "label"} == {
        "id": "string", "sequence": "string", "region": "string", "start": "int64", "end": "int64",
        "strand": "string"}
    # test is upstream test unchanged; validation is round(10%) of each train class; union is train
    upstream = {split: pd.concat([pd.read_csv(cache / "builtin" / "synthetic" / "datasets" / "synthetic" / split
                                              / f"{c}.csv.gz", dtype=str) for c in ("negative", "positive")])
                for split in ("train", "test")}
    assert sorted(ds["test"]["id"]) == sorted(upstream["test"]["id"])
    assert sorted(list(ds["train"]["id"]) + list(ds["validation"]["id"])) == sorted(upstream["train"]["id"])
    assert np.bincount(ds["validation"]["label"]).tolist() == [70, 70]
    assert len(ds["train"]) == 1260 and len(ds["test"]) == 400
    provenance = json.loads((out / "provenance" / "synthetic.json").read_text())
    assert provenance["validation"] == {"seed": 42, "fraction": 0.1, "stratified": True}
    assert provenance["references"]["synthetic"]["sha256"] == hashlib.sha256(
        (cache / "builtin" / "synthetic" / "reference.fa").read_bytes()).hexdigest()


def test_synthetic_sequences_follow_the_conventions(built):
    out, _ = built
    test = datasets.load_dataset(str(out), "synthetic", split="test").to_pandas()
    assert (test["sequence"].str.len() == synthetic.LENGTH).all()
    assert test["sequence"].str.fullmatch("[ACGTN]+").all()
    positive = test["label"] == 1
    # the motif is planted on the row's strand: every positive reads it forward, once RC applied
    assert test.loc[positive, "sequence"].str.contains(synthetic.MOTIF).all()
    assert not test.loc[~positive, "sequence"].str.contains(synthetic.MOTIF).any()
    assert set(test["strand"]) == {"+", "-"} and set(test["region"]) == {"chr1", "chr2", "chrM"}


def test_same_inputs_give_byte_identical_parquet_also_with_num_proc(built, tmp_path):
    out, cache = built
    again = tmp_path / "again"
    build_benchmark("synthetic", again, cache_dir=cache, progress=False, num_proc=2, write_card=False)
    assert digests(again) == digests(out)


def test_another_seed_changes_only_the_validation_split(built, tmp_path):
    out, cache = built
    other = tmp_path / "seed7"
    build_benchmark("synthetic", other, cache_dir=cache, seed=7, progress=False)
    a = datasets.load_dataset(str(out), "synthetic")
    b = datasets.load_dataset(str(other), "synthetic")
    assert list(a["test"]["id"]) == list(b["test"]["id"])
    assert set(a["validation"]["id"]) != set(b["validation"]["id"])


def test_rebuilding_one_config_keeps_the_others_and_failures_leave_the_old_one(built, tmp_path, monkeypatch):
    _, cache = built
    out = tmp_path / "hub"
    build_benchmark("synthetic", out, cache_dir=cache, progress=False, write_card=False)
    files = {s: str(out / "synthetic" / f"{s}-*.parquet") for s in ("train", "validation", "test")}
    ds = datasets.load_dataset("parquet", data_files=files)
    write_config(out, "other_config", ds, {"config": "other_config"})
    before = digests(out)
    original = datasets.Dataset.to_parquet
    calls = []

    def failing(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "to_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        build_benchmark("synthetic", out, cache_dir=cache, progress=False, write_card=False)
    monkeypatch.undo()
    assert digests(out) == before  # old config intact, nothing half-written
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    build_benchmark("synthetic", out, cache_dir=cache, progress=False, write_card=False)
    assert digests(out) == before  # rebuilt identically, other config untouched


def test_cli_build_list_references(tmp_path, capsys):
    out = tmp_path / "hub"
    assert main(["build", "synthetic", "--out", str(out), "--no-progress"]) == 0
    assert "built synthetic" in capsys.readouterr().out
    assert datasets.get_dataset_config_names(str(out)) == ["synthetic"]
    assert main(["list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["human_nontata_promoters"]["splits"]["validation"] == {"negative": 1236, "positive": 1474}
    assert rows["demo_human_or_worm"]["references"]["worm"] == "WBcel235_ensembl104"
    assert main(["references", "--json"]) == 0
    refs = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert refs["GRCh38_ensembl100"]["cached"] is None
    assert refs["BDGP6.28_ensembl100"]["url"].startswith("https://ftp.ensembl.org/pub/release-100/")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["build", "nonexistent", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gbhub build: error: unknown benchmark 'nonexistent'") and err.count("\n") == 1


def test_console_script_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "builders.cli", "list"], capture_output=True, text=True,
                            check=True)
    assert "human_ocr_ensembl" in result.stdout
