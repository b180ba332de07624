"""The one run driver of every recipe: arguments in; seeds, fit, selection on validation, one test evaluation,
mean ± std over seeds, the run folder (model, metrics.json, predictions, plots, model card) out.

Run folder (`--out`), what `gbhub push-model` uploads (it leaves `checkpoint-*` out):

    config.json, model.safetensors [, tokenizer files]   the selected model (best validation seed)
    metrics.json          every metric of every split, history, hyperparameters, seeds, hardware
    predictions_test.csv  test predictions per sequence
    training_curve.png, confusion_matrix.png
    README.md             the model card (model-index results the Hub shows)
    seed-<n>/             with several seeds: each seed's model, metrics, predictions and plots
    checkpoint-*          resumable states (`--resume`; kept with `--keep-checkpoints`)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from gbhub import __version__
from gbhub.builders.hub_layout import SPLITS, atomic_path, write_json_atomic
from gbhub.builders.locks import folder_lock
from gbhub.training import data as tdata
from gbhub.training.args import (
    SELECTION_METRICS,
    ArgumentError,
    DataArguments,
    RunArguments,
    command_line,
    parse_arguments,
    settings,
)
from gbhub.training.card import write_run_card
from gbhub.training.metrics_util import GREATER_IS_BETTER, score, summarize_runs
from gbhub.training.outputs import better, hardware, json_safe, write_json, write_predictions
from gbhub.training.recipes import Recipe, get_recipe
from gbhub.training.transfer import TransferArguments, check_init_from, initialise_from

logger = logging.getLogger(__name__)

SETTINGS_FILE = "checkpoint-settings.json"  # next to the checkpoints: what `--resume` must match
MODEL_FILES = ("config.json", "model.safetensors", "generation_config.json")


@dataclasses.dataclass
class Arguments:
    """The three argument groups of a run, and the names that were given explicitly."""

    data: DataArguments
    run: RunArguments
    model: Any
    explicit: frozenset[str]


def parse(recipe: Recipe, given: Mapping[str, Any]) -> Arguments:
    """Parse and check every argument of a run (before any data is loaded).

    Raises:
        ArgumentError: naming the first bad argument.
    """
    (data, run, model), explicit = parse_arguments(
        given, (DataArguments, RunArguments, recipe.arguments), protocols=recipe.protocols, defaults=recipe.defaults)
    run = dataclasses.replace(run, eval_batch_size=run.eval_batch_size or 4 * run.batch_size)
    recipe.check(model, run)
    if isinstance(model, TransferArguments):
        check_init_from(model.init_from, model.freeze_convolutions)
    tdata.resolve_dataset(data.dataset, data.config)
    out = Path(data.out)
    if out.exists() and not out.is_dir():
        raise ArgumentError(f"--out {out} is a file: give a folder for the run")
    return Arguments(data, run, model, explicit)


def train(recipe_name: str, given: Mapping[str, Any]) -> dict | None:
    """`gbhub train RECIPE`: train over the seeds, write the run folder, return its `metrics.json` record
    (None on the other processes of a distributed run)."""
    recipe = get_recipe(recipe_name)
    return train_recipe(recipe, parse(recipe, given))


def train_recipe(recipe: Recipe, args: Arguments) -> dict | None:
    """Run a parsed recipe: load and check the data, encode it once, fit every seed, select, write."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Writing model shards" bar at every checkpoint is noise
    try:
        return _train_recipe(recipe, args)
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def _train_recipe(recipe: Recipe, args: Arguments) -> dict | None:
    """Hold the run folder's one-writer lock (main process only) around the run: a second `gbhub train
    --out` on the same folder is refused, naming the holder, instead of interleaving checkpoints."""
    if int(os.environ.get("RANK", "0")) != 0:  # the other processes of a distributed launch
        return _train_locked(recipe, args)
    with folder_lock(args.data.out, command=f"gbhub train {recipe.name}"):
        _sweep_temporary_files(Path(args.data.out))
        return _train_locked(recipe, args)


