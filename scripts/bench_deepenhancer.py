"""DeepEnhancer vs the baseline CNN on real promoters: AUROC/AUPRC over seeds, training throughput, motif table.

Data: the complete published `human_nontata_promoters` test split (`../shared/upstream`, 9,034 x 251 bp),
split 70/30 into train(+10% validation)/test exactly as `tests/training/test_loop.py::test_cnn_learns_real_promoters`
does. Both recipes train on the same folder with the same seeds through `gbhub train`; then `gbhub motifs`
reads the selected DeepEnhancer's first-layer filters and matches them to JASPAR. Prints a markdown table and
writes `results.json` into `--out`. Not a test: it takes tens of minutes on two busy CPU cores.

    python scripts/bench_deepenhancer.py --out /tmp/bench-deepenhancer --seeds 1,2,3 --deepenhancer-epochs 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared" / "upstream" / "allison-eunse__ai4h-inspired-fm-benchmark-hub" / \
    "human_nontata_promoters_test.tsv.gz"
CONFIG = "human_nontata_promoters"


def write_folder(out: Path) -> dict[str, int]:
    """The Hub-layout folder of the published split, 70/30 with 10% of the 70 as validation (seed 2023)."""
    from gbhub.builders.hub_layout import write_hub_folder

    frame = pd.read_csv(TABLE, sep="\t")
    order = np.random.default_rng(2023).permutation(len(frame))
    n_train = int(0.7 * len(frame))
    n_val = n_train // 10
    parts = {"validation": order[:n_val], "train": order[n_val:n_train], "test": order[n_train:]}
    splits = {s: {"sequence": frame.seq.values[i].tolist(), "label": frame.label.values[i].tolist(),
                  "id": [f"nontata_{j}" for j in i]} for s, i in parts.items()}
    write_hub_folder(out, CONFIG, splits, ["negative", "positive"])
    return {s: len(i) for s, i in parts.items()}


def train(recipe: str, data: Path, run: Path, seeds: str, *extra: str, config: str = CONFIG) -> dict:
    """`gbhub train RECIPE` on `config` of `data`; its test metrics over seeds, epochs and throughput."""
    from gbhub.cli import main

    started = time.perf_counter()
    status = main(["train", recipe, "--dataset", str(data), "--config", config, "--out", str(run), "--seeds", seeds,
                   "--no-progress", *extra])
    if status != 0:
        raise SystemExit(f"gbhub train {recipe} failed with status {status}")
    record = json.loads((run / "metrics.json").read_text())
    per_seed = [json.loads((run / f"seed-{s}" / "metrics.json").read_text()) if (run / f"seed-{s}").is_dir()
                else record for s in record["seeds"]]
    return {
        "recipe": recipe,
        "command": record["command"],
        "wall_seconds": time.perf_counter() - started,
        "test": {m: record["summary"]["test"][m] for m in ("auroc", "auprc", "accuracy")},
        "per_seed_test": {str(r["seed"]): {m: r["metrics"]["test"][m] for m in ("auroc", "auprc")} for r in per_seed},
        "epochs_run": [r["epochs_run"] for r in per_seed],
        "best_epoch": [r["best_epoch"] for r in per_seed],
        "throughput": [r["throughput"]["train_samples_per_second"] for r in per_seed],
        "unit": record["throughput"]["unit"],
        "parameters": record["num_parameters"],
        "hardware": record["hardware"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/bench-deepenhancer", help="work folder (data, runs, results.json)")
    parser.add_argument("--seeds", default="1,2,3", help="seeds of both recipes (default: 1,2,3)")
    parser.add_argument("--cnn-epochs", type=int, default=10, help="CNN epochs (default: 10, its paper protocol)")
    parser.add_argument("--deepenhancer-epochs", type=int, default=3,
                        help="DeepEnhancer epochs (its protocol: up to 30 with patience 8; default 3 to fit a CPU)")
    parser.add_argument("--motif-sequences", type=int, default=2000, help="test sequences scanned by gbhub motifs")
    args = parser.parse_args()

    from gbhub.cli import main as gbhub

    out = Path(args.out)
    data = out / "data"
    sizes = write_folder(data)
    print(f"data: {sizes} sequences of 251 bp -> {data}", flush=True)
    results = {"sizes": sizes, "seeds": args.seeds}
    results["cnn"] = train("cnn", data, out / "cnn", args.seeds, "--epochs", str(args.cnn_epochs))
    print(f"cnn done in {results['cnn']['wall_seconds']:.0f} s", flush=True)
    results["deepenhancer"] = train("deepenhancer", data, out / "deepenhancer", args.seeds,
                                    "--epochs", str(args.deepenhancer_epochs))
    print(f"deepenhancer done in {results['deepenhancer']['wall_seconds']:.0f} s", flush=True)
    started = time.perf_counter()
    status = gbhub(["motifs", str(out / "deepenhancer"), "--dataset", str(data), "--config", CONFIG, "--no-progress",
                    "--max-sequences", str(args.motif_sequences), "--top", "10"])
    if status != 0:
        raise SystemExit(f"gbhub motifs failed with status {status}")
    results["motifs_seconds"] = time.perf_counter() - started
    results["motifs"] = json.loads((out / "deepenhancer" / "motifs" / "summary.json").read_text())
    (out / "results.json").write_text(json.dumps(results, indent=2))

    def cell(entry):
        return f"{entry['mean']:.3f} ± {entry['std']:.3f}"

    print(f"\n| model | parameters | epochs (run) | test AUROC | test AUPRC | accuracy | training {results['cnn']['unit']}/s |")
    print("|---|---|---|---|---|---|---|")
    for key in ("cnn", "deepenhancer"):
        r = results[key]
        print(f"| {key} | {r['parameters']:,} | {','.join(map(str, r['epochs_run']))} | {cell(r['test']['auroc'])} | "
              f"{cell(r['test']['auprc'])} | {cell(r['test']['accuracy'])} | {np.median(r['throughput']):.0f} |")
    m = results["motifs"]
    print(f"\nmotifs ({m['n_sequences']} test sequences, {m['n_kept']}/{m['n_filters']} filters kept, "
          f"{m['n_matched']} with a JASPAR match q < 0.05):\n")
    print("| filter | consensus | sites | bits | best JASPAR match | q |")
    print("|---|---|---|---|---|---|")
    for row in m["top"]:
        print(f"| {row['filter']} | `{row['consensus']}` | {row['sites']} | {row['information_bits']:.1f} | "
              f"{row['match_name']} ({row['match_id']}) | {row['match_q']:.2g} |")
    print(f"\nresults: {out / 'results.json'}")


if __name__ == "__main__":
    main()
