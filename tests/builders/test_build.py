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

from gbhub.builders import synthetic
from gbhub.builders.build import build_benchmark
from gbhub.builders.errors import OutputWriteError
from gbhub.builders.hub_layout import write_config
from gbhub.cli import main
from gbhub.hub_cards.dataset_card import write_dataset_card


def digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    cache = tmp_path_factory.mktemp("cache")
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    write_dataset_card(out)  # the command layer's step after a build: makes the folder loadable by config
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
    build_benchmark("synthetic", again, cache_dir=cache, progress=False, num_proc=2)
    assert digests(again) == digests(out)


def test_another_seed_changes_only_the_validation_split(built, tmp_path):
    out, cache = built
    other = tmp_path / "seed7"
    build_benchmark("synthetic", other, cache_dir=cache, seed=7, progress=False)
    write_dataset_card(other)
    a = datasets.load_dataset(str(out), "synthetic")
    b = datasets.load_dataset(str(other), "synthetic")
    assert list(a["test"]["id"]) == list(b["test"]["id"])
    assert set(a["validation"]["id"]) != set(b["validation"]["id"])


def test_rebuilding_one_config_keeps_the_others_and_failures_leave_the_old_one(built, tmp_path, monkeypatch):
    _, cache = built
    out = tmp_path / "hub"
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    files = {s: str(out / "synthetic" / f"{s}-*.parquet") for s in ("train", "validation", "test")}
    ds = datasets.load_dataset("parquet", data_files=files)
    write_config(out, "other_config", ds, {"config": "other_config"})
    before = digests(out)
    import errno

    import gbhub.builders.extract as build_module  # the engine that writes each config

    original = build_module.write_parquet
    calls = []

    def failing(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(build_module, "write_parquet", failing)
    with pytest.raises(OutputWriteError, match=rf"cannot write {out / 'synthetic'}: No space left on device; free"):
        build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    monkeypatch.undo()
    assert digests(out) == before  # old config intact, nothing half-written
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
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
    result = subprocess.run([sys.executable, "-m", "gbhub.cli", "list"], capture_output=True, text=True,
                            check=True)
    assert "human_ocr_ensembl" in result.stdout


def test_a_plan_with_an_empty_split_is_refused_before_building(tmp_path):
    from gbhub.builders.build import materialize
    from gbhub.builders.errors import EmptySplitError
    from gbhub.builders.genome import prepare
    from gbhub.builders.plan import upstream_plan

    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ACGTTGCA" * 10 + "\n")
    genome = str(prepare(fasta, tmp_path / "prep", progress=False))

    def table(*rows):
        frame = pd.DataFrame(rows, columns=["id", "region", "start", "end", "strand"])
        return frame.assign(row=np.arange(1, len(frame) + 1))

    # 2 and 1 train rows per class: round(10%) of each is 0, so validation would be empty
    tables = {"train": {0: table(("a", "chr1", 0, 5, "+"), ("b", "chr1", 3, 9, "-")),
                        1: table(("c", "chr1", 10, 15, "-"))},
              "test": {0: table(("d", "chr1", 0, 30, "+")), 1: table(("e", "chr1", 1, 2, "-"))}}
    names = {s: {label: f"toy/{s}/{label}.csv" for label in (0, 1)} for s in tables}
    plan = upstream_plan(tables, names, {0: genome, 1: genome}, seed=1)
    with pytest.raises(EmptySplitError, match=r"toy: the validation split would have no rows "
                                              r"\(train 3, validation 0, test 2\)"):
        materialize(plan, "toy", ["negative", "positive"], cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("build-*"))


def test_cli_environment_and_argument_errors_are_one_line(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert main(["build", "synthetic", "--out", str(not_a_folder), "--no-progress",
                 "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gbhub build: error: ") and str(not_a_folder) in err and err.count("\n") == 1
    for command in ("build", "audit"):
        with pytest.raises(SystemExit) as exit_:  # a usage error: argparse exits with status 2
            main([command, "synthetic", "--out", str(tmp_path / "hub"), "--num-proc", "0"])
        assert exit_.value.code == 2
        assert "--num-proc: expected a whole number >= 1, got '0'" in capsys.readouterr().err


def test_each_reference_index_is_read_once_per_split_not_once_per_chunk(built, tmp_path, monkeypatch):
    import gbhub.builders.builder as engine
    from gbhub.builders.build import prepare_inputs
    from gbhub.builders.plan import upstream_plan, write_plan

    _, cache = built
    inputs = prepare_inputs("synthetic", cache_dir=cache, progress=False)
    plan = upstream_plan(inputs.tables, inputs.table_names, inputs.genomes, seed=42)
    opened = []

    class CountingGenome(engine.Genome):
        def __init__(self, path):
            opened.append(path)
            super().__init__(path)

    monkeypatch.setattr(engine, "Genome", CountingGenome)
    builder = engine.GenomicBenchmark(
        cache_dir=str(tmp_path / "arrow"), config_name="synthetic", class_names=("negative", "positive"),
        plan_path=str(write_plan(plan, tmp_path / "plan.parquet")), plan_sha256="x", chunk_rows=100)
    builder.download_and_prepare()
    assert len(builder.as_dataset(split="train")) == 1260
    assert len(opened) == 3  # one per split generator (every chunk shares the reference)


def test_parquet_row_groups_stay_at_the_stated_size(tmp_path):
    import pyarrow.parquet as pq

    from gbhub.builders.hub_layout import ROW_GROUP_ROWS

    rows = 2 * ROW_GROUP_ROWS + 7
    ds = datasets.Dataset.from_dict({"sequence": ["ACGT"] * rows})
    target = write_config(tmp_path, "big", datasets.DatasetDict({s: ds for s in ("train", "validation", "test")}),
                          {"config": "big"})
    meta = pq.read_metadata(target / "train-00000-of-00001.parquet")
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 7]


def test_cli_renders_the_card_once_after_all_builds(tmp_path, capsys, monkeypatch):
    import gbhub.hub_cards.dataset_card as dataset_card

    rendered = []
    real = dataset_card.write_dataset_card
    monkeypatch.setattr(dataset_card, "write_dataset_card", lambda out, **kw: rendered.append(out) or real(out, **kw))
    out = tmp_path / "hub"
    assert main(["build", "synthetic", "synthetic", "--out", str(out), "--no-progress",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    assert len(rendered) == 1 and (out / "README.md").is_file()
    assert capsys.readouterr().out.count("built synthetic") == 2


def test_a_failed_swap_puts_the_previous_config_back(built, tmp_path, monkeypatch):
    import os

    _, cache = built
    out = tmp_path / "hub"
    build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    before = digests(out)
    real_replace = os.replace

    def failing_replace(src, dst):
        if ".staging-" in str(src):
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr("gbhub.builders.hub_layout.os.replace", failing_replace)
    with pytest.raises(OutputWriteError, match="rename failed"):
        build_benchmark("synthetic", out, cache_dir=cache, progress=False)
    monkeypatch.undo()
    assert digests(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_no_progress_hides_every_bar(tmp_path, capsys):
    assert main(["build", "synthetic", "--out", str(tmp_path / "hub"), "--no-progress",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    assert "it/s" not in captured.err + captured.out and "%|" not in captured.err + captured.out


@pytest.mark.parametrize("command", ["list", "references", "build", "card", "push", "push-model"])
def test_engine_subcommands_describe_themselves_with_dashed_flags(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    usage, _, body = text.partition("\n\n")
    assert body.strip() and not body.lstrip().startswith(("options:", "positional arguments:"))  # a description
    assert "(default: False)" not in text and "(default: None)" not in text
    flags = [word for word in text.split() if word.startswith("--")]
    assert flags and not [flag for flag in flags if "_" in flag.split("=")[0]]


def test_no_benchmark_or_names_with_all_is_a_one_line_error(tmp_path, capsys):
    for argv in (["build", "--out", str(tmp_path)], ["build", "--all", "synthetic", "--out", str(tmp_path)]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("gbhub build: error: ") and err.count("\n") == 1
