"""Shortcut probes: how well one trivial property (length, composition, position, contig...) separates the classes."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Callable

import numpy as np
import pandas as pd

from gbhub.builders.audit.common import AuditError, AuditInput, lengths
from gbhub.builders.audit.features import (
    ABSENT,
    BASES,
    DINUCLEOTIDES,
    SPECTRUM_K,
    SequenceFeatures,
    position_codes,
    sequence_features,
)
from gbhub.builders.audit.params import ProbeParams  # noqa: F401 (defined there, light, for the CLI)
from gbhub.builders.audit.scoring import MIN_ROWS_PER_CLASS, PASS_DISTANCE, WARN_DISTANCE, bootstrap_weights, score

LOOKUP_MODEL = ("class mix of the train rows with the same value, shrunk toward the overall train mix for rare "
                "values (scikit-learn TargetEncoder, smooth='auto'); a value unseen in train scores the train mix")
BINNED_MODEL = "class mix of the train rows in the same quantile bin of train (TargetEncoder on the bin)"
# A share is a multiple of 1/length: bins narrow enough to see a composition shift would let a probe read the
# length off that lattice (on 100 vs 150 bp sequences of random DNA, 10 bins of a dinucleotide share score
# AUROC 0.8), and a curve with a square term reads it off the spread (short sequences have more extreme
# shares: 0.62). A line cannot: a logistic regression on the share alone (a shift either way; the AUROC of
# the share itself, fitted on train, as gb-qc scores it in-sample).
SMOOTH_MODEL = "logistic regression on the share alone (one-vs-rest with more than two classes)"
LOGISTIC_MODEL = "logistic regression (scikit-learn, L2, C=1) on standardized features"
POSITION_MODEL = ("naive Bayes on the bases of a window of positions (per-position base frequencies of each class in "
                  "train, add-one smoothing; positions past a sequence's end are left out, so length does not leak in)")

class NotApplicable(Exception):
    """A probe cannot run on this dataset; the message says why (it is reported, never scored as 0.5)."""


# --------------------------------------------------------------------------------------------------- models


def _sample(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def lookup_scores(train_values: np.ndarray, y_train: np.ndarray, test_values: np.ndarray, n_classes: int) -> np.ndarray:
    """`(n_test, c)` (or `(n_test,)` for two classes) scores: the train class mix of each test row's value."""
    from sklearn.preprocessing import TargetEncoder

    codes, uniques = pd.factorize(np.concatenate([train_values, test_values]), sort=True)
    train_codes = codes[: len(train_values)].reshape(-1, 1)
    test_codes = codes[len(train_values) :].reshape(-1, 1)
    encoder = TargetEncoder(categories=[np.arange(len(uniques))], target_type="binary" if n_classes == 2 else "multiclass",
                            smooth="auto", random_state=0)
    encoder.fit(train_codes, y_train)
    out = encoder.transform(test_codes)
    return out[:, 0] if n_classes == 2 else out


