"""Baseline parity: our CNN (`gbhub train cnn`) vs upstream's `genomic_benchmarks.models.torch.CNN` and its loop, with ablations.

    python scripts/bench_cnn_parity.py --out parity/               # every arm, seeds 1-5 (~40 min, 2 busy cores)
    python scripts/bench_cnn_parity.py --out parity/ --arms upstream,paper --seeds 1,2
    python scripts/bench_cnn_parity.py --write-data hub-real/      # only the Hub-layout config, for `gbhub baselines`

Data: the real published test split of `human_nontata_promoters` (9,034 x 251 bp, `../shared/upstream/...`), split
once, stratified by class with seed 42, into 70% train / 10% validation / 20% test (6,323 / 904 / 1,807), written
as the Hub-layout config `nontata_published_split` (parquet + provenance). Every arm trains on the same train
split, 10 epochs, batch 64, Adam lr 1e-3, one CPU thread, and is scored once on the same test split.

Arms (`--arms`, comma-separated; default all):

- `upstream`: upstream's own code: `CNN(number_of_classes=2, vocab_size, embedding_dim=100, input_len)` from the
  PyPI package `genomic-benchmarks` 1.0.0 (loaded by file path, never installed; see scripts/bench_training.py),
  its `LetterTokenizer`/`build_vocab`/`coll_factory` and its `train_loop` (double sigmoid included), the weights of
  the last epoch, scored by its own `test()`; seeded with `torch.manual_seed(seed)`.
- every other arm runs `gbhub.training.run` (the driver of `gbhub train cnn`) with the paper protocol and changes
  one thing: `paper` (the protocol as shipped), `paper-last` (the same runs, scored with the last epoch's weights
  from `checkpoint-last` instead of the epoch selected on validation), `select-accuracy` (`--selection-metric
  accuracy`), `upstream-activations` (`--upstream-activations`), `embedding` (`--input-encoding embedding`: a
  learned 100-d embedding instead of one-hot), `embedding-upstream-activations` (upstream's architecture with our
  loss and selection), `wide` (conv filters 32/16/8 instead of 16/8/4).

Prints a Markdown table (mean ± std of test accuracy over the seeds, with each seed's value) and writes
`OUT/parity.json` (every seed's test metrics, best epochs, seconds) and `OUT/parity.md`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "upstream" / "allison-eunse__ai4h-inspired-fm-benchmark-hub" / "human_nontata_promoters_test.tsv.gz"
CONFIG = "nontata_published_split"
CLASSES = ["negative", "positive"]
FRACTIONS = {"validation": 0.1, "test": 0.2}
SPLIT_SEED = 42
ARMS = ("upstream", "paper", "paper-last", "select-accuracy", "upstream-activations", "embedding",
        "embedding-upstream-activations", "wide")
#: Arm -> what changes relative to `paper` (flags of `gbhub train cnn`, or CNNConfig fields for `wide`).
OURS = {
    "paper": {},
    "select-accuracy": {"selection_metric": "accuracy"},
    "upstream-activations": {"upstream_activations": True},
    "embedding": {"input_encoding": "embedding"},
    "embedding-upstream-activations": {"input_encoding": "embedding", "upstream_activations": True},
    "wide": {"config": {"conv_channels": [32, 16, 8]}},
}
DESCRIPTION = {
    "upstream": "upstream `genomic_benchmarks` CNN + its train loop (100-d embedding, double sigmoid, last epoch)",
    "paper": "ours, `--protocol paper` as shipped",
    "paper-last": "ours, paper, last epoch instead of the validation-selected one",
    "select-accuracy": "ours, paper, `--selection-metric accuracy`",
    "upstream-activations": "ours, paper, `--upstream-activations`",
    "embedding": "ours, paper, learned 100-d embedding input",
    "embedding-upstream-activations": "ours, paper, 100-d embedding + upstream activations",
    "wide": "ours, paper, conv filters 32/16/8",
}


# ------------------------------------------------------------------------------------------------ data


def split_rows(labels: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Row indices of train/validation/test: stratified by class, seeded, sorted within each split."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(FRACTIONS["test"] * len(rows)))
        n_val = int(round(FRACTIONS["validation"] * len(rows)))
        parts["test"].append(rows[:n_test])
        parts["validation"].append(rows[n_test:n_test + n_val])
        parts["train"].append(rows[n_test + n_val:])
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def write_data(out_dir: Path) -> Path:
    """Write the `nontata_published_split` config (Parquet + provenance) into the Hub-layout folder `out_dir`."""
    import pandas as pd

    from gbhub import __version__
    from gbhub.builders.hub_layout import provenance_path, write_hub_folder, write_json_atomic
    from gbhub.builders.registry import GENOMIC_BENCHMARKS_CITATION

    if not REAL.is_file():
        raise SystemExit(f"{REAL} not found: this script needs ../shared/upstream (the published nontata sequences)")
    frame = pd.read_csv(REAL, sep="\t")
    labels = frame.label.to_numpy(np.int64)
    parts = split_rows(labels)
    splits = {s: {"id": [f"nontata_test_{i}" for i in rows], "sequence": frame.seq.values[rows].tolist(),
                  "label": labels[rows].tolist()} for s, rows in parts.items()}
    write_hub_folder(out_dir, CONFIG, splits, CLASSES)
    write_json_atomic(provenance_path(out_dir, CONFIG), {
        "config": CONFIG,
        "pretty_name": "Human non-TATA promoters, published test sequences re-split",
        "description": (
            "The 9,034 published sequences (251 bp) of the test split of Genomic Benchmarks "
            "`human_nontata_promoters`, split once, stratified by class with seed 42, into 70% train, 10% "
            "validation and 20% test. Not the upstream split: results here are not comparable with Table 2."),
        "classes": CLASSES,
        "citations": [GENOMIC_BENCHMARKS_CITATION],
        "license": "apache-2.0",
        "package_version": __version__,
        "source": {"file": str(REAL.relative_to(ROOT.parent)), "rows": int(len(frame))},
        "validation": {"fraction": FRACTIONS["validation"], "stratified": True, "seed": SPLIT_SEED},
        "splits": {s: {"num_examples": int(len(rows))} for s, rows in parts.items()},
    })
    return out_dir


# ------------------------------------------------------------------------------------------------ ours


def run_ours(arm: str, data: Path, seeds: list[int], epochs: int, workdir: Path) -> dict:
    """Train one of our arms over `seeds` with the run driver; test metrics per seed."""
    from gbhub.training import run as driver
    from gbhub.training.recipes.cnn import CNNRecipe

    change = dict(OURS["paper" if arm == "paper-last" else arm])
    overrides = change.pop("config", {})

    class Ablation(CNNRecipe):  # the shipped recipe, with CNNConfig fields the recipe has no flag for
        def build_model(self, prepared, task, args):
            from gbhub.training.models.cnn import CNNForSequenceClassification

            model = super().build_model(prepared, task, args)
            if not overrides:
                return model
            config = model.config
            for key, value in overrides.items():
                setattr(config, key, value)
            return CNNForSequenceClassification(config)

    recipe = Ablation()
    out = workdir / ("paper" if arm == "paper-last" else arm)
    given = {"dataset": str(data), "config": CONFIG, "out": str(out), "protocol": "paper", "epochs": epochs,
             "seeds": tuple(seeds), "no_progress": True, "keep_checkpoints": True, "cpu": True, **change}
    if arm == "paper-last" and (out / "metrics.json").is_file():
        record = json.loads((out / "metrics.json").read_text())
    else:
        started = time.perf_counter()
        record = driver.train_recipe(recipe, driver.parse(recipe, given))
        record["wall_seconds"] = time.perf_counter() - started
    per_seed = {}
    for seed in seeds:
        seed_dir = out if len(seeds) == 1 else out / f"seed-{seed}"
        seed_record = json.loads((seed_dir / "metrics.json").read_text())
        if arm == "paper-last":
            metrics = _score_last(seed_dir, data)
            epoch = seed_record["epochs_run"]
        else:
            metrics = seed_record["metrics"]["test"]
            epoch = seed_record["best_epoch"]
        per_seed[str(seed)] = {"accuracy": metrics["accuracy"], "f1": metrics["f1"], "auroc": metrics["auroc"],
                               "epoch": epoch, "seconds": seed_record["throughput"]["train_seconds"]}
    return per_seed


def _score_last(seed_dir: Path, data: Path) -> dict:
    """Test metrics of the last epoch's weights (`checkpoint-last`, kept by the paper protocol)."""
    import torch
    from safetensors.torch import load_file

    from gbhub.training import data as tdata
    from gbhub.training.metrics_util import score
    from gbhub.training.models.cnn import CNNForSequenceClassification

    model = CNNForSequenceClassification.from_pretrained(seed_dir).eval()
    model.load_state_dict(load_file(str(seed_dir / "checkpoint-last" / "model.safetensors")))
    dsd = tdata.load_splits(str(data), CONFIG)
    task = tdata.task_of(dsd["test"].features)
    split = tdata.encode_fixed_width(dsd["test"], model.config.input_length, task)
    with torch.no_grad():
        logits = torch.cat([model(input_ids=torch.as_tensor(split.rows.tensors["input_ids"][i:i + 512]).long()).logits
                            for i in range(0, len(split), 512)])
    return score("classification", logits.double().numpy(), split.targets, 2)[0]