def _sweep_temporary_files(out: Path) -> None:
    """Remove the `atomic_path` temporaries (`.<name>.<random>.tmp`) a killed run left in the run folder and
    its seed folders: under the folder's lock no live process is writing them."""
    for folder in (out, *sorted(out.glob("seed-*"))):
        for path in folder.glob(".*.tmp"):
            if path.is_file():
                logger.info("removing %s, left by an interrupted run", path)
                path.unlink(missing_ok=True)


def _train_locked(recipe: Recipe, args: Arguments) -> dict | None:
    import torch

    data, run = args.data, args.run
    threads = run.torch_threads or (recipe.cpu_threads if run.cpu or not torch.cuda.is_available() else None)
    if threads:
        torch.set_num_threads(threads)
    out = Path(data.out)
    dsd = tdata.load_splits(data.dataset, data.config, max_train_samples=data.max_train_samples, seed=run.seeds[0])
    task = tdata.task_of(dsd["train"].features, tdata.target_names_of(data.dataset, data.config))
    if task.kind not in recipe.tasks:
        raise ArgumentError(f"{recipe.name} trains {' and '.join(recipe.tasks)} models; {data.config} is a "
                            f"{task.kind} benchmark")
    if run.selection_metric not in SELECTION_METRICS[task.kind]:
        raise ArgumentError(f"--selection-metric {run.selection_metric} is not a {task.kind} metric; expected one of "
                            f"{', '.join(SELECTION_METRICS[task.kind])}")
    tdata.check_trainable(dsd, task, data.dataset, data.config)
    where = f"{data.dataset} [{data.config}]"
    chosen = tdata.select_side_features(dsd["train"].features, data.side_features, where)
    if chosen and task.kind == "classification" and "side_features" not in args.explicit:
        chosen = ()  # the default `all` is for regression benchmarks: extra numeric columns of a classification
        # dataset (e.g. a Hub dataset's scores) are read only when named (`--side-features all|NAMES`)
    if chosen and not recipe.side_features:
        if "side_features" in args.explicit:
            raise ArgumentError(f"--side-features {data.side_features}: {recipe.name} reads the sequence only; pass "
                                "--side-features none, or train a recipe that reads side features")
        chosen = ()
    task = dataclasses.replace(task, side_features=chosen)
    run_settings = {"recipe": recipe.name, **settings([data, run, args.model]),
                    "dataset_fingerprint": tdata.fingerprint(dsd)}
    started = time.perf_counter()
    prepared = recipe.prepare(dsd, task, args.model, run)
    prepared.info["side_features"] = (tdata.attach_side_features(prepared, dsd, task.side_features)
                                      if task.side_features else {"names": [], "mean": [], "std": []})
    logger.info("encoded %s in %.2f s", data.config, time.perf_counter() - started)

    context = {
        "recipe": recipe.name,
        "dataset": data.dataset,
        "card_dataset_id": tdata.hub_dataset_id(data.dataset, data.card_dataset_id, data.config),
        "config": data.config,
        "task": task.kind,
        "label_names": list(task.label_names),
        "side_features": list(task.side_features),
        "n_rows": {s: len(prepared.splits[s]) for s in SPLITS},
        "input": prepared.info,
        "max_train_samples": data.max_train_samples,
        "hyperparameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(run).items()
                            if k not in ("args_json", "no_progress", "resume")},
        "model_arguments": dataclasses.asdict(args.model),
        "command": command_line(recipe.name, [data, run, args.model], args.explicit),
        "dataset_fingerprint": run_settings["dataset_fingerprint"],
        "package_version": __version__,
        "optimizer": "Adam" if recipe.backend == "accelerate" else "AdamW (Trainer default)",
    }
    seeds = list(run.seeds)
    per_seed = []
    main_process = True
    for seed in seeds:
        seed_dir = out if len(seeds) == 1 else out / f"seed-{seed}"
        _check_resume(seed_dir, {**run_settings, "seed": seed}, run.resume)
        record, main_process = _train_seed(recipe, args, task, prepared, seed, seed_dir, context)
        per_seed.append(record)
    key = run.selection_metric
    best = per_seed[0]
    for record in per_seed[1:]:
        if better(record["metrics"]["validation"].get(key), best["metrics"]["validation"].get(key), key):
            best = record
    record = json_safe({
        **best,
        "seeds": seeds,
        "selected_seed": best["seed"],
        "selection": f"best validation {key} over epochs" + (" and seeds" if len(seeds) > 1 else ""),
        "summary": summarize_runs([r["metrics"] for r in per_seed]),
        "per_seed": {str(r["seed"]): r["metrics"] for r in per_seed},
        "out": str(out),
    })
    if not main_process:  # the main process of a distributed run writes the run folder and reports
        return None
    if len(seeds) > 1:  # the root holds the selected seed's model, predictions and plots
        for path in sorted((out / f"seed-{best['seed']}").iterdir()):
            if path.is_file() and path.name not in ("metrics.json", "README.md") and not path.name.startswith("checkpoint-"):
                with atomic_path(out / path.name) as tmp:
                    shutil.copyfile(path, tmp)
    write_json(out / "metrics.json", record)
    write_run_card(out, record, recipe.card(record, args.model), plots=_plot_names(record))
    return record