def quantile_codes(values: np.ndarray, train: np.ndarray, bins: int) -> np.ndarray:
    """`(n,)` bin of each value, the bin edges being the distinct `1/bins` quantiles of the train values."""
    edges = np.unique(np.quantile(values[train], np.linspace(0, 1, bins + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right")


def logistic_scores(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # newton-cholesky converges in ~5 steps on the collinear k-mer shares of two classes (lbfgs needs ~100); with
    # more classes its Hessian grows with the square of the classes, and lbfgs at tol 1e-3 is ~5x faster
    solver = dict(solver="newton-cholesky") if n_classes == 2 else dict(solver="lbfgs", tol=1e-3)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, **solver))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on near-constant features
        model.fit(x_train, y_train)
        proba = model.predict_proba(x_test)
    return proba[:, 1] if n_classes == 2 else proba


def naive_bayes_window_scores(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int,
                              starts: np.ndarray, window: int, *, chunk: int = 4096) -> np.ndarray:
    """Naive Bayes over the positions of each window, all windows at once.

    The per-position log-likelihoods are summed along the positions with one cumulative sum, so every window
    costs one subtraction (fitting a scikit-learn `CategoricalNB` per window gives the same scores ~100x
    slower; the unit tests compare the two).

    Args:
        x_train, x_test: `(n, positions)` codes (`features.position_codes`; `ABSENT` positions are left out).
        y_train: `(n_train,)` labels.
        starts: `(w,)` first position of each window.
        window: window width.

    Returns:
        `(n_test, w)` log-odds of class 1 for two classes, else `(n_test, w, c)` class probabilities.
    """
    positions = x_train.shape[1]
    counts = np.zeros((n_classes, positions, 5))
    cell = np.arange(positions) * (ABSENT + 1)
    for c in range(n_classes):
        rows = x_train[y_train == c]
        per_cell = np.bincount((rows + cell).ravel(), minlength=positions * (ABSENT + 1))
        counts[c] = per_cell.reshape(positions, ABSENT + 1)[:, :5]
    loglik = np.log((counts + 1.0) / (counts.sum(axis=2, keepdims=True) + 5.0))
    loglik = np.concatenate([loglik, np.zeros((n_classes, positions, ABSENT + 1 - 5))], axis=2)  # ABSENT: 0
    loglik = loglik.astype(np.float32)  # half the memory traffic of the gathers below
    prior = np.log(np.bincount(y_train, minlength=n_classes) / len(y_train))
    out = np.zeros((len(x_test), len(starts)) if n_classes == 2 else (len(x_test), len(starts), n_classes))
    flat = loglik.reshape(n_classes, -1)  # (class, position * 6 + code)
    for lo in range(0, len(x_test), chunk):
        x = x_test[lo : lo + chunk].astype(np.int32) + cell.astype(np.int32)
        per_class = []
        for c in range(n_classes):
            cum = np.zeros((len(x), positions + 1), dtype=np.float32)
            np.cumsum(np.take(flat[c], x), axis=1, out=cum[:, 1:])
            per_class.append(cum[:, starts + window] - cum[:, starts] + prior[c])
        if n_classes == 2:
            out[lo : lo + chunk] = per_class[1] - per_class[0]
        else:
            joint = np.stack(per_class, axis=2)
            joint -= joint.max(axis=2, keepdims=True)
            proba = np.exp(joint)
            out[lo : lo + chunk] = proba / proba.sum(axis=2, keepdims=True)
    return out


# --------------------------------------------------------------------------------------------------- probes


@dataclass
class ProbeContext:
    """What the probes of one config share: rows, labels, features (computed once, on demand)."""

    inp: AuditInput
    params: ProbeParams
    train: np.ndarray
    test: np.ndarray
    _features: SequenceFeatures | None = None
    _weights: dict = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        return self.inp.labels

    @property
    def features(self) -> SequenceFeatures:
        if self.inp.sequences is None:
            raise NotApplicable("needs the sequences (this audit has intervals only: no reference was given)")
        if self._features is None:
            self._features = sequence_features(self.inp.sequences)
        return self._features

    def lengths(self) -> np.ndarray:
        if self.inp.sequences is not None:
            return lengths(self.inp.sequences)
        if self.inp.has_coordinates():
            return (self.inp.frame["end"] - self.inp.frame["start"]).to_numpy(np.int64)
        raise NotApplicable("needs the sequences or real coordinates to know the lengths")

    def genomic(self) -> np.ndarray:
        """`(n,)` bool rows with real coordinates, after checking the genomic probes apply at all."""
        status, reason, rows = self.inp.coordinates()
        if status != "present":
            raise NotApplicable(f"needs genomic coordinates: {reason}")
        spaces = {(self.inp.assemblies[i], self.inp.kinds[i]) for i in range(len(self.inp.classes))}
        if len(spaces) > 1:
            raise NotApplicable("the classes come from different references "
                                f"({', '.join(sorted('/'.join(s) for s in spaces))}): where a row lies tells its "
                                "reference, which is the task itself")
        if next(iter(spaces))[1] != "genome":
            raise NotApplicable("transcript coordinates name no genomic position")
        return rows


def _constant(values: np.ndarray, what: str) -> None:
    if len(np.unique(values)) < 2:
        raise NotApplicable(f"every train and test row has the same {what}")


def _binned(values: np.ndarray, ctx: ProbeContext, bins: int, what: str) -> tuple[np.ndarray, str]:
    rows = np.concatenate([ctx.train, ctx.test])
    _constant(values[rows], what)
    return quantile_codes(values, ctx.train, bins), BINNED_MODEL


def _smooth(values: np.ndarray, ctx: ProbeContext, what: str) -> tuple[np.ndarray, str]:
    _constant(values[np.concatenate([ctx.train, ctx.test])], what)
    return values.reshape(-1, 1), SMOOTH_MODEL


def _length(ctx):
    return _binned(ctx.lengths().astype(np.float64), ctx, ctx.params.length_bins, "length")


def _exact_length(ctx):
    values = ctx.lengths()
    _constant(values[np.concatenate([ctx.train, ctx.test])], "length")
    return values, LOOKUP_MODEL


def _gc(ctx):
    return _smooth(ctx.features.gc(), ctx, "GC share")


def _base(i):
    def probe(ctx):
        return _smooth(ctx.features.base_fractions()[:, i], ctx, f"{BASES[i]} share")
    return probe


def _dinucleotide(i):
    def probe(ctx):
        values = ctx.features.dinucleotide_fractions()[:, i]
        return _smooth(values, ctx, f"{DINUCLEOTIDES[i]} share")
    return probe


def _n_content(ctx):
    f = ctx.features
    rows = np.concatenate([ctx.train, ctx.test])
    if not f.n[rows].any():
        raise NotApplicable("no train or test sequence holds an N")
    share = f.n / np.maximum(f.length, 1)
    return np.column_stack([f.n > 0, share, np.log1p(f.n)]).astype(np.float64), LOGISTIC_MODEL


def _letters(ctx):
    f = ctx.features
    values = np.where(f.letters == "", "ACGT only", f.letters)
    rows = np.concatenate([ctx.train, ctx.test])
    if len(np.unique(values[rows])) < 2:
        raise NotApplicable(f"every train and test sequence holds the same letters ({values[rows][0]})")
    return values, LOOKUP_MODEL


class _Rows:
    """Features computed for the rows asked for only (`values[rows]`): the k-mer shares of every row of a large
    set would be another copy of the spectrum."""

    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, rows):
        return self.fn(rows)


def _spectrum(ctx):
    return _Rows(ctx.features.spectrum_fractions), LOGISTIC_MODEL


def _strand(ctx):
    rows = ctx.genomic()
    strand = ctx.inp.frame["strand"].fillna("").replace("", "+").to_numpy(object)
    _constant(strand[np.concatenate([ctx.train, ctx.test])], "strand")
    return np.where(rows, strand, "?"), LOOKUP_MODEL


def _contig(ctx):
    rows = ctx.genomic()
    keys = ctx.inp.contig_keys()
    _constant(keys[np.concatenate([ctx.train, ctx.test])], "contig")
    return np.where(rows, keys, -1), LOOKUP_MODEL


def _genomic_bin(ctx):
    rows = ctx.genomic()
    frame = ctx.inp.frame
    middle = (frame["start"].to_numpy(np.int64) + frame["end"].to_numpy(np.int64)) // 2
    values = ctx.inp.contig_keys() * (1 << 32) + middle // ctx.params.bin_size
    return np.where(rows, values, -1), LOOKUP_MODEL.replace("same value", f"same {ctx.params.bin_size // 1000:,} kb bin")


PROBES: dict[str, tuple[str, str, Callable]] = {
    "length": ("length", "sequence length, in up to {length_bins} quantile bins of train", _length),
    "exact_length": ("length", "exact sequence length (a lookup of the class mix of each length)", _exact_length),
    "gc": ("composition", "GC share of the A/C/G/T bases", _gc),
    **{f"base_{b}": ("bases", f"share of {b} among the A/C/G/T bases", _base(i)) for i, b in enumerate(BASES)},
    **{f"dinucleotide_{d}": ("dinucleotides", f"share of {d} among the dinucleotides", _dinucleotide(i))
       for i, d in enumerate(DINUCLEOTIDES)},
    "kmer_spectrum": ("composition", f"the {4 ** SPECTRUM_K} {SPECTRUM_K}-mer frequencies", _spectrum),
    "n_content": ("letters", "N: whether a sequence holds one, their share and log count", _n_content),
    "letters": ("letters", "which letters other than A/C/G/T a sequence holds (its vocabulary)", _letters),
    "position_start": ("positions", "the bases of a {window} bp window at a fixed offset from the first base", None),
    "position_end": ("positions", "the bases of a {window} bp window at a fixed offset from the last base", None),
    "strand": ("genome", "the strand of the interval", _strand),
    "contig": ("genome", "the contig (chromosome) of the interval", _contig),
    "genomic_bin": ("genome", "the {bin_kb} kb bin of the genome holding the interval's midpoint", _genomic_bin),
}
SEQUENCE_PROBES = tuple(name for name, (group, _, _) in PROBES.items() if group not in ("length", "genome"))


def _fit(kind_values, ctx: ProbeContext, train: np.ndarray, test: np.ndarray, n_classes: int, y: np.ndarray):
    values, model = kind_values
    if model == SMOOTH_MODEL:
        # A logistic regression on one feature ranks the rows by that feature, up or down: its gradient at 0 is
        # n * cov(x, y), so the fitted slope has the sign of the train covariance. The test AUROC is the same
        # as fitting it (and ~100x faster, which matters over 21 composition probes); with more classes, one
        # such regression per class against the rest (one-vs-rest, as the AUROC is taken).
        x = values[:, 0]

        def slope(target):
            return np.sign(np.cov(x[train], target)[0, 1]) if len(train) > 1 else 0.0

        if n_classes == 2:
            return slope(y[train]) * x[test]
        return np.column_stack([slope(y[train] == c) * x[test] for c in range(n_classes)])
    if model in (LOGISTIC_MODEL, SMOOTH_MODEL):
        fit_rows = _sample(train, ctx.params.max_train_rows, ctx.params.seed)
        return logistic_scores(values[fit_rows], y[fit_rows], values[test], n_classes)
    return lookup_scores(values[train], y[train], values[test], n_classes)


def _too_few(labels: np.ndarray, train: np.ndarray, test: np.ndarray, classes) -> str | None:
    for split, rows in (("train", train), ("test", test)):
        counts = np.bincount(labels[rows], minlength=len(classes))
        for cls, n in zip(classes, counts):
            if n < MIN_ROWS_PER_CLASS:
                return f"class {cls!r} has {n} {split} row{'s' if n != 1 else ''} (< {MIN_ROWS_PER_CLASS})"
    return None


def _scored(y: np.ndarray, scores: np.ndarray, ctx: ProbeContext, rows: np.ndarray, *, interval: bool = True) -> dict:
    """Score test rows `rows`; the bootstrap resamples of a row set are drawn once and shared by every probe.
    Pairs of classes get no interval (`interval=False`): their point estimate and flag, at a quarter of the cost."""
    if not interval:
        return score(y, scores, resamples=0)
    key = (len(rows), hash(rows.tobytes()))
    if key not in ctx._weights:
        ctx._weights[key] = bootstrap_weights(y, ctx.params.bootstrap, ctx.params.seed) if ctx.params.bootstrap else None
    return score(y, scores, resamples=ctx.params.bootstrap, weights=ctx._weights[key])


def _remap(labels: np.ndarray, keep: tuple[int, ...]) -> np.ndarray:
    out = np.full(labels.max() + 1 if labels.size else 1, -1)
    out[list(keep)] = np.arange(len(keep))
    return out[labels]


def _run_probe(name: str, ctx: ProbeContext) -> dict:
    group, description, fn = PROBES[name]
    description = description.format(length_bins=ctx.params.length_bins, window=ctx.params.window,
                                     bin_kb=f"{ctx.params.bin_size // 1000:,}")
    entry = {"group": group, "description": description}
    try:
        if fn is None:
            return {**entry, **_position_probe(ctx, from_end=name == "position_end")}
        values = fn(ctx)
    except NotApplicable as reason:
        return {**entry, "applicable": False, "reason": str(reason), "flag": "n/a"}
    entry.update(applicable=True, model=values[1])
    entry.update(summarize(name, ctx))
    classes, labels = ctx.inp.classes, ctx.labels
    few = _too_few(labels, ctx.train, ctx.test, classes)
    if few:
        return {**entry, "auroc": None, "ci": None, "flag": "too_few_rows", "reason": few}
    scores = _fit(values, ctx, ctx.train, ctx.test, len(classes), labels)
    entry.update(_scored(labels[ctx.test], scores, ctx, ctx.test))
    if len(classes) > 2:
        entry["pairs"] = {}
        for a, b in combinations(range(len(classes)), 2):
            train = ctx.train[np.isin(labels[ctx.train], (a, b))]
            test = ctx.test[np.isin(labels[ctx.test], (a, b))]
            y = _remap(labels, (a, b))
            pair_scores = _fit(values, ctx, train, test, 2, y)
            entry["pairs"][f"{classes[a]} vs {classes[b]}"] = _scored(y[test], pair_scores, ctx, test, interval=False)
    return entry


HISTOGRAM_BINS = 30
TOP_CONTIGS = 25


def summarize(name: str, ctx: ProbeContext) -> dict:
    """What the report's plots show of a probe's feature, over the train and test rows: per-class histograms of
    length and GC share, per-class mean shares of bases and dinucleotides, per-class counts of letters and N, and
    the class counts on the contigs holding the most rows."""
    rows = np.concatenate([ctx.train, ctx.test])
    labels, classes = ctx.labels[rows], ctx.inp.classes
    if name in ("length", "gc"):
        values = (ctx.lengths() if name == "length" else ctx.features.gc())[rows].astype(np.float64)
        lo, hi = float(values.min()), float(values.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1, HISTOGRAM_BINS + 1)
        return {"distribution": {"edges": [round(float(e), 4) for e in edges],
                                 "counts": {c: np.histogram(values[labels == i], bins=edges)[0].tolist()
                                            for i, c in enumerate(classes)}}}
    if name.startswith("base_") or name.startswith("dinucleotide_"):
        f = ctx.features
        matrix = f.base_fractions() if name.startswith("base_") else f.dinucleotide_fractions()
        column = (BASES if name.startswith("base_") else DINUCLEOTIDES).index(name.split("_", 1)[1])
        return {"class_means": {c: round(float(matrix[rows][labels == i, column].mean()), 4)
                                for i, c in enumerate(classes) if (labels == i).any()}}
    if name == "letters":
        letters = np.where(ctx.features.letters == "", "ACGT only", ctx.features.letters)[rows]
        return {"by_class": {c: {str(k): int(v) for k, v in sorted(pd.Series(letters[labels == i]).value_counts().items())}
                             for i, c in enumerate(classes)}}
    if name == "n_content":
        n = ctx.features.n[rows]
        return {"by_class": {c: {"rows": int((labels == i).sum()), "rows_with_n": int((n[labels == i] > 0).sum()),
                                 "n_bases": int(n[labels == i].sum())} for i, c in enumerate(classes)}}
    if name == "contig":
        names = ctx.inp.canonical_regions().to_numpy(object)[rows]
        table = pd.crosstab(pd.Series(names, name="contig"), pd.Series(labels, name="label"))
        top = table.sum(axis=1).sort_values(ascending=False, kind="stable").index[:TOP_CONTIGS]
        return {"by_contig": {str(contig): {classes[int(i)]: int(table.at[contig, i]) for i in table.columns}
                              for contig in top}}
    return {}


def position_frequencies(codes: np.ndarray, labels: np.ndarray, classes) -> dict:
    """`{class: [[share of A, C, G, T] per position]}` among the sequences reaching each position."""
    out = {}
    for i, cls in enumerate(classes):
        rows = codes[labels == i]
        counts = np.stack([(rows == b).sum(axis=0) for b in range(4)], axis=1).astype(np.float64)
        reached = (rows != ABSENT).sum(axis=0)[:, None]
        shares = np.divide(counts, reached, out=np.zeros_like(counts), where=reached > 0)
        out[cls] = np.round(shares, 3).tolist()
    return out


CURVE_ROWS = 20_000


def _window_auc(y: np.ndarray, scores: np.ndarray, seed: int) -> np.ndarray:
    """AUROC of every window, on at most `CURVE_ROWS` rows (a seeded subset: it picks a window and draws the
    curve; the picked window's AUROC is then taken on every test row)."""
    from gbhub.builders.audit.scoring import multiclass_auc

    if len(y) > CURVE_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), CURVE_ROWS, replace=False))
        y, scores = y[keep], scores[keep]
    return np.array([multiclass_auc(y, scores[:, w])[0] for w in range(scores.shape[1])])


