"""DeepEnhancer (Min et al. 2017) as a recipe: W-bp one-hot windows, the Table 1 network, max over a region's windows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np

from gbhub.training.args import ArgumentError
from gbhub.training.data import (
    DatasetInputError,
    EncodedSplit,
    Prepared,
    RowDataset,
    Task,
    arrow_table,
    targets_and_ids,
)
from gbhub.training.recipes.base import CardText, Recipe, head_config, side_features_notes
from gbhub.training.transfer import TransferArguments

BIBTEX = r"""@article{min2017deepenhancer,
  title   = {Predicting enhancers with deep convolutional neural networks},
  author  = {Min, Xu and Zeng, Wanwen and Chen, Shengquan and Chen, Ning and Chen, Ting and Jiang, Rui},
  journal = {BMC Bioinformatics},
  volume  = {18},
  number  = {Suppl 13},
  pages   = {478},
  year    = {2017},
  doi     = {10.1186/s12859-017-1878-3}
}"""


@dataclass
class DeepEnhancerArguments(TransferArguments):
    """DeepEnhancer's network and windows (defaults: the paper's Table 1 network, W = 300, stride 2, max)."""

    architecture: Literal["4conv2pool4norm", "4conv2pool", "4conv", "6conv3pool6norm", "6conv3pool"] = field(
        default="4conv2pool4norm", metadata={
            "help": "network of the paper's ablation: 4conv2pool4norm (Table 1), 4conv2pool (no batch norm), 4conv "
                    "(no pooling either), 6conv3pool6norm / 6conv3pool (two more conv layers of 16 x 2)"})
    window_bp: int = field(default=300, metadata={"help": "window width W in bp, the model's input", "min": 1})
    windows_from: Literal["sequences", "dataset"] = field(default="sequences", metadata={
        "help": "sequences: cut W-bp windows from each row's sequence here (padding short ones); dataset: the rows "
                "already are windows cut from the genome (`gbhub build NAME --windows-bp W`, ids <region>@w<k>)"})
    window_stride_bp: int = field(default=2, metadata={"help": "bp between window starts (the paper's)", "min": 1})
    max_windows_per_region: int | None = field(default=20, metadata={
        "help": "at most this many windows per sequence, evenly spaced (the paper's 43,011 regions gave ~1M "
                "windows, ~23 each); 0 = no cap", "min": 0, "metavar": "N"})
    short_sequences: Literal["start", "center", "contain", "overlap"] = field(default="start", metadata={
        "help": "sequences shorter than W: start = one window, padded on the right; center = one window, padded "
                "on both sides; contain = every placement of the sequence at the stride; overlap = every window "
                "sharing a base with it (the paper's rule, with padding for the genome's flanks)"})
    long_sequences: Literal["windows", "truncate", "error"] = field(default="windows", metadata={
        "help": "sequences longer than W: windows = tile them (stride, cap); truncate = their first W bp only; "
                "error = stop"})
    aggregation: Literal["max", "mean"] = field(default="max", metadata={
        "help": "a sequence's score from its windows: max = the highest class-1 probability (the paper), mean = "
                "the mean of the logits; metrics are reported per sequence (region)"})
    dropout: float = field(default=0.5, metadata={
        "help": "dropout between the two dense layers (the paper's)", "min": 0, "below": 1})


class DeepEnhancerRecipe(Recipe):
    name = "deepenhancer"
    summary = "DeepEnhancer (Min et al. 2017): W = 300 bp windows, 4 conv layers, max over a region's windows"
    description = (
        "Train DeepEnhancer on one benchmark config: one-hot windows of W = 300 bp (stride 2, at most 20 per "
        "sequence; shorter sequences padded), the paper's Table 1 network (or an ablation variant), every window "
        "labelled with its sequence's class, and a sequence scored by the maximum over its windows; metrics are "
        "per sequence, AUROC and AUPRC the headline ones. Windows cut from the genome around each region: build "
        "them with `gbhub build NAME --windows-bp 300` and pass --windows-from dataset. Transfer learning: "
        "--init-from RUN_OR_HUB_ID. Protocol paper = Adam lr 1e-4, up to 30 epochs, early stopping after 8 epochs "
        "without a better validation loss (batch size 128: the paper gives none)."
    )
    backend = "accelerate"
    arguments = DeepEnhancerArguments
    defaults = {"epochs": 30, "batch_size": 128, "lr": 1e-4, "early_stopping_patience": 8}
    protocols = {"paper": {}}
    tasks = ("classification", "regression")
    side_features = True
    score_train = False  # every training window would be scored again: the validation and test splits suffice
    # One intra-op thread on the CPU: on a busy 2-core machine one training step of 128 windows ran faster on
    # one thread than on two (whole-process wall 52.9 s vs 67.5 s for the same steps); --torch-threads overrides.
    cpu_threads = 1

    def check(self, args: DeepEnhancerArguments, run) -> None:
        from gbhub.training.models.deepenhancer import DeepEnhancerConfig

        minimum = DeepEnhancerConfig(architecture=args.architecture).min_input_length
        if args.window_bp < minimum:
            raise ArgumentError(f"--window-bp {args.window_bp} is too short for {args.architecture}: its conv and pool "
                                f"layers need at least {minimum} bp")
        if args.window_stride_bp > args.window_bp:
            raise ArgumentError(f"--window-stride-bp {args.window_stride_bp} is larger than the window "
                                f"({args.window_bp} bp): bases would be skipped")

    def prepare(self, dsd, task: Task, args: DeepEnhancerArguments, run) -> Prepared:
        if task.kind == "regression" and args.aggregation == "max":
            # A region's value is the mean of its windows' predictions: "max" ranks windows by the class-1 probability
            args = dataclasses.replace(args, aggregation="mean")
        splits, stats = {}, {}
        for name in ("train", "validation", "test"):
            splits[name], stats[name] = self._encode(dsd[name], task, args, name)
        info = {
            "window_bp": args.window_bp,
            "windows_from": args.windows_from,
            "stride_bp": args.window_stride_bp,
            "max_windows_per_region": args.max_windows_per_region or None,
            "short_sequences": args.short_sequences,
            "long_sequences": args.long_sequences,
            "aggregation": args.aggregation,
            "encoding": "one-hot (A, C, G, T; N = 0.25 each; padding = 0)",
            "splits": stats,
        }
        return Prepared(splits, info)

    def _encode(self, ds, task: Task, args: DeepEnhancerArguments, name: str) -> tuple[EncodedSplit, dict]:
        from gbhub.training import encoding
        from gbhub.training.windows import encode_bp_windows, plan_bp_windows, plan_from_window_ids

        sequences = arrow_table(ds).column("sequence").to_pylist()
        targets, row_ids = targets_and_ids(ds, task)
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        width = args.window_bp
        if args.windows_from == "dataset":
            if np.any(lengths != width):
                raise DatasetInputError(
                    f"split {name!r} holds sequences of {lengths.min()}-{lengths.max()} bp, not {width} bp windows: "
                    f"pass --window-bp {lengths.max()} if they are windows, or --windows-from sequences")
            plan, regions = plan_from_window_ids(row_ids)
            region_targets = np.zeros(plan.n_sequences, dtype=targets.dtype)
            region_targets[plan.sequence_index] = targets
            mixed = region_targets[plan.sequence_index] != targets
            if mixed.any():
                i = int(np.argmax(mixed))
                raise DatasetInputError(f"split {name!r}: the windows of region {regions[plan.sequence_index[i]]!r} "
                                        "carry different labels; a region's windows share its label")
            rows = RowDataset({"input_ids": encoding.encode(sequences, width).ids, "labels": targets})
            split = EncodedSplit(rows, region_targets, regions, plan=plan, aggregation=args.aggregation)
            return split, {"regions": plan.n_sequences, "windows": len(plan)}
        if args.long_sequences == "error" and lengths.max(initial=0) > width:
            raise DatasetInputError(
                f"{int((lengths > width).sum())} sequences of split {name!r} are longer than the {width} bp window "
                f"(longest {lengths.max()} bp): pass --long-sequences windows or truncate, or a larger --window-bp")
        plan = plan_bp_windows(lengths, width, args.window_stride_bp, max_windows=args.max_windows_per_region or None,
                               short=args.short_sequences,
                               long="truncate" if args.long_sequences == "truncate" else "windows")
        rows = RowDataset({"input_ids": encode_bp_windows(sequences, plan), "labels": targets[plan.sequence_index]})
        split = EncodedSplit(rows, targets, row_ids, plan=plan, aggregation=args.aggregation)
        return split, {"sequences": len(sequences), "windows": len(plan),
                       "shortest_bp": int(lengths.min()) if len(lengths) else 0, "longest_bp": int(lengths.max(initial=0)),
                       "shorter_than_window": int((lengths < width).sum()),
                       "longer_than_window": int((lengths > width).sum())}

    def build_model(self, prepared: Prepared, task: Task, args: DeepEnhancerArguments):
        from gbhub.training.models.deepenhancer import DeepEnhancerConfig, DeepEnhancerForSequenceClassification

        config = DeepEnhancerConfig(
            architecture=args.architecture,
            input_length=args.window_bp,
            dropout=args.dropout,
            **head_config(task, prepared),
        )
        return DeepEnhancerForSequenceClassification(config)

    def card(self, record: Mapping[str, Any], args: DeepEnhancerArguments) -> CardText:
        from gbhub.training.models.deepenhancer import DeepEnhancerConfig

        mc = record["model_config"]
        config = DeepEnhancerConfig(**{k: v for k, v in mc.items() if k != "model_type"},
                                    num_labels=len(record["label_names"]))
        info = record["input"]
        rows = ["| layer | type | size | output shape |", "|---|---|---|---|",
                f"| 0 | input (one-hot) | - | 4 x {config.input_length} |"]
        channels, length = 4, config.input_length
        layer = 1
        for c, k, pool in zip(config.conv_channels, config.kernel_sizes, config.pool_after):
            length = length - k + 1
            rows.append(f"| {layer} | conv + ReLU | {c} x {channels} x {k} | {c} x {length} |")
            layer += 1
            if config.batch_norm:
                rows.append(f"| {layer} | batch norm | - | {c} x {length} |")
                layer += 1
            if pool:
                length //= config.pool_size
                rows.append(f"| {layer} | max-pool | {config.pool_size} | {c} x {length} |")
                layer += 1
            channels = c
        if record.get("side_features"):
            n_side = len(record["side_features"])
            rows.append(f"| - | flatten + {n_side} side features | - | {channels * length + n_side} |")
        for i, size in enumerate(config.dense_sizes):
            rows.append(f"| {layer} | dense + ReLU | {size} | {size} |")
            layer += 1
            if i == 0:
                rows.append(f"| {layer} | dropout | {config.dropout} | {size} |")
                layer += 1
        regression = record.get("task") == "regression"
        rows.append(f"| {layer} | dense{'' if regression else ' + softmax'} | {config.num_labels} | "
                    f"{config.num_labels} |")
        architecture = (
            f"DeepEnhancer (Min et al., BMC Bioinformatics 2017), architecture `{config.architecture}`"
            + (" (the paper's Table 1)" if config.architecture == "4conv2pool4norm" else " (an ablation variant of the "
               "paper's Table 2)")
            + ", as a transformers `PreTrainedModel` (`DeepEnhancerForSequenceClassification`, config "
            "`DeepEnhancerConfig`, model type `deepenhancer`):\n\n" + "\n".join(rows)
            + f"\n\n{record['num_parameters']:,} parameters. "
            + ("Regression head: one linear output per target, MSE loss, a region's value the mean over its "
               "windows (not in the paper, which classifies enhancers)." if regression else
               "Headline metrics: AUROC and AUPRC (the paper reports 0.916 / 0.917 on FANTOM5 permissive enhancers, "
               "10-fold cross-validation, which is not this benchmark).")
        )
        names = ", ".join(record["label_names"])
        usage = f"""from gbhub.training.models.deepenhancer import DeepEnhancerForSequenceClassification

