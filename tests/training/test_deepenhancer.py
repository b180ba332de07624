"""DeepEnhancer: Table 1 shapes at W = 300, the ablation variants, the recipe's windows and per-region metrics, transfer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification

from gbhub.builders.hub_layout import SPLITS, write_hub_folder
from gbhub.cli import main
from gbhub.training.models.deepenhancer import (
    DeepEnhancerConfig,
    DeepEnhancerForSequenceClassification,
)
from gbhub.training.transfer import TransferError, initialise_from

FAST = ["--no-progress"]


def _model(architecture="4conv2pool4norm", length=300, num_labels=2):
    torch.manual_seed(0)
    config = DeepEnhancerConfig(architecture=architecture, input_length=length,
                                id2label={i: f"c{i}" for i in range(num_labels)})
    return DeepEnhancerForSequenceClassification(config).eval()


def test_table_1_output_shapes_at_w300():
    model = _model()
    shapes, x = [], torch.zeros(2, 4, 300)
    with torch.no_grad():
        for layer in model.features:
            x = layer(x)
            if not isinstance(layer, nn.ReLU):
                shapes.append((type(layer).__name__, tuple(x.shape[1:])))
    assert shapes == [  # Table 1 of Min et al. 2017, layers 1-10 (then flatten into the dense layers)
        ("Conv1d", (128, 293)), ("BatchNorm1d", (128, 293)), ("Conv1d", (128, 286)), ("BatchNorm1d", (128, 286)),
        ("MaxPool1d", (128, 143)), ("Conv1d", (64, 141)), ("BatchNorm1d", (64, 141)), ("Conv1d", (64, 139)),
        ("BatchNorm1d", (64, 139)), ("MaxPool1d", (64, 69)), ("Flatten", (64 * 69,))]
    convs = [m for m in model.features if isinstance(m, nn.Conv1d)]
    assert [tuple(c.weight.shape) for c in convs] == [(128, 4, 8), (128, 128, 8), (64, 128, 3), (64, 64, 3)]
    dense = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(4416, 256), (256, 128), (128, 2)]
    kinds = [type(m).__name__ for m in model.classifier]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]  # dropout 0.5 between the dense layers
    assert model.classifier[2].p == 0.5
    ids = torch.randint(0, 5, (3, 300))
    out = model(input_ids=ids, labels=torch.tensor([0, 1, 1]))
    assert out.logits.shape == (3, 2)
    torch.testing.assert_close(out.loss, nn.functional.cross_entropy(out.logits, torch.tensor([0, 1, 1])))


@pytest.mark.parametrize("architecture, convs, norms, pools, flatten", [
    ("4conv2pool", 4, 0, 2, 64 * 69),
    ("4conv", 4, 0, 0, 64 * 282),
    ("6conv3pool6norm", 6, 6, 3, 16 * 33),
    ("6conv3pool", 6, 0, 3, 16 * 33),
])
def test_ablation_variants(architecture, convs, norms, pools, flatten):
    model = _model(architecture)
    kinds = [type(m).__name__ for m in model.features]
    assert (kinds.count("Conv1d"), kinds.count("BatchNorm1d"), kinds.count("MaxPool1d")) == (convs, norms, pools)
    assert model.config.flatten_size == flatten
    if convs == 6:
        assert [m.out_channels for m in model.features if isinstance(m, nn.Conv1d)][4:] == [16, 16]
        assert [m.kernel_size for m in model.features if isinstance(m, nn.Conv1d)][4:] == [(2,), (2,)]
    with torch.no_grad():
        assert model(input_ids=torch.randint(0, 4, (2, 300))).logits.shape == (2, 2)


def test_save_load_and_scoring_sequences_of_any_length(tmp_path):
    model = _model(length=40, num_labels=3)
    model.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "deepenhancer"
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, DeepEnhancerForSequenceClassification) and loaded.config.architecture == "4conv2pool4norm"
    seqs = ["ACGT" * 30, "GATTACA", "N" * 40]
    probs = loaded.predict_proba(seqs, stride=4, aggregation="max")
    np.testing.assert_allclose(probs, model.predict_proba(seqs, stride=4, aggregation="max"))
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1)
    with pytest.raises(ValueError, match="input width 30 != the model's input_length 40"):
        model(input_ids=torch.zeros(1, 30, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 26"):
        _model(length=20)


# --- the recipe ------------------------------------------------------------------------------------------

MOTIF = "TGACTCAGCA"


def _toy(n: int, seed: int, lengths=(30, 90)) -> dict:
    """Sequences of 30-90 bp; class 1 carries MOTIF at a random place (class 0: background)."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        length = int(rng.integers(*lengths))
        seq = list(rng.choice(list("ACGT"), length))
        if i % 2:
            at = int(rng.integers(0, length - len(MOTIF)))
            seq[at : at + len(MOTIF)] = MOTIF
        seqs.append("".join(seq))
        labels.append(i % 2)
    return {"sequence": seqs, "label": labels, "id": [f"s{seed}_{i}" for i in range(n)]}


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy")
    write_hub_folder(folder, "toy", {s: _toy(n, i) for i, (s, n) in enumerate(zip(SPLITS, (160, 40, 80)))},
                     ["background", "enhancer"])
    return folder


