"""`gbhub train lm`: any checkpoint with its own tokenizer (character-level, BPE, NT 6-mers, DNABERT k-mers)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tiny_checkpoints import (  # noqa: E402  (tests/training/tiny_checkpoints.py)
    save_bpe_bert,
    save_char_bert,
    save_nt_esm,
    save_remote_code_bert,
    save_tiny_dnabert,
    write_tiny_dataset,
)

from gbhub.cli import build_parser, main  # noqa: E402
from gbhub.training.kmer import dnabert_vocab  # noqa: E402
from gbhub.training.recipes.lm import predict  # noqa: E402
from gbhub.training.tokenizers import DNATokenizer, TokenizerLoadError  # noqa: E402

CONFIG = "tiny"
SAVERS = {"char": save_char_bert, "bpe": save_bpe_bert, "nt": save_nt_esm, "dnabert": save_tiny_dnabert}
# Tokens per window: every kind gets sequences longer than one window (40-160 bp).
MAX_TOKENS = {"char": 34, "bpe": 18, "nt": 12, "dnabert": 34}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    write_tiny_dataset(root / "data", CONFIG)
    for name, save in SAVERS.items():
        save(root / name)
    return root


def train_args(root: Path, kind: str, out: Path, *extra: str) -> list[str]:
    return ["train", "lm", "--dataset", str(root / "data"), "--config", CONFIG, "--out", str(out), "--model",
            str(root / kind), "--max-tokens", str(MAX_TOKENS[kind]), "--cpu", "--no-progress", "--torch-threads", "1",
            "--batch-size", "16", *extra]


@pytest.fixture(scope="module")
def runs(workspace):
    """One short fine-tune per tokenizer kind (4 optimiser steps each)."""
    out = {}
    for kind in ("char", "bpe", "nt"):
        out[kind] = workspace / "runs" / kind
        assert main(train_args(workspace, kind, out[kind], "--max-steps", "4")) == 0
    return out


# ------------------------------------------------------------------------------------------- tokenizer


@pytest.mark.parametrize("kind, frame", [("char", ((2,), (3,))), ("bpe", ((2,), (3,))), ("nt", ((3,), ()))])
def test_native_tokenizers_are_the_checkpoints_own(workspace, kind, frame):
    from transformers import AutoTokenizer

    dna = DNATokenizer.from_pretrained(str(workspace / kind))
    own = AutoTokenizer.from_pretrained(str(workspace / kind))
    assert dna.kind == "native" and dna.k is None and (dna.prefix, dna.suffix) == frame
    seqs = ["ACGTNACGTAACCGGTTA", "acgtacgtac", "GATTACA" * 9]
    assert dna(seqs)["input_ids"] == own([s.upper() for s in seqs])["input_ids"]
    assert dna(seqs[2], max_length=8)["input_ids"] == own(seqs[2], truncation=True, max_length=8)["input_ids"]


def test_dnabert_vocabulary_is_detected_as_overlapping_kmers(workspace):
    dna = DNATokenizer.from_pretrained(str(workspace / "dnabert"))
    assert dna.kind == "kmer" and dna.k == 6 and dna.max_length == 512
    vocab = dnabert_vocab(6)
    seq = "AAAAAACCCCCN"
    assert dna(seq)["input_ids"] == [2] + [vocab.get(seq[i : i + 6], 1) for i in range(7)] + [3]
    assert dna(["AAAAAA", "ccccccc"])["input_ids"] == [[2, 5, 3], [2, 2735, 2735, 3]]


@pytest.mark.parametrize("kind", ["char", "bpe", "nt", "dnabert"])
def test_windows_are_slices_of_the_whole_sequences_tokens(workspace, kind):
    """Windows in the model's tokens: each row = prefix + a slice of the sequence's tokens + suffix; the last
    window ends flush with the sequence; every token is in some window."""
    dna = DNATokenizer.from_pretrained(str(workspace / kind))
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGTN"), n)) for n in (7, 40, 161, 300)]
    max_length = MAX_TOKENS[kind]
    enc = dna.encode_windows(seqs, max_length, stride=5)
    tokens = dna.token_ids(seqs)
    for i, seq in enumerate(seqs):
        whole = tokens.ids[tokens.offsets[i] : tokens.offsets[i] + tokens.counts[i]].tolist()
        rows = np.flatnonzero(enc.plan.sequence_index == i)
        covered = np.zeros(len(whole), bool)
        for r in rows:
            start, count = int(enc.plan.start[r]), int(enc.plan.count[r])
            expected = list(dna.prefix) + whole[start : start + count] + list(dna.suffix)
            n = int(enc.attention_mask[r].sum())
            assert enc.input_ids[r, :n].tolist() == expected and (enc.input_ids[r, n:] == dna.pad_id).all()
            covered[start : start + count] = True
        assert covered.all() and int(enc.plan.start[rows[-1]] + enc.plan.count[rows[-1]]) == len(whole)
        if kind != "dnabert":  # the whole sequence's tokens are the checkpoint tokenizer's own
            assert whole == dna.tokenizer(seq.upper(), add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("kind", ["char", "dnabert"])
def test_datasets_map_and_data_collator_with_padding(workspace, kind):
    """The public tokenizer in the Hugging Face way: `ds.map(tokenizer, batched=True)`, then the collator."""
    import datasets
    from transformers import DataCollatorWithPadding

    dna = DNATokenizer.from_pretrained(str(workspace / kind))
    ds = datasets.load_dataset(str(workspace / "data"), CONFIG, split="validation")
    mapped = ds.map(dna, batched=True, batch_size=5)
    assert mapped[0]["input_ids"] == dna(ds[0]["sequence"])["input_ids"]
    lengths = [len(x) for x in mapped["input_ids"]]
    assert len(set(lengths)) > 1 and max(lengths) <= dna.max_length  # ragged, truncated to the model's length
    features = [{k: row[k] for k in ("input_ids", "attention_mask", "label")} for row in mapped.select(range(6))]
    batch = DataCollatorWithPadding(dna)(features)
    assert batch["input_ids"].shape == (6, max(lengths[:6])) and set(batch) >= {"labels", "attention_mask"}
    assert (batch["input_ids"][batch["attention_mask"] == 0] == dna.pad_token_id).all()


def test_a_tokenizer_that_cannot_read_dna_is_refused(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, "hello": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]").save_pretrained(tmp_path)
    with pytest.raises(TokenizerLoadError, match="maps DNA to unknown tokens only"):
        DNATokenizer.from_pretrained(str(tmp_path))


# ---------------------------------------------------------------------------------------------- recipe


@pytest.mark.parametrize("kind", ["char", "bpe", "nt"])
def test_lm_trains_each_tokenizer_kind_and_predicts_from_the_run(runs, workspace, kind):
    import datasets

    run = runs[kind]
    record = json.loads((run / "metrics.json").read_text())
    info = record["input"]
    assert record["recipe"] == "lm" and record["global_step"] == 4
    assert info["tokenization"] == "native" and info["max_tokens"] == MAX_TOKENS[kind]
    assert info["window_tokens"] == MAX_TOKENS[kind] - (1 if kind == "nt" else 2)
    test = info["splits"]["test"]
    assert test["sequences"] == 32 and test["windows"] > 32 and test["longer_than_window"] > 0
    for name in ("config.json", "model.safetensors", "tokenizer.json", "README.md", "predictions_test.csv"):
        assert (run / name).is_file(), name
    seqs = datasets.load_dataset(str(workspace / "data"), CONFIG, split="test")["sequence"]
    saved = pd.read_csv(run / "predictions_test.csv")[["prob_negative", "prob_positive"]].to_numpy()
    np.testing.assert_allclose(predict(run, seqs, device="cpu"), saved, atol=2e-6)


def test_lm_card_says_what_loads_it(runs):
    text = (runs["nt"] / "README.md").read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["library_name"] == "transformers" and "base_model" not in meta  # a local folder is no Hub id
    assert "Fine-tuned DNA language model (esm)" in text and "pip install transformers torch" in text
    assert "windows starting every 5 tokens" in text and "trust_remote_code" not in text


def test_dnabert_is_the_lm_recipe_with_kmer_tokenization(workspace):
    """`gbhub train dnabert` and `gbhub train lm` on a DNABERT checkpoint encode the data identically."""
    from gbhub.training import data as tdata
    from gbhub.training.recipes import get_recipe
    from gbhub.training.run import parse

    dsd = tdata.load_splits(str(workspace / "data"), CONFIG)
    task = tdata.task_of(dsd["train"].features)
    common = {"dataset": str(workspace / "data"), "config": CONFIG, "out": str(workspace / "x"),
              "model": str(workspace / "dnabert"), "max_tokens": 34}
    prepared = {}
    for name in ("dnabert", "lm"):
        recipe = get_recipe(name)
        args = parse(recipe, common)
        prepared[name] = recipe.prepare(dsd, task, args.model, args.run)
    assert prepared["lm"].info["tokenization"] == "kmer" and prepared["lm"].info["window_bp"] == 32 + 5
    assert prepared["lm"].info == prepared["dnabert"].info
    for split in ("train", "validation", "test"):
        a, b = prepared["lm"].splits[split], prepared["dnabert"].splits[split]
        for key in ("input_ids", "lengths", "labels"):
            assert torch.equal(a.rows.tensors[key], b.rows.tensors[key])


def test_recipe_flags_shared_with_dnabert_mean_the_same(workspace):
    train = build_parser()._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0].choices
    actions = {name: {a.dest: a for a in train[name]._actions if not isinstance(a, argparse._HelpAction)}
               for name in ("lm", "dnabert")}
    for dest in ("kmer", "max_tokens", "long_sequences", "report_to", "logging_steps", "card_base_model", "model"):
        a, b = actions["lm"][dest], actions["dnabert"][dest]
        assert (a.option_strings, a.choices, getattr(a.type, "__name__", None)) == \
               (b.option_strings, b.choices, getattr(b.type, "__name__", None)), dest
    assert actions["lm"]["trust_remote_code"].default is not True  # off unless given
    assert "--trust-remote-code" not in " ".join(s for a in actions["dnabert"].values() for s in a.option_strings)


def test_remote_code_runs_only_with_the_flag(workspace, tmp_path, capsys):
    from gbhub.training.recipes.lm import load_model, load_model_config

    folder = save_remote_code_bert(tmp_path / "remote")
    args = train_args(workspace, "char", tmp_path / "run", "--max-steps", "1")
    args[args.index("--model") + 1] = str(folder)
    assert main(args) == 2
    assert "runs its own code (auto_map in its config): pass --trust-remote-code" in capsys.readouterr().err
    assert not (tmp_path / "run" / "metrics.json").exists()
    config = load_model_config(str(folder), trust_remote_code=True)
    model = load_model(str(folder), ["negative", "positive"], trust_remote_code=True)
    assert config.model_type == "remote-bert" and type(model).__name__ == "RemoteBertForSequenceClassification"
    assert main(args + ["--trust-remote-code"]) == 0  # given explicitly: the run trains and its card says so
    card = (tmp_path / "run" / "README.md").read_text()
    assert card.split("## Usage")[1].count("trust_remote_code=True") == 2 and "**Remote code.**" in card
    assert (tmp_path / "run" / "modeling_remote.py").is_file()  # the code travels with the saved model


def test_bad_inputs_fail_with_one_line(workspace, tmp_path, capsys):
    def err(*extra, kind="char"):
        args = train_args(workspace, kind, tmp_path / "x", *extra)
        assert main(args) == 2, extra
        text = capsys.readouterr().err
        assert "Traceback" not in text
        return text.strip().splitlines()[-1]

    assert "exceeds the 128 positions" in err("--max-tokens", "500")
    assert "exceeds the 64 positions" in err("--max-tokens", "65", kind="nt")  # ESM: 66 - padding index - 1
    assert "longer than one window of 32 tokens" in err("--long-sequences", "error")
    assert "the tokenizer has 4101 tokens but" in err("--tokenization", "kmer")  # DNABERT-6 vocabulary built
    assert "--kmer applies to k-mer tokenization" in err("--kmer", "6", "--tokenization", "native")
    assert "is not a DNABERT k-mer vocabulary (it reads the raw sequence): drop --kmer" in err("--kmer", "6")
    assert "--window-stride-tokens 40 is larger than a window's 32 tokens" in err("--window-stride-tokens", "40")
    no_model = ["train", "lm", "--dataset", str(workspace / "data"), "--config", CONFIG, "--out", str(tmp_path / "y")]
    assert main(no_model) == 2 and "missing --model" in capsys.readouterr().err
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_help_example_of_every_recipe_gives_its_required_flags():
    import dataclasses

    from gbhub.training.args import flag
    from gbhub.training.recipes import RECIPES

    train = build_parser()._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0].choices
    for name, recipe in RECIPES.items():
        example = train[name].epilog.split(f"gbhub train {name}", 1)[1]
        required = [flag(f.name) for f in dataclasses.fields(recipe.arguments) if f.metadata.get("required")]
        assert all(f"{r} " in example for r in ["--dataset", "--config", "--out", *required]), (name, example)
