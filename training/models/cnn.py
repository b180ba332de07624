"""The Genomic Benchmarks baseline CNN as a Hub-native `PreTrainedModel` with its own `PretrainedConfig`."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from gbhub.training import encoding
from gbhub.training.models.heads import SideFeatures, side_feature_kwargs, task_loss, torch_default_init

MODEL_TYPE = "genomic_benchmarks_cnn"
#: How tokens enter the first convolution: fixed one-hot channels, or a learned embedding (upstream's).
INPUT_ENCODINGS = ("one-hot", "embedding")


class CNNConfig(PretrainedConfig):
    """Configuration of `CNNForSequenceClassification` (Grešová et al. 2023, "Baseline model").

    Args:
        input_length: sequence length the model reads (the flatten size depends on it); shorter
            sequences are padded, longer ones cropped or refused by the data path.
        conv_channels: filters of the convolutional layers (paper: 16, 8, 4).
        kernel_size: convolution kernel size (paper: 8).
        pool_size: max-pooling window and stride after each convolution (upstream code: 2).
        hidden_size: width of the first dense layer (upstream code: 512).
        conv_activations: activation after each convolution (`relu` each; upstream has one after the
            first convolution only: `("relu", "identity", "identity")`).
        dense_activation: activation between the two dense layers (`relu`; upstream has none, which
            makes its two dense layers one linear map). Use `"identity"` for the upstream behaviour.
        dropout: dropout before each dense layer (0 = none, as upstream).
        side_feature_names: numeric side features read besides the sequence, concatenated to the flattened
            conv features before the dense layers (`gbhub.training.models.heads`); empty = none.
        side_feature_mean, side_feature_std: their training-split statistics (inputs are standardised with them).
        input_encoding: `one-hot` (4 fixed channels, `N` = 0.25 each) or `embedding` (a learned
            `embedding_dim`-dimensional vector per token, as upstream's `nn.Embedding`).
        embedding_dim: width of the learned embedding (upstream: 100); unused with one-hot input.
        **kwargs: `PretrainedConfig` arguments (`id2label`, `label2id`, `num_labels`, `problem_type`: `regression`
            for float targets, one output each, MSE loss).
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        input_length: int = 251,
        conv_channels: Sequence[int] = (16, 8, 4),
        kernel_size: int = 8,
        pool_size: int = 2,
        hidden_size: int = 512,
        conv_activations: Sequence[str] | None = None,
        dense_activation: str = "relu",
        dropout: float = 0.0,
        side_feature_names: Sequence[str] = (),
        side_feature_mean: Sequence[float] = (),
        side_feature_std: Sequence[float] = (),
        input_encoding: str = "one-hot",
        embedding_dim: int = 100,
        **kwargs,
    ):
        self.input_length = int(input_length)
        self.conv_channels = [int(c) for c in conv_channels]
        self.kernel_size = int(kernel_size)
        self.pool_size = int(pool_size)
        self.hidden_size = int(hidden_size)
        self.conv_activations = list(conv_activations or ["relu"] * len(self.conv_channels))
        if len(self.conv_activations) != len(self.conv_channels):
            raise ValueError(
                f"conv_activations {self.conv_activations} must have one entry per conv layer {self.conv_channels}"
            )
        self.dense_activation = dense_activation
        self.dropout = float(dropout)
        if input_encoding not in INPUT_ENCODINGS:
            raise ValueError(f"input_encoding {input_encoding!r}: expected one of {', '.join(INPUT_ENCODINGS)}")
        self.input_encoding = input_encoding
        self.embedding_dim = int(embedding_dim)
        self.vocab = list(encoding.VOCAB)
        for key, value in side_feature_kwargs(side_feature_names, side_feature_mean, side_feature_std).items():
            setattr(self, key, value)
        super().__init__(**kwargs)

    @property
    def in_channels(self) -> int:
        """Channels entering the first convolution: 4 (one-hot) or `embedding_dim`."""
        return self.embedding_dim if self.input_encoding == "embedding" else 4

    @property
    def flatten_size(self) -> int:
        """Features entering the first dense layer: channels x length after the last pooling."""
        length = self.input_length
        for _ in self.conv_channels:
            length = (length - self.kernel_size + 1) // self.pool_size
        return self.conv_channels[-1] * length

    @property
    def min_input_length(self) -> int:
        """The shortest `input_length` that leaves at least one position after the last pooling."""
        return min_input_length(len(self.conv_channels), self.kernel_size, self.pool_size)


def min_input_length(blocks: int = 3, kernel_size: int = 8, pool_size: int = 2) -> int:
    """The shortest input (bp) that `blocks` conv + pool blocks leave at least one position of."""
    length = 1
    for _ in range(blocks):
        length = length * pool_size + kernel_size - 1
    return length


_ACTIVATIONS = {"relu": nn.ReLU, "identity": nn.Identity, "gelu": nn.GELU}


