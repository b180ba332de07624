"""DeepEnhancer transfer learning: pretrain on one config, fine-tune on another, against training from scratch.

The issue's comparison: pretrain on `human_enhancers_ensembl_leakfree` (`gbhub build human_enhancers_ensembl`,
then `gbhub audit human_enhancers_ensembl --variants`), fine-tune on `human_enhancers_cohn` with
`--init-from`, and train on `human_enhancers_cohn` from scratch with the same seeds and epochs. Both configs
need GRCh38 to be built. `--smoke` instead writes two small synthetic configs sharing a planted motif (offline,
minutes): it shows the script runs, not how transfer does on real enhancers. Prints a markdown table and
writes `results.json` into `--out`.

    python scripts/bench_deepenhancer_transfer.py --dataset hub --seeds 1,2,3
    python scripts/bench_deepenhancer_transfer.py --smoke --out /tmp/bench-transfer
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_deepenhancer import train  # noqa: E402  (a sibling script, not a package)


def smoke_data(folder: Path) -> tuple[str, str]:
    """Two configs of 400 bp sequences; positives carry the same 12 bp motif (the child has few rows)."""
    from gbhub.builders.hub_layout import SPLITS, write_hub_folder

    motif = "GGGACTTTCCCA"  # an NF-kB-like site (the paper's GM12878 example)

    def rows(n: int, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        seqs = []
        for i in range(n):
            seq = list(rng.choice(list("ACGT"), 400))
            if i % 2:
                at = int(rng.integers(0, 400 - len(motif)))
                seq[at : at + len(motif)] = motif
            seqs.append("".join(seq))
        return {"sequence": seqs, "label": [i % 2 for i in range(n)]}

    write_hub_folder(folder, "smoke_parent", {s: rows(n, i) for i, (s, n) in enumerate(zip(SPLITS, (300, 60, 60)))},
                     ["negative", "positive"])
    write_hub_folder(folder, "smoke_child", {s: rows(n, 10 + i) for i, (s, n) in enumerate(zip(SPLITS, (60, 40, 200)))},
                     ["negative", "positive"])
    return "smoke_parent", "smoke_child"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="Hub-layout folder (or Hub id) holding both configs")
    parser.add_argument("--pretrain-config", default="human_enhancers_ensembl_leakfree")
    parser.add_argument("--finetune-config", default="human_enhancers_cohn")
    parser.add_argument("--smoke", action="store_true", help="two small synthetic configs instead (offline)")
    parser.add_argument("--out", default="/tmp/bench-deepenhancer-transfer", help="work folder")
    parser.add_argument("--seeds", default="1,2,3", help="seeds of the fine-tuned and the from-scratch runs")
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of fine-tuning and of training from scratch")
    parser.add_argument("--freeze-convolutions", action="store_true", help="fine-tune with frozen convolutions")
    parser.add_argument("--window-bp", help="DeepEnhancer window (default: 300, the paper's; --smoke: 100)")
    parser.add_argument("--max-windows-per-region", help="cap on windows per sequence (default: 20; --smoke: 4)")
    parser.add_argument("--lr", help="learning rate of every run (default: the protocol's 1e-4; --smoke: 1e-3)")
    args = parser.parse_args()

    out = Path(args.out)
    dataset, parent_config, child_config = args.dataset, args.pretrain_config, args.finetune_config
    if args.smoke:
        dataset = str(out / "data")
        parent_config, child_config = smoke_data(Path(dataset))
    elif not dataset:
        raise SystemExit("pass --dataset (a folder with both configs) or --smoke")
    window = args.window_bp or ("100" if args.smoke else "300")
    cap = args.max_windows_per_region or ("4" if args.smoke else "20")
    common = ["--window-bp", window, "--max-windows-per-region", cap]
    if args.lr or args.smoke:
        common += ["--lr", args.lr or "1e-3"]

    def run(name: str, config: str, seeds: str, epochs: int, *extra: str) -> dict:
        return train("deepenhancer", Path(dataset), out / name, seeds, "--epochs", str(epochs), *common, *extra,
                     config=config)

    results = {"dataset": dataset, "pretrain": parent_config, "finetune": child_config, "smoke": args.smoke}
    first_seed = args.seeds.split(",")[0]
    results["parent"] = run("parent", parent_config, first_seed, args.pretrain_epochs)
    freeze = ["--freeze-convolutions"] if args.freeze_convolutions else []
    results["finetuned"] = run("finetuned", child_config, args.seeds, args.epochs, "--init-from", str(out / "parent"),
                               *freeze)
    results["scratch"] = run("scratch", child_config, args.seeds, args.epochs)
    (out / "results.json").write_text(json.dumps(results, indent=2))

    def cell(entry):
        return f"{entry['mean']:.3f} ± {entry['std']:.3f}"

    print(f"\n{child_config}, seeds {args.seeds}, {args.epochs} epochs"
          + (" (SMOKE: synthetic stand-ins, not the real benchmarks)" if args.smoke else ""))
    print("| start | test AUROC | test AUPRC | accuracy |\n|---|---|---|---|")
    for key, label in (("finetuned", f"fine-tuned from {parent_config}"), ("scratch", "from scratch")):
        r = results[key]["test"]
        print(f"| {label} | {cell(r['auroc'])} | {cell(r['auprc'])} | {cell(r['accuracy'])} |")
    print(f"\nresults: {out / 'results.json'}")


if __name__ == "__main__":
    main()
