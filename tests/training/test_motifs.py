"""Filters -> motifs: exact PPMs on hand-made inputs, a filter set to CTCF comes back as CTCF, MEME, Tomtom, training."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gbhub.builders.hub_layout import SPLITS, write_hub_folder
from gbhub.cli import main
from gbhub.training.models.cnn import CNNConfig, CNNForSequenceClassification
from gbhub.training.models.deepenhancer import DeepEnhancerConfig, DeepEnhancerForSequenceClassification
from gbhub.training.motifs.filters import (
    MotifError,
    activation_ppms,
    consensus,
    enumeration_ppms,
    filter_importance,
    first_layer,
    information_content,
)
from gbhub.training.motifs.jaspar import load_motifs, tomtom
from gbhub.training.motifs.output import meme_text, write_meme

ONE_HOT = {b: i for i, b in enumerate("ACGT")}


class _OneFilter(nn.Module):
    """A first layer only: Conv1d(4 -> filters, k) then ReLU, as a convolutional model starts."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(4, weights.shape[0], weights.shape[2]), nn.ReLU(), nn.MaxPool1d(2))
        with torch.no_grad():
            self.features[0].weight.copy_(torch.as_tensor(weights, dtype=torch.float32))
            self.features[0].bias.copy_(torch.as_tensor(bias, dtype=torch.float32))


def _word_filter(word: str, mismatch: float = 0.0) -> np.ndarray:
    w = np.full((1, 4, len(word)), mismatch, dtype=np.float32)
    for j, b in enumerate(word):
        w[0, ONE_HOT[b], j] = 1.0
    return w


def test_first_layer_of_both_recipes_and_none_in_other_models():
    cnn = CNNForSequenceClassification(CNNConfig(input_length=100))
    layer = first_layer(cnn)
    assert layer.name == "features.0" and [type(m).__name__ for m in layer.after] == ["BatchNorm1d", "ReLU"]
    de = DeepEnhancerForSequenceClassification(DeepEnhancerConfig(architecture="4conv2pool", input_length=40))
    layer = first_layer(de)
    assert (layer.n_filters, layer.kernel_size) == (128, 8) and [type(m).__name__ for m in layer.after] == ["ReLU"]
    with pytest.raises(MotifError, match="no Conv1d over the 4 one-hot DNA channels"):
        first_layer(nn.Sequential(nn.Linear(4, 2)))


def test_activation_ppm_counts_sites_exactly_on_hand_made_sequences():
    """Filter ACG (1 per matching base): activations 0-3; threshold mean + 0.5 (max - mean) < 3 keeps full matches."""
    model = _OneFilter(_word_filter("ACG"), np.zeros(1))
    seqs = ["TTACGTT", "ACGACGT", "TT", "GGGGNACG"]  # 4 full matches (the 2 bp sequence has no position)
    ppms = activation_ppms(model, seqs, pseudocount=0.0)
    score = {True: 1.0, False: 0.0}  # N is 0.25 of every base: it scores 0.25 against any filter position
    acts = [np.array([sum(0.25 if s[p + j] == "N" else score[s[p + j] == "ACG"[j]] for j in range(3))
                      for p in range(len(s) - 2)]) for s in seqs if len(s) > 2]
    values = np.concatenate(acts)
    assert ppms.threshold[0] == pytest.approx(values.mean() + 0.5 * (values.max() - values.mean()))
    assert ppms.threshold[0] < 3 and not ((values > ppms.threshold[0]) & (values < 3)).any()
    assert ppms.sites.tolist() == [4]
    np.testing.assert_array_equal(ppms.counts[0], 4 * _word_filter("ACG")[0])
    np.testing.assert_array_equal(ppms.ppms[0], _word_filter("ACG")[0])
    assert consensus(ppms.ppms[0]) == "ACG" and ppms.kept().tolist() == [False]  # 4 sites < 10: dropped
    with_pseudo = activation_ppms(model, seqs, pseudocount=1.0)
    np.testing.assert_allclose(with_pseudo.ppms[0], (4 * _word_filter("ACG")[0] + 1) / 8)


def test_padding_is_never_a_site():
    """Padding reads as zeros, which beat mismatches (-1): counted, the padded `AA` would be a site."""
    model = _OneFilter(_word_filter("AAA", mismatch=-1.0), np.array([0.0]))
    ppms = activation_ppms(model, ["AAACCCCCC", "AA"], pseudocount=0.0)
    # first sequence only (ReLU): AAA 3, AAC 1, then 0 x 5 -> threshold 4/7 + 0.5 (3 - 4/7) = 1.79 < 2 (AA + padding)
    assert ppms.threshold[0] == pytest.approx(4 / 7 + 0.5 * (3 - 4 / 7), rel=1e-6)
    assert ppms.sites.tolist() == [1]


