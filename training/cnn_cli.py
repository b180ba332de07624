"""`gbhub train cnn`: typed arguments, and a run that trains, evaluates and writes model, metrics, plots and card."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gbhub.builders.hub_layout import DEFAULT_SEED

logger = logging.getLogger(__name__)

PROTOCOLS = {
    # Grešová et al. 2023, "Baseline model": 10 epochs, batch size 64; Adam with its default lr (upstream code).
    "paper": {"epochs": 10, "batch_size": 64, "lr": 1e-3, "rc_augment": False, "rc_average": False,
              "early_stopping_patience": None},
    # The paper's optimiser and batch, plus reverse-complement augmentation and averaging, longer with early stopping.
    "extended": {"epochs": 30, "batch_size": 64, "lr": 1e-3, "rc_augment": True, "rc_average": True,
                 "early_stopping_patience": 4},
}


@dataclass
class DataArguments:
    """Which data to train on, and how sequences become model inputs."""

    dataset: str = field(metadata={"help": "Hub dataset id (ORG/NAME) or a local Hub-layout folder"})
    config: str = field(metadata={"help": "benchmark config, e.g. human_nontata_promoters"})
    out: str = field(metadata={"help": "run folder: model, metrics.json, predictions, plots, README.md"})
    max_length: int | None = field(
        default=None, metadata={"help": "model input length (default: the longest sequence over all splits)"}
    )
    long_sequences: Literal["crop", "error"] = field(
        default="crop",
        metadata={"help": "sequences longer than --max-length: keep their first bases with a warning, or stop"},
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "train on a seeded random subset of this many rows (smoke runs)"}
    )
    card_dataset_id: str | None = field(
        default=None,
        metadata={"help": "dataset id written in the model card (default: --dataset when it is a Hub id)"},
    )


@dataclass
class CNNModelArguments:
    """Shape of the CNN (the defaults are the paper's: 16/8/4 filters, kernel 8; dense 512 as upstream)."""

    hidden_size: int = field(default=512, metadata={"help": "width of the first dense layer"})
    dropout: float = field(default=0.0, metadata={"help": "dropout before each dense layer"})
    upstream_activations: bool = field(
        default=False,
        metadata={"help": "place activations as upstream does (ReLU after conv 1 only, none between dense layers)"},
    )


@dataclass
class CNNTrainingArguments:
    """How to train: protocol, optimiser, seeds, precision, resume."""

    protocol: Literal["paper", "extended"] = field(
        default="paper",
        metadata={"help": "paper: 10 epochs, batch 64, Adam lr 1e-3 (Grešová et al. 2023); extended: the same plus "
                          "RC augmentation and averaging, up to 30 epochs with early stopping (patience 4). "
                          "Flags given explicitly override the protocol"},
    )
    epochs: int = field(default=10, metadata={"help": "maximum epochs (--protocol extended: 30)"})
    batch_size: int = field(default=64, metadata={"help": "batch size per process"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "Adam weight decay"})
    seed: int = field(default=DEFAULT_SEED, metadata={"help": "random seed (weights, data order, augmentation)"})
    seeds: str | None = field(
        default=None, metadata={"help": "comma-separated seeds, e.g. 1,2,3: one run each, mean ± std reported"}
    )
    max_steps: int | None = field(default=None, metadata={"help": "stop after this many optimizer steps (smoke runs)"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "batches per optimizer step"})
    eval_batch_size: int = field(default=256, metadata={"help": "batch size of evaluation passes"})
    rc_augment: bool = field(
        default=False,
        metadata={"help": "reverse-complement each training sequence with probability 1/2 (extended: on)"},
    )
    rc_average: bool = field(
        default=False,
        metadata={"help": "predict the mean of both strands' probabilities (extended: on)"},
    )
    early_stopping_patience: int | None = field(
        default=None, metadata={"help": "stop after N epochs without validation improvement (extended: 4)"}
    )
    metric_for_best: Literal["loss", "accuracy", "f1", "mcc", "auroc", "auprc"] = field(
        default="loss", metadata={"help": "validation metric selecting the checkpoint kept"}
    )
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = field(
        default="auto", metadata={"help": "auto: bf16/fp16 on GPUs that have it, no on CPU"}
    )
    cpu: bool = field(default=False, metadata={"help": "train on the CPU even when a GPU is present"})
    torch_threads: int | None = field(
        default=None,
        metadata={"help": "intra-op CPU threads per process (default on CPU: 1; the CNN's ops are too small to "
                          "split, and extra threads made it 5-20x slower on a busy 2-core machine; use torchrun "
                          "--nproc_per_node N to use N cores)"},
    )
    resume: bool = field(default=False, metadata={"help": "continue from RUN/checkpoint-last (at the next epoch boundary)"})
    no_progress: bool = field(default=False, metadata={"help": "hide the progress bar"})
    args_json: str | None = field(
        default=None, metadata={"help": "JSON file of these arguments; flags given on the command line win"}
    )
    #: names set explicitly (command line or JSON): they override the protocol's values
    explicit: frozenset = field(default=frozenset(), init=False, repr=False)

    def __post_init__(self):
        if not self.explicit:  # built in code: whatever differs from the defaults was chosen
            self.explicit = frozenset(
                f.name for f in dataclasses.fields(self) if f.init and getattr(self, f.name) != f.default
            )


ARGUMENT_CLASSES = (DataArguments, CNNModelArguments, CNNTrainingArguments)


def register(train_subparsers) -> None:
    """Add `cnn` to the `gbhub train` subparsers; its flags come from the dataclasses on first use."""
    parser = train_subparsers.add_parser(
        "cnn",
        help="train the Genomic Benchmarks baseline CNN (Accelerate)",
        description="Train the Genomic Benchmarks baseline CNN on one benchmark config; writes the model, "
        "metrics, test predictions, plots and a model card to --out.",
        populate=add_arguments,
    )
    parser.set_defaults(func=main)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Typed, documented flags from `ARGUMENT_CLASSES` through transformers' `HfArgumentParser`."""
    from transformers import HfArgumentParser

    parser._add_container_actions(HfArgumentParser(list(ARGUMENT_CLASSES), add_help=False))  # as `parents=`
    # Defaults stay out of the namespace, so `--args-json` can fill what the command line did not give
    # (command line > JSON > dataclass default); the help still shows them.
    fields = {f.name for cls in ARGUMENT_CLASSES for f in dataclasses.fields(cls)}
    for action in parser._actions:
        if action.dest in fields and action.default is not argparse.SUPPRESS:
            if action.default is not None and not action.required:
                action.help = f"{action.help or ''} (default: {action.default})"
            action.default = argparse.SUPPRESS
            if action.required:
                action.required = False  # may come from --args-json; checked in arguments_from_namespace
                action.help = f"{action.help} (required, here or in --args-json)"
    parser.formatter_class = argparse.HelpFormatter


def arguments_from_namespace(args) -> tuple[DataArguments, CNNModelArguments, CNNTrainingArguments]:
    """The three dataclasses: flags given on the command line, else `--args-json` values, else defaults."""
    from gbhub.builders.errors import GBHubError

    values = {}
    if getattr(args, "args_json", None):
        try:
            values = json.loads(Path(args.args_json).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise GBHubError(f"--args-json {args.args_json}: expected a JSON object of arguments ({err})") from err
        known = {f.name for cls in ARGUMENT_CLASSES for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise GBHubError(f"--args-json {args.args_json}: unknown keys {', '.join(unknown)}; see --help")
    values.update({k: v for k, v in vars(args).items() if k not in ("func", "command", "model", "verbose")})
    out = []
    for cls in ARGUMENT_CLASSES:
        names = {f.name for f in dataclasses.fields(cls)}
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise GBHubError(f"missing {', '.join('--' + m.replace('_', '-') for m in missing)} "
                             "(give them on the command line or in --args-json)")
        out.append(cls(**{k: v for k, v in values.items() if k in names}))
    out[-1].explicit = frozenset(k for k in values if k != "args_json")
    return tuple(out)


def loop_config(targs: CNNTrainingArguments, seed: int):
    """The `LoopConfig` of one seed: protocol defaults, then explicit flags."""
    from gbhub.training.loop import LoopConfig

    preset = PROTOCOLS[targs.protocol]
    pick = lambda name: getattr(targs, name) if name in targs.explicit else preset[name]  # noqa: E731
    return LoopConfig(
        epochs=pick("epochs"),
        batch_size=pick("batch_size"),
        lr=pick("lr"),
        rc_augment=pick("rc_augment"),
        rc_average=pick("rc_average"),
        early_stopping_patience=pick("early_stopping_patience"),
        eval_batch_size=targs.eval_batch_size,
        weight_decay=targs.weight_decay,
        seed=seed,
        max_steps=targs.max_steps,
        gradient_accumulation_steps=targs.gradient_accumulation_steps,
        metric_for_best=targs.metric_for_best,
        progress=not targs.no_progress,
    )


def parse_seeds(targs: CNNTrainingArguments) -> list[int]:
    """`--seeds 1,2,3` as a list, else `[--seed]`."""
    if not targs.seeds:
        return [targs.seed]
    try:
        seeds = [int(s) for s in str(targs.seeds).split(",") if s.strip()]
    except ValueError:
        from gbhub.builders.errors import GBHubError

        raise GBHubError(f"--seeds {targs.seeds!r}: expected comma-separated integers, e.g. 1,2,3") from None
    if len(set(seeds)) != len(seeds) or not seeds:
        from gbhub.builders.errors import GBHubError

        raise GBHubError(f"--seeds {targs.seeds!r}: expected distinct integers")
    return seeds


def main(args) -> int:
    """Entry point of `gbhub train cnn`."""
    data_args, model_args, train_args = arguments_from_namespace(args)
    summary = run(data_args, model_args, train_args)
    from accelerate import PartialState

    if PartialState().is_main_process:
        print_summary(summary)
    return 0


def print_summary(summary: dict) -> None:
    """Print where the run's files are and its test metrics."""
    run_dir = Path(summary["out"])
    test = summary["metrics"]["test"]
    print(f"run folder: {run_dir}")
    for name in ("README.md", "config.json", "model.safetensors", "metrics.json", "predictions_test.csv",
                 "training_curve.png", "confusion_matrix.png"):
        print(f"  {name}")
    print("test: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items() if v is not None))


def run(data_args: DataArguments, model_args: CNNModelArguments, train_args: CNNTrainingArguments) -> dict:
    """Train (one or several seeds), evaluate, and write everything into `data_args.out`.

    Returns:
        The metrics JSON object written to `OUT/metrics.json` (plus `out`).
    """
    import torch

    from gbhub.training import data as tdata
    from gbhub.training.loop import make_accelerator
    from gbhub.training.outputs import card_dataset_id

    seeds = parse_seeds(train_args)
    if not logger.isEnabledFor(logging.DEBUG):
        logging.getLogger("accelerate").setLevel(logging.WARNING)
    accelerator = make_accelerator(train_args.mixed_precision, train_args.gradient_accumulation_steps, train_args.cpu)
    if train_args.torch_threads or accelerator.device.type == "cpu":
        torch.set_num_threads(train_args.torch_threads or 1)
    out = Path(data_args.out)
    out.mkdir(parents=True, exist_ok=True)
    with accelerator.main_process_first():  # one process fills the datasets cache, the others read it
        dsd = tdata.load_splits(
            data_args.dataset, data_args.config, max_train_samples=data_args.max_train_samples, seed=seeds[0]
        )
    names = tdata.label_names(dsd)
    longest = tdata.longest_sequence(dsd)
    minimum = _model_config(1_000, names, model_args).min_input_length
    if data_args.max_length is not None and data_args.max_length < minimum:
        raise tdata.DatasetInputError(
            f"--max-length {data_args.max_length} is shorter than the CNN can read: three conv blocks of "
            f"kernel 8 and pool 2 need at least {minimum} bp; pass --max-length {minimum} or more"
        )
    length = data_args.max_length or max(longest, minimum)  # shorter datasets are padded up to the minimum
    encoded = {
        s: tdata.encode_split(dsd[s], length, long_sequences=data_args.long_sequences, name=s) for s in tdata.SPLITS
    }
    n_cropped = {s: _n_cropped(dsd[s], length) for s in tdata.SPLITS}
    context = {
        "dataset": data_args.dataset,
        "card_dataset_id": data_args.card_dataset_id or card_dataset_id(data_args.dataset),
        "config": data_args.config,
        "label_names": names,
        "input_length": length,
        "longest_sequence": longest,
        "n_cropped": n_cropped,
        "long_sequences": data_args.long_sequences,
        "n_rows": {s: len(encoded[s]) for s in tdata.SPLITS},
        "protocol": train_args.protocol,
        "command": command_line(data_args, model_args, train_args),
    }
    per_seed = []
    for seed in seeds:
        run_dir = out if len(seeds) == 1 else out / f"seed-{seed}"
        per_seed.append(_train_one(seed, run_dir, encoded, context, model_args, train_args, accelerator))
    if len(seeds) == 1:
        return {**per_seed[0], "out": str(out)}
    return {**_aggregate(out, per_seed, context, train_args, accelerator), "out": str(out)}


def command_line(data_args, model_args, train_args) -> str:
    """The `gbhub train cnn` command reproducing these arguments (non-default values only)."""
    parts = ["gbhub train cnn"]
    for obj in (data_args, model_args, train_args):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if not f.init or f.name in ("args_json", "resume", "no_progress") or value == f.default:
                continue
            flag = "--" + f.name.replace("_", "-")
            if value is True:
                parts.append(flag)
            else:
                parts.append(f"{flag} {value}")
    return " ".join(parts)


def _n_cropped(ds, length: int) -> int:
    import pyarrow.compute as pc

    from gbhub.training.data import arrow_table

    return int(pc.sum(pc.greater(pc.utf8_length(arrow_table(ds).column("sequence")), length)).as_py() or 0)


def _model_config(length: int, names: list[str], model_args: CNNModelArguments):
    from gbhub.training.cnn import CNNConfig

    upstream = model_args.upstream_activations
    return CNNConfig(
        input_length=length,
        hidden_size=model_args.hidden_size,
        dropout=model_args.dropout,
        conv_activations=["relu", "identity", "identity"] if upstream else ["relu"] * 3,
        dense_activation="identity" if upstream else "relu",
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
    )


def _train_one(seed, run_dir: Path, encoded, context, model_args, train_args, accelerator) -> dict:
    """One seed: fit, evaluate every split with the best weights, write all outputs of `run_dir`."""
    from accelerate.utils import set_seed

    from gbhub.training.cnn import CNNForSequenceClassification
    from gbhub.training.loop import eval_loader, evaluate_split, fit
    from gbhub.training.outputs import json_safe, write_json, write_predictions

    cfg = loop_config(train_args, seed)
    accelerator.free_memory()  # forget the previous seed's prepared model/optimizer (save_state saves all)
    set_seed(seed)
    model = CNNForSequenceClassification(_model_config(context["input_length"], context["label_names"], model_args))
    run_dir.mkdir(parents=True, exist_ok=True)
    model, result = fit(model, encoded["train"], encoded["validation"], cfg, accelerator, run_dir, resume=train_args.resume)
    num_labels = len(context["label_names"])
    metrics, probs = {}, {}
    for split in ("train", "validation", "test"):
        loader = accelerator.prepare(eval_loader(encoded[split], cfg.eval_batch_size))
        metrics[split], probs[split] = evaluate_split(
            model, loader, accelerator, rc_average=cfg.rc_average, num_labels=num_labels
        )
    unwrapped = accelerator.unwrap_model(model)
    record = {
        "model": "genomic-benchmarks-cnn",
        **{k: context[k] for k in ("dataset", "config", "label_names", "input_length", "longest_sequence",
                                    "n_cropped", "long_sequences", "n_rows", "protocol", "command")},
        "seed": seed,
        "hyperparameters": dataclasses.asdict(cfg),
        "model_config": {k: getattr(unwrapped.config, k) for k in
                         ("conv_channels", "kernel_size", "pool_size", "hidden_size", "conv_activations",
                          "dense_activation", "dropout")},
        "num_parameters": int(sum(p.numel() for p in unwrapped.parameters())),
        "metrics": metrics,
        "best_epoch": result.best_epoch,
        "metric_for_best": cfg.metric_for_best,
        "global_step": result.global_step,
        "epochs_run": len(result.history),
        "stop_reason": result.stop_reason,
        "resumed_from_epoch": result.resumed_from_epoch,
        "history": result.history,
        "throughput": {
            "train_samples_per_second": result.samples_per_second,
            "train_seconds": result.train_seconds,
            "train_samples": result.train_samples,
        },
        "hardware": hardware(accelerator),
    }
    record = json_safe(record)
    if accelerator.is_main_process:
        unwrapped.save_pretrained(run_dir, save_function=accelerator.save)
        write_json(run_dir / "metrics.json", record)
        test = encoded["test"]
        write_predictions(run_dir / "predictions_test.csv", test.row_ids, test.labels, probs["test"], context["label_names"])
        _write_plots(run_dir, record, encoded["test"].labels, probs["test"].argmax(axis=1))
        _write_card(run_dir, record, context, seeds=[seed], summary=None)
    accelerator.wait_for_everyone()
    accelerator.free_memory()
    return record


def _write_plots(run_dir: Path, record: dict, labels, preds) -> None:
    from gbhub.training import plots

    plots.training_curve(record["history"], run_dir / "training_curve.png", metric="accuracy",
                         best_epoch=record["best_epoch"] or None)
    plots.confusion_matrix(labels, preds, record["label_names"], run_dir / "confusion_matrix.png",
                           title=f"{record['config']} — test")


def hardware(accelerator) -> dict:
    """Where the run ran: device, processes, precision, CPU/GPU model, torch threads and version."""
    import torch

    from gbhub.training.outputs import hardware as hardware_info

    device = accelerator.device
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return hardware_info(str(device.type), accelerator.num_processes, str(accelerator.mixed_precision), gpu)


def _aggregate(out: Path, per_seed: list[dict], context: dict, train_args, accelerator) -> dict:
    """Several seeds: the root gets the best-on-validation seed's model and the mean ± std of every metric."""
    from gbhub.builders.hub_layout import atomic_path
    from gbhub.training.metrics_util import summarize_runs
    from gbhub.training.outputs import json_safe, write_json

    key = per_seed[0]["metric_for_best"]
    best = select_seed(per_seed, key)
    summary = summarize_runs([r["metrics"] for r in per_seed])
    record = {
        **{k: v for k, v in best.items() if k not in ("history",)},
        "seeds": [r["seed"] for r in per_seed],
        "selected_seed": best["seed"],
        "selection": f"best validation {key} over seeds",
        "summary": summary,
        "per_seed": {str(r["seed"]): r["metrics"] for r in per_seed},
        "history": best["history"],
    }
    record = json_safe(record)
    if accelerator.is_main_process:
        src = out / f"seed-{best['seed']}"
        for name in ("config.json", "model.safetensors", "predictions_test.csv", "training_curve.png",
                     "confusion_matrix.png"):
            with atomic_path(out / name) as tmp:
                shutil.copy2(src / name, tmp)
        write_json(out / "metrics.json", record)
        _write_card(out, record, context, seeds=record["seeds"], summary=summary)
    accelerator.wait_for_everyone()
    return record


def select_seed(per_seed: list[dict], key: str) -> dict:
    """The seed record with the best validation `key` (the first one on ties; undefined values lose)."""
    from gbhub.training.outputs import better

    best = per_seed[0]
    for record in per_seed[1:]:
        if better(record["metrics"]["validation"].get(key), best["metrics"]["validation"].get(key), key):
            best = record
    return best


def _write_card(run_dir: Path, record: dict, context: dict, *, seeds, summary) -> None:
    from gbhub.hub_cards.model_card import ModelCardInfo, write_model_card
    from gbhub.training import paper_results
    from gbhub.training.outputs import paper_comparison

    paper = paper_comparison(context["config"], "Ours: test split, percent, same metric definitions.")
    hp = record["hyperparameters"]
    th = record["throughput"]
    hyper = {
        "protocol": record["protocol"],
        "epochs (max)": hp["epochs"],
        "epochs run": record["epochs_run"],
        "batch size (per process)": hp["batch_size"],
        "gradient accumulation": hp["gradient_accumulation_steps"],
        "optimizer": f"Adam (lr {hp['lr']}, weight decay {hp['weight_decay']})",
        "loss": "cross-entropy on logits",
        "checkpoint selection": f"best validation {record['metric_for_best']} (epoch {record['best_epoch']})",
        "early stopping patience": hp["early_stopping_patience"],
        "reverse-complement augmentation": hp["rc_augment"],
        "reverse-complement averaged prediction": hp["rc_average"],
        "max steps": hp["max_steps"],
        "input length": record["input_length"],
        "optimizer steps": record["global_step"],
    }
    label_names = record["label_names"]
    usage = f"""import training.cnn  # registers the CNN with the transformers Auto classes
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("<this repo or folder>").eval()
input_ids = model.encode(["ACGT..."])  # (batch, {record['input_length']}) ids: padded / cropped
probs = model(input_ids=input_ids).logits.softmax(-1)  # classes: {', '.join(label_names)}"""
    info = ModelCardInfo(
        model_name=f"Genomic Benchmarks CNN — {context['config']}",
        dataset_id=context["card_dataset_id"],
        dataset_config=context["config"],
        label_names=label_names,
        metrics=record["metrics"],
        architecture=_architecture_text(record),
        hyperparameters=hyper,
        seeds=seeds,
        seed_summary=summary,
        differences=UPSTREAM_DIFFERENCES,
        hardware={k: v for k, v in record["hardware"].items()},
        throughput={
            "training throughput": f"{th['train_samples_per_second']:.0f} sequences/s" if th["train_samples_per_second"] else "n/a",
            "training time": f"{th['train_seconds']:.1f} s",
        },
        plots={"Training curve (selected epoch dashed)": "training_curve.png",
               "Confusion matrix on the test split": "confusion_matrix.png"},
        paper=paper,
        notes=[_input_note(record), f"**Command.**\n\n```\n{record['command']}\n```"],
        usage=usage,
        files={
            "config.json, model.safetensors": "the model (`save_pretrained`)",
            "metrics.json": "every metric of every split, training history, hyperparameters, hardware",
            "predictions_test.csv": "test predictions and class probabilities per sequence",
            "training_curve.png, confusion_matrix.png": "the plots above",
        },
        citation=paper_results.BIBTEX,
    )
    write_model_card(run_dir, info)


def _architecture_text(record: dict) -> str:
    mc = record["model_config"]
    ch = mc["conv_channels"]
    return (
        "The baseline CNN of Grešová et al. (2023), \"Baseline model\", as a transformers `PreTrainedModel` "
        "(`CNNForSequenceClassification`, config `CNNConfig`):\n\n"
        f"- input: one-hot DNA `(batch, 4, {record['input_length']})` (`N` = 0.25 per base, padding = 0)\n"
        + "".join(
            f"- Conv1d({'4' if i == 0 else ch[i - 1]} → {c}, kernel {mc['kernel_size']}) → BatchNorm → "
            f"{mc['conv_activations'][i]} → "
            f"MaxPool({mc['pool_size']})\n"
            for i, c in enumerate(ch)
        )
        + f"- flatten → Linear({mc['hidden_size']}) → {mc['dense_activation']} → Linear(num classes) = logits\n\n"
        f"{record['num_parameters']:,} parameters."
    )


def _input_note(record: dict) -> str:
    cropped = {s: n for s, n in record["n_cropped"].items() if n}
    text = (
        f"**Input length.** The model reads {record['input_length']} bp (the longest sequence of the dataset is "
        f"{record['longest_sequence']} bp); shorter sequences are padded on the right with zeros."
    )
    if cropped:
        text += (
            " Longer sequences keep their first bases (`--long-sequences crop`): "
            + ", ".join(f"{n} in {s}" for s, n in cropped.items())
            + "."
        )
    return text


UPSTREAM_DIFFERENCES = [
    "Loss: cross-entropy on the logits for any number of classes. Upstream's two-class model ends in a "
    "sigmoid and then calls `binary_cross_entropy_with_logits`, so the sigmoid is applied twice.",
    "Activations: ReLU after each of the three convolutions and between the two dense layers. Upstream has a "
    "ReLU after the first convolution only and none between its dense layers, which makes them one linear "
    "map (`--upstream-activations` restores that placement).",
    "Input: fixed one-hot encoding (4 channels) instead of upstream's learned 100-dimensional character "
    "embedding with `<bos>`/`<eos>` tokens; the paper does not specify the input encoding.",
    "Model selection: the kept weights are the best epoch on a validation split carved from upstream train "
    "(10%, stratified); upstream keeps the last epoch and has no validation split. Test is evaluated once.",
    "Two-class outputs: two logits with softmax (upstream: one sigmoid unit); F1 is binary on class 1 for two "
    "classes and macro otherwise (upstream: micro F1, i.e. accuracy, for more than two classes).",
]
