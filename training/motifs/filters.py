"""First-layer filters -> position probability matrices: Basset's activation sites, or the paper's k-mer enumeration.

Works on any model whose first layer is an `nn.Conv1d` over the 4 one-hot channels (the baseline CNN,
DeepEnhancer): the filter's *activation* is what the network computes from it before any pooling, i.e. the
convolution followed by the batch norm and activation that come right after it in the same
`nn.Sequential` (batch norm in eval mode, with its running statistics).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from gbhub.builders.errors import GBHubError
from gbhub.training import encoding

#: Filters supported by fewer sites than this are dropped (Basset: 10).
MIN_SITES = 10
#: Largest kernel the k-mer enumeration accepts (4^k one-hot inputs per filter).
MAX_ENUMERATED_KERNEL = 10


class MotifError(GBHubError, ValueError):
    """A model or input that motifs cannot be read from; says what to change."""


@dataclass
class FirstLayer:
    """The first convolution over one-hot DNA and what follows it before pooling.

    Attributes:
        conv: the `nn.Conv1d(4, filters, k)`.
        after: the modules applied to its output before any pooling (`BatchNorm1d`, an activation), in order.
        name: the convolution's module name (e.g. `features.0`).
    """

    conv: nn.Conv1d
    after: tuple[nn.Module, ...]
    name: str

    @property
    def kernel_size(self) -> int:
        return int(self.conv.kernel_size[0])

    @property
    def n_filters(self) -> int:
        return int(self.conv.out_channels)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Activations `(batch, filters, length - k + 1)` of one-hot `x` `(batch, 4, length)`."""
        out = self.conv(x)
        for module in self.after:
            out = module(out)
        return out


_PASS_THROUGH = (nn.BatchNorm1d, nn.ReLU, nn.GELU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Dropout)


def first_layer(model: nn.Module) -> FirstLayer:
    """The first `nn.Conv1d` reading the 4 one-hot channels, and the norm/activation following it.

    Raises:
        MotifError: the model has no such convolution (e.g. a transformer).
    """
    for parent_name, parent in model.named_modules():
        children = list(parent.named_children())
        for i, (name, module) in enumerate(children):
            if isinstance(module, nn.Conv1d) and module.in_channels == 4:
                after = []
                for _, nxt in children[i + 1:]:
                    if not isinstance(nxt, _PASS_THROUGH):
                        break
                    if not isinstance(nxt, nn.Dropout):
                        after.append(nxt)
                return FirstLayer(module, tuple(after), f"{parent_name}.{name}".lstrip("."))
    raise MotifError(f"{type(model).__name__} has no Conv1d over the 4 one-hot DNA channels: motifs are read from "
                     "the first layer of convolutional recipes (cnn, deepenhancer)")


@dataclass
class FilterPPMs:
    """Position probability matrices of every first-layer filter.

    Attributes:
        ppms: `(filters, 4, k)` probabilities of A, C, G, T at each filter position (pseudocounts added).
        counts: `(filters, 4, k)` the counts they came from (sites, or positive k-mers).
        sites: `(filters,)` sites (activation method) or positive k-mers (enumeration) per filter.
        threshold: `(filters,)` the activation threshold of each filter (0 for the enumeration).
        method: `activation` (Basset) or `enumeration` (the DeepEnhancer paper).
        pseudocount: added to every count before normalising.
        n_sequences: sequences scanned (activation method).
    """

    ppms: np.ndarray
    counts: np.ndarray
    sites: np.ndarray
    threshold: np.ndarray
    method: str
    pseudocount: float
    n_sequences: int = 0

    def kept(self, min_sites: int = MIN_SITES) -> np.ndarray:
        """`(filters,)` True for filters supported by at least `min_sites` sites."""
        return self.sites >= min_sites


def _normalise(counts: np.ndarray, pseudocount: float) -> np.ndarray:
    padded = counts + pseudocount
    return padded / padded.sum(axis=1, keepdims=True)