def _train(data: Path, out: Path, *args: str, config: str = "toy") -> int:
    return main(["train", "deepenhancer", "--dataset", str(data), "--config", config, "--out", str(out), *FAST,
                 "--window-bp", "40", "--batch-size", "32", *args])


def test_recipe_windows_sequences_and_reports_per_sequence(toy, tmp_path):
    run = tmp_path / "run"
    assert _train(toy, run, "--epochs", "1", "--window-stride-bp", "5", "--max-windows-per-region", "3",
                  "--short-sequences", "center") == 0
    record = json.loads((run / "metrics.json").read_text())
    info = record["input"]
    assert info["aggregation"] == "max" and info["window_bp"] == 40 and info["max_windows_per_region"] == 3
    test = info["splits"]["test"]
    assert test["sequences"] == 80 and test["shorter_than_window"] + test["longer_than_window"] <= 80
    assert test["sequences"] < test["windows"] <= 3 * 80
    assert record["throughput"]["unit"] == "windows"
    assert set(record["metrics"]) == {"validation", "test"}  # the training windows are not scored again
    preds = pd.read_csv(run / "predictions_test.csv")
    assert len(preds) == 80 and preds.id.tolist() == [f"s2_{i}" for i in range(80)]  # one row per sequence
    assert (preds.label == preds.prediction).mean() == pytest.approx(record["metrics"]["test"]["accuracy"])
    card = (run / "README.md").read_text()
    assert "### Windows" in card and "centred window" in card and "at most 3 windows per sequence" in card
    assert "| 1 | conv + ReLU | 128 x 4 x 8 | 128 x 33 |" in card and "AUROC and AUPRC" in card
    assert "model.predict_proba" in card and "Min" in card
    hp = record["hyperparameters"]
    assert (hp["epochs"], hp["lr"], hp["early_stopping_patience"]) == (1, 1e-4, 8)  # the paper's protocol


def test_recipe_on_rows_that_are_genome_windows(tmp_path):
    """`--windows-from dataset`: rows are `<region>@w<k>` windows; metrics and predictions per region."""
    rng = np.random.default_rng(5)

    def windows(n_regions, split):
        ids, seqs, labels = [], [], []
        for r in range(n_regions):
            for k in range(int(rng.integers(1, 4))):
                ids.append(f"{split}{r}@w{k}")
                seqs.append("".join(rng.choice(list("ACGT"), 40)) if r % 2 == 0 else MOTIF * 4)
                labels.append(r % 2)
        return {"id": ids, "sequence": seqs, "label": labels}

    write_hub_folder(tmp_path / "data", "win", {s: windows(n, s) for s, n in zip(SPLITS, (40, 10, 12))}, ["a", "b"])
    run = tmp_path / "run"
    assert _train(tmp_path / "data", run, "--windows-from", "dataset", "--epochs", "1", config="win") == 0
    record = json.loads((run / "metrics.json").read_text())
    assert record["n_rows"]["test"] == 12 and record["input"]["splits"]["test"]["regions"] == 12
    preds = pd.read_csv(run / "predictions_test.csv")
    assert preds.id.tolist() == [f"test{r}" for r in range(12)]
    assert "grouped back into it" in (run / "README.md").read_text()
    assert _train(tmp_path / "data", tmp_path / "bad", "--windows-from", "dataset", "--window-bp", "41",
                  config="win") == 2


