"""Regression on `synthetic_expression`: Transformer DeepLncLoc, the CNN's regression head and a ridge floor, beside the
known ceiling R².

Data: the `synthetic_expression` generator at `--train-genes` / `--test-genes` (the built-in config has 1,200 / 300),
built through the same engine as `gbhub build synthetic_expression` (TSS-centred 1,000 bp windows, validation
stratified on target deciles). Each model trains on the same folder with the same seeds through `gbhub train`
(side features: all three; the target depends on `half_life` and `tf_sites`, not on `gc_noise`). The ridge floor is
scikit-learn's `RidgeCV` on the 64 overlapping 3-mer counts of each sequence plus the side features (and on the
3-mer counts alone), alpha chosen on the validation split; it is deterministic, so its seeds agree. Prints a
markdown table and writes `results.json` into `--out`. Not a test: minutes on two busy CPU cores.

    python scripts/bench_regression.py --out /tmp/bench-regression --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from pathlib import Path

import numpy as np

CONFIG = "synthetic_expression"


def build(out: Path, cache: Path, train_genes: int, test_genes: int) -> dict:
    """The Hub-layout folder of a `synthetic_expression` of this size; returns its known ceiling R²."""
    from gbhub.builders import synthetic_expression as gen
    from gbhub.builders.hub_layout import DEFAULT_SEED
    from gbhub.builders.references import builtin_dir
    from gbhub.builders.registry import get_benchmark
    from gbhub.builders.tss import build_regression
    from gbhub.hub_cards.dataset_card import write_dataset_card

    spec = dataclasses.replace(get_benchmark(CONFIG), generate=functools.partial(
        gen.generate, counts={"train": train_genes, "test": test_genes}))
    build_regression(spec, out, cache_dir=cache, seed=DEFAULT_SEED, progress=False)
    write_dataset_card(out)
    return json.loads((builtin_dir(CONFIG, cache) / "synthetic_expression" / "ceiling.json").read_text())


def train(recipe: str, data: Path, run: Path, seeds: str, *extra: str) -> dict:
    """`gbhub train RECIPE`; its test metrics over seeds, epochs and throughput."""
    from gbhub.cli import main

    started = time.perf_counter()
    status = main(["train", recipe, "--dataset", str(data), "--config", CONFIG, "--out", str(run), "--seeds", seeds,
                   "--no-progress", "--cpu", *extra])
    if status != 0:
        raise SystemExit(f"gbhub train {recipe} failed ({status})")
    record = json.loads((run / "metrics.json").read_text())
    per_seed = [json.loads((run / (f"seed-{s}" if len(record["seeds"]) > 1 else ".") / "metrics.json").read_text())
                for s in record["seeds"]]
    return {
        "test": record["summary"]["test"],
        "epochs_run": [r["epochs_run"] for r in per_seed],
        "train_samples_per_second": float(np.mean([r["throughput"]["train_samples_per_second"] for r in per_seed])),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "command": record["command"],
    }


def kmer_counts(sequences: list[str]) -> np.ndarray:
    """`(n, 64)` counts of each sequence's overlapping 3-mers (3-mers holding N left out)."""
    from gbhub.training.models.deeplncloc import NUM_KMERS, UNKNOWN_KMER, kmer_ids

    ids = kmer_ids(sequences, max(map(len, sequences))).astype(np.int64)
    counts = np.zeros((len(ids), NUM_KMERS + 1))
    np.add.at(counts, (np.repeat(np.arange(len(ids)), ids.shape[1]), ids.ravel()), 1)
    return counts[:, :UNKNOWN_KMER]


def ridge(data: Path, seeds: list[int], side: bool) -> dict:
    """RidgeCV on 3-mer counts (+ side features), alpha selected on validation; R² etc. on test."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from gbhub.builders.hub_layout import side_feature_columns
    from gbhub.training.data import load_splits
    from gbhub.training.metrics_util import score, summarize_runs

    dsd = load_splits(str(data), CONFIG)
    names = side_feature_columns(dsd["train"].features) if side else []
    xs, ys = {}, {}
    for split in ("train", "validation", "test"):
        frame = dsd[split].to_pandas()
        x = kmer_counts(frame["sequence"].tolist())
        xs[split] = np.hstack([x, frame[names].to_numpy(np.float64)]) if names else x
        ys[split] = frame["label"].to_numpy(np.float64)
    started = time.perf_counter()
    best = None
    for alpha in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0):
        model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(xs["train"], ys["train"])
        mse = float(np.mean((model.predict(xs["validation"]) - ys["validation"]) ** 2))
        if best is None or mse < best[0]:
            best = (mse, alpha, model)
    seconds = time.perf_counter() - started
    metrics, _ = score("regression", best[2].predict(xs["test"])[:, None], ys["test"], 1)
    return {"test": summarize_runs([{"test": metrics}] * len(seeds))["test"], "alpha": best[1],
            "train_samples_per_second": len(ys["train"]) * 6 / seconds, "wall_seconds": round(seconds, 1),
            "features": f"64 3-mer counts{' + ' + ', '.join(names) if names else ''}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--train-genes", type=int, default=2_400)
    parser.add_argument("--test-genes", type=int, default=600)
    parser.add_argument("--deeplncloc-epochs", type=int, default=15)
    parser.add_argument("--cnn-epochs", type=int, default=8)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "data"
    started = time.perf_counter()
    ceiling = build(data, args.out / "cache", args.train_genes, args.test_genes)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {
        "ridge (3-mer counts + side features)": ridge(data, seeds, side=True),
        "ridge (3-mer counts only)": ridge(data, seeds, side=False),
        "Transformer DeepLncLoc": train("deeplncloc", data, args.out / "deeplncloc", args.seeds,
                                        "--epochs", str(args.deeplncloc_epochs)),
        "CNN, regression head": train("cnn", data, args.out / "cnn", args.seeds, "--epochs", str(args.cnn_epochs)),
    }
    total = round(time.perf_counter() - started, 1)
    (args.out / "results.json").write_text(json.dumps({"ceiling": ceiling, "results": results, "seconds": total,
                                                       "seeds": seeds}, indent=2) + "\n")
    c = ceiling["ceiling"]["test"]
    print(f"\nsynthetic_expression, {args.train_genes:,} train / {args.test_genes:,} test genes of 1,000 bp; "
          f"test split; seeds {args.seeds}; {total:.0f} s in all\n")
    print("| model | R² | Pearson r | MSE | train throughput (seq/s) | epochs run |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        t = r["test"]
        cell = lambda k: f"{t[k]['mean']:.3f} ± {t[k]['std']:.3f}"  # noqa: E731
        epochs = ", ".join(map(str, r.get("epochs_run", []))) or "-"
        print(f"| {name} | {cell('r2')} | {cell('pearson')} | {cell('mse')} | {r['train_samples_per_second']:.0f} | "
              f"{epochs} |")
    print(f"| ceiling: the noise-free target | {c['r2_noise_free_target']:.3f} | | | | |")
    print(f"| ceiling: its sequence part alone | {c['r2_sequence_part_only']:.3f} | | | | |")
    print(f"| ceiling: its side-feature part alone | {c['r2_side_features_only']:.3f} | | | | |")


if __name__ == "__main__":
    main()
