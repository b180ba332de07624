"""Benchmark: CNN training throughput, ours (Accelerate loop) vs the upstream `genomic-benchmarks` torch CNN + loop.

    python scripts/bench_training.py                       # 27,097 x 251 bp, batch 64, 1 epoch each, 1 thread
    python scripts/bench_training.py --threads 2 --epochs 2
    python scripts/bench_training.py --upstream-src DIR    # an unpacked genomic-benchmarks sdist or site-packages

Data: `human_nontata_promoters`-shaped: as many sequences as its train split (27,097, 251 bp), drawn from
the real 9,034 sequences in `../shared/upstream/...` when present (random ACGT otherwise). Both sides
train on the same sequences and labels, with the same batch size, thread count and number of epochs.

- ours: `gbhub.training.loop.fit` (Accelerate, `RowDataset` + `collate`, one-hot CNN) on the encoded split;
  throughput from its training passes (validation excluded); the data path is timed by iterating the
  same prepared loader alone; encoding time is reported separately (once per run, not per epoch).
- upstream: `genomic_benchmarks/models/torch.py` from the PyPI package (1.0.0), loaded by file path,
  `CNN(number_of_classes=2, vocab_size, embedding_dim=100, input_len)` and its own `train_loop` over a
  `DataLoader` with upstream's `LetterTokenizer`, `build_vocab` and `coll_factory` (from
  `dataset_getters/utils.py`, loaded by path; `torchtext`, which does not install with current torch, is
  replaced by a 20-line stand-in for `torchtext.vocab.vocab` with the same lookups). Its dataset is an
  in-memory list of `(sequence, label)`: faster than upstream's one `.txt` file per sequence, so the
  comparison favours upstream. Its data path is timed by iterating its loader alone.

The upstream package is fetched with `pip download genomic-benchmarks==1.0.0 --no-deps` into the work folder
unless `--upstream-src` or an installed `genomic_benchmarks` is found; it is never installed. Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "upstream" / "allison-eunse__ai4h-inspired-fm-benchmark-hub" / "human_nontata_promoters_test.tsv.gz"
N_TRAIN = 27_097  # human_nontata_promoters upstream train split
LENGTH = 251


def make_data(n: int, seed: int) -> tuple[list[str], np.ndarray, str]:
    """`n` sequences of 251 bp and 0/1 labels (real promoters when available)."""
    rng = np.random.default_rng(seed)
    if REAL.is_file():
        import pandas as pd

        frame = pd.read_csv(REAL, sep="\t")
        pick = rng.integers(0, len(frame), n)
        return frame.seq.values[pick].tolist(), frame.label.values[pick].astype(np.int64), str(REAL)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    seqs = [bytes(letters[rng.integers(0, 4, LENGTH)]).decode() for _ in range(n)]
    return seqs, rng.integers(0, 2, n), "random ACGT"


# --- ours -------------------------------------------------------------------------------------------------


def bench_ours(seqs, labels, *, batch_size: int, epochs: int, workdir: Path) -> dict:
    from gbhub.training import encoding
    from gbhub.training.args import RunArguments
    from gbhub.training.data import EncodedSplit, Prepared, RowDataset
    from gbhub.training.loop import EpochShuffleSampler, fit, make_accelerator, make_loader
    from gbhub.training.metrics_util import score
    from gbhub.training.models.cnn import CNNConfig, CNNForSequenceClassification

    started = time.perf_counter()
    enc = encoding.encode(seqs, LENGTH)
    encode_seconds = time.perf_counter() - started
    ids = [str(i) for i in range(len(seqs))]

    def split(n):
        rows = RowDataset({"input_ids": enc.ids[:n], "lengths": enc.lengths[:n], "labels": labels[:n]})
        return EncodedSplit(rows, labels[:n], ids[:n])

    train, val = split(len(seqs)), split(512)
    prepared = Prepared({"train": train, "validation": val, "test": val})
    run = RunArguments(epochs=epochs, batch_size=batch_size, eval_batch_size=256, no_progress=True, precision="fp32",
                       cpu=True)
    accelerator = make_accelerator(run)
    torch.manual_seed(0)
    model = CNNForSequenceClassification(CNNConfig(input_length=LENGTH, id2label={0: "negative", 1: "positive"}))
    _, result = fit(model, prepared, run, 0, accelerator, workdir / "ours", greater_is_better=False,
                    evaluate=lambda out: score("classification", out, val.targets, 2)[0])

    # the data path alone: the same loader, prepared the same way, iterated without a model
    loader = accelerator.prepare(make_loader(train, batch_size, sampler=EpochShuffleSampler(len(train), 0)))
    started = time.perf_counter()
    for batch in loader:
        batch["input_ids"].shape  # noqa: B018
    data_seconds = time.perf_counter() - started
    epoch_seconds = result.train_seconds / len(result.history)
    return {
        "samples_per_second": result.samples_per_second,
        "epoch_seconds": epoch_seconds,
        "epoch_seconds_each": [h["seconds"] for h in result.history],
        "data_seconds_per_epoch": data_seconds,
        "fraction_outside_forward_backward": data_seconds / epoch_seconds,
        "encode_seconds_once": encode_seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


# --- upstream ---------------------------------------------------------------------------------------------


class _Vocab:
    """Stand-in for the `torchtext.vocab.Vocab` calls upstream makes (same lookups, no torchtext)."""

    def __init__(self, ordered: OrderedDict):
        self.itos = list(ordered)
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.default = None

    def append_token(self, token):
        self.stoi[token] = len(self.itos)
        self.itos.append(token)

    def insert_token(self, token, index):
        self.itos.insert(index, token)
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def set_default_index(self, index):
        self.default = index

    def __getitem__(self, token):
        return self.stoi.get(token, self.default)

    def __len__(self):
        return len(self.itos)


def _stub_torchtext() -> None:
    vocab_mod = types.ModuleType("torchtext.vocab")
    vocab_mod.vocab = lambda counter: _Vocab(OrderedDict(counter))
    vocab_mod.build_vocab_from_iterator = None
    pkg = types.ModuleType("torchtext")
    pkg.vocab = vocab_mod
    sys.modules.setdefault("torchtext", pkg)
    sys.modules.setdefault("torchtext.vocab", vocab_mod)


def upstream_source(given: str | None, workdir: Path) -> Path:
    """The folder holding upstream's `genomic_benchmarks/` package sources."""
    if given:
        root = Path(given)
        hits = list(root.glob("**/genomic_benchmarks/models/torch.py"))
        if not hits:
            raise SystemExit(f"--upstream-src {given}: no genomic_benchmarks/models/torch.py inside")
        return hits[0].parents[2]
    spec = importlib.util.find_spec("genomic_benchmarks")
    if spec and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]).parent
    dest = workdir / "upstream"
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "genomic-benchmarks==1.0.0", "--no-deps",
                    "--no-binary", ":all:", "-d", str(dest), "-q"], check=True)
    sdist = next(dest.glob("genomic_benchmarks-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        tar.extractall(dest, filter="data")
    return next(dest.glob("genomic_benchmarks-*/src"))


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_upstream(seqs, labels, *, batch_size: int, epochs: int, src: Path) -> dict:
    _stub_torchtext()
    models = _load(src / "genomic_benchmarks" / "models" / "torch.py", "gb_upstream_torch")
    utils = _load(src / "genomic_benchmarks" / "dataset_getters" / "utils.py", "gb_upstream_utils")
    dataset = list(zip(seqs, labels.tolist()))
    tokenizer = utils.LetterTokenizer()
    vocab = utils.build_vocab(dataset, tokenizer, use_padding=False)
    devnull = open(os.devnull, "w")
    stdout, sys.stdout = sys.stdout, devnull  # upstream prints as it goes
    try:
        _, input_len = utils.check_seq_lengths(dataset, use_padding=False)  # 251 + <bos>, <eos>
    finally:
        sys.stdout = stdout
    collate = utils.coll_factory(vocab, tokenizer, device="cpu")
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=collate)
    torch.manual_seed(0)
    model = models.CNN(number_of_classes=2, vocab_size=len(vocab), embedding_dim=100, input_len=input_len, device="cpu")
    optimizer = torch.optim.Adam(model.parameters())
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        stdout, sys.stdout = sys.stdout, devnull  # train_loop prints per epoch
        try:
            model.train_loop(loader, optimizer)
        finally:
            sys.stdout = stdout
        seconds.append(time.perf_counter() - started)
    started = time.perf_counter()
    for x, y in loader:
        x.shape  # noqa: B018
    data_seconds = time.perf_counter() - started
    epoch_seconds = float(np.mean(seconds))
    return {
        "samples_per_second": len(dataset) / epoch_seconds,
        "epoch_seconds": epoch_seconds,
        "epoch_seconds_each": seconds,
        "data_seconds_per_epoch": data_seconds,
        "fraction_outside_forward_backward": data_seconds / epoch_seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=N_TRAIN, help="training sequences")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per side")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (both sides)")
    parser.add_argument("--upstream-src", help="unpacked genomic-benchmarks sources (default: pip download)")
    parser.add_argument("--skip-upstream", action="store_true")
    parser.add_argument("--workdir", default=None, help="scratch folder, kept (default: a temporary one, removed)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="gbhub-bench-training-"))
    seqs, labels, source = make_data(args.n, seed=0)
    report = {
        "data": {"sequences": len(seqs), "length": LENGTH, "source": source},
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }
    src = None if args.skip_upstream else upstream_source(args.upstream_src, workdir)  # fail before timing
    report["ours"] = bench_ours(seqs, labels, batch_size=args.batch_size, epochs=args.epochs, workdir=workdir)
    if src is not None:
        report["upstream"] = bench_upstream(seqs, labels, batch_size=args.batch_size, epochs=args.epochs, src=src)
        report["upstream"]["source"] = str(src)
        report["speedup_per_epoch"] = report["upstream"]["epoch_seconds"] / report["ours"]["epoch_seconds"]
    print(json.dumps(report, indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
