"""Transformer DeepLncLoc (Pipoli et al. 2022) as a Hub-native `PreTrainedModel` with its own `PretrainedConfig`.

Input is a sequence's overlapping 3-mers as ids 0..63 (`ACGT` digits, `16 a + 4 b + c`; `UNKNOWN_KMER` = 64 for a
3-mer holding `N` or padding). The sequence is cut into `num_slices` consecutive slices of `slice_bp` 3-mer
positions, each slice becomes the mean of its 3-mers' word2vec vectors (the DeepLncLoc embedding; the table,
trained with gensim on the training split, is the buffer `kmer_vectors`, saved with the weights), then: batch norm,
sinusoidal positional encoding, a Transformer encoder, global average pooling over the slices, concatenation with
the side features, two dense layers.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

from gbhub.training import encoding
from gbhub.training.models.heads import SideFeatures, side_feature_kwargs, task_loss

MODEL_TYPE = "transformer_deeplncloc"
K = 3
NUM_KMERS = 4**K
UNKNOWN_KMER = NUM_KMERS  # a 3-mer holding N, or past the sequence's end: left out of its slice's mean


def kmer_ids(sequences: Sequence[str], length: int) -> np.ndarray:
    """Overlapping 3-mer ids `(n, length - 2)` uint8 of DNA strings padded or cropped to `length` bp.

    The 3-mer starting at base `i` is column `i`; ids are `16 a + 4 b + c` over `A, C, G, T` = 0..3
    (`itertools.product("ACGT", repeat=3)` order), `UNKNOWN_KMER` where a base is `N`, another letter or padding.
    """
    if length < K:
        raise ValueError(f"a 3-mer model needs sequences of at least {K} bp, got an input length of {length}")
    ids = encoding.encode(list(sequences), length).ids.astype(np.int16)
    a, b, c = ids[:, :-2], ids[:, 1:-1], ids[:, 2:]
    kmers = 16 * a + 4 * b + c
    kmers[(a > 3) | (b > 3) | (c > 3)] = UNKNOWN_KMER
    return kmers.astype(np.uint8)


def kmer_names() -> list[str]:
    """The 64 3-mers in id order."""
    import itertools

    return ["".join(p) for p in itertools.product("ACGT", repeat=K)]


class DeepLncLocConfig(PretrainedConfig):
    """Configuration of `DeepLncLocForSequenceClassification`.

    Args:
        input_length: bp the model reads (paper: 10,500 = 7,000 upstream + 3,500 downstream of the TSS); it takes
            `input_length - 2` 3-mer ids.
        num_slices: consecutive slices the sequence is cut into (paper: 210 slices of 50 bp).
        embedding_size: word2vec vector size = the Transformer's width (paper: 64).
        num_heads: attention heads (must divide `embedding_size`).
        num_layers: Transformer encoder layers.
        feedforward_size: width of each encoder layer's feed-forward block.
        hidden_size: width of the first of the two dense layers after pooling.
        dropout: dropout in the encoder and between the dense layers.
        side_feature_names, side_feature_mean, side_feature_std: the side features concatenated after pooling
            (the paper's 8 mRNA half-life features) and their training statistics.
        **kwargs: `PretrainedConfig` arguments (`problem_type` `regression` with one output per target, the
            paper's task, or `single_label_classification`; `id2label`, ...).
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        input_length: int = 10_500,
        num_slices: int = 210,
        embedding_size: int = 64,
        num_heads: int = 4,
        num_layers: int = 1,
        feedforward_size: int = 128,
        hidden_size: int = 64,
        dropout: float = 0.1,
        side_feature_names: Sequence[str] = (),
        side_feature_mean: Sequence[float] = (),
        side_feature_std: Sequence[float] = (),
        **kwargs,
    ):
        self.input_length = int(input_length)
        self.num_slices = int(num_slices)
        self.embedding_size = int(embedding_size)
        self.num_heads = int(num_heads)
        self.num_layers = int(num_layers)
        self.feedforward_size = int(feedforward_size)
        self.hidden_size = int(hidden_size)
        self.dropout = float(dropout)
        self.kmer = K
        for key, value in side_feature_kwargs(side_feature_names, side_feature_mean, side_feature_std).items():
            setattr(self, key, value)
        if self.embedding_size % self.num_heads:
            raise ValueError(f"embedding_size {self.embedding_size} is not divisible by num_heads {self.num_heads}")
        if not 1 <= self.num_slices <= self.input_length - K + 1:
            raise ValueError(f"num_slices {self.num_slices} must be between 1 and the number of 3-mers "
                             f"({self.input_length - K + 1})")
        super().__init__(**kwargs)

    @property
    def slice_bp(self) -> int:
        """3-mer positions per slice (the last slice is padded with unknown 3-mers)."""
        return math.ceil((self.input_length - K + 1) / self.num_slices)


def sinusoidal_positions(length: int, size: int) -> torch.Tensor:
    """The Transformer's sinusoidal positional encoding `(length, size)` (Vaswani et al. 2017)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, size, 2, dtype=torch.float32) * (-math.log(10_000.0) / size))
    table = torch.zeros(length, size)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: size // 2])
    return table


class DeepLncLocPreTrainedModel(PreTrainedModel):
    """Weight initialisation and `from_pretrained` plumbing."""

    config_class = DeepLncLocConfig
    base_model_prefix = "deeplncloc"
    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """PyTorch's defaults (as the CNN), through transformers' init-once functions; the word2vec table is set
        by the recipe (`set_kmer_vectors`) and loaded with the weights."""
        if isinstance(module, nn.Linear):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                init.uniform_(module.bias, -1 / math.sqrt(module.weight.shape[1]), 1 / math.sqrt(module.weight.shape[1]))
        elif isinstance(module, nn.MultiheadAttention):
            init.xavier_uniform_(module.in_proj_weight)
            init.zeros_(module.in_proj_bias)
            init.zeros_(module.out_proj.bias)
        elif isinstance(module, (nn.LayerNorm, nn.BatchNorm1d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)


class DeepLncLocForSequenceClassification(DeepLncLocPreTrainedModel):
    """DeepLncLoc slice embedding -> BatchNorm -> + sinusoidal positions -> Transformer encoder -> mean over slices
    -> [concat side features] -> dense -> ReLU -> dropout -> dense (one output per target, or class logits)."""

    def __init__(self, config: DeepLncLocConfig):
        super().__init__(config)
        size = config.embedding_size
        self.register_buffer("kmer_vectors", torch.zeros(NUM_KMERS, size))  # word2vec, saved with the weights
        # Saved with the weights too (transformers leaves non-persistent buffers uninitialised on `from_pretrained`)
        self.register_buffer("positions", sinusoidal_positions(config.num_slices, size))
        self.norm = nn.BatchNorm1d(size)
        layer = nn.TransformerEncoderLayer(size, config.num_heads, config.feedforward_size, config.dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.side = SideFeatures(config)
        self.head = nn.Sequential(
            nn.Linear(size + self.side.size, config.hidden_size),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_size, config.num_labels),
        )
        self.post_init()

    @torch.no_grad()
    def set_kmer_vectors(self, vectors) -> None:
        """Install the word2vec table `(64, embedding_size)`, rows in `kmer_names()` order."""
        vectors = torch.as_tensor(np.asarray(vectors), dtype=torch.float32)
        if tuple(vectors.shape) != tuple(self.kmer_vectors.shape):
            raise ValueError(f"expected a word2vec table of shape {tuple(self.kmer_vectors.shape)}, got "
                             f"{tuple(vectors.shape)}")
        self.kmer_vectors.copy_(vectors)

    def slice_embedding(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The DeepLncLoc embedding `(batch, num_slices, embedding_size)`: each slice's mean 3-mer vector.

        Args:
            input_ids: `(batch, input_length - 2)` 3-mer ids (`kmer_ids`); `UNKNOWN_KMER` positions are left out
                of the means (a slice of unknown 3-mers only is zero).
        """
        c = self.config
        batch, positions = input_ids.shape
        if positions != c.input_length - K + 1:
            raise ValueError(f"expected (batch, {c.input_length - K + 1}) 3-mer ids for input_length "
                             f"{c.input_length}, got {tuple(input_ids.shape)}: encode with `model.encode(sequences)`")
        ids = nn.functional.pad(input_ids.long(), (0, c.num_slices * c.slice_bp - positions), value=UNKNOWN_KMER)
        ids = ids.view(batch, c.num_slices, c.slice_bp)
        counts = torch.zeros(batch, c.num_slices, NUM_KMERS + 1, device=ids.device)
        counts.scatter_add_(2, ids, torch.ones_like(ids, dtype=counts.dtype))
        counts = counts[..., :NUM_KMERS]
        return (counts @ self.kmer_vectors) / counts.sum(-1, keepdim=True).clamp_min(1.0)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        side_features: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        """Predict a sequence's target(s) (or class logits).

        Args:
            input_ids: `(batch, input_length - 2)` 3-mer ids from `model.encode(sequences)`.
            labels: `(batch[, num_labels])` float targets (MSE), or `(batch,)` class ids (cross-entropy).
            side_features: `(batch, n)` raw side features in `config.side_feature_names` order.
            inputs_embeds: `(batch, num_slices, embedding_size)` slice embeddings instead of `input_ids`.
            **kwargs: ignored (`lengths`, `attention_mask` from generic collators).

        Returns:
            `SequenceClassifierOutput` with `logits` `(batch, num_labels)` and `loss` when `labels` are given.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids (3-mer ids) or inputs_embeds (slice embeddings)")
        x = self.slice_embedding(input_ids) if inputs_embeds is None else inputs_embeds
        x = self.norm(x.transpose(1, 2)).transpose(1, 2) + self.positions
        x = self.encoder(x).mean(dim=1)  # global average pooling over the slices
        side = self.side(side_features)
        logits = self.head(x if side is None else torch.cat([x, side.to(x.dtype)], dim=1))
        loss = None if labels is None else task_loss(self.config, logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def encode(self, sequences: Sequence[str]) -> torch.Tensor:
        """3-mer ids `(batch, input_length - 2)` of DNA strings (padded, or cropped to their first bases)."""
        return torch.from_numpy(kmer_ids(sequences, self.config.input_length)).long().to(self.device)


AutoConfig.register(MODEL_TYPE, DeepLncLocConfig, exist_ok=True)
AutoModelForSequenceClassification.register(DeepLncLocConfig, DeepLncLocForSequenceClassification, exist_ok=True)