def one_hot_batches(sequences: Sequence[str], batch_size: int = 256, *, desc: str = "", progress: bool = False):
    """Yield `(one_hot (batch, 4, length), lengths (batch,))` float32 tensors, right-padded per batch."""
    from tqdm.auto import tqdm

    for lo in tqdm(range(0, len(sequences), batch_size), desc=desc, disable=not progress, leave=False):
        enc = encoding.encode(list(sequences[lo : lo + batch_size]))
        yield torch.from_numpy(encoding.one_hot(enc.ids)), torch.from_numpy(enc.lengths)


def activation_ppms(model: nn.Module, sequences: Sequence[str], *, threshold_fraction: float = 0.5,
                    pseudocount: float = 0.5, batch_size: int = 256, progress: bool = False) -> FilterPPMs:
    """Basset's PPMs (Kelley et al. 2016): align the inputs where each filter fires strongly and count bases.

    A filter's threshold is `mean + threshold_fraction * (max - mean)` of its activation over every position
    of every sequence where it reads no padding; each position above the threshold is a site, and the
    one-hot `k`-mers at the sites (`N` = 0.25 per base) are summed into counts, then normalised with a
    `pseudocount` per base. Two passes over the sequences (statistics, then sites), so memory stays at one
    batch.

    Args:
        model: a convolutional model (`first_layer`).
        sequences: DNA strings (any lengths; shorter than the kernel: no positions).
        threshold_fraction: 0.5 in Basset.
        pseudocount: added to each base count of each position.
        batch_size: sequences per forward pass.
        progress: show a progress bar per pass.

    Returns:
        The `FilterPPMs` of every filter (callers drop those with fewer than `MIN_SITES` sites).
    """
    layer = first_layer(model)
    model.eval()
    k, n_filters = layer.kernel_size, layer.n_filters
    total = torch.zeros(n_filters, dtype=torch.float64)
    top = torch.full((n_filters,), -torch.inf, dtype=torch.float64)
    n_positions = 0
    for x, lengths in one_hot_batches(sequences, batch_size, desc="activations", progress=progress):
        if x.shape[-1] < k:
            continue
        act, valid = _valid_activations(layer, x, lengths)
        masked = act.double() * valid
        total += masked.sum(dim=(0, 2))
        top = torch.maximum(top, act.double().masked_fill(~valid, -torch.inf).amax(dim=(0, 2)))
        n_positions += int(valid.sum())
    if n_positions == 0:
        raise MotifError(f"no sequence is at least {k} bp long (the first layer's kernel): no position to scan")
    mean = total / n_positions
    threshold = mean + threshold_fraction * (top - mean)
    counts = torch.zeros(n_filters, 4, k, dtype=torch.float64)
    sites = torch.zeros(n_filters, dtype=torch.int64)
    for x, lengths in one_hot_batches(sequences, batch_size, desc="sites", progress=progress):
        if x.shape[-1] < k:
            continue
        act, valid = _valid_activations(layer, x, lengths)
        hit = (act.double() > threshold[None, :, None]) & valid  # (batch, filters, positions)
        windows = x.unfold(2, k, 1)  # (batch, 4, positions, k)
        counts += torch.einsum("bfp,bcpk->fck", hit.double(), windows.double())
        sites += hit.sum(dim=(0, 2))
    counts_np = counts.numpy()
    return FilterPPMs(_normalise(counts_np, pseudocount), counts_np, sites.numpy(), threshold.numpy(), "activation",
                      pseudocount, len(sequences))


def _valid_activations(layer: FirstLayer, x: torch.Tensor, lengths: torch.Tensor):
    """`(activations (batch, filters, positions), valid (batch, 1, positions))`: positions reading no padding."""
    act = layer(x)
    positions = torch.arange(act.shape[-1])
    valid = (positions[None, :] + layer.kernel_size <= lengths[:, None]).unsqueeze(1)
    return act, valid


