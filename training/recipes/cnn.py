"""The Genomic Benchmarks baseline CNN (Grešová et al. 2023) as a recipe: one-hot input, the Accelerate loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from gbhub.training import paper_results
from gbhub.training.args import ArgumentError
from gbhub.training.data import Prepared, Task, encode_fixed_width, longest_sequence, sequence_lengths
from gbhub.training.recipes.base import CardText, Recipe, head_config, side_features_notes


@dataclass
class CNNArguments:
    """The CNN's input and shape (defaults: the paper's 16/8/4 filters of kernel 8, dense 512 as upstream)."""

    max_length_bp: int | None = field(default=None, metadata={
        "help": "model input length in bp (default: the longest sequence over all splits)", "min": 1})
    long_sequences: Literal["truncate", "error"] = field(default="truncate", metadata={
        "help": "sequences longer than --max-length-bp: keep their first bases (with a warning), or stop"})
    hidden_size: int = field(default=512, metadata={"help": "width of the first dense layer", "min": 1})
    dropout: float = field(default=0.0, metadata={"help": "dropout before each dense layer", "min": 0, "below": 1})
    input_encoding: Literal["one-hot", "embedding"] = field(default="one-hot", metadata={
        "help": "how bases enter the first convolution: fixed one-hot channels, or a learned embedding of "
                "--embedding-dim per token (upstream's)"})
    embedding_dim: int = field(default=100, metadata={
        "help": "width of the learned embedding with --input-encoding embedding (upstream: 100)", "min": 1})
    upstream_activations: bool = field(default=False, metadata={
        "help": "place activations as upstream does (ReLU after conv 1 only, none between dense layers)"})
    rc_augment: bool = field(default=False, metadata={
        "help": "reverse-complement each training sequence with probability 1/2"})
    rc_average: bool = field(default=False, metadata={
        "help": "predict the mean of both strands' probabilities"})


class CNNRecipe(Recipe):
    name = "cnn"
    summary = "the Genomic Benchmarks baseline CNN (Accelerate loop)"
    description = (
        "Train the Genomic Benchmarks baseline CNN on one benchmark config: one-hot input, three conv blocks, "
        "two dense layers, Adam; the best epoch is selected on validation and test is evaluated once. "
        "Protocols: paper = 10 epochs, batch 64, Adam lr 1e-3 (Grešová et al. 2023); extended = the same plus "
        "reverse-complement augmentation and averaging, up to 30 epochs with early stopping (patience 4)."
    )
    backend = "accelerate"
    arguments = CNNArguments
    defaults = {"epochs": 10, "batch_size": 64, "lr": 1e-3, "eval_batch_size": 256, "keep_checkpoints": True}
    protocols = {
        "paper": {},
        "extended": {"epochs": 30, "rc_augment": True, "rc_average": True, "early_stopping_patience": 4},
    }
    tasks = ("classification", "regression")
    side_features = True
    # The CNN's ops are too small to split over threads: 2 threads were 5-20x slower on a busy 2-core machine.
    cpu_threads = 1

    def prepare(self, dsd, task: Task, args: CNNArguments, run) -> Prepared:
        from gbhub.training import encoding
        from gbhub.training.models.cnn import min_input_length

        minimum = min_input_length()
        if args.max_length_bp is not None and args.max_length_bp < minimum:
            raise ArgumentError(
                f"--max-length-bp {args.max_length_bp} is shorter than the CNN can read: three conv blocks of "
                f"kernel 8 and pool 2 need at least {minimum} bp; pass --max-length-bp {minimum} or more"
            )
        longest = longest_sequence(dsd)
        length = args.max_length_bp or max(longest, minimum)  # shorter datasets are padded up to the minimum
        splits = {s: encode_fixed_width(dsd[s], length, task, long_sequences=args.long_sequences, name=s)
                  for s in ("train", "validation", "test")}
        truncated = {s: int((sequence_lengths(dsd[s]) > length).sum()) for s in splits}

        def reverse_complement(batch):
            return encoding.reverse_complement_ids(batch["input_ids"], batch["lengths"])

        encoded = ("one-hot (A, C, G, T; N = 0.25 each)" if args.input_encoding == "one-hot" else
                   f"learned {args.embedding_dim}-d embedding of A, C, G, T, N and padding")
        info = {"input_length_bp": length, "longest_sequence_bp": longest, "truncated": truncated,
                "long_sequences": args.long_sequences, "encoding": encoded}
        return Prepared(splits, info, reverse_complement=reverse_complement)

    def build_model(self, prepared: Prepared, task: Task, args: CNNArguments):
        from gbhub.training.models.cnn import CNNConfig, CNNForSequenceClassification

        upstream = args.upstream_activations
        config = CNNConfig(
            input_length=prepared.info["input_length_bp"],
            hidden_size=args.hidden_size,
            dropout=args.dropout,
            conv_activations=["relu", "identity", "identity"] if upstream else ["relu"] * 3,
            dense_activation="identity" if upstream else "relu",
            input_encoding=args.input_encoding,
            embedding_dim=args.embedding_dim,
            **head_config(task, prepared),
        )
        return CNNForSequenceClassification(config)

    def fit_options(self, args: CNNArguments) -> dict[str, Any]:
        return {"rc_augment": args.rc_augment, "rc_average": args.rc_average}

    def card(self, record: Mapping[str, Any], args: CNNArguments) -> CardText:
        mc = record["model_config"]
        info = record["input"]
        ch = mc["conv_channels"]
        length = info["input_length_bp"]
        if mc.get("input_encoding") == "embedding":
            first = mc["embedding_dim"]
            source = (f"- input: token ids `(batch, {length})` (A, C, G, T, N, padding) → learned embedding "
                      f"({first} per token) → `(batch, {first}, {length})`\n")
        else:
            first = 4
            source = f"- input: one-hot DNA `(batch, 4, {length})` (`N` = 0.25 per base, padding = 0)\n"
        architecture = (
            "The baseline CNN of Grešová et al. (2023), \"Baseline model\", as a transformers `PreTrainedModel` "
            "(`CNNForSequenceClassification`, config `CNNConfig`, model type `genomic_benchmarks_cnn`):\n\n"
            + source
            + "".join(
                f"- Conv1d({first if i == 0 else ch[i - 1]} → {c}, kernel {mc['kernel_size']}) → BatchNorm → "
                f"{mc['conv_activations'][i]} → MaxPool({mc['pool_size']})\n"
                for i, c in enumerate(ch)
            )
            + (f"- flatten, concatenated with {len(record.get('side_features') or [])} standardised side features\n"
               if record.get("side_features") else "")
            + f"- flatten → Linear({mc['hidden_size']}) → {mc['dense_activation']} → "
            + ("Linear(num targets) = predicted values, MSE loss\n\n" if record.get("task") == "regression"
               else "Linear(num classes) = logits\n\n")
            + f"{record['num_parameters']:,} parameters."
        )
        truncated = {s: n for s, n in info["truncated"].items() if n}
        note = (f"**Input length.** The model reads {info['input_length_bp']} bp (the longest sequence of the "
                f"dataset is {info['longest_sequence_bp']} bp); shorter sequences are padded on the right.")
        if truncated:
            note += (" Longer sequences keep their first bases (`--long-sequences truncate`): "
                     + ", ".join(f"{n} in {s}" for s, n in truncated.items()) + ".")
        names = ", ".join(record["label_names"])
        side = record.get("side_features") or []
        side_line = (f"side = torch.zeros(1, {len(side)})  # raw {', '.join(side)}, in this order\n" if side else "")
        side_arg = ", side_features=side" if side else ""
        if record.get("task") == "regression":
            usage = f"""import torch
