"""`gbhub train cnn` end to end: learning (synthetic and real promoters), outputs, determinism, resume, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
import torch

from gbhub.builders.hub_layout import SPLITS, write_hub_folder
from gbhub.cli import main
from gbhub.hub_cards.model_card import card_test_results

FAST = ["--no-progress"]  # CPU runs use one intra-op thread by default
METRICS = ("accuracy", "f1", "mcc", "auroc", "auprc", "loss")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """The built-in `synthetic` benchmark built into a Hub-layout folder (offline)."""
    from gbhub.builders.build import build_benchmark
    from gbhub.hub_cards.dataset_card import write_dataset_card

    root = tmp_path_factory.mktemp("synthetic")
    build_benchmark("synthetic", root / "data", cache_dir=root / "cache", progress=False)
    write_dataset_card(root / "data")
    return root / "data"


def _train(data: Path, out: Path, *args: str) -> int:
    return main(["train", "cnn", "--dataset", str(data), "--config", "synthetic", "--out", str(out), *FAST, *args])


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def _comparable(record: dict) -> dict:
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in record["history"]]
    return {"metrics": record["metrics"], "history": history, "best_epoch": record["best_epoch"]}


def test_synthetic_is_learned_and_run_folder_is_complete(synthetic, tmp_path):
    run = tmp_path / "run"
    assert _train(synthetic, run, "--epochs", "12", "--card-dataset-id", "org/synthetic") == 0
    record = _metrics(run)
    assert set(record["metrics"]) == set(SPLITS)
    for split in SPLITS:
        assert set(record["metrics"][split]) == set(METRICS)
    test = record["metrics"]["test"]
    assert test["accuracy"] > 0.8 and test["auroc"] > 0.85  # chance: 0.5
    assert record["label_names"] == ["negative", "positive"]
    assert 1 <= record["best_epoch"] <= 12 and record["epochs_run"] == 12
    assert record["throughput"]["train_samples_per_second"] > 0
    for name in ("config.json", "model.safetensors", "README.md", "predictions_test.csv"):
        assert (run / name).is_file(), name
    for name in ("training_curve.png", "confusion_matrix.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the card's model-index equals the metrics JSON; the paper has no synthetic row
    card = card_test_results(run / "README.md")
    assert card == {k: v for k, v in test.items() if k != "loss"}
    assert "Comparison with the paper" not in (run / "README.md").read_text()

    # predictions file: one row per test sequence, consistent with the reported accuracy
    preds = pd.read_csv(run / "predictions_test.csv")
    assert len(preds) == 400 and list(preds.columns[:5]) == ["id", "label", "label_name", "prediction", "prediction_name"]
    assert (preds.label == preds.prediction).mean() == pytest.approx(test["accuracy"])

    # from_pretrained round trip: the saved model predicts what the run wrote
    from transformers import AutoModelForSequenceClassification

    import gbhub.training.models.cnn  # noqa: F401  (registers the Auto classes)

    model = AutoModelForSequenceClassification.from_pretrained(run).eval()
    test_ds = datasets.load_dataset(str(synthetic), "synthetic", split="test")
    with torch.no_grad():
        probs = model(input_ids=model.encode(test_ds["sequence"])).logits.softmax(-1).numpy()
    assert list(test_ds["id"]) == preds.id.tolist()
    np.testing.assert_allclose(probs[:, 1], preds.prob_positive, atol=2e-6)
    np.testing.assert_array_equal(probs.argmax(1), preds.prediction)


def test_same_seed_gives_same_metrics(synthetic, tmp_path):
    args = ("--epochs", "2", "--max-train-samples", "500", "--seeds", "7")
    assert _train(synthetic, tmp_path / "a", *args) == 0
    assert _train(synthetic, tmp_path / "b", *args) == 0
    assert _comparable(_metrics(tmp_path / "a")) == _comparable(_metrics(tmp_path / "b"))
    assert _train(synthetic, tmp_path / "c", "--epochs", "2", "--max-train-samples", "500", "--seeds", "8") == 0
    assert _metrics(tmp_path / "c")["metrics"] != _metrics(tmp_path / "a")["metrics"]


def test_resume_continues_exactly(synthetic, tmp_path):
    args = ("--max-train-samples", "500", "--seeds", "3")
    assert _train(synthetic, tmp_path / "straight", "--epochs", "3", *args) == 0
    assert _train(synthetic, tmp_path / "resumed", "--epochs", "2", *args) == 0
    assert (tmp_path / "resumed" / "checkpoint-last" / "trainer_state.json").is_file()
    assert _train(synthetic, tmp_path / "resumed", "--epochs", "3", "--resume", *args) == 0
    resumed = _metrics(tmp_path / "resumed")
    assert resumed["resumed_from_epoch"] == 2
    assert _comparable(resumed) == _comparable(_metrics(tmp_path / "straight"))


def test_resume_refuses_changed_settings_or_data(synthetic, tmp_path, capsys):
    args = ("--max-train-samples", "300", "--seeds", "3")
    assert _train(synthetic, tmp_path / "run", "--epochs", "1", *args) == 0
    assert _train(synthetic, tmp_path / "run", "--epochs", "2", "--resume", "--lr", "0.05", *args) == 2
    err = capsys.readouterr().err
    assert "lr: checkpoint 0.001, now 0.05" in err and "drop --resume to start over" in err
    assert _train(synthetic, tmp_path / "run", "--epochs", "2", "--resume", "--max-train-samples", "200",
                  "--seeds", "3") == 2
    assert "dataset_fingerprint" in capsys.readouterr().err
    assert _metrics(tmp_path / "run")["hyperparameters"]["lr"] == 0.001  # the refused runs wrote nothing


def test_max_steps_gradient_accumulation_and_rc_options(synthetic, tmp_path):
    run = tmp_path / "run"
    args = ("--protocol", "extended", "--epochs", "2", "--max-steps", "7", "--gradient-accumulation-steps", "2",
            "--max-train-samples", "640")
    assert _train(synthetic, run, *args) == 0
    record = _metrics(run)
    hp, model_args = record["hyperparameters"], record["model_arguments"]
    assert model_args["rc_augment"] and model_args["rc_average"] and hp["early_stopping_patience"] == 4
    # 640 rows / 64 = 10 batches = 5 optimizer steps per epoch: 5 + 2, stopping mid-epoch 2
    assert record["global_step"] == 7 and record["epochs_run"] == 2 and record["stop_reason"] == "max_steps"


def test_seeds_report_mean_and_std(synthetic, tmp_path):
    overlay = tmp_path / "args.json"
    overlay.write_text(json.dumps({"epochs": 1, "max_train_samples": 300}))
    run = tmp_path / "run"
    assert _train(synthetic, run, "--seeds", "1,2", "--args-json", str(overlay), "--card-dataset-id", "org/syn") == 0
    record = _metrics(run)
    assert record["seeds"] == [1, 2] and record["selected_seed"] in (1, 2)
    assert record["hyperparameters"]["epochs"] == 1
    per_seed = [_metrics(run / f"seed-{s}")["metrics"]["test"]["accuracy"] for s in (1, 2)]
    summary = record["summary"]["test"]["accuracy"]
    assert summary["mean"] == pytest.approx(np.mean(per_seed))
    assert summary["std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert record["metrics"] == _metrics(run / f"seed-{record['selected_seed']}")["metrics"]
    assert card_test_results(run / "README.md") == {k: v for k, v in record["metrics"]["test"].items() if k != "loss"}
    assert "Mean ± standard deviation over 2 seeds" in (run / "README.md").read_text()
    # each seed's resumable state holds that seed's model and optimizer only
    assert sorted(p.name for p in (run / "seed-2" / "checkpoint-last").iterdir()) == [
        "model.safetensors", "optimizer.bin", "random_states_0.pkl", "scheduler.bin", "trainer_state.json"]


def test_two_processes_through_torchrun_unchanged(synthetic, tmp_path):
    """The same command under `torchrun --nproc_per_node 2` (gloo on CPU): sharded training, gathered eval."""
    import os
    import subprocess
    import sys

    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "gbhub.cli", "train", "cnn", "--dataset", str(synthetic), "--config", "synthetic",
           "--out", str(run), *FAST, "--epochs", "1", "--max-train-samples", "512"]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = _metrics(run)
    assert record["hardware"]["processes"] == 2
    assert record["global_step"] == 4  # 512 rows / (2 processes x 64)
    assert len(pd.read_csv(run / "predictions_test.csv")) == 400  # gather_for_metrics drops the padding
    assert proc.stdout.count("model run:") == 1  # printed by the main process only


# --- bad input -------------------------------------------------------------------------------------------


def _toy(n=40, length=30, seed=0):
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    return {"sequence": seqs, "label": [i % 2 for i in range(n)]}


def test_unknown_config_is_reported(tmp_path, capsys):
    write_hub_folder(tmp_path / "data", "toy", {s: _toy() for s in SPLITS}, ["a", "b"])
    assert main(["train", "cnn", "--dataset", str(tmp_path / "data"), "--config", "nope", "--out",
                 str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "config 'nope' not found" in err and "expected one of toy" in err


def test_empty_split_is_reported(tmp_path, capsys):
    splits = {s: _toy() for s in SPLITS}
    splits["validation"] = {"sequence": [], "label": []}
    write_hub_folder(tmp_path / "data", "toy", splits, ["a", "b"])
    assert main(["train", "cnn", "--dataset", str(tmp_path / "data"), "--config", "toy", "--out",
                 str(tmp_path / "run"), *FAST]) == 2
    assert "split 'validation'" in capsys.readouterr().err


def test_label_that_is_not_a_classlabel_is_reported(tmp_path, capsys):
    data = tmp_path / "data"
    for split in SPLITS:
        (data / "toy").mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(_toy()).to_parquet(str(data / "toy" / f"{split}-00000-of-00001.parquet"))
    files = "".join(f"  - split: {s}\n    path: toy/{s}-*.parquet\n" for s in SPLITS)
    (data / "README.md").write_text(f"---\nconfigs:\n- config_name: toy\n  data_files:\n{files}---\n")
    assert main(["train", "cnn", "--dataset", str(data), "--config", "toy", "--out", str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "not" in err and "ClassLabel" in err and "cast_column" in err


def test_too_long_sequences_are_cropped_with_warning_or_refused(tmp_path, capsys, caplog):
    splits = {s: _toy(64, 80, i) for i, s in enumerate(SPLITS)}
    splits["test"]["sequence"][0] += "ACGTACGTAC" * 2  # 100 bp
    write_hub_folder(tmp_path / "data", "toy", splits, ["a", "b"])
    base = ["train", "cnn", "--dataset", str(tmp_path / "data"), "--config", "toy", *FAST, "--epochs", "1"]

    assert main([*base, "--out", str(tmp_path / "refuse"), "--max-length-bp", "80", "--long-sequences", "error"]) == 2
    err = capsys.readouterr().err
    assert "1 of 64 sequences of split 'test' are longer than the input length 80 bp (longest 100 bp)" in err
    assert "raise --max-length-bp to at least 100" in err

    with caplog.at_level(logging.WARNING, logger="gbhub.training.data"):
        assert main([*base, "--out", str(tmp_path / "crop"), "--max-length-bp", "80"]) == 0
    assert "1 of 64 sequences of split 'test' are longer" in caplog.text
    record = _metrics(tmp_path / "crop")
    assert record["input"]["input_length_bp"] == 80
    assert record["input"]["truncated"] == {"train": 0, "validation": 0, "test": 1}
    assert "Longer sequences keep their first bases" in (tmp_path / "crop" / "README.md").read_text()

    assert main([*base, "--out", str(tmp_path / "auto")]) == 0  # default length: the longest sequence
    assert _metrics(tmp_path / "auto")["input"]["input_length_bp"] == 100

    assert main([*base, "--out", str(tmp_path / "short"), "--max-length-bp", "30"]) == 2
    assert "need at least 57 bp" in capsys.readouterr().err


def test_dataset_dot_relative_and_missing_folders(tmp_path, monkeypatch, capsys):
    """`--dataset .` trains; a local folder is no Hub id, so the card names none (unless one is given);
    a missing folder is one line, not a traceback."""
    from huggingface_hub import ModelCard

    write_hub_folder(tmp_path / "toydata", "toy", {s: _toy(64, 80, i) for i, s in enumerate(SPLITS)}, ["a", "b"])
    monkeypatch.chdir(tmp_path / "toydata")
    assert main(["train", "cnn", "--dataset", ".", "--config", "toy", "--out", "../run", *FAST, "--epochs", "1"]) == 0
    card = ModelCard.load(str(tmp_path / "run" / "README.md"))
    assert card.data.datasets is None and card.data.eval_results is None
    assert main(["train", "cnn", "--dataset", ".", "--config", "toy", "--out", "../run-id", *FAST, "--epochs", "1",
                 "--card-dataset-id", "org/toydata"]) == 0
    card = ModelCard.load(str(tmp_path / "run-id" / "README.md"))
    assert card.data.datasets == ["org/toydata"]
    assert {r.dataset_type for r in card.data.eval_results} == {"org/toydata"}
    assert {r.metric_type for r in card.data.eval_results} == {"accuracy", "f1", "matthews_correlation", "roc_auc",
                                                               "pr_auc"}
    monkeypatch.chdir(tmp_path)
    for missing in ("./nope", "nope/sub/dir"):
        assert main(["train", "cnn", "--dataset", missing, "--config", "toy", "--out", "run2", *FAST]) == 2
        assert f"dataset folder {missing} not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, value, message",
    [("--epochs", "0", "--epochs must be at least 1, got 0"), ("--lr", "-1", "--lr must be positive, got -1.0"),
     ("--max-steps", "0", "--max-steps must be at least 1, got 0"), ("--seeds", "-1", "out of range"),
     ("--max-train-samples", "0", "--max-train-samples must be at least 1, got 0")],
)
def test_bad_hyperparameters_are_one_line_errors(tmp_path, capsys, flag, value, message):
    write_hub_folder(tmp_path / "data", "toy", {s: _toy(64, 80, i) for i, s in enumerate(SPLITS)}, ["a", "b"])
    try:  # checked after parsing (returned) or by argparse (SystemExit): status 2 either way
        code = main(["train", "cnn", "--dataset", str(tmp_path / "data"), "--config", "toy", "--out",
                     str(tmp_path / "run"), *FAST, flag, value])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count(": error: ") == 1


# --- real DNA ---------------------------------------------------------------------------------------------


def test_cnn_learns_real_promoters(upstream, tmp_path):
    """human_nontata_promoters (upstream test split, 9,034 x 251 bp) split 70/30: >= 0.75 test accuracy."""
    table = upstream / "allison-eunse__ai4h-inspired-fm-benchmark-hub" / "human_nontata_promoters_test.tsv.gz"
    frame = pd.read_csv(table, sep="\t")
    assert list(frame.columns) == ["seq", "label"] and len(frame) == 9034
    order = np.random.default_rng(2023).permutation(len(frame))
    n_train = int(0.7 * len(frame))
    n_val = n_train // 10
    parts = {"validation": order[:n_val], "train": order[n_val:n_train], "test": order[n_train:]}
    splits = {s: {"sequence": frame.seq.values[i].tolist(), "label": frame.label.values[i].tolist()} for s, i in parts.items()}
    write_hub_folder(tmp_path / "data", "human_nontata_promoters", splits, ["negative", "positive"])
    run = tmp_path / "run"
    assert main(["train", "cnn", "--dataset", str(tmp_path / "data"), "--config", "human_nontata_promoters",
                 "--out", str(run), *FAST, "--epochs", "3", "--max-steps", "250"]) == 0
    record = _metrics(run)
    assert record["global_step"] <= 250
    assert record["metrics"]["test"]["accuracy"] >= 0.75, record["metrics"]["test"]
    text = (run / "README.md").read_text()
    assert "| published | 84.6 | 83.7 | 86.5 | 84.4 |" in text  # Table 2 row of the paper


def test_one_class_split_is_refused_before_training(tmp_path, capsys):
    splits = {s: _toy(64, 80, i) for i, s in enumerate(SPLITS)}
    splits["validation"]["label"] = [0] * len(splits["validation"]["label"])  # one class: nothing to score
    write_hub_folder(tmp_path / "data", "toy", splits, ["a", "b"])
    assert main(["train", "cnn", "--dataset", str(tmp_path / "data"), "--config", "toy", "--out",
                 str(tmp_path / "run"), *FAST, "--selection-metric", "auroc"]) == 2
    err = capsys.readouterr().err
    assert "split 'validation'" in err and "holds a single class (a 64)" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.parametrize("overlay, message", [
    ([1, 2], "expected a JSON object of arguments"),
    ({"epochs": "ten"}, "--epochs: expected a whole number, got 'ten'"),
    ({"epoch": 3}, "unknown argument(s) epoch"),
    ({"long_sequences": "crop"}, "--long-sequences: expected one of truncate, error, got 'crop'"),
])
def test_bad_args_json_is_one_line_before_loading_data(tmp_path, capsys, overlay, message):
    path = tmp_path / "args.json"
    path.write_text(json.dumps(overlay))
    assert main(["train", "cnn", "--dataset", str(tmp_path / "missing"), "--config", "toy", "--out",
                 str(tmp_path / "run"), "--args-json", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "not found" not in err  # refused before the data


def test_a_second_run_into_the_same_folder_is_refused_naming_the_holder(synthetic, tmp_path):
    import os
    import subprocess
    import sys

    from gbhub.builders import locks

    out = tmp_path / "run"
    with locks.folder_lock(out, "gbhub train cnn"):  # a child process sees the lock held
        code = ("from gbhub.cli import main; raise SystemExit(main(['train', 'cnn', '--dataset', "
                f"'{synthetic}', '--config', 'synthetic', '--out', '{out}', '--no-progress', '--epochs', '1']))")
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert f"{out} is being written by pid {os.getpid()}" in run.stderr and "Traceback" not in run.stderr
    assert not (out / "metrics.json").exists()
    assert _train(synthetic, out, "--epochs", "1", "--max-train-samples", "200") == 0  # free again
    assert not (out / ".gbhub.lock").exists() and (out / "metrics.json").is_file()


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(synthetic, tmp_path):
    out = tmp_path / "run"
    (out / "seed-1").mkdir(parents=True)
    left = [out / ".training_curve.png.6pzoeo9j.tmp", out / "seed-1" / ".metrics.json.abc.tmp"]
    for path in left:
        path.write_bytes(b"half a file")  # what a SIGKILL during an atomic write leaves
    assert _train(synthetic, out, "--epochs", "1", "--max-train-samples", "200") == 0
    assert not [p for p in left if p.exists()] and (out / "metrics.json").is_file()
