"""gbhub.hub_cards.leaderboard: pooling seeds, protocols kept apart, model-index parsing, audit flags, card section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gbhub.hub_cards import leaderboard as lb
from gbhub.hub_cards.model_card import ModelCardInfo, write_model_card

METRICS = ("accuracy", "f1", "mcc", "auroc", "auprc")


def _metrics(seed: int, shift: float = 0.0) -> dict:
    """Per-split metrics of one hand-made seed (distinct, known values)."""
    base = 0.80 + 0.01 * seed + shift
    return {split: {"accuracy": base + d, "f1": base - 0.02 + d, "mcc": base - 0.3 + d, "auroc": base + 0.1 + d,
                    "auprc": base + 0.09 + d, "loss": 0.4 - d}
            for split, d in (("train", 0.05), ("validation", 0.01), ("test", 0.0))}


def write_run(folder: Path, config: str, seeds, *, recipe="cnn", protocol="paper", lr=1e-3, shift=0.0,
              fingerprint="f" * 64, dataset=None, side_features=None) -> Path:
    """A run folder as `gbhub train` writes it (only what the leaderboard reads), without training."""
    per_seed = {str(s): _metrics(s, shift) for s in seeds}
    best = str(seeds[0])
    record = {
        "recipe": recipe, "config": config, "task": "classification", "seeds": list(seeds), "selected_seed": seeds[0],
        "metrics": per_seed[best], "per_seed": per_seed,
        "hyperparameters": {"protocol": protocol, "seeds": list(seeds), "epochs": 10, "batch_size": 64, "lr": lr,
                            "selection_metric": "loss", "torch_threads": 1, "cpu": False},
        "model_arguments": {"hidden_size": 512}, "max_train_samples": None,
        "dataset_fingerprint": fingerprint, "dataset": dataset, "card_dataset_id": None,
    }
    if side_features is not None:  # a record from before side features has no such key
        record["side_features"] = list(side_features)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(record))
    if len(seeds) > 1:  # seed folders hold their own metrics.json: part of the run, not runs of their own
        for s in seeds:
            (folder / f"seed-{s}").mkdir(exist_ok=True)
            (folder / f"seed-{s}" / "metrics.json").write_text(json.dumps({**record, "seed": s, "per_seed": None}))
    return folder


def _expected(seeds, metric="accuracy", split="test", shift=0.0):
    values = np.array([_metrics(s, shift)[split][metric] for s in seeds])
    return values.mean(), values.std(ddof=1), len(values)


def _entry(board, **match):
    found = [e for e in board["entries"] if all(e[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, [e["label"] for e in board["entries"]])
    return found[0]


def test_seeds_of_runs_with_equal_settings_are_pooled_with_mean_std_and_count(tmp_path):
    write_run(tmp_path / "a", "human_nontata_promoters", [1, 2, 3])
    write_run(tmp_path / "b", "human_nontata_promoters", [4, 5])
    write_run(tmp_path / "c", "human_nontata_promoters", [3])  # seed 3 again: counted once
    board = lb.build_board(lb.read_sources([str(tmp_path)]), published=[])
    e = _entry(board, config="human_nontata_promoters")
    assert e["seeds"] == ["1", "2", "3", "4", "5"] and e["n_seeds"] == 5
    assert e["duplicate_seeds"] == ["3"] and e["sources"] == [str(tmp_path / x) for x in "abc"]
    for metric in METRICS:
        for split in ("train", "validation", "test"):
            mean, std, n = _expected([1, 2, 3, 4, 5], metric, split)
            st = e["stats"][split][metric]
            assert st["mean"] == pytest.approx(mean) and st["std"] == pytest.approx(std) and st["n"] == n
    assert "loss" not in e["stats"]["test"]


def test_protocols_settings_data_and_split_protocols_are_never_averaged(tmp_path):
    write_run(tmp_path / "paper", "x", [1, 2])
    write_run(tmp_path / "extended", "x", [1, 2], protocol="extended", shift=0.05)
    write_run(tmp_path / "lr", "x", [1, 2], lr=1e-2, shift=-0.05)
    write_run(tmp_path / "data", "x", [1, 2], fingerprint="0" * 64, shift=0.02)
    write_run(tmp_path / "leakfree", "x_leakfree", [1, 2], shift=-0.1)
    write_run(tmp_path / "chrom", "x_chromsplit", [1, 2, 3], shift=-0.2)
    board = lb.build_board(lb.read_sources([str(tmp_path)]), published=[])
    assert [(e["split_protocol"], e["label"]) for e in board["entries"]] == [
        ("upstream", "cnn (extended)"),
        ("upstream", "cnn (paper) [lr=0.001, data 00000000]"),  # labels name what differs
        ("upstream", "cnn (paper) [lr=0.001, data ffffffff]"),
        ("upstream", "cnn (paper) [lr=0.01, data ffffffff]"),
        ("leakfree", "cnn (paper)"),
        ("chromsplit", "cnn (paper)"),
    ]
    for e in board["entries"]:
        assert e["n_seeds"] == len(e["seeds"]) == (3 if e["split_protocol"] == "chromsplit" else 2)
    extended = _entry(board, protocol="extended")
    assert extended["stats"]["test"]["accuracy"]["mean"] == pytest.approx(_expected([1, 2], shift=0.05)[0])
    chrom = _entry(board, split_protocol="chromsplit")
    assert chrom["base"] == "x" and chrom["config"] == "x_chromsplit" and chrom["n_seeds"] == 3
    comparison = [c for c in board["comparisons"] if c["label"] == "cnn (paper)"]
    assert len(comparison) == 1 and "upstream" not in comparison[0]  # no upstream row has the same settings
    assert comparison[0]["leakfree"]["mean"] == pytest.approx(_expected([1, 2], shift=-0.1)[0])


def test_runs_with_and_without_side_features_are_separate_rows_named_by_them(tmp_path):
    write_run(tmp_path / "plain", "x", [1, 2], side_features=[])
    write_run(tmp_path / "old", "x", [3])  # recorded before side features existed: read none, same row as []
    write_run(tmp_path / "side", "x", [1, 2], side_features=["halflife", "gc"], shift=0.05)
    board = lb.build_board(lb.read_sources([str(tmp_path)]), published=[])
    assert [(e["label"], e["n_seeds"]) for e in board["entries"]] == [
        ("cnn (paper) [side_features=halflife,gc]", 2), ("cnn (paper) [side_features=none]", 3)]
    side = _entry(board, label="cnn (paper) [side_features=halflife,gc]")
    assert side["settings"]["side_features"] == ["halflife", "gc"]
    assert side["stats"]["test"]["accuracy"]["mean"] == pytest.approx(_expected([1, 2], shift=0.05)[0])


def test_upstream_and_variants_side_by_side_with_gap_and_published_protocols(tmp_path):
    write_run(tmp_path / "up", "human_nontata_promoters", [1, 2, 3])
    write_run(tmp_path / "lf", "human_nontata_promoters_leakfree", [1, 2, 3], shift=-0.1)
    board = lb.build_board(lb.read_sources([str(tmp_path)]))
    (comparison,) = board["comparisons"]
    assert comparison["gap_leakfree"] == pytest.approx(-0.1)
    assert "chromsplit" not in comparison
    models = {p["model"]: p for p in board["published"]}
    assert models["HyenaDNA"]["accuracy"] == pytest.approx(0.966)
    assert models["HyenaDNA"]["protocol"] == "best of a hyperparameter sweep; seeds not stated"
    assert models["GB CNN (PyTorch)"]["verified"].startswith("matches Table 2")
    text = lb.render_markdown(board)
    assert "| HyenaDNA (published) | best of a hyperparameter sweep; seeds not stated | upstream (`human_nontata_promoters`)" in text
    assert "| Caduceus (best variant) (published) | 5-fold CV over 5 seeds; mean |" in text
    mean, std, _ = _expected([1, 2, 3])
    assert f"| cnn (paper) | paper protocol, mean ± std over 3 seeds | upstream (`human_nontata_promoters`) | not audited | {100 * mean:.1f} ± {100 * std:.1f} (3) |" in text
    assert "| cnn (paper) | 82.0 ± 1.0 (3) | 72.0 ± 1.0 (3) | – | -10.0 | – |" in text


def test_a_config_not_built_from_upstream_is_on_its_own_split_not_the_upstream_one():
    assert lb.split_label("upstream", {"upstream": {"commit": "605d8539"}, "parent": None}) == "upstream"
    assert lb.split_label("upstream", {"upstream": None, "parent": None}) == "own split"  # synthetic, a re-split
    assert lb.split_label("upstream", None) == "upstream"  # no provenance: the name is all there is
    assert lb.split_label("leakfree", {"upstream": None}) == "leakfree"
    results = [lb.Result(source="a", kind="run", config=c, model="cnn", protocol="paper", settings={},
                         fingerprint=None, dataset=None, seeds=("1",), values={"test": {"accuracy": (v,)}})
               for c, v in (("resplit", 0.8), ("resplit_leakfree", 0.7))]
    board = lb.build_board(results, provenances={"resplit": {"upstream": None, "parent": None}}, published=[])
    assert [e["split_label"] for e in board["entries"]] == ["own split", "leakfree"]
    text = lb.render_markdown(board)
    assert "| own split (`resplit`) |" in text and "own split (Accuracy)" in text
    assert "upstream" not in text.split("## resplit", 1)[1].split("## Runs", 1)[0].replace("upstream split;", "")


def test_published_figures_are_the_anchor_file_with_its_protocols():
    rows = lb.published_results()
    assert len(rows) == 25 and len({p.config for p in rows}) == 9
    assert {p.protocol for p in rows} == {"single run", "best of a hyperparameter sweep; seeds not stated",
                                          "5-fold CV over 5 seeds; mean"}
    nontata = {p.model: p.accuracy for p in rows if p.config == "human_nontata_promoters"}
    assert nontata == pytest.approx({"GB CNN (PyTorch)": 0.846, "HyenaDNA": 0.966, "Caduceus (best variant)": 0.946})


HUB_CARD = """---
license: mit
tags: [genomics]
model-index:
- name: someone/hyena-nontata
  results:
  - task:
      type: text-classification
    dataset:
      type: katarinagresova/Genomic_Benchmarks_human_nontata_promoters
      name: Human non-TATA promoters
      config: human_nontata_promoters
      split: test
    metrics:
    - type: accuracy
      value: 96.6
    - type: matthews_correlation
      value: 0.93
  - task:
      type: text-classification
    dataset:
      type: katarinagresova/Genomic_Benchmarks_human_nontata_promoters
      name: Human non-TATA promoters
      config: human_nontata_promoters
      split: validation
    metrics:
    - type: accuracy
      value: 0.99
