"""`gbhub train RECIPE` (one subcommand per recipe, flags from the one argument schema) and `gbhub demo`."""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import DEFAULT_SEED
from gbhub.commands.data import positive_int
from gbhub.training.args import DataArguments, RunArguments, add_arguments, seeds_flag
from gbhub.training.recipes import RECIPES

TRAIN_EXTRA = ("torch", "transformers", "accelerate", "evaluate", "sklearn")
EXAMPLE = """example (offline smoke run on the built-in benchmark):
  gbhub build synthetic --out hub
  gbhub train {name} --dataset hub --config synthetic --out runs/{name} --max-steps 20{extra}
"""


def register(subparsers) -> None:
    """Add `train` (one subcommand per recipe) and `demo` to the `gbhub` subparsers."""
    train = subparsers.add_parser(
        "train", help="train a model recipe on a benchmark config",
        description="Train a model recipe on one benchmark config: seeds, selection on validation, one test "
                    "evaluation, a run folder with the model, metrics, predictions, plots and a model card. "
                    "Every recipe takes the same data and run flags; `gbhub train RECIPE --help` lists them.")
    recipes = train.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    for recipe in RECIPES.values():
        p = recipes.add_parser(recipe.name, help=recipe.summary, description=recipe.description,
                               epilog=EXAMPLE.format(name=recipe.name, extra=recipe.example_flags),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        add_arguments(p, (DataArguments, RunArguments, recipe.arguments), protocols=tuple(recipe.protocols),
                      defaults=recipe.defaults)
        p.set_defaults(func=run_train)

    demo = subparsers.add_parser(
        "demo", help="offline end to end: build the synthetic benchmark, train the CNN, write both cards",
        description="Offline end to end: build the built-in synthetic benchmark into OUT/data (Hub layout with "
                    "its card), train the paper's CNN into OUT/cnn, evaluate on test, write the model card.")
    demo.add_argument("--out", default="gbhub-demo", metavar="PATH",
                      help="folder for the dataset and the run (default: gbhub-demo)")
    demo.add_argument("--epochs", type=positive_int, default=10, help="training epochs (default: 10, the paper protocol's)")
    demo.add_argument("--seeds", type=seeds_flag, default=(DEFAULT_SEED,), metavar="N[,N...]",
                      help=f"seeds of the split and the run (default: {DEFAULT_SEED})")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.set_defaults(func=run_demo_command)


def _require_train_extra() -> None:
    missing = [m for m in TRAIN_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        raise GBHubError(f"training needs {', '.join(missing)}, which are not installed: "
                         "pip install 'genomic-benchmarks-hub[train]'")


def run_train(args: argparse.Namespace) -> int:
    """`gbhub train RECIPE ...`: train, then print where the run is and its test metrics."""
    _require_train_extra()
    from gbhub.training.run import train  # lazy: torch and transformers load only when training

    given = {k: v for k, v in vars(args).items() if k not in ("func", "command", "recipe", "verbose")}
    with _quiet(given.get("no_progress", False)):
        record = train(args.recipe, given)
    if record is not None:  # None on the non-main processes of a distributed run
        print_summary(record)
    return 0


def print_summary(record: dict) -> None:
    """The lines a finished run prints: where it is, what it did, its test metrics."""
    test = record["metrics"]["test"]
    print(f"model run: {record['out']}  ({record['recipe']}, seed {record['selected_seed']} selected on validation)")
    throughput = record["throughput"]
    print(f"trained {record['epochs_run']} epochs ({record['global_step']} steps, "
          f"{throughput['train_samples_per_second'] or 0:.0f} {throughput['unit']}/s), best epoch {record['best_epoch']}")
    print("test metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items() if v is not None))
    if len(record["seeds"]) > 1:
        summary = record["summary"]["test"]
        shown = ", ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in summary.items() if k != "loss")
        print(f"test over seeds {','.join(map(str, record['seeds']))}: {shown}")


class _quiet:
    """With `--no-progress`: hide the progress bars of datasets and transformers too."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            import datasets
            import transformers

            self.restore = (datasets.is_progress_bar_enabled(), transformers.utils.logging.is_progress_bar_enabled())
            datasets.disable_progress_bars()
            transformers.utils.logging.disable_progress_bar()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            import datasets
            import transformers

            if self.restore[0]:
                datasets.enable_progress_bars()
            if self.restore[1]:
                transformers.utils.logging.enable_progress_bar()
        return False


def run_demo_command(args: argparse.Namespace) -> int:
    _require_train_extra()
    run_demo(args.out, epochs=args.epochs, seeds=args.seeds, progress=not args.no_progress)
    return 0


def run_demo(out: str, *, epochs: int = 10, seeds: tuple[int, ...] = (DEFAULT_SEED,), progress: bool = True) -> dict:
    """Build `synthetic` into `OUT/data` (with its card), train the CNN into `OUT/cnn`, print where things are.

    Returns:
        The run's metrics record (as written to `OUT/cnn/metrics.json`).
    """
    from gbhub.builders.build import build_benchmark
    from gbhub.hub_cards.dataset_card import write_dataset_card
    from gbhub.training.run import train

    started = time.perf_counter()
    out_dir = Path(out)
    data_dir = out_dir / "data"
    with _quiet(not progress):
        build_benchmark("synthetic", data_dir, seed=seeds[0], progress=progress)
        write_dataset_card(data_dir)
        built = time.perf_counter() - started
        record = train("cnn", {"dataset": str(data_dir), "config": "synthetic", "out": str(out_dir / "cnn"),
                               "epochs": epochs, "seeds": tuple(seeds), "no_progress": not progress})
    print(f"dataset (Hub layout, card): {data_dir}  [README.md, synthetic/*.parquet]  built in {built:.1f} s")
    print_summary(record)
    for name in ("README.md", "model.safetensors", "metrics.json", "predictions_test.csv",
                 "training_curve.png", "confusion_matrix.png"):
        print(f"  {out_dir / 'cnn' / name}")
    print(f"total {time.perf_counter() - started:.1f} s. The model card names no Hub dataset (the data is local): "
          f"push the data first (gbhub push {data_dir} --repo-id ORG/NAME), then train with --card-dataset-id ORG/NAME")
    return record