def _train_seed(recipe: Recipe, args: Arguments, task, prepared, seed: int, seed_dir: Path, context: dict) -> dict:
    """One seed: fit, score every split with the selected weights, write the seed's folder."""
    from transformers import set_seed

    run = args.run
    seed_dir.mkdir(parents=True, exist_ok=True)
    greater = GREATER_IS_BETTER[run.selection_metric]

    def evaluate(split):
        def scored(outputs: np.ndarray) -> dict:
            return score(task.kind, split.sequence_outputs(outputs), split.targets, task.num_outputs)[0]
        return scored

    set_seed(seed)  # weights (and a pre-trained model's new head) are initialised here
    model = recipe.build_model(prepared, task, args.model)
    parent = None
    if isinstance(args.model, TransferArguments) and args.model.init_from:  # `--init-from`: the parent's weights
        parent = initialise_from(model, args.model.init_from, freeze_convolutions=args.model.freeze_convolutions)
    options = recipe.fit_options(args.model)
    splits = ("train", "validation", "test") if recipe.score_train else ("validation", "test")
    outputs: dict[str, np.ndarray] = {}
    if recipe.backend == "accelerate":
        from gbhub.training import loop

        accelerator = loop.make_accelerator(run)
        accelerator.free_memory()
        model, result = loop.fit(model, prepared, run, seed, accelerator, seed_dir,
                                 evaluate=evaluate(prepared.splits["validation"]), greater_is_better=greater,
                                 **options)
        rc = prepared.reverse_complement if options.get("rc_average") else None
        for name in splits:
            loader = accelerator.prepare(loop.make_loader(prepared.splits[name], run.eval_batch_size))
            outputs[name] = loop.predict(model, loader, accelerator, reverse_complement=rc)
        model = accelerator.unwrap_model(model)
        hw = hardware(accelerator.device.type, accelerator.num_processes, str(accelerator.mixed_precision),
                      _gpu_name(accelerator.device))
        main_process = accelerator.is_main_process
        save = accelerator.save
    else:
        from gbhub.training import hf_trainer

        trainer, result = hf_trainer.fit(model, prepared, run, seed, seed_dir,
                                         evaluate=evaluate(prepared.splits["validation"]), greater_is_better=greater,
                                         **options)
        for name in splits:
            outputs[name] = hf_trainer.predict(trainer, prepared.splits[name])
        model = trainer.model
        flags = hf_trainer.precision_flags(run.precision, run.cpu)
        device = trainer.args.device
        hw = hardware(device.type, trainer.args.world_size, "bf16" if flags["bf16"] else "fp16" if flags["fp16"] else "no",
                      _gpu_name(device))
        main_process = trainer.is_world_process_zero()
        save = None
    metrics, predictions = {}, {}
    for name in splits:
        split = prepared.splits[name]
        metrics[name], predictions[name] = score(task.kind, split.sequence_outputs(outputs[name]), split.targets,
                                                 task.num_outputs)
    record = json_safe({
        **{k: v for k, v in context.items()},
        "seed": seed,
        "parent": parent,
        "metrics": metrics,
        "selection_metric": run.selection_metric,
        "best_epoch": result.best_epoch,
        "global_step": result.global_step,
        "epochs_run": len(result.history),
        "stop_reason": result.stop_reason,
        "resumed_from_epoch": result.resumed_from_epoch,
        "history": result.history,
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
        "model_config": {k: v for k, v in model.config.to_diff_dict().items()
                         if k not in ("id2label", "label2id", "architectures", "transformers_version")},
        "throughput": {"train_samples_per_second": result.samples_per_second, "train_seconds": result.train_seconds,
                       "train_samples": result.train_samples, "unit": result.unit},
        "hardware": hw,
    })
    if main_process:
        model.save_pretrained(seed_dir, **({"save_function": save} if save else {}))
        if prepared.tokenizer is not None:
            prepared.tokenizer.save_pretrained(seed_dir)
        write_json(seed_dir / "metrics.json", record)
        test = prepared.splits["test"]
        write_predictions(seed_dir / "predictions_test.csv", test.row_ids, test.targets, predictions["test"],
                          task.label_names, regression=task.kind == "regression")
        _write_plots(seed_dir, record, test.targets, predictions["test"])
        if not run.keep_checkpoints:  # the settings file goes with the checkpoints it describes
            for path in seed_dir.glob("checkpoint-*"):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return record, main_process


