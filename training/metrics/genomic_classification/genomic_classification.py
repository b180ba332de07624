"""The project's `evaluate` metric: accuracy, F1, MCC, AUROC and AUPRC for genomic sequence classification."""

from __future__ import annotations

import datasets
import evaluate
import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

_DESCRIPTION = """
Scores of a sequence classifier: accuracy, F1 (binary, positive class 1, for two classes; macro
otherwise), Matthews correlation coefficient, and the areas under the ROC and precision-recall curves
(for two classes on the probability of class 1; one-vs-rest macro averages otherwise). AUROC and AUPRC
need class probabilities; with hard predictions they are None, as they are when the references hold a
single class.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: per-example class probabilities, shape (n, num_labels) (softmax of the logits), or
        per-example predicted class ids, shape (n,).
    references: true class ids, shape (n,).
    num_labels: number of classes (default: the width of `predictions`, else the largest id + 1, at
        least 2).
Returns:
    accuracy, f1, mcc, auroc, auprc (floats; auroc/auprc None when they cannot be computed).
Examples:
    >>> metric = evaluate.load("training/metrics/genomic_classification")
    >>> metric.compute(predictions=[[0.9, 0.1], [0.2, 0.8]], references=[0, 1])["accuracy"]
    1.0
"""

_CITATION = """\
@article{gresova2023genomic,
  title={Genomic benchmarks: a collection of datasets for genomic sequence classification},
  author={Gre{\\v{s}}ov{\\'a}, Katar{\\'\\i}na and Martinek, Vlastimil and {\\v{C}}ech{\\'a}k, David and
          {\\v{S}}ime{\\v{c}}ek, Petr and Alexiou, Panagiotis},
  journal={BMC Genomic Data}, volume={24}, number={1}, pages={25}, year={2023}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class GenomicClassification(evaluate.Metric):
    """Accuracy, F1, MCC, AUROC, AUPRC of class probabilities (or hard class ids) against references."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features(
                    {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
                ),
                datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            ],
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html"],
        )

    def _compute(self, predictions, references, num_labels: int | None = None) -> dict:
        references = np.asarray(references, dtype=np.int64)
        preds = np.asarray(predictions)
        scores = preds.astype(np.float64) if preds.ndim == 2 else None
        if num_labels is None:
            if scores is not None:
                num_labels = scores.shape[1]
            else:
                num_labels = max(2, int(max(preds.max(initial=0), references.max(initial=0))) + 1)
        pred_ids = scores.argmax(axis=1) if scores is not None else preds.astype(np.int64)
        labels = list(range(num_labels))
        binary = num_labels == 2
        result = {
            "accuracy": float(accuracy_score(references, pred_ids)),
            "f1": float(
                f1_score(
                    references,
                    pred_ids,
                    labels=None if binary else labels,
                    average="binary" if binary else "macro",
                    pos_label=1,
                    zero_division=0,
                )
            ),
            "mcc": float(matthews_corrcoef(references, pred_ids)),
            "auroc": None,
            "auprc": None,
        }
        if scores is None or len(np.unique(references)) < 2:
            return result
        if binary:
            result["auroc"] = float(roc_auc_score(references, scores[:, 1]))
            result["auprc"] = float(average_precision_score(references, scores[:, 1]))
        else:
            present = np.unique(references)
            onehot = label_binarize(references, classes=labels)[:, present]
            # one-vs-rest, macro over the classes present in the references (absent ones have no AUC)
            result["auroc"] = float(roc_auc_score(onehot, scores[:, present], average="macro"))
            result["auprc"] = float(average_precision_score(onehot, scores[:, present], average="macro"))
        return result
