"""`gbhub leaderboard` (runs and model cards beside the published figures) and `gbhub baselines` (train, then rank)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

from gbhub.builders.errors import GBHubError
from gbhub.builders.hub_layout import configs_in, split_files
from gbhub.commands.argtypes import positive_int
from gbhub.training.args import RunArguments, seeds_flag

logger = logging.getLogger(__name__)

#: The recipes `gbhub baselines` trains when `--recipes` is not given: the from-scratch baselines. (`lm` and
#: `dnabert` fine-tune a pretrained checkpoint the user names with `--model`; they are not baselines to grid.)
DEFAULT_RECIPES = ("cnn", "deepenhancer")
#: Relative cost of one sequence-epoch, for the grid's time estimate: DeepEnhancer trained 45 sequences/s vs
#: the CNN's 873 on the same data and machine (README, DeepEnhancer section), about 19x.
COST_PER_SEQUENCE = {"cnn": 1, "deepenhancer": 19}
#: The protocol `gbhub baselines` asks each recipe for; a recipe without it uses its default protocol.
BASELINE_PROTOCOL = "paper"
#: The settings `gbhub baselines` may override, and where a run's `metrics.json` records each: `hyperparameters`
#: (a `RunArguments` field) or its top level (a `DataArguments` field).
OVERRIDES = {"epochs": "hyperparameters", "max_steps": "hyperparameters", "max_train_samples": "top",
             "card_dataset_id": "top"}
#: Overrides that change what a run computes: a finished run must have recorded the value this call trains with
#: (the protocol's when not given now). `card_dataset_id` only names the dataset in the card: compared when given.
RESULT_OVERRIDES = ("epochs", "max_steps", "max_train_samples")


class BaselinesError(GBHubError, ValueError):
    """`gbhub baselines` cannot start: no config in the folder, an unknown recipe or config; says what to pass."""


def register(subparsers) -> None:
    """Add `leaderboard` and `baselines` to the `gbhub` subparsers."""
    board = subparsers.add_parser(
        "leaderboard", help="compare runs and model cards, by config and split protocol, with published figures",
        description="Read run folders of `gbhub train` (every seed), folders of runs, model cards or Hub model ids "
                    "(their model-index), group them by benchmark config and split protocol (upstream, _leakfree, "
                    "_chromsplit), report every test metric as mean ± std over seeds with the seed count (rows that "
                    "differ in protocol, settings or data are never averaged), place the published figures beside "
                    "them with the protocol each source states, flag splits the audit found leaking, and write "
                    "leaderboard.md, leaderboard.json and leaderboard.png into --out. With --dataset DIR (a local "
                    "Hub-layout folder) the board is also kept in DIR/baselines/, which `gbhub card DIR` renders as "
                    "the card's Baselines section.")
    board.add_argument("sources", nargs="+", metavar="RUN_OR_MODEL_ID",
                       help="a run folder, a folder of runs (e.g. the --out of `gbhub baselines`), a model card "
                            "README.md, or a Hub model id ORG/NAME")
    board.add_argument("--dataset", metavar="DIR|ORG/NAME",
                       help="the dataset the runs were trained on: a Hub-layout folder or a Hub dataset id, for its "
                            "audit reports and provenance (default: the folder each run recorded, when it exists)")
    board.add_argument("--out", required=True, type=Path, metavar="DIR",
                       help="folder for leaderboard.md, leaderboard.json and leaderboard.png")
    board.add_argument("--metric", default=None, metavar="NAME",
                       help="headline metric of the plot and of the upstream-vs-variant comparison, for every "
                            "benchmark that has it (default, and for the others: accuracy for classification, r2 "
                            "for regression; or f1, mcc, auroc, auprc, pearson, ...)")
    board.add_argument("--no-published", action="store_true", help="leave the published figures out")
    board.add_argument("--no-progress", action="store_true", help="hide progress bars (Hub downloads)")
    board.set_defaults(func=run_leaderboard)

    base = subparsers.add_parser(
        "baselines", help="train the baseline recipes on every built config over seeds, then the leaderboard",
        description=f"Train the baseline recipes (default: {', '.join(DEFAULT_RECIPES)}) on every config built in DIR "
                    "(variants included) with --seeds and each recipe's paper protocol, one run folder per config and "
                    "recipe under "
                    "--out; finished runs are skipped and interrupted ones resume from their checkpoints, so the "
                    "command can be re-run after an interruption. A progress bar over the whole grid estimates the "
                    "time left. Then writes the leaderboard into OUT/leaderboard/ and DIR/baselines/ and re-renders "
                    "DIR/README.md with its Baselines section.")
    base.add_argument("dataset", type=Path, metavar="DIR", help="a Hub-layout folder written by `gbhub build --out DIR`")
    base.add_argument("--out", required=True, type=Path, metavar="DIR",
                      help="folder of the runs (OUT/<config>/<recipe>/) and of the leaderboard (OUT/leaderboard/)")
    base.add_argument("--seeds", type=seeds_flag, default=(1, 2, 3, 4, 5), metavar="N[,N...]",
                      help="training seeds of every run (default: 1,2,3,4,5)")
    base.add_argument("--recipes", default=",".join(DEFAULT_RECIPES), metavar="NAME[,NAME...]",
                      help=f"recipes to train (default: {','.join(DEFAULT_RECIPES)})")
    base.add_argument("--configs", metavar="NAME[,NAME...]", help="only these configs of DIR (default: every one)")
    base.add_argument("--protocol", default=BASELINE_PROTOCOL,
                      help=f"protocol of each recipe (default: {BASELINE_PROTOCOL}; a recipe without it uses its default)")
    base.add_argument("--epochs", type=positive_int, metavar="N", help="override the protocol's epochs")
    base.add_argument("--max-steps", type=positive_int, metavar="N",
                      help="stop each seed after N optimiser steps (smoke runs)")
    base.add_argument("--max-train-samples", type=positive_int, metavar="N",
                      help="train on a seeded subset of N rows (smoke runs)")
    base.add_argument("--card-dataset-id", metavar="ORG/NAME",
                      help="Hub dataset id written in the model cards and in the re-rendered dataset card's snippets")
    base.add_argument("--no-card", action="store_true", help="do not re-render DIR/README.md at the end")
    base.add_argument("--no-progress", action="store_true", help="hide progress bars")
    base.set_defaults(func=run_baselines)


# ------------------------------------------------------------------------------------------------ leaderboard


def run_leaderboard(args: argparse.Namespace) -> int:
    """`gbhub leaderboard SOURCE... --out DIR`: write the board, print where it is and one line per row."""
    from gbhub.commands.train import _quiet

    with _quiet(args.no_progress):
        board, written = make_leaderboard(args.sources, args.out, dataset=args.dataset, metric=args.metric,
                                          published=not args.no_published)
    print_board(board, written)
    if any(k.startswith("dataset ") for k in written):
        print(f"run `gbhub card {args.dataset}` to render the board into the dataset card's Baselines section")
    return 0


def make_leaderboard(sources: Sequence[str], out: Path, *, dataset: str | Path | None = None,
                     metric: str | None = None, published: bool = True,
                     hub_download: Callable | None = None, card_loader: Callable | None = None) -> tuple[dict, dict]:
    """Read `sources`, build the board, write it into `out` (and into a local `dataset` folder's `baselines/`).

    Returns:
        `(board, {name: path written})`.
    """
    from gbhub.hub_cards import leaderboard as lb

    results = lb.read_sources(sources, hub_download=hub_download, card_loader=card_loader)
    local = Path(dataset).expanduser() if dataset is not None and Path(dataset).expanduser().is_dir() else None
    if dataset is not None and local is None and not lb._is_hub_id(str(dataset)):
        raise lb.LeaderboardError(f"--dataset {dataset}: no such folder, and not a Hub dataset id ORG/NAME; pass the "
                                  "Hub-layout folder the runs were trained on, or its Hub id")
    audits, provenances = ({}, {}) if dataset is None or local is not None else _hub_dataset_files(
        str(dataset), sorted({r.config for r in results}), hub_download)
    board = lb.build_board(results, dataset=local, audits=audits, provenances=provenances,
                           published=None if published else [], metric=metric)
    written = {f"{k}": v for k, v in lb.write_board(board, out).items()}
    if local is not None and configs_in(local):
        from gbhub.builders.locks import folder_lock

        with folder_lock(local, "gbhub leaderboard"):  # the folder's one writer while baselines/ changes
            written.update({f"dataset {k}": v for k, v in lb.store_in_dataset(board, local).items()})
    return board, written


def _hub_dataset_files(repo_id: str, configs: Sequence[str], hub_download: Callable | None) -> tuple[dict, dict]:
    """Audit reports and provenance of `configs` from a Hub dataset repository (those it has)."""
    from huggingface_hub import hf_hub_download

    from gbhub.builders.hub_layout import audit_path, provenance_path

    download = hub_download or hf_hub_download
    found: tuple[dict, dict] = ({}, {})
    for config in configs:
        for target, rel in ((found[0], audit_path("", config)), (found[1], provenance_path("", config))):
            try:
                path = download(repo_id, rel.as_posix(), repo_type="dataset")
                target[config] = json.loads(Path(path).read_text(encoding="utf-8"))
            except Exception as err:  # noqa: BLE001 - a missing audit is shown as "not audited"
                logger.info("no %s in %s: %s", rel.as_posix(), repo_id, str(err).splitlines()[0] if str(err) else err)
    return found


def print_board(board: dict, written: dict) -> None:
    from gbhub.hub_cards.leaderboard import board_headline, format_stat

    for e in board["entries"]:
        metric = board_headline(board, e["base"])  # accuracy for a classification benchmark, R² for a regression one
        st = e["stats"].get("test", {}).get(metric)
        split = e.get("split_label") or e["split_protocol"]
        print(f"{e['base']:<34} {split:<10} {e['label']:<28} test {metric} {format_stat(st, metric)}")
    for name, path in written.items():
        print(f"{name}: {path}")


# ------------------------------------------------------------------------------------------------ baselines


@dataclass
class GridItem:
    """One run of the grid: a recipe on a config, into `out`, and its size in CNN-equivalent sequence-epochs
    (sequence-epochs over every seed times the recipe's `COST_PER_SEQUENCE`), for the progress bar's estimate;
    `expected`: the value of each of `RESULT_OVERRIDES` the run trains with (the protocol's unless overridden)."""

    config: str
    recipe: str
    protocol: str
    out: Path
    work: int
    expected: dict = field(default_factory=dict)


def run_baselines(args: argparse.Namespace) -> int:
    from gbhub.commands.train import _require_train_extra

    _require_train_extra()
    result = baselines(args.dataset, args.out, seeds=args.seeds,
                       recipes=[r for r in args.recipes.split(",") if r],
                       configs=[c for c in args.configs.split(",") if c] if args.configs else None,
                       protocol=args.protocol, overrides=_overrides(args), card=not args.no_card,
                       progress=not args.no_progress)
    return 1 if result["failed"] else 0


def _overrides(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}


def plan_grid(dataset: Path, out: Path, *, seeds: Sequence[int], recipes: Sequence[str], configs: Sequence[str] | None,
              protocol: str, overrides: dict) -> list[GridItem]:
    """The runs of `gbhub baselines`, sorted by config then recipe.

    Raises:
        BaselinesError: no built config in `dataset`, an unknown config or recipe.
    """
    from gbhub.training.recipes import RECIPES

    built = configs_in(dataset)
    if not built:
        raise BaselinesError(f"{dataset} holds no built config (provenance/<config>.json and Parquet); build one "
                             "with `gbhub build NAME --out DIR`")
    unknown = sorted(set(configs or ()) - set(built))
    if unknown:
        raise BaselinesError(f"--configs {','.join(unknown)}: not built in {dataset}; built: {', '.join(built)}")
    missing = [r for r in recipes if r not in RECIPES]
    if missing or not recipes:
        raise BaselinesError(f"--recipes {','.join(missing) or '(none)'}: expected recipes among "
                             f"{', '.join(RECIPES)}")
    items = []
    for config in sorted(configs or built):
        rows = sum(_parquet_rows(f) for f in split_files(dataset, config, "train"))
        for name in sorted(set(recipes)):
            recipe = RECIPES[name]
            chosen = protocol if protocol in recipe.protocols else next(iter(recipe.protocols), "")
            preset = {**_run_defaults(), **recipe.defaults, **recipe.protocols.get(chosen, {}), **overrides}
            epochs = int(preset["epochs"])
            rows_used = min(rows, overrides.get("max_train_samples") or rows)
            work = rows_used * epochs
            if preset.get("max_steps"):
                work = min(work, int(preset["max_steps"]) * int(preset.get("batch_size", 64)))
            work = max(work, 1) * COST_PER_SEQUENCE.get(name, 1) * len(seeds)
            expected = {k: preset.get(k) for k in RESULT_OVERRIDES}
            items.append(GridItem(config, name, chosen, Path(out) / config / name, work, expected))
    return items


def _run_defaults() -> dict:
    """`RunArguments`' own defaults (a recipe's defaults and protocol go over them)."""
    return {f.name: f.default for f in fields(RunArguments)}


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def finished(item: GridItem, seeds: Sequence[int], overrides: dict) -> bool:
    """Whether `item.out` holds a finished run of the same recipe, config, protocol, seeds and overrides.

    Every override that changes results (`RESULT_OVERRIDES`) is compared, given now or not: one absent now
    means the protocol's value (`item.expected`), so a smoke run (`--max-steps 5`) is not finished for a call
    without it. `card_dataset_id` is compared when given."""
    path = item.out / "metrics.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    hp = record.get("hyperparameters") or {}
    same = (record.get("recipe") == item.recipe and record.get("config") == item.config
            and list(record.get("seeds") or []) == list(seeds) and (hp.get("protocol") or "") == item.protocol)
    wanted = {**{k: item.expected.get(k) for k in RESULT_OVERRIDES}, **overrides}
    for key, value in wanted.items():
        recorded = hp.get(key) if OVERRIDES.get(key) == "hyperparameters" else record.get(key)
        same = same and recorded == value
    return same


def baselines(dataset: Path, out: Path, *, seeds: Sequence[int] = (1, 2, 3, 4, 5), recipes: Sequence[str] = DEFAULT_RECIPES,
              configs: Sequence[str] | None = None, protocol: str = BASELINE_PROTOCOL, overrides: dict | None = None,
              card: bool = True, progress: bool = True, train: Callable | None = None) -> dict:
    """Train the grid (skipping finished runs, resuming interrupted ones), then write the leaderboard.

    Args:
        dataset: the Hub-layout folder.
        out: the runs' folder (`OUT/<config>/<recipe>/`); the leaderboard goes to `OUT/leaderboard/`.
        seeds, recipes, configs, protocol: the grid.
        overrides: `epochs`, `max_steps`, `max_train_samples`, `card_dataset_id` for every run.
        card: re-render `dataset/README.md` at the end.
        progress: show the grid's progress bar (and the runs' own bars).
        train: `gbhub.training.run.train` or a stand-in (tests).

    Returns:
        `{"trained": [...], "skipped": [...], "failed": {config/recipe: error}, "board": board, "written": {...}}`.
    """
    from tqdm.auto import tqdm

    from gbhub.commands.train import _quiet

    if train is None:
        from gbhub.training.run import train
    overrides = dict(overrides or {})
    dataset, out = Path(dataset), Path(out)
    items = plan_grid(dataset, out, seeds=seeds, recipes=recipes, configs=configs, protocol=protocol,
                      overrides=overrides)
    done = [i for i in items if finished(i, seeds, overrides)]
    todo = [i for i in items if i not in done]
    print(f"baselines: {len(items)} runs ({len(done)} finished, skipped; {len(todo)} to train) over "
          f"{len(seeds)} seeds, {sum(i.work for i in todo):,} CNN-equivalent sequence-epochs to go; runs in {out}")
    trained, failed = [], {}
    started = time.perf_counter()
    with _quiet(not progress):
        bar = tqdm(total=sum(i.work for i in items), initial=sum(i.work for i in done), unit="seq", unit_scale=True,
                   desc="baselines", disable=not progress, dynamic_ncols=True)
        with bar:
            for item in todo:
                bar.set_postfix_str(f"{item.config} / {item.recipe}")
                given = {"dataset": str(dataset), "config": item.config, "out": str(item.out), "seeds": tuple(seeds),
                         "protocol": item.protocol, "no_progress": not progress, **overrides}
                if item.out.exists():  # an interrupted run (or one with other seeds): continue from its checkpoints
                    given["resume"] = True
                try:
                    train(item.recipe, given)
                except GBHubError as err:
                    failed[f"{item.config}/{item.recipe}"] = str(err)
                    bar.write(f"baselines: {item.config} / {item.recipe} failed: {err}")
                else:
                    trained.append(f"{item.config}/{item.recipe}")
                bar.update(item.work)
    print(f"baselines: trained {len(trained)}, skipped {len(done)}, failed {len(failed)} in "
          f"{time.perf_counter() - started:.0f} s")
    runs = [str(i.out) for i in items if (i.out / "metrics.json").is_file()]
    board, written = ({}, {})
    if runs:
        board, written = make_leaderboard(runs, out / "leaderboard", dataset=dataset)
        if card and (dataset / "README.md").is_file():
            from gbhub.builders.hub_layout import card_path, recover
            from gbhub.builders.locks import folder_lock
            from gbhub.hub_cards.dataset_card import write_dataset_card

            repo_id = overrides.get("card_dataset_id")  # the snippets load from it, as `gbhub card --repo-id`
            with folder_lock(dataset, "gbhub baselines"):  # as `gbhub card`: complete any interrupted write first
                recover(dataset, lambda folder: write_dataset_card(folder, repo_id=repo_id), force=True)
            written["dataset card"] = card_path(dataset)
        print_board(board, written)
    return {"trained": trained, "skipped": [f"{i.config}/{i.recipe}" for i in done], "failed": failed,
            "board": board, "written": written}

