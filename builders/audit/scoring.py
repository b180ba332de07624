"""Scoring a shortcut probe: test AUROC, its seeded stratified-bootstrap confidence interval, and its flag."""

from __future__ import annotations

import numpy as np

# |AUROC - 0.5| <= 0.1 pass, <= 0.2 warn, above: fail, in either direction (far below 0.5 is a signal too: the
# rule learnt on train is reversed on test). Upward these are gb-qc's lines (pass <= 0.6 < warn <= 0.7 < fail).
PASS_DISTANCE, WARN_DISTANCE = 0.1, 0.2
BOOTSTRAP_RESAMPLES = 200
CONFIDENCE = 0.95
# A probe is scored only when every class has this many rows in train and in test; below it the flag is
# `too_few_rows` and no AUROC is given (an AUROC on a handful of rows says nothing).
MIN_ROWS_PER_CLASS = 20


def flag(auroc: float | None) -> str:
    """`pass`, `warn` or `fail` from the distance of the AUROC to 0.5 (either side); `n/a` without a score."""
    if auroc is None:
        return "n/a"
    distance = abs(auroc - 0.5)
    return "pass" if distance <= PASS_DISTANCE + 1e-12 else "warn" if distance <= WARN_DISTANCE + 1e-12 else "fail"


def direction(auroc: float | None) -> str | None:
    """`above` or `below` chance (0.5), `chance` at exactly 0.5; None without a score."""
    if auroc is None:
        return None
    return "above" if auroc > 0.5 else "below" if auroc < 0.5 else "chance"


def _grouped_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Tie-aware weighted AUROC of one score vector under many weight vectors.

    AUC = sum over distinct scores g of P_g * (N_{<g} + N_g / 2) / (P * N), where P_g and N_g are the weights of
    the positive and negative rows scoring g (the Mann-Whitney statistic; equal to scikit-learn's
    `roc_auc_score(..., sample_weight=w)`, which takes one weight vector per call: here every resample is
    summed per distinct score in one sparse product, which is what makes the interval cheap).

    Args:
        scores: `(n,)` scores.
        positive: `(n,)` bool.
        weights: `(n, b)` non-negative weights (bootstrap counts), one column per resample.

    Returns:
        `(b,)` AUROC per weight column (NaN where a side has zero weight).
    """
    from scipy.sparse import csr_matrix

    uniques, group = np.unique(scores, return_inverse=True)
    n = len(scores)
    sums = []
    for side in (positive, ~positive):
        rows = np.flatnonzero(side)
        onehot = csr_matrix((np.ones(len(rows), dtype=weights.dtype), (group[rows], rows)), shape=(len(uniques), n))
        sums.append(np.asarray(onehot @ weights, dtype=np.float64))
    p_g, n_g = sums
    below = np.cumsum(n_g, axis=0) - n_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return (p_g * (below + 0.5 * n_g)).sum(axis=0) / (p_g.sum(axis=0) * n_g.sum(axis=0))


def _rank_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The Mann-Whitney AUROC from average ranks (ties count one half), NaN when a side is empty."""
    from scipy.stats import rankdata

    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if not n1 or not n0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def multiclass_auc(y: np.ndarray, proba: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """`(b,)` AUROC of `proba` against `y` under each weight column: binary on the scores of class 1, else macro
    one-vs-rest.

    Args:
        y: `(n,)` int labels `0..c-1`.
        proba: `(n, c)` class scores (or `(n,)` scores of class 1 for two classes).
        weights: `(n, b)` weights; None: every row once (`b` = 1).
    """
    if weights is None:  # every row once: ranks (scipy), no matrix of weights
        if proba.ndim == 1 or proba.shape[1] == 2:
            return np.array([_rank_auc(proba if proba.ndim == 1 else proba[:, 1], y == 1)])
        return np.array([np.mean([_rank_auc(proba[:, c], y == c) for c in range(proba.shape[1])])])
    if proba.ndim == 1:
        return _grouped_auc(proba, y == 1, weights)
    if proba.shape[1] == 2:
        return _grouped_auc(proba[:, 1], y == 1, weights)
    return np.mean([_grouped_auc(proba[:, c], y == c, weights) for c in range(proba.shape[1])], axis=0)


def bootstrap_weights(y: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """`(n, resamples)` float32 counts of a stratified bootstrap: each class's rows are resampled within the
    class, so every resample keeps the class sizes (and an AUROC is always defined)."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((len(y), resamples), dtype=np.float32)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        m = len(rows)
        draws = rng.integers(0, m, size=(resamples, m)) + (np.arange(resamples) * m)[:, None]
        weights[rows] = np.bincount(draws.ravel(), minlength=resamples * m).reshape(resamples, m).T
    return weights


def score(y: np.ndarray, proba: np.ndarray, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
          weights: np.ndarray | None = None) -> dict:
    """AUROC of test scores, its percentile bootstrap interval and the flags.

    Args:
        y: `(n,)` int test labels.
        proba: `(n, c)` or `(n,)` scores from a model fitted on train.
        resamples: stratified bootstrap resamples (0: no interval).
        seed: bootstrap seed (same inputs, same interval).
        weights: precomputed `bootstrap_weights(y, resamples, seed)` (probes on the same test rows share them).

    Returns:
        `{"auroc", "ci": [low, high] | None, "flag", "direction"}`, AUROC rounded to 4 digits.
    """
    point = float(multiclass_auc(y, proba)[0])
    ci = None
    if resamples:
        weights = bootstrap_weights(y, resamples, seed) if weights is None else weights
        values = multiclass_auc(y, proba, weights)
        alpha = (1 - CONFIDENCE) / 2
        ci = [round(float(np.quantile(values, alpha)), 4), round(float(np.quantile(values, 1 - alpha)), 4)]
    auroc = round(point, 4)
    return {"auroc": auroc, "ci": ci, "flag": flag(auroc), "direction": direction(auroc)}
