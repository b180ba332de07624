"""The project's `evaluate` metric module, loaded offline by path, against scikit-learn."""

from __future__ import annotations

import evaluate
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

from gbhub.training.metrics_util import METRIC_PATH, compute_metrics, summarize_runs


@pytest.fixture(scope="module")
def metric():
    return evaluate.load(str(METRIC_PATH))


def _sklearn(probs, labels):
    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels)
    pred = probs.argmax(1)
    k = probs.shape[1]
    if k == 2:
        return {
            "accuracy": accuracy_score(labels, pred),
            "f1": f1_score(labels, pred, average="binary"),
            "mcc": matthews_corrcoef(labels, pred),
            "auroc": roc_auc_score(labels, probs[:, 1]),
            "auprc": average_precision_score(labels, probs[:, 1]),
        }
    return {
        "accuracy": accuracy_score(labels, pred),
        "f1": f1_score(labels, pred, average="macro"),
        "mcc": matthews_corrcoef(labels, pred),
        "auroc": roc_auc_score(labels, probs, multi_class="ovr", average="macro"),
        "auprc": average_precision_score(label_binarize(labels, classes=list(range(k))), probs, average="macro"),
    }


def test_binary_literal(metric):
    probs = [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]]
    labels = [0, 1, 0, 1, 1]
    got = metric.compute(predictions=probs, references=labels)
    # 3 of 5 right; TP=2 FP=1 FN=1 -> F1 2/3; AUROC: 5 of 6 positive/negative pairs ordered right
    assert got["accuracy"] == pytest.approx(0.6)
    assert got["f1"] == pytest.approx(2 / 3)
    assert got["auroc"] == pytest.approx(5 / 6)
    for key, value in _sklearn(probs, labels).items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_three_class_literal(metric):
    probs = [[0.5, 0.2, 0.3], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.1, 0.1, 0.8], [0.4, 0.5, 0.1], [0.2, 0.2, 0.6]]
    labels = [0, 1, 2, 1, 0, 2]
    got = metric.compute(predictions=probs, references=labels)
    assert got["accuracy"] == pytest.approx(4 / 6)
    for key, value in _sklearn(probs, labels).items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


@pytest.mark.parametrize("k", [2, 3, 5])
def test_random_inputs_match_sklearn(metric, k):
    rng = np.random.default_rng(k)
    logits = rng.normal(size=(500, k))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, k, 500)
    # add signal so the scores are not all near chance
    probs[np.arange(250), labels[:250]] += 0.5
    probs /= probs.sum(1, keepdims=True)
    got = metric.compute(predictions=probs.tolist(), references=labels.tolist())
    for key, value in _sklearn(probs, labels).items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_batches_and_hard_predictions(metric):
    metric.add_batch(predictions=[[0.8, 0.2]], references=[0])
    metric.add_batch(predictions=[[0.3, 0.7], [0.6, 0.4]], references=[1, 1])
    assert metric.compute()["accuracy"] == pytest.approx(2 / 3)
    hard = metric.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])
    assert hard["accuracy"] == 0.75 and hard["f1"] == pytest.approx(f1_score([0, 1, 0, 0], [0, 1, 1, 0]))
    assert hard["auroc"] is None and hard["auprc"] is None


def test_single_class_references_give_no_auc(metric):
    got = metric.compute(predictions=[[0.2, 0.8], [0.6, 0.4]], references=[1, 1])
    assert got["accuracy"] == 0.5 and got["auroc"] is None


def test_compute_metrics_adds_loss_and_summary():
    probs = np.array([[0.75, 0.25], [0.5, 0.5]])
    got = compute_metrics(probs, np.array([0, 1]))
    assert got["loss"] == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2)
    summary = summarize_runs([{"test": {"accuracy": 0.8}}, {"test": {"accuracy": 0.9}}, {"test": {"accuracy": 1.0}}])
    assert summary["test"]["accuracy"]["mean"] == pytest.approx(0.9)
    assert summary["test"]["accuracy"]["std"] == pytest.approx(0.1)


# --- regression --------------------------------------------------------------------------------------------


def test_regression_module_literal_and_against_scipy_sklearn():
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    from gbhub.training.metrics_util import REGRESSION_METRIC_PATH, score

    metric = evaluate.load(str(REGRESSION_METRIC_PATH))
    out = metric.compute(predictions=[1.0, 2.0, 3.0], references=[1.0, 2.0, 4.0])
    assert out["mse"] == pytest.approx(1 / 3) and out["mae"] == pytest.approx(1 / 3)
    assert out["r2"] == pytest.approx(1 - 1 / (14 / 3))  # SSE 1, SST 4.667
    assert out["spearman"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(200, 3))
    pred = truth + rng.normal(scale=0.5, size=truth.shape)
    got = metric.compute(predictions=pred, references=truth)
    assert got["r2"] == pytest.approx(r2_score(truth, pred))
    assert got["mse"] == pytest.approx(mean_squared_error(truth, pred))
    assert got["mae"] == pytest.approx(mean_absolute_error(truth, pred))
    assert got["pearson"] == pytest.approx(np.mean([pearsonr(pred[:, j], truth[:, j])[0] for j in range(3)]))
    assert got["spearman"] == pytest.approx(np.mean([spearmanr(pred[:, j], truth[:, j])[0] for j in range(3)]))
    # a constant prediction: R² 0 against the mean, correlations undefined (None, never NaN)
    flat = metric.compute(predictions=np.full(200, truth[:, 0].mean()), references=truth[:, 0])
    assert flat["r2"] == pytest.approx(0.0) and flat["pearson"] is None and flat["spearman"] is None
    metrics, values = score("regression", pred[:, :1], truth[:, 0], 1)
    assert values.shape == (200, 1) and metrics["loss"] == pytest.approx(mean_squared_error(truth[:, 0], pred[:, 0]))


def test_trainer_compute_metrics_softmaxes_the_trainers_logits():
    """The public `Trainer` hook: logits in (as the Trainer gives them), the module's probability metrics out."""
    from transformers import EvalPrediction

    from gbhub.training.metrics_util import softmax, trainer_compute_metrics

    rng = np.random.default_rng(4)
    logits = rng.normal(size=(40, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    got = trainer_compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert got == pytest.approx(_sklearn(softmax(logits), labels)) and "loss" not in got  # the Trainer logs its own
    as_tuple = trainer_compute_metrics(EvalPrediction(predictions=(logits, logits[:, :1]), label_ids=labels))
    assert as_tuple == got
    one_class = trainer_compute_metrics(EvalPrediction(predictions=logits[:, :2], label_ids=np.zeros(40, np.int64)))
    assert "auroc" not in one_class and "auprc" not in one_class and set(one_class) == {"accuracy", "f1", "mcc"}
