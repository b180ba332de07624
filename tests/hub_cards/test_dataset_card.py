"""Tests of the dataset card: YAML round trip through `datasets`, statistics, images, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
from huggingface_hub import DatasetCard

from gbhub.builders.hub_layout import LayoutError
from gbhub.hub_cards import dataset_card
from gbhub.hub_cards import stats as st
from gbhub.hub_cards.dataset_card import CardError, write_dataset_card

FEATURE_COLUMNS = ("id", "sequence", "label", "region", "start", "end", "strand")
GB_CITATION = "@article{grevsova2023genomic,\n  title={Genomic benchmarks},\n  year={2023}\n}"


def _features(classes: list[str]) -> datasets.Features:
    return datasets.Features({
        "id": datasets.Value("string"), "sequence": datasets.Value("string"),
        "label": datasets.ClassLabel(names=classes), "region": datasets.Value("string"),
        "start": datasets.Value("int64"), "end": datasets.Value("int64"), "strand": datasets.Value("string"),
    })


def _rows(rng: np.random.Generator, classes: list[str], per_class: list[int], prefix: str) -> dict:
    rows = {c: [] for c in FEATURE_COLUMNS}
    for label, count in enumerate(per_class):
        for i in range(count):
            length = int(rng.integers(20, 60)) + 15 * label
            bases = "ACGT" if label != 1 else "GGCCAT"
            seq = "".join(rng.choice(list(bases), size=length)) + ("N" if i % 7 == 0 else "")
            start = int(rng.integers(0, 10_000))
            rows["id"].append(f"{prefix}_{classes[label]}_{i}")
            rows["sequence"].append(seq)
            rows["label"].append(label)
            rows["region"].append("chr1")
            rows["start"].append(start)
            rows["end"].append(start + len(seq))
            rows["strand"].append("+-"[i % 2])
    return rows


def _provenance(config: str, classes: list[str], splits: dict[str, int], upstream: bool) -> dict:
    return {
        "config": config,
        "pretty_name": config.replace("_", " ").title(),
        "description": f"Sequences of {', '.join(classes)} made up for the **{config}** test.",
        "classes": classes,
        "class_references": {c: "toy_ref" for c in classes},
        "references": {"toy_ref": {"url": "https://example.org/toy.fa.gz", "assembly": "TOY1",
                                   "kind": "genome", "sha256": "ab" * 32, "source": "download"}},
        "citations": [GB_CITATION, "@article{orig2020,\n  title={Original},\n  year={2020}\n}"],
        "license": "apache-2.0",
        "homepage": "https://github.com/ML-Bioinfo-CEITEC/genomic_benchmarks",
        "upstream": ({"repository": "https://github.com/ML-Bioinfo-CEITEC/genomic_benchmarks",
                      "commit": "605d8539830e16c85abe7826990958303ffc5e1c",
                      "tables": {f"train/{c}.csv.gz": "cd" * 32 for c in classes}} if upstream else None),
        "package_version": "0.1.0",
        "validation": {"seed": 42, "fraction": 0.1, "stratified": True},
        "parent": None,
        "variant_note": None,
        "splits": {s: {"num_examples": n} for s, n in splits.items()},
    }


def make_hub_folder(root: Path) -> Path:
    """Write a two-config Hub-layout folder (one config with 3 classes) the way the build step does."""
    rng = np.random.default_rng(0)
    specs = {
        "toy_binary": (["negative", "positive"], {"train": [30, 20], "validation": [4, 2], "test": [10, 9]}),
        "toy_three": (["enhancer", "ocr", "promoter"], {"train": [12, 15, 9], "validation": [2, 2, 1],
                                                         "test": [5, 5, 4]}),
    }
    for config, (classes, per_split) in specs.items():
        counts = {}
        for split, per_class in per_split.items():
            ds = datasets.Dataset.from_dict(_rows(rng, classes, per_class, split), features=_features(classes))
            path = root / config / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(path))
            counts[split] = len(ds)
        prov = _provenance(config, classes, counts, upstream=config == "toy_binary")
        (root / "provenance").mkdir(exist_ok=True)
        (root / "provenance" / f"{config}.json").write_text(json.dumps(prov, indent=2), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory) -> Path:
    root = make_hub_folder(tmp_path_factory.mktemp("hub"))
    write_dataset_card(root)
    return root


def _parquet(root: Path, config: str, split: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted((root / config).glob(f"{split}-*.parquet"))])


def test_card_yaml_round_trips_through_datasets(hub_dir):
    assert datasets.get_dataset_config_names(str(hub_dir)) == ["toy_binary", "toy_three"]
    for config, classes in (("toy_binary", ["negative", "positive"]), ("toy_three", ["enhancer", "ocr", "promoter"])):
        dsd = datasets.load_dataset(str(hub_dir), config)
        assert list(dsd) == ["train", "validation", "test"]
        for split, ds in dsd.items():
            assert ds.features["label"].names == classes
            assert ds.features == _features(classes)
            assert len(ds) == len(_parquet(hub_dir, config, split))


def test_card_metadata_validates_and_matches_parquet(hub_dir):
    card = DatasetCard.load(hub_dir / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "apache-2.0"
    assert data["task_categories"] == ["text-classification"]
    assert {"biology", "genomics", "dna"} <= set(data["tags"])
    assert data["size_categories"] == ["n<1K"]
    assert data["source_datasets"] == ["extended", "original"]
    assert [c["config_name"] for c in data["configs"]] == ["toy_binary", "toy_three"]
    assert data["configs"][0]["default"] is True and "default" not in data["configs"][1]
    assert data["configs"][1]["data_files"] == [
        {"split": s, "path": f"toy_three/{s}-*.parquet"} for s in ("train", "validation", "test")]
    infos = {i["config_name"]: i for i in data["dataset_info"]}
    label = next(f for f in infos["toy_three"]["features"] if f["name"] == "label")
    assert label["dtype"] == {"class_label": {"names": {"0": "enhancer", "1": "ocr", "2": "promoter"}}}
    for config, info in infos.items():
        for split in info["splits"]:
            assert split["num_examples"] == len(_parquet(hub_dir, config, split["name"]))
            assert split["num_bytes"] > 0
        files = list((hub_dir / config).glob("*.parquet"))
        assert info["download_size"] == sum(f.stat().st_size for f in files)
        assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"])


def test_overview_statistics_equal_pandas(hub_dir):
    text = (hub_dir / "README.md").read_text(encoding="utf-8")
    for config in ("toy_binary", "toy_three"):
        frames = {s: _parquet(hub_dir, config, s) for s in ("train", "validation", "test")}
        rows = {"all": pd.concat(frames.values()), **frames}
        n_classes = rows["all"]["label"].nunique()
        for split, df in rows.items():
            lengths = df["sequence"].str.len()
            counts = df["label"].value_counts()
            name = f"`{config}`" if split == "all" else ""
            expected = (f"| {name} | {split} | {len(df):,} | {n_classes} | {counts.max() / counts.min():,.2f} | "
                        f"{lengths.median():,.1f} | {lengths.std(ddof=0):,.2f} |")
            assert expected in text


def test_class_table_counts_and_gc_equal_pandas(hub_dir):
    text = (hub_dir / "README.md").read_text(encoding="utf-8")
    frames = {s: _parquet(hub_dir, "toy_three", s) for s in ("train", "validation", "test")}
    for label, name in enumerate(["enhancer", "ocr", "promoter"]):
        counts = [int((df["label"] == label).sum()) for df in frames.values()]
        seqs = pd.concat(frames.values()).query("label == @label")["sequence"]
        gc = (seqs.str.count("[GC]") / seqs.str.count("[ACGT]")).mean()
        row = (f"| {label} | `{name}` | `toy_ref` | " + " | ".join(str(c) for c in counts)
               + f" | {sum(counts)} | {gc:.3f} |")
        assert row in text


def test_every_referenced_image_exists_and_is_png(hub_dir):
    text = (hub_dir / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(images) == sorted(f"images/{c}_{kind}.png" for c in ("toy_binary", "toy_three")
                                    for kind in ("length", "gc"))
    for rel in images:
        assert not Path(rel).is_absolute()
        assert (hub_dir / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_card_sections_and_provenance(hub_dir):
    text = (hub_dir / "README.md").read_text(encoding="utf-8")
    for heading in ("## Overview", "## Usage", "## Splits", "## Configs", "### toy_binary", "### toy_three",
                    "#### Provenance", "#### Known issues", "## Citation"):
        assert heading in text
    assert "605d8539830e16c85abe7826990958303ffc5e1c" in text
    assert "| `train/positive.csv.gz` | `" + "cd" * 32 + "` |" in text
    assert "`" + "ab" * 32 + "`" in text and "https://example.org/toy.fa.gz" in text
    assert "seed `42`" in text and "version `0.1.0`" in text
    assert text.count(GB_CITATION) == 3  # each config, and the collection's citation
    assert "Run `gbhub audit toy_three`" in text


def test_python_snippets_compile_and_use_repo_id(tmp_path):
    root = make_hub_folder(tmp_path)
    text = write_dataset_card(root, repo_id="acme/genomic-benchmarks").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 3
    for block in blocks:
        compile(block, "<card snippet>", "exec")
        assert 'load_dataset("acme/genomic-benchmarks", "toy_' in block
    assert "processing_class=tokenizer" in blocks[0] and 'eval_strategy="epoch"' in blocks[0]
    assert dataset_card.DEFAULT_REPO_ID not in text


def test_same_folder_gives_byte_identical_card_and_images(tmp_path, hub_dir):
    import shutil

    copy = tmp_path / "elsewhere"
    shutil.copytree(hub_dir, copy)
    for path in [copy / "README.md", *(copy / "images").glob("*.png")]:
        path.unlink()
    write_dataset_card(copy)
    for rel in ["README.md", *(p.relative_to(hub_dir).as_posix() for p in (hub_dir / "images").glob("*.png"))]:
        assert (copy / rel).read_bytes() == (hub_dir / rel).read_bytes(), rel
    assert sorted(p.name for p in (copy / "images").iterdir()) == sorted(p.name for p in (hub_dir / "images").iterdir())


def test_known_issues_hook_uses_audit_renderer(tmp_path, monkeypatch):
    root = make_hub_folder(tmp_path)
    (root / "audit").mkdir()
    (root / "audit" / "toy_three.json").write_text(json.dumps({"config": "toy_three", "duplicates": {"test": 3}}))
    monkeypatch.setattr("gbhub.hub_cards.dataset_card.render_known_issues",
                        lambda audit: f"RENDERED {audit['duplicates']['test']} duplicates")
    text = write_dataset_card(root).read_text(encoding="utf-8")
    assert "RENDERED 3 duplicates" in text
    assert "Run `gbhub audit toy_binary`" in text and "Run `gbhub audit toy_three`" not in text


def test_variant_is_described_next_to_parent(tmp_path):
    root = make_hub_folder(tmp_path)
    prov_path = root / "provenance" / "toy_three.json"
    prov = json.loads(prov_path.read_text())
    prov.update(parent="toy_binary", variant_note="Test rows overlapping train removed (**2** rows).")
    prov_path.write_text(json.dumps(prov))
    text = write_dataset_card(root).read_text(encoding="utf-8")
    assert "> Variant of [`toy_binary`](#toy_binary). Test rows overlapping train removed (**2** rows)." in text


def test_stale_images_are_removed(tmp_path):
    root = make_hub_folder(tmp_path)
    write_dataset_card(root)
    (root / "provenance" / "toy_three.json").unlink()
    import shutil

    shutil.rmtree(root / "toy_three")
    write_dataset_card(root)
    assert sorted(p.name for p in (root / "images").iterdir()) == ["toy_binary_gc.png", "toy_binary_length.png"]
    assert datasets.get_dataset_config_names(str(root)) == ["toy_binary"]
    ds = datasets.load_dataset(str(root), "toy_binary", split="validation")
    assert ds.features["label"].names == ["negative", "positive"]


def test_class_names_differing_from_provenance_is_a_clear_error(tmp_path):
    root = make_hub_folder(tmp_path)
    prov_path = root / "provenance" / "toy_binary.json"
    prov = json.loads(prov_path.read_text())
    prov["classes"] = ["positive", "negative"]
    prov_path.write_text(json.dumps(prov))
    with pytest.raises(CardError, match=r"toy_binary: Parquet label names \['negative', 'positive'\] differ"):
        write_dataset_card(root)


def test_synthetic_build_round_trip(tmp_path):
    from gbhub.builders import build

    out = tmp_path / "hub"
    build.build_benchmark("synthetic", out)
    write_dataset_card(out)
    assert datasets.get_dataset_config_names(str(out)) == ["synthetic"]
    card = DatasetCard.load(out / "README.md").data.to_dict()
    info = card["dataset_info"][0]
    dsd = datasets.load_dataset(str(out), "synthetic")
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {k: len(v) for k, v in dsd.items()}
    names = json.loads((out / "provenance" / "synthetic.json").read_text())["classes"]
    assert dsd["train"].features["label"].names == names


def test_missing_provenance_key_is_a_clear_error(tmp_path):
    root = make_hub_folder(tmp_path)
    prov_path = root / "provenance" / "toy_three.json"
    prov = json.loads(prov_path.read_text())
    del prov["classes"]
    prov_path.write_text(json.dumps(prov))
    with pytest.raises(LayoutError, match=r"toy_three\.json lacks classes"):
        write_dataset_card(root)


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CardError, match="has no config"):
        write_dataset_card(tmp_path)


def test_row_counts_differing_from_provenance_is_a_clear_error(tmp_path):
    root = make_hub_folder(tmp_path)
    prov_path = root / "provenance" / "toy_binary.json"
    prov = json.loads(prov_path.read_text())
    prov["splits"]["test"]["num_examples"] = 1
    prov_path.write_text(json.dumps(prov))
    with pytest.raises(CardError, match=r"toy_binary/test: provenance records 1 rows, the Parquet holds 19"):
        write_dataset_card(root)


# ------------------------------------------------------------------------------ what the card claims


def _write_config(root: Path, config: str, lengths: dict[str, list[int]], classes=("negative", "positive"),
                  prov: dict | None = None) -> Path:
    """A config whose sequences have exactly `lengths` per split (labels alternate), with provenance."""
    rng = np.random.default_rng(1)
    counts = {}
    for split, ls in lengths.items():
        seqs = ["".join(rng.choice(list("ACGT"), n)) for n in ls]
        labels = [i % len(classes) for i in range(len(ls))]
        ds = datasets.Dataset.from_dict({
            "id": [f"{split}_{i}" for i in range(len(ls))], "sequence": seqs, "label": labels,
            "region": ["chr1"] * len(ls), "start": [0] * len(ls), "end": ls, "strand": ["+"] * len(ls),
        }, features=_features(list(classes)))
        path = root / config / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(path))
        counts[split] = len(ls)
    (root / "provenance").mkdir(parents=True, exist_ok=True)
    record = {**_provenance(config, list(classes), counts, upstream=True), **(prov or {})}
    (root / "provenance" / f"{config}.json").write_text(json.dumps(record), encoding="utf-8")
    return root


def test_dnabert_input_is_515_bp_and_truncation_counts_use_it(tmp_path):
    """512 tokens = [CLS] + 510 overlapping 6-mers + [SEP]; 510 6-mers span 515 bp (not 517)."""
    from gbhub.training.windows import plan_windows

    assert dataset_card.DNABERT_MAX_BP == 515
    assert plan_windows([515, 516, 517], k=6, max_length=512).windows_per_sequence.tolist() == [1, 2, 2]
    root = _write_config(tmp_path, "edge", {"train": [514, 515, 516, 517], "validation": [300, 515],
                                            "test": [515, 600]})
    text = write_dataset_card(root).read_text(encoding="utf-8")
    assert "3 of 8 sequences (37.5%) are longer than one DNABERT-6 input (512 tokens = 515 bp)" in text
    assert "517 bp" not in text and "515 bp" in text.split("## Usage", 1)[1].split("## Splits", 1)[0]
    fits = _write_config(tmp_path / "fits", "fits", {"train": [515, 20], "validation": [30], "test": [40]})
    assert "All sequences fit one DNABERT-6 input (512 tokens = 515 bp; the longest here is 515 bp)." in \
        write_dataset_card(fits).read_text(encoding="utf-8")


def test_default_config_is_chosen_deliberately(tmp_path, monkeypatch):
    root = make_hub_folder(tmp_path)
    prov_path = root / "provenance" / "toy_binary.json"
    prov = json.loads(prov_path.read_text())
    prov.update(parent="toy_three", variant_note="A variant.")  # the first by name is a variant: not the default
    prov_path.write_text(json.dumps(prov))
    card = DatasetCard.load(write_dataset_card(root))
    assert [c["config_name"] for c in card.data.to_dict()["configs"] if c.get("default")] == ["toy_three"]
    assert 'load_dataset("<org>/genomic-benchmarks", "toy_three")' in card.text.split("## Splits")[0]
    assert "`toy_three`, the default: the first non-variant config by name, as this repository has no " \
           "`human_nontata_promoters`" in card.text
    ds = datasets.load_dataset(str(root), split="test")  # no config name: the default
    assert ds.features["label"].names == ["enhancer", "ocr", "promoter"]
    monkeypatch.setattr(dataset_card, "PREFERRED_DEFAULT_CONFIGS", ("human_nontata_promoters", "toy_binary"))
    prov.update(parent=None)
    prov_path.write_text(json.dumps(prov))
    data = DatasetCard.load(write_dataset_card(root)).data.to_dict()
    assert [c["config_name"] for c in data["configs"] if c.get("default")] == ["toy_binary"]
    assert dataset_card.PREFERRED_DEFAULT_CONFIGS[0] == "human_nontata_promoters"
    assert dataset_card._default_note("human_nontata_promoters").startswith("fixed-length 251 bp human sequences")


def test_title_and_pretty_name_agree(tmp_path, hub_dir):
    def title_and_pretty(folder):
        card = DatasetCard.load(folder / "README.md")
        return re.search(r"^# (.+)$", card.text, re.M)[1], card.data.pretty_name

    assert title_and_pretty(hub_dir) == ("Genomic Benchmarks", "Genomic Benchmarks")
    one = _write_config(tmp_path, "solo", {"train": [50, 60], "validation": [50, 60], "test": [50, 60]},
                        prov={"pretty_name": "Solo benchmark"})
    write_dataset_card(one)
    assert title_and_pretty(one) == ("Solo benchmark", "Solo benchmark")


def test_synthetic_config_cites_and_links_itself_not_the_paper(tmp_path):
    from gbhub.builders import build
    from gbhub.builders.citations import GENOMIC_BENCHMARKS_HUB

    out = tmp_path / "hub"
    build.build_benchmark("synthetic", out)
    text = write_dataset_card(out).read_text(encoding="utf-8")
    card = DatasetCard.load(out / "README.md")
    assert card.data.pretty_name == "Synthetic planted-motif benchmark" and text.count(GENOMIC_BENCHMARKS_HUB) == 2
    assert "gresova2023genomic" not in text and "ML-Bioinfo-CEITEC" not in text and "homepage" not in text
    assert "It is not part of *Genomic Benchmarks*" in text and "generated in code by `genomic-benchmarks-hub`" in text
    # every synthetic sequence is 200 bp: the "length" image shows class sizes, and its alt text says so
    assert "![Sequences per class of synthetic (every sequence is 200 bp, so no length histogram)]" in text


def test_gc_axis_fits_the_data():
    from gbhub.hub_cards import plots

    rng = np.random.default_rng(0)
    values = {"a": rng.uniform(0.38, 0.62, 500), "b": np.r_[rng.uniform(0.40, 0.55, 300), np.nan]}
    edges = plots.gc_bins(values)
    finite = np.concatenate(list(values.values()))[:-1]
    assert 0.37 <= edges[0] <= finite.min() and finite.max() < edges[-1] <= 0.63  # not 0-1
    assert len(edges) - 1 <= plots.MAX_BINS
    assert np.allclose(np.diff(edges), edges[1] - edges[0])
    stats = st.summarize(["a", "b"], {"train": st.SplitColumns(
        labels=np.r_[np.zeros(500, np.int64), np.ones(301, np.int64)], lengths=np.full(801, 100),
        gc=np.r_[values["a"], values["b"]])})
    ax = plots.gc_figure(stats, "toy").axes[0]
    assert ax.get_xlim() == pytest.approx((edges[0], edges[-1]))
    wide = plots.gc_bins({"a": np.array([0.0, 1.0])})
    assert wide[0] == 0.0 and wide[-1] >= 1.0 and len(wide) - 1 <= plots.MAX_BINS
    assert plots.gc_bins({"a": np.array([np.nan])}).tolist() == pytest.approx(np.linspace(0, 1, 51).tolist())


def test_length_image_content_and_alt_text_agree():
    from gbhub.hub_cards import plots

    def stats_of(lengths):
        labels = np.array([0, 0, 0, 1, 1], np.int64)
        return st.summarize(["neg", "pos"], {"train": st.SplitColumns(labels=labels, lengths=np.asarray(lengths),
                                                                     gc=np.full(5, 0.5))})

    fixed = stats_of([251] * 5)
    ax = plots.length_figure(fixed, "fixed").axes[0]
    assert [p.get_height() for p in ax.patches] == [3, 2] and ax.get_ylabel() == "sequences"
    assert "every sequence is 251 bp" in ax.get_title()
    assert plots.alt_texts("fixed", fixed)["length"] == \
        "Sequences per class of fixed (every sequence is 251 bp, so no length histogram)"
    varied = stats_of([100, 120, 251, 90, 300])
    ax = plots.length_figure(varied, "varied").axes[0]
    assert ax.get_xlabel().startswith("sequence length (bp)") and ax.get_ylabel() == "fraction of class"
    assert plots.alt_texts("varied", varied)["length"] == "Histogram of sequence length per class of varied"