---

# A card written by hand
"""


def test_model_index_of_a_hand_written_hub_card(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(HUB_CARD)
    (result,) = lb.read_card(path)
    assert result.kind == "card" and result.model == "someone/hyena-nontata"
    assert result.config == "human_nontata_promoters"
    assert result.values == {"test": {"accuracy": (0.966,), "mcc": (0.93,)}}  # percent read as such; validation left out
    board = lb.build_board([result], published=[])
    e = board["entries"][0]
    assert e["kind"] == "card" and e["n_seeds"] is None and e["stats"]["test"]["accuracy"]["std"] is None
    assert "| someone/hyena-nontata | one model (model card) |" in lb.render_markdown(board)


def test_model_index_of_our_own_card_equals_the_metrics_it_was_written_from(tmp_path):
    test = {"accuracy": 0.8425, "f1": 0.8311, "mcc": 0.69, "auroc": 0.9123, "auprc": 0.9, "loss": 0.35}
    info = ModelCardInfo(model_name="Genomic Benchmarks CNN — human_nontata_promoters",
                         dataset_id="org/genomic-benchmarks", dataset_config="human_nontata_promoters",
                         label_names=["negative", "positive"], metrics={"test": test}, architecture="CNN",
                         hyperparameters={})
    write_model_card(tmp_path / "run", info)
    (result,) = lb.read_sources([str(tmp_path / "run")])  # no metrics.json: the card is read
    assert result.kind == "card" and result.config == "human_nontata_promoters"
    assert result.dataset == "org/genomic-benchmarks"
    assert result.values["test"] == {k: (v,) for k, v in test.items() if k != "loss"}


def test_hub_model_ids_read_metrics_json_first_then_the_card(tmp_path):
    from huggingface_hub.errors import EntryNotFoundError

    run = write_run(tmp_path / "run", "human_nontata_promoters", [1, 2])
    card = tmp_path / "card.md"
    card.write_text(HUB_CARD)
    calls = []

    def download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename))
        if repo_id == "org/ours":
            return str(run / "metrics.json")
        raise EntryNotFoundError(f"{filename} not in {repo_id}")

    def load(repo_id):
        from huggingface_hub import ModelCard

        assert repo_id == "someone/theirs"
        return ModelCard.load(card)

    results = lb.read_sources(["org/ours", "someone/theirs"], hub_download=download, card_loader=load)
    assert [(r.source, r.kind, r.seeds) for r in results] == [("org/ours", "run", ("1", "2")),
                                                              ("someone/theirs", "card", ("card",))]
    assert calls == [("org/ours", "metrics.json"), ("someone/theirs", "metrics.json")]


def test_bad_sources_get_one_line_errors_with_the_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(lb.LeaderboardError, match="holds no run folder"):
        lb.read_sources([str(tmp_path / "empty")])
    with pytest.raises(lb.LeaderboardError, match="neither a folder, a file nor a Hub model id"):
        lb.read_sources([str(tmp_path / "missing" / "deep")])
    (tmp_path / "bad.json").write_text("{\"x\": 1}")
    with pytest.raises(lb.LeaderboardError, match="not the metrics.json of a `gbhub train` run"):
        lb.read_sources([str(tmp_path / "bad.json")])
    (tmp_path / "plain.md").write_text("---\nlicense: mit\n---\n# no results\n")
    with pytest.raises(lb.LeaderboardError, match="no model-index test results") as err:
        lb.read_sources([str(tmp_path / "plain.md")])
    assert "\n" not in str(err.value)


AUDIT = {
    "schema_version": 1,
    "overlap": {"pairs": {"test_vs_train_validation": {"rows": 9034, "overlapping": 4449, "overlapping_fraction": 0.4925}}},
    "duplicates": {"across_splits": {"test_vs_train_validation": {"rows": 9034, "exact": 90, "exact_fraction": 0.00996,
                                                                   "rc": 200, "rc_fraction": 0.0221}}},
    "shortcuts": {"features": {"length": {"auroc": 0.966, "flag": "fail"}, "gc": {"auroc": 0.55, "flag": "pass"},
                               "kmer3": {"auroc": 0.8, "flag": "fail"}}},
}


def test_audit_adapter_reads_the_leak_figures_and_tolerates_missing_keys():
    figures = lb.audit_leak_figures(AUDIT)
    assert figures["overlap"] == {"count": 4449, "fraction": 0.4925} and figures["test_rows"] == 9034
    assert figures["near"] is None
    assert lb.leak_flags(figures) == ["test overlaps train by 49.2%", "2.2% of test reverse complements of train",
                                      "shortcut: length alone AUROC 0.966 (fail)"]
    for partial in ({}, None, {"overlap": {}}, {"overlap": {"pairs": {"test_vs_train_validation": {}}}},
                    {"shortcuts": {"features": {"length": "oops"}}}, {"schema_version": 2, "new_section": {}}):
        figures = lb.audit_leak_figures(partial)
        assert figures["overlap"] is None and lb.leak_flags(figures) == []


def test_audit_adapter_reads_schema_2_probes_and_flags_only_artefacts():
    report = {"schema_version": 2,
              "overlap": {"pairs": {"test_vs_train_validation": {"rows": 400, "overlapping": 0,
                                                                  "overlapping_fraction": 0.0}}},
              "shortcuts": {"flagged": {"fail": ["kmer_spectrum", "length"], "warn": ["dinucleotide_CC", "strand"]},
                            "probes": {"length": {"applicable": True, "auroc": 0.966, "flag": "fail"},
                                       "exact_length": {"applicable": False, "auroc": None, "flag": "n/a"},
                                       "strand": {"applicable": True, "auroc": 0.31, "flag": "warn"},
                                       "gc": {"applicable": True, "auroc": 0.52, "flag": "pass"},
                                       "kmer_spectrum": {"applicable": True, "auroc": 0.98, "flag": "fail"},
                                       "dinucleotide_CC": {"applicable": True, "auroc": 0.61, "flag": "warn"}}}}
    figures = lb.audit_leak_figures(report)
    assert set(figures["shortcuts"]) == {"length", "strand", "gc"}  # not applicable: left out
    assert lb.leak_flags(figures) == ["shortcut: length alone AUROC 0.966 (fail)",
                                      "shortcut: strand alone AUROC 0.310 (warn)"]  # k-mers may be biology


def test_board_files_are_deterministic(tmp_path):
    write_run(tmp_path / "runs" / "a", "human_nontata_promoters", [1, 2, 3])
    write_run(tmp_path / "runs" / "b", "human_nontata_promoters_chromsplit", [1, 2, 3], shift=-0.05)
    board = lb.build_board(lb.read_sources([str(tmp_path / "runs")]), audits={"human_nontata_promoters": AUDIT})
    first = {k: p.read_bytes() for k, p in lb.write_board(board, tmp_path / "one").items()}
    second = {k: p.read_bytes() for k, p in lb.write_board(board, tmp_path / "two").items()}
    assert first == second and set(first) == {"markdown", "json", "plot"}
    assert first["plot"].startswith(b"\x89PNG")
    assert "⚠ test overlaps train by 49.2%" in first["markdown"].decode()
    assert json.loads(first["json"])["leakage"]["human_nontata_promoters"]["flags"][0] == "test overlaps train by 49.2%"


def test_leak_column_says_what_the_audit_could_and_could_not_tell(tmp_path):
    write_run(tmp_path / "a", "a", [1])
    write_run(tmp_path / "b", "b", [1])
    write_run(tmp_path / "c", "c", [1])
    audits = {"a": AUDIT, "b": {"schema_version": 2, "something_new": {}}}  # c: no report
    text = lb.render_markdown(lb.build_board(lb.read_sources([str(tmp_path)]), audits=audits, published=[]))
    assert "| upstream (`a`) | ⚠ test overlaps train by 49.2%; ⚠ 2.2% of test reverse complements of train; " in text
    assert "| upstream (`b`) | no leak figures in the audit report |" in text
    assert "| upstream (`c`) | not audited |" in text


def test_a_metric_no_result_has_is_refused(tmp_path):
    write_run(tmp_path / "a", "a", [1, 2])
    with pytest.raises(lb.LeaderboardError, match="--metric r2: no result has a test r2; choose among accuracy, f1"):
        lb.build_board(lb.read_sources([str(tmp_path)]), metric="r2", published=[])
    board = lb.build_board(lb.read_sources([str(tmp_path)]), metric="auroc", published=[])
    assert board["metric"] == "auroc"


def test_the_headline_metric_defaults_to_accuracy_or_r2_for_regression_runs(tmp_path):
    write_run(tmp_path / "classes", "a", [1, 2])
    assert lb.build_board(lb.read_sources([str(tmp_path / "classes")]), published=[])["metric"] == "accuracy"
    regression = write_run(tmp_path / "expression", "synthetic_expression", [1, 2])
    record = json.loads((regression / "metrics.json").read_text())
    scores = {s: {split: {"r2": 0.5 + 0.1 * int(s), "pearson": 0.7, "spearman": 0.7, "mse": 0.4, "mae": 0.5, "loss": 0.4}
                      for split in ("train", "validation", "test")} for s in ("1", "2")}
    record.update(task="regression", per_seed=scores, metrics=scores["1"])
    (regression / "metrics.json").write_text(json.dumps(record))
    board = lb.build_board(lb.read_sources([str(regression)]), published=[])
    assert board["metric"] == "r2"
    assert _entry(board, config="synthetic_expression")["stats"]["test"]["r2"]["mean"] == pytest.approx(0.65)
    both = lb.build_board(lb.read_sources([str(tmp_path / "classes"), str(regression)]), published=[])
    assert both["metric"] == "accuracy" and len(both["entries"]) == 2


def write_regression_run(folder: Path, config: str, seeds, shift: float = 0.0) -> Path:
    """A regression run folder: R², Pearson, Spearman, MSE, MAE per seed (known values)."""
    write_run(folder, config, seeds)
    record = json.loads((folder / "metrics.json").read_text())
    scores = {str(s): {split: {"r2": 0.5 + 0.01 * s + shift, "pearson": 0.7, "spearman": 0.7, "mse": 0.4 - shift,
                               "mae": 0.5, "loss": 0.4} for split in ("train", "validation", "test")} for s in seeds}
    record.update(task="regression", per_seed=scores, metrics=scores[str(seeds[0])])
    (folder / "metrics.json").write_text(json.dumps(record))
    return folder


def _png_width(data: bytes) -> int:
    return int.from_bytes(data[16:20], "big")


def test_a_mixed_board_has_a_headline_metric_and_columns_per_benchmark(tmp_path):
    write_run(tmp_path / "a", "a", [1, 2])
    write_run(tmp_path / "a_lf", "a_leakfree", [1, 2], shift=-0.1)
    write_regression_run(tmp_path / "e", "expr", [1, 2])
    write_regression_run(tmp_path / "e_lf", "expr_leakfree", [1, 2], shift=-0.0426)
    results = lb.read_sources([str(tmp_path)])
    board = lb.build_board(results, published=[])
    assert board["metric"] == "accuracy" and board["headline_metrics"] == {"a": "accuracy", "expr": "r2"}
    by_base = {c["base"]: c for c in board["comparisons"]}
    assert by_base["a"]["metric"] == "accuracy" and by_base["a"]["gap_leakfree"] == pytest.approx(-0.1)
    assert by_base["expr"]["metric"] == "r2" and by_base["expr"]["gap_leakfree"] == pytest.approx(-0.0426)
    text = lb.render_markdown(board)
    classification, regression = text.split("## a\n", 1)[1].split("## expr\n", 1)
    assert "| Accuracy | F1 | MCC | AUROC | AUPRC |" in classification and "R²" not in classification
    assert "| R² | Pearson r | Spearman ρ | MSE | MAE |" in regression and "Accuracy" not in regression
    assert "–" not in regression.split("Same model", 1)[0].replace("| – |", "")  # no empty columns of another task
    assert "(test Accuracy; gap = variant − upstream split, points)" in classification
    assert "(test R²; gap = variant − upstream split):" in regression and "points" not in regression
    assert "| -10.0 | – |" in classification and "| -0.043 | – |" in regression  # three decimals, as format_stat
    one = {k: p.read_bytes() for k, p in lb.write_board(board, tmp_path / "one").items()}
    again = lb.build_board(results, published=[])
    two = {k: p.read_bytes() for k, p in lb.write_board(again, tmp_path / "two").items()}
    assert one == two
    assert _png_width(one["plot"]) == 2 * 460  # a panel per benchmark: the regression one is plotted on R²
    requested = lb.build_board(results, published=[], metric="auroc")
    assert requested["metric"] == "auroc" and requested["headline_metrics"] == {"a": "auroc", "expr": "r2"}


def test_the_card_section_of_a_mixed_board_names_each_headline(tmp_path):
    from gbhub.builders.hub_layout import baselines_path

    write_run(tmp_path / "runs" / "a", "a", [1, 2])
    write_regression_run(tmp_path / "runs" / "e", "expr", [1, 2])
    board = lb.build_board(lb.read_sources([str(tmp_path / "runs")]), published=[])
    data = tmp_path / "hub"
    for config in ("a", "expr"):  # configs_in: provenance and Parquet present
        (data / "provenance").mkdir(parents=True, exist_ok=True)
        (data / "provenance" / f"{config}.json").write_text("{}")
        (data / config).mkdir()
        (data / config / "train-00000-of-00001.parquet").write_bytes(b"")
    lb.store_in_dataset(board, data)
    assert baselines_path(data, lb.PLOT_FILE).is_file()
    section = lb.render_baselines_section(data)
    assert "![Test accuracy or R² per benchmark" in section
    assert "### Baselines on `expr`" in section and "| R² |" in section.split("### Baselines on `expr`", 1)[1]


def test_regression_gaps_have_three_decimals_and_are_not_points(tmp_path):
    write_regression_run(tmp_path / "e", "expr", [1, 2])
    write_regression_run(tmp_path / "e_lf", "expr_leakfree", [1, 2], shift=-0.0426)
    text = lb.render_markdown(lb.build_board(lb.read_sources([str(tmp_path)]), published=[]))
    assert "| cnn (paper) | 0.515 ± 0.007 (2) | 0.472 ± 0.007 (2) | – | -0.043 | – |" in text
    assert "gap = variant − upstream split):" in text and "points" not in text