def test_enumeration_counts_every_positive_kmer():
    """Weights 1 on ACGTACGT, bias -6.5: positive for the word and its 24 one-mismatch neighbours."""
    model = _OneFilter(_word_filter("ACGTACGT"), np.array([-6.5]))
    ppms = enumeration_ppms(model, pseudocount=0.0)
    assert ppms.sites.tolist() == [25] and ppms.method == "enumeration"
    expected = np.ones((4, 8))
    for j, b in enumerate("ACGTACGT"):
        expected[ONE_HOT[b], j] = 1 + 7 * 3  # the word, and the neighbours mismatching elsewhere
    np.testing.assert_array_equal(ppms.counts[0], expected)
    with pytest.raises(MotifError, match="too much"):
        enumeration_ppms(_OneFilter(np.zeros((1, 4, 11), np.float32), np.zeros(1)))


def test_a_silenced_filter_has_no_importance():
    torch.manual_seed(0)
    model = CNNForSequenceClassification(CNNConfig(input_length=60)).eval()
    with torch.no_grad():
        model.features[0].weight[3] = 0
        model.features[1].bias[3] = -10.0  # batch norm shifts it below zero: ReLU silences filter 3
    ids = torch.randint(0, 4, (32, 60))
    importance = filter_importance(model, ids, torch.randint(0, 2, (32,)))
    assert importance.shape == (16,) and importance[3] == 0 and (importance[np.arange(16) != 3] > 0).all()


def _sample_sites(ppm: np.ndarray, n: int, rng) -> list[str]:
    return ["".join("ACGT"[rng.choice(4, p=ppm[:, j])] for j in range(ppm.shape[1])) for _ in range(n)]


@pytest.fixture(scope="module")
def jaspar():
    return load_motifs()  # JASPAR2026 CORE vertebrates, from pyjaspar's database (offline)


@pytest.fixture(scope="module")
def ctcf(jaspar):
    return next(m for m in jaspar if m.matrix_id == "MA0139.2")


def test_jaspar_selection_equals_pyjaspar(jaspar):
    from pyjaspar import jaspardb

    assert len(jaspar) > 800 and len({m.matrix_id.split(".")[0] for m in jaspar}) == len(jaspar)  # latest only
    reference = jaspardb(release="JASPAR2026").fetch_motifs(collection="CORE", tax_group=["nematodes"])
    ours = load_motifs(tax_group="nematodes")
    assert [m.matrix_id for m in ours] == sorted(m.matrix_id for m in reference)
    counts = {m.matrix_id: np.array([m.counts[b] for b in "ACGT"]) for m in reference}
    assert all(np.array_equal(m.counts, counts[m.matrix_id]) for m in ours)
    with pytest.raises(MotifError, match="unknown JASPAR release"):
        load_motifs("JASPAR1999")


def test_filter_set_to_ctcf_comes_back_as_its_ppm_and_a_meme_file_tomtom_reads(ctcf, jaspar, tmp_path):
    """A DeepEnhancer first-layer filter set to CTCF's log-odds: its sites' PPM is CTCF's; Tomtom finds CTCF."""
    from memelite.io import read_meme

    ppm = ctcf.ppm  # (4, 15)
    config = DeepEnhancerConfig(input_length=300, kernel_sizes=[15, 8, 3, 3])
    model = DeepEnhancerForSequenceClassification(config).eval()
    with torch.no_grad():
        model.features[0].weight[0] = torch.as_tensor(np.log2((ppm + 0.01) / 0.25), dtype=torch.float32)
        model.features[0].bias[0] = 0.0
    rng = np.random.default_rng(1)
    seqs = []
    for site in _sample_sites(ppm, 300, rng):
        seq = list(rng.choice(list("ACGT"), 120))
        at = int(rng.integers(0, 120 - 15))
        seq[at : at + 15] = site
        seqs.append("".join(seq))
    ppms = activation_ppms(model, seqs, pseudocount=0.0)
    recovered = ppms.ppms[0]
    assert ppms.sites[0] >= 200 and consensus(recovered) == consensus(ppm)
    assert np.corrcoef(recovered.ravel(), ppm.ravel())[0, 1] > 0.95
    assert np.abs(recovered - ppm).max() < 0.2  # the strongest sites: a little sharper than the profile
    assert information_content(recovered[None])[0] >= information_content(ppm[None])[0]

    path = write_meme(tmp_path / "filters.meme", {"filter_000": recovered}, {"filter_000": int(ppms.sites[0])})
    assert f"nsites= {int(ppms.sites[0])}" in path.read_text()
    read = read_meme(str(path))
    assert list(read) == ["filter_000"]
    np.testing.assert_allclose(read["filter_000"], recovered, atol=1e-6)
    matches = tomtom(list(read.values()), jaspar)
    best = matches.best(0)
    assert best["name"] == "CTCF" and best["q_value"] < 1e-3
    assert matches.q_values.shape == (1, len(jaspar)) and (matches.q_values >= matches.p_values - 1e-12).all()