def enumeration_ppms(model: nn.Module, *, pseudocount: float = 0.5) -> FilterPPMs:
    """The DeepEnhancer paper's PPMs: every one-hot `k`-mer the filter activates positively, counted.

    All `4^k` inputs of the filter's width go through the first layer (convolution, then its batch norm and
    activation); the bases of those with a positive activation are counted per position and normalised with
    a `pseudocount` per base. The paper did this for its 128 filters of width 8 (65,536 inputs each).

    Raises:
        MotifError: a kernel wider than `MAX_ENUMERATED_KERNEL` (4^k inputs would not fit).
    """
    layer = first_layer(model)
    model.eval()
    k = layer.kernel_size
    if k > MAX_ENUMERATED_KERNEL:
        raise MotifError(f"the first layer's kernel is {k} bp: enumerating 4^{k} k-mers is too much; use the "
                         "activation method (--method activation)")
    kmers = np.array(list(itertools.product(range(4), repeat=k)), dtype=np.int64)  # (4^k, k)
    one_hot = torch.from_numpy(np.eye(4, dtype=np.float32)[kmers].transpose(0, 2, 1).copy())  # (4^k, 4, k)
    act = torch.cat([layer(one_hot[i : i + 16384]) for i in range(0, len(one_hot), 16384)])[..., 0]  # (4^k, F)
    positive = (act > 0).double()
    counts = torch.einsum("nf,nck->fck", positive, one_hot.double()).numpy()
    sites = positive.sum(dim=0).numpy().astype(np.int64)
    return FilterPPMs(_normalise(counts, pseudocount), counts, sites, np.zeros(len(sites)), "enumeration",
                      pseudocount)


def filter_importance(model: nn.Module, input_ids: torch.Tensor, labels: torch.Tensor, *,
                      batch_size: int = 128, progress: bool = False) -> np.ndarray:
    """How much each filter matters to the loss: mean over sequences of `|sum_positions a * dL/da|`.

    `a` is the filter's activation (`first_layer`) and `L` the model's cross-entropy loss: the first-order
    estimate of the loss change when the filter is silenced (set to 0), a cheap stand-in for Basset's
    influence (one forward and backward pass instead of one pass per filter).

    Args:
        model: the classifier (`forward(input_ids, labels)` returning `.loss`).
        input_ids: `(n, input_length)` token ids the model reads.
        labels: `(n,)` class ids.
        batch_size: sequences per forward and backward pass.
        progress: show a progress bar.

    Returns:
        `(filters,)` float64, larger = more important.
    """
    layer = first_layer(model)
    model.eval()
    hook_module = layer.after[-1] if layer.after else layer.conv
    captured = {}

    def keep(_module, _inputs, output):
        output.retain_grad()
        captured["a"] = output

    handle = hook_module.register_forward_hook(keep)
    total = torch.zeros(layer.n_filters, dtype=torch.float64)
    from tqdm.auto import tqdm

    try:
        for lo in tqdm(range(0, len(input_ids), batch_size), desc="importance", disable=not progress, leave=False):
            model.zero_grad(set_to_none=True)
            with torch.enable_grad():
                out = model(input_ids=input_ids[lo : lo + batch_size], labels=labels[lo : lo + batch_size])
                (out.loss * len(input_ids[lo : lo + batch_size])).backward()
            a = captured["a"]
            total += (a * a.grad).sum(dim=2).abs().sum(dim=0).double().detach()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    return (total / max(len(input_ids), 1)).numpy()


def information_content(ppms: np.ndarray) -> np.ndarray:
    """`(filters,)` information content in bits of `(filters, 4, k)` PPMs (uniform background), via logomaker."""
    import logomaker
    import pandas as pd

    return np.array([
        float(logomaker.transform_matrix(pd.DataFrame(p.T, columns=list("ACGT")), from_type="probability",
                                         to_type="information").to_numpy().sum())
        for p in ppms
    ])


def consensus(ppm: np.ndarray) -> str:
    """The most probable base at each position of a `(4, k)` PPM."""
    return "".join("ACGT"[i] for i in ppm.argmax(axis=0))