def rewrite_card(run_dir: str | Path) -> Path:
    """Render a finished run's model card again from its `metrics.json` (e.g. after `gbhub motifs`)."""
    run_dir = Path(run_dir)
    try:
        record = {**json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")), "out": str(run_dir)}
    except (OSError, json.JSONDecodeError) as err:
        raise ArgumentError(f"{run_dir} is not a finished run folder ({err}): train one with `gbhub train`") from err
    recipe = get_recipe(record["recipe"])
    return write_run_card(run_dir, record, recipe.card(record, recipe.arguments(**record["model_arguments"])),
                          plots=_plot_names(record))


def _gpu_name(device) -> str | None:
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else None


def _check_resume(seed_dir: Path, current: dict, resume: bool) -> None:
    """With `--resume`, refuse settings or data that differ from those the checkpoint was made with;
    otherwise record the settings next to the checkpoints this run will write."""
    path = seed_dir / SETTINGS_FILE
    if resume and path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ArgumentError(f"--resume: cannot read {path} ({err}); delete {seed_dir} to start over") from err
        differ = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if differ:
            shown = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {current.get(k)!r}" for k in differ[:4])
            raise ArgumentError(
                f"--resume: the checkpoint in {seed_dir} was made with other settings or data ({shown}"
                f"{'; ...' if len(differ) > 4 else ''}); rerun with the same arguments (only --epochs and "
                "--max-steps may change), or drop --resume to start over"
            )
    write_json_atomic(path, json_safe(current))


def _plot_names(record: Mapping[str, Any]) -> dict[str, str]:
    names = {}
    if record.get("history"):
        names["Training curve (selected epoch dashed)"] = "training_curve.png"
    if record.get("task") == "regression":
        names["Predicted against true values on the test split"] = "predictions_test.png"
    else:
        names["Confusion matrix on the test split"] = "confusion_matrix.png"
    return names


def _write_plots(run_dir: Path, record: Mapping[str, Any], labels: np.ndarray, predictions: np.ndarray) -> None:
    from gbhub.training import plots

    regression = record.get("task") == "regression"
    metric = record["selection_metric"] if record["selection_metric"] != "loss" else ("r2" if regression else "accuracy")
    if record["history"]:
        plots.training_curve(record["history"], run_dir / "training_curve.png", metric=metric,
                             best_epoch=record["best_epoch"])
    if regression:
        plots.predicted_vs_true(labels, predictions, record["label_names"], run_dir / "predictions_test.png",
                                title=f"{record['config']} — test")
        return
    plots.confusion_matrix(labels, predictions.argmax(axis=1), record["label_names"], run_dir / "confusion_matrix.png",
                           title=f"{record['config']} — test")
