"""Subcommands of the training package for `gbhub`: `train cnn`, `train dnabert` and `demo`."""

from __future__ import annotations

import argparse
import importlib.util

from gbhub.builders.hub_layout import DEFAULT_SEED


def _train_extra_missing() -> list[str]:
    return [m for m in ("torch", "transformers", "accelerate", "evaluate", "sklearn") if importlib.util.find_spec(m) is None]


class DeferredParser(argparse.ArgumentParser):
    """A subcommand parser whose arguments are added on first use (`populate(parser)`).

    `gbhub list` and `gbhub --help` build every parser; deferring the `train` leaves keeps transformers
    (the `HfArgumentParser` of `train cnn`) out of them. Parsing or printing help populates the parser.
    """

    def __init__(self, *args, populate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._populate = populate

    def _ensure_populated(self) -> None:
        populate, self._populate = self._populate, None
        if populate is not None:
            populate(self)

    def parse_known_args(self, args=None, namespace=None):
        self._ensure_populated()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._ensure_populated()
        return super().format_help()

    def format_usage(self) -> str:
        self._ensure_populated()
        return super().format_usage()


def register(subparsers) -> None:
    """Add `train` (with `cnn` and `dnabert` under it) and `demo` to the `gbhub` subparsers.

    The `train` leaves are `DeferredParser`s: `add_parser(..., populate=fn)` adds their flags on first use.
    """
    train = subparsers.add_parser("train", help="train a baseline model on a benchmark config")
    missing = _train_extra_missing()
    if missing:
        train.set_defaults(func=lambda args: _missing_extra(missing))
        demo = subparsers.add_parser("demo", help="offline end-to-end demo (needs the [train] extra)")
        demo.add_argument("--out", default="gbhub-demo")
        demo.set_defaults(func=lambda args: _missing_extra(missing))
        return
    train_subparsers = train.add_subparsers(dest="model", metavar="MODEL", required=True, parser_class=DeferredParser)
    from gbhub.training import cnn_cli, dnabert_cli

    cnn_cli.register(train_subparsers)
    dnabert_cli.register(train_subparsers)

    demo = subparsers.add_parser(
        "demo",
        help="offline end to end: build the synthetic benchmark, train the CNN, evaluate, write the card",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument("--out", default="gbhub-demo", help="folder for the dataset and the run")
    demo.add_argument("--epochs", type=int, default=10, help="training epochs (the paper protocol's 10)")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.set_defaults(func=_demo)


def _missing_extra(missing: list[str]) -> int:
    from gbhub.builders.errors import GBHubError

    raise GBHubError(
        f"training needs {', '.join(missing)}, which are not installed: "
        "pip install 'genomic-benchmarks-hub[train]'"
    )


def _demo(args) -> int:
    run_demo(args.out, epochs=args.epochs, seed=args.seed, progress=not args.no_progress)
    return 0


def run_demo(out: str, *, epochs: int = 10, seed: int = DEFAULT_SEED, progress: bool = True) -> dict:
    """Build `synthetic` into `OUT/data`, train the CNN into `OUT/cnn`, print where everything is.

    Returns:
        The run's metrics record (as written to `OUT/cnn/metrics.json`).
    """
    import time
    from pathlib import Path

    from gbhub.builders.build import build_benchmark
    from gbhub.hub_cards.dataset_card import write_dataset_card
    from gbhub.training import cnn_cli

    started = time.perf_counter()
    out_dir = Path(out)
    data_dir = out_dir / "data"
    build_benchmark("synthetic", data_dir, seed=seed, progress=progress)
    write_dataset_card(data_dir)
    built = time.perf_counter() - started
    record = cnn_cli.run(
        cnn_cli.DataArguments(dataset=str(data_dir), config="synthetic", out=str(out_dir / "cnn")),
        cnn_cli.CNNModelArguments(),
        cnn_cli.CNNTrainingArguments(epochs=epochs, seed=seed, no_progress=not progress),
    )
    total = time.perf_counter() - started
    test = record["metrics"]["test"]
    print(f"dataset (Hub layout, card): {data_dir}  [README.md, synthetic/*.parquet]  built in {built:.1f} s")
    print(f"model run: {out_dir / 'cnn'}")
    for name in ("README.md", "model.safetensors", "metrics.json", "predictions_test.csv",
                 "training_curve.png", "confusion_matrix.png"):
        print(f"  {out_dir / 'cnn' / name}")
    print(
        f"trained {record['epochs_run']} epochs ({record['global_step']} steps, "
        f"{record['throughput']['train_samples_per_second']:.0f} seq/s), best epoch {record['best_epoch']}"
    )
    print("test metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items() if v is not None))
    print(f"total {total:.1f} s. Publish with: gbhub push-model {out_dir / 'cnn'} --repo-id ORG/NAME")
    return record