def _position_probe(ctx: ProbeContext, *, from_end: bool) -> dict:
    """Scan windows of positions; pick one on a held-out fifth of train, score it on test."""
    if ctx.inp.sequences is None:
        raise NotApplicable("needs the sequences (this audit has intervals only: no reference was given)")
    p = ctx.params
    length = lengths(ctx.inp.sequences)
    rows = np.concatenate([ctx.train, ctx.test])
    if from_end and len(np.unique(length[rows])) == 1:
        raise NotApplicable(f"every sequence is {int(length[rows][0])} bp: the same windows as from the first base")
    reach = int(min(p.max_positions, np.median(length[ctx.train]) if len(ctx.train) else 0))
    if reach < p.window:
        raise NotApplicable(f"half the train sequences are shorter than the {p.window} bp window")
    starts = np.arange(0, reach - p.window + 1, p.stride)
    classes, labels = ctx.inp.classes, ctx.labels
    entry = {"applicable": True, "model": POSITION_MODEL, "window": p.window, "stride": p.stride,
             "positions": reach, "from": "end" if from_end else "start"}
    few = _too_few(labels, ctx.train, ctx.test, classes)
    if few:
        return {**entry, "auroc": None, "ci": None, "flag": "too_few_rows", "reason": few}
    codes = position_codes(ctx.inp.sequences, reach, from_end=from_end)

    def scan(train, test, y, n_classes):
        return naive_bayes_window_scores(codes[train], y[train], codes[test], n_classes, starts, p.window)

    def pick_and_score(train, test, y, n_classes, interval=True):
        # choose the window on a held-out fifth of train (stratified, seeded), then refit on all of train
        rng = np.random.default_rng(p.seed)
        inner = np.zeros(len(train), dtype=bool)
        for c in np.unique(y[train]):
            idx = np.flatnonzero(y[train] == c)
            inner[idx[rng.permutation(len(idx))[: max(1, len(idx) // 5)]]] = True
        inner_auc = _window_auc(y[train[inner]], scan(train[~inner], train[inner], y, n_classes), p.seed)
        best = int(np.argmax(np.abs(np.nan_to_num(inner_auc, nan=0.5) - 0.5)))
        test_scores = scan(train, test, y, n_classes)
        curve = _window_auc(y[test], test_scores, p.seed)
        result = _scored(y[test], test_scores[:, best], ctx, test, interval=interval)
        result["selected_window"] = [int(starts[best]), int(starts[best] + p.window)]
        result["selected_on"] = "a stratified fifth of train held out from the fit"
        return result, curve

    result, curve = pick_and_score(ctx.train, ctx.test, labels, len(classes))
    entry.update(result)
    entry["curve"] = {"starts": starts.tolist(), "auroc": [round(float(a), 4) for a in curve],
                      "rows": int(min(len(ctx.test), CURVE_ROWS))}
    rows = np.concatenate([ctx.train, ctx.test])
    entry["frequencies"] = position_frequencies(codes[rows], labels[rows], classes)
    if len(classes) > 2:
        entry["pairs"] = {}
        for a, b in combinations(range(len(classes)), 2):
            train = ctx.train[np.isin(labels[ctx.train], (a, b))]
            test = ctx.test[np.isin(labels[ctx.test], (a, b))]
            pair, _ = pick_and_score(train, test, _remap(labels, (a, b)), 2, interval=False)
            entry["pairs"][f"{classes[a]} vs {classes[b]}"] = pair
    return entry


def audit_shortcuts(inp: AuditInput, params: ProbeParams = ProbeParams(), *, probes: tuple[str, ...] | None = None,
                    features: SequenceFeatures | None = None) -> dict:
    """Every shortcut probe of a config (the `shortcuts` section of the audit report).

    Each probe is fitted on train and scored on test (AUROC, macro one-vs-rest for more than two classes, with a
    stratified bootstrap interval); with more than two classes every pair of classes is probed as well. A probe
    that needs what the dataset lacks (sequences, coordinates, a second strand) is `applicable: false` with the
    reason.

    Args:
        inp: the config's rows (sequences optional: the probes that need them are then not applicable).
        params: probe parameters.
        probes: which probes (default all of `PROBES`).
        features: precomputed `features.sequence_features(inp.sequences)`.
    """
    names = tuple(PROBES) if probes is None else probes
    unknown = set(names) - set(PROBES)
    if unknown:
        raise AuditError(f"unknown shortcut probe(s) {sorted(unknown)}; choose among {', '.join(PROBES)}")
    train = np.flatnonzero(inp.split_mask("train"))
    test = np.flatnonzero(inp.split_mask("test"))
    ctx = ProbeContext(inp, params, train, test, features)
    results = {name: _run_probe(name, ctx) for name in names}
    labels = inp.labels
    majority = np.bincount(labels[test], minlength=len(inp.classes)).max() / max(len(test), 1)
    flagged = {f: sorted(n for n, r in results.items() if r["flag"] == f) for f in ("fail", "warn")}
    return {
        "fitted_on": f"train ({len(train):,} rows; logistic regressions on at most {params.max_train_rows:,}, "
                     f"sampled with seed {params.seed})",
        "scored_on": f"test ({len(test):,} rows)",
        "metric": "AUROC" if len(inp.classes) == 2 else "AUROC, macro one-vs-rest",
        "interval": (f"{params.bootstrap} stratified bootstrap resamples of test, 95% percentile interval"
                     + (" (pairs of classes: point estimates)" if len(inp.classes) > 2 else "")),
        "thresholds": {"pass": f"|AUROC - 0.5| <= {PASS_DISTANCE}", "warn": f"<= {WARN_DISTANCE}",
                       "fail": f"> {WARN_DISTANCE}", "min_rows_per_class": MIN_ROWS_PER_CLASS},
        "params": asdict(params),
        "majority_accuracy": round(float(majority), 4),
        "probes": results,
        "flagged": flagged,
        "below_chance": sorted(n for n, r in results.items() if r.get("direction") == "below"
                               and r["flag"] in ("warn", "fail")),
    }
