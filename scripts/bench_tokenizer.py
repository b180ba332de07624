"""Benchmark: vectorized k-mer tokenization against the naive path (space-joined k-mers through BertTokenizer).

    python scripts/bench_tokenizer.py --n 100000 --length 251 --k 6 --out bench_tokenizer.json

Both paths run in the same process on the same random sequences (with `N`), their outputs are checked equal,
and the timings (best of `--repeats`) are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from gbhub.training.kmer import KmerTokenizer, build_dnabert_tokenizer, kmer_string  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of sequences")
    parser.add_argument("--length", type=int, default=251, help="bp per sequence")
    parser.add_argument("--k", type=int, default=6, help="k-mer size")
    parser.add_argument("--max-length", type=int, default=512, help="token positions of the model")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path (best is reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    letters = np.array(list("ACGTN"))
    codes = rng.choice(5, p=[0.2475] * 4 + [0.01], size=(args.n, args.length))
    sequences = ["".join(row) for row in letters[codes]]
    tokenizer = build_dnabert_tokenizer(args.k, model_max_length=args.max_length)
    fast = KmerTokenizer.from_tokenizer(tokenizer)
    options = dict(max_length=args.max_length, truncation=True, padding="longest")

    def vectorized():
        return fast(sequences, **options)["input_ids"]

    def naive():
        texts = [kmer_string(s, args.k) for s in sequences]
        return tokenizer(texts, return_tensors="np", **options)["input_ids"]

    def best_of(fn):
        times, out = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    t_vec, ids_vec = best_of(vectorized)
    t_naive, ids_naive = best_of(naive)
    result = {
        "sequences": args.n,
        "length_bp": args.length,
        "k": args.k,
        "max_length": args.max_length,
        "repeats": args.repeats,
        "identical_ids": bool(np.array_equal(ids_vec, ids_naive)),
        "vectorized_s": round(t_vec, 4),
        "naive_s": round(t_naive, 4),
        "vectorized_seqs_per_s": round(args.n / t_vec),
        "naive_seqs_per_s": round(args.n / t_naive),
        "speedup": round(t_naive / t_vec, 1),
        "cpu_count": os.cpu_count(),
        "rayon_threads": os.environ.get("RAYON_NUM_THREADS", "default"),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["identical_ids"] else 1


if __name__ == "__main__":
    sys.exit(main())
