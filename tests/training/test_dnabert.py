"""DNABERT fine-tune end to end: a tiny random BERT with the real DNABERT-6 vocabulary, through `--model DIR`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tiny_checkpoints import save_tiny_dnabert  # noqa: E402  (tests/training/tiny_checkpoints.py)

from gbhub.cli import main  # noqa: E402
from gbhub.training.kmer import KmerTokenizationError, dnabert_vocab  # noqa: E402
from gbhub.training.recipes.lm import predict  # noqa: E402
from gbhub.training.tokenizers import DNATokenizer, check_equivalence, load_kmer_tokenizer  # noqa: E402

CONFIG = "synthetic"
MAX_TOKENS = 192  # 200 bp synthetic sequences -> 195 6-mers -> 2 windows of 190 k-mers (exercises windowing)
BASE_ID = "test-org/tiny-dnabert-6"


@pytest.fixture(scope="module")
def single_thread():
    """One intra-op thread: on a busy 2-core machine the tiny model trains several times faster."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The synthetic benchmark (Hub layout, built offline) and the tiny checkpoint."""
    from gbhub.builders.build import build_benchmark
    from gbhub.hub_cards.dataset_card import write_dataset_card

    root = tmp_path_factory.mktemp("dnabert")
    build_benchmark(CONFIG, root / "data", cache_dir=root / "cache", progress=False)
    write_dataset_card(root / "data")
    save_tiny_dnabert(root / "tiny-dnabert")
    return root


def common_args(root: Path, out: Path) -> list[str]:
    return [
        "train", "dnabert", "--dataset", str(root / "data"), "--config", CONFIG, "--out", str(out),
        "--model", str(root / "tiny-dnabert"), "--max-tokens", str(MAX_TOKENS), "--cpu", "--no-progress",
    ]


@pytest.fixture(scope="module")
def run(workspace, single_thread):
    """One fine-tune (4 epochs on 384 training sequences); returns the run folder."""
    out = workspace / "run"
    status = main(
        common_args(workspace, out)
        + ["--lr", "5e-3", "--epochs", "4", "--max-train-samples", "384", "--logging-steps", "6",
           "--card-base-model", BASE_ID, "--card-dataset-id", "org/synthetic"]
    )
    assert status == 0
    return out


def test_learns_loss_falls_beats_chance(run):
    record = json.loads((run / "metrics.json").read_text())
    losses = [h["train_loss"] for h in record["history"]]
    assert len(losses) == 4 and losses[-1] < 0.7 * losses[0], losses
    assert record["metrics"]["validation"]["accuracy"] >= 0.9
    assert record["metrics"]["test"]["accuracy"] >= 0.9  # chance is 0.5
    assert record["best_epoch"] in [h["epoch"] for h in record["history"]]
    ls = record["input"]
    assert ls["long_sequences"] == "windows" and ls["window_bp"] == MAX_TOKENS - 2 + 5
    assert ls["splits"]["test"] == {"sequences": 400, "windows": 800, "longest_bp": 200, "longest_tokens": 195,
                                   "longer_than_window": 400}
    print("tiny DNABERT CPU throughput:", record["throughput"])


