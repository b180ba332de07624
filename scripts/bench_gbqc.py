"""Benchmark: our audit side by side with genomic-benchmarks-qc (gb-qc) on the real nontata promoter sequences.

    python scripts/bench_gbqc.py --out bench_gbqc.json

Data: the published `human_nontata_promoters` test split (9,034 real 251 bp sequences with labels, in
`../shared/upstream`). gb-qc's class checks read all 9,034 (as its `evaluate-classes` does, in-sample); its split
check and our whole audit read a stratified, seeded (42) 70/30 split of them (6,324 train, 2,710 test). Each
tool runs in its own process; wall time, CPU time and peak memory (the largest process, MMseqs2 included) come
from the operating system's accounting of that process (`os.wait4`).

gb-qc and MMseqs2 are not dependencies of this project. To run them (Python 3.11; gb-qc declares 3.12):

    pip install seaborn biopython typer scipy
    pip install --no-deps --ignore-requires-python genomic-benchmarks-qc==1.0.0
    apt-get install -y mmseqs2

Without them the script says so, skips their columns and still measures ours.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (ROOT.parent / "shared" / "upstream" / "allison-eunse__ai4h-inspired-fm-benchmark-hub"
                / "human_nontata_promoters_test.tsv.gz")
OURS_API = """
import json, sys, time
import pandas as pd
from gbhub.builders.audit.pipeline import audit_input
from gbhub.builders.audit.sources import from_frame
t0 = time.perf_counter()
inp = from_frame("nontata", pd.read_parquet(sys.argv[1]), where="nontata")
t1 = time.perf_counter()
report = audit_input(inp)
t2 = time.perf_counter()
json.dump({"report": report, "read_s": t1 - t0, "audit_s": t2 - t1}, open(sys.argv[2], "w"))
"""


def measure(cmd: list[str], log: Path) -> dict:
    """Run `cmd` to completion; its wall, CPU and peak memory (the OS accounting of the finished process tree)."""
    with open(log, "wb") as handle:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"rc": proc.returncode, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(usage.ru_maxrss / 1024)}


def gbqc_command() -> list[str] | None:
    exe = shutil.which("gb-qc") or (str(Path(sys.executable).with_name("gb-qc"))
                                    if Path(sys.executable).with_name("gb-qc").exists() else None)
    return [exe] if exe else None


def in_sample_auroc(values: np.ndarray, labels: np.ndarray) -> float:
    """gb-qc's definition: the AUROC of the raw feature over all rows, flipped to >= 0.5."""
    from sklearn.metrics import roc_auc_score

    a = roc_auc_score(labels, values)
    return round(float(max(a, 1 - a)), 4)