def test_bad_recipe_arguments_are_one_line_errors(toy, tmp_path, capsys):
    assert _train(toy, tmp_path / "a", "--window-stride-bp", "41") == 2
    assert "--window-stride-bp 41 is larger than the window (40 bp)" in capsys.readouterr().err
    assert _train(toy, tmp_path / "b", "--window-bp", "20") == 2
    assert "too short for 4conv2pool4norm" in capsys.readouterr().err
    assert _train(toy, tmp_path / "c", "--long-sequences", "error") == 2
    err = capsys.readouterr().err
    assert "longer than the 40 bp window" in err and "Traceback" not in err
    assert _train(toy, tmp_path / "d", "--freeze-convolutions") == 2
    assert "--freeze-convolutions needs --init-from" in capsys.readouterr().err
    assert _train(toy, tmp_path / "e", "--init-from", str(tmp_path / "missing")) == 2
    assert "no such run folder" in capsys.readouterr().err


# --- transfer learning -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parent(toy, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("parent") / "run"
    assert _train(toy, run, "--epochs", "1", "--max-windows-per-region", "2") == 0
    return run


def _convs(model) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k.startswith("features.")}


def test_init_from_copies_every_layer_and_reinitialises_a_head_of_another_size(parent):
    parent_model = DeepEnhancerForSequenceClassification.from_pretrained(parent)
    child = _model(length=40, num_labels=3)
    record = initialise_from(child, str(parent))
    for key, value in _convs(parent_model).items():  # convolutions and batch-norm statistics, exactly
        assert torch.equal(child.state_dict()[key], value), key
    for key in ("classifier.0.weight", "classifier.3.bias"):
        assert torch.equal(child.state_dict()[key], parent_model.state_dict()[key])
    assert child.classifier[-1].out_features == 3 and record["reinitialised"] == ["classifier.5.bias",
                                                                                  "classifier.5.weight"]
    assert record["config"] == "toy" and record["label_names"] == ["background", "enhancer"]
    with pytest.raises(TransferError, match="another architecture: features.2.weight is absent in the parent"):
        initialise_from(_model("6conv3pool", length=40), str(parent))
    with pytest.raises(TransferError, match="another architecture"):
        initialise_from(_model(length=48), str(parent))  # another input width: another dense layer


def test_fine_tuning_with_frozen_convolutions_keeps_the_parents_weights(toy, parent, tmp_path):
    run = tmp_path / "child"
    assert _train(toy, run, "--epochs", "1", "--max-windows-per-region", "2", "--init-from", str(parent),
                  "--freeze-convolutions") == 0
    child = DeepEnhancerForSequenceClassification.from_pretrained(run)
    before = DeepEnhancerForSequenceClassification.from_pretrained(parent)
    for key, value in before.state_dict().items():
        if key.endswith(("conv.weight", "conv.bias")) or (key.startswith("features.") and
                                                         isinstance(before.get_submodule(key.rsplit(".", 1)[0]),
                                                                    nn.Conv1d)):
            assert torch.equal(child.state_dict()[key], value), key
    assert not torch.equal(child.classifier[0].weight, before.classifier[0].weight)  # the rest was trained
    record = json.loads((run / "metrics.json").read_text())
    assert record["parent"]["init_from"] == str(parent) and record["parent"]["frozen"]
    card = (run / "README.md").read_text()
    assert f"Initialised from `{parent}`" in card and "convolutions were frozen" in card