def test_run_folder_is_what_push_model_uploads(run):
    files = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}
    for name in ("README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "metrics.json", "predictions_test.csv", "training_curve.png", "confusion_matrix.png"):
        assert name in files
    assert not any(f.startswith("checkpoint") for f in files), files  # Trainer checkpoints are removed
    assert "training_args.bin" not in files
    config = json.loads((run / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}  # from the dataset's ClassLabel


def test_save_reload_predicts_identically(run, workspace):
    from datasets import load_dataset

    test = load_dataset(str(workspace / "data"), CONFIG, split="test")
    saved = pd.read_csv(run / "predictions_test.csv")
    assert saved["id"].tolist() == test["id"]
    probs = predict(run, test["sequence"], max_tokens=MAX_TOKENS, device="cpu")
    np.testing.assert_allclose(probs, saved[["prob_negative", "prob_positive"]].to_numpy(), atol=2e-6)
    assert (probs.argmax(1) == saved["prediction"].to_numpy()).all()
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]["test"]
    assert np.mean(probs.argmax(1) == np.asarray(test["label"])) == pytest.approx(metrics["accuracy"])


def test_card_parses_and_matches_metrics(run):
    from gbhub.hub_cards.model_card import CARD_METRICS, card_test_results

    text = (run / "README.md").read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    record = json.loads((run / "metrics.json").read_text())
    assert meta["base_model"] == BASE_ID
    assert meta["library_name"] == "transformers"
    results = meta["model-index"][0]["results"][0]
    assert results["dataset"]["config"] == CONFIG and results["dataset"]["split"] == "test"
    card = card_test_results(run / "README.md")
    expected = {k: v for k, v in record["metrics"]["test"].items() if k in CARD_METRICS and v is not None}
    assert card == pytest.approx(expected) and set(card) == set(expected)
    assert "--long-sequences windows" in text and "warm-up ratio 0.1" in text


def test_truncate_strategy_and_seeds(workspace, single_thread, tmp_path):
    out = tmp_path / "run"
    status = main(
        common_args(workspace, out)
        + ["--long-sequences", "truncate", "--max-steps", "3", "--max-train-samples", "64", "--seeds", "1,2",
           "--batch-size", "16"]
    )
    assert status == 0
    record = json.loads((out / "metrics.json").read_text())
    assert record["input"]["splits"]["test"]["windows"] == 400
    assert record["global_step"] == 3 and record["seeds"] == [1, 2]
    assert set(record["per_seed"]) == {"1", "2"} and record["summary"]["test"]["accuracy"]["n"] == 2
    assert (out / "seed-1" / "predictions_test.csv").is_file()
    assert "base_model" not in yaml.safe_load((out / "README.md").read_text().split("---\n")[1])


def test_bad_inputs_fail_with_one_line(workspace, tmp_path, capsys):
    base = ["train", "dnabert", "--dataset", str(workspace / "data"), "--config", CONFIG, "--out",
            str(tmp_path / "x"), "--model", str(workspace / "tiny-dnabert"), "--cpu"]
    assert main(base + ["--max-tokens", "1024"]) == 2
    assert "exceeds the 512 positions" in capsys.readouterr().err
    assert main(base + ["--kmer", "5"]) == 2
    assert "lacks 1024 of the 1024 5-mers" in capsys.readouterr().err
    assert main(base + ["--kmer", "7"]) == 2
    assert "--kmer must be 3, 4, 5 or 6" in capsys.readouterr().err
    bad_config = ["train", "dnabert", "--dataset", str(workspace / "data"), "--config", "nope", "--out",
                  str(tmp_path / "y"), "--model", str(workspace / "tiny-dnabert")]
    assert main(bad_config) == 2
    assert "nope" in capsys.readouterr().err
    no_model = [a for a in base if a not in ("--model", str(workspace / "tiny-dnabert"))]
    assert main(no_model) == 2  # the default Hub checkpoint, offline and not cached
    assert "cannot read the config of checkpoint 'zhihan1996/DNA_bert_6'" in capsys.readouterr().err
    assert main(["train", "dnabert", "--config", CONFIG]) == 2
    assert "missing --dataset, --out" in capsys.readouterr().err
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_tokenizer_built_offline_when_checkpoint_has_none(tmp_path, caplog):
    folder = save_tiny_dnabert(tmp_path / "bare", tokenizer_files=False)
    tokenizer, fast, source = load_kmer_tokenizer(str(folder))
    assert source.startswith("built offline") and len(tokenizer) == 4101 and fast.k == 6
    assert "ships no usable tokenizer" in caplog.text
    assert tokenizer("AAAAAA CCCCCC")["input_ids"] == [2, 5, 2735, 3]  # not the all-[UNK] vocab_file trap
    checkpoint = save_tiny_dnabert(tmp_path / "full")
    tokenizer, fast, source = load_kmer_tokenizer(str(checkpoint))
    assert source.startswith("from the checkpoint") and fast.k == 6 and not tokenizer.do_lower_case
    assert tokenizer("AAAAAA CCCCCC")["input_ids"] == [2, 5, 2735, 3]


def test_equivalence_check_catches_a_lower_casing_tokenizer():
    from transformers import BertTokenizer

    from gbhub.training.kmer import KmerTokenizer, build_dnabert_tokenizer

    check_equivalence(DNATokenizer(build_dnabert_tokenizer(3), KmerTokenizer.dnabert(3)), max_length=64)
    lower = BertTokenizer(vocab=dnabert_vocab(3), do_lower_case=True)
    with pytest.raises(KmerTokenizationError, match="differ on input_ids"):
        check_equivalence(DNATokenizer(lower, KmerTokenizer.dnabert(3)))


def test_args_json_overlay_and_protocol(tmp_path):
    """command line > --args-json > protocol > recipe defaults, through the one argument schema."""
    from gbhub.training.recipes import get_recipe
    from gbhub.training.run import parse

    path = tmp_path / "args.json"
    path.write_text(json.dumps({"dataset": str(tmp_path), "config": "c", "out": str(tmp_path / "o"), "lr": 1e-4,
                                "seeds": [1, 2], "max_tokens": 256}))
    args = parse(get_recipe("dnabert"), {"args_json": str(path), "lr": 3e-5})
    assert args.run.lr == 3e-5 and args.run.seeds == (1, 2) and args.run.epochs == 4 and args.run.batch_size == 32
    assert args.model.max_tokens == 256 and args.run.selection_metric == "accuracy"  # the notebook protocol
    assert args.run.eval_batch_size == 128  # 4x the batch size
    path.write_text(json.dumps({"learning_rate": 1e-4}))
    with pytest.raises(ValueError, match="unknown argument"):
        parse(get_recipe("dnabert"), {"args_json": str(path)})
