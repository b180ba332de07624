"""gbhub.training.models.cnn: the paper's architecture, the logits loss, input checks, save/load through the Auto classes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification

from gbhub.training import encoding
from gbhub.training.models.cnn import CNNConfig, CNNForSequenceClassification


def _model(num_labels=2, length=251, **kwargs):
    torch.manual_seed(0)
    config = CNNConfig(input_length=length, id2label={i: f"c{i}" for i in range(num_labels)}, **kwargs)
    return CNNForSequenceClassification(config).eval()


def test_architecture_is_the_papers():
    model = _model()
    convs = [m for m in model.features if isinstance(m, nn.Conv1d)]
    assert [c.out_channels for c in convs] == [16, 8, 4]
    assert [c.in_channels for c in convs] == [4, 16, 8]
    assert all(c.kernel_size == (8,) for c in convs)
    kinds = [type(m).__name__ for m in model.features]
    assert kinds == ["Conv1d", "BatchNorm1d", "ReLU", "MaxPool1d"] * 3 + ["Flatten"]
    dense = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(100, 512), (512, 2)]
    assert any(isinstance(m, nn.ReLU) for m in model.classifier)
    # 251 -> conv 244 -> pool 122 -> conv 115 -> pool 57 -> conv 50 -> pool 25; 4 channels x 25
    assert model.config.flatten_size == 100
    with torch.no_grad():
        assert model.features(torch.zeros(1, 4, 251)).shape == (1, 100)


def test_upstream_activation_placement_option():
    model = _model(conv_activations=["relu", "identity", "identity"], dense_activation="identity")
    kinds = [type(m).__name__ for m in model.features]
    assert kinds.count("ReLU") == 1 and kinds.count("Identity") == 2
    assert not any(isinstance(m, nn.ReLU) for m in model.classifier)


@pytest.mark.parametrize("num_labels", [2, 3])
def test_loss_is_cross_entropy_of_logits(num_labels):
    model = _model(num_labels)
    ids = torch.randint(0, 5, (6, 251))
    labels = torch.tensor([0, 1, 1, 0, num_labels - 1, 1])
    out = model(input_ids=ids, labels=labels)
    assert out.logits.shape == (6, num_labels)
    torch.testing.assert_close(out.loss, nn.functional.cross_entropy(out.logits, labels))
    # logits are unbounded scores, not probabilities squashed by a sigmoid
    assert not torch.all((out.logits >= 0) & (out.logits <= 1))


def test_one_hot_inside_forward_equals_inputs_embeds():
    model = _model()
    ids = torch.from_numpy(encoding.encode(["ACGTN" * 50], length=251).ids).long()
    onehot = torch.from_numpy(encoding.one_hot(ids.numpy()))
    torch.testing.assert_close(CNNForSequenceClassification.one_hot(ids), onehot)
    torch.testing.assert_close(model(input_ids=ids).logits, model(inputs_embeds=onehot).logits)


def test_wrong_length_and_too_short_config_are_refused():
    model = _model()
    with pytest.raises(ValueError, match="input_length 251"):
        model(input_ids=torch.zeros(1, 200, dtype=torch.long))
    with pytest.raises(ValueError, match="at least"):
        _model(length=40)
    with pytest.raises(ValueError, match="exactly one"):
        model()


def test_save_pretrained_round_trip_through_auto_classes(tmp_path):
    model = _model(3, length=120)
    model.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "genomic_benchmarks_cnn"
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, CNNForSequenceClassification)
    assert loaded.config.id2label == {0: "c0", 1: "c1", 2: "c2"}
    ids = model.encode(["ACGT" * 30, "GATTACA", "N" * 200])
    assert ids.shape == (3, 120)
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, loaded(input_ids=ids).logits)
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def test_learned_embedding_input_as_upstream(tmp_path):
    model = _model(input_encoding="embedding", embedding_dim=100)
    assert model.config.in_channels == 100 and model.features[0].in_channels == 100
    assert tuple(model.embeddings.weight.shape) == (encoding.VOCAB_SIZE, 100)
    assert 0.8 < float(model.embeddings.weight.detach().std()) < 1.2  # torch's N(0, 1), as upstream's nn.Embedding
    ids = torch.from_numpy(encoding.encode(["ACGTN" * 50], length=251).ids).long()
    embedded = model.embeddings(ids).transpose(1, 2)
    torch.testing.assert_close(model(input_ids=ids).logits, model(inputs_embeds=embedded).logits)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.input_encoding == "embedding"
    torch.testing.assert_close(loaded(input_ids=ids).logits, model(input_ids=ids).logits)
    with pytest.raises(ValueError, match="input_encoding 'two-hot'"):
        _model(input_encoding="two-hot")