from gbhub.training.models.cnn import CNNForSequenceClassification

model = CNNForSequenceClassification.from_pretrained("<this repo or folder>").eval()
input_ids = model.encode(["ACGT" * 10])  # (batch, {info['input_length_bp']}) ids: padded / cropped
{side_line}with torch.no_grad():
    values = model(input_ids=input_ids{side_arg}).logits  # predicted {names}
print(values)"""
        else:
            usage = f"""from gbhub.training.models.cnn import CNNForSequenceClassification

model = CNNForSequenceClassification.from_pretrained("<this repo or folder>").eval()
input_ids = model.encode(["ACGT" * 10])  # (batch, {info['input_length_bp']}) ids: padded / cropped
probs = model(input_ids=input_ids).logits.softmax(-1)  # classes: {names}
print(probs)"""
        return CardText(
            title="Genomic Benchmarks CNN",
            architecture=architecture,
            differences=UPSTREAM_DIFFERENCES + ((REGRESSION_DIFFERENCE,) if record.get("task") == "regression" else ()),
            usage=usage,
            # The model class is this package's (no remote code): its `from_pretrained` loads the folder.
            install='pip install "genomic-benchmarks-hub[train]"',
            library_name="genomic-benchmarks-hub",
            citation=paper_results.BIBTEX,
            notes=[note, *side_features_notes(record)],
        )


UPSTREAM_DIFFERENCES = (
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
)
REGRESSION_DIFFERENCE = (
    "Regression head (not in the paper, which classifies only): one linear output per target and an MSE loss; "
    "the selected epoch is the best on the validation split's `--selection-metric` (default: MSE loss)."
)
