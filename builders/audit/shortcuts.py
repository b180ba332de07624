"""Shortcut baselines: how well length alone, GC content alone and 3-mer composition separate the classes."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa

from gbhub.builders.audit.common import AuditError, AuditInput, encoded_chunks, lengths

PASS_MAX, WARN_MAX = 0.6, 0.7  # AUROC <= 0.6 pass, <= 0.7 warn, above: fail
MAX_TRAIN_ROWS = 20_000
# 1-D features are one-hot in quantile bins of train. GC gets coarse bins: a GC fraction is a multiple of
# 1/length, and narrow bins would let the model read the length off that lattice.
QUANTILE_BINS = {"length": 32, "gc": 10}
FEATURES = {
    "length": f"sequence length (bp), one-hot in up to {QUANTILE_BINS['length']} quantile bins of train",
    "gc": f"GC fraction of the A/C/G/T bases, one-hot in up to {QUANTILE_BINS['gc']} quantile bins of train",
    "kmer3": "frequencies of the 64 3-mers (k-mers with N skipped), standardized",
}


# the 64 columns of the base-5 3-mer counts whose three bases are all A/C/G/T, in 2-bit order (AAA, AAC, ...)
_KMER3_COLUMNS = np.array([a * 25 + b * 5 + c for a in range(4) for b in range(4) for c in range(4)])


def sequence_features(sequences: pa.Array) -> dict[str, np.ndarray]:
    """The features of every sequence, vectorized over chunks of bases.

    Returns:
        `{"length": (n,), "gc": (n,), "kmer3": (n, 64)}` float64; GC is 0.5 for a sequence with no A/C/G/T.
    """
    n = len(sequences)
    bases = np.zeros((n, 5))
    kmer3 = np.zeros((n, 64))
    for chunk in encoded_chunks(sequences, pad=3):
        c, rows, m = chunk.codes, chunk.row, chunk.hi - chunk.lo
        bases[chunk.lo : chunk.hi] = np.bincount(rows * 5 + c, minlength=(m + 1) * 5).reshape(m + 1, 5)[:m]
        # every window as a base-5 number (code 4 = not A/C/G/T); windows across sequences go to row m
        code = c[:-2].astype(np.int64) * 25 + c[1:-1] * 5 + c[2:]
        row = np.where(chunk.windows_within(3), rows[:-2], m)
        counts = np.bincount(row * 125 + code, minlength=(m + 1) * 125).reshape(m + 1, 125)
        kmer3[chunk.lo : chunk.hi] = counts[:m, _KMER3_COLUMNS]
    acgt = bases[:, :4].sum(axis=1)
    totals = kmer3.sum(axis=1, keepdims=True)
    return {
        "length": lengths(sequences).astype(np.float64),
        "gc": np.divide(bases[:, 1] + bases[:, 2], acgt, out=np.full(n, 0.5), where=acgt > 0),
        "kmer3": np.divide(kmer3, totals, out=np.zeros_like(kmer3), where=totals > 0),
    }


def flag(auroc: float | None) -> str:
    """`pass` (AUROC <= 0.6), `warn` (<= 0.7) or `fail`; `n/a` without a score."""
    if auroc is None:
        return "n/a"
    return "pass" if auroc <= PASS_MAX else "warn" if auroc <= WARN_MAX else "fail"


def fit_and_score(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                  n_classes: int) -> dict:
    """Fit a standardized logistic regression on train and score it on test.

    Returns:
        `{"auroc": ..., "accuracy": ..., "flag": ...}`; AUROC is macro one-vs-rest for more than two
        classes, None when a class is absent from either split.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_train)) < n_classes or len(np.unique(y_test)) < n_classes:
        return {"auroc": None, "accuracy": None, "flag": "n/a"}
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on degenerate features (constant length)
        model.fit(x_train, y_train)
        proba = model.predict_proba(x_test)
    if n_classes == 2:
        auroc = roc_auc_score(y_test, proba[:, 1])
    else:
        auroc = roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=np.arange(n_classes))
    auroc = round(float(auroc), 4)
    accuracy = round(float(accuracy_score(y_test, proba.argmax(axis=1))), 4)
    return {"auroc": auroc, "accuracy": accuracy, "flag": flag(auroc)}


def quantile_bins(values: np.ndarray, train: np.ndarray, bins: int) -> np.ndarray:
    """`(n, b)` one-hot bin of each value, the bin edges being the distinct `1/bins` quantiles of the train values.

    A linear model over these indicators is a step function of the feature, so a band of lengths (or a
    length that only one class takes) is learnt as well as a monotone trend.
    """
    edges = np.unique(np.quantile(values[train], np.linspace(0, 1, bins + 1)[1:-1]))
    index = np.searchsorted(edges, values, side="right")
    return np.eye(len(edges) + 1)[index]


def audit_shortcuts(inp: AuditInput, *, max_train_rows: int = MAX_TRAIN_ROWS, seed: int = 0,
                    features: dict[str, np.ndarray] | None = None) -> dict:
    """Shortcut baselines of a config (the `shortcuts` section of the audit report).

    Args:
        inp: the config's rows with sequences.
        max_train_rows: train rows the models are fitted on (a seeded random subset when there are more).
        seed: seed of that subset.
        features: precomputed `sequence_features(inp.sequences)`.
    """
    if inp.sequences is None:
        raise AuditError(f"{inp.config}: the shortcut audit needs sequences")
    features = features or sequence_features(inp.sequences)
    labels = inp.labels
    train = np.flatnonzero(inp.split_mask("train"))
    test = np.flatnonzero(inp.split_mask("test"))
    sampled = len(train) > max_train_rows
    if sampled:
        train = np.sort(np.random.default_rng(seed).choice(train, size=max_train_rows, replace=False))
    results = {}
    for name, values in features.items():
        x = quantile_bins(values, train, QUANTILE_BINS[name]) if values.ndim == 1 else values
        results[name] = fit_and_score(x[train], labels[train], x[test], labels[test], len(inp.classes))
    majority = np.bincount(labels[test], minlength=len(inp.classes)).max() / max(len(test), 1)
    return {
        "model": "logistic regression (scikit-learn, L2, C=1) on standardized features",
        "features_note": (f"length and GC are cut into up to {QUANTILE_BINS['length']} and {QUANTILE_BINS['gc']} "
                          "quantile bins of train (one-hot), so the model can learn a step function of the one feature"),
        "fitted_on": f"train ({len(train):,} rows{f' sampled with seed {seed}' if sampled else ''})",
        "scored_on": f"test ({len(test):,} rows)",
        "metric": "AUROC" if len(inp.classes) == 2 else "AUROC, macro one-vs-rest",
        "thresholds": {"pass": f"<= {PASS_MAX}", "warn": f"<= {WARN_MAX}", "fail": f"> {WARN_MAX}"},
        "features": {name: {"description": FEATURES[name], **res} for name, res in results.items()},
        "majority_accuracy": round(float(majority), 4),
    }