def gbqc_classes(csv_path: Path) -> dict:
    table = pd.read_csv(csv_path)
    out = {}
    for row in table.itertuples(index=False):
        out[row.Check] = {"flag": row.Flag, "auroc": None if pd.isna(row[2]) else round(float(row[2]), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TSV (seq, label) of the nontata test split")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--threads", type=int, default=None, help="MMseqs2 threads for gb-qc (default: its own)")
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"real sequences not found at {args.data} (they live in ../shared/upstream); nothing to compare",
              file=sys.stderr)
        return 0
    sys.path.insert(0, str(ROOT))
    from gbhub.builders.audit.features import BASES, DINUCLEOTIDES, sequence_features
    from gbhub.builders.audit.sources import holdout_splits

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-gbqc-"))
    work.mkdir(parents=True, exist_ok=True)
    data = pd.read_csv(args.data, sep="\t", dtype=str).rename(columns={"seq": "sequence"})
    data["label"] = data["label"].astype(int)
    split = holdout_splits(data["label"].to_numpy(), 0.3, 42)
    data.to_csv(work / "all.csv", index=False)
    data[split == "train"].to_csv(work / "train.csv", index=False)
    data[split == "test"].to_csv(work / "test.csv", index=False)
    ids = np.empty(len(data), dtype=object)  # gb-qc's staging ids: the i-th row of its train / test file
    for half in ("train", "test"):
        ids[split == half] = [f"seq_{i}_{half}" for i in range(int((split == half).sum()))]
    data.assign(split=split, id=ids).to_parquet(work / "split.parquet")
    result = {"rows": len(data), "train": int((split == "train").sum()), "test": int((split == "test").sum())}

    # ours: the Python API in a process of its own, then the CLI with its readable report
    ours = measure([sys.executable, "-c", OURS_API, str(work / "split.parquet"), str(work / "ours.json")],
                   work / "ours.log")
    payload = json.loads((work / "ours.json").read_text())
    report = payload["report"]
    ours["audit_s"] = round(payload["audit_s"], 2)
    result["ours_api"] = ours
    result["ours_cli"] = measure([sys.executable, "-m", "gbhub", "audit", str(work / "split.parquet"), "--out",
                                  str(work / "ours-cli"), "--no-progress"], work / "ours-cli.log")
    probes = report["shortcuts"]["probes"]
    features = sequence_features(__import__("pyarrow").array(data["sequence"].str.upper().tolist()))
    labels = data["label"].to_numpy()
    checks = {"GC content": ("gc", features.gc())}
    for i, b in enumerate(BASES):
        checks[f"{b} share"] = (f"base_{b}", features.base_fractions()[:, i])
    for i, d in enumerate(DINUCLEOTIDES):
        checks[f"{d} share"] = (f"dinucleotide_{d}", features.dinucleotide_fractions()[:, i])

    gbqc = gbqc_command()
    mmseqs = shutil.which("mmseqs")
    theirs = {}
    if gbqc is None:
        print("gb-qc not found: its columns are skipped (see this script's docstring to install it)", file=sys.stderr)
    else:
        result["gbqc_classes"] = measure(gbqc + ["evaluate-classes", "--input", str(work / "all.csv"), "--out-folder",
                                                 str(work / "qc")], work / "gbqc-classes.log")
        theirs = gbqc_classes(next((work / "qc" / "class").rglob("gb-qc-report.csv")))
        if mmseqs is None:
            print("mmseqs not found: gb-qc's split check is skipped (apt-get install -y mmseqs2)", file=sys.stderr)
        else:
            cmd = gbqc + ["evaluate-splits", "--train-input", str(work / "train.csv"), "--test-input",
                          str(work / "test.csv"), "--sequence-column", "sequence", "--out-folder", str(work / "qc")]
            result["gbqc_splits"] = measure(cmd + (["--threads", str(args.threads)] if args.threads else []),
                                            work / "gbqc-splits.log")

    # check by check
    rows = []
    gb_names = {"GC content": "Per sequence GC content", **{f"{b} share": f"Per sequence nucleotide content - {b}"
                                                            for b in BASES},
                **{f"{d} share": f"Per sequence dinucleotide content - {d}" for d in DINUCLEOTIDES}}
    for title, (probe, values) in checks.items():
        p = probes[probe]
        g = theirs.get(gb_names[title], {})
        rows.append({"check": title, "gbqc_auroc": g.get("auroc"), "gbqc_flag": g.get("flag"),
                     "ours_in_sample_auroc": in_sample_auroc(values, labels), "ours_auroc": p["auroc"],
                     "ours_ci": p["ci"], "ours_flag": p["flag"]})
    position = probes["position_start"]
    per_position = {k: v for k, v in theirs.items() if k.startswith("Per position nucleotide content - ")
                    and " position " in k}
    best = max(per_position.items(), key=lambda kv: kv[1]["auroc"] or 0) if per_position else (None, {})
    rows.append({"check": "per-position bases", "gbqc_auroc": best[1].get("auroc"), "gbqc_flag": best[1].get("flag"),
                 "gbqc_where": best[0], "ours_auroc": position["auroc"], "ours_ci": position["ci"],
                 "ours_flag": position["flag"], "ours_where": f"bases {position['selected_window'][0]}-"
                                                               f"{position['selected_window'][1] - 1} (held out)"})
    letters = probes["n_content"].get("by_class") or {}
    rows.append({"check": "vocabulary (N and other letters)", "gbqc_flag": theirs.get("Unique bases", {}).get("flag"),
                 "ours": {c: d["rows_with_n"] for c, d in letters.items()}})
    duplicates = report["duplicates"]
    rows.append({"check": "duplicates within labels / between labels",
                 "gbqc_flag": [theirs.get("Sequence Duplications within Labels", {}).get("flag"),
                               theirs.get("Duplicate Sequences between Labels", {}).get("flag")],
                 "ours": {"within_splits": sum(d["exact_redundant"] + d["rc_redundant"]
                                               for d in duplicates["within_split"].values()),
                          "label_conflict_groups": sum(d["label_conflict_groups"]
                                                       for d in duplicates["within_split"].values())}})
    near = report["near_duplicates"]["pairs"]["test_vs_train_validation"]
    split_row = {"check": "test near-duplicates of train", "ours": near["near_duplicates"],
                 "ours_fraction": near["near_duplicate_fraction"]}
    hits = next((work / "qc" / "split").rglob("mmseqs2_search_result.tsv"), None) if (work / "qc" / "split").is_dir() else None
    if hits is not None:
        g = pd.read_csv(hits, sep="\t")
        leaked = set(g["query"])
        # the test rows ours flags, by gb-qc's staging ids (the report lists examples only: search again)
        from gbhub.builders.audit.duplicates import sequence_codes
        from gbhub.builders.audit.similarity import SimilarityParams, find_near_duplicates, sketch
        from gbhub.builders.audit.sources import from_frame

        inp = from_frame("nontata", pd.read_parquet(work / "split.parquet"), where="nontata")
        params = SimilarityParams()
        found = find_near_duplicates(inp, inp.split_mask("test"), inp.split_mask("train"), params,
                                     sketch(inp.sequences, params), sequence_codes(inp.sequences))
        ours_ids = set(inp.frame["id"].to_numpy()[found.flagged])
        split_row.update(gbqc=len(leaked), gbqc_fraction=round(len(leaked) / result["test"], 6),
                         gbqc_found_by_ours=len(leaked & ours_ids), gbqc_missed_by_ours=sorted(leaked - ours_ids),
                         ours_only=len(ours_ids - leaked), gbqc_min_identity=float(g["pident"].min()))
    rows.append(split_row)
    result["checks"] = rows
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