# -------------------------------------------------------------------------------------------- upstream


def run_upstream(data: Path, seeds: list[int], epochs: int, batch_size: int, workdir: Path, src: str | None) -> dict:
    """Upstream's CNN and loop on the same train split; test accuracy/F1 of the last epoch, per seed."""
    import torch

    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_training as bt  # the upstream loader of the throughput benchmark (torchtext stand-in)

    from gbhub.training import data as tdata

    source = bt.upstream_source(src, workdir)
    bt._stub_torchtext()
    models = bt._load(source / "genomic_benchmarks" / "models" / "torch.py", "gb_upstream_torch")
    utils = bt._load(source / "genomic_benchmarks" / "dataset_getters" / "utils.py", "gb_upstream_utils")
    dsd = tdata.load_splits(str(data), CONFIG)
    train = list(zip(dsd["train"]["sequence"], dsd["train"]["label"]))
    test = list(zip(dsd["test"]["sequence"], dsd["test"]["label"]))
    tokenizer = utils.LetterTokenizer()
    vocab = utils.build_vocab(train, tokenizer, use_padding=False)
    input_len = max(len(s) for s, _ in train) + 2  # <bos>, <eos>: upstream's check_seq_lengths(use_padding=False)
    collate = utils.coll_factory(vocab, tokenizer, device="cpu")
    devnull = open(os.devnull, "w")
    per_seed = {}
    for seed in seeds:
        torch.manual_seed(seed)
        model = models.CNN(number_of_classes=2, vocab_size=len(vocab), embedding_dim=100, input_len=input_len,
                           device="cpu")
        loader = torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True, collate_fn=collate)
        test_loader = torch.utils.data.DataLoader(test, batch_size=batch_size, shuffle=False, collate_fn=collate)
        optimizer = torch.optim.Adam(model.parameters())  # upstream's fit(): Adam, lr 1e-3
        started = time.perf_counter()
        stdout, sys.stdout = sys.stdout, devnull  # upstream prints every epoch
        try:
            for _ in range(epochs):
                model.train_loop(loader, optimizer)
            seconds = time.perf_counter() - started
            accuracy, f1 = model.test(test_loader)
        finally:
            sys.stdout = stdout
        per_seed[str(seed)] = {"accuracy": float(accuracy), "f1": float(f1), "auroc": None, "epoch": epochs,
                               "seconds": seconds}
        print(f"  upstream seed {seed}: test accuracy {accuracy:.4f}", flush=True)
    return per_seed