model = DeepEnhancerForSequenceClassification.from_pretrained("<this repo or folder>")
probs = model.predict_proba(["ACGT" * 100], stride={info['stride_bp']}, max_windows={info['max_windows_per_region']},
                            short="{info['short_sequences']}", aggregation="{info['aggregation']}")
print(probs)  # classes: {names}"""
        if regression:
            side = record.get("side_features") or []
            side_lines = (f"side = torch.zeros(1, {len(side)})[torch.as_tensor(plan.sequence_index)]  # raw "
                          f"{', '.join(side)} of each window's sequence\n") if side else ""
            usage = f"""import torch
from gbhub.training.models.deepenhancer import DeepEnhancerForSequenceClassification
from gbhub.training.windows import aggregate_logits

model = DeepEnhancerForSequenceClassification.from_pretrained("<this repo or folder>").eval()
ids, plan = model.encode(["ACGT" * 100], stride={info['stride_bp']}, max_windows={info['max_windows_per_region']},
                         short="{info['short_sequences']}")
{side_lines}with torch.no_grad():
    windows = model(input_ids=ids{', side_features=side' if side else ''}).logits.numpy()
print(aggregate_logits(windows, plan, "mean"))  # predicted {names} per sequence"""
        differences = list(PAPER_DIFFERENCES)
        if info["windows_from"] == "sequences":
            differences.append(
                "Windows are cut from each sequence of the dataset (it holds no genome): regions shorter than W "
                f"are {_SHORT_TEXT[info['short_sequences']]} with padding (zeros) where the paper reads genomic "
                "flanks.")
        return CardText(
            title="DeepEnhancer",
            architecture=architecture,
            differences=differences,
            usage=usage,
            library_name="genomic-benchmarks-hub",
            citation=BIBTEX,
            notes=[_windows_note(info), *side_features_notes(record)],
        )


