"""The project's `evaluate` metric for regression targets: R², Pearson and Spearman correlation, MSE, MAE."""

from __future__ import annotations

import datasets
import evaluate
import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

_DESCRIPTION = """
Scores of a regressor of one target or several (e.g. expression in several tissues): the coefficient of
determination R² (1 - SSE / SST, scikit-learn's definition: 0 for a constant predictor of the mean,
negative when worse), Pearson and Spearman correlation, mean squared and mean absolute error. With
several targets every score is the unweighted mean over targets. A correlation is None when the
predictions or the references of a target are constant (it is undefined there).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted values, shape (n,) or (n, k).
    references: true values, same shape.
Returns:
    r2, pearson, spearman, mse, mae (floats; pearson/spearman None when undefined).
Examples:
    >>> metric = evaluate.load("training/metrics/genomic_regression")
    >>> metric.compute(predictions=[1.0, 2.0, 3.0], references=[1.0, 2.0, 4.0])["pearson"]
    0.9819805060619657
"""

_CITATION = """\
@article{pedregosa2011scikit,
  title={Scikit-learn: Machine Learning in Python}, author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class GenomicRegression(evaluate.Metric):
    """R², Pearson, Spearman, MSE, MAE of predicted values against references (mean over targets)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}),
                datasets.Features({"predictions": datasets.Sequence(datasets.Value("float64")),
                                   "references": datasets.Sequence(datasets.Value("float64"))}),
            ],
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html#regression-metrics"],
        )

    def _compute(self, predictions, references) -> dict:
        pred = np.asarray(predictions, dtype=np.float64)
        ref = np.asarray(references, dtype=np.float64)
        if pred.ndim == 1:
            pred, ref = pred[:, None], ref[:, None]
        pearson, spearman = [], []
        for j in range(pred.shape[1]):
            constant = np.ptp(pred[:, j]) == 0 or np.ptp(ref[:, j]) == 0 or len(ref) < 2
            pearson.append(None if constant else float(pearsonr(pred[:, j], ref[:, j])[0]))
            spearman.append(None if constant else float(spearmanr(pred[:, j], ref[:, j])[0]))
        return {
            "r2": float(r2_score(ref, pred, multioutput="uniform_average")) if len(ref) > 1 else None,
            "pearson": None if None in pearson else float(np.mean(pearson)),
            "spearman": None if None in spearman else float(np.mean(spearman)),
            "mse": float(mean_squared_error(ref, pred)),
            "mae": float(mean_absolute_error(ref, pred)),
        }