# -------------------------------------------------------------------------------------------------- report


def summary(per_seed: dict) -> dict:
    acc = np.array([v["accuracy"] for v in per_seed.values()], dtype=np.float64)
    return {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0, "n": int(len(acc))}


def markdown(results: dict) -> str:
    lines = ["| arm | what changes | test accuracy, mean ± std (n) | per seed | epoch used |",
             "|---|---|---:|---|---|"]
    for arm, entry in results.items():
        s = entry["summary"]
        seeds = ", ".join(f"{100 * v['accuracy']:.2f}" for v in entry["per_seed"].values())
        epochs = ", ".join(str(v["epoch"]) for v in entry["per_seed"].values())
        lines.append(f"| `{arm}` | {DESCRIPTION[arm]} | {100 * s['mean']:.2f} ± {100 * s['std']:.2f} ({s['n']}) | "
                     f"{seeds} | {epochs} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the data, the runs, parity.json and parity.md")
    parser.add_argument("--write-data", type=Path, metavar="DIR",
                        help="only write the Hub-layout config nontata_published_split into DIR and exit")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated arms (default: {','.join(ARMS)})")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="training seeds (default: 1,2,3,4,5)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default: 10, the paper's)")
    parser.add_argument("--upstream-src", help="unpacked genomic-benchmarks sources (default: pip download)")
    args = parser.parse_args(argv)

    if args.write_data:
        print(write_data(args.write_data))
        return 0
    if not args.out:
        parser.error("--out is required (or --write-data DIR)")
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s) {', '.join(unknown)}; choose among {', '.join(ARMS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    import torch

    torch.set_num_threads(1)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    data = write_data(out / "data")
    results, started = {}, time.perf_counter()
    for arm in arms:
        t0 = time.perf_counter()
        print(f"{arm}: {DESCRIPTION[arm]}", flush=True)
        if arm == "upstream":
            per_seed = run_upstream(data, seeds, args.epochs, 64, Path(tempfile.mkdtemp(prefix="gbhub-parity-")),
                                    args.upstream_src)
        else:
            per_seed = run_ours(arm, data, seeds, args.epochs, out / "runs")
        results[arm] = {"per_seed": per_seed, "summary": summary(per_seed), "seconds": time.perf_counter() - t0}
        s = results[arm]["summary"]
        print(f"  {arm}: {100 * s['mean']:.2f} ± {100 * s['std']:.2f} over {s['n']} seeds "
              f"({results[arm]['seconds']:.0f} s)", flush=True)
    report = {"data": {"config": CONFIG, "source": str(REAL.name), "split_seed": SPLIT_SEED,
                       "rows": {s: int(len(r)) for s, r in split_rows(_labels()).items()}},
              "seeds": seeds, "epochs": args.epochs, "batch_size": 64, "torch_threads": 1,
              "torch": torch.__version__, "wall_seconds": time.perf_counter() - started, "arms": results}
    (out / "parity.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(results)
    (out / "parity.md").write_text(table + "\n")
    print(table)
    print(f"total {report['wall_seconds'] / 60:.1f} min; {out / 'parity.json'}")
    return 0


def _labels() -> np.ndarray:
    import pandas as pd

    return pd.read_csv(REAL, sep="\t").label.to_numpy(np.int64)


if __name__ == "__main__":
    if importlib.util.find_spec("gbhub") is None:
        sys.exit("install the project first: pip install -e '.[train]'")
    sys.exit(main())