_SHORT_TEXT = {"start": "read as one window, the sequence at its start", "center": "read as one centred window",
               "contain": "read at every placement of the whole sequence in the window (at the stride)",
               "overlap": "read by every window sharing a base with them"}


def _windows_note(info: Mapping[str, Any]) -> str:
    """The card's paragraph on windows: how they were made, how many, how a sequence is scored."""
    width, stride, cap = info["window_bp"], info["stride_bp"], info["max_windows_per_region"]
    counts = "; ".join(
        f"{s} {v.get('sequences', v.get('regions')):,} {'sequences' if 'sequences' in v else 'regions'} -> "
        f"{v['windows']:,} windows" for s, v in info["splits"].items())
    if info["windows_from"] == "dataset":
        made = (f"The dataset's rows are {width} bp windows cut from the genome around each region (`gbhub build "
                "--windows-bp`: its card states the stride, cap and flank policy); the windows of a region (ids "
                "`<region>@w<k>`) are grouped back into it.")
    else:
        long = ("tiled every {stride} bp, the last window flush with the end".format(stride=stride)
                if info["long_sequences"] == "windows" else "cut to their first window")
        made = (f"Each sequence is read as {width} bp windows: longer ones are {long}"
                + (f", at most {cap} windows per sequence (evenly spaced)" if cap else "")
                + f"; shorter ones are {_SHORT_TEXT[info['short_sequences']]}, padded with zeros.")
    score = ("the maximum over its windows of the class-1 probability (the paper's rule)" if info["aggregation"] == "max"
             else "the mean of its windows' outputs (logits, or predicted values for regression)")
    return (f"### Windows\n\n{made} Training uses every window with its sequence's label; a sequence's (region's) "
            f"score is {score}, and every metric above is per sequence. Windows: {counts}.")


PAPER_DIFFERENCES = (
    "Implemented in PyTorch (the paper used Lasagne/Theano); ReLU after each conv layer (after its batch norm) and "
    "after each hidden dense layer; cross-entropy on two (or more) logits.",
    "Protocol: Adam lr 1e-4, up to 30 epochs, early stopping after 8 epochs without a better validation loss, as "
    "in the paper; the paper's learning-rate decay is not specified and not applied; batch size 128 (not given).",
    "Evaluation: one validation split (10% of upstream train, stratified) selects the epoch and the test split is "
    "scored once; the paper reports 10-fold cross-validation.",
)
