"""`gbhub demo`: offline, on the built-in synthetic benchmark, end to end, well under two minutes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from huggingface_hub import ModelCard

from gbhub.cli import main


def test_demo_builds_trains_evaluates_and_writes_cards(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --out, as the README runs it
    started = time.perf_counter()
    assert main(["demo", "--out", "demo", "--no-progress"]) == 0
    elapsed = time.perf_counter() - started
    assert elapsed < 120, f"demo took {elapsed:.0f} s"
    out = capsys.readouterr().out
    data, run = tmp_path / "demo" / "data", tmp_path / "demo" / "cnn"
    assert "dataset (Hub layout, card): demo/data" in out and "test metrics: accuracy" in out
    assert (data / "README.md").is_file() and list((data / "synthetic").glob("test-*.parquet"))
    record = json.loads((run / "metrics.json").read_text())
    assert record["config"] == "synthetic" and record["epochs_run"] == 10
    assert record["metrics"]["test"]["accuracy"] > 0.75  # planted motif vs background; chance 0.5
    card = ModelCard.load(run / "README.md")
    assert card.data.datasets is None and card.data.eval_results is None  # local data: no Hub id to link
    assert f"| test | {record['metrics']['test']['accuracy']:.4f} |" in card.text
    for name in ("model.safetensors", "config.json", "predictions_test.csv", "training_curve.png", "confusion_matrix.png"):
        assert (run / name).is_file(), name
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("The last lines you should see", 1)[1].split("```", 2)[1]
    printed = [line for line in out.splitlines() if line.startswith(("test metrics:", "trained "))]
    for line in printed:  # the quick start's output is shown as it prints (throughput aside)
        key = line if line.startswith("test metrics:") else line.split("(")[0]
        assert key in shown, f"README quick start is stale: {line!r}"