def _activation(name: str) -> nn.Module:
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}: expected one of {', '.join(_ACTIVATIONS)}") from None


class CNNPreTrainedModel(PreTrainedModel):
    """Weight initialisation and `from_pretrained` plumbing shared by the CNN heads."""

    config_class = CNNConfig
    base_model_prefix = "cnn"
    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """PyTorch's default initialisation (as upstream), through transformers' init-once functions."""
        if torch_default_init(module):
            return
        if isinstance(module, nn.Embedding):
            init.normal_(module.weight, 0.0, 1.0)  # torch's default (upstream's), not transformers' std 0.02
        else:
            super()._init_weights(module)


class CNNForSequenceClassification(CNNPreTrainedModel):
    """Three conv blocks (Conv1d -> BatchNorm -> activation -> MaxPool), flatten, two dense layers.

    Input is token ids from `gbhub.training.encoding`, expanded inside `forward` to one-hot DNA
    `(batch, 4, length)` (`N` = 0.25 per base, padding = 0), or with `input_encoding="embedding"` looked up
    in a learned `(vocab, embedding_dim)` table as upstream does; either way the model accepts the same
    `input_ids` a tokenizer-based model does.
    """

    def __init__(self, config: CNNConfig):
        super().__init__(config)
        if config.input_length < config.min_input_length:
            raise ValueError(
                f"input_length {config.input_length} is too short for {len(config.conv_channels)} conv blocks "
                f"of kernel {config.kernel_size} and pool {config.pool_size}: expected at least "
                f"{config.min_input_length}"
            )
        self.embeddings = (nn.Embedding(encoding.VOCAB_SIZE, config.embedding_dim)
                           if config.input_encoding == "embedding" else None)
        blocks: list[nn.Module] = []
        in_channels = config.in_channels
        for out_channels, act in zip(config.conv_channels, config.conv_activations):
            blocks += [
                nn.Conv1d(in_channels, out_channels, kernel_size=config.kernel_size),
                nn.BatchNorm1d(out_channels),
                _activation(act),
                nn.MaxPool1d(config.pool_size),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.side = SideFeatures(config)
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(config.flatten_size + self.side.size, config.hidden_size),
            _activation(config.dense_activation),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_size, config.num_labels),
        )
        self.post_init()

    @staticmethod
    def one_hot(input_ids: torch.Tensor) -> torch.Tensor:
        """Expand token ids `(batch, length)` to one-hot `(batch, 4, length)` float32."""
        x = nn.functional.one_hot(input_ids.long(), encoding.VOCAB_SIZE)[..., :4].float()
        x = x + 0.25 * (input_ids == encoding.N_ID).unsqueeze(-1)
        return x.transpose(1, 2)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        side_features: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        """Classify sequences, or predict their target(s) (`config.problem_type == "regression"`).

        Args:
            input_ids: `(batch, length)` token ids from `gbhub.training.encoding.encode`, `length` equal to
                `config.input_length`.
            labels: `(batch,)` class ids; when given, `loss` is the cross-entropy of the logits (for two
                classes too: softmax over two logits, never a sigmoid before a logits loss). For regression
                `(batch[, num_labels])` floats and `loss` is their MSE.
            inputs_embeds: `(batch, config.in_channels, length)` instead of `input_ids`: one-hot (or soft) DNA,
                or embedded tokens.
            side_features: `(batch, n)` raw side features, in `config.side_feature_names` order (models
                trained with side features only).
            **kwargs: ignored (`lengths`, `attention_mask` from generic collators).

        Returns:
            `SequenceClassifierOutput` with `logits` `(batch, num_labels)` (the predicted values for
            regression) and `loss` when `labels` given.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids (batch, length) or inputs_embeds (batch, channels, length)")
        if inputs_embeds is not None:
            x = inputs_embeds
        elif self.embeddings is not None:
            x = self.embeddings(input_ids.long()).transpose(1, 2)  # (batch, embedding_dim, length)
        else:
            x = self.one_hot(input_ids)
        if x.shape[-1] != self.config.input_length:
            raise ValueError(
                f"input length {x.shape[-1]} != the model's input_length {self.config.input_length}: encode with "
                f"`model.encode(sequences)` (pads shorter, crops longer sequences)"
            )
        h = self.features(x)
        side = self.side(side_features)
        logits = self.classifier(h if side is None else torch.cat([h, side.to(h.dtype)], dim=1))
        loss = None if labels is None else task_loss(self.config, logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def encode(self, sequences: Sequence[str]) -> torch.Tensor:
        """Token ids `(batch, input_length)` for DNA strings (padded, or cropped to their first bases)."""
        enc = encoding.encode(list(sequences), self.config.input_length)
        return torch.from_numpy(enc.ids).long().to(self.device)


AutoConfig.register(MODEL_TYPE, CNNConfig, exist_ok=True)
AutoModelForSequenceClassification.register(CNNConfig, CNNForSequenceClassification, exist_ok=True)