def test_meme_text_is_minimal_format():
    text = meme_text({"m1": np.full((4, 2), 0.25)}, {"m1": 12})
    assert text.splitlines()[:9] == ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
                                     "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    assert "MOTIF m1\nletter-probability matrix: alength= 4 w= 2 nsites= 12 E= 0\n0.250000 0.250000" in text
    with pytest.raises(ValueError, match="without spaces"):
        meme_text({"a b": np.full((4, 2), 0.25)})


# --- training recovers a planted motif ---------------------------------------------------------------------


def _planted(ppm: np.ndarray, n: int, seed: int, length: int = 60) -> dict:
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    sites = iter(_sample_sites(ppm, n, rng))
    for i in range(n):
        seq = list(rng.choice(list("ACGT"), length))
        site = next(sites)
        if i % 2:
            at = int(rng.integers(0, length - len(site)))
            seq[at : at + len(site)] = site
        seqs.append("".join(seq))
        labels.append(i % 2)
    return {"sequence": seqs, "label": labels}


def test_training_recovers_planted_ctcf_and_the_card_shows_it(ctcf, tmp_path, capsys):
    data, run = tmp_path / "data", tmp_path / "run"
    write_hub_folder(data, "ctcf", {s: _planted(ctcf.ppm, n, i) for i, (s, n) in enumerate(zip(SPLITS, (800, 100, 200)))},
                     ["background", "ctcf"])
    assert main(["train", "cnn", "--dataset", str(data), "--config", "ctcf", "--out", str(run), "--no-progress",
                 "--epochs", "6", "--lr", "0.003"]) == 0
    assert json.loads((run / "metrics.json").read_text())["metrics"]["test"]["auroc"] > 0.8
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. torch's non-writable array warning
        assert main(["motifs", str(run), "--dataset", str(data), "--config", "ctcf", "--no-progress", "--top", "3"]) == 0
    assert "match JASPAR JASPAR2026 CORE vertebrates" in capsys.readouterr().out
    summary = json.loads((run / "motifs" / "summary.json").read_text())
    import pandas as pd

    table = pd.read_csv(run / "motifs" / "filters.tsv", sep="\t")
    ctcf_rows = table[(table.match_name == "CTCF") & (table.match_q < 0.05)]
    assert len(ctcf_rows), table[["filter", "consensus", "match_name", "match_q"]].to_string()
    assert len(table) == 16 and summary["n_kept"] == int(table.kept.sum()) and summary["database"]["n_motifs"] > 800
    assert (run / "motifs" / "filters.meme").read_text().count("MOTIF ") == summary["n_kept"]
    for row in summary["top"]:
        assert (run / row["logo"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (run / "README.md").read_text()
    assert "### Motifs of the first-layer filters" in card and "](motifs/logos/filter_" in card
    assert "motifs/filters.meme" in card and "CTCF" in card


def test_motifs_command_errors_are_one_line(tmp_path, capsys):
    assert main(["motifs", str(tmp_path), "--dataset", str(tmp_path), "--config", "x"]) == 2
    err = capsys.readouterr().err
    assert "holds no trained model" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:  # a usage error: argparse exits with status 2
        main(["motifs", str(tmp_path), "--dataset", str(tmp_path), "--config", "x", "--threshold-fraction", "2"])
    assert exit_.value.code == 2
    assert "expected a number between 0 and 1" in capsys.readouterr().err
    assert main(["motifs", str(tmp_path), "--dataset", str(tmp_path), "--config", "x", "--jaspar-release", "J1"]) == 2
    assert "unknown JASPAR release 'J1': expected one of JASPAR2026" in capsys.readouterr().err


def test_motif_section_is_left_out_for_another_model(tmp_path):
    """A summary of an earlier model in the same folder is not shown in the card of the new one."""
    from gbhub.training.motifs.summary import motif_card_section

    (tmp_path / "motifs").mkdir()
    (tmp_path / "model.safetensors").write_bytes(b"new weights")
    (tmp_path / "motifs" / "summary.json").write_text(json.dumps({"model_sha256": "0" * 64}))
    assert motif_card_section(tmp_path) is None
    assert motif_card_section(Path(tmp_path / "nothing")) is None
