"""DeepEnhancer (Min et al. 2017): the Table 1 network and its ablation variants as a Hub-native `PreTrainedModel`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from gbhub.training import encoding
from gbhub.training.models.cnn import CNNForSequenceClassification
from gbhub.training.models.heads import SideFeatures, side_feature_kwargs, task_loss, torch_default_init

MODEL_TYPE = "deepenhancer"

#: The five architectures of the paper (its "Network architectures" section and Table 2). Each conv layer
#: is `(filters, kernel, max-pool after it)`; `norm` puts a BatchNorm after every conv layer. The default,
#: `4conv2pool4norm`, is Table 1; `6conv*` append two conv layers of 16 filters of width 2 and a third pool.
ARCHITECTURES: dict[str, dict] = {
    "4conv2pool4norm": {"convs": [(128, 8, False), (128, 8, True), (64, 3, False), (64, 3, True)], "norm": True},
    "4conv2pool": {"convs": [(128, 8, False), (128, 8, True), (64, 3, False), (64, 3, True)], "norm": False},
    "4conv": {"convs": [(128, 8, False), (128, 8, False), (64, 3, False), (64, 3, False)], "norm": False},
    "6conv3pool6norm": {"convs": [(128, 8, False), (128, 8, True), (64, 3, False), (64, 3, True), (16, 2, False),
                                  (16, 2, True)], "norm": True},
    "6conv3pool": {"convs": [(128, 8, False), (128, 8, True), (64, 3, False), (64, 3, True), (16, 2, False),
                             (16, 2, True)], "norm": False},
}
DEFAULT_ARCHITECTURE = "4conv2pool4norm"
PAPER_WIDTH = 300


class DeepEnhancerConfig(PretrainedConfig):
    """Configuration of `DeepEnhancerForSequenceClassification`.

    Args:
        architecture: one of `ARCHITECTURES` (the paper's names); fills the layer fields below.
        input_length: window width `W` in bp the model reads (paper: 300); the flatten size depends on it.
        conv_channels: filters of each conv layer (default: the architecture's).
        kernel_sizes: kernel width of each conv layer (default: the architecture's).
        pool_after: whether a max-pool of `pool_size` follows each conv layer (default: the architecture's).
        batch_norm: a BatchNorm after every conv layer (default: the architecture's).
        pool_size: max-pool window and stride (paper: 2).
        dense_sizes: widths of the hidden dense layers (paper: 256, 128).
        dropout: dropout between the first and the second dense layer (paper: 0.5).
        side_feature_names: numeric side features read besides the sequence, concatenated to the flattened
            conv features before the dense layers (`gbhub.training.models.heads`); empty = none.
        side_feature_mean, side_feature_std: their training-split statistics (inputs are standardised with them).
        **kwargs: `PretrainedConfig` arguments (`id2label`, `label2id`, `num_labels`, `problem_type`: `regression`
            for float targets, one output each, MSE loss).
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        architecture: str = DEFAULT_ARCHITECTURE,
        input_length: int = PAPER_WIDTH,
        conv_channels: Sequence[int] | None = None,
        kernel_sizes: Sequence[int] | None = None,
        pool_after: Sequence[bool] | None = None,
        batch_norm: bool | None = None,
        pool_size: int = 2,
        dense_sizes: Sequence[int] = (256, 128),
        dropout: float = 0.5,
        side_feature_names: Sequence[str] = (),
        side_feature_mean: Sequence[float] = (),
        side_feature_std: Sequence[float] = (),
        **kwargs,
    ):
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown DeepEnhancer architecture {architecture!r}: expected one of "
                             f"{', '.join(ARCHITECTURES)}")
        spec = ARCHITECTURES[architecture]
        self.architecture = architecture
        self.input_length = int(input_length)
        self.conv_channels = [int(c) for c in (conv_channels or [c for c, _, _ in spec["convs"]])]
        self.kernel_sizes = [int(k) for k in (kernel_sizes or [k for _, k, _ in spec["convs"]])]
        self.pool_after = [bool(p) for p in (pool_after if pool_after is not None else [p for *_, p in spec["convs"]])]
        self.batch_norm = bool(spec["norm"] if batch_norm is None else batch_norm)
        if not len(self.conv_channels) == len(self.kernel_sizes) == len(self.pool_after):
            raise ValueError("conv_channels, kernel_sizes and pool_after need one entry per conv layer")
        self.pool_size = int(pool_size)
        self.dense_sizes = [int(d) for d in dense_sizes]
        self.dropout = float(dropout)
        self.vocab = list(encoding.VOCAB)
        for key, value in side_feature_kwargs(side_feature_names, side_feature_mean, side_feature_std).items():
            setattr(self, key, value)
        super().__init__(**kwargs)

    def layer_lengths(self) -> list[int]:
        """Length of the feature map after each conv layer (and its pool, if any); input first."""
        lengths = [self.input_length]
        for k, pool in zip(self.kernel_sizes, self.pool_after):
            length = lengths[-1] - k + 1
            lengths.append(length // self.pool_size if pool else length)
        return lengths

    @property
    def flatten_size(self) -> int:
        """Features entering the first dense layer: channels x length after the last conv block."""
        return self.conv_channels[-1] * self.layer_lengths()[-1]

    @property
    def min_input_length(self) -> int:
        """The shortest `input_length` that leaves at least one position after the last conv block."""
        length = 1
        for k, pool in reversed(list(zip(self.kernel_sizes, self.pool_after))):
            length = (length * self.pool_size if pool else length) + k - 1
        return length


class DeepEnhancerPreTrainedModel(PreTrainedModel):
    """Weight initialisation and `from_pretrained` plumbing."""

    config_class = DeepEnhancerConfig
    base_model_prefix = "deepenhancer"
    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """PyTorch's default initialisation, through transformers' init-once functions (as the CNN)."""
        if not torch_default_init(module):
            super()._init_weights(module)


class DeepEnhancerForSequenceClassification(DeepEnhancerPreTrainedModel):
    """Conv layers (Conv1d -> [BatchNorm] -> ReLU [-> MaxPool]), flatten, dense 256 -> dropout -> dense 128 ->
    the class logits (Table 1 of Min et al. 2017 with ReLU activations; softmax is applied by the loss).

    Input is one-hot DNA of width `config.input_length`: token ids from `gbhub.training.encoding` are
    expanded to `(batch, 4, W)` inside `forward` (`N` = 0.25 per base, padding = 0).
    """

    def __init__(self, config: DeepEnhancerConfig):
        super().__init__(config)
        if config.input_length < config.min_input_length:
            raise ValueError(f"input_length {config.input_length} is too short for architecture "
                             f"{config.architecture}: expected at least {config.min_input_length}")
        layers: list[nn.Module] = []
        in_channels = 4
        for channels, kernel, pool in zip(config.conv_channels, config.kernel_sizes, config.pool_after):
            layers.append(nn.Conv1d(in_channels, channels, kernel_size=kernel))
            if config.batch_norm:
                layers.append(nn.BatchNorm1d(channels))
            layers.append(nn.ReLU())
            if pool:
                layers.append(nn.MaxPool1d(config.pool_size))
            in_channels = channels
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.side = SideFeatures(config)
        dense: list[nn.Module] = []
        width = config.flatten_size + self.side.size
        for i, size in enumerate(config.dense_sizes):
            dense += [nn.Linear(width, size), nn.ReLU()]
            if i == 0:
                dense.append(nn.Dropout(config.dropout))  # Table 1: dropout between the two dense layers
            width = size
        dense.append(nn.Linear(width, config.num_labels))
        self.classifier = nn.Sequential(*dense)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        side_features: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        """Classify windows (or predict their sequence's target(s) when `config.problem_type == "regression"`).

        Args:
            input_ids: `(batch, W)` token ids (`gbhub.training.encoding`), `W = config.input_length`.
            labels: `(batch,)` class ids; `loss` is then the cross-entropy of the logits (regression:
                `(batch[, num_labels])` floats, MSE).
            inputs_embeds: `(batch, 4, W)` one-hot (or soft) DNA instead of `input_ids`.
            side_features: `(batch, n)` raw side features of each window's sequence (models trained with them).
            **kwargs: ignored (`lengths`, `attention_mask` from generic collators).

        Returns:
            `SequenceClassifierOutput` with `logits` `(batch, num_labels)` and `loss` when `labels` are given.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids (batch, W) or inputs_embeds (batch, 4, W)")
        x = CNNForSequenceClassification.one_hot(input_ids) if inputs_embeds is None else inputs_embeds
        if x.shape[-1] != self.config.input_length:
            raise ValueError(f"input width {x.shape[-1]} != the model's input_length {self.config.input_length}: "
                             "cut windows with `model.encode(sequences)` or `model.predict_proba(sequences)`")
        h = self.features(x)
        side = self.side(side_features)
        logits = self.classifier(h if side is None else torch.cat([h, side.to(h.dtype)], dim=1))
        loss = None if labels is None else task_loss(self.config, logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def encode(self, sequences: Sequence[str], *, stride: int = 2, max_windows: int | None = None,
               short: str = "start"):
        """Windows of `sequences` as model input: `(input_ids (n_windows, W), plan)`.

        See `gbhub.training.windows.plan_bp_windows` for `stride`, `max_windows` and `short`.
        """
        from gbhub.training.windows import encode_bp_windows, plan_bp_windows

        sequences = list(sequences)
        plan = plan_bp_windows([len(s) for s in sequences], self.config.input_length, stride,
                               max_windows=max_windows, short=short)
        return torch.from_numpy(encode_bp_windows(sequences, plan)).long().to(self.device), plan

    @torch.no_grad()
    def predict_proba(self, sequences: Sequence[str], *, stride: int = 2, max_windows: int | None = None,
                      short: str = "start", aggregation: str = "max", batch_size: int = 256) -> np.ndarray:
        """Class probabilities `(n, num_labels)` of sequences of any length, scored by their windows.

        Each sequence is cut into `W`-bp windows (`encode`), every window is classified, and a sequence's
        score is the maximum over its windows (`aggregation="max"`, the paper's region score) or the mean of
        their logits (`"mean"`).
        """
        from gbhub.training.metrics_util import softmax
        from gbhub.training.windows import aggregate_logits

        if self.config.problem_type == "regression" or self.side.size:
            raise ValueError("predict_proba scores a classifier of the sequence alone; for a regression model or one "
                             "reading side features, call the model on `encode(...)` windows and aggregate them with "
                             "`gbhub.training.windows.aggregate_logits(outputs, plan, 'mean')`")
        self.eval()
        ids, plan = self.encode(sequences, stride=stride, max_windows=max_windows, short=short)
        logits = [self(input_ids=ids[i : i + batch_size]).logits.float().cpu() for i in range(0, len(ids), batch_size)]
        window_logits = torch.cat(logits).numpy() if logits else np.zeros((0, self.config.num_labels), np.float32)
        return softmax(aggregate_logits(window_logits, plan, aggregation))


AutoConfig.register(MODEL_TYPE, DeepEnhancerConfig, exist_ok=True)
AutoModelForSequenceClassification.register(DeepEnhancerConfig, DeepEnhancerForSequenceClassification,
                                            exist_ok=True)
