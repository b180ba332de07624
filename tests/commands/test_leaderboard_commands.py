"""`gbhub baselines` and `gbhub leaderboard` end to end on the synthetic benchmark: tiny runs, resume, card section."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from gbhub.cli import main
from gbhub.commands import leaderboard as cmd
from gbhub.hub_cards.leaderboard import LeaderboardError, format_stat, read_sources

SMOKE = {"max_steps": 3, "max_train_samples": 64}
SEEDS = (1, 2)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """synthetic and its _leakfree / _chromsplit variants, audited (offline)."""
    out = tmp_path_factory.mktemp("hub")
    assert main(["audit", "synthetic", "--variants", "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def trained(hub, tmp_path_factory):
    """`gbhub baselines` over the three configs, two seeds, three steps each; the calls it made to train."""
    from gbhub.training.run import train

    runs = tmp_path_factory.mktemp("runs")
    calls = []

    def counting(recipe, given):
        calls.append((given["config"], recipe, given.get("resume", False)))
        return train(recipe, given)

    result = cmd.baselines(hub, runs, seeds=SEEDS, recipes=("cnn",), overrides=SMOKE, progress=False, train=counting)
    return runs, result, calls


def test_baselines_trains_every_built_config_then_writes_the_leaderboard(hub, trained):
    runs, result, calls = trained
    assert calls == [("synthetic", "cnn", False), ("synthetic_chromsplit", "cnn", False),
                     ("synthetic_leakfree", "cnn", False)]
    assert result["failed"] == {} and result["skipped"] == []
    for config in ("synthetic", "synthetic_chromsplit", "synthetic_leakfree"):
        record = json.loads((runs / config / "cnn" / "metrics.json").read_text())
        assert record["seeds"] == [1, 2] and record["hyperparameters"]["protocol"] == "paper"
        assert record["global_step"] <= 3
    for name in ("leaderboard.md", "leaderboard.json", "leaderboard.png"):
        assert (runs / "leaderboard" / name).is_file()
    assert (hub / "baselines" / "leaderboard.json").is_file() and (hub / "baselines" / "leaderboard.png").is_file()
    board = result["board"]
    assert [(e["split_protocol"], e["n_seeds"]) for e in board["entries"]] == [
        ("upstream", 2), ("leakfree", 2), ("chromsplit", 2)]
    (comparison,) = board["comparisons"]
    assert set(comparison) >= {"upstream", "leakfree", "chromsplit", "gap_leakfree", "gap_chromsplit"}


def test_baselines_skips_finished_runs_and_resumes_only_the_missing_one(hub, trained, tmp_path):
    runs, _, _ = trained
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)

    def refuse(recipe, given):
        raise AssertionError(f"retrained a finished run: {given['config']}")

    again = cmd.baselines(hub, copy, seeds=SEEDS, recipes=("cnn",), overrides=SMOKE, progress=False, card=False,
                          train=refuse)
    assert again["trained"] == [] and len(again["skipped"]) == 3
    before = {p: p.stat().st_mtime_ns for p in copy.rglob("metrics.json")}
    (copy / "synthetic_leakfree" / "cnn" / "metrics.json").unlink()  # as if interrupted after training
    calls = []

    def counting(recipe, given):
        from gbhub.training.run import train

        calls.append((given["config"], given.get("resume", False)))
        return train(recipe, given)

    third = cmd.baselines(hub, copy, seeds=SEEDS, recipes=("cnn",), overrides=SMOKE, progress=False, card=False,
                          train=counting)
    assert calls == [("synthetic_leakfree", True)] and third["trained"] == ["synthetic_leakfree/cnn"]
    after = {p: p.stat().st_mtime_ns for p in copy.rglob("metrics.json") if p in before}
    untouched = [p for p in before if "synthetic_leakfree" not in p.as_posix()]
    assert untouched and all(after[p] == before[p] for p in untouched)
    # other seeds or settings are not "finished": the run is trained again
    assert not cmd.finished(cmd.plan_grid(hub, copy, seeds=(1, 2, 3), recipes=["cnn"], configs=["synthetic"],
                                          protocol="paper", overrides=SMOKE)[0], (1, 2, 3), SMOKE)


def test_a_smoke_run_is_not_finished_for_a_call_without_the_smoke_overrides(hub, trained):
    runs, _, _ = trained

    def item(overrides):
        return cmd.plan_grid(hub, runs, seeds=SEEDS, recipes=["cnn"], configs=["synthetic"], protocol="paper",
                             overrides=overrides)[0]

    assert cmd.finished(item(SMOKE), SEEDS, SMOKE)
    for overrides in ({}, {"max_steps": 3}, {"max_train_samples": 64}, {**SMOKE, "epochs": 2},
                      {**SMOKE, "max_steps": 4}):
        assert not cmd.finished(item(overrides), SEEDS, overrides), overrides
    assert cmd.finished(item({**SMOKE, "epochs": 10}), SEEDS, {**SMOKE, "epochs": 10})  # the paper protocol's own


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--max-steps", "-1"), ("--max-train-samples", "0"),
                                         ("--max-steps", "two"), ("--seeds", "1,1"), ("--seeds", "-3")])
def test_baselines_refuses_bad_numbers_before_any_work(tmp_path, capsys, monkeypatch, flag, value):
    monkeypatch.setattr(cmd, "baselines", lambda *a, **k: pytest.fail("baselines ran with a bad number"))
    with pytest.raises(SystemExit) as err:
        main(["baselines", str(tmp_path), "--out", str(tmp_path / "runs"), flag, value])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert f"argument {flag}" in message and ("expected" in message or "seeds" in message or "duplicates" in message)


def test_the_default_grid_is_every_from_scratch_baseline_weighted_by_its_cost(hub, tmp_path):
    items = cmd.plan_grid(hub, tmp_path, seeds=SEEDS, recipes=cmd.DEFAULT_RECIPES, configs=["synthetic"],
                          protocol="paper", overrides={})
    assert [(i.recipe, i.protocol) for i in items] == [("cnn", "paper"), ("deepenhancer", "paper")]
    rows = 1260  # synthetic's train split
    cnn, deepenhancer = items
    assert cnn.work == rows * 10 * len(SEEDS)  # the CNN's paper protocol: 10 epochs
    assert deepenhancer.work == rows * 30 * len(SEEDS) * cmd.COST_PER_SEQUENCE["deepenhancer"]  # up to 30 epochs


def _card_rows(text: str, base: str) -> dict[str, list[str]]:
    section = text.split("## Baselines", 1)[1].split("\n## ", 1)[0]
    block = section.split(f"### Baselines on `{base}`", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in block.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[2]] = cells
    return rows


def test_card_section_statistics_equal_those_recomputed_from_the_runs(hub, trained):
    runs, _, _ = trained
    text = (hub / "README.md").read_text()
    assert text.index("\n## Splits") < text.index("\n## Baselines") < text.index("\n## Configs")
    assert "![Test accuracy per benchmark" in text and "(baselines/leaderboard.png)" in text
    rows = _card_rows(text, "synthetic")
    # synthetic is not built from upstream's tables (its provenance says so): its split is its own
    assert set(rows) == {"own split (`synthetic`)", "leakfree (`synthetic_leakfree`)",
                         "chromsplit (`synthetic_chromsplit`)"}
    for config, protocol in (("synthetic", "own split"), ("synthetic_leakfree", "leakfree"),
                             ("synthetic_chromsplit", "chromsplit")):
        record = json.loads((runs / config / "cnn" / "metrics.json").read_text())
        cells = rows[f"{protocol} (`{config}`)"]
        assert cells[:2] == ["cnn (paper)", "paper protocol, mean ± std over 2 seeds"]
        assert cells[3] == "none found"  # the audit found no leak in the synthetic splits
        for column, metric in zip(cells[4:], ("accuracy", "f1", "mcc", "auroc", "auprc")):
            values = np.array([record["per_seed"][str(s)]["test"][metric] for s in SEEDS])
            expected = {"mean": values.mean(), "std": values.std(ddof=1), "n": 2}
            assert column == format_stat(expected, metric), (config, metric)
            assert re.fullmatch(r"-?\d+\.\d ± \d+\.\d \(2\)", column)


def test_model_index_of_a_trained_runs_card_equals_its_selected_seed(hub, trained, tmp_path):
    runs, _, _ = trained
    run = runs / "synthetic" / "cnn"
    record = json.loads((run / "metrics.json").read_text())
    shutil.copy(run / "README.md", tmp_path / "README.md")  # the card alone, as on the Hub without metrics.json
    assert "model-index" not in (tmp_path / "README.md").read_text()  # a local dataset: no Hub id, no results
    assert main(["train", "cnn", "--dataset", str(hub), "--config", "synthetic", "--out", str(tmp_path / "named"),
                 "--no-progress", "--max-steps", "2", "--card-dataset-id", "org/genomic-benchmarks"]) == 0
    named = json.loads((tmp_path / "named" / "metrics.json").read_text())
    (result,) = read_sources([str(tmp_path / "named" / "README.md")])
    assert result.kind == "card" and result.config == "synthetic" and result.dataset == "org/genomic-benchmarks"
    expected = {k: v for k, v in named["metrics"]["test"].items() if k != "loss"}
    assert {k: v[0] for k, v in result.values["test"].items()} == pytest.approx(expected)
    assert record["selected_seed"] in SEEDS


def test_leaderboard_command_writes_files_and_keeps_the_board_in_the_dataset(hub, trained, tmp_path, capsys):
    runs, _, _ = trained
    hub = shutil.copytree(hub, tmp_path / "hub")  # this test rewrites the stored board and the card
    card = tmp_path / "README.md"
    card.write_text("---\nmodel-index:\n- name: someone/model\n  results:\n  - task: {type: text-classification}\n"
                    "    dataset: {type: org/gb, name: gb, config: synthetic, split: test}\n"
                    "    metrics:\n    - {type: accuracy, value: 0.9}\n---\n")
    out = tmp_path / "board"
    assert main(["leaderboard", str(runs), str(card), "--dataset", str(hub), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic" in printed and "someone/model" in printed and str(out / "leaderboard.md") in printed
    assert f"run `gbhub card {hub}`" in printed  # the board is stored; the card renders it
    board = json.loads((out / "leaderboard.json").read_text())
    assert [e["kind"] for e in board["entries"] if e["split_protocol"] == "upstream"] == ["run", "card"]
    assert json.loads((hub / "baselines" / "leaderboard.json").read_text()) == board
    assert main(["card", str(hub)]) == 0
    assert "| someone/model | one model (model card) | own split (`synthetic`) | none found | 90.0 (1) |" in (
        hub / "README.md").read_text()


def test_leaderboard_and_baselines_errors_are_one_line(hub, tmp_path, capsys):
    assert main(["leaderboard", str(tmp_path / "nothing" / "here"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gbhub leaderboard: error:") and "\n" not in err and "Hub model id" in err
    assert main(["baselines", str(tmp_path), "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds no built config" in err and "\n" not in err
    assert main(["baselines", str(hub), "--out", str(tmp_path / "runs"), "--recipes", "nope", "--no-progress"]) == 2
    assert "--recipes nope" in capsys.readouterr().err


def test_a_hub_dataset_id_gives_the_audits_and_provenance_of_its_configs(hub, trained, tmp_path):
    runs, _, _ = trained
    asked = []

    def download(repo_id, filename, repo_type=None, **kwargs):
        asked.append((repo_id, filename, repo_type))
        path = hub / filename
        if repo_type == "dataset" and path.is_file():
            return str(path)
        raise FileNotFoundError(f"{filename} is not in {repo_id}")

    board, _ = cmd.make_leaderboard([str(runs / "synthetic" / "cnn")], tmp_path / "board", dataset="org/gb",
                                    hub_download=download)
    assert ("org/gb", "audit/synthetic.json", "dataset") in asked
    assert ("org/gb", "provenance/synthetic.json", "dataset") in asked
    assert board["leakage"]["synthetic"]["flags"] == []  # read: the synthetic splits do not leak
    with pytest.raises(LeaderboardError, match="no such folder, and not a Hub dataset id"):
        cmd.make_leaderboard([str(runs / "synthetic" / "cnn")], tmp_path / "b2", dataset=str(tmp_path / "x" / "y"))


def test_printed_rows_use_each_benchmarks_headline_metric(capsys):
    stat = {"mean": 0.5, "std": None, "n": 1}
    board = {"metric": "accuracy", "headline_metrics": {"a": "accuracy", "expr": "r2"},
             "entries": [{"base": base, "split_protocol": "upstream", "label": "cnn", "stats": {"test": {metric: stat}}}
                         for base, metric in (("a", "accuracy"), ("expr", "r2"))]}
    cmd.print_board(board, {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("test accuracy 50.0 (1)") and lines[1].endswith("test r2 0.500 (1)")
