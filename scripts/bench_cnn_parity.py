"""Baseline parity: our CNN (`gbhub train cnn`) vs upstream's `genomic_benchmarks.models.torch.CNN` and its loop, with ablations.

    python scripts/bench_cnn_parity.py --out parity/ --jobs 2      # every arm, seeds 1-5 (see the README for times)
    python scripts/bench_cnn_parity.py --out parity/ --arms upstream,paper --seeds 1,2
    python scripts/bench_cnn_parity.py --write-data hub-real/      # only the Hub-layout config, for `gbhub baselines`

Data: the real published test split of `human_nontata_promoters` (9,034 x 251 bp, `../shared/upstream/...`), split
once, stratified by class with seed 42, into 70% train / 10% validation / 20% test (6,323 / 904 / 1,807), written
as the Hub-layout config `nontata_published_split` (Parquet + provenance). Every arm trains on the same train
split, 10 epochs, batch 64, Adam lr 1e-3, one CPU thread per process, and is scored once on the same test split.

Arms (`--arms`, comma-separated; default all):

- `upstream`: upstream's own code: `CNN(number_of_classes=2, vocab_size, embedding_dim=100, input_len)` from the
  PyPI package `genomic-benchmarks` 1.0.0 (loaded by file path, never installed; see scripts/bench_training.py),
  its `LetterTokenizer`/`build_vocab`/`coll_factory` and its `train_loop` (double sigmoid included), the weights of
  the last epoch, scored by its own `test()`; seeded with `torch.manual_seed(seed)`.
- `upstream-single-sigmoid`: the same with the double sigmoid removed while training (logits into its
  `binary_cross_entropy_with_logits`; the sigmoid is put back for its `test()`).
- every other arm runs `gbhub.training.run` (the driver of `gbhub train cnn --protocol paper`) and sets the flags
  that differ from the paper protocol of version 0.2 (`v0.2`: one-hot input, ReLU after every convolution and
  between the dense layers, 16/8/4 filters, the epoch selected on validation loss): `v0.2`; `last-epoch` (the
  `v0.2` runs scored with the last epoch's weights from `checkpoint-last`); `select-accuracy` (`--selection-metric
  accuracy`); `upstream-activations`; `embedding` (`--input-encoding embedding`: a learned 100-d embedding);
  `embedding-upstream-activations` (upstream's architecture with our loss and selection); `wide` (filters 32/16/8);
  and `paper`: the protocol as shipped now, with no flag (the same runs as `v0.2` while the defaults are those).

Each finished arm is kept in `OUT/arms/<arm>.json` and reused by a later call with the same seeds, epochs and
settings, so an interrupted call loses one arm at most. `--jobs N` runs N arms at a time in worker processes
(each one thread). Prints a Markdown table (mean ± std of test accuracy over the seeds, each seed's value, the
epoch used) and writes `OUT/parity.json` and `OUT/parity.md`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "upstream" / "allison-eunse__ai4h-inspired-fm-benchmark-hub" / "human_nontata_promoters_test.tsv.gz"
CONFIG = "nontata_published_split"
CLASSES = ["negative", "positive"]
FRACTIONS = {"validation": 0.1, "test": 0.2}
SPLIT_SEED = 42
#: The paper protocol of version 0.2, spelled out, so an arm means the same after the defaults change.
V02 = {"selection_metric": "loss", "input_encoding": "one-hot", "upstream_activations": False}
#: Arm -> the flags of `gbhub train cnn` it sets (`config`: CNNConfig fields the recipe has no flag for).
OURS = {
    "paper": {},
    "v0.2": V02,
    "select-accuracy": {**V02, "selection_metric": "accuracy"},
    "upstream-activations": {**V02, "upstream_activations": True},
    "embedding": {**V02, "input_encoding": "embedding"},
    "embedding-upstream-activations": {**V02, "input_encoding": "embedding", "upstream_activations": True},
    "wide": {**V02, "config": {"conv_channels": [32, 16, 8]}},
}
ARMS = ("upstream", "upstream-single-sigmoid", "paper", "v0.2", "last-epoch", "select-accuracy", "upstream-activations", "embedding",
        "embedding-upstream-activations", "wide")
DESCRIPTION = {
    "upstream": "upstream `genomic_benchmarks` CNN + its `train_loop` (100-d embedding, ReLU after conv 1 only, "
                "double sigmoid, last epoch)",
    "upstream-single-sigmoid": "`upstream` with its double-sigmoid bug fixed (logits into its "
                               "`binary_cross_entropy_with_logits`)",
    "paper": "ours, `gbhub train cnn --protocol paper` as shipped",
    "v0.2": "ours, the paper protocol of 0.2: one-hot, ReLU everywhere, epoch selected on validation loss",
    "last-epoch": "`v0.2` runs, last epoch's weights instead of the selected epoch",
    "select-accuracy": "`v0.2` + `--selection-metric accuracy`",
    "upstream-activations": "`v0.2` + `--upstream-activations`",
    "embedding": "`v0.2` + `--input-encoding embedding` (learned 100-d)",
    "embedding-upstream-activations": "`v0.2` + embedding + upstream activations (upstream's architecture)",
    "wide": "`v0.2` + filters 32/16/8 instead of 16/8/4",
}
#: The order arms are handed to workers: the parity question first (upstream and ours), then the cheap
#: ablations, then the costly ones (a 100-channel first convolution costs upstream's arm about 5x ours).
ORDER = ("upstream", "v0.2", "paper", "select-accuracy", "upstream-activations", "wide", "embedding",
         "embedding-upstream-activations", "upstream-single-sigmoid", "last-epoch")


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
    """Train one of our arms over `seeds` with the run driver (or score `v0.2`'s last epochs); test metrics per seed."""
    from gbhub.training import run as driver

    source = "v0.2" if arm == "last-epoch" else arm
    recipe, given = _ours(source, data, seeds, epochs, workdir)
    out = Path(given["out"])
    if arm != "last-epoch":
        driver.train_recipe(recipe, driver.parse(recipe, given))
    elif not (out / "metrics.json").is_file():
        raise SystemExit(f"last-epoch scores the v0.2 runs: run the v0.2 arm first (no {out / 'metrics.json'})")
    per_seed = {}
    for seed in seeds:
        seed_dir = out if len(seeds) == 1 else out / f"seed-{seed}"
        seed_record = json.loads((seed_dir / "metrics.json").read_text())
        if arm == "last-epoch":
            metrics, epoch = _score_last(seed_dir, data), seed_record["epochs_run"]
        else:
            metrics, epoch = seed_record["metrics"]["test"], seed_record["best_epoch"]
        per_seed[str(seed)] = {"accuracy": metrics["accuracy"], "f1": metrics["f1"], "auroc": metrics["auroc"],
                               "epoch": epoch, "train_seconds": seed_record["throughput"]["train_seconds"]}
    return per_seed


def _ours(arm: str, data: Path, seeds: list[int], epochs: int, workdir: Path):
    """The recipe and the `gbhub train cnn` arguments of one of our arms."""
    from gbhub.training.recipes.cnn import CNNRecipe

    change = dict(OURS[arm])
    overrides = change.pop("config", {})

    class Ablation(CNNRecipe):  # the shipped recipe, with CNNConfig fields the recipe has no flag for
        def build_model(self, prepared, task, args):
            from gbhub.training.models.cnn import CNNForSequenceClassification

            model = super().build_model(prepared, task, args)
            if not overrides:
                return model
            for key, value in overrides.items():
                setattr(model.config, key, value)
            return CNNForSequenceClassification(model.config)

    given = {"dataset": str(data), "config": CONFIG, "out": str(workdir / arm), "protocol": "paper",
             "epochs": epochs, "seeds": tuple(seeds), "no_progress": True, "keep_checkpoints": True, "cpu": True,
             **change}
    return Ablation(), given


def settings_of(arm: str, data: Path, seeds: list[int], epochs: int, workdir: Path) -> dict:
    """What an arm computes (the run driver's settings, or upstream's), for the cache key and the `paper` alias."""
    if arm.startswith("upstream") and arm not in OURS:
        return {"arm": arm, "package": "genomic-benchmarks 1.0.0", "epochs": epochs, "seeds": seeds}
    from gbhub.training import run as driver
    from gbhub.training.args import settings

    source = "v0.2" if arm == "last-epoch" else arm
    recipe, given = _ours(source, data, seeds, epochs, workdir)
    args = driver.parse(recipe, given)
    return {"arm": "last-epoch" if arm == "last-epoch" else "ours", "seeds": seeds,
            "config": OURS[source].get("config", {}),
            **{k: v for k, v in settings([args.data, args.run, args.model]).items() if k != "dataset"}}


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


def run_upstream(data: Path, seeds: list[int], epochs: int, batch_size: int, workdir: Path, src: str | None, *,
                 single_sigmoid: bool = False) -> dict:
    """Upstream's CNN and loop on the same train split; test accuracy/F1 of the last epoch, per seed.

    With `single_sigmoid`, the model's output activation is the identity while `train_loop` runs, so its
    `binary_cross_entropy_with_logits` gets logits (the bug fixed), and the sigmoid is put back for `test()`.
    """
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
        sigmoid = model.output_activation
        if single_sigmoid:
            model.output_activation = torch.nn.Identity()
        stdout, sys.stdout = sys.stdout, devnull  # upstream prints every epoch
        try:
            for _ in range(epochs):
                model.train_loop(loader, optimizer)
            seconds = time.perf_counter() - started
            model.output_activation = sigmoid  # test() rounds probabilities
            accuracy, f1 = model.test(test_loader)
        finally:
            sys.stdout = stdout
        per_seed[str(seed)] = {"accuracy": float(accuracy), "f1": float(f1), "auroc": None, "epoch": epochs,
                               "train_seconds": seconds}
        print(f"  upstream{' (single sigmoid)' if single_sigmoid else ''} seed {seed}: test accuracy "
              f"{accuracy:.4f}", flush=True)
    return per_seed


# -------------------------------------------------------------------------------------------------- report


def summary(per_seed: dict) -> dict:
    acc = np.array([v["accuracy"] for v in per_seed.values()], dtype=np.float64)
    return {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0, "n": int(len(acc))}


def markdown(results: dict, alias: dict | None = None) -> str:
    alias = alias or {}
    lines = ["| arm | what it is | test accuracy %, mean ± std (n) | per seed | epoch used | CPU min |",
             "|---|---|---:|---|---|---:|"]
    for arm, entry in results.items():
        s = entry["summary"]
        seeds = ", ".join(f"{100 * v['accuracy']:.2f}" for v in entry["per_seed"].values())
        epochs = ", ".join(str(v["epoch"]) for v in entry["per_seed"].values())
        what = DESCRIPTION[arm] + (f" (= the `{alias[arm]}` runs: same settings)" if arm in alias else "")
        lines.append(f"| `{arm}` | {what} | {100 * s['mean']:.2f} ± {100 * s['std']:.2f} ({s['n']}) | {seeds} | "
                     f"{epochs} | {entry['cpu_seconds'] / 60:.1f} |")
    return "\n".join(lines)


def run_arm(arm: str, data: Path, seeds: list[int], epochs: int, out: Path, src: str | None) -> dict:
    """One arm in this process (one torch thread): its per-seed results, wall and CPU seconds."""
    import torch

    torch.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    if arm in ("upstream", "upstream-single-sigmoid"):
        per_seed = run_upstream(data, seeds, epochs, 64, Path(tempfile.mkdtemp(prefix="gbhub-parity-")), src,
                                single_sigmoid=arm == "upstream-single-sigmoid")
    else:
        per_seed = run_ours(arm, data, seeds, epochs, out / "runs")
    return {"per_seed": per_seed, "summary": summary(per_seed), "wall_seconds": time.perf_counter() - wall,
            "cpu_seconds": time.process_time() - cpu}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the data, the runs, arms/, parity.json and parity.md")
    parser.add_argument("--write-data", type=Path, metavar="DIR",
                        help="only write the Hub-layout config nontata_published_split into DIR and exit")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated arms (default: {','.join(ARMS)})")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="training seeds (default: 1,2,3,4,5)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default: 10, the paper's)")
    parser.add_argument("--jobs", type=int, default=1, help="arms trained at a time, one process each (default: 1)")
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
    out = args.out.resolve()
    (out / "arms").mkdir(parents=True, exist_ok=True)
    data = write_data(out / "data")
    started = time.perf_counter()
    keys = {arm: settings_of(arm, data, seeds, args.epochs, out / "runs") for arm in set(arms) | {"v0.2"}}
    alias = {}
    if "paper" in arms and keys["paper"] == keys["v0.2"]:  # the shipped defaults are still v0.2's
        alias["paper"] = "v0.2"
    results: dict[str, dict] = {}
    todo = []
    for arm in arms:
        source = alias.get(arm, arm)
        cached = _cached(out, source, keys[source])
        if cached is not None:
            results[source] = cached
            print(f"{arm}: cached in {out / 'arms'}", flush=True)
        elif alias.get(arm) not in arms:
            todo.append(alias.get(arm, arm))
    if "last-epoch" in todo and "v0.2" not in todo and _cached(out, "v0.2", keys["v0.2"]) is None:
        todo.append("v0.2")
    todo = sorted(set(todo), key=ORDER.index)
    later = [a for a in todo if a == "last-epoch"]  # scores the v0.2 runs: after them
    first = [a for a in todo if a != "last-epoch"]

    def done(arm: str, result: dict) -> None:
        _store(out, arm, keys[arm], result)
        results[arm] = result
        s = result["summary"]
        print(f"  {arm}: {100 * s['mean']:.2f} ± {100 * s['std']:.2f} over {s['n']} seeds "
              f"({result['wall_seconds'] / 60:.1f} min wall, {result['cpu_seconds'] / 60:.1f} min CPU)", flush=True)

    if args.jobs > 1 and len(first) > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_arm, arm, data, seeds, args.epochs, out, args.upstream_src): arm for arm in first}
            for arm in first:
                print(f"{arm}: {DESCRIPTION[arm]} (queued)", flush=True)
            for future in as_completed(futures):
                done(futures[future], future.result())
    else:
        for arm in first:
            print(f"{arm}: {DESCRIPTION[arm]}", flush=True)
            done(arm, run_arm(arm, data, seeds, args.epochs, out, args.upstream_src))
    for arm in later:
        print(f"{arm}: {DESCRIPTION[arm]}", flush=True)
        done(arm, run_arm(arm, data, seeds, args.epochs, out, args.upstream_src))
    table = {arm: results[alias.get(arm, arm)] for arm in arms}
    import torch

    report = {"data": {"config": CONFIG, "source": str(REAL.name), "split_seed": SPLIT_SEED,
                       "rows": {s: int(len(r)) for s, r in split_rows(_labels()).items()}},
              "seeds": seeds, "epochs": args.epochs, "batch_size": 64, "torch_threads": 1, "jobs": args.jobs,
              "torch": torch.__version__, "cpu_count": os.cpu_count(), "aliases": alias,
              "wall_seconds_this_call": time.perf_counter() - started, "arms": table}
    (out / "parity.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(table, alias)
    (out / "parity.md").write_text(text + "\n")
    print(text)
    print(f"this call {report['wall_seconds_this_call'] / 60:.1f} min; arms' CPU "
          f"{sum(r['cpu_seconds'] for r in table.values()) / 60:.1f} min; {out / 'parity.json'}")
    return 0


def _key_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def _cached(out: Path, arm: str, key: dict) -> dict | None:
    path = out / "arms" / f"{arm}.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored["result"] if stored.get("key") == _key_hash(key) else None


def _store(out: Path, arm: str, key: dict, result: dict) -> None:
    path = out / "arms" / f"{arm}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"arm": arm, "key": _key_hash(key), "settings": key, "result": result}, indent=2,
                              default=str))
    tmp.replace(path)


def _labels() -> np.ndarray:
    import pandas as pd

    return pd.read_csv(REAL, sep="\t").label.to_numpy(np.int64)


if __name__ == "__main__":
    if importlib.util.find_spec("gbhub") is None:
        sys.exit("install the project first: pip install -e '.[train]'")
    sys.exit(main())
